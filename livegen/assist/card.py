"""Drawing the assist tools' one-page pictures: the analysis card and the suggestions' contact sheet.

Offline, not in the frame loop. Pillow draws (its built-in scalable font, so no font file is
needed); pictures come in as H x W x 3 uint8 RGB arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from livegen.stages.palette import Palette

INK = (235, 235, 235)
DIM = (150, 150, 150)
PAPER = (24, 24, 28)


def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def fit(rgb: np.ndarray, w: int, h: int) -> Image.Image:
    """The picture shrunk (or grown) to fit in w x h, aspect kept."""
    img = Image.fromarray(rgb)
    s = min(w / img.width, h / img.height)
    return img.resize((max(1, round(img.width * s)), max(1, round(img.height * s))), Image.Resampling.LANCZOS)


def swatches(draw: ImageDraw.ImageDraw, palette: Palette, x: int, y: int, w: int, h: int,
             weighted: bool = True, labels: bool = True) -> None:
    """A bar of the palette's colours, each as wide as its weight (or equal widths)."""
    n = len(palette.colours)
    widths = palette.weights if weighted else np.full(n, 1.0 / n)
    left = float(x)
    small = font(12)
    for colour, share, text in zip(palette.colours, widths, palette.hex):
        right = left + share * w
        fill = tuple(int(round(c * 255)) for c in colour)
        draw.rectangle([round(left), y, max(round(left), round(right) - 1), y + h], fill=fill)
        if labels and right - left > 52:
            ink = (0, 0, 0) if float(np.dot(colour, [0.299, 0.587, 0.114])) > 0.55 else (255, 255, 255)
            draw.text((round(left) + 4, y + h - 16), text, fill=ink, font=small)
        left = right


def analysis_card(title: str, pictures: Sequence[np.ndarray], report: dict[str, Any], palette: Palette,
                  harmonies: dict[str, Palette], style_pictures: dict[str, np.ndarray], out: Path) -> Path:
    """One page: the picture, its palette and figures, the closest styles, suggested palettes and settings."""
    width, height = 1100, 760
    card = Image.new("RGB", (width, height), PAPER)
    draw = ImageDraw.Draw(card)
    draw.text((24, 16), f"livegen analyze  ·  {title}", fill=INK, font=font(24))
    # The picture (a 2 x 2 grid of frames for a video).
    if len(pictures) == 1:
        card.paste(fit(pictures[0], 480, 360), (24, 60))
    else:
        for i, rgb in enumerate(pictures[:4]):
            card.paste(fit(rgb, 238, 178), (24 + (i % 2) * 242, 60 + (i // 2) * 182))
    x0 = 540
    draw.text((x0, 60), "palette (Oklab k-means, width = share)", fill=DIM, font=font(15))
    swatches(draw, palette, x0, 84, width - x0 - 24, 70)
    figs = report["figures"]
    lines = [f"brightness {figs['brightness']:.2f}    contrast {figs['contrast']:.2f}",
             f"colourfulness {figs['colourfulness']:.2f}    warm/cool {figs['warmth']:+.2f}"]
    for i, line in enumerate(lines):
        draw.text((x0, 168 + 24 * i), line, fill=INK, font=font(18))
    draw.text((x0, 230), "suggested palettes", fill=DIM, font=font(15))
    for i, (name, pal) in enumerate(harmonies.items()):
        y = 254 + i * 56
        draw.text((x0, y + 14), name, fill=INK, font=font(15))
        swatches(draw, pal, x0 + 130, y, width - x0 - 154, 44, weighted=False)
    # Styles, closest first.
    draw.text((24, 440), "closest shipped styles (VGG16 Gram statistics)", fill=DIM, font=font(15))
    # Models trained on the same picture (style3 and style8 share two) give it one place, naming both.
    by_image: dict[str, list[dict]] = {}
    for r in report["styles"]:
        by_image.setdefault(r["image"], []).append(r)
    ranked = [group[0] for group in by_image.values()][:4]
    worst = max((r["distance"] for r in ranked), default=1.0) or 1.0
    for i, r in enumerate(ranked):
        x, y = 24 + i * 264, 466
        pic = style_pictures.get(r["image"])
        if pic is not None:
            card.paste(fit(pic, 240, 150), (x, y))
        models = ", ".join(Path(g["model"]).stem for g in by_image[r["image"]])
        draw.text((x, y + 156), f"{i + 1}. {r['style']}", fill=INK, font=font(17))
        draw.rectangle([x, y + 182, x + round(220 * r["distance"] / worst), y + 190], fill=(120, 170, 255))
        draw.text((x, y + 194), f"distance {r['distance']:.3f} · {models}", fill=DIM, font=font(13))
    settings = report["suggestions"]["settings"]
    # style.a is a slot of one model: name the model, or the setting reads as the patch's own.
    style = report["suggestions"].get("style") or {}
    model = f"[style] model = {Path(style['model']).stem}, " if style.get("model") else ""
    text = "suggested: " + model + ", ".join(f"{k} = {v}" for k, v in settings.items())
    draw.text((24, height - 40), text[:150], fill=INK, font=font(16))
    out.parent.mkdir(parents=True, exist_ok=True)
    card.save(out)
    return out


def contact_sheet(title: str, tiles: Sequence[tuple[str, np.ndarray]], out: Path, columns: int = 4) -> Path:
    """A grid of labelled pictures (the suggested scenes), one page."""
    tw, th, pad = 256, 192, 12
    rows = max(1, -(-len(tiles) // columns))
    sheet = Image.new("RGB", (columns * (tw + pad) + pad, rows * (th + 34) + 56), PAPER)
    draw = ImageDraw.Draw(sheet)
    draw.text((pad, 12), title, fill=INK, font=font(20))
    for i, (label, rgb) in enumerate(tiles):
        x, y = pad + (i % columns) * (tw + pad), 48 + (i // columns) * (th + 34)
        pic = fit(rgb, tw, th)
        sheet.paste(pic, (x + (tw - pic.width) // 2, y + (th - pic.height) // 2))
        draw.text((x, y + th + 6), label, fill=INK, font=font(15))
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    return out
