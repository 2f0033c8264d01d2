r"""Joint calibration of a whole-body preset: where (DiSibio 2008 autopsies), when (SEER, M1 at
diagnosis by size) and who (between-patient variation).

The log-likelihood of a preset is binomial in both data sets:

.. math:: \ell = \sum_{s} \big[k_s \ln P_s + (n - k_s) \ln(1 - P_s)\big]
          + \sum_{b} \big[m_b \ln Q_b + (N_b - m_b) \ln(1 - Q_b)\big],

:math:`k_s` the autopsies of the preset's DiSibio row(s) with a metastasis in site :math:`s` out
of :math:`n`, :math:`m_b` the SEER patients of size bin :math:`b` with M1 at diagnosis out of
:math:`N_b`; :math:`P_s` and :math:`Q_b` are the population-averaged predictions of
:mod:`metacascade.workflows.population_model`. Free parameters (fitted scale): the log soil of
every autopsy site of :data:`DISIBIO_SITES`, and, where the preset has a SEER curve, the
logit of the competent fraction, the log of the dissemination spread and the size exponent
:math:`\alpha` of the colonisation rate :math:`m X^\alpha` (in [0, 1]; ``m`` re-referenced so that
the rate at 10^9 cells is the sourced one: :func:`~metacascade.workflows.population_model.shedding_with_alpha`;
the curves at any :math:`\alpha` from exact solves at 12 exponents, :class:`AlphaCurves`). The
exponent sets how much of the seeding happens while the primary is small, which fixes the ratio
of M1 at diagnosis (early colonies, grown to the imaging size) to the autopsy frequencies and the
relapse after surgery (all colonies); with :math:`\alpha = 1` the presets could meet the SEER
curves only by making one or two sites near-certain at autopsy. With ``calibration.dormancy =
true`` (no shipped preset: on breast it drove every colony dormant, docs/science/presets.md) the
probability that a new colony is held dormant and its escape rate are fitted as well (logit and log scale;
:func:`~metacascade.workflows.population_model.with_dormancy_curves`). The SEER bins are of resected
patients: with ``calibration.seer_selection = true`` (and a relapse series, which identifies it)
the odds ratio :math:`s` of resection for a patient with M1 at diagnosis is fitted (log scale) and
:math:`Q_b` is the resected patients' fraction :math:`s q / (s q + 1 - q)` of the population's
:math:`q` (:func:`~metacascade.workflows.population_model.operated_m1`); else :math:`s = 1`. The growth spread is
sourced (doubling-time variation; it adds to the dissemination spread at a given size and is
not separately identified by either data set). A preset without a SEER curve takes the
population of the preset named in its ``calibration.population_from`` (its time scale is then
not calibrated, which the validation output says).

Colonies founded by colonies: the fit alternates with the full organ-resolved engine, which
gives per node and organ the ratio of all colonies to primary-founded ones at death
(``secondary_factors``); two rounds change the log-likelihood by < 0.1 for every preset.

``metacascade presets calibrate`` writes the fits to ``presets/calibrated.toml`` (values rounded
to 6 significant digits, so a rerun regenerates the file bit for bit; ``--check`` compares).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np

from metacascade.calibration.core import Parameter, Template
from metacascade.errors import CalibrationError
from metacascade.model.population import Population
from metacascade.presets import Preset, get_preset, load_presets
from metacascade.workflows.population_model import (
    AlphaCurves,
    PopulationPrediction,
    PresetCurves,
    operated_m1,
    predict_population,
    preset_curves,
    shedding_with_alpha,
    with_dormancy_curves,
)

__all__ = [
    "CALIBRATED_PATH",
    "DISIBIO_SITES",
    "CalibrationData",
    "PresetFit",
    "calibrate_preset",
    "calibrate_presets",
    "calibration_data",
    "fit_from_calibrated",
    "format_calibrated",
    "log_likelihood",
]

CALIBRATED_PATH = Path(str(files("metacascade.presets").joinpath("calibrated.toml")))

# DiSibio & French 2008 column -> autopsy site of the body graph (a site may span organs: SITE_GROUPS)
DISIBIO_SITES: dict[str, str] = {
    "adrenal": "adrenal",
    "bone": "bone",
    "brain": "brain",
    "heart": "heart",
    "kidney": "kidney",
    "liver": "liver",
    "lung": "lung",
    "lymph_nodes_regional": "lymph_regional",
    "lymph_nodes_distant": "lymph_distant",
    "peritoneum": "peritoneum",
    "pleura": "pleura",
    "skeletal muscle": "muscle",
    "skin": "skin_soft_tissue",
}
_LOG_SOIL = (-40.0, 0.0)
_LOGIT_PI = (-8.0, 8.0)
_LOG_SIGMA = (math.log(0.05), math.log(30.0))
_ATANH_RHO = (-3.0, 3.0)  # nodal correlation in (-0.995, 0.995)
#: Size exponent of the colonisation rate: from size-independent founding (0) to founding in
#: proportion to the cell number (1); the surface-limited 2/3 and Iwata et al. 2000's fitted 0.663
#: (hepatocellular carcinoma, the shedding module's source) lie inside.
_ALPHA = (0.0, 1.0)
_ALPHA_START = 0.5
#: Colony dormancy (``calibration.dormancy = true``): logit of the probability that a new colony is
#: held dormant, log of its escape rate; mean dormancy from 30 days to 30 years.
_LOGIT_DORMANT = (-8.0, 8.0)
_LOG_ESCAPE = (math.log(1.0 / (30 * 365.25)), math.log(1.0 / 30.0))
_DORMANCY_START = (0.0, math.log(1.0 / 730.0))
#: Odds ratio of resection for a patient with M1 at diagnosis against one without
#: (``calibration.seer_selection``): log scale, from 1/1000 to 1 (equal odds); start 0.1.
_LOG_M1_ODDS = (math.log(1e-3), 0.0)
_M1_ODDS_START = math.log(0.1)
#: Regional-node dissection at the autopsy patients' resection (``calibration.node_dissection =
#: true``): logit of the fraction of regional-node colonies it leaves; start 0.1.
_LOGIT_NODE_RESIDUAL = (-10.0, 10.0)
_NODE_RESIDUAL_START = math.log(0.1 / 0.9)
#: Speed of the growth clock against presets.toml's growth (``calibration.survival``): log scale,
#: from 1/5 to 20 times; start 1. The soils are fitted per unit speed (soil / speed), so a change of
#: speed alone leaves every quantity at a primary size, hence the autopsy and SEER likelihood,
#: unchanged (:func:`~metacascade.workflows.population_survival.with_speed`).
_LOG_SPEED = (math.log(0.2), math.log(20.0))
#: Survival intervals (months after diagnosis) of the survival likelihood.
SURVIVAL_EDGES_MONTHS = np.array([0.0, 3.0, 6.0, 9.0, 12.0, 18.0, 24.0, 36.0, 48.0, 60.0, 120.0])


@dataclass(frozen=True)
class SurvivalCohort:
    """One cohort of a survival series: its patients' diameters at diagnosis and resection
    flags, and the deaths and person-months by interval of :data:`SURVIVAL_EDGES_MONTHS`."""

    name: str
    diameter_mm: np.ndarray
    resected: np.ndarray
    edges_months: np.ndarray
    deaths: np.ndarray
    person_months: np.ndarray


def survival_cohorts(series: str) -> tuple[SurvivalCohort, ...]:
    """The cohorts of a survival series by name (``haeno2012``: Haeno et al. 2012's autopsy and
    adjuvant cohorts of pancreatic cancer, :func:`~metacascade.clinical_data.load_haeno2012`)."""
    from metacascade.clinical_data import HAENO_COHORTS, load_haeno2012

    if series != "haeno2012":
        raise CalibrationError(f"calibration.survival: got {series!r}, allowed 'haeno2012'")
    pts = load_haeno2012().patients
    edges = SURVIVAL_EDGES_MONTHS
    out = []
    for name in HAENO_COHORTS:
        c = pts[pts["cohort"] == name]
        t, died = c["months"].to_numpy(float), c["died"].to_numpy(bool)
        lo, hi = edges[:-1], edges[1:]
        exposure = np.clip(np.minimum(t[:, None], hi[None, :]) - lo[None, :], 0.0, None)
        last = np.minimum(np.searchsorted(hi, t, side="left"), lo.size - 1)
        deaths = np.bincount(last[died & (t <= edges[-1])], minlength=lo.size).astype(float)
        out.append(
            SurvivalCohort(
                name=name,
                diameter_mm=c["size_cm"].to_numpy(float) * 10.0,
                resected=c["resected"].to_numpy(bool),
                edges_months=edges,
                deaths=deaths,
                person_months=exposure.sum(axis=0),
            )
        )
    return tuple(out)


@dataclass(frozen=True)
class CalibrationData:
    """The data one preset is calibrated on."""

    preset: str
    autopsy_rows: tuple[str, ...]
    sites: tuple[str, ...]
    autopsy_k: np.ndarray
    autopsy_n: int
    seer_cancer: str | None
    seer_diameter_mm: np.ndarray
    seer_k: np.ndarray
    seer_n: np.ndarray
    node_diameter_mm: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    node_k: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    node_n: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    node_source: tuple[str, ...] = ()
    # distant relapse after surgery alone (relapse_targets.csv rows with a distant endpoint and
    # events / person-years by interval): primary size, nodal status, interval edges (years)
    relapse_diameter_mm: float = math.nan
    relapse_nodes: str = "all"
    relapse_edges: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    relapse_events: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    relapse_person_years: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    relapse_source: str = ""
    # fit the odds ratio of resection for M1 patients (calibration.seer_selection): the SEER curve is of
    # resected patients, the relapse series tells how much occult disease the population carries
    fit_m1_odds: bool = False
    # fit the fraction of regional-node colonies left by the autopsy patients' node dissection
    # (calibration.node_dissection; resected autopsy series only)
    fit_node_residual: bool = False
    # survival from diagnosis (calibration.survival): the cohorts whose deaths fit the growth clock's
    # speed and the resection margin law
    survival: tuple[SurvivalCohort, ...] = ()

    @property
    def n_obs(self) -> int:
        deaths = sum(float(c.deaths.sum()) for c in self.survival)
        return int(
            self.autopsy_n * len(self.sites)
            + self.seer_n.sum()
            + self.node_n.sum()
            + self.relapse_events.sum()
            + deaths
        )

    @property
    def fits_nodal(self) -> bool:
        """Whether the data separate the nodal from the distant founding multiplier (nodal
        positivity by size; the relapse of node-negative patients)."""
        return bool(self.node_n.size)


@dataclass(frozen=True)
class PresetFit:
    """One preset's calibrated values, with 95% intervals (profile for the population
    parameters, Wald on the fitted scale for the soils) and the fit record."""

    preset: str
    soil: dict[str, float]
    population: Population
    intervals: dict[str, tuple[float, float]]
    loglik: float
    n_obs: int
    secondary: np.ndarray | None = dataclasses.field(default=None, repr=False, compare=False)
    # the colonisation rate's fitted size exponent and re-referenced level (m, alpha); {} = not fitted
    shedding: dict[str, float] = dataclasses.field(default_factory=dict)
    # fitted colony dormancy (probability, escape_per_day); {} = not fitted
    dormancy: dict[str, float] = dataclasses.field(default_factory=dict)
    # fitted odds ratio of resection for M1 patients (calibration.seer_selection); 1 = not fitted
    seer_m1_odds: float = 1.0
    # fitted fraction of regional-node colonies left by the node dissection (calibration.node_dissection);
    # 1 = not fitted
    node_residual: float = 1.0
    # fitted speed of the growth clock against presets.toml's growth (calibration.survival); 1 = not fitted
    speed: float = 1.0
    # fitted margin law of a resection (r1_probability); {} = not fitted
    resection: dict[str, float] = dataclasses.field(default_factory=dict)


def _spec(preset: Preset) -> dict[str, Any]:
    spec = dict(preset.calibration or {})
    if not spec:
        raise CalibrationError(f"preset {preset.name!r} has no calibration table (autopsy rows, SEER type)")
    return spec


def calibration_data(preset: Preset) -> CalibrationData:
    """The DiSibio counts and SEER bins named by ``preset.calibration``.

    Raises CalibrationError naming the preset and the unknown row or type.
    """
    from metacascade.clinical_data import load_disibio, load_seer_size

    spec = _spec(preset)
    table = load_disibio()
    rows = tuple(spec.get("autopsy", ()))
    if not rows:
        raise CalibrationError(f"preset {preset.name!r}: calibration.autopsy names no DiSibio row")
    for r in rows:
        if r not in table.counts.index:
            from metacascade._messages import did_you_mean

            raise CalibrationError(
                f"preset {preset.name!r}: calibration.autopsy: unknown DiSibio row {r!r}"
                f"{did_you_mean(r, list(table.counts.index))}; allowed: "
                f"{', '.join(table.counts.index)}"
            )
    counts = table.counts.loc[list(rows)].sum(axis=0)
    n = int(table.n_autopsies.loc[list(rows)].sum())
    sites = tuple(DISIBIO_SITES.values())
    k = np.array([int(counts[c]) for c in DISIBIO_SITES], dtype=float)
    seer_name = spec.get("seer")
    diam = np.zeros(0)
    sk = np.zeros(0)
    sn = np.zeros(0)
    if seer_name is not None:
        seer = load_seer_size()
        names = [seer_name] if isinstance(seer_name, str) else list(seer_name)
        known = sorted(seer["cancer"].unique())
        for nm in names:
            if nm not in known:
                raise CalibrationError(
                    f"preset {preset.name!r}: calibration.seer: unknown SEER type {nm!r}; allowed: {', '.join(known)}"
                )
        sub = seer[seer["cancer"].isin(names)].groupby("size_mid_cm", as_index=False)[["n_patients", "n_m1"]].sum()
        diam = sub["size_mid_cm"].to_numpy(float) * 10.0
        sk = sub["n_m1"].to_numpy(float)
        sn = sub["n_patients"].to_numpy(float)
        seer_name = " + ".join(names)
    nd, nk, nn, nsrc = _node_data(preset, spec.get("nodes"))
    rel = _relapse_data(preset, diam, sn) if spec.get("relapse", False) else {}
    fit_odds = bool(spec.get("seer_selection", False))
    if fit_odds and not (sn.size and rel):
        raise CalibrationError(
            f"preset {preset.name!r}: calibration.seer_selection needs a SEER curve and a "
            "relapse series (calibration.relapse = true): they are what identify it"
        )
    fit_resid = bool(spec.get("node_dissection", False))
    if fit_resid and spec.get("autopsy_history", "resected") == "untreated":
        raise CalibrationError(
            f"preset {preset.name!r}: calibration.node_dissection needs a resected autopsy series "
            '(calibration.autopsy_history = "resected")'
        )
    return CalibrationData(
        preset=preset.name,
        autopsy_rows=rows,
        sites=sites,
        autopsy_k=k,
        autopsy_n=n,
        seer_cancer=seer_name,
        seer_diameter_mm=diam,
        seer_k=sk,
        seer_n=sn,
        node_diameter_mm=nd,
        node_k=nk,
        node_n=nn,
        node_source=nsrc,
        fit_m1_odds=fit_odds,
        fit_node_residual=fit_resid,
        survival=survival_cohorts(str(spec["survival"])) if spec.get("survival") else (),
        **rel,
    )


def seer_median_mm(diameter_mm: np.ndarray, n: np.ndarray, cap: float | None = None) -> float:
    """The n-weighted median diameter of SEER size bins (only bins up to ``cap`` mm when given)."""
    d, w = np.asarray(diameter_mm, float), np.asarray(n, float)
    if cap is not None:
        w = np.where(d <= cap, w, 0.0)
    order = np.argsort(d)
    cdf = np.cumsum(w[order]) / w.sum()
    return float(d[order][np.searchsorted(cdf, 0.5)])


def _relapse_data(preset: Preset, seer_diameter_mm: np.ndarray, seer_n: np.ndarray) -> dict[str, Any]:
    """Events and person-years of distant relapse by interval after surgery alone, from the
    preset's row of ``relapse_targets.csv`` (endpoint ``distant``, a series with hazards by
    interval: the TRANSBIG rows of ``transbig_dmfs.csv``, the reconstructed ZHU2014 rows of
    ``zhu2014_distant_hazards.csv``); a diameter ``seer_median`` is the SEER bins' median."""
    from metacascade.clinical_data import load_relapse_hazards, load_relapse_targets

    targets = load_relapse_targets()
    rows = targets[(targets["preset"] == preset.name) & (targets["endpoint"] == "distant")]
    if rows.empty:
        raise CalibrationError(
            f"preset {preset.name!r}: calibration.relapse: no distant-relapse series for it in "
            "data/natural_history/relapse_targets.csv"
        )
    t = rows.iloc[0]
    if t["diameter"] == "seer_median":
        if not np.size(seer_n):
            raise CalibrationError(
                f"preset {preset.name!r}: calibration.relapse: diameter seer_median needs a "
                "SEER curve (calibration.seer)"
            )
        diameter = seer_median_mm(
            seer_diameter_mm, seer_n, float(t["max_diameter_mm"]) if t["max_diameter_mm"] else None
        )
    else:
        try:
            diameter = float(t["diameter"])
        except ValueError:
            raise CalibrationError(
                f"preset {preset.name!r}: calibration.relapse needs a numeric diameter or "
                f"seer_median in relapse_targets.csv, got {t['diameter']!r}"
            ) from None
    hz = load_relapse_hazards(t["file"], t["subgroup"])
    edges = np.concatenate([hz["time_low_years"].to_numpy(float)[:1], hz["time_high_years"].to_numpy(float)])
    return {
        "relapse_diameter_mm": diameter,
        "relapse_nodes": str(t["nodes"]),
        "relapse_edges": edges,
        "relapse_events": hz["events"].to_numpy(float),
        "relapse_person_years": hz["person_years"].to_numpy(float),
        "relapse_source": f"{t['file']} ({t['subgroup']})",
    }


