"""The pyjack command: ports, connections, snapshots, events, meters,
recording, playback and server facts, each a thin layer over the library.

Exit codes: 0 done, 1 failed (one sentence on stderr), 2 usage error.
Every subcommand takes --server NAME (default: $JACK_DEFAULT_SERVER or
"default") and --help.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import queue
import re
import signal
import sys
import threading
import time

import numpy as np

import pyjack

# How long the waiting loops sleep at a time, so Ctrl-C and new events are seen quickly.
_SLICE = 0.2


class Failed(Exception):
    """An expected failure: its message is printed as one sentence, exit code 1."""


class Usage(Exception):
    """A usage error found after parsing (a bad regular expression): exit code 2."""


# -- helpers shared by the subcommands -------------------------------------------

def _server_name(args) -> str:
    return args.server or os.environ.get("JACK_DEFAULT_SERVER") or "default"


@contextlib.contextmanager
def _quiet_libjack():
    """Keep libjack's own lines ("Cannot connect to server socket ...") off
    stderr while a client opens: a failure is told in one sentence instead."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _open(args, name: str, processing: bool = False) -> pyjack.Client:
    """A client of the command on the chosen server, or Failed."""
    try:
        with _quiet_libjack():
            return pyjack.Client(name, processing, server=args.server)
    except pyjack.NotConnectedError:
        raise Failed(f"no JACK server named {_server_name(args)!r} is running "
                     "(start jackd or PipeWire, or name another with --server)") from None


def _stamp() -> str:
    """The local time of day to the millisecond, for event lines."""
    now = time.time()
    return time.strftime("%H:%M:%S", time.localtime(now)) + f".{int(now % 1 * 1000):03d}"


def _check_server(client: pyjack.Client) -> None:
    if client.stats.shutdown:
        raise Failed("the JACK server stopped")


def _compile(pattern: str) -> re.Pattern:
    try:
        return re.compile(pattern)
    except re.error as error:
        raise Usage(f"{pattern!r} is not a valid regular expression ({error})") from None


def _match(pattern: str, names: list) -> list:
    """(name, match) for the names that pattern gives: the name itself when it
    is one (match None), else every name the regular expression matches whole."""
    if pattern in names:
        return [(pattern, None)]
    regex = _compile(pattern)
    return [(name, found) for name in names if (found := regex.fullmatch(name))]


_GROUP_REFERENCE = re.compile(r"\\(\d|g<)")


def _expand(template: str, found) -> str:
    """The destination pattern for one source: backreferences (\\1, \\g<name>)
    filled in from the source's match."""
    if found is None or not _GROUP_REFERENCE.search(template):
        return template
    try:
        return found.expand(template)
    except (re.error, IndexError) as error:
        raise Usage(f"{template!r} refers to a group that {found.re.pattern!r} "
                    f"does not have ({error})") from None


def _resolve(client, patterns: list, flags: int, what: str) -> list:
    """Full names of the audio ports with these flags that the patterns name."""
    names = client.get_ports(None, "audio", flags)
    found = []
    for pattern in patterns:
        matches = [name for name, _ in _match(pattern, names)]
        if not matches:
            raise Failed(f"no {what} matches {pattern!r}")
        found.extend(name for name in matches if name not in found)
    return found


def _short_type(type_name: str) -> str:
    return {"32 bit float mono audio": "audio", "8 bit raw midi": "midi"}.get(type_name, type_name)


_FLAG_WORDS = ((pyjack.IsPhysical, "physical"), (pyjack.CanMonitor, "monitor"),
               (pyjack.IsTerminal, "terminal"))


def _describe(client, name: str) -> dict:
    flags = client.get_port_flags(name)
    client_name, _, short = name.partition(":")
    return {
        "name": name,
        "client": client_name,
        "port": short,
        "type": _short_type(client.get_port_type(name)),
        "direction": "output" if flags & pyjack.IsOutput else "input",
        "flags": [word for bit, word in _FLAG_WORDS if flags & bit],
        "connections": client.get_connections(name),
        "aliases": client.get_port_aliases(name),
    }


def _wait_for(client, event: threading.Event, seconds: float) -> None:
    """Sleep until event is set or seconds pass (Ctrl-C interrupts); clears it."""
    event.wait(seconds)
    event.clear()
    _check_server(client)


# -- ports ---------------------------------------------------------------------

