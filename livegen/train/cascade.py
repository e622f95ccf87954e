"""``livegen train cascade``: one generator file from a trained core and a trained ×2/×4 stage.

Not part of the frame loop. The core (``livegen train gan/vae --size 64`` on a 128 px dataset) and
the upsampler (``livegen train upsample --from-crops`` on the same dataset) are trained apart;
this joins them into a :class:`~livegen.nets.generator.CascadeGenerator` file whose manifest keeps
both training records, the dataset's provenance and licence, so a patch names it like any model.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from livegen.nets.generator import CascadeGenerator, load_generator, save_generator
from livegen.nets.io import ModelError
from livegen.nets.upsample import load_upsampler
from livegen.train import command_line

log = logging.getLogger("livegen.train.cascade")


def join(core_path: str | Path, sr_path: str | Path, out: str | Path, half: bool = False,
         command: str = "") -> Path:
    """Write ``out`` (.safetensors + .json); ModelError if either part is unusable or they do not fit."""
    core, core_manifest = load_generator(core_path)
    sr, sr_manifest = load_upsampler(sr_path)
    if isinstance(core, CascadeGenerator):
        raise ModelError(f"{core_path}: already a cascade")
    data_core = core_manifest.get("dataset", {}).get("path")
    data_sr = sr_manifest.get("dataset", {}).get("path")
    if data_core and data_sr and Path(data_core).resolve() != Path(data_sr).resolve():
        log.warning("core trained on %s but the upsampler on %s", data_core, data_sr)
    net = CascadeGenerator(core, sr)
    manifest = {k: v for k, v in core_manifest.items() if k not in ("architecture", "weights_dtype", "quality")}
    manifest.update(name=Path(out).name, native_size=net.size, core_size=core.size,
                    training=core_manifest.get("training", {}),
                    upsampler_training={**sr_manifest.get("training", {}), "pairs": sr_manifest.get("pairs")},
                    joined_with=command)
    return save_generator(out, net, manifest, half=half)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="livegen train cascade", description="Join a trained generator core and a "
                                 "trained upsampler into one generator model")
    ap.add_argument("--core", required=True, help="generator .safetensors (e.g. a 64 px GAN)")
    ap.add_argument("--sr", required=True, help="upsampler .safetensors (livegen train upsample --from-crops)")
    ap.add_argument("--out", required=True, help="models/NAME (.safetensors + .json)")
    ap.add_argument("--half", action="store_true", help="store the weights as float16")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        path = join(a.core, a.sr, a.out, a.half, command_line("livegen train cascade", argv))
    except ModelError as e:
        print(f"livegen train cascade: {e}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
