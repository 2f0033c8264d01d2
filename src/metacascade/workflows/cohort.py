"""Virtual cohorts and trials: patients drawn from distributions, every patient in every arm.

A cohort (``[cohort]`` in the scenario) is ``n_patients`` virtual patients. Patient ``i`` has
its own parameters (primary size at diagnosis, growth and shedding factors, immunocompetence,
estradiol, age), drawn from the section's distributions, and its own random streams; it is
simulated once in each arm (a treatment plan, days since its diagnosis), with common random
numbers (the treated kernel's ``colony_streams``): the history before diagnosis is the same in
every arm, and a colony that a treatment does not touch meets the same chances in each, so arm
differences are the treatment's, not sampling noise.

Work is cut into chunks of ``chunk_size`` patients; a chunk (all arms) is one task. Finished
chunks are written at once as Parquet parts under ``DIR/parts``; running the same command again
skips them (resume after an interruption). The result depends only on the scenario: the same
bit for bit serial, on local threads or on a dask.distributed cluster.

How a patient's parameters act (model time 0 = the primary's first cell):

- ``growth_rate`` g and the estradiol dose-response multiply the speed of the growth clock of
  all the patient's tumours (a time scaling of the growth law: rates scaled, capacity kept),
  and divide the birth-death phase's durations;
- ``primary_diameter_mm`` sets the day of diagnosis, the age at which the primary (growing at
  g) reaches that size; the plan is shifted to it;
- ``shedding`` multiplies the seeding intensity of all the patient's tumours;
- ``immunocompetence`` sets the NK share of the clearance of circulating cells (routing) and,
  with ``[host] dormancy_probability``, the dormancy and escape of new colonies.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from scipy import stats

from metacascade._version import package_version
from metacascade.errors import (
    MetacascadeError,
    ParameterError,
    ScenarioError,
    SimulationError,
)
from metacascade.io import atomic_write, check_output_folder, write_json

__all__ = ["PARAMETER_SLOTS", "CohortRun", "cohort_spec", "draw_parameters", "run_cohort", "simulate_chunk"]

#: Random stream of each varied parameter: ``SeedSequence(seed, spawn_key=(2**40 + slot,))`` (patient
#: streams use keys below 1e8), one uniform per patient in patient order, so that a patient's
#: values depend neither on the cohort size nor on the chunking.
PARAMETER_SLOTS = {
    "primary_diameter_mm": 0,
    "growth_rate": 1,
    "shedding": 2,
    "immunocompetence": 3,
    "estradiol_pmol_l": 4,
    "age_years": 5,
}
_PARAM_KEY = 1 << 40
_COMPETENCE_SLOT = 16  # the population's competence draw (metacascade.model.population)
_NODAL_SLOT = 17  # the population's own normal of the nodal founding multiplier
POPULATION_Z_CAP = 3.0
POPULATION_MAX_DETECTABLE = 10.0
POPULATION_MAX_COLONIES = 30_000.0
_ALIVE_ROUNDS = 200  # rejection rounds of the draw conditioned on reaching diagnosis alive
_POSITIVE = ("primary_diameter_mm", "growth_rate", "shedding", "estradiol_pmol_l")
_NONNEGATIVE = ("immunocompetence", "age_years")
_MAX_COLONIES = 1_000_000
_COLONY_STREAMS = True  # common random numbers: a stream per colony (tests switch it off to show why)
_DISTANT_EXCLUDED = ("lymph_regional",)  # regional nodes: not a distant metastasis


class CohortError(MetacascadeError):
    """A cohort run that cannot start or go on (bad output folder, unreachable scheduler, ...)."""


# -- patient parameters ------------------------------------------------------------------------------
def _distribution(name: str, spec: Any) -> Any:
    """The frozen scipy distribution of a spec (None for ``fixed``)."""
    kind = spec.distribution
    if kind == "lognormal":
        return None if spec.sd_log == 0 else stats.lognorm(s=spec.sd_log, scale=spec.median)
    if kind == "normal":
        return None if spec.sd == 0 else stats.norm(loc=spec.mean, scale=spec.sd)
    if kind == "uniform":
        return stats.uniform(loc=spec.low, scale=spec.high - spec.low)
    return None


def _point(spec: Any) -> float:
    return float({"lognormal": spec.median, "normal": spec.mean, "fixed": spec.value}.get(spec.distribution, math.nan))


def draw_parameter(
    name: str, spec: Any, u: np.ndarray, lower: float | None = None, upper: float | None = None
) -> np.ndarray:
    """Values of parameter ``name`` for uniforms ``u`` by inversion of the spec's distribution
    truncated to [min, max] (and to the model's bounds ``lower``/``upper``).

    Raises ParameterError naming ``cohort.vary.<name>`` when the bounds leave nothing to draw or
    a value falls outside what the parameter allows."""
    field = f"cohort.vary.{name}"
    lo = max(v for v in (spec.min, lower, -math.inf) if v is not None)
    hi = min(v for v in (spec.max, upper, math.inf) if v is not None)
    dist = _distribution(name, spec)
    if dist is None:
        x = np.full(u.shape, _point(spec))
        if not (lo <= x[0] <= hi) if x.size else False:
            raise ParameterError(f"{field}: the value {x[0]:g} is outside the allowed range [{lo:g}, {hi:g}]")
    else:
        c_lo = float(dist.cdf(lo)) if math.isfinite(lo) else 0.0
        c_hi = float(dist.cdf(hi)) if math.isfinite(hi) else 1.0
        if not c_hi > c_lo:
            raise ParameterError(f"{field}: the bounds [{lo:g}, {hi:g}] leave no probability to draw from")
        x = np.asarray(dist.ppf(c_lo + u * (c_hi - c_lo)), dtype=float)
        x = np.clip(x, lo, hi)
    if name in _POSITIVE and np.any(x <= 0):
        raise ParameterError(
            f"{field}: values must be > 0; give min > 0 (a {spec.distribution} distribution reaches 0 or below)"
        )
    if name in _NONNEGATIVE and np.any(x < 0):
        raise ParameterError(
            f"{field}: values must be >= 0; give min = 0 (a {spec.distribution} distribution goes below 0)"
        )
    if not np.all(np.isfinite(x)):
        raise ParameterError(f"{field}: drew a value that is not finite; give finite min/max")
    return x


def draw_parameters(scenario: Any, n: int | None = None) -> dict[str, np.ndarray]:
    """Every patient's parameters (arrays of ``n`` = cohort size): the varied ones drawn, the
    others the scenario patient's (age: NaN when not varied)."""
    from metacascade.scenario import cells_to_diameter

    sc = scenario
    c = sc.cohort
    n = c.n_patients if n is None else n
    law = sc.model.primary_growth
    level = (sc.patient.hormone_levels or {}).get("estradiol")
    base = {
        "primary_diameter_mm": sc.patient.primary_diameter_mm,
        "growth_rate": 1.0,
        "shedding": 1.0,
        "immunocompetence": sc.patient.immunocompetence,
        "estradiol_pmol_l": level,
        "age_years": math.nan,
    }
    cap_mm = float(cells_to_diameter(law.capacity, sc.cells_per_mm3))
    one_cell = float(cells_to_diameter(1.0, sc.cells_per_mm3))
    bounds = {"primary_diameter_mm": (one_cell, cap_mm * (1.0 - 1e-9)), "immunocompetence": (0.0, 10.0)}
    out = {}

    def uniforms(slot: int) -> np.ndarray:
        return _round_uniforms(int(sc.engine.seed), slot, 0, n)

    pop = sc.population if sc.population_cohort_draws else None
    draws_founding = pop is not None and not pop.trivial and "shedding" not in c.vary
    for name, slot in PARAMETER_SLOTS.items():
        spec = c.vary.get(name)
        if spec is None and pop is not None and name in ("growth_rate", "shedding"):
            continue  # drawn below, conditioned on reaching diagnosis alive
        if spec is None:
            value = base[name]
            out[name] = np.full(n, math.nan if value is None else float(value))
            continue
        out[name] = draw_parameter(name, spec, uniforms(slot), *bounds.get(name, (None, None)))
    out["nodal_factor"] = np.ones(n)
    if pop is not None:
        out.update(_population_founding(sc, pop, out, n, draws_founding))
    return out


def _round_uniforms(seed: int, slot: int, round_: int, upto: int) -> np.ndarray:
    """The first ``upto`` uniforms of a parameter's rejection round ``round_`` (0: its own stream,
    :data:`PARAMETER_SLOTS`); patient i's value is the i-th, whatever the cohort size."""
    key = (_PARAM_KEY + slot,) if round_ == 0 else (_PARAM_KEY + slot, round_)
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key))).random(upto)


