"""Treatment plans and the treated stochastic kernel (issue 5).

Closed forms: LQ surviving fraction, Poisson TCP, Goldie-Coldman; exact properties: surgery
removes exactly the primary, a kill never adds cells, an empty plan reproduces the untreated
kernel, relapse after curative chemotherapy happens exactly in patients with resistant clones.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from engine_patients import SPREADING_BREAST_MODEL

from metacascade.engines.stochastic import simulate_patients
from metacascade.errors import ParameterError, ScenarioError
from metacascade.model.growth import Exponential
from metacascade.model.metastasis import MetastasisModel
from metacascade.model.radiobiology import lq_surviving_fraction, tcp_poisson
from metacascade.model.shedding import PowerShedding
from metacascade.model.treatment import (
    Chemotherapy,
    Radiotherapy,
    Surgery,
    check_plan,
    compile_plan,
    no_host,
    radiotherapy_days,
)
from metacascade.scenario import establishment_of, parse_scenario
from metacascade.workflows.stochastic_run import run_stochastic

ORGANS = ("lung", "liver")


def _scenario_args(sc, horizon_after, n, **extra):
    t_diag = sc.patient.age_of_primary_days
    horizon = t_diag + horizon_after
    est = establishment_of(sc)
    sizes = sorted({s for s in sc.output.sizes_cells if s >= est.entry_cells} | {sc.detection_cells})
    times = np.union1d(np.linspace(0.0, horizon, 121), [t_diag])
    kw = (
        dict(
            seed=11,
            survival=sc.early_survival,
            switch_cells=sc.engine.switch_cells,
            times=times,
            sizes=sizes,
            detection_cells=sc.detection_cells,
            lethal_cells=sc.lethal_burden_cells,
            establishment=est,
            snapshot_times=[t_diag, horizon],
        )
        | extra
    )
    return (sc.model, sc.organs, sc.routing.primary, sc.routing.colony, horizon, n), kw, t_diag, horizon


@pytest.fixture(scope="module")
def breast():
    return parse_scenario('[patient]\ncancer = "breast_er_negative"\n[engine]\nkind = "stochastic"\n')


def test_empty_plan_reproduces_the_untreated_kernel(breast):
    """An empty plan through the treated kernel: the same colonies (same random draws), the same
    cohort means, death days to 1e-6 days (Newton on tables vs bisection on segments)."""
    args, kw, t_diag, horizon = _scenario_args(breast, 730.0, 128, stop_at_death=False)
    a = simulate_patients(*args, **kw)
    b = simulate_patients(*args, **kw, plan=compile_plan((), breast.organs, t_diag, horizon, no_host()))
    la, lb = a.colony_log, b.colony_log
    assert len(la) == len(lb) > 1000
    np.testing.assert_allclose(lb["founded_day"], la["founded_day"], rtol=0, atol=1e-9)
    for name in ("n_above", "n_established", "n_founded"):
        np.testing.assert_array_equal(b.mean_and_se(name)[0], a.mean_and_se(name)[0])
    np.testing.assert_allclose(b.mean_and_se("burden")[0], a.mean_and_se("burden")[0], rtol=1e-12)
    np.testing.assert_allclose(b.death_day, a.death_day, rtol=0, atol=1e-5)
    fa, fb = a.first_detectable, b.first_detectable
    assert np.array_equal(np.isfinite(fa), np.isfinite(fb))
    np.testing.assert_allclose(fb[np.isfinite(fa)], fa[np.isfinite(fa)], atol=1e-4)  # tau closed form vs table


def test_untreated_scenario_unchanged(breast):
    """Regression: a scenario without treatment (and the host defaults) runs the untreated kernel,
    bit for bit the engine's direct result."""
    sc = parse_scenario(
        '[patient]\ncancer = "breast_er_negative"\n'
        '[engine]\nkind = "stochastic"\nn_patients = 200\nhorizon_days = 365\n'
    )
    run = run_stochastic(sc)
    assert run.result.cause_of_death is None  # the untreated kernel
    args, kw, t_diag, horizon = _scenario_args(sc, 365.0, 200, seed=sc.engine.seed, stop_at_death=True)
    kw["times"] = np.union1d(np.linspace(0.0, horizon, sc.output.n_times), [t_diag])
    direct = simulate_patients(*args, **kw)
    for name in ("n_above", "n_established", "n_founded", "burden"):
        np.testing.assert_array_equal(run.result.mean_and_se(name)[0], direct.mean_and_se(name)[0])
    np.testing.assert_array_equal(run.result.death_day, direct.death_day)


