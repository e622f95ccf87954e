"""Latent navigation and the generator layer of the frame loop.

Once per frame ``GeneratorLayer.forward(snap, camera, size)`` advances the latent walk from the
snapshot (never the wall clock), turns the walk position into a latent vector (truncation,
principal directions ``generator.dir1..8``, the camera's own latent for VAEs), draws one image
with the generator and scales it to the frame on the device.

The walk lives on the unit sphere of the latent space and is scaled by sqrt(latent_dim), the
typical radius of N(0, I) latents. Every discontinuous change of where the walk is heading (a
jump, a new seed, a mode change, a keyframe recall) becomes a slerp glide from wherever the
walk is at that moment, so the picture never cuts unless ``generator.glide`` is 0.

INTERFACE (kept stable for engine.py/pipeline.py): ``PARAMS``, ``GeneratorConfig`` (patch
section ``[generator]``) and ``GeneratorLayer`` with ``status``, ``available`` and
``forward(snap, camera, size) -> tensor | None``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from livegen.config import ConfigError
from livegen.params import ParamSpec
from livegen.paths import resolve

log = logging.getLogger("livegen.generator")

MODES = ("loop", "drift", "hold")
N_DIRS = 8
N_KEYS = 8
DIR_RANGE = 2.0  # knob at ±1 moves ±2 standard deviations of the N(0, I) prior: still typical latents

PARAMS: list[ParamSpec] = [
    ParamSpec("generator.speed", default=1.0, min=0.0, max=4.0, smoothing=0.2,
              description="walk speed; 1 = one loop (or drift leg) per loop length"),
    ParamSpec("generator.mode", kind="enum", default="loop", choices=MODES, min=None, max=None,
              description="loop: smooth closed noise loop; drift: glides between random points; hold: stay"),
    ParamSpec("generator.loop_length", default=32.0, min=1.0, max=256.0,
              description="length of one loop / drift leg, in loop units"),
    ParamSpec("generator.loop_unit", kind="enum", default="beats", choices=("beats", "seconds"), min=None, max=None,
              description="loop length counted in beats (follows the tempo) or seconds"),
    ParamSpec("generator.jump", kind="trigger", default=False, min=None, max=None,
              description="jump to a new random place (glides over generator.glide)"),
    ParamSpec("generator.glide", default=1.0, min=0.0, max=16.0,
              description="seconds a jump / recall / seed change takes to arrive (0 = cut)"),
    ParamSpec("generator.quantise", kind="enum", default="off", choices=("off", "beat", "bar"), min=None, max=None,
              description="stretch jump glides so they land on the next beat or bar"),
    ParamSpec("generator.truncation", default=1.0, min=0.0, max=2.0, smoothing=0.1,
              description="latent radius: <1 safer, more average images; >1 wilder"),
    ParamSpec("generator.seed", kind="int", default=0, min=0, max=9999,
              description="which random walk; changing it glides to a new path"),
    *[ParamSpec(f"generator.dir{i}", default=0.0, min=-1.0, max=1.0, smoothing=0.1,
                description=f"principal direction {i} of the model's image space (±1 = ±2 σ)")
      for i in range(1, N_DIRS + 1)],
    ParamSpec("generator.camera_mix", default=0.0, min=0.0, max=1.0, smoothing=0.2,
              description="VAE only: blend the camera frame's latent into the walk"),
    ParamSpec("generator.slot", kind="int", default=1, min=1, max=N_KEYS,
              description="keyframe slot that generator.store writes"),
    ParamSpec("generator.store", kind="trigger", default=False, min=None, max=None,
              description="store the current walk position in keyframe generator.slot"),
    ParamSpec("generator.keyframe", kind="int", default=0, min=0, max=N_KEYS,
              description="0 = walk; 1..8 = glide to that stored keyframe and hold (scenes recall this)"),
]


@dataclass
class GeneratorConfig:
    """Patch section [generator]."""

    model: str = ""  # path to a .safetensors generator; empty = no generator layer
    enabled: bool = True
    through_style: bool = False  # route the generated image through the style stage (pipeline's choice)
    fit: str = "cover"  # cover: fill the frame, crop the overflow; contain: letterbox; stretch
    filter: str = "bicubic"  # upscaling filter: bicubic or bilinear (or nearest for a pixel look)

    def __post_init__(self) -> None:
        if self.fit not in ("cover", "contain", "stretch"):
            raise ConfigError("fit", f"expected cover, contain or stretch, got {self.fit!r}")
        if self.filter not in ("bicubic", "bilinear", "nearest"):
            raise ConfigError("filter", f"expected bicubic, bilinear or nearest, got {self.filter!r}")


# ---------------------------------------------------------------------------------------------
# Sphere geometry


def normalize(v: torch.Tensor) -> torch.Tensor:
    return v / v.norm().clamp_min(1e-12)


def slerp(a: torch.Tensor, b: torch.Tensor, u: float) -> torch.Tensor:
    """Great-circle interpolation between unit vectors a and b (u in [0, 1])."""
    dot = float((a * b).sum().clamp(-1.0, 1.0))
    omega = math.acos(dot)
    if omega < 1e-6:
        return normalize(a + (b - a) * u)
    s = math.sin(omega)
    return normalize(a * (math.sin((1 - u) * omega) / s) + b * (math.sin(u * omega) / s))


def smoothstep(u: float) -> float:
    """Ease in and out, so a glide starts and lands with zero velocity."""
    u = min(max(u, 0.0), 1.0)
    return u * u * (3.0 - 2.0 * u)


def angle(a: torch.Tensor, b: torch.Tensor) -> float:
    return math.acos(float((normalize(a) * normalize(b)).sum().clamp(-1.0, 1.0)))


# ---------------------------------------------------------------------------------------------
# The walk


class NoiseLoop:
    """A closed curve on the sphere: normalise(c + w Σ_k (a_k cos kφ + b_k sin kφ) / k), φ ∈ [0, 2π).

    Periodic in φ, so it closes on itself. The constant term keeps one loop around one "theme"
    (with w = 0.5 the loop stays within ~35° of it and travels ~4.5 rad per cycle at 64 dimensions: a slow morph
    rather than a slideshow); a jump picks a new theme.
    """

    HARMONICS = 3
    WANDER = 0.5

    def __init__(self, dim: int, gen: torch.Generator) -> None:
        self.c = torch.randn(dim, generator=gen, dtype=torch.float64)
        self.ab = torch.randn(self.HARMONICS, 2, dim, generator=gen, dtype=torch.float64)

    def at(self, phase: float) -> torch.Tensor:
        v = self.c.clone()
        for k in range(1, self.HARMONICS + 1):
            phi = 2 * math.pi * k * phase
            v += (self.ab[k - 1, 0] * math.cos(phi) + self.ab[k - 1, 1] * math.sin(phi)) * (self.WANDER / k)
        return normalize(v)


@dataclass
class _Glide:
    start: torch.Tensor
    begin: float  # in seconds, or in beats when on_beats
    end: float
    on_beats: bool


class LatentWalk:
    """Deterministic walk on the unit sphere driven only by snapshots (values, t, beat, triggers).

    ``step(snap)`` returns the unit-norm walk position for that frame. The same seed and the same
    sequence of snapshots give the same positions, bit for bit.
    """

    def __init__(self, dim: int, seed: int = 0) -> None:
        self.dim = dim
        self.base_seed = seed
        self.param_seed: int | None = None
        self.gen = torch.Generator()
        self.phase = 0.0  # position along the loop / drift leg, in loops
        self.loop: NoiseLoop | None = None
        self.leg: tuple[torch.Tensor, torch.Tensor] | None = None
        self.held: torch.Tensor | None = None
        self.keys: dict[int, torch.Tensor] = {}
        self.glide: _Glide | None = None
        self.pos: torch.Tensor | None = None
        self.mode: str | None = None
        self.keyframe = 0
        self.last_t: float | None = None
        self.last_beat: float | None = None
        self.bps = 0.0  # beats per second seen between the last two frames (for quantised glides)
        self.landings: list[float] = []  # beat positions where quantised glides were scheduled to land

    # -- randomness -------------------------------------------------------------------------------
    def _reseed(self, param_seed: int) -> None:
        self.param_seed = param_seed
        self.gen.manual_seed((self.base_seed * 1_000_003 + param_seed) % (2**63))
        self.loop = NoiseLoop(self.dim, self.gen)
        self.leg = (self._random_point(), self._random_point())
        self.held = self._random_point()
        # Default keyframes come from the seed, so recalling one before storing still does something.
        for k in range(1, N_KEYS + 1):
            self.keys.setdefault(k, self._random_point())

    def _random_point(self) -> torch.Tensor:
        return normalize(torch.randn(self.dim, generator=self.gen, dtype=torch.float64))

    def _new_path(self, mode: str) -> None:
        """A jump: a fresh random loop / drift leg / hold point for the current mode."""
        if mode == "loop":
            self.loop = NoiseLoop(self.dim, self.gen)
        elif mode == "drift":
            self.leg = (self._random_point(), self._random_point())
            self.phase = 0.0
        else:
            self.held = self._random_point()

    # -- where the walk is heading ------------------------------------------------------------------
    def _target(self, mode: str) -> torch.Tensor:
        if self.keyframe:
            return self.keys[self.keyframe]
        if mode == "loop":
            assert self.loop is not None
            return self.loop.at(self.phase % 1.0)
        if mode == "drift":
            assert self.leg is not None
            return slerp(self.leg[0], self.leg[1], smoothstep(self.phase))
        assert self.held is not None
        return self.held

    def _start_glide(self, snap: Any, seconds: float, quantise: str) -> None:
        if self.pos is None:
            return
        grid = {"beat": 1.0, "bar": 4.0}.get(quantise)
        if grid is not None and self.bps > 0:
            # Land on the first grid line at or after "now + glide" (glide converted to beats).
            b0 = float(snap.beat)
            land = math.ceil((b0 + seconds * self.bps) / grid - 1e-9) * grid
            self.landings.append(land)
            self.glide = _Glide(self.pos.clone(), b0, land, on_beats=True) if land > b0 else None
            return
        self.glide = _Glide(self.pos.clone(), snap.t, snap.t + seconds, on_beats=False) if seconds > 0 else None

    def step(self, snap: Any) -> torch.Tensor:
        t, beat = float(snap.t), float(snap.beat)
        dt = 0.0 if self.last_t is None else max(t - self.last_t, 0.0)
        # A tempo re-sync can move the beat backwards: the walk never runs backwards for it.
        dbeat = 0.0 if self.last_beat is None else max(beat - self.last_beat, 0.0)
        if dt > 0:
            self.bps = dbeat / dt
        self.last_t, self.last_beat = t, beat

        mode = snap["generator.mode"]
        glide_s = float(snap["generator.glide"])
        quantise = snap["generator.quantise"]
        seed = int(snap["generator.seed"])
        first = self.param_seed is None
        if first or seed != self.param_seed:
            self._reseed(seed)
            if not first:
                self._start_glide(snap, glide_s, quantise)

        # Advance along the path before any new glide so a glide always heads for "now".
        units = dbeat if snap["generator.loop_unit"] == "beats" else dt
        advance = float(snap["generator.speed"]) * units / float(snap["generator.loop_length"])
        if mode != self.mode and self.mode is not None:
            self._start_glide(snap, glide_s, quantise)
            if mode == "drift" and self.pos is not None:
                self.leg = (self.pos.clone(), self._random_point())
                self.phase = 0.0
        self.mode = mode
        if mode == "loop":
            self.phase = (self.phase + advance) % 1.0
        elif mode == "drift":
            self.phase += advance
            while self.phase >= 1.0:
                assert self.leg is not None
                self.leg = (self.leg[1], self._random_point())
                self.phase -= 1.0

        if snap.fired("generator.jump"):
            self._new_path(mode)
            self._start_glide(snap, glide_s, quantise)
        key = int(snap["generator.keyframe"])
        if key != self.keyframe:
            self.keyframe = key
            self._start_glide(snap, glide_s, quantise)

        target = self._target(mode)
        g = self.glide
        if g is not None:
            now = beat if g.on_beats else t
            u = (now - g.begin) / (g.end - g.begin)
            if u >= 1.0:
                self.glide = None
            else:
                target = slerp(g.start, target, smoothstep(u))
        self.pos = target
        if snap.fired("generator.store"):
            self.keys[int(snap["generator.slot"])] = self.pos.clone()
        return self.pos


# ---------------------------------------------------------------------------------------------
# Principal directions (GANSpace-style)

_DIRECTIONS: dict[tuple[str, float, int], torch.Tensor] = {}


@torch.no_grad()
def principal_directions(net: Any, k: int = N_DIRS, samples: int = 256, seed: int = 0) -> torch.Tensor:
    """Latent directions along which the generated images vary most: (k, latent_dim), unit rows.

    Sample latents from the prior, describe each image by a small (16×16) thumbnail, take the top
    principal components of the thumbnails and regress each component's scores onto the
    latents (least squares). The regression maps an image-space principal axis back to the
    latent direction that produces it, as GANSpace does with intermediate activations.
    """
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(samples, net.latent_dim, generator=gen)
    device = next(net.parameters()).device
    feats = []
    for chunk in z.split(64):
        img = net.generate(chunk.to(device)).float().cpu()
        feats.append(F.adaptive_avg_pool2d(img, 16).flatten(1))
    f = torch.cat(feats).double()
    f = f - f.mean(0)
    _, _, v = torch.linalg.svd(f, full_matrices=False)
    scores = f @ v[:k].T  # (samples, k)
    zd = z.double()
    coef = torch.linalg.lstsq(zd, scores).solution.T  # (k, latent_dim)
    return (coef / coef.norm(dim=1, keepdim=True).clamp_min(1e-12)).float()


def cached_directions(path: Path, net: Any) -> torch.Tensor:
    """Directions are computed once per model file (path + mtime) and kept for reloads."""
    key = (str(path), path.stat().st_mtime if path.exists() else 0.0, net.latent_dim)
    if key not in _DIRECTIONS:
        _DIRECTIONS[key] = principal_directions(net)
    return _DIRECTIONS[key]


# ---------------------------------------------------------------------------------------------
# Output scaling


def _placement(h: int, w: int, H: int, W: int, fit: str) -> tuple[int, int]:
    """Scaled image size (th, tw) for the fit mode."""
    if fit == "stretch":
        return H, W
    s = max(H / h, W / w) if fit == "cover" else min(H / h, W / w)
    if fit == "cover":
        return max(H, round(h * s)), max(W, round(w * s))
    return min(H, round(h * s)), min(W, round(w * s))


@lru_cache(maxsize=32)
def _axis_matrix(n_in: int, n_out: int, mode: str) -> torch.Tensor:
    """(n_out, n_in) matrix that resamples one axis exactly as F.interpolate(mode) does.

    Column i is the interpolation of the unit impulse e_i; interpolation is linear and separable,
    so out = My @ img @ Mxᵀ reproduces F.interpolate with two small matrix products, which on
    the CPU is ~20-50× faster than PyTorch's bicubic kernel for a 64 px → 640×480 upscale.
    """
    eye = torch.eye(n_in, dtype=torch.float64).reshape(n_in, 1, n_in, 1)
    out = F.interpolate(eye, size=(n_out, 1), mode=mode, align_corners=False)
    return out.reshape(n_in, n_out).T.contiguous()


def fit_to_frame(img: torch.Tensor, size: tuple[int, int], fit: str = "cover", mode: str = "bicubic") -> torch.Tensor:
    """(N, 3, h, w) -> (N, 3, H, W) on the same device; values clamped to [0, 1]."""
    H, W = size
    h, w = img.shape[-2:]
    if (h, w) == (H, W):
        return img
    th, tw = _placement(h, w, H, W, fit)
    if mode == "nearest" or th < h or tw < w:
        # Downscaling (rare: a big model in a small window) takes the antialiased library path.
        kw: dict[str, Any] = {} if mode == "nearest" else {"align_corners": False, "antialias": True}
        out = F.interpolate(img, size=(th, tw), mode=mode, **kw)
    else:
        my = _axis_matrix(h, th, mode)
        mx = _axis_matrix(w, tw, mode)
        if fit == "cover":
            # Only compute the rows/columns that survive the crop.
            y, x = (th - H) // 2, (tw - W) // 2
            my, mx = my[y:y + H], mx[x:x + W]
        my = my.to(device=img.device, dtype=img.dtype)
        mx = mx.to(device=img.device, dtype=img.dtype)
        out = my @ (img @ mx.T)
    out = out.clamp(0.0, 1.0)
    if fit == "cover" and out.shape[-2:] != (H, W):
        y, x = (out.shape[-2] - H) // 2, (out.shape[-1] - W) // 2
        out = out[..., y:y + H, x:x + W]
    if out.shape[-2:] == (H, W):
        return out
    canvas = torch.zeros(img.shape[0], img.shape[1], H, W, dtype=img.dtype, device=img.device)
    y, x = (H - th) // 2, (W - tw) // 2
    canvas[..., y:y + th, x:x + tw] = out
    return canvas


# ---------------------------------------------------------------------------------------------
# The layer


class GeneratorLayer(torch.nn.Module):
    """Latent walk + generator, drawing one image per frame at the output size."""

    def __init__(self, cfg: GeneratorConfig, device: torch.device, seed: int = 0, base: Path | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        self.device = torch.device(device)
        self.available = False
        self.net: Any = None
        self.manifest: dict[str, Any] = {}
        self.walk: LatentWalk | None = None
        self.directions: torch.Tensor | None = None
        self.last_z: torch.Tensor | None = None
        if not cfg.enabled:
            self.status = "generator: off in patch"
            return
        if not cfg.model:
            self.status = "generator: no model configured"
            return
        path = resolve(cfg.model, base)
        self.path = path
        # Imported here so the engine can import latent.py for PARAMS without the nets.
        from livegen.nets.generator import load_generator
        from livegen.nets.io import ModelError

        try:
            net, manifest = load_generator(path, self.device)
        except ModelError as e:
            log.error("generator layer off: %s", e)
            self.status = f"generator: {cfg.model} unusable — layer off ({_short(e)})"
            return
        self.net = net
        self.manifest = manifest
        for p in net.parameters():
            p.requires_grad_(False)
        self.walk = LatentWalk(net.latent_dim, seed)
        self.directions = cached_directions(path, net).to(self.device)
        self.available = True
        name = manifest.get("name") or path.stem
        kind = "VAE" if net.can_encode else "GAN"
        self.status = f"generator: {name} ({kind}, {net.size} px, z={net.latent_dim})"

    def keyframes(self) -> dict[int, list[float]]:
        """Stored keyframes (unit latents), e.g. to save with a show."""
        if self.walk is None:
            return {}
        return {k: v.tolist() for k, v in self.walk.keys.items()}

    def set_keyframes(self, keys: Mapping[int, list[float]]) -> None:
        if self.walk is None:
            return
        for k, v in keys.items():
            t = torch.tensor(v, dtype=torch.float64)
            if t.shape == (self.walk.dim,) and torch.isfinite(t).all() and t.norm() > 0:
                self.walk.keys[int(k)] = normalize(t)

    def latent(self, snap: Any, camera: torch.Tensor | None) -> torch.Tensor:
        """The (1, latent_dim) latent for this frame."""
        assert self.walk is not None and self.directions is not None
        pos = self.walk.step(snap)
        dim = self.net.latent_dim
        z = (pos * (math.sqrt(dim) * float(snap["generator.truncation"]))).float().to(self.device)
        knobs = torch.tensor([float(snap[f"generator.dir{i}"]) for i in range(1, N_DIRS + 1)],
                             device=self.device)[: self.directions.shape[0]]
        z = z + DIR_RANGE * (knobs @ self.directions)
        mix = float(snap["generator.camera_mix"])
        if mix > 0 and camera is not None and self.net.can_encode:
            z = torch.lerp(z, self.net.encode(camera.float())[0], mix)
        return z.unsqueeze(0)

    def forward(self, snap: Any, camera: torch.Tensor | None, size: tuple[int, int]) -> torch.Tensor | None:
        if not self.available:
            return None
        with torch.no_grad():
            z = self.latent(snap, camera)
            self.last_z = z
            img = self.net.generate(z)
            return fit_to_frame(img, size, self.cfg.fit, self.cfg.filter)


def _short(e: Exception, limit: int = 90) -> str:
    text = str(e).split(": ", 1)[-1]
    return text if len(text) <= limit else text[: limit - 1] + "…"
