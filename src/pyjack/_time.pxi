# Time and names of a client, included into _core.pyx: the transport
# position, a timebase master and slow-sync computed in C (_rt_time*.c),
# latencies, the clock, metadata, aliases and renames.
#
# The functions below become Client methods (see the end of class Client);
# none runs on JACK's threads.

cimport cython

import builtins as _builtins
import math as _math

from libc.stdint cimport int32_t


cdef extern from "_rt_time.h" nogil:
    ctypedef struct rt_tempo_segment:
        uint64_t start_frame
        uint64_t micro_bpm
        uint32_t beats_per_bar
        uint32_t beat_type
        uint32_t ticks_per_beat
        uint64_t start_bars
        uint64_t start_tick_in_bar
        double start_bar_start_tick
    ctypedef struct rt_tempo_map:
        uint32_t frame_rate
        uint32_t count
        rt_tempo_segment seg[1]
    ctypedef struct rt_bbt:
        int32_t bar, beat, tick
        double bar_start_tick
    ctypedef struct jack_latency_range_t:
        jack_nframes_t min
        jack_nframes_t max
    ctypedef struct rt_latency_entry:
        jack_port_t *port
        int output
        int set[2]
        jack_latency_range_t range[2]
    ctypedef struct rt_latency_table:
        uint32_t count
        rt_latency_entry entry[1]
    ctypedef struct rt_time_stats:
        uint64_t timebase_calls
        uint64_t sync_requests
        uint64_t sync_timeouts
        uint64_t latency_calls
        uint32_t sync_seq
        uint32_t sync_frame
        int sync_pending
    ctypedef struct rt_time:
        pass
    rt_time *rt_time_create(jack_client_t *client, rt_engine *engine)
    void rt_time_destroy(rt_time *t)
    int rt_time_attach(rt_time *t)
    rt_tempo_map *rt_tempo_map_new(uint32_t count)
    int rt_tempo_map_finish(rt_tempo_map *m)
    int rt_time_publish_map(rt_time *t, rt_tempo_map *m)
    int rt_time_set_timebase(rt_time *t, int conditional)
    int rt_time_release_timebase(rt_time *t)
    void rt_bbt_of(const rt_tempo_map *m, uint64_t frame, rt_bbt *out)
    int rt_time_set_sync(rt_time *t, int on, uint64_t timeout_usecs)
    int rt_time_wait_sync(rt_time *t, uint32_t seq, int wait_ms, uint32_t *new_seq, uint32_t *frame)
    void rt_time_sync_ready(rt_time *t, uint32_t seq)
    rt_latency_table *rt_latency_table_new(uint32_t count)
    int rt_time_publish_latency(rt_time *t, rt_latency_table *table)
    void rt_time_get_stats(rt_time *t, rt_time_stats *s)


cdef extern from "jack/jack.h" nogil:
    ctypedef enum jack_latency_callback_mode_t:
        JackCaptureLatency
        JackPlaybackLatency
    void jack_port_get_latency_range(jack_port_t *port, jack_latency_callback_mode_t mode,
                                     jack_latency_range_t *range)
    int jack_recompute_total_latencies(jack_client_t *client)
    jack_nframes_t jack_frames_since_cycle_start(const jack_client_t *client)
    jack_nframes_t jack_last_frame_time(const jack_client_t *client)
    int jack_get_cycle_times(const jack_client_t *client, jack_nframes_t *current_frames,
                             jack_time_t *current_usecs, jack_time_t *next_usecs,
                             float *period_usecs)
    jack_time_t jack_frames_to_time(const jack_client_t *client, jack_nframes_t frames)
    jack_nframes_t jack_time_to_frames(const jack_client_t *client, jack_time_t usecs)
    jack_time_t jack_get_time()
    char *jack_get_uuid_for_client_name(jack_client_t *client, const char *name)
    char *jack_get_client_name_by_uuid(jack_client_t *client, const char *uuid)
    jack_uuid_t jack_port_uuid(const jack_port_t *port)
    int jack_port_set_alias(jack_port_t *port, const char *alias)
    int jack_port_unset_alias(jack_port_t *port, const char *alias)
    int jack_port_rename(jack_client_t *client, jack_port_t *port, const char *name)
    void jack_free(void *ptr)

cdef extern from "jack/session.h" nogil:
    char *jack_client_get_uuid(jack_client_t *client)   # declared only here

