"""Freewheel: JACK runs cycles as fast as it can and waits for every client,
so the engine waits for Python instead of dropping frames. A ramp streamed
through a loopback comes back bit-exact, with Python pausing far longer than
the ring could cover in real time."""

import os
import shutil
import subprocess
import time

import numpy as np
import pytest

import pyjack

BLOCK = 512
DEPTH = 4096          # 85 ms at 48 kHz: every pause below would overflow it in real time
PAUSE = 0.25          # seconds Python sleeps every few blocks
RAMP_BLOCKS = 120


def freewheel(server, on):
    """Start jack_freewheel without waiting for it: while it connects, our
    client must keep calling process() or a freewheel cycle would wait."""
    env = dict(os.environ, JACK_DEFAULT_SERVER=server.name, JACK_NO_START_SERVER="1")
    return subprocess.Popen(["jack_freewheel", "y" if on else "n"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def freewheel_loopback(server):
    client = pyjack.Client("freewheel", server=server.name, depth=DEPTH)
    out = client.register_port("out", pyjack.IsOutput)
    inp = client.register_port("in", pyjack.IsInput)
    client.activate()
    client.connect(out, inp)
    return client


def stream_until_freewheeling(server, client):
    """Switch freewheel on, streaming silence until the client sees it (losses
    before that are real-time ones and do not count); returns the buffers."""
    silence = np.zeros((1, BLOCK), np.float32)
    inp = np.empty((1, BLOCK), np.float32)
    tool = freewheel(server, True)
    deadline = time.monotonic() + 20
    while not client.stats.freewheel:
        assert time.monotonic() < deadline, "the server never started freewheeling"
        try:
            client.process(silence, inp, timeout=10)
        except (pyjack.InputSyncError, pyjack.OutputSyncError):
            pass
    tool.wait(20)
    return silence, inp


def ramp(start, frames):
    # Exact in float32 up to 2**24; 0 stays free to mean silence.
    return (np.arange(start, start + frames) % (1 << 24) + 1).astype(np.float32).reshape(1, -1)


@pytest.fixture
def jack_freewheel():
    if shutil.which("jack_freewheel") is None:
        pytest.skip("jack_freewheel is not installed (part of jackd2's tools)")


def test_freewheel_ramp_is_bit_exact_and_lossless(private_server, jack_freewheel):
    client = freewheel_loopback(private_server)
    try:
        client.process(np.zeros((1, 2 * BLOCK), np.float32), np.empty((1, 2 * BLOCK), np.float32),
                       timeout=10)
        silence, inp = stream_until_freewheeling(private_server, client)
        before = client.stats
        received = []
        for i in range(RAMP_BLOCKS):
            client.process(ramp(i * BLOCK, BLOCK), inp, timeout=20)
            received.append(inp[0].copy())
            if i % 20 == 5:
                time.sleep(PAUSE)
        for _ in range(4):  # what is still on its way back
            client.process(silence, inp, timeout=20)
            received.append(inp[0].copy())
        after = client.stats
        assert after.freewheel, "freewheel ended during the test"
        assert after.cycles - before.cycles > RAMP_BLOCKS * BLOCK // 256
        assert (after.lost_in, after.lost_out) == (before.lost_in, before.lost_out)

        got = np.concatenate(received)
        first = int(np.flatnonzero(got)[0])
        sent = ramp(0, RAMP_BLOCKS * BLOCK)[0]
        assert np.array_equal(got[first:first + sent.size], sent)
        assert not got[:first].any()
    finally:
        client.close()
        freewheel(private_server, False).wait(20)


def test_deactivate_while_a_freewheel_cycle_waits_for_python(private_server, jack_freewheel):
    client = freewheel_loopback(private_server)
    try:
        stream_until_freewheeling(private_server, client)
        time.sleep(0.3)  # Python stops: the process thread now waits for it
        cycles = client.stats.cycles
        time.sleep(0.3)
        assert client.stats.cycles - cycles <= 1, "the engine did not wait for Python"
        start = time.monotonic()
        client.deactivate()
        # Far under the 5 s after which a wait gives up by itself.
        assert time.monotonic() - start < 4
    finally:
        client.close()
        freewheel(private_server, False).wait(20)
