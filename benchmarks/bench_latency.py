"""Question 6, latency determinism: is the round trip the same every time?

Each client's output is connected to its own input (256 frames / 48 kHz). It
sends an impulse at a random frame, finds it in its input, and counts the
frames in between; again and again, one impulse in flight at a time.

pyjack: process() with 256-frame blocks, output 1024 frames ahead; latency in
stream positions (output_position of the impulse to input_position where it
came back), which is what a program sees through process(). Also converted
to JACK frame times with frame_time_of().
JACK-Client: impulse and detection in its process callback; latency in JACK
frame times (last_frame_time plus the offset in the buffer).
C: cclient.c's ring client, measured like pyjack (stream positions).

Figures: the smallest latency and the spread (largest minus smallest).
"""

from __future__ import annotations

import random
import sys

from common import (CLIENT_NAMES, CLIENTS, Row, bench_main, c_worker, clients_to_run, emit,
                    private_server, python_worker, run_worker, wait_until)

TITLE = "Latency determinism: round trips through a loopback at 256 frames"
RATE, PERIOD, BLOCK, LEAD = 48000, 256, 256, 1024
GIVE_UP = RATE  # frames after which an impulse counts as lost


def settings(quick: bool) -> dict:
    return {"trips": 10 if quick else 50}


# -- worker side ------------------------------------------------------------

def worker_pyjack(o: dict) -> None:
    import numpy as np
    import pyjack
    client = pyjack.Client(CLIENT_NAMES["pyjack"])
    out = client.register_port("out_1", pyjack.IsOutput)
    inp = client.register_port("in_1", pyjack.IsInput)
    client.activate()
    client.connect(out, inp)
    emit("ready")
    first = np.zeros((1, LEAD), np.float32)
    client.process(first, np.empty_like(first), timeout=10)
    rng = random.Random(1)
    sending = np.zeros((1, BLOCK), np.float32)
    received = np.zeros((1, BLOCK), np.float32)
    latencies, jack_latencies, lost_trips = [], [], 0
    sent_at = None
    while len(latencies) < o["trips"]:
        sending[:] = 0
        out_pos, in_pos = client.output_position, client.input_position
        if sent_at is None and rng.random() < 0.25:
            offset = rng.randrange(BLOCK)
            sending[0, offset] = 1.0
            sent_at = out_pos + offset
        client.process(sending, received, timeout=10)  # a loss raises: the run fails
        if sent_at is None:
            continue
        hits = np.flatnonzero(received[0] > 0.5)
        if hits.size:
            came = in_pos + int(hits[0])
            latencies.append(came - sent_at)
            jack_latencies.append((client.frame_time_of(came, pyjack.IsInput)
                                   - client.frame_time_of(sent_at, pyjack.IsOutput)) % (1 << 32))
            sent_at = None
        elif in_pos - sent_at > GIVE_UP:
            lost_trips += 1
            sent_at = None
    client.close()
    emit({"min": min(latencies), "max": max(latencies), "lost_trips": lost_trips,
          "jack_min": min(jack_latencies), "jack_max": max(jack_latencies)})


def worker_jack_client(o: dict) -> None:
    import jack
    import numpy as np
    client = jack.Client(CLIENT_NAMES["JACK-Client"], no_start_server=True)
    out = client.outports.register("out_1")
    inp = client.inports.register("in_1")
    rng = random.Random(1)
    latencies = []
    state = {"sent_at": None, "lost": 0}

    @client.set_process_callback
    def process(frames):
        now = client.last_frame_time
        sent_at = state["sent_at"]
        if sent_at is not None:
            hits = np.flatnonzero(inp.get_array() > 0.5)
            if hits.size:
                latencies.append((now + int(hits[0]) - sent_at) % (1 << 32))
                state["sent_at"] = sent_at = None
            elif (now - sent_at) % (1 << 32) > GIVE_UP:
                state["lost"] += 1
                state["sent_at"] = sent_at = None
        sending = out.get_array()
        sending.fill(0)
        if sent_at is None and len(latencies) < o["trips"] and rng.random() < 0.25:
            offset = rng.randrange(frames)
            sending[offset] = 1.0
            state["sent_at"] = now + offset

    client.activate()
    client.connect(out, inp)
    emit("ready")
    wait_until(lambda: len(latencies) >= o["trips"], 600, "the round trips")
    client.deactivate()
    client.close()
    emit({"min": min(latencies), "max": max(latencies), "lost_trips": state["lost"]})


WORKERS = {"pyjack": worker_pyjack, "JACK-Client": worker_jack_client}


# -- driver side ------------------------------------------------------------

def measure(server, cclient, client: str, s: dict) -> dict:
    if client == "C":
        command = c_worker(cclient, "latency", block=BLOCK, lead=LEAD, trips=s["trips"])
    else:
        command = python_worker("bench_latency.py", client, **s)
    return run_worker(command, server.name, words=("ready",), timeout=600)


def run(cclient, quick: bool, jack_client: bool = True) -> list[Row]:
    s = settings(quick)
    with private_server(RATE, PERIOD) as server:
        results = {c: measure(server, cclient, c, s) for c in clients_to_run(jack_client)}
    setting = f"{s['trips']} round trips"

    def values(f):
        return {c: f(results[c]) if c in results else None for c in CLIENTS}

    spread = values(lambda r: r["max"] - r["min"])
    rows = [
        Row("Latency determinism", setting, "latency (frames)", values(lambda r: r["min"])),
        Row("Latency determinism", setting, "latency spread (frames)", spread, target="0",
            met=spread["pyjack"] == 0),
        Row("Latency determinism", setting, "impulses lost", values(lambda r: r["lost_trips"]),
            target="0", met=results["pyjack"]["lost_trips"] == 0),
    ]
    pj = results["pyjack"]
    rows[0].notes.append(f"pyjack and C: stream frames, including the {LEAD}-frame output lead; "
                         f"pyjack in JACK frame times: {pj['jack_min']} to {pj['jack_max']}")
    return rows


def main() -> None:
    bench_main(__doc__, TITLE, run, WORKERS, quick_help="10 round trips instead of 50")


if __name__ == "__main__":
    sys.exit(main())
