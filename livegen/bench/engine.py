"""``livegen bench``: display fps and per-stage milliseconds of a patch at several output sizes.

Prints one JSON object. Model rate is measured by ticking the engine headless (the lockstep
path); display rate by running the live window (SDL dummy driver unless a display is set) while
the render worker runs, so it shows whether repaint stays at display rate while the nets work.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import torch

from livegen.engine import open_engine
from livegen.live import LiveShow
from livegen.patch import load_patch
from livegen.paths import DEFAULT_PATCH
from livegen.sinks import to_uint8
from livegen.size import Size, parse_size


def bench_size(patch_path: str, size: Size, frames: int, window_seconds: float, device: str | None,
               style_runtime: str | None = None) -> dict:
    patch = load_patch(patch_path)
    patch.output.adaptive = False  # measure the patch as written, not the frame budget's rungs
    if style_runtime:
        patch.style.runtime = style_runtime
    engine, feed = open_engine(patch, lockstep=True, size=size, device=device, camera="pattern")
    for i in range(3):  # warm-up: allocator, first-call overheads
        to_uint8(engine.tick(i / 30))
    engine.pipeline.timer.alpha = 1.0 / frames
    engine.pipeline.timer.ms.clear()
    t0 = time.perf_counter()
    for i in range(frames):
        to_uint8(engine.tick((i + 3) / 30))
    model_ms = (time.perf_counter() - t0) * 1000 / frames
    stage_ms = {k: round(v, 2) for k, v in engine.pipeline.timer.ms.items()}
    engine.close()
    feed.close()

    with LiveShow(patch, size=size, device=device, camera="pattern", hud=True, display_fps=60.0, model_fps=60.0,
                  controls=False, vsync=False) as show:
        show.play(seconds=window_seconds)
        assert show.window is not None
        shown = show.window.frames_shown
    return {"size": str(size), "device": str(engine.device), "model_ms_per_frame": round(model_ms, 2),
            "model_fps": round(1000 / model_ms, 1), "stage_ms": stage_ms,
            "display_fps": round(shown / window_seconds, 1), "display_target_fps": 60.0,
            "layers": engine.pipeline.status()}


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="livegen bench", description=__doc__.replace("``", ""),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--patch", default=str(DEFAULT_PATCH))
    p.add_argument("--sizes", nargs="*", default=["256x256", "640x480"])
    p.add_argument("--frames", type=int, default=30)
    p.add_argument("--window-seconds", type=float, default=3.0)
    p.add_argument("--device", default=None)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    p.add_argument("--style-runtime", choices=("auto", "onnxruntime", "torch"), default=None,
                   help="override the patch's [style] runtime (compare onnxruntime with torch)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    results = []
    for n, s in enumerate(args.sizes, 1):
        print(f"bench: {s} ({n}/{len(args.sizes)}): {args.frames} frames, then {args.window_seconds:g} s of window",
              file=sys.stderr, flush=True)
        results.append(bench_size(args.patch, parse_size(s), args.frames, args.window_seconds, args.device,
                                  args.style_runtime))
    print(json.dumps({"patch": args.patch, "cpu": platform.processor() or platform.machine(),
                      "torch_threads": torch.get_num_threads(), "results": results}, indent=2))
    return 0
