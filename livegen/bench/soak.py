"""``livegen bench soak``: a long show compressed into a headless render, watching memory and time.

An installation runs for weeks; a leak of a few bytes per frame or a frame time that creeps up
shows only after hours. This renders N frames (500,000 by default: over 4.5 hours at 30 fps) of a
patch at a tiny size with the lockstep clock, with controls moving every frame, and prints the
resident memory and the mean frame time over the first and the last stretch as JSON.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time

import torch

from livegen.control.bus import ControlEvent
from livegen.engine import open_engine
from livegen.params import OSC_PREFIX
from livegen.patch import PatchError, load_patch
from livegen.paths import DEFAULT_PATCH
from livegen.size import parse_size


def rss_mib() -> float:
    """Current resident memory of this process (Linux /proc; the peak elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * resource.getpagesize() / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def soak(patch_path: str, frames: int, size: str, fps: float, window: int, progress: bool = True) -> dict:
    patch = load_patch(patch_path)
    engine, feed = open_engine(patch, lockstep=True, size=parse_size(size), device="cpu")
    stamps: list[tuple[int, float, float]] = []  # frame, mean ms over the stretch, RSS MiB
    try:
        t_stretch = time.perf_counter()
        for n in range(frames):
            t = n / fps
            # A fader that never rests and a scene change every minute, as a performer would.
            engine.push(ControlEvent(t, "soak", OSC_PREFIX + "compose/amount", 0.5 + 0.5 * ((n % 97) / 97)))
            if n % int(60 * fps) == 0:
                engine.push(ControlEvent(t, "soak", OSC_PREFIX + "generator/jump", 1))
            engine.tick(t)
            if (n + 1) % window == 0:
                now = time.perf_counter()
                stamps.append((n + 1, (now - t_stretch) * 1000 / window, rss_mib()))
                t_stretch = now
                if progress:
                    print(f"soak: frame {n + 1}/{frames}: {stamps[-1][1]:.2f} ms, {stamps[-1][2]:.0f} MiB",
                          file=sys.stderr, flush=True)
    finally:
        engine.close()
        feed.close()
    if not stamps:
        raise ValueError(f"--frames {frames} is fewer than one --window of {window}")
    first, last = stamps[0], stamps[-1]
    return {"patch": patch_path, "frames": frames, "size": size, "fps": fps, "torch_threads": torch.get_num_threads(),
            "show_hours": round(frames / fps / 3600, 2),
            "start": {"frame": first[0], "ms_per_frame": round(first[1], 3), "rss_mib": round(first[2], 1)},
            "end": {"frame": last[0], "ms_per_frame": round(last[1], 3), "rss_mib": round(last[2], 1)},
            "rss_growth_mib": round(last[2] - first[2], 1), "errors_reported": engine.errors.total}


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="livegen bench soak", description=__doc__.split("\n\n")[0].replace("``", ""))
    p.add_argument("--patch", default=str(DEFAULT_PATCH), help="patch to play (default: %(default)s)")
    p.add_argument("--frames", type=int, default=500_000, help="frames to render (default: %(default)s)")
    p.add_argument("--size", default="32x24", help="render size (default: %(default)s)")
    p.add_argument("--fps", type=float, default=30.0, help="clock rate of the show (default: %(default)s)")
    p.add_argument("--window", type=int, default=1000, help="frames per measured stretch (default: %(default)s)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default: %(default)s)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        result = soak(args.patch, args.frames, args.size, args.fps, args.window, progress=not args.quiet)
    except (PatchError, ValueError, OSError) as e:
        print(f"livegen bench soak: {e}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2))
    return 0
