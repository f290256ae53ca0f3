"""The foundation: Client, ports, connections and process() against a real jackd."""

import os
import signal
import subprocess
import threading
import time

import numpy as np
import pytest

import pyjack
from conftest import PERIOD, RATE, run_tool, tool_env
from helpers import RampProducer, consecutive_runs, ramp, wire_loopback

N = PERIOD


def stream_ramp(client, total, lead_blocks=8, between=None):
    """Play 1..total through the client's single out -> in loopback and return
    what came back. The first call moves lead_blocks blocks, so output runs
    that far ahead of input and a stalled Python thread does not starve it.
    between(k) is called before each block's call."""
    sent = np.zeros((1, total + 64 * N), np.float32)
    sent[0, :total] = ramp(1, total)
    got = np.zeros_like(sent)
    pos = lead_blocks * N
    client.process(sent[:, :pos], got[:, :pos])
    k = 0
    while pos < sent.shape[1]:
        if between is not None:
            between(k)
        client.process(sent[:, pos:pos + N], got[:, pos:pos + N])
        pos += N
        k += 1
    return sent[0], got[0]


def arrival(got):
    """Input stream position where ramp value 1 arrived."""
    nonzero = np.flatnonzero(got)
    assert nonzero.size, "nothing came back"
    return int(nonzero[0])


def test_constants_and_exceptions():
    assert (pyjack.IsInput, pyjack.IsOutput, pyjack.IsPhysical, pyjack.CanMonitor,
            pyjack.IsTerminal) == (1, 2, 4, 8, 16)
    for exc in (pyjack.NotConnectedError, pyjack.UsageError, pyjack.InputSyncError,
                pyjack.OutputSyncError, pyjack.TimeoutError):
        assert issubclass(exc, pyjack.Error)
    assert issubclass(pyjack.TimeoutError, TimeoutError)
    assert isinstance(pyjack.__version__, str) and pyjack.__version__


def test_client_basics(make_client, jack_server):
    client = make_client("basics")
    assert client.name == "basics"
    assert client.samplerate == RATE and client.blocksize == PERIOD
    assert client.depth == pyjack.DEFAULT_DEPTH
    assert not client.active
    client.activate()
    assert client.active
    with pytest.raises(pyjack.UsageError, match="already active"):
        client.activate()
    client.deactivate()
    with pytest.raises(pyjack.UsageError, match="not active"):
        client.deactivate()
    client.close()
    client.close()  # idempotent
    assert client.closed
    with pytest.raises(pyjack.NotConnectedError, match="closed"):
        client.get_ports()


def test_context_manager_and_name_clash(jack_server):
    with pyjack.Client("same", server=jack_server.name) as a:
        with pyjack.Client("same", server=jack_server.name) as b:
            assert a.name == "same" and b.name != "same"
        # JACK2 reports a clash as a failure with a server error.
        with pytest.raises(pyjack.NotConnectedError, match="could not open client 'same'"):
            pyjack.Client("same", server=jack_server.name, use_exact_name=True)
    assert a.closed


def test_no_server_gives_not_connected():
    with pytest.raises(pyjack.NotConnectedError, match="pyjack-no-such-server.*is (jackd|PipeWire) running"):
        pyjack.Client("x", server="pyjack-no-such-server")


@pytest.mark.parametrize("depth", [0, 15, -1, 1.5, "64", True])
def test_bad_depth(jack_server, depth):
    with pytest.raises(ValueError, match="depth"):
        pyjack.Client("x", server=jack_server.name, depth=depth)


def test_register_errors(make_client):
    client = make_client("reg")
    with pytest.raises(ValueError, match="exactly one of IsInput and IsOutput"):
        client.register_port("p", pyjack.IsInput | pyjack.IsOutput)
    with pytest.raises(ValueError, match="exactly one"):
        client.register_port("p", pyjack.IsPhysical)
    with pytest.raises(TypeError, match="flags"):
        client.register_port("p", "input")
    with pytest.raises(TypeError, match="port name"):
        client.register_port(3, pyjack.IsInput)
    name = client.register_port("p", pyjack.IsInput)
    assert name == "reg:p" and client.inports == ["reg:p"]
    with pytest.raises(pyjack.Error, match="could not register"):
        client.register_port("p", pyjack.IsInput)
    with pytest.raises(pyjack.UsageError, match="no port"):
        client.unregister_port("nope")
    client.unregister_port("p")
    assert client.inports == [] and "reg:p" not in client.get_ports()


