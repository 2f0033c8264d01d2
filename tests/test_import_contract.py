"""Import contract: a layer imports only from the layers below it (docs/design.md section 3).

Every ``import`` of a ``metacascade`` module anywhere in a module (top level or inside a
function; only ``if TYPE_CHECKING:`` blocks are exempt) is read from the source with :mod:`ast`,
so lazy imports are held to the same rule as eager ones.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "metacascade"

#: Layers from the bottom up; a module's layer is that of its first component below ``metacascade``.
LAYERS: tuple[tuple[str, frozenset[str]], ...] = (
    ("foundation", frozenset({"errors", "_messages", "_rng", "_version", "io", "clinical_data"})),
    ("model", frozenset({"model"})),
    ("specification", frozenset({"scenario", "presets"})),
    ("engines", frozenset({"engines"})),
    ("workflows", frozenset({"workflows", "calibration", "validation", "references", "plotting", "bodymap"})),
    ("interfaces", frozenset({"cli", "web", "reports", "__main__"})),
)
RANK = {part: rank for rank, (_, parts) in enumerate(LAYERS) for part in parts}
NAMES = {part: name for name, parts in LAYERS for part in parts}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """ids of the nodes inside ``if TYPE_CHECKING:`` blocks."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                skip.update(id(n) for n in ast.walk(child))
    return skip


def _imports(path: Path) -> list[tuple[int, str, bool]]:
    """(line, imported module, at module level) for every metacascade import of ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_nodes(tree)
    top = {id(n) for n in tree.body}
    package = _module_name(path).split(".") if path.name == "__init__.py" else _module_name(path).split(".")[:-1]
    out = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name, id(node) in top) for a in node.names if a.name.split(".")[0] == "metacascade"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.split(".")[0] == "metacascade":
                if module == "metacascade":  # ``from metacascade import x``: x may be a subpackage
                    out += [
                        (node.lineno, f"metacascade.{a.name}" if a.name in RANK else module, id(node) in top)
                        for a in node.names
                    ]
                else:
                    out.append((node.lineno, module, id(node) in top))
    return out


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


SOURCES = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_module_has_a_layer():
    """A new top-level module must be placed in LAYERS (and in docs/design.md section 3)."""
    missing = sorted({_layer(_module_name(p)) for p in SOURCES} - set(RANK) - {None})
    assert not missing, f"modules without a layer: {missing}; add them to LAYERS and docs/design.md"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path):
    """Each import goes to the same layer or one below; the package root (the public API) may only
    be imported for its ``__version__`` and errors, which it defines without importing upwards."""
    here = _layer(_module_name(path))
    bad = []
    for line, module, at_top in _imports(path):
        there = _layer(module)
        if here is None:  # the package root: module-level imports from the foundation only
            if at_top and there is not None and RANK[there] > 0:
                bad.append(f"line {line}: the package root imports {module} at import time")
            continue
        if there is None:
            continue
        if RANK[there] > RANK[here]:
            bad.append(f"line {line}: {NAMES[here]} module imports {module} ({NAMES[there]})")
    assert not bad, f"{path.relative_to(PACKAGE)}: " + "; ".join(bad)


def test_import_metacascade_loads_nothing_heavy():
    """``import metacascade`` stays cheap: no numpy, scipy, pandas, numba or pydantic, and no layer
    above the foundation, until a function of the public API is called."""
    code = (
        "import sys, metacascade; heavy = ('numpy', 'scipy', 'pandas', 'numba', 'pydantic', 'xarray', "
        "'metacascade.model', 'metacascade.scenario', 'metacascade.engines', 'metacascade.workflows'); "
        "print(sorted(m for m in sys.modules if m in heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
