"""Which JACK serves: jackd2, PipeWire's JACK or a netjack2 slave, asked of
libjack through a short-lived client, and what that server can do."""

from __future__ import annotations

import dataclasses
import glob
import os
import re
import types

from ._core import Client, IsOutput, IsPhysical, get_version_string

__all__ = ["ServerInfo", "server_info", "libjack_is_pipewire", "pipewire_library_dir"]

# What each feature means; ServerInfo.features maps every one of them to a bool.
FEATURES = {
    "self_loopback": "a connection from a client's own output to its own input carries audio",
    "transport_locate": "transport_locate() moves the transport",
    "set_buffer_size": "set_buffer_size() is accepted",
    "buffer_size_sync": "a buffer-size change applies to every client in the same cycle",
    "freewheel_global": "freewheel mode applies to every client of the server",
    "internal_clients": "internal clients can be loaded (netmanager, ...)",
    "metadata": "the metadata API is served",
    "ports_appear_at_once": "another client's new port can be connected as soon as it is registered",
    "inactive_client_clock": "a client that is not active sees the frame time and the transport, "
                             "and a transport request takes effect even if its client closes at once",
    "connections_at_once": "a connection made or removed shows in every client's get_connections() "
                           "as soon as connect() or disconnect() returns",
    "own_port_flags": "a client's own ports keep every flag they were registered with",
    "graph_order_callback": "the graph-order callback fires when clients come and go",
    "lock_free_port_lookup": "jack_port_by_id() and jack_port_name(), which pyjack's "
                             "notification callbacks call, take no lock",
    "glitch_free_rewiring": "links made and removed by another client leave a client's existing "
                            "links sample-exact (PipeWire drops cycles of them, with no xrun)",
    "port_names_reusable_at_once": "a port's name can be registered again as soon as "
                                   "unregister_port() returned",
    "foreign_port_aliases": "a client may alias another client's port (jack_alias)",
    "close_after_server_death": "closing clients after their server died is safe (PipeWire 1.4.2's "
                                "libjack can double-free a memory map in jack_client_close())",
    "client_pid": "jack_get_client_pid() answers",
    "midi_sysex_whole": "a MIDI sysex crosses the server as one event, up to the port buffer's "
                        "jack_midi_max_event_size (about 32 KiB on jackd2); PipeWire 1.4.2 "
                        "splits it into events of up to 7 bytes and loses or crashes on long "
                        "ones, so pyjack sends at most 4096 bytes per event there",
    "physical_ports": "the server has physical system ports",
    "private_jackd": "this process's libjack can reach a private jackd that pyjack starts",
    "freewheel_lossless": "in freewheel (set_freewheel()) the client's graph runs back to back, "
                          "and the switch there and back loses no frame",
    # Time and names.
    "timebase_exact": "the bar, beat and tick a timebase master writes reach other clients "
                      "unchanged, with the frame it computed them for",
    "timebase_conditional": "a conditional set_timebase() is refused while another client is "
                            "the timebase master",
    "slow_sync": "the transport waits in Starting until every slow-sync client is ready (or "
                 "the server's sync timeout passes)",
    "cycle_times": "cycle_times() (jack_get_cycle_times()) answers outside the process thread",
    "port_rename": "rename_port() renames the port for every client",
    "late_client_xruns": "a client that overruns its cycle makes the server report an xrun to "
                         "the other clients",
}


