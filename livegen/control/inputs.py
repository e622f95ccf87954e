"""Starts and stops the live control inputs a patch enables (OSC server, MIDI ports, OSC feedback).

The engine calls :func:`start_control_sources` once at start, ``feedback(snap, info)`` once per
frame, ``status()`` for the HUD, and ``close()`` at the end. A busy OSC port or a missing MIDI
system is reported in ``status()`` and the log; the show runs on without that input.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from livegen.config import ConfigError
from livegen.control.addresses import AddressBook
from livegen.control.bus import ControlBus
from livegen.control.midi import MidiInputs
from livegen.control.osc import OscFeedback, OscServer
from livegen.params import ParamRegistry, Snapshot

if TYPE_CHECKING:
    from livegen.patch import Patch

log = logging.getLogger("livegen.control")


class ControlSources:
    """The running inputs; every method is safe to call whatever failed to start."""

    def __init__(self) -> None:
        self.osc: OscServer | None = None
        self.midi: MidiInputs | None = None
        self.out: OscFeedback | None = None
        self.problems: list[str] = []

    def status(self) -> list[str]:
        lines = list(self.problems)
        if self.osc is not None:
            lines += self.osc.status()
        if self.midi is not None:
            lines += self.midi.status()
        if self.out is not None and self.out.errors:
            lines.append(f"osc feedback: {self.out.errors} send errors ({self.out.last_error})")
        return lines

    def feedback(self, snap: Snapshot, info: dict[str, Any]) -> None:
        """Once per frame: make queries answer with this frame's values; send feedback if asked."""
        try:
            if self.osc is not None:
                self.osc.values = snap  # one reference swap: the receive thread only reads it
            if self.out is not None:
                self.out.send(snap, info, beat=snap.beat)
        except Exception as e:  # feedback must never stop a show
            log.debug("feedback: %s", e)

    def close(self) -> None:
        for part in (self.osc, self.midi, self.out):
            if part is not None:
                try:
                    part.close()
                except Exception as e:
                    log.warning("closing %s: %s", type(part).__name__, e)
        self.osc = self.midi = self.out = None


def start_control_sources(patch: Patch, bus: ControlBus, now: Callable[[], float],
                          registry: ParamRegistry) -> ControlSources:
    """Start what ``patch`` enables; events are stamped with ``now()`` (engine-clock seconds)."""
    cs = ControlSources()
    cfg = patch.osc
    if cfg.enabled:
        mapped = {m.source for m in patch.mappings if not m.source.startswith("midi/")}
        try:
            book = AddressBook(registry, cfg.aliases, mapped)
            cs.osc = OscServer(cfg, bus, now, book).start()
        except OSError as e:
            msg = f"osc: cannot listen on {cfg.host}:{cfg.port} ({e.strerror or e})"
            cs.problems.append(msg)
            log.warning(msg)
        except ConfigError as e:  # a bad alias; patch loading normally catches it first
            cs.problems.append(f"osc: {e}")
            log.warning("osc: %s", e)
        if cfg.feedback:
            try:
                cs.out = OscFeedback(cfg.feedback, cfg.feedback_rate, registry)
            except OSError as e:
                cs.problems.append(f"osc feedback to {cfg.feedback}: {e}")
    if patch.midi.enabled:
        try:
            cs.midi = MidiInputs(patch.midi, bus, now).start()
        except ImportError as e:
            cs.problems.append(f"midi: python-rtmidi missing ({e})")
    return cs
