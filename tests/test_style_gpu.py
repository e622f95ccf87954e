"""The prepared GPU job: `livegen train style-gpu pack` puts the style data in one archive and
`... run ARCHIVE` trains from it and exports a credited model; here on the CPU with a tiny net
(the job's own defaults are for a large CUDA GPU)."""

from __future__ import annotations

import io
import json
import tarfile

import cv2
import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from livegen.nets.style import load_style_model
from livegen.nets.vgg import VGGTrunk
from livegen.train import style_gpu


@pytest.fixture
def data(tmp_path):
    rng = np.random.default_rng(0)
    d = tmp_path / "style"
    for split, n in (("train", 6), ("heldout", 2)):
        (d / split / "photo").mkdir(parents=True)
        for i in range(n):
            img = cv2.resize(rng.integers(0, 255, (6, 8, 3), dtype=np.uint8), (640, 480), interpolation=cv2.INTER_CUBIC)
            cv2.imwrite(str(d / split / "photo" / f"p{i}.jpg"), img)
    (d / "styles").mkdir()
    for key in ("zebra", "dots"):
        cv2.imwrite(str(d / "styles" / f"{key}.jpg"), rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
    credit = {"source": "test", "licence": "CC0", "origin": "x"}
    index = {"train": [], "heldout": [], "styles": [
        {"key": "zebra", "title": "Zebra", "file": "styles/zebra.jpg", **credit},
        {"key": "dots", "title": "Dots", "file": "styles/dots.jpg", **credit}]}
    (d / "index.json").write_text(json.dumps(index))
    torch.manual_seed(0)
    save_file(VGGTrunk().state_dict(), str(tmp_path / "vgg.safetensors"))
    return d


def test_pack_then_run_trains_and_exports_a_credited_model(data, tmp_path):
    archive = tmp_path / "job.tar"
    style_gpu.pack(archive, data, tmp_path / "vgg.safetensors", log=lambda *_: None)
    assert archive.stat().st_size < 40e6, "one small archive"
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "vgg16.safetensors" in names and sum(n.startswith("train/") for n in names) == 6
    rc = style_gpu.main(["run", str(archive), "--out", str(tmp_path / "models" / "g"), "--work", str(tmp_path / "w"),
                         "--device", "cpu", "--steps", "2", "--size", "32", "--batch", "2", "--widths", "4", "8", "8",
                         "--res-blocks", "1", "--style-size", "48", "--threads", "1", "--preview-every", "0"])
    assert rc == 0
    net, manifest = load_style_model(tmp_path / "models" / "g.safetensors")
    assert manifest["training"]["steps"] == 2
    assert manifest["training"]["config"]["batch"] == 2 and manifest["training"]["config"]["size"] == 32
    assert [s["key"] for s in manifest["styles"]] == ["zebra", "dots"]
    assert manifest["styles"][0]["licence"] == "CC0", "styles keep their credits through the archive"
    assert (tmp_path / "w" / "run" / "checkpoint.safetensors").exists()


def test_an_archive_with_a_path_outside_its_folders_is_refused(tmp_path):
    bad = tmp_path / "bad.tar"
    with tarfile.open(bad, "w") as tar:
        info = tarfile.TarInfo("train/../../evil.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"bad"))
    with pytest.raises(ValueError, match="unexpected member"):
        style_gpu.unpack(bad, tmp_path / "x")
    assert not (tmp_path / "evil.txt").exists()
