"""Polling helper for tests of threaded parts (cameras, sockets, MIDI ports)."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_for(cond: Callable[[], object], timeout: float = 15.0, poll: float = 0.005) -> bool:
    """Poll until cond() is true; the generous deadline only guards against hanging forever."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(poll)
    return bool(cond())
