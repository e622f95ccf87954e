"""Frame sizes: one type and one order, ``Size(width, height)``, everywhere a size is passed.

Users write sizes as ``640x480`` (width first), OpenCV and pygame take (width, height), so that
is livegen's order too. Tensors keep torch's (N, C, H, W) layout; code that hands a size to torch
(``F.interpolate``) writes ``size.hw`` so the flip happens in exactly one visible place.
"""

from __future__ import annotations

import re
from typing import NamedTuple

MIN_SIDE = 16
MAX_SIDE = 8192

_SIZE = re.compile(r"^\s*(\d+)\s*[xX×]\s*(\d+)\s*$")


class Size(NamedTuple):
    """A frame size in pixels, width first."""

    w: int
    h: int

    @property
    def hw(self) -> tuple[int, int]:
        """(height, width): the order torch's tensor shapes and ``F.interpolate`` use."""
        return self.h, self.w

    def __str__(self) -> str:
        return f"{self.w}x{self.h}"


def parse_size(text: str) -> Size:
    """'640x480' -> Size(w=640, h=480); each side must be within MIN_SIDE..MAX_SIDE."""
    m = _SIZE.match(text)
    if not m:
        raise ValueError(f"expected a size like 640x480, got {text!r}")
    w, h = int(m.group(1)), int(m.group(2))
    if not (MIN_SIDE <= w <= MAX_SIDE and MIN_SIDE <= h <= MAX_SIDE):
        raise ValueError(f"size {w}x{h} out of range ({MIN_SIDE}..{MAX_SIDE} per side)")
    return Size(w, h)
