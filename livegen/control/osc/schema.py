"""Control addresses: what a MIDI mapping source means and what an OSC address resolves to.

Shared by the OSC receive thread (which drops addresses nobody answers to, and coalesces only
direct continuous parameters) and the mapper in the render loop, so both agree on the address
space that ``livegen osc-schema`` prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from livegen.config import ConfigError
from livegen.params import ParamRegistry, ParamSpec

ACTIONS = ("scene", "record", "quit")

# Raw value range of each MIDI message kind; the default input range of a mapping.
MIDI_RANGES: dict[str, tuple[float, float]] = {
    "cc": (0.0, 127.0),
    "cc14": (0.0, 16383.0),
    "note": (0.0, 127.0),
    "polytouch": (0.0, 127.0),
    "program": (0.0, 127.0),
    "pitchbend": (-8192.0, 8191.0),
    "aftertouch": (0.0, 127.0),
}
_MIDI_NUMBERED = ("cc", "cc14", "note", "polytouch")
MIDI_SYSTEM = ("clock", "start", "stop", "continue", "songpos")


@dataclass(frozen=True)
class MidiSource:
    """A parsed MIDI mapping source such as ``midi/cc/1/7``."""

    kind: str
    channel: int | None = None  # 1..16; None = any channel
    number: int | None = None

    def keys(self) -> list[tuple[str, str | None]]:
        """Bus addresses this source listens to, with the role of each (14-bit halves)."""
        ch = "*" if self.channel is None else str(self.channel)
        if self.kind in MIDI_SYSTEM:
            return [(f"midi/{self.kind}", None)]
        if self.kind == "cc14":
            return [(f"midi/cc/{ch}/{self.number}", "msb"), (f"midi/cc/{ch}/{self.number + 32}", "lsb")]
        if self.kind in _MIDI_NUMBERED:
            return [(f"midi/{self.kind}/{ch}/{self.number}", None)]
        return [(f"midi/{self.kind}/{ch}", None)]


def parse_midi_source(text: str) -> MidiSource:
    """Parse ``midi/KIND[/CH[/N]]``; raises ValueError saying what a valid source looks like."""
    parts = text.split("/")
    if len(parts) < 2 or parts[0] != "midi":
        raise ValueError(f"{text!r} is not a MIDI source (like midi/cc/1/7)")
    kind = parts[1]
    if kind in MIDI_SYSTEM:
        if len(parts) != 2:
            raise ValueError(f"{text!r}: midi/{kind} takes no channel")
        return MidiSource(kind)
    if kind not in MIDI_RANGES:
        raise ValueError(f"{text!r}: unknown MIDI message kind {kind!r} "
                         f"(known: {', '.join([*MIDI_RANGES, *MIDI_SYSTEM])})")
    want = 4 if kind in _MIDI_NUMBERED else 3
    if len(parts) != want:
        shape = f"midi/{kind}/CHANNEL/NUMBER" if want == 4 else f"midi/{kind}/CHANNEL"
        raise ValueError(f"{text!r}: expected {shape}")
    if parts[2] == "*":
        channel = None
    else:
        channel = _int_in(parts[2], 1, 16, text, "channel")
    number = None
    if want == 4:
        top = 31 if kind == "cc14" else 127
        number = _int_in(parts[3], 0, top, text, "number")
    return MidiSource(kind, channel, number)


def _int_in(s: str, lo: int, hi: int, text: str, what: str) -> int:
    if not s.isdigit() or not lo <= int(s) <= hi:
        raise ValueError(f"{text!r}: {what} must be {lo}..{hi}" + (" or *" if what == "channel" else ""))
    return int(s)


def source_range(source: str) -> tuple[float, float]:
    """Default input range: the MIDI message's raw range, or 0..1 for OSC."""
    if source.startswith("midi/"):
        return MIDI_RANGES.get(parse_midi_source(source).kind, (0.0, 1.0))
    return (0.0, 1.0)


@dataclass(frozen=True)
class OscTarget:
    """What an OSC address means without a mapping: a parameter or an action."""

    kind: Literal["param", "action"]
    spec: ParamSpec | None = None
    action: str = ""
    arg: str = ""


class AddressBook:
    """Resolves OSC addresses for the mapper and the OSC receive thread (which drops unknown ones)."""

    def __init__(self, registry: ParamRegistry, aliases: dict[str, str] | None = None,
                 mapped: set[str] | None = None) -> None:
        self.registry = registry
        self.mapped = set(mapped or ())
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
        if address.startswith("/livegen/"):
            tail = address[len("/livegen/"):]
            if tail in ACTIONS:
                return OscTarget("action", action=tail)
            if tail.startswith("scene/") and len(tail) > len("scene/"):
                return OscTarget("action", action="scene", arg=tail[len("scene/"):])
        return None

    def accepts(self, address: str) -> bool:
        return address in self.mapped or self.resolve(address) is not None

    def coalescable(self, address: str) -> bool:
        """Only direct continuous parameters: mapped sources may be toggles or encoder deltas."""
        if address in self.mapped:
            return False
        hit = self.resolve(address)
        return hit is not None and hit.kind == "param" and hit.spec is not None and hit.spec.continuous

    def aliases(self) -> dict[str, OscTarget]:
        return dict(self._aliases)
