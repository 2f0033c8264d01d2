"""Exact SSA of the branching process of metastasis (``metacascade.engines.ssa``).

Checked against closed forms, each within 4 standard errors of the Monte Carlo estimate:
Kendall's extinction probability and mean of the linear birth-death process, the Poisson law
(mean, dispersion, event-time density) of the founding events of a deterministic primary, the
mean of a stochastic primary and of its founding events, the expected colony burden and
founding events with secondary seeding, and the gambler's-ruin probability of reaching a size
before extinction. Then reproducibility (same seed, one patient alone) and bad input.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from scipy.integrate import quad

from metacascade.engines.ssa import (
    BranchingProcess,
    patient_seed,
    simulate_birth_death,
    simulate_ssa,
)
from metacascade.errors import ParameterError, SimulationError

Z = 4.0  # tolerance in standard errors


def kendall_extinction(b: float, d: float, t: float) -> float:
    """P(a linear birth-death process from one cell is extinct at t) (Kendall 1948)."""
    lam = b - d
    if lam == 0.0:
        return b * t / (1.0 + b * t)
    e = math.exp(lam * t)
    return d * (e - 1.0) / (b * e - d)


def assert_mean(sample: np.ndarray, expected: float, what: str) -> None:
    sample = np.asarray(sample, dtype=float)
    se = sample.std(ddof=1) / math.sqrt(sample.size)
    assert abs(sample.mean() - expected) < Z * se, f"{what}: mean {sample.mean():.6g} vs {expected:.6g} (SE {se:.3g})"


def assert_proportion(hits: np.ndarray, p: float, what: str) -> None:
    hits = np.asarray(hits, dtype=bool)
    se = math.sqrt(p * (1.0 - p) / hits.size)
    assert abs(hits.mean() - p) < Z * se, f"{what}: {hits.mean():.6g} vs {p:.6g} (SE {se:.3g})"


# -- 1. colony dynamics: the linear birth-death process (Kendall 1948) ------------------------


@pytest.mark.parametrize(("b", "d", "t"), [(1.0, 0.5, 2.0), (0.6, 0.9, 3.0), (1.0, 1.0, 2.0)])
def test_birth_death_extinction_and_mean_match_kendall(b: float, d: float, t: float) -> None:
    res = simulate_birth_death(b, d, 1, t, 20_000, seed=11)
    assert_proportion(res.cells_at_horizon == 0, kendall_extinction(b, d, t), "P(extinct)")
    assert_mean(res.cells_at_horizon, math.exp((b - d) * t), "mean size")


def test_birth_death_from_several_cells() -> None:
    b, d, t, n0 = 0.8, 0.5, 3.0, 4
    res = simulate_birth_death(b, d, n0, t, 10_000, seed=12)
    assert_proportion(res.cells_at_horizon == 0, kendall_extinction(b, d, t) ** n0, "P(extinct)")
    assert_mean(res.cells_at_horizon, n0 * math.exp((b - d) * t), "mean size")
    # Sizes up to n0 are reached at t = 0.
    res = simulate_birth_death(b, d, n0, t, 10, seed=12, sizes=(1, 4, 5))
    assert np.all(res.first_reach[:, :2] == 0.0)
    assert np.all(res.first_reach[:, 2] > 0.0)


# -- 2. deterministic primary: founding events are Poisson ------------------------------------


DET = BranchingProcess(
    primary_birth=0.3,
    primary_death=0.2,
    primary_cells0=1000,
    migration_per_cell=1e-3,
    colony_birth=0.4,
    colony_death=0.3,
    primary="deterministic",
)
DET_T = 20.0


@pytest.fixture(scope="module")
def deterministic_cohort():
    return simulate_ssa(DET, DET_T, 3000, seed=21, sizes=(1, 5, 20))


def test_deterministic_primary_founding_events_are_poisson(deterministic_cohort) -> None:
    lam = DET.primary_net_rate
    mu = DET.migration_per_cell * DET.primary_cells0 * math.expm1(lam * DET_T) / lam
    n = deterministic_cohort.n_founded.astype(float)
    assert abs(n.mean() - mu) < Z * math.sqrt(mu / n.size), (n.mean(), mu)
    # Dispersion: the sample variance of a Poisson count, Var(s^2) ~ (mu + 2 mu^2) / n.
    assert abs(n.var(ddof=1) - mu) < Z * math.sqrt((mu + 2.0 * mu * mu) / n.size), (n.var(), mu)
    # Given their number, founding times are iid with density lam e^{lam s} / (e^{lam T} - 1).
    founded = deterministic_cohort.colony_founded_day
    cdf = lambda s: np.expm1(lam * np.asarray(s)) / math.expm1(lam * DET_T)
    assert stats.kstest(founded, cdf).pvalue > 1e-4
    # The primary is exact.
    assert np.all(deterministic_cohort.primary_at_horizon == DET.primary_cells0 * math.exp(lam * DET_T))


def test_deterministic_primary_colonies_alive_and_burden(deterministic_cohort) -> None:
    lam, b, d = DET.primary_net_rate, DET.colony_birth, DET.colony_death
    rate = lambda s: DET.migration_per_cell * DET.primary_cells0 * math.exp(lam * s)
    alive = quad(lambda s: rate(s) * (1.0 - kendall_extinction(b, d, DET_T - s)), 0.0, DET_T)[0]
    assert_mean(deterministic_cohort.n_alive_at_horizon, alive, "colonies alive at horizon")
    burden = quad(lambda s: rate(s) * math.exp((b - d) * (DET_T - s)), 0.0, DET_T)[0]
    assert_mean(deterministic_cohort.colony_cells_at_horizon, burden, "colony cells at horizon")
    # Every colony starts from one cell, at its founding day.
    table = deterministic_cohort.colonies()
    assert np.array_equal(table["reached_1"].to_numpy(), table["founded_day"].to_numpy())


def test_result_tables_are_consistent(deterministic_cohort) -> None:
    res = deterministic_cohort
    table = res.colonies()
    assert len(table) == res.n_founded.sum()
    assert list(table.columns) == [
        "patient",
        "colony",
        "founded_day",
        "reached_1",
        "reached_5",
        "reached_20",
        "cells_at_horizon",
    ]
    grouped = table.groupby("patient")
    counts = grouped.size().reindex(range(res.n_patients), fill_value=0).to_numpy()
    assert np.array_equal(counts, res.n_founded)
    for k, size in enumerate(res.sizes):
        column = f"reached_{size}"
        first = grouped[column].min().reindex(range(res.n_patients), fill_value=np.inf)
        assert np.array_equal(first.to_numpy(), res.first_reach[:, k])
        reached = table[column].lt(np.inf).groupby(table["patient"]).sum()
        assert np.array_equal(reached.reindex(range(res.n_patients), fill_value=0).to_numpy(), res.n_reached[:, k])
    alive = table["cells_at_horizon"].gt(0).groupby(table["patient"]).sum()
    assert np.array_equal(alive.reindex(range(res.n_patients), fill_value=0).to_numpy(), res.n_alive_at_horizon)
    # Colonies are numbered in founding order, sizes reached in order, all within the horizon.
    assert np.all(table.groupby("patient")["founded_day"].diff().dropna() >= 0.0)
    reach = res.colony_reach_day
    later = np.isfinite(reach[:, 1:])
    assert np.all(np.isfinite(reach[:, :-1])[later])  # a larger size implies the smaller ones
    assert np.all(reach[:, 1:][later] >= reach[:, :-1][later])
    assert np.all(reach[np.isfinite(reach)] <= res.horizon_days)
    assert res.events_per_second > 0 and res.total_events == res.n_events.sum()


# -- 3. stochastic primary ---------------------------------------------------------------------


def test_stochastic_primary_mean_and_founding_events() -> None:
    process = BranchingProcess(
        primary_birth=0.3,
        primary_death=0.1,
        primary_cells0=100,
        migration_per_cell=0.01,
        colony_birth=0.1,
        colony_death=1.0,
    )
    horizon = 10.0
    res = simulate_ssa(process, horizon, 2000, seed=31)
    lam = process.primary_net_rate
    assert_mean(res.primary_at_horizon, process.primary_cells0 * math.exp(lam * horizon), "primary size")
    expected = process.migration_per_cell * process.primary_cells0 * math.expm1(lam * horizon) / lam
    assert_mean(res.n_founded, expected, "founding events")


def test_secondary_seeding_mean_founding_events_and_burden() -> None:
    """Expected colony cells C solve C' = (b_c - d_c + u_c) C + u X(t); founding rate u X + u_c C."""
    process = BranchingProcess(
        primary_birth=0.3,
        primary_death=0.2,
        primary_cells0=1000,
        migration_per_cell=1e-3,
        colony_birth=0.5,
        colony_death=0.2,
        colony_migration_per_cell=0.05,
        primary="deterministic",
    )
    horizon = 12.0
    res = simulate_ssa(process, horizon, 1000, seed=41)
    a = process.primary_net_rate
    g = process.colony_net_rate + process.colony_migration_per_cell
    ux0 = process.migration_per_cell * process.primary_cells0
    burden = ux0 * (math.exp(g * horizon) - math.exp(a * horizon)) / (g - a)
    founded = ux0 * math.expm1(a * horizon) / a + process.colony_migration_per_cell * ux0 / (g - a) * (
        math.expm1(g * horizon) / g - math.expm1(a * horizon) / a
    )
    assert_mean(res.colony_cells_at_horizon, burden, "colony cells")
    assert_mean(res.n_founded, founded, "founding events")
    # Without secondary seeding the count would be far lower: the test can tell them apart.
    assert res.n_founded.mean() > 1.5 * ux0 * math.expm1(a * horizon) / a


