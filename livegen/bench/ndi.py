"""``livegen bench ndi``: NDI frames sent and received per second, and what sending costs the render thread.

A stand-in render thread offers frames at ``--fps`` to the NDI sink (its own thread does the
send); an NDI receiver (``ndi:NAME``, the same source class a show's camera uses) takes them in
the same process. Printed as JSON: frames offered, sent and received per second, the render
thread's cost per frame (the hand-over) and the sink thread's send time.

NDI discovery multicasts on every interface; ``--netns`` reruns the benchmark inside a private
network namespace with only loopback (``unshare -n``, needs root or user namespaces) with NDI
pointed at 127.0.0.1, which is how the tests run it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np

from livegen.rig import use_ndi_ips
from livegen.size import Size, parse_size


def in_netns(argv: list[str], timeout: float) -> subprocess.CompletedProcess:
    """Run ``python -m livegen ARGV`` inside a new network namespace whose loopback is up."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        raise RuntimeError("needs unshare (util-linux) and ip (iproute2)")
    inner = " ".join([sys.executable, "-m", "livegen", *argv])
    env = {k: v for k, v in os.environ.items() if k != "NDI_CONFIG_DIR"}
    return subprocess.run(["unshare", "-n", "sh", "-c", f"ip link set lo up && exec {inner}"], env=env,
                          capture_output=True, text=True, timeout=timeout)


def measure(size: Size, fps: float, seconds: float, name: str = "livegen-bench") -> dict:
    from livegen.sinks.base import OffThreadSink
    from livegen.sinks.ndi import NdiSink
    from livegen.sources.ndi import NdiSource

    sink = OffThreadSink(NdiSink(name, size, fps))
    source = NdiSource(name, size).start()
    frames = [np.full((size.h, size.w, 3), v, np.uint8) for v in (0, 85, 170)]
    try:
        # Wait (bounded) until the receiver sees frames, so the figures count the steady state.
        deadline = time.monotonic() + 15.0
        while source.received == 0 and time.monotonic() < deadline:
            sink.offer(frames[0])
            time.sleep(1.0 / fps)
        if source.received == 0:
            raise RuntimeError(f"the NDI receiver saw no frame within 15 s ({source.status})")
        sent0, recv0 = sink.sent, source.received
        offer_ms = []
        period = 1.0 / fps
        start = next_t = time.monotonic()
        n = 0
        while time.monotonic() - start < seconds:
            t0 = time.perf_counter()
            sink.offer(frames[n % 3])
            offer_ms.append((time.perf_counter() - t0) * 1000.0)
            n += 1
            next_t += period
            time.sleep(max(next_t - time.monotonic(), 0.0))
        elapsed = time.monotonic() - start
        time.sleep(0.2)  # the last frames in flight
        return {"size": str(size), "fps_asked": fps, "offered_per_s": round(n / elapsed, 2),
                "sent_per_s": round((sink.sent - sent0) / elapsed, 2),
                "received_per_s": round((source.received - recv0) / elapsed, 2),
                "render_thread_ms_mean": round(float(np.mean(offer_ms)), 4),
                "render_thread_ms_max": round(float(np.max(offer_ms)), 4),
                "sink_thread_send_ms_last": round(sink.send_ms, 3), "dropped": sink.dropped}
    finally:
        source.stop()
        sink.close()


def main(argv: list[str]) -> int:
    """Print NDI throughput figures as JSON lines, one per size."""
    ap = argparse.ArgumentParser(prog="livegen bench ndi", description=__doc__.replace("``", ""),
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", nargs="+", default=["640x480", "1280x720"])
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--netns", action="store_true", help="run inside a private network namespace (loopback only)")
    ap.add_argument("--ips", default="127.0.0.1", help="NDI peers without multicast discovery ('' = multicast)")
    args = ap.parse_args(argv)
    if args.netns:
        rest = [a for a in argv if a != "--netns"]
        try:
            done = in_netns(["bench", "ndi", *rest], timeout=60 + 30 * len(args.sizes) * (args.seconds + 20))
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            print(f"livegen bench ndi: {e}", file=sys.stderr)
            return 1
        sys.stdout.write(done.stdout)
        sys.stderr.write(done.stderr)
        return done.returncode
    use_ndi_ips(args.ips)
    for text in args.sizes:
        try:
            row = measure(parse_size(text), args.fps, args.seconds)
        except (RuntimeError, ImportError, ValueError) as e:
            print(f"livegen bench ndi: {text}: {e}", file=sys.stderr)
            return 1
        print(json.dumps(row), flush=True)
    return 0
