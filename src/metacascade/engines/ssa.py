r"""Exact stochastic simulation of the branching process of metastasis, for small populations.

The process (Haeno et al., Cell 2012;148:362, and the multitype branching processes before it)
is a continuous-time Markov chain on cell counts:

- primary cells divide at rate ``primary_birth`` and die at rate ``primary_death`` per cell, and
  each emits, at rate ``migration_per_cell``, one cell that founds a new metastatic colony (the
  emitting cell stays in the primary);
- every colony starts from one cell; its cells divide at rate ``colony_birth``, die at rate
  ``colony_death`` and (secondary seeding) emit founding cells at rate
  ``colony_migration_per_cell``, all independently of each other.

Optionally the primary is *deterministic*: :math:`X(t) = X_0 e^{\lambda t}`,
:math:`\lambda = b - d`, and the founding cells form an inhomogeneous Poisson process of rate
:math:`u X(t)`. Its event times are drawn exactly by inverting the cumulative intensity in
closed form,

.. math:: \int_s^{s+\tau} u X_0 e^{\lambda r}\,dr = E \sim \mathrm{Exp}(1)
          \iff \tau = \frac{1}{\lambda}\log\!\Big(1 + \frac{\lambda E}{u X_0 e^{\lambda s}}\Big),

and they compete with the (piecewise constant) colony propensities: because the emission
process is independent of the colonies, drawing its next time once and resampling the colony
clock after each emission (memorylessness) is exact.

Everything else is Gillespie's direct method (Gillespie, J Comput Phys 1976;22:403 and
J Phys Chem 1977;81:2340): the total propensity :math:`a_0`, an exponential waiting time of
rate :math:`a_0`, and a reaction chosen with probability proportional to its propensity.
Colonies are tracked individually; the colony in which a colony-cell event happens is the
colony of a uniformly chosen colony cell, found in O(log n) by a Fenwick (binary indexed) tree
over the colony sizes, so the cost per event does not grow with the number of colonies.

This engine is exact, and slow for large populations by design: it is the reference against
which the project's hybrid engine is checked. Its own tests compare it against closed forms:
Kendall's extinction probability of the linear birth-death process (Ann Math Stat
1948;19:1), the Poisson law of the founding events of a deterministic primary, the mean of a
stochastic primary, and the gambler's-ruin probability of reaching a size before extinction.

Reproducibility: patient ``i`` of ``simulate_ssa(..., seed=s)`` always draws from
``numpy.random.default_rng(SeedSequence(s).spawn(n)[i])`` (whatever ``n > i``), so the same seed
gives the same cohort and any patient can be re-run alone with ``patient_indices=[i]``.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from numba import njit

from metacascade.errors import ParameterError, SimulationError

__all__ = [
    "BirthDeathResult",
    "BranchingProcess",
    "SSAResult",
    "patient_seed",
    "simulate_birth_death",
    "simulate_ssa",
]

_DEFAULT_SIZES: tuple[int, ...] = (10, 100, 1000)


# ---------------------------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------------------------


def _check_rate(name: str, value: object, *, positive: bool) -> float:
    """Return ``value`` as a float, or raise :class:`ParameterError` naming ``name``."""
    allowed = "a finite number > 0" if positive else "a finite number >= 0"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParameterError(f"{name} must be {allowed} (1/day), got {value!r}")
    v = float(value)
    if not math.isfinite(v) or v < 0.0 or (positive and v == 0.0):
        raise ParameterError(f"{name} must be {allowed} (1/day), got {value!r}")
    return v


def _check_int(name: str, value: object, *, minimum: int) -> int:
    """Return ``value`` as an int ``>= minimum``, or raise :class:`ParameterError` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < minimum:
        raise ParameterError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class BranchingProcess:
    """Rates of the birth-death-mutation-migration branching process of metastasis.

    Parameters
    ----------
    primary_birth
        Division rate per primary cell (1/day, > 0).
    primary_death
        Death rate per primary cell (1/day, ``0 <= primary_death < primary_birth``).
    primary_cells0
        Primary cells at ``t = 0`` (integer >= 1).
    migration_per_cell
        Rate (1/day per primary cell) at which a primary cell emits one metastasis-founding
        cell; the emitting cell stays in the primary (>= 0).
    colony_birth
        Division rate per colony cell (1/day, > 0).
    colony_death
        Death rate per colony cell (1/day, >= 0; a colony may be sub- or supercritical).
    colony_migration_per_cell
        Rate (1/day per colony cell) at which a colony cell emits a founding cell (secondary
        seeding; >= 0, default 0).
    primary
        ``"stochastic"``: the primary is a linear birth-death process simulated event by event.
        ``"deterministic"``: the primary is :math:`X(t) = X_0 e^{(b-d)t}` exactly and emits
        founding cells as an inhomogeneous Poisson process of rate ``migration_per_cell * X(t)``.

    References
    ----------
    Haeno H, Gonen M, Davis MB, Herman JM, Iacobuzio-Donahue CA, Michor F. Computational
    modeling of pancreatic cancer reveals kinetics of metastasis suggesting optimum treatment
    strategies. Cell 2012;148:362-375.
    """

    primary_birth: float
    primary_death: float
    primary_cells0: int
    migration_per_cell: float
    colony_birth: float
    colony_death: float
    colony_migration_per_cell: float = 0.0
    primary: Literal["stochastic", "deterministic"] = "stochastic"

    def __post_init__(self) -> None:
        birth = _check_rate("primary_birth", self.primary_birth, positive=True)
        death = _check_rate("primary_death", self.primary_death, positive=False)
        if not death < birth:
            raise ParameterError(
                f"primary_death must be >= 0 and < primary_birth = {birth!r} (a growing primary), "
                f"got {self.primary_death!r}"
            )
        _check_int("primary_cells0", self.primary_cells0, minimum=1)
        _check_rate("migration_per_cell", self.migration_per_cell, positive=False)
        _check_rate("colony_birth", self.colony_birth, positive=True)
        _check_rate("colony_death", self.colony_death, positive=False)
        _check_rate("colony_migration_per_cell", self.colony_migration_per_cell, positive=False)
        if self.primary not in ("stochastic", "deterministic"):
            raise ParameterError(f"primary must be 'stochastic' or 'deterministic', got {self.primary!r}")

    @property
    def primary_net_rate(self) -> float:
        """Net growth rate of the primary, ``primary_birth - primary_death`` (1/day)."""
        return float(self.primary_birth) - float(self.primary_death)

    @property
    def colony_net_rate(self) -> float:
        """Net growth rate of a colony, ``colony_birth - colony_death`` (1/day)."""
        return float(self.colony_birth) - float(self.colony_death)


