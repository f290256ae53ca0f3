"""Question 2, GIL contention: does audio survive a Python program that hogs the GIL?

Each client copies 2 inputs to 2 outputs at 256 frames / 48 kHz while the
main thread of its process holds the GIL in chunks of 50-100 ms (one C call,
sum(range(n)), that never lets go of the GIL, as a big gc.collect() or a
non-releasing extension call would). A separate watcher process counts the
server's xruns.

pyjack: a second Python thread loops process() with 8192-frame blocks, output
16384 frames ahead, 32768-frame rings: the ring holds the longest stall.
JACK-Client: its process callback copies port buffers (it needs the GIL).
C: the ring client of cclient.c with the same blocks; its main thread spins.

Figures: xruns, frames lost (pyjack and C: the rings' counters; JACK-Client:
server cycles its callback did not serve, times the period) and the share of
server cycles the client's callback served.
"""

from __future__ import annotations

import random
import sys
import threading
import time

from common import (CLIENT_NAMES, CLIENTS, Row, Worker, bench_main, c_worker, clients_to_run, emit,
                    jack_client_copier, private_server, pyjack_loopback, python_worker, xruns_in_log)

TITLE = "GIL contention: 2 channels, 256 frames, main thread holds the GIL 50-100 ms at a time"
RATE, PERIOD, CHANNELS = 48000, 256, 2
DEPTH, BLOCK, LEAD = 32768, 8192, 16384


def settings(quick: bool) -> dict:
    return {"seconds": 2.0 if quick else 10.0, "warmup": 1.0}


# -- worker side ------------------------------------------------------------

def sum_per_ms() -> float:
    """How many numbers sum(range(n)) adds up in a millisecond here."""
    n = 200_000
    best = min(_timed_sum(n) for _ in range(5))
    return n / (best * 1000.0)


def _timed_sum(n: int) -> float:
    start = time.perf_counter()
    sum(range(n))
    return time.perf_counter() - start


def hold_gil(seconds: float, per_ms: float, seed: int = 1) -> list[float]:
    """Hold the GIL in chunks of 50-100 ms for `seconds`; return the chunk lengths."""
    rng = random.Random(seed)
    chunks = []
    end = time.perf_counter() + seconds
    while (start := time.perf_counter()) < end:
        n = int(rng.uniform(50, 100) * per_ms)
        sum(range(n))  # one C call: no GIL switch inside
        chunks.append(time.perf_counter() - start)
        per_ms = n / (chunks[-1] * 1000.0)  # follow the machine's current speed
    return chunks


def worker_pyjack(o: dict) -> None:
    import numpy as np
    import pyjack
    per_ms = sum_per_ms()
    client = pyjack_loopback(CHANNELS, DEPTH)
    stop = threading.Event()
    failures = []

    def copy() -> None:
        try:
            first = np.zeros((CHANNELS, LEAD), np.float32)
            client.process(first, np.empty_like(first), timeout=10)
            a = np.zeros((CHANNELS, BLOCK), np.float32)
            b = np.zeros_like(a)
            while not stop.is_set():
                try:
                    client.process(a, b, timeout=10)
                except (pyjack.InputSyncError, pyjack.OutputSyncError):
                    pass  # the engine counts what was lost; the figures show it
                a, b = b, a  # this block's input is the next block's output
        except BaseException as error:  # report it from the main thread
            failures.append(error)

    thread = threading.Thread(target=copy)
    thread.start()
    emit("ready")
    time.sleep(o["warmup"])
    emit("start")
    s0, f0 = client.stats, client.frame_time
    chunks = hold_gil(o["seconds"], per_ms)
    s1, f1 = client.stats, client.frame_time
    stop.set()
    thread.join(30)
    client.close()
    if failures:
        raise failures[0]
    emit({"cycles": s1.cycles - s0.cycles, "server_frames": (f1 - f0) % (1 << 32),
          "lost": (s1.lost_in - s0.lost_in) + (s1.lost_out - s0.lost_out),
          "chunk_mean": sum(chunks) / len(chunks), "chunk_max": max(chunks)})


