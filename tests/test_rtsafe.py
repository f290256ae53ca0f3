"""Real-time safety: JACK's threads never allocate, lock or print in pyjack's code.

tests/rtprobe.c is an LD_PRELOAD library that wraps every jack_set_*_callback,
so it knows which threads run a client's callbacks, and counts malloc, calloc,
realloc, free, the aligned allocators, pthread_mutex_lock and printf-family
calls on those threads: inside the callbacks, and anywhere on the thread. The
workload (tests/rtprobe_workload.py) runs in a subprocess with the probe
preloaded and arms it only after a warm-up.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest

from figures import report  # noqa: F401 (fixture)

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope="session")
def rtprobe(tmp_path_factory):
    """Build the probe with the system C compiler; return the library's path."""
    compiler = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if compiler is None:
        pytest.fail("no C compiler found (set CC or install gcc) to build tests/rtprobe.c")
    library = str(tmp_path_factory.mktemp("rtprobe") / "rtprobe.so")
    subprocess.run([compiler, "-shared", "-fPIC", "-O2", "-Wall", "-o", library,
                    os.path.join(HERE, "rtprobe.c"), "-Wl,--no-as-needed", "-ljack", "-ldl",
                    "-lpthread"], check=True, capture_output=True, timeout=120)
    return library


def run_workload(rtprobe, server_name, mode, seconds):
    env = dict(os.environ, LD_PRELOAD=rtprobe, JACK_NO_START_SERVER="1")
    done = subprocess.run([sys.executable, os.path.join(HERE, "rtprobe_workload.py"), rtprobe,
                           server_name, mode, str(seconds)],
                          env=env, capture_output=True, text=True, timeout=60 + 5 * seconds)
    assert done.returncode == 0, f"workload failed ({done.returncode}):\n{done.stderr}"
    result = json.loads(done.stdout)
    assert result["errors"] == []
    return result


def callbacks_by_role(result, role):
    """Callbacks of one kind ("process" or "notify") run while the probe was armed."""
    return sum(t[role] for t in result["threads"].values())


def forbidden_calls(result):
    """(inside our callbacks, anywhere on JACK's own threads) as readable lists."""
    python_threads = set(result["python_threads"])
    inside, jack_threads = [], []
    for c in result["counts"]:
        if c["in_callback"]:
            inside.append(f"{c['function']} x{c['in_callback']} on thread {c['tid']}")
        if c["on_thread"] and c["tid"] not in python_threads:
            jack_threads.append(f"{c['function']} x{c['on_thread']} on thread {c['tid']}")
    return inside, jack_threads


@pytest.mark.needs("lock_free_port_lookup")
def test_steady_state_streaming_makes_no_forbidden_call(rtprobe, jack_server, report):
    result = run_workload(rtprobe, jack_server.name, "pyjack", 3)
    inside, jack_threads = forbidden_calls(result)
    report("steady state, 3 s", {"process_callbacks": callbacks_by_role(result, "process"),
                                 "notification_callbacks": callbacks_by_role(result, "notify"),
                                 "calls_in_callbacks": len(inside),
                                 "calls_on_jack_threads": len(jack_threads)})
    # The probe really watched both kinds of thread while armed.
    assert callbacks_by_role(result, "process") >= 100
    assert callbacks_by_role(result, "notify") >= 50
    assert result["lost_in"] == 0 and result["lost_out"] == 0
    assert inside == []
    # JACK's own loop on those threads is clean too in steady state.
    assert jack_threads == []


@pytest.mark.needs("lock_free_port_lookup", "set_buffer_size")
def test_buffer_size_and_freewheel_changes_make_no_forbidden_call_in_our_callbacks(
        rtprobe, private_server, report):
    # JACK itself locks a mutex on its notification thread around a buffer
    # size change; only calls made from our callbacks are ours to answer for.
    result = run_workload(rtprobe, private_server.name, "pyjack-server-events", 3)
    inside, jack_threads = forbidden_calls(result)
    report("buffer size and freewheel changes, 3 s", {
        "process_callbacks": callbacks_by_role(result, "process"),
        "notification_callbacks": callbacks_by_role(result, "notify"),
        "calls_in_callbacks": len(inside), "jack_own_calls": jack_threads,
        "slowest_graph_call": result["slowest_graph_call"]})
    assert callbacks_by_role(result, "process") >= 100
    assert callbacks_by_role(result, "notify") >= 50
    assert inside == []


