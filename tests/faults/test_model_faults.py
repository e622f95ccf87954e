"""Hostile and broken model files: each is refused with one line naming the file, before any
memory is spent on it, and the show goes on without that layer."""

from __future__ import annotations

import json
import resource
import time

import pytest
import torch

from livegen.engine import Engine
from livegen.nets.fastnet import FastStyleNet
from livegen.nets.generator import DCGANGenerator, load_generator, save_generator
from livegen.nets.io import ModelError, save_model
from livegen.nets.style import load_style_model
from livegen.patch import parse_patch


@pytest.fixture
def style_model(tmp_path):
    torch.manual_seed(0)
    net = FastStyleNet(2, widths=(4, 6, 8), n_res=1)
    path = tmp_path / "tiny.safetensors"
    save_model(path, net.state_dict(), {"architecture": net.architecture(),
                                        "styles": [{"key": "a"}, {"key": "b"}]})
    return path


def rewrite_manifest(path, change):
    manifest_file = path.with_suffix(".json")
    manifest = json.loads(manifest_file.read_text())
    change(manifest)
    manifest_file.write_text(json.dumps(manifest))


@pytest.mark.parametrize("change, message", [
    (lambda m: m["architecture"].update(n_res=10**6), "architecture.n_res = 1000000 is outside 0..32"),
    (lambda m: m["architecture"].update(n_res=2**40), "outside 0..32"),
    (lambda m: m["architecture"].update(widths=[4, -6, 8]), "architecture.widths = -6 is outside"),
    (lambda m: m["architecture"].update(n_styles=0), "architecture.n_styles = 0"),
    (lambda m: m["architecture"].update(n_res=2), "weights do not fit the architecture"),
    (lambda m: m.update(styles={"a": 1}), "'styles' must be a list of objects"),
    (lambda m: m["architecture"].update(widths=[[4, 6, 8]]), "must be a number"),
])
def test_a_manifest_that_lies_about_the_net_is_refused_before_allocating(style_model, change, message):
    rewrite_manifest(style_model, change)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    with pytest.raises(ModelError, match=message) as err:
        load_style_model(style_model)
    assert str(style_model.with_suffix("")) in str(err.value)
    assert time.perf_counter() - t0 < 5.0
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000, "under 200 MB more memory"


@pytest.mark.parametrize("text, message", [
    ('{"architecture": {"kind": "fast-cin", "n_res": Infinity}}', "not a number JSON allows"),
    ('{"architecture": {"kind": "fast-cin", "n_res": NaN}}', "not a number JSON allows"),
    ('{"architecture": {"kind": "fast-cin", "n_res": ' + "9" * 5000 + "}}", "not valid JSON"),
    ('{"architecture": {}, "x": ' + "[" * 100_000 + "]" * 100_000 + "}", "not valid JSON"),
    ('{"architecture": {}, "x": ' + "[" * 40 + "]" * 40 + "}", "nested more than 16 levels"),
    ("[1, 2]", "no 'architecture' object"),
])
def test_a_hostile_manifest_text_is_one_model_error(style_model, text, message):
    style_model.with_suffix(".json").write_text(text)
    with pytest.raises(ModelError, match=message):
        load_style_model(style_model)


def test_a_huge_manifest_file_is_not_read_whole(style_model):
    style_model.with_suffix(".json").write_text('{"architecture": {}, "pad": "' + "x" * (2 << 20) + '"}')
    with pytest.raises(ModelError, match="larger than 1048576 bytes"):
        load_style_model(style_model)


def test_nan_weights_are_refused_for_style_and_generator_models(tmp_path, style_model):
    tensors = {k: v.clone() for k, v in FastStyleNet(2, widths=(4, 6, 8), n_res=1).state_dict().items()}
    first = next(k for k, v in tensors.items() if v.is_floating_point())
    tensors[first].fill_(float("nan"))
    manifest = json.loads(style_model.with_suffix(".json").read_text())
    save_model(style_model, tensors, manifest)
    with pytest.raises(ModelError, match="holds NaN/inf values"):
        load_style_model(style_model)
    gen = DCGANGenerator(8, 8, 64)
    with torch.no_grad():
        next(gen.parameters()).fill_(float("inf"))
    path = save_generator(tmp_path / "gan.safetensors", gen, {})
    with pytest.raises(ModelError, match="holds NaN/inf values"):
        load_generator(path)


def test_a_device_given_as_a_model_is_refused_at_once():
    t0 = time.perf_counter()
    with pytest.raises(ModelError, match="not a regular file"):
        load_style_model("/dev/zero")
    assert time.perf_counter() - t0 < 1.0


def test_a_show_with_a_poisoned_style_model_keeps_playing_without_the_layer(style_model):
    rewrite_manifest(style_model, lambda m: m["architecture"].update(n_res=10**6))
    engine = Engine(parse_patch(f'[style]\nmodel = "{style_model}"\n'), torch.device("cpu"), (48, 32),
                    camera=lambda t: (None, 0))
    try:
        frame = engine.tick(0.0)
        assert frame.shape == (1, 3, 32, 48) and frame.std() > 0.01, "the test pattern still plays"
        assert engine.missing_layers() and "outside 0..32" in engine.missing_layers()[0]
    finally:
        engine.close()
