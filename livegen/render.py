"""Headless offline rendering (``livegen render``) with the lockstep clock.

Frame n is rendered at t = n / fps, or, when replaying a live show log without ``--fps``, at
exactly the frame times the live show had, so the parameter trajectory matches it frame for
frame. Control files' events go onto the bus up front; the engine applies each at its time.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from livegen import limits
from livegen.control.audio import SOURCE as AUDIO_SOURCE
from livegen.control.audio import FeatureEvents
from livegen.control.audiofile import analyse, read_audio
from livegen.control.bus import ControlEvent
from livegen.control.record import load_controls
from livegen.engine import open_engine
from livegen.params import Snapshot
from livegen.patch import Patch
from livegen.rig import RigTempo, use_ndi_ips
from livegen.sinks import to_uint8
from livegen.sinks.base import SinkSet, open_sinks
from livegen.sinks.files import open_file_sink
from livegen.sinks.mux import check_muxable, mux_audio
from livegen.size import Size

log = logging.getLogger("livegen.render")


class RenderError(Exception):
    """A render that cannot give the file it was asked for (a layer off, a replay into another show)."""


@dataclass
class RenderResult:
    frames: int  # frames written
    frame_times: list[float]
    out: str
    snapshots: list[dict] = field(default_factory=list)
    stopped: bool = False  # ended early by ``stop`` (a signal); the file holds ``frames`` frames


def frame_times_for(frames: int | None, fps: float | None, recorded: list[float],
                    default_fps: float) -> list[float]:
    """The clock of a render: explicit fps wins; else a show log's own frame times; else the patch fps.

    Raises ValueError for a clock that cannot be rendered: an fps that is not a finite positive
    number up to ``RENDER_FPS_MAX``, or recorded frame times that are not finite and strictly
    increasing by at least ``FRAME_SPACING_MIN_S``.
    """
    if fps is not None and not (0 < fps <= limits.RENDER_FPS_MAX):
        raise ValueError(f"--fps must be above 0 and at most {limits.RENDER_FPS_MAX:g}, got {fps}")
    if frames is not None and frames < 0:
        raise ValueError(f"--frames must be 0 or more, got {frames}")
    if fps is None and recorded:
        check_frame_times(recorded)
        n = len(recorded) if frames is None else frames
        if n > len(recorded):
            # Past the end of the recording, continue at its average rate.
            step = (recorded[-1] - recorded[0]) / max(len(recorded) - 1, 1) or 1.0 / default_fps
            recorded = recorded + [recorded[-1] + step * (i + 1) for i in range(n - len(recorded))]
        return recorded[:n]
    rate = fps or default_fps
    n = frames if frames is not None else int(round(10 * rate))
    return [i / rate for i in range(n)]


def check_frame_times(times: list[float]) -> None:
    """ValueError naming the first frame whose time is not finite or not after the one before."""
    prev = -math.inf
    for i, t in enumerate(times):
        if not math.isfinite(t) or t < 0:
            raise ValueError(f"frame {i}: time {t!r} is not a finite time >= 0")
        if t - prev < limits.FRAME_SPACING_MIN_S:
            raise ValueError(f"frame {i}: time {t!r} is not at least {limits.FRAME_SPACING_MIN_S:g} s after "
                             f"frame {i - 1} ({prev!r}); frame times must increase")
        prev = t


def replay_mismatches(header: dict, patch: Patch, models: dict[str, str | None]) -> list[str]:
    """What differs between the show a log was recorded with and the one it is replayed into."""
    out = []
    recorded = header.get("patch_hash")
    if recorded and patch.source_hash and recorded != patch.source_hash:
        out.append(f"patch {patch.name!r} is not the patch the log was recorded with")
    then = header.get("models")
    if isinstance(then, dict):
        by_name = {Path(k).name: v for k, v in then.items()}
        for path, digest in models.items():
            name = Path(path).name
            if name not in by_name:
                out.append(f"model {name} was not in the recorded show")
            elif by_name[name] and digest and by_name[name] != digest:
                out.append(f"model {name} has changed since the show was recorded")
    return out


def render(patch: Patch, out: str, frames: int | None = None, fps: float | None = None,
           size: Size | None = None, controls: list[str | Path] = (),  # type: ignore[assignment]
           device: str | None = None, progress: bool = True, keep_snapshots: bool = False,
           on_frame: Callable[[int, np.ndarray, Snapshot], None] | None = None, allow_missing: bool = False,
           strict: bool = False, stop: threading.Event | None = None, audio: str | Path | None = None,
           outputs: list[tuple[str, str]] = ()) -> RenderResult:  # type: ignore[assignment]
    """Render a patch to ``out`` (video file, PNG folder ending in /, or "null").

    Raises RenderError before the first frame when a layer the patch names is off (unless
    ``allow_missing``) or, with ``strict``, when a show log was recorded with another patch or
    model; OSError when the output cannot be written whole. ``stop`` ends the render early
    with a complete, shorter file. ``audio``: a music file analysed in lockstep with the frames
    (its ``audio/...`` features drive the mappings as in a live show) and muxed into the video.
    ``outputs``: extra sinks (NDI, ...) that also get every frame.
    """
    audio_events: list[ControlEvent] = []
    if audio is not None:
        check_muxable(out)
        samples, rate = read_audio(audio)
        audio_events = [ControlEvent(t, AUDIO_SOURCE, address, value) for t, address, value
                        in FeatureEvents(patch.audio.emit_hz)(analyse(samples, rate))]
    files = [load_controls(c) for c in controls]
    recorded = next((f.frame_times for f in files if f.frame_times), [])
    times = frame_times_for(frames, fps, recorded, patch.output.fps)
    sink_fps = fps or (len(times) / (times[-1] - times[0]) if recorded and len(times) > 1 else patch.output.fps)
    use_ndi_ips(patch.output.ndi_ips)
    engine, feed = open_engine(patch, lockstep=True, size=size, device=device)
    engine.recording_allowed = False  # a replayed "record" must not write logs from a render
    RigTempo(engine)  # taps and audio move the tempo as they did live; no MIDI clock out
    extra: SinkSet | None = None
    if any(f.frame_times for f in files):
        engine.autopilot = None  # a show log already holds the autopilot's moves; replaying them is exact
    try:
        missing = engine.missing_layers()
        if missing and not allow_missing:
            raise RenderError("; ".join(missing) + " — fix the patch or pass --allow-missing")
        for f in files:
            for problem in replay_mismatches(f.header, patch, engine.model_hashes()):
                if strict:
                    raise RenderError(f"{f.path}: {problem} (--strict)")
                log.warning("%s: %s; the replay may differ from the recorded show", f.path, problem)
        for f in files:
            for name, value in f.initial.items():
                # A show recorded mid-set starts from the values it had when recording began.
                if name in engine.registry and engine.registry[name].kind != "trigger":
                    engine.store.set(name, value, immediate=True)
            engine.bus.schedule(f.events)  # not one push each: a long show is past the live queue's cap
        sink = open_file_sink(out, sink_fps, engine.size)
        extra = open_sinks(outputs, engine.size, sink_fps) if outputs else None
    except BaseException:
        feed.close()
        engine.close()
        raise
    pending_audio = iter(audio_events)
    next_audio = next(pending_audio, None)
    snapshots: list[dict] = []
    written = 0
    stopped = False
    try:
        for n, t in enumerate(tqdm(times, desc=f"render {patch.name}", unit="frame", disable=not progress)):
            if stop is not None and stop.is_set():
                stopped = True
                break
            # Audio features go onto the bus frame by frame (a long song would overfill it at once).
            while next_audio is not None and next_audio.t <= t:
                engine.push(next_audio)
                next_audio = next(pending_audio, None)
            frame = engine.tick(t)
            image = to_uint8(frame)
            sink.write(image)
            if extra is not None:
                extra.offer(image)
            written += 1
            snap = engine.last_snapshot
            if keep_snapshots and snap is not None:
                snapshots.append(dict(snap))
            if on_frame is not None and snap is not None:
                on_frame(n, image, snap)
    finally:
        try:
            sink.close()
        finally:
            if extra is not None:
                extra.close()
            feed.close()
            engine.close()
    if audio is not None and written:
        mux_audio(out, audio, times[written - 1] + (1.0 / sink_fps))
    if engine.errors.total:
        log.warning("render finished with %d reported problems; last: %s", engine.errors.total, engine.errors.last)
    return RenderResult(written, times[:written], out, snapshots, stopped)


def frame_hash(image: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(image).tobytes()).hexdigest()

