"""A small learned ×2/×4 upsampler: the generator's 128 px picture, sharp at 640×480 and beyond.

Design (ESPCN-style, Shi et al. 2016, cut down to fit a ~5 ms budget on 2 CPU threads): every
convolution runs at the LOW resolution, and the last one predicts ``scale²`` sub-pixel values per
colour that ``pixel_shuffle`` rearranges into the high-resolution grid. The net predicts only the
detail a bilinear upsample lacks (a residual), so an untrained or failing net degrades to plain
bilinear rather than to noise. The last layer is 1×1: at ×4 it has 48 output channels, and a 3×3
there would cost more than the rest of the net together.

``Upsampler.to_frame(img, (H, W), fit)`` is what a live stage calls: the generator's picture is
fitted to (H/scale, W/scale) with the existing cheap bicubic, then the net does the ×scale step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from livegen.nets.io import ModelError, load_into, load_model, save_model

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

    @torch.no_grad()
    def to_frame(self, img: torch.Tensor, size: tuple[int, int], fit: str = "cover") -> torch.Tensor:
        """(N, 3, h, w) generator output -> (N, 3, H, W) frame.

        The picture is first fitted (cover/contain/stretch, bicubic) to the frame size divided by
        the scale, which is cheap at that low resolution, and the net then does the ×scale step:
        every convolution runs at 1/scale² of the output pixels. Frame sides that are not
        multiples of the scale are reached by cropping at most scale-1 pixels.
        """
        from livegen.stages.resize import fit_to_frame  # the live path's resampler (moves with the stages refactor)

        H, W = size
        s = self.scale
        low = fit_to_frame(img, (-(-H // s), -(-W // s)), fit, "bicubic")
        out = self.upscale(low)
        return out[..., :H, :W]

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
    """Weights + manifest; any unusable file is a ModelError naming the file and the reason."""
    tensors, manifest = load_model(path)
    try:
        net = build_upsampler(manifest["architecture"])
    except ValueError as e:
        raise ModelError(f"{path}: {e}") from None
    load_into(net, {k: v.float() for k, v in tensors.items()}, path)
    return net.to(device).eval(), manifest
