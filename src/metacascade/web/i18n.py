"""The web app's words in English and Italian (``t(lang, key)``).

Field labels come from the scenario schema's names (``primary_diameter_mm`` ->
"primary diameter (mm)"); the Italian labels are listed here, and a key missing in Italian
falls back to English, so a new schema field still shows up (in English) rather than breaking.
"""

from __future__ import annotations

from metacascade.reports.i18n import LANGUAGES  # the same languages as the reports

__all__ = ["LANGUAGES", "t", "label", "site_label"]

_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "metacascade",
        "subtitle": "mechanistic simulator of distant metastasis",
        "tab_scenario": "Scenario",
        "tab_results": "Results",
        "tab_cohort": "Cohort",
        "tab_runs": "Saved runs",
        "patient": "Patient",
        "host": "Host (immunity)",
        "engine": "Engine",
        "treatment": "Treatment timeline",
        "add_treatment": "Add",
        "remove": "Remove",
        "run": "Run scenario",
        "running": "running",
        "complete": "complete",
        "cancelled": "cancelled",
        "failed": "failed",
        "cancel": "Cancel",
        "valid": "The scenario is valid.",
        "invalid": "Please correct the fields marked in red.",
        "required": "required",
        "is_required": "is required",
        "not_a_number": "not a number",
        "tab_of": "{tab} tab",
        "entry": "entry",
        "time": "Time since diagnosis (days)",
        "body_map": "Body map: metastatic burden by organ",
        "burden_plot": "Burden over time",
        "sizes_plot": "Size distribution at the selected time",
        "primary": "primary tumour",
        "metastases": "metastases (all organs)",
        "cells": "cells",
        "lethal": "lethal",
        "colonies": "colonies",
        "burden": "burden",
        "first_detection": "first detectable (day)",
        "p_detectable": "P(detectable)",
        "none_yet": "not within the horizon",
        "open_run": "Open a saved run",
        "no_run": "No run selected: run a scenario or open a saved run.",
        "downloads": "Downloads",
        "report": "Report",
        "tables": "Tables (zip)",
        "scenario_file": "Scenario (TOML)",
        "figures": "Figures",
        "cohort_intro": (
            "A virtual trial of the scenario above: every patient (primary size varied "
            "log-normally) is simulated in two matched arms, without treatment (control) and "
            "with the treatment timeline."
        ),
        "n_patients": "patients per arm",
        "run_cohort": "Run cohort",
        "km_title": "Kaplan-Meier: overall survival by arm",
        "km_mfs": "Kaplan-Meier: metastasis-free survival by arm",
        "survival": "survival probability",
        "years": "years since diagnosis",
        "runs_table": "Run folders (the same ones the command line writes)",
        "name": "name",
        "runs_hint": "Choose a finished run to open it in the Results tab.",
        "incomplete": "incomplete",
        "kind": "kind",
        "status": "status",
        "cancer": "cancer",
        "language": "Language",
        "progress": "Progress",
        "patients_done": "patients done",
        "solve_running": "deterministic solve running…",
        "solve_complete": "deterministic solve done",
        "solve_cancelled": "deterministic solve cancelled",
        "solve_failed": "deterministic solve failed",
        "stochastic": "stochastic run",
        "cohort": "cohort",
        "eta": "ETA",
        "rate": "per second",
        "organ": "organ",
        "summary": "Summary",
        "hr": "hazard ratio",
        "rmst_diff": "RMST difference (days)",
        "non_ph": "hazards not proportional (Schoenfeld p {p}): read the RMST difference",
        "median_os": "median overall survival (days)",
        "events": "deaths",
        "disclaimer": "A simulation for research and teaching, not medical advice.",
    },
    "it": {
        "title": "metacascade",
        "subtitle": "simulatore meccanicistico delle metastasi a distanza",
        "tab_scenario": "Scenario",
        "tab_results": "Risultati",
        "tab_cohort": "Coorte",
        "tab_runs": "Simulazioni salvate",
        "patient": "Paziente",
        "host": "Ospite (immunità)",
        "engine": "Motore di calcolo",
        "treatment": "Piano di trattamento",
        "add_treatment": "Aggiungi",
        "remove": "Rimuovi",
        "run": "Esegui lo scenario",
        "running": "in corso",
        "complete": "completata",
        "cancelled": "annullata",
        "failed": "non riuscita",
        "cancel": "Annulla",
        "valid": "Lo scenario è valido.",
        "invalid": "Correggere i campi segnati in rosso.",
        "required": "obbligatorio",
        "is_required": "è obbligatorio",
        "not_a_number": "non è un numero",
        "tab_of": "scheda {tab}",
        "entry": "voce",
        "time": "Tempo dalla diagnosi (giorni)",
        "body_map": "Mappa corporea: carico metastatico per organo",
        "burden_plot": "Carico tumorale nel tempo",
        "sizes_plot": "Distribuzione delle dimensioni al tempo scelto",
        "primary": "tumore primario",
        "metastases": "metastasi (tutti gli organi)",
        "cells": "cellule",
        "lethal": "letale",
        "colonies": "colonie",
        "burden": "carico",
        "first_detection": "prima rilevabile (giorno)",
        "p_detectable": "P(rilevabile)",
        "none_yet": "non entro l'orizzonte",
        "open_run": "Apri una simulazione salvata",
        "no_run": "Nessuna simulazione scelta: eseguire uno scenario o aprirne una salvata.",
        "downloads": "Download",
        "report": "Rapporto",
        "tables": "Tabelle (zip)",
        "scenario_file": "Scenario (TOML)",
        "figures": "Figure",
        "cohort_intro": (
            "Uno studio virtuale dello scenario qui sopra: ogni paziente (dimensione del primario "
            "variata in modo log-normale) è simulato in due bracci appaiati, senza trattamento "
            "(controllo) e con il piano di trattamento."
        ),
        "n_patients": "pazienti per braccio",
        "run_cohort": "Esegui la coorte",
        "km_title": "Kaplan-Meier: sopravvivenza globale per braccio",
        "km_mfs": "Kaplan-Meier: sopravvivenza libera da metastasi per braccio",
        "survival": "probabilità di sopravvivenza",
        "years": "anni dalla diagnosi",
        "runs_table": "Cartelle delle simulazioni (le stesse scritte dalla riga di comando)",
        "name": "nome",
        "runs_hint": "Scegliere una simulazione completata per aprirla nella scheda Risultati.",
        "incomplete": "incompleta",
        "kind": "tipo",
        "status": "stato",
        "cancer": "tumore",
        "language": "Lingua",
        "progress": "Avanzamento",
        "patients_done": "pazienti completati",
        "solve_running": "calcolo deterministico in corso…",
        "solve_complete": "calcolo deterministico completato",
        "solve_cancelled": "calcolo deterministico annullato",
        "solve_failed": "calcolo deterministico non riuscito",
        "stochastic": "simulazione stocastica",
        "cohort": "coorte",
        "eta": "tempo stimato",
        "rate": "al secondo",
        "organ": "organo",
        "summary": "Sintesi",
        "hr": "hazard ratio",
        "rmst_diff": "differenza di RMST (giorni)",
        "non_ph": "rischi non proporzionali (p di Schoenfeld {p}): leggere la differenza di RMST",
        "median_os": "sopravvivenza globale mediana (giorni)",
        "events": "decessi",
        "disclaimer": "Una simulazione per ricerca e didattica, non un parere medico.",
    },
}

