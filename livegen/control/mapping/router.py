"""Mapping: turns control events (source addresses) into parameter writes and actions.

Runs inside the render loop: the engine calls :meth:`Mapper.begin_frame` once per frame and
then :meth:`Mapper.apply` for each event drained from the bus. All mapping state (pickup,
per-mapping smoothing, toggles, relative encoders, 14-bit CC halves, beat-quantised moves,
MIDI-clock tempo) changes only there, from event timestamps and frame times, never from the
wall clock, so a recorded show replays exactly.

Addresses the mapper understands:

- ``/livegen/<param/path>`` (every parameter), ``/livegen/scene``, ``/livegen/scene/<name>``,
  ``/livegen/record``, ``/livegen/quit``, and the patch's ``[osc.aliases]``;
- any OSC address or MIDI message named as a ``[[mappings]]`` source:
  ``midi/cc/CH/N``, ``midi/cc14/CH/N`` (MSB N + LSB N+32), ``midi/note/CH/N``,
  ``midi/program/CH``, ``midi/pitchbend/CH``, ``midi/aftertouch/CH``, ``midi/polytouch/CH/N``,
  ``midi/start|stop|continue``; CH is 1..16 or ``*`` for any channel.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from livegen.clock import Tempo
from livegen.config import ConfigError
from livegen.control.addresses import (
    ACTIONS,
    MIDI_SYSTEM,
    AddressBook,
    MidiSource,
    OscTarget,
    parse_midi_source,
    source_range,
)
from livegen.control.bus import ControlEvent
from livegen.control.tempo import ClockFollower
from livegen.params import ParameterStore, ParamRegistry, ParamSpec

if TYPE_CHECKING:
    from livegen.patch import Patch

# Older imports name these here.
__all__ = ["ACTIONS", "AddressBook", "MappingConfig", "Mapper", "check_mappings", "parse_midi_source",
           "source_range", "shape"]

RECORD_ARGS = ("start", "stop", "toggle")
CURVE_K = 4.0  # shape of the named exponential/logarithmic curves: (e^(kx)-1)/(e^k-1) and its inverse

@dataclass
class MappingConfig:
    """One ``[[mappings]]`` entry: a source address driving a parameter or an action.

    Curves are named, never evaluated from text. ``in_range``/``out_range`` default to the
    source's raw range and the parameter's range.
    """

    source: str
    target: str
    arg: str = ""  # action argument: scene name or number; record start/stop/toggle
    in_range: tuple[float, float] | None = None
    out_range: tuple[float, float] | None = None
    curve: Literal["linear", "exponential", "logarithmic", "step", "toggle"] = "linear"
    steps: int = 0  # output levels of the step curve; 0 = from the parameter (int range, enum choices) or 2
    invert: bool = False
    smoothing: float = 0.0  # seconds (one-pole), on top of the parameter's own smoothing
    pickup: bool = False  # soft takeover: ignore the control until it meets the current value
    encoder: Literal["absolute", "twos-complement", "binary-offset"] = "absolute"
    step_size: float = 0.0  # relative encoders: fraction of the output range per tick; 0 = 1/128
    quantise: Literal["off", "beat", "bar"] = "off"
    index: int = 0  # which OSC argument carries the value

    def __post_init__(self) -> None:
        if self.source.startswith("midi/"):
            try:
                parse_midi_source(self.source)
            except ValueError as e:
                raise ConfigError("source", str(e)) from None
        elif not self.source.startswith("/") or any(c in self.source for c in " #*?,[]{}"):
            raise ConfigError("source", f"expected an OSC address like /fader1 or a MIDI source like "
                                        f"midi/cc/1/7, got {self.source!r}")
        if not self.target:
            raise ConfigError("target", "must name a parameter or an action (scene, record, quit)")
        if self.in_range is not None and self.in_range[0] == self.in_range[1]:
            raise ConfigError("in_range", "the two ends must differ")
        for name in ("in_range", "out_range"):
            rng = getattr(self, name)
            if rng is not None and not all(math.isfinite(v) for v in rng):
                raise ConfigError(name, "must be finite numbers")
        if self.steps < 0 or self.steps == 1:
            raise ConfigError("steps", "must be 0 (automatic) or at least 2")
        if not (self.smoothing >= 0 and math.isfinite(self.smoothing)):
            raise ConfigError("smoothing", "must be >= 0 seconds")
        if not (self.step_size >= 0 and math.isfinite(self.step_size)):
            raise ConfigError("step_size", "must be >= 0")
        if self.index < 0:
            raise ConfigError("index", "must be >= 0")
        if self.encoder != "absolute" and self.curve != "linear":
            raise ConfigError("curve", "relative encoders move by steps; use curve = \"linear\"")
        if self.target == "record" and self.arg not in ("", *RECORD_ARGS):
            raise ConfigError("arg", f"record takes start, stop or toggle, got {self.arg!r}")


def shape(x: float, curve: str) -> float:
    """Apply a named curve to x in [0, 1]."""
    if curve == "exponential":
        return (math.exp(CURVE_K * x) - 1.0) / (math.exp(CURVE_K) - 1.0)
    if curve == "logarithmic":
        return math.log1p(x * (math.exp(CURVE_K) - 1.0)) / CURVE_K
    return x


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        x = float(value)
    elif isinstance(value, str):
        try:
            x = float(value)
        except ValueError:
            raise ValueError(f"{where}: expected a number, got {value!r}") from None
    else:
        raise ValueError(f"{where}: expected a number, got {type(value).__name__}")
    if not math.isfinite(x):
        raise ValueError(f"{where}: value {value!r} is not finite")
    return x


@dataclass
class _Route:
    """One mapping bound to one bus address, with its state."""

    cfg: MappingConfig
    path: str  # "mappings[i]" for messages
    key: str  # the bus address this half listens to
    spec: ParamSpec | None
    action: str
    role: str | None  # "msb"/"lsb" for 14-bit CC halves
    midi: MidiSource | None
    in_lo: float
    in_hi: float
    out_lo: float
    out_hi: float
    state: dict[str, Any] = field(default_factory=dict)  # shared by both halves of a 14-bit pair


class Mapper:
    """Applies events to the store; returns actions ``(name, value)`` for the engine.

    Actions: ``("scene", name_or_1_based_index)``, ``("record", "start"|"stop"|"toggle")``,
    ``("quit", None)``.
    """

    def __init__(self, registry: ParamRegistry, mappings: list[MappingConfig] | None = None,
                 aliases: dict[str, str] | None = None, tempo: Tempo | None = None,
                 follow_clock: bool = False, program_scenes: bool = True) -> None:
        self.registry = registry
        self.tempo = tempo
        self.follower = ClockFollower(tempo) if (tempo is not None and follow_clock) else None
        self.program_scenes = program_scenes
        self._routes: dict[str, list[_Route]] = {}
        self._smoothed: list[_Route] = []
        osc_sources: set[str] = set()
        for i, cfg in enumerate(mappings or []):
            path = f"mappings[{i}]"
            for route in self._build_routes(cfg, path):
                self._routes.setdefault(route.key, []).append(route)
                if cfg.smoothing > 0 and route.role != "lsb":
                    self._smoothed.append(route)
            if not cfg.source.startswith("midi/"):
                osc_sources.add(cfg.source)
        self.book = AddressBook(registry, aliases, osc_sources)
        self._pending: list[tuple[float, int, str, Any]] = []  # (due beat, order, kind, payload)
        self._order = 0
        self._last_t: float | None = None
        self._bpm_param: Any = None
        self.unmapped = 0

    @classmethod
    def from_patch(cls, patch: Patch, registry: ParamRegistry, tempo: Tempo | None = None) -> Mapper:
        """The mapper a patch asks for; raises ConfigError naming the bad key (mappings[2].target)."""
        follow = bool(patch.midi.clock) and patch.tempo.source == "midi"
        return cls(registry, patch.mappings, aliases=patch.osc.aliases, tempo=tempo,
                   follow_clock=follow, program_scenes=patch.midi.program_change)

    # ---- construction -------------------------------------------------------------------

    def _build_routes(self, cfg: MappingConfig, path: str) -> list[_Route]:
        spec: ParamSpec | None = None
        action = ""
        if cfg.target in self.registry:
            spec = self.registry[cfg.target]
        elif cfg.target in ACTIONS:
            action = cfg.target
        else:
            close = difflib.get_close_matches(cfg.target, [*self.registry.names, *ACTIONS], n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ConfigError(f"{path}.target", f"{cfg.target!r} is neither a parameter nor an action "
                                                f"({', '.join(ACTIONS)}){hint}")
        if cfg.curve == "toggle" and spec is not None and spec.kind == "trigger":
            raise ConfigError(f"{path}.curve", "a trigger fires on every press; toggle needs a value to flip")
        if cfg.encoder != "absolute" and (spec is None or spec.kind == "trigger"):
            raise ConfigError(f"{path}.encoder", "relative encoders need a parameter with a value")
        in_lo, in_hi = cfg.in_range if cfg.in_range is not None else source_range(cfg.source)
        out_lo, out_hi = cfg.out_range if cfg.out_range is not None else _param_range(spec)
        midi = parse_midi_source(cfg.source) if cfg.source.startswith("midi/") else None
        if midi is not None and midi.kind == "cc14" and cfg.encoder != "absolute":
            raise ConfigError(f"{path}.encoder", "relative encoders send 7-bit CCs; use midi/cc/CH/N")
        state: dict[str, Any] = {}  # both halves of a 14-bit pair share one state
        keys = midi.keys() if midi is not None else [(cfg.source, None)]
        return [_Route(cfg, path, key, spec, action, role, midi, in_lo, in_hi, out_lo, out_hi, state)
                for key, role in keys]

    # ---- per frame ----------------------------------------------------------------------

    def begin_frame(self, t: float, store: ParameterStore) -> list[tuple[str, Any]]:
        """Advance mapping smoothing, apply beat-quantised moves that are due; returns due actions."""
        dt = 0.0 if self._last_t is None else max(t - self._last_t, 0.0)
        self._last_t = t
        if self.follower is not None:
            self.follower.check(t)
        self._follow_bpm_param(t, store)
        for route in self._smoothed:
            st = route.state
            if "goal" not in st or st.get("smooth") == st["goal"]:
                continue
            cur, goal = st["smooth"], st["goal"]
            k = 1.0 - math.exp(-dt / route.cfg.smoothing) if dt > 0 else 0.0
            nxt = cur + (goal - cur) * k
            if abs(goal - nxt) <= 1e-6 * max(abs(route.out_hi - route.out_lo), 1e-9):
                nxt = goal
            st["smooth"] = nxt
            self._write(route, nxt, store)
        actions: list[tuple[str, Any]] = []
        if self._pending and self.tempo is not None:
            beat = self.tempo.beat(t)
            due = [p for p in self._pending if p[0] <= beat + 1e-9]
            if due:
                self._pending = [p for p in self._pending if p[0] > beat + 1e-9]
                for _beat, _order, kind, payload in sorted(due):
                    actions.extend(self._perform(kind, payload, store))
        return actions

    def _follow_bpm_param(self, t: float, store: ParameterStore) -> None:
        """Changes of the ``tempo.bpm`` parameter (OSC, a knob, a scene) set the tempo.

        Only changes count: at the first frame the tempo comes from the patch's [tempo] bpm,
        which the parameter's default must not override. MIDI clock, while present, wins.
        """
        if self.tempo is None or "tempo.bpm" not in self.registry:
            return
        bpm = store.targets.get("tempo.bpm")
        if self._bpm_param is not None and bpm != self._bpm_param:
            if self.follower is None or not self.follower.present:
                self.tempo.set_bpm(float(bpm), t)
        self._bpm_param = bpm

    @property
    def pending(self) -> int:
        """Quantised moves waiting for their beat or bar."""
        return len(self._pending)

    def status(self) -> list[str]:
        lines = []
        if self.follower is not None:
            f = self.follower
            if f.present and f.bpm is not None:
                lines.append(f"midi clock: {f.bpm:.1f} BPM" + ("" if f.running else " (stopped)"))
            else:
                lines.append("midi clock: waiting")
        if self._pending:
            lines.append(f"quantised moves waiting: {len(self._pending)}")
        return lines

    # ---- events -------------------------------------------------------------------------

    def apply(self, event: ControlEvent, store: ParameterStore) -> list[tuple[str, Any]]:
        """Apply one event; raises ValueError (naming the address) when it cannot be used."""
        address = event.address
        if address.startswith("midi/"):
            return self._apply_midi(event, store)
        routes = self._routes.get(address)
        if routes:
            return self._run(routes, event, store)
        hit = self.book.resolve(address)
        if hit is None:
            raise ValueError(f"{event.source} {address}: unknown address")
        if hit.kind == "action":
            return self._direct_action(hit, event)
        spec = hit.spec
        assert spec is not None
        if spec.kind == "trigger":
            if event.value is None or _truthy(event.value):
                store.fire(spec.name)
            return []
        if event.value is None:
            raise ValueError(f"{event.source} {address}: no value for {spec.name}")
        try:
            store.set(spec.name, event.value)
        except ValueError as e:
            raise ValueError(f"{event.source} {address}: {e}") from None
        return []

    def _direct_action(self, hit: OscTarget, event: ControlEvent) -> list[tuple[str, Any]]:
        v = event.value
        if hit.action == "scene":
            if hit.arg:
                return [] if (v is not None and not _truthy(v)) else [("scene", hit.arg)]
            if v is None:
                raise ValueError(f"{event.source} {event.address}: which scene? send a name or a number")
            return [("scene", _scene_ref(v, event))]
        if hit.action == "record":
            if v is None or v is True:
                return [("record", "toggle")]
            if isinstance(v, str) and v in RECORD_ARGS:
                return [("record", v)]
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                return [("record", "start" if v >= 0.5 else "stop")]
            raise ValueError(f"{event.source} {event.address}: record takes start, stop, toggle or 1/0")
        if v is None or _truthy(v):
            return [(hit.action, None)]
        return []

    def _apply_midi(self, event: ControlEvent, store: ParameterStore) -> list[tuple[str, Any]]:
        address = event.address
        parts = address.split("/")
        if len(parts) == 2 and parts[1] in MIDI_SYSTEM:
            self._feed_clock(parts[1], event, store)
        routes = list(self._routes.get(address, ()))
        if len(parts) >= 3 and parts[2] != "*":
            parts[2] = "*"
            routes += self._routes.get("/".join(parts), ())
        if routes:
            return self._run(routes, event, store)
        if parts[1] == "program" and self.program_scenes:
            return [("scene", int(_number(event.value, address)) + 1)]
        if parts[1] not in MIDI_SYSTEM:
            # Controllers have many knobs that a patch does not use: not an error.
            self.unmapped += 1
        return []

    def _feed_clock(self, kind: str, event: ControlEvent, store: ParameterStore) -> None:
        f = self.follower
        if f is None:
            return
        if kind == "clock":
            bpm = f.tick(event.t)
            if bpm is not None and "tempo.bpm" in self.registry:
                # Shown in the HUD and feedback; not read back as a manual tempo change.
                self._bpm_param = store.set("tempo.bpm", bpm)
        elif kind == "start":
            f.start()
        elif kind == "stop":
            f.stop()
        elif kind == "continue":
            f.resume()
        elif kind == "songpos":
            f.song_position(int(_number(event.value, event.address)))

    def _run(self, routes: list[_Route], event: ControlEvent, store: ParameterStore) -> list[tuple[str, Any]]:
        actions: list[tuple[str, Any]] = []
        errors: list[str] = []
        for route in routes:
            try:
                actions.extend(self._route(route, event, store))
            except ValueError as e:
                errors.append(str(e))
        if errors:
            # Other mappings of the same control still moved; report the first failure.
            raise ValueError(f"{event.source} {event.address}: {errors[0]}")
        return actions

    def _route(self, route: _Route, event: ControlEvent, store: ParameterStore) -> list[tuple[str, Any]]:
        cfg = route.cfg
        st = route.state
        value = event.value
        if isinstance(value, (list, tuple)):
            if cfg.index >= len(value):
                raise ValueError(f"{route.path}: needs argument {cfg.index}, message has {len(value)}")
            value = value[cfg.index]
        elif cfg.index > 0 and not cfg.source.startswith("midi/"):
            raise ValueError(f"{route.path}: needs argument {cfg.index}, message has one")
        if route.role is not None:
            # 14-bit CC: MSB resets the LSB (as the MIDI spec says); each half updates the value.
            half = int(_number(value, route.path))
            if route.role == "msb":
                st["msb"], st["lsb"] = half, 0
            else:
                st["lsb"] = half
            value = st.get("msb", 0) * 128 + st.get("lsb", 0)

        kind = route.midi.kind if route.midi is not None else "osc"
        if route.action or (route.spec is not None and route.spec.kind == "trigger"):
            if not self._pressed(route, value, kind):
                return []
            if route.action:
                return self._queue_or_do(route, "action", (route.action, self._action_value(route, value, kind)),
                                         event, store)
            assert route.spec is not None
            return self._queue_or_do(route, "fire", route.spec.name, event, store)

        spec = route.spec
        assert spec is not None
        if isinstance(value, str) and spec.kind == "enum" and value in spec.choices:
            return self._queue_or_do(route, "set", (spec.name, value), event, store)
        if value is None:
            value = route.in_hi  # an argument-less OSC message is a press
        raw = _number(value, route.path)

        if cfg.encoder != "absolute":
            return self._queue_or_do(route, "set", (spec.name, self._relative(route, raw, store)), event, store)

        x = (raw - route.in_lo) / (route.in_hi - route.in_lo)
        x = min(max(x, 0.0), 1.0)
        if cfg.invert:
            x = 1.0 - x
        if cfg.curve == "toggle":
            pressed = raw > 0 if kind == "note" else x >= 0.5
            was = st.get("pressed", False)
            st["pressed"] = pressed
            if not pressed or was:
                return []
            cur = store.targets[spec.name]
            if spec.kind == "bool":
                nxt: Any = not bool(cur)
            else:
                far_hi = abs(float(_index(spec, cur)) - route.out_lo) < abs(float(_index(spec, cur)) - route.out_hi)
                nxt = route.out_hi if far_hi else route.out_lo
            return self._queue_or_do(route, "set", (spec.name, nxt), event, store)
        if cfg.curve == "step":
            # Equal zones along the fader, one per level (rounding would halve the end zones).
            n = cfg.steps or _auto_steps(spec)
            x = min(math.floor(x * n), n - 1) / (n - 1)
        else:
            x = shape(x, cfg.curve)
        y = route.out_lo + x * (route.out_hi - route.out_lo)

        if cfg.pickup and spec.continuous and not self._picked_up(route, y, store):
            return []
        if cfg.smoothing > 0 and spec.kind in ("float", "int") and cfg.quantise == "off":
            if "smooth" not in st:
                st["smooth"] = float(store.targets[spec.name])
            st["goal"] = y
            return []
        return self._queue_or_do(route, "set", (spec.name, y), event, store)

    def _pressed(self, route: _Route, value: Any, kind: str) -> bool:
        if kind == "program" or isinstance(value, str):
            return True
        if value is None:
            return True
        raw = _number(value, route.path)
        if kind == "note":
            return raw > 0
        x = (raw - route.in_lo) / (route.in_hi - route.in_lo)
        if route.cfg.invert:
            x = 1.0 - x
        return x >= 0.5

    def _action_value(self, route: _Route, value: Any, kind: str) -> Any:
        cfg = route.cfg
        if route.action == "record":
            return cfg.arg or "toggle"
        if route.action == "quit":
            return None
        if cfg.arg:
            return int(cfg.arg) if cfg.arg.isdigit() else cfg.arg
        if kind == "program":
            return int(_number(value, route.path)) + 1
        if isinstance(value, str):
            return value
        if kind in ("osc",) and value is not None:
            return _scene_ref(value, None)
        raise ValueError(f"{route.path}: a scene mapping from {cfg.source} needs arg = the scene name or number")

    def _relative(self, route: _Route, raw: float, store: ParameterStore) -> Any:
        spec = route.spec
        assert spec is not None
        ticks = int(raw)
        if route.cfg.encoder == "twos-complement":
            delta = ticks - 128 if ticks >= 64 else ticks
        else:
            delta = ticks - 64
        if route.cfg.invert:
            delta = -delta
        cur = store.targets[spec.name]
        if spec.kind == "bool":
            return cur if delta == 0 else delta > 0
        lo, hi = sorted((route.out_lo, route.out_hi))
        if route.cfg.step_size > 0:
            step = route.cfg.step_size * (hi - lo)
        elif spec.kind in ("int", "enum"):
            step = 1.0
        else:
            step = (hi - lo) / 128.0
        return min(max(float(_index(spec, cur)) + delta * step, lo), hi)

    def _picked_up(self, route: _Route, y: float, store: ParameterStore) -> bool:
        st = route.state
        spec = route.spec
        assert spec is not None
        cur = float(store.targets[spec.name])
        if st.get("engaged") and st.get("written") is not None and cur != st["written"]:
            # Something else (a scene, OSC, another fader) moved the parameter: take over again.
            st["engaged"] = False
            st["prev"] = None
        if not st.get("engaged"):
            prev = st.get("prev")
            tol = 0.02 * abs(route.out_hi - route.out_lo)
            crossed = prev is not None and (prev - cur) * (y - cur) <= 0
            if abs(y - cur) <= tol or crossed:
                st["engaged"] = True
            else:
                st["prev"] = y
                return False
        return True

    def _queue_or_do(self, route: _Route, kind: str, payload: Any, event: ControlEvent,
                     store: ParameterStore) -> list[tuple[str, Any]]:
        if route.cfg.quantise != "off" and self.tempo is not None:
            every = 4.0 if route.cfg.quantise == "bar" else 1.0
            b = self.tempo.beat(event.t)
            due = (math.floor(b / every + 1e-9) + 1) * every
            self._order += 1
            self._pending.append((due, self._order, kind, (route, payload)))
            return []
        return self._perform(kind, (route, payload), store)

    def _perform(self, kind: str, item: tuple[_Route, Any], store: ParameterStore) -> list[tuple[str, Any]]:
        route, payload = item
        if kind == "action":
            return [payload]
        if kind == "fire":
            store.fire(payload)
            return []
        name, value = payload
        self._write(route, value, store, name)
        return []

    def _write(self, route: _Route, value: Any, store: ParameterStore, name: str | None = None) -> None:
        spec = route.spec
        assert spec is not None
        if spec.kind == "enum" and not isinstance(value, str):
            value = int(round(float(value)))
        elif spec.kind == "bool" and not isinstance(value, bool):
            lo, hi = route.out_lo, route.out_hi
            value = abs(float(value) - hi) < abs(float(value) - lo) if lo != hi else float(value) >= 0.5
        try:
            route.state["written"] = store.set(name or spec.name, value)
        except ValueError as e:
            raise ValueError(f"{route.path}: {e}") from None


def check_mappings(patch: Patch, registry: ParamRegistry) -> None:
    """Validate a patch's mappings and OSC aliases against the registry (targets exist, options fit).

    Raises ConfigError with the key path (``mappings[2].target``, ``osc.aliases./x``); patch
    loading should call this so a typo is a load error, not a crash at hot reload.
    """
    Mapper.from_patch(patch, registry, Tempo(patch.tempo.bpm))


def _param_range(spec: ParamSpec | None) -> tuple[float, float]:
    if spec is None:
        return (0.0, 1.0)
    if spec.kind == "enum":
        return (0.0, float(len(spec.choices) - 1))
    if spec.kind in ("bool", "trigger"):
        return (0.0, 1.0)
    lo = float(spec.min) if spec.min is not None else 0.0
    hi = float(spec.max) if spec.max is not None else 1.0
    return (lo, hi)


def _auto_steps(spec: ParamSpec) -> int:
    if spec.kind == "enum":
        return max(len(spec.choices), 2)
    if spec.kind == "int" and spec.min is not None and spec.max is not None:
        return max(int(spec.max) - int(spec.min) + 1, 2)
    return 2


def _index(spec: ParamSpec, value: Any) -> float:
    """Numeric position of a value (enum choices by index) for encoders and toggles."""
    if spec.kind == "enum":
        return float(spec.choices.index(value)) if value in spec.choices else 0.0
    return float(value)


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("0", "false", "off", "no", "")
    if isinstance(value, (list, tuple)):
        return bool(value) and _truthy(value[0])
    try:
        x = float(value)
    except (TypeError, ValueError):
        return False
    return math.isfinite(x) and x != 0.0


def _scene_ref(value: Any, event: ControlEvent | None) -> Any:
    if isinstance(value, str):
        return int(value) if value.isdigit() else value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return int(value)
    where = f"{event.source} {event.address}" if event is not None else "scene"
    raise ValueError(f"{where}: expected a scene name or number, got {value!r}")
