"""Where shipped files live: the ``models/`` and ``patches/`` folders, in a checkout or an install.

In a checkout they are the repository's top-level folders. A wheel (``pip install .``) carries them
as package data under ``livegen/shipped/`` (pyproject maps the folders there), so an installed
livegen finds them from any working directory. Model paths in a patch are resolved relative to the
patch file first, then to the shipped folders, so ``model = "models/style.safetensors"`` works
anywhere; ``ROOT`` is where work that livegen writes (``data/``, ``runs/``) goes.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
_INSTALLED = (PACKAGE / "shipped" / "patches").is_dir()
# Holds models/ and patches/.
SHIPPED = PACKAGE / "shipped" if _INSTALLED else PACKAGE.parent
# The checkout, or the working directory of an installed livegen (never inside site-packages).
ROOT = Path.cwd() if _INSTALLED else PACKAGE.parent
MODELS = SHIPPED / "models"
PATCHES = SHIPPED / "patches"
DEFAULT_PATCH = PATCHES / "default.toml"
# The VGG16 trunk of the style losses, converted once by `livegen train style-data`.
VGG_TRUNK = ROOT / "data" / "vgg16_hed_trunk.safetensors"


def resolve(path: str | Path, base: Path | None = None) -> Path:
    """Resolve a user path: absolute as is; else next to ``base`` if it exists there; else shipped; else ROOT."""
    p = Path(path).expanduser()
    if p.is_absolute():
        return p
    if base is not None and (base / p).exists():
        return base / p
    for root in (SHIPPED, ROOT):
        if (root / p).exists():
            return root / p
    return (base / p) if base is not None else p


def portable(path: str | Path) -> str:
    """``path`` as a manifest records it: relative to the checkout (or working folder) when inside
    it, so a model's provenance does not name one machine's folders."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(ROOT.resolve()))
    except ValueError:
        return str(p)


def model_file(name: str | Path, base: Path | None = None) -> Path:
    """A model's weights file from ``models/NAME`` or ``models/NAME.safetensors``, resolved as above."""
    p = Path(name)
    return resolve(p if p.suffix == ".safetensors" else p.with_name(p.name + ".safetensors"), base)


def shipped_patches() -> list[str]:
    """Names of the patches that come with livegen (``livegen run NAME``)."""
    return sorted(p.stem for p in PATCHES.glob("*.toml"))


def find_patch(name: str | Path) -> Path:
    """A patch file by path, or a shipped patch by name (``midi_controller`` or ``midi_controller.toml``).

    A path that exists wins; otherwise a bare name is looked up among the shipped patches. Returns the
    path as given when neither exists, so the loader's "file not found" names what the user typed.
    """
    p = Path(name).expanduser()
    if p.exists() or p.parent != Path("."):
        return p
    shipped = PATCHES / (p.name if p.suffix == ".toml" else p.name + ".toml")
    return shipped if shipped.exists() else p