#: Italian names of the primary sites of metacascade.bodymap.PRIMARY_SITES (the body map's star).
_SITES_IT = {
    "brain (cerebellum)": "encefalo (cervelletto)",
    "head and neck": "testa e collo",
    "oesophagus": "esofago",
    "lung": "polmone",
    "breast": "mammella",
    "liver": "fegato",
    "stomach": "stomaco",
    "pancreas": "pancreas",
    "kidney": "rene",
    "colon": "colon",
    "rectum": "retto",
    "ovary": "ovaio",
    "uterus": "utero",
    "cervix": "cervice uterina",
    "bladder": "vescica",
    "prostate": "prostata",
    "skin": "cute",
}

_LABELS_IT = {
    "cancer": "tipo di tumore",
    "primary_diameter_mm": "diametro del primario (mm)",
    "sex": "sesso",
    "menopausal_status": "stato menopausale",
    "immunocompetence": "immunocompetenza (1 = normale)",
    "estradiol_pmol_l": "estradiolo (pmol/L)",
    "free_t4_pmol_l": "FT4 (pmol/L)",
    "free_t3_pmol_l": "FT3 (pmol/L)",
    "prolactin_ng_ml": "prolattina (ng/mL)",
    "dormancy_probability": "probabilità di dormienza",
    "dormancy_escape_per_day": "fuga dalla dormienza (al giorno)",
    "nk_clearance_fraction": "quota di eliminazione da cellule NK",
    "organ_failure": "morte per insufficienza d'organo",
    "kind": "tipo",
    "horizon_days": "orizzonte (giorni)",
    "n_patients": "numero di pazienti",
    "seed": "seme casuale",
    "day": "giorno",
    "nodes": "linfonodi regionali",
    "shed_cells": "cellule disseminate all'intervento",
    "cycles": "cicli",
    "interval_days": "intervallo (giorni)",
    "log_kill": "log-kill per ciclo",
    "norton_simon": "Norton-Simon",
    "reference_cells": "cellule di riferimento",
    "mutation_rate": "tasso di mutazione",
    "myelosuppression": "mielosoppressione",
    "recovery_days": "recupero (giorni)",
    "sites": "sedi",
    "dose_per_fraction_gy": "dose per frazione (Gy)",
    "fractions": "frazioni",
    "fractions_per_week": "frazioni a settimana",
    "alpha_per_gy": "alfa (1/Gy)",
    "alpha_beta_gy": "alfa/beta (Gy)",
    "repopulation": "ripopolamento",
    "kickoff_days": "inizio ripopolamento (giorni)",
    "doubling_days": "tempo di raddoppio (giorni)",
    "agent": "farmaco",
    "duration_days": "durata (giorni)",
    "killing_factor": "fattore di uccisione",
}


