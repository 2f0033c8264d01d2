"""The web app's JSON API and download routes (Flask, on the Dash server).

Every request is validated: run names by :data:`~metacascade.web.runs.RUN_NAME`, files by
:data:`~metacascade.web.runs.DOWNLOADABLE`, scenarios by the scenario schema; a bad request
gets a 4xx answer with a JSON ``{"error": message}`` that names the field, never a 500.

Routes:
``GET /api/health`` · ``GET /api/presets`` · ``GET /api/runs`` · ``GET /api/runs/<name>`` ·
``POST /api/validate`` (a scenario as JSON) · ``POST /api/runs`` (start a run) ·
``POST /api/cohorts`` (``{"scenario": {...}, "n_patients": n}``) · ``GET /api/jobs/<id>`` ·
``POST /api/jobs/<id>/cancel`` · ``GET /download/<name>/<file>`` · ``GET /download/<name>/tables.zip`` ·
``GET /report/<name>?lang=en|it&format=html|pdf``.
"""

from __future__ import annotations

import math
from typing import Any

from metacascade._version import package_version
from metacascade.errors import MetacascadeError, ParameterError
from metacascade.web import forms
from metacascade.web.i18n import t
from metacascade.web.runs import JobManager, RunStore

__all__ = ["register", "cohort_text", "download_links"]


