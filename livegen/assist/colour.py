"""Colour figures of a picture and palettes built from it, for ``livegen analyze`` and ``suggest``.

Offline, not in the frame loop. The Oklab conversions and the k-means palette live with the
palette lock stage (stages/palette.py), which needs them per frame; this module adds what only
the tools need: brightness, contrast, colourfulness, warm/cool balance, distances between
palettes, and harmonious palettes (complementary, analogous) turned in Oklch.
"""

from __future__ import annotations

import math

import numpy as np

from livegen.stages.palette import Palette, oklab_to_rgb, rgb_to_oklab

# Oklab hue angles (degrees) counted as warm: magenta-red through orange and yellow.
WARM_HUES = (-40.0, 115.0)
CHROMATIC = 0.03  # Oklab chroma below which a pixel counts as grey


def figures(rgb: np.ndarray, max_pixels: int = 65536) -> dict[str, float]:
    """Brightness, contrast, colourfulness and warm/cool balance of an H x W x 3 uint8 RGB image.

    brightness: mean Oklab lightness (0..1); contrast: its standard deviation; colourfulness:
    Hasler and Süsstrunk's M on a 0..1 scale (about 0.3 is "quite colourful"); warmth: chroma-
    weighted share of warm minus cool hues among the chromatic pixels (-1 all cool .. +1 all warm).
    """
    px = rgb.reshape(-1, 3)
    if len(px) > max_pixels:
        px = px[:: len(px) // max_pixels + 1]
    x = px.astype(np.float64) / 255.0
    lab = rgb_to_oklab(x)
    rg = x[:, 0] - x[:, 1]
    yb = 0.5 * (x[:, 0] + x[:, 1]) - x[:, 2]
    colourful = math.hypot(rg.std(), yb.std()) + 0.3 * math.hypot(rg.mean(), yb.mean())
    chroma = np.hypot(lab[:, 1], lab[:, 2])
    hue = np.degrees(np.arctan2(lab[:, 2], lab[:, 1]))
    hue = np.where(hue > 180 + WARM_HUES[0], hue - 360, hue)
    warm = (hue >= WARM_HUES[0]) & (hue <= WARM_HUES[1])
    w = np.where(chroma > CHROMATIC, chroma, 0.0)
    total = w.sum()
    warmth = float(((w * warm).sum() - (w * ~warm).sum()) / total) if total > 0 else 0.0
    return {"brightness": round(float(lab[:, 0].mean()), 4), "contrast": round(float(lab[:, 0].std()), 4),
            "colourfulness": round(float(colourful), 4), "warmth": round(warmth, 4)}


def palette_distance(a: Palette, b: Palette) -> float:
    """Symmetric weighted nearest-colour distance in Oklab (0 = same colours; ~0.1 clearly different)."""
    la, lb = a.oklab(), b.oklab()
    d = np.linalg.norm(la[:, None, :] - lb[None, :, :], axis=-1)
    return float(0.5 * (a.weights @ d.min(axis=1) + b.weights @ d.min(axis=0)))


def _in_gamut(lab: np.ndarray) -> np.ndarray:
    """Reduce chroma (keeping lightness and hue) until the colour fits sRGB."""
    lightness, c, h = lab[0], math.hypot(lab[1], lab[2]), math.atan2(lab[2], lab[1])
    for _ in range(40):
        rgb = oklab_to_rgb(np.array([lightness, c * math.cos(h), c * math.sin(h)]))
        if np.all(rgb >= -1e-4) and np.all(rgb <= 1 + 1e-4):
            return np.clip(rgb, 0.0, 1.0)
        c *= 0.9
    return np.clip(oklab_to_rgb(np.array([lightness, 0.0, 0.0])), 0.0, 1.0)


def turn_hues(palette: Palette, degrees: list[float]) -> Palette:
    """The palette with colour i's Oklch hue turned by ``degrees[i % len(degrees)]``."""
    out = []
    for i, lab in enumerate(palette.oklab()):
        turn = math.radians(degrees[i % len(degrees)])
        a, b = lab[1], lab[2]
        out.append(_in_gamut(np.array([lab[0], a * math.cos(turn) - b * math.sin(turn),
                                       a * math.sin(turn) + b * math.cos(turn)])))
    return Palette(np.array(out), palette.weights.copy())


def harmonies(palette: Palette) -> dict[str, Palette]:
    """Complementary (every hue turned half a circle) and analogous (neighbours ±30°) palettes."""
    return {"complementary": turn_hues(palette, [180.0]), "analogous": turn_hues(palette, [30.0, -30.0])}
