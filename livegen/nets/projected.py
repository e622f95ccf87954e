"""Projected discriminator: judges generated images in a fixed pretrained feature space.

Training only (``livegen train gan --d-arch projected``); nothing of it runs in the frame loop.
After Sauer et al. 2021 ("Projected GANs Converge Faster"): the images go through a frozen
pretrained trunk, its multi-scale features are mixed by fixed random 1x1 convolutions across
channels and by a fixed random top-down path across scales, and small trainable heads judge each
scale. A discriminator that starts from features that already tell textures and shapes apart gives
the generator useful gradients from the first steps, which a CPU budget of a few thousand steps needs.

The trunk is the VGG16 of the style losses (``livegen.nets.vgg``), deliberately not the
EfficientNet-Lite0 that the quality figure measures with, so the figure is not trained against.
The trunk is held outside the module's state (it is large, frozen and has its own file); the random
mixing weights are buffers, so a checkpoint restores exactly the same projection.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from livegen.nets.vgg import VGGTrunk

# (VGG ReLU map, its channels, its stride) read for a 64 px image: 64, 32 and 16 px maps.
SCALES: tuple[tuple[str, int, int], ...] = (("relu1_2", 64, 1), ("relu2_2", 128, 2), ("relu3_3", 256, 4))
HEAD_SIDE = 4  # every head downsamples its map to this side before its last 4x4 judgement


def _random_conv(cin: int, cout: int, k: int, gen: torch.Generator) -> torch.Tensor:
    w = torch.empty(cout, cin, k, k)
    bound = (3.0 / (cin * k * k)) ** 0.5  # unit-variance output for unit-variance input
    return w.uniform_(-bound, bound, generator=gen)


class ProjectedDiscriminator(nn.Module):
    """``forward(x)``: images in [-1, 1] -> (N, K) logits, every head's patch logits side by side."""

    def __init__(self, trunk: VGGTrunk, size: int = 64, ndf: int = 64, seed: int = 0) -> None:
        super().__init__()
        if size // SCALES[-1][2] < HEAD_SIDE * 2:
            raise ValueError(f"a projected discriminator needs images of at least "
                             f"{HEAD_SIDE * 2 * SCALES[-1][2]} px, got {size}")
        self._trunk = (trunk,)  # a tuple keeps the frozen trunk out of parameters() and state_dict()
        gen = torch.Generator().manual_seed(seed)
        for i, (_, ch, _) in enumerate(SCALES):
            self.register_buffer(f"ccm{i}", _random_conv(ch, ch, 1, gen))
            # Caffe-VGG maps run to hundreds; calibrate() sets each scale to unit spread on real images.
            self.register_buffer(f"gain{i}", torch.ones(()))
        for i in range(len(SCALES) - 1):
            # Top-down mixing: the deeper projected map, brought to this scale's channels.
            self.register_buffer(f"csm{i}", _random_conv(SCALES[i + 1][1], SCALES[i][1], 1, gen))
        sn = nn.utils.parametrizations.spectral_norm
        heads = []
        for _, ch, stride in SCALES:
            side, cin, width = size // stride, ch, ndf
            layers: list[nn.Module] = []
            while side > HEAD_SIDE:
                layers += [sn(nn.Conv2d(cin, width, 4, 2, 1)), nn.LeakyReLU(0.2, True)]
                side, cin, width = side // 2, width, min(width * 2, 8 * ndf)
            layers.append(sn(nn.Conv2d(cin, 1, 4, 1, 0)))
            heads.append(nn.Sequential(*layers))
        self.heads = nn.ModuleList(heads)

    def project(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = self._trunk[0]((x + 1) * 0.5, upto=len(SCALES))
        mixed = [F.conv2d(f, getattr(self, f"ccm{i}")) for i, f in enumerate(feats)]
        for i in reversed(range(len(SCALES) - 1)):
            deeper = F.conv2d(mixed[i + 1], getattr(self, f"csm{i}"))
            mixed[i] = mixed[i] + F.interpolate(deeper, size=mixed[i].shape[-2:], mode="bilinear",
                                                align_corners=False)
        return [m * getattr(self, f"gain{i}") for i, m in enumerate(mixed)]

    @torch.no_grad()
    def calibrate(self, real: torch.Tensor) -> None:
        """Set each scale's gain so a batch of real images gives projected maps of unit spread."""
        for i in range(len(SCALES)):
            getattr(self, f"gain{i}").fill_(1.0)
        for i, m in enumerate(self.project(real)):
            getattr(self, f"gain{i}").fill_(1.0 / float(m.std().clamp_min(1e-6)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([head(f).flatten(1) for head, f in zip(self.heads, self.project(x), strict=True)], dim=1)
