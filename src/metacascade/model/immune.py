r"""Tumour--effector-cell dynamics of Kuznetsov, Makalkin, Taylor & Perelson (model layer: pure).

The model tracks the number of cytotoxic effector cells :math:`E` and of tumour cells :math:`T`
(both in cells, time in days):

.. math::

    \frac{dE}{dt} &= s + \frac{p\,E\,T}{g + T} - m\,E\,T - d\,E, \\
    \frac{dT}{dt} &= a\,T\,(1 - b\,T) - n\,E\,T.

``s`` is the tumour-independent influx of effectors, ``p E T/(g + T)`` their tumour-driven
recruitment (Michaelis--Menten in ``T``), ``m E T`` their inactivation by tumour cells and
``d E`` their death; the tumour grows logistically to the capacity ``1/b`` and effectors kill
it at rate ``n E T``. With the BCL1 values the model has a stable small "dormant" tumour, a
saddle and a stable large "escaped" tumour: a colony whose size lies above the saddle's stable
manifold (the separatrix) escapes immune control, one below it settles into dormancy.

Non-dimensional form (scales :math:`E_0 = T_0 = 10^6` cells, :math:`t_0 = 1/(n T_0)`),
:math:`x = E/E_0`, :math:`y = T/T_0`, :math:`\tau = t/t_0`:

.. math::

    \frac{dx}{d\tau} &= \sigma + \frac{\rho\,x\,y}{\eta + y} - \mu\,x\,y - \delta\,x, \\
    \frac{dy}{d\tau} &= \alpha\,y\,(1 - \beta\,y) - x\,y,

with :math:`\sigma = s/(n E_0 T_0)`, :math:`\rho = p/(n T_0)`, :math:`\eta = g/T_0`,
:math:`\mu = m/n`, :math:`\delta = d/(n T_0)`, :math:`\alpha = a/(n T_0)`, :math:`\beta = b T_0`.

Equilibria with a tumour satisfy :math:`x = \alpha(1 - \beta y)` (from :math:`dy/d\tau = 0`);
putting it into :math:`dx/d\tau = 0` multiplied by :math:`(\eta + y)/\alpha` gives the cubic

.. math::

    C_3 y^3 + C_2 y^2 + C_1 y + C_0 = 0, \quad
    C_3 = \mu\beta,\;
    C_2 = -\mu + (\mu\eta + \delta - \rho)\beta,\;
    C_1 = \sigma/\alpha + \rho - \mu\eta - \delta + \delta\eta\beta,\;
    C_0 = \eta(\sigma/\alpha - \delta),

whose real roots with :math:`0 \le y < 1/\beta` (so that :math:`x > 0`) are the tumour
equilibria; the tumour-free equilibrium is :math:`(x, y) = (\sigma/\delta, 0)`.

References
----------
.. [1] Kuznetsov VA, Makalkin IA, Taylor MA, Perelson AS. Nonlinear dynamics of immunogenic
   tumors: parameter estimation and global bifurcation analysis. Bull Math Biol
   1994;56:295-321 (model, BCL1 parameter values, non-dimensional form). BioModels
   BIOMD0000000762.
.. [2] Siu H, Vitetta ES, May RD, Uhr JW. Tumor dormancy. I. Regression of BCL1 tumor and
   induction of a dormant tumor state in mice chimeric at the major histocompatibility
   complex. J Immunol 1986;137:1376-1382 (the experiment: 1e6-1e7 dormant BCL1 cells).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.integrate import solve_ivp
from scipy.optimize import brentq, fsolve

from metacascade.errors import ParameterError, SimulationError

__all__ = [
    "BCL1",
    "CELL_SCALE",
    "DormancyState",
    "Equilibrium",
    "KuznetsovParameters",
    "KuznetsovTrajectory",
    "NondimensionalParameters",
    "critical_immunocompetence",
    "dormancy_state",
    "equilibria",
    "jacobian",
    "rhs",
    "separatrix_size",
    "simulate",
    "tumour_polynomial",
]

FloatArray = NDArray[np.float64]

#: Cell scale (cells) of the non-dimensional form and of the integration variables.
CELL_SCALE = 1e6

#: Relative tolerance under which two polished roots are the same equilibrium.
_SAME_ROOT = 1e-9


def _check(name: str, value: float, *, positive: bool, allowed: str) -> float:
    """Return ``value`` as a float or raise a ParameterError naming it and the allowed values."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name}: expected a number, got {value!r}; allowed: {allowed}") from None
    if not math.isfinite(v) or v < 0.0 or (positive and v == 0.0):
        raise ParameterError(f"{name}: got {value!r}; allowed: {allowed}")
    return v


