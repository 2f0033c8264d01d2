r"""A mechanistic relapse model of node-positive breast cancer, fitted to the GBSG2 trial.

The process is the engine's (docs/design.md sections 1.1-1.5) reduced to what a trial table can inform:

- The primary grows from one cell by the ``breast_er_positive`` preset's Gompertz law ``G``
  (sizes from diameters with its 1e6 cells/mm^3). A patient's tumours run on a clock of speed
  ``g = exp(theta_g + beta_grade + sigma z) H`` relative to the preset (z ~ N(0, 1) a random
  effect; H the estradiol dose-response of ER+ tumours, data/hormones.toml: premenopausal
  estradiol 2.18 times the postmenopausal reference rate). So the primary's reference age at
  surgery is ``A = G^-1(N)`` whatever g, and it took ``A / g`` days.
- It sheds cells that found colonies at rate ``u k x^alpha`` per day (alpha the preset's calibrated exponent),
  to the regional nodes (``k_n``) and to distant organs (``k_d``); u ~ Gamma(shape a, mean 1) is
  the patient's shedding random effect. The expected numbers founded by surgery are
  ``(k / g) I(A)`` with ``I(A) = int_0^A G(v)^alpha dv`` in closed form (exponential integral).
- Positive nodes n ~ Poisson(u E_n): the trial's node count informs u (Gamma-Poisson: the
  posterior of u is Gamma(a + n, a + E_n + B_0)). Trial patients are node-positive (n >= 1) and
  free of detectable distant disease at surgery (M0: no colony older than ``tau_D = G^-1(D)``,
  D = the preset's 5 mm); the likelihood conditions on both.
- After surgery the occult colonies keep growing; relapse is the first reaching D. On
  tamoxifen (GBSG2: 30 mg/day for 2 years, Schumacher M et al. J Clin Oncol 1994;12:2086) an ER+
  patient's clock runs at ``H(E2 x 0.2746) / H(E2)`` (data/hormones.toml, tamoxifen). The
  expected number detectable by day t is ``B(t) = (k_d / g)[I(min(A, A + g C(t) - tau_D)) -
  I(A - tau_D)]``, C the treatment-weighted clock, so the relapse-free probability given z is
  ``((a + E_n + B_0) / (a + E_n + B_0 + B(t)))^(a + n) exp(-h_0 t)``; ``h_0`` (fitted) is the
  hazard of events the model does not describe (local recurrence, death without relapse).
- z is integrated numerically, everything else is closed form. The integrand jumps where the
  oldest occult colony reaches D (z* with ``g C(t) = tau_D``: past it no colony is left to
  relapse), so Gauss-Legendre rules on [-8, z*] and [z*, 8] (weights times the normal density)
  replace a Gauss-Hermite rule, which does not converge across the jump.

ER status: estrogen receptor >= 10 fmol/mg, the conventional cut-off of the ligand-binding assay
(GK). Data: lifelines.datasets.load_gbsg2 (686 patients; Schumacher et al. 1994; time in days,
cens 1 = recurrence or death).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from metacascade.calibration.core import Parameter, Template
from metacascade.errors import DataError

__all__ = ["GBSG2_COLUMNS", "PARAMETERS", "RelapseModel", "load_gbsg2", "relapse_model"]

GBSG2_COLUMNS = ("horTh", "age", "menostat", "tsize", "tgrade", "pnodes", "progrec", "estrec", "time", "cens")
ER_CUTOFF_FMOL_MG = 10.0  # GK: conventional ligand-binding cut-off
TAMOXIFEN_DAYS = 730.0  # GBSG2: tamoxifen for 2 years (Schumacher 1994)
_Q = 24  # Gauss-Legendre nodes on each side of the jump (log-likelihood within 0.01 of 80 nodes, tested)
_ZMAX = 8.0

PARAMETERS = (
    Parameter("log_speed", -4.0, 3.0, 0.0, unit="ln(factor)", description="growth clock vs the preset, grade II"),
    Parameter("grade_I", -3.0, 3.0, 0.0, unit="ln(factor)", description="grade I vs II growth"),
    Parameter("grade_III", -3.0, 3.0, 0.0, unit="ln(factor)", description="grade III vs II growth"),
    Parameter("log_sigma", -5.0, 1.5, math.log(0.5), unit="ln", description="sd of ln(growth speed) between patients"),
    Parameter(
        "log_ratio",
        -12.0,
        8.0,
        math.log(0.01),
        unit="ln",
        description="distant / nodal colonies founded per shed cell (k_d / k_n)",
    ),
    Parameter(
        "log_kn",
        -46.0,
        -7.0,
        math.log(1e-11),
        unit="ln(1/(cell day))",
        description="nodal colonies founded per primary cell per day",
    ),
    Parameter("log_shape", -7.0, 4.6, 0.0, unit="ln", description="Gamma shape of the shedding random effect"),
    Parameter(
        "log_h0",
        -16.0,
        -4.0,
        math.log(1e-5),
        unit="ln(1/day)",
        description="hazard of events outside the model (local recurrence, other deaths)",
    ),
)


def load_gbsg2(df: pd.DataFrame | None = None) -> pd.DataFrame:
    """The GBSG2 table (lifelines' copy when ``df`` is None), checked: columns, values, units
    (tsize mm, time days, estrec/progrec fmol/mg)."""
    if df is None:
        from lifelines.datasets import load_gbsg2 as _load

        df = _load()
    missing = [c for c in GBSG2_COLUMNS if c not in df.columns]
    if missing:
        raise DataError(f"GBSG2 table: missing columns {', '.join(missing)}; required: {', '.join(GBSG2_COLUMNS)}")
    out = df.loc[:, list(GBSG2_COLUMNS)].copy()
    for c in ("age", "tsize", "pnodes", "progrec", "estrec", "time", "cens"):
        v = pd.to_numeric(out[c], errors="coerce")
        if v.isna().any():
            raise DataError(
                f"GBSG2 table: column {c!r} has missing or non-numeric values (row {int(v.isna().idxmax())})"
            )
        out[c] = v.astype(float)
    for c, low in (("tsize", 0.0), ("time", 0.0)):
        if (out[c] <= low).any():
            raise DataError(f"GBSG2 table: column {c!r} must be > 0 (row {int((out[c] <= low).idxmax())})")
    if (out["pnodes"] < 1).any():
        raise DataError("GBSG2 table: pnodes must be >= 1 (the model conditions on node-positive patients)")
    if not out["cens"].isin([0, 1]).all():
        raise DataError("GBSG2 table: cens must be 0 (censored) or 1 (event)")
    for c, allowed in (("horTh", {"yes", "no"}), ("menostat", {"Pre", "Post"}), ("tgrade", {"I", "II", "III"})):
        bad = set(out[c].astype(str)) - allowed
        if bad:
            raise DataError(f"GBSG2 table: column {c!r} has {sorted(bad)}; allowed {sorted(allowed)}")
        out[c] = out[c].astype(str)
    return out.reset_index(drop=True)


@lru_cache(maxsize=1)
def _constants() -> dict[str, float]:
    """The preset's growth law, detection size, and hormone multipliers (data files)."""
    from metacascade.model.hormones import (
        endocrine_agent,
        hormone_sensitivity,
        reference_levels,
    )
    from metacascade.presets import get_preset
    from metacascade.scenario import diameter_to_cells

    p = get_preset("breast_er_positive")
    sv = hormone_sensitivity("er_breast")
    pre = reference_levels("female", "premenopausal").estradiol_pmol_l
    post = reference_levels("female", "postmenopausal").estradiol_pmol_l
    tam = endocrine_agent("tamoxifen").estradiol_factor
    h = lambda e: float(sv.growth_multiplier(e, post))
    return {
        "k": p.growth["a_per_day"],
        "b": p.growth["b_cells"],
        "x0": 1.0,
        "alpha": p.shedding["alpha"],
        "cells_per_mm3": p.cells_per_mm3,
        "detection_cells": diameter_to_cells(p.detection_diameter_mm, p.cells_per_mm3),
        "h_pre": h(pre),
        "h_post": 1.0,
        "tam_pre": h(pre * tam) / h(pre),
        "tam_post": h(post * tam) / h(post),
    }


def _age(x: np.ndarray, c: dict) -> np.ndarray:
    """Reference (preset) age at which the Gompertz primary from one cell has x cells."""
    L = math.log(c["b"] / c["x0"])
    return -np.log(np.log(c["b"] / np.asarray(x, dtype=float)) / L) / c["k"]


def _log_integral(age: np.ndarray, c: dict) -> np.ndarray:
    """ln I(A), I(A) = int_0^A G(v)^alpha dv = (b^alpha / k)[E1(alpha L e^{-k A}) - E1(alpha L)]."""
    al, L = c["alpha"], math.log(c["b"] / c["x0"])
    a = np.maximum(np.asarray(age, dtype=float), 0.0)
    diff = special.exp1(al * L * np.exp(-c["k"] * a)) - special.exp1(al * L)
    with np.errstate(divide="ignore"):
        return al * math.log(c["b"]) - math.log(c["k"]) + np.log(np.maximum(diff, 0.0))


def _log_size(age: np.ndarray, c: dict) -> np.ndarray:
    L = math.log(c["b"] / c["x0"])
    return math.log(c["b"]) - L * np.exp(-c["k"] * np.asarray(age, dtype=float))


@dataclass(frozen=True)
class RelapseModel:
    """The GBSG2 relapse model on a table of patients (see the module docstring)."""

    data: pd.DataFrame

    def __post_init__(self) -> None:
        d = self.data
        c = _constants()
        cells = math.pi / 6.0 * d["tsize"].to_numpy(float) ** 3 * c["cells_per_mm3"]
        er = d["estrec"].to_numpy(float) >= ER_CUTOFF_FMOL_MG
        pre = d["menostat"].to_numpy() == "Pre"
        tam = d["horTh"].to_numpy() == "yes"
        object.__setattr__(
            self,
            "_arr",
            {
                "A": _age(cells, c),
                "n": d["pnodes"].to_numpy(float),
                "t": d["time"].to_numpy(float),
                "ev": d["cens"].to_numpy(float) == 1,
                "H": np.where(er & pre, c["h_pre"], 1.0),
                "tam": np.where(er & tam, np.where(pre, c["tam_pre"], c["tam_post"]), 1.0),
                "g1": d["tgrade"].to_numpy() == "I",
                "g3": d["tgrade"].to_numpy() == "III",
            },
        )
        tau = float(_age(c["detection_cells"], c))
        object.__setattr__(self, "_tauD", tau)
        A = self._arr["A"]
        self._arr.update(lI_A=_log_integral(A, c)[:, None], lI_0=_log_integral(A - tau, c)[:, None])

    def _per_node(self, theta: np.ndarray, t: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Per patient x quadrature node: log P(n, M0 | z), log P(n >= 1, M0 | z), log S(t | z) and
        the model hazard at t (t per patient, default the observed times)."""
        c = _constants()
        x = self._arr
        ls, g1, g3, lsig, lratio, lkn, lsh, _ = theta
        lkd = lratio + lkn  # the likelihood informs the ratio far better than k_d alone (nodes inform u)
        tt = x["t"] if t is None else np.asarray(t, dtype=float)
        tam = x["tam"][:, None]
        tcol = tt[:, None]
        clock = tam * np.minimum(tcol, TAMOXIFEN_DAYS) + np.maximum(tcol - TAMOXIFEN_DAYS, 0.0)
        lg0 = (ls + g1 * x["g1"] + g3 * x["g3"] + np.log(x["H"]))[:, None]
        sigma = math.exp(lsig)
        with np.errstate(divide="ignore"):
            zstar = (np.log(self._tauD) - np.log(clock) - lg0) / sigma
        z, lw = _split_nodes(np.clip(np.nan_to_num(zstar, posinf=_ZMAX, neginf=-_ZMAX), -_ZMAX, _ZMAX))
        lg = lg0 + sigma * z
        g = np.exp(lg)
        a = math.exp(lsh)
        A = x["A"][:, None]
        lI_A, lI_0 = x["lI_A"], x["lI_0"]  # fixed per patient: computed once
        E = np.exp(lkn + lI_A - lg)
        B0 = np.exp(lkd + lI_0 - lg)
        n = x["n"][:, None]
        s = a + E + B0
        logp_n = (
            special.gammaln(a + n)
            - special.gammaln(a)
            - special.gammaln(n + 1)
            + a * math.log(a)
            + n * np.log(E)
            - (a + n) * np.log(s)
        )
        p_m0 = np.exp(a * (math.log(a) - np.log(a + B0)))
        p_n0 = np.exp(a * (math.log(a) - np.log(s)))
        with np.errstate(divide="ignore"):
            logp_sel = np.log(np.maximum(p_m0 - p_n0, 1e-300))
        speed = np.where(tcol < TAMOXIFEN_DAYS, tam, 1.0)
        upper = A + g * clock - self._tauD
        # I(min(upper, A)): I(A) is fixed per patient, so the exponential integral (most of the
        # cost of an evaluation) is computed only where upper < A, about half the nodes (those
        # below z*); NaN stays on the computed side, as in I(min(upper, A))
        below = ~(upper >= A)
        lI_u = np.broadcast_to(lI_A, upper.shape).copy()
        lI_u[below] = _log_integral(upper[below], c)
        B = np.exp(lkd - lg) * np.maximum(np.exp(lI_u) - np.exp(lI_0), 0.0)
        log_s = (a + n) * (np.log(s) - np.log(s + B))
        growing = (upper < A) & (upper > 0)
        dB = np.zeros(upper.shape)
        dB[growing] = (
            np.exp(lkd + c["alpha"] * _log_size(upper[growing], c)) * np.broadcast_to(speed, upper.shape)[growing]
        )
        hazard = (a + n) * dB / (s + B)
        return {"logp_n": logp_n, "logp_sel": logp_sel, "log_s": log_s, "hazard": hazard, "lw": lw, "lg": lg}

    def loglik(self, theta: np.ndarray) -> float:
        """Log-likelihood of the nodes and the relapse data given selection (n >= 1, M0)."""
        theta = np.asarray(theta, dtype=float)
        q = self._per_node(theta)
        h0 = math.exp(theta[7])
        x = self._arr
        rel = q["log_s"] - h0 * x["t"][:, None] + np.where(x["ev"][:, None], np.log(q["hazard"] + h0), 0.0)
        lw = q["lw"]
        num = special.logsumexp(lw + q["logp_n"] + rel, axis=1)
        den = special.logsumexp(lw + q["logp_sel"], axis=1)
        v = float(np.sum(num - den))
        return v if math.isfinite(v) else -math.inf

    def survival(self, theta: np.ndarray, days: np.ndarray) -> np.ndarray:
        """Predicted relapse-free probability (patients x days), the random effect integrated
        over its posterior given the patient's nodes and M0."""
        theta = np.asarray(theta, dtype=float)
        days = np.atleast_1d(np.asarray(days, dtype=float))
        n_p = len(self.data)
        out = np.empty((n_p, days.size))
        for j, d in enumerate(days):
            q = self._per_node(theta, np.full(n_p, d))
            lp = q["lw"] + q["logp_n"]  # posterior of z given the nodes and M0 (selection implied)
            post = np.exp(lp - special.logsumexp(lp, axis=1, keepdims=True))
            out[:, j] = np.sum(post * np.exp(q["log_s"]), axis=1) * math.exp(-math.exp(theta[7]) * d)
        return out

    def occult(self, theta: np.ndarray) -> dict[str, np.ndarray]:
        """Per patient: P(no occult distant colony at surgery) and the expected number (the
        colonies founded within tau_D before surgery, none detectable yet)."""
        c = _constants()
        theta = np.asarray(theta, dtype=float)
        q = self._per_node(theta)
        lp = q["lw"] + q["logp_n"]
        post = np.exp(lp - special.logsumexp(lp, axis=1, keepdims=True))
        x = self._arr
        lg = q["lg"]
        A = x["A"][:, None]
        M = np.exp(theta[4] + theta[5] - lg) * np.maximum(
            np.exp(_log_integral(A, c)) - np.exp(_log_integral(A - self._tauD, c)), 0.0
        )
        a = math.exp(theta[6])
        shape = a + x["n"][:, None]
        rate = a + np.exp(theta[5] + x["lI_A"] - lg) + np.exp(theta[4] + theta[5] + x["lI_0"] - lg)
        p0 = np.sum(post * (rate / (rate + M)) ** shape, axis=1)
        mean = np.sum(post * shape / rate * M, axis=1)
        return {"p_none": p0, "mean_colonies": mean}


@lru_cache(maxsize=4)
def _legendre(q: int) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(q)


def _split_nodes(zstar: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nodes z (patients x 2Q) and log weights of the standard normal measure: Gauss-Legendre on
    [-ZMAX, z*] and [z*, ZMAX] per patient."""
    x, v = _legendre(_Q)
    zs = zstar.reshape(-1, 1)
    half_lo = 0.5 * (zs + _ZMAX)
    half_hi = 0.5 * (_ZMAX - zs)
    z = np.concatenate([-_ZMAX + half_lo * (x + 1.0), zs + half_hi * (x + 1.0)], axis=1)
    with np.errstate(divide="ignore"):
        lw = (
            np.concatenate([np.log(half_lo * v), np.log(half_hi * v)], axis=1)
            - 0.5 * z * z
            - 0.5 * math.log(2 * math.pi)
        )
    return z, lw


def relapse_model(data: pd.DataFrame) -> tuple[RelapseModel, Template]:
    """The model on ``data`` (a checked GBSG2-style table) and its calibration template."""
    model = RelapseModel(load_gbsg2(data))
    return model, Template(parameters=PARAMETERS, loglik=model.loglik, name="gbsg2 relapse")


def summary_row(theta: np.ndarray) -> dict[str, Any]:
    """Natural-scale values of a parameter vector (for reports)."""
    return {
        "growth speed (grade II)": math.exp(theta[0]),
        "grade I factor": math.exp(theta[1]),
        "grade III factor": math.exp(theta[2]),
        "sigma ln(speed)": math.exp(theta[3]),
        "k_distant": math.exp(theta[4] + theta[5]),
        "k_nodal": math.exp(theta[5]),
        "shape": math.exp(theta[6]),
        "h0 per day": math.exp(theta[7]),
    }


def simulate(
    theta: np.ndarray,
    covariates: pd.DataFrame,
    seed: int,
    follow_up_days: tuple[float, float] = (365.25, 7 * 365.25),
    max_tries: int = 20000,
) -> pd.DataFrame:
    """A synthetic trial from the model's process, colony by colony (independent of the
    likelihood's closed forms): per patient (the covariates' rows) draw the growth effect z, the
    shedding effect u, the positive nodes n ~ Poisson(u E_n) and the distant colonies founded
    before surgery (Poisson, founding ages by inversion of I); redraw until the patient is
    node-positive and M0 (selection); relapse is the first colony to reach D on the treatment
    clock; other events at rate h_0; administrative censoring uniform on ``follow_up_days``.
    Returns a GBSG2-style table (pnodes, time, cens drawn; other columns copied); a row that is
    not eligible in ``max_tries`` draws (selection probability below about 1/max_tries) is left
    out, as such a patient would not be in the trial."""
    c = _constants()
    theta = np.asarray(theta, dtype=float)
    ls, g1, g3, lsig, lratio, lkn, lsh, lh0 = theta
    kn, kd, a, h0 = math.exp(lkn), math.exp(lkn + lratio), math.exp(lsh), math.exp(lh0)
    base = RelapseModel(load_gbsg2(covariates.assign(pnodes=1, time=1.0, cens=0)))
    x = base._arr
    tau = base._tauD
    grid = np.linspace(0.0, float(np.max(x["A"])), 20001)
    cum = np.exp(_log_integral(grid, c))
    cum[0] = 0.0
    rng = np.random.default_rng(seed)
    n_out = np.zeros(len(covariates), dtype=np.int64)
    t_out = np.zeros(len(covariates))
    ev_out = np.zeros(len(covariates), dtype=np.int64)
    kept = np.zeros(len(covariates), dtype=bool)
    for i in range(len(covariates)):
        A = x["A"][i]
        IA = float(np.exp(_log_integral(A, c)))
        lg0 = ls + g1 * x["g1"][i] + g3 * x["g3"][i] + math.log(x["H"][i])
        for _ in range(max_tries):
            g = math.exp(lg0 + math.exp(lsig) * rng.standard_normal())
            u = rng.gamma(a, 1.0 / a)
            n = rng.poisson(u * kn / g * IA)
            k = rng.poisson(u * kd / g * IA)
            ages = np.interp(rng.random(k) * IA, cum, grid)
            if n >= 1 and not np.any(ages <= A - tau):
                kept[i] = True
                break
        if not kept[i]:  # practically never eligible (node-positive and M0): not in the trial
            continue
        need = (tau - (A - ages)) / g  # treatment-clock time each colony needs to reach D
        tam = x["tam"][i]
        t_rel = np.where(need <= tam * TAMOXIFEN_DAYS, need / tam, TAMOXIFEN_DAYS + need - tam * TAMOXIFEN_DAYS)
        t_event = min(float(np.min(t_rel)) if k else math.inf, rng.exponential(1.0 / h0))
        censor = rng.uniform(*follow_up_days)
        n_out[i] = n
        t_out[i] = min(t_event, censor)
        ev_out[i] = int(t_event <= censor)
    out = covariates.loc[:, [col for col in GBSG2_COLUMNS if col not in ("pnodes", "time", "cens")]].copy()
    out["pnodes"], out["time"], out["cens"] = n_out, np.maximum(t_out, 1e-6), ev_out
    out = out[kept]
    return out.reset_index(drop=True)


def predict_patient(
    thetas: np.ndarray, patient: dict[str, Any], days: np.ndarray, *, seed: int = 0, n_draws: int = 4000
) -> dict[str, Any]:
    """One patient's predictions over parameter draws ``thetas`` (draws x 8; one row = a point
    estimate): the relapse-free curve at ``days`` (median and 95% band over draws) and the occult
    distant disease at surgery (colonies founded within tau_D before surgery, none detectable):
    P(none), and the number of colonies and their total cells by Monte Carlo (quantiles)."""
    c = _constants()
    thetas = np.atleast_2d(np.asarray(thetas, dtype=float))
    row = {"time": 1.0, "cens": 0, "age": 50, "progrec": 0, **patient}
    model = RelapseModel(load_gbsg2(pd.DataFrame([row])))
    curves = np.array([model.survival(th, days)[0] for th in thetas])
    rng = np.random.default_rng(seed)
    x = model._arr
    A = float(x["A"][0])
    tau = model._tauD
    grid = np.linspace(max(A - tau, 0.0), A, 2001)
    cum = np.exp(_log_integral(grid, c))
    counts, burdens, p_none = [], [], []
    per = max(1, n_draws // thetas.shape[0])
    for th in thetas:
        q = model._per_node(th)
        lp = q["lw"][0] + q["logp_n"][0]
        post = np.exp(lp - special.logsumexp(lp))
        occ = model.occult(th)
        p_none.append(float(occ["p_none"][0]))
        a = math.exp(th[6])
        k_idx = rng.choice(post.size, size=per, p=post / post.sum())
        lg = q["lg"][0, k_idx]
        rate = a + np.exp(th[5] + x["lI_A"][0, 0] - lg) + np.exp(th[4] + th[5] + x["lI_0"][0, 0] - lg)
        u = rng.gamma(a + x["n"][0], 1.0 / rate)
        M = np.exp(th[4] + th[5] - lg) * max(cum[-1] - cum[0], 0.0)
        k = rng.poisson(u * M)
        counts.append(k)
        for kk in k:
            ages = np.interp(cum[0] + rng.random(kk) * (cum[-1] - cum[0]), cum, grid)
            burdens.append(float(np.sum(np.exp(_log_size(A - ages, c)))) if kk else 0.0)
    counts = np.concatenate(counts)
    burdens = np.asarray(burdens)
    qs = [0.05, 0.25, 0.5, 0.75, 0.95]
    return {
        "days": np.asarray(days, dtype=float).tolist(),
        "rfs_median": np.median(curves, axis=0).tolist(),
        "rfs_lower": np.quantile(curves, 0.025, axis=0).tolist(),
        "rfs_upper": np.quantile(curves, 0.975, axis=0).tolist(),
        "p_no_occult_colony": float(np.mean(p_none)),
        "occult_colonies_mean": float(counts.mean()),
        "occult_colonies_quantiles": dict(zip(map(str, qs), np.quantile(counts, qs).tolist())),
        "occult_cells_quantiles": dict(zip(map(str, qs), np.quantile(burdens, qs).tolist())),
        "detection_cells": c["detection_cells"],
        "n_parameter_draws": int(thetas.shape[0]),
    }
