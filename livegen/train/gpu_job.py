"""GPU job: the abstract generator at 256 px (``python -m livegen.train.gpu_job``), one function.

Meant to run after the style net inside the prepared GPU script of the style issue. The GPU
machine has no Debian wallpaper packages and cannot reach a mirror, so the pictures travel as a
pack (``livegen train data abstract --pack runs/abstract_pack``, ~17 MB of JPEGs + sources.json
with every licence); the job builds 256 px crops from it, trains within a wall-clock budget with
checkpoints every minute (``--resume`` picks a cut-off run up), measures the Fréchet distance on the
held-out pictures and writes it into the manifest. ``--tiny`` runs the same path on the CPU in
seconds (the test does).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def abstract256_job(pack: str | Path = "runs/abstract_pack", out: str | Path = "models/abstract256",
                    data: str | Path = "data/abstract256", run: str | Path | None = None, minutes: float = 8.0,
                    device: str = "cuda", threads: int = 2, init: str | None = None, tiny: bool = False,
                    eval_n: int = 2000) -> dict:
    """Build the 256 px dataset from the pack (if not there yet), train, evaluate; returns a summary."""
    from livegen.train.data import main as data_main
    from livegen.train.evaluate_gen import main as eval_main
    from livegen.train.gan import main as gan_main

    t0 = time.time()
    size = 64 if tiny else 256
    out, data = Path(out), Path(data)
    run = Path(run) if run else Path("runs") / out.name
    if not (data / "train.npy").exists():
        crops = ["--train-crops", "64", "--heldout-crops", "16"] if tiny else ["--train-crops", "24000",
                                                                                "--heldout-crops", "2000"]
        rc = data_main(["abstract", "--from-pack", str(pack), "--size", str(size), "--out", str(data), *crops])
        if rc:
            raise RuntimeError(f"building {data} from {pack} failed (rc {rc})")
    # 256 px on one GPU: a wider net and batch than the CPU's 128 px run; DiffAugment as there.
    net = ["--ngf", "4", "--ndf", "4", "--batch", "4", "--latent", "8", "--steps", "3"] if tiny else \
        ["--ngf", "48", "--ndf", "48", "--batch", "64", "--latent", "64", "--steps", "1000000"]
    argv = ["--data", str(data), "--out", str(out), "--run", str(run), "--size", str(size),
            "--loss", "bce", "--augment", "color,translation", *net, "--minutes", str(minutes),
            "--sample-every", "1000" if not tiny else "2", "--ckpt-minutes", "1", "--device", device,
            "--threads", str(threads), "--seed", "0", "--resume"]
    if init:
        argv += ["--init", init]
    gan_main(argv)
    weights = out.with_suffix(".safetensors")
    eval_main([str(weights), "--data", str(data), "--n", str(16 if tiny else eval_n), "--device", device,
               "--threads", str(threads), "--cache", "", "--update-manifests",
               "--json", str(run / "eval.json")])
    manifest = json.loads(out.with_suffix(".json").read_text())
    return {"model": str(weights), "steps": manifest["training"]["steps"],
            "fd": manifest.get("quality", {}).get("fd_samples"),
            "pca_baseline": next((v for k, v in manifest.get("quality", {}).get("baselines", {}).items()
                                  if k.startswith("PCA")), None),
            "wall_s": round(time.time() - t0, 1)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m livegen.train.gpu_job", description="256 px abstract generator "
                                 "on a GPU: crops from the pack, train within --minutes, Fréchet distance")
    ap.add_argument("--pack", default="runs/abstract_pack")
    ap.add_argument("--out", default="models/abstract256")
    ap.add_argument("--data", default="data/abstract256")
    ap.add_argument("--run")
    ap.add_argument("--minutes", type=float, default=8.0, help="training wall-clock budget")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--init", help="continue from this model or checkpoint")
    ap.add_argument("--tiny", action="store_true", help="seconds-long CPU check of the same path")
    a = ap.parse_args(argv)
    summary = abstract256_job(a.pack, a.out, a.data, a.run, a.minutes, a.device, a.threads, a.init, a.tiny)
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
