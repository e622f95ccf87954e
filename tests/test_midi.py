"""Stories about playing livegen from a MIDI controller: real virtual ports on a JACK server
(tests/jack_fixture.py), the real input scan thread, the bus, mapper and parameter store.
Covers CC, 14-bit CC, notes, program change, pitch bend, clock -> BPM, a controller unplugged
and plugged back in, and MIDI learn writing into a patch file."""

from __future__ import annotations

import os
import subprocess
import threading
import time

import jack_fixture
import mido
import pytest
import rtmidi
from waiting import wait_for

from livegen.clock import Tempo
from livegen.control.bus import ControlBus
from livegen.control.echo import Echo
from livegen.control.inputs import start_inputs
from livegen.control.learn import MidiLearn, write_mapping
from livegen.control.mapping.schema import MappingConfig
from livegen.control.midi import MidiConfig, MidiInputs, abandon
from livegen.control.midiout import MidiFeedback
from livegen.engine import make_mapper
from livegen.params import ParameterStore, ParamRegistry
from livegen.patch import load_patch, parse_patch
from livegen.stages import default_registry

# The JACK server and virtual controller ports (session fixture shared by the MIDI tests).
jack_server = jack_fixture.jack_server
midi_out = jack_fixture.midi_out

TAG = f"lgtest{os.getpid()}"





class Rig:
    """Controller port -> livegen MIDI input -> bus -> mapper -> store."""

    def __init__(self, registry: ParamRegistry, patch_text: str, port_name: str, tempo: Tempo | None = None) -> None:
        self.reg = registry
        self.patch = parse_patch(f'[osc]\nenabled = false\n[midi]\ninputs = ["{port_name}"]\nrescan = 0.1\n'
                                 + patch_text, registry=self.reg)
        self.bus = ControlBus()
        t0 = time.monotonic()
        self.now = lambda: time.monotonic() - t0
        self.inputs = start_inputs(self.patch.osc, self.patch.midi, self.patch.mappings, self.bus, self.now, self.reg)
        self.midi = self.inputs.midi
        self.tempo = tempo
        self.mapper = make_mapper(self.patch, self.reg, tempo)
        self.store = ParameterStore(self.reg)
        self.actions: list = []
        self.base = 0

    def frame(self) -> list:
        t = self.now()
        self.actions += self.mapper.begin_frame(t, self.store)
        events = self.bus.drain(t)
        for e in events:
            self.actions += self.mapper.apply(e, self.store)
        return events

    def connect(self, out) -> None:
        """Wait until the port is open and messages really flow.

        JACK applies a new connection at a later process cycle than the open call returns, so a
        message sent right after the port shows up can still be lost; a controller does not care,
        a test counting messages does.
        """
        assert wait_for(lambda: len(self.midi.ports) == 1), self.inputs.status()
        assert wait_for(lambda: (out.send(mido.Message("control_change", channel=15, control=127, value=0)) or
                                 self.midi.received > 0)), self.inputs.status()
        time.sleep(0.05)
        self.bus.drain(float("inf"))
        self.base = self.midi.received

    def settle(self, n: int) -> list:
        """Frames until n messages arrived since connect(); returns the events of that frame."""
        assert wait_for(lambda: self.midi.received >= self.base + n), self.inputs.status()
        return self.frame()


@pytest.fixture
def rig(request, registry):
    rigs = []

    def make(*args, **kw):
        r = Rig(registry, *args, **kw)
        rigs.append(r)
        return r

    yield make
    for r in rigs:
        r.inputs.close()


MAPPINGS = """
[[mappings]]
source = "midi/cc/1/7"
target = "style.mix"
[[mappings]]
source = "midi/cc14/2/1"
target = "generator.speed"
[[mappings]]
source = "midi/note/10/36"
target = "generator.jump"
[[mappings]]
source = "midi/note/10/38"
target = "fx.freeze"
[[mappings]]
source = "midi/pitchbend/1"
target = "fx.bend"
"""


def test_a_controller_moves_parameters_with_cc_14bit_notes_pitch_bend_and_program_change(midi_out, rig):
    out = midi_out(f"{TAG}-ctl")
    r = rig(MAPPINGS, f"{TAG}-ctl")
    r.connect(out)
    out.send(mido.Message("control_change", channel=0, control=7, value=127))
    out.send(mido.Message("control_change", channel=1, control=1, value=32))  # 14-bit MSB
    out.send(mido.Message("control_change", channel=1, control=33, value=64))  # 14-bit LSB
    out.send(mido.Message("note_on", channel=9, note=36, velocity=100))
    out.send(mido.Message("note_on", channel=9, note=38, velocity=90))
    out.send(mido.Message("pitchwheel", channel=0, pitch=-8192))
    out.send(mido.Message("program_change", channel=0, program=2))
    events = r.settle(7)
    assert [e.source for e in events] == ["midi"] * 7
    assert all(a.t <= b.t for a, b in zip(events, events[1:]))  # stamped on arrival, in order
    assert r.store.targets["style.mix"] == 1.0
    assert r.store.targets["generator.speed"] == pytest.approx((32 * 128 + 64) / 16383 * 4.0)
    assert r.store.snapshot(0.0).fired("generator.jump")
    assert r.store.targets["fx.freeze"] is True
    assert r.store.targets["fx.bend"] == -1.0
    assert r.actions == [("scene", 3)]
    out.send(mido.Message("note_off", channel=9, note=38))
    r.settle(8)
    assert r.store.targets["fx.freeze"] is False


