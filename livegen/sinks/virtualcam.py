"""Virtual camera out: the show as a webcam for OBS, Zoom or a browser (pyvirtualcam).

Written to pyvirtualcam's documented API (``Camera(width, height, fps, fmt=PixelFormat.RGB,
device=...)``, ``send``, ``close``). On Linux it needs the v4l2loopback kernel module (a
``/dev/videoN`` it can write); on Windows and macOS the OBS virtual camera. pyvirtualcam is
GPL-2.0, so it is an optional extra only (``livegen[virtualcam]``). Unverified on CI: these
machines have no v4l2loopback; the tests check the failure is reported in one line.
"""

from __future__ import annotations

import numpy as np

from livegen.sinks.base import SinkUnavailable
from livegen.size import Size


class VirtualCameraSink:
    def __init__(self, device: str, size: Size, fps: float) -> None:
        import pyvirtualcam

        self._cam = pyvirtualcam.Camera(size.w, size.h, fps, fmt=pyvirtualcam.PixelFormat.RGB,
                                        device=device or None)
        self.name = f"virtual camera {self._cam.device}"

    def send(self, image: np.ndarray) -> None:
        self._cam.send(image)

    def close(self) -> None:
        self._cam.close()


def open_virtual_camera(target: str, size: Size, fps: float) -> VirtualCameraSink:
    try:
        return VirtualCameraSink(target, size, fps)
    except ImportError as e:
        raise SinkUnavailable(f"pyvirtualcam is not installed (GPL-2.0: pip install 'livegen[virtualcam]'): "
                              f"{e}") from None
    except RuntimeError as e:  # pyvirtualcam: no backend (v4l2loopback / OBS camera missing)
        raise SinkUnavailable(f"no virtual camera device ({e}); on Linux load v4l2loopback") from None
