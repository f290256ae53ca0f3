import os
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from ._play import Audio, MidiEvents, Ports

def render(data: Audio, *, outputs: Ports, inputs: Ports, channels: int | None = ...,
           out: npt.NDArray[np.float32] | None = ..., file: str | os.PathLike[str] | None = ...,
           subtype: str | None = ..., latency: int | None = ..., max_latency: int | None = ...,
           align: bool = ..., blocksize: int | None = ..., samplerate: int | None = ...,
           progress: bool | Callable[[int, int], object] | None = ...,
           timeout: float = ..., midi: MidiEvents | None = ..., midi_out: Ports = ...,
           midi_in: Ports | bool = ...) -> npt.NDArray[np.float32] | None:
    """Play data into a JACK graph and record what comes back, in freewheel: as fast as the
    graph runs, losing nothing, aligned sample for sample; MIDI into the graph with midi=.

    >>> y = pyjack.render("mix.wav", outputs="jack_thru:input_[12]$", inputs="jack_thru:output_[12]$")
    """
