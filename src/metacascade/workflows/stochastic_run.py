"""Run one scenario with the stochastic engine: virtual patients, their tables, distributions, figure."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import tomli_w
import xarray as xr

from metacascade._version import package_version
from metacascade.engines.stochastic import StochasticResult, simulate_patients
from metacascade.io import atomic_write, write_json, write_table
from metacascade.scenario import Scenario, compiled_plan, establishment_of, organ_thresholds

__all__ = [
    "StochasticRunResult",
    "available_memory_bytes",
    "check_memory",
    "memory_estimate_bytes",
    "run_stochastic",
    "write_stochastic_results",
]


@dataclass(frozen=True)
class StochasticRunResult:
    """A stochastic run: the engine's result, the cohort means as a dataset, the summary.

    ``dataset`` is indexed by ``time_days`` (days since diagnosis), ``organ`` and ``size_cells``
    and holds the mean and standard error over patients of every series.
    """

    scenario: Scenario
    result: StochasticResult
    dataset: xr.Dataset
    summary: dict[str, Any]

    @property
    def diagnosis_day(self) -> float:
        return self.scenario.patient.age_of_primary_days

    def patients(self) -> pd.DataFrame:
        """One row per virtual patient (days since diagnosis)."""
        df = self.result.patients(time_offset=self.diagnosis_day)
        if "cause_of_death_code" in df:
            labels = cause_labels(self.scenario.organs)
            df["cause_of_death"] = pd.Categorical.from_codes(df["cause_of_death_code"].to_numpy(), labels)
        stage = stage_at_surgery(self.scenario, self.result)
        if stage is not None:
            df["stage_at_surgery"] = stage
        return df

    def colonies(self) -> pd.DataFrame:
        """The colony log (days since diagnosis)."""
        log = self.result.colony_log.copy()
        for col in ("founded_day", "established_day", "detectable_day", "growth_day", "gone_day"):
            if col in log:
                log[col] = log[col] - self.diagnosis_day
        return log.replace([np.inf], np.nan)

    def events(self) -> pd.DataFrame:
        """Seeding, establishment, detection and death events (days since diagnosis)."""
        return self.result.events(time_offset=self.diagnosis_day)

    def organs(self) -> pd.DataFrame:
        """Long table: time x organ, mean and standard error of each series."""
        names = [v for v in self.dataset.data_vars if "size_cells" not in self.dataset[v].dims]
        return self.dataset[names].to_dataframe().reset_index()

    def size_distribution(self) -> pd.DataFrame:
        """Long table: time x organ x size, mean and standard error of the number above each size."""
        return self.dataset[["n_above_mean", "n_above_se"]].to_dataframe().reset_index()


def _distribution(values: np.ndarray) -> dict[str, Any]:
    """Mean, standard error and a histogram of a count per patient."""
    values = np.asarray(values)
    counts = np.bincount(values.astype(np.int64)) if values.size else np.zeros(1, dtype=np.int64)
    return {
        "mean": float(values.mean()),
        "se": float(values.std(ddof=1) / math.sqrt(values.size)) if values.size > 1 else None,
        "p_zero": float(np.mean(values == 0)),
        "histogram": {str(k): int(c) for k, c in enumerate(counts) if c},
    }


def _quantiles(days: np.ndarray) -> dict[str, Any]:
    """Fraction of patients with an event, and quantiles of the day among them."""
    finite = days[np.isfinite(days)]
    out: dict[str, Any] = {"fraction": float(finite.size / days.size) if days.size else 0.0}
    if finite.size:
        for q in (0.1, 0.25, 0.5, 0.75, 0.9):
            out[f"q{int(q * 100):02d}"] = float(np.quantile(finite, q))
    return out


#: Patients simulated first to estimate a larger run's memory (the first patients of the run:
#: patient i's random numbers do not depend on the run's size).
MEMORY_PILOT_PATIENTS = 100
#: Memory held per patient (result arrays, patients table) and per colony: while simulating
#: (the colony log and its growth) and, in addition, while writing its tables (colonies and
#: events). Measured peaks: 20,000 breast_er_positive patients over 10 years (9.2e6 colonies)
#: 4.4 GB to simulate, 6.4 GB with the tables written; 800 breast_er_negative patients followed
#: past death (1.1e7 colonies) 3.3 GB to simulate. The constants sit at the low end of what was
#: measured: a run is refused only when it surely cannot fit (a MemoryError at the margin stays
#: possible), never because of a generous estimate.
BYTES_PER_PATIENT = 8 * 1024
BYTES_PER_COLONY = 300
BYTES_PER_COLONY_WRITTEN = 200


def available_memory_bytes() -> int | None:
    """Memory available to this process now (Linux MemAvailable, bounded by a cgroup limit), or
    None when it cannot be read."""
    avail: int | None = None
    try:
        for line in Path("/proc/meminfo").read_text(encoding="ascii").splitlines():
            if line.startswith("MemAvailable:"):
                avail = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        avail = None
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text(encoding="ascii").strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text(encoding="ascii").strip())
        if limit != "max":
            free = max(int(limit) - used, 0)
            avail = free if avail is None else min(avail, free)
    except (OSError, ValueError):
        pass
    return avail


def _size(n_bytes: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n_bytes < 1024 or unit == "PiB":
            return f"{n_bytes:.3g} {unit}"
        n_bytes /= 1024
    return f"{n_bytes:.3g} PiB"  # pragma: no cover


def memory_estimate_bytes(n_patients: int, colonies_per_patient: float, written: bool = False) -> float:
    """At least the peak memory of a stochastic run of ``n_patients`` (``written``: with its
    tables written, as ``metacascade run`` does)."""
    per_colony = BYTES_PER_COLONY + (BYTES_PER_COLONY_WRITTEN if written else 0)
    return n_patients * (BYTES_PER_PATIENT + per_colony * max(colonies_per_patient, 0.0))


def check_memory(
    n_patients: int, colonies_per_patient: float, available: int | None = None, *, written: bool = False
) -> None:
    """Raise ParameterError naming ``engine.n_patients`` when a run of ``n_patients`` (with
    ``colonies_per_patient``, from a pilot) needs more memory than is available, with the
    largest number of patients that fits."""
    from metacascade.errors import ParameterError

    available = available_memory_bytes() if available is None else available
    if available is None:
        return
    need = memory_estimate_bytes(n_patients, colonies_per_patient, written)
    if need <= available:
        return
    per = memory_estimate_bytes(1, colonies_per_patient, written)
    fits = int(0.8 * available / per)
    raise ParameterError(
        f"engine.n_patients: {n_patients} virtual patients need about {_size(need)} of memory ({_size(per)} "
        f"each, {colonies_per_patient:.3g} colonies per patient) and {_size(available)} is available; allowed at "
        f"most about {fits} here"
    )


def run_stochastic(
    scenario: Scenario, progress: Callable[[int], None] | None = None, *, written: bool = False
) -> StochasticRunResult:
    """Simulate ``scenario.engine.n_patients`` virtual patients of ``scenario``.

    Model time 0 is the primary's first cell; the reported timeline is in days since diagnosis.
    Above :data:`MEMORY_PILOT_PATIENTS` patients the first ones are simulated first to estimate
    the memory (:func:`check_memory`; ``written``: the tables will be written too) and a run
    that cannot fit is refused before it starts.
    """
    sc = scenario
    t_diag = sc.patient.age_of_primary_days
    horizon = t_diag + sc.engine.horizon_days
    establishment = establishment_of(sc)
    entry = establishment.entry_cells
    sizes = sorted({s for s in sc.output.sizes_cells if s >= entry} | {sc.detection_cells})
    times = np.union1d(np.linspace(0.0, horizon, sc.output.n_times), [t_diag])
    plan = compiled_plan(sc, horizon)
    fail, symptom = organ_thresholds(sc)
    if plan.trivial:
        plan = None
    if fail is not None and not np.any(np.isfinite(fail)) and plan is None:
        fail = symptom = None  # nothing the untreated kernel does not do: keep it (faster)

    def simulate(n: int, report: Callable[[int], None] | None) -> StochasticResult:
        return simulate_patients(
            sc.model,
            sc.organs,
            sc.routing.primary,
            sc.routing.colony,
            horizon,
            n,
            seed=sc.engine.seed,
            survival=sc.early_survival,
            switch_cells=sc.engine.switch_cells,
            times=times,
            sizes=sizes,
            detection_cells=sc.detection_cells,
            lethal_cells=sc.lethal_burden_cells,
            workers=sc.engine.workers,
            establishment=establishment,
            stop_at_death=sc.engine.stop_at_death,
            snapshot_times=[t_diag, horizon],
            progress=report,
            plan=plan,
            failure_cells=fail,
            symptom_cells=symptom,
        )

    n = sc.engine.n_patients
    if n > MEMORY_PILOT_PATIENTS:  # refuse a run that cannot fit before spending time on it
        pilot = simulate(MEMORY_PILOT_PATIENTS, None)
        check_memory(n, len(pilot.colony_log) / MEMORY_PILOT_PATIENTS, written=written)
    res = simulate(n, progress)
    coords = {"time_days": times - t_diag, "organ": list(sc.organs), "size_cells": res.sizes}
    ds = xr.Dataset(coords=coords)
    for name, dims in (
        ("n_above", ("time_days", "organ", "size_cells")),
        ("n_established", ("time_days", "organ")),
        ("n_founded", ("time_days", "organ")),
        ("burden", ("time_days", "organ")),
    ):
        mean, se = res.mean_and_se(name)
        ds[f"{name}_mean"] = (dims, mean)
        ds[f"{name}_se"] = (dims, se)
    ds.attrs.update(
        n_patients=res.n_patients,
        seed=res.seed,
        diagnosis_model_day=t_diag,
        switch_cells=float(sc.engine.switch_cells),
        stop_at_death=int(sc.engine.stop_at_death),
    )

    k_det = int(np.searchsorted(res.sizes, sc.detection_cells))
    at_diag_est = res.n_established_at[:, 0].sum(axis=1)
    at_hor_est = res.n_established_at[:, -1].sum(axis=1)
    at_diag_det = res.n_above_at[:, 0, :, k_det].sum(axis=1)
    at_hor_det = res.n_above_at[:, -1, :, k_det].sum(axis=1)
    first_any = res.first_detectable.min(axis=1) - t_diag
    per_organ = {}
    for j, organ in enumerate(sc.organs):
        per_organ[organ] = {
            "p_metastasis_at_diagnosis": float(np.mean(res.n_established_at[:, 0, j] > 0)),
            "p_metastasis_at_horizon": float(np.mean(res.n_established_at[:, -1, j] > 0)),
            "days_since_diagnosis_first_detectable": _quantiles(res.first_detectable[:, j] - t_diag),
        }
    summary: dict[str, Any] = {
        "metacascade_version": package_version(),
        "scenario_source": sc.source,
        "cancer": sc.patient.cancer,
        "engine": "stochastic",
        "seed": sc.engine.seed,
        "n_patients": res.n_patients,
        "switch_cells": float(sc.engine.switch_cells),
        "early_survival": sc.early_survival,
        "establishment_days_mean": float(establishment.mean_exact),
        "establishment_days_sd": float(establishment.sd_exact),
        "stop_at_death": sc.engine.stop_at_death,
        "age_of_primary_at_diagnosis_days": t_diag,
        "detection_threshold_cells": sc.detection_cells,
        "metastases_established_at_diagnosis": _distribution(at_diag_est),
        "metastases_detectable_at_diagnosis": _distribution(at_diag_det),
        "metastases_established_at_horizon": _distribution(at_hor_est),
        "metastases_detectable_at_horizon": _distribution(at_hor_det),
        "days_since_diagnosis_first_detectable_metastasis": _quantiles(first_any),
        "days_since_diagnosis_death": _quantiles(res.death_day - t_diag),
        "lethal_burden_cells": sc.lethal_burden_cells,
        "hormone_growth_multiplier": sc.patient.growth_multiplier,
        "immunocompetence": sc.patient.immunocompetence,
        "treatment": [_entry_dict(t) for t in sc.plan],
        "warnings": list(sc.warnings),
        "organs": per_organ,
        "references": list(sc.references),
    }
    if res.cause_of_death is not None:
        summary.update(_outcomes(sc, res, t_diag))
    stage = stage_at_surgery(sc, res)
    if stage is not None:
        values, counts = np.unique(stage, return_counts=True)
        summary["stage_at_surgery"] = {str(v): int(c) for v, c in zip(values, counts)}
        m1 = float(np.mean(np.char.endswith(stage, "M1")))
        if m1 > 0:
            summary["warnings"].append(
                f"surgery is planned for patients with detectable distant disease: {m1:.1%} are M1 on the "
                "surgery day (non-operable in the clinical sense); see stage_at_surgery in patients"
            )
    return StochasticRunResult(scenario=sc, result=res, dataset=ds, summary=summary)


def stage_at_surgery(sc: Scenario, res: StochasticResult) -> np.ndarray | None:
    """Clinical stage of each patient when surgery is decided (the surgery day), or None.

    ``T1`` (<= 20 mm), ``T2`` (<= 50 mm), ``T3`` (> 50 mm): the primary's diameter just before the
    operation with the AJCC breast cut-offs (AJCC Cancer Staging Manual, 8th ed.; T4, extension
    to chest wall or skin, is not modelled; other presets use the same size categories). ``N1``:
    a regional-node metastasis is detectable (imaging threshold), else ``N0``. ``M1``: a distant
    metastasis (any other organ) is detectable, else ``M0``. Detectable = has reached the
    detection size by that day (after neoadjuvant treatment it may have shrunk since).
    """
    from metacascade.model.treatment import Surgery
    from metacascade.scenario import cells_to_diameter

    surgery = [t for t in sc.plan if isinstance(t, Surgery)]
    if not surgery or res.primary_cells_at_surgery is None:
        return None
    t_s = sc.patient.age_of_primary_days + surgery[0].day
    d = np.asarray(cells_to_diameter(res.primary_cells_at_surgery, sc.cells_per_mm3))
    t_cat = np.where(d <= 0, "T0", np.where(d <= 20.0, "T1", np.where(d <= 50.0, "T2", "T3")))
    detectable = res.first_detectable <= t_s
    nodes = [j for j, o in enumerate(sc.organs) if o == "lymph_regional"]
    distant = [j for j, o in enumerate(sc.organs) if o != "lymph_regional"]
    n_cat = np.where(detectable[:, nodes].any(axis=1), "N1", "N0") if nodes else np.full(res.n_patients, "NX")
    m_cat = np.where(detectable[:, distant].any(axis=1), "M1", "M0")
    return np.char.add(np.char.add(np.char.add(t_cat, " "), np.char.add(n_cat, " ")), m_cat)


def _entry_dict(t: Any) -> dict[str, Any]:
    from dataclasses import asdict

    return {"kind": t.kind, **asdict(t)}


def cause_labels(organs: tuple[str, ...]) -> list[str]:
    """Label of each cause-of-death code: 0 alive, 1 total burden, 2 + j failure of organ j."""
    from metacascade.model.health import BURDEN_DEATH_LABEL, cause_of_death_labels, organ_names

    per_organ = cause_of_death_labels(organs) if set(organs) <= set(organ_names()) else (None,) * len(organs)
    return ["alive", BURDEN_DEATH_LABEL] + [f"{lab or 'failure'} ({o})" for o, lab in zip(organs, per_organ)]


def _outcomes(sc: Scenario, res: StochasticResult, t_diag: float) -> dict[str, Any]:
    """Survival outcomes of a run with the treated kernel (days since diagnosis)."""
    labels = cause_labels(sc.organs)
    codes = res.cause_of_death
    distant = [j for j, o in enumerate(sc.organs) if o != "lymph_regional"]
    first_distant = res.first_detectable[:, distant].min(axis=1) if distant else np.full(res.n_patients, np.inf)
    m1 = first_distant <= t_diag
    recurrence = res.recurrence_day.min(axis=1) - t_diag
    mfs = np.minimum(np.where(m1, np.inf, first_distant), res.death_day) - t_diag
    return {
        "cause_of_death": {labels[c]: int(n) for c, n in enumerate(np.bincount(codes, minlength=len(labels))) if n},
        "distant_metastasis_detectable_at_diagnosis": float(np.mean(m1)),
        "days_since_diagnosis_distant_metastasis_free_survival_event": _quantiles(np.where(m1, np.nan, mfs)[~m1]),
        "days_since_diagnosis_recurrence_after_plan": _quantiles(recurrence),
        "plan_end_days_since_diagnosis": float(res.plan_end - t_diag) if np.isfinite(res.plan_end) else None,
        "resistant_clones": _distribution(res.n_resistant_clones),
        "days_since_diagnosis_first_symptom": {
            o: _quantiles(res.symptom_day[:, j] - t_diag)
            for j, o in enumerate(sc.organs)
            if np.isfinite(res.symptom_day[:, j]).any()
        },
    }


def write_stochastic_results(
    run: StochasticRunResult, out_dir: str | Path, progress: Callable[[str], None] | None = None
) -> list[Path]:
    """Write the per-patient, colony, event and cohort tables, the summary and the figure,
    replacing an earlier run in ``out_dir`` (see :func:`~metacascade.workflows.run.check_run_folder`)."""
    from metacascade.workflows.run import _finite, check_run_folder, remove_stale, writing_steps

    out = Path(out_dir)
    check_run_folder(out)
    fmt = run.scenario.output.format
    say = writing_steps(progress, 8 if run.scenario.output.figure else 7)
    written = []
    for name, table in (
        ("patients", run.patients),
        ("colonies", run.colonies),
        ("events", run.events),
        ("organs", run.organs),
        ("size_distribution", run.size_distribution),
    ):
        say(name.replace("_", " "))
        written.append(write_table(table(), out / name, fmt))
    say("summary")
    written.append(write_json(_finite(run.summary), out / "summary.json"))
    say("scenario")
    written.append(
        atomic_write(out / "scenario.toml", lambda p: p.write_text(tomli_w.dumps(run.scenario.raw), encoding="utf-8"))
    )
    if run.scenario.output.figure:
        say("figure")
        import matplotlib.pyplot as plt

        from metacascade.plotting import plot_stochastic

        fig = plot_stochastic(run)
        written.append(atomic_write(out / "figure.png", lambda p: fig.savefig(p, format="png", dpi=120)))
        plt.close(fig)
    remove_stale(out, written)
    return written
