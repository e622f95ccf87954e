"""Style networks by name: build the net a manifest's architecture block describes, and load one.

The style stage (``livegen.stages.style``), ``livegen stylize``, training and the benchmarks all
get their style nets through here, so a manifest is read and checked in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from livegen.nets.fastnet import FastStyleNet
from livegen.nets.io import ModelError, build_checked, load_into, load_manifest, load_model
from livegen.nets.transformer_net import TransformerNet


def build_net(arch: Mapping[str, Any]) -> torch.nn.Module:
    """Instantiate the network an architecture block (from a manifest) describes."""
    kind = arch.get("kind")
    try:
        n_styles = int(arch.get("n_styles", 1))
        if kind == "fast-cin":
            widths = tuple(int(v) for v in arch.get("widths", (24, 48, 64)))
            if len(widths) != 3:
                raise ValueError("widths must have 3 entries")
            # Manifests written before the pad field existed describe zero-padded nets.
            return FastStyleNet(n_styles, widths, int(arch.get("n_res", 5)), str(arch.get("pad", "zeros")),
                                str(arch.get("up", "nearest")), bool(arch.get("blur", False)))
        if kind == "transformer":
            return TransformerNet(n_styles)
    except (TypeError, ValueError) as e:
        raise ModelError(f"bad architecture block {dict(arch)}: {e}") from None
    raise ModelError(f"unknown style architecture {kind!r} (expected 'fast-cin' or 'transformer')")


def load_style_model(path: str | Path, device: torch.device | str = "cpu") -> tuple[torch.nn.Module, dict]:
    """Load a style net and its manifest; any problem becomes a ModelError naming the file."""
    manifest = load_manifest(path)
    net = build_checked(build_net, manifest["architecture"], path)
    tensors, manifest = load_model(path, "cpu")
    load_into(net, tensors, path)
    return net.to(device).eval(), manifest
