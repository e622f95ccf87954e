"""``livegen bench budget``: the frame budget at work while another process takes the CPU.

Plays the patch live (SDL's dummy display unless one is set) for three phases of equal length:
idle, with competing busy processes, and idle again. Every half second it samples the model
fps and the quality rung; it prints one JSON object with each phase's mean fps, the rungs it
used and how often the rung changed. Without the budget (``--no-adaptive``) the fps drops
instead of the detail.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import threading
import time

import torch

from livegen.live import LiveShow
from livegen.patch import PatchError, load_patch
from livegen.paths import DEFAULT_PATCH
from livegen.size import parse_size


def _burn(stop_at: float) -> None:
    x = 0
    while time.monotonic() < stop_at:
        x += 1


def bench(patch_path: str, size: str, phase_s: float, competitors: int, adaptive: bool) -> dict:
    patch = load_patch(patch_path)
    patch.output.adaptive = adaptive
    samples: list[tuple[float, float, int]] = []  # t, model fps, level
    with LiveShow(patch, size=parse_size(size), device="cpu", camera="pattern", hud=False, controls=False,
                  vsync=False) as show:
        engine, runner = show.engine, show.runner
        done = threading.Event()

        def sample() -> None:
            t0 = time.monotonic()
            procs: list = []
            while not done.wait(0.5):
                t = time.monotonic() - t0
                if not procs and phase_s <= t < 2 * phase_s:
                    stop_at = time.monotonic() + (2 * phase_s - t)
                    procs = [mp.Process(target=_burn, args=(stop_at,), daemon=True) for _ in range(competitors)]
                    for p in procs:
                        p.start()
                level = engine.budget.level if engine.budget is not None else 0
                samples.append((t, runner.model_rate.fps, level))
            for p in procs:
                p.join(timeout=5)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            show.play(seconds=3 * phase_s)
        finally:
            done.set()
            sampler.join(timeout=10)
        changes = engine.budget.changes if engine.budget is not None else 0
        budget_ms = patch.output.frame_budget_ms
    phases = {}
    for i, name in enumerate(("idle", "loaded", "idle again")):
        # Skip each phase's first second: that is the reaction, measured by the rung changes.
        part = [s for s in samples if i * phase_s + 1.0 <= s[0] < (i + 1) * phase_s]
        if part:
            phases[name] = {"model_fps": round(sum(s[1] for s in part) / len(part), 1),
                            "quality_rungs_used": sorted({s[2] for s in part})}
    return {"patch": patch_path, "size": size, "adaptive": adaptive, "budget_ms": round(budget_ms, 1),
            "competing_processes": competitors, "cpu_cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "phases": phases, "rung_changes": changes}


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="livegen bench budget", description=__doc__.split("\n\n")[0].replace("``", ""))
    p.add_argument("--patch", default=str(DEFAULT_PATCH), help="patch to play (default: %(default)s)")
    p.add_argument("--size", default="640x480", help="output size (default: %(default)s)")
    p.add_argument("--phase-seconds", type=float, default=10.0, help="length of each phase (default: %(default)s)")
    p.add_argument("--competitors", type=int, default=2,
                   help="busy processes in the loaded phase (default: %(default)s)")
    p.add_argument("--no-adaptive", action="store_true", help="turn the frame budget off, for comparison")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    try:
        result = bench(args.patch, args.size, args.phase_seconds, args.competitors, not args.no_adaptive)
    except (PatchError, ValueError, OSError) as e:
        print(f"livegen bench budget: {e}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2))
    return 0
