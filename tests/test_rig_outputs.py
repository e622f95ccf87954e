"""Stories about a show's extra outputs: chosen in the patch or on the command line, several at once,
a sink that cannot start reported once while the show goes on, a slow receiver never slowing it.

Spout (Windows), Syphon (macOS) and a virtual camera (v4l2loopback) cannot run on these machines;
what is tested here is that asking for them gives one clear line and nothing else breaks. NDI,
which does run here, has its own stories in test_ndi.py.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np
import pytest
import torch

from livegen.clock import WallClock
from livegen.engine import Engine
from livegen.live import LiveRunner
from livegen.patch import parse_patch
from livegen.rig import sink_requests, use_ndi_ips
from livegen.sinks.base import SinkSet, open_sinks
from livegen.sinks.window import WindowSink
from livegen.size import Size

PATCH = """
name = "rig"
[output]
size = "96x64"
ndi = "livegen main"
spout = "livegen spout"
virtual_camera = true
"""


def test_the_patch_and_the_command_line_choose_the_outputs_together():
    patch = parse_patch(PATCH)
    assert patch.output.sink_requests() == [("ndi", "livegen main"), ("spout", "livegen spout"),
                                            ("virtual_camera", "")]
    asked = sink_requests(patch.output.sink_requests(), ndi="from cli", syphon="mac")
    assert dict(asked) == {"ndi": "from cli", "spout": "livegen spout", "virtual_camera": "", "syphon": "mac"}


@pytest.mark.skipif(sys.platform.startswith("win") or sys.platform == "darwin", reason="checks the Linux answers")
def test_outputs_that_cannot_run_here_each_say_why_in_one_line():
    sinks = open_sinks([("spout", "a"), ("syphon", "b"), ("virtual_camera", ""), ("hologram", "c")],
                       Size(96, 64), 30.0)
    try:
        assert sinks.sinks == []
        text = "\n".join(sinks.problems)
        assert len(sinks.problems) == 4, text
        assert "spout 'a': not started — Spout exists only on Windows" in text
        assert "syphon 'b': not started — Syphon exists only on macOS" in text
        assert "virtual_camera: not started" in text and ("pyvirtualcam" in text or "v4l2loopback" in text)
        assert "hologram 'c': unknown output" in text
    finally:
        sinks.close()


class SlowReceiver:
    """Stands in for an NDI client on a congested network (no real one can be made this slow on demand)."""

    name = "slow"

    def __init__(self) -> None:
        self.frames: list[int] = []

    def send(self, image: np.ndarray) -> None:
        time.sleep(0.25)
        self.frames.append(int(image[0, 0, 0]))

    def close(self) -> None:
        pass


def test_a_slow_receiver_drops_frames_in_its_own_sink_and_never_slows_the_show_or_the_hud():
    from livegen.sinks.base import OffThreadSink

    engine = Engine(parse_patch(PATCH), torch.device("cpu"), (96, 64), camera=lambda t: (None, 0))
    window = WindowSink((96, 64), title="livegen rig test")
    slow = OffThreadSink(SlowReceiver())
    problems = open_sinks([("spout", "a")], Size(96, 64), 30.0).problems
    sinks = SinkSet([slow], problems)
    runner = LiveRunner(engine, window, WallClock(), display_fps=60, model_fps=30, sinks=sinks)
    try:
        runner.run(max_seconds=2.0)
        hud = runner.hud_lines()
    finally:
        sinks.close()
        window.close()
    assert engine.frame >= 40, "the show kept its 30 fps while the receiver took 4 frames a second"
    assert 4 <= slow.sent <= 10 and slow.dropped >= 25
    assert any(line.startswith("! spout 'a': not started") for line in hud), hud
    assert any(line.startswith("slow: ") and "dropped" in line for line in hud), hud


def test_ndi_discovery_without_multicast_is_one_patch_key(tmp_path, monkeypatch):
    monkeypatch.delenv("NDI_CONFIG_DIR", raising=False)
    monkeypatch.setattr("tempfile.gettempdir", lambda: str(tmp_path))
    folder = use_ndi_ips("10.0.0.5, 10.0.0.6")
    assert folder is not None
    assert (folder / "ndi-config.v1.json").read_text() == \
        '{"ndi": {"networks": {"ips": "10.0.0.5,10.0.0.6", "discovery": ""}}}'
    assert os.environ["NDI_CONFIG_DIR"] == str(folder)
    monkeypatch.setenv("NDI_CONFIG_DIR", "/etc/my-ndi")
    assert use_ndi_ips("10.0.0.7") is None, "a user's own NDI config is left alone"
