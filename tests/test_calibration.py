"""The calibration API against closed forms, and the GBSG2 relapse model against an explicit
colony-by-colony simulation of its process."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, optimize, special

from metacascade.calibration import (
    Parameter,
    Template,
    fit_bayes,
    fit_least_squares,
    fit_mle,
)
from metacascade.errors import ParameterError


def _exponential_data(seed: int = 1, n: int = 200, rate: float = 0.02):
    rng = np.random.default_rng(seed)
    t = rng.exponential(1 / rate, n)
    c = rng.uniform(20, 120, n)
    return np.minimum(t, c), t <= c


def _exponential_template(time, event):
    d, total = float(event.sum()), float(time.sum())
    return (
        Template(
            (Parameter("log_rate", -12.0, 2.0, -3.0),),
            lambda th: d * th[0] - math.exp(th[0]) * total,
            name="exponential",
        ),
        d,
        total,
    )


def test_mle_and_profile_interval_equal_the_closed_form():
    time, event = _exponential_data()
    template, d, total = _exponential_template(time, event)
    fit = fit_mle(template, n_obs=time.size, starts=2)
    assert fit.theta[0] == pytest.approx(math.log(d / total), abs=1e-6)  # rate = events / exposure
    se = math.sqrt(fit.covariance[0, 0])
    assert se == pytest.approx(1 / math.sqrt(d), rel=1e-3)  # observed information of ln(rate): d
    # likelihood-ratio interval: 2 [l(max) - l(x)] = chi2_1(0.95), roots found independently
    lmax = d * math.log(d / total) - d
    f = lambda x: 2 * (lmax - (d * x - math.exp(x) * total)) - 3.841458820694124
    lo = optimize.brentq(f, math.log(d / total) - 2, math.log(d / total))
    hi = optimize.brentq(f, math.log(d / total), math.log(d / total) + 2)
    assert fit.profile["log_rate"] == pytest.approx((lo, hi), abs=1e-4)


def test_profile_of_named_parameters_only():
    time, event = _exponential_data()
    template, _, _ = _exponential_template(time, event)
    two = Template(
        (*template.parameters, Parameter("unused", -1.0, 1.0, 0.0)),
        lambda th: template.loglik(th[:1]) - th[1] ** 2,
        name="two",
    )
    full = fit_mle(two, starts=1)
    some = fit_mle(two, starts=1, profile=["log_rate"])
    assert list(some.profile) == ["log_rate"] and some.profile["log_rate"] == full.profile["log_rate"]
    assert set(some.wald) == {"log_rate", "unused"}
    for bad in (["nope"], "log_rate", None):
        with pytest.raises(ParameterError, match="profile"):
            fit_mle(two, starts=1, profile=bad)


def test_likelihood_ratio_equals_the_closed_form_of_a_correlated_gaussian():
    """A log-likelihood -(theta - m)' S^-1 (theta - m) / 2 with correlated parameters: the profile
    likelihood-ratio statistic of theta_0 = v, the others re-maximised, is (v - m_0)^2 / S_00 (the
    others' conditional maximum follows v along the correlation); it agrees with the profile
    interval (v at either end gives chi-square(1)'s 0.95 quantile); bad arguments are refused."""
    m = np.array([0.3, -0.2, 0.5])
    S = np.array([[1.0, 0.6, -0.3], [0.6, 2.0, 0.4], [-0.3, 0.4, 0.5]])
    P = np.linalg.inv(S)
    template = Template(
        tuple(Parameter(f"p{i}", -10.0, 10.0, 0.0) for i in range(3)),
        lambda th: -0.5 * float((th - m) @ P @ (th - m)),
        name="gaussian",
    )
    fit = fit_mle(template, starts=1, profile=["p0"])
    for v in (-1.5, 0.0, 0.3, 2.0):
        assert fit.likelihood_ratio("p0", v) == pytest.approx((v - m[0]) ** 2 / S[0, 0], abs=1e-6)
    for end in fit.profile["p0"]:
        assert fit.likelihood_ratio("p0", end) == pytest.approx(3.841458820694124, abs=1e-3)
    for args, field in ((("nope", 0.0), "name"), (("p0", math.nan), "value"), (("p0", 11.0), "value")):
        with pytest.raises(ParameterError, match=f"^{field}: "):
            fit.likelihood_ratio(*args)


def test_posterior_equals_the_conjugate_gamma():
    """Uniform prior on ln(rate): the posterior of the rate is Gamma(d, total), so ln(rate) has
    mean digamma(d) - ln(total) and variance trigamma(d)."""
    time, event = _exponential_data(seed=2, n=60)
    template, d, total = _exponential_template(time, event)
    post = fit_bayes(template, start=np.array([math.log(d / total)]), walkers=16, steps=3000, burn=500, seed=3)
    mean, sd = special.digamma(d) - math.log(total), math.sqrt(special.polygamma(1, d))
    x = post.samples[:, 0]
    ess = post.ess["log_rate"]
    assert abs(x.mean() - mean) < 4 * sd / math.sqrt(ess)
    assert x.std() == pytest.approx(sd, rel=0.1)
    assert post.rhat["log_rate"] < 1.05


def test_posterior_of_a_correlated_gaussian_ridge():
    """A bivariate normal likelihood with correlation 0.99 (a ridge like log_kn/log_shape in
    GBSG2) under flat priors: the posterior is that normal, so the sample means, sds and the
    correlation must match it (means within 4 MC standard errors from the bulk ESS), and R-hat
    over the walkers stays below 1.05. Walkers start from the MLE's covariance."""
    rho, sd = 0.99, np.array([1.0, 3.0])
    cov = np.array([[sd[0] ** 2, rho * sd[0] * sd[1]], [rho * sd[0] * sd[1], sd[1] ** 2]])
    prec = np.linalg.inv(cov)
    template = Template(
        (Parameter("u", -30, 30, 0.5), Parameter("v", -60, 60, -1.0)),
        lambda th: -0.5 * float(th @ prec @ th),
        name="ridge",
    )
    mle = fit_mle(template, starts=1, profile=False)
    assert np.allclose(mle.covariance, cov, rtol=1e-3)  # inverse Hessian = the Gaussian's covariance
    post = fit_bayes(template, start=mle.theta, walkers=16, steps=4000, burn=1000, seed=5, covariance=mle.covariance)
    x = post.samples
    for i, name in enumerate(("u", "v")):
        assert abs(x[:, i].mean()) < 4 * sd[i] / math.sqrt(post.ess[name])
        assert x[:, i].std() == pytest.approx(sd[i], rel=0.1)
        assert post.rhat[name] < 1.05
    assert np.corrcoef(x.T)[0, 1] == pytest.approx(rho, abs=0.005)


def test_least_squares_equals_linear_regression():
    rng = np.random.default_rng(4)
    x = np.linspace(0, 1, 50)
    y = 2.0 + 3.0 * x + rng.normal(0, 0.1, x.size)
    fit = fit_least_squares(lambda th: th[0] + th[1] * x - y, [0.0, 0.0], ([-10, -10], [10, 10]), ["a", "b"])
    X = np.c_[np.ones_like(x), x]
    beta, rss, *_ = np.linalg.lstsq(X, y, rcond=None)
    assert fit.theta == pytest.approx(beta, abs=1e-7)
    cov = rss[0] / (x.size - 2) * np.linalg.inv(X.T @ X)
    assert fit.covariance == pytest.approx(cov, rel=1e-5)


def test_parameter_errors():
    with pytest.raises(ParameterError, match=r"low = 2.0 must be below high = 1.0"):
        Parameter("x", 2.0, 1.0, 1.5)
    with pytest.raises(ParameterError, match=r"start = 5.0 outside"):
        Parameter("x", 0.0, 1.0, 5.0)
    with pytest.raises(ParameterError, match="finite"):
        Parameter("x", 0.0, float("nan"), 0.5)


# -- the GBSG2 relapse model -----------------------------------------------------------------------------
THETA = np.array([0.1, -0.15, 0.45, -0.05, -2.0, -30.6, -1.0, -8.4])


def test_shedding_integral_closed_form_equals_quadrature():
    from metacascade.calibration.gbsg2 import _constants, _log_integral, _log_size

    c = _constants()
    for age in (50.0, 500.0, 2000.0, 6000.0):
        num, _ = integrate.quad(
            lambda v: math.exp(c["alpha"] * float(_log_size(v, c))), 0.0, age, limit=400, epsabs=0, epsrel=1e-11
        )
        assert math.exp(float(_log_integral(age, c))) == pytest.approx(num, rel=1e-7)


def test_quadrature_converges():
    import metacascade.calibration.gbsg2 as g

    data = g.load_gbsg2()
    base, _ = g.relapse_model(data)
    value = base.loglik(THETA)
    old = g._Q
    try:
        g._Q = 80
        fine, _ = g.relapse_model(data)
        assert value == pytest.approx(fine.loglik(THETA), abs=0.05)
    finally:
        g._Q = old


def test_model_survival_equals_a_colony_by_colony_simulation():
    """The closed-form relapse-free curve (mean over patients) vs Kaplan-Meier of 3000 patients
    simulated colony by colony at the same parameters (nodes drawn, selection by rejection)."""
    from lifelines import KaplanMeierFitter

    from metacascade.calibration.gbsg2 import RelapseModel, load_gbsg2, simulate

    base = load_gbsg2()
    rows = base.sample(3000, replace=True, random_state=5).reset_index(drop=True)
    sim = simulate(THETA, rows, seed=6, follow_up_days=(9 * 365.25, 9 * 365.25 + 1))
    km = KaplanMeierFitter().fit(sim["time"], sim["cens"])
    model = RelapseModel(sim)
    days = np.array([1, 3, 5]) * 365.25
    pred = model.survival(THETA, days).mean(axis=0)
    for d, p in zip(days, pred):
        assert float(km.predict(d)) == pytest.approx(p, abs=0.025)


REGULAR = (1, 2, 4, 7)  # grade_I, grade_III, log_ratio, log_h0: the parameters the recovery test asserts on


def _recover(k: int) -> tuple[list[bool], list[bool]]:
    """Simulate synthetic trial k at THETA, fit it, and say which intervals hold THETA: the 95%
    profile-likelihood intervals of the REGULAR parameters (the asserted ones), read as the
    likelihood-ratio statistic at THETA against the chi-square(1) quantile (one inner maximisation
    each instead of the ~20 of an interval's two root searches), and the Wald intervals of all."""
    from unittest import mock

    from scipy import stats

    import metacascade.calibration.gbsg2 as g

    # the recovery is asserted at one fixed model, volume shedding (alpha = 1), not at whatever
    # exponent the presets' calibration gives today (0.957 for ER+; see the docstring below)
    constants = {**g._constants(), "alpha": 1.0}
    with mock.patch.object(g, "_constants", lambda: constants):
        sim = g.simulate(THETA, g.load_gbsg2(), seed=100 + k)
        _, template = g.relapse_model(sim)
        fit = fit_mle(template, starts=2, seed=k, profile=False)
        crit = float(stats.chi2.ppf(0.95, 1))
        profile = [fit.likelihood_ratio(template.names[i], float(THETA[i])) <= crit for i in REGULAR]
    # no Wald intervals where the Hessian is singular (a parameter on its bound): counted as misses
    wald = [n in fit.wald and fit.wald[n][0] <= THETA[i] <= fit.wald[n][1] for i, n in enumerate(template.names)]
    return profile, wald


@pytest.mark.slow
def test_parameter_recovery_coverage():
    """6 synthetic trials of 686 patients (GBSG2 covariates) simulated colony by colony at THETA,
    each fitted by maximum likelihood, with 95% profile-likelihood intervals of the regularly
    identified parameters (grade effects, distant/nodal ratio, background hazard).

    Asserted: those parameters miss THETA in no more (dataset, parameter) pairs than nominal 95%
    intervals would at the 1% level: misses <= the 0.99 quantile of Binomial(24, 0.05) = 4, i.e.
    exact intervals fail this test with probability P(Binomial(24, 0.05) > 4) = 0.006, while
    intervals covering 80% (miss rate 0.2) fail it with probability 0.54. (A fixed ">= 90%
    covered" on 24 pairs, i.e. <= 2 misses, fails 12% of the time even for exact intervals.)
    Measured with this seed set (numpy 2.4, scipy 1.17): 2 misses of 24 (0.917), grade III in
    dataset 3 (statistic 4.91) and the background hazard in dataset 4 (4.74); 3 of 24 with older
    builds. The model is held at volume shedding (alpha = 1) whatever the preset's calibrated
    exponent: at the node-dissection refit's 0.957 (and THETA's nodal rate moved by
    (1 - alpha) ln 1e10 to keep the node counts) the same seeds gave 5 misses of 24 (0.792; one
    or two per parameter), one dataset's shedding shape on its bound.

    THETA's parameter lies in its profile interval exactly when the profile likelihood-ratio
    statistic at THETA is at most chi-square(1)'s 0.95 quantile (the interval is where the
    profile has not risen by half of it), so each pair costs one inner maximisation
    (``MLEFit.likelihood_ratio``), not the ~20 of the interval's two root searches: checked on
    these 6 datasets, the 24 statistics and the 24 intervals of ``fit_mle(profile=...)`` give the
    same hits (a dataset cost 40-100 s to fit, 16-41 s for its 4 statistics, 195-450 s for the fit
    and its 4 intervals). The other 4 parameters are printed from their Wald intervals, not asserted: growth
    speed, its spread, nodal seeding and the shedding shape lie on a curved ridge (their profile
    coverage was 0.708, 7 misses of 24, Wald 0.583): in dataset 3 the shape runs to its bound and
    the maximum found (log-likelihood -2250.600) and one started from THETA (-2250.596) differ by 3
    in ln(speed) and 2 in ln(ratio), so profiles' inner re-maximisation stays on its side of the
    ridge."""
    from concurrent.futures import ProcessPoolExecutor

    from scipy import stats

    with ProcessPoolExecutor(max_workers=2) as pool:  # one dataset per task, dealt as workers free up
        results = list(pool.map(_recover, range(6)))
    hits = np.array([r[0] for r in results])
    wald = np.array([r[1] for r in results])
    other = [i for i in range(len(THETA)) if i not in REGULAR]
    print(
        f"coverage: regular parameters, profile {hits.mean():.3f} (per parameter {hits.mean(axis=0).round(2)}); "
        f"other parameters, Wald {wald[:, other].mean():.3f} (per parameter {wald[:, other].mean(axis=0).round(2)})"
    )
    pairs = hits.size
    allowed = int(stats.binom.ppf(0.99, pairs, 0.05))
    misses = int((~hits).sum())
    assert pairs == 24 and allowed == 4 and misses <= allowed, (
        f"{misses} misses of {pairs} (coverage {1 - misses / pairs:.3f})"
    )


def test_gbsg2_validation_runs_and_reports():
    from metacascade.validation.gbsg2 import format_gbsg2, run_gbsg2

    report = run_gbsg2(bayes=False, profile=False, starts=2, n_boot=50)
    assert report["n_train"] + report["n_test"] == 686
    c = report["concordance"]
    assert 0.5 < c["model"][0] < 0.8 and 0.5 < c["cox"][0] < 0.8
    assert [row["years"] for row in report["calibration"]] == [1, 3, 5]
    text = format_gbsg2(report)
    assert "held-out concordance" in text and "hormone therapy" in text


def test_predict_a_patient():
    from metacascade.calibration.gbsg2 import predict_patient

    res = predict_patient(
        np.vstack([THETA, THETA + 0.02]),
        {"tsize": 30, "pnodes": 4, "tgrade": "III", "estrec": 5, "menostat": "Pre", "horTh": "no"},
        np.array([1, 5]) * 365.25,
        n_draws=500,
    )
    assert 0 < res["p_no_occult_colony"] < 1
    assert res["rfs_lower"][1] <= res["rfs_median"][1] <= res["rfs_upper"][1]
    assert res["rfs_median"][0] > res["rfs_median"][1]


def test_fit_and_predict_from_the_command_line(tmp_path):
    import json

    from lifelines.datasets import load_gbsg2 as raw
    from typer.testing import CliRunner

    from metacascade.cli import app

    path = tmp_path / "trial.csv"
    with path.open("w") as fh:
        fh.write("# source: lifelines.datasets.load_gbsg2 (GBSG2, Schumacher 1994)\n# units: time=days\n")
        raw().to_csv(fh, index=False)
    out = tmp_path / "fit"
    runner = CliRunner()
    res = runner.invoke(app, ["fit", str(path), "--model", "gbsg2", "--out", str(out), "--no-bayes", "--no-profile"])
    assert res.exit_code == 0, res.output
    record = json.loads((out / "fit.json").read_text())
    assert record["n"] == 686 and record["events"] == 299
    assert (out / "parameters.csv").exists() and (out / "observed_vs_predicted.png").stat().st_size > 1000
    assert [r["years"] for r in record["goodness_of_fit"]] == [1, 3, 5]
    res = runner.invoke(app, ["predict", "--tsize", "25", "--pnodes", "3", "--fit", str(out), "--json"])
    assert res.exit_code == 0, res.output
    pred = json.loads(res.output)
    assert 0 <= pred["p_no_occult_colony"] <= 1 and len(pred["rfs_median"]) == 6
    bad = runner.invoke(app, ["fit", str(path), "--model", "nope", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "allowed: gbsg2, iwata2000" in bad.output
    undeclared = tmp_path / "plain.csv"
    raw().to_csv(undeclared, index=False)
    bad = runner.invoke(app, ["fit", str(undeclared), "--out", str(tmp_path / "y"), "--no-bayes"])
    assert bad.exit_code == 2 and "unit" in bad.output
