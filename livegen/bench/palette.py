"""``livegen bench palette``: milliseconds the palette lock stage adds to a frame.

Not part of the frame loop. Runs the stage on moving test-pattern frames (a new picture every
frame, so the per-frame transport is really recomputed) at the given size and thread count, and
prints the median and 90th percentile as JSON with the load average and, for scale, the same
figures for one compose blend (``mix``) of two such frames measured in the same loop: on a shared
machine a figure is only as good as the quiet around it, and the blend shows how quiet it was.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import torch

from livegen.params import ParameterStore
from livegen.size import parse_size
from livegen.sources.pattern import test_pattern
from livegen.stages import default_registry
from livegen.stages.compose import blend
from livegen.stages.palette import PaletteConfig, PaletteStage

PALETTE = ["#0b1d51", "#ff6f3c", "#ffd166", "#06d6a0", "#118ab2", "#ef476f"]


def bench(size: str, threads: int, frames: int, amount: float) -> dict:
    torch.set_num_threads(threads)
    dims = parse_size(size)
    store = ParameterStore(default_registry())
    store.set("palette.amount", amount, immediate=True)
    stage = PaletteStage(PaletteConfig(colors=PALETTE))
    pictures = [test_pattern(i / 30.0, dims) for i in range(30)]
    times: list[float] = []
    blends: list[float] = []
    for n in range(frames + 20):
        snap = store.snapshot(n / 30.0)
        frame = pictures[n % len(pictures)]
        start = time.perf_counter()
        stage(snap, frame)
        middle = time.perf_counter()
        blend(frame, pictures[(n + 7) % len(pictures)], "mix", 0.5)
        if n >= 20:  # the first frames warm caches and thread pools
            times.append((middle - start) * 1000.0)
            blends.append((time.perf_counter() - middle) * 1000.0)
    times.sort()
    blends.sort()
    return {"size": size, "threads": threads, "frames": frames, "amount": amount,
            "median_ms": round(times[len(times) // 2], 3), "p90_ms": round(times[int(len(times) * 0.9)], 3),
            "blend_median_ms": round(blends[len(blends) // 2], 3),
            "load_average": round(os.getloadavg()[0], 2), "torch": torch.__version__}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="livegen bench palette", description=__doc__.splitlines()[0].replace("``", ""))
    ap.add_argument("--size", default="640x480")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--amount", type=float, default=0.8)
    args = ap.parse_args(argv)
    print(json.dumps(bench(args.size, args.threads, args.frames, args.amount)))
    return 0
