# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The JACK client: ports, connections and process(), over the C engine in _rt.c."""

cimport numpy as cnp
import os
from cpython.exc cimport PyErr_CheckSignals, PyErr_Restore, PyErr_WriteUnraisable
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.ref cimport PyObject, Py_INCREF
from libc.stdint cimport uint32_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memset, strlen, strncpy
from posix.time cimport clock_gettime, timespec, CLOCK_MONOTONIC
from posix.unistd cimport usleep

from pyjack.jack cimport *
from pyjack._rt cimport *

import collections
import re
import threading
import warnings
import weakref

cnp.import_array()

# Port flags, with JACK's values.
IsInput = JackPortIsInput
IsOutput = JackPortIsOutput
IsPhysical = JackPortIsPhysical
CanMonitor = JackPortCanMonitor
IsTerminal = JackPortIsTerminal

DEFAULT_DEPTH = 16384
"""Default ring depth in frames per port and direction (about 0.34 s at 48 kHz)."""

# How long one wait runs with the GIL released before Python looks at
# signals and timeouts again.
cdef int WAIT_SLICE_MS = 50

# How long close() and attach() wait for a running event callback to return.
cdef double CALLBACK_JOIN_TIMEOUT = 2.0


from pyjack._errors import (
    Error, InputSyncError, NotConnectedError, OutputSyncError, TimeoutError, UsageError,
    status_text,
)


Stats = collections.namedtuple("Stats", [
    "cycles", "frames_in", "frames_out", "lost_in", "lost_out", "xruns",
    "events_dropped", "buffer_size", "sample_rate", "depth", "shutdown",
    "freewheel", "mlocked", "mlock_error",
    # MIDI (_midi.pxi)
    "midi_in", "midi_out", "midi_dropped_in", "midi_dropped_out", "midi_late",
    "midi_late_frames",
    # xrun details
    "xrun_delay_usecs", "xrun_delay_max_usecs"], module="pyjack")
Stats.__doc__ = """Counters of a client's engine since it was opened.

cycles: process cycles run while active. frames_in / frames_out: frames moved
into the input rings / out of the output rings. lost_in: frames dropped because
Python did not read the input in time. lost_out: frames played as silence
because Python did not queue output in time (counted once output has started).
xruns: xruns the server reported. events_dropped: event records lost because
the queue was full. buffer_size, sample_rate: the server's current values.
depth: ring depth in frames. shutdown: the server has gone away. freewheel:
the server is freewheeling. mlocked: every ring is locked in memory (mlock()
succeeded for each), so the real-time thread cannot page-fault on them.
mlock_error: why not, when mlocked is False (e.g. RLIMIT_MEMLOCK too small),
else "".
midi_in / midi_out: MIDI events copied from the MIDI input ports / written to
the MIDI output ports. midi_dropped_in: input events dropped because a port's
record ring was full. midi_dropped_out: output events no JACK buffer of the
port could take. midi_late: output events written after their time (at offset
0); midi_late_frames: how late, summed, in frames.
xrun_delay_usecs, xrun_delay_max_usecs: how late the latest xrun's cycle was,
and the largest of all, in microseconds, as JACK measured it
(jack_get_xrun_delayed_usecs(); 0 before any xrun and where the server does
not measure it).
"""

# What a return code given to Client._fail() is.
cdef enum:
    _ENGINE = 0        # an engine code, RT_*
    _JACK = 1          # a JACK function's return code
    _OPEN_STATUS = 2   # jack_client_open()'s status bits


cdef str _moved(rt_request *req, Py_ssize_t in_frames, Py_ssize_t out_frames):
    """How much of a process() call moved, in words."""
    parts = []
    if in_frames >= 0:
        parts.append(f"{req.done_in} of {req.nframes} input frames read")
    if out_frames >= 0:
        parts.append(f"{req.done_out} of {req.nframes} output frames queued")
    return " and ".join(parts)


cdef bytes _encode(object value, str what):
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    return (<str>value).encode()


cdef char *_pack_names(const char **names, bint *failed) noexcept nogil:
    """Copy a NULL-terminated name array from libjack into one malloc'ed
    block of NUL-terminated names ending with an empty one, and free the array.

    JACK2's names point into shared memory that closing the process's last
    client unmaps: copy them while holding the engine's request lock.
    """
    failed[0] = False
    if names == NULL:
        return NULL
    cdef size_t total = 1, pos = 0, n
    cdef Py_ssize_t i = 0
    while names[i] != NULL:
        total += strlen(names[i]) + 1
        i += 1
    cdef char *block = <char *>malloc(total)
    if block == NULL:
        failed[0] = True
    else:
        i = 0
        while names[i] != NULL:
            n = strlen(names[i]) + 1
            memcpy(block + pos, names[i], n)
            pos += n
            i += 1
        block[pos] = 0
    jack_free(names)
    return block


cdef list _unpack_names(char *block, bint failed):
    """The names of a _pack_names() block as a list; frees the block."""
    if failed:
        raise MemoryError("could not copy the port names from libjack")
    cdef list result = []
    cdef char *name = block
    if block == NULL:
        return result
    try:
        while name[0] != 0:
            result.append(name.decode())
            name += strlen(name) + 1
    finally:
        free(block)
    return result


cdef double _now() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec + ts.tv_nsec * 1e-9


cdef int _slice_ms(bint has_deadline, double deadline) noexcept:
    """How long one engine wait may take: WAIT_SLICE_MS, so that Ctrl-C is
    seen between slices, or less when the deadline comes sooner."""
    if not has_deadline:
        return WAIT_SLICE_MS
    return <int>min(<double>WAIT_SLICE_MS, max(0.0, (deadline - _now()) * 1000.0) + 1)


cdef Py_ssize_t _describe(object array, str what, uint32_t ports, bint writable,
                          rt_block *block) except -2:
    """Check one argument of process() and describe it for the engine.

    Returns its frame count, or -1 when the direction does not move: it has
    no ports (the array is ignored) or array is None.
    """
    block.rows = ports
    block.data = NULL
    if array is None:
        return -1
    if not isinstance(array, cnp.ndarray):
        raise TypeError(f"{what} must be a numpy.ndarray of float32 shaped (ports, frames), "
                        f"not {type(array).__name__}")
    cdef cnp.ndarray a = <cnp.ndarray>array
    if cnp.PyArray_TYPE(a) != cnp.NPY_FLOAT32 or not cnp.PyArray_ISNOTSWAPPED(a):
        raise TypeError(f"{what} must have dtype float32 (native byte order), not {array.dtype}")
    if cnp.PyArray_NDIM(a) != 2:
        raise ValueError(f"{what} must be 2-D, shaped (ports, frames); got {cnp.PyArray_NDIM(a)}-D "
                         f"shape {array.shape}")
    if ports == 0:
        return -1
    if cnp.PyArray_DIM(a, 0) != ports:
        raise ValueError(f"{what} has {cnp.PyArray_DIM(a, 0)} rows but the client has {ports} "
                         f"{what} port{'s' if ports != 1 else ''}")
    if writable and not cnp.PyArray_ISWRITEABLE(a):
        raise ValueError(f"{what} is read-only; process() fills it in place")
    if cnp.PyArray_DIM(a, 1) == 0:
        raise ValueError(f"{what} has no frames; process() needs at least one")
    if cnp.PyArray_DIM(a, 1) > 0xFFFFFFFF:
        raise ValueError(f"{what} has more frames than one call can move (2**32 - 1)")
    block.data = cnp.PyArray_BYTES(a)
    block.row_stride = cnp.PyArray_STRIDE(a, 0)
    block.frame_stride = cnp.PyArray_STRIDE(a, 1)
    return cnp.PyArray_DIM(a, 1)


