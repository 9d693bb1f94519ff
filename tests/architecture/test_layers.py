"""The package's layers, enforced: each module imports only its own layer and the layers below.

Lazy imports inside functions count too, so a layer cannot reach upward by hiding an import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "predscope"

# Lower rank = lower layer. A module may import a package of equal or lower rank, except where
# FORBIDDEN says otherwise (siblings that must stay apart).
RANK = {
    "exceptions": 0,
    "objects": 1,
    "evaluation": 2,
    "formats": 3,
    "utilities": 3,
    "store": 4,
    "services": 5,
    "sdk": 6,
    "ui": 7,
    "server": 8,
    "cli": 9,
}
FORBIDDEN = {("evaluation", "formats"), ("server", "cli"), ("formats", "store")}
MAX_LINES = 600


def _layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "predscope" or len(parts) < 2:
        return None
    return parts[1]


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "__pycache__" not in p.parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def _own_layer(path: Path) -> str | None:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py") if len(rel.parts) > 1 or rel.stem in RANK else None


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_module_imports_only_lower_layers(path: Path) -> None:
    own = _own_layer(path)
    if own is None or own not in RANK:
        return  # predscope/__init__.py and __main__.py sit above every layer
    bad = []
    for lineno, module in _imports(path):
        if module == "predscope":
            bad.append(f"line {lineno}: imports the package root; import the module instead")
            continue
        target = _layer(module)
        if target is None or target == own:
            continue
        if target not in RANK:
            bad.append(f"line {lineno}: {module} is in no known layer")
        elif RANK[target] > RANK[own] or (own, target) in FORBIDDEN:
            bad.append(f"line {lineno}: {own} must not import {module}")
    assert not bad, f"{path.relative_to(SRC)}:\n" + "\n".join(bad)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_module_stays_small(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{path.relative_to(SRC)} has {lines} lines; split it by noun"


def test_layer_table_covers_every_package() -> None:
    packages = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages <= set(RANK), f"packages without a layer rank: {sorted(packages - set(RANK))}"


def test_checker_catches_an_upward_import(tmp_path: Path) -> None:
    """The rule itself must be able to fail: an objects module importing the store is refused."""
    fake = tmp_path / "bad.py"
    fake.write_text("def f():\n    from predscope.store.engine import open_store\n")
    [(lineno, module)] = _imports(fake)
    assert lineno == 2
    assert RANK[_layer(module) or ""] > RANK["objects"]
