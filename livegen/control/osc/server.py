"""OSC over UDP (python-osc parsing): the receive thread, queries, feedback out, and the schema.

A dedicated thread reads datagrams from a socket with a large receive buffer, parses them
(messages, nested bundles), drops what cannot be used (malformed bytes, unknown addresses,
senders outside the allow-list, wrong types, NaN/inf) with counters for the HUD, and pushes
:class:`ControlEvent` s stamped with the engine clock onto the bus. Continuous parameters are
coalesced to the newest value per address per frame; triggers and mapped sources never are.
Bundle timetags never block the thread: a future-dated bundle is queued for its time.

A message with no argument (or ``?``) to a parameter address is a query: the thread answers
the sender with the value of the newest frame. :class:`OscFeedback` sends parameter changes,
fps, beat, scene and errors to a host:port once per frame (rate-limited) from the render loop.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import select
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pythonosc.osc_packet import OscPacket

from livegen.config import ConfigError
from livegen.control.addresses import AddressBook, OscTarget
from livegen.control.bus import ControlBus
from livegen.control.oscwire import encode_bundle, encode_message, parse_simple, plain
from livegen.params import ParamRegistry

log = logging.getLogger("livegen.osc")

STATUS_PREFIX = "/livegen/status/"


def parse_host_port(text: str) -> tuple[str, int]:
    """'127.0.0.1:9001' -> ('127.0.0.1', 9001); raises ValueError."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"expected host:port like 127.0.0.1:9001, got {text!r}")
    return host, int(port)


def _ipv4(host: str) -> ipaddress.IPv4Address:
    if host == "localhost":
        return ipaddress.IPv4Address("127.0.0.1")
    return ipaddress.IPv4Address(host)


@dataclass
class OscConfig:
    """Patch section [osc]."""

    enabled: bool = True
    host: str = "127.0.0.1"  # loopback unless the patch opts in with listen_remote
    port: int = 9000  # 0 = any free port (tests)
    listen_remote: bool = False  # must be true to listen on a non-loopback interface (0.0.0.0, a LAN address)
    allow: list[str] = field(default_factory=list)  # sender addresses or networks (10.0.0.0/24); empty = any
    aliases: dict[str, str] = field(default_factory=dict)  # "/style_mix" = "style.mix"
    feedback: str = ""  # host:port that receives parameter changes, fps, beat, scene, errors
    feedback_rate: float = 30.0  # feedback bundles per second at most
    reply_port: int = 0  # queries are answered to this port on the sender's host; 0 = the sender's port
    recv_buffer: int = 4 * 1024 * 1024  # SO_RCVBUF bytes; the kernel default loses floods
    max_delay: float = 60.0  # bundles timed further ahead are applied on arrival

    def __post_init__(self) -> None:
        try:
            addr = _ipv4(self.host)
        except ValueError:
            raise ConfigError("host", f"expected an IPv4 address or localhost, got {self.host!r}") from None
        if not addr.is_loopback and not self.listen_remote:
            raise ConfigError("host", f"listening on {self.host} lets other machines move parameters; "
                                      "set listen_remote = true to allow it")
        if not 0 <= self.port <= 65535:
            raise ConfigError("port", f"expected 0..65535, got {self.port}")
        if not 0 <= self.reply_port <= 65535:
            raise ConfigError("reply_port", f"expected 0..65535, got {self.reply_port}")
        for i, entry in enumerate(self.allow):
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ConfigError(f"allow[{i}]", f"expected an IP address or network, got {entry!r}") from None
        for address in self.aliases:
            if not address.startswith("/") or " " in address:
                raise ConfigError(f"aliases.{address}", "an OSC address starts with / and has no spaces")
        if self.feedback:
            try:
                parse_host_port(self.feedback)
            except ValueError as e:
                raise ConfigError("feedback", str(e)) from None
        if not 1 <= self.feedback_rate <= 1000:
            raise ConfigError("feedback_rate", f"expected 1..1000 per second, got {self.feedback_rate}")
        if self.recv_buffer < 65536:
            raise ConfigError("recv_buffer", "expected at least 65536 bytes")
        if not self.max_delay >= 0:
            raise ConfigError("max_delay", "must be >= 0 seconds")


