"""A VJ's NDI camera story, run by tests/test_ndi.py inside a private network namespace.

TouchDesigner's NDI Out stands in as a real cyndilib sender (livegen's own NDI sink) sending red
frames; the show's camera is ``ndi:story-cam``. The sender goes away (the test pattern shows),
then comes back sending blue (the show takes it again by itself). Prints one JSON line.
"""

from __future__ import annotations

import json
import time

import numpy as np

from livegen.rig import use_ndi_ips
from livegen.sinks.base import OffThreadSink
from livegen.sinks.ndi import NdiSink
from livegen.size import Size
from livegen.sources.feed import CameraFeed

SIZE = Size(160, 120)


def pump(sink: OffThreadSink, colour: tuple[int, int, int], feed: CameraFeed, until, limit: float) -> float:
    """Send frames at 30 fps until ``until(image)`` holds for the feed's newest image; seconds it took."""
    frame = np.empty((SIZE.h, SIZE.w, 3), np.uint8)
    frame[:] = colour
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if sink is not None:
            sink.offer(frame)
        if until(feed(0.0)[0]):
            return time.monotonic() - start
        time.sleep(1 / 30)
    return -1.0


def main() -> None:
    use_ndi_ips("127.0.0.1")
    feed = CameraFeed("ndi:story-cam", SIZE)
    out: dict = {}
    try:
        sender = OffThreadSink(NdiSink("story-cam", SIZE, 30))
        out["red_after_s"] = pump(sender, (255, 0, 0), feed,
                                  lambda im: im is not None and im[..., 0].mean() > 200 and im[..., 2].mean() < 50, 20)
        out["status_while_sending"] = feed.status()
        sender.close()
        out["pattern_after_s"] = pump(None, (0, 0, 0), feed, lambda im: im is None, 10)
        out["status_while_gone"] = feed.status()
        sender = OffThreadSink(NdiSink("story-cam", SIZE, 30))
        out["blue_after_s"] = pump(sender, (0, 0, 255), feed,
                                   lambda im: im is not None and im[..., 2].mean() > 200 and im[..., 0].mean() < 50, 30)
        out["status_back"] = feed.status()
        out["reconnects"] = feed._live.reconnects  # type: ignore[union-attr]
        sender.close()
    finally:
        feed.close()
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
