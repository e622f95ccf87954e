"""Stories about mapping controls to parameters: curves, pickup, encoders, 14-bit CCs, quantised
moves, actions, and the MIDI clock driving the tempo. Events go through the real Mapper and
ParameterStore exactly as the render loop applies them."""

from __future__ import annotations

import random

import pytest

from livegen.clock import Tempo
from livegen.config import ConfigError
from livegen.control.bus import ControlEvent
from livegen.control.mapping.router import Mapper
from livegen.control.mapping.schema import MappingConfig
from livegen.control.midiclock import MidiClockFollower
from livegen.control.midikinds import parse_midi_source
from livegen.params import ParameterStore, ParamRegistry
from livegen.patch import PatchError, parse_patch


def ev(address: str, value=None, t: float = 0.0) -> ControlEvent:
    return ControlEvent(t, "test", address, value)


@pytest.fixture
def setup(registry: ParamRegistry):
    """Builds a router and a store over the test registry, as the engine does from a patch."""

    def make(*mappings: MappingConfig, tempo: Tempo | None = None, follow_clock: bool = False):
        clock = MidiClockFollower(tempo) if tempo is not None and follow_clock else None
        return Mapper(registry, list(mappings), tempo=tempo, midi_clock=clock), ParameterStore(registry)

    return make


def test_a_fader_moves_a_parameter_across_its_output_range(setup):
    m, store = setup(MappingConfig("midi/cc/1/7", "generator.speed", out_range=(1.0, 3.0)))
    m.apply(ev("midi/cc/1/7", 0), store)
    assert store.targets["generator.speed"] == 1.0
    m.apply(ev("midi/cc/1/7", 127), store)
    assert store.targets["generator.speed"] == 3.0
    m.apply(ev("midi/cc/1/7", 63.5), store)
    assert store.targets["generator.speed"] == pytest.approx(2.0)


def test_input_range_invert_and_named_curves_shape_the_value(setup):
    m, store = setup(MappingConfig("/f", "style.mix", in_range=(0.0, 10.0), invert=True))
    m.apply(ev("/f", 2.5), store)
    assert store.targets["style.mix"] == pytest.approx(0.75)
    m.apply(ev("/f", 20.0), store)  # beyond the input range clamps
    assert store.targets["style.mix"] == 0.0

    m, store = setup(MappingConfig("/e", "style.mix", curve="exponential"),
                     MappingConfig("/l", "master.fade", curve="logarithmic"))
    m.apply(ev("/e", 0.5), store)
    m.apply(ev("/l", 0.5), store)
    exp_half, log_half = store.targets["style.mix"], store.targets["master.fade"]
    assert exp_half < 0.5 < log_half
    m.apply(ev("/e", 1.0), store)
    m.apply(ev("/l", 0.0), store)
    assert (store.targets["style.mix"], store.targets["master.fade"]) == (1.0, 0.0)


def test_a_step_curve_picks_enum_choices_evenly(setup):
    m, store = setup(MappingConfig("midi/cc/1/20", "compose.mode", curve="step"))
    seen = []
    for v in (0, 40, 64, 100, 127):
        m.apply(ev("midi/cc/1/20", v), store)
        seen.append(store.targets["compose.mode"])
    assert seen == ["screen", "add", "multiply", "difference", "difference"]


def test_a_button_toggles_a_bool_on_each_press_only(setup):
    m, store = setup(MappingConfig("midi/cc/1/64", "fx.freeze", curve="toggle"),
                     MappingConfig("midi/note/10/36", "fx.freeze", curve="toggle"))
    values = []
    for v in (127, 0, 127, 127, 0, 127):  # the repeated 127 (no release between) must not toggle twice
        m.apply(ev("midi/cc/1/64", v), store)
        values.append(store.targets["fx.freeze"])
    assert values == [True, True, False, False, False, True]
    m.apply(ev("midi/note/10/36", 20), store)  # a soft pad hit still counts
    assert store.targets["fx.freeze"] is False
    m.apply(ev("midi/note/10/36", 0), store)
    assert store.targets["fx.freeze"] is False


def test_notes_fire_triggers_and_gate_bools(setup):
    m, store = setup(MappingConfig("midi/note/1/60", "generator.jump"),
                     MappingConfig("midi/note/1/62", "fx.freeze"))
    m.apply(ev("midi/note/1/60", 90), store)
    assert store.snapshot(0.0).fired("generator.jump")
    m.apply(ev("midi/note/1/60", 0), store)  # note off fires nothing
    assert not store.snapshot(0.0).fired("generator.jump")
    m.apply(ev("midi/note/1/62", 100), store)
    assert store.targets["fx.freeze"] is True
    m.apply(ev("midi/note/1/62", 0), store)
    assert store.targets["fx.freeze"] is False


