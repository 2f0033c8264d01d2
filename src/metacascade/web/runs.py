"""Saved run folders and background jobs for the web app.

The app is a viewer of run folders, the same ones the CLI writes (``metacascade run --out``,
``metacascade cohort --out``): a :class:`RunStore` lists and reads the folders under one root,
and a :class:`JobManager` runs scenarios and cohorts in background threads into new folders
of that root, with progress and cancellation.

Safety: a run is addressed only by its *name* (letters, digits, ``_ . -``; no path separators,
no leading dot), and every path is resolved and checked to lie inside the root, so one request
cannot read or overwrite another folder through ``..`` or an absolute path.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from metacascade.errors import MetacascadeError, ParameterError

__all__ = ["RUN_NAME", "Cancelled", "Job", "JobManager", "RunStore", "check_run_name", "DOWNLOADABLE"]

#: What a run name may be: 1-64 of letters, digits, ``_ . -``, not starting with a dot.
RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
#: Files of a run folder that may be downloaded (relative paths; figures/ holds cohort figures).
DOWNLOADABLE = re.compile(r"^(figures/)?[A-Za-z0-9][A-Za-z0-9_.-]{0,80}\.(toml|json|parquet|csv|png|svg|html|pdf)$")


class Cancelled(MetacascadeError):
    """A background run was cancelled by the user."""


def check_run_name(name: Any) -> str:
    """``name`` if it is a valid run name, else a ParameterError that says what is allowed."""
    if not isinstance(name, str) or not RUN_NAME.match(name) or ".." in name:
        raise ParameterError(
            f"run name: got {name!r}; allowed 1-64 letters, digits, '_', '.', '-' (no '/', no leading '.', no '..')"
        )
    return name


class RunStore:
    """The run folders under ``root`` (created if missing)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, name: str) -> Path:
        """The folder of run ``name``, guaranteed to lie inside the root."""
        p = (self.root / check_run_name(name)).resolve()
        if p.parent != self.root:
            raise ParameterError(f"run name: {name!r} does not name a folder of the run store")
        return p

    def file(self, name: str, relative: str) -> Path:
        """A downloadable file of run ``name`` (ParameterError for a name outside the allowed set)."""
        if not isinstance(relative, str) or not DOWNLOADABLE.match(relative):
            raise ParameterError(
                f"file: got {relative!r}; allowed a table, figure, summary, scenario or report "
                "file name of the run (.toml .json .parquet .csv .png .svg .html .pdf)"
            )
        base = self.path(name)
        p = (base / relative).resolve()
        if base not in p.parents:
            raise ParameterError(f"file: {relative!r} is outside run {name!r}")
        return p

    def kind(self, name: str) -> str | None:
        """``"cohort"``, ``"stochastic"``, ``"deterministic"`` or None (not a run folder): the
        reports' rule, :func:`metacascade.reports.run_folder.kind_of`."""
        from metacascade.reports.run_folder import kind_of

        p = self.path(name)

        def read(file: str) -> dict[str, Any] | None:
            try:
                data = json.loads((p / file).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return None
            return data if isinstance(data, dict) else None

        has_patients = (p / "patients.parquet").is_file() or (p / "patients.csv").is_file()
        return kind_of(read("summary.json"), read("manifest.json"), has_patients)

    def status(self, name: str) -> str:
        """``"complete"`` or ``"incomplete"`` (a cohort that was interrupted or is running)."""
        p = self.path(name)
        if (p / "manifest.json").exists():
            try:
                return str(json.loads((p / "manifest.json").read_text(encoding="utf-8")).get("status", "incomplete"))
            except (OSError, ValueError):
                return "incomplete"
        return "complete"

    def list(self) -> list[dict[str, Any]]:
        """Every run folder, newest first: name, kind, status, cancer, modified time."""
        rows = []
        for p in self.root.iterdir():
            if not p.is_dir() or not RUN_NAME.match(p.name):
                continue
            kind = self.kind(p.name)
            if kind is None:
                continue
            rows.append(
                {
                    "name": p.name,
                    "kind": kind,
                    "status": self.status(p.name),
                    "cancer": self.cancer(p.name),
                    "modified": p.stat().st_mtime,
                }
            )
        return sorted(rows, key=lambda r: -r["modified"])

    def summary(self, name: str) -> dict[str, Any]:
        p = self.path(name) / "summary.json"
        if not p.exists():
            raise ParameterError(f"run {name!r}: no summary.json (not finished, or not a run folder)")
        return json.loads(p.read_text(encoding="utf-8"))

    def scenario_text(self, name: str) -> str:
        p = self.path(name) / "scenario.toml"
        if p.exists():
            return p.read_text(encoding="utf-8")
        manifest = self.path(name) / "manifest.json"
        if manifest.exists():
            return str(json.loads(manifest.read_text(encoding="utf-8")).get("scenario", ""))
        return ""

    def cancer(self, name: str) -> str:
        import tomllib

        try:
            return str(tomllib.loads(self.scenario_text(name)).get("patient", {}).get("cancer", "hcc_iwata2000"))
        except (OSError, ValueError):
            return "?"

    def table(self, name: str, stem: str) -> pd.DataFrame | None:
        """``stem``.parquet (or .csv) of run ``name``, or None."""
        from metacascade.io import read_table

        base = self.path(name)
        for ext in ("parquet", "csv"):
            p = base / f"{stem}.{ext}"
            if p.exists():
                return read_table(p)
        return None

    def new_name(self, prefix: str) -> str:
        """A fresh run name: ``prefix-YYYYmmdd-HHMMSS-xxxx`` (UTC), the prefix saying what ran
        (``breast_er_positive-stochastic``); characters a name cannot hold become ``_``."""
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        prefix = re.sub(r"[^A-Za-z0-9_.-]", "_", prefix).strip("._-")[:40] or "run"
        return check_run_name(f"{prefix}-{stamp}-{uuid.uuid4().hex[:4]}")


@dataclass
class Job:
    """One background run."""

    id: str
    name: str
    kind: str  # "run" or "cohort"
    total: int
    engine: str = ""  # a run's engine: "deterministic" or "stochastic" (a cohort: "cohort")
    done: int = 0
    state: str = "running"  # running, complete, cancelled, failed
    message: str = ""
    started: float = field(default_factory=time.time)
    finished: float | None = None
    cancel: threading.Event = field(default_factory=threading.Event, repr=False)

    def as_dict(self) -> dict[str, Any]:
        elapsed = (self.finished or time.time()) - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / rate if rate > 0 and self.state == "running" else None
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "engine": self.engine,
            "total": self.total,
            "done": self.done,
            "state": self.state,
            "message": self.message,
            "elapsed_s": elapsed,
            "rate_per_s": rate,
            "eta_s": eta,
            "fraction": self.done / self.total if self.total else 1.0,
        }


