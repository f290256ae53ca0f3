"""Small helpers shared by the streaming tests."""

import threading

import numpy as np

import pyjack


def ramp(start, count):
    """float32 values start, start+1, ...: exact up to 2**24."""
    return np.arange(start, start + count, dtype=np.float32)


class RampProducer:
    """An output-only client on its own thread that plays 1, 2, 3, ... without a gap."""

    def __init__(self, name, server, block=256, depth=65536):
        self.client = pyjack.Client(name, server=server, depth=depth)
        self.port = self.client.register_port("out", pyjack.IsOutput)
        self.block = block
        self.errors = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.client.activate()
        self._thread.start()
        return self

    def _run(self):
        buf = np.empty((1, self.block), np.float32)
        value = 1
        while not self._stop.is_set():
            buf[0] = ramp(value, self.block)
            try:
                self.client.process(buf, np.empty((0, 0), np.float32), timeout=5)
            except pyjack.OutputSyncError as exc:  # would break the ramp: record it
                self.errors.append(exc)
                continue
            except pyjack.Error as exc:
                self.errors.append(exc)
                return
            value += self.block

    def stop(self):
        self._stop.set()
        self._thread.join(10)
        self.client.close()


def consecutive_runs(values):
    """Split a 1-D array of ramp values into runs of consecutive integers."""
    breaks = np.nonzero(np.diff(values) != 1)[0] + 1
    return np.split(values, breaks)
