"""Fixtures: a private JACK server (dummy backend) per session, fresh servers
for tests that kill theirs, and clients that are always closed."""

import os
import shutil
import subprocess

import pytest

import pyjack
from figures import record_run

RATE = 48000
PERIOD = 256


def pytest_addoption(parser):
    parser.addoption("--full", action="store_true", default=False,
                     help="also run the tests marked slow or soak (the full sizes, the soak, the "
                          "packaging build, the quick benchmarks); PYJACK_FULL_TESTS=1 does the same")


def full_run(config):
    return config.getoption("--full") or os.environ.get("PYJACK_FULL_TESTS") == "1"


def pytest_report_header(config):
    scope = "full suite" if full_run(config) else "fast suite (--full adds the slow and soak tests)"
    return [f"pyjack {pyjack.__version__}, jackd {shutil.which('jackd')}, "
            f"dummy backend {RATE} Hz / {PERIOD} frames; {scope}"]


def pytest_sessionstart(session):
    record_run()


def pytest_collection_modifyitems(config, items):
    """The fast suite leaves out what is marked slow or soak, unless --full."""
    if full_run(config):
        return
    keep, left_out = [], []
    for item in items:
        (left_out if item.get_closest_marker("slow") or item.get_closest_marker("soak")
         else keep).append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = keep


@pytest.fixture(scope="session")
def jack_server():
    """The session's private server; JACK_DEFAULT_SERVER names it."""
    if shutil.which("jackd") is None:
        pytest.fail("jackd is not installed (apt install jackd2)")
    with pyjack.Server(rate=RATE, period=PERIOD) as server:
        old = os.environ.get("JACK_DEFAULT_SERVER")
        os.environ["JACK_DEFAULT_SERVER"] = server.name
        os.environ["JACK_NO_START_SERVER"] = "1"
        try:
            yield server
        finally:
            if old is None:
                os.environ.pop("JACK_DEFAULT_SERVER", None)
            else:
                os.environ["JACK_DEFAULT_SERVER"] = old


@pytest.fixture
def make_client(jack_server):
    """make_client(name, **options) -> Client on the session server, closed after the test."""
    clients = []

    def make(name="test", *args, **kwargs):
        kwargs.setdefault("server", jack_server.name)
        client = pyjack.Client(name, *args, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def private_server():
    """A server of the test's own, for tests that stop, kill or reconfigure it."""
    with pyjack.Server(rate=RATE, period=PERIOD) as server:
        yield server


def run_tool(server_name, *command, timeout=10):
    """Run one of JACK's command-line tools against a server and return its stdout."""
    env = dict(os.environ, JACK_DEFAULT_SERVER=server_name, JACK_NO_START_SERVER="1")
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise AssertionError(f"{command} failed ({done.returncode}): {done.stderr}")
    return done.stdout