def cmd_ports(args) -> int:
    regex = _compile(args.pattern) if args.pattern else None
    with _open(args, "pyjack-ports") as client:
        names = [name for name in client.get_ports() if regex is None or regex.search(name)]
        ports = []
        for name in names:
            try:
                ports.append(_describe(client, name))
            except pyjack.UsageError:
                pass  # unregistered while we looked
    if not ports and args.pattern:
        raise Failed(f"no port matches {args.pattern!r}")
    if args.json:
        json.dump(ports, sys.stdout, indent=2)
        print()
        return 0
    if not ports:
        print("(no ports)")
        return 0
    width = max(len(port["port"]) for port in ports)
    last_client = None
    for port in ports:
        if port["client"] != last_client:
            print(port["client"])
            last_client = port["client"]
        words = [port["type"], port["direction"]] + port["flags"]
        print(f"  {port['port']:<{width}}  {' '.join(words)}")
        arrow = "->" if port["direction"] == "output" else "<-"
        for other in port["connections"]:
            print(f"      {arrow} {other}")
        for alias in port["aliases"]:
            print(f"      alias {alias}")
    return 0


# -- connect, disconnect ---------------------------------------------------------

def _sources(client, pattern: str) -> list:
    found = _match(pattern, client.get_ports(None, None, pyjack.IsOutput))
    if not found:
        raise Failed(f"no output port matches {pattern!r} (the first name is the source, "
                     "an output port)")
    return found


def cmd_connect(args) -> int:
    with _open(args, "pyjack-connect") as client:
        inputs = client.get_ports(None, None, pyjack.IsInput)
        missing = []
        for source, found in _sources(client, args.source):
            target = _expand(args.destination, found)
            destinations = [name for name, _ in _match(target, inputs)]
            if not destinations:
                missing.append(f"no input port matches {target!r} (for {source})")
            for destination in destinations:
                client.connect(source, destination)
                print(f"{source} -> {destination}")
    if missing:
        raise Failed("; ".join(missing))
    return 0


def cmd_disconnect(args) -> int:
    done = 0
    with _open(args, "pyjack-disconnect") as client:
        for source, found in _sources(client, args.source):
            target = _expand(args.destination, found)
            connected = client.get_connections(source)
            for destination, _ in _match(target, connected):
                client.disconnect(source, destination)
                print(f"{source} -x- {destination}")
                done += 1
    if not done:
        raise Failed(f"no connection matches {args.source!r} -> {args.destination!r}")
    return 0


# -- save, restore ---------------------------------------------------------------

def _connections(client) -> list:
    pairs = []
    for source in client.get_ports(None, None, pyjack.IsOutput):
        try:
            pairs.extend([source, destination] for destination in client.get_connections(source))
        except pyjack.UsageError:
            pass  # unregistered while we looked
    return pairs


def cmd_save(args) -> int:
    with _open(args, "pyjack-save") as client:
        pairs = _connections(client)
    snapshot = {"pyjack": "connections", "version": 1, "connections": pairs}
    text = json.dumps(snapshot, indent=2) + "\n"
    if args.file == "-":
        sys.stdout.write(text)
    else:
        with open(args.file, "w") as f:
            f.write(text)
        print(f"saved {len(pairs)} connection(s) to {args.file}")
    return 0


def _load(path: str) -> list:
    try:
        if path == "-":
            snapshot = json.load(sys.stdin)
        else:
            with open(path) as f:
                snapshot = json.load(f)
    except json.JSONDecodeError as error:
        raise Failed(f"{path} is not JSON ({error})") from None
    pairs = snapshot.get("connections") if isinstance(snapshot, dict) else None
    if not isinstance(pairs, list) or not all(
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)
            for pair in pairs):
        raise Failed(f"{path} is not a pyjack connection snapshot (expected an object whose "
                     "\"connections\" is a list of [source, destination] port names)")
    return [tuple(pair) for pair in pairs]


def _restore_pass(client, pairs: list, stamp: bool) -> list:
    """Connect the pairs whose ports both exist; the pairs still missing."""
    existing = set(client.get_ports())
    missing = []
    for source, destination in pairs:
        if source not in existing or destination not in existing:
            missing.append((source, destination))
            continue
        try:
            if destination in client.get_connections(source):
                continue
            client.connect(source, destination)
        except pyjack.UsageError:
            missing.append((source, destination))  # gone again, or not ready yet
            continue
        except pyjack.Error as error:
            print(f"could not connect {source} -> {destination}: {error}", file=sys.stderr)
            missing.append((source, destination))
            continue
        line = f"{source} -> {destination}"
        print(f"{_stamp()} {line}" if stamp else line, flush=True)
    return missing


