r"""Benchmark: the organ-resolved deterministic engine on a full body (18 organs, 6 pools).

Task
----
:math:`b(t) = f(t)\,p + U V \int_0^t k(t-s)\,b(s)\,ds` for 18 organs, ``q = 6`` drainage pools:

- growth: Gompertz :math:`a x \ln(b/x)` for primary and colonies, capacity ``b = 3e12`` cells,
  ``a`` such that the doubling time at 1e9 cells is 60 days,
  :math:`a = \ln 2 / (60 \ln(b/10^9))` (benchmark assumptions, not fitted values);
- shedding ``m = 3.2e-3`` cells per cell per day, ``alpha = 1`` (3.2e6 cells shed per gram of
  tumour per day, 1 g = 1e9 cells: Butler TP, Gullino PM. Cancer Res 1975;35:512-516);
- routing (random, seeded, non-negative; orders of magnitude assumed): ``p_j`` log-uniform in
  1e-8 .. 1e-6, scaled to sum to 1e-6 colonies per shed cell; ``V`` (pools x organs): each
  organ's shed cells split over the pools (Dirichlet, columns sum to 1); ``U`` (organs x pools):
  log-uniform 1e-8 .. 1e-6, each pool's column scaled to 1e-6 colonies per drained cell, so
  every row of ``R = (U V)^T`` sums to 1e-6;
- the primary starts from one cell; horizon = age at 1e9 cells (diagnosis) + 3650 days; the
  table: 121 times (diagnosis to +10 years, monthly) x 13 sizes (1 .. 1e12 cells, per decade).

Timings are warm (after the numba warm-up, which is reported separately: the first call in a
fresh process with an empty numba cache) and are medians of several repeats. The error of each
setting is measured against a reference solve (8192 steps refined to 16384, trapezoid grids to
65536): the largest relative error over the table of ``n_metastases``, ``burden_cells`` (per
organ, every time) and ``n_above`` (per organ and time, relative to that organ's count).

Run ``python bench/organs.py`` (about 40 s on two cores) or ``--quick``.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import xarray as xr

from metacascade.engines.deterministic import AccuracyWarning
from metacascade.engines.organs import solve_organs
from metacascade.model.growth import Gompertz
from metacascade.model.metastasis import MetastasisModel
from metacascade.model.shedding import PowerShedding

ORGANS = (
    "lung",
    "liver",
    "bone",
    "brain",
    "adrenal",
    "kidney",
    "spleen",
    "pancreas",
    "peritoneum",
    "pleura",
    "regional_nodes",
    "distant_nodes",
    "skin",
    "ovary",
    "heart",
    "thyroid",
    "stomach",
    "bowel",
)
POOLS = ("caval", "portal", "arterial", "lymphatic", "coelomic", "csf")
CAPACITY, DOUBLING_AT_1E9 = 3e12, 60.0
A_PER_DAY = math.log(2.0) / (DOUBLING_AT_1E9 * math.log(CAPACITY / 1e9))
SHEDDING = 3.2e-3  # Butler & Gullino 1975: 3.2e6 cells/g/day, 1e9 cells/g
PER_SHED_CELL = 1e-6  # colonies founded per shed cell (primary and pools), assumed
SEED = 20240601

_JIT_PROBE = """
import time, sys
sys.path.insert(0, {bench_dir!r})
t0 = time.perf_counter()
import organs as bench
t1 = time.perf_counter()
model, p, factors, horizon, _ = bench.body()
bench.solve_organs(model, bench.ORGANS, p, factors, horizon, rtol=1e-6)
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


def body() -> tuple[MetastasisModel, np.ndarray, tuple[np.ndarray, np.ndarray], float, float]:
    """Model, p, (U, V), horizon and diagnosis time (days) of the benchmark patient."""
    rng = np.random.default_rng(SEED)
    n, q = len(ORGANS), len(POOLS)
    p = 10.0 ** rng.uniform(-8.0, -6.0, n)
    p *= PER_SHED_CELL / p.sum()
    v = rng.dirichlet(np.ones(q), size=n).T.copy()  # (q, n): columns sum to 1
    u = 10.0 ** rng.uniform(-8.0, -6.0, (n, q))
    u *= PER_SHED_CELL / u.sum(axis=0)  # (n, q): columns sum to 1e-6
    law = Gompertz(a_per_day=A_PER_DAY, b_cells=CAPACITY)
    model = MetastasisModel(law, law, PowerShedding(SHEDDING, 1.0))
    diagnosis = float(law.time_to_size(1.0, 1e9))
    return model, p, (u, v), diagnosis + 3650.0, diagnosis


