"""The torch device a show or a training run uses: CUDA when present, the CPU otherwise."""

from __future__ import annotations

import torch


def pick_device(choice: str = "auto") -> torch.device:
    """'auto' takes CUDA when present, else the CPU; 'cuda' without a GPU is an error."""
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if choice.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {choice!r} asked for, but torch sees no CUDA GPU (use --device cpu or auto)")
    try:
        return torch.device(choice)
    except RuntimeError as e:
        raise RuntimeError(f"unknown device {choice!r}: {e}") from None