# -- 4. gambler's ruin: reaching N cells before extinction -------------------------------------


def test_probability_to_reach_size_before_extinction_is_gamblers_ruin() -> None:
    b, d = 1.0, 0.5
    sizes = (2, 5, 20)
    res = simulate_birth_death(b, d, 1, 200.0, 20_000, seed=51, sizes=sizes, stop_at_largest=True)
    # Every trajectory ended extinct or at the largest size: "ever" is settled.
    assert np.all((res.cells_at_horizon == 0) | (res.cells_at_horizon == sizes[-1]))
    assert np.array_equal(res.cells_at_horizon == sizes[-1], np.isfinite(res.first_reach[:, -1]))
    q = d / b
    for k, size in enumerate(sizes):
        assert_proportion(np.isfinite(res.first_reach[:, k]), (1.0 - q) / (1.0 - q**size), f"P(reach {size})")
    # A colony of the full engine, founded early enough, obeys the same law before the horizon.
    process = BranchingProcess(
        primary_birth=0.11,
        primary_death=0.1,
        primary_cells0=20,
        migration_per_cell=1e-2,
        colony_birth=2.0 * b,
        colony_death=2.0 * d,
        primary="deterministic",
    )
    table = simulate_ssa(process, 8.0, 4000, seed=52, sizes=(5,)).colonies()
    early = table[table["founded_day"] < 3.0]
    settled = early["reached_5"].lt(np.inf) | early["cells_at_horizon"].eq(0)
    assert settled.mean() > 0.999
    assert_proportion(early["reached_5"].lt(np.inf), (1.0 - q) / (1.0 - q**5), "P(reach 5) in SSA")


