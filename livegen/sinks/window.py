"""The live windows: a clean output window for the audience and an operator window with the HUD.

Runs on the main thread (SDL wants its events there). It never waits for the nets: each repaint
shows whatever frame the render worker finished last, so a slow model lowers the model fps in the
HUD but never the repaint rate or the responsiveness of the keys.

The output window shows only the frame (fullscreen on a chosen display for the projector). The
operator window shows a preview, the HUD lines and a bar per parameter. Either can be closed and
the show goes on in the other; closing the last one ends the show. Both are SDL windows with their
own renderer (``pygame._sdl2.video``), on any video driver: X11, Wayland, KMS, or ``dummy`` headless.
With ``operator=False`` there is one window and the HUD overlays it (H hides it).
The output window can instead be a :class:`livegen.sinks.gl.GLWindow` (``[output] gl``): it takes
the frame as an RGBA tensor on the render device and draws no HUD overlay; keys work in it alike.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from livegen.size import Size

if TYPE_CHECKING:
    import torch

    from livegen.sinks.gl import GLWindow

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402
from pygame._sdl2 import video  # noqa: E402

# Window keys -> commands for the runner. Number keys recall scenes 1..9.
KEYMAP = {
    pygame.K_ESCAPE: "quit",
    pygame.K_q: "quit",
    pygame.K_f: "fullscreen",
    pygame.K_h: "hud",
    pygame.K_SPACE: "jump",
    pygame.K_l: "learn",
    pygame.K_r: "record",
    pygame.K_UP: "up",
    pygame.K_DOWN: "down",
    pygame.K_RETURN: "enter",
    pygame.K_t: "tap",  # tap tempo
}

# Every non-ASCII character the HUD writes, with the ASCII it falls back to when no font has it.
HUD_GLYPHS = {"—": "-", "·": "|", "●": "*", "↑": "^", "↓": "v", "▶": ">", "→": "->", "…": "...", "±": "+/-",
              "σ": "sd", "×": "x", "²": "2"}
# Fonts tried in order for the HUD (fontconfig names; DejaVu/Noto on Linux, Segoe/Arial elsewhere).
HUD_FONTS = ("dejavusans", "notosans", "freesans", "liberationsans", "segoeui", "arialunicodems", "arial")
HUD_PX = 15
# SDL_WINDOWPOS_CENTERED_DISPLAY(n): a window placed at the centre of display n.
_CENTERED_ON = 0x2FFF0000
OPERATOR_SIZE = Size(760, 520)
PREVIEW_BOX = Size(320, 240)


class DisplayError(ValueError):
    """A display index that does not exist; the message lists the displays there are."""


def list_displays() -> list[Size]:
    """Desktop size of every display SDL sees, by index (what ``--display`` chooses from)."""
    pygame.display.init()
    return [Size(w, h) for w, h in pygame.display.get_desktop_sizes()]


def check_display(index: int) -> None:
    """Raise DisplayError naming the displays when ``index`` is not one of them."""
    displays = list_displays()
    if not 0 <= index < len(displays):
        listed = ", ".join(f"{i}: {s.w}x{s.h}" for i, s in enumerate(displays))
        raise DisplayError(f"display {index} does not exist; the displays are {listed} "
                           f"(driver {pygame.display.get_driver()})")


class HudFont:
    """A font for the HUD that draws every glyph the HUD uses.

    The first installed font of HUD_FONTS that has all of HUD_GLYPHS wins; otherwise the one with
    the most, and the glyphs it lacks are written in ASCII instead of as empty boxes.
    """

    def __init__(self, px: int = HUD_PX) -> None:
        pygame.font.init()
        best: tuple[int, pygame.font.Font, str] | None = None
        for name in HUD_FONTS:
            path = pygame.font.match_font(name)
            if not path:
                continue
            font = pygame.font.Font(path, px)
            has = sum(self._provides(font, g) for g in HUD_GLYPHS)
            if best is None or has > best[0]:
                best = (has, font, path)
            if has == len(HUD_GLYPHS):
                break
        if best is None:
            best = (0, pygame.font.Font(None, px + 4), "pygame default")
        _, self.font, self.path = best
        self.missing = {g: a for g, a in HUD_GLYPHS.items() if not self._provides(self.font, g)}
        self._cache: dict[tuple[str, tuple[int, ...]], pygame.Surface] = {}

    @staticmethod
    def _provides(font: pygame.font.Font, glyph: str) -> bool:
        # pygame has no "has glyph" query: a missing glyph renders as the font's .notdef box, the
        # same picture as a private-use code point no font draws.
        def pixels(text: str) -> bytes:
            return pygame.image.tobytes(font.render(text, False, (255, 255, 255), (0, 0, 0)), "RGB")

        return pixels(glyph) != pixels("\ue000")

    def render(self, text: str, color: tuple[int, int, int] = (235, 235, 235)) -> pygame.Surface:
        for glyph, ascii_text in self.missing.items():
            text = text.replace(glyph, ascii_text)
        key = (text, color)
        surf = self._cache.get(key)
        if surf is None:
            if len(self._cache) > 512:  # HUD lines change every frame (fps, ms): keep the cache bounded
                self._cache.clear()
            surf = self._cache[key] = self.font.render(text, True, color)
        return surf

    @property
    def line_height(self) -> int:
        return self.font.get_linesize()


@dataclass
class Bar:
    """One parameter bar of the operator window: its name, position in its range (0..1) and value text."""

    name: str
    fraction: float
    text: str


class _Window:
    """One SDL window with its renderer; shows a pygame Surface scaled to fit (letterboxed)."""

    def __init__(self, title: str, size: Size, display: int, vsync: bool) -> None:
        # SDL's dummy driver has no GPU renderer; the software one is exactly what headless runs want.
        warnings.filterwarnings("ignore", message="no fast renderer available")
        self.window = video.Window(title, size=tuple(size), position=(_CENTERED_ON | display, _CENTERED_ON | display))
        try:
            self.renderer = video.Renderer(self.window, vsync=vsync)
        except pygame.error:  # drivers without vsync (dummy, some X servers): pace by the clock instead
            self.renderer = video.Renderer(self.window)
        self.content = size
        self.renderer.logical_size = tuple(size)
        self._texture: video.Texture | None = None
        self._shown: pygame.Surface | None = None

    def show(self, surface: pygame.Surface) -> None:
        if self._texture is None or self._texture.width != surface.get_width() \
                or self._texture.height != surface.get_height():
            self._texture = video.Texture.from_surface(self.renderer, surface)
        else:
            self._texture.update(surface)
        self._shown = surface
        self._draw()
        self.renderer.present()

    def _draw(self) -> None:
        self.renderer.draw_color = (0, 0, 0, 255)
        self.renderer.clear()
        if self._texture is not None:
            self._texture.draw(dstrect=(0, 0, *self.content))

    def screenshot(self) -> np.ndarray:
        """What the renderer draws for this window, read back from it (H x W x 3 uint8)."""
        self._draw()
        surf = self.renderer.to_surface()
        return np.ascontiguousarray(pygame.surfarray.array3d(surf).transpose(1, 0, 2))

    def set_fullscreen(self, on: bool) -> None:
        if on:
            self.window.set_fullscreen(desktop=True)
        else:
            self.window.set_windowed()

    def destroy(self) -> None:
        self._texture = None
        self.window.destroy()


class WindowSink:
    """The output window and (unless ``operator=False``) the operator window of a live show."""

    def __init__(self, size: Size, title: str = "livegen", fullscreen: bool = False,
                 display: int = 0, hud: bool = True, vsync: bool = True, operator: bool = True,
                 gl_output: GLWindow | None = None) -> None:
        pygame.display.init()
        check_display(display)
        self.size = Size(*size)
        self.display = display
        self.fullscreen = fullscreen
        self.hud = hud
        self.font = HudFont()
        self.gl = gl_output
        self.output: _Window | GLWindow | None = gl_output or _Window(title, self.size, display, vsync)
        if fullscreen:
            self.output.set_fullscreen(True)
        self.operator: _Window | None = None
        if operator:
            # The operator screen is the laptop's: display 0 unless that is where the output goes.
            where = 0 if display != 0 or len(list_displays()) == 1 else 1
            self.operator = _Window(f"{title} — operator", OPERATOR_SIZE, where, vsync=False)
        self.frames_shown = 0

    @property
    def open_windows(self) -> list[str]:
        return [name for name, w in (("output", self.output), ("operator", self.operator)) if w is not None]

    def toggle_fullscreen(self) -> None:
        self.fullscreen = not self.fullscreen
        if self.output is not None:
            self.output.set_fullscreen(self.fullscreen)

    def close_window(self, which: str) -> None:
        """Close the "output" or "operator" window; the other goes on."""
        w = getattr(self, which)
        if w is not None:
            w.destroy()
            setattr(self, which, None)

    def poll(self) -> list[str]:
        """Drain SDL events; returns commands ("quit", "fullscreen", "hud", "jump", "scene:N", ...)."""
        commands: list[str] = []
        for ev in pygame.event.get():
            if ev.type == pygame.WINDOWCLOSE:
                for name in self.open_windows:
                    if getattr(self, name).window is getattr(ev, "window", None):
                        self.close_window(name)
                if not self.open_windows:
                    commands.append("quit")
            elif ev.type == pygame.QUIT:
                commands.append("quit")
            elif ev.type == pygame.KEYDOWN:
                if ev.key in KEYMAP:
                    commands.append(KEYMAP[ev.key])
                elif pygame.K_1 <= ev.key <= pygame.K_9:
                    commands.append(f"scene:{ev.key - pygame.K_0}")
        return commands

    def present(self, image: np.ndarray | None, hud_lines: Sequence[str] = (), bars: Sequence[Bar] = (),
                rgba: torch.Tensor | None = None) -> None:
        """Show the frame in the output window and the preview, HUD and bars in the operator window.

        With a GL output window ``rgba`` (see ``sinks.gl.to_rgba8``) is what it shows and ``image``
        feeds only the operator's preview (it may be smaller than the output)."""
        frame = pygame.Surface(self.size)
        if image is not None:
            h, w = image.shape[:2]
            frame = pygame.image.frombuffer(image, (w, h), "RGB")
            if (w, h) != self.size:
                frame = pygame.transform.smoothscale(frame, self.size)
        if self.gl is not None:
            if self.output is not None and rgba is not None:
                self.gl.present_rgba(rgba)
        elif self.output is not None:
            if self.operator is None and self.hud and hud_lines:
                frame = frame.copy()
                self._draw_lines(frame, hud_lines, (0, 0), panel=True)
            self.output.show(frame)
        if self.operator is not None:
            self.operator.show(self._operator_view(frame, hud_lines if self.hud else (), bars))
        self.frames_shown += 1

    def _operator_view(self, frame: pygame.Surface, lines: Sequence[str], bars: Sequence[Bar]) -> pygame.Surface:
        view = pygame.Surface(OPERATOR_SIZE)
        view.fill((24, 24, 28))
        scale = min(PREVIEW_BOX.w / self.size.w, PREVIEW_BOX.h / self.size.h)
        preview = pygame.transform.smoothscale(frame, (max(1, int(self.size.w * scale)),
                                                       max(1, int(self.size.h * scale))))
        view.blit(preview, (8, 8))
        self._draw_bars(view, bars, left=PREVIEW_BOX.w + 20, top=8)
        self._draw_lines(view, lines, (8, PREVIEW_BOX.h + 16), panel=False)
        return view

    def _draw_bars(self, view: pygame.Surface, bars: Sequence[Bar], left: int, top: int) -> None:
        width = OPERATOR_SIZE.w - left - 8
        row = self.font.line_height + 2
        for i, bar in enumerate(bars[: (PREVIEW_BOX.h + 8) // row]):
            y = top + i * row
            pygame.draw.rect(view, (55, 55, 62), (left, y, width, row - 2))
            pygame.draw.rect(view, (70, 130, 200), (left, y, int(width * min(max(bar.fraction, 0.0), 1.0)), row - 2))
            view.blit(self.font.render(f"{bar.name}  {bar.text}"), (left + 4, y))

    def _draw_lines(self, target: pygame.Surface, lines: Sequence[str], at: tuple[int, int], panel: bool) -> None:
        rendered = [self.font.render(line) for line in lines]
        if not rendered:
            return
        if panel:
            w = min(max(r.get_width() for r in rendered) + 12, target.get_width())
            h = min(sum(r.get_height() for r in rendered) + 8, target.get_height())
            shade = pygame.Surface((w, h), pygame.SRCALPHA)
            shade.fill((0, 0, 0, 150))
            target.blit(shade, at)
        x, y = at[0] + 6, at[1] + 4
        for r in rendered:
            if y >= target.get_height():
                break
            target.blit(r, (x, y))
            y += r.get_height()

    def screenshot(self, which: str = "output") -> np.ndarray:
        """What the "output" or "operator" window shows now, as H x W x 3 uint8 (tests, bug reports)."""
        w = getattr(self, which)
        if w is None:
            raise ValueError(f"the {which} window is closed")
        return w.screenshot()

    def close(self) -> None:
        for name in self.open_windows:
            self.close_window(name)
        pygame.display.quit()
