"""The sink interface: where finished frames go besides the window, several at once, never blocking.

The live worker hands each finished frame (H x W x 3 uint8 RGB) to :meth:`SinkSet.offer` right
after it is made. Each sink has its own thread and a mailbox of one frame: ``offer`` only swaps a
reference, so a slow receiver (an NDI client on a busy network, a stalled virtual camera) drops
frames in its own sink and never slows the show. A sink that cannot start (library missing,
wrong OS, no driver) is reported once, by :func:`open_sinks`, and the others run on.

A sink is any object with ``name`` (for the HUD), ``send(image)`` and ``close()``; ``send`` runs
on the sink's own thread only.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Protocol

import numpy as np

from livegen.size import Size

log = logging.getLogger("livegen.sinks")


class Sink(Protocol):
    name: str

    def send(self, image: np.ndarray) -> None: ...

    def close(self) -> None: ...


class SinkUnavailable(RuntimeError):
    """A sink that cannot run here; the message says why (and what to install)."""


# kind -> (module, factory). Factories take (target, size, fps) and raise SinkUnavailable,
# ImportError or OSError when the sink cannot start. Modules are imported only when asked for,
# so a missing optional library costs nothing until a patch names it.
KINDS: dict[str, tuple[str, str]] = {
    "ndi": ("livegen.sinks.ndi", "open_ndi"),
    "spout": ("livegen.sinks.spout", "open_spout"),
    "syphon": ("livegen.sinks.syphon", "open_syphon"),
    "virtual_camera": ("livegen.sinks.virtualcam", "open_virtual_camera"),
}


class OffThreadSink:
    """Runs one sink on its own thread with a one-frame mailbox; counts what it sent and dropped."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.name = sink.name
        self.sent = 0
        self.dropped = 0  # frames replaced in the mailbox before the sink took them
        self.send_ms = 0.0  # last send's duration on the sink's thread
        self.error = ""
        self._mail: np.ndarray | None = None
        self._cond = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name=f"livegen-sink-{self.name}", daemon=True)
        self._thread.start()

    def offer(self, image: np.ndarray) -> None:
        """Leave ``image`` for the sink; replaces a frame it has not taken yet. Never waits."""
        with self._cond:
            if self._mail is not None:
                self.dropped += 1
            self._mail = image
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._mail is None and not self._stop:
                    self._cond.wait()
                if self._mail is None:  # stopped; a frame still waiting goes out first (a show's last frame)
                    return
                image, self._mail = self._mail, None
            started = time.perf_counter()
            try:
                self.sink.send(image)
                self.sent += 1
                self.error = ""
            except Exception as e:  # noqa: BLE001 — one sink failing must not stop the others or the show
                if not self.error:
                    log.warning("%s: %s: %s", self.name, type(e).__name__, e)
                self.error = f"{type(e).__name__}: {e}"
            self.send_ms = (time.perf_counter() - started) * 1000.0

    def close(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify()
        self._thread.join(timeout=5.0)
        try:
            self.sink.close()
        except Exception as e:  # noqa: BLE001 — closing is best effort at the end of a show
            log.warning("closing %s: %s", self.name, e)


class SinkSet:
    """The extra outputs of a show; ``problems`` holds one line per sink that could not start."""

    def __init__(self, sinks: Iterable[OffThreadSink] = (), problems: Iterable[str] = ()) -> None:
        self.sinks = list(sinks)
        self.problems = list(problems)

    def offer(self, image: np.ndarray) -> None:
        for s in self.sinks:
            s.offer(image)

    def status(self) -> list[str]:
        lines = [f"! {p}" for p in self.problems]
        for s in self.sinks:
            line = f"{s.name}: {s.sent} sent, {s.dropped} dropped"
            lines.append(line + (f" — {s.error}" if s.error else ""))
        return lines

    def close(self) -> None:
        for s in self.sinks:
            s.close()
        self.sinks = []


def _factory(kind: str) -> Callable[[str, Size, float], Sink]:
    module, func = KINDS[kind]
    return getattr(importlib.import_module(module), func)


def open_sinks(requests: Iterable[tuple[str, str]], size: Size, fps: float) -> SinkSet:
    """Start every requested ``(kind, target)`` sink; those that cannot start become one problem line each."""
    started: list[OffThreadSink] = []
    problems: list[str] = []
    for kind, target in requests:
        label = f"{kind} {target!r}" if target else kind
        if kind not in KINDS:
            problems.append(f"{label}: unknown output (choose from {', '.join(KINDS)})")
            continue
        try:
            sink = _factory(kind)(target, Size(*size), fps)
        except (SinkUnavailable, ImportError, OSError, RuntimeError) as e:
            problems.append(f"{label}: not started — {e}")
            log.warning("output %s not started: %s", label, e)
            continue
        started.append(OffThreadSink(sink))
        log.info("output %s started", label)
    return SinkSet(started, problems)
