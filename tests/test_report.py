"""Printable reports (metacascade.reports): sections in both languages, numbers equal to
summary.json, self-contained HTML, a PDF that opens and holds the same sections and figures,
the three kinds of run folder, and clear errors."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from engine_patients import SPREADING_BREAST_MODEL
from pypdf import PdfReader

from metacascade.errors import ParameterError
from metacascade.reports import LANGUAGES, REPORT_SECTIONS, ReportError, build_report
from metacascade.scenario import parse_scenario
from metacascade.scenario.template import example_scenario_for
from metacascade.workflows.cohort import run_cohort
from metacascade.workflows.run import run_scenario, write_results
from metacascade.workflows.stochastic_run import run_stochastic, write_stochastic_results

HEADINGS = {
    "en": {
        "scenario": "Scenario",
        "model": "Model and sources",
        "results": "Results",
        "figures": "Figures",
        "tables": "Tables",
        "explanation": "Plain-language explanation",
        "sources": "References",
    },
    "it": {
        "scenario": "Scenario",
        "model": "Modello e fonti",
        "results": "Risultati",
        "figures": "Figure",
        "tables": "Tabelle",
        "explanation": "Spiegazione in parole semplici",
        "sources": "Riferimenti bibliografici",
    },
}

STOCHASTIC = """
[patient]
cancer = "breast_er_positive"
primary_diameter_mm = 22
sex = "female"
menopausal_status = "postmenopausal"
[host]
organ_failure = true
[engine]
kind = "stochastic"
horizon_days = 1825
n_patients = 40
[[treatment]]
kind = "surgery"
day = 0
nodes = true
[[treatment]]
kind = "endocrine"
agent = "anastrozole"
day = 30
duration_days = 1826
"""

COHORT = (
    """
[patient]
cancer = "breast_er_positive"
primary_diameter_mm = 22
sex = "female"
menopausal_status = "postmenopausal"
[host]
organ_failure = true
[engine]
seed = 2026
[model]
"""
    + SPREADING_BREAST_MODEL
    + """[cohort]
n_patients = 200
follow_up_days = 3652.5
chunk_size = 200
[cohort.vary]
primary_diameter_mm = { distribution = "lognormal", median = 22, sd_log = 0.35, min = 5, max = 80 }
growth_rate = { distribution = "lognormal", median = 1.0, sd_log = 0.25, max = 3 }
shedding = { distribution = "lognormal", median = 1.0, sd_log = 0.5 }
[[cohort.arm]]
name = "surgery"
[[cohort.arm.treatment]]
kind = "surgery"
day = 0
nodes = true
[[cohort.arm]]
name = "surgery+anastrozole"
[[cohort.arm.treatment]]
kind = "surgery"
day = 0
nodes = true
[[cohort.arm.treatment]]
kind = "endocrine"
agent = "anastrozole"
day = 30
duration_days = 1826
"""
)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three small run folders built with the library functions (about 10 s together)."""
    root = tmp_path_factory.mktemp("runs")
    # Iwata's one-organ case (the default before issue 16, item 10): its numbers are checked below
    write_results(run_scenario(parse_scenario(example_scenario_for("hcc_iwata2000"), "Iwata example")), root / "det")
    write_stochastic_results(run_stochastic(parse_scenario(STOCHASTIC, "stochastic test")), root / "sto")
    run_cohort(COHORT, root / "cohort", source="cohort test")
    return {"det": root / "det", "sto": root / "sto", "cohort": root / "cohort"}


@pytest.fixture(scope="module")
def html(runs: dict[str, Path]) -> dict[tuple[str, str], str]:
    """The HTML report of each run in each language."""
    return {
        (kind, lang): build_report(path, lang=lang).read_text(encoding="utf-8")
        for kind, path in runs.items()
        for lang in LANGUAGES
    }