def test_surgery_removes_exactly_the_primary(breast):
    """Without secondary seeding, surgery at day t_s leaves every colony founded before it exactly
    as untreated (same draws, same growth) and founds none after it."""
    import dataclasses

    model = dataclasses.replace(breast.model, secondary_seeding=False)
    args, kw, t_diag, horizon = _scenario_args(breast, 730.0, 256, stop_at_death=False)
    args = (model, *args[1:3], None, *args[4:])
    t_s = t_diag + 30.0
    a = simulate_patients(*args, **kw)
    b = simulate_patients(
        *args, **kw, plan=compile_plan((Surgery(day=30.0),), breast.organs, t_diag, horizon, no_host())
    )
    la, lb = a.colony_log, b.colony_log
    before = la[la["founded_day"] <= t_s]
    assert len(lb) == len(before) and (lb["founded_day"] <= t_s).all()
    np.testing.assert_allclose(lb["founded_day"], before["founded_day"], atol=1e-9)
    np.testing.assert_allclose(
        lb["established_day"].replace(np.inf, -1), before["established_day"].replace(np.inf, -1), atol=1e-9
    )
    np.testing.assert_array_equal(b.primary_gone_day, np.full(256, t_s))


def test_lq_plan_surviving_fraction_equals_closed_form():
    """30 x 2 Gy without repopulation: the plan's summed log surviving fraction is the LQ
    exponent -n (alpha d + beta d^2) (Fowler 1989 form; docs/science/parameters.md section 7a)."""
    rt = Radiotherapy(
        day=0.0,
        sites=("lung",),
        dose_per_fraction_gy=2.0,
        fractions=30,
        alpha_per_gy=0.3,
        alpha_beta_gy=10.0,
        kickoff_days=None,
    )
    plan = compile_plan((rt,), ORGANS, 100.0, 1000.0, no_host())
    assert plan.kill_time.size == 30
    sf = math.exp(plan.kill_log_sf[:, 0].sum())
    assert sf == pytest.approx(float(lq_surviving_fraction(2.0, 30, 0.3, 0.03)), rel=1e-12)
    assert sf == pytest.approx(math.exp(-30 * (0.6 + 0.12)), rel=1e-12)
    assert np.all(plan.kill_log_sf[:, 1:] == 0.0)  # liver and primary untouched
    np.testing.assert_array_equal(plan.kill_time - 100.0, radiotherapy_days(0.0, 30))


def test_repopulation_never_makes_a_fraction_add_cells():
    """Accelerated repopulation (Withers 1988) nets against each fraction but never above 1."""
    rt = Radiotherapy(
        day=0.0,
        fractions=40,
        dose_per_fraction_gy=0.5,
        alpha_per_gy=0.1,
        alpha_beta_gy=10.0,
        kickoff_days=0.0,
        doubling_days=1.0,
    )
    ls = rt.log_surviving_fraction()
    assert np.all(ls <= 0.0) and np.any(ls == 0.0)


def test_tcp_of_irradiated_primary_matches_poisson_closed_form():
    """TCP = exp(-N S) (Munro & Gilbert 1961): a non-growing primary of N cells given 30 x 2 Gy
    (N S = 1) is eradicated in a fraction e^-1 of patients (4 binomial SE)."""
    alpha, ab, n_fx = 0.3, 10.0, 30
    sf = float(lq_surviving_fraction(2.0, n_fx, alpha, alpha / ab))
    n_cells = 1.0 / sf
    law = Exponential(rate_per_day=1e-12)
    model = MetastasisModel(
        primary_growth=law,
        colony_growth=law,
        primary_shedding=PowerShedding(m=0.0, alpha=1.0),
        primary_size0=n_cells,
        colony_size0=1.0,
        secondary_seeding=False,
    )
    rt = Radiotherapy(
        day=0.0, dose_per_fraction_gy=2.0, fractions=n_fx, alpha_per_gy=alpha, alpha_beta_gy=ab, kickoff_days=None
    )
    plan = compile_plan((rt,), ORGANS, 10.0, 200.0, no_host())
    n = 4000
    res = simulate_patients(
        model,
        ORGANS,
        [0.5, 0.5],
        None,
        200.0,
        n,
        seed=5,
        survival=1.0,
        switch_cells=1.0,
        sizes=[1e6],
        detection_cells=1e9,
        lethal_cells=1e15,
        plan=plan,
    )
    cured = np.isfinite(res.primary_gone_day).mean()
    expected = float(tcp_poisson(n_cells, sf))
    assert expected == pytest.approx(math.exp(-1.0), rel=1e-12)
    assert abs(cured - expected) < 4 * math.sqrt(expected * (1 - expected) / n)