def _node_data(preset: Preset, cancer: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[str, ...]]:
    """Node-positive counts at surgery by primary size (``data/natural_history/`` rows of ``cancer``
    with a patient count). A size group is represented by its midpoint (open groups: the lower
    edge + 15 mm, the 'size <= 20 mm' group of a series with all sizes: 14 mm; GK, the sizes inside
    a group are not published) ."""
    if cancer is None:
        return np.zeros(0), np.zeros(0), np.zeros(0), ()
    from metacascade.clinical_data import load_node_positivity

    df = load_node_positivity(cancer)
    if df.empty:
        raise CalibrationError(
            f"preset {preset.name!r}: calibration.nodes: no node-positivity rows with counts for {cancer!r}"
        )
    lo = df["size_mm_low"].to_numpy(float)
    hi = df["size_mm_high"].to_numpy(float)
    mid = np.where(np.isnan(hi), lo + 15.0, np.where(lo == 0, 14.0, 0.5 * (lo + hi)))
    return mid, df["k"].to_numpy(float), df["n"].to_numpy(float), tuple(df["source"])


def _binom(k: np.ndarray, n: np.ndarray | float, p: np.ndarray) -> float:
    p = np.clip(p, 1e-15, 1 - 1e-15)
    return float(np.sum(k * np.log(p) + (n - k) * np.log1p(-p)))


