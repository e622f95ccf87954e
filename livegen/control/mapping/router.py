"""The router: applies control events to the parameter store, returns engine actions.

Runs inside the render loop: the engine calls :meth:`Mapper.begin_frame` once per frame and
then :meth:`Mapper.apply` for each event drained from the bus. All mapping state (pickup,
per-mapping smoothing, toggles, relative encoders, 14-bit CC halves, beat-quantised moves)
changes only there, from event timestamps and frame times, never from the wall clock, so a
recorded show replays exactly.

Addresses the router understands:

- every parameter under ``/livegen/``, ``/livegen/scene``, ``/livegen/scene/<name>``,
  ``/livegen/record``, ``/livegen/quit``, and the patch's ``[osc.aliases]``
  (see :mod:`livegen.control.osc.schema`);
- any OSC address, MIDI message or audio feature named as a ``[[mappings]]`` source (see
  :mod:`livegen.control.midikinds`, :mod:`livegen.control.audio`); CH is 1..16 or ``*`` for any channel;
- MIDI clock and transport, handed to the MIDI clock follower when the show follows it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from livegen.clock import Tempo
from livegen.control.actions import Action, record_arg, scene_ref
from livegen.control.audio import is_audio
from livegen.control.bus import ControlEvent
from livegen.control.link import is_link
from livegen.control.mapping.curves import auto_steps, encoder_delta, param_range, position, shape, step_level
from livegen.control.mapping.scheduler import BeatQueue
from livegen.control.mapping.schema import MappingConfig, osc_sources, resolve_target
from livegen.control.midiclock import MidiClockFollower
from livegen.control.midikinds import SYSTEM, MidiSource, is_midi, midi_address, parse_midi_source, source_range
from livegen.control.osc.schema import AddressBook, OscTarget
from livegen.params import ParameterStore, ParamRegistry, ParamSpec, is_on, one_pole, to_number


@dataclass
class Route:
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
    """Applies events to the store; returns actions ``(name, value)`` for the engine (see actions.py).

    ``tempo`` is needed for beat-quantised moves and lets the ``tempo.bpm`` parameter set the
    tempo; ``midi_clock`` (a follower of that tempo) gets MIDI clock and transport events.
    ``program_scenes``: a program change that no mapping takes recalls scene n+1.
    Raises ConfigError naming the bad key (``mappings[2].target``).
    """

    def __init__(self, registry: ParamRegistry, mappings: list[MappingConfig] | None = None,
                 aliases: dict[str, str] | None = None, tempo: Tempo | None = None,
                 midi_clock: MidiClockFollower | None = None, program_scenes: bool = True,
                 osc_tempo: bool = False, followed_tempo: bool = False) -> None:
        self.registry = registry
        self.tempo = tempo
        self.osc_tempo = osc_tempo  # [tempo] source = "osc": /livegen/tempo/beat sets the phase
        # [tempo] source = "audio" or "link": their events drive the tempo, hand-set bpm values are dropped.
        self.followed_tempo = followed_tempo
        self.midi_clock = midi_clock
        self.program_scenes = program_scenes
        self._routes: dict[str, list[Route]] = {}
        self._smoothed: list[Route] = []
        for i, cfg in enumerate(mappings or []):
            for route in self._build_routes(cfg, f"mappings[{i}]"):
                self._routes.setdefault(route.key, []).append(route)
                if cfg.smoothing > 0 and route.role != "lsb":
                    self._smoothed.append(route)
        self.book = AddressBook(registry, aliases, osc_sources(mappings or []))
        self.queue = BeatQueue(tempo) if tempo is not None else None
        self._last_t: float | None = None
        self.unmapped = 0

    # ---- construction -------------------------------------------------------------------

    def _build_routes(self, cfg: MappingConfig, path: str) -> list[Route]:
        spec, action = resolve_target(cfg, self.registry, path)
        in_lo, in_hi = cfg.in_range if cfg.in_range is not None else source_range(cfg.source)
        out_lo, out_hi = cfg.out_range if cfg.out_range is not None else param_range(spec)
        midi = parse_midi_source(cfg.source) if is_midi(cfg.source) else None
        state: dict[str, Any] = {}  # both halves of a 14-bit pair share one state
        keys = midi.keys() if midi is not None else [(cfg.source, None)]
        return [Route(cfg, path, key, spec, action, role, midi, in_lo, in_hi, out_lo, out_hi, state)
                for key, role in keys]

    # ---- per frame ----------------------------------------------------------------------

    def begin_frame(self, t: float, store: ParameterStore) -> list[Action]:
        """Follow the tempo, advance mapping smoothing, make quantised moves that are due; returns due actions."""
        dt = 0.0 if self._last_t is None else max(t - self._last_t, 0.0)
        self._last_t = t
        if self.midi_clock is not None:
            self.midi_clock.check(t)
        if self.tempo is not None:
            clocked = self.midi_clock is not None and self.midi_clock.present
            self.tempo.follow_param(store, t, external=clocked or self.followed_tempo)
        for route in self._smoothed:
            st = route.state
            if "goal" not in st or st.get("smooth") == st["goal"]:
                continue
            st["smooth"] = one_pole(st["smooth"], st["goal"], dt, route.cfg.smoothing, abs(route.out_hi - route.out_lo))
            self._write(route, st["smooth"], store)
        actions: list[Action] = []
        if self.queue is not None:
            for kind, item in self.queue.due(t):
                actions.extend(self._perform(kind, item, store))
        return actions

    @property
    def pending(self) -> int:
        """Quantised moves waiting for their beat or bar."""
        return len(self.queue) if self.queue is not None else 0

    # ---- events -------------------------------------------------------------------------

    def apply(self, event: ControlEvent, store: ParameterStore) -> list[Action]:
        """Apply one event; raises ValueError (naming the address) when it cannot be used."""
        address = event.address
        if is_midi(address):
            return self._apply_midi(event, store)
        routes = self._routes.get(address)
        if routes:
            return self._run(routes, event, store)
        if is_audio(address) or is_link(address):
            return []  # features no mapping uses, Link's timeline: the tempo followers read them
        hit = self.book.resolve(address)
        if hit is None:
            raise ValueError(f"{event.source} {address}: unknown address")
        if hit.kind == "action":
            return self._direct_action(hit, event)
        spec = hit.spec
        assert spec is not None
        if spec.kind == "trigger":
            if event.value is None or is_on(event.value):
                store.fire(spec.name)
            return []
        if event.value is None:
            raise ValueError(f"{event.source} {address}: no value for {spec.name}")
        try:
            store.set(spec.name, event.value)
        except ValueError as e:
            raise ValueError(f"{event.source} {address}: {e}") from None
        return []

    def _direct_action(self, hit: OscTarget, event: ControlEvent) -> list[Action]:
        v = event.value
        where = f"{event.source} {event.address}"
        if hit.action == "beat":
            self._beat_sync(v, event.t, where)
            return []
        if hit.action == "scene":
            if hit.arg:
                return [] if (v is not None and not is_on(v)) else [("scene", hit.arg)]
            if v is None:
                raise ValueError(f"{where}: which scene? send a name or a number")
            return [("scene", scene_ref(v, where))]
        if hit.action == "record":
            return [("record", record_arg(v, where))]
        if v is None or is_on(v):
            return [(hit.action, None)]
        return []

    def _beat_sync(self, value: Any, t: float, where: str) -> None:
        """``/livegen/tempo/beat BEAT [BPM]``: an OSC sender's beat position sets the tempo's phase."""
        if not self.osc_tempo or self.tempo is None:
            raise ValueError(f"{where}: the beat follows OSC only with [tempo] source = \"osc\"")
        args = value if isinstance(value, list) else [value]
        try:
            beat = float(args[0])
            bpm = float(args[1]) if len(args) > 1 else None
        except (TypeError, ValueError, IndexError):
            raise ValueError(f"{where}: expected a beat position [, bpm], got {value!r}") from None
        if not math.isfinite(beat) or (bpm is not None and not 20 <= bpm <= 300):
            raise ValueError(f"{where}: expected a finite beat and a bpm of 20..300, got {value!r}")
        self.tempo.sync(beat, t, bpm)

    def _apply_midi(self, event: ControlEvent, store: ParameterStore) -> list[Action]:
        address = event.address
        parts = address.split("/")
        kind = parts[1]
        if kind in SYSTEM and self.midi_clock is not None:
            self.midi_clock.handle(event)
        routes = list(self._routes.get(address, ()))
        if len(parts) >= 3 and parts[2] != "*":
            routes += self._routes.get(midi_address(kind, "*", parts[3] if len(parts) > 3 else None), ())
        if routes:
            return self._run(routes, event, store)
        if kind == "program" and self.program_scenes:
            return [("scene", int(to_number(event.value, address)) + 1)]
        if kind not in SYSTEM:
            # Controllers have many knobs that a patch does not use: not an error.
            self.unmapped += 1
        return []

    def _run(self, routes: list[Route], event: ControlEvent, store: ParameterStore) -> list[Action]:
        actions: list[Action] = []
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

    def _route(self, route: Route, event: ControlEvent, store: ParameterStore) -> list[Action]:
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
            half = int(to_number(value, route.path))
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
        raw = to_number(value, route.path)

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
                far_hi = abs(float(position(spec, cur)) - route.out_lo) < abs(float(position(spec, cur)) - route.out_hi)
                nxt = route.out_hi if far_hi else route.out_lo
            return self._queue_or_do(route, "set", (spec.name, nxt), event, store)
        if cfg.curve == "step":
            x = step_level(x, cfg.steps or auto_steps(spec))
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

    def _pressed(self, route: Route, value: Any, kind: str) -> bool:
        if kind == "program" or isinstance(value, str):
            return True
        if value is None:
            return True
        raw = to_number(value, route.path)
        if kind == "note":
            return raw > 0
        x = (raw - route.in_lo) / (route.in_hi - route.in_lo)
        if route.cfg.invert:
            x = 1.0 - x
        return x >= 0.5

    def _action_value(self, route: Route, value: Any, kind: str) -> Any:
        cfg = route.cfg
        if route.action == "record":
            return cfg.arg or "toggle"
        if route.action in ("quit", "tempo/tap"):
            return None
        if cfg.arg:
            return int(cfg.arg) if cfg.arg.isdigit() else cfg.arg
        if kind == "program":
            return int(to_number(value, route.path)) + 1
        if isinstance(value, str):
            return value
        if kind in ("osc",) and value is not None:
            return scene_ref(value, "scene")
        raise ValueError(f"{route.path}: a scene mapping from {cfg.source} needs arg = the scene name or number")

    def _relative(self, route: Route, raw: float, store: ParameterStore) -> Any:
        spec = route.spec
        assert spec is not None
        delta = encoder_delta(int(raw), route.cfg.encoder)
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
        return min(max(float(position(spec, cur)) + delta * step, lo), hi)

    def _picked_up(self, route: Route, y: float, store: ParameterStore) -> bool:
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

    def _queue_or_do(self, route: Route, kind: str, payload: Any, event: ControlEvent,
                     store: ParameterStore) -> list[Action]:
        if route.cfg.quantise != "off" and self.queue is not None:
            self.queue.add(event.t, route.cfg.quantise, (kind, (route, payload)))
            return []
        return self._perform(kind, (route, payload), store)

    def _perform(self, kind: str, item: tuple[Route, Any], store: ParameterStore) -> list[Action]:
        route, payload = item
        if kind == "action":
            return [payload]
        if kind == "fire":
            store.fire(payload)
            return []
        name, value = payload
        self._write(route, value, store, name)
        return []

    def _write(self, route: Route, value: Any, store: ParameterStore, name: str | None = None) -> None:
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