def test_kills_never_increase_burden(breast):
    """Just after each dose every patient's organ burden is at most what it was just before it."""
    chemo = Chemotherapy(day=20.0, cycles=4, interval_days=21.0, log_kill=1.0, mutation_rate=1e-5)
    args, kw, t_diag, horizon = _scenario_args(breast, 200.0, 128, stop_at_death=False)
    plan = compile_plan((chemo,), breast.organs, t_diag, horizon, no_host())
    eps = 1e-6
    times = np.unique(np.concatenate([plan.kill_time - eps, plan.kill_time, [0.0, horizon]]))
    kw.update(times=times, snapshot_times=times[1:-1])
    res = simulate_patients(*args, **kw, plan=plan)
    before, after = res.burden_at[:, 0::2, :], res.burden_at[:, 1::2, :]
    assert before.sum() > 0
    assert np.all(after <= before * (1 + 1e-9))
    assert after.sum() < 0.5 * before.sum()


def test_relapse_exactly_in_patients_with_resistant_clones():
    """Goldie-Coldman: after surgery and chemotherapy that kills every sensitive cell (6 x 6 logs),
    a patient relapses (a tumour detectable after the plan) if and only if a resistant clone was
    drawn (Luria-Delbrueck, at the first dose)."""
    sc = parse_scenario(
        """[patient]
cancer = "breast_er_negative"
primary_diameter_mm = 30
[host]
organ_failure = false
[engine]
kind = "stochastic"
horizon_days = 3650
n_patients = 600
[[treatment]]
kind = "surgery"
day = 0
nodes = true
[[treatment]]
kind = "chemotherapy"
day = 28
cycles = 6
log_kill = 6
mutation_rate = 1e-3
[model]
"""
        + SPREADING_BREAST_MODEL
    )
    res = run_stochastic(sc).result
    resistant = res.n_resistant_clones > 0
    relapsed = np.isfinite(res.recurrence_day.min(axis=1))
    assert 10 <= resistant.sum() <= 590  # both groups present
    np.testing.assert_array_equal(relapsed, resistant)


def test_plan_errors_name_the_entry():
    organs = ("lung", "liver", "lymph_regional")
    with pytest.raises(ParameterError, match=r"treatment\[1\].*overlaps treatment\[0\]"):
        check_plan((Chemotherapy(day=0.0, cycles=6), Chemotherapy(day=50.0, cycles=2)), organs)
    with pytest.raises(ParameterError, match=r"treatment\[1\]: a second surgery"):
        check_plan((Surgery(day=0.0), Surgery(day=10.0)), organs)
    with pytest.raises(ParameterError, match=r"treatment\[0\].sites: unknown site 'lungs'.*did you mean 'lung'"):
        check_plan((Radiotherapy(day=0.0, sites=("lungs",)),), organs)
    with pytest.raises(ParameterError, match="dose_per_fraction_gy"):
        Radiotherapy(day=0.0, dose_per_fraction_gy=0.0)
    with pytest.raises(ParameterError, match="day"):
        Surgery(day=-1.0)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('[[treatment]]\nkind = "laser"\nday = 1\n', r"treatment\.0: .*'laser'.*'surgery', 'chemotherapy'"),
        (
            '[[treatment]]\nkind = "radiotherapy"\nday = 1\ndose_per_fraction_gy = 0\n',
            r"treatment\.0\.radiotherapy\.dose_per_fraction_gy: .*greater than 0",
        ),
        ('[[treatment]]\nkind = "chemotherapy"\nday = -3\n', r"treatment\.0\.chemotherapy\.day"),
        (
            '[[treatment]]\nkind = "endocrine"\nday = 0\nagent = "tamoxiphen"\n',
            r"treatment\[0\] \(endocrine\).*tamoxifen",
        ),
        (
            '[[treatment]]\nkind = "endocrine"\nday = 0\n[[treatment]]\nkind = "endocrine"\nday = 100\n',
            r"treatment\[1\]: endocrine on days 100-1926 overlaps treatment\[0\]",
        ),
        ("[patient]\nestradiol_pmol_l = -5\n", r"patient\.estradiol_pmol_l"),
        ("[patient]\nestradiol_pmol_l = nan\n", r"patient\.estradiol_pmol_l: .*finite"),
    ],
)
def test_scenario_treatment_errors(text, match):
    head = '[patient]\ncancer = "breast_er_positive"\n' if not text.startswith("[patient]") else ""
    body = text.replace("[patient]\n", '[patient]\ncancer = "breast_er_positive"\n')
    with pytest.raises(ScenarioError, match=match):
        parse_scenario(head + body + '[engine]\nkind = "stochastic"\n')


