"""Deterministic engines with an establishment phase (``establishment=``): delayed entry.

A colony founded at rate b(t) seeds nothing during its birth-death phase (random time T, the
tabulated law of :class:`~metacascade.model.establishment.Establishment`) and then grows
deterministically from ``entry_cells``; the engines return the expectation of that hybrid
process for the colonies that have entered the deterministic track. Checked against the closed
form without secondary seeding (quad over the piecewise-linear CDF), against the undelayed
engine's founding rate convolved with the law of T, against a brute-force trapezoid solution of
the entry-rate renewal equation (forcing f_T * f, kernel f_T * k_N computed here in closed form),
against the scalar engine (constant row sums of R), for identity with no or a trivial
establishment phase, and for bad arguments.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy.integrate import quad

from metacascade.engines.deterministic import AccuracyWarning, solve_deterministic
from metacascade.engines.organs import solve_organs
from metacascade.errors import ParameterError
from metacascade.model.establishment import Establishment
from metacascade.model.growth import Exponential, Gompertz
from metacascade.model.metastasis import MetastasisModel
from metacascade.model.shedding import PowerShedding

COLONY = Exponential(0.05)
EST = Establishment(COLONY, 1, 200, 0.5)  # T in about [28, 687] days, mean 103 days
LAMBDA_P, M_P, M_C = 0.02, 1e-3, 1e-4
HORIZON = 600.0


def exponential_model(*, secondary: bool) -> MetastasisModel:
    return MetastasisModel(
        Exponential(LAMBDA_P),
        COLONY,
        PowerShedding(M_P, 1.0),
        colony_shedding=PowerShedding(M_C, 1.0),
        secondary_seeding=secondary,
    )


def convolved_with_cdf(g, t: float) -> float:
    r""":math:`\int_0^t g(t-u)\,F_T(u)\,du` by quad, F_T the tabulated (piecewise-linear) CDF."""
    t_tab = EST.t_table
    inner = t_tab[(t_tab > 0) & (t_tab < t)]
    bulk = quad(
        lambda u: g(t - u) * float(EST.cdf(u)),
        0.0,
        min(t, t_tab[-1]),
        points=inner,
        limit=inner.size + 200,
        epsabs=0.0,
        epsrel=1e-13,
    )[0]
    if t > t_tab[-1]:  # F_T = 1 beyond the table
        bulk += quad(lambda u: g(t - u), t_tab[-1], t, epsabs=0.0, epsrel=1e-13)[0]
    return bulk


def convolved_with_density(g, t: float) -> float:
    r""":math:`\int_0^t g(t-u)\,f_T(u)\,du` by quad over the steps of the tabulated density."""
    t_tab, rho = EST.step_density()
    total = 0.0
    for k in range(rho.size):
        lo, hi = t_tab[k], min(t_tab[k + 1], t)
        if lo >= t:
            break
        total += rho[k] * quad(lambda u: g(t - u), lo, hi, epsabs=0.0, epsrel=1e-13)[0]
    return total


def convolved_by_steps(g, t: float, kernel) -> float:
    r""":math:`\int_0^t g(t-u)\,K(u)\,du` for ``K`` = ``kernel`` (vectorised) smooth on every step of
    the table and constant 1 (CDF) or 0 (density) beyond it: 8-point Gauss-Legendre per step.
    ``g`` vectorised, 0 for negative arguments."""
    x, w = np.polynomial.legendre.leggauss(8)
    t_tab = EST.t_table
    lo, hi = np.minimum(t_tab[:-1], t), np.minimum(t_tab[1:], t)
    mid, half = 0.5 * (hi + lo), 0.5 * (hi - lo)
    u = (mid[:, None] + half[:, None] * x[None, :]).ravel()
    total = float(np.sum((half[:, None] * w[None, :]).ravel() * g(t - u) * kernel(u)))
    if t > t_tab[-1] and kernel(np.array([t_tab[-1] + 1.0]))[0] == 1.0:  # the CDF beyond the table
        total += quad(lambda v: float(g(np.array([t - v]))[0]), t_tab[-1], t, epsabs=0.0, epsrel=1e-13)[0]
    return total


def step_convolution_exp(t: np.ndarray, amplitude: float, rate: float) -> np.ndarray:
    r"""Closed form of :math:`(f_T * a e^{r \cdot})(t)` for the step density of EST (t 1-D)."""
    t_tab, rho = EST.step_density()
    out = np.empty(t.size)
    for start in range(0, t.size, 2048):  # bounded memory
        tt = t[start : start + 2048, None]
        lo, hi = np.minimum(t_tab[:-1], tt), np.minimum(t_tab[1:], tt)
        pieces = rho * amplitude / rate * (np.exp(rate * (tt - lo)) - np.exp(rate * (tt - hi)))
        out[start : start + 2048] = pieces.sum(axis=1)
    return out


# ---------------------------------------------------------------------------------------------
# 1. Without secondary seeding: closed form N(t) = int_0^t m e^{lambda s} F_T(t - s) ds.


def test_no_secondary_seeding_matches_the_closed_form() -> None:
    """n_total and the entry rate of both engines against quad over the tabulated law (1e-8).

    Measured: 3e-13 (n_total, t = 35 days, just after the least establishment time) to 2e-15.
    """
    model = exponential_model(secondary=False)
    scalar = solve_deterministic(model, 1000.0, establishment=EST)
    organs = solve_organs(model, ["only"], [1.0], None, 1000.0, establishment=EST)
    assert scalar.model.colony_size0 == 200.0 and organs.model.colony_size0 == 200.0
    assert scalar.model.colony_growth == COLONY

    def f(s: float) -> float:
        return M_P * math.exp(LAMBDA_P * s) if s >= 0 else 0.0

    times = [35.0, 50.0, 100.0, 300.0, 686.0, 700.0, 1000.0]  # the table ends at 686.6 days
    n_exact = np.array([convolved_with_cdf(f, t) for t in times])
    e_exact = np.array([convolved_with_density(f, t) for t in times])
    for sol in (scalar, organs.per_organ["only"]):
        np.testing.assert_allclose(sol.n_total(times), n_exact, rtol=1e-8, atol=0)
        np.testing.assert_allclose(sol.birth_rate(times), e_exact, rtol=1e-8, atol=0)
    assert np.all(scalar.n_total([0.0, 10.0, EST.t_table[0]]) == 0.0)


# ---------------------------------------------------------------------------------------------
# 2. n_above of the delayed engine = undelayed founding convolved with the CDF of T.


def test_n_above_is_the_undelayed_founding_convolved_with_the_establishment_law() -> None:
    r"""n_above(t, x) = int_0^{t - tau} b0(s) F_T(t - tau - s) ds, tau the age from 200 to x cells.

    b0: founding rates of the undelayed organ engine (Gompertz primary, two organs, no
    secondary seeding, so that delay does not change them). Also the density,
    e(t - tau)/g(x). Measured agreement ~1e-10 (b0's own spline error); asserted 1e-6.
    """
    model = MetastasisModel(
        Gompertz(a_per_day=0.00286, b_cells=7.3e10), COLONY, PowerShedding(5.3e-8, 0.663), secondary_seeding=False
    )
    p = [0.3, 0.7]
    delayed = solve_organs(model, ["a", "b"], p, None, 1000.0, establishment=EST)
    undelayed = solve_organs(model, ["a", "b"], p, None, 1000.0)
    t_tab, rho = EST.step_density()

    def density_of_t(u: np.ndarray) -> np.ndarray:
        return np.where(
            (u > t_tab[0]) & (u < t_tab[-1]), rho[np.clip(np.searchsorted(t_tab, u) - 1, 0, rho.size - 1)], 0.0
        )

    cases = [(400.0, 1e3), (700.0, 1e5), (1000.0, 1e3), (1000.0, 1e7)]
    for t, x in cases:
        tau = math.log(x / EST.entry_cells) / COLONY.rate_per_day
        for j, organ in enumerate(("a", "b")):
            b0 = undelayed.per_organ[organ]

            def rate(s: np.ndarray, b0=b0) -> np.ndarray:
                return np.where(s >= 0, b0.birth_rate(np.clip(s, 0.0, None)), 0.0)

            above = convolved_by_steps(rate, t - tau, EST.cdf)
            density = convolved_by_steps(rate, t - tau, density_of_t) / float(COLONY.rate(x))
            assert delayed.n_above(t, x)[j] == pytest.approx(above, rel=1e-6)
            assert delayed.density(t, x)[j] == pytest.approx(density, rel=1e-6)


# ---------------------------------------------------------------------------------------------
# 3. With secondary seeding: brute force on the entry-rate equation.


def brute_force_entry_rate(steps: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Trapezoid solution of e(t) = (f_T*f)(t) + int_0^t (f_T*k_N)(t-s) e(s) ds on ``steps`` steps.

    f = m_p e^{lambda_p t}, k_N(a) = m_c N e^{lambda_c a}; f_T * f and f_T * k_N in closed
    form. Plain O(N^2) loop, independent of the engine's method (which solves for the founding
    rate with kink-corrected weights).
    """
    t = np.linspace(0.0, HORIZON, steps + 1)
    h = HORIZON / steps
    forcing = step_convolution_exp(t, M_P, LAMBDA_P)
    kernel = step_convolution_exp(t, M_C * EST.entry_cells, COLONY.rate_per_day)
    e = np.empty(steps + 1)
    e[0] = forcing[0]
    for i in range(1, steps + 1):
        history = 0.5 * kernel[i] * e[0] + np.dot(kernel[i - 1 : 0 : -1], e[1:i])
        e[i] = (forcing[i] + h * history) / (1.0 - 0.5 * h * kernel[0])
    return t, e


def test_secondary_seeding_matches_a_brute_force_solution() -> None:
    """Entry rate (1e-8), entered colonies and burden (1e-5) against the brute force on 16384 steps.

    Measured: entry rate 2e-10; n_total 4e-7 and burden 2e-8, both the error of the brute
    force's trapezoid sums. The default rtol (1e-9) is reached without AccuracyWarning (the
    plain trapezoidal rule, without the kink corrections, is not).
    """
    model = exponential_model(secondary=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", AccuracyWarning)
        sol = solve_deterministic(model, HORIZON, establishment=EST)
    t, e = brute_force_entry_rate(2**14)
    late = t > EST.t_table[0] + 10.0
    np.testing.assert_allclose(sol.birth_rate(t[late]), e[late], rtol=1e-8, atol=0)
    h = t[1] - t[0]
    cumulative = np.concatenate(([0.0], np.cumsum(0.5 * h * (e[1:] + e[:-1]))))
    later = t > 100.0  # the reference's trapezoid is poor where e rises steeply from 0
    np.testing.assert_allclose(sol.n_total(t[later][::97]), cumulative[later][::97], rtol=1e-5, atol=0)
    for i in (4000, 9000, 2**14):
        weights = np.full(i + 1, h)
        weights[[0, -1]] *= 0.5
        burden = np.sum(weights * EST.entry_cells * np.exp(COLONY.rate_per_day * (t[i] - t[: i + 1])) * e[: i + 1])
        assert float(sol.burden(t[i])) == pytest.approx(burden, rel=1e-5)
    # secondary seeding matters here: without it, far fewer colonies
    assert solve_deterministic(exponential_model(secondary=False), HORIZON, establishment=EST).n_total(
        HORIZON
    ) < 0.5 * sol.n_total(HORIZON)


def test_organs_with_constant_row_sums_add_up_to_the_scalar_engine() -> None:
    """Rows of R summing to 1: the organs' totals are the scalar engine's (1e-8); one organ is it.

    Organ c is reached by colonies only (its rates are exactly 0 before twice the least
    establishment time).
    """
    model = exponential_model(secondary=True)
    r = np.array([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3], [0.0, 0.0, 1.0]])
    organs = solve_organs(
        model, ["a", "b", "c"], [0.6, 0.4, 0.0], (r.T, np.eye(3)), HORIZON, rtol=1e-5, establishment=EST
    )
    scalar = solve_deterministic(model, HORIZON, rtol=1e-9, establishment=EST)
    times = np.linspace(60.0, HORIZON, 40)
    np.testing.assert_allclose(organs.n_total(times).sum(axis=-1), scalar.n_total(times), rtol=1e-8)
    np.testing.assert_allclose(organs.total.n_total(times), scalar.n_total(times), rtol=1e-8)
    np.testing.assert_allclose(organs.burden(times).sum(axis=-1), scalar.burden(times), rtol=1e-8)
    np.testing.assert_allclose(organs.birth_rate(times).sum(axis=-1), scalar.birth_rate(times), rtol=1e-8)
    # (its founding rate's spline rings, at ~1e-37 of its scale, where the rate is 0)
    assert abs(organs.n_total(2 * EST.t_table[0] - 1.0)[2]) < 1e-30 * organs.n_total(HORIZON)[2]
    assert np.all(organs.n_total(times)[:, 2] > 0)
    one = solve_organs(model, ["x"], [1.0], (np.ones((1, 1)), np.ones((1, 1))), HORIZON, establishment=EST)
    np.testing.assert_allclose(one.n_total(times)[:, 0], scalar.n_total(times), rtol=1e-12)
    np.testing.assert_allclose(one.burden(times)[:, 0], scalar.burden(times), rtol=1e-12)
    ds = organs.tabulate(times, [200.0, 1e4, 1e8])
    np.testing.assert_allclose(ds["n_above"].values[:, :, 0], organs.n_total(times), rtol=1e-12)


def test_horizon_before_any_colony_can_enter() -> None:
    sol = solve_deterministic(exponential_model(secondary=True), 20.0, establishment=EST)
    assert sol.n_total(20.0) == 0.0 and sol.burden(20.0) == 0.0 and sol.birth_rate(20.0) == 0.0


# ---------------------------------------------------------------------------------------------
# 4. No or a trivial establishment phase: the undelayed engine, bit for bit.


@pytest.mark.parametrize("establishment", [None, Establishment(COLONY, 1, 1, 0.5)], ids=["none", "trivial"])
def test_no_or_trivial_establishment_is_the_undelayed_engine(establishment: Establishment | None) -> None:
    assert establishment is None or establishment.trivial
    model = exponential_model(secondary=True)
    times, sizes = np.linspace(0.0, HORIZON, 25), np.geomspace(1.0, 1e9, 7)
    base = solve_deterministic(model, HORIZON)
    sol = solve_deterministic(model, HORIZON, establishment=establishment)
    assert sol.model is model
    assert np.array_equal(sol.grid, base.grid) and np.array_equal(sol.birth_rate_grid, base.birth_rate_grid)
    assert sol.error_estimate == base.error_estimate
    assert sol.tabulate(times, sizes).identical(base.tabulate(times, sizes))
    factors = (np.array([[0.5], [0.5]]), np.array([[1.0, 1.0]]))
    base_o = solve_organs(model, ["a", "b"], [0.3, 0.7], factors, HORIZON)
    sol_o = solve_organs(model, ["a", "b"], [0.3, 0.7], factors, HORIZON, establishment=establishment)
    assert np.array_equal(sol_o.birth_rate_grid, base_o.birth_rate_grid)
    assert sol_o.tabulate(times, sizes).identical(base_o.tabulate(times, sizes))


# ---------------------------------------------------------------------------------------------
# 5. Bad arguments.


def _solve(engine: str, model: MetastasisModel, establishment: object):
    if engine == "scalar":
        return solve_deterministic(model, 100.0, establishment=establishment)  # type: ignore[arg-type]
    return solve_organs(model, ["a"], [1.0], (np.ones((1, 1)), np.ones((1, 1))), 100.0, establishment=establishment)  # type: ignore[arg-type]


@pytest.mark.parametrize("engine", ["scalar", "organs"])
@pytest.mark.parametrize(
    ("establishment", "field"),
    [
        ("switch at 1000 cells", "establishment: got str"),
        (0.5, "establishment: got float"),
        (Establishment(Exponential(0.06), 1, 200, 0.5), "establishment.colony_growth"),
        (Establishment(COLONY, 2, 200, 0.5), "establishment.colony_size0"),
        (Establishment(COLONY, 2, 2, 0.5), "establishment.colony_size0"),  # trivial, still checked
    ],
    ids=["str", "float", "other-growth", "other-size0", "trivial-other-size0"],
)
def test_bad_establishment_is_a_parameter_error(engine: str, establishment: object, field: str) -> None:
    with pytest.raises(ParameterError, match=field.replace(".", r"\.")):
        _solve(engine, exponential_model(secondary=True), establishment)
