"""OSC bytes: encoding replies and feedback, and a fast parser for plain messages.

The OSC receive thread tries :func:`parse_simple` first (one message, numeric/string/bool args:
nearly every packet of a fader flood) and falls back to python-osc for bundles and the rest of
the spec. Arguments become JSON-friendly values (:func:`plain`) so show logs can record them.
"""

from __future__ import annotations

import math
import struct
from typing import Any

from pythonosc.osc_message_builder import OscMessageBuilder


def encode_message(address: str, *args: Any) -> bytes:
    """One OSC message as bytes (bool -> T/F, int -> i or h, float -> f, str -> s)."""
    b = OscMessageBuilder(address)
    for a in args:
        if isinstance(a, bool):
            b.add_arg(a)
        elif isinstance(a, int):
            b.add_arg(a, "i" if -(2**31) <= a < 2**31 else "h")
        elif isinstance(a, float):
            b.add_arg(a, "f")
        else:
            b.add_arg(str(a), "s")
    return b.build().dgram


def encode_bundle(messages: list[bytes], timetag: bytes = b"\x00\x00\x00\x00\x00\x00\x00\x01") -> bytes:
    """An OSC bundle of already-encoded messages; the default timetag means 'immediately'."""
    return b"#bundle\x00" + timetag + b"".join(struct.pack(">i", len(m)) + m for m in messages)


_INT = struct.Struct(">i")
_FLOAT = struct.Struct(">f")
_DOUBLE = struct.Struct(">d")
_INT64 = struct.Struct(">q")


def _osc_string(data: bytes, i: int) -> tuple[str, int] | None:
    end = data.find(b"\x00", i)
    if end < 0:
        return None
    nxt = (end + 4) & ~3  # the string, its NUL, then padding to a multiple of 4 bytes
    if nxt > len(data) or data[end:nxt].strip(b"\x00"):
        return None
    try:
        return data[i:end].decode("utf-8"), nxt
    except UnicodeDecodeError:
        return None


def parse_simple(data: bytes) -> tuple[str, list[Any]] | None:
    """Fast path for the common packet: one message with int/float/double/int64/string/T/F/N args.

    Returns None for anything else (bundles, blobs, arrays, odd bytes); the caller then uses
    python-osc, which handles the whole spec. A fader flood is nearly all such messages, and
    this path costs a fraction of the general parser.
    """
    if not data or data[0] != 0x2F:  # "/": bundles and garbage take the general path
        return None
    head = _osc_string(data, 0)
    if head is None:
        return None
    address, i = head
    if i == len(data):
        return address, []
    tags = _osc_string(data, i)
    if tags is None or not tags[0].startswith(","):
        return None
    tag, i = tags
    args: list[Any] = []
    n = len(data)
    for c in tag[1:]:
        if c == "f":
            if i + 4 > n:
                return None
            args.append(_FLOAT.unpack_from(data, i)[0])
            i += 4
        elif c == "i":
            if i + 4 > n:
                return None
            args.append(_INT.unpack_from(data, i)[0])
            i += 4
        elif c == "d":
            if i + 8 > n:
                return None
            args.append(_DOUBLE.unpack_from(data, i)[0])
            i += 8
        elif c == "h":
            if i + 8 > n:
                return None
            args.append(_INT64.unpack_from(data, i)[0])
            i += 8
        elif c == "s":
            got = _osc_string(data, i)
            if got is None:
                return None
            args.append(got[0])
            i = got[1]
        elif c == "T":
            args.append(True)
        elif c == "F":
            args.append(False)
        elif c == "N":
            args.append(None)
        else:
            return None
    return (address, args) if i == n else None


def plain(value: Any) -> Any:
    """An OSC argument as a JSON-friendly value, or raise ValueError (blobs, MIDI packets, NaN)."""
    if isinstance(value, bool) or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"value {value!r} is not finite")
        return value
    if value is None:
        return None
    raise ValueError(f"unsupported argument type {type(value).__name__}")