def _population_founding(
    sc: Any, pop: Any, drawn: dict[str, np.ndarray], n: int, draws_founding: bool
) -> dict[str, np.ndarray]:
    r"""Every patient's founding multiplier ``shedding`` (u; 0 without metastatic competence),
    growth multiplier ``growth_rate`` (v; unless ``[cohort.vary]`` gives it) and nodal factor
    :math:`u_n/u` drawn from the preset population **among the patients alive at diagnosis**, as the
    SEER curves and the population quadrature count them: a patient whose expected total burden
    would be lethal before her primary reaches its size at diagnosis (all-organ multiplier
    :math:`w_a \ge w_c(T)`, :func:`~metacascade.workflows.population_model.alive_log_threshold`) is
    drawn again from the next rejection round's streams (exact rejection sampling of the
    conditioned law; reproducible per patient). The multipliers are then capped
    (:func:`_founding_caps`) to keep colonies countable."""
    from metacascade.workflows.population_model import (
        NODE_ORGAN,
        alive_log_threshold,
        all_organ_log_w,
        scenario_curves,
    )

    seed = int(sc.engine.seed)
    vary = sc.cohort.vary
    draw_growth = "growth_rate" not in vary
    slots = {"u": PARAMETER_SLOTS["shedding"], "c": _COMPETENCE_SLOT, "y": _NODAL_SLOT}
    if draw_growth:
        slots["v"] = PARAMETER_SLOTS["growth_rate"]
    U = {k: _round_uniforms(seed, slot, 0, n) for k, slot in slots.items()}

    def values(idx: slice | np.ndarray) -> dict[str, np.ndarray]:
        """The multipliers of the patients ``idx`` from their current uniforms."""
        z_u = _population_z(U["u"][idx])
        shed = np.where(U["c"][idx] < pop.competent_fraction, np.exp(pop.dissemination_sd_log * z_u), 0.0)
        growth = np.exp(pop.growth_sd_log * _population_z(U["v"][idx])) if draw_growth else drawn["growth_rate"][idx]
        factor = np.ones(z_u.size) if pop.nodal_shared else pop.nodal_factor(z_u, _population_z(U["y"][idx]))
        return {"shedding": shed, "growth_rate": growth, "nodal_factor": factor}

    val = values(slice(None))
    if not draws_founding:  # [cohort.vary] gives the shedding, or every patient is the median one
        kept = {"growth_rate": val["growth_rate"]} if draw_growth else {}
        if "shedding" not in vary:
            kept.update(shedding=val["shedding"], nodal_factor=val["nodal_factor"])
        return kept
    organs = tuple(sc.organs)
    prim = np.asarray(sc.routing.primary, float)
    p_total = float(prim.sum())
    p_node = float(prim[organs.index(NODE_ORGAN)]) if NODE_ORGAN in organs else 0.0
    curves = scenario_curves(sc) if p_total > 0 else None
    if curves is not None:
        log_wc = alive_log_threshold(curves, p_total, curves.time_at_diameter(drawn["primary_diameter_mm"]))
        if np.any(log_wc == -np.inf):
            d = float(drawn["primary_diameter_mm"][np.flatnonzero(log_wc == -np.inf)[0]])
            raise ParameterError(
                f"patient.primary_diameter_mm: a primary of {d:g} mm alone exceeds the lethal burden; "
                "allowed: a diameter below it (or cohort.vary.primary_diameter_mm max)"
            )

        def dead_among(idx: np.ndarray, v: dict[str, np.ndarray]) -> np.ndarray:
            """The patients of ``idx`` (multipliers ``v``) dead before diagnosis."""
            with np.errstate(divide="ignore"):
                log_w = np.log(v["shedding"]) - np.log(v["growth_rate"])
                log_wa = all_organ_log_w(log_w, log_w + np.log(v["nodal_factor"]), p_node, p_total)
            return idx[(v["shedding"] > 0) & (log_wa >= log_wc[idx])]

        dead = dead_among(np.arange(n), val)
        for round_ in range(1, _ALIVE_ROUNDS + 1):
            if dead.size == 0:
                break
            upto = int(dead[-1]) + 1
            for k, slot in slots.items():
                U[k][dead] = _round_uniforms(seed, slot, round_, upto)[dead]
            new = values(dead)  # only the redrawn patients are evaluated again
            for k in val:
                val[k][dead] = new[k]
            dead = dead_among(dead, new)
        if dead.size:
            d = float(drawn["primary_diameter_mm"][dead[0]])
            raise ParameterError(
                f"patient.primary_diameter_mm: patients of {sc.patient.cancer} with a primary of {d:g} mm "
                f"are almost never alive at diagnosis (a patient drawn {_ALIVE_ROUNDS} times dead); "
                "allowed: a smaller diameter, or [cohort.vary] shedding"
            )
    u_max, un_max = _founding_caps(sc, curves)
    u = np.minimum(val["shedding"], u_max)
    # the nodal founding multiplier u * factor is capped as the distant one is (its own spread can be
    # wider: without the cap a patient of the tail founded 1e16 times the median patient's node
    # colonies and a cohort ran out of memory)
    with np.errstate(divide="ignore", invalid="ignore"):
        cap = np.where(u > 0, un_max / u, np.inf)
    out = {"shedding": u, "nodal_factor": np.minimum(val["nodal_factor"], cap)}
    if draw_growth:
        out["growth_rate"] = val["growth_rate"]
    return out


