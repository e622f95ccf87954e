"""Latent navigation and the generator layer of the frame loop.

INTERFACE (kept stable for engine.py/pipeline.py): ``PARAMS``, ``GeneratorConfig`` (patch
section ``[generator]``) and ``GeneratorLayer`` with ``status``, ``available`` and
``forward(snap, camera, size) -> tensor | None``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from livegen.params import ParamSpec, Snapshot

log = logging.getLogger("livegen.generator")

PARAMS: list[ParamSpec] = [
    ParamSpec("generator.speed", default=0.2, min=0.0, max=4.0, smoothing=0.2,
              description="how fast the latent walks"),
    ParamSpec("generator.jump", kind="trigger", default=False, min=None, max=None,
              description="jump to a new random point"),
]


@dataclass
class GeneratorConfig:
    """Patch section [generator]."""

    model: str = ""  # path to a .safetensors generator; empty = no generator layer
    enabled: bool = True


class GeneratorLayer(torch.nn.Module):
    """Latent walk + generator, drawing one image per frame at the output size."""

    def __init__(self, cfg: GeneratorConfig, device: torch.device, seed: int = 0, base: Path | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        self.device = device
        self.available = False
        self.status = "generator: no model configured" if not cfg.model else f"generator: {cfg.model} not loaded yet"

    def forward(self, snap: Snapshot, camera: torch.Tensor | None, size: tuple[int, int]) -> torch.Tensor | None:
        return None
