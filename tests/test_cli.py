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
