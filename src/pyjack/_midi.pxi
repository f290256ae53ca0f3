# MIDI of a client, included into _core.pyx: ports, reading and sending
# events. The engine's side is _midi.h / _midi.c / _midi_jack.c; nothing here
# runs on JACK's threads.

cimport cython

from libc.stdint cimport int32_t

cdef extern from "_midi.h" nogil:
    int RT_MIDI_TIME
    int RT_MIDI_POSITION
    int RT_MIDI_NOW
    int RT_MIDI_ORDER
    int RT_MIDI_TOO_BIG
    int RT_MIDI_WRONG_PORT
    int RT_MIDI_GOT

    ctypedef struct rt_midi:
        pass

    ctypedef struct rt_midi_stats:
        uint64_t events_in
        uint64_t events_out
        uint64_t dropped_in
        uint64_t dropped_out
        uint64_t late
        uint64_t late_frames
        int mlocked

    ctypedef struct rt_midi_event:
        jack_port_t *port
        uint32_t index
        uint32_t time
        uint32_t size

    rt_midi *rt_midi_create(rt_engine *e, size_t depth_bytes) noexcept
    void rt_midi_close(rt_midi *m) noexcept
    void rt_midi_destroy(rt_midi *m) noexcept
    void rt_midi_reset(rt_midi *m) noexcept
    jack_port_t *rt_midi_register_port(rt_midi *m, const char *name, unsigned long flags,
                                       int *error) noexcept
    int rt_midi_unregister_port(rt_midi *m, jack_port_t *port) noexcept
    uint32_t rt_midi_port_names(rt_midi *m, int dir, char (*names)[320], uint32_t max) noexcept
    uint32_t rt_midi_max_event_size(rt_midi *m, jack_port_t *port) noexcept
    int rt_midi_read(rt_midi *m, rt_midi_event *ev, unsigned char *data, size_t cap) noexcept
    size_t rt_midi_read_rows(rt_midi *m, char *rows, Py_ssize_t stride, size_t count,
                             size_t data_len, uint32_t *too_big) noexcept
    int rt_midi_write(rt_midi *m, jack_port_t *port, size_t count, const uint32_t *kinds,
                      const uint64_t *stamps, const uint32_t *sizes, const unsigned char *data,
                      size_t *bad) noexcept
    int rt_midi_wait(rt_midi *m, int dir, int wait_ms) noexcept
    void rt_midi_get_stats(rt_midi *m, rt_midi_stats *s) noexcept

cdef extern from "<jack/jack.h>" nogil:
    size_t jack_port_type_get_buffer_size(jack_client_t *client, const char *port_type)

import numpy as _np

DEFAULT_MIDI_DEPTH = 1 << 17
"""Default size of a MIDI port's record ring in bytes (128 KiB): room for a
64 KiB sysex, or about 6500 three-byte events."""

# The largest event pyjack sends through PipeWire's JACK (see _max_event_size).
PIPEWIRE_MAX_MIDI_EVENT = 4096

MIDI_TYPE = "8 bit raw midi"
AUDIO_TYPE = "32 bit float mono audio"
_PORT_TYPES = {"audio": AUDIO_TYPE, AUDIO_TYPE: AUDIO_TYPE, "midi": MIDI_TYPE, MIDI_TYPE: MIDI_TYPE}

midi_dtype = _np.dtype([("port", "=u4"), ("time", "=u4"), ("size", "=u4"), ("data", "u1", (20,))])
"""Row type of read_midi_into(): port (index into Client.midi_inports), time
(JACK frame time), size (bytes used in data), data. Any dtype with these four
fields in this layout but a longer data field works too."""


class MidiEvent(collections.namedtuple("MidiEvent", ["port", "time", "data"])):
    """One MIDI event: port (full name), time (JACK frame time), data (bytes)."""

    __slots__ = ()

    def message(self):
        """The event as a mido.Message (needs mido) with time set to the frame time."""
        try:
            import mido
        except ImportError:
            raise ImportError("MidiEvent.message() needs mido (pip install mido)") from None
        return mido.Message.from_bytes(self.data, time=self.time)


# Bytes a message has, by status byte (0 = a sysex, up to its 0xF7).
cdef object _MESSAGE_LENGTHS = {}
for _status in range(0x80, 0x100):
    if _status < 0xF0:
        _MESSAGE_LENGTHS[_status] = 2 if 0xC0 <= _status < 0xE0 else 3
