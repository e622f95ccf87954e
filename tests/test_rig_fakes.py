"""Spout, Syphon and the virtual camera against FAKES of their libraries: the only tests of these sinks here.

No real part can exist on these Linux machines: Spout is Windows-only, Syphon macOS-only, and
there is no v4l2loopback device. Each fake records the calls the library's documentation shows
(Python-SpoutGL's image sender example, syphon-python's Metal server example, pyvirtualcam's
Camera), so these stories check that livegen makes those calls with the show's frames, and
nothing more: whether the real libraries accept them is unverified on CI (see the README).
"""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
from waiting import wait_for

from livegen.sinks.base import open_sinks
from livegen.size import Size

SIZE = Size(8, 6)


def frame(value: int) -> np.ndarray:
    image = np.zeros((SIZE.h, SIZE.w, 3), np.uint8)
    image[..., 0] = value
    return image


def play(kind: str, target: str) -> list[str]:
    """Start the sink the way a show does, hand it two frames, stop it; its status lines."""
    sinks = open_sinks([(kind, target)], SIZE, 30.0)
    try:
        assert sinks.problems == [], sinks.problems
        (sink,) = sinks.sinks
        sinks.offer(frame(10))
        assert wait_for(lambda: sink.sent == 1, timeout=5)
        sinks.offer(frame(20))
        assert wait_for(lambda: sink.sent == 2, timeout=5)
        return sinks.status()
    finally:
        sinks.close()


def test_spout_on_windows_sends_each_frame_as_rgba_and_signals_it(monkeypatch):
    calls: list[tuple] = []

    class FakeSpoutSender:  # Python-SpoutGL's SpoutSender, as its examples/image/sender.py uses it
        def setSenderName(self, name: str) -> None:  # noqa: N802 — the library's names
            calls.append(("setSenderName", name))

        def sendImage(self, pixels, width, height, fmt, invert, host_fbo) -> bool:  # noqa: N802, ANN001
            calls.append(("sendImage", np.array(pixels), width, height, fmt, invert, host_fbo))
            return True

        def setFrameSync(self, name: str) -> None:  # noqa: N802
            calls.append(("setFrameSync", name))

        def releaseSender(self) -> None:  # noqa: N802
            calls.append(("releaseSender",))

    spout = types.ModuleType("SpoutGL")
    spout.SpoutSender = FakeSpoutSender
    enums = types.ModuleType("SpoutGL.enums")
    enums.GL_RGBA = 0x1908
    monkeypatch.setitem(sys.modules, "SpoutGL", spout)
    monkeypatch.setitem(sys.modules, "SpoutGL.enums", enums)
    monkeypatch.setattr(sys, "platform", "win32")
    status = play("spout", "livegen main")
    assert status == ["spout livegen main: 2 sent, 0 dropped"]
    assert calls[0] == ("setSenderName", "livegen main")
    sends = [c for c in calls if c[0] == "sendImage"]
    assert [(c[2], c[3], c[4], c[5], c[6]) for c in sends] == [(8, 6, 0x1908, False, 0)] * 2
    assert sends[1][1].shape == (6, 8, 4) and (sends[1][1][..., 0] == 20).all() and (sends[1][1][..., 3] == 255).all()
    assert calls.count(("setFrameSync", "livegen main")) == 2
    assert calls[-1] == ("releaseSender",)


def test_syphon_on_macos_publishes_each_frame_as_a_metal_texture(monkeypatch):
    calls: list[tuple] = []

    class FakeServer:  # syphon-python's SyphonMetalServer, as its README example uses it
        device = "metal device"

        def __init__(self, name: str) -> None:
            calls.append(("SyphonMetalServer", name))

        def publish_frame_texture(self, texture: dict) -> None:
            calls.append(("publish_frame_texture", texture["pixels"].copy()))

        def stop(self) -> None:
            calls.append(("stop",))

    def create_mtl_texture(device: str, width: int, height: int) -> dict:
        calls.append(("create_mtl_texture", device, width, height))
        return {"pixels": None}

    def copy_image_to_mtl_texture(image: np.ndarray, texture: dict) -> None:
        texture["pixels"] = np.array(image)

    syphon = types.ModuleType("syphon")
    syphon.SyphonMetalServer = FakeServer
    utils = types.ModuleType("syphon.utils")
    raw = types.ModuleType("syphon.utils.raw")
    raw.create_mtl_texture = create_mtl_texture
    as_numpy = types.ModuleType("syphon.utils.numpy")
    as_numpy.copy_image_to_mtl_texture = copy_image_to_mtl_texture
    for name, module in (("syphon", syphon), ("syphon.utils", utils), ("syphon.utils.raw", raw),
                         ("syphon.utils.numpy", as_numpy)):
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(sys, "platform", "darwin")
    status = play("syphon", "")
    assert status == ["syphon livegen: 2 sent, 0 dropped"]  # no name given: the server is "livegen"
    assert calls[:2] == [("SyphonMetalServer", "livegen"), ("create_mtl_texture", "metal device", 8, 6)]
    published = [c[1] for c in calls if c[0] == "publish_frame_texture"]
    assert [p.shape for p in published] == [(6, 8, 4)] * 2 and (published[1][..., 0] == 20).all()
    assert calls[-1] == ("stop",)


