"""Churn and scale: many open/close cycles, many clients, many ports, ports
registered and unregistered while streaming."""

import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import pyjack
from figures import report  # noqa: F401 (fixture)

from helpers import UNDER_ASAN, loopback_client, open_fds, ramp, rss_kib, thread_count
from ramp_link import LoopbackRamp, verify_ramp


@pytest.mark.parametrize("cycles", [100, pytest.param(500, marks=pytest.mark.slow)])
def test_open_close_cycles_with_the_same_name(jack_server, report, cycles):
    def cycle():
        client = pyjack.Client("churn", server=jack_server.name, use_exact_name=True)
        assert client.name == "churn"
        client.register_port("out", pyjack.IsOutput)
        client.activate()
        client.close()

    for _ in range(20):  # warm-up: libjack's lazily created state
        cycle()
    fds, tasks, rss = open_fds(), thread_count(), rss_kib()
    for _ in range(cycles - 20):
        cycle()
    figures = {"cycles": cycles, "fd_growth": open_fds() - fds, "thread_growth": thread_count() - tasks,
               "rss_growth_kib": rss_kib() - rss}
    report("open/close cycles", figures)
    assert figures["fd_growth"] == 0
    assert figures["thread_growth"] == 0
    assert figures["rss_growth_kib"] < 2048 or UNDER_ASAN
    with pyjack.Client("churn-check", server=jack_server.name, processing=False) as probe:
        assert probe.get_ports("^churn:") == []


def test_32_clients_streaming_in_one_process(jack_server, report):
    clients = [loopback_client(jack_server.name, f"many-{k}") for k in range(32)]
    streams = [LoopbackRamp(c) for c in clients]
    errors = []
    stop = threading.Event()

    def run(stream):
        try:
            while not stop.is_set():
                stream.step()
        except Exception as exc:
            errors.append(exc)

    workers = [threading.Thread(target=run, args=(s,)) for s in streams]
    try:
        for w in workers:
            w.start()
        time.sleep(3)
        stop.set()
        for w in workers:
            w.join(15)
        assert errors == []
        assert not any(w.is_alive() for w in workers)
        totals = {"clients": 32, "received": 0, "missing": 0, "repeated": 0, "xruns": 0}
        for s in streams:
            figures = s.check()
            assert figures["received"] > 48000, figures  # each heard over a second of ramp
            for key in ("received", "missing", "repeated"):
                totals[key] += figures[key]
            totals["xruns"] = max(totals["xruns"], figures["xruns"])
        report("32 clients for 3 s", totals)
    finally:
        stop.set()
        for c in clients:
            c.close()


def test_256_ports_on_one_client(jack_server, report):
    client = pyjack.Client("wide", server=jack_server.name)
    try:
        outs = [client.register_port(f"out_{i}", pyjack.IsOutput) for i in range(128)]
        ins = [client.register_port(f"in_{i}", pyjack.IsInput) for i in range(128)]
        assert len(client.get_ports("^wide:")) == 256
        client.activate()
        for o, i in zip(outs, ins):
            client.connect(o, i)
        # Port k carries the ramp plus k * 65536: every port distinct, all exact.
        offsets = (np.arange(128, dtype=np.float32) * 65536)[:, None]
        heard = []
        sent = 1
        frames = 2048
        while sent < 40000:
            out = ramp(sent, frames)[None, :] + offsets
            inp = np.empty((128, frames), np.float32)
            try:
                client.process(out, inp, timeout=10)
                sent += frames
            except (pyjack.InputSyncError, pyjack.OutputSyncError):
                pass  # counted; the input is filled, the output goes again
            heard.append(inp)
            frames = 256
        heard = np.concatenate(heard, axis=1)
        live = heard[0] != 0
        # Aligned sample for sample: the same frames are silent on every port.
        assert np.array_equal(heard != 0, np.broadcast_to(live, heard.shape))
        assert np.array_equal(heard[:, live] - offsets, np.broadcast_to(heard[0, live], (128, live.sum())))
        s = client.stats
        figures = verify_ramp(heard[0], sent, lost_in=s.lost_in, lost_out=s.lost_out,
                              xruns=s.xruns, period=s.buffer_size)
        report("256 ports", figures)
        for name in outs + ins:
            client.unregister_port(name)
        assert client.get_ports("^wide:") == []
    finally:
        client.close()


@pytest.mark.parametrize("count", [200, pytest.param(1000, marks=pytest.mark.slow)])
def test_register_and_unregister_while_streaming(jack_server, report, count):
    client = loopback_client(jack_server.name, "regchurn")
    stream = LoopbackRamp(client)
    errors = []
    stop = threading.Event()

    def run():
        try:
            while not stop.is_set():
                stream.step()
        except Exception as exc:
            errors.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    started = time.monotonic()
    try:
        for k in range(count):
            flags = pyjack.IsInput if k % 2 else pyjack.IsOutput
            name = client.register_port(f"extra_{k}", flags)
            if k % 4 == 0:  # an extra output mixed into our input: it plays silence
                client.connect(name, "regchurn:in")
            client.unregister_port(name)
            if errors:
                break
        time.sleep(0.2)
        stop.set()
        worker.join(15)
        assert errors == [] and not worker.is_alive(), errors
        figures = stream.check()
        figures.update(seconds=round(time.monotonic() - started, 1), process_retries=stream.retries)
        report(f"{count} port registrations while streaming", figures)
        assert figures["received"] > count * 24  # at least half a millisecond a registration
        assert client.inports == ["regchurn:in"] and client.outports == ["regchurn:out"]
    finally:
        stop.set()
        worker.join(15)
        client.close()


PORT_ID_REUSE = """
import sys, threading
import pyjack

server = sys.argv[1]
client = pyjack.Client("reuse", server=server)
out = client.register_port("out", pyjack.IsOutput)
inp = client.register_port("in", pyjack.IsInput)
client.activate()
client.connect(out, inp)
# Another client keeps the server busy with graph changes, which delays the
# switch to each new graph and widens the window.
busy = pyjack.Client("reuse-busy", server=server)
a = busy.register_port("a", pyjack.IsOutput)
b = busy.register_port("b", pyjack.IsInput)
busy.activate()
stop = threading.Event()

def churn():
    while not stop.is_set():
        busy.connect(a, b)
        busy.disconnect(a, b)

worker = threading.Thread(target=churn)
worker.start()
try:
    for k in range(200):
        extra = client.register_port("extra_out", pyjack.IsOutput)
        client.connect(extra, inp)
        client.unregister_port(extra)
        # JACK2 hands the freed port id to the next port registered.
        again = client.register_port("extra_in", pyjack.IsInput)
        client.unregister_port(again)
finally:
    stop.set()
    worker.join()
busy.close()
client.close()
print("ok")
"""


def test_unregistering_a_connected_port_leaves_no_stale_connection(jack_server):
    # Regression: JACK2 gives a port's id back at once but drops its
    # connections only from the next cycle on; a port registered in between
    # inherited them, and the process thread mixed wrong buffers or recursed
    # without end in jack_port_get_buffer() (a crash). pyjack now disconnects
    # and lets the graph settle before unregistering a port of an active
    # client, connected or not: on a loaded machine jack_port_connected()
    # can miss a connection made a moment ago (it reads the running cycle's
    # graph), and the test of 1,000 registrations crashed in CI that way.
    # The window is narrow: this crashed about one run in three under
    # .ci/asan before the first fix, and rarely in a plain build.
    done = subprocess.run([sys.executable, "-c", PORT_ID_REUSE, jack_server.name],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", (done.returncode,
                                                                   done.stderr[-2000:])