_MESSAGE_LENGTHS.update({0xF0: 0, 0xF1: 2, 0xF2: 3, 0xF3: 2, 0xF6: 1, 0xF8: 1, 0xFA: 1, 0xFB: 1,
                         0xFC: 1, 0xFE: 1, 0xFF: 1})


cdef bytes _midi_bytes(object data, str what):
    """A MIDI message as bytes, checked: one status byte, data bytes below
    0x80, the length its status asks for (a sysex ends with 0xF7)."""
    if hasattr(data, "bytes") and callable(data.bytes) and not isinstance(data, (bytes, bytearray)):
        data = data.bytes()  # a mido.Message
    if isinstance(data, (list, tuple)):
        if not all(isinstance(b, int) and not isinstance(b, bool) and 0 <= b <= 255 for b in data):
            raise ValueError(f"{what} must hold ints from 0 to 255, not {list(data)!r}")
        data = bytes(data)
    try:
        raw = bytes(memoryview(data).cast("B"))
    except TypeError:
        raise TypeError(f"{what} must be bytes-like (bytes, bytearray, memoryview), a list of "
                        f"ints or a mido.Message, not {type(data).__name__}") from None
    if not raw:
        raise ValueError(f"{what} is empty; a MIDI message has at least a status byte")
    status = raw[0]
    if status < 0x80:
        raise ValueError(f"{what} starts with 0x{status:02x}, not a status byte (0x80 to 0xFF); "
                         "running status is not accepted")
    if status not in _MESSAGE_LENGTHS:
        raise ValueError(f"{what} starts with 0x{status:02x}, which is not a MIDI status byte "
                         "that starts a message")
    body = raw[1:len(raw) - 1] if status == 0xF0 else raw[1:]  # (no negative indices here)
    for i, b in enumerate(body, 1):
        if b >= 0x80:
            raise ValueError(f"{what} has data byte 0x{b:02x} at index {i}: data bytes must be "
                             "below 0x80")
    expected = _MESSAGE_LENGTHS[status]
    if status == 0xF0:
        if len(raw) < 2 or raw[len(raw) - 1] != 0xF7:
            raise ValueError(f"{what} is a sysex (0xF0) that does not end with 0xF7")
    elif len(raw) != expected:
        raise ValueError(f"{what} has {len(raw)} bytes but status 0x{status:02x} takes {expected}")
    return raw


cdef object _frame_int(object value, str what, uint64_t limit):
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{what} must be an int of frames, not {type(value).__name__}")
    if not 0 <= value < limit:
        raise ValueError(f"{what} must be from 0 to {limit - 1}, not {value}")
    return value


# The functions below are Client's MIDI half: the cdef ones serve class
# Client, the def ones become its methods (see the end of class Client).
# Client keeps the state: _midi (the C side, _midi.c), _midi_depth, and the
# names of its MIDI ports with their directions and jack_port_t addresses.


cdef int _midi_open(Client self, rt_engine *engine) except -1:
    """A new engine (Client._open): MIDI state of its own."""
    if self._midi != NULL:
        rt_midi_destroy(self._midi)  # the old engine is closed
    self._midi = rt_midi_create(engine, self._midi_depth)
    self._midi_ports.clear()
    self._midi_port_dirs.clear()
    self._midi_names.clear()
    if self._midi == NULL:
        raise MemoryError("could not allocate the client's MIDI state")
    return 0


cdef void _midi_close(Client self) noexcept:
    """After rt_close(): no JACK thread runs; free the rings."""
    self._midi_ports.clear()
    self._midi_port_dirs.clear()
    if self._midi != NULL:
        with nogil:
            rt_midi_close(self._midi)


cdef void _midi_reset(Client self) noexcept:
    """Before activation: forget events of an earlier activation."""
    if self._midi != NULL:
        with nogil:
            rt_midi_reset(self._midi)


cdef tuple _midi_counts(Client self):
    cdef rt_midi_stats s
    if self._midi == NULL:
        return (0, 0, 0, 0, 0, 0, True)
    rt_midi_get_stats(self._midi, &s)
    return (s.events_in, s.events_out, s.dropped_in, s.dropped_out, s.late, s.late_frames,
            bool(s.mlocked))


@cython.embedsignature(False)  # a property: no signature line
def _midi_midi_depth(Client self):
    """Size of each MIDI port's record ring in bytes."""
    return self._midi_depth


# -- ports ---------------------------------------------------------------

