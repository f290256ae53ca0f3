#!/usr/bin/env python3
"""Play a 440 Hz test tone through JACK: the original pyjack demo, in Python 3.

    python3 testtone.py [SECONDS] [--to PORT] [--frequency HZ]

Uses the server that $JACK_DEFAULT_SERVER names ("default" if unset).
"""

import argparse
import time

import numpy as np

import pyjack as jack


def wait_until_played(timeout=5.0):
    """Return once the real-time thread has taken every queued output frame."""
    client = jack.get_client()
    deadline = time.monotonic() + timeout
    while client.stats.frames_out < client.output_position and time.monotonic() < deadline:
        time.sleep(0.01)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("duration", nargs="?", type=float, default=3.0,
                        help="seconds to play (default: 3)")
    parser.add_argument("--to", help="port to play into (default: the first physical playback port)")
    parser.add_argument("--frequency", type=float, default=440.0, help="tone in Hz (default: 440)")
    args = parser.parse_args()

    jack.attach("testtone")
    try:
        # The original also registered an unconnected input port to pace
        # process(); here process() waits for room in the output ring instead.
        jack.register_port("out_1", jack.IsOutput)
        jack.activate()
        target = args.to or jack.get_ports(flags=jack.IsInput | jack.IsPhysical)[0]
        jack.connect(jack.get_client_name() + ":out_1", target)

        N = jack.get_buffer_size()
        Sr = jack.get_sample_rate()
        frames = max(N, int(Sr * args.duration) // N * N)
        t = np.arange(frames) / Sr
        output = np.sin(2 * np.pi * args.frequency * t).astype(np.float32).reshape(1, frames)
        no_input = np.zeros((0, N), np.float32)

        i = 0
        while i < frames:
            try:
                jack.process(output[:, i:i + N], no_input)
                i += N
            except (jack.InputSyncError, jack.OutputSyncError):
                pass  # this block was not queued: send it again
        wait_until_played()
        print(f"played {frames / Sr:.2f} s of {args.frequency:g} Hz into {target}")
    finally:
        jack.detach()


if __name__ == "__main__":
    main()
