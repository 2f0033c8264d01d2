r"""Establishment of a new colony: the birth-death phase from its founding cells to the switch size.

A colony founded with :math:`x_0` cells (``colony_size0``, a whole number) is a birth-death
process while it is small: each of its :math:`n` cells divides at rate :math:`b(n)` and dies at
rate :math:`d(n) = q\,b(n)`, with net rate :math:`b(n) - d(n) = g(n)/n`, the per-cell rate of
the colony's growth law (so the mean field of this phase *is* the growth law). The death/birth
ratio :math:`q` is the same at every size, so the jump chain is a simple random walk (up with
probability :math:`1/(1+q)`) and the colony reaches the switch size :math:`N` (``switch_cells``)
before dying out with the gambler's-ruin probability

.. math:: s = \frac{1 - q^{x_0}}{1 - q^{N}}

(Karlin & Taylor 1975, ch. 3). :math:`q` is chosen so that :math:`s` equals the body graph's
``early_survival``: the probability that a new colony survives early extinction. A colony that
reaches :math:`N` grows deterministically from then on (the hybrid of docs/design.md section 2); the
chance :math:`q^N` that it would still have died out is below 1e-30 for :math:`q = 1/2`,
:math:`N = 100`.

Conditioned on reaching :math:`N`, the phase is a Markov chain on :math:`1, \dots, N-1` with the
Doob h-transformed rates (:math:`h(n) = (1-q^n)/(1-q^N)`): up :math:`n b(n) h(n+1)/h(n)`, down
:math:`n d(n) h(n-1)/h(n)`; the time :math:`T` it takes is phase-type,
:math:`P(T \le t) = 1 - e_{x_0}^\mathsf{T} e^{S t}\mathbf{1}` (Neuts 1981), with mean
:math:`e_{x_0}^\mathsf{T}(-S)^{-1}\mathbf{1}`. :class:`Establishment` tabulates this law once
(its characteristic function, inverted by FFT) as a piecewise-linear CDF on ``n_table`` equal steps;
the stochastic engine samples :math:`T` by inverting that CDF, and the deterministic engine
convolves seeding with the same piecewise-constant density, so both average the same law.
:func:`with_dormancy` extends the law with immune dormancy after the switch (the delay
:math:`T + D`, :math:`D` zero or exponential), the deterministic engine's dormant compartment.

References
----------
.. [1] Karlin S, Taylor HM. A First Course in Stochastic Processes. 2nd ed. Academic Press 1975.
.. [2] Neuts MF. Matrix-Geometric Solutions in Stochastic Models. Johns Hopkins 1981.
.. [3] Feller W. An Introduction to Probability Theory and Its Applications, vol. I, 3rd ed.
   Wiley 1968 (first passages of birth-death chains).
.. [4] Athreya KB, Ney PE. Branching Processes. Springer 1972 (extinction of birth-death
   processes: 1 - d/b survival from one cell).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse
from scipy.optimize import brentq
from scipy.sparse.linalg import splu

from metacascade.errors import ParameterError
from metacascade.model.growth import GrowthLaw

__all__ = ["MAX_DORMANT_STEPS", "MAX_SWITCH_CELLS", "Establishment", "death_ratio_for_survival", "with_dormancy"]

FloatArray = NDArray[np.float64]

MAX_SWITCH_CELLS = 100_000  # the phase-type chain has switch_cells - 1 states
_TAIL = 1e-13  # probability left out at either end of the table
_DORMANT_TAIL = 1e-12  # with_dormancy: probability left out beyond the end of the table
MAX_DORMANT_STEPS = 2**16  # with_dormancy: most steps of an automatic table
_ATOM_STEP = 0.25  # with_dormancy of a trivial law: least step (days) of the automatic table


def death_ratio_for_survival(survival: float, x0: int, n_switch: int) -> float:
    """The death/birth ratio ``q`` with ``(1 - q**x0) / (1 - q**n_switch) == survival``.

    ``survival`` must lie in ``(x0/n_switch, 1]`` (a walk with ``q < 1`` reaches ``n_switch``
    with at least that probability); 1 gives ``q = 0`` (pure birth).
    """
    if not (x0 / n_switch < survival <= 1.0):
        raise ParameterError(
            f"early_survival: got {survival!r}, allowed ({x0 / n_switch:g}, 1] for colonies of "
            f"{x0} founding cell(s) and switch_cells = {n_switch} (lower it, or raise switch_cells)"
        )
    if survival == 1.0:
        return 0.0

    def excess(q: float) -> float:
        return -math.expm1(x0 * math.log(q)) - survival * -math.expm1(n_switch * math.log(q))

    lo, hi = 1e-300, 1.0 - 1e-15
    if excess(hi) > 0:  # survival within rounding of x0/n_switch
        return hi
    return float(brentq(excess, lo, hi, xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=500))


def _h(q: float, n: FloatArray, n_switch: int) -> FloatArray:
    """P(reach n_switch before 0 | n cells) for the walk with death/birth ratio q."""
    if q == 0.0:
        return np.where(n > 0, 1.0, 0.0)
    lq = math.log(q)
    return np.expm1(n * lq) / math.expm1(n_switch * lq)


@dataclass(frozen=True)
class Establishment:
    r"""Law of the time a surviving colony takes from ``colony_size0`` to ``switch_cells`` cells.

    Parameters
    ----------
    colony_growth : GrowthLaw
        the colony's growth law (its per-cell rate :math:`g(n)/n` is the net birth-death rate).
    colony_size0 : float
        founding cells :math:`x_0` (a whole number >= 1 when ``switch_cells > colony_size0``).
    switch_cells : float
        switch size :math:`N` (whole number, ``colony_size0 <= N <= MAX_SWITCH_CELLS``, below the
        growth law's capacity); ``N <= colony_size0`` means no birth-death phase (``T = 0``).
    survival : float
        probability that a founded colony reaches ``switch_cells`` (``early_survival``).
    n_table : int
        steps of the tabulated CDF (>= 64).

    Attributes (derived)
    --------------------
    death_ratio : float
        :math:`q = d/b`.
    t_table, cdf_table : ndarray
        the tabulated CDF (piecewise linear between the nodes; 0 at the first, 1 at the last).
    mean_exact, sd_exact : float
        mean and standard deviation of the exact phase-type law (days).
    """

    colony_growth: GrowthLaw
    colony_size0: float
    switch_cells: float
    survival: float
    n_table: int = 2048
    death_ratio: float = field(init=False)
    t_table: FloatArray = field(init=False, repr=False)
    cdf_table: FloatArray = field(init=False, repr=False)
    mean_exact: float = field(init=False)
    sd_exact: float = field(init=False)

    def __post_init__(self) -> None:
        x0, n_sw = float(self.colony_size0), float(self.switch_cells)
        if not (math.isfinite(n_sw) and n_sw >= 1):
            raise ParameterError(f"switch_cells: got {self.switch_cells!r}, allowed a whole number of cells >= 1")
        if not (0.0 < float(self.survival) <= 1.0):
            raise ParameterError(f"early_survival: got {self.survival!r}, allowed (0, 1]")
        if int(self.n_table) < 64:
            raise ParameterError(f"n_table: got {self.n_table!r}, allowed an integer >= 64")

        def set_(k: str, v: object) -> None:
            object.__setattr__(self, k, v)

        if n_sw <= x0:  # no birth-death phase: colonies grow deterministically from the start
            set_("death_ratio", 1.0 - float(self.survival))
            set_("t_table", np.zeros(2))
            set_("cdf_table", np.array([0.0, 1.0]))
            set_("mean_exact", 0.0)
            set_("sd_exact", 0.0)
            return
        if x0 != round(x0) or n_sw != round(n_sw):
            raise ParameterError(
                f"switch_cells: got {self.switch_cells!r} with colony_size0 {self.colony_size0!r}; "
                "the birth-death phase needs whole numbers of cells"
            )
        if n_sw > MAX_SWITCH_CELLS:
            raise ParameterError(f"switch_cells: got {self.switch_cells!r}, allowed at most {MAX_SWITCH_CELLS}")
        if n_sw >= self.colony_growth.capacity:
            raise ParameterError(
                f"switch_cells: got {n_sw:g}, must be below the colony growth capacity {self.colony_growth.capacity:g}"
            )
        x0_i, n_i = int(x0), int(n_sw)
        q = death_ratio_for_survival(float(self.survival), x0_i, n_i)
        set_("death_ratio", q)
        s_mat, start = self._generator(q, x0_i, n_i)
        ones = np.ones(s_mat.shape[0])
        lu = splu((-s_mat).tocsc())
        m1 = lu.solve(ones)  # E[T | n] for every start n
        m2 = 2.0 * lu.solve(m1)
        mean, second = float(m1[start]), float(m2[start])
        set_("mean_exact", mean)
        set_("sd_exact", math.sqrt(max(second - mean * mean, 0.0)))
        t_tab, cdf = self._tabulate(s_mat, start)
        set_("t_table", t_tab)
        set_("cdf_table", cdf)

    # -- construction -------------------------------------------------------------------
    def _generator(self, q: float, x0: int, n_switch: int) -> tuple[sparse.csr_matrix, int]:
        """Sub-generator S of the conditioned chain on 1..N-1 and the index of the start state."""
        n = np.arange(1, n_switch, dtype=float)
        r = np.asarray(self.colony_growth.specific_rate(n), dtype=float)
        if not np.all(np.isfinite(r) & (r > 0)):
            raise ParameterError(
                "switch_cells: the colony growth law does not grow at every size below "
                f"switch_cells = {n_switch} (its per-cell rate must be > 0 there)"
            )
        b = r / (1.0 - q)
        d = q * b
        h = _h(q, np.arange(0, n_switch + 1, dtype=float), n_switch)
        up = n * b * h[2:] / h[1:-1]
        down = n * d * h[:-2] / h[1:-1]
        diag = -(n * (b + d))
        s_mat = sparse.diags([down[1:], diag, up[:-1]], [-1, 0, 1], format="csr")
        return s_mat, x0 - 1

    def _tabulate(self, s_mat: sparse.csr_matrix, start: int) -> tuple[FloatArray, FloatArray]:
        r"""Piecewise-linear CDF on ``n_table`` equal steps over the bulk of the law.

        The chain is skip-free upwards, so T is the sum of the independent passage times
        :math:`\tau_n` from n to n+1 (n = x0..N-1), whose Laplace transforms obey
        :math:`\phi_n(s) = u_n / (s + u_n + d_n - d_n \phi_{n-1}(s))` (Feller 1968, XVII).
        The characteristic function of T, their product, is inverted by FFT on ``2**15`` points
        over ``[0, mean + 40 sd]`` and the density integrated (cumulative Simpson).
        """
        last_down = s_mat.diagonal(-1)[-1] if s_mat.shape[0] > 1 else 0.0
        up = np.append(s_mat.diagonal(1), -s_mat.diagonal()[-1] - last_down)
        down = np.concatenate(([0.0], s_mat.diagonal(-1)))
        t_max = max(self.mean_exact + 40.0 * self.sd_exact, 1.5 * self.mean_exact)
        m = 2**15
        dt = t_max / m
        omega = 2.0 * np.pi * np.fft.rfftfreq(m, d=dt)
        s = 1j * omega  # irfft sums X_k e^{+i w t}: X = E[exp(-i w T)] = phi(i w)
        phi_prev = np.zeros_like(s)
        cf = np.ones_like(s)
        for n in range(up.size):  # state n + 1
            phi = up[n] / (s + up[n] + down[n] - down[n] * phi_prev)
            if n >= start:
                cf *= phi
            phi_prev = phi
        density = np.fft.irfft(cf, n=m) / dt
        density = np.clip(density, 0.0, None)
        cdf_fine = np.concatenate(([0.0], np.cumsum(0.5 * (density[1:] + density[:-1]) * dt)))
        t_fine = np.arange(m) * dt
        cdf_fine = cdf_fine / cdf_fine[-1]
        lo_i = max(int(np.searchsorted(cdf_fine, _TAIL, side="right")) - 1, 0)
        hi_i = min(int(np.searchsorted(cdf_fine, 1.0 - _TAIL, side="left")) + 1, m - 1)
        t = np.linspace(t_fine[lo_i], t_fine[hi_i], int(self.n_table) + 1)
        cdf = np.maximum.accumulate(np.interp(t, t_fine, cdf_fine))
        cdf[0], cdf[-1] = 0.0, 1.0  # the < 1e-13 tails are folded into the end steps
        return t, cdf

    # -- the tabulated law --------------------------------------------------------------
    @property
    def trivial(self) -> bool:
        """True when there is no birth-death phase (``switch_cells <= colony_size0``)."""
        return bool(self.t_table[-1] == 0.0)

    @property
    def entry_cells(self) -> float:
        """Size at which colonies join their deterministic growth curve."""
        return float(max(self.switch_cells, self.colony_size0))

    def cdf(self, t: ArrayLike) -> FloatArray:
        """P(T <= t) of the tabulated law."""
        t = np.asarray(t, dtype=float)
        if self.trivial:
            return np.where(t >= 0.0, 1.0, 0.0)
        return np.asarray(np.interp(t, self.t_table, self.cdf_table, left=0.0, right=1.0), dtype=np.float64)

    def quantile(self, u: ArrayLike) -> FloatArray:
        """Inverse of :meth:`cdf` (``u`` in [0, 1])."""
        u = np.asarray(u, dtype=float)
        if self.trivial:
            return np.zeros_like(u)
        return np.asarray(np.interp(u, self.cdf_table, self.t_table), dtype=np.float64)

    def step_density(self) -> tuple[FloatArray, FloatArray]:
        """Nodes ``t`` (K+1) and the constant density on each of the K steps (per day)."""
        if self.trivial:
            return self.t_table.copy(), np.zeros(1)
        return self.t_table.copy(), np.diff(self.cdf_table) / np.diff(self.t_table)

    def mean(self) -> float:
        """Mean of the tabulated law (days); equals :attr:`mean_exact` to the table's accuracy."""
        if self.trivial:
            return 0.0
        mid = 0.5 * (self.t_table[1:] + self.t_table[:-1])
        return float(np.sum(np.diff(self.cdf_table) * mid))

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> FloatArray:
        """Draws of T by inversion of the tabulated CDF."""
        return self.quantile(rng.random(size))


def with_dormancy(
    establishment: Establishment, probability: float, escape_rate: float, n_table: int | None = None
) -> Establishment:
    r"""The law of :math:`T + D`: establishment followed by immune dormancy.

    A colony that reaches the switch size (after its birth-death phase, time :math:`T`) is held
    dormant with probability :math:`p` (``probability``) and escapes at the constant rate
    :math:`\lambda` (``escape_rate``, per day), then grows. Its delay before growth is
    :math:`T + D` with :math:`D` independent of :math:`T`: :math:`D = 0` with probability
    :math:`1 - p`, :math:`D \sim \mathrm{Exp}(\lambda)` with probability :math:`p`. This is the
    dormant compartment of the deterministic engine,

    .. math:: \dot D_c = p\,e(t) - \lambda D_c, \qquad e_\mathrm{grow}(t) = (1-p)\,e(t) + \lambda D_c(t),

    (:math:`e` the rate at which colonies complete their birth-death phase): for a founding rate
    :math:`b`, :math:`e = f_T * b` and :math:`e_\mathrm{grow} = f_{T+D} * b`.

    CDF. With :math:`F, f` the CDF and density of :math:`T`, integration by parts (:math:`F(0) =
    0`; for a trivial law :math:`f` is the atom at 0 and the identity holds as well) gives

    .. math::
        F_{T+D}(t) = (1-p)F(t) + p\int_0^t F(t-s)\,\lambda e^{-\lambda s}\,ds = F(t) - p\,H(t),
        \qquad H(t) = \int_0^t f(u)\,e^{-\lambda (t-u)}\,du,

    and :math:`H' = f - \lambda H` (:math:`pH` is the dormant compartment fed by :math:`f`). On
    each step :math:`[\tau_k, \tau_{k+1}]` of the table the density of :math:`T` is the
    constant :math:`\rho_k`, so :math:`H` is exact there:
    :math:`H(\tau_k + a) = H(\tau_k)e^{-\lambda a} + \rho_k(1 - e^{-\lambda a})/\lambda`, and
    beyond the last node :math:`H(t) = H(\tau_K)e^{-\lambda(t - \tau_K)}`. The new table runs
    from :math:`\tau_0` to where :math:`1 - F_{T+D} = pH < 10^{-12}`, i.e. about
    :math:`\tau_K + \ln(p H(\tau_K)/10^{-12})/\lambda` (that last bit of probability is folded
    into the last step), on equal steps (as the deterministic engine needs); the table's CDF is
    exact at its nodes and linear between them, as that of :class:`Establishment`.

    Moments. :math:`E[D] = p/\lambda`, :math:`E[D^2] = 2p/\lambda^2`, so
    :math:`\mathrm{Var}\,D = 2p/\lambda^2 - p^2/\lambda^2 = p(2-p)/\lambda^2`; :math:`T` and
    :math:`D` are independent, hence ``mean_exact`` :math:`+= p/\lambda` and
    ``sd_exact**2`` :math:`+= p(2-p)/\lambda^2`.

    Parameters
    ----------
    establishment : Establishment
        the law of :math:`T` (a trivial law, :math:`T = 0`, gives :math:`F_{T+D}(t) = 1 -
        p e^{-\lambda t}`: its atom :math:`1 - p` at 0 is spread over the table's first step).
    probability : float
        :math:`p` in [0, 1]; 0 returns ``establishment`` itself.
    escape_rate : float
        :math:`\lambda` > 0 (per day, finite).
    n_table : int, optional
        steps of the new table (>= 64), equal steps from :math:`\tau_0` to the end above. By
        default the input table's own step (its nodes are then nodes of the new table), or its
        double, triple... where ``MAX_DORMANT_STEPS`` would not cover the law; for a trivial law
        0.25 day, or longer where ``MAX_DORMANT_STEPS`` would not cover it. The deterministic
        engine's cost grows as the square of the number of steps before its horizon; the
        error of the piecewise-linear CDF as the square of the step. Measured on
        ``breast_er_negative`` (switch 1000 cells, :math:`T` of sd 13 days on steps of 0.165
        day), p = 1/2, :math:`\lambda` = 1/730 per day: with the default table (steps of 0.33
        day) ``n_above(t, 1e6)`` and ``n_total`` of ``solve_organs`` summed over organs are
        within 6e-7 (relative) of those with the input step from 500 days after diagnosis on
        (burden 3e-6; 2e-5 at diagnosis); steps of 0.66 day: 3e-6, of 1.3 days: 1.2e-5.

    Returns
    -------
    Establishment
        a copy of ``establishment`` with the new ``t_table``, ``cdf_table``, ``n_table``,
        ``mean_exact`` and ``sd_exact`` (the birth-death parameters unchanged).

    Raises
    ------
    ParameterError
        for ``probability`` outside [0, 1], ``escape_rate`` not finite and > 0 or a bad
        ``n_table``.
    """
    p, lam = float(probability), float(escape_rate)
    if not (0.0 <= p <= 1.0):
        raise ParameterError(f"dormancy_probability: got {probability!r}, allowed [0, 1]")
    if not (math.isfinite(lam) and lam > 0.0):
        raise ParameterError(f"dormancy_escape_per_day: got {escape_rate!r}, allowed a finite rate > 0 (per day)")
    if n_table is not None and (int(n_table) != n_table or int(n_table) < 64):
        raise ParameterError(f"n_table: got {n_table!r}, allowed an integer >= 64")
    if p == 0.0 or (establishment.trivial and p <= _DORMANT_TAIL):  # below the table's precision
        return establishment
    nodes, rho = establishment.step_density()
    if establishment.trivial:  # T = 0: H(t) = e^{-lambda t}, H(0) = 1
        nodes, rho = np.zeros(1), np.zeros(0)
    h_nodes = _dormant_inflow(nodes, rho, lam, trivial=establishment.trivial)
    tail_start = float(nodes[-1])
    start = float(nodes[0])
    beyond = p * float(h_nodes[-1])  # 1 - F_{T+D} at the end of the input table
    t_end = tail_start + (math.log(beyond / _DORMANT_TAIL) / lam if beyond > _DORMANT_TAIL else 0.0)
    if n_table is not None:
        steps = int(n_table)
        t_new = np.linspace(start, t_end, steps + 1)
    elif establishment.trivial:
        steps = max(64, min(MAX_DORMANT_STEPS, math.ceil((t_end - start) / _ATOM_STEP)))
        t_new = np.linspace(start, t_end, steps + 1)
    else:
        step0 = float(nodes[1] - nodes[0])
        stride = max(1, math.ceil((t_end - start) / (step0 * MAX_DORMANT_STEPS)))
        steps = math.ceil((t_end - start) / (stride * step0) - 1e-9)
        t_new = np.asarray(start + np.arange(steps + 1) * (stride * step0), dtype=np.float64)
        inside = t_new <= tail_start
        t_new[inside] = nodes[np.minimum(np.arange(steps + 1)[inside] * stride, nodes.size - 1)]  # exactly old nodes
    cdf = establishment.cdf(t_new) - p * _dormant_at(t_new, nodes, rho, h_nodes, lam)
    cdf = np.maximum.accumulate(np.clip(cdf, 0.0, 1.0))
    cdf[0], cdf[-1] = 0.0, 1.0  # the < 1e-12 tail is folded into the last step (trivial law: the atom into the first)
    out = copy.copy(establishment)

    def set_(k: str, v: object) -> None:
        object.__setattr__(out, k, v)

    set_("t_table", t_new)
    set_("cdf_table", cdf)
    set_("n_table", steps)
    set_("mean_exact", establishment.mean_exact + p / lam)
    set_("sd_exact", math.sqrt(establishment.sd_exact**2 + p * (2.0 - p) / lam**2))
    return out


def _dormant_inflow(nodes: FloatArray, rho: FloatArray, lam: float, *, trivial: bool) -> FloatArray:
    r""":math:`H(\tau_k) = \int_0^{\tau_k} f(u) e^{-\lambda(\tau_k - u)} du` at the nodes
    (see :func:`with_dormancy`)."""
    if trivial:
        return np.ones(1)
    decay = np.exp(-lam * np.diff(nodes))
    gain = rho * -np.expm1(-lam * np.diff(nodes)) / lam
    out = np.zeros(nodes.size)
    for k in range(rho.size):  # H_{k+1} = H_k e^{-lam h_k} + rho_k (1 - e^{-lam h_k}) / lam
        out[k + 1] = out[k] * decay[k] + gain[k]
    return out


def _dormant_at(t: FloatArray, nodes: FloatArray, rho: FloatArray, h_nodes: FloatArray, lam: float) -> FloatArray:
    r""":math:`H(t)` in closed form on every step of the table, 0 before it, exponential decay after it."""
    k = np.clip(np.searchsorted(nodes, t, side="right") - 1, 0, nodes.size - 1)
    a = np.maximum(t - nodes[k], 0.0)
    density = np.append(rho, 0.0)[k]  # 0 beyond the last node
    out = h_nodes[k] * np.exp(-lam * a) + density * -np.expm1(-lam * a) / lam
    return np.where(t < nodes[0], 0.0, out)
