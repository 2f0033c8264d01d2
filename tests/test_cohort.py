"""Virtual cohorts (workflows/cohort.py): parameters, common random numbers, agreement with the
stochastic engine, serial = threads = dask, resume after kill -9, errors."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from engine_patients import SPREADING_BREAST_MODEL
from scipy import stats

from metacascade.errors import MetacascadeError, ScenarioError
from metacascade.scenario import parse_scenario
from metacascade.scenario.schema import DistributionSpec
from metacascade.workflows.cohort import (
    CohortError,
    draw_parameter,
    draw_parameters,
    run_cohort,
    simulate_chunk,
)

BASE = """
[patient]
cancer = "breast_er_negative"
primary_diameter_mm = 25
[host]
organ_failure = true
[engine]
seed = 11
[cohort]
n_patients = {n}
follow_up_days = 2500
chunk_size = {chunk}
{vary}
{arms}
"""
CONTROL = """
[[cohort.arm]]
name = "control"
"""


def scenario(n: int = 300, chunk: int = 100, vary: str = "", arms: str = CONTROL) -> str:
    return BASE.format(n=n, chunk=chunk, vary=vary, arms=arms)


# -- parameters ----------------------------------------------------------------------------------------
def test_lognormal_draws_match_the_distribution_and_do_not_depend_on_the_cohort_size():
    text = scenario(
        n=20000,
        vary="[cohort.vary]\ngrowth_rate = { median = 1.5, sd_log = 0.4 }\n"
        "age_years = { distribution = 'normal', mean = 60, sd = 8, min = 45, max = 70 }",
    )
    sc = parse_scenario(text)
    p = draw_parameters(sc)
    g = np.log(p["growth_rate"])
    # closed form: ln X ~ N(ln 1.5, 0.4^2): mean and sd within 4 standard errors
    assert abs(g.mean() - math.log(1.5)) < 4 * 0.4 / math.sqrt(g.size)
    assert abs(g.std(ddof=1) - 0.4) < 4 * 0.4 / math.sqrt(2 * g.size)
    # truncated normal: inside the bounds, and its CDF (scipy truncnorm) fits (KS)
    age = p["age_years"]
    assert age.min() >= 45 and age.max() <= 70
    tn = stats.truncnorm((45 - 60) / 8, (70 - 60) / 8, loc=60, scale=8)
    assert stats.kstest(age, tn.cdf).pvalue > 1e-3
    # patient i's values do not depend on the cohort size
    small = draw_parameters(sc, n=50)
    assert np.array_equal(small["growth_rate"], p["growth_rate"][:50])
    assert np.all(np.isnan(p["shedding"]) | (p["shedding"] == 1.0))  # not varied: the scenario's value


def test_draw_parameter_errors_name_the_field():
    spec = DistributionSpec(distribution="normal", mean=1.0, sd=2.0)
    with pytest.raises(MetacascadeError, match=r"cohort.vary.growth_rate: values must be > 0"):
        draw_parameter("growth_rate", spec, np.linspace(0.01, 0.99, 50))
    spec = DistributionSpec(distribution="lognormal", median=1.0, sd_log=0.1, min=100.0)
    with pytest.raises(MetacascadeError, match=r"cohort.vary.shedding: the bounds .* leave no probability"):
        draw_parameter("shedding", spec, np.linspace(0.01, 0.99, 50))


@pytest.mark.parametrize(
    "bad, match",
    [
        ("n = 0", r"cohort.n_patients: Input should be greater than or equal to 1 \(got 0\)"),
        ("sd_log = -0.3", r"cohort.vary.growth_rate.sd_log: Input should be greater than or equal to 0 \(got -0.3\)"),
        ("sd = -1", r"cohort.vary.age_years.sd: Input should be greater than or equal to 0"),
        ("unknown", r"vary.growth: unknown parameter \(did you mean 'growth_rate'\?\)"),
        ("twice", r"names must differ; control given twice"),
        ("estradiol", r"cohort.vary.estradiol_pmol_l: preset 'breast_er_negative' is not estradiol-sensitive"),
        ("arm site", r"cohort.arm\[0\] \(control\).treatment.*unknown site 'lungs'"),
    ],
)
def test_bad_cohorts_get_clear_errors(bad, match):
    text = {
        "n = 0": scenario(n=0),
        "sd_log = -0.3": scenario(vary="[cohort.vary]\ngrowth_rate = { median = 1, sd_log = -0.3 }"),
        "sd = -1": scenario(vary="[cohort.vary]\nage_years = { distribution = 'normal', mean = 60, sd = -1 }"),
        "unknown": scenario(vary="[cohort.vary]\ngrowth = { median = 1, sd_log = 0.3 }"),
        "twice": scenario(arms=CONTROL + CONTROL),
        "estradiol": scenario(vary="[cohort.vary]\nestradiol_pmol_l = { median = 30, sd_log = 0.3 }"),
        "arm site": scenario(
            arms=CONTROL + "[[cohort.arm.treatment]]\nkind = 'radiotherapy'\nday = 0\nsites = ['lungs']\n"
        ),
    }[bad]
    with pytest.raises(ScenarioError, match=match):
        parse_scenario(text)


def test_a_control_arm_with_no_treatment_runs(tmp_path):
    run = run_cohort(scenario(n=64, chunk=64), tmp_path / "run", figures=False)
    p = run.patients()
    assert set(p["arm"]) == {"control"} and len(p) == 64
    assert run.manifest["status"] == "complete"
    assert not (p["primary_removed_days"].notna()).any()  # untreated: the primary stays


# -- the simulation --------------------------------------------------------------------------------------
def test_the_cohort_agrees_with_the_stochastic_engine():
    """No variability, diameter fixed to 30 mm in the cohort vs a scenario patient of 30 mm run by
    the stochastic engine (its own streams, the plan compiled in model days): distant metastasis
    and death fractions within follow-up agree (z < 4), so the per-patient shift of the plan to
    the diagnosis day and the per-patient arrays reproduce the engine. Both use the spreading breast
    model of engine_patients: the calibrated median ER- patient at 30 mm relapses too rarely (about
    4% within follow-up) for the comparison to have power."""
    from metacascade.workflows.stochastic_run import run_stochastic

    surgery = "[[cohort.arm]]\nname = 'surgery'\n[[cohort.arm.treatment]]\nkind = 'surgery'\nday = 0\n"
    text = scenario(
        n=1500,
        chunk=500,
        vary="[model]\n"
        + SPREADING_BREAST_MODEL
        + "[cohort.vary]\nprimary_diameter_mm = { distribution = 'fixed', value = 30 }",
        arms=surgery,
    )
    tables = [simulate_chunk(text, "<t>", k)[0] for k in range(3)]
    p = pd.concat(tables)
    engine_text = (
        """
