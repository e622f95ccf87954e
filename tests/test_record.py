"""Stories about recording a show's controls and playing them back: JSONL show logs (crash-safe),
Standard MIDI Files (type 0 and 1, tempo map, several tracks), and the promise that a live run
replayed in lockstep gives the same parameter values frame for frame."""

from __future__ import annotations

import hashlib
import json
import os
import random
import threading
import time

import jack_fixture
import mido
import pytest

from livegen.clock import Tempo, WallClock
from livegen.control.bus import ControlBus, ControlEvent
from livegen.control.inputs import start_inputs
from livegen.control.mapping.router import Mapper
from livegen.control.osc.wire import encode_message
from livegen.control.record import ShowRecorder, load_controls, make_header
from livegen.engine import make_mapper
from livegen.params import ParameterStore
from livegen.patch import parse_patch

# The JACK server and virtual controller ports (session fixture shared by the MIDI tests).
jack_server = jack_fixture.jack_server
midi_out = jack_fixture.midi_out




def test_a_show_log_keeps_header_events_and_frame_times(tmp_path, smooth_registry):
    path = tmp_path / "show.jsonl"
    patch = parse_patch('name = "club"\nseed = 5\n', registry=smooth_registry)
    model = tmp_path / "m.safetensors"
    model.write_bytes(b"weights")
    rec = ShowRecorder(path, make_header(patch.source_path, patch.source_hash, patch.seed, models=[model],
                                         initial={"style.mix": 0.5}))
    e1 = ControlEvent(0.01, "osc", "/livegen/style/mix", 0.25)
    e2 = ControlEvent(0.02, "midi", "midi/cc/1/7", 64)
    rec.log_frame(0, 0.0, [])
    rec.log_frame(1, 1 / 30, [e1, e2])
    rec.log_frame(2, 2 / 30, [])
    rec.close()
    cf = load_controls(path)
    assert cf.events == [e1, e2] and cf.event_frames == [1, 1]
    assert cf.frame_times == [0.0, 1 / 30, 2 / 30]
    assert cf.header["seed"] == 5 and cf.header["patch_hash"] == patch.source_hash
    assert cf.header["models"][str(model)] == hashlib.sha256(b"weights").hexdigest()
    assert cf.initial == {"style.mix": 0.5}


def test_a_log_cut_by_a_crash_loads_up_to_the_last_whole_frame(tmp_path):
    path = tmp_path / "crash.jsonl"
    rec = ShowRecorder(path, {"note": "crash"})
    rec.log_frame(0, 0.0, [ControlEvent(0.0, "osc", "/livegen/style/mix", 0.1)])
    rec.log_frame(1, 0.04, [])
    rec.close()
    with path.open("a") as f:  # events of a frame that never finished, then half a line
        f.write(json.dumps({"event": ControlEvent(0.05, "osc", "/livegen/style/mix", 0.9).to_json()}) + "\n")
        f.write('{"event": {"t": 0.06, "sour')
    cf = load_controls(path)
    assert cf.frame_times == [0.0, 0.04]
    assert [e.value for e in cf.events] == [0.1]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"livegen_show": 1}\nnot json\n{"frame": 0, "t": 0.0}\n')
    with pytest.raises(ValueError, match="bad.jsonl:2"):
        load_controls(bad)


def test_the_recorder_flushes_so_a_crash_loses_at_most_a_second(tmp_path):
    path = tmp_path / "live.jsonl"
    rec = ShowRecorder(path, {})
    rec.log_frame(0, 0.0, [ControlEvent(0.0, "osc", "/a", 1)])
    time.sleep(1.05)
    rec.log_frame(1, 1.05, [])
    # Read while the recorder is still open, as after a crash.
    lines = path.read_text().splitlines()
    assert len(lines) == 4 and json.loads(lines[-1]) == {"frame": 1, "t": 1.05}
    rec.close()


