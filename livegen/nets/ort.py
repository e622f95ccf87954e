"""ONNX Runtime for the style nets: the same net, exported once at load, run by ORT on the CPU.

Measured on these 2-core machines, ORT's CPU kernels run the fast style net 2-2.5x faster than
eager torch at the live input size (``livegen bench style`` prints both), which is most of the
frame budget at 640x480. The net's temporal smoothing of its norm statistics is state kept
between frames; here that state is explicit: each CondInstanceNorm's mean and variance go in and
come out of the graph, and the stage's ``style.stabilize`` is an input, so one exported graph
serves every setting and every frame size.
"""

from __future__ import annotations

import io
import logging
import warnings

import numpy as np
import torch
from torch import nn

from livegen.nets.cin import CondInstanceNorm

log = logging.getLogger(__name__)


def available() -> bool:
    """True when onnxruntime and the exporter's onnx package can be imported."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


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


class OrtStyleNet:
    """Runs a CondInstanceNorm style net through ONNX Runtime; call it like the torch net: ``net(x, w)``."""

    def __init__(self, net: nn.Module, threads: int | None = None) -> None:
        import onnxruntime as ort

        self.n_styles = net.n_styles
        self.multiple = net.multiple
        self.border = getattr(net, "border", 0)
        self.norms = [m for m in net.modules() if isinstance(m, CondInstanceNorm)]
        self.momentum = 0.0
        self._state: list[np.ndarray] | None = None
        self._session = ort.InferenceSession(self._export(net), self._options(ort, threads),
                                             providers=["CPUExecutionProvider"])

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
        buf = io.BytesIO()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # tracer warnings about the Python-side branches taken
                torch.onnx.export(wrapper, (x, w, m, *state), buf, input_names=["x", "w", "m", *names],
                                  output_names=["y", *[f"o{i}" for i in range(len(state))]],
                                  dynamic_axes={"x": {2: "h", 3: "w"}, "y": {2: "h", 3: "w"}},
                                  opset_version=17, dynamo=False)
        finally:
            for norm in self.norms:
                norm.reset_state()
                norm.momentum = 0.0
        return buf.getvalue()

    @staticmethod
    def _options(ort, threads: int | None):  # noqa: ANN001, ANN205 — onnxruntime types
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads or torch.get_num_threads()
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.log_severity_level = 3
        return so

    def set_stabilize(self, momentum: float) -> None:
        """As the torch net's: temporal smoothing of the norm statistics (0 = off, forgets them)."""
        if momentum <= 0.0:
            self._state = None
        self.momentum = float(momentum)

    def reset_state(self) -> None:
        self._state = None

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
