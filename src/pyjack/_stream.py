"""Streams of (frames, channels) arrays through JACK ports, and the pieces that
rec(), play() and playrec() share with them.

Each direction runs on a client of its own, so reading never waits for
writing and the other way round. Both clients run in the same JACK cycles, and
every cycle stamps the stream position it moved with the cycle's frame time,
which is what makes the timing exact: an input position and an output
position that crossed in the same cycle are known to the frame.
"""

from __future__ import annotations

import os
import re
import shutil
import time
import warnings

import numpy as np

from ._core import (
    Client,
    InputSyncError,
    IsInput,
    IsOutput,
    IsPhysical,
    NotConnectedError,
    OutputSyncError,
    TimeoutError,
    UsageError,
)
from . import _state
from ._info import libjack_is_pipewire
from ._server import Server, server_running

__all__ = ["Stream", "default_server"]

DEPTH = 1 << 17
"""Ring depth in frames of the clients made here (2.7 s at 48 kHz)."""

# process() waits this long at a time, so stop requests are seen quickly.
_SLICE = 0.1
# Seconds without any audio moving before a wait gives up: the server stalled.
_STALL = 10.0
# Seconds a port named to connect to may take to show up (PipeWire only).
_PORTS_SETTLE = 1.0
# Seconds a new link may take to carry audio (PipeWire only; see link_settle).
_LINK_SETTLE = 0.25


def default_server() -> str:
    """The name of the JACK server that rec(), play(), playrec() and Stream use.

    That is $JACK_DEFAULT_SERVER (or "default") when such a server runs.
    Otherwise pyjack starts a private jackd with the dummy backend
    (48000 Hz, 256 frames), warns once that it makes no sound, and stops it
    when Python exits. With PipeWire's libjack loaded (pw-jack), no jackd is
    started: NotConnectedError says how to get a server instead.

    >>> pyjack.default_server()            # doctest: +SKIP
    'default'
    """
    with _state.lock:
        server = _state.private_server
        if server is not None and server.running:
            return server.name
        name = os.environ.get("JACK_DEFAULT_SERVER", "default")
        if server_running(name):
            return name
        if libjack_is_pipewire() or shutil.which("jackd") is None:
            raise NotConnectedError(no_server_message(name))
        server = Server(kind="jackd", rate=48000, period=256).start()
        _state.private_server = server  # stopped at exit (_state)
        warnings.warn(
            f"no JACK server {name!r} is running, so pyjack started a private one with the "
            f"dummy backend ({server.name!r}, 48000 Hz): it makes no sound. Start jackd (or "
            "PipeWire's JACK) before the first call to hear anything.", RuntimeWarning, stacklevel=3)
        return server.name


def no_server_message(name: str) -> str:
    """What to do when no JACK server answers, for this process's libjack."""
    if libjack_is_pipewire():
        where = "PipeWire's default socket" if name == "default" else repr(name)
        return (f"no JACK server answers at {where}. This process runs PipeWire's libjack, "
                "so pyjack does not start jackd: start PipeWire (on a desktop: systemctl --user "
                "start pipewire wireplumber), or pass server= / set PIPEWIRE_REMOTE to the "
                "socket of a running PipeWire daemon; pyjack.Server(kind='pipewire') starts a "
                "private one.")
    return (f"no JACK server {name!r} is running and jackd is not installed: start your JACK "
            "server (jackd, or PipeWire's JACK: run Python under pw-jack), or install jackd2 "
            "(apt install jackd2) so that pyjack can start a private one.")


def connect(client: Client, source: str, destination: str) -> None:
    """client.connect(source, destination); on PipeWire first wait (up to
    _PORTS_SETTLE s) until the other client's port shows, since PipeWire shows
    a port to other clients a moment after it was registered or its client
    activated."""
    if libjack_is_pipewire():
        ours = client.outports + client.midi_outports
        other = destination if source in ours else source
        deadline = time.monotonic() + _PORTS_SETTLE
        while other not in client.get_ports() and time.monotonic() < deadline:
            time.sleep(0.005)
    client.connect(source, destination)