def cmd_restore(args) -> int:
    pairs = _load(args.file)
    with _open(args, "pyjack-restore") as client:
        changed = threading.Event()
        client.set_port_registration_callback(lambda name, registered: changed.set())
        client.set_client_registration_callback(lambda name, registered: changed.set())
        client.activate()
        if args.watch:
            print(f"{_stamp()} restoring {len(pairs)} connection(s) from {args.file} as ports "
                  "appear; Ctrl-C stops", flush=True)
            while True:
                _restore_pass(client, pairs, True)
                # Events wake the loop at once; the timeout catches a port
                # that appeared between our listing and its event.
                _wait_for(client, changed, 1.0)
        deadline = time.monotonic() + args.timeout
        missing = _restore_pass(client, pairs, False)
        while missing and time.monotonic() < deadline:
            _wait_for(client, changed, min(_SLICE, max(0.0, deadline - time.monotonic())))
            missing = _restore_pass(client, missing, False)
        existing = set(client.get_ports())
    print(f"restored {len(pairs) - len(missing)} of {len(pairs)} connection(s)")
    if missing:
        for source, destination in missing:
            absent = [port for port in (source, destination) if port not in existing]
            why = f"no port {' and no port '.join(absent)}" if absent else "JACK refused"
            print(f"could not connect {source} -> {destination}: {why}", file=sys.stderr)
        raise Failed(f"{len(missing)} connection(s) could not be restored within "
                     f"{args.timeout:g} s")
    return 0


# -- watch -----------------------------------------------------------------------

def cmd_watch(args) -> int:
    events: queue.Queue = queue.Queue()

    def put(*event):
        events.put((_stamp(),) + event)

    with _open(args, "pyjack-watch") as client:
        client.set_client_registration_callback(lambda name, on: put("client", name, on))
        client.set_port_registration_callback(lambda name, on: put("port", name, on))
        client.set_port_connect_callback(lambda a, b, on: put("connect", a, b, on))
        client.set_port_rename_callback(lambda old, new: put("rename", old, new))
        client.set_xrun_callback(lambda: put("xrun"))
        client.set_buffer_size_callback(lambda frames: put("buffer", frames))
        client.set_sample_rate_callback(lambda rate: put("rate", rate))
        client.set_freewheel_callback(lambda on: put("freewheel", on))
        client.set_shutdown_callback(lambda reason: put("shutdown", reason))
        if args.graph_order:
            client.set_graph_order_callback(lambda: put("graph"))
        client.activate()
        print(f"{_stamp()} watching JACK server {_server_name(args)!r} "
              f"({client.samplerate} Hz, {client.blocksize} frames); Ctrl-C stops", flush=True)
        while True:
            try:
                stamp, kind, *rest = events.get(timeout=_SLICE)
            except queue.Empty:
                continue
            print(stamp, _event_text(client, kind, rest), flush=True)
            if kind == "shutdown":
                raise Failed("the JACK server stopped")


def _event_text(client, kind: str, rest: list) -> str:
    if kind == "client":
        name, on = rest
        return f"client {'registered' if on else 'unregistered'}: {name}"
    if kind == "port":
        name, on = rest
        if not on:
            return f"port unregistered: {name}"
        try:
            port = _describe(client, name)
            return f"port registered: {name} ({port['type']} {port['direction']})"
        except pyjack.UsageError:
            return f"port registered: {name}"  # already gone again
    if kind == "connect":
        a, b, on = rest
        return f"{'connected' if on else 'disconnected'}: {a} {'->' if on else '-x-'} {b}"
    if kind == "rename":
        return f"port renamed: {rest[0]} -> {rest[1]}"
    if kind == "xrun":
        return "xrun"
    if kind == "buffer":
        return f"buffer size: {rest[0]} frames"
    if kind == "rate":
        return f"sample rate: {rest[0]} Hz"
    if kind == "freewheel":
        return f"freewheel {'on' if rest[0] else 'off'}"
    if kind == "graph":
        return "graph order changed"
    return f"server shut down: {rest[0]}"


# -- meter -----------------------------------------------------------------------

_FLOOR_DB = -60.0


def _db(value: float) -> float:
    return 20.0 * math.log10(value) if value > 0.0 else -math.inf