cdef class Client  # declared here for the included files, defined below
include "_midi.pxi"  # MIDI: Client methods, bound at the end of the class
include "_events.pxi"
include "_time.pxi"  # time and names: Client methods, bound at the end of the class


cdef class Client:
    """A JACK client whose audio goes through lock-free rings, never through Python
    on JACK's real-time thread.

    Client(name, processing=True, *, server=None, depth=DEFAULT_DEPTH,
    use_exact_name=False, midi_depth=DEFAULT_MIDI_DEPTH)

    name: the client name asked for (JACK may append a suffix; see .name).
    processing: install the real-time process callback. Without it the client
        can manage ports, connections and transport, but not process().
    server: the JACK server to use; default: $JACK_DEFAULT_SERVER or "default".
        A server is never started behind your back.
    depth: ring depth in frames per port and direction. Python may fall behind
        the server by this much before input is dropped; output may be queued
        this far ahead. With processing, it must be at least two of the
        server's periods (ValueError otherwise).
    use_exact_name: fail instead of accepting a renamed client.
    midi_depth: size in bytes of each MIDI port's record ring (see the MIDI
        guide); a single event may be up to this size less 16 bytes.

    Raises NotConnectedError when no server answers.

    Threads: every method may be called from any thread, with two rules.
    process() runs in one thread at a time (a second thread gets UsageError
    at once); it waits with the GIL released, so other threads run meanwhile.
    Calls that talk to the server (activate, deactivate, register_port,
    unregister_port, connect, disconnect, get_ports, get_connections) are
    serialised per client, because libjack mixes up requests sent by two
    threads at once; they may wait briefly for each other and for process()
    copying frames, never for it waiting. Counters and facts (stats,
    input_position, output_position, frame_time_of, frame_time, blocksize,
    samplerate, active, inports, outports) can be read at any time. close()
    may be called while other threads are in calls: those finish or raise
    NotConnectedError, and so does every later call. A process() running
    while another thread adds or removes ports raises ValueError; reshape
    the arrays and call again.
    """

    cdef rt_engine *_engine
    cdef jack_client_t *_client
    cdef readonly str name
    cdef readonly bint processing
    cdef dict _ports          # full name -> jack_port_t address of our ports
    cdef int _waiting             # threads inside wait_moved(): attach() must not free the engine
    # Settings kept so that attach() can open the client again.
    cdef object _server
    cdef uint32_t _depth_setting
    cdef bint _exact_name
    cdef _Events _events      # check_events() and the callbacks' dispatcher
    cdef object __weakref__
    # MIDI (_midi.pxi): the C side of the MIDI ports and what Python keeps of them.
    cdef rt_midi *_midi
    cdef size_t _midi_depth
    cdef dict _midi_ports        # full name -> jack_port_t address of our MIDI ports
    cdef dict _midi_port_dirs    # full name -> RT_INPUT or RT_OUTPUT
    cdef dict _midi_names        # jack_port_t address -> full name
    cdef int _midi_waiting       # threads waiting in MIDI calls: attach() must wait
    cdef bytearray _read_buffer  # read_midi()'s, grown for a long event
    # Time and names (_time.pxi): the time engine and what Python keeps of it.
    cdef rt_time *_time
    cdef dict _time_state

    def __cinit__(self, name, processing=True, *, server=None, depth=DEFAULT_DEPTH,
                  use_exact_name=False, midi_depth=DEFAULT_MIDI_DEPTH):
        if not isinstance(depth, int) or isinstance(depth, bool) or not 16 <= depth <= 1 << 24:
            raise ValueError(f"depth must be an int of frames between 16 and {1 << 24}, not {depth!r}")
        if (not isinstance(midi_depth, int) or isinstance(midi_depth, bool)
                or not 256 <= midi_depth <= 1 << 30):
            raise ValueError(f"midi_depth must be an int of bytes from 256 to {1 << 30}, "
                             f"not {midi_depth!r}")
        if server is not None:
            _encode(server, "server")
        self._ports = {}
        self._midi_depth = midi_depth
        self._midi_ports = {}
        self._midi_port_dirs = {}
        self._midi_names = {}
        self._read_buffer = bytearray(256)
        self._events = _Events()
        self.processing = bool(processing)
        self._server = server
        self._depth_setting = depth
        self._exact_name = bool(use_exact_name)
        self._open(name)

    cdef int _open(self, name) except -1:
        """Open the JACK client and its engine with the settings given to __cinit__."""
        cdef bytes bname = _encode(name, "name")
        cdef bytes bserver
        cdef jack_status_t status = <jack_status_t>0
        cdef int options = JackNoStartServer
        if not bname:
            raise ValueError("name must not be empty")
        if self._exact_name:
            options |= JackUseExactName
        cdef const char *cname = bname
        cdef const char *cserver = NULL
        server = self._server
        if server is None:
            # What JACK2's libjack does by itself; PipeWire's ignores the variable.
            server = os.environ.get("JACK_DEFAULT_SERVER") or None
        if server is not None:
            bserver = _encode(server, "server")
            cserver = bserver
            options |= JackServerName
        cdef jack_client_t *client
        with nogil:
            if cserver != NULL:
                client = jack_client_open(cname, <jack_options_t>options, &status, cserver)
            else:
                client = jack_client_open(cname, <jack_options_t>options, &status)
        if client == NULL:
            where = f"JACK server {server!r}" if server is not None else "the JACK server"
            self._fail(<int>status, f"open client {name!r} on {where}", _OPEN_STATUS)
        cdef jack_nframes_t period = jack_get_buffer_size(client)
        if self.processing and 2 * <uint64_t>period > self._depth_setting:
            with nogil:
                jack_client_close(client)
            raise ValueError(
                f"depth {self._depth_setting} frames is less than two periods of the server "
                f"(period {period} frames): process() could not keep up; use depth >= {2 * period}")
        self._client = client
        self._engine = rt_create(self._depth_setting)
        if self._engine == NULL:
            jack_client_close(self._client)
            self._client = NULL
            raise MemoryError("could not allocate the client's engine")
        if rt_attach(self._engine, self._client, self.processing) != 0:
            self.close()
            raise Error(f"could not install the JACK callbacks of client {name!r}: "
                        "the JACK server refused them")
        self.name = jack_get_client_name(self._client).decode()
        self._events.open(self._engine, self)
        _midi_open(self, self._engine)
        _time_open(self)
        return 0

    def __dealloc__(self):
        if self._engine != NULL:
            with nogil:
                rt_destroy(self._engine)
            self._engine = NULL
            self._client = NULL
        rt_midi_destroy(self._midi)  # after the client is closed, as the time engine
        self._midi = NULL
        rt_time_destroy(self._time)  # after the client is closed: no callback runs
        self._time = NULL

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        state = "closed" if self._client == NULL else ("active" if self.active else "inactive")
        return f"<pyjack.Client {self.name!r} {state}>"

    # -- lifetime ---------------------------------------------------------

    def close(self):
        """Deactivate and close the client. Safe to call more than once, and
        while other threads use the client: their calls raise NotConnectedError.

        Waits up to 2 s for a running event callback to return (unless called
        from one); a callback that blocks longer is left running, with a
        RuntimeWarning, and the client is closed anyway.
        """
        self._events.stop(False)
        if self._engine != NULL and self._client != NULL:
            # Calls holding the GIL see a closed client from here on; calls
            # without it use the client under the engine's lock, which
            # rt_close() takes before freeing it.
            self._client = NULL
            self._ports.clear()
            with nogil:
                rt_close(self._engine)  # also wakes the dispatcher
        _midi_close(self)
        self._client = NULL
        self._ports.clear()
        if self._events.stop(True):
            warnings.warn(f"an event callback of client {self.name!r} did not return within "
                          f"{CALLBACK_JOIN_TIMEOUT:g} s; close() goes on without waiting for it",
                          RuntimeWarning, stacklevel=2)

    @property
    def closed(self):
        """True once close() was called."""
        return self._client == NULL

    cdef int _check(self) except -1:
        """Raise NotConnectedError if the client cannot talk to the server."""
        if self._client == NULL:
            raise NotConnectedError(f"client {self.name!r} is closed")
        cdef rt_stats s
        rt_get_stats(self._engine, &s)
        if s.shutdown:
            reason = rt_shutdown_reason(self._engine).decode(errors="replace")
            raise NotConnectedError(f"the JACK server has shut down client {self.name!r}"
                                    + (f": {reason}" if reason else ""))
        return 0

    cdef int _need_engine(self) except -1:
        """Raise NotConnectedError if the client has no engine (a failed attach())."""
        if self._engine == NULL:
            raise NotConnectedError(f"client {self.name!r} is not attached")
        return 0

    cdef int _fail(self, int rc, str doing, int source=_ENGINE, str detail="",
                   uint64_t lost=0) except -1:
        """Raise the exception for a failed call: the one place where engine
        codes (RT_*), JACK return codes and jack_client_open() status bits
        become exceptions.

        doing: what failed, in words that follow "could not" (e.g. "connect
        'a' to 'b'"). source: _ENGINE, _JACK or _OPEN_STATUS, the kind of rc.
        detail: words added to the message (a hint, how far a call got).
        lost: with a sync error, the frames lost.
        A closed client or a server gone away is reported as such first,
        whatever the code.
        """
        if source == _OPEN_STATUS:
            hint = ""
            if rc & JackServerFailed:
                hint = ("; is PipeWire running? pyjack.Server(kind='pipewire') starts a private one"
                        if b"PipeWire" in jack_get_version_string()
                        else "; is jackd running? pyjack.Server() starts a private one")
            raise NotConnectedError(f"could not {doing}: {status_text(rc)} (status 0x{rc:x})"
                                    f"{hint}{detail}")
        self._check()
        cdef rt_stats s
        if source == _ENGINE:
            if rc == RT_CLOSED or rc == RT_SHUTDOWN:
                raise NotConnectedError(f"could not {doing}: client {self.name!r} is closed{detail}")
            if rc == RT_INACTIVE:
                raise UsageError(f"could not {doing}: client {self.name!r} is not active; "
                                 f"call activate() first{detail}")
            if rc == RT_BUSY:
                raise UsageError(f"could not {doing}: process() is already running on client "
                                 f"{self.name!r} in another thread")
            if rc == RT_NOMEM:
                raise MemoryError(f"could not {doing}: out of memory")
            if rc == RT_INPUT_SYNC:
                rt_get_stats(self._engine, &s)
                raise InputSyncError(
                    f"{lost} input frames were dropped before this process() call because the "
                    f"ring ({s.depth} frames) was full; the input array was filled and none of "
                    "this call's output was queued: call again with the same output")
            if rc == RT_OUTPUT_SYNC:
                raise OutputSyncError(
                    f"output ran dry for {lost} frames before this process() call; the input "
                    "array was filled and none of this call's output was queued: call again "
                    "with the same output")
            if rc == RT_DEPTH:
                rt_get_stats(self._engine, &s)
                raise UsageError(
                    f"could not {doing}: the server's period is now {s.buffer_size} frames, more "
                    f"than half the ring depth ({s.depth} frames) of client {self.name!r}, so "
                    f"the rings cannot keep up; open a client with depth >= {2 * s.buffer_size}"
                    f"{detail}")
            if rc == RT_PORTS_CHANGED:
                raise ValueError(
                    f"the ports of client {self.name!r} changed during {doing}{detail}: it now has "
                    f"{rt_port_count(self._engine, RT_INPUT)} input and "
                    f"{rt_port_count(self._engine, RT_OUTPUT)} output ports")
            raise Error(f"could not {doing} (engine code {rc}){detail}")
        raise Error(f"could not {doing}: the JACK server refused (error {rc}){detail}")

    def activate(self):
        """Start the real-time callback. Raises UsageError if already active."""
        self._check()
        if rt_is_active(self._engine):
            raise UsageError(f"client {self.name!r} is already active")
        cdef int rc
        self._events.collect()
        _midi_reset(self)
        with nogil:
            rc = rt_activate(self._engine)
        if rc != RT_OK:
            self._fail(rc, f"activate client {self.name!r}")
        self._events.forget_activation_buffer_size()

    def deactivate(self):
        """Stop the real-time callback. Raises UsageError if not active."""
        self._check()
        if not rt_is_active(self._engine):
            raise UsageError(f"client {self.name!r} is not active")
        cdef int rc
        with nogil:
            rc = rt_deactivate(self._engine)
        if rc != RT_OK:
            self._fail(rc, f"deactivate client {self.name!r}")

    @property
    def active(self):
        """True while the real-time callback runs."""
        return self._engine != NULL and self._client != NULL and bool(rt_is_active(self._engine))

    # -- server facts -----------------------------------------------------

    @property
    def samplerate(self):
        """The server's sample rate in Hz."""
        self._check()
        return jack_get_sample_rate(self._client)

    @property
    def blocksize(self):
        """The server's current buffer size (period) in frames."""
        self._check()
        return jack_get_buffer_size(self._client)

    @property
    def depth(self):
        """Ring depth in frames per port and direction."""
        self._need_engine()
        cdef rt_stats s
        rt_get_stats(self._engine, &s)
        return s.depth

    @property
    def stats(self):
        """A Stats tuple of the engine's counters (see pyjack.Stats)."""
        self._need_engine()
        cdef rt_stats s
        cdef char why[256]
        rt_get_stats(self._engine, &s)
        with nogil:  # it takes the engine's lock
            rt_mlock_error(self._engine, why, sizeof(why))
        midi = _midi_counts(self)
        return Stats(s.cycles, s.frames_in, s.frames_out, s.lost_in, s.lost_out, s.xruns,
                     s.events_dropped, s.buffer_size, s.sample_rate, s.depth, bool(s.shutdown),
                     bool(s.freewheel), bool(s.mlocked) and midi[6], why.decode(errors="replace"),
                     *midi[:6], s.xrun_delay_usecs, s.xrun_delay_max_usecs)

    # -- ports ------------------------------------------------------------

    def register_port(self, name, flags, type="audio"):
        """Register a port of this client and return its full name.

        flags: IsInput or IsOutput, optionally | IsPhysical, CanMonitor, IsTerminal.
        The port's type is "audio" (the default) or "midi", or JACK's type
        strings for them. Audio ports are the rows of process(); MIDI ports
        are not (see send_midi() and read_midi()).
        Allowed while active: the new port's stream starts at the current
        position, so the ports stay aligned sample for sample.
        """
        self._check()
        if _PORT_TYPES.get(type) is None:
            raise ValueError(f"type must be 'audio' or 'midi', not {type!r}")
        cdef bytes bname = _encode(name, "port name")
        if not isinstance(flags, int):
            raise TypeError(f"flags must be an int of port flags, not {flags.__class__.__name__}")
        if bool(flags & IsInput) == bool(flags & IsOutput):
            raise ValueError(f"flags must contain exactly one of IsInput and IsOutput, got {flags}")
        if flags & ~(IsInput | IsOutput | IsPhysical | CanMonitor | IsTerminal):
            raise ValueError(f"flags has bits that are not port flags: {flags}")
        cdef unsigned long cflags = flags
        cdef int error = 0
        cdef jack_port_t *port
        cdef const char *cname = bname
        cdef char full_name[320]  # RT_NAME_SIZE
        cdef int rc
        if _PORT_TYPES[type] == MIDI_TYPE:
            return _midi_register_port(self, name, cflags)
        with nogil:
            port = rt_register_port(self._engine, cname, cflags, &error)
            rc = RT_NO_PORT
            if port != NULL:
                rc = rt_request_begin(self._engine)
                if rc == RT_OK:
                    strncpy(full_name, jack_port_name(port), 319)
                    full_name[319] = 0
                    rt_request_end(self._engine)
        if port == NULL:
            self._fail(error, f"register port {name!r} on client {self.name!r}", _ENGINE,
                       " (is the name taken or too long?)")
        if rc != RT_OK:
            self._fail(rc, f"register port {name!r}")
        self._check()  # closed meanwhile: the port went with the client
        full = full_name.decode()
        self._ports[full] = <size_t>port
        _time_ports_changed(self)
        return full

    cdef str _own_port_name(self, name):
        if not isinstance(name, str):
            raise TypeError(f"port name must be a str, not {type(name).__name__}")
        if name in self._ports or name in self._midi_ports:
            return name
        full = f"{self.name}:{name}"
        if full in self._ports or full in self._midi_ports:
            return full
        raise UsageError(f"client {self.name!r} has no port {name!r}")

    def unregister_port(self, name):
        """Unregister one of this client's ports, by short or full name."""
        self._check()
        full = self._own_port_name(name)
        if full in self._midi_ports:
            _midi_unregister_port(self, full)
            return
        cdef jack_port_t *port = <jack_port_t *><size_t>self._ports[full]
        cdef int rc
        _time_forget_port(self, full)
        with nogil:
            rc = rt_unregister_port(self._engine, port)
        if rc != RT_OK:
            self._fail(rc, f"unregister port {full!r}")
        self._ports.pop(full, None)

    cdef list _port_names(self, int direction):
        self._need_engine()
        cdef uint32_t room = rt_port_count(self._engine, direction) + 8
        cdef uint32_t count
        cdef char (*names)[320]
        while True:
            names = <char (*)[320]>PyMem_Malloc(room * 320)
            if names == NULL:
                raise MemoryError()
            try:
                with nogil:
                    count = rt_port_names(self._engine, direction, names, room)
                if count <= room:
                    return [names[i].decode() for i in range(count)]
            finally:
                PyMem_Free(names)
            room = count + 8

    @property
    def inports(self):
        """Full names of this client's input ports, in process() row order."""
        return self._port_names(RT_INPUT)

    @property
    def outports(self):
        """Full names of this client's output ports, in process() row order."""
        return self._port_names(RT_OUTPUT)

    cdef jack_port_t *_port(self, name, str what="port") except NULL:
        cdef bytes bname = _encode(name, what)
        cdef jack_port_t *port = jack_port_by_name(self._client, bname)
        if port == NULL:
            raise UsageError(f"no {what} named {name!r} on the JACK server")
        return port

    def get_ports(self, name_pattern=None, type_pattern=None, flags=0, *, type=None):
        """Full names of the server's ports matching the regular expressions and
        having all of the given flags. type: "audio" or "midi" keeps only
        ports of that type (instead of a type_pattern)."""
        self._check()
        if type is not None:
            if _PORT_TYPES.get(type) is None:
                raise ValueError(f"type must be 'audio', 'midi' or None, not {type!r}")
            if type_pattern is not None:
                raise ValueError("give type_pattern or type, not both")
            type_pattern = "^" + re.escape(_PORT_TYPES[type]) + "$"
        cdef bytes bname = b"" if name_pattern is None else _encode(name_pattern, "name_pattern")
        cdef bytes btype = b"" if type_pattern is None else _encode(type_pattern, "type_pattern")
        if not isinstance(flags, int):
            raise TypeError(f"flags must be an int of port flags, not {flags.__class__.__name__}")
        cdef unsigned long cflags = flags
        cdef const char **names
        cdef const char *cname = bname
        cdef const char *ctype = btype
        cdef int rc
        cdef char *block = NULL
        cdef bint failed = False
        with nogil:
            rc = rt_request_begin(self._engine)
            if rc == RT_OK:
                names = jack_get_ports(rt_client(self._engine), cname, ctype, cflags)
                block = _pack_names(names, &failed)
                rt_request_end(self._engine)
        if rc != RT_OK:
            self._fail(rc, "list the ports")
        return _unpack_names(block, failed)

    def get_port_flags(self, name):
        """The flags of any port on the server, as an int (IsInput, IsOutput, ...)."""
        self._check()
        return jack_port_flags(self._port(name))

    def get_connections(self, name):
        """Full names of the ports connected to any port on the server."""
        self._check()
        cdef jack_port_t *port = self._port(name)
        cdef const char **names
        cdef int rc
        cdef char *block = NULL
        cdef bint failed = False
        with nogil:
            rc = rt_request_begin(self._engine)
            if rc == RT_OK:
                names = jack_port_get_all_connections(rt_client(self._engine), port)
                block = _pack_names(names, &failed)
                rt_request_end(self._engine)
        if rc != RT_OK:
            self._fail(rc, f"list the connections of {name!r}")
        return _unpack_names(block, failed)

    cdef int _connection_request(self, source, destination, bint make) except? -1:
        """jack_connect() (make) or jack_disconnect() under the request lock:
        JACK's return code. The names were checked by _port()."""
        cdef bytes bsrc = source.encode(), bdst = destination.encode()
        cdef const char *csrc = bsrc
        cdef const char *cdst = bdst
        cdef int status, rc = 0, waited = 0
        cdef jack_port_t *src_port
        with nogil:
            status = rt_request_begin(self._engine)
            if status == RT_OK:
                if make:
                    rc = jack_connect(rt_client(self._engine), csrc, cdst)
                else:
                    rc = jack_disconnect(rt_client(self._engine), csrc, cdst)
                # The graph that get_connections() and other clients read
                # changes at the server's next cycle: wait for it (1 s at
                # most), so that what connect() did is what the graph shows.
                src_port = jack_port_by_name(rt_client(self._engine), csrc)
                while (rc == 0 and src_port != NULL and waited < 2000
                       and (jack_port_connected_to(src_port, cdst) != 0) != make):
                    usleep(500)
                    waited += 1
                rt_request_end(self._engine)
        if status != RT_OK:
            self._fail(status, f"{'connect' if make else 'disconnect'} {source!r} and {destination!r}")
        return rc

    def connect(self, source, destination):
        """Connect an output port to an input port. Already connected is fine.

        Raises UsageError for an unknown port, or for a port of this client
        while the client is not active (JACK refuses that connection).
        """
        self._check()
        cdef jack_port_t *ports[2]
        ports[0] = self._port(source, "source port")
        ports[1] = self._port(destination, "destination port")
        if not rt_is_active(self._engine):
            for i, name in enumerate((source, destination)):
                if jack_port_is_mine(self._client, ports[i]):
                    raise UsageError(f"client {self.name!r} must be active to connect its own "
                                     f"port {name!r}; call activate() first")
        cdef int rc = self._connection_request(source, destination, True)
        if rc != 0 and rc != 17:  # 17: EEXIST, already connected
            self._fail(rc, f"connect {source!r} to {destination!r}", _JACK,
                       "; is the source an output and the destination an input?")

    def disconnect(self, source, destination):
        """Disconnect two ports. Not connected is fine."""
        self._check()
        cdef jack_port_t *src_port = self._port(source, "source port")
        cdef jack_port_t *dst_port = self._port(destination, "destination port")
        if destination not in self.get_connections(source):
            return
        cdef int rc = self._connection_request(source, destination, False)
        if rc != 0:
            # The graph get_connections() reads lags the server's by up to
            # a cycle: a connection just removed (by us or another client)
            # still shows. JACK then refuses with the same code as for a
            # wrong pair of ports, so tell them apart by the directions.
            if jack_port_flags(src_port) & JackPortIsOutput and jack_port_flags(dst_port) & JackPortIsInput:
                return
            self._fail(rc, f"disconnect {source!r} from {destination!r}", _JACK,
                       "; is the source an output and the destination an input?")

    # -- audio ------------------------------------------------------------

    def process(self, output, input, *, timeout=None):
        """Exchange audio with the real-time thread: queue output, fill input.

        output: float32 array shaped (output ports, frames), any strides.
        input: writable float32 array shaped (input ports, frames), filled in place.
        A direction without ports takes any 2-D float32 array, e.g. shape (0, n).
        None leaves a direction out of this call: nothing of it moves, and its
        sync errors wait for the next call that moves it. frames may be any
        positive count, the same in both arrays when both directions move.

        Blocks, with the GIL released, until the input frames have arrived and
        the output fits in the ring, so JACK paces the caller. The first call's
        frame count sets how far output runs ahead of input.

        Sync errors and retrying: whether a call raises InputSyncError or
        OutputSyncError is decided when it starts, from the frames lost before
        it (since the previous call). Such a call still fills its whole input
        array (with the oldest frames the ring kept) and queues none of its
        output, so calling again with the same output retries it exactly, for
        any frame count: nothing is queued twice. (The output may run dry
        while such a call reads its input; that silence follows from the
        error raised and is not counted again.) Frames lost while a call
        runs are reported by the next call. When both directions lost frames,
        InputSyncError comes first and OutputSyncError with the next call.

        Raises:
            InputSyncError: input was lost before this call.
            OutputSyncError: output ran dry before this call.
            TimeoutError: timeout seconds passed (also a builtin TimeoutError).
                The message says how many frames were read and queued: the
                call may have moved part of the arrays. A sync error it was
                to raise is raised by the next call.
            NotConnectedError: the server went away or the client was closed.
            UsageError: the client is not active, another thread is in
                process(), or the server's period grew above half the depth.
            TypeError / ValueError: the arrays are not as described above.
            KeyboardInterrupt: Ctrl-C, within about 50 ms (with part of the
                arrays moved, as for TimeoutError).
        """
        self._check()
        if not self.processing:
            raise UsageError(f"client {self.name!r} was opened with processing=False")
        cdef rt_block out_block, in_block
        cdef Py_ssize_t out_frames = _describe(output, "output", rt_port_count(self._engine, RT_OUTPUT),
                                               False, &out_block)
        cdef Py_ssize_t in_frames = _describe(input, "input", rt_port_count(self._engine, RT_INPUT),
                                              True, &in_block)
        if out_frames < 0 and in_frames < 0:
            if out_block.rows == 0 and in_block.rows == 0:
                raise UsageError(f"client {self.name!r} has no ports; register one before process()")
            raise ValueError("process() would move nothing: give an array for a direction that "
                             f"has ports (client {self.name!r} has {in_block.rows} input and "
                             f"{out_block.rows} output ports)")
        if out_frames >= 0 and in_frames >= 0 and out_frames != in_frames:
            raise ValueError(f"output has {out_frames} frames but input has {in_frames}; "
                             "they must be equal")
        cdef uint32_t nframes = <uint32_t>(out_frames if out_frames >= 0 else in_frames)
        cdef double deadline = 0.0
        cdef bint has_deadline = timeout is not None
        if has_deadline:
            if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not timeout >= 0:
                raise ValueError(f"timeout must be a number of seconds >= 0 or None, not {timeout!r}")
            deadline = _now() + timeout
        cdef rt_request req
        memset(&req, 0, sizeof(req))
        req.nframes = nframes
        cdef int rc
        cdef int slice_ms
        rc = rt_exchange_begin(self._engine)
        if rc != RT_OK:
            self._fail(rc, "run process()")
        try:
            while True:
                slice_ms = _slice_ms(has_deadline, deadline)
                with nogil:
                    rc = rt_exchange(self._engine, &out_block, &in_block, &req, slice_ms)
                if rc == RT_OK:
                    return None
                if rc == RT_AGAIN:
                    PyErr_CheckSignals()
                    if has_deadline and _now() >= deadline:
                        raise TimeoutError(
                            f"process() timed out after {timeout} s on client {self.name!r} with "
                            f"{_moved(&req, in_frames, out_frames)}")
                    continue
                self._fail(rc, "run process()", _ENGINE,
                           (f" after {_moved(&req, in_frames, out_frames)}"
                            if req.done_in or req.done_out else ""), req.lost)
        finally:
            rt_exchange_end(self._engine)

    def wait_moved(self, direction, frames, *, timeout=None):
        """Wait until the real-time thread has moved a number of frames.

        direction: IsInput to wait on stats.frames_in (frames written into the
            input rings), IsOutput on stats.frames_out (frames taken from the
            output rings).
        frames: the counter value to wait for, an absolute count as in stats.
        Returns at once when the counter is already there. Waits with the
        GIL released, woken by the real-time thread after each cycle; any
        number of threads may wait at once.

        Raises:
            TimeoutError: timeout seconds passed (also a builtin TimeoutError).
            NotConnectedError: the client was closed or the server went away.
            UsageError: the client is not active (it would wait forever).
            ValueError: a bad direction, frames or timeout.
            KeyboardInterrupt: Ctrl-C, within about 50 ms.
        """
        if direction != IsInput and direction != IsOutput:
            raise ValueError(f"direction must be IsInput or IsOutput, not {direction!r}")
        if not isinstance(frames, int) or isinstance(frames, bool) or not 0 <= frames < 1 << 64:
            raise ValueError(f"frames must be an int >= 0 (a stats counter value), not {frames!r}")
        cdef double deadline = 0.0
        cdef bint has_deadline = timeout is not None
        if has_deadline:
            if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not timeout >= 0:
                raise ValueError(f"timeout must be a number of seconds >= 0 or None, not {timeout!r}")
            deadline = _now() + timeout
        self._check()
        cdef int dir = RT_INPUT if direction == IsInput else RT_OUTPUT
        cdef uint64_t total = frames
        cdef rt_engine *engine = self._engine
        counter = "frames_in" if dir == RT_INPUT else "frames_out"
        self._waiting += 1
        try:
            return self._wait_moved(engine, dir, total, frames, has_deadline, deadline, timeout,
                                    counter)
        finally:
            self._waiting -= 1

    cdef object _wait_moved(self, rt_engine *engine, int dir, uint64_t total, object frames,
                            bint has_deadline, double deadline, object timeout, str counter):
        cdef int rc, slice_ms
        while True:
            slice_ms = _slice_ms(has_deadline, deadline)
            with nogil:
                rc = rt_wait_moved(engine, dir, total, slice_ms)
            if rc == RT_OK:
                return None
            if rc == RT_AGAIN:
                PyErr_CheckSignals()
                if has_deadline and _now() >= deadline:
                    raise TimeoutError(
                        f"wait_moved() timed out after {timeout} s on client {self.name!r}: "
                        f"stats.{counter} is {getattr(self.stats, counter)}, not yet {frames}")
                continue
            if rc == RT_INACTIVE:
                raise UsageError(f"client {self.name!r} is not active: stats.{counter} cannot "
                                 f"reach {frames}; call activate() first")
            self._fail(rc, f"wait for stats.{counter} to reach {frames}")

    # -- time -------------------------------------------------------------

    @property
    def input_position(self):
        """Frames read by process() per input port since activate()."""
        self._need_engine()
        return rt_position(self._engine, RT_INPUT)

    @property
    def output_position(self):
        """Frames queued by process() per output port since activate()."""
        self._need_engine()
        return rt_position(self._engine, RT_OUTPUT)

    def frame_time_of(self, position, direction=IsInput):
        """JACK frame time at which the frame at a stream position crossed the ports.

        position: an input_position (direction=IsInput) or output_position
        (direction=IsOutput) value. Exact while no frame was lost in that
        direction since the position; None before the first frame crossed.
        """
        if direction not in (IsInput, IsOutput):
            raise ValueError("direction must be IsInput or IsOutput")
        self._need_engine()
        cdef jack_nframes_t t
        if rt_frame_time_of(self._engine, RT_INPUT if direction == IsInput else RT_OUTPUT,
                            position, &t) != 0:
            return None
        return t

    @property
    def frame_time(self):
        """The server's current frame time (unsigned 32-bit, wraps)."""
        self._check()
        return jack_frame_time(self._client)

    # -- the original pyjack API: connection ---------------------------------

    def attach(self, name=None):
        """Open a new connection to the server after detach().

        name: the client name to ask for; default: the name the client had.
        The server, depth and processing settings are those given to Client().
        Ports of the old connection are gone; callbacks set with the
        set_*_callback methods stay set.

        Raises UsageError if still attached, NotConnectedError if no server answers.
        """
        if self._client != NULL:
            raise UsageError(f"client {self.name!r} is already attached; detach() it first")
        # The dispatcher must have left the old engine before that is freed.
        if self._events.stop(True):
            raise UsageError(f"an event callback of client {self.name!r} is still running; "
                             "let it return before attach()")
        if self._engine != NULL:
            if self._waiting or self._midi_waiting or rt_exchange_begin(self._engine) != RT_OK:
                raise UsageError(f"process() or wait_moved() is still running on client "
                                 f"{self.name!r} in another thread; wait for it before attach()")
            rt_exchange_end(self._engine)
            # The closed engine from before detach(); nothing uses it any more.
            # A failed open below leaves the client without one.
            self._events.engine = NULL
            with nogil:
                rt_destroy(self._engine)
            self._engine = NULL
        self._open(self.name if name is None else name)

    def detach(self):
        """Close the connection to the server, like close(); attach() opens a new one."""
        self.close()

    def get_client_name(self):
        """The client's name as the server knows it (JACK may have added a suffix)."""
        self._check()
        return self.name

    # -- server facts -------------------------------------------------------

    def get_buffer_size(self):
        """The server's current buffer size (period) in frames."""
        self._check()
        return jack_get_buffer_size(self._client)

    def get_sample_rate(self):
        """The server's sample rate in Hz."""
        self._check()
        return jack_get_sample_rate(self._client)

    def set_buffer_size(self, nframes):
        """Ask the server to change its buffer size (period) to nframes.

        process() takes any frame count, so it keeps working across the change;
        get_buffer_size() reports the new size once the server has made it.
        Raises Error if the server refuses the size.
        """
        self._check()
        if not isinstance(nframes, int) or isinstance(nframes, bool) or not 1 <= nframes <= 0xFFFFFFFF:
            raise ValueError(f"nframes must be a positive int of frames, not {nframes!r}")
        cdef jack_nframes_t n = nframes
        cdef int status, rc = 0
        with nogil:
            status = rt_request_begin(self._engine)
            if status == RT_OK:
                rc = jack_set_buffer_size(rt_client(self._engine), n)
                rt_request_end(self._engine)
        if status != RT_OK:
            self._fail(status, f"set the buffer size to {nframes}")
        if rc != 0:
            self._fail(rc, f"set the buffer size to {nframes}", _JACK)

    def get_cpu_load(self):
        """The server's DSP load in percent, as a float."""
        self._check()
        return jack_cpu_load(self._client)

    def is_realtime(self):
        """True if the server runs its process thread with real-time priority."""
        self._check()
        return bool(jack_is_realtime(self._client))

    def get_frame_time(self):
        """The server's current frame time (unsigned 32-bit, wraps, never negative)."""
        self._check()
        return jack_frame_time(self._client)

    def get_version(self):
        """The libjack version as (major, minor, micro, protocol); see pyjack.get_version()."""
        return get_version()

    def get_version_string(self):
        """The libjack version as a string, e.g. "1.9.21"."""
        return get_version_string()

    # -- ports of any client ----------------------------------------------------

    def get_port_type(self, name):
        """The type string of any port on the server, e.g. "32 bit float mono audio"."""
        self._check()
        return jack_port_type(self._port(name)).decode()

    def get_port_type_id(self, name):
        """The numeric type id of any port on the server."""
        self._check()
        return jack_port_type_id(self._port(name))

    def get_port_short_name(self, name):
        """A port's name without the "client:" prefix."""
        self._check()
        return jack_port_short_name(self._port(name)).decode()

    def port_is_mine(self, name):
        """True if the port belongs to this client."""
        self._check()
        return bool(jack_port_is_mine(self._client, self._port(name)))

    def get_port_aliases(self, name):
        """The aliases of any port on the server (none, one or two names), as
        jack_alias sets them and jack_lsp -A shows them."""
        self._check()
        cdef jack_port_t *port = self._port(name)
        cdef int size = jack_port_name_size()
        cdef char *room = <char *>PyMem_Malloc(2 * size)
        if room == NULL:
            raise MemoryError()
        cdef char *aliases[2]
        try:
            aliases[0] = room
            aliases[1] = room + size
            room[0] = 0
            room[size] = 0
            count = jack_port_get_aliases(port, aliases)  # reads shared memory: no request
            return [aliases[i].decode(errors="replace") for i in range(max(0, min(count, 2)))]
        finally:
            PyMem_Free(room)

    # -- transport ----------------------------------------------------------------
    # libjack keeps the transport in shared memory: these calls send no request
    # to the server and never block, so they run with the GIL held, which also
    # keeps close() (it clears self._client under the GIL) from freeing the
    # client under them.

    def get_transport_state(self):
        """The transport state: TransportStopped, TransportRolling, TransportLooping,
        TransportStarting or TransportNetStarting."""
        self._check()
        return <int>jack_transport_query(self._client, NULL)

    def get_current_transport_frame(self):
        """The transport position in frames (unsigned 32-bit, never negative)."""
        self._check()
        return jack_get_current_transport_frame(self._client)

    def transport_locate(self, frame):
        """Ask the transport to move to a frame (an int from 0 to 2**32 - 1)."""
        self._check()
        if not isinstance(frame, int) or isinstance(frame, bool) or not 0 <= frame <= 0xFFFFFFFF:
            raise ValueError(f"frame must be an int from 0 to 2**32 - 1, not {frame!r}")
        cdef jack_nframes_t f = frame
        cdef int rc = jack_transport_locate(self._client, f)
        if rc != 0:
            self._fail(rc, f"locate the transport to frame {frame}", _JACK)

    def transport_start(self):
        """Start the transport rolling."""
        self._check()
        jack_transport_start(self._client)

    def transport_stop(self):
        """Stop the transport."""
        self._check()
        jack_transport_stop(self._client)

    def set_sync_timeout(self, usecs):
        """Set how long, in microseconds, slow-sync clients may take to get ready."""
        self._check()
        if not isinstance(usecs, int) or isinstance(usecs, bool) or not 0 <= usecs < 1 << 64:
            raise ValueError(f"usecs must be an int of microseconds >= 0, not {usecs!r}")
        cdef jack_time_t t = usecs
        cdef int rc = jack_set_sync_timeout(self._client, t)
        if rc != 0:
            self._fail(rc, f"set the sync timeout to {usecs} us", _JACK)

    def transport_query(self):
        """The transport state and position as a dict.

        Always: state, frame, frame_rate, usecs. When the timebase master
        provides them: bar, beat, tick, bar_start_tick, beats_per_bar,
        beat_type, ticks_per_beat, beats_per_minute (and bbt_offset).
        """
        self._check()
        cdef jack_position_t pos
        cdef jack_transport_state_t state = jack_transport_query(self._client, &pos)
        result = {"state": <int>state, "frame": pos.frame, "frame_rate": pos.frame_rate,
                  "usecs": pos.usecs}
        if pos.valid & JackPositionBBT:
            result.update(bar=pos.bar, beat=pos.beat, tick=pos.tick,
                          bar_start_tick=pos.bar_start_tick, beats_per_bar=pos.beats_per_bar,
                          beat_type=pos.beat_type, ticks_per_beat=pos.ticks_per_beat,
                          beats_per_minute=pos.beats_per_minute)
        if pos.valid & JackBBTFrameOffset:
            result["bbt_offset"] = pos.bbt_offset
        return result

    def get_transport_position(self):
        """Same as transport_query()."""
        return self.transport_query()

    # -- events (see _events.pxi) -------------------------------------------------

    def check_events(self):
        """Which kinds of event happened since the previous call, as a dict of 0/1.

        Keys: graph_ordering, port_registration, xrun, shutdown, hangup,
        buffer_size, sample_rate, freewheel, client_registration, port_connect,
        port_rename. Reading resets them. hangup stays 0: pyjack installs no
        signal handler. Works on a closed client too (reporting what came
        before it closed).
        """
        return self._events.check()

    def set_graph_order_callback(self, callback):
        """Call callback() after the graph's processing order changed (None removes it).

        Callbacks run on a Python thread of this client, never on JACK's threads;
        an exception in one goes to sys.unraisablehook and the next event still comes.
        """
        self._check()
        self._events.set_callback(self, RT_EV_GRAPH_ORDER, callback)

    def set_xrun_callback(self, callback):
        """Call callback() after each xrun the server reports (None removes it);
        callback(delay_usecs) if it takes an argument: how late the cycle was,
        in microseconds (see Stats.xrun_delay_usecs)."""
        self._check()
        self._events.set_callback(self, RT_EV_XRUN, _xrun_caller(callback))

    def set_port_registration_callback(self, callback):
        """Call callback(port_name, registered) when any port appears or goes (None removes it)."""
        self._check()
        self._events.set_callback(self, RT_EV_PORT_REGISTRATION, callback)

    def set_port_connect_callback(self, callback):
        """Call callback(port_a, port_b, connected) when two ports are connected or
        disconnected (None removes it)."""
        self._check()
        self._events.set_callback(self, RT_EV_PORT_CONNECT, callback)

    def set_port_rename_callback(self, callback):
        """Call callback(old_name, new_name) when a port is renamed (None removes it)."""
        self._check()
        self._events.set_callback(self, RT_EV_PORT_RENAME, callback)

    def set_client_registration_callback(self, callback):
        """Call callback(client_name, registered) when a client appears or goes (None removes it)."""
        self._check()
        self._events.set_callback(self, RT_EV_CLIENT_REGISTRATION, callback)

    def set_freewheel_callback(self, callback):
        """Call callback(starting) when the server enters or leaves freewheel mode (None removes it)."""
        self._check()
        self._events.set_callback(self, RT_EV_FREEWHEEL, callback)

    def set_buffer_size_callback(self, callback):
        """Call callback(nframes) after the server's buffer size changed (None removes it).

        Several changes between two looks of the dispatcher (50 ms) give one
        call with the latest size.
        """
        self._check()
        self._events.set_callback(self, RT_EV_BUFFER_SIZE, callback)

    def set_sample_rate_callback(self, callback):
        """Call callback(rate) after the server's sample rate changed (None removes it)."""
        self._check()
        self._events.set_callback(self, RT_EV_SAMPLE_RATE, callback)

    def set_shutdown_callback(self, callback):
        """Call callback(reason) once if the server shuts the client down (None removes it)."""
        self._check()
        self._events.set_callback(self, RT_EV_SHUTDOWN, callback)

    def set_thread_init_callback(self, callback):
        """Accepted for old scripts, never called: the original ran it on JACK's
        real-time thread, where pyjack runs no Python. Warns (RuntimeWarning)."""
        self._check()
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable or None, not {type(callback).__name__}")
        if callback is not None:
            warnings.warn("pyjack never runs Python on JACK's threads: the thread-init "
                          "callback is not called", RuntimeWarning, stacklevel=2)

    # -- freewheel (offline rendering) ----------------------------------------

    def set_freewheel(self, on, *, timeout=10.0):
        """Switch the server's freewheel mode on or off, losing no frame at the switch.

        In freewheel the server runs cycles back to back, and this client's
        engine waits for process() instead of dropping input or playing
        silence (see the rendering guide). on=True arms the engine first, so
        it waits from the first freewheel cycle on, asks the server, and
        returns once the server reports freewheel (at most timeout seconds).
        on=False asks the server to leave and returns at once: the engine
        keeps waiting for process() until the server has left, so keep
        calling process() until `freewheeling` is False. Server requests of
        this client (connect, get_ports, ...) wait until then.

        Needs an active client with processing. On PipeWire freewheel applies
        to this client and the clients linked to it (FEATURES
        "freewheel_global" is False there). If another client switches
        freewheel, the engine follows the server as without set_freewheel().

        Raises:
            UsageError: the client is not active or has no process callback,
                or it is still leaving an earlier freewheel.
            Error: the server refused.
            TimeoutError: the server did not report freewheel within
                timeout seconds (the engine is disarmed and leaving is asked).
            NotConnectedError: the client is closed or the server went away.
            KeyboardInterrupt: Ctrl-C while waiting (leaving is asked).
        """
        if not isinstance(on, bool):
            raise TypeError(f"on must be True or False, not {on!r}")
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not timeout > 0:
            raise ValueError(f"timeout must be a number of seconds > 0, not {timeout!r}")
        self._check()
        if not self.processing:
            raise UsageError(f"client {self.name!r} has no process callback (processing=False): "
                             "set_freewheel() needs one to wait for process()")
        cdef int rc
        cdef int refused = 0
        if not on:
            with nogil:
                rc = rt_freewheel_leave(self._engine)
            if rc != RT_OK:
                self._fail(rc, f"ask the server to leave freewheel for client {self.name!r}")
            return
        if rt_freewheel_mode(self._engine) == RT_FW_LEAVING:
            raise UsageError(f"client {self.name!r} is still leaving freewheel: keep calling "
                             "process() until client.freewheeling is False, then switch again")
        with nogil:
            rc = rt_freewheel_enter(self._engine, &refused)
        if rc != RT_OK:
            self._fail(rc, f"switch the server to freewheel for client {self.name!r}")
        if refused:
            self._fail(refused, f"switch the server to freewheel for client {self.name!r}", _JACK)
        cdef double deadline = _now() + timeout
        try:
            while not self.stats.freewheel:
                self._check()
                if _now() >= deadline:
                    raise TimeoutError(f"the server did not report freewheel to client "
                                       f"{self.name!r} within {timeout} s")
                with nogil:
                    usleep(1000)
                PyErr_CheckSignals()
        except BaseException:
            if not self.closed:
                with nogil:
                    rt_freewheel_leave(self._engine)
            raise

    @property
    def freewheeling(self):
        """True while this client's engine waits for process() in freewheel:
        from set_freewheel(True) until the server has left freewheel again,
        and whenever the server freewheels."""
        self._need_engine()
        return bool(rt_freewheel_mode(self._engine) != RT_FW_FOLLOW) or bool(self.stats.freewheel)

    # -- MIDI: the functions of _midi.pxi, bound as methods ------------------------
    midi_depth = property(_midi_midi_depth)
    midi_inports = property(_midi_midi_inports)
    midi_outports = property(_midi_midi_outports)
    read_midi = _midi_read_midi
    midi_events = _midi_midi_events
    read_midi_into = _midi_read_midi_into
    midi_max_event_size = _midi_midi_max_event_size
    send_midi = _midi_send_midi
    send_midi_events = _midi_send_midi_events

    # -- time and names: the functions of _time.pxi, bound as methods -------------
    transport_position = _time_transport_position
    transport_reposition = _time_transport_reposition
    set_timebase = _time_set_timebase
    change_tempo = _time_change_tempo
    tempo_map = property(_time_tempo_map)
    bbt_of = _time_bbt_of
    release_timebase = _time_release_timebase
    set_slow_sync = _time_set_slow_sync
    wait_sync = _time_wait_sync
    sync_ready = _time_sync_ready
    time_stats = property(_time_time_stats)
    get_latency_range = _time_get_latency_range
    set_latency_range = _time_set_latency_range
    recompute_total_latencies = _time_recompute_total_latencies
    last_frame_time = property(_time_last_frame_time)
    frames_since_cycle_start = property(_time_frames_since_cycle_start)
    frames_to_time = _time_frames_to_time
    time_to_frames = _time_time_to_frames
    cycle_times = _time_cycle_times
    client_uuid = property(_time_client_uuid)
    port_uuid = _time_port_uuid
    get_uuid_for_client_name = _time_get_uuid_for_client_name
    get_client_name_by_uuid = _time_get_client_name_by_uuid
    set_property = _time_set_property
    get_property = _time_get_property
    remove_property = _time_remove_property
    set_property_change_callback = _time_set_property_change_callback
    set_port_alias = _time_set_port_alias
    unset_port_alias = _time_unset_port_alias
    rename_port = _time_rename_port

