"""Playing the latent walk: it stays on the sphere, moves no faster than asked, loops close, jumps
land on the beat, keyframes come back, and the generator layer never takes the show down."""

from __future__ import annotations

import json
import math

import pytest
import torch

from livegen.clock import Tempo
from livegen.nets import ort
from livegen.nets.generator import VAE, DCGANGenerator, save_generator
from livegen.params import ParameterStore
from livegen.size import Size
from livegen.stages import default_registry
from livegen.stages.generator import GeneratorConfig, GeneratorStage
from livegen.stages.latent import N_DIRS, LatentWalk, angle, principal_directions, slerp
from livegen.stages.resize import fit_to_frame

FPS = 30.0


class Show:
    """A lockstep show: parameter store + 120 BPM tempo, one snapshot per frame."""

    def __init__(self, bpm: float = 120.0, **values):
        self.store = ParameterStore(default_registry())
        self.frame = 0  # frame n is at t = n / FPS, as in a render
        self.tempo = Tempo(bpm)
        for k, v in values.items():
            self.store.set(f"generator.{k}", v, immediate=True)

    def snap(self):
        t = self.frame / FPS
        self.store.step(1 / FPS)
        snap = self.store.snapshot(t, self.tempo.beat(t))
        self.frame += 1
        return snap


def run_walk(walk: LatentWalk, show: Show, frames: int, events: dict[int, tuple[str, object]] | None = None):
    out = []
    for n in range(frames):
        if events and n in events:
            name, value = events[n]
            if value is None:
                show.store.fire(f"generator.{name}")
            else:
                show.store.set(f"generator.{name}", value, immediate=True)
        out.append(walk.step(show.snap()).clone())
    return out


def test_slerp_stays_on_the_sphere_between_its_endpoints():
    a, b = torch.nn.functional.normalize(torch.randn(2, 16, dtype=torch.float64), dim=1)
    assert torch.allclose(slerp(a, b, 0.0), a) and torch.allclose(slerp(a, b, 1.0), b)
    for u in (0.25, 0.5, 0.75):
        p = slerp(a, b, u)
        assert abs(float(p.norm()) - 1) < 1e-12
        assert abs(angle(a, p) - u * angle(a, b)) < 1e-9


@pytest.mark.parametrize("mode", ["loop", "drift", "hold"])
def test_walk_positions_are_unit_norm_through_jumps_and_glides(mode):
    walk = LatentWalk(32, seed=1)
    path = run_walk(walk, Show(mode=mode, glide=0.5), 90, {20: ("jump", None), 40: ("seed", 7)})
    assert all(abs(float(p.norm()) - 1) < 1e-9 for p in path)


def max_step(path):
    return max(angle(a, b) for a, b in zip(path, path[1:], strict=False))


def test_walk_speed_bounds_the_step_per_frame():
    steps = {}
    for speed in (0.0, 0.5, 1.0, 2.0):
        walk = LatentWalk(32, seed=2)
        steps[speed] = max_step(run_walk(walk, Show(speed=speed, loop_length=4.0), 120))
    assert steps[0.0] == 0.0
    assert 0 < steps[0.5] < steps[1.0] < steps[2.0]
    # The per-frame step is proportional to speed (same curve, traversed faster).
    assert steps[2.0] <= 2.0 * steps[1.0] * 1.05 and steps[0.5] <= 0.5 * steps[1.0] * 1.05
    # At speed 1 a 4-beat loop at 120 BPM takes 60 frames: no frame moves further than the curve's
    # steepest 1/60 of a loop.
    fine = [walk.loop.at(i / 6000) for i in range(6001)]
    steepest = max(angle(a, b) for a, b in zip(fine, fine[1:], strict=False)) * 100
    assert steps[1.0] <= steepest * 1.01


def test_noise_loop_closes_on_itself_after_its_length():
    walk = LatentWalk(32, seed=3)
    path = run_walk(walk, Show(loop_length=2.0, loop_unit="seconds"), 61)
    assert angle(path[0], path[60]) < 1e-6  # 2 s at 30 fps: back to the start
    assert angle(path[0], path[30]) > 0.2  # and it went somewhere in between


def test_loop_in_beats_follows_the_tempo():
    slow, fast = LatentWalk(32, seed=4), LatentWalk(32, seed=4)
    p_slow = run_walk(slow, Show(bpm=60, loop_length=4.0), 121)
    p_fast = run_walk(fast, Show(bpm=120, loop_length=4.0), 61)
    assert angle(p_slow[120], p_slow[0]) < 1e-6 and angle(p_fast[60], p_fast[0]) < 1e-6
    assert angle(p_slow[60], p_fast[30]) < 1e-9  # same beat, same place