cdef str _midi_register_port(Client self, name, unsigned long flags):
    cdef bytes bname = _encode(name, "port name")
    cdef const char *cname = bname
    cdef int error = 0, rc
    cdef jack_port_t *port
    cdef char full_name[320]
    cdef rt_engine *engine = self._engine
    with nogil:
        port = rt_midi_register_port(self._midi, cname, flags, &error)
        rc = RT_NO_PORT
        if port != NULL:
            rc = rt_request_begin(engine)
            if rc == RT_OK:
                strncpy(full_name, jack_port_name(port), 319)
                full_name[319] = 0
                rt_request_end(engine)
    if port == NULL:
        self._fail(error, f"register MIDI port {name!r}", _ENGINE,
                   " (is the name taken or too long?)")
    if rc != RT_OK:
        self._fail(rc, f"register MIDI port {name!r}")
    self._check()
    full = full_name.decode()
    self._midi_ports[full] = <size_t>port
    self._midi_port_dirs[full] = RT_INPUT if flags & JackPortIsInput else RT_OUTPUT
    self._midi_names[<size_t>port] = full
    return full


cdef int _midi_unregister_port(Client self, str full) except -1:
    cdef jack_port_t *port = <jack_port_t *><size_t>self._midi_ports[full]
    cdef int rc
    with nogil:
        rc = rt_midi_unregister_port(self._midi, port)
    if rc != RT_OK:
        self._fail(rc, f"unregister MIDI port {full!r}")
    self._midi_ports.pop(full, None)
    self._midi_port_dirs.pop(full, None)
    self._midi_names.pop(<size_t>port, None)
    return 0


cdef list _midi_port_names(Client self, int direction):
    if self._midi == NULL:
        return []
    cdef uint32_t room = len(self._midi_ports) + 8
    cdef uint32_t count
    cdef char (*names)[320]
    while True:
        names = <char (*)[320]>PyMem_Malloc(room * 320)
        if names == NULL:
            raise MemoryError()
        try:
            with nogil:
                count = rt_midi_port_names(self._midi, direction, names, room)
            if count <= room:
                return [names[i].decode() for i in range(count)]
        finally:
            PyMem_Free(names)
        room = count + 8


@cython.embedsignature(False)  # a property: no signature line
def _midi_midi_inports(Client self):
    """Full names of this client's MIDI input ports (the port index of read_midi_into())."""
    return _midi_port_names(self, RT_INPUT)


@cython.embedsignature(False)  # a property: no signature line
def _midi_midi_outports(Client self):
    """Full names of this client's MIDI output ports."""
    return _midi_port_names(self, RT_OUTPUT)


cdef jack_port_t *_midi_out_port(Client self, object port) except NULL:
    """Our MIDI output port by short or full name."""
    if not isinstance(port, str):
        raise TypeError(f"port must be the name of a MIDI output port (a str), not "
                        f"{type(port).__name__}")
    full = (port if port in self._midi_port_dirs or port in self._ports
            else f"{self.name}:{port}")
    direction = self._midi_port_dirs.get(full)
    if direction is None:
        kind = "an audio port" if full in self._ports else "not a port"
        raise ValueError(f"{port!r} is {kind} of client {self.name!r}; send_midi() needs one "
                         f"of its MIDI output ports: {self.midi_outports}")
    if direction != RT_OUTPUT:
        raise ValueError(f"{port!r} is a MIDI input port; send_midi() needs a MIDI output "
                         f"port: {self.midi_outports}")
    return <jack_port_t *><size_t>self._midi_ports[full]


# -- reading -------------------------------------------------------------

cdef int _midi_wait(Client self, int direction, bint has_deadline, double deadline,
                    str doing) except -1:
    """Wait one slice for a cycle. 1 when the caller should look again, 0
    when the deadline passed."""
    cdef int rc, slice_ms = _slice_ms(has_deadline, deadline)
    cdef rt_midi *m = self._midi
    self._midi_waiting += 1
    try:
        with nogil:
            rc = rt_midi_wait(m, direction, slice_ms)
    finally:
        self._midi_waiting -= 1
    if rc == RT_INACTIVE:
        raise UsageError(f"could not {doing}: client {self.name!r} is not active; "
                         "call activate() first")
    if rc != RT_OK and rc != RT_AGAIN:
        self._fail(rc, doing)
    PyErr_CheckSignals()
    return 0 if has_deadline and _now() >= deadline else 1


