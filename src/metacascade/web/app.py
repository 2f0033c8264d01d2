"""The web app: a Dash front end over the run store (scenario editor, body map, plots, cohort
runs, saved runs, downloads) plus a small JSON API and download routes on the same Flask server.

Dash was chosen because it is a well-kept Plotly project whose JavaScript (React, Plotly.js and
the components) ships inside the installed Python packages and is served from them
(``serve_locally``): nothing is fetched from the internet at run time; callbacks are plain
Python over the library; and figures are the same Plotly objects a user can build in a
notebook. The app holds no model logic: it validates with the scenario schema, runs through
:class:`~metacascade.web.runs.JobManager` and reads run folders like the CLI writes them.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

from metacascade._version import package_version
from metacascade.errors import MetacascadeError, ParameterError
from metacascade.web import forms
from metacascade.web.i18n import LANGUAGES, label, t
from metacascade.web.runs import JobManager, RunStore

__all__ = ["create_app", "serve"]

_ASSETS = Path(__file__).with_name("assets")


def _lang(value: Any) -> str:
    return value if value in LANGUAGES else "en"


# ----------------------------------------------------------------------------- form widgets
def _input(spec: forms.FieldSpec, key: str, value: Any, lang: str, options: list[str] | None = None):
    from dash import dcc, html

    fid = {"type": "fld", "key": key}
    keep = {} if key.startswith("treatment.") else {"persistence": True, "persistence_type": "session"}
    if options is not None or spec.kind == "choice":
        choices = options if options is not None else list(spec.choices)
        widget = dcc.Dropdown(
            id=fid,
            options=[{"label": c, "value": c} for c in choices],
            value=value,
            clearable=spec.optional,
            className="field-input",
            **keep,
        )
    elif spec.kind == "boolean":
        widget = dcc.Checklist(
            id=fid,
            options=[{"label": "", "value": "on"}],
            value=["on"] if value else [],
            className="field-input",
            **keep,
        )
    elif spec.kind in ("number", "integer"):
        # a text input: a browser's number input drops what it cannot parse ("2o" -> 2, or empty) without
        # telling; as text the value reaches the schema, which names the field and the value
        widget = dcc.Input(
            id=fid,
            type="text",
            value=value,
            debounce=True,
            className="field-input",
            inputMode="decimal" if spec.kind == "number" else "numeric",
            **keep,
        )
    else:
        text = ", ".join(value) if isinstance(value, list) else value
        widget = dcc.Input(id=fid, type="text", value=text, debounce=True, className="field-input", **keep)
    bounds = ""
    if spec.minimum is not None or spec.maximum is not None:
        bounds = (
            f" [{'' if spec.minimum is None else f'{spec.minimum:g}'} … "
            f"{'' if spec.maximum is None else f'{spec.maximum:g}'}]"
        )
    return html.Div(
        [
            html.Label(label(lang, spec.name) + bounds, className="field-label", title=spec.description),
            widget,
            html.Div(id={"type": "err", "key": key}, className="field-error"),
        ],
        className="field",
        id=f"field-{key.replace('.', '-')}",
    )


def _default(spec: forms.FieldSpec) -> Any:
    from pydantic_core import PydanticUndefined

    return None if spec.default is PydanticUndefined else spec.default


def _treatment_card(index: int, kind: str, values: dict[str, Any], lang: str):
    from dash import dcc, html

    model = forms.TREATMENTS[kind]
    fields = [dcc.Input(id={"type": "fld", "key": f"treatment.{index}.kind"}, type="hidden", value=kind)]
    for spec in forms.field_specs(model):
        fields.append(_input(spec, f"treatment.{index}.{spec.name}", values.get(spec.name, _default(spec)), lang))
    return html.Div(
        [
            html.Div(
                [
                    html.B(f"{index + 1}. {label(lang, kind)}"),
                    html.Button(t(lang, "remove"), id={"type": "tdel", "idx": index}, n_clicks=0, className="small"),
                ],
                className="card-head",
            ),
            html.Div(fields, className="fields"),
        ],
        className="card treatment-card",
    )


def _section(name: str, lang: str, presets: list[str]):
    from dash import html

    model, names = forms.SECTIONS[name]
    children = []
    for spec in forms.field_specs(model, names):
        options = presets if (name, spec.name) == ("patient", "cancer") else None
        value = _default(spec)
        if (name, spec.name) == ("patient", "cancer"):
            value = "breast_er_positive"
        children.append(_input(spec, f"{name}.{spec.name}", value, lang, options))
    return html.Fieldset([html.Legend(t(lang, name)), html.Div(children, className="fields")], id=f"section-{name}")


def run_label(row: dict[str, Any]) -> str:
    """A run as people read it: cancer · engine · when (local time), e.g.
    "breast_er_positive · stochastic · 2025-03-01 14:05"."""
    from datetime import datetime

    when = datetime.fromtimestamp(row["modified"]).strftime("%Y-%m-%d %H:%M") if row.get("modified") else "?"
    return f"{row['cancer']} · {row['kind']} · {when}"


def _layout(lang: str, presets: list[str]):
    from dash import dcc, html

    other = "it" if lang == "en" else "en"
    editor = html.Div(
        [
            _section("patient", lang, presets),
            _section("host", lang, presets),
            _section("engine", lang, presets),
            html.Fieldset(
                [
                    html.Legend(t(lang, "treatment")),
                    html.Div(
                        [
                            dcc.Dropdown(
                                id="add-kind",
                                options=[{"label": label(lang, k), "value": k} for k in forms.TREATMENTS],
                                value="surgery",
                                clearable=False,
                                className="add-kind",
                                persistence=True,
                                persistence_type="session",
                            ),
                            html.Button(t(lang, "add_treatment"), id="add-treatment", n_clicks=0),
                        ],
                        className="row",
                    ),
                    html.Div(id="plan", children=[]),
                ],
                id="section-treatment",
            ),
            html.Div(
                [
                    html.Button(t(lang, "run"), id="run-button", n_clicks=0, className="primary"),
                    html.Span(id="form-message", className="message"),
                ],
                className="row",
            ),
        ],
        id="editor",
    )
    results = html.Div(
        [
            html.Div(
                [
                    html.Label(t(lang, "open_run")),
                    dcc.Dropdown(id="run-select", options=[], value=None, className="run-select"),
                ],
                className="row",
            ),
            html.Div(id="run-empty", children=t(lang, "no_run")),
            html.Div(
                [
                    html.Div(
                        [
                            dcc.Graph(id="body-map", config={"displayModeBar": False}),
                            html.Div(
                                [
                                    html.Button("▶", id="play", n_clicks=0, className="small"),
                                    html.Div(
                                        dcc.Slider(
                                            id="time-slider",
                                            min=0,
                                            max=1,
                                            step=1,
                                            value=0,
                                            marks=None,
                                            allow_direct_input=False,
                                        ),
                                        className="slider",
                                    ),
                                ],
                                className="row",
                            ),
                            html.Div(t(lang, "time"), className="caption"),
                        ],
                        className="col",
                    ),
                    html.Div([dcc.Graph(id="burden-plot"), dcc.Graph(id="sizes-plot")], className="col"),
                ],
                id="single-view",
                className="cols",
                style={"display": "none"},
            ),
            html.Div(
                [dcc.Graph(id="km-plot"), dcc.Graph(id="km-mfs-plot"), html.Div(id="cohort-summary")],
                id="cohort-view",
                style={"display": "none"},
            ),
            html.Div(id="downloads", className="downloads"),
            dcc.Interval(id="player", interval=400, disabled=True),
        ]
    )
    cohort = html.Div(
        [
            html.P(t(lang, "cohort_intro")),
            html.Div(
                [
                    html.Label(t(lang, "n_patients")),
                    dcc.Input(
                        id="cohort-n",
                        type="number",
                        value=200,
                        min=1,
                        step=1,
                        persistence=True,
                        persistence_type="session",
                    ),
                    html.Button(t(lang, "run_cohort"), id="cohort-button", n_clicks=0, className="primary"),
                    html.Span(id="cohort-message", className="message"),
                ],
                className="row",
            ),
        ]
    )
    runs = html.Div(
        [
            html.H3(t(lang, "runs_table")),
            html.P(t(lang, "runs_hint")),
            dcc.RadioItems(id="runs-table", options=[], value=None, className="runs-list", labelClassName="runs-item"),
        ]
    )
    return html.Div(
        [
            dcc.Store(id="lang", data=lang),
            dcc.Store(id="job", data=None),
            # the treatment timeline, kept in the browser's session: the language switch reloads the page, and
            # the other fields keep their values through Dash's persistence (the timeline's are made afresh)
            dcc.Store(id="saved-plan", storage_type="session"),
            html.Header(
                [
                    html.H1(t(lang, "title")),
                    html.Span(t(lang, "subtitle"), className="subtitle"),
                    html.Span(
                        [
                            t(lang, "language") + ": ",
                            html.B(lang.upper()),
                            " · ",
                            html.A(other.upper(), href=f"/?lang={other}", id="lang-switch"),
                        ],
                        className="lang",
                    ),
                ]
            ),
            html.Div(
                [
                    html.Progress(id="job-progress", value="0", max="1"),
                    html.Span(id="job-text"),
                    html.Button(t(lang, "cancel"), id="job-cancel", n_clicks=0, className="small"),
                ],
                id="job-bar",
                className="row",
                style={"display": "none"},
            ),
            dcc.Interval(id="poll", interval=700, disabled=True),
            dcc.Interval(id="runs-refresh", interval=5000),
            dcc.Tabs(
                id="tabs",
                value="scenario",
                children=[
                    dcc.Tab(label=t(lang, "tab_scenario"), value="scenario", children=editor, id="tab-scenario"),
                    dcc.Tab(label=t(lang, "tab_results"), value="results", children=results, id="tab-results"),
                    dcc.Tab(label=t(lang, "tab_cohort"), value="cohort", children=cohort, id="tab-cohort"),
                    dcc.Tab(label=t(lang, "tab_runs"), value="runs", children=runs, id="tab-runs"),
                ],
            ),
            html.Footer(f"metacascade {package_version()} · {t(lang, 'disclaimer')}"),
        ],
        className="page",
    )


def _cohort_table(rows: list[dict], lang: str):
    """Per-arm patients, deaths, median overall survival and hazard ratio (vs the first arm)."""
    from dash import html

    from metacascade.web.views import MISSING, fmt

    def with_ci(x, ci, spec: str = ".3g") -> str:
        """x (lower–upper); any part may be missing or infinite (no events in an arm: HR 0 or
        inf with no interval), shown as "–"."""
        ci = ci or [None, None]
        lo, hi = fmt(ci[0], spec), fmt(ci[1], spec)
        interval = "" if lo == hi == MISSING else f" ({lo}–{hi})"
        return fmt(x, spec) + interval

    def hr(r: dict) -> str:
        text = with_ci(r.get("hr"), r.get("hr_ci"))
        if r.get("proportional") is False:  # crossing curves: the RMST difference leads
            p = r.get("ph_p_value")
            text += "; " + t(lang, "non_ph").format(p="< 0.0001" if fmt(p) != MISSING and p < 1e-4 else fmt(p, ".2g"))
        return text

    head = html.Tr(
        [html.Th(h) for h in ("arm", "n", t(lang, "events"), t(lang, "median_os"), t(lang, "rmst_diff"), t(lang, "hr"))]
    )
    body = [
        html.Tr(
            [
                html.Td(str(r.get("arm", MISSING))),
                html.Td(fmt(r.get("n"), "d")),
                html.Td(fmt(r.get("events"), "d")),
                html.Td(fmt(r.get("median_days"), ".0f")),
                html.Td(with_ci(r.get("rmst_diff"), r.get("rmst_ci"), "+.0f")),
                html.Td(hr(r)),
            ]
        )
        for r in rows
    ]
    return html.Table([html.Thead(head), html.Tbody(body)], className="runs", id="cohort-table")


# ----------------------------------------------------------------------------- the app
def create_app(runs_dir: str | Path, *, max_patients: int = 20_000, max_running: int = 2):  # -> dash.Dash
    """The Dash app over the run folders in ``runs_dir``.

    ``max_patients`` bounds a web request's patients (stochastic runs, and per arm for cohorts);
    ``max_running`` the runs in progress at once.
    """
    import dash
    from dash import ALL, Input, Output, State, ctx, no_update
    from flask import request

    from metacascade.presets import preset_names
    from metacascade.web import api, views

    store = RunStore(runs_dir)
    jobs = JobManager(store, max_running=max_running, max_patients=max_patients)
    presets = preset_names()
    app = dash.Dash(
        __name__,
        assets_folder=str(_ASSETS),
        title="metacascade",
        serve_locally=True,
        suppress_callback_exceptions=True,
        update_title=None,
    )
    app.server.config["MAX_CONTENT_LENGTH"] = 1 << 20  # requests are small; bound them

    def page_lang() -> str:
        """``?lang=`` of the page: the layout is fetched by a request of its own whose Referer is the page."""
        from urllib.parse import parse_qs, urlparse

        asked = request.args.get("lang") or parse_qs(urlparse(request.referrer or "").query).get("lang", [""])[0]
        return _lang(asked)

    app.layout = lambda: _layout(page_lang(), presets)
    api.register(app.server, store, jobs)

    def values_of(ids: list[dict], values: list[Any]) -> tuple[dict[str, dict], list[dict]]:
        """The form's values by section and by timeline entry (as submitted; forms.collect converts)."""
        sections: dict[str, dict] = {s: {} for s in forms.SECTIONS}
        plan: dict[int, dict] = {}
        for i, v in zip(ids, values):
            parts = i["key"].split(".")
            if parts[0] == "treatment":
                plan.setdefault(int(parts[1]), {})[parts[2]] = v
            else:
                sections[parts[0]][parts[1]] = v
        return sections, [plan[k] for k in sorted(plan)]

    def run_options(rows: list[dict] | None = None) -> list[dict]:
        return [
            {"label": run_label(r), "value": r["name"]}
            for r in (store.list() if rows is None else rows)
            if r["status"] == "complete"
        ]

    def check(ids, values, errs_ids, *, cohort: bool = False):
        sections, plan = values_of(ids, values)
        if cohort:  # a cohort needs the stochastic engine and sets its own patients: not the editor's to choose
            sections["engine"]["kind"] = "stochastic"
            sections["engine"].pop("n_patients", None)
        raw = forms.collect(sections, plan)
        keys = tuple(i["key"] for i in errs_ids)
        return raw, forms.validate(raw, known_fields=keys), keys

    def problems(raw: dict, result: forms.Validation, lang: str) -> list[str]:
        """Every problem in one line each, saying which field of which tab."""
        return [*result.general, *(forms.describe(k, m, raw, lang) for k, m in result.errors.items())]

    @app.callback(
        Output("plan", "children"),
        Output("saved-plan", "data", allow_duplicate=True),
        Input("add-treatment", "n_clicks"),
        Input({"type": "tdel", "idx": ALL}, "n_clicks"),
        State("add-kind", "value"),
        State({"type": "fld", "key": ALL}, "id"),
        State({"type": "fld", "key": ALL}, "value"),
        State("lang", "data"),
        prevent_initial_call=True,
    )
    def edit_plan(_add, _dels, kind, ids, values, lang):
        _, plan = values_of(ids, values)
        trig = ctx.triggered_id
        if isinstance(trig, dict) and trig.get("type") == "tdel":
            if not any(_dels):
                return no_update, no_update
            plan.pop(int(trig["idx"]))
        elif trig == "add-treatment":
            plan.append({"kind": kind})
        return [_treatment_card(i, e["kind"], e, lang) for i, e in enumerate(plan)], plan

    @app.callback(
        Output("saved-plan", "data"),
        Input({"type": "fld", "key": ALL}, "value"),
        State({"type": "fld", "key": ALL}, "id"),
        prevent_initial_call=True,
    )
    def save_plan(values, ids):
        """The timeline as entered, for the next page load (the language switch)."""
        return values_of(ids, values)[1]

    @app.callback(
        Output("plan", "children", allow_duplicate=True),
        Input("saved-plan", "modified_timestamp"),
        State("saved-plan", "data"),
        State("plan", "children"),
        State("lang", "data"),
        prevent_initial_call="initial_duplicate",
    )
    def restore_plan(_stamp, saved, shown, lang):
        """On a page load (the language switch), the saved timeline in the page's language."""
        if shown or not saved:
            return no_update
        return [
            _treatment_card(i, e["kind"], e, lang)
            for i, e in enumerate(saved)
            if isinstance(e, dict) and e.get("kind") in forms.TREATMENTS
        ]

    @app.callback(
        Output({"type": "err", "key": ALL}, "children"),
        Output("form-message", "children"),
        Output("job", "data", allow_duplicate=True),
        Input("run-button", "n_clicks"),
        State({"type": "fld", "key": ALL}, "id"),
        State({"type": "fld", "key": ALL}, "value"),
        State({"type": "err", "key": ALL}, "id"),
        State("lang", "data"),
        prevent_initial_call=True,
    )
    def run_scenario(_n, ids, values, err_ids, lang):
        raw, result, keys = check(ids, values, err_ids)
        if not result.ok:
            msg = t(lang, "invalid") + " " + "; ".join(problems(raw, result, lang))
            return [forms.field_message(result.errors.get(k, ""), lang) for k in keys], msg, no_update
        try:
            job = jobs.start_run(result.toml)
        except MetacascadeError as exc:
            return ["" for _ in keys], str(exc), no_update
        return ["" for _ in keys], t(lang, "valid"), {"id": job.id, "name": job.name, "kind": "run"}

    @app.callback(
        Output("cohort-message", "children"),
        Output("job", "data", allow_duplicate=True),
        Input("cohort-button", "n_clicks"),
        State("cohort-n", "value"),
        State({"type": "fld", "key": ALL}, "id"),
        State({"type": "fld", "key": ALL}, "value"),
        State({"type": "err", "key": ALL}, "id"),
        State("lang", "data"),
        prevent_initial_call=True,
    )
    def run_cohort(_n, n_patients, ids, values, err_ids, lang):
        raw, result, _ = check(ids, values, err_ids, cohort=True)
        if not result.ok:
            return "; ".join(problems(raw, result, lang)), no_update
        try:
            text = api.cohort_text(raw, n_patients)
            job = jobs.start_cohort(text)
        except MetacascadeError as exc:
            return str(exc), no_update
        return "", {"id": job.id, "name": job.name, "kind": "cohort"}

    @app.callback(
        Output("poll", "disabled"), Output("job-bar", "style"), Output("job-cancel", "style"), Input("job", "data")
    )
    def watch(job):
        return job is None, {"display": "flex"} if job else {"display": "none"}, {}

    def job_text(state, lang: str) -> str:
        """What the job is and how far it got: "deterministic solve done", or patients done for a
        stochastic run or a cohort."""
        d = state.as_dict()
        if state.engine == "deterministic":  # one solve, no patients to count
            text = f"{state.name}: {t(lang, 'solve_' + state.state)}"
        else:
            eta = (
                ""
                if views.fmt(d["eta_s"]) == views.MISSING
                else f" · {t(lang, 'eta')} {views.fmt(d['eta_s'], '.0f')} s"
            )
            rate = f" · {views.fmt(d['rate_per_s'], ',.0f')} {t(lang, 'rate')}{eta}" if state.state == "running" else ""
            text = (
                f"{state.name}: {t(lang, state.engine or state.kind)} {t(lang, state.state)} · "
                f"{d['done']:,}/{d['total']:,} {t(lang, 'patients_done')}{rate}"
            )
        return text + (f" · {state.message}" if state.message else "")

    @app.callback(
        Output("job-progress", "value"),
        Output("job-progress", "max"),
        Output("job-text", "children"),
        Output("poll", "disabled", allow_duplicate=True),
        Output("run-select", "options", allow_duplicate=True),
        Output("run-select", "value"),
        Output("tabs", "value"),
        Output("job-cancel", "style", allow_duplicate=True),
        Input("poll", "n_intervals"),
        State("job", "data"),
        State("lang", "data"),
        prevent_initial_call=True,
    )
    def poll(_n, job, lang):
        state = jobs.get(job["id"]) if job else None
        hide = {"display": "none"}  # nothing left to cancel
        if state is None:
            return no_update, no_update, "", True, no_update, no_update, no_update, hide
        d = state.as_dict()
        text = job_text(state, lang)
        if state.state == "running":
            return str(d["done"]), str(max(d["total"], 1)), text, False, no_update, no_update, no_update, no_update
        if state.state == "complete":
            return str(d["total"]), str(max(d["total"], 1)), text, True, run_options(), state.name, "results", hide
        return str(d["done"]), str(max(d["total"], 1)), text, True, no_update, no_update, no_update, hide

    @app.callback(
        Output("job-text", "children", allow_duplicate=True),
        Input("job-cancel", "n_clicks"),
        State("job", "data"),
        State("lang", "data"),
        prevent_initial_call=True,
    )
    def cancel(_n, job, lang):
        if job and jobs.cancel(job["id"]):
            return f"{job['name']}: {t(lang, 'cancel')}…"
        return no_update

    @app.callback(
        Output("run-select", "options"),
        Output("runs-table", "options"),
        Input("runs-refresh", "n_intervals"),
        Input("tabs", "value"),
        Input("poll", "disabled"),
        State("lang", "data"),
    )
    def refresh(_n, _tab, _poll, lang):
        """The saved runs, newest first: readable labels (cancer · engine · time, then status and
        folder), finished ones selectable."""
        rows = store.list()
        listed = [
            {
                "label": f"{run_label(r)} — {t(lang, r['status'])} ({r['name']})",
                "value": r["name"],
                "disabled": r["status"] != "complete",
            }
            for r in rows
        ]
        return run_options(rows), listed

    @app.callback(
        Output("run-select", "value", allow_duplicate=True),
        Output("tabs", "value", allow_duplicate=True),
        Output("runs-table", "value"),
        Input("runs-table", "value"),
        prevent_initial_call=True,
    )
    def open_from_list(name):
        """Choosing a saved run opens it in the Results tab (and clears the choice, so the same run
        can be chosen again later)."""
        if not name or store.kind(name) is None or store.status(name) != "complete":
            return no_update, no_update, None
        return name, "results", None

    @app.callback(
        Output("single-view", "style"),
        Output("cohort-view", "style"),
        Output("run-empty", "style"),
        Output("time-slider", "max"),
        Output("time-slider", "value"),
        Output("time-slider", "marks"),
        Output("km-plot", "figure"),
        Output("km-mfs-plot", "figure"),
        Output("cohort-summary", "children"),
        Output("downloads", "children"),
        Input("run-select", "value"),
        State("lang", "data"),
    )
    def open_run(name, lang):
        hidden, shown = {"display": "none"}, {"display": "flex"}
        if not name:
            return hidden, hidden, {}, 1, 0, None, {}, {}, None, None
        kind = store.kind(name)
        links = api.download_links(store, name, lang)
        if kind == "cohort":
            patients = store.table(name, "patients")
            summary = store.summary(name)
            table = _cohort_table(views.cohort_table(summary), lang)
            return (
                hidden,
                {"display": "block"},
                hidden,
                1,
                0,
                None,
                views.km_figure(patients, lang, "os"),
                views.km_figure(patients, lang, "mfs"),
                table,
                links,
            )
        view = views.load_view(store, name)
        last = view.times.size - 1
        ticks = sorted({0, last // 4, last // 2, 3 * last // 4, last})
        marks = {int(k): views.fmt(view.times[k], ".0f") for k in ticks}
        diag = int(abs(view.times).argmin())
        return shown, hidden, hidden, last, diag, marks, {}, {}, None, links

    @app.callback(
        Output("body-map", "figure"),
        Output("burden-plot", "figure"),
        Output("sizes-plot", "figure"),
        Input("time-slider", "value"),
        State("run-select", "value"),
        State("lang", "data"),
    )
    def show_time(k, name, lang):
        if not name or store.kind(name) not in ("deterministic", "stochastic"):
            return no_update, no_update, no_update
        view = views.load_view(store, name)
        k = min(int(k or 0), view.times.size - 1)
        return (
            views.body_frame(view, k, lang),
            views.burden_figure(view, lang, float(view.times[k])),
            views.sizes_figure(view, k, lang),
        )

    @app.callback(
        Output("player", "disabled"),
        Output("play", "children"),
        Input("play", "n_clicks"),
        State("player", "disabled"),
        prevent_initial_call=True,
    )
    def play(_n, disabled):
        return (not disabled), ("⏸" if disabled else "▶")

    @app.callback(
        Output("time-slider", "value", allow_duplicate=True),
        Input("player", "n_intervals"),
        State("time-slider", "value"),
        State("time-slider", "max"),
        prevent_initial_call=True,
    )
    def step(_n, k, last):
        return 0 if (k or 0) >= (last or 0) else (k or 0) + 1

    return app


def serve(
    host: str = "127.0.0.1",
    port: int = 8050,
    runs_dir: str | Path = "metacascade-runs",
    *,
    max_patients: int = 20_000,
    threads: bool = True,
) -> None:
    """Start the app on ``host:port`` (loopback by default) until interrupted."""
    from werkzeug.serving import make_server

    app = create_app(runs_dir, max_patients=max_patients)
    try:
        server = make_server(host, port, app.server, threaded=threads)
    except (OSError, SystemExit) as exc:  # werkzeug exits on a busy port; say which field to change
        raise ParameterError(
            f"--port {port}: cannot listen on {host}:{port} (in use, or not an address of this "
            "machine); choose a free port"
        ) from exc
    try:
        server.serve_forever()
    finally:
        server.server_close()


def tables_zip(store: RunStore, name: str) -> bytes:
    """The run's tables (Parquet/CSV), summary and scenario as one zip archive."""
    buf = io.BytesIO()
    base = store.path(name)
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(base.iterdir()):
            if p.is_file() and p.suffix in (".parquet", ".csv", ".json", ".toml"):
                zf.write(p, arcname=f"{name}/{p.name}")
    return buf.getvalue()
