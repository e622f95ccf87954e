"""A TouchOSC layout (.tosc) built from a show's OSC address space (``livegen osc-schema --touchosc``).

Offline tool, not part of the frame loop. One page with a labelled control per parameter: a
fader for numbers (scaled to the parameter's own range, so TouchOSC sends and shows its units),
a stepped fader for enum choices and ints (sent as the index / number), a toggle for switches,
a push button for triggers, and one push button per scene (``/livegen/scene/NAME``). Every
control also receives on its address, so with ``[osc] feedback`` pointed at the tablet the
faders follow scene recalls and replays.

A .tosc file is zlib-compressed XML (``<lexml version='3'>``: nodes with properties, values and
OSC messages). Written from the format as the TouchOSC editor saves it; not opened in TouchOSC
itself here.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterable
from pathlib import Path

from livegen.params import OSC_PREFIX, ParamRegistry, ParamSpec, param_address

_W, _H = 1024, 768  # layout size (a landscape tablet)
_COLS = 8
_CELL_W = _W // _COLS
_ROW_H = 150
_LABEL_H = 24


def _prop(parent: ET.Element, kind: str, key: str, value: str | dict[str, str]) -> None:
    prop = ET.SubElement(parent, "property", type=kind)
    ET.SubElement(prop, "key").text = key
    v = ET.SubElement(prop, "value")
    if isinstance(value, dict):
        for k, x in value.items():
            ET.SubElement(v, k).text = x
    else:
        v.text = value


def _value(parent: ET.Element, key: str, default: str) -> None:
    v = ET.SubElement(parent, "value")
    ET.SubElement(v, "key").text = key
    ET.SubElement(v, "locked").text = "0"
    ET.SubElement(v, "lockedDefaultCurrent").text = "0"
    ET.SubElement(v, "default").text = default
    ET.SubElement(v, "defaultPull").text = "0"


def _node(kind: str, name: str, frame: tuple[int, int, int, int], color: tuple[float, float, float]) -> ET.Element:
    node = ET.Element("node", ID=str(uuid.uuid4()), type=kind)
    props = ET.SubElement(node, "properties")
    x, y, w, h = frame
    _prop(props, "s", "name", name)
    _prop(props, "r", "frame", {"x": str(x), "y": str(y), "w": str(w), "h": str(h)})
    _prop(props, "c", "color", {"r": f"{color[0]:g}", "g": f"{color[1]:g}", "b": f"{color[2]:g}", "a": "1"})
    _prop(props, "b", "visible", "1")
    _prop(props, "b", "interactive", "0" if kind in ("LABEL", "GROUP") else "1")
    _prop(props, "b", "background", "1")
    _prop(props, "b", "outline", "1")
    return node


def _osc(node: ET.Element, address: str, lo: float, hi: float, conversion: str, send_value: bool = True) -> None:
    """Send (and receive, for feedback) ``address`` with the control's x scaled to lo..hi."""
    msgs = ET.SubElement(node, "messages")
    osc = ET.SubElement(msgs, "osc")
    for tag, text in (("enabled", "1"), ("send", "1"), ("receive", "1"), ("feedback", "0"),
                      ("connections", "00001")):
        ET.SubElement(osc, tag).text = text
    trig = ET.SubElement(ET.SubElement(osc, "triggers"), "trigger")
    ET.SubElement(trig, "var").text = "x"
    ET.SubElement(trig, "condition").text = "ANY" if send_value else "RISE"
    path = ET.SubElement(ET.SubElement(osc, "path"), "partial")
    for tag, text in (("type", "CONSTANT"), ("conversion", "STRING"), ("value", address),
                      ("scaleMin", "0"), ("scaleMax", "1")):
        ET.SubElement(path, tag).text = text
    args = ET.SubElement(osc, "arguments")
    if send_value:
        arg = ET.SubElement(args, "partial")
        for tag, text in (("type", "VALUE"), ("conversion", conversion), ("value", "x"),
                          ("scaleMin", f"{lo:g}"), ("scaleMax", f"{hi:g}")):
            ET.SubElement(arg, tag).text = text


