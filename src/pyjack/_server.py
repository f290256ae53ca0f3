"""A private JACK server with the dummy backend, for tests, examples and demos."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time

from ._core import Client, Error, NotConnectedError

__all__ = ["Server", "server_running"]


def _socket_path(name: str) -> str:
    # Where JACK2 on Linux puts a server's request socket. Only a hint: when it
    # is missing we still ask libjack, which is the real test.
    return f"/dev/shm/jack_{name}_{os.getuid()}_0"


# JACK2 keeps every server in a machine-wide registry of eight slots, and frees
# the slot of a server that died without stopping (a crash, or SIGKILL in a
# test) only when a server of the same name starts again. So private servers
# take their names from a small pool instead of inventing fresh ones: a name
# whose server is gone is reused, and its slot with it.
_NAME_POOL = [f"pyjack-{i}" for i in range(8)]


def server_running(name: str | None = None) -> bool:
    """True if a JACK server with this name (default: $JACK_DEFAULT_SERVER or
    "default") accepts clients. Never starts one."""
    if name is None:
        name = os.environ.get("JACK_DEFAULT_SERVER", "default")
    if os.path.exists("/dev/shm") and not os.path.exists(_socket_path(name)):
        return False
    try:
        Client("pyjack-probe", server=name, processing=False).close()
    except NotConnectedError:
        return False
    return True


class Server:
    """A private ``jackd -d dummy`` server, started and stopped by you.

    >>> with pyjack.Server(rate=48000, period=256) as server:
    ...     client = pyjack.Client("demo", server=server.name)

    name: server name; default: the first of pyjack-0 ... pyjack-7 that no
        running server uses. If a server with the given name already runs,
        start() raises Error: a server you did not start is never touched.
    rate, period: sample rate and buffer size of the dummy backend.
    timeout: seconds to wait for the server to accept clients.
    realtime: run JACK's threads with real-time priority (``jackd -R``); needs
        the right to (root, or membership of a group with rtprio). Off by
        default: a dummy server keeps time without it, just with more xruns
        on a busy machine.
    jackd: the jackd executable.
    extra_args: more dummy-driver options, e.g. ("-C", "2", "-P", "2").

    The server's output goes to a log file, whose text ``log()`` returns.
    """

    def __init__(self, name: str | None = None, *, rate: int = 48000, period: int = 256,
                 timeout: float = 10.0, realtime: bool = False, jackd: str = "jackd",
                 extra_args: tuple = ()):
        for what, value in (("rate", rate), ("period", period)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{what} must be a positive int, not {value!r}")
        self._chosen_name = name
        self.name = name
        self.rate = rate
        self.period = period
        self.timeout = timeout
        self.realtime = bool(realtime)
        self.jackd = jackd
        self.extra_args = tuple(str(a) for a in extra_args)
        self.process: subprocess.Popen | None = None
        self._log = None

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<pyjack.Server {self.name!r} {self.rate} Hz/{self.period} {state}>"

    @property
    def running(self) -> bool:
        """True while the jackd this object started is alive."""
        return self.process is not None and self.process.poll() is None

    def start(self) -> "Server":
        """Start jackd and wait until a client can connect."""
        if self.running:
            return self
        executable = shutil.which(self.jackd)
        if executable is None:
            raise Error(f"{self.jackd!r} was not found on PATH; install jackd2 "
                        "(apt install jackd2, dnf install jack-audio-connection-kit)")
        if self._chosen_name is not None and server_running(self._chosen_name):
            raise Error(f"a JACK server named {self._chosen_name!r} is already running; "
                        "pyjack.Server only manages servers it starts itself")
        env = dict(os.environ, JACK_NO_AUDIO_RESERVATION="1")
        # jackd reads this too, and then trips over the other server's files.
        env.pop("JACK_DEFAULT_SERVER", None)
        deadline = time.monotonic() + self.timeout
        try:
            while True:
                outcome = self._launch(executable, env, deadline)
                if outcome == "ready":
                    return self
                if time.monotonic() > deadline:
                    raise Error(f"jackd did not start within {self.timeout} s:\n" + self.log())
                time.sleep(0.2)  # every name or slot is taken: wait for one to free up
        except BaseException:
            self.stop()
            raise

    def _launch(self, executable: str, env: dict, deadline: float) -> str:
        """Start jackd under the chosen name or the first free pool name, and
        wait until it accepts clients. Returns "ready", or "busy" when the
        name or JACK's slots are taken and a later try may succeed."""
        names = [self._chosen_name] if self._chosen_name is not None else [
            n for n in _NAME_POOL if not server_running(n)]
        if not names:
            return "busy"
        self.name = names[0]
        priority = ["-R", "-P", "70"] if self.realtime else ["--no-realtime"]
        command = [executable, *priority, "-n", self.name, "-d", "dummy",
                   "-r", str(self.rate), "-p", str(self.period), *self.extra_args]
        if self._log is not None:
            self._log.close()
        self._log = tempfile.TemporaryFile(prefix="pyjack-jackd-")
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=self._log,
                                        stderr=subprocess.STDOUT, env=env, start_new_session=True)
        while True:
            code = self.process.poll()
            if code is not None:
                self.process = None
                log = self.log()
                if "Too many servers" in log or "already running" in log:
                    return "busy"  # another process took the name or the last slot first
                raise Error(f"jackd exited with code {code} while starting:\n{log}")
            if os.path.exists(_socket_path(self.name)) and server_running(self.name):
                return "ready"
            if time.monotonic() > deadline:
                raise Error(f"jackd did not accept clients within {self.timeout} s:\n" + self.log())
            time.sleep(0.02)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL after timeout seconds)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        self.process = None

    def kill(self) -> None:
        """Kill the server with SIGKILL, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(5)

    def log(self) -> str:
        """What jackd printed so far."""
        if self._log is None:
            return ""
        self._log.flush()
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __del__(self):
        try:
            self.stop()
        except Exception:
            pass
