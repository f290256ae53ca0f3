"""render(): playrec() in freewheel, as fast as the JACK graph runs.

It is playrec() (one stream core: _play._playrec), on a client of its own
that carries both directions, with the server switched to freewheel once the
output and input cycles are lined up, and switched back however the call
ends. The engine is armed before the server is asked, so that it drops no
frame in the first freewheel cycles, and stays armed until the server has
left.

One client, not playrec()'s two: every client is a step of each JACK cycle,
and in freewheel the cycles are the whole cost. Ours ahead of the graph and
behind it made three steps per cycle (ours, the graph, ours); one client
makes two, as for a C client, whose rate render() is measured against.
"""

from __future__ import annotations

import time

from ._core import TimeoutError, UsageError
from ._info import server_info
from ._play import _launch_playrec

__all__ = ["render"]

# Seconds to wait, serving the rings, for the server to leave freewheel.
_LEAVE_TIMEOUT = 10.0

# Frames per exchange by default: large blocks keep Python's share per frame
# small; the rings hold 2.7 s.
_BLOCKSIZE = 8192

# Why a server lacks FEATURES["freewheel_lossless"] (see docs/guides/rendering.md).
_WHY = {
    "PipeWire": "PipeWire moves a client that asks for freewheel to its freewheel driver, which "
                "ran no cycle of it in our tests (PipeWire 1.4); ",
    "net": "a netjack2 slave's graph misses a period at the switch; ",
}


class _Freewheel:
    """The switch to freewheel and back around render()'s recording."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        self.started = None
        self.client = None

    def check(self, server: str) -> None:
        """Refuse servers where render() cannot keep its promise, saying why."""
        info = server_info(server)
        if not info.has("freewheel_lossless"):
            raise UsageError(
                f"render() needs a server whose freewheel runs the graph and loses nothing at the "
                f"switch; {info.implementation} {info.version} (backend {info.backend!r}) lacks "
                f"pyjack.FEATURES['freewheel_lossless']: {_WHY.get(info.implementation, '')}"
                f"{_WHY['net'] if info.backend == 'net' else ''}use playrec() there, in real time")

    def enter(self, client) -> None:
        self.client = client
        self.started = time.monotonic()
        try:
            client.set_freewheel(True, timeout=self.timeout)
        except BaseException:
            self.started = None
            raise

    def leave(self, serve, call, frames: int) -> None:
        """Ask the server to leave, and serve the rings until the engine has
        seen it leave (it waits for Python until then). A rendering that
        completed gets its real-time factor: both switches included."""
        if self.started is None or self.client.closed:
            return
        self.client.set_freewheel(False)
        deadline = time.monotonic() + _LEAVE_TIMEOUT
        while self.client.freewheeling:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the server did not leave freewheel within {_LEAVE_TIMEOUT} s")
            serve()
        seconds = time.monotonic() - self.started
        if call.frames_recorded == frames and seconds > 0:
            call.realtime_factor = frames / self.client.samplerate / seconds


def render(data, *, outputs, inputs, channels=None, out=None, file=None, subtype=None,
           latency=None, max_latency=None, align=True, blocksize=None, samplerate=None,
           progress=None, timeout=10.0, midi=None, midi_out=None, midi_in=None):
    """Play data into a JACK graph and record what comes back, in freewheel:
    as fast as the graph runs, losing nothing.

    data: what to play: float32 shaped (frames, channels), or the path of a
        sound file (soundfile extra), streamed block by block.
    outputs: the ports to play to (a plugin host's, a synth's, jack_thru's
        inputs): a port name or regular expression, or a sequence of them.
    inputs: the ports to record from (the graph's outputs), in the same forms.
    channels: channels to record; default: as many as inputs match.
    out: a float32 array shaped (frames of data, channels) to fill in place.
    file: write the recording into this sound file instead, block by block
        (soundfile extra): an hour never sits in memory. subtype: soundfile's.
    latency: frames the graph adds (None: found by cross-correlation, as
        playrec() does, or reused from an earlier call over the same ports;
        an int: given). The result is aligned sample for sample with data.
    max_latency, align, samplerate: as for playrec().
    blocksize: frames moved per exchange (default 8192), at most a quarter
        of the ring depth (32768).
    progress: a tqdm bar (None: when installed and the call is 2 s or
        longer; True: always; False: never), or a callable
        progress(frames_done, frames_total).
    timeout: seconds the server may take to report freewheel.
    midi, midi_out: MIDI played into the graph with data, sample for sample
        (an event list or a MIDI file; see play()): to render a synth, say.
    midi_in: MIDI recorded from the graph, as for playrec().

    Returns the recording (or None with file=); get_status() has its
    counters, latency and realtime_factor. Blocking. The server leaves
    freewheel however the call ends (Ctrl-C, an error); if Python stalls,
    the engine stops waiting after 5 s, so the server never hangs on it.

    Needs a server with FEATURES "freewheel_lossless" (jackd2): on PipeWire
    (a client in freewheel gets no cycles) and on a netjack2 slave (its
    graph misses a period at the switch) it raises UsageError saying so.

    >>> y = pyjack.render("mix.wav", outputs="jack_thru:input_[12]$",
    ...                   inputs="jack_thru:output_[12]$")       # doctest: +SKIP
    >>> pyjack.get_status().realtime_factor                        # doctest: +SKIP
    41.7
    """
    if outputs is None or inputs is None:
        raise ValueError("render() needs outputs= (the graph's input ports) and inputs= (the "
                         "graph's output ports): the server's physical ports do not freewheel")
    if blocksize is not None and (not isinstance(blocksize, int) or isinstance(blocksize, bool)
                                  or blocksize <= 0):
        raise ValueError(f"blocksize must be a positive int, not {blocksize!r}")
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not timeout > 0:
        raise ValueError(f"timeout must be a number of seconds > 0, not {timeout!r}")
    if blocksize is None:
        blocksize = _BLOCKSIZE
    wheel = _Freewheel(timeout)
    result = _launch_playrec("render", data, channels, inputs, outputs, False, out, file, subtype,
                             latency, max_latency, align, samplerate, True, progress, wheel,
                             blocksize, midi=midi, midi_out=midi_out, midi_in=midi_in)
    return result
