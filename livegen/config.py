"""Typed validation of plain TOML data into dataclasses, with errors that name the key path.

The patch loader (``patch.py``) and every section owner (generator, style, OSC, MIDI ...) declare
their settings as dataclasses; :func:`build` turns parsed TOML into them, and :func:`json_schema`
describes the same dataclasses as a JSON Schema for editors. Unknown keys are errors, never
ignored, because a typo on stage must not silently do nothing.

Why hand-written rather than msgspec or pydantic (both considered): msgspec converts into
dataclasses but rejects unknown keys only for its own Struct classes, so every section owner
would have to change its class type; pydantic brings a large dependency and its own error
format. Here ~150 lines keep the dataclasses plain, reject unknown keys with a did-you-mean,
and give messages in one shape (``file: key.path: expected ..., got ...``) that the HUD shows.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from typing import Any, Literal, Union


class ConfigError(ValueError):
    """A settings value that does not fit; ``path`` is the dotted key path (``osc.port``)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if origin in (list, tuple):
        return "a list"
    if origin is dict:
        return "a table"
    if dataclasses.is_dataclass(tp):
        return "a table"
    if tp is type(None):
        return "nothing"
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(tp, str(tp))


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def convert(value: Any, tp: Any, path: str) -> Any:
    """Convert ``value`` to type ``tp`` or raise ConfigError naming ``path``."""
    if tp is Any:
        return value
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Literal:
        if value in args:
            return value
        raise ConfigError(path, f"expected {_type_name(tp)}, got {_describe(value)}")
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return convert(value, a, path)
            except ConfigError as e:
                errors.append(e)
        if len(errors) == 1:
            raise errors[0]
        raise ConfigError(path, f"expected {_type_name(tp)}, got {_describe(value)}")
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(path, f"expected a table, got {_describe(value)}")
        return build(tp, value, path)
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(path, f"expected a list, got {_describe(value)}")
        return [convert(v, args[0], _join(path, i)) for i, v in enumerate(value)]
    if origin is tuple:
        if not isinstance(value, list):
            raise ConfigError(path, f"expected a list, got {_describe(value)}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(convert(v, args[0], _join(path, i)) for i, v in enumerate(value))
        if len(value) != len(args):
            raise ConfigError(path, f"expected a list of {len(args)} values, got {len(value)}")
        return tuple(convert(v, a, _join(path, i)) for i, (v, a) in enumerate(zip(value, args)))
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(path, f"expected a table, got {_describe(value)}")
        return {str(k): convert(v, args[1], _join(path, str(k))) for k, v in value.items()}
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(path, f"expected true or false, got {_describe(value)}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(path, f"expected an integer, got {_describe(value)}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(path, f"expected a number, got {_describe(value)}")
    if tp is str:
        if isinstance(value, str):
            return value
        raise ConfigError(path, f"expected a string, got {_describe(value)}")
    raise ConfigError(path, f"unsupported settings type {tp}")


def build(cls: type, data: dict[str, Any], path: str = "") -> Any:
    """Build dataclass ``cls`` from a TOML table; every key must be a field of ``cls``."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = [k for k in data if k not in fields]
    if unknown:
        close = difflib.get_close_matches(unknown[0], list(fields), n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        known = ", ".join(sorted(fields)) or "none"
        raise ConfigError(_join(path, unknown[0]), f"unknown key ({hint}known keys here: {known})")
    kwargs = {}
    for name, f in fields.items():
        if name in data:
            kwargs[name] = convert(data[name], hints[name], _join(path, name))
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(_join(path, name), "required key is missing")
    try:
        obj = cls(**kwargs)
    except ConfigError as e:
        raise ConfigError(_join(path, e.path) if e.path else path, e.message) from None
    except ValueError as e:
        raise ConfigError(path, str(e)) from None
    return obj


def _schema_of(tp: Any) -> dict[str, Any]:
    if tp is Any:
        return {}
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Literal:
        return {"enum": list(args)}
    if origin in (Union, types.UnionType):
        return {"anyOf": [_schema_of(a) for a in args]}
    if dataclasses.is_dataclass(tp):
        return json_schema(tp)
    if origin is list or (origin is tuple and len(args) == 2 and args[1] is Ellipsis):
        return {"type": "array", "items": _schema_of(args[0])}
    if origin is tuple:
        return {"type": "array", "prefixItems": [_schema_of(a) for a in args], "minItems": len(args),
                "maxItems": len(args)}
    if origin is dict:
        return {"type": "object", "additionalProperties": _schema_of(args[1])}
    simple = {bool: "boolean", int: "integer", float: "number", str: "string", type(None): "null"}
    if tp in simple:
        return {"type": simple[tp]}
    raise TypeError(f"no JSON Schema for settings type {tp}")


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)  # type: ignore[arg-type]
    return value


def json_schema(cls: type) -> dict[str, Any]:
    """A JSON Schema (draft 2020-12) of dataclass ``cls``: the keys :func:`build` accepts, with defaults."""
    hints = typing.get_type_hints(cls)
    props: dict[str, Any] = {}
    required = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        prop = _schema_of(hints[f.name])
        if f.default is not dataclasses.MISSING:
            prop["default"] = _plain(f.default)
        elif f.default_factory is not dataclasses.MISSING:
            prop["default"] = _plain(f.default_factory())
        else:
            required.append(f.name)
        props[f.name] = prop
    out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    doc = (cls.__doc__ or "").strip().splitlines()
    if doc:
        out["description"] = doc[0]
    if required:
        out["required"] = required
    return out
