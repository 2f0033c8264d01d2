"""Cohorts that draw their patients from a preset's population (``[population] cohort_draws``):
the founding caps, and M1 at diagnosis against SEER and the population quadrature."""

from __future__ import annotations

import math

import numpy as np

from metacascade.clinical_data import load_seer_size
from metacascade.scenario import parse_scenario
from metacascade.workflows.cohort import (
    POPULATION_MAX_COLONIES,
    POPULATION_MAX_DETECTABLE,
    draw_parameters,
    simulate_chunk,
)
from metacascade.workflows.population_model import population_at_diagnosis


def _cohort(cancer: str, diameter_mm: float, n: int) -> str:
    return f"""
[patient]
cancer = "{cancer}"
primary_diameter_mm = {diameter_mm}
[population]
cohort_draws = true
[engine]
seed = 3
[cohort]
n_patients = {n}
follow_up_days = 1
chunk_size = {n}
[[cohort.arm]]
name = "surgery"
[[cohort.arm.treatment]]
kind = "surgery"
day = 0
"""


def test_the_founding_multipliers_are_capped_where_the_patient_is_certainly_m1_and_node_positive():
    """ER+ breast: the nodal multiplier's own spread (ln sd 8.9) gave a patient of the tail 1e16
    times the median patient's node colonies and a 4,000-patient cohort ran out of memory. The
    distant (nodal) multiplier is capped where the median-sized patient expects
    POPULATION_MAX_DETECTABLE = 10 detectable distant (node-positive) colonies at diagnosis (M1,
    node-positive with probability 1 - e^-10: no fraction at diagnosis changes) or
    POPULATION_MAX_COLONIES established ones, whichever is smaller."""
    sc = parse_scenario(_cohort("breast_er_positive", 30, 4000))
    state = population_at_diagnosis(sc)
    p = draw_parameters(sc)
    u, nodal = p["shedding"], p["nodal_factor"]
    det = u * state["median_detectable_distant_colonies_competent"]
    node = u * nodal * state["median_node_positive_colonies_competent"]
    tol = 1 + 1e-9
    assert det.max() <= POPULATION_MAX_DETECTABLE * tol and node.max() <= POPULATION_MAX_DETECTABLE * tol
    assert (u * state["median_established_distant_colonies_competent"]).max() <= POPULATION_MAX_COLONIES * tol
    assert np.mean(node > 0.999 * POPULATION_MAX_DETECTABLE) > 0.01  # the nodal cap binds here
    free = node < 0.999 * POPULATION_MAX_DETECTABLE
    assert np.mean(free) > 0.5 and np.all(nodal[free] > 0)


def test_cohort_patients_are_drawn_among_those_alive_at_diagnosis():
    """The SEER curves and the population quadrature count the patients alive when the primary
    reaches its size; the cohort's draw is conditioned the same way (rejection rounds). Every
    competent patient's all-organ multiplier is below the alive threshold w_c(T); the Poisson
    expectation of M1 and node positivity over 200,000 drawn patients equals the quadrature's
    within 4 standard errors (an independent computation: a grid over the log-normal against a
    sample); and a patient's draw does not depend on the cohort size."""
    from metacascade.workflows.population_model import NODE_ORGAN, alive_log_threshold, scenario_curves

    n = 200_000
    sc = parse_scenario(_cohort("breast_er_positive", 30, n))
    state = population_at_diagnosis(sc)
    p = draw_parameters(sc)
    u, v, nodal = p["shedding"], p["growth_rate"], p["nodal_factor"]
    prim = np.asarray(sc.routing.primary, float)
    f = prim[sc.organs.index(NODE_ORGAN)] / prim.sum()
    curves = scenario_curves(sc)
    log_wc = float(alive_log_threshold(curves, float(prim.sum()), curves.time_at_diameter(np.array([30.0])))[0])
    # the caps only lower multipliers: the capped values are alive a fortiori
    competent = u > 0
    log_wa = np.log(u[competent] / v[competent]) + np.log((1 - f) + f * nodal[competent])
    assert log_wa.max() < log_wc
    w = u / v
    for key, mass in (
        ("p_detectable_distant_metastasis", state["median_detectable_distant_colonies_competent"]),
        ("p_regional_node_metastasis", state["median_node_positive_colonies_competent"] * nodal),
    ):
        pr = -np.expm1(-w * mass)
        se = float(pr.std()) / math.sqrt(n)
        assert abs(float(pr.mean()) - state[key]) <= 4 * se, (key, pr.mean(), state[key], se)
    small = draw_parameters(parse_scenario(_cohort("breast_er_positive", 30, 500)))
    for k in ("shedding", "growth_rate", "nodal_factor"):
        np.testing.assert_array_equal(small[k], p[k][:500])


