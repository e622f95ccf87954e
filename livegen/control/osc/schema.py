"""The OSC address space: what each address means, and its description as JSON.

:class:`AddressBook` resolves addresses for the receive thread (which drops addresses nobody
answers to, and coalesces only direct continuous parameters) and for the router, so both agree
with what :func:`schema` prints for ``livegen osc-schema``: every parameter under
``/livegen/``, the actions, the patch's aliases and mapped sources, and the feedback addresses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from livegen.config import ConfigError
from livegen.control.actions import ACTIONS
from livegen.control.osc.config import OscConfig
from livegen.params import OSC_PREFIX, ParamRegistry, ParamSpec

STATUS_PREFIX = OSC_PREFIX + "status/"  # feedback: fps, beat, bpm, scene, error ...
_SCENE = "scene/"


@dataclass(frozen=True)
class OscTarget:
    """What an OSC address means without a mapping: a parameter or an action."""

    kind: Literal["param", "action"]
    spec: ParamSpec | None = None
    action: str = ""
    arg: str = ""


class AddressBook:
    """Resolves OSC addresses for the router and the OSC receive thread (which drops unknown ones)."""

    def __init__(self, registry: ParamRegistry, aliases: Mapping[str, str] | None = None,
                 mapped: Iterable[str] | None = None) -> None:
        self.registry = registry
        self.mapped = set(mapped or ())  # OSC addresses that mappings listen to
        self._aliases: dict[str, OscTarget] = {}
        for address, target in (aliases or {}).items():
            resolved = self._target_for(target)
            if resolved is None:
                raise ConfigError(f"osc.aliases.{address}",
                                  f"{target!r} is neither a parameter nor an action ({', '.join(ACTIONS)})")
            self._aliases[address] = resolved

    def _target_for(self, target: str) -> OscTarget | None:
        if target in self.registry:
            return OscTarget("param", spec=self.registry[target])
        if target in ACTIONS:
            return OscTarget("action", action=target)
        if target.startswith("scene:"):
            return OscTarget("action", action="scene", arg=target[len("scene:"):])
        return None

    def resolve(self, address: str) -> OscTarget | None:
        """The parameter or action at ``address`` (mapped sources are not resolved here)."""
        hit = self._aliases.get(address)
        if hit is not None:
            return hit
        spec = self.registry.by_address(address)
        if spec is not None:
            return OscTarget("param", spec=spec)
        if address.startswith(OSC_PREFIX):
            tail = address[len(OSC_PREFIX):]
            if tail in ACTIONS:
                return OscTarget("action", action=tail)
            if tail.startswith(_SCENE) and len(tail) > len(_SCENE):
                return OscTarget("action", action="scene", arg=tail[len(_SCENE):])
        return None

    def coalescable(self, address: str) -> bool:
        """Only direct continuous parameters: mapped sources may be toggles or encoder deltas."""
        if address in self.mapped:
            return False
        hit = self.resolve(address)
        return hit is not None and hit.kind == "param" and hit.spec is not None and hit.spec.continuous


def schema(registry: ParamRegistry, osc: OscConfig, mapped: Iterable[tuple[str, str]],
           scenes: Iterable[str]) -> dict[str, Any]:
    """The whole OSC address space of a show, for building TouchDesigner/TouchOSC layouts.

    ``mapped`` are (OSC source, target) of the patch's mappings, ``scenes`` its scene names.
    """
    params = []
    for spec in registry:
        d = spec.describe()
        d["query"] = spec.kind != "trigger"
        params.append(d)
    aliases = [{"address": a, "target": t} for a, t in osc.aliases.items()]
    mappings = [{"source": m, "target": t} for m, t in mapped]
    actions = [
        {"address": OSC_PREFIX + "scene", "args": "scene name or 1-based number",
         "description": "recall a scene"},
        *({"address": OSC_PREFIX + _SCENE + name, "args": "none (or 1)", "description": f"recall scene {name}"}
          for name in scenes),
        {"address": OSC_PREFIX + "record", "args": "start | stop | toggle | 1 | 0 (none = toggle)",
         "description": "start or stop recording the show"},
        {"address": OSC_PREFIX + "quit", "args": "none", "description": "end the show"},
    ]
    feedback = [OSC_PREFIX + "<param/path> (on change)", STATUS_PREFIX + "beat",
                STATUS_PREFIX + "<key> for each status value the engine reports (fps, bpm, scene, error ...)"]
    return {
        "listen": f"{osc.host}:{osc.port}",
        "types": "int32, float32, double64, int64, true/false, string (enum choices, scene names)",
        "query": "send a parameter address with no argument (or '?') to get its value back",
        "parameters": params,
        "aliases": aliases,
        "mappings": mappings,
        "actions": actions,
        "feedback": {"target": osc.feedback or None, "addresses": feedback},
    }
