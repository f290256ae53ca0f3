"""The engine keeps its word: the retry contract of process(), depth against the
server's period, rings that are really locked in memory and exactly depth frames,
wait_moved(), and the smaller promises (no lock taken with the GIL held, no stale
wake-ups, close() that does not hang, no engine left half there)."""

import os
import resource
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

import pyjack
from conftest import PERIOD, RATE
from helpers import wire_loopback
from figures import report  # noqa: F401 (fixture)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
NOTHING = np.zeros((0, 0), np.float32)
# .ci/asan preloads AddressSanitizer's runtime, which turns mlock() into a no-op
# and must come first in the library list.
UNDER_ASAN = "libasan" in os.environ.get("LD_PRELOAD", "")
no_asan_mlock = pytest.mark.skipif(UNDER_ASAN, reason="AddressSanitizer makes mlock() a no-op")
no_asan_preload = pytest.mark.skipif(
    UNDER_ASAN, reason="an LD_PRELOAD probe cannot run under AddressSanitizer's preloaded runtime")
# The C checks build and run programs of their own, without what is preloaded here.
PLAIN_ENV = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}


def wait_for(condition, what, timeout=10):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


# -- 1. the retry contract ---------------------------------------------------


def test_retry_after_a_sync_error_never_queues_a_frame_twice(make_client, report):
    """Requests of 4x the ring depth, with a Python stall injected in the middle
    of one: every call fills its whole input (also when it raises), and retrying
    each request until it succeeds plays the ramp exactly once."""
    depth = 1024
    recorder = make_client("retry-rec", depth=1 << 18)
    recorder_in = recorder.register_port("in", pyjack.IsInput)
    recorder.activate()
    client = make_client("retry", depth=depth)
    out = client.register_port("out", pyjack.IsOutput)
    client.register_port("in", pyjack.IsInput)  # unconnected: JACK gives it silence
    client.activate()
    client.connect(out, recorder_in)

    size = 4 * depth
    calls = 8
    sent = np.arange(1, calls * size + 1, dtype=np.float32)  # exact in float32
    inp = np.empty((1, size), np.float32)
    errors = []
    stalls = []

    def stall(signum, frame):
        # Runs inside process(), between two of its 50 ms slices: the rings
        # (1024 frames, 21 ms) overflow and run dry meanwhile.
        stalls.append(time.monotonic())
        time.sleep(0.2)

    previous = signal.signal(signal.SIGALRM, stall)
    try:
        for k in range(calls):
            if k == 2:
                signal.setitimer(signal.ITIMER_REAL, 0.02)
            while True:
                inp[:] = np.nan
                try:
                    client.process(sent[None, k * size:(k + 1) * size], inp, timeout=10)
                    done = True
                except (pyjack.InputSyncError, pyjack.OutputSyncError) as exc:
                    errors.append(exc)
                    done = False
                assert not np.isnan(inp).any(), (
                    f"call {k} left {np.isnan(inp).sum()} of {size} input frames unfilled "
                    f"({'returned' if done else type(errors[-1]).__name__})")
                if done:
                    break
                assert len(errors) < 20, errors
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert stalls, "the stall never ran inside process()"
    assert any(isinstance(e, pyjack.OutputSyncError) for e in errors), errors
    assert client.output_position == sent.size  # each request queued exactly once
    wait_for(lambda: client.stats.frames_out >= sent.size, "the output to drain")
    time.sleep(4 * PERIOD / RATE)  # the last period reaches the recorder
    got = np.zeros((1, recorder.stats.frames_in), np.float32)
    recorder.process(NOTHING, got, timeout=5)
    heard = got[0][got[0] != 0]
    assert heard.size == sent.size, (heard.size, sent.size)
    np.testing.assert_array_equal(heard, sent)
    report("retry after sync errors", {
        "requests": calls, "frames a request": size, "ring depth": depth,
        "sync errors": {"input": sum(isinstance(e, pyjack.InputSyncError) for e in errors),
                        "output": sum(isinstance(e, pyjack.OutputSyncError) for e in errors)},
        "frames heard": int(heard.size), "frames heard twice": 0})