@dataclasses.dataclass(frozen=True, repr=False)
class ServerInfo:
    """What pyjack.server_info() found out about a running server.

    name: the server name asked for ("default" for the default server).
    implementation: "JACK2" or "PipeWire" ("JACK1" for JACK1, untested).
    version: the implementation's version, e.g. "1.9.21" or "1.4.2".
    library: libjack's own version string, e.g. "3.1.4.2 (using PipeWire 1.4.2)".
    backend: JACK2's driver as named in its physical ports' aliases ("dummy",
        "net" for a netjack2 slave, "alsa", ...); "pipewire" on PipeWire;
        None when the server has no physical ports to tell.
    rate, period: sample rate and buffer size in frames.
    realtime: the server runs its clients with real-time priority.
    features: feature name -> bool, for every name in pyjack.FEATURES; see
        has().
    """

    name: str
    implementation: str
    version: str
    library: str
    backend: str | None
    rate: int
    period: int
    realtime: bool
    features: types.MappingProxyType

    def has(self, feature: str) -> bool:
        """True if the server has the feature (a key of pyjack.FEATURES)."""
        if feature not in FEATURES:
            raise ValueError(f"unknown feature {feature!r}; known: {', '.join(FEATURES)}")
        return self.features[feature]

    @property
    def missing(self) -> list:
        """Names of the features this server lacks."""
        return [name for name, present in self.features.items() if not present]

    def __repr__(self) -> str:
        backend = f" ({self.backend})" if self.backend else ""
        lacks = ", ".join(self.missing) or "nothing"
        return (f"<pyjack.ServerInfo {self.name!r}: {self.implementation} {self.version}{backend}, "
                f"{self.rate} Hz/{self.period}, {'real-time' if self.realtime else 'not real-time'}; "
                f"lacks {lacks}>")


def libjack_is_pipewire() -> bool:
    """True if the libjack this process loaded is PipeWire's (as under pw-jack)."""
    return "PipeWire" in get_version_string()


def pipewire_library_dir() -> str | None:
    """The directory of PipeWire's libjack (what pw-jack puts first on
    LD_LIBRARY_PATH), or None when PipeWire's JACK is not installed."""
    candidates = [os.path.join(d, "pipewire-0.3", "jack") for d in (
        "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib",
        "/usr/local/lib")]
    candidates += sorted(glob.glob("/usr/lib/*-linux-gnu*/pipewire-0.3/jack"))
    for directory in candidates:
        if os.path.exists(os.path.join(directory, "libjack.so.0")):
            return directory
    return None


def implementation_of(library: str) -> tuple:
    """("PipeWire", "1.4.2"), ("JACK2", "1.9.21") or ("JACK1", "0.125.0") from
    libjack's version string."""
    found = re.search(r"PipeWire (\d+(?:\.\d+)*)", library)
    if found:
        return "PipeWire", found.group(1)
    found = re.match(r"\s*(\d+(?:\.\d+)*)", library)
    version = found.group(1) if found else library
    return ("JACK1" if version.startswith("0.") else "JACK2"), version


def _numbers(version: str) -> tuple:
    return tuple(int(n) for n in re.findall(r"\d+", version)[:3])


def _backend(client: Client) -> str | None:
    physical = client.get_ports(None, "audio", IsPhysical | IsOutput) or client.get_ports(
        None, "audio", IsPhysical)
    for port in physical[:1]:
        for alias in client.get_port_aliases(port):
            # JACK2's drivers alias their ports "<driver>_pcm:..."
            found = re.match(r"([A-Za-z0-9]+)_pcm:", alias)
            if found:
                return found.group(1)
    return None


