"""Colour transfer for the style layer: keep the camera's colours, take the style's strokes.

A pure tensor function the style stage calls after the net (``style.color``: 0 = the style's own
colours, 1 = the camera's colours with the style's luminance, i.e. luminance-only transfer as in
Gatys et al. 2016, "Preserving color in neural artistic style transfer"). Works on any device and
dtype, on (N,3,H,W) frames in [0,1], costs a few elementwise passes (no allocation beyond the
output), and is exact at both ends: 0 returns the styled frame, 1 keeps the content's chroma.
"""

from __future__ import annotations

import torch

# BT.601 luma weights (the YCbCr the camera and JPEG use).
_KR, _KG, _KB = 0.299, 0.587, 0.114


def luma(x: torch.Tensor) -> torch.Tensor:
    """(N,3,H,W) RGB -> (N,1,H,W) luma."""
    return _KR * x[:, 0:1] + _KG * x[:, 1:2] + _KB * x[:, 2:3]


def keep_colors(styled: torch.Tensor, content: torch.Tensor, amount: float) -> torch.Tensor:
    """Blend ``styled`` towards the content's colours with the styled luminance.

    ``styled`` and ``content`` are (N,3,H,W) in [0,1] of the same size. Keeping Y of YCbCr and
    swapping the chroma is, in RGB, ``Y_styled + (content - Y_content)``. Where that would leave
    [0,1] (a bright stroke on a saturated camera colour), the chroma is scaled down just enough
    to fit, so luminance and hue stay exact and only saturation gives way (a hard clamp would
    shift both). ``amount`` interpolates linearly from the styled frame (0) to that (1).
    """
    if styled.shape != content.shape:
        raise ValueError(f"styled {tuple(styled.shape)} and content {tuple(content.shape)} differ in size")
    a = float(min(1.0, max(0.0, amount)))
    if a == 0.0:
        return styled
    y = luma(styled)
    chroma = content - luma(content)
    eps = 1e-6
    # Largest k <= 1 with y + k * chroma inside [0, 1] for every channel.
    room = torch.where(chroma > 0, (1.0 - y) / chroma.clamp_min(eps), y / (-chroma).clamp_min(eps))
    k = room.amin(dim=1, keepdim=True).clamp_(0.0, 1.0)
    transfer = torch.addcmul(y, k, chroma).clamp_(0.0, 1.0)  # only rounding can step outside
    if a == 1.0:
        return transfer
    return torch.lerp(styled, transfer, a)
