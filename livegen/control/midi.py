"""MIDI input (mido + python-rtmidi): controller ports in, timestamped events onto the bus.

A scan thread opens the input ports the patch names (by substring, or all), notices ports
that vanish and reopens them when they come back, without the render loop noticing. Each
incoming message is stamped with the engine clock in the rtmidi callback, on arrival (mido's
own rtmidi callback drops arrival times), and pushed as ``midi/...`` events that the mapper
understands (the kinds table in :mod:`livegen.control.midikinds`). Show files (.mid) use the same addresses.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import mido

from livegen.config import ConfigError
from livegen.control.bus import ControlBus
from livegen.control.midikinds import message_events

log = logging.getLogger("livegen.midi")


@dataclass
class MidiConfig:
    """Patch section [midi]."""

    enabled: bool = True
    inputs: list[str] = field(default_factory=list)  # port name substrings; empty = all
    exclude: list[str] = field(default_factory=list)  # port name substrings never opened
    clock: bool = True  # receive MIDI clock (tempo follows it when [tempo] source = "midi")
    program_change: bool = True  # program change n recalls scene n+1 unless a mapping takes it
    # auto: the platform's own MIDI system (CoreMIDI on macOS, Windows MM on Windows; on Linux
    # ALSA where its sequencer exists, else JACK), or one named here.
    api: Literal["auto", "alsa", "jack", "coremidi", "winmm"] = "auto"
    rescan: float = 1.0  # seconds between looks for new or returning ports
    feedback: bool = False  # send mapped values back (pad LEDs, motor faders, LED rings) to the controller
    outputs: list[str] = field(default_factory=list)  # output port substrings for feedback; empty = as inputs

    def __post_init__(self) -> None:
        if not 0.05 <= self.rescan <= 60:
            raise ConfigError("rescan", f"expected 0.05..60 seconds, got {self.rescan}")


# rtmidi's API numbers by the name a patch uses (rtmidi.API_LINUX_ALSA ... without importing it here).
_RTMIDI_APIS = {"alsa": 2, "jack": 3, "coremidi": 1, "winmm": 4}


def resolve_api(api: str, platform: str = sys.platform) -> str:
    """The MIDI system 'auto' means on ``platform``; a named one is kept."""
    if api != "auto":
        return api
    if platform == "darwin":
        return "coremidi"
    if platform.startswith(("win", "cygwin")):
        return "winmm"
    return "alsa" if os.path.exists("/dev/snd/seq") else "jack"


def _rtmidi_api(api: str) -> int:
    """rtmidi's number for ``api``; ValueError when this python-rtmidi was built without it."""
    import rtmidi

    number = _RTMIDI_APIS[api]
    if number not in rtmidi.get_compiled_api():
        built = ", ".join(k for k, v in _RTMIDI_APIS.items() if v in rtmidi.get_compiled_api()) or "none"
        raise ValueError(f"[midi] api = {api!r}: this python-rtmidi has no {api} support (it has: {built})")
    if api == "jack":
        # A client must never start a JACK server by itself in the middle of a show.
        os.environ.setdefault("JACK_NO_START_SERVER", "1")
        quiet_libjack()
    return number


_JACK_QUIET: list[str] = []  # the libjack already told to keep quiet


def quiet_libjack() -> None:
    """Stop libjack printing its own messages to stderr.

    Without a JACK server, every look for one makes libjack print five lines ("Cannot connect
    to server socket ...") every few seconds; livegen says it once, in plain words, with the
    reason rtmidi gives. This sets the printers of the libjack that python-rtmidi loaded (its
    wheels bundle their own copy) to C's ``strlen``: a function of one string that has no
    effect. A Python callback would take the GIL on JACK's own threads, which must never wait.
    """
    import rtmidi  # noqa: F401 — loads the libjack it links, so that /proc/self/maps names it

    if _JACK_QUIET:
        return
    path = None
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            path = next((line.split()[-1] for line in maps if "libjack" in line.rsplit("/", 1)[-1]), None)
    except OSError:
        pass  # not Linux: the system's libjack
    path = path or ctypes.util.find_library("jack")
    if not path:
        return
    try:
        lib = ctypes.CDLL(path)
        silent = ctypes.cast(ctypes.CDLL(None).strlen, ctypes.c_void_p)
        lib.jack_set_error_function(silent)
        lib.jack_set_info_function(silent)
    except (OSError, AttributeError, TypeError) as e:
        log.debug("midi: libjack messages stay on stderr (%s)", e)
        return
    _JACK_QUIET.append(path)