def _founding_caps(sc: Any, curves: Any = None) -> tuple[float, float]:
    """Largest founding multipliers drawn by default, distant and nodal: the smaller of those that
    give the median-sized patient ``POPULATION_MAX_DETECTABLE`` expected detectable distant
    (node-positive) colonies at diagnosis (such a patient is M1, node-positive, with probability
    1 - e^-10: the cap changes no fraction at diagnosis) and ``POPULATION_MAX_COLONIES`` expected
    established ones (simulating more colonies costs memory). Patients alive at diagnosis reach
    the first only between it and the lethal burden (ER+ breast at 30 mm: 1.2% of them)."""
    from metacascade.workflows.population_model import population_at_diagnosis

    state = population_at_diagnosis(sc, curves=curves)
    caps = []
    for visible, established in (
        ("median_detectable_distant_colonies_competent", "median_established_distant_colonies_competent"),
        ("median_node_positive_colonies_competent", "median_established_node_colonies_competent"),
    ):
        cap = math.inf
        for key, most in ((visible, POPULATION_MAX_DETECTABLE), (established, POPULATION_MAX_COLONIES)):
            lam = None if state is None else state[key]
            if lam and lam > 0:
                cap = min(cap, most / lam)
        caps.append(cap)
    return caps[0], caps[1]


def _population_z(u: np.ndarray) -> np.ndarray:
    """The standard normal of each patient's uniform, capped at +/- ``POPULATION_Z_CAP``."""
    from scipy.special import ndtri

    return np.clip(ndtri(np.clip(u, 1e-300, 1 - 1e-16)), -POPULATION_Z_CAP, POPULATION_Z_CAP)


# -- the set-up of a cohort (cached per process) ------------------------------------------------------
@dataclass(frozen=True)
class _Arm:
    name: str
    plan: Any  # CompiledPlan relative to diagnosis, over [0, follow-up]; host factors recorded
    entries: tuple[Any, ...]


