"""OSC flood benchmark: loss and throughput of the OSC receive thread at 1k, 10k and 50k msg/s.

A separate process sends float messages to a real :class:`livegen.control.osc.server.OscServer` over
loopback UDP, paced at each rate (and once unpaced), while a stand-in render loop drains the bus
at 60 frames per second. Prints one line per rate: sent, received, lost, receive rate, and how
many events the loop actually saw after per-frame coalescing.

    python -m livegen.bench.osc_flood [--seconds 2] [--rates 1000 10000 50000] [--unpaced 10000]
"""

from __future__ import annotations

import argparse
import socket
import struct
import subprocess
import sys
import threading
import time

from livegen.control.bus import ControlBus
from livegen.control.osc.config import OscConfig
from livegen.control.osc.schema import AddressBook
from livegen.control.osc.server import OscServer
from livegen.params import CORE_PARAMS, OSC_PREFIX, ParamRegistry, ParamSpec

_ADDRESSES = [f"{OSC_PREFIX}bench/p{i}" for i in range(8)]


def _osc_float(address: str, value: float) -> bytes:
    a = address.encode() + b"\x00"
    a += b"\x00" * (-len(a) % 4)
    return a + b",f\x00\x00" + struct.pack(">f", value)


def send(port: int, count: int, rate: float) -> None:
    """Sender process: ``count`` float messages at ``rate`` per second (0 = as fast as possible)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    packets = [_osc_float(_ADDRESSES[i % len(_ADDRESSES)], (i % 1000) / 1000.0) for i in range(count)]
    dest = ("127.0.0.1", port)
    t0 = time.perf_counter()
    for i, p in enumerate(packets):
        if rate > 0 and i % 16 == 0:
            # Pace in small batches: sleeping per message is coarser than 50 kHz allows.
            ahead = t0 + i / rate - time.perf_counter()
            if ahead > 0.0005:
                time.sleep(ahead)
        sock.sendto(p, dest)
    sock.close()


def run_one(count: int, rate: float, quiet: float = 0.5) -> dict[str, float]:
    """Start a server, flood it from another process, return the figures."""
    reg = ParamRegistry([*CORE_PARAMS, *(ParamSpec(a[len(OSC_PREFIX):].replace("/", "."), default=0.0)
                                          for a in _ADDRESSES)])
    bus = ControlBus()
    t0 = time.monotonic()

    def now() -> float:
        return time.monotonic() - t0

    server = OscServer(OscConfig(port=0), bus, now, AddressBook(reg)).start()
    seen = 0
    first = last = None
    stop = threading.Event()

    def render_loop() -> None:
        nonlocal seen
        while not stop.is_set():
            seen += len(bus.drain(now()))
            time.sleep(1 / 60)

    loop = threading.Thread(target=render_loop, daemon=True)
    loop.start()
    try:
        start = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "livegen.bench.osc_flood", "--send",
                                 str(server.port), str(count), str(rate)])
        prev, still = -1, time.monotonic()
        while True:
            got = server.dispatcher.received
            if got and first is None:
                first = time.monotonic()
            if got != prev:
                prev, still = got, time.monotonic()
                last = still
            if got >= count or (proc.poll() is not None and time.monotonic() - still > quiet):
                break
            time.sleep(0.002)
        proc.wait()
        send_time = time.monotonic() - start
    finally:
        stop.set()
        loop.join()
        seen += len(bus.drain(float("inf")))
        server.close()
    received = server.dispatcher.received
    span = (last - first) if (first is not None and last is not None and last > first) else float("nan")
    return {"sent": count, "received": received, "lost": count - received,
            "loss_pct": 100.0 * (count - received) / count, "recv_rate": received / span if span else 0.0,
            "wall_s": send_time, "loop_events": seen, "buffer": server.recv_buffer}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="livegen bench osc", description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=2.0, help="length of each paced run")
    ap.add_argument("--rates", type=float, nargs="*", default=[1000, 10000, 50000])
    ap.add_argument("--unpaced", type=int, default=10000, help="messages in the unpaced run (0 = skip)")
    ap.add_argument("--send", nargs=3, metavar=("PORT", "COUNT", "RATE"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.send:
        send(int(args.send[0]), int(args.send[1]), float(args.send[2]))
        return 0
    runs = [(f"{r:,.0f}/s", int(r * args.seconds), r) for r in args.rates]
    if args.unpaced:
        runs.append(("unpaced", args.unpaced, 0.0))
    print(f"{'rate':>10} {'sent':>8} {'received':>9} {'lost':>6} {'loss %':>7} {'recv msg/s':>11} "
          f"{'loop events':>12}")
    for label, count, rate in runs:
        r = run_one(count, rate)
        print(f"{label:>10} {r['sent']:>8} {r['received']:>9} {r['lost']:>6} {r['loss_pct']:>7.2f} "
              f"{r['recv_rate']:>11,.0f} {r['loop_events']:>12}", flush=True)
    print(f"(SO_RCVBUF granted: {r['buffer']} bytes; loop events = what the render loop saw after coalescing)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
