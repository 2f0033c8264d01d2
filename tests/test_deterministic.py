"""Deterministic engine (Iwata transport equation by characteristics and the renewal equation).

Checked against closed forms (primary seeding only; exponential growth with secondary seeding),
against an independent finite-volume method of lines, for its O(h^6) convergence and its
error estimate, for the consistency of density, counts and burden, and for bad input.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad
from scipy.special import exp1

from metacascade.engines.deterministic import DeterministicSolution, solve_deterministic
from metacascade.engines.method_of_lines import solve_method_of_lines
from metacascade.errors import ParameterError
from metacascade.model.growth import Exponential, Gompertz
from metacascade.model.metastasis import MetastasisModel
from metacascade.model.shedding import PowerShedding

# Iwata, Kawasaki & Shigesada, J Theor Biol 2000;203:177-186: the values fitted to their
# hepatocellular carcinoma patient (Gompertz a x ln(b/x) for primary and colonies, colonisation
# rate m x^alpha), as recorded in docs/science/iwata2000.md.
IWATA = {"a": 0.00286, "b": 7.3e10, "m": 5.3e-8, "alpha": 0.663}


def gompertz_model(
    a: float, b: float, m: float, alpha: float, *, secondary: bool, primary_size0: float = 1.0
) -> MetastasisModel:
    law = Gompertz(a_per_day=a, b_cells=b)
    return MetastasisModel(
        primary_growth=law,
        colony_growth=law,
        primary_shedding=PowerShedding(m, alpha),
        primary_size0=primary_size0,
        secondary_seeding=secondary,
    )


@pytest.fixture(scope="module")
def iwata() -> DeterministicSolution:
    """Iwata's patient with secondary seeding over 1000 days, default engine settings."""
    return solve_deterministic(gompertz_model(**IWATA, secondary=True), 1000.0)


# ---------------------------------------------------------------------------------------------
# (a) Primary seeding only: closed form with the exponential integral.


def n_total_gompertz(t: np.ndarray, a: float, b: float, m: float, alpha: float, x0: float) -> np.ndarray:
    r"""Colonies founded by a Gompertz primary by time ``t`` (no secondary seeding).

    With :math:`X_p(t) = b\exp(-L e^{-at})`, :math:`L = \ln(b/X_0)`, the seeding rate is
    :math:`B(t) = m X_p(t)^\alpha = m b^\alpha \exp(-\alpha L e^{-at})`. Substituting
    :math:`u = \alpha L e^{-as}` (:math:`ds = -du/(a u)`):

    .. math:: N(t) = \int_0^t B = \frac{m b^\alpha}{a}\int_{\alpha L e^{-at}}^{\alpha L}
              \frac{e^{-u}}{u}\,du = \frac{m b^\alpha}{a}\big[E_1(\alpha L e^{-at})
              - E_1(\alpha L)\big],

    which for :math:`X_0 = 1` is Iwata's :math:`L = \ln b`.
    """
    big_l = math.log(b / x0)
    return m * b**alpha / a * (exp1(alpha * big_l * np.exp(-a * t)) - exp1(alpha * big_l))


PRIMARY_ONLY = [
    pytest.param(dict(IWATA, x0=1.0), 1500.0, id="iwata"),
    pytest.param(dict(IWATA, x0=1e6), 1000.0, id="iwata-from-1e6-cells"),
    pytest.param(dict(IWATA, x0=3e9), 600.0, id="iwata-from-3e9-cells"),
    pytest.param({"a": 0.01, "b": 1e12, "m": 1e-6, "alpha": 1.0, "x0": 1.0}, 1000.0, id="fast-volume"),
    pytest.param({"a": 0.05, "b": 1e9, "m": 1e-5, "alpha": 0.5, "x0": 10.0}, 300.0, id="very-fast"),
]


