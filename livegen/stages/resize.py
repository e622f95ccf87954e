"""Resize stage helpers: scale a picture to the output size on the device, exactly and fast.

The generator stage draws at its model's native size (64 or 128 px) and the camera arrives at
whatever the source gives; both are brought to the output ``Size`` here.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import torch
import torch.nn.functional as F

from livegen.size import Size

FITS = ("cover", "contain", "stretch")
FILTERS = ("bicubic", "bilinear", "nearest")


def placement(h: int, w: int, H: int, W: int, fit: str) -> tuple[int, int]:
    """Scaled image size (th, tw) for the fit mode."""
    if fit == "stretch":
        return H, W
    s = max(H / h, W / w) if fit == "cover" else min(H / h, W / w)
    if fit == "cover":
        return max(H, round(h * s)), max(W, round(w * s))
    return min(H, round(h * s)), min(W, round(w * s))


@lru_cache(maxsize=32)
def _axis_matrix(n_in: int, n_out: int, mode: str) -> torch.Tensor:
    """(n_out, n_in) matrix that resamples one axis exactly as F.interpolate(mode) does.

    Column i is the interpolation of the unit impulse e_i; interpolation is linear and separable,
    so out = My @ img @ Mxᵀ reproduces F.interpolate with two small matrix products, which on
    the CPU is ~20-50× faster than PyTorch's bicubic kernel for a 64 px → 640×480 upscale.
    """
    eye = torch.eye(n_in, dtype=torch.float64).reshape(n_in, 1, n_in, 1)
    out = F.interpolate(eye, size=(n_out, 1), mode=mode, align_corners=False)
    return out.reshape(n_in, n_out).T.contiguous()


def fit_to_frame(img: torch.Tensor, size: Size, fit: str = "cover", mode: str = "bicubic") -> torch.Tensor:
    """(N, 3, h, w) -> (N, 3, size.h, size.w) on the same device; values clamped to [0, 1]."""
    H, W = size.hw
    h, w = img.shape[-2:]
    if (h, w) == (H, W):
        return img
    th, tw = placement(h, w, H, W, fit)
    if mode == "nearest" or th < h or tw < w:
        # Downscaling (rare: a big model in a small window) takes the antialiased library path.
        kw: dict[str, Any] = {} if mode == "nearest" else {"align_corners": False, "antialias": True}
        out = F.interpolate(img, size=(th, tw), mode=mode, **kw)
    else:
        my = _axis_matrix(h, th, mode)
        mx = _axis_matrix(w, tw, mode)
        if fit == "cover":
            # Only compute the rows/columns that survive the crop.
            y, x = (th - H) // 2, (tw - W) // 2
            my, mx = my[y:y + H], mx[x:x + W]
        my = my.to(device=img.device, dtype=img.dtype)
        mx = mx.to(device=img.device, dtype=img.dtype)
        out = my @ (img @ mx.T)
    out = out.clamp(0.0, 1.0)
    if fit == "cover" and out.shape[-2:] != (H, W):
        y, x = (out.shape[-2] - H) // 2, (out.shape[-1] - W) // 2
        out = out[..., y:y + H, x:x + W]
    return letterbox(out, size)


def letterbox(img: torch.Tensor, size: Size) -> torch.Tensor:
    """A picture no larger than ``size``, centred on black at ``size`` (as is when it fills it)."""
    H, W = size.hw
    th, tw = img.shape[-2:]
    if (th, tw) == (H, W):
        return img
    canvas = torch.zeros(img.shape[0], img.shape[1], H, W, dtype=img.dtype, device=img.device)
    y, x = (H - th) // 2, (W - tw) // 2
    canvas[..., y:y + th, x:x + tw] = img
    return canvas


