"""Patch files: a show's TOML settings, validated into typed config, and hot reload.

The engine reads one :class:`Patch` at start; :class:`PatchWatcher` is polled by the render loop
and hands back a new Patch when the file is saved. An invalid save never replaces the running
patch: the error (file, key path, what was expected) goes to the HUD and the log instead.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import threading
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from livegen import limits
from livegen.config import ConfigError, build, json_schema
from livegen.control.audioin import AudioConfig
from livegen.control.autopilot import AutopilotConfig, check_autopilot
from livegen.control.mapping.schema import MappingConfig, check_mappings
from livegen.control.midi import MidiConfig
from livegen.control.osc.config import OscConfig
from livegen.params import ParamRegistry
from livegen.paths import find_patch, shipped_patches
from livegen.size import Size, parse_size
from livegen.stages import default_registry
from livegen.stages.generator import GeneratorConfig
from livegen.stages.palette import PaletteConfig
from livegen.stages.style import StyleConfig


class PatchError(Exception):
    """A patch that cannot be used; the message names the file and the key path."""

    def __init__(self, file: str | Path, path: str, message: str) -> None:
        where = f"{file}: {path}" if path else str(file)
        super().__init__(f"{where}: {message}")
        self.file = str(file)
        self.path = path
        self.message = message


def _check_size(field_name: str, text: str) -> None:
    try:
        parse_size(text)
    except ValueError as e:
        raise ConfigError(field_name, str(e)) from None


@dataclass
class OutputConfig:
    """[output]: what the window or render shows."""

    size: str = "640x480"
    fps: float = 30.0
    fullscreen: bool = False
    display: int = 0
    hud: bool = True
    budget_ms: float = 0.0  # live frame budget; 0 = one frame period at fps
    adaptive: bool = True  # live shows lower the stages' quality when frames run late (renders never do)
    # Live output window through OpenGL (sinks/gl.py): "auto" = when the show runs on CUDA and PyOpenGL
    # imports (frames reach the texture without a host copy), "on" = always (CPU: host upload), "off" = never.
    gl: Literal["auto", "on", "off"] = "auto"
    # Extra outputs beside the window or file, several at once (see livegen/sinks/base.py).
    ndi: str = ""  # NDI source name to send as
    spout: str = ""  # Spout sender name (Windows)
    syphon: str = ""  # Syphon server name (macOS)
    virtual_camera: bool = False  # pyvirtualcam (Linux: v4l2loopback)
    ndi_ips: str = ""  # NDI peers to reach without multicast discovery, comma-separated ("127.0.0.1")

    def __post_init__(self) -> None:
        _check_size("size", self.size)
        if not 1 <= self.fps <= 240:
            raise ConfigError("fps", f"expected 1..240, got {self.fps}")
        if not 0 <= self.display <= 63:
            raise ConfigError("display", f"expected a display index 0..63, got {self.display}")
        if not 0 <= self.budget_ms <= 10_000:
            raise ConfigError("budget_ms", f"expected 0..10000 ms (0 = one frame at fps), got {self.budget_ms}")

    def sink_requests(self) -> list[tuple[str, str]]:
        """The extra outputs this section asks for, as ``(kind, target)``."""
        asked = [("ndi", self.ndi), ("spout", self.spout), ("syphon", self.syphon)]
        return [(k, v) for k, v in asked if v] + ([("virtual_camera", "")] if self.virtual_camera else [])

    @property
    def frame_budget_ms(self) -> float:
        return self.budget_ms or 1000.0 / self.fps

    @property
    def frame_size(self) -> Size:
        return parse_size(self.size)


@dataclass
class CameraConfig:
    """[camera]: the live input. ``source`` is "auto", "pattern", a device index or a video file."""

    source: str | int = "auto"
    size: str = "640x480"  # asked of a webcam (with fps, MJPG where offered); the HUD says what came
    fps: float = 30.0
    mirror: bool = False
    loop: bool = True

    def __post_init__(self) -> None:
        _check_size("size", self.size)
        if not 1 <= self.fps <= 240:
            raise ConfigError("fps", f"expected 1..240, got {self.fps}")


@dataclass
class TempoConfig:
    """[tempo]: where beat phase comes from."""

    bpm: float = 120.0
    # The one leader of the tempo (see livegen/control/tempo.py); the HUD shows it.
    source: Literal["fixed", "midi", "osc", "audio", "tap", "link"] = "fixed"
    clock_out: str = ""  # send MIDI clock (24 ppqn, start/stop) on this port ("" = off)

    def __post_init__(self) -> None:
        if not 20 <= self.bpm <= 300:
            raise ConfigError("bpm", f"expected 20..300, got {self.bpm}")


@dataclass
class SceneConfig:
    """[scenes.NAME]: a named set of parameter values, recallable by key, MIDI or OSC."""

    values: dict[str, Any] = field(default_factory=dict)
    fade: float = 0.0
    key: int = 0  # 1..9 in the window; 0 = recalled by name/order only

    def __post_init__(self) -> None:
        if not 0 <= self.fade <= limits.SCENE_FADE_S:
            raise ConfigError("fade", f"expected 0..{limits.SCENE_FADE_S:g} seconds, got {self.fade}")
        if not 0 <= self.key <= 9:
            raise ConfigError("key", "must be 1..9 (or 0 for none)")


@dataclass
class Patch:
    """A whole show file."""

    name: str = "untitled"
    seed: int = 0
    device: Literal["auto", "cpu", "cuda"] = "auto"
    output: OutputConfig = field(default_factory=OutputConfig)
    camera: CameraConfig = field(default_factory=CameraConfig)
    tempo: TempoConfig = field(default_factory=TempoConfig)
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    style: StyleConfig = field(default_factory=StyleConfig)
    params: dict[str, Any] = field(default_factory=dict)
    scenes: dict[str, SceneConfig] = field(default_factory=dict)
    osc: OscConfig = field(default_factory=OscConfig)
    midi: MidiConfig = field(default_factory=MidiConfig)
    audio: AudioConfig = field(default_factory=AudioConfig)
    mappings: list[MappingConfig] = field(default_factory=list)
    palette: PaletteConfig = field(default_factory=PaletteConfig)
    autopilot: AutopilotConfig = field(default_factory=AutopilotConfig)
    source_path: Path | None = field(default=None, init=False, compare=False)
    source_hash: str = field(default="", init=False, compare=False)
    source_text: str = field(default="", init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not 0 <= self.seed <= limits.SEED_MAX:
            raise ConfigError("seed", f"expected 0..{limits.SEED_MAX}, got {self.seed}")

    @property
    def base_dir(self) -> Path | None:
        return self.source_path.parent if self.source_path else None

    def scene_for_key(self, key: int) -> str | None:
        """Scene bound to number key ``key``; unbound keys pick the key-th scene in file order."""
        for name, s in self.scenes.items():
            if s.key == key:
                return name
        unbound = [n for n, s in self.scenes.items() if s.key == 0]
        return unbound[key - 1] if 0 < key <= len(unbound) else None


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Accept both ``"style.mix" = 0.3`` and ``[params.style] mix = 0.3``."""
    out: dict[str, Any] = {}
    for k, v in table.items():
        name = f"{prefix}.{k}" if prefix else k
        if isinstance(v, dict):
            out.update(_flatten(v, name))
        else:
            out[name] = v
    return out


