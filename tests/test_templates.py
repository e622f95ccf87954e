"""Stories about the shipped controller templates: a VJ plugs in a nanoKONTROL2, an APC mini mk2,
a MIDImix or a Launch Control XL, loads its patch, and every control does something.

The sweep moves every mapped fader and knob through its whole physical range (0..127, as the
factory map says each sends) through the real mapper and parameter store, and checks the target
crosses its whole range, monotonically; buttons and pads are pressed and must toggle, fire, or
recall a scene of the patch. Feedback is checked both ways: the value echoed to a control is
where moving it would have put the parameter. One story runs a template on a real JACK port and
reads the LED messages the controller would get.
"""

from __future__ import annotations

import os
import time

import jack_fixture
import mido
import pytest
from waiting import wait_for

from livegen import paths
from livegen.clock import Tempo
from livegen.control.bus import ControlBus, ControlEvent
from livegen.control.echo import Echo
from livegen.control.inputs import start_inputs
from livegen.control.midikinds import midi_address, parse_midi_source, source_range
from livegen.engine import make_mapper
from livegen.params import ParameterStore
from livegen.patch import load_patch, parse_patch
from livegen.stages import default_registry

jack_server = jack_fixture.jack_server
TEMPLATES = ["nanokontrol2", "apc_mini_mk2", "midimix", "launch_control_xl"]


def template(name: str):
    return load_patch(paths.ROOT / "patches" / f"{name}.toml", default_registry())


def press(mapper, store, source: str, t: float) -> list:
    """One press and release of a button or pad (note on/off, or CC 127/0)."""
    src = parse_midi_source(source)
    kind = "cc" if src.kind == "cc" else "note"
    address = midi_address(kind, src.channel, src.number)
    actions = mapper.apply(ControlEvent(t, "midi", address, 127), store)
    actions += mapper.apply(ControlEvent(t, "midi", address, 0), store)
    return actions


@pytest.mark.parametrize("name", TEMPLATES)
def test_every_control_of_the_template_does_something_across_its_whole_range(name):
    patch = template(name)
    registry = default_registry()
    assert patch.style.model and patch.generator.model, "a template plays the default models"
    assert (paths.ROOT / patch.style.model).exists() and (paths.ROOT / patch.generator.model).exists()
    assert patch.midi.feedback, "LED feedback is on"
    tempo = Tempo(patch.tempo.bpm)
    mapper = make_mapper(patch, registry, tempo)
    store = ParameterStore(registry)
    echo = Echo(registry, patch.mappings)
    checked = 0
    for m in patch.mappings:
        src = parse_midi_source(m.source)
        spec = registry[m.target] if m.target in registry else None
        if m.target == "scene":
            actions = press(mapper, store, m.source, 0.0)
            assert actions == [("scene", m.arg)] and m.arg in patch.scenes, (m.source, actions)
        elif m.target == "record":
            assert press(mapper, store, m.source, 0.0) == [("record", "toggle")]
        elif spec is not None and spec.kind == "trigger":
            store.snapshot(0.0)
            press(mapper, store, m.source, 0.0)
            mapper.begin_frame(10.0, store)  # a beat-quantised jump waits for its beat
            assert store.snapshot(10.0).fired(m.target), m.source
        elif m.curve == "toggle":
            before = store.targets[m.target]
            press(mapper, store, m.source, 0.0)
            assert store.targets[m.target] != before, m.source
            press(mapper, store, m.source, 0.0)
            assert store.targets[m.target] == before, m.source
        else:
            assert src.kind == "cc", f"{m.source}: faders and knobs are CCs on these controllers"
            lo, hi = source_range(m.source)
            assert (lo, hi) == (0.0, 127.0)
            address = midi_address("cc", src.channel, src.number)
            seen = []
            for raw in [*range(128), *range(127, -1, -1)]:  # all the way up, then down
                mapper.apply(ControlEvent(0.0, "midi", address, raw), store)
                value = store.targets[m.target]
                seen.append(spec.choices.index(value) if spec.kind == "enum" else float(value))
                if raw in (0, 63, 127) and not m.pickup:
                    # Feedback (LED rings) puts the control where it would set this value.
                    back = echo.values({m.target: store.targets[m.target]}, "")[m.source]
                    assert mapper_value(mapper, store, m, back) == pytest.approx(seen[-1], abs=1e-6), m.source
            up, down = seen[:128], seen[128:]
            top = len(spec.choices) - 1 if spec.kind == "enum" else (m.out_range or (spec.min, spec.max))[1]
            bottom = 0 if spec.kind == "enum" else (m.out_range or (spec.min, spec.max))[0]
            assert max(up) == pytest.approx(top) and down[-1] == pytest.approx(bottom), (m.source, up[-1], down[-1])
            # With soft takeover the control does nothing until it meets the value (within 2 %), then follows.
            engaged = up[next(i for i, v in enumerate(up) if v != up[0]):]
            assert all(b >= a for a, b in zip(engaged, engaged[1:])), f"{m.source} is not monotonic going up"
            assert all(b <= a for a, b in zip(down, down[1:])), f"{m.source} is not monotonic going down"
        checked += 1
    assert checked == len(patch.mappings) >= 20


