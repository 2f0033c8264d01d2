"""What the web app shows of a run folder: per-organ series read from its tables, and the
Plotly figures (body map frame, burden over time with treatment bands, size distribution,
Kaplan-Meier curves). Pure functions of a :class:`~metacascade.web.runs.RunStore` folder."""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from metacascade.web.i18n import label, site_label, t
from metacascade.web.runs import RunStore

__all__ = [
    "RunView",
    "MISSING",
    "fmt",
    "load_view",
    "body_frame",
    "burden_figure",
    "sizes_figure",
    "km_figure",
    "treatment_bands",
]


#: The lethal burden of a run folder whose summary does not say (the presets' usual value).
LETHAL_DEFAULT = 1e12


@dataclass(frozen=True)
class RunView:
    """A single run's series on its output times (days since diagnosis)."""

    name: str
    kind: str  # deterministic or stochastic
    times: np.ndarray
    organs: tuple[str, ...]
    count: np.ndarray  # (time, organ) expected number of established colonies
    burden: np.ndarray  # (time, organ) expected metastatic burden (cells)
    primary: np.ndarray | None  # (time,) primary size (cells), deterministic engine only
    first_detectable: dict[str, float | None]  # organ -> day (median over patients, or P >= 1/2)
    sizes: pd.DataFrame | None  # time_days, organ, size_cells, n_above
    bands: tuple[tuple[str, float, float], ...]  # (treatment kind, first day, last day)
    cancer: str
    lethal_cells: float = LETHAL_DEFAULT  # the scenario's lethal total burden: the top of the body map's colours


def treatment_bands(scenario_text: str) -> tuple[tuple[str, float, float], ...]:
    """(kind, start day, end day) of every treatment of a scenario's timeline."""
    try:
        entries = tomllib.loads(scenario_text).get("treatment", [])
    except ValueError:
        return ()
    bands = []
    for e in entries:
        day = float(e.get("day", 0.0))
        kind = str(e.get("kind"))
        if kind == "chemotherapy":
            end = day + int(e.get("cycles", 6)) * float(e.get("interval_days", 21.0))
        elif kind == "radiotherapy":
            end = day + 7.0 * int(e.get("fractions", 30)) / int(e.get("fractions_per_week", 5))
        elif kind in ("endocrine", "immunotherapy"):
            end = day + float(e.get("duration_days", 1826.0 if kind == "endocrine" else 365.0))
        else:
            end = day
        bands.append((kind, day, end))
    return tuple(bands)


def _pivot(df: pd.DataFrame, column: str, times: np.ndarray, organs: tuple[str, ...]) -> np.ndarray:
    table = df.pivot_table(index="time_days", columns="organ", values=column, aggfunc="first")
    return table.reindex(index=times, columns=list(organs)).to_numpy(dtype=float)


@lru_cache(maxsize=16)
def _cached(root: str, name: str, stamp: float) -> RunView:
    store = RunStore(root)
    kind = store.kind(name)
    organs_df = store.table(name, "organs")
    if kind not in ("deterministic", "stochastic") or organs_df is None:
        raise ValueError(f"run {name!r}: not a single-scenario run folder")
    summary = store.summary(name)
    times = np.sort(organs_df["time_days"].unique())
    organs = tuple(dict.fromkeys(organs_df["organ"].astype(str)))
    sizes = store.table(name, "size_distribution")
    if kind == "deterministic":
        count = _pivot(organs_df, "n_metastases", times, organs)
        burden = _pivot(organs_df, "burden_cells", times, organs)
        series = store.table(name, "timeseries")
        primary = None if series is None else np.interp(times, series["time_days"], series["primary_cells"])
        first = summary.get("days_since_diagnosis_detectable_metastasis_more_likely_than_not", {})
        first_detectable = {o: first.get(o) for o in organs}
    else:
        count = _pivot(organs_df, "n_established_mean", times, organs)
        burden = _pivot(organs_df, "burden_mean", times, organs)
        primary = None
        per = summary.get("organs", {})
        first_detectable = {
            o: per.get(o, {}).get("days_since_diagnosis_first_detectable", {}).get("q50") for o in organs
        }
        if sizes is not None:
            sizes = sizes.rename(columns={"n_above_mean": "n_above"})
    return RunView(
        name=name,
        kind=kind,
        times=times,
        organs=organs,
        count=count,
        burden=burden,
        primary=primary,
        first_detectable=first_detectable,
        sizes=sizes,
        bands=treatment_bands(store.scenario_text(name)),
        cancer=str(summary.get("cancer", "")),
        lethal_cells=_lethal(summary),
    )


