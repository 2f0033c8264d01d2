"""The text catalogue of the reports (English and Italian) and locale-aware number formatting.

Every sentence of a report is a catalogue entry with ``str.format`` placeholders; the numbers
put into them are formatted here first (:func:`fmt_number`, :func:`fmt_percent`,
:func:`fmt_day`, ...), with the decimal point in English and the decimal comma in Italian
(thousands: ``1,234.5`` / ``1.234,5``). Characters stay within Windows-1252 so that the PDF's
standard fonts can draw them.

>>> fmt_number(144.5759, "it")
'144,6'
>>> fmt_percent(0.0475, "en")
'4.8%'
"""

from __future__ import annotations

import math
import re
from typing import Any

__all__ = [
    "LANGUAGES",
    "CATALOGUE",
    "t",
    "fmt_number",
    "fmt_percent",
    "fmt_day",
    "fmt_years",
    "fmt_p_value",
    "fmt_ratio",
    "localise",
    "fmt_ci",
    "organ_label",
    "route_label",
    "treatment_label",
    "cancer_label",
    "cause_label",
    "endpoint_label",
    "missing",
    "add",
]

LANGUAGES = ("en", "it")

# -- the catalogue: key -> (English, Italian) ------------------------------------------------------
_TEXT: dict[str, tuple[str, str]] = {
    # titles and section headings
    "title": ("Simulation report", "Rapporto di simulazione"),
    "subtitle": ("{kind}: {cancer} (metacascade {version})", "{kind}: {cancer} (metacascade {version})"),
    "kind.deterministic": ("Deterministic run (expected values)", "Simulazione deterministica (valori attesi)"),
    "kind.stochastic": ("Stochastic run (virtual patients)", "Simulazione stocastica (pazienti virtuali)"),
    "kind.cohort": ("Virtual trial (cohort)", "Studio virtuale (coorte)"),
    "section.scenario": ("Scenario", "Scenario"),
    "section.model": ("Model and sources", "Modello e fonti"),
    "section.results": ("Results", "Risultati"),
    "section.figures": ("Figures", "Figure"),
    "section.tables": ("Tables", "Tabelle"),
    "section.explanation": ("Plain-language explanation", "Spiegazione in parole semplici"),
    "section.sources": ("References", "Riferimenti bibliografici"),
    "disclaimer": (
        "This is the output of a computer simulation of a mathematical model, not a prediction for "
        "any real person and not medical advice. Discuss any clinical question with a doctor.",
        "Questo è il risultato di una simulazione al computer di un modello matematico, non una "
        "previsione per una persona reale né un consiglio medico. Per qualsiasi domanda clinica "
        "rivolgersi a un medico.",
    ),
    "contents": ("Contents", "Indice"),
    "run_folder": ("Run folder: {path}", "Cartella della simulazione: {path}"),
    # scenario section
    "sc.facts": ("Scenario values", "Valori dello scenario"),
    "sc.cancer": ("Cancer type", "Tipo di tumore"),
    "sc.primary": ("Primary tumour diameter at diagnosis", "Diametro del tumore primario alla diagnosi"),
    "sc.primary_age": (
        "Age of the primary at diagnosis (days from its first cell)",
        "Età del tumore primario alla diagnosi (giorni dalla prima cellula)",
    ),
    "sc.sex": ("Sex", "Sesso"),
    "sc.menopause": ("Menopausal status", "Stato menopausale"),
    "sc.immuno": ("Immunocompetence (1 = normal)", "Immunocompetenza (1 = normale)"),
    "sc.hormone": ("Hormone level: {name}", "Livello ormonale: {name}"),
    "sc.growth_mult": ("Growth multiplier from hormone levels", "Moltiplicatore di crescita dagli ormoni"),
    "sc.dormancy": ("Dormancy probability of new colonies", "Probabilità di dormienza delle nuove colonie"),
    "sc.organ_failure": ("Death from failure of a vital organ", "Morte per insufficienza di un organo vitale"),
    "sc.engine": ("Engine", "Motore di calcolo"),
    "sc.seed": ("Random seed", "Seme casuale"),
    "sc.horizon": ("Horizon (days since diagnosis)", "Orizzonte (giorni dalla diagnosi)"),
    "sc.n_patients": ("Virtual patients", "Pazienti virtuali"),
    "sc.n_patients_arm": ("Virtual patients per arm", "Pazienti virtuali per braccio"),
    "sc.follow_up": ("Follow-up (days since diagnosis)", "Follow-up (giorni dalla diagnosi)"),
    "sc.arms": ("Arms", "Bracci"),
    "sc.plan": ("Treatment plan (days since diagnosis)", "Piano di trattamento (giorni dalla diagnosi)"),
    "sc.no_plan": ("No treatment is modelled in this run.", "In questa simulazione non è modellato alcun trattamento."),
    "sc.vary": ("Parameters that vary between patients", "Parametri che variano tra i pazienti"),
    "sc.toml": ("Scenario file (TOML)", "File dello scenario (TOML)"),
    "col.arm": ("Arm", "Braccio"),
    "col.kind": ("Treatment", "Trattamento"),
    "col.day": ("Day", "Giorno"),
    "col.details": ("Details", "Dettagli"),
    "col.parameter": ("Parameter", "Parametro"),
    "col.distribution": ("Distribution", "Distribuzione"),
    "col.quantity": ("Quantity", "Grandezza"),
    "col.value": ("Value", "Valore"),
    "col.at_diagnosis": ("At diagnosis", "Alla diagnosi"),
    "col.at_horizon": ("At day {day}", "Al giorno {day}"),
    "col.organ": ("Organ", "Organo"),
    "yes": ("yes", "sì"),
    "no": ("no", "no"),
    "female": ("female", "femminile"),
    "male": ("male", "maschile"),
    "premenopausal": ("premenopausal", "premenopausa"),
    "postmenopausal": ("postmenopausal", "postmenopausa"),
    "engine.deterministic": ("deterministic (expected values)", "deterministico (valori attesi)"),
    "engine.stochastic": ("stochastic (virtual patients)", "stocastico (pazienti virtuali)"),
    "engine.cohort": (
        "stochastic, one virtual patient per row and arm",
        "stocastico, un paziente virtuale per riga e braccio",
    ),
    # model section
    "m.growth": (
        "Growth: every tumour follows the {law} law ({equation}) with {params}; the primary "
        "started from one cell {age} days before diagnosis.",
        "Crescita: ogni tumore segue la legge di {law} ({equation}) con {params}; il primario è partito "
        "da una cellula {age} giorni prima della diagnosi.",
    ),
    "m.growth_hormone": (
        "Hormone levels change the growth speed by a factor {factor}.",
        "I livelli ormonali cambiano la velocità di crescita di un fattore {factor}.",
    ),
    "m.shedding": (
        "Shedding: a tumour of x cells releases cells at the rate m x^alpha per day, m = {m}, "
        "alpha = {alpha}{secondary}.",
        "Disseminazione: un tumore di x cellule rilascia cellule al ritmo m x^alpha al giorno, "
        "m = {m}, alpha = {alpha}{secondary}.",
    ),
    "m.secondary": (
        "; metastases shed cells too (secondary seeding)",
        "; anche le metastasi rilasciano cellule (disseminazione secondaria)",
    ),
    "m.routing_body": (
        "Routing: shed cells travel through a graph of {n_organs} organs and {n_pools} "
        "circulation pools (blood, lymph, cavities) and arrest in capillary beds; an arrested cell "
        "founds a colony with the organ's colonisation efficiency (its 'soil').",
        "Instradamento: le cellule rilasciate percorrono un grafo di {n_organs} organi e {n_pools} "
        "compartimenti circolatori (sangue, linfa, cavità) e si arrestano nei letti capillari; una "
        "cellula arrestata fonda una colonia con l'efficienza di colonizzazione dell'organo "
        "(il suo 'terreno').",
    ),
    "m.routing_one": (
        "Routing: one organ, the liver; every cell unit shed founds a colony there (Iwata et al. 2000).",
        "Instradamento: un solo organo, il fegato; ogni unità cellulare rilasciata vi "
        "fonda una colonia (Iwata et al. 2000).",
    ),
    "m.establishment": (
        "Establishment: a new colony survives early extinction with probability {p} and is "
        "followed from {switch} cells on (mean {days} days to get there).",
        "Attecchimento: una nuova colonia sopravvive all'estinzione precoce con probabilità {p} e "
        "viene seguita da {switch} cellule in poi (in media {days} giorni per arrivarci).",
    ),
    "m.establishment_none": (
        "Establishment: every colony founded grows from its first cell on (no early extinction phase).",
        "Attecchimento: ogni colonia fondata cresce fin dalla prima cellula (nessuna fase di estinzione precoce).",
    ),
    "m.dormancy": (
        "Dormancy: with probability {p} a colony is held dormant by immunity and escapes at "
        "{rate} per day (mean {days} days).",
        "Dormienza: con probabilità {p} una colonia è tenuta dormiente dal sistema immunitario e ne "
        "esce al ritmo di {rate} al giorno (in media {days} giorni).",
    ),
    "m.no_dormancy": ("Dormancy: not modelled (probability 0).", "Dormienza: non modellata (probabilità 0)."),
    "m.treatments": ("Treatments: {items}.", "Trattamenti: {items}."),
    "m.no_treatment": ("Treatments: none (the untreated course).", "Trattamenti: nessuno (decorso senza trattamento)."),
    "m.detection": (
        "A metastasis counts as detectable from {mm} mm ({cells} cells); the lethal burden is {lethal} cells.",
        "Una metastasi è considerata rilevabile da {mm} mm ({cells} cellule); il carico letale è {lethal} cellule.",
    ),
    "m.survival": (
        "Survival analysis: Kaplan-Meier curves, restricted mean survival time, log-rank test and "
        "Cox hazard ratio (lifelines; robust variance clustered on patient, since every patient is in "
        "every arm).",
        "Analisi di sopravvivenza: curve di Kaplan-Meier, tempo medio di "
        "sopravvivenza ristretto, test log-rank e hazard ratio di Cox (lifelines; varianza robusta per "
        "paziente, perché ogni paziente è in ogni braccio).",
    ),
    "m.sources_note": (
        "The numbered sources are listed under References.",
        "Le fonti numerate sono elencate nei Riferimenti bibliografici.",
    ),
    "tr.surgery": ("surgery removes the primary{nodes}", "la chirurgia asporta il primario{nodes}"),
    "tr.surgery_nodes": (" and the regional lymph-node colonies", " e le colonie nei linfonodi regionali"),
    "tr.chemotherapy": (
        "chemotherapy kills a fixed fraction of sensitive cells per cycle (log-kill); resistant cells survive",
        "la chemioterapia uccide una frazione fissa delle cellule sensibili per "
        "ciclo (log-kill); le cellule resistenti sopravvivono",
    ),
    "tr.radiotherapy": (
        "radiotherapy kills cells of the irradiated sites by the linear-quadratic model",
        "la radioterapia uccide le cellule delle sedi irradiate secondo il modello lineare-quadratico",
    ),
    "tr.endocrine": (
        "endocrine therapy lowers the effective estradiol level and so the growth of hormone-sensitive tumours",
        "la terapia endocrina abbassa il livello efficace di estradiolo "
        "e quindi la crescita dei tumori ormono-sensibili",
    ),
    "tr.immunotherapy": (
        "immunotherapy raises the immune killing rate, keeping colonies dormant longer",
        "l'immunoterapia aumenta la capacità di uccisione immunitaria e prolunga la dormienza delle colonie",
    ),
    # results
    "r.key": ("Key numbers", "Numeri chiave"),
    "r.primary_mm": ("Primary tumour diameter (mm)", "Diametro del tumore primario (mm)"),
    "r.n_mets": ("Expected number of metastases", "Numero atteso di metastasi"),
    "r.n_det": ("Expected number of detectable metastases", "Numero atteso di metastasi rilevabili"),
    "r.p_det": ("Probability of at least one detectable metastasis", "Probabilità di almeno una metastasi rilevabile"),
    "r.n_1e6": ("Expected metastases above one million cells", "Metastasi attese sopra un milione di cellule"),
    "r.burden": ("Metastatic burden (cells)", "Carico metastatico (cellule)"),
    "r.first_founded": (
        "Expected first metastasis founded (day since diagnosis)",
        "Prima metastasi attesa fondata (giorno dalla diagnosi)",
    ),
    "r.first_det": (
        "Expected first detectable metastasis (day since diagnosis)",
        "Prima metastasi rilevabile attesa (giorno dalla diagnosi)",
    ),
    "r.lethal": (
        "Lethal burden reached untreated (day since diagnosis)",
        "Carico letale raggiunto senza trattamento (giorno dalla diagnosi)",
    ),
    "r.not_reached": ("not within the horizon", "non entro l'orizzonte"),
    "r.beyond": ("> {day}", "> {day}"),
    "r.est_mean": (
        "Metastases established per patient: mean (standard error)",
        "Metastasi attecchite per paziente: media (errore standard)",
    ),
    "r.est_none": ("Patients without an established metastasis", "Pazienti senza metastasi attecchite"),
    "r.det_mean": ("Detectable metastases per patient: mean", "Metastasi rilevabili per paziente: media"),
    "r.det_frac": (
        "Patients with a detectable metastasis by the horizon (median day)",
        "Pazienti con una metastasi rilevabile entro l'orizzonte (giorno mediano)",
    ),
    "r.deaths": (
        "Patients who died within the horizon (median day)",
        "Pazienti deceduti entro l'orizzonte (giorno mediano)",
    ),
    "r.recurrence": (
        "Detectable tumour after the plan, recurrence (median day)",
        "Tumore rilevabile dopo il piano, recidiva (giorno mediano)",
    ),
    "r.eradicated": ("Colonies removed or eradicated by treatment", "Colonie asportate o eradicate dal trattamento"),
    "r.resistant": ("Resistant clones per patient: mean", "Cloni resistenti per paziente: media"),
    "r.causes": ("Outcome at the horizon", "Esito all'orizzonte"),
    "r.stage": ("Stage at surgery", "Stadio alla chirurgia"),
    "col.patients": ("Patients", "Pazienti"),
    "col.n": ("n", "n"),
    "col.events": ("Events", "Eventi"),
    "col.median": ("Median, days (95% CI)", "Mediana, giorni (IC 95%)"),
    "col.rmst": ("RMST, days", "RMST, giorni"),
    "col.endpoint": ("Endpoint", "Endpoint"),
    "col.comparison": ("Comparison", "Confronto"),
    "col.hr": ("Hazard ratio (95% CI)", "Hazard ratio (IC 95%)"),
    "col.logrank": ("Log-rank p", "p log-rank"),
    "col.rmst_diff": ("RMST difference, days (95% CI)", "Differenza di RMST, giorni (IC 95%)"),
    "r.non_ph": (
        "hazards not proportional (Schoenfeld p {p}): see the RMST difference",
        "rischi non proporzionali (p di Schoenfeld {p}): vedere la differenza di RMST",
    ),
    "col.km": ("{years} y", "{years} a"),
    "r.arms": ("Arms at a glance", "I bracci in sintesi"),
    "r.comparisons": ("Comparisons with the reference arm '{ref}'", "Confronti con il braccio di riferimento '{ref}'"),
    "r.deaths_arm": ("Deaths", "Decessi"),
    "r.dm_arm": ("Distant metastases", "Metastasi a distanza"),
    "r.median_os": ("Median OS", "OS mediana"),
    "r.os5": ("OS at 5 years", "OS a 5 anni"),
    "r.mfs5": ("MFS at 5 years", "MFS a 5 anni"),
    "not_reached": ("not reached", "non raggiunta"),
    "vs": ("{arm} vs {ref}", "{arm} vs {ref}"),
    # tables
    "t.organs_det": (
        "By organ at day {day}: expected metastases, probability that one is detectable, burden, "
        "and the day a detectable metastasis becomes more likely than not",
        "Per organo al giorno {day}: metastasi attese, probabilità che una sia rilevabile, carico e "
        "giorno in cui una metastasi rilevabile diventa più probabile che no",
    ),
    "t.organs_sto": (
        "By organ: mean metastases and burden {at}, share of patients with a metastasis, "
        "with a detectable one, and its median first day",
        "Per organo: metastasi e carico medi {at}, quota di pazienti con una metastasi, "
        "con una rilevabile, e il suo primo giorno mediano",
    ),
    # the stochastic tables' horizon columns (results.horizon_words)
    "r.at_day": ("at day {day}", "al giorno {day}"),
    "r.at_the_horizon": ("at the horizon (day {day})", "all'orizzonte (giorno {day})"),
    "r.all_died_by": ("all patients died by day {day}", "tutti i pazienti sono deceduti entro il giorno {day}"),
    "r.all_died": ("all patients died before the horizon", "tutti i pazienti sono deceduti prima dell'orizzonte"),
    "r.some_died": (
        "{share} of patients died before the horizon",
        "il {share} dei pazienti è deceduto prima dell'orizzonte",
    ),
    "r.last_death": (", the last on day {day}", ", l'ultimo il giorno {day}"),
    "r.counted_at_death": (
        "the horizon columns count each one at death",
        "le colonne all'orizzonte contano ciascuno al momento del decesso",
    ),
    "r.followed_past_death": (
        "the horizon columns follow them past death (engine.stop_at_death = false)",
        "le colonne all'orizzonte li seguono oltre il decesso (engine.stop_at_death = false)",
    ),
    "col.n_mets": ("Expected metastases", "Metastasi attese"),
    "col.p_det": ("P(detectable)", "P(rilevabile)"),
    "col.burden": ("Burden (cells)", "Carico (cellule)"),
    "col.first_det": ("First detection day", "Giorno della prima rilevazione"),
    "col.p_met_diag": ("P(metastasis) at diagnosis", "P(metastasi) alla diagnosi"),
    "col.p_met_hor": ("P(metastasis) at horizon", "P(metastasi) all'orizzonte"),
    "col.mean_mets": ("Mean metastases", "Metastasi medie"),
    "t.km": ("{endpoint}: Kaplan-Meier estimates by arm", "{endpoint}: stime di Kaplan-Meier per braccio"),
    "t.organs_cohort": (
        "Share of patients with a distant metastasis in each organ, by arm",
        "Quota di pazienti con una metastasi a distanza in ciascun organo, per braccio",
    ),
    "t.causes_cohort": ("Outcome at the end of follow-up, by arm", "Esito alla fine del follow-up, per braccio"),
    "t.none": ("No table for this run.", "Nessuna tabella per questa simulazione."),
    # figures
    "f.figure": ("Summary figure of the run", "Figura riassuntiva della simulazione"),
    "f.body_map": ("Body map: where metastases form", "Mappa del corpo: dove si formano le metastasi"),
    "f.km_os": ("Kaplan-Meier curves of overall survival", "Curve di Kaplan-Meier della sopravvivenza globale"),
    "f.km_mfs": (
        "Kaplan-Meier curves of metastasis-free survival",
        "Curve di Kaplan-Meier della sopravvivenza libera da metastasi",
    ),
    "f.organs": ("Organs involved by arm", "Organi coinvolti per braccio"),
    "f.swimmer": ("Swimmer plot of sample patients", "Grafico swimmer di pazienti di esempio"),
    "f.none": ("This run folder holds no figures.", "Questa cartella non contiene figure."),
    # sources
    "s.intro": (
        "Sources of the model parts and parameters this scenario uses:",
        "Fonti delle parti del modello e dei parametri usati da questo scenario:",
    ),
    # endpoints
    "ep.os": ("Overall survival (OS)", "Sopravvivenza globale (OS)"),
    "ep.mfs": ("Metastasis-free survival (MFS)", "Sopravvivenza libera da metastasi (MFS)"),
    "ep.dm": ("Time to distant metastasis", "Tempo alla metastasi a distanza"),
}

