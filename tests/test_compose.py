"""Stories about compositing the camera and generator layers."""

from __future__ import annotations

import pytest
import torch

from livegen.params import ParameterStore
from livegen.stages import default_registry
from livegen.stages.compose import BLEND_MODES, blend, compose


@pytest.mark.parametrize("mode", BLEND_MODES)
def test_amount_zero_shows_the_bottom_layer_and_results_stay_in_range(mode):
    g = torch.Generator().manual_seed(0)
    a, b = torch.rand(1, 3, 9, 7, generator=g), torch.rand(1, 3, 9, 7, generator=g)
    assert torch.equal(blend(a, b, mode, 0.0), a)
    out = blend(a, b, mode, 1.0)
    assert out.min() >= 0 and out.max() <= 1


def test_the_blend_modes_do_what_their_names_say():
    a = torch.full((1, 3, 2, 2), 0.5)
    b = torch.full((1, 3, 2, 2), 0.25)
    assert blend(a, b, "mix", 1.0).flatten()[0].item() == pytest.approx(0.25)
    assert blend(a, b, "add", 1.0).flatten()[0].item() == pytest.approx(0.75)
    assert blend(a, b, "multiply", 1.0).flatten()[0].item() == pytest.approx(0.125)
    assert blend(a, b, "screen", 1.0).flatten()[0].item() == pytest.approx(1 - 0.5 * 0.75)
    assert blend(a, b, "difference", 1.0).flatten()[0].item() == pytest.approx(0.25)


def test_choosing_the_camera_as_top_layer_swaps_the_layers():
    store = ParameterStore(default_registry())
    store.set("compose.mode", "mix")
    store.set("compose.amount", 1.0, immediate=True)
    cam, gen = torch.zeros(1, 3, 2, 2), torch.ones(1, 3, 2, 2)
    assert compose(store.snapshot(0.0), cam, gen).mean() == 1.0
    store.set("compose.top", "camera")
    assert compose(store.snapshot(0.1), cam, gen).mean() == 0.0


def test_a_missing_generator_layer_shows_the_camera_alone():
    store = ParameterStore(default_registry())
    cam = torch.rand(1, 3, 4, 4)
    assert compose(store.snapshot(0.0), cam, None) is cam
