"""From a raw control value to a parameter value: ranges, named curves, steps and relative encoders.

All functions are pure; the router keeps the per-mapping state (pickup, toggles, 14-bit halves).
"""

from __future__ import annotations

import math
from typing import Any

from livegen.params import ParamSpec

CURVE_K = 4.0  # shape of the named exponential/logarithmic curves: (e^(kx)-1)/(e^k-1) and its inverse


def shape(x: float, curve: str) -> float:
    """Apply a named curve to x in [0, 1] (linear, step and toggle leave it as it is)."""
    if curve == "exponential":
        return (math.exp(CURVE_K * x) - 1.0) / (math.exp(CURVE_K) - 1.0)
    if curve == "logarithmic":
        return math.log1p(x * (math.exp(CURVE_K) - 1.0)) / CURVE_K
    return x


def step_level(x: float, levels: int) -> float:
    """x in [0, 1] to one of ``levels`` evenly spaced values in [0, 1].

    Equal zones along the fader, one per level (rounding would halve the end zones).
    """
    return min(math.floor(x * levels), levels - 1) / (levels - 1)


def encoder_delta(ticks: int, encoder: str) -> int:
    """Signed ticks from a relative encoder's CC value (two's complement, or offset 64)."""
    if encoder == "twos-complement":
        return ticks - 128 if ticks >= 64 else ticks
    return ticks - 64


def param_range(spec: ParamSpec | None) -> tuple[float, float]:
    """A mapping's default output range: the parameter's range, enum choices by index, 0..1 otherwise."""
    if spec is None:
        return (0.0, 1.0)
    if spec.kind == "enum":
        return (0.0, float(len(spec.choices) - 1))
    if spec.kind in ("bool", "trigger"):
        return (0.0, 1.0)
    lo = float(spec.min) if spec.min is not None else 0.0
    hi = float(spec.max) if spec.max is not None else 1.0
    return (lo, hi)


def auto_steps(spec: ParamSpec) -> int:
    """Levels of a step curve that does not say: one per enum choice or int value, else two."""
    if spec.kind == "enum":
        return max(len(spec.choices), 2)
    if spec.kind == "int" and spec.min is not None and spec.max is not None:
        return max(int(spec.max) - int(spec.min) + 1, 2)
    return 2


def position(spec: ParamSpec, value: Any) -> float:
    """Numeric position of a value (enum choices by index) for encoders and toggles."""
    if spec.kind == "enum":
        return float(spec.choices.index(value)) if value in spec.choices else 0.0
    return float(value)
