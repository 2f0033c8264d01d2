"""Result files: atomic writes (temporary file + rename) so nothing is ever half-written."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from metacascade.errors import MetacascadeError

__all__ = ["atomic_write", "write_table", "write_json", "read_table"]


def atomic_write(path: str | Path, writer: Callable[[Path], None]) -> Path:
    """Call ``writer(tmp_path)`` and move the result onto ``path`` in one rename.

    If ``writer`` fails, ``path`` keeps its old content (or stays absent) and the temporary
    file is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        writer(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_table(df: pd.DataFrame, path: str | Path, fmt: str = "parquet") -> Path:
    """Write ``df`` as Parquet or CSV (suffix set from ``fmt``), atomically."""
    if fmt not in ("parquet", "csv"):
        raise MetacascadeError(f"output.format: got {fmt!r}, allowed: parquet, csv")
    path = Path(path).with_suffix("." + fmt)
    if fmt == "parquet":
        return atomic_write(path, lambda p: df.to_parquet(p, index=False))
    return atomic_write(path, lambda p: df.to_csv(p, index=False))


def write_json(obj: Any, path: str | Path) -> Path:
    """Write ``obj`` as indented JSON, atomically."""
    text = json.dumps(obj, indent=2, sort_keys=False, allow_nan=False)
    return atomic_write(path, lambda p: p.write_text(text + "\n", encoding="utf-8"))


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a Parquet or CSV table written by :func:`write_table`."""
    path = Path(path)
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
