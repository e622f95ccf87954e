"""Compose stage: blends the camera (styled) layer with the generated one, then the master gain.

Runs last in the frame loop, before the sinks. Frames are (N, 3, H, W) floats in [0, 1].
"""

from __future__ import annotations

import torch

from livegen.params import ParamSpec, Snapshot

BLEND_MODES = ("mix", "add", "multiply", "screen", "difference")

PARAMS: list[ParamSpec] = [
    ParamSpec("compose.mode", kind="enum", default="screen", choices=BLEND_MODES,
              description="how the top layer combines with the bottom one"),
    ParamSpec("compose.amount", default=0.5, smoothing=0.08,
              description="strength of the top layer (0 = bottom only)"),
    ParamSpec("compose.top", kind="enum", default="generator", choices=("generator", "camera"),
              description="which layer is on top"),
    ParamSpec("master.brightness", default=1.0, min=0.0, max=2.0, smoothing=0.05,
              description="overall brightness gain at the output"),
    ParamSpec("master.fade", default=1.0, min=0.0, max=1.0, smoothing=0.1,
              description="fade to black (0) or full picture (1)"),
]


def blend(bottom: torch.Tensor, top: torch.Tensor, mode: str, amount: float) -> torch.Tensor:
    """Blend ``top`` over ``bottom``; amount 0 gives bottom, 1 the full effect of the mode."""
    if mode == "screen":
        # lerp(b, 1 - (1 - b)(1 - t), a) = b + a·t·(1 - b): two full-frame passes instead of six
        # for the default patch's mode.
        return torch.addcmul(bottom, top, 1.0 - bottom, value=float(amount))
    if mode == "mix":
        full = top
    elif mode == "add":
        full = (bottom + top).clamp_(0.0, 1.0)
    elif mode == "multiply":
        full = bottom * top
    elif mode == "difference":
        full = (bottom - top).abs()
    else:
        raise ValueError(f"unknown blend mode {mode!r}; choose one of {', '.join(BLEND_MODES)}")
    return torch.lerp(bottom, full, float(amount))


def compose(snap: Snapshot, camera: torch.Tensor | None, generated: torch.Tensor | None) -> torch.Tensor:
    """Combine the two layers by the snapshot's compose parameters; a missing layer is skipped."""
    if camera is None and generated is None:
        raise ValueError("compose: no layer to show")
    if generated is None:
        return camera  # type: ignore[return-value]
    if camera is None:
        return generated
    bottom, top = (camera, generated) if snap["compose.top"] == "generator" else (generated, camera)
    return blend(bottom, top, snap["compose.mode"], snap["compose.amount"])


def master(snap: Snapshot, frame: torch.Tensor) -> torch.Tensor:
    """Output gain and fade to black."""
    gain = float(snap["master.brightness"]) * float(snap["master.fade"])
    if gain == 1.0:
        return frame
    return (frame * gain).clamp_(0.0, 1.0)
