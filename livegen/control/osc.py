"""OSC input over UDP (python-osc): settings for now; the server lands with the control work."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class OscConfig:
    """Patch section [osc]."""

    enabled: bool = True
    host: str = "127.0.0.1"  # loopback unless the patch opts in to a wider interface
    port: int = 9000
    allow: list[str] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)
    feedback: str = ""
