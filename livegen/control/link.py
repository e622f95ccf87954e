"""Ableton Link: the show joins a Link session and follows its tempo and bar phase.

With ``[tempo] source = "link"``, :class:`LinkSession` enables a Link peer (Live, Bitwig,
Traktor, Resolume, a phone app: whoever is in the session on the network) and a thread reads the
session's timeline. When the timeline leaves what the last event predicts (a tempo change, a
phase nudge), and once a second anyway, it pushes one ``link/beat`` control event, value
``[beat, bpm]``, stamped with the show clock. :class:`LinkFollower` applies those events to the
engine's Tempo at frame boundaries. They are control events like MIDI clock ticks, so a show log
holds them and a replay follows the session exactly without a network.

Beats are counted with a quantum of one 4/4 bar, so livegen's bar lines (bar-quantised moves)
fall on the session's. livegen follows; it does not push its own tempo into the session.

LinkPython-extern wraps Ableton's Link library (GPL-2.0-or-later), hence the optional extra
``livegen[link]``. Link discovers peers by UDP multicast on every interface (port 20808).
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from typing import Any

from livegen.clock import Tempo
from livegen.control.bus import ControlEvent

log = logging.getLogger("livegen.link")

SOURCE = "link"
PREFIX = "link/"
BEAT_ADDRESS = "link/beat"
QUANTUM = 4.0  # beats in the bar whose phase the session shares
POLL_S = 0.01
REFRESH_S = 1.0  # an event at least this often, so a replay's tempo never drifts for long
DRIFT_BEATS = 0.002  # a timeline this far from the last event's prediction is sent again (1 ms at 120 BPM)


def is_link(address: str) -> bool:
    return address.startswith(PREFIX)


class LinkSession:
    """One Link peer; ``start`` its reader thread, ``status()`` for the HUD, ``close()`` at the end.

    ImportError (one line saying what to install) when LinkPython-extern is missing.
    """

    def __init__(self, push: Callable[[ControlEvent], None], now: Callable[[], float], bpm: float) -> None:
        try:
            import link
        except ImportError:
            raise ImportError("Ableton Link needs LinkPython-extern (GPL-2.0: pip install 'livegen[link]')") from None
        self.push = push
        self.now = now
        self._link = link.Link(bpm)
        self._link.enabled = True
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="livegen-link", daemon=True)
        self._thread.start()

    @property
    def peers(self) -> int:
        return int(self._link.numPeers())

    def read(self) -> tuple[float, float, float]:
        """(show time, session beat, session bpm) now."""
        state = self._link.captureAppSessionState()
        t = self.now()
        micros = self._link.clock().micros()
        return t, float(state.beatAtTime(micros, QUANTUM)), float(state.tempo())

    def _run(self) -> None:
        last: tuple[float, float, float] | None = None
        while not self._stop.wait(POLL_S):
            t, beat, bpm = self.read()
            if last is not None:
                t0, beat0, bpm0 = last
                predicted = beat0 + (t - t0) * bpm0 / 60.0
                if bpm == bpm0 and abs(beat - predicted) < DRIFT_BEATS and t - t0 < REFRESH_S:
                    continue
            last = (t, beat, bpm)
            self.push(ControlEvent(t, SOURCE, BEAT_ADDRESS, [beat, bpm]))
            self.sent += 1

    def status(self) -> str:
        peers = self.peers
        return f"link: {peers} peer{'s' if peers != 1 else ''}" if peers else "link: no peers yet (looking)"

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)
        self._link.enabled = False


class LinkFollower:
    """Applies ``link/beat [beat, bpm]`` events (live or from a show log) to the engine's Tempo."""

    def __init__(self, tempo: Tempo) -> None:
        self.tempo = tempo
        self.problem = ""

    def __call__(self, event: ControlEvent) -> None:
        if event.address != BEAT_ADDRESS:
            return
        timeline = _timeline(event.value)
        if timeline is None:
            if not self.problem:
                self.problem = f"link: ignored {event.address} {event.value!r} (expected [beat, bpm of 20..999])"
                log.warning("%s", self.problem)
            return
        beat, bpm = timeline
        self.tempo.sync(beat, event.t, bpm)


def _timeline(value: Any) -> tuple[float, float] | None:
    """(beat, bpm) from an event's value, or None when it is not two finite numbers with a Link tempo."""
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        return None
    try:
        beat, bpm = float(value[0]), float(value[1])
    except (TypeError, ValueError):
        return None
    if not math.isfinite(beat) or not 20.0 <= bpm <= 999.0:  # Link's own tempo range
        return None
    return beat, bpm
