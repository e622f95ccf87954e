"""The feature no peer has: record a set live, re-render it later, frame-exact.

A performer plays a live show (real window on the SDL dummy driver, wall clock, controls arriving
from another thread while frames render); the show log is then rendered offline with the lockstep
clock, and every frame's parameter values must equal the live ones.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import torch

from livegen.clock import WallClock
from livegen.control.bus import ControlEvent
from livegen.engine import Engine
from livegen.live import LiveRunner
from livegen.patch import load_patch
from livegen.render import render
from livegen.sinks.window import WindowSink

PATCH = """
name = "replay"
seed = 3
[output]
size = "64x48"
fps = 30
[scenes.drop]
key = 1
fade = 0.3
values = { "compose.amount" = 1.0, "compose.mode" = "difference" }
"""


class RecordingEngine(Engine):
    """Keeps every frame's parameter snapshot, to compare with the replay."""

    def __init__(self, *a, **kw) -> None:
        super().__init__(*a, **kw)
        self.history: list[dict] = []

    def tick(self, t: float) -> torch.Tensor:
        frame = super().tick(t)
        self.history.append(dict(self.last_snapshot))
        return frame


def test_a_live_recorded_show_replays_with_identical_parameters_every_frame(tmp_path):
    patch_file = tmp_path / "show.toml"
    patch_file.write_text(PATCH)
    patch = load_patch(patch_file)
    clock = WallClock()
    engine = RecordingEngine(patch, torch.device("cpu"), (64, 48), camera=lambda t: (None, 0))
    log = tmp_path / "show.jsonl"
    engine.start_recording(log)
    window = WindowSink((64, 48), title="replay test")
    runner = LiveRunner(engine, window, clock, display_fps=60, model_fps=30)

    def performer() -> None:
        for i in range(40):  # a fader moved by hand, a scene, a few presses
            engine.push(ControlEvent(clock.now(), "midi", "/livegen/master/fade", (i % 10) / 10))
            if i == 15:
                engine.push(ControlEvent(clock.now(), "key", "/livegen/scene", 1))
            time.sleep(0.013)

    th = threading.Thread(target=performer)
    threading.Timer(0.2, th.start).start()
    runner.run(max_seconds=1.5)
    th.join()
    window.close()
    engine.close()
    live = engine.history
    assert len(live) > 10

    replay = render(load_patch(patch_file), "null", controls=[log], progress=False, keep_snapshots=True)
    assert replay.frames == len(live)
    assert replay.snapshots == live
    assert live[-1]["compose.mode"] == "difference"
    assert len({s["master.fade"] for s in live}) > 3, "the fader really moved during the show"


def test_the_show_log_header_names_patch_seed_and_models_and_survives_a_crash(tmp_path):
    patch_file = tmp_path / "show.toml"
    patch_file.write_text(PATCH)
    log = tmp_path / "crash.jsonl"
    code = f"""
import os, torch
from livegen.engine import Engine
from livegen.patch import load_patch
from livegen.control.bus import ControlEvent
e = Engine(load_patch({str(patch_file)!r}), torch.device('cpu'), (32, 24), camera=lambda t: (None, 0))
e.start_recording(__import__('pathlib').Path({str(log)!r}))
for i in range(40):
    e.push(ControlEvent(i / 20, 'osc', '/livegen/master/fade', 0.5))
    e.tick(i / 20)
    if i == 30:
        __import__('time').sleep(1.1)
os._exit(1)  # killed: no close, no flush at exit
"""
    subprocess.run([sys.executable, "-c", code], check=False, timeout=120)
    lines = log.read_text().splitlines()
    header = json.loads(lines[0])
    assert header["livegen_show"] == 1 and header["seed"] == 3 and len(header["patch_hash"]) == 64
    assert "patch_text" in header and "models" in header
    frames = [json.loads(x) for x in lines[1:] if '"frame"' in x]
    assert len(frames) >= 30, "everything up to the last flush (at most a second before the crash) is kept"
