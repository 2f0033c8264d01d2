"""Global sensitivity analysis: Sobol' indices against the Ishigami function's closed form, Morris
effects against linear functions, and the analysis of the deterministic engine (a factor the model
ignores, shedding's exact proportionality, resume, bad input)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from metacascade.errors import ParameterError, ScenarioError
from metacascade.workflows import sensitivity as sa
from metacascade.workflows.sensitivity import Factor, analyse, design, parse_factors, run_sensitivity

A, B = 7.0, 0.1  # the Ishigami function's usual constants (Ishigami & Homma 1990; Sobol' & Levitan 1999)


def _ishigami_indices() -> tuple[np.ndarray, np.ndarray]:
    """Closed-form first-order and total indices of f = sin x1 + a sin^2 x2 + b x3^4 sin x1, x_i ~
    U(-pi, pi): V1 = (1 + b pi^4 / 5)^2 / 2, V2 = a^2 / 8, V3 = 0, V13 = 8 b^2 pi^8 / 225, V the sum
    (Saltelli et al. 2008, Global Sensitivity Analysis: The Primer, section 4.8)."""
    pi = math.pi
    v1 = 0.5 * (1 + B * pi**4 / 5) ** 2
    v2 = A**2 / 8
    v13 = 8 * B**2 * pi**8 / 225
    v = v1 + v2 + v13
    return np.array([v1, v2, 0.0]) / v, np.array([v1 + v13, v2, v13]) / v


def test_ishigami_closed_form_closed_form_values():
    s1, st = _ishigami_indices()  # the textbook's rounded values: a check of the formulas above
    assert s1 == pytest.approx([0.3139, 0.4424, 0.0], abs=1e-4)
    assert st == pytest.approx([0.5576, 0.4424, 0.2437], abs=1e-4)


def test_sobol_indices_of_the_ishigami_function_match_the_closed_form():
    """With 4096 base samples (24,576 evaluations): every index within 1.5 times its bootstrap 95%
    half-width (about 3 standard errors) of the closed form, and the dummy factor x4 (no effect)
    has intervals that contain 0."""
    factors = [Factor(f"x{i}", -math.pi, math.pi, False) for i in (1, 2, 3, 4)]
    x = design(factors, "sobol", 4096, seed=11)
    assert x.shape == (4096 * (4 + 2), 4)
    y = np.sin(x[:, 0]) + A * np.sin(x[:, 1]) ** 2 + B * x[:, 2] ** 4 * np.sin(x[:, 0])
    t = analyse(factors, "sobol", x, y, seed=11)
    s1, st = _ishigami_indices()
    for i in range(3):
        assert abs(t["S1"][i] - s1[i]) <= 1.5 * t["S1_conf"][i] + 1e-12, (i, t.iloc[i].to_dict())
        assert abs(t["ST"][i] - st[i]) <= 1.5 * t["ST_conf"][i] + 1e-12, (i, t.iloc[i].to_dict())
    dummy = t.iloc[3]
    assert abs(dummy["S1"]) <= dummy["S1_conf"] + 1e-12 and abs(dummy["ST"]) <= dummy["ST_conf"] + 1e-12


def test_morris_effects_of_linear_functions_are_their_slopes_times_the_range():
    """Morris effects are changes per the whole range (the factor rescaled to [0, 1]; ln scale for
    log factors): y = 3 u + ln w gives mu = mu* = 3 (high - low) and ln(high / low), sigma 0."""
    factors = [Factor("u", 0, 10, False), Factor("w", 0.1, 10, True), Factor("v", 5, 6, False)]
    x = design(factors, "morris", 20, seed=3)
    vals = np.column_stack([f.values(x[:, j]) for j, f in enumerate(factors)])
    y = 3 * vals[:, 0] + np.log(vals[:, 1]) + 0 * vals[:, 2]
    t = analyse(factors, "morris", x, y, seed=3).set_index("parameter")
    assert t.loc["u", "mu"] == pytest.approx(30.0, rel=1e-12)
    assert t.loc["w", "mu_star"] == pytest.approx(math.log(100.0), rel=1e-12)
    assert t.loc["v", "mu_star"] == 0.0
    assert t["sigma"].max() < 1e-9


SCENARIO = """
[patient]
cancer = "breast_er_positive"
primary_diameter_mm = 20
[model]
secondary_seeding = false   # expected colonies exactly proportional to the shedding rate
[engine]
horizon_days = 30
[output]
n_times = 5
figure = false
"""


def test_the_deterministic_engine_analysis(tmp_path):
    """Morris on the breast ER+ preset: NK clearance share has no effect at normal immunity
    (immunocompetence 1 scales nothing: mu* exactly 0); the expected colonies at diagnosis are
    proportional to the shedding rate (secondary seeding off), so colonies / shedding factor is one
    number across rows of the same diameter; a larger primary means more colonies (mu > 0)."""
    out = tmp_path / "sa"
    res = run_sensitivity(
        SCENARIO,
        "shedding=0.5:2,host.nk_clearance_fraction=0:1,patient.primary_diameter_mm=15:25",
        "n_metastases_at_diagnosis,p_m1_at_diagnosis",
        n=2,
        seed=4,
        out=out,
    )
    t = res.indices.set_index(["output", "parameter"])
    assert t.loc[("n_metastases_at_diagnosis", "host.nk_clearance_fraction"), "mu_star"] == 0.0
    assert t.loc[("p_m1_at_diagnosis", "host.nk_clearance_fraction"), "mu_star"] == 0.0
    assert t.loc[("n_metastases_at_diagnosis", "shedding"), "mu"] > 0
    assert t.loc[("n_metastases_at_diagnosis", "patient.primary_diameter_mm"), "mu"] > 0
    s = res.samples
    ratio = s["n_metastases_at_diagnosis"] / s["shedding"]
    for _, g in ratio.groupby(s["patient.primary_diameter_mm"].round(9)):
        assert g.max() == pytest.approx(g.min(), rel=1e-6)
    assert len(s) == 2 * (3 + 1)
    # population outputs alone skip the organ-resolved solve: the same numbers, bit for bit
    only = run_sensitivity(
        SCENARIO,
        "shedding=0.5:2,host.nk_clearance_fraction=0:1,patient.primary_diameter_mm=15:25",
        "p_m1_at_diagnosis",
        n=2,
        seed=4,
    )
    assert only.samples["p_m1_at_diagnosis"].equals(s["p_m1_at_diagnosis"])
    # the files: pandas reads them; summary.json holds the same indices
    assert pd.read_parquet(out / "samples.parquet").equals(s)
    back = pd.read_csv(out / "indices.csv")
    assert back["mu_star"].to_numpy() == pytest.approx(res.indices["mu_star"].to_numpy(), rel=1e-12, abs=1e-300)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["runs"] == 8 and summary["factors"][0]["scale"] == "log"
    assert summary["indices"]["n_metastases_at_diagnosis"]["host.nk_clearance_fraction"]["mu_star"] == 0.0

    # resume: a lost chunk is recomputed, the kept ones are read back, the result is the same
    calls: list[int] = []
    real = sa._evaluate_rows

    def counting(args):
        calls.append(len(args[2]))
        return real(args)

    chunks = sorted((out / "parts").glob("chunk_*.npy"))
    assert len(chunks) == 1  # 8 rows in one chunk of 16
    chunks[0].unlink()
    sa._evaluate_rows, saved = counting, sa._evaluate_rows
    try:
        again = run_sensitivity(
            SCENARIO,
            "shedding=0.5:2,host.nk_clearance_fraction=0:1,patient.primary_diameter_mm=15:25",
            "n_metastases_at_diagnosis,p_m1_at_diagnosis",
            n=2,
            seed=4,
            out=out,
        )
        assert calls == [8]
        calls.clear()
        third = run_sensitivity(
            SCENARIO,
            "shedding=0.5:2,host.nk_clearance_fraction=0:1,patient.primary_diameter_mm=15:25",
            "n_metastases_at_diagnosis,p_m1_at_diagnosis",
            n=2,
            seed=4,
            out=out,
        )
        assert calls == []  # everything read back
    finally:
        sa._evaluate_rows = saved
    pd.testing.assert_frame_equal(again.indices, res.indices)
    pd.testing.assert_frame_equal(third.samples, res.samples)
    # another analysis into the same folder is refused before anything runs
    with pytest.raises(ParameterError, match=r"--out: .* another scenario, factors"):
        run_sensitivity(SCENARIO, "shedding=0.5:3", "n_metastases_at_diagnosis", n=2, out=out)


def test_growth_rate_factor_runs_the_clock_faster():
    """growth_rate f multiplies the Gompertz rate a: the primary's age at diagnosis is divided by f."""
    import tomli_w

    from metacascade.scenario import parse_scenario

    base = parse_scenario(SCENARIO)
    doc = sa._scenario_row(__import__("tomllib").loads(SCENARIO), parse_factors("growth_rate=0.5:2"), [2.0])
    fast = parse_scenario(tomli_w.dumps(doc))
    assert fast.patient.age_of_primary_days == pytest.approx(base.patient.age_of_primary_days / 2, rel=1e-12)


