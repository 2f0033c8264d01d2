r"""Deterministic engine: the expected size distribution of metastases (Iwata 2000).

The density :math:`\rho(t, x)` of colonies of size :math:`x` obeys the transport equation

.. math:: \partial_t \rho + \partial_x\big(g(x)\rho\big) = 0, \qquad
          g(x_0)\rho(t, x_0) = d_p\big(X_p(t)\big) + \int_{x_0}^{\infty} d_c(x)\rho(t, x)\,dx,

with :math:`X_p` the primary's trajectory, :math:`g` the colonies' growth law, :math:`d` the
shedding rates and :math:`x_0` the founding size. Because colony growth is autonomous, every
colony born at time :math:`s` has size :math:`X_c(t-s)` at :math:`t` (characteristics), and the
birth rate :math:`B(t) = g(x_0)\rho(t, x_0)` obeys the renewal (Volterra) equation

.. math:: B(t) = d_p(X_p(t)) + \int_0^t d_c\big(X_c(t-s)\big)\,B(s)\,ds .

Everything else follows in closed form from :math:`B`:

- expected number of colonies :math:`N(t) = \int_0^t B`;
- number larger than :math:`x`: :math:`N(t, >x) = N\big(t - T(x)\big)`, :math:`T(x)` the time
  to grow from :math:`x_0` to :math:`x`;
- density :math:`\rho(t,x) = B\big(t - T(x)\big)/g(x)`;
- metastatic burden :math:`M(t) = \int_0^t X_c(t-s) B(s)\,ds`.

:math:`B` is computed on a uniform grid by the trapezoidal rule with three-level Richardson
extrapolation (global error O(h^6)), the grid is doubled until two successive answers agree to
``rtol``, and :math:`B` is then represented by a quintic spline (error O(h^6)) whose
antiderivative gives :math:`N`. The burden uses 3-point Gauss-Legendre on each grid panel.

With an establishment phase (``solve_deterministic(..., establishment=...)``) colonies seed only
after a random delay and then grow from the switch size; :math:`B` is then the *entry* rate onto
the deterministic track, computed exactly from the founding rate (section "delayed entry" below,
and :mod:`metacascade.engines.organs`).

References
----------
.. [1] Iwata K, Kawasaki K, Shigesada N. J Theor Biol 2000;203:177-186.
.. [2] Barbolosi D, Benabdallah A, Hubert F, Verga F. Mathematical and numerical analysis for a
   model of growing metastatic tumors. Math Biosci 2009;218:1-14.
.. [3] Linz P. Analytical and Numerical Methods for Volterra Equations. SIAM 1985.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import xarray as xr
from numba import njit
from numpy.typing import ArrayLike, NDArray
from scipy.interpolate import BSpline, PPoly, make_interp_spline

from metacascade.engines._kernels import (
    gompertz_burden_full_panels,
    volterra_lowrank_first_weight,
    volterra_trapezoid,
)
from metacascade.errors import ParameterError, SimulationError
from metacascade.model.establishment import Establishment
from metacascade.model.growth import Gompertz, GrowthLaw, TimeScaled
from metacascade.model.intensity import CumulativeRate, _hermite_one
from metacascade.model.metastasis import MetastasisModel

__all__ = ["AccuracyWarning", "DeterministicSolution", "solve_deterministic"]


class AccuracyWarning(UserWarning):
    """The engine stopped refining before reaching the requested accuracy."""


FloatArray = NDArray[np.float64]

_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(3)
_LEVELS = 3  # Richardson levels: h, h/2, h/4 -> O(h^6)
_BURDEN_BLOCK = 2**21  # times x quadrature nodes per block of the burden's kernel matrix (16 MiB)


def _check_horizon(horizon: object) -> float:
    """``horizon`` as a finite float > 0 (days), or ParameterError."""
    try:
        value = float(horizon)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ParameterError(f"horizon: got {horizon!r}, allowed a finite number of days > 0") from None
    if not (math.isfinite(value) and value > 0):
        raise ParameterError(f"horizon: got {horizon!r}, allowed a finite number of days > 0")
    return value


def _check_rtol(rtol: float) -> None:
    """ParameterError unless ``0 < rtol < 1``."""
    if not (0 < rtol < 1):
        raise ParameterError(f"rtol: got {rtol!r}, allowed (0, 1)")


def _forcing_and_kernel(model: MetastasisModel, horizon: float, m: int) -> tuple[FloatArray, FloatArray | None]:
    """Primary seeding rate f and colony kernel k (None without secondary seeding), m-step grid."""
    t = np.linspace(0.0, horizon, m + 1)
    f = np.asarray(model.primary_shedding.rate(model.primary_growth.solve(model.primary_size0, t)))
    if not model.secondary_seeding:
        return f, None
    return f, np.asarray(model.colony_shedding.rate(model.colony_growth.solve(model.colony_size0, t)))


def _extrapolated(solve_on: Callable[[int], FloatArray], n: int, cache: dict[int, FloatArray]) -> FloatArray:
    """Values at the nodes of the ``n``-step grid, Richardson-extrapolated over 3 levels.

    ``solve_on(m)`` returns the trapezoid solution on the ``m``-step grid (first axis: nodes);
    its error expands in even powers of h (Linz 1985, ch. 7), so eliminating h^2 and h^4 from
    the steps h, h/2, h/4 leaves O(h^6).
    """
    table = []
    for level in range(_LEVELS):
        m = n * 2**level
        if m not in cache:
            cache[m] = solve_on(m)
        table.append(cache[m][:: 2**level])
    for j in range(1, _LEVELS):
        c = 4.0**j
        table = [(c * table[i + 1] - table[i]) / (c - 1.0) for i in range(len(table) - 1)]
    return table[0]


def _interpolation_error(
    coarse_values: FloatArray, fine_values: FloatArray, horizon: float, floor: float = 0.0
) -> FloatArray:
    """Relative error of the coarse quintic spline at every node of the twice-finer grid.

    Even nodes measure the error of the node values, odd (new) ones the interpolation error,
    which N(t), n_above and the density inherit between nodes. Returns the maximum over nodes
    for each trailing index (shape ``fine_values.shape[1:]``); a component that is zero at every
    node (an organ nothing reaches) has error 0. With ``floor > 0`` errors are taken relative to
    at least ``floor`` times the component's largest value (for rates that are exactly 0 for a
    while and then start non-smoothly, as with delayed entry).
    """
    n = coarse_values.shape[0] - 1
    coarse = make_interp_spline(np.linspace(0.0, horizon, n + 1), coarse_values, k=5)
    scale = np.abs(fine_values) + 1e-300
    if floor > 0:
        scale = np.maximum(scale, floor * np.max(np.abs(fine_values), axis=0))
    error = np.max(np.abs(coarse(np.linspace(0.0, horizon, 2 * n + 1)) - fine_values) / scale, axis=0)
    return np.where(np.any(fine_values != 0, axis=0), error, 0.0)


def _refine(
    solve_on: Callable[[int], FloatArray], horizon: float, rtol: float, n_initial: int, n_max: int, floor: float = 0.0
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Double the grid until the extrapolated values converge to ``rtol`` (or ``n_max``).

    Returns the grid, the values on it (first axis: nodes) and the error estimate of
    :func:`_interpolation_error` (with ``floor``) per trailing index. Raises SimulationError if
    not finite.
    """
    cache: dict[int, FloatArray] = {}
    n = max(8, int(n_initial))
    previous = _extrapolated(solve_on, n, cache)
    while True:
        current = _extrapolated(solve_on, 2 * n, cache)
        errors = _interpolation_error(previous, current, horizon, floor)
        n *= 2
        previous = current
        if float(np.max(errors, initial=0.0)) <= rtol or 2 * n > n_max:
            break
    if not np.all(np.isfinite(previous)):
        raise SimulationError(
            "deterministic engine: the seeding rate overflowed; shorten horizon_days "
            "or lower the shedding coefficient m"
        )
    return np.linspace(0.0, horizon, n + 1), previous, errors


