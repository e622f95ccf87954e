"""Audio analysis: level, four bands, onsets, tempo and beat phase from a stream of samples.

One :class:`AudioAnalyzer` eats mono samples in chunks of any length (a JACK period, a sound
device block, a file read) and gives one :class:`Features` per hop of ``HOP`` samples. It is
causal (each hop sees only the past), so live input, a file played live and a lockstep render
of the same file compute the same numbers.

- level and bands (bass 20–150 Hz, low-mid 150–600, high-mid 600–4k, high 4k–16k): energy of a
  Hann-windowed 2048-sample frame, each divided by its own slowly decaying peak (an automatic
  gain), so 0..1 means "quiet .. as loud as lately" whatever the input level;
- onset: spectral flux (rise of log magnitudes) above a running median plus a margin, at most one
  per ``ONSET_GAP_S``;
- tempo: autocorrelation of the last ``TEMPO_WINDOW_S`` seconds of flux, scored at the half beat,
  beat, two beats and bar of each candidate period (the long lags sharpen the estimate, the set
  as a whole rejects syncopated 3-against-4 periods) and weighted by a log-normal prior around
  120 BPM (which keeps dance music out of half- and double-time);
- beat phase: the offset of a comb at that period that best lines up with the flux, the flux
  below 200 Hz (the kick) weighted up so the phase lands on the beat, not the off-beat hats.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

HOP = 256
FRAME = 2048
BANDS = (("bass", 20.0, 150.0), ("lowmid", 150.0, 600.0), ("highmid", 600.0, 4000.0), ("high", 4000.0, 16000.0))
FEATURES = ("level", *(b[0] for b in BANDS), "onset", "beat", "bpm")
BPM_RANGE = (70.0, 180.0)
PRIOR_BPM = 120.0
PRIOR_OCTAVES = 0.7  # width of the tempo prior (log2 units)
# Lags, in beats, where a candidate tempo's autocorrelation is summed: the half beat (eighths,
# which a 3-against-4 syncopation lacks), the beat, two beats and the bar (which half- and
# double-time candidates and syncopated periods miss). Chosen on the bench's drum tracks.
SCORE_BEATS = (0.5, 1.0, 2.0, 4.0)
TEMPO_WINDOW_S = 8.0
TEMPO_EVERY_S = 0.5
ONSET_GAP_S = 0.08
LOW_FLUX_HZ = 200.0  # below this, flux is mostly kick drum: it places the beat phase
GAIN_DECAY_S = 4.0  # the automatic gain's peak falls by 1/e in this time


@dataclass(frozen=True)
class Features:
    """One hop's features; ``t`` is the end of the hop in seconds since the stream began."""

    t: float
    level: float
    bass: float
    lowmid: float
    highmid: float
    high: float
    onset: bool
    beat: float  # phase within the beat, 0..1 (0 = on the beat)
    bpm: float  # 0 until enough audio has been heard

    def values(self) -> dict[str, float]:
        return {name: float(getattr(self, name)) for name in FEATURES}


class AudioAnalyzer:
    """Causal feature extraction at ``HOP``-sample steps; ``feed`` returns the hops it completed."""

    def __init__(self, rate: int) -> None:
        if not 8000 <= rate <= 192000:
            raise ValueError(f"sample rate {rate} Hz is outside 8000..192000")
        self.rate = rate
        self.fps = rate / HOP  # hops (flux values) per second
        self._buf = np.zeros(FRAME, np.float32)
        self._pending = np.zeros(0, np.float32)
        self._window = np.hanning(FRAME).astype(np.float32)
        freqs = np.fft.rfftfreq(FRAME, 1.0 / rate)
        self._band_bins = [(freqs >= lo) & (freqs < hi) for _, lo, hi in BANDS]
        self._low_bins = freqs < LOW_FLUX_HZ
        self._prev_logmag: np.ndarray | None = None
        self._gain_decay = math.exp(-1.0 / (GAIN_DECAY_S * self.fps))
        self._peaks = np.full(len(BANDS) + 1, 1e-6)
        n_flux = int(TEMPO_WINDOW_S * self.fps)
        self._flux = np.zeros(n_flux, np.float64)  # ring of the last TEMPO_WINDOW_S of flux
        self._low_flux = np.zeros(n_flux, np.float64)  # the same below LOW_FLUX_HZ (kick drums)
        self._hops = 0
        self._last_onset = -1e9
        self._onset_hist = np.zeros(int(0.5 * self.fps))
        self.bpm = 0.0
        self._period = 0.0  # hops per beat
        self._phase_hop = 0.0  # a hop index that fell on a beat
        self._next_tempo = int(TEMPO_EVERY_S * self.fps)

    def feed(self, samples: np.ndarray) -> list[Features]:
        """Mono float samples in [-1, 1]; any length. Returns one Features per completed hop."""
        data = np.concatenate([self._pending, np.asarray(samples, np.float32).reshape(-1)])
        out = []
        n = len(data) // HOP
        for i in range(n):
            out.append(self._hop(data[i * HOP:(i + 1) * HOP]))
        self._pending = data[n * HOP:]
        return out

    def _hop(self, hop: np.ndarray) -> Features:
        self._buf = np.concatenate([self._buf[HOP:], hop])
        mag = np.abs(np.fft.rfft(self._buf * self._window))
        power = mag * mag
        energies = np.array([float(power.sum())] + [float(power[b].sum()) for b in self._band_bins])
        self._peaks = np.maximum(energies, self._peaks * self._gain_decay)
        # sqrt: amplitude, not power, reads naturally on a fader.
        levels = np.sqrt(energies / np.maximum(self._peaks, 1e-12))
        logmag = np.log1p(100.0 * mag)
        rise = np.zeros_like(logmag) if self._prev_logmag is None else np.maximum(logmag - self._prev_logmag, 0.0)
        flux = float(rise.sum())
        self._prev_logmag = logmag
        self._flux = np.roll(self._flux, -1)
        self._flux[-1] = flux
        self._low_flux = np.roll(self._low_flux, -1)
        self._low_flux[-1] = float(rise[self._low_bins].sum())
        self._onset_hist = np.roll(self._onset_hist, -1)
        self._onset_hist[-1] = flux
        self._hops += 1
        onset = self._is_onset(flux)
        if self._hops >= self._next_tempo:
            self._next_tempo = self._hops + int(TEMPO_EVERY_S * self.fps)
            self._update_tempo()
        beat = ((self._hops - self._phase_hop) / self._period) % 1.0 if self._period else 0.0
        return Features(self._hops * HOP / self.rate, float(min(levels[0], 1.0)),
                        *(float(min(v, 1.0)) for v in levels[1:]), onset, float(beat), self.bpm)

    def _is_onset(self, flux: float) -> bool:
        hist = self._onset_hist
        threshold = float(np.median(hist)) * 1.5 + 0.1 * float(hist.max()) + 1e-3
        t = self._hops / self.fps
        if flux > threshold and t - self._last_onset >= ONSET_GAP_S:
            self._last_onset = t
            return True
        return False

    def _update_tempo(self) -> None:
        heard = min(self._hops, len(self._flux))
        if heard < 3 * self.fps:
            return  # under three seconds: not enough beats for a tempo
        env = self._flux[-heard:] - self._flux[-heard:].mean()
        bpm, period = estimate_tempo(env, self.fps)
        if not period:
            return
        self.bpm, self._period = bpm, period
        # Phase: the offset whose comb of beats collects the most flux over the window, the low
        # end weighted up: in dance music the kick marks the beat, hats and rides the off-beat.
        low = self._low_flux[-heard:]
        phase_env = low / (low.max() + 1e-9) + 0.25 * self._flux[-heard:] / (self._flux[-heard:].max() + 1e-9)
        offsets = np.arange(int(period))
        idx = np.arange(heard)
        scores = [phase_env[idx[(idx - o) % period < 1.0]].sum() for o in offsets]
        best = int(np.argmax(scores))
        self._phase_hop = self._hops - heard + best


