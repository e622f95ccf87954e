"""Import a PyTorch DCGAN-tutorial generator (``livegen train import-dcgan IN --out models/NAME``).

Artists often have a generator trained with the PyTorch DCGAN tutorial (nz=100, ngf=64, 64 px,
Tanh output). Its ``state_dict`` keys (``main.0.weight`` ... ``main.12.weight``) match our
:class:`DCGANGenerator` layer for layer, so importing means: read the tensors safely (safetensors,
or a .pt/.pth only through ``torch.load(weights_only=True)``, which refuses arbitrary pickled
objects), infer nz/ngf/size from the shapes, check them, and write our safetensors + manifest.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open

from livegen.nets.generator import DCGANGenerator, save_generator
from livegen.nets.io import ModelError, load_into


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Tensors from .safetensors or a weights-only .pt/.pth; nested {'netG': {...}} and 'module.' prefixes ok."""
    if not path.exists():
        raise ModelError(f"{path}: file not found")
    if path.suffix == ".safetensors":
        try:
            with safe_open(str(path), framework="pt") as fh:
                sd: Any = {k: fh.get_tensor(k) for k in fh.keys()}
        except Exception as e:  # safetensors raises several types for damaged files
            raise ModelError(f"{path}: not a readable safetensors file ({e})") from None
    else:
        try:
            sd = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:  # weights_only refuses code objects with an UnpicklingError; damage gives others
            raise ModelError(f"{path}: cannot be read as a weights-only checkpoint ({str(e).splitlines()[0]}); "
                             "only plain state_dicts are accepted, never pickled models") from None
    return find_generator(sd, path)


def find_generator(sd: Any, path: Path) -> dict[str, torch.Tensor]:
    if isinstance(sd, dict) and not any(isinstance(k, str) and k.endswith("main.0.weight") for k in sd):
        for key in ("netG", "generator", "G", "state_dict", "model"):
            if isinstance(sd.get(key), dict):
                return find_generator(sd[key], path)
    if not isinstance(sd, dict) or not all(torch.is_tensor(v) for v in sd.values()):
        raise ModelError(f"{path}: expected a state_dict of tensors (DCGAN tutorial netG.state_dict())")
    return {(k[len("module."):] if k.startswith("module.") else k): v for k, v in sd.items()}


def infer(sd: dict[str, torch.Tensor], path: Path) -> DCGANGenerator:
    """Build the DCGANGenerator whose shapes the state_dict has; ModelError when it is no DCGAN generator."""
    first = sd.get("main.0.weight")
    convs = sorted((int(k.split(".")[1]) for k in sd if k.startswith("main.") and k.endswith(".weight")
                    and sd[k].ndim == 4), key=int)
    if first is None or first.ndim != 4 or not convs:
        raise ModelError(f"{path}: no 'main.0.weight' transposed-conv tensor: not a DCGAN-tutorial generator")
    last = sd[f"main.{convs[-1]}.weight"]
    if last.shape[1] != 3:
        raise ModelError(f"{path}: last layer makes {last.shape[1]} channels, expected 3 (RGB)")
    size = {5: 64, 6: 128}.get(len(convs))
    if size is None:
        raise ModelError(f"{path}: {len(convs)} transposed convolutions; only 64 px (5) or 128 px (6) generators")
    net = DCGANGenerator(latent_dim=int(first.shape[0]), ngf=int(last.shape[0]), size=size)
    load_into(net, sd, path)
    return net.eval()


def import_dcgan(src: str | Path, out: str | Path, name: str | None = None) -> Path:
    src = Path(src)
    sd = read_state_dict(src)
    net = infer(sd, src)
    with torch.no_grad():
        img = net.generate(torch.randn(4, net.latent_dim, generator=torch.Generator().manual_seed(0)))
    if not torch.isfinite(img).all():
        raise ModelError(f"{src}: generator produces NaN/inf values")
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    manifest = {"name": name or Path(out).name, "task": "generator", "native_size": net.size,
                "latent_dim": net.latent_dim,
                "source": {"file": src.name, "sha256": digest, "format": "PyTorch DCGAN-tutorial generator state_dict"},
                "training": {"command": f"livegen train import-dcgan {src.name} --out {out}"},
                "licence": "as supplied with the imported checkpoint (unknown to livegen)"}
    return save_generator(out, net, manifest)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="livegen train import-dcgan",
                                 description="Convert a PyTorch DCGAN-tutorial generator state_dict to a livegen model")
    ap.add_argument("src", help=".safetensors, or .pt/.pth holding a plain state_dict (read with weights_only=True)")
    ap.add_argument("--out", required=True, help="models/NAME")
    ap.add_argument("--name")
    a = ap.parse_args(argv)
    try:
        path = import_dcgan(a.src, a.out, a.name)
    except ModelError as e:
        print(f"livegen train import-dcgan: {e}", file=sys.stderr)
        return 2
    print(f"wrote {path} and {path.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
