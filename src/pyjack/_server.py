"""Private JACK servers for tests, examples and demos: jackd with the dummy
backend, a headless PipeWire daemon, or a netjack2 master and slave."""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from ._core import Client, Error, NotConnectedError
from ._info import libjack_is_pipewire, pipewire_library_dir

__all__ = ["KINDS", "Server", "server_running"]

KINDS = ("jackd", "pipewire", "netjack2")
"""The kinds of server that pyjack.Server starts."""


def _socket_path(name: str) -> str:
    # Where JACK2 on Linux puts a server's request socket.
    return f"/dev/shm/jack_{name}_{os.getuid()}_0"


# JACK2 keeps every server in a machine-wide registry of eight slots, and frees
# the slot of a server that died without stopping (a crash, or SIGKILL in a
# test) only when a server of the same name starts again. So private servers
# take their names from a small pool instead of inventing fresh ones: a name
# whose server is gone is reused, and its slot with it.
_NAME_POOL = [f"pyjack-{i}" for i in range(8)]


def server_running(name: str | None = None) -> bool:
    """True if a JACK server with this name (default: $JACK_DEFAULT_SERVER or
    "default") accepts clients. Asks libjack, so it answers the same for
    jackd2, PipeWire's JACK and a netjack2 slave. Never starts a server."""
    if name is None:
        name = os.environ.get("JACK_DEFAULT_SERVER", "default")
    try:
        Client("pyjack-probe", server=name, processing=False).close()
    except NotConnectedError:
        return False
    return True


def _jackd_environment() -> dict:
    """The environment for a jackd child: without PipeWire's libjack
    directory (its stub libjackserver makes jackd fail: "Driver "dummy" is
    not a master"), and without JACK_DEFAULT_SERVER, which jackd reads too."""
    env = dict(os.environ, JACK_NO_AUDIO_RESERVATION="1")
    env.pop("JACK_DEFAULT_SERVER", None)
    pipewire_dir = pipewire_library_dir()
    paths = [p for p in env.get("LD_LIBRARY_PATH", "").split(":") if p and not (
        "pipewire-0.3/jack" in p or (pipewire_dir and os.path.realpath(p) == os.path.realpath(pipewire_dir)))]
    if paths:
        env["LD_LIBRARY_PATH"] = ":".join(paths)
    else:
        env.pop("LD_LIBRARY_PATH", None)
    return env


def _jackd_answers(name: str, env: dict, in_process: bool = True) -> bool:
    """True if the jackd named name accepts clients. in_process=False asks
    through jack_lsp: libjack keeps per-process state, so a process should
    open clients on one server only (a netjack2 test's clients use the
    slave, never the master)."""
    if not os.path.exists(_socket_path(name)):
        return False
    if in_process and not libjack_is_pipewire():
        return server_running(name)
    # Ask with JACK2's own tool (also when this process runs PipeWire's libjack).
    done = subprocess.run(["jack_lsp", "-s", name], env=dict(env, JACK_NO_START_SERVER="1"),
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=10)
    return done.returncode == 0


def _read_line(process: subprocess.Popen, deadline: float) -> str | None:
    """One line of a child's stdout, or None at its end or the deadline."""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.05)
        if ready:
            line = process.stdout.readline()
            return line.decode(errors="replace").strip() if line else None
    return None


