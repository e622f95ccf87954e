"""OSC feedback: the client that sends parameter changes and status back to a controller.

Called once per frame from the render loop with the frame's snapshot and the engine's status
values; sends only what changed since the last bundle, at most ``feedback_rate`` bundles per
second, to the patch's ``[osc] feedback`` host:port. Each value goes to its ``/livegen/...``
address and also to every alias of that parameter and every OSC address mapped to it (the
mapping run backwards, see :mod:`livegen.control.echo`), so a TouchOSC fader follows a scene
recall on the address it sends. ``enums_as_numbers`` sends enum choices as their index and
switches as 0/1 (TouchDesigner CHOPs drop strings). The bpm goes out once, as ``/livegen/tempo/bpm``.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Mapping
from typing import Any

from livegen.control.echo import Echo
from livegen.control.midikinds import is_midi
from livegen.control.osc.config import parse_host_port
from livegen.control.osc.schema import STATUS_PREFIX
from livegen.control.osc.wire import encode_bundle, encode_message
from livegen.params import ParamRegistry, param_address


class OscFeedback:
    """Sends parameter changes and status (fps, beat, scene, errors) to a host:port, rate-limited.

    Called once per frame from the render loop: it must be cheap and must never raise.
    """

    def __init__(self, target: str, rate: float = 30.0, registry: ParamRegistry | None = None,
                 aliases: Mapping[str, str] | None = None, echo: Echo | None = None,
                 enums_as_numbers: bool = False) -> None:
        self.target = parse_host_port(target)
        self.registry = registry
        self.numbers = enums_as_numbers
        self.echo = echo
        self.aliases: dict[str, list[str]] = {}  # parameter -> alias addresses
        for address, name in (aliases or {}).items():
            self.aliases.setdefault(name, []).append(address)
        self.interval = 1.0 / rate
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self._sent: dict[str, Any] = {}
        self._next = 0.0
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
                    wire = self._wire(name, value)
                    messages.append(encode_message(param_address(name), wire))
                    messages.extend(encode_message(a, wire) for a in self.aliases.get(name, ()))
            if self.echo is not None:
                scene = info.get("scene", "")
                for address, raw in self.echo.values(snap, scene if isinstance(scene, str) else "").items():
                    if not is_midi(address) and self._sent.get("@" + address, _UNSET) != raw:
                        self._sent["@" + address] = raw
                        messages.append(encode_message(address, float(raw)))
            if beat is not None:
                messages.append(encode_message(STATUS_PREFIX + "beat", float(beat)))
            for key, value in info.items():
                if (key == "beat" and beat is not None) or key in _PARAM_MIRRORS:
                    continue
                if not isinstance(value, (bool, int, float, str)) or self._sent.get("#" + key, _UNSET) == value:
                    continue
                self._sent["#" + key] = value
                messages.append(encode_message(STATUS_PREFIX + key, value))
            for i in range(0, len(messages), 32):  # keep each datagram well under any MTU worries
                self.sock.sendto(encode_bundle(messages[i:i + 32]), self.target)
        except Exception as e:  # feedback is a courtesy: it never stops a show
            self.errors += 1
            self.last_error = str(e)

    def _wire(self, name: str, value: Any) -> Any:
        """A parameter value as sent: enum index and 0/1 when numbers are asked for."""
        if not self.numbers:
            return value
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, str) and self.registry is not None and name in self.registry:
            spec = self.registry[name]
            if value in spec.choices:
                return spec.choices.index(value)
        return value

    def close(self) -> None:
        self.sock.close()


_UNSET = object()
# Status keys a parameter already carries: sent once, under the parameter's address (one bpm).
_PARAM_MIRRORS = frozenset({"bpm"})
