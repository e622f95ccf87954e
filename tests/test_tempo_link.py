"""Ableton Link: the show follows a real second Link peer (another process), on this machine's loopback only.

Link discovers peers by multicast on every interface, so the story runs in a private network
namespace that has nothing but loopback (``unshare -n``), like the NDI stories.
"""

from __future__ import annotations

import sys

import pytest
import torch
from netns import problem, run_story

from livegen.control.bus import ControlEvent
from livegen.engine import Engine
from livegen.patch import parse_patch
from livegen.rig import RigTempo

PROBLEM = problem("link", "LinkPython-extern (the link extra)")


@pytest.mark.skipif(bool(PROBLEM), reason=PROBLEM or "runs")
def test_the_show_follows_ableton_lives_tempo_and_bar_and_its_show_log_replays_without_a_network():
    story = run_story("link_story.py")
    assert story["joined"], story
    assert story["status"][:2] == ["tempo 128.0 BPM — link leads", "link: 1 peer"], story
    assert 0 <= story["followed128"] - story["at128"] < 1.0, story  # the patch said 90: the session wins
    assert 0 <= story["followed100"] - story["at100"] < 0.5, story  # a tempo change reaches the show at once
    assert 0 <= story["worst_beat_error"] < 0.01, story  # livegen's beat (and bar) is the session's
    assert story["replay_same"] and story["frames"] > 100, story


def test_without_linkpython_the_show_says_so_in_one_line_and_keeps_its_tempo(monkeypatch):
    monkeypatch.setitem(sys.modules, "link", None)  # as if the GPL extra were not installed
    engine = Engine(parse_patch('name = "x"\n[tempo]\nbpm = 93\nsource = "link"'), torch.device("cpu"), (64, 48),
                    camera=lambda t: (None, 0))
    rig = RigTempo(engine, now=lambda: 0.0)
    try:
        assert rig.status() == ["tempo 93.0 BPM — link leads",
                                "tempo: Ableton Link needs LinkPython-extern (GPL-2.0: pip install 'livegen[link]'); "
                                "the tempo stays at 93 BPM"]
    finally:
        rig.close()


def test_a_damaged_link_event_in_a_show_log_is_reported_once_and_the_tempo_goes_on():
    engine = Engine(parse_patch('name = "x"\n[tempo]\nbpm = 93\nsource = "link"'), torch.device("cpu"), (64, 48),
                    camera=lambda t: (None, 0))
    rig = RigTempo(engine)  # a render: no Link peer, the events come from the log
    engine.push(ControlEvent(0.5, "link", "link/beat", [8.0, 120.0]))
    engine.push(ControlEvent(0.6, "link", "link/beat", ["eight", 120.0]))
    engine.push(ControlEvent(0.7, "link", "link/beat", [9.0, 5000.0]))
    engine.tick(1.0)
    assert engine.tempo.bpm == 120.0 and engine.tempo.beat(1.0) == pytest.approx(9.0)
    assert rig.status() == ["tempo 120.0 BPM — link leads",
                            "link: ignored link/beat ['eight', 120.0] (expected [beat, bpm of 20..999])"]
    assert engine.errors.total == 0


def test_while_link_leads_a_hand_set_tempo_is_dropped_and_the_tempo_parameter_shows_the_sessions():
    engine = Engine(parse_patch('name = "x"\n[tempo]\nbpm = 93\nsource = "link"'), torch.device("cpu"), (64, 48),
                    camera=lambda t: (None, 0))
    RigTempo(engine)
    engine.push(ControlEvent(0.5, "link", "link/beat", [8.0, 120.0]))
    engine.tick(0.6)
    engine.push(ControlEvent(0.7, "osc", "/livegen/tempo/bpm", 140.0))  # a stray TouchOSC fader
    engine.tick(0.8)
    engine.tick(0.9)
    assert engine.tempo.bpm == 120.0, "one leader: the session, not the fader"
    assert engine.last_snapshot["tempo.bpm"] == 120.0
