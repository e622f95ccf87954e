"""The control bus: the one queue between control inputs and the render loop.

OSC, MIDI, window keys and replays run in their own threads and only ``push``
:class:`ControlEvent` objects here. The render loop ``drain``s the events up to the frame
time at each frame boundary, in timestamp order, so a recorded show replays frame-exactly.

Live inputs should use :meth:`ControlBus.push_stamped`: it reads the engine clock while
holding the bus lock, so an event stamped at or before a frame's time is always in the queue
when that frame drains. Without this, an event stamped just before the frame but pushed just
after the drain would land one frame later live than in the replay.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from livegen import limits


@dataclass(frozen=True)
class ControlEvent:
    """One control input: when (seconds on the engine clock), from where, what, which value.

    ``address`` is the source's own address (``/livegen/style/mix``, ``/style_mix``,
    ``midi/cc/1/7`` ...); the mapping turns it into parameter writes or actions.
    """

    t: float
    source: str
    address: str
    value: Any = None

    def to_json(self) -> dict[str, Any]:
        return {"t": self.t, "source": self.source, "address": self.address, "value": self.value}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ControlEvent:
        return cls(float(d["t"]), str(d["source"]), str(d["address"]), d.get("value"))


class ControlBus:
    """Thread-safe time-ordered event queue. Future-dated events wait for their frame.

    Continuous values may be pushed with a ``coalesce`` key: an undrained event with the same key
    is replaced by the newer one, so a 50 kHz OSC fader costs the loop one event per frame.

    ``max_events`` bounds what live inputs may queue (a wedged loop must not eat all memory).
    Replays hand over their whole, already bounded, time-ordered list with :meth:`schedule`:
    it is read in place and never counts against that cap.
    """

    def __init__(self, max_events: int = limits.CONTROL_QUEUE_MAX) -> None:
        self._heap: list[tuple[float, int, ControlEvent]] = []
        self._latest: dict[str, tuple[float, int, ControlEvent]] = {}
        self._seq = itertools.count()  # keeps arrival order for equal timestamps
        self._lock = threading.Lock()
        self._max = max_events
        self._scheduled: list[tuple[float, int, ControlEvent]] = []
        self._next_scheduled = 0
        self.dropped = 0
        self.coalesced = 0

    def push(self, event: ControlEvent) -> None:
        with self._lock:
            self._push_locked(event, None)

    def push_stamped(self, now: Callable[[], float], source: str, address: str, value: Any = None,
                     delay: float = 0.0, coalesce: str | None = None) -> ControlEvent | None:
        """Stamp an event with ``now() + delay`` under the lock and queue it; returns it (None if dropped)."""
        with self._lock:
            event = ControlEvent(now() + delay, source, address, value)
            return event if self._push_locked(event, coalesce if delay <= 0 else None) else None

    def _push_locked(self, event: ControlEvent, coalesce: str | None) -> bool:
        if coalesce is not None:
            if coalesce in self._latest:
                self.coalesced += 1
            elif len(self._heap) + len(self._latest) >= self._max:
                self.dropped += 1
                return False
            self._latest[coalesce] = (event.t, next(self._seq), event)
            return True
        if len(self._heap) + len(self._latest) >= self._max:
            # A wedged loop must not eat all memory; count what we lose.
            self.dropped += 1
            return False
        heapq.heappush(self._heap, (event.t, next(self._seq), event))
        return True

    def schedule(self, events: Iterable[ControlEvent]) -> None:
        """Queue a replay's events (any number: the file's own limit bounds them) for their times."""
        with self._lock:
            rest = self._scheduled[self._next_scheduled:]
            new = [(ev.t, next(self._seq), ev) for ev in events]
            self._scheduled = sorted(rest + new, key=lambda item: (item[0], item[1]))
            self._next_scheduled = 0

    def drain(self, until: float, limit: int | None = None) -> list[ControlEvent]:
        """Remove and return the events with ``t <= until``, oldest first; at most ``limit`` of them.

        With a limit, the newest due events stay queued for the next drain: a flood (thousands of
        MIDI messages, a burst of future-dated OSC triggers falling due together) is spread over
        frames instead of stalling one.
        """
        with self._lock:
            out: list[ControlEvent] = []
            latest = sorted((t, seq, key) for key, (t, seq, _) in self._latest.items() if t <= until)
            heap, sched = self._heap, self._scheduled
            li = self._next_scheduled
            lj = 0
            while limit is None or len(out) < limit:
                best: tuple[float, int] | None = None
                source = -1
                if heap and heap[0][0] <= until:
                    best, source = heap[0][:2], 0
                if li < len(sched) and sched[li][0] <= until and (best is None or sched[li][:2] < best):
                    best, source = sched[li][:2], 1
                if lj < len(latest) and (best is None or latest[lj][:2] < best):
                    source = 2
                if source == 0:
                    out.append(heapq.heappop(heap)[2])
                elif source == 1:
                    out.append(sched[li][2])
                    li += 1
                elif source == 2:
                    out.append(self._latest.pop(latest[lj][2])[2])
                    lj += 1
                else:
                    break
            self._next_scheduled = li
            if li and li == len(sched):
                self._scheduled, self._next_scheduled = [], 0
        return out

    def has_due(self, until: float) -> bool:
        """True if an event with ``t <= until`` is still queued (a capped drain left some behind)."""
        with self._lock:
            return bool((self._heap and self._heap[0][0] <= until)
                        or (self._next_scheduled < len(self._scheduled)
                            and self._scheduled[self._next_scheduled][0] <= until)
                        or any(t <= until for t, _, _ in self._latest.values()))

    def __len__(self) -> int:
        with self._lock:
            return len(self._heap) + len(self._latest) + len(self._scheduled) - self._next_scheduled
