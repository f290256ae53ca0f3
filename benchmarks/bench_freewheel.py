"""Question 3, freewheel throughput: how fast can each client copy audio offline?

The server runs at 256 frames and is switched to freewheel (jack_freewheel),
where it runs cycles back to back and waits for every client. Each client
copies 2 or 32 inputs to as many outputs, losslessly.

pyjack: process() in a loop with 2048-frame blocks, output 4096 frames ahead
(16384-frame rings); in freewheel the engine waits for Python rather than drop.
JACK-Client: its process callback copies port buffers.
C: cclient.c's ring client with the same blocks (it waits for its worker the
same way).

Figure: frames per second copied while freewheeling (median of the rounds),
and its ratio to C.
"""

from __future__ import annotations

import statistics
import sys
import time

from common import (CLIENTS, Row, bench_main, c_worker, clients_to_run, emit, jack_client_copier,
                    private_server, pyjack_loopback, python_worker, run_in_freewheel, wait_until)

TITLE = "Freewheel throughput: copy through the client at 256 frames, lossless"
RATE, PERIOD = 48000, 256
DEPTH, BLOCK, LEAD = 16384, 2048, 4096
CHANNELS = (2, 32)


def settings(quick: bool) -> dict:
    # The clients take turns, `rounds` times, so that a burst of load from
    # elsewhere on the machine hits one round, not one client; medians count.
    return {"seconds": 1.0, "rounds": 1} if quick else {"seconds": 2.0, "rounds": 5}


# -- worker side ------------------------------------------------------------

def worker_pyjack(o: dict) -> None:
    import numpy as np
    import pyjack
    channels = o["channels"]
    client = pyjack_loopback(channels, DEPTH, LEAD)
    a = np.zeros((channels, BLOCK), np.float32)
    b = np.zeros_like(a)

    def stream_while(condition) -> None:
        nonlocal a, b
        deadline = time.monotonic() + 60
        while condition() and time.monotonic() < deadline:
            try:
                client.process(a, b, timeout=10)
            except (pyjack.InputSyncError, pyjack.OutputSyncError):
                pass  # real time, before or after the window: does not count
            a, b = b, a

    emit("ready")
    stream_while(lambda: not client.stats.freewheel)
    emit("start")
    s0, p0 = client.stats, client.input_position
    start = time.perf_counter()
    while time.perf_counter() - start < o["seconds"]:
        client.process(a, b, timeout=20)  # a loss here raises: the run fails
        a, b = b, a
    wall = time.perf_counter() - start
    s1, p1 = client.stats, client.input_position
    emit({"frames": p1 - p0, "wall": wall, "freewheel": s1.freewheel,
          "lost": (s1.lost_in - s0.lost_in) + (s1.lost_out - s0.lost_out)})
    stream_while(lambda: client.stats.freewheel)
    client.close()


def worker_jack_client(o: dict) -> None:
    client, served = jack_client_copier(o["channels"])
    freewheeling = [False]

    @client.set_freewheel_callback
    def on_freewheel(starting):
        freewheeling[0] = starting

    client.activate()
    emit("ready")
    wait_until(lambda: freewheeling[0], 60, "freewheel")
    emit("start")
    c0, start = served[0], time.perf_counter()
    time.sleep(o["seconds"])
    c1, wall = served[0], time.perf_counter() - start
    emit({"frames": (c1 - c0) * client.blocksize, "wall": wall, "freewheel": freewheeling[0],
          "lost": 0})
    wait_until(lambda: not freewheeling[0], 60, "freewheel to end")
    client.deactivate()
    client.close()


WORKERS = {"pyjack": worker_pyjack, "JACK-Client": worker_jack_client}


# -- driver side ------------------------------------------------------------

def measure(server, cclient, client: str, channels: int, s: dict) -> dict:
    if client == "C":
        command = c_worker(cclient, "copy", channels=channels, block=BLOCK, lead=LEAD, depth=DEPTH,
                           seconds=s["seconds"], freewheel=1)
    else:
        command = python_worker("bench_freewheel.py", client, channels=channels, **s)
    return run_in_freewheel(command, server.name)


def run(cclient, quick: bool, jack_client: bool = True) -> list[Row]:
    s = settings(quick)
    rows = []
    with private_server(RATE, PERIOD) as server:
        for channels in CHANNELS:
            runs = {c: [] for c in clients_to_run(jack_client)}
            for _ in range(s["rounds"]):
                for client in runs:
                    runs[client].append(measure(server, cclient, client, channels, s))
            setting = f"{channels} ch, {s['rounds']} x {s['seconds']:g} s"
            rate = {c: statistics.median(r["rate"] for r in runs[c]) if c in runs else None
                    for c in CLIENTS}
            row = Row("Freewheel throughput", setting, "frames per second", rate, better="higher")
            if channels == 32:
                row.target = "pyjack >= 0.9 x C"
                row.met = row.ratio("pyjack") is not None and row.ratio("pyjack") >= 0.9
            lost = {c: sum(r["lost"] for r in runs[c]) if c in runs else None for c in CLIENTS}
            rows.append(row)
            rows.append(Row("Freewheel throughput", setting, "frames lost", lost, target="0",
                            met=lost["pyjack"] == 0))
    return rows


def main() -> None:
    bench_main(__doc__, TITLE, run, WORKERS,
               quick_help="one round of one second per client instead of 5 of 2 s")


if __name__ == "__main__":
    sys.exit(main())
