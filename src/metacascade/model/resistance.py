r"""Spontaneous drug resistance: Goldie-Coldman, Luria-Delbrueck, and a numba sampler.

A tumour grows by cell division from :math:`x_0` to :math:`x` cells; each division produces a
resistant daughter with probability :math:`u` (the mutation rate per division). In a pure-birth
tumour every new cell comes from one division, so mutation events form a Poisson process in
tumour size :math:`s` with intensity :math:`u` per cell added (Lea & Coulson 1949), and

.. math:: P_0 = P(\text{no resistant cell}) = e^{-u (x - x_0)}

(Goldie & Coldman 1979). With cell death (death/birth ratio :math:`q`) each net new cell costs
:math:`1/(1-q)` divisions: :math:`P_0 = e^{-u (x - x_0)/(1-q)}`.

A resistant clone founded when the tumour had :math:`s` cells divides at the tumour's
per-capita rate; a pure-birth (Yule) clone grown by the factor :math:`x/s` has a Geometric size
:math:`P(G = k) = p (1-p)^{k-1}`, :math:`k \ge 1`, :math:`p = s/x`, mean :math:`x/s` (exact also
when the per-capita rate varies in time, e.g. Gompertz growth, since only the integrated rate
matters). Summed over a Poisson process of founding sizes on :math:`(0, x)` with
:math:`m = u x`, the number of resistant cells :math:`R` has the Luria-Delbrueck distribution in
the Lea-Coulson formulation, whose probabilities follow from the Ma-Sandri-Sarkar recursion

.. math:: p_0 = e^{-m}, \qquad p_n = \frac{m}{n} \sum_{i=0}^{n-1} \frac{p_i}{n - i + 1}.

References
----------
.. [1] Goldie JH, Coldman AJ. A mathematic model for relating the drug sensitivity of tumors to
   their spontaneous mutation rate. Cancer Treat Rep 1979;63:1727-1733.
.. [2] Luria SE, Delbrueck M. Mutations of bacteria from virus sensitivity to virus resistance.
   Genetics 1943;28:491-511.
.. [3] Lea DE, Coulson CA. The distribution of the numbers of mutants in bacterial populations.
   J Genet 1949;49:264-285 (median approximation r/m - ln m = 1.24).
.. [4] Ma WT, Sandri GvH, Sarkar S. Analysis of the Luria-Delbrueck distribution using discrete
   convolution powers. J Appl Probab 1992;29:255-267.
.. [5] Hoermann W. The transformed rejection method for generating Poisson random variables.
   Insur Math Econ 1993;12:39-45 (PTRS, used for Poisson means >= 10).
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numpy.typing import ArrayLike, NDArray

from metacascade._rng import exponential, patient_states, uniform
from metacascade.errors import ParameterError

__all__ = [
    "goldie_coldman_p0",
    "lea_coulson_median",
    "luria_delbruck_pmf",
    "sample_resistance",
    "sample_resistance_many",
]

FloatArray = NDArray[np.float64]


def _check_array(
    name: str,
    value: ArrayLike,
    *,
    low: float = 0.0,
    strict: bool = False,
    high: float = math.inf,
    high_strict: bool = False,
) -> FloatArray:
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ParameterError(f"{name}: got {value!r}, allowed finite numbers") from None
    bad = ~np.isfinite(a) | (a <= low if strict else a < low) | (a >= high if high_strict else a > high)
    if bad.any():
        lo = f"{'>' if strict else '>='} {low:g}"
        hi = "" if math.isinf(high) else f" and {'<' if high_strict else '<='} {high:g}"
        raise ParameterError(
            f"{name}: got {float(a[bad].flat[0]) if a.ndim else float(a)!r}, allowed finite numbers {lo}{hi}"
        )
    return a


def goldie_coldman_p0(
    n_cells: ArrayLike, mutation_rate: ArrayLike, n0: ArrayLike = 1.0, death_ratio: ArrayLike = 0.0
) -> FloatArray | float:
    r"""Probability that a tumour grown from ``n0`` to ``n_cells`` holds no resistant cell.

    .. math:: P_0 = \exp\Bigl(-\frac{u\,(N - n_0)}{1 - q}\Bigr)

    (Goldie & Coldman 1979, pure birth :math:`q = 0`). Mutations arise at rate ``u`` per
    division; with death/birth ratio ``q`` a net new cell costs :math:`1/(1-q)` divisions.
    Resistant cells are assumed never lost (their clones' extinction is neglected: with death,
    a resistant lineage survives with probability :math:`1 - q`, so this is a lower bound on the
    probability of no *surviving* resistant lineage).

    Parameters
    ----------
    n_cells : array_like
        ``N``, cells (>= ``n0``).
    mutation_rate : array_like
        ``u``, probability of resistance per division, in [0, 1].
    n0 : array_like
        initial size, cells (> 0; default one cell).
    death_ratio : array_like
        ``q`` = death rate / birth rate, in [0, 1).
    """
    n = _check_array("n_cells", n_cells, strict=True)
    u = _check_array("mutation_rate", mutation_rate, high=1.0)
    x0 = _check_array("n0", n0, strict=True)
    q = _check_array("death_ratio", death_ratio, high=1.0, high_strict=True)
    if (n < x0).any():
        raise ParameterError(f"n_cells: got {n!r} below n0 = {x0!r}; allowed n_cells >= n0")
    out = np.exp(-u * (n - x0) / (1.0 - q))
    return float(out) if out.ndim == 0 else out


def luria_delbruck_pmf(m: float, n_max: int) -> FloatArray:
    r"""Luria-Delbrueck (Lea-Coulson) probabilities :math:`p_0, \dots, p_{n_{max}}`.

    Ma-Sandri-Sarkar recursion (exact, O(n_max^2)):

    .. math:: p_0 = e^{-m}, \qquad p_n = \frac{m}{n} \sum_{i=0}^{n-1} \frac{p_i}{n - i + 1},

    the compound Poisson law with mean number of mutations ``m`` and clone sizes
    :math:`P(k) = 1/(k(k+1))`. The tail is heavy: :math:`P(R > n) \approx m/n`, so the returned
    probabilities sum to about :math:`1 - m/n_{max}`.

    Parameters
    ----------
    m : float
        expected number of mutations, ``u x`` (>= 0).
    n_max : int
        largest count returned (>= 0).
    """
    mm = float(_check_array("m", m))
    if isinstance(n_max, bool) or not isinstance(n_max, (int, np.integer)) or n_max < 0:
        raise ParameterError(f"n_max: got {n_max!r}, allowed an integer >= 0")
    return _mss(mm, int(n_max))


@numba.njit(cache=True)
def _mss(m: float, n_max: int) -> np.ndarray:  # pragma: no cover - jit
    p = np.empty(n_max + 1)
    p[0] = math.exp(-m)
    for n in range(1, n_max + 1):
        acc = 0.0
        for i in range(n):
            acc += p[i] / (n - i + 1)
        p[n] = m / n * acc
    return p


def lea_coulson_median(m: ArrayLike) -> FloatArray | float:
    r"""Lea & Coulson's (1949) approximation of the median number of mutants :math:`r`:

    .. math:: r/m - \ln m = 1.24 \quad\Longrightarrow\quad r = m\,(1.24 + \ln m),

    an asymptotic relation, accurate for ``m`` of a few and above.
    """
    mm = _check_array("m", m, strict=True)
    out = mm * (1.24 + np.log(mm))
    return float(out) if out.ndim == 0 else out


# -- numba kernels --------------------------------------------------------------------------------
@numba.njit(cache=True)
def _poisson(s: np.ndarray, lam: float) -> int:  # pragma: no cover - jit
    """Poisson(lam): multiplication of uniforms for lam < 10, Hoermann's PTRS above."""
    if lam <= 0.0:
        return 0
    if lam < 10.0:
        limit = math.exp(-lam)
        k = 0
        prod = 1.0 - uniform(s)
        while prod > limit:
            k += 1
            prod *= 1.0 - uniform(s)
        return k
    slam = math.sqrt(lam)
    loglam = math.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2.0)
    while True:
        uu = uniform(s) - 0.5
        v = 1.0 - uniform(s)  # (0, 1]
        us = 0.5 - abs(uu)
        if us <= 0.0:
            continue
        k = math.floor((2.0 * a / us + b) * uu + lam + 0.43)
        if us >= 0.07 and v <= vr:
            return int(k)
        if k < 0.0 or (us < 0.013 and v > us):
            continue
        if math.log(v) + math.log(invalpha) - math.log(a / (us * us) + b) <= -lam + k * loglam - math.lgamma(k + 1.0):
            return int(k)


