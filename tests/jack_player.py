"""Plays a WAV file into a JACK port in real time, from its own process (a DJ mixer's output, here).

Usage: python jack_player.py FILE.wav TARGET_PORT. Prints "playing" once connected; exits at the end.
A process of its own, like a real sound source: it does not share the listener's interpreter lock.
"""

from __future__ import annotations

import sys
import threading

import jack
import numpy as np

from livegen.control.audiofile import read_audio


def main() -> None:
    samples, _rate = read_audio(sys.argv[1])
    samples = samples.astype(np.float32)
    client = jack.Client("test-player", no_start_server=True)
    port = client.outports.register("out")
    pos = [0]
    done = threading.Event()

    @client.set_process_callback
    def process(frames: int) -> None:
        out = port.get_array()
        chunk = samples[pos[0]:pos[0] + frames]
        out[:len(chunk)] = chunk
        out[len(chunk):] = 0.0
        pos[0] += frames
        if pos[0] >= len(samples):
            done.set()

    with client:
        client.connect(port, sys.argv[2])
        print("playing", flush=True)
        done.wait(timeout=len(samples) / client.samplerate + 30)


if __name__ == "__main__":
    main()
