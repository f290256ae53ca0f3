from collections.abc import Iterator, Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt

DEPTH: int

def default_server() -> str:
    """$JACK_DEFAULT_SERVER (or "default") when it runs, else a private dummy server started once."""

class Stream:
    """Continuous audio through JACK ports as (frames, channels) float32 arrays.

    >>> with pyjack.Stream(inputs=1, outputs=1, name="lowpass", latency=4096) as s:
    ...     for inblock, outblock in s.blocks(256):
    ...         outblock[:] = 0.5 * inblock
    """
    samplerate: int
    blocksize: int
    latency: int | None
    channels: tuple[int, int]
    def __init__(self, inputs: int | str | Sequence[str] | None = ...,
                 outputs: int | str | Sequence[str] | None = ..., *, name: str = ...,
                 server: str | None = ..., latency: int | Literal["auto"] | None = ...,
                 depth: int = ..., start: bool = ...) -> None: ...
    def __enter__(self) -> Stream: ...
    def __exit__(self, *exc: object) -> None: ...
    @property
    def input_ports(self) -> list[str]: ...
    @property
    def output_ports(self) -> list[str]: ...
    def start(self) -> None: ...
    def stop(self) -> None: ...
    def close(self) -> None: ...
    @property
    def read_available(self) -> int: ...
    @property
    def write_available(self) -> int: ...
    @property
    def lost_in(self) -> int: ...
    @property
    def lost_out(self) -> int: ...
    @property
    def skipped(self) -> int: ...
    @property
    def xruns(self) -> int: ...
    @property
    def last_read_time(self) -> int | None: ...
    def read(self, frames: int, out: npt.NDArray[np.float32] | None = ...) -> npt.NDArray[np.float32]:
        """Read frames of input, waiting until they have arrived.

        >>> block = stream.read(1024)
        """
    def write(self, data: npt.ArrayLike) -> None:
        """Queue frames of output, waiting while the ring is full."""
    def blocks(self, blocksize: int, frames: int | None = ...) -> Iterator[
            tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]]:
        """(input block, output block) pairs; fill the output block.

        >>> for inblock, outblock in stream.blocks(256):
        ...     outblock[:] = inblock[::-1]
        """