cdef object _midi_read_one(Client self, object timeout):
    self._check()
    cdef bint has_deadline = timeout is not None
    cdef double deadline = 0.0
    if has_deadline:
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not timeout >= 0:
            raise ValueError(f"timeout must be a number of seconds >= 0 or None, not {timeout!r}")
        deadline = _now() + timeout
    cdef rt_midi_event ev
    cdef int got
    cdef unsigned char *buf
    cdef size_t cap
    while True:
        buf = <unsigned char *>(<char *>self._read_buffer)
        cap = len(self._read_buffer)
        with nogil:
            got = rt_midi_read(self._midi, &ev, buf, cap)
        if got == RT_MIDI_GOT:
            return MidiEvent(self._midi_names.get(<size_t>ev.port, ""), ev.time,
                             bytes(self._read_buffer[:ev.size]))
        if got == RT_MIDI_TOO_BIG:
            self._read_buffer = bytearray(max(ev.size, 2 * cap))
            continue
        if has_deadline and _now() >= deadline:
            return None
        if not _midi_wait(self, RT_INPUT, has_deadline, deadline, "read MIDI"):
            has_deadline = True
            deadline = 0.0  # one last look


def _midi_read_midi(Client self, *, timeout=None):
    """Take the earliest MIDI event of all MIDI input ports, as a MidiEvent
    (port, time, data), or None when none came within timeout seconds
    (None: wait as long as it takes; 0: do not wait).

    time is the JACK frame time at which the event reached the port
    (the cycle's start + the event's offset). Waits with the GIL released;
    Ctrl-C works. Raises UsageError if it would wait while the client is
    inactive, NotConnectedError if the client was closed.
    """
    return _midi_read_one(self, timeout)


def _midi_midi_events(Client self, *, timeout=None):
    """Iterate over incoming MIDI events (MidiEvent tuples) as read_midi()
    takes them; ends when none came within timeout seconds (None: never)."""
    while True:
        event = _midi_read_one(self, timeout)
        if event is None:
            return
        yield event


def _midi_read_midi_into(Client self, array, *, timeout=None):
    """Take waiting MIDI events into rows of a structured numpy array of
    midi_dtype, without a Python object per event; return how many.

    Waits up to timeout seconds (None: as long as it takes) for the first
    event, then takes what is there, up to len(array). port in each row is
    the index into midi_inports. Stops in front of an event longer than
    the data field: ValueError if it is the first, so nothing is lost;
    take it with read_midi() or use a wider data field.
    """
    self._check()
    if not isinstance(array, cnp.ndarray):
        raise TypeError(f"array must be a numpy.ndarray of pyjack.midi_dtype, not "
                        f"{type(array).__name__}")
    dt = array.dtype
    data_len = dt.fields["data"][0].shape[0] if dt.names and "data" in dt.fields else 0
    wanted = _np.dtype([("port", "=u4"), ("time", "=u4"), ("size", "=u4"),
                        ("data", "u1", (max(data_len, 1),))])
    if dt != wanted:
        raise TypeError(f"array must have dtype pyjack.midi_dtype ({midi_dtype}), not {dt}")
    if array.ndim != 1 or not array.flags.writeable:
        raise ValueError("array must be 1-D and writable")
    cdef cnp.ndarray a = <cnp.ndarray>array
    cdef bint has_deadline = timeout is not None
    cdef double deadline = 0.0
    if has_deadline:
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not timeout >= 0:
            raise ValueError(f"timeout must be a number of seconds >= 0 or None, not {timeout!r}")
        deadline = _now() + timeout
    cdef char *rows = cnp.PyArray_BYTES(a)
    cdef Py_ssize_t stride = cnp.PyArray_STRIDE(a, 0) if cnp.PyArray_DIM(a, 0) else 0
    cdef size_t count = cnp.PyArray_DIM(a, 0), got = 0, dlen = data_len
    cdef uint32_t too_big = 0
    if count == 0:
        return 0
    while True:
        with nogil:
            got = rt_midi_read_rows(self._midi, rows, stride, count, dlen, &too_big)
        if got:
            return got
        if too_big:
            raise ValueError(f"the next MIDI event has {too_big} bytes, more than the "
                             f"{data_len}-byte data field; take it with read_midi()")
        if has_deadline and _now() >= deadline:
            return 0
        if not _midi_wait(self, RT_INPUT, has_deadline, deadline, "read MIDI"):
            has_deadline = True
            deadline = 0.0


# -- sending -------------------------------------------------------------

