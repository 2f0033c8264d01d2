"""The web app without a browser: the form from the schema, run-store safety, background jobs,
the body-map figure against the run's tables, the JSON API and 50 concurrent requests."""

from __future__ import annotations

import json
import math
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from engine_patients import SPREADING_BREAST_MODEL_SECTION

from metacascade.errors import ParameterError
from metacascade.web import forms
from metacascade.web.runs import JobManager, RunStore, check_run_name

# a patient with metastases to show (the preset's median patient has almost none): tests/engine_patients.py
BREAST = {
    "patient": {"cancer": "breast_er_positive", "primary_diameter_mm": 20},
    "model": SPREADING_BREAST_MODEL_SECTION,
    "engine": {"kind": "deterministic", "horizon_days": 1825, "n_times": 61},
}


_PATIENT = {"patient": BREAST["patient"], "model": BREAST["model"]}


def _wait(jobs: JobManager, job_id: str, timeout: float = 120.0) -> dict:
    t0 = time.time()
    while jobs.get(job_id).state == "running":
        assert time.time() - t0 < timeout, "job did not finish"
        time.sleep(0.1)
    return jobs.get(job_id).as_dict()


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> RunStore:
    """A run store with one deterministic and one stochastic (treated) run, made by the job manager."""
    store = RunStore(tmp_path_factory.mktemp("runs"))
    jobs = JobManager(store)
    det = forms.validate({**_PATIENT, "engine": {"kind": "deterministic", "horizon_days": 1825}})
    sto = forms.validate(
        {
            **_PATIENT,
            "host": {"organ_failure": True},
            "engine": {"kind": "stochastic", "horizon_days": 1825, "n_patients": 200},
            "treatment": [{"kind": "surgery", "day": 0}, {"kind": "chemotherapy", "day": 30}],
        }
    )
    assert det.ok and sto.ok
    for name, v in (("det", det), ("sto", sto)):
        state = _wait(jobs, jobs.start_run(v.toml, name).id)
        assert state["state"] == "complete", state
    return store


# ----------------------------------------------------------------------------- the form
def test_form_fields_come_from_the_schema():
    specs = {s.name: s for s in forms.field_specs(*forms.SECTIONS["patient"])}
    d = specs["primary_diameter_mm"]
    assert (d.kind, d.minimum, d.maximum, d.default) == ("number", 0.0, 1000.0, 20.0)
    assert specs["menopausal_status"].choices == ("premenopausal", "postmenopausal")
    rt = {s.name: s for s in forms.field_specs(forms.TREATMENTS["radiotherapy"])}
    assert "kind" not in rt and rt["fractions"].kind == "integer" and rt["sites"].kind == "list"


def test_validation_errors_are_keyed_by_field():
    keys = ("patient.primary_diameter_mm", "patient.cancer", "treatment.0.fractions", "engine.kind")
    raw = forms.collect({"patient": {"primary_diameter_mm": "-5"}}, [])
    v = forms.validate(raw, known_fields=keys)
    assert (
        not v.ok
        and "greater than 0" in v.errors["patient.primary_diameter_mm"]
        and "-5" in v.errors["patient.primary_diameter_mm"]
    )
    v = forms.validate(forms.collect({"patient": {"cancer": "breast_er_positiv"}}, []), known_fields=keys)
    assert "did you mean 'breast_er_positive'" in v.errors["patient.cancer"]
    v = forms.validate(
        forms.collect({"engine": {"kind": "stochastic"}}, [{"kind": "radiotherapy", "day": 5, "fractions": 0}]),
        known_fields=keys,
    )
    assert "greater than or equal to 1" in v.errors["treatment.0.fractions"]
    v = forms.validate(forms.collect({"patient": {"primary_diameter_mm": "nan"}}, []), known_fields=keys)
    assert not v.ok and "patient.primary_diameter_mm" in v.errors
    # a plan on the deterministic engine: the loader's message, tied to no single field
    v = forms.validate({"treatment": [{"kind": "surgery", "day": 0}]}, known_fields=keys)
    assert not v.ok and "stochastic" in " ".join(v.general) + " ".join(v.errors.values())