@dataclass(frozen=True)
class NondimensionalParameters:
    r"""The non-dimensional parameter set of [1]_ (see the module docstring for the scaling).

    Attributes
    ----------
    sigma, rho, eta, mu, delta, alpha, beta : float
        :math:`s/(nE_0T_0)`, :math:`p/(nT_0)`, :math:`g/T_0`, :math:`m/n`, :math:`d/(nT_0)`,
        :math:`a/(nT_0)`, :math:`bT_0` (dimensionless).
    cell_scale : float
        :math:`E_0 = T_0` (cells).
    time_scale_days : float
        :math:`t_0 = 1/(n T_0)` (days).
    """

    sigma: float
    rho: float
    eta: float
    mu: float
    delta: float
    alpha: float
    beta: float
    cell_scale: float
    time_scale_days: float

    def as_dict(self) -> dict[str, float]:
        """The seven model parameters by name (without the scales)."""
        return {k: getattr(self, k) for k in ("sigma", "rho", "eta", "mu", "delta", "alpha", "beta")}


@dataclass(frozen=True)
class KuznetsovParameters:
    """Dimensional parameters of the Kuznetsov et al. 1994 model; defaults are the BCL1 set.

    BCL1 B-cell lymphoma in the spleen of chimeric mice, Table 1 of [1]_ as quoted by public
    model code of the paper (BioModels BIOMD0000000762; status R2 in
    ``docs/science/parameters.md`` section 5a).

    Attributes
    ----------
    s : float
        Tumour-independent effector influx, 1.3e4 cells/day [1]_.
    p : float
        Maximum tumour-driven effector recruitment rate, 0.1245 1/day [1]_.
    g : float
        Tumour size of half-maximal recruitment, 2.019e7 cells [1]_.
    m : float
        Effector inactivation by tumour cells, 3.422e-10 1/(cell day) [1]_.
    d : float
        Effector death rate, 0.0412 1/day [1]_.
    a : float
        Maximal tumour growth rate, 0.18 1/day [1]_.
    b : float
        Inverse carrying capacity, 2.0e-9 1/cell (capacity 5e8 cells) [1]_.
    n : float
        Tumour-cell kill rate by effectors, 1.101e-7 1/(cell day) [1]_.

    Raises
    ------
    ParameterError
        If a value is not finite, negative, or zero where it must be positive (g, d, a, b, n).
    """

    s: float = 1.3e4
    p: float = 0.1245
    g: float = 2.019e7
    m: float = 3.422e-10
    d: float = 0.0412
    a: float = 0.18
    b: float = 2.0e-9
    n: float = 1.101e-7

    def __post_init__(self) -> None:
        for name in ("s", "p", "m"):
            object.__setattr__(
                self, name, _check(name, getattr(self, name), positive=False, allowed="a finite number >= 0")
            )
        for name in ("g", "d", "a", "b", "n"):
            object.__setattr__(
                self, name, _check(name, getattr(self, name), positive=True, allowed="a finite number > 0")
            )

    @property
    def capacity_cells(self) -> float:
        """Tumour carrying capacity ``1/b`` (cells)."""
        return 1.0 / self.b

    @property
    def tumour_free_effectors(self) -> float:
        """Effector level of the tumour-free host, ``s/d`` (cells)."""
        return self.s / self.d

    def nondimensional(self, cell_scale: float = CELL_SCALE) -> NondimensionalParameters:
        r"""The non-dimensional set of [1]_ with :math:`E_0 = T_0 =` ``cell_scale`` cells.

        With the BCL1 defaults it reproduces the quoted set :math:`\sigma = 0.1181`,
        :math:`\rho = 1.131`, :math:`\eta = 20.19`, :math:`\mu = 0.00311`,
        :math:`\delta = 0.3743`, :math:`\alpha = 1.636`, :math:`\beta = 2\times10^{-3}` to within
        1e-3 relative (:math:`\alpha = 0.18/0.1101 = 1.6349`: ``a`` is quoted to two digits).
        """
        c = _check("cell_scale", cell_scale, positive=True, allowed="a finite number > 0")
        rate = self.n * c  # 1/t0, per day
        return NondimensionalParameters(
            sigma=self.s / (self.n * c * c),
            rho=self.p / rate,
            eta=self.g / c,
            mu=self.m / self.n,
            delta=self.d / rate,
            alpha=self.a / rate,
            beta=self.b * c,
            cell_scale=c,
            time_scale_days=1.0 / rate,
        )

    def with_immunity(self, immunocompetence: float, killing: float = 1.0) -> KuznetsovParameters:
        """A copy with the effector influx ``s`` and the kill rate ``n`` rescaled.

        Parameters
        ----------
        immunocompetence : float
            Factor on ``s`` (>= 0; 1 = normal host). Age, immunosuppression and chemotherapy
            lower it, 0 leaves only tumour-driven recruitment.
        killing : float
            Factor on ``n`` (> 0; 1 = normal). Immunotherapy that arms effectors raises it.

        Raises
        ------
        ParameterError
            If a factor is not finite or is negative (``killing`` must also be non-zero).
        """
        c = _check(
            "immunocompetence", immunocompetence, positive=False, allowed="a finite number >= 0 (1 = normal immunity)"
        )
        k = _check("killing", killing, positive=True, allowed="a finite number > 0 (1 = normal kill rate)")
        return replace(self, s=self.s * c, n=self.n * k)