def worker_jack_client(o: dict) -> None:
    per_ms = sum_per_ms()
    client, served = jack_client_copier(CHANNELS)
    client.activate()
    emit("ready")
    time.sleep(o["warmup"])
    emit("start")
    c0, f0 = served[0], client.frame_time
    chunks = hold_gil(o["seconds"], per_ms)
    c1, f1 = served[0], client.frame_time
    client.deactivate()
    client.close()
    server_frames = (f1 - f0) % (1 << 32)
    emit({"cycles": c1 - c0, "server_frames": server_frames,
          "lost": max(0, server_frames // PERIOD - (c1 - c0)) * PERIOD,
          "chunk_mean": sum(chunks) / len(chunks), "chunk_max": max(chunks)})


WORKERS = {"pyjack": worker_pyjack, "JACK-Client": worker_jack_client}


# -- driver side ------------------------------------------------------------

def measure(server, cclient, client: str, s: dict) -> dict:
    if client == "C":
        command = c_worker(cclient, "copy", channels=CHANNELS, block=BLOCK, lead=LEAD, depth=DEPTH,
                           seconds=s["seconds"], warmup=s["warmup"], spin=1)
    else:
        command = python_worker("bench_gil.py", client, **s)
    watcher = Worker(c_worker(cclient, "watch"), server.name, stdin=True)
    worker = None
    log_start = len(server.log())
    try:
        watcher.expect("ready")
        worker = Worker(command, server.name)
        worker.expect("ready")
        worker.expect("start")
        watcher.send("start")
        result = worker.result()
        watcher.send("stop")
        worker.finish()
        watcher.finish()
        result["xruns"] = watcher.result()["xruns"]
        result["blamed"], result["late"] = xruns_in_log(server.log()[log_start:], CLIENT_NAMES[client])
    finally:
        watcher.stop()
        if worker:
            worker.stop()
    return result


def run(cclient, quick: bool, jack_client: bool = True) -> list[Row]:
    s = settings(quick)
    with private_server(RATE, PERIOD) as server:
        results = {c: measure(server, cclient, c, s) for c in clients_to_run(jack_client)}
    setting = f"{CHANNELS} ch, {s['seconds']:g} s"

    def values(key):
        return {c: results[c][key] if c in results else None for c in CLIENTS}

    served = {c: (100.0 * r["cycles"] / (r["server_frames"] / PERIOD) if r["server_frames"] else None)
              for c, r in results.items()}
    xruns, blamed, lost = values("xruns"), values("blamed"), values("lost")
    rows = [
        Row("GIL contention", setting, "server xruns (watcher)", xruns, target="pyjack 0",
            met=xruns["pyjack"] == 0),
        Row("GIL contention", setting, "xruns the server blamed on it", blamed, target="pyjack 0",
            met=blamed["pyjack"] == 0),
        Row("GIL contention", setting, "frames lost", lost, target="pyjack 0",
            met=lost["pyjack"] == 0),
        Row("GIL contention", setting, "cycles served (%)", {c: served.get(c) for c in CLIENTS},
            better="higher"),
    ]
    chunks = "; ".join(f"{c}: mean {1000 * r['chunk_mean']:.0f} ms, max {1000 * r['chunk_max']:.0f} ms"
                       for c, r in results.items() if "chunk_mean" in r)
    rows[0].notes.append(f"GIL held in chunks of {chunks}")
    late = ", ".join(f"{c} {r['late']}" for c, r in results.items())
    rows[0].notes.append(f"xruns of the server's own timer running late (no client to blame): {late}")
    return rows


def main() -> None:
    bench_main(__doc__, TITLE, run, WORKERS, quick_help="a couple of seconds instead of 10")


if __name__ == "__main__":
    sys.exit(main())
