"""The soak run: benchmarks/soak.py streams a ramp at 64 frames for 60 s
(PYJACK_SOAK_SECONDS) while its consumer stalls at random; no frame may be lost."""

import json
import os
import subprocess
import sys

import pytest

from figures import report  # noqa: F401 (fixture)

SOAK = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                    "benchmarks", "soak.py")


@pytest.mark.soak
@pytest.mark.timeout(900)
def test_soak_loses_no_frame(report):
    seconds = float(os.environ.get("PYJACK_SOAK_SECONDS", "60"))
    done = subprocess.run([sys.executable, SOAK, "--seconds", str(seconds), "--json"],
                          capture_output=True, text=True, timeout=seconds + 120)
    assert done.returncode in (0, 1), done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    report("soak", result)
    assert result["frames_lost"] == 0, result
    assert result["stalls"] > 0 and result["frames"] > 0.8 * seconds * result["rate"], result
    assert result["ok"], result