#: The BCL1 lymphoma parameter set of [1]_ (the defaults of :class:`KuznetsovParameters`).
BCL1 = KuznetsovParameters()


# --------------------------------------------------------------------------- right-hand side


def rhs(t: float, y: ArrayLike, params: KuznetsovParameters) -> FloatArray:
    r"""Time derivative :math:`(dE/dt, dT/dt)` in cells/day at state ``y = (E, T)`` (cells).

    ``y`` may have shape ``(2,)`` or ``(2, k)`` (``k`` states at once); ``t`` is unused (the
    model is autonomous) and kept for the ``solve_ivp`` signature.
    """
    e, tum = np.asarray(y, dtype=float)
    q = params
    de = q.s + q.p * e * tum / (q.g + tum) - q.m * e * tum - q.d * e
    dt = q.a * tum * (1.0 - q.b * tum) - q.n * e * tum
    return np.array([de, dt])


def jacobian(t: float, y: ArrayLike, params: KuznetsovParameters) -> FloatArray:
    r"""Jacobian :math:`\partial(\dot E, \dot T)/\partial(E, T)` (1/day) at ``y = (E, T)``.

    .. math::

        J = \begin{pmatrix}
            pT/(g+T) - mT - d & pEg/(g+T)^2 - mE \\
            -nT & a(1 - 2bT) - nE
        \end{pmatrix}
    """
    e, tum = (float(v) for v in np.asarray(y, dtype=float))
    q = params
    return np.array(
        [
            [q.p * tum / (q.g + tum) - q.m * tum - q.d, q.p * e * q.g / (q.g + tum) ** 2 - q.m * e],
            [-q.n * tum, q.a * (1.0 - 2.0 * q.b * tum) - q.n * e],
        ]
    )


def _scaled_rhs(t: float, u: FloatArray, params: KuznetsovParameters) -> FloatArray:
    """``rhs`` in units of CELL_SCALE cells (time in days): well scaled for the integrator."""
    return rhs(t, u * CELL_SCALE, params) / CELL_SCALE


def _scaled_jac(t: float, u: FloatArray, params: KuznetsovParameters) -> FloatArray:
    return jacobian(t, u * CELL_SCALE, params)


# --------------------------------------------------------------------------- equilibria


@dataclass(frozen=True)
class Equilibrium:
    """One equilibrium of the model.

    Attributes
    ----------
    E, T : float
        Effector and tumour cells.
    eigenvalues : tuple of complex
        Eigenvalues of :func:`jacobian` there (1/day).
    stable : bool
        All eigenvalues have a negative real part.
    kind : str
        ``"tumour-free"`` (T = 0), ``"dormant"`` (stable, below the saddle), ``"saddle"``,
        ``"escape"`` (stable, above the saddle) or ``"unstable"`` (an unstable node or focus).
        Without a saddle a stable tumour equilibrium is ``"dormant"`` below half the carrying
        capacity and ``"escape"`` above it.
    """

    E: float
    T: float
    eigenvalues: tuple[complex, ...]
    stable: bool
    kind: str

    @property
    def is_saddle(self) -> bool:
        """One eigenvalue of each sign (negative Jacobian determinant)."""
        re = sorted(z.real for z in self.eigenvalues)
        return re[0] < 0.0 < re[-1]


