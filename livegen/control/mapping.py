"""Mapping: turns control events (source addresses) into parameter writes and actions.

Runs inside the render loop, after the bus is drained, so mapping state (pickup, smoothing,
relative encoders) changes only at frame boundaries and replays exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from livegen.control.bus import ControlEvent
from livegen.params import ParameterStore, ParamRegistry

ACTIONS = ("scene", "record", "quit")


@dataclass
class MappingConfig:
    """One [[mappings]] entry: a source address driving a parameter or an action."""

    source: str
    target: str


class Mapper:
    """Applies events to the store; returns actions (name, value) for the engine."""

    def __init__(self, registry: ParamRegistry, mappings: list[MappingConfig] | None = None) -> None:
        self.registry = registry
        self.routes = {m.source: m.target for m in (mappings or [])}

    def apply(self, event: ControlEvent, store: ParameterStore) -> list[tuple[str, Any]]:
        """Apply one event; raises ValueError (with the address) when it cannot be used."""
        target = self.routes.get(event.address, event.address)
        if target.startswith("/livegen/"):
            tail = target[len("/livegen/"):]
            if tail in ("scene", "scene/recall"):
                return [("scene", event.value)]
            if tail in ACTIONS:
                return [(tail, event.value)]
            spec = self.registry.by_address(target)
            if spec is None:
                raise ValueError(f"{event.source} {event.address}: no parameter at {target}")
            store.set(spec.name, event.value)
            return []
        if target in self.registry:
            store.set(target, event.value)
            return []
        if target in ACTIONS:
            return [(target, event.value)]
        raise ValueError(f"{event.source} {event.address}: unknown address")
