"""Faults while streaming: the server dies or stops, the buffer size changes,
freewheel toggles, another client rewires our ports."""

import random
import threading
import time

import numpy as np
import pytest

import pyjack
from conftest import PERIOD, RATE, run_tool
from figures import report  # noqa: F401 (fixture)
from ramp_link import RampLink


def start_loopback(server_name, name):
    client = pyjack.Client(name, server=server_name)
    out = client.register_port("out", pyjack.IsOutput)
    inp = client.register_port("in", pyjack.IsInput)
    client.activate()
    client.connect(out, inp)
    return client


class Worker(threading.Thread):
    """Calls fn() in a loop until it raises; records the exception and when."""

    def __init__(self, fn):
        super().__init__(daemon=True)
        self.fn = fn
        self.error = None
        self.failed_at = None
        self.calls = 0
        self.running = threading.Event()

    def run(self):
        try:
            while True:
                self.fn()
                self.calls += 1
                self.running.set()
        except BaseException as exc:
            self.failed_at = time.monotonic()
            self.error = exc
            self.running.set()


def streamer(client):
    """One process() exchange; losses on a busy machine are not failures here."""
    out = np.zeros((1, 4 * PERIOD), np.float32)
    inp = np.zeros((1, 4 * PERIOD), np.float32)

    def exchange():
        try:
            client.process(out, inp, timeout=30)
        except (pyjack.InputSyncError, pyjack.OutputSyncError):
            pass

    return exchange


@pytest.mark.parametrize("how", ["kill", "stop"])
def test_server_going_away_mid_stream_ends_every_call_within_2_s(how, report):
    server = pyjack.Server(rate=RATE, period=PERIOD).start()
    clients = []
    try:
        clients = [start_loopback(server.name, f"fault-{k}") for k in range(3)]
        other = clients[0]
        workers = [Worker(streamer(c)) for c in clients]
        # Calls that talk to the server rather than wait on the rings.
        workers += [Worker(lambda: other.get_ports()),
                    Worker(lambda: other.connect("fault-1:out", "fault-2:in"))]
        for w in workers:
            w.start()
        for w in workers:
            assert w.running.wait(10) and w.error is None, w.error
        time.sleep(0.3)
        gone_at = time.monotonic()
        if how == "kill":
            server.kill()
        else:
            server.stop()
        for w in workers:
            w.join(max(0.0, 2.0 - (time.monotonic() - gone_at)) + 0.05)
            assert not w.is_alive(), "a call was still blocked 2 s after the server went away"
            assert w.failed_at - gone_at < 2.0
        report(f"server {how}", {"calls": len(workers),
                                 "slowest_ms": round(1000 * max(w.failed_at - gone_at for w in workers), 1)})
        for w in workers[:3]:
            assert isinstance(w.error, pyjack.NotConnectedError), repr(w.error)
        # A request in flight when the socket closes may fail before the
        # shutdown notice arrives: it raises pyjack.Error; the next call
        # raises NotConnectedError.
        for w in workers[3:]:
            assert isinstance(w.error, pyjack.Error), repr(w.error)
        for c in clients:
            assert c.stats.shutdown
            with pytest.raises(pyjack.NotConnectedError):
                c.activate()
            with pytest.raises(pyjack.NotConnectedError):
                c.get_ports()
            started = time.monotonic()
            c.close()
            assert time.monotonic() - started < 2.0
    except BaseException:
        for c in clients:
            c.close()
        if how == "kill" and not server.running:
            # A killed jackd leaves its slot in JACK's server table, which
            # only a server of the same name takes back: do that anyway.
            pyjack.Server(name=server.name, rate=RATE, period=PERIOD).start().stop()
        raise
    finally:
        server.stop()

    # A new server with the same name (which also takes back the killed
    # one's slot in JACK's server table), and a new client streaming on it.
    with pyjack.Server(name=server.name, rate=RATE, period=PERIOD):
        client = start_loopback(server.name, "fault-again")
        try:
            run = streamer(client)
            for _ in range(5):
                run()
            assert client.stats.frames_in >= 20 * PERIOD and not client.stats.shutdown
        finally:
            client.close()


def xruns(link):
    return max(link.source.stats.xruns, link.sink.stats.xruns)