def test_midi_clock_from_a_real_port_gives_the_tempo(midi_out, rig):
    """Arrival stamps on a loaded machine jitter by milliseconds: a looser check than the exact one."""
    out = midi_out(f"{TAG}-clock")
    tempo = Tempo(100.0)
    r = rig('[tempo]\nsource = "midi"\n', f"{TAG}-clock", tempo=tempo)
    r.connect(out)
    period = 60.0 / 120.0 / 24
    n = 24 * 8
    out.send(mido.Message("start"))
    t0 = time.monotonic() + 0.05
    for i in range(n):  # scheduled against absolute times so sleep overshoot does not drift the tempo
        delay = t0 + i * period - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        out.send(mido.Message("clock"))
    r.settle(n + 1)
    assert tempo.bpm == pytest.approx(120.0, abs=3.0)
    assert r.mapper.midi_clock is not None and r.mapper.midi_clock.present


def test_a_controller_plugged_in_late_or_unplugged_and_replugged_keeps_working(midi_out, rig):
    name = f"{TAG}-replug"
    r = rig(MAPPINGS, name)  # the show starts before the controller is there
    assert r.midi.ports == [] and "waiting for" in r.inputs.status()[0]
    out = midi_out(name)
    r.connect(out)
    out.send(mido.Message("control_change", channel=0, control=7, value=10))
    r.settle(1)
    out.close()  # unplug
    assert wait_for(lambda: r.midi.ports == []), r.inputs.status()
    out = midi_out(name)  # plug back in
    r.connect(out)
    out.send(mido.Message("control_change", channel=0, control=7, value=127))
    r.settle(1)
    assert r.store.targets["style.mix"] == 1.0
    assert r.midi.reconnects == 1


def test_midi_learn_writes_the_moved_control_into_the_patch_keeping_the_rest(midi_out, rig, tmp_path):
    name = f"{TAG}-learn"
    out = midi_out(name)
    r = rig("", name)
    r.connect(out)
    patch_file = tmp_path / "show.toml"
    patch_file.write_text('# my show\nname = "club"  # keep me\n\n[[mappings]]\nsource = "midi/cc/1/20"\n'
                          'target = "style.mix"\n\n[[mappings]]\nsource = "midi/cc/1/21"\ntarget = "fx.bend"\n')
    learn = MidiLearn(r.reg)
    learn.begin("generator.speed", pickup=True)
    for v in (60, 61, 62):
        out.send(mido.Message("control_change", channel=0, control=20, value=v))
    mapping = None
    events = r.settle(3)
    for e in events:
        mapping = mapping or learn.offer(e)
    assert mapping is not None and mapping.source == "midi/cc/1/20" and mapping.pickup
    assert not learn.active
    replaced = write_mapping(patch_file, mapping, lambda text, path: parse_patch(text, path, r.reg))
    assert replaced == 1  # the knob was rebound from style.mix
    text = patch_file.read_text()
    assert text.startswith('# my show\nname = "club"  # keep me\n')
    patch = load_patch(patch_file, r.reg)
    assert [(m.source, m.target, m.pickup) for m in patch.mappings] == [
        ("midi/cc/1/21", "fx.bend", False), ("midi/cc/1/20", "generator.speed", True)]


def test_learn_from_the_terminal_maps_a_14bit_control(midi_out, tmp_path, capsys):
    from livegen.control_cli import learn_main as main

    name = f"{TAG}-cli"
    out = midi_out(name)
    patch_file = tmp_path / "learn.toml"
    patch_file.write_text(f'[osc]\nenabled = false\n[midi]\ninputs = ["{name}"]\n')
    result = {}

    def terminal():
        try:
            result["rc"] = main(["generator.speed", "--patch", str(patch_file), "--timeout", "60", "--no-osc"])
        except BaseException as e:  # surface it in the assertion below
            result["rc"] = repr(e)

    th = threading.Thread(target=terminal)
    th.start()
    while th.is_alive():
        out.send(mido.Message("control_change", channel=3, control=2, value=64))
        out.send(mido.Message("control_change", channel=3, control=34, value=5))
        th.join(0.2)
    assert result["rc"] == 0, capsys.readouterr().err
    mappings = load_patch(patch_file).mappings
    assert [(m.source, m.target) for m in mappings] == [("midi/cc14/4/2", "generator.speed")], \
        capsys.readouterr()


