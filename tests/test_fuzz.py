"""Random sequences of API calls (tests/fuzz_api.py), in a subprocess so that a
crash or a hang fails this test instead of ending or blocking the run."""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def test_random_api_sequences_raise_only_documented_exceptions(jack_server, tmp_path):
    env = dict(os.environ, PYJACK_FUZZ_SERVER=jack_server.name, JACK_NO_START_SERVER="1")
    try:
        done = subprocess.run(
            [sys.executable, "-X", "faulthandler", "-m", "pytest", "-q", "-p", "no:cacheprovider",
             "--rootdir", HERE, os.path.join(HERE, "fuzz_api.py")],
            env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)  # hypothesis writes there
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"the API fuzzer hung:\n{exc.stdout}") from None
    tail = "\n".join(line for line in done.stdout.splitlines()[-60:])
    assert done.returncode == 0, f"fuzzer failed ({done.returncode}):\n{tail}\n{done.stderr[-3000:]}"
