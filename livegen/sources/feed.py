"""Choose the camera feed for a show: live threaded capture, lockstep file frames, or the pattern.

The engine only sees a function ``feed(t) -> (image or None, sequence)``; None means "draw the
test pattern". Renders never use a live device unless asked for one, so they stay repeatable.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from livegen.size import Size
from livegen.sources.camera import CameraSource, FileFrames, parse_source

log = logging.getLogger("livegen.camera")


class CameraFeed:
    """Callable feed plus a HUD status line and a close()."""

    def __init__(self, source: str | int, size: Size, mirror: bool = False, loop: bool = True,
                 lockstep: bool = False, request: Size | None = None, fps: float | None = None) -> None:
        self.source = source
        self._live: CameraSource | None = None
        self._file: FileFrames | None = None
        self._fixed_status = ""
        target = parse_source(source)
        if lockstep and (target is None or source == "auto"):
            self._fixed_status = "camera: test pattern (render)"
        elif lockstep and isinstance(target, Path):
            try:
                self._file = FileFrames(target, size, mirror, loop)
                self._fixed_status = f"camera: {target} (frame-locked)"
            except OSError as e:
                log.warning("%s — using the test pattern", e)
                self._fixed_status = f"camera: {e} — test pattern"
        elif target is None:
            self._fixed_status = "camera: test pattern"
        else:
            self._live = CameraSource(source, size, mirror, loop, request=request, fps=fps).start()
        self._seq = 0

    def __call__(self, t: float) -> tuple[np.ndarray | None, int]:
        if self._live is not None:
            return self._live.latest()
        if self._file is not None:
            img = self._file.frame_at(t)
            self._seq += 1
            return img, self._seq
        return None, 0

    def status(self) -> str:
        if self._live is not None:
            return self._live.status
        return self._fixed_status

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
        if self._file is not None:
            self._file.close()

