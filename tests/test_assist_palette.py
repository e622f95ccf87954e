"""Palette lock: a VJ puts the client's colours in the patch and pulls the show toward them."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from livegen.params import ParameterStore
from livegen.patch import PatchError, parse_patch
from livegen.stages import default_registry
from livegen.stages.palette import (
    Palette,
    PaletteConfig,
    PaletteStage,
    dominant_colours,
    oklab_to_rgb,
    parse_hex,
    rgb_to_oklab,
    style_images,
)

CLIENT = ["#0b1d51", "#ff6f3c", "#ffd166"]


def snapshot(amount: float, **more):
    store = ParameterStore(default_registry())
    store.set("palette.amount", amount, immediate=True)
    for name, value in more.items():
        store.set(name.replace("_", "."), value, immediate=True)
    return store.snapshot(0.0)


def greenish_frame() -> torch.Tensor:
    torch.manual_seed(0)
    base = torch.tensor([0.2, 0.7, 0.3]).view(1, 3, 1, 1)
    return (base + 0.15 * torch.rand(1, 3, 120, 160)).clamp(0, 1)


def mean_lab(frame: torch.Tensor) -> np.ndarray:
    return rgb_to_oklab(frame[0].permute(1, 2, 0).reshape(-1, 3).double().numpy()).mean(0)


def test_oklab_round_trips_and_hex_colours_parse():
    rgb = np.random.default_rng(1).random((100, 3))
    assert np.allclose(oklab_to_rgb(rgb_to_oklab(rgb)), rgb, atol=1e-6)
    assert np.allclose(parse_hex("#ff8000"), [1.0, 128 / 255, 0.0])
    with pytest.raises(ValueError, match="not a hex colour"):
        parse_hex("orange")


def test_the_dominant_colours_of_a_picture_are_found_with_their_shares():
    img = np.zeros((60, 100, 3), np.uint8)
    img[:, :50] = (230, 40, 30)  # half red
    img[:, 50:80] = (20, 60, 200)  # 30 % blue
    img[:, 80:] = (250, 240, 220)  # 20 % cream
    pal = dominant_colours(img, k=3)
    assert pal.hex == ["#e6281e", "#143cc8", "#faf0dc"]
    assert np.allclose(pal.weights, [0.5, 0.3, 0.2], atol=0.02)


def test_at_full_amount_the_frame_takes_the_palettes_colour_and_at_zero_it_is_untouched():
    stage = PaletteStage(PaletteConfig(colors=CLIENT))
    frame = greenish_frame()
    assert stage(snapshot(0.0), frame) is frame
    out = stage(snapshot(1.0), frame)
    target = Palette(np.array([parse_hex(c) for c in CLIENT]), np.full(3, 1 / 3)).oklab().mean(0)
    before, after = np.linalg.norm(mean_lab(frame) - target), np.linalg.norm(mean_lab(out) - target)
    assert after < 0.35 * before, (before, after)
    half = stage(snapshot(0.5), frame)
    assert np.linalg.norm(mean_lab(half) - target) < before
    assert out.shape == frame.shape and float(out.min()) >= 0.0 and float(out.max()) <= 1.0


def test_the_same_frame_and_amount_give_the_same_pixels_so_replays_are_exact():
    stage = PaletteStage(PaletteConfig(colors=CLIENT))
    frame = greenish_frame()
    assert torch.equal(stage(snapshot(0.7), frame), stage(snapshot(0.7), frame))


def test_palette_amount_is_a_parameter_in_the_osc_tree_and_the_patch_takes_a_palette(tmp_path):
    spec = default_registry()["palette.amount"]
    assert spec.osc_address == "/livegen/palette/amount" and (spec.min, spec.max) == (0.0, 1.0)
    patch = parse_patch('[palette]\ncolors = ["#0b1d51", "#ff6f3c"]\n[params]\n"palette.amount" = 0.4\n')
    assert patch.palette.colors == ["#0b1d51", "#ff6f3c"] and patch.params["palette.amount"] == 0.4
    with pytest.raises(PatchError, match=r"palette\.colors\[1\]: 'orange' is not a hex colour"):
        parse_patch('[palette]\ncolors = ["#0b1d51", "orange"]\n')
    with pytest.raises(PatchError, match="give one palette source"):
        parse_patch('[palette]\ncolors = ["#0b1d51"]\nstyle = true\n')


def test_a_palette_from_an_image_file_uses_its_dominant_colours(tmp_path):
    img = np.zeros((40, 40, 3), np.uint8)
    img[:20] = (30, 30, 220)  # BGR: red top half
    img[20:] = (200, 120, 10)  # blue bottom half
    cv2.imwrite(str(tmp_path / "key.png"), img)
    stage = PaletteStage(PaletteConfig(image="key.png"), base=tmp_path)
    assert stage.status == "palette: from key.png"
    assert sorted(stage.palettes[0].hex) == ["#0a78c8", "#dc1e1e"]


def test_a_missing_palette_image_turns_the_lock_off_with_a_reason_and_frames_pass():
    stage = PaletteStage(PaletteConfig(image="/nonexistent/key.png"))
    assert stage.status.startswith("palette: off (") and "key.png" in stage.status
    frame = greenish_frame()
    assert stage(snapshot(1.0), frame) is frame


def test_style_palettes_follow_the_style_the_stage_leans_on():
    images = style_images("models/style3.safetensors", None)
    if any(p is None for p in images):
        pytest.skip("style3's style images come from Debian opencv-doc, darknet and mate-backgrounds")
    stage = PaletteStage(PaletteConfig(style=True), style_model="models/style3.safetensors")
    frame = greenish_frame()
    starry = stage(snapshot(1.0, style_a=1, style_b=3, style_mix=0.0), frame)
    elephants = stage(snapshot(1.0, style_a=1, style_b=3, style_mix=1.0), frame)
    assert not torch.equal(starry, elephants)
