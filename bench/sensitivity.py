"""Benchmark: global sensitivity analysis on the deterministic engine (breast ER+, 20 mm).

Prints the time of one whole-body run (the unit of cost), then of a Morris screening of six
factors (10 trajectories, 70 runs) and, with ``--sobol``, of a Sobol' analysis of the same six
factors (64 base samples, 512 runs), each with ``--workers`` processes (default 2).

Run ``python bench/sensitivity.py`` (about two minutes on two cores) or add ``--sobol``.
"""

from __future__ import annotations

import argparse
import tempfile
import time

from metacascade.scenario import parse_scenario
from metacascade.workflows.run import run_scenario
from metacascade.workflows.sensitivity import run_sensitivity

SCENARIO = """
[patient]
cancer = "breast_er_positive"
primary_diameter_mm = 20
[engine]
horizon_days = 1825
[output]
figure = false
"""
VARY = (
    "growth_rate=0.5:2,shedding=0.1:10,patient.primary_diameter_mm=10:40,"
    "model.shedding_alpha=0.8:1,population.dissemination_sd_log=4:10,host.dormancy_probability=0:0.5"
)
OUTPUTS = "p_m1_at_diagnosis,p_occult_at_diagnosis,p_node_positive,p_relapse_10y"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--sobol", action="store_true", help="also the Sobol' analysis (512 runs)")
    args = ap.parse_args()
    sc = parse_scenario(SCENARIO)
    run_scenario(sc)  # warm-up (numba caches, data files)
    t = time.perf_counter()
    for _ in range(3):
        run_scenario(sc)
    one = (time.perf_counter() - t) / 3
    print(f"one deterministic whole-body run (breast ER+, 5-year horizon): {one:.2f} s")
    cases = [("morris", 10)] + ([("sobol", 64)] if args.sobol else [])
    for method, n in cases:
        with tempfile.TemporaryDirectory() as out:
            t = time.perf_counter()
            res = run_sensitivity(SCENARIO, VARY, OUTPUTS, method=method, n=n, out=out, workers=args.workers)
            dt = time.perf_counter() - t
        runs = res.summary["runs"]
        print(
            f"{method:6s} 6 factors, n = {n}: {runs} runs in {dt:.0f} s with {args.workers} workers "
            f"({dt / runs:.2f} s per run, {runs / dt:.2f} runs/s)"
        )
        col = "ST" if method == "sobol" else "mu_star"
        top = res.indices.sort_values(col, ascending=False).groupby("output").head(2)
        for _, r in top.iterrows():
            print(f"    {r['output']:24s} {r['parameter']:36s} {col} = {r[col]:.3g}")


if __name__ == "__main__":
    main()
