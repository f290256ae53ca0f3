"""rec(), play() and playrec(): numpy arrays and sound files through JACK
ports, shaped like sounddevice's functions, with sample-exact latency.

They run on two default clients, "pyjack-out" and "pyjack-in", one per
direction, on pyjack.default_server() (render() has one of its own for both,
"pyjack-render": see _render.py). One call runs at a time, blocking or
in a background thread; wait(), stop() and get_status() act on it.

How playrec() aligns, exactly: both clients run in the same JACK cycles and
stamp each cycle with its frame time, so the input position that crossed the
ports in the same cycle as the first played frame is known to the frame (see
_stream.same_cycle_offset). What the JACK graph adds between our output and
our input (a loopback client, a feedback period, a sound card's converters)
is a constant of the routing: the first playrec() over a routing finds it by
cross-correlating what it played with what it recorded, and every later call
over the same routing uses that number, so the latency reported is the same
in every call and the aligned recording matches the played signal sample for
sample.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import warnings

import numpy as np

from . import _midi_audio, _state
from ._core import Client, Error, IsInput, IsOutput, NotConnectedError, TimeoutError, UsageError
from ._stream import (
    DEPTH,
    Side,
    as_frames,
    check_out,
    connect,
    default_server,
    input_start,
    line_up,
    resolve_ports,
)

__all__ = ["Status", "get_status", "measure_latency", "play", "playrec", "rec", "stop", "wait"]

_STALL = 10.0


@dataclasses.dataclass(frozen=True)
class Status:
    """What the current or last rec(), play() or playrec() did.

    kind: "rec", "play", "playrec" or "render" ("" before the first call).
    active: the call is still running.
    frames_played / frames_recorded: frames that left our output ports /
        frames delivered to the result (after alignment, for playrec).
    lost_in: input frames dropped because Python fell behind.
    lost_out: output frames played as silence because Python fell behind.
    skipped: frames of JACK cycles our clients missed (in an xrun JACK may
        not run a client for a cycle), so later frames are off by that much.
    xruns: xruns the server reported during the call.
    latency: playrec's round-trip latency in frames: from the moment a played
        frame left our output port to the moment it arrived at our input
        port. None when it could not be told. render() reports what the
        graph adds, the same number as playrec() over the same graph: its one
        client gets the graph's answer one period later (JACK delays one link
        of any loop through a client), and that period is not counted.
    latency_source: "measured" (from this call's signal), "cached" (from an
        earlier call over the same routing), "given" (latency=) or None.
    start_time: JACK frame time of the first frame played (play, playrec) or
        recorded (rec).
    stopped: stop() ended the call early.
    error: the exception that ended a background call, if any.
    realtime_factor: render() only: seconds of audio rendered per second of
        wall-clock time, from the switch to freewheel until the server has left
        it (both switches included; setting up ports and links is not).
    midi: with midi_in= (rec, playrec, render): the MIDI events recorded, as
        (frame, bytes) pairs in time order, frame the index into the returned
        recording of the frame the event arrived with. Filled in when the call
        ends; () otherwise.

    A status is true when nothing was lost or skipped and no error happened:
    then every frame of our clients is where its position says, to the
    sample. An xrun may also make another client in the path (a loopback
    client, say) miss a cycle, which pyjack cannot see: where that matters,
    check xruns == 0 too.
    """

    kind: str = ""
    active: bool = False
    frames_played: int = 0
    frames_recorded: int = 0
    lost_in: int = 0
    lost_out: int = 0
    skipped: int = 0
    xruns: int = 0
    latency: int | None = None
    latency_source: str | None = None
    start_time: int | None = None
    stopped: bool = False
    error: BaseException | None = None
    realtime_factor: float | None = None
    midi: tuple = ()

    @property
    def ok(self) -> bool:
        """No frame was lost or skipped and no error happened."""
        return not (self.lost_in or self.lost_out or self.skipped) and self.error is None

    def __bool__(self) -> bool:
        return self.ok


class _Default:
    """The clients behind rec(), play() and playrec(): one per direction,
    pyjack-out and pyjack-in, so that each direction works alone. render()'s
    are one client for both directions, pyjack-render: each client is a step
    of every JACK cycle, and in freewheel one step fewer is a faster graph."""

    def __init__(self, shared: bool = False):
        self.server = default_server()
        if shared:
            client = Client("pyjack-render", server=self.server, depth=DEPTH)
            self.outs, self.ins = Side(client, IsOutput), Side(client, IsInput)
            return
        self.outs = Side(Client("pyjack-out", server=self.server, depth=DEPTH), IsOutput)
        try:
            self.ins = Side(Client("pyjack-in", server=self.server, depth=DEPTH), IsInput)
        except BaseException:
            self.outs.client.close()
            raise

    def usable(self) -> bool:
        return all(not side.client.closed and not side.client.stats.shutdown
                   for side in (self.outs, self.ins))

    def close(self) -> None:
        for side in (self.outs, self.ins):
            side.client.close()


def _engine(shared: bool = False) -> _Default:
    """The default clients (shared: render()'s), made anew when missing or no
    longer usable."""
    with _state.lock:
        clients = _state.render_client if shared else _state.play_clients
        if clients is None or not clients.usable():
            if clients is not None:
                clients.close()
            clients = _Default(shared)
            if shared:
                _state.render_client = clients
            else:
                _state.play_clients = clients
        return clients


class _Call:
    """One rec(), play() or playrec(), running or done."""

    def __init__(self, kind: str, blocking: bool):
        self.kind = kind
        self.blocking = blocking
        self.stop_event = threading.Event()
        self.done = threading.Event()
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None
        self.error_seen = False
        self.sides: tuple = ()
        self.final: tuple | None = None
        self.frames_played = 0
        self.frames_recorded = 0
        self.latency = None
        self.latency_source = None
        self.start_time = None
        self.stopped = False
        self.result: np.ndarray | None = None
        self.realtime_factor = None
        self.midi_out = None     # _midi_audio.MidiOut: midi= being played
        self.midi_in = None      # _midi_audio.MidiIn: midi_in= being recorded
        self.midi = ()

    def should_stop(self) -> bool:
        return self.stop_event.is_set()

    def counters(self) -> tuple:
        if self.final is not None:
            return self.final
        lost_in = sum(side.lost() for side in self.sides if side.is_input)
        lost_out = sum(side.lost() for side in self.sides if not side.is_input)
        skipped = sum(side.skipped() for side in self.sides)
        xruns = max((side.xruns() for side in self.sides), default=0)
        return lost_in, lost_out, skipped, xruns

    def status(self) -> Status:
        try:
            lost_in, lost_out, skipped, xruns = self.counters()
        except NotConnectedError:
            lost_in = lost_out = skipped = xruns = 0
        return Status(self.kind, not self.done.is_set(), self.frames_played, self.frames_recorded,
                      lost_in, lost_out, skipped, xruns, self.latency, self.latency_source, self.start_time,
                      self.stopped, self.error, self.realtime_factor, self.midi)

    def taken(self):
        if self.result is None:
            return None
        return self.result[:self.frames_recorded]

    def run(self, body) -> None:
        try:
            body()
            self.stopped = self.stop_event.is_set()
        except BaseException as error:
            self.error = error
            self.stopped = isinstance(error, KeyboardInterrupt)
            raise
        finally:
            if self.midi_in is not None:
                try:
                    self.midi = tuple(self.midi_in.finish(self.frames_recorded))
                except Exception:
                    pass  # the server went away: the audio's error tells
            for side in self.sides:
                side.stop()
            try:
                self.final = self.counters()
            except NotConnectedError:
                self.final = (0, 0, 0, 0)
            self.done.set()

    def launch(self, work, resources: tuple) -> None:
        """Run work() here (blocking) or on a thread; close the resources after."""
        def body():
            try:
                work()
            finally:
                for resource in resources:
                    resource.close()

        if self.blocking:
            try:
                self.run(body)
            except BaseException:
                self.error_seen = True
                raise
            return

        def background():
            try:
                self.run(body)
            except BaseException:
                pass  # kept in self.error for wait()

        self.thread = threading.Thread(target=background, name=f"pyjack-{self.kind}", daemon=True)
        self.thread.start()


def _begin(kind: str, blocking) -> tuple:
    """Claim the default clients for a new call (render()'s for render)."""
    if not isinstance(blocking, bool):
        raise TypeError(f"blocking must be True or False, not {blocking!r}")
    with _state.lock:
        running = _state.current_call
        if running is not None and not running.done.is_set():
            raise UsageError(f"pyjack.{running.kind}() is still running; call pyjack.wait() or "
                             "pyjack.stop() before starting another call")
        engine = _engine(shared=kind == "render")
        call = _Call(kind, blocking)
        _state.current_call = call
    return call, engine


def _abandon(call: _Call, error: BaseException, *resources) -> None:
    """A call that failed while being set up: close what it opened (None for
    what it did not get to); nothing runs, the clients stay usable."""
    for resource in resources:
        if resource is not None:
            resource.close()
    call.error = error
    call.error_seen = True
    for side in call.sides:
        side.stop()
    call.done.set()


# -- sound files, progress ----------------------------------------------------

def _soundfile():
    try:
        import soundfile
    except (ImportError, OSError) as error:
        raise ImportError("reading and writing sound files needs the soundfile package: "
                          "pip install 'pyjack-rt[soundfile]' (or pip install soundfile)") from error
    return soundfile


def _is_path(value) -> bool:
    return isinstance(value, (str, os.PathLike))


class _ArraySource:
    def __init__(self, data: np.ndarray):
        self.data = data
        self.frames, self.channels = data.shape

    def block(self, index: int, frames: int) -> np.ndarray:
        return self.data[index:index + frames]

    def head(self, frames: int) -> np.ndarray:
        return self.data[:frames]

    def keep(self, frames: int) -> None:
        pass

    def close(self) -> None:
        pass


class _FileSource:
    """A sound file read block by block into one reused buffer."""

    def __init__(self, path, samplerate: int, chunk: int):
        sf = _soundfile()
        self.file = sf.SoundFile(path)
        try:
            if self.file.samplerate != samplerate:
                raise ValueError(f"{os.fspath(path)!r} is sampled at {self.file.samplerate} Hz but the "
                                 f"JACK server runs at {samplerate} Hz; pyjack does not resample")
            self.frames, self.channels = self.file.frames, self.file.channels
            if self.frames <= 0:
                raise ValueError(f"{os.fspath(path)!r} has no frames")
            self.buffer = np.empty((chunk, self.channels), np.float32)
        except BaseException:
            self.file.close()
            raise
        self.kept = None
        self.kept_frames = 0

    def keep(self, frames: int) -> None:
        """Keep a copy of the first frames read, for head()."""
        self.kept = np.empty((frames, self.channels), np.float32)

    def block(self, index: int, frames: int) -> np.ndarray:
        block = self.buffer[:frames]
        got = self.file.read(frames, dtype="float32", always_2d=True, out=block)
        if len(got) < frames:
            block[len(got):] = 0.0
        if self.kept is not None and index < len(self.kept):
            n = min(frames, len(self.kept) - index)
            self.kept[index:index + n] = block[:n]
        return block

    def head(self, frames: int) -> np.ndarray:
        return self.kept[:frames]

    def close(self) -> None:
        self.file.close()


class _ArraySink:
    def __init__(self, array: np.ndarray):
        self.array = array

    def target(self, index: int, frames: int) -> np.ndarray:
        return self.array[index:index + frames]

    def commit(self, index: int, frames: int) -> None:
        pass

    def put(self, index: int, block: np.ndarray) -> None:
        self.array[index:index + len(block)] = block

    def scratch(self, frames: int) -> np.ndarray:
        # Frames to throw away land at the start of the result, which is
        # overwritten later: nothing else is allocated.
        return self.array[:frames]

    def close(self) -> None:
        pass


class _FileSink:
    """A sound file written block by block from one reused buffer."""

    def __init__(self, path, samplerate: int, channels: int, subtype, chunk: int):
        sf = _soundfile()
        self.file = sf.SoundFile(path, "w", samplerate=samplerate, channels=channels, subtype=subtype)
        self.buffer = np.empty((chunk, channels), np.float32)

    def target(self, index: int, frames: int) -> np.ndarray:
        return self.buffer[:frames]

    def commit(self, index: int, frames: int) -> None:
        self.file.write(self.buffer[:frames])

    def put(self, index: int, block: np.ndarray) -> None:
        self.file.write(block)

    def scratch(self, frames: int) -> np.ndarray:
        return self.buffer[:frames]

    def close(self) -> None:
        self.file.close()


class _Progress:
    """A tqdm bar (notebook-aware) for long blocking calls, or nothing."""

    def __init__(self, progress, blocking: bool, total, samplerate: int, desc: str):
        self.bar = None
        self.shown = 0
        self.callback = None
        if callable(progress) and desc == "render":
            self.callback, self.total = progress, total  # progress(frames_done, frames_total)
            return
        if progress not in (None, True, False):
            raise TypeError(f"progress must be None, True or False, not {progress!r}")
        if progress is False or not blocking or total is None:
            return
        try:
            from tqdm.auto import tqdm
        except ImportError:
            if progress:
                raise ImportError("progress=True needs tqdm: pip install 'pyjack-rt[progress]' "
                                  "(or pip install tqdm)") from None
            return
        if progress is None and total < 2 * samplerate:
            return  # short calls go without a bar
        self.bar = tqdm(total=total, unit="frame", unit_scale=True, desc=desc)

    def update(self, value: int) -> None:
        if self.callback is not None and value > self.shown:
            self.shown = value
            self.callback(value, self.total)
        if self.bar is not None and value > self.shown:
            self.bar.update(value - self.shown)
            self.shown = value

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# -- argument checks ------------------------------------------------------------

def _check_frames(frames, what="frames"):
    if not isinstance(frames, (int, np.integer)) or isinstance(frames, bool) or frames <= 0:
        raise ValueError(f"{what} must be a positive int, not {frames!r}")
    return int(frames)


def _check_rate(samplerate, engine: _Default) -> int:
    rate = engine.ins.client.samplerate
    if samplerate is not None and samplerate != rate:
        raise ValueError(f"samplerate={samplerate} but the JACK server runs at {rate} Hz; "
                         "pyjack does not resample")
    return rate


def _chunk(side: Side) -> int:
    rate, period = side.client.samplerate, side.client.blocksize
    return max(period, min(side.chunk_limit, rate // 20))


def _check_channels(channels):
    if channels is None:
        return None
    if not isinstance(channels, int) or isinstance(channels, bool) or channels <= 0:
        raise ValueError(f"channels must be a positive int, not {channels!r}")
    return channels


def _agree(what: str, *values) -> int | None:
    """The one channel count that the given sources (name, value) agree on."""
    known = [(name, value) for name, value in values if value is not None]
    for name, value in known[1:]:
        if value != known[0][1]:
            raise ValueError(f"{what}: {known[0][0]} gives {known[0][1]} channel(s) but "
                             f"{name} gives {value}")
    return known[0][1] if known else None


def _find_latency(played: np.ndarray, recorded: np.ndarray, max_latency: int):
    """The lag (0..max_latency) at which recorded best matches played, or None
    when the correlation has no clear peak (silence, a steady tone)."""
    n = len(played) + len(recorded)
    size = 1 << (n - 1).bit_length()
    # With many channels, first the sum of what was played against the sum
    # of what was recorded: three transforms, whatever the channel count
    # (independent signals do not cancel; render() waits for this search).
    # Then that sum against each input, then the pairs one by one, each only
    # when the one before shows no clear peak.
    if played.shape[1] > 1 or recorded.shape[1] > 1:
        lag = _clear_peak([played.sum(axis=1, dtype=np.float64)],
                          [np.fft.rfft(recorded.sum(axis=1, dtype=np.float64), size)], size,
                          max_latency)
        if lag is not None:
            return lag
    inputs = [np.fft.rfft(recorded[:, i].astype(np.float64), size) for i in range(recorded.shape[1])]
    if played.shape[1] > 1:
        lag = _clear_peak([played.astype(np.float64).sum(axis=1)], inputs, size, max_latency)
        if lag is not None:
            return lag
    return _clear_peak([played[:, o].astype(np.float64) for o in range(played.shape[1])], inputs,
                       size, max_latency)


def _clear_peak(outputs, inputs, size: int, max_latency: int):
    best = None
    for signal in outputs:
        spectrum = np.conj(np.fft.rfft(signal, size))
        for spectrum_in in inputs:
            corr = np.fft.irfft(spectrum * spectrum_in, size)
            score = np.abs(corr[:max_latency + 1])
            if best is None or score.max() > best.max():
                best = score
    lag = int(np.argmax(best))
    peak = best[lag]
    if not peak > 0.0:
        return None
    guard = 32
    rest = np.concatenate([best[:max(0, lag - guard)], best[lag + guard + 1:]])
    if len(rest) and rest.max() > 0.5 * peak:
        return None
    return lag


# -- rec ------------------------------------------------------------------------

def rec(frames=None, *, channels=None, inputs=None, out=None, file=None, subtype=None,
        samplerate=None, blocking=False, progress=None, midi_in=None):
    """Record from JACK ports into a float32 array (or a sound file).

    frames: how many frames; default: len(out). With file= and
        blocking=False, None records until stop().
    channels: how many channels; default: from out or inputs, else 1.
    inputs: the ports to record from: a port name or regular expression, or
        a sequence of them, one channel per matching port (e.g.
        "system:capture_1", ["a:out_1", "b:out_1"], "system:capture_[12]$").
        Default: the server's first physical capture ports.
    out: a float32 array shaped (frames, channels) to fill in place.
    file: record into this sound file instead (WAV, FLAC, ... by its name;
        needs the soundfile extra), written block by block: an hour never
        sits in memory. subtype: soundfile's subtype, e.g. "PCM_24", "FLOAT".
    samplerate: if given, must be the server's rate (JACK does not resample).
    blocking: wait until done; else return at once and record in the
        background (see wait(), stop(), get_status()).
    progress: show a progress bar (tqdm) for a blocking call; None shows one
        for calls of 2 s or more when tqdm is installed.
    midi_in: record MIDI too, on a MIDI input port "pyjack-in:midi_in":
        True leaves it for you to connect; or other clients' MIDI outputs to
        connect to it (a port name or pattern, or a sequence of them). The
        events, timed to the frame of the recording they arrived with, are in
        get_status().midi when the call ends.

    Returns the array (filled in the background unless blocking), or None
    for a file. Recording starts with the first JACK cycle after the ports
    are connected. Never raises a sync error: dropped input shows in
    get_status().lost_in.

    >>> x = pyjack.rec(48000, inputs="system:capture_1", blocking=True)
    >>> x.shape, x.dtype
    ((48000, 1), dtype('float32'))
    >>> pyjack.rec(10 * 48000, channels=2, file="take.flac")   # doctest: +SKIP
    >>> pyjack.wait()                                           # doctest: +SKIP
    """
    channels = _check_channels(channels)
    if frames is not None:
        frames = _check_frames(frames)
    if out is not None:
        if file is not None:
            raise ValueError("give out= or file=, not both")
        check_out(out, frames, channels)
        frames = out.shape[0]
    if frames is None and (file is None or blocking):
        raise ValueError("frames is needed (or out=), except when recording to a file "
                         "in the background until stop()")
    if file is not None and not _is_path(file):
        raise TypeError(f"file must be a path (str or os.PathLike), not {type(file).__name__}")
    if file is not None:
        _soundfile()
    midi_in = _midi_audio.check_in(midi_in)
    call, engine = _begin("rec", blocking)
    sink = bar = None
    try:
        rate = _check_rate(samplerate, engine)
        ins = engine.ins
        count = _agree("rec", ("channels", channels),
                       ("out", None if out is None else out.shape[1]))
        sources = resolve_ports(ins.client, inputs, IsOutput, count, "port to record from")
        count = _agree("rec", ("channels", count), ("inputs", len(sources)))
        chunk = _chunk(ins)
        sink = _open_sink(call, file, out, frames, count, rate, subtype, chunk)
        out = call.result
        bar = _Progress(progress, blocking, frames, rate, "rec")
        ins.set_channels(count)
        _open_midi(call, None, ins, None, None, midi_in, frames, rate)
        call.sides = (ins,)
    except BaseException as error:
        _abandon(call, error, bar, sink)
        raise
    call.launch(lambda: _rec(call, ins, frames, sources, sink, chunk, bar), (bar, sink))
    return None if file is not None else out


def _rec(call, ins, frames, sources, sink, chunk, bar):
    ins.start()
    for source, port in zip(sources, ins.ports):
        connect(ins.client, source, port)
    if call.midi_in is not None:
        call.midi_in.connect()
    start = input_start(ins, ins.client.frame_time, call.should_stop)
    if start is None:
        return
    if call.midi_in is not None:
        call.midi_in.first = start
    call.start_time = ins.time_of(start)
    ins.mark()
    if not ins.skip_to(start, sink.scratch(chunk), call.should_stop):
        return
    while frames is None or call.frames_recorded < frames:
        if call.should_stop():
            return
        index = call.frames_recorded
        k = chunk if frames is None else min(chunk, frames - index)
        target = sink.target(index, k)
        if not ins.exchange(target.T, call.should_stop):
            return
        sink.commit(index, k)
        call.frames_recorded = index + k
        if call.midi_in is not None:
            call.midi_in.drain()
        bar.update(call.frames_recorded)


def _open_midi(call, outs, ins, midi, midi_out, midi_in, frames, rate) -> None:
    """Set up midi= / midi_out= on the output side and midi_in= on the input
    side (None: a side the call does not use) of a call being set up, with
    the clients inactive. Everything is checked before a port is touched."""
    if midi is None and midi_out is not None:
        raise ValueError("midi_out= names where midi= goes; give midi= too")
    events = None if midi is None else _midi_audio.check_events(midi, frames, rate)
    dests = [] if events is None else _midi_audio.resolve(outs.client, midi_out, False)
    # Our own MIDI output may be recorded too (playrec's loopback of MIDI).
    own = (f"{outs.client.name}:{_midi_audio.OUT_PORT}",) if events is not None else ()
    sources = [] if midi_in is None else _midi_audio.resolve(ins.client, midi_in, True, own)
    if outs is not None:
        port = _midi_audio.set_port(outs, events is not None)
        if events is not None:
            call.midi_out = _midi_audio.MidiOut(outs.client, port, events, dests)
    if ins is not None:
        _midi_audio.set_port(ins, midi_in is not None)
        if midi_in is not None:
            call.midi_in = _midi_audio.MidiIn(ins, sources)


# -- play -----------------------------------------------------------------------

def _open_sink(call, file, out, frames, channels: int, rate: int, subtype, chunk: int,
               touch: bool = False):
    """Where a recording goes: the sound file, or out (made when None), which
    becomes call.result. touch: write every page of the array made here now,
    not at its first frame (render(): in freewheel the graph waits while this
    thread takes a page fault, a sixth of the speed at 60 s of 32 channels)."""
    if file is not None:
        return _FileSink(file, rate, channels, subtype, chunk)
    if out is None:
        out = np.zeros((frames, channels), np.float32)
        if touch:
            out.fill(0)
    call.result = out
    return _ArraySink(out)


def _open_source(data, rate: int, chunk: int, what: str):
    if _is_path(data):
        return _FileSource(data, rate, chunk)
    return _ArraySource(as_frames(data, None, what))


def play(data, *, outputs=None, samplerate=None, blocking=False, progress=None, midi=None,
         midi_out=None):
    """Play a float32 array (or a sound file) through JACK ports.

    data: samples shaped (frames, channels), or (frames,) for one channel;
        float64 is converted. Or the path of a sound file (soundfile extra),
        streamed block by block.
    outputs: the ports to play to: a port name or regular expression, or a
        sequence of them, one per channel (e.g. "system:playback_[12]$").
        Default: the server's first physical playback ports.
    samplerate: if given, must be the server's rate (JACK does not resample).
    blocking: wait until the last frame has left the port; else return at
        once and play in the background (see wait(), stop()).
    progress: as for rec().
    midi: MIDI to play with the audio, sample for sample: a list of
        (frame, message) pairs in time order, frame the index into data
        (0 <= frame < its frames), message bytes (or a list of ints, or a
        mido.Message); or a standard MIDI file's path (needs mido). It leaves
        the MIDI output port "pyjack-out:midi_out" with the audio frame it
        names.
    midi_out: other clients' MIDI inputs to connect that port to (a port name
        or pattern, or a sequence of them); None leaves it for you to connect.

    Never raises a sync error: output that ran dry shows in
    get_status().lost_out.

    >>> t = np.arange(48000) / 48000
    >>> pyjack.play(0.2 * np.sin(2 * np.pi * 440 * t), blocking=True)
    >>> pyjack.play("take.flac", outputs="system:playback_[12]$")   # doctest: +SKIP
    """
    call, engine = _begin("play", blocking)
    source = bar = None
    try:
        rate = _check_rate(samplerate, engine)
        outs = engine.outs
        chunk = _chunk(outs)
        source = _open_source(data, rate, chunk, "data")
        dests = resolve_ports(outs.client, outputs, IsInput, source.channels, "port to play to")
        _agree("play", ("data", source.channels), ("outputs", len(dests)))
        bar = _Progress(progress, blocking, source.frames, rate, "play")
        outs.set_channels(source.channels)
        _open_midi(call, outs, None, midi, midi_out, None, source.frames, rate)
        call.sides = (outs,)
    except BaseException as error:
        _abandon(call, error, bar, source)
        raise
    call.launch(lambda: _play(call, outs, source, dests, chunk, bar), (bar, source))


def _note_start(call, outs: Side, period: int) -> None:
    # Read after a few cycles: the stamp of a client's first cycle can be stale.
    if call.start_time is None and outs.moved() >= 2 * period:
        call.start_time = outs.time_of(0)
        outs.mark()


def _play(call, outs, source, dests, chunk, bar):
    frames = source.frames
    outs.start()
    for port, dest in zip(outs.ports, dests):
        connect(outs.client, port, dest)
    if call.midi_out is not None:
        call.midi_out.connect()
    period = outs.client.blocksize
    index = 0
    while index < frames:
        if call.should_stop():
            return
        k = min(chunk, frames - index)
        if call.midi_out is not None:
            call.midi_out.send_until(index + k)  # before its audio, so none is late
        if not outs.exchange(source.block(index, k).T, call.should_stop):
            return
        index += k
        _note_start(call, outs, period)
        call.frames_played = min(outs.moved(), frames)
        bar.update(call.frames_played)
    # Everything is queued: wait for the last frame to leave, with silence
    # queued behind it so the ring never runs dry (that would count as lost).
    zeros = np.zeros((chunk, source.channels), np.float32)
    while outs.moved() < frames:
        if call.should_stop():
            return
        if outs.queued() < chunk:
            outs.exchange(zeros.T, call.should_stop)
        _note_start(call, outs, period)
        call.frames_played = min(outs.moved(), frames)
        bar.update(call.frames_played)
        if not outs.wait_moved(min(outs.moved() + 1, frames), call.should_stop):
            return
    _note_start(call, outs, period)
    call.frames_played = frames
    bar.update(frames)


# -- playrec --------------------------------------------------------------------

def playrec(data, *, channels=None, inputs=None, outputs=None, loopback=False, out=None,
            file=None, subtype=None, latency=None, max_latency=None, align=True,
            samplerate=None, blocking=False, progress=None, midi=None, midi_out=None,
            midi_in=None):
    """Play and record at once; return the recording aligned to the playback.

    data: what to play, as for play() (an array or a sound file's path).
    channels: channels to record; default: from out or inputs, else as many
        as data has.
    inputs / outputs: ports to record from / play to, as for rec() / play().
    loopback: connect our output ports straight to our input ports instead
        (a digital loopback, for trying things out).
    out: a float32 array shaped (frames of data, channels) to fill in place.
    file: record into this sound file instead (soundfile extra).
    latency: None: use the latency found by an earlier call over the same
        ports, else find it from this call's signal by cross-correlation;
        "measure": find it from this call's signal anyway; an int: use it.
        The signal must make it clear (noise, a sweep, a click: not silence
        or a steady tone); else see measure_latency().
    max_latency: the longest latency looked for, in frames; default 0.5 s
        or eight periods, whichever is more.
    align: return the recording from the frame that carries the first played
        frame (True), or from the moment the first frame was played (False).
    blocking, progress, samplerate: as for rec().
    midi, midi_out: MIDI played with data, as for play().
    midi_in: MIDI recorded with the audio, as for rec(): get_status().midi
        has the events at their frames of the returned (aligned) recording.
        Playing MIDI into a synth and recording its audio (midi=, midi_out=
        the synth's MIDI input, inputs= its audio outputs) puts a note's
        sound at the note's frame plus the synth's own latency; the
        cross-correlation cannot find the latency of a silent data array:
        give latency= (0 when nothing but the synth is in between).

    The round-trip latency in frames is get_status().latency: from the
    moment a played frame leaves our output port to the moment it arrives at
    our input port, measured on JACK's frame clock, so Python's scheduling
    never enters it. It is the same in every call over the same ports.

    >>> noise = np.random.default_rng(1).uniform(-0.5, 0.5, (48000, 1)).astype(np.float32)
    >>> y = pyjack.playrec(noise, loopback=True, blocking=True)
    >>> bool(np.array_equal(y, noise)), pyjack.get_status().latency
    (True, 0)
    """
    return _launch_playrec("playrec", data, channels, inputs, outputs, loopback, out, file,
                           subtype, latency, max_latency, align, samplerate, blocking, progress,
                           midi=midi, midi_out=midi_out, midi_in=midi_in)


def _launch_playrec(kind, data, channels, inputs, outputs, loopback, out, file, subtype, latency,
                    max_latency, align, samplerate, blocking, progress, wheel=None, blocksize=None,
                    midi=None, midi_out=None, midi_in=None):
    """playrec() and render(): check, set up the default clients, run.
    wheel: render()'s freewheel switch (see _render.py), or None.
    blocksize: frames per exchange; default: _chunk()."""
    channels = _check_channels(channels)
    if not isinstance(loopback, bool):
        raise TypeError(f"loopback must be True or False, not {loopback!r}")
    if loopback and (inputs is not None or outputs is not None):
        raise ValueError("loopback=True connects our own ports; leave inputs and outputs out")
    if not (latency is None or latency == "measure"
            or (isinstance(latency, int) and not isinstance(latency, bool) and latency >= 0)):
        raise ValueError(f"latency must be None, 'measure' or a number of frames >= 0, not {latency!r}")
    if max_latency is not None:
        _check_frames(max_latency, "max_latency")
    if out is not None and file is not None:
        raise ValueError("give out= or file=, not both")
    if file is not None:
        if not _is_path(file):
            raise TypeError(f"file must be a path (str or os.PathLike), not {type(file).__name__}")
        _soundfile()
    if not isinstance(align, bool):
        raise TypeError(f"align must be True or False, not {align!r}")
    midi_in = _midi_audio.check_in(midi_in)
    call, engine = _begin(kind, blocking)
    source = sink = bar = None
    try:
        rate = _check_rate(samplerate, engine)
        outs, ins = engine.outs, engine.ins
        chunk = min(_chunk(outs), _chunk(ins))
        if blocksize is not None:
            if blocksize > outs.chunk_limit:
                raise ValueError(f"blocksize must be at most {outs.chunk_limit} frames (a quarter "
                                 f"of the ring depth), not {blocksize}")
            chunk = blocksize
        source = _open_source(data, rate, chunk, "data")
        frames = source.frames
        if out is not None:
            check_out(out, frames, channels)
        if loopback:
            dests = sources = None
            count = _agree("playrec", ("channels", channels),
                           ("out", None if out is None else out.shape[1]),
                           ("loopback (as many as data has)", source.channels))
        else:
            dests = resolve_ports(outs.client, outputs, IsInput, source.channels, "port to play to")
            _agree("playrec", ("data", source.channels), ("outputs", len(dests)))
            count = _agree("playrec", ("channels", channels),
                           ("out", None if out is None else out.shape[1]))
            if count is None and inputs is None:
                count = source.channels
            sources = resolve_ports(ins.client, inputs, IsOutput, count, "port to record from")
            count = _agree("playrec", ("channels", count), ("inputs", len(sources)))
        period = ins.client.blocksize
        if max_latency is None:
            max_latency = max(rate // 2, 8 * period)
        sink = _open_sink(call, file, out, frames, count, rate, subtype, chunk,
                          touch=wheel is not None)
        out = call.result
        outs.set_channels(source.channels)
        ins.set_channels(count)
        _open_midi(call, outs, ins, midi, midi_out, midi_in, frames, rate)
        routing = (engine.server, tuple(outs.ports if loopback else dests),
                   tuple(ins.ports if loopback else sources), period, rate)
        if isinstance(latency, int):
            call.latency, call.latency_source = latency, "given"
        elif latency is None and routing in _state.latencies:
            call.latency, call.latency_source = _state.latencies[routing], "cached"
        if wheel is not None:
            wheel.check(engine.server)
        bar = _Progress(progress, blocking, frames, rate, kind)
        call.sides = (outs, ins)
    except BaseException as error:
        _abandon(call, error, bar, source, sink)
        raise
    call.launch(lambda: _playrec(call, outs, ins, source, sink, dests, sources, loopback, chunk,
                                 max_latency, align, routing, bar, wheel), (bar, source, sink))
    return None if file is not None else out


def _playrec(call, outs, ins, source, sink, dests, sources, loopback, chunk, max_latency,
             align, routing, bar, wheel=None):
    frames = source.frames
    rate, period = ins.client.samplerate, ins.client.blocksize
    ins.start()
    outs.start()
    if loopback:
        for port, back in zip(outs.ports, ins.ports):
            connect(outs.client, port, back)
    else:
        for port, dest in zip(outs.ports, dests):
            connect(outs.client, port, dest)
        for src, port in zip(sources, ins.ports):
            connect(ins.client, src, port)
    for midi in (call.midi_out, call.midi_in):
        if midi is not None:
            midi.connect()
    if not ins.wait_moved(2 * period, call.should_stop):
        return
    # Output stays this far ahead, so Python may stall that long unheard.
    lead = min(outs.client.depth // 2, max(4 * chunk, rate // 4))
    zeros = np.zeros((chunk, source.channels), np.float32)
    scratch = np.empty((chunk, len(ins.ports)), np.float32)
    # One client for both directions (render()): JACK delays one link of any
    # loop through a client by a period, so what the graph makes of output
    # cycle k comes back in cycle k + 1. That period is ours, not the
    # graph's: call.latency leaves it out, as playrec()'s two clients have
    # no such loop.
    loop = period if outs.client is ins.client else 0
    measuring = call.latency is None
    if measuring:
        head = min(frames, rate)
        source.keep(head)
        offset = None
    else:
        offset = call.latency + loop if align else 0
    queued = 0  # frames of data queued so far (then silence)

    def top_up():
        """Keep `lead` frames of output queued: the data, then silence."""
        nonlocal queued
        while outs.queued() < lead:
            if queued < frames:
                k = min(chunk, frames - queued)
                if call.midi_out is not None:
                    call.midi_out.send_until(queued + k)  # before its audio, so none is late
                block = source.block(queued, k)
            else:
                k, block = chunk, zeros
            if not outs.exchange(block.T, call.should_stop):
                return False
            queued += k
        call.frames_played = min(outs.moved(), frames)
        return True

    # zero: the input position that crossed the ports with output position 0.
    zero = line_up(outs, ins, top_up, call.should_stop)
    if zero is None:
        return
    call.start_time = outs.time_of(0)
    if wheel is None:
        _record(call, outs, ins, source, sink, chunk, max_latency, align, routing, bar, top_up,
                zero, measuring, offset, scratch, frames, head if measuring else 0, loop)
        return

    def serve():
        """While the server leaves freewheel: output stays queued, input is read."""
        top_up()
        ins.exchange(scratch[:ins.client.blocksize].T)

    wheel.enter(outs.client)  # render()'s sides share one client
    try:
        _record(call, outs, ins, source, sink, chunk, max_latency, align, routing, bar, top_up,
                zero, measuring, offset, scratch, frames, head if measuring else 0, loop)
    finally:
        wheel.leave(serve, call, frames)


def _record(call, outs, ins, source, sink, chunk, max_latency, align, routing, bar, top_up, zero,
            measuring, offset, scratch, frames, head, loop):
    """playrec's recording, from the cycle that carried output position 0 on.
    loop: the frames our own loop adds to the graph's latency (see _playrec)."""
    outs.mark()
    ins.mark()
    if measuring:
        window = head + max_latency + loop
        pending = np.zeros((window, len(ins.ports)), np.float32)
    start = zero if measuring else zero + offset
    midi_in = call.midi_in
    if midi_in is not None and not measuring:
        midi_in.first = start
    if not ins.skip_to(start, scratch, call.should_stop, between=top_up):
        return
    while call.frames_recorded < frames:
        if call.should_stop() or not top_up():
            return
        index = ins.position - start
        if measuring:
            target = pending[index:index + min(chunk, window - index)]
            if not ins.exchange(target.T, call.should_stop):
                return
            if ins.position == start + window:
                lag = _find_latency(source.head(head), pending, max_latency + loop)
                if lag is None:
                    warnings.warn("playrec() could not tell the latency from this signal (no clear "
                                  "correlation peak); the recording starts when the first frame "
                                  "was played. Use noise or a sweep, pass latency=, or call "
                                  "pyjack.measure_latency() first.", RuntimeWarning, stacklevel=2)
                else:
                    call.latency, call.latency_source = lag - loop, "measured"
                    if not any(call.counters()):
                        # Only a clean measurement is kept: in an xrun JACK may
                        # skip a cycle of any client in the path.
                        _state.latencies[routing] = lag - loop
                offset = (loop if lag is None else lag) if align else 0
                kept = pending[offset:offset + min(frames, window - offset)]
                for at in range(0, len(kept), chunk):
                    sink.put(at, kept[at:at + chunk])
                call.frames_recorded = len(kept)
                measuring = False
                pending = None
                # From here on the recording continues where kept ends.
                start = zero + offset
                if midi_in is not None:
                    midi_in.first = start
        else:
            k = min(chunk, frames - index)
            if not ins.exchange(sink.target(index, k).T, call.should_stop):
                return
            sink.commit(index, k)
            call.frames_recorded = index + k
        if midi_in is not None:
            midi_in.drain()
        bar.update(call.frames_recorded)
    call.frames_played = min(outs.moved(), frames)


def measure_latency(*, inputs=None, outputs=None, loopback=False, channels=1, seconds=0.25,
                    level=0.1, max_latency=None) -> int:
    """Find the round-trip latency of a routing by playing a short burst of
    quiet noise, and remember it for later playrec() calls over it.

    inputs, outputs, loopback, max_latency: as for playrec().
    channels: channels of noise to play (each output gets its own noise).
    seconds, level: the burst's length and peak level (0..1).

    Returns the latency in frames; raises Error if the noise did not come back.

    >>> pyjack.measure_latency(outputs="system:playback_1", inputs="system:capture_1")  # doctest: +SKIP
    256
    """
    rate = _engine().ins.client.samplerate
    frames = max(1024, int(seconds * rate))
    noise = np.random.default_rng().uniform(-level, level, (frames, channels)).astype(np.float32)
    for attempt in range(3):  # an xrun spoils a measurement: try again
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            playrec(noise, inputs=inputs, outputs=outputs, loopback=loopback, latency="measure",
                    max_latency=max_latency, blocking=True, progress=False)
        status = get_status()
        if status.ok and not status.xruns:
            break
    if status.latency is None:
        raise Error("the noise played did not come back through the inputs: check the routing "
                    "between the outputs and the inputs")
    return status.latency


# -- wait, stop, status ---------------------------------------------------------

def get_status() -> Status:
    """The Status of the running call, or of the last one.

    >>> pyjack.get_status().lost_in        # doctest: +SKIP
    0
    """
    call = _state.current_call
    return Status() if call is None else call.status()


def wait(timeout=None) -> Status:
    """Wait for the background call to finish and return its Status.

    Raises the exception that ended it, if any (once), and TimeoutError
    after timeout seconds. Without a running call, returns the last Status.

    >>> pyjack.play(signal)                # doctest: +SKIP
    >>> pyjack.wait().lost_out             # doctest: +SKIP
    0
    """
    if timeout is not None and (not isinstance(timeout, (int, float)) or isinstance(timeout, bool)
                                or timeout < 0):
        raise ValueError(f"timeout must be a number of seconds >= 0 or None, not {timeout!r}")
    call = _state.current_call
    if call is None:
        return Status()
    if not call.done.wait(timeout):
        raise TimeoutError(f"pyjack.{call.kind}() is still running after {timeout} s")
    if call.thread is not None:
        call.thread.join()
    if call.error is not None and not call.error_seen:
        call.error_seen = True
        raise call.error
    return call.status()


def stop():
    """End the background call early and return what it recorded.

    Returns the part of the array recorded so far (rec, playrec into an
    array), else None. Output queued but not yet played is dropped.

    >>> pyjack.rec(60 * 48000)             # doctest: +SKIP
    >>> x = pyjack.stop()                  # what was taken so far
    """
    call = _state.current_call
    if call is None:
        return None
    call.stop_event.set()
    if call.thread is not None and call.thread is not threading.current_thread():
        call.thread.join(_STALL + 5)
    return call.taken()