def test_collect_skips_empty_optional_inputs_and_converts_types():
    raw = forms.collect(
        {"patient": {"estradiol_pmol_l": "", "primary_diameter_mm": "25"}, "engine": {"n_patients": 300.0}},
        [{"kind": "radiotherapy", "day": "3", "sites": "primary, lung", "repopulation": False}],
    )
    assert raw["patient"] == {"primary_diameter_mm": 25.0}
    assert raw["engine"] == {"n_patients": 300} and isinstance(raw["engine"]["n_patients"], int)
    assert raw["treatment"] == [
        {"kind": "radiotherapy", "day": 3.0, "sites": ["primary", "lung"], "repopulation": False}
    ]


# ----------------------------------------------------------------------------- store and jobs
@pytest.mark.parametrize("bad", ["..", "../x", "/etc", "a/b", ".hidden", "", "x" * 65, "a b", None, 3])
def test_run_names_cannot_leave_the_store(tmp_path, bad):
    store = RunStore(tmp_path)
    with pytest.raises(ParameterError, match="run name"):
        store.path(bad)


@pytest.mark.parametrize(
    "bad", ["../det/summary.json", "/etc/passwd", "x.py", "parts/0.parquet", ".summary.json", "figures/../../x.json"]
)
def test_files_outside_a_run_or_of_other_types_are_refused(store, bad):
    with pytest.raises(ParameterError, match="file"):
        store.file("det", bad)


def test_store_lists_both_runs_with_their_kind(store):
    rows = {r["name"]: r for r in store.list()}
    assert rows["det"]["kind"] == "deterministic" and rows["sto"]["kind"] == "stochastic"
    assert rows["det"]["cancer"] == "breast_er_positive" and rows["sto"]["status"] == "complete"
    assert check_run_name("run-1.a_b") == "run-1.a_b"


def test_jobs_are_bounded_and_cancellable(tmp_path):
    store = RunStore(tmp_path)
    jobs = JobManager(store, max_running=1, max_patients=20_000)
    big = forms.validate({**_PATIENT, "engine": {"kind": "stochastic", "n_patients": 20_001}})
    with pytest.raises(ParameterError, match="at most 20000"):
        jobs.start_run(big.toml)
    # 20,000 patients take seconds; the cancel comes microseconds after the start and takes
    # effect at the end of the first batch of 512
    slow = forms.validate({**_PATIENT, "engine": {"kind": "stochastic", "n_patients": 20_000, "horizon_days": 3650}})
    job = jobs.start_run(slow.toml, "slow")
    with pytest.raises(ParameterError, match="already running"):
        jobs.start_run(slow.toml, "second")
    assert jobs.cancel(job.id)
    state = _wait(jobs, job.id)
    assert state["state"] == "cancelled" and state["done"] < 20_000
    assert not store.path("slow").exists() and store.list() == []  # nothing half-written is listed
    assert not any(p.name.startswith(".tmp") for p in Path(tmp_path).iterdir())


def test_a_failing_scenario_is_refused_before_it_starts(tmp_path):
    jobs = JobManager(RunStore(tmp_path))
    from metacascade.errors import ScenarioError

    with pytest.raises(ScenarioError, match="unknown preset"):
        jobs.start_run('[patient]\ncancer = "nope"\n')


