"""`livegen train style-add IMAGE --model models/X`: a new style in minutes, on the CPU.

Not part of the frame loop. With conditional instance norm every style is only a row of
scale/shift parameters in each norm layer (Dumoulin et al. 2017, "A learned representation for
artistic style"): the convolutions are shared. So a new style needs only a new row, fitted with
the shared weights frozen: about 2,000 numbers instead of 450,000, and a few hundred steps. The
row starts from the mean of the existing styles; the result is appended to the model and its
manifest (the new style is then one more fader position, mixable live like the others).

The manifest records the new style's content and style losses on held-out photos next to those
of a fully trained style of the same model, so the shortcut's price is on record.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from livegen.nets.io import ModelError, save_model
from livegen.nets.style import build_net, load_style_model
from livegen.nets.vgg import VGGTrunk, load_trunk
from livegen.paths import ROOT
from livegen.train import command_line
from livegen.train.style import (
    CropSampler,
    StyleLoss,
    TrainConfig,
    list_images,
    read_rgb,
    square,
    style_sources,
    style_target,
    temporal_loss,
    tv_loss,
)
from livegen.train.style_data import DATA


def grow(net: torch.nn.Module, n_new: int = 1) -> torch.nn.Module:
    """A copy of ``net`` with ``n_new`` more styles; each new row is the mean of the old rows."""
    arch = dict(net.architecture())
    n_old = int(arch["n_styles"])
    arch["n_styles"] = n_old + n_new
    bigger = build_net(arch)
    old = net.state_dict()
    new = {}
    for k in bigger.state_dict():
        t = old[k]
        if k.endswith((".gamma", ".beta")):
            t = torch.cat([t, t.mean(0, keepdim=True).expand(n_new, -1)])
        new[k] = t.clone()
    bigger.load_state_dict(new)
    return bigger


def freeze_all_but_rows(net: torch.nn.Module, first_row: int) -> list[torch.nn.Parameter]:
    """Only the norm rows from ``first_row`` on learn; returns those parameters. The other rows'
    gradients are zeroed by a hook, so Adam never moves them (its moments stay zero)."""
    params = []
    for name, p in net.named_parameters():
        if name.endswith((".gamma", ".beta")):
            mask = torch.zeros_like(p)
            mask[first_row:] = 1.0
            p.register_hook(lambda g, m=mask: g * m)
            params.append(p)
        else:
            p.requires_grad_(False)
    return params


@torch.no_grad()
def heldout_losses(net: torch.nn.Module, loss: StyleLoss, photos: torch.Tensor, k_net: int, k_loss: int,
                   n_styles: int) -> dict[str, float]:
    """Mean relative content and style loss of style ``k_net`` on the held-out photos, against
    the Gram targets of ``loss``'s style ``k_loss``."""
    net.eval()
    w = F.one_hot(torch.full((len(photos),), k_net), n_styles).float()
    y = net(photos, w)
    c, s = loss(y, photos, torch.full((len(photos),), k_loss))
    return {"content": round(float(c), 4), "style": round(float(s), 4)}