@pytest.mark.parametrize(("p", "horizon"), PRIMARY_ONLY)
def test_primary_only_matches_exponential_integral(p: dict, horizon: float) -> None:
    """n_total, n_above, density and burden equal their closed forms to 1e-6 relative.

    n_above(t, x) = N(t - T(x)) with T(x) = ln(ln(b/1)/ln(b/x))/a (colonies start at 1 cell);
    density = B(t - T(x))/g(x); burden = int_0^t X_c(t-s) B(s) ds by adaptive quadrature.
    """
    a, b, m, alpha, x0 = p["a"], p["b"], p["m"], p["alpha"], p["x0"]
    sol = solve_deterministic(gompertz_model(a, b, m, alpha, secondary=False, primary_size0=x0), horizon)
    t = np.linspace(horizon / 200, horizon, 200)
    # 1e-6 is the requirement; the engine is ~1e-10 here (see the convergence tests).
    np.testing.assert_allclose(sol.n_total(t), n_total_gompertz(t, a, b, m, alpha, x0), rtol=1e-6, atol=0)

    sizes = np.logspace(0.5, math.log10(b) - 0.5, 30)
    age = np.log(math.log(b) / np.log(b / sizes)) / a
    tt = horizon * np.array([0.3, 0.6, 1.0])[:, None]
    born = tt - age[None, :]
    expected = np.where(born > 0, n_total_gompertz(np.maximum(born, 0.0), a, b, m, alpha, x0), 0.0)
    np.testing.assert_allclose(sol.n_above(tt, sizes[None, :]), expected, rtol=1e-6, atol=0)
    birth = m * (b * np.exp(-math.log(b / x0) * np.exp(-a * born))) ** alpha
    expected_density = np.where(born >= 0, birth / (a * sizes * np.log(b / sizes)), 0.0)
    np.testing.assert_allclose(sol.density(tt, sizes[None, :]), expected_density, rtol=1e-6, atol=0)

    law = Gompertz(a, b)
    for ti in tt[:, 0]:
        burden, _ = quad(
            lambda s, ti=ti: law.solve(1.0, ti - s) * m * law.solve(x0, s) ** alpha, 0.0, ti, epsrel=1e-12, limit=500
        )
        assert sol.burden(ti) == pytest.approx(burden, rel=1e-6)


def test_iwata_published_values_give_finite_counts(iwata: DeterministicSolution) -> None:
    """Sanity of the published fit: tens of metastases after ~3 years, the largest below b."""
    n = float(iwata.n_total(1000.0))
    assert 10 < n < 1000
    assert iwata.n_above(1000.0, 7.3e10) == 0.0
    assert iwata.n_total(1000.0) > float(n_total_gompertz(np.array(1000.0), **IWATA, x0=1.0))


# ---------------------------------------------------------------------------------------------
# (b) Secondary seeding: exponential growth, alpha = 1, closed form by Laplace transform.


class ExponentialCascade:
    r"""Closed-form solution with secondary seeding for exponential growth and ``alpha = 1``.

    Primary :math:`X_p = X_0 e^{\lambda_p t}` shedding :math:`m_p X`; colonies founded at
    :math:`x_0` grow as :math:`x_0 e^{\lambda\tau}` and shed :math:`m_c x`. The renewal equation
    :math:`B(t) = f(t) + \int_0^t k(t-s)B(s)\,ds` has :math:`f = m_p X_0 e^{\lambda_p t}`,
    :math:`k(\tau) = \mu e^{\lambda\tau}` with :math:`\mu = m_c x_0`. Laplace transforms give
    :math:`\hat B = \hat f/(1-\hat k) = \frac{m_p X_0}{s-\lambda_p}\,\frac{s-\lambda}{s-r}`,
    :math:`r = \lambda + \mu`, so for :math:`\lambda_p \ne r`

    .. math:: B(t) = m_p X_0\big(c_1 e^{\lambda_p t} + c_2 e^{r t}\big),\quad
              c_1 = \frac{\lambda_p - \lambda}{\lambda_p - r},\quad c_2 = 1 - c_1

    (with :math:`\lambda_p = \lambda`: :math:`B = m_p X_0 e^{(\lambda+\mu)t}`). Then
    :math:`N(t) = m_p X_0[c_1(e^{\lambda_p t}-1)/\lambda_p + c_2(e^{rt}-1)/r]`,
    :math:`N(t, >x) = N(t - \ln(x/x_0)/\lambda)`, :math:`\rho = B(t - T(x))/(\lambda x)` and the
    burden :math:`M(t) = \int_0^t x_0 e^{\lambda(t-s)}B(s)\,ds
    = x_0 m_p X_0[c_1 (e^{\lambda_p t} - e^{\lambda t})/(\lambda_p - \lambda)
    + c_2 (e^{rt} - e^{\lambda t})/\mu]` (the first term absent when :math:`c_1 = 0`).
    """

    def __init__(self, lam_p: float, lam: float, m_p: float, m_c: float, big_x0: float, x0: float) -> None:
        self.lam_p, self.lam, self.m_p, self.big_x0, self.x0 = lam_p, lam, m_p, big_x0, x0
        self.mu = m_c * x0
        self.r = lam + self.mu
        self.c1 = (lam_p - lam) / (lam_p - self.r)
        self.c2 = 1.0 - self.c1
        self.model = MetastasisModel(
            primary_growth=Exponential(lam_p),
            colony_growth=Exponential(lam),
            primary_shedding=PowerShedding(m_p, 1.0),
            colony_shedding=PowerShedding(m_c, 1.0),
            primary_size0=big_x0,
            colony_size0=x0,
            secondary_seeding=True,
        )

    def birth_rate(self, t):
        return self.m_p * self.big_x0 * (self.c1 * np.exp(self.lam_p * t) + self.c2 * np.exp(self.r * t))

    def n_total(self, t):
        t = np.maximum(t, 0.0)
        return (
            self.m_p
            * self.big_x0
            * (self.c1 * np.expm1(self.lam_p * t) / self.lam_p + self.c2 * np.expm1(self.r * t) / self.r)
        )

    def n_above(self, t, x):
        return self.n_total(t - np.log(np.maximum(x, self.x0) / self.x0) / self.lam)

    def density(self, t, x):
        born = t - np.log(x / self.x0) / self.lam
        return np.where((born >= 0) & (x >= self.x0), self.birth_rate(born) / (self.lam * x), 0.0)

    def burden(self, t):
        first = 0.0
        if self.c1 != 0.0:
            first = self.c1 * (np.exp(self.lam_p * t) - np.exp(self.lam * t)) / (self.lam_p - self.lam)
        second = self.c2 * np.exp(self.lam * t) * np.expm1(self.mu * t) / self.mu
        return self.x0 * self.m_p * self.big_x0 * (first + second)