# ---------------------------------------------------------------------------------------------
# Numba kernel
# ---------------------------------------------------------------------------------------------


@njit(cache=True)
def _fenwick_add(tree: np.ndarray, i: int, delta: int) -> None:  # pragma: no cover - jit
    """Add ``delta`` to entry ``i`` (0-based) of the Fenwick tree ``tree`` (1-based storage)."""
    n = tree.size - 1
    j = i + 1
    while j <= n:
        tree[j] += delta
        j += j & (-j)


@njit(cache=True)
def _fenwick_find(tree: np.ndarray, target: int) -> int:  # pragma: no cover - jit
    """Smallest 0-based ``i`` whose prefix sum ``w_0 + ... + w_i`` exceeds ``target`` (>= 0).

    ``tree.size - 1`` must be a power of two.
    """
    n = tree.size - 1
    pos = 0
    step = n
    while step > 0:
        nxt = pos + step
        if nxt <= n and tree[nxt] <= target:
            pos = nxt
            target -= tree[nxt]
        step >>= 1
    return pos


@njit(cache=True)
def _fenwick_build(weights: np.ndarray, count: int, capacity: int) -> np.ndarray:  # pragma: no cover - jit
    """Fenwick tree (1-based, ``capacity`` a power of two) of ``weights[:count]`` in O(capacity)."""
    tree = np.zeros(capacity + 1, dtype=np.int64)
    for i in range(count):
        tree[i + 1] += weights[i]
    for j in range(1, capacity + 1):
        parent = j + (j & (-j))
        if parent <= capacity:
            tree[parent] += tree[j]
    return tree