def soils_from_sites(preset: Preset, site_soil: dict[str, float]) -> dict[str, float]:
    """Organ soils: fitted sites (groups expanded), the rest ``soil_relative`` x their median."""
    return dataclasses.replace(preset, soil={}).resolved_soil(site_soil)


def log_likelihood(
    preset: Preset,
    data: CalibrationData,
    site_soil: dict[str, float],
    population: Population,
    secondary: np.ndarray | None = None,
    curves: PresetCurves | None = None,
    m1_odds: float = 1.0,
    node_residual: float = 1.0,
    resection: Any = None,
) -> tuple[float, PopulationPrediction]:
    """The binomial log-likelihood of ``data`` and the prediction it rests on (``curves``: the
    median patient's, :func:`preset_curves` of ``preset`` when None). The SEER bins are compared
    with the resected patients' M1 fraction, :func:`operated_m1` of the population's at ``m1_odds``;
    the returned prediction is the population's. ``node_residual``: the fraction of regional-node
    colonies that the autopsy patients' node dissection left (:func:`predict_population`)."""
    curves = preset_curves(preset) if curves is None else curves
    soil = soils_from_sites(preset, site_soil)
    n_seer = data.seer_diameter_mm.size
    # one prediction at the SEER sizes and the node-positivity sizes together
    both = predict_population(
        curves,
        soil,
        population,
        np.concatenate([data.seer_diameter_mm, data.node_diameter_mm]),
        secondary=secondary,
        resected_at_mm=resected_sizes(preset, data),
        node_residual=node_residual,
    )
    pred = dataclasses.replace(
        both,
        diameters_mm=both.diameters_mm[:n_seer],
        m1_at_size=both.m1_at_size[:n_seer],
        node_at_size=both.node_at_size[:n_seer],
        occult_at_size=both.occult_at_size[:n_seer],
        n0m0_at_size=both.n0m0_at_size[:n_seer],
    )
    p_sites = np.array([pred.site(s) for s in data.sites])
    ll = _binom(data.autopsy_k, data.autopsy_n, p_sites)
    if n_seer:
        ll += _binom(data.seer_k, data.seer_n, operated_m1(pred.m1_at_size, m1_odds))
    if data.node_n.size:
        ll += _binom(data.node_k, data.node_n, both.node_at_size[n_seer:])
    if data.relapse_events.size:
        ll += _relapse_loglik(curves, soil, population, data)
    for cohort in data.survival:
        ll += survival_loglik(curves, soil, population, cohort, preset.resection if resection is None else resection)
    return ll, pred


