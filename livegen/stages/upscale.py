"""Upscale stage: the generator's native-size picture (64-256 px) to the output size, sharp.

Once per frame the generator stage hands its picture to :meth:`Upscaler.to_frame`. The patch's
``[generator] upscale`` names either a plain resampler (``bicubic``, ``bilinear``, ``nearest``:
one fit to the frame by :func:`~livegen.stages.resize.fit_to_frame`) or a learned upsampler
(``models/upsample4``: :mod:`livegen.nets.upsample`). The learned path runs the net on the part
of the native picture the frame shows (every convolution at 1/scale² of the output pixels), then
bilinear covers the rest of the way (×1.25 from 128 px to 640x480); on the CPU the two run as one
ONNX Runtime graph when onnxruntime is installed, in torch otherwise.

``generator.sharpen`` lifts the native picture's fine detail (an unsharp mask at 128 px, before
any upscaling): the performer's crispness control.

A learned upsampler that cannot be loaded leaves the stage on bicubic with a status line; the
show goes on. The frame budget may ask for a plain filter instead (``override``), which skips the net.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
import torch.nn.functional as F

from livegen.nets import ort
from livegen.nets.io import ModelError
from livegen.nets.upsample import Upsampler, load_upsampler
from livegen.paths import model_file
from livegen.size import Size
from livegen.stages.resize import FILTERS, fit_to_frame, letterbox, placement

log = logging.getLogger("livegen.upscale")

FALLBACK = "bicubic"  # what a learned upsampler that cannot load is replaced with


def _binomial(x: torch.Tensor, dim: int) -> torch.Tensor:
    """The 1-4-6-4-1 sum along ``dim`` of a picture padded by 2 there (one native pixel's blur, ×16).
    Shifted slices, not a grouped convolution: ten times faster on the CPU at this size."""
    n = x.shape[dim] - 4

    def at(k: int) -> torch.Tensor:
        return x.narrow(dim, k, n)

    return at(0) + at(4) + 4 * (at(1) + at(3)) + 6 * at(2)


def unsharp(img: torch.Tensor, amount: float) -> torch.Tensor:
    """``img + amount·(img − blur(img))`` at the native size, clamped to [0, 1].

    Every upscaler trained or designed to be faithful on average (bicubic, and the learned net,
    whose L1 loss regresses to the mean) gives back about a third of the real fine detail at 5×.
    Lifting the native picture's fine detail before upscaling measured (``livegen bench upscale
    --sharpen``) closer to the truth at amount 0.25 and as close at 0.5, with 15-35 % more detail.
    It costs about 0.1 ms: the blur runs at 128 px.
    """
    blur = _binomial(_binomial(F.pad(img, (2, 2, 2, 2), mode="replicate"), -1), -2) / 256.0
    return (img + amount * (img - blur)).clamp_(0.0, 1.0)


class Upscaler:
    """Brings (N, 3, h, w) pictures to (N, 3, H, W) frames the way the patch's ``upscale`` says."""

    def __init__(self, spec: str, device: torch.device, base: Path | None = None) -> None:
        self.net: Upsampler | None = None
        self._ort: ort.OrtUpscaler | None = None
        self.filter = spec if spec in FILTERS else FALLBACK
        if spec in FILTERS:
            self.status = f"upscale: {spec}"
            return
        try:
            net, manifest = load_upsampler(model_file(spec, base), device)
            self.net = net.to(memory_format=torch.channels_last)
        except ModelError as e:
            log.error("learned upscale off, %s instead: %s", FALLBACK, e)
            self.status = f"upscale: {spec} unusable, {FALLBACK} instead"
            return
        self.status = f"upscale: {manifest.get('name', spec)} (learned x{self.net.scale})"
        if device.type == "cpu" and ort.available():
            try:
                self._ort = ort.OrtUpscaler(self.net)
                self.status += " · onnxruntime"
            except Exception as e:  # noqa: BLE001
                log.warning("upscale stays in torch (ONNX export failed, %s: %s)", type(e).__name__, e)

    @torch.no_grad()
    def to_frame(self, img: torch.Tensor, size: Size, fit: str, override: str | None = None,
                 sharpen: float = 0.0) -> torch.Tensor:
        """The picture at ``size`` (cover/contain/stretch); ``override`` is a plain filter that skips the net;
        ``sharpen`` is the unsharp-mask amount applied to the native picture first."""
        if sharpen > 0:
            img = unsharp(img, sharpen)
        net = None if override else self.net
        if net is None or not self._magnifies(img, size, fit, net.scale):
            return fit_to_frame(img, size, fit, override or self.filter)
        h, w = img.shape[-2:]
        if fit == "cover":
            # Only the part of the picture the frame shows goes through the net (rounding the
            # crop to whole pixels bends the aspect by under half a native pixel).
            s = max(size.h / h, size.w / w)
            ch, cw = min(h, max(1, round(size.h / s))), min(w, max(1, round(size.w / s)))
            y, x = (h - ch) // 2, (w - cw) // 2
            img = img[..., y:y + ch, x:x + cw]
            th, tw = size.hw
        else:
            th, tw = placement(h, w, size.h, size.w, fit)
        # The net first, on the picture as the generator drew it (what it was trained on), then
        # the remaining factor (×1.25 at 640x480) with bilinear: measured on held-out pictures this
        # beats fitting with bicubic first and the net last. On the CPU both run as one ONNX
        # Runtime graph on one thread (livegen.nets.ort: faster than torch's two-thread pool here).
        if self._ort is not None:
            return letterbox(self._ort(img, th, tw), size)
        # Channels-last memory halves torch's CPU cost of both resamples (~1 ms of ~5 at 640x480);
        # the frame goes on in the usual layout.
        img = img.contiguous(memory_format=torch.channels_last)
        out = F.interpolate(net.upscale(img), size=(th, tw), mode="bilinear", align_corners=False)
        return letterbox(out.contiguous(), size)

    @staticmethod
    def _magnifies(img: torch.Tensor, size: Size, fit: str, scale: int) -> bool:
        """True when the frame needs at least ×scale; below that the net's output would be shrunk
        again, and plain bicubic gives the same picture for less."""
        h, w = img.shape[-2:]
        sy, sx = size.h / h, size.w / w
        return (max(sy, sx) if fit == "cover" else min(sy, sx)) >= scale
