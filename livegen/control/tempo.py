"""Tempo from anywhere, one leader: tap tempo, the audio analysis as a tempo source, MIDI clock out.

A patch names one leader in ``[tempo] source`` (fixed, midi, osc, audio, tap, link); only the
leader moves the engine's :class:`~livegen.clock.Tempo`, and the HUD says which one leads.

- :class:`TapTempo`: key T or ``/livegen/tempo/tap`` (or any mapped button). The mean interval of
  the last taps sets the BPM and the last tap lands on a beat. Taps count while the leader is
  ``tap`` or ``fixed``; with an external leader they would fight it and are refused with a note.
- :class:`AudioTempoFollower`: ``audio/bpm`` and ``audio/beat`` events (see control/audio.py)
  drive the tempo while ``audio`` leads. They are control events, so a replay follows them too.
- :class:`MidiClockOut`: 24 ppqn clock plus start/stop on a MIDI output port, following the Tempo
  whoever leads, for drum machines, lighting desks and Resolume's MIDI clock input.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from livegen.clock import Tempo
from livegen.control.bus import ControlEvent
from livegen.params import to_number

log = logging.getLogger("livegen.tempo")

LEADERS = ("fixed", "midi", "osc", "audio", "tap", "link")
TAP_ADDRESS = "/livegen/tempo/tap"
TAP_ACTION = "tempo/tap"
TAP_RESET_S = 2.0  # a pause this long starts a new tap sequence
TAP_KEEP = 8  # taps averaged
PPQN = 24


class TapTempo:
    """Sets the tempo from taps; ``tap(t)`` is called with each tap's event time."""

    def __init__(self, tempo: Tempo, leader: str) -> None:
        self.tempo = tempo
        self.leader = leader
        self.taps: list[float] = []
        self.note = ""

    def tap(self, _value: Any, t: float) -> None:
        if self.leader not in ("tap", "fixed"):
            self.note = f"tap ignored: the tempo follows {self.leader} ([tempo] source)"
            return
        if self.taps and (t - self.taps[-1] > TAP_RESET_S or t <= self.taps[-1]):
            self.taps.clear()
        self.taps = [*self.taps, t][-TAP_KEEP:]
        if len(self.taps) < 2:
            return
        interval = (self.taps[-1] - self.taps[0]) / (len(self.taps) - 1)
        bpm = 60.0 / interval
        if not 20.0 <= bpm <= 300.0:
            return
        # The tap is a beat: keep the beat count, move the phase onto it.
        self.tempo.sync(float(round(self.tempo.beat(t))), t, bpm)
        self.note = f"tap: {bpm:.1f} BPM from {len(self.taps)} taps"


class AudioTempoFollower:
    """Drives the Tempo from the audio analysis' ``audio/bpm`` and ``audio/beat`` events."""

    def __init__(self, tempo: Tempo) -> None:
        self.tempo = tempo

    def __call__(self, event: ControlEvent) -> None:
        if event.address == "audio/bpm":
            bpm = to_number(event.value, event.address)
            if bpm > 0:
                self.tempo.set_bpm(bpm, event.t)
        elif event.address == "audio/beat" and self.tempo.bpm > 0:
            phase = to_number(event.value, event.address) % 1.0
            now = self.tempo.beat(event.t)
            # The nearest beat position with the heard phase: the count goes on, the phase follows.
            self.tempo.sync(now + ((phase - now % 1.0 + 0.5) % 1.0 - 0.5), event.t)


def leader_line(leader: str, tempo: Tempo) -> str:
    return f"tempo {tempo.bpm:.1f} BPM — {leader} leads"


class MidiClockOut:
    """Sends MIDI clock (24 ppqn), start and stop on an output port, following ``tempo`` at ``now()``.

    ``port`` is a new virtual port of that name (JACK/ALSA) or, when an existing output's name
    contains it, that port. Runs its own thread; ticks go out when the beat position passes each
    24th of a beat, so tempo changes and phase syncs from any leader are followed at once.
    """

    def __init__(self, port: str, tempo: Tempo, now: Callable[[], float], api: str = "jack") -> None:
        import rtmidi

        if api == "jack":
            os.environ.setdefault("JACK_NO_START_SERVER", "1")
        self.tempo = tempo
        self.now = now
        self.sent = 0
        rtapi = rtmidi.API_UNIX_JACK if api == "jack" else rtmidi.API_LINUX_ALSA
        self._out = rtmidi.MidiOut(rtapi=rtapi, name="livegen-clock")
        existing = [i for i, n in enumerate(self._out.get_ports()) if port.lower() in n.lower()]
        if existing:
            self._out.open_port(existing[0])
        else:
            self._out.open_virtual_port(port)
        self.port = port
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="livegen-clock-out", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self._out.send_message([0xFA])  # start
        last = math.floor(self.tempo.beat(self.now()) * PPQN)
        while not self._stop.is_set():
            pos = self.tempo.beat(self.now()) * PPQN
            due = math.floor(pos)
            if due < last or due - last > PPQN:
                last = due  # the beat jumped (a sync, a tap): no burst of catch-up ticks
            elif due > last:
                self._out.send_message([0xF8])
                self.sent += 1
                last += 1
                continue
            # Sleep to just before the next tick (at most 2 ms, so a tempo change is followed at once).
            wait = (last + 1 - pos) / PPQN * 60.0 / max(self.tempo.bpm, 1e-3)
            time.sleep(min(max(wait, 0.0), 0.002))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)
        self._out.send_message([0xFC])  # stop
        self._out.close_port()
        del self._out
