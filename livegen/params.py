"""Parameter registry and per-frame parameter store.

Every performable value in livegen is a parameter declared once, here (``CORE_PARAMS``) or in
the ``PARAMS`` list of the stage that reads it; ``livegen.stages.default_registry`` assembles
them, so this module imports nothing of livegen. Controls (OSC, MIDI, keys, replay)
only ever write to the :class:`ParameterStore`; once per frame the render loop calls
``step(dt)`` and hands the stages an immutable :class:`Snapshot`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

KINDS = ("float", "int", "bool", "enum", "trigger")

# Every OSC address livegen owns starts here; parameter addresses are the dotted name under it.
OSC_PREFIX = "/livegen/"


def param_address(name: str) -> str:
    """The OSC address of parameter ``name``: ``style.mix`` -> ``/livegen/style/mix``."""
    return OSC_PREFIX + name.replace(".", "/")


# Words a control may send for a boolean (OSC strings, show logs, patch values).
TRUE_WORDS = ("1", "true", "on", "yes")
FALSE_WORDS = ("0", "false", "off", "no")


def to_number(value: Any, where: str) -> float:
    """A control value as a finite float (bools are 0/1, numeric strings are read); ValueError names ``where``."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ValueError(f"{where}: expected a number, got {value!r}") from None
    if not isinstance(value, (int, float)):
        raise ValueError(f"{where}: expected a number, got {type(value).__name__}")
    x = float(value)
    if not math.isfinite(x):
        raise ValueError(f"{where}: value {value!r} is not finite")
    return x


def is_on(value: Any) -> bool:
    """Lenient truth of a button or trigger message: 0, false, off, no, empty and NaN are off; the rest is on.

    A list counts by its first element (an OSC message with several arguments).
    """
    if isinstance(value, str):
        return value.strip().lower() not in (*FALSE_WORDS, "")
    if isinstance(value, (list, tuple)):
        return bool(value) and is_on(value[0])
    try:
        x = float(value)
    except (TypeError, ValueError):
        return False
    return math.isfinite(x) and x != 0.0


def one_pole(current: float, goal: float, dt: float, tau: float, span: float) -> float:
    """One step of a one-pole low-pass: covers ~63 % of the way to ``goal`` in ``tau`` seconds.

    Lands exactly on ``goal`` once within a millionth of ``span``, so a fader ends where it was put.
    """
    k = 1.0 - math.exp(-dt / tau) if dt > 0 else 0.0
    nxt = current + (goal - current) * k
    return goal if abs(goal - nxt) < 1e-6 * max(span, 1e-9) else nxt


@dataclass(frozen=True)
class ParamSpec:
    """Declaration of one parameter: name, type, range, default and smoothing."""

    name: str
    kind: str = "float"
    default: Any = 0.0
    min: float | None = 0.0
    max: float | None = 1.0
    choices: tuple[str, ...] = ()
    smoothing: float = 0.0  # seconds to cover ~63 % of a jump (one-pole low-pass)
    description: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"parameter {self.name}: unknown kind {self.kind!r}")
        if self.kind == "enum" and self.default not in self.choices:
            raise ValueError(f"parameter {self.name}: default {self.default!r} not in {self.choices}")

    @property
    def osc_address(self) -> str:
        return param_address(self.name)

    @property
    def continuous(self) -> bool:
        """Continuous values may be coalesced to the newest per frame; triggers may not."""
        return self.kind in ("float", "int")

    def coerce(self, value: Any) -> Any:
        """Convert an incoming control value to this parameter's type, clamped to range.

        Raises ValueError with a message naming the parameter when the value cannot be used.
        """
        if self.kind == "trigger":
            return True
        if self.kind == "enum":
            if isinstance(value, str):
                if value in self.choices:
                    return value
                raise ValueError(f"{self.name}: {value!r} is not one of {', '.join(self.choices)}")
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                idx = min(max(int(value), 0), len(self.choices) - 1)
                return self.choices[idx]
            raise ValueError(f"{self.name}: expected one of {', '.join(self.choices)}, got {value!r}")
        if self.kind == "bool":
            if isinstance(value, str):
                low = value.strip().lower()
                if low in TRUE_WORDS:
                    return True
                if low in FALSE_WORDS:
                    return False
                raise ValueError(f"{self.name}: expected a boolean, got {value!r}")
            if isinstance(value, (bool, int, float)) and math.isfinite(float(value)):
                return float(value) >= 0.5
            raise ValueError(f"{self.name}: expected a boolean, got {value!r}")
        x = to_number(value, self.name)
        if self.min is not None:
            x = max(x, float(self.min))
        if self.max is not None:
            x = min(x, float(self.max))
        return int(round(x)) if self.kind == "int" else x

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "address": self.osc_address,
            "type": self.kind,
            "min": self.min if self.kind in ("float", "int") else None,
            "max": self.max if self.kind in ("float", "int") else None,
            "choices": list(self.choices) or None,
            "default": self.default,
            "smoothing": self.smoothing,
            "description": self.description,
        }