def test_pickup_holds_the_parameter_until_the_fader_meets_it(setup):
    m, store = setup(MappingConfig("midi/cc/1/7", "style.mix", pickup=True))
    store.set("style.mix", 0.5)
    m.apply(ev("midi/cc/1/7", 10), store)
    m.apply(ev("midi/cc/1/7", 40), store)
    assert store.targets["style.mix"] == 0.5  # fader far below: no jump
    m.apply(ev("midi/cc/1/7", 80), store)  # crossed 0.5 between two messages: picked up
    assert store.targets["style.mix"] == pytest.approx(80 / 127)
    m.apply(ev("midi/cc/1/7", 20), store)
    assert store.targets["style.mix"] == pytest.approx(20 / 127)
    store.set("style.mix", 0.9)  # a scene or OSC moved it: the fader must catch it again
    m.apply(ev("midi/cc/1/7", 25), store)
    assert store.targets["style.mix"] == 0.9


def test_relative_encoders_in_twos_complement_and_binary_offset(setup):
    m, store = setup(MappingConfig("midi/cc/1/16", "generator.speed", encoder="twos-complement", step_size=0.01),
                     MappingConfig("midi/cc/1/17", "fx.steps", encoder="binary-offset"))
    for v in (1, 1, 3):  # +5 ticks
        m.apply(ev("midi/cc/1/16", v), store)
    assert store.targets["generator.speed"] == pytest.approx(0.2 + 5 * 0.04)
    m.apply(ev("midi/cc/1/16", 127), store)  # -1
    assert store.targets["generator.speed"] == pytest.approx(0.2 + 4 * 0.04)
    for v in (65, 65, 66, 63):  # +1 +1 +2 -1 (offset 64)
        m.apply(ev("midi/cc/1/17", v), store)
    assert store.targets["fx.steps"] == 3
    for _ in range(20):
        m.apply(ev("midi/cc/1/17", 60), store)
    assert store.targets["fx.steps"] == 0  # clamped at the range end


def test_fourteen_bit_cc_pairs_give_fine_resolution(setup):
    m, store = setup(MappingConfig("midi/cc14/1/1", "style.mix"))
    m.apply(ev("midi/cc/1/1", 64), store)  # MSB
    m.apply(ev("midi/cc/1/33", 1), store)  # LSB
    assert store.targets["style.mix"] == pytest.approx((64 * 128 + 1) / 16383)
    m.apply(ev("midi/cc/1/33", 127), store)
    assert store.targets["style.mix"] == pytest.approx((64 * 128 + 127) / 16383)


def test_any_channel_sources_and_unmapped_controller_knobs(setup):
    m, store = setup(MappingConfig("midi/cc/*/7", "style.mix"))
    m.apply(ev("midi/cc/5/7", 127), store)
    assert store.targets["style.mix"] == 1.0
    assert m.apply(ev("midi/cc/5/8", 127), store) == []  # a knob the patch does not use is no error
    assert m.unmapped == 1


def test_actions_scene_record_quit_and_program_change(setup):
    m, store = setup(MappingConfig("midi/note/1/40", "scene", arg="intro"),
                     MappingConfig("/rec", "record", arg="start"),
                     MappingConfig("midi/cc/1/100", "quit"))
    assert m.apply(ev("midi/note/1/40", 100), store) == [("scene", "intro")]
    assert m.apply(ev("/rec", 1.0), store) == [("record", "start")]
    assert m.apply(ev("/rec", 0.0), store) == []
    assert m.apply(ev("midi/cc/1/100", 127), store) == [("quit", None)]
    assert m.apply(ev("midi/program/3", 4), store) == [("scene", 5)]
    assert m.apply(ev("/livegen/scene", "outro"), store) == [("scene", "outro")]
    assert m.apply(ev("/livegen/scene/outro"), store) == [("scene", "outro")]
    assert m.apply(ev("/livegen/record"), store) == [("record", "toggle")]
    assert m.apply(ev("/livegen/quit"), store) == [("quit", None)]


