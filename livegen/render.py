"""Headless offline rendering (``livegen render``) with the lockstep clock.

Frame n is rendered at t = n / fps, or, when replaying a live show log without ``--fps``, at
exactly the frame times the live show had, so the parameter trajectory matches it frame for
frame. Control files' events go onto the bus up front; the engine applies each at its time.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from livegen.control.record import load_controls
from livegen.engine import open_engine
from livegen.params import Snapshot
from livegen.patch import Patch
from livegen.sinks import to_uint8
from livegen.sinks.files import open_file_sink
from livegen.size import Size

log = logging.getLogger("livegen.render")


@dataclass
class RenderResult:
    frames: int
    frame_times: list[float]
    out: str
    snapshots: list[dict] = field(default_factory=list)


def frame_times_for(frames: int | None, fps: float | None, recorded: list[float],
                    default_fps: float) -> list[float]:
    """The clock of a render: explicit fps wins; else a show log's own frame times; else the patch fps."""
    if fps is None and recorded:
        n = len(recorded) if frames is None else frames
        if n > len(recorded):
            # Past the end of the recording, continue at its average rate.
            step = (recorded[-1] - recorded[0]) / max(len(recorded) - 1, 1) or 1.0 / default_fps
            recorded = recorded + [recorded[-1] + step * (i + 1) for i in range(n - len(recorded))]
        return recorded[:n]
    rate = fps or default_fps
    n = frames if frames is not None else int(round(10 * rate))
    return [i / rate for i in range(n)]


def render(patch: Patch, out: str, frames: int | None = None, fps: float | None = None,
           size: Size | None = None, controls: list[str | Path] = (),  # type: ignore[assignment]
           device: str | None = None, progress: bool = True, keep_snapshots: bool = False,
           on_frame: Callable[[int, np.ndarray, Snapshot], None] | None = None) -> RenderResult:
    """Render a patch to ``out`` (video file, PNG folder ending in /, or "null")."""
    files = [load_controls(c) for c in controls]
    recorded = next((f.frame_times for f in files if f.frame_times), [])
    times = frame_times_for(frames, fps, recorded, patch.output.fps)
    sink_fps = fps or (len(times) / (times[-1] - times[0]) if recorded and len(times) > 1 else patch.output.fps)
    engine, feed = open_engine(patch, lockstep=True, size=size, device=device)
    for f in files:
        for name, value in f.initial.items():
            # A show recorded mid-set starts from the values it had when recording began.
            if name in engine.registry and engine.registry[name].kind != "trigger":
                engine.store.set(name, value, immediate=True)
        for ev in f.events:
            engine.push(ev)
    sink = open_file_sink(out, sink_fps, engine.size)
    snapshots: list[dict] = []
    try:
        for n, t in enumerate(tqdm(times, desc=f"render {patch.name}", unit="frame", disable=not progress)):
            frame = engine.tick(t)
            image = to_uint8(frame)
            sink.write(image)
            snap = engine.last_snapshot
            if keep_snapshots and snap is not None:
                snapshots.append(dict(snap))
            if on_frame is not None and snap is not None:
                on_frame(n, image, snap)
    finally:
        sink.close()
        feed.close()
        engine.close()
    if engine.errors.total:
        log.warning("render finished with %d reported problems; last: %s", engine.errors.total, engine.errors.last)
    return RenderResult(len(times), times, out, snapshots)


def frame_hash(image: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(image).tobytes()).hexdigest()

