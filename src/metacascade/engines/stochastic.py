r"""Stochastic engine: virtual patients, each one realisation of the hybrid metastatic process.

The process (docs/design.md section 2) is the one the deterministic engine averages:

1. The primary grows deterministically, :math:`X_p(t)`, and founds colonies that will survive
   early extinction as an inhomogeneous Poisson process of intensity
   :math:`d_p(X_p(t)) \sum_j p_j` (shed cells times the routing probabilities of the body graph,
   which include ``early_survival``). Events are sampled by inverting the cumulative
   intensity (:class:`~metacascade.model.intensity.CumulativeRate`), not by time steps.
2. Each founding draws its organ ``j`` with probability :math:`p_j / \sum p`.
3. A new colony is a birth-death process while small
   (:class:`~metacascade.model.establishment.Establishment`): it takes the random time
   :math:`T` to grow from ``colony_size0`` to ``switch_cells`` cells (the law of the
   birth-death phase conditioned on survival; founders that die out are the thinned-away part of
   the Poisson process), then grows deterministically by the colony growth law.
4. Once on its deterministic track, a colony in organ ``i`` founds colonies itself at rate
   :math:`d_c(X_c(a)) \sum_j R_{ij}` (``a``: age since the switch), in organ ``j`` with
   probability :math:`R_{ij}/\sum_j R_{ij}`: metastases from metastases, to any generation.

The **switch size** ``switch_cells`` (default 1000 cells, about 1e-3 mm^3) is where a colony
leaves the birth-death phase; above it the relative size fluctuations of a birth-death process
are :math:`O(N^{-1/2})`, and the tests show that moving the switch from 100 to 10^4 cells does not
change the distributions (and that the hybrid agrees with the exact SSA of
:mod:`metacascade.engines.ssa`). ``switch_cells <= colony_size0`` gives Iwata's process
(deterministic colonies from the start).

Reported per patient: the number of metastases above each size, established (past the switch)
and founded, and the burden, per organ at the output times; the first time a metastasis is
detectable in each organ; the day the total burden reaches the lethal burden (``inf`` if not
within the horizon); and the colony log (founding, establishment, detection of every colony, its
parent and generation). The process is followed to the horizon whatever the death day (like the
deterministic engine), so means over patients equal the deterministic expectations.

Patient ``i`` of a run with seed ``s`` draws from its own stream
(:func:`metacascade._rng.patient_states`): results do not depend on the batch size or
the number of workers, and :func:`simulate_patients` with ``patient_indices=[i]`` reproduces
patient ``i`` exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from metacascade._rng import patient_states
from metacascade.engines._stochastic_kernel import simulate_batch
from metacascade.engines._treated_kernel import simulate_treated_batch
from metacascade.errors import ParameterError, SimulationError
from metacascade.model.establishment import Establishment
from metacascade.model.intensity import CumulativeRate
from metacascade.model.metastasis import MetastasisModel
from metacascade.model.treatment import CompiledPlan

__all__ = ["MAX_HORIZON_DAYS", "MAX_PATIENTS", "StochasticResult", "simulate_patients"]

FloatArray = NDArray[np.float64]

MAX_HORIZON_DAYS = 36500.0 * 2  # model time: up to a century of primary growth plus follow-up
MAX_PATIENTS = 100_000_000
_TABLE_STEPS = 8192
_BLOCK = 64  # patients per partial sum


_SERIES = ("n_above", "n_established", "n_founded", "burden")


@dataclass(frozen=True)
class StochasticResult:
    """Outcomes of :func:`simulate_patients` (model time in days).

    Over all patients (in the order of ``patient_indices``), for every output time, organ and
    size: the mean and standard error of ``n_above`` (metastases larger than ``sizes[k]``
    cells), ``n_established`` (colonies past the switch size: the deterministic engine's
    ``n_total`` with the same establishment law), ``n_founded`` (colonies founded that survive
    early extinction, established or not yet) and ``burden`` (cells in established colonies):
    see :meth:`mean_and_se`. Sums are accumulated patient by patient in index order, so they do
    not depend on the batch size.

    Per patient: the same quantities at ``snapshot_times`` (``*_at`` arrays indexed
    [patient, snapshot, organ(, size)]), ``first_detectable`` (patient, organ: first day a
    metastasis there reaches ``detection_cells``; inf if not within the horizon), ``death_day``
    (first day primary plus metastases reach ``lethal_cells``; inf if not), ``n_colonies`` and
    the ``colony_log`` (one row per colony: patient, colony, parent (-1: the primary),
    generation, organ, founded_day, established_day, detectable_day; inf: not within the
    horizon).
    """

    organs: tuple[str, ...]
    times: FloatArray
    sizes: FloatArray
    snapshot_times: FloatArray
    detection_cells: float
    lethal_cells: float
    horizon: float
    seed: int
    stop_at_death: bool
    patient_indices: NDArray[np.int64]
    n_above_at: NDArray[np.int32]
    n_established_at: NDArray[np.int32]
    burden_at: FloatArray
    first_detectable: FloatArray
    death_day: FloatArray
    n_colonies: NDArray[np.int64]
    colony_log: pd.DataFrame
    establishment: Establishment
    sums: dict[str, FloatArray]
    sums_of_squares: dict[str, FloatArray]
    # with a plan or organ failure (treated kernel), else None:
    cause_of_death: NDArray[np.int64] | None = None  # 0 alive, 1 lethal burden, 2 + j failure of organ j
    recurrence_day: FloatArray | None = None  # (patient, organ + primary): first detectable at/after the plan's end
    symptom_day: FloatArray | None = None  # (patient, organ): organ burden reaches its symptom threshold
    n_resistant_clones: NDArray[np.int64] | None = None  # mutations to resistance drawn at first doses
    primary_gone_day: FloatArray | None = None  # day the primary was removed or eradicated (inf: never)
    primary_cells_at_surgery: FloatArray | None = None  # just before the operation (0: no surgery)
    plan_end: float = -math.inf

    @property
    def n_patients(self) -> int:
        return int(self.patient_indices.size)

    def mean_and_se(self, name: str) -> tuple[FloatArray, FloatArray]:
        """Mean over patients of ``name`` (one of n_above, n_established, n_founded, burden) and its
        standard error (sample standard deviation / sqrt(P)); arrays [time, organ(, size)]."""
        if name not in _SERIES:
            raise ParameterError(f"name: got {name!r}, allowed one of {', '.join(_SERIES)}")
        n = self.n_patients
        mean = self.sums[name] / n
        if n < 2:
            return mean, np.full_like(mean, np.nan)
        var = np.maximum(self.sums_of_squares[name] - n * mean * mean, 0.0) / (n - 1)
        return mean, np.sqrt(var / n)

    def patients(self, time_offset: float = 0.0) -> pd.DataFrame:
        """One row per patient: death day, colonies, metastases at the last snapshot, first
        detectable day (any organ and per organ). Days are model days minus ``time_offset``."""
        k_det = int(np.searchsorted(self.sizes, self.detection_cells))
        df = pd.DataFrame(
            {
                "patient": self.patient_indices,
                "death_day": self.death_day - time_offset,
                "n_colonies": self.n_colonies,
                "n_established": self.n_established_at[:, -1, :].sum(axis=1),
            }
        )
        if k_det < self.sizes.size and self.sizes[k_det] == self.detection_cells:
            df["n_detectable"] = self.n_above_at[:, -1, :, k_det].sum(axis=1)
        df["first_detectable_day"] = self.first_detectable.min(axis=1) - time_offset
        for j, organ in enumerate(self.organs):
            df[f"first_detectable_day_{organ}"] = self.first_detectable[:, j] - time_offset
        for j, organ in enumerate(self.organs):
            df[f"n_established_{organ}"] = self.n_established_at[:, -1, j]
        if self.cause_of_death is not None:  # a treated run: its per-patient arrays are all set
            assert self.recurrence_day is not None and self.primary_gone_day is not None
            assert self.symptom_day is not None
            df["cause_of_death_code"] = self.cause_of_death
            df["recurrence_day"] = self.recurrence_day.min(axis=1) - time_offset
            df["n_resistant_clones"] = self.n_resistant_clones
            df["primary_gone_day"] = self.primary_gone_day - time_offset
            for j, organ in enumerate(self.organs):
                if np.isfinite(self.symptom_day[:, j]).any():
                    df[f"first_symptom_day_{organ}"] = self.symptom_day[:, j] - time_offset
        return df.replace([np.inf], np.nan)

    def events(self, time_offset: float = 0.0) -> pd.DataFrame:
        """Long event log: seeding, establishment, detection of every colony and each death.

        Columns: patient, day (model day minus ``time_offset``), event, organ, colony.
        """
        log = self.colony_log
        parts = []
        kinds = [("seeding", "founded_day"), ("establishment", "established_day"), ("detection", "detectable_day")]
        if "gone_day" in log:
            kinds.append(("eradication", "gone_day"))
        for event, col in kinds:
            t = log[col].to_numpy()
            keep = np.isfinite(t) & (t <= self.horizon)
            parts.append(
                pd.DataFrame(
                    {
                        "patient": log["patient"].to_numpy()[keep],
                        "day": t[keep] - time_offset,
                        "event": event,
                        "organ": log["organ"].to_numpy()[keep],
                        "colony": log["colony"].to_numpy()[keep],
                    }
                )
            )
        dead = np.isfinite(self.death_day)
        parts.append(
            pd.DataFrame(
                {
                    "patient": self.patient_indices[dead],
                    "day": self.death_day[dead] - time_offset,
                    "event": "death",
                    "organ": None,
                    "colony": -1,
                }
            )
        )
        out = pd.concat(parts, ignore_index=True)
        out["event"] = pd.Categorical(out["event"], ["seeding", "establishment", "detection", "eradication", "death"])
        return out.sort_values(["patient", "day", "event"], kind="stable").reset_index(drop=True)


def _drop_after_death(log: pd.DataFrame, idx: NDArray[np.int64], death: FloatArray) -> pd.DataFrame:
    """Remove colonies founded after their patient's death; renumber colonies and parents."""
    rows = pd.Index(idx).get_indexer(log["patient"].to_numpy())
    keep = log["founded_day"].to_numpy() <= death[rows]
    kept = log.loc[keep].copy()
    new_id = kept.groupby("patient", sort=False).cumcount().to_numpy()
    mapping = pd.Series(
        new_id, index=pd.MultiIndex.from_arrays([kept["patient"].to_numpy(), kept["colony"].to_numpy()])
    )
    parent = kept["parent"].to_numpy()
    has_parent = parent >= 0
    mapped = np.full(parent.size, -1, dtype=np.int64)
    if has_parent.any():
        keys = pd.MultiIndex.from_arrays([kept["patient"].to_numpy()[has_parent], parent[has_parent]])
        mapped[has_parent] = mapping.reindex(keys).to_numpy()
    kept["colony"] = new_id
    kept["parent"] = mapped
    return kept.reset_index(drop=True)