def test_probe_counts_a_process_callback_that_runs_python(rtprobe, jack_server, report):
    # The same probe on a client whose process callback is Python (through
    # ctypes): it must see the allocations and locks, or the tests above
    # prove nothing.
    result = run_workload(rtprobe, jack_server.name, "python-callback", 1)
    assert result["cycles"] >= 20
    inside, jack_threads = forbidden_calls(result)
    functions = {c["function"] for c in result["counts"] if c["in_callback"]}
    report("a Python process callback, 1 s", {"cycles": result["cycles"], "calls": inside})
    assert {"malloc", "free", "pthread_mutex_lock"} <= functions, inside
    assert jack_threads


# -- MIDI ---------------------------------------------------------------------------


@pytest.mark.needs("lock_free_port_lookup")
def test_midi_in_and_out_make_no_forbidden_call(rtprobe, jack_server, report):
    result = run_workload(rtprobe, jack_server.name, "pyjack-midi", 3)
    inside, jack_threads = forbidden_calls(result)
    report("MIDI in and out, 3 s", {"process_callbacks": callbacks_by_role(result, "process"),
                                    "midi_out": result["midi_out"], "midi_in": result["midi_in"],
                                    "midi_late": result["midi_late"],
                                    "calls_in_callbacks": len(inside),
                                    "calls_on_jack_threads": len(jack_threads)})
    assert callbacks_by_role(result, "process") >= 100
    # Events really crossed both directions while the probe watched, late
    # ones included (they take the offset-0 path).
    assert result["midi_out"] >= 1000 and result["midi_in"] >= 1000
    assert result["midi_late"] > 0
    assert result["midi_dropped"] == 0
    assert inside == []
    assert jack_threads == []
# -- set_freewheel(): the engine's freewheel mode (armed, leaving) -----------------

@pytest.mark.needs("lock_free_port_lookup", "freewheel_lossless")
def test_set_freewheel_switches_make_no_forbidden_call_in_our_callbacks(rtprobe, private_server,
                                                                         report):
    # The streaming thread switches freewheel on and off itself: the process
    # thread waits in armed mode, the freewheel callback disarms.
    result = run_workload(rtprobe, private_server.name, "pyjack-set-freewheel", 3)
    inside, jack_threads = forbidden_calls(result)
    report("set_freewheel() switches, 3 s", {
        "switches": result["freewheel_switches"],
        "process_callbacks": callbacks_by_role(result, "process"),
        "notification_callbacks": callbacks_by_role(result, "notify"),
        "calls_in_callbacks": len(inside), "jack_own_calls": jack_threads})
    assert result["errors"] == []
    assert result["freewheel_switches"] >= 4
    assert result["lost_in"] == 0 and result["lost_out"] == 0
    assert callbacks_by_role(result, "process") >= 100
@pytest.mark.needs("lock_free_port_lookup")
def test_timebase_sync_and_latency_callbacks_make_no_forbidden_call(rtprobe, jack_server, report):
    # Streaming as above, with the time callbacks of _rt_time_jack.c running:
    # a tempo map changing, transport moves answered by slow-sync (in time or
    # by its timeout), latencies stated and recomputed, a property changing.
    result = run_workload(rtprobe, jack_server.name, "pyjack-time", 3)
    inside, jack_threads = forbidden_calls(result)
    report("timebase, sync and latency callbacks, 3 s", {
        **result["time"], "calls_in_callbacks": len(inside), "jack_own_calls": jack_threads})
    # Each kind of callback really ran while the probe was armed.
    assert result["time"]["timebase_calls"] >= 50
    assert result["time"]["sync_requests"] >= 5
    assert result["time"]["sync_timeouts"] >= 1
    assert result["time"]["latency_calls"] >= 5
    assert inside == []
