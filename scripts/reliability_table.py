"""Write the reliability table of docs/reliability.md from the figures of a real test run.

    PYJACK_FIGURES=figures.jsonl python -m pytest --full    # the tests record their figures
    python scripts/reliability_table.py figures.jsonl        # print the table
    python scripts/reliability_table.py figures.jsonl --write docs/reliability.md   # rewrite it there

--write rewrites the table between the markers BEGIN and END below in any file
that has them; the documentation's reliability page (docs/reliability.md) is
the one that does.

tests/figures.py appends one JSON line per figure set ({"test": ..., "what": ...,
figures...}) and one line with the run's facts ({"run": {...}}). Each row below
names the test whose figures fill its "Last run" column; a row whose test did
not report in the run says so, so the table never shows figures of another run.
"""

import argparse
import json
import os
import re
import sys

BEGIN = "<!-- reliability table: made by scripts/reliability_table.py -->"
END = "<!-- end of reliability table -->"

# (test as pytest names it, what it proves, where it lives)
ROWS = [
    ("test_steady_state_streaming_makes_no_forbidden_call",
     "JACK's process and notification threads make no `malloc`, `calloc`, `realloc`, `free`, "
     "aligned allocation, `pthread_mutex_lock` or `printf`-family call in steady state, counted "
     "by an `LD_PRELOAD` probe (`tests/rtprobe.c`)", "`test_rtsafe.py`"),
    ("test_buffer_size_and_freewheel_changes_make_no_forbidden_call_in_our_callbacks",
     "The same while buffer size and freewheel change (JACK's own code may lock around them)",
     "`test_rtsafe.py`"),
    ("test_probe_counts_a_process_callback_that_runs_python",
     "The probe sees a process callback that runs Python", "`test_rtsafe.py`"),
    ("test_realtime_code_refers_to_no_allocator_lock_or_printf",
     "The code JACK's threads run (`_rt_jack.c`) refers to no allocator, mutex, `printf` or "
     "sleep symbol (`nm -u`)", "`.ci/rtcheck`, `test_engine.py`"),
    ("test_ring_and_table_swap_under_thread_sanitizer",
     "The ring and the port-table swap under ThreadSanitizer, two threads each, no server",
     "`.ci/tsan`, `test_engine.py`"),
    ("test_retry_after_a_sync_error_never_queues_a_frame_twice",
     "Requests of 4x the ring depth with a 0.2 s Python stall inside one, each retried until "
     "it succeeds: every call's input filled, the ramp heard exactly once", "`test_engine.py`"),
    ("test_server_going_away_mid_stream_ends_every_call_within_2_s[kill]",
     "Server killed (SIGKILL) mid-stream: every blocked call raises within 2 s, "
     "`stats.shutdown` is set, a new client works on a new server", "`test_faults.py`"),
    ("test_server_going_away_mid_stream_ends_every_call_within_2_s[stop]",
     "The same with the server stopped", "`test_faults.py`"),
    ("test_buffer_size_changes_keep_the_ramp_bit_exact",
     "20 buffer-size changes (64 to 2048 frames) while streaming a ramp", "`test_faults.py`"),
    ("test_freewheel_on_and_off_while_streaming",
     "Freewheel switched on and off 3 times while streaming", "`test_faults.py`"),
    ("test_another_client_rewiring_our_ports[10]",
     "Another client connecting and disconnecting our ports for 10 s", "`test_faults.py`"),
    ("test_open_close_cycles_with_the_same_name[500]",
     "500 open/close cycles with the same exact name", "`test_churn.py`"),
    ("test_32_clients_streaming_in_one_process", "32 clients streaming in one process",
     "`test_churn.py`"),
    ("test_256_ports_on_one_client", "256 ports on one client (128 loopbacks), aligned",
     "`test_churn.py`"),
    ("test_register_and_unregister_while_streaming[1000]",
     "1,000 ports registered and unregistered while streaming", "`test_churn.py`"),
    ("test_process_while_others_list_connect_and_read_counters",
     "`process()` in one thread while three others list ports, connect and read counters",
     "`test_threads.py`"),
    ("test_a_million_process_calls_keep_memory_flat",
     "1,000,000 `process()` calls (16 frames each)", "`test_memory.py`"),
    ("test_duplex_and_failing_calls_leak_nothing",
     "3,000 duplex calls (half with strided arrays) and 90,300 rejected calls",
     "`test_memory.py`"),
    ("test_random_api_sequences_raise_only_documented_exceptions[100]",
     "Random sequences of open, register, unregister, activate, deactivate, connect, "
     "disconnect, `process()` (random shapes, dtypes, strides) and close: only documented "
     "exceptions, nothing moved by a refused call, no crash, no hang",
     "`test_fuzz.py` (hypothesis, in a subprocess)"),
    ("test_soak_loses_no_frame",
     "Soak: a ramp at 64 frames for 60 s, the consumer stalling at random for up to half "
     "the ring", "`benchmarks/soak.py`, `test_soak.py`"),
]


