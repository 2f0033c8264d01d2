"""The results and tables sections of a report, for each kind of run folder.

Every number comes from the folder's ``summary.json`` (and, for per-organ means and colonies
removed by treatment of a stochastic run, from its ``organs`` and ``events`` tables), formatted
by :mod:`metacascade.reports.i18n`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from metacascade.reports import i18n
from metacascade.reports.document import Paragraph, Section, Table
from metacascade.reports.i18n import fmt_ci, fmt_day, fmt_number, fmt_p_value, fmt_percent, fmt_ratio, t
from metacascade.reports.run_folder import RunFolder

__all__ = [
    "results_section",
    "tables_section",
    "stochastic_organs",
    "eradicated_colonies",
    "median_text",
    "hr_text",
    "events_text",
    "horizon_phrase",
    "horizon_words",
    "KM_YEARS",
    "ENDPOINTS",
]

KM_YEARS = ("1y", "3y", "5y", "10y")
ENDPOINTS = ("os", "mfs", "dm")


def _day_or_never(d: Any, lang: str) -> str:
    return t("r.not_reached", lang) if d is None else fmt_day(d, lang)


def _day_or_beyond(d: Any, horizon: float, lang: str) -> str:
    return t("r.beyond", lang, day=fmt_day(horizon, lang)) if d is None else fmt_day(d, lang)


def _with_median(q: dict[str, Any], lang: str) -> str:
    """``12.5% (day 1,234)`` from a fraction-and-quantiles digest of the stochastic engine."""
    frac = fmt_percent(q.get("fraction", 0.0), lang)
    return f"{frac} ({fmt_day(q['q50'], lang)})" if "q50" in q else frac


# -- deterministic ----------------------------------------------------------------------------------------
def _deterministic_results(run: RunFolder, lang: str) -> list[Any]:
    s = run.summary
    d, h = s["at_diagnosis"], s["at_horizon"]
    rows = []
    for key, label, fmt in (
        ("primary_diameter_mm", "r.primary_mm", fmt_number),
        ("n_metastases", "r.n_mets", fmt_number),
        ("n_detectable", "r.n_det", fmt_number),
        ("p_any_detectable", "r.p_det", fmt_percent),
        ("n_above_1e6_cells", "r.n_1e6", fmt_number),
        ("burden_cells", "r.burden", fmt_number),
    ):
        rows.append((t(label, lang), fmt(d.get(key), lang), fmt(h.get(key), lang)))
    key_table = Table(
        (
            t("col.quantity", lang),
            t("col.at_diagnosis", lang),
            t("col.at_horizon", lang, day=fmt_day(h["days_since_diagnosis"], lang)),
        ),
        tuple(rows),
        caption=t("r.key", lang),
        numeric=(False, True, True),
    )
    timing = tuple(
        (t(label, lang), _day_or_never(s.get(f"days_since_diagnosis_{key}"), lang))
        for label, key in (
            ("r.first_founded", "expected_first_metastasis_founded"),
            ("r.first_det", "expected_first_detectable_metastasis"),
            ("r.lethal", "lethal_burden_untreated"),
        )
    )
    return [key_table, Table((t("col.quantity", lang), t("col.value", lang)), timing, numeric=(False, True))]


def _deterministic_organs(run: RunFolder, lang: str) -> Table:
    s = run.summary
    h = s["at_horizon"]
    first = s.get("days_since_diagnosis_detectable_metastasis_more_likely_than_not", {})
    organs = sorted(h["organs"], key=lambda o: -(h["organs"][o]["n_metastases"] or 0.0))
    rows = tuple(
        (
            i18n.organ_label(o, lang),
            fmt_number(h["organs"][o]["n_metastases"], lang),
            fmt_percent(h["organs"][o]["p_detectable"], lang),
            fmt_number(h["organs"][o]["burden_cells"], lang),
            _day_or_beyond(first.get(o), h["days_since_diagnosis"], lang),
        )
        for o in organs
    )
    return Table(
        (
            t("col.organ", lang),
            t("col.n_mets", lang),
            t("col.p_det", lang),
            t("col.burden", lang),
            t("col.first_det", lang),
        ),
        rows,
        caption=t("t.organs_det", lang, day=fmt_day(h["days_since_diagnosis"], lang)),
        numeric=(False, True, True, True, True),
    )


# -- stochastic -------------------------------------------------------------------------------------------
def horizon_words(run: RunFolder, lang: str) -> tuple[str, str | None]:
    """What the stochastic tables' horizon columns hold: ``("at day 3,650", None)``, or, when patients
    died before the horizon, ``("at the horizon (day 3,650)", note)`` with a note on who is counted at
    death ("all patients died by day 297: ..."), so a column is not read as the state of patients alive
    at the horizon (:func:`horizon_phrase`; ``metacascade run`` prints the same). Deaths come from the
    ``patients`` table (the summary's share of deaths where the folder lacks it)."""
    sc = run.scenario
    pt = run.table("patients", columns=["death_day"])
    if pt is not None:
        return horizon_phrase(
            sc.engine.horizon_days, pt["death_day"].to_numpy(dtype=float), sc.engine.stop_at_death, lang
        )
    share = float(run.summary.get("days_since_diagnosis_death", {}).get("fraction", 0.0))
    return horizon_phrase(sc.engine.horizon_days, None, sc.engine.stop_at_death, lang, share=share)


def horizon_phrase(
    horizon_days: float, death_days: np.ndarray | None, stop_at_death: bool, lang: str, *, share: float | None = None
) -> tuple[str, str | None]:
    """The words of :func:`horizon_words` from the horizon (days since diagnosis), the patients' days
    of death since diagnosis (inf or NaN: alive; None: unknown, then ``share`` = the fraction who died
    before the horizon) and whether the engine stopped each patient at death."""
    last = None
    if death_days is not None:
        death = np.asarray(death_days, float)
        dead = np.isfinite(death) & (death < horizon_days)
        share = float(dead.mean()) if dead.size else 0.0
        last = float(death[dead].max()) if dead.any() else None
    share = float(share or 0.0)
    day = fmt_day(horizon_days, lang)
    if share <= 0.0:
        return t("r.at_day", lang, day=day), None
    if share >= 1.0:
        who = t("r.all_died", lang) if last is None else t("r.all_died_by", lang, day=fmt_day(last, lang))
    else:
        who = t("r.some_died", lang, share=fmt_percent(share, lang))
        if last is not None:
            who += t("r.last_death", lang, day=fmt_day(last, lang))
    how = t("r.counted_at_death" if stop_at_death else "r.followed_past_death", lang)
    return t("r.at_the_horizon", lang, day=day), f"{who}: {how}"


def _with_note(caption: str, note: str | None) -> str:
    return caption if note is None else f"{caption} ({note})"


def stochastic_organs(run: RunFolder) -> dict[str, dict[str, float]]:
    """Per organ, the mean established metastases and burden at the last time of the ``organs`` table."""
    df = run.table("organs")
    if df is None or "n_established_mean" not in df:
        return {}
    last = df[df["time_days"] == df["time_days"].max()]
    return {
        str(r.organ): {"n_mean": float(r.n_established_mean), "burden_mean": float(r.burden_mean)}
        for r in last.itertuples()
    }


def eradicated_colonies(run: RunFolder) -> int | None:
    """Colonies removed or eradicated by treatment (``eradication`` events), None without events."""
    ev = run.table("events", columns=["event"])
    return None if ev is None else int((ev["event"].astype(str) == "eradication").sum())


def _stochastic_results(run: RunFolder, lang: str) -> list[Any]:
    s = run.summary
    rows = []
    for label, key in (("r.est_mean", "metastases_established_at"),):
        d, h = s[key + "_diagnosis"], s[key + "_horizon"]
        rows.append(
            (
                t(label, lang),
                f"{fmt_number(d['mean'], lang)} ({fmt_number(d['se'], lang)})",
                f"{fmt_number(h['mean'], lang)} ({fmt_number(h['se'], lang)})",
            )
        )
        rows.append((t("r.est_none", lang), fmt_percent(d["p_zero"], lang), fmt_percent(h["p_zero"], lang)))
    d, h = s["metastases_detectable_at_diagnosis"], s["metastases_detectable_at_horizon"]
    rows.append((t("r.det_mean", lang), fmt_number(d["mean"], lang), fmt_number(h["mean"], lang)))
    at, note = horizon_words(run, lang)
    blocks: list[Any] = [
        Table(
            (t("col.quantity", lang), t("col.at_diagnosis", lang), at[:1].upper() + at[1:]),
            tuple(rows),
            caption=_with_note(t("r.key", lang), note),
            numeric=(False, True, True),
        )
    ]
    facts = [
        (t("r.det_frac", lang), _with_median(s["days_since_diagnosis_first_detectable_metastasis"], lang)),
        (t("r.deaths", lang), _with_median(s["days_since_diagnosis_death"], lang)),
    ]
    if s.get("plan_end_days_since_diagnosis") is not None:
        facts.append((t("r.recurrence", lang), _with_median(s["days_since_diagnosis_recurrence_after_plan"], lang)))
    if s.get("treatment"):
        removed = eradicated_colonies(run)
        if removed is not None:
            facts.append((t("r.eradicated", lang), fmt_day(removed, lang)))
    if "resistant_clones" in s:
        facts.append((t("r.resistant", lang), fmt_number(s["resistant_clones"]["mean"], lang)))
    blocks.append(Table((t("col.quantity", lang), t("col.value", lang)), tuple(facts), numeric=(False, True)))
    n = s.get("n_patients") or 1
    if "cause_of_death" in s:
        rows = tuple((i18n.cause_label(k, lang), fmt_percent(v / n, lang)) for k, v in s["cause_of_death"].items())
        blocks.append(Table((t("r.causes", lang), t("col.patients", lang)), rows, numeric=(False, True)))
    if "stage_at_surgery" in s:
        rows = tuple(
            (k, fmt_percent(v / n, lang)) for k, v in sorted(s["stage_at_surgery"].items(), key=lambda kv: -kv[1])
        )
        blocks.append(Table((t("r.stage", lang), t("col.patients", lang)), rows, numeric=(False, True)))
    return blocks


def _stochastic_organs_table(run: RunFolder, lang: str) -> Table:
    s = run.summary
    at, note = horizon_words(run, lang)
    means = stochastic_organs(run)
    per = s.get("organs", {})
    order = sorted(per, key=lambda o: (-per[o]["p_metastasis_at_horizon"], -means.get(o, {}).get("n_mean", 0.0)))
    rows = []
    for o in order:
        q = per[o]["days_since_diagnosis_first_detectable"]
        m = means.get(o, {})
        rows.append(
            (
                i18n.organ_label(o, lang),
                fmt_number(m.get("n_mean"), lang),
                fmt_number(m.get("burden_mean"), lang),
                fmt_percent(per[o]["p_metastasis_at_diagnosis"], lang),
                fmt_percent(per[o]["p_metastasis_at_horizon"], lang),
                fmt_percent(q.get("fraction"), lang),
                _day_or_beyond(q.get("q50"), run.scenario.engine.horizon_days, lang),
            )
        )
    return Table(
        (
            t("col.organ", lang),
            t("col.mean_mets", lang),
            t("col.burden", lang),
            t("col.p_met_diag", lang),
            t("col.p_met_hor", lang),
            t("col.p_det", lang),
            t("col.first_det", lang),
        ),
        tuple(rows),
        caption=_with_note(t("t.organs_sto", lang, at=at), note),
        numeric=(False,) + (True,) * 6,
    )


# -- cohort -----------------------------------------------------------------------------------------------
def median_text(arm: dict[str, Any], lang: str, with_ci: bool = True) -> str:
    """Median in days (and its CI), or "not reached"."""
    if not arm.get("median_reached") or arm.get("median_days") is None:
        return t("not_reached", lang)
    text = fmt_day(arm["median_days"], lang)
    lo, hi = (arm.get("median_ci_days") or [None, None])[:2]
    return f"{text} ({fmt_ci(lo, hi, lang, fmt_day)})" if with_ci else text


def _km(arm: dict[str, Any], year: str, lang: str) -> str:
    point = (arm.get("survival") or {}).get(year)
    if not point:
        return i18n.missing(lang)
    lo, hi = (point.get("ci") or [None, None])[:2]
    return f"{fmt_percent(point['survival'], lang)} ({fmt_ci(lo, hi, lang, fmt_percent)})"


def hr_text(hr: dict[str, Any], lang: str) -> str:
    """``0.145 (0.0648–0.325)``; when the test of proportional hazards rejects, followed by
    ``; hazards not proportional (Schoenfeld p 0.001): see the RMST difference``."""
    text = f"{fmt_ratio(hr.get('hr'), lang)} ({fmt_ci(hr.get('ci_lower'), hr.get('ci_upper'), lang, fmt_ratio)})"
    if hr.get("proportional") is False:
        text += "; " + t("r.non_ph", lang, p=fmt_p_value(hr.get("ph_p_value"), lang))
    return text


def rmst_text(rm: dict[str, Any], lang: str) -> str:
    """``+35.2 (12.1–58.3)``: the RMST difference in days with its interval."""
    ci = fmt_ci(rm.get("ci_lower"), rm.get("ci_upper"), lang, fmt_number)
    return f"{fmt_number(rm.get('difference_days'), lang)} ({ci})"


def events_text(arm: dict[str, Any], lang: str) -> str:
    """``33 (8.2%)``: events and their share of the arm."""
    return f"{fmt_day(arm['events'], lang)} ({fmt_percent(arm['events'] / arm['n'], lang)})"


def _cohort_results(run: RunFolder, lang: str) -> list[Any]:
    s = run.summary
    ep = s["endpoints"]
    rows = []
    for arm in s["arms"]:
        os_, dm, mfs = ep["os"]["arms"][arm], ep["dm"]["arms"][arm], ep["mfs"]["arms"][arm]
        rows.append(
            (
                arm,
                fmt_day(os_["n"], lang),
                events_text(os_, lang),
                events_text(dm, lang),
                median_text(os_, lang, with_ci=False),
                _km(os_, "5y", lang),
                _km(mfs, "5y", lang),
            )
        )
    blocks: list[Any] = [
        Table(
            (
                t("col.arm", lang),
                t("col.patients", lang),
                t("r.deaths_arm", lang),
                t("r.dm_arm", lang),
                t("r.median_os", lang),
                t("r.os5", lang),
                t("r.mfs5", lang),
            ),
            tuple(rows),
            caption=t("r.arms", lang),
            numeric=(False,) + (True,) * 6,
        )
    ]
    comp_rows = []
    for endpoint in ENDPOINTS:
        for arm, c in (ep.get(endpoint, {}).get("comparisons") or {}).items():
            hr, lr, rm = c.get("hazard_ratio") or {}, c.get("logrank") or {}, c.get("rmst_difference") or {}
            comp_rows.append(
                (
                    i18n.endpoint_label(endpoint, lang),
                    t("vs", lang, arm=arm, ref=c.get("reference")),
                    hr_text(hr, lang),
                    fmt_p_value(lr.get("p_value"), lang),
                    rmst_text(rm, lang),
                )
            )
    if comp_rows:
        blocks.append(
            Table(
                (
                    t("col.endpoint", lang),
                    t("col.comparison", lang),
                    t("col.hr", lang),
                    t("col.logrank", lang),
                    t("col.rmst_diff", lang),
                ),
                tuple(comp_rows),
                caption=t("r.comparisons", lang, ref=s.get("control", s["arms"][0])),
                numeric=(False, False, True, True, True),
            )
        )
    return blocks


def _cohort_tables(run: RunFolder, lang: str) -> list[Any]:
    s = run.summary
    blocks: list[Any] = []
    km_cols = tuple(t("col.km", lang, years=y[:-1]) for y in KM_YEARS)
    for endpoint in ENDPOINTS:
        arms = s["endpoints"].get(endpoint, {}).get("arms") or {}
        rows = tuple(
            (
                arm,
                fmt_day(a["n"], lang),
                fmt_day(a["events"], lang),
                median_text(a, lang),
                *(_km(a, y, lang) for y in KM_YEARS),
                fmt_number(a.get("rmst_days"), lang),
            )
            for arm, a in arms.items()
        )
        blocks.append(
            Table(
                (
                    t("col.arm", lang),
                    t("col.n", lang),
                    t("col.events", lang),
                    t("col.median", lang),
                    *km_cols,
                    t("col.rmst", lang),
                ),
                rows,
                caption=t("t.km", lang, endpoint=i18n.endpoint_label(endpoint, lang)),
                numeric=(False,) + (True,) * (4 + len(KM_YEARS)),
            )
        )
    organs = s.get("organs") or {}
    if organs:
        arms = list(organs)
        ref = organs[arms[0]]
        order = [
            o
            for o in sorted(ref, key=lambda o: -max(organs[a].get(o, 0.0) for a in arms))
            if max(organs[a].get(o, 0.0) for a in arms) > 0
        ]
        rows = tuple(
            (i18n.organ_label(o, lang), *(fmt_percent(organs[a].get(o, 0.0), lang) for a in arms)) for o in order
        )
        blocks.append(
            Table(
                (t("col.organ", lang), *arms),
                rows,
                caption=t("t.organs_cohort", lang),
                numeric=(False,) + (True,) * len(arms),
            )
        )
    causes = s.get("cause_of_death") or {}
    if causes:
        arms = list(causes)
        labels = list(dict.fromkeys(k for a in arms for k in causes[a]))
        n = {a: sum(causes[a].values()) or 1 for a in arms}
        rows = tuple(
            (i18n.cause_label(k, lang), *(fmt_percent(causes[a].get(k, 0) / n[a], lang) for a in arms)) for k in labels
        )
        blocks.append(
            Table(
                (t("r.causes", lang), *arms),
                rows,
                caption=t("t.causes_cohort", lang),
                numeric=(False,) + (True,) * len(arms),
            )
        )
    return blocks


# -- sections ---------------------------------------------------------------------------------------------
def results_section(run: RunFolder, lang: str) -> Section:
    """Key numbers at diagnosis and at the horizon (single runs) or per arm and comparisons (cohorts)."""
    build = {"deterministic": _deterministic_results, "stochastic": _stochastic_results, "cohort": _cohort_results}[
        run.kind
    ]
    return Section("results", t("section.results", lang), tuple(build(run, lang)))


def tables_section(run: RunFolder, lang: str) -> Section:
    """Per-organ table (single runs) or Kaplan-Meier, organ and outcome tables per arm (cohorts)."""
    if run.kind == "deterministic":
        blocks: list[Any] = [_deterministic_organs(run, lang)]
    elif run.kind == "stochastic":
        blocks = [_stochastic_organs_table(run, lang)] if run.summary.get("organs") else []
    else:
        blocks = _cohort_tables(run, lang)
    if not blocks:
        blocks = [Paragraph(t("t.none", lang))]
    return Section("tables", t("section.tables", lang), tuple(blocks))
