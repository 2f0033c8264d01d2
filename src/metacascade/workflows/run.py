"""Run one scenario: solve, tabulate in days since diagnosis, summarise, write results."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import tomli_w
import xarray as xr
from scipy.optimize import brentq

from metacascade import __version__
from metacascade.engines.deterministic import DeterministicSolution, solve_deterministic
from metacascade.io import atomic_write, write_json, write_table
from metacascade.scenario import Scenario, cells_to_diameter

__all__ = ["RunResult", "run_scenario", "write_results"]


@dataclass(frozen=True)
class RunResult:
    """What one scenario run produced.

    ``dataset`` is indexed by ``time_days`` = days since diagnosis (negative before it) and
    ``size_cells``; ``summary`` is the JSON-ready digest.
    """

    scenario: Scenario
    solution: DeterministicSolution
    dataset: xr.Dataset
    summary: dict[str, Any]

    def timeseries(self) -> pd.DataFrame:
        """One row per time point."""
        cols = ["primary_cells", "primary_diameter_mm", "n_metastases", "n_detectable", "burden_cells",
                "seeding_rate_per_day"]
        return self.dataset[cols].to_dataframe().reset_index()

    def size_distribution(self) -> pd.DataFrame:
        """Long table: one row per time x size (cumulative counts and density)."""
        df = self.dataset[["n_above", "density_per_cell"]].to_dataframe().reset_index()
        df.insert(2, "size_diameter_mm", cells_to_diameter(df["size_cells"], self.scenario.cells_per_mm3))
        return df


def _first_time_reaching(fn: Any, level: float, t0: float, t1: float) -> float | None:
    """First model time in [t0, t1] at which the non-decreasing ``fn`` reaches ``level``."""
    if fn(t1) < level:
        return None
    if fn(t0) >= level:
        return t0
    return float(brentq(lambda t: fn(t) - level, t0, t1, xtol=1e-6))


def _state(sol: DeterministicSolution, sc: Scenario, t: float) -> dict[str, float]:
    primary = float(sol.primary_size(t))
    return {
        "primary_cells": primary,
        "primary_diameter_mm": float(cells_to_diameter(primary, sc.cells_per_mm3)),
        "n_metastases": float(sol.n_total(t)),
        "n_detectable": float(sol.n_above(t, sc.detection_cells)),
        "n_above_1e6_cells": float(sol.n_above(t, 1e6)),
        "burden_cells": float(sol.burden(t)),
    }


def run_scenario(scenario: Scenario) -> RunResult:
    """Solve ``scenario`` with its engine and tabulate the results.

    Model time 0 is the primary's first cell; the reported timeline is in days since
    diagnosis (when the primary has ``scenario.patient.primary_diameter_mm``).
    """
    sc = scenario
    t_diag = sc.patient.age_of_primary_days
    horizon = t_diag + sc.engine.horizon_days
    sol = solve_deterministic(sc.model, horizon, rtol=sc.engine.rtol)
    times = np.union1d(np.linspace(0.0, horizon, sc.output.n_times), [t_diag])
    ds = sol.tabulate(times, np.asarray(sc.output.sizes_cells), time_offset=t_diag)
    ds["primary_diameter_mm"] = ("time_days", cells_to_diameter(ds["primary_cells"].values, sc.cells_per_mm3))
    ds["n_detectable"] = ("time_days", np.asarray(sol.n_above(times, sc.detection_cells)))
    ds.attrs.update(detection_cells=sc.detection_cells, diagnosis_model_day=t_diag, cancer=sc.patient.cancer)

    t_first = _first_time_reaching(lambda t: float(sol.n_above(t, sc.detection_cells)), 1.0, 0.0, horizon)
    t_first_any = _first_time_reaching(lambda t: float(sol.n_total(t)), 1.0, 0.0, horizon)
    summary: dict[str, Any] = {
        "metacascade_version": __version__,
        "scenario_source": sc.source,
        "cancer": sc.patient.cancer,
        "engine": sc.engine.kind,
        "seed": sc.engine.seed,
        "age_of_primary_at_diagnosis_days": t_diag,
        "detection_threshold_cells": sc.detection_cells,
        "at_diagnosis": _state(sol, sc, t_diag),
        "at_horizon": {"days_since_diagnosis": sc.engine.horizon_days, **_state(sol, sc, horizon)},
        "days_since_diagnosis_expected_first_metastasis_founded":
            None if t_first_any is None else t_first_any - t_diag,
        "days_since_diagnosis_expected_first_detectable_metastasis":
            None if t_first is None else t_first - t_diag,
        "engine_error_estimate": sol.error_estimate,
        "references": list(sc.references),
    }
    return RunResult(scenario=sc, solution=sol, dataset=ds, summary=summary)


def write_results(result: RunResult, out_dir: str | Path) -> list[Path]:
    """Write tables, summary, resolved scenario and figure into ``out_dir`` (atomically, file by file)."""
    from metacascade.plotting import plot_run  # matplotlib only when writing

    out = Path(out_dir)
    fmt = result.scenario.output.format
    written = [
        write_table(result.timeseries(), out / "timeseries", fmt),
        write_table(result.size_distribution(), out / "size_distribution", fmt),
        write_json(_finite(result.summary), out / "summary.json"),
        atomic_write(out / "scenario.toml",
                     lambda p: p.write_text(tomli_w.dumps(result.scenario.raw), encoding="utf-8")),
    ]
    if result.scenario.output.figure:
        fig = plot_run(result)
        written.append(atomic_write(out / "figure.png", lambda p: fig.savefig(p, format="png", dpi=120)))
        import matplotlib.pyplot as plt

        plt.close(fig)
    return written


def _finite(obj: Any) -> Any:
    """JSON-safe copy: non-finite floats become None."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
