"""The control bus: the one queue between control sources and the render loop.

OSC, MIDI, window keys and replays run in their own threads and only ``push``
:class:`ControlEvent` objects here. The render loop ``drain``s the events up to the frame
time at each frame boundary, in timestamp order, so a recorded show replays frame-exactly.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ControlEvent:
    """One control input: when (seconds on the engine clock), from where, what, which value.

    ``address`` is the source's own address (``/livegen/style/mix``, ``/style_mix``,
    ``midi/cc/0/7`` ...); the mapping turns it into parameter writes or actions.
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
    """Thread-safe time-ordered event queue. Future-dated events wait for their frame."""

    def __init__(self, max_events: int = 1_000_000) -> None:
        self._heap: list[tuple[float, int, ControlEvent]] = []
        self._seq = itertools.count()  # keeps arrival order for equal timestamps
        self._lock = threading.Lock()
        self._max = max_events
        self.dropped = 0

    def push(self, event: ControlEvent) -> None:
        with self._lock:
            if len(self._heap) >= self._max:
                # A wedged loop must not eat all memory; count what we lose.
                self.dropped += 1
                return
            heapq.heappush(self._heap, (event.t, next(self._seq), event))

    def drain(self, until: float) -> list[ControlEvent]:
        """Remove and return all events with ``t <= until``, oldest first."""
        out: list[ControlEvent] = []
        with self._lock:
            while self._heap and self._heap[0][0] <= until:
                out.append(heapq.heappop(self._heap)[2])
        return out

    def __len__(self) -> int:
        with self._lock:
            return len(self._heap)