@njit(cache=True)
def _ssa_patient(
    rng: np.random.Generator,
    primary_birth: float,
    primary_death: float,
    primary_cells0: int,
    deterministic: bool,
    migration: float,
    colony_birth: float,
    colony_death: float,
    colony_migration: float,
    colony0: int,
    horizon: float,
    sizes: np.ndarray,
    max_cells: int,
    stop_at_largest: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, int, bool, float]:  # pragma: no cover - jit
    r"""Simulate one patient exactly (Gillespie's direct method) up to ``horizon``.

    Reactions: primary birth / death / emission (propensities ``b X``, ``d X``, ``u X`` when the
    primary is stochastic), colony-cell birth / death / emission (``b_c C``, ``d_c C``,
    ``u_c C`` with ``C`` the colony cells), and, when the primary is deterministic, emissions at
    the event times of the Poisson process of rate :math:`u X_0 e^{\lambda t}`, drawn by
    inverting its cumulative intensity. An emission founds a colony of one cell. If
    ``colony0 > 0`` a colony of ``colony0`` cells is founded at ``t = 0`` (for
    :func:`simulate_birth_death`, with ``primary_cells0 = 0``).

    ``sizes`` (strictly increasing, >= 1) are the sizes whose first-passage times are recorded
    per colony; a colony's size changes by one cell at a time, so it reaches them in order. With
    ``stop_at_largest`` the simulation ends (at that time) as soon as a colony reaches
    ``sizes[-1]``.

    Returns ``(founded, reach, cells, primary_end, n_events, capped, t_end)``: per colony its
    founding time, first time at each size (``inf`` if never), cells at the end; the primary
    size at the end; the number of events; whether the simulated cells (the primary when
    stochastic, plus all colonies) exceeded ``max_cells``, which stops the patient at time
    ``t_end`` (otherwise ``t_end = horizon``).
    """
    n_sizes = sizes.size
    capacity = 16
    founded = np.empty(capacity)
    cells = np.zeros(capacity, dtype=np.int64)
    reach = np.full((capacity, n_sizes), np.inf)
    next_size = np.zeros(capacity, dtype=np.int32)
    tree = np.zeros(capacity + 1, dtype=np.int64)
    n_col = 0

    lam = primary_birth - primary_death
    x0 = float(primary_cells0)
    x = 0 if deterministic else primary_cells0  # stochastic primary cells
    c = 0  # colony cells, all colonies
    t = 0.0
    n_events = 0
    capped = False

    # Next emission of the deterministic primary (absolute time; inf if none).
    t_emit = np.inf
    if deterministic and migration > 0.0:
        e = rng.standard_exponential()
        t_emit = math.log1p(lam * e / (migration * x0)) / lam

    found_now = colony0 > 0
    found_size = colony0 if found_now else 1  # cells of the colony founded next
    while True:
        if found_now:
            # Found a colony of `found_size` cells at time t.
            if n_col == capacity:
                new_capacity = 2 * capacity
                founded_new = np.empty(new_capacity)
                founded_new[:capacity] = founded
                cells_new = np.zeros(new_capacity, dtype=np.int64)
                cells_new[:capacity] = cells
                reach_new = np.full((new_capacity, n_sizes), np.inf)
                reach_new[:capacity] = reach
                next_new = np.zeros(new_capacity, dtype=np.int32)
                next_new[:capacity] = next_size
                founded, cells, reach, next_size = founded_new, cells_new, reach_new, next_new
                capacity = new_capacity
                tree = _fenwick_build(cells, n_col, capacity)
            founded[n_col] = t
            cells[n_col] = found_size
            k = 0
            while k < n_sizes and sizes[k] <= found_size:
                reach[n_col, k] = t
                k += 1
            next_size[n_col] = k
            _fenwick_add(tree, n_col, found_size)
            n_col += 1
            c += found_size
            found_now = False
            found_size = 1
            if x + c > max_cells:
                capped = True
                break
            if stop_at_largest and k == n_sizes:
                break

        c1 = primary_birth * x
        c2 = c1 + primary_death * x
        c3 = c2 + migration * x
        c4 = c3 + colony_birth * c
        c5 = c4 + colony_death * c
        a0 = c5 + colony_migration * c

        tau = np.inf
        if a0 > 0.0:
            tau = rng.standard_exponential() / a0
        if t_emit < t + tau:
            # The deterministic primary emits first; the colony clock is resampled (memoryless).
            if t_emit > horizon:
                break
            t = t_emit
            n_events += 1
            found_now = True
            e = rng.standard_exponential()
            t_emit = t + math.log1p(lam * e / (migration * x0 * math.exp(lam * t))) / lam
            continue
        if t + tau > horizon:
            break
        t += tau
        n_events += 1
        r = rng.random() * a0
        while r >= a0:  # round-off guard: keep r in [0, a0) so that empty reactions never fire
            r = rng.random() * a0
        if r < c3:
            if r < c1:
                x += 1
                if x + c > max_cells:
                    capped = True
                    break
            elif r < c2:
                x -= 1
            else:
                found_now = True
        else:
            # The colony of a uniformly chosen colony cell (no draw needed when there is one).
            j = 0 if n_col == 1 else _fenwick_find(tree, rng.integers(0, c))  # type: ignore[arg-type]
            if r < c4:
                cells[j] += 1
                c += 1
                _fenwick_add(tree, j, 1)
                k = next_size[j]
                if k < n_sizes and cells[j] == sizes[k]:
                    reach[j, k] = t
                    next_size[j] = k + 1
                    if stop_at_largest and k + 1 == n_sizes:
                        break
                if x + c > max_cells:
                    capped = True
                    break
            elif r < c5:
                cells[j] -= 1
                c -= 1
                _fenwick_add(tree, j, -1)
            else:
                found_now = True

    primary_end = x0 * math.exp(lam * (t if capped else horizon)) if deterministic else float(x)
    t_end = t if capped else horizon
    return (founded[:n_col].copy(), reach[:n_col].copy(), cells[:n_col].copy(), primary_end, n_events, capped, t_end)


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.flags.writeable = False
    return a


