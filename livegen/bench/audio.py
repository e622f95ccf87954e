"""``livegen bench audio``: tempo accuracy on drum tracks at known tempi, and the analysis cost.

Tracks are synthesised, not downloaded: a MIDI groove (four-on-the-floor, breakbeat or half-time
with eighth or sixteenth hats, a few bars of fills) is rendered by FluidSynth with the General
MIDI drum kit of ``fluid-soundfont-gm`` (real recorded drum samples), at exactly the tempo asked
for. The table says the BPM livegen hears after the whole track and its error; the cost is the
analysis time per 30 fps frame of audio.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import mido

from livegen.control.audiofile import analyse, read_audio

SOUNDFONTS = ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/sounds/sf2/default-GM.sf2")
KICK, SNARE, CLAP, HAT, OPEN_HAT, RIDE = 36, 38, 39, 42, 46, 51
# groove name -> per sixteenth-note step (0..15) of a bar: the drums struck there.
GROOVES: dict[str, dict[int, tuple[int, ...]]] = {
    "house": {s: ((KICK,) if s % 4 == 0 else ()) + ((CLAP,) if s in (4, 12) else ())
              + ((OPEN_HAT,) if s % 4 == 2 else ()) for s in range(16)},
    "techno": {s: ((KICK,) if s % 4 == 0 else ()) + ((HAT,) if s % 2 == 0 else ())
               + ((RIDE,) if s % 4 == 2 else ()) for s in range(16)},
    "breakbeat": {0: (KICK, HAT), 2: (HAT,), 4: (SNARE, HAT), 6: (HAT,), 7: (SNARE,), 9: (KICK,),
                  10: (KICK, HAT), 12: (SNARE, HAT), 14: (HAT,), 15: (SNARE,)},
    "halftime": {0: (KICK, HAT), 2: (HAT,), 4: (HAT,), 6: (HAT,), 8: (SNARE, HAT), 10: (HAT,), 11: (KICK,),
                 12: (HAT,), 14: (HAT,)},
}
TABLE = [(90, "breakbeat"), (95, "halftime"), (100, "house"), (110, "breakbeat"), (118, "house"),
         (122, "house"), (124, "techno"), (126, "house"), (128, "techno"), (132, "house"),
         (135, "breakbeat"), (140, "techno"), (145, "house"), (150, "techno"), (160, "breakbeat")]


def soundfont() -> str | None:
    return next((p for p in SOUNDFONTS if Path(p).is_file()), None)


def groove_midi(bpm: float, groove: str, bars: int, path: Path) -> None:
    """A drum-channel MIDI file of ``bars`` bars of ``groove`` at ``bpm`` (every 8th bar ends in a fill)."""
    mid = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm)))
    step = 120  # ticks per sixteenth
    events: list[tuple[int, int, int]] = []  # tick, order (offs first), note
    for bar in range(bars):
        pattern = GROOVES[groove]
        if bar % 8 == 7:  # a fill: snare on every sixteenth of the last beat
            pattern = {**pattern, **{s: (SNARE,) for s in (12, 13, 14, 15)}}
        for s, notes in pattern.items():
            t = (bar * 16 + s) * step
            for i, n in enumerate(notes):
                vel = 110 if n in (KICK, SNARE, CLAP) else 70 + 20 * (s % 4 == 0)
                events.append((t, 1, n * 1000 + vel + i * 0))
                events.append((t + step // 2, 0, n * 1000))
    events.sort()
    last = 0
    for t, on, code in events:
        note, vel = divmod(code, 1000)
        track.append(mido.Message("note_on" if on else "note_off", channel=9, note=note,
                                  velocity=vel if on else 0, time=t - last))
        last = t
    mid.save(str(path))


def synth_track(bpm: float, groove: str, bars: int, out: Path, font: str | None = None, rate: int = 44100) -> Path:
    """Render a groove to a WAV at ``rate`` Hz with FluidSynth; RuntimeError if FluidSynth or a soundfont is missing."""
    font = font or soundfont()
    if shutil.which("fluidsynth") is None or font is None:
        raise RuntimeError("needs Debian fluidsynth and fluid-soundfont-gm")
    mid = out.with_suffix(".mid")
    groove_midi(bpm, groove, bars, mid)
    subprocess.run(["fluidsynth", "-ni", "-q", "-g", "0.8", "-F", str(out), "-r", str(rate), font, str(mid)],
                   check=True, capture_output=True, timeout=120)
    return out


def tempo_table(bars: int = 16, rows: list[tuple[int, str]] = TABLE) -> list[dict]:
    out = []
    with tempfile.TemporaryDirectory(prefix="livegen-tempo-") as tmp:
        for bpm, groove in rows:
            wav = synth_track(bpm, groove, bars, Path(tmp) / f"{groove}-{bpm}.wav")
            samples, rate = read_audio(wav)
            started = time.perf_counter()
            feats = analyse(samples, rate)
            cost = time.perf_counter() - started
            seconds = len(samples) / rate
            heard = feats[-1].bpm
            out.append({"bpm": bpm, "groove": groove, "heard": round(heard, 2), "error": round(heard - bpm, 2),
                        "ms_per_frame_30fps": round(1000.0 * cost / (seconds * 30.0), 3)})
    return out


def main(argv: list[str]) -> int:
    """Print the tempo accuracy table (JSON lines) and a verdict line."""
    ap = argparse.ArgumentParser(prog="livegen bench audio", description=__doc__.replace("``", ""))
    ap.add_argument("--bars", type=int, default=16)
    args = ap.parse_args(argv)
    try:
        rows = tempo_table(args.bars)
    except RuntimeError as e:
        print(f"livegen bench audio: {e}", file=sys.stderr)
        return 1
    for row in rows:
        print(json.dumps(row))
    worst = max(abs(r["error"]) for r in rows)
    cost = max(r["ms_per_frame_30fps"] for r in rows)
    print(json.dumps({"tracks": len(rows), "worst_error_bpm": worst, "within_1_bpm": sum(abs(r["error"]) <= 1
                                                                                          for r in rows),
                      "worst_ms_per_frame": cost}))
    return 0
