"""`livegen suggest`: before a show, the VJ asks for eight varied, lively scenes and plays them on keys 1-8."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from livegen.assist.colour import figures
from livegen.assist.suggest import Candidate, farthest_first, features, main, suggest
from livegen.engine import open_engine
from livegen.patch import load_patch
from livegen.paths import DEFAULT_PATCH
from livegen.size import Size


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_suggest_writes_a_contact_sheet_and_a_patch_copy_that_plays_the_scenes_on_keys_1_to_8(tmp_path, capsys):
    out = tmp_path / "ideas"
    assert main([str(DEFAULT_PATCH), "-n", "8", "-o", str(out), "--candidates", "20", "--size", "128x96"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [s["key"] for s in report["scenes"]] == list(range(1, 9))
    with Image.open(out / "contact-sheet.png") as sheet:
        assert sheet.width > 1000 and sheet.height > 400
    copy = out / "default-suggested.toml"
    text = copy.read_text()
    assert "# livegen default patch" in text and "Edit and save while `livegen run` plays" in text
    patch = load_patch(copy)
    assert [patch.scene_for_key(k) for k in range(1, 9)] == [f"suggest{k}" for k in range(1, 9)]
    assert {"calm", "drive", "camera_only"} <= set(patch.scenes)  # the user's scenes stay, off the keys
    engine, feed = open_engine(patch, lockstep=True, size=Size(64, 48))
    try:
        engine.recall_scene(3)
        engine.tick(0.0)
        engine.tick(2.5)  # the scene's fade is 2 s
        for name, value in report["scenes"][2]["values"].items():
            assert engine.store.targets[name] == value
    finally:
        feed.close()
        engine.close()


def test_suggestions_are_the_same_for_a_seed_and_differ_for_another():
    patch = load_patch(DEFAULT_PATCH)
    a = [c.values for c in suggest(patch, 3, 8, seed=1, size=Size(96, 72))]
    b = [c.values for c in suggest(patch, 3, 8, seed=1, size=Size(96, 72))]
    c = [c.values for c in suggest(patch, 3, 8, seed=2, size=Size(96, 72))]
    assert a == b and a != c and len(a) == 3


def candidate(image: np.ndarray) -> Candidate:
    return Candidate({}, image, figures(image), features(image))


def test_blank_grey_and_flat_pictures_are_not_suggested_and_the_chosen_ones_lie_far_apart():
    rng = np.random.default_rng(0)
    black = candidate(np.zeros((48, 64, 3), np.uint8))
    grey = candidate(np.full((48, 64, 3), 128, np.uint8))
    assert not black.lively and not grey.lively
    # Lively pictures: four near-copies of one red picture, and a green and a blue one.
    red = rng.integers(0, 60, (48, 64, 3)).astype(np.uint8)
    red[..., 0] = rng.integers(40, 255, (48, 64))
    pics = [np.clip(red.astype(int) + k, 0, 255).astype(np.uint8) for k in range(4)]
    pics += [red[..., [1, 0, 2]], red[..., [2, 1, 0]]]
    cands = [candidate(p) for p in pics]
    assert all(c.lively for c in cands)
    chosen = farthest_first(cands, 3)
    assert len(set(chosen)) == 3 and {4, 5} <= set(chosen), "the green and the blue picture add the most variety"
