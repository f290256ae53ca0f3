"""The `report` fixture: tests record the figures that the Reliability page
(docs/reliability.md) quotes. With PYJACK_FIGURES=<file> set, each figure is
appended to that file as one JSON line; either way it is printed (pytest -s
shows it)."""

import json
import os

import pytest


@pytest.fixture
def report(request):
    def record(what, figures):
        line = json.dumps({"test": request.node.name, "what": what, **figures})
        print(line)
        path = os.environ.get("PYJACK_FIGURES")
        if path:
            with open(path, "a") as f:
                f.write(line + "\n")

    return record


def record_run():
    """With PYJACK_FIGURES set, append the facts of this run (date, commit,
    versions, machine) for scripts/reliability_table.py."""
    path = os.environ.get("PYJACK_FIGURES")
    if not path:
        return
    import datetime
    import platform
    import subprocess

    import pyjack

    def first_line(command):
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=10,
                                  cwd=os.path.dirname(os.path.abspath(__file__)))
        except OSError:
            return "?"
        return (done.stdout or done.stderr).strip().splitlines()[0] if done.returncode == 0 else "?"

    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    facts = {"date": datetime.date.today().isoformat(), "pyjack": pyjack.__version__,
             "commit": first_line(["git", "rev-parse", "--short", "HEAD"]),
             "jackd": first_line(["jackd", "--version"]), "python": platform.python_version(),
             "cpus": os.cpu_count(), "cpu": cpu, "kernel": platform.release()}
    with open(path, "a") as f:
        f.write(json.dumps({"run": facts}) + "\n")