def _meter_line(name: str, width: int, peak: float, rms: float, bar: int) -> str:
    def cells(level):
        db = max(_FLOOR_DB, min(0.0, _db(level)))
        return round((db - _FLOOR_DB) / -_FLOOR_DB * bar)
    lit, top = cells(rms), cells(peak)
    graph = "#" * lit + "-" * max(0, top - lit) + " " * (bar - max(lit, top))
    clip = " CLIP" if peak >= 1.0 else ""
    return f"{name:<{width}}  peak {_db(peak):6.1f} dB  rms {_db(rms):6.1f} dB  |{graph}|{clip}"


def cmd_meter(args) -> int:
    if args.interval <= 0:
        raise Usage(f"--interval must be a positive number of seconds, not {args.interval}")
    with _open(args, "pyjack-meter", processing=True) as client:
        sources = _resolve(client, args.ports, pyjack.IsOutput, "audio output port")
        for i in range(len(sources)):
            client.register_port(f"in_{i + 1}", pyjack.IsInput)
        client.activate()
        for source, port in zip(sources, client.inports):
            client.connect(source, port)
        frames = max(1, round(args.interval * client.samplerate))
        block = np.empty((len(sources), frames), np.float32)
        nothing = np.empty((0, frames), np.float32)
        width = max(len(name) for name in sources)
        screen = sys.stdout
        in_place = screen.isatty()
        if in_place:
            screen.write("\x1b[?25l")  # hide the cursor while redrawing
        try:
            shown = 0
            while args.count is None or shown < args.count:
                try:
                    client.process(nothing, block, timeout=10.0)
                except pyjack.InputSyncError:
                    pass  # we fell behind: the block is filled all the same
                except pyjack.TimeoutError:
                    _check_server(client)
                    raise Failed("no audio arrived for 10 s: the JACK server stalled") from None
                samples = block.astype(np.float64)
                peaks = np.abs(samples).max(axis=1)
                rms = np.sqrt(np.mean(samples * samples, axis=1))
                lines = [_meter_line(name, width, p, r, args.bar)
                         for name, p, r in zip(sources, peaks, rms)]
                if in_place:
                    up = f"\x1b[{len(lines)}A" if shown else ""
                    screen.write(up + "".join(f"\r\x1b[K{line}\n" for line in lines))
                else:
                    # A blank line between readings, for a file or a pipe.
                    screen.write("\n" * (shown > 0) + "".join(f"{line}\n" for line in lines))
                screen.flush()
                shown += 1
        finally:
            if in_place:
                screen.write("\x1b[?25h")
                screen.flush()
    return 0


# -- rec, play -------------------------------------------------------------------

class _Bar:
    """A one-line progress bar on stderr, drawn only on a terminal."""

    def __init__(self, label: str, total: float | None):
        self.label, self.total = label, total
        self.on = sys.stderr.isatty()

    def show(self, seconds: float) -> None:
        if not self.on:
            return
        if self.total:
            done = min(1.0, seconds / self.total)
            cells = round(done * 30)
            text = f"{self.label} [{'#' * cells}{'.' * (30 - cells)}] {seconds:6.1f} / {self.total:.1f} s"
        else:
            text = f"{self.label} {seconds:6.1f} s (Ctrl-C stops)"
        sys.stderr.write(f"\r\x1b[K{text}")
        sys.stderr.flush()

    def close(self) -> None:
        if self.on:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def _use_server(args, patterns: list, flags: int, what: str) -> tuple:
    """Point rec() and play() at the chosen server: its sample rate and the
    ports the patterns name. Fails when it does not run (rather than let
    rec() and play() start a private one)."""
    with _open(args, "pyjack-probe") as client:
        rate = client.samplerate
        ports = _resolve(client, patterns, flags, what)
    os.environ["JACK_DEFAULT_SERVER"] = _server_name(args)
    return rate, ports


def _follow(bar: _Bar, rate: int, frames_of) -> tuple:
    """Show progress until the background call ends or Ctrl-C stops it; (status, stopped)."""
    stopped = False
    try:
        while pyjack.get_status().active:
            bar.show(frames_of(pyjack.get_status()) / rate)
            time.sleep(0.1)
    except KeyboardInterrupt:
        stopped = True
        pyjack.stop()
    finally:
        bar.close()
    return pyjack.wait(), stopped


def _report_losses(status) -> None:
    if status.lost_in or status.lost_out or status.skipped:
        print(f"warning: frames were lost (input {status.lost_in}, output {status.lost_out}, "
              f"skipped {status.skipped}, xruns {status.xruns})", file=sys.stderr)


