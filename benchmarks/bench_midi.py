"""MIDI scheduled from Python: do the events leave on their frame?

A sender process schedules note events from a Python thread at exact JACK
frame times, a fixed lead ahead (16384 frames, 341 ms: more than two of the
GIL holds below back to back); a separate receiver
process (pyjack, not loaded) records the frame time of every event that
arrives. Two settings:

- one event every 1 ms for 10 s while the sender's main thread holds the GIL
  in chunks of 50-100 ms (bench_gil's load);
- 10,000 events a second for 5 s, no load.

pyjack: send_midi_events() stamps the events with their frame time; the
engine's process thread writes them at their offsets.
JACK-Client: its process callback takes the events from a queue.Queue filled
by the Python thread and writes those due in the cycle at their offsets (late
ones at offset 0), the pattern its users are pointed to.
C: cclient.c's midi mode, the same without Python: a sender thread puts each
event into a ring once due, the process callback writes those of the cycle
at their offsets (late ones at offset 0); under load its main thread spins.

Figures: events that arrived on their scheduled frame, late ones and by how
much, lost ones.
"""

from __future__ import annotations

import sys
import threading
import time

from bench_gil import hold_gil, sum_per_ms
from common import (CLIENTS, Row, Worker, bench_main, c_worker, emit, private_server,
                    python_worker)

TITLE = "MIDI scheduled from Python: events on their frame, late, lost"
RATE, PERIOD = 48000, 256
LEAD = 16384
RECEIVER = "midi-bench-recv"
SETTINGS = {  # name -> (events per second, seconds, GIL load)
    "1 ms, GIL load": (1000, 10.0, True),
    "10,000/s": (10000, 5.0, False),
}


def settings(quick: bool) -> dict:
    return {"scale": 0.2 if quick else 1.0, "warmup": 1.0}


