"""`livegen stylize`: stills and video files through a style model, offline; and the Gatys reference.

Not part of the live frame loop, but it runs exactly the style layer's per-frame path
(internal scale, upsampling, style weights, stabilisation) so an offline render looks
like the show. ``--optimize`` runs the Gatys et al. optimisation instead: the image itself is
optimised against the VGG16 content and Gram-matrix losses (slow; the quality reference).
"""

from __future__ import annotations

import argparse
import queue
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from livegen.nets.cin import style_weights
from livegen.nets.io import ModelError
from livegen.nets.style import load_style_model
from livegen.sinks import to_uint8
from livegen.sinks.files import FOURCC, VideoFileSink
from livegen.size import Size
from livegen.stages.color import keep_colors
from livegen.stages.style import SPECS, OutputSmoother, pick_runtime, run_net

VIDEO_EXTS = (".mp4", ".avi", ".mov", ".mkv", ".m4v", ".webm", ".mpg")


def to_tensor(bgr: np.ndarray) -> torch.Tensor:
    """OpenCV BGR uint8 image -> (1,3,H,W) RGB float [0,1]."""
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    return torch.from_numpy(rgb).permute(2, 0, 1).unsqueeze(0).float().div_(255.0)


def to_bgr(t: torch.Tensor) -> np.ndarray:
    rgb = (t[0].clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255.0 + 0.5).astype(np.uint8)
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)


def parse_style(spec: str, keys: list[str]) -> list[float]:
    """``2`` (1-based index), ``scream`` (a key), or ``1:0.5,3:0.5`` (weights) -> weight list."""
    n = len(keys)
    weights = [0.0] * n
    for part in spec.split(","):
        name, _, wt = part.strip().partition(":")
        if name in keys:
            idx = keys.index(name)
        else:
            try:
                idx = int(name) - 1
            except ValueError:
                raise ValueError(f"style {name!r}: give a number 1..{n} or one of {', '.join(keys)}") from None
        if not 0 <= idx < n:
            raise ValueError(f"style {name!r}: this model has styles 1..{n} ({', '.join(keys)})")
        weights[idx] += float(wt) if wt else 1.0
    return weights


class FrameStyler:
    """The style stage's per-frame operation, usable offline (same runtime choice, colour and smoothing)."""

    def __init__(self, model: str | Path, style: str = "1", scale: float = SPECS["style.scale"].default,
                 strength: float = 1.0, stabilize: float = 0.0, upsample: str = "detail",
                 color: float = SPECS["style.color"].default, runtime: str = "auto") -> None:
        self.net, self.manifest = load_style_model(model)
        n = getattr(self.net, "n_styles", 1)
        keys = [s.get("key", f"style{i + 1}") for i, s in enumerate(self.manifest.get("styles", []))]
        keys += [f"style{i + 1}" for i in range(len(keys), n)]
        self.keys = keys
        self.w = style_weights(n, weights=parse_style(style, keys))
        self.scale, self.strength, self.upsample, self.color = scale, strength, upsample, color
        self.runner, self.runtime = pick_runtime(self.net, torch.device("cpu"), runtime)
        self.smoother = OutputSmoother()
        self.set_stabilize(stabilize)

    def set_stabilize(self, amount: float) -> None:
        self.stabilize = amount
        self.runner.set_stabilize(amount)

    @torch.inference_mode()
    def __call__(self, frame: torch.Tensor) -> torch.Tensor:
        out = keep_colors(run_net(self.runner, frame, self.w, self.scale, self.upsample), frame, self.color)
        out = self.smoother(frame, out, self.stabilize)
        return out if self.strength >= 1.0 else torch.lerp(frame, out, self.strength)


_END = object()