CASCADES = [
    pytest.param(ExponentialCascade(0.01, 0.01, 2e-3, 2e-3, 1.0, 1.0), 500.0, id="same-rates"),
    pytest.param(ExponentialCascade(0.02, 0.01, 1e-3, 5e-4, 1e3, 10.0), 400.0, id="faster-primary"),
    pytest.param(ExponentialCascade(0.005, 0.03, 1e-6, 1e-4, 1e6, 1.0), 300.0, id="faster-colonies"),
]


@pytest.mark.parametrize(("exact", "horizon"), CASCADES)
def test_secondary_seeding_matches_laplace_solution(exact: ExponentialCascade, horizon: float) -> None:
    """n_total, n_above, density, burden and the seeding rate to 1e-6 relative."""
    if exact.c1 == 0.0:  # the brief's special case B = m e^{(l+m)t}
        t = np.linspace(0.0, horizon, 7)
        np.testing.assert_allclose(exact.birth_rate(t), exact.m_p * np.exp(exact.r * t), rtol=1e-14)
    sol = solve_deterministic(exact.model, horizon)
    t = np.linspace(horizon / 100, horizon, 100)
    # 1e-6: the required accuracy; the engine is at ~1e-11 here (see test_observed_order_is_six).
    np.testing.assert_allclose(sol.birth_rate(t), exact.birth_rate(t), rtol=1e-6, atol=0)
    np.testing.assert_allclose(sol.n_total(t), exact.n_total(t), rtol=1e-6, atol=0)
    np.testing.assert_allclose(sol.burden(t), exact.burden(t), rtol=1e-6, atol=0)
    front = exact.x0 * math.exp(exact.lam * horizon)
    sizes = np.geomspace(exact.x0, 0.999 * front, 40)[None, :]
    tt = t[::10, None]
    np.testing.assert_allclose(sol.n_above(tt, sizes), exact.n_above(tt, sizes), rtol=1e-6, atol=0)
    np.testing.assert_allclose(sol.density(tt, sizes), exact.density(tt, sizes), rtol=1e-6, atol=0)
    assert np.all(sol.n_above(horizon, [1.001 * front, 10 * front]) == 0.0)


# ---------------------------------------------------------------------------------------------
# (c) Against the independent method of lines at Iwata's values, with secondary seeding.

MOL_TIMES = np.array([300.0, 600.0, 1000.0])
MOL_SIZES = np.array([10.0, 1e3, 1e5, 1e7, 1e9])


@pytest.fixture(scope="module")
def mol_runs() -> dict[int, object]:
    model = gompertz_model(**IWATA, secondary=True)
    return {n: solve_method_of_lines(model, MOL_TIMES, MOL_SIZES, n_cells=n) for n in (250, 500, 1000)}


