r"""Population-averaged predictions of a whole-body preset: where (autopsy), when (M1 by size), who.

For a preset's median patient with only the primary seeding, the expected number of colonies
in organ :math:`o` larger than :math:`x` cells at time :math:`t` is
:math:`\lambda_o(t, x) = p_o\,I(t, x)`, with :math:`p_o = A_o\,s\,\sigma_o` the founding
probability of a shed cell (arrest :math:`A_o` from the body graph, early survival
:math:`s`, soil :math:`\sigma_o`) and :math:`I(t, x)` the expected number of colonies above
:math:`x` per unit founding probability (one deterministic solve, :class:`PresetCurves`,
birth-death phase included). A patient with founding multiplier :math:`w` (see
:mod:`metacascade.model.population`) has :math:`w\,\lambda_o` at the same primary size.

Colonies founded by colonies (``secondary_seeding``) add to this; their share is small while
the colonies are small (at diagnosis) and is computed by the full engine at death
(:func:`secondary_factors`), entering as a per-organ, per-node multiplier.

- **M1 at diagnosis** (SEER, operated patients) at primary diameter :math:`D` (time
  :math:`T_D` on the primary's path): among patients alive at :math:`T_D`,

  .. math:: P_{M1}(D) = \frac{\pi \sum_j \omega_j a_j (1 - e^{-w_j \sum_{o \ne \rm nodes} \lambda_o(T_D, x_{det})})}
            {\pi \sum_j \omega_j a_j + 1 - \pi},

  :math:`a_j` = 1 when node :math:`j`'s patient is alive at :math:`T_D` (total burden below the
  lethal burden), :math:`\omega_j` the quadrature weights;
- **autopsy** (patients who died of the cancer, untreated): death when primary plus metastases
  reach the lethal burden, at :math:`t_d(w)`; site :math:`s` holds a metastasis larger than the
  autopsy size with :math:`P_s = \pi \sum_j \omega_j (1 - e^{-w_j \lambda_s(t_d(w_j))})`
  (non-competent patients die of the primary with none);
- **nodes and occult disease at diagnosis**: the same with the nodal threshold / all
  established colonies.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from metacascade.errors import CalibrationError
from metacascade.model.body import BodyGraph, default_body_graph
from metacascade.model.endocrine import EndocrineArm, treated_detections
from metacascade.model.population import Population, log_normal_nodes
from metacascade.presets import SITE_GROUPS, Preset
from metacascade.scenario import diameter_to_cells, model_from_preset

__all__ = [
    "ALPHA_GRID",
    "AlphaCurves",
    "NODE_ORGAN",
    "SHEDDING_REFERENCE_CELLS",
    "PopulationPrediction",
    "PresetCurves",
    "alive_log_threshold",
    "all_organ_log_w",
    "curves_of",
    "early_founded_share",
    "organ_founding",
    "predict_population",
    "preset_curves",
    "predict_relapse",
    "resected_count",
    "scenario_curves",
    "shedding_with_alpha",
    "uvy_grid",
    "with_dormancy_curves",
]

FloatArray = NDArray[np.float64]
NODE_ORGAN = "lymph_regional"
#: A regional node counts as involved (pN+) from a metastasis of 0.2 mm: the lower limit of a
#: micrometastasis in the TNM/AJCC nodal categories (pN1mi: > 0.2 mm to 2 mm), the smallest deposit
#: that routine pathology reports as node-positive (a definition, status GK for its use here).
NODE_DETECTION_MM = 0.2
_N_GRID = 3001


@dataclass(frozen=True)
class PresetCurves:
    """The median patient's primary-seeded colony counts per unit founding probability.

    ``t`` (days from the primary's first cell) runs to the day the primary alone reaches the
    lethal burden; ``log_*`` are natural logs (-inf where zero) on that grid.
    """

    preset: str
    t: FloatArray
    primary: FloatArray  # primary cells
    log_detect: FloatArray  # colonies above the imaging threshold
    log_autopsy: FloatArray  # colonies above the autopsy size
    log_node: FloatArray  # colonies above the nodal (pathology) threshold
    log_established: FloatArray  # colonies past the birth-death phase (occult disease)
    burden: FloatArray  # cells in colonies
    arrest: FloatArray  # per organ: A_o * early survival (founding probability per unit soil)
    organs: tuple[str, ...]
    lethal: float
    t_primary_lethal: float

    cells_per_mm3: float = 1e6
    # for colonies founded before a resection (resected_count): the founding rate per unit founding
    # probability on ``t`` (colonies per day, the primary's shedding), the law of the delay from
    # founding to deterministic growth (birth-death phase, then dormancy if any) as a CDF table,
    # and the deterministic growth times from the entry size to the imaging and nodal thresholds
    shed: FloatArray | None = None
    delay_t: FloatArray | None = None
    delay_cdf: FloatArray | None = None
    tau_detect: float = math.nan
    tau_node: float = math.nan
    # for survival (metacascade.workflows.population_survival): the expected size of a colony
    # ``colony_age`` days after its founding (birth-death phase and delay included, per colony that
    # reaches deterministic growth) on a uniform grid of the step of ``t`` running past the last
    # day a resected patient's colonies matter (twice ``t``'s span plus the longest delay), and the
    # imaging threshold in cells
    colony_age: FloatArray | None = None
    colony_size: FloatArray | None = None
    detection_cells: float = math.nan

    def time_at_diameter(self, diameter_mm: FloatArray) -> FloatArray:
        """Day (from the first cell) the median patient's primary reaches ``diameter_mm``."""
        from metacascade.scenario import diameter_to_cells as _cells

        x = np.log(_cells(np.asarray(diameter_mm, float), self.cells_per_mm3))
        return np.interp(x, np.log(np.maximum(self.primary, 1e-300)), self.t)

    def log_at(self, which: str, t: FloatArray) -> FloatArray:
        y = getattr(self, "log_" + which)
        return np.interp(t, self.t, y, left=-np.inf)


def _log(x: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore"):
        return np.log(np.maximum(x, 0.0))


_CURVES: dict[str, PresetCurves] = {}


def preset_curves(
    preset: Preset,
    body: BodyGraph | None = None,
    switch_cells: float = 1000.0,
    node_diameter_mm: float = NODE_DETECTION_MM,
) -> PresetCurves:
    """One deterministic solve of ``preset``'s median patient (one organ, unit founding
    probability, primary seeding only, birth-death phase to ``switch_cells``); cached per
    process for the shipped body graph."""
    key = repr(
        (
            preset.growth_law,
            sorted(preset.growth.items()),
            sorted(preset.shedding.items()),
            preset.colony_size0_cells,
            preset.cells_per_mm3,
            preset.detection_diameter_mm,
            preset.autopsy_detection_diameter_mm,
            preset.lethal_burden_cells,
            sorted(preset.routes.items()) if preset.routes else None,
            switch_cells,
            node_diameter_mm,
            sorted(preset.dormancy.items()),
        )
    )
    if body is None and key in _CURVES:
        return _CURVES[key]
    out = _preset_curves(preset, body, switch_cells, node_diameter_mm)
    if body is None:
        _CURVES[key] = out
    return out


def _preset_curves(
    preset: Preset, body: BodyGraph | None, switch_cells: float, node_diameter_mm: float
) -> PresetCurves:
    from metacascade.model.establishment import Establishment

    body = default_body_graph() if body is None else body
    if preset.routes is None:
        raise CalibrationError(
            f"preset {preset.name!r} has no body routes; population predictions need a whole-body preset"
        )
    model = model_from_preset(preset)
    est = Establishment(model.colony_growth, model.colony_size0, float(switch_cells), float(body.early_survival))
    if preset.dormancy and preset.dormancy["probability"] > 0:
        from metacascade.model.establishment import with_dormancy

        est = with_dormancy(est, preset.dormancy["probability"], preset.dormancy["escape_per_day"])
    cpm = preset.cells_per_mm3
    arrest = body.routing(dict.fromkeys(body.organs, 1.0), preset.routes).primary  # = A_o * s at unit soil
    return curves_of(
        preset.name,
        model,
        est,
        lethal=preset.lethal_burden_cells,
        cells_per_mm3=cpm,
        detection_cells=diameter_to_cells(preset.detection_diameter_mm, cpm),
        autopsy_cells=diameter_to_cells(preset.autopsy_detection_diameter_mm, cpm),
        node_cells=diameter_to_cells(node_diameter_mm, cpm),
        arrest=np.asarray(arrest, float),
        organs=body.organs,
    )


def curves_of(
    name: str,
    model: Any,
    establishment: Any,
    *,
    lethal: float,
    cells_per_mm3: float,
    detection_cells: float,
    autopsy_cells: float,
    node_cells: float,
    arrest: FloatArray,
    organs: tuple[str, ...],
) -> PresetCurves:
    """:class:`PresetCurves` of any median patient (``model``'s growth and shedding, primary
    seeding only, the birth-death phase ``establishment``)."""
    from metacascade.engines.organs import solve_organs

    model = dataclasses.replace(model, secondary_seeding=False)
    law = model.primary_growth
    if not lethal < law.capacity:
        raise CalibrationError(
            f"{name}: lethal_burden_cells {lethal:g} must be below the growth capacity {law.capacity:g}"
        )
    t_end = float(law.time_to_size(model.primary_size0, lethal))
    est = None if establishment is None or establishment.trivial else establishment
    sol = solve_organs(model, ("x",), [1.0], None, t_end, rtol=1e-7, establishment=est)
    t = np.linspace(0.0, t_end, _N_GRID)
    one = lambda a: np.asarray(a, float)[..., 0]
    primary = np.asarray(law.solve(model.primary_size0, t), float)
    entry = model.colony_size0 if est is None else est.entry_cells
    if est is None:
        delay_t, delay_cdf = np.array([0.0, 1e-9]), np.array([1.0, 1.0])
    else:
        delay_t, delay_cdf = np.asarray(est.t_table, float), np.asarray(est.cdf_table, float)
    tau = lambda x: float(model.colony_growth.time_to_size(entry, max(float(x), entry)))
    age, size = _colony_size_by_age(model.colony_growth, entry, t, delay_t, delay_cdf)
    return PresetCurves(
        preset=name,
        t=t,
        primary=np.asarray(law.solve(model.primary_size0, t), float),
        log_detect=_log(one(sol.n_above(t, detection_cells))),
        log_autopsy=_log(one(sol.n_above(t, autopsy_cells))),
        log_node=_log(one(sol.n_above(t, node_cells))),
        log_established=_log(one(sol.n_total(t))),
        burden=np.maximum(one(sol.burden(t)), 0.0),
        arrest=np.asarray(arrest, float),
        organs=tuple(organs),
        lethal=float(lethal),
        t_primary_lethal=t_end,
        cells_per_mm3=float(cells_per_mm3),
        shed=np.asarray(model.primary_shedding.rate(primary), float),
        delay_t=delay_t,
        delay_cdf=delay_cdf,
        tau_detect=tau(detection_cells),
        tau_node=tau(node_cells),
        colony_age=age,
        colony_size=size,
        detection_cells=float(detection_cells),
    )


def _colony_size_by_age(
    law: Any, entry: float, t: FloatArray, delay_t: FloatArray, delay_cdf: FloatArray
) -> tuple[FloatArray, FloatArray]:
    r"""Expected size :math:`\beta(a) = \int g(a - d)\,dF(d)` of a colony :math:`a` days after its
    founding: :math:`g` the deterministic growth from the entry size (0 before), :math:`F` the
    delay law (its masses put on the grid's nodes, split linearly between the two nearest), one
    FFT convolution on a uniform grid of ``t``'s step."""
    from scipy.signal import fftconvolve

    dt = float(t[1] - t[0])
    span = 2.0 * float(t[-1]) + float(delay_t[-1])
    n = int(math.ceil(span / dt)) + 1
    age = np.arange(n) * dt
    g = np.asarray(law.solve(entry, age), float)
    mass = np.concatenate([[delay_cdf[0]], np.diff(delay_cdf)])
    at = np.concatenate([[delay_t[0]], 0.5 * (delay_t[1:] + delay_t[:-1])])
    keep = mass > 0
    pos = np.clip(at[keep] / dt, 0.0, n - 1.000001)
    i0 = np.floor(pos).astype(int)
    f = pos - i0
    grid = np.zeros(n)
    np.add.at(grid, i0, mass[keep] * (1.0 - f))
    np.add.at(grid, i0 + 1, mass[keep] * f)
    return age, np.maximum(fftconvolve(grid, g)[:n], 0.0)


#: The colonisation rate of a refitted size exponent is re-referenced at this primary size (1 cm^3
#: at 10^6 cells/mm^3; the size around which the presets' shedding level is sourced), so that a
#: change of ``alpha`` keeps the rate there and moves it elsewhere: :func:`shedding_with_alpha`.
SHEDDING_REFERENCE_CELLS = 1e9
#: Nodes of the size exponent at which :class:`AlphaCurves` solves the median patient exactly.
ALPHA_GRID = np.concatenate([[0.0, 0.05], np.linspace(0.1, 1.0, 10)])
_LOG_FLOOR = -745.0  # log of the smallest positive double: zero counts, interpolable


def shedding_with_alpha(shedding: dict[str, float], alpha: float) -> dict[str, float]:
    r"""``shedding`` (``m``, ``alpha``) with size exponent ``alpha`` and the same colonisation rate
    at :data:`SHEDDING_REFERENCE_CELLS`: :math:`m' = m\,X_{\rm ref}^{\alpha_0 - \alpha}`."""
    a0 = float(shedding.get("alpha", 1.0))
    m = float(shedding["m"]) * SHEDDING_REFERENCE_CELLS ** (a0 - float(alpha))
    return {**shedding, "m": m, "alpha": float(alpha)}


class AlphaCurves:
    """The median patient's curves as a smooth function of the shedding size exponent: exact
    solves at :data:`ALPHA_GRID` (``m`` re-referenced by :func:`shedding_with_alpha`), the log
    counts, log burden and log founding rate interpolated between them by monotone cubic (PCHIP)
    interpolation along ``alpha``. The founding rate is log-linear in ``alpha``, hence exact; the
    counts are smooth (log of a Laplace-type integral in ``alpha``), and the interpolant is within
    1e-3 of an exact solve of the colony counts at the diagnosis sizes (tests)."""

    _FIELDS = ("log_detect", "log_autopsy", "log_node", "log_established")

    def __init__(self, preset: Preset, grid: FloatArray = ALPHA_GRID) -> None:
        from scipy.interpolate import PchipInterpolator

        base = preset.shedding_spec or preset.shedding
        self.grid = np.asarray(grid, float)
        self.curves = [
            preset_curves(dataclasses.replace(preset, shedding=shedding_with_alpha(base, a))) for a in self.grid
        ]
        first = self.curves[0]
        stack = {f: np.stack([np.maximum(getattr(c, f), _LOG_FLOOR) for c in self.curves]) for f in self._FIELDS}
        stack["burden"] = np.stack([_log(c.burden).clip(_LOG_FLOOR) for c in self.curves])
        stack["shed"] = np.stack([_log(c.shed).clip(_LOG_FLOOR) for c in self.curves])
        self._interp = {f: PchipInterpolator(self.grid, v, axis=0) for f, v in stack.items()}
        self._first = first

    def __call__(self, alpha: float) -> PresetCurves:
        a = float(np.clip(alpha, self.grid[0], self.grid[-1]))
        out = {f: self._interp[f](a) for f in self._interp}
        logs = {f: np.where(out[f] <= _LOG_FLOOR + 1.0, -np.inf, out[f]) for f in self._FIELDS}
        return dataclasses.replace(self._first, **logs, burden=np.exp(out["burden"]), shed=np.exp(out["shed"]))


def _remaining_clock_counts(curves: PresetCurves, t_resection: float, n0: float) -> tuple[FloatArray, FloatArray]:
    """:math:`G(x) = N_r(T + x) - N(T)` on a grid of the remaining (median-patient) clock
    :math:`x` from 0 to the last colony's detection (founding stops at :math:`T`; then the
    longest delay and the growth time): the colonies that will reach the imaging size within
    :math:`x` clock-days of surgery."""
    assert curves.delay_t is not None
    x_max = float(curves.delay_t[-1]) + curves.tau_detect + 1.0
    x = np.linspace(0.0, x_max, 6001)
    g = np.maximum(resected_count(curves, t_resection, t_resection + x) - n0, 0.0)
    return x, np.maximum.accumulate(g)


def resected_count(curves: PresetCurves, t_resection: float, t: FloatArray, which: str = "detect") -> FloatArray:
    r"""Expected colonies above the imaging (``"detect"``) or nodal (``"node"``) threshold at
    times ``t`` of the median patient whose primary was removed at ``t_resection`` (days from
    the first cell), per unit founding probability, primary seeding only:

    .. math:: N(t) = \int_0^{\min(t_r, t)} b(s)\, F(t - s - \tau_x)\, ds,

    :math:`b` the primary's founding rate, :math:`F` the CDF of the delay from founding to
    deterministic growth (birth-death phase, then dormancy), :math:`\tau_x` the growth time
    from the entry size to the threshold. Equals the unresected count for :math:`t \le t_r`.
    Integrated by parts, :math:`N(t) = \int B(\min(t_r, t - \tau_x - d))\,dF(d)` with
    :math:`B` the cumulative founding (trapezoid on 4001 points of :math:`[0, t_r]`)."""
    if curves.shed is None or curves.delay_t is None or curves.delay_cdf is None:
        raise CalibrationError(f"{curves.preset}: curves without founding rates (built before resected_count)")
    tau = curves.tau_detect if which == "detect" else curves.tau_node
    t = np.atleast_1d(np.asarray(t, float))
    tr = float(min(t_resection, curves.t[-1]))
    # B(x) = int_0^x b: cumulative trapezoid on 4001 points of [0, t_r] (b is smooth)
    s = np.linspace(0.0, tr, 4001)
    b = np.interp(s, curves.t, curves.shed)
    cum = np.concatenate([[0.0], np.cumsum(0.5 * (b[1:] + b[:-1]) * np.diff(s))])
    # N(t) = int B(min(t_r, t - tau - d)) dF(d): the delay's atom at its first node, then its
    # piecewise-constant density step by step (midpoints), exact for a step CDF
    d, F = curves.delay_t, curves.delay_cdf
    mass = np.concatenate([[F[0]], np.diff(F)])
    at = np.concatenate([[d[0]], 0.5 * (d[1:] + d[:-1])])
    keep = mass > 0
    mass, at = mass[keep], at[keep]
    x = np.minimum(tr, t[:, None] - tau - at[None, :])
    return (np.interp(x, s, cum, left=0.0) * mass[None, :]).sum(axis=1)


def _exp_smooth(c: FloatArray, dt: float, lam: float) -> FloatArray:
    r""":math:`J(t) = \int_0^t \lambda e^{-\lambda u} C(t - u)\,du` on a uniform grid (step ``dt``,
    ``C`` linear between nodes, :math:`C = 0` before the grid): exact for that interpolant, by the
    first-order recursion :math:`J_k = E J_{k-1} + (1 - E - g) C_k + g C_{k-1}`,
    :math:`E = e^{-\lambda\Delta}`, :math:`g = (1 - E(1 + \lambda\Delta))/(\lambda\Delta)`."""
    from scipy.signal import lfilter

    x = lam * dt
    e = math.exp(-x)
    g = -math.expm1(-x) / x - e if x > 1e-8 else x / 2  # (1 - E(1 + x)) / x, stable for small x
    c = np.asarray(c, float)
    return lfilter([1.0 - e - g, g], [1.0, -e], c)


def with_dormancy_curves(curves: PresetCurves, probability: float, escape_per_day: float) -> PresetCurves:
    r"""``curves`` with immune dormancy after the birth-death phase (the delay law of
    :func:`~metacascade.model.establishment.with_dormancy`: held with ``probability``, escaping
    at ``escape_per_day``). Every count and the burden are a founding rate convolved with a
    function of the delay, so with dormancy each is :math:`(1 - p)C + p\,C * \lambda e^{-\lambda
    u}` (exact for ``C`` linear between the grid's nodes, :func:`_exp_smooth`); the delay table
    gets the dormancy tail (the nodes of the input table, then equal steps until
    :math:`1 - F < 10^{-9}`), :math:`F_{T+D} = F - pH` with :math:`H' = f - \lambda H` exact on
    each step. Dormant colonies count from their escape, as in both engines."""
    p, lam = float(probability), float(escape_per_day)
    if p == 0.0:
        return curves
    if curves.delay_t is None or curves.delay_cdf is None:
        raise CalibrationError(f"{curves.preset}: curves without a delay table")
    dt = float(curves.t[1] - curves.t[0])

    def mix(log_c: FloatArray) -> FloatArray:
        c = np.exp(log_c)
        return _log((1.0 - p) * c + p * _exp_smooth(c, dt, lam))

    burden = (1.0 - p) * curves.burden + p * _exp_smooth(curves.burden, dt, lam)
    size = curves.colony_size
    if size is not None and curves.colony_age is not None:
        da = float(curves.colony_age[1] - curves.colony_age[0])
        size = (1.0 - p) * size + p * _exp_smooth(size, da, lam)
    d, F = np.asarray(curves.delay_t, float), np.asarray(curves.delay_cdf, float)
    end = d[-1] + math.log(max(p, 1e-300) * 1e9) / lam
    tail = np.linspace(d[-1], end, 513)[1:] if end > d[-1] else np.zeros(0)
    t_new = np.concatenate([d, tail])
    f_new = np.concatenate([F, np.ones(tail.size)])
    steps = np.diff(t_new)
    rho = np.diff(f_new) / np.where(steps > 0, steps, 1.0)
    decay = np.exp(-lam * steps)
    h = np.zeros(t_new.size)
    h[0] = F[0]  # the mass at or below the first node (an atom there) enters H at once
    for k in range(steps.size):  # <= a few thousand steps, once per call
        h[k + 1] = h[k] * decay[k] + rho[k] * -np.expm1(-lam * steps[k]) / lam
    cdf = np.clip(f_new - p * h, 0.0, 1.0)
    cdf[-1] = 1.0
    return dataclasses.replace(
        curves,
        log_detect=mix(curves.log_detect),
        log_autopsy=mix(curves.log_autopsy),
        log_node=mix(curves.log_node),
        log_established=mix(curves.log_established),
        burden=burden,
        colony_size=size,
        delay_t=t_new,
        delay_cdf=np.maximum.accumulate(cdf),
    )


def operated_m1(m1: FloatArray, odds: float) -> FloatArray:
    r"""The M1 fraction among resected patients from the population's :math:`q = P(M1)`, when a patient
    with M1 at diagnosis is resected at ``odds`` (the odds ratio of resection, M1 against M0):
    :math:`q_{op} = s q / (s q + 1 - q)` (Bayes: resection multiplies the odds of M1 by :math:`s`).
    The SEER curves of :mod:`metacascade.data.reference` are of resected patients; :math:`s = 1`
    takes them as the population's."""
    q = np.asarray(m1, float)
    if not (0.0 < odds <= 1.0):
        raise CalibrationError(f"seer m1_operated_odds: got {odds!r}, allowed a number in (0, 1]")
    return q if odds == 1.0 else odds * q / (odds * q + 1.0 - q)


def early_founded_share(
    curves: PresetCurves, diameter_mm: float, primary_cells: float, years_after: float = 0.0
) -> float:
    r"""Share of the distant colonies above the imaging threshold that were founded while the
    primary had fewer than ``primary_cells`` cells, for a primary removed at ``diameter_mm`` and
    counted ``years_after`` years later (0: those detectable at diagnosis):
    :math:`N_{t_e}(t) / N_{t_D}(t)` with :math:`N_{t_r}` of :func:`resected_count`, :math:`t_e` the
    day the primary reaches ``primary_cells``. Primary seeding; the same for every patient (the
    founding multiplier cancels, and a patient growing ``v`` times faster is the median patient at
    the same size, time-rescaled)."""
    t_d = float(curves.time_at_diameter(np.array([diameter_mm]))[0])
    t_e = float(np.interp(math.log(primary_cells), np.log(np.maximum(curves.primary, 1e-300)), curves.t))
    t = np.array([t_d + 365.25 * float(years_after)])
    den = float(resected_count(curves, t_d, t)[0])
    return float(resected_count(curves, min(t_e, t_d), t)[0] / den) if den > 0 else math.nan


def organ_founding(curves: PresetCurves, soil: dict[str, float]) -> FloatArray:
    """Founding probability per shed cell in each organ, ``A_o s sigma_o``."""
    sigma = np.array([float(soil.get(o, 0.0)) for o in curves.organs])
    return curves.arrest * sigma


@dataclass(frozen=True)
class PopulationPrediction:
    """Population-averaged predictions of one preset (fractions of patients).

    ``m1_at_size``: P(detectable distant metastasis at diagnosis) at each diameter of
    ``diameters_mm``; ``node_at_size``: P(regional node metastasis above the nodal threshold);
    ``occult_at_size``: P(at least one established distant colony); ``n0m0_at_size``: P(neither a
    regional node metastasis above the nodal threshold nor a detectable distant one: N0 M0, the
    most a stage I fraction can be); ``autopsy``: per organ,
    P(metastasis above the autopsy size at death); ``death_day_median``: median day of death of
    competent patients (days from the first cell).
    """

    diameters_mm: FloatArray
    m1_at_size: FloatArray
    node_at_size: FloatArray
    occult_at_size: FloatArray
    n0m0_at_size: FloatArray
    autopsy: dict[str, float]
    death_day_median: float

    def site(self, site: str) -> float:
        """Autopsy probability of a site (organ groups: at least one of its organs, independent)."""
        organs = SITE_GROUPS.get(site, (site,))
        miss = 1.0
        for o in organs:
            miss *= 1.0 - self.autopsy[o]
        return 1.0 - miss


def _death_times(curves: PresetCurves, log_w: FloatArray, total_p: float) -> FloatArray:
    r"""Day of death (lethal total burden) of the patient at each node, primary seeding.

    The total burden :math:`X(t) + w\,p\,B(t)` grows in :math:`t` and in :math:`w`, so the grid
    point of the crossing is the first :math:`k` with :math:`w \ge w^*_k = (L - X_k) / (p B_k)`
    (a decreasing sequence: one sorted search for all nodes), then linear interpolation of the
    log burden inside that step."""
    x, b, lethal = curves.primary, curves.burden, curves.lethal
    with np.errstate(divide="ignore", invalid="ignore"):
        w_star = np.where(x >= lethal, 0.0, (lethal - x) / (total_p * b))
    w_star = np.where(np.isnan(w_star), np.inf, w_star)
    w_star = np.minimum.accumulate(w_star)  # guards against round-off; exact when monotone
    w = np.exp(log_w)
    k = np.searchsorted(-w_star, -w, side="left")  # first k with w_star[k] <= w
    k = np.clip(k, 1, curves.t.size - 1)
    g0 = np.log(x[k - 1] + w * total_p * b[k - 1])
    g1 = np.log(x[k] + w * total_p * b[k])
    frac = np.clip((math.log(lethal) - g0) / np.maximum(g1 - g0, 1e-300), 0.0, 1.0)
    return curves.t[k - 1] + frac * (curves.t[k] - curves.t[k - 1])


def alive_log_threshold(curves: PresetCurves, total_p: float, T: FloatArray) -> FloatArray:
    r"""ln of the largest all-organ founding multiplier :math:`w_c(T) = (L - X(T)) / (p B(T))` of a
    patient still alive when the primary reaches the median patient's size at day ``T``: her
    expected total burden :math:`X(T) + w\,p\,B(T)` is then below the lethal burden :math:`L`
    (-inf where the primary alone is lethal, +inf where nothing has been seeded)."""
    T = np.asarray(T, float)
    x = np.interp(T, curves.t, curves.primary)
    b = np.interp(T, curves.t, curves.burden)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_wc = np.where(x >= curves.lethal, -np.inf, np.log(np.maximum(curves.lethal - x, 0.0)) - np.log(total_p * b))
    return np.asarray(np.where(np.isnan(log_wc), np.inf, log_wc), dtype=np.float64)


def _alive_weights(
    curves: PresetCurves, log_w: FloatArray, omega: FloatArray, total_p: float, T: FloatArray, h: float
) -> FloatArray:
    r"""Quadrature weights of the patients still alive when the primary reaches each size.

    A patient dies before :math:`T` when :math:`X(T) + w\,p\,B(T) \ge L`, i.e. when :math:`w` (here
    the patient's all-organ founding multiplier, :math:`\sum_o w_o p_o / p`) exceeds
    :math:`w_c(T) = (L - X(T)) / (p B(T))`; the node whose cell (width ``h`` in :math:`\ln w`)
    contains :math:`\ln w_c` keeps the alive fraction of its cell (linear in the cell), so the
    weights are continuous in the parameters."""
    log_wc = alive_log_threshold(curves, total_p, T)
    if h <= 0:  # no spread: every node is the median patient
        frac = (log_w[:, None] < log_wc[None, :]).astype(float)
    else:
        frac = np.clip((log_wc[None, :] - (log_w[:, None] - 0.5 * h)) / h, 0.0, 1.0)
    return frac * omega[:, None]


def all_organ_log_w(log_w: FloatArray, log_wn: FloatArray, p_node: float, p_total: float) -> FloatArray:
    """ln of the all-organ founding multiplier (w (p - p_n) + w_n p_n) / p."""
    if p_total <= 0 or np.array_equal(log_w, log_wn):
        return log_w
    f = p_node / p_total
    return np.logaddexp(
        log_w + math.log1p(-f) if f < 1 else np.full_like(log_w, -np.inf),
        log_wn + math.log(f) if f > 0 else np.full_like(log_wn, -np.inf),
    )


def predict_population(
    curves: PresetCurves,
    soil: dict[str, float] | FloatArray,
    population: Population,
    diameters_mm: FloatArray,
    *,
    secondary: FloatArray | None = None,
    n_nodes: int = 321,
    n_nodal: int = 41,
    resected_at_mm: tuple[FloatArray, FloatArray] | None = None,
    node_residual: float = 1.0,
) -> PopulationPrediction:
    r"""Population-averaged predictions (see the module docstring) for soils ``soil`` (organ ->
        efficiency; or directly the founding probabilities per organ, an array) and ``population``.
        ``secondary``: multipliers (nodes x organs) of the autopsy counts for colonies founded by
        colonies (:func:`secondary_factors`, shared nodal multiplier only); None for primary seeding only.

        The regional nodes found colonies with the patient's nodal multiplier :math:`w_n`, every other
        organ with :math:`w` (:meth:`Population.joint_nodes`; one multiplier unless the population
        separates them): M1 and occult disease depend on :math:`w`, node positivity on :math:`w_n`,
        survival to a size (total burden) on both.

        ``resected_at_mm``: (diameters, weights) of the primaries at their resection. Then the
        autopsy is that of patients who died of the cancer after the primary was removed: those
        with at least one established colony at surgery (the others are cured), each colony grown
        past the autopsy size by death, so that site :math:`s` holds one with

        .. math:: P_s = rac{\sum_{ij} \omega_j
    u_i (1 - e^{-w_{js} p_s I(T_{D_i})})}
                             {\sum_{ij} \omega_j
    u_i (1 - e^{-\sum_o w_{jo} p_o I(T_{D_i})})}

        (:math:`I` the established colonies per unit founding probability, :math:`w_{jo}` node
        :math:`j`'s multiplier for organ :math:`o`; the competent fraction cancels). None: untreated
        natural history with the primary in place.

        ``node_residual`` (resected autopsy only): the fraction :math:`r` of the regional-node colonies
        present at surgery that the node dissection leaves (1: no dissection). The regional-node
        colonies' expected number is multiplied by :math:`r` in both the node site and the patients
        who die of the cancer (a patient whose only disease was in dissected nodes is cured), as the
        stochastic engine's ``surgery.nodes`` with ``nodes_left_fraction`` = :math:`r` removes each
        regional-node colony with probability :math:`1 - r`."""
    if not 0.0 <= node_residual <= 1.0:  # NaN fails the comparison too
        raise CalibrationError(f"node_residual: got {node_residual!r}, allowed a fraction in [0, 1]")
    p = organ_founding(curves, soil) if isinstance(soil, dict) else np.asarray(soil, float)
    organs = curves.organs
    node_idx = organs.index(NODE_ORGAN)
    distant = np.ones(len(organs), bool)
    distant[node_idx] = False
    log_w, log_wn, omega, h = population.joint_nodes(n_nodes, n_nodal)
    if secondary is not None and not population.nodal_shared:
        raise CalibrationError("secondary-seeding factors need a shared nodal multiplier")
    pi = population.competent_fraction
    p_total = float(p.sum())
    log_wa = all_organ_log_w(log_w, log_wn, float(p[node_idx]), p_total)
    log_w_org = np.repeat(log_w[:, None], len(organs), axis=1)  # nodes x organs
    log_w_org[:, node_idx] = log_wn
    td = _death_times(curves, log_wa, p_total)
    # autopsy
    if resected_at_mm is None:
        lam_aut = np.exp(log_w_org + curves.log_at("autopsy", td)[:, None]) * p[None, :]
        if secondary is not None:
            lam_aut = lam_aut * secondary
        autopsy = pi * (omega @ (-np.expm1(-lam_aut)))
    else:
        d_res, nu = (np.atleast_1d(np.asarray(a, float)) for a in resected_at_mm)
        nu = nu / nu.sum()
        log_i = curves.log_at("established", curves.time_at_diameter(d_res))  # sizes
        wt = omega[:, None] * nu[None, :]
        # who dies of the cancer after the resection: patients with any colony left at surgery
        # (the regional-node colonies that the dissection leaves included)
        p_left = p.copy()
        p_left[node_idx] *= node_residual
        p_left_total = float(p_left.sum())
        log_wl = all_organ_log_w(log_w, log_wn, float(p_left[node_idx]), p_left_total)
        dying = float(np.sum(wt * -np.expm1(-np.exp(log_wl[:, None] + log_i[None, :]) * p_left_total)))
        if population.nodal_shared:
            lam = np.exp(log_w_org[:, None, :] + log_i[None, :, None]) * p_left[None, None, :]  # nodes x sizes x organs
            autopsy = np.einsum("ij,ijo->o", wt, -np.expm1(-lam)) / max(dying, 1e-300)
        else:  # the organs other than the nodes depend on ln w only: sum the grid's nodal axis first
            lw1 = log_w.reshape(n_nodes, -1)[:, 0]
            wt1 = omega.reshape(n_nodes, -1).sum(axis=1)[:, None] * nu[None, :]
            lam = np.exp(lw1[:, None, None] + log_i[None, :, None]) * p[None, None, :]
            autopsy = np.einsum("ij,ijo->o", wt1, -np.expm1(-lam))
            lam_n = np.exp(log_wn[:, None] + log_i[None, :]) * p_left[node_idx]
            autopsy[node_idx] = float(np.sum(wt * -np.expm1(-lam_n)))
            autopsy = autopsy / max(dying, 1e-300)
    # at diagnosis
    diam = np.atleast_1d(np.asarray(diameters_mm, float))
    T = curves.time_at_diameter(diam)
    alive = _alive_weights(curves, log_wa, omega, p_total, T, h)  # nodes x sizes
    denom = pi * alive.sum(axis=0) + (1.0 - pi)

    def count(which: str, mass: float, lw: FloatArray) -> FloatArray:  # expected colonies, nodes x sizes
        return np.exp(lw[:, None] + curves.log_at(which, T)[None, :]) * mass

    def prob(lam: FloatArray) -> FloatArray:
        return pi * (alive * -np.expm1(-lam)).sum(axis=0) / denom

    p_dist = float(p[distant].sum())
    order = np.argsort(td)
    cdf = np.cumsum(omega[order])
    lam_m1, lam_node = count("detect", p_dist, log_w), count("node", float(p[node_idx]), log_wn)
    n0m0 = (pi * (alive * np.exp(-(lam_m1 + lam_node))).sum(axis=0) + (1.0 - pi)) / denom
    return PopulationPrediction(
        diameters_mm=diam,
        m1_at_size=prob(lam_m1),
        node_at_size=prob(lam_node),
        n0m0_at_size=n0m0,
        occult_at_size=prob(count("established", p_dist, log_w)),
        autopsy=dict(zip(organs, map(float, autopsy))),
        death_day_median=float(td[order][np.searchsorted(cdf, 0.5)]),
    )


def scenario_curves(scenario: Any) -> PresetCurves:
    """:class:`PresetCurves` of a whole-body ``scenario``'s median patient: its growth, shedding,
    birth-death phase and ``[host]`` dormancy (:func:`~metacascade.scenario.delay_of`, as in
    both engines), lethal burden and imaging size (the preset's autopsy size, the nodal
    threshold NODE_DETECTION_MM); founding probabilities are the scenario's routing."""
    from metacascade.presets import get_preset
    from metacascade.scenario import delay_of

    sc = scenario
    preset = get_preset(sc.patient.cancer)
    delay = delay_of(sc, sc.patient.age_of_primary_days + sc.engine.horizon_days)
    return curves_of(
        sc.patient.cancer,
        sc.model,
        delay,
        lethal=sc.lethal_burden_cells,
        cells_per_mm3=sc.cells_per_mm3,
        detection_cells=sc.detection_cells,
        autopsy_cells=diameter_to_cells(preset.autopsy_detection_diameter_mm, sc.cells_per_mm3),
        node_cells=diameter_to_cells(NODE_DETECTION_MM, sc.cells_per_mm3),
        arrest=np.zeros(len(sc.organs)),
        organs=sc.organs,
    )


def _exp_at(curves: PresetCurves, which: str, diameter_mm: FloatArray) -> float:
    """The median patient's colonies of kind ``which`` per unit founding probability when her
    primary reaches ``diameter_mm`` (one size)."""
    return float(np.exp(curves.log_at(which, curves.time_at_diameter(diameter_mm))[0]))


def population_at_diagnosis(
    scenario: Any, *, n_nodes: int = 321, curves: PresetCurves | None = None
) -> dict[str, Any] | None:
    """Population-averaged state at diagnosis of a whole-body ``scenario`` (its primary size, its
    growth, shedding and routing; the population of ``scenario.population``): the fraction of
    patients with a detectable distant metastasis, an occult (established) distant colony and a
    regional node metastasis (above 0.2 mm, NODE_DETECTION_MM), with the expected and median numbers of established
    distant colonies, and the distant relapse 5, 10 and 15 years after surgery alone on the day of
    diagnosis (:func:`predict_relapse`). None for one-organ scenarios. ``curves``: the scenario's
    :func:`scenario_curves`, when the caller has them already."""
    from metacascade.presets import get_preset

    sc = scenario
    if not get_preset(sc.patient.cancer).whole_body or NODE_ORGAN not in sc.organs:
        return None
    pop = sc.population if sc.population is not None else Population()
    curves = scenario_curves(sc) if curves is None else curves
    p = np.asarray(sc.routing.primary, float)
    d = np.array([sc.patient.primary_diameter_mm])
    pred = predict_population(curves, p, pop, d, n_nodes=n_nodes)
    node_idx = sc.organs.index(NODE_ORGAN)
    p_dist = float(p.sum() - p[node_idx])
    i_est = _exp_at(curves, "established", d)
    lam1 = p_dist * i_est
    pi = pop.competent_fraction
    # the mean over the patients alive at diagnosis (those with the largest founding multipliers
    # died of their disease before the primary reached this size; the log-normal's own mean
    # exp(sd^2 / 2) is dominated by them and is not a patient's number)
    log_w, log_wn, omega, h = pop.joint_nodes(n_nodes)
    log_wa = all_organ_log_w(log_w, log_wn, float(p[node_idx]), float(p.sum()))
    alive = _alive_weights(curves, log_wa, omega, float(p.sum()), curves.time_at_diameter(d), h)[:, 0]
    mean = pi * float(np.sum(alive * np.exp(log_w))) * lam1 / (pi * float(alive.sum()) + 1.0 - pi)
    return {
        "primary_diameter_mm": float(d[0]),
        "population": {
            "competent_fraction": pi,
            "dissemination_sd_log": pop.dissemination_sd_log,
            "growth_sd_log": pop.growth_sd_log,
        },
        "p_detectable_distant_metastasis": float(pred.m1_at_size[0]),
        "p_occult_distant_colony": float(pred.occult_at_size[0]),
        "p_regional_node_metastasis": float(pred.node_at_size[0]),
        "expected_established_distant_colonies": mean,
        "median_established_distant_colonies_competent": lam1,
        "median_established_node_colonies_competent": float(p[node_idx]) * i_est,
        "median_detectable_distant_colonies_competent": p_dist * _exp_at(curves, "detect", d),
        "median_node_positive_colonies_competent": float(p[node_idx]) * _exp_at(curves, "node", d),
        # resection on the day of diagnosis, no adjuvant therapy, among patients M0 at surgery
        "p_distant_relapse_after_surgery_alone": dict(
            zip(
                ("5y", "10y", "15y"),
                map(float, predict_relapse(curves, p, pop, float(d[0]), [5.0, 10.0, 15.0]).cumulative),
            )
        ),
        "method": "quadrature over the population (primary seeding, Poisson colonies; "
        f"{n_nodes} nodes in ln(founding multiplier / growth multiplier))",
    }


@dataclass(frozen=True)
class UVYGrid:
    """Quadrature over competent patients in (founding, growth, nodal) standard normals: nodes
    ``zu`` of ln u, growth nodes ``zv`` with weights ``wv`` and ``log_v`` = ln v, and on the
    u x v x y grid ``log_w`` = ln(u / v), ``log_wn`` = ln(u_n / v) and the product ``weight``
    (the nodal axis has one node when the multiplier is shared, the growth axis when v has no
    spread)."""

    zu: FloatArray
    zv: FloatArray
    wv: FloatArray
    log_v: FloatArray
    log_w: FloatArray
    log_wn: FloatArray
    weight: FloatArray


def uvy_grid(population: Population, n_u: int, n_v: int, n_y: int) -> UVYGrid:
    """The (u, v, y) quadrature of :func:`predict_relapse` and of survival (:class:`UVYGrid`)."""
    zu, wu = log_normal_nodes(n_u)
    zv, wv = log_normal_nodes(n_v) if population.growth_sd_log > 0 else (np.zeros(1), np.ones(1))
    shared = population.nodal_shared
    zy, wy = (np.zeros(1), np.ones(1)) if shared else log_normal_nodes(n_y)
    su, sv = population.dissemination_sd_log, population.growth_sd_log
    log_v = sv * zv
    log_w = (su * zu[:, None] - log_v[None, :])[:, :, None] + np.zeros(zy.size)  # u x v x y
    if shared:
        log_wn = log_w
    else:
        log_un = population.nodal_log_u(zu[:, None], zy[None, :])  # u x y
        log_wn = log_un[:, None, :] - log_v[None, :, None]
    weight = wu[:, None, None] * wv[None, :, None] * wy[None, None, :]
    return UVYGrid(zu, zv, wv, log_v, log_w, log_wn, weight)


@dataclass(frozen=True)
class RelapsePrediction:
    """Distant relapse after resection at ``diameter_mm`` of patients free of detectable distant
    metastasis at surgery (``nodes``: all, or only node-negative / node-positive ones, at the
    nodal threshold NODE_DETECTION_MM): ``cumulative[k]`` = P(detectable distant metastasis by
    ``years[k]`` after surgery), before any death from other causes (as distant-metastasis-free
    survival is estimated, Kaplan-Meier with those deaths censored)."""

    diameter_mm: float
    nodes: str
    years: FloatArray
    cumulative: FloatArray


def predict_relapse(
    curves: PresetCurves,
    soil: dict[str, float] | FloatArray,
    population: Population,
    diameter_mm: float,
    years: FloatArray,
    *,
    nodes: str = "all",
    n_u: int = 161,
    n_v: int = 41,
    n_y: int = 21,
    therapy: EndocrineArm | None = None,
) -> RelapsePrediction:
    r"""Population-averaged distant relapse after resection of the primary (and the regional
    nodes) at ``diameter_mm``, primary seeding only.

    A patient with founding multiplier :math:`u` and growth multiplier :math:`v` lives the median
    patient's path with time scaled by :math:`1/v` (the time-rescaling identity of
    :mod:`metacascade.model.population`, which this extends to the delay of dormant colonies):
    at surgery (median time :math:`T_D`) her expected distant colonies above the imaging size
    number :math:`w\,p\,N(T_D)`, :math:`w = u/v`, and :math:`t` years later
    :math:`w\,p\,N_r(T_D + v t)` (:func:`resected_count`: colonies founded before surgery only).
    With Poisson colonies, among patients alive and M0 at surgery

    .. math:: P(t) = \frac{\pi \sum_{jk} \omega_j \omega_k a_{jk} c_{jk} e^{-w p N(T_D)}
                         (1 - e^{-w p (N_r(T_D + v_k t) - N(T_D))})}
                         {\pi \sum_{jk} \omega_j \omega_k a_{jk} c_{jk} e^{-w p N(T_D)} + (1 - \pi) c_0},

    :math:`a` alive at :math:`T_D`, :math:`c` the nodal condition (1; :math:`e^{-w p_n N_n}` for
    node-negative; :math:`1 - e^{-w p_n N_n}` for node-positive; :math:`c_0` that of a
    non-competent tumour: 1, 1, 0), with the nodal multiplier :math:`w_n` in :math:`c` and in the
    total burden (:meth:`Population.joint_nodes`). A quadrature on :math:`(z_u, z_v)`, and the
    nodal multiplier's own normal variable when the population separates it.

    ``therapy``: an adjuvant endocrine arm from the day of surgery
    (:class:`~metacascade.model.endocrine.EndocrineArm`); each of its patient classes replaces
    :math:`N_r(T_D + v t) - N(T_D)` by the detected, surviving colonies of
    :func:`~metacascade.model.endocrine.treated_detections`, and the relapse is the classes'
    mixture."""
    if nodes not in ("all", "negative", "positive"):
        raise CalibrationError(f"nodes: got {nodes!r}, allowed 'all', 'negative', 'positive'")
    p = organ_founding(curves, soil) if isinstance(soil, dict) else np.asarray(soil, float)
    node_idx = curves.organs.index(NODE_ORGAN)
    p_node = float(p[node_idx])
    p_dist = float(p.sum() - p_node)
    years = np.atleast_1d(np.asarray(years, float))
    g = uvy_grid(population, n_u, n_v, n_y)
    zu, log_v, log_w, log_wn, wt = g.zu, g.log_v, g.log_w, g.log_wn, g.weight
    su = population.dissemination_sd_log
    T = float(curves.time_at_diameter(np.array([diameter_mm]))[0])
    # alive at surgery: total burden below the lethal burden (smoothed over the u-cell)
    if float(np.interp(T, curves.t, curves.primary)) >= curves.lethal:
        raise CalibrationError(f"{curves.preset}: a primary of {diameter_mm} mm exceeds the lethal burden")
    p_total = float(p.sum())
    log_wa = all_organ_log_w(log_w, log_wn, p_node, p_total)
    h = su * float(zu[1] - zu[0]) if su > 0 else 0.0
    alive = _alive_weights(curves, log_wa.ravel(), np.ones(log_wa.size), p_total, np.array([T]), h)
    alive = alive[:, 0].reshape(log_wa.shape)
    w = np.exp(log_w)
    n0 = float(np.exp(curves.log_at("detect", np.array([T]))[0]))
    nn = float(np.exp(curves.log_at("node", np.array([T]))[0]))
    m0 = np.exp(-w * p_dist * n0)
    if nodes == "all":
        cond, c0 = np.ones_like(w), 1.0
    elif nodes == "negative":
        cond, c0 = np.exp(-np.exp(log_wn) * p_node * nn), 1.0
    else:
        cond, c0 = -np.expm1(-np.exp(log_wn) * p_node * nn), 0.0
    base = wt * alive * cond * m0  # u x v x y
    nr = resected_count(curves, T, (T + 365.25 * np.exp(log_v)[:, None] * years[None, :]).ravel())
    nr = nr.reshape(log_v.size, years.size)
    extra = np.maximum(nr - n0, 0.0)  # v x years
    # the relapse depends on (u, v) only: sum the nodal axis of the weights first
    base_uv = base.sum(axis=2)
    wp = (w[:, :, 0] * p_dist)[:, :, None]
    if therapy is None:
        rel = -np.expm1(-wp * extra[None, :, :])  # u x v x years
    else:
        x, g = _remaining_clock_counts(curves, T, n0)
        rel = np.zeros((log_w.shape[0], log_v.size, years.size))
        for share, courses in therapy.classes():
            if share > 0.0:
                e = treated_detections(x, g, np.exp(log_v), courses, years)  # v x years
                rel += share * -np.expm1(-wp * e[None, :, :])
    pi = population.competent_fraction
    num = pi * np.einsum("uv,uvk->k", base_uv, rel)
    den = pi * float(base.sum()) + (1.0 - pi) * c0
    return RelapsePrediction(
        diameter_mm=float(diameter_mm),
        nodes=nodes,
        years=years,
        cumulative=num / den if den > 0 else np.full(years.size, np.nan),
    )
