"""Figures of a virtual cohort: survival curves, metastatic sites, patient swimmer lanes.

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot's global state
(no GUI backend is needed, safe in workers and web servers); :func:`save_figure` writes it as
PNG and SVG. Inputs are the cohort tables described in :mod:`metacascade.workflows.survival`
(``patients``) and the cohort's ``events`` table (arm, patient, day, event, organ, end_day).
Times are plotted in years (365.25 days) since diagnosis.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from metacascade.errors import ParameterError
from metacascade.workflows.survival import (
    DAYS_PER_YEAR,
    endpoint_columns,
    hazard_ratio,
    kaplan_meier,
    median_survival,
    rmst_difference,
)

__all__ = ["ENDPOINT_LABELS", "TREATMENT_EVENTS", "km_figure", "organ_figure", "save_figure", "swimmer_figure"]

ENDPOINT_LABELS = {
    "os": "Overall survival",
    "mfs": "Metastasis-free survival",
    "dm": "Freedom from detectable distant metastasis",
}
TREATMENT_EVENTS = ("surgery", "chemotherapy", "radiotherapy", "endocrine", "immunotherapy")
_TREATMENT_COLOURS = {
    "surgery": "#4d4d4d",
    "chemotherapy": "#d62728",
    "radiotherapy": "#ff7f0e",
    "endocrine": "#9467bd",
    "immunotherapy": "#2ca02c",
}
_ORGAN_PREFIX = "met_days__"


def _arm_colours(arms: Sequence[str]) -> dict[str, tuple]:
    cmap = colormaps["tab10"]
    return {arm: cmap(i % 10) for i, arm in enumerate(arms)}


def _check_patients(patients: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    if not isinstance(patients, pd.DataFrame):
        raise ParameterError(f"patients must be a pandas DataFrame, got {type(patients).__name__}")
    if len(patients) == 0:
        raise ParameterError("patients is an empty table (0 rows); simulate at least one patient")
    missing = [c for c in columns if c not in patients.columns]
    if missing:
        raise ParameterError(
            f"patients lacks column(s) {missing} needed for the {what}; columns present: {list(patients.columns)}"
        )


def _select_arms(patients: pd.DataFrame, arms: Sequence[str] | None) -> list[str]:
    present = [str(a) for a in pd.unique(patients["arm"])]
    if arms is None:
        return present
    arms = [arms] if isinstance(arms, str) else [str(a) for a in arms]
    unknown = [a for a in arms if a not in present]
    if unknown or not arms:
        raise ParameterError(f"arms={arms!r}: {unknown or 'empty'} not in patients; arms present: {present}")
    return arms


# --------------------------------------------------------------------------- Kaplan-Meier


def _format_days_as_years(days: float) -> str:
    return f"{days / DAYS_PER_YEAR:.1f} y" if math.isfinite(days) else "not reached"


def km_figure(
    patients: pd.DataFrame,
    endpoint: str = "os",
    title: str | None = None,
    *,
    arms: Sequence[str] | None = None,
    alpha: float = 0.05,
    show_censors: bool = True,
    at_risk_table: bool = True,
) -> Figure:
    """Kaplan-Meier curves of each arm with confidence bands, medians and numbers at risk.

    Parameters
    ----------
    patients : DataFrame
        Cohort patient table (``arm``, ``patient`` and the endpoint's columns).
    endpoint : str
        ``"os"``, ``"mfs"`` or ``"dm"``.
    title : str, optional
        Figure title (default: the endpoint's name).
    arms : sequence of str, optional
        Arms to draw, in this order; the first is the reference of the hazard ratios shown in
        the legend (default: all arms in order of appearance).
    alpha : float
        1 - confidence level of the shaded pointwise bands and of the hazard-ratio interval.
    show_censors : bool
        Draw a tick where patients are censored.
    at_risk_table : bool
        Add the numbers at risk at the x ticks below the plot.
    """
    km = kaplan_meier(patients, endpoint, alpha, arms)
    arms = list(dict.fromkeys(km["arm"]))
    medians = median_survival(patients, endpoint, alpha, arms).set_index("arm")
    colours = _arm_colours(arms)
    duration_col, _ = endpoint_columns(endpoint)

    fig = Figure(figsize=(7.5, 5.2 + (0.28 * len(arms) + 0.4 if at_risk_table else 0)), layout="constrained")
    if at_risk_table:
        ax, ax_risk = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [4.6, 0.28 * len(arms) + 0.4]})
    else:
        ax, ax_risk = fig.subplots(1, 1), None
    x_max = float(km["time_days"].max()) / DAYS_PER_YEAR
    for k, arm in enumerate(arms):
        curve = km[km["arm"] == arm]
        t = curve["time_days"].to_numpy() / DAYS_PER_YEAR
        med = medians.loc[arm]
        label = (
            f"{arm}: n={int(med['n'])}, {int(med['events'])} events, "
            f"median {_format_days_as_years(float(med['median_days']))}"
        )
        if k > 0 and "patient" in patients.columns:
            hr = hazard_ratio(patients, endpoint, arm, arms[0], alpha)
            if hr.get("proportional") is False:  # crossing curves: lead with the RMST difference
                tau = float(patients[duration_col].max())
                rm = rmst_difference(patients, endpoint, tau, arm, arms[0], alpha)
                p = hr["ph_p_value"]
                label += (
                    f"\nRMST vs {arms[0]} {rm['difference_days']:+.0f} d "
                    f"({rm['ci_lower']:+.0f} to {rm['ci_upper']:+.0f}) to day {tau:.0f}"
                    f"\nHR {hr['hr']:.2f}: hazards not proportional "
                    f"(p {'< 0.0001' if p < 1e-4 else f'{p:.2g}'})"
                )
            elif math.isfinite(hr["hr"]) and math.isfinite(hr["ci_lower"]):
                label += f"\nHR vs {arms[0]} {hr['hr']:.2f} ({hr['ci_lower']:.2f}-{hr['ci_upper']:.2f})"
            else:
                label += f"\nHR vs {arms[0]} not estimable"
        colour = colours[arm]
        ax.step(t, curve["survival"], where="post", color=colour, lw=1.8, label=label)
        ax.fill_between(t, curve["ci_lower"], curve["ci_upper"], step="post", color=colour, alpha=0.18, lw=0)
        if show_censors:
            cens = curve[curve["censored"] > 0]
            ax.plot(
                cens["time_days"] / DAYS_PER_YEAR, cens["survival"], ls="none", marker="|", ms=7, mew=1.0, color=colour
            )
        median_days = float(med["median_days"])
        if math.isfinite(median_days):
            ax.plot([median_days / DAYS_PER_YEAR] * 2, [0, 0.5], ls=":", lw=1, color=colour)
    finite = [m for m in medians["median_days"] if math.isfinite(m)]
    if finite:
        ax.plot([0, max(finite) / DAYS_PER_YEAR], [0.5, 0.5], ls=":", lw=1, color="grey")
    ax.set_xlim(0, x_max if x_max > 0 else 1.0)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel(f"{ENDPOINT_LABELS[endpoint].lower()} probability")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best", framealpha=0.85)
    ax.set_title(title if title is not None else f"{ENDPOINT_LABELS[endpoint]} ({duration_col})")
    if ax_risk is None:
        ax.set_xlabel("years since diagnosis")
        return fig

    ticks = [x for x in ax.get_xticks() if 0 <= x <= ax.get_xlim()[1] + 1e-9]
    data = patients[patients["arm"].astype(str).isin(arms)]
    for k, arm in enumerate(arms):
        durations = data.loc[data["arm"].astype(str) == arm, duration_col].to_numpy(dtype=float)
        y = len(arms) - 1 - k
        for x in ticks:
            n_at_risk = int(np.sum(durations >= x * DAYS_PER_YEAR))
            ax_risk.text(x, y, str(n_at_risk), ha="center", va="center", fontsize=8, color=colours[arm])
    ax_risk.set_yticks(range(len(arms)), labels=list(reversed(arms)), fontsize=8)
    ax_risk.set_ylim(-0.6, len(arms) - 0.4)
    ax_risk.tick_params(axis="y", length=0, pad=14)
    for side in ("top", "right", "left"):
        ax_risk.spines[side].set_visible(False)
    ax_risk.set_title("number at risk", fontsize=8, loc="left")
    ax_risk.set_xlabel("years since diagnosis")
    return fig


# --------------------------------------------------------------------------- organs


def _organ_columns(patients: pd.DataFrame, organs: Sequence[str] | None) -> list[str]:
    present = [c[len(_ORGAN_PREFIX) :] for c in patients.columns if c.startswith(_ORGAN_PREFIX)]
    if organs is None:
        if not present:
            raise ParameterError(
                f"patients has no '{_ORGAN_PREFIX}<organ>' columns; columns present: {list(patients.columns)}"
            )
        return present
    organs = [organs] if isinstance(organs, str) else [str(o) for o in organs]
    unknown = [o for o in organs if o not in present]
    if unknown or not organs:
        raise ParameterError(
            f"organs={organs!r}: {unknown or 'empty'} have no "
            f"'{_ORGAN_PREFIX}<organ>' column; organs present: {present}"
        )
    return organs


def organ_figure(
    patients: pd.DataFrame, organs: Sequence[str] | None = None, *, arms: Sequence[str] | None = None
) -> Figure:
    """Percent of patients per arm with a detectable metastasis in each organ during follow-up.

    A patient counts for an organ when ``met_days__<organ>`` is not NaN.

    Parameters
    ----------
    organs : sequence of str, optional
        Organs to show, in this order (default: every organ column, most frequent first).
    arms : sequence of str, optional
        Arms to show, in this order (default: all in order of appearance).
    """
    _check_patients(patients, ["arm"], "organ figure")
    most_frequent_first = organs is None
    organs = _organ_columns(patients, organs)
    arms = _select_arms(patients, arms)
    arm_of = patients["arm"].astype(str)
    percent = pd.DataFrame(
        {arm: [100.0 * patients.loc[arm_of == arm, _ORGAN_PREFIX + o].notna().mean() for o in organs] for arm in arms},
        index=organs,
    )
    if most_frequent_first:
        percent = percent.loc[percent.mean(axis=1).sort_values(ascending=False, kind="stable").index]
    colours = _arm_colours(arms)
    width = 0.8 / len(arms)
    x = np.arange(len(percent))
    fig = Figure(figsize=(max(6.0, 0.55 * len(percent) * max(1, len(arms)) ** 0.5 + 2.5), 4.6), layout="constrained")
    ax = fig.subplots()
    for k, arm in enumerate(arms):
        n = int((arm_of == arm).sum())
        bars = ax.bar(x - 0.4 + width * (k + 0.5), percent[arm], width, color=colours[arm], label=f"{arm} (n={n})")
        if len(percent) * len(arms) <= 24:
            ax.bar_label(bars, fmt="%.0f", fontsize=7, padding=1)
    ax.set_xticks(x, labels=[o.replace("_", " ") for o in percent.index], rotation=35, ha="right")
    top = float(np.nanmax(percent.to_numpy())) if percent.size else 0.0
    ax.set_ylim(0, max(5.0, min(100.0, top * 1.15 + 1)))
    ax.set_ylabel("patients with a detectable metastasis (%)")
    ax.set_title("Metastatic sites detected during follow-up")
    if top == 0:
        ax.text(0.5, 0.6, "no metastasis detected", transform=ax.transAxes, ha="center", color="grey")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    return fig


# --------------------------------------------------------------------------- swimmer


def _check_events(events: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(events, pd.DataFrame):
        raise ParameterError(f"events must be a pandas DataFrame or None, got {type(events).__name__}")
    missing = [c for c in ("arm", "patient", "day", "event") if c not in events.columns]
    if missing:
        raise ParameterError(f"events lacks column(s) {missing}; columns present: {list(events.columns)}")
    events = events.copy()
    for column in ("organ", "end_day"):
        if column not in events.columns:
            events[column] = np.nan
    events["arm"] = events["arm"].astype(str)
    return events


def _events_from_patients(patients: pd.DataFrame) -> pd.DataFrame:
    """Metastasis detections read from the ``met_days__<organ>`` columns (no treatments)."""
    rows = []
    for column in (c for c in patients.columns if c.startswith(_ORGAN_PREFIX)):
        found = patients[patients[column].notna()]
        rows.append(
            pd.DataFrame(
                {
                    "arm": found["arm"].astype(str),
                    "patient": found["patient"],
                    "day": found[column].astype(float),
                    "event": "metastasis",
                    "organ": column[len(_ORGAN_PREFIX) :],
                    "end_day": np.nan,
                }
            )
        )
    if not rows:
        return pd.DataFrame(columns=["arm", "patient", "day", "event", "organ", "end_day"])
    return pd.concat(rows, ignore_index=True)


def swimmer_figure(
    patients: pd.DataFrame, events: pd.DataFrame | None = None, n: int = 20, *, arms: Sequence[str] | None = None
) -> Figure:
    """Swimmer plot: one lane per patient and arm, the arms of a patient adjacent.

    The first ``n`` patient ids (sorted) are drawn. Each lane is a bar from diagnosis to
    ``os_days`` ending in a cross (death) or an arrow (alive at censoring); metastasis
    detections are dots coloured by organ; treatment courses (events rows with an ``end_day``)
    are thin bands below the bar, single-day treatments (surgery) a vertical tick.

    Parameters
    ----------
    events : DataFrame, optional
        The cohort's events table; when None, metastasis detections are read from the
        ``met_days__<organ>`` columns of ``patients`` and no treatment is drawn.
    n : int
        Number of patients (>= 1).
    arms : sequence of str, optional
        Arms, in lane order within a patient (default: all in order of appearance).
    """
    _check_patients(patients, ["arm", "patient", "os_days", "os_event"], "swimmer figure")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ParameterError(f"n={n!r} must be an integer >= 1 (number of patients drawn)")
    arms = _select_arms(patients, arms)
    events = _events_from_patients(patients) if events is None else _check_events(events)
    ids = sorted(pd.unique(patients["patient"]).tolist())[: int(n)]
    table = patients[patients["arm"].astype(str).isin(arms) & patients["patient"].isin(ids)]
    table = table.assign(arm=table["arm"].astype(str)).set_index(["patient", "arm"])
    events = events[events["arm"].isin(arms) & events["patient"].isin(ids)]
    organs = sorted(str(o) for o in events.loc[events["event"] == "metastasis", "organ"].dropna().unique())
    organ_cmap = colormaps["tab20"]
    organ_colours = {o: organ_cmap(i % 20) for i, o in enumerate(organs)}
    arm_colours = _arm_colours(arms)

    lane_gap = 0.7
    n_lanes = len(ids) * len(arms)
    fig = Figure(figsize=(10.0, 1.6 + 0.24 * n_lanes + 0.15 * len(ids)), layout="constrained")
    ax = fig.subplots()
    ticks, labels = [], []
    # not dict(groupby): a GroupBy has a .keys attribute, so dict() would treat it as a mapping
    by_lane = {key: grp for key, grp in events.groupby(["patient", "arm"], sort=False)}  # noqa: C416
    treatments_seen: set[str] = set()
    for b, pid in enumerate(ids):
        for k, arm in enumerate(arms):
            y = b * (len(arms) + lane_gap) + k
            ticks.append(y)
            labels.append(f"#{pid} {arm}" if len(arms) > 1 else f"#{pid}")
            if (pid, arm) not in table.index:
                continue
            row = table.loc[(pid, arm)]
            end = float(row["os_days"]) / DAYS_PER_YEAR
            ax.barh(y, end, height=0.55, color=arm_colours[arm], alpha=0.35, lw=0)
            if bool(row["os_event"]):
                ax.plot(end, y, marker="X", color="black", ms=6, ls="none")
            else:
                ax.plot(end, y, marker=">", color="dimgrey", ms=5, ls="none")
            lane = by_lane.get((pid, arm))
            if lane is None:
                continue
            for _, ev in lane.iterrows():
                kind = str(ev["event"])
                day = float(ev["day"])
                if kind == "metastasis":
                    ax.plot(
                        day / DAYS_PER_YEAR,
                        y,
                        marker="o",
                        ms=5,
                        ls="none",
                        mec="black",
                        mew=0.4,
                        color=organ_colours.get(str(ev["organ"]), "grey"),
                    )
                elif kind in TREATMENT_EVENTS:
                    treatments_seen.add(kind)
                    colour = _TREATMENT_COLOURS[kind]
                    stop = float(ev["end_day"]) if pd.notna(ev["end_day"]) else day
                    if stop > day:
                        ax.plot(
                            [day / DAYS_PER_YEAR, stop / DAYS_PER_YEAR],
                            [y + 0.36] * 2,
                            color=colour,
                            lw=2.2,
                            solid_capstyle="butt",
                        )
                    else:
                        ax.plot(day / DAYS_PER_YEAR, y + 0.36, marker="|", ms=7, mew=1.6, color=colour, ls="none")
    ax.set_yticks(ticks, labels=labels, fontsize=7 if n_lanes > 30 else 8)
    ax.set_ylim(max(ticks, default=0) + 0.8, -0.8)
    x_max = float(table["os_days"].max()) / DAYS_PER_YEAR if len(table) else 1.0
    ax.set_xlim(0, max(x_max * 1.03, 1e-3))
    ax.set_xlabel("years since diagnosis")
    ax.set_title(f"Patients {ids[0]}-{ids[-1]}: course per arm" if ids else "Patients")
    ax.grid(axis="x", alpha=0.3)
    handles = [Patch(color=arm_colours[a], alpha=0.5, label=a) for a in arms]
    handles += [
        Line2D([], [], marker="X", color="black", ls="none", label="death"),
        Line2D([], [], marker=">", color="dimgrey", ls="none", label="alive (censored)"),
    ]
    handles += [
        Line2D(
            [],
            [],
            marker="o",
            ls="none",
            mec="black",
            mew=0.4,
            color=organ_colours[o],
            label=f"metastasis: {o.replace('_', ' ')}",
        )
        for o in organs
    ]
    handles += [
        Line2D([], [], color=_TREATMENT_COLOURS[t], lw=2.2, label=t) for t in TREATMENT_EVENTS if t in treatments_seen
    ]
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return fig


# --------------------------------------------------------------------------- output


def save_figure(fig: Figure, path_stem: str | Path) -> list[Path]:
    """Write ``fig`` as ``<path_stem>.png`` (150 dpi) and ``<path_stem>.svg``; close it.

    A ``.png``/``.svg``/``.pdf`` suffix on ``path_stem`` is dropped; parent folders are
    created. Returns the two paths written.
    """
    if not isinstance(fig, Figure):
        raise ParameterError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")
    stem = Path(path_stem)
    if stem.suffix.lower() in (".png", ".svg", ".pdf"):
        stem = stem.with_suffix("")
    if not stem.name:
        raise ParameterError(f"path_stem={str(path_stem)!r} has no file name")
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.parent / f"{stem.name}.png", stem.parent / f"{stem.name}.svg"]
    fig.savefig(paths[0], dpi=150)
    fig.savefig(paths[1])
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:  # release a figure the caller made with pyplot (no-op otherwise)
        pyplot.close(fig)
    return paths
