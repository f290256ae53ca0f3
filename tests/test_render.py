"""Offline rendering: Client.set_freewheel() loses nothing at the switch, and
pyjack.render() plays through a JACK graph (jack_thru here) in freewheel and
returns the recording aligned sample for sample. Witnesses: jack_thru (a C
client in the graph), JACK's jack_freewheel tool, and a second client that
sees the server's freewheel callbacks."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import pyjack

from conftest import tool_env
from helpers import consecutive_runs, default_clients, ramp, wait_for_port  # noqa: F401 (default_clients: autouse)

BLOCK = 1024
LEAD = 8 * BLOCK          # output queued ahead of input: covers the real-time part of a switch
SWITCHES = 20


def start_thrus(server_name, channels):
    """jack_thru instances (two channels each) for `channels` channels, their
    inputs disconnected from anything else; returns (processes, inputs, outputs)."""
    env = tool_env(server_name)
    count = (channels + 1) // 2
    processes = [subprocess.Popen(["jack_thru", f"thru{i}"], env=env, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for i in range(count)]
    probe = pyjack.Client("thru-probe", server=server_name, processing=False)
    try:
        inputs, outputs = [], []
        for i in range(count):
            for k in (1, 2):
                wait_for_port(probe, f"thru{i}:input_{k}", timeout=10)
                wait_for_port(probe, f"thru{i}:output_{k}", timeout=10)
                inputs.append(f"thru{i}:input_{k}")
                outputs.append(f"thru{i}:output_{k}")
        for name in inputs:
            for source in probe.get_connections(name):
                probe.disconnect(source, name)  # only our signal goes through
    except BaseException:
        stop_thrus(processes)
        raise
    finally:
        probe.close()
    return processes, inputs[:channels], outputs[:channels]


def stop_thrus(processes):
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(10)


@pytest.fixture(scope="module")
def thru8(jack_server):
    processes, inputs, outputs = start_thrus(jack_server.name, 8)
    yield inputs, outputs
    stop_thrus(processes)


class Witness:
    """Another client: the server's freewheel callbacks, as it hears them."""

    def __init__(self, server_name):
        self.client = pyjack.Client("fw-witness", server=server_name)
        self.switches = []
        self.client.set_freewheel_callback(self.switches.append)
        self.client.activate()

    @property
    def freewheel(self):
        return self.client.stats.freewheel

    def saw(self, switches, timeout=10.0):
        """True once the callbacks heard exactly these switches (they come on a thread)."""
        deadline = time.monotonic() + timeout
        while len(self.switches) < len(switches) and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)  # and no more than these
        return self.switches == switches


@pytest.fixture
def witness(jack_server):
    w = Witness(jack_server.name)
    yield w
    w.client.close()


