"""Command line: ``livegen run | render | devices | bench | osc-schema | learn | train | eval | stylize``.

The show commands (run, render, devices) live here; tool commands delegate to the module that
owns them (each has ``main(argv) -> int`` and its own options).
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

# Sub-commands owned by other modules: "cmd" or "cmd sub" -> module with main(argv).
DELEGATES = {
    "osc-schema": ("livegen.control.osc", "schema_main"),
    "learn": ("livegen.control.learn", "main"),
    "stylize": ("livegen.stylize", "main"),
    "train data": ("livegen.train.data", "main"),
    "train gan": ("livegen.train.gan", "main"),
    "train vae": ("livegen.train.vae", "main"),
    "train style": ("livegen.train.style", "main"),
    "train style-data": ("livegen.train.style_data", "main"),
    "train import-dcgan": ("livegen.train.import_dcgan", "main"),
    "train upsample": ("livegen.train.upsample", "main"),
    "sheet": ("livegen.sheet", "main"),
    "eval gen": ("livegen.train.evaluate_gen", "main"),
    "bench style": ("livegen.bench.style", "main"),
    "bench osc": ("livegen.bench.osc_flood", "main"),
    "bench engine": ("livegen.bench.engine", "main"),
    "bench cuda": ("livegen.bench.cuda_check", "main"),
    "bench upscale": ("livegen.bench.upscale", "main"),
    "bench motion": ("livegen.bench.motion", "main"),
}

log = logging.getLogger("livegen")


def _size(text: str) -> tuple[int, int]:
    from livegen.patch import parse_size

    try:
        return parse_size(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _load(patch_path: str | None):  # noqa: ANN202 — returns Patch; import kept lazy (torch is slow)
    from livegen.patch import PatchError, load_patch
    from livegen.paths import DEFAULT_PATCH

    path = Path(patch_path) if patch_path else DEFAULT_PATCH
    try:
        return load_patch(path)
    except PatchError as e:
        print(f"livegen: {e}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_run(args: argparse.Namespace) -> int:
    """Play a patch live in a window until Esc/Q (or --seconds)."""
    from livegen.clock import WallClock
    from livegen.control.sources import start_control_sources
    from livegen.engine import Engine
    from livegen.live import LiveRunner
    from livegen.pipeline import pick_device
    from livegen.sinks.window import WindowSink
    from livegen.sources.feed import CameraFeed

    patch = _load(args.patch)
    size = args.size or patch.output.wh
    try:
        device = pick_device(args.device or patch.device)
    except RuntimeError as e:
        print(f"livegen: {e}", file=sys.stderr)
        return 2
    source = args.camera if args.camera is not None else patch.camera.source
    feed = CameraFeed(source, size, patch.camera.mirror, patch.camera.loop, lockstep=False)
    clock = WallClock()
    engine = Engine(patch, device, size, camera=feed, camera_status=feed.status, watch=True)
    controls = start_control_sources(patch, engine.bus, clock.now, engine.registry)
    if args.record:
        engine.start_recording(Path(args.record))
    window = WindowSink(size, title=f"livegen — {patch.name}", fullscreen=args.fullscreen or patch.output.fullscreen,
                        display=args.display if args.display is not None else patch.output.display,
                        hud=patch.output.hud if args.hud is None else args.hud)
    runner = LiveRunner(engine, window, clock, display_fps=args.display_fps, model_fps=patch.output.fps,
                        controls=controls)

    def restart_controls(old: Any, new: Any) -> None:
        # A saved patch with new OSC/MIDI settings takes effect without stopping the show.
        if asdict(old.osc) != asdict(new.osc) or asdict(old.midi) != asdict(new.midi):
            runner.controls.close()
            runner.controls = start_control_sources(new, engine.bus, clock.now, engine.registry)

    engine.on_patch_reload.append(restart_controls)
    log.info("playing %s on %s at %dx%d — %s", patch.name, device, size[0], size[1], feed.status())
    try:
        return runner.run(max_seconds=args.seconds)
    finally:
        runner.controls.close()
        feed.close()
        engine.close()
        window.close()


def cmd_render(args: argparse.Namespace) -> int:
    """Render headless, frame-exact, to a video file or a PNG folder."""
    from livegen.render import render

    patch = _load(args.patch)
    if args.seed is not None:
        patch.seed = args.seed
    try:
        result = render(patch, args.out, frames=args.frames, fps=args.fps, size=args.size,
                        controls=args.controls or [], device=args.device, progress=not args.quiet)
    except (OSError, ValueError) as e:
        print(f"livegen render: {e}", file=sys.stderr)
        return 1
    print(f"rendered {result.frames} frames to {result.out}")
    return 0


def cmd_devices(args: argparse.Namespace) -> int:
    """List cameras that open, MIDI ports, and the torch device livegen would use."""
    import cv2
    import torch

    info: dict = {"torch": torch.__version__, "device": "cuda" if torch.cuda.is_available() else "cpu"}
    if torch.cuda.is_available():
        info["cuda"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    from livegen.sources.camera import DEVICE_BACKEND

    cams = []
    for index in range(args.max_cameras):
        cap = cv2.VideoCapture(index, DEVICE_BACKEND)
        if cap.isOpened():
            ok, frame = cap.read()
            cams.append({"index": index, "reads": bool(ok),
                         "size": f"{frame.shape[1]}x{frame.shape[0]}" if ok else None})
        cap.release()
    info["cameras"] = cams
    info.update(_midi_ports())
    print(json.dumps(info, indent=2))
    return 0


def _midi_ports() -> dict:
    """MIDI ports through the same API the show's MIDI input would use (ALSA, else JACK)."""
    import mido

    from livegen.control.midi import resolve_api

    backend = "mido.backends.rtmidi/" + ("UNIX_JACK" if resolve_api("auto") == "jack" else "LINUX_ALSA")
    try:
        b = mido.Backend(backend, load=True)
        return {"midi_backend": backend, "midi_inputs": b.get_input_names(), "midi_outputs": b.get_output_names()}
    except Exception as e:  # noqa: BLE001 — no MIDI system is a normal answer here
        return {"midi": f"unavailable ({backend}: {e})"}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="livegen", description="live neural visuals")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="cmd", required=True)

    r = sub.add_parser("run", help="play a patch live in a window")
    r.add_argument("patch", nargs="?", help="patch file (default: patches/default.toml)")
    r.add_argument("--fullscreen", action="store_true")
    r.add_argument("--display", type=int, default=None, help="display index for the window")
    r.add_argument("--size", type=_size, default=None, help="output size WxH")
    r.add_argument("--device", choices=["auto", "cpu", "cuda"], default=None)
    r.add_argument("--camera", default=None, help="camera index or video file (overrides the patch)")
    r.add_argument("--record", default=None, help="record every control event to this show log (.jsonl)")
    r.add_argument("--display-fps", type=float, default=60.0, help="window repaint rate")
    r.add_argument("--hud", dest="hud", action="store_true", default=None)
    r.add_argument("--no-hud", dest="hud", action="store_false")
    r.add_argument("--seconds", type=float, default=None, help="stop after this many seconds")
    r.add_argument("--threads", type=int, default=None, help="CPU threads for the nets (default: torch's)")
    r.set_defaults(func=cmd_run)

    d = sub.add_parser("render", help="render headless with the lockstep clock")
    d.add_argument("patch")
    d.add_argument("--frames", type=int, default=None)
    d.add_argument("--fps", type=float, default=None)
    d.add_argument("--size", type=_size, default=None)
    d.add_argument("--controls", nargs="*", default=[], help="show logs (.jsonl) or MIDI files (.mid)")
    d.add_argument("--out", required=True, help="video file (.mp4/.avi/.mkv) or folder/ for PNG frames")
    d.add_argument("--device", choices=["auto", "cpu", "cuda"], default=None)
    d.add_argument("--seed", type=int, default=None)
    d.add_argument("--quiet", action="store_true")
    d.add_argument("--threads", type=int, default=None, help="CPU threads for the nets (default: torch's)")
    d.set_defaults(func=cmd_render)

    v = sub.add_parser("devices", help="list cameras, MIDI ports and the torch device")
    v.add_argument("--max-cameras", type=int, default=4)
    v.set_defaults(func=cmd_devices)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.DEBUG if "-v" in argv or "--verbose" in argv else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s: %(message)s", datefmt="%H:%M:%S")
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    words = [a for a in argv if not a.startswith("-")][:2]
    if argv and argv[0] == "bench" and (len(argv) == 1 or argv[1].startswith("-")):
        argv = ["bench", "engine", *argv[1:]]
        words = ["bench", "engine"]
    for n in (2, 1):
        key = " ".join(words[:n])
        if key in DELEGATES and argv[:n] == words[:n]:
            module, func = DELEGATES[key]
            return int(getattr(importlib.import_module(module), func)(argv[n:]) or 0)
    single = ("osc-schema", "learn", "stylize", "sheet")
    if argv and argv[0] in {k.split()[0] for k in DELEGATES} and argv[0] not in single:
        subs = sorted(k.split()[1] for k in DELEGATES if k.startswith(argv[0] + " "))
        print(f"livegen {argv[0]}: choose one of {', '.join(subs)}", file=sys.stderr)
        return 2
    args = build_parser().parse_args(argv)
    if getattr(args, "threads", None):
        import torch

        torch.set_num_threads(args.threads)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