def survival_loglik(
    curves: Any, soil: dict[str, float], population: Population, cohort: SurvivalCohort, resection: Any
) -> float:
    r"""Poisson log-likelihood of a cohort's deaths by interval given its person-months (as
    :func:`_relapse_loglik`): the model's hazard in interval :math:`k` is
    :math:`\ln(S_{k-1}/S_k)/\Delta t_k` of the cohort's survival :math:`S = 1 -`
    :func:`~metacascade.workflows.population_survival.cohort_survival`."""
    from metacascade.workflows.population_survival import cohort_survival

    edges = cohort.edges_months
    # 61 x 121 nodes: the log-likelihood within 0.1 of 241 x 161 (the growth axis sets the blur and
    # needs the nodes; the founding axis, narrow for these presets, does not)
    dead = cohort_survival(
        curves, soil, population, cohort.diameter_mm, cohort.resected, edges[1:], resection=resection, n_u=61, n_v=121
    )
    surv = np.concatenate([[1.0], 1.0 - np.clip(dead, 0.0, 1.0 - 1e-12)])
    h = np.maximum(np.log(surv[:-1] / np.maximum(surv[1:], 1e-300)), 1e-12) / np.diff(edges)
    mu = h * cohort.person_months
    keep = cohort.person_months > 0
    return float(np.sum(cohort.deaths[keep] * np.log(mu[keep]) - mu[keep]))


def _relapse_loglik(curves: Any, soil: dict[str, float], population: Population, data: CalibrationData) -> float:
    r"""Poisson log-likelihood of the relapse events by interval given their person-years (the
    piecewise-exponential approximation of the Kaplan-Meier data, which handles censoring):
    :math:`\sum_k d_k \ln(h_k Y_k) - h_k Y_k`, with the model's mean hazard in interval :math:`k`,
    :math:`h_k = \ln(S_{k-1}/S_k)/\Delta t_k`, :math:`S = 1 -` the cumulative distant relapse of
    :func:`~metacascade.workflows.population_model.predict_relapse`."""
    from metacascade.workflows.population_model import predict_relapse

    edges = data.relapse_edges
    # S at every edge (S = 1 at surgery; a first interval starting later conditions on being free then)
    times = edges if edges[0] > 0 else edges[1:]
    pred = predict_relapse(curves, soil, population, data.relapse_diameter_mm, times, nodes=data.relapse_nodes)
    surv = 1.0 - np.clip(pred.cumulative, 0.0, 1.0 - 1e-12)
    if edges[0] == 0:
        surv = np.concatenate([[1.0], surv])
    h = np.maximum(np.log(surv[:-1] / surv[1:]), 1e-12) / np.diff(edges)
    mu = h * data.relapse_person_years
    d = data.relapse_events
    return float(np.sum(d * np.log(mu) - mu))


def resected_sizes(preset: Preset, data: CalibrationData) -> tuple[np.ndarray, np.ndarray] | None:
    """Primary diameters (mm) and weights at resection for the autopsy of ``preset``: the SEER size
    distribution of its type (operated patients), 30 mm without one; None when the preset's
    autopsy series is of unresected patients (``calibration.autopsy_history = "untreated"``)."""
    if (preset.calibration or {}).get("autopsy_history", "resected") == "untreated":
        return None
    if data.seer_n.size:
        return data.seer_diameter_mm, data.seer_n
    return np.array([30.0]), np.array([1.0])


def _start_soils(
    preset: Preset, data: CalibrationData, population: Population, curves: PresetCurves | None = None
) -> np.ndarray:
    """Start: soils that give the observed autopsy fractions under the median patient."""
    curves = preset_curves(preset) if curves is None else curves
    base = np.full(len(data.sites), 1e-10)
    pred = predict_population(
        curves,
        soils_from_sites(preset, dict(zip(data.sites, base))),
        Population(),
        np.zeros(0) + 10.0,
        resected_at_mm=resected_sizes(preset, data),
    )
    out = []
    for i, s in enumerate(data.sites):
        target = min(max(data.autopsy_k[i] / data.autopsy_n, 0.5 / data.autopsy_n), 0.95)
        got = max(pred.site(s), 1e-300)
        lam_t, lam = -math.log1p(-target), -math.log1p(-min(got, 1 - 1e-12))
        out.append(float(np.clip(math.log(base[i] * lam_t / lam), *_LOG_SOIL)))
    return np.array(out)


