"""Figures of a run (matplotlib, non-interactive backend)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

if TYPE_CHECKING:  # pragma: no cover
    from metacascade.workflows.run import RunResult
    from metacascade.workflows.stochastic_run import StochasticRunResult

__all__ = ["plot_run", "plot_run_body_map", "plot_stochastic", "SIZE_FLOOR"]

#: The lowest expected number of colonies the size-distribution panel shows (one colony in 10,000
#: patients), as the web app's size plot does; a run whose largest number is smaller shows three
#: decades below it.
SIZE_FLOOR = 1e-4


def plot_run(result: RunResult) -> Figure:
    """Three panels: tumour sizes over time; expected number of metastases; size distributions."""
    sc, sol, ds = result.scenario, result.solution, result.dataset
    t_diag = sc.patient.age_of_primary_days
    days = ds["time_days"].values
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4), constrained_layout=True)

    ax = axes[0]
    ax.semilogy(days, ds["primary_cells"], label="primary")
    burden = ds["burden_cells_total"].values
    ax.semilogy(days, np.where(burden > 0, burden, np.nan), label="metastatic burden")
    ax.axhline(sc.detection_cells, color="grey", ls=":", label="detection threshold")
    ax.set(xlabel="days since diagnosis", ylabel="cells", title="Tumour burden")
    ax.set_ylim(bottom=1.0)

    ax = axes[1]
    ax.plot(days, ds["n_metastases_total"], label="all colonies")
    ax.plot(days, ds["n_detectable_total"], label="detectable")
    ax.set(xlabel="days since diagnosis", ylabel="expected number", title="Metastases")

    ax = axes[2]
    sizes = np.logspace(0, np.log10(sc.model.colony_growth.capacity) - 0.01, 300)
    horizon = result.horizon_days  # the untreated death when it comes before the scenario's horizon
    top = 0.0
    for day in sorted({0.0, horizon / 2, horizon}):
        n = np.sum(sol.n_above(t_diag + day, sizes), axis=-1)
        top = max(top, float(np.nanmax(n, initial=0.0)))
        ax.loglog(sizes, np.where(n > 0, n, np.nan), label=f"day {day:g}")
    ax.axvline(sc.detection_cells, color="grey", ls=":")
    if top > 0:  # expected numbers fall towards 0 at large sizes (1e-21 ...): show down to SIZE_FLOOR
        ax.set_ylim(bottom=min(SIZE_FLOOR, top * 1e-3), top=top * 2.0)
    ax.set(xlabel="colony size x (cells)", ylabel="expected number larger than x", title="Cumulative size distribution")

    for ax in axes[:2]:
        ax.axvline(0.0, color="k", lw=0.8, ls="--")
    for ax in axes:
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3, which="both")
    fig.suptitle(
        f"{sc.patient.cancer}: primary {sc.patient.primary_diameter_mm:g} mm at diagnosis ({sc.engine.kind} engine)"
    )
    return fig


def plot_run_body_map(result: RunResult) -> Figure:
    """The body with each organ shaded by its expected metastatic burden at the horizon, and
    per-organ burden over time for the organs that carry most of it."""
    from metacascade.bodymap import BODY_MAP_ORGANS, organ_name, plot_body_map

    sc, ds = result.scenario, result.dataset
    last = ds.isel(time_days=-1)
    burden = {o: float(last["burden_cells"].sel(organ=o)) for o in sc.organs if o in BODY_MAP_ORGANS}
    n_det = {o: float(last["n_detectable"].sel(organ=o)) for o in burden}
    annotate = {o: f"{organ_name(o)}:\n{n_det[o]:.2g} detectable" for o in burden if n_det[o] >= 0.01}
    fig = plt.figure(figsize=(13, 8.5), constrained_layout=True)
    left, right = fig.subfigures(1, 2, width_ratios=[1.15, 1.0])
    ax = left.subplots()
    plot_body_map(
        burden,
        ax=ax,
        annotate=annotate,
        primary=sc.patient.cancer,
        title=f"expected burden at day {result.horizon_days:.0f} after diagnosis"
        + (" (untreated death)" if result.summary.get("stopped_at_lethal_burden") else ""),
    )
    ax2 = right.subplots()
    days = ds["time_days"].values
    order = sorted(burden, key=lambda o: -burden[o])[:8]
    for organ in order:
        series = ds["burden_cells"].sel(organ=organ).values
        ax2.semilogy(days, np.where(series > 0, series, np.nan), label=organ_name(organ))
    ax2.axhline(sc.detection_cells, color="grey", ls=":", label="detection threshold")
    ax2.axvline(0.0, color="k", lw=0.8, ls="--")
    ax2.set_ylim(bottom=1.0)
    ax2.set(xlabel="days since diagnosis", ylabel="expected cells in metastases", title="Burden by organ")
    ax2.grid(alpha=0.3, which="both")
    ax2.legend(fontsize=8)
    fig.suptitle(f"{sc.patient.cancer}: where metastases grow")
    return fig


def plot_stochastic(run: StochasticRunResult) -> Figure:
    """Three panels of a stochastic run: number of metastases per patient (at diagnosis and at the
    horizon), cumulative incidence of the first detectable metastasis by organ, and mean number
    of established metastases over time with a 95% band."""
    from metacascade.bodymap import organ_name

    res, sc = run.result, run.scenario
    t_diag = sc.patient.age_of_primary_days
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4), constrained_layout=True)

    ax = axes[0]
    for i, label in ((0, "at diagnosis"), (-1, f"day {sc.engine.horizon_days:g}")):
        n = res.n_established_at[:, i].sum(axis=1)
        bins = np.arange(0, max(int(n.max()), 1) + 2) - 0.5
        ax.hist(n, bins=bins if bins.size < 80 else 40, alpha=0.6, label=label)
    ax.set(xlabel="established metastases per patient", ylabel="patients", title=f"{res.n_patients} virtual patients")
    ax.legend()

    ax = axes[1]
    days = np.linspace(0.0, sc.engine.horizon_days, 400)
    order = np.argsort(-np.isfinite(res.first_detectable).sum(axis=0))[:6]
    top = 0.0
    for j in order:
        first = res.first_detectable[:, j] - t_diag
        curve = [(first <= d).mean() for d in days]
        top = max(top, float(curve[-1]))
        ax.step(days, curve, where="post", label=organ_name(res.organs[j]))
    death = res.death_day - t_diag
    ax.step(days, [(death <= d).mean() for d in days], where="post", color="k", ls="--", label="death")
    top = max(top, float((death <= days[-1]).mean()))
    # the axis follows the data (curves near 0.005 on a 0-1 axis look empty), up to 1
    ax.set(
        xlabel="days since diagnosis",
        ylabel="fraction of patients",
        title="First detectable metastasis",
        ylim=(0, min(1.0, top * 1.15) if top > 0 else 0.01),
    )
    ax.legend(fontsize=8)

    ax = axes[2]
    ds = run.dataset
    t = ds["time_days"].values
    mean = ds["n_established_mean"].values.sum(axis=1)
    se = np.sqrt((ds["n_established_se"].values ** 2).sum(axis=1))
    ax.plot(t, mean, label="mean (all organs)")
    ax.fill_between(t, np.maximum(mean - 1.96 * se, 0), mean + 1.96 * se, alpha=0.3, label="95% CI of the mean")
    ax.axvline(0.0, color="grey", ls=":")
    ax.set(xlabel="days since diagnosis", ylabel="established metastases", title="Metastases over time")
    ax.legend()
    return fig