cdef extern from "jack/transport.h" nogil:
    int jack_transport_reposition(jack_client_t *client, const jack_position_t *pos)

cdef extern from "jack/uuid.h" nogil:
    int jack_uuid_parse(const char *buf, jack_uuid_t *uuid)
    void jack_uuid_unparse(jack_uuid_t uuid, char *buf)

cdef extern from "jack/metadata.h" nogil:
    int jack_set_property(jack_client_t *client, jack_uuid_t subject, const char *key,
                          const char *value, const char *type)
    int jack_get_property(jack_uuid_t subject, const char *key, char **value, char **type)
    int jack_remove_property(jack_client_t *client, jack_uuid_t subject, const char *key)
    int jack_remove_properties(jack_client_t *client, jack_uuid_t subject)


# The standard metadata keys (jack/metadata.h), as strings: some libjack
# builds lack the JACK_METADATA_* symbols.
METADATA_CONNECTED = "http://jackaudio.org/metadata/connected"
METADATA_EVENT_TYPES = "http://jackaudio.org/metadata/event-types"
METADATA_HARDWARE = "http://jackaudio.org/metadata/hardware"
METADATA_ICON_LARGE = "http://jackaudio.org/metadata/icon-large"
METADATA_ICON_NAME = "http://jackaudio.org/metadata/icon-name"
METADATA_ICON_SMALL = "http://jackaudio.org/metadata/icon-small"
METADATA_ORDER = "http://jackaudio.org/metadata/order"
METADATA_PORT_GROUP = "http://jackaudio.org/metadata/port-group"
METADATA_PRETTY_NAME = "http://jackaudio.org/metadata/pretty-name"
METADATA_SIGNAL_TYPE = "http://jackaudio.org/metadata/signal-type"

CAPTURE = "capture"
PLAYBACK = "playback"

# jack_position_t.valid bits.
POSITION_BBT = <int>JackPositionBBT
POSITION_TIMECODE = <int>JackPositionTimecode
POSITION_BBT_FRAME_OFFSET = <int>JackBBTFrameOffset

Position = collections.namedtuple("Position", [
    "state", "frame", "frame_rate", "usecs", "valid",
    "bar", "beat", "tick", "bar_start_tick", "beats_per_bar", "beat_type",
    "ticks_per_beat", "beats_per_minute", "bbt_offset"], module="pyjack")
Position.__doc__ = """The transport state and position (Client.transport_position()).

state: TransportStopped, TransportRolling, TransportStarting, ...
frame: the transport frame; frame_rate: its rate in Hz; usecs: the
monotonic JACK time (microseconds) it was sampled at; valid: the
jack_position_t valid bits (POSITION_BBT, ...). When a timebase master
provides BBT (valid & POSITION_BBT): bar and beat (from 1), tick (from 0),
bar_start_tick, beats_per_bar, beat_type, ticks_per_beat, beats_per_minute;
otherwise these are None. bbt_offset: frames from the BBT sample to frame,
when valid & POSITION_BBT_FRAME_OFFSET, else None.
"""

TempoSegment = collections.namedtuple("TempoSegment", [
    "frame", "bpm", "beats_per_bar", "beat_type", "ticks_per_beat"], module="pyjack")
TempoSegment.__doc__ = """One entry of Client.tempo_map: from transport frame on, this
tempo (beats per minute, in steps of 1e-6) and meter, until the next entry."""

SyncRequest = collections.namedtuple("SyncRequest", ["number", "frame"], module="pyjack")
SyncRequest.__doc__ = """A transport position the sync callback was asked for
(Client.wait_sync()): its running number and transport frame."""

TimeStats = collections.namedtuple("TimeStats", [
    "timebase_calls", "sync_requests", "sync_timeouts", "latency_calls"], module="pyjack")
TimeStats.__doc__ = """Counters of a client's time callbacks: timebase callbacks run, sync
requests seen, sync requests answered ready only because the timeout passed,
latency callbacks run."""


cdef int _time_open(Client self) except -1:
    """A fresh time engine for a newly opened JACK client (called by _open)."""
    if self._time != NULL:
        rt_time_destroy(self._time)   # its client was closed before
        self._time = NULL
    self._time_state = {"tempo": [], "sync_seen": 0, "latency": {}}
    self._time = rt_time_create(self._client, self._engine)
    if self._time == NULL:
        raise MemoryError("could not allocate the client's time engine")
    if rt_time_attach(self._time) != 0:
        raise Error(f"could not install the latency callback of client {self.name!r}")
    return 0