def tumour_polynomial(params: KuznetsovParameters, cell_scale: float = CELL_SCALE) -> FloatArray:
    r"""Coefficients :math:`(C_3, C_2, C_1, C_0)` of the cubic in :math:`y = T/T_0` of [1]_.

    From :math:`dy/d\tau = 0`, :math:`x = \alpha(1 - \beta y)`; substituted into
    :math:`dx/d\tau = 0` and multiplied by :math:`(\eta + y)/\alpha`:
    :math:`C_3 = \mu\beta`, :math:`C_2 = -\mu + (\mu\eta + \delta - \rho)\beta`,
    :math:`C_1 = \sigma/\alpha + \rho - \mu\eta - \delta + \delta\eta\beta`,
    :math:`C_0 = \eta(\sigma/\alpha - \delta)`. Highest power first, for ``numpy.roots``.
    """
    q = params.nondimensional(cell_scale)
    return np.array(
        [
            q.mu * q.beta,
            -q.mu + (q.mu * q.eta + q.delta - q.rho) * q.beta,
            q.sigma / q.alpha + q.rho - q.mu * q.eta - q.delta + q.delta * q.eta * q.beta,
            q.eta * (q.sigma / q.alpha - q.delta),
        ]
    )


def _admissible_roots(params: KuznetsovParameters) -> list[float]:
    """Real roots ``y = T/T0`` of the cubic with ``0 <= y < 1/beta`` (so that E > 0), unpolished."""
    coeffs = tumour_polynomial(params)
    beta = params.b * CELL_SCALE
    out = []
    for r in np.roots(coeffs):
        # A double root (saddle-node) comes out of numpy.roots as a pair with a tiny imaginary
        # part (~sqrt(eps) relative); keep it as real.
        if abs(r.imag) <= 1e-6 * max(1.0, abs(r.real)) and 0.0 <= r.real < 1.0 / beta:
            out.append(float(r.real))
    return sorted(out)


def _residual(params: KuznetsovParameters, e: float, t: float) -> float:
    """Largest |rhs| relative to the size of its terms (0 at an exact equilibrium)."""
    q = params
    scale = np.array([q.s + q.d * e + q.m * e * t + q.p * e, q.a * t + q.n * e * t]) + 1e-300
    return float(np.max(np.abs(rhs(0.0, (e, t), params)) / scale))


def _polish(params: KuznetsovParameters, e0: float, t0: float) -> tuple[float, float] | None:
    """Newton-type refinement (``fsolve``) of an equilibrium on the full right-hand side.

    Returns None if neither the refined nor the starting point is an equilibrium to 1e-8
    relative (a near-double root of ``numpy.roots`` just past a saddle-node is a complex pair).
    """
    u, _, ier, _ = fsolve(
        lambda u: _scaled_rhs(0.0, u, params),
        [e0 / CELL_SCALE, t0 / CELL_SCALE],
        fprime=lambda u: _scaled_jac(0.0, u, params),
        xtol=1e-14,
        full_output=True,
    )
    candidates = [(e0, t0)]
    if ier == 1 and np.all(np.isfinite(u)):
        candidates.insert(0, (float(u[0] * CELL_SCALE), float(u[1] * CELL_SCALE)))
    for e, t in candidates:  # at a double root fsolve may stall; the polynomial root is then kept
        if _residual(params, e, t) <= 1e-8:
            return e, t
    return None


