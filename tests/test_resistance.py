"""Drug resistance: Goldie-Coldman P0, the Luria-Delbrueck (Lea-Coulson) law, the numba sampler.

- Goldie JH, Coldman AJ, Cancer Treat Rep 1979;63:1727: P0 = exp(-u (N - n0)) for a tumour grown
  by divisions from n0 to N cells with mutation rate u per division.
- Ma WT, Sandri GvH, Sarkar S, J Appl Probab 1992;29:255: p0 = e^-m,
  p_n = (m/n) sum_{i<n} p_i/(n - i + 1) (Lea-Coulson formulation, m = u N).
- Lea DE, Coulson CA, J Genet 1949;49:264: median r solves r/m - ln m = 1.24.

Monte Carlo tolerances are k sigma/sqrt(n) with k = 4 (a correct sampler fails one such check
with probability 6e-5; the seeds are fixed, so a run is deterministic), or a chi-square /
Kolmogorov-Smirnov p-value above 1e-3.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
from scipy import stats

from metacascade._rng import patient_states
from metacascade.errors import ParameterError
from metacascade.model.resistance import (
    goldie_coldman_p0,
    lea_coulson_median,
    luria_delbruck_pmf,
    sample_resistance,
    sample_resistance_many,
)

N_SAMPLES = 20_000
K_SIGMA = 4.0
P_MIN = 1e-3


# -- Goldie-Coldman -------------------------------------------------------------------------------
def test_goldie_coldman_closed_form() -> None:
    """P0 = exp(-u (N - n0)/(1 - q)); q = 0 is Goldie & Coldman's pure-birth tumour."""
    assert goldie_coldman_p0(1e6, 1e-6) == pytest.approx(math.exp(-(1e6 - 1.0) * 1e-6), rel=1e-14)
    assert goldie_coldman_p0(1e9, 1e-9, n0=1e3) == pytest.approx(math.exp(-(1e9 - 1e3) * 1e-9), rel=1e-14)
    # death/birth ratio q = 0.5: two divisions per net new cell, the exponent doubles
    assert goldie_coldman_p0(1e6, 1e-6, death_ratio=0.5) == pytest.approx(goldie_coldman_p0(1e6, 2e-6), rel=1e-14)
    np.testing.assert_allclose(
        goldie_coldman_p0(np.array([1.0, 1e5, 1e7]), 1e-6),
        np.exp(-1e-6 * np.array([0.0, 1e5 - 1, 1e7 - 1])),
        rtol=1e-14,
    )


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: goldie_coldman_p0(1e6, -1e-6), "mutation_rate"),
        (lambda: goldie_coldman_p0(1e6, 1e-6, death_ratio=1.0), "death_ratio"),
        (lambda: goldie_coldman_p0(10.0, 1e-6, n0=100.0), "n_cells"),
        (lambda: goldie_coldman_p0(float("nan"), 1e-6), "n_cells"),
        (lambda: luria_delbruck_pmf(-1.0, 10), "m"),
        (lambda: luria_delbruck_pmf(1.0, -1), "n_max"),
        (lambda: sample_resistance_many(1, 10, 2.0, 1.0, 1e6), "u"),
        (lambda: sample_resistance_many(1, 10, 1e-6, 1e6, 1.0), "x"),
        (lambda: sample_resistance_many(1, 10, 1e-6, 1.0, 1e6, kmax=-1), "kmax"),
    ],
)
def test_bad_input_names_the_field(call, field: str) -> None:
    with pytest.raises(ParameterError, match=field):
        call()


@pytest.mark.parametrize(
    ("lam", "x0", "x", "seed"),
    [
        (0.5, 1.0, 1e6, 1),
        (1.0, 1.0, 1e6, 2),
        (2.0, 1.0, 1e6, 3),
        (3.0, 1.0, 1e9, 4),
        (1.0, 1e3, 1e6, 5),  # n0 > 1: the exponent is u (N - n0)
    ],
)
def test_sampled_fraction_without_resistance_is_goldie_coldman(lam, x0, x, seed) -> None:
    """P(K = 0) = exp(-u (N - x0)) within 4 binomial sigmas; E[K] = u (N - x0) within 4 sqrt(lam/n)."""
    u = lam / (x - x0)
    k, _ = sample_resistance_many(seed, N_SAMPLES, u, x0, x)
    p0 = goldie_coldman_p0(x, u, n0=x0)
    assert p0 == pytest.approx(math.exp(-lam), rel=1e-12)
    assert abs((k == 0).mean() - p0) <= K_SIGMA * math.sqrt(p0 * (1 - p0) / N_SAMPLES)
    assert abs(k.mean() - lam) <= K_SIGMA * math.sqrt(lam / N_SAMPLES)