def cohort_text(raw: dict[str, Any], n_patients: Any) -> str:
    """The scenario TOML of a two-arm matched trial of ``raw`` (the editor's scenario):
    ``control`` without treatment and ``plan`` with the editor's timeline (one arm when the
    timeline is empty), the primary diameter varied log-normally (sd_log 0.3) around the
    editor's value, ``n_patients`` per arm, follow-up = the engine's horizon."""
    import tomli_w

    if (
        isinstance(n_patients, bool)
        or not isinstance(n_patients, int | float)
        or not math.isfinite(n_patients)
        or n_patients < 1
        or n_patients != int(n_patients)
    ):
        raise ParameterError(f"cohort.n_patients: got {n_patients!r}; allowed a whole number >= 1")
    raw = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
    plan = raw.pop("treatment", [])
    engine = raw.setdefault("engine", {})
    engine["kind"] = "stochastic"
    engine.pop("n_patients", None)
    horizon = float(engine.get("horizon_days", 365.0))
    median = float(raw.get("patient", {}).get("primary_diameter_mm", 20.0))
    arms = [{"name": "control", "treatment": []}]
    if plan:
        arms.append({"name": "plan", "treatment": plan})
    n = int(n_patients)
    raw["cohort"] = {
        "n_patients": n,
        "follow_up_days": horizon,
        "chunk_size": max(50, -(-n // 8)),
        "vary": {
            "primary_diameter_mm": {
                "distribution": "lognormal",
                "median": median,
                "sd_log": 0.3,
                "min": min(1.0, median),
                "max": max(200.0, median),
            }
        },
        "arm": arms,
    }
    result = forms.validate(raw)
    if not result.ok:
        raise ParameterError("; ".join([*result.general, *(f"{k}: {v}" for k, v in result.errors.items())]))
    return tomli_w.dumps(raw)


def download_links(store: RunStore, name: str, lang: str):  # -> dash component
    """Links to the run's scenario, tables, figures and report."""
    from dash import html

    base = store.path(name)
    figures = sorted(p.relative_to(base).as_posix() for p in [*base.glob("*.png"), *base.glob("figures/*.png")])
    items = [
        html.A(
            t(lang, "scenario_file"), href=f"/download/{name}/scenario.toml", download="scenario.toml", id="dl-scenario"
        ),
        html.A(t(lang, "tables"), href=f"/download/{name}/tables.zip", download=f"{name}-tables.zip", id="dl-tables"),
        html.A(
            f"{t(lang, 'report')} (HTML)",
            href=f"/report/{name}?lang={lang}&format=html",
            download=f"{name}-report.{lang}.html",
            id="dl-report",
        ),
        html.A(
            f"{t(lang, 'report')} (PDF)",
            href=f"/report/{name}?lang={lang}&format=pdf",
            download=f"{name}-report.{lang}.pdf",
            id="dl-report-pdf",
        ),
    ]
    items += [html.A(f, href=f"/download/{name}/{f}", download=f.replace("/", "-")) for f in figures]
    return html.Div([html.B(t(lang, "downloads") + ": "), *items])


def register(server, store: RunStore, jobs: JobManager) -> None:  # server: flask.Flask
    """Add the API and download routes to ``server``."""
    from flask import jsonify, request, send_file
    from werkzeug.exceptions import HTTPException

    def error(status: int, message: str):
        return jsonify({"error": message}), status

    @server.errorhandler(HTTPException)
    def http_error(exc: HTTPException):  # JSON for the API; Dash's own routes keep HTML
        if request.path.startswith(("/api/", "/download/", "/report/")):
            return error(exc.code or 500, exc.description or exc.name)
        return exc

    @server.errorhandler(ParameterError)
    def bad_parameter(exc: ParameterError):
        return error(400, str(exc))

    @server.before_request
    def unknown_api_path():  # Dash's catch-all page route would answer these with the app's HTML
        rule = request.url_rule.rule if request.url_rule is not None else ""
        if request.path.startswith(("/api/", "/download/", "/report/")) and rule in ("", "/<path:path>"):
            return error(404, f"{request.path}: no such API route or file; see metacascade.web.api for the routes")
        return None

    def body() -> dict[str, Any]:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise ParameterError("request body: expected a JSON object (Content-Type: application/json)")
        return data

    @server.get("/api/health")
    def health():
        return jsonify(
            {"status": "ok", "version": package_version(), "runs": len(store.list()), "jobs": len(jobs.jobs())}
        )

    @server.get("/api/presets")
    def presets():
        from metacascade.presets import preset_names

        return jsonify({"presets": preset_names()})

    @server.get("/api/runs")
    def runs():
        return jsonify({"runs": store.list()})

    @server.get("/api/runs/<name>")
    def run(name: str):
        if store.kind(name) is None:
            return error(404, f"run {name!r}: no such finished run")
        return jsonify(
            {"name": name, "kind": store.kind(name), "status": store.status(name), "summary": store.summary(name)}
        )

    @server.post("/api/validate")
    def validate():
        result = forms.validate(body())
        if result.ok:
            return jsonify({"ok": True, "toml": result.toml})
        return jsonify({"ok": False, "errors": result.errors, "messages": list(result.general)}), 422

    def started(start, *args):
        try:
            job = start(*args)
        except ParameterError as exc:
            return error(400 if "already running" not in str(exc) else 429, str(exc))
        except MetacascadeError as exc:
            return error(422, str(exc))
        return jsonify({"job": job.as_dict()}), 202

    @server.post("/api/runs")
    def start_run():
        raw = body()
        result = forms.validate(raw)
        if not result.ok:
            return jsonify({"ok": False, "errors": result.errors, "messages": list(result.general)}), 422
        return started(jobs.start_run, result.toml)

    @server.post("/api/cohorts")
    def start_cohort():
        data = body()
        scenario = data.get("scenario", {})
        if not isinstance(scenario, dict):
            raise ParameterError("scenario: expected a JSON object of scenario sections")
        return started(jobs.start_cohort, cohort_text(scenario, data.get("n_patients", 100)))

    @server.get("/api/jobs/<job_id>")
    def job(job_id: str):
        state = jobs.get(job_id)
        return error(404, f"job {job_id!r}: unknown") if state is None else jsonify(state.as_dict())

    @server.post("/api/jobs/<job_id>/cancel")
    def cancel(job_id: str):
        if jobs.get(job_id) is None:
            return error(404, f"job {job_id!r}: unknown")
        return jsonify({"cancelled": jobs.cancel(job_id)})

    @server.get("/download/<name>/tables.zip")
    def tables(name: str):
        import io

        from metacascade.web.app import tables_zip

        if store.kind(name) is None:
            return error(404, f"run {name!r}: no such finished run")
        return send_file(
            io.BytesIO(tables_zip(store, name)),
            mimetype="application/zip",
            as_attachment=True,
            download_name=f"{name}-tables.zip",
        )

    @server.get("/download/<name>/<path:relative>")
    def download(name: str, relative: str):
        path = store.file(name, relative)
        if not path.is_file():
            return error(404, f"run {name!r}: no file {relative!r}")
        return send_file(path, as_attachment=True, download_name=path.name)

    @server.get("/report/<name>")
    def report(name: str):
        from metacascade.reports import build_report

        lang = request.args.get("lang", "en")
        fmt = request.args.get("format", "html")
        if store.kind(name) is None:
            return error(404, f"run {name!r}: no such finished run")
        if store.status(name) != "complete":
            return error(409, f"run {name!r}: unfinished; resume it before reporting")
        path = build_report(store.path(name), fmt=fmt, lang=lang)
        return send_file(path, as_attachment=True, download_name=f"{name}-report.{lang}.{fmt}")
