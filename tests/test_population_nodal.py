"""Separate founding multipliers of the regional nodes and of the distant organs
(model.population: nodal_sd_log, nodal_correlation).

Independent checks: the quadrature's moments against the bivariate normal's closed form, the
shared case against the one-multiplier model bit for bit, continuity as the correlation tends
to 1, and the stochastic cohort engine (patients drawn with their own nodal multiplier, routed
per patient) against the quadrature for node and distant involvement and their overlap
(4 binomial SE).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from engine_patients import SPREADING_SOIL

from metacascade.errors import ParameterError
from metacascade.model.population import Population
from metacascade.presets import get_preset
from metacascade.workflows.population_model import predict_population, preset_curves
from metacascade.workflows.preset_calibration import soils_from_sites


def test_nodal_values_are_checked():
    for bad in ({"nodal_sd_log": -1.0}, {"nodal_sd_log": math.nan}, {"nodal_correlation": 1.5}):
        with pytest.raises(ParameterError, match=r"population\.nodal"):
            Population(1.0, 2.0, 0.5, **bad)
    assert Population(1.0, 2.0, 0.5).nodal_shared
    assert Population(1.0, 2.0, 0.5, nodal_sd_log=2.0).nodal_shared
    assert not Population(1.0, 2.0, 0.5, nodal_sd_log=2.0, nodal_correlation=0.9).nodal_shared


def test_joint_nodes_have_the_bivariate_normal_moments():
    """ln w = ln u - ln v and ln w_n = ln u_n - ln v: variances s^2 = su^2 + sv^2, s_n^2 = sn^2 + sv^2,
    covariance rho su sn + sv^2 (they share v); the grid reproduces them to 1e-9."""
    su, sv, sn, rho = 3.0, 0.5, 2.0, 0.4
    pop = Population(1.0, su, sv, nodal_sd_log=sn, nodal_correlation=rho)
    lw, lwn, wt, _ = pop.joint_nodes(321, 41)
    assert wt.sum() == pytest.approx(1.0, abs=1e-12)
    m, mn = wt @ lw, wt @ lwn
    assert abs(m) < 1e-9 and abs(mn) < 1e-9
    assert wt @ (lw * lw) == pytest.approx(su**2 + sv**2, rel=1e-9)
    assert wt @ (lwn * lwn) == pytest.approx(sn**2 + sv**2, rel=1e-9)
    assert wt @ (lw * lwn) == pytest.approx(rho * su * sn + sv**2, rel=1e-9)


def test_shared_multiplier_is_the_one_multiplier_model_and_the_limit_is_continuous():
    preset = get_preset("breast_er_positive")
    curves = preset_curves(preset)
    soil = soils_from_sites(preset, preset.fitted_soil)
    base = dataclasses.replace(preset.population, nodal_sd_log=None, nodal_correlation=1.0)
    d = np.array([10.0, 20.0, 40.0])
    one = predict_population(curves, soil, base, d)
    same = predict_population(curves, soil, dataclasses.replace(base, nodal_sd_log=base.dissemination_sd_log), d)
    assert np.array_equal(one.m1_at_size, same.m1_at_size) and np.array_equal(one.node_at_size, same.node_at_size)
    near = predict_population(
        curves, soil, dataclasses.replace(base, nodal_sd_log=base.dissemination_sd_log, nodal_correlation=0.99999), d
    )
    np.testing.assert_allclose(near.node_at_size, one.node_at_size, atol=5e-3)
    np.testing.assert_allclose(near.m1_at_size, one.m1_at_size, atol=5e-3)


def test_cohort_draws_route_each_patient_by_her_nodal_multiplier():
    """Fractions of 3000 virtual patients (stochastic cohort engine, population draws with a nodal
    multiplier of its own) with a detectable regional-node metastasis, a detectable distant one,
    and both, at diagnosis, against the quadrature over the same joint distribution (4 SE; the
    draws' z cap at +/-3 is the only difference, P(|z| > 3) = 0.27%)."""
    from metacascade.scenario import parse_scenario
    from metacascade.workflows.cohort import simulate_chunk
    from metacascade.workflows.population_model import NODE_ORGAN, scenario_curves

    n = 3000
    text = f"""
[patient]
cancer = "breast_er_negative"
primary_diameter_mm = 30
[model]
secondary_seeding = false
# explicit shedding and soils (tests/engine_patients.py): node, distant and both in 0.03..0.97
# (0.67, 0.16, 0.11), whatever the calibration
shedding_m = 0.1
shedding_alpha = 1.0
{SPREADING_SOIL}detection_diameter_mm = 0.3
[population]
cohort_draws = true
competent_fraction = 1.0
dissemination_sd_log = 1.0
growth_sd_log = 0.3
nodal_sd_log = 1.5
nodal_correlation = 0.0
[engine]
seed = 5
[cohort]
n_patients = {n}
follow_up_days = 1
chunk_size = {n}
[[cohort.arm]]
name = "control"
"""
    sc = parse_scenario(text)
    curves = scenario_curves(sc)
    p = np.asarray(sc.routing.primary, float)
    k = sc.organs.index(NODE_ORGAN)
    T = curves.time_at_diameter(np.array([30.0]))
    lam = float(np.exp(curves.log_at("detect", T))[0])
    lw, lwn, wt, _ = sc.population.joint_nodes(321, 41)
    pd_ = 1 - np.exp(-np.exp(lw) * (p.sum() - p[k]) * lam)
    pn_ = 1 - np.exp(-np.exp(lwn) * p[k] * lam)
    q = {"node": float(wt @ pn_), "distant": float(wt @ pd_), "both": float(wt @ (pn_ * pd_))}
    patients, _ = simulate_chunk(text, "<test>", 0)
    node = (patients["met_days__lymph_regional"] <= 0).to_numpy()
    dist = patients["m1_at_diagnosis"].astype(bool).to_numpy()
    mc = {"node": node.mean(), "distant": dist.mean(), "both": (node & dist).mean()}
    for key in q:
        se = math.sqrt(q[key] * (1 - q[key]) / n)
        assert 0.03 < q[key] < 0.97, (key, q[key])
        assert abs(mc[key] - q[key]) <= 4 * se, (key, mc[key], q[key], se)
    # the overlap is that of independent multipliers, not of a shared multiplier (which the design
    # tells apart by more than 4 SE)
    shared = sc.population.__class__(1.0, 1.0, 0.3)
    lw1, _, wt1, _ = shared.joint_nodes(321)
    w1 = np.exp(lw1)
    both_shared = float(wt1 @ ((1 - np.exp(-w1 * (p.sum() - p[k]) * lam)) * (1 - np.exp(-w1 * p[k] * lam))))
    se = math.sqrt(both_shared * (1 - both_shared) / n)
    assert abs(mc["both"] - q["both"]) < abs(mc["both"] - both_shared), (mc["both"], q["both"], both_shared)
    assert abs(q["both"] - both_shared) > 4 * se, (q["both"], both_shared, se)


def test_scenario_population_section_sets_the_nodal_multiplier():
    from metacascade.errors import ScenarioError
    from metacascade.scenario import parse_scenario

    sc = parse_scenario('[patient]\ncancer = "colon"\n[population]\nnodal_sd_log = 2.5\nnodal_correlation = 0.3\n')
    assert sc.population.nodal_sd_log == 2.5 and sc.population.nodal_correlation == 0.3
    assert not sc.population.nodal_shared
    with pytest.raises(ScenarioError, match="nodal_correlation"):
        parse_scenario('[patient]\ncancer = "colon"\n[population]\nnodal_correlation = 2\n')


def test_node_dissection_in_the_resected_autopsy_matches_the_closed_form():
    """One patient type (no spread), resected at 20 mm: with a fraction r of the regional-node
    colonies left by the dissection, the node site at autopsy is (1 - e^{-r L_n}) / (1 - e^{-(L_d + r L_n)})
    and a distant organ o (1 - e^{-L_o}) / (1 - e^{-(L_d + r L_n)}) (L = p I(T), Poisson colonies);
    r = 1 is the old behaviour and r = 0 cures node-only disease."""
    from metacascade.errors import CalibrationError
    from metacascade.workflows.population_model import NODE_ORGAN, organ_founding

    preset = get_preset("breast_er_positive")
    curves = preset_curves(preset)
    p = organ_founding(curves, soils_from_sites(preset, preset.fitted_soil))
    pop = Population(1.0, 0.0, 0.0)
    at = (np.array([20.0]), np.array([1.0]))
    i_res = math.exp(float(curves.log_at("established", curves.time_at_diameter(np.array([20.0])))[0]))
    node = curves.organs.index(NODE_ORGAN)
    liver = curves.organs.index("liver")
    # scale the calibrated founding so that the node and the distant terms are both of order 1
    # (the closed form holds for any p; the calibrated median patient has almost none of either)
    distant = np.arange(p.size) != node
    p = np.where(distant, p * (1.0 / float(p[distant].sum() * i_res)), p * (2.0 / float(p[node] * i_res)))
    lam = p * i_res
    lam_d = float(lam.sum() - lam[node])
    assert 0.05 < lam[node] < 20 and 0.01 < lam_d < 20  # both terms matter at this scale
    for r in (1.0, 0.3, 0.0):
        pred = predict_population(curves, p, pop, np.array([20.0]), resected_at_mm=at, node_residual=r)
        dying = -math.expm1(-(lam_d + r * lam[node]))
        assert pred.autopsy[NODE_ORGAN] == pytest.approx(-math.expm1(-r * lam[node]) / dying, rel=1e-9)
        assert pred.autopsy["liver"] == pytest.approx(-math.expm1(-lam[liver]) / dying, rel=1e-9)
    with pytest.raises(CalibrationError, match=r"node_residual: got 1\.5, allowed a fraction in \[0, 1\]"):
        predict_population(curves, p, pop, np.array([20.0]), resected_at_mm=at, node_residual=1.5)


def test_node_dissection_option_round_trips_and_is_checked():
    """calibration.node_dissection: the fitted fraction is written to calibrated.toml as
    [NAME.nodes] residual_fraction, read back by the preset loader and fit_from_calibrated (the
    file regenerates bit for bit); a bad value in the file and the option on an untreated autopsy
    series are refused with the field named."""
    from metacascade.errors import CalibrationError, DataError
    from metacascade.presets import load_calibrated
    from metacascade.workflows.preset_calibration import (
        CALIBRATED_PATH,
        calibration_data,
        fit_from_calibrated,
        format_calibrated,
    )

    shipped = load_calibrated()
    fits = {n: fit_from_calibrated(n, v) for n, v in shipped.items()}
    assert not shipped["colon"].get("nodes")  # colon is fitted without the option
    fits["colon"] = dataclasses.replace(fits["colon"], node_residual=3.3587e-4)
    text = format_calibrated(fits)
    assert "[colon.nodes]\nresidual_fraction = 0.00033587\n" in text
    again = load_calibrated(text)
    assert again["colon"]["nodes"] == {"residual_fraction": 3.3587e-4}
    assert format_calibrated({n: fit_from_calibrated(n, v) for n, v in again.items()}) == text
    # the shipped file without the option regenerates unchanged
    assert format_calibrated({n: fit_from_calibrated(n, v) for n, v in shipped.items()}) == CALIBRATED_PATH.read_text(
        encoding="utf-8"
    )
    assert get_preset("colon").node_residual_fraction == 1.0
    for name, values in shipped.items():  # the loader hands each preset its fitted fraction (1: none)
        assert get_preset(name).node_residual_fraction == (values.get("nodes") or {}).get("residual_fraction", 1.0)
    bad_text = "[x]\nloglik = 0\nn_obs = 0\n[x.soil]\n[x.population]\n[x.nodes]\nresidual_fraction = 1.5\n"
    with pytest.raises(DataError, match=r"\[x\]\.nodes\.residual_fraction: got 1\.5, allowed .* in \[0, 1\]"):
        load_calibrated(bad_text)
    breast = get_preset("breast_er_positive")
    on = dataclasses.replace(breast, calibration={**breast.calibration, "node_dissection": True})
    off = dataclasses.replace(
        breast, calibration={k: v for k, v in breast.calibration.items() if k != "node_dissection"}
    )
    assert calibration_data(on).fit_node_residual and not calibration_data(off).fit_node_residual
    pancreas = get_preset("pancreas")
    bad = dataclasses.replace(pancreas, calibration={**pancreas.calibration, "node_dissection": True})
    with pytest.raises(CalibrationError, match="node_dissection needs a resected autopsy series"):
        calibration_data(bad)
