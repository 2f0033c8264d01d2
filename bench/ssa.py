r"""Benchmark: the exact SSA of the branching process of metastasis (``metacascade.engines.ssa``).

Cases
-----
``deterministic primary``
    the representative small case: a deterministic primary of 1e4 cells at t = 0 growing at the
    net rate 0.05/day (b = 0.25, d = 0.2), emitting founding cells at 1e-4 per cell per day;
    colonies b = 0.25, d = 0.2; horizon 60 days; sizes 10, 100, 1000.
``  + secondary seeding``
    the same with colonies emitting founding cells at 1e-3 per cell per day.
``stochastic primary``
    the same with the primary simulated event by event (1e4 cells: ~2e6 events a patient).
``birth-death``
    a pure linear birth-death process from 1000 cells (b = 0.25, d = 0.2, 20 days), by
    :func:`simulate_birth_death`, and, if GillesPy2 is importable (``pip install gillespy2``;
    not a dependency of metacascade), by its ``NumPySSASolver`` (exact, Python),
    ``TauLeapingSolver`` (approximate) and ``SSACSolver`` (exact, compiled C++): time per
    trajectory and mean at the horizon (exact: ``1000 e^{(b-d) t}``) with its standard error.

Columns of the cohort table: events and patients per second, the mean numbers of colonies
founded and alive at the horizon, and the fraction of patients with a colony of at least 100
(``P(100)``) and 1000 cells (``P(1000)``) by the horizon.

Times are wall-clock after the numba warm-up (the first call, which loads or compiles the
kernel, is timed separately). Events per second count births, deaths and emissions.

Run ``python bench/ssa.py`` (about a minute) or ``--quick``.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from metacascade.engines.ssa import BranchingProcess, simulate_birth_death, simulate_ssa

HORIZON = 60.0
SIZES = (10, 100, 1000)


def _row(name: str, res) -> None:
    print(
        f"{name:<28} {res.n_patients:>8d} {res.wall_seconds:>8.2f} "
        f"{res.total_events / res.n_patients:>12.4g} {res.events_per_second:>12.4g} {res.patients_per_second:>10.4g} "
        f"{res.n_founded.mean():>9.1f} {res.n_alive_at_horizon.mean():>9.1f} "
        f"{np.isfinite(res.first_reach[:, 1]).mean():>8.3f} {np.isfinite(res.first_reach[:, 2]).mean():>8.3f}"
    )


def bench_cohorts(quick: bool) -> None:
    base = {
        "primary_birth": 0.25,
        "primary_death": 0.2,
        "primary_cells0": 10_000,
        "migration_per_cell": 1e-4,
        "colony_birth": 0.25,
        "colony_death": 0.2,
    }
    cases = [
        ("deterministic primary", BranchingProcess(**base, primary="deterministic"), 200 if quick else 2000),
        (
            "  + secondary seeding",
            BranchingProcess(**base, colony_migration_per_cell=1e-3, primary="deterministic"),
            200 if quick else 2000,
        ),
        ("stochastic primary", BranchingProcess(**base), 5 if quick else 40),
    ]
    t0 = time.perf_counter()
    simulate_ssa(cases[0][1], 1.0, 1, seed=0)
    print(f"numba warm-up (first call: load or compile the kernel): {time.perf_counter() - t0:.2f} s\n")
    print(
        f"{'case (60 days)':<28} {'patients':>8} {'wall s':>8} {'events/pat':>12} {'events/s':>12} "
        f"{'pat/s':>10} {'founded':>9} {'alive':>9} {'P(100)':>8} {'P(1000)':>8}"
    )
    for name, process, n in cases:
        _row(name, simulate_ssa(process, HORIZON, n, seed=1, sizes=SIZES))
    lam = 0.05
    print(
        f"\n(exact mean founded, no secondary seeding: u X0 (e^(lam T) - 1)/lam = "
        f"{1e-4 * 1e4 * math.expm1(lam * HORIZON) / lam:.1f})"
    )


def _gillespy2_model(gillespy2, b: float, d: float, n0: int, horizon: float):
    model = gillespy2.Model(name="birth_death")
    model.add_parameter([gillespy2.Parameter(name="b", expression=b), gillespy2.Parameter(name="d", expression=d)])
    model.add_species(gillespy2.Species(name="X", initial_value=n0, mode="discrete"))
    model.add_reaction(gillespy2.Reaction(name="birth", reactants={"X": 1}, products={"X": 2}, rate="b"))
    model.add_reaction(gillespy2.Reaction(name="death", reactants={"X": 1}, products={}, rate="d"))
    model.timespan(gillespy2.TimeSpan.linspace(t=horizon, num_points=2))
    return model


def bench_birth_death(quick: bool) -> None:
    b, d, n0, horizon = 0.25, 0.2, 1000, 20.0
    exact = n0 * math.exp((b - d) * horizon)
    print(f"\npure birth-death from {n0} cells, b = {b}, d = {d}, {horizon:g} days: exact mean {exact:.2f}")
    print(f"{'solver':<36} {'trajectories':>12} {'ms/traj':>10} {'mean':>10} {'SE':>8} {'(mean-exact)/SE':>16}")

    def line(name: str, n: int, seconds: float, finals: np.ndarray) -> None:
        se = finals.std(ddof=1) / math.sqrt(finals.size)
        print(
            f"{name:<36} {n:>12d} {1e3 * seconds / n:>10.4g} {finals.mean():>10.2f} {se:>8.2f} "
            f"{(finals.mean() - exact) / se:>16.2f}"
        )

    simulate_birth_death(b, d, n0, 0.1, 1, seed=0)  # warm-up
    n = 200 if quick else 2000
    res = simulate_birth_death(b, d, n0, horizon, n, seed=3, max_cells=10**7)
    line("metacascade simulate_birth_death", n, res.wall_seconds, res.cells_at_horizon.astype(float))
    print(f"{'':<36} ({res.events_per_second:.3g} events/s)")

    try:
        import gillespy2
    except ImportError:
        print("GillesPy2 not importable: comparison skipped (pip install gillespy2 to run it).")
        return
    model = _gillespy2_model(gillespy2, b, d, n0, horizon)
    solvers = [
        ("GillesPy2 NumPySSASolver", gillespy2.NumPySSASolver, 10 if quick else 50),
        ("GillesPy2 TauLeapingSolver", gillespy2.TauLeapingSolver, 50 if quick else 500),
        ("GillesPy2 SSACSolver", getattr(gillespy2, "SSACSolver", None), 200 if quick else 2000),
    ]
    for name, solver, n in solvers:
        if solver is None:
            print(f"{name}: not available in this GillesPy2")
            continue
        try:
            if name.endswith("SSACSolver"):
                t0 = time.perf_counter()
                solver = solver(model=model)  # compiles the C++ model once
                print(f"{'':<36} ({name}: C++ build {time.perf_counter() - t0:.1f} s, not counted)")
            t0 = time.perf_counter()
            results = model.run(solver=solver, number_of_trajectories=n, seed=3)
            seconds = time.perf_counter() - t0
        except Exception as exc:
            print(f"{name}: failed ({type(exc).__name__}: {exc})")
            continue
        finals = np.asarray([trajectory["X"][-1] for trajectory in results], dtype=float)
        line(name, n, seconds, finals)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer patients and trajectories")
    args = parser.parse_args(argv)
    bench_cohorts(args.quick)
    bench_birth_death(args.quick)


if __name__ == "__main__":
    main()
