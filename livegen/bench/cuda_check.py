"""``livegen bench cuda``: proof that the whole frame loop runs on a CUDA GPU, and how fast.

The live loop keeps every tensor on one device. This check drives the real engine (camera upload
through pinned memory, style net, latent walk and generator, VAE camera steering, compose, the
uint8 download at the sink) once on the CPU and once on CUDA with the same patch, the same
camera frames and the same clock, and reports how far apart the frames are (float rounding
only: the two devices run different kernels) and the CUDA time per frame at several sizes. Then
1920x1080 end to end (camera upload, stylised, generated, composited, and every frame shown or
downloaded) with the fp32 eager nets and with fp16 + CUDA graphs, downloaded to the host, shown
in a GL window through a host upload, and shown through CUDA-GL interop with no host copy. It
also runs one training step of each generator trainer (BCE, LSGAN, WGAN-GP, VAE) on the GPU.
Exits non-zero when a check fails or no GPU is present.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from livegen.engine import Engine
from livegen.patch import load_patch
from livegen.paths import DEFAULT_PATCH, ROOT
from livegen.sinks import to_uint8
from livegen.size import Size, parse_size

# Each displayed frame at the output: (model runtime, how the frame reaches the screen or host).
DISPLAY_PATHS = (
    ("torch", "host"),  # the fp32 eager nets, frame downloaded as uint8 (what every sink but GL takes)
    ("auto", "host"),  # fp16 + CUDA graphs, downloaded
    ("auto", "gl-host"),  # fp16 + CUDA graphs, shown in the GL window through a host upload
    ("auto", "gl"),  # fp16 + CUDA graphs, shown in the GL window through CUDA-GL interop
)


def moving_frames(size: Size, n: int) -> list[np.ndarray]:
    """Camera stand-in: a drifting colour gradient with a bright square, H x W x 3 uint8."""
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    frames = []
    for i in range(n):
        img = np.stack([(xx + 7 * i) % w / w, (yy + 3 * i) % h / h, 0.5 + 0.5 * np.sin((xx + yy + 9 * i) / 40)], -1)
        x0 = (13 * i) % max(1, w - 40)
        img[20:60, x0:x0 + 40] = 1.0
        frames.append((img * 255).astype(np.uint8))
    return frames


def open_engine_on(patch_path: str, device: torch.device, size: Size, frames: list[np.ndarray],
                   generator: str | None = None, runtime: str = "auto") -> Engine:
    """The patch's engine on ``device`` with ``frames`` as its camera (a new frame every tick);
    ``generator`` swaps the patch's generator model, ``runtime`` is both nets' runtime."""
    patch = load_patch(patch_path)
    if generator:
        patch.generator.model = str(Path(generator).resolve())
    patch.style.runtime = runtime
    patch.generator.runtime = runtime
    return Engine(patch, device, size, camera=lambda t: (frames[int(round(t * 30)) % len(frames)],
                                                       int(round(t * 30))))


def run_frames(patch_path: str, device: torch.device, size: Size, frames: list[np.ndarray],
               overrides: dict[str, float], generator: str | None = None) -> tuple[list[np.ndarray], float,
                                                                                   dict[str, float]]:
    """Play ``frames`` through the engine; ``generator`` swaps the patch's generator model."""
    engine = open_engine_on(patch_path, device, size, frames, generator)
    for name, value in overrides.items():
        engine.store.set(name, value, immediate=True)
    out = []
    to_uint8(engine.tick(0.0))  # warm-up: kernels, allocator, cuDNN autotune
    t0 = time.perf_counter()
    for i in range(len(frames)):
        out.append(to_uint8(engine.tick((i + 1) / 30)))
    ms = (time.perf_counter() - t0) * 1000 / len(frames)
    stages = {k: round(v, 2) for k, v in engine.pipeline.timer.means().items()}
    errors = list(engine.errors.counts)
    engine.close()
    if errors:
        raise RuntimeError(f"engine reported errors on {device}: {errors}")
    return out, ms, stages


def compare_devices(patch_path: str, size: Size, n: int, overrides: dict[str, float],
                    generator: str | None = None) -> dict:
    frames = moving_frames(size, n)
    cpu, cpu_ms, _ = run_frames(patch_path, torch.device("cpu"), size, frames, overrides, generator)
    gpu, gpu_ms, stages = run_frames(patch_path, torch.device("cuda"), size, frames, overrides, generator)
    diff = np.stack([np.abs(a.astype(np.int16) - b.astype(np.int16)) for a, b in zip(cpu, gpu, strict=True)])
    return {"patch": Path(patch_path).name, "generator": Path(generator).name if generator else "patch's",
            "size": f"{size[0]}x{size[1]}", "frames": n,
            "overrides": overrides, "cpu_ms": round(cpu_ms, 1), "cuda_ms": round(gpu_ms, 2),
            "cuda_stage_ms": stages, "mean_abs_diff": round(float(diff.mean()), 3),
            "p99_abs_diff": float(np.percentile(diff, 99)), "max_abs_diff": int(diff.max()),
            "frames_moved": bool(np.abs(gpu[0].astype(np.int16) - gpu[-1]).mean() > 1.0)}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def open_gl_window(size: Size, device: str):  # noqa: ANN201 — GLWindow, imported late
    """A GL window for the display paths; headless machines get SDL's offscreen (EGL) driver, which
    on an NVIDIA driver gives a GPU context that CUDA can share."""
    import os

    from livegen.sinks.gl import GLWindow

    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")
    return GLWindow(size, title="livegen bench cuda", device=device)


