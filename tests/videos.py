"""Helpers that write real short video files with OpenCV for camera and render tests."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def write_clip(path: Path, frames: int = 12, size: tuple[int, int] = (64, 48), fps: float = 24.0) -> Path:
    """A clip whose frame i is filled with grey level 20*i (so tests can tell frames apart)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    assert writer.isOpened()
    for i in range(frames):
        img = np.full((size[1], size[0], 3), (20 * i) % 256, np.uint8)
        writer.write(img)
    writer.release()
    return path
