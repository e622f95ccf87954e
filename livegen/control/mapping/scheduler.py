"""Beat-quantised moves: each waits for the next beat or bar line after it arrived.

The router queues a move (a parameter write, a trigger, an action) with the time its event
arrived; at each frame boundary it takes the moves whose beat has come, in the order they were
queued. Beats come from the engine's :class:`livegen.clock.Tempo`, so a tempo change moves the
deadline with the music.
"""

from __future__ import annotations

from typing import Any

from livegen.clock import Tempo

BEATS = {"beat": 1.0, "bar": 4.0}


class BeatQueue:
    """Moves waiting for their beat; ``due(t)`` hands back those whose beat is at or before ``t``."""

    def __init__(self, tempo: Tempo) -> None:
        self.tempo = tempo
        self._pending: list[tuple[float, int, Any]] = []  # (due beat, order, move)
        self._order = 0

    def add(self, t: float, quantise: str, move: Any) -> None:
        """Queue ``move`` for the next beat (``quantise="beat"``) or bar line after time ``t``."""
        self._order += 1
        self._pending.append((self.tempo.next_beat(t, BEATS[quantise]), self._order, move))

    def due(self, t: float) -> list[Any]:
        """Remove and return the moves due at time ``t``, earliest beat first, then in arrival order."""
        if not self._pending:
            return []
        beat = self.tempo.beat(t) + 1e-9
        due = [p for p in self._pending if p[0] <= beat]
        if not due:
            return []
        self._pending = [p for p in self._pending if p[0] > beat]
        return [move for _beat, _order, move in sorted(due, key=lambda p: (p[0], p[1]))]

    def __len__(self) -> int:
        return len(self._pending)