def test_same_seed_and_same_controls_give_the_same_walk_bit_for_bit():
    events = {10: ("jump", None), 30: ("mode", "drift"), 50: ("seed", 3), 70: ("keyframe", 2)}
    a = run_walk(LatentWalk(32, seed=5), Show(glide=0.3), 100, events)
    b = run_walk(LatentWalk(32, seed=5), Show(glide=0.3), 100, events)
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    c = run_walk(LatentWalk(32, seed=6), Show(glide=0.3), 100, events)
    assert angle(a[5], c[5]) > 0.1


def test_jump_glides_for_the_glide_time_then_holds():
    walk = LatentWalk(32, seed=7)
    path = run_walk(walk, Show(mode="hold", glide=1.0), 80, {15: ("jump", None)})
    assert torch.equal(path[0], path[14])  # holding
    assert angle(path[14], path[15]) < angle(path[14], path[45]) / 5  # eases out of the old place
    gliding = [angle(a, b) for a, b in zip(path[15:45], path[16:46], strict=False)]
    assert all(g > 0 for g in gliding[:-1])  # moves every frame of the 1 s glide
    assert all(torch.equal(path[45], p) for p in path[45:])  # landed at frame 15 + 30 and stays


def test_jump_with_no_glide_cuts():
    walk = LatentWalk(32, seed=8)
    path = run_walk(walk, Show(mode="hold", glide=0.0), 20, {10: ("jump", None)})
    assert torch.equal(path[9], path[0]) and torch.equal(path[10], path[19]) and angle(path[9], path[10]) > 0.3


@pytest.mark.parametrize(("quantise", "grid"), [("beat", 1.0), ("bar", 4.0)])
def test_quantised_jump_lands_on_a_beat(quantise, grid):
    walk = LatentWalk(32, seed=9)
    show = Show(mode="hold", glide=0.1, quantise=quantise)  # 120 BPM at 30 fps: a beat every 15 frames
    path = run_walk(walk, show, 140, {22: ("jump", None)})
    assert walk.landings and walk.landings[0] % grid == 0
    landing_frame = round(walk.landings[0] / 2.0 * FPS)
    assert landing_frame > 22
    assert not torch.equal(path[landing_frame - 1], path[landing_frame])
    assert all(torch.equal(path[landing_frame], p) for p in path[landing_frame:])


def test_stored_keyframe_is_recalled_exactly_and_the_walk_resumes():
    walk = LatentWalk(32, seed=10)
    show = Show(glide=0.5, slot=3)
    path = run_walk(walk, show, 120, {20: ("store", None), 60: ("keyframe", 3), 100: ("keyframe", 0)})
    assert torch.equal(path[80], path[20])  # 0.5 s after recall it sits on the stored place
    assert torch.equal(path[80], path[99])
    assert not torch.equal(path[119], path[99])  # back to walking


# ---------------------------------------------------------------------------------------------
# The generator layer


@pytest.fixture
def gan_file(tmp_path):
    torch.manual_seed(0)
    return save_generator(tmp_path / "tiny_gan", DCGANGenerator(8, 4, 64).eval(), {"name": "tiny_gan"})


@pytest.fixture
def vae_file(tmp_path):
    torch.manual_seed(0)
    return save_generator(tmp_path / "tiny_vae", VAE(8, 4, 64).eval(), {"name": "tiny_vae"})


def test_layer_draws_frames_of_the_output_size_in_unit_range(gan_file):
    layer = GeneratorStage(GeneratorConfig(model=str(gan_file)), torch.device("cpu"))
    assert layer.available
    runtime = "onnxruntime" if ort.available() else "torch"
    assert layer.status == (f"generator: tiny_gan (GAN, 64 px, z=8) · {runtime}, upscale: upsample4 (learned x4)"
                            + (" · onnxruntime" if ort.available() else ""))
    show = Show()
    for _ in range(3):
        out = layer(show.snap(), None, Size(160, 90))
    assert out.shape == (1, 3, 90, 160) and float(out.min()) >= 0 and float(out.max()) <= 1


def test_layer_render_is_bit_identical_for_the_same_seed_and_controls(gan_file):
    frames = []
    for _ in range(2):
        layer = GeneratorStage(GeneratorConfig(model=str(gan_file)), torch.device("cpu"), seed=4)
        show = Show(glide=0.2)
        seq = []
        for n in range(20):
            if n == 5:
                show.store.fire("generator.jump")
            seq.append(layer(show.snap(), None, Size(64, 48)))
        frames.append(seq)
    assert all(torch.equal(a, b) for a, b in zip(*frames, strict=True))


