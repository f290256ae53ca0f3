"""The `report` fixture: tests record the figures the README's Reliability
section quotes. With PYJACK_FIGURES=<file> set, each figure is appended to
that file as one JSON line; either way it is printed (pytest -s shows it)."""

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
