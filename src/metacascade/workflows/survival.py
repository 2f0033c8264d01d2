r"""Survival analysis of a virtual cohort: thin wrappers over lifelines, no model logic.

The input is the cohort's ``patients`` table, one row per virtual patient and treatment arm
(columns ``arm``, ``patient``, and per endpoint a duration in days and an event flag). An
endpoint is named: ``"os"`` (overall survival: ``os_days``, ``os_event``), ``"mfs"``
(metastasis-free survival) and ``"dm"`` (time to the first detectable distant metastasis).

Estimators
----------
Kaplan-Meier product-limit estimator with :math:`n_j` patients at risk and :math:`d_j` events
at the distinct event time :math:`t_j`,

.. math:: \hat S(t) = \prod_{t_j \le t} \left(1 - \frac{d_j}{n_j}\right),

with lifelines' default pointwise confidence interval (Greenwood variance on the
:math:`\log(-\log \hat S)` scale, "exponential Greenwood"). The median is the first time at
which :math:`\hat S \le 1/2` (infinite when the curve never gets there); its confidence interval
is where the interval's bounds cross 1/2 (Brookmeyer-Crowley style, as lifelines). The
restricted mean survival time :math:`\mathrm{RMST}(\tau) = \int_0^\tau \hat S(u)\,du` has the
standard error of Klein & Moeschberger (eq. 4.5.2),

.. math:: \widehat{\mathrm{Var}} = \sum_{t_j \le \tau} \frac{A_j^2\, d_j}{n_j (n_j - d_j)},
          \qquad A_j = \int_{t_j}^{\tau} \hat S(u)\,du .

Comparisons
-----------
The log-rank test and the Cox proportional-hazards ratio (Efron ties) compare two arms. The
arms of a virtual trial are *matched*: each patient id appears once in every arm with common
random numbers, so the two samples are positively correlated, not independent. The log-rank
test and the RMST difference assume independent samples; for matched arms their variance is
too large, so their p-values and confidence intervals are conservative (approximate). The Cox
fit uses the robust sandwich variance clustered on ``patient`` (Lin & Wei 1989), which is valid
for the matched design.

References
----------
.. [1] Kaplan EL, Meier P (1958). Nonparametric estimation from incomplete observations.
   J Am Stat Assoc 53:457-481.
.. [2] Mantel N (1966). Evaluation of survival data and two new rank order statistics arising
   in its consideration. Cancer Chemother Rep 50:163-170.
.. [3] Lin DY, Wei LJ (1989). The robust inference for the Cox proportional hazards model.
   J Am Stat Assoc 84:1074-1078.
.. [4] Klein JP, Moeschberger ML (2003). Survival Analysis, 2nd ed., Springer, section 4.5.
.. [5] Royston P, Parmar MKB (2013). Restricted mean survival time: an alternative to the
   hazard ratio. BMC Med Res Methodol 13:152.
.. [6] Davidson-Pilon C (2019). lifelines: survival analysis in Python. J Open Source Softw
   4:1317.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.exceptions import ConvergenceError, ConvergenceWarning
from lifelines.statistics import logrank_test, proportional_hazard_test
from lifelines.utils import median_survival_times, restricted_mean_survival_time
from scipy.stats import norm

from metacascade.errors import ParameterError

__all__ = [
    "DAYS_PER_YEAR",
    "ENDPOINTS",
    "endpoint_columns",
    "hazard_ratio",
    "kaplan_meier",
    "logrank",
    "median_survival",
    "proportional_hazards",
    "rmst",
    "rmst_difference",
    "survival_at",
    "survival_summary",
]

#: Endpoint name -> (duration column in days, event column).
ENDPOINTS: dict[str, tuple[str, str]] = {
    "os": ("os_days", "os_event"),
    "mfs": ("mfs_days", "mfs_event"),
    "dm": ("dm_days", "dm_event"),
}
DAYS_PER_YEAR = 365.25
_MATCHED_NOTE = (
    "arms share patients (common random numbers): the samples are not independent, "
    "so this test's p-value is conservative (approximate)"
)
_RMST_NOTE = (
    "standard error assumes independent arms; arms that share patients (common random "
    "numbers) are positively correlated, so the interval and p-value are conservative"
)


# --------------------------------------------------------------------------- validation


def endpoint_columns(endpoint: str) -> tuple[str, str]:
    """The (duration in days, event flag) column names of an endpoint.

    Parameters
    ----------
    endpoint : str
        One of ``"os"``, ``"mfs"``, ``"dm"``.

    Returns
    -------
    tuple of str
        E.g. ``("os_days", "os_event")``.
    """
    if not isinstance(endpoint, str) or endpoint not in ENDPOINTS:
        raise ParameterError(f"endpoint={endpoint!r} is unknown; allowed: {sorted(ENDPOINTS)}")
    return ENDPOINTS[endpoint]


def _check_alpha(alpha: float) -> float:
    if not isinstance(alpha, (int, float)) or not 0.0 < float(alpha) < 1.0:
        raise ParameterError(
            f"alpha={alpha!r} must be a number strictly between 0 and 1 (0.05 gives 95% confidence intervals)"
        )
    return float(alpha)


def _present_arms(patients: pd.DataFrame) -> list[str]:
    return [str(a) for a in pd.unique(patients["arm"])]


def _endpoint_data(
    patients: pd.DataFrame, endpoint: str, arms: Sequence[str] | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """Validate ``patients`` for ``endpoint``; return (arm, patient, duration, event) and arms.

    The arms are those requested, in that order, or all present in order of appearance.
    """
    duration_col, event_col = endpoint_columns(endpoint)
    if not isinstance(patients, pd.DataFrame):
        raise ParameterError(f"patients must be a pandas DataFrame, got {type(patients).__name__}")
    if len(patients) == 0:
        raise ParameterError("patients is an empty table (0 rows); simulate at least one patient")
    missing = [c for c in ("arm", duration_col, event_col) if c not in patients.columns]
    if missing:
        raise ParameterError(
            f"patients lacks column(s) {missing} needed for endpoint {endpoint!r}; "
            f"columns present: {list(patients.columns)}"
        )
    present = _present_arms(patients)
    if arms is None:
        arms = present
    else:
        if isinstance(arms, str):
            arms = [arms]
        arms = [str(a) for a in arms]
        unknown = [a for a in arms if a not in present]
        if unknown:
            raise ParameterError(f"arm(s) {unknown} not in patients; arms present: {present}")
        if len(arms) == 0:
            raise ParameterError(f"arms=[] is empty; choose from the arms present: {present}")
    durations = pd.to_numeric(patients[duration_col], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(durations) | (durations < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ParameterError(
            f"column {duration_col!r} has {int(bad.sum())} negative, NaN or infinite "
            f"value(s) (first: row {i}, value {patients[duration_col].iloc[i]!r}); "
            "durations must be finite days >= 0"
        )
    events_raw = patients[event_col]
    if events_raw.isna().any():
        i = int(np.flatnonzero(events_raw.isna().to_numpy())[0])
        raise ParameterError(
            f"column {event_col!r} has missing value(s) (first: row {i}); "
            "events must be True (event) or False (censored)"
        )
    events = events_raw.to_numpy()
    if events.dtype != bool:
        values = set(pd.unique(events_raw).tolist())
        if not values <= {0, 1}:  # True == 1, False == 0
            raise ParameterError(
                f"column {event_col!r} has values {sorted(map(repr, values))}; events must be True/False (or 1/0)"
            )
        events = events.astype(bool)
    data = pd.DataFrame(
        {
            "arm": patients["arm"].astype(str).to_numpy(),
            "patient": patients["patient"].to_numpy() if "patient" in patients.columns else np.arange(len(patients)),
            "duration": durations,
            "event": events,
        }
    )
    data = data[data["arm"].isin(arms)].reset_index(drop=True)
    return data, list(arms)


def _check_arm(arm: str, present: list[str], name: str) -> str:
    if str(arm) not in present:
        raise ParameterError(f"{name}={arm!r} is not an arm of patients; arms present: {present}")
    return str(arm)


def _fit_km(data: pd.DataFrame, arm: str, alpha: float) -> KaplanMeierFitter:
    sub = data[data["arm"] == arm]
    return KaplanMeierFitter(alpha=alpha, label=arm).fit(sub["duration"].to_numpy(), sub["event"].to_numpy(), label=arm)


def _ci_columns(kmf: KaplanMeierFitter) -> tuple[str, str]:
    lower, upper = kmf.confidence_interval_survival_function_.columns
    return lower, upper


# --------------------------------------------------------------------------- estimators


def kaplan_meier(
    patients: pd.DataFrame, endpoint: str = "os", alpha: float = 0.05, arms: Sequence[str] | None = None
) -> pd.DataFrame:
    """Kaplan-Meier curves of each arm as one long table.

    Parameters
    ----------
    patients : DataFrame
        The cohort's patient table (columns ``arm`` and the endpoint's duration and event).
    endpoint : str
        ``"os"``, ``"mfs"`` or ``"dm"``.
    alpha : float
        1 - confidence level of the pointwise interval (exponential Greenwood, lifelines'
        default).
    arms : sequence of str, optional
        Arms to include, in this order (default: all, in order of appearance).

    Returns
    -------
    DataFrame
        Columns arm, time_days, survival, ci_lower, ci_upper, at_risk, events, censored; one
        row per arm at time 0 and at every distinct observed time. ``survival`` is the value
        just after ``time_days``; ``at_risk`` is counted just before it.
    """
    alpha = _check_alpha(alpha)
    data, arms = _endpoint_data(patients, endpoint, arms)
    frames = []
    for arm in arms:
        kmf = _fit_km(data, arm, alpha)
        table = kmf.event_table
        lower, upper = _ci_columns(kmf)
        ci = kmf.confidence_interval_survival_function_.loc[table.index]
        frames.append(
            pd.DataFrame(
                {
                    "arm": arm,
                    "time_days": table.index.to_numpy(dtype=float),
                    "survival": kmf.survival_function_.loc[table.index].iloc[:, 0].to_numpy(dtype=float),
                    "ci_lower": ci[lower].to_numpy(dtype=float),
                    "ci_upper": ci[upper].to_numpy(dtype=float),
                    "at_risk": table["at_risk"].to_numpy(dtype=np.int64),
                    "events": table["observed"].to_numpy(dtype=np.int64),
                    "censored": table["censored"].to_numpy(dtype=np.int64),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def median_survival(
    patients: pd.DataFrame, endpoint: str = "os", alpha: float = 0.05, arms: Sequence[str] | None = None
) -> pd.DataFrame:
    """Median survival of each arm with its confidence interval.

    The median is the first time at which the Kaplan-Meier estimate is <= 0.5 (``inf`` when it
    never is during follow-up); the interval is where the curve's pointwise confidence bounds
    cross 0.5 (``lifelines.utils.median_survival_times`` of the confidence interval; ``inf``
    upper bound when the upper band never crosses).

    Returns
    -------
    DataFrame
        Columns arm, n, events, median_days, ci_lower, ci_upper.
    """
    alpha = _check_alpha(alpha)
    data, arms = _endpoint_data(patients, endpoint, arms)
    rows = []
    for arm in arms:
        kmf = _fit_km(data, arm, alpha)
        lower, upper = _ci_columns(kmf)
        ci = median_survival_times(kmf.confidence_interval_survival_function_)
        sub = data[data["arm"] == arm]
        rows.append(
            {
                "arm": arm,
                "n": len(sub),
                "events": int(sub["event"].sum()),
                "median_days": float(kmf.median_survival_time_),
                "ci_lower": float(ci[lower].iloc[0]),
                "ci_upper": float(ci[upper].iloc[0]),
            }
        )
    return pd.DataFrame(rows)


def _step_lookup(index: np.ndarray, values: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Value of a right-continuous step function (knots ``index``) at ``days``."""
    pos = np.searchsorted(index, days, side="right") - 1
    return values[np.clip(pos, 0, None)]


