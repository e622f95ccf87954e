"""Motion figure of a generator's latent walk (``livegen bench motion MODEL``).

Plays the walk the engine plays with the default parameters (loop mode, one loop per
``generator.loop_length`` beats at the patch tempo) frame by frame at 30 fps, draws every frame
with the generator at its native size, and measures the mean absolute change between consecutive
frames (0-255 scale). "Alive" means a clearly non-zero mean; "no popping" means a small
max/mean ratio (a pop is one frame that changes much more than its neighbours). Optionally writes
a looping GIF strip of the walk for the README (``--gif docs/generator-loop.gif``), made smaller
(then thinned beyond every other frame) until it fits ``--max-bytes`` (2 MB).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from livegen.nets.generator import load_generator
from livegen.paths import model_file
from livegen.stages.generator import PARAMS
from livegen.stages.latent import LatentWalk


class WalkSnap(dict):
    """The parts of a frame snapshot the latent walk reads: values, t, beat, no triggers."""

    def __init__(self, values: dict[str, Any], t: float, beat: float) -> None:
        super().__init__(values)
        self.t, self.beat = t, beat

    def fired(self, name: str) -> bool:
        return False


def default_values(**overrides: Any) -> dict[str, Any]:
    values = {p.name: p.default for p in PARAMS}
    values.update(overrides)
    return values


@torch.no_grad()
def walk_frames(model: str | Path, seconds: float, fps: float = 30.0, bpm: float = 120.0, seed: int = 1234,
                **overrides: Any) -> np.ndarray:
    """uint8 (T, H, W, 3) frames of the default latent walk, at the model's native size."""
    net, _ = load_generator(model)
    walk = LatentWalk(net.latent_dim, seed)
    values = default_values(**overrides)
    scale = float(np.sqrt(net.latent_dim)) * float(values["generator.truncation"])
    frames = []
    for n in range(int(round(seconds * fps)) + 1):
        t = n / fps
        pos = walk.step(WalkSnap(values, t, t * bpm / 60.0))
        img = net.generate((pos * scale).float().unsqueeze(0))[0]
        frames.append((img.clamp(0, 1).permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8))
    return np.stack(frames)


def motion_figure(frames: np.ndarray) -> dict[str, float]:
    """Mean, max, 95th percentile of the per-frame mean |Δ| (0-255), and max/mean."""
    diffs = np.abs(np.diff(frames.astype(np.float32), axis=0)).mean(axis=(1, 2, 3))
    mean = float(diffs.mean())
    return {"frames": int(len(frames)), "mean_change": round(mean, 3), "max_change": round(float(diffs.max()), 3),
            "p95_change": round(float(np.percentile(diffs, 95)), 3),
            "max_over_mean": round(float(diffs.max()) / mean, 3) if mean > 0 else float("inf")}


def write_gif(frames: np.ndarray, path: str | Path, fps: float, every: int = 2, size: int | None = None) -> Path:
    """Every ``every``-th frame as a looping GIF (one shared palette keeps it small and stable)."""
    from PIL import Image

    imgs = [Image.fromarray(f) for f in frames[::every]]
    if size:
        imgs = [im.resize((size, size), Image.Resampling.BICUBIC) for im in imgs]
    # One adaptive palette from a montage of frames, so colours do not flicker between frames.
    sample = Image.fromarray(np.concatenate([np.asarray(im) for im in imgs[:: max(1, len(imgs) // 16)]], axis=0))
    palette = sample.quantize(colors=255, method=Image.Quantize.MEDIANCUT)
    quant = [im.quantize(palette=palette, dither=Image.Dither.NONE) for im in imgs]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    quant[0].save(path, save_all=True, append_images=quant[1:], duration=int(round(1000 * every / fps)), loop=0,
                  optimize=True)
    return path


def gif_within(frames: np.ndarray, path: str | Path, fps: float, every: int, size: int | None,
               max_bytes: int, min_side: int = 96) -> dict[str, Any]:
    """Write the GIF at most ``max_bytes`` big: a smaller frame first (motion is what the strip
    shows, so its frame rate goes last), down to ``min_side``; then fewer frames."""
    side = size or frames.shape[1]
    while True:
        gif = write_gif(frames, path, fps, every, side)
        n = gif.stat().st_size
        if n <= max_bytes:
            return {"path": str(gif), "bytes": n, "every": every, "side": side, "frames": len(frames[::every])}
        if int(side * 0.85) >= min_side:
            side = int(side * 0.85)
        elif every * 2 <= len(frames):
            every += 1
        else:
            raise SystemExit(f"{gif}: {n} bytes even at {side} px and every {every}th frame; give fewer --seconds")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="livegen bench motion", description="Frame-to-frame change along the default "
                                 "latent loop (30 fps) and its max/mean ratio")
    ap.add_argument("model", help="generator: models/NAME or a .safetensors file")
    ap.add_argument("--seconds", type=float, default=16.0, help="default: one whole loop (32 beats at 120 bpm)")
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--bpm", type=float, default=120.0)
    ap.add_argument("--seed", type=int, default=1234, help="walk seed (the default patch's seed)")
    ap.add_argument("--speed", type=float, help="generator.speed (default: the parameter's default)")
    ap.add_argument("--gif", help="also write a GIF strip of the walk here")
    ap.add_argument("--gif-every", type=int, default=2, help="keep every Nth frame in the GIF")
    ap.add_argument("--gif-size", type=int, help="GIF frame side (default: native)")
    ap.add_argument("--max-bytes", type=int, default=2_000_000, help="shrink the GIF (side, then frames) until it "
                    "fits this")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", help="also write the figure as JSON here")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    overrides = {} if a.speed is None else {"generator.speed": a.speed}
    frames = walk_frames(model_file(a.model), a.seconds, a.fps, a.bpm, a.seed, **overrides)
    fig = {"model": a.model, "seconds": a.seconds, "fps": a.fps, "bpm": a.bpm, "seed": a.seed, **overrides,
           **motion_figure(frames), "unit": "mean |frame(n+1) - frame(n)| per pixel and channel, 0-255, native size"}
    if a.gif:
        fig["gif"] = gif_within(frames, a.gif, a.fps, a.gif_every, a.gif_size, a.max_bytes)
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps(fig, indent=2) + "\n")
    print(json.dumps(fig, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