@pytest.mark.parametrize(
    ("vary", "output", "kw", "error", "match"),
    [
        (
            "shedin=0.5:2",
            "p_m1_at_diagnosis",
            {},
            ParameterError,
            r"unknown parameter 'shedin' \(did you mean 'shedding'\?\)",
        ),
        (
            "patient.primary_diamter_mm=10:20",
            "p_m1_at_diagnosis",
            {},
            ParameterError,
            r"did you mean 'primary_diameter_mm'",
        ),
        ("patient.cancer=1:2", "p_m1_at_diagnosis", {}, ParameterError, r"'patient.cancer' is not a number"),
        ("model.soil=1:2", "p_m1_at_diagnosis", {}, ParameterError, r"model.soil is a table"),
        ("shedding=2:1", "p_m1_at_diagnosis", {}, ParameterError, r"--vary shedding: low = 2 must be below high = 1"),
        ("shedding=0:1", "p_m1_at_diagnosis", {}, ParameterError, r"low = 0 on a log scale"),
        ("shedding=nan:1", "p_m1_at_diagnosis", {}, ParameterError, r"allowed: finite numbers"),
        ("shedding=a:b", "p_m1_at_diagnosis", {}, ParameterError, r"is not two numbers"),
        ("shedding", "p_m1_at_diagnosis", {}, ParameterError, r"allowed: NAME=LOW:HIGH"),
        (
            "patient.primary_diameter_mm=10:2000",
            "p_m1_at_diagnosis",
            {},
            ScenarioError,
            r"refused at the range's highs",
        ),
        (
            "host.dormancy_probability=-1:0.5",
            "p_m1_at_diagnosis",
            {},
            ScenarioError,
            r"range's lows.*dormancy_probability",
        ),
        (
            "shedding=0.5:2",
            "p_m1_at_diagnoses",
            {},
            ParameterError,
            r"unknown output 'p_m1_at_diagnoses' \(did you mean",
        ),
        ("shedding=0.5:2", "cancer", {}, ParameterError, r"'cancer' is not a number"),
        ("shedding=0.5:2", "p_m1_at_diagnosis", {"method": "fast"}, ParameterError, r"--method: 'fast'"),
        ("shedding=0.5:2", "p_m1_at_diagnosis", {"method": "sobol", "n": 100}, ParameterError, r"power of 2"),
    ],
)
def test_bad_input_is_refused_with_one_line(vary, output, kw, error, match):
    with pytest.raises(error, match=match) as info:
        run_sensitivity(SCENARIO, vary, output, **{"n": 2, **kw})
    assert "\n" not in str(info.value)


