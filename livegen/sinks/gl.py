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
In a live show it is the output window of :class:`livegen.sinks.window.WindowSink` (``[output] gl``),
beside the operator window, whose SDL renderer may make its own GL context current: every draw here
makes the window's context current again first.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import warnings
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


def _sdl_library() -> ctypes.CDLL:
    """The SDL2 library pygame runs on (its wheel bundles its own copy), for SDL_GL_MakeCurrent."""
    try:
        with open("/proc/self/maps") as maps:
            loaded = next((line.split()[-1] for line in maps if "libSDL2-2" in line), None)
    except OSError:
        loaded = None
    path = loaded or ctypes.util.find_library("SDL2")
    if path is None:
        raise SinkUnavailable("GL window: cannot find pygame's SDL2 library")
    sdl = ctypes.CDLL(path)
    sdl.SDL_GL_GetCurrentContext.restype = ctypes.c_void_p
    sdl.SDL_GL_GetCurrentWindow.restype = ctypes.c_void_p
    sdl.SDL_GL_MakeCurrent.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    return sdl


class GLWindow:
    """An OpenGL window showing frame tensors; see the module docstring.

    ``window`` is None, as in the window events pygame posts for its display window, so the live
    window loop tells this window's close button from the operator window's.
    """

    window = None

    def __init__(self, size: Size, title: str = "livegen", device: torch.device | str = "cpu",
                 vsync: bool = False, display: int = 0) -> None:
        try:
            from OpenGL import GL
        except ImportError:
            raise SinkUnavailable("GL window needs PyOpenGL: pip install 'livegen[gl]'") from None
        import pygame

        self.GL = GL
        self.size = size
        pygame.display.init()
        flags = pygame.OPENGL | pygame.DOUBLEBUF
        warnings.filterwarnings("ignore", message="regular vsync for OpenGL not available")  # paced by the clock
        try:
            try:
                pygame.display.set_mode(tuple(size), flags, display=display, vsync=int(vsync))
            except pygame.error:  # drivers without vsync: pace by the clock instead
                pygame.display.set_mode(tuple(size), flags, display=display)
        except pygame.error as e:
            raise SinkUnavailable(f"GL window: no OpenGL context ({e})") from None
        pygame.display.set_caption(title)
        self._sdl = _sdl_library()
        self._context = (self._sdl.SDL_GL_GetCurrentWindow(), self._sdl.SDL_GL_GetCurrentContext())
        self.fullscreen = False
        w, h = size
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

    def _make_current(self) -> None:
        self._sdl.SDL_GL_MakeCurrent(*self._context)

    def present(self, frame: torch.Tensor) -> None:
        """Show a (1, 3, H, W) [0, 1] frame of the window's size."""
        self.present_rgba(to_rgba8(frame))

    def present_rgba(self, rgba: torch.Tensor) -> None:
        """Show an (H, W, 4) uint8 frame from :func:`to_rgba8`, on the device it was made on."""
        GL = self.GL
        self._make_current()
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
        import pygame

        GL = self.GL
        # The picture keeps its aspect in a larger (fullscreen) window: black bars, centred.
        win_w, win_h = pygame.display.get_window_size()
        scale = min(win_w / self.size.w, win_h / self.size.h)
        w, h = round(self.size.w * scale), round(self.size.h * scale)
        GL.glViewport(0, 0, win_w, win_h)
        GL.glClearColor(0.0, 0.0, 0.0, 1.0)
        GL.glClear(GL.GL_COLOR_BUFFER_BIT)
        GL.glViewport((win_w - w) // 2, (win_h - h) // 2, w, h)
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
        self._make_current()
        self._draw()
        GL.glFinish()
        w, h = self.size
        data = GL.glReadPixels(0, 0, w, h, GL.GL_RGB, GL.GL_UNSIGNED_BYTE)
        return np.frombuffer(data, np.uint8).reshape(h, w, 3)[::-1].copy()

    def screenshot(self) -> np.ndarray:
        """What the window shows (as the plain window's ``screenshot``)."""
        return self.read_back()

    def set_fullscreen(self, on: bool) -> None:
        import pygame

        if on != self.fullscreen:
            pygame.display.toggle_fullscreen()
            self.fullscreen = on

    def poll(self) -> list[str]:
        """Window events as commands: "quit" when the window is closed or Esc is pressed."""
        import pygame

        out = []
        for event in pygame.event.get():
            if event.type == pygame.QUIT or (event.type == pygame.KEYDOWN and event.key == pygame.K_ESCAPE):
                out.append("quit")
        return out

    def destroy(self) -> None:
        """Close this window and free its texture; other SDL windows (the operator's) go on.

        pygame cannot destroy its display window alone, so it is hidden until ``close``."""
        from pygame._sdl2 import video

        if self._interop is not None:
            self._interop.close()
            self._interop = None
        if self.texture:
            self._make_current()
            self.GL.glDeleteTextures([self.texture])
            self.texture = 0
        video.Window.from_display_module().hide()

    def close(self) -> None:
        import pygame

        self.destroy()
        pygame.display.quit()
