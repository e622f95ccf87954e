"""Stories about the camera input: a missing webcam, a clip that ends, a camera that vanishes."""

from __future__ import annotations

import time

import cv2
import numpy as np
import torch
from videos import write_clip
from waiting import wait_for

from livegen.engine import Engine, open_engine
from livegen.patch import parse_patch
from livegen.size import Size
from livegen.sources.camera import CameraSource, FileFrames
from livegen.sources.feed import CameraFeed


def test_a_webcam_that_does_not_exist_shows_the_test_pattern_and_keeps_retrying():
    cam = CameraSource(7, size=(64, 48), retry_max=0.2).start()
    try:
        assert wait_for(lambda: "retrying" in cam.status)
        assert "device 7 not available" in cam.status
        image, _ = cam.latest()
        assert image is None
        engine = Engine(parse_patch(""), torch.device("cpu"), (64, 48), camera=lambda t: cam.latest())
        frame = engine.tick(0.5)
        assert frame.shape == (1, 3, 48, 64) and frame.std() > 0.05, "the moving test pattern is shown"
    finally:
        cam.stop()


def test_a_video_file_that_ends_loops_back_to_its_start(tmp_path):
    clip = write_clip(tmp_path / "clip.avi", frames=6, fps=120.0)
    cam = CameraSource(str(clip), size=(64, 48)).start()
    try:
        assert wait_for(lambda: cam.latest()[1] > 15), "more frames than the clip has: it looped"
        assert cam.status == f"camera: {clip} — got 64x48 @ 120 fps MJPG", "the HUD says what the file delivers"
        seen = set()
        assert wait_for(lambda: seen.add(int(cam.latest()[0][0, 0, 0]) // 20) or len(seen) >= 4)
    finally:
        cam.stop()


def test_a_video_file_that_disappears_falls_back_and_recovers_when_it_returns(tmp_path):
    clip = write_clip(tmp_path / "cam.avi", frames=4, fps=120.0)
    data = clip.read_bytes()
    cam = CameraSource(str(clip), size=(64, 48), loop=False, retry_max=0.1).start()
    try:
        assert wait_for(lambda: "ended" in cam.status)
        missing = CameraSource(str(tmp_path / "gone.avi"), size=(64, 48), retry_max=0.1).start()
        assert wait_for(lambda: "not found" in missing.status)
        (tmp_path / "gone.avi").write_bytes(data)
        assert wait_for(lambda: missing.latest()[0] is not None), "reconnected once the file came back"
        missing.stop()
    finally:
        cam.stop()


def test_a_render_reads_the_file_frame_for_each_time_exactly(tmp_path):
    clip = write_clip(tmp_path / "clip.avi", frames=5, fps=10.0)
    frames = FileFrames(clip, size=(64, 48))
    levels = [int(frames.frame_at(i / 10)[0, 0, 0]) for i in range(12)]
    # 5 frames at 10 fps: times 0.0..1.1 s walk through the clip twice and a bit, in order.
    expected = [20 * (i % 5) for i in range(12)]
    assert all(abs(a - b) <= 6 for a, b in zip(levels, expected)), levels
    frames.close()


def test_auto_camera_in_a_render_uses_the_deterministic_pattern():
    feed = CameraFeed("auto", (64, 48), lockstep=True)
    assert feed(0.0) == (None, 0)
    assert "test pattern" in feed.status()


def test_camera_frames_arrive_as_rgb_at_the_requested_size(tmp_path):
    import cv2

    path = tmp_path / "red.avi"
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (80, 60))
    for _ in range(3):
        img = np.zeros((60, 80, 3), np.uint8)
        img[..., 2] = 255  # red in OpenCV's BGR order
        w.write(img)
    w.release()
    image = FileFrames(path, size=(40, 30)).frame_at(0.0)
    assert image.shape == (30, 40, 3)
    assert image[..., 0].mean() > 200 and image[..., 2].mean() < 50


def test_the_hud_line_of_a_live_feed_says_what_the_source_delivers(tmp_path):
    """A file stands in for the webcam: a file cannot be asked for a size, so the line says only what came.

    What a webcam is asked for ([camera] size, fps, MJPG) is the stand-in webcam story below.
    """
    clip = write_clip(tmp_path / "cam.avi", size=(80, 60), fps=25.0)
    feed = CameraFeed(str(clip), Size(64, 48), request=Size(320, 240), fps=15.0)
    try:
        assert wait_for(lambda: "got" in feed.status())
        assert feed.status() == f"camera: {clip} — got 80x60 @ 25 fps MJPG"
        assert feed(0.0)[0].shape == (48, 64, 3), "frames still arrive at the output size"
    finally:
        feed.close()


class StandInWebcam:
    """A UVC webcam as OpenCV's V4L2 backend presents it: it takes what it is asked (size, rate, MJPG)
    and snaps the size to the nearest mode it has. A stand-in, because this machine has no /dev/video
    and no v4l2loopback; the order and values livegen asks for are what the story checks.
    """

    MODES = (Size(640, 480), Size(1280, 720), Size(1920, 1080))
    asked: list[tuple[int, float]] = []

    def __init__(self, index: int, backend: int) -> None:
        self.index = index
        self.props = {cv2.CAP_PROP_FRAME_WIDTH: 640.0, cv2.CAP_PROP_FRAME_HEIGHT: 480.0, cv2.CAP_PROP_FPS: 30.0,
                      cv2.CAP_PROP_FOURCC: float(cv2.VideoWriter_fourcc(*"YUYV"))}

    def isOpened(self) -> bool:  # noqa: N802 — OpenCV's name
        return self.index == 0

    def set(self, prop: int, value: float) -> bool:
        StandInWebcam.asked.append((prop, value))
        self.props[prop] = value
        return True

    def get(self, prop: int) -> float:
        if prop in (cv2.CAP_PROP_FRAME_WIDTH, cv2.CAP_PROP_FRAME_HEIGHT):
            return float(self.mode()[0 if prop == cv2.CAP_PROP_FRAME_WIDTH else 1])
        return self.props.get(prop, 0.0)

    def mode(self) -> Size:
        w, h = self.props[cv2.CAP_PROP_FRAME_WIDTH], self.props[cv2.CAP_PROP_FRAME_HEIGHT]
        return min(self.MODES, key=lambda m: abs(m.w - w) + abs(m.h - h))

    def read(self) -> tuple[bool, np.ndarray]:
        time.sleep(0.01)
        return True, np.full((self.mode().h, self.mode().w, 3), 128, np.uint8)

    def release(self) -> None:
        pass


def test_the_webcam_is_asked_for_the_patch_camera_size_fps_and_mjpg_and_the_hud_says_what_came(monkeypatch):
    monkeypatch.setattr(cv2, "VideoCapture", StandInWebcam)
    StandInWebcam.asked = []
    patch = parse_patch('[camera]\nsource = 0\nsize = "1280x700"\nfps = 24\n[output]\nsize = "64x48"\n')
    engine, feed = open_engine(patch, lockstep=False)
    try:
        assert wait_for(lambda: "got" in feed.status())
        assert StandInWebcam.asked == [(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG")),
                                       (cv2.CAP_PROP_FRAME_WIDTH, 1280), (cv2.CAP_PROP_FRAME_HEIGHT, 700),
                                       (cv2.CAP_PROP_FPS, 24.0)]
        assert feed.status() == "camera: device 0 — got 1280x720 @ 24 fps MJPG (asked 1280x700 @ 24 fps)"
        assert feed.status() in engine.status_lines(), "the HUD shows it"
        assert wait_for(lambda: feed(0.0)[0] is not None)
        assert feed(0.0)[0].shape == (48, 64, 3), "frames reach the show at the output size"
    finally:
        feed.close()
        engine.close()