@pytest.mark.parametrize("name", ["n_metastases", "n_above", "burden_cells", "seeding_rate_per_day"])
def test_engine_agrees_with_method_of_lines(iwata: DeterministicSolution, mol_runs, name: str) -> None:
    """Engine == MOL(1000 cells) within twice the MOL's own change from 500 to 1000 cells."""
    engine = iwata.tabulate(MOL_TIMES, MOL_SIZES)[name].values
    fine, coarse = mol_runs[1000][name].values, mol_runs[500][name].values
    change = np.abs(fine - coarse)
    # For order p >= 1 the error of the finer grid is <= change/(2^p - 1) <= change; x2 for safety;
    # the floor covers sizes beyond the largest colony, where both are ~0.
    tolerance = 2.0 * change + 1e-12 * float(np.max(np.abs(engine)))
    assert np.all(np.abs(engine - fine) <= tolerance)
    reached = engine > 1e-3 * engine.max()
    assert np.max(change[reached] / engine[reached]) < 1e-3  # the comparison is not vacuous


def test_method_of_lines_converges_to_engine_at_third_order(iwata: DeterministicSolution, mol_runs) -> None:
    """The MOL error against the engine falls ~8x per halving of the cells (kappa = 1/3 scheme).

    If the engine were off by more than the MOL error, the ratio would collapse towards 1.
    """
    engine = iwata.tabulate(MOL_TIMES, MOL_SIZES)
    for name in ("n_metastases", "burden_cells"):
        errors = [float(np.max(np.abs(mol_runs[n][name].values / engine[name].values - 1))) for n in (250, 500, 1000)]
        orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
        assert np.all(orders > 2.5), (name, errors, orders)  # third order expected, 2.5 allows noise


def test_method_of_lines_converges_to_laplace_solution() -> None:
    """The reference itself: third-order convergence to the closed form of (b), tiny outflow."""
    exact, t = ExponentialCascade(0.02, 0.01, 1e-3, 5e-4, 1e3, 10.0), np.array([100.0, 250.0, 400.0])
    runs = {n: solve_method_of_lines(exact.model, t, [10.0, 1e3], n_cells=n) for n in (100, 200, 400)}
    for name, expected in (("n_metastases", exact.n_total(t)), ("burden_cells", exact.burden(t))):
        errors = np.array([np.max(np.abs(runs[n][name].values / expected - 1)) for n in (100, 200, 400)])
        assert np.all(np.log2(errors[:-1] / errors[1:]) > 2.5), (name, errors)  # third order, with slack
        assert errors[-1] < 5e-6  # observed ~2e-6 at 400 cells: catches a loss of accuracy
    assert runs[400].attrs["outflow"] < 1e-9 * exact.n_total(400.0)


def test_method_of_lines_primary_only_matches_closed_form() -> None:
    """Without secondary seeding the MOL's inflow is exact: n_total to the time tolerance."""
    model = gompertz_model(**IWATA, secondary=False)
    t = np.array([100.0, 500.0, 1000.0])
    ds = solve_method_of_lines(model, t, [1.0, 1e6], n_cells=200)
    expected = n_total_gompertz(t, **IWATA, x0=1.0)
    np.testing.assert_allclose(ds["n_metastases"].values, expected, rtol=1e-7)  # solve_ivp rtol 1e-9
    np.testing.assert_allclose(ds["n_above"].values[:, 0], expected, rtol=1e-7)  # conservation
    assert ds.attrs["outflow"] < 1e-12 * expected[-1]


def test_method_of_lines_rejects_bad_input() -> None:
    model = gompertz_model(**IWATA, secondary=True)
    with pytest.raises(ParameterError, match="times"):
        solve_method_of_lines(model, [1.0, math.nan], [10.0])
    with pytest.raises(ParameterError, match="sizes"):
        solve_method_of_lines(model, [1.0], [0.0, 10.0])
    with pytest.raises(ParameterError, match="scheme"):
        solve_method_of_lines(model, [1.0], [10.0], scheme="weno")
    with pytest.raises(ParameterError, match="n_cells"):
        solve_method_of_lines(model, [1.0], [10.0], n_cells=4)


# ---------------------------------------------------------------------------------------------
# (d) Convergence: O(h^6), the error estimate, and refinement.