def test_buffer_size_changes_keep_the_ramp_bit_exact(private_server, report):
    # Periods under 64 frames are left out: a server without real-time
    # priority on a busy machine xruns at most cycles below 1 ms.
    link = RampLink(private_server.name)
    sizes = [64, 128, 256, 512, 1024, 2048]
    rng = random.Random(6)
    allowance = 0  # frames the server's reported xruns may have dropped
    try:
        link.step(100)
        allowance += xruns(link) * PERIOD
        current = PERIOD
        for _ in range(20):
            previous, current = current, rng.choice([s for s in sizes if s != current])
            before = xruns(link)
            run_tool(private_server.name, "jack_bufsize", str(current))
            deadline = time.monotonic() + 5
            while link.sink.blocksize != current and time.monotonic() < deadline:
                link.step()
            assert link.sink.blocksize == current
            link.step(2 * current // link.chunk + 20)
            assert link.sink.stats.buffer_size == current
            allowance += (xruns(link) - before) * max(previous, current)
        before = xruns(link)
        link.step(50)
        allowance += (xruns(link) - before) * current
        figures = link.check(allowance)
        assert figures["received"] > 20 * 20 * link.chunk
        report("buffer size changes", figures)
    finally:
        link.close()


def test_freewheel_on_and_off_while_streaming(private_server, report):
    link = RampLink(private_server.name)

    def freewheel(onoff):
        # While freewheeling the server waits for our process() loop, so the
        # loop must keep going while jack_freewheel talks to the server.
        failures = []

        def run():
            try:
                run_tool(private_server.name, "jack_freewheel", onoff)
            except BaseException as exc:
                failures.append(exc)

        tool = threading.Thread(target=run)
        tool.start()
        while tool.is_alive():
            link.step()
        tool.join()
        assert not failures, failures

    try:
        link.step(50)
        for _ in range(3):
            freewheel("y")
            deadline = time.monotonic() + 5
            while not link.sink.stats.freewheel and time.monotonic() < deadline:
                link.step()
            assert link.sink.stats.freewheel
            link.step(20)
            freewheel("n")
            deadline = time.monotonic() + 5
            while link.sink.stats.freewheel and time.monotonic() < deadline:
                link.step()
            assert not link.sink.stats.freewheel
            link.step(50)
        # Back to normal: a clean stretch of what arrives from now on. What
        # is still in the sink's ring may hold gaps counted while freewheeling.
        before = link.sink.stats.lost_in, link.source.stats.lost_out
        backlog = link.sink.stats.frames_in - link.sink.input_position
        link.step(200)
        figures = link.check()
        if (link.sink.stats.lost_in, link.source.stats.lost_out) == before and xruns(link) == 0:
            tail = np.concatenate(link.received[-200:])[backlog:].astype(np.float64)
            steps = np.diff(tail)
            breaks = [(int(i), int(tail[i]), int(steps[i])) for i in np.flatnonzero(steps != 1)]
            assert breaks == [], (f"clean stretch broken at (index, value, step) {breaks[:10]}; "
                                  f"source {link.source.stats}, sink {link.sink.stats}")
        assert figures["received"] > 200 * link.chunk
        report("freewheel on/off x3", figures)
    finally:
        link.close()


@pytest.mark.parametrize("seconds", [3, pytest.param(10, marks=pytest.mark.slow)])
def test_another_client_rewiring_our_ports(jack_server, report, seconds):
    link = RampLink(jack_server.name, "rewired")
    other = pyjack.Client("rewirer", server=jack_server.name)
    tap = other.register_port("tap", pyjack.IsInput)
    silence = other.register_port("silence", pyjack.IsOutput)  # plays zeros: mixing keeps the ramp
    other.activate()
    stop = threading.Event()
    rounds = []
    errors = []

    def rewire():
        try:
            while not stop.is_set():
                other.connect(link.out_port, tap)
                other.connect(silence, link.in_port)
                other.disconnect(link.out_port, tap)
                other.disconnect(silence, link.in_port)
                rounds.append(1)
        except Exception as exc:
            errors.append(exc)

    worker = threading.Thread(target=rewire)
    try:
        worker.start()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and worker.is_alive():
            link.step(10)
        stop.set()
        worker.join(10)
        assert errors == [] and not worker.is_alive(), errors
        assert len(rounds) > 5 * seconds
        link.step(20)
        figures = link.check()
        assert figures["received"] > (seconds - 1) * RATE
        assert link.sink.get_connections(link.in_port) == [link.out_port]
        report(f"rewired for {seconds} s", dict(figures, rewiring_rounds=len(rounds)))
    finally:
        stop.set()
        worker.join(10)
        other.close()
        link.close()