def _warn_inaccurate(error: float, rtol: float, n_max: int, stacklevel: int) -> None:
    """AccuracyWarning if refinement stopped at ``n_max`` before reaching ``rtol``."""
    if error > rtol:
        warnings.warn(
            f"deterministic engine: estimated relative error {error:.2g} exceeds rtol {rtol:g} at "
            f"n_max = {n_max} steps; raise n_max or loosen rtol",
            AccuracyWarning,
            stacklevel=stacklevel + 1,
        )


def _gompertz_of(law: GrowthLaw) -> tuple[float, float] | None:
    """(a, b) of a Gompertz law, also under time scalings (a times their factors); None otherwise."""
    factor = 1.0
    while isinstance(law, TimeScaled):
        factor *= law.factor
        law = law.law
    if isinstance(law, Gompertz):
        return law.a_per_day * factor, law.b_cells
    return None


def _burden(law: GrowthLaw, x0: float, grid: FloatArray, spline: BSpline, t: FloatArray) -> FloatArray:
    r"""Burden :math:`\int_0^t X_c(t-s)\,B(s)\,ds` at the times ``t`` (1-D, each <= grid[-1]).

    3-point Gauss-Legendre on every grid panel :math:`[s_p, s_{p+1}]` with :math:`s_{p+1} < t`
    and on the last, partial panel :math:`[s_K, t]`. ``spline`` may be vector-valued (trailing
    axes, e.g. one column per organ): ``B`` is evaluated once at all full-panel nodes and the
    sum over panels is one matrix product per block of times. Returns shape
    ``t.shape + spline_shape``.
    """
    mid, half = 0.5 * (grid[1:] + grid[:-1]), 0.5 * np.diff(grid)
    nodes = (mid[:, None] + half[:, None] * _GL_NODES[None, :]).ravel()  # (3 P,)
    weights = (half[:, None] * _GL_WEIGHTS[None, :]).ravel()
    values = np.asarray(spline(nodes))
    trailing = values.shape[1:]
    values = values.reshape(nodes.size, -1)
    out = np.zeros((t.size, values.shape[1]))
    positive = np.flatnonzero(t > 0)
    gompertz = _gompertz_of(law)
    if (
        gompertz is not None
        and positive.size
        and gompertz[0] * max(float(t.max()), float(grid[-1])) < 700.0
        and np.all(np.diff(grid) > 0)
    ):
        # the Gompertz law (the presets'): the full panels summed by a compiled loop over the
        # nodes before each time (the same terms as the kernel matrix below, several times faster)
        a, b = gompertz
        ti = t[positive]
        n_full = np.searchsorted(np.repeat(grid[1:], 3), ti, side="left")  # panels ending before t
        out[positive] = gompertz_burden_full_panels(
            ti, n_full, nodes, weights, np.ascontiguousarray(values), float(x0), a, b
        )
        last = np.searchsorted(grid, ti, side="left") - 1
        p_mid, p_half = 0.5 * (grid[last] + ti), 0.5 * (ti - grid[last])
        p_nodes = p_mid[:, None] + p_half[:, None] * _GL_NODES[None, :]
        p_values = np.asarray(spline(p_nodes.ravel())).reshape(ti.size, 3, -1)
        p_kernel = np.asarray(law.solve(x0, ti[:, None] - p_nodes)) * (p_half[:, None] * _GL_WEIGHTS[None, :])
        out[positive] += np.einsum("tg,tgj->tj", p_kernel, p_values)
        return out.reshape(t.shape + trailing)
    block = max(1, _BURDEN_BLOCK // max(nodes.size, 1))
    for start in range(0, positive.size, block):
        idx = positive[start : start + block]
        ti = t[idx]
        last = np.searchsorted(grid, ti, side="left") - 1  # s_K: the largest node < t
        full = np.repeat(grid[1:], 3)[None, :] < ti[:, None]
        age = np.where(full, ti[:, None] - nodes[None, :], 0.0)
        kernel = np.where(full, np.asarray(law.solve(x0, age)) * weights[None, :], 0.0)
        # The partial panel [s_K, t].
        p_mid, p_half = 0.5 * (grid[last] + ti), 0.5 * (ti - grid[last])
        p_nodes = p_mid[:, None] + p_half[:, None] * _GL_NODES[None, :]
        p_values = np.asarray(spline(p_nodes.ravel())).reshape(idx.size, 3, -1)
        p_kernel = np.asarray(law.solve(x0, ti[:, None] - p_nodes)) * (p_half[:, None] * _GL_WEIGHTS[None, :])
        out[idx] = kernel @ values + np.einsum("tg,tgj->tj", p_kernel, p_values)
    return out.reshape(t.shape + trailing)


# -- delayed entry: the establishment phase -------------------------------------------------------
#
# A colony founded at rate B spends the establishment time T (density f_T, piecewise constant:
# rho_k on [tau_k, tau_{k+1}], k = 0..K-1) in its birth-death phase, seeding nothing, and then
# follows the growth curve from N = entry_cells cells, seeding at k_N(a) = d_c(X_c(a; N)). The
# founding rate obeys the renewal system with the kernel k~ = f_T * k_N,
#
#     B(t) = f(t) p + M int_0^t k~(t - s) B(s) ds,                                    (1)
#
# and the entry rate is E = f_T * B (convolving (1) with f_T gives the renewal system of E, with
# forcing f_T * f and the same kernel). With c_k = rho_k - rho_{k-1} (rho_{-1} = rho_K = 0) and
# G^{(j)} the j-th antiderivative of g (0 for negative arguments), summation by parts gives
#
#     (f_T * g)(t) = sum_k c_k G^{(1)}(t - tau_k),
#
# so k~ is the smooth k_N convolved with a step density: continuous, with kinks (jumps c_k k_N(0)
# of its derivative) at every tau_k. The trapezoidal rule would leave an O(h^2) error at each
# kink that depends on where the kink falls between nodes, which Richardson extrapolation cannot
# remove; :meth:`_Entry.kernel` therefore integrates the kinks exactly against the piecewise-
# linear interpolant of B (product integration of the kink part of k~), leaving only errors
# that are smooth in h, and higher-order kink terms (O(h^3 k_N'(0) c_k) per kink). B is much
# smoother than E: f is smooth, and k~ * B has one derivative more than k~ (its curvature jumps
# by M c_k k_N(0) B(0) at tau_k, small beside f p in the organs the primary seeds), so the
# refinement of the undelayed engine applies to it. (In an organ reached only through colonies
# those jumps are all there is at first: its founding rate converges slowly where it is below
# ~1e-12 of its maximum, and may then hit n_max at a tight rtol.) E is then exact given B:
#
#     E(t) = sum_k c_k B^{(1)}(t - tau_k),   N_E(t) = int_0^t E = sum_k c_k B^{(2)}(t - tau_k),
#     E'(t) = sum_k c_k B(t - tau_k),
#
# evaluated at the nodes tau_0 + i dt of the table's own lattice: E is smooth between them
# (cubic Hermite from E and its one-sided derivatives; N_E quintic Hermite), and beyond tau_K,
# where E is as smooth as B, on every q-th lattice node (q dt about the step of B's grid) by
# quintic splines.

_CUMULATIVE_STEPS = 2**15  # steps of the tabulated cumulative of k_N over [0, horizon]
_ZERO_FLOOR = 1e-15  # delayed solve: errors relative to at least this fraction of a rate's maximum


def _check_establishment(establishment: object, model: MetastasisModel) -> Establishment | None:
    """``establishment`` checked against ``model``; None when absent or trivial (no delay)."""
    if establishment is None:
        return None
    if not isinstance(establishment, Establishment):
        raise ParameterError(
            f"establishment: got {type(establishment).__name__}, allowed an Establishment "
            f"(metacascade.model.establishment) or None"
        )
    if establishment.colony_growth != model.colony_growth:
        raise ParameterError(
            f"establishment.colony_growth: got {establishment.colony_growth!r}, must equal "
            f"model.colony_growth {model.colony_growth!r}"
        )
    if float(establishment.colony_size0) != model.colony_size0:
        raise ParameterError(
            f"establishment.colony_size0: got {establishment.colony_size0!r}, must equal "
            f"model.colony_size0 {model.colony_size0!r}"
        )
    return None if establishment.trivial else establishment


@njit(cache=True)
def _step_convolution(
    t: np.ndarray, H: np.ndarray, h: np.ndarray, s: np.ndarray, nodes: np.ndarray, weights: np.ndarray
) -> np.ndarray:  # pragma: no cover - jit
    r""":math:`\sum_k w_k G(s_i - \tau_k)` at every ``s_i``, ``G`` the tabulated cumulative (0 below 0).

    ``nodes`` (:math:`\tau_k`) ascending; ``t, H, h`` the table of
    :class:`~metacascade.model.intensity.CumulativeRate`.
    """
    out = np.empty(s.size)
    for i in range(s.size):
        acc = 0.0
        for k in range(nodes.size):
            a = s[i] - nodes[k]
            if a <= 0.0:
                break
            acc += weights[k] * _hermite_one(t, H, h, a)
        out[i] = acc
    return out


@njit(cache=True, fastmath={"reassoc", "contract"})
def _lattice_sums(c_reversed: np.ndarray, samples: np.ndarray, index: np.ndarray) -> np.ndarray:  # pragma: no cover
    r"""``out[r, j]`` = :math:`\sum_{k=0}^{\min(i-1, K)} c_k\,` ``samples[j, i - k]``, ``i = index[r]``.

    ``c_reversed`` is :math:`c_K, \dots, c_0`, so that both factors run with unit stride.
    """
    big_k = c_reversed.size - 1
    n = samples.shape[0]
    out = np.empty((index.size, n))
    for r in range(index.size):
        i = index[r]
        lo = max(1, i - big_k)
        for j in range(n):
            row = samples[j]
            acc = 0.0
            for u in range(lo, i + 1):  # u = i - k
                acc += c_reversed[big_k - i + u] * row[u]
            out[r, j] = acc
    return out


def _primary_rate(model: MetastasisModel, t: FloatArray) -> FloatArray:
    """Seeding rate of the primary (cells shed per day) at the times ``t``."""
    return np.asarray(model.primary_shedding.rate(model.primary_growth.solve(model.primary_size0, t)))


def _hermite_cells(x: FloatArray, y: FloatArray, dy_right: FloatArray, dy_left: FloatArray) -> FloatArray:
    """Power-basis coefficients (6, cells, n) of the cubic Hermite interpolant on every cell.

    ``dy_right[i]`` is the derivative at ``x[i]`` from the right, ``dy_left[i]`` from the left.
    """
    w = np.diff(x)[:, None]
    slope = (y[1:] - y[:-1]) / w
    d0, d1 = dy_right[:-1], dy_left[1:]
    c = np.zeros((6, *y[:-1].shape))
    c[2] = (d0 + d1 - 2.0 * slope) / w**2
    c[3] = (3.0 * slope - 2.0 * d0 - d1) / w
    c[4] = d0
    c[5] = y[:-1]
    return c


def _quintic_hermite_cells(
    x: FloatArray, y: FloatArray, dy: FloatArray, ddy_right: FloatArray, ddy_left: FloatArray
) -> FloatArray:
    """Power-basis coefficients (6, cells, n) of the quintic Hermite interpolant on every cell.

    Values and first derivatives are continuous; ``ddy_right[i]`` and ``ddy_left[i]`` are the
    second derivatives at ``x[i]`` from the right and from the left.
    """
    w = np.diff(x)[:, None]
    y0, y1, d0, d1, a0, a1 = y[:-1], y[1:], dy[:-1], dy[1:], ddy_right[:-1], ddy_left[1:]
    r0 = y1 - (y0 + d0 * w + 0.5 * a0 * w**2)
    r1 = d1 - (d0 + a0 * w)
    r2 = a1 - a0
    c = np.empty((6, *y0.shape))
    c[0] = (6.0 * r0 - 3.0 * r1 * w + 0.5 * r2 * w**2) / w**5
    c[1] = (-15.0 * r0 + 7.0 * r1 * w - r2 * w**2) / w**4
    c[2] = (10.0 * r0 - 4.0 * r1 * w + 0.5 * r2 * w**2) / w**3
    c[3] = 0.5 * a0
    c[4] = d0
    c[5] = y0
    return c


def _spline_cells(x: FloatArray, y: FloatArray) -> FloatArray:
    """Power-basis coefficients (6, cells, n) of the quintic interpolating spline through ``(x, y)``."""
    spline = make_interp_spline(x, y, k=5)
    return np.stack([spline(x[:-1], nu=5 - j) / math.factorial(5 - j) for j in range(6)])


class _Entry:
    """Kernel of the founding rate and the entry curves of the hybrid process (see above)."""

    def __init__(self, model: MetastasisModel, establishment: Establishment, horizon: float) -> None:
        nodes, density = establishment.step_density()
        self.nodes = np.ascontiguousarray(nodes, dtype=float)
        self.weights = np.diff(density, prepend=0.0, append=0.0)  # c_k = rho_k - rho_{k-1}, k = 0..K
        self.step = float(nodes[-1] - nodes[0]) / (nodes.size - 1)  # the table's equal steps
        self.horizon = horizon
        self.colony: CumulativeRate | None = None
        self.entry_rate = 0.0
        if model.secondary_seeding:
            size = establishment.entry_cells

            def colony(a: FloatArray) -> FloatArray:
                return model.colony_shedding.rate(model.colony_growth.solve(size, a))

            self.colony = CumulativeRate.build(colony, horizon, _CUMULATIVE_STEPS)
            self.entry_rate = float(self.colony.h[0])  # k_N(0)
        self._smooth: dict[int, FloatArray] = {}

    def _kernel_at_nodes(self, m: int) -> FloatArray:
        """:math:`\\tilde k(i h)`, ``h = horizon / m``; on a grid whose half is known, only the new nodes."""
        if m in self._smooth:
            return self._smooth[m]
        assert self.colony is not None
        h = self.horizon / m
        half = self._smooth.get(m // 2) if m % 2 == 0 else None
        index = np.arange(1, m + 1, 2) if half is not None else np.arange(m + 1)
        table = self.colony
        values = _step_convolution(table.t, table.H, table.h, index * h, self.nodes, self.weights)
        if half is not None:
            merged = np.empty(m + 1)
            merged[0::2], merged[1::2] = half, values
            values = merged
        self._smooth[m] = values
        return values

    def kernel(self, m: int) -> tuple[FloatArray, FloatArray]:
        """Trapezoid weights ``k`` (divided by h) and ``k_first`` of
        :func:`~metacascade.engines._kernels.volterra_lowrank_first_weight`.

        The kink of :math:`\\tilde k` at :math:`\\tau` (derivative jump :math:`J = c_k k_N(0)`)
        between the nodes ``n h`` and ``(n+1) h`` (:math:`\\tau = (n + \\sigma) h`) is integrated
        exactly against the two hat functions there: ``k[n] += J h (1 - sigma)^3 / 6`` and
        ``k[n+1] += J h sigma^3 / 6`` (the hat average minus the point value of
        :math:`J (a - \\tau)_+`). The node ``s = 0`` of the history integral has half a hat,
        reaching into ``a`` in ``(t_i - h, t_i]``: its weight is ``k(t_i) / 2`` plus the
        corrections of the kinks on that side only; the node ``s = t_i`` (``a`` in ``[0, h)``,
        weight ``h k[0] / 2``) gets twice its correction.
        """
        h = self.horizon / m
        smooth = self._kernel_at_nodes(m)
        jump = self.weights * self.entry_rate
        position = self.nodes / h
        below = np.floor(position).astype(np.int64)
        sigma = position - below
        inside = below <= m
        right = np.bincount(
            below[inside], weights=(h / 6.0) * jump[inside] * (1.0 - sigma[inside]) ** 3, minlength=m + 1
        )[: m + 1]
        inside = below + 1 <= m
        left = np.bincount(below[inside] + 1, weights=(h / 6.0) * jump[inside] * sigma[inside] ** 3, minlength=m + 1)[
            : m + 1
        ]
        k = smooth + left + right
        k[0] = smooth[0] + 2.0 * right[0]
        return k, 0.5 * smooth + left

    def curves(self, founding: BSpline, step: float) -> tuple[FloatArray, FloatArray, PPoly, PPoly]:
        """Breakpoints, entry rate there, and the entry rate and its integral as piecewise polynomials.

        ``founding`` is the quintic spline of the founding rate, one column per organ, on a grid
        of step ``step``; the polynomials cover ``[0, horizon]`` (0 before :math:`\\tau_0`) with
        a trailing organ axis.
        """
        horizon, t0, dt = self.horizon, float(self.nodes[0]), self.step
        big_k = self.nodes.size - 1
        n = founding.c.shape[1]
        if horizon - t0 <= 1e-9 * dt:  # nothing enters before the horizon
            zero = np.zeros((6, 1, n))
            return np.array([0.0, horizon]), np.zeros((2, n)), PPoly(zero, [0.0, horizon]), PPoly(zero, [0.0, horizon])
        last = int(np.floor((horizon - t0) / dt))  # the last lattice node t0 + i dt <= horizon
        while last > 0 and t0 + last * dt > horizon:
            last -= 1
        while t0 + (last + 1) * dt <= horizon:
            last += 1
        off_lattice = horizon - (t0 + last * dt) > 1e-9 * dt  # then the horizon is a node of its own
        offsets = np.arange(last + 1) * dt
        functions = (founding, founding.antiderivative(1), founding.antiderivative(2))  # B, B^(1), B^(2)
        samples = [np.ascontiguousarray(np.asarray(g(offsets)).T) for g in functions]  # (n, last + 1) each
        c_reversed = np.ascontiguousarray(self.weights[::-1])
        ages = horizon - self.nodes[self.nodes < horizon]

        def at_horizon(which: int) -> FloatArray:  # sum_k c_k G(horizon - tau_k), G = functions[which]
            return np.asarray(self.weights[: ages.size] @ np.asarray(functions[which](ages)), dtype=np.float64)

        # Hermite cells on every lattice node up to tau_K; beyond, every stride-th node (about
        # the step of the founding rate's grid) and a quintic spline, if it has >= 6 nodes.
        stride = max(1, int(np.floor(step / dt)))
        hermite_last = min(big_k, last)
        if (last - hermite_last) // stride + 1 + off_lattice < 6:
            hermite_last = last
        index = np.arange(hermite_last + 1)
        x = np.asarray(t0 + index * dt, dtype=np.float64)
        d_left, e, cum = (_lattice_sums(c_reversed, sample, index) for sample in samples)
        if off_lattice and hermite_last == last:  # the last Hermite cell ends at the horizon
            x = np.append(x, horizon)
            d_left, e, cum = (np.vstack((a, at_horizon(j))) for j, a in enumerate((d_left, e, cum)))
        d_right = d_left.copy()
        kinks = min(big_k, hermite_last)
        d_right[: kinks + 1] += self.weights[: kinks + 1, None] * samples[0][:, 0][None, :]  # + c_i B(0)
        pieces_e = [_hermite_cells(x, e, d_right, d_left)]
        pieces_n = [_quintic_hermite_cells(x, cum, e, d_right, d_left)]
        if hermite_last < last:  # the spline beyond tau_K; its integral continues that of the Hermite cells
            tail = np.arange(hermite_last, last + 1, stride)
            x_tail = np.asarray(t0 + tail * dt, dtype=np.float64)
            e_tail = _lattice_sums(c_reversed, samples[1], tail)
            if off_lattice:
                x_tail = np.append(x_tail, horizon)
                e_tail = np.vstack((e_tail, at_horizon(1)))
            spline_e = _spline_cells(x_tail, e_tail)
            integral = PPoly(spline_e, x_tail).antiderivative().c  # degree 6, 0 at x_tail[0]
            integral[-1] += cum[-1]
            pieces_e.append(spline_e)
            pieces_n.append(integral)
            x, e = np.concatenate((x, x_tail[1:])), np.vstack((e, e_tail[1:]))
        if t0 > 0.0:
            pieces_e.insert(0, np.zeros((6, 1, n)))
            pieces_n.insert(0, np.zeros((6, 1, n)))
            x, e = np.concatenate(([0.0], x)), np.vstack((np.zeros((1, n)), e))
        x[-1] = horizon
        degree = max(piece.shape[0] for piece in pieces_n)
        pieces_n = [
            np.concatenate((np.zeros((degree - piece.shape[0], *piece.shape[1:])), piece)) for piece in pieces_n
        ]
        return x, e, PPoly(np.concatenate(pieces_e, axis=1), x), PPoly(np.concatenate(pieces_n, axis=1), x)


def _solve_entry(
    model: MetastasisModel,
    establishment: Establishment,
    horizon: float,
    p: FloatArray,
    factors: tuple[FloatArray, FloatArray] | None,
    rtol: float,
    n_initial: int,
    n_max: int,
) -> tuple[FloatArray, FloatArray, PPoly, PPoly, FloatArray]:
    """Founding rates by the refinement of (1), then the entry curves (see above).

    Returns the breakpoints, the entry rates there (nodes x organs), the entry rates and their
    integrals as piecewise polynomials (trailing organ axis) and the error estimate per organ
    (that of the founding rates, to which the entry curves add ~1e-10).
    """
    entry = _Entry(model, establishment, horizon)

    def solve_on(m: int) -> FloatArray:
        f = _primary_rate(model, np.linspace(0.0, horizon, m + 1))
        if factors is None or entry.colony is None:
            return f[:, None] * p[None, :]
        k, k_first = entry.kernel(m)
        u, v = factors
        return volterra_lowrank_first_weight(f, p, k, k_first, u, v, horizon / m)

    grid, founding, errors = _refine(solve_on, horizon, rtol, n_initial, n_max, floor=_ZERO_FLOOR)
    spline = make_interp_spline(grid, founding, k=5)
    breakpoints, values, rate, cumulative = entry.curves(spline, float(grid[1] - grid[0]))
    return breakpoints, values, rate, cumulative, errors


@dataclass(frozen=True)
class DeterministicSolution:
    """Expected metastatic process of one patient on ``[0, horizon]`` days (model time).

    All methods broadcast their arguments; ``t`` is model time in days (``t = 0``: the primary
    has ``model.primary_size0`` cells), sizes are in cells. With delayed entry
    (``solve_deterministic(..., establishment=...)``) the colonies are those that have entered
    the deterministic track at ``model.colony_size0`` (the switch size) cells, the birth rate is
    their entry rate and ``grid`` holds the breakpoints of its piecewise polynomial.

    Attributes
    ----------
    model : MetastasisModel
    horizon : float
        last time (days) the solution covers.
    grid : ndarray
        the time grid on which the birth rate was computed.
    birth_rate_grid : ndarray
        the birth rate of new colonies (per day) on ``grid``.
    error_estimate : float
        estimated maximum relative error of the birth rate between and at the nodes (the
        spline of the next-coarser grid against the values of the finest grid).
    """

    model: MetastasisModel
    horizon: float
    grid: FloatArray
    birth_rate_grid: FloatArray
    error_estimate: float
    _spline: BSpline | PPoly  # PPoly with delayed entry (kinks at the establishment table's nodes)
    _cumulative: BSpline | PPoly

    # -- basic quantities -------------------------------------------------------------------
    def _time(self, t: ArrayLike) -> FloatArray:
        t = np.asarray(t, dtype=float)
        if np.any(~np.isfinite(t)) or np.any(t > self.horizon * (1 + 1e-12)):
            raise ParameterError(f"t: times must be finite and <= horizon {self.horizon:g} days")
        return t

    def primary_size(self, t: ArrayLike) -> FloatArray:
        """Size of the primary (cells)."""
        return self.model.primary_growth.solve(self.model.primary_size0, self._time(t))

    def birth_rate(self, t: ArrayLike) -> FloatArray:
        """Rate at which new colonies are founded (colonies/day); 0 for ``t < 0``."""
        t = self._time(t)
        return np.where(t < 0, 0.0, self._spline(np.clip(t, 0.0, self.horizon)))

    def n_total(self, t: ArrayLike) -> FloatArray:
        """Expected number of colonies founded up to ``t`` (all sizes)."""
        t = self._time(t)
        return np.where(t <= 0, 0.0, self._cumulative(np.clip(t, 0.0, self.horizon)))

    def age_at_size(self, x: ArrayLike) -> FloatArray:
        """Age (days) at which a colony reaches ``x`` cells; 0 below the founding size."""
        x = np.asarray(x, dtype=float)
        if np.any(~(x > 0)):
            raise ParameterError("x: sizes must be positive numbers of cells")
        law, x0 = self.model.colony_growth, self.model.colony_size0
        return np.where(x <= x0, 0.0, law.time_to_size(x0, np.maximum(x, x0)))

    def n_above(self, t: ArrayLike, x: ArrayLike) -> FloatArray:
        """Expected number of colonies larger than ``x`` cells at time ``t`` (broadcast)."""
        t = self._time(t)
        age = self.age_at_size(x)
        born_before = t - age  # colonies born before this are larger than x
        finite = np.isfinite(born_before)
        return np.where(finite, self.n_total(np.where(finite, born_before, 0.0)), 0.0)

    def density(self, t: ArrayLike, x: ArrayLike) -> FloatArray:
        """Expected density of colonies at size ``x`` (colonies per cell) at time ``t``."""
        t = self._time(t)
        x = np.asarray(x, dtype=float)
        age = self.age_at_size(x)
        born = t - age
        g = np.asarray(self.model.colony_growth.rate(x))
        inside = np.isfinite(born) & (born >= 0) & (x >= self.model.colony_size0) & (g > 0)
        b = self.birth_rate(np.where(inside, born, 0.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(inside, b / np.where(g > 0, g, 1.0), 0.0)

    def burden(self, t: ArrayLike) -> FloatArray:
        """Expected total number of cells in metastatic colonies at ``t``."""
        t = self._time(t)
        out = _burden(self.model.colony_growth, self.model.colony_size0, self.grid, self._spline, t.ravel())
        return out.reshape(t.shape)[()]

    # -- tables -----------------------------------------------------------------------------
    def tabulate(self, times: ArrayLike, sizes: ArrayLike, *, time_offset: float = 0.0) -> xr.Dataset:
        """All quantities at ``times`` (model days) x ``sizes`` (cells) as an xarray Dataset.

        ``time_offset`` is subtracted from the reported time coordinate (e.g. the model time
        of diagnosis, so that the table reads in days since diagnosis).
        """
        times = np.atleast_1d(np.asarray(times, dtype=float))
        sizes = np.atleast_1d(np.asarray(sizes, dtype=float))
        tt, xx = np.meshgrid(times, sizes, indexing="ij")
        ds = xr.Dataset(
            {
                "primary_cells": ("time_days", np.atleast_1d(self.primary_size(times))),
                "seeding_rate_per_day": ("time_days", np.atleast_1d(self.birth_rate(times))),
                "n_metastases": ("time_days", np.atleast_1d(self.n_total(times))),
                "burden_cells": ("time_days", np.atleast_1d(self.burden(times))),
                "n_above": (("time_days", "size_cells"), self.n_above(tt, xx)),
                "density_per_cell": (("time_days", "size_cells"), self.density(tt, xx)),
            },
            coords={"time_days": times - time_offset, "size_cells": sizes},
        )
        ds["n_above"].attrs["description"] = "expected number of metastases larger than size_cells"
        ds["density_per_cell"].attrs["description"] = "expected size density of metastases (1/cell)"
        ds.attrs.update(engine="deterministic", error_estimate=self.error_estimate)
        return ds


def solve_deterministic(
    model: MetastasisModel,
    horizon: float,
    *,
    rtol: float = 1e-9,
    n_initial: int = 128,
    n_max: int = 4096,
    establishment: Establishment | None = None,
) -> DeterministicSolution:
    r"""Solve the Iwata transport equation for ``model`` on ``[0, horizon]`` days.

    Parameters
    ----------
    model : MetastasisModel
    horizon : float
        final model time (days, > 0).
    rtol : float
        target relative accuracy of the birth rate; the grid is doubled until the quintic
        spline of the coarser of two successive grids agrees with the finer grid's values at
        all of its nodes to ``rtol`` (relative), or ``n_max`` steps is reached.
    n_initial, n_max : int
        first and largest number of grid steps.
    establishment : Establishment, optional
        the law of the birth-death phase of new colonies (same ``colony_growth`` and
        ``colony_size0`` as ``model``). Then the solution is the expectation of the hybrid
        process: a colony founded at rate :math:`B` seeds nothing for its establishment time
        :math:`T`, then follows the growth curve from ``establishment.entry_cells`` :math:`N`
        cells. Its *entry* rate :math:`E = f_T * B` obeys

        .. math:: E(t) = (f_T * f)(t) + \int_0^t (f_T * k_N)(t-s)\,E(s)\,ds,

        :math:`f` the primary's seeding rate, :math:`k_N(a) = d_c(X_c(a; N))`, :math:`f_T`
        the (piecewise-constant) density of :math:`T`; the returned solution describes the
        entered colonies: its ``model`` is ``model`` with ``colony_size0 = N``, its birth rate
        is :math:`E`, ``n_total`` counts the colonies that have reached :math:`N` cells,
        ``n_above`` (for sizes >= :math:`N`), ``density`` and ``burden`` refer to them. None
        or a trivial law (``switch_cells <= colony_size0``) gives the undelayed solution.

    Returns
    -------
    DeterministicSolution

    Raises
    ------
    ParameterError
        for an invalid ``horizon``, ``rtol`` or ``establishment``.
    SimulationError
        if the birth rate is not finite (numerical blow-up).
    """
    horizon = _check_horizon(horizon)
    _check_rtol(rtol)
    delay = _check_establishment(establishment, model)
    if delay is not None:
        one = np.ones((1, 1))
        grid, values, rate, cumulative, errors = _solve_entry(
            model, delay, horizon, np.ones(1), (one, one) if model.secondary_seeding else None, rtol, n_initial, n_max
        )
        error = float(errors[0])
        _warn_inaccurate(error, rtol, n_max, stacklevel=2)
        return DeterministicSolution(
            model=dataclasses.replace(model, colony_size0=delay.entry_cells),
            horizon=horizon,
            grid=grid,
            birth_rate_grid=values[:, 0],
            error_estimate=error,
            _spline=PPoly(rate.c[..., 0], rate.x),
            _cumulative=PPoly(cumulative.c[..., 0], cumulative.x),
        )

    def solve_on(m: int) -> FloatArray:
        f, k = _forcing_and_kernel(model, horizon, m)
        return f if k is None else volterra_trapezoid(f, k, horizon / m)

    grid, values, errors = _refine(solve_on, horizon, rtol, n_initial, n_max)
    error = float(errors)
    _warn_inaccurate(error, rtol, n_max, stacklevel=2)
    spline = make_interp_spline(grid, values, k=5)
    return DeterministicSolution(
        model=model,
        horizon=horizon,
        grid=grid,
        birth_rate_grid=values,
        error_estimate=error,
        _spline=spline,
        _cumulative=spline.antiderivative(),
    )
