"""MIDI clock in and out: 24 ticks per quarter note.

In (:class:`MidiClockFollower`): the router hands it the clock and transport events
(``midi/clock``, ``start``, ``stop``, ``continue``, ``songpos``) it drains at each frame
boundary; it drives the engine's :class:`livegen.clock.Tempo` through ``set_bpm``/``sync``, the
same object every other tempo change goes to. Tick stamps come from arrival times, which on a
loaded machine (and with JACK's period-sized delivery) jitter by milliseconds, so BPM comes from
a least-squares line through the last few beats of ticks rather than from single intervals.

Out (:class:`MidiClockOut`): clock, start and stop on a MIDI output port, following the Tempo
whoever leads, for drum machines, lighting desks and Resolume's MIDI clock input.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from livegen.clock import Tempo
from livegen.control.bus import ControlEvent
from livegen.control.midi import _rtmidi_api as rtmidi_api
from livegen.params import to_number

PPQN = 24
BAR = 4  # beats: MIDI Start goes out on a bar line
START, CLOCK, STOP = 0xFA, 0xF8, 0xFC


class MidiClockFollower:
    """Turns MIDI clock/start/stop/continue/song-position events into Tempo updates."""

    def __init__(self, tempo: Tempo, window: int = 96, lost_after: float = 0.5) -> None:
        self.tempo = tempo
        self.window = window
        self.lost_after = lost_after
        self._ticks: deque[tuple[int, float]] = deque(maxlen=window)
        self._n = 0  # ticks seen (for measuring the rate, also while stopped)
        # Song position (in ticks) of the last tick; the first tick after Start is 0. None until
        # Start or a song position arrives: a free-running clock then continues the current beat,
        # so a new follower (patch hot reload) does not make the beat jump.
        self._pos: int | None = None
        self.running = True  # a clock without Start (free-running) counts from its first tick
        self.last_tick: float | None = None

    @property
    def present(self) -> bool:
        """A clock was heard lately: it drives the tempo, hand-set bpm values are dropped."""
        return self.last_tick is not None

    def handle(self, event: ControlEvent) -> None:
        """One ``midi/clock|start|stop|continue|songpos`` event; ValueError for a bad song position."""
        kind = event.address.rpartition("/")[2]
        if kind == "clock":
            self.tick(event.t)
        elif kind == "start":
            self.start()
        elif kind == "stop":
            self.stop()
        elif kind == "continue":
            self.resume()
        elif kind == "songpos":
            self.song_position(int(to_number(event.value, event.address)))

    def tick(self, t: float) -> None:
        """One clock tick at time ``t``: phase from the count, bpm from the fitted tick rate (after three ticks)."""
        if self.last_tick is not None and t - self.last_tick > self.lost_after:
            # A gap means the clock stopped or was unplugged: old ticks would bend the line.
            self._ticks.clear()
        self.last_tick = t
        self._n += 1
        self._ticks.append((self._n, t))
        if self.running:
            self._pos = round(self.tempo.beat(t) * PPQN) if self._pos is None else self._pos + 1
        fit = self._fit()
        if fit is None:
            if self.running and self._pos is not None:
                self.tempo.sync(self._pos / PPQN, t)
            return
        a, b = fit
        bpm = 60.0 / (PPQN * b)
        if self.running and self._pos is not None:
            # The fitted time of this tick is steadier than its jittery arrival stamp.
            self.tempo.sync(self._pos / PPQN, a + b * self._n, bpm)
        else:
            self.tempo.set_bpm(bpm, t)

    def _fit(self) -> tuple[float, float] | None:
        pts = self._ticks
        if len(pts) < 3:
            return None
        line = _line(pts)
        if line is None:
            return None
        if len(pts) >= 2 * PPQN:
            # A tempo change shows as the last beat disagreeing with the long fit: restart the
            # window there instead of averaging the old tempo in for four beats. One beat, not
            # less: over fewer ticks, a few ms of arrival jitter alone would exceed 3 %.
            recent = _line(list(pts)[-PPQN:])
            if recent is not None and abs(recent[1] - line[1]) > 0.03 * line[1]:
                keep = list(pts)[-PPQN:]
                pts.clear()
                pts.extend(keep)
                line = recent
        return line if line[1] > 0 else None

    def start(self) -> None:
        self.running = True
        self._pos = -1

    def stop(self) -> None:
        self.running = False

    def resume(self) -> None:
        self.running = True

    def song_position(self, sixteenths: int) -> None:
        # One MIDI beat (a sixteenth note) is 6 clocks; the next tick plays that position.
        self._pos = int(sixteenths) * 6 - 1

    def check(self, t: float) -> None:
        """Forget the clock after ``lost_after`` seconds of silence; the Tempo then free-runs."""
        if self.last_tick is not None and t - self.last_tick > self.lost_after:
            self.last_tick = None
            self._ticks.clear()


def _line(pts: deque[tuple[int, float]] | list[tuple[int, float]]) -> tuple[float, float] | None:
    """Least-squares t = a + b*n; offsets keep the sums well conditioned after hours of ticks."""
    n0, t0 = pts[0]
    m = len(pts)
    sk = st = skk = skt = 0.0
    for n, t in pts:
        k = n - n0
        u = t - t0
        sk += k
        st += u
        skk += k * k
        skt += k * u
    den = m * skk - sk * sk
    if den <= 0:
        return None
    b = (m * skt - sk * st) / den
    a = (st - b * sk) / m
    return t0 + a - b * n0, b


class MidiClockOut:
    """Sends MIDI clock (24 ppqn), start and stop on an output port, following ``tempo`` at ``now()``.

    ``port`` is an existing output whose name contains it (a drum machine's MIDI in: it hears
    Start) or else a new virtual port of that name (JACK/ALSA) that devices connect to later;
    they then hear ticks but missed Start. Runs its own thread; ticks go out when the beat
    position passes each 24th of a beat, so tempo changes and phase syncs from any leader are
    followed at once. MIDI's Start means "the next clock is beat 1", so it goes out on the next
    bar line: the drum machine's bars and livegen's (bar-quantised moves) begin together.
    """

    def __init__(self, port: str, tempo: Tempo, now: Callable[[], float], api: str) -> None:
        import rtmidi

        self.tempo = tempo
        self.now = now
        self.sent = 0
        self.started = False
        self._out = rtmidi.MidiOut(rtapi=rtmidi_api(api), name="livegen-clock")
        existing = [i for i, n in enumerate(self._out.get_ports()) if port.lower() in n.lower()]
        if existing:
            self._out.open_port(existing[0])
        else:
            self._out.open_virtual_port(port)
        self.port = port
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="livegen-clock-out", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        bar = BAR * PPQN
        last: int | None = None  # the last tick sent; None until Start
        while not self._stop.is_set():
            pos = self.tempo.beat(self.now()) * PPQN
            due = math.floor(pos)
            if last is None:
                if 0 <= due % bar < 3:  # on the bar line (a late wake-up sends the ticks since at once)
                    self._out.send_message([START])
                    self.started = True
                    last = due - due % bar - 1
                    continue
            elif due < last or due - last > PPQN:
                last = due  # the beat jumped (a sync, a tap): no burst of catch-up ticks
            elif due > last:
                self._out.send_message([CLOCK])
                self.sent += 1
                last += 1
                continue
            # Sleep to just before the next tick (at most 2 ms, so a tempo change is followed at once).
            wait = (due + 1 - pos) / PPQN * 60.0 / max(self.tempo.bpm, 1e-3)
            time.sleep(min(max(wait, 0.0), 0.002))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)
        if self.started:
            self._out.send_message([STOP])
            # JACK sends queued messages on its next process cycle; closing the port at once can drop Stop.
            time.sleep(0.1)
        self._out.close_port()
        del self._out
