"""The pyjack command, driven as a user drives it: a subprocess on the session
server, with JACK's own tools (jack_lsp, jack_connect, jack_alias,
jack_bufsize, jack_samplerate, jack_simple_client), a sound file read back
with soundfile, and a pseudo-terminal's screen as witnesses."""

import json
import os
import pty
import queue
import re
import select
import shutil
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import pyjack
from conftest import run_tool, tool_env
from helpers import RampProducer, consecutive_runs, ramp

STAMP = r"\d\d:\d\d:\d\d\.\d{3} "




# The commands under test get --server NAME while $JACK_DEFAULT_SERVER names
# a server that does not exist: every test also shows that --server is obeyed.
ELSEWHERE = tool_env("cli-nosuch")


def pyjack_cmd(server, *args, timeout=30, command=None, env=None):
    """Run `python -m pyjack --server NAME args...`; the CompletedProcess."""
    command = command or [sys.executable, "-m", "pyjack"]
    return subprocess.run([*command, args[0], "--server", server.name, *args[1:]],
                          capture_output=True, text=True, timeout=timeout, env=env or ELSEWHERE)


def start(server, *args, **options):
    """The command running in the background, its stdout read line by line."""
    process = subprocess.Popen([sys.executable, "-m", "pyjack", args[0], "--server", server.name,
                                *args[1:]], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=ELSEWHERE, **options)
    process.lines = queue.Queue()
    process.seen = []

    def pump():
        for line in process.stdout:
            process.lines.put(line.rstrip("\n"))

    threading.Thread(target=pump, daemon=True).start()
    return process


def expect(process, pattern, timeout=10.0):
    """The first line of the process's stdout from now on that matches pattern."""
    regex = re.compile(pattern)
    deadline = time.monotonic() + timeout
    while True:
        try:
            line = process.lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            pytest.fail(f"no line matching {pattern!r} within {timeout} s; saw {process.seen}")
        process.seen.append(line)
        if regex.search(line):
            return line


def interrupt(process, timeout=10.0):
    """Ctrl-C; the exit code and stderr."""
    process.send_signal(signal.SIGINT)
    try:
        code = process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        pytest.fail(f"the command did not stop within {timeout} s of Ctrl-C")
    return code, process.stderr.read()


