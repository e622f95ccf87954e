"""The abstract dataset: crops of the Debian wallpaper/texture packages, licence per source, a held-out
split by picture. The builder reads the real package files (.ci/run installs two small packages)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from livegen.train.data import main as data_main
from livegen.train.data_abstract import (
    Source,
    find_sources,
    group_key,
    licence_for,
    parse_dep5,
    random_crops,
    split_groups,
)

SMALL_PACKAGES = "mypaint-data-extras,sway-backgrounds"


def test_a_wallpapers_variants_share_one_group_so_they_land_in_one_split():
    plasma = Path("/usr/share/wallpapers/Kay/contents/images/5120x2880.png")
    plasma_dark = Path("/usr/share/wallpapers/Kay/contents/images_dark/1080x1920.png")
    assert group_key("p", plasma)[0] == group_key("p", plasma_dark)[0]
    light, dark = group_key("g", Path("/bg/gnome/wood-l.webp")), group_key("g", Path("/bg/gnome/wood-d.webp"))
    assert light[0] == dark[0] and light[1] != dark[1]  # one picture, two kept variants
    big, small = group_key("m", Path("/bg/Elephants_5640x3172.jpg")), group_key("m", Path("/bg/Elephants.jpg"))
    assert big == small  # sizes of the same file: only the largest is kept


def test_the_licence_of_a_file_is_the_last_matching_copyright_stanza():
    text = ("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
            "Files: *\nCopyright: 2014 Someone\nLicense: GPL-2+\n\n"
            "Files: backgrounds/ramon/*\nCopyright: 2010 Ramon\nLicense: CC0-1.0\n\n"
            "Files: 16.04/sunset_by_A.jpg\nCopyright: A, 2018\nLicense: CC-BY-4.0\n\n"
            "Files: debian/*\nCopyright: packager\nLicense: MIT\n")
    stanzas = parse_dep5(text)
    assert licence_for(Path("/usr/share/mypaint/backgrounds/ramon/HR_Cork.png"), stanzas) == ("CC0-1.0", "2010 Ramon")
    assert licence_for(Path("/usr/share/backgrounds/sunset_by_A.jpg"), stanzas)[0] == "CC-BY-4.0"
    assert licence_for(Path("/usr/share/wallpapers/x.png"), stanzas)[0] == "GPL-2+"  # debian/* never applies


def test_crops_come_at_several_scales_and_are_never_upsampled():
    # A horizontal ramp: a crop's brightness range tells how many source pixels wide it was.
    ramp = np.tile(np.linspace(0, 255, 768), (512, 1))
    img = Image.fromarray(np.repeat(ramp[..., None], 3, axis=2).astype(np.uint8))
    crops = random_crops(img, 300, 64, np.random.default_rng(0))
    assert crops.shape == (300, 64, 64, 3)
    span = crops[..., 0].astype(float).mean(axis=1)
    width = (span[:, -1] - span[:, 0]) / 255 * 767 * 64 / 63  # source pixels per crop, about
    assert width.min() > 60  # never narrower than the 64 px it becomes
    assert width.min() < 100 and width.max() > 400  # from near 1:1 up to most of the short side (512)


def test_held_out_groups_are_whole_and_never_empty():
    sources = [Source(f"/x/{i}.png", "p", f"g{i // 2}", 100, 100) for i in range(20)]
    split_groups(sources, 0.2, seed=3)
    held = {s.group for s in sources if s.split == "heldout"}
    train = {s.group for s in sources if s.split == "train"}
    assert held and train and not held & train and len(held) == 2


def test_builder_reads_the_installed_wallpaper_packages(tmp_path):
    sources, missing = find_sources(tuple(SMALL_PACKAGES.split(",")))
    if len(missing) == 2:
        pytest.skip("apt install mypaint-data-extras sway-backgrounds (.ci/run does) to read real package files")
    out = tmp_path / "abstract32"
    assert data_main(["abstract", "--packages", SMALL_PACKAGES, "--size", "32", "--train-crops", "120",
                      "--heldout-crops", "24", "--heldout-fraction", "0.25", "--out", str(out), "--sheet"]) == 0
    train = np.load(out / "train.npy")
    held = np.load(out / "heldout.npy")
    assert train.shape == (120, 32, 32, 3) and held.shape == (24, 32, 32, 3)
    # fresh.npy: new crops of the training pictures, none of them a training crop.
    fresh = np.load(out / "fresh.npy")
    assert fresh.shape == (24, 32, 32, 3)
    assert not (fresh[:, None] == train[None]).all(axis=(2, 3, 4)).any()
    assert train.std() > 5  # real pictures, not blank canvases
    index = json.loads((out / "sources.json").read_text())
    info = json.loads((out / "dataset.json").read_text())
    assert len(index) == len(sources) >= 2
    # Every source names its package and licence (all of these packages' copyright files say which).
    assert all(s["package"] in SMALL_PACKAGES and s["licence"] != "unknown" for s in index)
    held_paths = {s["path"] for s in index if s["split"] == "heldout"}
    assert held_paths and set(info["heldout_names"]) <= held_paths
    assert not held_paths & {s["path"] for s in index if s["split"] == "train"}
    assert sum(s["crops"] for s in index) == 144
    assert "CC0-1.0" in info["licence"] and info["attribution_required"] is True
    assert Image.open(out / "crops.png").size == (8 * 32, 8 * 32)


def test_a_machine_without_the_packages_gets_a_clear_message(tmp_path, capsys):
    if shutil.which("dpkg") is None:
        pytest.skip("no dpkg on this machine")
    assert data_main(["abstract", "--packages", "no-such-package-livegen", "--out", str(tmp_path / "d")]) == 1
    assert "apt install" in capsys.readouterr().err
