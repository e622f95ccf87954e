"""Fault injection for headless renders: full disks, signals, missing models, broken clocks.

A headless render must never claim success for an incomplete file. These stories make each fault
happen for real (a real full filesystem, real signals to a real process) and check the one line
livegen prints, the exit code, and what is in the file afterwards.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from disks import small_tmpfs

from livegen.control.record import ShowRecorder
from livegen.patch import load_patch, parse_patch
from livegen.render import RenderError, frame_times_for, render
from livegen.sinks.files import readable_frames

PATCH = '''
name = "faults"
seed = 3
[output]
size = "320x240"
fps = 24
'''


def livegen(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "livegen.cli", *args, "--threads", "1"], capture_output=True,
                          text=True, timeout=timeout, env=env)


@pytest.fixture
def small_disk(tmp_path):
    """A real 1.5 MiB filesystem (tmpfs) that a render fills up."""
    with small_tmpfs(tmp_path / "disk", "1536k") as mount:
        yield mount


@pytest.mark.parametrize("ext", [".mp4", ".avi"])
def test_a_full_disk_stops_the_render_with_a_playable_file_and_a_nonzero_exit(tmp_path, small_disk, ext):
    patch = tmp_path / "p.toml"
    patch.write_text(PATCH)
    out = small_disk / f"show{ext}"
    res = livegen("render", str(patch), "--frames", "20000", "--out", str(out), "--quiet")
    assert res.returncode == 1, res.stdout
    assert "rendered" not in res.stdout
    line = res.stderr.strip().splitlines()[-1]
    assert line.startswith("livegen render: ") and "disk almost full" in line and str(out) in line
    assert "Traceback" not in res.stderr
    n = int(line.split("stopped after ")[1].split(" frames")[0])
    assert 0 < n < 20000
    assert readable_frames(out) == n, "what was rendered before the disk filled up plays"


def test_a_full_disk_under_a_png_sequence_leaves_only_whole_frames(tmp_path, small_disk):
    with pytest.raises(OSError, match="frames before it are complete"):
        render(parse_patch(PATCH), str(small_disk / "frames/"), frames=2000, fps=24, progress=False)
    import cv2

    files = sorted((small_disk / "frames").glob("*.png"))
    assert files and all(cv2.imread(str(f)) is not None for f in files)


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_ends_the_render_with_a_finished_video(tmp_path, sig, code):
    patch = tmp_path / "p.toml"
    patch.write_text(PATCH.replace("320x240", "64x48"))
    out = tmp_path / "show.mp4"
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-m", "livegen.cli", "render", str(patch), "--frames", "100000",
                             "--out", str(out), "--threads", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not out.exists() or out.stat().st_size < 20_000):
        time.sleep(0.2)
    assert out.exists(), "the render started writing"
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code, stderr[-2000:]
    assert "Traceback" not in stderr
    line = stderr.strip().splitlines()[-1]
    assert f"stopped by {signal.Signals(sig).name} after" in line and "plays" in line
    n = int(line.split(" after ")[1].split(" frames")[0])
    assert n > 0 and readable_frames(out) == n


def test_a_layer_that_cannot_load_fails_the_render_unless_allowed(tmp_path):
    patch = tmp_path / "p.toml"
    patch.write_text(PATCH.replace("320x240", "64x48") + '\n[style]\nmodel = "models/nope.safetensors"\n')
    res = livegen("render", str(patch), "--frames", "2", "--out", str(tmp_path / "x.avi"), "--quiet")
    assert res.returncode == 1
    assert "nope.safetensors" in res.stderr and "--allow-missing" in res.stderr
    assert not (tmp_path / "x.avi").exists(), "nothing is written when the render refuses"
    res = livegen("render", str(patch), "--frames", "2", "--out", str(tmp_path / "x.avi"), "--quiet",
                  "--allow-missing")
    assert res.returncode == 0, res.stderr
    assert readable_frames(tmp_path / "x.avi") == 2


def test_a_replay_into_another_patch_warns_and_strict_refuses(tmp_path, caplog):
    patch_file = tmp_path / "p.toml"
    patch_file.write_text(PATCH.replace("320x240", "64x48"))
    log = tmp_path / "show.jsonl"
    rec = ShowRecorder(log, {"patch_hash": "0" * 64, "models": {"models/style3.safetensors": "f" * 64}})
    rec.log_frame(0, 0.0, [])
    rec.log_frame(1, 0.04, [])
    rec.close()
    patch = load_patch(patch_file)
    result = render(patch, str(tmp_path / "a/"), controls=[log], progress=False)
    assert result.frames == 2
    assert "is not the patch the log was recorded with" in caplog.text
    with pytest.raises(RenderError, match="not the patch the log was recorded with.*--strict"):
        render(patch, str(tmp_path / "b/"), controls=[log], progress=False, strict=True)


@pytest.mark.parametrize("times, problem", [
    ([0.0, float("nan"), 0.1], "frame 1: time nan"),
    ([0.0, 0.2, 0.1], "frame 2: time 0.1 is not at least"),
    ([0.0, 0.0], "frame 1"),
    ([0.0, 5e-324], "frame 1"),
])
def test_broken_frame_times_in_a_show_log_are_refused_before_rendering(tmp_path, times, problem):
    log = tmp_path / "broken.jsonl"
    lines = [json.dumps({"livegen_show": 1})] + [json.dumps({"frame": i, "t": t}) for i, t in enumerate(times)]
    log.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=problem):
        render(parse_patch(PATCH), str(tmp_path / "x.avi"), controls=[log], progress=False)
    assert not (tmp_path / "x.avi").exists()


@pytest.mark.parametrize("fps", [float("inf"), 0.0, -5.0, float("nan"), 1e9])
def test_an_impossible_fps_is_refused(fps):
    with pytest.raises(ValueError, match="--fps must be above 0"):
        frame_times_for(10, fps, [], 30.0)


def test_a_replayed_record_action_writes_no_show_log_from_a_render(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    log = tmp_path / "with-record.jsonl"
    from livegen.control.bus import ControlEvent

    rec = ShowRecorder(log, {})
    rec.log_frame(0, 0.0, [ControlEvent(0.0, "osc", "/livegen/record", "start")])
    rec.log_frame(1, 0.05, [])
    rec.close()
    render(parse_patch(PATCH.replace("320x240", "64x48")), "null", controls=[log], progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["with-record.jsonl"]


def test_run_refuses_to_overwrite_a_show_log(tmp_path):
    existing = tmp_path / "show.jsonl"
    existing.write_text("precious\n")
    res = livegen("run", "--seconds", "1", "--size", "64x48", "--record", str(existing))
    assert res.returncode == 2
    assert "already there" in res.stderr and "--force" in res.stderr and "Traceback" not in res.stderr
    assert existing.read_text() == "precious\n"


def test_two_recordings_started_in_the_same_second_get_two_files(tmp_path):
    import torch

    from livegen.engine import Engine

    engine = Engine(parse_patch(""), torch.device("cpu"), (32, 24), camera=lambda t: (None, 0))
    engine.record_dir = tmp_path
    try:
        for _ in range(2):
            engine._action("record", "start")
            engine.tick(0.0)
            engine._action("record", "stop")
    finally:
        engine.close()
    assert len(list(Path(tmp_path).glob("show-*.jsonl"))) == 2
