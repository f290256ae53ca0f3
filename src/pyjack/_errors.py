"""pyjack's exceptions, and the words for JACK's status bits.

Every pyjack exception derives from Error, and from the builtin it stands for
where one fits. Only _core turns engine and JACK return codes into these
(Client._fail); the Python layers raise them for their own checks.
"""

import builtins

__all__ = [
    "Error", "NotConnectedError", "UsageError", "InputSyncError", "OutputSyncError",
    "TimeoutError", "status_text",
    "Failure", "InvalidOption", "NameNotUnique", "ServerStarted", "ServerFailed", "ServerError",
    "NoSuchClient", "LoadFailure", "InitFailure", "ShmFailure", "VersionError", "BackendError",
    "ClientZombie",
]


class Error(Exception):
    """Base class of every pyjack exception."""


class NotConnectedError(Error, ConnectionError):
    """The client is not connected: never attached, closed, or the server went away."""


class UsageError(Error, RuntimeError):
    """The call does not fit the client's state, e.g. activate() twice."""


class InputSyncError(Error):
    """Input frames were lost before this process() call started.

    Raised after the whole input array has been filled; none of that call's
    output was queued, so calling again with the same output retries it.
    """


class OutputSyncError(Error):
    """Output ran dry (frames were zero-filled) before this process() call started.

    Raised after the whole input array has been filled; none of that call's
    output was queued, so calling again with the same output retries it.
    """


class TimeoutError(Error, builtins.TimeoutError):
    """A wait ran past its timeout. Also a builtin TimeoutError."""


for _cls in (Error, NotConnectedError, UsageError, InputSyncError, OutputSyncError, TimeoutError):
    _cls.__module__ = "pyjack"  # tracebacks say pyjack.UsageError, where users find it
del _cls

# JackStatus bits, with the values of JACK's ABI (jack/types.h).
Failure = 0x01
InvalidOption = 0x02
NameNotUnique = 0x04
ServerStarted = 0x08
ServerFailed = 0x10
ServerError = 0x20
NoSuchClient = 0x40
LoadFailure = 0x80
InitFailure = 0x100
ShmFailure = 0x200
VersionError = 0x400
BackendError = 0x800
ClientZombie = 0x1000

_STATUS_TEXT = (
    (Failure, "overall operation failed"),
    (InvalidOption, "invalid or unsupported option"),
    (NameNotUnique, "client name not unique"),
    (ServerFailed, "unable to connect to the JACK server"),
    (ServerError, "communication error with the JACK server"),
    (NoSuchClient, "no such client"),
    (LoadFailure, "unable to load internal client"),
    (InitFailure, "unable to initialise client"),
    (ShmFailure, "unable to access shared memory"),
    (VersionError, "client's protocol version does not match"),
    (BackendError, "backend error"),
    (ClientZombie, "client zombified"),
)


def status_text(status: int) -> str:
    """Describe the bits of a JACK status value in words."""
    words = [text for bit, text in _STATUS_TEXT if status & bit]
    return ", ".join(words) if words else "no error"
