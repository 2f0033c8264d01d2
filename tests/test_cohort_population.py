"""Cohorts that draw their patients from a preset's population (``[population] cohort_draws``):
the founding caps, and M1 at diagnosis against SEER and the population quadrature."""

from __future__ import annotations

import math

import numpy as np

from metacascade.clinical_data import load_seer_size
from metacascade.scenario import parse_scenario
from metacascade.workflows.cohort import POPULATION_MAX_COLONIES, draw_parameters, simulate_chunk
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


def test_the_nodal_founding_multiplier_is_capped_like_the_distant_one():
    """ER+ breast: the nodal multiplier's own spread (ln sd 8.9, correlation 0.7 with the distant
    one) gave a patient of the tail 1e16 times the median patient's node colonies and a 4,000-patient
    cohort ran out of memory before diagnosis. Now u * u_n/u is capped where the median-sized
    patient expects POPULATION_MAX_COLONIES established node colonies at diagnosis (certainly
    node-positive), as u is for the distant ones."""
    sc = parse_scenario(_cohort("breast_er_positive", 30, 4000))
    state = population_at_diagnosis(sc)
    p = draw_parameters(sc)
    u, nodal = p["shedding"], p["nodal_factor"]
    node_colonies = u * nodal * state["median_established_node_colonies_competent"]
    distant_colonies = u * state["median_established_distant_colonies_competent"]
    assert node_colonies.max() <= POPULATION_MAX_COLONIES * (1 + 1e-9)
    assert distant_colonies.max() <= POPULATION_MAX_COLONIES * (1 + 1e-9)
    assert np.mean(node_colonies > 0.999 * POPULATION_MAX_COLONIES) > 0.01  # the cap binds here
    # below the cap every patient keeps her own multipliers
    free = node_colonies < 0.999 * POPULATION_MAX_COLONIES
    assert np.mean(free) > 0.5 and np.all(nodal[free] > 0)


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
