"""The style layer as the show uses it: any frame size, fader and weights, strength, stability,
and a missing or broken model that never stops the show."""

from __future__ import annotations

import json

import pytest
import torch

from livegen.config import ConfigError
from livegen.nets.fastnet import FastStyleNet
from livegen.nets.io import ModelError, save_model
from livegen.nets.style import build_net
from livegen.nets.transformer_net import TransformerNet
from livegen.params import ParameterStore, ParamRegistry
from livegen.stages.style import PARAMS, SPECS, StyleConfig, StyleStage, run_net


def make_snap(**values):
    store = ParameterStore(ParamRegistry(PARAMS))
    for k, v in values.items():
        store.set(k.replace("_", "."), v, immediate=True)
    return store.snapshot(0.0)


def tiny_fast(n_styles: int = 3) -> FastStyleNet:
    torch.manual_seed(0)
    net = FastStyleNet(n_styles, widths=(4, 6, 8), n_res=1)
    # Distinct per-style affine rows so styles really differ.
    with torch.no_grad():
        for p in net.parameters():
            if p.dim() == 2:
                p.add_(torch.randn_like(p) * 0.5)
    return net.eval()


def save_tiny(tmp_path, net, name="tiny") -> str:
    path = tmp_path / f"{name}.safetensors"
    styles = [{"key": k, "title": k, "licence": "test"} for k in ("a", "b", "c")[: net.n_styles]]
    save_model(path, net.state_dict(), {"architecture": net.architecture(), "styles": styles})
    return str(path)


@pytest.mark.parametrize("make", [tiny_fast, lambda: TransformerNet(2).eval()], ids=["fast", "transformer"])
@pytest.mark.parametrize("scale", [1.0, 0.5])
def test_both_nets_return_a_frame_of_the_input_size_at_odd_sizes(make, scale):
    """A 250x333 camera frame comes back 250x333, whatever the net's internal multiple."""
    net = make()
    frame = torch.rand(1, 3, 250, 333)
    w = torch.zeros(1, net.n_styles)
    w[0, 0] = 1
    with torch.no_grad():
        out = run_net(net, frame, w, scale=scale)
    assert out.shape == frame.shape
    assert 0.0 <= float(out.min()) and float(out.max()) <= 1.0


def test_the_layer_handles_odd_frames_with_the_transformer_too(tmp_path):
    torch.manual_seed(0)
    path = save_tiny(tmp_path, TransformerNet(1).eval(), "tn")
    layer = StyleStage(StyleConfig(model=path), torch.device("cpu"))
    assert layer.available, layer.status
    frame = torch.rand(1, 3, 251, 333)
    assert layer(make_snap(style_scale=1.0), frame).shape == frame.shape


def test_fader_ends_equal_the_pure_styles(tmp_path):
    """style.mix 0 is style.a exactly, 1 is style.b exactly; halfway is neither."""
    net = tiny_fast()
    layer = StyleStage(StyleConfig(model=save_tiny(tmp_path, net), runtime="torch"), torch.device("cpu"))
    frame = torch.rand(1, 3, 64, 80)
    pure = []
    for k in range(3):
        w = torch.zeros(1, 3)
        w[0, k] = 1
        with torch.no_grad():
            pure.append(run_net(net, frame, w, scale=SPECS["style.scale"].default))
    snap0 = make_snap(style_mix=0.0, style_a=1, style_b=3, style_stabilize=0.0)
    snap1 = make_snap(style_mix=1.0, style_a=1, style_b=3, style_stabilize=0.0)
    half = make_snap(style_mix=0.5, style_a=1, style_b=3, style_stabilize=0.0)
    assert torch.equal(layer(snap0, frame), pure[0])
    assert torch.equal(layer(snap1, frame), pure[2])
    mid = layer(half, frame)
    assert not torch.allclose(mid, pure[0], atol=1e-3) and not torch.allclose(mid, pure[2], atol=1e-3)


def test_weights_mode_picks_and_blends_styles(tmp_path):
    net = tiny_fast()
    layer = StyleStage(StyleConfig(model=save_tiny(tmp_path, net), runtime="torch"), torch.device("cpu"))
    frame = torch.rand(1, 3, 48, 64)
    w = torch.tensor([[0.0, 1.0, 0.0]])
    with torch.no_grad():
        second = run_net(net, frame, w, scale=SPECS["style.scale"].default)
    only2 = make_snap(style_mode="weights", style_w1=0.0, style_w2=0.7, style_stabilize=0.0)
    assert torch.equal(layer(only2, frame), second)
    none = make_snap(style_mode="weights", style_w1=0.0, style_stabilize=0.0)
    with torch.no_grad():
        first = run_net(net, frame, torch.tensor([[1.0, 0.0, 0.0]]), scale=SPECS["style.scale"].default)
    assert torch.equal(layer(none, frame), first), "all weights at zero falls back to style 1"