# -- 5. reproducibility and bad input ----------------------------------------------------------


SMALL = BranchingProcess(
    primary_birth=0.3,
    primary_death=0.1,
    primary_cells0=50,
    migration_per_cell=0.02,
    colony_birth=0.5,
    colony_death=0.2,
    colony_migration_per_cell=0.01,
)


def _rows(res, rows) -> list[np.ndarray]:
    table = res.colonies()
    per_colony = [table[table["patient"] == res.patients[r]].drop(columns="patient").to_numpy() for r in rows]
    return [
        res.first_reach[rows],
        res.n_reached[rows],
        res.n_founded[rows],
        res.n_alive_at_horizon[rows],
        res.primary_at_horizon[rows],
        res.n_events[rows],
        *per_colony,
    ]


def test_same_seed_same_cohort_and_patients_rerun_alone() -> None:
    one = simulate_ssa(SMALL, 15.0, 8, seed=7, sizes=(3, 30))
    two = simulate_ssa(SMALL, 15.0, 8, seed=7, sizes=(3, 30))
    for x, y in zip(_rows(one, list(range(8))), _rows(two, list(range(8))), strict=True):
        assert np.array_equal(x, y)
    other = simulate_ssa(SMALL, 15.0, 8, seed=8, sizes=(3, 30))
    assert not np.array_equal(one.n_events, other.n_events)
    # Patient i alone (or a subset, in any order) reproduces its row of the cohort.
    alone = simulate_ssa(SMALL, 15.0, 8, seed=7, sizes=(3, 30), patient_indices=[5])
    assert alone.patients.tolist() == [5]
    for x, y in zip(_rows(alone, [0]), _rows(one, [5]), strict=True):
        assert np.array_equal(x, y)
    subset = simulate_ssa(SMALL, 15.0, 8, seed=7, sizes=(3, 30), patient_indices=[6, 2])
    for x, y in zip(_rows(subset, [0, 1]), _rows(one, [6, 2]), strict=True):
        assert np.array_equal(x, y)
    # The cohort size does not change a patient's stream: patient i is the i-th spawned child.
    bigger = simulate_ssa(SMALL, 15.0, 20, seed=7, sizes=(3, 30))
    for x, y in zip(_rows(bigger, [0, 7]), _rows(one, [0, 7]), strict=True):
        assert np.array_equal(x, y)
    child = np.random.SeedSequence(7).spawn(8)[5]
    assert np.array_equal(patient_seed(7, 5).generate_state(4), child.generate_state(4))


