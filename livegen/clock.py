"""Clocks for the frame loop, and the tempo: the one owner of bpm and beat phase.

:class:`WallClock` gives a live show its time (seconds since start); a render needs no clock
object: frame n is at t = n / fps (``render.frame_times_for``), so the same inputs give the same
frames. :class:`Tempo` turns time into beat position.
"""

from __future__ import annotations

import math
import time

from livegen.params import ParameterStore

# The parameter that sets the tempo by hand (OSC, a mapped knob, a scene) and shows it (HUD, feedback).
BPM_PARAM = "tempo.bpm"


class WallClock:
    """Seconds since the show started, from the monotonic clock."""

    def __init__(self) -> None:
        self._t0 = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self._t0


class Tempo:
    """Beat position from a BPM that can change without the phase jumping; the one owner of bpm.

    Phase is integrated: changing the tempo keeps the current beat and changes its rate. Every
    tempo change comes through here: the patch's ``[tempo] bpm`` (construction, hot reload), the
    ``tempo.bpm`` parameter (:meth:`follow_param`, once per frame) and an external clock
    (:meth:`sync`, from the MIDI clock follower). The parameter mirrors :attr:`bpm` back, so
    snapshots, OSC feedback and the HUD read the same number.
    """

    def __init__(self, bpm: float = 120.0) -> None:
        self.bpm = float(bpm)
        self._beat_at_anchor = 0.0
        self._anchor_t = 0.0
        self._shown: float | None = None  # the value last mirrored into the tempo.bpm parameter

    def beat(self, t: float) -> float:
        return self._beat_at_anchor + (t - self._anchor_t) * self.bpm / 60.0

    def next_beat(self, t: float, every: float = 1.0) -> float:
        """The next multiple of ``every`` beats (1 = beat, 4 = bar) strictly after time ``t``."""
        return (math.floor(self.beat(t) / every + 1e-9) + 1) * every

    def set_bpm(self, bpm: float, t: float) -> None:
        if not math.isfinite(bpm) or bpm <= 0:
            return
        self._beat_at_anchor = self.beat(t)
        self._anchor_t = t
        self.bpm = float(bpm)

    def sync(self, beat: float, t: float, bpm: float | None = None) -> None:
        """Declare that at time ``t`` the beat position is ``beat`` (an external clock)."""
        self._beat_at_anchor = beat
        self._anchor_t = t
        if bpm is not None and math.isfinite(bpm) and bpm > 0:
            self.bpm = float(bpm)

    def follow_param(self, store: ParameterStore, t: float, external: bool = False) -> None:
        """Once per frame: a changed ``tempo.bpm`` target sets the tempo; then the parameter shows it.

        Only changes count: at the first frame the tempo comes from the patch's ``[tempo] bpm``,
        which the parameter's default must not override. While an ``external`` clock drives the
        tempo, hand-set values are dropped (the clock wins) and the parameter shows the clock's bpm.
        """
        if BPM_PARAM not in store.registry:
            return
        wanted = store.targets[BPM_PARAM]
        if self._shown is not None and wanted != self._shown and not external:
            self.set_bpm(float(wanted), t)
        shown = store.registry[BPM_PARAM].coerce(self.bpm)
        if store.targets[BPM_PARAM] != shown:
            # Written only on a difference: a scene fade of tempo.bpm keeps fading.
            store.set(BPM_PARAM, shown)
        self._shown = shown
