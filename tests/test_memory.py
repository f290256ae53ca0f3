"""Memory: a million process() calls neither grow the process nor leak references."""

import gc
import sys

import numpy as np
import pytest

import pyjack
from figures import report  # noqa: F401 (fixture)
from helpers import UNDER_ASAN, rss_kib, wire_loopback


def refcounts(*objects):
    return [sys.getrefcount(o) for o in objects]


def settle():
    gc.collect()
    return rss_kib(), len(gc.get_objects())


def test_a_million_process_calls_keep_memory_flat(make_client, report):
    # Output only, so the calls are not paced by the server: each one
    # copies 16 frames into the ring (16M frames in all, within the depth),
    # which the process thread then plays.
    client = make_client("million", depth=1 << 24)
    client.register_port("out", pyjack.IsOutput)
    client.activate()
    out = np.arange(16, dtype=np.float32).reshape(1, 16)
    no_input = np.empty((0, 16), np.float32)
    process = client.process
    for _ in range(10_000):  # warm-up
        process(out, no_input)
    before = refcounts(client, out, no_input, process)
    rss, objects = settle()
    for _ in range(990_000):
        process(out, no_input)
    grown, objects_after = settle()
    assert client.output_position == 1_000_000 * 16
    figures = {"calls": 1_000_000, "frames": client.output_position,
               "rss_growth_kib": grown - rss, "gc_object_growth": objects_after - objects}
    report("a million output calls", figures)
    assert refcounts(client, out, no_input, process) == before
    assert figures["rss_growth_kib"] < 1024 or UNDER_ASAN
    assert abs(figures["gc_object_growth"]) < 100


def test_duplex_and_failing_calls_leak_nothing(make_client, report):
    client = wire_loopback(make_client("leaks"))
    out = np.ones((1, 64), np.float32)
    inp = np.empty((1, 64), np.float32)
    strided = np.empty((1, 128), np.float32)[:, ::2]
    wrong_dtype = np.empty((1, 64), np.float64)
    wrong_rows = np.empty((2, 64), np.float32)
    arrays = (out, inp, strided, wrong_dtype, wrong_rows)

    def duplex(n):
        for k in range(n):
            try:
                client.process(out, inp if k % 2 else strided, timeout=10)
            except (pyjack.InputSyncError, pyjack.OutputSyncError):
                pass  # a busy machine may lose frames; the calls still count

    def failing(n):
        for _ in range(n):
            with pytest.raises(TypeError):
                client.process(out, wrong_dtype)
            with pytest.raises(ValueError):
                client.process(out, wrong_rows)
            with pytest.raises(TypeError):
                client.process(out, [[0.0] * 64])
        for _ in range(n // 100):
            # Nothing new arrives within zero seconds once the ring is drained.
            try:
                client.process(out, inp, timeout=0)
            except (pyjack.TimeoutError, pyjack.InputSyncError, pyjack.OutputSyncError):
                pass

    duplex(200)
    failing(1000)
    before = refcounts(client, *arrays)
    rss, objects = settle()
    duplex(3000)          # about 4 s of audio, half of it through strided arrays
    failing(30_000)       # 90,000 rejected calls
    grown, objects_after = settle()
    figures = {"duplex_calls": 3000, "failed_calls": 90_300, "rss_growth_kib": grown - rss,
               "gc_object_growth": objects_after - objects}
    report("duplex and failing calls", figures)
    assert refcounts(client, *arrays) == before
    assert figures["rss_growth_kib"] < 1024 or UNDER_ASAN
    assert abs(figures["gc_object_growth"]) < 100
