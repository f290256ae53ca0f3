"""A private JACK server with the dummy backend, for tests, examples and demos."""

from __future__ import annotations

import ctypes
import mmap
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid

from ._core import Client, Error, NotConnectedError

__all__ = ["Server", "server_running"]


def _socket_path(name: str) -> str:
    # Where JACK2 on Linux puts a server's request socket. Only a hint: when it
    # is missing we still ask libjack, which is the real test.
    return f"/dev/shm/jack_{name}_{os.getuid()}_0"


_REGISTRY = "/dev/shm/jack-shm-registry"
_REGISTRY_LOCK_KEY = 0x282929  # JACK2's SysV semaphore guarding that registry
_MAX_SERVERS = 8


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _reclaim_dead_server_slots() -> int:
    """Free the registry slots of our servers whose jackd is gone.

    JACK2 keeps a server's slot in its shared registry until a server of the
    same name starts again, and it has only eight. Servers with fresh names
    that were killed (tests do that) would use them all up, after which no
    jackd starts on the machine. This does what jackd itself does for a dead
    slot of its own name, under the same lock. Returns the slots freed; any
    surprise in the registry's layout makes it do nothing.
    """
    if not os.path.exists(_REGISTRY):
        return 0
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        semid = libc.semget(_REGISTRY_LOCK_KEY, 0, 0)
    except (OSError, AttributeError):
        return 0
    if semid < 0:
        return 0

    class SemBuf(ctypes.Structure):
        _fields_ = [("num", ctypes.c_ushort), ("op", ctypes.c_short), ("flg", ctypes.c_short)]

    sem_undo, ipc_nowait = 0x1000, 0o4000
    take = SemBuf(0, -1, sem_undo | ipc_nowait)
    deadline = time.monotonic() + 2.0
    while libc.semop(semid, ctypes.byref(take), 1) != 0:
        if time.monotonic() > deadline:
            return 0
        time.sleep(0.005)
    freed = 0
    try:
        with open(_REGISTRY, "r+b") as f, mmap.mmap(f.fileno(), 0) as m:
            magic = int.from_bytes(m[0:4], "little")
            hdr_len = int.from_bytes(m[12:16], "little")
            slot = (hdr_len - 24) // _MAX_SERVERS
            if magic != 0x4A41434B or slot < 8 or 24 + slot * _MAX_SERVERS != hdr_len:
                return 0
            ours = f"jack-{os.getuid()}:".encode()
            for i in range(_MAX_SERVERS):
                at = 24 + i * slot
                pid = int.from_bytes(m[at:at + 4], "little", signed=True)
                if pid > 0 and m[at + 4:at + 4 + len(ours)] == ours and not _pid_alive(pid):
                    m[at:at + slot] = bytes(slot)
                    freed += 1
    except (OSError, ValueError):
        return freed
    finally:
        libc.semop(semid, ctypes.byref(SemBuf(0, 1, sem_undo)), 1)
    return freed


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

    name: server name; default: a fresh unique one. If a server with that
        name already runs, start() raises Error: a server you did not start
        is never touched.
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
        self.name = name if name is not None else f"pyjack-{os.getpid()}-{uuid.uuid4().hex[:8]}"
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
        if server_running(self.name):
            raise Error(f"a JACK server named {self.name!r} is already running; "
                        "pyjack.Server only manages servers it starts itself")
        priority = ["-R", "-P", "70"] if self.realtime else ["--no-realtime"]
        command = [executable, *priority, "-n", self.name, "-d", "dummy",
                   "-r", str(self.rate), "-p", str(self.period), *self.extra_args]
        env = dict(os.environ, JACK_NO_AUDIO_RESERVATION="1")
        # jackd reads this too, and then trips over the other server's files.
        env.pop("JACK_DEFAULT_SERVER", None)

        def launch():
            _reclaim_dead_server_slots()
            self._log = tempfile.TemporaryFile(prefix="pyjack-jackd-")
            self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=self._log,
                                            stderr=subprocess.STDOUT, env=env,
                                            start_new_session=True)

        launch()
        deadline = time.monotonic() + self.timeout
        try:
            while True:
                if self.process.poll() is not None:
                    if "Too many servers" in self.log() and time.monotonic() < deadline:
                        # JACK's eight server slots are all in use: wait for one.
                        self._log.close()
                        time.sleep(0.2)
                        launch()
                        continue
                    raise Error(f"jackd exited with code {self.process.returncode} while starting:\n"
                                + self.log())
                if os.path.exists(_socket_path(self.name)) and server_running(self.name):
                    return self
                if time.monotonic() > deadline:
                    raise Error(f"jackd did not accept clients within {self.timeout} s:\n" + self.log())
                time.sleep(0.02)
        except BaseException:
            self.stop()
            raise

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
