"""MIDI (and OSC) learn: move a control, get a ``[[mappings]]`` entry written into the patch file.

Used two ways: the window drives a :class:`MidiLearn` (key L, choose a parameter, then every
drained event is offered to it before mapping), and ``livegen learn PARAM`` runs its own MIDI
inputs and OSC server in the terminal. :func:`write_mapping` edits the patch with tomlkit so
comments, order and formatting of everything else stay as they were; the running show picks
the change up through patch hot reload.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import tomlkit

from livegen.control.bus import ControlBus, ControlEvent
from livegen.control.mapping import ACTIONS, MappingConfig
from livegen.params import ParamRegistry

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
        if n < self._needed(source, event):
            return None
        mapping = self._mapping(source)
        self.cancel()
        return mapping

    def _source(self, event: ControlEvent) -> str | None:
        a = event.address
        if a.startswith("/livegen/"):
            return None  # already addressable without a mapping
        if a.startswith("/"):
            return a
        parts = a.split("/")
        if len(parts) < 3 or parts[0] != "midi":
            return None  # clock, start/stop: not something to learn
        kind = parts[1]
        if kind == "note" and not (isinstance(event.value, (int, float)) and event.value > 0):
            return None  # note-offs follow note-ons; learn from the press
        if kind == "program" and self.target != "scene":
            return None
        if kind == "cc":
            ch, num = parts[2], int(parts[3])
            if num >= 32 and num < 64 and self._counts.get(f"midi/cc/{ch}/{num - 32}"):
                # The LSB half of a 14-bit controller whose MSB we already saw.
                return f"midi/cc14/{ch}/{num - 32}"
            if num < 32 and self._counts.get(f"midi/cc14/{ch}/{num}"):
                return f"midi/cc14/{ch}/{num}"
        return a

    def _needed(self, source: str, event: ControlEvent) -> int:
        if source.startswith(("midi/note/", "midi/program/")):
            return 1
        if source.startswith("midi/cc14/"):
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


def write_mapping(patch_path: str | Path, mapping: MappingConfig, registry: ParamRegistry | None = None) -> int:
    """Add ``mapping`` to the patch file, replacing mappings of the same source; returns how many it replaced.

    Everything else in the file (comments, order, formatting) is kept. With ``registry`` the new
    text is validated as a whole patch before the file is replaced (atomically).
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
    if registry is not None:
        from livegen.patch import parse_patch

        parse_patch(new_text, path, registry)  # raises PatchError naming the key
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(new_text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return replaced


def main(argv: list[str]) -> int:
    """``livegen learn PARAM``: move a MIDI control (or send OSC) and write the mapping into the patch."""
    ap = argparse.ArgumentParser(prog="livegen learn",
                                 description="Map a MIDI control or OSC address to a parameter by moving it.")
    ap.add_argument("target", help="parameter (e.g. style.mix) or action (scene, record, quit)")
    ap.add_argument("--patch", default=None, help="patch file to write (default: patches/default.toml)")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for a control (default 60)")
    ap.add_argument("--no-osc", action="store_true", help="learn from MIDI only")
    ap.add_argument("--curve", choices=["linear", "exponential", "logarithmic", "step", "toggle"])
    ap.add_argument("--encoder", choices=["absolute", "twos-complement", "binary-offset"])
    ap.add_argument("--pickup", action="store_true", help="soft takeover for this control")
    ap.add_argument("--invert", action="store_true")
    ap.add_argument("--quantise", choices=["off", "beat", "bar"])
    ap.add_argument("--smoothing", type=float, help="seconds")
    ap.add_argument("--arg", help="action argument: scene name/number, record start/stop/toggle")
    ap.add_argument("--dry-run", action="store_true", help="print the mapping, do not write the patch")
    args = ap.parse_args(argv)

    from livegen import paths
    from livegen.control.addresses import AddressBook
    from livegen.control.midi import MidiInputs
    from livegen.control.osc import OscServer
    from livegen.patch import PatchError, load_patch
    from livegen.stages import default_registry

    patch_path = Path(args.patch) if args.patch else paths.DEFAULT_PATCH
    registry = default_registry()
    try:
        patch = load_patch(patch_path, registry)
    except PatchError as e:
        print(f"livegen learn: {e}", file=sys.stderr)
        return 2
    options = {k: v for k, v in (("curve", args.curve), ("encoder", args.encoder), ("quantise", args.quantise),
                                 ("smoothing", args.smoothing), ("arg", args.arg)) if v is not None}
    if args.pickup:
        options["pickup"] = True
    if args.invert:
        options["invert"] = True
    learn = MidiLearn(registry)
    try:
        learn.begin(args.target, **options)
    except ValueError as e:
        print(f"livegen learn: {e}", file=sys.stderr)
        return 2

    bus = ControlBus()
    t0 = time.monotonic()

    def now() -> float:
        return time.monotonic() - t0

    midi = MidiInputs(patch.midi, bus, now, client_name="livegen-learn").start()
    osc = None
    if not args.no_osc and patch.osc.enabled:
        try:
            book = AddressBook(registry)
            book.mapped = _AnyAddress()
            osc = OscServer(patch.osc, bus, now, book).start()
        except OSError as e:
            print(f"(OSC {patch.osc.host}:{patch.osc.port} busy: {e.strerror}; is a show running? MIDI only)",
                  file=sys.stderr)
    print(f"Move a control for {args.target} ... (Ctrl-C to cancel)", file=sys.stderr)
    for line in midi.status() + (osc.status() if osc else []):
        print("  " + line, file=sys.stderr)
    mapping = None
    try:
        while mapping is None and now() < args.timeout:
            for ev in bus.drain(now()):
                mapping = learn.offer(ev)
                if mapping is not None:
                    break
            time.sleep(0.01)
    except KeyboardInterrupt:
        print("cancelled", file=sys.stderr)
        return 1
    finally:
        midi.close()
        if osc is not None:
            osc.close()
    if mapping is None:
        print(f"livegen learn: no control moved within {args.timeout:g} s", file=sys.stderr)
        return 1
    snippet = tomlkit.dumps({"mappings": [mapping_table(mapping)]}).strip()
    if args.dry_run:
        print(snippet)
        return 0
    try:
        replaced = write_mapping(patch_path, mapping, registry)
    except PatchError as e:
        print(f"livegen learn: the mapping would make the patch invalid: {e}", file=sys.stderr)
        return 2
    print(snippet)
    note = f" (replaced {replaced} mapping{'s' if replaced != 1 else ''} of {mapping.source})" if replaced else ""
    print(f"written to {patch_path}{note}", file=sys.stderr)
    return 0


class _AnyAddress(set):
    """Lets the learn server accept every OSC address: anything may become a mapping source."""

    def __contains__(self, item: object) -> bool:
        return isinstance(item, str)
