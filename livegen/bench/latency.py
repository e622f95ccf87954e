"""``livegen bench latency``: how long a fader move takes to reach the screen.

Plays a patch live (window on SDL's dummy display unless one is set) with its real control
inputs, then moves ``master.fade`` between 0 and 1 every ``--interval`` seconds: over OSC (a UDP
datagram to the show's port) or over MIDI (a CC on a JACK port, mapped to the fader). Each
presented frame's brightness is watched; the latency of a move is the time from just before the
message is sent to the first presented frame that has moved a quarter of the way to the new value.
Prints p50/p95/p99 in milliseconds, next to the model frame period, as JSON.

What it adds up: waiting for the next frame boundary (the bus is drained once per frame: up to
one model period), the frame's compute time, then waiting for the next repaint of the window.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np
import torch

from livegen.live import LiveShow
from livegen.params import OSC_PREFIX
from livegen.patch import PatchError, parse_patch
from livegen.paths import DEFAULT_PATCH
from livegen.size import parse_size

MIDI_CC = 7
BLACK = 0.03  # mean brightness under which the picture counts as faded out


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def patch_for(patch_path: str, via: str, port: int):  # noqa: ANN201 — a Patch (app-level import kept local)
    """The patch with its OSC port chosen and, for MIDI, a CC mapped straight to master.fade."""
    text = Path(patch_path).read_text(encoding="utf-8")
    extra = f"\n[osc]\nport = {port}\n"
    if via == "midi":
        extra += f'\n[[mappings]]\nsource = "midi/cc/1/{MIDI_CC}"\ntarget = "master.fade"\n'
    patch = parse_patch(text + extra, patch_path)
    patch.source_path = Path(patch_path).resolve()
    return patch


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def measure(patch_path: str, size: str, via: str, moves: int, interval: float) -> dict:
    """Time ``moves`` fader moves from black (fade 0) to the picture (fade 1)."""
    port = free_udp_port()
    patch = patch_for(patch_path, via, port)
    patch.output.adaptive = False
    presented: list[tuple[float, float]] = []  # monotonic present time, brightness
    lock = threading.Lock()
    rises: list[float] = []  # monotonic send time of each fade 0 -> 1

    with LiveShow(patch, size=parse_size(size), device="cpu", camera="pattern", hud=False, vsync=False,
                  display_fps=120.0) as show:
        def on_present(image: np.ndarray | None) -> None:
            if image is not None:
                level = float(image[::8, ::8].mean()) / 255.0
                with lock:
                    presented.append((time.monotonic(), level))

        show.runner.on_present.append(on_present)
        sender = _Sender(via, port)

        def drive() -> None:
            time.sleep(2.0)  # first frames: allocator warm-up, inputs opening
            for _ in range(moves):
                sender.send(0.0)
                time.sleep(interval)  # long enough for the fade's smoothing to reach black
                rises.append(time.monotonic())
                sender.send(1.0)
                time.sleep(interval)
            show.runner.stop()

        driver = threading.Thread(target=drive, daemon=True)
        driver.start()
        try:
            show.play(seconds=2.0 + moves * 2 * interval + 5.0)
        finally:
            sender.close()
            driver.join(timeout=5)
        model_fps = show.runner.model_rate.fps
    with lock:
        frames = list(presented)
    lat: list[float] = []
    for t_send in rises:
        before = [lv for t, lv in frames if t <= t_send]
        if not before or before[-1] > BLACK:
            continue  # the picture was not black yet: this move cannot be timed
        hit = next((t for t, lv in frames if t > t_send and lv > BLACK), None)
        if hit is not None and hit - t_send < interval:
            lat.append((hit - t_send) * 1000.0)
    if not lat:
        raise RuntimeError(f"no fader move reached the screen over {via}: is the control input open?")
    period = 1000.0 / model_fps if model_fps > 0 else float("nan")
    return {"via": via, "size": size, "moves": len(rises), "measured": len(lat),
            "p50_ms": round(statistics.median(lat), 1), "p95_ms": round(percentile(lat, 95), 1),
            "p99_ms": round(percentile(lat, 99), 1), "model_fps": round(model_fps, 1),
            "model_period_ms": round(period, 1), "p95_in_model_periods": round(percentile(lat, 95) / period, 2),
            "torch_threads": torch.get_num_threads()}


class _Sender:
    """Moves the fader over OSC (UDP to the show's port) or a MIDI CC on a JACK port."""

    def __init__(self, via: str, port: int) -> None:
        self.via = via
        if via == "osc":
            from pythonosc.udp_client import SimpleUDPClient

            self._osc = SimpleUDPClient("127.0.0.1", port)
        else:
            import mido

            backend = mido.Backend("mido.backends.rtmidi/UNIX_JACK", load=True)
            self._midi = backend.open_output("livegen-latency", virtual=True)
            time.sleep(2.5)  # the show's input looks for new ports once a second

    def send(self, value: float) -> None:
        if self.via == "osc":
            self._osc.send_message(OSC_PREFIX + "master/fade", value)
        else:
            import mido

            self._midi.send(mido.Message("control_change", channel=0, control=MIDI_CC, value=round(value * 127)))

    def close(self) -> None:
        if self.via == "midi":
            self._midi.close()


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="livegen bench latency", description=__doc__.split("\n\n")[0].replace("``", ""))
    p.add_argument("--patch", default=str(DEFAULT_PATCH), help="patch to play (default: %(default)s)")
    p.add_argument("--size", default="640x480", help="output size (default: %(default)s)")
    p.add_argument("--via", choices=("osc", "midi"), default="osc", help="control path (default: %(default)s)")
    p.add_argument("--moves", type=int, default=40, help="fader moves to time (default: %(default)s)")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between moves (default: %(default)s)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    try:
        result = measure(args.patch, args.size, args.via, args.moves, args.interval)
    except (PatchError, ValueError, OSError, RuntimeError) as e:
        print(f"livegen bench latency: {e}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2))
    return 0