# ----------------------------------------------------------------------------- figures
def test_body_map_frame_equals_the_run_tables(store):
    """The shaded values are the organs table's burden at the frame's day; the hover gives the
    number of colonies and the first detectable day from summary.json."""
    from metacascade.web import views

    view = views.load_view(store, "det")
    organs = store.table("det", "organs")
    k = view.times.size - 1
    fig = views.body_frame(view, k, "en")
    day = fig.layout.meta["day"]
    at = organs[np.isclose(organs["time_days"], day)].set_index("organ")
    for organ, value in fig.layout.meta["values"].items():
        assert value == pytest.approx(at.loc[organ, "burden_cells"], rel=1e-12)
    lung = next(tr for tr in fig.data if tr.name == "lung")
    first = store.summary("det")["days_since_diagnosis_detectable_metastasis_more_likely_than_not"]["lung"]
    assert f"{at.loc['lung', 'n_metastases']:.3g}" in lung.text and f"{first:.3g}" in lung.text
    # the colour rises with the burden (same scale over frames)
    early = views.body_frame(view, int(np.searchsorted(view.times, 0.0)), "en")
    c_early = next(tr for tr in early.data if tr.name == "lung").fillcolor
    assert c_early != lung.fillcolor


def test_every_drawn_organ_has_an_outline():
    from metacascade.bodymap import BODY_MAP_ORGANS
    from metacascade.web.body import organ_outlines

    drawn = {o for o, _, _ in organ_outlines()}
    assert drawn == (set(BODY_MAP_ORGANS) - {"other"}) | {"silhouette"}
    for _organ, _, polys in organ_outlines():
        for p in polys:
            assert p.shape[1] == 2 and len(p) >= 3 and np.isfinite(p).all()
            assert p[:, 0].min() > -4.6 and p[:, 0].max() < 4.6 and p[:, 1].min() > -0.2 and p[:, 1].max() < 20.4


def test_treatment_bands_and_stochastic_view(store):
    from metacascade.web import views

    view = views.load_view(store, "sto")
    assert view.bands == (("surgery", 0.0, 0.0), ("chemotherapy", 30.0, 30.0 + 6 * 21.0))
    fig = views.burden_figure(view, "it")
    assert fig.layout.title.text == "Carico tumorale nel tempo"
    organs = store.table("sto", "organs")
    last = organs[organs["time_days"] == organs["time_days"].max()]
    assert np.nansum(view.burden[-1]) == pytest.approx(last["burden_mean"].sum(), rel=1e-12)


