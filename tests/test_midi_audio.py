"""MIDI with audio: rec(), play(), playrec() and render() take MIDI to play
(midi=, midi_out=) and to record (midi_in=), lined up with the audio to the
frame. Witnesses: jack_midisine (a synth whose sine starts on its note's
frame), jack_midiseq (a sequencer with known spacing), and a client that
sends an audio click and a MIDI note on the same frame."""

import threading
import time

import numpy as np
import pytest

import pyjack
from pyjack import _state
from conftest import PERIOD, RATE
from helpers import default_clients, no_call_left, wait_for_port  # noqa: F401 (autouse fixtures)
from test_midi import connect_when_ready, start_tool, stop_tool, wait_cycles

NOTE_ON = bytes([0x90, 69, 100])
NOTE_OFF = bytes([0x80, 69, 0])


@pytest.fixture(scope="module")
def midisine(jack_server):
    """jack_midisine: a sine at the note's pitch from the note on's frame to the note off's."""
    synth = start_tool(jack_server.name, "jack_midisine")
    probe = pyjack.Client("midisine-probe", server=jack_server.name, processing=False)
    try:
        wait_for_port(probe, "midisine:audio_out", timeout=10)
        wait_for_port(probe, "midisine:midi_in", timeout=10)
    finally:
        probe.close()
    yield "midisine:midi_in", "midisine:audio_out"
    stop_tool(synth)


@pytest.fixture
def sink(make_client):
    """An audio input for playrec()'s output to go to (the synth has no audio input)."""
    client = make_client("avsink")
    client.register_port("in", pyjack.IsInput)
    client.activate()
    return "avsink:in"


def sounding(y):
    """First and last frame of the recording that are not silent."""
    found = np.flatnonzero(y[:, 0])
    assert len(found), "the synth made no sound"
    return int(found[0]), int(found[-1])


