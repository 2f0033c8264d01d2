"""The README's Python examples use no undefined name, and the deterministic one runs (issue 16,
item 12: it used undefined ``times, sizes``, and ``load_scenario`` from ``workflows.run``)."""

from __future__ import annotations

import ast
import builtins
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def _undefined(code: str) -> list[str]:
    """Names a block reads at its top level before any import, assignment or definition binds them."""
    bound = set(dir(builtins))
    missing = []
    for stmt in ast.parse(code).body:
        for node in ast.walk(stmt):
            if (
                isinstance(node, ast.Name)
                and isinstance(node.ctx, ast.Load)
                and node.id not in bound
                and not isinstance(stmt, (ast.FunctionDef, ast.ClassDef))
            ):
                missing.append(node.id)
        for node in ast.walk(stmt):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                bound |= {(a.asname or a.name).split(".")[0] for a in node.names}
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                bound.add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                bound.add(node.name)
            elif isinstance(node, ast.comprehension):
                bound |= {n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)}
    return missing


@pytest.mark.parametrize("k", range(len(_blocks())))
def test_readme_python_blocks_define_every_name_they_use(k):
    code = _blocks()[k]
    assert not _undefined(code), f"README python block {k + 1} uses undefined {_undefined(code)}:\n{code}"


def test_the_readme_deterministic_example_runs(tmp_path):
    import subprocess
    import sys

    code = next((b for b in _blocks() if "solve_deterministic" in b), None)
    if code is None:
        pytest.skip("the README has no solve_deterministic example")
    script = tmp_path / "example.py"
    script.write_text(code, encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    text = README.read_text(encoding="utf-8")
    assert "workflows.run.run_scenario(load_scenario" not in text
