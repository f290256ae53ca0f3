"""Streaming workload run under the rtprobe LD_PRELOAD library (see test_rtsafe.py).

usage: python rtprobe_workload.py PROBE_SO SERVER MODE SECONDS

MODE "pyjack": a pyjack client streams through a loopback while a second
client keeps changing the graph (ports registered, connected, disconnected,
unregistered), so both the process and the notification callbacks run.
MODE "pyjack-midi": MIDI out of one pyjack client into another (see
midi_workload()).
MODE "pyjack-time": the same with the timebase, sync and latency callbacks
at work (see time_work()).
MODE "python-callback": a client whose process callback is a Python
function called through ctypes, as bindings that run Python on JACK's
thread do; the probe must see it allocate and lock.

Prints one JSON object: the probe's report, the main thread's id and
counters from the armed interval.
"""

import ctypes
import json
import os
import subprocess
import sys
import threading
import time

import numpy as np

import pyjack

PERIOD_FRAMES = 256


def parse_report(probe):
    buf = ctypes.create_string_buffer(1 << 16)
    n = probe.rtprobe_report(buf, len(buf))
    threads, counts = {}, []
    for line in buf.raw[:n].decode().splitlines():
        words = line.split()
        if words[0] == "thread":
            fields = dict(w.split("=") for w in words[2:])
            threads[int(words[1])] = {"roles": fields["roles"].split(","),
                                      "process": int(fields["process"]),
                                      "notify": int(fields["notify"])}
        else:
            counts.append({"tid": int(words[1]), "function": words[2],
                           "in_callback": int(words[3]), "on_thread": int(words[4])})
    return threads, counts


def pyjack_workload(server, seconds, probe, server_events=False, switch_freewheel=False,
                    extra=None):
    env = dict(os.environ, JACK_DEFAULT_SERVER=server, JACK_NO_START_SERVER="1")
    if server.startswith("/"):
        env["PIPEWIRE_REMOTE"] = server  # PipeWire's libjack ignores JACK_DEFAULT_SERVER
    env.pop("LD_PRELOAD", None)

    def tool(command):
        subprocess.run(command, env=env, check=True, capture_output=True, timeout=10)

    client = pyjack.Client("rtsafe", server=server, depth=8192)
    outs = [client.register_port(f"out_{i}", pyjack.IsOutput) for i in range(2)]
    ins = [client.register_port(f"in_{i}", pyjack.IsInput) for i in range(2)]
    client.activate()
    for o, i in zip(outs, ins):
        client.connect(o, i)
    peer = pyjack.Client("rtsafe-peer", server=server, processing=False)
    peer.activate()  # JACK connects ports of active clients only

    stop = threading.Event()
    errors = []
    slowest = ["", 0.0]

    switches = [0]

    def stream():
        out = np.zeros((2, PERIOD_FRAMES), np.float32)
        inp = np.zeros((2, PERIOD_FRAMES), np.float32)
        try:
            k = 0
            while not stop.is_set():
                try:
                    client.process(out, inp, timeout=5)
                except (pyjack.InputSyncError, pyjack.OutputSyncError):
                    pass  # freewheeling outruns us; losses are counted, not our subject
                k += 1
                if switch_freewheel:
                    # set_freewheel() from the streaming thread, which keeps
                    # streaming while the server leaves.
                    if k % 200 == 100 and not client.freewheeling:
                        client.set_freewheel(True)
                        switches[0] += 1
                    elif k % 200 == 150:
                        client.set_freewheel(False)
                        switches[0] += 1
            while client.freewheeling:
                client.process(out, inp, timeout=5)
        except Exception as exc:  # reported, fails the test
            errors.append(repr(exc))

    def churn_graph():
        # Every step fires notifications on both clients' notification threads.
        try:
            k = 0
            while not stop.is_set() and switch_freewheel:
                # JACK2 saves the connections when freewheel starts and restores
                # them when it ends: a peer that changes the graph across the
                # many switches of this mode was shut down by the server.
                time.sleep(0.01)
            while not stop.is_set():
                if server_events and k % 20 == 10:
                    tool(["jack_bufsize", str(128 if k % 40 == 10 else PERIOD_FRAMES)])
                    tool(["jack_freewheel", "y"])
                    time.sleep(0.05)
                    tool(["jack_freewheel", "n"])
                for step, call in (("register", lambda: peer.register_port(f"tap_{k}", pyjack.IsInput)),
                                   ("connect", lambda: peer.connect(outs[k % 2], f"rtsafe-peer:tap_{k}")),
                                   ("disconnect", lambda: peer.disconnect(outs[k % 2], f"rtsafe-peer:tap_{k}")),
                                   ("unregister", lambda: peer.unregister_port(f"tap_{k}"))):
                    started = time.monotonic()
                    call()
                    took = time.monotonic() - started
                    if took > slowest[1]:
                        slowest[:] = [step, took]
                k += 1
                time.sleep(0.01)
        except Exception as exc:
            errors.append(repr(exc))

    workers = [threading.Thread(target=stream), threading.Thread(target=churn_graph)]
    if extra is not None:  # more work on the client, in a thread of its own
        workers.append(threading.Thread(target=extra, args=(client, stop, errors)))
    for w in workers:
        w.start()
    python_threads = [threading.get_native_id()] + [w.native_id for w in workers]
    time.sleep(1.0)  # warm-up: first cycles, first notifications, lazy lookups
    before, time_before = client.stats, client.time_stats
    probe.rtprobe_arm(1)
    time.sleep(seconds)
    probe.rtprobe_arm(0)
    after, time_after = client.stats, client.time_stats
    stop.set()
    for w in workers:
        w.join(10)
    peer.close()
    client.close()
    return {"errors": errors, "python_threads": python_threads, "slowest_graph_call": slowest,
            "freewheel_switches": switches[0],
            "cycles": after.cycles - before.cycles,
            "lost_in": after.lost_in - before.lost_in, "lost_out": after.lost_out - before.lost_out,
            "time": {k: getattr(time_after, k) - getattr(time_before, k) for k in time_after._fields}}


