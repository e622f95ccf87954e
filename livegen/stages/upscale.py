"""Upscale stage: the generator's native-size picture (64-256 px) to the output size, sharp.

Once per frame the generator stage hands its picture to :meth:`Upscaler.to_frame`. The patch's
``[generator] upscale`` names either a plain resampler (``bicubic``, ``bilinear``, ``nearest``:
one fit to the frame by :func:`~livegen.stages.resize.fit_to_frame`) or a learned upsampler
(``models/upsample4``: :mod:`livegen.nets.upsample`). The learned path runs the net on the part
of the native picture the frame shows (every convolution at 1/scale² of the output pixels), then
bilinear covers the rest of the way (×1.25 from 128 px to 640x480).

A learned upsampler that cannot be loaded leaves the stage on bicubic with a status line; the
show goes on. The frame budget may ask for a plain filter instead (``override``), which skips the net.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
import torch.nn.functional as F

from livegen.nets.io import ModelError
from livegen.nets.upsample import Upsampler, load_upsampler
from livegen.paths import model_file
from livegen.size import Size
from livegen.stages.resize import FILTERS, fit_to_frame, letterbox, placement

log = logging.getLogger("livegen.upscale")

FALLBACK = "bicubic"  # what a learned upsampler that cannot load is replaced with


class Upscaler:
    """Brings (N, 3, h, w) pictures to (N, 3, H, W) frames the way the patch's ``upscale`` says."""

    def __init__(self, spec: str, device: torch.device, base: Path | None = None) -> None:
        self.net: Upsampler | None = None
        self.filter = spec if spec in FILTERS else FALLBACK
        if spec in FILTERS:
            self.status = f"upscale: {spec}"
            return
        try:
            self.net, manifest = load_upsampler(model_file(spec, base), device)
        except ModelError as e:
            log.error("learned upscale off, %s instead: %s", FALLBACK, e)
            self.status = f"upscale: {spec} unusable, {FALLBACK} instead"
            return
        self.status = f"upscale: {manifest.get('name', spec)} (learned x{self.net.scale})"

    @torch.no_grad()
    def to_frame(self, img: torch.Tensor, size: Size, fit: str, override: str | None = None) -> torch.Tensor:
        """The picture at ``size`` (cover/contain/stretch); ``override`` is a plain filter that skips the net."""
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
        # beats fitting with bicubic first and the net last, and costs about as much as bicubic alone.
        out = F.interpolate(net.upscale(img), size=(th, tw), mode="bilinear", align_corners=False)
        return letterbox(out, size)

    @staticmethod
    def _magnifies(img: torch.Tensor, size: Size, fit: str, scale: int) -> bool:
        """True when the frame needs at least ×scale; below that the net's output would be shrunk
        again, and plain bicubic gives the same picture for less."""
        h, w = img.shape[-2:]
        sy, sx = size.h / h, size.w / w
        return (max(sy, sx) if fit == "cover" else min(sy, sx)) >= scale
