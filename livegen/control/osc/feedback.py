"""OSC feedback: the client that sends parameter changes and status back to a controller.

Called once per frame from the render loop with the frame's snapshot and the engine's status
values; sends only what changed since the last bundle, at most ``feedback_rate`` bundles per
second, to the patch's ``[osc] feedback`` host:port.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Mapping
from typing import Any

from livegen.control.osc.config import parse_host_port
from livegen.control.osc.schema import STATUS_PREFIX
from livegen.control.osc.wire import encode_bundle, encode_message
from livegen.params import param_address


class OscFeedback:
    """Sends parameter changes and status (fps, beat, scene, errors) to a host:port, rate-limited.

    Called once per frame from the render loop: it must be cheap and must never raise.
    """

    def __init__(self, target: str, rate: float = 30.0) -> None:
        self.target = parse_host_port(target)
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
                    messages.append(encode_message(param_address(name), value))
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
        except Exception as e:  # feedback is a courtesy: it never stops a show
            self.errors += 1
            self.last_error = str(e)

    def close(self) -> None:
        self.sock.close()


_UNSET = object()