@pytest.mark.needs("self_loopback")
@pytest.mark.parametrize("seconds", [3, pytest.param(30, marks=pytest.mark.slow)])
def test_loopback_ramp_bit_exact(make_client, seconds):
    """A ramp through out -> in at 256 frames: bit-exact, nothing lost.

    The stated latency: the self-connection adds exactly one period, so the frame
    that left the output port at JACK frame time T arrives at the input port at
    T + 256. In stream positions the ramp's first frame arrives at input position
    `lead` = (first call's frames) + (one period of graph delay), give or take
    whole periods that the start-up took; the frame times pin it exactly.
    """
    client = wire_loopback(make_client("ramp"))
    total = seconds * RATE
    sent, got = stream_ramp(client, total)
    stats = client.stats
    assert (stats.lost_in, stats.lost_out) == (0, 0), stats
    lead = arrival(got)
    np.testing.assert_array_equal(got[lead:lead + total], sent[:total])
    assert lead % N == 0
    left = client.frame_time_of(0, pyjack.IsOutput)
    arrived = client.frame_time_of(lead, pyjack.IsInput)
    assert (arrived - left) % 2**32 == N
    # Every frame in between has the same latency: the last one too.
    assert (client.frame_time_of(lead + total - 1, pyjack.IsInput)
            - client.frame_time_of(total - 1, pyjack.IsOutput)) % 2**32 == N


def test_stall_longer_than_ring_is_counted_exactly_and_resyncs(jack_server):
    """A consumer that sleeps for longer than its ring holds gets InputSyncError
    once, with the oldest frames delivered; the frames missing from its ramp are
    exactly the frames the engine reports lost, and then the stream goes on."""
    producer = RampProducer("stall-prod", jack_server.name).start()
    consumer = pyjack.Client("stall-cons", server=jack_server.name, depth=4096)
    try:
        consumer.register_port("in", pyjack.IsInput)
        consumer.activate()
        consumer.connect(producer.port, "stall-cons:in")
        nothing = np.zeros((0, 0), np.float32)
        block = np.zeros((1, N), np.float32)
        received = []

        def read(blocks):
            for _ in range(blocks):
                consumer.process(nothing, block, timeout=5)
                received.append(block[0].copy())

        read(100)
        lost_before = consumer.stats.lost_in
        time.sleep(1.0)  # 47 k frames: far more than the 4096-frame ring
        with pytest.raises(pyjack.InputSyncError, match="dropped"):
            consumer.process(nothing, block, timeout=5)
        received.append(block[0].copy())  # delivered despite the error
        read(200)
        lost = consumer.stats.lost_in - lost_before
        assert lost >= RATE // 2
        values = np.concatenate(received)
        values = values[np.flatnonzero(values)[0]:]  # from the producer's first frame
        runs = consecutive_runs(values)
        gaps = [int(b[0] - a[-1] - 1) for a, b in zip(runs, runs[1:])]
        # The stall's gap is exactly what the engine dropped. Any other gap is
        # a cycle the server itself skipped in an xrun (a busy machine without
        # real-time priority), which it counts.
        stall_gap = max(gaps)
        xruns = max(consumer.stats.xruns, producer.client.stats.xruns)
        assert lost <= stall_gap <= lost + xruns * N, (gaps, lost, xruns)
        if xruns == 0:
            assert stall_gap == lost
        others = sum(abs(g) for g in gaps) - lost
        assert others <= xruns * N, (gaps, xruns)
        stats = consumer.stats
        assert stats.frames_in + stats.lost_in == stats.cycles * N
        assert not producer.errors
    finally:
        consumer.close()
        producer.stop()


def parse_jack_lsp(text):
    """{port: (flags, [connections])} from `jack_lsp -c -p` output."""
    bits = {"input": 1, "output": 2, "physical": 4, "can-monitor": 8, "terminal": 16}
    ports = {}
    current = None
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith("\tproperties:"):
            words = line.split(":", 1)[1].strip().strip(",").split(",")
            ports[current][0] = sum(bits[w] for w in words if w)
        elif line.startswith("   "):
            ports[current][1].append(line.strip())
        else:
            current = line
            ports[current] = [None, []]
    return {name: (flags, sorted(conns)) for name, (flags, conns) in ports.items()}