def test_mutation_count_beyond_kmax_is_poisson() -> None:
    """With kmax = 16 and u (x - x0) = 1000, K = 16 + Poisson(u (x - s_16)) is Poisson(1000) overall.

    Mean within 4 sqrt(lam/n). Variance: the sample variance of a Poisson has standard deviation
    sqrt((lam + 2 lam^2)/n) ~ 0.01 lam at n = 20000, so 4 of them is 4%.
    """
    lam, x = 1000.0, 1e9
    k, _ = sample_resistance_many(6, N_SAMPLES, lam / (x - 1.0), 1.0, x, kmax=16)
    assert abs(k.mean() - lam) <= K_SIGMA * math.sqrt(lam / N_SAMPLES)
    assert k.var() == pytest.approx(lam, rel=K_SIGMA * math.sqrt((1 / lam + 2) / N_SAMPLES))


# -- Luria-Delbrueck ------------------------------------------------------------------------------
@pytest.mark.parametrize("m", [0.1, 1.0, 3.0, 10.0])
def test_mss_first_terms(m: float) -> None:
    """MSS recursion: p0 = e^-m, p1 = m e^-m / 2, p2 = e^-m (m/6 + m^2/8) (hand-expanded)."""
    p = luria_delbruck_pmf(m, 2)
    np.testing.assert_allclose(p, math.exp(-m) * np.array([1.0, m / 2, m / 6 + m * m / 8]), rtol=1e-14)


@pytest.mark.parametrize("m", [0.1, 1.0, 3.0, 10.0])
def test_mss_sums_to_one_up_to_its_tail(m: float) -> None:
    """sum_{n <= n_max} p_n = 1 - P(R > n_max) with P(R > n) ~ m/n (p_n ~ m/n^2: one big clone of
    law 1/(n(n+1)) makes the tail). At n_max = 5000 the m/n form is within 2% for m <= 10 (the
    correction is O(m ln n / n)); tolerance 5%."""
    n_max = 5000
    tail = 1.0 - luria_delbruck_pmf(m, n_max).sum()
    assert tail == pytest.approx(m / n_max, rel=0.05)
    assert luria_delbruck_pmf(0.0, 3).tolist() == [1.0, 0.0, 0.0, 0.0]


@pytest.mark.parametrize("m", [0.5, 2.0, 7.0])
def test_mss_equals_the_compound_poisson_sum(m: float) -> None:
    """Independent check: p = sum_k Poisson(k; m) q^{*k}, q_j = 1/(j(j+1)) the Lea-Coulson clone
    law, by explicit convolution powers (truncated at n = 60; k up to 60 leaves < 1e-30 mass)."""
    n = 60
    q = np.zeros(n + 1)
    j = np.arange(1, n + 1)
    q[1:] = 1.0 / (j * (j + 1.0))
    power = np.zeros(n + 1)
    power[0] = 1.0
    expected = np.zeros(n + 1)
    for k in range(61):
        expected += math.exp(-m) * m**k / math.factorial(k) * power
        power = np.convolve(power, q)[: n + 1]
    np.testing.assert_allclose(luria_delbruck_pmf(m, n), expected, rtol=1e-10, atol=1e-300)


def _chi_square_p(r: np.ndarray, pmf: np.ndarray, min_expected: float = 20.0) -> float:
    """Chi-square p-value of integer samples against a pmf on 0..n_max plus its tail beyond.

    Consecutive values are merged until each bin expects >= ``min_expected`` samples; the last bin
    is everything above the previous edge (it takes the mass beyond n_max)."""
    n = r.size
    edges, acc = [], 0.0
    for i, p in enumerate(pmf):
        acc += p
        if acc * n >= min_expected:
            edges.append(i)
            acc = 0.0
    edges = edges[:-1]
    cum = np.cumsum(pmf)
    probs, counts, lo = [], [], -1
    for e in edges:
        probs.append(cum[e] - (cum[lo] if lo >= 0 else 0.0))
        counts.append(np.count_nonzero((r > lo) & (r <= e)))
        lo = e
    probs.append(1.0 - cum[lo])
    counts.append(np.count_nonzero(r > lo))
    expected = n * np.asarray(probs)
    chi2 = float((((np.asarray(counts) - expected) ** 2) / expected).sum())
    return float(stats.chi2.sf(chi2, len(probs) - 1))


