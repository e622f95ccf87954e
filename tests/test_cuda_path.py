"""A GPU user's path, checked on a machine without a GPU: the CUDA runtimes are picked for a CUDA
device, their fp16 / channels_last nets paint what the fp32 nets paint, graph replay keeps the
style net's smoothing state frame after frame, and the GL window shows exactly the frame's pixels.

CUDA graphs cannot be recorded here: where a test needs one, a CPU stand-in that replays the
recorded function on the same buffers takes its place (and says so). `livegen bench cuda` on a
GPU machine measures the real thing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
import xvfb_fixture

from livegen.nets.cudagraph import SETTLE, GraphedGenerator, GraphedStyleNet, Graphs
from livegen.nets.fastnet import FastStyleNet
from livegen.nets.generator import DCGANGenerator
from livegen.nets.style import load_style_model
from livegen.paths import ROOT
from livegen.stages import generator as generator_stage
from livegen.stages import style as style_stage

xvfb = xvfb_fixture.xvfb


def tiny_style_net() -> FastStyleNet:
    torch.manual_seed(0)
    net = FastStyleNet(2, widths=(8, 12, 16), n_res=1)
    for m in net.modules():
        if hasattr(m, "gamma"):
            m.gamma.data.uniform_(0.5, 1.5)
            m.beta.data.uniform_(-0.3, 0.3)
    return net.eval()


def replay_on_cpu(fn, static_in, fixed):
    """CPU stand-in for recording a CUDA graph: recording only allocates the outputs (the state
    ``fn`` updates is put back: a capture runs nothing); replay runs ``fn`` on the same buffers
    and writes into those outputs, as a graph replay does."""
    saved = [t.clone() for t in fixed]
    out = fn(*static_in, *fixed)
    for t, s in zip(fixed, saved, strict=True):
        t.copy_(s)

    def replay() -> None:
        for buf, value in zip(out, fn(*static_in, *fixed), strict=True):
            buf.copy_(value)
    return replay, out


def frames(n: int, h: int = 48, w: int = 64) -> list[torch.Tensor]:
    torch.manual_seed(1)
    base = torch.rand(1, 3, h, w)
    return [(base + 0.03 * i).clamp(0, 1) for i in range(n)]


def test_a_cuda_device_picks_the_fp16_graph_runtimes_and_torch_still_means_plain_torch():
    net = tiny_style_net()
    runner, name = style_stage.pick_runtime(net, torch.device("cuda"))
    assert name == "cuda fp16 graphs" and isinstance(runner, GraphedStyleNet)
    assert style_stage.pick_runtime(net, torch.device("cuda"), "torch") == (net, "torch")
    gen = DCGANGenerator(8, 4, 64).eval()
    runner, name = generator_stage.pick_runtime(gen, torch.device("cuda"))
    assert name == "cuda fp16 graphs" and isinstance(runner, GraphedGenerator)
    assert generator_stage.pick_runtime(gen, torch.device("cuda"), "torch")[1] == "torch"


def test_graph_replay_keeps_the_smoothed_statistics_frame_after_frame_like_the_plain_net():
    net = tiny_style_net()
    fast = GraphedStyleNet(net, half=False, graphs=True)
    fast._graphs = Graphs(True, recorder=replay_on_cpu)  # CPU stand-in for CUDA graphs (no GPU here)
    w = torch.tensor([[0.3, 0.7]])
    net.set_stabilize(0.75)
    fast.set_stabilize(0.75)
    with torch.no_grad():
        for i, x in enumerate(frames(SETTLE + 5)):
            want = net(x, w)
            got = fast(x, w)
            assert (got - want).abs().max() < 1e-5, f"frame {i}"
    assert fast._graphs.recorded == 1


def test_moving_the_stabilise_fader_runs_eagerly_and_records_no_graph_per_frame():
    net = tiny_style_net()
    fast = GraphedStyleNet(net, half=False, graphs=True)
    fast._graphs = Graphs(True, recorder=replay_on_cpu)  # CPU stand-in for CUDA graphs (no GPU here)
    w = torch.tensor([[1.0, 0.0]])
    with torch.no_grad():
        for i, x in enumerate(frames(12)):
            m = 0.5 + 0.03 * i
            net.set_stabilize(m)
            fast.set_stabilize(m)
            assert (fast(x, w) - net(x, w)).abs().max() < 1e-5, f"frame {i}"
    assert fast._graphs.recorded == 0


def test_the_shipped_style_model_in_fp16_channels_last_paints_the_fp32_picture():
    """Half precision must not change the picture: the real style3 on a moving frame, smoothing on."""
    net, _ = load_style_model(ROOT / "models" / "style3.safetensors", torch.device("cpu"))
    fast = GraphedStyleNet(net, half=True, graphs=False)
    w = torch.tensor([[0.5, 0.5, 0.0]])
    net.set_stabilize(0.75)
    fast.set_stabilize(0.75)
    with torch.no_grad():
        for x in frames(3, 96, 128):
            want, got = net(x, w), fast(x, w)
            assert got.dtype == torch.float32 and got.shape == want.shape
            diff = (got - want).abs()
            assert diff.mean() < 2e-3 and diff.max() < 0.05


def test_the_generator_in_fp16_draws_the_fp32_images():
    torch.manual_seed(2)
    gen = DCGANGenerator(16, 8, 64).eval()
    fast = GraphedGenerator(gen, half=True, graphs=False)
    z = torch.randn(1, 16)
    with torch.no_grad():
        want = gen.generate(z)
    got = fast(z)
    assert got.dtype == torch.float32 and (got - want).abs().max() < 0.02


def test_bench_cuda_says_in_one_line_that_there_is_no_gpu():
    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present: bench cuda measures instead")
    done = subprocess.run([sys.executable, "-m", "livegen", "bench", "cuda", "--out", os.devnull],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == "livegen bench cuda: torch sees no CUDA GPU"


GL_STORY = textwrap.dedent("""
    import numpy as np, torch
    from livegen.sinks import to_uint8
    from livegen.sinks.gl import GLWindow, HOST
    from livegen.size import Size
    from livegen.sources.pattern import test_pattern
    window = GLWindow(Size(96, 64), title="livegen gl test")
    frame = test_pattern(1.5, Size(96, 64))
    window.present(frame)
    shown = window.read_back()
    print(window.path == HOST, window.why_host, int(np.abs(shown.astype(int) - to_uint8(frame)).max()))
    window.close()