def stop(process):
    """End a process gently (a JACK client then leaves the graph at once), else by force."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
    process.wait()


def wait_for(predicate, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)
    return value


def connections(server):
    """jack_lsp -c as {port: [connected ports]}."""
    result, port = {}, None
    for line in run_tool(server.name, "jack_lsp", "-c").splitlines():
        if line.startswith(" "):
            result[port].append(line.strip())
        else:
            port = line.strip()
            result[port] = []
    return result


def one_sentence(stderr):
    """An expected failure: one line, no traceback."""
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.fixture
def simple_client(jack_server):
    """jack_simple_client (a 0.2 sine on output1 and output2) on the session server."""
    process = subprocess.Popen(["jack_simple_client"], env=tool_env(jack_server.name),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with pyjack.Client("cli-probe", False, server=jack_server.name) as probe:
            wait_for(lambda: len(probe.get_ports("^jack_simple_client:")) == 2,
                     what="jack_simple_client's ports")
        yield process
    finally:
        stop(process)


@pytest.fixture
def wired(make_client):
    """Two active clients: cli-a with out_1..out_3, cli-b with in_1..in_3."""
    a, b = make_client("cli-a", False), make_client("cli-b", False)
    for i in (1, 2, 3):
        a.register_port(f"out_{i}", pyjack.IsOutput)
        b.register_port(f"in_{i}", pyjack.IsInput)
    a.activate()
    b.activate()
    return a, b


# -- conventions ---------------------------------------------------------------

COMMANDS = ["ports", "connect", "disconnect", "save", "restore", "watch", "meter", "rec",
            "play", "info"]


def test_every_subcommand_has_help_with_server(capsys):
    from pyjack._cli import main
    for name in COMMANDS:
        with pytest.raises(SystemExit) as exit:
            main([name, "--help"])
        assert exit.value.code == 0
        out = capsys.readouterr().out
        assert out.startswith(f"usage: pyjack {name}") and "--server NAME" in out, name
    assert main([]) == 2


def test_usage_errors_exit_2_and_failures_exit_1_without_traceback(jack_server, wired):
    done = subprocess.run([sys.executable, "-m", "pyjack", "connect", "only-one"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "usage: pyjack connect" in done.stderr
    done = pyjack_cmd(jack_server, "connect", "cli-a:out_(", "cli-b:in_1")
    assert done.returncode == 2
    assert "not a valid regular expression" in one_sentence(done.stderr)
    # A missing server is one sentence (libjack's own lines are kept off stderr).
    done = subprocess.run([sys.executable, "-m", "pyjack", "ports", "--server", "cli-nosuch"],
                          capture_output=True, text=True, timeout=30,
                          env=dict(os.environ, JACK_DEFAULT_SERVER=jack_server.name))
    assert done.returncode == 1
    assert one_sentence(done.stderr) == (
        "pyjack ports: no JACK server named 'cli-nosuch' is running (start jackd or PipeWire, "
        "or name another with --server)")


# -- ports, aliases --------------------------------------------------------------

@pytest.mark.needs("foreign_port_aliases")
def test_get_port_aliases_reads_what_jack_alias_set(jack_server, wired):
    a, _ = wired
    assert a.get_port_aliases("cli-a:out_1") == []
    run_tool(jack_server.name, "jack_alias", "cli-a:out_1", "synth:left")
    run_tool(jack_server.name, "jack_alias", "cli-a:out_1", "hw:out-left")
    assert a.get_port_aliases("cli-a:out_1") == ["synth:left", "hw:out-left"]
    assert a.get_port_aliases("system:capture_1")  # the dummy backend names its ports too
    with pytest.raises(pyjack.UsageError, match="no port named"):
        a.get_port_aliases("cli-a:nosuch")


@pytest.mark.needs("foreign_port_aliases")
def test_ports_through_the_installed_script(jack_server, wired):
    script = shutil.which("pyjack", path=os.path.dirname(sys.executable))
    assert script, "the pyjack console script is not installed beside this python"
    run_tool(jack_server.name, "jack_alias", "cli-b:in_2", "mixer:ch2")
    run_tool(jack_server.name, "jack_connect", "cli-a:out_1", "cli-b:in_2")
    run_tool(jack_server.name, "jack_connect", "cli-a:out_3", "cli-b:in_2")
    done = pyjack_cmd(jack_server, "ports", "^(cli-[ab]|system):", "--json", command=[script])
    assert done.returncode == 0, done.stderr
    listed = {port["name"]: port for port in json.loads(done.stdout)}
    # JACK's jack_lsp is the witness: the same ports, connections, aliases, types.
    witness = connections(jack_server)
    assert sorted(listed) == sorted(name for name in witness
                                    if name.startswith(("cli-a:", "cli-b:", "system:")))
    for name, port in listed.items():
        assert sorted(port["connections"]) == sorted(witness[name]), name
    aliases = run_tool(jack_server.name, "jack_lsp", "-A", "cli-b:in_2").splitlines()
    assert listed["cli-b:in_2"]["aliases"] == [line.strip() for line in aliases[1:]] == ["mixer:ch2"]
    types = run_tool(jack_server.name, "jack_lsp", "-t", "cli-a:out_1").splitlines()
    assert types[1].strip() == "32 bit float mono audio" and listed["cli-a:out_1"]["type"] == "audio"
    assert listed["cli-a:out_1"]["direction"] == "output"
    assert listed["cli-b:in_2"]["direction"] == "input" and listed["cli-b:in_2"]["flags"] == []

    done = pyjack_cmd(jack_server, "ports", "^cli-b:", command=[script])
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "cli-b",
        "  in_1  audio input",
        "  in_2  audio input",
        "      <- cli-a:out_1",
        "      <- cli-a:out_3",
        "      alias mixer:ch2",
        "  in_3  audio input",
    ]
    properties = run_tool(jack_server.name, "jack_lsp", "-p", "system:capture_1").split()
    assert properties[-1] == "output,physical,terminal,"  # jack_lsp's words for the flags
    assert listed["system:capture_1"]["flags"] == ["physical", "terminal"]
    assert listed["system:capture_1"]["direction"] == "output"


# -- connect, disconnect -------------------------------------------------------------

def test_connect_and_disconnect_with_regular_expressions(jack_server, wired):
    done = pyjack_cmd(jack_server, "connect", r"cli-a:out_(\d)", r"cli-b:in_\1")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"cli-a:out_{i} -> cli-b:in_{i}" for i in (1, 2, 3)]
    witness = connections(jack_server)
    assert [witness[f"cli-a:out_{i}"] for i in (1, 2, 3)] == [[f"cli-b:in_{i}"] for i in (1, 2, 3)]

    # Fan out: one source to every matching destination.
    done = pyjack_cmd(jack_server, "connect", "cli-a:out_1", "cli-b:in_[23]")
    assert done.returncode == 0, done.stderr
    assert sorted(connections(jack_server)["cli-a:out_1"]) == [f"cli-b:in_{i}" for i in (1, 2, 3)]

    # Without a destination: every connection of the sources.
    done = pyjack_cmd(jack_server, "disconnect", "cli-a:out_[12]")
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 4
    witness = connections(jack_server)
    assert witness["cli-a:out_1"] == witness["cli-a:out_2"] == []
    assert witness["cli-a:out_3"] == ["cli-b:in_3"]

    # What cannot be done: one sentence, exit code 1.
    done = pyjack_cmd(jack_server, "connect", r"cli-a:out_(\d)", r"cli-b:in_\1\1")
    assert done.returncode == 1
    assert "no input port matches 'cli-b:in_11'" in one_sentence(done.stderr)
    done = pyjack_cmd(jack_server, "disconnect", "cli-a:out_1", "cli-b:in_1")
    assert done.returncode == 1
    assert one_sentence(done.stderr) == ("pyjack disconnect: no connection matches "
                                         "'cli-a:out_1' -> 'cli-b:in_1'")
    assert connections(jack_server)["cli-a:out_3"] == ["cli-b:in_3"]


# -- save, restore ---------------------------------------------------------------

def test_save_then_restore_waits_for_a_late_client(jack_server, wired, make_client, tmp_path):
    run_tool(jack_server.name, "jack_connect", "cli-a:out_1", "cli-b:in_1")
    run_tool(jack_server.name, "jack_connect", "cli-a:out_2", "cli-b:in_3")
    snapshot = tmp_path / "wiring.json"
    done = pyjack_cmd(jack_server, "save", str(snapshot))
    assert done.returncode == 0, done.stderr
    pairs = json.loads(snapshot.read_text())["connections"]
    assert ["cli-a:out_1", "cli-b:in_1"] in pairs and ["cli-a:out_2", "cli-b:in_3"] in pairs
    assert sorted(map(tuple, pairs)) == sorted(
        (source, destination) for source, others in connections(jack_server).items()
        for destination in others if source in pyjack_ports(jack_server, pyjack.IsOutput))

    # A client that appears after restore started, and one that never does.
    pairs = [["cli-a:out_1", "cli-b:in_1"], ["cli-late:out", "cli-b:in_2"],
             ["cli-ghost:out", "cli-b:in_2"]]
    snapshot.write_text(json.dumps({"connections": pairs}))
    run_tool(jack_server.name, "jack_disconnect", "cli-a:out_1", "cli-b:in_1")
    restore = start(jack_server, "restore", str(snapshot), "--timeout", "1.5")
    try:
        wait_for(lambda: "cli-b:in_1" in connections(jack_server)["cli-a:out_1"],
                 what="the first connection")
        late = make_client("cli-late", False)
        late.register_port("out", pyjack.IsOutput)
        late.activate()
        code = restore.wait(15)
    finally:
        stop(restore)
    stdout, stderr = "\n".join(restore.lines.queue), restore.stderr.read()
    assert code == 1
    assert "restored 2 of 3 connection(s)" in stdout
    assert ("could not connect cli-ghost:out -> cli-b:in_2: no port cli-ghost:out"
            in stderr.splitlines())
    assert "Traceback" not in stderr
    assert connections(jack_server)["cli-late:out"] == ["cli-b:in_2"]

    bad = tmp_path / "bad.json"
    bad.write_text('{"connections": [["only one"]]}')
    done = pyjack_cmd(jack_server, "restore", str(bad))
    assert done.returncode == 1 and "not a pyjack connection snapshot" in one_sentence(done.stderr)


def pyjack_ports(server, flags):
    with pyjack.Client("cli-probe", False, server=server.name) as probe:
        return probe.get_ports(None, None, flags)


def test_restore_watch_reconnects_a_client_that_comes_and_goes(jack_server, tmp_path):
    snapshot = tmp_path / "wiring.json"
    snapshot.write_text(json.dumps({"connections": [
        ["jack_simple_client:output1", "system:playback_2"]]}))
    watch = start(jack_server, "restore", str(snapshot), "--watch")
    try:
        expect(watch, "restoring 1 connection")
        for _ in range(2):  # the client comes, goes, and comes again
            other = subprocess.Popen(["jack_simple_client"], env=tool_env(jack_server.name),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                expect(watch, STAMP + "jack_simple_client:output1 -> system:playback_2$")
                assert "system:playback_2" in connections(jack_server)["jack_simple_client:output1"]
            finally:
                stop(other)
            wait_for(lambda: "jack_simple_client:output1" not in connections(jack_server),
                     what="jack_simple_client to leave")
        code, stderr = interrupt(watch)
    finally:
        stop(watch)
    assert code == 0 and "Traceback" not in stderr


# -- watch -----------------------------------------------------------------------

def test_watch_prints_timestamped_graph_events(jack_server, wired, server_features):
    watch = start(jack_server, "watch")
    try:
        expect(watch, STAMP + "watching JACK server")
        other = subprocess.Popen(["jack_simple_client"], env=tool_env(jack_server.name),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            expect(watch, STAMP + "client registered: jack_simple_client$")
            expect(watch, STAMP + r"port registered: jack_simple_client:output1 \(audio output\)$")
            run_tool(jack_server.name, "jack_connect", "cli-a:out_1", "cli-b:in_2")
            expect(watch, STAMP + "connected: cli-a:out_1 -> cli-b:in_2$")
            run_tool(jack_server.name, "jack_disconnect", "cli-a:out_1", "cli-b:in_2")
            expect(watch, STAMP + "disconnected: cli-a:out_1 -x- cli-b:in_2$")
        finally:
            stop(other)
        expect(watch, STAMP + "port unregistered: jack_simple_client:output2$")
        expect(watch, STAMP + "client unregistered: jack_simple_client$")
        if server_features.has("buffer_size_sync"):  # else the change reaches clients later
            try:
                run_tool(jack_server.name, "jack_bufsize", "512")
                expect(watch, STAMP + "buffer size: 512 frames$")
            finally:
                run_tool(jack_server.name, "jack_bufsize", "256")
            expect(watch, STAMP + "buffer size: 256 frames$")
        code, stderr = interrupt(watch)
    finally:
        stop(watch)
    assert code == 0 and stderr == ""


# -- meter -----------------------------------------------------------------------

def screen_of(raw):
    """What a terminal shows after raw output: lines, carriage return, cursor
    up (ESC [ n A), erase to end of line (ESC [ K); other sequences ignored."""
    lines, row, col = [""], 0, 0
    for token in re.findall(r"\x1b\[\??[0-9;]*[A-Za-z]|\r|\n|[^\x1b\r\n]+", raw):
        if token == "\n":
            row, col = row + 1, 0
            if row == len(lines):
                lines.append("")
        elif token == "\r":
            col = 0
        elif token.startswith("\x1b["):
            if token.endswith("A"):
                row = max(0, row - int(token[2:-1] or 1))
            elif token.endswith("K"):
                lines[row] = lines[row][:col]
        else:
            line = lines[row].ljust(col)
            lines[row] = line[:col] + token + line[col + len(token):]
            col += len(token)
    return [line for line in lines if line.strip()]


def run_in_pty(command, env, timeout=30.0):
    """Run command with a pseudo-terminal as stdin, stdout and stderr; (code, raw output)."""
    master, slave = pty.openpty()
    process = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, env=env,
                               close_fds=True)
    os.close(slave)
    raw = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the command closed the terminal
                    break
                if not chunk:
                    break
                raw += chunk
            elif process.poll() is not None:
                break
        else:
            pytest.fail(f"{command} did not finish within {timeout} s")
        return process.wait(10), raw.decode(errors="replace")
    finally:
        stop(process)
        os.close(master)


def test_meter_in_a_terminal_shows_the_level_of_jack_simple_client(jack_server, simple_client):
    code, raw = run_in_pty([sys.executable, "-m", "pyjack", "meter", "--server", jack_server.name,
                            "jack_simple_client:output[12]", "--count", "5"], ELSEWHERE)
    assert code == 0, raw
    # Refreshed in place: four redraws move the cursor up over the two lines.
    assert raw.count("\x1b[2A") == 4
    screen = screen_of(raw)
    assert len(screen) == 2, screen
    for line, port in zip(screen, ("output1", "output2")):
        # jack_simple_client plays a sine of amplitude 0.2: peak 20 log10(0.2)
        # = -14.0 dB, RMS 0.2 / sqrt(2) = -17.0 dB.
        assert re.fullmatch(rf"jack_simple_client:{port}  peak +-14\.0 dB  rms +-17\.0 dB  "
                            r"\|#{22}-{1} {7}\|", line), line


# -- rec, play ---------------------------------------------------------------------

def test_rec_for_a_duration_with_a_progress_bar(jack_server, server_features, tmp_path):
    soundfile = pytest.importorskip("soundfile")
    producer = RampProducer("cli-ramp", jack_server.name).start()
    take = tmp_path / "take.wav"
    try:
        code, raw = run_in_pty([sys.executable, "-m", "pyjack", "rec", str(take), "--server",
                                jack_server.name, "--ports", "cli-ramp:out", "--duration", "0.5",
                                "--subtype", "FLOAT"], ELSEWHERE)
    finally:
        producer.stop()
    assert code == 0, raw
    assert re.search(r"rec \[#*\.*\] +\d+\.\d / 0\.5 s", raw), raw  # the bar, on the terminal
    assert "recorded 24000 frames (0.50 s, 1 channel(s))" in raw
    data, rate = soundfile.read(take, dtype="float32")
    assert rate == 48000 and data.shape == (24000,)
    data = after_link_settled(data, jack_server, server_features)
    assert len(consecutive_runs(data)) == 1 and data[0] > 0  # the ramp, without a gap


def after_link_settled(data, jack_server, server_features):
    """A take from the start of the producer's ramp. PipeWire may run a cycle
    without the producer while the recorder's new link settles (no xrun):
    whole periods of silence first, which are cut off here."""
    if server_features.has("glitch_free_rewiring"):
        return data
    silent = int(np.argmax(data != 0))
    assert silent % jack_server.period == 0 and not data[:silent].any(), silent
    return data[silent:]


def test_rec_stops_on_ctrl_c_and_leaves_a_valid_file(jack_server, server_features, tmp_path):
    soundfile = pytest.importorskip("soundfile")
    producer = RampProducer("cli-ramp", jack_server.name).start()
    take = tmp_path / "take.wav"  # WAV: the header gets its length on close
    try:
        rec = start(jack_server, "rec", str(take), "--ports", "cli-ramp:out", "--subtype", "FLOAT")
        try:
            wait_for(lambda: take.exists() and take.stat().st_size > 40000, what="the recording")
            code, stderr = interrupt(rec)
            out = expect(rec, "stopped after")
        finally:
            stop(rec)
    finally:
        producer.stop()
    assert code == 0 and "Traceback" not in stderr, stderr
    frames = int(re.search(r"stopped after (\d+) frames", out).group(1))
    data, rate = soundfile.read(take, dtype="float32")
    assert data.shape == (frames,) and frames >= 10000
    data = after_link_settled(data, jack_server, server_features)
    assert len(consecutive_runs(data)) == 1  # every frame up to the stop, without a gap


class Capture:
    """A client with one input port, recording what reaches it on a thread."""

    def __init__(self, server, frames):
        self.client = pyjack.Client("cli-sink", server=server.name, depth=1 << 17)
        self.port = self.client.register_port("in", pyjack.IsInput)
        self.data = np.zeros(frames, np.float32)
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.client.activate()
        self.thread.start()

    def run(self):
        block = np.empty((1, 1024), np.float32)
        nothing = np.empty((0, 1024), np.float32)
        at = 0
        while at < len(self.data) and not self.done.is_set():
            try:
                self.client.process(nothing, block, timeout=5)
            except pyjack.InputSyncError:
                pass
            n = min(1024, len(self.data) - at)
            self.data[at:at + n] = block[0, :n]
            at += n

    def close(self):
        self.done.set()
        self.thread.join(10)
        self.client.close()


def test_play_a_file_into_a_port(jack_server, tmp_path):
    soundfile = pytest.importorskip("soundfile")
    frames = 12000
    source = tmp_path / "ramp.wav"
    soundfile.write(source, ramp(1, frames), 48000, subtype="FLOAT")
    capture = Capture(jack_server, 4 * 48000)
    try:
        done = pyjack_cmd(jack_server, "play", str(source), "--ports", "cli-sink:in")
    finally:
        capture.close()
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"played {frames} frames (0.25 s) of {source} to cli-sink:in\n"
    heard = capture.data[capture.data != 0]
    np.testing.assert_array_equal(heard, ramp(1, frames))  # every frame, in order, once


@pytest.mark.slow
def test_play_stops_on_ctrl_c(jack_server, tmp_path):
    soundfile = pytest.importorskip("soundfile")
    source = tmp_path / "long.wav"
    soundfile.write(source, np.full(20 * 48000, 0.25, np.float32), 48000)
    play = start(jack_server, "play", str(source), "--ports", "system:playback_1")
    try:
        wait_for(lambda: "system:playback_1" in connections(jack_server).get("pyjack-out:out_1", []),
                 what="play to connect its port")
        code, stderr = interrupt(play)
        out = expect(play, "stopped after")
    finally:
        stop(play)
    assert code == 0 and "Traceback" not in stderr
    assert 0 < int(re.search(r"stopped after (\d+) frames", out).group(1)) < 20 * 48000


# -- info ------------------------------------------------------------------------

@pytest.mark.needs("private_jackd")
def test_info_matches_jack_tools(jack_server):
    done = pyjack_cmd(jack_server, "info", "--json", "--look", "0.2")
    assert done.returncode == 0, done.stderr
    facts = json.loads(done.stdout)
    rate = run_tool(jack_server.name, "jack_samplerate").strip()
    period = run_tool(jack_server.name, "jack_bufsize").split()[-1]
    version = subprocess.run(["jackd", "--version"], capture_output=True, text=True).stdout
    assert facts["sample_rate"] == int(rate) == 48000
    assert facts["period"] == int(period) == 256
    assert f" version {facts['version']} " in version  # "jackdmp version 1.9.21 tmpdir ..."
    assert facts["implementation"] == "JACK2"
    assert facts["realtime"] is False  # the test server runs --no-realtime
    assert facts["xruns"] >= 0 and 0 <= facts["cpu_load"] <= 100 and facts["server"] == jack_server.name

    done = pyjack_cmd(jack_server, "info", "--look", "0")
    assert done.returncode == 0, done.stderr
    rows = dict(line.split(":", 1) for line in done.stdout.splitlines())
    assert rows["sample rate"].strip() == "48000 Hz"
    assert rows["period"].strip() == "256 frames (5.333 ms)"
    assert rows["real-time"].strip() == "no"
