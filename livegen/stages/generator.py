"""Generator stage: the latent walk, then the generator net, upscaled to the output size.

Once per frame ``GeneratorStage.forward(snap, camera, size)`` advances the latent walk from the
snapshot (never the wall clock), turns the walk position into a latent vector (truncation,
principal directions ``generator.dir1..8``, the camera's own latent for VAEs), draws one image
with the generator and brings it to the frame on the device through the upscale stage
(:mod:`livegen.stages.upscale`: the learned upsampler by default, or a plain filter). A missing or broken model switches
the stage off with a status line; the show goes on with the other layers.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from livegen.config import ConfigError
from livegen.nets import ort
from livegen.nets.cudagraph import GraphedGenerator
from livegen.nets.generator import load_generator
from livegen.nets.io import ModelError
from livegen.params import ParamSpec
from livegen.paths import model_file
from livegen.size import Size
from livegen.stages.latent import N_DIRS, N_KEYS, LatentWalk, cached_directions
from livegen.stages.resize import FITS
from livegen.stages.upscale import Upscaler

log = logging.getLogger("livegen.generator")

MODES = ("loop", "drift", "hold")
RUNTIMES = ("auto", "torch")
Runner = Callable[[torch.Tensor], torch.Tensor]
DIR_RANGE = 2.0  # knob at ±1 moves ±2 standard deviations of the N(0, I) prior: still typical latents

PARAMS: list[ParamSpec] = [
    ParamSpec("generator.speed", default=1.0, min=0.0, max=4.0, smoothing=0.2,
              description="walk speed; 1 = one loop (or drift leg) per loop length"),
    ParamSpec("generator.mode", kind="enum", default="loop", choices=MODES, min=None, max=None,
              description="loop: smooth closed noise loop; drift: glides between random points; hold: stay"),
    ParamSpec("generator.loop_length", default=32.0, min=1.0, max=256.0,
              description="length of one loop / drift leg, in loop units"),
    ParamSpec("generator.loop_unit", kind="enum", default="beats", choices=("beats", "seconds"), min=None, max=None,
              description="loop length counted in beats (follows the tempo) or seconds"),
    ParamSpec("generator.jump", kind="trigger", default=False, min=None, max=None,
              description="jump to a new random place (glides over generator.glide)"),
    ParamSpec("generator.glide", default=1.0, min=0.0, max=16.0,
              description="seconds a jump / recall / seed change takes to arrive (0 = cut)"),
    ParamSpec("generator.quantise", kind="enum", default="off", choices=("off", "beat", "bar"), min=None, max=None,
              description="stretch jump glides so they land on the next beat or bar"),
    ParamSpec("generator.truncation", default=1.0, min=0.0, max=2.0, smoothing=0.1,
              description="latent radius: <1 safer, more average images; >1 wilder"),
    ParamSpec("generator.seed", kind="int", default=0, min=0, max=9999,
              description="which random walk; changing it glides to a new path"),
    *[ParamSpec(f"generator.dir{i}", default=0.0, min=-1.0, max=1.0, smoothing=0.1,
                description=f"principal direction {i} of the model's image space (±1 = ±2 σ)")
      for i in range(1, N_DIRS + 1)],
    ParamSpec("generator.sharpen", default=0.25, min=0.0, max=1.0, smoothing=0.1,
              description="crispness at the output size: unsharp mask on the native picture before upscaling"),
    ParamSpec("generator.camera_mix", default=0.0, min=0.0, max=1.0, smoothing=0.2,
              description="VAE only: blend the camera frame's latent into the walk"),
    ParamSpec("generator.slot", kind="int", default=1, min=1, max=N_KEYS,
              description="keyframe slot that generator.store writes"),
    ParamSpec("generator.store", kind="trigger", default=False, min=None, max=None,
              description="store the current walk position in keyframe generator.slot"),
    ParamSpec("generator.keyframe", kind="int", default=0, min=0, max=N_KEYS,
              description="0 = walk; 1..8 = glide to that stored keyframe and hold (scenes recall this)"),
]


@dataclass
class GeneratorConfig:
    """Patch section [generator]."""

    model: str = ""  # models/NAME (or NAME.safetensors); empty = no generator layer
    enabled: bool = True
    through_style: bool = False  # route the generated image through the style stage (pipeline's choice)
    fit: str = "cover"  # cover: fill the frame, crop the overflow; contain: letterbox; stretch
    # A learned upsampler (models/NAME) or a plain filter: bicubic, bilinear, nearest (a pixel look).
    upscale: str = "models/upsample4"
    # Who draws the images: "auto" is ONNX Runtime on the CPU when installed, fp16 with CUDA
    # graphs on a CUDA GPU; "torch" is the plain fp32 net everywhere.
    runtime: str = "auto"

    def __post_init__(self) -> None:
        if self.fit not in FITS:
            raise ConfigError("fit", f"expected one of {', '.join(FITS)}, got {self.fit!r}")
        if not self.upscale.strip():
            raise ConfigError("upscale", "expected a model (models/upsample4) or bicubic, bilinear, nearest")
        if self.runtime not in RUNTIMES:
            raise ConfigError("runtime", f"expected one of {', '.join(RUNTIMES)}, got {self.runtime!r}")


def pick_runtime(net: Any, device: torch.device, runtime: str = "auto") -> tuple[Runner, str]:
    """What draws the generator's images (``runner(z)``) and its name. An ONNX export failure
    costs speed, never the layer."""
    if runtime == "torch":
        return net.generate, "torch"
    if device.type == "cuda":
        return GraphedGenerator(net), "cuda fp16 graphs"
    if device.type != "cpu" or not ort.available():
        return net.generate, "torch"
    try:
        return ort.OrtGenerator(net), "onnxruntime"
    except Exception as e:  # noqa: BLE001
        log.warning("generator could not be exported to ONNX Runtime (%s: %s); running it with torch",
                    type(e).__name__, e)
        return net.generate, "torch"


class GeneratorStage(torch.nn.Module):
    """Latent walk + generator, drawing one image per frame at the output size."""

    def __init__(self, cfg: GeneratorConfig, device: torch.device, seed: int = 0, base: Path | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        self.device = torch.device(device)
        self.available = False
        self.net: Any = None
        self.manifest: dict[str, Any] = {}
        self.walk: LatentWalk | None = None
        self.directions: torch.Tensor | None = None
        self.upscaler: Upscaler | None = None
        if not cfg.enabled:
            self.status = "generator: off in patch"
            return
        if not cfg.model:
            self.status = "generator: no model configured"
            return
        path = model_file(cfg.model, base)
        self.path = path
        try:
            net, manifest = load_generator(path, self.device)
        except ModelError as e:
            log.error("generator layer off: %s", e)
            self.status = f"generator: {cfg.model} unusable — layer off ({_short(e)})"
            return
        self.net = net
        self.manifest = manifest
        for p in net.parameters():
            p.requires_grad_(False)
        self._generate, runtime = pick_runtime(net, self.device, cfg.runtime)
        self.walk = LatentWalk(net.latent_dim, seed)
        self.directions = cached_directions(path, net).to(self.device)
        self.upscaler = Upscaler(cfg.upscale, self.device, base)
        self.available = True
        name = manifest.get("name") or path.stem
        self.status = (f"generator: {name} ({net.label}, {net.size} px, z={net.latent_dim}) · {runtime}, "
                       f"{self.upscaler.status}")

    def latent(self, snap: Any, camera: torch.Tensor | None) -> torch.Tensor:
        """The (1, latent_dim) latent for this frame."""
        assert self.walk is not None and self.directions is not None
        pos = self.walk.step(snap)
        dim = self.net.latent_dim
        z = (pos * (math.sqrt(dim) * float(snap["generator.truncation"]))).float().to(self.device)
        knobs = torch.tensor([float(snap[f"generator.dir{i}"]) for i in range(1, N_DIRS + 1)],
                             device=self.device)[: self.directions.shape[0]]
        z = z + DIR_RANGE * (knobs @ self.directions)
        mix = float(snap["generator.camera_mix"])
        if mix > 0 and camera is not None and self.net.can_encode:
            z = torch.lerp(z, self.net.encode(camera.float())[0], mix)
        return z.unsqueeze(0)

    def forward(self, snap: Any, camera: torch.Tensor | None, size: Size,
                filter: str | None = None) -> torch.Tensor | None:
        """Draw this frame's image at ``size``; ``filter`` (the frame budget's) replaces the patch's upscale."""
        if not self.available:
            return None
        assert self.upscaler is not None
        with torch.no_grad():
            z = self.latent(snap, camera)
            img = self._generate(z)
            return self.upscaler.to_frame(img, size, self.cfg.fit, filter, float(snap["generator.sharpen"]))


def _short(e: Exception, limit: int = 90) -> str:
    text = str(e).split(": ", 1)[-1]
    return text if len(text) <= limit else text[: limit - 1] + "…"