def test_a_sync_error_is_raised_by_the_call_after_the_loss(make_client):
    """Losses are decided at the start of a call: the call that raises queues
    nothing, and the retry queues all of it."""
    client = make_client("sync-next", depth=1024)
    client.register_port("out", pyjack.IsOutput)
    client.activate()
    block = np.ones((1, 512), np.float32)
    client.process(block, NOTHING, timeout=5)
    wait_for(lambda: client.stats.lost_out > 0, "the output to run dry")
    before = client.output_position
    with pytest.raises(pyjack.OutputSyncError, match="none of this call's output was queued"):
        client.process(block, NOTHING, timeout=5)
    assert client.output_position == before
    client.process(block, NOTHING, timeout=5)
    assert client.output_position == before + 512


def test_none_leaves_a_direction_out_of_process(make_client):
    """process(output, None) moves output only and process(None, input) input
    only, on a client with both; a loss waits for the next call that moves
    its direction."""
    client = wire_loopback(make_client("one-way", depth=1024))
    block = np.ones((1, 256), np.float32)
    got = np.zeros((1, 256), np.float32)
    client.process(block, got, timeout=5)
    read, queued = client.input_position, client.output_position
    client.process(block, None, timeout=5)
    assert (client.input_position, client.output_position) == (read, queued + 256)
    client.process(None, got, timeout=5)
    assert (client.input_position, client.output_position) == (read + 256, queued + 256)
    # Nobody reads or writes: the input ring overflows and the output runs
    # dry. Output-only calls report the output's loss, never the input's;
    # the next call that reads input reports that.
    wait_for(lambda: client.stats.lost_in > 0 and client.stats.lost_out > 0,
             "the input ring to overflow and the output to run dry")
    with pytest.raises(pyjack.OutputSyncError):
        client.process(block, None, timeout=5)
    client.process(block, None, timeout=5)
    with pytest.raises(pyjack.InputSyncError):
        client.process(None, got, timeout=5)
    with pytest.raises(ValueError, match="would move nothing"):
        client.process(None, None)
    with pytest.raises(TypeError, match="numpy.ndarray"):
        client.process([[0.0]], None)


# -- 2. depth against period ---------------------------------------------------


@pytest.mark.parametrize("depth", [16, PERIOD, 2 * PERIOD - 1])
def test_depth_under_two_periods_is_refused(jack_server, depth):
    with pytest.raises(ValueError, match=rf"depth {depth} .*period {PERIOD} frames"):
        pyjack.Client("shallow", server=jack_server.name, depth=depth)
    with pyjack.Client("deep-enough", server=jack_server.name, depth=2 * PERIOD) as client:
        assert client.depth == 2 * PERIOD
    # Without processing there are no rings to keep up with.
    with pyjack.Client("patchbay", False, server=jack_server.name, depth=depth) as client:
        assert client.depth == depth


@pytest.mark.needs("set_buffer_size")
@pytest.mark.parametrize("direction", ["input", "output"])
def test_a_period_above_half_the_depth_makes_process_raise(private_server, direction):
    """After a buffer-size change beyond the ring, process() says so instead of
    waiting until its timeout (or forever)."""
    with pyjack.Client("resized", server=private_server.name, depth=1024) as client:
        flags = pyjack.IsInput if direction == "input" else pyjack.IsOutput
        client.register_port("p", flags)
        client.activate()
        block = np.zeros((1, 256), np.float32)
        args = (NOTHING, block) if direction == "input" else (block, NOTHING)
        client.process(*args, timeout=5)
        # The client asks itself: PipeWire applies a size to the caller's graph only.
        client.set_buffer_size(2048)
        wait_for(lambda: client.stats.buffer_size == 2048, "the new period")
        with pytest.raises(pyjack.UsageError, match=r"period is now 2048 frames.*depth \(1024"):
            client.process(*args, timeout=5)


# -- 3. and 4. rings that are locked, and exactly depth frames -------------------


def locked_kib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmLck:"):
                return int(line.split()[1])
    raise AssertionError("no VmLck in /proc/self/status")


