"""Live playback (``livegen run``): a render worker thread and the window loop on the main thread.

:func:`run` (and :class:`LiveShow`, for callers that want to look inside, like the benchmarks)
is the one place a live show is wired: engine, camera, control inputs, window and runner. The
worker ticks the engine against the wall clock as fast as the nets allow (capped at the
patch's fps) and publishes only its newest frame. The main thread repaints the window at display
rate with whatever is newest, reads keys and turns them into control events, so a slow model
never freezes the window and no queue of stale frames builds up.

With a GL output window (``[output] gl`` / ``--gl``) the worker also turns each frame into RGBA on
the render device and the window loop writes that into the window's texture (CUDA–GL interop on a
GPU: no host copy of the full frame; only the operator's small preview is downloaded). If the GL
window cannot open, one line says why and the plain window shows the show.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from livegen.clock import WallClock
from livegen.control.audioin import AudioInput
from livegen.control.bus import ControlEvent
from livegen.control.inputs import restart_inputs, start_inputs
from livegen.control.tempo import TAP_ADDRESS
from livegen.engine import Engine, open_engine
from livegen.learn_mode import LearnMode
from livegen.params import OSC_PREFIX
from livegen.patch import Patch
from livegen.rig import RigTempo, use_ndi_ips
from livegen.sinks import to_uint8
from livegen.sinks.base import SinkSet, open_sinks
from livegen.sinks.gl import GLWindow, to_rgba8
from livegen.sinks.window import PREVIEW_BOX, Bar, WindowSink, check_display
from livegen.size import Size

log = logging.getLogger("livegen.live")


class RateMeter:
    """Frames per second over a sliding second."""

    def __init__(self) -> None:
        self._stamps: list[float] = []

    def tick(self) -> None:
        now = time.monotonic()
        self._stamps.append(now)
        while self._stamps and now - self._stamps[0] > 1.0:
            self._stamps.pop(0)

    @property
    def fps(self) -> float:
        if len(self._stamps) < 2:
            return 0.0
        span = self._stamps[-1] - self._stamps[0]
        return (len(self._stamps) - 1) / span if span > 0 else 0.0


class LiveRunner:
    """Drives an Engine live: worker thread for frames, main thread for the window."""

    def __init__(self, engine: Engine, window: WindowSink, clock: WallClock, display_fps: float = 60.0,
                 model_fps: float = 30.0, controls: Any = None, sinks: SinkSet | None = None) -> None:
        self.engine = engine
        self.window = window
        self.clock = clock
        self.display_fps = display_fps
        self.model_fps = model_fps
        self.controls = controls
        self.sinks = sinks  # NDI, Spout, ...: each takes frames on its own thread
        self._newest: np.ndarray | None = None
        self._newest_rgba: torch.Tensor | None = None  # what a GL output window shows
        self._newest_seq = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.model_rate = RateMeter()
        self.display_rate = RateMeter()
        self.on_present: list[Callable[[np.ndarray | None], None]] = []  # after each repaint (latency bench)
        self.status_parts: list[Callable[[], list[str]]] = []  # more HUD lines (tempo leader, audio)
        self.learn = LearnMode(engine.registry, engine.patch.source_path, prompt=self._learn_prompt)
        engine.taps.append(self.learn.tap)

    # -- worker ---------------------------------------------------------------------------
    def _work(self) -> None:
        period = 1.0 / self.model_fps
        next_t = time.monotonic()
        while not self._stop.is_set():
            try:
                frame = self.engine.tick(self.clock.now())
                image, rgba = self._images(frame)
                with self._lock:
                    self._newest = image
                    self._newest_rgba = rgba
                    self._newest_seq += 1
                if self.sinks is not None:
                    self.sinks.offer(image)
                self.model_rate.tick()
                if self.controls is not None and self.engine.last_snapshot is not None:
                    self.controls.feedback(self.engine.last_snapshot, self.info())
            except Exception as e:  # noqa: BLE001 — the show goes on; the HUD says what broke
                self.engine.errors.report(f"render loop: {type(e).__name__}: {e}")
                self._stop.wait(0.05)
            if self.engine.quit_requested:
                self._stop.set()
            next_t += period
            delay = next_t - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)
            else:
                next_t = time.monotonic()  # running behind: don't try to catch up with a burst

    def _images(self, frame: torch.Tensor) -> tuple[np.ndarray, torch.Tensor | None]:
        """The host image (sinks, operator preview) and, for a GL output window, the RGBA tensor."""
        if self.window.gl is None:
            return to_uint8(frame), None
        rgba = to_rgba8(frame)
        if frame.device.type == "cpu" or self.sinks is not None:
            return to_uint8(frame), rgba
        # On the GPU only the operator's preview crosses to the host, at preview size.
        scale = min(PREVIEW_BOX.w / frame.shape[-1], PREVIEW_BOX.h / frame.shape[-2], 1.0)
        small = F.interpolate(frame, size=(max(1, int(frame.shape[-2] * scale)), max(1, int(frame.shape[-1] * scale))),
                              mode="area")
        return to_uint8(small), rgba

    def info(self) -> dict[str, Any]:
        return {"fps": self.model_rate.fps, "display_fps": self.display_rate.fps,
                "error": self.engine.errors.last, "beat": self.engine.tempo.beat(self.clock.now()),
                "bpm": self.engine.tempo.bpm, "scene": self.engine.scene}

    # -- window ---------------------------------------------------------------------------
    def hud_lines(self) -> list[str]:
        e = self.engine
        ms = " · ".join(f"{k} {v:.1f} ms" for k, v in e.pipeline.timer.ms.items())
        t = self.clock.now()
        lines = [
            f"livegen — {e.patch.name}   display {self.display_rate.fps:.0f} fps · model {self.model_rate.fps:.1f} fps",
            ms or "stages: starting",
            *e.status_lines(),
        ]
        if self.controls is not None:
            lines.extend(self.controls.status())
        if self.sinks is not None:
            lines.extend(self.sinks.status())
        for part in self.status_parts:
            lines.extend(part())
        lines.append(f"beat {e.tempo.beat(t):.1f} at {e.tempo.bpm:.1f} BPM" +
                     ("   ● REC" if e.recorder is not None else ""))
        lines.extend(f"> {r}" for r in list(e.recent)[-3:])
        if e.errors.last:
            lines.append(f"! {e.errors.last}")
        lines.extend(self.learn.hud_lines())
        return lines

    def _learn_prompt(self) -> str:
        """What learn mode asks for, from the inputs that are listening now."""
        c = self.controls
        midi = c.midi if c is not None else None
        osc = c.osc if c is not None else None
        send_osc = f"send OSC to {osc.host}:{osc.port}" if osc is not None else ""
        if midi is not None and midi.ports:
            return "move a control" + (f" or {send_osc}" if send_osc else "")
        why_not_midi = midi.status()[0] if midi is not None else "MIDI is off"
        if send_osc:
            return f"{send_osc} ({why_not_midi})"
        return f"nothing to learn from yet ({why_not_midi}; OSC is off): plug in a controller"

    def bars(self) -> list[Bar]:
        """One bar per parameter for the operator window: where its value sits in its range."""
        snap = self.engine.last_snapshot
        if snap is None:
            return []
        out = []
        for spec in self.engine.registry:
            if spec.kind == "trigger":  # a trigger fires; it has no value to show
                continue
            value = snap[spec.name]
            if spec.kind in ("float", "int") and spec.min is not None and spec.max is not None \
                    and spec.max > spec.min:
                out.append(Bar(spec.name, (value - spec.min) / (spec.max - spec.min), f"{value:.3g}"))
            elif spec.kind == "enum" and len(spec.choices) > 1:
                out.append(Bar(spec.name, spec.choices.index(value) / (len(spec.choices) - 1), str(value)))
            elif spec.kind == "bool":
                out.append(Bar(spec.name, float(bool(value)), "on" if value else "off"))
        return out

    def _command(self, cmd: str) -> None:
        t = self.clock.now()
        if self.learn.command(cmd):
            return
        if cmd == "quit":
            self._stop.set()
        elif cmd == "fullscreen":
            self.window.toggle_fullscreen()
        elif cmd == "hud":
            self.window.hud = not self.window.hud
        elif cmd == "jump":
            self.engine.push(ControlEvent(t, "key", OSC_PREFIX + "generator/jump", 1))
        elif cmd == "record":
            self.engine.push(ControlEvent(t, "key", OSC_PREFIX + "record", "toggle"))
        elif cmd == "tap":
            self.engine.push(ControlEvent(t, "key", TAP_ADDRESS, 1))
        elif cmd.startswith("scene:"):
            self.engine.push(ControlEvent(t, "key", OSC_PREFIX + "scene", int(cmd.split(":")[1])))

    def stop(self) -> None:
        """End ``run`` from any thread."""
        self._stop.set()

    def run(self, max_seconds: float | None = None) -> int:
        """Play until quit (key, window close, action) or ``max_seconds``; returns an exit code."""
        worker = threading.Thread(target=self._work, name="livegen-render", daemon=True)
        worker.start()
        start = time.monotonic()
        period = 1.0 / self.display_fps
        next_t = time.monotonic()
        shown_seq = -1
        try:
            while not self._stop.is_set():
                for cmd in self.window.poll():
                    self._command(cmd)
                with self._lock:
                    image, rgba, seq = self._newest, self._newest_rgba, self._newest_seq
                if seq != shown_seq or self.window.hud:
                    self.window.present(image, self.hud_lines(), self.bars(), rgba)
                    shown_seq = seq
                    for hook in self.on_present:
                        hook(image)
                self.display_rate.tick()
                if max_seconds is not None and time.monotonic() - start >= max_seconds:
                    break
                next_t += period
                delay = next_t - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                else:
                    next_t = time.monotonic()
        except KeyboardInterrupt:
            pass
        finally:
            self._stop.set()
            worker.join(timeout=10.0)
        return 0

    @property
    def newest(self) -> np.ndarray | None:
        with self._lock:
            return self._newest


class LiveShow:
    """A patch playing live: engine, camera, control inputs, window and runner, closed in order.

    Every option overrides the patch's own setting; ``controls=False`` starts no OSC/MIDI inputs
    (benchmarks, tests that push events themselves); ``outputs`` replaces the patch's extra sinks
    (see :func:`livegen.rig.sink_requests`); ``gl`` ("auto", "on", "off") the patch's ``[output] gl``.
    """

    def __init__(self, patch: Patch, *, size: Size | None = None, device: str | None = None,
                 camera: str | int | None = None, record: str | Path | None = None, force: bool = False,
                 fullscreen: bool = False,
                 display: int | None = None, hud: bool | None = None, display_fps: float = 60.0,
                 model_fps: float | None = None, controls: bool = True, vsync: bool = True,
                 operator: bool = True, outputs: list[tuple[str, str]] | None = None,
                 gl: str | None = None) -> None:
        self.patch = patch
        self.clock = WallClock()
        display = display if display is not None else patch.output.display
        check_display(display)  # before the models load: a wrong --display is a quick, clear error
        use_ndi_ips(patch.output.ndi_ips)
        self.sinks: SinkSet | None = None
        self.audio: AudioInput | None = None
        self.tempo: RigTempo | None = None
        self.engine, self.feed = open_engine(patch, lockstep=False, size=size, device=device, camera=camera,
                                             watch=True)
        if patch.output.adaptive:
            self.engine.adapt_to_budget(patch.output.frame_budget_ms)
        self.controls: Any = None
        self.window: WindowSink | None = None
        self.gl_line: str | None = None  # which output window a GL request got (HUD)
        gl_window = None
        try:
            if controls:
                self.controls = start_inputs(patch.osc, patch.midi, patch.mappings, self.engine.bus, self.clock.now,
                                             self.engine.registry)
                self.engine.on_patch_reload.append(self._restart_controls)
            if controls and patch.audio.input:
                self.audio = AudioInput(patch.audio, self.engine.bus, self.clock.now).start()
            self.tempo = RigTempo(self.engine, self.clock.now)
            if record:
                self.engine.start_recording(Path(record), force=force)
            self.sinks = open_sinks(patch.output.sink_requests() if outputs is None else outputs,
                                    self.engine.size, model_fps or patch.output.fps)
            title = f"livegen — {patch.name}"
            if wants_gl(gl or patch.output.gl, self.engine.device):
                gl_window = self._open_gl(title, display, vsync)
            self.window = WindowSink(self.engine.size, title=title,
                                     fullscreen=fullscreen or patch.output.fullscreen,
                                     display=display, hud=patch.output.hud if hud is None else hud,
                                     vsync=vsync, operator=operator, gl_output=gl_window)
        except BaseException:
            if gl_window is not None and self.window is None:
                gl_window.close()
            self.close()
            raise
        self.runner = LiveRunner(self.engine, self.window, self.clock, display_fps=display_fps,
                                 model_fps=model_fps or patch.output.fps, controls=self.controls,
                                 sinks=self.sinks)
        self.runner.status_parts.append(self.tempo.status)
        if self.gl_line is not None:
            self.runner.status_parts.append(lambda: [self.gl_line])
        if self.audio is not None:
            self.runner.status_parts.append(self.audio.status)

    def _open_gl(self, title: str, display: int, vsync: bool) -> GLWindow | None:
        """The GL output window, or None (and the one line why) when it cannot open."""
        try:
            window = GLWindow(self.engine.size, title=title, device=self.engine.device, vsync=vsync,
                              display=display)
        except Exception as e:  # noqa: BLE001 — no GL here: the plain window shows the show
            self.gl_line = f"output window: plain, GL unavailable ({e})"
            log.warning("%s", self.gl_line)
            return None
        self.gl_line = f"output window: GL, {window.path}"
        log.info("%s on %s", self.gl_line, window.renderer)
        return window

    def _restart_controls(self, old: Patch, new: Patch) -> None:
        # A saved patch with new OSC/MIDI settings takes effect without stopping the show.
        if asdict(old.osc) != asdict(new.osc) or asdict(old.midi) != asdict(new.midi):
            self.controls = self.runner.controls = restart_inputs(self.runner.controls, new.osc, new.midi,
                                                                  new.mappings, self.clock.now, self.engine.registry)

    def play(self, seconds: float | None = None) -> int:
        """Play until quit (key, window close, action) or ``seconds``; returns an exit code."""
        log.info("playing %s on %s at %s — %s", self.patch.name, self.engine.device, self.engine.size,
                  self.feed.status())
        return self.runner.run(max_seconds=seconds)

    def close(self) -> None:
        if self.controls is not None:
            self.controls.close()
        if self.sinks is not None:
            self.sinks.close()
        if self.audio is not None:
            self.audio.close()
        if self.tempo is not None:
            self.tempo.close()
        self.feed.close()
        self.engine.close()
        if self.window is not None:
            self.window.close()

    def __enter__(self) -> LiveShow:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def wants_gl(mode: str, device: torch.device) -> bool:
    """Whether a show on ``device`` asks for the GL output window (``[output] gl``, ``--gl``): "auto"
    only on CUDA with PyOpenGL importable, where it spares the full-frame host copy."""
    if mode != "auto":
        return mode == "on"
    if device.type != "cuda":
        return False
    try:
        import OpenGL  # noqa: F401
    except ImportError:
        return False
    return True


def run(patch: Patch, seconds: float | None = None, **options: Any) -> int:
    """Play ``patch`` live in a window (``livegen run``); options as for :class:`LiveShow`.

    Returns 1 when a show log was asked for but not saved whole (a full disk): the show itself
    went on, but the file is not what the user will expect to find.
    """
    with LiveShow(patch, **options) as show:
        code = show.play(seconds)
    if show.engine.recording_problem:
        log.error("%s", show.engine.recording_problem)
        return code or 1
    return code
