"""Generator networks as a performer meets them: files that load, files that don't, and imports."""

from __future__ import annotations

import json

import pytest
import torch

from livegen.nets.generator import VAE, DCGANGenerator, Discriminator, build, load_generator, save_generator
from livegen.nets.io import ModelError
from livegen.train.import_dcgan import import_dcgan
from livegen.train.import_dcgan import main as import_main


def test_generators_draw_images_in_unit_range_at_native_size():
    for net in (DCGANGenerator(8, 4, 64), DCGANGenerator(8, 4, 128), VAE(8, 4, 64), VAE(8, 4, 128)):
        with torch.no_grad():
            img = net.eval().generate(torch.randn(2, 8))
        assert img.shape == (2, 3, net.size, net.size)
        assert 0.0 <= float(img.min()) and float(img.max()) <= 1.0


def test_vae_encodes_any_size_camera_frame_to_its_latent():
    vae = VAE(16, 4, 64).eval()
    z = vae.encode(torch.rand(1, 3, 120, 160))
    assert z.shape == (1, 16)


def test_discriminator_gives_one_score_per_image_with_each_norm():
    for norm in ("sn", "bn", "none"):
        assert Discriminator(4, 64, norm)(torch.rand(3, 3, 64, 64) * 2 - 1).shape == (3,)


def test_saved_generator_loads_back_identically(tmp_path):
    net = DCGANGenerator(8, 4, 64).eval()
    path = save_generator(tmp_path / "g", net, {"name": "g", "licence": "test"})
    loaded, manifest = load_generator(path)
    assert manifest["architecture"] == {"kind": "dcgan", "latent_dim": 8, "ngf": 4, "size": 64}
    z = torch.randn(1, 8)
    assert torch.equal(net.generate(z), loaded.generate(z))


def test_truncated_file_is_a_clear_error_naming_the_file(tmp_path):
    path = save_generator(tmp_path / "g", DCGANGenerator(8, 4, 64), {"name": "g"})
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(ModelError, match="g.safetensors"):
        load_generator(path)


def test_manifest_that_does_not_match_the_weights_is_a_clear_error(tmp_path):
    path = save_generator(tmp_path / "g", DCGANGenerator(8, 4, 64), {"name": "g"})
    manifest = json.loads(path.with_suffix(".json").read_text())
    manifest["architecture"]["ngf"] = 8
    path.with_suffix(".json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match="shape mismatch"):
        load_generator(path)


def test_unknown_architecture_kind_is_rejected():
    with pytest.raises(ValueError, match="unknown generator kind"):
        build({"kind": "stylegan9"})


def tutorial_state_dict(nz: int = 100, ngf: int = 64) -> dict[str, torch.Tensor]:
    """The exact key names and shapes of the PyTorch DCGAN tutorial's netG.state_dict()."""
    sd: dict[str, torch.Tensor] = {}
    chans = [nz, ngf * 8, ngf * 4, ngf * 2, ngf, 3]
    for i in range(5):
        sd[f"main.{3 * i}.weight"] = torch.randn(chans[i], chans[i + 1], 4, 4) * 0.02
        if i < 4:
            c = chans[i + 1]
            bn = 3 * i + 1
            sd[f"main.{bn}.weight"] = 1 + 0.02 * torch.randn(c)
            sd[f"main.{bn}.bias"] = torch.zeros(c)
            sd[f"main.{bn}.running_mean"] = torch.zeros(c)
            sd[f"main.{bn}.running_var"] = torch.ones(c)
            sd[f"main.{bn}.num_batches_tracked"] = torch.tensor(100)
    return sd


def test_dcgan_tutorial_checkpoint_imports_from_pth_and_plays(tmp_path):
    src = tmp_path / "netG_epoch_24.pth"
    torch.save({"netG": tutorial_state_dict()}, src)
    out = import_dcgan(src, tmp_path / "models" / "artist")
    net, manifest = load_generator(out)
    assert (net.latent_dim, net.size) == (100, 64)
    assert manifest["source"]["file"] == "netG_epoch_24.pth"
    img = net.generate(torch.randn(1, 100))
    assert img.shape == (1, 3, 64, 64) and torch.isfinite(img).all()


def test_dcgan_tutorial_checkpoint_imports_from_safetensors(tmp_path):
    from safetensors.torch import save_file

    src = tmp_path / "netG.safetensors"
    save_file({"module." + k: v for k, v in tutorial_state_dict(nz=32, ngf=8).items()}, str(src))
    assert import_main([str(src), "--out", str(tmp_path / "m")]) == 0
    net, _ = load_generator(tmp_path / "m.safetensors")
    assert (net.latent_dim, net.ngf) == (32, 8)


def test_pickled_whole_model_is_refused_not_executed(tmp_path, capsys):
    src = tmp_path / "whole_model.pt"
    torch.save(DCGANGenerator(8, 4, 64), src)  # a pickled module, not a state_dict
    assert import_main([str(src), "--out", str(tmp_path / "m")]) == 2
    assert "weights-only" in capsys.readouterr().err
    assert not (tmp_path / "m.safetensors").exists()


def test_wrong_shaped_checkpoint_says_what_does_not_fit(tmp_path):
    sd = tutorial_state_dict()
    sd["main.4.weight"] = torch.ones(7)
    src = tmp_path / "bad.pth"
    torch.save(sd, src)
    with pytest.raises(ModelError, match="shape mismatch at main.4.weight"):
        import_dcgan(src, tmp_path / "m")


def test_vae_fitted_prior_maps_unit_latents_onto_the_training_codes():
    torch.manual_seed(0)
    vae = VAE(8, 4, 64).eval()
    images = torch.rand(64, 3, 64, 64) * torch.linspace(0, 1, 64).reshape(64, 1, 1, 1)
    with torch.no_grad():
        mu = vae.stats(images)[0]
        vae.fit_prior(images)
        whitened = vae.encode(images)
        # Training codes become ~zero-mean, ~unit-spread in the played latent space ...
        assert whitened.mean(0).abs().max() < 1e-4
        # ... and encode -> generate is still a reconstruction through the posterior mean.
        direct = torch.sigmoid(vae.decode_logits(mu))
        assert torch.allclose(vae.generate(whitened), direct, atol=1e-5)
        vae.reset_prior()
        assert torch.allclose(vae.encode(images), mu)


def test_half_precision_file_is_half_the_size_and_plays_the_same_picture(tmp_path):
    torch.manual_seed(1)
    net = VAE(8, 8, 64).eval()
    full = save_generator(tmp_path / "full", net, {"name": "full"})
    half = save_generator(tmp_path / "half", net, {"name": "half"}, half=True)
    assert half.stat().st_size < 0.6 * full.stat().st_size
    loaded, manifest = load_generator(half)
    assert manifest["weights_dtype"] == "float16" and loaded.prior_chol.dtype == torch.float32
    z = torch.randn(2, 8)
    with torch.no_grad():
        assert (loaded.generate(z) - net.generate(z)).abs().max() < 0.02
