r"""Benchmark: the deterministic engine against a plain scipy method of lines.

Task: the expected size distribution of Iwata's patient (J Theor Biol 2000;203:177, fitted
a = 0.00286/day, b = 7.3e10 cells, m = 5.3e-8, alpha = 0.663, secondary seeding on) over
1000 days, tabulated at 100 times x 1000 sizes (log-spaced 1 .. 1e10 cells).

Solvers
-------
- the engine: ``solve_deterministic(model, 1000)`` + ``tabulate`` (default settings); timed
  after the numba warm-up, which is timed separately (compile in a fresh process with an
  empty numba cache, and the first call in this process);
- the reference: the same engine forced to 8192 steps (trapezoid grids to 32768 steps);
  with secondary seeding off, also the closed form :math:`N(t) = (m b^\alpha/a)[E_1(\alpha\ln b\,e^{-at})
  - E_1(\alpha \ln b)]`;
- ``solve_method_of_lines`` (finite volumes in log-size, third-order upwind-biased fluxes,
  DOP853) at several numbers of cells.

Errors (against the reference)
------------------------------
``err(every t)``
    at each of the 100 times, the largest of :math:`|\Delta N|/N`, :math:`|\Delta M|/M`
    (burden) and :math:`\max_x |\Delta N(>x)|/N` (the size distribution relative to the count
    at that time); then the maximum over times. Strict: early times, with few cells between
    the founding size and the largest colony, count as much as late ones.
``err(table)``
    for each of ``n_metastases``, ``burden_cells``, ``n_above``: :math:`\max|\Delta| / \max|ref|`
    over the whole table; the largest of the three (the usual relative error of an array).
``err(density)``
    at each time, :math:`\max_x |x\Delta\rho| / \max_x x\rho` (the density per unit log-size);
    the maximum over times.

The observed order uses successive doublings of the cells; the time the method of lines
needs for a relative error of 1e-6 is interpolated between runs, or extrapolated from the last
three (least-squares error :math:`\propto M^{-p}`, time :math:`\propto M^{q}`, with
:math:`q \ge 2` since the CFL limit makes both the steps and the work per step grow like
:math:`M`).

Run ``python bench/deterministic.py`` (about a minute on two cores) or ``--quick``.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import xarray as xr
from scipy.special import exp1

from metacascade.engines.deterministic import AccuracyWarning, solve_deterministic
from metacascade.engines.method_of_lines import solve_method_of_lines
from metacascade.model.growth import Gompertz
from metacascade.model.metastasis import MetastasisModel
from metacascade.model.shedding import PowerShedding

# The reference solves ask for rtol=1e-15 on purpose (refine to n_max, at round-off); their
# accuracy is measured below from the change between two grids, so the warning is noise here.
warnings.filterwarnings("ignore", category=AccuracyWarning)

A, B_CELLS, M, ALPHA = 0.00286, 7.3e10, 5.3e-8, 0.663
HORIZON = 1000.0
TIMES = np.linspace(HORIZON / 100, HORIZON, 100)
SIZES = np.logspace(0.0, 10.0, 1000)
TARGET = 1e-6

_JIT_PROBE = """
import time
t0 = time.perf_counter()
from metacascade.engines.deterministic import solve_deterministic
from metacascade.model.growth import Gompertz
from metacascade.model.metastasis import MetastasisModel
from metacascade.model.shedding import PowerShedding
t1 = time.perf_counter()
law = Gompertz({a}, {b})
solve_deterministic(MetastasisModel(law, law, PowerShedding({m}, {alpha})), {horizon})
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


def iwata_model(secondary: bool = True) -> MetastasisModel:
    """Iwata's patient: Gompertz primary and colonies from one cell, shedding m x^alpha."""
    law = Gompertz(a_per_day=A, b_cells=B_CELLS)
    return MetastasisModel(law, law, PowerShedding(M, ALPHA), secondary_seeding=secondary)


def errors(ds: xr.Dataset, ref: xr.Dataset) -> dict[str, float]:
    """The three error measures of the module docstring."""
    n_ref, m_ref = ref["n_metastases"].values, ref["burden_cells"].values
    above = np.max(np.abs(ds["n_above"].values - ref["n_above"].values), axis=1) / n_ref
    every_t = np.maximum.reduce(
        [np.abs(ds["n_metastases"].values / n_ref - 1), np.abs(ds["burden_cells"].values / m_ref - 1), above]
    )
    table = max(
        float(np.max(np.abs(ds[v].values - ref[v].values)) / np.max(np.abs(ref[v].values)))
        for v in ("n_metastases", "burden_cells", "n_above")
    )
    per_log_size = SIZES[None, :] * ref["density_per_cell"].values
    dens = np.max(SIZES[None, :] * np.abs(ds["density_per_cell"].values - ref["density_per_cell"].values), axis=1)
    return {
        "every_t": float(np.max(every_t)),
        "table": table,
        "density": float(np.max(dens / np.max(per_log_size, axis=1))),
    }