def _classify(params: KuznetsovParameters, points: list[tuple[float, float]]) -> list[Equilibrium]:
    eig = [tuple(complex(z) for z in np.linalg.eigvals(jacobian(0.0, (e, t), params))) for e, t in points]
    stable = [all(z.real < 0.0 for z in w) for w in eig]
    saddle = [min(z.real for z in w) < 0.0 < max(z.real for z in w) for w in eig]
    saddle_t = [t for (e, t), sd in zip(points, saddle) if sd and t > 0.0]
    out = []
    for (e, t), w, st, sd in zip(points, eig, stable, saddle):
        if t == 0.0:
            kind = "tumour-free"
        elif sd:
            kind = "saddle"
        elif not st:
            kind = "unstable"
        elif saddle_t:
            kind = "dormant" if t < min(saddle_t) else "escape"
        else:
            kind = "dormant" if t < 0.5 * params.capacity_cells else "escape"
        out.append(Equilibrium(E=e, T=t, eigenvalues=w, stable=st, kind=kind))
    return out


def equilibria(params: KuznetsovParameters) -> tuple[Equilibrium, ...]:
    r"""All equilibria with :math:`T \ge 0` and :math:`E > 0`, by increasing ``T``.

    The tumour-free state :math:`(s/d, 0)` (absent when ``s = 0``: there ``E = 0``) and the
    roots of :func:`tumour_polynomial` with :math:`0 \le T < 1/b` (``numpy.roots``), each
    polished by ``scipy.optimize.fsolve`` on the full right-hand side, with the eigenvalues of
    :func:`jacobian` and a kind label (see :class:`Equilibrium`).

    With the BCL1 set: tumour-free (3.155e5, 0) saddle; dormant (1.608e6, 8.186e6) stable
    focus; saddle (7.585e5, 2.680e8); escape (1.732e5, 4.470e8) stable node.
    """
    points: list[tuple[float, float]] = []
    if params.s > 0.0:
        points.append((params.s / params.d, 0.0))
    beta = params.b * CELL_SCALE
    alpha = params.a / (params.n * CELL_SCALE)
    for y in _admissible_roots(params):
        point = _polish(params, alpha * (1.0 - beta * y) * CELL_SCALE, y * CELL_SCALE)
        if point is None:
            continue
        e, t = point
        if e <= 0.0 or t < 0.0:
            continue
        if t == 0.0 and any(pt[1] == 0.0 for pt in points):
            continue
        if any(abs(t - pt[1]) <= _SAME_ROOT * max(t, 1.0) for pt in points):
            continue  # a double root polishes to one point
        points.append((e, t))
    points.sort(key=lambda pt: pt[1])
    return tuple(_classify(params, points))


@dataclass(frozen=True)
class DormancyState:
    """Where a colony ends under immune control (cells).

    Attributes
    ----------
    dormant_cells : float or None
        Tumour size of the stable dormant equilibrium; None if there is none.
    escape_threshold_cells : float or None
        Tumour size of the saddle: with effectors near their equilibrium level a colony much
        above it escapes (the exact boundary is the saddle's stable manifold, see
        :func:`separatrix_size`); None without a saddle.
    escaped_cells : float or None
        Tumour size of the stable escaped equilibrium; None if there is none.
    exists : bool
        Whether a dormant equilibrium exists.
    """

    dormant_cells: float | None
    escape_threshold_cells: float | None
    escaped_cells: float | None
    exists: bool


def dormancy_state(params: KuznetsovParameters) -> DormancyState:
    """The dormant, saddle and escaped tumour sizes of :func:`equilibria` (None where absent)."""
    eqs = equilibria(params)

    def first(kind: str) -> float | None:
        return next((q.T for q in eqs if q.kind == kind), None)

    dormant = first("dormant")
    return DormancyState(
        dormant_cells=dormant,
        escape_threshold_cells=first("saddle"),
        escaped_cells=first("escape"),
        exists=dormant is not None,
    )


# --------------------------------------------------------------------------- bifurcation


def _discriminant(coeffs: FloatArray) -> float:
    """Discriminant of the cubic ``a y^3 + b y^2 + c y + d`` made monic (zero at a double root)."""
    a, b, c, d = coeffs / coeffs[0]
    return float(18 * a * b * c * d - 4 * b**3 * d + b * b * c * c - 4 * a * c**3 - 27 * a * a * d * d)


def _has(params: KuznetsovParameters, kind: str) -> bool:
    return any(q.kind == kind for q in equilibria(params))