def test_ports_and_connections_agree_with_jack_lsp(make_client, jack_server):
    other = subprocess.Popen(["jack_simple_client"], env=tool_env(jack_server.name),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = make_client("lsp")
        a = client.register_port("in_a", pyjack.IsInput | pyjack.IsTerminal)
        b = client.register_port("out_b", pyjack.IsOutput | pyjack.CanMonitor)
        client.activate()
        client.connect("system:capture_1", a)
        client.connect(b, "system:playback_2")
        deadline = time.monotonic() + 5
        while "jack_simple_client:output1" not in client.get_ports():
            assert time.monotonic() < deadline, "jack_simple_client did not start"
            time.sleep(0.05)
        time.sleep(0.2)  # let it make its connections
        expected = parse_jack_lsp(run_tool(jack_server.name, "jack_lsp", "-c", "-p"))
        names = client.get_ports()
        assert sorted(names) == sorted(expected)
        assert {"system:capture_1", "jack_simple_client:output1", a, b} <= set(names)
        for name in names:
            assert client.get_port_flags(name) == expected[name][0], name
            assert sorted(client.get_connections(name)) == expected[name][1], name
        assert client.get_port_flags("system:capture_1") == 22
        assert client.get_port_flags("system:playback_1") == 21
        # Filters.
        assert sorted(client.get_ports(flags=pyjack.IsInput)) == sorted(
            n for n in names if expected[n][0] & pyjack.IsInput)
        assert sorted(client.get_ports("lsp:")) == [a, b]  # PipeWire lists outputs first
        assert client.get_ports(type_pattern="midi") == []
        # Errors name the port at fault.
        with pytest.raises(pyjack.UsageError, match="nope:x"):
            client.get_port_flags("nope:x")
        with pytest.raises(pyjack.UsageError, match="nope:y"):
            client.connect(b, "nope:y")
        client.connect(b, "system:playback_2")  # already connected: fine
        client.disconnect(b, "system:playback_2")
        client.disconnect(b, "system:playback_2")  # not connected: fine
        assert client.get_connections(b) == []
    finally:
        other.terminate()
        other.wait(5)


def spectral_peak(signal_, rate):
    """Frequency of the largest spectral peak, refined by parabolic interpolation."""
    window = np.hanning(signal_.size)
    spectrum = np.abs(np.fft.rfft(signal_ * window))
    k = int(np.argmax(spectrum[1:])) + 1
    a, b, c = np.log(spectrum[k - 1:k + 2])
    offset = 0.5 * (a - c) / (a - 2 * b + c)
    return (k + offset) * rate / signal_.size


@pytest.mark.needs("connections_at_once")
def test_connect_and_disconnect_show_in_the_graph_when_they_return(make_client, jack_server):
    """JACK changes the graph that clients read at its next cycle; connect()
    and disconnect() wait for that, so their effect is seen right away, by
    this client, another one and JACK's own tools."""
    a = make_client("showa")
    out = a.register_port("out", pyjack.IsOutput)
    a.activate()
    b = make_client("showb")
    inp = b.register_port("in", pyjack.IsInput)
    b.activate()
    for _ in range(50):
        a.connect(out, inp)
        assert a.get_connections(out) == [inp] and b.get_connections(inp) == [out]
        a.disconnect(out, inp)
        assert a.get_connections(out) == [] and b.get_connections(inp) == []
    a.connect(out, inp)
    assert inp in run_tool(jack_server.name, "jack_lsp", "-c", out)


def test_captures_jack_simple_client_sine(make_client, jack_server):
    """jack_simple_client plays a 200-sample sine table: 240 Hz left, 720 Hz right."""
    other = subprocess.Popen(["jack_simple_client"], env=tool_env(jack_server.name),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = make_client("sine")
        left = client.register_port("left", pyjack.IsInput)
        right = client.register_port("right", pyjack.IsInput)
        client.activate()
        deadline = time.monotonic() + 5
        while True:
            try:
                client.connect("jack_simple_client:output1", left)
                client.connect("jack_simple_client:output2", right)
                break
            except pyjack.UsageError:
                assert time.monotonic() < deadline, "jack_simple_client did not start"
                time.sleep(0.05)
        capture = np.zeros((2, 2 * RATE), np.float32)
        client.process(np.zeros((0, 0), np.float32), capture[:, :N])  # connected now
        client.process(np.zeros((0, 0), np.float32), capture, timeout=10)
        assert abs(spectral_peak(capture[0], RATE) - 240.0) < 1.0
        assert abs(spectral_peak(capture[1], RATE) - 720.0) < 1.0
        assert 0.15 < np.max(np.abs(capture)) <= 0.2 + 1e-6
    finally:
        other.terminate()
        other.wait(5)


def bad_inputs():
    good = np.zeros((1, N), np.float32)
    f64 = np.zeros((1, N), np.float64)
    readonly = np.zeros((1, N), np.float32)
    readonly.flags.writeable = False
    return [
        ("float64 output", f64, good, TypeError, "output must have dtype float32"),
        ("float64 input", good, f64.copy(), TypeError, "input must have dtype float32"),
        ("int16 input", good, np.zeros((1, N), np.int16), TypeError, "float32"),
        ("big-endian", good.astype(">f4"), good, TypeError, "byte order"),
        ("1-D output", np.zeros(N, np.float32), good, ValueError, "2-D"),
        ("3-D input", good, np.zeros((1, 1, N), np.float32), ValueError, "2-D"),
        ("two rows", np.zeros((2, N), np.float32), good, ValueError, "2 rows but the client has 1"),
        ("frames differ", good, np.zeros((1, N + 1), np.float32), ValueError, "frames"),
        ("no frames", np.zeros((1, 0), np.float32), np.zeros((1, 0), np.float32), ValueError,
         "no frames"),
        ("read-only input", good, readonly, ValueError, "read-only"),
        ("list", [[0.0] * N], good, TypeError, "numpy.ndarray"),
        ("None for both", None, None, ValueError, "would move nothing"),
        ("None and a list", None, [[0.0] * N], TypeError, "numpy.ndarray"),
    ]


@pytest.mark.needs("self_loopback")
def test_bad_input_matrix_keeps_the_stream_intact(make_client):
    client = wire_loopback(make_client("bad"))
    cases = bad_inputs()

    def try_bad(k):
        if k < len(cases):
            _, output, input_, exc, message = cases[k]
            with pytest.raises(exc, match=message):
                client.process(output, input_)

    total = 200 * N
    sent, got = stream_ramp(client, total, between=try_bad)
    lead = arrival(got)
    np.testing.assert_array_equal(got[lead:lead + total], sent[:total])
    assert (client.stats.lost_in, client.stats.lost_out) == (0, 0)
    with pytest.raises(ValueError, match="timeout"):
        client.process(np.zeros((1, N), np.float32), np.zeros((1, N), np.float32), timeout=-1)


def test_process_state_errors(make_client):
    client = make_client("state")
    nothing = np.zeros((0, 0), np.float32)
    with pytest.raises(pyjack.UsageError, match="no ports"):
        client.process(nothing, nothing)
    client.register_port("in", pyjack.IsInput)
    with pytest.raises(pyjack.UsageError, match="not active"):
        client.process(nothing, np.zeros((1, N), np.float32))
    quiet = make_client("quiet", processing=False)
    quiet.register_port("in", pyjack.IsInput)
    quiet.activate()
    with pytest.raises(pyjack.UsageError, match="processing=False"):
        quiet.process(nothing, np.zeros((1, N), np.float32))


@pytest.mark.needs("self_loopback")
def test_any_frame_count_and_strided_arrays(make_client):
    """Odd frame counts, with a strided output view and a strided input view."""
    client = wire_loopback(make_client("odd"))
    total = 40000
    lead = 8192  # the first call sets how far output runs ahead of input
    sent = np.zeros((2 * lead + total + 16 * N, 3), np.float32)  # play column 2: stride 12 bytes
    sent[lead:lead + total, 2] = ramp(1, total)
    got = np.zeros((sent.shape[0], 2), np.float32)  # record into column 1: stride 8 bytes
    client.process(sent[:lead, 2:3].T, got[:lead, 1:2].T, timeout=5)
    pos = lead
    for size in [1000, 1, 77, 333, 4096, 5] * 1000:
        size = min(size, sent.shape[0] - pos)
        if size == 0:
            break
        client.process(sent[pos:pos + size, 2:3].T, got[pos:pos + size, 1:2].T, timeout=5)
        pos += size
    assert got[:, 0].any() == False  # noqa: E712 - the other column is untouched
    start = arrival(got[:, 1])
    np.testing.assert_array_equal(got[start:start + total, 1], sent[lead:lead + total, 2])
    assert (client.stats.lost_in, client.stats.lost_out) == (0, 0)


@pytest.mark.needs("self_loopback")
def test_interleaved_ports_bit_exact_across_ring_wraps_and_a_port_added(make_client):
    """(frames, ports) arrays passed transposed, as render() and Stream pass
    them: 7 ports (a group of four moved together, three one by one), odd
    frame counts on a small ring so that runs cross its wrap at every offset.
    Then an 8th port pair is added while streaming: its input reads silence
    until it starts, then the same frames as the others, sample for sample."""
    client = make_client("wide7", depth=4096)
    names = [(client.register_port(f"out_{k}", pyjack.IsOutput),
              client.register_port(f"in_{k}", pyjack.IsInput)) for k in range(7)]
    client.activate()
    for out, inp in names:
        client.connect(out, inp)
    offsets = np.arange(8, dtype=np.float32) * 65536  # port k carries the ramp + k * 65536
    total = 30000
    sent = np.zeros((total + 64 * N, 8), np.float32)
    sent[:total] = ramp(1, total)[:, None] + offsets
    got = np.zeros_like(sent)
    ports = 7
    pos = 0
    for size in [300, 1, 77, 333, 5, 3, 1000] * 1000:
        size = min(size, sent.shape[0] - pos)
        if size == 0:
            break
        if ports == 7 and pos >= total // 2:
            out, inp = (client.register_port("out_7", pyjack.IsOutput),
                        client.register_port("in_7", pyjack.IsInput))
            client.connect(out, inp)
            ports = 8
        client.process(sent[pos:pos + size, :ports].T, got[pos:pos + size, :ports].T, timeout=5)
        pos += size
    assert (client.stats.lost_in, client.stats.lost_out) == (0, 0)
    start = arrival(got[:, 0])
    for k in range(7):
        np.testing.assert_array_equal(got[start:start + total, k], sent[:total, k], err_msg=f"port {k}")
    late = got[:, 7]
    begins = arrival(late)
    assert begins > total // 2 and not late[:begins].any()
    np.testing.assert_array_equal(late[begins:start + total] - offsets[7],
                                  got[begins:start + total, 0] - offsets[0])


@pytest.mark.needs("self_loopback")
def test_frame_counts_larger_than_the_ring(make_client):
    client = wire_loopback(make_client("big", depth=1024))
    total = 20 * 1024
    sent = ramp(1, total + 8 * N)[None, :]
    sent[0, total:] = 0
    got = np.zeros_like(sent)
    client.process(sent, got, timeout=10)
    lead = arrival(got[0])
    np.testing.assert_array_equal(got[0, lead:], sent[0, :sent.shape[1] - lead])


@pytest.mark.needs("self_loopback")
def test_register_and_unregister_200_times_while_streaming(make_client):
    """Another thread adds and removes ports on the streaming client: the stream
    goes on bit-exact, and a call whose port count changed gets a clear error."""
    client = wire_loopback(make_client("churn"))
    stop = threading.Event()
    failures = []

    def churn():
        try:
            for i in range(200):
                client.register_port(f"x_out{i}", pyjack.IsOutput)
                client.register_port(f"x_in{i}", pyjack.IsInput)
                time.sleep(0.001)
                client.unregister_port(f"x_in{i}")
                client.unregister_port(f"x_out{i}")
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)
        finally:
            stop.set()

    total_blocks = 1000
    sent = ramp(1, total_blocks * N)
    got = np.zeros(total_blocks * N + 64 * N, np.float32)
    changed = []
    worker = threading.Thread(target=churn)
    pos = 0
    first = True
    while pos < got.size:
        size = 32 * N if first else N
        n_out, n_in = len(client.outports), len(client.inports)
        out = np.zeros((n_out, size), np.float32)
        inp = np.zeros((n_in, size), np.float32)
        end = min(pos + size, sent.size)
        out[0, :max(0, end - pos)] = sent[pos:end]
        try:
            client.process(out, inp, timeout=5)
        except ValueError as exc:
            assert "ports" in str(exc) or "rows" in str(exc), exc
            changed.append(exc)
            continue
        got[pos:pos + size] = inp[0]
        pos += size
        if first:
            worker.start()
            first = False
    # Counted now: nobody reads the input once the stream is over, and the
    # churn may still need a moment.
    stats = client.stats
    worker.join(30)
    assert stop.is_set() and not failures, failures
    assert changed, "the churn never changed the port count under a call"
    assert client.inports == ["churn:in"] and client.outports == ["churn:out"]
    lead = arrival(got)
    np.testing.assert_array_equal(got[lead:lead + sent.size], sent)
    assert (stats.lost_in, stats.lost_out) == (0, 0)


@pytest.mark.needs("buffer_size_sync")
def test_buffer_size_changes_while_streaming(private_server):
    """256 -> 128 -> 512 -> 256 while a ramp streams from one client to another:
    the ramp arrives intact apart from frames the engine reports lost."""
    producer = RampProducer("bs-prod", private_server.name).start()
    consumer = pyjack.Client("bs-cons", server=private_server.name)
    try:
        consumer.register_port("in", pyjack.IsInput)
        consumer.activate()
        consumer.connect(producer.port, "bs-cons:in")
        nothing = np.zeros((0, 0), np.float32)
        block = np.zeros((1, 300), np.float32)  # not a multiple of any period
        received = []
        sizes_seen = set()
        for size in (128, 512, 256):
            for _ in range(150):
                consumer.process(nothing, block, timeout=5)
                received.append(block[0].copy())
            run_tool(private_server.name, "jack_bufsize", str(size))
            sizes_seen.add(consumer.stats.buffer_size)
        for _ in range(150):
            consumer.process(nothing, block, timeout=5)
            received.append(block[0].copy())
        sizes_seen.add(consumer.stats.buffer_size)
        assert {128, 512, 256} <= sizes_seen | {consumer.blocksize}
        values = np.concatenate(received)
        values = values[np.flatnonzero(values)[0]:]
        runs = consecutive_runs(values)
        # Nothing is lost in pyjack's rings. A buffer-size change can make the
        # server xrun (on a busy machine without real-time priority); in such a
        # cycle JACK itself may skip or repeat a period between two clients. That
        # damage is the server's, counted in stats.xruns, and limited to it.
        assert consumer.stats.lost_in == 0 and producer.client.stats.lost_out == 0
        assert not producer.errors
        damage = sum(abs(int(b[0] - a[-1] - 1)) for a, b in zip(runs, runs[1:]))
        xruns = max(consumer.stats.xruns, producer.client.stats.xruns)
        assert damage <= xruns * 512, (damage, xruns)
        if xruns == 0:
            assert len(runs) == 1
    finally:
        consumer.close()
        producer.stop()


def test_server_killed_while_process_waits(private_server):
    client = pyjack.Client("victim", server=private_server.name)
    try:
        client.register_port("in", pyjack.IsInput)
        client.activate()
        big = np.zeros((1, 10 * RATE), np.float32)  # 10 s: still waiting when killed
        outcome = {}

        def wait():
            try:
                client.process(np.zeros((0, 0), np.float32), big)
            except BaseException as exc:
                outcome["exc"] = exc
            outcome["at"] = time.monotonic()

        worker = threading.Thread(target=wait)
        worker.start()
        time.sleep(0.5)
        killed = time.monotonic()
        private_server.kill()
        worker.join(10)
        assert not worker.is_alive()
        assert isinstance(outcome["exc"], pyjack.NotConnectedError), outcome
        assert outcome["at"] - killed < 2.0, outcome["at"] - killed
        assert client.stats.shutdown
        with pytest.raises(pyjack.NotConnectedError):
            client.get_ports()
    finally:
        client.close()


def test_ctrl_c_interrupts_process_quickly(make_client):
    client = make_client("sigint")
    client.register_port("in", pyjack.IsInput)
    client.activate()
    big = np.zeros((1, 20 * RATE), np.float32)
    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        client.process(np.zeros((0, 0), np.float32), big)
    took = time.monotonic() - started
    timer.join()
    assert took < 0.3 + 0.25, took
    # The client is still usable.
    client.process(np.zeros((0, 0), np.float32), np.zeros((1, N), np.float32), timeout=5)


def test_timeout_is_a_pyjack_error_and_a_builtin_timeout(make_client):
    client = make_client("timeout")
    client.register_port("in", pyjack.IsInput)
    client.activate()
    started = time.monotonic()
    with pytest.raises(TimeoutError) as info:
        client.process(np.zeros((0, 0), np.float32), np.zeros((1, 5 * RATE), np.float32),
                       timeout=0.2)
    assert isinstance(info.value, pyjack.Error) and isinstance(info.value, pyjack.TimeoutError)
    assert "timed out" in str(info.value)
    assert time.monotonic() - started < 2


def test_output_only_client_is_paced_without_spinning(make_client):
    client = make_client("paced", depth=2048)
    client.register_port("out", pyjack.IsOutput)
    client.activate()
    block = np.zeros((1, N), np.float32)
    nothing = np.zeros((0, 0), np.float32)
    for _ in range(2048 // N):  # fill the ring
        client.process(block, nothing, timeout=5)
    calls = RATE // N  # one second of audio
    started = client.stats.frames_out
    for _ in range(calls):
        client.process(block, nothing, timeout=5)
    # Each call waited for room: JACK played what was queued meanwhile, so
    # the ring never held more than its depth (the CPU cost of such waits
    # is measured in benchmarks/bench_cpu.py).
    assert client.stats.frames_out - started >= calls * N - 2048


def test_small_depth_sleep_then_input_sync_error_with_data(jack_server):
    """The original module's documented behaviour: activate, sleep 1 s, process()."""
    producer = RampProducer("orig-prod", jack_server.name).start()
    client = pyjack.Client("orig", server=jack_server.name, depth=2048)
    try:
        client.register_port("in", pyjack.IsInput)
        client.activate()
        client.connect(producer.port, "orig:in")
        # First read what came before the connection took effect (silence),
        # up to the ramp, so that the ring fills with the ramp below.
        whole_ring = np.zeros((1, 2048), np.float32)
        deadline = time.monotonic() + 10
        while whole_ring[0, -1] == 0:
            assert time.monotonic() < deadline, "the ramp never arrived"
            try:
                client.process(np.zeros((0, 0), np.float32), whole_ring, timeout=5)
            except pyjack.InputSyncError:
                pass  # the ring overflowed while the connection was made
        time.sleep(1.0)
        block = np.zeros((1, N), np.float32)
        with pytest.raises(pyjack.InputSyncError):
            client.process(np.zeros((0, 0), np.float32), block)
        assert np.count_nonzero(block) > 0  # old data, delivered anyway
        # Back in sync once the backlog is read. Reading one period a call
        # keeps the ring at the brim, so a loaded machine may drop a cycle
        # or two more first, each reported the same way.
        for _ in range(5):
            try:
                client.process(np.zeros((0, 0), np.float32), whole_ring)
                break
            except pyjack.InputSyncError:
                continue
        else:
            pytest.fail("process() raised InputSyncError five times in a row")
        client.process(np.zeros((0, 0), np.float32), block)
    finally:
        client.close()
        producer.stop()


def test_deactivate_from_another_thread_wakes_process(make_client):
    # close() from another thread: test_threads.py's close-under-threads test.
    client = make_client("wake")
    client.register_port("in", pyjack.IsInput)
    client.activate()
    timer = threading.Timer(0.3, client.deactivate)
    timer.start()
    started = time.monotonic()
    with pytest.raises(pyjack.UsageError, match="not active"):
        client.process(np.zeros((0, 0), np.float32), np.zeros((1, 10 * RATE), np.float32))
    timer.join()
    assert time.monotonic() - started < 2


@pytest.mark.needs("private_jackd")
def test_realtime_server_runs_its_threads_with_fifo_priority():
    """Server(realtime=True): libjack says the server is real time, and the
    kernel says jackd has threads scheduled SCHED_FIFO."""
    with pyjack.Server(realtime=True) as server:
        with pyjack.Client("rt", server=server.name) as client:
            client.register_port("in", pyjack.IsInput)
            client.activate()
            assert client.is_realtime()
            tasks = os.listdir(f"/proc/{server.process.pid}/task")
            policies = {os.sched_getscheduler(int(tid)) for tid in tasks}
            assert os.SCHED_FIFO in policies, policies
    with pyjack.Server() as server:
        with pyjack.Client("not-rt", server=server.name) as client:
            assert not client.is_realtime()


@pytest.mark.needs("private_jackd")
def test_killed_servers_do_not_use_up_jacks_server_slots():
    """JACK2 has eight server slots per machine; a killed server's slot comes
    back when a server of the same name starts, so Server reuses names."""
    for _ in range(12):
        server = pyjack.Server().start()
        server.kill()
        server.stop()
    with pyjack.Server() as server:
        with pyjack.Client("after-kills", server=server.name) as client:
            assert client.samplerate == RATE
