"""A VJ adds a style in minutes: `livegen train style-add IMAGE --model models/X` fits only the new
style's norm rows, leaves every old style exactly as it was, and the grown model plays with the
new style as one more fader position."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch

from livegen.nets.io import save_model
from livegen.nets.style import build_net, load_style_model
from livegen.stages.style import StyleConfig, StyleStage
from livegen.train import style_add
from livegen.train.style import TrainConfig


@pytest.fixture
def setup(tmp_path):
    rng = np.random.default_rng(1)
    for split, n in (("content", 5), ("heldout", 2)):
        (tmp_path / split).mkdir()
        for i in range(n):
            img = cv2.resize(rng.integers(0, 255, (8, 10, 3), dtype=np.uint8), (90, 70), interpolation=cv2.INTER_CUBIC)
            cv2.imwrite(str(tmp_path / split / f"p{i}.png"), img)
    yy, xx = np.mgrid[0:64, 0:64]
    style = np.stack([(np.sin(xx / 2.0) > 0) * 255, yy * 4, 40 + 0 * xx], -1).astype(np.uint8)
    cv2.imwrite(str(tmp_path / "zebra.png"), style)
    torch.manual_seed(3)
    net = build_net({"kind": "fast-cin", "n_styles": 2, "widths": [4, 8, 8], "n_res": 1, "pad": "reflect",
                     "up": "bilinear", "blur": True})
    for m in net.modules():  # two visibly different styles
        if hasattr(m, "gamma"):
            torch.nn.init.normal_(m.gamma, 1.0, 0.3)
    manifest = {"name": "tiny", "role": "style", "architecture": net.architecture(),
                "styles": [{"key": "a", "title": "A"}, {"key": "b", "title": "B"}], "training": {"steps": 5}}
    save_model(tmp_path / "tiny.safetensors", net.state_dict(), manifest)
    return tmp_path


def test_a_new_style_is_appended_and_the_old_ones_stay_exact(setup, vgg):
    cfg = TrainConfig(styles=[], content=str(setup / "content"), heldout=str(setup / "heldout"), size=32,
                      batch=2, steps=6, lr=5e-2, style_size=48)
    out = style_add.add_style(setup / "tiny.safetensors", setup / "zebra.png", setup / "grown", cfg, minutes=5,
                              vgg=vgg, argv=["zebra.png", "--model", "tiny"], log=lambda *_: None)
    old, _ = load_style_model(setup / "tiny.safetensors")
    new, manifest = load_style_model(out)
    assert manifest["architecture"]["n_styles"] == 3
    assert [s["key"] for s in manifest["styles"]] == ["a", "b", "zebra"]
    add = manifest["training"]["style_add"][0]
    assert add["key"] == "zebra" and add["steps"] == 6 and "new style" in add["heldout_losses"]
    assert manifest["training"]["steps"] == 5, "the original training record stays"
    o, n = old.state_dict(), new.state_dict()
    for k, v in o.items():
        if k.endswith((".gamma", ".beta")):
            # fp16 on disk: the old rows come back to half precision, unchanged otherwise.
            assert torch.allclose(n[k][:2], v, atol=2e-3), k
            assert not torch.allclose(n[k][2], v.mean(0), atol=1e-4), f"{k}: the new row never moved"
        else:
            assert torch.allclose(n[k], v, atol=2e-3), f"{k}: a shared weight moved"
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        y_new = new(x, torch.tensor([[0.0, 0.0, 1.0]]))
        y_a = new(x, torch.tensor([[1.0, 0.0, 0.0]]))
    assert (y_new - y_a).abs().mean() > 1e-3


def test_the_command_grows_the_model_and_the_layer_offers_the_new_style(setup, vgg, monkeypatch):
    monkeypatch.setattr(style_add, "load_trunk", lambda path: vgg)
    rc = style_add.main([str(setup / "zebra.png"), "--model", str(setup / "tiny"), "--out", str(setup / "grown"),
                         "--content", str(setup / "content"), "--heldout", str(setup / "heldout"), "--size", "32",
                         "--steps", "2", "--style-size", "48", "--threads", "1", "--key", "zebra",
                         "--licence", "CC0"])
    assert rc == 0
    manifest = json.loads((setup / "grown.json").read_text())
    assert manifest["styles"][-1]["licence"] == "CC0"
    layer = StyleStage(StyleConfig(model=str(setup / "grown.safetensors")), torch.device("cpu"))
    assert layer.available and "zebra" in layer.status


def test_a_model_that_is_not_a_conditional_norm_net_is_refused(setup, tmp_path):
    net = build_net({"kind": "transformer", "n_styles": 1})
    save_model(tmp_path / "tn.safetensors", net.state_dict(), {"architecture": {"kind": "transformer", "n_styles": 1},
                                                               "styles": [{"key": "x"}]})
    rc = style_add.main([str(setup / "zebra.png"), "--model", str(tmp_path / "tn"), "--steps", "1"])
    assert rc == 1
