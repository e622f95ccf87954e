"""Engine actions a control can trigger, and how a message's value selects their argument.

The router returns actions as ``(name, value)`` pairs for the engine to perform:
``("scene", name_or_1_based_number)``, ``("record", "start" | "stop" | "toggle")``,
``("quit", None)``. Mappings name them as targets; OSC reaches them at ``/livegen/scene``,
``/livegen/scene/NAME``, ``/livegen/record`` and ``/livegen/quit`` or through aliases.
"""

from __future__ import annotations

import math
from typing import Any

ACTIONS = ("scene", "record", "quit")
RECORD_ARGS = ("start", "stop", "toggle")

Action = tuple[str, Any]


def scene_ref(value: Any, where: str) -> Any:
    """A scene name, or a number (1-based, as the window's keys) from a number or a numeric string."""
    if isinstance(value, str):
        return int(value) if value.isdigit() else value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return int(value)
    raise ValueError(f"{where}: expected a scene name or number, got {value!r}")


def record_arg(value: Any, where: str) -> str:
    """start/stop/toggle from a message: a word, 1/0 (a button), or nothing (toggle)."""
    if value is None or value is True:
        return "toggle"
    if isinstance(value, str) and value in RECORD_ARGS:
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return "start" if value >= 0.5 else "stop"
    raise ValueError(f"{where}: record takes start, stop, toggle or 1/0")