def survival_at(
    patients: pd.DataFrame,
    endpoint: str = "os",
    days: Sequence[float] = (365.25,),
    alpha: float = 0.05,
    arms: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Kaplan-Meier estimate and pointwise confidence interval of each arm at given days.

    Beyond the arm's last observed time the estimator is undefined unless the curve has
    reached 0; there survival and bounds are NaN.

    Parameters
    ----------
    days : sequence of float
        Times since diagnosis in days (finite, >= 0).

    Returns
    -------
    DataFrame
        Columns arm, day, survival, ci_lower, ci_upper, at_risk (patients still followed just
        before ``day``).
    """
    alpha = _check_alpha(alpha)
    days_arr = np.atleast_1d(np.asarray(days, dtype=float))
    if days_arr.size == 0 or not np.all(np.isfinite(days_arr)) or np.any(days_arr < 0):
        raise ParameterError(
            f"days={list(np.atleast_1d(days))!r} must be a non-empty list of finite times >= 0 (days since diagnosis)"
        )
    data, arms = _endpoint_data(patients, endpoint, arms)
    frames = []
    for arm in arms:
        kmf = _fit_km(data, arm, alpha)
        lower, upper = _ci_columns(kmf)
        index = kmf.survival_function_.index.to_numpy(dtype=float)
        surv = _step_lookup(index, kmf.survival_function_.iloc[:, 0].to_numpy(dtype=float), days_arr)
        ci = kmf.confidence_interval_survival_function_
        lo = _step_lookup(index, ci[lower].to_numpy(dtype=float), days_arr)
        hi = _step_lookup(index, ci[upper].to_numpy(dtype=float), days_arr)
        durations = data.loc[data["arm"] == arm, "duration"].to_numpy()
        undefined = (days_arr > durations.max()) & (surv > 0)
        surv, lo, hi = (np.where(undefined, np.nan, v) for v in (surv, lo, hi))
        at_risk = (durations[None, :] >= days_arr[:, None]).sum(axis=1)
        frames.append(
            pd.DataFrame(
                {"arm": arm, "day": days_arr, "survival": surv, "ci_lower": lo, "ci_upper": hi, "at_risk": at_risk}
            )
        )
    return pd.concat(frames, ignore_index=True)


def _rmst_se(kmf: KaplanMeierFitter, tau: float) -> float:
    """Klein & Moeschberger (2003) eq. 4.5.2 standard error of the KM RMST up to ``tau``."""
    table = kmf.event_table
    times = table.index.to_numpy(dtype=float)
    n = table["at_risk"].to_numpy(dtype=float)
    d = table["observed"].to_numpy(dtype=float)
    surv = kmf.survival_function_.loc[table.index].iloc[:, 0].to_numpy(dtype=float)
    keep = times <= tau
    times, n, d, surv = times[keep], n[keep], d[keep], surv[keep]
    # area under S from each knot to tau: S is surv[k] on [times[k], times[k+1])
    widths = np.diff(np.append(times, tau))
    area_after = np.cumsum((surv * widths)[::-1])[::-1]  # A_j = integral from t_j to tau
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where((d > 0) & (n > d), d / (n * (n - d)), 0.0)
    return float(math.sqrt(np.sum(area_after**2 * w)))


def rmst(
    patients: pd.DataFrame, endpoint: str = "os", tau_days: float = 5 * DAYS_PER_YEAR, arms: Sequence[str] | None = None
) -> pd.DataFrame:
    r"""Restricted mean survival time of each arm up to ``tau_days``.

    :math:`\mathrm{RMST}(\tau) = \int_0^\tau \hat S(u)\,du` of the Kaplan-Meier curve
    (``lifelines.utils.restricted_mean_survival_time``); its standard error is the Klein &
    Moeschberger (2003, eq. 4.5.2) formula given in the module docstring. (lifelines'
    ``return_variance`` is the variance of :math:`\min(T, \tau)` across patients, not of the
    estimate, and is therefore not used.) Beyond the last observed time the curve is carried
    forward, as lifelines does, and ``extrapolated`` is True.

    Returns
    -------
    DataFrame
        Columns arm, tau_days, rmst_days, se_days, extrapolated (``tau_days`` lies beyond the
        arm's last observed time while its curve is above 0).
    """
    tau = _check_tau(tau_days)
    data, arms = _endpoint_data(patients, endpoint, arms)
    rows = []
    for arm in arms:
        kmf = _fit_km(data, arm, 0.05)
        mean = float(restricted_mean_survival_time(kmf, t=tau))
        last = float(data.loc[data["arm"] == arm, "duration"].max())
        extrapolated = tau > last and float(kmf.survival_function_.iloc[-1, 0]) > 0
        rows.append(
            {
                "arm": arm,
                "tau_days": tau,
                "rmst_days": mean,
                "se_days": _rmst_se(kmf, tau),
                "extrapolated": extrapolated,
            }
        )
    return pd.DataFrame(rows)


def _check_tau(tau_days: float) -> float:
    if not isinstance(tau_days, (int, float)) or not math.isfinite(tau_days) or tau_days <= 0:
        raise ParameterError(
            f"tau_days={tau_days!r} must be a finite time > 0 in days "
            "(the RMST restriction horizon, usually the follow-up)"
        )
    return float(tau_days)


def rmst_difference(
    patients: pd.DataFrame, endpoint: str, tau_days: float, arm: str, reference: str, alpha: float = 0.05
) -> dict[str, Any]:
    """Difference of RMST (``arm`` minus ``reference``) with a normal confidence interval.

    The standard error is :math:`\\sqrt{se_a^2 + se_r^2}`, which assumes independent arms;
    for matched arms (common random numbers, positively correlated) it is too large, so the
    interval and p-value are conservative.

    Returns
    -------
    dict
        arm, reference, tau_days, difference_days, se_days, ci_lower, ci_upper, p_value, note.
    """
    alpha = _check_alpha(alpha)
    tau = _check_tau(tau_days)
    present = _present_arms(_endpoint_data(patients, endpoint)[0])
    arm, reference = _check_arm(arm, present, "arm"), _check_arm(reference, present, "reference")
    table = rmst(patients, endpoint, tau, arms=[arm, reference]).set_index("arm")
    diff = float(table.loc[arm, "rmst_days"] - table.loc[reference, "rmst_days"])
    se = float(math.hypot(table.loc[arm, "se_days"], table.loc[reference, "se_days"]))
    z = norm.ppf(1 - alpha / 2)
    if se > 0:  # noqa: SIM108 - three cases read better as a block
        p = float(2 * norm.sf(abs(diff) / se))
    else:
        p = 1.0 if diff == 0 else 0.0
    return {
        "arm": arm,
        "reference": reference,
        "tau_days": tau,
        "difference_days": diff,
        "se_days": se,
        "ci_lower": float(diff - z * se),
        "ci_upper": float(diff + z * se),
        "p_value": p,
        "note": _RMST_NOTE,
    }


# --------------------------------------------------------------------------- comparisons


def logrank(patients: pd.DataFrame, endpoint: str, arm_a: str, arm_b: str, alpha: float = 0.05) -> dict[str, Any]:
    r"""Log-rank test of two arms (``lifelines.statistics.logrank_test``).

    The statistic is :math:`(O_a - E_a)^2 / V_a` with, at each distinct event time,
    :math:`E_a = d\,n_a/n` and the hypergeometric variance
    :math:`V_a = d\,(n_a/n)(1 - n_a/n)(n - d)/(n - 1)`, summed over times; chi-square with one
    degree of freedom under the null.

    With matched arms (the same patients with common random numbers in both) the two samples
    are positively correlated rather than independent, as the test assumes: the p-value is then
    conservative (approximate). An arm compared with an identical copy gives statistic 0, p 1.

    Returns
    -------
    dict
        arm_a, arm_b, test_statistic, p_value, degrees_of_freedom, n_a, n_b, events_a,
        events_b, note.
    """
    alpha = _check_alpha(alpha)
    data, present = _endpoint_data(patients, endpoint)
    arm_a, arm_b = _check_arm(arm_a, present, "arm_a"), _check_arm(arm_b, present, "arm_b")
    a, b = data[data["arm"] == arm_a], data[data["arm"] == arm_b]
    n_events = int(a["event"].sum() + b["event"].sum())
    out = {
        "arm_a": arm_a,
        "arm_b": arm_b,
        "n_a": len(a),
        "n_b": len(b),
        "events_a": int(a["event"].sum()),
        "events_b": int(b["event"].sum()),
        "degrees_of_freedom": 1,
        "note": _MATCHED_NOTE,
    }
    if n_events == 0:
        out.update(
            test_statistic=0.0, p_value=1.0, note="no events in either arm: nothing to compare (statistic 0, p 1)"
        )
        return out
    result = logrank_test(
        a["duration"].to_numpy(), b["duration"].to_numpy(), a["event"].to_numpy(), b["event"].to_numpy(), alpha=alpha
    )
    stat = float(result.test_statistic)
    out.update(test_statistic=stat, p_value=float(result.p_value) if stat > 0 else 1.0)
    return out


#: Above this many rows the Cox interval uses the model-based variance unless ``cluster=True``:
#: lifelines' clustered sandwich estimator loops over event times in Python (6.5 s for three
#: endpoints at 40,000 rows on the 2-core development machine, and it grows with rows x events).
CLUSTER_MAX_ROWS = 40_000


def hazard_ratio(
    patients: pd.DataFrame, endpoint: str, arm: str, reference: str, alpha: float = 0.05, cluster: bool | None = None
) -> dict[str, Any]:
    r"""Cox hazard ratio of ``arm`` relative to ``reference`` with a clustered robust interval.

    Fits :math:`h(t) = h_0(t)\,e^{\beta x}` with :math:`x = 1` for ``arm`` and 0 for
    ``reference`` (``lifelines.CoxPHFitter``, Efron ties) and the robust sandwich variance
    clustered on ``patient`` (``cluster_col="patient"``), since matched arms share patients.
    HR = :math:`e^{\hat\beta}`; Wald interval and p-value. ``cluster``: None (default) clusters up
    to :data:`CLUSTER_MAX_ROWS` rows and uses the model-based variance above (conservative for
    matched arms, which are positively correlated; the result's ``variance`` says which).

    When one arm has no events the partial likelihood has no finite maximum: the HR is then 0
    (no events in ``arm``) or inf (none in ``reference``), NaN when neither has any, with NaN
    interval and p-value and an explanatory ``note``; no fit is attempted. Convergence
    problems reported by lifelines are also put in ``note`` (NaN result on failure).

    Returns
    -------
    dict
        arm, reference, hr, ci_lower, ci_upper, p_value, log_hr, se_log_hr, n (rows), n_events,
        alpha, note (None when the fit is clean), and the test of proportional hazards
        (:func:`proportional_hazards`): ph_test_statistic, ph_p_value, proportional (False:
        the hazards are not proportional and the HR alone misleads; lead with the RMST difference).
    """
    alpha = _check_alpha(alpha)
    data, present = _endpoint_data(patients, endpoint)
    if "patient" not in patients.columns:
        raise ParameterError(
            "patients lacks the column 'patient' needed to cluster the Cox "
            f"variance on patients; columns present: {list(patients.columns)}"
        )
    arm, reference = _check_arm(arm, present, "arm"), _check_arm(reference, present, "reference")
    if arm == reference:
        raise ParameterError(
            f"arm={arm!r} and reference={reference!r} are the same arm; "
            "compare two different arms (copy the arm under a new name to "
            "compare it with itself)"
        )
    sub = data[data["arm"].isin([arm, reference])].copy()
    sub["treated"] = (sub["arm"] == arm).astype(float)
    events_arm = int(sub.loc[sub["treated"] == 1, "event"].sum())
    events_ref = int(sub.loc[sub["treated"] == 0, "event"].sum())
    out: dict[str, Any] = {
        "arm": arm,
        "reference": reference,
        "hr": math.nan,
        "ci_lower": math.nan,
        "ci_upper": math.nan,
        "p_value": math.nan,
        "log_hr": math.nan,
        "se_log_hr": math.nan,
        "n": len(sub),
        "n_events": events_arm + events_ref,
        "alpha": alpha,
        "note": None,
        "ph_test_statistic": math.nan,
        "ph_p_value": math.nan,
        "proportional": None,
    }
    if events_arm == 0 or events_ref == 0:
        if events_arm == events_ref == 0:
            out["note"] = "no events in either arm: the hazard ratio is undefined"
        else:
            empty = arm if events_arm == 0 else reference
            out["hr"] = 0.0 if events_arm == 0 else math.inf
            out["log_hr"] = -math.inf if events_arm == 0 else math.inf
            out["note"] = (
                f"no events in arm {empty!r}: the Cox partial likelihood has no finite "
                "maximum, so the hazard ratio is "
                + ("0" if events_arm == 0 else "inf")
                + " with no confidence interval; see the log-rank test"
            )
        return out
    clustered = len(sub) <= CLUSTER_MAX_ROWS if cluster is None else bool(cluster)
    out["variance"] = "robust, clustered on patient" if clustered else "model-based (conservative for matched arms)"
    frame = sub[["duration", "event", "treated", "patient"]] if clustered else sub[["duration", "event", "treated"]]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            cph = CoxPHFitter(alpha=alpha).fit(
                frame, duration_col="duration", event_col="event", cluster_col="patient" if clustered else None
            )
        except (ConvergenceError, np.linalg.LinAlgError, ValueError) as exc:
            out["note"] = f"the Cox fit failed ({type(exc).__name__}: {str(exc).splitlines()[0]})"
            return out
    notes = [
        str(w.message).splitlines()[0] for w in caught if issubclass(w.category, (ConvergenceWarning, RuntimeWarning))
    ]
    row = cph.summary.loc["treated"]
    pct = round(100 * (1 - alpha))
    coef, se = float(row["coef"]), float(row["se(coef)"])
    out.update(
        hr=float(row["exp(coef)"]),
        log_hr=coef,
        se_log_hr=se,
        ci_lower=float(row[f"exp(coef) lower {pct}%"]),
        ci_upper=float(row[f"exp(coef) upper {pct}%"]),
        p_value=float(row["p"]) if se > 0 or coef != 0 else 1.0,
    )
    if notes:
        out["note"] = "lifelines: " + "; ".join(dict.fromkeys(notes))
    out.update(proportional_hazards(cph, frame, alpha))
    return out


def proportional_hazards(cph: CoxPHFitter, frame: pd.DataFrame, alpha: float = 0.05) -> dict[str, Any]:
    r"""Test of proportional hazards for the fitted arm coefficient: the scaled Schoenfeld
    residuals against the rank of the event times (Grambsch & Therneau 1994;
    ``lifelines.statistics.proportional_hazard_test``, ``time_transform="rank"``).

    Returns ``ph_test_statistic`` (chi-squared, 1 df), ``ph_p_value`` and ``proportional``:
    False when the test rejects at ``alpha`` (the hazard ratio changes over time, e.g. crossing
    curves: one hazard ratio then does not summarise the comparison; see the RMST difference),
    True when it does not, None when it cannot be computed.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            test = proportional_hazard_test(cph, frame, time_transform="rank")
        row = test.summary.loc["treated"]
        stat, p = float(row["test_statistic"]), float(row["p"])
    except (ValueError, KeyError, np.linalg.LinAlgError, ZeroDivisionError):
        return {"ph_test_statistic": math.nan, "ph_p_value": math.nan, "proportional": None}
    if not math.isfinite(p):
        return {"ph_test_statistic": stat, "ph_p_value": math.nan, "proportional": None}
    return {"ph_test_statistic": stat, "ph_p_value": p, "proportional": bool(p >= alpha)}


# --------------------------------------------------------------------------- summary


def _json_value(value: Any) -> Any:
    """Plain Python value for JSON: numpy scalars unwrapped, NaN and inf as None."""
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def survival_summary(
    patients: pd.DataFrame,
    arms: Sequence[str],
    follow_up_days: float,
    control: str | None = None,
    alpha: float = 0.05,
    endpoints: Sequence[str] | None = None,
) -> dict[str, Any]:
    """JSON-serialisable survival summary of a virtual trial (for ``summary.json``).

    For each endpoint (default: those of ``os``, ``mfs``, ``dm`` whose columns are present):
    per arm n, events, median with interval, Kaplan-Meier survival at 1, 3, 5 and 10 years
    (365.25 d) not beyond ``follow_up_days``, and RMST (with standard error) at
    ``follow_up_days``; for each arm other than ``control``, the log-rank test, the Cox hazard
    ratio (clustered on patient) and the RMST difference against ``control``.

    Only plain Python types; NaN and infinite values are written as None (an unreached median
    has ``median_days`` None and ``median_reached`` False).

    Parameters
    ----------
    arms : sequence of str
        Arms to summarise, in report order.
    follow_up_days : float
        Follow-up of the trial in days (> 0).
    control : str, optional
        Reference arm of the comparisons (default: the first of ``arms``).
    """
    alpha = _check_alpha(alpha)
    tau = _check_tau(follow_up_days)
    if isinstance(arms, str):
        arms = [arms]
    arms = [str(a) for a in arms]
    if not arms:
        raise ParameterError("arms=[] is empty; give at least one arm to summarise")
    if not isinstance(patients, pd.DataFrame):
        raise ParameterError(f"patients must be a pandas DataFrame, got {type(patients).__name__}")
    if endpoints is None:
        cols = patients.columns
        endpoints = [e for e, (d, ev) in ENDPOINTS.items() if d in cols and ev in cols]
        if not endpoints:
            raise ParameterError(
                f"patients has no endpoint columns; expected one of {[list(c) for c in ENDPOINTS.values()]}"
            )
    endpoints = list(endpoints)
    for endpoint in endpoints:
        endpoint_columns(endpoint)
    _endpoint_data(patients, endpoints[0], arms)  # validates table and arms
    control = arms[0] if control is None else str(control)
    if control not in arms:
        raise ParameterError(f"control={control!r} is not one of arms={arms}")
    years = [y for y in (1, 3, 5, 10) if y * DAYS_PER_YEAR <= tau + 1e-9]
    out: dict[str, Any] = {"follow_up_days": tau, "alpha": alpha, "arms": arms, "control": control, "endpoints": {}}
    for endpoint in endpoints:
        duration_col, event_col = endpoint_columns(endpoint)
        medians = median_survival(patients, endpoint, alpha, arms).set_index("arm")
        rm = rmst(patients, endpoint, tau, arms).set_index("arm")
        at = survival_at(patients, endpoint, [y * DAYS_PER_YEAR for y in years], alpha, arms) if years else None
        per_arm = {}
        for arm in arms:
            m = medians.loc[arm]
            entry = {
                "n": int(m["n"]),
                "events": int(m["events"]),
                "median_days": m["median_days"],
                "median_reached": bool(np.isfinite(m["median_days"])),
                "median_ci_days": [m["ci_lower"], m["ci_upper"]],
                "survival": {},
                "rmst_days": rm.loc[arm, "rmst_days"],
                "rmst_se_days": rm.loc[arm, "se_days"],
                "rmst_extrapolated": bool(rm.loc[arm, "extrapolated"]),
            }
            if at is not None:
                rows = at[at["arm"] == arm]
                for y, (_, r) in zip(years, rows.iterrows()):
                    entry["survival"][f"{y}y"] = {
                        "day": r["day"],
                        "survival": r["survival"],
                        "ci": [r["ci_lower"], r["ci_upper"]],
                        "at_risk": r["at_risk"],
                    }
            per_arm[arm] = entry
        comparisons = {}
        for arm in arms:
            if arm == control:
                continue
            comparisons[arm] = {
                "reference": control,
                "logrank": logrank(patients, endpoint, arm, control, alpha),
                "hazard_ratio": hazard_ratio(patients, endpoint, arm, control, alpha),
                "rmst_difference": rmst_difference(patients, endpoint, tau, arm, control, alpha),
            }
        out["endpoints"][endpoint] = {
            "duration_column": duration_col,
            "event_column": event_col,
            "arms": per_arm,
            "comparisons": comparisons,
        }
    return _json_value(out)
