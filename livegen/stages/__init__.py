"""Stages: the image half of the frame loop, from a camera picture and a snapshot to a frame.

Per frame the engine hands the :class:`~livegen.stages.pipeline.Pipeline` one immutable parameter
snapshot and the newest camera image; the pipeline runs the stages in order and returns one frame:

    camera image ─ upload ─► style ─────────────┐
    snapshot ─ latent walk ─► generator ─ resize ─► compose ─► palette ─► master ─► frame (to the sinks)

Conventions every stage, source and sink keeps:
- **Sizes** are :class:`livegen.size.Size` ``(w, h)``, width first, as users write them (640x480)
  and as OpenCV and pygame take them. Tensors keep torch's (N, C, H, W); code that hands a size to
  torch writes ``size.hw``.
- **Frames** are float tensors (1, 3, H, W) in [0, 1] on the show's one device; conversion to
  uint8 happens only in a sink.
- **Parameters**: each stage declares what it reads in its ``PARAMS`` list and reads
  ``snap[name]`` with no fallback: the spec is the only home of a default and a range.
  :func:`default_registry` below is where the stages' declarations are assembled, so the
  parameter module never imports a stage.
"""

from __future__ import annotations

from livegen.params import CORE_PARAMS, ParamRegistry
from livegen.stages import compose, generator, palette, style


def default_registry() -> ParamRegistry:
    """Every parameter of a show: the core ones plus each stage's declarations."""
    return ParamRegistry([*CORE_PARAMS, *compose.PARAMS, *generator.PARAMS, *style.PARAMS,
                          *palette.PARAMS])