@numba.njit(cache=True)
def _normal(s: np.ndarray) -> float:  # pragma: no cover - jit
    """Standard normal by Box-Muller (one of the pair)."""
    r = math.sqrt(2.0 * exponential(s))
    return r * math.cos(2.0 * math.pi * uniform(s))


@numba.njit(cache=True, inline="always")
def _geometric(s: np.ndarray, p: float) -> int:  # pragma: no cover - jit
    """Geometric on 1, 2, ... with success probability p (mean 1/p), by inversion."""
    if p >= 1.0:
        return 1
    return 1 + math.floor(exponential(s) / -math.log1p(-p))


@numba.njit(cache=True)
def sample_resistance(
    s: np.ndarray, u: float, x0: float, x: float, kmax: int
) -> tuple[int, int]:  # pragma: no cover - jit
    r"""Resistance acquired while a pure-birth tumour grew from ``x0`` to ``x`` cells.

    Callable from other numba kernels. ``s`` is a xoshiro256** state (uint64[4], see
    :mod:`metacascade._rng`), advanced in place.

    Model: mutation events form a Poisson process in tumour size with intensity ``u`` per cell
    added; a clone founded at size :math:`s_i` has a Geometric size (mean :math:`x/s_i`) at size
    ``x``. Returns ``(K, R)``: ``K ~ Poisson(u (x - x0))`` mutation events and ``R`` resistant
    cells.

    Algorithm: the first ``min(K, kmax)`` founding sizes are drawn exactly in increasing order,
    :math:`s_{i+1} = s_i + E_i/u` with :math:`E_i \sim` Exp(1), each with an exact Geometric clone.
    If the ``kmax``-th lies below ``x``, the remaining :math:`K_r \sim` Poisson(:math:`u(x-s_k)`)
    mutations (uniform on :math:`(s_k, x)`, each clone of mean at most :math:`x/s_k`) are summed by
    a **normal approximation** conditional on :math:`K_r`, with the per-clone moments

    .. math:: \mu = \frac{x \ln(x/s_k)}{x - s_k}, \qquad
              E[G^2] = \frac{2x^2 (1/s_k - 1/x) - x \ln(x/s_k)}{x - s_k}

    (from :math:`E[G^2 \mid s] = 2(x/s)^2 - x/s`); averaged over :math:`K_r` the mean is
    :math:`u x \ln(x/s_k)` and the variance :math:`\int_{s_k}^x u(2(x/s)^2 - x/s)\,ds`. The sum
    is rounded and clipped at :math:`\ge K_r` (each clone has at least one cell). The
    approximation is good when the tail holds many small clones, i.e. when ``kmax`` is a few
    tens (then the tail clones have means :math:`\le x/s_k \approx m/k_{max}`); it is exact
    (no approximation used) when ``K <= kmax``. What it loses is the tail sum's skewness
    :math:`\kappa_3/\sigma^3` with :math:`\kappa_3 \approx 3 u x^3/s_k^2`,
    :math:`\sigma^2 \approx 2 u x^2/s_k` (about 0.26 for m = 1000, kmax = 16, i.e.
    :math:`\approx 1.06/\sqrt{k_{max}}`); its mean and variance are exact. In the tests kmax = 16
    and kmax = 4096 agree by a two-sample KS test at 2e4 draws each.
    """
    if u <= 0.0 or x <= x0:
        return 0, 0
    size = x0
    k = 0
    r = 0
    while k < kmax:
        size += exponential(s) / u
        if size >= x:
            return k, r
        k += 1
        r += _geometric(s, size / x)
    # kmax mutations drawn exactly: the rest by their count and a normal approximation
    k_rest = _poisson(s, u * (x - size))
    if k_rest == 0:
        return k, r
    width = x - size
    log_ratio = math.log(x / size)
    mean1 = x * log_ratio / width
    second1 = (2.0 * x * x * (1.0 / size - 1.0 / x) - x * log_ratio) / width
    var1 = max(second1 - mean1 * mean1, 0.0)
    total = k_rest * mean1 + math.sqrt(k_rest * var1) * _normal(s)
    rest = math.floor(total + 0.5)
    rest = max(rest, k_rest)
    return k + k_rest, r + rest


