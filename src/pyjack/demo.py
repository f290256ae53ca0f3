"""Play a tone through a loopback, capture it, and report what came back.

    python -m pyjack.demo [--seconds 2] [--frequency 997]

Uses the JACK server named by $JACK_DEFAULT_SERVER (or "default") when one is
running, and otherwise a private dummy server that it starts and stops (not
under PipeWire's libjack: then it says how to get a server). Where a client's
own out -> in connection is silent (PipeWire), the tone goes through a second
client instead.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys

import numpy as np

import pyjack
from pyjack._info import libjack_is_pipewire
from pyjack._stream import connect, link_settle, no_server_message


def _pipewire_or_no_jackd() -> bool:
    return libjack_is_pipewire() or shutil.which("jackd") is None


def measured_frequency(signal: np.ndarray, rate: int) -> float:
    """Frequency of the strongest spectral peak, refined between bins."""
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(signal.size)))
    k = int(np.argmax(spectrum[1:])) + 1
    a, b, c = np.log(spectrum[k - 1:k + 2] + 1e-30)
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * rate / signal.size


def run(seconds: float, frequency: float, server: str | None) -> dict:
    name = server or os.environ.get("JACK_DEFAULT_SERVER", "default")
    # On a server where a client's own out -> in connection is silent
    # (PipeWire), the tone goes from one client to a second one instead.
    looped = pyjack.server_info(name).has("self_loopback")
    with contextlib.ExitStack() as stack:
        sender = stack.enter_context(pyjack.Client("pyjack-demo", server=server))
        receiver = sender if looped else stack.enter_context(
            pyjack.Client("pyjack-demo-in", server=server))
        out = sender.register_port("out", pyjack.IsOutput)
        inp = receiver.register_port("in", pyjack.IsInput)
        if not looped:
            receiver.activate()
        sender.activate()
        connect(sender, out, inp)
        rate, block = sender.samplerate, sender.blocksize
        frames = int(seconds * rate) // block * block
        lead = 8 * block  # output runs this far ahead of input
        quiet = link_settle(sender)  # silence first while a new link settles
        tone = np.zeros((1, quiet + frames + 2 * lead), np.float32)
        # A cosine: its first sample is not zero, so its arrival is plain to see.
        tone[0, quiet:quiet + frames] = 0.5 * np.cos(2 * np.pi * frequency * np.arange(frames) / rate)
        captured = np.zeros_like(tone)
        none = np.zeros((0, 1), np.float32)

        def exchange(start: int, stop: int) -> None:
            if looped:
                sender.process(tone[:, start:stop], captured[:, start:stop], timeout=5)
            else:
                # The receiver reads `lead` frames behind what the sender
                # queued, so the sender's ring never runs dry meanwhile.
                sender.process(tone[:, start:stop], none, timeout=5)
                if stop > lead:
                    receiver.process(none, captured[:, start - lead:stop - lead], timeout=5)

        if not looped:
            # Drop what the receiver took in before the tone was queued, as
            # the single client does by queueing before its input piles up.
            waiting = receiver.stats.frames_in - receiver.input_position
            if waiting > 0:
                receiver.process(none, np.zeros((1, waiting), np.float32), timeout=5)
        first_in = receiver.input_position  # the receiver's position of captured[:, 0]
        exchange(0, lead)
        for start in range(lead, tone.shape[1], block):
            exchange(start, start + block)
        arrived = int(np.flatnonzero(captured[0])[0])
        left_at = sender.frame_time_of(quiet, pyjack.IsOutput)
        arrived_at = receiver.frame_time_of(first_in + arrived, pyjack.IsInput)
        lost = sum(c.stats.lost_in + c.stats.lost_out for c in {sender, receiver})
        return {
            "server": name,
            "rate": rate,
            "block": block,
            "frequency": measured_frequency(captured[0, arrived:arrived + frames], rate),
            "latency": (arrived_at - left_at) % 2**32,
            "stream_latency": arrived - quiet,
            "lost": lost,
            "exact": bool(np.array_equal(captured[0, arrived:arrived + frames],
                                         tone[0, quiet:quiet + frames])),
            "path": "the client's own loopback" if looped else "a second client",
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="length of the tone")
    parser.add_argument("--frequency", type=float, default=997.0, help="tone frequency in Hz")
    args = parser.parse_args(argv)
    with contextlib.ExitStack() as stack:
        server = None
        if not pyjack.server_running():
            if _pipewire_or_no_jackd():
                print(no_server_message(os.environ.get("JACK_DEFAULT_SERVER", "default")),
                      file=sys.stderr)
                return 1
            server = stack.enter_context(pyjack.Server(kind="jackd")).name
            print(f"no JACK server running: started a private dummy server {server!r}")
        result = run(args.seconds, args.frequency, server)
    print(f"server {result['server']}: {result['rate']} Hz, {result['block']} frames per period")
    print(f"played {args.frequency:g} Hz, measured {result['frequency']:.2f} Hz")
    print(f"round-trip latency: {result['latency']} frames through {result['path']} "
          f"({result['stream_latency']} frames from first output to first input, "
          "including the queued lead)")
    print(f"frames lost: {result['lost']}; bit-exact: {result['exact']}")
    return 0 if result["lost"] == 0 and result["exact"] else 1


if __name__ == "__main__":
    sys.exit(main())
