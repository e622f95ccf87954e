"""ONNX Runtime for the CPU path: the style, generator and upscale nets, exported once at load, run by ORT.

Measured on these 2-core machines, ORT's CPU kernels run the fast style net 2-2.5x faster than
eager torch at the live input size (``livegen bench style`` prints both), which is most of the
frame budget at 640x480, and the 64 px DCGAN about 4x faster (1 ms instead of 4). ORT's worker
threads do not spin after a run: the frame's torch work follows at once on the same two cores,
and spinning workers took the cores it needed (``livegen bench --profile`` shows the split).

The style net's temporal smoothing of its norm statistics is state kept between frames; here
that state is explicit: each CondInstanceNorm's mean and variance go in and come out of the
graph, and the stage's ``style.stabilize`` is an input, so one exported graph serves every
setting and every frame size.

The generator's learned upscale runs here on ONE thread: its small convolutions lose more to a
two-thread pool than they gain (640x480 from 128 px: 3.6 ms in ORT on one thread, 6-7 ms in torch
on two, ``livegen bench upscale``).
"""

from __future__ import annotations

import io
import logging
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from livegen.nets.cin import CondInstanceNorm, HeldNormState

log = logging.getLogger(__name__)


def available() -> bool:
    """True when onnxruntime and the exporter's onnx package can be imported."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def session(model: bytes, threads: int | None = None):  # noqa: ANN201 — onnxruntime type
    """A CPU inference session for an exported graph, tuned for sharing two cores with torch."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads or torch.get_num_threads()
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Spinning workers hold both cores for a while after each run, exactly when the frame's
    # torch work (upsampling, compose) needs them: measured 11 vs 17-25 ms for the style net
    # alone on a loaded machine, and less time lost in the torch ops that follow.
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.log_severity_level = 3
    return ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])


def _export(module: nn.Module, args: tuple, inputs: list[str], outputs: list[str],
            dynamic_axes: dict | None = None) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about the Python-side branches taken
        torch.onnx.export(module, args, buf, input_names=inputs, output_names=outputs,
                          dynamic_axes=dynamic_axes or {}, opset_version=17, dynamo=False)
    return buf.getvalue()


class _Generate(nn.Module):
    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net.generate(z)


class OrtGenerator:
    """A generator's ``generate(z)`` (latent rows -> images in [0, 1]) run by ONNX Runtime."""

    def __init__(self, net: nn.Module, threads: int | None = None) -> None:
        z = torch.zeros(1, net.latent_dim)
        self._session = session(_export(_Generate(net).eval(), (z,), ["z"], ["image"], {"z": {0: "n"},
                                                                                         "image": {0: "n"}}),
                                threads)

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        feeds = {"z": np.ascontiguousarray(z.detach().cpu().numpy(), np.float32)}
        return torch.from_numpy(self._session.run(None, feeds)[0])


class _UpscaleTo(nn.Module):
    """The upsampler, then bilinear to the size of ``like``: a shape-only input, so one exported
    graph serves every frame size and fit."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return F.interpolate(self.net(x).clamp(0.0, 1.0), size=like.shape[-2:], mode="bilinear",
                             align_corners=False)


class OrtUpscaler:
    """``(img, th, tw)`` -> the learned ×scale picture brought to th×tw, run by ONNX Runtime."""

    def __init__(self, net: nn.Module, threads: int = 1) -> None:
        x, like = torch.zeros(1, 3, 96, 128), torch.zeros(1, 1, 480, 640)
        axes = {"x": {0: "n", 2: "h", 3: "w"}, "like": {2: "H", 3: "W"}, "frame": {0: "n", 2: "H", 3: "W"}}
        self._session = session(_export(_UpscaleTo(net).eval(), (x, like), ["x", "like"], ["frame"], axes), threads)
        self._like = np.zeros((1, 1, 480, 640), np.float32)

    def __call__(self, img: torch.Tensor, th: int, tw: int) -> torch.Tensor:
        if self._like.shape[-2:] != (th, tw):
            self._like = np.zeros((1, 1, th, tw), np.float32)
        feeds = {"x": np.ascontiguousarray(img.detach().cpu().numpy(), np.float32), "like": self._like}
        return torch.from_numpy(self._session.run(None, feeds)[0])


class _StatefulGraph(nn.Module):
    """Export wrapper: norm state and smoothing momentum as inputs, new state as outputs."""

    def __init__(self, net: nn.Module, norms: list[CondInstanceNorm]) -> None:
        super().__init__()
        self.net = net
        self.norms = norms

    def forward(self, x: torch.Tensor, w: torch.Tensor, m: torch.Tensor, *state: torch.Tensor) -> tuple:
        for i, norm in enumerate(self.norms):
            norm._mean, norm._var = state[2 * i], state[2 * i + 1]
            norm.momentum = m  # a tensor: traced as an input, not a constant
        y = self.net(x, w)
        out: list[torch.Tensor] = [y]
        for norm in self.norms:
            out += [norm._mean, norm._var]
        return tuple(out)


class OrtStyleNet(HeldNormState):
    """Runs a CondInstanceNorm style net through ONNX Runtime; call it like the torch net: ``net(x, w)``."""

    def __init__(self, net: nn.Module, threads: int | None = None) -> None:
        self.n_styles = net.n_styles
        self.multiple = net.multiple
        self.border = getattr(net, "border", 0)
        self.norms = [m for m in net.modules() if isinstance(m, CondInstanceNorm)]
        self.momentum = 0.0
        self._state: list[np.ndarray] | None = None
        self._session = session(self._export(net), threads)

    def _export(self, net: nn.Module) -> bytes:
        wrapper = _StatefulGraph(net, self.norms).eval()
        h = 8 * self.multiple
        x = torch.rand(1, 3, h, h)
        w = torch.full((1, self.n_styles), 1.0 / self.n_styles)
        m = torch.tensor(0.5)  # > 0 so the trace follows the smoothing path of every norm layer
        state = []
        for norm in self.norms:
            c = norm.gamma.shape[1]
            state += [torch.zeros(1, c, 1, 1), torch.ones(1, c, 1, 1)]
        names = [f"s{i}" for i in range(len(state))]
        try:
            return _export(wrapper, (x, w, m, *state), ["x", "w", "m", *names],
                           ["y", *[f"o{i}" for i in range(len(state))]],
                           {"x": {2: "h", 3: "w"}, "y": {2: "h", 3: "w"}})
        finally:
            for norm in self.norms:
                norm.reset_state()
                norm.momentum = 0.0

    def __call__(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        m = self.momentum if self._state is not None else 0.0
        state = self._state
        if state is None:
            state = []
            for norm in self.norms:
                c = norm.gamma.shape[1]
                state += [np.zeros((1, c, 1, 1), np.float32), np.ones((1, c, 1, 1), np.float32)]
        feeds = {"x": np.ascontiguousarray(x.detach().cpu().numpy(), np.float32),
                 "w": np.ascontiguousarray(w.detach().cpu().numpy(), np.float32),
                 "m": np.asarray(m, np.float32)}
        feeds.update({f"s{i}": s for i, s in enumerate(state)})
        y, *new_state = self._session.run(None, feeds)
        self._state = new_state if self.momentum > 0.0 else None
        return torch.from_numpy(y)
