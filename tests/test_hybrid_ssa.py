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

from metacascade.validation.hybrid_ssa import SMALL, hybrid_small, ssa_small


@pytest.fixture(scope="module")
def ssa():
    return ssa_small(SMALL["n"], seed=20120120)


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
    first_ssa, _ = ssa
    p = SMALL["process"]
    saved = dict(p)
    try:
        p["colony_birth"] = 0.21  # 10% faster net growth
        first_h, _ = hybrid_small(4 * SMALL["n"], seed=3, switch=100)
    finally:
        p.update(saved)
    assert stats.ks_2samp(_censor(first_ssa), _censor(first_h)).pvalue < 0.01


def test_the_benchmark_runs_without_pytest_or_the_tests_folder(tmp_path):
    """Issue 16, bug 6: bench/stochastic.py imported the small case from tests/ (and so pytest)."""
    import subprocess
    import sys
    from pathlib import Path

    bench = Path(__file__).resolve().parents[1] / "bench" / "stochastic.py"
    code = (
        "import importlib.util, sys\n"
        "sys.modules['pytest'] = None  # importing pytest now fails\n"
        f"spec = importlib.util.spec_from_file_location('bench_stochastic', {str(bench)!r})\n"
        "mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)\n"
        "mod.hybrid_vs_ssa(200)\n"
        "assert not any(m.startswith('test_') for m in sys.modules), 'a test module was imported'\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "hybrid is" in proc.stdout
