"""MIDI input (mido + python-rtmidi): settings for now; ports land with the control work."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class MidiConfig:
    """Patch section [midi]."""

    enabled: bool = True
    inputs: list[str] = field(default_factory=list)  # port name substrings; empty = all
    clock: bool = True