def stylize_video(styler: FrameStyler, src: Path, dst: Path, max_frames: int = 0, progress: bool = True) -> int:
    """Frame by frame, same size and rate as the input; returns the number of frames written.

    Decoding, the net and encoding overlap: a reader thread decodes ahead and a writer thread
    encodes behind (OpenCV releases the GIL in both), so the net's time is most of the total.
    """
    from tqdm import tqdm

    if dst.suffix.lower() not in FOURCC:
        raise OSError(f"{dst}: unsupported video extension; use one of {', '.join(FOURCC)}")
    cap = cv2.VideoCapture(str(src))
    if not cap.isOpened():
        raise OSError(f"{src}: cannot open video")
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    if max_frames:
        total = min(total, max_frames) if total else max_frames
    decoded: queue.Queue = queue.Queue(maxsize=4)
    encoded: queue.Queue = queue.Queue(maxsize=4)
    stop = threading.Event()
    errors: list[BaseException] = []

    def read() -> None:
        n = 0
        try:
            while not stop.is_set() and (not max_frames or n < max_frames):
                ok, bgr = cap.read()
                if not ok:
                    break
                decoded.put(bgr)
                n += 1
        finally:
            decoded.put(_END)

    def write() -> None:
        writer = None
        try:
            while (out := encoded.get()) is not _END:
                if writer is None:
                    writer = VideoFileSink(dst, fps, Size(out.shape[1], out.shape[0]))
                writer.write(out)
        except BaseException as e:  # noqa: BLE001 — handed to the caller's thread
            errors.append(e)
            stop.set()
            while encoded.get() is not _END:
                pass
        finally:
            if writer is not None:
                try:
                    writer.close()
                except OSError as e:
                    errors.append(e)

    reader = threading.Thread(target=read, name="stylize-read", daemon=True)
    writer_thread = threading.Thread(target=write, name="stylize-write", daemon=True)
    reader.start()
    writer_thread.start()
    count = 0
    bar = tqdm(total=total or None, disable=not progress, desc="stylize", unit="frame")
    try:
        while (bgr := decoded.get()) is not _END:
            if stop.is_set():
                continue  # drain the reader so it can finish
            encoded.put(to_uint8(styler(to_tensor(bgr))))
            count += 1
            bar.update(1)
    finally:
        stop.set()
        encoded.put(_END)
        writer_thread.join()
        reader.join(timeout=10)
        bar.close()
        cap.release()
    if errors:
        raise errors[0] if isinstance(errors[0], OSError) else OSError(f"{dst}: {errors[0]}")
    return count