def test_surgery_only_cohort_has_the_seer_m1_at_diagnosis():
    """Colon adenocarcinoma at 30 mm, 4,000 patients drawn from the preset's population: the
    fraction M1 at diagnosis is the SEER bin's (3.0 cm: 734 of 4,863 operated patients, 15.1%)
    within 3 standard errors of the difference + 1 point (the rule of ``validate presets``) and the
    population quadrature's within 4 binomial standard errors (the cohort simulates colonies one by
    one: an independent method)."""
    n = 4000
    text = _cohort("colon", 30, n)
    seer = load_seer_size(cancer="Colon AdenoCa")
    row = seer[np.isclose(seer["size_mid_cm"], 3.0)].iloc[0]
    assert (row["n_patients"], row["n_m1"]) == (4863, 734)
    q = population_at_diagnosis(parse_scenario(text))["p_detectable_distant_metastasis"]
    patients, _ = simulate_chunk(text, "<test>", 0)
    mc = float(patients["m1_at_diagnosis"].mean())
    se_q = math.sqrt(q * (1 - q) / n)
    assert abs(mc - q) <= 4 * se_q, (mc, q, se_q)
    obs = float(row["fraction"])
    se = math.sqrt(mc * (1 - mc) / n + obs * (1 - obs) / float(row["n_patients"]))
    assert abs(mc - obs) <= 3 * se + 0.01, (mc, obs, se)


def _diameter_where_the_median_patient_is_dead(cancer: str) -> tuple[float, float]:
    """(a diameter at which the median patient's all-organ multiplier, 1, exceeds the alive
    threshold by e, and one at which the primary alone is lethal), read from the scenario curves."""
    from metacascade.workflows.population_model import alive_log_threshold, scenario_curves

    sc = parse_scenario(f'[patient]\ncancer = "{cancer}"\n')
    curves = scenario_curves(sc)
    d = np.linspace(20.0, 170.0, 1501)
    log_wc = alive_log_threshold(curves, float(np.sum(sc.routing.primary)), curves.time_at_diameter(d))
    return float(d[np.flatnonzero(log_wc < -1.0)[0]]), float(d[np.flatnonzero(log_wc == -np.inf)[0]])


def test_a_cohort_of_patients_almost_never_alive_at_diagnosis_is_refused_naming_the_diameter():
    """Every tumour competent and nearly every patient the median one (ln sd 0.1, z capped at 3):
    at a diameter where the median patient's expected burden is e times the lethal one, no redraw
    can make a patient alive; the draw stops after its rejection rounds with a one-line error that
    names the field and the diameter. A primary that alone exceeds the lethal burden is refused
    before any round."""
    import pytest

    from metacascade.errors import ParameterError

    dead_mm, lethal_mm = _diameter_where_the_median_patient_is_dead("breast_er_positive")
    assert dead_mm < lethal_mm
    fixed = "competent_fraction = 1\ndissemination_sd_log = 0.1\ngrowth_sd_log = 0\nnodal_sd_log = 0.1\n"
    draws = "cohort_draws = true\n"
    for d, says in ((dead_mm, "almost never alive"), (lethal_mm, "alone exceeds the lethal burden")):
        text = _cohort("breast_er_positive", round(d, 1), 5).replace(draws, draws + fixed)
        with pytest.raises(ParameterError, match=f"patient.primary_diameter_mm: .*{round(d, 1):g} mm.*{says}"):
            draw_parameters(parse_scenario(text))
    # a diameter where the median patient is alive draws without a round to spare
    ok = _cohort("breast_er_positive", 30, 5).replace(draws, draws + fixed)
    assert np.all(draw_parameters(parse_scenario(ok))["shedding"] > 0)
