"""File sinks for headless renders: PNG sequences and video files (OpenCV), and a null sink.

OpenCV's writer is used because it is already a dependency for cameras and reads back what it
writes; on these machines mp4v (.mp4), MJPG (.avi) and XVID (.mkv) work, avc1 does not.

OpenCV's writer reports no write errors (a full disk gives an unplayable file and no error), so
the video sink checks for itself: it stops with an OSError while there is still room to finish
the file (``RESERVE_BYTES`` plus room for the container index), and on close it reads the
container back and fails unless every frame written is there. A render therefore either ends
with a complete file or says exactly how far the file got.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import cv2
import numpy as np

from livegen.size import Size

FOURCC = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG", ".mkv": "XVID"}
RESERVE_BYTES = 256 << 10  # room kept free to write the container's index on close
CHECK_EVERY = 8  # frames between free-space checks


class IncompleteOutput(OSError):
    """An output file that does not hold every frame that was written to it."""


class NullSink:
    """Discards frames; counts them (benchmarks, dry runs)."""

    def __init__(self) -> None:
        self.count = 0

    def write(self, image: np.ndarray) -> None:
        self.count += 1

    def close(self) -> None:
        pass


class PngSequenceSink:
    """Writes DIR/frame_000000.png, DIR/frame_000001.png, ... (lossless, for re-encoding later)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def write(self, image: np.ndarray) -> None:
        path = self.folder / f"frame_{self.count:06d}.png"
        ok, data = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        if not ok:
            raise OSError(f"{path}: could not encode PNG")
        try:
            # Written whole or not at all: a PNG cut off by a full disk is removed, not left behind.
            with path.open("wb") as f:
                f.write(data.tobytes())
        except OSError as e:
            path.unlink(missing_ok=True)
            raise OSError(e.errno, f"{path}: {e.strerror}; {self.count} frames before it are complete") from None
        self.count += 1

    def close(self) -> None:
        pass


class VideoFileSink:
    """Encodes frames into a video file; the codec follows the extension (see FOURCC)."""

    def __init__(self, path: str | Path, fps: float, size: Size) -> None:
        self.path = Path(path)
        ext = self.path.suffix.lower()
        if ext not in FOURCC:
            raise ValueError(f"{self.path}: unsupported video extension {ext!r}; use one of {', '.join(FOURCC)}"
                             " or a folder name ending in / for PNG frames")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.size = Size(*size)
        self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*FOURCC[ext]), float(fps), self.size)
        if not self._writer.isOpened():
            raise OSError(f"{self.path}: OpenCV could not open a {FOURCC[ext]} video writer")
        self.count = 0
        self._closed = False

    def _check_room(self) -> None:
        try:
            free = shutil.disk_usage(self.path.parent).free
            written = os.path.getsize(self.path)
        except OSError:
            return  # the close-time check still catches a broken file
        per_frame = written / max(self.count, 1)
        if free < RESERVE_BYTES + 4 * per_frame + 64 * self.count:
            raise OSError(errno.ENOSPC, f"{self.path}: disk almost full ({free >> 10} KiB left); stopped after "
                                        f"{self.count} frames so the file can still be finished")

    def write(self, image: np.ndarray) -> None:
        if (image.shape[1], image.shape[0]) != self.size:
            raise ValueError(f"frame {image.shape[1]}x{image.shape[0]} does not match video size {self.size}")
        if self.count % CHECK_EVERY == 0:
            self._check_room()
        self._writer.write(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        self.count += 1

    def close(self) -> None:
        """Finish the file and check it holds every frame; IncompleteOutput says how far it got."""
        if self._closed:
            return
        self._closed = True
        self._writer.release()
        readable = readable_frames(self.path)
        if readable != self.count:
            got = "cannot be read back" if readable < 0 else f"holds {readable} of them"
            raise IncompleteOutput(errno.EIO, f"{self.path}: {self.count} frames were written but the file {got}")


def readable_frames(path: str | Path) -> int:
    """Frames a video container says it holds (its index, no decoding); -1 if it does not open."""
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            return -1
        return int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        cap.release()


def open_file_sink(out: str, fps: float, size: Size) -> NullSink | PngSequenceSink | VideoFileSink:
    """``DIR/`` (or an existing folder) -> PNG sequence; ``x.mp4``/``.avi``/``.mkv`` -> video; ``null``."""
    if out == "null":
        return NullSink()
    p = Path(out)
    if out.endswith(("/", "\\")) or p.is_dir() or p.suffix == "":
        return PngSequenceSink(p)
    return VideoFileSink(p, fps, size)
