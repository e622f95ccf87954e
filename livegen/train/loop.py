"""The run loop shared by the generator trainers (GAN, VAE): options, stopping, logging, checkpoints.

Each trainer object has ``train_step() -> dict``, ``step``, ``wall``, ``commands`` and ``hparams``;
this module drives it until the step or time budget is spent, writing metrics, sample grids and
resumable checkpoints (with a model export) on a wall-clock cadence.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from tqdm import tqdm

from livegen.device import pick_device
from livegen.train import Every, MetricsLog, images_to_tensor, load_checkpoint
from livegen.train.data import load_split
from livegen.train.user_images import add_images_options, prepare_images

log = logging.getLogger("livegen.train")


def add_data_options(ap: argparse.ArgumentParser) -> None:
    """Where the data comes from and where the model, checkpoints and samples go."""
    ap.add_argument("--data", help="dataset folder (train.npy, dataset.json); with --images, where to build it "
                    "(default data/NAME)")
    add_images_options(ap)
    ap.add_argument("--out", required=True, help="models/NAME (.safetensors + .json written there)")
    ap.add_argument("--run", help="folder for checkpoints, samples and metrics (default runs/NAME)")
    ap.add_argument("--size", type=int, default=64, choices=[64, 128, 256])
    ap.add_argument("--latent", type=int, default=64)


@dataclass
class RunSetup:
    device: torch.device
    run: Path
    ckpt: Path
    images: torch.Tensor


def setup_run(a: argparse.Namespace) -> RunSetup:
    """Threads, logging, device, run folder and the training images (uint8, on the device)."""
    torch.set_num_threads(a.threads)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    prepare_images(a)
    device = pick_device(a.device)
    run = Path(a.run) if a.run else Path("runs") / Path(a.out).name
    images = shrink_to(images_to_tensor(load_split(a.data, "train"), device), a.size)
    return RunSetup(device, run, run / "checkpoint.safetensors", images)


def shrink_to(images: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 N×3×S×S images box-averaged down to ``size`` when S is a whole multiple of it.

    A cascade trains its core at a fraction of the dataset's size (a 64 px GAN under a learned ×2
    stage on a 128 px dataset); the box filter is how the dataset's own crops were shrunk.
    """
    side = images.shape[-1]
    if side == size:
        return images
    if side < size or side % size:
        raise ValueError(f"dataset images are {side} px; --size {size} must equal it or divide it")
    out = [F.avg_pool2d(chunk.float(), side // size).round_().to(torch.uint8) for chunk in images.split(1024)]
    log.info("training at %d px: dataset images box-averaged from %d px", size, side)
    return torch.cat(out)


def resume_if_asked(trainer: Any, a: argparse.Namespace, setup: RunSetup) -> None:
    if a.resume and setup.ckpt.exists():
        trainer.load_state(*load_checkpoint(setup.ckpt, setup.device))
        log.info("resumed %s at step %d", setup.ckpt, trainer.step)


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


def install_stop_handlers() -> list[int]:
    """SIGTERM / SIGINT end the run after the current step with a final checkpoint. A background job
    started from a non-interactive shell ignores SIGINT, so SIGTERM is the clean stop there.
    The returned list becomes non-empty when a stop was asked for."""
    import signal
    import threading

    stop: list[int] = []
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda signum, frame: stop.append(signum))
    return stop


def run_training(trainer: Any, a: argparse.Namespace, run: Path, checkpoint: Callable[[], None],
                 sample: Callable[[], None], postfix: Callable[[dict], dict[str, str]]) -> None:
    """Train until ``--steps`` or ``--minutes``; checkpoint every ``--ckpt-minutes`` and at the end."""
    metrics = MetricsLog(run / "metrics.jsonl")
    every = Every(a.ckpt_minutes * 60)
    start_wall = trainer.wall
    stop = install_stop_handlers()
    bar = tqdm(total=a.steps, initial=trainer.step, mininterval=20, file=sys.stdout)
    while (trainer.step < a.steps and not stop
           and not (a.minutes and trainer.wall - start_wall >= a.minutes * 60)):
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
