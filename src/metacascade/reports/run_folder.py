"""Read a run folder back: detect its kind, load its summary, scenario, tables and figures.

Three kinds of folder are written by metacascade:

``cohort``
    ``metacascade cohort`` / :func:`~metacascade.workflows.cohort.run_cohort`: ``manifest.json``
    with the cohort identity (``scenario_sha256``, ``arms``, ``n_chunks``) and ``status``,
    ``summary.json`` (survival per endpoint and arm), ``patients``/``events`` tables,
    ``figures/*.png``.
``stochastic``
    ``metacascade run`` with ``engine.kind = "stochastic"``: ``summary.json`` with
    ``"engine": "stochastic"``, a ``patients`` table, colonies, events, organs, ``figure.png``.
``deterministic``
    ``metacascade run`` otherwise: ``summary.json`` with ``at_diagnosis``/``at_horizon``,
    timeseries, organs, size distribution, ``figure.png`` and ``body_map.png``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from metacascade.errors import MetacascadeError, ParameterError
from metacascade.scenario import Scenario, parse_scenario

__all__ = ["ReportError", "RunFolder", "RUN_KINDS", "kind_of", "load_run_folder"]

RUN_KINDS = ("deterministic", "stochastic", "cohort")
_ALLOWED = (
    "allowed: a run folder written by `metacascade run` (summary.json, scenario.toml) or by "
    "`metacascade cohort` (manifest.json with status 'complete')"
)
_COHORT_KEYS = ("scenario_sha256", "arms", "n_chunks")


class ReportError(ParameterError):
    """A report cannot be built: bad argument, not a run folder, or an unfinished run."""


@dataclass(frozen=True)
class RunFolder:
    """A finished run folder, read back.

    Attributes
    ----------
    path : Path
    kind : str
        one of :data:`RUN_KINDS`.
    summary : dict
        ``summary.json``.
    scenario_text : str
        the scenario TOML the run used.
    scenario : Scenario
        that text validated again (for the model description and the references).
    manifest : dict or None
        ``manifest.json`` of a cohort.
    figures : tuple of Path
        the PNG figures, in a stable order.
    """

    path: Path
    kind: str
    summary: dict[str, Any]
    scenario_text: str
    scenario: Scenario
    manifest: dict[str, Any] | None
    figures: tuple[Path, ...]

    def table(self, name: str, columns: list[str] | None = None) -> pd.DataFrame | None:
        """The table ``name`` (Parquet or CSV), or None when the folder lacks it."""
        for suffix in (".parquet", ".csv"):
            p = self.path / f"{name}{suffix}"
            if p.is_file():
                if suffix == ".parquet":
                    return pd.read_parquet(p, columns=columns)
                df = pd.read_csv(p)
                return df if columns is None else df[columns]
        return None


def _read_json(path: Path, run_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ReportError(f"run_dir: {str(run_dir)!r}: {path.name} is unreadable ({exc}); {_ALLOWED}") from None
    if not isinstance(data, dict):
        raise ReportError(f"run_dir: {str(run_dir)!r}: {path.name} is not a JSON object; {_ALLOWED}")
    return data


def _has_table(path: Path, name: str) -> bool:
    return (path / f"{name}.parquet").is_file() or (path / f"{name}.csv").is_file()


def _figures(path: Path, kind: str) -> tuple[Path, ...]:
    if kind == "cohort":
        order = ("km_os", "km_mfs", "organs", "swimmer")
        found = sorted((path / "figures").glob("*.png")) if (path / "figures").is_dir() else []
        rank = {stem: i for i, stem in enumerate(order)}
        return tuple(sorted(found, key=lambda p: (rank.get(p.stem, len(order)), p.name)))
    return tuple(p for p in (path / "figure.png", path / "body_map.png") if p.is_file())


def kind_of(summary: dict[str, Any] | None, manifest: dict[str, Any] | None, has_patients: bool) -> str | None:
    """The kind of a run folder from its ``summary.json``, ``manifest.json`` and whether it has a
    patients table: ``"cohort"`` (a cohort manifest, finished or not), ``"stochastic"``,
    ``"deterministic"``, or None (not a metacascade run folder). The one rule for the reports
    and the web app's run store."""
    if manifest is not None and all(k in manifest for k in _COHORT_KEYS):
        return "cohort"
    if summary is None:
        return None
    if summary.get("engine") == "stochastic" and has_patients:
        return "stochastic"
    if "at_horizon" in summary and "at_diagnosis" in summary:
        return "deterministic"
    return None


def load_run_folder(run_dir: str | Path) -> RunFolder:
    """Read the run folder ``run_dir`` and detect its kind.

    Raises
    ------
    ReportError
        (a ParameterError) naming ``run_dir``, the value and what is allowed: the folder does not
        exist, holds no ``summary.json``/scenario, or is an unfinished cohort (``"status":
        "incomplete"`` in ``manifest.json``), which would give a report of part of the patients.
    """
    path = Path(run_dir)
    if not path.is_dir():
        what = "is a file" if path.exists() else "does not exist"
        raise ReportError(f"run_dir: {str(path)!r} {what}; {_ALLOWED}")
    manifest = None
    kind = None
    if (path / "manifest.json").is_file():
        manifest = _read_json(path / "manifest.json", path)
        kind = kind_of(None, manifest, False)
        if kind == "cohort":
            status = manifest.get("status")
            if status != "complete":
                n_done = (
                    len(list((path / "parts").glob("chunk-*.patients.parquet"))) if (path / "parts").is_dir() else 0
                )
                raise ReportError(
                    f"run_dir: {str(path)!r} holds an unfinished cohort (manifest.json status {status!r}, "
                    f"{n_done} of {manifest.get('n_chunks')} chunks done); allowed: status 'complete'. Resume it "
                    f"with `metacascade cohort SCENARIO --out {path}` and build the report afterwards"
                )
    if not (path / "summary.json").is_file():
        raise ReportError(f"run_dir: {str(path)!r} holds no summary.json; {_ALLOWED}")
    summary = _read_json(path / "summary.json", path)
    if kind is None:
        kind = kind_of(summary, None, _has_table(path, "patients"))
        if kind is None:
            raise ReportError(
                f"run_dir: {str(path)!r}: summary.json is not that of a metacascade run (no engine "
                f"'stochastic' with a patients table, no at_diagnosis/at_horizon); {_ALLOWED}"
            )
    if kind == "cohort" and "endpoints" not in summary:
        raise ReportError(f"run_dir: {str(path)!r}: summary.json of the cohort has no 'endpoints'; {_ALLOWED}")
    text = None
    if (path / "scenario.toml").is_file():
        text = (path / "scenario.toml").read_text(encoding="utf-8")
    elif manifest is not None and isinstance(manifest.get("scenario"), str):
        text = manifest["scenario"]
    if text is None:
        raise ReportError(f"run_dir: {str(path)!r} holds no scenario.toml; {_ALLOWED}")
    try:
        scenario = parse_scenario(text, str(path / "scenario.toml"))
    except MetacascadeError as exc:
        raise ReportError(
            f"run_dir: {str(path)!r}: the run's scenario cannot be read back ({exc}); {_ALLOWED}"
        ) from None
    return RunFolder(
        path=path,
        kind=kind,
        summary=summary,
        scenario_text=text,
        scenario=scenario,
        manifest=manifest,
        figures=_figures(path, kind),
    )