# ----------------------------------------------------------------------------- the server
@pytest.fixture(scope="module")
def server(store):
    from werkzeug.serving import make_server

    from metacascade.web import create_app

    app = create_app(store.root, max_patients=2000)
    srv = make_server("127.0.0.1", 0, app.server, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()


def _request(url: str, body: dict | str | None = None) -> tuple[int, bytes]:
    data = None if body is None else (body if isinstance(body, str) else json.dumps(body)).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_api_answers_bad_requests_with_4xx_and_a_message(server):
    cases = [
        ("/api/runs/nope", None, 404, "no such finished run"),
        ("/api/runs/.hidden", None, 400, "run name"),
        ("/download/det/..%2F..%2Fetc%2Fpasswd", None, 400, "file"),
        ("/download/det/missing.json", None, 404, "no file"),
        ("/download/../det/summary.json", None, 400, "file"),
        ("/api/nothing/here", None, 404, "no such API route"),
        ("/api/validate", "not json", 400, "JSON object"),
        ("/api/validate", {"patient": {"primary_diameter_mm": -1}}, 422, "greater than 0"),
        ("/api/runs", {"engine": {"kind": "stochastic", "n_patients": 10**6}}, 400, "at most 2000"),
        ("/api/cohorts", {"scenario": BREAST, "n_patients": 0}, 400, "n_patients"),
        ("/report/det?lang=fr", None, 400, "lang"),
        ("/api/jobs/xyz", None, 404, "unknown"),
    ]
    for path, body, status, text in cases:
        code, payload = _request(server + path, body)
        assert code == status, (path, code, payload[:300])
        assert text in json.loads(payload)["error" if code != 422 else "errors"].__str__(), (path, payload[:300])


def test_api_runs_a_scenario_and_serves_its_files(server, store):
    code, payload = _request(
        server + "/api/runs",
        {"patient": {"cancer": "colorectal"}, "engine": {"kind": "deterministic", "horizon_days": 365}},
    )
    assert code == 202, payload
    job = json.loads(payload)["job"]
    for _ in range(600):
        state = json.loads(_request(f"{server}/api/jobs/{job['id']}")[1])
        if state["state"] != "running":
            break
        time.sleep(0.2)
    assert state["state"] == "complete", state
    code, payload = _request(f"{server}/api/runs/{job['name']}")
    assert code == 200 and json.loads(payload)["summary"]["cancer"] == "colorectal"
    code, payload = _request(f"{server}/download/{job['name']}/scenario.toml")
    assert code == 200 and b'cancer = "colorectal"' in payload
    code, payload = _request(f"{server}/download/{job['name']}/tables.zip")
    import io
    import zipfile

    names = zipfile.ZipFile(io.BytesIO(payload)).namelist()
    assert code == 200 and f"{job['name']}/organs.parquet" in names and f"{job['name']}/summary.json" in names


def test_fifty_concurrent_requests(server):
    """50 client threads x 4 requests each (200 in all, bounded, loopback only): every good
    request gets 200, every deliberately bad one a 4xx with a message; none fails or hangs."""
    good = [
        "/api/health",
        "/api/runs",
        "/api/runs/det",
        "/download/det/summary.json",
        "/_dash-layout",
        "/_dash-dependencies",
        "/",
    ]
    bad = ["/api/runs/..", "/download/det/x.exe", "/api/runs/missing"]

    def one(i: int) -> list[tuple[str, int, bytes]]:
        out = []
        for j in range(4):
            k = i * 4 + j
            if k % 5 == 4:
                path = bad[k % len(bad)]
            elif k % 7 == 3:
                path = "/api/validate"
                code, payload = _request(server + path, {"patient": {"cancer": "melanoma"}})
                out.append((path, code, payload))
                continue
            else:
                path = good[k % len(good)]
            code, payload = _request(server + path)
            out.append((path, code, payload))
        return out

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=50) as pool:
        results = [r for rs in pool.map(one, range(50)) for r in rs]
    elapsed = time.perf_counter() - t0
    assert len(results) == 200 and elapsed < 120
    for path, code, payload in results:
        if path in bad:
            assert 400 <= code < 500 and json.loads(payload)["error"], (path, code)
        else:
            assert code == 200, (path, code, payload[:200])


def test_the_serve_command_starts_on_loopback_and_answers(tmp_path):
    """``metacascade serve`` (the README command) in a subprocess: it binds 127.0.0.1, answers
    /api/health and the app page, and a busy port is a clear error (exit 2)."""
    import socket
    import subprocess
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "metacascade.cli", "serve", "--port", str(port), "--runs-dir", str(tmp_path / "r")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for _ in range(300):
            try:
                code, payload = _request(f"http://127.0.0.1:{port}/api/health")
                break
            except (urllib.error.URLError, ConnectionError):
                assert proc.poll() is None, proc.stdout.read()
                time.sleep(0.1)
        assert code == 200 and json.loads(payload)["status"] == "ok"
        code, page = _request(f"http://127.0.0.1:{port}/")
        assert code == 200 and b"metacascade" in page and b"https://cdn" not in page
        busy = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert busy.returncode == 2 and f"--port {port}" in busy.stderr
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# ----------------------------------------------------------------------------- missing values
def _callback(app, output: str):
    """The plain Python function of the app's callback whose outputs include ``output``."""
    for key, entry in app.callback_map.items():
        if output in key:
            return entry["callback"].__wrapped__
    raise KeyError(output)


