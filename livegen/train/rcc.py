"""Reader for Qt resource bundles (``.rcc``): pictures that packages ship inside them.

Training data only. Debian ``gcompris-qt-data`` keeps its photos (animals, monuments,
landscapes) and the public-domain paintings of its "details" activity in ``.rcc`` files; this
reads the bundle's file tree (format versions 1-3, zlib-compressed entries) without Qt. Every
offset and size read from the file is checked against its length before use.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

MAX_ENTRY = 64 * 1024 * 1024  # no picture in a resource bundle is larger than this


class RccError(ValueError):
    """Not a readable Qt resource bundle."""


def entries(path: str | Path) -> Iterator[tuple[str, bytes]]:
    """(path inside the bundle, file bytes) for every file in a ``.rcc`` bundle."""
    b = Path(path).read_bytes()
    if len(b) < 20 or b[:4] != b"qres":
        raise RccError(f"{path}: not a Qt resource bundle")
    ver, tree, data, names = struct.unpack(">IIII", b[4:20])
    if ver not in (1, 2, 3) or max(tree, data, names) >= len(b):
        raise RccError(f"{path}: unsupported version {ver} or bad offsets")
    esz = 14 if ver == 1 else 22

    def take(off: int, n: int) -> bytes:
        if off < 0 or n < 0 or off + n > len(b):
            raise RccError(f"{path}: entry runs past the end of the file")
        return b[off:off + n]

    def name(off: int) -> str:
        (n,) = struct.unpack(">H", take(names + off, 2))
        return take(names + off + 6, 2 * n).decode("utf-16-be")

    def walk(i: int, prefix: str, depth: int) -> Iterator[tuple[str, bytes]]:
        if depth > 32:
            raise RccError(f"{path}: directory tree too deep")
        o = tree + i * esz
        noff, flags = struct.unpack(">IH", take(o, 6))
        nm = name(noff) if i else ""
        if flags & 2:  # directory
            cnt, first = struct.unpack(">II", take(o + 6, 8))
            if cnt > 100_000:
                raise RccError(f"{path}: implausible directory size")
            for c in range(first, first + cnt):
                yield from walk(c, prefix + nm + "/", depth + 1)
            return
        (doff,) = struct.unpack(">I", take(o + 10, 4))
        (size,) = struct.unpack(">I", take(data + doff, 4))
        if size > MAX_ENTRY:
            raise RccError(f"{path}: entry {nm} too large")
        raw = take(data + doff + 4, size)
        if flags & 1:  # zlib, with a 4-byte uncompressed size in front
            (full,) = struct.unpack(">I", raw[:4])
            if full > MAX_ENTRY:
                raise RccError(f"{path}: entry {nm} too large")
            d = zlib.decompressobj()
            raw = d.decompress(raw[4:], full)
        elif flags & 4:  # zstd: not used by the packages we read
            return
        yield prefix + nm, raw

    yield from walk(0, "", 0)


def extract_pictures(bundles: list[Path], dest: Path, min_bytes: int = 30_000,
                     exts: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".webp")) -> list[Path]:
    """Write every picture of at least ``min_bytes`` from the bundles to ``dest/BUNDLE__NAME``."""
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for bundle in bundles:
        for name, raw in entries(bundle):
            if name.lower().endswith(exts) and len(raw) >= min_bytes:
                p = dest / f"{bundle.stem}__{Path(name).name}"
                p.write_bytes(raw)
                out.append(p)
    return out
