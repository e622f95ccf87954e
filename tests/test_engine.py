"""Stories about the show never stopping: failing stages, bad events and late controls."""

from __future__ import annotations

import logging
import os
import threading
import time

import torch
from waiting import wait_for

from livegen import engine as engine_mod
from livegen import limits
from livegen.control.bus import ControlEvent
from livegen.engine import Engine, ErrorLog
from livegen.patch import load_patch, parse_patch
from livegen.paths import DEFAULT_PATCH, ROOT


class Exploding(torch.nn.Module):
    """A style layer that breaks after its first frame (a real module, as a broken net would be)."""

    available = True
    status = "style: exploding test net"

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def forward(self, snap, frame, scale_factor=1.0):
        self.calls += 1
        if self.calls > 1:
            raise RuntimeError("out of memory in conv3")
        return frame


class NaNs(Exploding):
    def forward(self, snap, frame, scale_factor=1.0):
        return frame * float("nan")


def engine() -> Engine:
    return Engine(parse_patch('[output]\nsize = "32x24"\n'), torch.device("cpu"), (32, 24),
                  camera=lambda t: (None, 0))


def test_a_stage_that_fails_leaves_the_last_good_frame_on_screen_and_is_counted():
    e = engine()
    e.pipeline.style = Exploding()
    good = e.tick(0.0).clone()
    for i in range(1, 20):
        frame = e.tick(i / 30)
        assert torch.equal(frame, good)
    assert e.errors.counts == {"frame: RuntimeError: out of memory in conv3": 19}
    assert "(x19)" in e.errors.last


def test_a_stage_that_outputs_nan_pixels_never_reaches_the_screen():
    e = engine()
    first = e.tick(0.0).clone()
    e.pipeline.style = NaNs()
    assert torch.equal(e.tick(0.1), first)
    assert "NaN" in e.errors.last


def test_unknown_addresses_and_bad_values_are_reported_and_the_rest_still_applies():
    e = engine()
    e.push(ControlEvent(0.0, "osc", "/livegen/no/such/param", 1.0))
    e.push(ControlEvent(0.0, "osc", "/livegen/compose/amount", float("nan")))
    e.push(ControlEvent(0.0, "osc", "/livegen/master/fade", 0.5))
    e.tick(0.0)
    assert e.store.targets["master.fade"] == 0.5
    assert e.errors.total == 2


def test_an_event_that_arrives_late_is_applied_and_restamped_into_the_frame_that_used_it():
    e = engine()
    e.tick(0.0)
    e.tick(0.1)
    e.push(ControlEvent(0.05, "midi", "/livegen/master/fade", 0.25))  # stamped before frame 1, pushed after
    applied = e._apply_events(0.2)
    assert len(applied) == 1 and 0.1 < applied[0].t <= 0.2
    assert e.store.targets["master.fade"] == 0.25


def test_future_dated_events_wait_for_their_frame():
    e = engine()
    e.push(ControlEvent(0.5, "osc", "/livegen/master/fade", 0.0))
    e.tick(0.0)
    assert e.store.targets["master.fade"] == 1.0
    e.tick(0.5)
    assert e.store.targets["master.fade"] == 0.0


def test_weeks_of_distinct_bad_addresses_do_not_grow_the_error_table_without_end(caplog):
    """A sender sprays 2500 random addresses in one burst: each is counted, none is lost, memory stays bounded."""
    e = engine()
    for i in range(2500):
        e.push(ControlEvent(0.0, "osc", f"/random/{i}", 1.0))
    e.push(ControlEvent(0.0, "osc", "/livegen/master/fade", 0.25))  # a real control behind the burst
    frames = 0
    with caplog.at_level(logging.WARNING, logger="livegen"):
        while len(e.bus):
            e.tick(frames / 30)
            frames += 1
    # The burst is spread over frames by the per-frame cap (a flood never stalls one frame) ...
    assert frames == 3
    flood = f"control flood: over {limits.FRAME_EVENTS_MAX} events due in one frame, the rest wait for the next frames"
    assert caplog.records[0].getMessage() == flood  # reported once, then counted
    # ... every bad address is counted (and each capped frame), and the fader behind them still lands.
    assert e.errors.total == 2500 + 2
    assert e.store.targets["master.fade"] == 0.25
    # The table keeps the most recent problems only, and the log is not flooded line by line.
    assert len(e.errors.counts) == ErrorLog.MAX_DISTINCT
    assert "control: osc /random/2499: unknown address" in e.errors.counts
    assert "control: osc /random/0: unknown address" not in e.errors.counts
    assert len(caplog.records) <= ErrorLog.MAX_NEW_LINES
    assert e.errors.unlogged == e.errors.total - len(caplog.records)