cdef int _time_request_begin(Client self, str doing) except -1:
    """Serialise a libjack request with the client's others (see Client)."""
    self._check()
    cdef int rc
    with nogil:
        rc = rt_request_begin(self._engine)
    if rc != RT_OK:
        self._fail(rc, doing)
    return 0


cdef object _position_of(jack_transport_state_t state, jack_position_t *pos):
    bbt = pos.valid & JackPositionBBT
    return Position(
        <int>state, pos.frame, pos.frame_rate, pos.usecs, <int>pos.valid,
        pos.bar if bbt else None, pos.beat if bbt else None, pos.tick if bbt else None,
        pos.bar_start_tick if bbt else None, pos.beats_per_bar if bbt else None,
        pos.beat_type if bbt else None, pos.ticks_per_beat if bbt else None,
        pos.beats_per_minute if bbt else None,
        pos.bbt_offset if pos.valid & JackBBTFrameOffset else None)


def _time_transport_position(Client self):
    """The transport state and position as a Position (every field of
    jack_position_t that JACK fills; BBT fields None when no timebase master
    provides them). Sends no request: libjack keeps it in shared memory."""
    self._check()
    cdef jack_position_t pos
    memset(&pos, 0, sizeof(pos))
    cdef jack_transport_state_t state = jack_transport_query(self._client, &pos)
    return _position_of(state, &pos)


cdef uint64_t _frame_arg(object frame, str what) except? 0:
    if not isinstance(frame, int) or isinstance(frame, bool) or not 0 <= frame < 1 << 32:
        raise ValueError(f"{what} must be an int from 0 to 2**32 - 1, not {frame!r}")
    return frame


def _time_transport_reposition(Client self, frame=None, *, bar=None, beat=1, tick=0):
    """Move the transport to a frame, or to a bar/beat/tick of this client's
    tempo map (set_timebase()): transport_reposition(48000) or
    transport_reposition(bar=5, beat=2, tick=0). The move takes effect within
    two cycles (later with slow-sync clients)."""
    self._check()
    if (frame is None) == (bar is None):
        raise ValueError("give either frame or bar (with beat and tick), not both or neither")
    cdef jack_position_t pos
    memset(&pos, 0, sizeof(pos))
    if bar is not None:
        frame = _frame_of_bbt(self, bar, beat, tick)
    pos.frame = <jack_nframes_t>_frame_arg(frame, "frame")
    cdef int rc = jack_transport_reposition(self._client, &pos)
    if rc != 0:
        self._fail(rc, f"reposition the transport to frame {frame}", _JACK)
    return frame


cdef object _frame_of_bbt(Client self, bar, beat, tick):
    """The first frame at or after bar|beat|tick in this client's tempo map."""
    for value, what, low in ((bar, "bar", 1), (beat, "beat", 1), (tick, "tick", 0)):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ValueError(f"{what} must be an int >= {low}, not {value!r}")
    if not self._time_state["tempo"]:
        raise UsageError(f"client {self.name!r} has no tempo map to place bar {bar} with; "
                         "call set_timebase() first, or give a frame")
    cdef rt_tempo_map *m = _build_map(self, self._time_state["tempo"])
    cdef rt_bbt b
    cdef uint64_t lo = 0, hi = 1 << 32, mid
    target = (bar, beat, tick)
    try:
        # BBT never decreases with the frame: binary search for the first one.
        while lo < hi:
            mid = (lo + hi) // 2
            rt_bbt_of(m, mid, &b)
            if (b.bar, b.beat, b.tick) >= target:
                hi = mid
            else:
                lo = mid + 1
    finally:
        free(m)
    if lo >= 1 << 32:
        raise ValueError(f"bar {bar} beat {beat} tick {tick} lies beyond frame 2**32 - 1")
    return lo


# -- timebase master ---------------------------------------------------------------

cdef object _tempo_segment(frame, bpm, beats_per_bar, beat_type, ticks_per_beat):
    """Validate one tempo-map entry; returns it as a TempoSegment."""
    if isinstance(bpm, bool) or not isinstance(bpm, (int, float)) or not _math.isfinite(bpm) \
            or not 0 < bpm <= 1e6:
        raise ValueError(f"bpm must be a finite number of beats per minute above 0 and at most "
                         f"1e6, not {bpm!r}")
    if round(bpm * 1e6) == 0:
        raise ValueError(f"bpm must be at least 1e-6, not {bpm!r}")
    for value, what in ((beats_per_bar, "beats_per_bar"), (beat_type, "beat_type"),
                        (ticks_per_beat, "ticks_per_beat")):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 1 << 31:
            raise ValueError(f"{what} must be a positive int (below 2**31), not {value!r}")
    _frame_arg(frame, "at_frame")
    return TempoSegment(frame, round(bpm * 1e6) / 1e6, beats_per_bar, beat_type, ticks_per_beat)


