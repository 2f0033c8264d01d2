r"""Cumulative rates :math:`H(t) = \int_0^t h(s)\,ds` of smooth non-negative rates, tabulated.

Seeding is an inhomogeneous Poisson process whose intensity is a smooth function of time (the
primary's shedding rate along its growth curve, or a colony's along its own). Its events are
sampled by inverting :math:`H` (Cinlar 1975; Devroye 1986, VI.1): unit-rate Poisson arrivals
:math:`E_1 < E_2 < \dots` map to the event times :math:`H^{-1}(E_k)`. :class:`CumulativeRate`
holds :math:`H` at equally spaced nodes, computed panel by panel with 5-point Gauss-Legendre
quadrature (error far below rounding for these analytic rates), together with :math:`h` at the
nodes, and interpolates with the cubic Hermite polynomial through both (error
:math:`O(\Delta^4 |h'''|)`). The same interpolant serves the deterministic engine's
convolutions, so both engines use one :math:`H`.

References
----------
.. [1] Cinlar E. Introduction to Stochastic Processes. Prentice-Hall 1975 (time change of a
   Poisson process).
.. [2] Devroye L. Non-Uniform Random Variate Generation. Springer 1986, ch. VI.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np
from numpy.typing import ArrayLike, NDArray

from metacascade.errors import ParameterError

__all__ = ["CumulativeRate", "hermite_cumulative", "hermite_inverse"]

FloatArray = NDArray[np.float64]

_GL_X, _GL_W = np.polynomial.legendre.leggauss(5)


@dataclass(frozen=True)
class CumulativeRate:
    """:math:`H(t) = \\int_0^t h`, tabulated on ``[0, t_end]`` for evaluation and inversion.

    Build with :meth:`build`. ``t`` are the equally spaced nodes, ``H`` and ``h`` the cumulative
    and the rate there. Beyond ``t_end`` :math:`H` continues linearly with slope ``h[-1]``;
    before 0 it is 0.
    """

    t: FloatArray
    H: FloatArray
    h: FloatArray

    @classmethod
    def build(cls, rate: Callable[[FloatArray], ArrayLike], t_end: float, n: int = 8192) -> CumulativeRate:
        """Tabulate the cumulative of ``rate`` (vectorised, finite, >= 0) on ``n`` steps over ``[0, t_end]``."""
        if not (math.isfinite(t_end) and t_end > 0):
            raise ParameterError(f"t_end: got {t_end!r}, allowed a finite number of days > 0")
        t = np.linspace(0.0, float(t_end), int(n) + 1)
        step = t[1] - t[0]
        nodes = t[:-1, None] + 0.5 * step * (1.0 + _GL_X[None, :])
        values = np.asarray(rate(nodes), dtype=float)
        h = np.asarray(rate(t), dtype=float)
        if not (np.all(np.isfinite(values)) and np.all(np.isfinite(h))):
            raise ParameterError(
                "seeding rate: not finite on [0, t_end] (the growth or shedding overflowed; "
                "shorten the horizon or lower the shedding coefficient)"
            )
        if np.any(values < 0) or np.any(h < 0):
            raise ParameterError("seeding rate: negative somewhere on [0, t_end]; allowed rates >= 0")
        panels = 0.5 * step * values @ _GL_W
        H = np.concatenate(([0.0], np.cumsum(panels)))
        return cls(t=t, H=H, h=h)

    @property
    def t_end(self) -> float:
        return float(self.t[-1])

    @property
    def total(self) -> float:
        """:math:`H(t_{end})`."""
        return float(self.H[-1])

    def __call__(self, s: ArrayLike) -> FloatArray:
        """:math:`H(s)` (0 for ``s <= 0``)."""
        s = np.asarray(s, dtype=float)
        return hermite_cumulative(self.t, self.H, self.h, s.ravel()).reshape(s.shape)

    def inverse(self, y: ArrayLike) -> FloatArray:
        """The least ``s`` with :math:`H(s) = y` (``inf`` where ``y > H(t_end)``)."""
        y = np.asarray(y, dtype=float)
        return hermite_inverse(self.t, self.H, self.h, y.ravel()).reshape(y.shape)


@numba.njit(cache=True, inline="always")
def _hermite_one(t: np.ndarray, H: np.ndarray, h: np.ndarray, s: float) -> float:  # pragma: no cover - jit
    if s <= 0.0:
        return 0.0
    n = t.size - 1
    step = t[1] - t[0]
    if s >= t[n]:
        return float(H[n] + h[n] * (s - t[n]))
    i = int(s / step)
    if i >= n:
        i = n - 1
    u = (s - t[i]) / step
    u2 = u * u
    u3 = u2 * u
    return float(
        (2 * u3 - 3 * u2 + 1) * H[i]
        + (u3 - 2 * u2 + u) * step * h[i]
        + (-2 * u3 + 3 * u2) * H[i + 1]
        + (u3 - u2) * step * h[i + 1]
    )


@numba.njit(cache=True)
def hermite_cumulative(t: np.ndarray, H: np.ndarray, h: np.ndarray, s: np.ndarray) -> np.ndarray:  # pragma: no cover
    """Cubic Hermite interpolant of the tabulated cumulative at the points ``s``."""
    out = np.empty(s.size)
    for j in range(s.size):
        out[j] = _hermite_one(t, H, h, s[j])
    return out


@numba.njit(cache=True)
def hermite_inverse_one(t: np.ndarray, H: np.ndarray, h: np.ndarray, y: float) -> float:  # pragma: no cover - jit
    """Least ``s`` in ``[0, t_end]`` with ``H(s) = y``; ``inf`` if ``y > H[-1]``; 0 if ``y <= 0``."""
    n = t.size - 1
    if y <= 0.0:
        return 0.0
    if y > H[n]:
        return np.inf
    lo, hi = 0, n  # H[lo] < y <= H[hi]
    while hi - lo > 1:
        mid = (lo + hi) >> 1
        if H[mid] < y:
            lo = mid
        else:
            hi = mid
    a, b = t[lo], t[hi]
    # Newton on the (monotone) Hermite cubic, safeguarded by bisection.
    s = a + (b - a) * (y - H[lo]) / (H[hi] - H[lo])
    for _ in range(60):
        f = _hermite_one(t, H, h, s) - y
        if f > 0:
            b = s
        else:
            a = s
        step = t[1] - t[0]
        u = (s - t[lo]) / step
        d = (
            (6 * u * u - 6 * u) * H[lo] / step
            + (3 * u * u - 4 * u + 1) * h[lo]
            + (-6 * u * u + 6 * u) * H[hi] / step
            + (3 * u * u - 2 * u) * h[hi]
        )
        s_new = s - f / d if d > 0 else 0.5 * (a + b)
        if not (a < s_new < b):
            s_new = 0.5 * (a + b)
        if abs(s_new - s) <= 1e-15 * max(1.0, abs(s)) or b - a <= 1e-15 * max(1.0, abs(s)):
            return float(s_new)
        s = s_new
    return float(s)


@numba.njit(cache=True)
def hermite_inverse(t: np.ndarray, H: np.ndarray, h: np.ndarray, y: np.ndarray) -> np.ndarray:  # pragma: no cover
    """:func:`hermite_inverse_one` at every ``y``."""
    out = np.empty(y.size)
    for j in range(y.size):
        out[j] = hermite_inverse_one(t, H, h, y[j])
    return out
