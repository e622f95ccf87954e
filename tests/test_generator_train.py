"""Training the generators: datasets assembled from packages, each GAN loss and discriminator, the VAE, resume."""

from __future__ import annotations

import io
import json
import os
import tarfile

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from livegen.nets.generator import load_generator
from livegen.nets.projected import ProjectedDiscriminator
from livegen.train import load_checkpoint, save_checkpoint
from livegen.train.data import GEMOJIONE_DIR, NOTO_FONT, load_split, read_noto
from livegen.train.data import main as data_main
from livegen.train.gan import GanTrainer, diff_augment, parse_augment
from livegen.train.gan import main as gan_main
from livegen.train.user_images import apply_init
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
    tgz = twemoji_tarball(tmp_path / "emoji-datasource-twitter-16.0.0.tgz", 12)
    out = tmp_path / "tw"
    assert data_main(["twemoji", "--tarball", str(tgz), "--out", str(out), "--heldout", "2",
                      "--background", "white"]) == 0
    info = json.loads((out / "dataset.json").read_text())
    assert info["attribution_required"] and "CC-BY 4.0" in info["licence"]
    assert load_split(out, "train")[:, 0, 0].min() == 255


def twemoji_tarball(path, n: int):
    """A stand-in for the npm tarball with the package's folder layout."""
    with tarfile.open(path, "w:gz") as tar:
        for i, img in enumerate(emoji_like(n, seed=1)):
            buf = io.BytesIO()
            img.save(buf, format="PNG")
            info = tarfile.TarInfo(f"package/img/twitter/64/1f60{i:x}.png")
            info.size = len(buf.getvalue())
            tar.addfile(info, io.BytesIO(buf.getvalue()))
    return path


# The Debian packages are real parts: .ci/run installs them; elsewhere the test skips without them.
emoji_packages = pytest.mark.skipif(
    not (NOTO_FONT.exists() and GEMOJIONE_DIR.is_dir()) and os.environ.get("CI") != "true",
    reason="apt install fonts-noto-color-emoji ruby-gemojione")


@emoji_packages
def test_the_emoji_source_adds_noto_and_emojione_for_a_2000_image_held_out_split(tmp_path):
    tgz = twemoji_tarball(tmp_path / "tw.tgz", 12)
    out = tmp_path / "emoji"
    assert data_main(["emoji", "--tarball", str(tgz), "--out", str(out), "--size", "16", "--heldout", "2000"]) == 0
    info = json.loads((out / "dataset.json").read_text())
    assert info["counts"]["twemoji"] == 12 and info["counts"]["noto"] > 3000 and info["counts"]["gemojione"] > 1500
    assert info["heldout"] == 2000 and info["train"] == sum(info["counts"].values()) - 2000
    for needed in ("CC-BY 4.0", "Open Font License", "CC-BY-SA 4.0"):
        assert needed in info["licence"]
    held = load_split(out, "heldout")
    assert held.shape == (2000, 16, 16, 3)
    sources = {name.split("/")[0] for name in info["heldout_names"]}
    assert sources == {"twemoji", "noto", "gemojione"}


@emoji_packages
def test_noto_bitmaps_come_out_of_the_font_as_colour_pictures():
    names, imgs = read_noto(NOTO_FONT, 32, (0, 0, 0))
    assert len(names) == len(imgs) and imgs.shape[1:] == (32, 32, 3)
    assert imgs.reshape(len(imgs), -1, 3).std(axis=1).mean() > 10  # colour, not blank glyphs


def test_missing_emoji_packages_are_named_in_the_error(tmp_path, capsys):
    tgz = twemoji_tarball(tmp_path / "tw.tgz", 4)
    rc = data_main(["emoji", "--tarball", str(tgz), "--out", str(tmp_path / "e"), "--heldout", "1",
                    "--noto-font", str(tmp_path / "none.ttf")])
    assert rc == 1 and "fonts-noto-color-emoji" in capsys.readouterr().err


def test_diff_augment_shifts_and_recolours_each_image_and_passes_gradients():
    gen = torch.Generator().manual_seed(0)
    x = torch.full((6, 3, 32, 32), -1.0)
    x[:, :, 12:20, 12:20] = 0.8
    x.requires_grad_(True)
    y = diff_augment(x, ("translation",), gen)
    assert y.shape == x.shape
    centres = [tuple(torch.nonzero(img[0] > 0).float().mean(0).tolist()) for img in y.detach()]
    assert len(set(centres)) > 1  # each image moved by its own amount
    assert y.detach().min() >= -1.0 - 1e-5  # uncovered pixels are background, not grey
    y.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    z = diff_augment(x.detach(), ("color",), gen)
    assert not torch.allclose(z[0], z[1])
    assert torch.equal(diff_augment(x.detach(), (), gen), x.detach())


