"""``livegen suggest PATCH -n 8 -o DIR``: varied, lively scenes for a patch, ready on keys 1-8.

Offline, before a show. It renders candidate settings of the patch's own layers (latent
directions and truncation of the generator; style pair and mix; compose mode and
amount; the palette lock when the patch has a palette) with the lockstep engine at a small size,
drops the dull ones (low contrast, grey, blank), then picks candidates far apart from each other
in a feature space (an Oklab thumbnail plus the colour figures), farthest-point first. It writes
a contact sheet PNG, ``suggestions.json``, and a copy of the patch with the scenes added (tomlkit:
the user's comments and layout are kept) which ``livegen run`` plays with keys 1-8.
Deterministic for a seed.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import tomlkit
import torch

from livegen import limits
from livegen.assist.card import contact_sheet
from livegen.assist.colour import figures
from livegen.engine import Engine, open_engine
from livegen.patch import Patch, PatchError, load_patch
from livegen.sinks import to_uint8
from livegen.size import Size, parse_size
from livegen.stages.compose import BLEND_MODES
from livegen.stages.palette import rgb_to_oklab

MIN_CONTRAST = 0.06  # Oklab lightness standard deviation below this is a flat picture
MIN_COLOURFUL = 0.05  # Hasler-Süsstrunk M below this is (nearly) grey
LIGHTNESS = (0.1, 0.93)  # mean lightness outside this is a black or white screen
SCENE_FADE = 2.0


@dataclass
class Candidate:
    values: dict[str, Any]
    image: np.ndarray  # H x W x 3 uint8
    figures: dict[str, float]
    features: np.ndarray

    @property
    def lively(self) -> bool:
        f = self.figures
        return (f["contrast"] >= MIN_CONTRAST and f["colourfulness"] >= MIN_COLOURFUL
                and LIGHTNESS[0] <= f["brightness"] <= LIGHTNESS[1])

    @property
    def liveliness(self) -> float:
        return self.figures["contrast"] + self.figures["colourfulness"]


def features(image: np.ndarray) -> np.ndarray:
    """A 12 x 9 Oklab thumbnail (layout and colour) plus the colour figures, as one vector."""
    thumb = cv2.resize(image, (12, 9), interpolation=cv2.INTER_AREA).astype(np.float64) / 255.0
    lab = rgb_to_oklab(thumb.reshape(-1, 3)) * np.array([1.0, 2.0, 2.0])  # a and b span about half of L
    f = figures(image)
    return np.concatenate([lab.ravel() / np.sqrt(lab.size / 3), [f["contrast"], f["colourfulness"]]])


def propose(engine: Engine, rng: random.Random) -> dict[str, Any]:
    """One random setting of what the patch's layers can do (only layers that are on)."""
    values: dict[str, Any] = {}
    pipeline = engine.pipeline
    if pipeline.generator is not None and pipeline.generator.available:
        # Not generator.seed: a scene crossfades whole numbers through every value between.
        values["generator.truncation"] = round(rng.uniform(0.6, 1.3), 3)
        for i in range(1, 5):
            values[f"generator.dir{i}"] = round(rng.uniform(-0.8, 0.8), 3)
    if pipeline.style is not None and pipeline.style.available:
        n = len(pipeline.style.styles)
        values.update({"style.mode": "fader", "style.a": rng.randint(1, n), "style.b": rng.randint(1, n),
                       "style.mix": round(rng.random(), 3), "style.strength": round(rng.uniform(0.6, 1.0), 3)})
    if pipeline.generator is not None and pipeline.style is not None:
        values["compose.mode"] = rng.choice(BLEND_MODES)
        values["compose.amount"] = round(rng.uniform(0.25, 0.9), 3)
    if pipeline.palette is not None:
        values["palette.amount"] = round(rng.choice([0.0, rng.uniform(0.3, 0.9)]), 3)
    return values


def render_candidate(engine: Engine, values: dict[str, Any], t: float) -> np.ndarray:
    """The frame a scene gives once it has arrived (no glide, no smoothing left from the previous one)."""
    engine.store.recall(values, fade=0.0)
    engine.store.set("generator.glide", 0.0, immediate=True)
    engine.store.set("style.stabilize", 0.0, immediate=True)
    engine.tick(t)
    return to_uint8(engine.tick(t + 0.05))


def farthest_first(cands: list[Candidate], n: int) -> list[int]:
    """Indices of ``n`` candidates: the liveliest first, then each time the one farthest from those chosen."""
    if not cands:
        return []
    chosen = [max(range(len(cands)), key=lambda i: cands[i].liveliness)]
    feats = np.stack([c.features for c in cands])
    nearest = np.linalg.norm(feats - feats[chosen[0]], axis=1)
    while len(chosen) < min(n, len(cands)):
        nearest[chosen] = -1.0
        nxt = int(np.argmax(nearest))
        chosen.append(nxt)
        nearest = np.minimum(nearest, np.linalg.norm(feats - feats[nxt], axis=1))
    return chosen