def gatys(content: torch.Tensor, style: torch.Tensor, vgg, steps: int = 200, content_weight: float = 1.0,
          style_weight: float = 1.5, tv_weight: float = 0.5, log=None) -> torch.Tensor:
    """Optimise the image itself (L-BFGS, starting from the content photo) for the same relative
    VGG16 losses the feed-forward nets are trained on."""
    from livegen.train.style import StyleLoss, tv_loss

    loss_fn = StyleLoss(vgg, [style])
    x = content.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([x], lr=1.0, max_iter=steps, history_size=20, line_search_fn="strong_wolfe")
    zeros = torch.zeros(content.shape[0], dtype=torch.long)
    calls = [0]

    def closure() -> torch.Tensor:
        opt.zero_grad()
        xc = x.clamp(0.0, 1.0)
        c, s = loss_fn(xc, content, zeros)
        loss = content_weight * c + style_weight * s + tv_weight * tv_loss(xc)
        loss.backward()
        calls[0] += 1
        if log and calls[0] % 25 == 0:
            log(f"gatys: eval {calls[0]}: content {float(c):.3f} style {float(s):.3f}")
        return loss

    opt.step(closure)
    return x.detach().clamp(0.0, 1.0)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="livegen stylize", description=__doc__.splitlines()[0])
    ap.add_argument("input", type=Path, help="image or video file (the content photo with --optimize)")
    ap.add_argument("-o", "--out", type=Path, required=True)
    ap.add_argument("--model", default="models/style3", help="style model (.safetensors; extension optional)")
    ap.add_argument("--style", default="1",
                    help="fast net: 1-based index, key, or weights like 1:0.5,3:0.5; --optimize: a style image")
    ap.add_argument("--scale", type=float, default=SPECS["style.scale"].default,
                    help="internal resolution of the net (fraction)")
    ap.add_argument("--strength", type=float, default=1.0)
    ap.add_argument("--color", type=float, default=SPECS["style.color"].default,
                    help="0 = the style's colours, 1 = keep the input's colours (luminance-only transfer)")
    ap.add_argument("--runtime", choices=("auto", "onnxruntime", "torch"), default="auto",
                    help="who runs the net on the CPU (auto: ONNX Runtime when installed)")
    ap.add_argument("--stabilize", type=float, default=SPECS["style.stabilize"].default,
                    help="video: temporal smoothing of norm statistics")
    ap.add_argument("--upsample", choices=("detail", "guided", "bilinear"), default="detail",
                    help="how the net's internal picture returns to full size")
    ap.add_argument("--max-frames", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    ap.add_argument("--optimize", action="store_true", help="Gatys optimisation instead of the fast net")
    ap.add_argument("--size", type=int, default=384, help="--optimize: longer side of the result")
    ap.add_argument("--steps", type=int, default=200, help="--optimize: L-BFGS iterations")
    ap.add_argument("--style-weight", type=float, default=1.5,
                    help="--optimize: style vs content weight (1.5: the weights the shipped nets were trained with)")
    ap.add_argument("--vgg", default=None, help="--optimize: converted VGG16 trunk")
    ap.add_argument("--no-progress", action="store_true")
    a = ap.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    if not a.input.exists():
        print(f"livegen stylize: {a.input}: no such file", file=sys.stderr)
        return 1
    t0 = time.perf_counter()
    if a.optimize:
        from livegen.nets.vgg import load_trunk
        from livegen.paths import VGG_TRUNK
        from livegen.train.style import fit_side, read_rgb

        try:
            vgg = load_trunk(a.vgg or VGG_TRUNK)
            content = fit_side(read_rgb(a.input), a.size)
            style = fit_side(read_rgb(a.style), 256)
        except (ModelError, FileNotFoundError) as e:
            print(f"livegen stylize: {e}", file=sys.stderr)
            return 1
        out = gatys(content, style, vgg, a.steps, style_weight=a.style_weight,
                    log=None if a.no_progress else print)
        a.out.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(a.out), to_bgr(out))
        print(f"livegen stylize: Gatys {a.steps} iterations in {time.perf_counter() - t0:.1f} s -> {a.out}")
        return 0
    model = Path(a.model)
    if model.suffix != ".safetensors":
        model = model.with_suffix(".safetensors")
    from livegen import paths

    model = paths.resolve(model)
    try:
        styler = FrameStyler(model, a.style, a.scale, a.strength, a.stabilize, a.upsample, a.color, a.runtime)
    except (ModelError, ValueError) as e:
        print(f"livegen stylize: {e}", file=sys.stderr)
        return 1
    if a.input.suffix.lower() in VIDEO_EXTS:
        try:
            n = stylize_video(styler, a.input, a.out, a.max_frames, progress=not a.no_progress)
        except OSError as e:
            print(f"livegen stylize: {e}", file=sys.stderr)
            return 1
        print(f"livegen stylize: {n} frames in {time.perf_counter() - t0:.1f} s -> {a.out}")
        return 0 if n else 1
    bgr = cv2.imread(str(a.input), cv2.IMREAD_COLOR)
    if bgr is None:
        print(f"livegen stylize: {a.input}: not a readable image", file=sys.stderr)
        return 1
    styler.set_stabilize(0.0)  # a still has no previous frame
    a.out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(a.out), to_bgr(styler(to_tensor(bgr)))):
        print(f"livegen stylize: cannot write {a.out}", file=sys.stderr)
        return 1
    print(f"livegen stylize: {a.input} -> {a.out} ({time.perf_counter() - t0:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
