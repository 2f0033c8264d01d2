"""Iwata 2000: the least-squares fit of cumulative size distributions and the validate command."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from metacascade.cli import app
from metacascade.errors import DataError
from metacascade.validation.iwata2000 import (
    PUBLISHED,
    fit_iwata,
    load_cumulative_size_data,
    synthetic_cumulative_size_data,
    within_tolerance,
)

runner = CliRunner()


@pytest.fixture(scope="module")
def mol_counts():
    """Expected counts at the published parameters from the independent method-of-lines solver."""
    return synthetic_cumulative_size_data(round_counts=False)


def test_fit_recovers_published_parameters_from_independent_counts(mol_counts):
    """Iwata 2000 (J Theor Biol 203:177) a=0.00286, b=7.3e10, m=5.3e-8, alpha=0.663.

    Counts come from the method-of-lines solver (accurate to ~1e-5 relative at n_cells=1200),
    the fit uses the characteristics engine; a start far from the answer must converge back.
    Tolerance 1e-3: set by the method-of-lines discretisation error, 100x inside the README's.
    """
    fit = fit_iwata(mol_counts)
    assert fit.success
    for name, value in PUBLISHED.as_dict().items():
        assert getattr(fit.parameters, name) == pytest.approx(value, rel=1e-3), name
        assert within_tolerance(name, value, getattr(fit.parameters, name))[0]
    assert fit.rmse_counts < 1e-3


def test_within_tolerance_matches_the_reference_readme():
    assert within_tolerance("alpha", 0.663, 0.692)[0] and not within_tolerance("alpha", 0.663, 0.694)[0]
    assert within_tolerance("m", 5.3e-8, 5.3e-8 * 1.49)[0] and not within_tolerance("m", 5.3e-8, 5.3e-8 / 1.51)[0]
    assert within_tolerance("a", 0.00286, 0.00286 * 1.09)[0] and not within_tolerance("b", 7.3e10, 7.3e10 * 0.89)[0]


def test_validate_command_passes_and_reports_json(tmp_path):
    res = runner.invoke(app, ["validate", "iwata2000", "--json", "--figures", str(tmp_path)])
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    assert report["passed"] is True
    gated = [r for r in report["rows"] if r["passed"] is not None]
    assert {r["quantity"].split()[0] for r in gated} == {"a", "b", "m", "alpha"}
    assert (tmp_path / "iwata2000_fit.png").exists()
    table = runner.invoke(app, ["validate", "iwata2000"])
    assert table.exit_code == 0 and "published" in table.output and "pass" in table.output


def _write(path, body, header="# source: test table\n# uncertainty: none\n"):
    path.write_text(header + body)
    return path


def test_fit_observed_file_via_cli(tmp_path, mol_counts):
    path = tmp_path / "obs.csv"
    path.write_text(
        "# source: method-of-lines counts at the published values\n# uncertainty: 1e-5\n"
        + mol_counts.table.to_csv(index=False)
    )
    res = runner.invoke(app, ["validate", "iwata2000", "--data", str(path), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["data_source"].startswith("method-of-lines counts")


def test_fit_far_from_published_fails_the_gate(tmp_path, mol_counts):
    """Data from other parameters must make validate exit 1 (the gate can fail)."""
    other = synthetic_cumulative_size_data(type(PUBLISHED)(a=0.004, b=3e10, m=2e-7, alpha=0.6), round_counts=False)
    path = tmp_path / "other.csv"
    path.write_text("# source: other parameters\n" + other.table.to_csv(index=False))
    res = runner.invoke(app, ["validate", "iwata2000", "--data", str(path)])
    assert res.exit_code == 1 and "FAIL" in res.output


@pytest.mark.parametrize(
    ("body", "header", "fragment"),
    [
        ("exam_day,size_cells,n_larger\n700,1e8,3\n", "", "source"),
        ("exam_day,size\n700,1e8\n", None, "missing columns size_cells, n_larger"),
        ("exam_day,size_cells,n_larger\n700,1e8,-3\n", None, "n_larger"),
        ("exam_day,size_cells,n_larger\n700,1e8,abc\n", None, "n_larger"),
        ("exam_day,size_cells,n_larger\n700,0,3\n", None, "size_cells"),
        ("exam_day,size_cells,n_larger\n700,1e8,3\n700,1e9,5\n", None, "must not increase"),
    ],
)
def test_malformed_data_files(tmp_path, body, header, fragment):
    path = _write(tmp_path / "d.csv", body, *(() if header is None else (header,)))
    with pytest.raises(DataError, match=fragment):
        load_cumulative_size_data(path)


def test_missing_data_file_is_a_clear_cli_error(tmp_path):
    res = runner.invoke(app, ["validate", "iwata2000", "--data", str(tmp_path / "none.csv")])
    assert res.exit_code == 2 and "cannot read" in res.output
