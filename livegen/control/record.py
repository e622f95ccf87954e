"""Show recording and control-file replay (JSONL show logs).

The recorder writes every applied control event plus one line per frame (its clock time), so
``render --controls show.jsonl`` can replay the live show frame-exactly.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from livegen.control.bus import ControlEvent


class ShowRecorder:
    """Appends a JSON line per event and per frame; flushed at least once a second."""

    def __init__(self, path: str | Path, header: dict[str, Any]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._f = self.path.open("w", encoding="utf-8")
        self._write({"livegen_show": 1, **header})
        self._last_flush = time.monotonic()

    def _write(self, obj: dict[str, Any]) -> None:
        self._f.write(json.dumps(obj, separators=(",", ":")) + "\n")

    def log_frame(self, frame: int, t: float, events: list[ControlEvent]) -> None:
        for ev in events:
            self._write({"event": ev.to_json()})
        self._write({"frame": frame, "t": t})
        now = time.monotonic()
        if now - self._last_flush >= 1.0:
            self._f.flush()
            self._last_flush = now

    def close(self) -> None:
        if not self._f.closed:
            self._f.flush()
            self._f.close()


class ControlFile:
    """A recorded control stream: events, and the frame times when it was a live show log."""

    def __init__(self, path: str | Path, events: list[ControlEvent], frame_times: list[float],
                 header: dict[str, Any]) -> None:
        self.path = Path(path)
        self.events = events
        self.frame_times = frame_times
        self.header = header


def load_controls(path: str | Path) -> ControlFile:
    """Read a show log (.jsonl); raises ValueError naming the file and line on bad content."""
    path = Path(path)
    events: list[ControlEvent] = []
    frames: list[float] = []
    header: dict[str, Any] = {}
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                if "livegen_show" in obj:
                    header = obj
                elif "event" in obj:
                    events.append(ControlEvent.from_json(obj["event"]))
                elif "frame" in obj:
                    frames.append(float(obj["t"]))
                else:
                    raise ValueError("neither header, event nor frame")
            except (ValueError, KeyError, TypeError) as e:
                # The last line of a log cut by a crash may be partial: keep what came before.
                if lineno > 1 and not f.readline():
                    break
                raise ValueError(f"{path}:{lineno}: bad show-log line ({e})") from None
    return ControlFile(path, events, frames, header)
