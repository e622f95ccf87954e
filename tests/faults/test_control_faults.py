"""Fault injection for the control side: long replays, broken control files, recordings that must
not overwrite, a MIDI system that restarts, floods on every input, hostile OSC, `livegen learn`.

Each story makes the fault happen for real (real files, real UDP sockets on 127.0.0.1, real JACK
ports on a private dummy server) and checks the one line livegen says and that the show goes on.
"""

from __future__ import annotations

import json
import logging
import math
import os
import signal
import socket
import stat
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import jack_fixture
import mido
import pytest
from disks import small_tmpfs
from waiting import wait_for

from livegen import limits
from livegen.control.bus import ControlBus, ControlEvent
from livegen.control.inputs import restart_inputs, start_inputs
from livegen.control.learn import write_mapping
from livegen.control.mapping.schema import MappingConfig
from livegen.control.midi import MidiConfig, MidiInputs
from livegen.control.osc.wire import encode_bundle, encode_message
from livegen.control.record import ShowRecorder, load_controls
from livegen.engine import make_mapper
from livegen.params import ParameterStore
from livegen.patch import PatchError, load_patch, parse_patch

jack_server = jack_fixture.jack_server
TAG = f"lgfault{os.getpid()}"


def show_log(path: Path, frames: list[float], events: list[tuple[int, float]]) -> Path:
    """A show log as livegen writes it: header, then each frame's events (``(frame, t)``) before its frame line."""
    lines = [json.dumps({"livegen_show": 1})]
    for n, t in enumerate(frames):
        lines += [json.dumps({"event": {"t": et, "source": "osc", "address": "/livegen/style/mix", "value": 0.5}})
                  for f, et in events if f == n]
        lines.append(json.dumps({"frame": n, "t": t}))
    path.write_text("\n".join(lines) + "\n")
    return path


# ---- issue 14.3: replays past the live bus cap ------------------------------------------------------

