"""The organ tables of ``metacascade run`` name organs in words ("bone (appendicular)", as the
figures do: metacascade.bodymap.organ_name), not in the schema's snake_case ("bone_appendicular")."""

from __future__ import annotations

from typer.testing import CliRunner

from metacascade import cli

DETERMINISTIC = (
    '[patient]\ncancer = "breast_er_positive"\nprimary_diameter_mm = 20\n'
    '[engine]\nhorizon_days = 730\n[output]\nfigure = false\nformat = "csv"\n'
)
STOCHASTIC = (
    '[patient]\ncancer = "breast_er_negative"\nprimary_diameter_mm = 40\n'
    '[engine]\nkind = "stochastic"\nn_patients = 20\nhorizon_days = 730\nseed = 1\n'
    '[output]\nfigure = false\nformat = "csv"\n'
)


def _organ_rows(output: str) -> list[str]:
    """The first cell of each row of the 'by organ' table."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if "by organ" in line)
    return [line.split("│")[1].strip() for line in lines[start:] if line.count("│") > 2]


def _run(tmp_path, text: str) -> str:
    path = tmp_path / "scenario.toml"
    path.write_text(text, encoding="utf-8")
    res = CliRunner().invoke(cli.app, ["run", str(path), "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    return res.output


def test_deterministic_organ_table_names_organs_in_words(tmp_path, monkeypatch):
    monkeypatch.setattr(cli.console, "_width", 200)
    names = _organ_rows(_run(tmp_path, DETERMINISTIC))
    assert "bone (appendicular)" in names and "lymph nodes (regional)" in names and "lung" in names
    assert not [n for n in names if "_" in n]


def test_stochastic_organ_table_names_organs_in_words(tmp_path, monkeypatch):
    monkeypatch.setattr(cli.console, "_width", 200)
    names = _organ_rows(_run(tmp_path, STOCHASTIC))
    assert len(names) == 12 and not [n for n in names if "_" in n]
    assert "lymph nodes (regional)" in names