@dataclass(frozen=True)
class _Setup:
    sc: Any
    params: dict[str, np.ndarray]
    speed: np.ndarray  # growth clock factor per patient
    diagnosis: np.ndarray  # model day of diagnosis per patient
    table_horizon: float
    tables: tuple
    extra: dict
    total_p_ref: float
    arms: tuple[_Arm, ...]
    establishment: Any
    sha256: str


def _scenario_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@lru_cache(maxsize=4)
def _setup(text: str, source: str) -> _Setup:
    """Parse the scenario and build what every chunk shares (tables, plans, parameters)."""
    from metacascade.engines.stochastic import (
        MAX_HORIZON_DAYS,
        _treated_arguments,
        routing_cumulative,
        seeding_tables,
    )
    from metacascade.model.treatment import HostTimeline, compile_plan
    from metacascade.scenario import (
        diameter_to_cells,
        establishment_of,
        organ_thresholds,
        parse_scenario,
    )

    sc = parse_scenario(text, source)
    if sc.cohort is None:
        raise ScenarioError(
            f"{source}: cohort: the scenario has no [cohort] section; add one (see "
            "`metacascade scenario init --cohort`)"
        )
    c = sc.cohort
    params = draw_parameters(sc)
    law = sc.model.primary_growth
    speed = params["growth_rate"].copy()
    for sv in sc.hormone_sensitivity:
        if sv.hormone == "estradiol":
            ref = (sc.patient.hormone_levels or {}).get("estradiol", sv.reference_level)
            speed *= np.asarray(sv.growth_multiplier(params["estradiol_pmol_l"]), dtype=float) / float(
                sv.growth_multiplier(ref)
            )
    cells = diameter_to_cells(params["primary_diameter_mm"], sc.cells_per_mm3)
    diagnosis = np.asarray(law.time_to_size(1.0, cells), dtype=float) / speed
    if not np.all(np.isfinite(diagnosis)):
        raise ScenarioError(
            f"{source}: cohort.vary: some patients' primary never reaches its diameter at "
            "diagnosis (a growth factor of 0?)"
        )
    table_horizon = float(np.max(speed * (diagnosis + c.follow_up_days)))
    if not table_horizon <= MAX_HORIZON_DAYS * 10:
        raise ScenarioError(
            f"{source}: cohort: the fastest patient's tumour age at the end of follow-up "
            f"({table_horizon:.4g} days of growth) is too long; bound growth_rate with max"
        )
    establishment = establishment_of(sc)
    total_p, _ = routing_cumulative(sc.routing.primary)
    tables = seeding_tables(sc.model, establishment.entry_cells, table_horizon, total_p)
    fail, symptom = organ_thresholds(sc)
    n_org = len(sc.organs)
    extra = _treated_arguments(
        sc.model,
        establishment,
        None,
        fail,
        symptom,
        n_org,
        table_horizon,
        np.array([0.0]),
        total_p,
        float(sc.detection_cells),
        float(sc.lethal_burden_cells),
    )
    recorder = HostTimeline(growth_multiplier=lambda f: f, dormancy=lambda k, f: (k, f), immunocompetence=1.0)
    arms = []
    for name, entries in c.arms:
        try:
            cp = compile_plan(
                entries, sc.organs, 0.0, c.follow_up_days, recorder, specific_rate=lambda x: float(law.specific_rate(x))
            )
        except ParameterError as exc:
            raise ScenarioError(f"{source}: cohort.arm {name!r}: {exc}") from None
        arms.append(_Arm(name, cp, tuple(entries)))
    return _Setup(
        sc=sc,
        params=params,
        speed=speed,
        diagnosis=diagnosis,
        table_horizon=table_horizon,
        tables=tables,
        extra=extra,
        total_p_ref=float(total_p),
        arms=tuple(arms),
        establishment=establishment,
        sha256=_scenario_hash(text),
    )


