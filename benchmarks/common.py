"""What every benchmark shares: the C reference client, worker processes, the
private server, and printing figures side by side.

Every client runs in a process of its own, one after the other, on the same
private dummy server, so that CPU figures are per client and one client's
trouble cannot spill into another's figures. A worker prints "ready" once it
streams, "start" when its measuring window opens, and then one JSON line.
"""

from __future__ import annotations

import json
import os
import shutil
import queue
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BUILD = ROOT / "build" / "bench"
CLIENTS = ("pyjack", "JACK-Client", "C")
# JACK client names the workers use.
CLIENT_NAMES = {"pyjack": "pyjack-bench", "JACK-Client": "jackclient-bench", "C": "cclient"}


class BenchError(RuntimeError):
    """A benchmark could not run (missing tool, worker failure)."""


# -- the C reference client -------------------------------------------------

def build_c_client() -> Path:
    """Compile benchmarks/cclient.c against libjack (rebuilt when the source changes)."""
    source = HERE / "cclient.c"
    binary = BUILD / "cclient"
    if binary.exists() and binary.stat().st_mtime >= source.stat().st_mtime:
        return binary
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if compiler is None or shutil.which("pkg-config") is None:
        raise BenchError("building the C client needs a C compiler and pkg-config "
                         "(apt install build-essential pkg-config libjack-jackd2-dev)")
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "jack"], capture_output=True, text=True)
    if flags.returncode != 0:
        raise BenchError("pkg-config does not know jack: install libjack-jackd2-dev (or jack2 devel)")
    BUILD.mkdir(parents=True, exist_ok=True)
    command = [compiler, "-O2", "-o", str(binary), str(source), *flags.stdout.split(), "-lpthread"]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise BenchError(f"compiling the C client failed:\n{' '.join(command)}\n{done.stderr}")
    return binary


def have_jack_client() -> bool:
    """True if JACK-Client (module jack) is importable."""
    done = subprocess.run([sys.executable, "-c", "import jack"], capture_output=True)
    return done.returncode == 0


# -- workers ----------------------------------------------------------------

