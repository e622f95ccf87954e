"""Audio files for the audio-reactive controls: reading them, and ``livegen audio FILE``.

WAV (16/24/32-bit PCM) is read with the standard library; any other format (MP3, FLAC, OGG,
AAC) through PyAV when the ``av`` extra is installed. :func:`analyse` runs the same causal
:class:`~livegen.control.audio.AudioAnalyzer` a live show runs, hop by hop, so the summary and
a render's controls agree with what the show would have seen.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np

from livegen.control.audio import BANDS, AudioAnalyzer, Features

AUDIO_FILE_SECONDS = 4 * 3600  # longest file read (a long DJ set); longer files are refused


def read_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """(mono float32 samples in [-1, 1], sample rate) of a file; OSError naming the file if it cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise OSError(f"{path}: no such file")
    if path.suffix.lower() in (".wav", ".wave"):
        try:
            return _read_wav(path)
        except wave.Error:
            pass  # float or compressed WAV: let PyAV try
        except EOFError as e:
            raise OSError(f"{path}: truncated WAV ({e})") from None
    return _read_av(path)


def _read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as w:
        rate, channels, width, frames = w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()
        if frames > AUDIO_FILE_SECONDS * rate:
            raise OSError(f"{path}: longer than {AUDIO_FILE_SECONDS // 3600} hours")
        raw = w.readframes(frames)
    if width == 2:
        data = np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0
    elif width == 3:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3)
        ints = (b[:, 0].astype(np.int32) | (b[:, 1].astype(np.int32) << 8) | (b[:, 2].astype(np.int32) << 16))
        data = ((ints << 8) >> 8).astype(np.float32) / 8388608.0
    elif width == 4:
        data = np.frombuffer(raw, "<i4").astype(np.float32) / 2147483648.0
    elif width == 1:
        data = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    else:
        raise OSError(f"{path}: {8 * width}-bit WAV is not supported")
    return data.reshape(-1, channels).mean(axis=1), rate


def _read_av(path: Path) -> tuple[np.ndarray, int]:
    try:
        import av
    except ImportError:
        raise OSError(f"{path}: only WAV files can be read without PyAV (pip install 'livegen[av]')") from None
    try:
        with av.open(str(path)) as container:
            stream = container.streams.audio[0]
            rate = stream.rate
            resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
            chunks = []
            total = 0
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    arr = out.to_ndarray().reshape(-1)
                    chunks.append(arr)
                    total += len(arr)
                    if total > AUDIO_FILE_SECONDS * rate:
                        raise OSError(f"{path}: longer than {AUDIO_FILE_SECONDS // 3600} hours")
    except (av.error.FFmpegError, IndexError) as e:
        raise OSError(f"{path}: cannot decode audio ({e})") from None
    return (np.concatenate(chunks) if chunks else np.zeros(0, np.float32)).astype(np.float32), rate


def analyse(samples: np.ndarray, rate: int) -> list[Features]:
    """Every hop's features of a whole recording, exactly as a live show would see them."""
    return AudioAnalyzer(rate).feed(samples)


def summary(features: list[Features], every_s: float = 0.5) -> dict[str, Any]:
    """Tempo (the last estimate), beat times, onset times and band levels every ``every_s`` seconds."""
    if not features:
        return {"seconds": 0.0, "bpm": 0.0, "beats": [], "onsets": [], "bands": []}
    dt = features[1].t - features[0].t if len(features) > 1 else features[0].t
    beats = [round(f.t, 3) for prev, f in zip(features, features[1:]) if f.bpm and f.beat < prev.beat]
    bands = []
    step = max(int(round(every_s / dt)), 1)
    for i in range(0, len(features), step):
        window = features[i:i + step]
        bands.append({"t": round(window[0].t, 3), "level": round(max(f.level for f in window), 3),
                      **{b: round(max(getattr(f, b) for f in window), 3) for b, _, _ in BANDS}})
    return {"seconds": round(features[-1].t, 3), "bpm": round(features[-1].bpm, 2), "beats": beats,
            "onsets": [round(f.t, 3) for f in features if f.onset], "bands": bands}


def main(argv: list[str]) -> int:
    """``livegen audio FILE``: print tempo, beats, onsets and band levels as JSON."""
    ap = argparse.ArgumentParser(prog="livegen audio", description=main.__doc__.replace("``", ""))
    ap.add_argument("file")
    ap.add_argument("--every", type=float, default=0.5, help="seconds between band-level rows")
    ap.add_argument("--compact", action="store_true")
    args = ap.parse_args(argv)
    try:
        samples, rate = read_audio(args.file)
        started = time.perf_counter()
        feats = analyse(samples, rate)
        cost = time.perf_counter() - started
    except (OSError, ValueError) as e:
        print(f"livegen audio: {e}", file=sys.stderr)
        return 1
    out = summary(feats, args.every)
    out["file"] = args.file
    out["analysis_ms_per_second_of_audio"] = round(1000.0 * cost / max(len(samples) / rate, 1e-9), 3)
    json.dump(out, sys.stdout, indent=None if args.compact else 1)
    sys.stdout.write("\n")
    return 0