def _lang(lang: str) -> str:
    return lang if lang in LANGUAGES else "en"


def t(lang: str, key: str) -> str:
    """The text ``key`` in ``lang`` (English where Italian lacks it; the key itself as last resort)."""
    return _TEXT.get(lang, _TEXT["en"]).get(key) or _TEXT["en"].get(key, key)


def site_label(lang: str, site: str) -> str:
    """A primary site of the body map (``"breast"``) in ``lang`` (English where Italian lacks it)."""
    return _SITES_IT.get(site, site) if lang == "it" else site


def label(lang: str, name: str) -> str:
    """The label of a schema field, an organ or a treatment kind (organs and treatments in the
    reports' words, :mod:`metacascade.reports.i18n`)."""
    from metacascade.reports.i18n import _ORGANS, _TREATMENTS, organ_label, treatment_label

    if name in _ORGANS:
        return organ_label(name, _lang(lang))
    if name in _TREATMENTS:
        return treatment_label(name, _lang(lang))
    if lang == "it" and name in _LABELS_IT:
        return _LABELS_IT[name]
    text = name.replace("_", " ")
    for suffix, unit in (
        (" mm", " (mm)"),
        (" days", " (days)"),
        (" gy", " (Gy)"),
        (" pmol l", " (pmol/L)"),
        (" ng ml", " (ng/mL)"),
        (" per day", " (per day)"),
    ):
        if text.endswith(suffix):
            return text[: -len(suffix)] + unit
    return text
