"""Tempo from anywhere, one leader: tap tempo and the audio analysis as tempo sources.

A patch names one leader in ``[tempo] source`` (fixed, midi, osc, audio, tap, link); only the
leader moves the engine's :class:`~livegen.clock.Tempo`, and the HUD says which one leads. MIDI
clock in and out live in :mod:`livegen.control.midiclock`, Ableton Link in :mod:`livegen.control.link`.

- :class:`TapTempo`: key T or ``/livegen/tempo/tap`` (or any mapped button). The mean interval of
  the last taps sets the BPM and the last tap lands on a beat. Taps count while the leader is
  ``tap`` or ``fixed``; with an external leader they would fight it and are refused with a note.
- :class:`AudioTempoFollower`: ``audio/bpm`` and ``audio/beat`` events (see control/audio.py)
  drive the tempo while ``audio`` leads. They are control events, so a replay follows them too.
"""

from __future__ import annotations

import logging
from typing import Any

from livegen.clock import Tempo
from livegen.control.bus import ControlEvent
from livegen.params import to_number

log = logging.getLogger("livegen.tempo")

TAP_ADDRESS = "/livegen/tempo/tap"
TAP_ACTION = "tempo/tap"
TAP_RESET_S = 2.0  # a pause this long starts a new tap sequence
TAP_KEEP = 8  # taps averaged


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