def closed_form(ds_times: np.ndarray) -> dict[str, np.ndarray]:
    """Primary seeding only: N(t), N(t, >x) = N(t - T(x)) and rho = B(t - T(x))/g(x)."""
    lb = math.log(B_CELLS)

    def n_total(t: np.ndarray) -> np.ndarray:
        tail = exp1(ALPHA * lb * np.exp(-A * np.maximum(t, 0.0))) - exp1(ALPHA * lb)
        return np.where(t > 0, M * B_CELLS**ALPHA / A * tail, 0.0)

    with np.errstate(divide="ignore", invalid="ignore"):
        age = np.where(SIZES < B_CELLS, np.log(lb / np.log(B_CELLS / SIZES)) / A, np.inf)
    born = ds_times[:, None] - age[None, :]
    birth = M * (B_CELLS * np.exp(-lb * np.exp(-A * np.where(born >= 0, born, 0.0)))) ** ALPHA
    density = np.where(born >= 0, birth / (A * SIZES * np.log(B_CELLS / SIZES))[None, :], 0.0)
    return {"n_metastases": n_total(ds_times), "n_above": n_total(born), "density_per_cell": density}


def time_engine(model: MetastasisModel, repeats: int) -> tuple[float, float, xr.Dataset]:
    """Median warm time of solve and of tabulate (seconds), and the table."""
    solve_times, table_times = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        sol = solve_deterministic(model, HORIZON)
        t1 = time.perf_counter()
        ds = sol.tabulate(TIMES, SIZES)
        t2 = time.perf_counter()
        solve_times.append(t1 - t0)
        table_times.append(t2 - t1)
    return float(np.median(solve_times)), float(np.median(table_times)), ds


def jit_warm_up() -> tuple[float, float]:
    """Import time and first-call time (numba compile) in a fresh process, empty numba cache."""
    code = _JIT_PROBE.format(a=A, b=B_CELLS, m=M, alpha=ALPHA, horizon=HORIZON)
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    imported, first = (float(v) for v in out.stdout.split())
    return imported, first


def order(e: list[float]) -> list[str]:
    """Observed orders of successive doublings, as strings ('-' for the first)."""
    return ["-"] + [f"{math.log2(a / b):.2f}" if a > 0 and b > 0 else "-" for a, b in itertools.pairwise(e)]


def _slope(x: list[float], y: list[float]) -> float:
    """Least-squares slope of log y against log x."""
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def extrapolate(cells: list[int], seconds: list[float], err: list[float]) -> tuple[float, float, float, float, bool]:
    """Cells and seconds the method of lines needs for TARGET error.

    If a run reached it, interpolate (power law) between the last run above and the first run
    at or below it. Otherwise fit error ~ cells^-p and time ~ cells^q by least squares over
    the last three runs (the order of a single doubling is noisy when the error comes from a
    moving jump) and extrapolate. Returns cells, seconds, p, q and whether it was reached.
    """
    p = -_slope(cells[-3:], err[-3:])
    q = _slope(cells[-3:], seconds[-3:])
    reached = [i for i, e in enumerate(err) if e <= TARGET]
    if reached:
        i = reached[0]
        if i == 0:
            return cells[0], seconds[0], p, q, True
        p_i = -_slope(cells[i - 1 : i + 1], err[i - 1 : i + 1])
        q_i = _slope(cells[i - 1 : i + 1], seconds[i - 1 : i + 1])
        need = cells[i - 1] * (err[i - 1] / TARGET) ** (1 / p_i)
        return need, seconds[i - 1] * (need / cells[i - 1]) ** q_i, p, q, True
    if p <= 0:
        return math.inf, math.inf, p, q, False
    need = cells[-1] * (err[-1] / TARGET) ** (1 / p)
    # Asymptotically time ~ cells^2 at least: the CFL limit makes the number of steps grow like
    # the cells, and the work of a step too; small runs are dominated by fixed overheads.
    return need, seconds[-1] * (need / cells[-1]) ** max(q, 2.0), p, q, False


