"""pyjack's module-level state, all of it, under one lock.

- the original API's default client (attach() and detach());
- the two default clients of rec(), play() and playrec(), render()'s one,
  and the call running on them;
- the round-trip latencies that playrec() found, by routing;
- the private dummy server started when no server was running.

One atexit hook closes them, clients before the server they run on.
"""

import atexit
import threading

# Reentrant: default_server() takes it, and so do the callers that use it.
lock = threading.RLock()

compat_client = None  # pyjack.Client of the original module-level API, or None
play_clients = None   # _play._Default: the clients behind rec/play/playrec, or None
render_client = None  # _play._Default: render()'s one client for both directions, or None
current_call = None   # _play._Call: the running or last rec/play/playrec, or None
latencies = {}        # routing -> round-trip latency in frames found by playrec()
private_server = None  # pyjack.Server started by default_server(), or None


def close_play_clients():
    """Close the clients of rec/play/playrec and render; they are made anew
    when needed."""
    global play_clients, render_client
    with lock:
        closing = (play_clients, render_client)
        play_clients = render_client = None
    for clients in closing:
        if clients is not None:
            clients.close()


@atexit.register
def _close_all():
    global compat_client, private_server
    close_play_clients()
    with lock:
        client, compat_client = compat_client, None
        server, private_server = private_server, None
    if client is not None:
        client.close()
    if server is not None:
        server.stop()
