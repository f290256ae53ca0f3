"""The original pyjack demos, rewritten under examples/, run to completion."""

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import pyjack

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(server, script, *args, timeout=60):
    env = dict(os.environ, JACK_DEFAULT_SERVER=server.name, JACK_NO_START_SERVER="1")
    done = subprocess.run([sys.executable, str(EXAMPLES / script), *args], env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{script} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_testtone_runs(jack_server):
    assert "played 0.50 s of 440 Hz" in run_example(jack_server, "testtone.py", "0.5")


def test_capture_runs_and_saves_a_wav(jack_server, tmp_path):
    import wave

    path = tmp_path / "capture.wav"
    out = run_example(jack_server, "capture.py", "0.5", "--wav", str(path))
    assert "saved 0.50 s" in out
    with wave.open(str(path)) as f:
        assert (f.getnchannels(), f.getframerate()) == (2, jack_server.rate)
        assert f.getnframes() == int(0.5 * jack_server.rate) // jack_server.period * jack_server.period


def test_just_capture_runs(jack_server):
    assert "captured and played 0.50 s" in run_example(jack_server, "just_capture.py", "0.5")


def test_transporter_runs(jack_server):
    lines = run_example(jack_server, "transporter.py", "0.5").splitlines()
    assert lines[-1].startswith("transport stopped at 6.")
    assert any(line.startswith("transport rolling") for line in lines)
    with pyjack.Client("cleanup", processing=False) as client:
        client.transport_locate(0)


def test_testtone_arrives_at_a_loopback_capture_at_440_hz(make_client, jack_server):
    recorder = make_client("recorder")
    recorder.register_port("in", pyjack.IsInput)
    recorder.activate()
    env = dict(os.environ, JACK_DEFAULT_SERVER=jack_server.name, JACK_NO_START_SERVER="1")
    tone = subprocess.Popen([sys.executable, str(EXAMPLES / "testtone.py"), "1.5",
                             "--to", "recorder:in"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    chunks = []
    block = np.zeros((1, 4800), np.float32)
    no_output = np.zeros((0, 4800), np.float32)
    deadline = time.monotonic() + 60
    try:
        while tone.poll() is None and time.monotonic() < deadline:
            try:
                recorder.process(no_output, block, timeout=10)
            except pyjack.InputSyncError:
                pass  # frames lost on a loaded machine: the block is still here
            chunks.append(block.copy())
        out, err = tone.communicate(timeout=10)
    finally:
        if tone.poll() is None:
            tone.kill()
            tone.wait()
    assert tone.returncode == 0, err
    heard = np.concatenate(chunks, axis=1)[0]
    loud = np.flatnonzero(np.abs(heard) > 0.5)
    assert loud.size > jack_server.rate // 2, "less than half a second of the tone arrived"
    segment = heard[loud[0]:loud[-1]]
    spectrum = np.abs(np.fft.rfft(segment * np.hanning(segment.size), 1 << 20))
    peak = np.argmax(spectrum) * jack_server.rate / (1 << 20)
    assert peak == pytest.approx(440.0, abs=1.0)
