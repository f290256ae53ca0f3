"""A ramp played by one client into another, and a check that what arrived is
the ramp, bit for bit, apart from frames the counters report as lost."""

import time

import numpy as np

import pyjack
from helpers import ramp



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
        out = ramp(self.next_value, self.chunk).reshape(1, -1)
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
        """Assert that what the sink heard is the ramp apart from reported losses
        (see verify_ramp); return verify_ramp's figures."""
        source, sink = self.source.stats, self.sink.stats
        return verify_ramp(np.concatenate(self.received), self.next_value, lost_in=sink.lost_in,
                           lost_out=source.lost_out, xruns=max(source.xruns, sink.xruns),
                           xrun_allowance=xrun_allowance, period=sink.buffer_size)

    def close(self):
        self.source.close()
        self.sink.close()


def verify_ramp(heard, sent_up_to, *, lost_in, lost_out, xruns, period, xrun_allowance=None):
    """Assert a received stream is the ramp 1, 2, ... apart from reported losses.

    Every frame must be an exact ramp value below sent_up_to. Without losses
    or xruns the ramp must be unbroken. Frames go missing when the receiver
    drops whole input cycles (lost_in, pyjack's counter) and, outside pyjack,
    when the server skips or repeats a late client's cycle in an xrun (xruns,
    the server's report): xrun_allowance is how many frames the xruns may
    account for, missing or repeated (default: one period each). Silence
    inside the ramp is allowed only as far as the sender's output ran dry
    (lost_out).

    Returns figures: ramp frames received, breaks in the ramp, frames missing
    and repeated, zero frames inside the ramp, and the counters.
    """
    nonzero = np.flatnonzero(heard)
    assert nonzero.size > 0, "no ramp frame arrived"
    values = heard[nonzero[0]:nonzero[-1] + 1].astype(np.float64)
    got = values[values != 0]
    zeros = values.size - got.size
    assert np.array_equal(got, np.round(got)), "a received frame is not a ramp value"
    assert got.min() >= 1 and got.max() < sent_up_to, "a frame outside the ramp sent"
    steps = np.diff(got)
    breaks = steps[steps != 1]
    missing = int((breaks[breaks > 1] - 1).sum())
    repeated = int((1 - breaks[breaks < 1]).sum())
    if xrun_allowance is None:
        xrun_allowance = xruns * period
    if xruns == 0:
        assert repeated == 0, f"{repeated} frames repeated without an xrun"
    assert repeated <= xrun_allowance, (repeated, xrun_allowance)
    assert missing <= lost_in + xrun_allowance, (missing, lost_in, xrun_allowance)
    assert zeros <= lost_out, (zeros, lost_out)
    return {"received": int(got.size), "breaks": int(breaks.size), "missing": missing,
            "repeated": repeated, "zeros": zeros, "lost_in": lost_in, "lost_out": lost_out,
            "xruns": xruns}


class LoopbackRamp:
    """One client plays the ramp on its first output port and hears it back on
    its first input port (connected by the caller). Other ports of the client
    may come and go: step() shapes its arrays to the ports of the moment and
    sends silence on the others."""

    def __init__(self, client, *, chunk=256, lead=2048):
        self.client = client
        self.chunk = chunk
        self.lead = lead
        self.next_value = 1
        self.received = []
        self.retries = 0

    def step(self):
        frames = self.lead if self.next_value == 1 else self.chunk
        first_row = ramp(self.next_value, frames)
        while True:
            out = np.zeros((len(self.client.outports), frames), np.float32)
            inp = np.zeros((len(self.client.inports), frames), np.float32)
            out[0] = first_row
            try:
                self.client.process(out, inp, timeout=10)
            except (pyjack.InputSyncError, pyjack.OutputSyncError):
                # Input was filled but this output was not queued (the loss
                # is counted): keep the input, send the same output again.
                self.received.append(inp[0].copy())
                self.retries += 1
                continue
            except ValueError:
                # The ports changed before anything moved: shape up, retry
                # (after a pause, so the thread changing them gets the GIL).
                self.retries += 1
                time.sleep(0.0005)
                continue
            self.received.append(inp[0].copy())
            self.next_value += frames
            return

    def check(self, xrun_allowance=None):
        s = self.client.stats
        return verify_ramp(np.concatenate(self.received), self.next_value, lost_in=s.lost_in,
                           lost_out=s.lost_out, xruns=s.xruns, period=s.buffer_size,
                           xrun_allowance=xrun_allowance)