def test_max_cells_raises_simulation_error() -> None:
    with pytest.raises(SimulationError, match="max_cells"):
        simulate_ssa(SMALL, 40.0, 3, seed=1, max_cells=500)
    with pytest.raises(SimulationError, match="max_cells"):
        simulate_birth_death(1.0, 0.0, 10, 20.0, 2, seed=1, max_cells=1000)


GOOD = {
    "primary_birth": 0.3,
    "primary_death": 0.1,
    "primary_cells0": 10,
    "migration_per_cell": 0.01,
    "colony_birth": 0.3,
    "colony_death": 0.1,
}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("primary_birth", 0.0),
        ("primary_birth", -1.0),
        ("primary_birth", math.nan),
        ("primary_death", -0.1),
        ("primary_death", 0.3),
        ("primary_death", 0.5),
        ("primary_cells0", 0),
        ("primary_cells0", 2.5),
        ("primary_cells0", True),
        ("migration_per_cell", -1e-3),
        ("migration_per_cell", math.inf),
        ("colony_birth", 0.0),
        ("colony_death", -0.2),
        ("colony_migration_per_cell", -0.1),
        ("primary", "gompertz"),
    ],
)
def test_bad_process_raises_parameter_error_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(ParameterError, match=field):
        BranchingProcess(**{**GOOD, field: value})


@pytest.mark.parametrize(
    "kwargs",
    [
        {"horizon_days": 0.0},
        {"horizon_days": -1.0},
        {"horizon_days": math.inf},
        {"n_patients": 0},
        {"n_patients": 1.5},
        {"seed": -1},
        {"seed": 1.5},
        {"sizes": ()},
        {"sizes": (10, 5)},
        {"sizes": (0, 5)},
        {"sizes": (1.5,)},
        {"max_cells": 0},
        {"patient_indices": [3]},
        {"patient_indices": [-1]},
        {"patient_indices": []},
    ],
)
def test_bad_arguments_raise_parameter_error(kwargs: dict) -> None:
    args = {"horizon_days": 5.0, "n_patients": 3, "seed": 1, **kwargs}
    with pytest.raises(ParameterError):
        simulate_ssa(BranchingProcess(**GOOD), args.pop("horizon_days"), args.pop("n_patients"), **args)


def test_bad_birth_death_arguments_raise_parameter_error() -> None:
    with pytest.raises(ParameterError, match="birth"):
        simulate_birth_death(0.0, 0.1, 1, 1.0, 10, seed=1)
    with pytest.raises(ParameterError, match="n0"):
        simulate_birth_death(1.0, 0.1, 0, 1.0, 10, seed=1)
    with pytest.raises(ParameterError, match="process"):
        simulate_ssa(GOOD, 1.0, 1, seed=1)  # type: ignore[arg-type]
