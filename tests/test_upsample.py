"""Sharp at the output size: the learned upsampler starts as bilinear, learns detail from the dataset's
pictures, reaches any frame size, and the bench compares it with bicubic (sharpness and ms)."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from livegen.bench.upscale import main as bench_main
from livegen.nets.io import ModelError
from livegen.nets.upsample import Upsampler, load_upsampler, save_upsampler
from livegen.train.data_abstract import build_crop_dataset, folder_sources, split_groups
from livegen.train.upsample import main as train_main


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_an_untrained_upsampler_is_exactly_bilinear(scale):
    x = torch.rand(2, 3, 17, 23)
    ref = F.interpolate(x, scale_factor=scale, mode="bilinear", align_corners=False)
    assert torch.allclose(Upsampler(scale, width=8, depth=1)(x), ref, atol=1e-5)


def test_to_frame_fills_any_frame_size_from_a_square_picture():
    net = Upsampler(4, width=8, depth=1).eval()
    img = torch.rand(1, 3, 128, 128)
    for size in [(480, 640), (1080, 1920), (250, 333)]:
        out = net.to_frame(img, size, "cover")
        assert out.shape == (1, 3, *size) and 0 <= float(out.min()) and float(out.max()) <= 1


def test_weights_round_trip_and_a_wrong_file_is_a_clear_error(tmp_path):
    net = Upsampler(2, width=8, depth=2)
    torch.nn.init.normal_(net.to_subpixels.weight, std=0.1)
    path = save_upsampler(tmp_path / "up", net, {"name": "up"})
    back, manifest = load_upsampler(path)
    x = torch.rand(1, 3, 16, 16)
    assert torch.equal(back(x), net(x)) and manifest["task"] == "upsampler"
    manifest["architecture"]["width"] = 12
    (tmp_path / "up.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match="up.safetensors"):
        load_upsampler(path)


@pytest.fixture
def tiny_dataset(tmp_path):
    skdata = pytest.importorskip("skimage.data")
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field"):
        Image.fromarray(getattr(skdata, name)()).save(photos / f"{name}.png")
    sources = folder_sources(photos, "test")
    split_groups(sources, 0.4, seed=0)
    data = tmp_path / "data"
    build_crop_dataset(sources, data, 32, 16, 8, 0, {"licence": "test"})
    return data


def test_training_then_the_bench_against_bicubic(tiny_dataset, tmp_path):
    out = tmp_path / "models" / "up2"
    assert train_main(["--data", str(tiny_dataset), "--out", str(out), "--run", str(tmp_path / "run"),
                       "--scale", "2", "--width", "8", "--depth", "2", "--regions", "6", "--patch", "16",
                       "--batch", "4", "--steps", "30", "--lr", "3e-3"]) == 0
    net, manifest = load_upsampler(out.with_suffix(".safetensors"))
    assert manifest["training"]["steps"] == 30 and manifest["dataset"]["licence"] == "test"
    assert float(net.to_subpixels.weight.detach().abs().sum()) > 0  # it learned something beyond bilinear
    result_path = tmp_path / "bench.json"
    assert bench_main(["--model", str(out.with_suffix(".safetensors")), "--data", str(tiny_dataset),
                       "--regions", "4", "--repeats", "2", "--sizes", "96x128", "--threads", "1",
                       "--figure", str(tmp_path / "fig.png"), "--json", str(result_path)]) == 0
    result = json.loads(result_path.read_text())
    sharp = result["sharpness"]
    assert set(sharp) == {"bilinear", "bicubic", "learned"}
    assert all(v["psnr_db"] > 10 and 0 < v["grad_energy_vs_truth"] < 2 for v in sharp.values())
    assert sharp["bicubic"]["grad_energy_vs_truth"] > sharp["bilinear"]["grad_energy_vs_truth"]
    timing = result["timing"]["128x96, 1 thread"]
    assert timing["learned (to_frame)"]["median_ms"] > 0 and timing["bicubic (fit_to_frame)"]["min_ms"] > 0
    assert Image.open(tmp_path / "fig.png").size[0] == 3 * 192
