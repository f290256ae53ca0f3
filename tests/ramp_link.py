"""A ramp played by one client into another, and a check that what arrived is
the ramp, bit for bit, apart from frames the counters report as lost."""

import numpy as np

import pyjack

# float32 holds every integer up to 2**24 exactly: more than five minutes at 48 kHz.
RAMP_LIMIT = 1 << 24


class RampLink:
    """Client "<name>-src" plays 1, 2, 3, ... into client "<name>-dst".

    Both clients are driven from the calling thread by step(); the source
    stays `lead` frames ahead so a late step never starves the server.
    """

    def __init__(self, server_name, name="ramp", *, chunk=256, lead=8192, depth=32768):
        self.chunk = chunk
        self.source = pyjack.Client(f"{name}-src", server=server_name, depth=depth)
        self.sink = pyjack.Client(f"{name}-dst", server=server_name, depth=depth)
        self.out_port = self.source.register_port("out", pyjack.IsOutput)
        self.in_port = self.sink.register_port("in", pyjack.IsInput)
        self.source.activate()
        self.sink.activate()
        self.source.connect(self.out_port, self.in_port)
        self.next_value = 1
        self.received = []
        self.no_input = np.empty((0, chunk), np.float32)
        self.inbuf = np.empty((1, chunk), np.float32)
        self.output_sync_errors = 0
        self.input_sync_errors = 0
        for _ in range(lead // chunk):
            self._send()

    def _send(self):
        ramp = np.arange(self.next_value, self.next_value + self.chunk, dtype=np.float64)
        out = ramp.astype(np.float32).reshape(1, -1)
        assert self.next_value + self.chunk < RAMP_LIMIT, "ramp ran past exact float32 integers"
        while True:
            try:
                self.source.process(out, self.no_input, timeout=10)
                break
            except pyjack.OutputSyncError:
                self.output_sync_errors += 1  # not queued: send the same chunk again
        self.next_value += self.chunk

    def _receive(self):
        try:
            self.sink.process(self.no_input, self.inbuf, timeout=10)
        except pyjack.InputSyncError:
            self.input_sync_errors += 1  # filled anyway; the gap is counted in lost_in
        self.received.append(self.inbuf[0].copy())

    def step(self, count=1):
        """Send one chunk and receive one chunk, count times."""
        for _ in range(count):
            self._send()
            self._receive()

    def check(self, xrun_allowance=None):
        """Assert the received stream is the ramp apart from reported losses.

        Every frame must be an exact ramp value. Without losses or xruns the
        ramp must be unbroken. Frames go missing when the sink drops whole
        input cycles (lost_in, pyjack's counter) and, outside pyjack, when the
        server skips or repeats a late client's cycle in an xrun (xruns, the
        server's report): xrun_allowance is how many frames the xruns may
        account for, missing or repeated (default: one period of the current
        size per xrun).

        Returns a dict of figures: ramp frames received, frames missing and
        repeated, zero frames inserted, and the counters that explain them.
        """
        heard = np.concatenate(self.received)
        source, sink = self.source.stats, self.sink.stats
        nonzero = np.flatnonzero(heard)
        assert nonzero.size > 0, "no ramp frame arrived"
        values = heard[nonzero[0]:nonzero[-1] + 1].astype(np.float64)
        ramp = values[values != 0]
        zeros = values.size - ramp.size
        assert np.array_equal(ramp, np.round(ramp)), "a received frame is not a ramp value"
        assert ramp.min() >= 1 and ramp.max() < self.next_value, "a frame outside the ramp sent"
        steps = np.diff(ramp)
        breaks = steps[steps != 1]
        missing = int((breaks[breaks > 1] - 1).sum())
        repeated = int((1 - breaks[breaks < 1]).sum())
        xruns = max(source.xruns, sink.xruns)
        if xrun_allowance is None:
            xrun_allowance = xruns * sink.buffer_size
        if xruns == 0:
            assert repeated == 0, f"{repeated} frames repeated without an xrun"
        assert repeated <= xrun_allowance, (repeated, xrun_allowance)
        assert missing <= sink.lost_in + xrun_allowance, (missing, xrun_allowance, sink)
        # Silence appears only when the source's output ran dry.
        assert zeros <= source.lost_out, (zeros, source)
        return {"received": int(ramp.size), "breaks": int(breaks.size), "missing": missing,
                "repeated": repeated, "zeros": zeros, "lost_in": sink.lost_in,
                "lost_out": source.lost_out, "xruns": xruns}

    def close(self):
        self.source.close()
        self.sink.close()
