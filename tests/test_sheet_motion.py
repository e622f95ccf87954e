"""`livegen sheet MODEL` draws 8x4 samples per generator (and dispatches on the manifest's kind);
`livegen bench motion` measures how the default latent loop moves and writes a GIF strip."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from livegen.bench.motion import gif_within, motion_figure, walk_frames
from livegen.bench.motion import main as motion_main
from livegen.nets.generator import VAE, DCGANGenerator, save_generator
from livegen.nets.upsample import Upsampler, save_upsampler
from livegen.sheet import CELL, LABEL_H
from livegen.sheet import main as sheet_main


@pytest.fixture
def models(tmp_path):
    torch.manual_seed(0)
    gan = DCGANGenerator(latent_dim=8, ngf=4, size=64).eval()
    vae = VAE(latent_dim=8, ch=4, size=64).eval()
    up = Upsampler(2, width=8, depth=1)
    return {"gan": save_generator(tmp_path / "gan", gan, {"name": "tinygan"}),
            "vae": save_generator(tmp_path / "vae", vae, {"name": "tinyvae"}),
            "up": save_upsampler(tmp_path / "up", up, {"name": "up"})}


def test_one_sheet_stacks_8x4_samples_of_every_generator(models, tmp_path):
    out = tmp_path / "generators.png"
    assert sheet_main([str(models["gan"]), str(models["vae"]), "--out", str(out)]) == 0
    img = np.asarray(Image.open(out))
    block = LABEL_H + 4 * CELL
    assert img.shape == (2 * block + 6, 8 * CELL, 3)
    # Two different models: the two blocks' pictures differ.
    a, b = img[LABEL_H:block], img[block + 6 + LABEL_H:]
    assert np.abs(a.astype(int) - b.astype(int)).mean() > 1


def test_the_sheet_dispatches_on_the_kind_and_refuses_unknown_ones(models, tmp_path, capsys):
    out = tmp_path / "up.png"
    assert sheet_main([str(models["up"]), "--generator", str(models["gan"]), "--out", str(out)]) == 0
    assert Image.open(out).size == (2 * 128, LABEL_H + 2 * 128)  # bicubic | learned, two samples
    manifest = json.loads((tmp_path / "gan.json").read_text())
    manifest["architecture"]["kind"] = "hologram"
    (tmp_path / "gan.json").write_text(json.dumps(manifest))
    assert sheet_main([str(models["gan"]), "--out", str(tmp_path / "x.png")]) == 1
    assert "no sample sheet for model kind 'hologram'" in capsys.readouterr().err


def test_the_default_loop_moves_smoothly_and_speed_zero_holds_still(models, tmp_path):
    frames = walk_frames(models["gan"], seconds=1.0)
    assert frames.shape == (31, 64, 64, 3)
    fig = motion_figure(frames)
    assert fig["mean_change"] > 0 and 1.0 <= fig["max_over_mean"] < 3  # a loop, not a slideshow
    still = motion_figure(walk_frames(models["gan"], seconds=0.5, **{"generator.speed": 0.0}))
    assert still["mean_change"] == 0


def test_the_motion_command_writes_the_figure_and_a_small_gif(models, tmp_path):
    gif, js = tmp_path / "loop.gif", tmp_path / "motion.json"
    assert motion_main([str(models["gan"]), "--seconds", "1", "--gif", str(gif), "--json", str(js)]) == 0
    fig = json.loads(js.read_text())
    assert fig["frames"] == 31 and fig["gif"]["bytes"] == gif.stat().st_size < 2_000_000
    with Image.open(gif) as im:
        assert im.n_frames == 16 and im.info["loop"] == 0


def test_a_gif_over_the_size_limit_gets_smaller_then_keeps_fewer_frames_until_it_fits(models, tmp_path):
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (31, 128, 128, 3), dtype=np.uint8)  # noise: bytes go with pixels
    full = gif_within(frames, tmp_path / "full.gif", 30.0, 2, None, 10**9)
    assert full["side"] == 128 and full["frames"] == 16
    small = gif_within(frames, tmp_path / "small.gif", 30.0, 2, None, full["bytes"] * 3 // 4)
    assert small["bytes"] <= full["bytes"] * 3 // 4 and 96 <= small["side"] < 128 and small["every"] == 2
    few = gif_within(frames, tmp_path / "few.gif", 30.0, 2, None, full["bytes"] // 4)
    assert few["bytes"] <= full["bytes"] // 4 and few["side"] >= 96 and few["every"] > 2
    with Image.open(tmp_path / "few.gif") as im:
        assert im.n_frames == few["frames"] < 16 and im.size == (few["side"], few["side"])
    # The command takes models/NAME without the suffix.
    assert motion_main([str(models["gan"].with_suffix("")), "--seconds", "0.5"]) == 0


def test_a_model_without_its_manifest_is_named_in_the_error(tmp_path, capsys):
    (tmp_path / "lost.safetensors").write_bytes(b"")
    assert sheet_main([str(tmp_path / "lost.safetensors"), "--out", str(tmp_path / "x.png")]) == 1
    assert "lost.json" in capsys.readouterr().err
