"""Patch files: a show's TOML settings, validated into typed config, and hot reload.

The engine reads one :class:`Patch` at start; :class:`PatchWatcher` is polled by the render loop
and hands back a new Patch when the file is saved. An invalid save never replaces the running
patch: the error (file, key path, what was expected) goes to the HUD and the log instead.
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from livegen.config import ConfigError, build
from livegen.control.mapping.schema import MappingConfig, check_mappings
from livegen.control.midi import MidiConfig
from livegen.control.osc.config import OscConfig
from livegen.latent import GeneratorConfig
from livegen.nets.style import StyleConfig
from livegen.params import ParamRegistry, default_registry


class PatchError(Exception):
    """A patch that cannot be used; the message names the file and the key path."""

    def __init__(self, file: str | Path, path: str, message: str) -> None:
        where = f"{file}: {path}" if path else str(file)
        super().__init__(f"{where}: {message}")
        self.file = str(file)
        self.path = path
        self.message = message


_SIZE = re.compile(r"^\s*(\d+)\s*[xX×]\s*(\d+)\s*$")


def parse_size(text: str) -> tuple[int, int]:
    """'640x480' -> (640, 480) as (width, height)."""
    m = _SIZE.match(text)
    if not m:
        raise ValueError(f"expected a size like 640x480, got {text!r}")
    w, h = int(m.group(1)), int(m.group(2))
    if not (16 <= w <= 8192 and 16 <= h <= 8192):
        raise ValueError(f"size {w}x{h} out of range (16..8192 per side)")
    return w, h


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

    def __post_init__(self) -> None:
        _check_size("size", self.size)
        if not 1 <= self.fps <= 240:
            raise ConfigError("fps", f"expected 1..240, got {self.fps}")

    @property
    def wh(self) -> tuple[int, int]:
        return parse_size(self.size)


@dataclass
class CameraConfig:
    """[camera]: the live input. ``source`` is "auto", "pattern", a device index or a video file."""

    source: str | int = "auto"
    size: str = "640x480"
    mirror: bool = False
    loop: bool = True

    def __post_init__(self) -> None:
        _check_size("size", self.size)


@dataclass
class TempoConfig:
    """[tempo]: where beat phase comes from."""

    bpm: float = 120.0
    source: Literal["fixed", "midi", "osc"] = "fixed"

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
        if self.fade < 0:
            raise ConfigError("fade", "must be >= 0 seconds")
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
    mappings: list[MappingConfig] = field(default_factory=list)
    source_path: Path | None = field(default=None, init=False, compare=False)
    source_hash: str = field(default="", init=False, compare=False)

    @property
    def base_dir(self) -> Path | None:
        return self.source_path.parent if self.source_path else None

    def scene_names(self) -> list[str]:
        return list(self.scenes)

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


def parse_patch(text: str, file: str | Path = "<patch>", registry: ParamRegistry | None = None) -> Patch:
    """Parse and validate patch text; raises PatchError naming file and key path."""
    registry = registry or default_registry()
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise PatchError(file, "", f"not valid TOML: {e}") from None
    try:
        patch = build(Patch, data)
        patch.params = _check_values(patch.params, registry, "params")
        for name, scene in patch.scenes.items():
            scene.values = _check_values(scene.values, registry, f"scenes.{name}.values")
        check_mappings(registry, patch.mappings, patch.osc.aliases)
    except ConfigError as e:
        raise PatchError(file, e.path, e.message) from None
    patch.source_hash = hashlib.sha256(text.encode()).hexdigest()
    return patch


def load_patch(path: str | Path, registry: ParamRegistry | None = None) -> Patch:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PatchError(path, "", "file not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise PatchError(path, "", f"cannot read: {e}") from None
    patch = parse_patch(text, path, registry)
    patch.source_path = path.resolve()
    return patch


class PatchWatcher:
    """Polls the patch file's mtime; ``poll()`` returns a new Patch or raises PatchError once per save."""

    def __init__(self, path: str | Path, registry: ParamRegistry | None = None, interval: float = 0.25) -> None:
        self.path = Path(path)
        self.registry = registry
        self.interval = interval
        self._stamp = self._read_stamp()
        self._next_check = 0.0

    def _read_stamp(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def poll(self, now: float) -> Patch | None:
        if now < self._next_check:
            return None
        self._next_check = now + self.interval
        stamp = self._read_stamp()
        if stamp is None or stamp == self._stamp:
            return None
        self._stamp = stamp
        return load_patch(self.path, self.registry)
