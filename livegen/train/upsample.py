"""Training the learned upsampler (``livegen train upsample``) on the generator's own dataset.

Pairs come from the SOURCE pictures of a dataset built by ``livegen train data abstract`` (its
``sources.json``), made the way the generator's training crops were: a square region of the picture
(side log-uniform from 1/8 of the short side up to all of it, never under ``128·scale`` pixels) is
box-resized to ``128·scale`` px (the high-resolution truth) and that again to 128 px (what the
generator draws). Random aligned patch pairs of those are the training examples. Only the
training split's pictures are used; ``livegen bench upscale`` measures on the held-out ones.
With ``--from-crops`` the pairs are instead the dataset's own training crops and their box-shrunk
copies: the ×scale stage of a cascade generator (:class:`livegen.nets.generator.CascadeGenerator`),
whose core learns exactly those shrunk crops.
Loss: L1 on pixels plus L1 on image gradients (which rewards edges a pixel loss alone blurs).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from livegen.nets.upsample import Upsampler, load_upsampler, save_upsampler
from livegen.train import (
    Every,
    MetricsLog,
    command_line,
    load_checkpoint,
    optimizer_tensors,
    restore_optimizer,
    save_checkpoint,
)
from livegen.train.data import load_split
from livegen.train.data_abstract import load_rgb
from livegen.train.loop import install_stop_handlers, shrink_to
from livegen.train.user_images import init_provenance

log = logging.getLogger("livegen.train.upsample")

BASE = 128  # the generator's native size the pairs imitate


def sources_of(data: str | Path, split: str) -> list[dict]:
    path = Path(data) / "sources.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} missing: build the dataset with `livegen train data abstract`")
    return [s for s in json.loads(path.read_text()) if s.get("split") == split]


def region_pairs(img: Image.Image, n: int, scale: int, rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n`` (low, high) uint8 pairs of whole regions: BASE px and BASE·scale px."""
    w, h = img.size
    short = min(w, h)
    hi_side = BASE * scale
    lo_s = max(short / 8, min(hi_side, short))
    out = []
    for _ in range(n):
        side = int(round(np.exp(rng.uniform(np.log(lo_s), np.log(short)))))
        x, y = int(rng.integers(0, w - side + 1)), int(rng.integers(0, h - side + 1))
        region = img.crop((x, y, x + side, y + side))
        hi = region.resize((hi_side, hi_side), Image.Resampling.BOX if side >= hi_side else Image.Resampling.LANCZOS)
        lo = hi.resize((BASE, BASE), Image.Resampling.BOX)
        out.append((np.asarray(lo, dtype=np.uint8), np.asarray(hi, dtype=np.uint8)))
    return out