CATALOGUE: dict[str, dict[str, str]] = {k: dict(zip(LANGUAGES, v)) for k, v in _TEXT.items()}


def t(key: str, lang: str, **values: Any) -> str:
    """The catalogue text ``key`` in ``lang`` with ``values`` filled in (already formatted)."""
    return CATALOGUE[key][lang].format(**values)


def add(entries: dict[str, tuple[str, str]]) -> None:
    """Register more catalogue entries (key -> (English, Italian)); used by the explanation."""
    for key, pair in entries.items():
        CATALOGUE[key] = dict(zip(LANGUAGES, pair))


# -- numbers -----------------------------------------------------------------------------------------
def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def missing(lang: str) -> str:
    """The mark of a value that is absent or not finite."""
    return "n/a" if lang == "en" else "n.d."


def localise(text: str, lang: str) -> str:
    """Swap the decimal point and the thousands comma for Italian."""
    if lang != "it":
        return text
    return text.translate(str.maketrans({".": ",", ",": "."}))


def fmt_number(x: Any, lang: str) -> str:
    """A count or size: whole numbers and ``1,234`` from 1000 without decimals, one decimal from 100
    (``144.6``), 3 significant digits below (``65.9``, ``0.00812``), and ``m × 10^e`` (3 significant
    digits, non-breaking spaces) from 10^6 on and below 10^-3."""
    if not _finite(x):
        return missing(lang)
    x = float(x)
    a = abs(x)
    if a == 0.0:
        return "0"
    if a >= 1e6 or a < 1e-3:
        e = int(math.floor(math.log10(a)))
        m = x / 10.0**e
        if round(abs(m), 2) >= 10.0:
            m, e = m / 10.0, e + 1
        return localise(f"{m:.2f}\u00a0\u00d7\u00a010^{e}", lang)
    if a >= 1000 or x == round(x):
        return localise(f"{x:,.0f}", lang)
    if a >= 100:
        return localise(f"{x:.1f}", lang)
    decimals = 2 - int(math.floor(math.log10(a)))
    if round(a, decimals) >= 100:  # 99.96 -> 100.0
        return localise(f"{x:.1f}", lang)
    if decimals > 0 and round(a, decimals) >= 10.0 ** (2 - decimals + 1):  # 9.996 -> 10.0, not 10.00
        decimals -= 1
    return localise(f"{x:.{decimals}f}", lang)


