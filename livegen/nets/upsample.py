"""A small learned ×2/×4 upsampler: the generator's 128 px picture, sharp at 640×480 and beyond.

Design (ESPCN-style, Shi et al. 2016, cut down to fit a ~5 ms budget on 2 CPU threads): every
convolution runs at the LOW resolution, and the last one predicts ``scale²`` sub-pixel values per
colour that ``pixel_shuffle`` rearranges into the high-resolution grid. The net predicts only the
detail a bilinear upsample lacks (a residual), so an untrained or failing net degrades to plain
bilinear rather than to noise. The last layer is 1×1: at ×4 it has 48 output channels, and a 3×3
there would cost more than the rest of the net together.

The live path (fitting the generator's picture to the frame, then this net's ×scale step) is
:mod:`livegen.stages.upscale`; this module holds only the net and its file io.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from livegen.nets.io import build_checked, load_into, load_manifest, load_model, save_model

KIND = "upsampler"


class Upsampler(nn.Module):
    """(N, 3, h, w) in [0, 1] -> (N, 3, scale·h, scale·w) in [0, 1]."""

    kind = KIND

    def __init__(self, scale: int = 4, width: int = 16, depth: int = 2) -> None:
        super().__init__()
        if scale not in (2, 3, 4):
            raise ValueError(f"scale must be 2, 3 or 4, got {scale}")
        if not 1 <= depth <= 6 or not 4 <= width <= 64:
            raise ValueError(f"width {width} / depth {depth} outside 4..64 / 1..6")
        self.scale, self.width, self.depth = scale, width, depth
        layers: list[nn.Module] = [nn.Conv2d(3, width, 3, padding=1, padding_mode="replicate"), nn.ReLU(True)]
        for _ in range(depth - 1):
            layers += [nn.Conv2d(width, width, 3, padding=1, padding_mode="replicate"), nn.ReLU(True)]
        self.body = nn.Sequential(*layers)
        self.to_subpixels = nn.Conv2d(width, 3 * scale * scale, 1)
        # Zero start: the untrained net is exactly bilinear upsampling.
        nn.init.zeros_(self.to_subpixels.weight)
        nn.init.zeros_(self.to_subpixels.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (Computing the bilinear base as fixed sub-pixel stencils at the low resolution, to
        # write the frame once, was tried: CPU grouped convolutions made it 2x slower than this.)
        detail = F.pixel_shuffle(self.to_subpixels(self.body(x * 2.0 - 1.0)), self.scale)
        base = F.interpolate(x, scale_factor=self.scale, mode="bilinear", align_corners=False)
        return base.add_(detail)

    @torch.no_grad()
    def upscale(self, x: torch.Tensor) -> torch.Tensor:
        """×scale, clamped to [0, 1]."""
        return self.forward(x).clamp_(0.0, 1.0)

    def architecture(self) -> dict[str, Any]:
        return {"kind": self.kind, "scale": self.scale, "width": self.width, "depth": self.depth}


def build_upsampler(arch: dict[str, Any]) -> Upsampler:
    if arch.get("kind") != KIND:
        raise ValueError(f"not an upsampler architecture: {arch.get('kind')!r}")
    try:
        return Upsampler(int(arch["scale"]), int(arch["width"]), int(arch["depth"]))
    except KeyError as e:
        raise ValueError(f"upsampler architecture lacks {e.args[0]!r}") from None


def save_upsampler(path: str | Path, net: Upsampler, manifest: dict[str, Any]) -> Path:
    return save_model(path, net.state_dict(), dict(manifest, architecture=net.architecture(), task=KIND))


def load_upsampler(path: str | Path, device: str | torch.device = "cpu") -> tuple[Upsampler, dict[str, Any]]:
    """Weights + manifest; any unusable file is a ModelError naming the file and the reason.

    The net is built only after its shapes are checked against the file (``build_checked``), so a
    manifest describing another or an enormous net allocates nothing.
    """
    net = build_checked(build_upsampler, load_manifest(path)["architecture"], path)
    tensors, manifest = load_model(path)
    load_into(net, {k: v.float() for k, v in tensors.items()}, path)
    return net.to(device).eval(), manifest
