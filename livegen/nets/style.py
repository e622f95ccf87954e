"""Style layer of the frame loop: camera frames through a feed-forward style network.

Each frame: read the ``style.*`` parameters from the snapshot, turn them into a weight row over
the model's styles (two-style fader or per-style weights), shrink the frame to the internal
scale, run the net there, bring the result back to full size (bilinear plus the camera
frame's own fine detail, see nets/fastnet.py), then blend with the unstyled frame by
``style.strength``. ``style.stabilize`` smooths the instance-norm statistics over time and
holds still parts of the picture still (motion-gated smoothing of the output): less flicker.
A missing or broken model never stops the show: the layer passes frames through and says why
in its ``status`` line.

INTERFACE (kept stable for engine.py/pipeline.py): ``PARAMS``, ``StyleConfig`` (patch
section ``[style]``) and ``StyleLayer`` with ``status``, ``available`` and
``forward(snap, frame) -> frame``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from livegen.config import ConfigError
from livegen.nets.fastnet import FastStyleNet, detail_upsample, guided_upsample
from livegen.nets.io import ModelError, load_into, load_model
from livegen.nets.transformer_net import TransformerNet
from livegen.params import ParamSpec, Snapshot

log = logging.getLogger(__name__)

UPSAMPLERS = ("detail", "guided", "bilinear")
# Internal scale by default: 640x480 runs the net at 256x192 (~50 ms of one core here, vs ~76 ms
# at 0.5 and ~250 ms at full size); strokes get a little bolder, the detail comes back on top.
DEFAULT_SCALE = 0.4
MAX_WEIGHTS = 4  # style.w1..style.w4; models with more styles use the fader for the rest

# Measured on vtest.avi with the reflection-padded style3 (livegen bench style): flicker 1.65
# unstabilised, 1.11 at 0.6, 0.93 at 0.75, 0.72 at 0.9; TransformerNet 1.25. Above ~0.8 fast
# motion starts to leave trails.
DEFAULT_STABILIZE = 0.75

PARAMS: list[ParamSpec] = [
    ParamSpec("style.mix", default=0.0, smoothing=0.1,
              description="fader from style.a (0) to style.b (1) in fader mode"),
    ParamSpec("style.strength", default=1.0, smoothing=0.1, description="blend with the unstyled frame"),
    ParamSpec("style.scale", default=DEFAULT_SCALE, min=0.125, max=1.0, smoothing=0.0,
              description="internal resolution of the style net, as a fraction of the frame size"),
    ParamSpec("style.stabilize", default=DEFAULT_STABILIZE, min=0.0, max=0.95, smoothing=0.0,
              description="less flicker: smooths the net's normalisation statistics and still parts of the picture"),
    ParamSpec("style.mode", kind="enum", default="fader", choices=("fader", "weights"), min=None, max=None,
              description="fader: style.mix between style.a and style.b; weights: style.w1..w4"),
    ParamSpec("style.a", kind="int", default=1, min=1, max=16, description="style at the fader's 0 end (1-based)"),
    ParamSpec("style.b", kind="int", default=2, min=1, max=16, description="style at the fader's 1 end (1-based)"),
    *[ParamSpec(f"style.w{i}", default=1.0 if i == 1 else 0.0, smoothing=0.1,
                description=f"weight of style {i} in weights mode") for i in range(1, MAX_WEIGHTS + 1)],
]


@dataclass
class StyleConfig:
    """Patch section [style]."""

    model: str = ""
    enabled: bool = True
    # Back to full size from the internal scale: "detail" (bilinear + the camera's fine detail),
    # "guided" (fast guided filter: sharper edges, loses strokes) or "bilinear".
    upsample: str = "detail"
    # Compile the net with torch.compile (faster after a long first compile per frame size).
    compile: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.model, str):
            raise ConfigError("model", "must be a path string")
        if self.upsample not in UPSAMPLERS:
            raise ConfigError("upsample", f"expected one of {', '.join(UPSAMPLERS)}, got {self.upsample!r}")


def build_net(arch: Mapping[str, Any]) -> torch.nn.Module:
    """Instantiate the network an architecture block (from a manifest) describes."""
    kind = arch.get("kind")
    try:
        n_styles = int(arch.get("n_styles", 1))
        if kind == "fast-cin":
            widths = tuple(int(v) for v in arch.get("widths", (24, 48, 64)))
            if len(widths) != 3:
                raise ValueError("widths must have 3 entries")
            # Manifests written before the pad field existed describe zero-padded nets.
            return FastStyleNet(n_styles, widths, int(arch.get("n_res", 5)), str(arch.get("pad", "zeros")),
                                str(arch.get("up", "nearest")), bool(arch.get("blur", False)))
        if kind == "transformer":
            return TransformerNet(n_styles)
    except (TypeError, ValueError) as e:
        raise ModelError(f"bad architecture block {dict(arch)}: {e}") from None
    raise ModelError(f"unknown style architecture {kind!r} (expected 'fast-cin' or 'transformer')")


def load_style_model(path: str | Path, device: torch.device | str = "cpu") -> tuple[torch.nn.Module, dict]:
    """Load a style net and its manifest; any problem becomes a ModelError naming the file."""
    tensors, manifest = load_model(path, "cpu")
    net = build_net(manifest["architecture"])
    load_into(net, tensors, path)
    return net.to(device).eval(), manifest


def internal_size(h: int, w: int, scale: float, multiple: int) -> tuple[int, int]:
    """Size the net runs at: the frame scaled by ``scale``, rounded to the net's multiple."""
    ih = max(multiple, int(round(h * scale / multiple)) * multiple)
    iw = max(multiple, int(round(w * scale / multiple)) * multiple)
    return ih, iw