def fmt_ratio(x: Any, lang: str) -> str:
    """A ratio or probability with 3 significant digits (``0.145``, ``1.02``)."""
    if not _finite(x):
        return missing(lang)
    return localise(f"{float(x):.3g}", lang)


def fmt_percent(p: Any, lang: str, decimals: int = 1) -> str:
    """A probability as a percentage (``6.3%``); ``<0.1%`` for small non-zero values."""
    if not _finite(p):
        return missing(lang)
    pct = 100.0 * float(p)
    floor = 10.0**-decimals
    if 0.0 < pct < floor:
        return localise(f"<{floor:.{decimals}f}%", lang)
    if 100.0 - floor < pct < 100.0:
        return localise(f">{100.0 - floor:.{decimals}f}%", lang)
    return localise(f"{pct:.{decimals}f}%", lang)


def fmt_ci(lo: Any, hi: Any, lang: str, fmt: Any) -> str:
    """A confidence interval ``lo–hi`` with the formatter ``fmt`` (n/a when a bound is missing)."""
    if not (_finite(lo) and _finite(hi)):
        return missing(lang)
    return f"{fmt(lo, lang)}\u2013{fmt(hi, lang)}"


def fmt_day(d: Any, lang: str) -> str:
    """A day (since diagnosis) as a whole number with thousands separators."""
    if not _finite(d):
        return missing(lang)
    return localise(f"{round(float(d)):,d}", lang)


