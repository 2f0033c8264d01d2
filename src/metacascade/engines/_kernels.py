"""Numerical kernels of the engines: pure array functions, numba-compiled, no objects, no I/O."""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["volterra_trapezoid"]


@njit(cache=True)
def volterra_trapezoid(f: np.ndarray, k: np.ndarray, h: float) -> np.ndarray:  # pragma: no cover - jit
    r"""Solve the convolution Volterra equation of the second kind with the trapezoidal rule.

    .. math:: B(t) = f(t) + \int_0^t k(t-s)\,B(s)\,ds

    on the uniform grid ``t_i = i h`` (``f`` and ``k`` sampled there). The global error has an
    asymptotic expansion in even powers of ``h`` for smooth data (Linz 1985, *Analytical and
    Numerical Methods for Volterra Equations*, SIAM, ch. 7), which the caller uses for
    Richardson extrapolation. Cost O(n^2).
    """
    n = f.size
    b = np.empty(n)
    b[0] = f[0]
    denom = 1.0 - 0.5 * h * k[0]
    for i in range(1, n):
        s = 0.5 * k[i] * b[0]
        for j in range(1, i):
            s += k[i - j] * b[j]
        b[i] = (f[i] + h * s) / denom
    return b
