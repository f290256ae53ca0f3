"""netjack2 as a distributed engine: a ramp from a client on the master goes
through the network to a client on the slave and back, bit-exact with the
same latency every time; killing the slave mid-stream hangs nothing.

libjack keeps per-process state, so one process opens clients on one server
only: the master's clients run in a subprocess, the slave's in this one.
"""

import json
import subprocess
import sys
import threading
import time

import pytest

import pyjack
from conftest import PERIOD, RATE, tool_env

pytestmark = pytest.mark.needs("private_jackd")

# The master's side: two clients, one sending into the network
# (slave:to_slave_1, which arrives on the slave as system:capture_1) and one
# receiving from it (slave:from_slave_1, from the slave's system:playback_1).
# Prints one JSON line per round trip.
MASTER_ROUND_TRIPS = r"""
import json, sys
import numpy as np, pyjack

master, runs, frames = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
none = np.zeros((0, 1), np.float32)
for run in range(runs):
    with pyjack.Client("nj-out", server=master) as sender, \
         pyjack.Client("nj-in", server=master) as receiver:
        out = sender.register_port("out", pyjack.IsOutput)
        inp = receiver.register_port("in", pyjack.IsInput)
        receiver.activate()
        sender.activate()
        sender.connect(out, "slave:to_slave_1")
        receiver.connect("slave:from_slave_1", inp)
        block = sender.blocksize
        ramp = np.arange(1, frames + 1, dtype=np.float32)[None, :]
        tail = 72 * block  # room for the trip through the network and back, and the lead
        played = np.zeros((1, frames + tail), np.float32)
        played[:, :frames] = ramp
        heard = np.zeros_like(played)
        waiting = receiver.stats.frames_in - receiver.input_position
        if waiting > 0:
            receiver.process(none, np.zeros((1, waiting), np.float32), timeout=5)
        first_in = receiver.input_position
        lead = 8 * block  # the sender stays this far ahead, so its ring never runs dry
        sender.process(played[:, :lead], none, timeout=5)
        for start in range(0, played.shape[1] - lead, block):
            sender.process(played[:, lead + start:lead + start + block], none, timeout=5)
            receiver.process(none, heard[:, start:start + block], timeout=5)
        starts = np.flatnonzero(heard[0] == 1.0)
        result = {"arrived": None, "exact": False, "latency": None}
        if starts.size:
            arrived = int(starts[0])
            result["arrived"] = arrived
            result["exact"] = bool(np.array_equal(heard[0, arrived:arrived + frames], ramp[0]))
            left_at = sender.frame_time_of(0, pyjack.IsOutput)
            arrived_at = receiver.frame_time_of(first_in + arrived, pyjack.IsInput)
            result["latency"] = (arrived_at - left_at) % 2**32
        result["lost"] = [sender.stats.lost_out, receiver.stats.lost_in]
        result["xruns"] = max(c.stats.xruns for c in (sender, receiver))
        print(json.dumps(result), flush=True)
"""

# The master's side of the fault test: streams silence out and reads what
# comes back until stdin says "stop", printing its frame counters meanwhile.
MASTER_STREAMING = r"""
import json, select, sys, time
import numpy as np, pyjack

master = sys.argv[1]
none = np.zeros((0, 1), np.float32)
with pyjack.Client("nj-stream", server=master) as client:
    out = client.register_port("out", pyjack.IsOutput)
    inp = client.register_port("in", pyjack.IsInput)
    client.activate()
    client.connect(out, "slave:to_slave_1")
    client.connect("slave:from_slave_1", inp)
    block = np.zeros((1, client.blocksize), np.float32)
    heard = np.zeros((1, client.blocksize), np.float32)
    print(json.dumps({"streaming": True}), flush=True)
    errors = []
    while not select.select([sys.stdin], [], [], 0)[0]:
        try:
            client.process(block, heard, timeout=5)
        except (pyjack.InputSyncError, pyjack.OutputSyncError):
            pass
        except pyjack.Error as error:
            errors.append(f"{type(error).__name__}: {error}")
            time.sleep(0.01)
    sys.stdin.readline()
    moved = client.stats.frames_in
    time.sleep(0.5)
    still_moving = client.stats.frames_in > moved
with pyjack.Client("nj-after", server=master) as after:
    ports = after.get_ports("^system:")
print(json.dumps({"errors": errors[:3], "still_moving": still_moving, "ports": ports}), flush=True)
"""