def test_strength_zero_gives_the_input_and_half_is_between(tmp_path):
    layer = StyleStage(StyleConfig(model=save_tiny(tmp_path, tiny_fast())), torch.device("cpu"))
    frame = torch.rand(1, 3, 50, 70)
    assert torch.equal(layer(make_snap(style_strength=0.0), frame), frame)
    full = layer(make_snap(style_strength=1.0, style_stabilize=0.0), frame)
    half = layer(make_snap(style_strength=0.5, style_stabilize=0.0), frame)
    assert torch.allclose(half, 0.5 * frame + 0.5 * full, atol=1e-6)


def test_the_layer_is_deterministic_on_cpu(tmp_path):
    path = save_tiny(tmp_path, tiny_fast())
    frame = torch.rand(1, 3, 60, 90)
    a = StyleStage(StyleConfig(model=path), torch.device("cpu"))(make_snap(), frame)
    b = StyleStage(StyleConfig(model=path), torch.device("cpu"))(make_snap(), frame)
    assert torch.equal(a, b)


def test_stabilize_keeps_the_rest_of_the_picture_still_when_something_enters(tmp_path):
    """A bright object entering one corner shifts every instance-norm statistic, so without
    smoothing the whole picture changes; with stabilize the untouched part stays calmer."""
    path = save_tiny(tmp_path, tiny_fast())
    torch.manual_seed(1)
    f1 = torch.rand(1, 3, 64, 64) * 0.5
    f2 = f1.clone()
    f2[:, :, :24, :24] = 1.0
    steady = StyleStage(StyleConfig(model=path), torch.device("cpu"))
    smooth = StyleStage(StyleConfig(model=path), torch.device("cpu"))
    off, on = make_snap(style_stabilize=0.0, style_scale=1.0), make_snap(style_stabilize=0.9, style_scale=1.0)
    a1, b1 = steady(off, f1), smooth(on, f1)
    assert torch.allclose(a1, b1, atol=1e-5), "the first frame has no history to smooth with"
    a2, b2 = steady(off, f2), smooth(on, f2)
    rest = (slice(None), slice(None), slice(40, None), slice(40, None))
    assert (b2 - b1)[rest].abs().mean() < (a2 - a1)[rest].abs().mean()


def test_no_model_passes_frames_through_and_says_so():
    layer = StyleStage(StyleConfig(model=""), torch.device("cpu"))
    frame = torch.rand(1, 3, 20, 30)
    assert not layer.available and "no model" in layer.status
    assert layer(make_snap(), frame) is frame


def test_missing_and_corrupt_models_never_raise(tmp_path, caplog):
    missing = StyleStage(StyleConfig(model=str(tmp_path / "nope.safetensors")), torch.device("cpu"))
    assert not missing.available and "passing frames through (model file not found)" in missing.status
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00garbage" * 10)
    (tmp_path / "bad.json").write_text(json.dumps({"architecture": {"kind": "fast-cin", "n_styles": 3}}))
    corrupt = StyleStage(StyleConfig(model=str(bad)), torch.device("cpu"))
    assert not corrupt.available
    frame = torch.rand(1, 3, 20, 30)
    assert corrupt(make_snap(), frame) is frame
    # Weights that do not fit the architecture the manifest claims.
    path = save_tiny(tmp_path, tiny_fast(), "wrong")
    (tmp_path / "wrong.json").write_text(json.dumps({"architecture": {"kind": "fast-cin", "n_styles": 3,
                                                                      "widths": [8, 8, 8], "n_res": 1}}))
    wrong = StyleStage(StyleConfig(model=path), torch.device("cpu"))
    assert not wrong.available and "unusable" in wrong.status
    assert any("wrong.safetensors" in r.getMessage() for r in caplog.records)


def test_unknown_architecture_is_a_model_error():
    from livegen.nets.io import ModelError

    with pytest.raises(ModelError):
        build_net({"kind": "diffusion"})


def test_params_are_all_style_params_with_the_kept_names():
    names = {p.name for p in PARAMS}
    assert {"style.mix", "style.strength", "style.scale", "style.stabilize", "style.mode", "style.w1"} <= names
    assert all(n.startswith("style.") for n in names)


def test_a_repeated_camera_frame_is_not_styled_twice_but_a_changed_one_is(tmp_path):
    """The display repaints faster than the camera: the same frame and settings reuse the picture."""
    layer = StyleStage(StyleConfig(model=save_tiny(tmp_path, tiny_fast())), torch.device("cpu"))
    frame = torch.rand(1, 3, 40, 56)
    snap = make_snap(style_stabilize=0.0)
    first = layer(snap, frame)
    assert layer(snap, frame) is first
    frame.mul_(0.5)  # the camera buffer was overwritten in place
    again = layer(snap, frame)
    assert again is not first and not torch.equal(again, first)
    assert not torch.equal(layer(make_snap(style_stabilize=0.0, style_mix=1.0), frame), again)


def test_every_upsampler_returns_the_frame_size_and_a_bad_name_is_a_patch_error():
    from livegen.config import ConfigError

    net = tiny_fast()
    frame = torch.rand(1, 3, 121, 157)
    w = torch.tensor([[0.0, 0.0, 1.0]])
    outs = {}
    for mode in ("detail", "guided", "bilinear"):
        with torch.no_grad():
            outs[mode] = run_net(net, frame, w, scale=0.5, upsample=mode)
        assert outs[mode].shape == frame.shape
    assert not torch.equal(outs["detail"], outs["bilinear"]), "detail transfer adds the frame's fine detail"
    with pytest.raises(ConfigError, match="upsample"):
        StyleConfig(upsample="lanczos")