def _check_values(values: dict[str, Any], registry: ParamRegistry, path: str) -> dict[str, Any]:
    out = {}
    for name, value in _flatten(values).items():
        if name not in registry:
            close = [n for n in registry.names if n.split(".")[-1] == name.split(".")[-1]]
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ConfigError(f"{path}.{name}", f"unknown parameter{hint}")
        spec = registry[name]
        if spec.kind == "trigger":
            raise ConfigError(f"{path}.{name}", "is a trigger; it has no stored value")
        try:
            out[name] = spec.coerce(value)
        except ValueError as e:
            raise ConfigError(f"{path}.{name}", str(e)) from None
    return out


def _too_deep(value: Any, depth: int, path: str = "") -> str:
    """The key path where ``value`` nests deeper than ``depth``, or "" when it does not."""
    if depth < 0:
        return path or "(top)"
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        where = _too_deep(child, depth - 1, f"{path}[{key}]" if isinstance(key, int) else
                          (f"{path}.{key}" if path else str(key)))
        if where:
            return where
    return ""


def parse_patch(text: str, file: str | Path = "<patch>", registry: ParamRegistry | None = None) -> Patch:
    """Parse and validate patch text; raises PatchError naming file and key path."""
    registry = registry or default_registry()
    if len(text) > limits.PATCH_BYTES:
        raise PatchError(file, "", f"{len(text)} characters is over the {limits.PATCH_BYTES}-byte limit of a patch")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise PatchError(file, "", f"not valid TOML: {e}") from None
    except RecursionError:
        raise PatchError(file, "", f"nested more than {limits.PATCH_DEPTH} levels deep") from None
    deep = _too_deep(data, limits.PATCH_DEPTH)
    if deep:
        raise PatchError(file, deep, f"nested more than {limits.PATCH_DEPTH} levels deep")
    try:
        patch = build(Patch, data)
        patch.params = _check_values(patch.params, registry, "params")
        for name, scene in patch.scenes.items():
            scene.values = _check_values(scene.values, registry, f"scenes.{name}.values")
        check_mappings(registry, patch.mappings, patch.osc.aliases)
        check_autopilot(patch.autopilot, registry, list(patch.scenes))
    except ConfigError as e:
        raise PatchError(file, e.path, e.message) from None
    patch.source_hash = hashlib.sha256(text.encode()).hexdigest()
    patch.source_text = text
    return patch


