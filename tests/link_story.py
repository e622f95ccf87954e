"""A VJ's Ableton Link story, run by tests/test_tempo_link.py inside a private network namespace.

Ableton Live stands in as a second Link peer in its own process (this file run with ``peer``): it
joins the session, sets 128 BPM, later 100 BPM. The show (``[tempo] source = "link"``, its patch
says 90 BPM) plays at 30 fps and records a show log, which is then rendered without any network.
Prints one JSON line.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

PATCH = """
name = "link"
[output]
size = "64x48"
[tempo]
bpm = 90
source = "link"
"""


def set_tempo(peer, bpm: float) -> float:  # noqa: ANN001 — a link.Link
    state = peer.captureAppSessionState()
    state.setTempo(bpm, peer.clock().micros())
    peer.commitAppSessionState(state)
    return time.monotonic()


def peer() -> None:
    import link

    live = link.Link(128.0)
    live.enabled = True
    deadline = time.monotonic() + 15
    while live.numPeers() == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    print(json.dumps({"joined": live.numPeers() > 0, "at128": set_tempo(live, 128.0)}), flush=True)
    time.sleep(2.5)
    print(json.dumps({"at100": set_tempo(live, 100.0)}), flush=True)
    time.sleep(2.5)
    live.enabled = False


def show() -> None:
    from livegen.engine import Engine
    from livegen.patch import parse_patch
    from livegen.render import render
    from livegen.rig import RigTempo

    patch = parse_patch(PATCH)
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "show.jsonl"
        engine = Engine(patch, torch.device("cpu"), (64, 48), camera=lambda t: (None, 0))
        engine.start_recording(log)
        start = time.monotonic()
        now = lambda: time.monotonic() - start  # noqa: E731
        rig = RigTempo(engine, now)
        assert rig.link is not None, rig.status()
        live = subprocess.Popen([sys.executable, __file__, "peer"], stdout=subprocess.PIPE, text=True)
        joined = json.loads(live.stdout.readline())
        out["joined"] = joined["joined"]
        out["at128"] = joined["at128"] - start
        beats: list[float] = []
        rows: list[tuple[float, float, float, float]] = []  # show time, engine bpm, engine beat - session beat
        while live.poll() is None and now() < 20:
            engine.tick(now())
            beats.append(engine.last_snapshot.beat)
            t, beat, bpm = rig.link.read()
            rows.append((t, engine.tempo.bpm, engine.tempo.beat(t) - beat, bpm))
            if len(rows) == 30:
                out["status"] = rig.status()
            time.sleep(1 / 30)
        out["at100"] = json.loads(live.stdout.readline())["at100"] - start
        live.wait()
        rig.close()
        engine.close()
        out["followed128"] = next((t for t, bpm, _, _ in rows if abs(bpm - 128) < 0.01), -1.0)
        out["followed100"] = next((t for t, bpm, _, _ in rows if abs(bpm - 100) < 0.01), -1.0)
        # Once livegen has heard the session, its beat is the session's beat (bar phase included).
        following = [abs(err) for t, _, err, _ in rows if t > out["followed128"] + 0.1]
        out["worst_beat_error"] = max(following) if following else -1.0
        out["link_events"] = sum(1 for line in log.read_text().splitlines() if '"link/beat"' in line)
        replay: list[float] = []
        render(patch, "null", controls=[log], progress=False, on_frame=lambda n, img, snap: replay.append(snap.beat))
        out["frames"] = len(beats)
        out["replay_same"] = replay == beats
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    peer() if sys.argv[1:] == ["peer"] else show()
