"""MIDI clock out: a drum machine or lighting desk on a real JACK MIDI port follows livegen's tempo."""

from __future__ import annotations

import os
import threading
import time

import jack_fixture
import mido
from waiting import wait_for

from livegen.clock import Tempo
from livegen.control.tempo import MidiClockOut

jack_server = jack_fixture.jack_server
PORT = f"lgclock{os.getpid()}"


def test_clock_out_sends_start_24_ticks_a_beat_follows_tempo_changes_and_stop(jack_server):
    tempo = Tempo(120.0)
    t0 = time.monotonic()
    now = lambda: time.monotonic() - t0  # noqa: E731
    heard: list[tuple[float, str]] = []
    lock = threading.Lock()

    def got(msg: mido.Message) -> None:
        with lock:
            heard.append((time.monotonic(), msg.type))

    backend = mido.Backend(jack_fixture.BACKEND)
    clock = MidiClockOut(PORT, tempo, now, api="jack")
    try:
        name = wait_for(lambda: next((n for n in backend.get_input_names() if PORT in n), None), timeout=5)
        drum_machine = backend.open_input(name, callback=got)
        try:
            time.sleep(2.0)
            tempo.set_bpm(150.0, now())
            switched = time.monotonic()
            time.sleep(2.0)
        finally:
            clock.close()
            wait_for(lambda: any(kind == "stop" for _, kind in heard), timeout=3)
            drum_machine.close()
    finally:
        clock.close()
    with lock:
        kinds = [k for _, k in heard]
        ticks = [t for t, k in heard if k == "clock"]
    assert "start" in kinds[:1] or kinds.count("start") == 0, kinds[:3]
    assert kinds[-1] == "stop"
    at_120 = [t for t in ticks if switched - 1.5 <= t < switched]
    at_150 = [t for t in ticks if switched + 0.5 <= t < switched + 2.0]
    assert abs(len(at_120) - 1.5 * 48) <= 5, len(at_120)  # 120 BPM: 48 ticks a second
    assert abs(len(at_150) - 1.5 * 60) <= 5, len(at_150)  # 150 BPM: 60 ticks a second
