"""Helpers shared by the tests: the ramp test signal, clients that play or
loop it, and readings of this process's resources."""

import os
import threading
import time

import numpy as np
import pytest

import pyjack
from pyjack import _state

# float32 holds every integer up to 2**24 exactly: more than five minutes at 48 kHz.
RAMP_LIMIT = 1 << 24

# AddressSanitizer holds freed memory in quarantine: resident size means
# nothing under it (.ci/asan), the other checks still hold.
UNDER_ASAN = "libasan" in os.environ.get("LD_PRELOAD", "")


def ramp(start, count):
    """float32 values start, start + 1, ...: exact below RAMP_LIMIT."""
    assert start + count < RAMP_LIMIT, "ramp ran past exact float32 integers"
    return np.arange(start, start + count, dtype=np.float64).astype(np.float32)


def consecutive_runs(values):
    """Split a 1-D array of ramp values into runs of consecutive integers."""
    breaks = np.nonzero(np.diff(values) != 1)[0] + 1
    return np.split(values, breaks)


def wait_for_port(client, name, timeout=5.0):
    """Wait until client sees another client's port: PipeWire shows a new
    port a moment after it was registered (feature ports_appear_at_once);
    jackd at once."""
    deadline = time.monotonic() + timeout
    while name not in client.get_ports():
        assert time.monotonic() < deadline, f"port {name!r} did not appear within {timeout} s"
        time.sleep(0.01)


def wire_loopback(client):
    """Give client an "out" port connected to its own "in" port, active."""
    out = client.register_port("out", pyjack.IsOutput)
    inp = client.register_port("in", pyjack.IsInput)
    client.activate()
    client.connect(out, inp)
    return client


def loopback_client(server_name, name, **options):
    """A new active client whose "out" port is connected to its own "in" port."""
    return wire_loopback(pyjack.Client(name, server=server_name, **options))


def rss_kib():
    """This process's resident memory in KiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/self/status")


def open_fds():
    return len(os.listdir("/proc/self/fd"))


def thread_count():
    return len(os.listdir("/proc/self/task"))


class RampProducer:
    """An output-only client on its own thread that plays 1, 2, 3, ... without a gap."""

    def __init__(self, name, server, block=256, depth=65536):
        self.client = pyjack.Client(name, server=server, depth=depth)
        self.port = self.client.register_port("out", pyjack.IsOutput)
        self.block = block
        self.errors = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.client.activate()
        self._thread.start()
        return self

    def _run(self):
        buf = np.empty((1, self.block), np.float32)
        value = 1
        while not self._stop.is_set():
            buf[0] = ramp(value, self.block)
            try:
                self.client.process(buf, np.empty((0, 0), np.float32), timeout=5)
            except pyjack.OutputSyncError as exc:  # would break the ramp: record it
                self.errors.append(exc)
                continue
            except pyjack.Error as exc:
                self.errors.append(exc)
                return
            value += self.block

    def stop(self):
        self._stop.set()
        self._thread.join(10)
        self.client.close()


# Autouse fixtures of the modules that call rec(), play(), playrec() or
# render(); a module imports them to use them.

@pytest.fixture(scope="module", autouse=True)
def default_clients(jack_server):
    """The default clients live on the session server; close them before it stops."""
    yield
    pyjack.stop()
    _state.close_play_clients()


@pytest.fixture(autouse=True)
def no_call_left():
    """No background call outlives its test."""
    yield
    pyjack.stop()
    try:
        pyjack.wait(30)
    except Exception:
        pass
