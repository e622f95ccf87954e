"""MIDI learn from the window: L, pick a parameter with the arrow keys, Enter, move a control.

Runs on both threads of the live loop: keys arrive on the window thread (``command``), control
events on the render worker (``tap``, installed as an engine tap). The learned mapping is written
into the patch file, whose hot reload then makes it live without a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from livegen.control.actions import ACTIONS
from livegen.control.bus import ControlEvent
from livegen.control.learn import MidiLearn, write_mapping
from livegen.params import ParamRegistry
from livegen.patch import parse_patch

log = logging.getLogger("livegen.learn")


class LearnMode:
    """State machine: off → choosing a target → listening for a control → off."""

    def __init__(self, registry: ParamRegistry, patch_path: Path | None,
                 prompt: Callable[[], str] = lambda: "move a control") -> None:
        self.registry = registry
        self.patch_path = patch_path
        # What to do to be learned, from the inputs listening right now ("move a control",
        # "send OSC to ...", or why nothing can be learned yet): asked at every repaint, so a
        # controller plugged in meanwhile changes the line.
        self.prompt = prompt
        self.targets = [s.name for s in registry] + [a for a in ACTIONS if a != "quit"]
        self.index = 0
        self.state = "off"
        self.learn = MidiLearn(registry)
        self.message = ""

    @property
    def target(self) -> str:
        return self.targets[self.index]

    def command(self, cmd: str) -> bool:
        """Handle a window command; True when learn mode consumed it."""
        if cmd == "learn":
            if self.state == "off":
                self.state = "choose"
            else:
                self.cancel("MIDI learn cancelled")
            return True
        if self.state == "off":
            return False
        if cmd == "quit":  # Esc leaves learn mode instead of ending the show
            self.cancel("MIDI learn cancelled")
            return True
        if self.state == "choose":
            if cmd in ("up", "down"):
                self.index = (self.index + (1 if cmd == "down" else -1)) % len(self.targets)
                return True
            if cmd == "enter":
                self.learn.begin(self.target)
                self.state = "listen"
                return True
        return cmd in ("up", "down", "enter")

    def cancel(self, message: str) -> None:
        self.learn.cancel()
        self.state = "off"
        self.message = message

    def tap(self, event: ControlEvent) -> None:
        """Offered every applied control event (render worker thread)."""
        if self.state != "listen":
            return
        mapping = self.learn.offer(event)
        if mapping is None:
            return
        self.state = "off"
        if self.patch_path is None:
            self.message = f"learned {mapping.source} → {mapping.target} (no patch file to save it in)"
            return
        try:
            write_mapping(self.patch_path, mapping, lambda text, path: parse_patch(text, path, self.registry))
            self.message = f"learned {mapping.source} → {mapping.target}, saved in {self.patch_path.name}"
        except Exception as e:  # noqa: BLE001 — a failed save must not stop the show
            self.message = f"could not save the mapping: {e}"
        log.info(self.message)

    def hud_lines(self) -> list[str]:
        if self.state == "choose":
            n = len(self.targets)
            window = [self.targets[(self.index + k) % n] for k in (-1, 0, 1)]
            return ["MIDI learn — ↑/↓ choose, Enter select, Esc cancel:",
                    f"    {window[0]}", f"  ▶ {window[1]}", f"    {window[2]}"]
        if self.state == "listen":
            return [f"MIDI learn — {self.prompt()} for {self.target} (Esc cancels)"]
        return [f"MIDI learn: {self.message}"] if self.message else []
