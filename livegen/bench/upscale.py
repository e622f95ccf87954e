"""Learned upsampler against bicubic (``livegen bench upscale``): sharpness and milliseconds.

Sharpness is measured at the output frame size on crops of the dataset's HELD-OUT pictures (never
seen by the upsampler or the generator): a square region is box-resized to 128 px (what the
generator draws) and to the frame's long side (640 px for 640x480: the truth), and each method
brings the 128 px picture to the frame (cover) through the live upscale stage. Figures: PSNR
against the truth's cover crop, and gradient energy (mean |∂x| + |∂y|) as a share of the truth's
(1.0 = as much fine detail as the real picture; every method from 128 px is well below: soft).

Time is the live path at the output size on ``--threads`` threads, through the generator's own
upscale stage (:class:`~livegen.stages.upscale.Upscaler`, 128 px → frame, cover): ``bilinear``
and ``bicubic`` are the plain filters, ``learned`` is the model (the net on the visible part of
the picture, then bilinear); ``sharpen A`` rows add the ``generator.sharpen`` unsharp mask. Median
and minimum of ``--repeats`` runs and the CPU time; the machine's load average is recorded, since
on a shared CPU the wall median includes other processes' time. A table of the figures side by
side ends the printout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from livegen.paths import model_file
from livegen.size import Size, parse_size
from livegen.stages.upscale import Upscaler
from livegen.train.upsample import BASE, make_pairs, sources_of, to_float


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = float(((a.clamp(0, 1) - b) ** 2).mean())
    return float("inf") if mse == 0 else 10 * np.log10(1.0 / mse)


def grad_energy(x: torch.Tensor) -> float:
    return float((x[..., :, 1:] - x[..., :, :-1]).abs().mean() + (x[..., 1:, :] - x[..., :-1, :]).abs().mean())


Method = Callable[[torch.Tensor], torch.Tensor]


def methods(stage: Upscaler, size: Size, sharpen: tuple[float, ...] = (0.0,)) -> dict[str, Method]:
    """Each method brings a 128 px picture to the ``size`` frame (cover), as the generator stage does;
    bicubic and learned are also measured at each non-zero ``generator.sharpen`` amount."""
    out: dict[str, Method] = {
        "bilinear": lambda x: stage.to_frame(x, size, "cover", "bilinear")}
    for amount in sharpen:
        tag = f", sharpen {amount:g}" if amount else ""
        out[f"bicubic{tag}"] = lambda x, a=amount: stage.to_frame(x, size, "cover", "bicubic", a)
        out[f"learned{tag}"] = lambda x, a=amount: stage.to_frame(x, size, "cover", sharpen=a)
    return out


def frame_truth(high: torch.Tensor, size: Size) -> torch.Tensor:
    """The cover crop of square truth pictures that a ``size`` frame shows."""
    side = high.shape[-1]
    y, x = (side - size.h) // 2, (side - size.w) // 2
    return high[..., y:y + size.h, x:x + size.w]


@torch.no_grad()
def sharpness(stage: Upscaler, low: torch.Tensor, high: torch.Tensor, size: Size,
              sharpen: tuple[float, ...]) -> dict[str, dict[str, float]]:
    truth = frame_truth(high, size)
    truth_energy = grad_energy(truth)
    out = {}
    for name, fn in methods(stage, size, sharpen).items():
        ps, en = [], []
        for lo, hi in zip(low.split(8), truth.split(8), strict=True):
            y = fn(lo)
            ps.append(psnr(y, hi))
            en.append(grad_energy(y))
        out[name] = {"psnr_db": round(float(np.mean(ps)), 2),
                     "grad_energy_vs_truth": round(float(np.mean(en)) / truth_energy, 3)}
    return out


@torch.no_grad()
def time_ms(fn: Callable[[], torch.Tensor], repeats: int) -> dict[str, float]:
    """Wall ms (median, min) and CPU ms (median process time, all threads together). On a busy
    machine wall time includes waiting for the CPU; CPU time is the work itself."""
    for _ in range(5):
        fn()
    ts, cs = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        ts.append((time.perf_counter() - t0) * 1000)
        cs.append((time.process_time() - c0) * 1000)
    return {"median_ms": round(float(np.median(ts)), 2), "min_ms": round(float(np.min(ts)), 2),
            "cpu_ms": round(float(np.median(cs)), 2)}


def timings(stage: Upscaler, sizes: list[Size], repeats: int, threads: list[int], sharpen: tuple[float, ...],
            native: int = 128) -> dict[str, dict]:
    img = torch.rand(1, 3, native, native, generator=torch.Generator().manual_seed(0))
    out: dict[str, dict] = {}
    old = torch.get_num_threads()
    for n in threads:
        torch.set_num_threads(n)
        for size in sizes:
            out[f"{size}, {n} thread{'s' if n > 1 else ''}"] = {
                name: time_ms(lambda fn=fn: fn(img), repeats) for name, fn in methods(stage, size, sharpen).items()}
    torch.set_num_threads(old)
    return out


def table(result: dict) -> str:
    """Sharpness and time side by side, one row per method."""
    timing = result["timing"]
    head = f"{'method':22} {'PSNR dB':>8} {'detail':>7}" + "".join(f"  {k + ' ms (wall/cpu)':>30}" for k in timing)
    rows = [head]
    for name, sh in result["sharpness"].items():
        cells = "".join(f"  {t[name]['median_ms']:>21.2f} / {t[name]['cpu_ms']:<6.2f}" for t in timing.values())
        rows.append(f"{name:22} {sh['psnr_db']:8.2f} {sh['grad_energy_vs_truth']:7.3f}{cells}")
    return "\n".join(rows + ["detail: gradient energy as a share of the truth's (1.0 = as sharp as the real picture)"])


def figure(stage: Upscaler, low: torch.Tensor, high: torch.Tensor, size: Size, path: Path, sharpen: float = 0.0,
           crop: int = 192, rows_n: int = 3) -> Path:
    """Rows of [bicubic | learned (at ``sharpen``) | truth]: 1:1 crops of the centre of frames from
    regions spread over the pictures."""
    fns = methods(stage, size, (0.0, sharpen))
    learned = f"learned, sharpen {sharpen:g}" if sharpen else "learned"
    truth = frame_truth(high, size)
    picks = [round(i * (len(low) - 1) / max(1, rows_n - 1)) for i in range(rows_n)] if len(low) > 1 else [0]
    rows = []
    y, x = (size.h - crop) // 2, (size.w - crop) // 2
    for i in picks:
        lo = low[i:i + 1]
        panels = [fns["bicubic"](lo), fns[learned](lo), truth[i:i + 1]]
        rows.append(np.concatenate([(p[0, :, y:y + crop, x:x + crop].permute(1, 2, 0).clamp(0, 1).numpy() * 255 + 0.5)
                                    .astype(np.uint8) for p in panels], axis=1))
    grid = np.concatenate(rows, axis=0)
    head = Image.new("RGB", (grid.shape[1], 20), (24, 24, 24))
    d = ImageDraw.Draw(head)
    for k, text in enumerate((f"bicubic to {size}", learned, "truth")):
        d.text((6 + k * crop, 4), text, fill=(235, 235, 235))
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate([np.asarray(head), grid], axis=0)).save(path, optimize=True)
    return path


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="livegen bench upscale", description="Learned upsampler vs bicubic: "
                                 "sharpness on held-out pictures and ms at the output size")
    ap.add_argument("--model", default="models/upsample4", help="learned upsampler (models/NAME)")
    ap.add_argument("--data", default="data/abstract128", help="dataset whose held-out pictures are the truth")
    ap.add_argument("--regions", type=int, default=64, help="held-out regions measured")
    ap.add_argument("--threads", default="1,2", help="comma list of thread counts to time with")
    ap.add_argument("--repeats", type=int, default=100)
    ap.add_argument("--frame", default="640x480", help="frame size WxH the sharpness is measured at (its long "
                    "side a multiple of 128: the truth is that many pixels of the region)")
    ap.add_argument("--sizes", default="640x480,1920x1080", help="output sizes WxH for the timing")
    ap.add_argument("--sharpen", default="0.25", help="comma list of generator.sharpen amounts also measured "
                    "(0 is always measured)")
    ap.add_argument("--figure", help="write the side-by-side crops PNG here")
    ap.add_argument("--json", help="also write the result as JSON here")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    threads = [int(t) for t in a.threads.split(",") if t]
    torch.set_num_threads(max(threads))
    stage = Upscaler(a.model, torch.device("cpu"))
    if stage.net is None:
        print(f"livegen bench upscale: {stage.status}", file=sys.stderr)
        return 1
    sharpen = tuple(sorted({0.0, *(float(v) for v in a.sharpen.split(",") if v)}))
    frame = parse_size(a.frame)
    magnify, rest = divmod(max(frame), BASE)
    if rest or magnify < 2:
        ap.error(f"--frame {frame}: the long side must be a multiple of {BASE} (at least {2 * BASE})")
    low_u8, high_u8 = make_pairs(sources_of(a.data, "heldout"), a.regions, magnify, a.seed)
    low, high = to_float(low_u8), to_float(high_u8)
    sizes = [parse_size(s) for s in a.sizes.split(",") if s]
    result = {"model": str(model_file(a.model)), "scale": stage.net.scale,
              "truth": f"{a.regions} regions of the held-out pictures of {a.data}: {BASE} px drawn, "
                       f"{max(frame)} px truth, the {frame} frame's cover crop",
              "sharpness": sharpness(stage, low, high, frame, sharpen),
              "timing": timings(stage, sizes, a.repeats, threads, sharpen),
              "load_average": [round(v, 2) for v in os.getloadavg()]}
    if a.figure:
        result["figure"] = str(figure(stage, low, high, frame, Path(a.figure), max(sharpen)))
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
