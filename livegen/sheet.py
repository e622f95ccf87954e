"""Sample sheets (``livegen sheet MODEL [MODEL ...] --out PNG``): what a model draws, at a glance.

A small dispatch on the manifest: each model kind has one function that returns a labelled block
(an RGB uint8 array); several models stack into one PNG (docs/generators.png is the sheet of every
shipped generator). Generators (``dcgan``, ``vae``, ``cascade``) draw 8×4 samples from fixed latents; the
upsampler shows bicubic against its own output; a style model shows its contact sheet (held-out
photos and a blurred one through every style, see :mod:`livegen.bench.sheet`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

from livegen.nets.io import ModelError, load_manifest

CELL = 128  # every sample is shown at this size so models of different sizes line up
LABEL_H = 22


def _to_uint8(x: torch.Tensor) -> np.ndarray:
    return (x.clamp(0, 1).permute(0, 2, 3, 1).numpy() * 255 + 0.5).astype(np.uint8)


def _grid(images: np.ndarray, cols: int) -> np.ndarray:
    n, h, w, _ = images.shape
    rows = (n + cols - 1) // cols
    grid = np.zeros((rows * h, cols * w, 3), dtype=np.uint8)
    for i, im in enumerate(images):
        r, c = divmod(i, cols)
        grid[r * h:(r + 1) * h, c * w:(c + 1) * w] = im
    return grid


def _label(block: np.ndarray, text: str) -> np.ndarray:
    head = Image.new("RGB", (block.shape[1], LABEL_H), (24, 24, 24))
    ImageDraw.Draw(head).text((6, 5), text, fill=(235, 235, 235))
    return np.concatenate([np.asarray(head), block], axis=0)


@torch.no_grad()
def generator_sheet(path: Path, manifest: dict[str, Any], cols: int = 8, rows: int = 4, seed: int = 0,
                    cell: int = CELL) -> np.ndarray:
    from livegen.nets.generator import load_generator

    net, _ = load_generator(path)
    z = torch.randn(cols * rows, net.latent_dim, generator=torch.Generator().manual_seed(seed))
    img = net.generate(z).float()
    if img.shape[-1] != cell:
        img = F.interpolate(img, size=(cell, cell), mode="bicubic", align_corners=False,
                            antialias=img.shape[-1] > cell)
    q = manifest.get("quality", {})
    data = Path(str(manifest.get("dataset", {}).get("path", ""))).name
    fd = f", FD {q['fd_samples']:.0f} on {data} held-out" if "fd_samples" in q else ""
    trained = f", trained on {data}" if data and not fd else ""
    text = f"{manifest.get('name', path.stem)}: {net.label}, {net.size} px, z={net.latent_dim}{fd}{trained}"
    return _label(_grid(_to_uint8(img), cols), text)


@torch.no_grad()
def upsampler_sheet(path: Path, manifest: dict[str, Any], generator: str | None = None, seed: int = 0) -> np.ndarray:
    """Bicubic ×scale (left) against the learned upsampler (right) on a generator's samples."""
    from livegen.nets.upsample import load_upsampler

    net, _ = load_upsampler(path)
    if generator:
        from livegen.nets.generator import load_generator

        gen, _ = load_generator(generator)
        low = gen.generate(torch.randn(2, gen.latent_dim, generator=torch.Generator().manual_seed(seed))).float()
    else:
        low = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(seed))
    s = net.scale
    bic = F.interpolate(low, scale_factor=s, mode="bicubic", align_corners=False).clamp(0, 1)
    learned = net.upscale(low)
    rows = [np.concatenate([_to_uint8(b[None])[0], _to_uint8(u[None])[0]], axis=1)
            for b, u in zip(bic, learned, strict=True)]
    return _label(np.concatenate(rows, axis=0), f"{manifest.get('name', path.stem)}: bicubic x{s} | learned x{s}")


def style_sheet(path: Path, manifest: dict[str, Any], seed: int = 0, **kw: Any) -> np.ndarray:
    """Held-out photos (and a blurred one) through every style of the model; ``seed`` is unused
    because the photos are the fixed held-out split."""
    from livegen.bench.sheet import contact_sheet

    return contact_sheet(path, **kw)


SHEETS: dict[str, Callable[..., np.ndarray]] = {"dcgan": generator_sheet, "vae": generator_sheet,
                                                 "cascade": generator_sheet, "upsampler": upsampler_sheet,
                                                 "fast-cin": style_sheet, "transformer": style_sheet}


def sheet_block(path: str | Path, **kw: Any) -> np.ndarray:
    path = Path(path)
    manifest = load_manifest(path)
    kind = manifest["architecture"].get("kind")
    if kind not in SHEETS:
        raise ModelError(f"{path}: no sample sheet for model kind {kind!r} (known: {', '.join(sorted(SHEETS))})")
    return SHEETS[kind](path, manifest, **kw)


def stack(blocks: list[np.ndarray], gap: int = 6) -> np.ndarray:
    width = max(b.shape[1] for b in blocks)
    parts = []
    for b in blocks:
        pad = np.zeros((b.shape[0], width - b.shape[1], 3), dtype=np.uint8)
        parts += [np.concatenate([b, pad], axis=1), np.zeros((gap, width, 3), dtype=np.uint8)]
    return np.concatenate(parts[:-1], axis=0)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="livegen sheet", description="Sample sheet PNG of one or more models "
                                 "(generators: 8x4 samples each)")
    ap.add_argument("models", nargs="+", help="model .safetensors files (with their .json manifests)")
    ap.add_argument("--out", help="PNG to write (default runs/sheets/NAME.png)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--generator", help="for an upsampler: upscale this generator's samples")
    ap.add_argument("--cell", type=int, default=CELL, help="side of one generator sample in the sheet (px)")
    ap.add_argument("--heldout", type=Path, help="for a style model: the held-out photos (default data/style/heldout)")
    ap.add_argument("--photos", type=int, default=4, help="for a style model: held-out photos shown")
    ap.add_argument("--peer-of", default="", help="for a style model: the style whose nearest Magenta style "
                    "fills the last column")
    a = ap.parse_args(argv)
    from livegen import paths

    torch.set_num_threads(1)
    blocks = []
    for name in a.models:
        m = paths.model_file(name)
        kw: dict[str, Any] = {"seed": a.seed}
        try:
            kind = load_manifest(m)["architecture"].get("kind")
            if kind in ("fast-cin", "transformer"):
                kw.update(photos=a.photos, peer_of=a.peer_of, **({"heldout": a.heldout} if a.heldout else {}))
            if a.generator and kind == "upsampler":
                kw["generator"] = a.generator
            if SHEETS.get(kind) is generator_sheet:
                kw["cell"] = a.cell
            blocks.append(sheet_block(m, **kw))
        except (ModelError, FileNotFoundError) as e:
            print(f"livegen sheet: {e}", file=sys.stderr)
            return 1
    out = Path(a.out or Path("runs/sheets") / f"{Path(a.models[0]).stem}.png")
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(stack(blocks)).save(out, optimize=True)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