def _padded(net: torch.nn.Module, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Run the net on a frame extended by ``net.border`` replicated pixels and crop them off
    again: zero-padded convs paint a seam along the frame edge, which then falls outside."""
    p = getattr(net, "border", 0)
    if p:
        x = F.pad(x, (p, p, p, p), mode="replicate")
    out = net(x, w)
    return out[:, :, p:-p, p:-p] if p else out


def run_net(net: torch.nn.Module, frame: torch.Tensor, w: torch.Tensor, scale: float = DEFAULT_SCALE,
            upsample: str = "detail") -> torch.Tensor:
    """Stylise a (N,3,H,W) [0,1] frame of any size with weights ``w`` (N or 1, n_styles)."""
    n, _, h, wd = frame.shape
    ih, iw = internal_size(h, wd, scale, net.multiple)
    if (ih, iw) == (h, wd):
        return _padded(net, frame, w.expand(n, -1))
    small = F.interpolate(frame, size=(ih, iw), mode="bilinear", align_corners=False, antialias=True)
    out = _padded(net, small, w.expand(n, -1))
    if upsample == "detail":
        return detail_upsample(small, out, frame)
    if upsample == "guided":
        return guided_upsample(small, out, frame)
    return F.interpolate(out, size=(h, wd), mode="bilinear", align_corners=False).clamp_(0.0, 1.0)


class OutputSmoother:
    """Motion-gated temporal smoothing of the styled picture (``style.stabilize``).

    Where the camera picture did not change, the styled picture should not either; but a style
    net amplifies sensor noise and small shifts into visible shimmer. Each pixel moves from the
    previous output toward the new one by ``alpha``: 1 where the camera changed clearly (so
    motion never leaves ghosts), down to ``1 - amount`` where it stayed still.
    """

    CHANGE = 0.08  # mean |delta| over RGB in [0,1] counted as a clear change

    def __init__(self) -> None:
        self.prev_in: torch.Tensor | None = None
        self.prev_out: torch.Tensor | None = None

    def reset(self) -> None:
        self.prev_in = self.prev_out = None

    def __call__(self, frame: torch.Tensor, out: torch.Tensor, amount: float) -> torch.Tensor:
        if amount > 0.0 and self.prev_out is not None and self.prev_out.shape == out.shape:
            change = (frame - self.prev_in).abs().mean(dim=1, keepdim=True)
            alpha = (change / self.CHANGE).clamp_(min=1.0 - amount, max=1.0)
            out = torch.lerp(self.prev_out, out, alpha)
        self.prev_in, self.prev_out = frame, out
        return out


def weights_from_snapshot(snap: Mapping[str, Any], n_styles: int) -> list[float]:
    """The per-style weight list the parameters ask for (not yet normalised)."""
    out = [0.0] * n_styles
    if snap.get("style.mode", "fader") == "weights":
        for i in range(min(n_styles, MAX_WEIGHTS)):
            out[i] = max(0.0, float(snap.get(f"style.w{i + 1}", 1.0 if i == 0 else 0.0)))
        if sum(out) <= 0.0:
            out[0] = 1.0
        return out
    a = min(max(int(snap.get("style.a", 1)), 1), n_styles) - 1
    b = min(max(int(snap.get("style.b", 2)), 1), n_styles) - 1
    mix = min(max(float(snap.get("style.mix", 0.0)), 0.0), 1.0)
    out[a] += 1.0 - mix
    out[b] += mix
    return out


class StyleLayer(torch.nn.Module):
    """The camera path's style stage; see the module docstring."""

    def __init__(self, cfg: StyleConfig, device: torch.device, base: Path | None = None) -> None:
        super().__init__()
        from livegen import paths

        self.cfg = cfg
        self.device = torch.device(device)
        self.available = False
        self.net: torch.nn.Module | None = None
        self.styles: list[str] = []
        self._w_cache: tuple[tuple[float, ...], torch.Tensor] | None = None
        self._last: tuple[torch.Tensor, tuple, torch.Tensor] | None = None
        self.smoother = OutputSmoother()
        if not cfg.enabled:
            self.status = "style: off"
            return
        if not cfg.model:
            self.status = "style: no model configured"
            return
        model = cfg.model if cfg.model.endswith(".safetensors") else cfg.model + ".safetensors"
        path = paths.resolve(model, base)
        try:
            net, manifest = load_style_model(path, self.device)
        except ModelError as e:
            log.error("style model unusable, passing frames through: %s", e)
            self.status = f"style: model unusable ({path.name}), passing through"
            return
        self.net = net
        self.styles = [s.get("key", f"style{i + 1}") for i, s in enumerate(manifest.get("styles", []))]
        n = getattr(net, "n_styles", 1)
        self.styles += [f"style{i + 1}" for i in range(len(self.styles), n)]
        if cfg.compile:
            self._runner = torch.compile(net, dynamic=False)
        else:
            self._runner = net
        self.available = True
        self.status = f"style: {path.stem} [{', '.join(self.styles)}]"

    def _weights(self, snap: Mapping[str, Any]) -> torch.Tensor:
        ws = tuple(weights_from_snapshot(snap, len(self.styles)))
        if self._w_cache is None or self._w_cache[0] != ws:
            total = sum(ws)
            self._w_cache = (ws, torch.tensor([[v / total for v in ws]], device=self.device))
        return self._w_cache[1]

    @torch.inference_mode()
    def forward(self, snap: Snapshot, frame: torch.Tensor) -> torch.Tensor:
        if not self.available or self.net is None:
            return frame
        strength = min(max(float(snap.get("style.strength", 1.0)), 0.0), 1.0)
        if strength <= 0.0:
            return frame
        stabilize = min(max(float(snap.get("style.stabilize", 0.0)), 0.0), 0.95)
        self.net.set_stabilize(stabilize)
        scale = float(snap.get("style.scale", DEFAULT_SCALE))
        w = self._weights(snap)
        # The display may repaint faster than the camera delivers: the same frame tensor with the
        # same settings gives the same picture, so it is not styled twice.
        # Holding the frame itself (not its address) makes the identity test safe; the version
        # counter catches in-place edits. Inference tensors (the engine's frames) have none, and
        # the pipeline never writes into a camera tensor it has handed out.
        version = None if frame.is_inference() else frame._version
        key = (version, self._w_cache[0] if self._w_cache else None, scale, strength, stabilize)
        if self._last is not None and self._last[0] is frame and self._last[1] == key:
            return self._last[2]
        x = frame.clamp(0.0, 1.0)
        out = self.smoother(x, run_net(self._runner, x, w, scale, self.cfg.upsample), stabilize)
        if strength < 1.0:
            out = torch.lerp(x, out, strength)
        self._last = (frame, key, out)
        return out