def _name_bound_methods(cls):
    """Give the functions of _midi.pxi and _time.pxi bound as methods of cls
    (at the end of class Client) the names and signatures of methods: help()
    and the API reference show Client.send_midi(self, ...), not the
    function's own."""
    for name, value in list(cls.__dict__.items()):
        if isinstance(value, property):
            continue  # their getters carry no signature line
        own = getattr(value, "__name__", "")
        if not own.startswith(("_midi_", "_time_")):
            continue
        value.__name__ = name
        value.__qualname__ = f"{cls.__name__}.{name}"
        doc = value.__doc__ or ""
        if doc.startswith(own + "(Client self"):
            value.__doc__ = f"{cls.__name__}.{name}(self" + doc[len(own + "(Client self"):]


_name_bound_methods(Client)

# Transport states, with JACK's values.
TransportStopped = JackTransportStopped
TransportRolling = JackTransportRolling
TransportLooping = JackTransportLooping
TransportStarting = JackTransportStarting
TransportNetStarting = JackTransportNetStarting

# JackStatus bits, with JACK's values (see status_text()).
from pyjack._errors import (
    BackendError, ClientZombie, Failure, InitFailure, InvalidOption, LoadFailure,
    NameNotUnique, NoSuchClient, ServerError, ServerFailed, ServerStarted, ShmFailure,
    VersionError,
)


def get_version_string():
    """The libjack version as a string, e.g. "1.9.21". Needs no server."""
    cdef const char *text = jack_get_version_string()
    return "" if text == NULL else text.decode(errors="replace")


def get_version():
    """The libjack version as (major, minor, micro, protocol). Needs no server.

    JACK2's jack_get_version() reports zeros, so the numbers then come from
    the version string; protocol stays 0 when the library does not report it.
    """
    cdef int major = 0, minor = 0, micro = 0, proto = 0
    jack_get_version(&major, &minor, &micro, &proto)
    if major == 0 and minor == 0 and micro == 0:
        found = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", get_version_string())
        if found:
            major, minor = int(found.group(1)), int(found.group(2))
            micro = int(found.group(3) or 0)
    return (major, minor, micro, proto)