class JobManager:
    """Background runs into a :class:`RunStore`, at most ``max_running`` at once.

    Single runs are written into a hidden temporary folder and moved into place when finished,
    so a folder that the store lists is always complete. Cohorts write their Parquet parts and
    an ``incomplete`` manifest as they go (so a cancelled or crashed cohort is resumable with
    ``metacascade cohort``), and are marked complete only at the end.
    """

    def __init__(self, store: RunStore, *, max_running: int = 2, max_patients: int = 20_000) -> None:
        self.store = store
        self.max_running = max_running
        self.max_patients = max_patients
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def jobs(self) -> list[dict[str, Any]]:
        return [j.as_dict() for j in sorted(self._jobs.values(), key=lambda j: -j.started)]

    def cancel(self, job_id: str) -> bool:
        job = self._jobs.get(job_id)
        if job is None or job.state != "running":
            return False
        job.cancel.set()
        return True

    def _start(self, job: Job, work: Callable[[Job], None]) -> Job:
        with self._lock:
            running = sum(j.state == "running" for j in self._jobs.values())
            if running >= self.max_running:
                raise ParameterError(
                    f"runs: {running} already running; at most {self.max_running} at once "
                    "(wait for one to finish or cancel it)"
                )
            self._jobs[job.id] = job

        def target() -> None:
            try:
                work(job)
                job.state, job.done = "complete", job.total
            except Cancelled:
                job.state, job.message = "cancelled", "cancelled by the user"
            except MetacascadeError as exc:
                job.state, job.message = "failed", str(exc)
            except Exception as exc:
                job.state, job.message = "failed", f"{type(exc).__name__}: {exc}"
            finally:
                job.finished = time.time()

        threading.Thread(target=target, name=f"metacascade-{job.id}", daemon=True).start()
        return job

    def _check_size(self, n: int, what: str) -> None:
        if n > self.max_patients:
            raise ParameterError(
                f"{what}: got {n} patients; the web app runs at most {self.max_patients} "
                "(use the command line for larger runs)"
            )

    def start_run(self, scenario_text: str, name: str | None = None) -> Job:
        """Run one scenario (deterministic or stochastic engine) in the background."""
        from metacascade.scenario import parse_scenario

        sc = parse_scenario(scenario_text, source="web")  # validate before anything starts
        if sc.cohort is not None:
            raise ParameterError("scenario: has a [cohort] section; start it as a cohort run")
        n = sc.engine.n_patients if sc.engine.kind == "stochastic" else 1
        self._check_size(n, "engine.n_patients")
        name = check_run_name(name) if name else self.store.new_name(f"{sc.patient.cancer}-{sc.engine.kind}")
        final = self.store.path(name)
        if final.exists():
            raise ParameterError(f"run name: {name!r} exists already; choose another")
        job = Job(id=uuid.uuid4().hex[:12], name=name, kind="run", total=n, engine=sc.engine.kind)

        def progress(done: int) -> None:
            job.done = int(done)  # patients finished so far
            if job.cancel.is_set():
                raise Cancelled("cancelled")

        def work(job: Job) -> None:
            tmp = self.store.root / f".tmp-{job.id}"
            try:
                if sc.engine.kind == "stochastic":
                    from metacascade.workflows.stochastic_run import run_stochastic, write_stochastic_results

                    write_stochastic_results(run_stochastic(sc, progress=progress, written=True), tmp)
                else:
                    from metacascade.workflows.run import run_scenario, write_results

                    write_results(run_scenario(sc), tmp)
                if job.cancel.is_set():
                    raise Cancelled("cancelled")
                tmp.rename(final)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)

        return self._start(job, work)

    def start_cohort(self, scenario_text: str, name: str | None = None, *, workers: int = 1) -> Job:
        """Run (or resume, with the name of an unfinished one) a cohort in the background."""
        from metacascade.scenario import parse_scenario
        from metacascade.workflows.cohort import run_cohort

        sc = parse_scenario(scenario_text, source="web")
        if sc.cohort is None:
            raise ParameterError("scenario: no [cohort] section; a cohort run needs n_patients and arms")
        n_arms = max(len(sc.cohort.arms), 1)
        self._check_size(sc.cohort.n_patients, "cohort.n_patients")
        name = check_run_name(name) if name else self.store.new_name(f"{sc.patient.cancer}-cohort")
        out = self.store.path(name)
        if out.exists() and self.store.status(name) == "complete":
            raise ParameterError(f"run name: {name!r} is a finished run; choose another")
        job = Job(
            id=uuid.uuid4().hex[:12], name=name, kind="cohort", total=sc.cohort.n_patients * n_arms, engine="cohort"
        )

        def progress(done: int, total: int) -> None:
            job.done, job.total = int(done), int(total)
            if job.cancel.is_set():
                raise Cancelled("cancelled (finished chunks are kept: start the same run again to resume)")

        def work(job: Job) -> None:
            run_cohort(scenario_text, out, workers=workers, progress=progress, source="web")

        return self._start(job, work)