@pytest.fixture
def fake_virtualcam(monkeypatch) -> list[tuple]:
    """pyvirtualcam with a Camera that records its calls (no v4l2loopback device exists here)."""
    calls: list[tuple] = []

    class FakeCamera:  # pyvirtualcam.Camera
        def __init__(self, width: int, height: int, fps: float, fmt: str, device: str | None) -> None:
            calls.append(("Camera", width, height, fps, fmt, device))
            self.device = device or "/dev/video7"

        def send(self, image: np.ndarray) -> None:
            calls.append(("send", image.shape, int(image[0, 0, 0])))

        def close(self) -> None:
            calls.append(("close",))

    cam = types.ModuleType("pyvirtualcam")
    cam.Camera = FakeCamera
    cam.PixelFormat = types.SimpleNamespace(RGB="RGB")
    monkeypatch.setitem(sys.modules, "pyvirtualcam", cam)
    return calls


def test_a_virtual_camera_gets_rgb_frames_at_the_show_size_and_rate(fake_virtualcam):
    assert play("virtual_camera", "") == ["virtual camera /dev/video7: 2 sent, 0 dropped"]
    assert fake_virtualcam == [("Camera", 8, 6, 30.0, "RGB", None), ("send", (6, 8, 3), 10), ("send", (6, 8, 3), 20),
                               ("close",)]


@pytest.mark.parametrize("command", ["run", "render"])
def test_livegen_run_and_render_send_their_frames_to_an_output_named_on_the_command_line(fake_virtualcam, tmp_path,
                                                                                          command):
    from livegen.cli import main

    patch = tmp_path / "show.toml"
    patch.write_text('name = "rig"\n[output]\nsize = "64x48"\nfps = 20\n[camera]\nsource = "pattern"\n'
                     "[osc]\nport = 0\n[midi]\nenabled = false\n")
    args = (["run", str(patch), "--seconds", "1.5"] if command == "run" else
            ["render", str(patch), "--frames", "12", "--out", "null", "--quiet"])
    assert main([*args, "--virtual-camera"]) == 0
    assert fake_virtualcam[0] == ("Camera", 64, 48, 20.0, "RGB", None)
    sent = [c for c in fake_virtualcam if c[0] == "send"]
    assert sent and all(c[1] == (48, 64, 3) for c in sent)
    assert fake_virtualcam[-1] == ("close",)


def test_a_virtual_camera_without_its_driver_is_one_line_saying_what_to_load(monkeypatch):
    class NoBackend:  # what pyvirtualcam raises on Linux when no v4l2loopback device exists
        def __init__(self, *args: object, **kwargs: object) -> None:
            raise RuntimeError("'v4l2loopback' backend: no device found")

    cam = types.ModuleType("pyvirtualcam")
    cam.Camera = NoBackend
    cam.PixelFormat = types.SimpleNamespace(RGB="RGB")
    monkeypatch.setitem(sys.modules, "pyvirtualcam", cam)
    sinks = open_sinks([("virtual_camera", "")], SIZE, 30.0)
    assert sinks.sinks == []
    assert sinks.problems == ["virtual_camera: not started — no virtual camera device ('v4l2loopback' backend: "
                              "no device found); on Linux load v4l2loopback"]


@pytest.mark.parametrize(("kind", "module", "platform", "extra"), [("spout", "SpoutGL", "win32", "spout"),
                                                                    ("syphon", "syphon", "darwin", "syphon")])
def test_on_its_own_os_without_its_library_a_sink_says_which_extra_to_install(monkeypatch, kind, module, platform,
                                                                             extra):
    monkeypatch.setitem(sys.modules, module, None)
    monkeypatch.setattr(sys, "platform", platform)
    (problem,) = open_sinks([(kind, "x")], SIZE, 30.0).problems
    assert problem.startswith(f"{kind} 'x': not started — ") and f"pip install 'livegen[{extra}]'" in problem
