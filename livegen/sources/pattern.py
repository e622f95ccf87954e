"""Procedural moving test pattern, drawn on the device as a function of time only.

Shown whenever no camera frame is available (no webcam, camera unplugged, file unreadable),
and used by headless renders so they stay deterministic.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from livegen.size import Size


def test_pattern(t: float, size: Size, device: torch.device | str = "cpu") -> torch.Tensor:
    """A (1, 3, size.h, size.w) frame in [0, 1]: drifting colour field, rotating bars and an orbiting disc.

    Drawn at a quarter of the size and upscaled: the picture is smooth, and a fallback must not
    cost the frame budget the nets need.
    """
    full_h, full_w = size.hw
    h, w = max(full_h // 4, 8), max(full_w // 4, 8)
    y = torch.linspace(-1.0, 1.0, h, device=device).view(h, 1)
    x = torch.linspace(-w / h, w / h, w, device=device).view(1, w)
    a = 0.35 * t
    u = x * math.cos(a) - y * math.sin(a)
    bars = 0.5 + 0.5 * torch.sin(u * 9.0 + t * 2.0)
    r = torch.sqrt(x * x + y * y)
    cx, cy = 0.55 * math.cos(t * 0.9), 0.45 * math.sin(t * 1.3)
    disc = torch.sigmoid((0.28 - torch.sqrt((x - cx) ** 2 + (y - cy) ** 2)) * 30.0)
    rr = 0.5 + 0.5 * torch.sin(r * 6.0 - t * 1.7)
    g = 0.5 + 0.5 * torch.sin(x * 3.0 + t * 0.6 + 2.0)
    b = 0.5 + 0.5 * torch.sin(y * 4.0 - t * 0.8 + 4.0)
    img = torch.stack([0.6 * rr + 0.4 * bars, 0.7 * g + 0.3 * bars, 0.7 * b + 0.3 * (1 - bars)])
    img = img * (1 - disc) + disc  # a white disc moving over the field, for motion/latency checks
    img = F.interpolate(img.unsqueeze(0), size=(full_h, full_w), mode="bilinear", align_corners=False)
    return img.clamp_(0.0, 1.0)
