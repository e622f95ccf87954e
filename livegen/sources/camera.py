"""Camera input: a capture thread that keeps only the newest frame, and lockstep file reading.

Live (``run``): :class:`CameraSource` reads a webcam or video file in its own thread and keeps
only the newest frame, so the render loop never waits and no stale queue builds up. A camera
that fails or vanishes is reconnected in the background while the loop shows the test pattern.
Offline (``render``): :class:`FileFrames` returns the file frame for time t deterministically.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from livegen.size import Size

log = logging.getLogger("livegen.camera")

# OpenCV prints a multi-line warning for every failed open; a camera retried in the background
# would flood the console, so its own logging is limited to errors and ours says what happened.
try:
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
except AttributeError:  # older builds without the logging module
    pass

# On Linux, webcams are V4L2 devices; asking only that backend avoids slow probes of others.
DEVICE_BACKEND = cv2.CAP_V4L2 if sys.platform.startswith("linux") else cv2.CAP_ANY


def parse_source(source: str | int) -> int | Path | None:
    """None for the pattern, an int for a device index, a Path for a file."""
    if isinstance(source, int):
        return source
    s = source.strip()
    if s in ("pattern", "none", ""):
        return None
    if s == "auto":
        return 0
    if s.isdigit():
        return int(s)
    return Path(s).expanduser()


def _to_rgb(frame: np.ndarray, size: Size | None, mirror: bool) -> np.ndarray:
    if frame.ndim == 2:
        frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
    else:
        frame = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    if size is not None and (frame.shape[1], frame.shape[0]) != size:
        frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    if mirror:
        frame = frame[:, ::-1]
    return np.ascontiguousarray(frame)


@dataclass(frozen=True)
class CameraMode:
    """What a camera or file delivers: frame size, frame rate (0 when unknown) and pixel format."""

    size: Size
    fps: float
    fourcc: str

    def __str__(self) -> str:
        rate = f" @ {self.fps:.3g} fps" if self.fps else ""
        return f"got {self.size.w}x{self.size.h}{rate}" + (f" {self.fourcc}" if self.fourcc else "")


class CameraSource:
    """Threaded capture from a device index or a video file, newest frame only.

    ``latest()`` never blocks. ``status`` is a one-line note for the HUD saying what is shown.
    """

    def __init__(self, source: str | int = "auto", size: Size | None = None,
                 mirror: bool = False, loop: bool = True, retry_max: float = 2.0,
                 request: Size | None = None, fps: float | None = None) -> None:
        self.spec = source
        self.target = parse_source(source)
        self.size = size
        self.request = request  # capture size asked of a webcam ([camera] size); frames are then resized to size
        self.request_fps = fps
        self.got: CameraMode | None = None  # what the device or file actually delivers
        self.mirror = mirror
        self.loop = loop
        self.retry_max = retry_max
        self._lock = threading.Lock()
        self._frame: np.ndarray | None = None
        self._seq = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.status = "camera: test pattern" if self.target is None else f"camera: opening {self._name()}"
        self.reconnects = 0

    def _name(self) -> str:
        return f"device {self.target}" if isinstance(self.target, int) else str(self.target)

    def start(self) -> CameraSource:
        if self.target is not None and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="livegen-camera", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=3.0)
            self._thread = None

    def latest(self) -> tuple[np.ndarray | None, int]:
        """Newest RGB uint8 frame (or None) and its sequence number (increments per new frame)."""
        with self._lock:
            return self._frame, self._seq

    def _publish(self, frame: np.ndarray) -> None:
        with self._lock:
            self._frame = frame
            self._seq += 1

    def _open(self) -> cv2.VideoCapture | None:
        if isinstance(self.target, Path):
            if not self.target.exists():
                self.status = f"camera: file {self.target} not found — test pattern"
                return None
            cap = cv2.VideoCapture(str(self.target))
        else:
            cap = cv2.VideoCapture(int(self.target), DEVICE_BACKEND)  # type: ignore[arg-type]
        if not cap.isOpened():
            cap.release()
            self.status = f"camera: {self._name()} not available — test pattern, retrying"
            return None
        if not isinstance(self.target, Path):
            self._ask(cap)
        return cap

    def _ask(self, cap: cv2.VideoCapture) -> None:
        # MJPG first: over USB 2 most webcams give their full size and frame rate only compressed
        # (a device without it keeps its own format). Then size and rate; the driver picks the
        # nearest mode it has, which the HUD reports.
        cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG"))
        if self.request is not None:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.request.w)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.request.h)
        if self.request_fps:
            cap.set(cv2.CAP_PROP_FPS, self.request_fps)

    def _describe(self, cap: cv2.VideoCapture, frame: np.ndarray) -> str:
        """The status line once frames arrive: what was asked and what came."""
        code = int(cap.get(cv2.CAP_PROP_FOURCC))
        fourcc = "".join(chr((code >> (8 * i)) & 0xFF) for i in range(4)).strip("\0 ") if code > 0 else ""
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.got = CameraMode(Size(frame.shape[1], frame.shape[0]), fps if 0 < fps <= 1000 else 0.0,
                              fourcc if fourcc.isprintable() else "")
        text = f"camera: {self._name()} — {self.got}"
        if not isinstance(self.target, Path) and self.request is not None:
            asked = f"{self.request.w}x{self.request.h}" + (f" @ {self.request_fps:g} fps" if self.request_fps else "")
            text += f" (asked {asked})"
        return text

    def _run(self) -> None:
        backoff = 0.25
        while not self._stop.is_set():
            cap = self._open()
            if cap is None:
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self.retry_max)
                continue
            is_file = isinstance(self.target, Path)
            fps = cap.get(cv2.CAP_PROP_FPS) if is_file else 0.0
            period = 1.0 / fps if is_file and 1.0 <= fps <= 240.0 else 0.0
            self.status = f"camera: {self._name()}"
            got_any = False
            next_t = time.monotonic()
            while not self._stop.is_set():
                ok, frame = cap.read()
                if not ok or frame is None:
                    if is_file and self.loop and got_any and cap.set(cv2.CAP_PROP_POS_FRAMES, 0):
                        continue
                    break
                if not got_any:
                    self.status = self._describe(cap, frame)
                got_any = True
                backoff = 0.25
                self._publish(_to_rgb(frame, self.size, self.mirror))
                if period:
                    # Files play at their own rate rather than as fast as the disk allows.
                    next_t += period
                    delay = next_t - time.monotonic()
                    if delay > 0:
                        self._stop.wait(delay)
                    else:
                        next_t = time.monotonic()
            cap.release()
            if self._stop.is_set():
                break
            if is_file and not self.loop and got_any:
                self.status = f"camera: {self._name()} ended — test pattern"
                break
            self.reconnects += 1
            self.status = f"camera: {self._name()} lost — test pattern, reconnecting"
            log.warning("camera %s stopped delivering frames; reconnecting", self._name())
            self._stop.wait(backoff)
            backoff = min(backoff * 2, self.retry_max)


class FileFrames:
    """Deterministic frames of a video file by time, for lockstep renders (loops at the end)."""

    def __init__(self, path: str | Path, size: Size | None, mirror: bool = False, loop: bool = True) -> None:
        self.path = Path(path)
        self.size = size
        self.mirror = mirror
        self.loop = loop
        self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            raise OSError(f"{self.path}: cannot open video file")
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self.fps = fps if 1.0 <= fps <= 240.0 else 30.0
        self._index = -1  # index of the frame in _current
        self._current: np.ndarray | None = None
        self._length: int | None = None  # known once the end has been reached

    def frame_at(self, t: float) -> np.ndarray | None:
        """The file frame shown at time t (t * file fps), reading forward; loops at the end."""
        want = int(t * self.fps + 1e-6)
        if self._length and self.loop:
            want %= self._length
        if want < self._index:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            self._index = -1
        while self._index < want:
            ok, frame = self._cap.read()
            if not ok:
                if not self.loop or self._index < 0:
                    return self._current
                # Restart and map the wanted index into the file length.
                self._length = self._index + 1
                self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                self._index = -1
                want %= self._length
                continue
            self._index += 1
            self._current = _to_rgb(frame, self.size, self.mirror)
        return self._current

    def close(self) -> None:
        self._cap.release()