def end_to_end(patch_path: str, size: Size, n: int, device: torch.device) -> dict:
    """Stylised + generated + composited frames at ``size``, each one shown or downloaded: fps per
    runtime and display path, timed from the first tick to the last frame done on the device."""
    from livegen.sinks.base import SinkUnavailable
    from livegen.sinks.gl import INTEROP

    frames = moving_frames(size, 8)
    out: dict = {"size": f"{size[0]}x{size[1]}", "frames": n, "paths": []}
    for runtime, display in DISPLAY_PATHS:
        row: dict = {"runtime": runtime, "display": display}
        window = None
        if display != "host":
            try:
                window = open_gl_window(size, device.type if display == "gl" else "cpu")
            except SinkUnavailable as e:
                out["paths"].append({**row, "skipped": str(e)})
                continue
            row.update(gl_renderer=window.renderer, path=window.path, why_host=window.why_host)
            if display == "gl" and window.path != INTEROP:
                window.close()
                out["paths"].append({**row, "skipped": f"no CUDA-GL interop: {window.why_host}"})
                continue
        engine = open_engine_on(patch_path, device, size, frames, runtime=runtime)
        show = window.present if window is not None else to_uint8
        for i in range(10):  # warm-up: cuDNN autotune, and the graphs get recorded once settled
            show(engine.tick(i / 30))
        sync(device)
        engine.pipeline.timer.clear()
        t0 = time.perf_counter()
        for i in range(n):
            show(engine.tick((i + 10) / 30))
        sync(device)
        ms = (time.perf_counter() - t0) * 1000 / n
        row.update(ms=round(ms, 3), fps=round(1000 / ms, 1), layers=engine.pipeline.status(),
                   stage_ms={k: round(v, 3) for k, v in engine.pipeline.timer.means().items()})
        engine.close()
        if window is not None:
            window.close()
        out["paths"].append(row)
    return out


def time_cuda(patch_path: str, size: Size, n: int) -> dict:
    frames = moving_frames(size, 8)
    _, ms, stages = run_frames(patch_path, torch.device("cuda"), size, frames * (n // 8), {})
    return {"size": f"{size[0]}x{size[1]}", "cuda_ms": round(ms, 2), "fps": round(1000 / ms, 1),
            "stage_ms": stages}


def train_steps(device: str = "cuda") -> dict:
    """One step of each generator trainer on the GPU, tiny configs, random data."""
    import tempfile

    from livegen.train.gan import main as gan_main
    from livegen.train.vae import main as vae_main

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        rng = np.random.default_rng(0)
        np.save(data / "train.npy", rng.integers(0, 255, (64, 64, 64, 3), dtype=np.uint8))
        np.save(data / "heldout.npy", rng.integers(0, 255, (8, 64, 64, 3), dtype=np.uint8))
        common = ["--data", str(data), "--steps", "3", "--device", device, "--sample-every", "1000",
                  "--latent", "16"]
        for loss in ("bce", "lsgan", "wgan-gp"):
            rc = gan_main([*common, "--out", f"{tmp}/g_{loss}", "--run", f"{tmp}/rg_{loss}", "--loss", loss,
                           "--ngf", "8", "--ndf", "8", "--batch", "8"])
            out[f"gan {loss}"] = rc
        out["vae"] = vae_main([*common, "--out", f"{tmp}/v", "--run", f"{tmp}/rv", "--ch", "8", "--batch", "8"])
    return out


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="livegen bench cuda", description=__doc__.splitlines()[0].replace("``", ""))
    ap.add_argument("--patch", default=str(DEFAULT_PATCH))
    ap.add_argument("--vae", default=str(ROOT / "models" / "vae64.safetensors"),
                    help="VAE for the camera-steering check")
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--sizes", nargs="*", default=["640x480", "1280x720", "1920x1080"])
    ap.add_argument("--e2e-size", default="1920x1080", help="size of the end-to-end display-path run")
    ap.add_argument("--e2e-frames", type=int, default=240)
    ap.add_argument("--out", help="also write the results as JSON here")
    a = ap.parse_args(argv)
    if not torch.cuda.is_available():
        print("livegen bench cuda: torch sees no CUDA GPU", file=sys.stderr)
        return 2
    torch.set_num_threads(4)
    result: dict = {"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__}
    checks = [compare_devices(a.patch, (640, 480), a.frames, {})]
    # The same patch with the VAE as generator: camera_mix needs an encoder.
    checks.append(compare_devices(a.patch, (640, 480), a.frames, {"generator.camera_mix": 0.7}, a.vae))
    result["cpu_vs_cuda"] = checks
    result["cuda_speed"] = [time_cuda(a.patch, parse_size(s), 48) for s in a.sizes]
    result["end_to_end"] = end_to_end(a.patch, parse_size(a.e2e_size), a.e2e_frames, torch.device("cuda"))
    result["train_steps_rc"] = train_steps()
    failed = [c for c in checks if c["mean_abs_diff"] > 2.0 or not c["frames_moved"]]
    failed += [k for k, rc in result["train_steps_rc"].items() if rc != 0]
    result["ok"] = not failed
    text = json.dumps(result, indent=1)
    print(text)
    if a.out:
        Path(a.out).write_text(text + "\n")
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
