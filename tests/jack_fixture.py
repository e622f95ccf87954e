"""Session fixture: a JACK server for MIDI tests through real virtual ports.

Uses a running JACK server when there is one (``.ci/run`` starts ``jackd --no-realtime -d dummy``);
otherwise starts a private, uniquely named dummy server for this test session, points this
process (and its children) at it with JACK_DEFAULT_SERVER, and stops it afterwards, so parallel
test runs and a live show never share or kill each other's server.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

BACKEND = "mido.backends.rtmidi/UNIX_JACK"


def _running(server: str | None = None) -> bool:
    cmd = ["jack_wait", "-c"] + (["-s", server] if server else [])
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and "not running" not in out.stdout


@pytest.fixture(scope="session")
def jack_server():
    """Yields the JACK server name in use (None = the default server)."""
    if shutil.which("jackd") is None or shutil.which("jack_wait") is None:
        message = "JACK (Debian jackd2) is not installed: MIDI tests need jackd"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI installs it (.ci/run): a skip there would hide a broken setup
        pytest.skip(message)
    os.environ["JACK_NO_START_SERVER"] = "1"
    if _running(os.environ.get("JACK_DEFAULT_SERVER")):
        yield os.environ.get("JACK_DEFAULT_SERVER")
        return
    name = f"livegen-test-{os.getpid()}"
    # A 256-frame period (5 ms at 48 kHz) keeps MIDI delivery close to real time.
    proc = subprocess.Popen(["jackd", "-n", name, "--no-realtime", "-d", "dummy", "-r", "48000", "-p", "256"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    old = os.environ.get("JACK_DEFAULT_SERVER")
    os.environ["JACK_DEFAULT_SERVER"] = name
    try:
        deadline = time.monotonic() + 20
        while not _running(name):
            if proc.poll() is not None:
                pytest.fail(f"jackd exited with {proc.returncode} before it was ready")
            if time.monotonic() > deadline:
                pytest.fail("jackd did not start within 20 s")
            time.sleep(0.2)
        yield name
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if old is None:
            os.environ.pop("JACK_DEFAULT_SERVER", None)
        else:
            os.environ["JACK_DEFAULT_SERVER"] = old


@pytest.fixture
def midi_out(jack_server, request):
    """A virtual MIDI output port standing in for a hardware controller; closed after the test."""
    import mido

    backend = mido.Backend(BACKEND)
    ports = []

    def open_port(name: str):
        port = backend.open_output(name, virtual=True)
        ports.append(port)
        return port

    yield open_port
    for p in ports:
        if not p.closed:
            p.close()
