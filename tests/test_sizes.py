"""One size convention: a 200x120 show (wider than tall, not a multiple of the nets' strides)
passes through every stage and every sink with width and height where a user expects them."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from videos import write_clip

from livegen.engine import open_engine
from livegen.patch import load_patch, parse_patch
from livegen.paths import DEFAULT_PATCH
from livegen.render import render
from livegen.sinks import to_uint8
from livegen.sinks.window import WindowSink
from livegen.size import Size, parse_size
from livegen.sources import pattern
from livegen.stages.resize import fit_to_frame

W, H = 200, 120


def test_a_size_is_written_width_first_and_handed_to_torch_height_first():
    size = parse_size("200x120")
    assert size == Size(w=200, h=120) and size.hw == (120, 200) and str(size) == "200x120"
    with pytest.raises(ValueError, match="out of range"):
        parse_size("200x9")


def test_every_stage_of_the_default_patch_draws_at_the_output_size(tmp_path):
    clip = write_clip(tmp_path / "cam.avi", frames=6, size=(90, 160))  # a portrait camera
    patch = load_patch(DEFAULT_PATCH)
    patch.generator.through_style = True
    engine, feed = open_engine(patch, lockstep=True, size=Size(W, H), device="cpu", camera=str(clip))
    try:
        assert engine.pipeline.style is not None and engine.pipeline.style.available
        assert engine.pipeline.generator is not None and engine.pipeline.generator.available
        frame = engine.tick(0.1)
        assert frame.shape == (1, 3, H, W)
        assert set(engine.pipeline.timer.ms) >= {"camera", "style", "generator", "style (generator)", "compose"}
        assert not engine.errors.counts, engine.errors.counts
    finally:
        engine.close()
        feed.close()
    assert pattern.test_pattern(0.0, Size(W, H)).shape == (1, 3, H, W)
    assert fit_to_frame(torch.rand(1, 3, 64, 64), Size(W, H), "contain").shape == (1, 3, H, W)


@pytest.mark.parametrize("out", ["frames/", "show.avi", "show.mp4"])
def test_file_sinks_write_the_output_size(tmp_path, out):
    render(parse_patch(f'[output]\nsize = "{W}x{H}"\n'), str(tmp_path / out), frames=3, fps=10, progress=False)
    if out.endswith("/"):
        first = cv2.imread(str(tmp_path / "frames" / "frame_000000.png"))
        assert first.shape == (H, W, 3)
    else:
        cap = cv2.VideoCapture(str(tmp_path / out))
        ok, first = cap.read()
        assert ok and first.shape == (H, W, 3)
        assert (cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (W, H)
        cap.release()


def test_the_window_shows_the_frame_the_right_way_round():
    frame = torch.zeros(1, 3, H, W)
    frame[:, 0, :, : W // 2] = 1.0  # left half red
    window = WindowSink(Size(W, H), hud=False, vsync=False)
    try:
        window.present(to_uint8(frame))
        shot = window.screenshot()
    finally:
        window.close()
    assert shot.shape == (H, W, 3)
    assert shot[H // 2, W // 4, 0] == 255 and shot[H // 2, 3 * W // 4, 0] == 0
    assert np.array_equal(shot, to_uint8(frame))
