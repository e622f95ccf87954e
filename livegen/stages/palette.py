"""Palette lock stage: recolours the composed frame toward a palette given in the patch.

Runs after compose and before master in the frame loop. Per frame it measures the frame's colour
distribution on a sparse grid of pixels, transports it onto the palette's distribution in the
Oklab perceptual colour space (the optimal-transport map between the two Gaussians that fit
them), and applies that map to every pixel as one 3x4 colour matrix fitted to it in RGB. The
fit is what keeps the stage within ~2 ms per 640x480 frame on two CPU threads: the per-pixel
work is one small matrix product and a clamp, while the perceptual maths runs on ~1,200 samples.

``palette.amount`` (0..1) blends the map with the identity. The palette comes from ``[palette]``
in the patch: hex colours, an image (its six dominant colours), or ``style = true`` (the
palette of the style image the style stage currently leans on). The same module holds the
colour maths the assist tools use (Oklab conversions, dominant colours by k-means).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from livegen import paths
from livegen.config import ConfigError
from livegen.nets.io import ModelError, load_manifest
from livegen.params import ParamSpec, Snapshot
from livegen.stages.style import weights_from_snapshot

log = logging.getLogger(__name__)

PARAMS: list[ParamSpec] = [
    ParamSpec("palette.amount", default=0.0, min=0.0, max=1.0, smoothing=0.1,
              description="recolour the output toward the patch's [palette] (0 = off)"),
]

N_COLOURS = 6
SAMPLE_GRID = (30, 40)  # rows x columns of pixels the transport is measured on, whatever the frame size
HEX = re.compile(r"^#?([0-9a-fA-F]{6})$")
MAX_COLOURS = 64  # a hand-written palette longer than this is a mistake, not a palette

# Oklab (Björn Ottosson, 2020): linear sRGB -> LMS -> cube root -> Lab, and back.
_M1 = np.array([[0.4122214708, 0.5363325363, 0.0514459929],
                [0.2119034982, 0.6806995451, 0.1073969566],
                [0.0883024619, 0.2817188376, 0.6299787005]])
_M2 = np.array([[0.2104542553, 0.7936177850, -0.0040720468],
                [1.9779984951, -2.4285922050, 0.4505937099],
                [0.0259040371, 0.7827717662, -0.8086757660]])
_M1_INV = np.linalg.inv(_M1)
_M2_INV = np.linalg.inv(_M2)


def srgb_to_linear(c: np.ndarray) -> np.ndarray:
    c = np.asarray(c, dtype=np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((np.clip(c, 0.04045, None) + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(c: np.ndarray) -> np.ndarray:
    c = np.asarray(c, dtype=np.float64)
    return np.where(c <= 0.0031308, 12.92 * c, 1.055 * np.clip(c, 0.0031308, None) ** (1 / 2.4) - 0.055)


def rgb_to_oklab(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) sRGB in [0, 1] -> (..., 3) Oklab (L in [0, 1], a and b about ±0.3)."""
    lms = srgb_to_linear(rgb) @ _M1.T
    return np.cbrt(lms) @ _M2.T


def oklab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """(..., 3) Oklab -> (..., 3) sRGB, not clipped (out-of-gamut colours leave [0, 1])."""
    lms = (np.asarray(lab, dtype=np.float64) @ _M2_INV.T) ** 3
    return linear_to_srgb(lms @ _M1_INV.T)


def parse_hex(text: str) -> np.ndarray:
    """'#ff8800' -> array([1.0, 0.533, 0.0]); ValueError naming the text otherwise."""
    m = HEX.match(text.strip())
    if m is None:
        raise ValueError(f"{text!r} is not a hex colour like #ff8800")
    h = m.group(1)
    return np.array([int(h[i:i + 2], 16) / 255.0 for i in (0, 2, 4)])


def to_hex(rgb: Sequence[float]) -> str:
    return "#" + "".join(f"{int(round(min(max(float(c), 0.0), 1.0) * 255)):02x}" for c in rgb)


@dataclass(frozen=True)
class Palette:
    """Colours (k, 3) sRGB in [0, 1] with weights summing to 1, heaviest first."""

    colours: np.ndarray
    weights: np.ndarray

    @property
    def hex(self) -> list[str]:
        return [to_hex(c) for c in self.colours]

    def oklab(self) -> np.ndarray:
        return rgb_to_oklab(self.colours)


