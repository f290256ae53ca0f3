"""pyjack: JACK audio for Python without Python on JACK's real-time thread.

A C process callback moves audio between JACK ports and lock-free ring
buffers; ``Client.process()`` exchanges float32 numpy arrays with those rings,
blocking with the GIL released until JACK has moved the frames.
"""

try:
    from . import _core
except ImportError as error:
    # The extension links libjack.so.0 and the wheel does not carry it: the
    # machine's own library (jackd2's or PipeWire's) talks to its own server.
    if "libjack" not in str(error):
        raise
    raise ImportError(
        f"pyjack needs JACK's client library libjack.so.0, which could not be loaded ({error}). "
        "Install jackd2's libjack (Debian, Ubuntu: apt install libjack-jackd2-0, or jackd2 "
        "with the server; Fedora: dnf install jack-audio-connection-kit) or PipeWire's JACK "
        "(Debian, Ubuntu: apt install pipewire-jack, then run Python under pw-jack; Fedora: "
        "dnf install pipewire-jack-audio-connection-kit).",
        name=__name__) from error

from ._core import (
    CanMonitor,
    Client,
    DEFAULT_DEPTH,
    Error,
    InputSyncError,
    IsInput,
    IsOutput,
    IsPhysical,
    IsTerminal,
    NotConnectedError,
    OutputSyncError,
    Stats,
    TimeoutError,
    UsageError,
    status_text,
)
from ._server import KINDS, Server, server_running
from ._info import FEATURES, ServerInfo, server_info
from ._core import (
    BackendError, ClientZombie, Failure, InitFailure, InvalidOption, LoadFailure,
    NameNotUnique, NoSuchClient, ServerError, ServerFailed, ServerStarted, ShmFailure,
    TransportLooping, TransportNetStarting, TransportRolling, TransportStarting,
    TransportStopped, VersionError,
)
from . import _compat
from ._compat import *  # noqa: F403  (the original module-level functions)
from ._version import __version__

__all__ = [
    "CanMonitor", "Client", "DEFAULT_DEPTH", "Error", "InputSyncError", "IsInput", "IsOutput",
    "IsPhysical", "IsTerminal", "NotConnectedError", "OutputSyncError", "Server", "Stats",
    "TimeoutError", "UsageError", "__version__", "server_running", "status_text",
    "FEATURES", "KINDS", "ServerInfo", "server_info",
    "BackendError", "ClientZombie", "Failure", "InitFailure", "InvalidOption", "LoadFailure",
    "NameNotUnique", "NoSuchClient", "ServerError", "ServerFailed", "ServerStarted",
    "ShmFailure", "TransportLooping", "TransportNetStarting", "TransportRolling",
    "TransportStarting", "TransportStopped", "VersionError",
] + _compat.__all__

# Jupyter and scripts: rec(), play(), playrec() on default clients, and streams.
from ._play import Status, get_status, measure_latency, play, playrec, rec, stop, wait  # noqa: E402
from ._stream import Stream, default_server  # noqa: E402
from ._render import render  # noqa: E402

__all__ += [
    "Status", "Stream", "default_server", "get_status", "measure_latency", "play", "playrec",
    "rec", "stop", "wait", "render",
]

# MIDI: event rings in the engine, read and sent from Python threads.
from ._core import (  # noqa: E402
    DEFAULT_MIDI_DEPTH, MidiEvent, midi_dtype, midi_file_events,
)

__all__ += ["DEFAULT_MIDI_DEPTH", "MidiEvent", "midi_dtype", "midi_file_events"]
# Time and names: transport position, timebase, sync, latency, metadata.
from ._core import (  # noqa: E402
    CAPTURE, METADATA_CONNECTED, METADATA_EVENT_TYPES, METADATA_HARDWARE, METADATA_ICON_LARGE,
    METADATA_ICON_NAME, METADATA_ICON_SMALL, METADATA_ORDER, METADATA_PORT_GROUP,
    METADATA_PRETTY_NAME, METADATA_SIGNAL_TYPE, PLAYBACK, POSITION_BBT, POSITION_BBT_FRAME_OFFSET,
    POSITION_TIMECODE, PROPERTY_CHANGED, PROPERTY_CREATED, PROPERTY_DELETED, Position, SyncRequest, TempoSegment, TimeStats, get_time,
)

__all__ += [
    "CAPTURE", "METADATA_CONNECTED", "METADATA_EVENT_TYPES", "METADATA_HARDWARE",
    "METADATA_ICON_LARGE", "METADATA_ICON_NAME", "METADATA_ICON_SMALL", "METADATA_ORDER",
    "METADATA_PORT_GROUP", "METADATA_PRETTY_NAME", "METADATA_SIGNAL_TYPE", "PLAYBACK",
    "POSITION_BBT", "POSITION_BBT_FRAME_OFFSET", "POSITION_TIMECODE", "PROPERTY_CHANGED",
    "PROPERTY_CREATED", "PROPERTY_DELETED", "Position", "SyncRequest",
    "TempoSegment", "TimeStats", "get_time",
]