def mapper_value(mapper, store, m, raw: float):
    """The value moving control ``m`` to ``raw`` sets, in the sweep's numeric terms (store left as it was)."""
    spec = store.registry[m.target]
    old = store.targets[m.target]
    src = parse_midi_source(m.source)
    mapper.apply(ControlEvent(0.0, "midi", midi_address("cc", src.channel, src.number), round(raw)), store)
    value = store.targets[m.target]
    store.set(m.target, old, immediate=True)
    return spec.choices.index(value) if spec.kind == "enum" else float(value)


def test_the_fixed_midi_controller_patch_has_plain_knobs_and_loads_the_models():
    patch = load_patch(paths.ROOT / "patches" / "midi_controller.toml", default_registry())
    assert patch.style.model and patch.generator.model
    knobs = {m.source: m for m in patch.mappings if m.source in ("midi/cc/1/19", "midi/cc/1/20")}
    assert all(m.encoder == "absolute" for m in knobs.values()) and len(knobs) == 2
    assert not any(m.source.startswith("midi/cc14/") for m in patch.mappings)


def test_the_touchdesigner_patch_loads_the_models_and_sends_numbers():
    patch = load_patch(paths.ROOT / "patches" / "touchdesigner.toml", default_registry())
    assert patch.style.model and patch.generator.model and patch.osc.enums_as_numbers


def test_osc_tempo_source_lets_a_sender_set_the_beat_and_fixed_refuses_it():
    registry = default_registry()
    for source, works in (("osc", True), ("fixed", False)):
        patch = parse_patch(f'[tempo]\nbpm = 124\nsource = "{source}"\n', registry=registry)
        tempo = Tempo(patch.tempo.bpm)
        mapper = make_mapper(patch, registry, tempo)
        store = ParameterStore(registry)
        event = ControlEvent(2.0, "osc", "/livegen/tempo/beat", [16.0, 130.0])
        if works:
            mapper.apply(event, store)
            assert tempo.beat(2.0) == pytest.approx(16.0) and tempo.bpm == 130.0
        else:
            with pytest.raises(ValueError, match='only with \\[tempo\\] source = "osc"'):
                mapper.apply(event, store)


def test_a_template_lights_the_active_scene_pad_and_echoes_a_recalled_value_on_a_real_port(jack_server):
    """The Launch Control XL template on a stand-in controller port: LEDs for the scene, fader values back."""
    name = f"lgtpl{os.getpid()}"
    backend = mido.Backend(jack_fixture.BACKEND)
    controller_in = backend.open_input(f"{name} Launch Control XL in", virtual=True)  # what the device receives
    controller_out = backend.open_output(f"{name} Launch Control XL out", virtual=True)  # what it sends
    text = (paths.ROOT / "patches" / "launch_control_xl.toml").read_text()
    text = text.replace('inputs = ["Launch Control XL"]', f'inputs = ["{name}"]\nrescan = 0.1')
    registry = default_registry()
    patch = parse_patch(text + '\n[osc]\nenabled = false\n', registry=registry)
    bus = ControlBus()
    inputs = start_inputs(patch.osc, patch.midi, patch.mappings, bus, time.monotonic, registry)
    got: list[mido.Message] = []
    try:
        assert wait_for(lambda: inputs.midi_out.ports != []), inputs.status()
        store = ParameterStore(registry)
        store.recall(patch.scenes["drive"].values, 0.0)
        store.step(0.1)

        def frame_until(cond) -> bool:
            def step():
                inputs.feedback(store.snapshot(time.monotonic()), {"scene": "drive"})
                got.extend(controller_in.iter_pending())
                return cond()
            return wait_for(step)

        def lit(note: int, velocity: int) -> bool:
            return any(m.type == "note_on" and m.channel == 8 and m.note == note and m.velocity == velocity
                       for m in got)

        assert frame_until(lambda: lit(42, 60) and lit(41, 12)), got[:10]  # "drive" green, "calm" off
        amount = patch.scenes["drive"].values["compose.amount"]
        assert any(m.type == "control_change" and m.control == 77 and m.value == round(amount * 127)
                   for m in got), "fader 1 (compose.amount) echoed for a motor fader / LED"

        # The hand is on fader 1: a value set elsewhere meanwhile is not pushed at it ...
        controller_out.send(mido.Message("control_change", channel=8, control=77, value=20))
        assert wait_for(lambda: inputs.midi.touched.get("midi/cc/9/77", 0) > time.monotonic() - 0.3)
        got.clear()
        store.set("compose.amount", 0.9, immediate=True)
        frame_until(lambda: time.monotonic() - inputs.midi.touched["midi/cc/9/77"] > 0.3)
        assert not any(m.type == "control_change" and m.control == 77 for m in got), got
        # ... and once it lets go, the fader is sent where the show is.
        assert frame_until(lambda: any(m.type == "control_change" and m.control == 77 and m.value == 114
                                       for m in got)), got
    finally:
        inputs.close()
        controller_in.close()
        controller_out.close()
