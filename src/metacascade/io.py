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

__all__ = ["atomic_write", "check_output_folder", "write_table", "write_json", "read_table"]


def _umask() -> int:
    """The process umask, read without changing it (``os.umask`` sets it, racing other threads)."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


def check_output_folder(path: str | Path, field: str = "--out") -> Path:
    """Raise a one-line :class:`MetacascadeError` naming ``field`` when ``path`` cannot receive
    results: it is a file, lies below a file, or its folder (or the nearest existing folder
    above it) cannot be written. Nothing is created; call it before a long computation.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise MetacascadeError(f"{field}: {path} is a file; allowed a folder (a new one, or one that holds a run)")
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise MetacascadeError(f"{field}: {path} lies below the file {probe}; allowed a folder path")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".metacascade-probe-", dir=probe)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise MetacascadeError(
            f"{field}: {path}: cannot write in {probe} ({reason}); allowed a folder you can write to"
        ) from None
    return path


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
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; results are ordinary files (0644)
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
