"""GAN training (``livegen train gan``): makes the DCGAN generators the latent walk plays.

Losses (``--loss``): ``bce`` is the non-saturating GAN (D maximises log D(x) + log(1 - D(G(z))),
G maximises log D(G(z))), ``lsgan`` least squares, ``wgan-gp`` Wasserstein with gradient penalty.
The exported generator is an exponential moving average of G's weights (smoother samples, a
standard trick), with batch-norm statistics re-estimated for those averaged weights.

``--augment color,translation`` is differentiable augmentation (Zhao et al. 2020, "DiffAugment"):
the same random colour and shift changes are applied to real and generated images before D sees
them, so D cannot memorise a dataset of a few thousand emoji and keeps giving G useful gradients
over long runs; G still learns the un-augmented images.

``--d-arch projected`` swaps the pixel discriminator for one that judges fixed random projections
of a frozen VGG16 trunk's features (``livegen.nets.projected``): on a CPU budget it reaches
better pictures in far fewer steps, and fine-tunes a pixel-GAN's generator through ``--init``.
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

from livegen.nets.generator import DCGANGenerator, Discriminator, save_generator
from livegen.nets.io import ModelError
from livegen.nets.projected import ProjectedDiscriminator
from livegen.nets.vgg import load_trunk
from livegen.paths import VGG_TRUNK
from livegen.train import (
    command_line,
    optimizer_tensors,
    restore_optimizer,
    save_checkpoint,
    save_grid,
)
from livegen.train.data import dataset_info
from livegen.train.loop import (
    add_data_options,
    add_run_options,
    generator_manifest,
    resume_if_asked,
    run_training,
    setup_run,
)
from livegen.train.user_images import add_init_option, apply_init

log = logging.getLogger("livegen.train.gan")

LOSSES = ("bce", "lsgan", "wgan-gp")
D_ARCHS = ("dcgan", "projected")
AUGMENTS = ("color", "translation")


def parse_augment(text: str) -> tuple[str, ...]:
    """'color,translation' -> ('color', 'translation'); '' or 'none' -> ()."""
    parts = tuple(p.strip() for p in text.split(",") if p.strip() and p.strip() != "none")
    for p in parts:
        if p not in AUGMENTS:
            raise ValueError(f"unknown augmentation {p!r} (expected some of {', '.join(AUGMENTS)})")
    return parts


def diff_augment(x: torch.Tensor, policy: tuple[str, ...], gen: torch.Generator) -> torch.Tensor:
    """Random, differentiable per-image changes of a [-1, 1] batch (black background = -1)."""
    n = x.shape[0]

    def rand(*shape: int) -> torch.Tensor:
        return torch.rand(n, *shape, generator=gen, device=x.device)

    if "color" in policy:
        x = x + (rand(1, 1, 1) - 0.5)  # brightness
        mean = x.mean(dim=1, keepdim=True)
        x = (x - mean) * (rand(1, 1, 1) * 2) + mean  # saturation
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        x = (x - mean) * (rand(1, 1, 1) + 0.5) + mean  # contrast
    if "translation" in policy:
        # Whole-pixel shifts of up to 1/8 of the side; uncovered pixels become background.
        h, w = x.shape[-2:]
        shift = torch.round((rand(2) * 2 - 1) * (w // 8))
        theta = torch.zeros(n, 2, 3, device=x.device)
        theta[:, 0, 0] = theta[:, 1, 1] = 1.0
        theta[:, 0, 2] = shift[:, 0] * 2 / w
        theta[:, 1, 2] = shift[:, 1] * 2 / h
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        x = F.grid_sample(x + 1, grid, mode="bilinear", padding_mode="zeros", align_corners=False) - 1
    return x


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
                 lr_d: float | None = None,
                 n_critic: int | None = None, gp_weight: float = 10.0, ema_decay: float = 0.999,
                 flip: bool = True, augment: str = "", d_arch: str = "dcgan", features: str | Path = VGG_TRUNK,
                 seed: int = 0, device: torch.device | str = "cpu") -> None:
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
        if d_arch not in D_ARCHS:
            raise ValueError(f"d_arch must be one of {D_ARCHS}, got {d_arch!r}")
        if d_arch == "projected" and loss == "wgan-gp":
            raise ValueError("the projected discriminator's patch logits are not a WGAN critic; use bce or lsgan")
        if images.shape[-1] != size:
            raise ValueError(f"dataset images are {images.shape[-1]} px but --size is {size}")
        self.device = torch.device(device)
        torch.manual_seed(seed)  # weight init
        self.images = images.to(self.device)
        self.loss, self.batch, self.flip, self.gp_weight, self.ema_decay = loss, batch, flip, gp_weight, ema_decay
        self.augment = parse_augment(augment)
        self.n_critic = n_critic if n_critic is not None else (5 if loss == "wgan-gp" else 1)
        self.G = DCGANGenerator(latent_dim, ngf, size).to(self.device)
        self.D: Discriminator | ProjectedDiscriminator
        if d_arch == "projected":
            self.D = ProjectedDiscriminator(load_trunk(features, self.device), size, ndf, seed).to(self.device)
            self.D.calibrate(self.images[:64].float() / 127.5 - 1.0)
        else:
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
        # A faster discriminator (two time-scale update rule, Heusel et al. 2017) helps a
        # spectral-norm D that otherwise barely separates real from fake on varied data.
        lr_d = lr if lr_d is None else lr_d
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=lr_d, betas=betas)
        self.gen = torch.Generator(device=self.device).manual_seed(seed + 1)
        self.step = 0
        self.wall = 0.0
        self.commands: list[str] = []  # every invocation that trained this run (first, then resumes)
        self.hparams = {"latent_dim": latent_dim, "ngf": ngf, "ndf": ndf, "size": size, "loss": loss,
                        "d_norm": d_norm, "batch": batch, "lr": lr, "lr_d": lr_d, "n_critic": self.n_critic,
                        "gp_weight": gp_weight, "ema_decay": ema_decay, "flip": flip, "d_arch": d_arch,
                        "seed": seed}
        if self.augment:
            self.hparams["augment"] = ",".join(self.augment)

    def real_batch(self) -> torch.Tensor:
        idx = torch.randint(0, self.images.shape[0], (self.batch,), generator=self.gen, device=self.device)
        x = self.images[idx].float() / 127.5 - 1.0
        if self.flip:
            # Mirrored emoji are still emoji: doubles the data a small dataset offers.
            mask = torch.rand(self.batch, 1, 1, 1, generator=self.gen, device=self.device) < 0.5
            x = torch.where(mask, x.flip(-1), x)
        return x

    def discriminate(self, x: torch.Tensor) -> torch.Tensor:
        return self.D(diff_augment(x, self.augment, self.gen) if self.augment else x)

    def noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.G.latent_dim, generator=self.gen, device=self.device)

    def train_step(self) -> dict[str, float]:
        t0 = time.perf_counter()
        for _ in range(self.n_critic):
            real = self.real_batch()
            with torch.no_grad():
                fake = self.G(self.noise(self.batch))
            d_real, d_fake = self.discriminate(real), self.discriminate(fake)
            ld = d_loss(self.loss, d_real, d_fake)
            if self.loss == "wgan-gp":
                ld = ld + self.gp_weight * gradient_penalty(self.D, real, fake, self.gen)
            self.opt_d.zero_grad(set_to_none=True)
            ld.backward()
            self.opt_d.step()
        fake = self.G(self.noise(self.batch))
        lg = g_loss(self.loss, self.discriminate(fake))
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
        # The learning rates of this invocation win over the checkpoint's, so a resumed run can change them.
        for opt, key in ((self.opt_g, "lr"), (self.opt_d, "lr_d")):
            for group in opt.param_groups:
                group["lr"] = self.hparams[key]
        self.gen.set_state(tensors["rng"].cpu())
        self.step, self.wall = int(meta["step"]), float(meta["wall"])
        self.commands = list(meta.get("commands", []))
        if "started_from" in meta["hparams"]:  # set by --init in the first invocation only
            self.hparams["started_from"] = meta["hparams"]["started_from"]

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
    add_data_options(ap)
    ap.add_argument("--loss", default="bce", choices=LOSSES)
    ap.add_argument("--ngf", type=int, default=32)
    ap.add_argument("--ndf", type=int, default=32)
    ap.add_argument("--d-norm", default="sn", choices=["sn", "bn", "none"])
    ap.add_argument("--d-arch", default="dcgan", choices=D_ARCHS,
                    help="dcgan: a conv net on the pixels; projected: small heads on fixed random projections "
                    "of the VGG16 trunk's features (faster to good pictures on the CPU)")
    ap.add_argument("--features", default=VGG_TRUNK, help="VGG16 trunk for --d-arch projected "
                    "(default %(default)s, written by `livegen train style-data`)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float)
    ap.add_argument("--lr-d", type=float, help="discriminator learning rate (default: --lr)")
    ap.add_argument("--n-critic", type=int)
    ap.add_argument("--augment", default="none", help="differentiable augmentation before D: none, or a comma list "
                    "of color, translation (for small datasets and long runs)")
    add_init_option(ap)
    add_run_options(ap)
    a = ap.parse_args(argv)
    try:
        parse_augment(a.augment)
    except ValueError as e:
        ap.error(f"--augment: {e}")
    setup = setup_run(a)
    device, run, ckpt, images = setup.device, setup.run, setup.ckpt, setup.images
    try:
        tr = GanTrainer(images, latent_dim=a.latent, ngf=a.ngf, ndf=a.ndf, size=a.size, loss=a.loss,
                        d_norm=a.d_norm, batch=a.batch, lr=a.lr, lr_d=a.lr_d, n_critic=a.n_critic,
                        augment=a.augment, d_arch=a.d_arch, features=a.features, seed=a.seed, device=device)
    except ValueError as e:
        ap.error(str(e))
    except ModelError as e:
        raise SystemExit(f"livegen train gan: {e}") from None
    if a.init and not (a.resume and ckpt.exists()):
        apply_init(tr, a.init)
    resume_if_asked(tr, a, setup)
    fixed_z = torch.randn(64, a.latent, generator=torch.Generator().manual_seed(a.seed + 7)).to(device)
    tr.commands.append(command_line("livegen train gan", argv))
    info = dataset_info(a.data)

    def checkpoint() -> None:
        save_checkpoint(ckpt, *tr.state())
        g = tr.export_generator()
        manifest = generator_manifest(a, tr, device, info)
        save_generator(a.out, g, manifest, half=a.half)
        log.info("step %d: checkpoint %s, exported %s", tr.step, ckpt, a.out)

    def sample() -> None:
        with torch.no_grad():
            save_grid(tr.G_ema.eval().generate(fixed_z), run / "samples" / f"step_{tr.step:06d}.png")

    run_training(tr, a, run, checkpoint, sample,
                 postfix=lambda row: {"d": f"{row['loss_d']:.3f}", "g": f"{row['loss_g']:.3f}"})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