def heldout_photos(folder: Path, n: int = 8, side: int = 192) -> torch.Tensor:
    paths = list_images(folder)
    photos = [p for p in paths if "photo" in p.parts] or paths
    step = max(1, len(photos) // n)
    return torch.cat([square(read_rgb(p), side) for p in photos[::step][:n]])


def add_style(model: Path, image: Path, out: Path, cfg: TrainConfig, minutes: float, key: str = "",
              title: str = "", licence: str = "", vgg: VGGTrunk | None = None, argv: list[str] | None = None,
              log=print) -> Path:
    net0, manifest = load_style_model(model)
    if manifest["architecture"].get("kind") != "fast-cin":
        raise ValueError("style-add needs a conditional-instance-norm net (kind fast-cin)")
    n_old = int(manifest["architecture"]["n_styles"])
    net = grow(net0)
    params = freeze_all_but_rows(net, n_old)
    opt = torch.optim.Adam(params, lr=cfg.lr)
    vgg = vgg if vgg is not None else load_trunk(cfg.vgg)
    target = style_target(image, cfg.style_size, cfg.style_margin)
    # The reference style (a fully trained one) is measured against its own image when we have it.
    ref_key = manifest["styles"][0]["key"] if manifest.get("styles") else ""
    ref_path = DATA / "styles" / f"{ref_key}.jpg"
    targets = [target] + ([style_target(ref_path, cfg.style_size, cfg.style_margin)] if ref_path.exists() else [])
    loss = StyleLoss(vgg, targets)
    sampler = CropSampler(list_images(cfg.content), cfg.size, cfg.scale_min, cfg.blur_prob)
    gen = torch.Generator().manual_seed(cfg.seed)
    w = F.one_hot(torch.full((cfg.batch,), n_old), n_old + 1).float()
    zeros = torch.zeros(cfg.batch, dtype=torch.long)
    net.train()
    t0, step = time.monotonic(), 0
    while step < cfg.steps and time.monotonic() - t0 < minutes * 60.0:
        x = sampler.sample(cfg.batch, gen)
        y = net(x, w)
        c, s = loss(y, x, zeros)
        total = cfg.content_weight * c + cfg.style_weight * s + cfg.tv_weight * tv_loss(y)
        if cfg.temporal_weight > 0:
            total = total + cfg.temporal_weight * temporal_loss(net, x, y, w, gen, cfg.max_shift, cfg.noise)
        opt.zero_grad(set_to_none=True)
        total.backward()
        opt.step()
        step += 1
        if step % 20 == 0 or step == 1:
            log(f"style-add: step {step}, {time.monotonic() - t0:.0f} s, content {float(c.detach()):.3f}, "
                f"style {float(s.detach()):.3f}")
    wall = time.monotonic() - t0
    figures: dict = {}
    if cfg.heldout and Path(cfg.heldout).is_dir() and list_images(cfg.heldout):
        photos = heldout_photos(Path(cfg.heldout))
        figures["new style"] = heldout_losses(net, loss, photos, n_old, 0, n_old + 1)
        if len(targets) > 1:
            figures[f"fully trained style ({ref_key})"] = heldout_losses(net, loss, photos, 0, 1, n_old + 1)
    src = style_sources([str(image)])[0]
    entry = {"key": key or src["key"], "title": title or src["title"], "source": src["source"],
             "licence": licence or src["licence"], "origin": str(image)}
    if "palette" in src:
        entry["palette"] = src["palette"]
    manifest = dict(manifest)
    manifest["architecture"] = net.architecture()
    manifest["styles"] = list(manifest.get("styles", [])) + [entry]
    manifest["params"] = int(sum(p.numel() for p in net.parameters()))
    training = dict(manifest.get("training", {}))
    training["style_add"] = list(training.get("style_add", [])) + [{
        "key": entry["key"], "command": command_line("livegen train style-add", argv or []), "steps": step,
        "wall_time_s": round(wall, 1), "threads": torch.get_num_threads(),
        "heldout_losses": figures, "note": "only this style's norm rows were fitted; shared convs frozen"}]
    manifest["training"] = training
    net.eval()
    out_path = out if out.is_absolute() else ROOT / out
    return save_model(out_path.with_suffix(".safetensors"),
                      {k: v.half() if v.is_floating_point() else v for k, v in net.state_dict().items()}, manifest)


def main(argv: list[str]) -> int:
    d = TrainConfig(styles=[])
    ap = argparse.ArgumentParser(prog="livegen train style-add", description=__doc__.splitlines()[0])
    ap.add_argument("image", type=Path, help="the new style image")
    ap.add_argument("--model", type=Path, required=True, help="the model to extend (models/X)")
    ap.add_argument("--out", type=Path, default=None, help="where to write the grown model (default: --model)")
    ap.add_argument("--key", default="", help="style key in the manifest (default: the image's file name)")
    ap.add_argument("--title", default="")
    ap.add_argument("--licence", default="", help="the style image's licence, for the manifest")
    ap.add_argument("--minutes", type=float, default=12.0, help="wall-time budget (default 12)")
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--size", type=int, default=d.size)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--style-weight", type=float, default=2.0)
    ap.add_argument("--style-size", type=int, default=d.style_size)
    ap.add_argument("--content", default=d.content)
    ap.add_argument("--heldout", default=d.heldout)
    ap.add_argument("--vgg", default=d.vgg)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    model = a.model.with_suffix(".safetensors")
    cfg = TrainConfig(styles=[str(a.image)], content=a.content, heldout=a.heldout, size=a.size, batch=a.batch,
                      steps=a.steps, lr=a.lr, style_weight=a.style_weight, style_size=a.style_size, vgg=a.vgg,
                      threads=a.threads)
    try:
        path = add_style(model, a.image, a.out or a.model, cfg, a.minutes, a.key, a.title, a.licence, argv=argv)
    except (FileNotFoundError, ValueError, ModelError) as e:
        print(f"livegen train style-add: {e}", file=sys.stderr)
        return 1
    print(f"livegen train style-add: {a.image} appended -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