def _cohort_folder(root: Path, name: str) -> None:
    """A finished cohort whose control patients all die and whose treated patients none do: the
    hazard ratio is 0 with no interval, the treated median is not reached (issue 16, bug 1)."""
    import pandas as pd

    from metacascade.workflows.survival import survival_summary

    n = 40
    days = np.linspace(100.0, 1500.0, n)
    patients = pd.DataFrame(
        {
            "patient": np.r_[np.arange(n), np.arange(n)],
            "arm": ["control"] * n + ["surgery"] * n,
            "os_days": np.r_[days, np.full(n, 1825.0)],
            "os_event": np.r_[np.ones(n, bool), np.zeros(n, bool)],
            "mfs_days": np.r_[days, np.full(n, 1825.0)],
            "mfs_event": np.r_[np.ones(n, bool), np.zeros(n, bool)],
        }
    )
    summary = survival_summary(patients, ["control", "surgery"], 1825.0)
    hr = summary["endpoints"]["os"]["comparisons"]["surgery"]["hazard_ratio"]
    assert hr["hr"] == 0.0 and hr["ci_lower"] is None and hr["ci_upper"] is None
    folder = root / name
    folder.mkdir()
    patients.to_csv(folder / "patients.csv", index=False)
    (folder / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    (folder / "manifest.json").write_text(
        json.dumps(
            {
                "scenario_sha256": "0" * 64,
                "arms": ["control", "surgery"],
                "n_chunks": 1,
                "status": "complete",
                "scenario": "",
            }
        ),
        encoding="utf-8",
    )


def test_a_cohort_with_a_zero_hazard_ratio_and_no_interval_opens(tmp_path):
    from metacascade.web.app import create_app
    from metacascade.web.views import MISSING, fmt

    _cohort_folder(tmp_path, "all-or-none")
    app = create_app(tmp_path)
    out = _callback(app, "cohort-summary.children")("all-or-none", "en")
    table = out[8]
    cells = [[str(td.children) for td in tr.children] for tr in table.children[1].children]
    assert cells[0][-1] == MISSING  # the reference arm has no HR
    assert cells[1][-1] == "0" and cells[1][3] == MISSING  # HR 0, no interval; median not reached
    for bad in (None, math.nan, math.inf, -math.inf, "x"):
        assert fmt(bad) == MISSING
    assert fmt(0.0) == "0" and fmt(1234.5, ".0f") == "1234"


# ------------------------------------------------------------------------- the editor's callbacks (issue 16, item 7)
def _walk(component):
    """Every component of a Dash layout tree."""
    yield component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list | tuple) else [children]:
        if hasattr(child, "to_plotly_json"):
            yield from _walk(child)


def _form(lang: str = "en", plan: tuple[str, ...] = (), **values):
    """(field ids, values, error ids) as the browser sends them: the editor's defaults, a
    timeline of ``plan`` kinds as new (empty) entries, and ``values`` by key (``patient.cancer``)."""
    from metacascade.presets import preset_names
    from metacascade.web.app import _layout, _treatment_card

    tree = [_layout(lang, preset_names()), *(_treatment_card(i, k, {}, lang) for i, k in enumerate(plan))]
    ids, vals, errs = [], [], []
    for root in tree:
        for c in _walk(root):
            cid = getattr(c, "id", None)
            if isinstance(cid, dict) and cid.get("type") == "fld":
                ids.append(cid)
                vals.append(values.get(cid["key"], getattr(c, "value", None)))
            elif isinstance(cid, dict) and cid.get("type") == "err":
                errs.append(cid)
    return ids, vals, errs


def test_a_missing_treatment_day_names_the_field_and_its_tab(tmp_path):
    """A new surgery entry has no day: the Scenario tab marks the day field, and the Cohort tab's
    message says where it is ("Field required Field required" before)."""
    from metacascade.web.app import create_app

    app = create_app(tmp_path)
    ids, vals, errs = _form(plan=("surgery",), **{"engine.kind": "stochastic"})
    field_errors, message, job = _callback(app, "form-message.children")(1, ids, vals, errs, "en")
    assert field_errors[[e["key"] for e in errs].index("treatment.0.day")] == "required"
    assert "Scenario tab › Treatment timeline › surgery 1: day is required" in message
    message, job = _callback(app, "cohort-message.children")(1, 10, ids, vals, errs, "en")
    assert message == "Scenario tab › Treatment timeline › surgery 1: day is required" and job is not None
    it, _ = _callback(app, "cohort-message.children")(1, 10, ids, vals, errs, "it")
    assert it == "scheda Scenario › Piano di trattamento › chirurgia 1: giorno è obbligatorio"


