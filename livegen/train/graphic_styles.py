"""Procedural graphic style images: the project draws them itself (no package ships good ones).

Training data only. Wallpaper packages hold mostly soft gradients, which make weak style
targets; a VJ wants bold, high-contrast looks too. These four are drawn from a fixed seed, so
every machine makes the same pictures (licence: the project's own, same as the code):

- ``op_art``: black and white stripes bent by a smooth random field (achromatic, high contrast);
- ``stained_glass``: irregular cells in reds and crimsons with thick black leading;
- ``acid_flow``: green brush strokes along a swirling flow field on black;
- ``magenta_dots``: a pop-art halftone of magenta blots on pale pink, jittered and sized by a
  smooth field (no grid).

None is periodic: a regular style image would teach the net the very lattice we want gone.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

SIZE = 768


def _field(rng: np.random.Generator, n: int = 6, size: int = SIZE, fmax: float = 3.0) -> np.ndarray:
    """A smooth random field in about [-1, 1]: a sum of a few random low-frequency waves."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    f = np.zeros((size, size), np.float32)
    for _ in range(n):
        kx, ky = rng.uniform(-fmax, fmax, 2)
        f += np.sin(2 * np.pi * (kx * x + ky * y) + rng.uniform(0, 2 * np.pi)).astype(np.float32)
    return f / np.sqrt(n)


def op_art(seed: int = 11) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) / SIZE
    cx, cy = 0.45, 0.55
    r = np.hypot(x - cx, y - cy)
    phase = 13.0 * r + 5.0 * _field(rng, 5) + 3.0 * _field(rng, 4, fmax=1.5) * x
    stripes = (np.sin(2 * np.pi * phase) > 0.15 * _field(rng, 3)).astype(np.uint8) * 255
    return cv2.cvtColor(stripes, cv2.COLOR_GRAY2BGR)


def stained_glass(seed: int = 12) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = 140
    pts = rng.uniform(0, SIZE, (n, 2)).astype(np.float32)
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    d = np.stack([np.hypot(x - px, y - py) for px, py in pts])  # (n, H, W)
    order = np.argsort(d, axis=0)[:2]
    d1 = np.take_along_axis(d, order[:1], 0)[0]
    d2 = np.take_along_axis(d, order[1:2], 0)[0]
    # Red/crimson palette (BGR) with a few amber accents so the cells read as glass, not a flat tint.
    palette = np.array([[30, 30, 200], [40, 40, 235], [20, 10, 150], [90, 90, 240], [50, 20, 215],
                        [15, 0, 110], [40, 190, 245]], np.float32)
    weights = np.array([4, 4, 3, 2, 3, 2, 1], np.float32)
    colours = palette[rng.choice(len(palette), n, p=weights / weights.sum())]
    img = colours[order[0]]
    shade = 0.75 + 0.25 * _field(rng, 4)[..., None]  # light falling through uneven glass
    img = img * shade
    lead = (d2 - d1) < 5.0 + 2.0 * _field(rng, 3)
    img[lead] = 10
    return np.clip(img, 0, 255).astype(np.uint8)


def acid_flow(seed: int = 13) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = np.zeros((SIZE, SIZE, 3), np.uint8)
    angle = np.pi * (_field(rng, 6, fmax=2.0) + 0.5 * _field(rng, 4, fmax=4.0))
    colours = [(0, 200, 0), (40, 255, 40), (10, 150, 0), (90, 255, 90), (20, 230, 10)]  # BGR greens
    for _ in range(900):
        px, py = rng.uniform(0, SIZE, 2)
        pts = []
        for _ in range(int(rng.integers(15, 60))):
            pts.append((px, py))
            a = angle[int(py) % SIZE, int(px) % SIZE]
            px, py = px + 4.0 * np.cos(a), py + 4.0 * np.sin(a)
            if not (0 <= px < SIZE and 0 <= py < SIZE):
                break
        if len(pts) > 2:
            c = colours[int(rng.integers(len(colours)))]
            cv2.polylines(img, [np.array(pts, np.int32)], False, c, int(rng.integers(2, 7)), cv2.LINE_AA)
    return img


def magenta_dots(seed: int = 14) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = np.zeros((SIZE, SIZE, 3), np.uint8)
    img[:] = (235, 220, 250)  # pale pink paper (BGR)
    size = 0.5 + 0.5 * _field(rng, 5, fmax=2.0)
    for _ in range(2600):
        x, y = (int(v) for v in rng.uniform(0, SIZE, 2))
        r = int(2 + 11 * np.clip(size[y, x], 0.0, 1.0) * rng.uniform(0.6, 1.2))
        c = (200, 0, 210) if rng.random() < 0.8 else (120, 0, 90)  # magenta, some deep purple
        cv2.circle(img, (x, y), r, c, -1, cv2.LINE_AA)
    return img


GRAPHIC: dict[str, Callable[[], np.ndarray]] = {"op_art": op_art, "stained_glass": stained_glass,
                                                "acid_flow": acid_flow, "magenta_dots": magenta_dots}


def write_all(dest: Path) -> dict[str, Path]:
    """Draw every graphic style into ``dest/KEY.png``; returns the paths."""
    dest.mkdir(parents=True, exist_ok=True)
    out = {}
    for key, fn in GRAPHIC.items():
        p = dest / f"{key}.png"
        cv2.imwrite(str(p), fn())
        out[key] = p
    return out
