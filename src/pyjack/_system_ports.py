"""The "system" ports of a private PipeWire server: python -m pyjack._system_ports SERVER.

jackd's dummy backend gives every server system:capture_1/2 (physical,
silent) and system:playback_1/2 (physical, discarding). A headless PipeWire
daemon has no such device: a null-audio sink there has no JACK-visible ports
until a session manager configures it, and even then they are neither
physical nor named playback_N. So pyjack.Server(kind="pipewire") runs this
small client, with PipeWire's libjack, to give the same ports. Its outputs
carry silence (the engine plays zeros when nothing is queued); what reaches
its inputs is dropped.

It prints "ready" once its ports are active and exits when its standard
input closes (its parent went away) or on SIGTERM.
"""

from __future__ import annotations

import sys

from ._core import Client, IsInput, IsOutput, IsPhysical, IsTerminal


def main(argv: list) -> int:
    if len(argv) != 2:
        print("usage: python -m pyjack._system_ports SERVER", file=sys.stderr)
        return 2
    with Client("system", server=argv[1], use_exact_name=True, depth=1024) as client:
        for i in (1, 2):
            client.register_port(f"capture_{i}", IsOutput | IsPhysical | IsTerminal)
        for i in (1, 2):
            client.register_port(f"playback_{i}", IsInput | IsPhysical | IsTerminal)
        client.activate()
        print("ready", flush=True)
        sys.stdin.read()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
