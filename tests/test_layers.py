"""The house follows the frame: a newcomer reading the imports sees the data path.

control inputs → bus → parameter store → stages → sinks. Every import of a livegen module counts,
also one inside a function or under TYPE_CHECKING: a lazy import hides a circle from Python, not
from a reader.
"""

from __future__ import annotations

import ast
from pathlib import Path

import livegen

PACKAGE = Path(livegen.__file__).parent

# Lowest first. A module may import its own group and the groups listed as lower than it.
LAYERS: dict[str, tuple[str, ...]] = {
    "base": ("livegen.config", "livegen.paths", "livegen.size", "livegen.device", "livegen.limits"),
    "params": ("livegen.params", "livegen.clock"),
    "control": ("livegen.control",),
    "sources": ("livegen.sources",),
    "nets": ("livegen.nets",),
    "stages": ("livegen.stages",),
    "sinks": ("livegen.sinks",),
}
MAY_IMPORT: dict[str, set[str]] = {
    "base": {"base"},
    "params": {"base", "params"},
    "control": {"base", "params", "control"},
    "sources": {"base", "sources"},
    "nets": {"base", "nets"},
    "stages": {"base", "params", "sources", "nets", "stages"},
    "sinks": {"base", "sinks"},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def livegen_imports(path: Path) -> set[str]:
    """Every livegen module ``path`` imports, wherever the import statement stands."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "livegen")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            if base.split(".")[0] != "livegen":
                continue
            for alias in node.names:
                # `from livegen.stages import compose` imports the submodule, not just the package.
                sub = f"{base}.{alias.name}"
                found.add(sub if (PACKAGE.parent / Path(*sub.split("."))).with_suffix(".py").exists()
                          or (PACKAGE.parent / Path(*sub.split(".")) / "__init__.py").exists() else base)
    found.discard(me)
    return found


def graph() -> dict[str, set[str]]:
    return {module_name(p): livegen_imports(p) for p in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> str | None:
    for layer, prefixes in LAYERS.items():
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return layer
    return None  # application level: engine, patch, live, render, cli, bench, train, ...


def test_no_module_imports_one_further_along_the_frame():
    wrong = []
    for module, imports in graph().items():
        mine = layer_of(module)
        if mine is None:
            continue
        for target in sorted(imports):
            theirs = layer_of(target)
            if theirs not in MAY_IMPORT[mine]:
                wrong.append(f"{module} ({mine}) imports {target} ({theirs or 'application'})")
    assert not wrong, "imports against the data path:\n" + "\n".join(wrong)


def test_there_is_no_import_circle_anywhere():
    g = graph()
    # Tarjan's strongly connected components: any component of two or more modules is a circle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in g.get(v, ()):
            if w not in g:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in g:
        if v not in index:
            visit(v)
    assert not circles, f"import circles: {circles}"


def test_the_layer_check_sees_imports_inside_functions_and_type_checking(tmp_path):
    sample = PACKAGE / "params.py"
    assert "livegen.stages" not in livegen_imports(sample)
    code = ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from livegen.patch import Patch\n"
            "def f():\n    from livegen.stages import compose\n")
    fake = PACKAGE / "control" / "_layer_probe.py"
    try:
        fake.write_text(code)
        assert livegen_imports(fake) == {"livegen.patch", "livegen.stages.compose"}
    finally:
        fake.unlink()
