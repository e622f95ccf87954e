"""MIDI feedback: pad LEDs, motor faders and LED rings follow the show, on the controller's output port.

Once per frame the render loop hands :meth:`MidiFeedback.send` the snapshot and the active scene;
it works out the raw value of every mapped control (:class:`~livegen.control.echo.Echo`), keeps
the ones that changed, and queues their messages. A thread of its own opens the wanted output
ports (the ``[midi] outputs`` substrings, or else the inputs'), reopens them after a replug, and
sends; the render loop never waits on a MIDI driver.

It does not fight the hand: a control that sent something within the last ``HANDS_OFF_S``
is not driven (a motor fader under a finger, a knob being turned to pick a value up). When a
port (re)opens, every control's value is sent, so a controller plugged in mid-show lights up.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from livegen.control.echo import Echo
from livegen.control.midi import abandon
from livegen.control.midikinds import parse_midi_source

log = logging.getLogger("livegen.midi")

HANDS_OFF_S = 0.5  # a control moved this recently is being held: feedback leaves it alone
_QUEUE_MAX = 4096  # messages waiting for the sender thread; the oldest go first if it falls behind


def midi_bytes(source: str, raw: float, channel: int = 0) -> list[list[int]]:
    """The MIDI message(s) that put control ``source`` at ``raw`` (its own range, e.g. 0..127).

    ``channel`` (1..16) replaces the source's own channel (LED brightness on some pads).
    """
    src = parse_midi_source(source)
    assert src.channel is not None and src.kind in ("cc", "cc14", "note", "pitchbend")
    ch = (channel or src.channel) - 1
    if src.kind == "cc":
        return [[0xB0 | ch, src.number or 0, _clip(raw, 127)]]
    if src.kind == "cc14":
        v = _clip(raw, 16383)
        return [[0xB0 | ch, src.number or 0, v >> 7], [0xB0 | ch, (src.number or 0) + 32, v & 0x7F]]
    if src.kind == "note":
        return [[0x90 | ch, src.number or 0, _clip(raw, 127)]]  # velocity 0: LED off
    v = _clip(raw + 8192, 16383)
    return [[0xE0 | ch, v & 0x7F, v >> 7]]


def _clip(x: float, top: int) -> int:
    return min(max(int(round(x)), 0), top)


class MidiFeedback:
    """Sends mapped controls' values to the controller's output ports, off the render thread."""

    def __init__(self, echo: Echo, wanted: Callable[[str], bool], api: int, touched: Mapping[str, float] | None = None,
                 client_name: str = "livegen", rescan: float = 1.0) -> None:
        self.echo = echo
        self.wanted = wanted
        self.api = api
        self.touched = touched if touched is not None else {}
        self.client_name = client_name
        self.rescan = rescan
        self.sent = 0
        self.error = ""
        self._values: dict[str, float] = {}  # newest value per source (what a newly opened port gets)
        self._last: dict[str, float] = {}  # last value queued per source
        self._keys: dict[str, list[str]] = {}  # bus addresses a source arrives on (both halves of cc14)
        self._queue: deque[list[int]] = deque(maxlen=_QUEUE_MAX)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._ports: dict[str, Any] = {}
        self._labels: dict[str, str] = {}  # our port name for each controller port we send to
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="livegen-midi-out", daemon=True)

    def start(self) -> MidiFeedback:
        self._thread.start()
        return self

    @property
    def ports(self) -> list[str]:
        with self._lock:
            return list(self._ports)

    def send(self, snap: Mapping[str, Any], scene: str) -> None:
        """Once per frame (render thread): queue the messages of controls whose value changed."""
        now = time.monotonic()
        changed = False
        for source, raw in self.echo.values(snap, scene).items():
            self._values[source] = raw
            if self._last.get(source) == raw:
                continue
            keys = self._keys.get(source)
            if keys is None:
                keys = self._keys[source] = [k for k, _ in parse_midi_source(source).keys()]
            if any(now - self.touched.get(k, -1e9) < HANDS_OFF_S for k in keys):
                continue  # the hand is on it; its own value is the truth (sent again once let go)
            self._last[source] = raw
            self._queue.extend(midi_bytes(source, raw, self.echo.channel(source)))
            changed = True
        if changed:
            self._wake.set()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=5)
        with self._lock:
            for port in self._ports.values():
                try:
                    port.close_port()
                    port.delete()
                except Exception as e:
                    log.debug("midi out: closing: %s", e)
            self._ports.clear()

    def _run(self) -> None:
        next_scan = 0.0
        while not self._stop.is_set():
            if time.monotonic() >= next_scan:
                next_scan = time.monotonic() + self.rescan
                try:
                    self._scan()
                except Exception as e:  # a driver error must not end feedback for the rest of the show
                    self.error = f"scan failed: {e}"
            while self._queue:
                try:
                    msg = self._queue.popleft()
                except IndexError:
                    break
                self._write(msg)
            self._wake.wait(self.rescan)
            self._wake.clear()

    def _write(self, msg: list[int]) -> None:
        with self._lock:
            for name, port in list(self._ports.items()):
                try:
                    port.send_message(msg)
                    self.sent += 1
                except Exception as e:
                    self.error = f"sending to {name}: {e}"
                    log.warning("midi out: %s", self.error)
                    self._ports.pop(name, None)  # reopened by the next scan if it is still there

    def _scan(self) -> None:
        import rtmidi

        try:
            names = _port_names(rtmidi.MidiOut, self.api, f"{self.client_name}-out-scan")
            # Our own output ports, as a fresh client sees them: after a JACK server restart the
            # old clients still list their ports, but the new server has none of ours.
            ours = (_port_names(rtmidi.MidiIn, self.api, f"{self.client_name}-out-probe")
                    if self._ports and self.api == rtmidi.API_UNIX_JACK else None)
        except Exception:
            self._forget_ports(server_gone=True)  # no MIDI system: nothing of ours is alive
            raise
        with self._lock:
            if ours is not None and any(not any(o.endswith(":" + self._labels[n]) for o in ours)
                                        for n in self._ports):
                log.warning("midi out: the MIDI server restarted; reopening the controller ports")
                self._forget_ports_locked(server_gone=True)
            for name in [n for n in self._ports if n not in names]:
                log.info("midi out: %s went away", name)
                self._ports.pop(name).delete()
            fresh = [n for n in names if n not in self._ports and self.wanted(n)]
            for name in fresh:
                port = rtmidi.MidiOut(rtapi=self.api, name=self.client_name)
                idx = port.get_ports().index(name) if name in port.get_ports() else -1
                if idx < 0:
                    port.delete()
                    continue
                self._labels[name] = ("out " + name.split(":", 1)[-1])[:60]
                port.open_port(idx, self._labels[name])
                self._ports[name] = port
                log.info("midi out: sending feedback to %s", name)
        self.error = ""  # a scan went through: an earlier failure is over
        if fresh:
            # A controller that just appeared shows the whole show state at once.
            for source, raw in list(self._values.items()):
                for msg in midi_bytes(source, raw, self.echo.channel(source)):
                    self._write(msg)

    def _forget_ports(self, server_gone: bool) -> None:
        with self._lock:
            self._forget_ports_locked(server_gone)

    def _forget_ports_locked(self, server_gone: bool) -> None:
        for port in self._ports.values():
            if server_gone:
                abandon(port)  # libjack freed it with the server: closing it would crash
            else:
                port.delete()
        self._ports.clear()

    def status(self) -> list[str]:
        ports = self.ports
        line = f"midi out: {', '.join(ports)}; {self.sent} msgs" if ports else "midi out: no controller port yet"
        return [line + (f" ({self.error})" if self.error else "")]


def _port_names(kind: Any, api: int, name: str) -> list[str]:
    """The ports a fresh rtmidi client of ``kind`` (MidiIn: sources, MidiOut: destinations) sees."""
    probe = kind(rtapi=api, name=name)
    try:
        return list(probe.get_ports())
    finally:
        probe.delete()