def test_missing_model_turns_the_layer_off_with_a_clear_status(tmp_path, caplog):
    layer = GeneratorStage(GeneratorConfig(model=str(tmp_path / "gone.safetensors")), torch.device("cpu"))
    assert not layer.available and "gone.safetensors" in layer.status and "layer off" in layer.status
    assert layer(Show().snap(), None, Size(32, 32)) is None
    assert "not found" in caplog.text


def test_corrupt_model_file_turns_the_layer_off_without_a_traceback(gan_file, caplog):
    gan_file.write_bytes(b"\x00garbage" * 10)
    layer = GeneratorStage(GeneratorConfig(model=str(gan_file)), torch.device("cpu"))
    assert not layer.available and "layer off" in layer.status
    assert "tiny_gan.safetensors" in caplog.text and "Traceback" not in caplog.text


def test_mismatched_manifest_turns_the_layer_off_and_says_why(gan_file):
    m = gan_file.with_suffix(".json")
    manifest = json.loads(m.read_text())
    manifest["architecture"]["latent_dim"] = 16
    m.write_text(json.dumps(manifest))
    layer = GeneratorStage(GeneratorConfig(model=str(gan_file)), torch.device("cpu"))
    assert not layer.available and "do not fit" in layer.status


def test_direction_knobs_move_the_latent_by_up_to_two_sigma(gan_file):
    layer = GeneratorStage(GeneratorConfig(model=str(gan_file)), torch.device("cpu"))
    assert layer.directions.shape == (N_DIRS, 8)
    assert torch.allclose(layer.directions.norm(dim=1), torch.ones(N_DIRS), atol=1e-5)
    show = Show(speed=0.0)
    base = layer.latent(show.snap(), None)
    show.store.set("generator.dir1", 1.0, immediate=True)
    moved = layer.latent(show.snap(), None)
    assert torch.allclose((moved - base).norm(), torch.tensor(2.0), atol=1e-4)


def test_principal_directions_find_the_axis_that_changes_the_image():
    class OneKnob(torch.nn.Module):
        """A 'generator' whose picture depends on z[3] only: the top direction must be axis 3."""

        latent_dim = 6

        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.randn(3, 16, 16))

        def generate(self, z):
            return torch.sigmoid(z[:, 3, None, None, None] * self.w)

    d = principal_directions(OneKnob(), k=1)
    assert abs(float(d[0, 3])) > 0.95


def test_truncation_zero_gives_the_average_image_whatever_the_walk(gan_file):
    layer = GeneratorStage(GeneratorConfig(model=str(gan_file)), torch.device("cpu"))
    show = Show(truncation=0.0)
    a = layer(show.snap(), None, Size(64, 64))
    show.store.fire("generator.jump")
    b = layer(show.snap(), None, Size(64, 64))
    assert torch.equal(a, b)


def test_camera_steers_a_vae_only_when_camera_mix_is_up(vae_file):
    red = torch.zeros(1, 3, 48, 64)
    red[:, 0] = 1
    blue = torch.zeros(1, 3, 48, 64)
    blue[:, 2] = 1
    outs = {}
    for mix in (0.0, 1.0):
        for name, cam in (("red", red), ("blue", blue)):
            layer = GeneratorStage(GeneratorConfig(model=str(vae_file)), torch.device("cpu"))
            outs[mix, name] = layer(Show(camera_mix=mix).snap(), cam, Size(64, 64))
    assert torch.equal(outs[0.0, "red"], outs[0.0, "blue"])
    assert not torch.equal(outs[1.0, "red"], outs[1.0, "blue"])


def test_fit_modes_fill_crop_or_letterbox_the_frame():
    img = torch.rand(1, 3, 64, 64)
    cover = fit_to_frame(img, Size(160, 90), "cover")
    contain = fit_to_frame(img, Size(160, 90), "contain")
    assert cover.shape == contain.shape == (1, 3, 90, 160)
    assert float(contain[..., :, :10].abs().max()) == 0.0  # black side bars
    assert float(cover[..., :, :10].abs().max()) > 0.0
    assert fit_to_frame(img, Size(64, 64)) is img
    assert math.isclose(float(fit_to_frame(torch.full((1, 3, 64, 64), 0.5), Size(32, 32)).mean()), 0.5, rel_tol=1e-5)


@pytest.mark.parametrize("mode", ["bicubic", "bilinear"])
def test_fast_upscale_matches_pytorch_interpolation(mode):
    img = torch.rand(1, 3, 64, 64)
    ours = fit_to_frame(img, Size(64 * 5, 64 * 3), "stretch", mode)
    ref = torch.nn.functional.interpolate(img, size=(192, 320), mode=mode, align_corners=False).clamp(0, 1)
    assert torch.allclose(ours, ref, atol=1e-5)