@dataclass(frozen=True, eq=False)
class SSAResult:
    """A cohort of exact trajectories of a :class:`BranchingProcess` (see :func:`simulate_ssa`).

    Per-patient arrays have one row per simulated patient, in the order of ``patients``;
    ``k`` indexes ``sizes``.

    Attributes
    ----------
    process, horizon_days, sizes
        The inputs.
    patients
        Patient indices (``i`` = the ``i``-th spawned seed), shape ``(P,)``.
    first_reach
        ``first_reach[p, k]``: earliest day any colony of patient ``p`` reached ``sizes[k]``
        cells (``inf`` if none by the horizon), shape ``(P, K)``.
    n_reached
        ``n_reached[p, k]``: number of colonies of patient ``p`` that reached ``sizes[k]`` by the
        horizon (alive or not at the horizon), shape ``(P, K)``.
    n_founded
        Colonies founded by the horizon, shape ``(P,)``.
    n_alive_at_horizon
        Colonies with at least one cell at the horizon, shape ``(P,)``.
    colony_cells_at_horizon
        Cells in all colonies at the horizon, shape ``(P,)``.
    primary_at_horizon
        Primary cells at the horizon (exact ``X_0 e^{\\lambda T}`` for a deterministic primary),
        shape ``(P,)``.
    n_events
        Events simulated (births, deaths, emissions), shape ``(P,)``.
    wall_seconds
        Wall-clock time of the simulation (excluding compilation when the kernel was cached).
    colony_patient, colony_founded_day, colony_reach_day, colony_cells_at_horizon
        The per-colony table as arrays: the row of its patient (index into ``patients``), its
        founding day, its first day at each size ``(n_colonies, K)``, its cells at the horizon.
    """

    process: BranchingProcess
    horizon_days: float
    sizes: tuple[int, ...]
    patients: np.ndarray
    first_reach: np.ndarray
    n_reached: np.ndarray
    n_founded: np.ndarray
    n_alive_at_horizon: np.ndarray
    colony_cells_at_horizon: np.ndarray
    primary_at_horizon: np.ndarray
    n_events: np.ndarray
    wall_seconds: float
    colony_patient: np.ndarray = field(repr=False)
    colony_founded_day: np.ndarray = field(repr=False)
    colony_reach_day: np.ndarray = field(repr=False)
    colony_cells: np.ndarray = field(repr=False)

    @property
    def n_patients(self) -> int:
        """Number of simulated patients."""
        return int(self.patients.size)

    @property
    def total_events(self) -> int:
        """Events simulated over all patients."""
        return int(self.n_events.sum())

    @property
    def events_per_second(self) -> float:
        """Events simulated per second of wall-clock time."""
        return self.total_events / self.wall_seconds if self.wall_seconds > 0 else math.inf

    @property
    def patients_per_second(self) -> float:
        """Patients simulated per second of wall-clock time."""
        return self.n_patients / self.wall_seconds if self.wall_seconds > 0 else math.inf

    def colonies(self) -> pd.DataFrame:
        """The per-colony table, one row per colony ever founded.

        Columns: ``patient`` (patient index), ``colony`` (order of founding within the patient,
        from 0), ``founded_day``, ``reached_<size>`` for each of ``sizes`` (first day at that
        size, ``inf`` if never), ``cells_at_horizon`` (0 = extinct).
        """
        patient = self.patients[self.colony_patient]
        starts = np.concatenate(([0], np.cumsum(self.n_founded)[:-1]))
        colony = np.arange(patient.size) - np.repeat(starts, self.n_founded)
        data: dict[str, np.ndarray] = {
            "patient": patient.astype(np.int64),
            "colony": colony.astype(np.int64),
            "founded_day": np.asarray(self.colony_founded_day, dtype=float),
        }
        for k, size in enumerate(self.sizes):
            data[f"reached_{size}"] = np.asarray(self.colony_reach_day[:, k], dtype=float)
        data["cells_at_horizon"] = np.asarray(self.colony_cells, dtype=np.int64)
        return pd.DataFrame(data)