def dominant_colours(rgb: np.ndarray, k: int = N_COLOURS, seed: int = 0, max_pixels: int = 16384,
                     iterations: int = 24) -> Palette:
    """The ``k`` dominant colours of an H x W x 3 uint8 RGB image: k-means in Oklab.

    Deterministic for a seed: a fixed subsample of pixels, k-means++ seeding, Lloyd iterations.
    Clusters are weighted by the share of pixels they hold; empty ones are dropped.
    """
    px = rgb.reshape(-1, 3).astype(np.float64) / 255.0
    rng = np.random.default_rng(seed)
    if len(px) > max_pixels:
        px = px[rng.choice(len(px), max_pixels, replace=False)]
    lab = rgb_to_oklab(px)
    k = min(k, len(lab))
    centres = [lab[rng.integers(len(lab))]]
    for _ in range(1, k):
        d2 = np.min(((lab[:, None, :] - np.array(centres)[None]) ** 2).sum(-1), axis=1)
        total = d2.sum()
        centres.append(lab[rng.choice(len(lab), p=d2 / total)] if total > 0 else lab[rng.integers(len(lab))])
    c = np.array(centres)
    for _ in range(iterations):
        label = np.argmin(((lab[:, None, :] - c[None]) ** 2).sum(-1), axis=1)
        moved = np.array([lab[label == j].mean(0) if np.any(label == j) else c[j] for j in range(k)])
        if np.allclose(moved, c, atol=1e-6):
            break
        c = moved
    label = np.argmin(((lab[:, None, :] - c[None]) ** 2).sum(-1), axis=1)
    counts = np.bincount(label, minlength=k).astype(np.float64)
    keep = counts > 0
    order = np.argsort(-counts[keep], kind="stable")
    colours = np.clip(oklab_to_rgb(c[keep][order]), 0.0, 1.0)
    return Palette(colours, counts[keep][order] / counts.sum())


