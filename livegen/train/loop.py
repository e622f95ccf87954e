"""The run loop shared by the generator trainers (GAN, VAE): options, stopping, logging, checkpoints.

Each trainer object has ``train_step() -> dict``, ``step``, ``wall``, ``commands`` and ``hparams``;
this module drives it until the step or time budget is spent, writing metrics, sample grids and
resumable checkpoints (with a model export) on a wall-clock cadence.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from livegen.train import Every, MetricsLog


def add_run_options(ap: argparse.ArgumentParser) -> None:
    """Options every generator trainer takes (budget, cadence, resume, seed, device)."""
    ap.add_argument("--steps", type=int, default=20000, help="stop after this many (generator) steps")
    ap.add_argument("--minutes", type=float, default=0, help="also stop after this much training time (0: no limit)")
    ap.add_argument("--sample-every", type=int, default=250)
    ap.add_argument("--half", action="store_true", help="store the exported weights as float16 (half the file size)")
    ap.add_argument("--log-every", type=int, default=25, help="metrics.jsonl row every N steps")
    ap.add_argument("--ckpt-minutes", type=float, default=3.0)
    ap.add_argument("--resume", action="store_true", help="continue from RUN/checkpoint.safetensors")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="auto")


def generator_manifest(a: argparse.Namespace, trainer: Any, device: torch.device, info: dict[str, Any]) -> dict:
    """The manifest of an exported generator: what it is, how it was trained, on what data."""
    return {"name": Path(a.out).name, "task": "generator", "native_size": a.size, "latent_dim": a.latent,
            "training": {"command": trainer.commands[0], "resumed_with": trainer.commands[1:], "steps": trainer.step,
                         "wall_time_s": round(trainer.wall, 1),
                         "device": str(device), "threads": a.threads, **trainer.hparams},
            "dataset": {"path": a.data, **info}, "licence": info.get("licence", "unknown")}


def run_training(trainer: Any, a: argparse.Namespace, run: Path, checkpoint: Callable[[], None],
                 sample: Callable[[], None], postfix: Callable[[dict], dict[str, str]]) -> None:
    """Train until ``--steps`` or ``--minutes``; checkpoint every ``--ckpt-minutes`` and at the end."""
    metrics = MetricsLog(run / "metrics.jsonl")
    every = Every(a.ckpt_minutes * 60)
    start_wall = trainer.wall
    bar = tqdm(total=a.steps, initial=trainer.step, mininterval=20, file=sys.stdout)
    while trainer.step < a.steps and not (a.minutes and trainer.wall - start_wall >= a.minutes * 60):
        row = trainer.train_step()
        bar.update(1)
        if trainer.step % a.log_every == 0:
            metrics.write(**row, wall=round(trainer.wall, 1))
            bar.set_postfix(**postfix(row))
        if trainer.step % a.sample_every == 0:
            sample()
        if every():
            checkpoint()
    bar.close()
    checkpoint()