class OscServer:
    """The OSC receive thread; counters and the last error feed the HUD."""

    def __init__(self, config: OscConfig, bus: ControlBus, now: Callable[[], float], book: AddressBook) -> None:
        self.config = config
        self.bus = bus
        self.now = now
        self.book = book
        self.values: Mapping[str, Any] = {}  # newest frame's values, swapped in by the render loop
        self._allow = [ipaddress.ip_network(a, strict=False) for a in config.allow]
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            try:
                # Privileged processes may exceed net.core.rmem_max; everyone else gets the capped size.
                self.sock.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_RCVBUFFORCE", 33), config.recv_buffer)
            except OSError:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, config.recv_buffer)
            # Linux reports double the granted size; the grant is capped by net.core.rmem_max.
            self.recv_buffer = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
            self.sock.bind((str(_ipv4(config.host)), config.port))
        except OSError:
            self.sock.close()
            raise
        self.sock.setblocking(False)
        self.host, self.port = self.sock.getsockname()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.packets = 0
        self.received = 0  # messages pushed onto the bus
        self.malformed = 0
        self.unknown = 0
        self.bad_values = 0
        self.clamped = 0
        self.denied = 0
        self.queries = 0
        self.late = 0  # bundles timed beyond max_delay, applied on arrival
        self.last_error = ""
        self.last_error_t = 0.0
        self._last_log = -1e9
        self._errors_since_log = 0
        self._known: dict[str, tuple[bool, OscTarget | None, bool]] = {}

    def start(self) -> OscServer:
        self._thread = threading.Thread(target=self._run, name="livegen-osc", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.sock.close()

    def _run(self) -> None:
        sock = self.sock
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([sock], [], [], 0.2)
            except (OSError, ValueError):
                return
            if not ready:
                continue
            # Drain everything the kernel holds before waiting again: a flood arrives in bursts.
            while True:
                try:
                    data, addr = sock.recvfrom(65536)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError as e:
                    if self._stop.is_set():
                        return
                    self._error(f"socket: {e}")
                    break
                try:
                    self.handle(data, addr)
                except Exception as e:  # nothing a sender does may kill the thread
                    self.malformed += 1
                    self._error(f"from {addr[0]}: {type(e).__name__}: {e}")

    def _error(self, text: str) -> None:
        now = time.monotonic()
        self.last_error = text
        self.last_error_t = now
        self._errors_since_log += 1
        if now - self._last_log >= 2.0:
            # A hostile or misconfigured sender must not flood the log: one line per 2 s at most.
            more = f" (+{self._errors_since_log - 1} more since the last report)" if self._errors_since_log > 1 else ""
            log.warning("osc: %s%s", text, more)
            self._last_log = now
            self._errors_since_log = 0

    # ---- packets ------------------------------------------------------------------------

    def handle(self, data: bytes, addr: tuple[str, int]) -> None:
        """Handle one datagram (public so the fuzz test can call it without a socket too)."""
        self.packets += 1
        if self._allow:
            ip = ipaddress.ip_address(addr[0])
            if not any(ip in net for net in self._allow):
                self.denied += 1
                self._error(f"denied sender {addr[0]}")
                return
        simple = parse_simple(data)
        if simple is not None:
            self._message(simple[0], simple[1], 0.0, addr)
            return
        try:
            messages = OscPacket(data).messages
        except Exception as e:  # python-osc raises more than ParseError on hostile bytes
            self.malformed += 1
            self._error(f"malformed packet from {addr[0]} ({len(data)} bytes): {e}")
            return
        # Read after parsing: python-osc stamps immediate messages with its own time.time(), so a
        # wall read before it could make them look future-dated if the thread is preempted between.
        wall = time.time()
        for timed in messages:
            delay = timed.time - wall
            if delay < 1e-3:
                delay = 0.0  # immediate, or a timetag in the past: apply on arrival
            elif delay > self.config.max_delay:
                self.late += 1
                delay = 0.0
            self._message(timed.message.address, list(timed.message.params), delay, addr)

    def _lookup(self, address: str) -> tuple[bool, OscTarget | None, bool]:
        """(mapped, direct target, coalescable) for an address, cached: a flood repeats a few addresses."""
        known = self._known.get(address)
        if known is None:
            mapped = address in self.book.mapped
            hit = None if mapped else self.book.resolve(address)
            known = (mapped, hit, self.book.coalescable(address))
            if (mapped or hit is not None) and len(self._known) < 4096:  # unknown ones are not kept
                self._known[address] = known
        return known

    def _message(self, address: str, args: list[Any], delay: float, addr: tuple[str, int]) -> None:
        mapped, hit, coalescable = self._lookup(address)
        if not mapped and hit is None:
            self.unknown += 1
            self._error(f"unknown address {address}")
            return
        if hit is not None and hit.kind == "param" and (not args or (len(args) == 1 and args[0] == "?")):
            spec = hit.spec
            assert spec is not None
            if spec.kind == "trigger":
                if not args:
                    self._push(address, None, delay, None)
                return
            self.queries += 1
            self._reply(address, self.values.get(spec.name, spec.default), addr)
            return
        try:
            values = [plain(a) for a in args]
        except ValueError as e:
            self.bad_values += 1
            self._error(f"{address}: {e}")
            return
        value: Any = None if not values else values[0] if len(values) == 1 else values
        coalesce = None
        if hit is not None and hit.kind == "param":
            spec = hit.spec
            assert spec is not None
            if len(values) != 1:
                self.bad_values += 1
                self._error(f"{address}: {spec.name} takes one value, got {len(values)}")
                return
            try:
                coerced = spec.coerce(value)
            except ValueError as e:
                self.bad_values += 1
                self._error(f"{address}: {e}")
                return
            if spec.continuous and isinstance(value, (int, float)) and float(coerced) != float(value):
                self.clamped += 1
            value = coerced
            if coalescable:
                coalesce = address
        self._push(address, value, delay, coalesce)

    def _push(self, address: str, value: Any, delay: float, coalesce: str | None) -> None:
        if self.bus.push_stamped(self.now, "osc", address, value, delay=delay, coalesce=coalesce) is not None:
            self.received += 1

    def _reply(self, address: str, value: Any, addr: tuple[str, int]) -> None:
        port = self.config.reply_port or addr[1]
        try:
            self.sock.sendto(encode_message(address, value), (addr[0], port))
        except OSError as e:
            self._error(f"query reply to {addr[0]}:{port}: {e}")

    def status(self) -> list[str]:
        line = f"osc {self.host}:{self.port}: {self.received} msgs"
        for name in ("malformed", "unknown", "bad_values", "clamped", "denied", "late"):
            n = getattr(self, name)
            if n:
                line += f", {n} {name.replace('_', ' ')}"
        if self.bus.coalesced:
            line += f", {self.bus.coalesced} coalesced"
        lines = [line]
        if self.last_error and time.monotonic() - self.last_error_t < 5.0:
            lines.append(f"osc: {self.last_error}")
        if self.recv_buffer < self.config.recv_buffer:
            lines.append(f"osc: receive buffer {self.recv_buffer} B < {self.config.recv_buffer} B asked "
                         "(raise net.core.rmem_max)")
        return lines


class OscFeedback:
    """Sends parameter changes and status (fps, beat, scene, errors) to a host:port, rate-limited.

    Called once per frame from the render loop: it must be cheap and must never raise.
    """

    def __init__(self, target: str, rate: float = 30.0, registry: ParamRegistry | None = None) -> None:
        self.target = parse_host_port(target)
        self.interval = 1.0 / rate
        self.registry = registry
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self._sent: dict[str, Any] = {}
        self._next = 0.0
        self.bundles = 0
        self.errors = 0
        self.last_error = ""

    def send(self, snap: Mapping[str, Any], info: Mapping[str, Any], beat: float | None = None) -> None:
        try:
            now = time.monotonic()
            if now < self._next:
                return
            self._next = now + self.interval
            messages: list[bytes] = []
            for name, value in snap.items():
                if self._sent.get(name, _UNSET) != value:
                    self._sent[name] = value
                    messages.append(encode_message("/livegen/" + name.replace(".", "/"), value))
            if beat is not None:
                messages.append(encode_message(STATUS_PREFIX + "beat", float(beat)))
            for key, value in info.items():
                if key == "beat" and beat is not None:
                    continue
                if not isinstance(value, (bool, int, float, str)) or self._sent.get("#" + key, _UNSET) == value:
                    continue
                self._sent["#" + key] = value
                messages.append(encode_message(STATUS_PREFIX + key, value))
            for i in range(0, len(messages), 32):  # keep each datagram well under any MTU worries
                self.sock.sendto(encode_bundle(messages[i:i + 32]), self.target)
                self.bundles += 1
        except Exception as e:  # feedback is a courtesy: it never stops a show
            self.errors += 1
            self.last_error = str(e)

    def close(self) -> None:
        self.sock.close()


_UNSET = object()


def schema(patch: Any, registry: ParamRegistry) -> dict[str, Any]:
    """The whole OSC address space of a patch, for building TouchDesigner/TouchOSC layouts."""
    params = []
    for spec in registry:
        d = spec.describe()
        d["query"] = spec.kind != "trigger"
        params.append(d)
    aliases = [{"address": a, "target": t} for a, t in patch.osc.aliases.items()]
    mappings = [{"source": m.source, "target": m.target} for m in patch.mappings if not m.source.startswith("midi/")]
    actions = [
        {"address": "/livegen/scene", "args": "scene name or 1-based number",
         "description": "recall a scene"},
        *({"address": f"/livegen/scene/{name}", "args": "none (or 1)", "description": f"recall scene {name}"}
          for name in patch.scenes),
        {"address": "/livegen/record", "args": "start | stop | toggle | 1 | 0 (none = toggle)",
         "description": "start or stop recording the show"},
        {"address": "/livegen/quit", "args": "none", "description": "end the show"},
    ]
    feedback = ["/livegen/<param/path> (on change)", STATUS_PREFIX + "beat",
                STATUS_PREFIX + "<key> for each status value the engine reports (fps, bpm, scene, error ...)"]
    return {
        "listen": f"{patch.osc.host}:{patch.osc.port}",
        "types": "int32, float32, double64, int64, true/false, string (enum choices, scene names)",
        "query": "send a parameter address with no argument (or '?') to get its value back",
        "parameters": params,
        "aliases": aliases,
        "mappings": mappings,
        "actions": actions,
        "feedback": {"target": patch.osc.feedback or None, "addresses": feedback},
    }


def schema_main(argv: list[str]) -> int:
    """``livegen osc-schema [PATCH]``: print the OSC address space as JSON."""
    ap = argparse.ArgumentParser(prog="livegen osc-schema",
                                 description="Print every OSC address livegen answers to, as JSON.")
    ap.add_argument("patch", nargs="?", help="patch file (default: patches/default.toml)")
    ap.add_argument("--compact", action="store_true", help="one line instead of indented JSON")
    args = ap.parse_args(argv)
    from livegen import paths
    from livegen.params import default_registry
    from livegen.patch import Patch, PatchError, load_patch

    registry = default_registry()
    try:
        if args.patch:
            patch = load_patch(args.patch, registry)
        elif paths.DEFAULT_PATCH.exists():
            patch = load_patch(paths.DEFAULT_PATCH, registry)
        else:
            patch = Patch()
    except PatchError as e:
        print(f"livegen osc-schema: {e}", file=sys.stderr)
        return 2
    json.dump(schema(patch, registry), sys.stdout, indent=None if args.compact else 2)
    sys.stdout.write("\n")
    return 0
