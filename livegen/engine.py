"""The frame loop's core: one :meth:`Engine.tick` makes one frame from controls and inputs.

Per frame, in this order: hot-reload check → drain control events up to t → mapping →
ParameterStore.step(dt) → snapshot → pipeline → (record). Both the live runner (``run``) and the
offline renderer (``render``) call ``tick``; only the clock that chooses t differs, which is
what lets a recorded show re-render frame-exactly.

The show never stops: a bad event, a broken patch save, a failing model or stage is reported
(once, then counted) and the last good frame stays on screen.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from livegen import limits
from livegen.budget import FrameBudget
from livegen.clock import Tempo
from livegen.control.autopilot import Autopilot
from livegen.control.bus import ControlBus, ControlEvent
from livegen.control.mapping.router import Mapper
from livegen.control.midiclock import MidiClockFollower
from livegen.control.record import ShowRecorder, make_header
from livegen.device import pick_device
from livegen.params import ParameterStore, ParamRegistry, Snapshot
from livegen.patch import Patch, PatchError, PatchWatcher
from livegen.paths import resolve
from livegen.size import Size, parse_size
from livegen.sources.feed import CameraFeed
from livegen.stages import default_registry
from livegen.stages.pipeline import Pipeline

log = logging.getLogger("livegen")

# What the engine asks for a camera picture: (newest RGB uint8 image or None, sequence number) at t.
CameraRead = Callable[[float], tuple[np.ndarray | None, int]]


class ErrorLog:
    """Reports each distinct problem once, then a count at most every ``every`` seconds.

    Every report is counted in ``total``. Memory and the log stay bounded however many distinct
    problems arrive (weeks of a sender spraying random addresses): the table keeps the
    ``MAX_DISTINCT`` most recently seen messages, and at most ``MAX_NEW_LINES`` new messages are
    logged per ``every`` seconds; past that, one line says how many were counted but not logged.
    """

    MAX_CHARS = 300  # a hostile value (a 20 KB scene name) must not fill the log and the HUD
    MAX_DISTINCT = 1000
    MAX_NEW_LINES = 50

    def __init__(self, every: float = 5.0) -> None:
        self.every = every
        self.counts: dict[str, int] = {}
        self._last_logged: dict[str, float] = {}
        self.last = ""
        self.total = 0
        self.unlogged = 0  # new messages past the log budget: counted, not written out
        self._window_start = -math.inf
        self._window_lines = 0
        self._window_unlogged = 0

    def report(self, message: str) -> None:
        if len(message) > self.MAX_CHARS:
            message = message[: self.MAX_CHARS - 1] + "…"
        self.total += 1
        n = self.counts.pop(message, 0) + 1
        if n == 1 and len(self.counts) >= self.MAX_DISTINCT:
            # Forget the message seen longest ago (dicts keep insertion order; a repeat moves to the end).
            oldest = next(iter(self.counts))
            del self.counts[oldest]
            self._last_logged.pop(oldest, None)
        self.counts[message] = n
        self.last = message if n == 1 else f"{message} (x{n})"
        now = time.monotonic()
        if now - self._window_start >= self.every:
            if self._window_unlogged:
                log.warning("%d more distinct problems in %.0f s were counted but not logged (%d in all)",
                            self._window_unlogged, self.every, self.total)
            self._window_start, self._window_lines, self._window_unlogged = now, 0, 0
        if n == 1 or now - self._last_logged.get(message, -math.inf) >= self.every:
            if self._window_lines >= self.MAX_NEW_LINES:
                self.unlogged += 1
                self._window_unlogged += 1
                return
            self._window_lines += 1
            self._last_logged[message] = now
            log.warning("%s%s", message, "" if n == 1 else f" (seen {n} times)")


def make_mapper(patch: Patch, registry: ParamRegistry, tempo: Tempo | None = None) -> Mapper:
    """The router a patch asks for: its mappings and aliases; MIDI clock drives ``tempo`` when it says so."""
    follow = tempo is not None and patch.midi.clock and patch.tempo.source == "midi"
    return Mapper(registry, patch.mappings, aliases=patch.osc.aliases, tempo=tempo,
                  midi_clock=MidiClockFollower(tempo) if follow else None,
                  program_scenes=patch.midi.program_change, osc_tempo=patch.tempo.source == "osc",
                  followed_tempo=patch.tempo.source in ("audio", "link"))


class ModelHashes:
    """SHA-256 of the show's model files, computed once on a helper thread.

    Show logs record them so a replay can tell whether it plays the same models; hashing a
    large file must not hold up a frame, and only regular files are read (a device path given
    as a model would never end).
    """

    def __init__(self, paths: list[Path]) -> None:
        self._hashes: dict[str, str | None] = {str(p): None for p in paths}
        self._thread = threading.Thread(target=self._run, args=(paths,), name="livegen-model-hash", daemon=True)
        self._thread.start()

    def _run(self, paths: list[Path]) -> None:
        for p in paths:
            try:
                if not p.is_file():
                    continue
                h = hashlib.sha256()
                with p.open("rb") as f:
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        h.update(chunk)
                self._hashes[str(p)] = h.hexdigest()
            except OSError:
                continue

    def get(self, wait: float = 0.0) -> dict[str, str | None]:
        """Digests by path; None for files not (yet) hashed. ``wait`` bounds how long to wait for them."""
        if wait > 0:
            self._thread.join(wait)
        return dict(self._hashes)


def unique_path(path: Path) -> Path:
    """``path`` if nothing is there yet, else the first free ``stem-2.ext``, ``stem-3.ext``, ..."""
    if not path.exists():
        return path
    n = 2
    while (candidate := path.with_name(f"{path.stem}-{n}{path.suffix}")).exists():
        n += 1
    return candidate


class Engine:
    """Parameters, control mapping and the image pipeline of one show."""

    def __init__(self, patch: Patch, device: torch.device, size: Size,
                 camera: CameraRead, camera_status: Callable[[], str] = lambda: "camera: test pattern",
                 registry: ParamRegistry | None = None, watch: bool = False) -> None:
        self.patch = patch
        self.device = device
        self.size = Size(*size)
        self.camera = camera
        self.camera_status = camera_status
        self.registry = registry or default_registry()
        self.store = ParameterStore(self.registry)
        for name, value in patch.params.items():
            self.store.set(name, value, immediate=True)
        self.tempo = Tempo(patch.tempo.bpm)
        self.bus = ControlBus()
        self.mapper = make_mapper(patch, self.registry, self.tempo)
        torch.manual_seed(patch.seed)
        self.pipeline = Pipeline(patch.style, patch.generator, device, self.size, seed=patch.seed,
                                 base=patch.base_dir, palette=patch.palette)
        self.autopilot = self._make_autopilot(patch)
        self.errors = ErrorLog()
        self.watcher = PatchWatcher(patch.source_path, self.registry) if watch and patch.source_path else None
        self.recorder: ShowRecorder | None = None
        self.recording_problem = ""  # why a show log was not saved whole ("" while all went well)
        self.recording_allowed = True  # renders turn this off: a replayed "record" writes nothing there
        self.budget: FrameBudget | None = None  # set by live shows (see adapt_to_budget)
        self.record_dir = Path.cwd()  # where a "record" control puts its show logs
        self._hashes = ModelHashes(self._model_paths())
        self._layer_build: tuple[threading.Thread, Patch, dict[str, Any]] | None = None
        self._layers_wanted: Patch | None = None  # a save that came while a build was running
        self.recent: deque[str] = deque(maxlen=4)
        self.last_frame: torch.Tensor | None = None
        self.last_snapshot: Snapshot | None = None
        self.frame = 0
        self._prev_t = 0.0
        self.quit_requested = False
        self.scene = ""  # last recalled scene, for the HUD and OSC feedback
        self.notes: list[str] = []  # one-off notices for the HUD (e.g. "restart needed")
        self.on_patch_reload: list[Callable[[Patch, Patch], None]] = []
        self.taps: list[Callable[[ControlEvent], None]] = []  # see every applied event (MIDI learn)
        # Actions owned outside the engine (tap tempo): name -> handler(value, event time).
        self.action_handlers: dict[str, Callable[[Any, float], None]] = {}

    # -- controls -------------------------------------------------------------------------
    def push(self, event: ControlEvent) -> None:
        """Thread-safe entry for every control source."""
        self.bus.push(event)

    def _apply_events(self, t: float) -> list[ControlEvent]:
        events = self.bus.drain(t, limits.FRAME_EVENTS_MAX)
        if len(events) == limits.FRAME_EVENTS_MAX and self.bus.has_due(t):
            # A flood waits for later frames instead of stalling this one; nothing is dropped.
            self.errors.report(f"control flood: over {limits.FRAME_EVENTS_MAX} events due in one frame, "
                               "the rest wait for the next frames")
        applied: list[ControlEvent] = []
        floor = self._prev_t if self.frame > 0 else float("-inf")
        last = floor
        for ev in events:
            # An event stamped before the previous frame but pushed after its drain is applied
            # now; re-stamp it just after that frame so a replay applies it at this same frame.
            stamp = max(ev.t, math.nextafter(floor, math.inf), last)
            if stamp != ev.t:
                ev = ControlEvent(min(stamp, t), ev.source, ev.address, ev.value)
            last = ev.t
            applied.append(ev)
            for tap in self.taps:
                tap(ev)
            try:
                for action, value in self.mapper.apply(ev, self.store):
                    self._action(action, value, ev.t)
            except ValueError as e:
                self.errors.report(f"control: {e}")
                continue
            if ev.source not in ("audio", "link"):  # many a second: the HUD's audio and tempo lines show them
                # The HUD shows these: a float from OSC reads 0.3, not 0.30000001192092896.
                shown = f"{ev.value:.4g}" if isinstance(ev.value, float) else repr(ev.value)
                self.recent.append(f"{ev.source} {ev.address} {shown}")
        return applied

    def _action(self, action: str, value: Any, t: float | None = None) -> None:
        if action in self.action_handlers:
            self.action_handlers[action](value, self._prev_t if t is None else t)
        elif action == "scene":
            self.recall_scene(value)
        elif action == "record":
            want = {"start": True, "stop": False, "1": True, "0": False}.get(str(value).lower())
            if want is None:
                want = self.recorder is None
            if not self.recording_allowed:
                self.errors.report("control: record ignored (this show is a render)")
            elif want and self.recorder is None:
                name = self.record_dir / time.strftime("show-%Y%m%d-%H%M%S.jsonl")
                try:
                    self.start_recording(unique_path(name))
                except OSError as e:
                    self.errors.report(f"recording not started: {e}")
            elif not want and self.recorder is not None:
                self.stop_recording()
        elif action == "quit":
            self.quit_requested = True
        else:
            raise ValueError(f"unknown action {action!r}")

    def recall_scene(self, which: Any) -> None:
        """Recall a scene by name, or by number (1-based: the window's number keys)."""
        name: str | None
        if isinstance(which, str) and which in self.patch.scenes:
            name = which
        else:
            try:
                name = self.patch.scene_for_key(int(float(which)))
            except (TypeError, ValueError):
                name = None
        if name is None:
            raise ValueError(f"scene {which!r} is not in patch {self.patch.name!r} "
                             f"(scenes: {', '.join(self.patch.scenes) or 'none'})")
        scene = self.patch.scenes[name]
        self.store.recall(scene.values, scene.fade)
        self.scene = name
        self.recent.append(f"scene {name}")

    def _make_autopilot(self, patch: Patch) -> Autopilot | None:
        scenes = {name: (s.values, s.fade) for name, s in patch.scenes.items()}
        return (Autopilot(patch.autopilot, self.registry, self.bus, seed=patch.seed, scenes=scenes)
                if patch.autopilot.active else None)

    # -- recording ------------------------------------------------------------------------
    def _model_paths(self) -> list[Path]:
        return [resolve(cfg.model, self.patch.base_dir) for cfg in (self.patch.style, self.patch.generator)
                if cfg.enabled and cfg.model]

    def model_hashes(self, wait: float = 0.0) -> dict[str, str | None]:
        """SHA-256 of each model file the patch names (None where not hashed yet or unreadable)."""
        return self._hashes.get(wait)

    def missing_layers(self) -> list[str]:
        """Status lines of layers the patch names a model for that could not be loaded."""
        return self.pipeline.missing_layers()

    def recording_header(self) -> dict[str, Any]:
        # Recording can start mid-show: the replay starts from the values of this moment.
        header = make_header(self.patch.source_path, self.patch.source_hash, self.patch.seed,
                             initial=self.store.targets, patch_text=self.patch.source_text,
                             size=list(self.size), fps=self.patch.output.fps, scene=self.scene)
        header["models"] = self.model_hashes()
        return header

    def start_recording(self, path: Path, force: bool = False) -> None:
        """Record every applied control from now on into ``path``; an existing file is kept unless ``force``."""
        if path.exists() and not force:
            raise FileExistsError(f"{path}: a file is already there (choose another name, or --force)")
        self.stop_recording()
        self.recorder = ShowRecorder(path, self.recording_header(), overwrite=force)
        self.recent.append(f"recording to {path}")
        log.info("recording controls to %s", path)

    def stop_recording(self) -> None:
        if self.recorder is not None:
            recorder, self.recorder = self.recorder, None
            try:
                recorder.close()
                log.info("recording saved: %s", recorder.path)
            except OSError as e:
                self._recording_failed(recorder, e)

    def _recording_failed(self, recorder: ShowRecorder, e: OSError) -> None:
        self.recording_problem = f"recording {recorder.path} not saved whole: {e.strerror or e}"
        self.errors.report(self.recording_problem)

    # -- hot reload -----------------------------------------------------------------------
    def _check_patch(self, t: float) -> None:
        if self.watcher is None:
            return
        try:
            new = self.watcher.poll(time.monotonic())
        except PatchError as e:
            self.errors.report(f"patch not reloaded, old one keeps running: {e}")
            return
        if new is not None:
            try:
                self.apply_patch(new)
            except Exception as e:  # noqa: BLE001 — a patch that validates but cannot apply
                self.errors.report(f"patch reload failed, old values kept: {type(e).__name__}: {e}")

    def apply_patch(self, new: Patch) -> None:
        """Switch to an edited patch without stopping: values, scenes, mappings, layers."""
        old = self.patch
        for name, value in new.params.items():
            if old.params.get(name) != value:
                self.store.set(name, value)
        if new.tempo.bpm != old.tempo.bpm:
            self.tempo.set_bpm(new.tempo.bpm, self._prev_t)
        self.patch = new
        self.mapper = make_mapper(new, self.registry, self.tempo)
        if asdict(new.autopilot) != asdict(old.autopilot):
            self.autopilot = self._make_autopilot(new)
        if any(asdict(getattr(new, k)) != asdict(getattr(old, k)) for k in ("style", "generator", "palette")):
            self._reload_layers(new)
        if (new.output.size, new.device, new.seed) != (old.output.size, old.device, old.seed):
            self.notes = ["output size, device or seed changed: restart livegen to apply"]
        for hook in self.on_patch_reload:
            hook(old, new)
        self.recent.append(f"patch reloaded: {new.name}")
        log.info("patch reloaded: %s", new.source_path)

    def _reload_layers(self, new: Patch) -> None:
        """Build ``new``'s layers on a helper thread; frames keep the current ones until they are ready.

        Loading a model takes from a few hundred ms to seconds: on the render thread that would
        freeze the show. A save made while a build runs is built next (only the newest counts).
        """
        self._layers_wanted = new
        self._start_layer_build()

    def _start_layer_build(self) -> None:
        if self._layer_build is not None or self._layers_wanted is None:
            return
        new, self._layers_wanted = self._layers_wanted, None
        size, device = self.pipeline.size, self.device
        box: dict[str, Any] = {}

        def build() -> None:
            try:
                box["pipeline"] = Pipeline(new.style, new.generator, device, size, seed=new.seed,
                                           base=new.base_dir, palette=new.palette)
            except Exception as e:  # noqa: BLE001 — reported on the render thread, old layers kept
                box["error"] = e

        thread = threading.Thread(target=build, name="livegen-layer-reload", daemon=True)
        thread.start()
        self._layer_build = (thread, new, box)

    def _swap_layers(self) -> None:
        """At a frame boundary: switch to layers built since the last frame, if any."""
        if self._layer_build is None or self._layer_build[0].is_alive():
            return
        _, new, box = self._layer_build
        self._layer_build = None
        if "error" in box:
            e = box["error"]
            self.errors.report(f"patch reload: layers not rebuilt, old ones kept: {type(e).__name__}: {e}")
        else:
            fresh: Pipeline = box["pipeline"]
            # A model that fails to load must not take down a layer that was working.
            for attr, cfg in (("style", new.style), ("generator", new.generator)):
                layer_new, layer_old = getattr(fresh, attr), getattr(self.pipeline, attr)
                if layer_new is not None and cfg.model and not layer_new.available and layer_old is not None \
                        and layer_old.available:
                    self.errors.report(f"{layer_new.status} — keeping the previous {attr} model")
                    setattr(fresh, attr, layer_old)
            fresh.timer = self.pipeline.timer
            fresh.quality = self.pipeline.quality
            self.pipeline = fresh
            self._hashes = ModelHashes(self._model_paths())  # show logs started from now name these models
            self.recent.append("layers reloaded")
        self._start_layer_build()

    # -- the frame ------------------------------------------------------------------------
    def tick(self, t: float) -> torch.Tensor:
        """Make the frame for clock time t (seconds since the show started)."""
        self._check_patch(t)
        self._swap_layers()
        dt = max(t - self._prev_t, 0.0) if self.frame > 0 else max(t, 0.0)
        try:
            for action, value in self.mapper.begin_frame(t, self.store) or ():
                self._action(action, value)
        except ValueError as e:
            self.errors.report(f"control: {e}")
        applied = self._apply_events(t)
        if self.autopilot is not None:
            self.autopilot.step(t, self.tempo.beat(t), self.store, applied)
        self.store.step(dt)
        snap = self.store.snapshot(t, self.tempo.beat(t))
        self.last_snapshot = snap
        try:
            image, seq = self.camera(t)
            started = time.perf_counter()
            frame = self.pipeline(snap, image, seq)
            if self.budget is not None and self.budget.update((time.perf_counter() - started) * 1000.0, t):
                self.pipeline.quality = self.budget.quality
                self.recent.append(self.budget.status())
            # One reduction instead of isfinite's three full-frame passes: any NaN or inf pixel
            # makes the sum non-finite (frames are in [0, 1], so finite pixels cannot overflow it).
            if not torch.isfinite(frame.sum()):
                raise FloatingPointError("stage produced NaN/inf pixels")
            self.last_frame = frame
        except Exception as e:  # noqa: BLE001 — any stage failure: keep showing the last good frame
            self.errors.report(f"frame: {type(e).__name__}: {e}")
            frame = self.last_frame if self.last_frame is not None else torch.zeros(
                1, 3, *self.size.hw, device=self.device)
        if self.recorder is not None:
            try:
                self.recorder.log_frame(self.frame, t, applied)
            except OSError as e:
                # A full disk: the show goes on, the recording stops here and says so.
                recorder, self.recorder = self.recorder, None
                self._recording_failed(recorder, e)
                try:
                    recorder.close()
                except OSError:
                    pass  # the same failure, already reported
        self._prev_t = t
        self.frame += 1
        return frame

    def adapt_to_budget(self, budget_ms: float) -> None:
        """Hold frames to ``budget_ms`` by stepping the stages' quality (live shows; see budget.py)."""
        self.budget = FrameBudget(budget_ms)
        self.pipeline.quality = self.budget.quality

    def status_lines(self) -> list[str]:
        lines = [self.camera_status(), *self.pipeline.status()]
        if self.budget is not None:
            lines.append(self.budget.status())
        if self.autopilot is not None:
            lines.append(self.autopilot.status)
        lines.extend(self.notes)
        return lines

    def close(self) -> None:
        self.stop_recording()


def open_engine(patch: Patch, *, lockstep: bool, size: Size | None = None, device: str | None = None,
                camera: str | int | None = None, watch: bool = False) -> tuple[Engine, CameraFeed]:
    """The engine and camera feed of a show, as ``run``, ``render`` and the benchmarks all build them.

    ``size``, ``device`` and ``camera`` override the patch; ``lockstep`` makes the camera frame-locked
    (renders) instead of a live capture thread. Raises RuntimeError for an unusable device.
    """
    size = Size(*size) if size else patch.output.frame_size
    dev = pick_device(device or patch.device)
    source = camera if camera is not None else patch.camera.source
    feed = CameraFeed(source, size, patch.camera.mirror, patch.camera.loop, lockstep=lockstep,
                      request=parse_size(patch.camera.size), fps=patch.camera.fps)
    try:
        engine = Engine(patch, dev, size, camera=feed, camera_status=feed.status, watch=watch)
    except BaseException:
        feed.close()
        raise
    return engine, feed
