"""NDI in: ``camera.source = "ndi:NAME"`` takes the picture from an NDI source on the network.

Behaves like :class:`livegen.sources.camera.CameraSource` (``start``, ``latest``, ``status``,
``stop``): a thread keeps only the newest frame, and while the source is missing or silent the
show gets None (the test pattern) and the thread keeps looking for it. cyndilib's FrameSync
hands over the newest frame without waiting, so the thread never holds the interpreter while
NDI waits on the network.

``NAME`` matches a full NDI name (``HOST (STREAM)``) or just its stream part (``STREAM``).
"""

from __future__ import annotations

import logging
import threading
import time

import cv2
import numpy as np

from livegen.size import Size

log = logging.getLogger("livegen.camera")

PREFIX = "ndi:"
POLL_S = 1 / 120  # how often the newest frame is fetched; twice a 60 fps source's rate
SILENT_S = 2.0  # no new frame for this long: the source counts as lost


def ndi_name(source: str | int) -> str | None:
    """The NDI name in ``ndi:NAME``, or None for any other camera source."""
    if isinstance(source, str) and source.strip().lower().startswith(PREFIX):
        return source.strip()[len(PREFIX):].strip()
    return None


def matches(wanted: str, full: str) -> bool:
    """``wanted`` is the whole NDI name or its stream part (the text in the parentheses)."""
    stream = full[full.find("(") + 1: full.rfind(")")] if "(" in full and full.endswith(")") else full
    return wanted in (full, stream)


class NdiSource:
    """Newest frame of one NDI source, reconnecting in the background."""

    def __init__(self, name: str, size: Size | None = None, mirror: bool = False) -> None:
        self.name = name
        self.size = size
        self.mirror = mirror
        self._lock = threading.Lock()
        self._frame: np.ndarray | None = None
        self._seq = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.status = f"camera: ndi {name} — looking for it, test pattern"
        self.reconnects = 0
        self.received = 0

    def start(self) -> NdiSource:
        try:
            # Imported here, on the caller's thread: cyndilib's modules import each other, and a
            # first import from two threads at once (this source's and an NDI sink's) fails.
            import cyndilib.finder  # noqa: F401
            import cyndilib.receiver  # noqa: F401
            import cyndilib.video_frame  # noqa: F401
        except ImportError as e:
            self.status = f"camera: ndi {self.name} needs cyndilib (pip install 'livegen[ndi]'): {e} — test pattern"
            log.warning("%s", self.status)
            return self
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="livegen-ndi-in", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None

    def latest(self) -> tuple[np.ndarray | None, int]:
        with self._lock:
            return self._frame, self._seq

    def _publish(self, frame: np.ndarray | None) -> None:
        with self._lock:
            self._frame = frame
            self._seq += 1

    def _run(self) -> None:
        from cyndilib.finder import Finder

        finder = Finder()
        finder.open()
        try:
            while not self._stop.is_set():
                finder.wait_for_sources(0.5)
                full = next((n for n in finder.get_source_names() if matches(self.name, n)), None)
                if full is None:
                    continue
                self._receive(finder, full)
                if self._stop.is_set():
                    break
                self.reconnects += 1
                self.status = f"camera: ndi {self.name} lost — test pattern, reconnecting"
                log.warning("ndi source %s stopped sending; looking for it again", full)
                self._publish(None)
        finally:
            finder.close()

    def _receive(self, finder: object, full: str) -> None:
        """Take frames from ``full`` until it falls silent or the source stops."""
        from cyndilib.receiver import Receiver
        from cyndilib.video_frame import VideoFrameSync
        from cyndilib.wrapper.ndi_recv import RecvBandwidth, RecvColorFormat

        receiver = Receiver(color_format=RecvColorFormat.RGBX_RGBA, bandwidth=RecvBandwidth.highest,
                            recv_name="livegen")
        video = VideoFrameSync()
        receiver.frame_sync.set_video_frame(video)
        with finder.notify:  # type: ignore[attr-defined]  # the finder's lock: the source list must hold still
            source = finder.get_source(full)  # type: ignore[attr-defined]
        receiver.set_source(source)
        last_stamp = None
        last_new = time.monotonic()
        try:
            while not self._stop.wait(POLL_S):
                receiver.frame_sync.capture_video()
                stamp = video.get_timestamp_posix() if video.xres else None
                if stamp is not None and stamp != last_stamp:
                    last_stamp = stamp
                    last_new = time.monotonic()
                    self._publish(self._convert(video))
                    self.received += 1
                    self.status = f"camera: ndi {full}"
                elif time.monotonic() - last_new > SILENT_S:
                    return
        finally:
            receiver.disconnect()

    def _convert(self, video: object) -> np.ndarray:
        w, h = video.xres, video.yres  # type: ignore[attr-defined]
        stride = video.get_line_stride()  # type: ignore[attr-defined]
        raw = np.asarray(video.get_array()).reshape(h, stride)[:, : w * 4].reshape(h, w, 4)  # type: ignore[attr-defined]
        rgb = raw[..., :3]
        if self.size is not None and (w, h) != tuple(self.size):
            rgb = cv2.resize(rgb, tuple(self.size), interpolation=cv2.INTER_AREA)
        if self.mirror:
            rgb = rgb[:, ::-1]
        return np.ascontiguousarray(rgb)