def test_a_replay_of_more_events_than_the_live_queue_holds_loses_none(tmp_path):
    """An hour of ten moving faders is over a million events: all of them must come back."""
    n = 1_000_000 + 123
    per_frame = 500
    frames = [i / 30 for i in range(n // per_frame + 2)]
    lines = [json.dumps({"livegen_show": 1})]
    k = 0
    for f, t in enumerate(frames):
        for _ in range(min(per_frame, n - k)):
            lines.append(f'{{"event":{{"t":{t},"source":"osc","address":"/livegen/style/mix","value":{k % 100}}}}}')
            k += 1
        lines.append(f'{{"frame":{f},"t":{t}}}')
    path = tmp_path / "long.jsonl"
    path.write_text("\n".join(lines) + "\n")
    replay = load_controls(path)
    assert len(replay.events) == n
    bus = ControlBus()  # the live cap: 1,000,000 queued events
    bus.schedule(replay.events)
    seen = sum(len(bus.drain(t)) for t in frames)
    assert seen == n and bus.dropped == 0


# ---- issue 14.5: broken times in show logs and MIDI files ------------------------------------------

@pytest.mark.parametrize("frames, events, message", [
    ([0.0, 0.1, 0.2], [(1, 0.05), (1, float("nan"))], "event 1: time nan is not a finite time"),
    ([0.0, 0.2, 0.1], [], "frame 2: time 0.1 is not at least"),
    ([0.0, 0.1, 0.1], [], "frame 2: time 0.1 is not at least"),
    ([0.0, float("nan"), 0.2], [], "frame 1: time nan"),
])
def test_a_show_log_with_broken_times_is_refused_naming_the_line(tmp_path, frames, events, message):
    path = show_log(tmp_path / "broken.jsonl", frames, events)
    with pytest.raises(ValueError, match=message) as err:
        load_controls(path)
    assert str(err.value).startswith(f"{path}:")


def test_shuffled_event_times_in_a_show_log_are_refused(tmp_path):
    path = tmp_path / "shuffled.jsonl"
    path.write_text("\n".join([
        json.dumps({"livegen_show": 1}),
        json.dumps({"event": {"t": 0.5, "source": "osc", "address": "/livegen/style/mix", "value": 1}}),
        json.dumps({"event": {"t": 0.2, "source": "osc", "address": "/livegen/style/mix", "value": 0}}),
        json.dumps({"frame": 0, "t": 0.6}),
    ]) + "\n")
    with pytest.raises(ValueError, match=r"shuffled.jsonl:3: .*event 1: time 0.2 is before"):
        load_controls(path)


def test_a_midi_file_with_zero_ticks_per_beat_is_refused_not_divided_by(tmp_path):
    mid = mido.MidiFile(ticks_per_beat=0)
    track = mido.MidiTrack([mido.Message("control_change", control=7, value=64, time=10)])
    mid.tracks.append(track)
    path = tmp_path / "zero.mid"
    mid.save(path)
    with pytest.raises(ValueError, match="zero.mid: ticks_per_beat is 0"):
        load_controls(path)


# ---- issue 14.6: recordings never overwrite ----------------------------------------------------------

def test_a_second_recording_with_the_same_name_never_overwrites_the_first(tmp_path):
    path = tmp_path / "show.jsonl"
    first = ShowRecorder(path, {"patch": "a"})
    first.log_frame(0, 0.0, [ControlEvent(0.0, "osc", "/livegen/style/mix", 0.3)])
    first.close()
    before = path.read_bytes()
    with pytest.raises(FileExistsError):
        ShowRecorder(path, {"patch": "b"})
    assert path.read_bytes() == before
    ShowRecorder(path, {"patch": "c"}, overwrite=True).close()  # --force says so
    assert b'"patch":"c"' in path.read_bytes()


# ---- issue 14.1: a show log on a disk that fills up during `run --record` --------------------------------

@pytest.fixture
def nearly_full_disk(tmp_path):
    """A real 64 KiB filesystem (tmpfs) with one 4 KiB page left: room for a show log's header, not its show."""
    with small_tmpfs(tmp_path / "disk", "64k") as mount:
        (mount / "ballast").write_bytes(b"\0" * 60 * 1024)
        yield mount


def test_run_keeps_playing_when_the_disk_fills_under_its_recording_and_exits_non_zero(nearly_full_disk):
    log = nearly_full_disk / "show.jsonl"
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", OMP_NUM_THREADS="1")
    res = subprocess.run([sys.executable, "-m", "livegen", "run", "--seconds", "5", "--size", "64x48",
                          "--threads", "1", "--record", str(log)], capture_output=True, text=True, timeout=240, env=env)
    assert res.returncode == 1, res.stderr
    assert "Traceback" not in res.stderr
    assert f"recording {log} not saved whole: No space left on device" in res.stderr.splitlines()[-1]
    lines = log.read_text().splitlines()
    assert json.loads(lines[0])["livegen_show"], "the header made it"


def test_sigterm_ends_a_live_show_with_its_show_log_saved_whole(tmp_path):
    """systemd or docker stopping an installation: the window closes as if Q was pressed."""
    log = tmp_path / "show.jsonl"
    # SDL would turn SIGTERM into a window close by itself; with its handlers off, livegen's own is tested.
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", OMP_NUM_THREADS="1", SDL_NO_SIGNAL_HANDLERS="1")
    proc = subprocess.Popen([sys.executable, "-m", "livegen", "run", "--seconds", "120", "--size", "64x48",
                             "--threads", "1", "--record", str(log)], stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert wait_for(lambda: log.exists() and b'"frame"' in log.read_bytes(), timeout=120)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert f"recording saved: {log}" in err and "Traceback" not in err
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert "frame" in lines[-1], "the last line is a whole frame line"


# ---- issue 14.7: the MIDI system restarts while no port is open ---------------------------------------

def test_midi_comes_back_after_the_jack_server_restarts_with_no_port_open(jack_server, monkeypatch, caplog):
    """No controller was plugged in when the server died; one is plugged in after it came back."""
    name = f"{TAG}-noport"
    monkeypatch.setenv("JACK_DEFAULT_SERVER", name)

    def start_jackd():
        # A long period: under a loaded CPU a client that misses a short deadline is zombified by JACK.
        proc = subprocess.Popen(["jackd", "-n", name, "--no-realtime", "-d", "dummy", "-p", "1024"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert wait_for(lambda: jack_fixture._running(name)), "private jackd did not start"
        return proc

    caplog.set_level(logging.INFO, logger="livegen.midi")
    backend = mido.Backend(jack_fixture.BACKEND)
    proc = start_jackd()
    bus = ControlBus()
    inputs = MidiInputs(MidiConfig(inputs=[f"{name}-pad"], rescan=0.1), bus, time.monotonic, probe_every=0.2)
    out = None
    try:
        inputs.start()
        time.sleep(0.5)
        assert inputs.ports == []
        proc.terminate()
        proc.wait()
        assert wait_for(lambda: "MIDI system" in caplog.text), inputs.status()
        proc = start_jackd()
        out = backend.open_output(f"{name}-pad", virtual=True)
        assert wait_for(lambda: len(inputs.ports) == 1), inputs.status()
        assert wait_for(lambda: (out.send(mido.Message("control_change", control=1, value=9)) or
                                 any(e.address == "midi/cc/1/1" for e in bus.drain(math.inf)))), inputs.status()
        assert "back" in caplog.text or "restarted" in caplog.text
    finally:
        inputs.close()
        if out is not None:
            out.close()
        proc.terminate()
        proc.wait()


def test_midi_named_by_a_patch_that_this_rtmidi_lacks_is_one_line_and_the_show_goes_on(registry):
    bus = ControlBus()
    inputs = start_inputs(parse_patch("[osc]\nenabled = false\n").osc, MidiConfig(api="coremidi"), [], bus,
                          time.monotonic, registry)
    try:
        assert inputs.midi is None
        assert inputs.status() == ["midi: [midi] api = 'coremidi': this python-rtmidi has no coremidi support "
                                   "(it has: alsa, jack)"]
    finally:
        inputs.close()


# ---- issue 14.8: bounded logs ---------------------------------------------------------------------------

def osc_patch(port: int = 0, extra: str = "") -> str:
    return f"[osc]\nport = {port}\n{extra}[midi]\nenabled = false\n"


def test_a_spray_of_malformed_bundles_writes_a_bounded_log(registry, caplog):
    """python-osc warns on the root logger for each odd bundle part; livegen keeps that to one line per 2 s."""
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    root = logging.getLogger()
    handler = Collect(level=logging.DEBUG)
    root.addHandler(handler)
    bus = ControlBus()
    patch = parse_patch(osc_patch(), registry=registry)
    inputs = start_inputs(patch.osc, patch.midi, [], bus, time.monotonic, registry)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        # A bundle whose one part is neither a message nor a bundle: 20 KB of junk, 200 times.
        junk = b"x" * 20_000
        bad = b"#bundle\x00" + b"\x00" * 7 + b"\x01" + struct.pack(">i", len(junk)) + junk
        for _ in range(200):
            tx.sendto(bad, (inputs.osc.host, inputs.osc.port))
        assert wait_for(lambda: inputs.osc.dispatcher.packets >= 200), inputs.status()
    finally:
        tx.close()
        inputs.close()
        root.removeHandler(handler)
    lines = [r.getMessage() for r in records]
    assert 1 <= len(lines) <= 3, lines[:5]
    assert all(len(line) < 1000 for line in lines), max(map(len, lines))


def test_distinct_long_values_are_cut_in_log_lines_and_recordings(registry, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="livegen.osc")
    bus = ControlBus()
    patch = parse_patch(osc_patch(), registry=registry)
    inputs = start_inputs(patch.osc, patch.midi, [], bus, time.monotonic, registry)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for i in range(3):
            tx.sendto(encode_message("/nobody/" + str(i) * 20_000, 1.0), (inputs.osc.host, inputs.osc.port))
        assert wait_for(lambda: inputs.osc.dispatcher.unknown >= 3), inputs.status()
    finally:
        tx.close()
        inputs.close()
    assert caplog.records and all(len(r.getMessage()) < 1000 for r in caplog.records)
    assert all(len(line) < 1000 for line in inputs.status())
    rec = ShowRecorder(tmp_path / "show.jsonl", {})
    rec.log_frame(0, 0.0, [ControlEvent(0.0, "osc", "/livegen/scene", "s" * 20_000)])
    rec.close()
    longest = max(len(line) for line in (tmp_path / "show.jsonl").read_text().splitlines())
    assert longest < limits.TEXT_VALUE_CHARS + 200


# ---- issue 14.9: [osc] recv_buffer and a failing OSC restart on hot reload -----------------------------

def test_a_receive_buffer_past_the_limit_is_a_patch_error_not_a_crash(registry):
    with pytest.raises(PatchError, match=r"recv_buffer.*65536\.\.268435456 bytes, got 2147483648"):
        parse_patch(osc_patch(extra=f"recv_buffer = {2**31}\n"), registry=registry)


def test_a_hot_reload_to_a_busy_port_keeps_the_old_osc_server_and_says_so(registry):
    busy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    busy.bind(("127.0.0.1", 0))
    bus = ControlBus()
    old = parse_patch(osc_patch(), registry=registry)
    inputs = start_inputs(old.osc, old.midi, [], bus, time.monotonic, registry)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        port = inputs.osc.port
        new = parse_patch(osc_patch(busy.getsockname()[1]), registry=registry)
        inputs = restart_inputs(inputs, new.osc, new.midi, [], time.monotonic, registry)
        assert inputs.osc is not None and inputs.osc.port == port
        assert any(f"new [osc] settings not applied (cannot listen on 127.0.0.1:{busy.getsockname()[1]}); "
                   f"still listening on 127.0.0.1:{port}" in line for line in inputs.status()), inputs.status()
        tx.sendto(encode_message("/livegen/style/mix", 0.25), ("127.0.0.1", port))
        assert wait_for(lambda: any(e.value == 0.25 for e in bus.drain(math.inf)))
    finally:
        tx.close()
        busy.close()
        inputs.close()


# ---- issue 14.10: floods never stall a frame --------------------------------------------------------------

def frame_loop(bus: ControlBus, patch_text: str, registry, seconds: float, fps: float = 30.0) -> tuple[float, int]:
    """A stand-in render loop: per frame drain (with the engine's cap), map, step; returns (worst frame gap, events)."""
    patch = parse_patch(patch_text, registry=registry)
    mapper = make_mapper(patch, registry)
    store = ParameterStore(registry)
    period = 1.0 / fps
    worst = 0.0
    applied = 0
    start = last = time.monotonic()
    while time.monotonic() - start < seconds:
        t = time.monotonic()
        worst = max(worst, t - last)
        last = t
        mapper.begin_frame(t, store)
        for ev in bus.drain(t, limits.FRAME_EVENTS_MAX):
            try:
                mapper.apply(ev, store)
            except ValueError:
                pass  # a trigger sent with a value the mapping refuses: counted by the engine, not here
            applied += 1
        store.step(period)
        time.sleep(max(0.0, period - (time.monotonic() - t)))
    return worst, applied


def test_a_flood_of_future_dated_osc_triggers_never_stalls_a_frame(registry):
    """100k triggers, all timed 0.3 s ahead, fall due together; frames keep their pace."""
    bus = ControlBus()
    patch = parse_patch(osc_patch(), registry=registry)
    inputs = start_inputs(patch.osc, patch.midi, [], bus, time.monotonic, registry)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    try:
        ntp = time.time() + 2208988800 + 0.3
        tag = struct.pack(">II", int(ntp), int((ntp % 1) * 2**32))
        msg = encode_message("/livegen/generator/jump")
        for _ in range(2000):  # 2000 bundles of 50 triggers
            tx.sendto(encode_bundle([msg] * 50, tag), (inputs.osc.host, inputs.osc.port))
            time.sleep(0.00002)
        assert wait_for(lambda: inputs.osc.dispatcher.received >= 50_000), inputs.status()
        worst, applied = frame_loop(bus, osc_patch(), registry, seconds=3.0)
    finally:
        tx.close()
        inputs.close()
    assert applied >= 50_000
    assert worst < 2 / 30, f"worst frame gap {worst * 1000:.0f} ms"


SPRAY = """
import sys, time, mido
out = mido.Backend(sys.argv[2]).open_output(sys.argv[1], virtual=True)
print("ready", flush=True)
sys.stdin.readline()
t0, sent = time.monotonic(), 0
while time.monotonic() - t0 < float(sys.argv[3]):
    for v in range(64):  # 64 messages every 10 ms: 6,400 a second
        out.send(mido.Message("control_change", control=7, value=v))
    sent += 64
    time.sleep(max(0.0, t0 + sent / 6400 - time.monotonic()))
"""


def test_five_thousand_midi_messages_a_second_never_stall_a_frame(jack_server, registry):
    """A controller in another process sprays 6,400 CCs a second while frames run at 30 fps."""
    name = f"{TAG}-flood"
    spray = subprocess.Popen([sys.executable, "-c", SPRAY, name, jack_fixture.BACKEND, "2.5"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    text = (f'[osc]\nenabled = false\n[midi]\ninputs = ["{name}"]\nrescan = 0.1\n'
            '[[mappings]]\nsource = "midi/cc/1/7"\ntarget = "style.mix"\n')
    patch = parse_patch(text, registry=registry)
    bus = ControlBus()
    inputs = start_inputs(patch.osc, patch.midi, patch.mappings, bus, time.monotonic, registry)
    midi = inputs.midi
    try:
        assert spray.stdout.readline().strip() == "ready"
        assert wait_for(lambda: len(midi.ports) == 1), inputs.status()
        spray.stdin.write("go\n")
        spray.stdin.flush()
        worst, applied = frame_loop(bus, text, registry, seconds=2.5)
        spray.wait(10)
    finally:
        spray.kill()
        spray.wait()
        inputs.close()
    assert midi.received >= 10_000, midi.status()
    assert worst < 2 / 30, f"worst frame gap {worst * 1000:.0f} ms with {midi.received} messages"


# ---- issue 14.11: livegen learn keeps the patch file as it was ----------------------------------------------

def test_learn_writes_through_a_symlink_and_keeps_the_file_mode(tmp_path, registry):
    real = tmp_path / "shows" / "club.toml"
    real.parent.mkdir()
    real.write_text('name = "club"\n')
    real.chmod(0o644)
    link = tmp_path / "club.toml"
    link.symlink_to(real)
    write_mapping(link, MappingConfig(source="midi/cc/1/7", target="style.mix"))
    assert link.is_symlink()
    assert stat.S_IMODE(real.stat().st_mode) == 0o644
    assert [m.source for m in load_patch(real, registry).mappings] == ["midi/cc/1/7"]


def test_learn_skips_osc_addresses_that_cannot_be_mapping_sources_and_learns_the_next(tmp_path, capsys):
    from livegen.control_cli import learn_main

    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    patch = tmp_path / "p.toml"
    patch.write_text(f'name = "p"\n[osc]\nport = {port}\n[midi]\nenabled = false\n')
    result: dict[str, int] = {}
    worker = threading.Thread(target=lambda: result.update(rc=learn_main(["style.mix", "--patch", str(patch),
                                                                          "--timeout", "20"])))
    worker.start()
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        deadline = time.monotonic() + 20
        while worker.is_alive() and time.monotonic() < deadline:
            for address in ("/my fader", "/fader[1]", "/knob*", "/fader1"):
                tx.sendto(encode_message(address, 0.5), ("127.0.0.1", port))
            time.sleep(0.05)
    finally:
        tx.close()
        worker.join(25)
    err = capsys.readouterr().err
    assert result.get("rc") == 0, err
    assert "ignored: '/my fader' cannot be a mapping source" in err
    assert [m.source for m in load_patch(patch).mappings] == ["/fader1"]