def make_pairs(sources: list[dict], regions: int, scale: int, seed: int,
               max_side: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """Whole-region pairs spread over the sources: (N, BASE, BASE, 3) and (N, BASE·s, BASE·s, 3) uint8."""
    if not sources:
        raise ValueError("no source pictures")
    rng = np.random.default_rng(seed)
    per = np.full(len(sources), regions // len(sources))
    per[: regions - per.sum()] += 1
    lows, highs = [], []
    for s, n in zip(sources, per, strict=True):
        if n == 0:
            continue
        for lo, hi in region_pairs(load_rgb(s["path"], max_side), int(n), scale, rng):
            lows.append(lo)
            highs.append(hi)
    return np.stack(lows), np.stack(highs)


def crop_pairs(data: str | Path, count: int, scale: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` training crops of a dataset (high) and their ×1/scale box averages (low), uint8."""
    crops = load_split(data, "train")
    side = crops.shape[1]
    if side % scale:
        raise ValueError(f"{data}: {side} px crops do not shrink by {scale}")
    idx = np.sort(np.random.default_rng(seed).choice(len(crops), size=min(count, len(crops)), replace=False))
    high = crops[idx]
    # Shrunk exactly as the cascade's core sees its training crops.
    low = shrink_to(torch.from_numpy(high).permute(0, 3, 1, 2), side // scale).permute(0, 2, 3, 1).numpy()
    return np.ascontiguousarray(low), high


def to_float(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a)).permute(0, 3, 1, 2).float() / 255.0


def gradients(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return x[..., :, 1:] - x[..., :, :-1], x[..., 1:, :] - x[..., :-1, :]


def sr_loss(pred: torch.Tensor, target: torch.Tensor, grad_weight: float) -> torch.Tensor:
    loss = (pred - target).abs().mean()
    if grad_weight:
        (px, py), (tx, ty) = gradients(pred), gradients(target)
        loss = loss + grad_weight * ((px - tx).abs().mean() + (py - ty).abs().mean())
    return loss


class UpsampleTrainer:
    def __init__(self, low: np.ndarray, high: np.ndarray, *, scale: int, width: int, depth: int, patch: int,
                 batch: int, lr: float, grad_weight: float, seed: int, steps: int = 0, noise: float = 0.0) -> None:
        torch.manual_seed(seed)
        self.low, self.high = low, high
        self.scale, self.patch, self.batch, self.grad_weight = scale, patch, batch, grad_weight
        self.noise = noise
        self.net = Upsampler(scale, width, depth)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=lr)
        self.gen = torch.Generator().manual_seed(seed + 1)
        self.step, self.wall = 0, 0.0
        self.lr, self.steps = lr, steps
        self.commands: list[str] = []
        self.hparams = {"lr_schedule": "cosine to 0 over --steps" if steps else "constant",
                        "scale": scale, "width": width, "depth": depth, "patch": patch, "batch": batch, "lr": lr,
                        "grad_weight": grad_weight, "seed": seed, "regions": len(low), "noise": noise}

    def batch_pairs(self) -> tuple[torch.Tensor, torch.Tensor]:
        n, p, s = self.batch, self.patch, self.scale
        idx = torch.randint(0, len(self.low), (n,), generator=self.gen).numpy()
        xy = torch.randint(0, self.low.shape[1] - p + 1, (n, 2), generator=self.gen).numpy()
        lo = np.stack([self.low[i, y:y + p, x:x + p] for i, (x, y) in zip(idx, xy, strict=True)])
        hi = np.stack([self.high[i, y * s:(y + p) * s, x * s:(x + p) * s] for i, (x, y) in zip(idx, xy, strict=True)])
        return to_float(lo), to_float(hi)

    def train_step(self) -> dict[str, float]:
        t0 = time.perf_counter()
        lo, hi = self.batch_pairs()
        if self.noise:
            # A GAN core's picture carries grain real crops lack; noisy inputs teach the stage to
            # draw the clean picture under it instead of enlarging the grain.
            sigma = torch.rand(len(lo), 1, 1, 1, generator=self.gen) * self.noise
            lo = lo + sigma * torch.randn(lo.shape, generator=self.gen)
        if self.steps:
            for g in self.opt.param_groups:
                g["lr"] = 0.5 * self.lr * (1 + math.cos(math.pi * min(self.step / self.steps, 1.0)))
        loss = sr_loss(self.net(lo), hi, self.grad_weight)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.step += 1
        self.wall += time.perf_counter() - t0
        return {"step": self.step, "loss": float(loss.detach())}

    def state(self) -> tuple[dict[str, torch.Tensor], dict]:
        tensors = {f"net.{k}": v for k, v in self.net.state_dict().items()}
        to, mo = optimizer_tensors(self.opt, "opt")
        tensors.update(to)
        tensors["rng"] = self.gen.get_state()
        return tensors, {"step": self.step, "wall": self.wall, "opt": mo, "hparams": self.hparams,
                         "commands": self.commands}

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict) -> None:
        self.net.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("net.")})
        restore_optimizer(self.opt, tensors, meta["opt"], "opt")
        self.gen.set_state(tensors["rng"].cpu())
        self.step, self.wall = int(meta["step"]), float(meta["wall"])
        self.commands = list(meta.get("commands", []))


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="livegen train upsample", description="Train the learned ×2/×4 upsampler on "
                                 "a dataset's source pictures (training split)")
    ap.add_argument("--data", default="data/abstract128", help="dataset folder with sources.json")
    ap.add_argument("--out", default="models/upsample4", help="models/NAME (.safetensors + .json)")
    ap.add_argument("--run", help="checkpoints and metrics (default runs/NAME)")
    ap.add_argument("--scale", type=int, default=4, choices=[2, 3, 4])
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--regions", type=int, default=1000, help="whole-region pairs cut from the pictures (with "
                    "--from-crops: crops taken)")
    ap.add_argument("--from-crops", action="store_true", help="pairs from the dataset's training crops and their "
                    "box-shrunk copies (the ×scale stage of a cascade generator)")
    ap.add_argument("--patch", type=int, default=32, help="low-resolution patch side per example")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--grad-weight", type=float, default=1.0)
    ap.add_argument("--noise", type=float, default=0.0, help="Gaussian noise (std up to this, images in 0..1) added "
                    "to the low-resolution inputs, so a cascade's stage cleans its core's grain")
    ap.add_argument("--init", help="start from this trained upsampler's weights (same scale, width, depth)")
    ap.add_argument("--steps", type=int, default=20000, help="training steps (the learning rate decays to 0 over them)")
    ap.add_argument("--ckpt-minutes", type=float, default=3.0)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    run = Path(a.run) if a.run else Path("runs") / Path(a.out).name
    ckpt = run / "checkpoint.safetensors"
    if a.from_crops:
        low, high = crop_pairs(a.data, a.regions, a.scale, a.seed)
        log.info("%d crop pairs of %s (%d px -> %d px)", len(low), a.data, low.shape[1], high.shape[1])
    else:
        sources = sources_of(a.data, "train")
        log.info("cutting %d region pairs from %d pictures", a.regions, len(sources))
        low, high = make_pairs(sources, a.regions, a.scale, a.seed)
    tr = UpsampleTrainer(low, high, scale=a.scale, width=a.width, depth=a.depth, patch=a.patch, batch=a.batch,
                         lr=a.lr, grad_weight=a.grad_weight, seed=a.seed, steps=a.steps, noise=a.noise)
    started_from: dict = {}
    if a.init:
        start, _ = load_upsampler(a.init)
        if start.architecture() != tr.net.architecture():
            ap.error(f"--init {a.init} is {start.architecture()}, not {tr.net.architecture()}")
        # The starting model's own record, so a chain of fine-tunes stays reproducible from the manifest.
        started_from = init_provenance(a.init)
        if not (a.resume and ckpt.exists()):
            tr.net.load_state_dict(start.state_dict())
    if a.resume and ckpt.exists():
        tr.load_state(*load_checkpoint(ckpt, torch.device("cpu")))
        log.info("resumed %s at step %d", ckpt, tr.step)
    tr.commands.append(command_line("livegen train upsample", argv))
    info_path = Path(a.data) / "dataset.json"
    info = json.loads(info_path.read_text()) if info_path.exists() else {}
    info.pop("heldout_names", None)

    def checkpoint() -> None:
        save_checkpoint(ckpt, *tr.state())
        pairs = "training crops and their box-shrunk copies" if a.from_crops else "regions of the training pictures"
        manifest = {"name": Path(a.out).name, "scale": a.scale, "input": "any size, images in [0, 1]", "pairs": pairs,
                    "training": {"command": tr.commands[0], "resumed_with": tr.commands[1:], "steps": tr.step,
                                 "wall_time_s": round(tr.wall, 1), "threads": a.threads, **tr.hparams,
                                 **({"started_from": started_from} if started_from else {})},
                    "dataset": {"path": a.data, "split": "train pictures of the dataset", **info},
                    "licence": info.get("licence", "unknown")}
        save_upsampler(a.out, tr.net, manifest)
        log.info("step %d: checkpoint %s, exported %s", tr.step, ckpt, a.out)

    stop = install_stop_handlers()
    metrics = MetricsLog(run / "metrics.jsonl")
    every = Every(a.ckpt_minutes * 60)
    while tr.step < a.steps and not stop:
        row = tr.train_step()
        if tr.step % 100 == 0:
            metrics.write(**row, wall=round(tr.wall, 1))
            log.info("step %d loss %.4f", tr.step, row["loss"])
        if every():
            checkpoint()
    checkpoint()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