class Worker:
    """A client in a process of its own, talking in lines on stdout."""

    def __init__(self, command: list[str], server_name: str, stdin: bool = False):
        # numpy's BLAS threads are never used here; started, they only spin.
        env = dict(os.environ, JACK_DEFAULT_SERVER=server_name, JACK_NO_START_SERVER="1",
                   PYTHONUNBUFFERED="1", OPENBLAS_NUM_THREADS="1")
        self.command = command
        self.errors = tempfile.TemporaryFile()
        self.process = subprocess.Popen(command, env=env, text=True, stdout=subprocess.PIPE,
                                        stderr=self.errors,
                                        stdin=subprocess.PIPE if stdin else subprocess.DEVNULL)
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.strip())
        self.lines.put(None)

    def expect(self, word: str, timeout: float = 60.0) -> None:
        """Wait for a line that is exactly word."""
        line = self._line(timeout)
        if line != word:
            self._fail(f"expected {word!r}, got {line!r}")

    def result(self, timeout: float = 120.0) -> dict:
        """Wait for the JSON line. The C client counts lost frames each way
        (lost_in, lost_out); "lost" is their sum, as the Python workers give."""
        line = self._line(timeout)
        try:
            result = json.loads(line)
        except json.JSONDecodeError:
            self._fail(f"expected a JSON line, got {line!r}")
        if "lost_in" in result and "lost" not in result:
            result["lost"] = result["lost_in"] + result["lost_out"]
        return result

    def send(self, line: str) -> None:
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def finish(self, timeout: float = 60.0) -> None:
        """Close stdin and wait for the process; kill it if it hangs."""
        if self.process.stdin:
            try:
                self.process.stdin.close()
            except OSError:
                pass
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._fail(f"did not exit within {timeout} s")

    def stop(self) -> None:
        """Make sure the process is gone (after an error)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def _line(self, timeout: float) -> str:
        # The workers' own waits are shorter; this is a backstop.
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            self._fail(f"no answer within {timeout} s")
        if line is None:
            self._fail("exited early")
        return line

    def _fail(self, what: str):
        self.stop()
        self.errors.seek(0)
        error = self.errors.read().decode(errors="replace")
        raise BenchError(f"{' '.join(self.command[:4])}: {what}\n{error}")


def run_worker(command: list[str], server_name: str, words=("ready", "start"),
               timeout: float = 120.0) -> dict:
    """Run one worker through its protocol words to its JSON result."""
    worker = Worker(command, server_name)
    try:
        for word in words:
            worker.expect(word)
        result = worker.result(timeout)
        worker.finish()
    finally:
        worker.stop()
    return result


def clients_to_run(jack_client: bool) -> list[str]:
    """CLIENTS, without JACK-Client when it is not installed."""
    return [c for c in CLIENTS if c != "JACK-Client" or jack_client]


def python_worker(script: str, client: str, **options) -> list[str]:
    """The command that runs `script --worker client` with key=value options."""
    return [sys.executable, str(HERE / script), "--worker", client,
            *(f"{k}={v}" for k, v in options.items())]


def c_worker(cclient: Path, mode: str, **options) -> list[str]:
    return [str(cclient), mode, *(f"{k}={v}" for k, v in options.items())]


def worker_options(argv: list[str]) -> dict:
    """Parse key=value words into numbers where they look like numbers."""
    options = {}
    for word in argv:
        key, _, value = word.partition("=")
        try:
            options[key] = int(value)
        except ValueError:
            try:
                options[key] = float(value)
            except ValueError:
                options[key] = value
    return options


def pyjack_loopback(channels: int, depth: int, lead: int = 0):
    """Worker side: an active pyjack client with ports in_1, out_1, ... in_n,
    out_n, with lead frames of silence queued ahead of its output when given."""
    import numpy as np
    import pyjack
    client = pyjack.Client(CLIENT_NAMES["pyjack"], depth=depth)
    for i in range(channels):
        client.register_port(f"in_{i + 1}", pyjack.IsInput)
        client.register_port(f"out_{i + 1}", pyjack.IsOutput)
    client.activate()
    if lead:
        first = np.zeros((channels, lead), np.float32)
        client.process(first, np.empty_like(first), timeout=10)
    return client


def jack_client_loopback(channels: int):
    """Worker side: an inactive JACK-Client client with ports in_1, out_1, ...
    and the list of its (in, out) port pairs, for the process callback to copy."""
    import jack
    client = jack.Client(CLIENT_NAMES["JACK-Client"], no_start_server=True)
    pairs = [(client.inports.register(f"in_{i + 1}"), client.outports.register(f"out_{i + 1}"))
             for i in range(channels)]
    return client, pairs


def jack_client_copier(channels: int):
    """Worker side: jack_client_loopback() whose process callback copies each
    in to its out; returns the client and a one-item list counting cycles served."""
    client, pairs = jack_client_loopback(channels)
    served = [0]

    @client.set_process_callback
    def process(frames):
        for source, destination in pairs:
            destination.get_buffer()[:] = source.get_buffer()
        served[0] += 1

    return client, served


def emit(word_or_result) -> None:
    """Worker side: print a protocol line."""
    if isinstance(word_or_result, dict):
        print(json.dumps(word_or_result), flush=True)
    else:
        print(word_or_result, flush=True)


def freewheel(server_name: str, on: bool) -> None:
    """Switch the server's freewheel mode with JACK's own jack_freewheel tool."""
    tool = shutil.which("jack_freewheel")
    if tool is None:
        raise BenchError("jack_freewheel was not found (it comes with jackd2's example tools)")
    env = dict(os.environ, JACK_DEFAULT_SERVER=server_name, JACK_NO_START_SERVER="1")
    subprocess.run([tool, "y" if on else "n"], env=env, capture_output=True, timeout=60, check=True)


def run_in_freewheel(command: list[str], server_name: str, before=None) -> dict:
    """Run a worker whose measuring window lies in freewheel: once it is ready
    (and before() has run, to wire it, say), switch the server to freewheel
    with jack_freewheel, take its result, and switch back however that ends.
    Adds "rate", frames per second of wall time."""
    worker = Worker(command, server_name)
    try:
        worker.expect("ready")
        if before is not None:
            before()
        freewheel(server_name, True)
        try:
            worker.expect("start")
            result = worker.result()
        finally:
            freewheel(server_name, False)
        worker.finish()
    finally:
        worker.stop()
    result["rate"] = result["frames"] / result["wall"]
    return result


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise BenchError(f"timed out waiting for {what}")
        time.sleep(0.002)


# -- figures ----------------------------------------------------------------

@dataclass
class Row:
    """One figure for all three clients."""
    question: str
    setting: str
    figure: str
    values: dict                  # client -> number or None
    better: str = "lower"         # "lower" or "higher"
    target: str = ""              # e.g. "pyjack 0", ">= 0.9 x C"
    met: bool | None = None       # whether pyjack meets the target
    digits: int = 3
    notes: list = field(default_factory=list)

    def ratio(self, client: str):
        """client's value divided by C's, when both are numbers and C's is not 0."""
        value, c = self.values.get(client), self.values.get("C")
        if value is None or c in (None, 0):
            return None
        return value / c