@dataclass(frozen=True, eq=False)
class BirthDeathResult:
    """Independent trajectories of a linear birth-death process (see :func:`simulate_birth_death`).

    Attributes
    ----------
    birth, death, n0, horizon_days, sizes
        The inputs.
    cells_at_horizon
        Cells at the horizon, shape ``(n,)`` (0 = extinct).
    first_reach
        First day at each of ``sizes``, shape ``(n, K)`` (``inf`` if never by the horizon;
        ``0`` for sizes ``<= n0``).
    n_events
        Events per trajectory, shape ``(n,)``.
    wall_seconds
        Wall-clock time of the simulation.
    stopped_at_largest
        Whether trajectories ended on reaching ``sizes[-1]`` (then ``cells_at_horizon`` is that
        size for those that reached it).
    """

    birth: float
    death: float
    n0: int
    horizon_days: float
    sizes: tuple[int, ...]
    cells_at_horizon: np.ndarray
    first_reach: np.ndarray
    n_events: np.ndarray
    wall_seconds: float
    stopped_at_largest: bool = False

    @property
    def events_per_second(self) -> float:
        """Events simulated per second of wall-clock time."""
        total = int(self.n_events.sum())
        return total / self.wall_seconds if self.wall_seconds > 0 else math.inf


# ---------------------------------------------------------------------------------------------
# Drivers
# ---------------------------------------------------------------------------------------------


