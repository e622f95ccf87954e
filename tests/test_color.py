"""style.color: a VJ turns one knob from the painting's palette to the camera's own colours while
the strokes stay; the colour transfer is a pure tensor function the style stage calls."""

from __future__ import annotations

import pytest
import torch

from livegen.stages.color import keep_colors, luma


def rgb_to_cbcr(x: torch.Tensor) -> torch.Tensor:
    y = luma(x)
    return torch.cat([(x[:, 2:3] - y) * 0.564, (x[:, 0:1] - y) * 0.713], dim=1)


@pytest.fixture
def frames():
    g = torch.Generator().manual_seed(3)
    # A warm (orange) camera frame and a cool (blue) stylised frame with strong strokes.
    content = torch.stack([0.55 + 0.3 * torch.rand(32, 40, generator=g), 0.35 + 0.2 * torch.rand(32, 40, generator=g),
                           0.1 + 0.1 * torch.rand(32, 40, generator=g)]).unsqueeze(0)
    styled = torch.stack([0.1 + 0.2 * torch.rand(32, 40, generator=g), 0.2 + 0.3 * torch.rand(32, 40, generator=g),
                          0.4 + 0.5 * torch.rand(32, 40, generator=g)]).unsqueeze(0)
    return styled, content


def test_zero_keeps_the_style_colours(frames):
    styled, content = frames
    assert torch.equal(keep_colors(styled, content, 0.0), styled)


def test_one_keeps_camera_colours_and_style_luminance(frames):
    styled, content = frames
    out = keep_colors(styled, content, 1.0)
    # The strokes (luminance) are the style's; the hue is the camera's: an orange photo stays orange.
    assert torch.allclose(luma(out), luma(styled), atol=1e-5)
    c_out, c_in = rgb_to_cbcr(out), rgb_to_cbcr(content)
    hue_out, hue_in = torch.atan2(c_out[:, 1], c_out[:, 0]), torch.atan2(c_in[:, 1], c_in[:, 0])
    assert torch.allclose(hue_out, hue_in, atol=1e-3), "the camera's hue must survive"
    assert out[:, 0].mean() > out[:, 2].mean(), "orange camera frame came out blue"
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_out_of_gamut_gives_up_saturation_not_luminance():
    # A bright white stroke painted over a saturated red camera pixel: pure luminance 1 cannot
    # carry any colour, so the result is white, not pink or clipped red.
    styled = torch.ones(1, 3, 2, 2)
    content = torch.tensor([0.9, 0.05, 0.05]).view(1, 3, 1, 1).expand(1, 3, 2, 2)
    out = keep_colors(styled, content, 1.0)
    assert torch.allclose(out, torch.ones_like(out), atol=1e-5)


def test_halfway_is_between_and_amount_is_clamped(frames):
    styled, content = frames
    half = keep_colors(styled, content, 0.5)
    full = keep_colors(styled, content, 1.0)
    assert torch.allclose(half, (styled + full) / 2, atol=1e-5)
    assert torch.equal(keep_colors(styled, content, 7.0), full)
    assert torch.equal(keep_colors(styled, content, -1.0), styled)


def test_sizes_must_match(frames):
    styled, content = frames
    with pytest.raises(ValueError, match="differ in size"):
        keep_colors(styled, content[..., :20], 1.0)


def test_style_color_is_a_patch_value_and_an_osc_address_like_any_other():
    from livegen.control.osc.schema import AddressBook
    from livegen.patch import parse_patch
    from livegen.stages import default_registry

    reg = default_registry()
    patch = parse_patch('[params]\n"style.color" = 0.7\n', registry=reg)
    assert patch.params["style.color"] == pytest.approx(0.7)
    target = AddressBook(reg).resolve("/livegen/style/color")
    assert target is not None and target.spec is reg["style.color"]
    assert (target.spec.min, target.spec.max) == (0.0, 1.0)
