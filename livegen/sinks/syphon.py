"""Syphon out (macOS): frames shared as a Metal texture that Resolume, VDMX or MadMapper can pick.

Written to syphon-python's documented API (``SyphonMetalServer(name)``,
``syphon.utils.raw.create_mtl_texture``, ``syphon.utils.numpy.copy_image_to_mtl_texture``,
``publish_frame_texture``, ``stop``). syphon-python is MIT; Syphon exists only on macOS 11+.
Unverified on CI (Linux): the tests check that asking for it here reports one clear line.
"""

from __future__ import annotations

import sys

import numpy as np

from livegen.sinks.base import SinkUnavailable
from livegen.size import Size


class SyphonSink:
    def __init__(self, name: str, size: Size) -> None:
        import syphon
        from syphon.utils.numpy import copy_image_to_mtl_texture
        from syphon.utils.raw import create_mtl_texture

        self.name = f"syphon {name}"
        self._server = syphon.SyphonMetalServer(name)
        self._texture = create_mtl_texture(self._server.device, size.w, size.h)
        self._copy = copy_image_to_mtl_texture
        self._rgba = np.full((size.h, size.w, 4), 255, np.uint8)

    def send(self, image: np.ndarray) -> None:
        self._rgba[..., :3] = image
        self._copy(self._rgba, self._texture)
        self._server.publish_frame_texture(self._texture)

    def close(self) -> None:
        self._server.stop()


def open_syphon(target: str, size: Size, fps: float) -> SyphonSink:
    if sys.platform != "darwin":
        raise SinkUnavailable("Syphon exists only on macOS (use NDI here)")
    try:
        return SyphonSink(target or "livegen", size)
    except ImportError as e:
        raise SinkUnavailable(f"syphon-python is not installed (pip install 'livegen[syphon]'): {e}") from None
