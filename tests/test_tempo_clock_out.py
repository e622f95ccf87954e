"""MIDI clock out: a drum machine on a real JACK MIDI port follows livegen's tempo, bar for bar."""

from __future__ import annotations

import os
import threading
import time

import jack_fixture
import mido
import torch
from waiting import wait_for

from livegen.engine import Engine
from livegen.patch import parse_patch
from livegen.rig import RigTempo

jack_server = jack_fixture.jack_server
DRUM_MACHINE = f"drum machine {os.getpid()}"

PATCH = """
name = "clock out"
[output]
size = "64x48"
[midi]
api = "jack"
[tempo]
bpm = 120
clock_out = "{port}"
"""


def test_a_drum_machine_hears_start_on_a_bar_line_24_ticks_a_beat_the_new_tempo_and_stop(jack_server):
    backend = mido.Backend(jack_fixture.BACKEND)
    heard: list[tuple[float, str]] = []
    lock = threading.Lock()
    t0 = time.monotonic() - 0.7  # the show is 1.4 beats in: Start waits for the bar line at beat 4
    now = lambda: time.monotonic() - t0  # noqa: E731

    def got(msg: mido.Message) -> None:
        with lock:
            heard.append((now(), msg.type))

    # The drum machine's MIDI in is there first; the patch names it, so it hears Start.
    drum_machine = backend.open_input(DRUM_MACHINE, virtual=True, callback=got)
    engine = Engine(parse_patch(PATCH.format(port=DRUM_MACHINE)), torch.device("cpu"), (64, 48),
                    camera=lambda t: (None, 0))
    rig = RigTempo(engine, now)
    try:
        assert rig.clock_out is not None, rig.status()
        assert wait_for(lambda: any(kind == "clock" for _, kind in heard), timeout=5)
        time.sleep(1.5)
        switched = now()
        engine.tempo.set_bpm(150.0, switched)
        time.sleep(2.0)
        status = rig.status()
    finally:
        rig.close()
        wait_for(lambda: any(kind == "stop" for _, kind in heard), timeout=3)
        drum_machine.close()
    with lock:
        kinds = [k for _, k in heard]
        ticks = [t for t, k in heard if k == "clock"]
    assert kinds[0] == "start" and kinds[1] == "clock", kinds[:3]
    assert kinds[-1] == "stop"
    first_beat = ticks[0] * 120 / 60  # the show began at beat 0 at 120 BPM
    assert abs(first_beat - 4.0) < 0.1, f"Start and the first tick fall on the bar line, not at beat {first_beat}"
    at_120 = [t for t in ticks if switched - 1.0 <= t < switched]
    at_150 = [t for t in ticks if switched + 0.5 <= t < switched + 2.0]
    assert abs(len(at_120) - 48) <= 4, len(at_120)  # 120 BPM: 48 ticks a second
    assert abs(len(at_150) - 1.5 * 60) <= 5, len(at_150)  # 150 BPM: 60 ticks a second
    assert any(line.startswith(f"midi clock out on {DRUM_MACHINE}: ") for line in status), status