def fmt(value, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, int):
        return str(value)
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def print_rows(title: str, rows: list[Row]) -> None:
    """Print figures side by side with ratios to the C client."""
    print(f"\n== {title}")
    head = f"{'setting':<22} {'figure':<34} " + " ".join(f"{c:>12}" for c in CLIENTS) \
        + f" {'pyjack/C':>9} {'JClient/C':>9}  target"
    print(head)
    for row in rows:
        cells = " ".join(f"{fmt(row.values.get(c), row.digits):>12}" for c in CLIENTS)
        ratios = " ".join(f"{fmt(row.ratio(c), 3):>9}" for c in ("pyjack", "JACK-Client"))
        verdict = "" if row.met is None else (" (met)" if row.met else " (NOT met)")
        print(f"{row.setting:<22} {row.figure:<34} {cells} {ratios}  {row.target}{verdict}")
        for note in row.notes:
            print(f"{'':<22} note: {note}")
    sys.stdout.flush()


# Set by run_all.py --realtime: JACK's threads get real-time priority, as on a
# studio machine, instead of competing with everything else for the CPU.
REALTIME = False


def private_server(rate: int, period: int, attempts: int = 30):
    """A started pyjack.Server; waits while the machine runs too many servers."""
    import pyjack
    for attempt in range(attempts):
        server = pyjack.Server(rate=rate, period=period, realtime=REALTIME)
        try:
            return server.start()
        except pyjack.Error as error:
            if "Too many servers" not in str(error) or attempt == attempts - 1:
                raise
        time.sleep(2)


def xruns_in_log(log: str, client_name: str) -> tuple[int, int]:
    """(xruns the server blamed on client_name, xruns of the server's own
    timer running late) in a piece of jackd's log."""
    blamed = late = 0
    for line in log.splitlines():
        if "JackEngine::XRun" in line and (f"client = {client_name} " in line
                                           or f"client {client_name} " in line):
            blamed += 1
        elif "JackTimedDriver::Process XRun" in line:
            late += 1
    return blamed, late


def bench_main(doc: str, title: str, run, workers: dict, quick_help: str) -> None:
    """The command line of one benchmark script: run it on its own and print
    its figures, or (with --worker, as the benchmark starts itself) be one of
    its client processes."""
    import argparse
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--worker", choices=sorted(workers), help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()
    if args.worker:
        workers[args.worker](worker_options(rest))
        return
    print_rows(title, run(build_c_client(), args.quick, have_jack_client()))
