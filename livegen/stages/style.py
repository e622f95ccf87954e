"""Style stage: camera frames through a feed-forward style network.

Each frame: read the ``style.*`` parameters from the snapshot, turn them into a weight row over
the model's styles (two-style fader or per-style weights), shrink the frame to the internal
scale, run the net there, bring the result back to full size (bilinear plus the camera
frame's own fine detail, see nets/fastnet.py), then blend with the unstyled frame by
``style.strength``. ``style.stabilize`` smooths the instance-norm statistics over time and
holds still parts of the picture still (motion-gated smoothing of the output): less flicker.
A missing or broken model never stops the show: the stage passes frames through and says why
in its ``status`` line.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from livegen import paths
from livegen.config import ConfigError
from livegen.nets import ort
from livegen.nets.cudagraph import GraphedStyleNet
from livegen.nets.fastnet import detail_upsample, guided_upsample
from livegen.nets.io import ModelError
from livegen.nets.style import load_style_model
from livegen.params import ParamRegistry, ParamSpec, Snapshot
from livegen.stages.color import keep_colors

log = logging.getLogger(__name__)

UPSAMPLERS = ("detail", "guided", "bilinear")
RUNTIMES = ("auto", "onnxruntime", "torch")
MAX_WEIGHTS = 4  # style.w1..style.w4; models with more styles use the fader for the rest

# The defaults of scale and stabilize trade speed and flicker; `livegen bench style` measures both.
PARAMS: list[ParamSpec] = [
    ParamSpec("style.mix", default=0.0, smoothing=0.1,
              description="fader from style.a (0) to style.b (1) in fader mode"),
    ParamSpec("style.strength", default=1.0, smoothing=0.1, description="blend with the unstyled frame"),
    ParamSpec("style.color", default=0.0, smoothing=0.1,
              description="0 = the style's colours, 1 = keep the camera's colours (luminance-only transfer)"),
    ParamSpec("style.scale", default=0.4, min=0.125, max=1.0, smoothing=0.0,
              description="internal resolution of the style net, as a fraction of the frame size"),
    ParamSpec("style.stabilize", default=0.75, min=0.0, max=0.95, smoothing=0.0,
              description="less flicker: smooths the net's normalisation statistics and still parts of the picture"),
    ParamSpec("style.mode", kind="enum", default="fader", choices=("fader", "weights"), min=None, max=None,
              description="fader: style.mix between style.a and style.b; weights: style.w1..w4"),
    ParamSpec("style.a", kind="int", default=1, min=1, max=16, description="style at the fader's 0 end (1-based)"),
    ParamSpec("style.b", kind="int", default=2, min=1, max=16, description="style at the fader's 1 end (1-based)"),
    *[ParamSpec(f"style.w{i}", default=1.0 if i == 1 else 0.0, smoothing=0.1,
                description=f"weight of style {i} in weights mode") for i in range(1, MAX_WEIGHTS + 1)],
]
SPECS = ParamRegistry(PARAMS)  # for tools (stylize, bench) that run the net outside a show


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
    # Who runs the net: on the CPU "auto" takes ONNX Runtime when it is installed (2-2.5x faster
    # than eager torch on these machines; `livegen bench style` shows both), else torch; on a
    # CUDA GPU "auto" runs an fp16 channels_last copy replayed as CUDA graphs (nets/cudagraph.py).
    runtime: str = "auto"

    def __post_init__(self) -> None:
        if not isinstance(self.model, str):
            raise ConfigError("model", "must be a path string")
        if self.upsample not in UPSAMPLERS:
            raise ConfigError("upsample", f"expected one of {', '.join(UPSAMPLERS)}, got {self.upsample!r}")
        if self.runtime not in RUNTIMES:
            raise ConfigError("runtime", f"expected one of {', '.join(RUNTIMES)}, got {self.runtime!r}")


def internal_size(h: int, w: int, scale: float, multiple: int) -> tuple[int, int]:
    """Size the net runs at: the frame scaled by ``scale``, rounded to the net's multiple.

    At least two multiples per side: at one, the deepest layers are a single pixel wide and their
    reflection padding has nothing to reflect (a tiny window or render would fail every frame).
    """
    ih = max(2 * multiple, int(round(h * scale / multiple)) * multiple)
    iw = max(2 * multiple, int(round(w * scale / multiple)) * multiple)
    return ih, iw


def _padded(net: torch.nn.Module, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Run the net on a frame extended by ``net.border`` replicated pixels and crop them off
    again: zero-padded convs paint a seam along the frame edge, which then falls outside."""
    p = getattr(net, "border", 0)
    if p:
        x = F.pad(x, (p, p, p, p), mode="replicate")
    out = net(x, w)
    return out[:, :, p:-p, p:-p] if p else out


