"""Atomic writes: a failing writer leaves the old file intact and no temporary file behind."""

from __future__ import annotations

import pandas as pd
import pytest

from metacascade.errors import MetacascadeError
from metacascade.io import atomic_write, read_table, write_json, write_table


def test_failed_write_keeps_old_content(tmp_path):
    target = tmp_path / "summary.json"
    target.write_text("old")

    def broken(path):
        path.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(target, broken)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_non_finite_json_is_refused_and_nothing_written(tmp_path):
    with pytest.raises(ValueError):
        write_json({"x": float("nan")}, tmp_path / "s.json")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_tables_round_trip(tmp_path, fmt):
    df = pd.DataFrame({"time_days": [0.0, 1.5], "n": [1.0, 2.0]})
    path = write_table(df, tmp_path / "t", fmt)
    assert path.suffix == "." + fmt
    pd.testing.assert_frame_equal(read_table(path), df)


def test_unknown_format(tmp_path):
    with pytest.raises(MetacascadeError, match=r"output.format"):
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "t", "xlsx")