@no_asan_mlock
def test_rings_are_locked_in_memory_and_exactly_depth_frames(make_client):
    if os.geteuid() != 0 and resource.getrlimit(resource.RLIMIT_MEMLOCK)[0] < 1 << 22:
        pytest.skip("needs root or RLIMIT_MEMLOCK >= 4 MiB to lock the rings")
    client = make_client("locked", depth=16384)
    before = locked_kib()
    client.register_port("in", pyjack.IsInput)
    client.register_port("out", pyjack.IsOutput)
    # Two rings of 16384 float32 frames: 64 KiB each, locked, not a byte more.
    assert locked_kib() - before == 2 * 64
    stats = client.stats
    assert stats.mlocked and stats.mlock_error == ""
    client.unregister_port("in")
    assert locked_kib() - before == 64


@no_asan_mlock
def test_mlock_refused_is_reported(jack_server):
    """Without CAP_IPC_LOCK and with a small RLIMIT_MEMLOCK the lock fails:
    stats.mlocked is False and stats.mlock_error says why."""
    if shutil.which("setpriv") is None or shutil.which("prlimit") is None:
        pytest.skip("needs setpriv and prlimit (util-linux)")
    script = textwrap.dedent(f"""
        import pyjack
        with pyjack.Client("unlocked", server={jack_server.name!r}, depth=65536) as c:
            assert c.stats.mlocked, "nothing to lock yet"
            c.register_port("in", pyjack.IsInput)
            s = c.stats
            print(s.mlocked)
            print(s.mlock_error)
    """)
    # Room for the event queue (164 KiB), not for a port's ring as well.
    command = ["prlimit", "--memlock=262144:262144", sys.executable, "-c", script]
    if os.geteuid() == 0:
        command = ["setpriv", "--inh-caps=-ipc_lock", "--bounding-set=-ipc_lock"] + command
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    mlocked, reason = done.stdout.splitlines()[:2]
    assert mlocked == "False", done.stdout
    assert "mlock of a 262144-byte ring failed" in reason, reason
    assert "RLIMIT_MEMLOCK is 262144 bytes" in reason, reason


# -- wait_moved() ----------------------------------------------------------------


def test_wait_moved_waits_for_the_counter(make_client):
    client = make_client("waiter")
    client.register_port("in", pyjack.IsInput)
    client.activate()
    target = client.stats.frames_in + RATE // 10  # 0.1 s on
    client.wait_moved(pyjack.IsInput, target, timeout=5)
    assert client.stats.frames_in >= target
    client.wait_moved(pyjack.IsInput, 0)  # already there: at once
    # No output ports: frames_out never moves.
    with pytest.raises(pyjack.TimeoutError, match="frames_out is 0, not yet 1"):
        client.wait_moved(pyjack.IsOutput, 1, timeout=0.2)
    with pytest.raises(TimeoutError):
        client.wait_moved(pyjack.IsOutput, 1, timeout=0)


def test_wait_moved_wakes_every_waiting_thread(make_client):
    client = make_client("waiters")
    client.register_port("out", pyjack.IsOutput)
    client.register_port("in", pyjack.IsInput)
    client.activate()
    target = client.stats.frames_in + 4 * PERIOD
    woken, failures = [], []

    def wait():
        try:
            client.wait_moved(pyjack.IsInput, target, timeout=10)
            woken.append(client.stats.frames_in)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=wait) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(15)
    assert not failures, failures
    assert len(woken) == 6 and min(woken) >= target


def test_wait_moved_errors(make_client):
    client = make_client("wait-errors")
    client.register_port("in", pyjack.IsInput)
    with pytest.raises(pyjack.UsageError, match="not active"):
        client.wait_moved(pyjack.IsInput, 1, timeout=5)
    for bad in (-1, 1.5, True, 1 << 64):
        with pytest.raises(ValueError, match="frames"):
            client.wait_moved(pyjack.IsInput, bad)
    with pytest.raises(ValueError, match="direction"):
        client.wait_moved(3, 1)
    with pytest.raises(ValueError, match="timeout"):
        client.wait_moved(pyjack.IsInput, 1, timeout=-1)
    client.activate()
    # close() from another thread ends a wait at once.
    closer = threading.Timer(0.2, client.close)
    closer.start()
    started = time.monotonic()
    with pytest.raises(pyjack.NotConnectedError):
        client.wait_moved(pyjack.IsInput, 1 << 62, timeout=30)
    assert time.monotonic() - started < 10
    closer.join()
    with pytest.raises(pyjack.NotConnectedError):
        client.wait_moved(pyjack.IsInput, 1, timeout=5)


