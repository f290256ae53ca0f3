import os
from dataclasses import dataclass
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

Ports = str | list[str] | tuple[str, ...] | None
Audio = npt.NDArray[np.floating] | str | os.PathLike[str]
MidiMessage = bytes | bytearray | memoryview | list[int] | tuple[int, ...] | Any
# (frame, message) pairs in time order, frame an index into the audio; or a MIDI file's path.
MidiEvents = Sequence[tuple[int, MidiMessage]] | str | os.PathLike[str]

@dataclass(frozen=True)
class Status:
    """What the current or last rec(), play() or playrec() did; true when nothing was lost."""
    kind: str = ...
    active: bool = ...
    frames_played: int = ...
    frames_recorded: int = ...
    lost_in: int = ...
    lost_out: int = ...
    skipped: int = ...
    xruns: int = ...
    latency: int | None = ...
    latency_source: Literal["measured", "cached", "given"] | None = ...
    start_time: int | None = ...
    stopped: bool = ...
    error: BaseException | None = ...
    realtime_factor: float | None = ...
    midi: tuple[tuple[int, bytes], ...] = ...
    @property
    def ok(self) -> bool: ...
    def __bool__(self) -> bool: ...

def rec(frames: int | None = ..., *, channels: int | None = ..., inputs: Ports = ...,
        out: npt.NDArray[np.float32] | None = ..., file: str | os.PathLike[str] | None = ...,
        subtype: str | None = ..., samplerate: int | None = ..., blocking: bool = ...,
        progress: bool | None = ..., midi_in: Ports | bool = ...) -> npt.NDArray[np.float32] | None:
    """Record from JACK ports into a float32 (frames, channels) array or a sound file;
    MIDI too with midi_in= (events in get_status().midi, at frames of the recording).

    >>> x = pyjack.rec(48000, inputs="system:capture_1", blocking=True)
    """

def play(data: Audio, *, outputs: Ports = ..., samplerate: int | None = ...,
         blocking: bool = ..., progress: bool | None = ..., midi: MidiEvents | None = ...,
         midi_out: Ports = ...) -> None:
    """Play an array or a sound file through JACK ports; MIDI with it, sample for sample,
    with midi= (to the MIDI inputs of midi_out=).

    >>> pyjack.play(x, outputs="system:playback_[12]$", blocking=True)
    """

def playrec(data: Audio, *, channels: int | None = ..., inputs: Ports = ...,
            outputs: Ports = ..., loopback: bool = ...,
            out: npt.NDArray[np.float32] | None = ...,
            file: str | os.PathLike[str] | None = ..., subtype: str | None = ...,
            latency: int | Literal["measure"] | None = ..., max_latency: int | None = ...,
            align: bool = ..., samplerate: int | None = ..., blocking: bool = ...,
            progress: bool | None = ..., midi: MidiEvents | None = ..., midi_out: Ports = ...,
            midi_in: Ports | bool = ...) -> npt.NDArray[np.float32] | None:
    """Play and record at once; the recording comes back aligned, the latency is in get_status().
    MIDI played (midi=, midi_out=) and recorded (midi_in=) as for play() and rec().

    >>> y = pyjack.playrec(noise, loopback=True, blocking=True)
    >>> pyjack.get_status().latency
    0
    """

def measure_latency(*, inputs: Ports = ..., outputs: Ports = ..., loopback: bool = ...,
                    channels: int = ..., seconds: float = ..., level: float = ...,
                    max_latency: int | None = ...) -> int:
    """Play quiet noise, find the routing's round-trip latency in frames and remember it.

    >>> pyjack.measure_latency(outputs="system:playback_1", inputs="system:capture_1")
    """

def get_status() -> Status:
    """The Status of the running call, or of the last one."""

def wait(timeout: float | None = ...) -> Status:
    """Wait for the background call; raise its error, if any (once).

    >>> pyjack.play(x); pyjack.wait().lost_out
    0
    """

def stop() -> npt.NDArray[np.float32] | None:
    """End the background call early; return what it recorded so far.

    >>> pyjack.rec(60 * 48000); x = pyjack.stop()
    """