def routing_cumulative(r: ArrayLike) -> tuple[Any, FloatArray]:
    """Totals and cumulative organ-choice probabilities of routing vectors (last axis: organs).

    A vector with total 0 gets equal shares (it never seeds)."""
    r = np.asarray(r, dtype=float)
    total = r.sum(axis=-1)
    n = r.shape[-1]
    safe = np.where(total > 0, total, 1.0)
    cum = np.where((total > 0)[..., None], np.cumsum(r, axis=-1) / safe[..., None], np.linspace(1.0 / n, 1.0, n))
    cum[..., -1] = 1.0
    return (float(total) if total.ndim == 0 else total), cum


def seeding_tables(
    model: MetastasisModel, entry_cells: float, table_horizon: float, primary_total: float
) -> tuple[Any, ...]:
    """The stochastic kernels' tables over ages [0, table_horizon]: the primary's cumulative
    seeding intensity times its routing total ``primary_total`` (:class:`CumulativeRate`), a
    colony's per unit routing (age since the switch size), the log sizes of a colony (from
    ``entry_cells``) and of the primary, and the age step."""
    law = model.colony_growth
    prim = CumulativeRate.build(
        lambda t: (
            primary_total * np.asarray(model.primary_shedding.rate(model.primary_growth.solve(model.primary_size0, t)))
        ),
        table_horizon,
        _TABLE_STEPS,
    )
    shed = model.colony_shedding
    col = CumulativeRate.build(lambda a: np.asarray(shed.rate(law.solve(entry_cells, a))), table_horizon, _TABLE_STEPS)
    age = np.linspace(0.0, table_horizon, _TABLE_STEPS + 1)
    logx_colony = np.log(np.asarray(law.solve(entry_cells, age), dtype=float))
    logx_primary = np.log(np.asarray(model.primary_growth.solve(model.primary_size0, age), dtype=float))
    return prim, col, logx_colony, logx_primary, table_horizon / _TABLE_STEPS