@pytest.mark.needs("freewheel_lossless")
def test_switch_twenty_times_while_streaming_a_ramp(jack_server, thru8, witness):
    """set_freewheel(True) / (False) 20 times while a ramp streams through
    jack_thru and back: every value arrives once, in order, nothing lost."""
    inputs, outputs = thru8
    client = pyjack.Client("fw-ramp", server=jack_server.name, depth=1 << 16)
    try:
        out = client.register_port("out", pyjack.IsOutput)
        inp = client.register_port("in", pyjack.IsInput)
        client.activate()
        client.connect(out, inputs[0])
        client.connect(outputs[0], inp)
        received = np.empty((1, BLOCK), np.float32)
        client.process(np.zeros((1, LEAD), np.float32), np.empty((1, LEAD), np.float32), timeout=10)
        for _ in range(20):  # let the links settle (PipeWire makes them live a moment later)
            client.process(np.zeros((1, BLOCK), np.float32), received, timeout=10)
        before = client.stats
        got = []
        switches = 0
        next_value = 1
        i = 0
        on_since = None
        while switches < 2 * SWITCHES or client.freewheeling:
            client.process(ramp(next_value, BLOCK).reshape(1, -1), received, timeout=20)
            next_value += BLOCK
            got.append(received[0].copy())
            i += 1
            if switches < 2 * SWITCHES:
                if on_since is None and not client.freewheeling and i % 3 == 0:
                    client.set_freewheel(True)
                    assert client.freewheeling and client.stats.freewheel
                    on_since, switches = i, switches + 1
                elif on_since is not None and i - on_since >= 4:
                    client.set_freewheel(False)
                    on_since, switches = None, switches + 1
        # Flush: the ramp's tail is still in the rings and in jack_thru.
        for _ in range(LEAD // BLOCK + 4):
            client.process(np.zeros((1, BLOCK), np.float32), received, timeout=20)
            got.append(received[0].copy())
        after = client.stats
        values = np.concatenate(got)
        nonzero = values[values != 0]
        runs = consecutive_runs(nonzero)
        assert len(runs) == 1, f"the ramp broke into {len(runs)} runs at the switches"
        assert nonzero[0] == 1 and nonzero[-1] == next_value - 1
        first = int(np.argmax(values != 0))
        assert np.count_nonzero(values[first:first + len(nonzero)] == 0) == 0
        assert after.lost_in == before.lost_in and after.lost_out == before.lost_out
        assert not client.freewheeling and not after.freewheel
    finally:
        client.close()
    # The server really switched, 20 times each way, as another client saw it.
    assert witness.saw([True, False] * SWITCHES), witness.switches


def write_noise_file(path, seconds, channels, rate, seed=1):
    import soundfile
    rng = np.random.default_rng(seed)
    with soundfile.SoundFile(path, "w", samplerate=rate, channels=channels, subtype="FLOAT") as f:
        block = rate  # one second at a time: the test holds no hour in memory either
        for _ in range(seconds):
            f.write(rng.uniform(-0.5, 0.5, (block, channels)).astype(np.float32))


def compare_files(a, b, chunk=1 << 18):
    import soundfile
    with soundfile.SoundFile(a) as fa, soundfile.SoundFile(b) as fb:
        assert (fa.frames, fa.channels) == (fb.frames, fb.channels)
        while True:
            x = fa.read(chunk, dtype="float32")
            y = fb.read(chunk, dtype="float32")
            assert np.array_equal(x, y), "the rendering differs from the input"
            if len(x) == 0:
                return


def render_file(tmp_path, seconds, channels, thru, record_property):
    pytest.importorskip("soundfile")
    inputs, outputs = thru
    rate = _play_rate()
    source, result = tmp_path / "in.wav", tmp_path / "out.wav"
    write_noise_file(source, seconds, channels, rate)
    assert pyjack.render(source, outputs=inputs, inputs=outputs, file=result,
                         subtype="FLOAT", progress=False) is None
    status = pyjack.get_status()
    assert status.kind == "render" and status.error is None
    assert status.lost_in == 0 and status.lost_out == 0
    assert status.frames_recorded == seconds * rate
    compare_files(source, result)
    assert status.realtime_factor is not None and status.realtime_factor > 0
    record_property("realtime_factor", round(status.realtime_factor, 1))
    print(f"render(): {seconds} s of {channels} channels at {status.realtime_factor:.1f}x real time")
    return status


def _play_rate():
    from pyjack import _play
    return _play._engine(shared=True).ins.client.samplerate


@pytest.mark.needs("freewheel_lossless")
def test_render_a_sound_file_through_jack_thru_is_bit_exact(tmp_path, thru8, witness,
                                                             record_property):
    render_file(tmp_path, 10, 8, thru8, record_property)
    # The server went into freewheel and came back out.
    assert witness.saw([True, False]), witness.switches
    assert not witness.freewheel


@pytest.mark.slow
@pytest.mark.needs("freewheel_lossless")
def test_render_five_minutes_of_eight_channels(tmp_path, thru8, record_property):
    render_file(tmp_path, 300, 8, thru8, record_property)


@pytest.mark.needs("freewheel_lossless")
def test_render_an_array_with_a_given_latency_and_a_progress_callback(thru8):
    inputs, outputs = thru8
    rate = _play_rate()
    x = np.random.default_rng(2).uniform(-0.5, 0.5, (3 * rate, 2)).astype(np.float32)
    y = pyjack.render(x, outputs=inputs[:2], inputs=outputs[:2], progress=False)
    assert np.array_equal(y, x)
    latency = pyjack.get_status().latency
    seen = []
    y = pyjack.render(x, outputs=inputs[:2], inputs=outputs[:2], latency=latency,
                      progress=lambda done, total: seen.append((done, total)))
    assert np.array_equal(y, x)
    assert pyjack.get_status().latency_source == "given"
    assert seen and seen[-1] == (len(x), len(x))
    assert all(a[0] < b[0] for a, b in zip(seen, seen[1:]))


@pytest.mark.needs("freewheel_lossless")
def test_render_puts_one_client_of_ours_in_the_graph(thru8, witness):
    """Every client is a step of each cycle: render() uses one client for both
    directions (playrec() uses two). The witness, asked while render() runs,
    sees pyjack-render's outputs feed jack_thru and jack_thru feed its inputs.
    (JACK's tools cannot be asked then: opening a client waits for the cycle,
    which waits for render()'s thread, which waits for the tool.)"""
    inputs, outputs = thru8
    rate = _play_rate()
    x = np.random.default_rng(4).uniform(-0.5, 0.5, (2 * rate, 2)).astype(np.float32)
    seen = {}

    def look(done, total):
        if not seen:
            for port in witness.client.get_ports("^pyjack"):
                seen[port] = witness.client.get_connections(port)

    y = pyjack.render(x, outputs=inputs[:2], inputs=outputs[:2], progress=look)
    assert np.array_equal(y, x)
    # The period of our own loop is not the graph's: the latency is what
    # playrec()'s two clients find over the same jack_thru.
    rendered = pyjack.get_status()
    y = pyjack.playrec(x, outputs=inputs[:2], inputs=outputs[:2], blocking=True)
    assert np.array_equal(y, x)
    assert rendered.latency == pyjack.get_status().latency == 0
    for k in (1, 2):
        assert seen.get(f"pyjack-render:out_{k}") == [inputs[k - 1]], seen
        assert seen.get(f"pyjack-render:in_{k}") == [outputs[k - 1]], seen
    linked = {port.split(":")[0] for port, links in seen.items() if links}
    assert linked == {"pyjack-render"}, seen


RENDER_UNTIL_INTERRUPTED = """
import sys, numpy as np, pyjack
inputs, outputs = sys.argv[1].split(","), sys.argv[2].split(",")
x = np.random.default_rng(3).uniform(-0.5, 0.5, (48000 * 600, 2)).astype(np.float32)
said = []
def progress(done, total):
    if not said:
        said.append(1)
        print("rendering", flush=True)
try:
    pyjack.render(x, outputs=inputs, inputs=outputs, progress=progress)
except KeyboardInterrupt:
    print("interrupted", pyjack.get_status().stopped, flush=True)
    raise
"""


@pytest.mark.needs("freewheel_lossless")
def test_ctrl_c_during_render_leaves_freewheel(jack_server, thru8, witness):
    """SIGINT to a process in render(): it stops, and the server leaves
    freewheel (seen by another client, and jack_freewheel may switch again)."""
    inputs, outputs = thru8
    env = dict(tool_env(jack_server.name), PYTHONUNBUFFERED="1")
    child = subprocess.Popen([sys.executable, "-c", RENDER_UNTIL_INTERRUPTED,
                              ",".join(inputs[:2]), ",".join(outputs[:2])],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "rendering"
        deadline = time.monotonic() + 20
        while not witness.freewheel:
            assert time.monotonic() < deadline, "the server never freewheeled"
            time.sleep(0.01)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode != 0 and "KeyboardInterrupt" in err, err[-2000:]
    assert out.split() == ["interrupted", "True"]
    assert witness.saw([True, False]), witness.switches
    assert not witness.freewheel
    # The server is in real time again: our own switch works as before.
    probe = pyjack.Client("fw-after", server=jack_server.name)
    try:
        probe.activate()
        probe.set_freewheel(True)
        probe.set_freewheel(False)
        deadline = time.monotonic() + 10
        while probe.freewheeling:
            assert time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        probe.close()


@pytest.mark.needs("freewheel_global")
def test_another_client_switching_freewheel_is_followed(jack_server, witness):
    """jack_freewheel switches the server: without set_freewheel() the engine
    follows the server's callback (it waits only while freewheeling), and a
    freewheel we asked for that another client ends is over for us too."""
    env = tool_env(jack_server.name)
    client = pyjack.Client("fw-follow", server=jack_server.name)
    try:
        client.activate()
        subprocess.run(["jack_freewheel", "y"], env=env, check=True, timeout=20,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: client.freewheeling and client.stats.freewheel)
        subprocess.run(["jack_freewheel", "n"], env=env, check=True, timeout=20,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: not client.freewheeling)
        client.set_freewheel(True)
        assert client.freewheeling
        subprocess.run(["jack_freewheel", "n"], env=env, check=True, timeout=20,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: not client.freewheeling)
        assert not witness.freewheel
    finally:
        client.close()
    assert witness.saw([True, False, True, False]), witness.switches


def wait_until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.005)


def test_set_freewheel_refuses_bad_input_and_states(jack_server):
    client = pyjack.Client("fw-bad", server=jack_server.name)
    quiet = pyjack.Client("fw-quiet", server=jack_server.name, processing=False)
    try:
        with pytest.raises(TypeError, match="on must be True or False"):
            client.set_freewheel("yes")
        with pytest.raises(ValueError, match="timeout must be a number of seconds > 0"):
            client.set_freewheel(True, timeout=0)
        with pytest.raises(pyjack.UsageError, match="not active"):
            client.set_freewheel(True)
        assert not client.freewheeling
        with pytest.raises(pyjack.UsageError, match="processing=False"):
            quiet.set_freewheel(True)
    finally:
        client.close()
        quiet.close()
    with pytest.raises(pyjack.NotConnectedError):
        client.set_freewheel(True)


def test_render_refuses_bad_input(thru8):
    inputs, outputs = thru8
    x = np.zeros((4800, 1), np.float32)
    with pytest.raises(ValueError, match="needs outputs="):
        pyjack.render(x, outputs=None, inputs=outputs[0])
    with pytest.raises(ValueError, match="blocksize must be a positive int"):
        pyjack.render(x, outputs=inputs[0], inputs=outputs[0], blocksize=0)
    with pytest.raises(ValueError, match="blocksize must be at most"):
        pyjack.render(x, outputs=inputs[0], inputs=outputs[0], blocksize=1 << 30)
    with pytest.raises(TypeError, match="floating-point"):
        pyjack.render(np.zeros((4800, 1), np.int16), outputs=inputs[0], inputs=outputs[0])
    with pytest.raises(ValueError, match="no port to play to"):
        pyjack.render(x, outputs="nosuchclient:in", inputs=outputs[0])
    with pytest.raises(ValueError, match="latency must be"):
        pyjack.render(x, outputs=inputs[0], inputs=outputs[0], latency=-1)


def test_render_on_a_server_without_lossless_freewheel_says_why(server_features, thru8):
    if server_features.has("freewheel_lossless"):
        pytest.skip("this server freewheels losslessly: render() runs (tests above)")
    inputs, outputs = thru8
    with pytest.raises(pyjack.UsageError, match="freewheel_lossless"):
        pyjack.render(np.zeros((4800, 1), np.float32), outputs=inputs[0], inputs=outputs[0])


def test_pipewire_runs_no_cycle_of_a_client_in_freewheel(server_features, jack_server):
    """What FEATURES["freewheel_lossless"] is False for on PipeWire: the
    client that asked for freewheel gets no cycles until it leaves."""
    if server_features.implementation != "PipeWire":
        pytest.skip("PipeWire only")
    client = pyjack.Client("fw-pw", server=jack_server.name)
    try:
        client.activate()
        client.set_freewheel(True)
        before = client.stats.cycles
        time.sleep(0.5)
        assert client.stats.cycles - before <= 1  # at most the cycle under way
        client.set_freewheel(False)
        wait_until(lambda: not client.freewheeling)
        cycles = client.stats.cycles
        wait_until(lambda: client.stats.cycles > cycles + 10)  # real time again
    finally:
        client.close()
