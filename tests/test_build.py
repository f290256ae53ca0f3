"""The package as users get it: an sdist and a wheel that install into a fresh venv."""

import os
import re
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_sdist_and_wheel_install_into_a_fresh_venv(tmp_path):
    # The sdist is made from the git checkout (meson dist), the wheel from the sdist.
    dist = tmp_path / "dist"
    done = subprocess.run([sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT)],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    sdists = list(dist.glob("pyjack_rt-*.tar.gz"))
    wheels = list(dist.glob("pyjack_rt-*.whl"))
    assert len(sdists) == 1 and len(wheels) == 1, os.listdir(dist)

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "-q", str(wheels[0])], check=True,
                   capture_output=True, timeout=600)
    smoke = (
        "import pyjack, pyjack._core as core;"
        "assert core.__file__.endswith(tuple(__import__('importlib.machinery').machinery.EXTENSION_SUFFIXES));"
        "assert pyjack.IsOutput == 2 and issubclass(pyjack.InputSyncError, pyjack.Error);"
        "print(pyjack.__version__)"
    )
    done = subprocess.run([python, "-c", smoke], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == __import__("pyjack").__version__


def test_demo_runs_on_a_private_server(jack_server, server_features):
    env = dict(os.environ)
    env.pop("JACK_DEFAULT_SERVER", None)
    env["JACK_DEFAULT_SERVER"] = jack_server.name
    done = subprocess.run([sys.executable, "-m", "pyjack.demo", "--seconds", "1"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    measured = float(re.search(r"measured ([0-9.]+) Hz", done.stdout).group(1))
    assert abs(measured - 997.0) < 0.1
    assert f"server {jack_server.name}:" in done.stdout
    if server_features.has("self_loopback"):
        assert "round-trip latency: 256 frames through the client's own loopback" in done.stdout
    else:  # a second client runs in the same cycle as the first
        assert "round-trip latency: 0 frames through a second client" in done.stdout
    assert "frames lost: 0; bit-exact: True" in done.stdout


def test_demo_starts_its_own_server_when_none_runs(server_features):
    """With JACK2's libjack the demo starts a private jackd; with PipeWire's it
    never does, and says what to do instead."""
    env = dict(os.environ, JACK_DEFAULT_SERVER=f"pyjack-absent-{os.getpid()}")
    done = subprocess.run([sys.executable, "-m", "pyjack.demo", "--seconds", "0.5"], env=env,
                          capture_output=True, text=True, timeout=60)
    if server_features.has("private_jackd"):
        assert done.returncode == 0, done.stdout + done.stderr
        assert "started a private dummy server" in done.stdout
    else:
        assert done.returncode == 1, done.stdout + done.stderr
        assert "pyjack does not start jackd: start PipeWire" in done.stderr
        assert "jackd exited" not in done.stdout + done.stderr


def test_missing_jack_headers_stop_the_build_with_one_clear_sentence(tmp_path):
    empty = tmp_path / "no-pkgconfig"
    empty.mkdir()
    env = dict(os.environ, PKG_CONFIG_LIBDIR=str(empty), PKG_CONFIG_PATH="")
    done = subprocess.run([sys.executable, "-m", "mesonbuild.mesonmain", "setup",
                           str(tmp_path / "build"), str(ROOT)], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode != 0
    message = next(line for line in done.stdout.splitlines() if "ERROR:" in line)
    for needed in ("libjack-jackd2-dev", "jack-audio-connection-kit-devel",
                   "pipewire-jack-audio-connection-kit-devel"):
        assert needed in message, message


def test_stubs_parse_and_match_the_client_and_the_package():
    # The .pyi stubs are what type checkers and editors read: each must parse,
    # the Client stub must name exactly the public methods and properties of
    # the compiled class, and every name pyjack exports must be stubbed.
    import ast

    import pyjack

    stubs = {}
    for path in sorted((ROOT / "src" / "pyjack").glob("*.pyi")):
        stubs[path.name] = ast.parse(path.read_text(), filename=str(path))
    core = stubs["_core.pyi"]
    client = next(node for node in core.body if isinstance(node, ast.ClassDef) and node.name == "Client")
    stubbed = {node.name for node in client.body if isinstance(node, ast.FunctionDef)}
    stubbed |= {node.target.id for node in client.body
                if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)}
    stubbed = {name for name in stubbed if not name.startswith("_")}
    public = {name for name in dir(pyjack.Client) if not name.startswith("_")}
    assert public - stubbed == set(), "Client members missing from _core.pyi"
    assert stubbed - public == set(), "_core.pyi names Client members that do not exist"

    # Names the compiled module exports need its stub; pure-Python modules
    # carry their own annotations where they have no stub.
    declared = set()
    for node in core.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            declared.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            declared.add(node.target.id)
        elif isinstance(node, ast.Assign):
            declared.update(t.id for t in node.targets if isinstance(t, ast.Name))
    compiled = [name for name in pyjack.__all__ if hasattr(pyjack._core, name)]
    assert [name for name in compiled if name not in declared] == [], \
        "names of the compiled module that _core.pyi does not declare"