class MidiInputs:
    """Keeps the wanted input ports open; pushes stamped events onto the bus from rtmidi's callback."""

    def __init__(self, config: MidiConfig, bus: ControlBus, now: Callable[[], float],
                 client_name: str = "livegen", probe_every: float = 5.0) -> None:
        self.config = config
        self.bus = bus
        self.now = now
        self.client_name = client_name
        self.api = resolve_api(config.api)
        self.rtapi = _rtmidi_api(self.api)
        self._scanner: Any = None
        self._open: dict[str, Any] = {}
        self._lock = threading.Lock()  # scan() runs in the thread and from tests/learn
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._backoff = config.rescan
        self.probe_every = max(probe_every, config.rescan)
        self._next_probe = 0.0
        self.received = 0
        self.malformed = 0
        self.reconnects = 0
        self.error = ""
        self._seen: set[str] = set()
        self.touched: dict[str, float] = {}  # bus address -> monotonic time of its last message (feedback)

    # ---- lifecycle ----------------------------------------------------------------------

    def start(self) -> MidiInputs:
        self.scan()
        self._thread = threading.Thread(target=self._run, name="livegen-midi-scan", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self._backoff):
            try:
                self.scan()
            except Exception as e:  # the scan thread must survive anything a driver throws
                self.error = f"scan failed: {e}"
                log.warning("midi: %s", self.error)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            for name in list(self._open):
                self._close_port(name)
            if self._scanner is not None:
                self._scanner.delete()
                self._scanner = None

    # ---- ports --------------------------------------------------------------------------

    def wanted(self, name: str, outputs: bool = False) -> bool:
        """Whether to open port ``name``: an input, or with ``outputs`` a feedback output."""
        if name.startswith(self.client_name + ":") or name.startswith("livegen"):
            return False  # our own ports (and those of a second livegen)
        low = name.lower()
        if any(x.lower() in low for x in self.config.exclude):
            return False
        want = (self.config.outputs or self.config.inputs) if outputs else self.config.inputs
        return not want or any(x.lower() in low for x in want)

    def scan(self) -> None:
        """Open wanted ports that appeared, close ports that vanished."""
        import rtmidi

        with self._lock:
            now = time.monotonic()
            fresh: list[str] | None = None
            if self._scanner is not None and now >= self._next_probe:
                self._next_probe = now + self.probe_every
                if not self._open:
                    fresh = self._fresh_ports()
                elif self.api == "jack":  # only a JACK server restarts under its clients
                    self._probe()
            if self._scanner is None:
                try:
                    self._scanner = rtmidi.MidiIn(rtapi=self.rtapi, name=f"{self.client_name}-scan")
                except Exception as e:
                    hint = " (is jackd running?)" if self.api == "jack" else ""
                    if not self.error.startswith("no MIDI system"):
                        log.warning("midi: no MIDI system (%s)%s; looking again every few seconds", self.api, hint)
                    self.error = f"no MIDI system{hint}: {e}"
                    # Each failed try makes libjack print to stderr: look less often.
                    self._backoff = min(self._backoff * 2, 5.0)
                    return
                if self.error.startswith(("no MIDI system", "MIDI system gone")):
                    log.warning("midi: the MIDI system (%s) is back; looking for ports", self.api)
                self._backoff = self.config.rescan
                self.error = ""
            names = self._scanner.get_ports()
            if fresh is not None and any(self.wanted(n) and n not in names for n in fresh):
                # A fresh client sees a wanted port the long-lived one does not: the scan client
                # belongs to a MIDI server that restarted (with no port of ours open to notice it).
                log.warning("midi: the MIDI system (%s) restarted; looking for ports again", self.api)
                abandon(self._scanner)
                self._scanner = rtmidi.MidiIn(rtapi=self.rtapi, name=f"{self.client_name}-scan")
                names = self._scanner.get_ports()
            for name in list(self._open):
                if name not in names:
                    log.info("midi: %s went away; will reopen it when it returns", name)
                    self._close_port(name)
            for name in names:
                if name not in self._open and self.wanted(name):
                    self._open_port(name)

    def _probe(self) -> None:
        """Check with a fresh client that our ports still live on a running MIDI server.

        A long-lived client keeps reporting the ports of a JACK server that died or restarted, so
        without this the inputs would stay silently deaf until livegen restarts.
        """
        import rtmidi

        try:
            probe = rtmidi.MidiOut(rtapi=self.rtapi, name=f"{self.client_name}-probe")
        except Exception as e:
            self._server_gone(e)
            return
        try:
            ours = probe.get_ports()  # our input ports are the writable ones others see
        finally:
            probe.delete()
        dead = [n for n in self._open if not any(o.endswith(":" + _short(n)) for o in ours)]
        if dead:
            log.warning("midi: the MIDI server restarted; reopening %s", ", ".join(dead))
            self._forget_all(server_gone=True)

    def _fresh_ports(self) -> list[str] | None:
        """The ports a new client sees (None when the MIDI system is gone: then the scan client is dropped)."""
        import rtmidi

        try:
            probe = rtmidi.MidiIn(rtapi=self.rtapi, name=f"{self.client_name}-probe")
        except Exception as e:
            self._server_gone(e)
            return None
        try:
            return list(probe.get_ports())
        finally:
            probe.delete()

    def _server_gone(self, e: Exception) -> None:
        self.error = f"MIDI system gone ({e}); waiting for it to come back"
        log.warning("midi: %s", self.error)
        self._forget_all(server_gone=True)

    def _forget_all(self, server_gone: bool = False) -> None:
        for name in list(self._open):
            self._close_port(name, server_gone)
        if self._scanner is not None:
            if server_gone:
                abandon(self._scanner)
            else:
                try:
                    self._scanner.delete()
                except Exception as e:
                    log.debug("midi: dropping the scan client: %s", e)
            self._scanner = None

    def _open_port(self, name: str) -> None:
        import rtmidi

        try:
            port = rtmidi.MidiIn(rtapi=self.rtapi, name=self.client_name)
            names = port.get_ports()
            if name not in names:
                port.delete()
                return  # vanished between the scan and now; the next scan retries
            port.ignore_types(sysex=True, timing=not self.config.clock, active_sense=True)
            port.set_callback(self._callback)
            port.open_port(names.index(name), _short(name))
        except Exception as e:
            self.error = f"cannot open {name}: {e}"
            log.warning("midi: %s", self.error)
            return
        if name in self._seen:
            self.reconnects += 1
        self._seen.add(name)
        self._open[name] = port
        log.info("midi: listening to %s", name)

    def _close_port(self, name: str, server_gone: bool = False) -> None:
        port = self._open.pop(name, None)
        if port is None:
            return
        if server_gone:
            abandon(port)
            return
        try:
            port.cancel_callback()
            port.close_port()
            port.delete()
        except Exception as e:
            log.warning("midi: closing %s: %s", name, e)

    def _callback(self, event: tuple[list[int], float], _data: Any = None) -> None:
        data, _delta = event
        try:
            msg = mido.Message.from_bytes(data)
        except (ValueError, TypeError, IndexError):
            self.malformed += 1
            return
        self.received += 1
        arrived = time.monotonic()
        for address, value in message_events(msg):
            self.touched[address] = arrived
            self.bus.push_stamped(self.now, "midi", address, value)

    @property
    def ports(self) -> list[str]:
        with self._lock:
            return list(self._open)

    def status(self) -> list[str]:
        ports = self.ports
        if ports:
            line = f"midi ({self.api}): {', '.join(ports)}; {self.received} msgs"
        elif self.error:
            line = f"midi ({self.api}): {self.error}"
        else:
            want = ", ".join(repr(x) for x in self.config.inputs) or "any port"
            line = f"midi ({self.api}): waiting for {want}"
        if self.malformed:
            line += f", {self.malformed} malformed"
        if self.reconnects:
            line += f", {self.reconnects} reconnects"
        return [line]


_ABANDONED: list[Any] = []


def abandon(client: Any) -> None:
    """Never free an rtmidi client whose JACK server died.

    libjack frees such clients' memory when the next client fails to connect; closing or
    deleting them afterwards (even in the destructor at interpreter exit) crashes the process.
    So they are kept forever, with an extra reference that outlives interpreter shutdown.
    """
    try:
        # Touches only rtmidi's own state, not libjack: makes sure a wrongly abandoned port goes quiet.
        client.cancel_callback()
    except Exception as e:
        log.debug("midi: cancelling an abandoned callback: %s", e)
    _ABANDONED.append(client)
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(client))


def _short(name: str) -> str:
    """Our port name for an input: 'in <their port>' without the client prefix, kept short for JACK."""
    return ("in " + name.split(":", 1)[-1])[:60]
