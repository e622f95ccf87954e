"""``livegen analyze IMAGE|VIDEO``: a key visual's palette, closest styles and matching settings.

Offline, before a show: a VJ drops in the client's key visual (or a clip) and gets JSON on
standard output plus a one-page PNG card: the six dominant colours with their shares (k-means in
Oklab), brightness, contrast, colourfulness and warm/cool balance; the shipped styles ranked by
closeness in the VGG16 loss network's Gram statistics; and suggestions: the closest style with a
``style.color`` setting, the palette lock pointed at the picture, and two harmonious palettes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from livegen import limits
from livegen.assist.card import analysis_card
from livegen.assist.colour import figures, harmonies, palette_distance
from livegen.assist.styles import ShippedStyle, Trunk, load_vgg, rank_styles, shipped_styles
from livegen.nets.io import ModelError
from livegen.stages.palette import Palette, dominant_colours, read_rgb

VIDEO_EXTS = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v")
COLOR_SCALE = 0.15  # Oklab palette distance at which the style's own colours are fully swapped for the picture's


class AnalyzeError(Exception):
    """An input that cannot be analysed; the message names the file."""


def read_pictures(path: Path, frames: int = limits.ANALYZE_FRAMES, max_side: int = 512) -> list[np.ndarray]:
    """An image as one picture, or up to ``frames`` evenly spaced frames of a video (RGB uint8)."""
    if not path.is_file():
        raise AnalyzeError(f"{path}: no such file")
    if path.suffix.lower() not in VIDEO_EXTS:
        try:
            return [read_rgb(path, max_side)]
        except ValueError as e:
            raise AnalyzeError(str(e)) from None
    cap = cv2.VideoCapture(str(path))
    try:
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        wanted = np.linspace(0, max(count - 1, 0), min(frames, max(count, 1))).round().astype(int)
        out = []
        for index in wanted:
            cap.set(cv2.CAP_PROP_POS_FRAMES, int(index))
            ok, bgr = cap.read()
            if not ok:
                continue
            h, w = bgr.shape[:2]
            s = min(1.0, max_side / max(h, w))
            if s < 1.0:
                bgr = cv2.resize(bgr, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
            out.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    finally:
        cap.release()
    if not out:
        raise AnalyzeError(f"{path}: no frame could be read (not a video OpenCV can decode?)")
    return out


def style_color(picture: Palette, style_image: Path | None) -> float:
    """``style.color`` for the closest style: 0 keeps its colours when they already match the
    picture's; toward 1 the camera's colours are kept instead (the style's strokes, not its paint)."""
    if style_image is None:
        return 0.0
    d = palette_distance(picture, dominant_colours(read_rgb(style_image)))
    return round(min(max(d / COLOR_SCALE, 0.0), 1.0) * 20) / 20


def analyze(path: Path, trunk: Trunk | None = None, styles: list[ShippedStyle] | None = None,
            seed: int = 0) -> tuple[dict[str, Any], list[np.ndarray], Palette, dict[str, Palette]]:
    """The report (JSON-ready), the pictures read, the palette and its harmonies."""
    pictures = read_pictures(path)
    stacked = np.concatenate([p.reshape(-1, 3) for p in pictures])[:, None, :]
    palette = dominant_colours(stacked, seed=seed)
    styles = shipped_styles() if styles is None else styles
    notes = [f"{s.model.stem}/{s.key}: style image not on this machine, not ranked" for s in styles if s.image is None]
    ranked: list[dict] = []
    if any(s.image is not None for s in styles):
        try:
            ranked = rank_styles(pictures, styles, trunk or load_vgg())
        except ModelError as e:
            notes.append(f"styles not ranked: {e}")
    else:
        notes.append("no style model with its style image here: styles not ranked")
    harmony = harmonies(palette)
    settings: dict[str, Any] = {"palette.amount": 0.5}
    suggestions: dict[str, Any] = {"settings": settings, "palette": {"image": str(path)},
                                   "palettes": {k: p.hex for k, p in harmony.items()}}
    if ranked:
        best = ranked[0]
        image = next((s.image for s in styles if s.model.name == best["model"] and s.index == best["index"]), None)
        suggestions["style"] = {"model": f"models/{best['model']}", "style": best["style"]}
        settings.update({"style.mode": "fader", "style.a": best["index"], "style.mix": 0.0,
                         "style.color": style_color(palette, image)})
    report = {
        "file": str(path),
        "frames": len(pictures),
        "palette": [{"hex": h, "weight": round(float(w), 4)} for h, w in zip(palette.hex, palette.weights)],
        "figures": figures(stacked.reshape(-1, 3)),
        "styles": ranked,
        "suggestions": suggestions,
    }
    if notes:
        report["notes"] = notes
    return report, pictures, palette, harmony


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="livegen analyze", description=__doc__.splitlines()[0].replace("``", ""))
    ap.add_argument("input", type=Path, help="an image or a video file")
    ap.add_argument("--card", type=Path, default=None, help="where to write the PNG card (default: INPUT-card.png "
                                                            "in the current folder)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the colour clustering")
    ap.add_argument("--threads", type=int, default=None, help="CPU threads for the VGG16 trunk")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        report, pictures, palette, harmony = analyze(args.input, seed=args.seed)
    except AnalyzeError as e:
        print(f"livegen analyze: {e}", file=sys.stderr)
        return 1
    card = args.card or Path(f"{args.input.stem}-card.png")
    shown = list(dict.fromkeys(r["image"] for r in report["styles"]))[:4]  # the card's four, closest first
    style_pictures = {image: read_rgb(Path(image), 320) for image in shown}
    try:
        analysis_card(args.input.name, pictures, report, palette, harmony, style_pictures, card)
    except OSError as e:
        print(f"livegen analyze: cannot write the card {card}: {e}", file=sys.stderr)
        return 1
    report["card"] = str(card)
    print(json.dumps(report, indent=2))
    return 0