def python_callback_workload(server, seconds, probe):
    # A process callback written in Python, registered through the probe's
    # wrapper (ctypes.CDLL(None) finds the preloaded symbols first).
    jack = ctypes.CDLL(None)
    jack.jack_client_open.restype = ctypes.c_void_p
    jack.jack_client_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p]
    callback_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_uint32, ctypes.c_void_p)
    jack.jack_set_process_callback.argtypes = [ctypes.c_void_p, callback_type, ctypes.c_void_p]
    for f in ("jack_activate", "jack_deactivate", "jack_client_close"):
        getattr(jack, f).argtypes = [ctypes.c_void_p]
    seen = []

    @callback_type
    def process(nframes, arg):
        seen.append(np.zeros(nframes, np.float32).sum())  # allocates, as Python does
        return 0

    status = ctypes.c_int(0)
    jack_server_name = 0x04  # JackServerName
    jack_no_start_server = 0x01
    handle = jack.jack_client_open(b"rtsafe-python", jack_server_name | jack_no_start_server,
                                   ctypes.byref(status), server.encode())
    if not handle:
        raise SystemExit(f"jack_client_open failed, status 0x{status.value:x}")
    jack.jack_set_process_callback(handle, process, None)
    jack.jack_activate(handle)
    time.sleep(0.5)
    count_before = len(seen)
    probe.rtprobe_arm(1)
    time.sleep(seconds)
    probe.rtprobe_arm(0)
    cycles = len(seen) - count_before
    jack.jack_deactivate(handle)
    jack.jack_client_close(handle)
    return {"errors": [], "python_threads": [threading.get_native_id()], "cycles": cycles,
            "lost_in": 0, "lost_out": 0}


# -- MIDI -------------------------------------------------------------------------