def _tempo_map_file(kind: int) -> mido.MidiFile:
    """120 BPM for two beats, then 60 BPM; 480 ticks per beat."""
    mid = mido.MidiFile(type=kind, ticks_per_beat=480)
    if kind == 1:
        conductor, cc, notes = mido.MidiTrack(), mido.MidiTrack(), mido.MidiTrack()
        mid.tracks += [conductor, cc, notes]
        conductor += [mido.MetaMessage("set_tempo", tempo=500000, time=0),
                      mido.MetaMessage("set_tempo", tempo=1000000, time=960)]
        cc += [mido.Message("control_change", channel=0, control=7, value=10, time=480),
               mido.Message("control_change", channel=0, control=7, value=90, time=960)]
        notes += [mido.Message("note_on", channel=9, note=36, velocity=100, time=960),
                  mido.Message("program_change", channel=0, program=1, time=480)]
    else:
        track = mido.MidiTrack()
        mid.tracks.append(track)
        track += [mido.MetaMessage("set_tempo", tempo=500000, time=0),
                  mido.Message("control_change", channel=0, control=7, value=10, time=480),
                  mido.MetaMessage("set_tempo", tempo=1000000, time=480),
                  mido.Message("note_on", channel=9, note=36, velocity=100, time=0),
                  mido.Message("program_change", channel=0, program=1, time=480),
                  mido.Message("control_change", channel=0, control=7, value=90, time=0)]
    return mid


@pytest.mark.parametrize("kind", [0, 1])
def test_a_midi_file_replays_with_its_tempo_map(tmp_path, kind, smooth_registry):
    path = tmp_path / f"set{kind}.mid"
    _tempo_map_file(kind).save(path)
    cf = load_controls(path)
    got = [(round(e.t, 6), e.address, e.value) for e in cf.events]
    assert sorted(got) == [(0.5, "midi/cc/1/7", 10), (1.0, "midi/note/10/36", 100),
                           (2.0, "midi/cc/1/7", 90), (2.0, "midi/program/1", 1)]
    assert cf.frame_times == [] and cf.header["type"] == kind
    mapper = Mapper(smooth_registry, parse_patch('[[mappings]]\nsource = "midi/cc/1/7"\ntarget = "style.mix"\n'
                                     '[[mappings]]\nsource = "midi/note/10/36"\ntarget = "generator.jump"\n',
                                     registry=smooth_registry).mappings)
    store = ParameterStore(smooth_registry)
    actions = [a for e in cf.events for a in mapper.apply(e, store)]
    assert store.targets["style.mix"] == pytest.approx(90 / 127) and actions == [("scene", 2)]


def test_unsupported_control_files_are_refused_by_name(tmp_path):
    mid = mido.MidiFile(type=2)
    mid.tracks.append(mido.MidiTrack())
    mid.save(tmp_path / "async.mid")
    with pytest.raises(ValueError, match="type 2"):
        load_controls(tmp_path / "async.mid")
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(ValueError, match="x.txt"):
        load_controls(tmp_path / "x.txt")
    (tmp_path / "junk.mid").write_bytes(b"MThd junk")
    with pytest.raises(ValueError, match="junk.mid"):
        load_controls(tmp_path / "junk.mid")


def test_an_event_stamped_before_a_frame_is_always_drained_by_that_frame():
    """The race that would break replays: a source thread stamps an event just before the frame
    time but pushes it just after the drain. Stamping under the bus lock rules it out."""
    clock = WallClock()
    bus = ControlBus()
    stop = threading.Event()

    def source():
        while not stop.is_set():
            bus.push_stamped(clock.now, "midi", "midi/clock")

    threads = [threading.Thread(target=source) for _ in range(2)]
    for th in threads:
        th.start()
    late = 0
    try:
        for _ in range(2000):
            t = clock.now()
            bus.drain(t)
            # Whatever is still queued must belong to a later frame.
            late += sum(1 for e in bus.drain(float("inf")) if e.t <= t)
    finally:
        stop.set()
        for th in threads:
            th.join()
    assert late == 0


REPLAY_PATCH = """
[tempo]
source = "midi"
[[mappings]]
source = "midi/cc/1/7"
target = "generator.speed"
pickup = true
smoothing = 0.05
[[mappings]]
source = "/pad"
target = "fx.freeze"
curve = "toggle"
[[mappings]]
source = "/jump"
target = "generator.jump"
quantise = "beat"
"""