def start_private_jackd(name: str) -> subprocess.Popen:
    """A JACK dummy server of this name, for stories that kill it and start it again."""
    # A long period: under a loaded CPU a client that misses a short deadline is zombified by JACK.
    proc = subprocess.Popen(["jackd", "-n", name, "--no-realtime", "-d", "dummy", "-p", "1024"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert wait_for(lambda: jack_fixture._running(name)), "private jackd did not start"
    return proc


def test_inputs_come_back_after_the_jack_server_itself_restarts(jack_server, monkeypatch):
    """A private JACK server is killed and started again mid-show; livegen must neither crash nor
    stay deaf. (A client of a dead server must never be closed: libjack has freed it.)"""
    name = f"{TAG}-restart"
    monkeypatch.setenv("JACK_DEFAULT_SERVER", name)
    backend = mido.Backend(jack_fixture.BACKEND)
    proc = start_private_jackd(name)
    bus = ControlBus()
    inputs = MidiInputs(MidiConfig(inputs=[name], rescan=0.1), bus, time.monotonic, probe_every=0.2)
    out = None
    try:
        out = backend.open_output(name, virtual=True)
        inputs.start()
        assert wait_for(lambda: len(inputs.ports) == 1), inputs.status()
        proc.terminate()
        proc.wait()
        abandon(out)  # the stand-in controller belonged to the dead server too
        out = None
        assert wait_for(lambda: inputs.ports == []), inputs.status()
        assert "MIDI system" in inputs.status()[0]
        proc = start_private_jackd(name)
        out = backend.open_output(name, virtual=True)
        assert wait_for(lambda: len(inputs.ports) == 1), inputs.status()
        assert wait_for(lambda: (out.send(mido.Message("control_change", control=1, value=9)) or
                                 any(e.address == "midi/cc/1/1" for e in bus.drain(float("inf"))))), \
            inputs.status()
    finally:
        inputs.close()
        if out is not None:
            out.close()
        proc.terminate()
        proc.wait()


@pytest.mark.parametrize("rescan", [0.1, 5.0])  # looks during the outage / only after the new server is up
def test_feedback_to_the_controller_comes_back_after_the_jack_server_restarts(jack_server, monkeypatch, rescan):
    name = f"{TAG}-fb{int(rescan * 10)}"
    monkeypatch.setenv("JACK_DEFAULT_SERVER", name)
    backend = mido.Backend(jack_fixture.BACKEND)
    proc = start_private_jackd(name)
    registry = default_registry()
    echo = Echo(registry, [MappingConfig(source="midi/cc/1/7", target="master.fade")])
    store = ParameterStore(registry)
    controller = backend.open_input(f"{name} pads", virtual=True)  # what the device receives
    feedback = MidiFeedback(echo, lambda port: name in port, rtmidi.API_UNIX_JACK, rescan=rescan).start()

    def fader_follows(value: float) -> bool:
        store.set("master.fade", value, immediate=True)
        feedback.send(store.snapshot(0.0), "")
        return any(m.type == "control_change" and m.control == 7 and m.value == round(value * 127)
                   for m in controller.iter_pending())

    try:
        assert wait_for(lambda: fader_follows(0.25) or fader_follows(0.5)), feedback.status()
        proc.terminate()
        proc.wait()
        abandon(controller)
        proc = start_private_jackd(name)
        controller = backend.open_input(f"{name} pads", virtual=True)
        assert wait_for(lambda: fader_follows(0.25) or fader_follows(0.5), timeout=20), feedback.status()
        assert "scan failed" not in feedback.status()[0]
    finally:
        feedback.close()
        controller.close()
        proc.terminate()
        proc.wait()


def test_with_no_jack_server_the_show_says_so_once_and_libjack_keeps_quiet(registry, monkeypatch, capfd, caplog):
    """libjack would print five lines to stderr at every look for a server."""
    monkeypatch.setenv("JACK_DEFAULT_SERVER", f"{TAG}-nobody")
    monkeypatch.setenv("JACK_NO_START_SERVER", "1")
    patch = parse_patch('[osc]\nenabled = false\n[midi]\napi = "jack"\nrescan = 0.05\n', registry=registry)
    with caplog.at_level("DEBUG", logger="livegen.midi"):
        inputs = start_inputs(patch.osc, patch.midi, [], ControlBus(), time.monotonic, registry)
        midi = inputs.midi
        try:
            midi.scan()
            midi.scan()
        finally:
            inputs.close()
    assert "Cannot connect to server" not in capfd.readouterr().err
    said = [r.getMessage() for r in caplog.records]
    assert sum("no MIDI system (jack)" in m for m in said) == 1, said
    assert "JACK server not running" in midi.error, "rtmidi's reason is kept for the HUD"
