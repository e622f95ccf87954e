"""GPU path for the nets: half precision, channels_last, and CUDA graph replay.

At 1920x1080 on a big GPU the style and generator nets are small: a frame's time goes to
launching a few hundred kernels from Python, not to the arithmetic. A CUDA graph records those
launches once and replays them with one call; fp16 halves the memory traffic and lets the
convolutions use tensor cores; channels_last is the layout cuDNN's fp16 kernels want.

A graph replays fixed memory, so each runner keeps static input, output and state buffers:
the frame is copied in, the graph replayed, the result copied out (callers may keep it). A
graph is recorded for one input shape and one smoothing momentum (``style.stabilize`` is baked
into the recorded kernels), and only once the same key has come ``SETTLE`` frames in a row: while
a fader moves the stabilisation, or the frame budget changes the internal size, frames run
eagerly (same arithmetic, same buffers) instead of recording a graph per frame.

``graphs=False`` (any device) keeps the fp16 / channels_last copy and runs it eagerly: that is
how the CPU tests check these runners against the fp32 nets.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from livegen.nets.cin import CondInstanceNorm, HeldNormState

SETTLE = 3  # frames a key must repeat before a graph is recorded for it
MAX_GRAPHS = 8  # recorded graphs kept per runner (least recently used dropped)
FIRST = 1e-30  # momentum of the first frame: takes the frame's own statistics (1 - FIRST rounds to 1)


Recorder = Callable[[Callable[..., Any], list[torch.Tensor], list[torch.Tensor]], tuple[Callable[[], None], Any]]


def record_cuda_graph(fn: Callable[..., Any], static_in: list[torch.Tensor],
                      fixed: list[torch.Tensor]) -> tuple[Callable[[], None], Any]:
    """Record ``fn(*static_in, *fixed)`` as a CUDA graph: (its replay, its output buffers)."""
    saved = [t.clone() for t in fixed]
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):  # warm-up outside the graph: cuDNN picks its kernels here
        fn(*static_in, *fixed)
    torch.cuda.current_stream().wait_stream(side)
    for t, s in zip(fixed, saved, strict=True):  # the warm-up must not count as a frame
        t.copy_(s)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        out = fn(*static_in, *fixed)
    return graph.replay, out


class Graphs:
    """Recorded graphs by key, recorded once a key has settled (``recorder`` records one)."""

    def __init__(self, enabled: bool, recorder: Recorder = record_cuda_graph) -> None:
        self.enabled = enabled
        self.recorder = recorder
        self.graphs: OrderedDict[Any, tuple[Callable[[], None], list[torch.Tensor], Any]] = OrderedDict()
        self._last: Any = None
        self._runs = 0
        self.recorded = 0

    def run(self, key: Any, fn: Callable[..., Any], inputs: list[torch.Tensor],
            fixed: list[torch.Tensor] | None = None) -> Any:
        """``fn(*inputs, *fixed)``, replayed from a graph once ``key`` has settled. ``inputs`` are
        copied into the graph's own buffers; ``fixed`` tensors (state that ``fn`` updates in place)
        are used where they are, so they must keep their storage. When replayed, the outputs are
        the graph's buffers, valid until the next call."""
        fixed = fixed or []
        self._runs = self._runs + 1 if key == self._last else 1
        self._last = key
        if key not in self.graphs:
            if not self.enabled or self._runs < SETTLE:
                return fn(*inputs, *fixed)
            static_in = [x.clone() for x in inputs]
            replay, out = self.recorder(fn, static_in, fixed)
            self.graphs[key] = (replay, static_in, out)
            self.recorded += 1
            if len(self.graphs) > MAX_GRAPHS:
                self.graphs.popitem(last=False)
        replay, static_in, out = self.graphs[key]
        self.graphs.move_to_end(key)
        for s, x in zip(static_in, inputs, strict=True):
            s.copy_(x)
        replay()
        return out


def _fast_copy(net: nn.Module, half: bool) -> nn.Module:
    fast = copy.deepcopy(net).eval()
    if half:
        fast = fast.half()
    return fast.to(memory_format=torch.channels_last)


class GraphedStyleNet(HeldNormState):
    """A CondInstanceNorm style net in fp16 / channels_last with graph replay; call it like the
    torch net (``net(x, w)``, ``set_stabilize``, ``reset_state``), fp32 frames in and out."""

    def __init__(self, net: nn.Module, half: bool = True, graphs: bool = True) -> None:
        from livegen.nets.ort import _StatefulGraph

        self.dtype = torch.float16 if half else torch.float32
        self.n_styles = net.n_styles
        self.multiple = net.multiple
        self.border = getattr(net, "border", 0)
        self.net = _fast_copy(net, half)
        self.norms = [m for m in self.net.modules() if isinstance(m, CondInstanceNorm)]
        self._stateful = _StatefulGraph(self.net, self.norms)
        self.momentum = 0.0
        self._state: list[torch.Tensor] | None = None  # static buffers: each norm's mean, var
        self._graphs = Graphs(graphs)

    def _plain(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        for norm in self.norms:
            norm.momentum = 0.0
        return self.net(x, w)

    def _smoothed(self, momentum: float) -> Callable[..., list[torch.Tensor]]:
        def step(x: torch.Tensor, w: torch.Tensor, *state: torch.Tensor) -> list[torch.Tensor]:
            y, *new = self._stateful(x, w, momentum, *state)
            for buf, value in zip(state, new, strict=True):
                buf.copy_(value)  # the state lives in the same buffers frame after frame
            return [y]
        return step

    @torch.inference_mode()
    def __call__(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        x = x.to(self.dtype).contiguous(memory_format=torch.channels_last)
        w = w.to(self.dtype)
        if self.momentum <= 0.0:
            (y,) = self._graphs.run((tuple(x.shape), 0.0), lambda a, b: [self._plain(a, b)], [x, w])
        elif self._state is None:
            # First frame: the frame's own statistics start the smoothing; eager, it allocates the buffers.
            y, *new = self._stateful(x, w, FIRST, *self._zero_state(x.device))
            self._state = [t.clone() for t in new]
        else:
            # Replayed or eager, ``step`` writes the new statistics into the state buffers.
            (y,) = self._graphs.run((tuple(x.shape), self.momentum), self._smoothed(self.momentum),
                                    [x, w], self._state)
        return y.float()

    def _zero_state(self, device: torch.device) -> list[torch.Tensor]:
        state = []
        for norm in self.norms:
            c = norm.gamma.shape[1]
            state += [torch.zeros(1, c, 1, 1, dtype=self.dtype, device=device),
                      torch.ones(1, c, 1, 1, dtype=self.dtype, device=device)]
        return state


class GraphedGenerator:
    """A generator's ``generate(z)`` in fp16 / channels_last with graph replay; fp32 images out."""

    def __init__(self, net: nn.Module, half: bool = True, graphs: bool = True) -> None:
        self.dtype = torch.float16 if half else torch.float32
        self.net = _fast_copy(net, half)
        self._graphs = Graphs(graphs)

    @torch.inference_mode()
    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        z = z.to(self.dtype)
        (img,) = self._graphs.run(tuple(z.shape), lambda a: [self.net.generate(a)], [z])
        return img.float()
