"""The house rules of docs/architecture.md, checked on the source tree: modules stay small, no
module imports another module's private names, and layers only look down."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "evalkit"
MAX_LINES = 700  # "about 600": a little slack, never a 900-line module again

#: layer of each top-level part of evalkit (a module may import from its own layer or below)
LAYERS = {
    "_version": 0, "_resources": 0, "core": 0,
    "source": 1, "kube": 1, "promql": 1,
    "lmeval": 2, "prometheus": 2, "registry": 2, "guidellm": 2, "traces": 2,
    "bundle": 3, "collect": 3,
    "analysis": 4,
    "present": 5, "publish": 5,
    "cli": 6, "gate": 6, "doctor": 6,
}


def _modules() -> list[Path]:
    return sorted(p for p in PKG.rglob("*.py") if "_resources" not in p.parts)


def _part(path: Path) -> str:
    rel = path.relative_to(PKG).with_suffix("")
    return rel.parts[0]


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[str, list[str], int]]:
    """``(absolute module, imported names, line)`` of every evalkit import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    me = _module_name(path).split(".")
    package = me if path.name == "__init__.py" else me[:-1]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.startswith("evalkit"):
                out.append((mod, [a.name for a in node.names], node.lineno))
        elif isinstance(node, ast.Import):
            out += [(a.name, [], node.lineno) for a in node.names if a.name.startswith("evalkit")]
    return out


def test_every_part_has_a_layer() -> None:
    parts = {_part(p) for p in _modules() if p.parent != PKG or p.name != "__init__.py"}
    assert parts <= set(LAYERS), sorted(parts - set(LAYERS))


def test_no_module_is_too_big() -> None:
    big = {str(p.relative_to(PKG)): n for p in _modules()
           if (n := p.read_text(encoding="utf-8").count("\n")) > MAX_LINES}
    assert big == {}


def test_no_import_of_another_modules_private_names() -> None:
    bad = []
    for path in _modules():
        for mod, names, line in _imports(path):
            bad += [f"{path.relative_to(PKG)}:{line} {mod}.{n}" for n in names
                    if n.startswith("_") and not n.startswith("__")]
    assert bad == []


def test_layers_only_look_down() -> None:
    bad = []
    for path in _modules():
        if path == PKG / "__init__.py":
            continue  # the public API sits on top and re-exports lazily
        mine = LAYERS[_part(path)]
        for mod, names, line in _imports(path):
            parts = mod.split(".")
            target = parts[1] if len(parts) > 1 else None
            if target is None:  # `from evalkit import x`: x is the part
                targets = names
            else:
                targets = [target]
            for t in targets:
                if t in LAYERS and LAYERS[t] > mine:
                    bad.append(f"{path.relative_to(PKG)}:{line} imports evalkit.{t} "
                               f"(layer {LAYERS[t]} > {mine})")
    assert bad == []


@pytest.mark.parametrize("heavy", ["matplotlib", "seaborn", "papermill", "kubernetes",
                                   "model_registry", "scipy", "nbconvert", "pyarrow"])
def test_import_evalkit_stays_light(heavy: str) -> None:
    code = f"import sys, evalkit; sys.exit(1 if {heavy!r} in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0
