"""Pipeline: the stages in order for one frame: camera → style, latent walk → generator, compose, palette.

Called once per frame by the engine with that frame's parameter snapshot. Every tensor stays on
one device; the camera image is uploaded once per new camera frame and nothing comes back to
the host here (the sink does that). Per-stage times feed the HUD and ``livegen bench``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from livegen.params import Snapshot
from livegen.size import Size
from livegen.sources.pattern import test_pattern
from livegen.stages.compose import compose, master
from livegen.stages.generator import GeneratorConfig, GeneratorStage
from livegen.stages.palette import PaletteConfig, PaletteStage
from livegen.stages.style import StyleConfig, StyleStage


def upload(image: np.ndarray, device: torch.device, size: Size) -> torch.Tensor:
    """H x W x 3 uint8 RGB -> (1, 3, size.h, size.w) float [0, 1] on ``device``."""
    t = torch.from_numpy(image)
    if device.type == "cuda":
        t = t.pin_memory().to(device, non_blocking=True)
    x = t.permute(2, 0, 1).unsqueeze(0).float().div_(255.0)
    if tuple(x.shape[-2:]) != size.hw:
        down = x.shape[-2] > size.h or x.shape[-1] > size.w
        x = F.interpolate(x, size=size.hw, mode="bilinear", align_corners=False, antialias=down).clamp_(0.0, 1.0)
    return x


class StageTimer:
    """Milliseconds per stage: exponentially averaged for the HUD (``ms``), summed for benchmarks
    (``means()`` since the last ``clear()``)."""

    def __init__(self, sync: bool = False, alpha: float = 0.1) -> None:
        self.ms: dict[str, float] = {}
        self.sync = sync
        self.alpha = alpha
        self._t = 0.0
        self._sum: dict[str, float] = {}
        self._n: dict[str, int] = {}

    def clear(self) -> None:
        self.ms.clear()
        self._sum.clear()
        self._n.clear()

    def means(self) -> dict[str, float]:
        """Mean milliseconds per stage over every lap since the last ``clear()``."""
        return {k: v / self._n[k] for k, v in self._sum.items()}

    def start(self) -> None:
        self._t = time.perf_counter()

    def lap(self, name: str, device: torch.device) -> None:
        if self.sync and device.type == "cuda":
            torch.cuda.synchronize(device)
        now = time.perf_counter()
        ms = (now - self._t) * 1000.0
        self.ms[name] = ms if name not in self.ms else self.ms[name] + self.alpha * (ms - self.ms[name])
        self._sum[name] = self._sum.get(name, 0.0) + ms
        self._n[name] = self._n.get(name, 0) + 1
        self._t = now


@dataclass(frozen=True)
class Quality:
    """One rung of the frame budget's ladder: how much detail the stages spend."""

    style_factor: float  # multiplies style.scale
    generator_filter: str | None  # None: the patch's upscale; a filter name replaces it (skips a learned net)


# Rung 0 is the patch as written. Each step down costs less: the style net's cost goes with the
# square of its internal scale, so the first rungs take the most time back; the generator's
# upscale goes last because it is the cheaper stage: the learned upsampler (~3-5 ms at 640x480)
# gives way to bicubic (~1 ms), then bilinear. With a plain bicubic patch the bicubic rung
# changes nothing and the budget steps through it.
QUALITY_LADDER = (
    Quality(1.0, None),
    Quality(0.85, None),
    Quality(0.7, None),
    Quality(0.55, None),
    Quality(0.55, "bicubic"),
    Quality(0.55, "bilinear"),
)


class Pipeline:
    """camera → style, generator, compose, master; one call per frame."""

    def __init__(self, style: StyleConfig, generator: GeneratorConfig, device: torch.device,
                 size: Size, seed: int = 0, base: Path | None = None, palette: PaletteConfig | None = None) -> None:
        self.device = device
        self.size = size
        self.style = StyleStage(style, device, base=base) if style.enabled else None
        self.generator = GeneratorStage(generator, device, seed=seed, base=base) if generator.enabled else None
        # The style stage keeps per-stream stabilisation state, so the generated stream gets its own.
        self.style_for_generator = (StyleStage(style, device, base=base)
                                    if style.enabled and generator.enabled and generator.through_style else None)
        self.palette = (PaletteStage(palette, style.model if style.enabled else "", base)
                        if palette is not None and palette.given else None)
        self.timer = StageTimer()
        self.quality = QUALITY_LADDER[0]
        self._camera_seq = -1
        self._camera: torch.Tensor | None = None

    def status(self) -> list[str]:
        lines = []
        lines.append(self.style.status if self.style is not None else "style: off in patch")
        lines.append(self.generator.status if self.generator is not None else "generator: off in patch")
        if self.palette is not None:
            lines.append(self.palette.status)
        return lines

    def missing_layers(self) -> list[str]:
        """Status lines of stages the patch gives a model for that are off (model missing or broken)."""
        return [stage.status for stage in (self.style, self.generator)
                if stage is not None and stage.cfg.model and not stage.available]

    def camera_tensor(self, snap: Snapshot, image: np.ndarray | None, seq: int) -> torch.Tensor:
        if image is None:
            return test_pattern(snap.t, self.size, self.device)
        if seq != self._camera_seq or self._camera is None:
            # Upload only when the camera delivered a new frame.
            self._camera = upload(image, self.device, self.size)
            self._camera_seq = seq
        return self._camera

    @torch.inference_mode()
    def __call__(self, snap: Snapshot, image: np.ndarray | None, seq: int = 0) -> torch.Tensor:
        timer = self.timer
        timer.start()
        cam = self.camera_tensor(snap, image, seq)
        timer.lap("camera", self.device)
        q = self.quality
        styled = self.style(snap, cam, q.style_factor) if self.style is not None else cam
        timer.lap("style", self.device)
        generated = (self.generator(snap, cam, self.size, q.generator_filter)
                     if self.generator is not None else None)
        timer.lap("generator", self.device)
        if generated is not None and self.style_for_generator is not None:
            generated = self.style_for_generator(snap, generated, q.style_factor)
            timer.lap("style (generator)", self.device)
        out = compose(snap, styled, generated)
        timer.lap("compose", self.device)
        if self.palette is not None:
            out = self.palette(snap, out)
            timer.lap("palette", self.device)
        return master(snap, out)
