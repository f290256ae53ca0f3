"""Fixtures: a private JACK server per session, fresh servers for tests that
kill theirs, and clients that are always closed.

The kind of server (pyjack.KINDS: jackd, pipewire, netjack2) comes from
--server-kind or $PYJACK_TEST_SERVER; default jackd. For pipewire the test
process needs PipeWire's libjack: conftest runs pytest again with PipeWire's
library directory first on LD_LIBRARY_PATH, as pw-jack does.

A test that needs a feature some servers lack says so with
@pytest.mark.needs("feature", ...) (names: pyjack.FEATURES); it is skipped,
naming the feature, when the session server's pyjack.server_info() lacks it.
"""

import os
import shutil
import subprocess
import sys

import pytest

import pyjack
from figures import record_run
from pyjack._info import libjack_is_pipewire, pipewire_library_dir

RATE = 48000
PERIOD = 256


def pytest_addoption(parser):
    parser.addoption("--server-kind", choices=pyjack.KINDS,
                     default=os.environ.get("PYJACK_TEST_SERVER", "jackd"),
                     help="the kind of JACK server the fixtures start (default: "
                          "$PYJACK_TEST_SERVER or jackd)")
    parser.addoption("--full", action="store_true", default=False,
                     help="also run the tests marked slow or soak (the full sizes, the soak, the "
                          "packaging build, the quick benchmarks); PYJACK_FULL_TESTS=1 does the same")


def pytest_configure(config):
    kind = config.getoption("--server-kind")
    if kind == "pipewire" and not libjack_is_pipewire():
        library = pipewire_library_dir()
        if library is None:
            raise pytest.UsageError("--server-kind pipewire needs PipeWire's JACK: apt install "
                                    "pipewire pipewire-bin pipewire-jack")
        # Only one libjack per process: run pytest again with PipeWire's.
        capture = config.pluginmanager.getplugin("capturemanager")
        if capture is not None:
            capture.stop_global_capturing()
        env = dict(os.environ, PYJACK_TEST_SERVER="pipewire", LD_LIBRARY_PATH=":".join(
            [library] + [p for p in os.environ.get("LD_LIBRARY_PATH", "").split(":") if p]))
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(sys.executable, sys.orig_argv, env)
    if kind != "pipewire" and libjack_is_pipewire():
        raise pytest.UsageError(f"--server-kind {kind} needs JACK2's libjack, but this process "
                                "runs PipeWire's (LD_LIBRARY_PATH or pw-jack)")


def full_run(config):
    return config.getoption("--full") or os.environ.get("PYJACK_FULL_TESTS") == "1"


def pytest_report_header(config):
    scope = "full suite" if full_run(config) else "fast suite (--full adds the slow and soak tests)"
    kind = config.getoption("--server-kind")
    return [f"pyjack {pyjack.__version__}, libjack {pyjack.get_version_string()}, "
            f"{kind} server {RATE} Hz / {PERIOD} frames; {scope}"]


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
def server_kind(pytestconfig):
    return pytestconfig.getoption("--server-kind")


@pytest.fixture(scope="session")
def jack_server(server_kind):
    """The session's private server; JACK_DEFAULT_SERVER names it (pyjack
    passes it to PipeWire's libjack too, which would ignore it; PIPEWIRE_REMOTE
    is not set, because it would override every server= of the process)."""
    if server_kind != "pipewire" and shutil.which("jackd") is None:
        pytest.fail("jackd is not installed (apt install jackd2)")
    with pyjack.Server(kind=server_kind, rate=RATE, period=PERIOD) as server:
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


@pytest.fixture(scope="session")
def server_features(jack_server):
    """pyjack.server_info() of the session server."""
    return pyjack.server_info(jack_server.name)


@pytest.fixture(autouse=True)
def _skip_without_needed_features(request):
    marker = request.node.get_closest_marker("needs")
    if marker is None:
        return
    info = request.getfixturevalue("server_features")
    missing = [feature for feature in marker.args if not info.has(feature)]
    if missing:
        pytest.skip(f"{info.implementation} {info.version} ({info.backend}) lacks "
                    + ", ".join(f"{name} ({pyjack.FEATURES[name]})" for name in missing))


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
def private_server(server_kind):
    """A server of the test's own, for tests that stop, kill or reconfigure it."""
    with pyjack.Server(kind=server_kind, rate=RATE, period=PERIOD) as server:
        yield server


def tool_env(server_name):
    """The environment for a JACK program (a tool, jack_thru, ...) on a server."""
    env = dict(os.environ, JACK_DEFAULT_SERVER=server_name, JACK_NO_START_SERVER="1")
    if server_name.startswith("/"):
        env["PIPEWIRE_REMOTE"] = server_name  # PipeWire's libjack ignores JACK_DEFAULT_SERVER
    return env


def run_tool(server_name, *command, timeout=10):
    """Run one of JACK's command-line tools against a server and return its stdout."""
    env = tool_env(server_name)
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise AssertionError(f"{command} failed ({done.returncode}): {done.stderr}")
    return done.stdout
