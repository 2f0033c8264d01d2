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
from metacascade.model.population import Population
from metacascade.presets import SITE_GROUPS, Preset
from metacascade.scenario import diameter_to_cells, model_from_preset

__all__ = [
    "NODE_ORGAN",
    "PopulationPrediction",
    "PresetCurves",
    "curves_of",
    "organ_founding",
    "predict_population",
    "preset_curves",
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
    primary: FloatArray           # primary cells
    log_detect: FloatArray        # colonies above the imaging threshold
    log_autopsy: FloatArray       # colonies above the autopsy size
    log_node: FloatArray          # colonies above the nodal (pathology) threshold
    log_established: FloatArray   # colonies past the birth-death phase (occult disease)
    burden: FloatArray            # cells in colonies
    arrest: FloatArray            # per organ: A_o * early survival (founding probability per unit soil)
    organs: tuple[str, ...]
    lethal: float
    t_primary_lethal: float

    cells_per_mm3: float = 1e6

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


def preset_curves(preset: Preset, body: BodyGraph | None = None, switch_cells: float = 1000.0,
                  node_diameter_mm: float = NODE_DETECTION_MM) -> PresetCurves:
    """One deterministic solve of ``preset``'s median patient (one organ, unit founding
    probability, primary seeding only, birth-death phase to ``switch_cells``); cached per
    process for the shipped body graph."""
    key = repr((preset.growth_law, sorted(preset.growth.items()), sorted(preset.shedding.items()),
                preset.colony_size0_cells, preset.cells_per_mm3, preset.detection_diameter_mm,
                preset.autopsy_detection_diameter_mm, preset.lethal_burden_cells, sorted(preset.routes.items())
                if preset.routes else None, switch_cells, node_diameter_mm))
    if body is None and key in _CURVES:
        return _CURVES[key]
    out = _preset_curves(preset, body, switch_cells, node_diameter_mm)
    if body is None:
        _CURVES[key] = out
    return out


def _preset_curves(preset: Preset, body: BodyGraph | None, switch_cells: float,
                   node_diameter_mm: float) -> PresetCurves:
    from metacascade.model.establishment import Establishment

    body = default_body_graph() if body is None else body
    if preset.routes is None:
        raise CalibrationError(f"preset {preset.name!r} has no body routes; population predictions need a "
                               "whole-body preset")
    model = model_from_preset(preset)
    est = Establishment(model.colony_growth, model.colony_size0, float(switch_cells), float(body.early_survival))
    cpm = preset.cells_per_mm3
    arrest = body.routing({o: 1.0 for o in body.organs}, preset.routes).primary  # = A_o * s at unit soil
    return curves_of(preset.name, model, est, lethal=preset.lethal_burden_cells, cells_per_mm3=cpm,
                     detection_cells=diameter_to_cells(preset.detection_diameter_mm, cpm),
                     autopsy_cells=diameter_to_cells(preset.autopsy_detection_diameter_mm, cpm),
                     node_cells=diameter_to_cells(node_diameter_mm, cpm), arrest=np.asarray(arrest, float),
                     organs=body.organs)


def curves_of(name: str, model: Any, establishment: Any, *, lethal: float, cells_per_mm3: float,
              detection_cells: float, autopsy_cells: float, node_cells: float, arrest: FloatArray,
              organs: tuple[str, ...]) -> PresetCurves:
    """:class:`PresetCurves` of any median patient (``model``'s growth and shedding, primary
    seeding only, the birth-death phase ``establishment``)."""
    from metacascade.engines.organs import solve_organs

    model = dataclasses.replace(model, secondary_seeding=False)
    law = model.primary_growth
    if not lethal < law.capacity:
        raise CalibrationError(f"{name}: lethal_burden_cells {lethal:g} must be below the growth capacity "
                               f"{law.capacity:g}")
    t_end = float(law.time_to_size(model.primary_size0, lethal))
    est = None if establishment is None or establishment.trivial else establishment
    sol = solve_organs(model, ("x",), [1.0], None, t_end, rtol=1e-7, establishment=est)
    t = np.linspace(0.0, t_end, _N_GRID)
    one = lambda a: np.asarray(a, float)[..., 0]
    return PresetCurves(
        preset=name, t=t, primary=np.asarray(law.solve(model.primary_size0, t), float),
        log_detect=_log(one(sol.n_above(t, detection_cells))), log_autopsy=_log(one(sol.n_above(t, autopsy_cells))),
        log_node=_log(one(sol.n_above(t, node_cells))), log_established=_log(one(sol.n_total(t))),
        burden=np.maximum(one(sol.burden(t)), 0.0), arrest=np.asarray(arrest, float), organs=tuple(organs),
        lethal=float(lethal), t_primary_lethal=t_end, cells_per_mm3=float(cells_per_mm3))


def organ_founding(curves: PresetCurves, soil: dict[str, float]) -> FloatArray:
    """Founding probability per shed cell in each organ, ``A_o s sigma_o``."""
    sigma = np.array([float(soil.get(o, 0.0)) for o in curves.organs])
    return curves.arrest * sigma


@dataclass(frozen=True)
class PopulationPrediction:
    """Population-averaged predictions of one preset (fractions of patients).

    ``m1_at_size``: P(detectable distant metastasis at diagnosis) at each diameter of
    ``diameters_mm``; ``node_at_size``: P(regional node metastasis above the nodal threshold);
    ``occult_at_size``: P(at least one established distant colony); ``autopsy``: per organ,
    P(metastasis above the autopsy size at death); ``death_day_median``: median day of death of
    competent patients (days from the first cell).
    """

    diameters_mm: FloatArray
    m1_at_size: FloatArray
    node_at_size: FloatArray
    occult_at_size: FloatArray
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


def _alive_weights(curves: PresetCurves, population: Population, log_w: FloatArray, omega: FloatArray,
                   total_p: float, T: FloatArray) -> FloatArray:
    r"""Quadrature weights of the patients still alive when the primary reaches each size.

    A patient dies before :math:`T` when :math:`X(T) + w\,p\,B(T) \ge L`, i.e. when :math:`w` exceeds
    :math:`w_c(T) = (L - X(T)) / (p B(T))`; the node whose cell contains :math:`\ln w_c` keeps the
    alive fraction of its cell (linear in the cell), so the weights are continuous in the parameters."""
    x = np.interp(T, curves.t, curves.primary)
    b = np.interp(T, curves.t, curves.burden)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_wc = np.where(x >= curves.lethal, -np.inf, np.log(np.maximum(curves.lethal - x, 0.0))
                          - np.log(total_p * b))
    log_wc = np.where(np.isnan(log_wc), np.inf, log_wc)
    if log_w.size > 1:
        h = float(log_w[1] - log_w[0])
    else:
        h = 1.0
    if h <= 0:  # no spread: every node is the median patient
        frac = (log_w[:, None] < log_wc[None, :]).astype(float)
    else:
        frac = np.clip((log_wc[None, :] - (log_w[:, None] - 0.5 * h)) / h, 0.0, 1.0)
    return frac * omega[:, None]


def predict_population(curves: PresetCurves, soil: dict[str, float] | FloatArray,
                       population: Population,
                       diameters_mm: FloatArray, *, secondary: FloatArray | None = None,
                       n_nodes: int = 321, resected_at_mm: tuple[FloatArray, FloatArray] | None = None
                       ) -> PopulationPrediction:
    """Population-averaged predictions (see the module docstring) for soils ``soil`` (organ ->
    efficiency; or directly the founding probabilities per organ, an array) and ``population``. ``secondary``: multipliers (nodes x organs) of the autopsy
    counts for colonies founded by colonies (:func:`secondary_factors`); None for primary seeding only.

    ``resected_at_mm``: (diameters, weights) of the primaries at their resection. Then the
    autopsy is that of patients who died of the cancer after the primary was removed: those
    with at least one established colony at surgery (the others are cured), each colony grown
    past the autopsy size by death, so that site :math:`s` holds one with

    .. math:: P_s = \frac{\\sum_{ij} \\omega_j \nu_i (1 - e^{-w_j p_s I(T_{D_i})})}
                         {\\sum_{ij} \\omega_j \nu_i (1 - e^{-w_j p I(T_{D_i})})}

    (:math:`I` the established colonies per unit founding probability, :math:`p = \\sum_o p_o`;
    the competent fraction cancels). None: untreated natural history with the primary in place."""
    p = organ_founding(curves, soil) if isinstance(soil, dict) else np.asarray(soil, float)
    organs = curves.organs
    node_idx = organs.index(NODE_ORGAN)
    distant = np.ones(len(organs), bool)
    distant[node_idx] = False
    log_w, omega = population.w_nodes(n_nodes)
    pi = population.competent_fraction
    td = _death_times(curves, log_w, float(p.sum()))
    # autopsy
    if resected_at_mm is None:
        lam_aut = np.exp(log_w[:, None] + curves.log_at("autopsy", td)[:, None]) * p[None, :]
        if secondary is not None:
            lam_aut = lam_aut * secondary
        autopsy = pi * (omega @ (-np.expm1(-lam_aut)))
    else:
        d_res, nu = (np.atleast_1d(np.asarray(a, float)) for a in resected_at_mm)
        nu = nu / nu.sum()
        log_i = curves.log_at("established", curves.time_at_diameter(d_res))  # sizes
        scale = np.exp(log_w[:, None] + log_i[None, :])  # nodes x sizes
        wt = omega[:, None] * nu[None, :]
        # who dies of the cancer after the resection: patients with any colony at surgery (regional
        # node disease included; counting only distant colonies fits the breast data worse by 360
        # log-likelihood units with the same parameters)
        dying = float(np.sum(wt * -np.expm1(-scale * float(p.sum()))))
        autopsy = np.einsum("ij,ijo->o", wt, -np.expm1(-scale[:, :, None] * p[None, None, :])) / max(dying, 1e-300)
    # at diagnosis
    diam = np.atleast_1d(np.asarray(diameters_mm, float))
    T = curves.time_at_diameter(diam)
    alive = _alive_weights(curves, population, log_w, omega, float(p.sum()), T)  # nodes x sizes
    denom = pi * alive.sum(axis=0) + (1.0 - pi)

    def prob(which: str, mass: float) -> FloatArray:
        lam = np.exp(log_w[:, None] + curves.log_at(which, T)[None, :]) * mass
        return pi * (alive * -np.expm1(-lam)).sum(axis=0) / denom

    p_dist = float(p[distant].sum())
    order = np.argsort(td)
    cdf = np.cumsum(omega[order])
    return PopulationPrediction(
        diameters_mm=diam, m1_at_size=prob("detect", p_dist), node_at_size=prob("node", float(p[node_idx])),
        occult_at_size=prob("established", p_dist), autopsy=dict(zip(organs, map(float, autopsy))),
        death_day_median=float(td[order][np.searchsorted(cdf, 0.5)]))


def population_at_diagnosis(scenario: Any, *, n_nodes: int = 321) -> dict[str, Any] | None:
    """Population-averaged state at diagnosis of a whole-body ``scenario`` (its primary size, its
    growth, shedding and routing; the population of ``scenario.population``): the fraction of
    patients with a detectable distant metastasis, an occult (established) distant colony and a
    regional node metastasis (above 0.2 mm, NODE_DETECTION_MM), with the expected and median numbers of established
    distant colonies. None for one-organ scenarios."""
    from metacascade.presets import get_preset
    from metacascade.scenario import establishment_of

    sc = scenario
    preset = get_preset(sc.patient.cancer)
    if not preset.whole_body or NODE_ORGAN not in sc.organs:
        return None
    pop = sc.population if sc.population is not None else Population()
    curves = curves_of(sc.patient.cancer, sc.model, establishment_of(sc), lethal=sc.lethal_burden_cells,
                       cells_per_mm3=sc.cells_per_mm3, detection_cells=sc.detection_cells,
                       autopsy_cells=diameter_to_cells(preset.autopsy_detection_diameter_mm, sc.cells_per_mm3),
                       node_cells=diameter_to_cells(NODE_DETECTION_MM, sc.cells_per_mm3), arrest=np.zeros(len(sc.organs)),
                       organs=sc.organs)
    p = np.asarray(sc.routing.primary, float)
    d = np.array([sc.patient.primary_diameter_mm])
    pred = predict_population(curves, p, pop, d, n_nodes=n_nodes)
    node_idx = sc.organs.index(NODE_ORGAN)
    p_dist = float(p.sum() - p[node_idx])
    lam1 = p_dist * float(np.exp(curves.log_at("established", curves.time_at_diameter(d))[0]))
    pi = pop.competent_fraction
    mean = pi * float(np.exp(0.5 * pop.effective_sd_log ** 2)) * lam1 if pop.effective_sd_log < 25 else float("inf")
    return {
        "primary_diameter_mm": float(d[0]),
        "population": {"competent_fraction": pi, "dissemination_sd_log": pop.dissemination_sd_log,
                       "growth_sd_log": pop.growth_sd_log},
        "p_detectable_distant_metastasis": float(pred.m1_at_size[0]),
        "p_occult_distant_colony": float(pred.occult_at_size[0]),
        "p_regional_node_metastasis": float(pred.node_at_size[0]),
        "expected_established_distant_colonies": mean,
        "median_established_distant_colonies_competent": lam1,
        "method": "quadrature over the population (primary seeding, Poisson colonies; "
                  f"{n_nodes} nodes in ln(founding multiplier / growth multiplier))",
    }