def critical_immunocompetence(
    params: KuznetsovParameters,
    *,
    state: Literal["dormant", "escape"] = "dormant",
    max_immunocompetence: float = 10.0,
    n_grid: int = 400,
) -> float | None:
    r"""Immunocompetence (factor on ``s``) at which a stable tumour state appears or vanishes.

    The dormant state and the escaped state each end in a saddle-node (fold) bifurcation where
    they merge with the saddle; there the cubic :func:`tumour_polynomial` has a double root and
    its discriminant vanishes. The factor ``c`` of :meth:`KuznetsovParameters.with_immunity`
    is scanned on a grid over ``(0, max_immunocompetence]`` for a change in whether the state
    exists, and the fold is located by ``scipy.optimize.brentq`` on the discriminant inside
    that grid interval.

    Parameters
    ----------
    params : KuznetsovParameters
        The host at immunocompetence 1.
    state : {"dormant", "escape"}
        ``"dormant"``: the ``c*`` below which the dormant state is lost. For ``c > c*`` a
        dormant equilibrium exists and small colonies are held there; for ``c < c*`` it has
        merged with the saddle and every colony grows to the escaped state. The largest such
        ``c*`` is returned.
        ``"escape"``: the ``c*`` above which the escaped state is lost. For ``c < c*`` large
        tumours escape; for ``c > c*`` the saddle and the escaped state have merged and every
        tumour, however large, is brought back to dormancy. The smallest such ``c*`` is
        returned.
    max_immunocompetence : float
        Upper end of the scan.
    n_grid : int
        Number of grid points (folds closer together than a grid step may be missed).

    Returns
    -------
    float or None
        ``c*`` relative to ``params``, or None if there is no such fold in the range. With the
        BCL1 set there is no dormancy fold (None): tumour-driven recruitment ``p`` alone keeps
        a dormant state even at ``s = 0``. The escape fold is at ``c* = 1.638``.

    Raises
    ------
    ParameterError
        If ``state`` is not one of the two names or the range is invalid.
    """
    if state not in ("dormant", "escape"):
        raise ParameterError(f"state: got {state!r}; allowed: 'dormant', 'escape'")
    c_max = _check("max_immunocompetence", max_immunocompetence, positive=True, allowed="a finite number > 0")
    if int(n_grid) < 3:
        raise ParameterError(f"n_grid: got {n_grid!r}; allowed: an integer >= 3")
    grid = np.linspace(c_max / n_grid, c_max, int(n_grid))
    present = [_has(params.with_immunity(c), state) for c in grid]

    def disc(c: float) -> float:
        return _discriminant(tumour_polynomial(params.with_immunity(c)))

    folds = []
    for lo, hi, p_lo, p_hi in zip(grid[:-1], grid[1:], present[:-1], present[1:]):
        wanted = (not p_lo and p_hi) if state == "dormant" else (p_lo and not p_hi)
        if not wanted or np.sign(disc(lo)) == np.sign(disc(hi)):
            continue  # no change, or a transcritical crossing of T = 0 (no double root)
        folds.append(brentq(disc, lo, hi, xtol=1e-14, rtol=1e-13))
    if not folds:
        return None
    return float(max(folds) if state == "dormant" else min(folds))


# --------------------------------------------------------------------------- trajectories


@dataclass(frozen=True)
class KuznetsovTrajectory:
    """A solution of the model.

    Attributes
    ----------
    t : ndarray
        Times (days).
    E, T : ndarray
        Effector and tumour cells at ``t``.
    outcome : str
        ``"eliminated"`` (end ``T`` below one cell or nearest the tumour-free state),
        ``"dormant"`` or ``"escape"``: the kind of the stable equilibrium nearest the end state
        (in log10 cells); see :func:`simulate`.
    settled : bool
        The end state is within 1% (in both E and T) of that equilibrium.
    """

    t: FloatArray
    E: FloatArray
    T: FloatArray
    outcome: str
    settled: bool


def _outcome(params: KuznetsovParameters, e_end: float, t_end: float) -> tuple[str, bool]:
    if t_end < 1.0:
        return "eliminated", True
    stable = [q for q in equilibria(params) if q.stable]
    if not stable:  # e.g. a limit cycle: fall back on the tumour size
        return ("dormant" if t_end < 0.5 * params.capacity_cells else "escape"), False

    def dist(q: Equilibrium) -> float:
        return abs(math.log10(max(e_end, 1.0)) - math.log10(max(q.E, 1.0))) + abs(
            math.log10(t_end + 1.0) - math.log10(q.T + 1.0)
        )

    near = min(stable, key=dist)
    settled = abs(e_end - near.E) <= 0.01 * near.E and abs(t_end - near.T) <= 0.01 * max(near.T, 1.0)
    return ("eliminated" if near.kind == "tumour-free" else near.kind), settled


