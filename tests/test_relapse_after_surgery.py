"""Distant relapse after resection (population_model.resected_count / predict_relapse) and its
validation against published series (validate presets, section "relapse").

Independent checks: a closed form (exponential primary and colonies, no birth-death phase:
colonies founded before surgery grow to the imaging size after a fixed lag), the stochastic cohort
engine with surgery on the day of diagnosis (Monte Carlo over virtual patients drawn from the same
log-normal founding and growth multipliers, 4 binomial standard errors), and the data files'
own values for the validation table.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from metacascade.clinical_data import load_relapse_curve, load_relapse_targets
from metacascade.errors import CalibrationError, DataError
from metacascade.model.growth import Exponential
from metacascade.model.metastasis import MetastasisModel
from metacascade.model.population import Population
from metacascade.model.shedding import PowerShedding
from metacascade.presets import get_preset
from metacascade.workflows.population_model import (
    curves_of,
    predict_relapse,
    preset_curves,
    resected_count,
    scenario_curves,
)

ORGANS = ("lung", "lymph_regional")


def _exponential_curves(lam=0.01, m=1e-3, alpha=2 / 3, detect=1e6):
    law = Exponential(lam)
    model = MetastasisModel(
        primary_growth=law, colony_growth=law, primary_shedding=PowerShedding(m=m, alpha=alpha), secondary_seeding=False
    )
    return curves_of(
        "exp",
        model,
        None,
        lethal=1e12,
        cells_per_mm3=1e6,
        detection_cells=detect,
        autopsy_cells=2e6,
        node_cells=1e3,
        arrest=np.zeros(2),
        organs=ORGANS,
    )


def test_resected_count_equals_the_closed_form():
    """N(t) = int_0^min(t_r, t - tau) m e^{alpha lam s} ds with tau = ln(x_det)/lam: equal to the
    unresected count before surgery, frozen tau days after it (trapezoid on 4001 points: 1e-5)."""
    lam, m, alpha, det = 0.01, 1e-3, 2 / 3, 1e6
    c = _exponential_curves(lam, m, alpha, det)
    tau = math.log(det) / lam
    assert c.tau_detect == pytest.approx(tau, rel=1e-12)
    tr = 2000.0
    t = np.array([tr - 500, tr, tr + 0.5 * tau, tr + tau, tr + 3 * tau])
    upper = np.clip(np.minimum(tr, t - tau), 0.0, None)
    exact = m * np.expm1(alpha * lam * upper) / (alpha * lam)
    np.testing.assert_allclose(resected_count(c, tr, t), exact, rtol=1e-5)
    # before the surgery the resected count is the unresected curve
    np.testing.assert_allclose(resected_count(c, tr, t[:2]), np.exp(c.log_at("detect", t[:2])), rtol=1e-4)


def test_relapse_equals_monte_carlo_over_the_stochastic_cohort_with_surgery():
    """P(distant relapse by t | M0 at surgery on the day of diagnosis) by quadrature equals the
    fraction of the M0 patients of 3000 virtual patients of the stochastic cohort engine (surgery
    with node dissection at day 0; founding and growth multipliers log-normal with sd 1.5 and 0.5;
    secondary seeding off; half the new colonies dormant, escaping on each patient's own growth
    clock; a 0.3 mm detection size keeps the colonies few), within 4 binomial SE."""
    from metacascade.scenario import parse_scenario
    from metacascade.workflows.cohort import simulate_chunk
    from metacascade.workflows.population_model import population_at_diagnosis

    n = 3000
    base = """
[patient]
cancer = "breast_er_negative"
primary_diameter_mm = 30
[model]
secondary_seeding = false
shedding_m = {m}
detection_diameter_mm = 0.3
[population]
competent_fraction = 1.0
dissemination_sd_log = 1.5
growth_sd_log = 0.5
nodal_sd_log = 1.5        # one multiplier for nodes and distant organs, as [cohort.vary] shedding
nodal_correlation = 1.0
[host]
dormancy_probability = 0.5  # half the colonies held dormant: both branches of the delay law
dormancy_escape_per_day = 0.002
[engine]
seed = 11
"""
    p0 = get_preset("breast_er_negative")
    sc = parse_scenario(base.format(m=p0.shedding["m"]))
    median = population_at_diagnosis(dataclasses.replace(sc, population=Population()))
    m = p0.shedding["m"] * 0.3 / -math.log1p(-median["p_detectable_distant_metastasis"])
    text = (
        base.format(m=m)
        + f"""