[patient]
cancer = "breast_er_negative"
primary_diameter_mm = 30
[host]
organ_failure = true
[engine]
kind = "stochastic"
seed = 5
horizon_days = 2500
n_patients = 1500
[[treatment]]
kind = "surgery"
day = 0
[model]
"""
        + SPREADING_BREAST_MODEL
    )
    sc = parse_scenario(engine_text)
    run = run_stochastic(sc)
    res = run.result
    t_diag = sc.patient.age_of_primary_days
    organs = list(sc.organs)
    distant = [j for j, o in enumerate(organs) if o != "lymph_regional"]
    horizon = t_diag + 2500
    death = res.death_day
    first = res.first_detectable[:, distant]
    seen = (first <= np.minimum(death, horizon)[:, None]).any(axis=1)
    died = death <= horizon

    def z(a: np.ndarray, b: np.ndarray) -> float:
        pa, pb = a.mean(), b.mean()
        pool = 0.5 * (pa + pb)
        se = math.sqrt(max(pool * (1 - pool), 1e-12) * (1 / a.size + 1 / b.size))
        return abs(pa - pb) / se

    assert 0.05 < p["dm_event"].mean() < 0.95  # the comparison has power
    assert z(p["dm_event"].to_numpy(), seen) < 4
    assert z(p["os_event"].to_numpy(), died) < 4
    # the primary diameter at diagnosis is the one asked for
    assert np.allclose(p["primary_age_days"], t_diag, rtol=1e-9)


def test_common_random_numbers_across_arms():
    """Matched patients: an arm whose extra treatment cannot act (immunotherapy with no immune
    dormancy) gives every patient the control arm's outcome; radiotherapy of the brain at
    surgery changes brain metastases and leaves the other organs' detection days of almost every
    patient untouched (each colony has its own stream)."""
    surgery = "[[cohort.arm.treatment]]\nkind = 'surgery'\nday = 0\n"
    arms = (
        "[[cohort.arm]]\nname = 'control'\n"
        + surgery
        + "[[cohort.arm]]\nname = 'immunotherapy'\n"
        + surgery
        + "[[cohort.arm.treatment]]\nkind = 'immunotherapy'\nday = 100\nduration_days = 365\n"
        + "[[cohort.arm]]\nname = 'liver_rt'\n"
        + surgery
        + "[[cohort.arm.treatment]]\nkind = 'radiotherapy'\nday = 0\nsites = ['liver']\nfractions = 10\n"
        "dose_per_fraction_gy = 3\n"
    )
    # a patient who spreads (tests/engine_patients.py), so the test does not move with the calibration
    vary = "[model]\n" + SPREADING_BREAST_MODEL + "[cohort.vary]\nshedding = { median = 3, sd_log = 1 }"
    text = scenario(n=400, chunk=400, vary=vary, arms=arms)
    p, _ = simulate_chunk(text, "<t>", 0)
    by = {a: g.reset_index(drop=True) for a, g in p.groupby("arm")}
    c, i, r = by["control"], by["immunotherapy"], by["liver_rt"]
    cols = [k for k in c.columns if k not in ("arm", "recurrence_days")]  # the plans end on other days
    # death search: 1e-9 relative
    pd.testing.assert_frame_equal(c[cols], i[cols], check_exact=False, rtol=1e-9, atol=1e-5)
    others = [k for k in c.columns if k.startswith("met_days__") and k != "met_days__liver"]
    any_met = c[others].notna().any(axis=1)
    assert any_met.sum() > 50
    same = [
        np.allclose(c.loc[k, others].to_numpy(float), r.loc[k, others].to_numpy(float), equal_nan=True, atol=1e-6)
        for k in np.flatnonzero(any_met)
    ]
    assert np.mean(same) > 0.9
    # the radiotherapy acted: liver detection is later (or never) for some patients, never earlier
    cb, rb = c["met_days__liver"].fillna(np.inf).to_numpy(), r["met_days__liver"].fillna(np.inf).to_numpy()
    assert np.sum(rb > cb + 1.0) >= 5 and not np.any(rb < cb - 1.0)


def test_serial_threads_and_a_dask_cluster_give_identical_parquet(tmp_path):
    distributed = pytest.importorskip("distributed")
    text = scenario(
        n=240,
        chunk=60,
        vary="[cohort.vary]\ngrowth_rate = { median = 1, sd_log = 0.3 }\n"
        "immunocompetence = { median = 1, sd_log = 0.3, max = 3 }",
    )
    a = run_cohort(text, tmp_path / "serial", workers=1, figures=False)
    b = run_cohort(text, tmp_path / "threads", workers=2, figures=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        c = run_cohort(text, tmp_path / "dask", scheduler=cluster.scheduler_address, figures=False)
    for other in (b, c):
        pd.testing.assert_frame_equal(a.patients(), other.patients(), check_exact=True)
        pd.testing.assert_frame_equal(a.events(), other.events(), check_exact=True)
    assert json.loads((tmp_path / "serial" / "summary.json").read_text()) == json.loads(
        (tmp_path / "dask" / "summary.json").read_text()
    )


def test_an_unreachable_scheduler_is_a_clear_error_and_nothing_is_marked_complete(tmp_path):
    with pytest.raises(CohortError, match=r"--scheduler: cannot reach the dask scheduler at 'tcp://127.0.0.1:9'"):
        run_cohort(scenario(n=10, chunk=10), tmp_path / "run", scheduler="tcp://127.0.0.1:9", figures=False)
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["status"] == "incomplete"
    assert not (tmp_path / "run" / "patients.parquet").exists()


def test_an_output_folder_of_another_run_is_refused(tmp_path):
    run_cohort(scenario(n=20, chunk=20), tmp_path / "run", figures=False)
    with pytest.raises(CohortError, match="holds a run of another scenario"):
        run_cohort(scenario(n=21, chunk=20), tmp_path / "run", figures=False)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(CohortError, match="not empty and holds no cohort run"):
        run_cohort(scenario(n=20, chunk=20), tmp_path / "other", figures=False)


@pytest.mark.slow
def test_resume_after_kill_equals_an_uninterrupted_run(tmp_path):
    """kill -9 the CLI after some chunks, run the same command again: the result equals an
    uninterrupted run (finished chunks kept, none lost, none computed twice)."""
    text = scenario(
        n=3000,
        chunk=60,
        arms=CONTROL + "[[cohort.arm]]\nname = 'surgery'\n[[cohort.arm.treatment]]\nkind = 'surgery'\nday = 0\n",
    )
    path = tmp_path / "trial.toml"
    path.write_text(text)
    whole = run_cohort(path, tmp_path / "whole", workers=1, figures=False)
    out = tmp_path / "killed"
    cmd = [
        sys.executable,
        "-m",
        "metacascade.cli",
        "cohort",
        str(path),
        "--out",
        str(out),
        "--workers",
        "1",
        "--no-figures",
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    parts = out / "parts"
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if parts.exists() and len(list(parts.glob("*.patients.parquet"))) >= 3:
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = sorted(p.name for p in parts.glob("*.patients.parquet"))
    assert 3 <= len(done_before) < 50
    assert json.loads((out / "manifest.json").read_text())["status"] == "incomplete"
    assert not (out / "patients.parquet").exists()
    mtimes = {p.name: p.stat().st_mtime_ns for p in parts.glob("*.parquet")}
    counted = []
    resumed = run_cohort(path, out, workers=1, figures=False, progress=lambda d, t: counted.append(d))
    assert counted[0] == len(done_before) * 60 * 2  # the finished chunks were counted, not recomputed
    pd.testing.assert_frame_equal(whole.patients(), resumed.patients(), check_exact=True)
    pd.testing.assert_frame_equal(whole.events(), resumed.events(), check_exact=True)
    assert resumed.manifest["status"] == "complete"
    assert mtimes  # parts existed; they are removed once merged
    assert not parts.exists()


def test_the_cli_runs_a_cohort_and_writes_figures(tmp_path):
    from typer.testing import CliRunner

    from metacascade.cli import app

    path = tmp_path / "trial.toml"
    path.write_text(
        scenario(
            n=100,
            chunk=50,
            arms=CONTROL + "[[cohort.arm]]\nname = 'surgery'\n[[cohort.arm.treatment]]\nkind = 'surgery'\nday = 0\n",
        )
    )
    result = CliRunner().invoke(app, ["cohort", str(path), "--out", str(tmp_path / "run"), "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert "100 patients x 2 arm(s)" in result.output and "surgery" in result.output
    for name in ("km_os", "km_mfs", "organs", "swimmer"):
        for ext in ("png", "svg"):
            assert (tmp_path / "run" / "figures" / f"{name}.{ext}").stat().st_size > 1000
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["seed"] == 11 and manifest["scenario"] == path.read_text()
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert set(summary["endpoints"]) == {"os", "mfs", "dm"}
    bad = CliRunner().invoke(
        app, ["cohort", str(path), "--out", str(tmp_path / "x"), "--scheduler", "tcp://127.0.0.1:9"]
    )
    assert bad.exit_code == 2 and "cannot reach the dask scheduler" in bad.output


def test_scenario_check_describes_the_cohort(tmp_path):
    from typer.testing import CliRunner

    from metacascade.cli import app

    path = tmp_path / "trial.toml"
    path.write_text(
        scenario(
            n=123,
            vary="[cohort.vary]\nshedding = { median = 1, sd_log = 0.5 }",
            arms=CONTROL + "[[cohort.arm]]\nname = 'surgery'\n[[cohort.arm.treatment]]\nkind = 'surgery'\nday = 0\n",
        )
    )
    result = CliRunner().invoke(app, ["scenario", "check", str(path)], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert "cohort: 123 patients x 2 arm(s) (control: no treatment, surgery: surgery)" in result.output
    assert "varied: shedding" in result.output
