"""Tap tempo and the one tempo leader: key T or /livegen/tempo/tap sets the tempo, a patch names who leads."""

from __future__ import annotations

import torch

from livegen.control.bus import ControlEvent
from livegen.control.tempo import TAP_ADDRESS
from livegen.engine import Engine
from livegen.patch import parse_patch
from livegen.rig import RigTempo

PATCH = """
name = "tap"
[output]
size = "64x48"
[tempo]
bpm = 90
source = "{source}"
[[mappings]]
source = "midi/note/10/36"
target = "tempo/tap"
"""


def show(source: str = "fixed") -> tuple[Engine, RigTempo]:
    engine = Engine(parse_patch(PATCH.format(source=source)), torch.device("cpu"), (64, 48),
                    camera=lambda t: (None, 0))
    return engine, RigTempo(engine)


def play(engine: Engine, until: float, fps: float = 30.0) -> None:
    t = engine._prev_t
    while t < until:
        t += 1 / fps
        engine.tick(t)


def test_four_taps_half_a_second_apart_set_120_bpm_with_the_last_tap_on_the_beat():
    engine, rig = show()
    for i, t in enumerate((1.0, 1.5, 2.0, 2.5)):
        # Key T in the window and /livegen/tempo/tap over OSC are the same event.
        engine.push(ControlEvent(t, "key" if i % 2 else "osc", TAP_ADDRESS, 1))
    play(engine, 3.0)
    assert abs(engine.tempo.bpm - 120.0) < 1e-6
    assert engine.tempo.beat(2.5) == round(engine.tempo.beat(2.5)), "the last tap falls on a beat"
    assert abs(engine.last_snapshot["tempo.bpm"] - 120.0) < 1e-6, "the tempo parameter (HUD, OSC) shows it"
    assert rig.status()[0] == "tempo 120.0 BPM — fixed leads"


def test_a_mapped_drum_pad_taps_too_and_a_pause_starts_a_new_count():
    engine, _ = show("tap")
    for t in (1.0, 1.6, 2.2):  # 100 BPM (the patch says 90)
        engine.push(ControlEvent(t, "midi", "midi/note/10/36", 100))
    for t in (5.0, 5.4, 5.8, 6.2):  # after a pause: 150 BPM, not an average with the old taps
        engine.push(ControlEvent(t, "midi", "midi/note/10/36", 100))
    play(engine, 2.5)
    assert abs(engine.tempo.bpm - 100.0) < 1e-6
    play(engine, 6.5)
    assert abs(engine.tempo.bpm - 150.0) < 1e-6


def test_taps_do_not_fight_an_external_leader_and_the_hud_says_so():
    engine, rig = show("midi")
    for t in (1.0, 1.5, 2.0):
        engine.push(ControlEvent(t, "key", TAP_ADDRESS, 1))
    play(engine, 2.5)
    assert engine.tempo.bpm == 90.0
    lines = rig.status()
    assert lines[0] == "tempo 90.0 BPM — midi leads"
    assert "tap ignored: the tempo follows midi ([tempo] source)" in lines


def test_taps_recorded_in_a_show_log_move_the_tempo_the_same_way_in_a_render(tmp_path):
    from livegen.render import render

    engine, _ = show()
    engine.start_recording(tmp_path / "taps.jsonl")
    for t in (0.5, 0.9, 1.3, 1.7):  # 150 BPM
        engine.push(ControlEvent(t, "key", TAP_ADDRESS, 1))
    play(engine, 2.0)
    live_beat = engine.last_snapshot.beat
    engine.close()
    beats: list[float] = []
    render(engine.patch, "null", controls=[tmp_path / "taps.jsonl"], progress=False,
           on_frame=lambda n, img, snap: beats.append(snap.beat))
    assert beats[-1] == live_beat


def test_osc_schema_lists_the_tap_address_and_every_audio_source_a_mapping_can_use():
    from livegen.control_cli import patch_osc_schema

    engine, _ = show()
    described = patch_osc_schema(engine.patch, engine.registry)
    assert TAP_ADDRESS in [a["address"] for a in described["actions"]]
    assert [s["source"] for s in described["audio_sources"]] == [
        "audio/level", "audio/bass", "audio/lowmid", "audio/highmid", "audio/high", "audio/onset", "audio/beat",
        "audio/bpm"]
