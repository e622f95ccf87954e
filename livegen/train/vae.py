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
from typing import Any

import torch
import torch.nn.functional as F

from livegen.nets.generator import VAE, save_generator
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
    add_data_options(ap)
    ap.add_argument("--ch", type=int, default=32)
    ap.add_argument("--beta", type=float, default=1.0)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    add_run_options(ap)
    a = ap.parse_args(argv)
    setup = setup_run(a)
    device, run, ckpt, images = setup.device, setup.run, setup.ckpt, setup.images
    tr = VaeTrainer(images, latent_dim=a.latent, ch=a.ch, size=a.size, beta=a.beta, batch=a.batch, lr=a.lr,
                    seed=a.seed, device=device)
    resume_if_asked(tr, a, setup)
    fixed_z = torch.randn(32, a.latent, generator=torch.Generator().manual_seed(a.seed + 7)).to(device)
    fixed_x = images[:32].float() / 255.0
    tr.commands.append(command_line("livegen train vae", argv))
    info = dataset_info(a.data)

    def checkpoint() -> None:
        tr.net.fit_prior(tr.images.float() / 255.0)
        save_checkpoint(ckpt, *tr.state())
        manifest = generator_manifest(a, tr, device, info)
        save_generator(a.out, tr.net.eval(), manifest, half=a.half)
        log.info("step %d: checkpoint %s, exported %s", tr.step, ckpt, a.out)

    def sample() -> None:
        tr.net.eval()
        with torch.no_grad():
            tr.net.fit_prior(images[:512].float() / 255.0)
            recon = tr.net.generate(tr.net.encode(fixed_x))
            grid = torch.cat([fixed_x, recon, tr.net.generate(fixed_z)])
        save_grid(grid, run / "samples" / f"step_{tr.step:06d}.png")

    run_training(tr, a, run, checkpoint, sample,
                 postfix=lambda row: {"rec": f"{row['rec']:.1f}", "kl": f"{row['kl']:.1f}"})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
