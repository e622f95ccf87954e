"""The show's place in a VJ rig: NDI discovery settings, the extra outputs, and the tempo's leader.

App level: live.py and render.py call these so that the sinks and sources stay free of the patch.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from livegen.control.link import LinkFollower, LinkSession
from livegen.control.midi import resolve_api
from livegen.control.midiclock import MidiClockOut
from livegen.control.tempo import TAP_ACTION, AudioTempoFollower, TapTempo, leader_line
from livegen.engine import Engine

log = logging.getLogger("livegen.rig")


def use_ndi_ips(ips: str) -> Path | None:
    """Point NDI at ``ips`` (comma-separated peers) instead of multicast discovery, via ``NDI_CONFIG_DIR``.

    Must run before the first NDI sender or receiver starts (the runtime reads its config once).
    A user's own ``NDI_CONFIG_DIR`` wins: it may hold more than the address list. Returns the
    config folder written, or None when nothing was changed.
    """
    ips = ",".join(p.strip() for p in ips.split(",") if p.strip())
    if not ips or os.environ.get("NDI_CONFIG_DIR"):
        return None
    tag = hashlib.sha256(ips.encode()).hexdigest()[:12]
    folder = Path(tempfile.gettempdir()) / f"livegen-ndi-{os.getuid()}-{tag}"
    folder.mkdir(parents=True, exist_ok=True)
    config = {"ndi": {"networks": {"ips": ips, "discovery": ""}}}
    (folder / "ndi-config.v1.json").write_text(json.dumps(config), encoding="utf-8")
    os.environ["NDI_CONFIG_DIR"] = str(folder)
    log.info("NDI: peers %s without multicast discovery (%s)", ips, folder)
    return folder


def sink_requests(patch_requests: Iterable[tuple[str, str]], ndi: str | None = None, spout: str | None = None,
                  syphon: str | None = None, virtual_camera: bool = False) -> list[tuple[str, str]]:
    """The patch's ``[output]`` sinks with the command line's added (a kind given on both is opened once)."""
    asked = dict(patch_requests)
    for kind, target in (("ndi", ndi), ("spout", spout), ("syphon", syphon)):
        if target:
            asked[kind] = target
    if virtual_camera:
        asked["virtual_camera"] = ""
    return list(asked.items())


class RigTempo:
    """The tempo parts a show's patch asks for: tap tempo, the audio or Link follower, MIDI clock out.

    Renders attach the same leader logic without a clock (``now=None``: no Link peer, no MIDI
    clock out), so a replayed show log with taps, audio or Link events moves the tempo exactly as
    the live show did.
    """

    def __init__(self, engine: Engine, now: Callable[[], float] | None = None) -> None:
        self.engine = engine
        self.leader = engine.patch.tempo.source
        self.tap = TapTempo(engine.tempo, self.leader)
        engine.action_handlers[TAP_ACTION] = self.tap.tap
        if self.leader == "audio":
            engine.taps.append(AudioTempoFollower(engine.tempo))
        self.clock_out: MidiClockOut | None = None
        self.link: LinkSession | None = None
        self.link_follower: LinkFollower | None = None
        self.problems: list[str] = []
        if self.leader == "link":
            self.link_follower = LinkFollower(engine.tempo)
            engine.taps.append(self.link_follower)
            if now is not None:
                try:
                    self.link = LinkSession(engine.push, now, engine.tempo.bpm)
                except ImportError as e:
                    self.problems.append(f"tempo: {e}; the tempo stays at {engine.tempo.bpm:g} BPM")
                    log.warning("%s", self.problems[-1])
        port = engine.patch.tempo.clock_out
        if now is not None and port:
            try:
                self.clock_out = MidiClockOut(port, engine.tempo, now, api=resolve_api(engine.patch.midi.api))
            except Exception as e:  # noqa: BLE001 — rtmidi raises its own error types; the show goes on
                self.problems.append(f"midi clock out {port!r}: not started — {e}")
                log.warning("%s", self.problems[-1])

    def status(self) -> list[str]:
        lines = [leader_line(self.leader, self.engine.tempo), *self.problems]
        if self.link is not None:
            lines.append(self.link.status())
        if self.link_follower is not None and self.link_follower.problem:
            lines.append(self.link_follower.problem)
        if self.tap.note:
            lines.append(self.tap.note)
        if self.clock_out is not None:
            lines.append(f"midi clock out on {self.clock_out.port}: {self.clock_out.sent} ticks")
        return lines

    def close(self) -> None:
        if self.link is not None:
            self.link.close()
            self.link = None
        if self.clock_out is not None:
            self.clock_out.close()
            self.clock_out = None

