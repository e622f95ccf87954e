"""GL display path: the frame reaches the window as an OpenGL texture, on CUDA without a host copy.

The plain window (sinks/window.py) takes uint8 frames from host memory: on a GPU every displayed
frame is copied device → host → SDL → GL. Here the frame tensor is turned into RGBA8 on its own
device and written into a GL texture that a full-window quad draws:

- **CUDA frame, CUDA–GL interop available** (cuda-bindings, CUDA's runtime API, the GL context on
  the same GPU): the texture is registered with CUDA once and each frame is one device-to-device
  ``cudaMemcpy2DToArrayAsync`` on torch's current stream. No byte of the picture crosses to the host.
- **Anything else** (a CPU frame, no cuda-python, a GL driver CUDA cannot share with, such as Mesa's
  llvmpipe under Xvfb): the same window uploads the host copy with ``glTexSubImage2D``.

``path`` says which one runs. Optional extra ``gl`` (PyOpenGL and cuda-bindings); without
PyOpenGL :class:`GLWindow` raises :class:`SinkUnavailable` with the one line to install it.
Call from the thread that owns the window (GL contexts are per thread), like the plain window.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch

from livegen.sinks.base import SinkUnavailable
from livegen.size import Size

log = logging.getLogger(__name__)

HOST = "host copy (glTexSubImage2D)"
INTEROP = "CUDA-GL interop (device to texture)"


def to_rgba8(frame: torch.Tensor) -> torch.Tensor:
    """(1, 3, H, W) float [0, 1] -> (H, W, 4) uint8 RGBA on the frame's device; RGB rounded as
    ``sinks.to_uint8`` rounds it, so both display paths show the same pixels."""
    rgb = frame[0].clamp(0.0, 1.0).mul(255.0).add_(0.5).to(torch.uint8)
    out = torch.empty(rgb.shape[1], rgb.shape[2], 4, dtype=torch.uint8, device=frame.device)
    out[..., :3] = rgb.permute(1, 2, 0)
    out[..., 3] = 255
    return out


class CudaGLTexture:
    """A GL texture registered with CUDA: ``write(rgba)`` copies a CUDA (H, W, 4) uint8 tensor into it."""

    def __init__(self, texture: int, size: Size) -> None:
        from cuda.bindings import runtime as cudart
        from OpenGL import GL

        self._rt = cudart
        self.size = size
        err, self._resource = cudart.cudaGraphicsGLRegisterImage(
            int(texture), int(GL.GL_TEXTURE_2D),
            int(cudart.cudaGraphicsRegisterFlags.cudaGraphicsRegisterFlagsWriteDiscard))
        self._check(err, "cudaGraphicsGLRegisterImage")

    def _check(self, err: Any, what: str) -> None:
        if err != self._rt.cudaError_t.cudaSuccess:
            raise RuntimeError(f"{what}: {err}")

    def write(self, rgba: torch.Tensor) -> None:
        rt = self._rt
        stream = torch.cuda.current_stream(rgba.device).cuda_stream
        (err,) = rt.cudaGraphicsMapResources(1, self._resource, stream)
        self._check(err, "cudaGraphicsMapResources")
        try:
            err, array = rt.cudaGraphicsSubResourceGetMappedArray(self._resource, 0, 0)
            self._check(err, "cudaGraphicsSubResourceGetMappedArray")
            w, h = self.size
            (err,) = rt.cudaMemcpy2DToArrayAsync(array, 0, 0, rgba.data_ptr(), w * 4, w * 4, h,
                                                 rt.cudaMemcpyKind.cudaMemcpyDeviceToDevice, stream)
            self._check(err, "cudaMemcpy2DToArrayAsync")
        finally:
            (err,) = rt.cudaGraphicsUnmapResources(1, self._resource, stream)
        self._check(err, "cudaGraphicsUnmapResources")

    def close(self) -> None:
        self._rt.cudaGraphicsUnregisterResource(self._resource)


def interop_problem(device: torch.device) -> str | None:
    """Why frames on ``device`` cannot go to a texture without a host copy; None when they can."""
    if device.type != "cuda":
        return f"frames are on {device.type}"
    try:
        from cuda.bindings import runtime  # noqa: F401
    except ImportError:
        return "cuda-bindings is not installed (pip install 'livegen[gl]')"
    return None


class GLWindow:
    """An OpenGL window showing frame tensors; see the module docstring."""

    def __init__(self, size: Size, title: str = "livegen", device: torch.device | str = "cpu",
                 vsync: bool = False) -> None:
        try:
            from OpenGL import GL
        except ImportError:
            raise SinkUnavailable("GL window needs PyOpenGL: pip install 'livegen[gl]'") from None
        import pygame

        self.GL = GL
        self.size = size
        pygame.display.init()
        try:
            self._surface = pygame.display.set_mode(tuple(size), pygame.OPENGL | pygame.DOUBLEBUF,
                                                    vsync=int(vsync))
        except pygame.error as e:
            raise SinkUnavailable(f"GL window: no OpenGL context ({e})") from None
        pygame.display.set_caption(title)
        w, h = size
        GL.glViewport(0, 0, w, h)
        GL.glDisable(GL.GL_DEPTH_TEST)
        GL.glEnable(GL.GL_TEXTURE_2D)
        self.texture = int(GL.glGenTextures(1))
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.texture)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MIN_FILTER, GL.GL_LINEAR)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MAG_FILTER, GL.GL_LINEAR)
        GL.glTexImage2D(GL.GL_TEXTURE_2D, 0, GL.GL_RGBA8, w, h, 0, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, None)
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 1)
        GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 1)
        self.renderer = str(GL.glGetString(GL.GL_RENDERER), "ascii", "replace")
        self._interop: CudaGLTexture | None = None
        self.path = HOST
        problem = interop_problem(torch.device(device))
        if problem is None:
            try:
                self._interop = CudaGLTexture(self.texture, size)
                self.path = INTEROP
            except RuntimeError as e:  # e.g. the GL context is not on the GPU that holds the frames
                problem = str(e)
        self.why_host = problem
        self.frames_shown = 0

    def present(self, frame: torch.Tensor) -> None:
        """Show a (1, 3, H, W) [0, 1] frame of the window's size."""
        GL = self.GL
        rgba = to_rgba8(frame)
        if self._interop is not None and rgba.is_cuda:
            self._interop.write(rgba)
        else:
            w, h = self.size
            GL.glBindTexture(GL.GL_TEXTURE_2D, self.texture)
            GL.glTexSubImage2D(GL.GL_TEXTURE_2D, 0, 0, 0, w, h, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE,
                               np.ascontiguousarray(rgba.cpu().numpy()))
        self._draw()
        import pygame

        pygame.display.flip()
        self.frames_shown += 1

    def _draw(self) -> None:
        GL = self.GL
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.texture)
        # Texture row 0 is the picture's top row: it maps to the top edge (y = +1) of the quad.
        GL.glBegin(GL.GL_QUADS)
        for u, v, x, y in ((0, 0, -1, 1), (1, 0, 1, 1), (1, 1, 1, -1), (0, 1, -1, -1)):
            GL.glTexCoord2f(u, v)
            GL.glVertex2f(x, y)
        GL.glEnd()

    def read_back(self) -> np.ndarray:
        """What the window shows, H x W x 3 uint8 (redraws into the back buffer and reads it; tests)."""
        GL = self.GL
        self._draw()
        GL.glFinish()
        w, h = self.size
        data = GL.glReadPixels(0, 0, w, h, GL.GL_RGB, GL.GL_UNSIGNED_BYTE)
        return np.frombuffer(data, np.uint8).reshape(h, w, 3)[::-1].copy()

    def poll(self) -> list[str]:
        """Window events as commands: "quit" when the window is closed or Esc is pressed."""
        import pygame

        out = []
        for event in pygame.event.get():
            if event.type == pygame.QUIT or (event.type == pygame.KEYDOWN and event.key == pygame.K_ESCAPE):
                out.append("quit")
        return out

    def close(self) -> None:
        import pygame

        if self._interop is not None:
            self._interop.close()
            self._interop = None
        self.GL.glDeleteTextures([self.texture])
        pygame.display.quit()
