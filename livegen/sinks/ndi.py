"""NDI out: every finished frame as an NDI video source that Resolume, TouchDesigner or OBS can pick.

Uses cyndilib (MIT; its wheels carry the NDI runtime). Frames go out as RGBX at the show's output
size and model rate; ``send`` runs on the sink's own thread (see base.py), so the render thread
only hands over a reference. The RGB frame is copied into a preallocated RGBX buffer there and
sent with ``write_video_async``, which returns once NDI has taken the buffer.

Where multicast discovery is blocked (venue networks, containers), point NDI at its config file:
``NDI_CONFIG_DIR`` naming a folder whose ``ndi-config.v1.json`` lists the receivers' addresses
(see the README's rig section, and ``[output] ndi_ips`` in a patch).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from livegen.sinks.base import SinkUnavailable
from livegen.size import Size


class NdiSink:
    """One NDI sender named ``name`` (receivers see it as ``HOST (name)``)."""

    def __init__(self, name: str, size: Size, fps: float) -> None:
        try:
            from cyndilib.sender import Sender
            from cyndilib.video_frame import VideoSendFrame
            from cyndilib.wrapper.ndi_structs import FourCC
        except ImportError as e:
            raise SinkUnavailable(f"cyndilib is not installed (pip install 'livegen[ndi]'): {e}") from None
        self.name = f"ndi {name}"
        self.size = Size(*size)
        # clock_video=False: the show paces frames itself; NDI's clock would add a second pacer.
        self._sender = Sender(name, clock_video=False)
        frame = VideoSendFrame()
        frame.set_resolution(self.size.w, self.size.h)
        frame.set_frame_rate(Fraction(fps).limit_denominator(1001))
        frame.set_fourcc(FourCC.RGBX)
        self._sender.set_video_frame(frame)
        self._sender.open()
        self._rgbx = np.full((self.size.h, self.size.w, 4), 255, np.uint8)

    def send(self, image: np.ndarray) -> None:
        if (image.shape[1], image.shape[0]) != self.size:
            raise ValueError(f"frame {image.shape[1]}x{image.shape[0]} is not the NDI size {self.size}")
        self._rgbx[..., :3] = image
        self._sender.write_video_async(self._rgbx.reshape(-1))

    def connections(self) -> int:
        return int(self._sender.get_num_connections(0.0))

    def close(self) -> None:
        self._sender.close()


def open_ndi(target: str, size: Size, fps: float) -> NdiSink:
    if not target:
        raise SinkUnavailable("an NDI output needs a source name ([output] ndi = \"NAME\" or --ndi NAME)")
    return NdiSink(target, size, fps)
