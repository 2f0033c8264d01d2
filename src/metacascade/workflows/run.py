"""Run one scenario: solve organ by organ, tabulate in days since diagnosis, summarise, write results."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import tomli_w
import xarray as xr
from scipy.optimize import brentq

from metacascade._version import package_version
from metacascade.engines.organs import OrganSolution, solve_organs
from metacascade.io import atomic_write, write_json, write_table
from metacascade.scenario import (
    Scenario,
    cells_to_diameter,
    delay_of,
    establishment_of,
)
from metacascade.workflows.population_model import population_at_diagnosis

__all__ = [
    "RUN_FILES",
    "RunResult",
    "check_run_folder",
    "delay_of",
    "horizon_note",
    "remove_stale",
    "run_scenario",
    "write_results",
]


@dataclass(frozen=True)
class RunResult:
    """What one scenario run produced.

    ``dataset`` is indexed by ``time_days`` = days since diagnosis (negative before it),
    ``organ`` and ``size_cells``; ``summary`` is the JSON-ready digest.
    """

    scenario: Scenario
    solution: OrganSolution
    dataset: xr.Dataset
    summary: dict[str, Any]

    @property
    def horizon_days(self) -> float:
        """The last reported day since diagnosis: the scenario's horizon, or the untreated death
        when that comes first (``summary["stopped_at_lethal_burden"]``)."""
        return float(self.summary["at_horizon"]["days_since_diagnosis"])

    def timeseries(self) -> pd.DataFrame:
        """One row per time point (all organs together)."""
        ds = self.dataset
        df = pd.DataFrame(
            {
                "time_days": ds["time_days"].values,
                "primary_cells": ds["primary_cells"].values,
                "primary_diameter_mm": ds["primary_diameter_mm"].values,
                "n_metastases": ds["n_metastases_total"].values,
                "n_detectable": ds["n_detectable_total"].values,
                "burden_cells": ds["burden_cells_total"].values,
                "seeding_rate_per_day": ds["seeding_rate_per_day_total"].values,
            }
        )
        return df

    def organs(self) -> pd.DataFrame:
        """Long table: one row per time x organ (expected counts, detection probability, burden)."""
        cols = ["n_metastases", "n_detectable", "p_detectable", "burden_cells", "seeding_rate_per_day"]
        return self.dataset[cols].to_dataframe().reset_index()

    def size_distribution(self) -> pd.DataFrame:
        """Long table: one row per time x organ x size (cumulative counts and density)."""
        df = self.dataset[["n_above", "density_per_cell"]].to_dataframe().reset_index()
        df.insert(3, "size_diameter_mm", cells_to_diameter(df["size_cells"], self.scenario.cells_per_mm3))
        return df


def _first_time_reaching(fn: Any, level: float, t0: float, t1: float) -> float | None:
    """First model time in [t0, t1] at which the non-decreasing ``fn`` reaches ``level``."""
    if fn(t1) < level:
        return None
    if fn(t0) >= level:
        return t0
    return float(brentq(lambda t: fn(t) - level, t0, t1, xtol=1e-6))


def _state(sol: OrganSolution, sc: Scenario, t: float) -> dict[str, Any]:
    primary = float(sol.primary_size(t))
    n = np.asarray(sol.n_total(t))
    det = np.asarray(sol.n_above(t, sc.detection_cells))
    burden = np.asarray(sol.burden(t))
    per_organ = {
        organ: {
            "n_metastases": float(n[j]),
            "n_detectable": float(det[j]),
            "p_detectable": float(-np.expm1(-det[j])),
            "burden_cells": float(burden[j]),
        }
        for j, organ in enumerate(sol.organs)
    }
    return {
        "primary_cells": primary,
        "primary_diameter_mm": float(cells_to_diameter(primary, sc.cells_per_mm3)),
        "n_metastases": float(n.sum()),
        "n_detectable": float(det.sum()),
        "p_any_detectable": float(-np.expm1(-det.sum())),
        "n_above_1e6_cells": float(np.sum(sol.n_above(t, 1e6))),
        "burden_cells": float(burden.sum()),
        "organs": per_organ,
    }


def horizon_note(lethal_cells: float, stopped_day: float, requested_days: float) -> str:
    """The one line that says a deterministic run stopped at the untreated death."""
    return (
        f"stopped at day {stopped_day:.0f} (horizon_days = {requested_days:g} asked): the untreated expected "
        f"burden reaches the lethal {lethal_cells:.2g} cells there"
    )


def run_scenario(scenario: Scenario) -> RunResult:
    """Solve ``scenario`` with its engine and tabulate the results.

    Model time 0 is the primary's first cell; the reported timeline is in days since
    diagnosis (when the primary has ``scenario.patient.primary_diameter_mm``). Colonies are
    counted from the day they grow deterministically: after their birth-death phase and, with
    ``[host] dormancy_probability`` > 0, after their dormancy (:func:`delay_of`).
    """
    sc = scenario
    t_diag = sc.patient.age_of_primary_days
    horizon = t_diag + sc.engine.horizon_days
    birth_death = establishment_of(sc)
    establishment = delay_of(sc, horizon, birth_death)
    lethal = sc.lethal_burden_cells

    def solve(end: float) -> OrganSolution:
        return solve_organs(
            sc.model,
            sc.organs,
            sc.routing.primary,
            sc.routing.factors,
            end,
            rtol=sc.engine.rtol,
            establishment=None if establishment.trivial else establishment,
        )

    def death_time(s: OrganSolution, end: float) -> float | None:
        total = s.total
        return _first_time_reaching(lambda t: float(total.primary_size(t) + total.burden(t)), lethal, 0.0, end)

    # Untreated, the expected burden cannot grow past the lethal burden: the patient is dead.
    # A horizon beyond that day stops there (and says so in the summary), so that no expected
    # count or burden exceeds what the lethal burden allows; the solve is then redone on the
    # shorter interval (the first one's accuracy warnings, about the unphysical tail, dropped).
    # engine.stop_at_death = false follows the process past death (as the stochastic engine
    # then does), and the summary says from when its numbers are past the lethal burden.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sol = solve(horizon)
    t_death = death_time(sol, horizon)
    stopped = t_death is not None and t_death < horizon and sc.engine.stop_at_death
    if stopped:
        horizon = max(float(t_death), t_diag)
        sol = solve(horizon)
        t_death = death_time(sol, horizon)
        if t_death is None:  # the accurate solve reaches the lethal burden a hair later
            t_death = horizon
    else:
        for w in caught:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    times = np.union1d(np.linspace(0.0, horizon, sc.output.n_times), [t_diag])
    # colonies are resolved from the switch size on (the birth-death phase below it is not tracked)
    sizes = np.asarray(
        [x for x in sc.output.sizes_cells if x >= establishment.entry_cells] or [establishment.entry_cells]
    )
    ds = sol.tabulate(times, sizes, time_offset=t_diag)
    ds["primary_diameter_mm"] = ("time_days", cells_to_diameter(ds["primary_cells"].values, sc.cells_per_mm3))
    detectable = np.asarray(sol.n_above(times, sc.detection_cells))
    ds["n_detectable"] = (("time_days", "organ"), detectable)
    ds["n_detectable"].attrs["description"] = "expected number of detectable metastases (above the imaging threshold)"
    ds["p_detectable"] = (("time_days", "organ"), -np.expm1(-detectable))
    ds["p_detectable"].attrs["description"] = "probability of at least one detectable metastasis (Poisson)"
    ds["n_detectable_total"] = ("time_days", detectable.sum(axis=-1))
    ds.attrs.update(detection_cells=sc.detection_cells, diagnosis_model_day=t_diag, cancer=sc.patient.cancer)

    # Root-finding on the sums over organs uses the all-organ solution (one spline, not n).
    total = sol.total
    t_first = _first_time_reaching(lambda t: float(total.n_above(t, sc.detection_cells)), 1.0, 0.0, horizon)
    t_first_any = _first_time_reaching(lambda t: float(total.n_total(t)), 1.0, 0.0, horizon)
    first_by_organ = {}
    for organ in sc.organs:
        # Poisson: P(at least one detectable) >= 1/2 when the expected number reaches ln 2.
        organ_sol = sol.per_organ[organ]
        tj = _first_time_reaching(
            lambda t, s=organ_sol: float(s.n_above(t, sc.detection_cells)), math.log(2.0), 0.0, horizon
        )
        first_by_organ[organ] = None if tj is None else tj - t_diag
    summary: dict[str, Any] = {
        "metacascade_version": package_version(),
        "scenario_source": sc.source,
        "cancer": sc.patient.cancer,
        "engine": sc.engine.kind,
        "seed": sc.engine.seed,
        "switch_cells": float(sc.engine.switch_cells),
        "establishment_days_mean": float(birth_death.mean_exact),
        "dormancy_days_mean": float(establishment.mean_exact - birth_death.mean_exact),
        "age_of_primary_at_diagnosis_days": t_diag,
        "detection_threshold_cells": sc.detection_cells,
        "at_diagnosis": _state(sol, sc, t_diag),
        "at_horizon": {"days_since_diagnosis": horizon - t_diag, **_state(sol, sc, horizon)},
        "horizon_days_requested": sc.engine.horizon_days,
        "stopped_at_lethal_burden": stopped,
        "horizon_note": (
            horizon_note(lethal, horizon - t_diag, sc.engine.horizon_days)
            if stopped
            else None
            if t_death is None or t_death >= horizon
            else f"past day {t_death - t_diag:.0f} the untreated expected burden exceeds the lethal "
            f"{lethal:.2g} cells (engine.stop_at_death = false: followed past death)"
        ),
        "days_since_diagnosis_expected_first_metastasis_founded": None if t_first_any is None else t_first_any - t_diag,
        "days_since_diagnosis_expected_first_detectable_metastasis": None if t_first is None else t_first - t_diag,
        "days_since_diagnosis_detectable_metastasis_more_likely_than_not": first_by_organ,
        "lethal_burden_cells": lethal,
        "days_since_diagnosis_lethal_burden_untreated": None if t_death is None else t_death - t_diag,
        "engine_error_estimate": sol.error_estimate,
        "population_at_diagnosis": population_at_diagnosis(sc),
        "references": list(sc.references),
    }
    return RunResult(scenario=sc, solution=sol, dataset=ds, summary=summary)


#: The files a ``metacascade run`` folder may hold (either engine, either table format), and
#: the reports built from it: a run replaces those of an earlier run in its folder.
_TABLES = ("timeseries", "organs", "size_distribution", "patients", "colonies", "events")
RUN_FILES = frozenset(
    [f"{t}.{ext}" for t in _TABLES for ext in ("parquet", "csv")]
    + ["summary.json", "scenario.toml", "figure.png", "body_map.png"]
    + [f"report.{lang}.{fmt}" for lang in ("en", "it") for fmt in ("html", "pdf")]
)


def check_run_folder(out_dir: str | Path) -> bool:
    """Check, before computing, that ``out_dir`` can take a run's results; True when it holds an
    earlier run (whose files the new run replaces).

    Allowed: a new or empty folder, or one holding only the files of an earlier ``metacascade
    run`` (:data:`RUN_FILES`). Refused with a one-line error naming ``--out``: a file, a path
    that cannot be written (:func:`~metacascade.io.check_output_folder`), a cohort run, or a
    folder holding other files.
    """
    from metacascade.errors import ParameterError
    from metacascade.io import check_output_folder

    out = check_output_folder(out_dir)
    if not out.exists():
        return False
    names = {p.name for p in out.iterdir() if not (p.name.startswith(".") and p.name.endswith(".tmp"))}
    if (out / "manifest.json").exists() or (out / "parts").exists():
        raise ParameterError(
            f"--out: {out} holds a cohort run; allowed a new or empty folder, or one holding an "
            "earlier 'metacascade run'"
        )
    other = sorted(names - RUN_FILES)
    if other:
        raise ParameterError(
            f"--out: {out} holds files that are not a run's ({', '.join(other[:3])}"
            f"{', ...' if len(other) > 3 else ''}); allowed a new or empty folder, or one holding "
            "an earlier 'metacascade run'"
        )
    return "summary.json" in names


def remove_stale(out_dir: str | Path, written: list[Path]) -> list[str]:
    """Remove the files of an earlier run in ``out_dir`` that this run did not write (the other
    engine's tables, the other format, figures turned off, reports of the earlier run)."""
    out = Path(out_dir)
    keep = {Path(p).name for p in written}
    removed = []
    for name in sorted(RUN_FILES - keep):
        p = out / name
        if p.is_file():
            p.unlink()
            removed.append(name)
    return removed


def writing_steps(progress: Callable[[str], None] | None, total: int) -> Callable[[str], None]:
    """``say(name)``: tells ``progress`` "writing NAME k/TOTAL" before the k-th file."""
    count = [0]

    def say(name: str) -> None:
        count[0] += 1
        if progress is not None:
            progress(f"writing {name} {count[0]}/{total}")

    return say


def write_results(result: RunResult, out_dir: str | Path, progress: Callable[[str], None] | None = None) -> list[Path]:
    """Write tables, summary, resolved scenario and figure into ``out_dir`` (atomically, file by
    file), replacing an earlier run there (:func:`check_run_folder`, :func:`remove_stale`).
    ``progress``: told ``"writing NAME k/n"`` before each file."""
    from metacascade.plotting import plot_run  # matplotlib only when writing

    out = Path(out_dir)
    check_run_folder(out)
    fmt = result.scenario.output.format
    say = writing_steps(progress, 7 if result.scenario.output.figure else 5)
    say("timeseries")
    written = [write_table(result.timeseries(), out / "timeseries", fmt)]
    say("organs")
    written.append(write_table(result.organs(), out / "organs", fmt))
    say("size distribution")
    written.append(write_table(result.size_distribution(), out / "size_distribution", fmt))
    say("summary")
    written.append(write_json(_finite(result.summary), out / "summary.json"))
    say("scenario")
    written.append(
        atomic_write(
            out / "scenario.toml", lambda p: p.write_text(tomli_w.dumps(result.scenario.raw), encoding="utf-8")
        )
    )
    if result.scenario.output.figure:
        say("figure")
        fig = plot_run(result)
        written.append(atomic_write(out / "figure.png", lambda p: fig.savefig(p, format="png", dpi=120)))
        import matplotlib.pyplot as plt

        plt.close(fig)
        from metacascade.plotting import plot_run_body_map

        say("body map")
        fig = plot_run_body_map(result)
        written.append(atomic_write(out / "body_map.png", lambda p: fig.savefig(p, format="png", dpi=120)))
        plt.close(fig)
    remove_stale(out, written)
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
