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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


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
    """

    def __init__(self, max_events: int = 1_000_000) -> None:
        self._heap: list[tuple[float, int, ControlEvent]] = []
        self._latest: dict[str, tuple[float, int, ControlEvent]] = {}
        self._seq = itertools.count()  # keeps arrival order for equal timestamps
        self._lock = threading.Lock()
        self._max = max_events
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

    def drain(self, until: float) -> list[ControlEvent]:
        """Remove and return all events with ``t <= until``, oldest first."""
        with self._lock:
            items: list[tuple[float, int, ControlEvent]] = []
            while self._heap and self._heap[0][0] <= until:
                items.append(heapq.heappop(self._heap))
            if self._latest:
                due = [k for k, item in self._latest.items() if item[0] <= until]
                if due:
                    items.extend(self._latest.pop(k) for k in due)
                    items.sort(key=lambda item: (item[0], item[1]))
        return [item[2] for item in items]

    def __len__(self) -> int:
        with self._lock:
            return len(self._heap) + len(self._latest)