""")


def test_the_gl_window_shows_the_frames_exact_pixels_through_the_host_path_under_xvfb(xvfb):
    pytest.importorskip("OpenGL", reason="PyOpenGL (the gl extra) is not installed")
    env = dict(os.environ, DISPLAY=xvfb, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    env.pop("SDL_VIDEODRIVER", None)
    done = subprocess.run([sys.executable, "-c", GL_STORY], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "True frames are on cpu 0"


E2E_STORY = textwrap.dedent("""
    import json, torch
    from livegen.bench.cuda_check import end_to_end
    from livegen.paths import DEFAULT_PATCH
    from livegen.size import Size
    torch.set_num_threads(1)
    print(json.dumps(end_to_end(str(DEFAULT_PATCH), Size(64, 48), 3, torch.device("cpu"))))
""")


def test_the_end_to_end_bench_runs_every_display_path_it_can_on_the_cpu_under_xvfb(xvfb):
    """The 1080p GPU bench's code, at 64x48 on the CPU: plain download and GL host upload run,
    and the interop path says why it cannot (no CUDA frames)."""
    pytest.importorskip("OpenGL", reason="PyOpenGL (the gl extra) is not installed")
    env = dict(os.environ, DISPLAY=xvfb, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    env.pop("SDL_VIDEODRIVER", None)
    done = subprocess.run([sys.executable, "-c", E2E_STORY], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    paths = json.loads(done.stdout.strip().splitlines()[-1])["paths"]
    assert [(p["runtime"], p["display"]) for p in paths] == [("torch", "host"), ("auto", "host"),
                                                            ("auto", "gl-host"), ("auto", "gl")]
    assert all(p["fps"] > 0 for p in paths[:3])
    assert paths[2]["path"].startswith("host copy")
    assert paths[3]["skipped"] == "no CUDA-GL interop: frames are on cpu"
