"""Generator quality figures (``livegen eval gen``): Fréchet distance in EfficientNet-Lite0 space.

Not part of the frame loop. Compares held-out real images with: training images (the floor),
each trained model's samples (and a VAE's reconstructions of the held-out images), a
PCA-Gaussian baseline fit on the training pixels, and a randomly initialised generator. Also
prints batch-1 generation time at native resolution and, for VAEs, held-out reconstruction error.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from livegen.nets.effnet import load_effnet
from livegen.nets.generator import CascadeGenerator, DCGANGenerator, Generator, load_generator
from livegen.nets.io import ModelError, manifest_path
from livegen.train import command_line
from livegen.train.data import load_split

log = logging.getLogger("livegen.eval")


def frechet_distance(f1: torch.Tensor, f2: torch.Tensor) -> float:
    """|mu1 - mu2|² + tr(S1) + tr(S2) - 2 tr((S1^½ S2 S1^½)^½), exactly, in float64.

    With centred, scaled data matrices A, B (S1 = AᵀA, S2 = BᵀB) the last trace is the nuclear
    norm of A Bᵀ, an (n1 × n2) matrix: much cheaper than square roots of 1280 × 1280 covariances
    when there are fewer images than features, and free of the imaginary parts sqrtm produces.
    """
    a, b = f1.double(), f2.double()
    mu1, mu2 = a.mean(0), b.mean(0)
    ca = (a - mu1) / math.sqrt(max(len(a) - 1, 1))
    cb = (b - mu2) / math.sqrt(max(len(b) - 1, 1))
    cross = torch.linalg.svdvals(ca @ cb.T).sum()
    return float((mu1 - mu2).pow(2).sum() + ca.pow(2).sum() + cb.pow(2).sum() - 2 * cross)


@torch.no_grad()
def features(net: torch.nn.Module, images: torch.Tensor, size: int, batch: int = 50) -> torch.Tensor:
    """(N, 3, H, W) float images in [0, 1] (any device) -> (N, 1280) features on the CPU."""
    out = [net(chunk.float().to(next(net.parameters()).device), size=size).cpu() for chunk in images.split(batch)]
    return torch.cat(out)


def to_float(arr: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(arr)).permute(0, 3, 1, 2).float() / 255.0


@torch.no_grad()
def sample(net: Generator, n: int, seed: int, device: torch.device, batch: int = 100) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, net.latent_dim, generator=gen)
    return torch.cat([net.generate(c.to(device)).cpu() for c in z.split(batch)]).clamp(0, 1)


@torch.no_grad()
def reconstruct(net: Generator, images: torch.Tensor, device: torch.device, batch: int = 100) -> torch.Tensor:
    return torch.cat([net.generate(net.encode(c.to(device))).cpu() for c in images.split(batch)]).clamp(0, 1)


@torch.no_grad()
def upscaled(net: CascadeGenerator, images: torch.Tensor, shrink: int, device: torch.device,
             batch: int = 100) -> torch.Tensor:
    return torch.cat([net.sr(F.avg_pool2d(c.to(device), shrink)).cpu() for c in images.split(batch)]).clamp(0, 1)


def pca_gaussian(train: torch.Tensor, n: int, k: int, seed: int) -> torch.Tensor:
    """Baseline: a Gaussian over the top-k principal components of the training pixels."""
    x = train.flatten(1).float()
    mean = x.mean(0)
    # Randomised SVD for the top k only: the full SVD of 7,500 x 49,152 pixels (128 px images)
    # takes most of an hour on this CPU; this takes seconds and agrees to float precision.
    torch.manual_seed(seed)
    _, s, v = torch.svd_lowrank(x - mean, q=min(k + 16, *x.shape), niter=6)
    std = s[:k] / (x.shape[0] - 1) ** 0.5
    gen = torch.Generator().manual_seed(seed)
    coef = torch.randn(n, k, generator=gen) * std
    return (mean + coef @ v[:, :k].T).reshape(n, *train.shape[1:]).clamp(0, 1)


@torch.no_grad()
def generation_ms(net: Generator, device: torch.device, runs: int = 100) -> tuple[float, float]:
    """Median batch-1 generation time at native resolution in ms: (wall clock, process CPU time).

    On a shared machine the wall figure includes waiting for other jobs; the CPU-time figure is
    what the generation itself costs (close to the wall time on an idle machine, one thread).
    """
    z = torch.randn(1, net.latent_dim, device=device)
    for _ in range(10):
        net.generate(z)
    wall, cpu = [], []
    for _ in range(runs):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0, c0 = time.perf_counter(), time.process_time()
        net.generate(z)
        if device.type == "cuda":
            torch.cuda.synchronize()
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def evaluate(data: str | Path, models: list[str], n: int = 2000, feature_size: int = 128, seed: int = 0,
             pca_k: int = 64, device: torch.device | str = "cpu", effnet: torch.nn.Module | None = None,
             speed_threads: tuple[int, ...] = (1, 2), cache: str | Path | None = None,
             reference: str = "heldout") -> dict[str, Any]:
    """All rows of the quality table as a dict (see module docstring).

    ``cache``: a folder where features of the model-independent rows (held-out, training floor,
    PCA baseline, random-init nets) are kept, so re-evaluating a new checkpoint only embeds its
    own images.
    """
    device = torch.device(device)
    effnet = effnet if effnet is not None else load_effnet(device)
    # reference "fresh": unseen crops of the TRAINING pictures (datasets split by picture have them).
    train_arr, held_arr = load_split(data, "train"), load_split(data, reference)
    held = to_float(held_arr)
    train = to_float(train_arr)
    rng = np.random.default_rng(seed)
    tag = f"{Path(data).resolve().name}_{len(train)}_{len(held)}_fs{feature_size}_s{seed}"
    if reference != "heldout":
        tag += f"_{reference}"

    def feats(key: str | None, make: Any) -> torch.Tensor:
        file = Path(cache) / f"{tag}_{key}.safetensors" if cache is not None and key is not None else None
        if file is not None and file.exists():
            return load_file(str(file))["f"]
        f = features(effnet, make(), feature_size)
        if file is not None:
            file.parent.mkdir(parents=True, exist_ok=True)
            save_file({"f": f.contiguous()}, str(file))
        return f

    ref = feats(reference, lambda: held)
    rows: list[dict[str, Any]] = []

    def row(name: str, make: Any, key: str | None = None, **extra: Any) -> None:
        f = feats(key, make)
        fd = frechet_distance(f, ref)
        rows.append({"name": name, "n": len(f), "fd": round(fd, 3), **extra})
        log.info("%s: FD %.3f (%d images)", name, fd, len(f))

    pick = rng.choice(len(train), size=min(n, len(train)), replace=False)
    row("real: training images (floor)", lambda: train[pick], f"train{n}")
    row(f"PCA-Gaussian baseline (k={pca_k})", lambda: pca_gaussian(train, n, pca_k, seed), f"pca{pca_k}_lowrank_{n}")
    per_model: dict[str, dict[str, Any]] = {}
    random_done: set[tuple[Any, ...]] = set()
    for path in models:
        try:
            net, manifest = load_generator(path, device)
        except ModelError as e:
            log.error("%s", e)
            continue
        name = manifest.get("name") or Path(path).stem
        info: dict[str, Any] = {"steps": manifest.get("training", {}).get("steps")}
        row(f"{name}: samples", lambda net=net: sample(net, n, seed + 1, device))
        info["fd_samples"] = rows[-1]["fd"]
        if net.can_encode:
            fitted = not torch.equal(net.prior_chol, torch.eye(net.latent_dim, device=device))
            rows[-1]["name"] += " (fitted prior)" if fitted else ""
            if fitted:
                # The same decoder sampled from the standard N(0, I) prior, for comparison.
                plain = copy.deepcopy(net)
                plain.reset_prior()
                row(f"{name}: samples (standard N(0, I) prior)", lambda plain=plain: sample(plain, n, seed + 1, device))
                info["fd_samples_standard_prior"] = rows[-1]["fd"]
            rec = reconstruct(net, held, device)
            mse = float((rec - held).pow(2).mean())
            info["heldout_mse"] = round(mse, 5)
            info["heldout_psnr_db"] = round(10 * np.log10(1.0 / mse), 2)
            row(f"{name}: reconstructions of held-out", lambda rec=rec: rec, mse=info["heldout_mse"],
                psnr=info["heldout_psnr_db"])
            info["fd_reconstructions"] = rows[-1]["fd"]
        if isinstance(net, CascadeGenerator):
            # What the upsampling stage alone costs: real crops shrunk to the core's size, brought back.
            shrink = net.size // net.core.size
            real = train[pick]
            row(f"{name}: its x{shrink} stage on real crops shrunk to {net.core.size} px",
                lambda net=net, real=real, shrink=shrink: upscaled(net, real, shrink, device))
            info["fd_stage_on_real"] = rows[-1]["fd"]
        arch = net.architecture()
        key = tuple(sorted(arch.items()))
        if arch["kind"] == "dcgan" and key not in random_done:
            random_done.add(key)
            torch.manual_seed(seed)
            rand = DCGANGenerator(arch["latent_dim"], arch["ngf"], arch["size"]).to(device)
            for m in rand.modules():
                if isinstance(m, torch.nn.ConvTranspose2d):
                    torch.nn.init.normal_(m.weight, 0.0, 0.02)
            rand.eval()
            akey = "random_" + "_".join(f"{k}{v}" for k, v in key) + f"_{n}"
            row(f"random-init generator (same architecture as {name})",
                lambda rand=rand: sample(rand, n, seed + 2, device), akey)
        old = torch.get_num_threads()
        for threads in speed_threads:
            torch.set_num_threads(threads)
            wall, cpu = generation_ms(net, device)
            info[f"generate_ms_batch1_{threads}thread"] = round(wall, 2)
            info[f"generate_cpu_ms_batch1_{threads}thread"] = round(cpu, 2)
        torch.set_num_threads(old)
        per_model[str(path)] = info
    base = next(r["fd"] for r in rows if r["name"].startswith("PCA"))
    for r in rows:
        r["vs_pca"] = round(r["fd"] / base, 3) if base > 0 else None
    what = "held-out" if reference == "heldout" else {"fresh": "fresh (unseen crops of the training pictures)"}.get(
        reference, reference)
    return {"data": str(data), "reference": f"{len(held)} {what} real images", "feature_net":
            f"EfficientNet-Lite0 (ImageNet), pooled 1280-d, input resized to {feature_size} px", "rows": rows,
            "models": per_model}


def markdown(result: dict[str, Any]) -> str:
    lines = [f"Fréchet distance to {result['reference']} ({result['feature_net']}); lower is better.", "",
             "| images | n | FD | FD / PCA baseline |", "|---|---:|---:|---:|"]
    for r in result["rows"]:
        extra = f" (MSE {r['mse']}, PSNR {r['psnr']} dB)" if "mse" in r else ""
        lines.append(f"| {r['name']}{extra} | {r['n']} | {r['fd']:.2f} | {r['vs_pca']:.2f} |")
    for path, info in result["models"].items():
        speeds = ", ".join(f"{k.split('_')[-1]}: {v} ms wall / {info.get(k.replace('_ms', '_cpu_ms'))} ms CPU"
                           for k, v in info.items() if k.startswith("generate_ms"))
        lines.append(f"\n{path}: batch-1 generation {speeds}")
    return "\n".join(lines)


def update_manifests(result: dict[str, Any], argv: list[str], key: str = "quality") -> None:
    """Write each model's figures, and the command that measured them, into the manifests."""
    for path, info in result["models"].items():
        mpath = manifest_path(path)
        manifest = json.loads(mpath.read_text())
        manifest[key] = {**info, "metric": f"Fréchet distance, {result['feature_net']}",
                               "reference": result["reference"],
                               "baselines": {r["name"]: r["fd"] for r in result["rows"]},
                               "command": command_line("livegen eval gen", argv)}
        mpath.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="livegen eval gen", description="Fréchet-distance table for generators")
    ap.add_argument("models", nargs="*", help="generator .safetensors files")
    ap.add_argument("--data", default="data/emoji64", help="dataset the models were trained on "
                    "(its held-out split is the reference)")
    ap.add_argument("--n", type=int, default=2000, help="generated images per row")
    ap.add_argument("--feature-size", type=int, default=128, help="feature-net input size (64 px images are upscaled)")
    ap.add_argument("--pca-k", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--cache", default="runs/eval_cache", help="feature cache folder ('' to disable)")
    ap.add_argument("--json", help="also write the result as JSON here")
    ap.add_argument("--update-manifests", action="store_true", help="store the figures in each model's manifest")
    ap.add_argument("--reference", default="heldout", help="split of --data compared against: heldout, or fresh "
                    "(unseen crops of the training pictures, written by `train data abstract`)")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(a.threads)
    result = evaluate(a.data, a.models, a.n, a.feature_size, a.seed, a.pca_k, a.device,
                      cache=a.cache or None, reference=a.reference)
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps(result, indent=2) + "\n")
    if a.update_manifests:
        update_manifests(result, argv, "quality" if a.reference == "heldout" else f"quality_{a.reference}")
    print(json.dumps(result, indent=2))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