cdef rt_tempo_map *_build_map(Client self, list tempo) except NULL:
    cdef rt_tempo_map *m = rt_tempo_map_new(len(tempo))
    if m == NULL:
        raise MemoryError("could not allocate a tempo map")
    m.frame_rate = jack_get_sample_rate(self._client)
    for i, s in enumerate(tempo):
        m.seg[i].start_frame = s.frame
        m.seg[i].micro_bpm = round(s.bpm * 1e6)
        m.seg[i].beats_per_bar = s.beats_per_bar
        m.seg[i].beat_type = s.beat_type
        m.seg[i].ticks_per_beat = s.ticks_per_beat
    if rt_tempo_map_finish(m) != 0:
        free(m)
        raise ValueError("the tempo map is not in order from frame 0")
    return m


cdef int _publish_tempo(Client self, list tempo) except -1:
    cdef rt_tempo_map *m = _build_map(self, tempo)
    cdef int rc
    with nogil:
        rc = rt_time_publish_map(self._time, m)
    self._time_state["tempo"] = tempo
    if rc != 0:
        warnings.warn("the timebase callback did not return within 2 s; the old tempo map "
                      "is left allocated", RuntimeWarning, stacklevel=3)
    return 0


def _time_set_timebase(Client self, bpm, beats_per_bar=4, beat_type=4, ticks_per_beat=1920,
                       conditional=False):
    """Become the timebase master with a tempo map of one tempo and meter from
    transport frame 0: the engine's timebase callback (C, on JACK's thread)
    then fills in bar, beat and tick every cycle. Change the map with
    change_tempo(). With conditional=True, returns False (and changes
    nothing) if another client is master already; otherwise returns True.

    Raises ValueError for a tempo that is not a finite number above 0 or a
    meter that is not made of positive ints."""
    self._check()
    tempo = [_tempo_segment(0, bpm, beats_per_bar, beat_type, ticks_per_beat)]
    _publish_tempo(self, tempo)
    cdef int rc
    cdef int cond = bool(conditional)
    _time_request_begin(self, "become the timebase master")
    with nogil:
        rc = rt_time_set_timebase(self._time, cond)
        rt_request_end(self._engine)
    if rc != 0:
        if conditional and rc == 16:   # EBUSY: another client is master
            return False
        self._fail(rc, "become the timebase master", _JACK)
    return True


def _time_change_tempo(Client self, bpm, at_frame=None, *, beats_per_bar=None, beat_type=None,
                       ticks_per_beat=None):
    """Change tempo (and, optionally, meter) from transport frame at_frame on
    (default: the current transport frame). Entries of the tempo map at or
    after at_frame are replaced. The change is published atomically: no
    cycle's computation sees half of it. A meter change off a bar line
    starts a new bar at at_frame. Needs set_timebase() first."""
    self._check()
    tempo = list(self._time_state["tempo"])
    if not tempo:
        raise UsageError(f"client {self.name!r} is not the timebase master; call "
                         "set_timebase() first")
    if at_frame is None:
        at_frame = jack_get_current_transport_frame(self._client)
    _frame_arg(at_frame, "at_frame")
    kept = [s for s in tempo if s.frame < at_frame] or tempo[:1]
    last = kept[len(kept) - 1]
    segment = _tempo_segment(
        at_frame, bpm,
        last.beats_per_bar if beats_per_bar is None else beats_per_bar,
        last.beat_type if beat_type is None else beat_type,
        last.ticks_per_beat if ticks_per_beat is None else ticks_per_beat)
    if at_frame == 0:
        kept = []
    _publish_tempo(self, kept + [segment])
    return segment


@cython.embedsignature(False)  # a property: no signature line
def _time_tempo_map(Client self):
    """The tempo map as a list of TempoSegment, first at frame 0; empty when
    this client is not the timebase master."""
    return list(self._time_state["tempo"])


