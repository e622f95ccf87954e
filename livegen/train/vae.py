"""VAE training (``livegen train vae``): the decoder becomes a generator for the latent walk and
the encoder lets the camera steer it (``generator.camera_mix``).

Loss per image: Bernoulli reconstruction (binary cross-entropy summed over pixels, which keeps
colours saturated better than MSE) plus β × KL(q(z|x) || N(0, I)). At every export the playing
prior is fit to the training images' codes (``VAE.fit_prior``), so walk latents decode to
emoji-like images rather than to the muddy "holes" of the standard prior.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from tqdm import tqdm

from livegen.nets.generator import VAE, save_generator
from livegen.train import (
    Every,
    MetricsLog,
    command_line,
    images_to_tensor,
    load_checkpoint,
    optimizer_tensors,
    pick_device,
    restore_optimizer,
    save_checkpoint,
    save_grid,
)
from livegen.train.data import dataset_info, load_split

log = logging.getLogger("livegen.train.vae")


def vae_loss(logits: torch.Tensor, target: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
             beta: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(total, reconstruction, KL), each a mean over the batch of per-image sums."""
    n = target.shape[0]
    rec = F.binary_cross_entropy_with_logits(logits, target, reduction="sum") / n
    kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum() / n
    return rec + beta * kl, rec, kl


