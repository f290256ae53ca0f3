"""Question 6, offline rendering: how fast does render() run a graph in freewheel?

The server runs at 256 frames; the graph is 16 jack_thru clients (32
channels), in 5 rounds of a pyjack run then a C run (figures: medians; the
ratios of each round as a note, to show the spread of a shared machine).
pyjack: pyjack.render() of 60 s of 32-channel noise through them,
timed from the switch to freewheel until the server has left it again (both
switches included; render()'s Status.realtime_factor), and the whole call
(ports, links, line-up and latency measurement too). The result must be
bit-exact and nothing lost. C: cclient.c's ring client copying 32 channels
through the same jack_thru clients, in freewheel switched by jack_freewheel,
timed in a window while freewheeling (no switch). JACK-Client has no column:
it has no lossless path through a graph in freewheel.

Figures: the real-time factor (seconds of audio per second of wall time) and
its ratio to C; for pyjack also that of the whole call.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from common import (BenchError, Row, Worker, bench_main, c_worker, emit, private_server,
                    python_worker, run_in_freewheel)

TITLE = "Offline rendering: render() through 16 jack_thru clients (32 channels) at 256 frames"
RATE, PERIOD, CHANNELS = 48000, 256, 32
DEPTH, BLOCK, LEAD = 16384, 2048, 4096  # the C client's, as in bench_freewheel


def settings(quick: bool) -> dict:
    return {"seconds": 5, "c_seconds": 1.0, "rounds": 1} if quick else \
        {"seconds": 60, "c_seconds": 3.0, "rounds": 5}


def thru_ports(channels: int) -> tuple:
    count = channels // 2
    inputs = [f"thru{i}:input_{k}" for i in range(count) for k in (1, 2)]
    outputs = [f"thru{i}:output_{k}" for i in range(count) for k in (1, 2)]
    return inputs, outputs


# -- worker side ------------------------------------------------------------

def worker_pyjack(o: dict) -> None:
    import numpy as np
    import pyjack
    inputs, outputs = thru_ports(CHANNELS)
    frames = int(o["seconds"] * RATE)
    x = np.random.default_rng(1).uniform(-0.5, 0.5, (frames, CHANNELS)).astype(np.float32)
    emit("ready")
    emit("start")
    start = time.perf_counter()
    y = pyjack.render(x, outputs=inputs, inputs=outputs, progress=False)
    wall = time.perf_counter() - start
    status = pyjack.get_status()
    emit({"frames": frames, "wall": wall, "realtime_factor": status.realtime_factor,
          "lost": status.lost_in + status.lost_out, "exact": bool(np.array_equal(y, x))})


WORKERS = {"pyjack": worker_pyjack}


# -- driver side ------------------------------------------------------------

def start_graph(server_name: str, channels: int) -> list:
    """jack_thru clients for the channels, their inputs disconnected from the system's."""
    import pyjack
    env = dict(os.environ, JACK_DEFAULT_SERVER=server_name, JACK_NO_START_SERVER="1")
    processes = [subprocess.Popen(["jack_thru", f"thru{i}"], env=env, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for i in range(channels // 2)]
    inputs, outputs = thru_ports(channels)
    with pyjack.Client("bench-wiring", server=server_name, processing=False) as probe:
        deadline = time.monotonic() + 20
        while not set(inputs + outputs) <= set(probe.get_ports()):
            if time.monotonic() > deadline:
                raise BenchError("the jack_thru clients did not register their ports")
            time.sleep(0.05)
        for port in inputs:
            for source in probe.get_connections(port):
                probe.disconnect(source, port)
    return processes


def wire_c_client(server_name: str, channels: int) -> None:
    import pyjack
    inputs, outputs = thru_ports(channels)
    with pyjack.Client("bench-wiring", server=server_name, processing=False) as probe:
        for i in range(channels):
            probe.connect(f"cclient:out_{i + 1}", inputs[i])
            probe.connect(outputs[i], f"cclient:in_{i + 1}")


def measure_c(server, cclient, s: dict) -> dict:
    command = c_worker(cclient, "copy", channels=CHANNELS, block=BLOCK, lead=LEAD, depth=DEPTH,
                       seconds=s["c_seconds"], freewheel=1)
    return run_in_freewheel(command, server.name, lambda: wire_c_client(server.name, CHANNELS))


def measure_pyjack(server, s: dict) -> dict:
    worker = Worker(python_worker("bench_render.py", "pyjack", seconds=s["seconds"]), server.name)
    try:
        worker.expect("ready")
        worker.expect("start")
        result = worker.result()
        worker.finish()
    finally:
        worker.stop()
    result["rate"] = result["realtime_factor"] * RATE
    result["call_rate"] = result["frames"] / result["wall"]
    return result


def run(cclient, quick: bool, jack_client: bool = True) -> list[Row]:
    s = settings(quick)
    py, c = [], []
    with private_server(RATE, PERIOD) as server:
        graph = start_graph(server.name, CHANNELS)
        try:
            for _ in range(s["rounds"]):
                py.append(measure_pyjack(server, s))
                c.append(measure_c(server, cclient, s))
        finally:
            for process in graph:
                process.terminate()
            for process in graph:
                process.wait(10)
    setting = f"{CHANNELS} ch, {s['seconds']} s, {s['rounds']} round(s)"
    rate = {"pyjack": statistics.median(r["rate"] for r in py), "JACK-Client": None,
            "C": statistics.median(r["rate"] for r in c)}
    factor = {name: (value / RATE if value is not None else None) for name, value in rate.items()}
    row = Row("Offline rendering", setting, "real-time factor", factor, better="higher",
              target="pyjack >= 0.9 x C")
    row.met = row.ratio("pyjack") is not None and row.ratio("pyjack") >= 0.9
    row.notes.append("pyjack: render()'s Status.realtime_factor, from set_freewheel(True) until "
                     "the server has left freewheel (both switches included); C: a window while "
                     "freewheeling; medians of the rounds")
    row.notes.append("pyjack/C round by round (each pyjack run and the C run right after it): "
                     + ", ".join(f"{p['rate'] / q['rate']:.2f}" for p, q in zip(py, c)))
    call = {"pyjack": statistics.median(r["call_rate"] for r in py) / RATE, "JACK-Client": None,
            "C": None}
    rows = [row, Row("Offline rendering", setting, "real-time factor, whole call", call,
                     better="higher", notes=["the whole render() call: ports, 64 links made in "
                                             "real time, line-up and latency measurement too"])]
    lost = {"pyjack": sum(r["lost"] for r in py), "JACK-Client": None,
            "C": sum(r["lost"] for r in c)}
    exact = all(r["exact"] for r in py)
    rows.append(Row("Offline rendering", setting, "frames lost", lost, target="0, bit-exact",
                    met=lost["pyjack"] == 0 and exact))
    if not exact:
        rows[-1].notes.append("render() was NOT bit-exact")
    return rows


def main() -> None:
    bench_main(__doc__, TITLE, run, WORKERS, quick_help="5 s of audio, one round, instead of 60 s x 5")


if __name__ == "__main__":
    sys.exit(main())