@pytest.mark.filterwarnings("ignore::metacascade.engines.deterministic.AccuracyWarning")  # grids capped on purpose
def test_observed_order_is_six() -> None:
    """Trapezoid + 3-level Richardson: node error O(h^6); the quintic spline keeps O(h^6)."""
    exact, horizon = ExponentialCascade(0.02, 0.01, 1e-3, 5e-4, 1e3, 10.0), 400.0
    t = np.linspace(0.0, horizon, 2001)[1:]
    node, between = [], []
    for n in (16, 32, 64):  # n_max = 2n: exactly one refinement, returns the 2n-step grid
        sol = solve_deterministic(exact.model, horizon, n_initial=n, n_max=2 * n)
        node.append(np.max(np.abs(sol.birth_rate_grid / exact.birth_rate(sol.grid) - 1)))
        between.append(np.max(np.abs(sol.n_total(t) / exact.n_total(t) - 1)))
        assert between[-1] <= sol.error_estimate  # the estimate is an upper bound here
    node_order = np.log2(np.array(node[:-1]) / np.array(node[1:]))
    between_order = np.log2(np.array(between[:-1]) / np.array(between[1:]))
    assert np.all(np.abs(node_order - 6.0) < 0.3), node_order
    assert np.all((between_order > 5.5) & (between_order < 7.0)), between_order


def test_error_estimate_small_and_refinement_changes_little(iwata: DeterministicSolution) -> None:
    """Default settings: estimate < 1e-8; a much finer solve changes every output < 1e-8."""
    assert iwata.error_estimate < 1e-8  # default rtol is 1e-9
    model = iwata.model
    for finer in (
        solve_deterministic(model, 1000.0, rtol=1e-12, n_max=16384),
        solve_deterministic(model, 1000.0, n_initial=2048, n_max=8192),
    ):
        t = np.linspace(1.0, 1000.0, 400)
        # 1e-8: 10x the default rtol; the actual change is ~1e-13.
        np.testing.assert_allclose(iwata.n_total(t), finer.n_total(t), rtol=1e-8, atol=0)
        np.testing.assert_allclose(iwata.burden(t[::20]), finer.burden(t[::20]), rtol=1e-8, atol=0)
        sizes = np.geomspace(1.0, 1e10, 25)[None, :]
        tt = t[::40, None]
        np.testing.assert_allclose(iwata.n_above(tt, sizes), finer.n_above(tt, sizes), rtol=1e-8, atol=0)
        np.testing.assert_allclose(iwata.density(tt, sizes), finer.density(tt, sizes), rtol=1e-8, atol=0)


def test_refinement_stops_only_when_interpolant_is_accurate() -> None:
    """Without secondary seeding the nodes are exact: the grid must still resolve B between them."""
    sol = solve_deterministic(gompertz_model(0.05, 1e9, 1e-5, 0.5, secondary=False, primary_size0=10.0), 300.0)
    assert sol.error_estimate < 1e-8 and sol.grid.size > 257


# ---------------------------------------------------------------------------------------------
# (e) Density, counts and burden are consistent.


@pytest.mark.parametrize("t", [200.0, 600.0, 1000.0])
def test_density_integrates_to_counts_and_burden(iwata: DeterministicSolution, t: float) -> None:
    """int rho dx = n_total, int x rho dx = burden, int_x^inf rho = n_above (quad on y = ln x)."""
    law, x0 = iwata.model.colony_growth, iwata.model.colony_size0
    y_front = math.log(law.solve(x0, t))  # the oldest colony: rho = 0 beyond

    def integral(power: int, y_low: float = math.log(x0)) -> float:
        return quad(
            lambda y: float(iwata.density(t, math.exp(y))) * math.exp((1 + power) * y),
            y_low,
            y_front,
            epsrel=1e-12,
            epsabs=0.0,
            limit=400,
        )[0]

    # 1e-8: quad is converged to ~1e-12 and the three use the same spline of B.
    assert integral(0) == pytest.approx(float(iwata.n_total(t)), rel=1e-8)
    assert integral(1) == pytest.approx(float(iwata.burden(t)), rel=1e-8)
    assert integral(0, math.log(1e6)) == pytest.approx(float(iwata.n_above(t, 1e6)), rel=1e-8)


PROPERTY = settings(derandomize=True, max_examples=25, deadline=None)


