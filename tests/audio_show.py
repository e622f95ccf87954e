"""The audio stories' show: the engine ticking at 30 fps on the wall clock while an audio input listens."""

from __future__ import annotations

import time

from livegen.control.audioin import AudioInput
from livegen.engine import Engine


def listen(audio: AudioInput, engine: Engine, until: float) -> list[float]:
    """Play frames until the show clock (``audio.now``) reaches ``until``; the compose amount of each frame.

    Closes the input and the engine at the end, whatever happens.
    """
    amounts: list[float] = []
    try:
        while audio.now() < until:
            engine.tick(audio.now())
            amounts.append(engine.last_snapshot["compose.amount"])
            time.sleep(1 / 30)
    finally:
        audio.close()
        engine.close()
    return amounts
