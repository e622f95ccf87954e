"""Your own pictures, one command: `livegen train gan|vae --images FOLDER` builds the dataset, trains with
previews and checkpoints, resumes, exports NAME.safetensors + manifest; `--init` continues a shipped model."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from livegen.nets.generator import DCGANGenerator, load_generator
from livegen.params import ParameterStore
from livegen.patch import load_patch
from livegen.size import Size
from livegen.stages import default_registry
from livegen.stages.generator import GeneratorStage
from livegen.train.gan import GanTrainer
from livegen.train.gan import main as gan_main
from livegen.train.user_images import apply_init
from livegen.train.vae import main as vae_main

TINY = ["--size", "64", "--latent", "8", "--batch", "4", "--crops", "48", "--heldout-crops", "8",
        "--sample-every", "2", "--log-every", "1", "--device", "cpu", "--threads", "1"]


@pytest.fixture
def photos(tmp_path):
    """A folder of real photos (scikit-image's samples), as a user would have, plus one broken file."""
    skdata = pytest.importorskip("skimage.data")
    folder = tmp_path / "my photos"
    folder.mkdir()
    for name in ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "immunohistochemistry"):
        Image.fromarray(getattr(skdata, name)()).save(folder / f"{name}.jpg")
    (folder / "notes.txt").write_text("not a picture")
    (folder / "broken.png").write_bytes(b"\x89PNG not really")
    return folder


def test_a_folder_of_photos_becomes_a_model_in_one_command(photos, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "models" / "mine"
    assert gan_main(["--images", str(photos), "--out", str(out), "--steps", "3", "--ngf", "4", "--ndf", "4",
                     *TINY]) == 0
    data = tmp_path / "data" / "mine"  # default dataset folder: data/NAME
    info = json.loads((data / "dataset.json").read_text())
    assert info["train"] == 48 and info["heldout"] == 8 and info["sources"] == 6  # broken file skipped
    held = [s for s in json.loads((data / "sources.json").read_text()) if s["split"] == "heldout"]
    assert len(held) == 1  # one photo of six kept apart whole
    net, manifest = load_generator(out.with_suffix(".safetensors"))
    assert net.size == 64 and manifest["training"]["steps"] == 3
    assert manifest["dataset"]["images"] == str(photos.resolve())
    run = tmp_path / "runs" / "mine"
    assert (run / "checkpoint.safetensors").exists() and (run / "samples" / "step_000002.png").exists()
    assert "3/3" in capsys.readouterr().out  # the progress bar

    # Ready to name in a patch: the show draws with it.
    (tmp_path / "mine.toml").write_text('[generator]\nmodel = "models/mine"\n')
    stage = GeneratorStage(load_patch(tmp_path / "mine.toml").generator, torch.device("cpu"), base=tmp_path)
    assert stage.available and stage.status.startswith("generator: mine (GAN, 64 px, z=8)")
    frame = stage(ParameterStore(default_registry()).snapshot(0.0), None, Size(320, 240))
    assert frame.shape == (1, 3, 240, 320)

    # The same command with --resume continues (same crops, not rebuilt) up to the new step budget.
    before = (data / "train.npy").stat().st_mtime_ns
    assert gan_main(["--images", str(photos), "--out", str(out), "--steps", "5", "--ngf", "4", "--ndf", "4",
                     "--resume", *TINY]) == 0
    assert (data / "train.npy").stat().st_mtime_ns == before
    manifest = json.loads(out.with_suffix(".json").read_text())
    assert manifest["training"]["steps"] == 5 and len(manifest["training"]["resumed_with"]) == 1


def test_the_vae_takes_the_same_folder(photos, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "models" / "minevae"
    assert vae_main(["--images", str(photos), "--out", str(out), "--steps", "2", "--ch", "4", *TINY]) == 0
    net, manifest = load_generator(out.with_suffix(".safetensors"))
    assert net.kind == "vae" and manifest["dataset"]["path"] == "data/minevae"


def test_without_data_or_images_the_trainer_says_what_to_give(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit, match="--images"):
        gan_main(["--out", "models/x", "--steps", "1"])


def test_init_continues_from_a_shipped_model_or_a_checkpoint(photos, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = tmp_path / "models" / "first"
    assert gan_main(["--images", str(photos), "--out", str(first), "--steps", "2", "--ngf", "4", "--ndf", "4",
                     *TINY]) == 0
    shipped, _ = load_generator(first.with_suffix(".safetensors"))
    # A new run named differently starts from the shipped weights, not from random ones.
    images = torch.zeros(8, 3, 64, 64, dtype=torch.uint8)
    tr = GanTrainer(images, latent_dim=8, ngf=4, ndf=4, size=64, batch=4)
    apply_init(tr, first)  # "models/first" without the suffix works too
    z = torch.randn(4, 8)
    with torch.no_grad():
        assert torch.allclose(tr.G_ema.eval().generate(z), shipped.generate(z), atol=1e-6)
    assert tr.hparams["started_from"]["model"] == str(first)
    assert tr.hparams["started_from"]["training"]["steps"] == 2  # from the shipped model's manifest
    # A run checkpoint also brings the discriminator.
    tr2 = GanTrainer(images, latent_dim=8, ngf=4, ndf=4, size=64, batch=4, seed=5)
    apply_init(tr2, tmp_path / "runs" / "first" / "checkpoint.safetensors")
    d_before = {k: v.clone() for k, v in tr.D.state_dict().items()}
    assert any(not torch.equal(d_before[k], v) for k, v in tr2.D.state_dict().items())
    assert tr2.hparams["started_from"]["training"]["command"].startswith("livegen train gan --images")
    # Through the command line, and a wrong architecture is a clear error.
    second = tmp_path / "models" / "second"
    assert gan_main(["--images", str(photos), "--out", str(second), "--steps", "1", "--ngf", "4", "--ndf", "4",
                     "--init", str(first), *TINY]) == 0
    started = json.loads(second.with_suffix(".json").read_text())["training"]["started_from"]
    assert started["model"] == str(first) and started["training"]["steps"] == 2
    # Resuming that run keeps the record of where it started.
    assert gan_main(["--images", str(photos), "--out", str(second), "--steps", "2", "--ngf", "4", "--ndf", "4",
                     "--init", str(first), "--resume", *TINY]) == 0
    training = json.loads(second.with_suffix(".json").read_text())["training"]
    assert training["steps"] == 2 and training["started_from"] == started
    with pytest.raises(SystemExit, match="does not fit"):
        gan_main(["--images", str(photos), "--out", str(tmp_path / "models" / "third"), "--steps", "1",
                  "--ngf", "8", "--ndf", "4", "--init", str(first), *TINY])


def test_the_256_px_generator_exists_for_gpu_training():
    net = DCGANGenerator(latent_dim=8, ngf=4, size=256)
    with torch.no_grad():
        img = net.generate(torch.randn(2, 8))
    assert img.shape == (2, 3, 256, 256) and np.isfinite(img.numpy()).all()