[cohort]
n_patients = {n}
follow_up_days = 400
chunk_size = {n}
[cohort.vary]
shedding = {{ distribution = "lognormal", median = 1.0, sd_log = 1.5 }}
growth_rate = {{ distribution = "lognormal", median = 1.0, sd_log = 0.5 }}
[[cohort.arm]]
name = "surgery"
[[cohort.arm.treatment]]
kind = "surgery"
day = 0
nodes = true
"""
    )
    sc = parse_scenario(text)
    curves = scenario_curves(sc)
    years = np.array([0.05, 0.15, 0.3, 1.0])
    q = predict_relapse(curves, np.asarray(sc.routing.primary, float), sc.population, 30.0, years).cumulative
    patients, _ = simulate_chunk(text, "<test>", 0)
    m0 = patients[~patients["m1_at_diagnosis"].astype(bool)]
    distant = [c for c in patients.columns if c.startswith("met_days__") and c != "met_days__lymph_regional"]
    first = m0[distant].min(axis=1)
    mc = np.array([(first <= 365.25 * y).mean() for y in years])
    se = np.sqrt(q * (1 - q) / len(m0))
    assert len(m0) > 1000 and 0.1 < q[-1] < 0.95
    assert np.all(np.abs(mc - q) <= 4 * se), (mc, q, se)


def test_node_conditioning_and_bad_arguments():
    preset = get_preset("breast_er_positive")
    curves = preset_curves(preset)
    p = curves.arrest * np.array([preset.resolved_soil().get(o, 0.0) for o in curves.organs])
    years = [1.0, 5.0, 10.0]
    pop = preset.population
    r = {k: predict_relapse(curves, p, pop, 20.0, years, nodes=k).cumulative for k in ("all", "negative", "positive")}
    # node-positive patients carry more disseminated disease: they relapse more, the mixture lies between
    assert np.all(r["positive"] > r["all"]) and np.all(r["all"] > r["negative"])
    assert np.all(np.diff(r["all"]) >= 0) and np.all((r["all"] >= 0) & (r["all"] <= 1))
    # without nodal founding, node-negative is everyone
    p0 = p.copy()
    p0[curves.organs.index("lymph_regional")] = 0.0
    np.testing.assert_allclose(
        predict_relapse(curves, p0, pop, 20.0, years, nodes="negative").cumulative,
        predict_relapse(curves, p0, pop, 20.0, years).cumulative,
        rtol=1e-12,
    )
    with pytest.raises(CalibrationError, match="nodes"):
        predict_relapse(curves, p, pop, 20.0, years, nodes="N1")


def test_relapse_targets_name_rows_that_exist(tmp_path):
    targets = load_relapse_targets()
    assert set(targets["preset"]) >= {"breast_er_positive", "breast_er_negative", "colon", "pancreas", "lung_nsclc"}
    for _, t in targets.iterrows():
        curve = load_relapse_curve(t["file"], t["quantity"], t["subgroup"])
        assert len(curve) >= 3 and curve["value"].is_monotonic_decreasing
    # TRANSBIG ER+ (computed from GSE7390 by metacascade.validation.transbig): DMFS 0.871 at 5 years
    er = load_relapse_curve("transbig_dmfs.csv", "dmfs_km", "ER+")
    assert float(er.loc[er["time_years"] == 5.0, "value"].iloc[0]) == pytest.approx(0.870776, abs=1e-6)
    bad = tmp_path / "t.csv"
    text = (
        "preset,file,quantity,subgroup,nodes,diameter,diameter_source,max_diameter_mm,endpoint\n"
        "colon,x.csv,q,s,{nodes},{d},src,,distant\n"
    )
    bad.write_text(text.format(nodes="N1", d="20"))
    with pytest.raises(DataError, match=r"row 1.*nodes.*'N1'"):
        load_relapse_targets(bad)
    bad.write_text(text.format(nodes="all", d="-3"))
    with pytest.raises(DataError, match=r"diameter.*'-3'"):
        load_relapse_targets(bad)
    with pytest.raises(DataError, match="no rows"):
        load_relapse_curve("transbig_dmfs.csv", "dmfs_km", "ER?")
    series = tmp_path / "s.csv"
    series.write_text("# a comment\nquantity,subgroup,time_years,value,n,ci_low,ci_high\nrfs,a,1,0.9,10,,\n")
    with pytest.raises(DataError, match=r"missing columns \['source'\]"):
        load_relapse_curve("s.csv", "rfs", "a", path=series)
    with pytest.raises(DataError, match="no such natural-history file"):
        load_relapse_curve("s.csv", "rfs", "a", path=tmp_path / "absent.csv")


def test_validation_reports_relapse_against_the_series():
    """The report's observed values are 1 - the file's values; the verdict follows the stated rule."""
    from metacascade.validation.presets import TARGETS, preset_report

    r = preset_report("breast_er_positive")["relapse"]
    curve = load_relapse_curve("transbig_dmfs.csv", "dmfs_km", "ER+")
    np.testing.assert_allclose([p["observed"] for p in r["points"]], 1 - curve["value"].to_numpy(), rtol=1e-12)
    assert r["diameter_mm"] == 20.0 and r["nodes"] == "negative"
    for p in r["points"]:
        assert p["within"] == (abs(p["model"] - p["observed"]) <= p["half_width_95"] + TARGETS["relapse_abs"])
    assert bool(r["misses"]) == (not all(p["within"] for p in r["points"]))


def test_early_founded_share_against_a_closed_form():
    """With a size-independent founding rate (alpha = 0: b constant), the colonies above the imaging
    threshold at t founded before t_e are b * int_{t - tau - t_e}^{t - tau} F(u) du (F the delay
    CDF), so the early share is that integral over the one up to t_D (scipy quad on F)."""
    import dataclasses

    from scipy import integrate

    from metacascade.presets import get_preset
    from metacascade.workflows.population_model import early_founded_share, preset_curves, shedding_with_alpha

    p = get_preset("colon")
    c = preset_curves(dataclasses.replace(p, shedding=shedding_with_alpha(p.shedding_spec, 0.0)))
    assert np.ptp(c.shed) == pytest.approx(0.0, abs=1e-12 * c.shed.max())
    t_d = float(c.time_at_diameter(np.array([40.0]))[0])
    t_e = float(np.interp(np.log(1e7), np.log(np.maximum(c.primary, 1e-300)), c.t))

    def F(u):
        return float(np.interp(u, c.delay_t, c.delay_cdf, left=0.0, right=1.0)) if u >= c.delay_t[0] else 0.0

    for years in (0.0, 2.0):
        t = t_d + 365.25 * years
        num = integrate.quad(F, t - c.tau_detect - t_e, t - c.tau_detect, limit=400, points=list(c.delay_t[:50]))[0]
        den = integrate.quad(F, t - c.tau_detect - t_d, t - c.tau_detect, limit=400, points=list(c.delay_t[:50]))[0]
        assert early_founded_share(c, 40.0, 1e7, years) == pytest.approx(num / den, rel=2e-3)
    # a threshold above the primary at diagnosis: every colony is early
    assert early_founded_share(c, 40.0, 1e12) == pytest.approx(1.0)


def test_early_seeding_file_is_checked(tmp_path):
    from metacascade.clinical_data import load_early_seeding

    df = load_early_seeding()
    assert (df["patients_early"] <= df["patients_evaluable"]).all()
    hu = df[df["source"] == "HU2019"].iloc[0]
    assert (hu["patients_early"], hu["patients_evaluable"]) == (17, 21)  # Hu 2019 abstract: 81%, 17 of 21
    bad = tmp_path / "e.csv"
    bad.write_text(
        "source,presets,primary_volume_cm3,patients_early,patients_evaluable,where,how_read\nX,colon,0.01,22,21,a,b\n"
    )
    with pytest.raises(DataError, match=r"e.csv row 1 \(X\): patients_early: got 22, allowed a whole number in 0..21"):
        load_early_seeding(bad)
    bad.write_text("source,presets,primary_volume_cm3,patients_early,where,how_read\nX,colon,0.01,2,a,b\n")
    with pytest.raises(DataError, match="patients_evaluable"):
        load_early_seeding(bad)