class _Sections(HTMLParser):
    """Section id -> its <h2> text, and the text inside each section."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: dict[str, str] = {}
        self.text: dict[str, str] = {}
        self._section: str | None = None
        self._in_h2 = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "section":
            self._section = dict(attrs).get("id")
            self.text[self._section] = ""
        elif tag == "h2" and self._section:
            self._in_h2 = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self._section = None
        elif tag == "h2":
            self._in_h2 = False

    def handle_data(self, data: str) -> None:
        if self._section is None:
            return
        if self._in_h2:
            self.headings[self._section] = self.headings.get(self._section, "") + data.strip()
        self.text[self._section] += data


def sections(page: str) -> _Sections:
    parser = _Sections()
    parser.feed(page)
    return parser


def it(text: str) -> str:
    """An English-formatted number in Italian (decimal comma, dot for thousands)."""
    return text.translate(str.maketrans({".": ",", ",": "."}))


# -- constants and sections ------------------------------------------------------------------------------
def test_public_constants():
    assert REPORT_SECTIONS == ("scenario", "model", "results", "figures", "tables", "explanation", "sources")
    assert LANGUAGES == ("en", "it")


@pytest.mark.parametrize("kind", ["det", "sto", "cohort"])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_section_with_its_heading_in_order(html, kind, lang):
    page = html[kind, lang]
    parsed = sections(page)
    assert list(parsed.headings) == list(REPORT_SECTIONS)
    assert parsed.headings == HEADINGS[lang]
    assert f'<html lang="{lang}">' in page
    for sid in REPORT_SECTIONS:
        assert parsed.text[sid].strip(), f"section {sid} is empty"


def test_italian_is_italian(html):
    page = html["det", "it"]
    text = " ".join(sections(page).text.values())
    assert "Modello e fonti" in page and "Spiegazione in parole semplici" in page
    for english in ("Model and sources", "Plain-language explanation", "Results", "Expected number"):
        assert english not in page
    assert "non una previsione per una persona reale" in page  # the disclaimer, in Italian
    assert re.search(r"\b(il|la|di|dalla|giorno)\b", text)


# -- numbers -----------------------------------------------------------------------------------------------
def test_numbers_equal_summary_json(runs, html):
    summary = json.loads((runs["det"] / "summary.json").read_text())
    n = summary["at_horizon"]["n_metastases"]
    assert 100 <= n < 1000  # formatted with one decimal in this range
    first = summary["days_since_diagnosis_expected_first_detectable_metastasis"]
    horizon = summary["at_horizon"]["days_since_diagnosis"]
    en, ita = sections(html["det", "en"]), sections(html["det", "it"])
    assert f"{n:.1f}" in en.text["results"] and f"{n:.1f}" in en.text["tables"]
    assert it(f"{n:.1f}") in ita.text["results"] and f"{n:.1f}" not in ita.text["results"]
    assert f"{round(first):,d}" in en.text["results"]
    assert f"Al giorno {it(f'{round(horizon):,d}')}" in ita.text["results"]
    # the explanation is generated from these numbers (the one organ and the expected total)
    assert f"{n:.1f}" in en.text["explanation"] and "liver" in en.text["explanation"]
    assert it(f"{n:.1f}") in ita.text["explanation"] and "fegato" in ita.text["explanation"]


def test_explanation_follows_the_numbers_not_canned_text(runs, tmp_path):
    folder = shutil.copytree(runs["det"], tmp_path / "det")
    summary = json.loads((folder / "summary.json").read_text())
    summary["at_horizon"]["n_metastases"] = 12.34
    summary["days_since_diagnosis_expected_first_detectable_metastasis"] = 4321.0
    (folder / "summary.json").write_text(json.dumps(summary))
    text = sections(build_report(folder).read_text()).text["explanation"]
    assert "12.3 metastases" in text and "day 4,321 after diagnosis" in text


def test_sources_hold_the_citation_references(runs, html):
    from metacascade.references import citation

    text = sections(html["det", "en"]).text["sources"]
    for line in citation(parse_scenario(example_scenario_for("hcc_iwata2000"))).splitlines():
        assert line.split("] ", 1)[1] in text
    for ref in json.loads((runs["det"] / "summary.json").read_text())["references"]:
        assert ref in text


# -- self-contained HTML -----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["det", "sto", "cohort"])
def test_html_loads_nothing_from_the_network(runs, html, kind):
    page = html[kind, "en"]
    assert not re.search(r"<script\b", page, re.I)
    assert not re.search(r"<link\b", page, re.I)
    assert not re.search(r"""\b(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//|@import", page, re.I)
    images = re.findall(r"<img\b[^>]*\bsrc=\"([^\"]*)\"", page)
    n_png = len(list(runs[kind].glob("*.png"))) + len(list(runs[kind].glob("figures/*.png")))
    assert n_png > 0 and len(images) == n_png
    assert all(src.startswith("data:image/png;base64,") for src in images)


# -- PDF ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", LANGUAGES)
def test_pdf_opens_with_the_sections_and_figures(runs, lang):
    path = build_report(runs["det"], fmt="pdf", lang=lang)
    assert path == runs["det"] / f"report.{lang}.pdf"
    reader = PdfReader(path)
    assert len(reader.pages) > 0
    text = "\n".join(page.extract_text() for page in reader.pages)
    for heading in HEADINGS[lang].values():
        assert heading in text
    n = json.loads((runs["det"] / "summary.json").read_text())["at_horizon"]["n_metastases"]
    assert (f"{n:.1f}" if lang == "en" else it(f"{n:.1f}")) in text
    assert sum(len(page.images) for page in reader.pages) == 2  # figure.png and body_map.png


# -- the other kinds -----------------------------------------------------------------------------------------
def test_stochastic_treated_run(runs, html):
    page = sections(html["sto", "en"])
    assert "Stochastic run" in html["sto", "en"]
    events = pd.read_parquet(runs["sto"] / "events.parquet")
    removed = int((events["event"].astype(str) == "eradication").sum())
    explanation = page.text["explanation"]
    assert f"{removed} colonies were removed or eradicated" in explanation
    assert "venous drainage (caval veins) 55% (first capillary bed: lung)" in explanation
    assert (
        "drenaggio venoso (vene cave) 55% (primo letto capillare: polmone)"
        in sections(html["sto", "it"]).text["explanation"]
    )
    assert "surgery" in page.text["scenario"] and "endocrine therapy" in page.text["scenario"]


def test_cohort_report_has_the_hazard_ratio_of_summary_json(runs, html):
    summary = json.loads((runs["cohort"] / "summary.json").read_text())
    comp = summary["endpoints"]["os"]["comparisons"]["surgery+anastrozole"]
    hr = comp["hazard_ratio"]
    en, ita = sections(html["cohort", "en"]), sections(html["cohort", "it"])
    expected = f"{hr['hr']:.3g} ({hr['ci_lower']:.3g}\u2013{hr['ci_upper']:.3g})"
    assert expected in en.text["results"] and expected in en.text["explanation"]
    assert it(expected) in ita.text["results"]
    for arm in summary["arms"]:
        assert arm in en.text["results"] and arm in en.text["tables"] and arm in en.text["scenario"]
    events = summary["endpoints"]["dm"]["arms"]["surgery"]["events"]
    assert f"in arm 'surgery' {events} of 200 patients had a distant metastasis" in en.text["explanation"]
    pdf = build_report(runs["cohort"], fmt="pdf", lang="it")
    text = "\n".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert it(f"{hr['hr']:.3g}") in text and "Hazard ratio" in text
    n_png = len(list((runs["cohort"] / "figures").glob("*.png")))
    assert sum(len(page.images) for page in PdfReader(pdf).pages) == n_png


# -- output path and errors ----------------------------------------------------------------------------------
def test_out_folder_or_file_and_no_temporary_left(runs, tmp_path):
    assert build_report(runs["det"], out=tmp_path) == tmp_path / "report.en.html"
    target = tmp_path / "sub" / "mine.html"
    assert build_report(runs["det"], lang="it", out=target) == target and target.read_text().startswith("<!DOCTYPE")
    assert not list(tmp_path.rglob("*.tmp")) and not list(runs["det"].glob(".*.tmp"))


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"fmt": "docx"}, ("fmt", "'docx'", "'html'", "'pdf'")),
        ({"lang": "fr"}, ("lang", "'fr'", "'en'", "'it'")),
    ],
)
def test_bad_format_or_language(runs, kwargs, words):
    with pytest.raises(ParameterError) as err:
        build_report(runs["det"], **kwargs)
    assert all(w in str(err.value) for w in words)


def test_not_a_run_folder(tmp_path):
    with pytest.raises(ParameterError, match=r"run_dir: .*does not exist; allowed: a run folder"):
        build_report(tmp_path / "missing")
    with pytest.raises(ReportError, match=r"run_dir: .*no summary\.json"):
        build_report(tmp_path)
    (tmp_path / "summary.json").write_text('{"hello": 1}')
    with pytest.raises(ReportError, match="not that of a metacascade run"):
        build_report(tmp_path)
    assert not list(tmp_path.glob("report.*"))


def test_unfinished_cohort_is_refused(runs, tmp_path):
    folder = shutil.copytree(runs["cohort"], tmp_path / "cohort")
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**manifest, "status": "incomplete"}))
    for report in folder.glob("report.*"):
        report.unlink()
    with pytest.raises(ReportError, match=r"unfinished cohort .*status 'incomplete'.*allowed: status 'complete'"):
        build_report(folder, fmt="pdf")
    assert not list(folder.glob("report.*"))
