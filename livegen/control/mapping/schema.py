"""The ``[[mappings]]`` entries of a patch, and their validation against the parameter registry.

A mapping names a source (an OSC address, or a MIDI message as ``midi/KIND/CH/N``, see
:mod:`livegen.control.midikinds`) and a target (a parameter or an action). Errors are
:class:`ConfigError` s naming the key (``mappings[2].target``), so a typo is a patch load error,
not a surprise at hot reload.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from livegen.config import ConfigError
from livegen.control.actions import ACTIONS, RECORD_ARGS
from livegen.control.midikinds import is_midi, parse_midi_source
from livegen.control.osc.schema import AddressBook
from livegen.params import ParamRegistry, ParamSpec

Curve = Literal["linear", "exponential", "logarithmic", "step", "toggle"]
Encoder = Literal["absolute", "twos-complement", "binary-offset"]
Quantise = Literal["off", "beat", "bar"]


@dataclass
class MappingConfig:
    """One ``[[mappings]]`` entry: a source address driving a parameter or an action.

    Curves are named, never evaluated from text. ``in_range``/``out_range`` default to the
    source's raw range and the parameter's range.
    """

    source: str
    target: str
    arg: str = ""  # action argument: scene name or number; record start/stop/toggle
    in_range: tuple[float, float] | None = None
    out_range: tuple[float, float] | None = None
    curve: Curve = "linear"
    steps: int = 0  # output levels of the step curve; 0 = from the parameter (int range, enum choices) or 2
    invert: bool = False
    smoothing: float = 0.0  # seconds (one-pole), on top of the parameter's own smoothing
    pickup: bool = False  # soft takeover: ignore the control until it meets the current value
    encoder: Encoder = "absolute"
    step_size: float = 0.0  # relative encoders: fraction of the output range per tick; 0 = 1/128
    quantise: Quantise = "off"
    index: int = 0  # which OSC argument carries the value

    def __post_init__(self) -> None:
        if is_midi(self.source):
            try:
                parse_midi_source(self.source)
            except ValueError as e:
                raise ConfigError("source", str(e)) from None
        elif not self.source.startswith("/") or any(c in self.source for c in " #*?,[]{}"):
            raise ConfigError("source", f"expected an OSC address like /fader1 or a MIDI source like "
                                        f"midi/cc/1/7, got {self.source!r}")
        if not self.target:
            raise ConfigError("target", "must name a parameter or an action (scene, record, quit)")
        if self.in_range is not None and self.in_range[0] == self.in_range[1]:
            raise ConfigError("in_range", "the two ends must differ")
        for name in ("in_range", "out_range"):
            rng = getattr(self, name)
            if rng is not None and not all(math.isfinite(v) for v in rng):
                raise ConfigError(name, "must be finite numbers")
        if self.steps < 0 or self.steps == 1:
            raise ConfigError("steps", "must be 0 (automatic) or at least 2")
        if not (self.smoothing >= 0 and math.isfinite(self.smoothing)):
            raise ConfigError("smoothing", "must be >= 0 seconds")
        if not (self.step_size >= 0 and math.isfinite(self.step_size)):
            raise ConfigError("step_size", "must be >= 0")
        if self.index < 0:
            raise ConfigError("index", "must be >= 0")
        if self.encoder != "absolute" and self.curve != "linear":
            raise ConfigError("curve", "relative encoders move by steps; use curve = \"linear\"")
        if self.target == "record" and self.arg not in ("", *RECORD_ARGS):
            raise ConfigError("arg", f"record takes start, stop or toggle, got {self.arg!r}")


def resolve_target(cfg: MappingConfig, registry: ParamRegistry, path: str) -> tuple[ParamSpec | None, str]:
    """(parameter spec, "") or (None, action name) for a mapping; ConfigError under ``path`` if it cannot work."""
    spec: ParamSpec | None = None
    action = ""
    if cfg.target in registry:
        spec = registry[cfg.target]
    elif cfg.target in ACTIONS:
        action = cfg.target
    else:
        close = difflib.get_close_matches(cfg.target, [*registry.names, *ACTIONS], n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ConfigError(f"{path}.target", f"{cfg.target!r} is neither a parameter nor an action "
                                            f"({', '.join(ACTIONS)}){hint}")
    if cfg.curve == "toggle" and spec is not None and spec.kind == "trigger":
        raise ConfigError(f"{path}.curve", "a trigger fires on every press; toggle needs a value to flip")
    if cfg.encoder != "absolute" and (spec is None or spec.kind == "trigger"):
        raise ConfigError(f"{path}.encoder", "relative encoders need a parameter with a value")
    if cfg.encoder != "absolute" and is_midi(cfg.source) and parse_midi_source(cfg.source).kind == "cc14":
        raise ConfigError(f"{path}.encoder", "relative encoders send 7-bit CCs; use midi/cc/CH/N")
    return spec, action


def osc_sources(mappings: Iterable[MappingConfig]) -> set[str]:
    """The OSC addresses mappings listen to (the receive thread must not drop them)."""
    return {m.source for m in mappings if not is_midi(m.source)}


def check_mappings(registry: ParamRegistry, mappings: Iterable[MappingConfig],
                   aliases: Mapping[str, str] | None = None) -> None:
    """Check mapping targets and options and OSC alias targets against the registry.

    Raises ConfigError with the key path (``mappings[2].target``, ``osc.aliases./x``); patch
    loading calls this so a typo is a load error, not a crash at hot reload.
    """
    for i, cfg in enumerate(mappings):
        resolve_target(cfg, registry, f"mappings[{i}]")
    AddressBook(registry, aliases)
