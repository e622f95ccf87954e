"""Autopilot: a control input that keeps an unattended show evolving, through control events only.

Once per frame the engine calls :meth:`Autopilot.step` after it applied that frame's events. When
nobody has touched a control for ``autopilot.idle`` seconds, the autopilot fades in and moves the
parameters the patch's ``[autopilot]`` section lists, each inside its allowed range, gliding from
one target to the next on the beat (a bar by default, or ``still`` seconds at the latest when the
tempo is slow or stopped); every few moves it jumps the latent walk or recalls one of the listed
scenes. Its moves are :class:`ControlEvent` objects pushed onto the bus, stamped just after the
frame, so they are applied at the next frame, recorded in show logs and replayed frame-exactly
(a replay of a show log runs without the autopilot: the log already holds its moves).

The first human control takes over at once: a parameter someone else wrote is released that same
frame, and the rest of the motion eases to a stop over ``fade`` seconds, so nothing jumps.
Everything here is a function of the seed, frame times, beats and the events applied.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from livegen.config import ConfigError
from livegen.control.bus import ControlBus, ControlEvent
from livegen.control.midikinds import PREFIX as MIDI_PREFIX
from livegen.control.midikinds import SYSTEM as MIDI_SYSTEM
from livegen.params import CORE_PARAMS, OSC_PREFIX, ParameterStore, ParamRegistry, ParamSpec

SOURCE = "autopilot"
NOT_PLAYING = (OSC_PREFIX + "autopilot/", OSC_PREFIX + "tempo/")
MIN_STEP = 0.3  # each new target lies 30..70 % of the range away from the last: a move, never a twitch

# The parameters the autopilot reads (declared with the core ones: see params.py).
PARAMS: list[ParamSpec] = [s for s in CORE_PARAMS if s.name.startswith("autopilot.")]


@dataclass
class AutopilotConfig:
    """Patch section [autopilot]: what the autopilot may move, and how often."""

    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)  # parameter -> [low, high]
    every: float = 4.0  # beats per move (one bar in 4/4)
    still: float = 8.0  # seconds: the longest one move may take, whatever the tempo does
    jump_every: int = 0  # moves between latent-walk jumps (0 = never)
    scenes: list[str] = field(default_factory=list)  # scenes it may recall
    scene_every: int = 8  # moves between scene recalls
    fade: float = 2.0  # seconds to fade in, and for the motion to ease to a stop when a human plays

    def __post_init__(self) -> None:
        for name, (lo, hi) in self.ranges.items():
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                raise ConfigError(f"ranges.{name}", f"expected [low, high] with low < high, got [{lo}, {hi}]")
        if not 0.25 <= self.every <= 256:
            raise ConfigError("every", f"expected 0.25..256 beats, got {self.every}")
        if not 0.5 <= self.still <= 3600:
            raise ConfigError("still", f"expected 0.5..3600 seconds, got {self.still}")
        if not 0.05 <= self.fade <= 60:
            raise ConfigError("fade", f"expected 0.05..60 seconds, got {self.fade}")
        if self.jump_every < 0 or self.scene_every < 1:
            raise ConfigError("jump_every" if self.jump_every < 0 else "scene_every", "must be a positive count")

    @property
    def active(self) -> bool:
        return bool(self.ranges or self.scenes or self.jump_every)


def check_autopilot(cfg: AutopilotConfig, registry: ParamRegistry, scenes: Sequence[str]) -> None:
    """ConfigError naming the key when [autopilot] names a parameter or scene the show lacks."""
    for name in cfg.ranges:
        if name not in registry:
            raise ConfigError(f"autopilot.ranges.{name}", "unknown parameter")
        spec = registry[name]
        if not spec.continuous:
            raise ConfigError(f"autopilot.ranges.{name}", f"is a {spec.kind} parameter; the autopilot "
                                                         "glides numbers only (list scenes to change the rest)")
        lo, hi = cfg.ranges[name]
        if (spec.min is not None and lo < spec.min) or (spec.max is not None and hi > spec.max):
            raise ConfigError(f"autopilot.ranges.{name}", f"[{lo}, {hi}] leaves the parameter's range "
                                                         f"[{spec.min}, {spec.max}]")
    for i, scene in enumerate(cfg.scenes):
        if scene not in scenes:
            raise ConfigError(f"autopilot.scenes[{i}]", f"no scene {scene!r} in the patch")


def address(name: str) -> str:
    return OSC_PREFIX + name.replace(".", "/")


def smoothstep(u: float) -> float:
    u = min(max(u, 0.0), 1.0)
    return u * u * (3.0 - 2.0 * u)


class Autopilot:
    """See the module docstring. ``scenes`` maps each scene name to (its values, its fade)."""

    def __init__(self, cfg: AutopilotConfig, registry: ParamRegistry, bus: ControlBus, seed: int = 0,
                 scenes: Mapping[str, tuple[Mapping[str, Any], float]] | None = None) -> None:
        self.cfg = cfg
        self.registry = registry
        self.bus = bus
        self.seed = seed
        self.scenes = dict(scenes or {})
        self.state = "waiting"  # waiting -> engaged -> easing -> waiting
        self.last_human = 0.0
        self.engagements = 0
        self.level = 0.0  # fade-in level 0..1
        self.speed = 1.0  # 1 while engaged; eases to 0 when a human takes over
        self.home: dict[str, float] = {}  # where each parameter was when the autopilot took over
        self.home_glide: dict[str, tuple[float, float, float, float]] = {}  # from, to, t0, seconds
        self.targets: dict[str, list[float]] = {}  # per parameter: the targets so far, as 0..1 of its range
        self.sent: dict[str, float] = {}  # last value written per parameter (None once released)
        self.released: set[str] = set()
        self.move = 0  # index of the current move
        self.u = 0.0  # progress through the current move, 0..1
        self._prev: tuple[float, float] | None = None  # (t, beat) of the previous step

    @property
    def moving(self) -> bool:
        return self.state != "waiting"

    @property
    def status(self) -> str:
        """One HUD line."""
        return {"waiting": "autopilot: waits for idle controls", "engaged": f"autopilot: moving (move {self.move})",
                "easing": "autopilot: a human plays; easing out"}[self.state]

    @staticmethod
    def _is_human(ev: ControlEvent) -> bool:
        # Setting the autopilot's own knobs is not playing the show, and neither is the steady
        # timing a DAW or a tempo bridge sends (MIDI clock and transport, tempo).
        if ev.source == SOURCE or ev.address.startswith(NOT_PLAYING):
            return False
        return ev.address.removeprefix(MIDI_PREFIX) not in MIDI_SYSTEM

    def _span(self, name: str) -> tuple[float, float]:
        return self.cfg.ranges[name]

    def _target(self, name: str, k: int) -> float:
        """Target k of parameter ``name`` as a fraction of its range (k = 0 is where it started)."""
        seq = self.targets[name]
        while len(seq) <= k:
            rng = random.Random(f"{self.seed}:{self.engagements}:{name}:{len(seq)}")
            seq.append((seq[-1] + MIN_STEP + (1.0 - 2 * MIN_STEP) * rng.random()) % 1.0)
        return seq[k]

    def _engage(self, store: ParameterStore) -> None:
        self.engagements += 1
        self.state, self.level, self.speed = "engaged", 0.0, 1.0
        self.move, self.u = 0, 0.0
        self.released.clear()
        self.sent.clear()
        self.home_glide.clear()
        self.home = {n: float(store.targets[n]) for n in self.cfg.ranges}
        for name, (lo, hi) in self.cfg.ranges.items():
            self.targets[name] = [min(max((self.home[name] - lo) / (hi - lo), 0.0), 1.0)]

    def _home(self, name: str, t: float) -> float:
        glide = self.home_glide.get(name)
        if glide is None:
            return self.home[name]
        a, b, t0, secs = glide
        u = (t - t0) / secs
        if u >= 1.0:
            del self.home_glide[name]
            self.home[name] = b
            return b
        return a + (b - a) * smoothstep(u)

    def _push(self, t: float, name: str, value: Any) -> None:
        # Stamped just after this frame: applied (and recorded) at the next one, live and in replays.
        self.bus.push(ControlEvent(math.nextafter(t, math.inf), SOURCE, name, value))

    def step(self, t: float, beat: float, store: ParameterStore, applied: Sequence[ControlEvent]) -> None:
        """One frame: notice human input, then push this frame's moves onto the bus."""
        dt, dbeat = (0.0, 0.0) if self._prev is None else (t - self._prev[0], beat - self._prev[1])
        self._prev = (t, beat)
        if any(self._is_human(ev) for ev in applied):
            self.last_human = t
            if self.state == "engaged":
                self.state = "easing"
        # A parameter whose target is not what the autopilot last wrote was set by someone else.
        for name, value in self.sent.items():
            if name not in self.released and store.targets[name] != value:
                self.released.add(name)
        amount = float(store.current["autopilot.amount"])
        if self.state == "waiting":
            if amount > 0.0 and t - self.last_human >= float(store.current["autopilot.idle"]):
                self._engage(store)
            else:
                return
        if self.state == "engaged":
            self.level = min(self.level + dt / self.cfg.fade, 1.0)
        else:
            self.speed = max(self.speed - dt / self.cfg.fade, 0.0)
        # Progress through the move: by the beat, but at least one move per `still` seconds.
        du = max(max(dbeat, 0.0) / self.cfg.every, max(dt, 0.0) / self.cfg.still) * self.speed
        self.u += du
        while self.u >= 1.0:
            self.u -= 1.0
            self.move += 1
            # Jumps and scene recalls are all or nothing: only once faded in, at amount 0.5 or more.
            if self.state == "engaged" and self.level >= 1.0 and amount >= 0.5:
                self._on_move(t)
        weight = self.level * amount
        for name, (lo, hi) in self.cfg.ranges.items():
            if name in self.released:
                continue
            a, b = self._target(name, self.move), self._target(name, self.move + 1)
            path = lo + (hi - lo) * (a + (b - a) * smoothstep(self.u))
            home = self._home(name, t)
            value = self.registry[name].coerce(home + (path - home) * weight)
            if self.sent.get(name) != value:
                self._push(t, address(name), value)
                self.sent[name] = value
        if self.state == "easing" and self.speed <= 0.0:
            self.state = "waiting"

    def _on_move(self, t: float) -> None:
        cfg = self.cfg
        if cfg.jump_every and self.move % cfg.jump_every == 0:
            self._push(t, address("generator.jump"), 1)
        if cfg.scenes and self.move % cfg.scene_every == 0:
            rng = random.Random(f"{self.seed}:{self.engagements}:scene:{self.move}")
            name = cfg.scenes[rng.randrange(len(cfg.scenes))]
            self._push(t, OSC_PREFIX + "scene", name)
            values, fade = self.scenes.get(name, ({}, 0.0))
            # The scene moves the autopilot's own parameters too: their home glides there with it.
            for p, v in values.items():
                if p in self.home:
                    self.home_glide[p] = (self._home(p, t), float(v), t, max(fade, cfg.fade))
