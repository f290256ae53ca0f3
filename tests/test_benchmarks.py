"""The benchmarks must not rot: run them all in quick mode. No speed is asserted."""

import subprocess
import sys
from pathlib import Path

import pytest

RUN_ALL = Path(__file__).resolve().parent.parent / "benchmarks" / "run_all.py"


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_run_all_quick_writes_the_table_and_the_chart(tmp_path):
    pytest.importorskip("matplotlib", reason="the benchmarks need the bench extra: pip install .[bench]")
    done = subprocess.run([sys.executable, str(RUN_ALL), "--quick", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    table = (tmp_path / "results.md").read_text()
    assert "| Benchmark | Setting | Figure | pyjack | JACK-Client | C |" in table
    for question in ("GIL contention", "Freewheel throughput", "Real-time CPU cost", "Per-call cost",
                     "Latency determinism", "MIDI", "Offline rendering"):
        assert f"| {question} |" in table
    assert (tmp_path / "results.png").read_bytes().startswith(b"\x89PNG")
