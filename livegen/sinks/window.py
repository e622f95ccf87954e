"""The pygame window: shows the newest finished frame at display rate, draws the HUD, reads keys.

Runs on the main thread (SDL wants its events there). It never waits for the nets: each repaint
blits whatever frame the render worker finished last, so a slow model lowers the model fps in the
HUD but never the repaint rate or the responsiveness of the keys.
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from livegen.size import Size

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402

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


class WindowSink:
    """A real SDL window (any video driver: X11, Wayland, KMS, or ``dummy`` headless)."""

    def __init__(self, size: Size, title: str = "livegen", fullscreen: bool = False,
                 display: int = 0, hud: bool = True, vsync: bool = True) -> None:
        pygame.display.init()
        pygame.font.init()
        self.size = size
        self.display = display
        self.fullscreen = fullscreen
        self.vsync = vsync
        self.hud = hud
        pygame.display.set_caption(title)
        self._screen = self._set_mode()
        self._font = pygame.font.Font(None, 20)
        self.frames_shown = 0

    def _set_mode(self) -> pygame.Surface:
        # SDL's dummy driver has no GPU renderer; pygame warns and falls back to software,
        # which is exactly what headless runs want.
        warnings.filterwarnings("ignore", message="no fast renderer available")
        flags = pygame.SCALED | (pygame.FULLSCREEN if self.fullscreen else 0)
        n = pygame.display.get_num_displays() if pygame.display.get_init() else 1
        display = self.display if 0 <= self.display < n else 0
        if self.vsync:
            try:
                return pygame.display.set_mode(self.size, flags, display=display, vsync=1)
            except pygame.error:
                pass  # drivers without vsync (dummy, some X servers): pace by the clock instead
        return pygame.display.set_mode(self.size, flags, display=display)

    def toggle_fullscreen(self) -> None:
        self.fullscreen = not self.fullscreen
        self._screen = self._set_mode()

    def poll(self) -> list[str]:
        """Drain SDL events; returns commands ("quit", "fullscreen", "hud", "jump", "scene:N", ...)."""
        commands: list[str] = []
        for ev in pygame.event.get():
            if ev.type == pygame.QUIT:
                commands.append("quit")
            elif ev.type == pygame.KEYDOWN:
                if ev.key in KEYMAP:
                    commands.append(KEYMAP[ev.key])
                elif pygame.K_1 <= ev.key <= pygame.K_9:
                    commands.append(f"scene:{ev.key - pygame.K_0}")
        return commands

    def present(self, image: np.ndarray | None, hud_lines: list[str] = ()) -> None:  # type: ignore[assignment]
        """Blit the frame (scaled to the window if needed), draw the HUD and flip."""
        if image is not None:
            h, w = image.shape[:2]
            surf = pygame.image.frombuffer(image, (w, h), "RGB")
            if (w, h) != self.size:
                surf = pygame.transform.smoothscale(surf, self.size)
            self._screen.blit(surf, (0, 0))
        else:
            self._screen.fill((0, 0, 0))
        if self.hud and hud_lines:
            self._draw_hud(hud_lines)
        pygame.display.flip()
        self.frames_shown += 1

    def _draw_hud(self, lines: list[str]) -> None:
        rendered = [self._font.render(line, True, (235, 235, 235)) for line in lines]
        width = max(r.get_width() for r in rendered) + 12
        height = sum(r.get_height() for r in rendered) + 8
        panel = pygame.Surface((min(width, self.size[0]), min(height, self.size[1])), pygame.SRCALPHA)
        panel.fill((0, 0, 0, 150))
        self._screen.blit(panel, (0, 0))
        y = 4
        for r in rendered:
            self._screen.blit(r, (6, y))
            y += r.get_height()

    def screenshot(self) -> np.ndarray:
        """What the window shows now, as H x W x 3 uint8 (tests, bug reports)."""
        return np.ascontiguousarray(pygame.surfarray.array3d(self._screen).transpose(1, 0, 2))

    def close(self) -> None:
        pygame.display.quit()