def schedule(t0: int, rate: int, count: int) -> list[int]:
    """The frame time of each event."""
    return [(t0 + (k * RATE) // rate) % (1 << 32) for k in range(count)]


def note(k: int) -> list[int]:
    """Event k as a note on whose channel and data bytes carry k (18 bits)."""
    return [0x90 | ((k >> 14) & 0x0F), k & 0x7F, (k >> 7) & 0x7F]


def due(frame_time: int, target: int) -> bool:
    """frame_time has reached target - LEAD (frame times wrap)."""
    return (frame_time - (target - LEAD)) % (1 << 32) < (1 << 31)


# -- worker side ------------------------------------------------------------

def worker_receiver(o: dict) -> None:
    import numpy as np
    import pyjack
    client = pyjack.Client(RECEIVER)
    client.register_port("in", pyjack.IsInput, type="midi")
    client.activate()
    rows = np.zeros(1 << 20, pyjack.midi_dtype)
    n = 0
    stop = threading.Event()

    def read() -> None:
        nonlocal n
        while not stop.is_set():
            n += client.read_midi_into(rows[n:], timeout=0.05)

    thread = threading.Thread(target=read)
    thread.start()
    emit("ready")
    sys.stdin.readline()  # the driver says when the sender is done
    time.sleep(0.3)
    stop.set()
    thread.join(10)
    n += client.read_midi_into(rows[n:], timeout=0)
    dropped = client.stats.midi_dropped_in
    client.close()
    data = rows["data"][:n].astype(int)
    ks = (data[:, 1] | (data[:, 2] << 7) | ((data[:, 0] & 0x0F) << 14)).tolist()
    emit({"times": rows["time"][:n].tolist(), "ks": ks, "dropped": dropped})


def _sender(o: dict, send_batch, frame_time) -> None:
    rate, seconds, load = SETTINGS[o["setting"].replace("_", " ")]
    seconds *= o["scale"]
    count = int(rate * seconds)
    per_ms = sum_per_ms() if load else 0.0
    emit("ready")
    time.sleep(o["warmup"])
    t0 = (frame_time() + LEAD) % (1 << 32)
    times = schedule(t0, rate, count)
    failures = []

    def feed() -> None:
        k = 0
        try:
            while k < count:
                now = frame_time()
                end = k
                while end < count and due(now, times[end]):
                    end += 1
                if end > k:
                    send_batch(times[k:end], k)
                    k = end
                time.sleep(0.001)
        except BaseException as error:
            failures.append(error)

    thread = threading.Thread(target=feed)
    thread.start()
    emit("start")
    if load:
        hold_gil(seconds, per_ms)
    thread.join(seconds + 30)
    time.sleep(2 * LEAD / RATE)  # the last events leave
    if failures:
        raise failures[0]
    emit({"t0": t0, "count": count, "rate": rate})


def worker_pyjack(o: dict) -> None:
    import pyjack
    client = pyjack.Client("pyjack-bench")
    out = client.register_port("out", pyjack.IsOutput, type="midi")
    client.activate()
    client.connect(out, f"{RECEIVER}:in")

    def send_batch(times, first):
        client.send_midi_events(out, [(t, note(first + i)) for i, t in enumerate(times)],
                                timeout=10)

    _sender(o, send_batch, lambda: client.frame_time)
    client.close()


def worker_jack_client(o: dict) -> None:
    import queue

    import jack
    client = jack.Client("jackclient-bench")
    out = client.midi_outports.register("out")
    events: queue.Queue = queue.Queue()
    pending = [None]

    @client.set_process_callback
    def process(frames):
        out.clear_buffer()
        start = client.last_frame_time
        last = 0
        while True:
            if pending[0] is None:
                try:
                    pending[0] = events.get_nowait()
                except queue.Empty:
                    break
            t, data = pending[0]
            offset = (t - start) % (1 << 32)
            if offset >= (1 << 31):
                offset = 0  # late: at once
            if offset >= frames:
                break
            last = max(last, offset)
            out.write_midi_event(last, data)
            pending[0] = None

    client.activate()
    client.connect(out, f"{RECEIVER}:in")

    def send_batch(times, first):
        for i, t in enumerate(times):
            events.put((t, bytes(note(first + i))))

    _sender(o, send_batch, lambda: client.frame_time)
    client.deactivate()
    client.close()


WORKERS = {"pyjack": worker_pyjack, "JACK-Client": worker_jack_client, "receiver": worker_receiver}


# -- driver side ------------------------------------------------------------

def sender_command(cclient, client: str, setting: str, s: dict) -> list[str]:
    if client != "C":
        return python_worker("bench_midi.py", client, setting=setting.replace(" ", "_"), **s)
    rate, seconds, load = SETTINGS[setting]
    return c_worker(cclient, "midi", rate=rate, seconds=seconds * s["scale"], lead=LEAD,
                    warmup=s["warmup"], spin=int(load), to=f"{RECEIVER}:in")


def measure(server, command: list[str], s: dict) -> dict:
    receiver = Worker(python_worker("bench_midi.py", "receiver", **s), server.name, stdin=True)
    sender = None
    try:
        receiver.expect("ready")
        sender = Worker(command, server.name)
        sender.expect("ready")
        sender.expect("start")
        sent = sender.result(timeout=120)
        sender.finish()
        receiver.send("done")
        got = receiver.result()
        receiver.finish()
    finally:
        receiver.stop()
        if sender:
            sender.stop()
    times = schedule(sent["t0"], sent["rate"], sent["count"])
    seen = {}
    for t, k in zip(got["times"], got["ks"]):
        seen.setdefault(k, t)
    on_frame = late = 0
    late_by = []
    for k, target in enumerate(times):
        t = seen.get(k)
        if t is None:
            continue
        off = (t - target) % (1 << 32)
        if off == 0:
            on_frame += 1
        elif off < (1 << 31):
            late += 1
            late_by.append(off)
    return {"count": sent["count"], "on_frame": on_frame, "late": late,
            "late_max": max(late_by) if late_by else 0,
            "late_mean": sum(late_by) / len(late_by) if late_by else 0,
            "lost": sent["count"] - sum(1 for k in range(len(times)) if k in seen),
            "dropped": got["dropped"]}


def run(cclient, quick: bool, jack_client: bool = True) -> list[Row]:
    s = settings(quick)
    rows = []
    clients = [c for c in CLIENTS if c != "JACK-Client" or jack_client]
    with private_server(RATE, PERIOD) as server:
        for setting, (rate, seconds, load) in SETTINGS.items():
            results = {c: measure(server, sender_command(cclient, c, setting, s), s)
                       for c in clients}
            label = f"{setting}, {seconds * s['scale']:g} s"

            def values(key):
                return {c: results[c][key] if c in results else None for c in CLIENTS}

            count = results["pyjack"]["count"]
            rows += [
                Row("MIDI", label, f"events on their frame (of {count})", values("on_frame"),
                    better="higher", target=f"pyjack {count}",
                    met=results["pyjack"]["on_frame"] == count),
                Row("MIDI", label, "events late", values("late"), target="pyjack 0",
                    met=results["pyjack"]["late"] == 0),
                Row("MIDI", label, "late by, max (frames)", values("late_max")),
                Row("MIDI", label, "late by, mean (frames)", values("late_mean")),
                Row("MIDI", label, "events lost", values("lost"), target="pyjack 0",
                    met=results["pyjack"]["lost"] == 0,
                    notes=[f"events are scheduled {LEAD} frames ahead; lost: not arrived "
                           f"{2 * LEAD / RATE:.2f} s after the last one was due"]),
            ]
    return rows


def main() -> None:
    bench_main(__doc__, TITLE, run, WORKERS, quick_help="a fifth of the durations")


if __name__ == "__main__":
    sys.exit(main())