def test_a_repeated_problem_stays_in_the_table_while_new_ones_push_out_the_oldest():
    errors = ErrorLog()
    errors.report("camera lost")
    for i in range(ErrorLog.MAX_DISTINCT - 1):
        errors.report(f"bad value {i}")
    errors.report("camera lost")  # seen again: now the most recent
    errors.report("one more")
    assert errors.counts["camera lost"] == 2
    assert "bad value 0" not in errors.counts
    assert len(errors.counts) == ErrorLog.MAX_DISTINCT


def test_the_shipped_default_patch_renders_every_layer_without_a_reported_problem():
    """Style net, GAN and compositing together, as the engine runs them (inference mode)."""
    e = Engine(load_patch(DEFAULT_PATCH), torch.device("cpu"), (96, 72), camera=lambda t: (None, 0))
    assert e.pipeline.style.available and e.pipeline.generator.available, e.pipeline.status()
    frames = [e.tick(i / 10) for i in range(4)]
    assert e.errors.total == 0, e.errors.last
    assert all(f.shape == (1, 3, 72, 96) for f in frames)
    assert not torch.equal(frames[0], frames[-1])


def test_the_generated_image_can_be_routed_through_the_style_net():
    text = ('[style]\nmodel = "models/style3.safetensors"\n[generator]\nmodel = "models/gan64.safetensors"\n'
            '[params]\n"compose.mode" = "mix"\n"compose.amount" = 1.0\n')
    plain = Engine(parse_patch(text), torch.device("cpu"), (64, 48), camera=lambda t: (None, 0))
    routed_text = text.replace('[generator]\n', '[generator]\nthrough_style = true\n')
    routed = Engine(parse_patch(routed_text), torch.device("cpu"), (64, 48), camera=lambda t: (None, 0))
    assert routed.pipeline.style_for_generator is not None and plain.pipeline.style_for_generator is None
    a, b = plain.tick(0.0), routed.tick(0.0)
    assert routed.errors.total == 0, routed.errors.last
    assert not torch.equal(a, b), "the generator layer (on top, mix 1.0) now shows the styled image"


def test_a_record_control_that_cannot_start_a_recording_leaves_the_other_controls_of_its_frame(tmp_path):
    e = engine()
    e.record_dir = tmp_path / "not-a-folder"
    e.record_dir.write_text("a file where the show logs should go")
    e.push(ControlEvent(0.0, "osc", "/livegen/record", "start"))
    e.push(ControlEvent(0.0, "osc", "/livegen/master/fade", 0.25))
    e.tick(0.0)
    assert e.recorder is None and e.errors.last.startswith("recording not started: ")
    assert e.store.targets["master.fade"] == 0.25


def test_a_saved_patch_with_a_new_model_loads_it_off_the_render_thread_while_frames_go_on(tmp_path, monkeypatch):
    """Loading a model takes up to seconds: the show plays the old layers until the new ones are ready."""
    patch_file = tmp_path / "show.toml"
    patch_file.write_text('name = "show"\n[output]\nsize = "32x24"\n')
    e = Engine(load_patch(patch_file), torch.device("cpu"), (32, 24), camera=lambda t: (None, 0), watch=True)
    e.watcher.interval = 0.0
    e.tick(0.0)
    old = e.pipeline
    built_on: list[str] = []
    release = threading.Event()
    real = engine_mod.Pipeline

    def slow_pipeline(*args, **kwargs):
        built_on.append(threading.current_thread().name)
        release.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(engine_mod, "Pipeline", slow_pipeline)
    model = ROOT / "models" / "style3.safetensors"
    patch_file.write_text(f'name = "show"\n[output]\nsize = "32x24"\n[style]\nmodel = "{model}"\n')
    st = patch_file.stat()
    os.utime(patch_file, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    frames = iter(range(1, 1_000_000))

    def frame() -> None:
        e.tick(next(frames) / 30)
        time.sleep(0.001)

    assert wait_for(lambda: frame() or built_on)
    for _ in range(5):  # the model is still loading: frames keep coming from the old layers
        frame()
    assert e.pipeline is old and built_on == ["livegen-layer-reload"]
    release.set()
    assert wait_for(lambda: frame() or e.pipeline is not old)
    assert e.pipeline.style.available, e.pipeline.status()
    assert e.model_hashes(wait=10)[str(model)], "show logs recorded from now on name the new model"