def test_stochastic_scenarios_and_foreign_folders_are_refused(tmp_path):
    with pytest.raises(ParameterError, match=r"engine.kind: 'stochastic'; allowed: 'deterministic'"):
        run_sensitivity(
            SCENARIO.replace("[engine]", '[engine]\nkind = "stochastic"'), "shedding=0.5:2", "p_m1_at_diagnosis"
        )
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(
        ParameterError, match=r"--out: .* holds files that are not a sensitivity analysis's \(mine.txt\)"
    ):
        run_sensitivity(SCENARIO, "shedding=0.5:2", "p_m1_at_diagnosis", n=2, out=tmp_path)
    assert (tmp_path / "mine.txt").read_text() == "keep me"


def test_cli(tmp_path):
    from metacascade.cli import app

    path = tmp_path / "s.toml"
    path.write_text(SCENARIO)
    r = CliRunner().invoke(
        app,
        [
            "sensitivity",
            str(path),
            "--vary",
            "shedding=0.5:2",
            "--output",
            "p_m1_at_diagnosis",
            "--n",
            "2",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "shedding" in r.output and (tmp_path / "o" / "indices.csv").exists()
    r = CliRunner().invoke(app, ["sensitivity", str(path), "--vary", "bogus=1:2", "--out", str(tmp_path / "o2")])
    assert r.exit_code == 2 and "unknown parameter 'bogus'" in r.output