cdef uint32_t _midi_max_size(Client self, jack_port_t *port):
    cdef uint32_t size = rt_midi_max_event_size(self._midi, port)
    if size == 0:
        # Before the port's first cycle: the buffer size less JACK2's
        # headers (a buffer header and one event header, 32 bytes at most).
        size = <uint32_t>max(<Py_ssize_t>0, <Py_ssize_t>jack_port_type_get_buffer_size(
            self._client, b"8 bit raw midi") - 32)
    if b"PipeWire" in jack_get_version_string():
        # PipeWire 1.4.2 says 32 KiB but carries a sysex as pieces of 6
        # data bytes: one of 8000 bytes arrived, 8192 were lost, 12000
        # and more crashed its libjack (FEATURES["midi_sysex_whole"]).
        size = min(size, PIPEWIRE_MAX_MIDI_EVENT)
    return size


def _midi_midi_max_event_size(Client self, port):
    """The largest event, in bytes, the server's MIDI buffer of one of this
    client's MIDI output ports takes (send_midi() refuses larger ones).
    Exact once the port has run a cycle; before, an estimate from the
    server's MIDI buffer size."""
    self._check()
    return _midi_max_size(self, _midi_out_port(self, port))


cdef int _midi_queue(Client self, object port, list events, int kind, object timeout) except -1:
    """Check and queue (stamp, bytes) pairs of one kind, all or none."""
    cdef jack_port_t *jport = _midi_out_port(self, port)
    cdef bint has_deadline = timeout is not None
    cdef double deadline = 0.0
    if has_deadline:
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not timeout >= 0:
            raise ValueError(f"timeout must be a number of seconds >= 0 or None, not {timeout!r}")
        deadline = _now() + timeout
    if kind == RT_MIDI_POSITION and rt_port_count(self._engine, RT_OUTPUT) == 0:
        raise UsageError(f"position= counts frames of the audio output stream, but client "
                         f"{self.name!r} has no audio output port; use time= instead")
    cdef size_t n = len(events), i, total = 0, bad = 0
    cdef uint32_t limit = _midi_max_size(self, jport)
    for i in range(n):
        size = len(events[i][1])
        if limit and size > limit:
            raise ValueError(
                f"MIDI event {i} has {size} bytes, more than the {limit} bytes the JACK "
                f"server's MIDI buffer of port {port!r} takes in one event")
        total += 16 + size
    if total > self._midi_depth:
        raise ValueError(f"{n} MIDI events take {total} bytes in the ring, more than its "
                         f"{self._midi_depth} bytes (midi_depth): send fewer at once or open "
                         "the client with a larger midi_depth")
    cdef uint32_t *kinds = <uint32_t *>PyMem_Malloc(max(n, 1) * sizeof(uint32_t))
    cdef uint32_t *sizes = <uint32_t *>PyMem_Malloc(max(n, 1) * sizeof(uint32_t))
    cdef uint64_t *stamps = <uint64_t *>PyMem_Malloc(max(n, 1) * sizeof(uint64_t))
    cdef bytes blob = b"".join([e[1] for e in events])
    cdef const unsigned char *data = blob
    cdef int rc
    if kinds == NULL or sizes == NULL or stamps == NULL:
        PyMem_Free(kinds)
        PyMem_Free(sizes)
        PyMem_Free(stamps)
        raise MemoryError()
    try:
        for i in range(n):
            kinds[i] = kind
            stamps[i] = events[i][0]
            sizes[i] = len(events[i][1])
        while True:
            with nogil:
                rc = rt_midi_write(self._midi, jport, n, kinds, stamps, sizes, data, &bad)
            if rc == RT_OK:
                return 0
            if rc == RT_MIDI_ORDER:
                what = "time" if kind == RT_MIDI_TIME else "position"
                raise ValueError(
                    f"MIDI event {bad} ({what} {events[bad][0]}) comes before an event "
                    f"queued earlier on port {port!r}: events must be sent in {what} order "
                    "per port (nothing was queued)")
            if rc == RT_MIDI_WRONG_PORT:
                raise ValueError(f"{port!r} is no longer a MIDI output port of client "
                                 f"{self.name!r}")
            if rc == RT_MIDI_TOO_BIG:
                raise ValueError("the MIDI events do not fit the ring (midi_depth)")
            if rc == RT_INACTIVE:
                raise UsageError(f"could not send MIDI: client {self.name!r} is not active; "
                                 "call activate() first")
            if rc != RT_AGAIN:
                self._fail(rc, "send MIDI")
            if has_deadline and _now() >= deadline:
                raise TimeoutError(
                    f"send_midi timed out after {timeout} s on client {self.name!r}: the "
                    f"MIDI ring of port {port!r} stayed full (nothing was queued)")
            _midi_wait(self, RT_OUTPUT, has_deadline, deadline, "send MIDI")
    finally:
        PyMem_Free(kinds)
        PyMem_Free(sizes)
        PyMem_Free(stamps)