def calibrate_preset(
    preset: Preset,
    data: CalibrationData | None = None,
    *,
    population_from: Population | None = None,
    shedding_from: dict[str, float] | None = None,
    rounds: int = 2,
    profile: bool = True,
    progress: Callable[[str], None] | None = None,
) -> PresetFit:
    """Maximum-likelihood fit of ``preset`` to its data (see the module docstring). A preset
    without a SEER curve takes the population (``population_from``) and the colonisation size
    exponent (``shedding_from``, the ``shedding`` of that preset's fit) of another."""
    data = calibration_data(preset) if data is None else data
    if preset.growth_spec:  # the base of a fitted speed: presets.toml's growth
        preset = dataclasses.replace(preset, growth=dict(preset.growth_spec), growth_speed=1.0)
    pop0 = preset.population
    fit_population = data.seer_n.size > 0
    base_shedding = dict(preset.shedding_spec or preset.shedding)
    fixed_shedding: dict[str, float] | None = None
    if not fit_population:
        if population_from is None:
            raise CalibrationError(
                f"preset {preset.name!r}: no SEER curve to fit the population on; give "
                "calibration.population_from (a preset with one)"
            )
        pop0 = dataclasses.replace(population_from, growth_sd_log=preset.population.growth_sd_log)
        if shedding_from:
            fixed_shedding = shedding_with_alpha(base_shedding, shedding_from["alpha"])
    n_sites = len(data.sites)
    fit_nodal = fit_population and data.fits_nodal
    fit_alpha = fit_population
    fit_dormancy = fit_population and bool((preset.calibration or {}).get("dormancy"))
    if fit_dormancy:  # fitted here: the curves are built without it and dormancy is mixed in (curves_at)
        preset = dataclasses.replace(preset, dormancy={})
    alpha_curves = AlphaCurves(preset) if fit_alpha else None
    fixed_preset = preset if fixed_shedding is None else dataclasses.replace(preset, shedding=fixed_shedding)
    fixed_curves = None if fit_alpha else preset_curves(fixed_preset)
    j_alpha = n_sites + 2 + (2 if fit_nodal else 0)
    j_dorm = j_alpha + 1
    fit_odds = data.fit_m1_odds
    j_odds = j_dorm + (2 if fit_dormancy else 0)
    fit_resid = data.fit_node_residual
    j_resid = j_odds + (1 if fit_odds else 0)
    fit_speed = bool(data.survival)
    j_speed = j_resid + (1 if fit_resid else 0)
    r1_range = tuple(float(v) for v in (preset.calibration or {}).get("r1_range", ()))
    fit_r1 = fit_speed and bool(r1_range)
    if fit_r1 and not (len(r1_range) == 2 and 0.0 <= r1_range[0] < r1_range[1] <= 1.0):
        raise CalibrationError(
            f"preset {preset.name!r}: calibration.r1_range: got {list(r1_range)!r}, "
            "allowed [low, high] with 0 <= low < high <= 1"
        )
    j_r1 = j_speed + 1

    def speed_at(th: np.ndarray) -> float:
        return math.exp(float(th[j_speed])) if fit_speed else 1.0

    def r1_at(th: np.ndarray) -> float:
        lo, hi = r1_range
        return lo + (hi - lo) / (1.0 + math.exp(-float(th[j_r1])))

    def resection_at(th: np.ndarray) -> Any:
        if not fit_r1:
            return preset.resection
        from metacascade.model.resection import Resection

        return Resection(**{**preset.resection_spec, "r1_probability": r1_at(th)})

    def odds_at(th: np.ndarray) -> float:
        return math.exp(min(float(th[j_odds]), 0.0)) if fit_odds else 1.0

    def resid_at(th: np.ndarray) -> float:
        return 1.0 / (1.0 + math.exp(-float(th[j_resid]))) if fit_resid else 1.0

    if resected_sizes(preset, data) is not None:
        rounds = 1  # colonies founded by colonies do not enter the resected autopsy (see resected_sizes)
    secondary: np.ndarray | None = None
    theta: np.ndarray | None = None
    fit = None

    def curves_at(th: np.ndarray) -> PresetCurves:
        c = alpha_curves(float(th[j_alpha])) if alpha_curves is not None else fixed_curves
        if fit_dormancy:
            c = with_dormancy_curves(c, 1.0 / (1.0 + math.exp(-th[j_dorm])), math.exp(th[j_dorm + 1]))
        if fit_speed:
            from metacascade.workflows.population_survival import with_speed

            c = with_speed(c, speed_at(th))
        return c

    for rnd in range(max(1, rounds)):

        def unpack(th: np.ndarray) -> tuple[dict[str, float], Population]:
            k = speed_at(th)  # soils fitted per unit speed
            soil = {s: math.exp(v) * k for s, v in zip(data.sites, th[:n_sites])}
            if fit_population:
                nodal = {}
                if fit_nodal:
                    nodal = {"nodal_sd_log": math.exp(th[n_sites + 2]), "nodal_correlation": math.tanh(th[n_sites + 3])}
                pop = Population(
                    competent_fraction=1.0 / (1.0 + math.exp(-th[n_sites])),
                    dissemination_sd_log=math.exp(th[n_sites + 1]),
                    growth_sd_log=pop0.growth_sd_log,
                    **nodal,
                )
            else:
                pop = pop0
            return soil, pop

        sec = secondary

        def loglik(th: np.ndarray, sec: np.ndarray | None = sec) -> float:
            soil, pop = unpack(th)
            return log_likelihood(
                preset,
                data,
                soil,
                pop,
                sec,
                curves=curves_at(th),
                m1_odds=odds_at(th),
                node_residual=resid_at(th),
                resection=resection_at(th),
            )[0]

        if theta is None:
            start_pop = pop0 if not fit_population else Population(0.7, 5.0, pop0.growth_sd_log)
            start_curves = alpha_curves(_ALPHA_START) if alpha_curves is not None else fixed_curves
            theta = np.concatenate(
                [
                    _start_soils(preset, data, start_pop, start_curves),
                    [math.log(0.7 / 0.3), math.log(5.0)] if fit_population else [],
                    [math.log(5.0), math.atanh(0.5)] if fit_nodal else [],
                    [_ALPHA_START] if fit_alpha else [],
                    list(_DORMANCY_START) if fit_dormancy else [],
                    [_M1_ODDS_START] if fit_odds else [],
                    [_NODE_RESIDUAL_START] if fit_resid else [],
                    [0.0] if fit_speed else [],
                    [0.0] if fit_r1 else [],
                ]
            )
        params = [
            Parameter(f"log_soil_{s}", *_LOG_SOIL, start=float(np.clip(theta[i], *_LOG_SOIL)))
            for i, s in enumerate(data.sites)
        ]
        if fit_population:
            params += [
                Parameter("logit_competent_fraction", *_LOGIT_PI, start=float(theta[n_sites])),
                Parameter(
                    "log_dissemination_sd_log", *_LOG_SIGMA, start=float(np.clip(theta[n_sites + 1], *_LOG_SIGMA))
                ),
            ]
        if fit_nodal:
            params += [
                Parameter("log_nodal_sd_log", *_LOG_SIGMA, start=float(np.clip(theta[n_sites + 2], *_LOG_SIGMA))),
                Parameter(
                    "atanh_nodal_correlation", *_ATANH_RHO, start=float(np.clip(theta[n_sites + 3], *_ATANH_RHO))
                ),
            ]
        if fit_alpha:
            params += [Parameter("shedding_alpha", *_ALPHA, start=float(np.clip(theta[j_alpha], *_ALPHA)))]
        if fit_dormancy:
            params += [
                Parameter(
                    "logit_dormancy_probability", *_LOGIT_DORMANT, start=float(np.clip(theta[j_dorm], *_LOGIT_DORMANT))
                ),
                Parameter(
                    "log_dormancy_escape_per_day", *_LOG_ESCAPE, start=float(np.clip(theta[j_dorm + 1], *_LOG_ESCAPE))
                ),
            ]
        if fit_odds:
            params += [
                Parameter("log_m1_operated_odds", *_LOG_M1_ODDS, start=float(np.clip(theta[j_odds], *_LOG_M1_ODDS)))
            ]
        if fit_resid:
            params += [
                Parameter(
                    "logit_node_residual_fraction",
                    *_LOGIT_NODE_RESIDUAL,
                    start=float(np.clip(theta[j_resid], *_LOGIT_NODE_RESIDUAL)),
                )
            ]
        if fit_speed:
            params += [Parameter("log_growth_speed", *_LOG_SPEED, start=float(np.clip(theta[j_speed], *_LOG_SPEED)))]
        if fit_r1:
            params += [Parameter("logit_r1_in_range", -8.0, 8.0, start=float(np.clip(theta[j_r1], -8.0, 8.0)))]
        template = Template(parameters=tuple(params), loglik=loglik, name=f"preset {preset.name}")
        last = rnd == max(1, rounds) - 1
        fit = _fit(template, fit_population, n_sites, profile and last, data.n_obs)
        theta = fit.theta
        if progress is not None:
            progress(f"{preset.name}: round {rnd + 1} log-likelihood {fit.loglik:.3f}")
        if preset.secondary_seeding and not last:
            soil, pop = unpack(theta)
            at = (
                fixed_preset
                if not fit_alpha
                else dataclasses.replace(preset, shedding=shedding_with_alpha(base_shedding, float(theta[j_alpha])))
            )
            if fit_dormancy:
                at = dataclasses.replace(at, dormancy=_dormancy_of(theta, j_dorm))
            if fit_speed:
                from metacascade.presets import scaled_growth

                at = dataclasses.replace(at, growth=scaled_growth(at.growth, speed_at(theta)))
            secondary = secondary_factors(at, soils_from_sites(at, soil), pop)
    assert fit is not None and theta is not None
    soil, pop = unpack(theta)
    shedding: dict[str, float] = {}
    if fit_alpha:
        alpha = _round(float(theta[j_alpha]))
        shedding = {"alpha": alpha, "m": _round(shedding_with_alpha(base_shedding, alpha)["m"])}
    elif fixed_shedding is not None:
        shedding = {"alpha": _round(fixed_shedding["alpha"]), "m": _round(fixed_shedding["m"])}
    dormancy = _dormancy_of(theta, j_dorm) if fit_dormancy else {}
    intervals: dict[str, tuple[float, float]] = {}
    if fit_odds:  # Wald on the log scale, clipped to its range
        lo, hi = fit.wald.get("log_m1_operated_odds", (theta[j_odds], theta[j_odds]))
        intervals["seer.m1_operated_odds"] = (math.exp(max(lo, _LOG_M1_ODDS[0])), math.exp(min(hi, _LOG_M1_ODDS[1])))
    if fit_resid:  # Wald on the logit scale; at a bound: from the bound to the estimate
        lo, hi = fit.wald.get("logit_node_residual_fraction", (theta[j_resid], theta[j_resid]))
        intervals["nodes.residual_fraction"] = (1.0 / (1.0 + math.exp(-lo)), 1.0 / (1.0 + math.exp(-hi)))
    if fit_dormancy:  # Wald on the fitted scale
        for key, name, back, j in (
            ("dormancy.probability", "logit_dormancy_probability", lambda v: 1.0 / (1.0 + math.exp(-v)), j_dorm),
            ("dormancy.escape_per_day", "log_dormancy_escape_per_day", math.exp, j_dorm + 1),
        ):
            lo, hi = fit.wald.get(name, (theta[j], theta[j]))
            intervals[key] = (back(lo), back(hi))
    k_fit = speed_at(theta)
    for i, s in enumerate(data.sites):  # soils per unit speed on the fitted scale: times the speed
        if f"log_soil_{s}" in fit.wald:
            lo, hi = fit.wald[f"log_soil_{s}"]
            intervals[f"soil.{s}"] = (math.exp(max(lo, _LOG_SOIL[0])) * k_fit, math.exp(min(hi, _LOG_SOIL[1])) * k_fit)
        else:  # on its bound (a site with no or nearly no metastases): from the lower bound to the estimate
            intervals[f"soil.{s}"] = (math.exp(_LOG_SOIL[0]) * k_fit, math.exp(theta[i]) * k_fit)
    if fit_speed:  # Wald on the log scale, clipped to its range
        lo, hi = fit.wald.get("log_growth_speed", (theta[j_speed], theta[j_speed]))
        intervals["growth.speed"] = (math.exp(max(lo, _LOG_SPEED[0])), math.exp(min(hi, _LOG_SPEED[1])))
    if fit_r1:  # Wald on the logit scale within the sourced range
        lo, hi = fit.wald.get("logit_r1_in_range", (theta[j_r1], theta[j_r1]))
        intervals["resection.r1_probability"] = (r1_at(np.full(j_r1 + 1, lo)), r1_at(np.full(j_r1 + 1, hi)))
    if fit_alpha:  # Wald on its own scale, clipped to its range; at a bound: from the bound to the estimate
        lo, hi = fit.wald.get("shedding_alpha", (theta[j_alpha], theta[j_alpha]))
        intervals["shedding.alpha"] = (max(lo, _ALPHA[0]), min(hi, _ALPHA[1]))
    if fit_population:
        lo, hi = fit.profile.get("logit_competent_fraction") or fit.wald.get(
            "logit_competent_fraction", (theta[n_sites],) * 2
        )
        intervals["population.competent_fraction"] = (1 / (1 + math.exp(-lo)), 1 / (1 + math.exp(-hi)))
        lo, hi = fit.profile.get("log_dissemination_sd_log") or fit.wald.get(
            "log_dissemination_sd_log", (theta[n_sites + 1],) * 2
        )
        intervals["population.dissemination_sd_log"] = (math.exp(lo), math.exp(hi))
    nodal: dict[str, float] = {}
    if pop.nodal_sd_log is not None:  # fitted here, or borrowed with the population
        nodal = {"nodal_sd_log": _round(float(pop.nodal_sd)), "nodal_correlation": _round(pop.nodal_correlation)}
    if fit_nodal:  # Wald on the fitted scale (profiles of these two are not computed)
        for key, name, back in (
            ("population.nodal_sd_log", "log_nodal_sd_log", math.exp),
            ("population.nodal_correlation", "atanh_nodal_correlation", math.tanh),
        ):
            j = n_sites + (2 if name.startswith("log_") else 3)
            lo, hi = fit.wald.get(name, (theta[j], theta[j]))
            intervals[key] = (back(lo), back(hi))
    return PresetFit(
        preset=preset.name,
        soil={s: _round(v) for s, v in soil.items()},
        population=Population(
            _round(pop.competent_fraction), _round(pop.dissemination_sd_log), pop.growth_sd_log, **nodal
        ),
        intervals={k: (_round(a), _round(b)) for k, (a, b) in intervals.items()},
        loglik=_round(fit.loglik, 9),
        n_obs=data.n_obs,
        secondary=secondary,
        shedding=shedding,
        dormancy=dormancy,
        seer_m1_odds=_round(odds_at(theta)),
        node_residual=_round(resid_at(theta)),
        speed=_round(speed_at(theta)),
        resection={"r1_probability": _round(r1_at(theta))} if fit_r1 else {},
    )


