"""Free T3 and prolactin in breast_er_positive: dose-responses, time scaling, the ``hormones`` case.

The closed forms are computed here from the numbers of ``data/hormones.toml`` read with tomllib,
independently of ``metacascade.model.hormones``:

    m(L) = (1 - w) + w L^h / (L^h + EC50^h),   H(L) = m(L) / m(L_ref).
"""

from __future__ import annotations

import itertools
import json
import math
import tomllib
from importlib.resources import files

import pytest
from typer.testing import CliRunner

from metacascade.cli import app
from metacascade.presets import get_preset
from metacascade.scenario import parse_scenario
from metacascade.validation import CASES, run_case
from metacascade.validation.hormone_effects import (
    FIELDS,
    SENSITIVITY,
    hormone_effects,
    levels_of,
    scenario_text,
    validate_hormone_effects,
)

runner = CliRunner()
DATA = tomllib.loads(files("metacascade").joinpath("data/hormones.toml").read_text(encoding="utf-8"))
HORMONES = ("free_t3", "prolactin")


def closed_form(name: str, level: float, ref: float | None = None) -> float:
    s = DATA["sensitivities"][name]
    w, ec50, h = s["w"], s["ec50"], s["hill"]

    def m(x: float) -> float:
        return (1.0 - w) + w * x**h / (x**h + ec50**h)

    return m(level) / m(s["reference_level"] if ref is None else ref)


@pytest.fixture(scope="module")
def effects():
    return hormone_effects()


@pytest.fixture(scope="module")
def report():
    return validate_hormone_effects()


def test_breast_er_positive_declares_both_sensitivities():
    """presets.toml: breast_er_positive = er_breast + thyroid_t3 + prolactin (in-vitro ER+ growth for T3,
    Nogueira 1996 / Hall 2008; ER+ growth and risk for prolactin, Manni 1986 / Tworoger 2013)."""
    assert set(get_preset("breast_er_positive").hormone_sensitivity) >= {"er_breast", "thyroid_t3", "prolactin"}


@pytest.mark.parametrize("hormone", HORMONES)
def test_levels_come_from_the_physiological_range(hormone):
    """reference and high-normal are the postmenopausal range's reference and upper end; raised is above it."""
    r = DATA["hormones"][hormone]["female_postmenopausal"]
    (l0, ref, _), (l1, high, _), (l2, raised, why) = levels_of(hormone)
    assert (l0, l1, l2) == ("reference", "high-normal", "raised")
    assert (ref, high) == (r["reference"], r["high"])
    assert raised > high and why
    assert raised == (2.0 * r["high"] if hormone == "free_t3" else 200.0)


@pytest.mark.parametrize("hormone", HORMONES)
def test_multipliers_equal_the_closed_form(effects, hormone):
    """The scenario's growth multiplier (other hormones at reference) is H(L) of hormones.toml."""
    mine = [e for e in effects if e.hormone == hormone]
    assert [e.label for e in mine] == ["reference", "high-normal", "raised"]
    for e in mine:
        want = closed_form(SENSITIVITY[hormone], e.level)
        assert e.growth_multiplier == pytest.approx(want, rel=1e-12)
        assert e.closed_form_multiplier == pytest.approx(want, rel=1e-12)
    assert mine[0].growth_multiplier == 1.0
    assert 1.0 < mine[1].growth_multiplier < mine[2].growth_multiplier


def test_multipliers_at_the_case_levels():
    """Pinned values of the closed form: free T3 (w = 1, EC50 = 4.95, h = 1): H(6.8) = 6.8/11.75 / 0.5,
    H(13.6) = 13.6/18.55 / 0.5; prolactin (w = 0.4072, EC50 = 32.84, h = 1) at 27 and 200 ng/mL."""
    assert closed_form("thyroid_t3", 6.8) == pytest.approx(2 * 6.8 / 11.75, rel=1e-12)
    assert closed_form("thyroid_t3", 13.6) == pytest.approx(2 * 13.6 / 18.55, rel=1e-12)

    def m(x: float) -> float:
        return 0.5928 + 0.4072 * x / (x + 32.84)

    assert closed_form("prolactin", 27.0) == pytest.approx(m(27.0) / m(11.3), rel=1e-12)
    assert closed_form("prolactin", 200.0) == pytest.approx(m(200.0) / m(11.3), rel=1e-12)