def simulate(
    params: KuznetsovParameters,
    E0: float,
    T0: float,
    t_end_days: float,
    t_eval: ArrayLike | None = None,
    *,
    rtol: float = 1e-10,
) -> KuznetsovTrajectory:
    """Integrate the model from ``(E0, T0)`` cells for ``t_end_days`` days (stiff LSODA).

    The state is integrated in units of 1e6 cells with the analytic Jacobian, ``rtol`` (default
    1e-10) and an absolute tolerance of 1e-6 cells. The outcome labels the end state by the
    nearest stable equilibrium; run long enough for the state to settle (the BCL1 dormant focus
    decays at 0.0055/day, an e-fold every 180 days: 3000 days leave ~1e-7 of the offset).

    Raises
    ------
    ParameterError
        If an initial value or the horizon is negative or not finite.
    SimulationError
        If the integrator fails.
    """
    e0 = _check("E0", E0, positive=False, allowed="a finite number of cells >= 0")
    tum0 = _check("T0", T0, positive=False, allowed="a finite number of cells >= 0")
    t_end = _check("t_end_days", t_end_days, positive=True, allowed="a finite number of days > 0")
    sol = solve_ivp(
        _scaled_rhs,
        (0.0, t_end),
        [e0 / CELL_SCALE, tum0 / CELL_SCALE],
        method="LSODA",
        args=(params,),
        jac=_scaled_jac,
        rtol=rtol,
        atol=1e-12,
        dense_output=t_eval is not None,
    )
    if not sol.success:
        raise SimulationError(f"Kuznetsov model from E0={E0:g}, T0={T0:g}: {sol.message}")
    end = sol.y[:, -1] * CELL_SCALE  # the last step lands on t_end exactly
    if t_eval is None:
        t, (e, tum) = sol.t, sol.y * CELL_SCALE
    else:
        t = np.asarray(t_eval, dtype=float)
        e, tum = sol.sol(t) * CELL_SCALE
    outcome, settled = _outcome(params, float(end[0]), float(end[1]))
    return KuznetsovTrajectory(t=t, E=e, T=tum, outcome=outcome, settled=settled)


def separatrix_size(
    params: KuznetsovParameters,
    E0: float,
    *,
    t_end_days: float = 3000.0,
    low_cells: float = 1.0,
    high_cells: float | None = None,
    rtol: float = 1e-6,
) -> float | None:
    """Initial tumour size (cells) separating escape from no escape for ``E0`` effector cells.

    Bisection on ``log T0`` between ``low_cells`` and ``high_cells`` (default the carrying
    capacity ``1/b``) on the outcome of :func:`simulate` over ``t_end_days``: colonies
    started below the returned size end dormant (or eliminated), those above escape. This is
    the point where the saddle's stable manifold crosses ``E = E0``. With the BCL1 set and
    ``E0 = s/d`` it is 6.408e7 cells; the outcome is monotone in ``T0`` there (smaller colonies
    spiral into dormancy, larger ones escape). Where the outcome is not monotone in ``T0``
    bisection returns one of the boundaries.

    Returns
    -------
    float or None
        The size, to ``rtol`` relative; None if both ends give the same kind of outcome (e.g.
        no escape state, or escape whatever the size).
    """
    lo = _check("low_cells", low_cells, positive=True, allowed="a finite number of cells > 0")
    hi = (
        params.capacity_cells
        if high_cells is None
        else _check("high_cells", high_cells, positive=True, allowed="a finite number of cells > 0")
    )
    if hi <= lo:
        raise ParameterError(f"high_cells: got {hi:g}; allowed: a number > low_cells = {lo:g}")

    def escapes(t0: float) -> bool:
        return simulate(params, E0, t0, t_end_days).outcome == "escape"

    if escapes(lo) == escapes(hi):
        return None
    esc_lo = escapes(lo)
    a, b = math.log(lo), math.log(hi)
    while b - a > rtol:
        mid = 0.5 * (a + b)
        if escapes(math.exp(mid)) == esc_lo:
            a = mid
        else:
            b = mid
    return float(math.exp(0.5 * (a + b)))
