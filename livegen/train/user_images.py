"""Your own pictures, one command: ``livegen train gan|vae --images FOLDER --out models/NAME``.

Builds ``data/NAME`` from the folder (random multi-scale square crops, the held-out split made by
picture, as for the abstract dataset) unless that dataset already exists for the same folder and
size, then the trainer trains on it. So a resumed command (``--resume``) reuses the same crops and
the held-out crops stay pictures the model never saw, which is what ``livegen eval gen`` needs.
Also holds ``--init``: start a generator from a shipped model or another run's checkpoint.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open

from livegen.train.data_abstract import build_crop_dataset, folder_sources, split_groups

log = logging.getLogger("livegen.train")


def add_images_options(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--images", help="a folder of your pictures: builds the dataset (data/NAME) from it first")
    ap.add_argument("--licence", default="the user's own pictures (licence not recorded)",
                    help="licence recorded for --images")
    ap.add_argument("--crops", type=int, default=12000, help="training crops made from --images")
    ap.add_argument("--heldout-crops", type=int, default=1000, help="held-out crops made from --images")


def add_init_option(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--init", help="start the generator from this model (models/NAME[.safetensors]) or run "
                    "checkpoint (RUN/checkpoint.safetensors) instead of random weights")


def prepare_images(a: argparse.Namespace) -> None:
    """Set ``a.data``: build it from ``--images`` when given (reusing a matching existing build)."""
    if not getattr(a, "images", None):
        if not a.data:
            raise SystemExit("give --data DATASET (from `livegen train data`) or --images FOLDER")
        return
    folder = Path(a.images)
    if not folder.is_dir():
        raise SystemExit(f"--images {folder}: not a folder")
    data = Path(a.data) if a.data else Path("data") / Path(a.out).name
    a.data = str(data)
    want = {"images": str(folder.resolve()), "size": a.size}
    info_path = data / "dataset.json"
    if info_path.exists():
        info = json.loads(info_path.read_text())
        if {k: info.get(k) for k in want} == want and (data / "train.npy").exists():
            log.info("reusing %s (built from %s)", data, folder)
            return
        if a.resume:
            raise SystemExit(f"{data} was built from other pictures or another size; give another --out or --data")
    sources = folder_sources(folder, a.licence)
    if len(sources) < 2:
        raise SystemExit(f"--images {folder}: need at least 2 readable pictures, found {len(sources)}")
    split_groups(sources, 0.1, a.seed)
    log.info("building %s from %d pictures in %s", data, len(sources), folder)
    build_crop_dataset(sources, data, a.size, a.crops, a.heldout_crops, a.seed,
                       {"source": f"folder {folder}", "licence": a.licence, **want},
                       log=lambda msg: log.info("%s", msg))


def _init_file(path: str | Path) -> Path:
    p = Path(path)
    if p.suffix != ".safetensors":
        p = p.with_name(p.name + ".safetensors")
    if not p.exists():
        raise SystemExit(f"--init {path}: {p} not found")
    return p


def init_provenance(path: str | Path) -> dict[str, Any]:
    """How the weights a run starts from were trained: a checkpoint's commands and step, or an
    exported model's manifest ``training``; nested when that run itself started from another."""
    p = _init_file(path)
    with safe_open(str(p), framework="pt") as fh:
        header = fh.metadata() or {}
    if "meta" in header:  # a run checkpoint (livegen.train.save_checkpoint)
        meta = json.loads(header["meta"])
        commands = meta.get("commands", [])
        training = {"command": commands[0] if commands else "", "resumed_with": commands[1:],
                    "steps": meta.get("step"), **meta.get("hparams", {})}
    else:
        manifest = p.with_suffix(".json")
        training = json.loads(manifest.read_text()).get("training", {}) if manifest.exists() else {}
    return {"model": str(path), "training": training}


def init_tensors(path: str | Path, device: torch.device) -> dict[str, dict[str, torch.Tensor]]:
    """Weights to start from, by role: {'G': ..., 'E': ..., 'D': ...} (D only from a checkpoint).

    A run checkpoint carries G, its EMA and D; an exported model carries the EMA generator alone,
    which then seeds both G and the EMA while D starts fresh (it catches up within a few hundred steps).
    """
    from safetensors.torch import load_file

    sd = load_file(str(_init_file(path)), device=str(device))
    if any(k.startswith("G.") for k in sd):
        return {role: {k[2:]: v for k, v in sd.items() if k.startswith(role + ".")} for role in ("G", "E", "D")}
    return {"G": sd, "E": sd}


def apply_init(trainer: Any, path: str | Path) -> None:
    """Load ``init_tensors`` into a GanTrainer's G / G_ema / D; a shape mismatch is a clear error."""
    parts = init_tensors(path, trainer.device)
    if "D" in parts and set(parts["D"]) != set(trainer.D.state_dict()):
        log.info("--init %s: its discriminator is another architecture; D starts fresh", path)
        del parts["D"]
    try:
        for role, module in (("G", trainer.G), ("E", trainer.G_ema), ("D", trainer.D)):
            if role in parts:
                module.load_state_dict({k: v.float() if v.is_floating_point() else v
                                        for k, v in parts[role].items()})
    except RuntimeError as e:
        raise SystemExit(f"--init {path}: does not fit this architecture (check --size, --latent, --ngf, "
                         f"--ndf): {str(e).splitlines()[0]}") from None
    trainer.hparams["started_from"] = init_provenance(path)
    log.info("initialised from %s (%s)", path, ", ".join(sorted(parts)))
