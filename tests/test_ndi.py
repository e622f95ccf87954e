"""NDI out and in with a real cyndilib sender and receiver (no mocks), on this machine's loopback only.

NDI's discovery multicasts on every interface, so each story runs in a private network namespace
that has nothing but loopback (``unshare -n``), with NDI pointed at 127.0.0.1 the way a venue
without multicast would be set up ([output] ndi_ips).
"""

from __future__ import annotations

import json

import pytest
from netns import problem, run_story

from livegen.bench.ndi import in_netns

PROBLEM = problem("cyndilib", "cyndilib (the ndi extra)")
pytestmark = pytest.mark.skipif(bool(PROBLEM), reason=PROBLEM or "runs")


def test_a_show_sends_its_frames_over_ndi_at_the_model_rate_without_the_render_thread_waiting():
    done = in_netns(["bench", "ndi", "--sizes", "320x240", "--seconds", "2"], timeout=120)
    assert done.returncode == 0, done.stderr
    row = json.loads(done.stdout.strip().splitlines()[-1])
    assert row["received_per_s"] >= 25, row  # asked for 30 fps: every frame but stragglers arrives
    assert row["sent_per_s"] >= 25, row
    assert row["render_thread_ms_mean"] < 1.0, row  # the render thread only hands a reference over


def test_the_camera_follows_an_ndi_source_that_goes_away_and_comes_back():
    story = run_story("ndi_story.py")
    assert 0 <= story["red_after_s"] < 15, story  # the sender's red frames reach the show's camera
    assert story["status_while_sending"].startswith("camera: ndi") and "story-cam" in story["status_while_sending"]
    assert 0 <= story["pattern_after_s"] < 8, story  # sender gone: the test pattern, not a frozen frame
    assert "lost" in story["status_while_gone"] and "test pattern" in story["status_while_gone"]
    assert 0 <= story["blue_after_s"] < 25, story  # back by itself, with the new picture
    assert story["reconnects"] >= 1