def asan_tests():
    """The test files .ci/run runs under AddressSanitizer, read from .ci/run itself."""
    ci_run = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".ci", "run")
    with open(ci_run) as f:
        found = re.search(r"^sh \.ci/asan (.+)$", f.read(), re.M)
    return [os.path.basename(t) for t in found.group(1).split()] if found else []


def words(key):
    return key.replace("_", " ")


def number(value):
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, dict):
        if not value:
            return "none"
        return ", ".join(f"{number(v)} {k}" for k, v in value.items())
    if isinstance(value, list):
        return f"{len(value)}" if value else "none"
    return str(value)


def last_run(figures):
    return "; ".join(f"{words(key)}: {number(value)}" for key, value in figures.items()
                     if key not in ("test", "what"))


def load(path):
    run, by_test = {}, {}
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            record = json.loads(line)
            if "run" in record:
                run = record["run"]
            else:
                by_test[record["test"]] = record
    return run, by_test


def table(run, by_test):
    lines = []
    if run:
        lines.append(f"Figures of the run of {run.get('date', '?')} (pyjack {run.get('pyjack', '?')}, "
                     f"commit {run.get('commit', '?')}; {run.get('jackd', '?')}; Python "
                     f"{run.get('python', '?')}; {run.get('cpus', '?')} cores, {run.get('cpu', '?')}; "
                     f"Linux {run.get('kernel', '?')}), made with "
                     "`PYJACK_FIGURES=figures.jsonl python -m pytest --full` and this script.")
        lines.append("")
    lines.append("| What | Where | Last run |")
    lines.append("|---|---|---|")
    for test, what, where in ROWS:
        record = by_test.get(test)
        figures = last_run(record) if record else "not reported in this run"
        lines.append(f"| {what} | {where} | {figures} |")
    tests = ", ".join(f"`{t}`" for t in asan_tests()) or "no tests (not in .ci/run)"
    lines.append(f"| The engine's tests again against an AddressSanitizer build | `.ci/asan` over "
                 f"{tests} | every run of `.ci/run`, which fails on any report |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("figures", help="the JSON-lines file PYJACK_FIGURES named")
    parser.add_argument("--write", metavar="PAGE",
                        help="rewrite the table between the markers in this file "
                             "(docs/reliability.md)")
    args = parser.parse_args(argv)
    text = table(*load(args.figures))
    if not args.write:
        print(text)
        return 0
    with open(args.write) as f:
        page = f.read()
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    if not pattern.search(page):
        print(f"{args.write} has no reliability table markers ({BEGIN})", file=sys.stderr)
        return 1
    page = pattern.sub(lambda _: f"{BEGIN}\n{text}\n{END}", page)
    with open(args.write, "w") as f:
        f.write(page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
