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
import signal
import sys
import threading
from pathlib import Path

from livegen.size import Size, parse_size

# Sub-commands owned by other modules: "cmd" or "cmd sub" -> module with main(argv).
DELEGATES = {
    "osc-schema": ("livegen.control_cli", "osc_schema_main"),
    "learn": ("livegen.control_cli", "learn_main"),
    "patch-schema": ("livegen.patch", "schema_main"),
    "stylize": ("livegen.stylize", "main"),
    "train data": ("livegen.train.data", "main"),
    "train gan": ("livegen.train.gan", "main"),
    "train vae": ("livegen.train.vae", "main"),
    "train style": ("livegen.train.style", "main"),
    "train style-data": ("livegen.train.style_data", "main"),
    "train import-dcgan": ("livegen.train.import_dcgan", "main"),
    "eval gen": ("livegen.train.evaluate_gen", "main"),
    "bench style": ("livegen.bench.style", "main"),
    "bench osc": ("livegen.bench.osc_flood", "main"),
    "bench engine": ("livegen.bench.engine", "main"),
    "bench cuda": ("livegen.bench.cuda_check", "main"),
    "bench soak": ("livegen.bench.soak", "main"),
    "bench budget": ("livegen.bench.budget", "main"),
    "bench latency": ("livegen.bench.latency", "main"),
    "bench palette": ("livegen.bench.palette", "main"),
    "analyze": ("livegen.assist.analyze", "main"),
    "suggest": ("livegen.assist.suggest", "main"),
}

log = logging.getLogger("livegen")


def _size(text: str) -> Size:

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
    from livegen.live import run

    patch = _load(args.patch)
    try:
        return run(patch, seconds=args.seconds, size=args.size, device=args.device, camera=args.camera,
                   record=args.record, force=args.force, fullscreen=args.fullscreen, display=args.display, hud=args.hud,
                   display_fps=args.display_fps)
    except (RuntimeError, OSError) as e:
        print(f"livegen run: {e}", file=sys.stderr)
        return 2


def cmd_render(args: argparse.Namespace) -> int:
    """Render headless, frame-exact, to a video file or a PNG folder."""
    from livegen.render import RenderError, render

    patch = _load(args.patch)
    if args.seed is not None:
        patch.seed = args.seed
    # systemd, docker stop, timeout and Ctrl-C end a render with a finished, shorter file.
    stop = threading.Event()
    caught: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        caught.append(signum)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        result = render(patch, args.out, frames=args.frames, fps=args.fps, size=args.size,
                        controls=args.controls or [], device=args.device, progress=not args.quiet,
                        allow_missing=args.allow_missing, strict=args.strict, stop=stop)
    except (OSError, ValueError, RuntimeError, RenderError) as e:
        print(f"livegen render: {e}", file=sys.stderr)
        return 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if result.stopped:
        name = signal.Signals(caught[0]).name if caught else "a stop request"
        print(f"livegen render: stopped by {name} after {result.frames} frames; {result.out} holds them "
              "and plays", file=sys.stderr)
        return 128 + caught[0] if caught else 1
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
    r.add_argument("--force", action="store_true", help="let --record replace an existing show log")
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
    d.add_argument("--allow-missing", action="store_true",
                   help="render even when a layer the patch names is off (its model missing or broken)")
    d.add_argument("--strict", action="store_true",
                   help="refuse to replay a show log into a different patch or model")
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
    groups = {k.split()[0] for k in DELEGATES if " " in k}
    if argv and argv[0] in groups:
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