def test_direct_osc_addresses_aliases_and_unusable_events(registry):
    m = Mapper(registry, [], aliases={"/style_mix": "style.mix"})
    store = ParameterStore(registry)
    m.apply(ev("/livegen/generator/speed", 9.0), store)
    assert store.targets["generator.speed"] == 4.0  # clamped to the parameter's range
    m.apply(ev("/style_mix", 0.25), store)
    assert store.targets["style.mix"] == 0.25
    m.apply(ev("/livegen/generator/jump"), store)
    assert store.snapshot(0.0).fired("generator.jump")
    with pytest.raises(ValueError, match="/nowhere"):
        m.apply(ev("/nowhere", 1), store)
    with pytest.raises(ValueError, match="/livegen/compose/mode"):
        m.apply(ev("/livegen/compose/mode", "sideways"), store)
    with pytest.raises(ValueError, match="/livegen/style/mix"):
        m.apply(ev("/livegen/style/mix", float("nan")), store)


def test_mapping_smoothing_glides_at_frame_boundaries(setup):
    m, store = setup(MappingConfig("/f", "style.mix", smoothing=0.1))
    m.begin_frame(0.0, store)
    m.apply(ev("/f", 1.0, 0.0), store)
    assert store.targets["style.mix"] == 0.0  # nothing moves between frames
    trail = []
    for i in range(1, 30):
        m.begin_frame(i / 30, store)
        trail.append(store.targets["style.mix"])
    assert all(a < b for a, b in zip(trail[:10], trail[1:11]))
    assert trail[0] == pytest.approx(1 - 2.718281828 ** (-1 / 3), rel=1e-6)
    assert trail[-1] > 0.99


def test_quantised_moves_wait_for_the_next_beat_or_bar(setup):
    tempo = Tempo(120.0)  # a beat every 0.5 s
    m, store = setup(MappingConfig("/jump", "generator.jump", quantise="beat"),
                     MappingConfig("/scene", "scene", arg="drop", quantise="bar"),
                     MappingConfig("/mix", "style.mix", quantise="beat"), tempo=tempo)
    m.begin_frame(0.1, store)
    m.apply(ev("/jump", 1.0, 0.1), store)
    assert m.apply(ev("/scene", 1.0, 0.1), store) == []
    m.apply(ev("/mix", 0.7, 0.1), store)
    assert not store.snapshot(0.1).fired("generator.jump") and store.targets["style.mix"] == 0.0
    assert m.begin_frame(0.45, store) == []
    assert m.begin_frame(0.5, store) == []  # beat 1: the jump and the fader
    assert store.snapshot(0.5).fired("generator.jump") and store.targets["style.mix"] == 0.7
    assert m.begin_frame(1.9, store) == []
    assert m.begin_frame(2.0, store) == [("scene", "drop")]  # bar line at beat 4
    assert m.pending == 0


def test_midi_clock_at_steady_120_bpm_is_within_half_a_bpm(setup):
    """Ticks with exact timestamps, then with a few ms of seeded jitter, through the real tempo code."""
    for jitter in (0.0, 0.003):
        rnd = random.Random(7)
        tempo = Tempo(100.0)
        m, store = setup(tempo=tempo, follow_clock=True)
        period = 60.0 / 120.0 / 24
        m.apply(ev("midi/start", None, 0.0), store)
        for i in range(24 * 16):
            m.apply(ev("midi/clock", None, 1.0 + i * period + rnd.uniform(-jitter, jitter)), store)
        assert tempo.bpm == pytest.approx(120.0, abs=0.5)
        m.begin_frame(1.0 + 383 * period, store)  # the next frame shows the followed tempo
        assert store.targets["tempo.bpm"] == pytest.approx(tempo.bpm)
        # The first tick after Start was beat 0, so the last one (tick 383) is beat 15.958.
        assert tempo.beat(1.0 + 383 * period) == pytest.approx(383 / 24, abs=0.05)


def test_midi_clock_follows_a_tempo_change_and_song_position(setup):
    tempo = Tempo(120.0)
    m, store = setup(tempo=tempo, follow_clock=True)
    t = 0.0
    for bpm, beats in ((120.0, 8), (90.0, 4)):
        for _ in range(24 * beats):
            m.apply(ev("midi/clock", None, t), store)
            t += 60.0 / bpm / 24
    assert tempo.bpm == pytest.approx(90.0, abs=0.5)
    m.apply(ev("midi/stop", None, t), store)
    m.apply(ev("midi/songpos", 16, t), store)  # 16 sixteenths = beat 4
    m.apply(ev("midi/continue", None, t), store)
    m.apply(ev("midi/clock", None, t), store)
    assert tempo.beat(t) == pytest.approx(4.0, abs=0.02)