@pytest.mark.parametrize(
    ("m", "x", "seed"),
    [
        (1.0, 1e6, 11),
        (3.0, 1e6, 12),
        (10.0, 1e6, 13),
        (1.0, 1e9, 14),
        (3.0, 1e9, 15),
        (10.0, 1e9, 16),
    ],
)
def test_sampler_matches_luria_delbruck(m: float, x: float, seed: int) -> None:
    """R from one cell to x cells (u = m/x, every mutation exact: kmax = 4096) follows the MSS pmf.

    Finite size: the Lea-Coulson law has mutations on (0, x); the sampler starts at x0 = 1, so it
    misses on average u * 1 = m/x <= 1e-5 mutations, a total-variation difference <= 1e-5, far
    below the chi-square resolution ~1/sqrt(n) = 7e-3 (clone sizes are exactly Geometric(s/x)).
    """
    r = sample_resistance_many(seed, N_SAMPLES, m / x, 1.0, x, kmax=4096)[1]
    assert _chi_square_p(r, luria_delbruck_pmf(m, 5000)) > P_MIN


@pytest.mark.parametrize(("m", "seed"), [(3.0, 21), (4.0, 22), (10.0, 23)])
def test_median_is_lea_coulson(m: float, seed: int) -> None:
    """Sample median of R vs Lea & Coulson's r = m (1.24 + ln m).

    Tolerance 2 cells: the formula is asymptotic and differs from the exact (MSS) median by < 0.6
    for m = 3, 4, 10 (7 vs 7.02, 11 vs 10.51, 36 vs 35.43); the sample median of a discrete law
    moves by one value when P(R <= median) lies within a few 0.0035 (= sqrt(0.25/n)) of 0.5.
    """
    r = sample_resistance_many(seed, N_SAMPLES, m / 1e9, 1.0, 1e9)[1]
    assert abs(np.median(r) - lea_coulson_median(m)) <= 2.0
    exact = int(np.searchsorted(np.cumsum(luria_delbruck_pmf(m, 5000)), 0.5))
    assert abs(np.median(r) - exact) <= 1.0


@pytest.mark.parametrize(
    ("m", "x0", "seeds"), [(100.0, 1.0, (31, 32)), (1000.0, 1.0, (33, 34)), (1000.0, 1e6, (35, 36))]
)
def test_kmax_tail_approximation(m: float, x0: float, seeds: tuple[int, int]) -> None:
    """kmax = 16 (normal approximation for the later, smaller clones) vs kmax = 4096 (all exact).

    Two-sample KS p-value > 1e-3. The approximation drops the tail's skewness (about 0.26 for
    m = 1000, kmax = 16), visible only with ~10^5+ samples. Mean of R: u x ln(x/x0) in both
    (exact for any kmax) within 4 sigma/sqrt(n), sigma^2 = u (2 x^2 (1/x0 - 1/x) - x ln(x/x0)).
    """
    x = 1e9
    u = m / x
    approx = sample_resistance_many(seeds[0], N_SAMPLES, u, x0, x, kmax=16)[1]
    exact = sample_resistance_many(seeds[1], N_SAMPLES, u, x0, x, kmax=4096)[1]
    assert stats.ks_2samp(approx, exact).pvalue > P_MIN
    if x0 > 1.0:  # from one cell the variance ~2 m x is too large for a useful mean check
        mean = u * x * math.log(x / x0)
        sigma = math.sqrt(u * (2 * x * x * (1 / x0 - 1 / x) - x * math.log(x / x0)))
        for r in (approx, exact):
            assert abs(r.mean() - mean) <= K_SIGMA * sigma / math.sqrt(N_SAMPLES)


def test_draws_reproducible_and_independent_of_batch_size() -> None:
    """Draw i uses patient i's stream: the same seed gives the same draws whatever n."""
    k1, r1 = sample_resistance_many(7, 50, 1e-8, 1.0, 1e9)
    k2, r2 = sample_resistance_many(7, 200, 1e-8, 1.0, 1e9)
    np.testing.assert_array_equal(k1, k2[:50])
    np.testing.assert_array_equal(r1, r2[:50])
    assert (r1 >= k1).all() and (k1 >= 0).all()  # every mutation leaves at least one cell
    assert sample_resistance_many(7, 5, 0.0, 1.0, 1e9)[1].tolist() == [0] * 5


@numba.njit
def _resistant_fraction_kernel(states, u, x0, x):  # pragma: no cover - jit
    hits = 0
    for i in range(states.shape[0]):
        _k, r = sample_resistance(states[i], u, x0, x, 64)
        if r > 0:
            hits += 1
    return hits / states.shape[0]


def test_sampler_is_callable_from_numba() -> None:
    """sample_resistance composes inside another njit kernel (same numbers as the wrapper)."""
    states = patient_states(8, np.arange(N_SAMPLES))
    frac = _resistant_fraction_kernel(states, 1e-6, 1.0, 1e6)
    _, r = sample_resistance_many(8, N_SAMPLES, 1e-6, 1.0, 1e6)
    assert frac == (r > 0).mean()