def estimate_tempo(env: np.ndarray, fps: float) -> tuple[float, float]:
    """(bpm, period in hops) of an onset envelope; (0, 0) when it has no periodicity."""
    n = len(env)
    spec = np.fft.rfft(env, 2 * n)
    ac = np.fft.irfft(spec * np.conj(spec))[:n]
    if ac[0] <= 0:
        return 0.0, 0.0
    ac = ac / (n - np.arange(n))  # unbiased: long lags overlap fewer samples
    ac = ac / ac[0]
    lags = np.arange(n, dtype=np.float64)
    candidates = np.arange(BPM_RANGE[0], BPM_RANGE[1] + 1e-9, 0.05)
    periods = 60.0 * fps / candidates
    score = np.zeros_like(candidates)
    for k in SCORE_BEATS:
        at = k * periods
        ok = at < n - 1
        score[ok] += np.interp(at[ok], lags, ac)
    prior = np.exp(-0.5 * (np.log2(candidates / PRIOR_BPM) / PRIOR_OCTAVES) ** 2)
    score = score * prior
    best = int(np.argmax(score))
    if score[best] <= 0:
        return 0.0, 0.0
    return float(candidates[best]), float(periods[best])


SOURCE = "audio"
PREFIX = "audio/"
EMIT_HZ = 60.0  # feature events per second at most: twice a 30 fps show, a small show log


def is_audio(address: str) -> bool:
    return address.startswith(PREFIX)


def check_audio_source(address: str) -> None:
    """ValueError unless ``address`` is ``audio/FEATURE`` for a feature the analyzer gives."""
    name = address[len(PREFIX):]
    if name not in FEATURES:
        raise ValueError(f"unknown audio feature {address!r}; choose from "
                         + ", ".join(PREFIX + f for f in FEATURES))


class FeatureEvents:
    """Features -> ``(t, address, value)`` control events, at most ``EMIT_HZ`` times a second.

    Between emissions, level and bands keep their peak and an onset is remembered, so nothing
    that happened between two emissions is lost; values that did not move are not sent again
    (a quiet room writes almost nothing into a show log).
    """

    def __init__(self, emit_hz: float = EMIT_HZ) -> None:
        self.period = 1.0 / emit_hz
        self._next = 0.0
        self._peak: dict[str, float] = {}
        self._onset = False
        self._sent: dict[str, float] = {}

    def __call__(self, feats: list[Features], offset: float = 0.0) -> list[tuple[float, str, float]]:
        """Events for these hops; ``offset`` is added to their stream times (the engine's clock at stream start)."""
        out: list[tuple[float, str, float]] = []
        for f in feats:
            for name in ("level", *(b[0] for b in BANDS)):
                self._peak[name] = max(self._peak.get(name, 0.0), getattr(f, name))
            self._onset = self._onset or f.onset
            if f.t < self._next:
                continue
            self._next = f.t + self.period
            values = {**self._peak, "onset": 1.0 if self._onset else 0.0, "beat": f.beat, "bpm": f.bpm}
            self._peak.clear()
            self._onset = False
            for name, v in values.items():
                last = self._sent.get(name)
                if last is not None and abs(v - last) < (0.05 if name == "bpm" else 1e-3):
                    continue
                self._sent[name] = v
                out.append((f.t + offset, PREFIX + name, round(v, 4)))
        return out
