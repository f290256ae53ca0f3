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


def test_demo_runs_on_a_private_server(jack_server):
    env = dict(os.environ)
    env.pop("JACK_DEFAULT_SERVER", None)
    env["JACK_DEFAULT_SERVER"] = jack_server.name
    done = subprocess.run([sys.executable, "-m", "pyjack.demo", "--seconds", "1"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    measured = float(re.search(r"measured ([0-9.]+) Hz", done.stdout).group(1))
    assert abs(measured - 997.0) < 0.1
    assert f"server {jack_server.name}:" in done.stdout
    assert "round-trip latency: 256 frames" in done.stdout
    assert "frames lost: 0; bit-exact: True" in done.stdout


def test_demo_starts_its_own_server_when_none_runs():
    env = dict(os.environ, JACK_DEFAULT_SERVER=f"pyjack-absent-{os.getpid()}")
    done = subprocess.run([sys.executable, "-m", "pyjack.demo", "--seconds", "0.5"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "started a private dummy server" in done.stdout


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
