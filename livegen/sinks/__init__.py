"""Where finished frames go: a pygame window, image/video files, or nowhere (benchmarks)."""

from __future__ import annotations

import numpy as np
import torch


def to_uint8(frame: torch.Tensor) -> np.ndarray:
    """(1, 3, H, W) float [0, 1] on any device -> contiguous H x W x 3 uint8 RGB on the host.

    The only device-to-host copy of a displayed frame; rounding is fixed so renders are
    bit-identical.
    """
    img = frame[0].clamp(0.0, 1.0).mul(255.0).add_(0.5).to(torch.uint8).permute(1, 2, 0).contiguous()
    return img.cpu().numpy()