def run(rtol: float, repeats: int, **options: int) -> tuple[float, float, xr.Dataset, int, float, bool]:
    """Median solve and tabulate times, the table, steps, error estimate, whether rtol was met."""
    model, p, factors, horizon, diagnosis = body()
    times, sizes = diagnosis + np.linspace(0.0, 3650.0, 121), np.logspace(0.0, 12.0, 13)
    solve_s, table_s = [], []
    for _ in range(repeats):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", AccuracyWarning)
            t0 = time.perf_counter()
            sol = solve_organs(model, ORGANS, p, factors, horizon, rtol=rtol, **options)
            t1 = time.perf_counter()
        ds = sol.tabulate(times, sizes, time_offset=diagnosis)
        t2 = time.perf_counter()
        solve_s.append(t1 - t0)
        table_s.append(t2 - t1)
    met = not any(issubclass(w.category, AccuracyWarning) for w in caught)
    return (float(np.median(solve_s)), float(np.median(table_s)), ds, sol.grid.size - 1, sol.error_estimate, met)


def table_error(ds: xr.Dataset, ref: xr.Dataset) -> float:
    """Largest relative error of n_metastases, burden_cells and n_above (module docstring)."""
    n_ref = ref["n_metastases"].values
    above = np.abs(ds["n_above"].values - ref["n_above"].values) / n_ref[:, :, None]
    return float(
        max(
            np.max(np.abs(ds["n_metastases"].values / n_ref - 1)),
            np.max(np.abs(ds["burden_cells"].values / ref["burden_cells"].values - 1)),
            np.max(above),
        )
    )


def jit_warm_up() -> tuple[float, float]:
    """Import time and first-call time (numba compile) in a fresh process, empty numba cache."""
    code = _JIT_PROBE.format(bench_dir=os.path.dirname(os.path.abspath(__file__)))
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    imported, first = (float(v) for v in out.stdout.split())
    return imported, first


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, no n_max = 8192 run")
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else 7
    _, p, (u, v), horizon, diagnosis = body()
    print(
        f"{len(ORGANS)} organs, {len(POOLS)} pools; Gompertz a = {A_PER_DAY:.4g}/day, b = {CAPACITY:g} cells; "
        f"m = {SHEDDING:g}/cell/day, alpha = 1"
    )
    print(
        f"diagnosis (1e9 cells) at {diagnosis:.1f} days, horizon {horizon:.1f} days; sum(p) = {p.sum():.2g}, "
        f"row sums of R = {(u @ v).sum(axis=0).mean():.2g}; table 121 times x 13 sizes x 18 organs; "
        f"{os.cpu_count()} CPUs\n"
    )

    imported, compiled = jit_warm_up()
    t0 = time.perf_counter()
    run(1e-6, 1)
    first_here = time.perf_counter() - t0

    settings = [("rtol 1e-9 (default)", 1e-9, {}), ("rtol 1e-6", 1e-6, {})]
    if not args.quick:
        settings.append(("rtol 1e-9, n_max 8192", 1e-9, {"n_max": 8192}))
    results = [
        (label, *run(rtol, repeats if "8192" not in label else 3, **options)) for label, rtol, options in settings
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AccuracyWarning)  # the reference asks for 1e-15 on purpose
        ref = run(1e-15, 1, n_initial=8192, n_max=16384)[2]

    header = (
        f"{'setting':<24}{'steps':>7}{'est. error':>12}{'rtol met':>10}{'solve [s]':>11}{'table [s]':>11}"
        f"{'total [s]':>11}{'err vs ref':>12}"
    )
    print(header)
    print("-" * len(header))
    for label, solve_s, table_s, ds, steps, estimate, met in results:
        print(
            f"{label:<24}{steps:>7}{estimate:>12.1e}{'yes' if met else 'no':>10}{solve_s:>11.3f}{table_s:>11.3f}"
            f"{solve_s + table_s:>11.3f}{table_error(ds, ref):>12.1e}"
        )
    print(
        f"\nwarm timings, median of {repeats} (3 for n_max 8192); numba warm-up: import {imported:.2f} s, "
        f"first solve with JIT compile {compiled:.2f} s (fresh process, empty cache); first call here "
        f"(cached JIT) {first_here:.2f} s"
    )
    met_1s = [label for label, solve_s, table_s, *_ in results if solve_s + table_s < 1.0]
    print(f"under 1 s (solve + table): {', '.join(met_1s) if met_1s else 'none'}")
    final = ref.isel(time_days=-1)
    print(
        f"10 years after diagnosis: {float(final['n_metastases_total']):.3g} colonies, burden "
        f"{float(final['burden_cells_total']):.3g} cells, largest organ count "
        f"{float(final['n_metastases'].max()):.3g} ({final['n_metastases'].idxmax().values!s})"
    )


if __name__ == "__main__":
    main()