def _dormancy(sc: Any, kappa: np.ndarray, killing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised host dormancy (as scenario.compiled_plan): probability and escape rate."""
    from metacascade.model.immune import BCL1, dormancy_state

    host = sc.host
    if host.dormancy_probability == 0.0:
        return np.zeros(kappa.shape), np.zeros(kappa.shape)
    prod = kappa * killing
    exists = np.zeros(kappa.shape, dtype=bool)
    for f in np.unique(killing):
        sel = killing == f
        ks = kappa[sel]
        ex = np.zeros(ks.shape, dtype=bool)
        for k in np.unique(ks):  # the existence of the dormant state, once per distinct value
            ex[ks == k] = k * f > 0 and dormancy_state(BCL1.with_immunity(float(k), float(f))).exists
        exists[sel] = ex
    with np.errstate(divide="ignore"):
        # on the tumour's own clock (scenario.compiled_plan): the scenario patient's growth multiplier
        esc = np.where(
            exists, host.dormancy_escape_per_day * sc.patient.growth_multiplier / np.where(prod > 0, prod, 1.0), np.inf
        )
    return np.where(exists, host.dormancy_probability, 0.0), esc


@lru_cache(maxsize=4096)
def _routing_cached(text: str, source: str, kappa: float) -> tuple[np.ndarray, np.ndarray]:
    from metacascade.scenario import routing_at

    r = routing_at(_setup(text, source).sc, kappa)
    return r.primary, r.colony


def simulate_chunk(text: str, source: str, chunk: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate chunk ``chunk`` (patients ``chunk * chunk_size`` ...) in every arm.

    Returns the patients table (one row per patient x arm) and the events table of the chunk.
    Pure: the same inputs give the same tables in any process."""
    from metacascade._rng import patient_states
    from metacascade.engines._treated_kernel import simulate_treated_batch
    from metacascade.engines.stochastic import _BLOCK, routing_cumulative

    st = _setup(text, source)
    sc, c = st.sc, st.sc.cohort
    a, b = chunk * c.chunk_size, min((chunk + 1) * c.chunk_size, c.n_patients)
    if not 0 <= a < b:
        raise ParameterError(f"chunk: got {chunk}, allowed 0 .. {-(-c.n_patients // c.chunk_size) - 1}")
    idx = np.arange(a, b, dtype=np.int64)
    n = idx.size
    n_org = len(sc.organs)
    par = {k: v[a:b] for k, v in st.params.items()}
    g = st.speed[a:b]
    d = st.diagnosis[a:b]
    F = c.follow_up_days
    horizons = d + F
    shed = par["shedding"]
    kappa = par["immunocompetence"]
    # routing per patient (NK clearance depends on immunocompetence)
    if "immunocompetence" in c.vary:
        prim_r = np.empty((n, n_org))
        col_r = np.empty((n, n_org, n_org))
        for k in np.unique(kappa):
            sel = kappa == k
            pr, cr = _routing_cached(text, source, float(k))
            prim_r[sel] = pr
            col_r[sel] = cr
    else:
        prim_r = np.broadcast_to(sc.routing.primary, (n, n_org))
        col_r = np.broadcast_to(sc.routing.colony, (n, n_org, n_org))
    nodal = par["nodal_factor"]
    # the patient's nodal founding multiplier differs from her distant one
    if np.any(nodal != 1.0) and "lymph_regional" in sc.organs:
        prim_r = np.array(prim_r, dtype=float)
        prim_r[:, sc.organs.index("lymph_regional")] *= nodal
    secondary = bool(sc.model.secondary_seeding)
    total_p, cum_p = routing_cumulative(prim_r)
    if secondary:
        col_tot, cum_r = routing_cumulative(col_r)
    else:
        col_tot, cum_r = (
            np.zeros((n, n_org)),
            np.ascontiguousarray(np.broadcast_to(np.linspace(1.0 / n_org, 1.0, n_org), (n, n_org, n_org))),
        )
    prim_scale = shed * (total_p / st.total_p_ref if st.total_p_ref > 0 else 0.0)
    col_tot = np.ascontiguousarray(col_tot * shed[:, None])
    cum_p = np.ascontiguousarray(cum_p)
    cum_r = np.ascontiguousarray(cum_r)
    prim, col, logx_colony, logx_primary, step = st.tables
    ex = st.extra
    est = st.establishment
    estradiol = par["estradiol_pmol_l"]
    sens = [sv for sv in sc.hormone_sensitivity if sv.hormone == "estradiol"]
    states = patient_states(int(sc.engine.seed), idx)
    patients, events = [], []
    for arm in st.arms:
        cp = arm.plan
        nb = cp.breakpoints.size
        bps = np.empty((n, nb + 1))
        bps[:, 0] = 0.0
        bps[:, 1:] = d[:, None] + cp.breakpoints[None, :]
        bps[:, -1] = horizons
        factor = np.ones((n, nb))  # growth factor per interval: [before diagnosis, plan intervals]
        for sv in sens:
            for j, f in enumerate(cp.growth_rate):
                if f != 1.0:
                    factor[:, j + 1] *= np.asarray(sv.growth_multiplier(estradiol * f), dtype=float) / np.asarray(
                        sv.growth_multiplier(estradiol), dtype=float
                    )
        rates = np.ascontiguousarray(g[:, None] * factor)
        kap = kappa[:, None] * np.concatenate(([1.0], cp.dormancy_probability))[None, :]
        kil = np.broadcast_to(np.concatenate(([1.0], cp.escape_rate))[None, :], kap.shape)
        pdorm, escape = _dormancy(sc, kap, kil)
        escape = escape * g[:, None]  # and each patient's own growth speed relative to the scenario's
        kill_times = np.ascontiguousarray(d[:, None] + cp.kill_time[None, :])
        t_surg = d + cp.surgery_time
        t_end = d + cp.end_time
        bursts = cp.burst_cells * total_p * shed
        n_blocks = -(-n // _BLOCK)
        sums = np.zeros((n_blocks, 4, 1, n_org, 1))
        res = simulate_treated_batch(
            states,
            horizons,
            prim.t,
            prim.H,
            prim.h,
            cum_p,
            secondary and bool(np.any(col_tot > 0)),
            col.t,
            col.H,
            col.h,
            col_tot,
            cum_r,
            est.t_table,
            est.cdf_table,
            np.array([float(sc.detection_cells)]),
            np.array([0.0]),
            logx_colony,
            logx_primary,
            ex["low"],
            step,
            ex["step_low"],
            ex["a_entry"],
            ex["low_p"],
            ex["step_low_p"],
            ex["a_p0"],
            est.entry_cells,
            1.0,
            float(sc.model.colony_size0),
            ex["q"],
            float(sc.detection_cells),
            float(sc.lethal_burden_cells),
            ex["fail"],
            ex["symptom"],
            _MAX_COLONIES,
            np.inf,
            True,
            np.array([0], dtype=np.int64),
            sums,
            np.zeros_like(sums),
            _BLOCK,
            bps,
            rates,
            pdorm,
            escape,
            kill_times,
            cp.kill_log_sf,
            cp.kill_chemo,
            cp.kill_mutation_rate,
            cp.kill_norton_simon,
            cp.kill_reference_rate,
            t_surg,
            cp.surgery_node_organ,
            cp.surgery_nodes_left,
            bursts,
            prim_scale,
            t_end,
            bps,
            g,
            _COLONY_STREAMS,
        )
        if res[6].any():
            bad = int(idx[np.flatnonzero(res[6])[0]])
            raise SimulationError(
                f"cohort arm {arm.name!r}: patient {bad} founded more than {_MAX_COLONIES} colonies; "
                "shorten follow_up_days or bound the shedding/growth distributions with max"
            )
        pt, ev = _tables(sc, arm, idx, par, d, F, res)
        patients.append(pt)
        events.append(ev)
    return pd.concat(patients, ignore_index=True), pd.concat(events, ignore_index=True)


def _tables(
    sc: Any, arm: _Arm, idx: np.ndarray, par: dict, d: np.ndarray, F: float, res: tuple
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The patients and events tables of one arm of a chunk (days since diagnosis)."""
    from metacascade.workflows.stochastic_run import cause_labels

    organs = sc.organs
    n = idx.size
    first, death, n_col = res[3], res[4], res[5]
    cause, recur, symptom, n_clones, gone = res[13], res[14], res[15], res[16], res[19]
    death_rel = death - d
    died = np.isfinite(death_rel) & (death_rel <= F)
    os_days = np.where(died, np.maximum(death_rel, 0.0), F)
    met_raw = first - d[:, None]
    seen = np.isfinite(met_raw) & (met_raw <= os_days[:, None])
    met = np.where(seen, np.maximum(met_raw, 0.0), np.nan)
    distant = np.array([o not in _DISTANT_EXCLUDED for o in organs])
    dm_first = np.min(np.where(seen[:, distant], met[:, distant], np.inf), axis=1)
    dm_event = np.isfinite(dm_first)
    labels = np.array(cause_labels(organs), dtype=object)
    rec = np.min(recur, axis=1) - d
    rec_seen = np.isfinite(rec) & (rec <= os_days)
    gone_rel = gone - d
    cols: dict[str, Any] = {
        "arm": np.full(n, arm.name, dtype=object),
        "patient": idx,
        "age_years": par["age_years"],
        "primary_diameter_mm": par["primary_diameter_mm"],
        "growth_factor": par["growth_rate"],
        "shedding_factor": par["shedding"],
        "immunocompetence": par["immunocompetence"],
        "estradiol_pmol_l": par["estradiol_pmol_l"],
        "primary_age_days": d,
        "os_days": os_days,
        "os_event": died,
        "mfs_days": np.where(dm_event, dm_first, os_days),
        "mfs_event": dm_event | died,
        "dm_days": np.where(dm_event, dm_first, os_days),
        "dm_event": dm_event,
        "cause_of_death": np.where(died, labels[cause], "alive"),
        "dead_before_diagnosis": died & (death_rel < 0),
        "m1_at_diagnosis": np.any(seen[:, distant] & (met_raw[:, distant] <= 0), axis=1),
        "recurrence_days": np.where(rec_seen, np.maximum(rec, 0.0), np.nan),
        "primary_removed_days": np.where(
            np.isfinite(gone_rel) & (gone_rel <= os_days), np.maximum(gone_rel, 0.0), np.nan
        ),
        "n_colonies": n_col,
        "n_resistant_clones": n_clones,
    }
    for j, o in enumerate(organs):
        cols[f"met_days__{o}"] = met[:, j]
    pt = pd.DataFrame(cols)
    if np.all(np.isnan(par["age_years"])):
        pt = pt.drop(columns="age_years")
    if np.all(np.isnan(par["estradiol_pmol_l"])):
        pt = pt.drop(columns="estradiol_pmol_l")
    # events: treatment courses begun while alive, detections, symptoms, recurrence, death/censoring
    rows_p, rows_day, rows_ev, rows_org, rows_end = [], [], [], [], []

    def add(sel: np.ndarray, day: np.ndarray, event: str, organ: str | None, end: np.ndarray | float = np.nan) -> None:
        k = int(np.count_nonzero(sel))
        if k:
            rows_p.append(idx[sel])
            rows_day.append(np.broadcast_to(day, sel.shape)[sel])
            rows_ev.append(np.full(k, event, dtype=object))
            rows_org.append(np.full(k, organ, dtype=object))
            rows_end.append(np.broadcast_to(np.asarray(end, dtype=float), sel.shape)[sel])

    for t in arm.entries:
        day = float(t.day)
        if day <= F:
            add(os_days >= day, np.full(n, day), t.kind, None, np.full(n, min(float(t.end_day), F)))
    for j, o in enumerate(organs):
        add(seen[:, j], met[:, j], "metastasis", o)
        s_rel = symptom[:, j] - d
        add(np.isfinite(s_rel) & (s_rel <= os_days), np.maximum(s_rel, 0.0), "symptoms", o)
    add(rec_seen, np.maximum(rec, 0.0), "recurrence", None)
    add(died, os_days, "death", None)
    add(~died, os_days, "censored", None)
    if rows_p:
        ev = pd.DataFrame(
            {
                "arm": arm.name,
                "patient": np.concatenate(rows_p),
                "day": np.concatenate(rows_day),
                "event": np.concatenate(rows_ev),
                "organ": np.concatenate(rows_org),
                "end_day": np.concatenate(rows_end),
            }
        )
        ev = ev.sort_values(["patient", "day", "event"], kind="stable").reset_index(drop=True)
    else:
        ev = pd.DataFrame(
            {"arm": [], "patient": np.zeros(0, np.int64), "day": [], "event": [], "organ": [], "end_day": []}
        )
    return pt, ev


# -- the run: chunks, parts, resume, merge -------------------------------------------------------------
@dataclass(frozen=True)
class CohortRun:
    """A finished cohort run folder."""

    out: Path
    manifest: dict
    summary: dict

    def patients(self) -> pd.DataFrame:
        return pd.read_parquet(self.out / "patients.parquet")

    def events(self) -> pd.DataFrame:
        return pd.read_parquet(self.out / "events.parquet")


def cohort_spec(path_or_text: str | Path, source: str | None = None) -> tuple[str, str]:
    """(text, source) of a scenario file (or text), checked to have a ``[cohort]`` section."""
    from metacascade.scenario import parse_scenario

    if isinstance(path_or_text, Path):
        try:
            text = path_or_text.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ScenarioError(f"{path_or_text}: scenario file not found") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ScenarioError(f"{path_or_text}: cannot read the scenario file: {exc}") from None
        source = source or str(path_or_text)
    else:
        text, source = str(path_or_text), source or "<scenario>"
    sc = parse_scenario(text, source)
    if sc.cohort is None:
        raise ScenarioError(
            f"{source}: cohort: the scenario has no [cohort] section (n_patients, arms, vary); add one to run a cohort"
        )
    return text, source


def _part(out: Path, k: int, what: str) -> Path:
    return out / "parts" / f"chunk-{k:06d}.{what}.parquet"


def _write_part(out: Path, k: int, patients: pd.DataFrame, events: pd.DataFrame) -> None:
    # events first: the patients part marks the chunk as done
    atomic_write(_part(out, k, "events"), lambda p: events.to_parquet(p, index=False))
    atomic_write(_part(out, k, "patients"), lambda p: patients.to_parquet(p, index=False))


def _connect(scheduler: str) -> Any:
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - a dependency
        raise CohortError("--scheduler: dask.distributed is not installed (pip install 'dask[distributed]')") from None
    try:
        return Client(scheduler, timeout="5s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise CohortError(
            f"--scheduler: cannot reach the dask scheduler at {scheduler!r} ({exc}); start one "
            "(`dask scheduler` and `dask worker ADDRESS`) or leave out --scheduler to run "
            "locally"
        ) from None


def run_cohort(
    scenario: str | Path,
    out: str | Path,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    figures: bool = True,
    source: str | None = None,
) -> CohortRun:
    """Run (or resume) the cohort of ``scenario`` (a path, or TOML text) into the folder ``out``.

    Parameters
    ----------
    scenario : path or str
        a scenario file with a ``[cohort]`` section (a ``str`` is taken as the file's text).
    out : path
        the run folder: ``parts/`` while running; at the end ``patients.parquet``,
        ``events.parquet``, ``summary.json``, ``manifest.json`` (``"status": "complete"``) and
        ``figures/``. A folder holding an unfinished run of the same scenario is resumed: its
        finished chunks are kept and not computed again.
    workers : int
        local threads (the kernel runs without the GIL); ignored with ``scheduler``.
    scheduler : str, optional
        the address of a running dask.distributed scheduler (``tcp://host:8786``).
    progress : callable, optional
        ``progress(patients_done, patients_total)`` (patients x arms) after each chunk.
    """
    from metacascade.workflows.cohort_figures import (
        km_figure,
        organ_figure,
        save_figure,
        swimmer_figure,
    )
    from metacascade.workflows.survival import survival_summary

    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 1024:
        raise ParameterError(f"workers: got {workers!r}, allowed a whole number in [1, 1024]")
    text, source = cohort_spec(Path(scenario) if isinstance(scenario, Path) else scenario, source)
    st = _setup(text, source)
    sc, c = st.sc, st.sc.cohort
    out = Path(out)
    try:
        check_output_folder(out)
    except MetacascadeError as exc:
        raise CohortError(str(exc)) from None
    manifest_path = out / "manifest.json"
    n_chunks = -(-c.n_patients // c.chunk_size)
    identity = {
        "scenario_sha256": st.sha256,
        "n_patients": c.n_patients,
        "chunk_size": c.chunk_size,
        "n_chunks": n_chunks,
        "arms": [a.name for a in st.arms],
        "seed": sc.engine.seed,
        "metacascade_version": package_version(),
    }
    if manifest_path.exists():
        try:
            old = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CohortError(f"--out: {manifest_path} is unreadable ({exc}); use a new folder") from None
        if old.get("scenario_sha256") != st.sha256 or old.get("chunk_size") != c.chunk_size:
            raise CohortError(
                f"--out: {out} holds a run of another scenario (sha256 "
                f"{str(old.get('scenario_sha256'))[:12]}); use a new folder or delete it"
            )
        if old.get("status") == "complete":
            return CohortRun(out, old, json.loads((out / "summary.json").read_text(encoding="utf-8")))
    elif out.exists() and any(out.iterdir()):
        raise CohortError(f"--out: {out} is not empty and holds no cohort run; use a new or empty folder")
    (out / "parts").mkdir(parents=True, exist_ok=True)
    manifest = {
        **identity,
        "status": "incomplete",
        "source": source,
        "scenario": text,
        "note": "unfinished: run the same command again to resume; parts/ holds the finished chunks",
    }
    write_json(manifest, manifest_path)
    atomic_write(out / "scenario.toml", lambda p: p.write_text(text, encoding="utf-8"))

    done = {k for k in range(n_chunks) if _part(out, k, "patients").exists()}
    todo = [k for k in range(n_chunks) if k not in done]
    per_chunk = lambda k: (min((k + 1) * c.chunk_size, c.n_patients) - k * c.chunk_size) * len(st.arms)
    total = c.n_patients * len(st.arms)
    count = sum(per_chunk(k) for k in done)
    started = time.perf_counter()
    if progress is not None:
        progress(count, total)

    def finished(k: int, tables: tuple[pd.DataFrame, pd.DataFrame]) -> None:
        nonlocal count
        _write_part(out, k, *tables)
        count += per_chunk(k)
        if progress is not None:
            progress(count, total)

    if todo:
        if scheduler:
            client = _connect(scheduler)
            try:
                from distributed import as_completed as dask_completed

                futures = {
                    client.submit(simulate_chunk, text, source, k, pure=False, key=f"mc-{st.sha256[:12]}-{k}"): k
                    for k in todo
                }
                for fut in dask_completed(list(futures), loop=client.loop):
                    finished(futures[fut], fut.result())
            finally:
                client.close()
        elif workers == 1 or len(todo) == 1:
            for k in todo:
                finished(k, simulate_chunk(text, source, k))
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                futures = {pool.submit(simulate_chunk, text, source, k): k for k in todo}
                try:
                    for fut in as_completed(futures):
                        finished(futures[fut], fut.result())
                except BaseException:
                    for fut in futures:
                        fut.cancel()
                    raise
    wall = time.perf_counter() - started

    # merge the parts in chunk order (streamed: one part in memory at a time)
    for what in ("patients", "events"):

        def merge(tmp: Path, what: str = what) -> None:
            writer = None
            try:
                for k in range(n_chunks):
                    table = pq.read_table(_part(out, k, what))
                    if writer is None:
                        writer = pq.ParquetWriter(tmp, table.schema)
                    writer.write_table(table.cast(writer.schema) if table.schema != writer.schema else table)
            finally:
                if writer is not None:
                    writer.close()

        atomic_write(out / f"{what}.parquet", merge)
    organs = list(sc.organs)
    cols = [
        "arm",
        "patient",
        "os_days",
        "os_event",
        "mfs_days",
        "mfs_event",
        "dm_days",
        "dm_event",
        "cause_of_death",
    ] + [f"met_days__{o}" for o in organs]
    patients = pd.read_parquet(out / "patients.parquet", columns=cols)
    arms = [a.name for a in st.arms]
    summary = survival_summary(patients, arms, c.follow_up_days)
    summary["cohort"] = {
        "n_patients": c.n_patients,
        "arms": arms,
        "follow_up_days": c.follow_up_days,
        "vary": {k: v.model_dump(exclude_none=True) for k, v in c.vary.items()},
        "population": None if sc.population is None else dataclasses.asdict(sc.population),
    }
    summary["organs"] = {
        a: {o: float(np.mean(np.isfinite(g[f"met_days__{o}"].to_numpy()))) for o in organs}
        for a, g in patients.groupby("arm", sort=False)
    }
    summary["cause_of_death"] = {
        a: {k: int(v) for k, v in g["cause_of_death"].value_counts().items()}
        for a, g in patients.groupby("arm", sort=False)
    }
    write_json(summary, out / "summary.json")
    files = ["patients.parquet", "events.parquet", "summary.json", "scenario.toml"]
    if figures:
        (out / "figures").mkdir(exist_ok=True)
        # swimmer: the first 20 patients with a distant metastasis or death in some arm (the
        # informative ones), filled up with the first others
        eventful = patients.loc[patients["dm_event"] | patients["os_event"], "patient"].unique()
        ids = np.sort(eventful)[:20]
        if ids.size < 20:
            rest = np.setdiff1d(np.arange(min(c.n_patients, 40)), ids)
            ids = np.sort(np.concatenate([ids, rest[: 20 - ids.size]]))
        sample = patients[patients["patient"].isin(ids)]
        ev = pd.read_parquet(out / "events.parquet", filters=[("patient", "in", [int(i) for i in ids])])
        for stem, fig in (
            ("km_os", lambda: km_figure(patients, "os")),
            ("km_mfs", lambda: km_figure(patients, "mfs")),
            ("organs", lambda: organ_figure(patients, organs)),
            ("swimmer", lambda: swimmer_figure(sample, ev, n=20)),
        ):
            files += [str(p.relative_to(out)) for p in save_figure(fig(), out / "figures" / stem)]
    manifest = {
        **identity,
        "status": "complete",
        "source": source,
        "scenario": text,
        "wall_seconds_last_session": round(wall, 3),
        "files": files,
        "python_packages": _versions(),
    }
    write_json(manifest, manifest_path)
    shutil.rmtree(out / "parts", ignore_errors=True)
    return CohortRun(out, manifest, summary)


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {}
    for name in ("numpy", "scipy", "numba", "pandas", "pyarrow", "lifelines", "dask", "distributed"):
        with contextlib.suppress(md.PackageNotFoundError):
            out[name] = md.version(name)
    return out


def default_workers() -> int:
    """Local threads by default: the machine's cores (at most 8)."""
    return max(1, min(8, os.cpu_count() or 1))