def _time_release_timebase(Client self):
    """Stop being the timebase master and drop the tempo map."""
    cdef int rc
    _time_request_begin(self, "release the timebase")
    with nogil:
        rc = rt_time_release_timebase(self._time)
        rt_request_end(self._engine)
    with nogil:
        rt_time_publish_map(self._time, NULL)
    self._time_state["tempo"] = []
    if rc != 0:
        self._fail(rc, "release the timebase (is this client the timebase master?)", _JACK)


def _time_bbt_of(Client self, frame):
    """(bar, beat, tick) of a transport frame in this client's tempo map, as
    the timebase callback computes it."""
    if not self._time_state["tempo"]:
        raise UsageError(f"client {self.name!r} has no tempo map; call set_timebase() first")
    cdef uint64_t f = _frame_arg(frame, "frame")
    cdef rt_tempo_map *m = _build_map(self, self._time_state["tempo"])
    cdef rt_bbt b
    rt_bbt_of(m, f, &b)
    free(m)
    return (b.bar, b.beat, b.tick)


# -- slow-sync ---------------------------------------------------------------------

def _time_set_slow_sync(Client self, on, *, timeout=2.0):
    """Take part in transport sync (on=True) or not. While on, a start or
    locate waits (state TransportStarting) until this client answers ready:
    the engine's sync callback (C) does so once Python called sync_ready()
    for the request that wait_sync() returned, or once timeout seconds have
    passed (counted in time_stats.sync_timeouts). The server has its own
    sync timeout (set_sync_timeout(), 2 s by default in jackd) after which
    it rolls anyway."""
    self._check()
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) \
            or not _math.isfinite(timeout) or not 0 < timeout <= 3600:
        raise ValueError(f"timeout must be a number of seconds above 0 and at most 3600, "
                         f"not {timeout!r}")
    cdef uint64_t usecs = <uint64_t>(timeout * 1e6)
    cdef int onoff = bool(on), rc
    _time_request_begin(self, "set the sync callback")
    with nogil:
        rc = rt_time_set_sync(self._time, onoff, usecs)
        rt_request_end(self._engine)
    if rc != 0:
        self._fail(rc, "set the sync callback", _JACK)


def _time_wait_sync(Client self, timeout=None):
    """Wait for a sync request not returned before: a SyncRequest(number,
    frame), or None after timeout seconds (None: wait without limit).
    Answers Ctrl-C."""
    self._check()
    cdef double deadline = 0.0
    cdef bint has_deadline = timeout is not None
    if has_deadline:
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout < 0:
            raise ValueError(f"timeout must be a number of seconds >= 0 or None, not {timeout!r}")
        deadline = _now() + timeout
    cdef uint32_t seen = self._time_state["sync_seen"], seq = 0, frame = 0
    cdef int got, slice_ms
    cdef rt_time *t = self._time
    while True:
        slice_ms = _slice_ms(has_deadline, deadline)
        with nogil:
            got = rt_time_wait_sync(t, seen, slice_ms, &seq, &frame)
        if got:
            self._time_state["sync_seen"] = seq
            return SyncRequest(seq, frame)
        PyErr_CheckSignals()
        self._check()
        if has_deadline and _now() >= deadline:
            return None


def _time_sync_ready(Client self, request=None):
    """Tell the sync callback that this client is ready for a request (a
    SyncRequest or its number; default: the latest wait_sync() returned)."""
    self._check()
    number = self._time_state["sync_seen"] if request is None else \
        (request.number if isinstance(request, SyncRequest) else request)
    if not isinstance(number, int) or isinstance(number, bool) or not 0 < number < 1 << 32:
        raise ValueError(f"request must be a SyncRequest or its number, not {request!r}")
    rt_time_sync_ready(self._time, number)


@cython.embedsignature(False)  # a property: no signature line
def _time_time_stats(Client self):
    """A TimeStats of the time callbacks' counters."""
    self._need_engine()
    cdef rt_time_stats s
    rt_time_get_stats(self._time, &s)
    return TimeStats(s.timebase_calls, s.sync_requests, s.sync_timeouts, s.latency_calls)


# -- latency -----------------------------------------------------------------------

cdef jack_latency_callback_mode_t _latency_mode(object mode) except *:
    if mode == CAPTURE:
        return JackCaptureLatency
    if mode == PLAYBACK:
        return JackPlaybackLatency
    raise ValueError(f"mode must be pyjack.CAPTURE ('capture') or pyjack.PLAYBACK "
                     f"('playback'), not {mode!r}")


