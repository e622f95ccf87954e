"""Clocks for the frame loop: wall time for live shows, lockstep for renders, and tempo.

``run`` uses :class:`WallClock` (seconds since start, frame pacing by the display);
``render`` uses :class:`LockstepClock` (frame n is at t = n / fps exactly) so the same
inputs give the same frames. :class:`Tempo` turns time into beat phase for quantised moves.
"""

from __future__ import annotations

import math
import time


class WallClock:
    """Seconds since the show started, from the monotonic clock."""

    def __init__(self) -> None:
        self._t0 = time.monotonic()
        self.frame = 0

    def now(self) -> float:
        return time.monotonic() - self._t0

    def to_clock(self, monotonic_t: float) -> float:
        """Convert an arrival stamp from ``time.monotonic()`` to clock seconds."""
        return monotonic_t - self._t0

    def tick(self) -> float:
        self.frame += 1
        return self.now()


class LockstepClock:
    """Frame n is at exactly n / fps seconds, whatever the wall clock says."""

    def __init__(self, fps: float) -> None:
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.fps = float(fps)
        self.frame = 0

    def now(self) -> float:
        return self.frame / self.fps

    def tick(self) -> float:
        self.frame += 1
        return self.now()


class Tempo:
    """Beat position from a BPM that can change without the phase jumping.

    Phase is integrated: changing the tempo keeps the current beat and changes its rate.
    External sources (MIDI clock) call :meth:`sync` to correct phase and tempo.
    """

    def __init__(self, bpm: float = 120.0) -> None:
        self.bpm = float(bpm)
        self._beat_at_anchor = 0.0
        self._anchor_t = 0.0

    def beat(self, t: float) -> float:
        return self._beat_at_anchor + (t - self._anchor_t) * self.bpm / 60.0

    def set_bpm(self, bpm: float, t: float) -> None:
        if not math.isfinite(bpm) or bpm <= 0:
            return
        self._beat_at_anchor = self.beat(t)
        self._anchor_t = t
        self.bpm = float(bpm)

    def sync(self, beat: float, t: float, bpm: float | None = None) -> None:
        """Declare that at time ``t`` the beat position is ``beat``."""
        self._beat_at_anchor = beat
        self._anchor_t = t
        if bpm is not None and math.isfinite(bpm) and bpm > 0:
            self.bpm = float(bpm)

    def phase(self, t: float) -> float:
        """Position inside the current beat, in [0, 1)."""
        return self.beat(t) % 1.0

    def next_beat_time(self, t: float, every: float = 1.0) -> float:
        """Wall time of the next multiple of ``every`` beats (1 = beat, 4 = bar) after t."""
        b = self.beat(t)
        nxt = (math.floor(b / every + 1e-9) + 1) * every
        return self._anchor_t + (nxt - self._beat_at_anchor) * 60.0 / self.bpm