def time_diff(a: int, b: int) -> int:
    """a - b for JACK frame times, which wrap at 2**32."""
    return (a - b + (1 << 31)) % (1 << 32) - (1 << 31)


def resolve_ports(client: Client, spec, flags: int, count: int | None, what: str,
                  own: tuple = (), type: str = "audio") -> list:
    """Full names of the server's ports of a type ("audio" or "midi") that spec names.

    spec: None for the first `count` physical ports; else a port name or a
    regular expression, or a sequence of them. A string that is not a port's
    exact name is searched in the names (re.search), as jack_get_ports does.
    flags: IsOutput for ports to record from, IsInput for ports to play to.
    what: words for errors, e.g. "port to record from".
    own: names of our other clients' ports of the right direction, which
        PipeWire shows to other clients only once those are active.
    """
    kind = "output" if flags == IsOutput else "input"
    if spec is None:
        physical = client.get_ports(None, "audio", flags | IsPhysical)
        count = 1 if count is None else count
        if len(physical) < count:
            raise ValueError(f"the server has {len(physical)} physical {kind} port(s) but {count} "
                             f"channel(s) were asked for; name the {what}s")
        return physical[:count]
    specs = [spec] if isinstance(spec, str) else spec
    try:
        specs = list(specs)
    except TypeError:
        raise TypeError(f"the {what}s must be a port name or pattern (str) or a sequence of them, "
                        f"not {type(spec).__name__}") from None
    candidates = list(dict.fromkeys(client.get_ports(None, type, flags) + list(own)))
    # PipeWire shows another client's new port a moment after it was
    # registered (a Stream's own other client, say): look again for a while.
    settle = time.monotonic() + (_PORTS_SETTLE if libjack_is_pipewire() else 0.0)
    found = []
    for item in specs:
        if not isinstance(item, str):
            raise TypeError(f"each {what} must be a str (a port name or pattern), "
                            f"not {type(item).__name__}")
        try:
            pattern = re.compile(item)
        except re.error as error:
            if item not in candidates:
                raise ValueError(f"{item!r} is neither a JACK {kind} port nor a valid regular "
                                 f"expression ({error})") from None
            pattern = None
        while True:
            if item in candidates:
                matches = [item]
            else:
                matches = [name for name in candidates if pattern and pattern.search(name)]
            if matches or time.monotonic() > settle:
                break
            time.sleep(0.01)
            candidates = list(dict.fromkeys(client.get_ports(None, type, flags) + list(own)))
        if not matches:
            listing = ", ".join(candidates) if candidates else "none"
            raise ValueError(f"no {what} (a JACK {type} {kind} port) matches {item!r}; "
                             f"the server has: {listing}")
        found.extend(name for name in matches if name not in found)
    if not found:
        raise ValueError(f"no {what} was named")
    return found


