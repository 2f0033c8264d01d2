"""Growth laws: closed forms against a numerical ODE solution, inverses, validation, invariants.

The laws and their closed forms are those of Benzekry et al., PLoS Comput Biol 2014;10:e1003800
(Gompertz in the Iwata 2000 form ``a x ln(b/x)``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

from metacascade.errors import ParameterError
from metacascade.model.growth import (
    GROWTH_LAWS,
    Exponential,
    Gompertz,
    GrowthLaw,
    Logistic,
    PowerLaw,
    VonBertalanffy,
    make_growth_law,
)

IWATA = Gompertz(a_per_day=0.00286, b_cells=7.3e10)  # Iwata 2000, fitted to their HCC patient

# (law, initial size, last time in days): several parameter sets per law, from one cell and from
# clinical sizes, and for the bounded laws also from above the capacity (the tumour shrinks).
CASES = [
    (Exponential(0.01), 1.0, 1000.0),
    (Exponential(0.3), 1e6, 60.0),
    (Exponential.from_doubling_time(100.0), 1e9, 500.0),
    (Logistic(0.05, 1e10), 1.0, 1000.0),
    (Logistic(0.2, 1e6), 5e5, 100.0),
    (Logistic(0.01, 1e12), 3e12, 500.0),
    (IWATA, 1.0, 2000.0),
    (Gompertz(0.01, 1e9), 1e3, 500.0),
    (Gompertz(0.1, 1e12), 1e13, 50.0),
    (PowerLaw(1.0, 2.0 / 3.0), 1.0, 1000.0),
    (PowerLaw(0.5, 0.5), 1e6, 1000.0),
    (PowerLaw(2.0, 0.0), 10.0, 100.0),
    (VonBertalanffy(1.0, 0.01), 1.0, 1000.0),
    (VonBertalanffy(5.0, 0.001), 1e9, 3000.0),
    (VonBertalanffy(1.0, 0.05), 1e5, 200.0),
]
IDS = [f"{type(law).__name__}-{i}" for i, (law, _, _) in enumerate(CASES)]


@pytest.mark.parametrize(("law", "x0", "t_max"), CASES, ids=IDS)
def test_closed_form_matches_numerical_ode(law: GrowthLaw, x0: float, t_max: float) -> None:
    """``solve`` equals a DOP853 solution of ``dX/dt = g(X)`` (rtol 1e-12) to 1e-8 relative."""
    times = np.linspace(0.0, t_max, 41)
    numerical = solve_ivp(
        lambda t, x: law.rate(x), (0.0, t_max), [x0], method="DOP853", t_eval=times, rtol=1e-12, atol=1e-300
    )
    assert numerical.success
    # 1e-8: the integrator's global error at rtol 1e-12 is < 1e-10 over these few e-folds.
    np.testing.assert_allclose(law.solve(x0, times), numerical.y[0], rtol=1e-8, atol=0.0)


@pytest.mark.parametrize(("law", "x0", "t_max"), CASES, ids=IDS)
def test_time_to_size_inverts_solve(law: GrowthLaw, x0: float, t_max: float) -> None:
    """``time_to_size(x0, solve(x0, t)) == t``, forwards and (negative) backwards."""
    t = np.linspace(0.0, t_max, 41)
    x1 = law.solve(x0, t)
    # Keep sizes at least 1e-6 (relative) from the capacity, where the inverse is well posed.
    t, x1 = t[np.abs(law.capacity - x1) >= 1e-6 * law.capacity], x1[np.abs(law.capacity - x1) >= 1e-6 * law.capacity]
    # 1e-9: relative round-off of x1 (1e-16) amplified by at most 1/(distance to capacity) = 1e6.
    np.testing.assert_allclose(law.time_to_size(x0, x1), t, rtol=1e-9, atol=1e-9 * t_max)
    np.testing.assert_allclose(law.time_to_size(x1[-1], x0), -t[-1], rtol=1e-9)
    assert t.size >= 10


def test_time_to_size_special_values() -> None:
    """Zero for equal sizes; the closed forms of Exponential and Gompertz at known points."""
    assert Exponential(0.1).time_to_size(5.0, 5.0) == 0.0
    # rel 1e-15 / 1e-13: a few operations of round-off (the Gompertz one through two logs).
    assert Exponential.from_doubling_time(7.0).doubling_time(123.0) == pytest.approx(7.0, rel=1e-15)
    # Gompertz: T = ln(ln(b/x0)/ln(b/x1))/a; from 1 to sqrt(b) cell it halves ln(b/x): T = ln 2/a.
    assert IWATA.time_to_size(1.0, math.sqrt(7.3e10)) == pytest.approx(math.log(2) / 0.00286, rel=1e-13)
    assert PowerLaw(2.0, 0.0).time_to_size(1.0, 21.0) == pytest.approx(10.0, rel=1e-15)


@pytest.mark.parametrize(
    "law", [Logistic(0.1, 1e6), IWATA, VonBertalanffy(1.0, 0.01)], ids=["logistic", "gompertz", "von_bertalanffy"]
)
def test_time_to_size_infinite_at_and_beyond_capacity(law: GrowthLaw) -> None:
    """A bounded law never reaches (or crosses) its capacity; above it the tumour shrinks."""
    k = law.capacity
    below, above = 0.5 * k, 2.0 * k
    assert np.all(np.isinf(law.time_to_size(below, [k, 1.5 * k, 1e3 * k])))
    assert np.all(np.isinf(law.time_to_size(above, [k, 0.5 * k])))
    assert np.isinf(law.time_to_size(k, below)) and law.time_to_size(k, k) == 0.0
    assert np.isinf(law.doubling_time(below))
    shrink = law.time_to_size(above, 1.5 * k)
    assert 0.0 < shrink < math.inf
    assert law.solve(above, shrink) == pytest.approx(1.5 * k, rel=1e-12)  # round trip: round-off


@pytest.mark.parametrize("law", [Exponential(0.1), PowerLaw(1.0, 0.5)], ids=["exponential", "power_law"])
def test_unbounded_laws_reach_every_size(law: GrowthLaw) -> None:
    assert law.capacity == math.inf
    assert np.all(np.isfinite(law.time_to_size(1.0, [1e3, 1e12, 1e15])))


# ---------------------------------------------------------------------------------------------
# Validation: every bad value raises ParameterError naming the field.

GOOD = {
    "exponential": {"rate_per_day": 0.1},
    "logistic": {"rate_per_day": 0.1, "capacity_cells": 1e9},
    "gompertz": {"a_per_day": 0.00286, "b_cells": 7.3e10},
    "power_law": {"coefficient": 1.0, "gamma": 0.5},
    "von_bertalanffy": {"anabolic": 1.0, "catabolic_per_day": 0.01},
}
NOT_POSITIVE = [-1.0, 0.0, math.nan, math.inf, -math.inf, "fast", None]
BAD = [
    (name, field, value)
    for name, params in GOOD.items()
    for field in params
    if field != "gamma"
    for value in NOT_POSITIVE
] + [
    ("gompertz", "b_cells", 1.0),
    ("gompertz", "b_cells", 0.5),
    ("power_law", "gamma", 1.0),
    ("power_law", "gamma", 1.5),
    ("power_law", "gamma", -0.1),
    ("power_law", "gamma", math.nan),
    ("power_law", "gamma", math.inf),
]


@pytest.mark.parametrize(("name", "field", "value"), BAD)
def test_invalid_parameter_raises_naming_the_field(name: str, field: str, value: object) -> None:
    params = dict(GOOD[name], **{field: value})
    with pytest.raises(ParameterError, match=field):
        GROWTH_LAWS[name](**params)
    with pytest.raises(ParameterError, match=field):
        make_growth_law(name, **params)


def test_valid_parameters_and_registry() -> None:
    for name, params in GOOD.items():
        law = make_growth_law(name, **params)
        assert law.name == name and law.parameters() == params
    assert PowerLaw(1.0, 0.0).gamma == 0.0  # gamma = 0 (linear growth) is allowed
    with pytest.raises(ParameterError, match="unknown 'gompertzz'"):
        make_growth_law("gompertzz", a_per_day=0.1, b_cells=1e9)
    with pytest.raises(ParameterError, match="missing b_cells"):
        make_growth_law("gompertz", a_per_day=0.1)
    with pytest.raises(ParameterError, match="unknown K"):
        make_growth_law("gompertz", a_per_day=0.1, b_cells=1e9, K=1.0)
    with pytest.raises(ParameterError, match="doubling_time_days"):
        Exponential.from_doubling_time(0.0)


# ---------------------------------------------------------------------------------------------
# Properties (hypothesis, derandomised so CI is reproducible).

_rate = st.floats(1e-4, 1.0)
laws = st.one_of(
    st.builds(Exponential, _rate),
    st.builds(Logistic, _rate, st.floats(1e2, 1e13)),
    st.builds(Gompertz, st.floats(1e-4, 0.5), st.floats(1e2, 1e13)),
    st.builds(PowerLaw, st.floats(1e-3, 10.0), st.floats(0.0, 0.95)),
    st.builds(VonBertalanffy, st.floats(0.5, 10.0), st.floats(1e-4, 0.5)),
)
PROPERTY = settings(derandomize=True, max_examples=300, deadline=None)


def _start(law: GrowthLaw, fraction: float) -> float:
    """An initial size below the capacity (at most 1e12 cells)."""
    return fraction * min(law.capacity, 1e12)


@PROPERTY
@given(law=laws, fraction=st.floats(1e-9, 0.999), times=st.lists(st.floats(0.0, 200.0), min_size=2, max_size=20))
def test_solutions_positive_monotone_and_below_capacity(law: GrowthLaw, fraction: float, times: list[float]) -> None:
    x0 = _start(law, fraction)
    t = np.sort(np.asarray(times))
    x = law.solve(x0, t)
    assert np.all(x > 0)
    assert np.all(np.diff(x) >= 0)
    assert np.all(x <= law.capacity)
    assert np.all(law.rate(x) >= 0)


@PROPERTY
@given(law=laws, fractions=st.lists(st.floats(1e-9, 0.999), min_size=1, max_size=10), t=st.floats(0.0, 200.0))
def test_vectorised_calls_equal_elementwise_calls(law: GrowthLaw, fractions: list[float], t: float) -> None:
    x0 = np.array([_start(law, f) for f in fractions])
    times = np.linspace(0.0, t, x0.size)
    x = law.solve(x0, times)
    # 4 ulp: numpy's SIMD (array) and scalar loops of exp/log may differ in the last bits.
    np.testing.assert_allclose(x, [law.solve(a, b) for a, b in zip(x0, times, strict=True)], rtol=1e-15, atol=0)
    np.testing.assert_allclose(law.rate(x0), [law.rate(a) for a in x0], rtol=1e-15, atol=0)
    np.testing.assert_allclose(law.time_to_size(x0[0], x), [law.time_to_size(x0[0], b) for b in x], rtol=1e-15, atol=0)
    assert law.solve(x0, times).shape == x0.shape and np.ndim(law.solve(x0[0], t)) == 0


@PROPERTY
@given(law=laws, fraction=st.floats(1e-9, 0.999), t=st.floats(0.0, 200.0))
def test_time_to_size_round_trip_property(law: GrowthLaw, fraction: float, t: float) -> None:
    x0 = _start(law, fraction)
    x1 = law.solve(x0, t)
    if x1 >= law.capacity:  # rounded onto the plateau: the time is genuinely lost
        return
    # dT/dx = 1/g(x): a round-off of ~1e4 ulp in x1 shifts T by 1e-12/(g(x1)/x1) days.
    assert law.time_to_size(x0, x1) == pytest.approx(t, rel=1e-9, abs=1e-12 / law.specific_rate(x1))