class ParamRegistry:
    """The one table of parameters. Names are dotted (``style.mix``)."""

    def __init__(self, specs: Iterable[ParamSpec] = ()) -> None:
        self._specs: dict[str, ParamSpec] = {}
        for spec in specs:
            self.add(spec)

    def add(self, spec: ParamSpec) -> None:
        if spec.name in self._specs:
            raise ValueError(f"parameter {spec.name} declared twice")
        self._specs[spec.name] = spec

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __getitem__(self, name: str) -> ParamSpec:
        try:
            return self._specs[name]
        except KeyError:
            raise KeyError(f"unknown parameter {name!r}") from None

    def __iter__(self) -> Iterator[ParamSpec]:
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)

    @property
    def names(self) -> list[str]:
        return list(self._specs)

    def by_address(self, address: str) -> ParamSpec | None:
        if not address.startswith(OSC_PREFIX):
            return None
        return self._specs.get(address[len(OSC_PREFIX):].replace("/", "."))


class Snapshot(Mapping[str, Any]):
    """Immutable view of all parameter values for one frame, plus triggers fired this frame."""

    __slots__ = ("_values", "_fired", "t", "frame", "beat")

    def __init__(self, values: dict[str, Any], fired: frozenset[str], t: float, frame: int, beat: float) -> None:
        self._values = dict(values)
        self._fired = fired
        self.t = t
        self.frame = frame
        self.beat = beat

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def fired(self, name: str) -> bool:
        """True if trigger ``name`` fired since the previous frame."""
        return name in self._fired


@dataclass
class _Fade:
    start: dict[str, float]
    target: dict[str, Any]
    duration: float
    elapsed: float = 0.0


@dataclass
class ParameterStore:
    """Target and current values of every parameter; the only thing controls write to."""

    registry: ParamRegistry
    targets: dict[str, Any] = field(default_factory=dict)
    current: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for spec in self.registry:
            if spec.kind == "trigger":
                continue
            self.targets.setdefault(spec.name, spec.default)
            self.current.setdefault(spec.name, self.targets[spec.name])
        self._fired: set[str] = set()
        self._fade: _Fade | None = None
        self._frame = 0

    def set(self, name: str, value: Any, immediate: bool = False) -> Any:
        """Set a parameter's target (smoothed toward in ``step``); returns the coerced value."""
        spec = self.registry[name]
        v = spec.coerce(value)
        if spec.kind == "trigger":
            self._fired.add(name)
            return v
        self.targets[name] = v
        if self._fade is not None:
            self._fade.target.pop(name, None)
        if immediate or spec.smoothing <= 0 or not spec.continuous:
            self.current[name] = v
        return v

    def fire(self, name: str) -> None:
        self.set(name, True)

    def get(self, name: str) -> Any:
        return self.current[name]

    def recall(self, values: Mapping[str, Any], fade: float = 0.0) -> None:
        """Move to a scene: continuous values crossfade linearly over ``fade`` seconds."""
        continuous: dict[str, Any] = {}
        for name, value in values.items():
            spec = self.registry[name]
            v = spec.coerce(value)
            if fade > 0 and spec.continuous:
                continuous[name] = v
            else:
                self.set(name, v, immediate=True)
        if continuous:
            start = {n: float(self.current[n]) for n in continuous}
            self._fade = _Fade(start=start, target=continuous, duration=fade)

    def step(self, dt: float) -> None:
        """Advance smoothing and scene fades by ``dt`` seconds."""
        if self._fade is not None:
            f = self._fade
            f.elapsed += dt
            a = min(f.elapsed / f.duration, 1.0)
            for name, target in f.target.items():
                spec = self.registry[name]
                v = f.start[name] + (float(target) - f.start[name]) * a
                v = int(round(v)) if spec.kind == "int" else v
                self.targets[name] = v
                self.current[name] = v
            if a >= 1.0:
                self._fade = None
        for spec in self.registry:
            if spec.kind != "float" or spec.smoothing <= 0:
                continue
            cur, tgt = self.current[spec.name], self.targets[spec.name]
            if cur == tgt:
                continue
            span = (spec.max - spec.min) if spec.max is not None and spec.min is not None else 1.0
            self.current[spec.name] = one_pole(cur, tgt, dt, spec.smoothing, span)

    def snapshot(self, t: float, beat: float = 0.0) -> Snapshot:
        """Freeze values for one frame and clear the triggers fired since the last one."""
        snap = Snapshot(self.current, frozenset(self._fired), t, self._frame, beat)
        self._fired.clear()
        self._frame += 1
        return snap


CORE_PARAMS: list[ParamSpec] = [
    ParamSpec("tempo.bpm", default=120.0, min=20.0, max=300.0,
              description="tempo when no MIDI clock is present"),
    # Read by the autopilot (control/autopilot.py). Declared here, not there: the registry is
    # assembled in livegen.stages, which may not import the control layer.
    ParamSpec("autopilot.amount", default=0.0, min=0.0, max=1.0, smoothing=0.5,
              description="how far the autopilot moves things when nobody plays (0 = off)"),
    ParamSpec("autopilot.idle", default=30.0, min=1.0, max=3600.0,
              description="seconds without human input before the autopilot starts"),
]