def cmd_rec(args) -> int:
    if args.duration is not None and args.duration <= 0:
        raise Usage(f"--duration must be a positive number of seconds, not {args.duration}")
    rate, sources = _use_server(args, args.ports, pyjack.IsOutput, "audio output port")
    frames = None if args.duration is None else max(1, round(args.duration * rate))
    pyjack.rec(frames, inputs=sources, file=args.file, subtype=args.subtype, blocking=False,
               progress=False)
    status, stopped = _follow(_Bar("rec", args.duration), rate, lambda s: s.frames_recorded)
    seconds = status.frames_recorded / rate
    how = "stopped after" if stopped else "recorded"
    print(f"{how} {status.frames_recorded} frames ({seconds:.2f} s, {len(sources)} channel(s)) "
          f"into {args.file}")
    _report_losses(status)
    return 0


def cmd_play(args) -> int:
    rate, destinations = _use_server(args, args.ports, pyjack.IsInput, "audio input port")
    pyjack.play(args.file, outputs=destinations, blocking=False, progress=False)
    import soundfile  # play() has opened the file with it already

    total = soundfile.info(args.file).frames / rate
    status, stopped = _follow(_Bar("play", total), rate, lambda s: s.frames_played)
    seconds = status.frames_played / rate
    how = "stopped after" if stopped else "played"
    print(f"{how} {status.frames_played} frames ({seconds:.2f} s) of {args.file} to "
          f"{', '.join(destinations)}")
    _report_losses(status)
    return 0


# -- info ------------------------------------------------------------------------

def server_facts(client: pyjack.Client, look: float) -> dict:
    """What `pyjack info` shows about the server of an open client. Watches
    the xrun count for `look` seconds with the client active.

    The one place that gathers these facts: once the library tells the
    server's implementation and features itself, this asks it instead."""
    version = client.get_version_string()
    if "PipeWire" in version:
        implementation = "PipeWire"
    elif version.startswith("0."):
        implementation = "JACK1"
    else:
        implementation = "JACK2"
    client.activate()
    time.sleep(look)
    rate, period = client.samplerate, client.blocksize
    return {
        "implementation": implementation,
        "version": version,
        "sample_rate": rate,
        "period": period,
        "period_ms": round(1000.0 * period / rate, 3),
        "realtime": client.is_realtime(),
        "xruns": client.stats.xruns,
        "xruns_seconds": look,
        "cpu_load": round(client.get_cpu_load(), 2),
    }


def cmd_info(args) -> int:
    if args.look < 0:
        raise Usage(f"--look must be a number of seconds >= 0, not {args.look}")
    with _open(args, "pyjack-info") as client:
        facts = {"server": _server_name(args), **server_facts(client, args.look)}
    if args.json:
        print(json.dumps(facts, indent=2))
        return 0
    rows = [
        ("server", facts["server"]),
        ("implementation", facts["implementation"]),
        ("version", facts["version"]),
        ("sample rate", f"{facts['sample_rate']} Hz"),
        ("period", f"{facts['period']} frames ({facts['period_ms']:g} ms)"),
        ("real-time", "yes" if facts["realtime"] else "no"),
        ("xruns", f"{facts['xruns']} in {facts['xruns_seconds']:g} s"),
        ("cpu load", f"{facts['cpu_load']:.2f} %"),
    ]
    for label, value in rows:
        print(f"{label + ':':<16}{value}")
    return 0


