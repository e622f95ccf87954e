"""Stories about the live show's GL output window (``[output] gl``, ``livegen run --gl``) under a
real X server (Xvfb, Mesa's software OpenGL): the frames reach the window as a texture, a machine
without PyOpenGL gets the plain window and one line saying why, and the CPU default is unchanged."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
import xvfb_fixture

from livegen.live import LiveShow, wants_gl
from livegen.patch import parse_patch

xvfb = xvfb_fixture.xvfb

ROOT = Path(__file__).resolve().parents[1]
PATCH = """
name = "gl"
[output]
size = "96x64"
gl = "on"
"""


def run_story(code: str, display: str, timeout: float = 240) -> subprocess.CompletedProcess:
    env = dict(os.environ, DISPLAY=display, PYTHONPATH=str(ROOT))
    env.pop("SDL_VIDEODRIVER", None)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=ROOT)


SHOW_STORY = f"""
    import threading, time
    import numpy as np, pygame, torch
    from livegen.live import LiveShow
    from livegen.patch import parse_patch
    torch.set_num_threads(1)
    show = LiveShow(parse_patch({PATCH!r}), controls=False)
    gl = show.window.gl
    diffs, distinct = [], set()

    def compare(image):
        # Every repaint: what the GL window shows is the frame the render worker finished.
        if image is not None:
            diffs.append(int(np.abs(gl.read_back().astype(int) - image).max()))
            distinct.add(image.tobytes())

    show.runner.on_present.append(compare)

    def press_q():
        time.sleep(3.0)
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_q, mod=0, unicode="", scancode=0))

    threading.Thread(target=press_q, daemon=True).start()
    t0 = time.monotonic()
    show.play(60)
    took = time.monotonic() - t0
    operator = show.window.screenshot("operator").shape
    show.close()
    print(gl is not None, show.gl_line, len(diffs) > 5, max(diffs), len(distinct) > 1, took < 30, operator)
"""


def test_the_gl_output_window_shows_every_rendered_frame_and_q_still_ends_the_show(xvfb):
    pytest.importorskip("OpenGL", reason="PyOpenGL (the gl extra) is not installed")
    done = run_story(SHOW_STORY, xvfb)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == \
        "True output window: GL, host copy (glTexSubImage2D) True 0 True True (520, 760, 3)"


def test_livegen_run_gl_on_plays_through_the_gl_window_on_the_cpu(xvfb):
    pytest.importorskip("OpenGL", reason="PyOpenGL (the gl extra) is not installed")
    done = run_story("""
        import sys
        from livegen.cli import main
        sys.exit(main(["run", "--gl", "on", "--size", "96x64", "--seconds", "2", "--threads", "1"]))
    """, xvfb)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "output window: GL, host copy (glTexSubImage2D)" in done.stderr


def test_without_pyopengl_gl_on_says_so_in_one_line_and_the_plain_window_plays(xvfb):
    done = run_story(f"""
        import sys
        sys.modules["OpenGL"] = None  # PyOpenGL cannot be imported, as on a machine without the gl extra
        import torch
        from livegen.live import LiveShow
        from livegen.patch import parse_patch
        torch.set_num_threads(1)
        with LiveShow(parse_patch({PATCH!r}), controls=False) as show:
            show.play(2.0)
            shot = show.window.screenshot("output")
            print(show.window.gl is None, shot.shape, show.engine.frame > 0,
                  show.gl_line in show.runner.hud_lines())
    """, xvfb)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "True (64, 96, 3) True True"
    said = [line for line in done.stderr.splitlines() if "GL unavailable" in line]
    assert len(said) == 1
    assert said[0].endswith("output window: plain, GL unavailable (GL window needs PyOpenGL: pip install "
                            "'livegen[gl]')")


def test_auto_on_the_cpu_keeps_the_plain_window_and_the_hud_as_they_were():
    assert wants_gl("auto", torch.device("cpu")) is False
    assert wants_gl("off", torch.device("cuda")) is False
    assert wants_gl("on", torch.device("cpu")) is True
    patch = parse_patch(PATCH.replace('gl = "on"', ""))
    assert patch.output.gl == "auto"
    with LiveShow(patch, controls=False) as show:
        assert show.window.gl is None and show.gl_line is None
        assert not any("output window" in line for line in show.runner.hud_lines())


def test_a_typo_in_the_gl_key_is_an_error_naming_the_choices():
    with pytest.raises(Exception, match="output.gl.*'auto', 'on', 'off'"):
        parse_patch(PATCH.replace('gl = "on"', 'gl = "yes"'))
