"""Stories that must keep their network traffic on this machine: NDI and Ableton Link discover peers by
multicast on every interface, so their stories run in a private network namespace that has nothing but
loopback (``unshare -n``, then ``ip link set lo up``)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def problem(module: str, what: str) -> str:
    """Why such a story cannot run here ("" when it can): ``module`` missing (``what`` names it), or no namespace."""
    if importlib.util.find_spec(module) is None:
        return f"{what} is not installed"
    try:
        done = subprocess.run(["unshare", "-n", "sh", "-c", "ip link set lo up"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"unshare/ip unavailable: {e}"
    if done.returncode != 0:
        return f"no private network namespace here (unshare -n: {done.stderr.decode().strip()})"
    return ""


def run_story(script: str, timeout: float = 120) -> dict:
    """Run ``tests/SCRIPT`` inside a loopback-only namespace; the JSON line it prints last."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("NDI_CONFIG_DIR", None)  # the story sets up its own
    done = subprocess.run(["unshare", "-n", "sh", "-c", f"ip link set lo up && exec {sys.executable} "
                           f"{ROOT / 'tests' / script}"], env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])
