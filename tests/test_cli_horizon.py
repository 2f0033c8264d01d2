"""The stochastic tables of ``metacascade run`` say what their horizon column holds when patients
died before the horizon (issue 16, item 11d: "P day 3650" when every patient died by day ~300)."""

from __future__ import annotations

from typer.testing import CliRunner

from metacascade import cli

ALL_DIE = (
    '[patient]\ncancer = "breast_er_negative"\nprimary_diameter_mm = 60\n'
    '[engine]\nkind = "stochastic"\nn_patients = 60\nhorizon_days = 3650\nseed = 1\n'
)


def test_stochastic_tables_name_the_horizon_and_the_deaths_before_it(tmp_path, monkeypatch):
    monkeypatch.setattr(cli.console, "_width", 200)  # one line per row: the headers are not wrapped
    path = tmp_path / "all-die.toml"
    path.write_text(ALL_DIE, encoding="utf-8")
    res = CliRunner().invoke(cli.app, ["run", str(path), "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert "P at day 3,650" not in res.output and "at day 3,650" not in res.output
    assert "P at the horizon (day 3,650)" in res.output and "at the horizon (day 3,650)" in res.output
    assert "all patients died by day " in res.output and "count each one at death" in res.output


def test_horizon_words_when_nobody_dies(tmp_path):
    from metacascade.scenario import parse_scenario
    from metacascade.workflows.stochastic_run import run_stochastic

    sc = parse_scenario(
        '[patient]\ncancer = "breast_er_positive"\nprimary_diameter_mm = 10\n'
        '[engine]\nkind = "stochastic"\nn_patients = 20\nhorizon_days = 200\nseed = 1\n'
    )
    from metacascade.reports.results import horizon_phrase

    run = run_stochastic(sc)
    words = horizon_phrase(200.0, run.result.death_day - sc.patient.age_of_primary_days, True, "en")
    assert words == ("at day 200", None)
    # the run command and the report say the same (one function): 2 of 3 dead, the last on day 150
    assert horizon_phrase(200.0, [50.0, 150.0, float("inf")], True, "en") == (
        "at the horizon (day 200)",
        "66.7% of patients died before the horizon, the last on day 150: the horizon columns count each one at death",
    )
    assert horizon_phrase(200.0, None, False, "en", share=1.0)[1].startswith("all patients died before the horizon")
