"""Kuznetsov, Makalkin, Taylor & Perelson 1994 (Bull Math Biol 56:295): tumour-effector model, BCL1 set.

Model: dE/dt = s + pET/(g+T) - mET - dE,  dT/dt = aT(1 - bT) - nET (metacascade.model.immune).
No published equilibrium values were found; the pinned equilibria below are this module's own
output (``python -c "from metacascade.model.immune import *; print(equilibria(BCL1))"``), each
checked against an independent root solve and the closed-form conditions named in the test.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy.optimize import root
from typer.testing import CliRunner

from metacascade.cli import app
from metacascade.errors import ParameterError
from metacascade.model.immune import (
    BCL1,
    _discriminant,
    critical_immunocompetence,
    dormancy_state,
    equilibria,
    jacobian,
    rhs,
    separatrix_size,
    simulate,
    tumour_polynomial,
)
from metacascade.validation import run_case
from metacascade.validation.kuznetsov1994 import (
    QUOTED_NONDIMENSIONAL,
    stable_manifold_crossing,
)

runner = CliRunner()

#: Weak tumour-driven recruitment (p = 0.07/day instead of 0.1245): with p < d + mg + 2 sqrt(mdg)
#: = 0.082/day there is no dormant state at s = 0, so lowering s loses it in a saddle-node.
WEAK_RECRUITMENT = dataclasses.replace(BCL1, p=0.07)


def _by_kind(params):
    return {q.kind: q for q in equilibria(params)}


@pytest.mark.parametrize("name", list(QUOTED_NONDIMENSIONAL))
def test_nondimensional_set_matches_quoted(name):
    """Kuznetsov 1994 non-dimensional set: sigma 0.1181, rho 1.131, eta 20.19, mu 0.00311,
    delta 0.3743, alpha 1.636, beta 2e-3 (E0 = T0 = 1e6 cells, t0 = 1/(n T0)).

    sigma = s/(n E0 T0), rho = p/(n T0), eta = g/T0, mu = m/n, delta = d/(n T0),
    alpha = a/(n T0), beta = b T0. Tolerance 1e-3: the set is quoted to 3-4 digits and
    a = 0.18/day to two (alpha = 1.6349 vs 1.636, 7e-4).
    """
    nd = BCL1.nondimensional()
    assert nd.as_dict()[name] == pytest.approx(QUOTED_NONDIMENSIONAL[name], rel=1e-3)
    assert nd.time_scale_days == pytest.approx(1.0 / (1.101e-7 * 1e6), rel=1e-15)  # same arithmetic


def test_cubic_is_the_eliminated_equilibrium_condition():
    """The cubic C3 y^3 + C2 y^2 + C1 y + C0 is (eta + y)/alpha times dx/dtau at x = alpha(1 - beta y).

    Checked at arbitrary y against the non-dimensional right-hand side directly; tolerance
    1e-12 relative: a few roundings of O(1e3) terms.
    """
    nd = BCL1.nondimensional()
    y = np.linspace(0.5, 480.0, 37)
    x = nd.alpha * (1.0 - nd.beta * y)
    dxdtau = nd.sigma + nd.rho * x * y / (nd.eta + y) - nd.mu * x * y - nd.delta * x
    assert np.polyval(tumour_polynomial(BCL1), y) == pytest.approx(
        dxdtau * (nd.eta + y) / nd.alpha, rel=1e-12, abs=1e-12
    )


def test_bcl1_equilibria_pinned():
    """BCL1 equilibria (cells): tumour-free (s/d, 0); dormant (1.6081e6, 8.1864e6);
    saddle (7.5851e5, 2.6802e8); escape (1.7321e5, 4.4703e8).

    Computed by this module (no published values found); tolerance 1e-9: root polishing
    reaches ~1e-15, the margin allows a different LAPACK.
    """
    eq = _by_kind(BCL1)
    assert list(eq) == ["tumour-free", "dormant", "saddle", "escape"]
    assert pytest.approx(1.3e4 / 0.0412, rel=1e-15) == eq["tumour-free"].E  # closed form s/d
    for kind, (e, t) in {
        "dormant": (1608109.9210056043, 8186382.49245266),
        "saddle": (758508.9636395763, 268022675.28689617),
        "escape": (173212.51245357262, 447025839.94128233),
    }.items():
        assert pytest.approx(e, rel=1e-9) == eq[kind].E, kind
        assert pytest.approx(t, rel=1e-9) == eq[kind].T, kind
    assert pytest.approx(dormancy_state(BCL1).dormant_cells, rel=0) == eq["dormant"].T


def test_polynomial_roots_match_independent_full_rhs_solve():
    """Each cubic root (numpy.roots, unpolished) and E = (a/n)(1 - bT) is a zero of the full RHS.

    The independent solve is Levenberg-Marquardt with a finite-difference Jacobian started 5%
    away. Tolerance 1e-6 relative (docs/science/kuznetsov1994.md); observed ~1e-15.
    """
    nd = BCL1.nondimensional()
    ys = sorted(r.real for r in np.roots(tumour_polynomial(BCL1)) if abs(r.imag) < 1e-9 and r.real >= 0)
    assert len(ys) == 3
    for y in ys:
        t, e = y * 1e6, nd.alpha * (1 - nd.beta * y) * 1e6
        sol = root(
            lambda u: rhs(0.0, u * 1e6, BCL1) / 1e6,
            [0.95 * e / 1e6, 1.05 * t / 1e6],
            method="lm",
            options={"xtol": 1e-15, "ftol": 1e-15},
        )
        assert sol.x[0] * 1e6 == pytest.approx(e, rel=1e-6)
        assert sol.x[1] * 1e6 == pytest.approx(t, rel=1e-6)


def test_eigenvalues_match_finite_difference_jacobian():
    """Eigenvalues of the analytic Jacobian vs a central-difference Jacobian of rhs.

    Step 1e-6 relative (at least 1 cell, so that s - dE does not cancel the T = 0 column):
    truncation ~1e-12 and rounding ~1e-9 relative to the entries; tolerance 1e-6 relative
    (1e-12 1/day absolute for entries that vanish).
    """
    for eq in equilibria(BCL1):
        y = np.array([eq.E, eq.T])
        fd = np.empty((2, 2))
        for k in range(2):
            h = 1e-6 * max(abs(y[k]), 1e6)
            dy = np.zeros(2)
            dy[k] = h
            fd[:, k] = (rhs(0.0, y + dy, BCL1) - rhs(0.0, y - dy, BCL1)) / (2 * h)
        assert fd == pytest.approx(jacobian(0.0, y, BCL1), rel=1e-6, abs=1e-12), eq.kind
        ev = sorted(np.linalg.eigvals(fd), key=lambda z: (z.real, z.imag))
        assert ev == pytest.approx(sorted(eq.eigenvalues, key=lambda z: (z.real, z.imag)), rel=1e-6), eq.kind


def test_stability_picture():
    """Kuznetsov 1994 (README): a stable small dormant state and a stable large escaped state
    separated by a saddle; the tumour-free state is a saddle because sigma/delta < alpha
    (its T-eigenvalue is a - n s/d = 0.1453/day). Exact checks of signs.
    """
    eq = _by_kind(BCL1)
    tf = eq["tumour-free"]
    assert not tf.stable and tf.is_saddle
    assert max(z.real for z in tf.eigenvalues) == pytest.approx(0.18 - 1.101e-7 * 1.3e4 / 0.0412, rel=1e-12)
    assert eq["dormant"].stable and all(abs(z.imag) > 0 for z in eq["dormant"].eigenvalues)  # stable focus
    assert eq["saddle"].is_saddle and not eq["saddle"].stable
    assert eq["escape"].stable and all(z.imag == 0 for z in eq["escape"].eigenvalues)  # stable node
    state = dormancy_state(BCL1)
    assert state.exists and state.dormant_cells < state.escape_threshold_cells < state.escaped_cells


def test_trajectory_near_dormant_state_stays():
    """Started 5% above the dormant equilibrium, the colony spirals back and never nears the saddle.

    3000 days: the focus decays at 0.0055/day, ~1e-7 of the offset is left; tolerance 1e-6.
    """
    eq = _by_kind(BCL1)
    d = eq["dormant"]
    tr = simulate(BCL1, d.E, 1.05 * d.T, 3000.0)
    assert tr.outcome == "dormant" and tr.settled
    assert tr.T.max() < 0.2 * eq["saddle"].T
    assert tr.T[-1] == pytest.approx(d.T, rel=1e-6)


def test_trajectory_above_saddle_escapes_and_below_goes_dormant():
    """From the saddle's effector level, 1% more tumour escapes to the large state, 1% less
    returns to dormancy (the perturbation has an unstable component of each sign).

    Escape end state to 1e-8 (a stable node at 0.0497/day: e^-149 after 3000 days, LSODA
    rtol 1e-10).
    """
    eq = _by_kind(BCL1)
    sd = eq["saddle"]
    up = simulate(BCL1, sd.E, 1.01 * sd.T, 3000.0)
    down = simulate(BCL1, sd.E, 0.99 * sd.T, 3000.0)
    assert up.outcome == "escape" and up.settled
    assert up.T[-1] == pytest.approx(eq["escape"].T, rel=1e-8)
    assert down.outcome == "dormant"


def test_simulate_t_eval_and_elimination():
    """``t_eval`` gives the solution at those days; at immunocompetence 6 > a d/(n s) = 5.18 the
    tumour-free state is the only stable state and a 1e6-cell colony is eliminated (T < 1 cell).
    """
    tr = simulate(BCL1, BCL1.s / BCL1.d, 1e6, 100.0, t_eval=[0.0, 50.0, 100.0])
    assert list(tr.t) == [0.0, 50.0, 100.0] and tr.T[0] == pytest.approx(1e6, rel=1e-12)
    assert BCL1.a * BCL1.d / (BCL1.n * BCL1.s) == pytest.approx(5.181, rel=1e-3)
    strong = BCL1.with_immunity(6.0)
    assert _by_kind(strong).keys() == {"tumour-free"} and _by_kind(strong)["tumour-free"].stable
    assert simulate(strong, strong.s / strong.d, 1e6, 2000.0).outcome == "eliminated"


def test_separatrix_at_tumour_free_effector_level():
    """Separatrix at E0 = s/d: bisection on simulate (6.408e7 cells) equals the point where the
    saddle's stable manifold (traced backward from the saddle) crosses E = s/d.

    Tolerance 1e-4: bisection to 1e-6 in log T0, manifold started 1e-7 off the saddle.
    """
    e0 = BCL1.s / BCL1.d
    sep = separatrix_size(BCL1, e0)
    assert sep == pytest.approx(6.408e7, rel=1e-3)
    assert sep == pytest.approx(stable_manifold_crossing(BCL1, _by_kind(BCL1)["saddle"], e0), rel=1e-4)
    assert simulate(BCL1, e0, 0.9 * sep, 3000.0).outcome == "dormant"
    assert simulate(BCL1, e0, 1.1 * sep, 3000.0).outcome == "escape"


def test_bcl1_dormancy_survives_zero_influx():
    """With s = 0 the dormant tumour solves pT/(g+T) = mT + d, i.e. m T^2 + (mg + d - p) T + d g = 0
    (smaller root): tumour-driven recruitment alone holds it, so the BCL1 set has no dormancy
    saddle-node for immunocompetence in (0, 10]. Tolerance 1e-9: quadratic formula vs polished root.
    """
    q = BCL1
    assert critical_immunocompetence(q) is None
    bq = q.m * q.g + q.d - q.p
    t_small = (-bq - math.sqrt(bq * bq - 4 * q.m * q.d * q.g)) / (2 * q.m)
    assert dormancy_state(q.with_immunity(0.0)).dormant_cells == pytest.approx(t_small, rel=1e-9)


def test_critical_immunocompetence_dormancy_fold():
    """Weak recruitment (p = 0.07/day): the dormant state and the saddle merge at c* = 0.9470.

    Just above c* (1 + 1e-6) the dormant equilibrium exists, just below (1 - 1e-6) it does not;
    the cubic's discriminant vanishes at c* (brentq to 1e-14).
    """
    c = critical_immunocompetence(WEAK_RECRUITMENT)
    assert c == pytest.approx(0.9470081966930756, rel=1e-9)
    assert dormancy_state(WEAK_RECRUITMENT.with_immunity(c * (1 + 1e-6))).exists
    assert not dormancy_state(WEAK_RECRUITMENT.with_immunity(c * (1 - 1e-6))).exists
    disc = [_discriminant(tumour_polynomial(WEAK_RECRUITMENT.with_immunity(c * f))) for f in (1 - 1e-6, 1 + 1e-6)]
    assert disc[0] < 0 < disc[1]


def test_critical_immunocompetence_escape_fold():
    """BCL1: above c* = 1.6377 the escaped state has merged with the saddle (no large stable
    tumour); just below it exists. Relative steps 1e-6 around c*."""
    c = critical_immunocompetence(BCL1, state="escape")
    assert c == pytest.approx(1.6377281528981888, rel=1e-9)
    assert dormancy_state(BCL1.with_immunity(c * (1 - 1e-6))).escaped_cells is not None
    above = dormancy_state(BCL1.with_immunity(c * (1 + 1e-6)))
    assert above.escaped_cells is None and above.escape_threshold_cells is None and above.exists


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"immunocompetence": -0.1}, "immunocompetence"),
        ({"immunocompetence": math.nan}, "immunocompetence"),
        ({"immunocompetence": math.inf}, "immunocompetence"),
        ({"immunocompetence": 1.0, "killing": -1.0}, "killing"),
        ({"immunocompetence": 1.0, "killing": math.nan}, "killing"),
    ],
)
def test_with_immunity_rejects_bad_factors(kwargs, name):
    with pytest.raises(ParameterError, match=rf"^{name}: got .*allowed: a finite number"):
        BCL1.with_immunity(**kwargs)


def test_with_immunity_scales_s_and_n():
    q = BCL1.with_immunity(0.5, killing=2.0)
    assert (q.s, q.n) == (0.5 * BCL1.s, 2.0 * BCL1.n)
    assert dataclasses.replace(q, s=BCL1.s, n=BCL1.n) == BCL1
    with pytest.raises(ParameterError, match=r"^d: got"):
        dataclasses.replace(BCL1, d=0.0)


def test_validate_case_passes_and_cli_prints_table(tmp_path):
    """``metacascade validate kuznetsov1994`` exits 0, prints the table; --data is accepted and noted."""
    report = run_case("kuznetsov1994", figure_dir=tmp_path)
    assert report.passed and len(report.rows) >= 20
    assert (tmp_path / "kuznetsov1994_phase_plane.png").stat().st_size > 10_000
    assert any("Published equilibrium values: none found" in n for n in report.notes)
    res = runner.invoke(app, ["validate", "kuznetsov1994", "--data", str(tmp_path / "x.csv")])
    assert res.exit_code == 0, res.output
    assert "alpha" in res.output and "ignored" in res.output
