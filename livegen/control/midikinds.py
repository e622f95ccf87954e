"""The one table of MIDI message kinds (like mido's ``SPECS``) and the addresses they make.

Each kind says which mido message types make it, the shape of its bus address
(``midi/KIND[/CH[/N]]``, channels 1..16 as on controllers), which message fields carry the
number and the value, and the raw value range (a mapping's default input range). Everything
that spells a MIDI address uses it: the MIDI input and show-file import (:func:`message_events`),
the mapping schema (:func:`parse_midi_source`), the router and learn (:func:`midi_address`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PREFIX = "midi/"


@dataclass(frozen=True)
class MidiKind:
    """One kind of MIDI message as livegen addresses it."""

    name: str  # the KIND word of the address
    mido_types: tuple[str, ...]  # mido message types that make it (none: cc14 is a pair of cc)
    channel: bool = True  # has a channel part (system messages have none)
    number: str = ""  # mido field of the NUMBER part (controller, note); "" = no number part
    value: str = ""  # mido field carrying the value; "" = no value
    range: tuple[float, float] = (0.0, 127.0)  # raw value range
    top: int = 127  # highest NUMBER

    @property
    def pattern(self) -> str:
        """The address shape, as error messages and the docs show it."""
        return midi_address(self.name, "CHANNEL" if self.channel else None, "NUMBER" if self.number else None)


KINDS: dict[str, MidiKind] = {k.name: k for k in (
    MidiKind("cc", ("control_change",), number="control", value="value"),
    # 14-bit controller: MSB on controller N, LSB on N + 32 (both plain cc messages on the bus).
    MidiKind("cc14", (), number="control", value="value", range=(0.0, 16383.0), top=31),
    # note_off has a release velocity; livegen reads any note-off as velocity 0 (see message_events).
    MidiKind("note", ("note_on", "note_off"), number="note", value="velocity"),
    MidiKind("polytouch", ("polytouch",), number="note", value="value"),
    MidiKind("program", ("program_change",), value="program"),
    MidiKind("pitchbend", ("pitchwheel",), value="pitch", range=(-8192.0, 8191.0)),
    MidiKind("aftertouch", ("aftertouch",), value="value"),
    # System messages drive the tempo; mapped to a control they act as a press (range 0..1).
    MidiKind("clock", ("clock",), channel=False, range=(0.0, 1.0)),
    MidiKind("start", ("start",), channel=False, range=(0.0, 1.0)),
    MidiKind("stop", ("stop",), channel=False, range=(0.0, 1.0)),
    MidiKind("continue", ("continue",), channel=False, range=(0.0, 1.0)),
    MidiKind("songpos", ("songpos",), channel=False, value="pos", range=(0.0, 1.0)),
)}

# System (clock and transport) kinds: the tempo follows them; they are not controls to map values from.
SYSTEM = tuple(k.name for k in KINDS.values() if not k.channel)

_BY_MIDO = {t: k for k in KINDS.values() for t in k.mido_types}


def midi_address(kind: str, channel: int | str | None = None, number: int | str | None = None) -> str:
    """``midi/KIND[/CH[/N]]``: the one spelling of a MIDI bus address and mapping source."""
    parts = [kind]
    if channel is not None:
        parts.append(str(channel))
        if number is not None:
            parts.append(str(number))
    return PREFIX + "/".join(parts)


def is_midi(address: str) -> bool:
    return address.startswith(PREFIX)


def message_events(msg: Any) -> list[tuple[str, Any]]:
    """Bus addresses and values for one mido message; messages livegen does not use give none."""
    kind = _BY_MIDO.get(msg.type)
    if kind is None:
        return []  # sysex, active sensing, tune request ...
    value = getattr(msg, kind.value) if kind.value else None
    if msg.type == "note_off":
        value = 0  # a note-off is a release, whatever its release velocity
    if not kind.channel:
        return [(midi_address(kind.name), value)]
    number = getattr(msg, kind.number) if kind.number else None
    return [(midi_address(kind.name, msg.channel + 1, number), value)]


@dataclass(frozen=True)
class MidiSource:
    """A parsed MIDI mapping source such as ``midi/cc/1/7``."""

    kind: str
    channel: int | None = None  # 1..16; None = any channel
    number: int | None = None

    def keys(self) -> list[tuple[str, str | None]]:
        """Bus addresses this source listens to, with the role of each (14-bit halves)."""
        ch = "*" if self.channel is None else self.channel
        if self.kind in SYSTEM:
            return [(midi_address(self.kind), None)]
        if self.kind == "cc14":
            assert self.number is not None
            return [(midi_address("cc", ch, self.number), "msb"), (midi_address("cc", ch, self.number + 32), "lsb")]
        return [(midi_address(self.kind, ch, self.number), None)]


def parse_midi_source(text: str) -> MidiSource:
    """Parse ``midi/KIND[/CH[/N]]``; raises ValueError saying what a valid source looks like."""
    parts = text.split("/")
    if len(parts) < 2 or parts[0] != "midi":
        raise ValueError(f"{text!r} is not a MIDI source (like midi/cc/1/7)")
    kind = KINDS.get(parts[1])
    if kind is None:
        raise ValueError(f"{text!r}: unknown MIDI message kind {parts[1]!r} (known: {', '.join(KINDS)})")
    if not kind.channel:
        if len(parts) != 2:
            raise ValueError(f"{text!r}: midi/{kind.name} takes no channel")
        return MidiSource(kind.name)
    if len(parts) != (4 if kind.number else 3):
        raise ValueError(f"{text!r}: expected {kind.pattern}")
    channel = None if parts[2] == "*" else _int_in(parts[2], 1, 16, text, "channel")
    number = _int_in(parts[3], 0, kind.top, text, "number") if kind.number else None
    return MidiSource(kind.name, channel, number)


def _int_in(s: str, lo: int, hi: int, text: str, what: str) -> int:
    if not s.isdigit() or not lo <= int(s) <= hi:
        raise ValueError(f"{text!r}: {what} must be {lo}..{hi}" + (" or *" if what == "channel" else ""))
    return int(s)


def source_range(source: str) -> tuple[float, float]:
    """Default input range of a mapping source: the MIDI message's raw range, or 0..1 for OSC."""
    if is_midi(source):
        return KINDS[parse_midi_source(source).kind].range
    return (0.0, 1.0)