class VaeTrainer:
    """All training state in one place so a checkpoint restores the exact next step."""

    def __init__(self, images: torch.Tensor, *, latent_dim: int = 64, ch: int = 32, size: int = 64, beta: float = 1.0,
                 batch: int = 64, lr: float = 1e-3, flip: bool = True, seed: int = 0,
                 device: torch.device | str = "cpu") -> None:
        if images.shape[-1] != size:
            raise ValueError(f"dataset images are {images.shape[-1]} px but --size is {size}")
        self.device = torch.device(device)
        torch.manual_seed(seed)
        self.images = images.to(self.device)
        self.beta, self.batch, self.flip = beta, batch, flip
        self.net = VAE(latent_dim, ch, size).to(self.device)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=lr)
        self.gen = torch.Generator(device=self.device).manual_seed(seed + 1)
        self.step = 0
        self.wall = 0.0
        self.commands: list[str] = []  # every invocation that trained this run (first, then resumes)
        self.hparams = {"latent_dim": latent_dim, "ch": ch, "size": size, "beta": beta, "batch": batch, "lr": lr,
                        "flip": flip, "seed": seed}

    def real_batch(self) -> torch.Tensor:
        idx = torch.randint(0, self.images.shape[0], (self.batch,), generator=self.gen, device=self.device)
        x = self.images[idx].float() / 255.0
        if self.flip:
            mask = torch.rand(self.batch, 1, 1, 1, generator=self.gen, device=self.device) < 0.5
            x = torch.where(mask, x.flip(-1), x)
        return x

    def train_step(self) -> dict[str, float]:
        t0 = time.perf_counter()
        self.net.train()
        x = self.real_batch()
        noise = torch.randn(x.shape[0], self.net.latent_dim, generator=self.gen, device=self.device)
        logits, mu, logvar = self.net(x, noise)
        loss, rec, kl = vae_loss(logits, x, mu, logvar, self.beta)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.step += 1
        self.wall += time.perf_counter() - t0
        return {"step": self.step, "loss": float(loss.detach()), "rec": float(rec.detach()),
                "kl": float(kl.detach())}

    def state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        tensors = {f"net.{k}": v for k, v in self.net.state_dict().items()}
        to, mo = optimizer_tensors(self.opt, "opt")
        tensors.update(to)
        tensors["rng"] = self.gen.get_state()
        return tensors, {"step": self.step, "wall": self.wall, "opt": mo, "hparams": self.hparams,
                         "commands": self.commands}

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        sd = {k[4:]: v for k, v in tensors.items() if k.startswith("net.")}
        own = self.net.state_dict()
        for key in ("prior_mean", "prior_chol"):  # checkpoints from before the fitted prior existed
            sd.setdefault(key, own[key])
        self.net.load_state_dict(sd)
        restore_optimizer(self.opt, tensors, meta["opt"], "opt")
        self.gen.set_state(tensors["rng"].cpu())
        self.step, self.wall = int(meta["step"]), float(meta["wall"])
        self.commands = list(meta.get("commands", []))


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="livegen train vae", description="Train a convolutional VAE on a dataset "
                                 "assembled by `livegen train data`")
    ap.add_argument("--data", required=True, help="dataset folder (train.npy, dataset.json)")
    ap.add_argument("--out", required=True, help="models/NAME (.safetensors + .json written there)")
    ap.add_argument("--run", help="folder for checkpoints, samples and metrics (default runs/NAME)")
    ap.add_argument("--size", type=int, default=64, choices=[64, 128])
    ap.add_argument("--latent", type=int, default=64)
    ap.add_argument("--ch", type=int, default=32)
    ap.add_argument("--beta", type=float, default=1.0)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--steps", type=int, default=20000)
    ap.add_argument("--minutes", type=float, default=0, help="also stop after this much training time (0: no limit)")
    ap.add_argument("--sample-every", type=int, default=250)
    ap.add_argument("--half", action="store_true", help="store the exported weights as float16 (half the file size)")
    ap.add_argument("--log-every", type=int, default=25, help="metrics.jsonl row every N steps")
    ap.add_argument("--ckpt-minutes", type=float, default=3.0)
    ap.add_argument("--resume", action="store_true", help="continue from RUN/checkpoint.safetensors")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="auto")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    device = pick_device(a.device)
    run = Path(a.run) if a.run else Path("runs") / Path(a.out).name
    ckpt = run / "checkpoint.safetensors"
    images = images_to_tensor(load_split(a.data, "train"), device)
    tr = VaeTrainer(images, latent_dim=a.latent, ch=a.ch, size=a.size, beta=a.beta, batch=a.batch, lr=a.lr,
                    seed=a.seed, device=device)
    if a.resume and ckpt.exists():
        tr.load_state(*load_checkpoint(ckpt, device))
        log.info("resumed %s at step %d", ckpt, tr.step)
    metrics = MetricsLog(run / "metrics.jsonl")
    fixed_z = torch.randn(32, a.latent, generator=torch.Generator().manual_seed(a.seed + 7)).to(device)
    fixed_x = images[:32].float() / 255.0
    tr.commands.append(command_line("livegen train vae", argv))
    info = dataset_info(a.data)

    def checkpoint() -> None:
        tr.net.fit_prior(tr.images.float() / 255.0)
        save_checkpoint(ckpt, *tr.state())
        manifest = {"name": Path(a.out).name, "task": "generator", "native_size": a.size, "latent_dim": a.latent,
                    "training": {"command": tr.commands[0], "resumed_with": tr.commands[1:], "steps": tr.step,
                                 "wall_time_s": round(tr.wall, 1),
                                 "device": str(device), "threads": a.threads, **tr.hparams},
                    "dataset": {"path": a.data, **info}, "licence": info.get("licence", "unknown")}
        save_generator(a.out, tr.net.eval(), manifest, half=a.half)
        log.info("step %d: checkpoint %s, exported %s", tr.step, ckpt, a.out)

    every = Every(a.ckpt_minutes * 60)
    start_wall = tr.wall
    bar = tqdm(total=a.steps, initial=tr.step, mininterval=20, file=sys.stdout)
    while tr.step < a.steps and not (a.minutes and tr.wall - start_wall >= a.minutes * 60):
        row = tr.train_step()
        bar.update(1)
        if tr.step % a.log_every == 0:
            metrics.write(**row, wall=round(tr.wall, 1))
            bar.set_postfix(rec=f"{row['rec']:.1f}", kl=f"{row['kl']:.1f}")
        if tr.step % a.sample_every == 0:
            tr.net.eval()
            with torch.no_grad():
                tr.net.fit_prior(images[:512].float() / 255.0)
                recon = tr.net.generate(tr.net.encode(fixed_x))
                grid = torch.cat([fixed_x, recon, tr.net.generate(fixed_z)])
            save_grid(grid, run / "samples" / f"step_{tr.step:06d}.png")
        if every():
            checkpoint()
    bar.close()
    checkpoint()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
