"""The patch's ``[osc]`` section: where to listen, who may send, where feedback goes."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from livegen.config import ConfigError


def parse_host_port(text: str) -> tuple[str, int]:
    """'127.0.0.1:9001' -> ('127.0.0.1', 9001); raises ValueError."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"expected host:port like 127.0.0.1:9001, got {text!r}")
    return host, int(port)


def ipv4(host: str) -> ipaddress.IPv4Address:
    """The address to bind: an IPv4 address, or localhost; ValueError otherwise."""
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
            addr = ipv4(self.host)
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
