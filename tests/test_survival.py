"""Survival wrappers (metacascade.workflows.survival) against lifelines, hand computations and
the published analysis of the Freireich (1963) 6-MP remission trial.

The trial data ship with lifelines as ``load_leukemia`` (the Anderson/Freireich remission data
of Kleinbaum & Klein, Survival Analysis: A Self-Learning Text, 3rd ed. 2012): 21 patients on
6-mercaptopurine (``Rx == 0``, 9 relapses) and 21 on placebo (``Rx == 1``, 21 relapses), times
in weeks (used here as "days": the estimators do not care about the unit).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.datasets import load_leukemia
from lifelines.statistics import logrank_test
from scipy.optimize import minimize_scalar

from metacascade.errors import ParameterError
from metacascade.workflows.survival import (
    DAYS_PER_YEAR,
    endpoint_columns,
    hazard_ratio,
    kaplan_meier,
    logrank,
    median_survival,
    rmst,
    rmst_difference,
    survival_at,
    survival_summary,
)


def _freireich() -> pd.DataFrame:
    d = load_leukemia()
    return pd.DataFrame(
        {
            "arm": np.where(d["Rx"] == 0, "6-MP", "placebo"),
            "patient": np.arange(len(d), dtype=np.int64),
            "os_days": d["t"].astype(float),
            "os_event": d["status"].astype(bool),
        }
    )


def _matched_cohort(n: int = 60, seed: int = 3, follow_up: float = 10 * DAYS_PER_YEAR) -> pd.DataFrame:
    """Two matched arms (common random numbers): treatment stretches each patient's times."""
    rng = np.random.default_rng(seed)
    death = rng.exponential(2500.0, n)
    met = rng.exponential(1500.0, n)
    rows = []
    for arm, stretch in (("control", 1.0), ("adjuvant", 1.7)):
        os_days = np.minimum(death * stretch, follow_up)
        os_event = death * stretch <= follow_up
        dm_event = met * stretch < os_days
        dm_days = np.where(dm_event, met * stretch, os_days)
        rows.append(
            pd.DataFrame(
                {
                    "arm": arm,
                    "patient": np.arange(n, dtype=np.int64),
                    "os_days": os_days,
                    "os_event": os_event,
                    "dm_days": dm_days,
                    "dm_event": dm_event,
                    "mfs_days": dm_days,
                    "mfs_event": dm_event | os_event,
                    "met_days__lung": np.where(dm_event, dm_days, np.nan),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def _km_by_hand(durations: np.ndarray, events: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Product-limit estimator written out: S just after each distinct observed time."""
    times = np.unique(durations)
    surv, s = [], 1.0
    for t in times:
        n_at_risk = np.sum(durations >= t)
        d = np.sum((durations == t) & events)
        s *= 1.0 - d / n_at_risk
        surv.append(s)
    return times, np.array(surv)


def _logrank_by_hand(t1, e1, t2, e2) -> tuple[float, float, float]:
    """(O1 - E1, Var(O1 - E1), chi-square) from the hypergeometric terms at each event time."""
    t_all, e_all = np.concatenate([t1, t2]), np.concatenate([e1, e2])
    o_minus_e = var = 0.0
    for t in np.unique(t_all[e_all]):
        n1, n = np.sum(t1 >= t), np.sum(t_all >= t)
        d1, d = np.sum((t1 == t) & e1), np.sum((t_all == t) & e_all)
        o_minus_e += d1 - d * n1 / n
        if n > 1:
            var += d * (n1 / n) * (1 - n1 / n) * (n - d) / (n - 1)
    return o_minus_e, var, o_minus_e**2 / var


# --------------------------------------------------------------------------- Kaplan-Meier


def test_kaplan_meier_equals_lifelines_and_hand_product_limit():
    """Our long table is lifelines' fit, and both equal the product limit written out."""
    patients = _freireich()
    km = kaplan_meier(patients, "os")
    assert list(km.columns) == ["arm", "time_days", "survival", "ci_lower", "ci_upper", "at_risk", "events", "censored"]
    for arm in ("6-MP", "placebo"):
        sub = patients[patients["arm"] == arm]
        curve = km[km["arm"] == arm]
        kmf = KaplanMeierFitter().fit(sub["os_days"], sub["os_event"])
        ci = kmf.confidence_interval_survival_function_.loc[curve["time_days"]]
        np.testing.assert_array_equal(curve["survival"], kmf.survival_function_.loc[curve["time_days"]].iloc[:, 0])
        np.testing.assert_array_equal(curve["ci_lower"], ci.iloc[:, 0])
        np.testing.assert_array_equal(curve["ci_upper"], ci.iloc[:, 1])
        times, surv = _km_by_hand(sub["os_days"].to_numpy(), sub["os_event"].to_numpy())
        after_zero = curve[curve["time_days"] > 0]
        np.testing.assert_array_equal(after_zero["time_days"], times)
        # 1e-12: products of the same few ratios, different order of floating-point operations
        np.testing.assert_allclose(after_zero["survival"], surv, rtol=0, atol=1e-12)
        assert curve["events"].sum() == sub["os_event"].sum()
        assert curve["events"].sum() + curve["censored"].sum() == len(sub)
        assert curve["at_risk"].iloc[0] == len(sub)


def test_kaplan_meier_freireich_published_values():
    """Kleinbaum & Klein (2012), ch. 2, KM table of the 6-MP group: S(t) at its relapse times.

    Published to 4 decimals (0.8571, 0.8067, 0.7529, 0.6902, 0.6275, 0.5378, 0.4482); the
    tolerance 5e-5 is that rounding.
    """
    km = kaplan_meier(_freireich(), "os").query("arm == '6-MP'").set_index("time_days")
    published = {6: 0.8571, 7: 0.8067, 10: 0.7529, 13: 0.6902, 16: 0.6275, 22: 0.5378, 23: 0.4482}
    for t, s in published.items():
        assert km.loc[float(t), "survival"] == pytest.approx(s, abs=5e-5)


def test_median_is_first_time_km_at_or_below_half():
    """Median = first time S <= 1/2: 23 weeks (6-MP) and 8 weeks (placebo), as published
    (Kleinbaum & Klein 2012, ch. 2)."""
    patients = _freireich()
    km = kaplan_meier(patients, "os")
    med = median_survival(patients, "os").set_index("arm")
    for arm, published in (("6-MP", 23.0), ("placebo", 8.0)):
        curve = km[km["arm"] == arm]
        first = curve.loc[curve["survival"] <= 0.5, "time_days"].iloc[0]
        assert med.loc[arm, "median_days"] == first == published
        assert med.loc[arm, "ci_lower"] <= first <= med.loc[arm, "ci_upper"]
    # the 6-MP upper band never crosses 1/2 during follow-up: upper limit not reached
    assert med.loc["6-MP", "ci_upper"] == math.inf
    # a curve that never reaches 1/2 has an infinite median
    censored = patients.assign(os_event=False)
    assert median_survival(censored, "os")["median_days"].tolist() == [math.inf, math.inf]


def test_survival_at_steps_and_undefined_tail():
    patients = _freireich()
    at = survival_at(patients, "os", [0.0, 6.0, 6.5, 40.0]).set_index(["arm", "day"])
    assert at.loc[("6-MP", 0.0), "survival"] == 1.0
    assert at.loc[("6-MP", 6.0), "survival"] == pytest.approx(18 / 21)  # right-continuous
    assert at.loc[("6-MP", 6.5), "survival"] == pytest.approx(18 / 21)
    assert at.loc[("6-MP", 6.5), "at_risk"] == 17
    # 6-MP's last time (35) is censored with S > 0: undefined beyond; placebo reached 0
    assert math.isnan(at.loc[("6-MP", 40.0), "survival"])
    assert at.loc[("placebo", 40.0), "survival"] == 0.0


# --------------------------------------------------------------------------- log-rank


def test_logrank_freireich_published_and_by_hand():
    """Kleinbaum & Klein (2012), ch. 2, remission data (Freireich et al. 1963, Blood 21:699):
    6-MP observed 9 vs expected 19.25 (O1 - E1 = -10.25), Var(O1 - E1) = 6.2570, log-rank
    chi-square = 16.79 (16.793 to three decimals).

    Hand computation: at each distinct relapse time, E1 = d n1/n and the hypergeometric variance
    d (n1/n)(1 - n1/n)(n - d)/(n - 1), summed. Tolerances are the published rounding.
    """
    patients = _freireich()
    a, b = patients[patients["arm"] == "6-MP"], patients[patients["arm"] == "placebo"]
    o_minus_e, var, chi2 = _logrank_by_hand(
        a["os_days"].to_numpy(), a["os_event"].to_numpy(), b["os_days"].to_numpy(), b["os_event"].to_numpy()
    )
    assert o_minus_e == pytest.approx(-10.25, abs=5e-3)
    assert var == pytest.approx(6.2570, abs=5e-5)
    assert chi2 == pytest.approx(16.793, abs=5e-4)
    result = logrank(patients, "os", "6-MP", "placebo")
    # 1e-10: the same sums in a different order
    assert result["test_statistic"] == pytest.approx(chi2, rel=1e-10)
    lifelines_result = logrank_test(a["os_days"], b["os_days"], a["os_event"], b["os_event"])
    assert result["test_statistic"] == lifelines_result.test_statistic
    assert result["p_value"] == lifelines_result.p_value
    assert result["p_value"] == pytest.approx(4.17e-5, rel=1e-2)  # chi2(1) tail at 16.79
    assert (result["n_a"], result["events_a"], result["n_b"], result["events_b"]) == (21, 9, 21, 21)
    assert "not independent" in result["note"]


# --------------------------------------------------------------------------- Cox


def _efron_log_partial_likelihood(beta: float, t: np.ndarray, e: np.ndarray, x: np.ndarray) -> float:
    """Efron (1977) log partial likelihood of one covariate, written out."""
    total = 0.0
    for time in np.unique(t[e]):
        dead = (t == time) & e
        risk = t >= time
        d = dead.sum()
        total += beta * x[dead].sum()
        r, h = np.exp(beta * x[risk]).sum(), np.exp(beta * x[dead]).sum()
        total -= sum(math.log(r - (k / d) * h) for k in range(d))
    return total


def test_hazard_ratio_freireich_matches_efron_partial_likelihood():
    """Placebo vs 6-MP: log HR maximises the Efron partial likelihood written in this test;
    R's ``coxph(Surv(time, cens) ~ treat, data = MASS::gehan)`` reports coef 1.572 (HR 4.817).
    """
    patients = _freireich()
    hr = hazard_ratio(patients, "os", "placebo", "6-MP")
    x = (patients["arm"] == "placebo").to_numpy(float)
    best = minimize_scalar(
        lambda b: -_efron_log_partial_likelihood(b, patients["os_days"].to_numpy(), patients["os_event"].to_numpy(), x),
        bounds=(0.0, 4.0),
        method="bounded",
        options={"xatol": 1e-9},
    )
    # 1e-6: xatol of the bounded scalar search vs lifelines' Newton tolerance
    assert hr["log_hr"] == pytest.approx(best.x, abs=1e-6)
    assert hr["hr"] == pytest.approx(4.817, abs=5e-4)  # published rounding
    assert hr["ci_lower"] < hr["hr"] < hr["ci_upper"]
    assert hr["p_value"] < 1e-3 and hr["n"] == 42 and hr["n_events"] == 30 and hr["note"] is None
    # the clustered robust variance is lifelines' own fit with cluster_col
    frame = pd.DataFrame(
        {"duration": patients["os_days"], "event": patients["os_event"], "treated": x, "patient": patients["patient"]}
    )
    cph = CoxPHFitter().fit(frame, "duration", "event", cluster_col="patient")
    assert hr["se_log_hr"] == pytest.approx(cph.summary.loc["treated", "se(coef)"], rel=1e-12)
    # reversing the arms inverts the ratio
    rev = hazard_ratio(patients, "os", "6-MP", "placebo")
    assert rev["hr"] == pytest.approx(1 / hr["hr"], rel=1e-6)


def test_matched_arms_clustered_variance_smaller_than_naive():
    """Common random numbers correlate the arms; the patient-clustered sandwich variance uses
    that and is smaller than the model-based (independent samples) variance."""
    patients = _matched_cohort()
    hr = hazard_ratio(patients, "os", "adjuvant", "control")
    frame = pd.DataFrame(
        {
            "duration": patients["os_days"],
            "event": patients["os_event"],
            "treated": (patients["arm"] == "adjuvant").astype(float),
        }
    )
    naive = CoxPHFitter().fit(frame, "duration", "event").summary.loc["treated", "se(coef)"]
    assert hr["hr"] < 1.0 and hr["se_log_hr"] < 0.5 * naive


def test_arm_against_itself():
    """A copy of an arm (same patient ids): HR 1 inside its interval, log-rank p 1, RMST
    difference 0."""
    patients = _matched_cohort()
    control = patients[patients["arm"] == "control"]
    doubled = pd.concat([control, control.assign(arm="copy")], ignore_index=True)
    hr = hazard_ratio(doubled, "os", "copy", "control")
    assert hr["hr"] == pytest.approx(1.0, abs=1e-9)
    assert hr["ci_lower"] <= 1.0 <= hr["ci_upper"]
    assert hr["p_value"] == pytest.approx(1.0)
    lr = logrank(doubled, "os", "copy", "control")
    assert lr["test_statistic"] == pytest.approx(0.0, abs=1e-12) and lr["p_value"] == 1.0
    diff = rmst_difference(doubled, "os", 5 * DAYS_PER_YEAR, "copy", "control")
    assert diff["difference_days"] == 0.0 and diff["p_value"] == 1.0


def test_hazard_ratio_when_an_arm_has_no_events():
    patients = _matched_cohort()
    no_deaths = patients.copy()
    no_deaths.loc[no_deaths["arm"] == "adjuvant", "os_event"] = False
    hr = hazard_ratio(no_deaths, "os", "adjuvant", "control")
    assert hr["hr"] == 0.0 and math.isnan(hr["ci_lower"]) and math.isnan(hr["p_value"])
    assert "no events in arm 'adjuvant'" in hr["note"]
    assert hazard_ratio(no_deaths, "os", "control", "adjuvant")["hr"] == math.inf
    nobody = patients.assign(os_event=False)
    none = hazard_ratio(nobody, "os", "adjuvant", "control")
    assert math.isnan(none["hr"]) and "either arm" in none["note"]
    assert logrank(nobody, "os", "adjuvant", "control")["p_value"] == 1.0


# --------------------------------------------------------------------------- RMST


def _km_integral(durations: np.ndarray, events: np.ndarray, tau: float) -> float:
    """Area under the hand product-limit step function from 0 to tau."""
    times, surv = _km_by_hand(durations, events)
    knots = np.concatenate([[0.0], times[times < tau], [tau]])
    levels = np.concatenate([[1.0], surv[times < tau]])
    return float(np.sum(np.diff(knots) * levels))


@pytest.mark.parametrize("tau", [3.0, 6.0, 10.5, 23.0, 35.0])
def test_rmst_is_integral_of_km(tau):
    patients = _freireich()
    table = rmst(patients, "os", tau).set_index("arm")
    for arm in ("6-MP", "placebo"):
        sub = patients[patients["arm"] == arm]
        expected = _km_integral(sub["os_days"].to_numpy(), sub["os_event"].to_numpy(), tau)
        # 1e-12: a sum of at most 20 products
        assert table.loc[arm, "rmst_days"] == pytest.approx(expected, rel=1e-12)
        assert not table.loc[arm, "extrapolated"]


def test_rmst_standard_error_hand_worked():
    """Times 2, 3+, 5, 7, 8+ (+ censored), tau = 6 (Klein & Moeschberger 2003, eq. 4.5.2).

    S = 1 on [0,2), 0.8 on [2,5), 0.8*2/3 = 0.53333 on [5,6]: RMST = 2 + 3(0.8) + 0.53333 =
    4.93333. A(2) = 2.4 + 0.53333 = 2.93333, A(5) = 0.53333;
    Var = 2.93333^2 * 1/(5*4) + 0.53333^2 * 1/(3*2) = 0.430222 + 0.047407 = 0.477630.
    """
    patients = pd.DataFrame(
        {
            "arm": "a",
            "patient": np.arange(5),
            "os_days": [2.0, 3.0, 5.0, 7.0, 8.0],
            "os_event": [True, False, True, True, False],
        }
    )
    row = rmst(patients, "os", 6.0).iloc[0]
    assert row["rmst_days"] == pytest.approx(2 + 2.4 + 1.6 / 3, rel=1e-12)
    var = (2.4 + 1.6 / 3) ** 2 / 20 + (1.6 / 3) ** 2 / 6
    assert row["se_days"] == pytest.approx(math.sqrt(var), rel=1e-12)
    assert math.sqrt(var) == pytest.approx(0.691107, abs=1e-6)


def test_rmst_difference_and_extrapolation_flag():
    patients = _freireich()
    tau = 30.0
    table = rmst(patients, "os", tau).set_index("arm")
    diff = rmst_difference(patients, "os", tau, "6-MP", "placebo")
    assert diff["difference_days"] == pytest.approx(table.loc["6-MP", "rmst_days"] - table.loc["placebo", "rmst_days"])
    assert diff["se_days"] == pytest.approx(math.hypot(*table["se_days"]))
    assert diff["ci_lower"] < diff["difference_days"] < diff["ci_upper"]
    # beyond 6-MP's last (censored) time the curve is carried forward: flagged
    assert bool(rmst(patients, "os", 50.0).set_index("arm").loc["6-MP", "extrapolated"])


# --------------------------------------------------------------------------- summary


def test_survival_summary_is_plain_json():
    patients = _matched_cohort()
    follow_up = 10 * DAYS_PER_YEAR
    summary = survival_summary(patients, ["control", "adjuvant"], follow_up)
    text = json.dumps(summary, allow_nan=False)  # no NaN/inf, no numpy types
    assert json.loads(text) == summary
    assert set(summary["endpoints"]) == {"os", "mfs", "dm"}
    os_ = summary["endpoints"]["os"]
    assert set(os_["arms"]["control"]["survival"]) == {"1y", "3y", "5y", "10y"}
    assert list(os_["comparisons"]) == ["adjuvant"]
    comp = os_["comparisons"]["adjuvant"]
    assert comp["reference"] == "control"
    assert comp["hazard_ratio"]["hr"] < 1 and comp["logrank"]["p_value"] < 0.05
    assert os_["arms"]["control"]["n"] == 60
    assert isinstance(os_["arms"]["control"]["events"], int)
    km5 = survival_at(patients, "os", [5 * DAYS_PER_YEAR], arms=["adjuvant"])["survival"].iloc[0]
    assert os_["arms"]["adjuvant"]["survival"]["5y"]["survival"] == km5
    # shorter follow-up: only the landmarks within it; other control; unreached median -> None
    short = survival_summary(
        patients.assign(os_event=False), ["control", "adjuvant"], 1000.0, control="adjuvant", endpoints=["os"]
    )
    arm = short["endpoints"]["os"]["arms"]["control"]
    assert list(arm["survival"]) == ["1y"]
    assert arm["median_days"] is None and arm["median_reached"] is False
    hr = short["endpoints"]["os"]["comparisons"]["control"]["hazard_ratio"]
    assert hr["hr"] is None and hr["note"]
    json.dumps(short, allow_nan=False)


def test_survival_summary_with_arm_without_events():
    patients = _matched_cohort()
    patients.loc[patients["arm"] == "adjuvant", ["os_event", "dm_event", "mfs_event"]] = False
    summary = survival_summary(patients, ["control", "adjuvant"], 10 * DAYS_PER_YEAR)
    json.dumps(summary, allow_nan=False)
    assert summary["endpoints"]["os"]["comparisons"]["adjuvant"]["hazard_ratio"]["hr"] == 0.0


# --------------------------------------------------------------------------- errors


def test_errors_name_the_argument():
    patients = _freireich()
    with pytest.raises(ParameterError, match=r"endpoint='pfs'.*\['dm', 'mfs', 'os'\]"):
        endpoint_columns("pfs")
    with pytest.raises(ParameterError, match=r"'surgery'.*arms present: \['6-MP', 'placebo'\]"):
        logrank(patients, "os", "surgery", "placebo")
    with pytest.raises(ParameterError, match="reference='x'"):
        hazard_ratio(patients, "os", "placebo", "x")
    with pytest.raises(ParameterError, match="same arm"):
        hazard_ratio(patients, "os", "placebo", "placebo")
    with pytest.raises(ParameterError, match="empty table"):
        kaplan_meier(patients.iloc[:0])
    with pytest.raises(ParameterError, match=r"'os_days'.*negative"):
        kaplan_meier(patients.assign(os_days=patients["os_days"] - 10))
    nan_days = patients.copy()
    nan_days.loc[3, "os_days"] = np.nan
    with pytest.raises(ParameterError, match=r"'os_days'.*row 3"):
        median_survival(nan_days, "os")
    nan_event = patients.astype({"os_event": object})
    nan_event.loc[2, "os_event"] = None
    with pytest.raises(ParameterError, match=r"'os_event'.*missing"):
        rmst(nan_event, "os", 10.0)
    with pytest.raises(ParameterError, match=r"lacks column\(s\) \['mfs_days', 'mfs_event'\]"):
        kaplan_meier(patients, "mfs")
    with pytest.raises(ParameterError, match=r"alpha=1.5"):
        kaplan_meier(patients, alpha=1.5)
    with pytest.raises(ParameterError, match="tau_days=-1"):
        rmst(patients, "os", -1.0)
    with pytest.raises(ParameterError, match="days="):
        survival_at(patients, "os", [-5.0])
    with pytest.raises(ParameterError, match="control='nope'"):
        survival_summary(patients, ["6-MP", "placebo"], 100.0, control="nope")
    with pytest.raises(ParameterError, match=r"arm\(s\) \['nope'\]"):
        survival_summary(patients, ["6-MP", "nope"], 100.0)


def test_large_tables_use_the_model_based_cox_variance(monkeypatch):
    """Above CLUSTER_MAX_ROWS the interval is lifelines' model-based one (the clustered sandwich
    estimator is slow); the hazard ratio itself is the same."""
    from lifelines import CoxPHFitter

    import metacascade.workflows.survival as sv

    rng = np.random.default_rng(3)
    n = 200
    base = rng.exponential(100.0, n)
    df = pd.DataFrame(
        {
            "arm": ["a"] * n + ["b"] * n,
            "patient": np.r_[np.arange(n), np.arange(n)],
            "os_days": np.r_[base, base * 1.5],
            "os_event": np.r_[base < 150, base * 1.5 < 150],
        }
    )
    df["os_days"] = np.minimum(df["os_days"], 150.0)
    clustered = sv.hazard_ratio(df, "os", "b", "a")
    monkeypatch.setattr(sv, "CLUSTER_MAX_ROWS", 100)
    plain = sv.hazard_ratio(df, "os", "b", "a")
    assert clustered["variance"].startswith("robust") and plain["variance"].startswith("model-based")
    assert plain["hr"] == pytest.approx(clustered["hr"], rel=1e-9)
    frame = pd.DataFrame({"duration": df["os_days"], "event": df["os_event"], "treated": (df["arm"] == "b") * 1.0})
    ref = CoxPHFitter().fit(frame, "duration", "event").summary.loc["treated"]
    assert plain["se_log_hr"] == pytest.approx(float(ref["se(coef)"]), rel=1e-9)
    assert plain["se_log_hr"] > clustered["se_log_hr"]  # matched arms: the model-based interval is conservative


def _crossing_cohort(n: int = 400, seed: int = 5, follow_up: float = 3650.0) -> pd.DataFrame:
    """Two matched arms whose survival curves cross: the treated arm dies less early and more
    late (Weibull shape 3 against exponential, the same median): HR near 1, non-proportional."""
    rng = np.random.default_rng(seed)
    u = rng.uniform(size=n)
    control = -np.log(u) * 1200.0 / np.log(2.0)
    treated = 1200.0 * (-np.log(u) / np.log(2.0)) ** (1.0 / 3.0)
    rows = []
    for arm, days in (("control", control), ("treated", treated)):
        ev = days <= follow_up
        d = np.minimum(days, follow_up)
        rows.append(
            pd.DataFrame(
                {
                    "arm": arm,
                    "patient": np.arange(n, dtype=np.int64),
                    "os_days": d,
                    "os_event": ev,
                    "dm_days": d,
                    "dm_event": ev,
                    "mfs_days": d,
                    "mfs_event": ev,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def test_crossing_curves_fail_the_proportional_hazards_test_and_the_rmst_leads():
    """Issue 16, item 8: HR 0.953 with log-rank p 0.64 on curves that cross, with nothing said."""
    from metacascade.reports.results import hr_text
    from metacascade.web.app import _cohort_table
    from metacascade.workflows.cohort_figures import km_figure

    crossing = hazard_ratio(_crossing_cohort(), "os", "treated", "control")
    assert crossing["proportional"] is False and crossing["ph_p_value"] < 1e-4
    ph = hazard_ratio(_matched_cohort(), "os", "adjuvant", "control")  # times stretched: PH holds
    assert ph["proportional"] is True and ph["ph_p_value"] > 0.05
    # the report's HR cell says so, in both languages; a PH result is unchanged
    assert "hazards not proportional (Schoenfeld p <0.0001)" in hr_text(crossing, "en")
    assert "rischi non proporzionali" in hr_text(crossing, "it")
    assert "proportional" not in hr_text(ph, "en")
    # the summary carries the test; the web table shows the RMST difference and the warning
    s = survival_summary(_crossing_cohort(), ["control", "treated"], 3650.0)
    comp = s["endpoints"]["os"]["comparisons"]["treated"]
    assert comp["hazard_ratio"]["proportional"] is False
    from metacascade.web.views import cohort_table

    table = _cohort_table(cohort_table(s), "en")
    cells = [str(td.children) for td in table.children[1].children[1].children]
    assert "hazards not proportional" in cells[-1]
    assert cells[-2].startswith(f"{comp['rmst_difference']['difference_days']:+.0f}")
    # the report's explanation leads with the RMST difference
    from types import SimpleNamespace

    from metacascade.reports.explain import _treatment

    paras = _treatment(SimpleNamespace(kind="cohort", summary=s), "en")
    assert "not in proportion" in paras[-1] and "restricted mean survival time difference" in paras[-1]
    assert paras[-1].index("restricted mean") < paras[-1].index("hazard ratio, ")
    # the KM legend leads with the RMST difference
    fig = km_figure(_crossing_cohort(), "os")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    treated = [lab for lab in labels if lab.startswith("treated")]
    assert treated and treated[0].split("\n")[1].startswith("RMST vs control"), labels
    assert "hazards not proportional" in treated[0]