def test_non_numeric_input_is_an_error_naming_the_field_and_value(tmp_path):
    """ "2o" in the diameter: a text input (a browser's number input turned it into 2 without a
    word), and a one-line error with the field and the value; nothing runs."""
    from dash import dcc

    from metacascade.presets import preset_names
    from metacascade.web.app import _layout, create_app

    diameter = next(
        c
        for c in _walk(_layout("en", preset_names()))
        if getattr(c, "id", None) == {"type": "fld", "key": "patient.primary_diameter_mm"}
    )
    assert isinstance(diameter, dcc.Input) and diameter.type == "text"
    app = create_app(tmp_path)
    ids, vals, errs = _form(**{"patient.primary_diameter_mm": "2o"})
    field_errors, message, job = _callback(app, "form-message.children")(1, ids, vals, errs, "en")
    assert field_errors[[e["key"] for e in errs].index("patient.primary_diameter_mm")] == "not a number (got '2o')"
    assert "Scenario tab › Patient › primary diameter (mm): not a number (got '2o')" in message
    assert "\n" not in message and job is not None and RunStore(tmp_path).list() == []


def test_the_cohort_tab_chooses_the_stochastic_engine_itself(tmp_path):
    """The editor's engine is deterministic (the default) and the timeline has a surgery: the cohort
    runs (on the stochastic engine, which it needs) instead of an error about the Scenario tab."""
    from metacascade.web.app import create_app

    app = create_app(tmp_path)
    ids, vals, errs = _form(
        plan=("surgery",), **{"engine.kind": "deterministic", "engine.horizon_days": "90", "treatment.0.day": "0"}
    )
    message, job = _callback(app, "cohort-message.children")(1, 4, ids, vals, errs, "en")
    assert message == "" and job["kind"] == "cohort", message
    for _ in range(600):
        if RunStore(tmp_path).list() and RunStore(tmp_path).status(job["name"]) == "complete":
            break
        time.sleep(0.2)
    store = RunStore(tmp_path)
    assert store.kind(job["name"]) == "cohort" and store.status(job["name"]) == "complete"
    assert 'kind = "stochastic"' in store.scenario_text(job["name"])


def _run_job(app, tmp_path, **values) -> dict:
    """Start a run through the Scenario tab's callback and wait until it is listed."""
    ids, vals, errs = _form(**values)
    _, message, job = _callback(app, "form-message.children")(1, ids, vals, errs, "en")
    assert isinstance(job, dict), message
    for _ in range(600):
        if any(r["name"] == job["name"] for r in RunStore(tmp_path).list()):
            return job
        time.sleep(0.2)
    raise AssertionError("the run did not finish")


def test_the_job_bar_says_what_finished_and_drops_cancel(tmp_path):
    """A deterministic run is one solve: the bar said "1/1 patients done" and kept its Cancel
    button; now "deterministic solve done", and Cancel is hidden once nothing runs."""
    from metacascade.web.app import create_app

    app = create_app(tmp_path)
    job = _run_job(app, tmp_path, **{"patient.cancer": "colorectal", "engine.horizon_days": "90"})
    poll = _callback(app, "job-progress.value")
    for _ in range(100):
        out = poll(1, job, "en")
        if out[3] is True:  # polling stopped: the job is over
            break
        time.sleep(0.1)
    text, cancel_style = out[2], out[7]
    assert text == f"{job['name']}: deterministic solve done" and "patients" not in text
    assert cancel_style == {"display": "none"}
    assert poll(1, job, "it")[2] == f"{job['name']}: calcolo deterministico completato"
    assert _callback(app, "job-bar.style")(job)[2] == {}  # a new job shows Cancel again