def test_a_new_follower_after_a_patch_reload_keeps_the_beat_going(setup):
    tempo = Tempo(120.0)
    m, store = setup(tempo=tempo, follow_clock=True)
    period = 60.0 / 120.0 / 24
    for i in range(24 * 8):  # a clock without Start: free-running
        m.apply(ev("midi/clock", None, i * period), store)
    before = tempo.beat(24 * 8 * period)
    m2, _ = setup(tempo=tempo, follow_clock=True)  # what the engine builds on hot reload
    for i in range(24 * 8, 24 * 9):
        m2.apply(ev("midi/clock", None, i * period), store)
    assert before == pytest.approx(8.0, abs=0.01)
    assert tempo.beat(24 * 9 * period) == pytest.approx(9.0, abs=0.01)


def test_patch_mappings_are_validated_with_the_key_path(registry):
    good = parse_patch('[[mappings]]\nsource = "midi/cc/1/7"\ntarget = "style.mix"\npickup = true\n', registry=registry)
    assert good.mappings[0].pickup
    for text, path in [
        ('[[mappings]]\nsource = "midi/cc/17/7"\ntarget = "style.mix"\n', "mappings[0].source"),
        ('[[mappings]]\nsource = "/x"\ntarget = "style.mix"\ncurve = "cubic"\n', "mappings[0].curve"),
        ('[[mappings]]\nsource = "/x"\ntarget = "style.mix"\nwobble = 1\n', "mappings[0].wobble"),
        ('[osc]\nhost = "0.0.0.0"\n', "osc.host"),
    ]:
        with pytest.raises(PatchError) as e:
            parse_patch(text, registry=registry)
        assert e.value.path == path
    with pytest.raises(ConfigError) as ce:
        Mapper(registry, [MappingConfig("/x", "style.mixx")])
    assert ce.value.path == "mappings[0].target" and "did you mean style.mix?" in str(ce.value)
    with pytest.raises(ValueError, match="channel"):
        parse_midi_source("midi/cc/0/7")
    # Loading the patch already checks targets, so a typo never reaches a running show.
    with pytest.raises(PatchError) as pe:
        parse_patch('[osc.aliases]\n"/x" = "style.mixx"\n', registry=registry)
    assert pe.value.path == "osc.aliases./x"
    with pytest.raises(PatchError) as pe:
        parse_patch('[[mappings]]\nsource = "/x"\ntarget = "style.mixx"\n', registry=registry)
    assert pe.value.path == "mappings[0].target"


def test_changing_the_tempo_parameter_sets_the_tempo_but_the_patch_bpm_starts_it(setup):
    tempo = Tempo(124.0)  # from the patch's [tempo] bpm; the parameter still has its default 120
    m, store = setup(tempo=tempo)
    m.begin_frame(0.0, store)
    assert tempo.bpm == 124.0
    assert store.targets["tempo.bpm"] == 124.0  # the parameter (HUD, feedback) shows the tempo in force
    m.apply(ev("/livegen/tempo/bpm", 90.0, 0.5), store)
    m.begin_frame(1.0, store)
    assert tempo.bpm == 90.0
    assert tempo.beat(1.0) == pytest.approx(124 / 60)  # the phase does not jump


def test_a_scene_fades_the_tempo_and_a_running_midi_clock_overrules_a_hand_set_bpm(setup):
    tempo = Tempo(120.0)
    m, store = setup(tempo=tempo, follow_clock=True)
    m.begin_frame(0.0, store)
    store.recall({"tempo.bpm": 140.0}, fade=1.0)
    bpms = []
    for i in range(1, 5):
        store.step(0.25)
        m.begin_frame(i * 0.25, store)
        bpms.append(tempo.bpm)
    assert bpms == pytest.approx([125.0, 130.0, 135.0, 140.0])  # every step of the fade reaches the tempo
    period = 60.0 / 100.0 / 24
    t = 1.0
    for _ in range(24 * 4):  # a clock at 100 BPM takes over
        m.apply(ev("midi/clock", None, t), store)
        t += period
    m.apply(ev("/livegen/tempo/bpm", 60.0, t), store)  # someone turns the tempo knob meanwhile
    m.begin_frame(t, store)
    assert tempo.bpm == pytest.approx(100.0, abs=0.5)
    assert store.targets["tempo.bpm"] == pytest.approx(tempo.bpm)