# -- 6. smaller promises -----------------------------------------------------------


def test_a_failed_attach_leaves_a_client_that_says_not_connected():
    with pyjack.Server(rate=RATE, period=PERIOD) as server:
        client = pyjack.Client("orphan", server=server.name)
        client.close()
    with pytest.raises(pyjack.NotConnectedError):
        client.attach()  # the server is gone
    reads = {
        "depth": lambda: client.depth,
        "stats": lambda: client.stats,
        "input_position": lambda: client.input_position,
        "output_position": lambda: client.output_position,
        "frame_time_of": lambda: client.frame_time_of(0),
        "inports": lambda: client.inports,
    }
    for name, read in reads.items():
        with pytest.raises(pyjack.NotConnectedError, match="not attached"):
            read()
            pytest.fail(f"{name} answered on a client with no engine")
    client.close()  # still fine


def test_close_does_not_hang_on_a_blocked_callback(make_client):
    client = make_client("blocked")
    entered, release = threading.Event(), threading.Event()

    def blocked(*args):
        entered.set()
        release.wait(60)

    client.activate()  # JACK2 notifies active clients only
    client.set_port_registration_callback(blocked)
    client.register_port("p", pyjack.IsOutput)
    assert entered.wait(10), "the callback never ran"
    watchdog = threading.Timer(30, release.set)  # so that the old behaviour ends too
    watchdog.start()
    try:
        started = time.monotonic()
        with pytest.warns(RuntimeWarning, match="did not return within 2 s"):
            client.close()
        took = time.monotonic() - started
    finally:
        release.set()
        watchdog.cancel()
    assert took < 15, f"close() waited {took:.1f} s for a blocked callback"
    assert client.closed


@pytest.fixture(scope="module")
def lockprobe(tmp_path_factory):
    compiler = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if compiler is None:
        pytest.fail("no C compiler found (set CC or install gcc) to build tests/lockprobe.c")
    library = str(tmp_path_factory.mktemp("lockprobe") / "lockprobe.so")
    subprocess.run([compiler, "-shared", "-fPIC", "-O2", "-Wall", "-o", library,
                    os.path.join(HERE, "lockprobe.c"), "-ldl", "-lpthread"],
                   check=True, capture_output=True, timeout=120)
    return library


