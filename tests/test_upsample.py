"""Sharp at the output size: the learned upsampler starts as bilinear, learns detail from the dataset's
pictures, reaches any frame size, and the bench compares it with bicubic (sharpness and ms)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from livegen.bench.upscale import grad_energy, psnr
from livegen.bench.upscale import main as bench_main
from livegen.nets import ort
from livegen.nets.io import ModelError
from livegen.nets.upsample import Upsampler, load_upsampler, save_upsampler
from livegen.params import ParameterStore
from livegen.patch import load_patch
from livegen.paths import DEFAULT_PATCH
from livegen.size import Size
from livegen.stages import default_registry
from livegen.stages.generator import GeneratorStage
from livegen.stages.resize import FITS, fit_to_frame
from livegen.stages.upscale import Upscaler, unsharp
from livegen.train.upsample import main as train_main


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_an_untrained_upsampler_is_exactly_bilinear(scale):
    x = torch.rand(2, 3, 17, 23)
    ref = F.interpolate(x, scale_factor=scale, mode="bilinear", align_corners=False)
    assert torch.allclose(Upsampler(scale, width=8, depth=1)(x), ref, atol=1e-5)


def test_the_upscale_stage_fills_any_frame_size_from_a_square_picture(tmp_path):
    path = save_upsampler(tmp_path / "up4", Upsampler(4, width=8, depth=1), {"name": "up4"})
    stage = Upscaler(str(path.with_suffix("")), torch.device("cpu"))
    runtime = " · onnxruntime" if ort.available() else ""
    assert stage.net is not None and stage.status == f"upscale: up4 (learned x4){runtime}"
    img = torch.rand(1, 3, 128, 128)
    for size in [Size(640, 480), Size(1920, 1080), Size(333, 250)]:
        for fit in FITS:
            out = stage.to_frame(img, size, fit)
            assert out.shape == (1, 3, *size.hw) and 0 <= float(out.min()) and float(out.max()) <= 1
    # An untrained net is bilinear: at 640x480 it is close to a plain bicubic fit, not noise.
    learned = stage.to_frame(img.clamp(0.3, 0.7), Size(640, 480), "cover")
    plain = fit_to_frame(img.clamp(0.3, 0.7), Size(640, 480), "cover", "bicubic")
    assert float((learned - plain).abs().mean()) < 0.05


def test_on_the_cpu_the_learned_upscale_runs_in_onnx_runtime_and_draws_the_torch_frame(tmp_path):
    if not ort.available():
        pytest.skip("onnxruntime is not installed: the upscale stays in torch")
    net = Upsampler(4, width=8, depth=2)
    torch.nn.init.normal_(net.to_subpixels.weight, 0, 0.1)  # a net that adds detail, not plain bilinear
    path = save_upsampler(tmp_path / "up4", net, {"name": "up4"})
    fast = Upscaler(str(path), torch.device("cpu"))
    plain = Upscaler(str(path), torch.device("cpu"))
    plain._ort = None
    img = torch.rand(1, 3, 128, 128)
    for size, fit in [(Size(640, 480), "cover"), (Size(1920, 1080), "contain"), (Size(333, 250), "stretch")]:
        a = fast.to_frame(img, size, fit, sharpen=0.25)
        b = plain.to_frame(img, size, fit, sharpen=0.25)
        assert a.shape == b.shape == (1, 3, *size.hw) and torch.allclose(a, b, atol=1e-4)


def test_a_small_frame_or_the_frame_budget_skips_the_net(tmp_path):
    path = save_upsampler(tmp_path / "up4", Upsampler(4, width=8, depth=1), {"name": "up4"})
    stage = Upscaler(str(path), torch.device("cpu"))
    img = torch.rand(1, 3, 128, 128)
    # 256x256 needs only x2: shrinking to 64 px first for the x4 net would lose detail; bicubic it is.
    assert torch.equal(stage.to_frame(img, Size(256, 256), "cover"),
                       fit_to_frame(img, Size(256, 256), "cover", "bicubic"))
    assert torch.equal(stage.to_frame(img, Size(640, 480), "cover", override="bilinear"),
                       fit_to_frame(img, Size(640, 480), "cover", "bilinear"))


def test_a_missing_upsampler_leaves_bicubic_and_says_so(tmp_path):
    stage = Upscaler(str(tmp_path / "nowhere"), torch.device("cpu"))
    assert stage.net is None and stage.status == f"upscale: {tmp_path / 'nowhere'} unusable, bicubic instead"
    img = torch.rand(1, 3, 64, 64)
    assert torch.equal(stage.to_frame(img, Size(640, 480), "cover"),
                       fit_to_frame(img, Size(640, 480), "cover", "bicubic"))
    assert Upscaler("nearest", torch.device("cpu")).status == "upscale: nearest"


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
def tiny_dataset(photo_crops):
    return photo_crops(32, 16, 8, "test")


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
                       "--regions", "4", "--repeats", "2", "--frame", "256x256", "--sizes", "128x96", "--threads", "1",
                       "--figure", str(tmp_path / "fig.png"), "--json", str(result_path)]) == 0
    result = json.loads(result_path.read_text())
    sharp = result["sharpness"]
    assert set(sharp) == {"bilinear", "bicubic", "learned", "bicubic, sharpen 0.25", "learned, sharpen 0.25"}
    assert sharp["learned, sharpen 0.25"]["grad_energy_vs_truth"] > sharp["learned"]["grad_energy_vs_truth"]
    assert all(v["psnr_db"] > 10 and 0 < v["grad_energy_vs_truth"] < 2 for v in sharp.values())
    assert sharp["bicubic"]["grad_energy_vs_truth"] > sharp["bilinear"]["grad_energy_vs_truth"]
    timing = result["timing"]["128x96, 1 thread"]
    assert set(timing) == set(sharp)
    assert timing["learned"]["median_ms"] > 0 and timing["bicubic"]["min_ms"] > 0 and timing["bilinear"]["cpu_ms"] >= 0
    assert Image.open(tmp_path / "fig.png").size[0] == 3 * 192




def test_the_default_show_draws_its_generator_through_the_learned_upsampler():
    patch = load_patch(DEFAULT_PATCH)
    stage = GeneratorStage(patch.generator, torch.device("cpu"), seed=patch.seed, base=DEFAULT_PATCH.parent)
    assert stage.available and "upscale: upsample4 (learned x4)" in stage.status
    snap = ParameterStore(default_registry()).snapshot(0.0)
    frame = stage(snap, None, Size(640, 480))
    plain = stage(snap, None, Size(640, 480), filter="bicubic")  # what the frame budget's lower rung draws
    assert frame.shape == plain.shape == (1, 3, 480, 640)
    assert float((frame - plain).abs().mean()) < 0.02  # the same picture


def test_on_a_real_photo_the_learned_upscale_is_closer_to_the_truth_than_bicubic():
    skdata = pytest.importorskip("skimage.data")
    photo = skdata.astronaut()
    truth = Image.fromarray(photo).resize((640, 640), Image.Resampling.BOX)  # what a 640 px camera would see
    small = truth.resize((128, 128), Image.Resampling.BOX)  # what a 128 px generator draws

    def tensor(im: Image.Image) -> torch.Tensor:
        return torch.from_numpy(np.array(im)).permute(2, 0, 1)[None].float() / 255

    stage = Upscaler("models/upsample4", torch.device("cpu"))
    frame = Size(640, 480)
    want = tensor(truth)[..., 80:560, :]  # the cover crop
    learned = stage.to_frame(tensor(small), frame, "cover")
    bicubic = stage.to_frame(tensor(small), frame, "cover", override="bicubic")
    assert psnr(learned, want) > psnr(bicubic, want) + 0.3
    assert grad_energy(learned) >= grad_energy(bicubic)
    # generator.sharpen's default lifts the detail the upscalers average away, and stays as close to the truth.
    crisp = stage.to_frame(tensor(small), frame, "cover", sharpen=0.25)
    assert grad_energy(crisp) > 1.1 * grad_energy(learned) and psnr(crisp, want) > psnr(bicubic, want)


def test_sharpen_leaves_flat_colour_alone_and_lifts_an_edge():
    flat = torch.full((1, 3, 32, 32), 0.4)
    assert torch.allclose(unsharp(flat, 1.0), flat)
    edge = torch.zeros(1, 3, 32, 32)
    edge[..., 16:] = 0.5
    crisp = unsharp(edge, 0.5)
    assert float(crisp[..., 16].min()) > 0.5 and float(crisp[..., 15].max()) < 1e-6  # overshoot on the bright side
    assert torch.equal(crisp[..., :13], edge[..., :13]) and torch.allclose(crisp[..., 19:], edge[..., 19:])
