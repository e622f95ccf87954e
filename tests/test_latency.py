"""A VJ moves a fader: the bench times how long the move takes to reach the window, over OSC and MIDI."""

from __future__ import annotations

import json

import jack_fixture
import pytest

from livegen import cli

jack_server = jack_fixture.jack_server


def run_bench(capsys, *args: str) -> dict:
    code = cli.main(["bench", "latency", "--size", "64x48", "--moves", "3", "--interval", "0.8",
                     "--threads", "1", *args])
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)


def test_an_osc_fader_move_is_timed_from_the_datagram_to_the_presented_frame(capsys):
    result = run_bench(capsys, "--via", "osc")
    assert result["measured"] == 3 and result["moves"] == 3
    assert 0 < result["p50_ms"] <= result["p95_ms"] <= result["p99_ms"] < 800
    assert result["model_period_ms"] > 0


@pytest.mark.usefixtures("jack_server")
def test_a_midi_cc_over_a_jack_port_is_timed_the_same_way(capsys):
    result = run_bench(capsys, "--via", "midi")
    assert result["via"] == "midi" and result["measured"] >= 2
    assert 0 < result["p50_ms"] < 800
