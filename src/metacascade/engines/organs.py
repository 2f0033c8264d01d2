r"""Organ-resolved deterministic engine: the Iwata renewal equation with colonies in ``n`` organs.

A cell shed by the primary founds a colony in organ :math:`j` with probability :math:`p_j`; a
cell shed by a colony in organ :math:`i` founds one in organ :math:`j` with probability
:math:`R_{ij}`. With :math:`f(t) = d_p(X_p(t))` the primary's shedding rate and
:math:`k(\tau) = d_c(X_c(\tau))` that of a colony of age :math:`\tau` (every colony grows by
the same law, whatever its organ), the birth rates :math:`b(t) \in \mathbb{R}^n` of new
colonies per organ obey the renewal system

.. math:: b(t) = f(t)\,p + M \int_0^t k(t-s)\,b(s)\,ds, \qquad M = R^\mathsf{T},

(without ``model.secondary_seeding`` the integral is absent). ``M`` is passed in factored form
:math:`M = U V`, :math:`U \in \mathbb{R}^{n\times q}`, :math:`V \in \mathbb{R}^{q\times n}`:
with shed cells reaching ``q`` drainage pools (:math:`V_{l i}`: fraction of the cells of organ
:math:`i` that drain to pool :math:`l`) and seeding organ :math:`j` from pool :math:`l` with
probability :math:`U_{j l}`, the history sum costs O(N^2 q) instead of O(N^2 n^2). The generic
case is :math:`U = M`, :math:`V = I`.

Each organ is then an Iwata process of its own (Iwata 2000, eqs. 3-6): the colonies of organ
:math:`j` larger than :math:`x` at :math:`t` are those born before :math:`t - T(x)`, their
density is :math:`b_j(t - T(x))/g(x)` and their burden :math:`\int_0^t X_c(t-s) b_j(s)\,ds`.
The numerics are those of :mod:`metacascade.engines.deterministic`: trapezoidal rule
(:func:`~metacascade.engines._kernels.volterra_trapezoid_lowrank`), three-level Richardson
extrapolation (O(h^6)), grid doubling until the quintic spline of every organ's birth rate
agrees with the next grid to ``rtol`` (relative, per organ, over organs reached at all), and
one :class:`~metacascade.engines.deterministic.DeterministicSolution` per organ built on that
organ's spline.

Delayed entry (``establishment``). With an
:class:`~metacascade.model.establishment.Establishment` the engine computes the expectation of
the hybrid process of the stochastic engine: a colony founded at :math:`s` first spends the
random time :math:`T` (density :math:`f_T`, piecewise constant: :math:`\rho_k` on the table's
steps :math:`[\tau_k, \tau_{k+1}]`) in its birth-death phase, during which it seeds nothing,
and then grows deterministically from :math:`N` = ``entry_cells`` cells, seeding at
:math:`k_N(a) = d_c(X_c(a; N))` at age :math:`a` after entry. The founding rates obey

.. math:: b(t) = f(t)\,p + M \int_0^t \tilde k(t-s)\,b(s)\,ds, \qquad \tilde k = f_T * k_N,

and the entry rates :math:`e = f_T * b` (colonies reaching :math:`N` cells per day) obey the
same system with the forcing :math:`\tilde f = f_T * f`,

.. math:: e(t) = \tilde f(t)\,p + M \int_0^t \tilde k(t-s)\,e(s)\,ds,

where, with :math:`c_k = \rho_k - \rho_{k-1}` and :math:`G` the integral of :math:`g`
(0 for negative arguments), :math:`(f_T * g)(t) = \sum_k \rho_k [G(t-\tau_k) - G(t-\tau_{k+1})]
= \sum_k c_k G(t - \tau_k)`. :math:`\tilde f` and :math:`\tilde k` are continuous but kinked at
every :math:`\tau_k`, which defeats Richardson extrapolation of :math:`e` itself; the engine
therefore refines :math:`b` (smooth forcing; the slope jumps of :math:`\tilde k` are
integrated exactly against the hat functions of the trapezoidal rule) and obtains :math:`e`,
:math:`\int e` and :math:`e'` from :math:`b`'s spline as the sums above, exactly at the nodes
:math:`\tau_0 + i\,\Delta\tau` of the table's lattice, with Hermite interpolation between
them (see the section "delayed entry" of :mod:`metacascade.engines.deterministic`). The solution then describes the
colonies on the deterministic track: its ``model`` is ``model`` with
``colony_size0 = entry_cells``; ``birth_rate`` is :math:`e`; ``n_total(t)`` =
:math:`\int_0^t e` counts the colonies that have reached the switch size; ``n_above(t, x)`` =
``n_total(t - T(N -> x))`` for :math:`x \ge N` (colonies still in their birth-death phase are
not counted); ``density`` is :math:`e(t - T(x))/g(x)` and ``burden``
:math:`\int_0^t X_c(t-s; N)\,e(s)\,ds`. The error estimate is that of the founding rates.

References
----------
.. [1] Iwata K, Kawasaki K, Shigesada N. J Theor Biol 2000;203:177-186.
.. [2] Linz P. Analytical and Numerical Methods for Volterra Equations. SIAM 1985.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike, NDArray
from scipy.interpolate import BSpline, PPoly, make_interp_spline

from metacascade.engines._kernels import volterra_trapezoid_lowrank
from metacascade.engines.deterministic import (
    AccuracyWarning,
    DeterministicSolution,
    _burden,
    _check_establishment,
    _check_horizon,
    _check_rtol,
    _forcing_and_kernel,
    _refine,
    _solve_entry,
    _warn_inaccurate,
)
from metacascade.errors import ParameterError
from metacascade.model.establishment import Establishment
from metacascade.model.metastasis import MetastasisModel

__all__ = ["AccuracyWarning", "OrganSolution", "solve_organs"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class OrganSolution:
    """Expected metastatic process of one patient, organ by organ, on ``[0, horizon]`` days.

    ``t`` is model time in days (``t = 0``: the primary has ``model.primary_size0`` cells),
    sizes are in cells. The vectorised methods broadcast their arguments and append a trailing
    organ axis (in the order of ``organs``). With delayed entry (``solve_organs(...,
    establishment=...)``) everything refers to the colonies that have entered the deterministic
    track at ``model.colony_size0`` cells, and ``grid`` holds the breakpoints of the entry rates
    (see the module docstring).

    Attributes
    ----------
    model : MetastasisModel
    organs : tuple of str
    horizon : float
        last time (days) the solution covers.
    grid : ndarray, shape (N,)
        the time grid on which the birth rates were computed.
    birth_rate_grid : ndarray, shape (N, n)
        birth rate of new colonies in each organ (per day) on ``grid``.
    error_estimate : float
        estimated maximum relative error of any organ's birth rate (see
        :class:`~metacascade.engines.deterministic.DeterministicSolution`).
    per_organ : dict of str to DeterministicSolution
        the colonies of each organ (its ``error_estimate`` is that organ's own).
    total : DeterministicSolution
        the colonies of all organs together (birth rate :math:`\\sum_j b_j`).
    """

    model: MetastasisModel
    organs: tuple[str, ...]
    horizon: float
    grid: FloatArray
    birth_rate_grid: FloatArray
    error_estimate: float
    per_organ: dict[str, DeterministicSolution]
    total: DeterministicSolution
    _spline: BSpline | PPoly  # vector-valued: one column per organ (PPoly with delayed entry)

    def _stack(self, method: str, *args: ArrayLike) -> FloatArray:
        """``per_organ[j].method(*args)`` for every organ, stacked on a trailing axis."""
        return np.stack([getattr(sol, method)(*args) for sol in self.per_organ.values()], axis=-1)

    def primary_size(self, t: ArrayLike) -> FloatArray:
        """Size of the primary (cells); shape of ``t`` (no organ axis: there is one primary)."""
        return self.total.primary_size(t)

    def birth_rate(self, t: ArrayLike) -> FloatArray:
        """Rate at which new colonies are founded in each organ (colonies/day), ``t.shape + (n,)``."""
        return self._stack("birth_rate", t)

    def n_total(self, t: ArrayLike) -> FloatArray:
        """Expected number of colonies founded in each organ up to ``t``, ``t.shape + (n,)``."""
        return self._stack("n_total", t)

    def n_above(self, t: ArrayLike, x: ArrayLike) -> FloatArray:
        """Expected number of colonies larger than ``x`` cells at ``t`` per organ (broadcast + (n,))."""
        return self._stack("n_above", t, x)

    def density(self, t: ArrayLike, x: ArrayLike) -> FloatArray:
        """Expected size density (colonies per cell) at ``x`` cells and time ``t`` per organ."""
        return self._stack("density", t, x)

    def burden(self, t: ArrayLike) -> FloatArray:
        """Expected number of cells in the colonies of each organ at ``t``, ``t.shape + (n,)``.

        The same panel-wise Gauss-Legendre rule as
        :meth:`DeterministicSolution.burden <metacascade.engines.deterministic.DeterministicSolution.burden>`,
        with the colony-size kernel shared by all organs (one matrix product).
        """
        t = self.total._time(t)
        out = _burden(self.model.colony_growth, self.model.colony_size0, self.grid, self._spline, t.ravel())
        return out.reshape((*t.shape, len(self.organs)))

    def tabulate(self, times: ArrayLike, sizes: ArrayLike, *, time_offset: float = 0.0) -> xr.Dataset:
        """All quantities at ``times`` (model days) x ``organ`` x ``sizes`` (cells) as a Dataset.

        Variables per organ: ``seeding_rate_per_day``, ``n_metastases``, ``burden_cells``
        (``time_days`` x ``organ``), ``n_above`` and ``density_per_cell`` (``time_days`` x
        ``organ`` x ``size_cells``); their sums over organs as ``*_total`` (without the organ
        axis); ``primary_cells`` (``time_days``). ``time_offset`` is subtracted from the time
        coordinate (e.g. the model time of diagnosis).
        """
        times = np.atleast_1d(np.asarray(times, dtype=float))
        sizes = np.atleast_1d(np.asarray(sizes, dtype=float))
        tt, xx = np.meshgrid(times, sizes, indexing="ij")
        per_time = {
            "seeding_rate_per_day": self.birth_rate(times),
            "n_metastases": self.n_total(times),
            "burden_cells": self.burden(times),
        }
        per_size = {  # (time, size, organ) -> (time, organ, size)
            "n_above": np.moveaxis(self.n_above(tt, xx), -1, 1),
            "density_per_cell": np.moveaxis(self.density(tt, xx), -1, 1),
        }
        data: dict[str, tuple[Any, ...]] = {"primary_cells": ("time_days", np.atleast_1d(self.primary_size(times)))}
        for name, value in per_time.items():
            data[name] = (("time_days", "organ"), value)
            data[f"{name}_total"] = ("time_days", value.sum(axis=-1))
        for name, value in per_size.items():
            data[name] = (("time_days", "organ", "size_cells"), value)
            data[f"{name}_total"] = (("time_days", "size_cells"), value.sum(axis=1))
        ds = xr.Dataset(
            data, coords={"time_days": times - time_offset, "organ": list(self.organs), "size_cells": sizes}
        )
        ds["n_above"].attrs["description"] = "expected number of metastases larger than size_cells, per organ"
        ds["density_per_cell"].attrs["description"] = "expected size density of metastases (1/cell), per organ"
        for name in (*per_time, *per_size):
            ds[f"{name}_total"].attrs["description"] = f"{name} summed over organs"
        ds.attrs.update(engine="deterministic-organs", error_estimate=self.error_estimate)
        return ds


# -- input checks ---------------------------------------------------------------------------------


def _check_organs(organs: Sequence[str]) -> tuple[str, ...]:
    """Organ names as a tuple: a non-empty sequence of unique, non-empty strings."""
    if isinstance(organs, str) or not isinstance(organs, Sequence):
        raise ParameterError(f"organs: got {organs!r}, allowed a sequence (list or tuple) of organ names")
    names = tuple(organs)
    if not names:
        raise ParameterError("organs: got an empty sequence, allowed at least one organ name")
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise ParameterError(f"organs: got the name {name!r}, allowed non-empty strings")
    duplicates = sorted(name for name, count in Counter(names).items() if count > 1)
    if duplicates:
        raise ParameterError(f"organs: got the duplicate names {duplicates}, allowed unique names")
    return names


def _check_array(name: str, value: object, shape: tuple[int, ...], meaning: str) -> FloatArray:
    """``value`` as a float array of ``shape`` (-1: any length >= 1), finite and >= 0."""
    try:
        a = np.array(value, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError(f"{name}: got {value!r}, allowed an array of numbers ({meaning})") from None
    expected = "(" + ", ".join("q" if s < 0 else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
    if a.ndim != len(shape) or any(s >= 0 and s != got for s, got in zip(shape, a.shape, strict=False)) or a.size == 0:
        raise ParameterError(f"{name}: got shape {a.shape}, allowed shape {expected} ({meaning})")
    bad = ~np.isfinite(a) | (a < 0)
    if np.any(bad):
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ParameterError(
            f"{name}: got {float(a[where])!r} at index {where if len(where) > 1 else where[0]}, "
            f"allowed finite numbers >= 0"
        )
    return a


def _check_factors(colony_factors: object, n: int, secondary: bool) -> tuple[FloatArray, FloatArray] | None:
    """``(U, V)`` as arrays of shapes (n, q) and (q, n); None only without secondary seeding."""
    if colony_factors is None:
        if secondary:
            raise ParameterError(
                "colony_factors: got None, but model.secondary_seeding is True; pass (U, V) "
                "with M = U @ V = R^T (the generic case U = M, V = identity), or build the "
                "model with secondary_seeding=False"
            )
        return None
    if isinstance(colony_factors, np.ndarray) or not isinstance(colony_factors, Sequence) or len(colony_factors) != 2:
        raise ParameterError(
            f"colony_factors: got {type(colony_factors).__name__}, allowed a pair (U, V) of "
            f"arrays of shapes ({n}, q) and (q, {n})"
        )
    u = _check_array(
        "colony_factors[0] (U)",
        colony_factors[0],
        (n, -1),
        "n organs x q pools: probability that a cell drained to pool l founds a colony in organ j",
    )
    q = u.shape[1]
    v = _check_array(
        "colony_factors[1] (V)",
        colony_factors[1],
        (q, n),
        "q pools x n organs, q the number of columns of U: fraction of cells shed in organ i that drain to pool l",
    )
    return u, v


def solve_organs(
    model: MetastasisModel,
    organs: Sequence[str],
    primary_routing: ArrayLike,
    colony_factors: tuple[ArrayLike, ArrayLike] | None,
    horizon: float,
    *,
    rtol: float = 1e-9,
    n_initial: int = 128,
    n_max: int = 4096,
    establishment: Establishment | None = None,
) -> OrganSolution:
    r"""Solve the organ-resolved Iwata renewal system for ``model`` on ``[0, horizon]`` days.

    Parameters
    ----------
    model : MetastasisModel
        growth and shedding laws (shedding rates in cells per day; the routing probabilities
        below turn shed cells into colonies).
    organs : sequence of str
        the ``n`` organ names (unique, non-empty).
    primary_routing : array_like, shape (n,)
        :math:`p_j`, probability that one cell shed by the primary founds a colony in organ
        ``j`` (finite, >= 0).
    colony_factors : (U, V) or None
        ``U`` of shape (n, q) and ``V`` of shape (q, n), finite and >= 0, with
        :math:`U V = M = R^\mathsf{T}`, :math:`R_{ij}` the probability that a cell shed by a
        colony in organ ``i`` founds a colony in organ ``j``. None only if
        ``model.secondary_seeding`` is False (then ``(U, V)`` is ignored if given).
    horizon : float
        final model time (days, > 0).
    rtol : float
        target relative accuracy of every organ's birth rate, in (0, 1) (as in
        :func:`~metacascade.engines.deterministic.solve_deterministic`).
    n_initial, n_max : int
        first and largest number of grid steps.
    establishment : Establishment, optional
        the law of the birth-death phase of new colonies (its ``colony_growth`` and
        ``colony_size0`` must be those of ``model``); see the module docstring. The solution
        then describes the colonies that have entered the deterministic track: its ``model`` is
        ``model`` with ``colony_size0 = establishment.entry_cells``, ``birth_rate`` is the entry
        rate, ``n_total`` counts the colonies that have reached ``entry_cells``, ``n_above``
        (meaningful for sizes >= ``entry_cells``), ``density`` and ``burden`` refer to them and
        ``error_estimate`` is that of the founding rates. None, or a trivial law
        (``switch_cells <= colony_size0``), gives the undelayed solution.

    Returns
    -------
    OrganSolution

    Raises
    ------
    ParameterError
        for invalid input (the message names the argument).
    SimulationError
        if a birth rate is not finite (numerical blow-up).

    Warns
    -----
    AccuracyWarning
        if ``n_max`` stops the refinement before ``rtol`` is reached.
    """
    if not isinstance(model, MetastasisModel):
        raise ParameterError(f"model: got {type(model).__name__}, allowed a MetastasisModel")
    names = _check_organs(organs)
    n = len(names)
    p = _check_array(
        "primary_routing",
        primary_routing,
        (n,),
        "one probability per organ in `organs`: a shed cell founds a colony there",
    )
    factors = _check_factors(colony_factors, n, model.secondary_seeding)
    horizon = _check_horizon(horizon)
    _check_rtol(rtol)
    delay = _check_establishment(establishment, model)
    if delay is not None:
        return _solve_delayed(model, delay, names, p, factors, horizon, rtol, n_initial, n_max)

    def solve_on(m: int) -> FloatArray:
        f, k = _forcing_and_kernel(model, horizon, m)
        if k is None:
            return f[:, None] * p[None, :]
        assert factors is not None  # checked with secondary seeding (_check_factors)
        u, v = factors
        return volterra_trapezoid_lowrank(f, p, k, u, v, horizon / m)

    grid, values, errors = _refine(solve_on, horizon, rtol, n_initial, n_max)
    error = float(np.max(errors))
    _warn_inaccurate(error, rtol, n_max, stacklevel=2)
    spline = make_interp_spline(grid, values, k=5)  # one column per organ

    def solution(rates: FloatArray, column: BSpline, organ_error: float) -> DeterministicSolution:
        return DeterministicSolution(
            model=model,
            horizon=horizon,
            grid=grid,
            birth_rate_grid=rates,
            error_estimate=organ_error,
            _spline=column,
            _cumulative=column.antiderivative(),
        )

    columns = [BSpline(spline.t, np.ascontiguousarray(spline.c[:, j]), spline.k) for j in range(n)]
    per_organ = {
        name: solution(np.ascontiguousarray(values[:, j]), columns[j], float(errors[j])) for j, name in enumerate(names)
    }
    total_rates = values.sum(axis=1)
    total = solution(total_rates, make_interp_spline(grid, total_rates, k=5), error)
    return OrganSolution(
        model=model,
        organs=names,
        horizon=horizon,
        grid=grid,
        birth_rate_grid=values,
        error_estimate=error,
        per_organ=per_organ,
        total=total,
        _spline=spline,
    )


def _solve_delayed(
    model: MetastasisModel,
    establishment: Establishment,
    names: tuple[str, ...],
    p: FloatArray,
    factors: tuple[FloatArray, FloatArray] | None,
    horizon: float,
    rtol: float,
    n_initial: int,
    n_max: int,
) -> OrganSolution:
    """:func:`solve_organs` with a non-trivial establishment phase (arguments checked)."""
    grid, values, rate, cumulative, errors = _solve_entry(
        model, establishment, horizon, p, factors if model.secondary_seeding else None, rtol, n_initial, n_max
    )
    error = float(np.max(errors))
    _warn_inaccurate(error, rtol, n_max, stacklevel=3)
    entered = dataclasses.replace(model, colony_size0=establishment.entry_cells)

    def solution(
        rates: FloatArray, coefficients: FloatArray, integral: FloatArray, organ_error: float
    ) -> DeterministicSolution:
        return DeterministicSolution(
            model=entered,
            horizon=horizon,
            grid=grid,
            birth_rate_grid=rates,
            error_estimate=organ_error,
            _spline=PPoly(coefficients, rate.x),
            _cumulative=PPoly(integral, cumulative.x),
        )

    per_organ = {
        name: solution(np.ascontiguousarray(values[:, j]), rate.c[..., j], cumulative.c[..., j], float(errors[j]))
        for j, name in enumerate(names)
    }
    total = solution(values.sum(axis=1), rate.c.sum(axis=-1), cumulative.c.sum(axis=-1), error)
    return OrganSolution(
        model=entered,
        organs=names,
        horizon=horizon,
        grid=grid,
        birth_rate_grid=values,
        error_estimate=error,
        per_organ=per_organ,
        total=total,
        _spline=rate,
    )
