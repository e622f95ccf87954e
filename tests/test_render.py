"""Stories about headless renders: the same patch, controls and seed give the same frames."""

from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest
from videos import write_clip

from livegen.control.bus import ControlEvent
from livegen.control.record import ShowRecorder
from livegen.patch import parse_patch
from livegen.render import frame_hash, render

PATCH = """
name = "ci"
seed = 7
[output]
size = "96x64"
fps = 12
[params]
"compose.amount" = 0.4
[scenes.bright]
fade = 0.5
values = { "master.brightness" = 1.6 }
"""


def hashes_of(patch_text: str, tmp_path, name: str, **kw) -> list[str]:
    out: list[str] = []
    render(parse_patch(patch_text), str(tmp_path / name), progress=False,
           on_frame=lambda n, img, snap: out.append(frame_hash(img)), **kw)
    return out


def test_rendering_twice_gives_bit_identical_frames(tmp_path):
    a = hashes_of(PATCH, tmp_path, "a/", frames=8, fps=12)
    b = hashes_of(PATCH, tmp_path, "b/", frames=8, fps=12)
    assert a == b
    assert len(set(a)) == 8, "the pattern moves: every frame differs"


def test_png_frames_read_back_with_opencv_match_what_was_rendered(tmp_path):
    images = []
    render(parse_patch(PATCH), str(tmp_path / "png/"), frames=4, fps=12, progress=False,
           on_frame=lambda n, img, snap: images.append(img.copy()))
    files = sorted((tmp_path / "png").glob("frame_*.png"))
    assert [f.name for f in files] == [f"frame_{i:06d}.png" for i in range(4)]
    for f, img in zip(files, images):
        back = cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB)
        assert np.array_equal(back, img)


@pytest.mark.parametrize("ext", [".mp4", ".avi"])
def test_a_video_render_reads_back_with_opencv(tmp_path, ext):
    out = tmp_path / f"show{ext}"
    render(parse_patch(PATCH), str(out), frames=10, fps=12, size=(96, 64), progress=False)
    cap = cv2.VideoCapture(str(out))
    n = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        assert frame.shape == (64, 96, 3)
        n += 1
    assert n == 10
    assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(12, abs=0.5)


def test_a_video_file_camera_renders_frame_locked(tmp_path):
    clip = write_clip(tmp_path / "in.avi", frames=6, size=(96, 64), fps=12.0)
    text = PATCH + f'\n[camera]\nsource = "{clip}"\nsize = "96x64"\n'
    assert hashes_of(text, tmp_path, "a/", frames=8, fps=12) == hashes_of(text, tmp_path, "b/", frames=8, fps=12)


def test_a_control_stream_changes_the_picture_at_its_time_and_replays_identically(tmp_path):
    log = tmp_path / "controls.jsonl"
    rec = ShowRecorder(log, {"patch_sha256": "test"})
    rec.log_frame(0, 0.0, [ControlEvent(0.30, "osc", "/livegen/master/fade", 0.0),
                           ControlEvent(0.55, "osc", "/livegen/scene", "bright")])
    rec.close()
    snaps: list[dict] = []
    render(parse_patch(PATCH), str(tmp_path / "x/"), frames=16, fps=12, controls=[log], progress=False,
           on_frame=lambda n, img, snap: snaps.append(dict(snap)))
    fades = [s["master.fade"] for s in snaps]
    assert fades[:4] == [1.0] * 4 and fades[4] < 1.0, "applied at the first frame at or after t=0.30 s"
    bright = [s["master.brightness"] for s in snaps]
    assert bright[:7] == [1.0] * 7 and 1.0 < bright[7] < 1.6, "the scene starts fading in at t=0.55 s"
    assert bright[-1] == pytest.approx(1.6), "and has arrived 0.5 s later"
    again = hashes_of(PATCH, tmp_path, "y/", frames=12, fps=12, controls=[log])
    assert again == hashes_of(PATCH, tmp_path, "z/", frames=12, fps=12, controls=[log])


def test_the_render_command_line_writes_a_video_and_reports_it(tmp_path):
    patch = tmp_path / "p.toml"
    patch.write_text(PATCH)
    out = tmp_path / "cli.avi"
    res = subprocess.run([sys.executable, "-m", "livegen.cli", "render", str(patch), "--frames", "6", "--fps", "12",
                          "--size", "64x48", "--out", str(out)], capture_output=True, text=True, timeout=240)
    assert res.returncode == 0, res.stderr
    assert "rendered 6 frames" in res.stdout
    assert "render ci" in res.stderr, "a progress bar is shown"
    assert cv2.VideoCapture(str(out)).get(cv2.CAP_PROP_FRAME_COUNT) == 6


def test_the_render_command_line_rejects_a_broken_patch_with_its_key_path(tmp_path):
    patch = tmp_path / "bad.toml"
    patch.write_text("[output]\nfps = 0\n")
    res = subprocess.run([sys.executable, "-m", "livegen.cli", "render", str(patch), "--frames", "2",
                          "--out", str(tmp_path / "x.mp4")], capture_output=True, text=True, timeout=240)
    assert res.returncode == 2
    assert "bad.toml: output.fps: expected 1..240" in res.stderr
