"""GAN training (``livegen train gan``): makes the DCGAN generators the latent walk plays.

Losses (``--loss``): ``bce`` is the non-saturating GAN (D maximises log D(x) + log(1 - D(G(z))),
G maximises log D(G(z))), ``lsgan`` least squares, ``wgan-gp`` Wasserstein with gradient penalty.
The exported generator is an exponential moving average of G's weights (smoother samples, a
standard trick), with batch-norm statistics re-estimated for those averaged weights.
"""

from __future__ import annotations

import argparse
import copy
import logging
import sys
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from tqdm import tqdm

from livegen.nets.generator import DCGANGenerator, Discriminator, save_generator
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

log = logging.getLogger("livegen.train.gan")

LOSSES = ("bce", "lsgan", "wgan-gp")


def d_loss(loss: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    if loss == "bce":
        return F.softplus(-real).mean() + F.softplus(fake).mean()
    if loss == "lsgan":
        return 0.5 * ((real - 1).pow(2).mean() + fake.pow(2).mean())
    # Small drift term keeps the critic's scores near zero (as in progressive GAN).
    return fake.mean() - real.mean() + 1e-3 * real.pow(2).mean()


def g_loss(loss: str, fake: torch.Tensor) -> torch.Tensor:
    if loss == "bce":
        return F.softplus(-fake).mean()  # non-saturating: -log D(G(z))
    if loss == "lsgan":
        return 0.5 * (fake - 1).pow(2).mean()
    return -fake.mean()


def gradient_penalty(d: Discriminator, real: torch.Tensor, fake: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    eps = torch.rand(real.shape[0], 1, 1, 1, generator=gen, device=real.device)
    mix = (eps * real + (1 - eps) * fake).requires_grad_(True)
    grad, = torch.autograd.grad(d(mix).sum(), mix, create_graph=True)
    return (grad.flatten(1).norm(dim=1) - 1).pow(2).mean()


class GanTrainer:
    """All training state in one place so a checkpoint restores the exact next step."""

    def __init__(self, images: torch.Tensor, *, latent_dim: int = 64, ngf: int = 32, ndf: int = 32, size: int = 64,
                 loss: str = "bce", d_norm: str = "sn", batch: int = 64, lr: float | None = None,
                 n_critic: int | None = None, gp_weight: float = 10.0, ema_decay: float = 0.999,
                 flip: bool = True, seed: int = 0, device: torch.device | str = "cpu") -> None:
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
        if images.shape[-1] != size:
            raise ValueError(f"dataset images are {images.shape[-1]} px but --size is {size}")
        self.device = torch.device(device)
        torch.manual_seed(seed)  # weight init
        self.images = images.to(self.device)
        self.loss, self.batch, self.flip, self.gp_weight, self.ema_decay = loss, batch, flip, gp_weight, ema_decay
        self.n_critic = n_critic if n_critic is not None else (5 if loss == "wgan-gp" else 1)
        self.G = DCGANGenerator(latent_dim, ngf, size).to(self.device)
        self.D = Discriminator(ndf, size, d_norm).to(self.device)
        for m in list(self.G.modules()) + list(self.D.modules()):
            if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
                torch.nn.init.normal_(m.weight, 0.0, 0.02)
        self.G_ema = copy.deepcopy(self.G).eval()
        for p in self.G_ema.parameters():
            p.requires_grad_(False)
        if lr is None:
            lr = 1e-4 if loss == "wgan-gp" else 2e-4
        betas = (0.0, 0.9) if loss == "wgan-gp" else (0.5, 0.999)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=lr, betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=lr, betas=betas)
        self.gen = torch.Generator(device=self.device).manual_seed(seed + 1)
        self.step = 0
        self.wall = 0.0
        self.commands: list[str] = []  # every invocation that trained this run (first, then resumes)
        self.hparams = {"latent_dim": latent_dim, "ngf": ngf, "ndf": ndf, "size": size, "loss": loss,
                        "d_norm": d_norm, "batch": batch, "lr": lr, "n_critic": self.n_critic,
                        "gp_weight": gp_weight, "ema_decay": ema_decay, "flip": flip, "seed": seed}

    def real_batch(self) -> torch.Tensor:
        idx = torch.randint(0, self.images.shape[0], (self.batch,), generator=self.gen, device=self.device)
        x = self.images[idx].float() / 127.5 - 1.0
        if self.flip:
            # Mirrored emoji are still emoji: doubles the data a small dataset offers.
            mask = torch.rand(self.batch, 1, 1, 1, generator=self.gen, device=self.device) < 0.5
            x = torch.where(mask, x.flip(-1), x)
        return x

    def noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.G.latent_dim, generator=self.gen, device=self.device)

    def train_step(self) -> dict[str, float]:
        t0 = time.perf_counter()
        for _ in range(self.n_critic):
            real = self.real_batch()
            with torch.no_grad():
                fake = self.G(self.noise(self.batch))
            d_real, d_fake = self.D(real), self.D(fake)
            ld = d_loss(self.loss, d_real, d_fake)
            if self.loss == "wgan-gp":
                ld = ld + self.gp_weight * gradient_penalty(self.D, real, fake, self.gen)
            self.opt_d.zero_grad(set_to_none=True)
            ld.backward()
            self.opt_d.step()
        fake = self.G(self.noise(self.batch))
        lg = g_loss(self.loss, self.D(fake))
        self.opt_g.zero_grad(set_to_none=True)
        lg.backward()
        self.opt_g.step()
        self._update_ema()
        self.step += 1
        self.wall += time.perf_counter() - t0
        return {"step": self.step, "loss_d": float(ld.detach()), "loss_g": float(lg.detach()),
                "d_real": float(d_real.detach().mean()), "d_fake": float(d_fake.detach().mean())}

    @torch.no_grad()
    def _update_ema(self) -> None:
        # Warm-up so early EMA is not dominated by the random initial weights.
        decay = min(self.ema_decay, (1 + self.step) / (10 + self.step))
        for pe, p in zip(self.G_ema.parameters(), self.G.parameters(), strict=True):
            pe.lerp_(p, 1 - decay)
        for be, b in zip(self.G_ema.buffers(), self.G.buffers(), strict=True):
            be.copy_(b)

    def state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        tensors: dict[str, torch.Tensor] = {}
        for prefix, module in (("G", self.G), ("D", self.D), ("E", self.G_ema)):
            tensors.update({f"{prefix}.{k}": v for k, v in module.state_dict().items()})
        tg, mg = optimizer_tensors(self.opt_g, "optG")
        td, md = optimizer_tensors(self.opt_d, "optD")
        tensors.update(tg)
        tensors.update(td)
        tensors["rng"] = self.gen.get_state()
        meta = {"step": self.step, "wall": self.wall, "optG": mg, "optD": md, "hparams": self.hparams,
                "commands": self.commands}
        return tensors, meta

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        for prefix, module in (("G", self.G), ("D", self.D), ("E", self.G_ema)):
            module.load_state_dict({k[len(prefix) + 1:]: v for k, v in tensors.items()
                                    if k.startswith(prefix + ".")})
        restore_optimizer(self.opt_g, tensors, meta["optG"], "optG")
        restore_optimizer(self.opt_d, tensors, meta["optD"], "optD")
        self.gen.set_state(tensors["rng"].cpu())
        self.step, self.wall = int(meta["step"]), float(meta["wall"])
        self.commands = list(meta.get("commands", []))

    @torch.no_grad()
    def export_generator(self, batches: int = 8) -> DCGANGenerator:
        """EMA generator with batch-norm statistics re-estimated for the averaged weights."""
        g = copy.deepcopy(self.G_ema)
        bn = [m for m in g.modules() if isinstance(m, torch.nn.BatchNorm2d)]
        for m in bn:
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the calibration batches
        g.train()
        gen = torch.Generator(device=self.device).manual_seed(12345)
        for _ in range(batches):
            g(torch.randn(128, g.latent_dim, generator=gen, device=self.device))
        return g.eval()


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="livegen train gan", description="Train a DCGAN generator on a dataset "
                                 "assembled by `livegen train data`")
    ap.add_argument("--data", required=True, help="dataset folder (train.npy, dataset.json)")
    ap.add_argument("--out", required=True, help="models/NAME (.safetensors + .json written there)")
    ap.add_argument("--run", help="folder for checkpoints, samples and metrics (default runs/NAME)")
    ap.add_argument("--size", type=int, default=64, choices=[64, 128])
    ap.add_argument("--loss", default="bce", choices=LOSSES)
    ap.add_argument("--latent", type=int, default=64)
    ap.add_argument("--ngf", type=int, default=32)
    ap.add_argument("--ndf", type=int, default=32)
    ap.add_argument("--d-norm", default="sn", choices=["sn", "bn", "none"])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float)
    ap.add_argument("--n-critic", type=int)
    ap.add_argument("--steps", type=int, default=20000, help="stop after this many generator steps")
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
    tr = GanTrainer(images, latent_dim=a.latent, ngf=a.ngf, ndf=a.ndf, size=a.size, loss=a.loss, d_norm=a.d_norm,
                    batch=a.batch, lr=a.lr, n_critic=a.n_critic, seed=a.seed, device=device)
    if a.resume and ckpt.exists():
        tr.load_state(*load_checkpoint(ckpt, device))
        log.info("resumed %s at step %d", ckpt, tr.step)
    metrics = MetricsLog(run / "metrics.jsonl")
    fixed_z = torch.randn(64, a.latent, generator=torch.Generator().manual_seed(a.seed + 7)).to(device)
    tr.commands.append(command_line("livegen train gan", argv))
    info = dataset_info(a.data)

    def checkpoint() -> None:
        save_checkpoint(ckpt, *tr.state())
        g = tr.export_generator()
        manifest = {"name": Path(a.out).name, "task": "generator", "native_size": a.size, "latent_dim": a.latent,
                    "training": {"command": tr.commands[0], "resumed_with": tr.commands[1:], "steps": tr.step,
                                 "wall_time_s": round(tr.wall, 1),
                                 "device": str(device), "threads": a.threads, **tr.hparams},
                    "dataset": {"path": a.data, **info}, "licence": info.get("licence", "unknown")}
        save_generator(a.out, g, manifest, half=a.half)
        log.info("step %d: checkpoint %s, exported %s", tr.step, ckpt, a.out)

    every = Every(a.ckpt_minutes * 60)
    start_wall = tr.wall
    bar = tqdm(total=a.steps, initial=tr.step, mininterval=20, file=sys.stdout)
    while tr.step < a.steps and not (a.minutes and tr.wall - start_wall >= a.minutes * 60):
        row = tr.train_step()
        bar.update(1)
        if tr.step % a.log_every == 0:
            metrics.write(**row, wall=round(tr.wall, 1))
            bar.set_postfix(d=f"{row['loss_d']:.3f}", g=f"{row['loss_g']:.3f}")
        if tr.step % a.sample_every == 0:
            with torch.no_grad():
                save_grid(tr.G_ema.eval().generate(fixed_z), run / "samples" / f"step_{tr.step:06d}.png")
        if every():
            checkpoint()
    bar.close()
    checkpoint()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
