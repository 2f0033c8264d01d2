"""Adjuvant endocrine response on occult disease (model.endocrine) and the trial workflow.

Closed forms: with a uniform count of remaining clock G(x) = c x, cytostasis alone gives
E(t) = c v (rho min(t, L) + (t - L)+), and a constant kill alone
E(t) = c v / kappa (1 - exp(-kappa t)) while it lasts. Tolerances: the kill weight is taken at
the midpoints of the x grid (second order in its step; 1e-6 relative on a 20,001-node grid).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from metacascade.errors import DataError, ParameterError
from metacascade.model.endocrine import Course, EndocrineArm, EndocrineResponse, treated_detections

YEAR = 365.25
X = np.linspace(0.0, 40 * YEAR, 20001)
G = 3.0 * X  # c = 3 colonies per clock-day


def test_no_course_is_the_untreated_count() -> None:
    v = np.array([0.5, 1.0, 2.0])
    e = treated_detections(X, G, v, (), np.array([1.0, 5.0, 10.0]))
    assert np.allclose(e, 3.0 * v[:, None] * np.array([1.0, 5.0, 10.0])[None, :] * YEAR)


def test_cytostasis_alone_matches_the_closed_form() -> None:
    rho, L = 0.25, 5.0
    years = np.array([1.0, 3.0, 5.0, 7.0, 12.0])
    v = np.array([0.6, 1.0, 1.7])
    e = treated_detections(X, G, v, (Course(rho, 0.0, 0.0, L),), years)
    want = 3.0 * v[:, None] * YEAR * (rho * np.minimum(years, L) + np.maximum(years - L, 0.0))[None, :]
    assert np.allclose(e, want, rtol=1e-9)


def test_kill_alone_matches_the_closed_form() -> None:
    kappa, L = 2e-3, 5.0
    years = np.array([0.5, 2.0, 5.0, 8.0])
    v = np.array([0.8, 1.0, 1.5])
    e = treated_detections(X, G, v, (Course(1.0, kappa, 0.0, L),), years)
    t = np.minimum(years, L) * YEAR
    on = 3.0 * v[:, None] / kappa * -np.expm1(-kappa * t)[None, :]
    # after the course: the colonies detected after L all had the full exposure
    after = 3.0 * v[:, None] * np.maximum(years - L, 0.0)[None, :] * YEAR * math.exp(-kappa * L * YEAR)
    assert np.allclose(e, on + after, rtol=1e-6)


def test_a_course_that_does_nothing_leaves_the_relapse_unchanged() -> None:
    from metacascade.presets import get_preset
    from metacascade.workflows.population_model import predict_relapse, preset_curves
    from metacascade.workflows.preset_calibration import soils_from_sites

    p = get_preset("breast_er_positive")
    curves, soil = preset_curves(p), soils_from_sites(p, dict(p.fitted_soil))
    years = np.array([1.0, 2.0, 5.0, 10.0])
    plain = predict_relapse(curves, soil, p.population, 20.0, years).cumulative
    arm = EndocrineArm((Course(1.0, 0.0, 0.0, 5.0),), EndocrineResponse(0.0, 0.0))
    treated = predict_relapse(curves, soil, p.population, 20.0, years, therapy=arm).cumulative
    # the treated path integrates G on its own x grid (6001 nodes): 1e-3 relative
    assert np.allclose(treated, plain, rtol=1e-3, atol=1e-6)
    # a strong, complete response removes (almost) every relapse during therapy
    cure = EndocrineArm((Course(0.2, 0.05, 0.0, 5.0),), EndocrineResponse(0.0, 0.05))
    assert predict_relapse(curves, soil, p.population, 20.0, years, therapy=cure).cumulative[2] < 0.02 * plain[2]


def test_patient_classes_are_a_distribution() -> None:
    resp = EndocrineResponse(0.3, 1e-3, acquired_resistance_per_year=0.2)
    arm = EndocrineArm((Course(0.2, 1e-3, 0.0, 5.0),), resp, compliance=0.8)
    shares = [s for s, _ in arm.classes()]
    assert math.isclose(sum(shares), 1.0, rel_tol=1e-9)
    # share that stays sensitive for all 5 years: compliance x (1 - resistant) x exp(-mu x 5)
    assert any(math.isclose(s, 0.8 * 0.7 * math.exp(-1.0), rel_tol=1e-12) for s in shares)


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: Course(0.0, 0.0, 0.0, 5.0), "course.growth_ratio"),
        (lambda: Course(0.5, -1.0, 0.0, 5.0), "course.kill_per_day"),
        (lambda: Course(0.5, 0.0, 5.0, 5.0), "course.end_years"),
        (lambda: EndocrineResponse(1.2, 0.0), "endocrine_response.resistant_fraction"),
        (lambda: EndocrineResponse(0.2, float("nan")), "endocrine_response.kill_per_day"),
        (lambda: EndocrineArm((), EndocrineResponse(0.2, 0.0), compliance=-0.1), "arm.compliance"),
    ],
)
def test_bad_parameters_name_the_field(make, field) -> None:
    with pytest.raises(ParameterError, match=field):
        make()


def test_trial_file_errors_name_the_entry(tmp_path) -> None:
    from metacascade.workflows.endocrine_trials import DATA_FILE, load_trials

    text = (__import__("importlib.resources").resources.files("metacascade") / "data" / DATA_FILE).read_text()
    bad = tmp_path / "t.toml"
    bad.write_text(text.replace('agent = "anastrozole"', 'agent = "aspirin"'))
    with pytest.raises(DataError, match=r"ebctcg2015_ai\]\.treatment\[0\]\.agent: got 'aspirin'"):
        load_trials(bad)
    bad.write_text(text.replace("rr = [0.90, 0.75]", "rr = [1.90, 0.75]"))
    with pytest.raises(DataError, match=r"atlas2013\]\.rr\[0\]"):
        load_trials(bad)
    bad.write_text(text + "\n[[[")
    with pytest.raises(DataError, match="corrupt TOML"):
        load_trials(bad)


def test_growth_ratios_are_the_dose_response_of_the_agents() -> None:
    from metacascade.workflows.endocrine_trials import growth_ratio

    # data/hormones.toml derives tamoxifen's factor so that its growth ratio is 0.2264 and
    # anastrozole's calibrated ratio is 0.1325 (IMPACT Ki-67 falls)
    assert growth_ratio("tamoxifen", 25.7) == pytest.approx(0.2264, abs=5e-4)
    assert growth_ratio("anastrozole", 25.7) == pytest.approx(0.1325, abs=5e-4)


def test_the_shipped_response_is_the_least_squares_fit() -> None:
    """The committed [response] minimises the fit objective: 5% either way in each fitted
    parameter raises it (a full refit takes about a minute: the maintenance command)."""
    from metacascade.workflows.endocrine_trials import load_trials, run_trial

    data = load_trials()
    fit = next(t for t in data.trials.values() if t.role == "fit")
    se = (np.log(fit.rr_high) - np.log(fit.rr_low)) / (2 * 1.959964)

    def objective(resp: EndocrineResponse) -> float:
        rr = run_trial(fit, resp, data=data).rr
        return float(np.sum(((np.log(rr) - np.log(fit.rr)) / se) ** 2))

    r = data.response
    best = objective(r)
    for f in (0.95, 1.05):
        assert (
            objective(EndocrineResponse(r.resistant_fraction * f, r.kill_per_day, r.acquired_resistance_per_year))
            > best
        )
        assert (
            objective(EndocrineResponse(r.resistant_fraction, r.kill_per_day * f, r.acquired_resistance_per_year))
            > best
        )
    # and the fitted rows meet the published intervals
    rr = run_trial(fit, r, data=data).rr
    assert np.all((np.array(fit.rr_low) <= rr) & (rr <= np.array(fit.rr_high)))


def test_the_endocrine_case_reports_every_trial() -> None:
    from metacascade.validation import CASES, run_case

    assert "endocrine" in CASES
    rep = run_case("endocrine")
    names = [r.quantity for r in rep.rows]
    for t in ("ebctcg2011: recurrence RR years 0-4", "atlas2013: recurrence RR years 10-14", "ebctcg2015_ai"):
        assert any(n.startswith(t) for n in names)
    gated = [r for r in rep.rows if r.passed is not None]
    assert all(r.tolerance.startswith("inside the published 95% interval") for r in gated)
    assert all((r.passed is True) for r in gated if "(fitted)" in r.tolerance)
