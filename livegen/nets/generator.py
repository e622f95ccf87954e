"""Generator networks the latent walk plays: a DCGAN generator, a convolutional VAE, and a cascade
(either of them under a learned upsampler).

In the frame loop, ``livegen.stages.generator.GeneratorStage`` hands one latent vector per frame to
``Generator.generate(z)`` and gets an image in [0, 1] at the model's native resolution; a VAE
can also ``encode`` a camera frame into that latent space. Both nets are described by a small
architecture dict stored in the model manifest, so ``load_generator`` rebuilds the exact net
before loading the safetensors weights.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from livegen.nets.io import build_checked, load_into, load_manifest, load_model, save_model
from livegen.nets.upsample import Upsampler, build_upsampler

log = logging.getLogger("livegen.generator")

SIZES = (64, 128, 256)


def _widths(size: int, base: int) -> list[int]:
    """Channel widths from the 4×4 seed up to ``size``: 8b, 4b, 2b, b at 64 px (the DCGAN layout).

    128 px keeps the widest width for one extra block instead of doubling it again, so the
    extra resolution costs ~30 % more compute rather than ~4×; 256 px (GPU training) adds a second.
    """
    if size not in SIZES:
        raise ValueError(f"size must be one of {SIZES}, got {size}")
    return [base * 8] * {64: 0, 128: 1, 256: 2}[size] + [base * 8, base * 4, base * 2, base]


class Generator(nn.Module):
    """What the engine needs from any generator: latent size, native size, ``generate``."""

    kind = "generator"
    label = "generator"  # how the HUD names the family
    latent_dim: int
    size: int
    can_encode = False

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """(N, latent_dim) latents -> (N, 3, size, size) images in [0, 1]."""
        raise NotImplementedError

    def encode(self, image: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"{self.kind} has no encoder")

    def architecture(self) -> dict[str, Any]:
        raise NotImplementedError


class DCGANGenerator(Generator):
    """Transposed-convolution generator; at 64 px its ``main`` layer indices match the PyTorch
    DCGAN tutorial's, so a tutorial checkpoint loads without renaming (see train/import_dcgan)."""

    kind = "dcgan"
    label = "GAN"

    def __init__(self, latent_dim: int = 100, ngf: int = 64, size: int = 64) -> None:
        super().__init__()
        self.latent_dim, self.ngf, self.size = latent_dim, ngf, size
        w = _widths(size, ngf)
        layers: list[nn.Module] = [nn.ConvTranspose2d(latent_dim, w[0], 4, 1, 0, bias=False),
                                   nn.BatchNorm2d(w[0]), nn.ReLU(True)]
        for cin, cout in zip(w[:-1], w[1:], strict=True):
            layers += [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(w[-1], 3, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Raw output in [-1, 1] (what the discriminator sees during training)."""
        return self.main(z.reshape(z.shape[0], self.latent_dim, 1, 1))

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        return (self.forward(z) + 1.0) * 0.5

    def architecture(self) -> dict[str, Any]:
        return {"kind": self.kind, "latent_dim": self.latent_dim, "ngf": self.ngf, "size": self.size}


class Discriminator(nn.Module):
    """DCGAN critic. ``norm='sn'`` (spectral norm, the default) keeps it Lipschitz-bounded without
    batch statistics, so the same net serves BCE, LSGAN and WGAN-GP (whose per-sample gradient
    penalty is invalid under batch norm); ``'bn'`` is the original DCGAN recipe."""

    def __init__(self, ndf: int = 64, size: int = 64, norm: str = "sn") -> None:
        super().__init__()
        if norm not in ("sn", "bn", "none"):
            raise ValueError(f"norm must be sn, bn or none, got {norm!r}")
        w = list(reversed(_widths(size, ndf)))
        sn = nn.utils.parametrizations.spectral_norm if norm == "sn" else (lambda m: m)
        layers: list[nn.Module] = [sn(nn.Conv2d(3, w[0], 4, 2, 1)), nn.LeakyReLU(0.2, True)]
        for cin, cout in zip(w[:-1], w[1:], strict=True):
            layers.append(sn(nn.Conv2d(cin, cout, 4, 2, 1, bias=norm != "bn")))
            if norm == "bn":
                layers.append(nn.BatchNorm2d(cout))
            layers.append(nn.LeakyReLU(0.2, True))
        layers.append(sn(nn.Conv2d(w[-1], 1, 4, 1, 0)))
        self.main = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] -> one logit/score per image, shape (N,)."""
        return self.main(x).reshape(x.shape[0])


class VAE(Generator):
    """Convolutional VAE; the decoder is the generator, the encoder maps a camera frame to z.

    The latent the engine plays is whitened: ``generate(z)`` decodes ``prior_mean + prior_chol @ z``.
    Both buffers start as the standard N(0, I) prior; after training they are fit to the
    aggregate posterior of the training images (an "ex-post" Gaussian prior, Ghosh et al. 2020),
    so N(0, I) walk latents land where the decoder has seen real codes instead of in the holes
    of the prior that make plain VAE samples muddy.
    """

    kind = "vae"
    label = "VAE"
    can_encode = True

    def __init__(self, latent_dim: int = 128, ch: int = 32, size: int = 64) -> None:
        super().__init__()
        self.latent_dim, self.ch, self.size = latent_dim, ch, size
        w = list(reversed(_widths(size, ch)))  # b, 2b, 4b, 8b (, 8b)
        enc: list[nn.Module] = []
        cin = 3
        for cout in w:
            enc += [nn.Conv2d(cin, cout, 4, 2, 1), nn.BatchNorm2d(cout), nn.LeakyReLU(0.2, True)]
            cin = cout
        self.encoder = nn.Sequential(*enc)
        self.top = w[-1]
        self.to_stats = nn.Linear(self.top * 16, 2 * latent_dim)
        self.from_z = nn.Linear(latent_dim, self.top * 16)
        dec: list[nn.Module] = [nn.BatchNorm2d(self.top), nn.ReLU(True)]
        rw = list(reversed(w))
        for cin_, cout in zip(rw[:-1], rw[1:], strict=True):
            dec += [nn.ConvTranspose2d(cin_, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)]
        dec += [nn.ConvTranspose2d(rw[-1], 3, 4, 2, 1)]
        self.decoder = nn.Sequential(*dec)
        self.register_buffer("prior_mean", torch.zeros(latent_dim))
        self.register_buffer("prior_chol", torch.eye(latent_dim))

    def stats(self, x01: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Images in [0, 1] at native size -> (mu, logvar)."""
        h = self.encoder(x01 * 2.0 - 1.0).flatten(1)
        mu, logvar = self.to_stats(h).chunk(2, dim=1)
        # Clamp keeps exp(logvar) finite on out-of-distribution camera frames.
        return mu, logvar.clamp(-12.0, 8.0)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.from_z(z).reshape(z.shape[0], self.top, 4, 4))

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decode_logits(self.prior_mean + z @ self.prior_chol.T))

    def encode(self, image: torch.Tensor) -> torch.Tensor:
        """Any-size (N, 3, H, W) image in [0, 1] -> whitened posterior mean (N, latent_dim)."""
        if image.shape[-2:] != (self.size, self.size):
            image = F.interpolate(image, size=(self.size, self.size), mode="bilinear", antialias=True,
                                  align_corners=False)
        mu = self.stats(image)[0]
        return torch.linalg.solve_triangular(self.prior_chol, (mu - self.prior_mean).T, upper=False).T

    @torch.no_grad()
    def fit_prior(self, images01: torch.Tensor, batch: int = 256) -> None:
        """Fit the playing prior to the aggregate posterior: cov(mu) + mean posterior variance."""
        was_training = self.training
        self.eval()
        mus, variances = [], []
        for chunk in images01.split(batch):
            mu, logvar = self.stats(chunk)
            mus.append(mu.double())
            variances.append(logvar.double().exp())
        mu = torch.cat(mus)
        cov = torch.cov(mu.T) + torch.diag(torch.cat(variances).mean(0))
        cov = cov + 1e-6 * torch.eye(self.latent_dim, dtype=cov.dtype, device=cov.device)
        self.prior_mean.copy_(mu.mean(0))
        self.prior_chol.copy_(torch.linalg.cholesky(cov))
        self.train(was_training)

    def reset_prior(self) -> None:
        """Back to the standard N(0, I) prior."""
        self.prior_mean.zero_()
        self.prior_chol.copy_(torch.eye(self.latent_dim))

    def forward(self, x01: torch.Tensor, noise: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Training pass: reconstruction logits, mu, logvar (``noise`` ~ N(0, I) passed in for determinism)."""
        mu, logvar = self.stats(x01)
        z = mu + noise * torch.exp(0.5 * logvar)
        return self.decode_logits(z), mu, logvar

    def architecture(self) -> dict[str, Any]:
        return {"kind": self.kind, "latent_dim": self.latent_dim, "ch": self.ch, "size": self.size}


class CascadeGenerator(Generator):
    """A core generator drawing at a fraction of the native size, under a learned ×2/×4 stage.

    A GAN's cost on the CPU grows with its output area, so the core learns the picture at 64 px
    in a few hours; the upsampler, trained on the same dataset's crops and their box-shrunk
    copies, brings it to the native size with the detail a plain resize lacks. ``generate`` is
    one differentiable pass, so the GPU paths (fp16, CUDA graphs, ONNX) take it like any net.
    """

    kind = "cascade"

    def __init__(self, core: Generator, sr: Upsampler) -> None:
        super().__init__()
        if isinstance(core, CascadeGenerator):
            raise ValueError("a cascade's core must be a plain generator")
        self.core, self.sr = core, sr
        self.latent_dim, self.size = core.latent_dim, core.size * sr.scale
        self.label = f"{core.label} {core.size} px + learned x{sr.scale}"

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        return self.sr(self.core.generate(z)).clamp(0.0, 1.0)

    def architecture(self) -> dict[str, Any]:
        return {"kind": self.kind, "core": self.core.architecture(), "sr": self.sr.architecture()}


def build(arch: dict[str, Any]) -> Generator:
    """Rebuild a generator from its manifest architecture; ValueError on anything unknown."""
    kind = arch.get("kind")
    try:
        if kind == "dcgan":
            return DCGANGenerator(int(arch["latent_dim"]), int(arch["ngf"]), int(arch["size"]))
        if kind == "vae":
            return VAE(int(arch["latent_dim"]), int(arch["ch"]), int(arch["size"]))
        if kind == "cascade":
            core, sr = arch["core"], arch["sr"]
            if not isinstance(core, dict) or core.get("kind") == "cascade":
                raise ValueError("a cascade's core must be a plain generator")
            return CascadeGenerator(build(core), build_upsampler(sr))
    except KeyError as e:
        raise ValueError(f"architecture {kind!r} lacks {e.args[0]!r}") from None
    except (TypeError, ValueError) as e:
        raise ValueError(f"architecture {kind!r}: {e}") from None
    raise ValueError(f"unknown generator kind {kind!r} (expected dcgan, vae or cascade)")


def save_generator(path: str | Path, net: Generator, manifest: dict[str, Any], half: bool = False) -> Path:
    """Weights + manifest; ``half`` stores float tensors as float16 (half the file; loaded back as float32)."""
    sd = net.state_dict()
    if half:
        sd = {k: v.half() if v.is_floating_point() else v for k, v in sd.items()}
    manifest = dict(manifest, architecture=net.architecture(), weights_dtype="float16" if half else "float32")
    return save_model(path, sd, manifest)


def load_generator(path: str | Path, device: str | torch.device = "cpu") -> tuple[Generator, dict[str, Any]]:
    """Weights + manifest -> generator in eval mode on ``device``; ModelError names file and reason."""
    net = build_checked(build, load_manifest(path)["architecture"], path)
    tensors, manifest = load_model(path, device)
    load_into(net, tensors, path)
    return net.to(device).eval(), manifest
