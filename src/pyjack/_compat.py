"""The original pyjack's module-level functions, acting on one default client.

Scripts written for the original module run with ``import pyjack as jack``:
``jack.attach(name)`` opens the default client, the other functions act on
it, and ``jack.detach()`` closes it (``attach()`` may follow again). Every
function is also a method of ``pyjack.Client``.
"""

from __future__ import annotations

from ._core import Client, NotConnectedError, UsageError
from ._core import get_version, get_version_string  # noqa: F401  (need no client)

__all__ = [
    "attach", "detach", "activate", "deactivate", "register_port", "unregister_port",
    "connect", "disconnect", "get_ports", "get_connections", "get_port_flags",
    "get_port_type", "get_port_type_id", "get_port_short_name", "port_is_mine",
    "get_client_name", "get_buffer_size", "get_sample_rate", "set_buffer_size",
    "get_cpu_load", "is_realtime", "get_frame_time", "get_version", "get_version_string",
    "check_events", "process", "get_transport_state", "get_current_transport_frame",
    "transport_locate", "transport_start", "transport_stop", "set_sync_timeout",
    "transport_query", "get_transport_position",
    "set_graph_order_callback", "set_xrun_callback", "set_port_registration_callback",
    "set_port_connect_callback", "set_port_rename_callback",
    "set_client_registration_callback", "set_freewheel_callback",
    "set_buffer_size_callback", "set_sample_rate_callback", "set_shutdown_callback",
    "set_thread_init_callback", "get_client",
]

_client: Client | None = None

_NO_EVENTS = {key: 0 for key in (
    "graph_ordering", "port_registration", "xrun", "shutdown", "hangup", "buffer_size",
    "sample_rate", "freewheel", "client_registration", "port_connect", "port_rename")}


def _default() -> Client:
    if _client is None:
        raise NotConnectedError("Jack connection has not yet been established: "
                                "call pyjack.attach(name) first.")
    return _client


def get_client() -> Client | None:
    """The default client that the module-level functions use, or None before attach()."""
    return _client


def attach(name, **options):
    """Attach to the JACK server as the default client with the given name.

    Never starts a server: it uses the one $JACK_DEFAULT_SERVER names (or
    "default"). options go to pyjack.Client (server, depth, processing, ...).
    Raises UsageError if already attached, NotConnectedError if no server answers.
    """
    global _client
    if _client is not None and not _client.closed and not _client.stats.shutdown:
        raise UsageError(f"A connection is already established (client {_client.name!r}); "
                         "call pyjack.detach() first.")
    if _client is not None:
        _client.close()
        _client = None
    _client = Client(name, **options)


def detach():
    """Close the default client. Does nothing if not attached; never raises."""
    global _client
    client, _client = _client, None
    if client is not None:
        client.close()


def activate():
    """Start the default client's real-time processing."""
    _default().activate()


def deactivate():
    """Stop the default client's real-time processing."""
    _default().deactivate()


def register_port(name, flags):
    """Register an audio port of the default client (flags: IsInput or IsOutput, | ...);
    returns its full name."""
    return _default().register_port(name, flags)


def unregister_port(name):
    """Unregister one of the default client's ports, by short or full name."""
    _default().unregister_port(name)


def connect(source, destination):
    """Connect an output port to an input port (of any clients)."""
    _default().connect(source, destination)


def disconnect(source, destination):
    """Disconnect two ports; doing nothing if they are not connected."""
    _default().disconnect(source, destination)


def get_ports(port_name_pattern=None, type_name_pattern=None, flags=0):
    """Full names of the server's ports matching the regular expressions and flags."""
    return _default().get_ports(port_name_pattern, type_name_pattern, flags)


def get_connections(port):
    """Full names of the ports connected to a port."""
    return _default().get_connections(port)


def get_port_flags(port):
    """The flags of a port as an int (IsInput, IsOutput, IsPhysical, CanMonitor, IsTerminal)."""
    return _default().get_port_flags(port)


def get_port_type(port):
    """The type string of a port, e.g. "32 bit float mono audio"."""
    return _default().get_port_type(port)