def read_rgb(path: Path, max_side: int = 512) -> np.ndarray:
    """An image file as H x W x 3 uint8 RGB, shrunk to ``max_side``; ValueError if unreadable."""
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f"{path}: not a readable image")
    h, w = img.shape[:2]
    if max(h, w) > max_side:
        s = max_side / max(h, w)
        img = cv2.resize(img, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


# ---------------------------------------------------------------------------------------------
# Transport


def _sqrtm(s: np.ndarray) -> np.ndarray:
    vals, vecs = np.linalg.eigh(s)
    return (vecs * np.sqrt(np.clip(vals, 0.0, None))) @ vecs.T


def gaussian_transport(src: np.ndarray, dst_mean: np.ndarray, dst_cov: np.ndarray,
                       weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Monge map x -> A x + t carrying the Gaussian fit of ``src`` (n, 3) onto N(dst_mean, dst_cov)."""
    mean = np.average(src, axis=0, weights=weights)
    cov = np.cov(src.T, aweights=weights) + np.eye(3) * 1e-5
    root = _sqrtm(cov)
    inv_root = np.linalg.inv(root)
    a = inv_root @ _sqrtm(root @ dst_cov @ root) @ inv_root
    return a, dst_mean - a @ mean


def palette_target(palette: Palette, spread: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (Oklab) of a palette; ``spread`` keeps a flat palette from collapsing a frame."""
    lab = palette.oklab()
    mean = palette.weights @ lab
    d = lab - mean
    cov = (d * palette.weights[:, None]).T @ d + np.eye(3) * spread
    return mean, cov


def colour_matrix(samples: np.ndarray, target: tuple[np.ndarray, np.ndarray], amount: float) -> np.ndarray:
    """3x4 RGB matrix [M | b] approximating the Oklab transport of ``samples`` (n, 3 RGB) onto ``target``,
    blended with the identity by ``amount``."""
    lab = rgb_to_oklab(samples)
    a, t = gaussian_transport(lab, *target)
    mapped = oklab_to_rgb(lab @ a.T + t)
    design = np.concatenate([samples, np.ones((len(samples), 1))], axis=1)
    fit, *_ = np.linalg.lstsq(design, mapped, rcond=None)  # (4, 3)
    identity = np.concatenate([np.eye(3), np.zeros((3, 1))], axis=1)
    return (1.0 - amount) * identity + amount * fit.T


# ---------------------------------------------------------------------------------------------
# The stage


@dataclass
class PaletteConfig:
    """Patch section [palette]: the palette ``palette.amount`` pulls the output toward (one source)."""

    colors: list[str] = field(default_factory=list)  # hex colours, e.g. ["#0b1d51", "#ff6f3c"]
    image: str = ""  # an image file: its six dominant colours
    style: bool = False  # the palette of the style image the style stage leans on this frame

    def __post_init__(self) -> None:
        given = sum((bool(self.colors), bool(self.image), self.style))
        if given > 1:
            raise ConfigError("", "give one palette source: colors, image or style = true")
        if len(self.colors) > MAX_COLOURS:
            raise ConfigError("colors", f"at most {MAX_COLOURS} colours, got {len(self.colors)}")
        for i, text in enumerate(self.colors):
            try:
                parse_hex(text)
            except ValueError as e:
                raise ConfigError(f"colors[{i}]", str(e)) from None

    @property
    def given(self) -> bool:
        return bool(self.colors or self.image or self.style)


def style_image(entry: dict, base: Path | None) -> Path | None:
    """The image one style of a manifest was trained on, or None where it is not on this machine:
    its ``file`` or ``origin`` path, else the copy `livegen train style-data` keeps under
    data/style/styles (origins such as a package's resource archive are no plain files)."""
    for key in ("file", "origin"):
        if isinstance(entry.get(key), str) and entry[key]:
            p = paths.resolve(entry[key], base)
            if p.is_file():
                return p
    if isinstance(entry.get("key"), str) and entry["key"]:
        p = paths.ROOT / "data" / "style" / "styles" / f"{entry['key']}.jpg"
        if p.is_file():
            return p
    return None


def style_images(style_model: str, base: Path | None) -> list[Path | None]:
    """The style image of each style in a style model's manifest (None where it is not on this machine)."""
    model = style_model if style_model.endswith(".safetensors") else style_model + ".safetensors"
    manifest = load_manifest(paths.resolve(model, base))
    return [style_image(s, base) for s in manifest.get("styles", [])]


class PaletteStage:
    """Recolours frames toward the patch's palette; see the module docstring."""

    def __init__(self, cfg: PaletteConfig, style_model: str = "", base: Path | None = None) -> None:
        self.cfg = cfg
        self.targets: list[tuple[np.ndarray, np.ndarray] | None] = []
        self.palettes: list[Palette | None] = []
        self.status = "palette: none in patch"
        try:
            self._load(cfg, style_model, base)
        except (ValueError, ModelError, OSError) as e:
            log.error("palette lock off: %s", e)
            self.status = f"palette: off ({str(e)[:100]})"
            self.palettes, self.targets = [], []

    def _load(self, cfg: PaletteConfig, style_model: str, base: Path | None) -> None:
        if cfg.colors:
            cols = np.array([parse_hex(c) for c in cfg.colors])
            self.palettes = [Palette(cols, np.full(len(cols), 1.0 / len(cols)))]
            self.status = f"palette: {len(cols)} colours"
        elif cfg.image:
            path = paths.resolve(cfg.image, base)
            self.palettes = [dominant_colours(read_rgb(path))]
            self.status = f"palette: from {path.name}"
        elif cfg.style:
            if not style_model:
                raise ValueError("style = true, but the patch has no style model")
            images = style_images(style_model, base)
            self.palettes = [dominant_colours(read_rgb(p)) if p is not None else None for p in images]
            missing = sum(p is None for p in images)
            self.status = ("palette: from the style images"
                           + (f" ({missing} of {len(images)} not on this machine)" if missing else ""))
        self.targets = [palette_target(p) if p is not None else None for p in self.palettes]

    def target_for(self, snap: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray] | None:
        if len(self.targets) <= 1:
            return self.targets[0] if self.targets else None
        weights = weights_from_snapshot(snap, len(self.targets))
        return self.targets[int(np.argmax(weights))]

    @torch.inference_mode()
    def __call__(self, snap: Snapshot, frame: torch.Tensor) -> torch.Tensor:
        amount = float(snap["palette.amount"])
        if amount <= 0.0:
            return frame
        target = self.target_for(snap)
        if target is None:
            return frame
        n, _, h, w = frame.shape
        # A strided view is the cheapest sample: no gather kernel, ~1,200 pixels whatever the size.
        sh, sw = max(1, h // SAMPLE_GRID[0]), max(1, w // SAMPLE_GRID[1])
        grid = frame[0, :, sh // 2::sh, sw // 2::sw].double().reshape(3, -1).T.cpu().numpy()
        m = torch.from_numpy(colour_matrix(grid, target, amount)).to(frame.device, frame.dtype)
        out = torch.empty_like(frame)
        for i in range(n):
            torch.addmm(m[:, 3:], m[:, :3], frame[i].reshape(3, -1), out=out[i].view(3, -1))
        return out.clamp_(0.0, 1.0)