def _duration(seconds: float) -> str:
    """Seconds in a readable unit."""
    for unit, size in (("years", 3.156e7), ("days", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if seconds >= size:
            return f"{seconds:.2g} s (~{seconds / size:.2g} {unit})"
    return f"{seconds:.2g} s"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer resolutions, smaller reference")
    args = parser.parse_args(argv)
    cells = [250, 500, 1000] if args.quick else [250, 500, 1000, 2000, 4000, 8000]
    repeats = 3 if args.quick else 7
    model = iwata_model(secondary=True)

    print(
        "Iwata 2000 patient: a = 0.00286/day, b = 7.3e10 cells, m = 5.3e-8, alpha = 0.663, "
        "secondary seeding, horizon 1000 days"
    )
    print(
        f"table: {TIMES.size} times ({TIMES[0]:g}..{TIMES[-1]:g} days) x {SIZES.size} sizes "
        f"(1..1e10 cells, log-spaced); {os.cpu_count()} CPUs\n"
    )

    imported, compiled = jit_warm_up()
    t0 = time.perf_counter()
    solve_deterministic(model, HORIZON).tabulate(TIMES, SIZES)
    first_here = time.perf_counter() - t0
    solve_s, table_s, engine = time_engine(model, repeats)
    engine_s = solve_s + table_s

    # Reference: the engine forced to 8192 steps (one doubling from 4096, 3 Richardson levels, so
    # trapezoid grids up to 32768 steps); its own error is ~1/64 of its change from 4096 steps.
    t0 = time.perf_counter()
    ref_sol = solve_deterministic(model, HORIZON, rtol=1e-15, n_initial=4096, n_max=8192)
    ref = ref_sol.tabulate(TIMES, SIZES)
    ref_s = time.perf_counter() - t0
    ref_half = solve_deterministic(model, HORIZON, rtol=1e-15, n_initial=2048, n_max=4096).tabulate(TIMES, SIZES)
    ref_self = errors(ref_half, ref)

    rows = [("engine (default)", "-", engine_s, errors(engine, ref), "-")]
    mol_cells, mol_s, mol_err = [], [], []
    for n in cells:
        t0 = time.perf_counter()
        ds = solve_method_of_lines(model, TIMES, SIZES, n_cells=n)
        seconds = time.perf_counter() - t0
        mol_cells.append(n)
        mol_s.append(seconds)
        mol_err.append(errors(ds, ref))
        rows.append(("method of lines", str(n), seconds, mol_err[-1], f"{ds.attrs['n_rhs_evaluations']}"))

    orders = {k: order([e[k] for e in mol_err]) for k in ("every_t", "table", "density")}
    header = (
        f"{'solver':<18}{'cells':>7}{'time [s]':>11}{'err(every t)':>14}{'order':>7}"
        f"{'err(table)':>12}{'order':>7}{'err(density)':>14}{'order':>7}{'rhs evals':>11}"
    )
    print(header)
    print("-" * len(header))
    for i, (name, n, seconds, err, evals) in enumerate(rows):
        o = {k: (orders[k][i - 1] if i else "-") for k in orders}
        print(
            f"{name:<18}{n:>7}{seconds:>11.4f}{err['every_t']:>14.2e}{o['every_t']:>7}"
            f"{err['table']:>12.2e}{o['table']:>7}{err['density']:>14.2e}{o['density']:>7}{evals:>11}"
        )

    print(
        f"\nengine: warm solve {1e3 * solve_s:.1f} ms + tabulate {1e3 * table_s:.1f} ms = "
        f"{1e3 * engine_s:.1f} ms (median of {repeats}); grid {engine.attrs['error_estimate']:.1e} est. error"
    )
    print(
        f"        numba warm-up: import {imported:.2f} s, first call with JIT compile {compiled:.2f} s "
        f"(fresh process, empty cache); first call here (cached JIT) {first_here:.2f} s"
    )
    print(
        f"reference: engine at {ref_sol.grid.size - 1} steps, {ref_s:.2f} s; change from 4096 steps: "
        f"every t {ref_self['every_t']:.1e}, table {ref_self['table']:.1e}, density {ref_self['density']:.1e}"
    )

    # Primary seeding only: engine and reference against the closed form.
    plain = iwata_model(secondary=False)
    exact = closed_form(TIMES)
    for label, sol in (
        ("engine (default)", solve_deterministic(plain, HORIZON)),
        ("reference", solve_deterministic(plain, HORIZON, rtol=1e-15, n_initial=4096, n_max=8192)),
    ):
        ds = sol.tabulate(TIMES, SIZES)
        n_err = np.max(np.abs(ds["n_metastases"].values / exact["n_metastases"] - 1))
        above = np.max(np.abs(ds["n_above"].values - exact["n_above"]), axis=1) / exact["n_metastases"]
        dens = np.max(np.abs(ds["density_per_cell"].values - exact["density_per_cell"]) * SIZES, axis=1)
        dens /= np.max(exact["density_per_cell"] * SIZES, axis=1)
        print(
            f"no secondary seeding, {label} vs closed form: n_metastases {n_err:.1e}, "
            f"n_above {np.max(above):.1e}, density {np.max(dens):.1e} (every t)"
        )

    print(
        f"\nmethod of lines to reach {TARGET:g} relative error (speed-up = its time / engine {1e3 * engine_s:.1f} ms):"
    )
    for key, label in (("every_t", "err(every t)"), ("table", "err(table)")):
        need, seconds, p, q, reached = extrapolate(mol_cells, mol_s, [e[key] for e in mol_err])
        how = (
            "interpolated between runs"
            if reached
            else (f"extrapolated: error ~ cells^-{p:.2f} over the last 3 runs, time ~ cells^{max(q, 2.0):.2f}")
        )
        print(f"  {label:<13} ~{need:.2g} cells, {_duration(seconds)} ({how}) -> speed-up ~{seconds / engine_s:.2g}x")
    print(
        "  (err(density) of the method of lines stalls: the density jumps at the largest colony, the\n"
        "   one founded at t = 0, and no fixed-grid scheme converges pointwise at a jump)"
    )


if __name__ == "__main__":
    main()
