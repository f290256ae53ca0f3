"""server_info(), server_running() and the feature map, on whatever kind of
server the session runs (PYJACK_TEST_SERVER)."""

import dataclasses
import os
import time

import numpy as np
import pytest

import pyjack
from pyjack._info import pipewire_library_dir
from pyjack._server import _jackd_environment


def test_server_info_names_the_implementation_of_each_kind(jack_server, server_kind):
    info = pyjack.server_info(jack_server.name)
    expected = {"jackd": ("JACK2", "dummy"), "pipewire": ("PipeWire", "pipewire"),
                "netjack2": ("JACK2", "net")}[server_kind]
    assert (info.implementation, info.backend) == expected
    assert info.version[0].isdigit() and info.version in info.library
    assert (info.rate, info.period) == (jack_server.rate, jack_server.period)
    assert set(info.features) == set(pyjack.FEATURES)
    assert info.has("physical_ports")  # the test servers all have system ports
    assert info.missing == [name for name in pyjack.FEATURES if not info.features[name]]
    assert info.implementation in repr(info) and all(name in repr(info) for name in info.missing)
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.rate = 44100
    with pytest.raises(TypeError):
        info.features["self_loopback"] = True
    with pytest.raises(ValueError, match="unknown feature 'teleport'"):
        info.has("teleport")


def test_server_running_asks_libjack(jack_server):
    assert pyjack.server_running(jack_server.name)
    assert not pyjack.server_running(f"pyjack-absent-{os.getpid()}")


def test_the_self_loopback_feature_is_what_the_server_does(make_client, server_features):
    """The map's word is checked against the server: a client's own out -> in."""
    client = make_client("selfloop")
    out = client.register_port("out", pyjack.IsOutput)
    inp = client.register_port("in", pyjack.IsInput)
    client.activate()
    client.connect(out, inp)
    period = client.blocksize
    tone = np.full((1, 40 * period), 0.5, np.float32)
    heard = np.zeros_like(tone)
    for start in range(0, tone.shape[1], period):
        try:
            client.process(tone[:, start:start + period], heard[:, start:start + period],
                           timeout=5)
        except (pyjack.InputSyncError, pyjack.OutputSyncError):
            pass
    assert bool(np.any(heard == 0.5)) == server_features.has("self_loopback")


def test_a_jackd_child_never_loads_pipewires_libjack(monkeypatch):
    library = pipewire_library_dir()
    if library is None:
        pytest.skip("PipeWire's JACK is not installed")
    monkeypatch.setenv("LD_LIBRARY_PATH", f"{library}:/opt/other/lib")
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "someone-else")
    env = _jackd_environment()
    assert env["LD_LIBRARY_PATH"] == "/opt/other/lib"
    assert "JACK_DEFAULT_SERVER" not in env


def test_a_server_kind_must_be_known():
    with pytest.raises(ValueError, match="kind must be one of jackd, pipewire, netjack2"):
        pyjack.Server(kind="alsa")


def test_stop_leaves_nothing_running(server_kind):
    server = pyjack.Server(kind=server_kind).start()
    processes = [server.process, *server._helpers]
    name = server.name
    server.stop()
    assert all(p.poll() is not None for p in processes)
    deadline = time.monotonic() + 5
    while pyjack.server_running(name) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pyjack.server_running(name)
    if server_kind == "pipewire":
        assert not os.path.exists(os.path.dirname(name))  # its runtime directory is gone