def _midi_send_midi(Client self, port, data, *, time=None, position=None, timeout=None):
    """Queue one MIDI message on a MIDI output port of this client.

    data: bytes-like, a list of ints or a mido.Message: one complete
        message (status byte first; a sysex from 0xF0 to 0xF7).
    time: the JACK frame time (0 to 2**32 - 1, wrapping like JACK's) at
        which the event must leave the port.
    position: instead, a position of this client's audio output stream
        (as output_position counts it): the event leaves with that frame
        of the audio queued through process(), sample for sample.
    Neither: as soon as possible (offset 0 of the next cycle).

    Events of a port must be sent in time order (positions in position
    order); an earlier one is refused (ValueError). The ring is first in,
    first out: an event waits behind those queued before it. An event
    whose time has passed leaves at offset 0 and counts in stats.midi_late.
    Blocks while the port's ring is full, up to timeout seconds (None: as
    long as it takes); Ctrl-C works. Nothing is queued when it raises.

    Raises TypeError / ValueError for bad data, time or port (naming what
    was expected), UsageError when inactive, TimeoutError.
    """
    self._check()
    if time is not None and position is not None:
        raise ValueError("give time= or position=, not both")
    raw = _midi_bytes(data, "data")
    if time is not None:
        _midi_queue(self, port, [(_frame_int(time, "time", 1 << 32), raw)], RT_MIDI_TIME, timeout)
    elif position is not None:
        _midi_queue(self, port, [(_frame_int(position, "position", 1 << 63), raw)],
                    RT_MIDI_POSITION, timeout)
    else:
        _midi_queue(self, port, [(0, raw)], RT_MIDI_NOW, timeout)


def _midi_send_midi_events(Client self, port, events, *, clock="time", timeout=None):
    """Queue many MIDI messages on one port at once: all or none.

    events: an iterable of (stamp, data) pairs, data as for send_midi(),
        in stamp order. clock: "time" (stamps are JACK frame times) or
        "position" (positions of the audio output stream).
    Every event is checked before any is queued; an error names the
    event's index. The events must fit the ring (midi_depth) together.
    """
    self._check()
    if clock not in ("time", "position"):
        raise ValueError(f"clock must be 'time' or 'position', not {clock!r}")
    kind = RT_MIDI_TIME if clock == "time" else RT_MIDI_POSITION
    limit = (1 << 32) if clock == "time" else (1 << 63)
    checked = []
    for i, event in enumerate(events):
        try:
            stamp, data = event
        except (TypeError, ValueError):
            raise TypeError(f"MIDI event {i} must be a (stamp, data) pair, not {event!r}") from None
        checked.append((_frame_int(stamp, f"the {clock} of MIDI event {i}", limit),
                        _midi_bytes(data, f"the data of MIDI event {i}")))
    if checked:
        _midi_queue(self, port, checked, kind, timeout)
    return len(checked)


def midi_file_events(path, samplerate, *, start=0):
    """The messages of a standard MIDI file as a list of (frame, bytes) pairs,
    frame counted from start at samplerate (tempo changes applied). Meta
    messages are left out. Needs mido (pip install mido).

    Pass the result to Client.send_midi_events() after adding a JACK frame
    time (clock="time") or an output stream position (clock="position").
    """
    try:
        import mido
    except ImportError:
        raise ImportError("midi_file_events() needs mido (pip install mido)") from None
    if not isinstance(samplerate, int) or isinstance(samplerate, bool) or samplerate <= 0:
        raise ValueError(f"samplerate must be a positive int of Hz, not {samplerate!r}")
    events = []
    seconds = 0.0
    for message in mido.MidiFile(path):  # message.time: seconds since the previous one
        seconds += message.time
        if message.is_meta:
            continue
        events.append((start + round(seconds * samplerate), bytes(message.bytes())))
    return events


def _check_midi_message(data, what):
    """A MIDI message as bytes, checked as send_midi() checks it (for callers
    that must refuse bad input before anything starts)."""
    return _midi_bytes(data, what)