def _lethal(summary: dict[str, Any]) -> float:
    value = summary.get("lethal_burden_cells")
    return float(value) if isinstance(value, int | float) and math.isfinite(value) and value > 1 else LETHAL_DEFAULT


def load_view(store: RunStore, name: str) -> RunView:
    """The run's view (cached while its summary file is unchanged)."""
    stamp = (store.path(name) / "summary.json").stat().st_mtime
    return _cached(str(store.root), name, stamp)


#: What the views show for a value that is missing, NaN or infinite.
MISSING = "–"


def fmt(x: Any, spec: str = ".3g") -> str:
    """``x`` formatted with ``spec``, or :data:`MISSING` when it is None, NaN, infinite or not a
    number (a summary value can be any of these: a hazard ratio with no interval, an unreached
    median, a quantity the run did not reach)."""
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
        return MISSING
    if not math.isfinite(float(x)):
        return MISSING
    return format(x, spec)


def body_frame(view: RunView, k: int, lang: str):  # -> go.Figure
    """The body map at output time ``k``: organs shaded by burden, hover with colonies, burden
    and first detectable day. The colour scale is fixed, the same in every run and every frame:
    log10 cells from 1 cell (below: white, none) to the scenario's lethal burden (1e12 cells for
    most presets), so a colour always means the same number of cells. A star marks the primary's
    site (bodymap.primary_site of the run's cancer, as the static body map)."""
    from metacascade.bodymap import primary_site
    from metacascade.web.body import body_map_figure

    k = int(min(max(k, 0), view.times.size - 1))
    vmin, vmax = 1.0, view.lethal_cells
    burden = np.nan_to_num(view.burden, nan=0.0)
    values = {o: float(burden[k, j]) for j, o in enumerate(view.organs)}
    hover = {}
    for j, o in enumerate(view.organs):
        first = view.first_detectable.get(o)
        hover[o] = (
            f"<b>{label(lang, o)}</b><br>{t(lang, 'colonies')}: {fmt(view.count[k, j])}"
            f"<br>{t(lang, 'burden')}: {fmt(view.burden[k, j])} {t(lang, 'cells')}"
            f"<br>{t(lang, 'first_detection')}: {fmt(first) if first is not None else t(lang, 'none_yet')}"
        )
    title = f"{t(lang, 'body_map')} · {t(lang, 'time').split('(')[0].strip()} {view.times[k]:.0f}"
    site = primary_site(view.cancer)
    fig = body_map_figure(
        values,
        hover,
        title=title,
        vmin=vmin,
        vmax=vmax,
        colorbar_label=f"{t(lang, 'cells')} (1 … {t(lang, 'lethal')} {vmax:.0e})".replace("e+", "e"),
        primary=site,
        primary_label=site and f"{t(lang, 'primary')}: {site_label(lang, site)}",
    )
    fig.update_layout(meta={"day": float(view.times[k]), "values": values})
    return fig


#: Tick labels of the log axes: powers of ten (10⁻⁴, 10¹⁰), not Plotly's SI prefixes ("100µ" colonies,
#: "10B" cells), which are no unit of a count and read the same in no language.
SCIENTIFIC = {"exponentformat": "power", "showexponent": "all"}

_BAND_COLOURS = {
    "surgery": "#444444",
    "chemotherapy": "#1f77b4",
    "radiotherapy": "#ff7f0e",
    "endocrine": "#2ca02c",
    "immunotherapy": "#9467bd",
}