class Side:
    """One direction of audio on a client: its ports, its counters since
    start(), and exchanges that never raise sync errors. The client may carry
    the other direction's Side too (render()), if one thread uses both."""

    def __init__(self, client: Client, flag: int):
        self.client = client
        self.is_input = flag == IsInput
        self.flag = flag
        self._moved0 = self._lost0 = self._xruns0 = 0
        self._mark = None

    @property
    def ports(self) -> list:
        return self.client.inports if self.is_input else self.client.outports

    def set_channels(self, count: int) -> None:
        """Register or unregister ports until there are count (client inactive)."""
        if self.client.active:
            self.client.deactivate()
        ports = self.ports
        for name in ports[count:]:
            self.client.unregister_port(name)
        prefix = "in" if self.is_input else "out"
        for i in range(len(ports), count):
            self.client.register_port(f"{prefix}_{i + 1}", self.flag)

    def start(self) -> None:
        stats = self.client.stats
        self._moved0 = stats.frames_in if self.is_input else stats.frames_out
        self._lost0 = stats.lost_in if self.is_input else stats.lost_out
        self._xruns0 = stats.xruns
        self._mark = None
        if not self.client.active:  # the other direction's Side may have started it
            self.client.activate()

    def stop(self) -> None:
        try:
            if self.client.active:
                self.client.deactivate()
        except NotConnectedError:
            pass

    def moved(self) -> int:
        """Frames the real-time thread moved through the ports since start()."""
        stats = self.client.stats
        return (stats.frames_in if self.is_input else stats.frames_out) - self._moved0

    def wait_moved(self, frames: int, should_stop=None) -> bool:
        """Wait in the engine until moved() reaches frames. False if
        should_stop() said so first; TimeoutError if JACK moved nothing for
        too long."""
        target = self._moved0 + frames
        waited = 0.0
        while self.moved() < frames:
            if should_stop is not None and should_stop():
                return False
            try:
                self.client.wait_moved(self.flag, target, timeout=_SLICE)
            except TimeoutError:
                waited += _SLICE
                if waited > _STALL:
                    raise TimeoutError(f"JACK moved no audio for client {self.client.name!r} in "
                                       f"{waited:.0f} s; is the server stalled?") from None
        return True

    def lost(self) -> int:
        """Frames lost since start(): input dropped, or output that ran dry."""
        stats = self.client.stats
        return (stats.lost_in if self.is_input else stats.lost_out) - self._lost0

    def xruns(self) -> int:
        return self.client.stats.xruns - self._xruns0

    def mark(self) -> None:
        """Note where stream position 0 lies on JACK's frame clock now."""
        self._mark = (self.time_of(0), self.lost())

    def skipped(self) -> int:
        """Frames by which the stream slipped on JACK's clock since mark(),
        beyond the frames counted as lost: cycles JACK did not run this
        client for (in an xrun), or a jump of the clock. Either way the
        frames since are not where their positions say."""
        if self._mark is None or self._mark[0] is None:
            return 0
        drift = time_diff(self.time_of(0), self._mark[0])
        if drift < 0:
            return -drift  # the clock jumped back
        # Lost frames shift the stream too, once it moves again; while it is
        # still starved they are counted but not yet shifted.
        return max(0, drift - (self.lost() - self._mark[1]))

    @property
    def position(self) -> int:
        """Frames read (input) or queued (output) since start()."""
        return self.client.input_position if self.is_input else self.client.output_position

    def available(self) -> int:
        """Input frames waiting to be read."""
        return max(0, self.moved() - self.client.input_position)

    def queued(self) -> int:
        """Output frames queued and not yet played."""
        return max(0, self.client.output_position - self.moved())

    def time_of(self, position: int):
        return self.client.frame_time_of(position, self.flag)

    def skip_to(self, position: int, scratch: np.ndarray, should_stop=None, between=None) -> bool:
        """Read and drop input up to a stream position, through scratch shaped
        (frames, ports). between(), if given, runs before each read and may
        return False to stop (as should_stop() may). False when stopped."""
        while self.position < position:
            if between is not None and not between():
                return False
            k = min(len(scratch), position - self.position)
            if not self.exchange(scratch[:k].T, should_stop):
                return False
        return True

    @property
    def chunk_limit(self) -> int:
        # One piece for the engine: an exchange then moves all or nothing.
        return self.client.depth // 4

    def exchange(self, block: np.ndarray, should_stop=None) -> bool:
        """Read into or write from block, shaped (ports, frames) with frames at
        most chunk_limit. Returns False if should_stop() said so before the
        block moved. Lost frames are counted, never raised."""
        out, inp = (None, block) if self.is_input else (block, None)
        waited = 0.0
        while True:
            try:
                self.client.process(out, inp, timeout=_SLICE)
                return True
            except InputSyncError:
                return True  # the block is filled; lost() counts the drop
            except OutputSyncError:
                continue  # not queued: queue it now, after the gap that lost() counts
            except TimeoutError:
                if should_stop is not None and should_stop():
                    return False
                waited += _SLICE
                if waited > _STALL + self.client.depth / self.client.samplerate:
                    raise TimeoutError(
                        f"JACK moved no audio for client {self.client.name!r} in {waited:.0f} s; "
                        "is the server stalled?") from None


