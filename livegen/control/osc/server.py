"""The OSC receive thread: UDP transport, then what happens to each message (dispatch and policy).

A dedicated thread reads datagrams from a socket with a large receive buffer, parses them
(messages, nested bundles; python-osc for everything but the plain-message fast path), drops
what cannot be used (malformed bytes, unknown addresses, senders outside the allow-list, wrong
types, NaN/inf) with counters for the HUD, and pushes :class:`ControlEvent` s stamped with the
engine clock onto the bus. Continuous parameters are coalesced to the newest value per address
per frame; triggers and mapped sources never are. Bundle timetags never block the thread: a
future-dated bundle is queued for its time.

A message with no argument (or ``?``) to a parameter address is a query: the thread answers
the sender with the value of the newest frame.
"""

from __future__ import annotations

import ipaddress
import logging
import select
import socket
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from pythonosc.osc_packet import OscPacket

from livegen.control.bus import ControlBus
from livegen.control.osc.config import OscConfig, ipv4
from livegen.control.osc.schema import AddressBook, OscTarget
from livegen.control.osc.wire import encode_message, parse_simple, plain

log = logging.getLogger("livegen.osc")


class OscDispatcher:
    """What happens to each datagram: allow-list, parsing, address lookup, types, coalescing, queries.

    Knows nothing of sockets: the transport hands it datagrams (:meth:`handle`) and gives it
    ``send(dgram, (host, port))`` for query replies. Counters and the last error feed the HUD.
    """

    def __init__(self, config: OscConfig, bus: ControlBus, now: Callable[[], float], book: AddressBook,
                 send: Callable[[bytes, tuple[str, int]], None]) -> None:
        self.config = config
        self.bus = bus
        self.now = now
        self.book = book
        self.send = send
        self.values: Mapping[str, Any] = {}  # newest frame's values, swapped in by the render loop
        self._allow = [ipaddress.ip_network(a, strict=False) for a in config.allow]
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

    def error(self, text: str) -> None:
        """Remember a problem for the HUD and log it, at most one line per 2 s."""
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

    def handle(self, data: bytes, addr: tuple[str, int]) -> None:
        """Handle one datagram from ``addr``; raises only on a bug (the transport counts it as malformed)."""
        self.packets += 1
        if self._allow:
            ip = ipaddress.ip_address(addr[0])
            if not any(ip in net for net in self._allow):
                self.denied += 1
                self.error(f"denied sender {addr[0]}")
                return
        simple = parse_simple(data)
        if simple is not None:
            self._message(simple[0], simple[1], 0.0, addr)
            return
        try:
            messages = OscPacket(data).messages
        except Exception as e:  # python-osc raises more than ParseError on hostile bytes
            self.malformed += 1
            self.error(f"malformed packet from {addr[0]} ({len(data)} bytes): {e}")
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
            self.error(f"unknown address {address}")
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
            self.error(f"{address}: {e}")
            return
        value: Any = None if not values else values[0] if len(values) == 1 else values
        coalesce = None
        if hit is not None and hit.kind == "param":
            spec = hit.spec
            assert spec is not None
            if len(values) != 1:
                self.bad_values += 1
                self.error(f"{address}: {spec.name} takes one value, got {len(values)}")
                return
            try:
                coerced = spec.coerce(value)
            except ValueError as e:
                self.bad_values += 1
                self.error(f"{address}: {e}")
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
            self.send(encode_message(address, value), (addr[0], port))
        except OSError as e:
            self.error(f"query reply to {addr[0]}:{port}: {e}")

    def status(self, where: str) -> list[str]:
        """HUD lines: messages received at ``where`` and what was dropped, then a fresh error."""
        line = f"osc {where}: {self.received} msgs"
        for name in ("malformed", "unknown", "bad_values", "clamped", "denied", "late"):
            n = getattr(self, name)
            if n:
                line += f", {n} {name.replace('_', ' ')}"
        if self.bus.coalesced:
            line += f", {self.bus.coalesced} coalesced"
        lines = [line]
        if self.last_error and time.monotonic() - self.last_error_t < 5.0:
            lines.append(f"osc: {self.last_error}")
        return lines


class OscServer:
    """The transport: a UDP socket with a large receive buffer, and the thread that reads it.

    Every datagram goes to :attr:`dispatcher` (an :class:`OscDispatcher`), which also answers
    queries through this socket.
    """

    def __init__(self, config: OscConfig, bus: ControlBus, now: Callable[[], float], book: AddressBook) -> None:
        self.config = config
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            try:
                # Privileged processes may exceed net.core.rmem_max; everyone else gets the capped size.
                self.sock.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_RCVBUFFORCE", 33), config.recv_buffer)
            except OSError:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, config.recv_buffer)
            # Linux reports double the granted size; the grant is capped by net.core.rmem_max.
            self.recv_buffer = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
            self.sock.bind((str(ipv4(config.host)), config.port))
        except OSError:
            self.sock.close()
            raise
        self.sock.setblocking(False)
        self.host, self.port = self.sock.getsockname()
        self.dispatcher = OscDispatcher(config, bus, now, book, self.sock.sendto)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

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
        dispatcher = self.dispatcher
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
                    dispatcher.error(f"socket: {e}")
                    break
                try:
                    dispatcher.handle(data, addr)
                except Exception as e:  # nothing a sender does may kill the thread
                    dispatcher.malformed += 1
                    dispatcher.error(f"from {addr[0]}: {type(e).__name__}: {e}")

    def status(self) -> list[str]:
        lines = self.dispatcher.status(f"{self.host}:{self.port}")
        if self.recv_buffer < self.config.recv_buffer:
            lines.append(f"osc: receive buffer {self.recv_buffer} B < {self.config.recv_buffer} B asked "
                         "(raise net.core.rmem_max)")
        return lines
