"""Speed of the stochastic engine: virtual patients per second (prints figures; not a test).

1. Whole-body breast_er_positive preset, 10 years after diagnosis of a 20 mm primary, secondary
   seeding, birth-death phase up to 1000 cells, 121 output times: patients per second with one
   worker and with two, stopping each patient at death (the `metacascade run` default) and
   following every patient to the horizon (the mode whose means equal the deterministic engine).
2. The small case of metacascade.validation.hybrid_ssa (tested in tests/test_hybrid_ssa.py): the
   hybrid against the exact SSA (metacascade.engines.ssa) at equal statistical accuracy (same number of patients).

Run:  python bench/stochastic.py [n_patients]
"""

from __future__ import annotations

import sys
import time

import numpy as np

from metacascade.engines.stochastic import simulate_patients
from metacascade.scenario import establishment_of, parse_scenario


def breast(n: int) -> None:
    sc = parse_scenario('[patient]\ncancer = "breast_er_positive"\n[engine]\nhorizon_days = 3650\n')
    horizon = sc.patient.age_of_primary_days + 3650.0
    est = establishment_of(sc)
    times = np.linspace(0.0, horizon, 121)
    kw = dict(
        survival=sc.early_survival,
        switch_cells=1000,
        times=times,
        detection_cells=sc.detection_cells,
        lethal_cells=sc.lethal_burden_cells,
        establishment=est,
    )
    args = (sc.model, sc.organs, sc.routing.primary, sc.routing.colony, horizon)
    simulate_patients(*args, 64, seed=0, **kw)  # compile
    t0 = time.perf_counter()
    establishment_of(sc)
    print(
        f"establishment law (switch 1000 cells, Gompertz colony): {time.perf_counter() - t0:.3f} s to tabulate; "
        f"mean {est.mean_exact:.1f} d, sd {est.sd_exact:.1f} d"
    )
    for stop in (True, False):
        m = n if stop else max(n // 10, 64)
        for workers in (1, 2):
            t0 = time.perf_counter()
            res = simulate_patients(*args, m, seed=1, stop_at_death=stop, workers=workers, **kw)
            el = time.perf_counter() - t0
            print(
                f"breast 10 y, stop_at_death={stop!s:5}, workers={workers}: {m} patients in {el:.2f} s = "
                f"{m / el:,.0f} patients/s; colonies per patient {res.n_colonies.mean():.0f}"
            )


def hybrid_vs_ssa(n: int) -> None:
    from metacascade.engines.ssa import BranchingProcess, simulate_ssa
    from metacascade.validation.hybrid_ssa import SMALL, hybrid_small  # the small case both engines run

    hybrid_small(64, 0, switch=SMALL["switch"])
    t0 = time.perf_counter()
    hybrid_small(n, 1, switch=SMALL["switch"])
    t_h = time.perf_counter() - t0
    proc = BranchingProcess(**SMALL["process"])
    simulate_ssa(proc, SMALL["horizon"], 16, seed=0, sizes=(SMALL["size"],))
    m = max(n // 20, 200)
    t0 = time.perf_counter()
    simulate_ssa(proc, SMALL["horizon"], m, seed=1, sizes=(SMALL["size"],))
    t_s = (time.perf_counter() - t0) * n / m
    print(
        f"small case ({n} patients): hybrid {t_h:.3f} s, exact SSA {t_s:.1f} s (extrapolated from {m}); "
        f"hybrid is {t_s / t_h:,.0f}x faster at equal patient count"
    )


if __name__ == "__main__":
    n_patients = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    breast(n_patients)
    hybrid_vs_ssa(n_patients)