def _time_get_latency_range(Client self, port, mode):
    """(min, max) latency in frames of any port, mode CAPTURE or PLAYBACK,
    as JACK computed it (jack_lsp -l shows the same)."""
    self._check()
    cdef jack_latency_callback_mode_t m = _latency_mode(mode)
    cdef jack_port_t *p = self._port(port)
    cdef jack_latency_range_t r
    jack_port_get_latency_range(p, m, &r)
    return (r.min, r.max)


def _time_set_latency_range(Client self, port, mode, min, max=None):
    """State the latency of one of this client's own ports (mode CAPTURE or
    PLAYBACK, in frames; max defaults to min). The engine's latency callback
    (C) tells JACK whenever it recomputes latencies; this call asks for that
    at once (recompute_total_latencies())."""
    self._check()
    cdef jack_latency_callback_mode_t m = _latency_mode(mode)
    if max is None:
        max = min
    for value, what in ((min, "min"), (max, "max")):
        _frame_arg(value, what)
    if min > max:
        raise ValueError(f"min ({min}) must not exceed max ({max})")
    full = self._own_port_name(port)
    entries = dict(self._time_state["latency"])
    entry = dict(entries.get(full, {}))
    entry[<int>m] = (min, max)
    entries[full] = entry
    _publish_latency(self, entries)
    self.recompute_total_latencies()


cdef int _publish_latency(Client self, dict entries, str leaving=None) except -1:
    """Publish the latency table: every own port (but the one leaving) with
    the ranges stated for it (entries: full name -> {mode: (min, max)})."""
    ports = [(name, address) for name, address in self._ports.items() if name != leaving]
    cdef rt_latency_table *table = rt_latency_table_new(len(ports))
    cdef jack_port_t *port
    if table == NULL:
        raise MemoryError("could not allocate a latency table")
    for i, (name, address) in enumerate(ports):
        port = <jack_port_t *><size_t>address
        table.entry[i].port = port
        table.entry[i].output = bool(jack_port_flags(port) & JackPortIsOutput)
        for mode, (lo, hi) in entries.get(name, {}).items():
            table.entry[i].set[mode] = 1
            table.entry[i].range[mode].min = lo
            table.entry[i].range[mode].max = hi
    cdef int rc
    with nogil:
        rc = rt_time_publish_latency(self._time, table)
    self._time_state["latency"] = {k: v for k, v in entries.items() if k != leaving}
    return 0


cdef int _time_ports_changed(Client self) except -1:
    """A port was registered: the latency callback must know it."""
    if self._time != NULL:
        _publish_latency(self, self._time_state["latency"])
    return 0


cdef int _time_forget_port(Client self, str full) except -1:
    """A port is about to be unregistered: the latency callback must forget it."""
    if self._time != NULL:
        _publish_latency(self, self._time_state["latency"], full)
    return 0


def _time_recompute_total_latencies(Client self):
    """Ask the server to recompute every port's total latency (it calls the
    latency callbacks of all clients)."""
    cdef int rc
    _time_request_begin(self, "recompute the latencies")
    with nogil:
        rc = jack_recompute_total_latencies(self._client)
        rt_request_end(self._engine)
    if rc != 0:
        self._fail(rc, "recompute the latencies", _JACK)


# -- clock ---------------------------------------------------------------------------

@cython.embedsignature(False)  # a property: no signature line
def _time_last_frame_time(Client self):
    """The frame time at the start of the current (or latest) cycle."""
    self._check()
    return jack_last_frame_time(self._client)


@cython.embedsignature(False)  # a property: no signature line
def _time_frames_since_cycle_start(Client self):
    """Frames passed since the current cycle started (an estimate)."""
    self._check()
    return jack_frames_since_cycle_start(self._client)


def _time_frames_to_time(Client self, frames):
    """The JACK time (microseconds, jack_get_time()'s clock) of a frame time."""
    self._check()
    cdef jack_nframes_t f = <jack_nframes_t>_frame_arg(frames, "frames")
    return jack_frames_to_time(self._client, f)


def _time_time_to_frames(Client self, usecs):
    """The frame time at a JACK time in microseconds."""
    self._check()
    if not isinstance(usecs, int) or isinstance(usecs, bool) or not 0 <= usecs < 1 << 64:
        raise ValueError(f"usecs must be an int from 0 to 2**64 - 1, not {usecs!r}")
    cdef jack_time_t t = usecs
    return jack_time_to_frames(self._client, t)