def _stop_process(process: subprocess.Popen | None, timeout: float) -> None:
    """SIGTERM, then SIGKILL after timeout seconds."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout)


class Server:
    """A private JACK server, started and stopped by you.

    >>> with pyjack.Server(rate=48000, period=256) as server:
    ...     client = pyjack.Client("demo", server=server.name)

    kind: what serves JACK (one of pyjack.KINDS):
        "jackd": jackd2 with the dummy backend;
        "pipewire": a headless PipeWire daemon from the configuration file
            shipped with pyjack (no ALSA, no D-Bus, no session manager), in a
            runtime directory of its own, with system:capture_1/2 and
            system:playback_1/2 like the dummy backend's. Its clients must
            run with PipeWire's libjack (pw-jack, or LD_LIBRARY_PATH);
        "netjack2": a jackd dummy master running the netmanager and a
            ``jackd -d net`` slave, both in a private network namespace
            (needs root, or the right to unshare); clients use the slave.
        Default: "pipewire" when this process runs with PipeWire's libjack,
        else "jackd".
    name: the name clients pass as server=. jackd and netjack2 (the
        slave's name): default: the first of pyjack-0 ... pyjack-7 that no
        running server uses; if a server with the given name already runs,
        start() raises Error (a server you did not start is never touched).
        pipewire: the path of the daemon's socket, in a fresh directory
        unless you give one.
    rate, period: sample rate and buffer size.
    timeout: seconds to wait for the server to accept clients.
    realtime: run JACK's threads with real-time priority (``jackd -R``); needs
        the right to (root, or membership of a group with rtprio). Off by
        default: a dummy server keeps time without it, just with more xruns
        on a busy machine. (jackd and netjack2 only.)
    jackd: the jackd executable. pipewire: the pipewire executable.
    extra_args: more dummy-driver options, e.g. ("-C", "2", "-P", "2") (jackd).

    The servers' output goes to log files, whose text ``log()`` returns.
    """

    def __init__(self, name: str | None = None, *, kind: str | None = None, rate: int = 48000,
                 period: int = 256, timeout: float = 10.0, realtime: bool = False,
                 jackd: str = "jackd", pipewire: str = "pipewire", extra_args: tuple = ()):
        for what, value in (("rate", rate), ("period", period)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{what} must be a positive int, not {value!r}")
        if kind is None:
            kind = "pipewire" if libjack_is_pipewire() else "jackd"
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        self.kind = kind
        self._chosen_name = name
        self.name = name
        self.master: str | None = None  # netjack2: the master's name
        self.rate = rate
        self.period = period
        self.timeout = timeout
        self.realtime = bool(realtime)
        self.jackd = jackd
        self.pipewire = pipewire
        self.extra_args = tuple(str(a) for a in extra_args)
        self.process: subprocess.Popen | None = None  # what clients talk to
        self._helpers: list = []  # other processes, stopped after self.process, last first
        self._logs: list = []
        self._runtime_dir: str | None = None  # pipewire: the socket's directory
        self._made_runtime_dir = False         # ... which start() made and stop() removes
        self._netns: list = []                 # netjack2: nsenter into the pair's namespace

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<pyjack.Server {self.kind} {self.name!r} {self.rate} Hz/{self.period} {state}>"

    @property
    def running(self) -> bool:
        """True while the server this object started is alive."""
        return self.process is not None and self.process.poll() is None

    # -- starting ----------------------------------------------------------

    def start(self) -> "Server":
        """Start the server and wait until a client can connect."""
        if self.running:
            return self
        try:
            if self.kind == "pipewire":
                self._start_pipewire()
            else:
                self._start_jackd_kind()
            return self
        except BaseException:
            self.stop()
            raise

    def _executable(self, program: str, package: str) -> str:
        executable = shutil.which(program)
        if executable is None:
            raise Error(f"{program!r} was not found on PATH; install {package}")
        return executable

    def _new_log(self, label: str):
        log = tempfile.TemporaryFile(prefix=f"pyjack-{label}-")
        self._logs.append((label, log))
        return log

    def _spawn(self, label: str, command: list, env: dict, **options) -> subprocess.Popen:
        options.setdefault("stdout", self._new_log(label))
        options.setdefault("stderr", subprocess.STDOUT)
        options.setdefault("stdin", subprocess.DEVNULL)
        return subprocess.Popen(command, env=env, start_new_session=True, **options)

    def _start_jackd_kind(self) -> None:
        executable = self._executable(self.jackd, "jackd2 (apt install jackd2, "
                                      "dnf install jack-audio-connection-kit)")
        if self._chosen_name is not None and _jackd_answers(self._chosen_name, _jackd_environment()):
            raise Error(f"a JACK server named {self._chosen_name!r} is already running; "
                        "pyjack.Server only manages servers it starts itself")
        env = _jackd_environment()
        if self.kind == "netjack2":
            self._make_namespace()
            env["JACK_NETJACK_MULTICAST"] = "127.0.0.1"
        deadline = time.monotonic() + self.timeout
        while True:
            outcome = self._launch(executable, env, deadline)
            if outcome == "ready":
                return
            if time.monotonic() > deadline:
                raise Error(f"jackd did not start within {self.timeout} s:\n" + self.log())
            time.sleep(0.2)  # every name or slot is taken: wait for one to free up

    def _make_namespace(self) -> None:
        """A private network namespace, kept open by a sleeping process, in
        which master and slave talk over loopback only."""
        for program in ("unshare", "nsenter", "ip"):
            self._executable(program, "util-linux and iproute2")
        holder = subprocess.Popen(
            ["unshare", "-n", "sh", "-c", "ip link set lo up && echo up && exec sleep 2147483647"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._new_log("netns"),
            start_new_session=True)
        self._helpers.append(holder)
        if _read_line(holder, time.monotonic() + self.timeout) != "up":
            raise Error("could not make a private network namespace for netjack2 (unshare -n "
                        "needs root or CAP_SYS_ADMIN):\n" + self.log())
        self._netns = ["nsenter", "-t", str(holder.pid), "-n"]

    def _launch(self, executable: str, env: dict, deadline: float) -> str:
        """Start jackd (netjack2: master and slave) under the chosen name or
        the first free pool name, and wait until it accepts clients. Returns
        "ready", or "busy" when the name or JACK's slots are taken and a
        later try may succeed."""
        names = [self._chosen_name] if self._chosen_name is not None else [
            n for n in _NAME_POOL if not _jackd_answers(n, env)]
        if not names:
            return "busy"
        self.name = names[0]
        priority = ["-R", "-P", "70"] if self.realtime else ["--no-realtime"]
        if self.kind == "jackd":
            command = [executable, *priority, "-n", self.name, "-d", "dummy",
                       "-r", str(self.rate), "-p", str(self.period), *self.extra_args]
            self.process = self._spawn("jackd", command, env)
            return self._wait_jackd(self.process, self.name, env, deadline)
        self.master = f"{self.name}-master"
        master = self._spawn("master", [*self._netns, executable, *priority, "-n", self.master,
                                        "-I", "netmanager", "-d", "dummy", "-r", str(self.rate),
                                        "-p", str(self.period)], env)
        self._helpers.append(master)
        outcome = self._wait_jackd(master, self.master, env, deadline, in_process=False)
        if outcome != "ready":
            self._helpers.remove(master)
            _stop_process(master, 5)
            return outcome
        self.process = self._spawn("slave", [*self._netns, executable, *priority, "-n", self.name,
                                             "-d", "net", "-a", "127.0.0.1", "-C", "2", "-P", "2",
                                             "-n", "slave"], env)
        outcome = self._wait_jackd(self.process, self.name, env, deadline)
        if outcome == "ready":
            self._wait_handshake(deadline)
        return outcome

    def _wait_jackd(self, process: subprocess.Popen, name: str, env: dict, deadline: float,
                    in_process: bool = True) -> str:
        log_file = self._logs[-1][1]
        while True:
            code = process.poll()
            if code is not None:
                if process is self.process:
                    self.process = None
                log_file.seek(0)
                log = log_file.read().decode(errors="replace")
                if "Too many servers" in log or "already running" in log:
                    return "busy"  # another process took the name or the last slot first
                raise Error(f"jackd {name!r} exited with code {code} while starting:\n{log}")
            if _jackd_answers(name, env, in_process):
                return "ready"
            if time.monotonic() > deadline:
                raise Error(f"jackd {name!r} did not accept clients within {self.timeout} s:\n"
                            + self.log())
            time.sleep(0.02)

    def _wait_handshake(self, deadline: float) -> None:
        """Until the master answers, a net slave serves a placeholder with
        its own defaults and no ports: wait for its system ports."""
        while True:
            if self._slave_has_ports():
                return
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise Error(f"the netjack2 slave {self.name!r} did not reach its master within "
                            f"{self.timeout} s:\n" + self.log())
            time.sleep(0.05)

    def _slave_has_ports(self) -> bool:
        if libjack_is_pipewire():
            done = subprocess.run(["jack_lsp", "-s", self.name, "system:capture_1"],
                                  env=dict(_jackd_environment(), JACK_NO_START_SERVER="1"),
                                  capture_output=True, text=True, timeout=10)
            return "system:capture_1" in done.stdout
        try:
            with Client("pyjack-probe", processing=False, server=self.name) as probe:
                return bool(probe.get_ports("^system:capture_1$"))
        except NotConnectedError:
            return False

    def _start_pipewire(self) -> None:
        executable = self._executable(self.pipewire, "PipeWire (apt install pipewire "
                                      "pipewire-bin pipewire-jack)")
        library = pipewire_library_dir()
        if library is None:
            raise Error("PipeWire's libjack was not found; install pipewire-jack")
        if self._chosen_name is not None and "/" in self._chosen_name:
            self._runtime_dir, socket_name = os.path.split(os.path.abspath(self._chosen_name))
            os.makedirs(self._runtime_dir, exist_ok=True)
        else:
            self._runtime_dir = tempfile.mkdtemp(prefix="pyjack-pipewire-")
            self._made_runtime_dir = True
            socket_name = self._chosen_name or "pipewire-0"
        self.name = os.path.join(self._runtime_dir, socket_name)
        if os.path.exists(self.name):
            raise Error(f"a PipeWire socket {self.name!r} exists already; "
                        "pyjack.Server only manages servers it starts itself")
        template = os.path.join(os.path.dirname(__file__), "pipewire-server.conf")
        with open(template) as f:
            text = f.read()
        for key, value in (("@NAME@", socket_name), ("@RATE@", self.rate),
                           ("@PERIOD@", self.period)):
            text = text.replace(key, str(value))
        config = os.path.join(self._runtime_dir, f"{socket_name}.conf")
        with open(config, "w") as f:
            f.write(text)
        env = dict(os.environ, XDG_RUNTIME_DIR=self._runtime_dir,
                   PIPEWIRE_RUNTIME_DIR=self._runtime_dir)
        for key in ("PIPEWIRE_REMOTE", "PIPEWIRE_CORE", "PIPEWIRE_CONFIG_DIR"):
            env.pop(key, None)
        deadline = time.monotonic() + self.timeout
        self.process = self._spawn("pipewire", [executable, "-c", config], env)
        while not os.path.exists(self.name):
            if self.process.poll() is not None:
                raise Error(f"pipewire exited with code {self.process.returncode} while "
                            "starting:\n" + self.log())
            if time.monotonic() > deadline:
                raise Error(f"pipewire did not open its socket within {self.timeout} s:\n"
                            + self.log())
            time.sleep(0.02)
        # The system ports, from a client running with PipeWire's libjack.
        paths = [library] + [p for p in env.get("LD_LIBRARY_PATH", "").split(":") if p]
        env["LD_LIBRARY_PATH"] = ":".join(paths)
        ports = self._spawn("system", [sys.executable, "-m", "pyjack._system_ports", self.name],
                            env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=self._new_log("system"))
        self._helpers.append(ports)
        if _read_line(ports, deadline) != "ready":
            raise Error(f"the system ports of PipeWire server {self.name!r} did not come up "
                        f"within {self.timeout} s:\n" + self.log())

    # -- stopping ----------------------------------------------------------

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL after timeout seconds).
        A netjack2 slave stops before its master."""
        if self.kind == "pipewire":
            # The system-ports client first: it leaves when its stdin closes.
            for helper in self._helpers:
                if helper.stdin is not None:
                    helper.stdin.close()
        _stop_process(self.process, timeout)
        self.process = None
        while self._helpers:
            helper = self._helpers.pop()
            _stop_process(helper, timeout)
            for stream in (helper.stdin, helper.stdout):
                if stream is not None:
                    stream.close()
        if self._made_runtime_dir:
            shutil.rmtree(self._runtime_dir, ignore_errors=True)
            self._made_runtime_dir = False

    def kill(self) -> None:
        """Kill the server with SIGKILL, as a crash would (netjack2: the slave)."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(5)

    def log(self) -> str:
        """What the server's processes printed so far."""
        parts = []
        for label, log in self._logs:
            log.flush()
            log.seek(0)
            text = log.read().decode(errors="replace")
            log.seek(0, os.SEEK_END)
            if text.strip():
                parts.append(f"[{label}]\n{text}" if len(self._logs) > 1 else text)
        return "\n".join(parts)

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __del__(self):
        try:
            self.stop()
        except Exception:
            pass