def _control(spec: ParamSpec, frame: tuple[int, int, int, int]) -> ET.Element | None:
    address = param_address(spec.name)
    if spec.kind == "trigger":
        node = _node("BUTTON", spec.name, frame, (1.0, 0.4, 0.0))
        _prop(node.find("properties"), "i", "buttonType", "0")  # momentary
        values = ET.SubElement(node, "values")
        _value(values, "x", "0")
        _osc(node, address, 0, 1, "FLOAT", send_value=False)
        return node
    if spec.kind == "bool":
        node = _node("BUTTON", spec.name, frame, (0.2, 0.8, 0.2))
        _prop(node.find("properties"), "i", "buttonType", "1")  # toggle
        values = ET.SubElement(node, "values")
        _value(values, "x", "1" if spec.default else "0")
        _osc(node, address, 0, 1, "INTEGER")
        return node
    if spec.kind == "enum":
        lo, hi, conversion, steps = 0.0, float(len(spec.choices) - 1), "INTEGER", len(spec.choices)
        default = spec.choices.index(spec.default) / max(hi, 1.0)
    elif spec.min is None or spec.max is None:
        return None  # an unbounded number has no fader travel
    else:
        lo, hi = float(spec.min), float(spec.max)
        conversion = "INTEGER" if spec.kind == "int" else "FLOAT"
        steps = int(hi - lo) + 1 if spec.kind == "int" and hi - lo <= 32 else 0
        default = (float(spec.default) - lo) / (hi - lo) if hi > lo else 0.0
    node = _node("FADER", spec.name, frame, (0.1, 0.6, 1.0))
    props = node.find("properties")
    assert props is not None
    _prop(props, "i", "orientation", "0")
    _prop(props, "b", "grid", "1" if steps else "0")
    _prop(props, "i", "gridSteps", str(steps or 10))
    values = ET.SubElement(node, "values")
    _value(values, "touch", "false")
    _value(values, "x", f"{default:g}")
    _osc(node, address, lo, hi, conversion)
    return node


def _label(text: str, frame: tuple[int, int, int, int]) -> ET.Element:
    node = _node("LABEL", "label " + text, frame, (0.0, 0.0, 0.0))
    _prop(node.find("properties"), "s", "text", text)
    _prop(node.find("properties"), "i", "textSize", "12")
    return node


def touchosc_layout(registry: ParamRegistry, scenes: Iterable[str]) -> bytes:
    """The .tosc bytes of a one-page layout for ``registry``'s parameters and the show's ``scenes``."""
    root = ET.Element("lexml", version="3")
    group = _node("GROUP", "livegen", (0, 0, _W, _H), (0.0, 0.0, 0.0))
    ET.SubElement(group, "values")
    children = ET.SubElement(group, "children")
    cells: list[tuple[str, ParamSpec | None]] = [(spec.name, spec) for spec in registry]
    cells += [(f"scene {name}", None) for name in scenes]
    rows = (len(cells) + _COLS - 1) // _COLS
    row_h = max(min(_ROW_H, _H // max(rows, 1)), 40)
    for i, (label, spec) in enumerate(cells):
        x, y = (i % _COLS) * _CELL_W, (i // _COLS) * row_h
        frame = (x + 4, y + _LABEL_H, _CELL_W - 8, row_h - _LABEL_H - 4)
        if spec is None:
            name = label[len("scene "):]
            node = _node("BUTTON", label, frame, (0.9, 0.1, 0.6))
            _prop(node.find("properties"), "i", "buttonType", "0")
            _value(ET.SubElement(node, "values"), "x", "0")
            _osc(node, f"{OSC_PREFIX}scene/{name}", 0, 1, "FLOAT", send_value=False)
        else:
            control = _control(spec, frame)
            if control is None:
                continue
            node = control
        children.append(_label(label, (x + 4, y, _CELL_W - 8, _LABEL_H)))
        children.append(node)
    root.append(group)
    xml = b"<?xml version='1.0' encoding='UTF-8'?>" + ET.tostring(root, encoding="utf-8")
    return zlib.compress(xml)


def write_touchosc(path: str | Path, registry: ParamRegistry, scenes: Iterable[str]) -> int:
    """Write the layout to ``path``; returns the number of controls (labels not counted)."""
    data = touchosc_layout(registry, scenes)
    Path(path).write_bytes(data)
    xml = ET.fromstring(zlib.decompress(data))
    return sum(1 for n in xml.iter("node") if n.get("type") in ("FADER", "BUTTON"))