def run_probed(lockprobe, server_name, body):
    script = textwrap.dedent("""
        import ctypes, sys, time
        import numpy as np
        import pyjack
        probe = ctypes.CDLL(sys.argv[1])
        probe.lockprobe_gil_locks.restype = ctypes.c_long
        probe.lockprobe_posted_waits.restype = ctypes.c_long
        server = sys.argv[2]
    """) + textwrap.dedent(body)
    env = dict(os.environ, LD_PRELOAD=lockprobe, JACK_NO_START_SERVER="1")
    done = subprocess.run([sys.executable, "-c", script, lockprobe, server_name], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@no_asan_preload
def test_process_takes_no_lock_with_the_gil_held(lockprobe, jack_server):
    """While another thread holds the engine's lock, a lock taken with the GIL
    held stops every Python thread: process() takes its locks without it."""
    counts = run_probed(lockprobe, jack_server.name, """
        with pyjack.Client("gil", server=server) as client:
            out = client.register_port("out", pyjack.IsOutput)
            inp = client.register_port("in", pyjack.IsInput)
            client.activate()
            client.connect(out, inp)
            block = np.zeros((1, 256), np.float32)
            got = np.zeros((1, 256), np.float32)
            client.process(np.zeros((1, 2048), np.float32), np.zeros((1, 2048), np.float32))
            probe.lockprobe_arm(1)
            for _ in range(300):
                client.process(block, got, timeout=5)
            probe.lockprobe_arm(0)
            print(probe.lockprobe_gil_locks())
    """)
    assert counts == ["0"], f"{counts[0]} locks taken with the GIL held in 300 process() calls"


@no_asan_preload
def test_stale_wakeups_are_drained_before_waiting(lockprobe, jack_server):
    """A burst of events while the dispatcher is busy: once it has taken them all,
    it must block again, not wake once per event already handled."""
    counts = run_probed(lockprobe, jack_server.name, """
        import threading
        with pyjack.Client("stale", server=server) as client:
            first = threading.Event()
            seen = []
            def slow(name, registered):
                seen.append(name)
                if not first.is_set():
                    first.set()
                    time.sleep(0.5)  # the other 49 events queue up meanwhile
            client.activate()  # JACK2 notifies active clients only
            client.set_port_registration_callback(slow)
            probe.lockprobe_arm(1)
            for i in range(50):
                client.register_port(f"p{i}", pyjack.IsOutput)
            deadline = time.monotonic() + 10
            while len(seen) < 50 and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(0.3)
            probe.lockprobe_arm(0)
            print(len(seen), probe.lockprobe_posted_waits())
    """)
    seen, posted = map(int, counts)
    assert seen == 50
    assert posted < 10, f"the dispatcher woke {posted} times for 50 events it had already taken"


@no_asan_preload
def test_process_is_woken_once_its_frames_have_moved(lockprobe, jack_server):
    """A process() call waiting for 64 periods of input, or for room for 32
    periods of output, is woken by the cycle that completes them, not by each
    cycle before it: the process thread makes one wake-up call, not 64."""
    counts = run_probed(lockprobe, jack_server.name, """
        with pyjack.Client("wakes", server=server, depth=65536) as client:
            client.register_port("in", pyjack.IsInput)
            client.register_port("out", pyjack.IsOutput)
            client.activate()
            period = client.blocksize
            got = np.zeros((1, 64 * period), np.float32)
            client.process(None, got[:, :period], timeout=5)
            probe.lockprobe_arm(1)
            client.process(None, got, timeout=10)
            probe.lockprobe_arm(0)
            woken_in = probe.lockprobe_posted_waits()
            client.process(np.zeros((1, 65536 - period), np.float32), None, timeout=10)
            probe.lockprobe_arm(1)
            client.process(np.zeros((1, 32 * period), np.float32), None, timeout=10)
            probe.lockprobe_arm(0)
            print(woken_in, probe.lockprobe_posted_waits() - woken_in)
    """)
    woken_in, woken_out = map(int, counts)
    assert woken_in <= 2, f"process() was woken {woken_in} times while 64 periods of input came in"
    assert woken_out <= 2, f"process() was woken {woken_out} times while room for 32 periods was made"


# -- 5. the thread boundary, checked in C ------------------------------------------------


def test_realtime_code_refers_to_no_allocator_lock_or_printf(report):
    if shutil.which("nm") is None or shutil.which(os.environ.get("CC", "cc")) is None:
        pytest.skip("needs a C compiler and nm (binutils)")
    done = subprocess.run(["sh", os.path.join(ROOT, ".ci", "rtcheck")], capture_output=True,
                          text=True, timeout=120, env=PLAIN_ENV)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "rtcheck: ok" in done.stdout
    symbols = [line.split("refers to:")[1].split() for line in done.stdout.splitlines()
               if "(-O2) refers to:" in line][0]
    report("nm -u of _rt_jack.c", {"symbols at -O2": ", ".join(symbols), "forbidden": 0})


def tsan_available():
    compiler = shutil.which(os.environ.get("CC", "cc"))
    if compiler is None:
        return False
    probe = subprocess.run([compiler, "-fsanitize=thread", "-x", "c", "-", "-o", os.devnull],
                           input="int main(void){return 0;}", capture_output=True, text=True,
                           env=PLAIN_ENV)
    return probe.returncode == 0


@pytest.mark.skipif(not tsan_available(), reason="the C compiler has no ThreadSanitizer")
@pytest.mark.timeout(600)
def test_ring_and_table_swap_under_thread_sanitizer(report):
    done = subprocess.run(["sh", os.path.join(ROOT, ".ci", "tsan")], capture_output=True,
                          text=True, timeout=600, env=PLAIN_ENV)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.rstrip().endswith("ok"), done.stdout
    assert "ThreadSanitizer: data race" not in done.stderr
    numbers = {}
    for line in done.stdout.splitlines():
        kind, _, rest = line.partition(": ")
        if kind in ("records", "frames", "tables"):
            numbers[kind] = rest
    report("ring and table swap under ThreadSanitizer", {**numbers, "data races": 0})