def test_stabilize_holds_still_regions_but_follows_motion_at_once():
    """Output smoothing: a pixel whose camera value stayed put keeps most of its old look; a
    pixel where something moved takes the new picture immediately (no ghost)."""
    from livegen.stages.style import OutputSmoother

    sm = OutputSmoother()
    frame1 = torch.full((1, 3, 4, 8), 0.5)
    frame2 = frame1.clone()
    frame2[..., 4:] = 1.0  # the right half changed clearly
    out1 = torch.zeros(1, 3, 4, 8)
    out2 = torch.ones(1, 3, 4, 8)  # the net's new picture differs everywhere
    sm(frame1, out1, 0.6)
    res = sm(frame2, out2, 0.6)
    assert torch.allclose(res[..., :4], torch.full_like(res[..., :4], 0.4))  # 1 - 0.6 of the way
    assert torch.equal(res[..., 4:], out2[..., 4:])
    off = OutputSmoother()
    off(frame1, out1, 0.0)
    assert torch.equal(off(frame2, out2, 0.0), out2)


def test_new_nets_use_reflection_padding_and_need_no_runtime_margin():
    net = FastStyleNet(2, widths=(4, 6, 8), n_res=1)
    assert net.architecture()["pad"] == "reflect" and net.border == 0
    assert all(m.padding_mode == "reflect" for m in net.modules() if isinstance(m, torch.nn.Conv2d))


def test_models_saved_before_the_pad_field_load_as_zero_padded_with_their_margin():
    old = build_net({"kind": "fast-cin", "n_styles": 3, "widths": [4, 6, 8], "n_res": 1})
    assert old.pad == "zeros" and old.border == 8
    with pytest.raises(ModelError, match="pad"):
        build_net({"kind": "fast-cin", "n_styles": 3, "pad": "circular"})


def test_a_reflection_padded_net_paints_no_frame_line_on_a_flat_picture():
    """A flat grey frame has nothing at its edges; a zero-padded net darkens or brightens the
    border rows, a reflection-padded one (random weights, any style) keeps them like the middle."""
    torch.manual_seed(0)
    net = FastStyleNet(1, widths=(8, 12, 16), n_res=1).eval()
    with torch.no_grad():
        out = net(torch.full((1, 3, 64, 64), 0.5), torch.ones(1, 1))
    middle = out[..., 24:40, 24:40].mean()
    assert torch.allclose(out[..., 0, :].mean(), middle, atol=1e-3)
    assert torch.allclose(out[..., :, -1].mean(), middle, atol=1e-3)


def test_onnx_runtime_plays_the_same_picture_as_torch_frame_after_frame_with_stabilisation(tmp_path):
    """The default CPU runtime is ONNX Runtime (faster here); it must paint what the torch net paints,
    including the smoothed norm statistics carried from frame to frame."""
    path = save_tiny(tmp_path, tiny_fast())
    fast = StyleStage(StyleConfig(model=path), torch.device("cpu"))
    plain = StyleStage(StyleConfig(model=path, runtime="torch"), torch.device("cpu"))
    assert fast.status.endswith("· onnxruntime") and plain.status.endswith("· torch")
    torch.manual_seed(3)
    base = torch.rand(1, 3, 72, 96)
    for i, stabilize in enumerate([0.75] * 5 + [0.0] * 2 + [0.5] * 3):
        frame = (base + 0.05 * i).clamp(0, 1)  # a slowly changing camera picture
        snap = make_snap(style_mix=0.3, style_a=1, style_b=2, style_stabilize=stabilize)
        a, b = fast(snap, frame), plain(snap, frame)
        assert a.shape == b.shape == frame.shape
        assert (a - b).abs().max() < 1e-4, f"frame {i}"


def test_an_unknown_runtime_is_a_patch_error():
    with pytest.raises(ConfigError, match="runtime"):
        StyleConfig(model="x", runtime="tensorrt")


def test_turning_style_color_up_keeps_the_camera_colours_under_the_strokes(tmp_path):
    from livegen.stages.color import luma

    layer = StyleStage(StyleConfig(model=save_tiny(tmp_path, tiny_fast())), torch.device("cpu"))
    frame = torch.zeros(1, 3, 48, 64)
    frame[:, 0] = 0.8  # an orange camera picture
    frame[:, 1] = 0.45
    frame[:, 2] = 0.1
    styled = layer(make_snap(style_color=0.0, style_stabilize=0.0), frame)
    kept = layer(make_snap(style_color=1.0, style_stabilize=0.0), frame)
    camera_chroma = frame - luma(frame)
    assert (kept - luma(kept) - camera_chroma).abs().mean() < 0.02, "the camera's chroma comes through"
    assert (luma(kept) - luma(styled)).abs().mean() < 0.02, "the strokes' luminance stays"
    assert (styled - luma(styled) - camera_chroma).abs().mean() > 0.02, "at 0 the style's own colours show"