def load_patch(path: str | Path, registry: ParamRegistry | None = None) -> Patch:
    path = find_patch(path)  # a file, or a shipped patch by name ("midi_controller")
    try:
        with path.open("rb") as f:
            if not path.is_file():
                raise PatchError(path, "", "not a regular file")
            raw = f.read(limits.PATCH_BYTES + 1)
        if len(raw) > limits.PATCH_BYTES:
            raise PatchError(path, "", f"larger than the {limits.PATCH_BYTES}-byte limit of a patch")
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise PatchError(path, "", f"file not found (shipped patches: {', '.join(shipped_patches())})") from None
    except (OSError, UnicodeDecodeError) as e:
        raise PatchError(path, "", f"cannot read: {e}") from None
    patch = parse_patch(text, path, registry)
    patch.source_path = path.resolve()
    return patch


class PatchWatcher:
    """Watches the patch file; ``poll()`` returns a new Patch or raises PatchError once per save.

    ``poll`` runs on the render thread, so it only stats the file; reading and validating a save
    happens on a helper thread, and ``poll`` hands over the result once it is ready (small patches
    are ready within the same call: the wait is at most ``PARSE_WAIT`` seconds).
    """

    PARSE_WAIT = 0.01

    def __init__(self, path: str | Path, registry: ParamRegistry | None = None, interval: float = 0.25) -> None:
        self.path = Path(path)
        self.registry = registry
        self.interval = interval
        self._stamp = self._read_stamp()
        self._next_check = 0.0
        self._job: threading.Thread | None = None
        self._result: Patch | PatchError | None = None

    def _read_stamp(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def _load(self) -> None:
        try:
            self._result = load_patch(self.path, self.registry)
        except PatchError as e:
            self._result = e

    def poll(self, now: float) -> Patch | None:
        if self._job is None and now >= self._next_check:
            self._next_check = now + self.interval
            stamp = self._read_stamp()
            if stamp is not None and stamp != self._stamp:
                self._stamp = stamp
                self._job = threading.Thread(target=self._load, name="livegen-patch-reload", daemon=True)
                self._job.start()
        if self._job is None:
            return None
        self._job.join(self.PARSE_WAIT)
        if self._job.is_alive():
            return None
        self._job = None
        result, self._result = self._result, None
        if isinstance(result, PatchError):
            raise result
        return result


def _param_schema(registry: ParamRegistry) -> dict[str, Any]:
    """``"style.mix" = 0.3`` keys with each parameter's type, range and description."""
    props: dict[str, Any] = {}
    for spec in registry:
        if spec.kind == "trigger":
            continue
        if spec.kind == "enum":
            prop: dict[str, Any] = {"anyOf": [{"enum": list(spec.choices)}, {"type": "integer"}]}
        elif spec.kind == "bool":
            prop = {"type": "boolean"}
        else:
            prop = {"type": "integer" if spec.kind == "int" else "number"}
            if spec.min is not None:
                prop["minimum"] = spec.min
            if spec.max is not None:
                prop["maximum"] = spec.max
        prop["default"] = spec.default
        prop["description"] = spec.description
        props[spec.name] = prop
    return {"type": "object", "properties": props, "additionalProperties": False}


def patch_schema(registry: ParamRegistry | None = None) -> dict[str, Any]:
    """JSON Schema of a patch file, parameter names included, for editor completion (Taplo, VS Code)."""
    schema = json_schema(Patch)
    values = _param_schema(registry or default_registry())
    schema["properties"]["params"] = values
    scene = schema["properties"]["scenes"]["additionalProperties"]
    scene["properties"]["values"] = values
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "livegen patch"
    return schema


def schema_main(argv: list[str]) -> int:
    """``livegen patch-schema``: print (or write) the patch file's JSON Schema."""
    ap = argparse.ArgumentParser(prog="livegen patch-schema", description=schema_main.__doc__.replace("``", ""))
    ap.add_argument("-o", "--out", help="write to this file instead of standard output")
    args = ap.parse_args(argv)
    text = json.dumps(patch_schema(), indent=2) + "\n"
    if args.out:
        try:
            Path(args.out).write_text(text, encoding="utf-8")
        except OSError as e:
            print(f"livegen patch-schema: cannot write {args.out}: {e.strerror}", file=sys.stderr)
            return 1
    else:
        sys.stdout.write(text)
    return 0
