"""A private JACK server for the build: the notebook and the doctests run against it.

A build that executes code (the doctest builder, or the notebook when myst-nb
executes it) starts ``pyjack.Server`` (jackd with the dummy backend, under a
name of its own) and points $JACK_DEFAULT_SERVER at it, so every client made
during the build, in this process or in the notebook's kernel, uses it. A
user's own server is never touched: the doctests play sound, and it would come
out of the speakers. The server stops when the build finishes.
"""

from __future__ import annotations

import atexit
import os

from sphinx.util import logging

logger = logging.getLogger(__name__)


def _needs_server(app):
    if app.builder.name == "doctest":
        return True
    return app.builder.format == "html" and app.config.nb_execution_mode != "off"


def builder_inited(app):
    if not _needs_server(app):
        return
    import pyjack

    server = pyjack.Server(rate=48000, period=256, timeout=30)
    server.start()
    atexit.register(server.stop)
    app.pyjack_server = server
    os.environ["JACK_DEFAULT_SERVER"] = server.name
    os.environ["JACK_NO_START_SERVER"] = "1"   # a typo in a name must not start another
    logger.info(f"private JACK server {server.name!r} started for the build")


def build_finished(app, exception):
    server = getattr(app, "pyjack_server", None)
    if server is None:
        return
    import pyjack

    # Clients before their server, so none sees it vanish: a background call
    # of a doctest, the default clients of rec/play and of the original API.
    pyjack.stop()
    pyjack.detach()
    from pyjack import _state
    _state.close_play_clients()
    server.stop()
    logger.info(f"private JACK server {server.name!r} stopped")


def setup(app):
    app.connect("builder-inited", builder_inited)
    app.connect("build-finished", build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