def forward(stream, stop, failures):
    """The slave's client: what comes in from the network goes straight back."""
    try:
        for inblock, outblock in stream.blocks(PERIOD):
            outblock[:] = inblock
            if stop.is_set():
                return
    except pyjack.Error as error:
        failures.append(error)


@pytest.fixture
def netjack_pair():
    try:  # real-time priority, where we may, keeps a busy machine from disturbing the network
        server = pyjack.Server(kind="netjack2", rate=RATE, period=PERIOD, realtime=True).start()
    except pyjack.Error:
        server = pyjack.Server(kind="netjack2", rate=RATE, period=PERIOD).start()
    with server:
        yield server


def test_a_ramp_goes_through_the_network_and_back_bit_exact_with_one_latency(netjack_pair):
    """Round trips one at a time, each in a fresh master process; a trip
    during which the master had an xrun or the slave's stream skipped a
    cycle (a loaded machine) proves nothing and is tried again."""
    slave = netjack_pair
    stop, failures = threading.Event(), []
    clean, spoiled = [], []
    with pyjack.Stream(inputs="system:capture_1$", outputs="system:playback_1$",
                       name="nj-slave", server=slave.name, latency=4096) as stream:
        worker = threading.Thread(target=forward, args=(stream, stop, failures))
        worker.start()
        try:
            time.sleep(0.5)
            while len(clean) < 3 and len(spoiled) < 12:
                before = (stream.lost_in, stream.lost_out, stream.skipped)
                done = subprocess.run(
                    [sys.executable, "-c", MASTER_ROUND_TRIPS, slave.master, "1", str(RATE)],
                    env=tool_env(slave.master), capture_output=True, text=True, timeout=120)
                assert done.returncode == 0, done.stderr[-3000:]
                assert not failures, failures
                trip = json.loads(done.stdout.strip().splitlines()[-1])
                trip["slave"] = [now - then for now, then in zip(
                    (stream.lost_in, stream.lost_out, stream.skipped), before)]
                (spoiled if trip["xruns"] or any(trip["lost"]) or any(trip["slave"])
                 else clean).append(trip)
        finally:
            stop.set()
            worker.join(10)
    print(f"clean round trips: {clean}; spoiled by xruns: {spoiled}")
    assert len(clean) == 3, f"too many round trips spoiled by xruns: {spoiled}"
    assert all(trip["exact"] for trip in clean), clean
    latencies = {trip["latency"] for trip in clean}
    assert len(latencies) == 1, clean
    # The slave's client forwards 4096 frames after arrival; the network adds
    # whole periods on top.
    (latency,) = latencies
    assert latency > 4096 and (latency - 4096) % PERIOD == 0, latency


def test_killing_the_slave_mid_stream_hangs_nothing_and_the_master_goes_on(netjack_pair):
    slave = netjack_pair
    stop, failures = threading.Event(), []
    master = subprocess.Popen([sys.executable, "-c", MASTER_STREAMING, slave.master],
                              env=tool_env(slave.master), stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stream = pyjack.Stream(inputs="system:capture_1$", outputs="system:playback_1$",
                               name="nj-victim", server=slave.name, latency=4096)
        worker = threading.Thread(target=forward, args=(stream, stop, failures))
        worker.start()
        assert json.loads(master.stdout.readline()) == {"streaming": True}
        time.sleep(1.0)
        slave.kill()
        worker.join(30)
        assert not worker.is_alive(), "the slave's client hung after its server died"
        assert failures and isinstance(failures[0], pyjack.Error), failures
        stream.close()
        # The master keeps running cycles and takes new clients.
        time.sleep(1.0)
        master.stdin.write("stop\n")
        master.stdin.flush()
        out, err = master.communicate(timeout=60)
    finally:
        stop.set()
        if master.poll() is None:
            master.kill()
            master.wait(10)
    assert master.returncode == 0, err[-3000:]
    report = json.loads(out.strip().splitlines()[-1])
    assert report["still_moving"], report
    assert "system:capture_1" in report["ports"], report
