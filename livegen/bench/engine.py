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
import statistics
import sys
import time

import torch

from livegen.engine import Engine, open_engine
from livegen.live import LiveShow
from livegen.patch import load_patch
from livegen.paths import DEFAULT_PATCH
from livegen.sinks import to_uint8
from livegen.size import Size, parse_size


def bench_size(patch_path: str, size: Size, frames: int, window_seconds: float, device: str | None,
               style_runtime: str | None = None, profile: bool = False) -> dict:
    patch = load_patch(patch_path)
    patch.output.adaptive = False  # measure the patch as written, not the frame budget's rungs
    if style_runtime:
        patch.style.runtime = style_runtime
    engine, feed = open_engine(patch, lockstep=True, size=size, device=device, camera="pattern")
    for i in range(3):  # warm-up: allocator, first-call overheads
        to_uint8(engine.tick(i / 30))
    engine.pipeline.timer.clear()
    times = []
    for i in range(frames):
        t0 = time.perf_counter()
        to_uint8(engine.tick((i + 3) / 30))
        times.append((time.perf_counter() - t0) * 1000)
    model_ms = statistics.fmean(times)
    stage_ms = {k: round(v, 2) for k, v in engine.pipeline.timer.means().items()}
    top_ops = profile_ops(engine, frames) if profile else None
    engine.close()
    feed.close()

    with LiveShow(patch, size=size, device=device, camera="pattern", hud=True, display_fps=60.0, model_fps=60.0,
                  controls=False, vsync=False) as show:
        show.play(seconds=window_seconds)
        assert show.window is not None
        shown = show.window.frames_shown
    # Other work on a shared machine shows as slow outliers; the median frame shows the engine.
    median_ms = statistics.median(times)
    result = {"size": str(size), "device": str(engine.device), "model_ms_per_frame": round(model_ms, 2),
              "model_fps": round(1000 / model_ms, 1), "median_ms": round(median_ms, 2),
              "median_fps": round(1000 / median_ms, 1), "fastest_ms": round(min(times), 2), "stage_ms": stage_ms,
              "display_fps": round(shown / window_seconds, 1), "display_target_fps": 60.0,
              "layers": engine.pipeline.status()}
    if top_ops is not None:
        result["profile"] = top_ops
    return result


def profile_ops(engine: Engine, frames: int, rows: int = 12) -> dict:
    """Where a frame's time goes: torch's profiler over ``frames`` more frames, the top torch
    operators by their own time. ONNX Runtime (the style and generator nets on the CPU) and
    Python run outside torch's operators: they are the frame's time the operators do not cover."""
    from torch.profiler import ProfilerActivity, profile, record_function

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for i in range(frames):
            with record_function("frame"):
                to_uint8(engine.tick((i + 100) / 30))
    events = prof.key_averages()
    frame_ms = next(e.cpu_time_total for e in events if e.key == "frame") / 1000 / frames
    ops = sorted((e for e in events if e.key.startswith("aten::")), key=lambda e: e.self_cpu_time_total,
                 reverse=True)
    ops_ms = sum(e.self_cpu_time_total for e in ops) / 1000 / frames
    return {"frame_ms": round(frame_ms, 2), "torch_ops_ms": round(ops_ms, 2),
            "onnxruntime_and_python_ms": round(frame_ms - ops_ms, 2),
            "top_torch_ops_ms": {e.key: round(e.self_cpu_time_total / 1000 / frames, 2) for e in ops[:rows]}}


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
    p.add_argument("--profile", action="store_true",
                   help="also profile the frame (torch profiler): the operators that take the time")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    results = []
    for n, s in enumerate(args.sizes, 1):
        print(f"bench: {s} ({n}/{len(args.sizes)}): {args.frames} frames, then {args.window_seconds:g} s of window",
              file=sys.stderr, flush=True)
        results.append(bench_size(args.patch, parse_size(s), args.frames, args.window_seconds, args.device,
                                  args.style_runtime, args.profile))
    # The load average says how busy the machine was with other work while this ran.
    print(json.dumps({"patch": args.patch, "cpu": platform.processor() or platform.machine(),
                      "torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
                      "load_average": [round(v, 2) for v in os.getloadavg()], "results": results}, indent=2))
    return 0
