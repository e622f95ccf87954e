"""Stories about patch files: every mistake names the file, the key path and what was expected,
and a broken save during a show never replaces the patch that is playing."""

from __future__ import annotations

import json
import os
import threading
import time
import tomllib
from pathlib import Path

import pytest
import torch

from livegen import cli
from livegen import patch as patch_mod
from livegen.engine import Engine
from livegen.patch import PatchError, load_patch, parse_patch
from livegen.paths import PATCHES


@pytest.mark.parametrize("text, path, words", [
    ("[output]\nsize = \"640x\"\n", "output.size", "size like 640x480"),
    ("[output]\nfps = \"fast\"\n", "output.fps", "expected a number"),
    ("[output]\nfps = 1000\n", "output.fps", "1..240"),
    ("[osc]\nprot = 9000\n", "osc.prot", "unknown key"),
    ("[camera]\nmirror = \"yes\"\n", "camera.mirror", "true or false"),
    ("device = \"tpu\"\n", "device", "one of 'auto', 'cpu', 'cuda'"),
    ("[params]\n\"style.mixx\" = 0.3\n", "params.style.mixx", "unknown parameter"),
    ("[params]\n\"compose.mode\" = \"glow\"\n", "params.compose.mode", "not one of"),
    ("[scenes.drop]\nfade = -1\n", "scenes.drop.fade", "expected 0..600 seconds"),
    ("[scenes.drop]\nfade = inf\n", "scenes.drop.fade", "expected 0..600 seconds"),
    ("seed = -3\n", "seed", "expected 0..2147483647"),
    ("[output]\ndisplay = 99999\n", "output.display", "0..63"),
    ("a = " + "[" * 40 + "]" * 40 + "\n", "a" + "[0]" * 16, "nested more than 16 levels"),
    ("[scenes.drop]\nvalues = { \"compose.amount\" = \"lots\" }\n", "scenes.drop.values.compose.amount",
     "expected a number"),
    ("[tempo]\nbpm = 5\n", "tempo.bpm", "20..300"),
    ("seed = 1.5\n", "seed", "expected an integer"),
])
def test_each_kind_of_mistake_names_file_key_path_and_expectation(text, path, words):
    with pytest.raises(PatchError) as err:
        parse_patch(text, "show.toml")
    assert err.value.file == "show.toml"
    assert err.value.path == path
    assert words in str(err.value)
    assert str(err.value).startswith(f"show.toml: {path}: ")


def test_a_file_that_is_not_toml_says_so_with_the_line():
    with pytest.raises(PatchError, match=r"show.toml: not valid TOML: .*line 2"):
        parse_patch("name = \"x\"\n[output\n", "show.toml")


def test_a_missing_patch_file_is_named():
    with pytest.raises(PatchError, match="nope.toml: file not found"):
        load_patch("nope.toml")


def test_shipped_patches_are_all_valid():
    files = sorted(PATCHES.glob("*.toml"))
    assert files, "patches/ must ship at least the default patch"
    for f in files:
        load_patch(f)


def test_params_can_be_written_as_dotted_keys_or_nested_tables():
    a = parse_patch("[params]\n\"compose.amount\" = 0.25\n")
    b = parse_patch("[params.compose]\namount = 0.25\n")
    assert a.params == b.params == {"compose.amount": 0.25}


def _save(path: Path, text: str) -> None:
    path.write_text(text)
    # Make sure the watcher sees a new mtime even on coarse file systems.
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))


def test_a_broken_save_keeps_the_show_running_and_a_fixed_save_is_picked_up(tmp_path):
    patch_file = tmp_path / "show.toml"
    patch_file.write_text('name = "show"\n[params]\n"compose.amount" = 0.2\n')
    patch = load_patch(patch_file)
    engine = Engine(patch, torch.device("cpu"), (32, 24), camera=lambda t: (None, 0), watch=True)
    engine.watcher.interval = 0.0
    engine.tick(0.0)
    assert engine.store.get("compose.amount") == pytest.approx(0.2)

    _save(patch_file, 'name = "show"\n[params]\n"compose.amount" = "loud"\n')
    frame = engine.tick(0.1)
    assert frame.shape == (1, 3, 24, 32), "the loop keeps rendering"
    assert "patch not reloaded" in engine.errors.last
    assert "params.compose.amount" in engine.errors.last
    assert engine.patch is patch

    _save(patch_file, 'name = "show"\n[params]\n"compose.amount" = 0.7\n')
    time.sleep(0.01)
    engine.tick(0.2)
    for i in range(60):
        engine.tick(0.2 + i / 30)
    assert engine.patch.name == "show" and engine.patch is not patch
    assert engine.store.get("compose.amount") == pytest.approx(0.7)


def test_a_misspelt_section_key_gets_a_did_you_mean():
    with pytest.raises(PatchError, match=r"output\.fsp: unknown key \(did you mean fps\?"):
        parse_patch('[output]\nfsp = 60\n')


def test_an_editor_with_the_patch_schema_completes_and_checks_patch_files(tmp_path, capsys):
    jsonschema = pytest.importorskip("jsonschema", reason="the test extra brings jsonschema")
    assert cli.main(["patch-schema", "-o", str(tmp_path / "livegen.schema.json")]) == 0
    schema = json.loads((tmp_path / "livegen.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    for shipped in sorted(PATCHES.glob("*.toml")):
        jsonschema.validate(tomllib.loads(shipped.read_text()), schema)
    params = schema["properties"]["params"]["properties"]
    assert params["style.stabilize"]["default"] == 0.75 and params["style.stabilize"]["maximum"] == 0.95
    assert params["compose.mode"]["anyOf"][0]["enum"][0] == "mix"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"params": {"style.mixx": 0.3}}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"output": {"fsp": 60}}, schema)


def test_a_huge_or_bottomless_patch_is_refused_with_the_limit_named(tmp_path):
    big = tmp_path / "big.toml"
    big.write_text('name = "big"\n' + "# padding\n" * 200_000)
    with pytest.raises(PatchError, match=r"big\.toml: larger than the 1048576-byte limit"):
        load_patch(big)
    with pytest.raises(PatchError, match="nested more than 16 levels"):
        parse_patch("a = " + "[" * 5000 + "]" * 5000)
    with pytest.raises(PatchError, match="not a regular file"):
        load_patch("/dev/zero")


def test_parsing_a_saved_patch_happens_off_the_render_thread(tmp_path):
    patch_file = tmp_path / "show.toml"
    patch_file.write_text('name = "show"\n')
    patch = load_patch(patch_file)
    engine = Engine(patch, torch.device("cpu"), (32, 24), camera=lambda t: (None, 0), watch=True)
    engine.watcher.interval = 0.0
    started = threading.Event()
    release = threading.Event()
    seen: list[str] = []

    def slow_load(path, registry=None):
        seen.append(threading.current_thread().name)
        started.set()
        release.wait(5)
        return load_patch(path, registry)

    _save(patch_file, 'name = "edited"\n')
    original = patch_mod.load_patch
    patch_mod.load_patch = slow_load
    try:
        engine.tick(0.0)
        assert started.wait(5)
        t0 = time.perf_counter()
        for i in range(5):
            engine.tick(0.1 * (i + 1))
        assert time.perf_counter() - t0 < 1.0, "frames keep coming while the patch is parsed"
        assert engine.patch.name == "show"
        release.set()
        for i in range(200):
            engine.tick(1.0 + i / 30)
            if engine.patch.name == "edited":
                break
            time.sleep(0.005)
    finally:
        patch_mod.load_patch = original
    assert engine.patch.name == "edited"
    assert seen == ["livegen-patch-reload"]