def _frame(mapper: Mapper, store: ParameterStore, bus: ControlBus, tempo: Tempo, t: float, dt: float):
    """The engine's order at a frame boundary."""
    mapper.begin_frame(t, store)
    events = bus.drain(t)
    for e in events:
        try:
            mapper.apply(e, store)
        except ValueError:
            pass
    store.step(dt)
    snap = store.snapshot(t, tempo.beat(t))
    fired = [name for name in store.registry.names if snap.fired(name)]
    return events, (dict(snap), fired, round(snap.beat, 12))


def test_a_live_run_replays_frame_for_frame_in_lockstep(tmp_path, midi_out, smooth_registry):
    """OSC over UDP and MIDI (CC + clock) over JACK arrive from other threads while frames run on
    the wall clock; the lockstep replay of the recorded log must give identical values per frame."""
    port_name = f"lgrec{os.getpid()}"
    out = midi_out(port_name)
    patch = parse_patch(f'[osc]\nport = 0\n[midi]\ninputs = ["{port_name}"]\n' + REPLAY_PATCH, registry=smooth_registry)
    clock = WallClock()
    bus = ControlBus()
    inputs = start_inputs(patch.osc, patch.midi, patch.mappings, bus, clock.now, smooth_registry)
    tempo = Tempo(patch.tempo.bpm)
    mapper = make_mapper(patch, smooth_registry, tempo)
    store = ParameterStore(smooth_registry)
    path = tmp_path / "live.jsonl"
    rec = ShowRecorder(path, make_header(patch.source_path, patch.source_hash, patch.seed))
    live = []
    stop = threading.Event()

    def performer():
        import socket

        rnd = random.Random(11)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        i = 0
        while not stop.is_set():
            i += 1
            out.send(mido.Message("clock"))
            if i % 3 == 0:
                out.send(mido.Message("control_change", channel=0, control=7, value=rnd.randint(0, 127)))
            if i % 5 == 0:
                s.sendto(encode_message("/livegen/style/mix", rnd.random()), ("127.0.0.1", inputs.osc.port))
            if i % 17 == 0:
                s.sendto(encode_message("/pad", float(i % 2)), ("127.0.0.1", inputs.osc.port))
            if i % 23 == 0:
                s.sendto(encode_message("/jump", 1.0), ("127.0.0.1", inputs.osc.port))
            time.sleep(0.01)
        s.close()

    th = threading.Thread(target=performer)
    try:
        assert inputs.midi is not None
        deadline = time.monotonic() + 15
        while not inputs.midi.ports and time.monotonic() < deadline:
            time.sleep(0.02)
        th.start()
        prev = 0.0
        for n in range(120):
            t = clock.now()
            events, values = _frame(mapper, store, bus, tempo, t, t - prev if n else t)
            rec.log_frame(n, t, events)
            live.append(values)
            prev = t
            time.sleep(0.012)
    finally:
        stop.set()
        if th.is_alive():
            th.join()
        rec.close()
        inputs.close()

    cf = load_controls(path)
    assert len(cf.events) > 100 and {e.source for e in cf.events} == {"osc", "midi"}
    rbus = ControlBus()
    for e in cf.events:
        rbus.push(e)
    rtempo = Tempo(patch.tempo.bpm)
    rmapper = make_mapper(patch, smooth_registry, rtempo)
    rstore = ParameterStore(smooth_registry)
    replay = []
    prev = 0.0
    for n, t in enumerate(cf.frame_times):
        events, values = _frame(rmapper, rstore, rbus, rtempo, t, t - prev if n else t)
        assert events == [e for e, f in zip(cf.events, cf.event_frames) if f == n]
        replay.append(values)
        prev = t
    assert replay == live
    assert any(v[1] for v in live)  # quantised jumps fired during the run
    assert len({v[0]["generator.speed"] for v in live}) > 5  # the fader moved the parameter
