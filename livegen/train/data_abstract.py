"""Abstract / texture / nature dataset (``livegen train data abstract``) and crops from any image folder.

The generator the default patch plays should draw what a VJ projects: abstract art, textures and
nature imagery. Debian ships a few hundred large, freely licensed pictures of exactly that in its
wallpaper packages (KDE Plasma, MATE, GNOME, sway, Lomiri, UKUI backgrounds; MyPaint's paper and
canvas textures). A few hundred pictures are too few to train a GAN on whole, so each one gives many
random square crops at several scales (a crop side from the whole short side down to 1/8 of it),
resized to the training size: tens of thousands of distinct training images.

The held-out split is made by SOURCE picture (a wallpaper's light/dark and per-resolution variants
count as one source), so the Fréchet distance of ``livegen eval gen`` compares samples with crops of
pictures the generator never saw. ``sources.json`` lists every source file with its package, its
licence and copyright line (read from the package's DEP-5 copyright file where it has one) and its
split; ``dataset.json`` carries the per-package licence summary the trainers copy into manifests.

``build_crop_dataset`` is also what ``livegen train gan --images FOLDER`` uses on a user's folder.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

# Wallpapers are large; this bounds what one decode may allocate (a 16k × 16k image is refused).
MAX_PIXELS = 16384 * 16384
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

PACKAGES = (
    "plasma-workspace-wallpapers",
    "mate-backgrounds",
    "gnome-backgrounds",
    "sway-backgrounds",
    "lomiri-wallpapers-16.04",
    "lomiri-wallpapers-20.04",
    "ukui-wallpapers",
    "mypaint-data-extras",
)
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
# Licences of packages whose copyright file is not machine-readable (DEP-5), read by hand.
LICENCE_OVERRIDES = {
    "gnome-backgrounds": ("CC-BY-SA-3.0", "GNOME backgrounds artists (Jakub Steiner and others), see "
                          "/usr/share/doc/gnome-backgrounds/copyright"),
}
MIN_SIDE = 480  # smaller files are thumbnails or icons of a bigger picture


@dataclass
class Source:
    """One source picture: a file, the group its variants share (for the split), its licence."""

    path: str
    package: str
    group: str
    width: int
    height: int
    licence: str = "unknown"
    copyright: str = ""
    split: str = "train"
    crops: int = 0
    extra: dict = field(default_factory=dict)


def package_files(package: str) -> list[Path]:
    """Image files a Debian package installed (``dpkg -L``); [] when it is not installed."""
    proc = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        return []
    return sorted(Path(ln) for ln in proc.stdout.splitlines()
                  if ln.lower().endswith(IMAGE_SUFFIXES) and Path(ln).is_file())


def parse_dep5(text: str) -> list[tuple[list[str], str, str]]:
    """(patterns, licence, copyright) per ``Files:`` stanza of a DEP-5 copyright file, in order."""
    stanzas = []
    for block in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        key = None
        for line in block.splitlines():
            if line[:1] in (" ", "\t") and key:
                fields[key] += " " + line.strip()
            elif ":" in line:
                key, _, val = line.partition(":")
                key = key.strip().lower()
                fields[key] = val.strip()
        if "files" in fields and "license" in fields:
            lic = fields["license"].split(" ", 1)[0]
            stanzas.append((fields["files"].split(), lic, fields.get("copyright", "")))
    return stanzas


def licence_for(path: Path, stanzas: list[tuple[list[str], str, str]]) -> tuple[str, str] | None:
    """DEP-5 rule: the last stanza whose pattern matches the file wins. Installed paths differ from
    the source tree's, so a pattern matches a path tail, or the same file name."""
    found = None
    for patterns, lic, copy in stanzas:
        if any(p.startswith("debian/") for p in patterns):
            continue
        for p in patterns:
            base = p.rsplit("/", 1)[-1]
            if (p == "*" or fnmatch.fnmatch(str(path), "*/" + p)
                    or (not any(c in base for c in "*?[") and base == path.name)):
                found = (lic, copy)
                break
    return found


def package_licences(package: str, files: list[Path]) -> dict[Path, tuple[str, str]]:
    if package in LICENCE_OVERRIDES:
        return {f: LICENCE_OVERRIDES[package] for f in files}
    cfile = Path("/usr/share/doc") / package / "copyright"
    stanzas = parse_dep5(cfile.read_text(errors="replace")) if cfile.exists() else []
    out = {}
    for f in files:
        hit = licence_for(f, stanzas)
        out[f] = hit if hit else ("unknown", f"see {cfile}")
    return out