def midi_workload(server, seconds, probe):
    """MODE "pyjack-midi": one client sends MIDI (timed events, as-soon-as-
    possible events, sysex, some already late) from a Python thread to a
    second client whose Python thread reads them, through both clients'
    process callbacks and record rings."""
    tx = pyjack.Client("rtsafe-midi-tx", server=server)
    rx = pyjack.Client("rtsafe-midi-rx", server=server)
    out = tx.register_port("out", pyjack.IsOutput, type="midi")
    late = tx.register_port("late", pyjack.IsOutput, type="midi")
    inp = rx.register_port("in", pyjack.IsInput, type="midi")
    tx.activate()
    rx.activate()
    tx.connect(out, inp)
    tx.connect(late, inp)
    stop = threading.Event()
    errors = []
    received = [0]

    def send():
        k = 0
        last = tx.frame_time
        try:
            while not stop.is_set():
                now = tx.frame_time
                # Time order per port: each round after the previous one.
                base = max(now + 1024, last + 1)
                tx.send_midi_events(out, [(base + i * 7, [0x90, i, 100]) for i in range(8)])
                last = base + 60
                tx.send_midi(out, [0xF0] + [k % 128] * 200 + [0xF7], time=last)
                tx.send_midi(late, [0xB0, 1, k % 128], time=now - 64)  # late on purpose
                tx.send_midi(out, [0xF8])  # as soon as possible
                k += 1
                time.sleep(0.002)
        except Exception as exc:
            errors.append(repr(exc))

    def read():
        rows = np.zeros(256, pyjack.midi_dtype)
        try:
            while not stop.is_set():
                try:
                    received[0] += rx.read_midi_into(rows, timeout=0.1)
                except ValueError:  # the sysex: longer than the data field
                    received[0] += rx.read_midi(timeout=0) is not None
        except Exception as exc:
            errors.append(repr(exc))

    workers = [threading.Thread(target=send), threading.Thread(target=read)]
    for w in workers:
        w.start()
    python_threads = [threading.get_native_id()] + [w.native_id for w in workers]
    time.sleep(1.0)
    before_tx, before_rx = tx.stats, rx.stats
    probe.rtprobe_arm(1)
    time.sleep(seconds)
    probe.rtprobe_arm(0)
    after_tx, after_rx = tx.stats, rx.stats
    stop.set()
    for w in workers:
        w.join(10)
    tx.close()
    rx.close()
    return {"errors": errors, "python_threads": python_threads,
            "cycles": after_rx.cycles - before_rx.cycles,
            "midi_out": after_tx.midi_out - before_tx.midi_out,
            "midi_in": after_rx.midi_in - before_rx.midi_in,
            "midi_late": after_tx.midi_late - before_tx.midi_late,
            "midi_dropped": (after_rx.midi_dropped_in - before_rx.midi_dropped_in
                             + after_tx.midi_dropped_out - before_tx.midi_dropped_out),
            "received": received[0], "lost_in": 0, "lost_out": 0}


def time_work(client, stop, errors):
    """The timebase, sync, latency and property-change callbacks at work: a
    tempo map that keeps changing, a transport that keeps being moved (each
    move a sync request, answered in turn or by the timeout), latencies
    recomputed, a property changed."""
    try:
        client.set_timebase(120.0)
        client.set_slow_sync(True, timeout=0.05)
        client.set_latency_range("out_0", pyjack.CAPTURE, 64, 128)
        client.transport_start()
        k = 0
        while not stop.is_set():
            client.change_tempo(100.0 + k % 50, at_frame=client.transport_position().frame + 4800,
                                beats_per_bar=3 + k % 2)
            client.transport_locate(48000 * (k % 10))
            request = client.wait_sync(timeout=0.2)
            if request is not None and k % 3:
                client.sync_ready(request)
            else:
                time.sleep(0.1)  # every third request runs into the timeout
            client.set_latency_range("in_0", pyjack.PLAYBACK, k % 100)
            client.set_property("rtsafe:out_1", pyjack.METADATA_ORDER, str(k))  # an event
            k += 1
            time.sleep(0.02)
        client.set_slow_sync(False)
        client.release_timebase()
        client.transport_stop()  # the session's server is shared: leave it as found
        client.transport_locate(0)
    except Exception as exc:
        errors.append(repr(exc))


def main():
    probe_path, server, mode, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    probe = ctypes.CDLL(probe_path)  # already loaded by LD_PRELOAD: the same copy
    probe.rtprobe_report.argtypes = [ctypes.c_char_p, ctypes.c_int]
    if mode == "pyjack":
        result = pyjack_workload(server, seconds, probe)
    elif mode == "pyjack-server-events":
        result = pyjack_workload(server, seconds, probe, server_events=True)
    elif mode == "pyjack-set-freewheel":
        result = pyjack_workload(server, seconds, probe, switch_freewheel=True)
    elif mode == "pyjack-time":
        result = pyjack_workload(server, seconds, probe, extra=time_work)
    elif mode == "python-callback":
        result = python_callback_workload(server, seconds, probe)
    elif mode == "pyjack-midi":
        result = midi_workload(server, seconds, probe)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    threads, counts = parse_report(probe)
    result.update(threads={str(k): v for k, v in threads.items()}, counts=counts)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
