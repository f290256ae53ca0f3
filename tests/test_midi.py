"""MIDI: ports, events in and out with exact frame times, against a real server
and JACK's own MIDI tools as witnesses (jack_midiseq, jack_midi_dump,
jack_midisine, jack_midi_latency_test)."""

import re
import subprocess
import threading
import time

import numpy as np
import pytest

import pyjack
from conftest import PERIOD, RATE, run_tool, tool_env
from helpers import wait_for_port


def start_tool(server_name, *command):
    return subprocess.Popen(command, env=tool_env(server_name), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def connect_when_ready(client, source, destination, timeout=5.0):
    """Connect to a tool's port: it may show the port a moment before its
    client is active, and JACK refuses links to an inactive client."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.connect(source, destination)
            return
        except pyjack.Error:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def stop_tool(process):
    process.terminate()
    try:
        out, _ = process.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
    return out


def wait_cycles(*clients, count=3, timeout=5.0):
    """Wait until each client's process callback has run: PipeWire tells a
    client the frame time only from then on (FEATURES inactive_client_clock)."""
    deadline = time.monotonic() + timeout
    for client in clients:
        target = client.stats.cycles + count
        while client.stats.cycles < target:
            assert time.monotonic() < deadline, "the process callback does not run"
            time.sleep(0.005)


def midi_pair(make_client, name="m", **options):
    """Two clients: tx's MIDI output wired to rx's MIDI input. (A client's
    own output reaches its own input one cycle later: JACK runs the client
    once per cycle, so a feedback link has a period of delay.)"""
    tx = make_client(name + "-tx", **options)
    rx = make_client(name + "-rx", **options)
    out = tx.register_port("midi_out", pyjack.IsOutput, type="midi")
    inp = rx.register_port("midi_in", pyjack.IsInput, type="midi")
    tx.activate()
    rx.activate()
    wait_for_port(tx, inp)
    connect_when_ready(tx, out, inp)
    wait_cycles(tx, rx)
    return tx, rx, out, inp


def read_all(client, count, timeout=5.0):
    events = []
    deadline = time.monotonic() + timeout
    while len(events) < count and time.monotonic() < deadline:
        event = client.read_midi(timeout=max(0.0, deadline - time.monotonic()))
        if event is not None:
            events.append(event)
    return events


# -- ports ----------------------------------------------------------------------


def test_midi_ports_are_apart_from_the_audio_rows(make_client, jack_server):
    client = make_client("ports")
    a_in = client.register_port("a_in", pyjack.IsInput)
    m_in = client.register_port("m_in", pyjack.IsInput, type="midi")
    m_out = client.register_port("m_out", pyjack.IsOutput, type="8 bit raw midi")
    assert client.inports == [a_in] and client.outports == []
    assert client.midi_inports == [m_in] and client.midi_outports == [m_out]
    assert set(client.get_ports(f"^{client.name}:", type="midi")) == {m_in, m_out}
    assert client.get_ports(f"^{client.name}:", type="audio") == [a_in]
    assert client.get_port_type(m_out) == "8 bit raw midi"
    # process() sees the audio port only.
    client.activate()
    # JACK's own listing agrees on the types (PipeWire lists active clients only).
    wait_for_port(client, m_in)
    listing = run_tool(jack_server.name, "jack_lsp", "-t").splitlines()
    assert listing[listing.index(m_in) + 1].strip() == "8 bit raw midi"
    got = np.zeros((1, PERIOD), np.float32)
    client.process(np.zeros((0, PERIOD), np.float32), got, timeout=5)
    client.unregister_port("m_in")
    assert client.midi_inports == []
    assert m_in not in client.get_ports(type="midi")
    with pytest.raises(ValueError, match="'audio' or 'midi'"):
        client.register_port("x", pyjack.IsInput, type="video")


# -- loopback: out -> in on one server ------------------------------------------


def test_loopback_times_and_bytes_exact(make_client):
    tx, rx, out, inp = midi_pair(make_client, "loop")
    start = tx.frame_time + 4 * PERIOD
    sent = [(start, bytes([0x90, 60, 100])), (start + 1, bytes([0x80, 60, 0])),
            (start + PERIOD - 1, bytes([0xB0, 7, 99])), (start + 3 * PERIOD + 17, bytes([0xC0, 5])),
            (start + 3 * PERIOD + 20, bytes([0xF0, 0x7E, 0x7F, 0xF7])),
            (start + 10 * PERIOD + 255, bytes([0xF8]))]
    for t, data in sent:
        tx.send_midi(out, data, time=t)
    got = read_all(rx, len(sent))
    assert [(e.port, e.time, e.data) for e in got] == [(inp, t, d) for t, d in sent]
    assert tx.stats.midi_out == len(sent) and rx.stats.midi_in == len(sent)
    assert tx.stats.midi_late == 0 and tx.stats.midi_dropped_out == 0
    assert rx.stats.midi_dropped_in == 0


def test_two_inputs_merge_in_time_order(make_client):
    tx, rx, out, inp = midi_pair(make_client, "merge")
    out2 = tx.register_port("midi_out2", pyjack.IsOutput, type="midi")
    inp2 = rx.register_port("midi_in2", pyjack.IsInput, type="midi")
    wait_for_port(tx, inp2)
    connect_when_ready(tx, out2, inp2)
    wait_cycles(tx, rx)
    start = tx.frame_time + 4 * PERIOD
    tx.send_midi_events(out, [(start + 10 * k, [0x90, k, 1]) for k in range(0, 20, 2)])
    tx.send_midi_events(out2, [(start + 10 * k, [0x90, k, 1]) for k in range(1, 20, 2)])
    got = read_all(rx, 20)
    assert [(e.port, e.time, e.data[1]) for e in got] == [
        (inp if k % 2 == 0 else inp2, start + 10 * k, k) for k in range(20)]
    # The bulk form gives the port as an index into midi_inports.
    assert rx.midi_inports == [inp, inp2]
    tx.send_midi_events(out, [(start + 1000, [0x80, 0, 0])])
    tx.send_midi_events(out2, [(start + 999, [0x80, 1, 0])])
    rows = np.zeros(4, pyjack.midi_dtype)
    n = 0
    deadline = time.monotonic() + 5
    while n < 2 and time.monotonic() < deadline:
        n += rx.read_midi_into(rows[n:], timeout=1)
    assert list(rows["port"][:n]) == [1, 0]
    assert list(rows["time"][:n]) == [start + 999, start + 1000]


def test_send_midi_events_at_once_and_bulk_read(make_client):
    tx, rx, out, inp = midi_pair(make_client, "bulk")
    start = tx.frame_time + 4 * PERIOD
    events = [(start + 7 * k, [0x90 | (k % 16), k % 128, 1 + k % 127]) for k in range(300)]
    assert tx.send_midi_events(out, events) == 300
    rows = np.zeros(1000, pyjack.midi_dtype)
    n = 0
    deadline = time.monotonic() + 5
    while n < 300 and time.monotonic() < deadline:
        n += rx.read_midi_into(rows[n:], timeout=1)
    assert n == 300
    assert (rows["port"][:n] == 0).all()
    assert list(rows["time"][:n]) == [(start + 7 * k) % 2**32 for k in range(300)]
    assert (rows["size"][:n] == 3).all()
    assert [list(r[:3]) for r in rows["data"][:n]] == [list(bytes(e[1])) for e in events]


def test_position_lines_up_with_audio_sample_for_sample(make_client):
    # Sender: an audio output and a MIDI output; receiver: the same, in.
    sender = make_client("pos-send")
    a_out = sender.register_port("a_out", pyjack.IsOutput)
    m_out = sender.register_port("m_out", pyjack.IsOutput, type="midi")
    receiver = make_client("pos-recv")
    a_in = receiver.register_port("a_in", pyjack.IsInput)
    m_in = receiver.register_port("m_in", pyjack.IsInput, type="midi")
    sender.activate()
    receiver.activate()
    wait_for_port(sender, m_in)
    connect_when_ready(sender, a_out, a_in)
    connect_when_ready(sender, m_out, m_in)
    wait_cycles(sender, receiver)
    total = 40 * PERIOD
    audio = np.zeros((1, total), np.float32)
    marks = [3 * PERIOD + 5, 11 * PERIOD + 200, 20 * PERIOD]
    audio[0, marks] = 1.0
    # The MIDI events are queued before the audio: the process thread holds
    # them until the stream reaches their positions.
    base = sender.output_position
    sender.send_midi_events(m_out, [(base + m, [0x90, 60, 1]) for m in marks], clock="position")
    heard = np.zeros((1, total), np.float32)
    start_in = receiver.input_position
    stop = threading.Event()

    def record():
        pos = 0
        while pos < total and not stop.is_set():
            receiver.process(np.zeros((0, PERIOD), np.float32), heard[:, pos:pos + PERIOD], timeout=5)
            pos += PERIOD

    recorder = threading.Thread(target=record)
    recorder.start()
    sender.process(audio, np.zeros((0, total), np.float32), timeout=10)
    events = read_all(receiver, len(marks))
    stop.set()
    recorder.join(10)
    clicks = np.flatnonzero(heard[0])
    assert len(clicks) == len(marks)
    click_times = [receiver.frame_time_of(start_in + int(c)) for c in clicks]
    assert [e.time for e in events] == click_times
    assert sender.stats.midi_late == 0


def test_past_events_go_out_at_once_and_count_as_late(make_client):
    tx, rx, out, inp = midi_pair(make_client, "late")
    past = (tx.frame_time - 10 * PERIOD) % 2**32
    tx.send_midi(out, [0x90, 1, 2], time=past)
    event = read_all(rx, 1)[0]
    assert event.data == bytes([0x90, 1, 2])
    stats = tx.stats
    assert stats.midi_late == 1
    # Written at offset 0 of the cycle (jack_midi_dump sees the offset in
    # test_jack_midi_dump_sees_exact_offsets), as late as that cycle's start.
    assert stats.midi_late_frames == (event.time - past) % 2**32


def test_as_soon_as_possible(make_client):
    tx, rx, out, inp = midi_pair(make_client, "asap")
    before = tx.frame_time
    tx.send_midi(out, [0xFA])
    event = read_all(rx, 1)[0]
    assert event.data == b"\xfa"
    assert 0 <= (event.time - before) % 2**32 < 10 * PERIOD
    assert tx.stats.midi_late == 0


def test_full_input_ring_counts_dropped_events(make_client):
    tx, rx, out, inp = midi_pair(make_client, "drop", midi_depth=256)
    start = tx.frame_time + 4 * PERIOD
    # 256 bytes hold 13 records of 3 bytes (16-byte header each); send 12 at a
    # time (what the output ring takes) without reading.
    sent = 0
    for k in range(3):
        tx.send_midi_events(out, [(start + 100 * k + i, [0x90, i, 1]) for i in range(12)],
                                timeout=5)
        sent += 12
    deadline = time.monotonic() + 5
    while rx.stats.midi_in + rx.stats.midi_dropped_in < sent and time.monotonic() < deadline:
        time.sleep(0.01)
    stats = rx.stats
    assert stats.midi_dropped_in > 0
    assert stats.midi_in + stats.midi_dropped_in == sent
    assert len(read_all(rx, sent, timeout=0.5)) == stats.midi_in


def test_full_output_ring_blocks_then_times_out(make_client):
    client = make_client("block", midi_depth=256)
    out = client.register_port("o", pyjack.IsOutput, type="midi")
    client.activate()
    wait_cycles(client)
    far = client.frame_time + 10 * RATE  # held in the ring for 10 s
    # 13 records of 19 bytes fill 247 of the 256 bytes.
    client.send_midi_events(out, [(far + i, [0x90, 1, 1]) for i in range(13)])
    started = time.monotonic()
    with pytest.raises(pyjack.TimeoutError, match="stayed full"):
        client.send_midi(out, [0x90, 1, 1], time=far + 100, timeout=0.2)
    assert time.monotonic() - started >= 0.2
    with pytest.raises(ValueError, match="midi_depth"):
        client.send_midi_events(out, [(far + 200 + i, [0x90, 1, 1]) for i in range(20)])


# -- bad input: clear errors, nothing queued in part ---------------------------


@pytest.mark.parametrize("data, error, words", [
    ("note", TypeError, "bytes-like"),
    (12, TypeError, "bytes-like"),
    (b"", ValueError, "empty"),
    (b"\x3c\x40", ValueError, "status byte"),
    (b"\xf4", ValueError, "not a MIDI status byte"),
    (b"\x90\x3c\x80", ValueError, "data byte 0x80 at index 2"),
    (b"\x90\x3c", ValueError, "takes 3"),
    (b"\xf0\x01\x02", ValueError, "0xF7"),
    ([0x90, 300, 1], ValueError, "0 to 255"),
])
def test_bad_data_is_refused(make_client, data, error, words):
    tx, rx, out, inp = midi_pair(make_client, "bad")
    with pytest.raises(error, match=words):
        tx.send_midi(out, data)
    assert tx.stats.midi_out == 0


def test_bad_port_and_time_are_refused_and_nothing_is_queued(make_client):
    tx, rx, out, inp = midi_pair(make_client, "badport")
    audio = tx.register_port("audio", pyjack.IsOutput)
    own_in = tx.register_port("own_in", pyjack.IsInput, type="midi")
    with pytest.raises(ValueError, match="MIDI input port"):
        tx.send_midi(own_in, [0x90, 1, 1])
    with pytest.raises(ValueError, match="an audio port"):
        tx.send_midi(audio, [0x90, 1, 1])
    with pytest.raises(ValueError, match="not a port"):
        tx.send_midi("nope", [0x90, 1, 1])
    with pytest.raises(TypeError, match="int of frames"):
        tx.send_midi(out, [0x90, 1, 1], time=1.5)
    with pytest.raises(ValueError, match="from 0 to"):
        tx.send_midi(out, [0x90, 1, 1], time=-1)
    with pytest.raises(ValueError, match="not both"):
        tx.send_midi(out, [0x90, 1, 1], time=1, position=1)
    # One bad event in a batch: none of it is queued.
    start = tx.frame_time + 4 * PERIOD
    with pytest.raises(ValueError, match="MIDI event 2"):
        tx.send_midi_events(out, [(start, [0x90, 1, 1]), (start + 1, [0x80, 1, 0]),
                                      (start + 2, [0x90, 1])])
    with pytest.raises(ValueError, match="event 1 .*order"):
        tx.send_midi_events(out, [(start + 5, [0x90, 1, 1]), (start + 4, [0x80, 1, 0])])
    tx.send_midi(out, [0x90, 2, 2], time=start + 10)
    with pytest.raises(ValueError, match="order"):
        tx.send_midi(out, [0x90, 2, 2], time=start + 9)
    got = read_all(rx, 2, timeout=1.0)
    assert [(e.time, e.data) for e in got] == [(start + 10, bytes([0x90, 2, 2]))]


@pytest.mark.needs("midi_sysex_whole")
def test_long_sysex_crosses_whole(make_client):
    tx, rx, out, inp = midi_pair(make_client, "sysex")
    start = tx.frame_time + 4 * PERIOD
    sysex = bytes([0xF0]) + bytes(range(0x80)) * 100 + b"\xf7"
    tx.send_midi(out, sysex, time=start)
    tx.send_midi(out, [0x90, 1, 1], time=start + 1)
    got = read_all(rx, 2)
    assert [(e.time, e.data) for e in got] == [(start, sysex), (start + 1, bytes([0x90, 1, 1]))]


@pytest.mark.needs("midi_sysex_whole")
def test_event_larger_than_the_jack_buffer_is_refused(make_client):
    tx, rx, out, inp = midi_pair(make_client, "big", midi_depth=1 << 18)
    tx.send_midi(out, [0xFE])
    read_all(rx, 1)  # a cycle has run: the port's buffer size is known
    limit = tx.midi_max_event_size(out)
    assert 1000 < limit < 1 << 17  # jackd2: 32 KiB less its headers
    with pytest.raises(ValueError, match=f"more than the {limit} bytes"):
        tx.send_midi(out, b"\xf0" + bytes(limit - 1) + b"\xf7")
    tx.send_midi(out, b"\xf0" + bytes(limit - 2) + b"\xf7", time=tx.frame_time + 2 * PERIOD)
    event = read_all(rx, 1)[0]
    assert len(event.data) == limit and event.data[0] == 0xF0 and event.data[-1] == 0xF7
    assert tx.stats.midi_dropped_out == 0


def test_pipewire_limit_on_long_events(make_client, server_features):
    client = make_client("pwlimit")
    out = client.register_port("o", pyjack.IsOutput, type="midi")
    limit = client.midi_max_event_size(out)
    if server_features.has("midi_sysex_whole"):
        assert limit > pyjack._core.PIPEWIRE_MAX_MIDI_EVENT
    else:
        assert limit == pyjack._core.PIPEWIRE_MAX_MIDI_EVENT


def test_read_while_inactive(make_client):
    client = make_client("inactive")
    client.register_port("i", pyjack.IsInput, type="midi")
    assert client.read_midi(timeout=0) is None
    with pytest.raises(pyjack.UsageError, match="not active"):
        client.read_midi(timeout=1)
    out = client.register_port("o", pyjack.IsOutput, type="midi")
    with pytest.raises(pyjack.UsageError, match="not active"):
        client.send_midi(out, [0xFE])


def test_mido_interop(make_client):
    mido = pytest.importorskip("mido")
    tx, rx, out, inp = midi_pair(make_client, "mido")
    tx.send_midi(out, mido.Message("note_on", note=64, velocity=33, channel=2))
    event = next(rx.midi_events(timeout=5))
    message = event.message()
    assert (message.type, message.note, message.velocity, message.channel) == ("note_on", 64, 33, 2)


def test_midi_file_events(tmp_path):
    mido = pytest.importorskip("mido")
    song = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    song.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=500000, time=0))  # 120 bpm
    track.append(mido.Message("note_on", note=60, velocity=90, time=480))   # 0.5 s
    track.append(mido.Message("note_off", note=60, velocity=0, time=240))   # +0.25 s
    path = tmp_path / "song.mid"
    song.save(path)
    assert pyjack.midi_file_events(str(path), 48000, start=100) == [
        (100 + 24000, bytes([0x90, 60, 90])), (100 + 36000, bytes([0x80, 60, 0]))]


# -- witnesses: JACK's MIDI tools ------------------------------------------------


def test_jack_midiseq_events_read_with_exact_offsets(make_client, jack_server):
    client = make_client("seqin")
    inp = client.register_port("in", pyjack.IsInput, type="midi")
    client.activate()
    seq = start_tool(jack_server.name, "jack_midiseq", "pjseq", "24000", "0", "60", "8000",
                     "12000", "63", "8000")
    try:
        wait_for_port(client, "pjseq:out")
        connect_when_ready(client, "pjseq:out", inp)
        events = read_all(client, 16)
    finally:
        stop_tool(seq)
    assert len(events) == 16
    # The first whole loop starts at the first note on of note 60.
    first = next(i for i, e in enumerate(events) if e.data == bytes([0x90, 60, 64]))
    loop = events[first:first + 8]
    t0 = loop[0].time
    assert [((e.time - t0) % 2**32, e.data) for e in loop] == [
        (0, bytes([0x90, 60, 64])), (8000, bytes([0x80, 60, 64])),
        (12000, bytes([0x90, 63, 64])), (20000, bytes([0x80, 63, 64])),
        (24000, bytes([0x90, 60, 64])), (32000, bytes([0x80, 60, 64])),
        (36000, bytes([0x90, 63, 64])), (44000, bytes([0x80, 63, 64]))]


def test_jack_midi_dump_sees_exact_offsets(make_client, jack_server, server_kind):
    client = make_client("dumpout")
    out = client.register_port("out", pyjack.IsOutput, type="midi")
    client.activate()
    wait_cycles(client)
    dump = start_tool(jack_server.name, "jack_midi_dump", "pjdump")
    try:
        wait_for_port(client, "pjdump:input")
        connect_when_ready(client, out, "pjdump:input")
        start = client.frame_time + 8 * PERIOD
        offsets = [0, 1, 77, 255, 256 + 128, 5 * 256 + 3]
        for k, off in enumerate(offsets):
            client.send_midi(out, [0x90, k, 100], time=start + off)
        sysex = b"\xf0\x7e\x01\x02\x03\xf7"
        client.send_midi(out, sysex, time=start + 6 * PERIOD + 200)
        # After those have left: one already late, one as soon as possible,
        # both at offset 0 of the cycle that writes them.
        deadline = time.monotonic() + 5
        while client.stats.midi_out < len(offsets) + 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        client.send_midi(out, [0xB0, 1, 2], time=start)
        client.send_midi(out, [0xB0, 3, 4])
        while client.stats.midi_out < len(offsets) + 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)
    finally:
        output = stop_tool(dump)
    lines = [line.split(":") for line in output.splitlines() if ":" in line]
    seen = [(int(offset), body.split()[:3]) for offset, body in
            ((l[0].strip(), l[1]) for l in lines) if offset.isdigit()]
    # Cycles start at frame times c + k * PERIOD: c is 0 on jackd (its frame
    # time starts at 0), anything on PipeWire; one event tells it.
    assert seen, output
    c = (start - seen[0][0]) % PERIOD
    if server_kind == "jackd":
        assert c == 0
    expected = [((start + off - c) % PERIOD, ["90", f"{k:02x}", "64"])
                for k, off in enumerate(offsets)]
    expected.append(((start + 6 * PERIOD + 200 - c) % PERIOD, ["f0", "7e", "01"]))
    expected += [(0, ["b0", "01", "02"]), (0, ["b0", "03", "04"])]
    assert seen == expected
    assert client.stats.midi_late == 1


def test_jack_midisine_starts_on_the_notes_frame(make_client, jack_server):
    sender = make_client("synth-send")
    m_out = sender.register_port("m_out", pyjack.IsOutput, type="midi")
    recorder = make_client("synth-rec")
    a_in = recorder.register_port("a_in", pyjack.IsInput)
    sender.activate()
    recorder.activate()
    wait_cycles(sender, recorder)
    synth = start_tool(jack_server.name, "jack_midisine")
    try:
        wait_for_port(recorder, "midisine:audio_out")
        connect_when_ready(sender, m_out, "midisine:midi_in")
        connect_when_ready(recorder, "midisine:audio_out", a_in)
        time.sleep(0.2)  # the new links are in the graph
        note_time = sender.frame_time + 8 * PERIOD + 77
        sender.send_midi(m_out, [0x90, 69, 100], time=note_time)
        # The input ring holds everything since activate(): read from its
        # start until the note's time is well behind.
        blocks = []
        start_in = recorder.input_position
        while True:
            block = np.zeros((1, PERIOD), np.float32)
            recorder.process(np.zeros((0, PERIOD), np.float32), block, timeout=5)
            blocks.append(block[0])
            last = recorder.frame_time_of(recorder.input_position - 1)
            if (last - note_time) % 2**32 < 2**31 and (last - note_time) % 2**32 > 4 * PERIOD:
                break
        heard = np.concatenate(blocks)[None, :]
        sender.send_midi(m_out, [0x80, 69, 0])
    finally:
        stop_tool(synth)
    sound = np.flatnonzero(heard[0])
    assert len(sound) > 0
    assert recorder.frame_time_of(start_in + int(sound[0])) == note_time
    assert sender.stats.midi_late == 0


def test_jack_midi_latency_test_through_a_pyjack_thru(make_client, jack_server):
    thru = make_client("thru")
    t_in = thru.register_port("in", pyjack.IsInput, type="midi")
    t_out = thru.register_port("out", pyjack.IsOutput, type="midi")
    thru.activate()
    stop = threading.Event()
    passed = []

    def forward():
        while not stop.is_set():
            event = thru.read_midi(timeout=0.05)
            if event is not None:
                thru.send_midi(t_out, event.data)  # as soon as possible
                passed.append(event)

    worker = threading.Thread(target=forward)
    worker.start()
    try:
        # Its output goes to the thru's input and back from the thru's output.
        test = start_tool(jack_server.name, "jack_midi_latency_test", "-s", "100", "-t", "5",
                          t_in, t_out)
        out, err = test.communicate(timeout=60)
    finally:
        stop.set()
        worker.join(5)
    assert test.returncode == 0, err + out
    assert len(passed) >= 100
    found = re.search(r"Messages received:\s*(\d+)", out)
    assert found and int(found.group(1)) >= 100, out


# -- the example ------------------------------------------------------------------


def test_midi_monitor_example_prints_jack_midiseq(jack_server):
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "examples" / "midi_monitor.py"
    seq = start_tool(jack_server.name, "jack_midiseq", "pjmon", "4800", "0", "60", "2400")
    try:
        done = subprocess.run([sys.executable, str(script), "--seconds", "3"],
                              env=tool_env(jack_server.name), capture_output=True, text=True,
                              timeout=60)
    finally:
        stop_tool(seq)
    assert done.returncode == 0, done.stderr
    assert "listening to: pjmon:out" in done.stdout
    lines = [line.split() for line in done.stdout.splitlines() if line.strip()[:1].isdigit()]
    ons = [int(words[0]) for words in lines if words[1:4] == ["90", "3c", "40"]]
    offs = [int(words[0]) for words in lines if words[1:4] == ["80", "3c", "40"]]
    assert len(ons) >= 3 and len(offs) >= 3
    # The loop's notes, 4800 frames apart, each off 2400 frames after its on.
    assert {(b - a) % 2**32 for a, b in zip(ons, ons[1:])} == {4800}
    assert all((off - on) % 2**32 == 2400 for on, off in zip(ons, offs) if off > on)
