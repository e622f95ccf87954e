"""Audio-reactive stories: real drum tracks (FluidSynth and the General MIDI drum kit of
fluid-soundfont-gm) at known tempi, heard from files, a render and a live JACK port (played by
tests/jack_player.py into ``jackd --no-realtime -d dummy``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from audio_show import listen

from livegen.bench.audio import soundfont, synth_track
from livegen.control.audio import AudioAnalyzer
from livegen.control.audiofile import read_audio
from livegen.control.audioin import AudioConfig, AudioInput
from livegen.control.bus import ControlBus
from livegen.control.record import load_controls
from livegen.engine import Engine
from livegen.patch import parse_patch
from livegen.render import render

pytestmark = pytest.mark.skipif(soundfont() is None, reason="needs Debian fluidsynth and fluid-soundfont-gm")

AUDIO_PATCH = """
name = "audio"
seed = 3
[output]
size = "96x64"
fps = 30
[tempo]
source = "audio"
[[mappings]]
source = "audio/bass"
target = "compose.amount"
"""


@pytest.fixture(scope="module")
def techno128(tmp_path_factory) -> Path:
    return synth_track(128, "techno", 12, tmp_path_factory.mktemp("tracks") / "techno-128.wav")


def test_livegen_audio_prints_tempo_beats_onsets_and_bands_of_a_track(techno128):
    done = subprocess.run([sys.executable, "-m", "livegen", "audio", str(techno128), "--compact"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert abs(summary["bpm"] - 128) <= 1
    beats = np.array(summary["beats"])
    assert len(beats) >= 30
    assert np.median(np.diff(beats)) == pytest.approx(60 / 128, abs=0.012)
    # The groove starts on a beat at t = 0: heard beats fall on the grid within a hop or two.
    offsets = (beats / (60 / 128) + 0.5) % 1.0 - 0.5
    assert np.abs(np.median(offsets)) * 60 / 128 < 0.03
    assert len(summary["onsets"]) >= 12 * 8  # kick and hats: at least every eighth note
    assert {"t", "level", "bass", "lowmid", "highmid", "high"} <= set(summary["bands"][0])


def test_livegen_audio_on_a_file_that_is_not_there_says_so_in_one_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "livegen", "audio", str(tmp_path / "set.wav")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip() == f"livegen audio: {tmp_path / 'set.wav'}: no such file"


@pytest.mark.parametrize(("bpm", "groove"), [(95, "halftime"), (124, "house"), (160, "breakbeat")])
def test_the_tempo_is_within_one_bpm_without_octave_errors(tmp_path, bpm, groove):
    samples, rate = read_audio(synth_track(bpm, groove, 12, tmp_path / f"{groove}.wav"))
    heard = AudioAnalyzer(rate).feed(samples)[-1].bpm
    assert abs(heard - bpm) <= 1.0, f"{groove} at {bpm} BPM heard as {heard}"


def test_a_render_follows_the_music_frame_by_frame_and_carries_it_in_the_video(techno128, tmp_path):
    pytest.importorskip("av", reason="render --audio muxes with PyAV (the av extra)")
    import av

    def amounts(name: str) -> tuple[list[float], list[float]]:
        amount, bpm = [], []
        render(parse_patch(AUDIO_PATCH), str(tmp_path / name), frames=150, progress=False, audio=techno128,
               on_frame=lambda n, img, snap: (amount.append(snap["compose.amount"]), bpm.append(snap["tempo.bpm"])))
        return amount, bpm

    amount, bpm = amounts("a.mp4")
    assert max(amount) - min(amount) > 0.3, "the bass drives the compose amount"
    assert abs(bpm[-1] - 128) <= 1, "the audio leads the tempo: the tempo parameter shows what it heard"
    assert amounts("b.mp4")[0] == amount, "the same song gives the same frames"
    with av.open(str(tmp_path / "a.mp4")) as c:
        video, audio = c.streams.video[0], c.streams.audio[0]
        assert video.frames == 150
        assert float(audio.duration * audio.time_base) == pytest.approx(5.0, abs=0.1)


@pytest.fixture
def jack_audio(monkeypatch):
    """A private JACK dummy server with 2048-frame periods for audio stories.

    The MIDI stories' server runs 256-frame periods (5 ms) for timing; Python audio callbacks at
    that rate miss cycles when the 2-core CI machine is loaded, and a missed cycle is lost music.
    A show machine runs JACK in real time; here a 43 ms period keeps the test about the analysis.
    """
    import shutil

    if shutil.which("jackd") is None:
        pytest.skip("JACK (Debian jackd2) is not installed")
    name = f"livegen-audio-{os.getpid()}"
    proc = subprocess.Popen(["jackd", "-n", name, "--no-realtime", "-d", "dummy", "-r", "48000", "-p", "2048"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    monkeypatch.setenv("JACK_DEFAULT_SERVER", name)
    monkeypatch.setenv("JACK_NO_START_SERVER", "1")
    try:
        deadline = time.monotonic() + 20
        while subprocess.run(["jack_wait", "-c", "-s", name], capture_output=True, text=True).stdout.find(
                "not running") >= 0 or proc.poll() is not None:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("jackd did not start")
            time.sleep(0.2)
        yield name
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def play_into(audio: AudioInput, port: str, wav: Path, engine: Engine, seconds: float) -> list[float]:
    """Play ``wav`` into the JACK ``port`` (a DJ mixer's output, from its own process) while the show
    runs; the compose amount of each frame."""
    player = subprocess.Popen([sys.executable, str(Path(__file__).parent / "jack_player.py"), str(wav), port],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert player.stdout.readline().strip() == "playing"
        return listen(audio, engine, seconds)
    finally:
        player.kill()
        player.wait()


def live_track(tmp_path: Path) -> Path:
    import jack

    probe = jack.Client("test-probe", no_start_server=True)
    rate = probe.samplerate
    probe.close()
    return synth_track(128, "techno", 6, tmp_path / "live.wav", rate=rate)


def test_live_audio_from_a_jack_port_moves_the_show_and_the_show_log_replays_it_without_audio(jack_audio, tmp_path):
    wav = live_track(tmp_path)
    patch = parse_patch(AUDIO_PATCH)
    engine = Engine(patch, torch.device("cpu"), (96, 64), camera=lambda t: (None, 0))
    engine.start_recording(tmp_path / "show.jsonl")
    start = time.monotonic()
    audio = AudioInput(AudioConfig(input="jack"), engine.bus, lambda: time.monotonic() - start).start()
    assert not audio.problem, audio.problem
    live = play_into(audio, audio.port_name, wav, engine, 8.0)
    log = load_controls(tmp_path / "show.jsonl")
    tempi = [ev.value for ev in log.events if ev.address == "audio/bpm" and ev.value > 0]
    assert tempi, "the analysis heard a tempo"
    # The median of the estimates: on a loaded 2-core machine a late JACK cycle can bend one of them.
    assert abs(float(np.median(tempi)) - 128) <= 1.0, f"heard {tempi}"
    assert max(live) - min(live) > 0.3, "the bass moved the show"
    assert any(ev.address == "audio/bass" for ev in log.events)
    replay: list[float] = []
    render(patch, "null", controls=[tmp_path / "show.jsonl"], progress=False,
           on_frame=lambda n, img, snap: replay.append(snap["compose.amount"]))
    assert replay == live, "the show log alone replays the audio-driven show frame for frame"


def test_a_sound_device_named_in_the_patch_feeds_the_show(jack_audio, tmp_path):
    """The sound card is PortAudio's JACK device "system" here (Debian's libportaudio2 speaks JACK);
    on a show laptop it is the audio interface's name, through ALSA, CoreAudio or WASAPI."""
    wav = live_track(tmp_path)
    show = subprocess.Popen([sys.executable, str(Path(__file__).parent / "device_listener.py"), "system", "8"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = show.stdout.readline().split()
        assert first[:1] == ["listening"], show.stderr.read()
        player = subprocess.Popen([sys.executable, str(Path(__file__).parent / "jack_player.py"), str(wav), first[1]],
                                  stdout=subprocess.PIPE, text=True)
        try:
            out, err = show.communicate(timeout=60)
        finally:
            player.kill()
            player.wait()
    finally:
        show.kill()
        show.wait()
    assert show.returncode == 0, err
    heard = json.loads(out.strip().splitlines()[-1])
    assert heard["tempi"] and abs(float(np.median(heard["tempi"])) - 128) <= 1.0, f"heard {heard['tempi']}"
    assert max(heard["amounts"]) - min(heard["amounts"]) > 0.3, "the bass moved the show"


def test_an_audio_input_that_cannot_start_is_one_line_and_nothing_else(tmp_path):
    bus = ControlBus()
    missing = AudioInput(AudioConfig(input=str(tmp_path / "no-such-song.wav")), bus, time.monotonic).start()
    try:
        assert missing.status() == [missing.problem]
        assert "no-such-song.wav" in missing.problem and "not started" in missing.problem
    finally:
        missing.close()
    assert bus.drain(1e9, 100) == []