def test_playrec_plays_midi_into_a_synth_and_records_it_on_the_notes_frames(midisine, sink):
    synth_in, synth_out = midisine
    on, off = 1000, 1000 + 5 * PERIOD + 33
    events = [(on, NOTE_ON), (off, NOTE_OFF)]
    y = pyjack.playrec(np.zeros((RATE // 2, 1), np.float32), outputs=sink, inputs=synth_out,
                       latency=0, midi=events, midi_out=synth_in,
                       midi_in="pyjack-out:midi_out", blocking=True)
    status = pyjack.get_status()
    assert status.ok, status
    # jack_midisine's latency is 0: its sine starts on the note on's frame.
    assert sounding(y) == (on, off - 1)
    assert not y[:on].any() and not y[off:].any()
    # Our MIDI output recorded by our input: the same events on the same frames.
    assert status.midi == tuple(events)


def test_playrec_records_its_midi_at_the_frames_of_the_aligned_recording():
    """The latency measured from the audio (a noise loopback) places the MIDI too."""
    x = np.random.default_rng(3).uniform(-0.5, 0.5, (RATE, 1)).astype(np.float32)
    events = [(0, NOTE_ON), (777, NOTE_OFF), (RATE - 1, bytes([0xB0, 7, 90]))]
    y = pyjack.playrec(x, loopback=True, latency="measure", midi=events,
                       midi_in="pyjack-out:midi_out", blocking=True)
    status = pyjack.get_status()
    assert status.ok and status.latency_source == "measured", status
    assert np.array_equal(y, x)
    assert status.midi == tuple(events)


def test_play_sends_a_midi_file_with_the_audio(make_client, tmp_path):
    mido = pytest.importorskip("mido")
    song = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack([mido.Message("note_on", note=60, velocity=90, time=0),
                            mido.Message("note_off", note=60, time=480),
                            mido.Message("note_on", note=64, velocity=90, time=240),
                            mido.Message("note_off", note=64, time=960)])
    song.tracks.append(track)
    path = tmp_path / "song.mid"
    song.save(path)
    expected = pyjack.midi_file_events(str(path), RATE)  # 120 bpm: 0.5 s a beat
    assert [frame for frame, _ in expected] == [0, RATE // 2, 3 * RATE // 4, 7 * RATE // 4]
    listener = make_client("avlisten")
    port = listener.register_port("in", pyjack.IsInput, type="midi")
    listener.activate()
    wait_cycles(listener)
    sink = make_client("avsink2")
    sink.register_port("in", pyjack.IsInput)
    sink.activate()
    pyjack.play(np.zeros((2 * RATE, 1), np.float32), outputs="avsink2:in", midi=path,
                midi_out=port, blocking=True)
    status = pyjack.get_status()
    assert status.ok, status
    got = [listener.read_midi(timeout=5) for _ in expected]
    assert [e.data for e in got] == [data for _, data in expected]
    # Each event left with its audio frame: frame times relative to the first
    # audio frame's (status.start_time) are the file's frames.
    assert [(e.time - status.start_time) % 2**32 for e in got] == [f for f, _ in expected]
    assert listener.read_midi(timeout=0.2) is None


class ClickSender:
    """A client whose audio output carries a click and whose MIDI output a
    note on the very same frame, every 3001 frames: click k has height
    (k % 100 + 1) / 128 and note number k % 100."""

    SPACING = 3001

    def __init__(self, client):
        self.client = client
        self.audio = client.register_port("a", pyjack.IsOutput)
        self.midi = client.register_port("m", pyjack.IsOutput, type="midi")
        client.activate()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run)
        self.thread.start()

    def run(self):
        block = 4 * PERIOD
        position = 0
        while not self.stop.is_set():
            data = np.zeros((1, block), np.float32)
            first = -(-position // self.SPACING) * self.SPACING
            for at in range(first, position + block, self.SPACING):
                k = at // self.SPACING
                data[0, at - position] = (k % 100 + 1) / 128
                self.client.send_midi(self.midi, [0x90, k % 100, 64], position=at)
            self.client.process(data, np.zeros((0, block), np.float32), timeout=5)
            position += block

    def close(self):
        self.stop.set()
        self.thread.join(10)


@pytest.mark.parametrize("how", ["named", "left to connect"])
def test_rec_records_midi_on_the_frames_of_the_audio(make_client, how):
    sender = ClickSender(make_client("avsend"))
    try:
        wait_cycles(sender.client)
        if how == "named":
            y = pyjack.rec(RATE, inputs=sender.audio, midi_in=sender.midi, blocking=True)
        else:
            y = pyjack.rec(RATE, inputs=sender.audio, midi_in=True)
            connect_when_ready(sender.client, sender.midi, "pyjack-in:midi_in")
            pyjack.wait(30)
    finally:
        sender.close()
    status = pyjack.get_status()
    assert status.ok, status
    clicks = np.flatnonzero(y[:, 0])
    assert len(clicks) >= RATE // ClickSender.SPACING - 1
    midi = status.midi
    if how == "named":
        assert [frame for frame, _ in midi] == clicks.tolist()
    else:  # connected after the recording began: from some click on
        assert len(midi) >= 3
        assert [frame for frame, _ in midi] == [c for c in clicks.tolist() if c >= midi[0][0]]
    for frame, data in midi:
        assert data[0] == 0x90 and y[frame, 0] == (data[1] + 1) / 128


def test_rec_times_jack_midiseq_to_the_frame(jack_server, midisine):
    seq = start_tool(jack_server.name, "jack_midiseq", "avseq", "24000", "0", "60", "8000",
                     "12000", "63", "8000")
    try:
        probe = pyjack.Client("seq-probe", server=jack_server.name, processing=False)
        try:
            wait_for_port(probe, "avseq:out")
        finally:
            probe.close()
        pyjack.rec(2 * RATE, inputs=midisine[1], midi_in="avseq:out", blocking=True)
    finally:
        stop_tool(seq)
    status = pyjack.get_status()
    assert status.ok, status
    midi = status.midi
    assert len(midi) >= 12
    assert all(0 <= frame < 2 * RATE for frame, _ in midi)
    # The loop: note 60 on at 0, off at 8000; note 63 on at 12000, off at 20000; again at 24000.
    pattern = {(0x90, 60): 0, (0x80, 60): 8000, (0x90, 63): 12000, (0x80, 63): 20000}
    phase = [(frame - pattern[(data[0], data[1])]) % 24000 for frame, data in midi]
    assert len(set(phase)) == 1, midi


@pytest.mark.needs("freewheel_lossless")
def test_render_plays_midi_into_a_synth_on_the_notes_frames(midisine):
    synth_in, synth_out = midisine
    events = [(300, NOTE_ON), (20000, NOTE_OFF), (30001, NOTE_ON), (90000, NOTE_OFF)]
    y = pyjack.render(np.zeros((RATE * 2, 1), np.float32), outputs="system:playback_1",
                      inputs=synth_out, latency=0, midi=events, midi_out=synth_in,
                      progress=False)
    status = pyjack.get_status()
    assert status.ok and status.realtime_factor, status
    sound = y[:, 0] != 0
    expected = np.zeros(len(y), bool)
    expected[300:20000] = True
    expected[30001:90000] = True
    # Sample-exact on every edge (a sine's sample may be 0 by chance: none here).
    assert np.array_equal(sound, expected)
    assert pyjack.get_status().midi == ()


BAD = [
    ([(10, NOTE_ON), (5, NOTE_OFF)], ValueError, "time order"),
    ([(-1, NOTE_ON)], ValueError, "from 0"),
    ([(4800, NOTE_ON)], ValueError, "beyond the audio"),
    ([(0, b"\x01\x02")], ValueError, "status byte"),
    ([(0, bytes([0x90, 200, 1]))], ValueError, "data byte"),
    ([(0, b"")], ValueError, "empty"),
    ([(1.5, NOTE_ON)], TypeError, "must be an int"),
    ([NOTE_ON], TypeError, "pair"),
    (42, TypeError, "list of"),
]


@pytest.mark.parametrize("midi, error, words", BAD)
@pytest.mark.parametrize("call", ["play", "playrec"])
def test_bad_midi_is_refused_before_anything_starts(call, midi, error, words, sink):
    data = np.zeros((4800, 1), np.float32)
    pyjack.play(data[:100], outputs=sink, blocking=True)  # no MIDI: no MIDI port
    with pytest.raises(error, match=words):
        if call == "play":
            pyjack.play(data, outputs=sink, midi=midi)
        else:
            pyjack.playrec(data, loopback=True, latency=0, midi=midi)
    status = pyjack.get_status()
    assert not status.active and status.frames_played == 0
    assert _state.play_clients.outs.client.midi_outports == []
    assert not _state.play_clients.outs.client.active


def test_bad_midi_ports_are_refused(midisine, sink):
    data = np.zeros((4800, 1), np.float32)
    pyjack.rec(100, inputs=midisine[1], blocking=True)  # no MIDI: no MIDI port
    with pytest.raises(ValueError, match="give midi= too"):
        pyjack.play(data, outputs=sink, midi_out="midisine:midi_in")
    with pytest.raises(ValueError, match="no MIDI port to play to"):
        pyjack.play(data, outputs=sink, midi=[(0, NOTE_ON)], midi_out="no-such-client:midi_in")
    with pytest.raises(TypeError, match="midi_in must be"):
        pyjack.rec(4800, inputs=midisine[1], midi_in=5)
    with pytest.raises(ValueError, match="no MIDI port to record from"):
        pyjack.rec(4800, inputs=midisine[1], midi_in="no-such-client:out")
    assert _state.play_clients.ins.client.midi_inports == []
