"""Starts and stops the live control inputs a show enables (OSC server, MIDI ports, OSC and MIDI feedback).

The live runner calls :func:`start_inputs` once at start (:func:`restart_inputs` when a saved
patch changes the [osc] or [midi] settings), ``feedback(snap, info)`` once per frame,
``status()`` for the HUD, and ``close()`` at the end. A busy OSC port or a missing MIDI system
is reported in ``status()`` and the log; the show runs on without that input.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from livegen.config import ConfigError
from livegen.control.bus import ControlBus
from livegen.control.echo import Echo
from livegen.control.mapping.schema import MappingConfig, osc_sources
from livegen.control.midi import MidiConfig, MidiInputs
from livegen.control.midiout import MidiFeedback
from livegen.control.osc.config import OscConfig, ipv4
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
        self.midi_out: MidiFeedback | None = None
        self.problems: list[str] = []

    def status(self) -> list[str]:
        lines = list(self.problems)
        if self.osc is not None:
            lines += self.osc.status()
        if self.midi is not None:
            lines += self.midi.status()
        if self.midi_out is not None:
            lines += self.midi_out.status()
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
            if self.midi_out is not None:
                scene = info.get("scene", "")
                self.midi_out.send(snap, scene if isinstance(scene, str) else "")
        except Exception as e:  # feedback must never stop a show
            log.debug("feedback: %s", e)

    def close(self) -> None:
        for part in (self.osc, self.midi, self.out, self.midi_out):
            if part is not None:
                try:
                    part.close()
                except Exception as e:
                    log.warning("closing %s: %s", type(part).__name__, e)
        self.osc = self.midi = self.out = self.midi_out = None


def start_inputs(osc: OscConfig, midi: MidiConfig, mappings: Iterable[MappingConfig], bus: ControlBus,
                 now: Callable[[], float], registry: ParamRegistry) -> ControlInputs:
    """Start the inputs the [osc] and [midi] settings enable; events are stamped with ``now()`` (engine seconds).

    ``mappings`` tell the OSC server which addresses besides the parameters and actions to let through.
    """
    inputs = ControlInputs(bus)
    mappings = list(mappings)
    echo = Echo(registry, mappings)
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
                inputs.out = OscFeedback(osc.feedback, osc.feedback_rate, registry, osc.aliases, echo,
                                         osc.enums_as_numbers)
            except OSError as e:
                inputs.problems.append(f"osc feedback to {osc.feedback}: {e}")
    if midi.enabled:
        try:
            inputs.midi = MidiInputs(midi, bus, now).start()
            if midi.feedback:
                m = inputs.midi
                inputs.midi_out = MidiFeedback(echo, lambda name: m.wanted(name, outputs=True), m.rtapi,
                                               m.touched, rescan=midi.rescan).start()
        except ImportError as e:
            inputs.problems.append(f"midi: python-rtmidi missing ({e})")
        except ValueError as e:  # an api this python-rtmidi was built without
            inputs.problems.append(f"midi: {e}")
            log.warning("midi: %s", e)
    return inputs


def restart_inputs(current: ControlInputs, osc: OscConfig, midi: MidiConfig, mappings: Iterable[MappingConfig],
                   now: Callable[[], float], registry: ParamRegistry) -> ControlInputs:
    """Apply edited [osc]/[midi] settings; if the new OSC server cannot listen, the old one keeps running.

    The old server is closed first only when the new one wants its very host and port (the new
    one could not bind otherwise); if binding then fails, the old settings are bound again. The
    HUD and the log say which settings are in effect.
    """
    old = current.osc
    rebind = old is not None and (str(ipv4(osc.host)), osc.port) == (old.host, old.port)
    for part in (current.midi, current.out, current.midi_out, old if rebind else None):
        if part is not None:
            try:
                part.close()
            except Exception as e:
                log.warning("closing %s: %s", type(part).__name__, e)
    current.osc = current.midi = current.out = current.midi_out = None
    new = start_inputs(osc, midi, mappings, current.bus, now, registry)
    if new.osc is None and old is not None and osc.enabled:
        kept: OscServer | None = old
        if rebind:
            try:  # the edited settings did not take: listen again as before
                kept = OscServer(old.config, current.bus, now, old.dispatcher.book).start()
            except OSError as e:
                kept = None
                new.problems.append(f"osc: cannot listen with the old settings either ({e.strerror or e})")
        if kept is not None:
            line = (f"osc: new [osc] settings not applied (cannot listen on {osc.host}:{osc.port}); "
                    f"still listening on {kept.host}:{kept.port} with the old ones")
            new.problems = [p for p in new.problems if not p.startswith("osc: cannot listen")] + [line]
            log.warning(line)
            new.osc = kept
    elif old is not None and not rebind:
        old.close()
    return new
