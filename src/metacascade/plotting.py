"""Figures of a run (matplotlib, non-interactive backend)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

if TYPE_CHECKING:  # pragma: no cover
    from metacascade.workflows.run import RunResult

__all__ = ["plot_run"]


def plot_run(result: RunResult) -> Figure:
    """Three panels: tumour sizes over time; expected number of metastases; size distributions."""
    sc, sol, ds = result.scenario, result.solution, result.dataset
    t_diag = sc.patient.age_of_primary_days
    days = ds["time_days"].values
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4), constrained_layout=True)

    ax = axes[0]
    ax.semilogy(days, ds["primary_cells"], label="primary")
    ax.semilogy(days, np.where(ds["burden_cells"] > 0, ds["burden_cells"], np.nan), label="metastatic burden")
    ax.axhline(sc.detection_cells, color="grey", ls=":", label="detection threshold")
    ax.set(xlabel="days since diagnosis", ylabel="cells", title="Tumour burden")
    ax.set_ylim(bottom=1.0)

    ax = axes[1]
    ax.plot(days, ds["n_metastases"], label="all colonies")
    ax.plot(days, ds["n_detectable"], label="detectable")
    ax.set(xlabel="days since diagnosis", ylabel="expected number", title="Metastases")

    ax = axes[2]
    sizes = np.logspace(0, np.log10(sc.model.colony_growth.capacity) - 0.01, 300)
    for day in sorted({0.0, sc.engine.horizon_days / 2, sc.engine.horizon_days}):
        n = sol.n_above(t_diag + day, sizes)
        ax.loglog(sizes, np.where(n > 0, n, np.nan), label=f"day {day:g}")
    ax.axvline(sc.detection_cells, color="grey", ls=":")
    ax.set(xlabel="colony size x (cells)", ylabel="expected number larger than x", title="Cumulative size distribution")

    for ax in axes[:2]:
        ax.axvline(0.0, color="k", lw=0.8, ls="--")
    for ax in axes:
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3, which="both")
    fig.suptitle(f"{sc.patient.cancer}: primary {sc.patient.primary_diameter_mm:g} mm at diagnosis "
                 f"({sc.engine.kind} engine)")
    return fig
