"""Shared test setup: headless SDL, one torch thread (CI has 2 cores), small sizes, the control tests' registries."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

from livegen.nets.vgg import VGGTrunk  # noqa: E402
from livegen.params import CORE_PARAMS, ParamRegistry, ParamSpec  # noqa: E402
from livegen.stages import compose  # noqa: E402

torch.set_num_threads(1)


def _control_params(smoothing: bool) -> list[ParamSpec]:
    """A fader, a speed, a trigger, an enum, a switch, a stepped int and a bipolar bend: what control stories move."""
    return [
        *CORE_PARAMS,
        *(p for p in compose.PARAMS if p.name.startswith("master.")),
        ParamSpec("style.mix", default=0.0, smoothing=0.1 if smoothing else 0.0, description="style fader"),
        ParamSpec("generator.speed", default=0.2, min=0.0, max=4.0, smoothing=0.2 if smoothing else 0.0),
        ParamSpec("generator.jump", kind="trigger", default=False, min=None, max=None),
        ParamSpec("compose.mode", kind="enum", default="screen", choices=("screen", "add", "multiply", "difference")),
        ParamSpec("fx.freeze", kind="bool", default=False, min=None, max=None),
        ParamSpec("fx.steps", kind="int", default=0, min=0, max=8),
        ParamSpec("fx.bend", default=0.0, min=-1.0, max=1.0),
    ]


@pytest.fixture
def registry() -> ParamRegistry:
    """The small parameter registry control tests play with (values jump: no smoothing)."""
    return ParamRegistry(_control_params(smoothing=False))


@pytest.fixture
def smooth_registry() -> ParamRegistry:
    """The same registry with smoothed faders, as a show has them (recording and replay stories)."""
    return ParamRegistry(_control_params(smoothing=True))


@pytest.fixture(scope="module")
def vgg() -> VGGTrunk:
    """A randomly initialised VGG16 trunk (seeded): the style losses' network without its weights file."""
    torch.manual_seed(0)
    net = VGGTrunk()
    for m in net.modules():
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(m.weight)
            torch.nn.init.zeros_(m.bias)
    return net.eval()


@pytest.fixture
def photo_crops(tmp_path):
    """``make(size, train, heldout, licence)``: a crop dataset (livegen's abstract-data builder) cut
    from scikit-image's sample photos; two of the five pictures are held out whole."""
    skdata = pytest.importorskip("skimage.data")
    from PIL import Image

    from livegen.train.data_abstract import build_crop_dataset, folder_sources, split_groups

    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field"):
        Image.fromarray(getattr(skdata, name)()).save(photos / f"{name}.png")

    def make(size: int, train: int, heldout: int, licence: str):
        sources = folder_sources(photos, "test")
        split_groups(sources, 0.4, seed=0)
        data = tmp_path / "data"
        build_crop_dataset(sources, data, size, train, heldout, 0, {"licence": licence})
        return data

    return make
