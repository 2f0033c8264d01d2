"""Stochastic engine: random streams, establishment law, Poisson seeding, agreement with the
deterministic engine, reproducibility and input errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from engine_patients import SPREADING_BREAST_MODEL
from scipy import stats

from metacascade._rng import draw_u64, patient_states
from metacascade.engines.organs import solve_organs
from metacascade.engines.stochastic import simulate_patients
from metacascade.errors import ParameterError, ScenarioError
from metacascade.model.establishment import Establishment, death_ratio_for_survival
from metacascade.model.growth import Exponential, Gompertz
from metacascade.model.metastasis import MetastasisModel
from metacascade.model.shedding import PowerShedding
from metacascade.scenario import parse_scenario

MASK = (1 << 64) - 1


def _xoshiro_reference(state: list[int], n: int) -> list[int]:
    """xoshiro256** in plain Python integers, transcribed from the reference C code."""
    s = list(state)

    def rotl(x: int, k: int) -> int:
        return ((x << k) | (x >> (64 - k))) & MASK

    out = []
    for _ in range(n):
        out.append((rotl((s[1] * 5) & MASK, 7) * 9) & MASK)
        t = (s[1] << 17) & MASK
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
    return out


def test_xoshiro_matches_the_reference_algorithm():
    # state (1, 2, 3, 4): first outputs 11520 = rotl(10, 7) * 9 and 0 (by hand from the algorithm)
    out = draw_u64(np.array([1, 2, 3, 4], dtype=np.uint64), 1000)
    assert out[0] == 11520 and out[1] == 0
    assert [int(v) for v in out] == _xoshiro_reference([1, 2, 3, 4], 1000)
    state = patient_states(7, np.array([3]))[0]
    assert [int(v) for v in draw_u64(state.copy(), 200)] == _xoshiro_reference([int(v) for v in state], 200)


def test_patient_streams_are_the_spawned_seed_sequence_children():
    kids = np.random.SeedSequence(2024).spawn(6)
    states = patient_states(2024, np.arange(6))
    for i, kid in enumerate(kids):
        assert np.array_equal(states[i], kid.generate_state(4, np.uint64))
    # the numba transcription of SeedSequence against numpy: multi-word seeds and patient indices
    idx = np.array([0, 7, 2**31, 2**32 + 7, 10**12])
    for seed in (0, 2**32 + 5, 2**70 + 123):
        expected = [np.random.SeedSequence(seed, spawn_key=(int(i),)).generate_state(4, np.uint64) for i in idx]
        assert np.array_equal(patient_states(seed, idx), np.array(expected))


def test_yule_establishment_time_is_the_max_of_exponentials():
    # survival 1 -> pure birth at the growth law's rate; from 1 cell to N the passage time is a sum
    # of Exp(n lam), n = 1..N-1, distributed as the maximum of N-1 Exp(lam) (Renyi 1953).
    lam, n_sw = 0.2, 300
    est = Establishment(Exponential(lam), 1, n_sw, 1.0)
    assert est.death_ratio == 0.0
    harmonic = float(np.sum(1.0 / np.arange(1, n_sw)))
    assert est.mean_exact == pytest.approx(harmonic / lam, rel=1e-12)
    assert est.mean() == pytest.approx(harmonic / lam, rel=1e-5)
    t = np.linspace(est.t_table[0], est.t_table[-1], 2001)
    exact = (-np.expm1(-lam * t)) ** (n_sw - 1)
    assert np.max(np.abs(est.cdf(t) - exact)) < 2e-5


def test_birth_death_establishment_mean_and_gamblers_ruin():
    q = death_ratio_for_survival(0.5, 1, 1000)
    assert (1 - q) / (1 - q**1000) == pytest.approx(0.5, rel=1e-13)
    est = Establishment(Exponential(0.1), 1, 1000, 0.5)
    # large N: surviving linear birth-death grows like W e^{lam t} with W ~ Exp(mean b/lam)
    # (Athreya & Ney 1972), so E[T] ~ (ln(N lam / b) + gamma) / lam with b = lam / (1 - q)
    approx = (math.log(1000 * (1 - q)) + np.euler_gamma) / 0.1
    assert est.mean_exact == pytest.approx(approx, rel=2e-3)
    assert est.mean() == pytest.approx(est.mean_exact, rel=1e-6)
    assert Establishment(Exponential(0.1), 1, 1, 0.5).trivial


def _exp_model(rate_p=0.01, m=2e-3, secondary=False):
    law = Exponential(rate_p)
    return MetastasisModel(
        primary_growth=law,
        colony_growth=Exponential(0.02),
        primary_shedding=PowerShedding(m=m, alpha=1.0),
        primary_size0=1.0,
        colony_size0=1.0,
        secondary_seeding=secondary,
    )


def test_primary_seeding_is_the_inhomogeneous_poisson_process():
    # one organ, no birth-death phase: founded colonies by t ~ Poisson(m (e^{lam t} - 1) / lam)
    model = _exp_model()
    horizon = 300.0
    res = simulate_patients(
        model, ["liver"], [1.0], None, horizon, 20000, seed=11, switch_cells=1, times=[150.0, 300.0], sizes=[1.0]
    )
    lam_total = 2e-3 * np.expm1(0.01 * np.array([150.0, 300.0])) / 0.01
    mean, se = res.mean_and_se("n_founded")
    assert np.all(np.abs(mean[:, 0] - lam_total) < 4 * se[:, 0])
    # Poisson: variance equals mean (dispersion within 4 of its standard error ~ sqrt(2/P))
    var = res.sums_of_squares["n_founded"][:, 0] / 20000 - mean[:, 0] ** 2
    assert np.all(np.abs(var / mean[:, 0] - 1) < 4 * math.sqrt(2 / 20000) * 1.5)
    # first colony: P(T1 <= t) = 1 - exp(-Lambda(t)) (KS against the exact law)
    first = res.colony_log.groupby("patient")["founded_day"].min().reindex(range(20000)).to_numpy()
    first = np.where(np.isnan(first), np.inf, first)
    cdf = lambda t: -np.expm1(-2e-3 * np.expm1(0.01 * np.minimum(t, horizon)) / 0.01)
    u = np.where(np.isfinite(first), cdf(first), 1.0)
    # censored at the horizon: compare the uncensored part by the probability integral transform
    p_none = 1 - cdf(horizon)
    assert np.mean(~np.isfinite(first)) == pytest.approx(p_none, abs=4 * math.sqrt(p_none * (1 - p_none) / 20000))
    assert stats.kstest(u[np.isfinite(first)] / (1 - p_none), "uniform").pvalue > 0.01


@pytest.fixture(scope="module")
def breast():
    """A whole-body breast patient with metastases in most organs within two years (shedding and
    soils fixed in tests/engine_patients.py, so the engine tests do not move with the calibration)."""
    return parse_scenario(
        '[patient]\ncancer = "breast_er_positive"\n[engine]\nhorizon_days = 730\n[model]\n' + SPREADING_BREAST_MODEL
    )


def test_mean_of_patients_equals_the_deterministic_engine(breast):
    """10^4 whole-body patients (secondary seeding, 18 organs): per organ, above several sizes,
    at several times, the mean count is within 4 standard errors of the deterministic engine."""
    sc = breast
    horizon = sc.patient.age_of_primary_days + 730.0
    times = np.linspace(0.5 * horizon, horizon, 7)
    sizes = [1.0, 1e3, 1e6, 1e8]
    res = simulate_patients(
        sc.model,
        sc.organs,
        sc.routing.primary,
        sc.routing.colony,
        horizon,
        10_000,
        seed=7,
        switch_cells=1,
        times=times,
        sizes=sizes,
        detection_cells=sc.detection_cells,
        lethal_cells=sc.lethal_burden_cells,
    )
    sol = solve_organs(sc.model, sc.organs, sc.routing.primary, sc.routing.factors, horizon, rtol=1e-8)
    mean, se = res.mean_and_se("n_above")
    expected = np.stack([sol.n_above(times, x) for x in sizes], axis=-1)
    enough = expected * res.n_patients >= 10  # cells where the sample holds events at all
    assert enough.sum() > 100
    z = np.abs(mean - expected)[enough] / se[enough]
    assert np.max(z) < 4.0
    m_est, se_est = res.mean_and_se("n_established")
    ok = sol.n_total(times) * res.n_patients >= 10
    assert np.max(np.abs(m_est - sol.n_total(times))[ok] / se_est[ok]) < 4.0
    # total burden over organs, where colonies are common (a rare early colony dominates the
    # burden before that: a heavy tail the sample standard error cannot see)
    mb, sb = res.mean_and_se("burden")
    common = sol.n_total(times).sum(axis=1) >= 1.0
    assert common.sum() >= 2
    tot_se = np.sqrt(np.sum(sb**2, axis=1))
    assert np.all((np.abs(mb.sum(axis=1) - sol.burden(times).sum(axis=1)) < 4 * tot_se)[common])


def test_same_seed_same_output_whatever_the_batching(breast):
    sc = breast
    horizon = sc.patient.age_of_primary_days + 730.0
    kw = dict(
        seed=5, survival=0.5, switch_cells=1000, detection_cells=sc.detection_cells, lethal_cells=sc.lethal_burden_cells
    )
    a = simulate_patients(sc.model, sc.organs, sc.routing.primary, sc.routing.colony, horizon, 300, batch_size=64, **kw)
    b = simulate_patients(
        sc.model, sc.organs, sc.routing.primary, sc.routing.colony, horizon, 300, batch_size=1000, workers=2, **kw
    )
    for name in ("n_above", "n_established", "n_founded", "burden"):
        assert np.array_equal(a.sums[name], b.sums[name]) and np.array_equal(
            a.sums_of_squares[name], b.sums_of_squares[name]
        )
    assert np.array_equal(a.death_day, b.death_day)
    assert a.colony_log.equals(b.colony_log)
    # patient 123 alone
    one = simulate_patients(
        sc.model, sc.organs, sc.routing.primary, sc.routing.colony, horizon, 1, patient_indices=[123], **kw
    )
    pa = a.patients().set_index("patient")
    p1 = one.patients().set_index("patient")
    assert pa.loc[[123]].equals(p1)
    log_a = a.colony_log[a.colony_log["patient"] == 123].reset_index(drop=True)
    assert log_a.equals(one.colony_log.reset_index(drop=True))
    c = simulate_patients(sc.model, sc.organs, sc.routing.primary, sc.routing.colony, horizon, 300, **{**kw, "seed": 6})
    assert not np.array_equal(a.death_day, c.death_day) or not a.colony_log.equals(c.colony_log)


def test_stop_at_death_freezes_each_patient_at_death(breast):
    sc = breast
    horizon = sc.patient.age_of_primary_days + 3650.0
    res = simulate_patients(
        sc.model,
        sc.organs,
        sc.routing.primary,
        sc.routing.colony,
        horizon,
        200,
        seed=3,
        survival=0.5,
        switch_cells=1000,
        detection_cells=sc.detection_cells,
        lethal_cells=sc.lethal_burden_cells,
        stop_at_death=True,
    )
    assert np.all(np.isfinite(res.death_day))
    log = res.colony_log
    death = res.death_day[log["patient"].to_numpy()]
    assert np.all(log["founded_day"].to_numpy() <= death)
    # parents precede their children and exist
    has_parent = log["parent"].to_numpy() >= 0
    assert np.all(log["parent"].to_numpy()[has_parent] < log["colony"].to_numpy()[has_parent])
    # the primary alone would reach the lethal burden later than (or when) the patient dies
    t_p = float(sc.model.primary_growth.time_to_size(1.0, sc.lethal_burden_cells))
    assert np.all(res.death_day <= t_p + 1e-6)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"n_patients": 0}, "n_patients"),
        ({"n_patients": -5}, "n_patients"),
        ({"switch_cells": 0.5}, "switch_cells"),
        ({"horizon": 1e9}, "horizon"),
        ({"horizon": float("nan")}, "horizon"),
        ({"horizon": -1.0}, "horizon"),
        ({"sizes": [10.0]}, "sizes"),
        ({"seed": -1}, "seed"),
        ({"batch_size": 0}, "batch_size"),
        ({"times": [5.0, 1.0]}, "times"),
    ],
)
def test_bad_engine_settings_name_the_field(kwargs, field):
    base = dict(
        model=_exp_model(),
        organs=["liver"],
        primary_routing=[1.0],
        colony_routing=None,
        horizon=100.0,
        n_patients=10,
        seed=1,
        switch_cells=100,
        sizes=[1e3],
    )
    base.update(kwargs)
    with pytest.raises(ParameterError, match=field):
        simulate_patients(**base)


def test_bad_stochastic_scenario_settings():
    with pytest.raises(ScenarioError, match="n_patients"):
        parse_scenario('[engine]\nkind = "stochastic"\nn_patients = 0\n')
    with pytest.raises(ScenarioError, match="switch_cells"):
        parse_scenario('[engine]\nkind = "stochastic"\nswitch_cells = 0.5\n')
    with pytest.raises(ScenarioError, match="kind"):
        parse_scenario('[engine]\nkind = "stochastc"\n')


def test_gompertz_establishment_needs_room_below_capacity():
    with pytest.raises(ParameterError, match="switch_cells"):
        Establishment(Gompertz(0.01, 500.0), 1, 1000, 0.5)
    with pytest.raises(ParameterError, match="early_survival"):
        Establishment(Exponential(0.1), 1, 10, 0.05)


def test_hybrid_mean_equals_the_deterministic_engine_with_the_same_establishment(breast):
    """With a birth-death phase up to 1000 cells, 10^4 whole-body patients against the
    deterministic engine convolved with the same establishment law."""
    sc = breast
    horizon = sc.patient.age_of_primary_days + 730.0
    times = np.linspace(0.6 * horizon, horizon, 6)
    sizes = [1e3, 1e5, 1e7]
    est = Establishment(sc.model.colony_growth, sc.model.colony_size0, 1000, sc.early_survival)
    res = simulate_patients(
        sc.model,
        sc.organs,
        sc.routing.primary,
        sc.routing.colony,
        horizon,
        10_000,
        seed=8,
        establishment=est,
        times=times,
        sizes=sizes,
        detection_cells=sc.detection_cells,
        lethal_cells=sc.lethal_burden_cells,
    )
    sol = solve_organs(
        sc.model, sc.organs, sc.routing.primary, sc.routing.factors, horizon, rtol=1e-7, establishment=est
    )
    mean, se = res.mean_and_se("n_above")
    expected = np.stack([sol.n_above(times, x) for x in sizes], axis=-1)
    enough = expected * res.n_patients >= 10
    assert enough.sum() > 60
    assert np.max(np.abs(mean - expected)[enough] / se[enough]) < 4.0
    m_f, se_f = res.mean_and_se("n_established")
    ok = sol.n_total(times) * res.n_patients >= 10
    assert np.max(np.abs(m_f - sol.n_total(times))[ok] / se_f[ok]) < 4.0
    # all organs together (standard error from the per-patient totals is not kept: organs are
    # positively correlated through the primary, so the summed per-organ variances are a lower
    # bound and the test is conservative only against the undelayed engine below)
    plain = solve_organs(sc.model, sc.organs, sc.routing.primary, sc.routing.factors, horizon, rtol=1e-7)
    wrong = np.stack([plain.n_above(times, x) for x in sizes], axis=-1)
    common = expected.sum(axis=1) * res.n_patients >= 10
    se_sum = np.sqrt(np.sum(se**2, axis=1))[common]
    z_right = np.abs(mean.sum(axis=1) - expected.sum(axis=1))[common] / se_sum
    z_wrong = np.abs(mean.sum(axis=1) - wrong.sum(axis=1))[common] / se_sum
    assert z_right.max() < 4.0
    # the undelayed engine is rejected by the same comparison (the establishment time matters)
    assert z_wrong.max() > 4.0
