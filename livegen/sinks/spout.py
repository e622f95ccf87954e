"""Spout out (Windows): frames shared as a GPU texture that Resolume, TouchDesigner or OBS can pick.

Written to Python-SpoutGL's documented sender API (``SpoutSender``, ``setSenderName``,
``sendImage(pixels, w, h, GL_RGBA, flip, 0)``, ``setFrameSync``, ``releaseSender``). SpoutGL is
BSD-2-Clause; Spout itself exists only on Windows. Unverified on CI (Linux): the tests check that
asking for it here reports one clear line and the show runs on.
"""

from __future__ import annotations

import sys

import numpy as np

from livegen.sinks.base import SinkUnavailable
from livegen.size import Size


class SpoutSink:
    def __init__(self, name: str, size: Size) -> None:
        import SpoutGL
        from SpoutGL.enums import GL_RGBA

        self.name = f"spout {name}"
        self._sender_name = name
        self._format = GL_RGBA
        self._sender = SpoutGL.SpoutSender()
        self._sender.setSenderName(name)
        self._rgba = np.full((size.h, size.w, 4), 255, np.uint8)

    def send(self, image: np.ndarray) -> None:
        self._rgba[..., :3] = image
        h, w = self._rgba.shape[:2]
        if not self._sender.sendImage(self._rgba, w, h, self._format, False, 0):
            raise OSError("Spout did not take the frame")
        self._sender.setFrameSync(self._sender_name)

    def close(self) -> None:
        self._sender.releaseSender()


def open_spout(target: str, size: Size, fps: float) -> SpoutSink:
    if not sys.platform.startswith("win"):
        raise SinkUnavailable("Spout exists only on Windows (use NDI here)")
    try:
        return SpoutSink(target or "livegen", size)
    except ImportError as e:
        raise SinkUnavailable(f"SpoutGL is not installed (pip install 'livegen[spout]'): {e}") from None
