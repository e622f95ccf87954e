"""Conditional instance normalisation: the per-style scale/shift that lets one net hold many styles.

Used inside the style nets of the camera path. Each style k owns a (gamma_k, beta_k) per channel;
a frame's style is a weight vector w over the styles and the layer uses w @ gamma, w @ beta, so
a fader between styles costs nothing extra per frame. For live video, the per-frame instance
statistics (mean/variance) can be smoothed over time, which removes most of the frame-to-frame
flicker that instance normalisation causes when the scene changes slightly.
"""

from __future__ import annotations

import torch
from torch import nn


class CondInstanceNorm(nn.Module):
    """Instance norm with per-style affine parameters and optional temporal smoothing of the stats."""

    def __init__(self, channels: int, n_styles: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(n_styles, channels))
        self.beta = nn.Parameter(torch.zeros(n_styles, channels))
        self.eps = eps
        # Temporal smoothing of the statistics (run time only; 0 = off). Set by the owning net.
        self.momentum = 0.0
        self._mean: torch.Tensor | None = None
        self._var: torch.Tensor | None = None

    def reset_state(self) -> None:
        self._mean = None
        self._var = None

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        g = (w @ self.gamma)[:, :, None, None]
        b = (w @ self.beta)[:, :, None, None]
        if self.momentum <= 0.0 or self.training:
            self.reset_state()
            # Fold the affine part into one multiply-add after the fused instance norm kernel.
            return torch.nn.functional.instance_norm(x, eps=self.eps) * g + b
        var, mean = torch.var_mean(x, dim=(2, 3), keepdim=True, correction=0)
        if self._mean is not None and self._mean.shape == mean.shape:
            m = self.momentum
            mean = m * self._mean + (1.0 - m) * mean
            var = m * self._var + (1.0 - m) * var
        self._mean, self._var = mean.detach(), var.detach()
        scale = g * torch.rsqrt(var + self.eps)
        return x * scale + (b - mean * scale)


def style_weights(n_styles: int, index: int | None = None, weights: list[float] | None = None,
                  device: torch.device | str = "cpu") -> torch.Tensor:
    """A (1, n_styles) weight row: a pure style by index, or normalised non-negative weights."""
    if weights is None:
        w = torch.zeros(1, n_styles, device=device)
        w[0, int(index or 0)] = 1.0
        return w
    w = torch.tensor([max(0.0, float(v)) for v in weights][:n_styles], device=device)
    if w.numel() < n_styles:
        w = torch.cat([w, torch.zeros(n_styles - w.numel(), device=device)])
    total = float(w.sum())
    if total <= 0.0:
        w = torch.zeros(n_styles, device=device)
        w[0] = 1.0
        total = 1.0
    return (w / total).unsqueeze(0)


class StabilizedNorms:
    """Mixin for style nets built from CondInstanceNorm layers: one switch for all their smoothing."""

    def set_stabilize(self, momentum: float) -> None:
        """Temporal smoothing of every norm layer's statistics (0 = off, which also forgets them)."""
        for m in self.modules():  # type: ignore[attr-defined]
            if isinstance(m, CondInstanceNorm):
                if momentum <= 0.0:
                    m.reset_state()
                m.momentum = momentum

    def reset_state(self) -> None:
        for m in self.modules():  # type: ignore[attr-defined]
            if isinstance(m, CondInstanceNorm):
                m.reset_state()


class HeldNormState:
    """``style.stabilize`` for a runner that keeps the norms' smoothed statistics outside the net
    (ONNX Runtime, CUDA graphs): the momentum, and the state it forgets when smoothing stops."""

    momentum: float = 0.0
    _state: list | None = None  # each norm's mean and variance, in the runner's own arrays

    def set_stabilize(self, momentum: float) -> None:
        """As the torch net's: temporal smoothing of the norm statistics (0 = off, forgets them)."""
        if momentum <= 0.0:
            self._state = None
        self.momentum = float(momentum)

    def reset_state(self) -> None:
        self._state = None