def _check_seed(seed: object) -> np.random.SeedSequence:
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or int(seed) < 0:
        raise ParameterError(f"seed must be a non-negative integer or a numpy.random.SeedSequence, got {seed!r}")
    return np.random.SeedSequence(int(seed))


def patient_seed(seed: int | np.random.SeedSequence, i: int) -> np.random.SeedSequence:
    """The seed of patient ``i``: the ``i``-th child of ``SeedSequence(seed).spawn(n)``, any ``n > i``.

    Built directly (same entropy, ``spawn_key`` extended by ``i``), so it does not depend on how
    many children were spawned before and does not change the parent's state.
    """
    return _child_seed(_check_seed(seed), _check_int("patient index", i, minimum=0))


def _child_seed(root: np.random.SeedSequence, i: int) -> np.random.SeedSequence:
    """``root.spawn(n)[i]`` for any ``n > i``, without advancing ``root`` (no checks)."""
    return np.random.SeedSequence(entropy=root.entropy, spawn_key=(*root.spawn_key, i), pool_size=root.pool_size)


def _check_sizes(sizes: Sequence[int]) -> np.ndarray:
    try:
        values = list(sizes)
    except TypeError:
        raise ParameterError(f"sizes must be a sequence of integers >= 1, got {sizes!r}") from None
    if not values or any(isinstance(s, bool) or not isinstance(s, numbers.Integral) or int(s) < 1 for s in values):
        raise ParameterError(f"sizes must be a non-empty sequence of integers >= 1, got {sizes!r}")
    out = np.asarray([int(s) for s in values], dtype=np.int64)
    if np.any(np.diff(out) <= 0):
        raise ParameterError(f"sizes must be strictly increasing, got {tuple(values)!r}")
    return out


def _check_horizon(horizon_days: object) -> float:
    if (
        isinstance(horizon_days, bool)
        or not isinstance(horizon_days, numbers.Real)
        or not math.isfinite(float(horizon_days))
        or float(horizon_days) <= 0.0
    ):
        raise ParameterError(f"horizon_days must be a finite number > 0 (days), got {horizon_days!r}")
    return float(horizon_days)


