"""Stories about the live window (a real SDL window on the dummy video driver)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pygame
import torch

from livegen.clock import WallClock
from livegen.engine import Engine
from livegen.live import LiveRunner
from livegen.patch import parse_patch
from livegen.sinks.window import WindowSink

PATCH = """
name = "window"
[output]
size = "96x64"
[scenes.one]
key = 1
values = { "compose.amount" = 0.1 }
[scenes.two]
key = 2
values = { "compose.amount" = 0.9, "compose.mode" = "difference" }
"""


def press(key: int, after: float) -> threading.Thread:
    def go() -> None:
        time.sleep(after)
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode="", scancode=0))

    th = threading.Thread(target=go, daemon=True)
    th.start()
    return th


def make_runner(camera=lambda t: (None, 0)) -> tuple[LiveRunner, Engine, WindowSink]:
    engine = Engine(parse_patch(PATCH), torch.device("cpu"), (96, 64), camera=camera)
    window = WindowSink((96, 64), title="livegen test")
    return LiveRunner(engine, window, WallClock(), display_fps=60, model_fps=30), engine, window


def test_the_window_opens_and_shows_the_rendered_frames():
    runner, engine, window = make_runner()
    try:
        runner.run(max_seconds=1.5)
        shot = window.screenshot()
        assert shot.shape == (64, 96, 3)
        assert window.frames_shown > 10
        assert engine.frame > 3
        newest = runner.newest
        window.hud = False
        window.present(newest)
        assert np.array_equal(window.screenshot(), newest), "the window shows exactly the newest frame"
    finally:
        window.close()


def test_number_keys_recall_scenes_and_escape_quits():
    runner, engine, window = make_runner()
    try:
        press(pygame.K_2, 0.4)
        press(pygame.K_ESCAPE, 1.2)
        t0 = time.monotonic()
        runner.run(max_seconds=20)
        assert time.monotonic() - t0 < 15, "Esc ended the show"
        assert engine.store.get("compose.mode") == "difference"
        assert engine.store.get("compose.amount") == 0.9
        assert any("scene two" in r for r in engine.recent)
    finally:
        window.close()


def test_space_asks_the_generator_for_a_latent_jump_and_h_hides_the_hud():
    runner, engine, window = make_runner()
    seen = []
    original = engine.mapper.apply

    def spy(event, store):
        seen.append(event.address)
        return original(event, store)

    engine.mapper.apply = spy
    try:
        press(pygame.K_SPACE, 0.3)
        press(pygame.K_h, 0.5)
        press(pygame.K_q, 1.0)
        runner.run(max_seconds=20)
        assert "/livegen/generator/jump" in seen
        assert window.hud is False
    finally:
        window.close()


def test_the_window_keeps_repainting_at_display_rate_while_the_model_is_slow():
    def slow_camera(t):
        time.sleep(0.25)  # a model far slower than the display (4 fps)
        return None, 0

    runner, engine, window = make_runner(camera=slow_camera)
    try:
        runner.run(max_seconds=2.0)
        assert window.frames_shown >= 40, "repaints continue at ~60 fps while frames take 250 ms"
        assert engine.frame <= 10
    finally:
        window.close()


def test_midi_learn_in_the_window_writes_the_mapping_into_the_patch_and_it_goes_live(tmp_path):
    """L, pick a parameter with the arrows, Enter, turn a knob: the knob now drives it.

    The knob's messages are pushed as the MIDI input would push them (the MIDI port itself is
    exercised by the control tests on a real JACK port).
    """
    from livegen.control.bus import ControlEvent
    from livegen.patch import load_patch

    patch_file = tmp_path / "learn.toml"
    patch_file.write_text("# my show\n" + PATCH)
    engine = Engine(load_patch(patch_file), torch.device("cpu"), (96, 64), camera=lambda t: (None, 0), watch=True)
    engine.watcher.interval = 0.0
    window = WindowSink((96, 64), title="learn test")
    clock = WallClock()
    runner = LiveRunner(engine, window, clock, display_fps=60, model_fps=30)
    target = runner.learn.targets.index("master.fade")
    press(pygame.K_l, 0.2)
    for i in range(target):
        press(pygame.K_DOWN, 0.3 + 0.001 * i)
    press(pygame.K_RETURN, 0.6)

    def knob() -> None:
        time.sleep(0.9)
        for v in (10, 20, 30):
            engine.push(ControlEvent(clock.now(), "midi", "midi/cc/1/21", v))
            time.sleep(0.05)
        time.sleep(1.0)  # the patch is saved and reloaded
        engine.push(ControlEvent(clock.now(), "midi", "midi/cc/1/21", 0))

    th = threading.Thread(target=knob, daemon=True)
    th.start()
    try:
        runner.run(max_seconds=3.0)
    finally:
        window.close()
    text = patch_file.read_text()
    assert text.startswith("# my show\n"), "the rest of the patch is kept as it was"
    assert 'source = "midi/cc/1/21"' in text and 'target = "master.fade"' in text
    assert "learned midi/cc/1/21" in runner.learn.message
    assert engine.store.targets["master.fade"] == 0.0, "after reload the knob drives the fade"