def suggest(patch: Patch, n: int, candidates: int, seed: int, size: Size) -> list[Candidate]:
    """Render ``candidates`` settings and return ``n`` varied, lively ones (fewer if too few are lively)."""
    engine, feed = open_engine(patch, lockstep=True, size=size)
    rng = random.Random(f"suggest:{patch.seed}:{seed}")
    found: list[Candidate] = []
    try:
        for i in range(candidates):
            values = propose(engine, rng)
            image = render_candidate(engine, values, t=1.0 + i)
            found.append(Candidate(values, image, figures(image), features(image)))
    finally:
        feed.close()
        engine.close()
    lively = [c for c in found if c.lively]
    return [lively[i] for i in farthest_first(lively, n)]


def _absolute_paths(doc: tomlkit.TOMLDocument, source_dir: Path, out_dir: Path) -> None:
    """Model and image paths relative to the original patch keep pointing at the same files from the copy."""
    for section, key in (("style", "model"), ("generator", "model"), ("palette", "image")):
        table = doc.get(section)
        if table is None or not isinstance(table.get(key), str) or not table[key]:
            continue
        p = Path(table[key])
        if not p.is_absolute() and (source_dir / p).exists() and source_dir.resolve() != out_dir.resolve():
            table[key] = str((source_dir / p).resolve())


def write_patch_copy(patch: Patch, chosen: list[Candidate], out: Path) -> Path:
    """The patch with [scenes.suggestK] on keys 1..n added; the original's scenes on those keys give them up."""
    assert patch.source_path is not None, "suggest reads patches from files"
    doc = tomlkit.parse(patch.source_text)
    _absolute_paths(doc, patch.source_path.parent, out.parent)
    scenes = doc.get("scenes")
    if scenes is None:
        scenes = tomlkit.table(is_super_table=True)
        doc["scenes"] = scenes
    for name, table in scenes.items():
        if isinstance(table, dict) and 1 <= int(table.get("key", 0)) <= len(chosen):
            table["key"] = 0
            table["key"].comment(f"was {name}'s key; `livegen suggest` put a suggested scene there")
    for k, cand in enumerate(chosen, start=1):
        scene = tomlkit.table()
        scene.add(tomlkit.comment(f"suggested by livegen suggest: contrast {cand.figures['contrast']:.2f}, "
                                  f"colourfulness {cand.figures['colourfulness']:.2f}"))
        scene["key"] = k
        scene["fade"] = SCENE_FADE
        values = tomlkit.inline_table()
        values.update(cand.values)
        scene["values"] = values
        scenes[f"suggest{k}"] = scene
    out.write_text(tomlkit.dumps(doc), encoding="utf-8")
    return out


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="livegen suggest", description=__doc__.splitlines()[0].replace("``", ""))
    ap.add_argument("patch", type=Path)
    ap.add_argument("-n", type=int, default=limits.SUGGEST_MAX, help=f"scenes to suggest (1..{limits.SUGGEST_MAX})")
    ap.add_argument("-o", "--out", type=Path, required=True, help="folder for the contact sheet and the patch copy")
    ap.add_argument("--candidates", type=int, default=48, help="settings rendered to choose from")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--size", default="256x192", help="size the candidates are rendered at")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args(argv)
    if not 1 <= args.n <= limits.SUGGEST_MAX:
        ap.error(f"-n must be 1..{limits.SUGGEST_MAX}")
    if not args.n <= args.candidates <= limits.SUGGEST_CANDIDATES:
        ap.error(f"--candidates must be {args.n}..{limits.SUGGEST_CANDIDATES}")
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        patch = load_patch(args.patch)
        size = parse_size(args.size)
    except (PatchError, ValueError) as e:
        print(f"livegen suggest: {e}", file=sys.stderr)
        return 2
    try:
        chosen = suggest(patch, args.n, args.candidates, args.seed, size)
        args.out.mkdir(parents=True, exist_ok=True)
        if not chosen:
            print(f"livegen suggest: none of {args.candidates} candidates was lively (every picture flat, grey "
                  "or blank): check the patch's models and camera", file=sys.stderr)
            return 1
        sheet = contact_sheet(f"livegen suggest · {patch.name} · seed {args.seed}",
                              [(f"{k}  suggest{k}", c.image) for k, c in enumerate(chosen, start=1)],
                              args.out / "contact-sheet.png")
        copy = write_patch_copy(patch, chosen, args.out / f"{args.patch.stem}-suggested.toml")
        report = {"patch": str(copy), "contact_sheet": str(sheet),
                  "scenes": [{"name": f"suggest{k}", "key": k, "values": c.values, "figures": c.figures}
                             for k, c in enumerate(chosen, start=1)]}
        (args.out / "suggestions.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    except (OSError, RuntimeError) as e:
        print(f"livegen suggest: {e}", file=sys.stderr)
        return 1
    print(json.dumps(report, indent=2))
    if len(chosen) < args.n:
        print(f"livegen suggest: only {len(chosen)} of {args.candidates} candidates were lively", file=sys.stderr)
    return 0
