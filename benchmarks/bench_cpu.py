"""Question 4, real-time CPU cost: what does copying audio in real time cost?

The server runs at 64 frames / 48 kHz (750 cycles a second). Each client
copies 2 or 32 inputs to as many outputs.

pyjack: process() in a loop with 64-frame blocks (one period), output 1024
frames ahead.
JACK-Client: its process callback copies port buffers.
C: cclient.c's ring client with the same blocks.

Figure: CPU seconds (user + system, every thread of the client's process)
per second of audio.
"""

from __future__ import annotations

import resource
import sys
import time

from common import (CLIENTS, Row, bench_main, c_worker, clients_to_run, emit, jack_client_copier,
                    private_server, pyjack_loopback, python_worker, run_worker)

TITLE = "Real-time CPU cost: copy at 64 frames, 48 kHz"
RATE, PERIOD = 48000, 64
DEPTH, BLOCK, LEAD = 16384, 64, 1024
CHANNELS = (2, 32)


def settings(quick: bool) -> dict:
    return {"seconds": 2.0 if quick else 10.0, "warmup": 1.0}


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # every thread of the process
    return usage.ru_utime + usage.ru_stime


# -- worker side ------------------------------------------------------------

def worker_pyjack(o: dict) -> None:
    import numpy as np
    import pyjack
    channels = o["channels"]
    client = pyjack_loopback(channels, DEPTH, LEAD)
    a = np.zeros((channels, BLOCK), np.float32)
    b = np.zeros_like(a)

    def stream(seconds: float) -> None:
        nonlocal a, b
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            try:
                client.process(a, b, timeout=10)
            except (pyjack.InputSyncError, pyjack.OutputSyncError):
                pass  # counted by the engine; reported with the figures
            a, b = b, a

    emit("ready")
    stream(o["warmup"])
    emit("start")
    s0, f0, cpu0, t0 = client.stats, client.frame_time, cpu_seconds(), time.perf_counter()
    stream(o["seconds"])
    s1, f1, cpu1, t1 = client.stats, client.frame_time, cpu_seconds(), time.perf_counter()
    client.close()
    emit({"cpu": cpu1 - cpu0, "wall": t1 - t0, "server_frames": (f1 - f0) % (1 << 32),
          "lost": (s1.lost_in - s0.lost_in) + (s1.lost_out - s0.lost_out)})


def worker_jack_client(o: dict) -> None:
    client, served = jack_client_copier(o["channels"])
    client.activate()
    emit("ready")
    time.sleep(o["warmup"])
    emit("start")
    c0, f0, cpu0, t0 = served[0], client.frame_time, cpu_seconds(), time.perf_counter()
    time.sleep(o["seconds"])
    c1, f1, cpu1, t1 = served[0], client.frame_time, cpu_seconds(), time.perf_counter()
    client.deactivate()
    client.close()
    server_frames = (f1 - f0) % (1 << 32)
    emit({"cpu": cpu1 - cpu0, "wall": t1 - t0, "server_frames": server_frames,
          "lost": max(0, server_frames // PERIOD - (c1 - c0)) * PERIOD})


WORKERS = {"pyjack": worker_pyjack, "JACK-Client": worker_jack_client}


# -- driver side ------------------------------------------------------------

def measure(server, cclient, client: str, channels: int, s: dict) -> dict:
    if client == "C":
        command = c_worker(cclient, "copy", channels=channels, block=BLOCK, lead=LEAD, depth=DEPTH,
                           seconds=s["seconds"], warmup=s["warmup"])
    else:
        command = python_worker("bench_cpu.py", client, channels=channels, **s)
    result = run_worker(command, server.name)
    result["per_audio_second"] = result["cpu"] / (result["server_frames"] / RATE)
    return result


def run(cclient, quick: bool, jack_client: bool = True) -> list[Row]:
    s = settings(quick)
    rows = []
    with private_server(RATE, PERIOD) as server:
        for channels in CHANNELS:
            results = {c: measure(server, cclient, c, channels, s) for c in clients_to_run(jack_client)}
            setting = f"{channels} ch, {s['seconds']:g} s"
            cost = {c: results[c]["per_audio_second"] if c in results else None for c in CLIENTS}
            row = Row("Real-time CPU cost", setting, "CPU s per s of audio", cost)
            if channels == 32:
                row.target = "pyjack <= 0.5 x JACK-Client"
                if cost["pyjack"] is not None and cost["JACK-Client"]:
                    row.met = cost["pyjack"] <= 0.5 * cost["JACK-Client"]
                    row.notes.append(f"pyjack / JACK-Client = {cost['pyjack'] / cost['JACK-Client']:.3f}")
            rows.append(row)
            lost = {c: results[c]["lost"] if c in results else None for c in CLIENTS}
            rows.append(Row("Real-time CPU cost", setting, "frames lost", lost))
    return rows


def main() -> None:
    bench_main(__doc__, TITLE, run, WORKERS, quick_help="2 s per client instead of 10")


if __name__ == "__main__":
    sys.exit(main())
