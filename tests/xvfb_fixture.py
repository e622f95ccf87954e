"""A real X server (Xvfb) for window tests, and the window manager's "close" message sent to a window.

SDL's dummy driver has no windows another program can see or close; under Xvfb the live windows
are real X11 windows: ``xwininfo`` lists them and a WM_DELETE_WINDOW client message (what a window
manager sends when the user clicks the close button) reaches SDL as a window-close event.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="module")
def xvfb() -> Iterator[str]:
    """DISPLAY of a private Xvfb server (one 1024x768 screen) for the module's tests."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb)")
    read, write = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
                            pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as f:
        number = f.readline().strip()
    if not number:
        proc.kill()
        pytest.skip("Xvfb did not start")
    try:
        yield f":{number}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def window_ids(display: str) -> dict[str, int]:
    """Title -> X window id of every named top-level window on ``display`` (from xwininfo)."""
    out = subprocess.run(["xwininfo", "-root", "-children", "-display", display], capture_output=True, text=True,
                         timeout=10).stdout
    ids = {}
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("0x") and '"' in line:
            wid, rest = line.split(" ", 1)
            ids[rest.split('"')[1]] = int(wid, 16)
    return ids


class _ClientMessage(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("serial", ctypes.c_ulong), ("send_event", ctypes.c_int),
                ("display", ctypes.c_void_p), ("window", ctypes.c_ulong), ("message_type", ctypes.c_ulong),
                ("format", ctypes.c_int), ("data", ctypes.c_long * 5)]


def close_window(display: str, window: int) -> None:
    """Ask ``window`` to close as a window manager does: WM_PROTOCOLS / WM_DELETE_WINDOW."""
    x11 = ctypes.CDLL(ctypes.util.find_library("X11"))
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XInternAtom.restype = ctypes.c_ulong
    x11.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    x11.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long, ctypes.c_void_p]
    x11.XFlush.argtypes = [ctypes.c_void_p]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    dpy = x11.XOpenDisplay(display.encode())
    assert dpy, f"cannot open X display {display}"
    event = (ctypes.c_char * 192)()  # sizeof(XEvent): 24 longs
    msg = _ClientMessage.from_buffer(event)
    msg.type = 33  # ClientMessage
    msg.window = window
    msg.message_type = x11.XInternAtom(dpy, b"WM_PROTOCOLS", 0)
    msg.format = 32
    msg.data[0] = x11.XInternAtom(dpy, b"WM_DELETE_WINDOW", 0)
    x11.XSendEvent(dpy, window, 0, 0, ctypes.addressof(event))
    x11.XFlush(dpy)
    x11.XCloseDisplay(dpy)
