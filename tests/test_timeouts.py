"""Every test has a time limit (pytest-timeout, set in pyproject.toml): a test
that hangs fails within its limit, with the traceback of every thread,
instead of running until CI's limit."""

import os
import subprocess
import sys
import time

HANGING_TEST = '''
import threading
import numpy as np
import pytest
import pyjack


@pytest.mark.timeout(3)
def test_hangs_in_process():
    threading.Thread(target=threading.Event().wait, name="bystander", daemon=True).start()
    with pyjack.Client("hangs") as client:
        client.register_port("in", pyjack.IsInput)
        client.activate()
        # Ten minutes of input, no timeout: process() waits far past the limit.
        client.process(np.zeros((0, 1), np.float32), np.zeros((1, 600 * 48000), np.float32))
'''


def test_a_hanging_test_fails_within_its_limit_with_every_threads_traceback(jack_server,
                                                                              tmp_path):
    (tmp_path / "test_hang.py").write_text(HANGING_TEST)
    env = dict(os.environ, JACK_DEFAULT_SERVER=jack_server.name, JACK_NO_START_SERVER="1")
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                           "--rootdir", str(tmp_path), str(tmp_path / "test_hang.py")],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    took = time.monotonic() - started
    out = done.stdout
    assert done.returncode == 1, out[-3000:] + done.stderr[-3000:]
    assert "Timeout" in out and "1 failed" in out, out[-3000:]
    assert "bystander" in out, "no traceback of the other thread:\n" + out[-3000:]
    assert "client.process(" in out, "no traceback of the hanging call:\n" + out[-3000:]
    assert took < 30, took