def test_the_body_map_colour_scale_is_fixed_from_one_cell_to_the_lethal_burden(store):
    """The same colour means the same burden in every run: log10 cells from 1 to the lethal burden
    (it was the run's own maximum, so a body with at most ~3,000 cells looked all red)."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    from metacascade.bodymap import CMAP_FLOOR
    from metacascade.web import views

    lethal = store.summary("det")["lethal_burden_cells"]
    for name in ("det", "sto"):
        view = views.load_view(store, name)
        assert view.lethal_cells == lethal == 1e12
        for k in (0, view.times.size - 1):
            fig = views.body_frame(view, k, "en")
            scale = fig.data[-1].marker
            assert (scale.cmin, scale.cmax) == (0.0, 12.0) and "lethal 1e12" in scale.colorbar.title.text
            for tr in fig.data:
                value = (tr.meta or {}).get("value") if isinstance(tr.meta, dict) else None
                if value is not None and value >= 1.0:
                    frac = math.log10(value) / 12.0
                    assert tr.fillcolor == to_hex(colormaps["Reds"](CMAP_FLOOR + (1.0 - CMAP_FLOOR) * frac))
    # a frame whose largest organ holds a few thousand cells: a pale colour, not the top of the scale
    view = views.load_view(store, "det")
    largest = np.nanmax(view.burden, axis=1)
    k = int(np.flatnonzero((largest > 1e3) & (largest < 1e4))[0])
    j = int(np.nanargmax(view.burden[k]))
    top = next(tr for tr in views.body_frame(view, k, "en").data if tr.name == view.organs[j])
    assert top.fillcolor == to_hex(colormaps["Reds"](CMAP_FLOOR + (1.0 - CMAP_FLOOR) * math.log10(largest[k]) / 12))
    assert top.fillcolor != to_hex(colormaps["Reds"](1.0))


def test_log_axes_use_powers_of_ten_not_si_prefixes(store):
    """ "100µ" colonies and "10B" cells (Plotly's SI prefixes) read as powers of ten, in both languages."""
    from metacascade.web import views

    view = views.load_view(store, "det")
    k = view.times.size - 1
    for lang in ("en", "it"):
        burden, sizes = views.burden_figure(view, lang), views.sizes_figure(view, k, lang)
        for axis in (burden.layout.yaxis, sizes.layout.xaxis, sizes.layout.yaxis):
            assert axis.type == "log" and axis.exponentformat == "power" and axis.showexponent == "all"


def test_saved_runs_have_readable_names_and_open_on_a_click(tmp_path):
    """Saved runs were "run-20250301-140501-ab12" and could not be clicked: their names and labels
    now say cancer, engine and time, and clicking a row opens the run in the Results tab."""
    import re
    from datetime import datetime

    from metacascade.web.app import create_app

    app = create_app(tmp_path)
    job = _run_job(app, tmp_path, **{"patient.cancer": "colorectal", "engine.horizon_days": "90"})
    assert re.fullmatch(r"colorectal-deterministic-\d{8}-\d{6}-[0-9a-f]{4}", job["name"]), job["name"]
    options, listed = _callback(app, "runs-table.options")(0, "runs", True, "en")
    when = datetime.now().strftime("%Y-%m-%d")
    assert options[0]["value"] == job["name"] and options[0]["label"].startswith(f"colorectal · deterministic · {when}")
    assert listed == [
        {"label": f"{options[0]['label']} — complete ({job['name']})", "value": job["name"], "disabled": False}
    ]
    key = next(k for k, v in app.callback_map.items() if {"id": "runs-table", "property": "value"} in v["inputs"])
    choose = app.callback_map[key]["callback"].__wrapped__
    assert choose(job["name"]) == (job["name"], "results", None)  # opened in Results
    assert choose("no-such-run")[:2] != (job["name"], "results")