def run_net(net: torch.nn.Module, frame: torch.Tensor, w: torch.Tensor, scale: float,
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

    def __call__(self, frame: torch.Tensor, out: torch.Tensor, amount: float) -> torch.Tensor:
        if amount > 0.0 and self.prev_out is not None and self.prev_out.shape == out.shape:
            # Channel mean and the threshold folded into one scale: fewer full-frame passes.
            change = (frame - self.prev_in).abs_().sum(dim=1, keepdim=True)
            alpha = change.mul_(1.0 / (3.0 * self.CHANGE)).clamp_(min=1.0 - amount, max=1.0)
            out = torch.lerp(self.prev_out, out, alpha)
        self.prev_in, self.prev_out = frame, out
        return out


def weights_from_snapshot(snap: Mapping[str, Any], n_styles: int) -> list[float]:
    """The per-style weight list the parameters ask for (not yet normalised)."""
    out = [0.0] * n_styles
    if snap["style.mode"] == "weights":
        for i in range(min(n_styles, MAX_WEIGHTS)):
            out[i] = max(0.0, float(snap[f"style.w{i + 1}"]))
        if sum(out) <= 0.0:
            out[0] = 1.0
        return out
    a = min(max(int(snap["style.a"]), 1), n_styles) - 1
    b = min(max(int(snap["style.b"]), 1), n_styles) - 1
    mix = float(snap["style.mix"])
    out[a] += 1.0 - mix
    out[b] += mix
    return out


def pick_runtime(net: torch.nn.Module, device: torch.device, runtime: str = "auto",
                 compile: bool = False) -> tuple[Any, str]:
    """The callable that runs a style net (``runner(x, w)``, ``runner.set_stabilize``), and its name."""
    if compile:
        return torch.compile(net, dynamic=False), "torch.compile"
    if device.type == "cuda" and runtime != "torch":
        return GraphedStyleNet(net), "cuda fp16 graphs"
    if device.type != "cpu" or runtime == "torch":
        return net, "torch"
    if not ort.available():
        if runtime == "onnxruntime":
            log.warning("style runtime onnxruntime asked for but not installed (pip install onnxruntime onnx); "
                        "running the net with torch")
        return net, "torch"
    try:
        return ort.OrtStyleNet(net), "onnxruntime"
    except Exception as e:  # noqa: BLE001 — an export failure costs speed, never the layer
        log.warning("style net could not be exported to ONNX Runtime (%s: %s); running it with torch",
                    type(e).__name__, e)
        return net, "torch"


class StyleStage(torch.nn.Module):
    """The camera path's style stage; see the module docstring."""

    def __init__(self, cfg: StyleConfig, device: torch.device, base: Path | None = None) -> None:
        super().__init__()
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
            log.error("style stage off, passing frames through: %s", e)
            reason = str(e).split(": ", 1)[-1]
            self.status = f"style: {cfg.model} unusable — passing frames through ({reason[:90]})"
            return
        self.net = net
        self.styles = [s.get("key", f"style{i + 1}") for i, s in enumerate(manifest.get("styles", []))]
        n = getattr(net, "n_styles", 1)
        self.styles += [f"style{i + 1}" for i in range(len(self.styles), n)]
        self._runner, runtime = pick_runtime(net, self.device, cfg.runtime, cfg.compile)
        self.available = True
        self.status = f"style: {path.stem} [{', '.join(self.styles)}] · {runtime}"

    def _weights(self, snap: Mapping[str, Any]) -> torch.Tensor:
        ws = tuple(weights_from_snapshot(snap, len(self.styles)))
        if self._w_cache is None or self._w_cache[0] != ws:
            total = sum(ws)
            self._w_cache = (ws, torch.tensor([[v / total for v in ws]], device=self.device))
        return self._w_cache[1]

    @torch.inference_mode()
    def forward(self, snap: Snapshot, frame: torch.Tensor, scale_factor: float = 1.0) -> torch.Tensor:
        """Stylise ``frame``; ``scale_factor`` (the frame budget's) shrinks the net's internal size."""
        if not self.available or self.net is None:
            return frame
        # The specs bound every value (the store clamps on write), so no re-clamping here.
        strength = float(snap["style.strength"])
        if strength <= 0.0:
            return frame
        stabilize = float(snap["style.stabilize"])
        (self._runner if isinstance(self._runner, ort.OrtStyleNet | GraphedStyleNet) else self.net).set_stabilize(
            stabilize)
        scale = float(snap["style.scale"]) * scale_factor
        w = self._weights(snap)
        # The display may repaint faster than the camera delivers: the same frame tensor with the
        # same settings gives the same picture, so it is not styled twice.
        # Holding the frame itself (not its address) makes the identity test safe; the version
        # counter catches in-place edits. Inference tensors (the engine's frames) have none, and
        # the pipeline never writes into a camera tensor it has handed out.
        version = None if frame.is_inference() else frame._version
        color = float(snap["style.color"])
        key = (version, self._w_cache[0] if self._w_cache else None, scale, strength, stabilize, color)
        if self._last is not None and self._last[0] is frame and self._last[1] == key:
            return self._last[2]
        x = frame.clamp(0.0, 1.0)
        out = keep_colors(run_net(self._runner, x, w, scale, self.cfg.upsample), x, color)
        out = self.smoother(x, out, stabilize)
        if strength < 1.0:
            out = torch.lerp(x, out, strength)
        self._last = (frame, key, out)
        return out
