"""Soak test: stream a ramp for a long time while the consumer stalls at random.

One client plays a ramp (1, 2, 3, ... wrapping below 2**24, where float32
stops holding every integer) into another; a producer thread keeps the
first client's ring full and a consumer thread reads the second's, checks
every frame against the ramp, and now and then sleeps for a random time
shorter than the ring holds. No frame may be lost: pyjack's counters must
stay at zero. Breaks in the ramp are reported too; without an xrun there
must be none (in an xrun the server itself skips or repeats a late
client's cycle, which no client can prevent).

    python benchmarks/soak.py --seconds 60            # private server, 64 frames
    python benchmarks/soak.py --server myjack --json  # an existing server

Exit status 0 when no frame was lost and every break in the ramp came with
an xrun, 1 otherwise.
"""

import argparse
import json
import random
import sys
import threading
import time

import numpy as np

import pyjack

RAMP_PERIOD = (1 << 24) - 1  # ramp values run 1 .. 2**24 - 1, then wrap


def ramp_values(first, frames):
    """float32 ramp values starting at `first` (1-based, wrapping)."""
    return (1 + (first - 1 + np.arange(frames, dtype=np.int64)) % RAMP_PERIOD).astype(np.float32)


class Consumer:
    """Checks each received block against the ramp; counts breaks."""

    def __init__(self):
        self.expected = None  # next ramp value, once the ramp has started
        self.frames = 0
        self.breaks = 0

    def check(self, block):
        if self.expected is None:
            started = np.flatnonzero(block)
            if started.size == 0:
                return
            block = block[started[0]:]
            self.expected = int(block[0])
        self.frames += block.size
        if np.array_equal(block, ramp_values(self.expected, block.size)):
            self.expected = 1 + (self.expected - 1 + block.size) % RAMP_PERIOD
            return
        self.breaks += 1
        heard = np.flatnonzero(block)
        if heard.size:  # resynchronise on the last ramp value heard
            self.expected = 1 + int(block[heard[-1]]) % RAMP_PERIOD


def soak(server_name, seconds, frames, depth, max_stall_fraction, seed, progress):
    rng = random.Random(seed)
    source = pyjack.Client("soak-src", server=server_name, depth=depth)
    sink = pyjack.Client("soak-dst", server=server_name, depth=depth)
    try:
        out_port = source.register_port("out", pyjack.IsOutput)
        in_port = sink.register_port("in", pyjack.IsInput)
        source.activate()
        sink.activate()
        source.connect(out_port, in_port)
        rate = sink.samplerate
        ring_seconds = depth / rate
        max_stall = max_stall_fraction * ring_seconds
        stop = threading.Event()
        errors = []
        stalls = []
        consumer = Consumer()

        def produce():
            value, empty = 1, np.empty((0, frames), np.float32)
            try:
                while not stop.is_set():
                    block = ramp_values(value, frames).reshape(1, -1)
                    try:
                        source.process(block, empty, timeout=5)
                    except pyjack.OutputSyncError:
                        continue  # counted in lost_out; the block goes again
                    value = 1 + (value - 1 + frames) % RAMP_PERIOD
            except Exception as exc:
                errors.append(exc)

        def consume():
            block, empty = np.empty((1, frames), np.float32), np.empty((0, frames), np.float32)
            try:
                while not stop.is_set():
                    try:
                        sink.process(empty, block, timeout=5)
                    except pyjack.InputSyncError:
                        pass  # counted in lost_in; the block is filled anyway
                    consumer.check(block[0])
                    if rng.random() < frames / rate:  # about one stall a second
                        pause = rng.uniform(0, max_stall)
                        stalls.append(pause)
                        time.sleep(pause)
            except Exception as exc:
                errors.append(exc)

        workers = [threading.Thread(target=produce), threading.Thread(target=consume)]
        for w in workers:
            w.start()
        started = time.monotonic()
        next_report = started + 10
        while time.monotonic() - started < seconds and not errors:
            time.sleep(0.1)
            if progress and time.monotonic() >= next_report:
                next_report += 10
                s = sink.stats
                print(f"{time.monotonic() - started:5.0f} s: {consumer.frames} frames, "
                      f"lost {s.lost_in + source.stats.lost_out}, xruns {s.xruns}",
                      file=sys.stderr)
        stop.set()
        for w in workers:
            w.join(10)
        if errors:
            raise errors[0]
        src, dst = source.stats, sink.stats
        xruns = max(src.xruns, dst.xruns)
        lost = dst.lost_in + src.lost_out
        return {
            "seconds": round(time.monotonic() - started, 1), "rate": rate,
            "period": dst.buffer_size, "block": frames, "depth": depth,
            "frames": consumer.frames, "frames_lost": lost, "lost_in": dst.lost_in,
            "lost_out": src.lost_out, "xruns": xruns, "ramp_breaks": consumer.breaks,
            "stalls": len(stalls), "longest_stall_ms": round(1000 * max(stalls, default=0), 1),
            "ring_ms": round(1000 * ring_seconds, 1),
            "ok": lost == 0 and (consumer.breaks == 0 or xruns > 0),
        }
    finally:
        source.close()
        sink.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to stream")
    parser.add_argument("--server", help="an existing JACK server (default: start a private one)")
    parser.add_argument("--period", type=int, default=64, help="private server's period")
    parser.add_argument("--rate", type=int, default=48000, help="private server's sample rate")
    parser.add_argument("--frames", type=int, default=64, help="frames per process() call")
    parser.add_argument("--depth", type=int, default=pyjack.DEFAULT_DEPTH, help="ring depth")
    parser.add_argument("--max-stall", type=float, default=0.5,
                        help="longest consumer stall, as a fraction of the ring's duration")
    parser.add_argument("--seed", type=int, default=None, help="random seed of the stalls")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    if not 0 < args.max_stall < 1:
        parser.error("--max-stall must be between 0 and 1: a stall as long as the ring loses input")
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    if args.server:
        result = soak(args.server, args.seconds, args.frames, args.depth, args.max_stall, seed,
                      not args.json)
    else:
        with pyjack.Server(rate=args.rate, period=args.period) as server:
            result = soak(server.name, args.seconds, args.frames, args.depth, args.max_stall,
                          seed, not args.json)
    result["seed"] = seed
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>16}: {value}")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
