"""The OSC address space: what each address means, and its description as JSON.

:class:`AddressBook` resolves addresses for the receive thread (which drops addresses nobody
answers to, and coalesces only direct continuous parameters) and for the router, so both agree
with what :func:`schema` prints for ``livegen osc-schema``: every parameter under
``/livegen/``, the actions, the patch's aliases and mapped sources, and the feedback addresses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from livegen.config import ConfigError
from livegen.control.actions import ACTIONS
from livegen.control.osc.config import OscConfig
from livegen.params import OSC_PREFIX, ParamRegistry, ParamSpec, param_address

STATUS_PREFIX = OSC_PREFIX + "status/"  # feedback: fps, beat, bpm, scene, error ...
TEMPO_BEAT = OSC_PREFIX + "tempo/beat"  # [tempo] source = "osc": the sender's beat position (and bpm)
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
        if address == TEMPO_BEAT:
            return OscTarget("action", action="beat")
        if address.startswith(OSC_PREFIX):
            tail = address[len(OSC_PREFIX):]
            if tail in ACTIONS:
                return OscTarget("action", action=tail)
            if tail.startswith(_SCENE) and len(tail) > len(_SCENE):
                return OscTarget("action", action="scene", arg=tail[len(_SCENE):])
        return None

    def match(self, pattern: str) -> list[str]:
        """The addresses an OSC 1.0 address pattern (``* ? [a-z] [!0-9] {a,b}``) selects; ValueError if malformed.

        Parameters, aliases and mapped sources only: ``/livegen/*`` must not also quit the show.
        """
        rx = pattern_regex(pattern)
        candidates = [*(param_address(n) for n in self.registry.names), *self._aliases, *sorted(self.mapped)]
        return [a for a in candidates if rx.fullmatch(a)]

    def coalescable(self, address: str) -> bool:
        """Only direct continuous parameters: mapped sources may be toggles or encoder deltas."""
        if address in self.mapped:
            return False
        hit = self.resolve(address)
        return hit is not None and hit.kind == "param" and hit.spec is not None and hit.spec.continuous


PATTERN_CHARS = frozenset("*?[]{}")


def is_pattern(address: str) -> bool:
    return not PATTERN_CHARS.isdisjoint(address)


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """The regular expression of an OSC 1.0 address pattern; ValueError names what is malformed.

    ``*`` any run of characters and ``?`` any one character, neither crossing a ``/``;
    ``[abc]``, ``[a-z]``, ``[!a-z]`` one character of (or not of) a set; ``{foo,bar}`` one of
    the comma-separated strings.
    """
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                raise ValueError(f"address pattern {pattern!r}: '[' without ']'")
            body = pattern[i + 1:end]
            negate = body.startswith("!")
            body = body[1:] if negate else body
            if not body:
                raise ValueError(f"address pattern {pattern!r}: empty []")
            parts = []
            for j, ch in enumerate(body):
                # A '-' between two characters is a range; anywhere else it is itself.
                parts.append("-" if ch == "-" and 0 < j < len(body) - 1 else re.escape(ch))
            out.append(("[^/" if negate else "[") + "".join(parts) + "]")
            i = end
        elif c == "{":
            end = pattern.find("}", i + 1)
            if end < 0:
                raise ValueError(f"address pattern {pattern!r}: '{{' without '}}'")
            out.append("(?:" + "|".join(re.escape(x) for x in pattern[i + 1:end].split(",")) + ")")
            i = end
        elif c in "]}":
            raise ValueError(f"address pattern {pattern!r}: {c!r} without its opening bracket")
        else:
            out.append(re.escape(c))
        i += 1
    try:
        return re.compile("".join(out))
    except re.error as e:  # a reversed range such as [z-a]
        raise ValueError(f"address pattern {pattern!r}: {e}") from None


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
        {"address": OSC_PREFIX + "tempo/tap", "args": "none (or 1)",
         "description": "tap tempo (key T): the last taps set the BPM, the last one lands on a beat"},
        {"address": TEMPO_BEAT, "args": "beat position [, bpm]",
         "description": "with [tempo] source = \"osc\": the sender's beat (e.g. a beat counter) sets the phase"},
    ]
    feedback = [OSC_PREFIX + "<param/path> (on change; the bpm as " + OSC_PREFIX + "tempo/bpm)",
                "each alias and mapped OSC source of a parameter (on change; mapped ones in the source's range)",
                STATUS_PREFIX + "beat",
                STATUS_PREFIX + "<key> for each status value the engine reports (fps, display_fps, scene, error ...)"]
    return {
        "listen": f"{osc.host}:{osc.port}",
        "types": "int32, float32, double64, int64, true/false, string (enum choices, scene names)",
        "query": "send a parameter address with no argument (or '?') to get its value back",
        "replies_to": (f"port {osc.reply_port} on the sender's host" if osc.reply_port else
                       osc.feedback if osc.feedback else "the sender's own host and port"),
        "enums_as_numbers": osc.enums_as_numbers,
        "parameters": params,
        "aliases": aliases,
        "mappings": mappings,
        "actions": actions,
        "feedback": {"target": osc.feedback or None, "addresses": feedback},
    }