@PROPERTY
@given(
    a=st.floats(1e-3, 0.02),
    log_b=st.floats(8.0, 12.0),
    log_m=st.floats(-9.0, -5.0),
    alpha=st.floats(0.3, 1.0),
    secondary=st.booleans(),
)
def test_outputs_non_negative_and_monotone(a: float, log_b: float, log_m: float, alpha: float, secondary: bool) -> None:
    """Counts never negative, decrease in size, increase in time; burden grows with time."""
    sol = solve_deterministic(gompertz_model(a, 10.0**log_b, 10.0**log_m, alpha, secondary=secondary), 500.0)
    t = np.linspace(0.0, 500.0, 21)[:, None]
    x = np.geomspace(1.0, 10.0**log_b, 31)[None, :]
    above = sol.n_above(t, x)
    assert np.all(above >= 0) and np.all(sol.density(t, x) >= 0)
    # 1e-12 of the total: the quintic spline's antiderivative may wiggle at round-off level.
    assert np.all(np.diff(above, axis=1) <= 1e-12 * above[:, :1])
    assert np.all(np.diff(above, axis=0) >= -1e-12 * above[-1:, :])
    assert np.all(np.diff(sol.burden(t[:, 0])) >= 0)


# ---------------------------------------------------------------------------------------------
# (f) Bad input.


@pytest.mark.parametrize("horizon", [0.0, -10.0, math.nan, math.inf, None, "soon"])
def test_bad_horizon_raises(horizon: object) -> None:
    with pytest.raises(ParameterError, match="horizon"):
        solve_deterministic(gompertz_model(**IWATA, secondary=True), horizon)


@pytest.mark.parametrize("rtol", [0.0, 1.0, -1e-9, math.nan])
def test_bad_rtol_raises(rtol: float) -> None:
    with pytest.raises(ParameterError, match="rtol"):
        solve_deterministic(gompertz_model(**IWATA, secondary=True), 100.0, rtol=rtol)


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.n_total(1000.5),
        lambda s: s.n_total([10.0, math.nan]),
        lambda s: s.n_above(1e4, 10.0),
        lambda s: s.density(np.inf, 10.0),
        lambda s: s.burden([100.0, 2000.0]),
        lambda s: s.birth_rate(1001.0),
        lambda s: s.primary_size(1001.0),
        lambda s: s.tabulate([100.0, 1001.0], [10.0]),
    ],
    ids=["n_total", "n_total-nan", "n_above", "density-inf", "burden", "birth_rate", "primary", "tabulate"],
)
def test_times_beyond_horizon_raise(iwata: DeterministicSolution, call) -> None:
    with pytest.raises(ParameterError, match="t: times must be finite and <= horizon"):
        call(iwata)


@pytest.mark.parametrize("x", [0.0, -5.0, math.nan])
def test_bad_sizes_raise(iwata: DeterministicSolution, x: float) -> None:
    with pytest.raises(ParameterError, match="x: sizes must be positive"):
        iwata.n_above(500.0, x)
    with pytest.raises(ParameterError, match="x: sizes must be positive"):
        iwata.density(500.0, x)


def test_warns_when_the_requested_accuracy_is_not_reached():
    """A grid capped below what rtol needs must say so rather than return silently."""
    from metacascade.engines.deterministic import AccuracyWarning

    law = Gompertz(0.00286, 7.3e10)
    model = MetastasisModel(law, law, PowerShedding(5.3e-8, 0.663))
    with pytest.warns(AccuracyWarning, match="exceeds rtol"):
        sol = solve_deterministic(model, 1000.0, rtol=1e-13, n_initial=16, n_max=32)
    assert sol.error_estimate > 1e-13


def test_compiled_gompertz_burden_equals_the_kernel_matrix(iwata: DeterministicSolution, monkeypatch) -> None:
    """The compiled full-panel loop of the Gompertz burden sums the same terms as the generic
    kernel matrix (the path of every other law): equal to rounding, plain and time-scaled (a
    hormone's clock factor), one column and several."""
    import metacascade.engines.deterministic as d
    from metacascade.model.growth import TimeScaled

    sol = iwata
    t = np.linspace(0.0, float(sol.grid[-1]), 257)
    law = sol.model.colony_growth
    assert isinstance(law, Gompertz)
    spline2 = d.make_interp_spline(sol.grid, np.c_[sol.grid, np.sqrt(sol.grid + 1.0)], k=3)
    for g, spline in ((law, sol._spline), (TimeScaled(law, 1.7), sol._spline), (law, spline2)):
        fast = d._burden(g, sol.model.colony_size0, sol.grid, spline, t)
        with monkeypatch.context() as m:
            m.setattr(d, "_gompertz_of", lambda _law: None)
            slow = d._burden(g, sol.model.colony_size0, sol.grid, spline, t)
        assert fast.shape == slow.shape
        assert fast == pytest.approx(slow, rel=1e-12, abs=1e-12 * float(np.max(np.abs(slow))))
        assert np.max(np.abs(slow)) > 0
