"""Offline stylisation: a still, a short video file end to end, the Gatys reference, and the
measurement table's flicker figure on a real clip."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from livegen.bench.style import flicker, net_styler
from livegen.nets.fastnet import FastStyleNet
from livegen.nets.io import save_model
from livegen.nets.vgg import VGGTrunk
from livegen.stylize import gatys, parse_style
from livegen.stylize import main as stylize_main


@pytest.fixture
def model(tmp_path):
    torch.manual_seed(0)
    net = FastStyleNet(2, widths=(4, 6, 8), n_res=1)
    with torch.no_grad():
        net.out.bias.add_(torch.tensor([0.8, -0.8, 0.2]))  # a visible colour cast: the output is not the input
        for p in net.parameters():
            if p.dim() == 2:  # per-style gamma/beta rows: make the two styles differ
                p.add_(torch.randn_like(p) * 0.5)
    path = tmp_path / "two.safetensors"
    styles = [{"key": "warm", "title": "warm"}, {"key": "cold", "title": "cold"}]
    save_model(path, net.state_dict(), {"architecture": net.architecture(), "styles": styles})
    return path


def write_video(path, frames=9, size=(96, 72)):
    """A real MJPG file: a square moving over a gradient."""
    w, h = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 12.0, size)
    assert writer.isOpened()
    yy, xx = np.mgrid[0:h, 0:w]
    for i in range(frames):
        img = np.stack([xx * 2, yy * 3, np.full_like(xx, 90)], -1).astype(np.uint8)
        cv2.rectangle(img, (5 + 6 * i, 10), (25 + 6 * i, 30), (255, 255, 255), -1)
        writer.write(img)
    writer.release()
    return path


def count_frames(path):
    cap = cv2.VideoCapture(str(path))
    n, shape = 0, None
    while True:
        ok, img = cap.read()
        if not ok:
            break
        n, shape = n + 1, img.shape
    cap.release()
    return n, shape


def test_a_short_video_file_is_stylised_end_to_end(tmp_path, model):
    src = write_video(tmp_path / "clip.avi")
    dst = tmp_path / "out" / "styled.avi"
    rc = stylize_main([str(src), "--model", str(model), "--style", "cold", "-o", str(dst), "--no-progress"])
    assert rc == 0
    n, shape = count_frames(dst)
    assert n == 9 and shape[:2] == (72, 96)
    cap = cv2.VideoCapture(str(src))
    _, first_in = cap.read()
    cap.release()
    cap = cv2.VideoCapture(str(dst))
    _, first_out = cap.read()
    cap.release()
    assert np.abs(first_in.astype(int) - first_out.astype(int)).mean() > 10


def test_a_still_is_stylised_and_styles_differ(tmp_path, model):
    img = np.random.default_rng(0).integers(0, 255, (61, 83, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "in.png"), img)
    outs = []
    for style in ("1", "2", "1:0.5,2:0.5"):
        out = tmp_path / f"out{len(outs)}.png"
        assert stylize_main([str(tmp_path / "in.png"), "--model", str(model), "--style", style, "-o", str(out)]) == 0
        outs.append(cv2.imread(str(out)).astype(int))
        assert outs[-1].shape == img.shape
    assert np.abs(outs[0] - outs[1]).mean() > 1


def test_bad_inputs_are_reported_not_raised(tmp_path, model, capsys):
    assert stylize_main([str(tmp_path / "none.png"), "--model", str(model), "-o", str(tmp_path / "o.png")]) == 1
    img = np.zeros((20, 20, 3), np.uint8)
    cv2.imwrite(str(tmp_path / "in.png"), img)
    assert stylize_main([str(tmp_path / "in.png"), "--model", str(model), "--style", "9",
                         "-o", str(tmp_path / "o.png")]) == 1
    assert stylize_main([str(tmp_path / "in.png"), "--model", str(tmp_path / "missing"),
                         "-o", str(tmp_path / "o.png")]) == 1
    err = capsys.readouterr().err
    assert "styles 1..2" in err and "not found" in err


def test_style_specs_by_number_key_and_weights():
    keys = ["starry", "scream", "elephants"]
    assert parse_style("2", keys) == [0, 1, 0]
    assert parse_style("elephants", keys) == [0, 0, 1]
    assert parse_style("1:0.25,scream:0.75", keys) == [0.25, 0.75, 0]
    with pytest.raises(ValueError):
        parse_style("picasso", keys)


def test_gatys_optimisation_moves_the_picture_toward_the_style():
    from livegen.bench.style import Evaluator

    torch.manual_seed(0)
    vgg = VGGTrunk()
    for m in vgg.modules():
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(m.weight)
    content = torch.rand(1, 3, 32, 32) * 0.3
    yy, xx = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
    style = torch.stack([(torch.sin(xx) > 0).float(), (torch.cos(yy) > 0).float(), 0 * xx]).unsqueeze(0)
    ev = Evaluator(vgg, [style])
    before = ev(content, content, 0)[1]
    out = gatys(content, style, vgg, steps=8)
    after = ev(out, content, 0)[1]
    assert out.shape == content.shape and after < before


def test_flicker_is_positive_on_a_moving_clip_and_a_still_clip_gives_the_same_picture(model):
    from livegen.nets.style import load_style_model

    net, _ = load_style_model(model)
    frame = torch.rand(1, 3, 48, 64)
    still = [frame.clone() for _ in range(4)]
    moving = [torch.rand(1, 3, 48, 64) for _ in range(4)]
    assert flicker(net_styler(net, 0, 0.5), moving) > 0
    out = [net_styler(net, 0, 0.5)(f) for f in still]
    assert all(torch.equal(out[0], o) for o in out), "the same frame gives the same picture"


def test_color_one_keeps_an_orange_photo_orange(tmp_path, model):
    """`stylize --color 1`: the strokes' luminance with the camera's own colours."""
    img = np.zeros((48, 64, 3), np.uint8)
    img[...] = (30, 115, 205)  # BGR: an orange picture
    img[::8] = (20, 80, 150)  # with some structure for the net to paint on
    cv2.imwrite(str(tmp_path / "in.png"), img)
    outs = {}
    for color in ("0", "1"):
        out = tmp_path / f"c{color}.png"
        assert stylize_main([str(tmp_path / "in.png"), "--model", str(model), "--color", color, "-o", str(out)]) == 0
        outs[color] = cv2.imread(str(out)).astype(float).mean(axis=(0, 1))
    b, _, r = outs["1"]
    assert r > b + 60, f"kept colours stay orange: {outs['1']}"
    assert abs(outs["0"] - outs["1"]).sum() > 10, "at 0 the model's own colour cast shows"
