"""Sphinx configuration of pyjack's documentation.

Build (from the checkout): sh scripts/bootstrap.sh docs, or
    python -m sphinx -W --keep-going -n -b html docs docs/_build/html
    python -m sphinx -W --keep-going -n -b doctest docs docs/_build/doctest

pyjack must be importable (installed, its extension built): the reference is
made from the live objects' docstrings, with types from the .pyi stubs
(_ext/pyjack_stubs.py says how). A build that runs code (the notebook, the
doctests) starts a private JACK server of its own (_ext/jack_server.py).
"""

import os
import pathlib
import sys
import tempfile

import pyjack

DOCS = pathlib.Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))

project = "pyjack"
author = "pyjack contributors"
copyright = "pyjack contributors"
release = pyjack.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.doctest",
    "myst_nb",                 # Markdown pages (MyST) and the executed notebook
    "pyjack_stubs",
    "jack_server",
]

exclude_patterns = ["_build", "README.md", "**.ipynb_checkpoints"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}

html_theme = "furo"
html_title = f"pyjack {release}"
html_static_path = []

# Markdown: heading anchors so guides can link to sections ([](#section) and
# page.md#section); ::: fences for directives.
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# The notebook runs during every HTML build, against the build's private
# server, so its figures are those of this run. An error in a cell fails the
# build. The figures it saves as files go to a temporary folder.
nb_execution_mode = "force"
nb_execution_timeout = 300
nb_execution_raise_on_error = True
nb_execution_show_tb = True
os.environ.setdefault("PYJACK_FIGURES", tempfile.mkdtemp(prefix="pyjack-docs-figures-"))
os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")

# The reference.
autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "signature"
# pyjack_stubs adds the stubs' types to attributes and Cython properties by
# extending autodoc's documenter classes, which Sphinx 9 keeps as the
# "legacy class-based" autodoc (hence sphinx < 10 in the docs extra).
autodoc_use_legacy_class_based = True
autodoc_class_signature = "mixed"
add_module_names = False
python_use_unqualified_type_names = True
pyjack_stub_dir = str(ROOT / "src" / "pyjack")

# Every cross-reference must resolve. The exceptions: names of numpy and of
# the standard library that appear in the stubs' type annotations. The build
# has no network, so there is no intersphinx inventory to resolve them with;
# builtins and typing names resolve without one.
nitpicky = True
nitpick_ignore = [
    ("py:class", "numpy.typing.NDArray"),     # process(), rec(), Stream.read() arrays
    ("py:class", "numpy.typing.ArrayLike"),   # Stream.write(data)
    ("py:class", "numpy.float32"),
    ("py:class", "numpy.floating"),
    ("py:class", "os.PathLike"),              # sound-file paths of rec() and play()
    ("py:class", "collections.abc.Iterator"),  # Stream.blocks()
    ("py:class", "collections.abc.Sequence"),  # Stream's port lists
    ("py:class", "types.MappingProxyType"),   # ServerInfo.features
]

# Doctests: the `>>>` examples of the docstrings, as the reference shows them,
# run against the build's private server, in a temporary folder (some write
# sound files).
doctest_global_setup = """
import os, tempfile
import numpy as np
import pyjack
os.chdir(tempfile.mkdtemp(prefix="pyjack-doctest-"))
"""
doctest_global_cleanup = """
pyjack.stop()
"""


def _drop_docstrings_of_builtin_types(app, what, name, obj, options, lines):
    """A constant's page shows what the .rst says about it, not the docstring
    of its type: autodoc falls back to int's, str's, tuple's or dict's own
    docstring for a module-level value that has none ("int([x]) -> integer")."""
    if what != "data":
        return
    from sphinx.util.docstrings import prepare_docstring

    own = type(obj).__doc__
    if own and lines[:len(prepare_docstring(own))] == prepare_docstring(own):
        del lines[:len(prepare_docstring(own))]


def setup(app):
    # Before pyjack_stubs reshapes docstrings into field lists.
    app.connect("autodoc-process-docstring", _drop_docstrings_of_builtin_types, priority=400)
