"""The autopilot keeps an installation alive when nobody plays, and gives way the moment someone does."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from livegen.control.bus import ControlEvent
from livegen.engine import open_engine
from livegen.patch import PatchError, load_patch, parse_patch
from livegen.render import render
from livegen.size import Size

RANGES = {"generator.dir1": (-0.6, 0.6), "generator.dir2": (-0.6, 0.6), "generator.truncation": (0.6, 1.2),
          "palette.amount": (0.0, 0.7)}

# The generator holds still by itself ("hold" mode) and covers the whole frame, so any motion in
# the picture is the autopilot's doing.
PATCH = """
name = "installation"
seed = 3
[output]
size = "32x24"
fps = {fps}
[camera]
source = "pattern"
[style]
enabled = false
[generator]
model = "models/gan64.safetensors"
[palette]
colors = ["#0b1d51", "#ff6f3c", "#ffd166"]
[params]
"compose.mode" = "mix"
"compose.amount" = 1.0
"generator.mode" = "hold"
"autopilot.amount" = 1.0
"autopilot.idle" = 3.0
[scenes.dark]
values = {{ "generator.truncation" = 0.7, "master.brightness" = 0.8 }}
fade = 1.0
[scenes.bright]
values = {{ "generator.truncation" = 1.1, "master.brightness" = 1.0 }}
fade = 1.0
[autopilot]
jump_every = 4
scenes = ["dark", "bright"]
scene_every = 3
still = 5
fade = 2
[autopilot.ranges]
"generator.dir1" = [-0.6, 0.6]
"generator.dir2" = [-0.6, 0.6]
"generator.truncation" = [0.6, 1.2]
"palette.amount" = [0.0, 0.7]
"""


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def write_patch(tmp_path, fps: float = 10) -> object:
    path = tmp_path / "installation.toml"
    path.write_text(PATCH.format(fps=fps))
    return load_patch(path)


def test_an_idle_hour_never_sits_still_longer_than_the_patch_allows_nor_leaves_the_ranges(tmp_path):
    patch = write_patch(tmp_path, fps=1)
    still_since, longest, prev = 0.0, 0.0, None
    out_of_range: list[str] = []

    def on_frame(n: int, image: np.ndarray, snap) -> None:
        nonlocal still_since, longest, prev
        if prev is not None and np.array_equal(image, prev):
            longest = max(longest, snap.t - still_since)
        else:
            still_since = snap.t
        prev = image.copy()
        for name, (lo, hi) in RANGES.items():
            if not lo <= snap[name] <= hi and len(out_of_range) < 5:
                out_of_range.append(f"frame {n}: {name} = {snap[name]}")

    # An hour, compressed: 1,800 tiny frames, 2 s apart.
    result = render(patch, "null", frames=1800, fps=0.5, progress=False, on_frame=on_frame)
    assert result.frames == 1800
    assert not out_of_range
    assert longest <= patch.autopilot.still, f"the picture held still for {longest} s"


def test_a_human_control_takes_over_at_once_and_the_rest_eases_to_a_stop_without_a_jump(tmp_path):
    patch = write_patch(tmp_path)
    engine, feed = open_engine(patch, lockstep=True)
    try:
        dt = 0.1
        trail: list[dict] = []
        for n in range(300):
            t = n * dt
            if n == 120:  # 12 s in: the autopilot has been moving for 9 s; someone grabs a fader
                engine.push(ControlEvent(t - 0.01, "osc", "/livegen/generator/dir1", 0.9))
            engine.tick(t)
            trail.append(dict(engine.last_snapshot))
    finally:
        feed.close()
        engine.close()
    moving = [abs(trail[n]["generator.dir2"] - trail[n - 1]["generator.dir2"]) for n in range(40, 120)]
    assert max(moving) > 0.005, "the autopilot was not moving before the human came"
    # The human's value holds from their frame on (dir1 has 0.1 s of smoothing toward it) until
    # the autopilot comes back, autopilot.idle = 3 s after the last human input (frame 150).
    assert all(abs(s["generator.dir1"] - 0.9) < 0.05 for s in trail[125:150])
    # Everything else eases to a stop over autopilot fade (2 s): no step larger than 5 % of the
    # range, then stillness.
    for name in ("generator.dir2", "generator.truncation", "palette.amount"):
        steps = [abs(trail[n][name] - trail[n - 1][name]) for n in range(121, 150)]
        span = RANGES[name][1] - RANGES[name][0]
        assert max(steps) < 0.05 * span, f"{name} jumped by {max(steps)}"
        # (what is left is the parameter's own smoothing settling)
        assert abs(trail[143][name] - trail[149][name]) < 1e-4, f"{name} still moves 2 s after the human took over"
    # Then it starts again, from where things are: dir1 glides on from the human's 0.9.
    assert abs(trail[151]["generator.dir1"] - 0.9) < 0.05
    assert trail[-1]["generator.dir2"] != trail[149]["generator.dir2"]


def test_midi_clock_from_a_daw_is_not_a_human_playing(tmp_path):
    patch = write_patch(tmp_path)
    engine, feed = open_engine(patch, lockstep=True, size=Size(16, 12))
    try:
        for n in range(60):
            for k in range(2):  # 24 ppqn at 120 bpm is ~5 clocks per 0.1 s frame; two are enough here
                engine.push(ControlEvent(n * 0.1 + k * 0.04, "midi", "midi/clock", None))
            engine.tick(n * 0.1)
    finally:
        feed.close()
        engine.close()
    assert engine.autopilot is not None and engine.autopilot.moving
    assert engine.store.targets["generator.dir1"] != 0.0


def test_autopilot_moves_are_recorded_and_a_replay_of_the_show_log_matches_frame_for_frame(tmp_path):
    patch = write_patch(tmp_path)
    log = tmp_path / "show.jsonl"
    engine, feed = open_engine(patch, lockstep=True)
    live: list[dict] = []
    try:
        engine.start_recording(log)
        for n in range(200):
            if n == 150:
                engine.push(ControlEvent(n * 0.1, "osc", "/livegen/generator/dir2", -0.2))
            engine.tick(n * 0.1)
            live.append(dict(engine.last_snapshot))
    finally:
        engine.close()
        feed.close()
    events = [json.loads(line).get("event") for line in log.read_text().splitlines()[1:]]
    moves = {e["address"] for e in events if e and e["source"] == "autopilot"}
    assert {"/livegen/scene", "/livegen/generator/jump", "/livegen/generator/dir1"} <= moves
    replay = render(patch, "null", controls=[log], progress=False, keep_snapshots=True)
    assert replay.snapshots == live


def test_the_same_seed_gives_the_same_autopilot_and_another_seed_another(tmp_path):
    patch = write_patch(tmp_path)
    a = render(patch, "null", frames=120, progress=False, keep_snapshots=True).snapshots
    b = render(patch, "null", frames=120, progress=False, keep_snapshots=True).snapshots
    patch.seed = 4
    c = render(patch, "null", frames=120, progress=False, keep_snapshots=True).snapshots
    assert a == b
    assert [s["generator.dir1"] for s in a] != [s["generator.dir1"] for s in c]


def test_a_patch_naming_a_parameter_or_scene_the_show_lacks_is_refused_with_the_key():
    with pytest.raises(PatchError, match=r"autopilot\.ranges\.generator\.dirx: unknown parameter"):
        parse_patch('[autopilot]\nranges = { "generator.dirx" = [0, 1] }\n')
    with pytest.raises(PatchError, match=r"autopilot\.scenes\[0\]: no scene 'nope'"):
        parse_patch('[autopilot]\nscenes = ["nope"]\n')
    with pytest.raises(PatchError, match=r"leaves the parameter's range"):
        parse_patch('[autopilot]\nranges = { "compose.amount" = [0, 2] }\n')