def _dormancy_of(theta: np.ndarray, j: int) -> dict[str, float]:
    return {
        "probability": _round(1.0 / (1.0 + math.exp(-float(theta[j])))),
        "escape_per_day": _round(math.exp(float(theta[j + 1]))),
    }


def _fit(template: Template, fit_population: bool, n_sites: int, profile: bool, n_obs: int) -> Any:
    """L-BFGS-B from the template's start (restarted once from its optimum), Wald intervals from
    the finite-difference Hessian, profile intervals of the population parameters."""
    from scipy import optimize, stats

    from metacascade.calibration.core import MLEFit, _hessian

    lo, hi = template.bounds
    count = [0]

    def nll(th: np.ndarray) -> float:
        count[0] += 1
        v = template.loglik(np.asarray(th, float))
        return 1e300 if not np.isfinite(v) else -float(v)

    x = np.array([p.start for p in template.parameters])
    res = optimize.minimize(
        nll, x, method="L-BFGS-B", bounds=list(zip(lo, hi)), options={"maxiter": 3000, "ftol": 1e-13, "gtol": 1e-7}
    )
    x = np.clip(res.x, lo, hi)
    # Powell (derivative-free) from there: the quadrature makes the surface slightly rough at the
    # scale of finite-difference steps, where L-BFGS-B stalls
    pw = optimize.minimize(
        nll, x, method="Powell", bounds=list(zip(lo, hi)), options={"maxfev": 4000, "xtol": 1e-6, "ftol": 1e-11}
    )
    if pw.fun <= res.fun:
        res = pw
        x = np.clip(pw.x, lo, hi)
    f_best = float(res.fun)
    if not f_best < 1e299:
        raise CalibrationError(f"{template.name}: the log-likelihood is -inf at the start; check the data and bounds")
    z = float(stats.norm.ppf(0.975))
    step = 1e-4 * np.maximum(1.0, np.abs(x))
    wald: dict[str, tuple[float, float]] = {}
    cov = None
    free = np.flatnonzero((x - lo > 1e-3) & (hi - x > 1e-3))  # parameters at a bound: no Wald interval
    try:
        h = _hessian(nll, x, step)
        cov = np.full_like(h, np.nan)
        if free.size:
            cov[np.ix_(free, free)] = np.linalg.inv(h[np.ix_(free, free)])
        with np.errstate(invalid="ignore"):
            se = np.sqrt(np.where(np.diag(cov) > 0, np.diag(cov), np.nan))
        wald = {
            p.name: (float(x[i] - z * se[i]), float(x[i] + z * se[i]))
            for i, p in enumerate(template.parameters)
            if np.isfinite(se[i])
        }
    except np.linalg.LinAlgError:
        cov = None
    prof: dict[str, tuple[float, float]] = {}
    if profile and fit_population:
        crit = float(stats.chi2.ppf(0.95, 1)) / 2
        for i in (n_sites, n_sites + 1):
            se = math.sqrt(cov[i, i]) if cov is not None and np.isfinite(cov[i, i]) and cov[i, i] > 0 else 0.1
            prof[template.parameters[i].name] = _profile(nll, x, f_best, i, lo, hi, crit, se)
    return MLEFit(
        template=template,
        theta=x,
        loglik=-f_best,
        n_obs=n_obs,
        covariance=cov,
        wald=wald,
        profile=prof,
        alpha=0.05,
        success=bool(res.success),
        message=str(res.message),
        n_starts=1,
        evaluations=count[0],
    )


