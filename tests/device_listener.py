"""A show listening to a sound device, in a process of its own (run by tests/test_audio.py).

Usage: python device_listener.py DEVICE SECONDS. Opens ``[audio] input = "device:DEVICE"``, prints
``listening PORT`` (the JACK input port PortAudio made for the device stream), runs the show at
30 fps for SECONDS and prints one JSON line: the tempi heard and the compose amount of each frame.

Its own process because PortAudio binds to the JACK server it finds at import and must be shut
down before that server is (the test's private server outlives this process, not the test run).
"""

from __future__ import annotations

import json
import sys
import time

import jack
import torch
from audio_show import listen

from livegen.control.audioin import AudioInput
from livegen.engine import Engine
from livegen.patch import parse_patch

PATCH = """
name = "device"
[output]
size = "96x64"
[audio]
input = "device:{device}"
[[mappings]]
source = "audio/bass"
target = "compose.amount"
"""


def main() -> None:
    device, seconds = sys.argv[1], float(sys.argv[2])
    patch = parse_patch(PATCH.format(device=device))
    engine = Engine(patch, torch.device("cpu"), (96, 64), camera=lambda t: (None, 0))
    start = time.monotonic()
    audio = AudioInput(patch.audio, engine.bus, lambda: time.monotonic() - start).start()
    if audio.problem:
        sys.exit(audio.problem)
    look = jack.Client("device-look", no_start_server=True)
    (port,) = look.get_ports("PortAudio", is_audio=True, is_input=True)
    print("listening", port.name, flush=True)
    look.close()
    tempi: list[float] = []
    engine.taps.append(lambda ev: tempi.append(ev.value) if ev.address == "audio/bpm" and ev.value else None)
    amounts = listen(audio, engine, audio.now() + seconds)
    print(json.dumps({"tempi": tempi, "amounts": amounts}), flush=True)


if __name__ == "__main__":
    main()
