"""A laptop VJ on two CPU cores: the nets run in ONNX Runtime where it paints the same picture,
and `livegen bench` says where a frame's time goes."""

from __future__ import annotations

import json

import pytest
import torch

from livegen.nets import ort
from livegen.nets.generator import VAE, DCGANGenerator
from livegen.stages.generator import pick_runtime
from livegen.stages.pipeline import StageTimer

needs_ort = pytest.mark.skipif(not ort.available(), reason="onnxruntime and onnx are not installed")


@needs_ort
@pytest.mark.parametrize("net", [DCGANGenerator(8, 4, 64), VAE(8, 4, 64)], ids=["dcgan", "vae"])
def test_the_generator_draws_the_same_images_in_onnx_runtime_as_in_torch(net):
    torch.manual_seed(0)
    for p in net.parameters():  # random, non-trivial weights and norm statistics
        p.data.normal_(0.0, 0.3)
    net.eval()
    runner, name = pick_runtime(net, torch.device("cpu"))
    assert name == "onnxruntime"
    z = torch.randn(3, 8)
    with torch.no_grad():
        want = net.generate(z)
    got = runner(z)
    assert got.shape == want.shape == (3, 3, 64, 64)
    assert (got - want).abs().max() < 1e-4


def test_runtime_torch_keeps_the_plain_net_on_the_cpu():
    net = DCGANGenerator(8, 4, 64).eval()
    assert pick_runtime(net, torch.device("cpu"), "torch") == (net.generate, "torch")


def test_the_stage_timer_averages_every_frame_since_it_was_cleared():
    """The HUD's smoothed figure follows recent frames; the bench's mean weighs every frame alike."""
    timer = StageTimer(alpha=0.1)
    device = torch.device("cpu")
    timer.ms["style"] = 99.0
    timer.clear()
    for _ in range(4):
        timer.start()
        timer.lap("style", device)
    means = timer.means()
    assert set(means) == {"style"} and 0.0 <= means["style"] < 50.0


def test_bench_profiles_a_tiny_frame_and_names_the_operators(capsys):
    from livegen import cli

    assert cli.main(["bench", "--sizes", "64x48", "--frames", "3", "--window-seconds", "0.5", "--threads", "1",
                     "--profile"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["cpu_count"] >= 1 and len(result["load_average"]) == 3
    (res,) = result["results"]
    assert res["median_ms"] > 0 and res["fastest_ms"] <= res["median_ms"]
    prof = res["profile"]
    assert prof["frame_ms"] > 0 and prof["top_torch_ops_ms"]
    assert all(name.startswith("aten::") for name in prof["top_torch_ops_ms"])
