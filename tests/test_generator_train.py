"""Training the generators: datasets assembled from packages, each GAN loss, the VAE, resume."""

from __future__ import annotations

import io
import json
import tarfile

import numpy as np
import pytest
import torch
from PIL import Image

from livegen.nets.generator import load_generator
from livegen.train import load_checkpoint, save_checkpoint
from livegen.train.data import load_split
from livegen.train.data import main as data_main
from livegen.train.gan import GanTrainer
from livegen.train.gan import main as gan_main
from livegen.train.vae import VaeTrainer
from livegen.train.vae import main as vae_main


def emoji_like(n: int, seed: int = 0, size: int = 64) -> list[Image.Image]:
    """Transparent PNG-style images: coloured discs on alpha 0, like emoji artwork."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    out = []
    for _ in range(n):
        cy, cx, r = rng.uniform(20, 44), rng.uniform(20, 44), rng.uniform(8, 20)
        rgba = np.zeros((size, size, 4), np.uint8)
        inside = (yy - cy) ** 2 + (xx - cx) ** 2 < r * r
        rgba[inside, :3] = rng.integers(0, 256, 3)
        rgba[inside, 3] = 255
        out.append(Image.fromarray(rgba, "RGBA"))
    return out


@pytest.fixture
def dataset(tmp_path):
    folder = tmp_path / "pngs"
    folder.mkdir()
    for i, img in enumerate(emoji_like(40)):
        img.save(folder / f"{i:03d}.png")
    out = tmp_path / "data"
    assert data_main(["folder", "--folder", str(folder), "--out", str(out), "--heldout", "8",
                      "--licence", "CC0 test discs"]) == 0
    return out


def test_folder_of_transparent_pngs_becomes_a_split_dataset_on_black(dataset):
    train, held = load_split(dataset, "train"), load_split(dataset, "heldout")
    assert train.shape == (32, 64, 64, 3) and held.shape == (8, 64, 64, 3)
    assert train[:, 0, 0].max() == 0  # corners were transparent: composited on black
    info = json.loads((dataset / "dataset.json").read_text())
    assert info["licence"] == "CC0 test discs" and len(info["heldout_names"]) == 8


def test_twemoji_tarball_is_read_from_the_npm_package_layout(tmp_path):
    tgz = tmp_path / "emoji-datasource-twitter-16.0.0.tgz"
    with tarfile.open(tgz, "w:gz") as tar:
        for i, img in enumerate(emoji_like(12, seed=1)):
            buf = io.BytesIO()
            img.save(buf, format="PNG")
            info = tarfile.TarInfo(f"package/img/twitter/64/1f60{i:x}.png")
            info.size = len(buf.getvalue())
            tar.addfile(info, io.BytesIO(buf.getvalue()))
    out = tmp_path / "tw"
    assert data_main(["twemoji", "--tarball", str(tgz), "--out", str(out), "--heldout", "2",
                      "--background", "white"]) == 0
    info = json.loads((out / "dataset.json").read_text())
    assert info["attribution_required"] and "CC-BY 4.0" in info["licence"]
    assert load_split(out, "train")[:, 0, 0].min() == 255


def images(dataset) -> torch.Tensor:
    return torch.from_numpy(load_split(dataset, "train")).permute(0, 3, 1, 2).contiguous()


def params(module: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten().clone() for p in module.parameters()])


@pytest.mark.parametrize("loss", ["bce", "lsgan", "wgan-gp"])
def test_each_gan_loss_trains_with_finite_losses_and_moving_weights(dataset, loss):
    tr = GanTrainer(images(dataset), latent_dim=8, ngf=4, ndf=4, batch=4, loss=loss, n_critic=2, seed=1)
    g0, d0 = params(tr.G), params(tr.D)
    for _ in range(2):
        row = tr.train_step()
    assert np.isfinite(row["loss_d"]) and np.isfinite(row["loss_g"])
    assert not torch.equal(g0, params(tr.G)) and not torch.equal(d0, params(tr.D))


def test_gan_checkpoint_resume_gives_the_same_next_step(dataset, tmp_path):
    kw = dict(latent_dim=8, ngf=4, ndf=4, batch=4, loss="bce", seed=3)
    a = GanTrainer(images(dataset), **kw)
    for _ in range(3):
        a.train_step()
    save_checkpoint(tmp_path / "ck.safetensors", *a.state())
    row_a = a.train_step()
    b = GanTrainer(images(dataset), **kw)
    b.load_state(*load_checkpoint(tmp_path / "ck.safetensors", torch.device("cpu")))
    row_b = b.train_step()
    assert row_a == row_b
    assert torch.equal(params(a.G), params(b.G)) and torch.equal(params(a.D), params(b.D))
    assert torch.equal(params(a.G_ema), params(b.G_ema))


def test_vae_trains_and_resumes_to_the_same_next_step(dataset, tmp_path):
    kw = dict(latent_dim=8, ch=4, batch=4, seed=2)
    a = VaeTrainer(images(dataset), **kw)
    w0 = params(a.net)
    for _ in range(3):
        row = a.train_step()
    assert np.isfinite(row["loss"]) and row["kl"] >= 0
    assert not torch.equal(w0, params(a.net))
    save_checkpoint(tmp_path / "ck.safetensors", *a.state())
    row_a = a.train_step()
    b = VaeTrainer(images(dataset), **kw)
    b.load_state(*load_checkpoint(tmp_path / "ck.safetensors", torch.device("cpu")))
    assert b.train_step() == row_a
    assert torch.equal(params(a.net), params(b.net))


def test_gan_command_writes_a_playable_model_with_its_provenance(dataset, tmp_path):
    out, run = tmp_path / "models" / "tiny", tmp_path / "run"
    args = ["--data", str(dataset), "--out", str(out), "--run", str(run), "--latent", "8", "--ngf", "4",
            "--ndf", "4", "--batch", "4", "--steps", "3", "--sample-every", "2", "--log-every", "1", "--device", "cpu"]
    assert gan_main(args) == 0
    net, manifest = load_generator(out.with_suffix(".safetensors"))
    assert manifest["training"]["steps"] == 3 and manifest["training"]["command"].startswith("livegen train gan")
    assert manifest["dataset"]["licence"] == "CC0 test discs"
    assert (run / "samples" / "step_000002.png").exists()
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3]
    assert gan_main([*args, "--steps", "5", "--resume"]) == 0
    _, manifest = load_generator(out.with_suffix(".safetensors"))
    assert manifest["training"]["steps"] == 5
    assert manifest["training"]["resumed_with"][0].endswith("--steps 5 --resume")
    assert [json.loads(x)["step"] for x in (run / "metrics.jsonl").read_text().splitlines()] == [1, 2, 3, 4, 5]
    assert net.generate(torch.randn(1, 8)).shape == (1, 3, 64, 64)


def test_vae_command_writes_a_model_that_encodes_and_decodes(dataset, tmp_path):
    out = tmp_path / "vae"
    assert vae_main(["--data", str(dataset), "--out", str(out), "--run", str(tmp_path / "r"), "--latent", "8",
                     "--ch", "4", "--batch", "4", "--steps", "2", "--device", "cpu"]) == 0
    net, manifest = load_generator(out.with_suffix(".safetensors"))
    assert net.can_encode and manifest["architecture"]["kind"] == "vae"
    with torch.no_grad():
        assert net.generate(net.encode(torch.rand(1, 3, 64, 64))).shape == (1, 3, 64, 64)