def group_key(package: str, path: Path) -> tuple[str, str]:
    """(group, variant): variants of one picture share a group, so they land in one split; within a
    group only the largest file of each variant (light/dark, images/images_dark) is kept."""
    parts = path.parts
    if "contents" in parts:  # Plasma layout: NAME/contents/images[_dark]/WxH.ext
        i = parts.index("contents")
        return f"{package}/{parts[i - 1]}", parts[i + 1] if i + 1 < len(parts) else ""
    stem = path.stem.lower()
    stem = re.sub(r"_portrait$", "", stem)
    stem = re.sub(r"[_-]?\d{3,5}x\d{3,5}$", "", stem)
    variant = ""
    m = re.match(r"^(.*?)[-_](d|l|dark|light)$", stem)
    if m:
        stem, variant = m.group(1), m.group(2)
    return f"{package}/{path.parent.name}/{stem}", variant


def find_sources(packages: tuple[str, ...] = PACKAGES, min_side: int = MIN_SIDE) -> tuple[list[Source], list[str]]:
    """Every distinct picture of the installed packages; also the packages that are missing."""
    missing = []
    best: dict[tuple[str, str], Source] = {}
    for pkg in packages:
        files = package_files(pkg)
        if not files:
            missing.append(pkg)
            continue
        lic = package_licences(pkg, files)
        for f in files:
            if "screenshot" in f.name.lower():
                continue
            try:
                with Image.open(f) as img:
                    w, h = img.size
            except OSError:
                continue
            if min(w, h) < min_side:
                continue
            group, variant = group_key(pkg, f)
            src = Source(str(f), pkg, group, w, h, *lic[f])
            key = (group, variant)
            if key not in best or w * h > best[key].width * best[key].height:
                best[key] = src
    return sorted(best.values(), key=lambda s: s.path), missing


def folder_sources(folder: Path, licence: str, min_side: int = 64) -> list[Source]:
    """A user's folder: every image is its own group."""
    out = []
    for p in sorted(folder.rglob("*")):
        if p.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        try:
            with Image.open(p) as img:
                w, h = img.size
        except OSError:
            continue  # unreadable files are skipped rather than aborting the assembly
        if min(w, h) >= min_side:
            out.append(Source(str(p), "folder", str(p.relative_to(folder)), w, h, licence))
    return out


def split_groups(sources: list[Source], heldout_fraction: float, seed: int) -> None:
    """Mark whole groups held out (about ``heldout_fraction`` of the groups, at least one)."""
    groups = sorted({s.group for s in sources})
    if len(groups) < 2:
        raise ValueError(f"need at least 2 distinct source pictures to hold one out, found {len(groups)}")
    order = np.random.default_rng(seed).permutation(len(groups))
    n_ho = min(len(groups) - 1, max(1, round(len(groups) * heldout_fraction)))
    held = {groups[i] for i in order[:n_ho]}
    for s in sources:
        s.split = "heldout" if s.group in held else "train"


def load_rgb(path: str | Path, max_side: int) -> Image.Image:
    """Decode an image as RGB (transparency on black), shrunk so its long side is <= ``max_side``."""
    with Image.open(path) as img:
        if img.format == "JPEG":
            img.draft("RGB", (max_side, max_side))  # decode at a reduced scale: much faster on 5k JPEGs
        img.load()
        if img.mode in ("RGBA", "LA", "P", "PA"):
            rgba = img.convert("RGBA")
            canvas = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
            canvas.alpha_composite(rgba)
            img = canvas
        img = img.convert("RGB")
    if max(img.size) > max_side:
        scale = max_side / max(img.size)
        img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))),
                         Image.Resampling.LANCZOS)
    return img


def random_crops(img: Image.Image, n: int, size: int, rng: np.random.Generator,
                 min_frac: float = 0.125) -> np.ndarray:
    """``n`` square crops, side log-uniform between ``min_frac`` and 1 of the short side (never below
    ``size`` source pixels, so no crop is upsampled), each resized to size×size."""
    w, h = img.size
    short = min(w, h)
    lo = max(min_frac * short, min(size, short))
    out = np.empty((n, size, size, 3), dtype=np.uint8)
    for i in range(n):
        side = int(round(np.exp(rng.uniform(np.log(lo), np.log(short)))))
        x = int(rng.integers(0, w - side + 1))
        y = int(rng.integers(0, h - side + 1))
        crop = img.crop((x, y, x + side, y + side))
        out[i] = np.asarray(crop.resize((size, size), Image.Resampling.BOX if side >= 2 * size
                                        else Image.Resampling.LANCZOS), dtype=np.uint8)
    return out


