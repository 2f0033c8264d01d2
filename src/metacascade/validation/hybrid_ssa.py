"""The small case on which the hybrid stochastic engine is checked against the exact SSA.

A deterministic exponential primary of 1000 cells (net rate 0.01/day) emits metastasis-founding
cells at 2e-4 per cell per day; each founds a colony that divides at 0.2/day and dies at
0.1/day (q = d/b = 1/2). Up to day 80 the exact SSA (:mod:`metacascade.engines.ssa`) simulates
every cell; the hybrid (:func:`~metacascade.engines.stochastic.simulate_patients`) draws the
surviving foundings as a thinned Poisson process, their birth-death phase up to the switch
size and deterministic growth after it. The test suite compares the two (tests/test_hybrid_ssa.py)
and ``bench/stochastic.py`` times them on it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from metacascade.engines.ssa import BranchingProcess, simulate_ssa
from metacascade.engines.stochastic import simulate_patients
from metacascade.model.growth import Exponential
from metacascade.model.metastasis import MetastasisModel
from metacascade.model.shedding import PowerShedding

__all__ = ["SMALL", "hybrid_small", "ssa_small"]

#: The small case: the branching process (rates per day), horizon (days), the size compared
#: (cells), the default switch size of the hybrid and the number of SSA patients of the test.
SMALL: dict[str, Any] = {
    "process": dict(
        primary_birth=0.02,
        primary_death=0.01,
        primary_cells0=1000,
        migration_per_cell=2e-4,
        colony_birth=0.2,
        colony_death=0.1,
        primary="deterministic",
    ),
    "horizon": 80.0,
    "size": 1000,
    "switch": 100,
    "n": 2000,
}


def hybrid_small(
    n: int, seed: int, switch: int, process: dict[str, Any] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The small case with the hybrid engine: per patient, the first day a metastasis reaches
    ``SMALL["size"]`` cells (inf: never) and the number at that size at the horizon.
    ``process``: the rates of ``SMALL["process"]`` (read when called), or others."""
    p = SMALL["process"] if process is None else process
    lam_p = p["primary_birth"] - p["primary_death"]
    lam_c = p["colony_birth"] - p["colony_death"]
    q = p["colony_death"] / p["colony_birth"]
    survival = (1 - q) / (1 - q**switch)  # gambler's ruin: a founder reaches the switch size
    model = MetastasisModel(
        primary_growth=Exponential(lam_p),
        colony_growth=Exponential(lam_c),
        primary_shedding=PowerShedding(m=p["migration_per_cell"], alpha=1.0),
        primary_size0=float(p["primary_cells0"]),
        colony_size0=1.0,
        secondary_seeding=False,
    )
    size = float(SMALL["size"])
    res = simulate_patients(
        model,
        ["site"],
        [survival],
        None,
        SMALL["horizon"],
        n,
        seed=seed,
        survival=survival,
        switch_cells=switch,
        sizes=[size],
        detection_cells=size,
        lethal_cells=1e15,
    )
    return res.first_detectable[:, 0], res.n_above_at[:, -1, 0, 0]


def ssa_small(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The small case with the exact SSA: the same two quantities as :func:`hybrid_small`."""
    res = simulate_ssa(BranchingProcess(**SMALL["process"]), SMALL["horizon"], n, seed=seed, sizes=(SMALL["size"],))
    return res.first_reach[:, 0], res.n_reached[:, 0]
