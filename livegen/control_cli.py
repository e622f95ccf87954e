"""Command-line tools around a show's controls: ``livegen osc-schema`` and ``livegen learn``.

App level: these load a patch and unpack it into the pieces the control modules take (OSC and
MIDI settings, mappings, scene names), so that nothing in :mod:`livegen.control` imports the patch.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, get_args

import tomlkit

from livegen import paths
from livegen.control.audio import FEATURES, is_audio
from livegen.control.audio import PREFIX as AUDIO_PREFIX
from livegen.control.bus import ControlBus
from livegen.control.learn import MidiLearn, mapping_table, write_mapping
from livegen.control.mapping.schema import Curve, Encoder, Quantise
from livegen.control.midi import MidiInputs
from livegen.control.midikinds import is_midi
from livegen.control.osc.schema import AddressBook, schema
from livegen.control.osc.server import OscServer
from livegen.control.osc.touchosc import write_touchosc
from livegen.params import ParamRegistry
from livegen.patch import Patch, PatchError, load_patch, parse_patch
from livegen.stages import default_registry


def osc_schema_main(argv: list[str]) -> int:
    """``livegen osc-schema [PATCH]``: print the OSC address space as JSON."""
    ap = argparse.ArgumentParser(prog="livegen osc-schema",
                                 description="Print every OSC address livegen answers to, as JSON.")
    ap.add_argument("patch", nargs="?", help="patch file (default: patches/default.toml)")
    ap.add_argument("--compact", action="store_true", help="one line instead of indented JSON")
    ap.add_argument("--touchosc", metavar="FILE",
                    help="also write a TouchOSC layout (.tosc): a fader, switch or button per parameter and scene")
    args = ap.parse_args(argv)
    registry = default_registry()
    try:
        if args.patch:
            patch = load_patch(args.patch, registry)
        elif paths.DEFAULT_PATCH.exists():
            patch = load_patch(paths.DEFAULT_PATCH, registry)
        else:
            patch = Patch()
    except PatchError as e:
        print(f"livegen osc-schema: {e}", file=sys.stderr)
        return 2
    if args.touchosc:
        try:
            n = write_touchosc(args.touchosc, registry, patch.scenes)
        except OSError as e:
            print(f"livegen osc-schema: cannot write {args.touchosc}: {e.strerror or e}", file=sys.stderr)
            return 1
        print(f"wrote {args.touchosc}: {n} controls sending to {patch.osc.host}:{patch.osc.port} "
              "(set TouchOSC's OSC connection to that host and port, and [osc] feedback to the tablet's "
              "address to make its faders follow)", file=sys.stderr)
    json.dump(patch_osc_schema(patch, registry), sys.stdout, indent=None if args.compact else 2)
    sys.stdout.write("\n")
    return 0


def patch_osc_schema(patch: Patch, registry: ParamRegistry) -> dict[str, Any]:
    """The OSC address space of ``patch`` (see :func:`livegen.control.osc.schema.schema`)."""
    mapped = [(m.source, m.target) for m in patch.mappings if not is_midi(m.source) and not is_audio(m.source)]
    out = schema(registry, patch.osc, mapped, patch.scenes)
    # Not OSC, but mapped the same way: the sources a [[mappings]] entry can name besides OSC and MIDI.
    out["audio_sources"] = [{"source": AUDIO_PREFIX + f, "range": [0, 300] if f == "bpm" else [0, 1]}
                            for f in FEATURES]
    return out


def learn_main(argv: list[str]) -> int:
    """``livegen learn PARAM``: move a MIDI control (or send OSC) and write the mapping into the patch."""
    ap = argparse.ArgumentParser(prog="livegen learn",
                                 description="Map a MIDI control or OSC address to a parameter by moving it.")
    ap.add_argument("target", help="parameter (e.g. style.mix), action (record, quit) or scene:NAME")
    ap.add_argument("--patch", default=None, help="patch file to write (default: patches/default.toml)")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for a control (default 60)")
    ap.add_argument("--no-osc", action="store_true", help="learn from MIDI only")
    ap.add_argument("--curve", choices=get_args(Curve))
    ap.add_argument("--encoder", choices=get_args(Encoder))
    ap.add_argument("--pickup", action="store_true", help="soft takeover for this control")
    ap.add_argument("--invert", action="store_true")
    ap.add_argument("--quantise", choices=get_args(Quantise))
    ap.add_argument("--smoothing", type=float, help="seconds")
    ap.add_argument("--arg", help="action argument: scene name/number, record start/stop/toggle")
    ap.add_argument("--dry-run", action="store_true", help="print the mapping, do not write the patch")
    args = ap.parse_args(argv)

    patch_path = Path(args.patch) if args.patch else paths.DEFAULT_PATCH
    registry = default_registry()
    try:
        patch = load_patch(patch_path, registry)
    except PatchError as e:
        print(f"livegen learn: {e}", file=sys.stderr)
        return 2
    patch_path = patch.source_path or patch_path  # a shipped patch named without a path is written where it is
    options = {k: v for k, v in (("curve", args.curve), ("encoder", args.encoder), ("quantise", args.quantise),
                                 ("smoothing", args.smoothing), ("arg", args.arg)) if v is not None}
    if args.pickup:
        options["pickup"] = True
    if args.invert:
        options["invert"] = True
    if args.target == "scene" and "arg" not in options:
        print("livegen learn: a scene pad needs the scene it recalls: learn scene:NAME or --arg NAME "
              f"(scenes: {', '.join(patch.scenes) or 'none'}); program change recalls scenes without a mapping",
              file=sys.stderr)
        return 2
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

    midi = None
    if patch.midi.enabled:
        try:
            midi = MidiInputs(patch.midi, bus, now, client_name="livegen-learn").start()
        except (ImportError, ValueError) as e:
            print(f"livegen learn: MIDI off: {e}", file=sys.stderr)
    osc = None
    if not args.no_osc and patch.osc.enabled:
        try:
            book = AddressBook(registry)
            book.mapped = _AnyAddress()
            osc = OscServer(patch.osc, bus, now, book).start()
        except OSError as e:
            print(f"(OSC {patch.osc.host}:{patch.osc.port} busy: {e.strerror}; is a show running? MIDI only)",
                  file=sys.stderr)
    midi_ok = midi is not None and not midi.error
    if not midi_ok and osc is None:
        why = midi.error if midi is not None else "MIDI is off in the patch or unavailable"
        print(f"livegen learn: nothing to learn from: {why}; OSC is off or busy. "
              "Start the MIDI system (or plug in the controller) or enable [osc], then try again", file=sys.stderr)
        if midi is not None:
            midi.close()
        return 1
    what = "Move a MIDI control" if midi_ok else f"No MIDI system ({midi.error if midi else 'off'}): send OSC"
    if midi_ok and osc is not None:
        what += " or send OSC"
    print(f"{what} for {args.target} ... (Ctrl-C to cancel)", file=sys.stderr)
    for line in (midi.status() if midi else []) + (osc.status() if osc else []):
        print("  " + line, file=sys.stderr)
    mapping = None
    told = ""
    try:
        while mapping is None and now() < args.timeout:
            for ev in bus.drain(now()):
                mapping = learn.offer(ev)
                if mapping is not None:
                    break
                if learn.skipped and learn.skipped != told:
                    told = learn.skipped
                    print(f"  ignored: {told}", file=sys.stderr)
            time.sleep(0.01)
    except KeyboardInterrupt:
        print("cancelled", file=sys.stderr)
        return 1
    finally:
        if midi is not None:
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
        replaced = write_mapping(patch_path, mapping, lambda text, path: parse_patch(text, path, registry))
    except PatchError as e:
        print(f"livegen learn: the mapping would make the patch invalid: {e}", file=sys.stderr)
        return 2
    print(snippet)
    note = f" (replaced {replaced} mapping{'s' if replaced != 1 else ''} of {mapping.source})" if replaced else ""
    print(f"written to {patch_path}{note}", file=sys.stderr)
    return 0


class _AnyAddress(set[str]):
    """Lets the learn server accept every OSC address: anything may become a mapping source."""

    def __contains__(self, item: object) -> bool:
        return isinstance(item, str)
