"""``metacascade fit`` and ``metacascade predict``: calibrate a model to a data file, write the
fit report, and predict one patient."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metacascade.errors import CalibrationError, DataError
from metacascade.io import atomic_write, write_json

__all__ = ["MODELS", "fit_file", "load_fit"]

MODELS = ("gbsg2", "iwata2000")
YEAR = 365.25


def _figure_gbsg2(model: Any, theta: np.ndarray, data: pd.DataFrame, stem: Path) -> list[Path]:
    from lifelines import KaplanMeierFitter
    from matplotlib.figure import Figure

    from metacascade.workflows.cohort_figures import save_figure

    days = np.linspace(0.0, float(data["time"].max()), 80)
    pred = model.survival(theta, days).mean(axis=0)
    km = KaplanMeierFitter().fit(data["time"], data["cens"])
    fig = Figure(figsize=(6.5, 4.2))
    ax = fig.add_subplot()
    sf = km.survival_function_
    ci = km.confidence_interval_survival_function_
    ax.step(sf.index / YEAR, sf.iloc[:, 0], where="post", color="black", label="observed (Kaplan-Meier)")
    ax.fill_between(ci.index / YEAR, ci.iloc[:, 0], ci.iloc[:, 1], step="post", color="grey", alpha=0.25)
    ax.plot(days / YEAR, pred, color="tab:red", label="mechanistic model (mean over patients)")
    ax.set_xlabel("years since surgery")
    ax.set_ylabel("relapse-free")
    ax.set_ylim(0, 1.02)
    ax.legend(loc="lower left")
    ax.set_title("observed vs predicted relapse-free survival")
    return save_figure(fig, stem)


def fit_file(
    data_path: Path,
    model: str,
    out: Path,
    *,
    time_unit: str | None = None,
    bayes: bool = True,
    steps: int = 1200,
    walkers: int = 24,
    seed: int = 0,
    profile: bool = True,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Fit ``model`` to the data file; write fit.json, parameters.csv, figures and (Bayesian)
    posterior.parquet into ``out``; return the fit record."""
    from metacascade.calibration import fit_bayes, fit_mle

    if model not in MODELS:
        raise CalibrationError(f"--model: got {model!r}, allowed: {', '.join(MODELS)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    say = progress or (lambda s: None)
    if model == "iwata2000":
        from metacascade.validation.iwata2000 import (
            fit_iwata,
            load_cumulative_size_data,
        )

        fit = fit_iwata(load_cumulative_size_data(data_path))
        p = fit.parameters
        record = {
            "model": model,
            "data": str(data_path),
            "parameters": {"a": p.a, "b": p.b, "m": p.m, "alpha": p.alpha},
            "standard_errors_log": fit.standard_errors_log,
            "rss": fit.residual_sum_of_squares,
            "rmse_counts": fit.rmse_counts,
            "n_points": fit.n_points,
            "success": fit.success,
        }
        write_json(record, out / "fit.json")
        return record
    from metacascade.calibration.data import load_time_to_event
    from metacascade.calibration.gbsg2 import GBSG2_COLUMNS, relapse_model

    covs = [c for c in GBSG2_COLUMNS if c not in ("time", "cens")]
    tte = load_time_to_event(data_path, duration="time", event="cens", covariates=covs, time_unit=time_unit)
    table = tte.table.rename(columns={"duration_days": "time", "event": "cens"})
    table["cens"] = table["cens"].astype(int)
    m, template = relapse_model(table)
    mle = fit_mle(template, n_obs=len(table), starts=4, seed=seed, profile=profile, progress=say)
    record: dict[str, Any] = {
        "model": model,
        "data": str(data_path),
        "n": len(table),
        "events": int(table["cens"].sum()),
        "log_likelihood": mle.loglik,
        "aic": mle.aic,
        "theta": mle.theta.tolist(),
        "names": template.names,
        "parameters": mle.table(),
        "covariance": None if mle.covariance is None else mle.covariance.tolist(),
        "optimizer": {
            "success": mle.success,
            "message": mle.message,
            "evaluations": mle.evaluations,
            "starts": mle.n_starts,
        },
    }
    if bayes:
        post = fit_bayes(
            template,
            start=mle.theta,
            walkers=walkers,
            steps=steps,
            burn=steps // 3,
            seed=seed,
            covariance=mle.covariance,
            progress=lambda d, n: say(f"MCMC {d}/{n}") if d % max(1, n // 10) == 0 else None,
        )
        record["bayes"] = {
            "table": post.table(),
            "acceptance": post.acceptance,
            "walkers": walkers,
            "steps": steps,
            "burn": steps // 3,
            "converged": bool(all(v < 1.1 for v in post.rhat.values())),
        }
        samples = pd.DataFrame(post.samples, columns=template.names)
        atomic_write(out / "posterior.parquet", lambda p: samples.to_parquet(p, index=False))
    # goodness of fit: observed vs predicted relapse-free at 1, 3, 5 years
    from lifelines import KaplanMeierFitter

    km = KaplanMeierFitter().fit(table["time"], table["cens"])
    pred = m.survival(mle.theta, np.array([1, 3, 5]) * YEAR).mean(axis=0)
    record["goodness_of_fit"] = [
        {"years": y, "kaplan_meier": float(km.predict(y * YEAR)), "model": float(v)} for y, v in zip((1, 3, 5), pred)
    ]
    record["figures"] = [str(p.name) for p in _figure_gbsg2(m, mle.theta, table, out / "observed_vs_predicted")]
    pd.DataFrame(mle.table()).to_csv(out / "parameters.csv", index=False)
    write_json(json.loads(json.dumps(record, default=lambda o: None if o is None else list(o))), out / "fit.json")
    return record


def load_fit(path: Path) -> tuple[np.ndarray, str]:
    """Parameter draws from a fit folder (posterior samples if present, else draws from the MLE's
    normal approximation, else the point estimate) and a description."""
    path = Path(path)
    try:
        record = json.loads((path / "fit.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(
            f"--fit: {path / 'fit.json'} is missing or unreadable ({exc}); run `metacascade fit` first"
        ) from None
    if record.get("model") != "gbsg2":
        raise DataError(f"--fit: {path} holds a {record.get('model')!r} fit; predict needs a gbsg2 fit")
    theta = np.asarray(record["theta"], dtype=float)
    post = path / "posterior.parquet"
    if post.exists():
        s = pd.read_parquet(post).to_numpy(float)
        idx = np.random.default_rng(0).choice(s.shape[0], size=min(200, s.shape[0]), replace=False)
        return s[idx], f"{idx.size} posterior draws from {post}"
    if record.get("covariance") is not None:
        cov = np.asarray(record["covariance"], dtype=float)
        draws = np.random.default_rng(0).multivariate_normal(theta, cov, size=200)
        return draws, "200 draws from the MLE's normal approximation"
    return theta[None, :], "the MLE (no uncertainty available)"