def _time_cycle_times(Client self):
    """(current_frames, current_usecs, next_usecs, period_usecs) of the
    current cycle (jack_get_cycle_times)."""
    self._check()
    cdef jack_nframes_t frames
    cdef jack_time_t now, nxt
    cdef float period
    cdef int rc = jack_get_cycle_times(self._client, &frames, &now, &nxt, &period)
    if rc != 0:
        self._fail(rc, "read the cycle times (is the client active?)", _JACK)
    return (frames, now, nxt, period)


def get_time():
    """JACK's clock in microseconds (jack_get_time())."""
    return jack_get_time()


cdef object _xrun_caller(object callback):
    """The xrun event carries the delay: hand it on if the callback is a
    Python function or method that takes an argument, else call it with none
    (as the original API did). Read from the code object: inspect.signature()
    would cost more than a callback setter should, and fails on builtins."""
    if callback is None or not callable(callback):
        return callback   # set_callback() reports what is wrong
    code = getattr(callback, "__code__", None)
    bound = 0
    if code is None and hasattr(callback, "__func__"):
        code = getattr(callback.__func__, "__code__", None)
        bound = 1
    if code is not None and (code.co_argcount - bound >= 1 or code.co_flags & 0x04):  # *args
        return callback
    return lambda delay_usecs: callback()


# -- UUIDs and metadata ------------------------------------------------------------

cdef str _take_string(char *s):
    """Copy a string libjack allocated and free it."""
    if s == NULL:
        return None
    try:
        return s.decode(errors="replace")
    finally:
        jack_free(s)


@cython.embedsignature(False)  # a property: no signature line
def _time_client_uuid(Client self):
    """This client's UUID, as a string of digits."""
    self._check()
    return _take_string(jack_client_get_uuid(self._client))


def _time_port_uuid(Client self, port):
    """The UUID of any port, as a string of digits."""
    self._check()
    cdef char buf[40]
    jack_uuid_unparse(jack_port_uuid(self._port(port)), buf)
    return buf.decode()


def _time_get_uuid_for_client_name(Client self, name):
    """The UUID of the client with this name; ValueError if there is none."""
    cdef bytes bname = _encode(name, "client name")
    cdef char *s
    _time_request_begin(self, "look up a client's UUID")
    try:
        s = jack_get_uuid_for_client_name(self._client, bname)
    finally:
        rt_request_end(self._engine)
    if s == NULL:
        raise ValueError(f"no client named {name!r}")
    return _take_string(s)


def _time_get_client_name_by_uuid(Client self, uuid):
    """The name of the client with this UUID; ValueError if there is none."""
    cdef bytes buuid = _encode(str(uuid), "uuid")
    cdef char *s
    _time_request_begin(self, "look up a client's name")
    try:
        s = jack_get_client_name_by_uuid(self._client, buuid)
    finally:
        rt_request_end(self._engine)
    if s == NULL:
        raise ValueError(f"no client with UUID {uuid!r}")
    return _take_string(s)


cdef jack_uuid_t _subject(Client self, subject) except? 0:
    """A metadata subject: a UUID (int or string of digits) or a port name."""
    cdef jack_uuid_t u = 0
    if isinstance(subject, int) and not isinstance(subject, bool):
        if not 0 < subject < 1 << 64:
            raise ValueError(f"a UUID must be an int from 1 to 2**64 - 1, not {subject!r}")
        return subject
    if not isinstance(subject, str):
        raise TypeError(f"subject must be a UUID (int or str) or a port name, not "
                        f"{type(subject).__name__}")
    if subject.isdigit():
        return int(subject)
    return jack_port_uuid(self._port(subject, "subject port"))


cdef bytes _key(object key):
    if not isinstance(key, str):
        raise TypeError(f"key must be a str (e.g. pyjack.METADATA_PRETTY_NAME), not "
                        f"{type(key).__name__}")
    return _encode(key, "key")


PROPERTY_CREATED = 0
PROPERTY_CHANGED = 1
PROPERTY_DELETED = 2


def _time_set_property_change_callback(Client self, callback):
    """Call callback(subject, key, change) after a metadata property changed
    anywhere on the server (None removes it). subject: the UUID as a string;
    key: the key, "" when all properties of the subject went; change:
    PROPERTY_CREATED, PROPERTY_CHANGED or PROPERTY_DELETED. Called on the
    client's event thread, never on JACK's."""
    self._check()
    self._events.set_callback(self, RT_EV_PROPERTY_CHANGE, callback)