def features_of(implementation: str, version: str, backend: str | None,
                physical: bool) -> dict:
    """The feature map of a server of this implementation, version and backend.

    Facts measured with pyjack's test suite (the matrix in docs/guides/servers.md).
    PipeWire: no audio through a client's own out -> in connection; freewheel
    for the calling client's group only; buffer sizes change per client and
    asynchronously; no internal clients, no client pids; another client's
    new ports and links show up a moment late; only active clients see the
    frame time and the transport; a client's own ports report just their
    direction; the graph-order callback does not fire for new clients;
    jack_port_by_id() takes a mutex (seen by tests/rtprobe.c); while another
    client links and unlinks a client's ports, its existing link drops
    whole cycles (a few periods a second) with no xrun reported; 1.4.2's
    jack_client_close() can double-free after the server died; an
    unregistered port's name stays taken for a moment ("already exists");
    0.3.65 ignores transport_locate() (1.4.2 follows it); a MIDI sysex
    arrives split into events of at most 7 bytes, and long ones are lost or
    crash its libjack; a client that asks for freewheel gets no cycles at
    all until it leaves; a timebase master's BBT goes through PipeWire's own
    beat count (ticks_per_beat forced to 1920) and reaches others changed; a
    conditional set_timebase() is granted over another master; the transport
    rolls without waiting for slow-sync clients; jack_get_cycle_times() fails
    outside the process thread; jack_port_rename() does not show in other
    clients; a client late in its cycle causes no xrun report to the others.
    A netjack2 slave keeps the master's period: it refuses set_buffer_size();
    at a freewheel switch its graph misses a period (jack_thru's output).
    """
    if implementation == "PipeWire":
        return {
            "self_loopback": False,
            "transport_locate": _numbers(version) >= (1, 0),
            "set_buffer_size": True,
            "buffer_size_sync": False,
            "freewheel_global": False,
            "internal_clients": False,
            "metadata": True,
            "ports_appear_at_once": False,
            "inactive_client_clock": False,
            "connections_at_once": False,
            "own_port_flags": False,
            "graph_order_callback": False,
            "lock_free_port_lookup": False,
            "glitch_free_rewiring": False,
            "port_names_reusable_at_once": False,
            "foreign_port_aliases": False,
            "close_after_server_death": False,
            "client_pid": False,
            "midi_sysex_whole": False,
            "physical_ports": physical,
            "private_jackd": False,
            "freewheel_lossless": False,
            "timebase_exact": False,
            "timebase_conditional": False,
            "slow_sync": False,
            "cycle_times": False,
            "port_rename": False,
            "late_client_xruns": False,
        }
    net = backend == "net"
    return {
        "self_loopback": True,
        "transport_locate": True,
        "set_buffer_size": not net,
        "buffer_size_sync": not net,
        "freewheel_global": True,
        "internal_clients": True,
        "metadata": True,
        "ports_appear_at_once": True,
        "inactive_client_clock": True,
        "connections_at_once": True,
        "own_port_flags": True,
        "graph_order_callback": True,
        "lock_free_port_lookup": True,
        "glitch_free_rewiring": True,
        "port_names_reusable_at_once": True,
        "foreign_port_aliases": True,
        "close_after_server_death": True,
        "client_pid": True,
        "midi_sysex_whole": True,
        "physical_ports": physical,
        "private_jackd": True,
        "freewheel_lossless": not net,
        "timebase_exact": True,
        "timebase_conditional": True,
        "slow_sync": True,
        "cycle_times": True,
        "port_rename": True,
        "late_client_xruns": True,
    }


def server_info(server: str | None = None) -> ServerInfo:
    """Ask the JACK server which implementation it is and what it can do.

    server: the server name; default: $JACK_DEFAULT_SERVER or "default".
    Opens a short-lived client (no process callback) and closes it again.
    Raises NotConnectedError when no server answers.

    >>> info = pyjack.server_info()                 # doctest: +SKIP
    >>> info.implementation, info.version, info.has("self_loopback")   # doctest: +SKIP
    ('PipeWire', '1.4.2', False)
    """
    if server is None:
        server = os.environ.get("JACK_DEFAULT_SERVER", "default")
    with Client("pyjack-probe", processing=False, server=server) as client:
        library = client.get_version_string()
        implementation, version = implementation_of(library)
        backend = "pipewire" if implementation == "PipeWire" else _backend(client)
        physical = bool(client.get_ports(None, "audio", IsPhysical))
        info = ServerInfo(
            name=server, implementation=implementation, version=version, library=library,
            backend=backend, rate=client.samplerate, period=client.blocksize,
            realtime=bool(client.is_realtime()),
            features=types.MappingProxyType(features_of(implementation, version, backend, physical)))
    return info
