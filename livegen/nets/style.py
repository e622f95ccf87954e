"""Style layer of the frame loop: camera frames through a feed-forward style network.

INTERFACE (kept stable for engine.py/pipeline.py): ``PARAMS``, ``StyleConfig`` (patch
section ``[style]``) and ``StyleLayer`` with ``status``, ``available`` and
``forward(snap, frame) -> frame``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from livegen.params import ParamSpec, Snapshot

PARAMS: list[ParamSpec] = [
    ParamSpec("style.mix", default=0.0, smoothing=0.1, description="fader between style 1 and style 2"),
    ParamSpec("style.strength", default=1.0, smoothing=0.1, description="blend with the unstyled frame"),
]


@dataclass
class StyleConfig:
    """Patch section [style]."""

    model: str = ""
    enabled: bool = True


class StyleLayer(torch.nn.Module):
    def __init__(self, cfg: StyleConfig, device: torch.device, base: Path | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        self.available = False
        self.status = "style: no model configured" if not cfg.model else f"style: {cfg.model} not loaded yet"

    def forward(self, snap: Snapshot, frame: torch.Tensor) -> torch.Tensor:
        return frame
