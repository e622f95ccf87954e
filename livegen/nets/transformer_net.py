"""Johnson et al.'s TransformerNet (as in pytorch/examples fast_neural_style): the yardstick.

Playable in the camera path like livegen's own net (same ``forward(x, w)`` interface), and
trainable with the same command, so the benchmark compares like with like. Layout: 9x9 conv 32,
two stride-2 convs to 128, five residual blocks, two nearest-upsample + conv, 9x9 conv to 3;
instance norm and reflection padding throughout. Differences from the reference, on purpose:
the norms are conditional (one gamma/beta row per style; with one style this is exactly the
affine instance norm of the original), and the output goes through a sigmoid to [0, 1] because
livegen frames are [0, 1] floats.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from livegen.nets.cin import CondInstanceNorm, StabilizedNorms


class _ConvLayer(nn.Module):
    def __init__(self, cin: int, cout: int, k: int, stride: int = 1) -> None:
        super().__init__()
        self.pad = nn.ReflectionPad2d(k // 2)
        self.conv = nn.Conv2d(cin, cout, k, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.pad(x))


class _Residual(nn.Module):
    def __init__(self, c: int, n_styles: int) -> None:
        super().__init__()
        self.conv1, self.in1 = _ConvLayer(c, c, 3), CondInstanceNorm(c, n_styles)
        self.conv2, self.in2 = _ConvLayer(c, c, 3), CondInstanceNorm(c, n_styles)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.in1(self.conv1(x), w))
        return x + self.in2(self.conv2(h), w)


class TransformerNet(StabilizedNorms, nn.Module):
    """``forward(x, w)``: x (N,3,h,w) in [0,1], h and w multiples of 4; w (N, n_styles)."""

    multiple = 4

    def __init__(self, n_styles: int = 1) -> None:
        super().__init__()
        self.n_styles = n_styles
        self.conv1, self.in1 = _ConvLayer(3, 32, 9), CondInstanceNorm(32, n_styles)
        self.conv2, self.in2 = _ConvLayer(32, 64, 3, 2), CondInstanceNorm(64, n_styles)
        self.conv3, self.in3 = _ConvLayer(64, 128, 3, 2), CondInstanceNorm(128, n_styles)
        self.res = nn.ModuleList(_Residual(128, n_styles) for _ in range(5))
        self.up1, self.in4 = _ConvLayer(128, 64, 3), CondInstanceNorm(64, n_styles)
        self.up2, self.in5 = _ConvLayer(64, 32, 3), CondInstanceNorm(32, n_styles)
        self.out = _ConvLayer(32, 3, 9)

    def architecture(self) -> dict:
        return {"kind": "transformer", "n_styles": self.n_styles}

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        # The reference network expects 0..255 input; centring at 0 keeps the same dynamics in [0, 1].
        h = F.relu(self.in1(self.conv1(x - 0.5), w))
        h = F.relu(self.in2(self.conv2(h), w))
        h = F.relu(self.in3(self.conv3(h), w))
        for block in self.res:
            h = block(h, w)
        h = F.relu(self.in4(self.up1(F.interpolate(h, scale_factor=2.0, mode="nearest")), w))
        h = F.relu(self.in5(self.up2(F.interpolate(h, scale_factor=2.0, mode="nearest")), w))
        return torch.sigmoid(self.out(h))
