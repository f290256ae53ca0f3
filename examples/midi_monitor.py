"""Print the MIDI events of every MIDI output on the JACK server, with their
JACK frame times. Ctrl-C ends it.

usage: python midi_monitor.py [--seconds N] [PORT ...]

PORT: MIDI output ports to listen to; default: all of them (new ones too).
"""

import argparse
import time

import pyjack


def describe(event):
    """mido's words for the event when mido is installed, else nothing."""
    try:
        return str(event.message()).rsplit(" time=", 1)[0]
    except ImportError:
        return ""
    except ValueError:
        return "(not a message mido knows)"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ports", nargs="*", help="MIDI output ports (default: all)")
    parser.add_argument("--seconds", type=float, help="stop after this long")
    args = parser.parse_args()
    with pyjack.Client("midi-monitor") as client:
        inp = client.register_port("in", pyjack.IsInput, type="midi")
        client.activate()
        connected = set()

        def connect_new():
            wanted = args.ports or client.get_ports(type="midi", flags=pyjack.IsOutput)
            for port in wanted:
                if port not in connected and port in client.get_ports():
                    client.connect(port, inp)
                    connected.add(port)
                    print(f"listening to: {port}", flush=True)

        connect_new()
        deadline = None if args.seconds is None else time.monotonic() + args.seconds
        next_look = time.monotonic() + 1.0
        try:
            while deadline is None or time.monotonic() < deadline:
                event = client.read_midi(timeout=0.2)
                if event is not None:
                    print(f"{event.time:10d}  {event.data.hex(' '):<12}  {describe(event)}",
                          flush=True)
                if time.monotonic() >= next_look:  # ports that appeared meanwhile
                    connect_new()
                    next_look = time.monotonic() + 1.0
        except KeyboardInterrupt:
            pass
        stats = client.stats
        print(f"{stats.midi_in} events, {stats.midi_dropped_in} dropped")


if __name__ == "__main__":
    main()
