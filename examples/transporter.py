#!/usr/bin/env python3
"""Drive the JACK transport without audio: the original pyjack demo, in Python 3.

    python3 transporter.py [SECONDS]

Rolls the transport from 0 for SECONDS, jumps to 6 s, and stops. Uses the
server that $JACK_DEFAULT_SERVER names ("default" if unset).
"""

import argparse
import time

import pyjack as jack

STATES = {
    jack.TransportStopped: "stopped",
    jack.TransportRolling: "rolling",
    jack.TransportLooping: "looping",
    jack.TransportStarting: "starting",
    jack.TransportNetStarting: "starting (network)",
}


def show():
    seconds = jack.get_current_transport_frame() / jack.get_sample_rate()
    print(f"transport {STATES.get(jack.get_transport_state(), 'unknown')} at {seconds:.3f} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("duration", nargs="?", type=float, default=3.0,
                        help="seconds to roll (default: 3)")
    args = parser.parse_args()

    jack.attach("transporter")
    try:
        jack.activate()
        sr = jack.get_sample_rate()
        show()
        jack.transport_locate(0)
        jack.transport_start()
        time.sleep(args.duration)
        show()
        jack.transport_locate(6 * sr)
        time.sleep(0.2)
        show()
        jack.transport_stop()
        time.sleep(0.2)
        show()
    finally:
        jack.detach()


if __name__ == "__main__":
    main()
