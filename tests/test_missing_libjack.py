"""Importing pyjack on a machine without a usable libjack says what to install.

The wheel does not carry libjack (the machine's own, jackd2's or PipeWire's, must
serve), so a missing or broken one is the first thing a user of the wheel meets.
Each test hides the real library in a private mount namespace: the directory that
holds it gets an overlay in which the libjack files are deleted, or the library
file gets an empty file bind-mounted over it. Nothing outside the namespace changes.
"""

import os
import shutil
import subprocess
import sys
import textwrap

import pytest

import pyjack

# Runs as the namespace's first process (root in a private mount namespace).
HIDE = textwrap.dedent("""
    import os, subprocess, sys, tempfile

    how, python = sys.argv[1], sys.argv[2]

    def loaded_libjack():
        # The file libjack.so.0 resolves to for a fresh process, or None.
        probe = ("import ctypes\\n"
                 "try: ctypes.CDLL('libjack.so.0')\\n"
                 "except OSError: raise SystemExit(0)\\n"
                 "print(next(line.split()[-1] for line in open('/proc/self/maps')"
                 " if '/libjack.so' in line))")
        out = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=True)
        return out.stdout.strip() or None

    def keep_mtime(path, like):
        # An editable install's build lists libjack as an input of the link:
        # with a new time it would relink, against the hidden library.
        was = os.stat(like).st_mtime_ns
        os.utime(path, ns=(was, was))

    def mount(*args):
        subprocess.run(["mount", *args], check=True, capture_output=True, text=True)

    hidden = []
    scratch = tempfile.mkdtemp(prefix="pyjack-nolibjack-")
    mount("-t", "tmpfs", "tmpfs", scratch)
    for round in range(5):
        found = loaded_libjack()
        if found is None:
            break
        hidden.append(found)
        if how == "broken" and round == 0:
            empty = os.path.join(scratch, "empty")
            open(empty, "w").close()
            keep_mtime(empty, found)
            mount("--bind", empty, found)
            break
        # Overlay the library's directory and delete every libjack file in it.
        directory = os.path.dirname(found)
        upper, work = (os.path.join(scratch, f"{name}{round}") for name in ("upper", "work"))
        os.mkdir(upper)
        os.mkdir(work)
        mount("-t", "overlay", "overlay", "-o",
              f"lowerdir={directory},upperdir={upper},workdir={work}", directory)
        names = [name for name in os.listdir(directory) if name.startswith("libjack.so")]
        link_time = os.path.join(directory, "libjack.so")
        was = os.stat(link_time).st_mtime_ns if os.path.exists(link_time) else None
        for name in names:
            os.unlink(os.path.join(directory, name))
        if was is not None:
            # The link-time name, never loaded at run time: left as an empty
            # file with its old time, for the reason keep_mtime gives.
            open(link_time, "w").close()
            os.utime(link_time, ns=(was, was))
    else:
        raise SystemExit("libjack is still found after hiding five copies")
    print("hidden:", *hidden, flush=True)
    env = dict(os.environ, MESONPY_EDITABLE_VERBOSE="1")  # an editable rebuild would say so
    done = subprocess.run([python, "-c", "import pyjack"], capture_output=True, text=True, env=env)
    print("exit code:", done.returncode)
    print(done.stdout)
    print(done.stderr)
""")


def import_without_libjack(how, tmp_path):
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("unshare (util-linux) is not installed")
    allowed = subprocess.run([unshare, "-m", "--propagation", "private", "true"],
                             capture_output=True, text=True, timeout=30)
    if allowed.returncode != 0:
        pytest.skip(f"a private mount namespace is not permitted here: {allowed.stderr.strip()}")
    env = {key: value for key, value in os.environ.items()
           if key not in ("LD_LIBRARY_PATH", "LD_PRELOAD")}
    script = tmp_path / "hide.py"
    script.write_text(HIDE)
    done = subprocess.run([unshare, "-m", "--propagation", "private", sys.executable, str(script),
                           how, sys.executable], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "exit code: 1" in done.stdout, done.stdout
    assert "meson-python: building" not in done.stdout, done.stdout
    return done.stdout


def assert_says_what_to_install(output):
    # The last error of the traceback: the one the user reads first.
    error = [line for line in output.splitlines() if line.startswith("ImportError:")][-1]
    assert "pyjack needs JACK's client library libjack.so.0" in error, error
    for package in ("libjack-jackd2-0", "jackd2", "pipewire-jack", "pw-jack",
                    "jack-audio-connection-kit", "pipewire-jack-audio-connection-kit"):
        assert package in error, (package, error)
    return error


def test_missing_libjack_names_the_packages_to_install(tmp_path):
    error = assert_says_what_to_install(import_without_libjack("missing", tmp_path))
    assert "libjack.so.0: cannot open shared object file" in error, error  # the loader's words


def test_broken_libjack_names_the_packages_to_install(tmp_path):
    error = assert_says_what_to_install(import_without_libjack("broken", tmp_path))
    assert "libjack.so.0: file too short" in error, error


def test_other_import_errors_pass_through_unchanged(tmp_path):
    # Only a libjack failure gets the install advice; a missing numpy stays numpy's error.
    blocker = tmp_path / "numpy.py"
    blocker.write_text("raise ImportError('numpy blocked for this test')\n")
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", "import pyjack"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "numpy blocked for this test" in done.stderr
    assert "libjack-jackd2-0" not in done.stderr


def test_pyjack_loads_the_machines_libjack_not_one_of_its_own():
    # Whatever libjack the extension uses comes from outside the installed package.
    maps = open("/proc/self/maps").read().splitlines()
    libjack = {line.split()[-1] for line in maps if "/libjack" in line}
    assert libjack, "pyjack is imported but no libjack is mapped"
    package = os.path.dirname(os.path.dirname(os.path.realpath(pyjack.__file__)))
    for path in libjack:
        assert not os.path.realpath(path).startswith(package + os.sep), path
