"""Benchmark: routing through the body graph and whole-body runs of every preset.

Prints, for each whole-body preset:
- the time to build its routing (absorbing-chain solve over the full body graph: 18 organs, 9
  pools) from the shipped graph, best of 200 (target: under 10 ms);
- the time of an organ-resolved deterministic solve over the primary's life to diagnosis at
  20 mm plus 10 years, and of a full ``run_scenario`` (solve + 121 x 13 table + summary),
  best of 3 after the numba warm-up, at rtol 1e-9 (default) and 1e-7 (target: under 1 s);
- the grid reached and the engine's error estimate;
- the population-averaged state at diagnosis (an extra one-organ solve and the quadrature).

Run ``python bench/body.py`` (about a minute on two cores).
"""

from __future__ import annotations

import time
import warnings

from metacascade.engines.deterministic import AccuracyWarning
from metacascade.engines.organs import solve_organs
from metacascade.model.body import default_body_graph
from metacascade.presets import get_preset, load_presets
from metacascade.scenario import parse_scenario
from metacascade.workflows.population_model import population_at_diagnosis
from metacascade.workflows.run import run_scenario


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    warnings.simplefilter("ignore", AccuracyWarning)
    body = default_body_graph()
    names = [n for n, p in sorted(load_presets().items()) if p.whole_body]
    # warm numba
    sc = parse_scenario('[patient]\ncancer = "breast_er_positive"\n')
    run_scenario(sc)
    print(f"body graph: {len(body.organs)} organs, {len(body.pools)} pools")
    header = (
        f"{'preset':20s} {'routing ms':>10s} {'rtol':>6s} {'solve s':>8s} {'run s':>7s} {'grid':>6s} "
        f"{'err est':>8s} {'population s':>12s}"
    )
    print(header)
    for name in names:
        preset = get_preset(name)
        soil = preset.resolved_soil()
        t_route = best(lambda soil=soil, preset=preset: body.routing(soil, preset.routes), 200) * 1e3
        for rtol in (1e-9, 1e-7):
            sc = parse_scenario(
                f'[patient]\ncancer = "{name}"\nprimary_diameter_mm = 20\n'
                f"[engine]\nhorizon_days = 3650\nrtol = {rtol}\n"
            )
            horizon = sc.patient.age_of_primary_days + 3650
            holder = {}

            def solve(sc=sc, horizon=horizon, rtol=rtol, holder=holder):
                holder["sol"] = solve_organs(
                    sc.model, sc.organs, sc.routing.primary, sc.routing.factors, horizon, rtol=rtol
                )

            t_solve = best(solve, 3)
            t_run = best(lambda sc=sc: run_scenario(sc), 3)
            sol = holder["sol"]
            t_cal = best(lambda sc=sc: population_at_diagnosis(sc), 3)
            print(
                f"{name:20s} {t_route:10.3f} {rtol:6.0e} {t_solve:8.3f} {t_run:7.3f} {sol.grid.size - 1:6d} "
                f"{sol.error_estimate:8.1e} {t_cal:12.3f}"
            )


if __name__ == "__main__":
    main()
