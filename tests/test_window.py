"""Stories about the live window (a real SDL window on the dummy video driver)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pygame
import pytest
import torch
import xvfb_fixture
from xvfb_fixture import close_window, window_ids

from livegen.clock import WallClock
from livegen.engine import Engine
from livegen.live import LiveRunner
from livegen.patch import parse_patch
from livegen.sinks.window import HUD_GLYPHS, OPERATOR_SIZE, PREVIEW_BOX, DisplayError, HudFont, WindowSink

xvfb = xvfb_fixture.xvfb

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


# -- the two windows on a real X server --------------------------------------------------------


def x11_runner(monkeypatch, display: str) -> tuple[LiveRunner, Engine, WindowSink]:
    monkeypatch.setenv("SDL_VIDEODRIVER", "x11")
    monkeypatch.setenv("DISPLAY", display)
    engine = Engine(parse_patch(PATCH), torch.device("cpu"), (96, 64), camera=lambda t: (None, 0))
    window = WindowSink((96, 64), title="livegen x11")
    return LiveRunner(engine, window, WallClock(), display_fps=60, model_fps=30), engine, window


def test_under_x11_the_output_window_is_clean_and_the_operator_window_has_preview_hud_and_bars(monkeypatch, xvfb):
    runner, engine, window = x11_runner(monkeypatch, xvfb)
    try:
        runner.run(max_seconds=1.5)
        assert pygame.display.get_driver() == "x11"
        titles = window_ids(xvfb)
        assert "livegen x11" in titles and "livegen x11 — operator" in titles, titles
        newest = runner.newest
        window.present(newest, runner.hud_lines(), runner.bars())
        assert np.array_equal(window.screenshot("output"), newest), "the output window shows only the frame"
        op = window.screenshot("operator")
        assert op.shape == (OPERATOR_SIZE.h, OPERATOR_SIZE.w, 3)
        preview = op[8:8 + 64 * 3, 8:8 + 96 * 3]
        assert preview.std() > 5, "the preview shows the picture"
        hud = op[PREVIEW_BOX.h + 16:, :]
        assert (hud > 200).sum() > 500, "HUD text is drawn below the preview"
        bars = op[8:PREVIEW_BOX.h, PREVIEW_BOX.w + 20:]
        assert (np.abs(bars.astype(int) - (70, 130, 200)).sum(axis=2) < 10).sum() > 100, "parameter bars"
        assert any(b.name == "compose.amount" for b in runner.bars())
    finally:
        window.close()


def test_under_x11_either_window_closes_alone_and_closing_both_ends_the_show(monkeypatch, xvfb):
    runner, engine, window = x11_runner(monkeypatch, xvfb)
    seen: dict[str, object] = {}

    def operator_user() -> None:
        time.sleep(1.0)
        ids = window_ids(xvfb)
        close_window(xvfb, ids["livegen x11"])  # the output window first: the operator still runs
        time.sleep(1.0)
        seen["open"] = list(window.open_windows)
        seen["shown"] = window.frames_shown
        time.sleep(0.5)
        seen["shown later"] = window.frames_shown
        close_window(xvfb, ids["livegen x11 — operator"])

    th = threading.Thread(target=operator_user, daemon=True)
    th.start()
    t0 = time.monotonic()
    try:
        runner.run(max_seconds=20)
    finally:
        window.close()
    assert time.monotonic() - t0 < 10, "closing the last window ended the show"
    assert seen["open"] == ["operator"]
    assert seen["shown later"] > seen["shown"], "the operator window kept repainting"


def test_a_display_that_does_not_exist_is_an_error_listing_the_displays():
    with pytest.raises(DisplayError, match=r"display 3 does not exist; the displays are 0: \d+x\d+"):
        WindowSink((96, 64), display=3)


def test_every_glyph_the_hud_uses_is_drawn_by_its_font():
    font = HudFont()
    assert font.missing == {}, f"{font.path} lacks {sorted(font.missing)}"
    box = pygame.image.tobytes(font.font.render("\ue000", False, (255, 255, 255), (0, 0, 0)), "RGB")
    for glyph in HUD_GLYPHS:
        drawn = pygame.image.tobytes(font.font.render(glyph, False, (255, 255, 255), (0, 0, 0)), "RGB")
        assert drawn != box, f"{glyph!r} renders as an empty box"


def test_without_a_font_that_has_them_the_hud_writes_the_glyphs_in_ascii(monkeypatch):
    monkeypatch.setattr("livegen.sinks.window.HUD_FONTS", ())
    font = HudFont()  # pygame's own font: no arrows, no triangles
    assert "▶" in font.missing
    assert pygame.image.tobytes(font.render("  ▶ master.fade"), "RGB") == \
        pygame.image.tobytes(font.render("  > master.fade"), "RGB")


def test_the_hud_prints_control_values_with_a_few_digits():
    from livegen.control.bus import ControlEvent

    engine = Engine(parse_patch(PATCH), torch.device("cpu"), (96, 64), camera=lambda t: (None, 0))
    engine.push(ControlEvent(0.0, "osc", "/livegen/compose/amount", float(np.float32(0.3))))
    engine.tick(0.05)
    assert "osc /livegen/compose/amount 0.3" in engine.recent
