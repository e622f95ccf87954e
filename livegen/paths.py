"""Where shipped files live: the repository's ``models/`` and ``patches/`` folders.

Model paths in a patch are resolved relative to the patch file first, then to the project
root, so ``model = "models/style.safetensors"`` works from any working directory.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PATCHES = ROOT / "patches"
DEFAULT_PATCH = PATCHES / "default.toml"


def resolve(path: str | Path, base: Path | None = None) -> Path:
    """Resolve a user path: absolute as is; else next to ``base`` if it exists there; else under ROOT."""
    p = Path(path).expanduser()
    if p.is_absolute():
        return p
    if base is not None and (base / p).exists():
        return base / p
    if (ROOT / p).exists():
        return ROOT / p
    return (base / p) if base is not None else p
