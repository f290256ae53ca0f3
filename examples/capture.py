#!/usr/bin/env python3
"""Capture stereo audio from JACK, play it back, and save it: the original
pyjack demo, in Python 3.

    python3 capture.py [SECONDS] [--wav FILE]

Uses the server that $JACK_DEFAULT_SERVER names ("default" if unset) and its
first two physical capture and playback ports.
"""

import argparse
import wave

import numpy as np

import pyjack as jack


def save_wav(path, audio, rate):
    """Write float32 audio shaped (channels, frames) as 16-bit PCM."""
    pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(path, "wb") as f:
        f.setnchannels(audio.shape[0])
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(pcm.T.tobytes())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("duration", nargs="?", type=float, default=3.0,
                        help="seconds to capture (default: 3)")
    parser.add_argument("--wav", default="output.wav", help="file to save (default: output.wav)")
    args = parser.parse_args()

    jack.attach("captest")
    try:
        jack.register_port("in_1", jack.IsInput)
        jack.register_port("in_2", jack.IsInput)
        jack.register_port("out_1", jack.IsOutput)
        jack.register_port("out_2", jack.IsOutput)
        jack.activate()
        me = jack.get_client_name()
        sources = jack.get_ports(flags=jack.IsOutput | jack.IsPhysical)[:2]
        sinks = jack.get_ports(flags=jack.IsInput | jack.IsPhysical)[:2]
        for k, port in enumerate(sources, 1):
            jack.connect(port, f"{me}:in_{k}")
        for k, port in enumerate(sinks, 1):
            jack.connect(f"{me}:out_{k}", port)

        N = jack.get_buffer_size()
        Sr = jack.get_sample_rate()
        frames = max(N, int(Sr * args.duration) // N * N)
        capture = np.zeros((2, frames), np.float32)
        silence = np.zeros((2, N), np.float32)
        scratch = np.zeros((2, N), np.float32)

        print("capturing audio...")
        input_errors = output_errors = 0
        i = 0
        while i < frames:
            try:
                jack.process(silence, capture[:, i:i + N])
                i += N
            except jack.InputSyncError:
                input_errors += 1
                i += N  # the block arrived, only older frames were lost
            except jack.OutputSyncError:
                output_errors += 1
                i += N

        print("playing it back...")
        i = 0
        while i < frames:
            try:
                jack.process(capture[:, i:i + N], scratch)
                i += N
            except jack.InputSyncError:
                input_errors += 1
            except jack.OutputSyncError:
                output_errors += 1
        print(f"{input_errors} input and {output_errors} output sync errors")

        save_wav(args.wav, capture, Sr)
        print(f"saved {frames / Sr:.2f} s to {args.wav}")
    finally:
        jack.detach()


if __name__ == "__main__":
    main()
