"""Random sequences of API calls (tests/fuzz_api.py), in a subprocess so that a
crash or a hang fails this test instead of ending or blocking the run."""

import os
import subprocess
import sys

import pytest

from figures import report  # noqa: F401 (fixture)

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.mark.parametrize("examples", [25, pytest.param(100, marks=pytest.mark.slow)])
def test_random_api_sequences_raise_only_documented_exceptions(jack_server, tmp_path, examples,
                                                               report):
    env = dict(os.environ, PYJACK_FUZZ_SERVER=jack_server.name, JACK_NO_START_SERVER="1",
               PYJACK_FUZZ_EXAMPLES=str(examples))
    try:
        done = subprocess.run(
            [sys.executable, "-X", "faulthandler", "-m", "pytest", "-q", "-p", "no:cacheprovider",
             "--rootdir", HERE, os.path.join(HERE, "fuzz_api.py")],
            env=env, capture_output=True, text=True, timeout=100, cwd=tmp_path)  # hypothesis writes there
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"the API fuzzer hung:\n{exc.stdout}") from None
    tail = "\n".join(line for line in done.stdout.splitlines()[-60:])
    assert done.returncode == 0, f"fuzzer failed ({done.returncode}):\n{tail}\n{done.stderr[-3000:]}"
    report("random API sequences", {"sequences": examples, "steps_each_up_to": 30})
