"""Live audio input for the audio-reactive controls: a JACK port, a sound device, or a file played live.

``[audio] input`` picks the source: ``"jack"`` (a JACK input port named ``livegen:in``;
``"jack:system:capture_1"`` also connects it to that port), ``"device"`` or ``"device:NAME"``
(PortAudio through sounddevice: ALSA, CoreAudio, WASAPI), or a file path (played in real time,
for rehearsing without a sound card). The audio thread only copies samples; an analysis thread
runs :class:`~livegen.control.audio.AudioAnalyzer` and pushes ``audio/...`` events onto the
control bus, stamped with the show clock, so they are mapped, recorded and replayed exactly like
MIDI and OSC. A source that cannot start is one status line; the show runs on without audio.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from livegen.config import ConfigError
from livegen.control.audio import SOURCE, AudioAnalyzer, FeatureEvents, Features
from livegen.control.bus import ControlBus, ControlEvent

log = logging.getLogger("livegen.audio")

BLOCK_S = 0.01  # the analysis thread wakes this often
BACKLOG_S = 2.0  # audio the analysis may fall behind by before old samples are dropped


@dataclass
class AudioConfig:
    """[audio]: where the audio-reactive controls listen."""

    input: str = ""  # "" = off; "jack", "jack:PORT", "device", "device:NAME", or an audio file
    emit_hz: float = 60.0  # feature events per second at most

    def __post_init__(self) -> None:
        if not 1 <= self.emit_hz <= 240:
            raise ConfigError("emit_hz", f"expected 1..240, got {self.emit_hz}")


class AudioInput:
    """One running audio source feeding the analyzer; ``status()`` for the HUD, ``close()`` at the end."""

    def __init__(self, config: AudioConfig, bus: ControlBus, now: Callable[[], float]) -> None:
        self.config = config
        self.bus = bus
        self.now = now
        self.rate = 0
        self.problem = ""
        self.latest: Features | None = None
        self._chunks: deque[np.ndarray] = deque()
        self._queued = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._closers: list[Callable[[], None]] = []
        self._thread: threading.Thread | None = None
        self.dropped_s = 0.0
        self.port_name = ""  # the JACK input port, once open

    # -- sources --------------------------------------------------------------------------
    def start(self) -> AudioInput:
        spec = self.config.input.strip()
        kind, _, arg = spec.partition(":")
        try:
            if kind == "jack":
                self._start_jack(arg)
            elif kind == "device":
                self._start_device(arg)
            else:
                self._start_file(Path(spec).expanduser())
        except (OSError, RuntimeError, ImportError, ValueError) as e:
            self.problem = f"audio {spec}: not started — {e}"
            log.warning("%s", self.problem)
            return self
        self._thread = threading.Thread(target=self._analyse, name="livegen-audio", daemon=True)
        self._thread.start()
        return self

    def _take(self, samples: np.ndarray) -> None:
        """Called on the audio thread: keep a copy, nothing else."""
        with self._lock:
            self._chunks.append(np.array(samples, np.float32, copy=True).reshape(-1))
            self._queued += len(samples)
            while self._queued > BACKLOG_S * self.rate and len(self._chunks) > 1:
                old = self._chunks.popleft()
                self._queued -= len(old)
                self.dropped_s += len(old) / self.rate

    def _start_jack(self, connect_from: str) -> None:
        import jack

        try:
            client = jack.Client("livegen", no_start_server=True)
        except jack.JackOpenError as e:
            raise OSError(f"no JACK server ({e})") from None
        port = client.inports.register("in")
        self.rate = client.samplerate

        def process(frames: int) -> None:
            self._take(port.get_array())

        client.set_process_callback(process)
        client.activate()
        self._closers.append(lambda: (client.deactivate(), client.close()))
        self.port_name = port.name
        if connect_from:
            try:
                client.connect(connect_from, port)
            except jack.JackError as e:
                raise OSError(f"cannot connect {connect_from} to {port.name}: {e}") from None

    def _start_device(self, name: str) -> None:
        import sounddevice as sd

        device = name or None

        def callback(indata: np.ndarray, frames: int, _time: object, _status: object) -> None:
            self._take(indata.mean(axis=1))

        stream = sd.InputStream(device=device, channels=1, callback=callback)
        self.rate = int(stream.samplerate)
        stream.start()
        self._closers.append(lambda: (stream.stop(), stream.close()))

    def _start_file(self, path: Path) -> None:
        from livegen.control.audiofile import read_audio

        samples, self.rate = read_audio(path)

        def play() -> None:
            start = time.monotonic()
            pos = 0
            while not self._stop.is_set() and pos < len(samples):
                due = int((time.monotonic() - start) * self.rate)
                if due > pos:
                    self._take(samples[pos:due])
                    pos = due
                self._stop.wait(BLOCK_S)

        player = threading.Thread(target=play, name="livegen-audio-file", daemon=True)
        player.start()
        self._closers.append(lambda: player.join(timeout=2.0))

    # -- analysis -------------------------------------------------------------------------
    def _analyse(self) -> None:
        analyzer = AudioAnalyzer(self.rate)
        events = FeatureEvents(self.config.emit_hz)
        offset: float | None = None
        while not self._stop.wait(BLOCK_S):
            with self._lock:
                chunks = list(self._chunks)
                self._chunks.clear()
                self._queued = 0
            if not chunks:
                continue
            feats = analyzer.feed(np.concatenate(chunks))
            if not feats:
                continue
            if offset is None:
                offset = self.now() - feats[-1].t  # stream time -> show time, fixed at the first hop
            self.latest = feats[-1]
            for t, address, value in events(feats, offset):
                self.bus.push(ControlEvent(t, SOURCE, address, value))

    def status(self) -> list[str]:
        if self.problem:
            return [self.problem]
        f = self.latest
        if f is None:
            return [f"audio {self.config.input}: listening"]
        tempo = f"{f.bpm:.1f} BPM" if f.bpm else "tempo: listening"
        return [f"audio {self.config.input}: level {f.level:.2f} bass {f.bass:.2f} {tempo}"]

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        for close in self._closers:
            try:
                close()
            except Exception as e:  # noqa: BLE001 — closing is best effort at the end of a show
                log.warning("closing audio input: %s", e)
        self._closers = []
