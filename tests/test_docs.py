"""Every public name of pyjack is in the API reference (docs/api), and nothing else is.

The fast test reads the reference's sources; the second builds the reference
(without running the notebook, so with no JACK server) and reads the names
from the built index, objects.inv, as intersphinx and the search see them.
"""

import pathlib
import re
import subprocess
import sys

import pytest

import pyjack

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs"

# ".. autofunction:: rec", ".. autodata:: IsInput", ... under ".. currentmodule:: pyjack"
_DIRECTIVE = re.compile(r"^\.\. (?:auto(?:class|function|exception|data)|py:(?:class|function|"
                        r"exception|data))::\s+(\S+)", re.M)


def documented_in_sources():
    names = []
    for page in sorted((DOCS / "api").glob("*.rst")):
        text = page.read_text()
        assert ".. currentmodule:: pyjack" in text, f"{page.name} documents outside pyjack"
        names += _DIRECTIVE.findall(text)
    return names


def test_reference_sources_document_every_public_name_once():
    names = documented_in_sources()
    duplicates = sorted({n for n in names if names.count(n) > 1})
    assert duplicates == [], f"documented twice: {duplicates}"
    assert sorted(set(pyjack.__all__) - set(names)) == [], "public but not in docs/api"
    assert sorted(set(names) - set(pyjack.__all__)) == [], "in docs/api but not in pyjack.__all__"


def test_built_index_has_every_public_name(tmp_path):
    pytest.importorskip("sphinx", reason="pip install 'pyjack-rt[docs]'")
    pytest.importorskip("myst_nb", reason="pip install 'pyjack-rt[docs]'")
    pytest.importorskip("furo", reason="pip install 'pyjack-rt[docs]'")
    from sphinx.util.inventory import InventoryFile

    out = tmp_path / "html"
    build = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-n", "-q", "-b", "html",
         "-D", "nb_execution_mode=off", "-d", str(tmp_path / "doctrees"), str(DOCS), str(out)],
        capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stdout + build.stderr
    inventory = InventoryFile.loads((out / "objects.inv").read_bytes(), uri="")
    top_level = {name.removeprefix("pyjack.") for kind, entries in inventory.data.items()
                 if kind.startswith("py:") for name in entries
                 if name.startswith("pyjack.") and name.count(".") == 1}
    assert sorted(set(pyjack.__all__) - top_level) == [], "public but not in the built index"
    assert sorted(top_level - set(pyjack.__all__)) == [], "in the built index but not public"
    # Members are there too, with the stubs' types: a spot check of each kind.
    assert "pyjack.Client.process" in inventory.data["py:method"]
    html = (out / "api" / "client.html").read_text()
    assert "NDArray" in html and "float32" in html, "process() lost its stub types"
