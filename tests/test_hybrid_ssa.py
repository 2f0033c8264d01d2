"""The hybrid stochastic engine against the exact Gillespie SSA on a small case.

The small case: a deterministic exponential primary of 1000 cells (net rate 0.01/day) emits
metastasis-founding cells at 2e-4 per cell per day; each founds a colony that divides at
0.2/day and dies at 0.1/day (so 1/2 of the founders establish, q = d/b = 1/2). Up to day 80
the exact SSA simulates every cell; the hybrid draws the surviving foundings as a thinned
Poisson process, their birth-death phase from the phase-type law up to ``switch_cells`` and
deterministic growth after it. Compared: the day the first metastasis reaches 1000 cells
(censored at the horizon: "never" included) and the number of metastases of >= 1000 cells at
day 80, by two-sample Kolmogorov-Smirnov tests (p > 0.01 at fixed seeds), and the probability
that no metastasis reaches 1000 cells by a binomial z-test. Moving the switch from 30 to 300
cells must not change the answer.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from metacascade.engines.ssa import BranchingProcess, simulate_ssa
from metacascade.engines.stochastic import simulate_patients
from metacascade.model.growth import Exponential
from metacascade.model.metastasis import MetastasisModel
from metacascade.model.shedding import PowerShedding

SMALL = {
    "process": dict(primary_birth=0.02, primary_death=0.01, primary_cells0=1000, migration_per_cell=2e-4,
                    colony_birth=0.2, colony_death=0.1, primary="deterministic"),
    "horizon": 80.0,
    "size": 1000,
    "switch": 100,
    "n": 2000,
}


def hybrid_small(n: int, seed: int, switch: int):
    """The small case with the hybrid engine: (first day at the size, number at the size at the horizon)."""
    p = SMALL["process"]
    lam_p = p["primary_birth"] - p["primary_death"]
    lam_c = p["colony_birth"] - p["colony_death"]
    q = p["colony_death"] / p["colony_birth"]
    survival = (1 - q) / (1 - q**switch)  # gambler's ruin: a founder reaches the switch size
    model = MetastasisModel(primary_growth=Exponential(lam_p), colony_growth=Exponential(lam_c),
                            primary_shedding=PowerShedding(m=p["migration_per_cell"], alpha=1.0),
                            primary_size0=float(p["primary_cells0"]), colony_size0=1.0, secondary_seeding=False)
    size = float(SMALL["size"])
    res = simulate_patients(model, ["site"], [survival], None, SMALL["horizon"], n, seed=seed, survival=survival,
                            switch_cells=switch, sizes=[size], detection_cells=size, lethal_cells=1e15)
    return res.first_detectable[:, 0], res.n_above_at[:, -1, 0, 0]


@pytest.fixture(scope="module")
def ssa():
    res = simulate_ssa(BranchingProcess(**SMALL["process"]), SMALL["horizon"], SMALL["n"], seed=20120120,
                       sizes=(SMALL["size"],))
    return res.first_reach[:, 0], res.n_reached[:, 0]


def _censor(t: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(t), t, SMALL["horizon"] + 1.0)


@pytest.mark.parametrize("switch", [30, 100, 300])
def test_hybrid_agrees_with_the_exact_ssa(ssa, switch):
    first_ssa, count_ssa = ssa
    first_h, count_h = hybrid_small(4 * SMALL["n"], seed=7 + switch, switch=switch)
    assert stats.ks_2samp(_censor(first_ssa), _censor(first_h)).pvalue > 0.01
    assert stats.ks_2samp(count_ssa, count_h).pvalue > 0.01
    # the probability that no metastasis reaches the size (an atom the KS test treats loosely)
    p_s, p_h = np.mean(~np.isfinite(first_ssa)), np.mean(~np.isfinite(first_h))
    n_s, n_h = first_ssa.size, first_h.size
    pooled = (p_s * n_s + p_h * n_h) / (n_s + n_h)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_s + 1 / n_h))
    assert 0.1 < pooled < 0.9  # the case exercises both outcomes
    assert abs(p_s - p_h) < 4 * se
    assert abs(count_ssa.mean() - count_h.mean()) < 4 * math.sqrt(count_ssa.var() / n_s + count_h.var() / n_h)


def test_the_comparison_can_fail(ssa):
    """A hybrid with the wrong colony rate is rejected by the same tests (they have power)."""
    first_ssa, count_ssa = ssa
    p = SMALL["process"]
    saved = dict(p)
    try:
        p["colony_birth"] = 0.21  # 10% faster net growth
        first_h, count_h = hybrid_small(4 * SMALL["n"], seed=3, switch=100)
    finally:
        p.update(saved)
    assert stats.ks_2samp(_censor(first_ssa), _censor(first_h)).pvalue < 0.01
