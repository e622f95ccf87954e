"""Stories about the parameter registry: what a fader, a switch and a scene do to the values."""

from __future__ import annotations

import math

import pytest

from livegen.params import ParameterStore, ParamRegistry, ParamSpec
from livegen.stages import default_registry


def make_store() -> ParameterStore:
    return ParameterStore(ParamRegistry([
        ParamSpec("fx.amount", default=0.0, smoothing=0.1),
        ParamSpec("fx.hard", default=0.0),
        ParamSpec("fx.count", kind="int", default=2, min=0, max=8),
        ParamSpec("fx.on", kind="bool", default=False, min=None, max=None),
        ParamSpec("fx.mode", kind="enum", default="a", choices=("a", "b", "c"), min=None, max=None),
        ParamSpec("fx.go", kind="trigger", default=False, min=None, max=None),
    ]))


def test_every_parameter_has_an_osc_address_derived_from_its_name():
    reg = default_registry()
    for spec in reg:
        assert spec.osc_address == "/livegen/" + spec.name.replace(".", "/")
        assert reg.by_address(spec.osc_address) is spec


def test_a_fader_pushed_past_its_end_is_clamped_to_the_range():
    store = make_store()
    assert store.set("fx.hard", 7.5) == 1.0
    assert store.set("fx.hard", -3) == 0.0
    assert store.set("fx.count", 3.6) == 4


def test_nan_inf_and_garbage_are_refused_with_the_parameter_name():
    store = make_store()
    for bad in (math.nan, math.inf, "loud", [1, 2], None):
        with pytest.raises(ValueError, match="fx.hard"):
            store.set("fx.hard", bad)
    assert store.get("fx.hard") == 0.0


def test_a_smoothed_fader_glides_toward_its_target_and_lands_exactly():
    store = make_store()
    store.set("fx.amount", 1.0)
    values = []
    for _ in range(200):
        store.step(1 / 60)
        values.append(store.get("fx.amount"))
    assert all(b >= a for a, b in zip(values, values[1:])), "glide must be monotonic"
    assert 0.1 < values[5] < 0.9
    assert values[-1] == 1.0


def test_switches_enums_accept_what_controllers_send():
    store = make_store()
    assert store.set("fx.on", 1) is True
    assert store.set("fx.on", "off") is False
    assert store.set("fx.mode", "c") == "c"
    assert store.set("fx.mode", 1) == "b"  # an index from a MIDI knob or a TouchOSC radio
    with pytest.raises(ValueError, match="not one of"):
        store.set("fx.mode", "z")


def test_a_trigger_fires_for_exactly_one_frame():
    store = make_store()
    store.fire("fx.go")
    first = store.snapshot(0.0)
    second = store.snapshot(0.033)
    assert first.fired("fx.go") and not second.fired("fx.go")


def test_a_snapshot_does_not_change_when_controls_move_later():
    store = make_store()
    snap = store.snapshot(0.0)
    store.set("fx.hard", 0.8)
    assert snap["fx.hard"] == 0.0
    with pytest.raises(TypeError):
        snap["fx.hard"] = 1.0  # type: ignore[index]


def test_a_scene_crossfades_over_its_fade_time():
    store = make_store()
    store.recall({"fx.hard": 1.0, "fx.mode": "b"}, fade=1.0)
    assert store.get("fx.mode") == "b"  # switches jump, continuous values fade
    store.step(0.5)
    assert store.get("fx.hard") == pytest.approx(0.5)
    store.step(0.6)
    assert store.get("fx.hard") == 1.0


def test_moving_a_fader_during_a_scene_fade_takes_it_out_of_the_fade():
    store = make_store()
    store.recall({"fx.hard": 1.0}, fade=1.0)
    store.step(0.2)
    store.set("fx.hard", 0.1)
    store.step(0.5)
    assert store.get("fx.hard") == pytest.approx(0.1)