def test_augment_option_is_checked_and_recorded(dataset):
    assert parse_augment("none") == () and parse_augment("color, translation") == ("color", "translation")
    with pytest.raises(ValueError, match="cutout"):
        parse_augment("cutout")
    tr = GanTrainer(images(dataset), latent_dim=8, ngf=4, ndf=4, batch=4, augment="color,translation", seed=1)
    row = tr.train_step()
    assert np.isfinite(row["loss_d"]) and tr.hparams["augment"] == "color,translation"


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



@pytest.fixture
def trunk_file(vgg, tmp_path):
    """The seeded random VGG16 trunk written where `livegen train style-data` would put the real one."""
    path = tmp_path / "vgg16_trunk.safetensors"
    save_file({k: v.contiguous() for k, v in vgg.state_dict().items()}, str(path))
    return path


def test_the_frozen_trunk_stays_out_of_the_discriminators_weights_and_passes_gradients(vgg):
    d = ProjectedDiscriminator(vgg, size=64, ndf=8, seed=0)
    assert not any(k.startswith(("conv", "_trunk")) for k in d.state_dict())
    assert {"ccm0", "ccm2", "csm0", "gain1"} <= set(d.state_dict())
    real = torch.rand(6, 3, 64, 64) * 2 - 1
    d.calibrate(real)
    assert all(abs(float(m.std()) - 1) < 1e-3 for m in d.project(real))
    fake = (torch.rand(2, 3, 64, 64) * 2 - 1).requires_grad_(True)
    logits = d(fake)
    assert logits.shape == (2, 3)  # one judgement per scale
    logits.mean().backward()
    assert fake.grad is not None and float(fake.grad.abs().sum()) > 0
    assert all(p.grad is None for p in vgg.parameters())


def test_the_same_seed_draws_the_same_random_projection(vgg):
    a, b = ProjectedDiscriminator(vgg, ndf=8, seed=4), ProjectedDiscriminator(vgg, ndf=8, seed=4)
    c = ProjectedDiscriminator(vgg, ndf=8, seed=5)
    assert torch.equal(a.ccm1, b.ccm1) and not torch.equal(a.ccm1, c.ccm1)


def test_images_too_small_for_the_heads_are_refused(vgg):
    with pytest.raises(ValueError, match="at least 32 px"):
        ProjectedDiscriminator(vgg, size=16)


def test_a_projected_gan_trains_and_resumes_to_the_same_next_step(dataset, trunk_file, tmp_path):
    kw = dict(latent_dim=8, ngf=4, ndf=4, batch=4, d_arch="projected", features=str(trunk_file),
              augment="color,translation", seed=3)
    a = GanTrainer(images(dataset), **kw)
    g0, d0 = params(a.G), params(a.D)
    for _ in range(2):
        row = a.train_step()
    assert np.isfinite(row["loss_d"]) and np.isfinite(row["loss_g"])
    assert not torch.equal(g0, params(a.G)) and not torch.equal(d0, params(a.D))
    save_checkpoint(tmp_path / "ck.safetensors", *a.state())
    row_a = a.train_step()
    b = GanTrainer(images(dataset), **{**kw, "seed": 9})  # another seed: the checkpoint must bring the projection
    b.load_state(*load_checkpoint(tmp_path / "ck.safetensors", torch.device("cpu")))
    assert b.train_step() == row_a
    assert torch.equal(params(a.D), params(b.D)) and torch.equal(a.D.ccm0, b.D.ccm0)


def test_a_wgan_critic_is_not_offered_with_patch_logits(dataset, trunk_file):
    with pytest.raises(ValueError, match="projected"):
        GanTrainer(images(dataset), latent_dim=8, ngf=4, ndf=4, loss="wgan-gp", d_arch="projected",
                   features=str(trunk_file))


def test_fine_tuning_a_pixel_gan_with_a_projected_d_keeps_its_generator(dataset, trunk_file, tmp_path):
    out, run = tmp_path / "models" / "first", tmp_path / "run"
    common = ["--data", str(dataset), "--latent", "8", "--ngf", "4", "--ndf", "4", "--batch", "4",
              "--steps", "2", "--device", "cpu"]
    assert gan_main([*common, "--out", str(out), "--run", str(run)]) == 0
    tuned = GanTrainer(images(dataset), latent_dim=8, ngf=4, ndf=4, d_arch="projected", features=str(trunk_file))
    apply_init(tuned, run / "checkpoint.safetensors")
    pixel_g = load_checkpoint(run / "checkpoint.safetensors", torch.device("cpu"))[0]
    assert torch.equal(tuned.G.state_dict()["main.0.weight"], pixel_g["G.main.0.weight"])
    assert tuned.hparams["started_from"]["model"] == str(run / "checkpoint.safetensors")


def test_a_missing_trunk_file_is_one_line_naming_it_and_the_command_that_writes_it(dataset, tmp_path):
    with pytest.raises(SystemExit) as e:
        gan_main(["--data", str(dataset), "--out", str(tmp_path / "m"), "--latent", "8", "--ngf", "4", "--ndf", "4",
                  "--steps", "1", "--d-arch", "projected", "--features", str(tmp_path / "none.safetensors")])
    assert "none.safetensors" in str(e.value) and "style-data" in str(e.value)
