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

References
----------
.. [1] Iwata K, Kawasaki K, Shigesada N. J Theor Biol 2000;203:177-186.
.. [2] Barbolosi D, Benabdallah A, Hubert F, Verga F. Mathematical and numerical analysis for a
   model of growing metastatic tumors. Math Biosci 2009;218:1-14.
.. [3] Linz P. Analytical and Numerical Methods for Volterra Equations. SIAM 1985.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike, NDArray
from scipy.interpolate import BSpline, make_interp_spline

from metacascade.engines._kernels import volterra_trapezoid
from metacascade.errors import ParameterError, SimulationError
from metacascade.model.growth import GrowthLaw
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


def _interpolation_error(coarse_values: FloatArray, fine_values: FloatArray, horizon: float) -> FloatArray:
    """Relative error of the coarse quintic spline at every node of the twice-finer grid.

    Even nodes measure the error of the node values, odd (new) ones the interpolation error,
    which N(t), n_above and the density inherit between nodes. Returns the maximum over nodes
    for each trailing index (shape ``fine_values.shape[1:]``); a component that is zero at every
    node (an organ nothing reaches) has error 0.
    """
    n = coarse_values.shape[0] - 1
    coarse = make_interp_spline(np.linspace(0.0, horizon, n + 1), coarse_values, k=5)
    scale = np.abs(fine_values) + 1e-300
    error = np.max(np.abs(coarse(np.linspace(0.0, horizon, 2 * n + 1)) - fine_values) / scale, axis=0)
    return np.where(np.any(fine_values != 0, axis=0), error, 0.0)


def _refine(solve_on: Callable[[int], FloatArray], horizon: float, rtol: float, n_initial: int,
            n_max: int) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Double the grid until the extrapolated values converge to ``rtol`` (or ``n_max``).

    Returns the grid, the values on it (first axis: nodes) and the error estimate of
    :func:`_interpolation_error` per trailing index. Raises SimulationError if not finite.
    """
    cache: dict[int, FloatArray] = {}
    n = max(8, int(n_initial))
    previous = _extrapolated(solve_on, n, cache)
    while True:
        current = _extrapolated(solve_on, 2 * n, cache)
        errors = _interpolation_error(previous, current, horizon)
        n *= 2
        previous = current
        if float(np.max(errors, initial=0.0)) <= rtol or 2 * n > n_max:
            break
    if not np.all(np.isfinite(previous)):
        raise SimulationError("deterministic engine: the seeding rate overflowed; shorten horizon_days "
                              "or lower the shedding coefficient m")
    return np.linspace(0.0, horizon, n + 1), previous, errors


def _warn_inaccurate(error: float, rtol: float, n_max: int, stacklevel: int) -> None:
    """AccuracyWarning if refinement stopped at ``n_max`` before reaching ``rtol``."""
    if error > rtol:
        warnings.warn(f"deterministic engine: estimated relative error {error:.2g} exceeds rtol {rtol:g} at "
                      f"n_max = {n_max} steps; raise n_max or loosen rtol", AccuracyWarning,
                      stacklevel=stacklevel + 1)


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
    block = max(1, _BURDEN_BLOCK // max(nodes.size, 1))
    for start in range(0, positive.size, block):
        idx = positive[start:start + block]
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


@dataclass(frozen=True)
class DeterministicSolution:
    """Expected metastatic process of one patient on ``[0, horizon]`` days (model time).

    All methods broadcast their arguments; ``t`` is model time in days (``t = 0``: the primary
    has ``model.primary_size0`` cells), sizes are in cells.

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
    _spline: BSpline
    _cumulative: BSpline

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
        return np.where(np.isfinite(born_before), self.n_total(np.where(np.isfinite(born_before), born_before, 0.0)), 0.0)

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


def solve_deterministic(model: MetastasisModel, horizon: float, *, rtol: float = 1e-9,
                        n_initial: int = 128, n_max: int = 4096) -> DeterministicSolution:
    """Solve the Iwata transport equation for ``model`` on ``[0, horizon]`` days.

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

    Returns
    -------
    DeterministicSolution

    Raises
    ------
    SimulationError
        if the birth rate is not finite (numerical blow-up).
    """
    horizon = _check_horizon(horizon)
    _check_rtol(rtol)

    def solve_on(m: int) -> FloatArray:
        f, k = _forcing_and_kernel(model, horizon, m)
        return f if k is None else volterra_trapezoid(f, k, horizon / m)

    grid, values, errors = _refine(solve_on, horizon, rtol, n_initial, n_max)
    error = float(errors)
    _warn_inaccurate(error, rtol, n_max, stacklevel=2)
    spline = make_interp_spline(grid, values, k=5)
    return DeterministicSolution(model=model, horizon=horizon, grid=grid, birth_rate_grid=values,
                                 error_estimate=error, _spline=spline, _cumulative=spline.antiderivative())
