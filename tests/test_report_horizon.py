"""The stochastic tables of a report say what their horizon columns hold when patients died before
the horizon, as ``metacascade run`` does (tests/test_cli_horizon.py): not "At day 3,650" when every
patient died by day ~300."""

from __future__ import annotations

import html
import re

from metacascade.reports import build_report
from metacascade.scenario import parse_scenario
from metacascade.workflows.stochastic_run import run_stochastic, write_stochastic_results

ALL_DIE = (
    '[patient]\ncancer = "breast_er_negative"\nprimary_diameter_mm = 60\n'
    '[engine]\nkind = "stochastic"\nn_patients = 30\nhorizon_days = 3650\nseed = 1\n'
)


def _tables(page: str) -> str:
    """The text of the results and tables sections (the explanation says "by day 3,650" in words)."""
    parts = re.findall(r'<section id="(?:results|tables)">(.*?)</section>', page, flags=re.S)
    assert len(parts) == 2
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", " ".join(parts))))


def test_report_tables_name_the_horizon_and_the_deaths_before_it(tmp_path):
    write_stochastic_results(run_stochastic(parse_scenario(ALL_DIE, "all die")), tmp_path / "run")
    en = _tables(build_report(tmp_path / "run", lang="en", out=tmp_path / "en.html").read_text(encoding="utf-8"))
    assert "At day 3,650" not in en and "at day 3,650" not in en
    assert "At the horizon (day 3,650)" in en  # the key numbers' column
    assert "mean metastases and burden at the horizon (day 3,650)" in en  # the organ table's caption
    assert len(re.findall(r"all patients died by day \d+: the horizon columns count each one at death", en)) == 2
    it = _tables(build_report(tmp_path / "run", lang="it", out=tmp_path / "it.html").read_text(encoding="utf-8"))
    assert "Al giorno 3.650" not in it and "al giorno 3.650" not in it
    assert "All'orizzonte (giorno 3.650)" in it and "carico medi all'orizzonte (giorno 3.650)" in it
    assert "tutti i pazienti sono deceduti entro il giorno " in it


def test_report_horizon_words_when_nobody_dies(tmp_path):
    from metacascade.reports.results import horizon_words
    from metacascade.reports.run_folder import load_run_folder

    sc = parse_scenario(
        '[patient]\ncancer = "breast_er_positive"\nprimary_diameter_mm = 10\n'
        '[engine]\nkind = "stochastic"\nn_patients = 20\nhorizon_days = 200\nseed = 1\n',
        "short",
    )
    write_stochastic_results(run_stochastic(sc), tmp_path / "run")
    assert horizon_words(load_run_folder(tmp_path / "run"), "en") == ("at day 200", None)
    page = _tables(build_report(tmp_path / "run", out=tmp_path / "r.html").read_text(encoding="utf-8"))
    assert "At day 200" in page and "at the horizon" not in page
