"""Play a tone through a loopback, capture it, and report what came back.

    python -m pyjack.demo [--seconds 2] [--frequency 997]

Uses the JACK server named by $JACK_DEFAULT_SERVER (or "default") when one is
running, and otherwise a private dummy server that it starts and stops.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

import numpy as np

import pyjack


def measured_frequency(signal: np.ndarray, rate: int) -> float:
    """Frequency of the strongest spectral peak, refined between bins."""
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(signal.size)))
    k = int(np.argmax(spectrum[1:])) + 1
    a, b, c = np.log(spectrum[k - 1:k + 2] + 1e-30)
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * rate / signal.size


def run(seconds: float, frequency: float, server: str | None) -> dict:
    with pyjack.Client("pyjack-demo", server=server) as client:
        out = client.register_port("out", pyjack.IsOutput)
        inp = client.register_port("in", pyjack.IsInput)
        client.activate()
        client.connect(out, inp)
        rate, block = client.samplerate, client.blocksize
        frames = int(seconds * rate) // block * block
        lead = 8 * block  # output runs this far ahead of input
        tone = np.zeros((1, frames + 2 * lead), np.float32)
        # A cosine: its first sample is not zero, so its arrival is plain to see.
        tone[0, :frames] = 0.5 * np.cos(2 * np.pi * frequency * np.arange(frames) / rate)
        captured = np.zeros_like(tone)
        client.process(tone[:, :lead], captured[:, :lead], timeout=5)
        for start in range(lead, tone.shape[1], block):
            client.process(tone[:, start:start + block], captured[:, start:start + block],
                           timeout=5)
        arrived = int(np.flatnonzero(captured[0])[0])
        left_at = client.frame_time_of(0, pyjack.IsOutput)
        arrived_at = client.frame_time_of(arrived, pyjack.IsInput)
        stats = client.stats
        return {
            "server": server or os.environ.get("JACK_DEFAULT_SERVER", "default"),
            "rate": rate,
            "block": block,
            "frequency": measured_frequency(captured[0, arrived:arrived + frames], rate),
            "latency": (arrived_at - left_at) % 2**32,
            "stream_latency": arrived,
            "lost": stats.lost_in + stats.lost_out,
            "exact": bool(np.array_equal(captured[0, arrived:arrived + frames], tone[0, :frames])),
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="length of the tone")
    parser.add_argument("--frequency", type=float, default=997.0, help="tone frequency in Hz")
    args = parser.parse_args(argv)
    with contextlib.ExitStack() as stack:
        server = None
        if not pyjack.server_running():
            server = stack.enter_context(pyjack.Server()).name
            print(f"no JACK server running: started a private dummy server {server!r}")
        result = run(args.seconds, args.frequency, server)
    print(f"server {result['server']}: {result['rate']} Hz, {result['block']} frames per period")
    print(f"played {args.frequency:g} Hz, measured {result['frequency']:.2f} Hz")
    print(f"round-trip latency: {result['latency']} frames through the loopback "
          f"({result['stream_latency']} frames from first output to first input, "
          "including the queued lead)")
    print(f"frames lost: {result['lost']}; bit-exact: {result['exact']}")
    return 0 if result["lost"] == 0 and result["exact"] else 1


if __name__ == "__main__":
    sys.exit(main())