def burden_figure(view: RunView, lang: str, day: float | None = None):  # -> go.Figure
    """Primary (deterministic engine) and total metastatic burden over time, log scale, with the
    treatment timeline as bands (a line for surgery)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    if view.primary is not None:
        fig.add_trace(go.Scatter(x=view.times, y=view.primary, name=t(lang, "primary"), mode="lines"))
    total = np.nansum(view.burden, axis=1)
    fig.add_trace(
        go.Scatter(x=view.times, y=np.where(total > 0, total, np.nan), name=t(lang, "metastases"), mode="lines")
    )
    for kind, start, end in view.bands:
        colour = _BAND_COLOURS.get(kind, "#888888")
        if end > start:
            fig.add_vrect(
                x0=start,
                x1=end,
                fillcolor=colour,
                opacity=0.12,
                line_width=0,
                annotation_text=label(lang, kind),
                annotation_position="top left",
            )
        else:
            fig.add_vline(x=start, line_color=colour, line_dash="dash", annotation_text=label(lang, kind))
    if day is not None:
        fig.add_vline(x=day, line_color="#d62728", line_width=1)
    top = np.nanmax([np.nanmax(total), np.nanmax(view.primary) if view.primary is not None else 1.0, 10.0])
    fig.update_yaxes(range=[0.0, math.log10(top) + 0.3], **SCIENTIFIC)  # from one cell up
    fig.update_layout(
        title=t(lang, "burden_plot"),
        xaxis_title=t(lang, "time"),
        yaxis_title=t(lang, "cells"),
        yaxis_type="log",
        height=360,
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
        legend={"orientation": "h", "y": -0.25},
    )
    return fig


def sizes_figure(view: RunView, k: int, lang: str):  # -> go.Figure
    """Expected number of colonies above each size, per organ, at output time ``k``."""
    import plotly.graph_objects as go

    fig = go.Figure()
    top = 1.0
    if view.sizes is not None and view.sizes.size:
        day = view.times[int(min(max(k, 0), view.times.size - 1))]
        at = view.sizes[np.isclose(view.sizes["time_days"], day)]
        for organ, rows in at.groupby("organ", sort=False, observed=True):
            if rows["n_above"].max() <= 0:
                continue
            top = max(top, float(rows["n_above"].max()))
            fig.add_trace(
                go.Scatter(x=rows["size_cells"], y=rows["n_above"], name=label(lang, str(organ)), mode="lines+markers")
            )
    fig.update_yaxes(range=[-4, math.log10(top) + 0.3], **SCIENTIFIC)  # from 1e-4 colonies (expected numbers) up
    fig.update_xaxes(**SCIENTIFIC)
    fig.update_layout(
        title=t(lang, "sizes_plot"),
        xaxis_type="log",
        yaxis_type="log",
        height=360,
        xaxis_title=t(lang, "cells"),
        yaxis_title=f"{t(lang, 'colonies')} ≥ x",
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
    )
    return fig


def km_figure(patients: pd.DataFrame, lang: str, endpoint: str = "os"):  # -> go.Figure
    """Kaplan-Meier curves per arm (lifelines) with 95% bands, in years since diagnosis."""
    import plotly.graph_objects as go
    from lifelines import KaplanMeierFitter

    fig = go.Figure()
    palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
    for i, (arm, rows) in enumerate(patients.groupby("arm", sort=False, observed=True)):
        km = KaplanMeierFitter().fit(rows[f"{endpoint}_days"] / 365.25, rows[f"{endpoint}_event"].astype(bool))
        sf, ci = km.survival_function_, km.confidence_interval_
        colour = palette[i % len(palette)]
        x = sf.index.to_numpy()
        fig.add_trace(
            go.Scatter(
                x=np.r_[x, x[::-1]],
                y=np.r_[ci.iloc[:, 1], ci.iloc[::-1, 0]],
                fill="toself",
                line={"width": 0},
                fillcolor=colour,
                opacity=0.15,
                hoverinfo="skip",
                showlegend=False,
                line_shape="hv",
            )
        )
        fig.add_trace(go.Scatter(x=x, y=sf.iloc[:, 0], name=str(arm), line={"color": colour}, line_shape="hv"))
    fig.update_layout(
        title=t(lang, "km_title" if endpoint == "os" else "km_mfs"),
        xaxis_title=t(lang, "years"),
        yaxis_title=t(lang, "survival"),
        yaxis_range=[0, 1.02],
        height=380,
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
    )
    return fig


def cohort_table(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows per arm of a cohort's summary: patients, deaths, median OS, HR vs the first arm."""
    os_ = summary.get("endpoints", {}).get("os", {})
    rows = []
    for arm, s in os_.get("arms", {}).items():
        comp = os_.get("comparisons", {}).get(arm, {})
        hr, rm = comp.get("hazard_ratio", {}), comp.get("rmst_difference", {})
        rows.append(
            {
                "arm": arm,
                "n": s.get("n"),
                "events": s.get("events"),
                "median_days": s.get("median_days"),
                "hr": hr.get("hr"),
                "hr_ci": [hr.get("ci_lower"), hr.get("ci_upper")] if hr else None,
                "p_value": hr.get("p_value"),
                "proportional": hr.get("proportional"),
                "ph_p_value": hr.get("ph_p_value"),
                "rmst_diff": rm.get("difference_days"),
                "rmst_ci": [rm.get("ci_lower"), rm.get("ci_upper")] if rm else None,
            }
        )
    return rows