def _check_int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not (low <= int(value) <= high):
        raise ParameterError(f"{name}: got {value!r}, allowed a whole number in [{low}, {high}]")
    return int(value)


def _check_times(times: ArrayLike, horizon: float) -> FloatArray:
    t = np.asarray(times, dtype=float).ravel()
    if t.size < 1 or not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0) or t[0] < 0 or t[-1] > horizon:
        raise ParameterError(f"times: allowed increasing finite days in [0, horizon = {horizon:g}]")
    return t


def simulate_patients(
    model: MetastasisModel,
    organs: Sequence[str],
    primary_routing: ArrayLike,
    colony_routing: ArrayLike | None,
    horizon: float,
    n_patients: int,
    *,
    seed: int,
    survival: float = 1.0,
    switch_cells: float = 1000.0,
    times: ArrayLike | None = None,
    sizes: ArrayLike = (1e6, 1e7, 1e8, 1e9),
    detection_cells: float = 6.5e7,
    lethal_cells: float = 1e12,
    patient_indices: ArrayLike | None = None,
    batch_size: int = 512,
    workers: int = 1,
    max_colonies: int = 1_000_000,
    establishment: Establishment | None = None,
    stop_at_death: bool = False,
    snapshot_times: ArrayLike | None = None,
    progress: Callable[[int], None] | None = None,
    plan: CompiledPlan | None = None,
    failure_cells: ArrayLike | None = None,
    symptom_cells: ArrayLike | None = None,
) -> StochasticResult:
    r"""Simulate ``n_patients`` virtual patients of ``model`` with organs and routing.

    Parameters
    ----------
    model : MetastasisModel
    organs : sequence of str
    primary_routing : array (n,)
        probability that a cell shed by the primary founds a colony (that survives early
        extinction) in each organ.
    colony_routing : array (n, n) or None
        ``R[i, j]``: the same for a cell shed by a colony in organ ``i``; None without
        secondary seeding.
    horizon : float
        last model day (> 0, at most MAX_HORIZON_DAYS).
    n_patients : int
        patients 0 .. n_patients-1 (ignored when ``patient_indices`` is given).
    seed : int
        root seed (>= 0); patient ``i`` uses ``SeedSequence(seed, spawn_key=(i,))``.
    survival : float
        probability that a founded colony survives early extinction (``early_survival``), which
        sets the death/birth ratio of the birth-death phase.
    switch_cells : float
        size (cells, >= 1) at which a colony leaves the birth-death phase.
    times : array, optional
        output model days (increasing, in [0, horizon]); default 121 equal steps.
    sizes : array
        sizes (cells) for ``n_above`` (each >= the entry size of the deterministic phase).
    detection_cells, lethal_cells : float
        detection threshold of a metastasis; total burden at death.
    patient_indices : array of int, optional
        simulate only these patients (re-run patients alone).
    batch_size, workers : int
        patients per kernel call (rounded up to a multiple of 64), threads; results do not
        depend on either (sums over patients are formed in blocks of 64 patients in index
        order, then over blocks in order).
    max_colonies : int
        SimulationError if a patient exceeds this many colonies.
    establishment : Establishment, optional
        a prebuilt law of the birth-death phase (else built from ``survival`` and
        ``switch_cells``).
    snapshot_times : array, optional
        output times (each one of ``times``) at which per-patient arrays are kept; default the
        last output time.
    stop_at_death : bool
        False (default): follow the process to the horizon whatever the death day, so that
        means over patients equal the deterministic engine's expectations. True: nothing
        happens after the patient's death (no colony founded later; every output after the
        death day is the state at death), as for a real patient; much faster for untreated
        runs past the lethal burden.
    progress : callable, optional
        called with the number of patients finished after each batch.
    plan : CompiledPlan, optional
        treatments and host timeline (model.treatment.compile_plan); kills, surgery, growth
        clock, immune dormancy. Runs the treated kernel (engines/_treated_kernel.py).
    failure_cells, symptom_cells : array (n,), optional
        per organ, the cells at which the organ fails (death; inf: never) and at which its
        symptoms start (reported). Either one runs the treated kernel.
    """
    if not isinstance(model, MetastasisModel):
        raise ParameterError(f"model: got {type(model).__name__}, allowed a MetastasisModel")
    names = tuple(organs)
    n_org = len(names)
    if n_org == 0 or len(set(names)) != n_org:
        raise ParameterError("organs: allowed a non-empty sequence of distinct organ names")
    try:
        horizon = float(horizon)
    except (TypeError, ValueError):
        raise ParameterError(
            f"horizon: got {horizon!r}, allowed a number of days in (0, {MAX_HORIZON_DAYS:g}]"
        ) from None
    if not (math.isfinite(horizon) and 0 < horizon <= MAX_HORIZON_DAYS):
        raise ParameterError(f"horizon: got {horizon!r}, allowed a number of days in (0, {MAX_HORIZON_DAYS:g}]")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ParameterError(f"seed: got {seed!r}, allowed a whole number >= 0")
    if patient_indices is None:
        n_patients = _check_int("n_patients", n_patients, 1, MAX_PATIENTS)
        idx = np.arange(n_patients, dtype=np.int64)
    else:
        idx = np.asarray(patient_indices)
        if idx.ndim != 1 or idx.size == 0 or not np.issubdtype(idx.dtype, np.integer) or np.any(idx < 0):
            raise ParameterError("patient_indices: allowed a non-empty 1-D array of whole numbers >= 0")
        idx = idx.astype(np.int64)
    batch_size = _check_int("batch_size", batch_size, 1, 10**7)
    workers = _check_int("workers", workers, 1, 1024)
    max_colonies = _check_int("max_colonies", max_colonies, 1, 10**9)
    try:
        switch = float(switch_cells)
    except (TypeError, ValueError):
        switch = float("nan")
    if not (math.isfinite(switch) and switch >= 1.0):
        raise ParameterError(f"switch_cells: got {switch_cells!r}, allowed a whole number of cells >= 1")
    p = np.asarray(primary_routing, dtype=float)
    if p.shape != (n_org,) or not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ParameterError(f"primary_routing: allowed {n_org} finite probabilities >= 0 (one per organ)")
    secondary = bool(model.secondary_seeding)
    if secondary:
        if colony_routing is None:
            raise ParameterError("colony_routing: required with secondary seeding (an organs x organs matrix)")
        r = np.asarray(colony_routing, dtype=float)
        if r.shape != (n_org, n_org) or not np.all(np.isfinite(r)) or np.any(r < 0):
            raise ParameterError(f"colony_routing: allowed a ({n_org}, {n_org}) matrix of finite probabilities >= 0")
    else:
        r = np.zeros((n_org, n_org))
    for name, value in (("detection_cells", detection_cells), ("lethal_cells", lethal_cells)):
        if not (math.isfinite(float(value)) and float(value) > 0):
            raise ParameterError(f"{name}: got {value!r}, allowed a finite number of cells > 0")

    if establishment is None:
        establishment = Establishment(model.colony_growth, model.colony_size0, switch, survival)
    elif establishment.colony_growth != model.colony_growth or establishment.colony_size0 != model.colony_size0:
        raise ParameterError("establishment: its colony_growth and colony_size0 must be the model's")
    entry = establishment.entry_cells
    size_arr = np.unique(np.asarray(sizes, dtype=float).ravel())
    if size_arr.size == 0 or not np.all(np.isfinite(size_arr)) or size_arr[0] < entry:
        raise ParameterError(
            f"sizes: got {list(np.asarray(sizes).ravel())}, allowed finite sizes >= the switch "
            f"size {entry:g} cells (the hybrid resolves sizes only above it)"
        )
    t_out = _check_times(np.linspace(0.0, horizon, 121) if times is None else times, horizon)
    snap_times = np.atleast_1d(np.asarray(t_out[-1:] if snapshot_times is None else snapshot_times, dtype=float))
    if snap_times.ndim != 1 or not np.all(np.isin(snap_times, t_out)):
        raise ParameterError("snapshot_times: allowed a list of days that are among `times`")

    law = model.colony_growth
    tau = np.asarray(law.time_to_size(entry, np.append(size_arr, detection_cells)), dtype=float)
    tau = np.where(np.asarray(np.append(size_arr, detection_cells)) <= entry, 0.0, tau)

    total_p, cum_p = routing_cumulative(p)
    colony_total, cum_r = routing_cumulative(r)
    prim, col, logx_colony, logx_primary, step = seeding_tables(model, entry, horizon, total_p)

    treated = plan is not None or failure_cells is not None or symptom_cells is not None
    seed_until = horizon
    if stop_at_death and not treated:  # the primary alone reaches the lethal burden at t_p, so death <= t_p
        t_p = float(model.primary_growth.time_to_size(model.primary_size0, float(lethal_cells)))
        if math.isfinite(t_p) and t_p >= 0:
            seed_until = min(horizon, t_p)
    states = patient_states(int(seed), idx)
    snap = np.asarray([int(np.flatnonzero(t_out == v)[0]) for v in snap_times], dtype=np.int64)
    batch_size = -(-batch_size // _BLOCK) * _BLOCK  # whole blocks per batch
    batches = [slice(a, min(a + batch_size, idx.size)) for a in range(0, idx.size, batch_size)]

    if treated:
        extra = _treated_arguments(
            model,
            establishment,
            plan,
            failure_cells,
            symptom_cells,
            n_org,
            horizon,
            t_out,
            total_p,
            float(detection_cells),
            float(lethal_cells),
        )

    def run(sl: slice) -> tuple[Any, ...]:
        n_blocks = -(-(sl.stop - sl.start) // _BLOCK)
        acc_sum = np.zeros((n_blocks, 4, t_out.size, n_org, size_arr.size))
        acc_sq = np.zeros_like(acc_sum)
        if treated:
            n = sl.stop - sl.start
            (
                bp,
                rate,
                pdorm,
                escape,
                kill_time,
                kill_ls,
                kill_chemo,
                kill_u,
                kill_ns,
                kill_ref,
                t_surgery,
                node_organ,
                node_left,
                burst,
                total,
                t_end,
            ) = extra["plan"]

            def rows(a: Any) -> FloatArray:  # one copy of a scenario array per patient
                return np.ascontiguousarray(np.broadcast_to(a, (n, *np.shape(a))), dtype=np.float64)

            return (
                acc_sum,
                acc_sq,
                simulate_treated_batch(
                    states[sl],
                    rows(horizon),
                    prim.t,
                    prim.H,
                    prim.h,
                    rows(cum_p),
                    secondary and colony_total.any(),
                    col.t,
                    col.H,
                    col.h,
                    rows(colony_total),
                    rows(cum_r),
                    establishment.t_table,
                    establishment.cdf_table,
                    size_arr,
                    t_out,
                    logx_colony,
                    logx_primary,
                    extra["low"],
                    step,
                    extra["step_low"],
                    extra["a_entry"],
                    extra["low_p"],
                    extra["step_low_p"],
                    extra["a_p0"],
                    entry,
                    1.0,
                    float(model.colony_size0),
                    extra["q"],
                    float(detection_cells),
                    float(lethal_cells),
                    extra["fail"],
                    extra["symptom"],
                    max_colonies,
                    seed_until,
                    bool(stop_at_death),
                    snap,
                    acc_sum,
                    acc_sq,
                    _BLOCK,
                    rows(bp),
                    rows(rate),
                    rows(pdorm),
                    rows(escape),
                    rows(kill_time),
                    kill_ls,
                    kill_chemo,
                    kill_u,
                    kill_ns,
                    kill_ref,
                    rows(t_surgery),
                    node_organ,
                    node_left,
                    rows(burst * total),
                    rows(1.0),
                    rows(t_end),
                    rows(extra["grid"]),
                    rows(1.0),
                    False,
                ),
            )
        return (
            acc_sum,
            acc_sq,
            simulate_batch(
                states[sl],
                horizon,
                prim.t,
                prim.H,
                prim.h,
                cum_p,
                secondary and colony_total.any(),
                col.t,
                col.H,
                col.h,
                colony_total,
                cum_r,
                establishment.t_table,
                establishment.cdf_table,
                tau,
                t_out,
                logx_colony,
                logx_primary,
                step,
                float(lethal_cells),
                max_colonies,
                seed_until,
                bool(stop_at_death),
                snap,
                acc_sum,
                acc_sq,
                _BLOCK,
            ),
        )

    results: list[tuple[Any, ...]] = []
    done = 0
    if workers == 1 or len(batches) == 1:
        for sl in batches:
            results.append(run(sl))
            done += sl.stop - sl.start
            if progress is not None:
                progress(done)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for sl, res in zip(batches, pool.map(run, batches)):
                results.append(res)
                done += sl.stop - sl.start
                if progress is not None:
                    progress(done)
    acc_sum = np.zeros((4, t_out.size, n_org, size_arr.size))
    acc_sq = np.zeros_like(acc_sum)
    for block_sums, block_squares, _ in results:  # blocks in patient order: independent of the batching
        for b in range(block_sums.shape[0]):
            acc_sum += block_sums[b]
            acc_sq += block_squares[b]
    results = [res for _, _, res in results]
    overflow = np.concatenate([res[6] for res in results])
    if overflow.any():
        bad = idx[np.flatnonzero(overflow)[0]]
        raise SimulationError(
            f"stochastic engine: patient {bad} founded more than max_colonies = {max_colonies} "
            "colonies; shorten horizon_days or raise max_colonies"
        )
    at = [np.concatenate([res[i] for res in results]) for i in range(3)]
    cat = {i: np.concatenate([res[i] for res in results]) for i in (3, 4, 5, 6)}
    sums = {
        "n_above": acc_sum[0],
        "n_established": acc_sum[1, ..., 0],
        "n_founded": acc_sum[2, ..., 0],
        "burden": acc_sum[3, ..., 0],
    }
    squares = {
        "n_above": acc_sq[0],
        "n_established": acc_sq[1, ..., 0],
        "n_founded": acc_sq[2, ..., 0],
        "burden": acc_sq[3, ..., 0],
    }
    log_parts = []
    for sl, res in zip(batches, results):
        patient = idx[sl][res[7]]
        colony_local = np.zeros(res[7].size, dtype=np.int64)
        if res[7].size:
            first = np.searchsorted(res[7], res[7], side="left")
            colony_local = np.arange(res[7].size) - first
        log_parts.append(
            pd.DataFrame(
                {
                    "patient": patient,
                    "colony": colony_local,
                    "parent": res[8],
                    "organ_index": res[9],
                    "generation": res[10],
                    "founded_day": res[11],
                    "established_day": res[12],
                }
            )
        )
    log = pd.concat(log_parts, ignore_index=True) if log_parts else pd.DataFrame()
    log["organ"] = pd.Categorical.from_codes(log["organ_index"].to_numpy(), categories=list(names))
    est = log["established_day"].to_numpy()
    log["detectable_day"] = est + tau[-1]
    for col_name in ("established_day", "detectable_day"):
        v = log[col_name].to_numpy()
        log[col_name] = np.where(v <= horizon, v, np.inf)
    log = log.drop(columns="organ_index")
    treated_out: dict[str, Any] = {}
    if treated:
        ex_time = np.concatenate([res[17] for res in results])
        ex_int = np.concatenate([res[18] for res in results])

        def inf_after(v: FloatArray) -> FloatArray:
            return np.where(v <= horizon, v, np.inf)

        log["growth_day"] = inf_after(ex_time[:, 0])
        log["gone_day"] = inf_after(ex_time[:, 1])
        log["detectable_day"] = inf_after(ex_time[:, 2])
        log["resistant_founder"] = ex_int[:, 0].astype(bool)
        log["n_resistant_clones"] = ex_int[:, 1]
        treated_out = {
            "cause_of_death": np.concatenate([res[13] for res in results]),
            "recurrence_day": np.concatenate([res[14] for res in results]),
            "symptom_day": np.concatenate([res[15] for res in results]),
            "n_resistant_clones": np.concatenate([res[16] for res in results]),
            "primary_gone_day": np.concatenate([res[19] for res in results]),
            "primary_cells_at_surgery": np.concatenate([res[20] for res in results]),
            "plan_end": plan.end_time if plan is not None else -math.inf,
        }
    death = cat[4]
    if stop_at_death and len(log):
        log = _drop_after_death(log, idx, death)
    return StochasticResult(
        organs=names,
        times=t_out,
        sizes=size_arr,
        snapshot_times=t_out[snap],
        detection_cells=float(detection_cells),
        lethal_cells=float(lethal_cells),
        horizon=horizon,
        seed=int(seed),
        stop_at_death=bool(stop_at_death),
        patient_indices=idx,
        n_above_at=at[0],
        n_established_at=at[1],
        burden_at=at[2],
        first_detectable=cat[3],
        death_day=cat[4],
        n_colonies=cat[5],
        colony_log=log,
        establishment=establishment,
        sums=sums,
        sums_of_squares=squares,
        **treated_out,
    )


def _treated_arguments(
    model: MetastasisModel,
    establishment: Establishment,
    plan: CompiledPlan | None,
    failure_cells: ArrayLike | None,
    symptom_cells: ArrayLike | None,
    n_org: int,
    horizon: float,
    t_out: FloatArray,
    total_p: float,
    detection: float,
    lethal: float,
) -> dict[str, Any]:
    """Tables and plan arrays of the treated kernel (see engines/_treated_kernel.py)."""
    law = model.colony_growth
    entry = establishment.entry_cells
    a_entry = float(law.time_to_size(model.colony_size0, entry)) if entry > model.colony_size0 else 0.0
    n_low = 1024
    low_age = np.linspace(0.0, a_entry, n_low + 1)
    low = np.log(np.asarray(law.solve(model.colony_size0, low_age), dtype=float)) if a_entry > 0 else np.zeros(2)
    step_low = a_entry / n_low if a_entry > 0 else 1.0
    # the primary below its size at day 0 (after kills): its law from one cell
    plaw = model.primary_growth
    a_p0 = float(plaw.time_to_size(1.0, model.primary_size0)) if model.primary_size0 > 1.0 else 0.0
    low_p = (
        np.log(np.asarray(plaw.solve(1.0, np.linspace(0.0, a_p0, n_low + 1)), dtype=float)) if a_p0 > 0 else np.zeros(2)
    )

    def per_organ(name: str, value: ArrayLike | None) -> FloatArray:
        if value is None:
            return np.full(n_org, np.inf)
        v = np.asarray(value, dtype=float)
        if v.shape != (n_org,) or np.any(np.isnan(v)) or np.any(v <= 0):
            raise ParameterError(f"{name}: allowed {n_org} numbers of cells > 0 (inf: never), one per organ")
        return v

    if plan is None:
        bp = np.array([0.0, horizon])
        plan_arrays = (
            bp,
            np.ones(1),
            np.zeros(1),
            np.zeros(1),
            np.zeros(0),
            np.zeros((0, n_org + 1)),
            np.zeros(0, dtype=np.bool_),
            np.zeros(0),
            np.zeros(0, dtype=np.bool_),
            np.ones(0),
            np.inf,
            -1,
            0.0,
            0.0,
            total_p,
            -np.inf,
        )
    else:
        if plan.kill_log_sf.shape[1] != n_org + 1:
            raise ParameterError(f"plan: compiled for {plan.kill_log_sf.shape[1] - 1} organs, the run has {n_org}")
        if abs(plan.breakpoints[-1] - horizon) > 1e-9 * horizon:
            raise ParameterError(f"plan: compiled to day {plan.breakpoints[-1]:g}, the horizon is {horizon:g}")
        bp = plan.breakpoints.copy()
        bp[-1] = horizon
        if np.any(plan.growth_rate > 1.0):
            raise ParameterError("plan: growth multipliers above 1 (faster than untreated) are not supported")
        plan_arrays = (
            bp,
            plan.growth_rate,
            plan.dormancy_probability,
            plan.escape_rate,
            plan.kill_time,
            plan.kill_log_sf,
            plan.kill_chemo,
            plan.kill_mutation_rate,
            plan.kill_norton_simon,
            plan.kill_reference_rate,
            plan.surgery_time,
            plan.surgery_node_organ,
            plan.surgery_nodes_left,
            plan.burst_cells,
            total_p,
            plan.end_time,
        )
    # burdens only grow between breakpoints (kills, removals and speed changes happen at them), so the
    # first lethal (or failure, or symptom) crossing lies in the first interval whose end crosses
    grid = bp.copy()
    return {
        "low": low,
        "step_low": step_low,
        "a_entry": a_entry,
        "low_p": low_p,
        "step_low_p": a_p0 / n_low if a_p0 > 0 else 1.0,
        "a_p0": a_p0,
        "q": float(establishment.death_ratio),
        "fail": per_organ("failure_cells", failure_cells),
        "symptom": per_organ("symptom_cells", symptom_cells),
        "plan": plan_arrays,
        "grid": grid,
    }
