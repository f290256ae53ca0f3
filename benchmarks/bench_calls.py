"""Question 5, per-call cost: what does one block's worth of work cost each client,
beyond the memcpy it has to do, and does it allocate?

The server runs at 256 frames / 48 kHz; every client copies 1, 8 or 64
channels, 256 frames a call.

pyjack: one process() call (input and output, 256 frames) timed on data that
is already in the rings, so no call waits: output runs half a 65536-frame
ring ahead, and the calls are made in bursts after a pause lets input gather.
JACK-Client: the body of its process callback, timed from inside the
callback, run twice a callback and the second run timed, so that its caches
are as warm as in the others' bursts. That leaves out CFFI's entry into
Python and taking the GIL, so it is a lower bound.
C: cclient.c's worker exchange (input rings -> buffer -> output rings), timed
the same way as pyjack's calls.
memcpy: copying the same rows in and out with memcpy, in C.

Allocations: tracemalloc's peak during one call above what was traced before
it, less what the measuring itself costs: 0 means the call allocated nothing.
"""

from __future__ import annotations

import statistics
import sys
import time
import tracemalloc

from common import (CLIENTS, Row, bench_main, c_worker, clients_to_run, emit, jack_client_loopback,
                    private_server, pyjack_loopback, python_worker, run_worker, wait_until)

TITLE = "Per-call cost: 256 frames a call"
RATE, PERIOD, BLOCK = 48000, 256, 256
DEPTH = 65536
PAUSE = 0.3  # seconds of input to gather before a burst of calls
CHANNELS = (1, 8, 64)


def settings(quick: bool) -> dict:
    return {"calls": 100, "traced": 50} if quick else {"calls": 1000, "traced": 300}


def traced_bytes(call) -> int:
    """Peak bytes traced during call() above those traced before it."""
    before = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    call()
    return tracemalloc.get_traced_memory()[1] - before


def measuring_cost() -> int:
    """What traced_bytes() reports for a call that allocates nothing."""
    def nothing():
        pass
    return statistics.median(traced_bytes(nothing) for _ in range(50))


# -- worker side ------------------------------------------------------------

def worker_pyjack(o: dict) -> None:
    import numpy as np
    channels = o["channels"]
    client = pyjack_loopback(channels, DEPTH)
    emit("ready")
    first = np.zeros((channels, DEPTH // 2), np.float32)
    client.process(first, np.empty_like(first), timeout=10)
    a = np.zeros((channels, BLOCK), np.float32)
    b = np.zeros_like(a)

    def in_bursts(count: int, one_call) -> list:
        results = []
        while len(results) < count:
            time.sleep(PAUSE)
            # As many calls as there are blocks of input waiting: none waits,
            # and output stays half a ring ahead.
            waiting = (client.stats.frames_in - client.input_position) // BLOCK
            for _ in range(min(waiting, count - len(results))):
                results.append(one_call())
        return results

    def timed_call() -> int:
        start = time.perf_counter_ns()
        client.process(a, b)
        return time.perf_counter_ns() - start

    times = in_bursts(o["calls"], timed_call)
    tracemalloc.start()
    cost = measuring_cost()
    allocated = in_bursts(o["traced"], lambda: traced_bytes(lambda: client.process(a, b)))
    tracemalloc.stop()
    s = client.stats
    client.close()
    emit({"call": statistics.median(times) * 1e-9, "bytes": max(0, statistics.mean(allocated) - cost),
          "allocating_calls": sum(1 for x in allocated if x > cost), "lost": s.lost_in + s.lost_out})


def worker_jack_client(o: dict) -> None:
    client, pairs = jack_client_loopback(o["channels"])
    times, allocated = [], []
    tracing = [False]
    clock = time.perf_counter_ns

    def copy():
        for source, destination in pairs:
            destination.get_buffer()[:] = source.get_buffer()

    @client.set_process_callback
    def process(frames):
        if len(times) < o["calls"]:
            copy()  # warm up, as pyjack's and C's calls come in bursts
            start = clock()
            copy()
            times.append(clock() - start)
        elif tracing[0] and len(allocated) < o["traced"]:
            allocated.append(traced_bytes(copy))
        else:
            copy()

    client.activate()
    emit("ready")
    wait_until(lambda: len(times) >= o["calls"], 600, "the timed callbacks")
    tracemalloc.start()
    cost = measuring_cost()
    tracing[0] = True
    wait_until(lambda: len(allocated) >= o["traced"], 600, "the traced callbacks")
    tracemalloc.stop()
    client.deactivate()
    client.close()
    emit({"call": statistics.median(times) * 1e-9, "bytes": max(0, statistics.mean(allocated) - cost),
          "allocating_calls": sum(1 for x in allocated if x > cost), "lost": 0})


WORKERS = {"pyjack": worker_pyjack, "JACK-Client": worker_jack_client}


# -- driver side ------------------------------------------------------------

def measure(server, cclient, client: str, channels: int, s: dict) -> dict:
    if client == "C":
        command = c_worker(cclient, "calls", channels=channels, block=BLOCK, depth=DEPTH,
                           calls=s["calls"], pause=PAUSE)
    else:
        command = python_worker("bench_calls.py", client, channels=channels, **s)
    return run_worker(command, server.name, words=("ready",), timeout=600)


def run(cclient, quick: bool, jack_client: bool = True) -> list[Row]:
    s = settings(quick)
    rows = []
    with private_server(RATE, PERIOD) as server:
        for channels in CHANNELS:
            results = {c: measure(server, cclient, c, channels, s) for c in clients_to_run(jack_client)}
            memcpy = results["C"]["memcpy"]
            setting = f"{channels} ch"
            call = {c: 1e6 * results[c]["call"] if c in results else None for c in CLIENTS}
            beyond = {c: 1e6 * (results[c]["call"] - memcpy) if c in results else None for c in CLIENTS}
            allocated = {c: results[c]["bytes"] if c in results and c != "C" else None for c in CLIENTS}
            row = Row("Per-call cost", setting, "time per call (us)", call)
            row.notes.append(f"memcpy of the same bytes: {1e6 * memcpy:.3f} us; "
                             "JACK-Client: callback body only (a lower bound)")
            rows.append(row)
            rows.append(Row("Per-call cost", setting, "time beyond memcpy (us)", beyond))
            rows.append(Row("Per-call cost", setting, "bytes allocated per call (peak)", allocated,
                            target="pyjack 0", met=allocated["pyjack"] == 0))
            lost = sum(r["lost"] for r in results.values())
            if lost:
                row.notes.append(f"{lost} frames were lost while measuring (some calls waited)")
    return rows


def main() -> None:
    bench_main(__doc__, TITLE, run, WORKERS, quick_help="100 calls instead of 1000")


if __name__ == "__main__":
    sys.exit(main())
