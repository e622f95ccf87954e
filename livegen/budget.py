"""The frame budget: lowers the stages' quality step by step when frames run late, raises it back
when there is headroom, and never pumps between two rungs.

Live shows only (``run``); a render's lockstep clock has all the time it needs, so its picture
does not depend on how busy the machine was. The engine feeds each frame's own compute time to
:meth:`FrameBudget.update`; the ladder of rungs is ``stages.pipeline.QUALITY_LADDER``.

Why these rules: stepping down after a short run of late frames reacts within a few frames to a
competing process, while single late frames (a garbage collection, a camera hiccup) are
ignored. Stepping up only when the cost *predicted* at the better rung fits well inside the
budget, and only after a quiet spell, is the hysteresis that keeps the picture from pumping.
"""

from __future__ import annotations

from livegen.stages.pipeline import QUALITY_LADDER, Quality


class FrameBudget:
    """Chooses a rung of the quality ladder from measured frame times."""

    LATE_FRAMES = 8  # consecutive frames over budget before stepping down
    DOWN_COOLDOWN_S = 0.5  # the next step down waits for the last one to show in the times
    UP_QUIET_S = 3.0  # seconds of headroom before stepping up
    UP_MARGIN = 0.8  # predicted cost at the better rung must be under this share of the budget
    ALPHA = 0.2  # smoothing of the measured frame time

    def __init__(self, budget_ms: float, ladder: tuple[Quality, ...] = QUALITY_LADDER) -> None:
        if not budget_ms > 0:
            raise ValueError(f"frame budget must be positive, got {budget_ms} ms")
        self.budget_ms = float(budget_ms)
        self.ladder = ladder
        self.level = 0
        self.ms: float | None = None
        self._late = 0
        self._quiet_since: float | None = None
        self._last_change = -1e9
        self.changes = 0

    @property
    def quality(self) -> Quality:
        return self.ladder[self.level]

    def _cost_ratio(self, better: int) -> float:
        """Predicted frame time at rung ``better`` over the time at the current rung (style ~ scale²)."""
        now, then = self.ladder[self.level].style_factor, self.ladder[better].style_factor
        return max((then / now) ** 2, 1.05)

    def update(self, frame_ms: float, t: float) -> bool:
        """Feed one frame's compute time at clock time ``t`` (seconds); True when the rung changed."""
        self.ms = frame_ms if self.ms is None else self.ms + self.ALPHA * (frame_ms - self.ms)
        self._late = self._late + 1 if frame_ms > self.budget_ms else 0
        if (self._late >= self.LATE_FRAMES and self.level < len(self.ladder) - 1
                and t - self._last_change >= self.DOWN_COOLDOWN_S):
            return self._move(self.level + 1, t)
        if self.level > 0 and self.ms * self._cost_ratio(self.level - 1) < self.UP_MARGIN * self.budget_ms:
            if self._quiet_since is None:
                self._quiet_since = t
            if t - self._quiet_since >= self.UP_QUIET_S:
                return self._move(self.level - 1, t)
        else:
            self._quiet_since = None
        return False

    def _move(self, level: int, t: float) -> bool:
        self.level = level
        self._late = 0
        self._quiet_since = None
        self._last_change = t
        self.changes += 1
        return True

    def status(self) -> str:
        q = self.quality
        ms = f"{self.ms:.1f}" if self.ms is not None else "–"
        detail = f"style scale ×{q.style_factor:g}" + (f", {q.generator_filter} upscale" if q.generator_filter else "")
        return f"budget {ms}/{self.budget_ms:.0f} ms · quality {len(self.ladder) - 1 - self.level}/" \
               f"{len(self.ladder) - 1} ({detail})"
