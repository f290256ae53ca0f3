"""A hypothesis state machine that drives the Client API at random.

Run by test_fuzz.py in a subprocess (a crash or a hang then fails that test
instead of ending the run): python -m pytest tests/fuzz_api.py, with
PYJACK_FUZZ_SERVER naming a running server. PYJACK_FUZZ_EXAMPLES and
PYJACK_FUZZ_STEPS size the run.

Every call must either succeed or raise one of the exceptions the API
documents (pyjack.Error and its subclasses, TypeError, ValueError); the
ports, activity and counters must match a simple model of the client.
"""

import os

import numpy as np
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (Bundle, RuleBasedStateMachine, initialize, invariant,
                                 precondition, rule)

import pyjack

SERVER = os.environ.get("PYJACK_FUZZ_SERVER", "default")
DOCUMENTED = (pyjack.Error, TypeError, ValueError)

port_names = st.one_of(st.sampled_from(["a", "b", "in", "out", "x y", "ü"]),
                       st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]),
                               max_size=400))
flag_values = st.one_of(st.sampled_from([pyjack.IsInput, pyjack.IsOutput,
                                         pyjack.IsInput | pyjack.IsTerminal,
                                         pyjack.IsOutput | pyjack.IsPhysical]),
                        st.integers(-1, 1 << 40), st.none(), st.just("in"))
GOOD_LAYOUTS = ["contiguous", "fortran", "every_other", "reversed", "transposed"]
BAD_LAYOUTS = ["list", "one_d", "three_d"]
BAD_DTYPES = [np.float64, np.int16, np.complex64, ">f4"]


def make_array(rows, frames, dtype, layout, fill=0.25):
    if layout == "list":
        return [[fill] * frames for _ in range(rows)]
    if layout == "one_d":
        return np.full(frames, fill, dtype)
    if layout == "three_d":
        return np.full((rows, frames, 1), fill, dtype)
    if layout == "fortran":
        return np.asfortranarray(np.full((rows, frames), fill, dtype))
    if layout == "every_other":
        return np.full((rows, 2 * frames), fill, dtype)[:, ::2]
    if layout == "reversed":
        return np.full((rows, frames), fill, dtype)[:, ::-1]
    if layout == "transposed":
        return np.full((frames, rows), fill, dtype).T
    a = np.full((rows, frames), fill, dtype)
    if layout == "readonly":
        a.setflags(write=False)
    return a


class ClientModel:
    def __init__(self, client):
        self.client = client
        self.inports = []
        self.outports = []
        self.active = False
        self.closed = False

    def can_process(self):
        return self.client.processing and self.active and bool(self.inports or self.outports)