def _profile(
    nll: Callable[[np.ndarray], float],
    x: np.ndarray,
    f_best: float,
    i: int,
    lo: np.ndarray,
    hi: np.ndarray,
    crit: float,
    scale: float,
    tol: float = 1e-2,
) -> tuple[float, float]:
    """Profile-likelihood interval of parameter ``i``: where the re-maximised negative
    log-likelihood rises by ``crit``, bracketed from the maximum in steps of the Wald standard
    error and located by the Illinois rule to ``tol`` on the fitted scale (the bound where it never
    rises). Each point re-maximises the other parameters with L-BFGS-B from the previous point."""
    from scipy import optimize

    others = [j for j in range(x.size) if j != i]
    out = []
    for sign, edge in ((-1.0, lo[i]), (1.0, hi[i])):
        warm = x[others].copy()

        def rise(v: float) -> float:
            nonlocal warm

            def g(y: np.ndarray) -> float:
                t = x.copy()
                t[i] = v
                t[others] = y
                return nll(t)

            r = optimize.minimize(
                g,
                warm,
                method="L-BFGS-B",
                bounds=[(lo[j], hi[j]) for j in others],
                options={"maxiter": 150, "ftol": 1e-10},
            )
            warm = r.x
            return float(r.fun) - f_best - crit

        a, fa = float(x[i]), -crit
        step = max(scale, 1e-3)
        b, fb = a, fa
        while True:
            b = float(np.clip(x[i] + sign * step, lo[i], hi[i]))
            fb = rise(b)
            if fb > 0 or b == edge:
                break
            a, fa = b, fb
            step *= 2.0
        if fb <= 0:
            out.append(float(edge))
            continue
        side = 0
        for _ in range(60):
            if abs(b - a) <= tol:
                break
            m = b - fb * (b - a) / (fb - fa) if fb != fa else 0.5 * (a + b)
            if not min(a, b) < m < max(a, b):
                m = 0.5 * (a + b)
            fm = rise(m)
            if fm > 0:
                b, fb = m, fm
                if side == 1:
                    fa *= 0.5
                side = 1
            else:
                a, fa = m, fm
                if side == -1:
                    fb *= 0.5
                side = -1
        out.append(float(0.5 * (a + b)))
    return out[0], out[1]


