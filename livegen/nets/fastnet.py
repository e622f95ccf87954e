"""livegen's real-time multi-style network and the edge-aware upsampler that follows it.

In the frame loop the style layer shrinks the camera frame to an internal scale, runs
:class:`FastStyleNet` there, and brings the result back to full size with
:func:`detail_upsample`, which adds the full-size camera frame's fine detail (the part the
internal scale lost) to the upsampled style picture. A fast guided filter
(:func:`guided_upsample`) is the alternative; measured on held-out photos it lost the style's
strokes (VGG style loss 2.8 vs 1.5 for detail transfer and 1.9 for plain bilinear, content
0.88 vs 0.75 vs 0.99; 256x256 output from 128x128 internal), so detail transfer is the default.

Why this shape (measured on the 2-core CPU, 320x240 internal input, see `livegen bench style`):
- The first conv already has stride 2, and the residual blocks run at 1/8 resolution. The
  16/32/64 net with a full-resolution first layer and residual blocks at 1/4 took ~52 ms; this
  one ~20 ms, and its receptive field is larger (bigger brush strokes for the same cost).
- Plain 3x3 convs everywhere: depthwise-separable blocks cut FLOPs but not time here
  (PyTorch's CPU depthwise kernels are memory bound), 34-44 ms for the variants tried.
- Reflection padding inside the convs (``padding_mode="reflect"``). The first model used zero
  padding to save time; the net learned to use the zero border as a position cue and painted
  frame lines and an 8-pixel grid, and the run-time margin that hid the seam cost as much as
  reflection does. Zero padding stays available (``pad="zeros"``) for models trained with it.
- Conditional instance norm (per-style gamma/beta) holds all styles in one net.
- ``up="bilinear"`` (resize + conv, not nearest) and ``blur=True`` (a fixed [1,2,1] low-pass
  before each stride-2 conv, Zhang 2019) for models from issue 9 on: nearest-neighbour
  upsampling repeats each low-resolution value in a 2x2 block (a fine checkerboard after the
  conv), and strided convs without a low-pass alias the stride-8 grid into the picture, so on a
  smooth input the texture locks to that grid (the lattice style3 paints). Older manifests
  without these fields keep nearest / no blur.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from livegen.nets.cin import CondInstanceNorm, StabilizedNorms

PADS = ("reflect", "zeros")
UPS = ("nearest", "bilinear")


def _lowpass(x: torch.Tensor) -> torch.Tensor:
    """[1,2,1]x[1,2,1]/16 per channel, reflect-padded: removes what a stride-2 conv would alias.
    Two 2x2 box means make exactly that binomial kernel, and avg_pool is several times faster on
    the CPU than the same kernel as a depthwise convolution."""
    x = F.pad(x, (1, 1, 1, 1), mode="reflect")
    return F.avg_pool2d(F.avg_pool2d(x, 2, stride=1), 2, stride=1)


def _conv(cin: int, cout: int, k: int = 3, stride: int = 1, pad: str = "reflect") -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, stride, k // 2, padding_mode=pad)


class _Res(nn.Module):
    def __init__(self, c: int, n_styles: int, pad: str) -> None:
        super().__init__()
        self.conv1 = _conv(c, c, pad=pad)
        self.norm1 = CondInstanceNorm(c, n_styles)
        self.conv2 = _conv(c, c, pad=pad)
        self.norm2 = CondInstanceNorm(c, n_styles)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.norm1(self.conv1(x), w))
        return x + self.norm2(self.conv2(h), w)


class FastStyleNet(StabilizedNorms, nn.Module):
    """Encoder (3 stride-2 convs) - residual blocks at 1/8 - decoder (nearest x2 + conv) x3.

    ``forward(x, w)``: x (N,3,h,w) in [0,1] with h, w multiples of 8; w (N, n_styles) style
    weights. Returns (N,3,h,w) in [0,1].
    """

    multiple = 8

    def __init__(self, n_styles: int, widths: tuple[int, int, int] = (24, 48, 64), n_res: int = 5,
                 pad: str = "reflect", up: str = "nearest", blur: bool = False) -> None:
        super().__init__()
        if pad not in PADS:
            raise ValueError(f"pad must be one of {PADS}, got {pad!r}")
        if up not in UPS:
            raise ValueError(f"up must be one of {UPS}, got {up!r}")
        self.up = up
        self.blur = bool(blur)
        a, b, c = widths
        self.n_styles = n_styles
        self.widths = tuple(widths)
        self.n_res = n_res
        self.pad = pad
        # Run-time margin (pixels, a multiple of 8) that hides the seam zero-padded convs paint
        # along the frame edge; reflection padding paints none.
        self.border = 8 if pad == "zeros" else 0
        self.enc1, self.en1 = _conv(3, a, 3, 2, pad), CondInstanceNorm(a, n_styles)
        self.enc2, self.en2 = _conv(a, b, 3, 2, pad), CondInstanceNorm(b, n_styles)
        self.enc3, self.en3 = _conv(b, c, 3, 2, pad), CondInstanceNorm(c, n_styles)
        self.res = nn.ModuleList(_Res(c, n_styles, pad) for _ in range(n_res))
        self.dec1, self.dn1 = _conv(c, b, pad=pad), CondInstanceNorm(b, n_styles)
        self.dec2, self.dn2 = _conv(b, a, pad=pad), CondInstanceNorm(a, n_styles)
        # The last conv also sees the input itself: the only full-resolution path in the net.
        self.out = _conv(a + 3, 3, pad=pad)

    def architecture(self) -> dict:
        return {"kind": "fast-cin", "n_styles": self.n_styles, "widths": list(self.widths), "n_res": self.n_res,
                "pad": self.pad, "up": self.up, "blur": self.blur}

    def _down(self, x: torch.Tensor) -> torch.Tensor:
        return _lowpass(x) if self.blur else x

    def _up(self, x: torch.Tensor) -> torch.Tensor:
        if self.up == "bilinear":
            return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
        return F.interpolate(x, scale_factor=2.0, mode="nearest")

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        e1 = F.relu(self.en1(self.enc1(self._down(x - 0.5)), w))
        e2 = F.relu(self.en2(self.enc2(self._down(e1)), w))
        h = F.relu(self.en3(self.enc3(self._down(e2)), w))
        for block in self.res:
            h = block(h, w)
        # Additive skips from the encoder: the 1/8 bottleneck alone cannot carry the picture's
        # detail, and without them training spends its budget re-learning the content.
        h = F.relu(self.dn1(self.dec1(self._up(h)) + e2, w))
        h = F.relu(self.dn2(self.dec2(self._up(h)) + e1, w))
        h = self._up(h)
        return torch.sigmoid(self.out(torch.cat([h, x - 0.5], dim=1)))


def _box(x: torch.Tensor, r: int) -> torch.Tensor:
    """Mean over a (2r+1)^2 window, as two 1-D passes (2(2r+1) instead of (2r+1)^2 reads per pixel);
    windows are cut at the border and normalised by their true size."""
    k = 2 * r + 1
    x = F.avg_pool2d(x, (1, k), stride=1, padding=(0, r), count_include_pad=False)
    return F.avg_pool2d(x, (k, 1), stride=1, padding=(r, 0), count_include_pad=False)


def detail_upsample(lo_in: torch.Tensor, lo_out: torch.Tensor, hi_in: torch.Tensor,
                    amount: float = 1.0) -> torch.Tensor:
    """Bilinear upsampling of the style picture plus the camera's own detail above the internal
    resolution: ``up(lo_out) + amount * (lum(hi_in) - up(lum(lo_in)))``. Keeps every stroke the
    net drew and puts the sharp edges of the full-size frame back on top (~6 ms at 640x480)."""
    size = hi_in.shape[-2:]
    up = F.interpolate(lo_out, size=size, mode="bilinear", align_corners=False)
    g_lo = F.interpolate(lo_in.mean(dim=1, keepdim=True), size=size, mode="bilinear", align_corners=False)
    detail = hi_in.mean(dim=1, keepdim=True) - g_lo
    return up.add_(detail, alpha=amount).clamp_(0.0, 1.0)


def guided_upsample(lo_in: torch.Tensor, lo_out: torch.Tensor, hi_in: torch.Tensor,
                    radius: int = 1, eps: float = 2e-3, sub: int = 2) -> torch.Tensor:
    """Fast guided filter upsampling (He & Sun 2015).

    Fits ``lo_out ~ A * guide + b`` in small windows at low resolution (guide = luminance of
    ``lo_in``), upsamples A and b bilinearly and applies them to the full-size guide: the output
    keeps the style's colours and strokes but the sharp edges of the full-size camera frame.
    A and b are smooth by construction, so they are fitted at a further ``sub``-times lower
    resolution (the fit was ~23 ms of a 640x480 frame at full internal size, ~6 ms like this).
    """
    g = lo_in.mean(dim=1, keepdim=True)
    p = lo_out
    if sub > 1:
        g = F.avg_pool2d(g, sub, ceil_mode=True)
        p = F.avg_pool2d(p, sub, ceil_mode=True)
    m = _box(torch.cat([g, p, g * p, g * g], dim=1), radius)
    mean_g, mean_p, mean_gp, mean_gg = m[:, :1], m[:, 1:4], m[:, 4:7], m[:, 7:8]
    a = (mean_gp - mean_g * mean_p) / (mean_gg - mean_g * mean_g + eps)
    b = mean_p - a * mean_g
    ab = _box(torch.cat([a, b], dim=1), radius)
    ab = F.interpolate(ab, size=hi_in.shape[-2:], mode="bilinear", align_corners=False)
    g_hi = hi_in.mean(dim=1, keepdim=True)
    return torch.addcmul(ab[:, 3:], ab[:, :3], g_hi).clamp_(0.0, 1.0)