def simulate_ssa(
    process: BranchingProcess,
    horizon_days: float,
    n_patients: int,
    *,
    seed: int | np.random.SeedSequence,
    sizes: Sequence[int] = _DEFAULT_SIZES,
    max_cells: int = 10**6,
    patient_indices: Sequence[int] | None = None,
) -> SSAResult:
    r"""Simulate a cohort of patients exactly with Gillespie's direct method.

    Parameters
    ----------
    process
        The rates and the primary's mode.
    horizon_days
        Simulated time (days, > 0).
    n_patients
        Cohort size (>= 1). Patient ``i`` draws from
        ``numpy.random.default_rng(SeedSequence(seed).spawn(n_patients)[i])``.
    seed
        Non-negative integer (or a :class:`numpy.random.SeedSequence`, which is not advanced).
    sizes
        Colony sizes (cells, strictly increasing, >= 1) whose first-passage times are recorded.
    max_cells
        Cap on the cells simulated event by event in one patient (the primary when stochastic,
        plus all colony cells); a patient exceeding it raises :class:`SimulationError`.
    patient_indices
        Simulate only these patients of the cohort (each in ``[0, n_patients)``), in this order;
        each gets exactly the row it has in the full cohort. Default: all.

    Returns
    -------
    SSAResult

    Raises
    ------
    ParameterError
        A bad argument.
    SimulationError
        A patient exceeded ``max_cells`` (shorten the horizon or raise the cap).

    References
    ----------
    Gillespie DT. A general method for numerically simulating the stochastic time evolution of
    coupled chemical reactions. J Comput Phys 1976;22:403-434.
    Gillespie DT. Exact stochastic simulation of coupled chemical reactions. J Phys Chem
    1977;81:2340-2361.
    Haeno H et al. Cell 2012;148:362-375.
    """
    if not isinstance(process, BranchingProcess):
        raise ParameterError(f"process must be a BranchingProcess, got {type(process).__name__}")
    horizon = _check_horizon(horizon_days)
    n_patients = _check_int("n_patients", n_patients, minimum=1)
    root = _check_seed(seed)
    size_array = _check_sizes(sizes)
    max_cells = _check_int("max_cells", max_cells, minimum=1)
    if patient_indices is None:
        indices = np.arange(n_patients, dtype=np.int64)
    else:
        try:
            raw = list(patient_indices)
        except TypeError:
            raise ParameterError(
                f"patient_indices must be a sequence of integers in [0, {n_patients}), got {patient_indices!r}"
            ) from None
        if not raw or any(
            isinstance(i, bool) or not isinstance(i, numbers.Integral) or not 0 <= int(i) < n_patients for i in raw
        ):
            raise ParameterError(
                f"patient_indices must be a non-empty sequence of integers in [0, {n_patients}), "
                f"got {patient_indices!r}"
            )
        indices = np.asarray([int(i) for i in raw], dtype=np.int64)

    deterministic = process.primary == "deterministic"
    args = (
        float(process.primary_birth),
        float(process.primary_death),
        int(process.primary_cells0),
        deterministic,
        float(process.migration_per_cell),
        float(process.colony_birth),
        float(process.colony_death),
        float(process.colony_migration_per_cell),
        0,
        horizon,
        size_array,
        max_cells,
        False,
    )

    n_rows = indices.size
    n_sizes = size_array.size
    first_reach = np.full((n_rows, n_sizes), np.inf)
    n_reached = np.zeros((n_rows, n_sizes), dtype=np.int64)
    n_founded = np.zeros(n_rows, dtype=np.int64)
    n_alive = np.zeros(n_rows, dtype=np.int64)
    burden = np.zeros(n_rows, dtype=np.int64)
    primary_end = np.empty(n_rows)
    n_events = np.zeros(n_rows, dtype=np.int64)
    founded_parts: list[np.ndarray] = []
    reach_parts: list[np.ndarray] = []
    cells_parts: list[np.ndarray] = []

    start = time.perf_counter()
    for row, i in enumerate(indices):
        rng = np.random.Generator(np.random.PCG64(_child_seed(root, int(i))))
        founded, reach, cells, x_end, events, capped, t_end = _ssa_patient(rng, *args)
        if capped:
            raise SimulationError(
                f"patient {int(i)} exceeded max_cells = {max_cells} simulated cells at day "
                f"{t_end:.6g} of horizon_days = {horizon:.6g}; the exact SSA is meant for small "
                f"populations: shorten the horizon (or lower the rates), or raise max_cells"
            )
        n_founded[row] = founded.size
        if founded.size:
            first_reach[row] = reach.min(axis=0)
            n_reached[row] = np.isfinite(reach).sum(axis=0)
        n_alive[row] = int(np.count_nonzero(cells))
        burden[row] = int(cells.sum())
        primary_end[row] = x_end
        n_events[row] = events
        founded_parts.append(founded)
        reach_parts.append(reach)
        cells_parts.append(cells)
    wall = time.perf_counter() - start

    return SSAResult(
        process=process,
        horizon_days=horizon,
        sizes=tuple(int(s) for s in size_array),
        patients=_frozen(indices),
        first_reach=_frozen(first_reach),
        n_reached=_frozen(n_reached),
        n_founded=_frozen(n_founded),
        n_alive_at_horizon=_frozen(n_alive),
        colony_cells_at_horizon=_frozen(burden),
        primary_at_horizon=_frozen(primary_end),
        n_events=_frozen(n_events),
        wall_seconds=wall,
        colony_patient=_frozen(np.repeat(np.arange(n_rows, dtype=np.int64), n_founded)),
        colony_founded_day=_frozen(np.concatenate(founded_parts) if founded_parts else np.empty(0)),
        colony_reach_day=_frozen(np.concatenate(reach_parts) if reach_parts else np.empty((0, n_sizes))),
        colony_cells=_frozen(np.concatenate(cells_parts) if cells_parts else np.empty(0, dtype=np.int64)),
    )