def get_port_type_id(port):
    """The numeric type id of a port."""
    return _default().get_port_type_id(port)


def get_port_short_name(port):
    """A port's name without the "client:" prefix."""
    return _default().get_port_short_name(port)


def port_is_mine(port):
    """True if the port belongs to the default client."""
    return _default().port_is_mine(port)


def get_client_name():
    """The default client's name as the server knows it."""
    return _default().get_client_name()


def get_buffer_size():
    """The server's current buffer size in frames."""
    return _default().get_buffer_size()


def get_sample_rate():
    """The server's sample rate in Hz."""
    return _default().get_sample_rate()


def set_buffer_size(nframes):
    """Ask the server to change its buffer size."""
    _default().set_buffer_size(nframes)


def get_cpu_load():
    """The server's DSP load in percent."""
    return _default().get_cpu_load()


def is_realtime():
    """True if the server runs in real-time mode."""
    return _default().is_realtime()


def get_frame_time():
    """The server's current frame time (unsigned 32-bit)."""
    return _default().get_frame_time()


def check_events():
    """Which kinds of event happened since the previous call, as a dict of 0/1; resets them.

    Works before attach() (all 0). See Client.check_events() for the keys.
    """
    if _client is None:
        return dict(_NO_EVENTS)
    return _client.check_events()


def process(output, input):
    """Exchange audio with the default client: queue output, fill input in place.

    Both are float32 arrays shaped (ports, frames); see Client.process().
    """
    _default().process(output, input)


def get_transport_state():
    """The transport state (TransportStopped, TransportRolling, ...)."""
    return _default().get_transport_state()


def get_current_transport_frame():
    """The transport position in frames."""
    return _default().get_current_transport_frame()


def transport_locate(frame):
    """Move the transport to a frame."""
    _default().transport_locate(frame)


def transport_start():
    """Start the transport."""
    _default().transport_start()


def transport_stop():
    """Stop the transport."""
    _default().transport_stop()


def set_sync_timeout(usecs):
    """Set the slow-sync timeout in microseconds."""
    _default().set_sync_timeout(usecs)


def transport_query():
    """The transport state and position as a dict; see Client.transport_query()."""
    return _default().transport_query()


def get_transport_position():
    """Same as transport_query()."""
    return _default().transport_query()


def set_graph_order_callback(callback):
    """Call callback() when the graph order changes; None removes it."""
    _default().set_graph_order_callback(callback)


def set_xrun_callback(callback):
    """Call callback() on each xrun; None removes it."""
    _default().set_xrun_callback(callback)


def set_port_registration_callback(callback):
    """Call callback(port_name, registered) when a port appears or goes; None removes it."""
    _default().set_port_registration_callback(callback)


def set_port_connect_callback(callback):
    """Call callback(port_a, port_b, connected) on each (dis)connection; None removes it."""
    _default().set_port_connect_callback(callback)


def set_port_rename_callback(callback):
    """Call callback(old_name, new_name) when a port is renamed; None removes it."""
    _default().set_port_rename_callback(callback)


def set_client_registration_callback(callback):
    """Call callback(client_name, registered) when a client appears or goes; None removes it."""
    _default().set_client_registration_callback(callback)


def set_freewheel_callback(callback):
    """Call callback(starting) when freewheel mode starts or stops; None removes it."""
    _default().set_freewheel_callback(callback)


def set_buffer_size_callback(callback):
    """Call callback(nframes) after the buffer size changed; None removes it."""
    _default().set_buffer_size_callback(callback)


def set_sample_rate_callback(callback):
    """Call callback(rate) after the sample rate changed; None removes it."""
    _default().set_sample_rate_callback(callback)


def set_shutdown_callback(callback):
    """Call callback(reason) if the server shuts the client down; None removes it."""
    _default().set_shutdown_callback(callback)


def set_thread_init_callback(callback):
    """Accepted for old scripts, never called (see Client.set_thread_init_callback)."""
    _default().set_thread_init_callback(callback)
