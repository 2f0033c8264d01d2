"""Survival from diagnosis (workflows.population_survival), the resection margin (model.resection)
and the Haeno 2012 data (clinical_data.load_haeno2012).

Independent references: the time-rescaling identity against a fresh solve of the preset with a
faster growth law (tolerance 3e-3 in log counts: the organ solver's discretisation, rtol 1e-7 on
two different grids); the colony burden of the convolution against the organ-resolved solver's
burden (1e-3: the delay masses put on the grid); death and local-recurrence times of a residual
against the Gompertz closed form ``time_to_size`` (half a grid step); death after an R0 resection
of a population without spread against a direct quadrature and root find (scipy.integrate,
brentq); the Haeno totals against the source's own counts.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import integrate, optimize

from metacascade.clinical_data import load_haeno2012
from metacascade.errors import CalibrationError, DataError, ParameterError
from metacascade.model.population import Population
from metacascade.model.resection import Resection
from metacascade.presets import get_preset, scaled_growth
from metacascade.scenario import model_from_preset
from metacascade.workflows.population_model import NODE_ORGAN, organ_founding, preset_curves
from metacascade.workflows.population_survival import (
    DAYS_PER_MONTH,
    cohort_survival,
    predict_survival,
    with_speed,
)
from metacascade.workflows.preset_calibration import soils_from_sites

PAN = get_preset("pancreas")
BASE = dataclasses.replace(PAN, growth=dict(PAN.growth_spec or PAN.growth), growth_speed=1.0)


@pytest.fixture(scope="module")
def curves():
    return preset_curves(BASE)


@pytest.fixture(scope="module")
def soil():
    return soils_from_sites(PAN, dict(PAN.fitted_soil))


def test_speed_is_an_exact_time_rescaling(curves) -> None:
    k = 3.7
    fresh = preset_curves(dataclasses.replace(BASE, growth=scaled_growth(BASE.growth, k)))
    fast = with_speed(curves, k)
    assert np.allclose(fresh.t, fast.t, rtol=1e-12)
    assert fresh.t_primary_lethal == pytest.approx(fast.t_primary_lethal, rel=1e-9)
    for name in ("log_detect", "log_established", "log_node", "log_autopsy"):
        a, b = getattr(fresh, name), getattr(fast, name)
        ok = np.isfinite(a) & np.isfinite(b) & (a > -50)
        assert ok.sum() > 1000
        assert np.max(np.abs(a[ok] - b[ok])) < 3e-3, name
    assert fresh.tau_detect == pytest.approx(fast.tau_detect, rel=1e-9)
    n = min(fresh.colony_size.size, fast.colony_size.size)  # the grids' lengths differ by rounding
    big = fresh.colony_size[:n] > 1e3
    assert np.allclose(fresh.colony_size[:n][big], fast.colony_size[:n][big], rtol=2e-3)


def test_speed_with_soils_times_speed_leaves_quantities_at_size_unchanged(curves, soil) -> None:
    from metacascade.workflows.population_model import predict_population

    k = 4.0
    d = np.array([10.0, 30.0, 60.0])
    a = predict_population(curves, soil, PAN.population, d)
    b = predict_population(with_speed(curves, k), {o: v * k for o, v in soil.items()}, PAN.population, d)
    assert np.allclose(a.m1_at_size, b.m1_at_size, rtol=1e-9, atol=1e-12)
    assert np.allclose(a.node_at_size, b.node_at_size, rtol=1e-9, atol=1e-12)
    assert all(a.autopsy[o] == pytest.approx(b.autopsy[o], rel=1e-9, abs=1e-12) for o in a.autopsy)
    assert b.death_day_median == pytest.approx(a.death_day_median / k, rel=1e-9)


def test_bad_speed_is_refused(curves) -> None:
    for bad in (0.0, -1.0, math.nan):
        with pytest.raises(CalibrationError, match=r"growth\.speed"):
            with_speed(curves, bad)


def test_colony_sizes_by_age_reproduce_the_solvers_burden(curves) -> None:
    from scipy.signal import fftconvolve

    dt = curves.colony_age[1] - curves.colony_age[0]
    assert dt == pytest.approx(curves.t[1] - curves.t[0], rel=1e-12)
    b = curves.shed
    conv = fftconvolve(b, curves.colony_size[: b.size])[: b.size] * dt
    # the delay's masses sit on the grid's nodes: 1% once colonies exist in numbers (a fifth of
    # the span on), 1e-3 over the second half, where deaths happen
    ratio = conv / np.maximum(curves.burden, 1e-300)
    n = curves.t.size
    assert np.max(np.abs(ratio[n // 5 :] - 1.0)) < 1e-2
    assert np.max(np.abs(ratio[n // 2 :] - 1.0)) < 1e-3


def _trivial(pi: float = 1.0) -> Population:
    return Population(competent_fraction=pi, dissemination_sd_log=0.0, growth_sd_log=0.0)


def test_unresected_death_of_the_median_patient_is_the_burden_crossing(curves, soil) -> None:
    d = 30.0
    p = organ_founding(curves, soil)
    T = float(curves.time_at_diameter(np.array([d]))[0])

    def excess(t: float) -> float:  # X(t) + p B(t) - L on the solver's curves
        return (
            float(np.interp(t, curves.t, curves.primary) + p.sum() * np.interp(t, curves.t, curves.burden))
            - curves.lethal
        )

    t_death = optimize.brentq(excess, T, curves.t[-1])
    m_death = (t_death - T) / DAYS_PER_MONTH
    months = np.array([m_death * 0.98, m_death * 1.02])
    pred = predict_survival(curves, soil, _trivial(), d, months, resected=False)
    assert pred.dead == pytest.approx([0.0, 1.0], abs=1e-12)


def test_a_residual_regrows_to_the_lethal_burden_by_the_closed_form(curves, soil) -> None:
    law = model_from_preset(BASE).primary_growth
    r = 1e6
    x_lethal = float(law.time_to_size(r, curves.lethal)) / DAYS_PER_MONTH
    x_local = float(law.time_to_size(r, curves.detection_cells)) / DAYS_PER_MONTH
    step = (curves.t[1] - curves.t[0]) / DAYS_PER_MONTH
    pi = 1e-9  # essentially every tumour non-competent: only the residual acts
    res = Resection(r1_probability=1.0, residual_cells=r)
    months = np.array([x_local - 2 * step, x_local + 2 * step, x_lethal - 2 * step, x_lethal + 2 * step])
    pred = predict_survival(curves, soil, _trivial(pi), 30.0, months, resected=True, resection=res)
    assert pred.dead == pytest.approx([0.0, 0.0, 0.0, 1.0], abs=1e-6)
    assert pred.local_recurrence == pytest.approx([0.0, 1.0, 1.0, 1.0], abs=1e-6)


def test_death_after_r0_resection_against_a_direct_quadrature(curves, soil) -> None:
    d = 30.0
    p = organ_founding(curves, soil)
    ni = curves.organs.index(NODE_ORGAN)
    p_left = float(p.sum() - p[ni])  # node dissection: regional-node colonies removed
    T = float(curves.time_at_diameter(np.array([d]))[0])
    age, beta = curves.colony_age, curves.colony_size

    def burden(x: float) -> float:  # int_0^T b(s) beta(T + x - s) ds, by adaptive quadrature
        f = lambda s: float(np.interp(s, curves.t, curves.shed) * np.interp(T + x - s, age, beta))
        return integrate.quad(f, 0.0, T, limit=400, epsabs=0.0, epsrel=1e-6)[0]

    x_death = optimize.brentq(lambda x: p_left * burden(x) - curves.lethal, 1.0, age[-1] - T - 1.0, xtol=0.5)
    m = x_death / DAYS_PER_MONTH
    step = 3.0 * (curves.t[1] - curves.t[0]) / DAYS_PER_MONTH
    pred = predict_survival(curves, soil, _trivial(), d, np.array([m - step, m + step]), resected=True)
    assert pred.dead == pytest.approx([0.0, 1.0], abs=1e-12)
    assert pred.local_recurrence.tolist() == [0.0, 0.0]


def test_survival_is_a_distribution_in_time(curves, soil) -> None:
    months = np.array([1.0, 3.0, 6.0, 12.0, 24.0, 48.0, 120.0, 600.0])
    for resected in (False, True):
        pred = predict_survival(curves, soil, PAN.population, 35.0, months, resected=resected, resection=PAN.resection)
        assert np.all(np.diff(pred.dead) >= -1e-12)
        assert pred.dead[0] >= 0.0 and pred.dead[-1] <= 1.0 + 1e-9
    # an incomplete resection can only add deaths
    r0 = predict_survival(curves, soil, PAN.population, 35.0, months, resected=True).dead
    r1 = predict_survival(curves, soil, PAN.population, 35.0, months, resected=True, resection=Resection(0.8, 1e6)).dead
    assert np.all(r1 >= r0 - 1e-12) and r1[-1] > r0[-1] + 0.05


def test_the_cohort_is_the_mean_of_its_patients(curves, soil) -> None:
    months = np.array([6.0, 12.0, 24.0])
    d = np.array([20.0, 35.0, 35.0, 50.0])
    r = np.array([True, False, False, True])
    got = cohort_survival(curves, soil, PAN.population, d, r, months, resection=PAN.resection)
    want = np.mean(
        [
            predict_survival(curves, soil, PAN.population, di, months, resected=ri, resection=PAN.resection).dead
            for di, ri in zip(d, r)
        ],
        axis=0,
    )
    # shared post-surgery grids of different lengths: FFT round-off can move a node's death by a
    # grid step (a weight ~1e-6)
    assert got == pytest.approx(want, abs=1e-5)


def test_bad_survival_input_is_refused(curves, soil) -> None:
    with pytest.raises(CalibrationError, match="months"):
        predict_survival(curves, soil, PAN.population, 30.0, np.array([-1.0]), resected=False)
    with pytest.raises(CalibrationError, match="node_residual"):
        predict_survival(curves, soil, PAN.population, 30.0, np.array([1.0]), resected=True, node_residual=1.5)
    with pytest.raises(CalibrationError, match="cohort"):
        cohort_survival(curves, soil, PAN.population, np.array([30.0]), np.array([True, False]), np.array([1.0]))


# ----------------------------------------------------------------------------- resection margin


def test_a_complete_resection_leaves_nothing() -> None:
    nodes = Resection().residual_nodes()
    assert Resection().complete
    assert nodes.margin == ("R0",) and nodes.cells.tolist() == [0.0] and nodes.weight.tolist() == [1.0]


def test_residual_nodes_carry_the_margin_probabilities() -> None:
    res = Resection(r1_probability=0.3, residual_cells=1e5, residual_sd_log=1.5, r2_probability=0.1, r2_fraction=0.2)
    nodes = res.residual_nodes(9)
    w = dict.fromkeys(("R0", "R1", "R2"), 0.0)
    for m, wi in zip(nodes.margin, nodes.weight):
        w[m] += wi
    assert w == pytest.approx({"R0": 0.6, "R1": 0.3, "R2": 0.1}, abs=1e-12)
    r1 = np.array([m == "R1" for m in nodes.margin])
    # the R1 nodes' log-cells have the log-normal's mean and (truncated at 4 sd) nearly its spread
    lc = np.log(nodes.cells[r1])
    wr = nodes.weight[r1] / nodes.weight[r1].sum()
    assert float(wr @ lc) == pytest.approx(math.log(1e5), abs=1e-9)
    assert math.sqrt(float(wr @ (lc - math.log(1e5)) ** 2)) == pytest.approx(1.5, rel=0.01)
    assert nodes.left(1e10)[-1] == pytest.approx(2e9)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"r1_probability": -0.1}, "r1_probability"),
        ({"r1_probability": math.nan}, "r1_probability"),
        ({"r1_probability": 0.7, "r2_probability": 0.5}, "r2_probability"),
        ({"residual_cells": 0.0}, "residual_cells"),
        ({"residual_sd_log": -1.0}, "residual_sd_log"),
        ({"r2_fraction": 0.0}, "r2_fraction"),
    ],
)
def test_bad_margins_are_refused(kwargs, field) -> None:
    with pytest.raises(ParameterError, match=field):
        Resection(**kwargs)


# ----------------------------------------------------------------------------- Haeno 2012 data


def test_haeno_totals_are_the_sources() -> None:
    h = load_haeno2012()
    p = h.patients
    a, b = p[p["cohort"] == "autopsy"], p[p["cohort"] == "adjuvant"]
    # 224 rows: 101 autopsy (all dead, 26 resected), 123 adjuvant of which 2 have no usable date
    assert (len(a), int(a["died"].sum()), int(a["resected"].sum())) == (101, 101, 26)
    assert (len(b), bool(b["resected"].all())) == (121, True)
    assert sorted(c for c, why in h.excluded if why.startswith("left out")) == [242, 253]
    assert int(b["died"].sum()) == 91
    # the source's positive Survival is the months between the dates (checked by the loader)
    assert a["months"].median() == pytest.approx(11.4, abs=0.05)
    d = h.digitised
    assert len(d) == 16 and d.groupby("cohort")["fraction_dead"].apply(lambda s: s.is_monotonic_increasing).all()


def test_haeno_kaplan_meier_against_a_hand_product_limit() -> None:
    from metacascade.validation.haeno2012 import _km

    p = load_haeno2012().patients
    b = p[p["cohort"] == "adjuvant"]
    t, e = b["months"].to_numpy(), b["died"].to_numpy()
    s = 1.0
    for u in np.unique(t[e & (t <= 24.0)]):
        at_risk = np.sum(t >= u)
        s *= 1.0 - np.sum((t == u) & e) / at_risk
    km, lo, hi = _km(t, e, np.array([24.0]))
    assert km[0] == pytest.approx(1.0 - s, abs=1e-12)
    assert lo[0] < km[0] < hi[0]


def _write(tmp_path, rows: list[str]) -> str:
    src = load_haeno2012().source
    with open(src, encoding="utf-8") as fh:
        lines = [ln for ln in fh.read().splitlines() if not ln.startswith("#")]
    path = tmp_path / "h.csv"
    path.write_text("\n".join([lines[0], *rows]) + "\n", encoding="utf-8")
    return str(path)


def test_bad_haeno_files_name_the_case(tmp_path) -> None:
    good = "1,84,5/5/95,6.00,No,0,x,10/26/95,Yes,,na,na,5.716632444,10/26/95,DEAD"
    with pytest.raises(DataError, match=r"case 1.*Case.*duplicate"):
        load_haeno2012(_write(tmp_path, [good, good]))
    with pytest.raises(DataError, match=r"case 1.*Resected"):
        load_haeno2012(_write(tmp_path, [good.replace(",No,0,", ",Maybe,0,")]))
    with pytest.raises(DataError, match=r"case 1.*Survival.*differs"):
        load_haeno2012(_write(tmp_path, [good.replace("5.716632444", "9.5")]))
    with pytest.raises(DataError, match=r"case 1.*SizePrimary"):
        load_haeno2012(_write(tmp_path, [good.replace(",6.00,", ",-2,")]))
    with pytest.raises(DataError, match=r"case 1.*DateDeath.*date"):
        load_haeno2012(_write(tmp_path, [good.replace("10/26/95,Yes", "soon,Yes")]))
    with pytest.raises(DataError, match="file not found"):
        load_haeno2012(str(tmp_path / "missing.csv"))


def test_validate_haeno2012_json_has_the_issue_shape() -> None:
    import json

    from typer.testing import CliRunner

    from metacascade.cli import app

    res = CliRunner().invoke(app, ["validate", "haeno2012", "--json"])
    assert res.exit_code in (0, 1), res.output
    rep = json.loads(res.output)
    assert set(rep["cohorts"]) == {"autopsy", "adjuvant"}
    for c in rep["cohorts"].values():
        assert len(c["points"]) == 8
        for q in c["points"]:
            assert set(q) >= {"month", "digitised", "km", "km_low", "km_high", "model"}
            assert q["km_low"] <= q["km"] <= q["km_high"] and 0.0 <= q["model"] <= 1.0
        diff = max(abs(q["model"] - q["digitised"]) for q in c["points"])
        assert c["max_abs_diff"] == pytest.approx(diff)
    assert res.exit_code == (0 if rep["passed"] else 1)
    assert {r["key"] for r in rep["information"]} >= {"vdt_primary_mean", "locally_destructive_deaths"}