def simulate_birth_death(
    birth: float,
    death: float,
    n0: int,
    horizon: float,
    n: int,
    seed: int | np.random.SeedSequence,
    *,
    sizes: Sequence[int] = _DEFAULT_SIZES,
    max_cells: int = 10**6,
    stop_at_largest: bool = False,
) -> BirthDeathResult:
    r"""Simulate ``n`` independent linear birth-death processes from ``n0`` cells, exactly.

    Uses the kernel of :func:`simulate_ssa` (one colony of ``n0`` cells at ``t = 0``, no
    primary, no emission), so it checks the colony dynamics of the full engine. From one cell
    the extinction probability by time ``t`` is (Kendall 1948)

    .. math:: p_0(t) = \frac{d\,(e^{\lambda t} - 1)}{b\,e^{\lambda t} - d}, \qquad \lambda = b - d,

    and the mean size is :math:`e^{\lambda t}`.

    Parameters
    ----------
    birth, death
        Per-cell rates (1/day; ``birth > 0``, ``death >= 0``).
    n0
        Initial cells (>= 1).
    horizon
        Simulated time (days, > 0).
    n
        Number of trajectories (>= 1); trajectory ``i`` draws from
        ``default_rng(SeedSequence(seed).spawn(n)[i])``.
    seed
        Non-negative integer or :class:`numpy.random.SeedSequence`.
    sizes
        Sizes whose first-passage times are recorded (strictly increasing, >= 1).
    max_cells
        Cap on the cells of one trajectory (:class:`SimulationError` beyond).
    stop_at_largest
        End a trajectory as soon as it reaches ``sizes[-1]`` cells (its ``cells_at_horizon`` is
        then that size): with a long horizon, ``first_reach`` then gives the probability of
        reaching a size before extinction without simulating the large trajectories.

    References
    ----------
    Kendall DG. On the generalized "birth-and-death" process. Ann Math Stat 1948;19:1-15.
    Gillespie DT. J Phys Chem 1977;81:2340-2361.
    """
    b = _check_rate("birth", birth, positive=True)
    d = _check_rate("death", death, positive=False)
    n0 = _check_int("n0", n0, minimum=1)
    horizon = _check_horizon(horizon)
    n = _check_int("n", n, minimum=1)
    root = _check_seed(seed)
    size_array = _check_sizes(sizes)
    max_cells = _check_int("max_cells", max_cells, minimum=1)
    if n0 > max_cells:
        raise ParameterError(f"n0 must be <= max_cells = {max_cells}, got {n0!r}")
    if not isinstance(stop_at_largest, (bool, np.bool_)):
        raise ParameterError(f"stop_at_largest must be True or False, got {stop_at_largest!r}")

    cells_end = np.zeros(n, dtype=np.int64)
    first_reach = np.full((n, size_array.size), np.inf)
    n_events = np.zeros(n, dtype=np.int64)
    start = time.perf_counter()
    for i in range(n):
        rng = np.random.Generator(np.random.PCG64(_child_seed(root, i)))
        _, reach, cells, _, events, capped, t_end = _ssa_patient(
            rng, 1.0, 0.0, 0, False, 0.0, b, d, 0.0, n0, horizon, size_array, max_cells, stop_at_largest
        )
        if capped:
            raise SimulationError(
                f"trajectory {i} exceeded max_cells = {max_cells} cells at day {t_end:.6g} of "
                f"horizon = {horizon:.6g}: shorten the horizon or raise max_cells"
            )
        cells_end[i] = cells[0]
        first_reach[i] = reach[0]
        n_events[i] = events
    wall = time.perf_counter() - start
    return BirthDeathResult(
        birth=b,
        death=d,
        n0=n0,
        horizon_days=horizon,
        sizes=tuple(int(s) for s in size_array),
        cells_at_horizon=_frozen(cells_end),
        first_reach=_frozen(first_reach),
        n_events=_frozen(n_events),
        wall_seconds=wall,
        stopped_at_largest=bool(stop_at_largest),
    )
