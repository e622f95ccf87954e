"""MIDI (and OSC) learn: move a control, get a ``[[mappings]]`` entry written into the patch file.

Used two ways: the window drives a :class:`MidiLearn` (key L, choose a parameter, then every
drained event is offered to it before mapping), and ``livegen learn PARAM``
(:mod:`livegen.control_cli`) runs its own MIDI inputs and OSC server in the terminal.
:func:`write_mapping` edits the patch with tomlkit so comments, order and formatting of
everything else stay as they were; the running show picks the change up through patch hot reload.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tomlkit

from livegen.control.actions import ACTIONS
from livegen.control.bus import ControlEvent
from livegen.control.mapping.schema import MappingConfig
from livegen.control.midikinds import is_midi, midi_address
from livegen.params import OSC_PREFIX, ParamRegistry

_CONTINUOUS_MOVES = 2  # events from one control before it counts as "moved" (filters stray messages)


class MidiLearn:
    """Watches events until one control has clearly been moved, then proposes a mapping."""

    def __init__(self, registry: ParamRegistry) -> None:
        self.registry = registry
        self.target: str | None = None
        self.options: dict[str, Any] = {}
        self._counts: dict[str, int] = {}

    @property
    def active(self) -> bool:
        return self.target is not None

    def begin(self, target: str, **options: Any) -> None:
        """Start learning for a parameter or action; ``options`` are extra MappingConfig fields."""
        if target not in self.registry and target not in ACTIONS:
            raise ValueError(f"{target!r} is neither a parameter nor an action ({', '.join(ACTIONS)})")
        fields = {f.name for f in dataclasses.fields(MappingConfig)} - {"source", "target"}
        unknown = set(options) - fields
        if unknown:
            raise ValueError(f"unknown mapping option(s): {', '.join(sorted(unknown))}")
        self.target = target
        self.options = dict(options)
        self._counts.clear()

    def cancel(self) -> None:
        self.target = None
        self._counts.clear()

    def offer(self, event: ControlEvent) -> MappingConfig | None:
        """Look at one event; returns the learned mapping (and stops learning) once a control moved."""
        if self.target is None:
            return None
        try:
            source = self._source(event)
        except (ValueError, IndexError, TypeError):
            return None  # an address no control of ours makes (a hand-edited show log): not learnable
        if source is None:
            return None
        n = self._counts.get(source, 0) + 1
        self._counts[source] = n
        if n < self._needed(source):
            return None
        mapping = self._mapping(source)
        self.cancel()
        return mapping

    def _source(self, event: ControlEvent) -> str | None:
        a = event.address
        if a.startswith(OSC_PREFIX):
            return None  # already addressable without a mapping
        if a.startswith("/"):
            return a
        parts = a.split("/")
        if len(parts) < 3 or not is_midi(a):
            return None  # clock, start/stop: not something to learn
        kind = parts[1]
        if kind == "note" and not (isinstance(event.value, (int, float)) and event.value > 0):
            return None  # note-offs follow note-ons; learn from the press
        if kind == "program" and self.target != "scene":
            return None
        if kind == "cc":
            ch, num = parts[2], int(parts[3])
            if 32 <= num < 64 and self._counts.get(midi_address("cc", ch, num - 32)):
                # The LSB half of a 14-bit controller whose MSB we already saw.
                return midi_address("cc14", ch, num - 32)
            if num < 32 and self._counts.get(midi_address("cc14", ch, num)):
                return midi_address("cc14", ch, num)
        return a

    def _needed(self, source: str) -> int:
        kind = source.split("/")[1] if is_midi(source) else ""
        if kind in ("note", "program"):
            return 1
        if kind == "cc14":
            return 1  # seeing both halves is proof enough
        return _CONTINUOUS_MOVES

    def _mapping(self, source: str) -> MappingConfig:
        opts = dict(self.options)
        spec = self.registry[self.target] if self.target in self.registry else None
        if spec is not None and spec.kind == "bool" and source.startswith("midi/note/"):
            opts.setdefault("curve", "toggle")
        assert self.target is not None
        return MappingConfig(source=source, target=self.target, **opts)


def mapping_table(mapping: MappingConfig) -> dict[str, Any]:
    """The mapping as TOML-ready values, leaving out fields at their defaults."""
    out: dict[str, Any] = {"source": mapping.source, "target": mapping.target}
    for f in dataclasses.fields(MappingConfig):
        if f.name in out:
            continue
        value = getattr(mapping, f.name)
        default = f.default if f.default is not dataclasses.MISSING else None
        if value != default:
            out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def write_mapping(patch_path: str | Path, mapping: MappingConfig,
                  validate: Callable[[str, Path], object] | None = None) -> int:
    """Add ``mapping`` to the patch file, replacing mappings of the same source; returns how many it replaced.

    Everything else in the file (comments, order, formatting) is kept. ``validate(text, path)``
    (the app's patch parser) checks the new text as a whole patch before the file is replaced
    (atomically); whatever it raises leaves the file as it was.
    """
    path = Path(patch_path)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    doc = tomlkit.parse(text)
    table = mapping_table(mapping)
    replaced = 0
    existing = doc.get("mappings")
    if existing is None:
        aot = tomlkit.aot()
        aot.append(tomlkit.item(table))
        doc.append("mappings", aot)
    else:
        keep = [i for i, m in enumerate(existing) if m.get("source") != mapping.source]
        replaced = len(existing) - len(keep)
        for i in reversed(range(len(existing))):
            if i not in keep:
                del existing[i]
        existing.append(tomlkit.item(table) if isinstance(existing, tomlkit.items.AoT) else table)
    new_text = tomlkit.dumps(doc)
    if validate is not None:
        validate(new_text, path)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(new_text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return replaced
