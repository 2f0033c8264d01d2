"""Build the content of a report from a run folder: the one function both outputs use.

:func:`build_content` reads nothing but the :class:`~metacascade.reports.run_folder.RunFolder`
and returns a :class:`~metacascade.reports.document.ReportContent` in the asked language; the
scenario, model, figure and reference sections are built here, the results and tables in
:mod:`metacascade.reports.results` and the explanation in :mod:`metacascade.reports.explain`.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import fields
from typing import Any

from metacascade._version import package_version
from metacascade.model.body import default_body_graph
from metacascade.presets import get_preset
from metacascade.references import citation
from metacascade.reports import i18n
from metacascade.reports.document import (
    Figure,
    Paragraph,
    Preformatted,
    ReferenceList,
    ReportContent,
    Section,
    Subheading,
    Table,
)
from metacascade.reports.explain import explanation_section
from metacascade.reports.i18n import fmt_day, fmt_number, fmt_ratio, t
from metacascade.reports.results import results_section, tables_section
from metacascade.reports.run_folder import RunFolder
from metacascade.scenario import cells_to_diameter, establishment_of

__all__ = ["REPORT_SECTIONS", "build_content", "references_of"]

#: Section ids in report order (the HTML anchors).
REPORT_SECTIONS = ("scenario", "model", "results", "figures", "tables", "explanation", "sources")

_EQUATIONS = {
    "exponential": "dx/dt = r x",
    "logistic": "dx/dt = r x (1 - x/K)",
    "gompertz": "dx/dt = a x ln(b/x)",
    "power_law": "dx/dt = c x^gamma",
    "von_bertalanffy": "dx/dt = a x^(2/3) - b x",
}
_LAW_NAMES = {
    "exponential": "exponential",
    "logistic": "logistic",
    "gompertz": "Gompertz",
    "power_law": "power-law",
    "von_bertalanffy": "von Bertalanffy",
}
_FIGURE_CAPTIONS = {
    "figure": "f.figure",
    "body_map": "f.body_map",
    "km_os": "f.km_os",
    "km_mfs": "f.km_mfs",
    "organs": "f.organs",
    "swimmer": "f.swimmer",
}


def _value(v: Any, lang: str) -> str:
    """A scenario value as written (numbers localised, lists and tables flattened)."""
    if isinstance(v, bool):
        return t("yes" if v else "no", lang)
    if isinstance(v, float):
        return i18n.localise(f"{v:g}", lang)
    if isinstance(v, (list, tuple)):
        return ", ".join(_value(x, lang) for x in v)
    if isinstance(v, dict):
        return "; ".join(f"{k} {_value(x, lang)}" for k, x in v.items())
    return str(v)


def _details(entry: dict[str, Any], lang: str, skip: tuple[str, ...]) -> str:
    return "; ".join(f"{k} = {_value(v, lang)}" for k, v in entry.items() if k not in skip)


# -- scenario -------------------------------------------------------------------------------------------
def _plan_rows(run: RunFolder, lang: str) -> list[tuple[str, ...]]:
    """(arm, treatment, day, details) rows from the scenario file as the user wrote it."""
    try:
        raw = tomllib.loads(run.scenario_text)
    except tomllib.TOMLDecodeError:  # pragma: no cover - the text was validated on loading
        raw = {}
    top = raw.get("treatment", [])
    if run.kind == "cohort":
        arms = raw.get("cohort", {}).get("arm") or [{"name": run.scenario.cohort.arms[0][0], "treatment": top}]
    else:
        arms = [{"name": "", "treatment": top}]
    rows = []
    for arm in arms:
        entries = arm.get("treatment", [])
        if not entries:
            rows.append((arm["name"], "-", "", ""))
        for e in entries:
            rows.append(
                (
                    arm["name"],
                    i18n.treatment_label(e.get("kind", "?"), lang),
                    fmt_day(e.get("day"), lang),
                    _details(e, lang, ("kind", "day")),
                )
            )
    return rows


def _scenario_section(run: RunFolder, lang: str) -> Section:
    sc, s = run.scenario, run.summary
    preset = get_preset(sc.patient.cancer)
    pt = sc.patient
    facts: list[tuple[str, str]] = [
        (t("sc.cancer", lang), i18n.cancer_label(preset.name, preset.description, lang)),
        (t("sc.primary", lang), f"{fmt_number(pt.primary_diameter_mm, lang)} mm"),
        (t("sc.primary_age", lang), fmt_day(pt.age_of_primary_days, lang)),
    ]
    if pt.sex:
        facts.append((t("sc.sex", lang), t(pt.sex, lang) if pt.sex in ("female", "male") else pt.sex))
    if pt.menopausal_status:
        facts.append((t("sc.menopause", lang), t(pt.menopausal_status, lang)))
    facts.append((t("sc.immuno", lang), fmt_ratio(pt.immunocompetence, lang)))
    for hormone, level in (pt.hormone_levels or {}).items():
        facts.append((t("sc.hormone", lang, name=hormone), f"{fmt_number(level, lang)} pmol/L"))
    if pt.growth_multiplier != 1.0:
        facts.append((t("sc.growth_mult", lang), fmt_ratio(pt.growth_multiplier, lang)))
    facts += [
        (t("sc.dormancy", lang), fmt_ratio(sc.host.dormancy_probability, lang)),
        (t("sc.organ_failure", lang), t("yes" if sc.host.organ_failure else "no", lang)),
        (t("sc.engine", lang), t(f"engine.{run.kind}", lang)),
        (t("sc.seed", lang), str(s.get("seed", sc.engine.seed))),
    ]
    if run.kind == "cohort":
        c = sc.cohort
        facts += [
            (t("sc.n_patients_arm", lang), fmt_day(c.n_patients, lang)),
            (t("sc.follow_up", lang), fmt_day(c.follow_up_days, lang)),
            (t("sc.arms", lang), ", ".join(name for name, _ in c.arms)),
        ]
    else:
        facts.append((t("sc.horizon", lang), fmt_day(sc.engine.horizon_days, lang)))
        if run.kind == "stochastic":
            facts.append((t("sc.n_patients", lang), fmt_day(s.get("n_patients"), lang)))
    blocks: list[Any] = [
        Table((t("col.quantity", lang), t("col.value", lang)), tuple(facts), caption=t("sc.facts", lang))
    ]
    rows = _plan_rows(run, lang)
    if all(r[1] == "-" for r in rows) and run.kind != "cohort":
        blocks.append(Paragraph(t("sc.no_plan", lang)))
    else:
        columns = (t("col.arm", lang), t("col.kind", lang), t("col.day", lang), t("col.details", lang))
        if run.kind != "cohort":
            columns, rows = columns[1:], [r[1:] for r in rows]
        blocks.append(
            Table(
                columns,
                tuple(rows),
                caption=t("sc.plan", lang),
                numeric=(False, False, True) if run.kind == "cohort" else (False, True),
            )
        )
    if run.kind == "cohort" and sc.cohort.vary:
        vary = tuple(
            (name, spec.distribution, _details(spec.model_dump(exclude_none=True), lang, ("distribution",)))
            for name, spec in sc.cohort.vary.items()
        )
        blocks.append(
            Table(
                (t("col.parameter", lang), t("col.distribution", lang), t("col.details", lang)),
                vary,
                caption=t("sc.vary", lang),
            )
        )
    blocks.append(Subheading(t("sc.toml", lang)))
    blocks.append(Preformatted(run.scenario_text.strip("\n")))
    return Section("scenario", t("section.scenario", lang), tuple(blocks))


# -- model ----------------------------------------------------------------------------------------------
def _growth_parts(law: Any) -> tuple[Any, float]:
    """(base law, time factor) of a possibly time-scaled growth law."""
    factor = 1.0
    while getattr(law, "name", "") == "time_scaled":
        factor *= float(law.factor)
        law = law.law
    return law, factor


def _model_section(run: RunFolder, lang: str) -> Section:
    sc, s = run.scenario, run.summary
    law, factor = _growth_parts(sc.model.primary_growth)
    params = ", ".join(f"{f.name} = {fmt_number(getattr(law, f.name), lang)}" for f in fields(law))
    paras = [
        t(
            "m.growth",
            lang,
            law=_LAW_NAMES.get(law.name, law.name),
            equation=_EQUATIONS.get(law.name, "?"),
            params=params,
            age=fmt_day(sc.patient.age_of_primary_days, lang),
        )
    ]
    if factor != 1.0:
        paras.append(t("m.growth_hormone", lang, factor=fmt_ratio(factor, lang)))
    sh = sc.model.primary_shedding
    paras.append(
        t(
            "m.shedding",
            lang,
            m=fmt_number(sh.m, lang),
            alpha=fmt_ratio(sh.alpha, lang),
            secondary=t("m.secondary", lang) if sc.model.secondary_seeding else "",
        )
    )
    if len(sc.organs) > 1:
        body = default_body_graph()
        paras.append(t("m.routing_body", lang, n_organs=len(body.organs), n_pools=len(body.pools)))
    else:
        paras.append(t("m.routing_one", lang))
    est_days = s.get("establishment_days_mean")
    if est_days is None:  # cohorts: the scenario's patient (each patient's growth speed scales it)
        est_days = float(establishment_of(sc).mean_exact)
    if est_days > 0:
        paras.append(
            t(
                "m.establishment",
                lang,
                p=fmt_ratio(sc.early_survival, lang),
                switch=fmt_number(sc.engine.switch_cells, lang),
                days=fmt_number(est_days, lang),
            )
        )
    else:
        paras.append(t("m.establishment_none", lang))
    host = sc.host
    if host.dormancy_probability > 0:
        paras.append(
            t(
                "m.dormancy",
                lang,
                p=fmt_ratio(host.dormancy_probability, lang),
                rate=fmt_number(host.dormancy_escape_per_day, lang),
                days=fmt_day(1.0 / host.dormancy_escape_per_day, lang),
            )
        )
    else:
        paras.append(t("m.no_dormancy", lang))
    plans = [p for _, p in sc.cohort.arms] if run.kind == "cohort" and sc.cohort else [sc.plan]
    kinds = list(dict.fromkeys(e.kind for plan in plans for e in plan))
    if kinds:
        nodes = any(getattr(e, "nodes", False) for plan in plans for e in plan)
        items = [t(f"tr.{k}", lang, nodes=t("tr.surgery_nodes", lang) if nodes else "") for k in kinds]
        paras.append(t("m.treatments", lang, items="; ".join(items)))
    else:
        paras.append(t("m.no_treatment", lang))
    paras.append(
        t(
            "m.detection",
            lang,
            mm=fmt_number(float(cells_to_diameter(sc.detection_cells, sc.cells_per_mm3)), lang),
            cells=fmt_number(sc.detection_cells, lang),
            lethal=fmt_number(sc.lethal_burden_cells, lang),
        )
    )
    if run.kind == "cohort":
        paras.append(t("m.survival", lang))
    paras.append(t("m.sources_note", lang))
    return Section("model", t("section.model", lang), tuple(Paragraph(p) for p in paras))


# -- figures and sources --------------------------------------------------------------------------------
def _figures_section(run: RunFolder, lang: str) -> Section:
    blocks: list[Any] = []
    for path in run.figures:
        key = _FIGURE_CAPTIONS.get(path.stem)
        caption = t(key, lang) if key else path.stem.replace("_", " ")
        blocks.append(Figure(caption, path.read_bytes(), name=str(path.relative_to(run.path))))
    if not blocks:
        blocks.append(Paragraph(t("f.none", lang)))
    return Section("figures", t("section.figures", lang), tuple(blocks))


def references_of(run: RunFolder) -> tuple[str, ...]:
    """The run's references: :func:`metacascade.references.citation` of its scenario, then any
    others listed in ``summary.json`` (``references``), without repeats."""
    cited = [re.sub(r"^\[\d+\]\s*", "", line).strip() for line in citation(run.scenario).splitlines()]
    extra = run.summary.get("references") or []
    return tuple(dict.fromkeys(r for r in [*cited, *map(str, extra)] if r))


def _sources_section(run: RunFolder, lang: str) -> Section:
    return Section(
        "sources", t("section.sources", lang), (ReferenceList(references_of(run), intro=t("s.intro", lang)),)
    )


# -- the report -----------------------------------------------------------------------------------------
def build_content(run: RunFolder, lang: str) -> ReportContent:
    """The report of ``run`` in ``lang`` (``"en"`` or ``"it"``), sections in :data:`REPORT_SECTIONS` order."""
    builders = {
        "scenario": _scenario_section,
        "model": _model_section,
        "results": results_section,
        "figures": _figures_section,
        "tables": tables_section,
        "explanation": explanation_section,
        "sources": _sources_section,
    }
    sections = tuple(builders[sid](run, lang) for sid in REPORT_SECTIONS)
    preset = get_preset(run.scenario.patient.cancer)
    subtitle = t(
        "subtitle",
        lang,
        kind=t(f"kind.{run.kind}", lang),
        cancer=i18n.cancer_label(preset.name, preset.description, lang),
        version=run.summary.get("metacascade_version")
        or (run.manifest or {}).get("metacascade_version")
        or package_version(),
    )
    return ReportContent(
        lang=lang,
        title=t("title", lang),
        subtitle=subtitle,
        run_kind=run.kind,
        source=t("run_folder", lang, path=run.path.name),
        disclaimer=t("disclaimer", lang),
        sections=sections,
        contents_label=t("contents", lang),
    )
