#!/usr/bin/env python3
"""Capture with input ports only, then swap them for output ports and play the
capture back: the original pyjack demo of changing ports, in Python 3.

    python3 just_capture.py [SECONDS]

Uses the server that $JACK_DEFAULT_SERVER names ("default" if unset).
"""

import argparse

import numpy as np

import pyjack as jack


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("duration", nargs="?", type=float, default=3.0,
                        help="seconds to capture (default: 3)")
    args = parser.parse_args()

    jack.attach("just_capture")
    try:
        me = jack.get_client_name()
        jack.register_port("in_1", jack.IsInput)
        jack.register_port("in_2", jack.IsInput)
        jack.activate()
        for k, port in enumerate(jack.get_ports(flags=jack.IsOutput | jack.IsPhysical)[:2], 1):
            jack.connect(port, f"{me}:in_{k}")

        N = jack.get_buffer_size()
        Sr = jack.get_sample_rate()
        frames = max(N, int(Sr * args.duration) // N * N)
        capture = np.zeros((2, frames), np.float32)
        dummy = np.zeros((2, 0), np.float32)  # a direction without ports takes any 2-D array

        print("capturing audio...")
        i = 0
        while i < frames:
            try:
                jack.process(dummy, capture[:, i:i + N])
            except jack.InputSyncError:
                pass  # older frames were lost, but this block arrived
            i += N

        # The ports may change while active; this follows the original's order.
        jack.unregister_port("in_1")
        jack.unregister_port("in_2")
        jack.deactivate()
        jack.register_port("out_1", jack.IsOutput)
        jack.register_port("out_2", jack.IsOutput)
        jack.activate()
        for k, port in enumerate(jack.get_ports(flags=jack.IsInput | jack.IsPhysical)[:2], 1):
            jack.connect(f"{me}:out_{k}", port)

        print("playing it back...")
        i = 0
        while i < frames:
            try:
                jack.process(capture[:, i:i + N], dummy)
                i += N
            except jack.OutputSyncError:
                pass  # not queued: send it again
        print(f"captured and played {frames / Sr:.2f} s")
    finally:
        jack.detach()


if __name__ == "__main__":
    main()
