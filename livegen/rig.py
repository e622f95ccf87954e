"""The show's place in a VJ rig: NDI discovery settings and the extra outputs a show asks for.

App level: live.py and render.py call these so that the sinks and sources stay free of the patch.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger("livegen.rig")


def use_ndi_ips(ips: str) -> Path | None:
    """Point NDI at ``ips`` (comma-separated peers) instead of multicast discovery, via ``NDI_CONFIG_DIR``.

    Must run before the first NDI sender or receiver starts (the runtime reads its config once).
    A user's own ``NDI_CONFIG_DIR`` wins: it may hold more than the address list. Returns the
    config folder written, or None when nothing was changed.
    """
    ips = ",".join(p.strip() for p in ips.split(",") if p.strip())
    if not ips or os.environ.get("NDI_CONFIG_DIR"):
        return None
    tag = hashlib.sha256(ips.encode()).hexdigest()[:12]
    folder = Path(tempfile.gettempdir()) / f"livegen-ndi-{os.getuid()}-{tag}"
    folder.mkdir(parents=True, exist_ok=True)
    config = {"ndi": {"networks": {"ips": ips, "discovery": ""}}}
    (folder / "ndi-config.v1.json").write_text(json.dumps(config), encoding="utf-8")
    os.environ["NDI_CONFIG_DIR"] = str(folder)
    log.info("NDI: peers %s without multicast discovery (%s)", ips, folder)
    return folder


def sink_requests(patch_requests: Iterable[tuple[str, str]], ndi: str | None = None, spout: str | None = None,
                  syphon: str | None = None, virtual_camera: bool = False) -> list[tuple[str, str]]:
    """The patch's ``[output]`` sinks with the command line's added (a kind given on both is opened once)."""
    asked = dict(patch_requests)
    for kind, target in (("ndi", ndi), ("spout", spout), ("syphon", syphon)):
        if target:
            asked[kind] = target
    if virtual_camera:
        asked["virtual_camera"] = ""
    return list(asked.items())
