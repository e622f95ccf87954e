"""The issue-9 recipe: anti-aliased, resize-conv style nets (old models still load as they were),
blurred crops in training, and `--init models/X` so CPU time adds up across training runs."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from livegen.nets.fastnet import FastStyleNet
from livegen.nets.io import save_model
from livegen.nets.style import build_net
from livegen.train.style import CropSampler, TrainConfig, Trainer, gaussian_blur


def test_old_manifests_build_the_old_net_and_new_ones_the_anti_aliased_net():
    old = build_net({"kind": "fast-cin", "n_styles": 2, "widths": [4, 8, 8], "n_res": 1, "pad": "reflect"})
    new = build_net({"kind": "fast-cin", "n_styles": 2, "widths": [4, 8, 8], "n_res": 1, "pad": "reflect",
                     "up": "bilinear", "blur": True})
    assert (old.up, old.blur) == ("nearest", False) and (new.up, new.blur) == ("bilinear", True)
    assert new.architecture()["up"] == "bilinear" and new.architecture()["blur"] is True
    # Same parameters: a style3-era model's weights load into the new net (the --init path).
    new.load_state_dict(old.state_dict())
    with pytest.raises(ValueError, match="up must be"):
        FastStyleNet(1, (4, 8, 8), 1, up="transposed")


def test_the_anti_aliased_net_follows_a_shift_more_closely():
    """Untrained nets already differ: strided convs without a low-pass and nearest upsampling
    make the output depend on where the picture sits on the stride-8 grid."""
    torch.manual_seed(0)
    x = gaussian_blur(torch.rand(1, 3, 96, 96), 3.0)
    w = torch.tensor([[1.0]])
    errs = {}
    for up, blur in (("nearest", False), ("bilinear", True)):
        torch.manual_seed(1)
        net = FastStyleNet(1, (8, 16, 16), 2, "reflect", up, blur).eval()
        with torch.no_grad():
            y = net(x, w)
            y3 = net(torch.roll(x, 3, dims=3), w)
        errs[up] = float((torch.roll(y, 3, dims=3) - y3)[..., 16:-16, 16:-16].abs().mean())
    assert errs["bilinear"] < errs["nearest"], errs


def test_some_training_crops_are_blurred():
    rng = np.random.default_rng(0)
    img = torch.from_numpy(rng.random((3, 120, 160), dtype=np.float32))
    sharp = CropSampler([img], 32, 0.5, blur_prob=0.0).sample(16, torch.Generator().manual_seed(2))
    mixed = CropSampler([img], 32, 0.5, blur_prob=0.5).sample(16, torch.Generator().manual_seed(2))
    detail = lambda b: (b[..., 1:, :] - b[..., :-1, :]).abs().mean(dim=(1, 2, 3))  # noqa: E731
    assert (detail(mixed) < 0.5 * detail(sharp)).sum() >= 3


def test_init_continues_a_shipped_model_and_new_styles_start_from_the_mean(tmp_path, vgg):
    for i in range(4):
        img = cv2.resize(np.random.default_rng(i).integers(0, 255, (8, 8, 3), dtype=np.uint8), (80, 80))
        (tmp_path / "c").mkdir(exist_ok=True)
        cv2.imwrite(str(tmp_path / "c" / f"{i}.png"), img)
    for name in ("a", "b", "c"):
        cv2.imwrite(str(tmp_path / f"{name}.png"), np.random.default_rng(ord(name)).integers(0, 255, (64, 64, 3),
                                                                                            dtype=np.uint8))
    torch.manual_seed(5)
    shipped = build_net({"kind": "fast-cin", "n_styles": 2, "widths": [4, 8, 8], "n_res": 1, "pad": "reflect"})
    for m in shipped.modules():
        if hasattr(m, "gamma"):
            torch.nn.init.normal_(m.gamma, 1.0, 0.3)
    save_model(tmp_path / "shipped.safetensors", shipped.state_dict(),
               {"architecture": shipped.architecture(), "styles": [{"key": "a"}, {"key": "b"}]})
    # The new run has styles b, c (a dropped, c new) and the anti-aliased net.
    cfg = TrainConfig(styles=[str(tmp_path / "b.png"), str(tmp_path / "c.png")], content=str(tmp_path / "c"),
                      heldout="", out=str(tmp_path / "m"), run_dir=str(tmp_path / "run"), widths=[4, 8, 8], n_res=1,
                      size=32, batch=1, steps=1, style_size=48, init=str(tmp_path / "shipped"))
    tr = Trainer(cfg, vgg=vgg, log=lambda *_: None)
    old, new = shipped.state_dict(), tr.net.state_dict()
    assert torch.equal(new["enc1.weight"], old["enc1.weight"])
    assert torch.equal(new["en1.gamma"][0], old["en1.gamma"][1]), "style b keeps its own row"
    assert torch.allclose(new["en1.gamma"][1], old["en1.gamma"].mean(0)), "style c starts from the mean"
