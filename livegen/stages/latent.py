"""Latent walk: where on the generator's latent sphere each frame is, driven only by snapshots.

The generator stage calls ``LatentWalk.step(snap)`` once per frame. The walk lives on the unit
sphere of the latent space (the stage scales it by sqrt(latent_dim), the typical radius of
N(0, I) latents). Every discontinuous change of where the walk is heading (a jump, a new seed, a
mode change, a keyframe recall) becomes a slerp glide from wherever the walk is at that moment,
so the picture never cuts unless ``generator.glide`` is 0. ``principal_directions`` finds the
latent directions the ``generator.dir1..8`` knobs move along.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

N_DIRS = 8
N_KEYS = 8


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
