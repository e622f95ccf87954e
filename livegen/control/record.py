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
import math
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any

from livegen import limits
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


def clip_text(value: Any) -> Any:
    """A string value cut to ``limits.TEXT_VALUE_CHARS`` (with a mark), anything else as it is.

    Log lines and show logs keep at most this much of a value: a sender spraying 20 KB scene
    names must not write gigabytes an hour (such values are refused anyway; this bounds the record).
    """
    if isinstance(value, str) and len(value) > limits.TEXT_VALUE_CHARS:
        return value[:limits.TEXT_VALUE_CHARS] + f"…(+{len(value) - limits.TEXT_VALUE_CHARS} chars)"
    return value


class ShowRecorder:
    """Appends a JSON line per event and per frame; flushed at least once a second.

    The file is created exclusively: an existing recording is never overwritten (FileExistsError)
    unless ``overwrite`` (``--force``) says so.
    """

    def __init__(self, path: str | Path, header: dict[str, Any], flush_every: float = 1.0,
                 overwrite: bool = False) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # "x": two recordings started in the same second, or a --record name that exists, never clobber.
        self._f: IO[str] = self.path.open("w" if overwrite else "x", encoding="utf-8")
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
            d = ev.to_json()
            d["address"] = clip_text(d["address"])
            d["value"] = clip_text(d["value"])
            self._write({"event": d})
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
    """Read a show log (.jsonl) or a Standard MIDI File (.mid/.midi); ValueError names file and line.

    Times are checked here, before a replay starts: every event time finite and >= 0, events in
    time order, frame times finite and increasing by at least ``limits.FRAME_SPACING_MIN_S``, a
    MIDI file's ticks_per_beat above 0; at most ``limits.REPLAY_EVENTS_MAX`` events and
    ``limits.CONTROL_FILE_BYTES`` bytes.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as e:
        raise ValueError(f"{path}: cannot read ({e.strerror or e})") from None
    if size > limits.CONTROL_FILE_BYTES:
        raise ValueError(f"{path}: {size} bytes is more than the {limits.CONTROL_FILE_BYTES} a control file may have")
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
    numbered = [(i, line) for i, line in enumerate(lines) if line.strip()]
    last = numbered[-1][0] if numbered else -1
    try:
        # One decoder call for the whole file is several times faster than one per line; a
        # file that does not decode that way is read line by line to name the bad line.
        objs: list[Any] | None = json.loads("[" + ",".join(line for _, line in numbered) + "]")
        if len(objs) != len(numbered):
            objs = None
    except (json.JSONDecodeError, RecursionError):
        objs = None
    for k, (i, line) in enumerate(numbered):
        try:
            obj = objs[k] if objs is not None else json.loads(line)
            if not isinstance(obj, dict):
                raise ValueError("not a JSON object")
            if "livegen_show" in obj:
                if i != 0:
                    raise ValueError("header line after the start")
                header = obj
            elif "event" in obj:
                ev = ControlEvent.from_json(obj["event"])
                _check_time(ev.t, events[-1].t if events else 0.0, f"event {len(events)}")
                if len(events) >= limits.REPLAY_EVENTS_MAX:
                    raise ValueError(f"more than {limits.REPLAY_EVENTS_MAX} events")
                events.append(ev)
                event_frames.append(len(frames))
            elif "frame" in obj:
                t = float(obj["t"])
                n = len(frames)
                _check_time(t, 0.0, f"frame {n}")
                if frames and not t - frames[-1] >= limits.FRAME_SPACING_MIN_S:
                    raise ValueError(f"frame {n}: time {t!r} is not at least {limits.FRAME_SPACING_MIN_S:g} s "
                                     f"after frame {n - 1} ({frames[-1]!r}); frame times must increase")
                frames.append(t)
            else:
                raise ValueError("neither header, event nor frame")
        except (ValueError, KeyError, TypeError) as e:
            if i == last and i > 0 and isinstance(e, json.JSONDecodeError):
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
    if mid.ticks_per_beat <= 0:
        raise ValueError(f"{path}: ticks_per_beat is {mid.ticks_per_beat}; a MIDI file needs 1 or more")
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
            if not math.isfinite(t):
                raise ValueError(f"time {t!r} after {len(events)} events is not finite")
            for address, value in message_events(msg):
                if len(events) >= limits.REPLAY_EVENTS_MAX:
                    raise ValueError(f"more than {limits.REPLAY_EVENTS_MAX} events")
                events.append(ControlEvent(t, "midifile", address, value))
    except (ValueError, KeyError, TypeError, ZeroDivisionError, OverflowError) as e:
        raise ValueError(f"{path}: bad MIDI data ({e})") from None
    header = {"format": "mid", "type": mid.type, "ticks_per_beat": mid.ticks_per_beat,
              "tracks": len(mid.tracks), "length": t}
    return ControlFile(path, events, [], header)


def _check_time(t: float, after: float, what: str) -> None:
    """ValueError unless ``t`` is a finite time >= 0 and not before ``after`` (the previous one)."""
    if not math.isfinite(t) or t < 0:
        raise ValueError(f"{what}: time {t!r} is not a finite time >= 0")
    if t < after:
        raise ValueError(f"{what}: time {t!r} is before the one above it ({after!r}); a show log is in time order")