class ApiMachine(RuleBasedStateMachine):
    clients = Bundle("clients")

    def __init__(self):
        super().__init__()
        self.models = []

    def call(self, fn, *args, **kwargs):
        """Call fn; return (result, exception), failing on undocumented ones."""
        try:
            result = fn(*args, **kwargs)
        except DOCUMENTED as exc:
            event(f"{fn.__name__}: {type(exc).__name__}")
            return None, exc
        event(f"{fn.__name__}: ok")
        return result, None

    @initialize(target=clients)
    def streaming_client(self):
        """Start every run with one active client whose output feeds its input."""
        model = ClientModel(pyjack.Client("fz-init", server=SERVER, depth=1024))
        model.outports.append(model.client.register_port("out", pyjack.IsOutput))
        model.inports.append(model.client.register_port("in", pyjack.IsInput))
        model.client.activate()
        model.active = True
        model.client.connect(model.outports[0], model.inports[0])
        self.models.append(model)
        return model

    @precondition(lambda self: sum(not m.closed for m in self.models) < 3)
    @rule(target=clients, name=st.sampled_from(["fz", "fz", "fz-b", "", "x" * 80]),
          processing=st.booleans(), depth=st.sampled_from([16, 17, 256, 4096, 0, 2.5]),
          exact=st.booleans())
    def open(self, name, processing, depth, exact):
        client, exc = self.call(pyjack.Client, name, processing, server=SERVER, depth=depth,
                                use_exact_name=exact)
        if exc is not None:
            assert isinstance(exc, (ValueError, pyjack.NotConnectedError)), repr(exc)
            return None
        model = ClientModel(client)
        self.models.append(model)
        return model

    @rule(m=clients, name=port_names, flags=flag_values)
    def register(self, m, name, flags):
        if m is None:
            return
        full, exc = self.call(m.client.register_port, name, flags)
        if m.closed:
            assert isinstance(exc, pyjack.NotConnectedError), repr(exc)
        elif exc is None:
            (m.inports if flags & pyjack.IsInput else m.outports).append(full)

    @rule(m=clients, data=st.data())
    def unregister(self, m, data):
        if m is None:
            return
        ours = m.inports + m.outports
        name = data.draw(st.sampled_from(ours) if ours and data.draw(st.booleans())
                         else port_names)
        # Short names work too.
        full = name if name in ours else f"{m.client.name}:{name}"
        _, exc = self.call(m.client.unregister_port, name)
        if m.closed:
            assert isinstance(exc, pyjack.NotConnectedError), repr(exc)
        elif full in ours:
            assert exc is None, repr(exc)
            (m.inports if full in m.inports else m.outports).remove(full)
        else:
            assert exc is not None

    @rule(m=clients)
    def activate(self, m):
        if m is None:
            return
        _, exc = self.call(m.client.activate)
        if m.closed:
            assert isinstance(exc, pyjack.NotConnectedError), repr(exc)
        elif m.active:
            assert isinstance(exc, pyjack.UsageError), repr(exc)
        else:
            assert exc is None, repr(exc)
            m.active = True

    @rule(m=clients)
    def deactivate(self, m):
        if m is None:
            return
        _, exc = self.call(m.client.deactivate)
        if m.closed:
            assert isinstance(exc, pyjack.NotConnectedError), repr(exc)
        elif not m.active:
            assert isinstance(exc, pyjack.UsageError), repr(exc)
        else:
            assert exc is None, repr(exc)
            m.active = False

    def some_port(self, data):
        known = [p for m in self.models if not m.closed for p in m.inports + m.outports]
        if known and data.draw(st.integers(0, 4)):
            return data.draw(st.sampled_from(known))
        return data.draw(st.one_of(port_names, st.integers(), st.none()))

    @rule(m=clients, data=st.data(), connecting=st.booleans())
    def connect_or_disconnect(self, m, data, connecting):
        if m is None:
            return
        source, destination = self.some_port(data), self.some_port(data)
        fn = m.client.connect if connecting else m.client.disconnect
        _, exc = self.call(fn, source, destination)
        if m.closed:
            assert isinstance(exc, pyjack.NotConnectedError), repr(exc)

    @rule(m=clients, data=st.data())
    def connect_loopback(self, m, data):
        if m is None or m.closed or not (m.active and m.inports and m.outports):
            return
        _, exc = self.call(m.client.connect, data.draw(st.sampled_from(m.outports)),
                           data.draw(st.sampled_from(m.inports)))
        assert exc is None, repr(exc)

    @rule(m=clients, frames=st.sampled_from([1, 16, 100, 256, 1000]), data=st.data(),
          timeout=st.sampled_from([0, 0.01, 0.05]),
          broken=st.sampled_from([None, None, None, None, "out_dtype", "in_dtype", "out_layout",
                                  "in_layout", "out_rows", "in_rows", "frames", "no_frames",
                                  "timeout"]))
    def process(self, m, frames, data, timeout, broken):
        """process() with valid arrays of any layout, or with one thing wrong."""
        if m is None:
            return
        n_out, n_in = len(m.outports), len(m.inports)
        out_dtype = in_dtype = np.float32
        out_layout = data.draw(st.sampled_from(GOOD_LAYOUTS + ["readonly"]))
        in_layout = data.draw(st.sampled_from(GOOD_LAYOUTS))
        in_frames = frames
        if broken == "out_dtype":
            out_dtype = data.draw(st.sampled_from(BAD_DTYPES))
        elif broken == "in_dtype":
            in_dtype = data.draw(st.sampled_from(BAD_DTYPES))
        elif broken == "out_layout":
            out_layout = data.draw(st.sampled_from(BAD_LAYOUTS))
        elif broken == "in_layout":
            in_layout = data.draw(st.sampled_from(BAD_LAYOUTS + ["readonly"]))
        elif broken == "out_rows":
            n_out = max(0, n_out + data.draw(st.sampled_from([-1, 1])))
        elif broken == "in_rows":
            n_in = max(0, n_in + data.draw(st.sampled_from([-1, 1])))
        elif broken == "frames":
            in_frames = frames + 1
        elif broken == "no_frames":
            frames = in_frames = 0
        elif broken == "timeout":
            timeout = data.draw(st.sampled_from([-1, "1", float("nan")]))
        out = make_array(n_out, frames, out_dtype, out_layout)
        inp = make_array(n_in, in_frames, in_dtype, in_layout)
        # None leaves a direction out of the call: one with nothing broken in it.
        left_out = data.draw(st.sampled_from([None, None, None, "output", "input"]))
        if left_out == "output" and broken not in ("out_dtype", "out_layout", "out_rows", "frames"):
            out = None
        elif left_out == "input" and broken not in ("in_dtype", "in_layout", "in_rows", "frames"):
            inp = None
        moves_out = bool(m.outports) and out is not None
        moves_in = bool(m.inports) and inp is not None
        if not m.closed:
            before = (m.client.input_position, m.client.output_position)
        _, exc = self.call(m.client.process, out, inp, timeout=timeout)
        if m.closed:
            assert isinstance(exc, pyjack.NotConnectedError), repr(exc)
        elif exc is None:
            assert m.can_process(), "process() worked on a client that cannot process"
        elif broken is None and m.can_process() and not (moves_in or moves_out):
            assert isinstance(exc, ValueError) and "would move nothing" in str(exc), repr(exc)
        elif broken is None and m.can_process():
            assert isinstance(exc, (pyjack.TimeoutError, pyjack.InputSyncError,
                                    pyjack.OutputSyncError)), repr(exc)
        if not m.closed:
            moved = (m.client.input_position - before[0], m.client.output_position - before[1])
            if exc is None:  # every frame of the call moved, in each direction it moves
                assert moved == (in_frames if moves_in else 0, frames if moves_out else 0), moved
            elif isinstance(exc, (TypeError, ValueError)):  # refused: nothing moved in part
                assert moved == (0, 0), (moved, repr(exc))

    @rule(m=clients)
    def close(self, m):
        if m is None:
            return
        m.client.close()
        m.closed = True
        m.active = False
        m.inports, m.outports = [], []

    @invariant()
    def model_matches(self):
        for m in self.models:
            assert m.client.closed == m.closed
            assert m.client.active == m.active
            assert m.client.inports == m.inports
            assert m.client.outports == m.outports

    def teardown(self):
        for m in self.models:
            m.client.close()


ApiMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("PYJACK_FUZZ_EXAMPLES", "100")),
    stateful_step_count=int(os.environ.get("PYJACK_FUZZ_STEPS", "30")),
    deadline=None, database=None, suppress_health_check=list(HealthCheck))
TestApi = ApiMachine.TestCase