# -- the parser ------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--server", metavar="NAME", default=argparse.SUPPRESS,
                        help="the JACK server (default: $JACK_DEFAULT_SERVER or \"default\")")
    parser = argparse.ArgumentParser(
        prog="pyjack", description="Ports, connections, snapshots, meters and recording on a "
        "JACK server. Exit codes: 0 done, 1 failed, 2 usage error.")
    parser.add_argument("--server", metavar="NAME", default=None,
                        help="the JACK server (default: $JACK_DEFAULT_SERVER or \"default\")")
    parser.add_argument("--version", action="version", version=f"pyjack {pyjack.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name, function, help, description=None):
        sub = commands.add_parser(name, parents=[common], help=help,
                                  description=description or help)
        sub.set_defaults(func=function)
        return sub

    sub = command("ports", cmd_ports, "list ports by client: type, direction, flags, "
                  "connections, aliases")
    sub.add_argument("pattern", nargs="?", metavar="PATTERN",
                     help="only ports whose full name this regular expression finds")
    sub.add_argument("--json", action="store_true", help="print a JSON list for scripts")

    wiring = ("SOURCE names output ports: a port name, or a regular expression that must match "
              "whole names. DESTINATION names input ports the same way, and may refer to "
              "SOURCE's groups: pyjack connect 'synth:out_(\\d)' 'system:playback_\\1'.")
    sub = command("connect", cmd_connect, "connect output ports to input ports",
                  "Connect output ports to input ports. " + wiring)
    sub.add_argument("source", metavar="SOURCE")
    sub.add_argument("destination", metavar="DESTINATION")
    sub = command("disconnect", cmd_disconnect, "disconnect output ports from input ports",
                  "Disconnect output ports from input ports. " + wiring +
                  " Without DESTINATION, every connection of SOURCE.")
    sub.add_argument("source", metavar="SOURCE")
    sub.add_argument("destination", metavar="DESTINATION", nargs="?", default=".*")

    sub = command("save", cmd_save, "save every connection to a JSON snapshot")
    sub.add_argument("file", metavar="FILE", help="the snapshot to write (- for stdout)")
    sub = command("restore", cmd_restore, "make the connections of a JSON snapshot",
                  "Make the connections of a snapshot written by pyjack save, waiting for "
                  "their ports to appear. Reports what it could not connect (exit code 1).")
    sub.add_argument("file", metavar="FILE", help="the snapshot to read (- for stdin)")
    sub.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                     help="how long to wait for missing ports (default: 10)")
    sub.add_argument("--watch", action="store_true",
                     help="keep restoring as clients come and go, until Ctrl-C")

    sub = command("watch", cmd_watch, "print graph events as they happen, timestamped",
                  "Print one timestamped line per event: clients, ports, connections, xruns, "
                  "buffer size, sample rate, freewheel, shutdown. Ctrl-C stops.")
    sub.add_argument("--graph-order", action="store_true",
                     help="also print each change of the graph's processing order")

    sub = command("meter", cmd_meter, "peak and RMS meters of output ports",
                  "Show peak and RMS levels (dBFS) of audio output ports, refreshed in place. "
                  "Ctrl-C stops.")
    sub.add_argument("ports", nargs="+", metavar="PORT",
                     help="a port name or a regular expression matching whole names")
    sub.add_argument("--interval", type=float, default=0.1, metavar="SECONDS",
                     help="the window of each reading (default: 0.1)")
    sub.add_argument("--count", type=int, default=None, metavar="N",
                     help="stop after N readings (default: run until Ctrl-C)")
    sub.add_argument("--bar", type=int, default=30, metavar="CELLS",
                     help="width of the bar, -60 to 0 dB (default: 30)")

    sub = command("rec", cmd_rec, "record output ports into a sound file",
                  "Record audio output ports into a sound file (WAV, FLAC, ... by its name), one "
                  "channel per port. Ctrl-C stops and leaves a valid file.")
    sub.add_argument("file", metavar="FILE")
    sub.add_argument("--ports", nargs="+", required=True, metavar="PORT",
                     help="ports to record: names or regular expressions matching whole names")
    sub.add_argument("--duration", type=float, default=None, metavar="SECONDS",
                     help="stop after this long (default: until Ctrl-C)")
    sub.add_argument("--subtype", default=None,
                     help="soundfile's subtype, e.g. PCM_24 or FLOAT (default: the format's)")

    sub = command("play", cmd_play, "play a sound file through input ports",
                  "Play a sound file through audio input ports, one port per channel. "
                  "Ctrl-C stops.")
    sub.add_argument("file", metavar="FILE")
    sub.add_argument("--ports", nargs="+", required=True, metavar="PORT",
                     help="ports to play to: names or regular expressions matching whole names")

    sub = command("info", cmd_info, "server implementation, version, rate, period, real-time, "
                  "xruns, CPU load")
    sub.add_argument("--look", type=float, default=0.5, metavar="SECONDS",
                     help="how long to count xruns (default: 0.5)")
    sub.add_argument("--json", action="store_true", help="print a JSON object for scripts")
    return parser


def _stop_on_sigterm(signum, frame):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _stop_on_sigterm)  # stop cleanly, as on Ctrl-C
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 0  # watch, meter, restore --watch: Ctrl-C is how they end
    except BrokenPipeError:
        # The reader went away (pyjack ports | head): not our failure.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Usage as error:
        print(f"pyjack {args.command}: error: {error}", file=sys.stderr)
        return 2
    except (Failed, pyjack.Error, OSError, ValueError, RuntimeError, ImportError) as error:
        print(f"pyjack {args.command}: {error}", file=sys.stderr)
        return 1
