"""Starts and stops the live control inputs a show enables (OSC server, MIDI ports, OSC feedback).

The live runner calls :func:`start_inputs` once at start (and again when a saved patch changes
the [osc] or [midi] settings), ``feedback(snap, info)`` once per frame, ``status()`` for the HUD,
and ``close()`` at the end. A busy OSC port or a missing MIDI
system is reported in ``status()`` and the log; the show runs on without that input.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from livegen.config import ConfigError
from livegen.control.bus import ControlBus
from livegen.control.mapping.schema import MappingConfig, osc_sources
from livegen.control.midi import MidiConfig, MidiInputs
from livegen.control.osc.config import OscConfig
from livegen.control.osc.feedback import OscFeedback
from livegen.control.osc.schema import AddressBook
from livegen.control.osc.server import OscServer
from livegen.params import ParamRegistry, Snapshot

log = logging.getLogger("livegen.control")


class ControlInputs:
    """The running inputs; every method is safe to call whatever failed to start."""

    def __init__(self, bus: ControlBus) -> None:
        self.bus = bus
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
        if self.bus.dropped:
            lines.append(f"control bus full: {self.bus.dropped} events dropped")
        return lines

    def feedback(self, snap: Snapshot, info: dict[str, Any]) -> None:
        """Once per frame: make queries answer with this frame's values; send feedback if asked."""
        try:
            if self.osc is not None:
                self.osc.dispatcher.values = snap  # one reference swap: the receive thread only reads it
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


def start_inputs(osc: OscConfig, midi: MidiConfig, mappings: Iterable[MappingConfig], bus: ControlBus,
                 now: Callable[[], float], registry: ParamRegistry) -> ControlInputs:
    """Start the inputs the [osc] and [midi] settings enable; events are stamped with ``now()`` (engine seconds).

    ``mappings`` tell the OSC server which addresses besides the parameters and actions to let through.
    """
    inputs = ControlInputs(bus)
    if osc.enabled:
        try:
            book = AddressBook(registry, osc.aliases, osc_sources(mappings))
            inputs.osc = OscServer(osc, bus, now, book).start()
        except OSError as e:
            msg = f"osc: cannot listen on {osc.host}:{osc.port} ({e.strerror or e})"
            inputs.problems.append(msg)
            log.warning(msg)
        except ConfigError as e:  # a bad alias; patch loading normally catches it first
            inputs.problems.append(f"osc: {e}")
            log.warning("osc: %s", e)
        if osc.feedback:
            try:
                inputs.out = OscFeedback(osc.feedback, osc.feedback_rate)
            except OSError as e:
                inputs.problems.append(f"osc feedback to {osc.feedback}: {e}")
    if midi.enabled:
        try:
            inputs.midi = MidiInputs(midi, bus, now).start()
        except ImportError as e:
            inputs.problems.append(f"midi: python-rtmidi missing ({e})")
    return inputs
