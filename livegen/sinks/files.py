"""File sinks for headless renders: PNG sequences and video files (OpenCV), and a null sink.

OpenCV's writer is used because it is already a dependency for cameras and reads back what it
writes; on these machines mp4v (.mp4), MJPG (.avi) and XVID (.mkv) work, avc1 does not.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from livegen.size import Size

FOURCC = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG", ".mkv": "XVID"}


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
        if not cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
            raise OSError(f"{path}: could not write PNG")
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
        self.size = size
        self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*FOURCC[ext]), float(fps), size)
        if not self._writer.isOpened():
            raise OSError(f"{self.path}: OpenCV could not open a {FOURCC[ext]} video writer")
        self.count = 0

    def write(self, image: np.ndarray) -> None:
        if (image.shape[1], image.shape[0]) != self.size:
            raise ValueError(f"frame {image.shape[1]}x{image.shape[0]} does not match video size {self.size}")
        self._writer.write(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        self.count += 1

    def close(self) -> None:
        self._writer.release()


def open_file_sink(out: str, fps: float, size: Size) -> NullSink | PngSequenceSink | VideoFileSink:
    """``DIR/`` (or an existing folder) -> PNG sequence; ``x.mp4``/``.avi``/``.mkv`` -> video; ``null``."""
    if out == "null":
        return NullSink()
    p = Path(out)
    if out.endswith(("/", "\\")) or p.is_dir() or p.suffix == "":
        return PngSequenceSink(p)
    return VideoFileSink(p, fps, size)
