"""The command-line interface: default run, outputs, validation, and bad input without tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from metacascade.cli import app

runner = CliRunner()


def test_run_default_writes_all_results(tmp_path):
    out = tmp_path / "out"
    res = runner.invoke(app, ["run", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "expected metastases" in res.output
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "body_map.png",
        "figure.png",
        "organs.parquet",
        "scenario.toml",
        "size_distribution.parquet",
        "summary.json",
        "timeseries.parquet",
    ]
    summary = json.loads((out / "summary.json").read_text())
    ts = pd.read_parquet(out / "timeseries.parquet")
    at_diag = ts.loc[ts["time_days"].abs().idxmin()]
    assert at_diag["time_days"] == pytest.approx(0.0, abs=1e-9)
    assert at_diag["n_metastases"] == pytest.approx(summary["at_diagnosis"]["n_metastases"], rel=1e-12)
    assert at_diag["primary_diameter_mm"] == pytest.approx(30.0, rel=1e-9)  # the default colorectal cancer
    assert (out / "figure.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the resolved scenario written next to the results runs again to the same numbers
    res2 = runner.invoke(app, ["run", str(out / "scenario.toml"), "--out", str(tmp_path / "again")])
    assert res2.exit_code == 0, res2.output
    again = json.loads((tmp_path / "again" / "summary.json").read_text())
    assert again["at_horizon"] == summary["at_horizon"]


def test_csv_output(tmp_path):
    sc = tmp_path / "s.toml"
    sc.write_text('[output]\nformat = "csv"\nfigure = false\nn_times = 5\n')
    res = runner.invoke(app, ["run", str(sc), "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    ts = pd.read_csv(tmp_path / "o" / "timeseries.csv")
    assert len(ts) in (5, 6)  # 5 points plus the diagnosis day unless it is one of them
    assert not (tmp_path / "o" / "figure.png").exists()


BAD = {
    "broken.toml": ("[patient\n", "not valid TOML"),
    "unknown_key.toml": ("[engine]\nhorizon = 3\n", "did you mean 'horizon_days'"),
    "unknown_cancer.toml": ('[patient]\ncancer = "lung"\n', "patient.cancer"),
    "negative.toml": ("[patient]\nprimary_diameter_mm = -1\n", "patient.primary_diameter_mm"),
    "nan.toml": ("[patient]\nprimary_diameter_mm = nan\n", "patient.primary_diameter_mm"),
    "inf.toml": ("[patient]\nprimary_diameter_mm = inf\n", "patient.primary_diameter_mm"),
    "zero_horizon.toml": ("[engine]\nhorizon_days = 0\n", "engine.horizon_days"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_exits_nonzero_with_one_message_and_keeps_outputs(tmp_path, name):
    text, fragment = BAD[name]
    out = tmp_path / "out"
    out.mkdir()
    keep = out / "summary.json"
    keep.write_text('{"earlier": "result"}')
    path = tmp_path / name
    path.write_text(text)
    res = runner.invoke(app, ["run", str(path), "--out", str(out)])
    assert res.exit_code == 2
    assert fragment in res.output
    assert "Traceback" not in res.output
    assert keep.read_text() == '{"earlier": "result"}'
    assert sorted(p.name for p in out.iterdir()) == ["summary.json"]


def test_missing_file_through_the_real_entry_point(tmp_path):
    """The installed console script prints one clear line on stderr, no traceback."""
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.run(
        [sys.executable, "-m", "metacascade.cli", "run", str(tmp_path / "absent.toml"), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 2
    assert "scenario file not found" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not (tmp_path / "o").exists()


def test_scenario_init_and_check(tmp_path):
    path = tmp_path / "my.toml"
    assert runner.invoke(app, ["scenario", "init", str(path)]).exit_code == 0
    assert "[patient]" in path.read_text() and "#" in path.read_text()
    res = runner.invoke(app, ["scenario", "check", str(path)])
    assert res.exit_code == 0 and "ok" in res.output
    again = runner.invoke(app, ["scenario", "init", str(path)])
    assert again.exit_code == 2 and "already exists" in again.output
    path.write_text("[patient]\nprimary_diameter_mm = -2\n")
    bad = runner.invoke(app, ["scenario", "check", str(path)])
    assert bad.exit_code == 2 and "patient.primary_diameter_mm" in bad.output


def test_cite_lists_iwata():
    res = runner.invoke(app, ["cite"])
    assert res.exit_code == 0 and "Iwata" in res.output


def test_validate_unknown_case():
    res = runner.invoke(app, ["validate", "iwata200"])
    assert res.exit_code == 2 and "did you mean 'iwata2000'" in res.output


def test_whole_body_preset_from_init_to_body_map(tmp_path):
    """scenario init --cancer writes a whole-body scenario that checks and runs, with the organ
    table on screen and organs.parquet and body_map.png on disk."""
    path = tmp_path / "crc.toml"
    res = runner.invoke(app, ["scenario", "init", str(path), "--cancer", "colorectal"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["scenario", "check", str(path)])
    assert res.exit_code == 0 and "18 organ(s)" in res.output
    res = runner.invoke(app, ["run", str(path), "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert "by organ" in res.output and "liver" in res.output
    organs = pd.read_parquet(tmp_path / "out" / "organs.parquet")
    assert {"time_days", "organ", "n_metastases", "n_detectable", "p_detectable", "burden_cells"} <= set(organs.columns)
    assert (tmp_path / "out" / "body_map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    res = runner.invoke(app, ["scenario", "init", str(tmp_path / "x.toml"), "--cancer", "colorectl"])
    assert res.exit_code == 2 and "unknown preset 'colorectl'" in res.output


def test_presets_list_and_calibration_check():
    res = runner.invoke(app, ["presets", "list"])
    assert res.exit_code == 0 and "medulloblastoma" in res.output and "colorectal" in res.output
    res = runner.invoke(app, ["presets", "calibrate", "colonn"])
    assert res.exit_code == 2 and "unknown or uncalibrated preset 'colonn'" in res.output
    assert "did you mean 'colon'" in res.output


def test_validate_presets_json_has_the_documented_structure(tmp_path):
    """`validate presets --json`: one object per calibrated preset with the autopsy, SEER and
    parameter records; the exit code says whether every target is met."""
    import json

    res = runner.invoke(app, ["validate", "presets", "--json", "--figures", str(tmp_path / "figs")])
    report = json.loads(res.output)
    assert res.exit_code == (0 if report["passed"] else 1)
    breast = report["presets"]["breast_er_positive"]
    assert breast["autopsy"]["sites"]["lung"]["n"] == 432 and breast["autopsy"]["sites"]["lung"]["count"] == 247
    assert breast["seer"]["cancer"] == "Breast Ca (NST)"
    from metacascade.clinical_data import load_seer_size

    n_seer = int(load_seer_size(cancer="Breast Ca (NST)")["n_patients"].sum())
    assert sum(b["n"] for b in breast["seer"]["bins"]) == n_seer
    assert {"value", "low", "high"} <= set(breast["parameters"]["population.dissemination_sd_log"])
    assert report["presets"]["prostate"]["seer"] is None and "not calibrated" in report["presets"]["prostate"]["when"]
    assert (tmp_path / "figs" / "preset_colon.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_stochastic_run_writes_patient_tables(tmp_path):
    import json

    import pandas as pd

    path = tmp_path / "mc.toml"
    path.write_text(
        '[patient]\ncancer = "breast_er_positive"\n[engine]\nkind = "stochastic"\nn_patients = 300\n'
        "horizon_days = 3650\nseed = 4\n[output]\nn_times = 41\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    res = runner.invoke(app, ["run", str(path), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "stochastic engine, 300 patients" in res.output
    patients = pd.read_parquet(out / "patients.parquet")
    assert len(patients) == 300 and patients["patient"].tolist() == list(range(300))
    colonies = pd.read_parquet(out / "colonies.parquet")
    events = pd.read_parquet(out / "events.parquet")
    assert set(events["event"].astype(str)) == {"seeding", "establishment", "detection", "death"}
    assert (events["event"] == "death").sum() == patients["death_day"].notna().sum()
    # every detectable colony was established before, every established one founded before
    est = colonies.dropna(subset=["established_day"])
    assert (est["established_day"] >= est["founded_day"]).all()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_patients"] == 300 and summary["switch_cells"] == 1000.0
    n_hist = summary["metastases_established_at_horizon"]["histogram"]
    assert sum(n_hist.values()) == 300
    assert (out / "figure.png").stat().st_size > 10_000
    # the same file run again gives the same patients, bit for bit
    again = runner.invoke(app, ["run", str(path), "--out", str(tmp_path / "again")])
    assert again.exit_code == 0
    assert pd.read_parquet(tmp_path / "again" / "patients.parquet").equals(patients)


def test_a_century_horizon_stops_at_the_untreated_death(tmp_path):
    """Issue 16, bug 2: horizon_days = 36500 gave 1e+93 expected metastases, a 1e+101-cell burden
    and a raw AccuracyWarning; the run now stops at the untreated death and says so in one line."""
    sc = tmp_path / "century.toml"
    sc.write_text("[engine]\nhorizon_days = 36500\n[output]\nfigure = true\n", encoding="utf-8")
    res = runner.invoke(app, ["run", str(sc), "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert "Warning" not in res.output and "Traceback" not in res.output
    notes = [line for line in res.output.splitlines() if "stopped at day" in line]
    assert len(notes) == 1, res.output
    s = json.loads((tmp_path / "o" / "summary.json").read_text())
    death = s["days_since_diagnosis_lethal_burden_untreated"]
    assert s["stopped_at_lethal_burden"] is True and s["horizon_days_requested"] == 36500
    assert s["at_horizon"]["days_since_diagnosis"] == pytest.approx(death, abs=1.0) and 500 < death < 2000
    total = s["at_horizon"]["burden_cells"] + s["at_horizon"]["primary_cells"]
    assert total <= s["lethal_burden_cells"] * 1.001
    assert s["at_horizon"]["n_metastases"] <= s["lethal_burden_cells"]
    ts = pd.read_parquet(tmp_path / "o" / "timeseries.parquet")
    assert ts["time_days"].max() == pytest.approx(death, abs=1.0)
    assert (ts["burden_cells"] + ts["primary_cells"]).max() <= s["lethal_burden_cells"] * 1.001
    # engine.stop_at_death = false follows the process past death, and says so
    from metacascade.scenario import parse_scenario
    from metacascade.workflows.run import run_scenario

    past = run_scenario(parse_scenario("[engine]\nhorizon_days = 1000\nstop_at_death = false\n")).summary
    assert past["stopped_at_lethal_burden"] is False
    assert past["at_horizon"]["days_since_diagnosis"] == pytest.approx(1000.0)
    assert "followed past death" in past["horizon_note"]


def test_engine_warnings_are_one_line_without_the_class_name(tmp_path):
    """Issue 16, bug 2: the CLI printed a raw ``AccuracyWarning`` with its source line."""
    sc = tmp_path / "tight.toml"
    sc.write_text(
        "[engine]\nrtol = 1e-13\nhorizon_days = 900\n[output]\nfigure = false\nn_times = 5\n", encoding="utf-8"
    )
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.run(
        [sys.executable, "-m", "metacascade.cli", "run", str(sc), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines and all(line.startswith("warning: ") for line in lines), proc.stderr
    assert "AccuracyWarning" not in proc.stderr + proc.stdout and "rtol" in proc.stderr


def test_a_run_too_large_for_memory_is_refused_before_it_starts(tmp_path):
    """Issue 16, bug 3: n_patients = 100000000 passed validation and died with a MemoryError
    after 38 s; a pilot of 100 patients estimates the memory and the run is refused at once."""
    import time

    from metacascade.errors import ParameterError
    from metacascade.workflows.stochastic_run import check_memory, memory_estimate_bytes

    sc = tmp_path / "huge.toml"
    sc.write_text(
        '[patient]\ncancer = "breast_er_positive"\n[engine]\nkind = "stochastic"\n'
        "n_patients = 100000000\nhorizon_days = 3650\n",
        encoding="utf-8",
    )
    t0 = time.time()
    res = runner.invoke(app, ["run", str(sc), "--out", str(tmp_path / "o")])
    assert time.time() - t0 < 30.0
    assert res.exit_code == 2, res.output
    text = " ".join(res.output.split())
    assert "engine.n_patients: 100000000" in text and "allowed at most about" in text
    assert "Traceback" not in res.output and not (tmp_path / "o").exists()
    # the check itself: refused above what fits, with a size that does fit
    with pytest.raises(ParameterError, match=r"engine\.n_patients: 20000 .* at most about (\d+)") as info:
        check_memory(20_000, 460.0, available=1 << 30, written=True)
    fits = int(str(info.value).rsplit("about ", 1)[1].split()[0])
    assert 0 < fits < 20_000 and memory_estimate_bytes(fits, 460.0, written=True) <= 1 << 30
    check_memory(fits, 460.0, available=1 << 30, written=True)
    # the estimate is a lower bound of what was measured: 20,000 breast patients over 10 years
    # (460 colonies each) took 4.4 GB to simulate and 6.4 GB with their tables written
    assert memory_estimate_bytes(20_000, 460.0) < 4.4e9 and memory_estimate_bytes(20_000, 460.0, True) < 6.4e9


def _no_solve(*_a, **_k):
    raise AssertionError("the run computed before checking its output folder")


@pytest.mark.parametrize("where", ["file", "below_file", "unwritable"])
def test_a_bad_output_folder_is_one_line_before_the_solve(tmp_path, monkeypatch, where):
    """Issue 16, bug 4: --out a_file (FileExistsError) and a read-only folder (PermissionError)
    were raw tracebacks after the solve; now one line naming --out, exit 2, nothing computed."""
    import metacascade.workflows.run as run_mod
    import metacascade.workflows.stochastic_run as sto_mod

    monkeypatch.setattr(run_mod, "run_scenario", _no_solve)
    monkeypatch.setattr(sto_mod, "run_stochastic", _no_solve)
    (tmp_path / "a_file").write_text("x", encoding="utf-8")
    if where == "file":
        out, expect = tmp_path / "a_file", "is a file"
    elif where == "below_file":
        out, expect = tmp_path / "a_file" / "sub", "lies below the file"
    else:
        out = tmp_path / "ro"
        out.mkdir()
        out.chmod(0o555)
        if _writable(out):  # root writes anywhere: use a folder of the kernel's instead
            out = Path("/sys/metacascade-out")
            if not Path("/sys").is_dir() or _writable(Path("/sys")):
                pytest.skip("no unwritable folder on this machine")
        expect = "cannot write in"
    for scenario in ([], [str(_stochastic_toml(tmp_path))]):
        res = runner.invoke(app, ["run", *scenario, "--out", str(out)])
        assert res.exit_code == 2, res.output
        text = " ".join(res.output.split())
        assert text.startswith("error: --out: ") and expect in text and "Traceback" not in res.output, res.output


def _writable(folder: Path) -> bool:
    import tempfile

    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def _stochastic_toml(tmp_path) -> Path:
    p = tmp_path / "sto.toml"
    p.write_text('[engine]\nkind = "stochastic"\nn_patients = 30\n[output]\nformat = "csv"\n', encoding="utf-8")
    return p


def test_a_rerun_replaces_the_earlier_run_and_its_stale_files(tmp_path):
    """Issue 16, bug 5 (and item 12's file modes): a deterministic then a stochastic run into one
    folder left both sets of files (the stochastic report then embedded the stale body map);
    files were mode 0600. A folder holding anything else, or a cohort, is refused."""
    import stat

    out = tmp_path / "run"
    assert runner.invoke(app, ["run", "--out", str(out)]).exit_code == 0
    assert runner.invoke(app, ["report", str(out)]).exit_code == 0
    first = {p.name for p in out.iterdir()}
    assert {"body_map.png", "timeseries.parquet", "report.en.html"} <= first
    res = runner.invoke(app, ["run", str(_stochastic_toml(tmp_path)), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "replacing the earlier run" in " ".join(res.output.split())
    names = {p.name for p in out.iterdir()}
    assert names == {
        "patients.csv",
        "colonies.csv",
        "events.csv",
        "organs.csv",
        "size_distribution.csv",
        "summary.json",
        "scenario.toml",
        "figure.png",
    }, names
    assert json.loads((out / "summary.json").read_text())["engine"] == "stochastic"
    umask = os.umask(0o022)
    os.umask(umask)
    for p in out.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~umask, p
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine", encoding="utf-8")
    (tmp_path / "cohort").mkdir()
    (tmp_path / "cohort" / "manifest.json").write_text("{}", encoding="utf-8")
    for folder, expect in ((foreign, "notes.txt"), (tmp_path / "cohort", "holds a cohort run")):
        res = runner.invoke(app, ["run", "--out", str(folder)])
        assert res.exit_code == 2 and expect in " ".join(res.output.split()), res.output
    assert (foreign / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_long_commands_show_a_progress_bar_with_what_they_do(tmp_path, monkeypatch):
    """Issue 16, item 9: run, fit, report, validate gbsg2/presets and predict show a rich bar
    that names the step and moves with the library's "k/n" progress messages."""
    import io

    from rich.console import Console

    import metacascade.cli as cli

    buf = io.StringIO()
    with cli._Steps("fitting gbsg2", console_=Console(file=buf, force_terminal=True, width=120)) as steps:
        steps.say("start 2/4: log-likelihood -1234.5")
        task = steps.bar.tasks[0]
        assert (task.completed, task.total) == (2, 4) and "start 2/4" in task.description
        steps.say("profile grade")  # no count: the bar keeps its place, the text changes
        assert steps.bar.tasks[0].completed == 2 and "profile grade" in steps.bar.tasks[0].description
    assert "fitting gbsg2" in buf.getvalue()

    said: list[str] = []
    monkeypatch.setattr(cli._Steps, "say", lambda self, msg: said.append(f"{self.what}: {msg}"))
    res = runner.invoke(app, ["run", "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert said[0].endswith("solving") and said[1].endswith("writing timeseries 1/7")
    assert said[-1].endswith("writing body map 7/7")
    said.clear()
    res = runner.invoke(app, ["run", str(_stochastic_toml(tmp_path)), "--out", str(tmp_path / "s")])
    assert res.exit_code == 0, res.output
    assert [m.split(": ", 1)[1] for m in said][:2] == ["writing patients 1/8", "writing colonies 2/8"]


# ----------------------------------------------------------------------------- issue 16, item 12
def test_cite_and_the_report_list_each_work_once(tmp_path):
    from metacascade.references import unique_references
    from metacascade.reports.content import references_of
    from metacascade.reports.run_folder import load_run_folder

    res = runner.invoke(app, ["cite"])
    assert res.exit_code == 0 and " ".join(res.output.split()).count("Iwata K, Kawasaki K") == 1, res.output
    assert unique_references(["A B. Title. J 2000;1:2.", "A  b. Title. J 2000;1:2. doi:10.1/x", "C. Other."]) == [
        "A  b. Title. J 2000;1:2. doi:10.1/x",
        "C. Other.",
    ]
    out = tmp_path / "run"
    assert runner.invoke(app, ["run", "--out", str(out)]).exit_code == 0
    refs = references_of(load_run_folder(out))
    assert sum("Iwata K, Kawasaki K" in r for r in refs) == 1, refs


def test_help_texts_keep_their_square_brackets():
    """``cohort --help`` read "a  section": rich markup ate "[cohort]"."""
    import re

    import typer.main

    group = typer.main.get_command(app)

    def walk(cmd, path):
        yield path, cmd
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from walk(sub, [*path, name])

    for path, cmd in walk(group, []):
        texts = [cmd.help or ""] + [getattr(p, "help", "") or "" for p in cmd.params]
        for text in texts:
            tags = re.findall(r"(?<!\\)\[[A-Za-z_][\w.]*\]", text)
            assert not tags, f"metacascade {' '.join(path)}: {tags} would be eaten as rich markup in {text!r}"
    res = runner.invoke(app, ["cohort", "--help"], env={"COLUMNS": "200"})
    assert "with a  section" not in res.output and '"cohort" section' in res.output


def test_tables_are_not_cut_at_80_columns(tmp_path, monkeypatch):
    """Tables ended in "…" at 80 columns ("lymph_regio…", "distant metastas…")."""
    import io
    from types import SimpleNamespace

    from rich.console import Console

    import metacascade.cli as cli
    from metacascade.workflows.survival import survival_summary

    buf = io.StringIO()
    monkeypatch.setattr(cli, "console", Console(file=buf, width=80))
    sc = tmp_path / "wb.toml"
    sc.write_text(
        '[patient]\ncancer = "breast_er_positive"\n[engine]\nhorizon_days = 1825\n[output]\n'
        "figure = false\nn_times = 11\n",
        encoding="utf-8",
    )
    assert runner.invoke(app, ["run", str(sc), "--out", str(tmp_path / "o")]).exit_code == 0
    n = 50
    rng = np.random.default_rng(1)
    days = rng.exponential(2000.0, 2 * n)
    patients = pd.DataFrame(
        {
            "patient": np.r_[np.arange(n), np.arange(n)],
            "arm": ["control"] * n + ["adjuvant"] * n,
            **{f"{e}_days": np.minimum(days, 3650.0) for e in ("os", "mfs", "dm")},
            **{f"{e}_event": days < 3650.0 for e in ("os", "mfs", "dm")},
        }
    )
    summary = survival_summary(patients, ["control", "adjuvant"], 3650.0)
    summary["cohort"] = {"arms": ["control", "adjuvant"], "n_patients": n, "follow_up_days": 3650.0}
    cli._print_cohort(SimpleNamespace(summary=summary, manifest={"seed": 1, "files": []}, out=tmp_path / "c"))
    text = buf.getvalue()
    assert "…" not in text, text
    assert "skin and soft tissue" in text and "lymph nodes (regional)" in text and "distant" in text


def test_scenario_init_for_a_preset_shows_that_presets_values(tmp_path):
    """The breast template showed the HCC preset's growth and shedding in its comments."""
    import re
    import tomllib

    from metacascade.presets import get_preset
    from metacascade.scenario import load_scenario

    path = tmp_path / "breast.toml"
    res = runner.invoke(app, ["scenario", "init", str(path), "--cancer", "breast_er_positive"])
    assert res.exit_code == 0, res.output
    text = path.read_text(encoding="utf-8")
    assert "0.00286" not in text and "5.3e-8" not in text and "7.3e10" not in text
    p = get_preset("breast_er_positive")
    # uncommenting the [model] overrides changes nothing: they are the preset's own values
    model_block = text[text.index("[model]") : text.index("[engine]")]
    keys = (
        "growth_law",
        "growth",
        "shedding_m",
        "shedding_alpha",
        "secondary_seeding",
        "colony_size0_cells",
        "cells_per_mm3",
        "detection_diameter_mm",
        "lethal_burden_cells",
        "routes",
    )
    lines = [
        re.sub(r"\s{2,}#.*$", "", line[2:])
        for line in model_block.splitlines()
        if any(line.startswith(f"# {k} = ") for k in keys)
    ]
    assert len(lines) == len(keys), lines
    values = tomllib.loads("\n".join(lines))
    assert values["growth"] == p.growth and values["shedding_m"] == p.shedding["m"]
    assert values["routes"] == p.routes and values["growth_law"] == p.growth_law
    active = text.replace(model_block, "[model]\n" + "\n".join(lines) + "\n")
    (tmp_path / "active.toml").write_text(active, encoding="utf-8")
    a, b = load_scenario(tmp_path / "active.toml"), load_scenario(path)
    assert a.patient.age_of_primary_days == pytest.approx(b.patient.age_of_primary_days, rel=1e-12)
    assert np.allclose(a.routing.primary, b.routing.primary, rtol=1e-12)


def test_the_default_run_is_whole_body_ends_with_next_steps_and_iwata_is_one_option_away(tmp_path):
    """Issue 16, item 10."""
    res = runner.invoke(app, ["run", "--out", str(tmp_path / "d")], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "d" / "summary.json").read_text())
    assert summary["cancer"] == "colorectal" and len(summary["at_horizon"]["organs"]) == 18
    tail = res.output[res.output.index("next:") :]
    assert f"metacascade report {tmp_path / 'd'}" in tail and "metacascade run --cancer hcc_iwata2000" in tail
    res = runner.invoke(app, ["run", "--cancer", "hcc_iwata2000", "--out", str(tmp_path / "i")])
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "i" / "summary.json").read_text())
    assert summary["cancer"] == "hcc_iwata2000" and list(summary["at_horizon"]["organs"]) == ["liver"]
    bad = runner.invoke(app, ["run", "--cancer", "hcc_iwata200"])
    assert bad.exit_code == 2 and "did you mean 'hcc_iwata2000'" in bad.output
    sc = tmp_path / "s.toml"
    sc.write_text("", encoding="utf-8")
    bad = runner.invoke(app, ["run", str(sc), "--cancer", "colon"])
    assert bad.exit_code == 2 and "--cancer colon" in bad.output