def _time_set_property(Client self, subject, key, value, type=""):
    """Set a metadata property of a subject (a client or port UUID, or a
    port name): key and value are str, type a MIME type or URI ("" for
    text). jack_property -l lists it."""
    cdef jack_uuid_t u = _subject(self, subject)
    cdef bytes bkey = _key(key)
    if not isinstance(value, str):
        raise TypeError(f"value must be a str, not {_builtins.type(value).__name__}")
    cdef bytes bvalue = _encode(value, "value")
    cdef bytes btype = _encode(type, "type")
    cdef const char *ctype = NULL
    if btype:
        ctype = btype
    cdef int rc
    _time_request_begin(self, f"set property {key!r}")
    try:
        rc = jack_set_property(self._client, u, bkey, bvalue, ctype)
    finally:
        rt_request_end(self._engine)
    if rc != 0:
        self._fail(rc, f"set property {key!r} of {subject!r}", _JACK)


def _time_get_property(Client self, subject, key):
    """(value, type) of a metadata property, or None if it is not set."""
    self._check()
    cdef jack_uuid_t u = _subject(self, subject)
    cdef bytes bkey = _key(key)
    cdef char *value = NULL
    cdef char *kind = NULL
    if jack_get_property(u, bkey, &value, &kind) != 0:
        return None
    v = _take_string(value)
    t = _take_string(kind)
    return (v, t or "")


def _time_remove_property(Client self, subject, key):
    """Remove one metadata property; ValueError if it was not set."""
    cdef jack_uuid_t u = _subject(self, subject)
    cdef bytes bkey = _key(key)
    cdef int rc
    # Asked first: PipeWire's libjack reports success for a property not set.
    if _time_get_property(self, subject, key) is None:
        raise ValueError(f"could not remove property {key!r} of {subject!r}: it is not set")
    _time_request_begin(self, f"remove property {key!r}")
    try:
        rc = jack_remove_property(self._client, u, bkey)
    finally:
        rt_request_end(self._engine)
    if rc != 0:
        raise ValueError(f"could not remove property {key!r} of {subject!r}: it is not set")


# -- aliases and renames -------------------------------------------------------------

def _time_set_port_alias(Client self, port, alias):
    """Give a port an alias (JACK keeps at most two per port)."""
    cdef jack_port_t *p = self._port(port)
    cdef bytes balias = _encode(alias, "alias")
    cdef int rc
    _time_request_begin(self, f"alias port {port!r}")
    try:
        rc = jack_port_set_alias(p, balias)
    finally:
        rt_request_end(self._engine)
    if rc != 0:
        self._fail(rc, f"alias port {port!r} as {alias!r} (a port has at most two aliases)",
                   _JACK)


def _time_unset_port_alias(Client self, port, alias):
    """Remove an alias of a port; ValueError if the port has no such alias."""
    cdef jack_port_t *p = self._port(port)
    cdef bytes balias = _encode(alias, "alias")
    if alias not in self.get_port_aliases(port):
        raise ValueError(f"port {port!r} has no alias {alias!r}")
    cdef int rc
    _time_request_begin(self, f"unalias port {port!r}")
    try:
        rc = jack_port_unset_alias(p, balias)
    finally:
        rt_request_end(self._engine)
    if rc != 0:
        self._fail(rc, f"remove alias {alias!r} of port {port!r}", _JACK)


def _time_rename_port(Client self, port, new_name):
    """Rename one of this client's ports (new short name); returns the new
    full name."""
    self._check()
    full = self._own_port_name(port)
    cdef bytes bnew = _encode(new_name, "new name")
    if not bnew or b":" in bnew:
        raise ValueError(f"new_name must be a non-empty short name without ':', not {new_name!r}")
    cdef jack_port_t *p = <jack_port_t *><size_t>self._ports[full]
    cdef int rc
    _time_request_begin(self, f"rename port {full!r}")
    try:
        rc = jack_port_rename(self._client, p, bnew)
    finally:
        rt_request_end(self._engine)
    if rc != 0:
        self._fail(rc, f"rename port {full!r} to {new_name!r}", _JACK)
    new_full = f"{self.name}:{new_name}"
    self._ports[new_full] = self._ports.pop(full)
    if full in self._time_state["latency"]:
        entries = dict(self._time_state["latency"])
        entries[new_full] = entries.pop(full)
        self._time_state["latency"] = entries
    return new_full