def test_prolactin_reproduces_manni_1986():
    """Manni 1986 (Cancer Res pp. 1669-1672): colony formation 126% at 20 and 159% at 200 ng/mL of the
    no-prolactin control; EC50 and w were solved from these two points (rounded to 4 figures)."""
    assert closed_form("prolactin", 20.0, ref=0.0) == pytest.approx(1.26, rel=5e-4)
    assert closed_form("prolactin", 200.0, ref=0.0) == pytest.approx(1.59, rel=5e-4)


def test_prolactin_quartile_ratio_is_inside_tworoger_2013_interval():
    """Out of sample: the growth ratio at the log-normal quartile medians of the NHS cut-points (8.1, 15.7
    ng/mL: 6.41 and 19.83) lies inside the ER+ RR's 95% CI 1.07-1.54 (Tworoger 2013 Cancer Res 73:4810)."""
    z75, z875 = 0.6744897501960817, 1.1503493803760079
    mu, sd = 0.5 * math.log(8.1 * 15.7), (math.log(15.7) - math.log(8.1)) / (2 * z75)
    lo, hi = math.exp(mu - z875 * sd), math.exp(mu + z875 * sd)
    assert (lo, hi) == (pytest.approx(6.41, abs=0.01), pytest.approx(19.83, abs=0.01))
    assert 1.07 <= closed_form("prolactin", hi, ref=lo) <= 1.54


@pytest.mark.parametrize("hormone", HORMONES)
def test_raised_level_shortens_time_to_relapse_by_the_multiplier(effects, hormone):
    """The hormone scales the growth clock (TimeScaled): T(L) = T(L_ref) / H(L) exactly, for the colony
    founded at diagnosis (1000 cells) reaching the 5 mm detection size."""
    mine = {e.label: e for e in effects if e.hormone == hormone}
    base = mine["reference"]
    for label in ("high-normal", "raised"):
        e = mine[label]
        assert e.growth_multiplier > 1.0
        assert e.time_to_detection_days < base.time_to_detection_days
        assert base.time_to_detection_days / e.time_to_detection_days == pytest.approx(e.growth_multiplier, rel=1e-9)


def test_time_scaling_holds_for_any_level_through_the_scenario():
    """Directly from parse_scenario: a free T3 of 9 pmol/L and a prolactin of 60 ng/mL together multiply
    growth by the product of their closed forms and divide the time to 5 mm by it."""
    ref = parse_scenario(scenario_text())
    both = parse_scenario(scenario_text({FIELDS["free_t3"]: 9.0, FIELDS["prolactin"]: 60.0}))
    h = closed_form("thyroid_t3", 9.0) * closed_form("prolactin", 60.0)
    assert both.patient.growth_multiplier == pytest.approx(h, rel=1e-12)
    t_ref = ref.model.colony_growth.time_to_size(1000.0, ref.detection_cells)
    t = both.model.colony_growth.time_to_size(1000.0, both.detection_cells)
    assert t_ref / t == pytest.approx(h, rel=1e-9)


@pytest.mark.parametrize("hormone", HORMONES)
def test_faster_growth_gives_fewer_colonies_at_diagnosis(effects, hormone):
    """Scaling identity of the population model: at a fixed primary size faster growth at an unchanged
    founding rate acts like a lower founding rate, so both probabilities fall as the level rises."""
    mine = [e for e in effects if e.hormone == hormone]
    for a, b in itertools.pairwise(mine):
        assert b.p_occult_distant < a.p_occult_distant
        assert b.p_detectable_distant < a.p_detectable_distant
    assert all(0.0 < e.p_detectable_distant <= e.p_occult_distant < 1.0 for e in mine)


def test_validate_case_runs_and_returns_rows(report):
    assert "hormones" in CASES
    assert report.case == "hormones" and report.passed
    assert len(report.rows) == 2 * 3 * 4 + 5
    gated = [r for r in report.rows if r.passed is not None]
    assert len(gated) == 3 and all(r.passed for r in gated)
    assert any("Manni" in r.tolerance for r in gated) and any("Tworoger" in r.tolerance for r in gated)
    assert any("Scaling identity" in n for n in report.notes)
    assert any("GK placeholder" in n for n in report.notes)
    times = [r for r in report.rows if "reach 5 mm" in r.quantity]
    assert all(r.reproduced == pytest.approx(r.published, rel=1e-9) for r in times)


def test_run_case_notes_ignored_options(tmp_path):
    rep = run_case("hormones", data=tmp_path / "x.csv", figure_dir=tmp_path)
    assert any("ignored" in n and "--data" in n for n in rep.notes)


def test_cli_validate_hormones_json_exits_0():
    res = runner.invoke(app, ["validate", "hormones", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["case"] == "hormones" and out["passed"] is True and len(out["rows"]) == 29
