"""MIDI beside the audio of rec(), play(), playrec() and render().

Played MIDI is queued at positions of the output stream (send_midi's
position=), so an event leaves with the very frame of audio it names.
Recorded MIDI is read with its JACK frame time and counted from the frame
time of the recording's first frame (the input stream's own stamp of it).
"""

from __future__ import annotations

import os

from ._core import IsInput, IsOutput, _check_midi_message, midi_file_events
from ._stream import connect, resolve_ports, time_diff

# Seconds a full MIDI output ring may block one batch (the audio waits behind it).
_SEND_TIMEOUT = 10.0

OUT_PORT = "midi_out"
IN_PORT = "midi_in"


def check_events(midi, frames: int, rate: int) -> list:
    """midi= as a list of (frame offset, bytes), checked against the audio's
    frames: an event list or a MIDI file's path (read with mido)."""
    if isinstance(midi, (str, os.PathLike)):
        events = midi_file_events(midi, rate)
        what = f"MIDI file {os.fspath(midi)!r}"
    else:
        try:
            events = list(midi)
        except TypeError:
            raise TypeError("midi must be a list of (frame offset, bytes) pairs or a MIDI file's "
                            f"path, not {type(midi).__name__}") from None
        what = "midi"
    checked = []
    last = 0
    for i, event in enumerate(events):
        try:
            offset, data = event
        except (TypeError, ValueError):
            raise TypeError(f"event {i} of {what} must be a (frame offset, bytes) pair, "
                            f"not {event!r}") from None
        if not hasattr(offset, "__index__") or isinstance(offset, bool):
            raise TypeError(f"the frame offset of event {i} of {what} must be an int, "
                            f"not {type(offset).__name__}")
        offset = offset.__index__()
        if offset < 0:
            raise ValueError(f"the frame offset of event {i} of {what} is {offset}; offsets "
                             "count from the first frame of the audio, from 0")
        if offset >= frames:
            raise ValueError(f"event {i} of {what} is at frame {offset}, beyond the audio's "
                             f"{frames} frames")
        if offset < last:
            raise ValueError(f"event {i} of {what} (frame {offset}) comes before the event "
                             f"ahead of it (frame {last}); events must be in time order")
        last = offset
        checked.append((offset, _check_midi_message(data, f"the data of event {i} of {what}")))
    return checked


def check_in(midi_in):
    """midi_in= as None, True or port names/patterns to record MIDI from."""
    if midi_in is None or midi_in is True:
        return midi_in
    if midi_in is False:
        return None
    if isinstance(midi_in, str) or (isinstance(midi_in, (list, tuple))
                                    and all(isinstance(p, str) for p in midi_in)):
        return midi_in
    raise TypeError("midi_in must be True (a MIDI input port left for you to connect), a port "
                    "name or pattern, or a sequence of them, not " + repr(midi_in))


def set_port(side, wanted: bool) -> str | None:
    """Register the side's MIDI port (midi_in / midi_out) when wanted, else
    drop one an earlier call left. The side's client is inactive."""
    client = side.client
    name = IN_PORT if side.is_input else OUT_PORT
    ports = client.midi_inports if side.is_input else client.midi_outports
    full = f"{client.name}:{name}"
    if not wanted:
        if full in ports:
            client.unregister_port(full)
        return None
    if full not in ports:
        full = client.register_port(name, IsInput if side.is_input else IsOutput, type="midi")
    return full


def resolve(client, spec, is_input: bool, own: tuple = ()) -> list:
    """Other clients' MIDI ports that spec names (None: none). own: our
    other client's MIDI port of the right direction, maybe not there yet."""
    if spec is None or spec is True:
        return []
    flags = IsOutput if is_input else IsInput
    what = "MIDI port to record from" if is_input else "MIDI port to play to"
    return resolve_ports(client, spec, flags, None, what, own, type="midi")


class MidiOut:
    """The events of midi=, queued a little ahead of the audio they go with."""

    def __init__(self, client, port: str, events: list, dests: list):
        self.client = client
        self.port = port
        self.events = events
        self.dests = dests
        self.sent = 0

    def connect(self) -> None:
        for dest in self.dests:
            connect(self.client, self.port, dest)

    def send_until(self, end: int) -> None:
        """Queue the events at output positions below end. Output position p
        is frame p of the audio: the stream starts at 0 with the call."""
        stop = self.sent
        while stop < len(self.events) and self.events[stop][0] < end:
            stop += 1
        if stop > self.sent:
            self.client.send_midi_events(self.port, self.events[self.sent:stop],
                                         clock="position", timeout=_SEND_TIMEOUT)
            self.sent = stop


class MidiIn:
    """Events arriving at the input client's MIDI port, counted from the
    recording's first frame."""

    def __init__(self, side, sources: list):
        self.side = side
        self.sources = sources
        self.first = None      # input position of the recording's frame 0
        self.times = []        # (JACK frame time, bytes) as read

    def connect(self) -> None:
        client = self.side.client
        port = f"{client.name}:{IN_PORT}"
        for source in self.sources:
            connect(client, source, port)

    def drain(self) -> None:
        while True:
            event = self.side.client.read_midi(timeout=0)
            if event is None:
                return
            self.times.append((event.time, event.data))

    def finish(self, frames: int) -> list:
        """The events of the recording's frames 0 .. frames - 1 as (frame, bytes)."""
        if self.first is None or frames == 0:
            return []
        side = self.side
        # The cycle that delivered the last frame may still be copying its
        # events: let one more cycle pass (bounded; a stopped server ends it).
        side.wait_moved(side.moved() + side.client.blocksize)
        self.drain()
        t0 = side.time_of(self.first)
        if t0 is None:
            return []
        found = [(time_diff(t, t0), data) for t, data in self.times]
        return [(offset, data) for offset, data in found if 0 <= offset < frames]
