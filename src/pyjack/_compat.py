"""The original pyjack's module-level functions, acting on one default client.

Scripts written for the original module run with ``import pyjack as jack``:
``jack.attach(name)`` opens the default client, the other functions act on
it, and ``jack.detach()`` closes it (``attach()`` may follow again). Every
function is also a method of ``pyjack.Client``.
"""

from __future__ import annotations

from . import _state
from ._core import _EVENT_KEYS, Client, NotConnectedError, UsageError
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

# The keys of Client.check_events(), all 0.
_NO_EVENTS = {key: 0 for key, _ in _EVENT_KEYS}


def _default() -> Client:
    client = _state.compat_client
    if client is None:
        raise NotConnectedError("Jack connection has not yet been established: "
                                "call pyjack.attach(name) first.")
    return client


def get_client() -> Client | None:
    """The default client that the module-level functions use, or None before attach()."""
    return _state.compat_client


def attach(name, **options):
    """Attach to the JACK server as the default client with the given name.

    Never starts a server: it uses the one $JACK_DEFAULT_SERVER names (or
    "default"). options go to pyjack.Client (server, depth, processing, ...).
    Raises UsageError if already attached, NotConnectedError if no server answers.
    """
    with _state.lock:
        old = _state.compat_client
        if old is not None and not old.closed and not old.stats.shutdown:
            raise UsageError(f"A connection is already established (client {old.name!r}); "
                             "call pyjack.detach() first.")
        _state.compat_client = None
        if old is not None:
            old.close()
        _state.compat_client = Client(name, **options)


def detach():
    """Close the default client. Does nothing if not attached; never raises."""
    with _state.lock:
        client, _state.compat_client = _state.compat_client, None
    if client is not None:
        client.close()


def check_events():
    """Which kinds of event happened since the previous call, as a dict of 0/1; resets them.

    Works before attach() (all 0). See Client.check_events() for the keys.
    """
    client = _state.compat_client
    if client is None:
        return dict(_NO_EVENTS)
    return client.check_events()


def get_ports(port_name_pattern=None, type_name_pattern=None, flags=0):
    """Full names of the server's ports matching the regular expressions and flags."""
    return _default().get_ports(port_name_pattern, type_name_pattern, flags)


def _forward(name):
    """A module-level function that calls the default client's method of that name."""
    def function(*args, **kwargs):
        return getattr(_default(), name)(*args, **kwargs)

    function.__name__ = function.__qualname__ = name
    function.__module__ = "pyjack"
    function.__doc__ = getattr(Client, name).__doc__
    return function


# Every other original function is the default client's method of the same name.
for _name in __all__:
    if _name not in globals():
        globals()[_name] = _forward(_name)
del _name
