"""Loading and saving shipped weights: safetensors files with a JSON manifest beside them.

Every model the engine plays lives as ``NAME.safetensors`` + ``NAME.json`` in ``models/``.
Nothing here unpickles: a corrupt, truncated, hostile or mismatched file becomes a
:class:`ModelError` whose message names the file and what is wrong, so the show can go on
without that layer. Nothing is allocated from a file's word alone: the manifest is size- and
depth-bounded, every number in its architecture block is bounded (``livegen.limits``), the net
is first built on the ``meta`` device (no memory) and its tensor shapes are compared with the
weights file's header before the real net and the weights are allocated.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from livegen import limits

# Bounds on the numbers an architecture block may hold, by key; any other integer is bounded too.
ARCH_BOUNDS = {
    "widths": (1, limits.CHANNELS_MAX), "ngf": (1, limits.CHANNELS_MAX), "ndf": (1, limits.CHANNELS_MAX),
    "ch": (1, limits.CHANNELS_MAX), "n_res": (0, limits.STYLE_RES_BLOCKS_MAX), "n_styles": (1, limits.STYLES_MAX),
    "latent_dim": (1, limits.LATENT_DIM_MAX), "size": (1, max(limits.GENERATOR_SIZES)),
}
OTHER_INT_MAX = 1 << 16


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


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def check_architecture(arch: dict[str, Any], where: str | Path, prefix: str = "architecture") -> None:
    """ModelError unless every number in an architecture block (and its sub-blocks: a cascade's
    core and upsampler) is a sane size for a net."""
    for key, value in arch.items():
        if isinstance(value, dict):
            check_architecture(value, where, f"{prefix}.{key}")
            continue
        lo, hi = ARCH_BOUNDS.get(key, (0, OTHER_INT_MAX))
        values = value if isinstance(value, list) else [value]
        for v in values:
            if isinstance(v, bool) or not isinstance(v, (int, float, str)):
                if isinstance(v, bool):
                    continue
                raise ModelError(f"{where}: {prefix}.{key} must be a number or a word, got {type(v).__name__}")
            if isinstance(v, float) and not v.is_integer():
                raise ModelError(f"{where}: {prefix}.{key} = {v} is not a whole number")
            if isinstance(v, (int, float)) and not lo <= v <= hi:
                raise ModelError(f"{where}: {prefix}.{key} = {v} is outside {lo}..{hi}")


def load_manifest(path: str | Path) -> dict[str, Any]:
    """The JSON manifest beside a weights file, bounded in size and depth, architecture checked.

    The weights file itself must exist, be a regular file and be of a model's size.
    """
    path = Path(path)
    if not path.exists():
        raise ModelError(f"{path}: model file not found")
    if not path.is_file():
        raise ModelError(f"{path}: not a regular file")
    if path.stat().st_size > limits.MODEL_BYTES:
        raise ModelError(f"{path}: larger than the {limits.MODEL_BYTES >> 30} GiB a model may be")
    mpath = manifest_path(path)
    if not mpath.is_file():
        raise ModelError(f"{mpath}: manifest missing (every model needs NAME.json beside NAME.safetensors)")
    try:
        with mpath.open("rb") as f:
            raw = f.read(limits.MANIFEST_BYTES + 1)
        if len(raw) > limits.MANIFEST_BYTES:
            raise ModelError(f"{mpath}: manifest is larger than {limits.MANIFEST_BYTES} bytes")
        manifest = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as e:
        # ValueError covers bad JSON, Infinity/NaN and integers longer than Python converts.
        raise ModelError(f"{mpath}: manifest is not valid JSON: {str(e)[:200]}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("architecture"), dict):
        raise ModelError(f"{mpath}: manifest has no 'architecture' object")
    if _depth(manifest) > limits.MANIFEST_DEPTH:
        raise ModelError(f"{mpath}: manifest is nested more than {limits.MANIFEST_DEPTH} levels deep")
    styles = manifest.get("styles", [])
    if not isinstance(styles, list) or not all(isinstance(st, dict) for st in styles):
        raise ModelError(f"{mpath}: 'styles' must be a list of objects")
    check_architecture(manifest["architecture"], mpath)
    return manifest


def header_shapes(path: str | Path) -> dict[str, tuple[int, ...]]:
    """Tensor names and shapes from a safetensors header, without reading the weights."""
    try:
        with safe_open(str(path), framework="pt") as f:
            names = list(f.keys())
            if len(names) > limits.MODEL_TENSORS:
                raise ModelError(f"{path}: {len(names)} tensors, more than a livegen net has")
            return {k: tuple(f.get_slice(k).get_shape()) for k in names}
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise ModelError(f"{path}: not a readable safetensors file ({e})") from None


def build_checked(build: Callable[[dict[str, Any]], torch.nn.Module], arch: dict[str, Any],
                  path: str | Path) -> torch.nn.Module:
    """Build the net an architecture describes, after its shapes are checked against the file.

    The net is first built on the meta device, which allocates nothing, so a manifest that
    disagrees with its weights (or describes an enormous net) is refused before any memory is used.
    """
    try:
        with torch.device("meta"):
            probe = build(arch)
    except (TypeError, ValueError, KeyError, RuntimeError) as e:
        raise ModelError(f"{path}: bad architecture block: {e}") from None
    _compare(probe.state_dict(), header_shapes(path), path)
    try:
        return build(arch)
    except (TypeError, ValueError, KeyError, RuntimeError) as e:
        raise ModelError(f"{path}: bad architecture block: {e}") from None


def load_model(path: str | Path, device: str | torch.device = "cpu") -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read weights and manifest; raises ModelError with the file and reason on any problem."""
    path = Path(path)
    manifest = load_manifest(path)
    try:
        tensors = load_file(str(path), device=str(device))
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise ModelError(f"{path}: not a readable safetensors file ({e})") from None
    return tensors, manifest


def _compare(own: dict[str, torch.Tensor], shapes: dict[str, tuple[int, ...]], path: str | Path) -> None:
    missing = sorted(set(own) - set(shapes))
    extra = sorted(set(shapes) - set(own))
    wrong = [k for k in own if k in shapes and tuple(own[k].shape) != tuple(shapes[k])]
    if missing or extra or wrong:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} tensors (e.g. {missing[0]})")
        if extra:
            parts.append(f"{len(extra)} unexpected tensors (e.g. {extra[0]})")
        if wrong:
            k = wrong[0]
            parts.append(f"shape mismatch at {k}: file {tuple(shapes[k])} vs net {tuple(own[k].shape)}")
        raise ModelError(f"{path}: weights do not fit the architecture in its manifest: " + "; ".join(parts))


def load_into(module: torch.nn.Module, tensors: dict[str, torch.Tensor], path: str | Path) -> None:
    """Load a state dict strictly; shape/key mismatches and NaN/inf weights become one clear ModelError."""
    _compare(module.state_dict(), {k: tuple(v.shape) for k, v in tensors.items()}, path)
    for name, t in tensors.items():
        if t.is_floating_point() and not torch.isfinite(t).all():
            raise ModelError(f"{path}: tensor {name} holds NaN/inf values")
    module.load_state_dict(tensors, strict=True)