def fmt_years(d: Any, lang: str) -> str:
    """Days as years with one decimal."""
    if not _finite(d):
        return missing(lang)
    return localise(f"{float(d) / 365.25:.1f}", lang)


def fmt_p_value(p: Any, lang: str, relation: bool = False) -> str:
    """A p-value: 2 significant digits, ``<0.0001`` below; ``relation``: with ``= `` or ``< `` before."""
    if not _finite(p):
        return missing(lang)
    if p < 1e-4:
        return localise("< 0.0001" if relation else "<0.0001", lang)
    return ("= " if relation else "") + localise(f"{float(p):.2g}", lang)


# -- labels ------------------------------------------------------------------------------------------
_ORGANS = {
    "lung": ("lung", "polmone"),
    "liver": ("liver", "fegato"),
    "bone_axial": ("axial skeleton", "scheletro assiale"),
    "bone_appendicular": ("appendicular skeleton", "scheletro appendicolare"),
    "brain": ("brain", "encefalo"),
    "lymph_regional": ("regional lymph nodes", "linfonodi regionali"),
    "lymph_distant": ("distant lymph nodes", "linfonodi a distanza"),
    "adrenal": ("adrenal glands", "surreni"),
    "kidney": ("kidneys", "reni"),
    "peritoneum": ("peritoneum", "peritoneo"),
    "pleura": ("pleura", "pleura"),
    "leptomeninges": ("leptomeninges", "leptomeningi"),
    "skin_soft_tissue": ("skin and soft tissue", "cute e tessuti molli"),
    "heart": ("heart", "cuore"),
    "muscle": ("skeletal muscle", "muscolo scheletrico"),
    "gi_tract": ("gut (with spleen and pancreas)", "intestino (con milza e pancreas)"),
    "adipose": ("adipose tissue", "tessuto adiposo"),
    "other": ("other organs", "altri organi"),
    "primary": ("primary tumour", "tumore primario"),
}
_ROUTES = {
    "venous": ("venous drainage (caval veins)", "drenaggio venoso (vene cave)"),
    "arterial": ("arterial blood", "sangue arterioso"),
    "portal": ("portal vein", "vena porta"),
    "vertebral_plexus": ("vertebral venous plexus (Batson)", "plesso venoso vertebrale (Batson)"),
    "lymph_trunk": ("lymphatic trunks", "tronchi linfatici"),
    "thoracic_duct": ("thoracic duct", "dotto toracico"),
    "csf": ("cerebrospinal fluid", "liquor cerebrospinale"),
    "peritoneal_cavity": ("peritoneal cavity", "cavità peritoneale"),
    "pleural_space": ("pleural space", "cavità pleurica"),
}
_TREATMENTS = {
    "surgery": ("surgery", "chirurgia"),
    "chemotherapy": ("chemotherapy", "chemioterapia"),
    "radiotherapy": ("radiotherapy", "radioterapia"),
    "endocrine": ("endocrine therapy", "terapia endocrina"),
    "immunotherapy": ("immunotherapy", "immunoterapia"),
}
_CANCERS_IT = {
    "hcc_iwata2000": "Carcinoma epatocellulare con metastasi epatiche multiple: il paziente di Iwata, Kawasaki e "
    "Shigesada 2000",
    "breast_er_positive": "Carcinoma mammario con recettori per gli estrogeni positivi (crescita più lenta)",
    "breast_er_negative": "Carcinoma mammario con recettori per gli estrogeni negativi (crescita più rapida)",
    "lung_nsclc": "Carcinoma polmonare non a piccole cellule",
    "colorectal": "Adenocarcinoma del colon-retto",
    "pancreas": "Adenocarcinoma duttale del pancreas",
    "prostate": "Adenocarcinoma della prostata",
    "melanoma": "Melanoma cutaneo",
    "kidney": "Carcinoma a cellule renali",
    "stomach": "Adenocarcinoma gastrico",
    "ovary": "Carcinoma ovarico epiteliale",
    "medulloblastoma": "Medulloblastoma (diffusione liquorale alle leptomeningi e al midollo; metastasi "
    "extraneurali rare)",
}
_CAUSES_IT = {
    "alive": "in vita",
    "total tumour burden": "carico tumorale totale",
    "respiratory failure": "insufficienza respiratoria",
    "liver failure": "insufficienza epatica",
    "renal failure": "insufficienza renale",
    "cardiac failure": "insufficienza cardiaca",
    "failure": "insufficienza d'organo",
    "neurological death (intracranial mass effect)": "morte neurologica (effetto massa intracranico)",
    "leptomeningeal disease (hydrocephalus, raised intracranial pressure)": (
        "malattia leptomeningea (idrocefalo, ipertensione endocranica)"
    ),
}
_CAUSES_EN = {"alive": "alive"}