def same_cycle_offset(outs: Side, ins: Side, period: int):
    """The input position that crossed the ports in the same JACK cycle as
    output position 0, or None when that cannot be told yet.

    Both clients stamp the latest cycle they ran with its frame time. When
    the latest stamps of both are the same cycle, the input and output
    positions of that cycle differ by the offset wanted. Frame times
    themselves may jump (after an xrun); positions do not.
    """
    found = []
    for _ in range(2):
        mo, mi = outs.moved(), ins.moved()
        if mo < period or mi < period:
            return None
        t_out = outs.time_of(mo - period)
        t_in = ins.time_of(mi - period)
        if t_out is None or t_in is None or t_out != t_in:
            return None  # a cycle ran between the reads, or the output's last cycle was short
        if (outs.moved(), ins.moved()) != (mo, mi):
            return None
        found.append(mi - mo)
    return found[0] if found[0] == found[1] else None


def link_settle(client: Client) -> int:
    """Frames to let pass after connect() before a new link's audio counts.

    jackd carries a link from the next cycle on: 0. PipeWire makes it live a
    few cycles after connect() returns, and may then reorder the linked
    clients in the cycle once (a period repeated or skipped), so there
    _LINK_SETTLE seconds, in whole periods."""
    if not libjack_is_pipewire():
        return 0
    period = client.blocksize
    return -(-int(_LINK_SETTLE * client.samplerate) // period) * period


def input_start(ins: Side, connected: int, should_stop=None):
    """Input position of the first JACK cycle that began after frame time
    connected (taken when the connections were made) and the links settled:
    the first frame worth recording. Waits for the first input cycle; None if
    should_stop()."""
    if not ins.wait_moved(ins.client.blocksize, should_stop):
        return None
    return first_cycle_after(ins, (connected + link_settle(ins.client)) % (1 << 32))


def line_up(outs: Side, ins: Side, top_up, should_stop=None):
    """The input position that crossed the ports in the same JACK cycle as
    output position 0 (see same_cycle_offset), waiting until it can be
    told. top_up() keeps output queued meanwhile and may return False to
    stop. None if stopped."""
    period = ins.client.blocksize
    deadline = time.monotonic() + _STALL
    while True:
        if (should_stop is not None and should_stop()) or not top_up():
            return None
        offset = same_cycle_offset(outs, ins, period)
        if offset is not None:
            return offset
        if time.monotonic() > deadline:
            raise TimeoutError("could not line up the input and output cycles")
        if not ins.wait_moved(ins.moved() + 1, should_stop):  # the next cycle
            return None


def first_cycle_after(ins: Side, frame_time: int) -> int:
    """Input position of the first cycle that began after frame_time.

    Connections made before frame_time are in place for that cycle; input
    of earlier cycles is not what the caller asked for.
    """
    period = ins.client.blocksize
    moved = ins.moved()  # where the next cycle's input will start
    ahead = time_diff(frame_time, ins.time_of(moved))
    return max(0, moved + (ahead // period + 1) * period)


def as_frames(data, channels: int | None, what: str) -> np.ndarray:
    """data as float32 shaped (frames, channels); 1-D is one channel.

    Floating-point data of another precision is converted; anything else is
    refused, because integer samples have no agreed scale.
    """
    if not isinstance(data, np.ndarray):
        if isinstance(data, (list, tuple)):
            data = np.asarray(data)
        else:
            raise TypeError(f"{what} must be a numpy array of float32 samples shaped (frames, "
                            f"channels), not {type(data).__name__}")
    if data.dtype.kind != "f":
        hint = " (scale integer samples to [-1, 1], e.g. data / 32768)" if data.dtype.kind in "iu" else ""
        raise TypeError(f"{what} must hold floating-point samples (float32), not {data.dtype}{hint}")
    if data.ndim == 1:
        data = data[:, None]
    if data.ndim != 2:
        raise ValueError(f"{what} must be shaped (frames, channels) or (frames,), not {data.shape}")
    if data.shape[0] == 0:
        raise ValueError(f"{what} has no frames")
    if data.shape[1] == 0:
        raise ValueError(f"{what} has no channels")
    if channels is not None and data.shape[1] != channels:
        raise ValueError(f"{what} has {data.shape[1]} channel(s) but {channels} port(s) are used")
    if data.dtype != np.float32 or not data.dtype.isnative:
        data = data.astype(np.float32)
    return data


def check_out(out, frames: int | None, channels: int | None, what: str = "out") -> np.ndarray:
    """Check a caller's array to be filled: writable float32 (frames, channels)."""
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{what} must be a numpy.ndarray of float32 shaped (frames, channels), "
                        f"not {type(out).__name__}")
    if out.dtype != np.float32 or not out.dtype.isnative:
        raise TypeError(f"{what} must have dtype float32, not {out.dtype}")
    if out.ndim != 2:
        raise ValueError(f"{what} must be 2-D, shaped (frames, channels); got shape {out.shape}")
    if not out.flags.writeable:
        raise ValueError(f"{what} is read-only")
    if frames is not None and out.shape[0] != frames:
        raise ValueError(f"{what} has {out.shape[0]} frames but {frames} were asked for")
    if channels is not None and out.shape[1] != channels:
        raise ValueError(f"{what} has {out.shape[1]} channel(s) but {channels} port(s) are used")
    if out.shape[0] == 0 or out.shape[1] == 0:
        raise ValueError(f"{what} is empty: shape {out.shape}")
    return out


def _port_spec(spec, what: str):
    """(count, ports to connect or None) from an inputs=/outputs= argument of Stream."""
    if spec is None:
        return 0, None
    if isinstance(spec, bool):
        raise TypeError(f"{what} must be a count, a port name or pattern, or a sequence of them")
    if isinstance(spec, int):
        if spec < 0:
            raise ValueError(f"{what} must be >= 0, not {spec}")
        return spec, None
    return None, spec


class Stream:
    """Continuous audio through JACK ports, as (frames, channels) float32 arrays.

    Stream(inputs=None, outputs=None, *, name="pyjack-stream", server=None,
    latency="auto", depth=DEPTH, start=True)

    inputs: ports to record from: a port name or regular expression, or a
        sequence of them (one channel per matching port); or an int for that
        many unconnected input ports; None for no input.
    outputs: ports to play to, in the same forms.
    name: the stream's clients are called name + "-in" and name + "-out".
    server: the JACK server; default: pyjack.default_server().
    latency: for a stream with both directions: frames from the moment an
        input frame arrives to the moment the output frame written for it
        leaves, exactly. The k-th frame written then answers the k-th frame
        read. "auto" is 50 ms plus four periods; None keeps no relation (the
        output starts with the first write()). It must leave time to read a
        block, compute and write it.
    depth: ring depth in frames per port: how far Python may fall behind.
    start: start at once (else call start()).

    The stream never raises a sync error: frames lost because Python fell
    behind are counted in lost_in / lost_out.

    A filter with exact latency, in a thread of its own:

    >>> with pyjack.Stream(inputs=1, outputs=1, name="lowpass", latency=4096) as s:
    ...     for inblock, outblock in s.blocks(256, frames=48000):
    ...         outblock[:] = 0.5 * inblock

    Reading and writing separately:

    >>> with pyjack.Stream(inputs="system:capture_1") as s:
    ...     x = s.read(4800)               # (4800, 1) float32
    """

    def __init__(self, inputs=None, outputs=None, *, name: str = "pyjack-stream", server=None,
                 latency="auto", depth: int = DEPTH, start: bool = True):
        n_in, in_spec = _port_spec(inputs, "inputs")
        n_out, out_spec = _port_spec(outputs, "outputs")
        if n_in == 0 and n_out == 0:
            raise ValueError("a Stream needs inputs, outputs or both")
        if not (latency is None or latency == "auto"
                or (isinstance(latency, int) and not isinstance(latency, bool) and latency >= 0)):
            raise ValueError(f"latency must be a number of frames >= 0, 'auto' or None, not {latency!r}")
        if not isinstance(name, str) or not name:
            raise ValueError("name must be a non-empty str")
        server = default_server() if server is None else server
        self._ins: Side | None = None
        self._outs: Side | None = None
        self._sources = self._dests = None
        self._started = False
        self._last_read_time = None
        try:
            if n_in != 0:
                self._ins = Side(Client(f"{name}-in", server=server, depth=depth), IsInput)
                if in_spec is not None:
                    self._sources = resolve_ports(self._ins.client, in_spec, IsOutput, None,
                                                  "port to record from")
                    n_in = len(self._sources)
                self._ins.set_channels(n_in)
            if n_out != 0:
                self._outs = Side(Client(f"{name}-out", server=server, depth=depth), IsOutput)
                if out_spec is not None:
                    own = tuple(self._ins.ports) if self._ins else ()
                    self._dests = resolve_ports(self._outs.client, out_spec, IsInput, None,
                                                "port to play to", own)
                    n_out = len(self._dests)
                self._outs.set_channels(n_out)
            some = self._ins or self._outs
            self.samplerate = some.client.samplerate
            self.blocksize = some.client.blocksize
            if latency == "auto":
                latency = 4 * self.blocksize + self.samplerate // 20
            self.latency = latency if (self._ins and self._outs) else None
            self.channels = (n_in, n_out)
            if start:
                self.start()
        except BaseException:
            self.close()
            raise

    def __repr__(self):
        state = "started" if self._started else "stopped"
        return f"<pyjack.Stream {self.channels[0]} in, {self.channels[1]} out, {state}>"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def input_ports(self) -> list:
        """Full names of the stream's own input ports."""
        return self._ins.ports if self._ins else []

    @property
    def output_ports(self) -> list:
        """Full names of the stream's own output ports."""
        return self._outs.ports if self._outs else []

    def start(self) -> None:
        """Activate the clients, connect the ports and line up the latency."""
        if self._started:
            return
        ins, outs = self._ins, self._outs
        try:
            for side in (ins, outs):
                if side is not None:
                    side.start()
            if ins is not None and self._sources:
                for source, port in zip(self._sources, ins.ports):
                    connect(ins.client, source, port)
            if outs is not None and self._dests:
                for port, dest in zip(outs.ports, self._dests):
                    connect(outs.client, port, dest)
            self._started = True
            if ins is not None:
                scratch = np.empty((ins.chunk_limit, len(ins.ports)), np.float32)
                ins.skip_to(input_start(ins, ins.client.frame_time), scratch)
                if outs is not None and self.latency is not None:
                    self._line_up(scratch)
            for side in (ins, outs):
                if side is not None:
                    side.mark()
        except BaseException:
            self.stop()
            raise

    def _line_up(self, scratch: np.ndarray) -> None:
        """Pad the output's start so that output k leaves `latency` frames
        after input k arrived, to the frame."""
        ins, outs, period = self._ins, self._outs, self.blocksize
        zeros = np.zeros((2 * period, len(outs.ports)), np.float32)

        def top_up():
            if outs.queued() < 2 * period:
                outs.exchange(zeros.T)
            return True

        offset = line_up(outs, ins, top_up)
        written = outs.position
        skip = max(ins.position, written + offset - self.latency)
        pad = skip + self.latency - offset
        # Output first, so it cannot run dry while the input is skipped.
        while outs.position < pad:
            k = min(len(zeros), pad - outs.position)
            outs.exchange(zeros[:k].T)
        ins.skip_to(skip, scratch)

    def stop(self) -> None:
        """Deactivate the clients (queued output is dropped). start() again begins anew."""
        for side in (self._ins, self._outs):
            if side is not None:
                side.stop()
        self._started = False

    def close(self) -> None:
        """Stop and close the clients. Safe to call more than once."""
        self.stop()
        for side in (self._ins, self._outs):
            if side is not None:
                side.client.close()

    def _check(self, side: Side | None, what: str) -> Side:
        if side is None:
            raise UsageError(f"this stream has no {what}")
        if side.client.closed:
            raise UsageError("the stream is closed")
        if not self._started:
            raise UsageError("the stream is stopped; call start() first")
        return side

    @property
    def read_available(self) -> int:
        """Input frames that read() can return without waiting."""
        return self._ins.available() if self._ins and self._started else 0

    @property
    def write_available(self) -> int:
        """Output frames that write() can queue without waiting."""
        if not (self._outs and self._started):
            return 0
        return max(0, self._outs.client.depth - self._outs.queued())

    @property
    def lost_in(self) -> int:
        """Input frames dropped since start() because reading fell behind."""
        return self._ins.lost() if self._ins else 0

    @property
    def lost_out(self) -> int:
        """Output frames played as silence since start() because writing fell behind."""
        return self._outs.lost() if self._outs else 0

    @property
    def skipped(self) -> int:
        """Frames by which the stream slipped on JACK's clock since start(),
        beyond those counted as lost: cycles JACK did not run the stream's
        clients for, in an xrun. While it is 0, latency holds to the frame."""
        return sum(side.skipped() for side in (self._ins, self._outs) if side is not None)

    @property
    def xruns(self) -> int:
        """Xruns the server reported since start()."""
        side = self._ins or self._outs
        return side.xruns()

    @property
    def last_read_time(self):
        """JACK frame time at which the first frame of the last read() arrived."""
        return self._last_read_time

    def read(self, frames: int, out: np.ndarray | None = None) -> np.ndarray:
        """Read frames of input, waiting until they have arrived.

        Returns a float32 array shaped (frames, input channels): out if given
        (filled in place), else a new one.

        >>> block = stream.read(1024)      # doctest: +SKIP
        """
        ins = self._check(self._ins, "inputs")
        if not isinstance(frames, int) or isinstance(frames, bool) or frames <= 0:
            raise ValueError(f"frames must be a positive int, not {frames!r}")
        channels = len(ins.ports)
        if out is None:
            out = np.empty((frames, channels), np.float32)
        else:
            check_out(out, frames, channels)
        first = ins.position
        step = ins.chunk_limit
        for at in range(0, frames, step):
            ins.exchange(out[at:at + step].T)
        self._last_read_time = ins.time_of(first)
        return out

    def write(self, data) -> None:
        """Queue frames of output, waiting while the ring is full.

        data: float32 shaped (frames, output channels); 1-D for one channel.

        >>> stream.write(np.zeros((1024, 2), np.float32))   # doctest: +SKIP
        """
        outs = self._check(self._outs, "outputs")
        data = as_frames(data, len(outs.ports), "data")
        step = outs.chunk_limit
        for at in range(0, len(data), step):
            outs.exchange(data[at:at + step].T)

    def blocks(self, blocksize: int, frames: int | None = None):
        """Iterate over (input block, output block) pairs, forever or for frames.

        Each input block holds the next blocksize frames read; fill the
        output block (zeroed for you) and it is written when you ask for the
        next pair. A direction the stream lacks gives zero columns. The two
        arrays are reused: copy what you keep.

        >>> for inblock, outblock in stream.blocks(256):    # doctest: +SKIP
        ...     outblock[:] = inblock[::-1]
        """
        if not isinstance(blocksize, int) or isinstance(blocksize, bool) or blocksize <= 0:
            raise ValueError(f"blocksize must be a positive int, not {blocksize!r}")
        if frames is not None and (not isinstance(frames, int) or frames < 0):
            raise ValueError(f"frames must be an int >= 0 or None, not {frames!r}")
        n_in, n_out = self.channels
        inbuf = np.zeros((blocksize, n_in), np.float32)
        outbuf = np.zeros((blocksize, n_out), np.float32)
        done = 0
        while frames is None or done < frames:
            k = blocksize if frames is None else min(blocksize, frames - done)
            inblock, outblock = inbuf[:k], outbuf[:k]
            if n_in:
                self.read(k, out=inblock)
            outblock.fill(0.0)
            yield inblock, outblock
            if n_out:
                self.write(outblock)
            done += k