@numba.njit(cache=True)
def _sample_batch(
    states: np.ndarray, u: float, x0: float, x: float, kmax: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:  # pragma: no cover - jit
    n = states.shape[0]
    ks = np.empty(n, dtype=np.int64)
    rs = np.empty(n, dtype=np.int64)
    for i in range(n):
        st = states[i]
        ks[i], rs[i] = sample_resistance(st, u, x0, x, kmax)
    return ks, rs


def sample_resistance_many(
    seed: int, n: int, u: float, x0: float, x: float, kmax: int = 64
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """``n`` independent draws of :func:`sample_resistance` (mutation counts, resistant cells).

    Draw ``i`` uses the stream of patient ``i`` of a run seeded ``seed``
    (:func:`metacascade._rng.patient_states`), so it does not depend on ``n``.

    Parameters
    ----------
    seed : int
        run seed (>= 0).
    n : int
        number of draws.
    u : float
        mutation rate to resistance per division, in [0, 1].
    x0, x : float
        initial and final tumour size, cells (0 < x0 <= x).
    kmax : int
        mutations drawn exactly before the normal tail approximation (>= 0).

    Returns
    -------
    (ndarray of int64, ndarray of int64)
        ``K`` (mutation events) and ``R`` (resistant cells), each of length ``n``.
    """
    for name, value in (("seed", seed), ("n", n), ("kmax", kmax)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ParameterError(f"{name}: got {value!r}, allowed an integer >= 0")
    uu = float(_check_array("u", u, high=1.0))
    a = float(_check_array("x0", x0, strict=True))
    b = float(_check_array("x", x, strict=True))
    if b < a:
        raise ParameterError(f"x: got {x!r} below x0 = {x0!r}; allowed x >= x0")
    states = patient_states(int(seed), np.arange(int(n), dtype=np.int64))
    return _sample_batch(states, uu, a, b, int(kmax))
