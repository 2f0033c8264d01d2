"""Natural history of node-negative breast cancer after surgery alone: the TRANSBIG series.

The data set is GSE7390 as shipped by scikit-survival (``sksurv.datasets.load_breast_cancer``):
198 node-negative patients aged under 61 who received no adjuvant systemic therapy, the
independent validation series of Desmedt C, Piette F, Loi S, et al., "Strong time dependence of
the 76-gene prognostic signature for node-negative breast cancer patients in the TRANSBIG
multicenter independent validation series", Clin Cancer Res 2007;13(11):3207-3214.

Coding, as read from the loader's docstring, the ARFF header and the values themselves:

- ``t.tdm``: time to distant metastasis or censoring, in **days** (125 to 9108);
- ``e.tdm``: True for a distant metastasis (51 of 198), False for censored;
- ``er``: categorical, ``positive`` (134) or ``negative`` (64);
- ``size``: tumour diameter in **cm** (0.6 to 5.0), converted here to mm.

:func:`transbig_summary` computes Kaplan-Meier distant-metastasis-free survival (lifelines,
Greenwood variance with the log(-log) 95% interval, lifelines' default) at 2, 5, 10 and 15 years
overall and by ER status, the annual hazard of distant metastasis by interval (events divided by
person-years at risk in the interval, time in (low, high]), the median tumour size and the reverse
Kaplan-Meier median follow-up per group. :func:`write_transbig_csv` writes the long table to
``data/natural_history/transbig_dmfs.csv``; ``python -m metacascade.validation.transbig``
regenerates it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "DAYS_PER_YEAR",
    "HAZARD_INTERVALS",
    "TIMES_YEARS",
    "TransbigSummary",
    "CSV_PATH",
    "load_transbig",
    "transbig_summary",
    "write_transbig_csv",
    "read_transbig_csv",
]

DAYS_PER_YEAR = 365.25
TIMES_YEARS: tuple[float, ...] = (2.0, 5.0, 10.0, 15.0)
HAZARD_INTERVALS: tuple[tuple[float, float], ...] = ((0.0, 2.0), (2.0, 5.0), (5.0, 10.0), (10.0, 15.0))
GROUPS: tuple[str, ...] = ("all", "ER+", "ER-")
CSV_PATH = Path(__file__).resolve().parent.parent / "data" / "natural_history" / "transbig_dmfs.csv"
CSV_COLUMNS = [
    "quantity",
    "group",
    "time_low_years",
    "time_high_years",
    "value",
    "ci_low",
    "ci_high",
    "n",
    "events",
    "person_years",
]
_DECIMALS = 6


def _sksurv():
    try:
        import sksurv
        from sksurv.datasets import load_breast_cancer
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            "transbig_summary needs scikit-survival, which ships the GSE7390 (TRANSBIG) data set: "
            "pip install 'scikit-survival>=0.23,<1' (or pip install -e '.[validation]')"
        ) from exc
    return sksurv.__version__, load_breast_cancer


def load_transbig() -> tuple[pd.DataFrame, str]:
    """The cohort as a table (time_years, event, er, size_mm, age, grade) and the sksurv version."""
    version, load_breast_cancer = _sksurv()
    x, y = load_breast_cancer()
    er = x["er"].astype(str)
    unexpected = set(er) - {"positive", "negative"}
    if unexpected:
        raise ValueError(f"unexpected ER codes in the sksurv breast_cancer data: {sorted(unexpected)}")
    df = pd.DataFrame(
        {
            "time_years": np.asarray(y["t.tdm"], dtype=float) / DAYS_PER_YEAR,
            "event": np.asarray(y["e.tdm"], dtype=bool),
            "er": np.where(er == "positive", "ER+", "ER-"),
            "size_mm": np.asarray(x["size"], dtype=float) * 10.0,
            "age": np.asarray(x["age"], dtype=float),
            "grade": x["grade"].astype(str).to_numpy(),
        }
    )
    return df, version


@dataclass(frozen=True)
class TransbigSummary:
    """Result of :func:`transbig_summary`; every table has one row per group (and time or interval).

    ``dmfs``: group, time_years, dmfs, ci_low, ci_high, n_at_risk (time >= t), events_by_t.
    ``hazards``: group, time_low_years, time_high_years, events, person_years, hazard_per_year.
    ``cohort``: group, n, events, median_size_mm, median_follow_up_years (reverse Kaplan-Meier).
    """

    dmfs: pd.DataFrame
    hazards: pd.DataFrame
    cohort: pd.DataFrame
    sksurv_version: str
    lifelines_version: str
    time_unit: str = "years (dataset t.tdm in days / 365.25)"

    def to_long(self) -> pd.DataFrame:
        """One long table (the CSV's rows), values rounded to 6 decimals."""
        rows: list[dict] = []
        for r in self.cohort.itertuples(index=False):
            rows.append(dict(quantity="n_patients", group=r.group, value=r.n, n=r.n, events=r.events))
            rows.append(dict(quantity="n_distant_metastases", group=r.group, value=r.events, n=r.n, events=r.events))
            rows.append(dict(quantity="median_tumour_size_mm", group=r.group, value=r.median_size_mm, n=r.n))
            rows.append(
                dict(quantity="median_follow_up_years_reverse_km", group=r.group, value=r.median_follow_up_years, n=r.n)
            )
        for r in self.dmfs.itertuples(index=False):
            rows.append(
                dict(
                    quantity="dmfs_km",
                    group=r.group,
                    time_low_years=0.0,
                    time_high_years=r.time_years,
                    value=r.dmfs,
                    ci_low=r.ci_low,
                    ci_high=r.ci_high,
                    n=r.n_at_risk,
                    events=r.events_by_t,
                )
            )
        for r in self.hazards.itertuples(index=False):
            rows.append(
                dict(
                    quantity="annual_hazard_distant_metastasis",
                    group=r.group,
                    time_low_years=r.time_low_years,
                    time_high_years=r.time_high_years,
                    value=r.hazard_per_year,
                    events=r.events,
                    person_years=r.person_years,
                )
            )
        out = pd.DataFrame(rows, columns=CSV_COLUMNS)
        num = [c for c in CSV_COLUMNS if c not in ("quantity", "group")]
        out[num] = out[num].astype(float).round(_DECIMALS)
        return out


def _km_at(time_: np.ndarray, event: np.ndarray, t: float) -> tuple[float, float, float]:
    from lifelines import KaplanMeierFitter

    kmf = KaplanMeierFitter().fit(time_, event)
    s = float(kmf.survival_function_at_times(t).iloc[0])
    ci = kmf.confidence_interval_survival_function_
    row = ci.loc[ci.index[ci.index <= t].max()]
    return s, float(row.iloc[0]), float(row.iloc[1])


def _reverse_km_median(time_: np.ndarray, event: np.ndarray) -> float:
    from lifelines import KaplanMeierFitter

    return float(KaplanMeierFitter().fit(time_, ~event).median_survival_time_)


def transbig_summary(data: pd.DataFrame | None = None) -> TransbigSummary:
    """Distant-metastasis-free survival, interval hazards and cohort facts, overall and by ER status.

    ``data`` (columns time_years, event, er, size_mm) replaces the sksurv data set (for tests on
    made-up data); by default the data set is loaded from scikit-survival at call time.
    """
    import lifelines

    if data is None:
        data, sk_version = load_transbig()
    else:
        sk_version = "n/a (data given)"
    groups = {"all": data, "ER+": data[data["er"] == "ER+"], "ER-": data[data["er"] == "ER-"]}
    dmfs_rows, hz_rows, cohort_rows = [], [], []
    for name in GROUPS:
        g = groups[name]
        t = g["time_years"].to_numpy(dtype=float)
        e = g["event"].to_numpy(dtype=bool)
        cohort_rows.append(
            dict(
                group=name,
                n=len(g),
                events=int(e.sum()),
                median_size_mm=float(np.median(g["size_mm"])),
                median_follow_up_years=_reverse_km_median(t, e),
            )
        )
        for tt in TIMES_YEARS:
            s, lo, hi = _km_at(t, e, tt)
            dmfs_rows.append(
                dict(
                    group=name,
                    time_years=tt,
                    dmfs=s,
                    ci_low=lo,
                    ci_high=hi,
                    n_at_risk=int((t >= tt).sum()),
                    events_by_t=int((e & (t <= tt)).sum()),
                )
            )
        for a, b in HAZARD_INTERVALS:
            py = float(np.clip(np.minimum(t, b) - a, 0.0, None).sum())
            ev = int((e & (t > a) & (t <= b)).sum())
            hz_rows.append(
                dict(
                    group=name,
                    time_low_years=a,
                    time_high_years=b,
                    events=ev,
                    person_years=py,
                    hazard_per_year=ev / py if py > 0 else float("nan"),
                )
            )
    return TransbigSummary(
        dmfs=pd.DataFrame(dmfs_rows),
        hazards=pd.DataFrame(hz_rows),
        cohort=pd.DataFrame(cohort_rows),
        sksurv_version=sk_version,
        lifelines_version=lifelines.__version__,
    )


def _header(summary: TransbigSummary) -> str:
    lines = [
        "TRANSBIG / GSE7390: 198 node-negative breast cancer patients, no adjuvant systemic therapy",
        "Paper: Desmedt C, Piette F, Loi S, et al. Strong time dependence of the 76-gene prognostic signature for",
        "  node-negative breast cancer patients in the TRANSBIG multicenter independent validation series.",
        "  Clin Cancer Res 2007;13(11):3207-3214. Data: NCBI GEO GSE7390, as shipped by scikit-survival",
        f"  (sksurv.datasets.load_breast_cancer), scikit-survival {summary.sksurv_version},"
        f" lifelines {summary.lifelines_version}.",
        "Made by: python -m metacascade.validation.transbig (src/metacascade/validation/transbig.py,",
        "  transbig_summary().to_long()); tests/test_transbig.py recomputes it and checks it equals this file.",
        "How read: computed from the individual patient data by code (not transcribed from the paper).",
        "Endpoint: time to distant metastasis (t.tdm, days -> years /365.25; e.tdm). ER: dataset column er",
        "  (positive -> ER+, negative -> ER-). Tumour size: dataset column size in cm, x10 -> mm.",
        "Rows: dmfs_km = Kaplan-Meier distant-metastasis-free survival at time_high_years, 95% CI log(-log)",
        "  Greenwood (lifelines default), n = number at risk (time >= t), events = metastases by t;",
        "  annual_hazard_distant_metastasis = events / person-years in (time_low_years, time_high_years];",
        "  median_follow_up_years_reverse_km = reverse Kaplan-Meier median follow-up.",
    ]
    return "".join(f"# {line}\n" for line in lines)


def write_transbig_csv(path: Path | str | None = None, summary: TransbigSummary | None = None) -> Path:
    """Write the long table with its provenance header; returns the path."""
    summary = summary or transbig_summary()
    path = Path(path) if path is not None else CSV_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(_header(summary))
        summary.to_long().to_csv(fh, index=False, lineterminator="\n")
    return path


def read_transbig_csv(path: Path | str | None = None) -> pd.DataFrame:
    """The shipped CSV (comment lines skipped)."""
    return pd.read_csv(path if path is not None else CSV_PATH, comment="#")


def _format(summary: TransbigSummary) -> str:
    d = summary.dmfs.copy()
    d["dmfs (95% CI)"] = [f"{r.dmfs:.3f} ({r.ci_low:.3f}-{r.ci_high:.3f})" for r in d.itertuples()]
    h = summary.hazards.copy()
    h["interval"] = [f"{a:g}-{b:g} y" for a, b in zip(h.time_low_years, h.time_high_years)]
    return "\n\n".join(
        [
            summary.cohort.to_string(index=False),
            d[["group", "time_years", "dmfs (95% CI)", "n_at_risk", "events_by_t"]].to_string(index=False),
            h[["group", "interval", "events", "person_years", "hazard_per_year"]].to_string(index=False),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    summary = transbig_summary()
    path = write_transbig_csv(argv[0] if argv else None, summary)
    print(_format(summary))
    print(f"\nwritten: {path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
