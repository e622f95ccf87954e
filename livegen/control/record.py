"""Show recording and control-file replay: JSONL show logs and Standard MIDI Files.

While a show runs, :class:`ShowRecorder` writes every control event the render loop applied
and one line per frame (its clock time), flushed at least once a second, so a crash loses at
most the last second. :func:`load_controls` reads a show log back (events, the frame each was
applied in, frame times, header) or a ``.mid`` file (type 0/1, tempo map, several tracks;
events at their times in seconds, no frame times) for ``run``/``render --controls``.

Replaying a show log at its frame times and applying each frame's events gives the recorded
parameter trajectory frame for frame: the bus stamps live events under its lock (see bus.py),
so an event's timestamp alone decides its frame, live and in the replay.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any

from livegen.control.bus import ControlEvent
from livegen.control.midikinds import message_events

FORMAT = 1


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def make_header(patch_path: str | Path | None = None, patch_hash: str = "", seed: int | None = None,
                models: Iterable[str | Path] = (), seeds: Mapping[str, int] | None = None,
                initial: Mapping[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """What a show log needs to be re-rendered later: patch file and hash, seeds, model hashes, start values.

    ``initial`` are the parameter targets when recording began (recording can start mid-show);
    a replay sets them before its first frame.
    """
    header: dict[str, Any] = {"created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")}
    if patch_path is not None or patch_hash or seed is not None:
        header["patch"] = str(patch_path) if patch_path else None
        header["patch_hash"] = patch_hash
        header["seed"] = seed
    hashes = {}
    for m in models:
        p = Path(m)
        hashes[str(p)] = file_sha256(p) if p.exists() else None
    header["models"] = hashes
    if seeds:
        header["seeds"] = dict(seeds)
    if initial is not None:
        header["initial"] = dict(initial)
    header.update(extra)
    return header


class ShowRecorder:
    """Appends a JSON line per event and per frame; flushed at least once a second."""

    def __init__(self, path: str | Path, header: dict[str, Any], flush_every: float = 1.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._f: IO[str] = self.path.open("w", encoding="utf-8")
        self.flush_every = flush_every
        self.frames = 0
        self.events = 0
        self._write({"livegen_show": FORMAT, **header})
        self._f.flush()
        self._last_flush = time.monotonic()

    def _write(self, obj: dict[str, Any]) -> None:
        # default=str: a strange value must not end the recording; replay reports it as a bad event.
        self._f.write(json.dumps(obj, separators=(",", ":"), default=str) + "\n")

    def log_frame(self, frame: int, t: float, events: list[ControlEvent]) -> None:
        """Record the events applied at frame ``frame`` (clock time ``t``), then the frame line."""
        if self._f.closed:
            return
        for ev in events:
            self._write({"event": ev.to_json()})
        self._write({"frame": frame, "t": t})
        self.frames += 1
        self.events += len(events)
        now = time.monotonic()
        if now - self._last_flush >= self.flush_every:
            self._f.flush()
            self._last_flush = now

    @property
    def closed(self) -> bool:
        return self._f.closed

    def close(self) -> None:
        if not self._f.closed:
            self._f.flush()
            self._f.close()


class ControlFile:
    """A recorded control stream: events, and for show logs the frame times and event frames.

    ``event_frames[i]`` is the index (into ``frame_times``) of the frame that applied
    ``events[i]`` live; empty for .mid files. ``initial`` holds parameter values to set first.
    """

    def __init__(self, path: str | Path, events: list[ControlEvent], frame_times: list[float],
                 header: dict[str, Any], event_frames: list[int] | None = None) -> None:
        self.path = Path(path)
        self.events = events
        self.frame_times = frame_times
        self.header = header
        self.event_frames = event_frames or []

    @property
    def initial(self) -> dict[str, Any]:
        init = self.header.get("initial")
        return dict(init) if isinstance(init, dict) else {}

    @property
    def duration(self) -> float:
        last_event = self.events[-1].t if self.events else 0.0
        last_frame = self.frame_times[-1] if self.frame_times else 0.0
        return max(last_event, last_frame)


def load_controls(path: str | Path) -> ControlFile:
    """Read a show log (.jsonl) or a Standard MIDI File (.mid/.midi); ValueError names file and line."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".mid", ".midi", ".smf"):
        return _load_midi(path)
    if suffix in (".jsonl", ".json", ".log"):
        return _load_show(path)
    raise ValueError(f"{path}: unknown control file type {suffix!r} (use a .jsonl show log or a .mid file)")


def _load_show(path: Path) -> ControlFile:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: cannot read ({e})") from None
    events: list[ControlEvent] = []
    event_frames: list[int] = []
    frames: list[float] = []
    header: dict[str, Any] = {}
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise ValueError("not a JSON object")
            if "livegen_show" in obj:
                if i != 0:
                    raise ValueError("header line after the start")
                header = obj
            elif "event" in obj:
                events.append(ControlEvent.from_json(obj["event"]))
                event_frames.append(len(frames))
            elif "frame" in obj:
                frames.append(float(obj["t"]))
            else:
                raise ValueError("neither header, event nor frame")
        except (ValueError, KeyError, TypeError) as e:
            if i == last and i > 0:
                break  # the last line of a log cut by a crash may be partial: keep what came before
            raise ValueError(f"{path}:{i + 1}: bad show-log line ({e})") from None
    if not header:
        raise ValueError(f"{path}:1: not a livegen show log (no header line)")
    # Events after the last frame line were never applied live (the crash came first).
    n = sum(1 for f in event_frames if f < len(frames)) if frames else len(events)
    if frames:
        events, event_frames = events[:n], event_frames[:n]
    return ControlFile(path, events, frames, header, event_frames if frames else [])


def _load_midi(path: Path) -> ControlFile:
    import mido

    try:
        mid = mido.MidiFile(path)
    except (OSError, EOFError, ValueError, KeyError, IndexError) as e:
        raise ValueError(f"{path}: not a readable MIDI file ({e})") from None
    if mid.type == 2:
        raise ValueError(f"{path}: MIDI file type 2 (independent sequences) is not supported; use type 0 or 1")
    events: list[ControlEvent] = []
    t = 0.0
    try:
        # Iterating a MidiFile merges the tracks and turns ticks into seconds through the tempo map.
        for msg in mid:
            t += msg.time
            if msg.is_meta:
                continue
            for address, value in message_events(msg):
                events.append(ControlEvent(t, "midifile", address, value))
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{path}: bad MIDI data ({e})") from None
    header = {"format": "mid", "type": mid.type, "ticks_per_beat": mid.ticks_per_beat,
              "tracks": len(mid.tracks), "length": t}
    return ControlFile(path, events, [], header)