def test_treatment_needs_the_stochastic_engine():
    with pytest.raises(ScenarioError, match=r"engine.kind = 'stochastic'"):
        parse_scenario('[patient]\ncancer = "breast_er_positive"\n[[treatment]]\nkind = "surgery"\nday = 0\n')


def test_hormone_levels_warn_and_set_growth():
    """An out-of-range estradiol warns; the premenopausal reference level speeds an ER+ tumour by the
    dose-response (data/hormones.toml) and the untreated preset keeps its fitted rate."""
    from metacascade.model.hormones import hormone_sensitivity

    plain = parse_scenario('[patient]\ncancer = "breast_er_positive"\n')
    assert plain.patient.growth_multiplier == 1.0
    pre = parse_scenario('[patient]\ncancer = "breast_er_positive"\nmenopausal_status = "premenopausal"\n')
    sv = hormone_sensitivity("er_breast")
    assert pre.patient.growth_multiplier == pytest.approx(float(sv.growth_multiplier(298.0)), rel=1e-12)
    assert pre.patient.age_of_primary_days == pytest.approx(
        plain.patient.age_of_primary_days / pre.patient.growth_multiplier, rel=1e-9
    )
    high = parse_scenario('[patient]\ncancer = "breast_er_positive"\nestradiol_pmol_l = 500\n')
    assert any("estradiol" in w for w in high.warnings)
    with pytest.raises(ScenarioError, match="estradiol"):
        parse_scenario('[patient]\ncancer = "breast_er_positive"\nestradiol_pmol_l = 1e9\n')


def test_endocrine_therapy_lowers_early_distant_recurrence():
    """Tamoxifen 5 y after surgery (ER+, postmenopausal): fewer distant recurrences in years 0-4
    than the matched control arm (common random numbers). EBCTCG 2011 (Lancet 378:771) reports a
    rate ratio of 0.53 for years 0-4; the model's figure is printed by bench/endocrine.py and
    discussed in the README (it suppresses growth only, so recurrences are delayed, not prevented)."""
    base = (
        """[patient]
cancer = "breast_er_positive"
sex = "female"
menopausal_status = "postmenopausal"
[engine]
kind = "stochastic"
horizon_days = 5479
n_patients = 1500
[[treatment]]
kind = "surgery"
day = 0
[model]
"""
        + SPREADING_BREAST_MODEL
    )
    endo = '[[treatment]]\nkind = "endocrine"\nagent = "tamoxifen"\nday = 0\nduration_days = 1826\n'
    events = []
    for text in (base, base + endo):
        run = run_stochastic(parse_scenario(text))
        res = run.result
        distant = [j for j, o in enumerate(run.scenario.organs) if o != "lymph_regional"]
        first = res.first_detectable[:, distant].min(axis=1) - run.diagnosis_day
        events.append(((first > 0) & (first <= 1826)).sum())
    assert events[0] >= 20
    assert events[1] < 0.5 * events[0]


