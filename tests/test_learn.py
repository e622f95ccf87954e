"""Stories about `livegen learn` meeting a first-hour user: no MIDI system at all, a scene pad,
and a pad that must light up; real JACK ports (tests/jack_fixture.py) and real patch files."""

from __future__ import annotations

import os
import socket
import threading
import time

import jack_fixture
import mido
import torch
from waiting import wait_for

from livegen import paths
from livegen.clock import WallClock
from livegen.control.bus import ControlEvent
from livegen.control.inputs import start_inputs
from livegen.control.learn import MidiLearn
from livegen.control.osc.wire import encode_message
from livegen.control_cli import learn_main
from livegen.engine import Engine
from livegen.live import LiveRunner
from livegen.patch import load_patch, parse_patch
from livegen.sinks.window import WindowSink

jack_server = jack_fixture.jack_server
midi_out = jack_fixture.midi_out
TAG = f"lglearn{os.getpid()}"


def test_learn_with_no_midi_system_and_no_osc_says_so_instead_of_waiting(tmp_path, monkeypatch, capsys):
    """No JACK server of that name runs: learn must not ask the user to move a control."""
    monkeypatch.setenv("JACK_DEFAULT_SERVER", f"{TAG}-nobody")
    monkeypatch.setenv("JACK_NO_START_SERVER", "1")
    patch = tmp_path / "p.toml"
    patch.write_text('name = "p"\n[osc]\nenabled = false\n[midi]\napi = "jack"\n')
    t0 = time.monotonic()
    assert learn_main(["style.mix", "--patch", str(patch), "--timeout", "30"]) == 1
    err = capsys.readouterr().err
    assert "nothing to learn from: no MIDI system" in err and "Move a" not in err
    assert time.monotonic() - t0 < 10


def test_learning_a_scene_pad_asks_which_scene_and_writes_a_mapping_that_works(midi_out, tmp_path, capsys):
    name = f"{TAG}-pad"
    out = midi_out(name)
    patch = tmp_path / "show.toml"
    patch.write_text(f'name = "show"\n[osc]\nenabled = false\n[midi]\ninputs = ["{name}"]\n'
                     '[scenes.calm]\nvalues = { "compose.amount" = 0.2 }\n')
    assert learn_main(["scene", "--patch", str(patch)]) == 2
    assert "a scene pad needs the scene it recalls: learn scene:NAME" in capsys.readouterr().err
    result: dict[str, object] = {}
    worker = threading.Thread(target=lambda: result.update(
        rc=learn_main(["scene:calm", "--patch", str(patch), "--timeout", "30"])))
    worker.start()
    while worker.is_alive():
        out.send(mido.Message("note_on", channel=9, note=36, velocity=100))
        out.send(mido.Message("note_off", channel=9, note=36))
        worker.join(0.2)
    assert result["rc"] == 0, capsys.readouterr().err
    [mapping] = load_patch(patch).mappings
    assert (mapping.source, mapping.target, mapping.arg) == ("midi/note/10/36", "scene", "calm")


def test_learning_plain_scene_from_a_pad_is_skipped_with_a_reason(registry):
    learn = MidiLearn(registry)
    learn.begin("scene")
    assert learn.offer(ControlEvent(0.0, "midi", "midi/note/10/36", 100)) is None
    assert "a scene pad needs the scene it recalls" in learn.skipped
    mapping = learn.offer(ControlEvent(0.1, "midi", "midi/program/1", 3))
    assert mapping is not None and mapping.source == "midi/program/1"


def test_the_window_learn_prompt_asks_only_for_what_is_listening(midi_out, monkeypatch):
    """L in the window, then a parameter: the prompt follows the inputs as they come and go."""
    def runner_for(text: str) -> tuple[LiveRunner, object, WindowSink]:
        patch = parse_patch(text)
        engine = Engine(patch, torch.device("cpu"), (32, 24), camera=lambda t: (None, 0))
        inputs = start_inputs(patch.osc, patch.midi, patch.mappings, engine.bus, time.monotonic, engine.registry)
        window = WindowSink((32, 24), operator=False)
        runner = LiveRunner(engine, window, WallClock(), controls=inputs)
        for cmd in ("learn", "enter"):
            runner.learn.command(cmd)
        return runner, inputs, window

    name = f"{TAG}-prompt"
    base = f'name = "p"\n[midi]\ninputs = ["{name}"]\nrescan = 0.1\n'
    runner, inputs, window = runner_for(base + "[osc]\nenabled = false\n")
    try:
        [line] = runner.learn.hud_lines()
        assert line.startswith("MIDI learn — nothing to learn from yet (midi (jack): waiting for ")
        assert "OSC is off): plug in a controller for tempo.bpm" in line
        midi_out(name)  # the controller is plugged in
        assert wait_for(lambda: inputs.midi.ports)
        assert runner.learn.hud_lines() == ["MIDI learn — move a control for tempo.bpm (Esc cancels)"]
    finally:
        inputs.close()
        window.close()

    monkeypatch.setenv("JACK_DEFAULT_SERVER", f"{TAG}-nobody")  # no MIDI system at all, OSC on
    runner, inputs, window = runner_for(base.replace(name, "nothing") + '[osc]\nport = 0\n')
    try:
        [line] = runner.learn.hud_lines()
        assert line.startswith(f"MIDI learn — send OSC to 127.0.0.1:{inputs.osc.port} (midi (jack): no MIDI system")
    finally:
        inputs.close()
        window.close()


def test_learn_into_a_patch_named_without_a_path_writes_that_patch(tmp_path, monkeypatch, capsys):
    """`livegen learn style.mix --patch myshow` from any folder, taught by an OSC fader."""
    shipped = tmp_path / "patches"
    shipped.mkdir()
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    (shipped / "myshow.toml").write_text(f'name = "myshow"\n[midi]\nenabled = false\n[osc]\nport = {port}\n')
    monkeypatch.setattr(paths, "PATCHES", shipped)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result: dict[str, object] = {}
    worker = threading.Thread(target=lambda: result.update(
        rc=learn_main(["style.mix", "--patch", "myshow", "--timeout", "30"])))
    worker.start()
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        value = 0.0
        while worker.is_alive():
            value = (value + 0.1) % 1.0
            tx.sendto(encode_message("/td/fader1", value), ("127.0.0.1", port))
            worker.join(0.1)
    finally:
        tx.close()
    assert result["rc"] == 0, capsys.readouterr().err
    [mapping] = load_patch(shipped / "myshow.toml").mappings
    assert (mapping.source, mapping.target) == ("/td/fader1", "style.mix")
    assert list(elsewhere.iterdir()) == []
