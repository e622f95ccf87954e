"""Feedback values for controllers: where each mapped control should sit to show the show's state.

Once per frame, after the parameters settled, the feedback senders (OSC: :mod:`.osc.feedback`,
MIDI: :mod:`.midiout`) ask :class:`Echo` for the raw control value of every mapped source: the
value that, sent by the control, would have set the parameter to what it is now (the mapping run
backwards: ranges, curve, invert). Motor faders and LED rings follow values changed elsewhere
(OSC, a scene recall, a replay); pad LEDs show toggles and the active scene. Relative encoders,
triggers and program changes have no position to show and are left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from livegen.control.mapping.curves import param_range, source_value
from livegen.control.mapping.schema import MappingConfig
from livegen.control.midikinds import is_midi, parse_midi_source, source_range
from livegen.params import ParamRegistry, ParamSpec


@dataclass(frozen=True)
class EchoRoute:
    """One mapped source that has a position to show."""

    source: str
    cfg: MappingConfig
    spec: ParamSpec | None  # None: a scene pad (cfg.arg names the scene)
    in_range: tuple[float, float]
    out_range: tuple[float, float]


class Echo:
    """The raw value each mapped control should show, from a parameter snapshot and the active scene."""

    def __init__(self, registry: ParamRegistry, mappings: Iterable[MappingConfig]) -> None:
        self.routes: list[EchoRoute] = []
        mappings = list(mappings)
        # A source whose arguments drive several targets (an XY pad: /xy x y) is not echoed one value at a time.
        multi = {cfg.source for cfg in mappings if cfg.index > 0}
        for cfg in mappings:
            if cfg.encoder != "absolute" or cfg.source in multi:
                continue  # a relative encoder sends steps, not positions
            if is_midi(cfg.source):
                src = parse_midi_source(cfg.source)
                if src.kind not in ("cc", "cc14", "note", "pitchbend") or src.channel is None:
                    continue  # nothing to light on program change, clock or "any channel"
            spec = registry[cfg.target] if cfg.target in registry else None
            if spec is None and not (cfg.target == "scene" and cfg.arg):
                continue  # record, quit, a scene from program change: no position
            if spec is not None and spec.kind == "trigger":
                continue
            in_range = cfg.in_range if cfg.in_range is not None else source_range(cfg.source)
            out_range = cfg.out_range if cfg.out_range is not None else param_range(spec)
            self.routes.append(EchoRoute(cfg.source, cfg, spec, in_range, out_range))

    def values(self, snap: Mapping[str, Any], scene: str) -> dict[str, float]:
        """Raw value per mapped source (the last mapping of a source wins, as the router applies them all)."""
        out: dict[str, float] = {}
        for r in self.routes:
            off, on = r.cfg.led if r.cfg.led is not None else r.in_range
            if r.spec is None:
                out[r.source] = on if scene == r.cfg.arg else off
            elif r.spec.name in snap:
                raw = source_value(r.spec, snap[r.spec.name], r.cfg.curve, r.cfg.invert, r.cfg.steps,
                                   r.in_range, r.out_range)
                if r.cfg.led is not None:  # a pad: lit when the value is in the upper half of its range
                    lo, hi = r.in_range
                    raw = on if (raw - lo) / (hi - lo) >= 0.5 else off
                out[r.source] = raw
        return out

    def channel(self, source: str) -> int:
        """The MIDI channel (1..16) feedback for ``source`` goes out on; 0 = the source's own."""
        for r in self.routes:
            if r.source == source and r.cfg.led_channel:
                return r.cfg.led_channel
        return 0