def build_crop_dataset(sources: list[Source], out: Path, size: int, train_crops: int, heldout_crops: int,
                       seed: int, info: dict, max_side: int = 2048, log=print) -> dict:
    """Crop every source (crops spread evenly over a split's sources) into ``out``: train.npy,
    heldout.npy, sources.json and dataset.json. Returns the dataset info written."""
    if size > max_side:
        raise ValueError(f"size {size} exceeds max_side {max_side}")
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {"train": [], "heldout": []}
    names: dict[str, list[str]] = {"train": [], "heldout": []}
    for split, total in (("train", train_crops), ("heldout", heldout_crops)):
        srcs = [s for s in sources if s.split == split]
        if not srcs:
            raise ValueError(f"no sources in the {split} split")
        per = np.full(len(srcs), total // len(srcs))
        per[: total - per.sum()] += 1
        for k, (s, n) in enumerate(zip(srcs, per, strict=True)):
            if n == 0:
                continue
            img = load_rgb(s.path, max_side)
            parts[split].append(random_crops(img, int(n), size, rng))
            names[split] += [s.path] * int(n)
            s.crops = int(n)
            if (k + 1) % 25 == 0 or k + 1 == len(srcs):
                log(f"{split}: {k + 1}/{len(srcs)} sources cropped")
    out.mkdir(parents=True, exist_ok=True)
    train = np.concatenate(parts["train"])
    held = np.concatenate(parts["heldout"])
    # Shuffle so a training batch or an evaluation subset mixes sources.
    tr_order, ho_order = rng.permutation(len(train)), rng.permutation(len(held))
    np.save(out / "train.npy", train[tr_order])
    np.save(out / "heldout.npy", held[ho_order])
    (out / "sources.json").write_text(json.dumps([s.__dict__ for s in sources], indent=1) + "\n")
    licences: dict[str, dict[str, int]] = {}
    for s in sources:
        licences.setdefault(s.package, {})
        licences[s.package][s.licence] = licences[s.package].get(s.licence, 0) + 1
    summary = "; ".join(f"{pkg}: " + ", ".join(f"{lic} ({n})" for lic, n in sorted(lics.items()))
                        for pkg, lics in sorted(licences.items()))
    info = dict(info, size=size, seed=seed, count=len(train) + len(held), train=len(train), heldout=len(held),
                sources=len(sources), source_groups=len({s.group for s in sources}),
                heldout_sources=sum(s.split == "heldout" for s in sources),
                licences=licences, licence=info.get("licence") or summary,
                index="sources.json (every source file: package, licence, copyright, split, crops)",
                heldout_names=sorted({names["heldout"][i] for i in ho_order}))
    (out / "dataset.json").write_text(json.dumps(info, indent=1) + "\n")
    write_fresh(out, sources, heldout_crops, seed, max_side)
    return info


def write_fresh(out: Path, sources: list[Source], n: int, seed: int, max_side: int = 2048) -> Path:
    """``fresh.npy``: ``n`` new crops of the TRAINING pictures (another random stream, so none is a
    training crop). ``livegen eval gen --reference fresh`` compares with them: how well the generator
    learnt the pictures it saw, where the held-out split asks how well it generalises to new ones
    (with a few hundred pictures, real crops of the training pictures are themselves far from the
    held-out ones; that floor is in the eval table)."""
    rng = np.random.default_rng(seed + 1_000_003)
    srcs = [s for s in sources if s.split == "train"]
    per = np.full(len(srcs), n // len(srcs))
    per[: n - per.sum()] += 1
    parts = [random_crops(load_rgb(s.path, max_side), int(k), _size_of(out), rng)
             for s, k in zip(srcs, per, strict=True) if k]
    arr = np.concatenate(parts)
    path = out / "fresh.npy"
    np.save(path, arr[rng.permutation(len(arr))])
    return path


def _size_of(out: Path) -> int:
    return int(json.loads((out / "dataset.json").read_text())["size"])


def write_pack(sources: list[Source], out: Path, max_side: int = 1280, quality: int = 88) -> Path:
    """A portable copy of the sources (JPEGs shrunk to ``max_side``, plus sources.json with their
    packages and licences) for a machine without the Debian packages, e.g. the GPU job's."""
    files = out / "files"
    files.mkdir(parents=True, exist_ok=True)
    index = []
    for i, s in enumerate(sources):
        name = f"{i:04d}.jpg"
        load_rgb(s.path, max_side).save(files / name, quality=quality)
        index.append(dict(s.__dict__, original_path=s.path, path=f"files/{name}"))
    (out / "sources.json").write_text(json.dumps(index, indent=1) + "\n")
    return out


def read_pack(pack: Path) -> list[Source]:
    """Sources of a pack written by ``write_pack`` (paths made absolute; split recomputed later)."""
    index = json.loads((pack / "sources.json").read_text())
    out = []
    for row in index:
        row = dict(row)
        row["path"] = str((pack / row["path"]).resolve())
        extra = {"original_path": row.pop("original_path", "")}
        row.pop("extra", None)
        out.append(Source(**row, extra=extra))
    return out


def contact_sheet(data: Path, out: Path, n: int = 64, which: str = "train", seed: int = 0) -> Path:
    """A grid of ``n`` random crops, to look at the data."""
    arr = np.load(data / f"{which}.npy", mmap_mode="r", allow_pickle=False)
    idx = np.sort(np.random.default_rng(seed).choice(len(arr), size=min(n, len(arr)), replace=False))
    imgs = np.asarray(arr[idx])
    cols = 8
    rows = (len(imgs) + cols - 1) // cols
    s = imgs.shape[1]
    grid = np.zeros((rows * s, cols * s, 3), dtype=np.uint8)
    for i, im in enumerate(imgs):
        r, c = divmod(i, cols)
        grid[r * s:(r + 1) * s, c * s:(c + 1) * s] = im
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid).save(out)
    return out


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="livegen train data abstract",
                                 description="Random multi-scale crops of the Debian wallpaper/texture packages")
    ap.add_argument("--out", help="dataset folder (default data/abstractSIZE)")
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--train-crops", type=int, default=24000)
    ap.add_argument("--heldout-crops", type=int, default=2000)
    ap.add_argument("--heldout-fraction", type=float, default=0.12, help="share of source pictures held out")
    ap.add_argument("--packages", default=",".join(PACKAGES), help="comma list of Debian packages to read")
    ap.add_argument("--max-side", type=int, default=2048, help="sources are shrunk to this long side first")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sheet", action="store_true", help="also write a contact sheet of crops (OUT/crops.png)")
    ap.add_argument("--pack", help="instead of a dataset, write a portable pack of the sources here (JPEGs + "
                    "sources.json) for a machine without the packages")
    ap.add_argument("--from-pack", help="read the sources from a pack written by --pack")
    ap.add_argument("--add-fresh", action="store_true", help="only add fresh.npy (new crops of the training "
                    "pictures) to the existing dataset --out")
    a = ap.parse_args(argv)
    if a.add_fresh:
        out = Path(a.out or f"data/abstract{a.size}")
        srcs = [Source(**{k: v for k, v in row.items() if k in Source.__dataclass_fields__})
                for row in json.loads((out / "sources.json").read_text())]
        print(write_fresh(out, srcs, a.heldout_crops, a.seed, a.max_side))
        return 0
    packages = tuple(p.strip() for p in a.packages.split(",") if p.strip())
    if a.from_pack:
        sources, missing = read_pack(Path(a.from_pack)), []
    else:
        sources, missing = find_sources(packages)
    if a.pack:
        out = write_pack(sources, Path(a.pack))
        size = sum(f.stat().st_size for f in (out / "files").iterdir())
        print(f"{out}: {len(sources)} pictures, {size / 1e6:.1f} MB")
        return 0
    if missing:
        print(f"train data abstract: not installed (apt install them for more pictures): {' '.join(missing)}",
              file=sys.stderr)
    if len({s.group for s in sources}) < 2:
        print("train data abstract: no source pictures found; apt install " + " ".join(PACKAGES), file=sys.stderr)
        return 1
    split_groups(sources, a.heldout_fraction, a.seed)
    out = Path(a.out or f"data/abstract{a.size}")
    info = {"source": ("pack " + str(a.from_pack) + " of " if a.from_pack else "") +
            "Debian packages " + ", ".join(sorted({s.package for s in sources})) +
            f": {len(sources)} pictures, random square crops (1/8 to 1 of the short side)",
            "attribution_required": True, "licence": ""}
    info = build_crop_dataset(sources, out, a.size, a.train_crops, a.heldout_crops, a.seed, info,
                              max_side=a.max_side)
    print(f"{out}: {info['train']} train crops from {info['sources'] - info['heldout_sources']} pictures, "
          f"{info['heldout']} held-out crops from {info['heldout_sources']} pictures never trained on, {a.size} px")
    if a.sheet:
        print(contact_sheet(out, out / "crops.png"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
