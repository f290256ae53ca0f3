"""Threads: one thread in process() while others use the same client."""

import os
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import pyjack
from figures import report  # noqa: F401 (fixture)
from ramp_link import LoopbackRamp


class Loop(threading.Thread):
    """Runs body() until stop is set; keeps the first exception."""

    def __init__(self, body, stop):
        super().__init__(daemon=True)
        self.body, self.stop, self.error, self.rounds = body, stop, None, 0

    def run(self):
        try:
            while not self.stop.is_set():
                self.body()
                self.rounds += 1
        except BaseException as exc:
            self.error = exc


def run_loops(bodies, seconds):
    stop = threading.Event()
    loops = [Loop(b, stop) for b in bodies]
    for loop in loops:
        loop.start()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not any(loop.error for loop in loops):
        time.sleep(0.05)
    stop.set()
    for loop in loops:
        loop.join(10)
    assert not any(loop.is_alive() for loop in loops), "a thread hung"
    errors = [loop.error for loop in loops if loop.error is not None]
    assert errors == [], errors
    return [loop.rounds for loop in loops]


@pytest.mark.needs("self_loopback")
def test_process_while_others_list_connect_and_read_counters(jack_server, report):
    client = pyjack.Client("threads", server=jack_server.name)
    try:
        out = client.register_port("out", pyjack.IsOutput)
        inp = client.register_port("in", pyjack.IsInput)
        client.activate()
        client.connect(out, inp)
        other = pyjack.Client("threads-peer", server=jack_server.name)
        peer_in = other.register_port("in", pyjack.IsInput)
        other.activate()
        stream = LoopbackRamp(client)

        def list_ports():
            assert out in client.get_ports("^threads:")
            assert client.get_connections(out)
            assert client.get_port_flags(inp) & pyjack.IsInput
            assert client.inports == [inp] and client.outports == [out]

        def connect():
            client.connect(out, peer_in)  # our output also to the peer: ours stays exact
            client.disconnect(out, peer_in)

        def read_counters():
            s = client.stats
            assert s.depth == client.depth and not s.shutdown
            assert client.input_position >= 0 and client.output_position >= 0
            client.frame_time_of(client.input_position)
            assert client.frame_time >= 0 and client.blocksize > 0 and client.samplerate > 0
            assert client.active and not client.closed

        rounds = run_loops([stream.step, list_ports, connect, read_counters], 3)
        figures = stream.check()
        figures.update(zip(["process_calls", "list_rounds", "connect_rounds", "counter_rounds"],
                           rounds))
        report("process() with three other threads", figures)
        assert min(rounds) > 10
        other.close()
    finally:
        client.close()


def test_process_in_two_threads_at_once_is_refused(make_client):
    client = make_client("twice")
    client.register_port("in", pyjack.IsInput)
    client.activate()
    entered = threading.Event()
    errors = []

    def long_call():
        entered.set()
        try:
            client.process(np.empty((0, 48000), np.float32), np.empty((1, 48000), np.float32),
                           timeout=10)
        except pyjack.Error as exc:
            errors.append(exc)

    worker = threading.Thread(target=long_call)
    worker.start()
    entered.wait(5)
    time.sleep(0.1)  # well inside the one-second call
    with pytest.raises(pyjack.UsageError, match="already running"):
        client.process(np.empty((0, 16), np.float32), np.empty((1, 16), np.float32))
    worker.join(15)
    assert errors == [] and not worker.is_alive()


def test_two_threads_connecting_and_disconnecting_one_client(make_client):
    # Regression: libjack sends the requests of two threads over one socket
    # and hands each thread the other's reply (or hangs); pyjack serialises
    # them. Also: disconnect() of a connection the other thread had just
    # removed raised Error, as the graph it checks lags the server's.
    client = make_client("requests")
    out = client.register_port("out", pyjack.IsOutput)
    inp = client.register_port("in", pyjack.IsInput)
    client.activate()
    rounds = run_loops([lambda: client.connect(out, inp), lambda: client.disconnect(out, inp),
                        lambda: client.get_connections(out)], 2)
    assert min(rounds) > 10


CLOSE_RACE = textwrap.dedent("""
    import sys, threading, time
    import numpy as np
    import pyjack

    server = sys.argv[1]
    for trial in range(30):
        client = pyjack.Client("closing", server=server)
        out = client.register_port("out", pyjack.IsOutput)
        inp = client.register_port("in", pyjack.IsInput)
        client.activate()
        client.connect(out, inp)
        ended = []

        def use(tag):
            try:
                while True:
                    client.get_ports()
                    client.get_connections(out)
                    client.connect(out, inp)
                    client.register_port(tag, pyjack.IsOutput)
                    client.unregister_port(tag)
                    client.frame_time, client.blocksize, client.inports
            except pyjack.NotConnectedError as exc:
                ended.append(time.monotonic())

        def stream():
            a = np.zeros((1, 256), np.float32)
            b = np.zeros((1, 256), np.float32)
            try:
                while True:
                    try:
                        client.process(a, b, timeout=10)
                    except (pyjack.InputSyncError, pyjack.OutputSyncError, ValueError):
                        pass
            except pyjack.NotConnectedError:
                ended.append(time.monotonic())

        workers = [threading.Thread(target=use, args=("x",)),
                   threading.Thread(target=use, args=("y",)), threading.Thread(target=stream)]
        for w in workers:
            w.start()
        time.sleep(0.05)
        closed_at = time.monotonic()
        client.close()
        for w in workers:
            w.join(5)
        assert not any(w.is_alive() for w in workers), "a call hung after close()"
        assert len(ended) == 3 and max(ended) - closed_at < 2, ended
    print("ok")
""")


def test_close_while_other_threads_use_the_client(jack_server):
    # Regression: close() freed the JACK client under calls made by other
    # threads with the GIL released, and the process crashed. A subprocess,
    # so that a crash is a failure here rather than the end of the run.
    env = dict(os.environ, JACK_NO_START_SERVER="1")
    done = subprocess.run([sys.executable, "-c", CLOSE_RACE, jack_server.name], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", (done.returncode, done.stderr[-3000:])