def _pick(table: dict[str, tuple[str, str]], name: str, lang: str) -> str:
    pair = table.get(name)
    return name.replace("_", " ") if pair is None else pair[LANGUAGES.index(lang)]


def organ_label(organ: str, lang: str) -> str:
    """An organ of the body graph in words."""
    return _pick(_ORGANS, organ, lang)


def route_label(route: str, lang: str) -> str:
    """An entry route (a pool or an organ of the body graph) in words."""
    return _pick(_ROUTES, route, lang) if route in _ROUTES else organ_label(route, lang)


def treatment_label(kind: str, lang: str) -> str:
    """A treatment kind in words."""
    return _pick(_TREATMENTS, kind, lang)


def cancer_label(name: str, description: str, lang: str) -> str:
    """A preset's description (Italian where the catalogue has it), with its name."""
    text = _CANCERS_IT.get(name, description) if lang == "it" else description
    return f"{text} ({name})"


def cause_label(label: str, lang: str) -> str:
    """A cause-of-death label of the engines (``"liver failure (liver)"``) in words."""
    table = _CAUSES_IT if lang == "it" else _CAUSES_EN
    if label in table:
        return table[label]
    m = re.fullmatch(r"(.*) \((\w+)\)", label)
    if m is None:
        return label
    return f"{table.get(m.group(1), m.group(1))} ({organ_label(m.group(2), lang)})"


def endpoint_label(endpoint: str, lang: str) -> str:
    """A survival endpoint (``os``, ``mfs``, ``dm``) in words."""
    key = f"ep.{endpoint}"
    return t(key, lang) if key in CATALOGUE else endpoint
