"""The plain-language explanation of a run, generated from its numbers.

Four questions, each answered from the run folder (never canned text): **where** metastases
form (organs ranked by expected number, or by the share of patients involved), **why** there
(the preset's entry routes and their first capillary beds, where shed cells arrest, and each
organ's colonisation efficiency, the "soil", recovered from the scenario's routing as
:math:`\\sigma_j = p_j / (a_j s)`, founding over arrest times early survival), **when** (the
first detectable metastasis) and **what treatment changed** (cohorts: the arms' distant
metastases, medians and hazard ratio; single treated runs: recurrence, causes of death,
colonies removed). The wording stays that of a simulation, with a disclaimer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from metacascade.model.body import default_body_graph
from metacascade.presets import get_preset
from metacascade.reports import i18n
from metacascade.reports.document import Paragraph, Section
from metacascade.reports.i18n import fmt_ci, fmt_day, fmt_number, fmt_p_value, fmt_percent, fmt_ratio, t
from metacascade.reports.results import eradicated_colonies, events_text, hr_text, median_text
from metacascade.reports.run_folder import RunFolder

__all__ = ["explanation_section", "first_beds", "organ_ranking"]

i18n.add(
    {
        "x.where_det": (
            "Where: by day {day} the model expects {total} metastases in all; the largest numbers are in: {top}.",
            "Dove: al giorno {day} il modello prevede in tutto {total} metastasi attese; i numeri "
            "maggiori sono in: {top}.",
        ),
        "x.where_one": (
            "Where: this model has a single organ, the {organ}: all {total} metastases expected at day {day} "
            "are there.",
            "Dove: questo modello ha un solo organo ({organ}): tutte le {total} metastasi "
            "attese al giorno {day} si trovano lì.",
        ),
        "x.where_sto": (
            "Where: by day {day}, the organs most often holding an established metastasis were {top} "
            "(share of the {n} virtual patients).",
            "Dove: al giorno {day}, gli organi che più spesso "
            "ospitavano una metastasi attecchita erano {top} (quota dei {n} pazienti virtuali).",
        ),
        "x.where_none": (
            "Where: no virtual patient had an established metastasis within the horizon.",
            "Dove: nessun paziente virtuale ha avuto una metastasi attecchita entro l'orizzonte.",
        ),
        "x.where_none_cohort": (
            "Where: no patient of the reference arm '{arm}' had a distant metastasis within follow-up.",
            "Dove: nessun paziente del braccio di riferimento '{arm}' ha avuto una "
            "metastasi a distanza durante il follow-up.",
        ),
        "x.where_cohort": (
            "Where: in the reference arm '{arm}', the organs most often involved by a distant "
            "metastasis were {top} (share of patients).",
            "Dove: nel braccio di riferimento '{arm}', "
            "gli organi più spesso sede di una metastasi a distanza erano {top} (quota di pazienti).",
        ),
        "x.share_of": ("{organ} {value} ({share} of the total)", "{organ} {value} ({share} del totale)"),
        "x.why_one": (
            "Why: in the model of Iwata et al. (2000) the primary sheds m x^alpha new colonies per day "
            "(m = {m}, alpha = {alpha}), all founded in the liver; their number grows with the size of the "
            "primary and, from the metastases, with their own size.",
            "Perché: nel modello di Iwata et al. (2000) il primario produce m x^alpha nuove colonie al giorno "
            "(m = {m}, alpha = {alpha}), tutte fondate nel fegato; il loro numero cresce con le dimensioni "
            "del primario e, dalle metastasi, con le loro stesse dimensioni.",
        ),
        "x.why_routes": (
            "Why: cells shed by the primary enter the body by these routes: {routes}.",
            "Perché: le cellule rilasciate dal primario entrano nel corpo per queste vie: {routes}.",
        ),
        "x.route": ("{route} {share}", "{route} {share}"),
        "x.route_bed": (
            "{route} {share} (first capillary bed: {beds})",
            "{route} {share} (primo letto capillare: {beds})",
        ),
        "x.arrest": (
            "Of every 100 shed cells, these arrest: {items}; {dead} die in transit.",
            "Su 100 cellule rilasciate si arrestano: {items}; {dead} muoiono durante il transito.",
        ),
        "x.arrest_item": ("{organ} {value}", "{organ} {value}"),
        "x.soil": (
            "An arrested cell founds a colony only with the organ's colonisation efficiency (its 'soil'); "
            "relative efficiency ({ref} = 1): {items}. Hence the colonies founded directly by the primary "
            "are distributed as: {founding}.",
            "Una cellula arrestata fonda una colonia solo con l'efficienza di colonizzazione dell'organo (il "
            "suo 'terreno'); efficienza relativa ({ref} = 1): {items}. Perciò le colonie fondate direttamente dal "
            "primario si distribuiscono così: {founding}.",
        ),
        "x.soil_item": ("{organ} {ratio}", "{organ} {ratio}"),
        "x.found_item": ("{organ} {share}", "{organ} {share}"),
        "x.when_det": (
            "When: the expected number of metastases {founded}, and the expected number of detectable "
            "metastases {detectable}.",
            "Quando: il numero atteso di metastasi {founded} e il numero atteso di metastasi rilevabili {detectable}.",
        ),
        "x.reach_one": ("reaches one {when}", "raggiunge uno {when}"),
        "x.below_one": ("stays below one up to the horizon", "resta sotto uno fino all'orizzonte"),
        "x.lethal_at": ("is reached {when}", "è raggiunto {when}"),
        "x.lethal_never": ("is not reached within the horizon", "non è raggiunto entro l'orizzonte"),
        "x.when_organs": (
            "A detectable metastasis becomes more likely than not first in: {items}.",
            "Una metastasi rilevabile diventa più probabile che no, nell'ordine, in: {items}.",
        ),
        "x.when_sto": (
            "When: {frac} of the virtual patients had a detectable metastasis by day {day}{median}.",
            "Quando: il {frac} dei pazienti virtuali aveva una metastasi rilevabile entro il giorno {day}{median}.",
        ),
        "x.median_day": (", at a median of day {day} among them", ", in mediana al giorno {day} tra questi"),
        "x.when_cohort": ("When: {items}.", "Quando: {items}."),
        "x.when_arm": (
            "in arm '{arm}' {k} of {n} patients had a distant metastasis within follow-up{median}",
            "nel braccio '{arm}' {k} pazienti su {n} hanno avuto una metastasi a distanza durante il follow-up{median}",
        ),
        "x.before": ("{days} days before diagnosis", "{days} giorni prima della diagnosi"),
        "x.after": ("on day {days} after diagnosis", "al giorno {days} dopo la diagnosi"),
        "x.never": ("not within the horizon", "non entro l'orizzonte"),
        "x.day_item": ("{organ} (day {day})", "{organ} (giorno {day})"),
        "x.tr_none_det": (
            "Treatment: none. The deterministic engine gives the untreated expectation; untreated, the "
            "lethal burden {lethal}.",
            "Trattamento: nessuno. Il motore deterministico dà l'andamento "
            "atteso senza trattamento; senza trattamento il carico letale {lethal}.",
        ),
        "x.tr_none_sto": (
            "Treatment: none; {deaths} of the virtual patients died within the horizon.",
            "Trattamento: nessuno; il {deaths} dei pazienti virtuali è deceduto entro l'orizzonte.",
        ),
        "x.tr_single": (
            "Treatment: a single arm ('{arm}': {plan}), so no comparison between arms.",
            "Trattamento: un solo braccio ('{arm}': {plan}), quindi nessun confronto tra bracci.",
        ),
        "x.tr_sto": (
            "Treatment ({plan}): {removed} colonies were removed or eradicated in all; {recurrence} of the "
            "patients had a detectable tumour again after the plan; {alive} were alive at day {day}{causes}.",
            "Trattamento ({plan}): in tutto {removed} colonie sono state asportate o eradicate; il {recurrence} "
            "dei pazienti ha avuto di nuovo un tumore rilevabile dopo il piano; il {alive} era in vita al "
            "giorno {day}{causes}.",
        ),
        "x.causes": (
            "; the most frequent cause of death was {cause} ({share})",
            "; la causa di morte più frequente è stata {cause} ({share})",
        ),
        "x.tr_cohort": (
            "Treatment: compared with '{ref}', the arm '{arm}' had {dm_arm} patients with a distant "
            "metastasis against {dm_ref}; overall survival at 5 years {os_arm} against {os_ref} (median "
            "{osm_arm} against {osm_ref}); metastasis-free survival at 5 years {mfs_arm} against {mfs_ref} "
            "(median {mfsm_arm} against {mfsm_ref}).",
            "Trattamento: rispetto a '{ref}', il braccio '{arm}' ha avuto {dm_arm} pazienti con una "
            "metastasi a distanza contro {dm_ref}; sopravvivenza globale a 5 anni {os_arm} contro {os_ref} "
            "(mediana {osm_arm} contro {osm_ref}); sopravvivenza libera da metastasi a 5 anni {mfs_arm} "
            "contro {mfs_ref} (mediana {mfsm_arm} contro {mfsm_ref}).",
        ),
        "x.hr": (
            "The hazard ratio of death is {hr} (log-rank p {p}): {verdict}.",
            "L'hazard ratio di morte è {hr} (p log-rank {p}): {verdict}.",
        ),
        "x.rmst_lead": (
            "The survival curves of '{arm}' and '{ref}' are not in proportion (the test of proportional "
            "hazards rejects, Schoenfeld p {php}: they cross or part over time), so one hazard ratio does "
            "not summarise them. Over the first {tau} days the mean survival time of '{arm}' minus that of "
            "'{ref}' (restricted mean survival time difference) is {diff} days (95% CI {ci}); the hazard "
            "ratio, {hr}, averages a ratio that changes over time (log-rank p {p}).",
            "Le curve di sopravvivenza di '{arm}' e '{ref}' non sono proporzionali (il test dei rischi "
            "proporzionali rifiuta, p di Schoenfeld {php}: si incrociano o si separano nel tempo), quindi un "
            "solo hazard ratio non le riassume. Nei primi {tau} giorni il tempo medio di sopravvivenza di "
            "'{arm}' meno quello di '{ref}' (differenza del tempo medio di sopravvivenza ristretto) è di "
            "{diff} giorni (IC 95% {ci}); l'hazard ratio, {hr}, è la media di un rapporto che cambia nel "
            "tempo (p log-rank {p}).",
        ),
        "x.lower": (
            "in this simulation the hazard of death is lower in '{arm}'",
            "in questa simulazione il rischio di morte è più basso in '{arm}'",
        ),
        "x.higher": (
            "in this simulation the hazard of death is higher in '{arm}'",
            "in questa simulazione il rischio di morte è più alto in '{arm}'",
        ),
        "x.unclear": (
            "the simulation shows no clear difference between the arms",
            "la simulazione non mostra una differenza netta tra i bracci",
        ),
        "x.days_median": ("at a median of day {days} among them", "in mediana al giorno {days} tra questi"),
    }
)


def _join(items: list[str], lang: str) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + (" and " if lang == "en" else " e ") + items[-1]


def _when(day: Any, lang: str) -> str:
    if day is None:
        return t("x.never", lang)
    if day < 0:
        return t("x.before", lang, days=fmt_day(-day, lang))
    return t("x.after", lang, days=fmt_day(day, lang))


def _reach(day: Any, lang: str) -> str:
    return t("x.below_one", lang) if day is None else t("x.reach_one", lang, when=_when(day, lang))


def organ_ranking(values: dict[str, float], n: int = 3) -> list[tuple[str, float]]:
    """The ``n`` organs with the largest positive values, largest first."""
    ranked = sorted(((o, float(v)) for o, v in values.items() if v is not None and v > 0), key=lambda kv: -kv[1])
    return ranked[:n]


def first_beds(route: str, body: Any, n: int = 2) -> list[tuple[str, float]]:
    """The first capillary beds a cell entering by ``route`` meets: the organ itself, or the organ
    destinations of the pool (through pools it flows into), with their shares, largest first."""
    if route in body.organs:
        return [(route, 1.0)]
    beds: dict[str, float] = {}
    frontier, seen = [(route, 1.0)], set()
    while frontier:
        pool, w = frontier.pop()
        if pool in seen:
            continue
        seen.add(pool)
        for dest, share in body.shares[body.pools.index(pool)].items():
            if dest in body.organs:
                beds[dest] = beds.get(dest, 0.0) + w * share
            else:
                frontier.append((dest, w * share))
    return organ_ranking(beds, n)


# -- where ------------------------------------------------------------------------------------------------
def _where(run: RunFolder, lang: str) -> str:
    s = run.summary
    if run.kind == "deterministic":
        h = s["at_horizon"]
        day, total = fmt_day(h["days_since_diagnosis"], lang), h["n_metastases"]
        if len(h["organs"]) == 1:
            organ = next(iter(h["organs"]))
            return t("x.where_one", lang, total=fmt_number(total, lang), day=day, organ=i18n.organ_label(organ, lang))
        top = organ_ranking({o: v["n_metastases"] for o, v in h["organs"].items()})
        items = [
            t(
                "x.share_of",
                lang,
                organ=i18n.organ_label(o, lang),
                value=fmt_number(v, lang),
                share=fmt_percent(v / total, lang, 0),
            )
            for o, v in top
        ]
        return t("x.where_det", lang, day=day, total=fmt_number(total, lang), top=_join(items, lang))
    if run.kind == "stochastic":
        top = organ_ranking({o: v["p_metastasis_at_horizon"] for o, v in s.get("organs", {}).items()})
        if not top:
            return t("x.where_none", lang)
        items = [f"{i18n.organ_label(o, lang)} ({fmt_percent(v, lang)})" for o, v in top]
        return t(
            "x.where_sto",
            lang,
            day=fmt_day(run.scenario.engine.horizon_days, lang),
            top=_join(items, lang),
            n=fmt_day(s.get("n_patients"), lang),
        )
    ref = s.get("control") or s["arms"][0]
    top = organ_ranking((s.get("organs") or {}).get(ref, {}))
    if not top:
        return t("x.where_none_cohort", lang, arm=ref)
    items = [f"{i18n.organ_label(o, lang)} ({fmt_percent(v, lang)})" for o, v in top]
    return t("x.where_cohort", lang, arm=ref, top=_join(items, lang))


# -- why --------------------------------------------------------------------------------------------------
def _why(run: RunFolder, lang: str) -> list[str]:
    sc = run.scenario
    if len(sc.organs) == 1:
        sh = sc.model.primary_shedding
        return [t("x.why_one", lang, m=fmt_number(sh.m, lang), alpha=fmt_ratio(sh.alpha, lang))]
    body = default_body_graph()
    routes = dict(sc.raw.get("model", {}).get("routes") or get_preset(sc.patient.cancer).routes or {})
    parts = []
    for route, share in sorted(routes.items(), key=lambda kv: -kv[1]):
        label, pct = i18n.route_label(route, lang), fmt_percent(share, lang, 0)
        if route in body.organs:
            parts.append(t("x.route", lang, route=label, share=pct))
        else:
            beds = ", ".join(i18n.organ_label(o, lang) for o, _ in first_beds(route, body))
            parts.append(t("x.route_bed", lang, route=label, share=pct, beds=beds))
    paras = [t("x.why_routes", lang, routes=_join(parts, lang))]
    r = sc.routing
    arrest = dict(zip(r.organs, map(float, r.primary_arrest)))
    top_arrest = organ_ranking(arrest)
    items = [
        t("x.arrest_item", lang, value=fmt_number(100.0 * v, lang), organ=i18n.organ_label(o, lang))
        for o, v in top_arrest
    ]
    paras.append(t("x.arrest", lang, items=_join(items, lang), dead=fmt_number(100.0 * r.primary_dead, lang)))
    with np.errstate(divide="ignore", invalid="ignore"):
        soil = np.where(r.primary_arrest > 0, r.primary / (r.primary_arrest * sc.early_survival), 0.0)
    soil_of = dict(zip(r.organs, map(float, soil)))
    founding = dict(zip(r.organs, map(float, r.primary / r.primary.sum()))) if r.primary.sum() > 0 else {}
    ref = top_arrest[0][0] if top_arrest else None
    if ref is not None and soil_of.get(ref, 0.0) > 0 and founding:
        others = [o for o, _ in organ_ranking(founding, 4) if o != ref][:3]
        soil_items = [
            t("x.soil_item", lang, organ=i18n.organ_label(o, lang), ratio=fmt_ratio(soil_of[o] / soil_of[ref], lang))
            for o in others
        ]
        found_items = [
            t("x.found_item", lang, share=fmt_percent(v, lang, 0), organ=i18n.organ_label(o, lang))
            for o, v in organ_ranking(founding)
        ]
        paras.append(
            t(
                "x.soil",
                lang,
                ref=i18n.organ_label(ref, lang),
                items=_join(soil_items, lang),
                founding=_join(found_items, lang),
            )
        )
    return paras


# -- when -------------------------------------------------------------------------------------------------
def _when_text(run: RunFolder, lang: str) -> list[str]:
    s = run.summary
    if run.kind == "deterministic":
        founded = s.get("days_since_diagnosis_expected_first_metastasis_founded")
        detectable = s.get("days_since_diagnosis_expected_first_detectable_metastasis")
        paras = [t("x.when_det", lang, founded=_reach(founded, lang), detectable=_reach(detectable, lang))]
        by_organ = {
            o: d
            for o, d in (s.get("days_since_diagnosis_detectable_metastasis_more_likely_than_not") or {}).items()
            if d is not None
        }
        if by_organ and len(s["at_horizon"]["organs"]) > 1:
            first = sorted(by_organ.items(), key=lambda kv: kv[1])[:3]
            paras.append(
                t(
                    "x.when_organs",
                    lang,
                    items=_join(
                        [
                            t("x.day_item", lang, organ=i18n.organ_label(o, lang), day=fmt_day(d, lang))
                            for o, d in first
                        ],
                        lang,
                    ),
                )
            )
        return paras
    if run.kind == "stochastic":
        q = s["days_since_diagnosis_first_detectable_metastasis"]
        median = t("x.median_day", lang, day=fmt_day(q["q50"], lang)) if "q50" in q else ""
        return [
            t(
                "x.when_sto",
                lang,
                frac=fmt_percent(q.get("fraction", 0.0), lang),
                day=fmt_day(run.scenario.engine.horizon_days, lang),
                median=median,
            )
        ]
    pt = run.table("patients", columns=["arm", "dm_days", "dm_event"])
    items = []
    for arm in s["arms"]:
        a = s["endpoints"]["dm"]["arms"][arm]
        median = ""
        if pt is not None:
            days = pt.loc[(pt["arm"].astype(str) == arm) & pt["dm_event"].astype(bool), "dm_days"].to_numpy()
            if days.size:
                median = f" ({t('x.days_median', lang, days=fmt_day(float(np.median(days)), lang))})"
        items.append(
            t("x.when_arm", lang, arm=arm, k=fmt_day(a["events"], lang), n=fmt_day(a["n"], lang), median=median)
        )
    return [t("x.when_cohort", lang, items="; ".join(items))]


# -- treatment --------------------------------------------------------------------------------------------
def _treatment(run: RunFolder, lang: str) -> list[str]:
    s = run.summary
    if run.kind == "deterministic":
        day = s.get("days_since_diagnosis_lethal_burden_untreated")
        lethal = t("x.lethal_never", lang) if day is None else t("x.lethal_at", lang, when=_when(day, lang))
        return [t("x.tr_none_det", lang, lethal=lethal)]
    if run.kind == "stochastic":
        if not s.get("treatment"):
            return [
                t("x.tr_none_sto", lang, deaths=fmt_percent(s["days_since_diagnosis_death"].get("fraction", 0.0), lang))
            ]
        n = s.get("n_patients") or 1
        plan = ", ".join(dict.fromkeys(i18n.treatment_label(e["kind"], lang) for e in s["treatment"]))
        causes = {k: v for k, v in (s.get("cause_of_death") or {}).items() if k != "alive" and v > 0}
        cause = ""
        if causes:
            k, v = max(causes.items(), key=lambda kv: kv[1])
            cause = t("x.causes", lang, cause=i18n.cause_label(k, lang), share=fmt_percent(v / n, lang))
        removed = eradicated_colonies(run)
        rec = s.get("days_since_diagnosis_recurrence_after_plan") or {}
        return [
            t(
                "x.tr_sto",
                lang,
                plan=plan,
                removed=fmt_day(removed or 0, lang),
                recurrence=fmt_percent(rec.get("fraction", 0.0), lang),
                alive=fmt_percent((s.get("cause_of_death") or {}).get("alive", n) / n, lang),
                day=fmt_day(run.scenario.engine.horizon_days, lang),
                causes=cause,
            )
        ]
    ep, arms = s["endpoints"], s["arms"]
    ref = s.get("control") or arms[0]
    if len(arms) == 1:
        plan = ", ".join(i18n.treatment_label(e.kind, lang) for e in run.scenario.cohort.arms[0][1]) or "-"
        return [t("x.tr_single", lang, arm=arms[0], plan=plan)]
    paras = []
    for arm in arms:
        if arm == ref:
            continue

        def dm(a: str) -> str:
            return events_text(ep["dm"]["arms"][a], lang)

        def at5(x: dict[str, Any]) -> str:
            return fmt_percent(((x.get("survival") or {}).get("5y") or {}).get("survival"), lang)

        paras.append(
            t(
                "x.tr_cohort",
                lang,
                ref=ref,
                arm=arm,
                dm_arm=dm(arm),
                dm_ref=dm(ref),
                os_arm=at5(ep["os"]["arms"][arm]),
                os_ref=at5(ep["os"]["arms"][ref]),
                osm_arm=median_text(ep["os"]["arms"][arm], lang, False),
                osm_ref=median_text(ep["os"]["arms"][ref], lang, False),
                mfs_arm=at5(ep["mfs"]["arms"][arm]),
                mfs_ref=at5(ep["mfs"]["arms"][ref]),
                mfsm_arm=median_text(ep["mfs"]["arms"][arm], lang, False),
                mfsm_ref=median_text(ep["mfs"]["arms"][ref], lang, False),
            )
        )
        comp = (ep["os"].get("comparisons") or {}).get(arm)
        if comp and comp.get("hazard_ratio") and comp["hazard_ratio"].get("proportional") is False:
            hr, rm = comp["hazard_ratio"], comp.get("rmst_difference") or {}
            hr_plain = {k: v for k, v in hr.items() if k != "proportional"}
            paras.append(
                t(
                    "x.rmst_lead",
                    lang,
                    arm=arm,
                    ref=ref,
                    php=fmt_p_value(hr.get("ph_p_value"), lang),
                    tau=fmt_day(rm.get("tau_days", s.get("follow_up_days")), lang),
                    diff=fmt_number(rm.get("difference_days"), lang),
                    ci=fmt_ci(rm.get("ci_lower"), rm.get("ci_upper"), lang, fmt_number),
                    hr=hr_text(hr_plain, lang),
                    p=fmt_p_value((comp.get("logrank") or {}).get("p_value"), lang, relation=True),
                )
            )
        elif comp and comp.get("hazard_ratio"):
            hr = comp["hazard_ratio"]
            lo, hi = hr.get("ci_lower"), hr.get("ci_upper")
            verdict = (
                "x.lower" if hi is not None and hi < 1 else "x.higher" if lo is not None and lo > 1 else "x.unclear"
            )
            paras.append(
                t(
                    "x.hr",
                    lang,
                    hr=hr_text(hr, lang),
                    p=fmt_p_value((comp.get("logrank") or {}).get("p_value"), lang, relation=True),
                    verdict=t(verdict, lang, arm=arm),
                )
            )
    return paras


def explanation_section(run: RunFolder, lang: str) -> Section:
    """Where, why, when and what treatment changed, in words, then the disclaimer."""
    paras = [_where(run, lang), *_why(run, lang), *_when_text(run, lang), *_treatment(run, lang)]
    blocks = [Paragraph(p) for p in paras] + [Paragraph(t("disclaimer", lang), emphasis=True)]
    return Section("explanation", t("section.explanation", lang), tuple(blocks))