def secondary_factors(
    preset: Preset, soil: dict[str, float], population: Population, n_nodes: int = 321, n_solve: int = 9
) -> np.ndarray:
    """Per quadrature node and organ, (all colonies) / (primary-founded colonies) above the
    autopsy size at death, from the full engine at ``n_solve`` nodes (interpolated in ln w)."""
    from metacascade.engines.organs import solve_organs
    from metacascade.model.body import default_body_graph
    from metacascade.model.establishment import Establishment
    from metacascade.model.shedding import PowerShedding
    from metacascade.scenario import diameter_to_cells, model_from_preset
    from metacascade.workflows.population_model import _death_times, organ_founding

    body = default_body_graph()
    curves = preset_curves(preset)
    p = organ_founding(curves, soil)
    routing = body.routing(soil, preset.routes or {})
    log_w, _ = population.w_nodes(n_nodes)
    model = model_from_preset(preset)
    est = Establishment(model.colony_growth, model.colony_size0, 1000.0, float(body.early_survival))
    x_aut = diameter_to_cells(preset.autopsy_detection_diameter_mm, preset.cells_per_mm3)
    td_all = _death_times(curves, log_w, float(p.sum()))
    # nodes where the colonies matter: where some site's autopsy probability is between 1e-4 and 1 - 1e-4
    lam = np.exp(log_w[:, None] + curves.log_at("autopsy", td_all)[:, None]) * p[None, :]
    live = np.any((lam > 1e-4) & (lam < 10.0), axis=1)
    if not live.any():
        return np.ones((n_nodes, len(p)))
    lw = np.linspace(log_w[live].min(), log_w[live].max(), n_solve)
    ratios = np.ones((n_solve, len(p)))
    for i, v in enumerate(lw):
        w = math.exp(v)
        m = dataclasses.replace(
            model, primary_shedding=PowerShedding(m=model.primary_shedding.m * w, alpha=model.primary_shedding.alpha)
        )
        td = float(np.interp(v, log_w, td_all))
        sol = solve_organs(m, body.organs, routing.primary, routing.factors, td * 1.0001, rtol=1e-5, establishment=est)
        full = np.asarray(sol.n_above(td, x_aut), float).ravel()
        prim = w * p * math.exp(float(curves.log_at("autopsy", np.array([td]))[0]))
        ratios[i] = np.where(prim > 0, np.maximum(full / np.maximum(prim, 1e-300), 1.0), 1.0)
    out = np.empty((n_nodes, len(p)))
    for j in range(len(p)):
        out[:, j] = np.interp(log_w, lw, ratios[:, j])
    return out


def _round(x: float, digits: int = 6) -> float:
    return float(f"{x:.{digits}g}")


def calibrate_presets(
    names: Iterable[str] | None = None, *, progress: Callable[[str], None] | None = None, workers: int = 1
) -> dict[str, PresetFit]:
    """Calibrate every preset with a calibration table (or those in ``names``): first those with
    a SEER curve, then those that borrow a population from one."""
    presets = load_presets()
    chosen = [n for n in presets if presets[n].calibration] if names is None else list(names)
    for n in chosen:
        get_preset(n)
    first = [n for n in chosen if presets[n].calibration.get("seer")]
    later = [n for n in chosen if n not in first]
    out: dict[str, PresetFit] = {}

    def run(name: str, source: PresetFit | None) -> PresetFit:
        if source is None:
            return calibrate_preset(presets[name])
        return calibrate_preset(presets[name], population_from=source.population, shedding_from=source.shedding)

    if workers > 1 and len(first) > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers) as pool:
            for name, fit in zip(first, pool.map(_calibrate_one, first)):
                out[name] = fit
                if progress is not None:
                    progress(name)
    else:
        for name in first:
            out[name] = run(name, None)
            if progress is not None:
                progress(name)
    for name in later:
        src = presets[name].calibration.get("population_from")
        if src is None:
            raise CalibrationError(f"preset {name!r}: no SEER curve; give calibration.population_from")
        if src not in out:
            out[src] = run(src, None)
        out[name] = run(name, out[src])
        if progress is not None:
            progress(name)
    return {n: out[n] for n in chosen}


def _calibrate_one(name: str) -> PresetFit:
    import os

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    fit = calibrate_preset(get_preset(name))
    return dataclasses.replace(fit, secondary=None)


def fit_from_calibrated(name: str, values: dict[str, Any]) -> PresetFit:
    """The :class:`PresetFit` of one preset's entry of :func:`~metacascade.presets.load_calibrated`
    (what ``presets calibrate NAME`` keeps for the presets it does not refit):
    ``format_calibrated`` of these regenerates the file's text."""
    return PresetFit(
        preset=name,
        soil=values["soil"],
        population=Population(**values["population"]),
        intervals=values["intervals"],
        loglik=values["loglik"],
        n_obs=values["n_obs"],
        shedding=values["shedding"],
        dormancy=values["dormancy"],
        seer_m1_odds=float(values["seer"].get("m1_operated_odds", 1.0)),
        node_residual=float(values.get("nodes", {}).get("residual_fraction", 1.0)),
        speed=float(values.get("growth", {}).get("speed", 1.0)),
        resection=dict(values.get("resection", {})),
    )


def format_calibrated(fits: dict[str, PresetFit]) -> str:
    """The TOML text of ``presets/calibrated.toml`` (deterministic: sorted names, 6 digits)."""
    lines = [
        "# Calibrated values of the whole-body presets: soils per autopsy site and the population",
        "# (competent fraction, dissemination spread), fitted by maximum likelihood to the DiSibio &",
        "# French 2008 autopsy counts and the SEER M1-at-diagnosis size curves (metacascade/data/reference/)",
        "# by `metacascade presets calibrate`. Generated file: do not edit by hand; the command",
        "# regenerates it bit for bit (`--check` compares). Intervals: 95%, profile likelihood for the",
        "# population parameters, Wald on the log scale for the soils.",
        "# A site's soil applies to each of its organs (bone = bone_axial and bone_appendicular).",
    ]

    def num(x: float) -> str:
        return f"{x:.6g}".replace("e-0", "e-")

    for name in sorted(fits):
        f = fits[name]
        lines += ["", f"[{name}]", f"loglik = {f.loglik:.9g}", f"n_obs = {f.n_obs}", "", f"[{name}.soil]"]
        lines += [f"{s} = {num(v)}" for s, v in sorted(f.soil.items())]
        lines += [
            "",
            f"[{name}.population]",
            f"competent_fraction = {num(f.population.competent_fraction)}",
            f"dissemination_sd_log = {num(f.population.dissemination_sd_log)}",
            f"growth_sd_log = {num(f.population.growth_sd_log)}",
        ]
        if f.population.nodal_sd_log is not None:
            lines += [
                f"nodal_sd_log = {num(f.population.nodal_sd_log)}",
                f"nodal_correlation = {num(f.population.nodal_correlation)}",
            ]
        if f.shedding:
            lines += ["", f"[{name}.shedding]"] + [f"{k} = {num(v)}" for k, v in sorted(f.shedding.items())]
        if f.dormancy:
            lines += ["", f"[{name}.dormancy]"] + [f"{k} = {num(v)}" for k, v in sorted(f.dormancy.items())]
        if f.seer_m1_odds != 1.0:
            lines += ["", f"[{name}.seer]", f"m1_operated_odds = {num(f.seer_m1_odds)}"]
        if f.node_residual != 1.0:
            lines += ["", f"[{name}.nodes]", f"residual_fraction = {num(f.node_residual)}"]
        if f.speed != 1.0:
            lines += ["", f"[{name}.growth]", f"speed = {num(f.speed)}"]
        if f.resection:
            lines += ["", f"[{name}.resection]"] + [f"{k} = {num(v)}" for k, v in sorted(f.resection.items())]
        lines += ["", f"[{name}.intervals]"]
        lines += [f'"{k}" = [{num(a)}, {num(b)}]' for k, (a, b) in sorted(f.intervals.items())]
    return "\n".join(lines) + "\n"