def test_cli_runs_the_treatment_example(tmp_path):
    """The shipped adjuvant example runs from the CLI and writes per-patient outcomes."""
    import json
    from pathlib import Path

    import pandas as pd
    from typer.testing import CliRunner

    import metacascade.scenario as scenario_pkg
    from metacascade.cli import app

    text = (Path(scenario_pkg.__file__).parent / "treatment_example.toml").read_text()
    path = tmp_path / "adjuvant.toml"
    path.write_text(text.replace("n_patients = 2000", "n_patients = 200"), encoding="utf-8")
    res = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert "outcomes (surgery, chemotherapy, radiotherapy, endocrine" in res.output
    patients = pd.read_parquet(tmp_path / "out" / "patients.parquet")
    assert {"cause_of_death", "recurrence_day", "n_resistant_clones", "primary_gone_day"} <= set(patients)
    assert (patients["primary_gone_day"] == 0.0).all()  # surgery on day 0 removes every primary
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert sum(summary["cause_of_death"].values()) == 200


def test_stage_at_surgery_and_non_operable_warning():
    """The clinical stage at the surgery decision: T from the primary's diameter (AJCC breast
    cut-offs), N and M from detectable metastases; a late surgery finds M1 patients and warns."""
    text = """[patient]
cancer = "breast_er_negative"
primary_diameter_mm = 25
[engine]
kind = "stochastic"
horizon_days = 900
n_patients = 300
[[treatment]]
kind = "surgery"
day = %s
"""
    early = run_stochastic(parse_scenario(text % 0))
    stage = early.patients()["stage_at_surgery"]
    assert set(stage.str.split().str[0]) == {"T2"}  # 25 mm on the day of diagnosis
    assert not any("non-operable" in w for w in early.summary["warnings"])
    late = run_stochastic(parse_scenario(text % 600))
    stage = late.patients()["stage_at_surgery"]
    res = late.result
    t_s = late.diagnosis_day + 600
    distant = [j for j, o in enumerate(late.scenario.organs) if o != "lymph_regional"]
    m1 = (res.first_detectable[:, distant] <= t_s).any(axis=1)
    np.testing.assert_array_equal(stage.str.endswith("M1").to_numpy(), m1)
    assert m1.any()
    assert any("non-operable" in w for w in late.summary["warnings"])
    assert set(stage.str.split().str[0]) == {"T3"}  # grown past 50 mm by day 600


def _node_colonies_at_surgery(left: float) -> tuple[int, int]:
    """Regional-node colonies founded before surgery and alive at it, and those among them removed
    by the dissection (gone on the surgery day), in 300 breast patients operated at 30 mm."""
    sc = parse_scenario(f"""[patient]
cancer = "breast_er_negative"
primary_diameter_mm = 30
[host]
organ_failure = false
[engine]
kind = "stochastic"
horizon_days = 400
n_patients = 300
[[treatment]]
kind = "surgery"
day = 0
nodes = true
nodes_left_fraction = {left}
""")
    res = run_stochastic(sc).result
    log = res.colony_log
    t_s = res.primary_gone_day[log["patient"].to_numpy()]
    node = (log["organ"] == "lymph_regional").to_numpy() & (log["founded_day"].to_numpy() < t_s)
    gone = log["gone_day"].to_numpy()
    alive = node & (gone >= t_s)
    return int(alive.sum()), int((alive & (gone == t_s)).sum())


def test_incomplete_node_dissection_leaves_each_colony_with_its_probability():
    """surgery.nodes_left_fraction f: each regional-node colony alive at surgery is removed with
    probability 1 - f (binomial, 4 SE); f = 0 removes every one, f = 1 none."""
    n, k = _node_colonies_at_surgery(0.0)
    assert n > 200 and k == n
    n, k = _node_colonies_at_surgery(1.0)
    assert n > 200 and k == 0
    n, k = _node_colonies_at_surgery(0.4)
    assert n > 200
    assert abs(k / n - 0.6) <= 4 * math.sqrt(0.6 * 0.4 / n)
    with pytest.raises(ScenarioError, match=r"nodes_left_fraction"):
        parse_scenario(
            '[patient]\ncancer = "breast_er_positive"\n[engine]\nkind = "stochastic"\n'
            '[[treatment]]\nkind = "surgery"\nday = 0\nnodes = true\nnodes_left_fraction = 1.5\n'
        )
