"""Loading and saving shipped weights: safetensors files with a JSON manifest beside them.

Every model the engine plays lives as ``NAME.safetensors`` + ``NAME.json`` in ``models/``.
Nothing here unpickles: a corrupt, truncated or mismatched file becomes a :class:`ModelError`
whose message names the file and what is wrong, so the show can go on without that layer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file


class ModelError(Exception):
    """A model file that cannot be used; the message names the file and the reason."""


def manifest_path(weights: str | Path) -> Path:
    return Path(weights).with_suffix(".json")


def save_model(path: str | Path, tensors: dict[str, torch.Tensor], manifest: dict[str, Any]) -> Path:
    """Write ``path`` (.safetensors) and its manifest (.json) next to it."""
    path = Path(path)
    if path.suffix != ".safetensors":
        path = path.with_suffix(".safetensors")
    path.parent.mkdir(parents=True, exist_ok=True)
    flat = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    # The manifest's architecture block is also stored inside the file so a weights file that
    # lost its JSON still says what it is.
    meta = {"livegen_architecture": json.dumps(manifest.get("architecture", {}), sort_keys=True)}
    save_file(flat, str(path), metadata=meta)
    manifest_path(path).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return path


def load_manifest(path: str | Path) -> dict[str, Any]:
    mpath = manifest_path(path)
    if not mpath.exists():
        raise ModelError(f"{mpath}: manifest missing (every model needs NAME.json beside NAME.safetensors)")
    try:
        manifest = json.loads(mpath.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelError(f"{mpath}: manifest is not valid JSON: {e}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("architecture"), dict):
        raise ModelError(f"{mpath}: manifest has no 'architecture' object")
    return manifest


def load_model(path: str | Path, device: str | torch.device = "cpu") -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read weights and manifest; raises ModelError with the file and reason on any problem."""
    path = Path(path)
    if not path.exists():
        raise ModelError(f"{path}: model file not found")
    manifest = load_manifest(path)
    try:
        tensors = load_file(str(path), device=str(device))
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise ModelError(f"{path}: not a readable safetensors file ({e})") from None
    return tensors, manifest


def load_into(module: torch.nn.Module, tensors: dict[str, torch.Tensor], path: str | Path) -> None:
    """Load a state dict strictly, turning shape/key mismatches into one clear ModelError."""
    own = module.state_dict()
    missing = sorted(set(own) - set(tensors))
    extra = sorted(set(tensors) - set(own))
    wrong = [k for k in own if k in tensors and tuple(own[k].shape) != tuple(tensors[k].shape)]
    if missing or extra or wrong:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} tensors (e.g. {missing[0]})")
        if extra:
            parts.append(f"{len(extra)} unexpected tensors (e.g. {extra[0]})")
        if wrong:
            k = wrong[0]
            parts.append(f"shape mismatch at {k}: file {tuple(tensors[k].shape)} vs net {tuple(own[k].shape)}")
        raise ModelError(f"{path}: weights do not fit the architecture in its manifest: " + "; ".join(parts))
    module.load_state_dict(tensors, strict=True)
