r"""Reference solver: the Iwata transport equation by a plain finite-volume method of lines.

This module is an *independent* check of :mod:`metacascade.engines.deterministic`: it never
uses characteristics, the renewal equation or the growth laws' ``time_to_size``; it only
evaluates ``rate`` (colony growth), ``solve`` (the primary's trajectory) and the shedding rates.

In log-size :math:`y = \ln x` the density per unit log-size :math:`n(t, y) = x\,\rho(t, x)`
obeys the conservation law

.. math:: \partial_t n + \partial_y\big(G(y)\,n\big) = 0, \qquad G(y) = g(e^y)/e^y,

on :math:`[y_0, y_1]` with :math:`y_0 = \ln x_0` (the founding size) and the inflow flux

.. math:: G(y_0)\,n(t, y_0) = B(t) = d_p\big(X_p(t)\big)
          + \int_{y_0}^{y_1} d_c(e^y)\,n(t, y)\,dy

(the second term only with secondary seeding). The domain is cut into ``n_cells`` equal
finite volumes; the face value of :math:`n` is reconstructed upwind (``G > 0``) by a linear
:math:`\kappa`-scheme (``SCHEMES``; the default, :math:`\kappa = 1/3`, is third-order in
smooth regions, ``"upwind2"`` is the classical second-order upwind). The inflow face carries
:math:`B(t)`; a ghost cell holds the quadratic through the boundary value :math:`B/G(y_0)`
and the first two cells. The secondary seeding integral uses the linear reconstruction in
each cell (third order). The semi-discrete system is linear with constant coefficients,
:math:`u' = A u + b\,d_p(X_p(t))`, with ``A`` sparse (banded plus the dense rows of the
inflow); it is integrated by :func:`scipy.integrate.solve_ivp`, by default with the explicit
DOP853 (the time step is held by the CFL limit, which accuracy at the front needs anyway).
Two extra states accumulate the inflow (the number of colonies founded) and the outflow
through :math:`y_1`; the scheme conserves colonies exactly, so the count in the cells plus
the outflow equals the inflow to round-off.

The upper end :math:`y_1` lies a margin beyond the largest size a colony can reach by the
last time asked for, below the capacity for bounded laws, so the outflow is negligible
(reported in the ``outflow`` attribute). The density jumps at that largest size (the
colonies founded at :math:`t = 0`): there the pointwise density does not converge and the
counts converge at first order only; elsewhere counts and burden converge at third order.

References
----------
.. [1] Iwata K, Kawasaki K, Shigesada N. J Theor Biol 2000;203:177-186.
.. [2] Barbolosi D, Benabdallah A, Hubert F, Verga F. Mathematical and numerical analysis for a
   model of growing metastatic tumors. Math Biosci 2009;218:1-14.
.. [3] van Leer B. Upwind-difference methods for aerodynamic problems governed by the Euler
   equations. Lectures in Applied Mathematics 1985;22:327-336 (the kappa-schemes).
.. [4] LeVeque RJ. Finite Volume Methods for Hyperbolic Problems. Cambridge 2002, ch. 6.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import xarray as xr
from numpy.typing import ArrayLike, NDArray
from scipy.integrate import solve_ivp

from metacascade.errors import ParameterError, SimulationError
from metacascade.model.metastasis import MetastasisModel

__all__ = ["SCHEMES", "LogSizeGrid", "solve_method_of_lines"]

FloatArray = NDArray[np.float64]

SCHEMES: dict[str, tuple[float, float, float]] = {
    # Upwind face value n_{i+1/2} = c[0] N_{i-1} + c[1] N_i + c[2] N_{i+1} (for G > 0), the
    # kappa-family N_i + (1-k)/4 (N_i - N_{i-1}) + (1+k)/4 (N_{i+1} - N_i) of van Leer [3].
    "upwind1": (0.0, 1.0, 0.0),  # first order (donor cell)
    "upwind2": (-0.5, 1.5, 0.0),  # kappa = -1: second-order upwind (Beam-Warming)
    "fromm": (-0.25, 1.0, 0.25),  # kappa = 0: Fromm, second order
    "kappa3": (-1.0 / 6.0, 5.0 / 6.0, 1.0 / 3.0),  # kappa = 1/3: third order
}

_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(3)
# Inflow ghost cell N_0 = 3 n_b - 5/2 N_1 + 1/2 N_2: the mean over [y_0 - h, y_0] of the quadratic
# with value n_b = B/G_0 at y_0 and means N_1, N_2 over the first two cells (third order).
_GHOST_B, _GHOST_1, _GHOST_2 = 3.0, -2.5, 0.5
_IVP_METHODS = ("RK23", "RK45", "DOP853", "Radau", "BDF", "LSODA")
_MARGIN_CELLS = 48


@dataclass(frozen=True)
class LogSizeGrid:
    """Uniform finite-volume grid in log-size ``y = ln x`` (cells).

    Attributes
    ----------
    y_low, y_high : float
        the ends of the domain (``ln`` of cells).
    n_cells : int
        number of finite volumes.
    """

    y_low: float
    y_high: float
    n_cells: int

    @property
    def width(self) -> float:
        """Width of a cell in ``y``."""
        return (self.y_high - self.y_low) / self.n_cells

    @property
    def faces(self) -> FloatArray:
        """The ``n_cells + 1`` cell faces."""
        return np.linspace(self.y_low, self.y_high, self.n_cells + 1)

    @property
    def centres(self) -> FloatArray:
        """The ``n_cells`` cell centres."""
        return np.asarray(self.y_low + (np.arange(self.n_cells) + 0.5) * self.width, dtype=np.float64)


def _domain(model: MetastasisModel, t_end: float, n_cells: int, margin: float) -> LogSizeGrid:
    """Log-size grid from the founding size to a margin past the largest reachable size.

    The margin is ``margin`` times the reachable log-size range, and at least ~40 cells: the
    dispersive wake that any linear high-order scheme leaves ahead of the jump at the largest
    colony must stay inside the domain.
    """
    law, x0 = model.colony_growth, model.colony_size0
    y_low = math.log(x0)
    y_front = float(np.log(law.solve(x0, t_end)))
    y_high = y_front + max(margin, _MARGIN_CELLS / n_cells) * max(y_front - y_low, 1.0)
    if math.isfinite(law.capacity):
        y_high = min(y_high, math.log(law.capacity) + math.log1p(-1e-6))
    if not (math.isfinite(y_high) and y_high > y_low):
        raise SimulationError(f"method of lines: no size range to solve on (log-sizes {y_low:g} .. {y_high:g})")
    return LogSizeGrid(y_low, y_high, n_cells)


def _seeding_weights(model: MetastasisModel, grid: LogSizeGrid, g0: float) -> tuple[float, FloatArray]:
    r"""Coefficients of the inflow :math:`B = \beta f + \omega\cdot N` (``f``: primary shedding).

    The secondary seeding :math:`\int d_c(e^y)\,n\,dy` is summed over cells with the linear
    reconstruction :math:`n = N_j + s_j (y - y_j)`, :math:`s_j` the central slope (ghost cells as
    in the flux), each cell integral by 3-point Gauss-Legendre: third-order accurate. The
    inflow ghost depends on :math:`B`, hence the factor :math:`\beta`. Without secondary
    seeding :math:`\beta = 1`, :math:`\omega = 0`.
    """
    m, h = grid.n_cells, grid.width
    if not model.secondary_seeding:
        return 1.0, np.zeros(m)
    offsets = 0.5 * h * _GL_NODES
    rate = np.asarray(model.colony_shedding.rate(np.exp(grid.centres[:, None] + offsets[None, :])), dtype=float)
    w = 0.5 * h * rate @ _GL_WEIGHTS  # int_cell d_c dy
    v = 0.5 * h * rate @ (_GL_WEIGHTS * offsets)  # int_cell d_c (y - y_j) dy
    # sum_j v_j s_j with s_j = (N_{j+1} - N_{j-1}) / 2h and the ghosts N_0 (above: it holds B)
    # and N_{M+1} = 2N_M - N_{M-1}.
    slope_weights = np.zeros(m)
    slope_weights[1:] += v[:-1]  # N_j enters s_{j-1} with +1 ...
    slope_weights[:-1] -= v[1:]  # ... and s_{j+1} with -1
    slope_weights[0] -= _GHOST_1 * v[0]  # s_1 = (N_2 - N_0) / 2h
    slope_weights[1] -= _GHOST_2 * v[0]
    slope_weights[-1] += 2.0 * v[-1]  # s_M = (2 N_M - 2 N_{M-1}) / 2h
    slope_weights[-2] -= v[-1]
    beta = 1.0 / (1.0 + _GHOST_B * v[0] / (2.0 * g0 * h))
    return beta, beta * (w + slope_weights / (2.0 * h))


def _assemble(
    model: MetastasisModel, grid: LogSizeGrid, scheme: tuple[float, float, float]
) -> tuple[sp.csr_matrix, FloatArray, float, FloatArray, float]:
    """The linear system ``u' = A u + b f(t)``, ``u = (N_1..N_M, inflow, outflow)``.

    Returns ``A`` (CSR), ``b``, the inflow coefficients ``beta, omega`` (``B = beta f +
    omega . N``) and the growth speed ``G`` at the inflow face.
    """
    m, h = grid.n_cells, grid.width
    law = model.colony_growth
    faces = grid.faces
    speed = np.asarray(law.rate(np.exp(faces)), dtype=float) / np.exp(faces)
    if not (np.all(np.isfinite(speed)) and np.all(speed[:-1] > 0) and speed[-1] >= 0):
        raise SimulationError("method of lines: the colony growth speed must be positive below the capacity")
    g0 = float(speed[0])
    beta, omega = _seeding_weights(model, grid, g0)

    # Extended vector (N_0 ghost, N_1..N_M, N_{M+1} ghost) = E @ N + e_f * f.
    # Inflow ghost: N_0 = 3 n_b - 5/2 N_1 + 1/2 N_2, n_b = B / G_0 = (beta f + omega . N) / G_0.
    # Outflow ghost: N_{M+1} = 2 N_M - N_{M-1} (linear extrapolation; n ~ 0 there).
    ghost_low = sp.csr_matrix((_GHOST_B / g0) * omega[None, :]) + sp.csr_matrix(
        ([_GHOST_1, _GHOST_2], ([0, 0], [0, 1])), shape=(1, m)
    )
    ghost_high = sp.csr_matrix(([-1.0, 2.0], ([0, 0], [m - 2, m - 1])), shape=(1, m))
    ext = sp.vstack([ghost_low, sp.identity(m, format="csr"), ghost_high], format="csr")
    ext_f = np.zeros(m + 2)
    ext_f[0] = _GHOST_B * beta / g0

    # Face values of faces 3/2 .. M+1/2 (index i = 1..M) from extended cells i-1, i, i+1.
    c_minus, c_centre, c_plus = scheme
    stencil = sp.diags([c_minus, c_centre, c_plus], [0, 1, 2], shape=(m, m + 2), format="csr")
    flux = sp.diags(speed[1:]) @ stencil @ ext  # F_{3/2} .. F_{M+1/2} as a function of N
    flux_f = speed[1:] * (stencil @ ext_f)
    inflow = sp.csr_matrix(omega[None, :])  # F_{1/2} = B = beta f + omega . N
    all_flux = sp.vstack([inflow, flux], format="csr")  # F_{1/2} .. F_{M+1/2}
    all_flux_f = np.concatenate([[beta], flux_f])
    div = sp.diags([1.0 / h, -1.0 / h], [0, 1], shape=(m, m + 1), format="csr")  # (F_{i-1/2} - F_{i+1/2}) / h

    a_cells = div @ all_flux
    b_cells = div @ all_flux_f
    a = sp.vstack(
        [
            sp.hstack([a_cells, sp.csr_matrix((m, 2))]),
            sp.hstack([inflow, sp.csr_matrix((1, 2))]),  # d(inflow)/dt = B
            sp.hstack([flux[-1], sp.csr_matrix((1, 2))]),  # d(outflow)/dt = F_{M+1/2}
        ],
        format="csr",
    )
    b = np.concatenate([b_cells, [beta, flux_f[-1]]])
    a.eliminate_zeros()
    return a, b, beta, omega, g0


def _check_array(name: str, values: ArrayLike, *, positive: bool) -> FloatArray:
    """Return ``values`` as a finite 1-d float array or raise a ParameterError naming it."""
    try:
        arr = np.atleast_1d(np.asarray(values, dtype=float))
    except (TypeError, ValueError):
        raise ParameterError(f"{name}: expected numbers, got {values!r}") from None
    if arr.ndim != 1 or arr.size == 0:
        raise ParameterError(f"{name}: expected a non-empty 1-d array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or (positive and not np.all(arr > 0)):
        what = "finite positive" if positive else "finite"
        raise ParameterError(f"{name}: all values must be {what} numbers, got {arr!r}")
    return arr


def _tables(
    model: MetastasisModel,
    grid: LogSizeGrid,
    beta: float,
    omega: FloatArray,
    g0: float,
    times: FloatArray,
    sizes: FloatArray,
    states: FloatArray,
) -> dict[str, FloatArray]:
    """Seeding rate, counts, burden and density from the cell averages at every time."""
    m, h = grid.n_cells, grid.width
    cells, inflow, outflow = states[:, :m], states[:, m], states[:, m + 1]
    primary = model.primary_growth.solve(model.primary_size0, np.maximum(times, 0.0))
    shed = np.asarray(model.primary_shedding.rate(primary))
    seeding = beta * np.where(times >= 0, shed, 0.0) + cells @ omega

    # Linear reconstruction N_j + s_j (y - y_j) in each cell; central slopes, ghosts as in the flux.
    n_boundary = seeding / g0
    ghost_low = _GHOST_B * n_boundary + _GHOST_1 * cells[:, 0] + _GHOST_2 * cells[:, 1]
    ghost_high = 2.0 * cells[:, -1] - cells[:, -2]
    padded = np.concatenate([ghost_low[:, None], cells, ghost_high[:, None]], axis=1)
    slope = (padded[:, 2:] - padded[:, :-2]) / (2.0 * h)
    centres = grid.centres

    # Burden: sum_j int_cell e^y (N_j + s_j (y - y_j)) dy, each integral in closed form.
    ec = np.exp(centres)
    burden = cells @ (ec * 2.0 * math.sinh(0.5 * h)) + slope @ (
        ec * (h * math.cosh(0.5 * h) - 2.0 * math.sinh(0.5 * h))
    )
    burden += outflow * math.exp(grid.y_high)  # ~0, or colonies within 1e-6 of the capacity

    # Colonies above y: the cells above the one holding y, the part of that cell above y (from
    # the reconstruction), and the outflow.
    y = np.log(sizes)
    j = np.clip(np.floor((y - grid.y_low) / h).astype(int), 0, m - 1)
    tail = h * np.concatenate([np.cumsum(cells[:, ::-1], axis=1)[:, ::-1], np.zeros((times.size, 1))], axis=1)
    d = y - centres[j]
    part = (grid.y_low + (j + 1) * h - y)[None, :] * cells[:, j] + 0.5 * slope[:, j] * (0.25 * h * h - d * d)[None, :]
    n_above = tail[:, j + 1] + part + outflow[:, None]
    n_above = np.where(y[None, :] <= grid.y_low, inflow[:, None], n_above)
    n_above = np.where(y[None, :] >= grid.y_high, outflow[:, None], n_above)

    # Density rho = n / x, n linear between the boundary value, the cell centres and the top.
    knots = np.concatenate([[grid.y_low], centres, [grid.y_high]])
    density = np.empty((times.size, sizes.size))
    for i in range(times.size):
        values = np.concatenate([[n_boundary[i]], cells[i], [cells[i, -1]]])
        density[i] = np.interp(y, knots, values, left=0.0, right=0.0) / sizes
    return {
        "seeding_rate_per_day": seeding,
        "n_metastases": inflow,
        "burden_cells": burden,
        "n_above": n_above,
        "density_per_cell": density,
    }


def solve_method_of_lines(
    model: MetastasisModel,
    times: ArrayLike,
    sizes: ArrayLike,
    *,
    n_cells: int = 1000,
    scheme: str = "kappa3",
    method: str = "DOP853",
    rtol: float = 1e-9,
    atol: float = 1e-14,
    margin: float = 0.05,
) -> xr.Dataset:
    r"""Solve the Iwata transport equation by finite volumes in log-size and tabulate it.

    Parameters
    ----------
    model : MetastasisModel
    times : array_like
        model times (days); ``t <= 0`` gives the initial state (no colonies).
    sizes : array_like
        colony sizes (cells, > 0) at which ``n_above`` and ``density_per_cell`` are reported.
    n_cells : int
        number of finite volumes in :math:`[\ln x_0, y_1]` (>= 8).
    scheme : str
        face reconstruction, a key of :data:`SCHEMES`.
    method : str
        :func:`scipy.integrate.solve_ivp` method. The system is not stiff beyond the CFL
        limit (the time step must resolve the front anyway), so the explicit methods are
        much the fastest; ``"Radau"`` and ``"BDF"`` get the sparse Jacobian ``A``.
    rtol, atol : float
        tolerances of the time integration (``atol`` in colonies per unit log-size).
    margin : float
        the domain ends ``margin`` times the log-size range past the largest reachable size
        (or ~40 cells past it, whichever is more).

    Returns
    -------
    xarray.Dataset
        on coordinates ``time_days`` and ``size_cells``, the variables of
        :meth:`DeterministicSolution.tabulate
        <metacascade.engines.deterministic.DeterministicSolution.tabulate>`:
        ``primary_cells``, ``seeding_rate_per_day`` (:math:`B`), ``n_metastases``
        (:math:`\int_0^t B`), ``burden_cells`` (:math:`\int x\rho\,dx`), ``n_above`` (colonies
        larger than the size: the cells above, the part of the cell holding the size from the
        linear reconstruction, and the outflow) and ``density_per_cell`` (:math:`\rho = n/x`,
        :math:`n` linear between cell centres). Attributes: ``engine``, ``n_cells``,
        ``scheme``, ``method``, ``n_rhs_evaluations``, ``outflow`` (colonies that left the
        domain by the last time; ~0 by the choice of the domain).

    Raises
    ------
    ParameterError
        for non-finite times, non-positive sizes or invalid settings.
    SimulationError
        if the time integration fails.
    """
    times = _check_array("times", times, positive=False)
    sizes = _check_array("sizes", sizes, positive=True)
    if scheme not in SCHEMES:
        raise ParameterError(f"scheme: unknown {scheme!r}; allowed: {', '.join(SCHEMES)}")
    if method not in _IVP_METHODS:
        raise ParameterError(f"method: unknown {method!r}; allowed: {', '.join(_IVP_METHODS)}")
    if isinstance(n_cells, bool) or not (isinstance(n_cells, (int, np.integer)) and n_cells >= 8):
        raise ParameterError(f"n_cells: got {n_cells!r}, allowed an integer >= 8")
    if not (0 < rtol < 1 and atol > 0 and 0 < margin <= 1):
        raise ParameterError(
            f"rtol, atol, margin: got {rtol!r}, {atol!r}, {margin!r}; allowed 0 < rtol < 1, atol > 0, 0 < margin <= 1"
        )

    grid = _domain(model, max(float(times.max()), 1e-9), int(n_cells), margin)
    a, b, beta, omega, g0 = _assemble(model, grid, SCHEMES[scheme])

    def rhs(t: float, u: FloatArray) -> FloatArray:
        shed = model.primary_shedding.rate(model.primary_growth.solve(model.primary_size0, t))
        return np.asarray(a @ u + b * float(shed), dtype=np.float64)

    positive = np.unique(times[times > 0])
    states = np.zeros((times.size, grid.n_cells + 2))
    n_rhs = 0
    if positive.size:
        jac = {"jac": a} if method in ("Radau", "BDF") else {}  # LSODA takes no sparse Jacobian
        sol = solve_ivp(
            rhs,
            (0.0, float(positive[-1])),
            np.zeros(grid.n_cells + 2),
            method=method,
            t_eval=positive,
            rtol=rtol,
            atol=atol,
            **jac,
        )
        if not sol.success:
            raise SimulationError(f"method of lines: time integration failed: {sol.message}")
        n_rhs = int(sol.nfev)
        inside = times > 0
        states[inside] = sol.y.T[np.searchsorted(positive, times[inside])]

    tables = _tables(model, grid, beta, omega, g0, times, sizes, states)
    primary = np.asarray(model.primary_growth.solve(model.primary_size0, times), dtype=float)
    ds = xr.Dataset(
        {
            "primary_cells": ("time_days", primary),
            "seeding_rate_per_day": ("time_days", tables["seeding_rate_per_day"]),
            "n_metastases": ("time_days", tables["n_metastases"]),
            "burden_cells": ("time_days", tables["burden_cells"]),
            "n_above": (("time_days", "size_cells"), tables["n_above"]),
            "density_per_cell": (("time_days", "size_cells"), tables["density_per_cell"]),
        },
        coords={"time_days": times, "size_cells": sizes},
    )
    ds["n_above"].attrs["description"] = "expected number of metastases larger than size_cells"
    ds["density_per_cell"].attrs["description"] = "expected size density of metastases (1/cell)"
    ds.attrs.update(
        engine="method_of_lines",
        n_cells=grid.n_cells,
        scheme=scheme,
        method=method,
        n_rhs_evaluations=n_rhs,
        outflow=float(np.max(np.abs(states[:, -1]), initial=0.0)),
    )
    return ds
