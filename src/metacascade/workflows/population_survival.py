r"""Population-averaged survival from diagnosis: the primary left in place, or resected with its margin.

Death comes, as everywhere in the population model (:mod:`metacascade.workflows.population_model`),
when the patient's tumour burden reaches the preset's lethal burden :math:`L`. A patient with
founding multiplier :math:`u` and growth multiplier :math:`v` lives the median patient's path with
time scaled by :math:`1/v` and founding scaled by :math:`w = u / v`.

- **Primary left in place** (diagnosed at diameter :math:`D`, day :math:`T_D` of the median path):
  death at :math:`t_d(w)`, where :math:`X(t) + w\,p\,B(t) = L` (primary :math:`X`, colony burden
  :math:`B` per unit founding probability, :math:`p` the summed founding probabilities); she
  lives :math:`(t_d(w) - T_D)/v` after diagnosis. A tumour without metastatic competence dies
  when the primary alone reaches :math:`L`.
- **Resected at** :math:`T_D` with a margin (:class:`~metacascade.model.resection.Resection`):
  the colonies founded before surgery keep growing, :math:`B_{pre}(T_D + x) = \int_0^{T_D} b(s)
  \beta(T_D + x - s)\,ds` (:math:`b` the primary's founding rate, :math:`\beta` the expected size
  of a colony by age, :attr:`PresetCurves.colony_size`); an R1/R2 margin leaves :math:`r` cells
  that regrow with the primary's law, :math:`X_r(x) = X(t_r + x)` (:math:`t_r` the day the
  primary had :math:`r` cells: the law is autonomous), and found colonies through the primary's
  routes at :math:`b(t_r + x)`, whose burden is :math:`B_{res}(x) = \int_0^x b(t_r + y)\beta(x -
  y)\,dy`. Death at the first :math:`x` with :math:`X_r(x) + w\,(p_{left} B_{pre}(x) + p\,B_{res}(x))
  \ge L` (:math:`p_{left}`: the regional-node founding reduced to what the node dissection left);
  a local recurrence when :math:`X_r` reaches the imaging threshold. Patients are those alive
  and free of detectable distant metastasis at surgery (resection with curative intent).

Each quadrature node's time to the event is blurred log-normally over the width of the growth
multiplier's cell (sd half the cell), so the fractions are smooth in the parameters, as a
likelihood needs. Burdens are expected values given :math:`w` (the mean-field convention of
:func:`~metacascade.workflows.population_model.predict_population`'s death times).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.signal import fftconvolve
from scipy.special import ndtr

from metacascade.errors import CalibrationError
from metacascade.model.population import Population
from metacascade.model.resection import Resection
from metacascade.workflows.population_model import (
    NODE_ORGAN,
    PresetCurves,
    _alive_weights,
    _death_times,
    all_organ_log_w,
    organ_founding,
    uvy_grid,
)

__all__ = ["DAYS_PER_MONTH", "SurvivalPrediction", "cohort_survival", "predict_survival", "with_speed"]

FloatArray = NDArray[np.float64]
#: Days per month (365.25 / 12), the unit of the survival tables.
DAYS_PER_MONTH = 30.4375


def with_speed(curves: PresetCurves, speed: float) -> PresetCurves:
    r"""``curves`` of the same preset growing ``speed`` times faster (primary, colonies and
    birth-death phase; the founding rate per day unchanged): exactly
    :math:`N_k(t) = N(k t)/k` for every count and the burden, the founding rate
    :math:`b_k(t) = b(k t)`, delays and growth times divided by :math:`k`. With the soils
    multiplied by :math:`k` every quantity read at a primary size (M1 and nodes at diagnosis, the
    autopsy) is unchanged: the autopsy and SEER data do not see the time scale."""
    k = float(speed)
    if not (math.isfinite(k) and k > 0):
        raise CalibrationError(f"growth.speed: got {speed!r}, allowed a number > 0")
    if k == 1.0:
        return curves
    lk = math.log(k)
    return dataclasses.replace(
        curves,
        t=curves.t / k,
        log_detect=curves.log_detect - lk,
        log_autopsy=curves.log_autopsy - lk,
        log_node=curves.log_node - lk,
        log_established=curves.log_established - lk,
        burden=curves.burden / k,
        t_primary_lethal=curves.t_primary_lethal / k,
        delay_t=None if curves.delay_t is None else curves.delay_t / k,
        tau_detect=curves.tau_detect / k,
        tau_node=curves.tau_node / k,
        colony_age=None if curves.colony_age is None else curves.colony_age / k,
    )


@dataclass(frozen=True)
class SurvivalPrediction:
    """Fractions of patients by ``months`` after diagnosis (``resected``: after surgery on the
    day of diagnosis): ``dead`` of the cancer (before any other cause), ``local_recurrence``
    (the residual of an incomplete resection at the imaging size; 0 without surgery)."""

    diameter_mm: float
    resected: bool
    months: FloatArray
    dead: FloatArray
    local_recurrence: FloatArray


def _blurred_cdf(log_days: FloatArray, weight: FloatArray, log_m: FloatArray, h: float) -> FloatArray:
    """sum_i weight_i P(T_i <= m) for log-normal T_i centred on ``log_days`` (sd ``h``; a step at
    h = 0), at each of ``log_m``; infinite times never count."""
    finite = np.isfinite(log_days)
    ld, w = log_days[finite], weight[finite]
    if h <= 0:
        order = np.argsort(ld)
        cum = np.concatenate([[0.0], np.cumsum(w[order])])
        return cum[np.searchsorted(ld[order], log_m, side="right")]
    # the weights binned in ln time (bins of h/8: an error below 1e-3 of the blur), then blurred:
    # thousands of nodes cost one histogram
    lo, hi = float(log_m.min()) - 8.0 * h, float(log_m.max()) + 8.0 * h
    below = float(w[ld < lo].sum())
    inside = (ld >= lo) & (ld <= hi)
    nb = max(int(math.ceil((hi - lo) / (h / 8.0))), 1)
    hist, edges = np.histogram(ld[inside], bins=nb, range=(lo, hi), weights=w[inside])
    centres = 0.5 * (edges[1:] + edges[:-1])
    return below + ndtr((log_m[None, :] - centres[:, None]) / h).T @ hist


def predict_survival(
    curves: PresetCurves,
    soil: dict[str, float] | FloatArray,
    population: Population,
    diameter_mm: float,
    months: FloatArray,
    *,
    resected: bool,
    resection: Resection | None = None,
    node_residual: float = 0.0,
    n_u: int = 121,
    n_v: int = 161,
    n_y: int = 15,
) -> SurvivalPrediction:
    """Population-averaged survival of patients diagnosed with a primary of ``diameter_mm``,
    resected on the day of diagnosis or not (module docstring). ``resection``: the margin law
    (complete resection when None); ``node_residual``: the fraction of the regional-node colonies
    present at surgery that the node dissection leaves (0: all removed)."""
    months = np.atleast_1d(np.asarray(months, float))
    dead, local = _survival(
        curves, soil, population, np.array([float(diameter_mm)]), bool(resected), months,
        resection, node_residual, n_u, n_v, n_y,
    )  # fmt: skip
    return SurvivalPrediction(float(diameter_mm), bool(resected), months, dead[0], local[0])


def _survival(
    curves: PresetCurves,
    soil: dict[str, float] | FloatArray,
    population: Population,
    diameters_mm: FloatArray,
    resected: bool,
    months: FloatArray,
    resection: Resection | None,
    node_residual: float,
    n_u: int,
    n_v: int,
    n_y: int,
) -> tuple[FloatArray, FloatArray]:
    """Dead and local-recurrence fractions (diameters x months): the quadrature nodes, the death
    times of the unresected and the residual's regrowth are shared by every diameter."""
    if not 0.0 <= node_residual <= 1.0:
        raise CalibrationError(f"node_residual: got {node_residual!r}, allowed a fraction in [0, 1]")
    if curves.colony_size is None or curves.colony_age is None or curves.shed is None:
        raise CalibrationError(f"{curves.preset}: curves without colony sizes by age (built before survival)")
    if np.any(~np.isfinite(months)) or np.any(months <= 0):
        raise CalibrationError(f"months: got {months.tolist()!r}, allowed positive numbers")
    resection = Resection() if resection is None else resection
    p = organ_founding(curves, soil) if isinstance(soil, dict) else np.asarray(soil, float)
    ni = curves.organs.index(NODE_ORGAN)
    p_total = float(p.sum())
    p_node = float(p[ni])
    p_dist = p_total - p_node
    g = uvy_grid(population, n_u, n_v, n_y)
    zu, zv, wv, log_v, log_w, log_wn = g.zu, g.zv, g.wv, g.log_v, g.log_w, g.log_wn
    wt = g.weight.ravel()
    su, sv = population.dissemination_sd_log, population.growth_sd_log
    log_wa = all_organ_log_w(log_w, log_wn, p_node, p_total).ravel()
    T_all = curves.time_at_diameter(np.asarray(diameters_mm, float))
    if np.any(np.interp(T_all, curves.t, curves.primary) >= curves.lethal):
        bad = float(np.asarray(diameters_mm)[np.argmax(np.interp(T_all, curves.t, curves.primary) >= curves.lethal)])
        raise CalibrationError(f"{curves.preset}: a primary of {bad} mm exceeds the lethal burden")
    h_u = su * float(zu[1] - zu[0]) if su > 0 else 0.0
    alive_all = _alive_weights(curves, log_wa, np.ones(log_wa.size), p_total, T_all, h_u)  # nodes x sizes
    pi = population.competent_fraction
    h = 0.5 * sv * float(zv[1] - zv[0]) if zv.size > 1 else 0.0  # blur: half the v-cell, in ln time
    log_m = np.log(months * DAYS_PER_MONTH)
    lv = np.broadcast_to(log_v[None, :, None], log_w.shape).ravel()
    n_d = T_all.size
    dead = np.zeros((n_d, months.size))
    local = np.zeros((n_d, months.size))
    if not resected:
        td = _death_times(curves, log_wa, p_total)
        for i, T in enumerate(T_all):
            base = wt * alive_all[:, i]
            with np.errstate(divide="ignore"):
                ld = np.log(np.maximum(td - T, 0.0)) - lv
            num = pi * _blurred_cdf(ld, base, log_m, h)
            t_nc = max(curves.t_primary_lethal - T, 1e-9)
            num += (1.0 - pi) * _blurred_cdf(math.log(t_nc) - log_v, wv, log_m, h)
            dead[i] = num / (pi * float(base.sum()) + 1.0 - pi)
        return dead, local
    age, beta = curves.colony_age, curves.colony_size
    dt = float(age[1] - age[0])
    n = age.size
    n_x = n - int(math.ceil(float(T_all.max()) / dt)) - 1
    x = age[:n_x]  # days after surgery on the grid
    b_abs = np.interp(age, curves.t, curves.shed, right=0.0)
    p_left = p_dist + node_residual * p_node
    w_l = np.exp(all_organ_log_w(log_w, log_wn, node_residual * p_node, p_left).ravel())
    log_xp = np.log(np.maximum(curves.primary, 1e-300))
    nodes = resection.residual_nodes()
    # the residual's regrowth per node, shared by all diameters (its cells: of the primary at surgery
    # for R2, hence per diameter there)
    regrowth: dict[float, tuple[FloatArray, FloatArray, float]] = {}

    def residual(r: float) -> tuple[FloatArray, FloatArray, float]:
        if r not in regrowth:
            if r > 0:  # the residual regrows: X_r(x) = X(t_r + x), founding b(t_r + x)
                t_r = float(np.interp(math.log(r), log_xp, curves.t))
                x_r = np.interp(t_r + x, curves.t, curves.primary, right=np.inf)
                b_r = np.interp(t_r + x, curves.t, curves.shed, right=0.0)
                b_res = fftconvolve(b_r, beta[:n_x])[:n_x] * dt
                t_lr = float(np.interp(math.log(max(curves.detection_cells, r)), log_xp, curves.t)) - t_r
            else:
                x_r, b_res, t_lr = np.zeros(n_x), np.zeros(n_x), math.inf
            regrowth[r] = (x_r, b_res, t_lr)
        return regrowth[r]

    for i, T in enumerate(T_all):
        b_pre = b_abs * np.clip((T - age) / dt + 0.5, 0.0, 1.0)
        b_pre = np.where(age <= T + dt, b_pre, 0.0)
        c_pre = fftconvolve(b_pre, beta)[:n] * dt
        B_pre = np.interp(T + x, age, c_pre)
        n0 = float(np.exp(curves.log_at("detect", np.array([T]))[0]))
        base = wt * alive_all[:, i] * np.exp(-np.exp(log_w.ravel()) * p_dist * n0)
        den = pi * float(base.sum()) + 1.0 - pi
        primary_T = float(np.interp(T, curves.t, curves.primary))
        with np.errstate(divide="ignore", invalid="ignore"):
            for r, weight in zip(nodes.left(primary_T), nodes.weight):
                x_r, b_res, t_lr = residual(float(r))
                a = p_left * B_pre + p_total * b_res
                # first x with X_r + w a >= L: w >= w*(x) = (L - X_r) / a, a decreasing sequence
                w_star = np.where(x_r >= curves.lethal, 0.0, (curves.lethal - x_r) / a)
                w_star = np.minimum.accumulate(np.where(np.isnan(w_star), np.inf, w_star))
                k = np.searchsorted(-w_star, -w_l, side="left")
                xd = np.where(k < n_x, x[np.minimum(k, n_x - 1)], np.inf)
                ld = np.log(np.maximum(xd, dt)) - lv
                dead[i] += weight * pi * _blurred_cdf(ld, base, log_m, h)
                # non-competent tumours: only the residual
                hit = x_r >= curves.lethal
                if np.any(hit):
                    xd_nc = float(x[np.argmax(hit)])
                    dead[i] += weight * (1.0 - pi) * _blurred_cdf(math.log(max(xd_nc, dt)) - log_v, wv, log_m, h)
                if math.isfinite(t_lr):
                    lr_v = math.log(max(t_lr, dt)) - log_v
                    lr = np.broadcast_to(lr_v[None, :, None], log_w.shape).ravel()
                    local[i] += weight * (
                        pi * _blurred_cdf(lr, base, log_m, h) + (1.0 - pi) * _blurred_cdf(lr_v, wv, log_m, h)
                    )
        dead[i] /= den
        local[i] /= den
    return dead, local


def cohort_survival(
    curves: PresetCurves,
    soil: dict[str, float] | FloatArray,
    population: Population,
    diameters_mm: FloatArray,
    resected: FloatArray,
    months: FloatArray,
    *,
    resection: Resection | None = None,
    node_residual: float = 0.0,
    n_u: int = 121,
    n_v: int = 161,
) -> FloatArray:
    """Fraction of a cohort dead of the cancer by ``months``: the mean of :func:`predict_survival`
    over its patients (their diameters at diagnosis and whether each was resected), the shared
    parts computed once per group and each distinct (diameter, resected) pair once."""
    d = np.asarray(diameters_mm, float)
    r = np.asarray(resected, bool)
    if d.shape != r.shape or d.size == 0:
        raise CalibrationError(
            f"cohort: {d.size} diameters and {r.size} resection flags; allowed: one of each per patient"
        )
    months = np.atleast_1d(np.asarray(months, float))
    out = np.zeros(months.size)
    for flag in (False, True):
        sel = r == flag
        if not sel.any():
            continue
        sizes, counts = np.unique(d[sel], return_counts=True)
        dead, _ = _survival(curves, soil, population, sizes, flag, months, resection, node_residual, n_u, n_v, 15)
        out += counts @ dead
    return out / d.size
