"""Iwata, Kawasaki & Shigesada 2000: cumulative size distributions of metastases and their fit.

The model (Iwata 2000, eqs. 1-4): the primary grows from one cell by the Gompertz law
``dx/dt = a x ln(b/x)``, founds colonies at rate ``beta(x) = m x^alpha``; colonies start from
one cell, grow by the same law and found colonies too. The observable is the cumulative
number of metastases larger than ``x`` at each examination day, fitted by least squares on
those counts (the paper's criterion).

Data
----
``load_cumulative_size_data`` reads a CSV with the columns ``exam_day, size_cells, n_larger``
(days since the primary's first cell, cells, count), and ``#`` comment lines that must include
a ``# source:`` line naming where every number was read (paper, figure/table, page) and a
``# uncertainty:`` line (digitisation uncertainty). The observed data of Iwata's patient are
not shipped yet (see README "Validation" and the project notes): the shipped case
``iwata2000`` therefore proves the fitting procedure by recovering the published parameters
from counts generated at those parameters by the independent method-of-lines solver; give
``--data FILE`` to fit observed data.

References
----------
Iwata K, Kawasaki K, Shigesada N. A dynamical model for the growth and size distribution of
multiple metastatic tumors. J Theor Biol 2000;203:177-186. Published fitted values (as quoted
in docs/science/iwata2000.md): a = 0.00286/day, b = 7.3e10 cells, m = 5.3e-8,
alpha = 0.663. Tolerances (same README): alpha +-0.03, m within a factor 1.5, a and b within 10%.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from metacascade.calibration.core import fit_least_squares
from metacascade.engines.deterministic import solve_deterministic
from metacascade.errors import CalibrationError, DataError, ParameterError, SimulationError
from metacascade.model.growth import Gompertz
from metacascade.model.metastasis import MetastasisModel
from metacascade.model.shedding import PowerShedding

__all__ = [
    "PUBLISHED",
    "IwataParameters",
    "CumulativeSizeData",
    "IwataFit",
    "iwata_model",
    "predict_cumulative",
    "load_cumulative_size_data",
    "synthetic_cumulative_size_data",
    "fit_iwata",
    "within_tolerance",
    "RECOVERY_EXAM_DAYS",
    "RECOVERY_SIZES_CELLS",
]


@dataclass(frozen=True)
class IwataParameters:
    """Gompertz ``a`` (1/day), ``b`` (cells); colonisation ``m``, ``alpha``."""

    a: float
    b: float
    m: float
    alpha: float

    def as_dict(self) -> dict[str, float]:
        return {"a": self.a, "b": self.b, "m": self.m, "alpha": self.alpha}


#: Iwata 2000, fitted values for the hepatocellular carcinoma patient (J Theor Biol 203:177).
PUBLISHED = IwataParameters(a=0.00286, b=7.3e10, m=5.3e-8, alpha=0.663)

#: Examination design of the recovery check (NOT Iwata's days: chosen so that tens of
#: metastases exceed CT-detectable sizes, as in the paper's patient). Days since the primary's first cell.
RECOVERY_EXAM_DAYS = (1200.0, 1300.0, 1400.0)
#: Sizes at which the cumulative counts are read in the recovery check (cells; 1e7 cells ~ 2.7 mm).
RECOVERY_SIZES_CELLS = tuple(10.0 ** np.arange(7.0, 10.01, 0.5))


def iwata_model(p: IwataParameters) -> MetastasisModel:
    """The Iwata 2000 model for parameters ``p`` (primary and colonies from one cell, secondary seeding)."""
    law = Gompertz(p.a, p.b)
    return MetastasisModel(
        primary_growth=law,
        colony_growth=law,
        primary_shedding=PowerShedding(p.m, p.alpha),
        primary_size0=1.0,
        colony_size0=1.0,
        secondary_seeding=True,
    )


@dataclass(frozen=True)
class CumulativeSizeData:
    """Cumulative counts ``n_larger`` of metastases larger than ``size_cells`` at ``exam_day``."""

    table: pd.DataFrame  # columns exam_day, size_cells, n_larger
    source: str
    uncertainty: str = ""

    @property
    def exam_days(self) -> np.ndarray:
        return np.unique(self.table["exam_day"].to_numpy(float))

    def rounded(self) -> CumulativeSizeData:
        """The same data with counts rounded to whole tumours, as observed counts are."""
        table = self.table.assign(n_larger=np.round(self.table["n_larger"].to_numpy(float)))
        return CumulativeSizeData(
            table=table,
            source=self.source + ", rounded to integer counts",
            uncertainty="rounding to integers (+-0.5 count)",
        )


def load_cumulative_size_data(path: str | Path) -> CumulativeSizeData:
    """Read and check a cumulative size distribution file (see the module docstring for the format).

    Raises
    ------
    DataError
        missing file, missing columns or source line, negative/non-finite values, or counts that
        increase with size at an examination.
    """
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{p}: cannot read the data file: {exc}") from None
    meta = {}
    for line in lines:
        if line.startswith("#") and ":" in line:
            key, _, value = line[1:].partition(":")
            meta[key.strip().lower()] = value.strip()
    if not meta.get("source"):
        raise DataError(f"{p}: a '# source: ...' line naming where the numbers were read is required")
    try:
        df = pd.read_csv(p, comment="#")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"{p}: not a readable CSV table: {exc}") from None
    needed = ["exam_day", "size_cells", "n_larger"]
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise DataError(f"{p}: missing columns {', '.join(missing)}; required: {', '.join(needed)}")
    for col in needed:
        values = pd.to_numeric(df[col], errors="coerce")
        if values.isna().any() or not np.all(np.isfinite(values)) or (values < 0).any():
            raise DataError(f"{p}: column {col}: every value must be a finite number >= 0")
        df[col] = values.astype(float)
    if (df["size_cells"] <= 0).any():
        raise DataError(f"{p}: column size_cells: sizes must be > 0 cells")
    for day, grp in df.groupby("exam_day"):
        counts = grp.sort_values("size_cells")["n_larger"].to_numpy()
        if np.any(np.diff(counts) > 0):
            raise DataError(f"{p}: exam_day {day:g}: n_larger must not increase with size_cells")
    return CumulativeSizeData(
        table=df[needed].reset_index(drop=True), source=meta["source"], uncertainty=meta.get("uncertainty", "")
    )


def predict_cumulative(p: IwataParameters, exam_days: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Expected number of metastases larger than ``sizes`` at ``exam_days`` (broadcast together)."""
    exam_days, sizes = np.asarray(exam_days, float), np.asarray(sizes, float)
    sol = solve_deterministic(iwata_model(p), float(np.max(exam_days)), rtol=1e-8)
    return np.asarray(sol.n_above(exam_days, sizes))


def synthetic_cumulative_size_data(
    p: IwataParameters = PUBLISHED,
    exam_days=RECOVERY_EXAM_DAYS,
    sizes=RECOVERY_SIZES_CELLS,
    *,
    round_counts: bool = True,
    n_cells: int = 1200,
) -> CumulativeSizeData:
    """Counts of the Iwata model at ``p`` computed by the independent method-of-lines solver.

    With ``round_counts`` the expected counts are rounded to integers, as observed counts are.
    """
    from metacascade.engines.method_of_lines import solve_method_of_lines

    ds = solve_method_of_lines(iwata_model(p), np.asarray(exam_days, float), np.asarray(sizes, float), n_cells=n_cells)
    tt, xx = np.meshgrid(np.asarray(exam_days, float), np.asarray(sizes, float), indexing="ij")
    table = pd.DataFrame({"exam_day": tt.ravel(), "size_cells": xx.ravel(), "n_larger": ds["n_above"].values.ravel()})
    data = CumulativeSizeData(
        table=table, source=f"generated by the method-of-lines solver at {p.as_dict()}", uncertainty="none"
    )
    return data.rounded() if round_counts else data


@dataclass(frozen=True)
class IwataFit:
    """Least-squares fit of the Iwata model to cumulative size data."""

    parameters: IwataParameters
    start: IwataParameters
    residual_sum_of_squares: float
    rmse_counts: float
    n_points: int
    success: bool
    message: str
    standard_errors_log: dict[str, float] = field(default_factory=dict)

    def interval(self, name: str, z: float = 1.96) -> tuple[float, float]:
        """Approximate (Wald, on log scale for a, b, m) 95% interval of a parameter."""
        v = getattr(self.parameters, name)
        se = self.standard_errors_log.get(name, math.nan)
        if name == "alpha":
            return v - z * se, v + z * se
        return v * math.exp(-z * se), v * math.exp(z * se)


_BOUNDS = (
    np.array([math.log(1e-4), math.log(1e8), math.log(1e-12), 0.2]),
    np.array([math.log(1e-1), math.log(1e13), math.log(1e-3), 1.2]),
)


def _unpack(theta: np.ndarray) -> IwataParameters:
    return IwataParameters(a=math.exp(theta[0]), b=math.exp(theta[1]), m=math.exp(theta[2]), alpha=float(theta[3]))


def fit_iwata(data: CumulativeSizeData, start: IwataParameters | None = None) -> IwataFit:
    """Fit a, b, m, alpha to the cumulative counts by least squares (the paper's criterion).

    Parameters are estimated on log scale (a, b, m) and linear scale (alpha) through the
    calibration API (:func:`metacascade.calibration.fit_least_squares`: scipy's trust-region
    reflective, bounded); standard errors come from the Gauss-Newton covariance
    ``s^2 (J^T J)^{-1}``.
    """
    df = data.table
    days, sizes, obs = (df[c].to_numpy(float) for c in ("exam_day", "size_cells", "n_larger"))
    if df.empty:
        raise CalibrationError("fit_iwata: the data table is empty")
    start = start or IwataParameters(a=0.004, b=3e10, m=2e-7, alpha=0.6)
    theta0 = np.array([math.log(start.a), math.log(start.b), math.log(start.m), start.alpha])
    theta0 = np.clip(theta0, _BOUNDS[0] + 1e-9, _BOUNDS[1] - 1e-9)

    def residuals(theta: np.ndarray) -> np.ndarray:
        try:
            return predict_cumulative(_unpack(theta), days, sizes) - obs
        except (ParameterError, SimulationError):
            return np.full(obs.size, 1e6)

    fit = fit_least_squares(
        residuals,
        theta0,
        _BOUNDS,
        ("a", "b", "m", "alpha"),
        x_scale=np.array([0.5, 1.0, 1.0, 0.05]),
        diff_step=1e-6,
        xtol=1e-12,
        ftol=1e-12,
        gtol=1e-12,
        max_nfev=2000,
    )
    res = fit.result
    rss = fit.residual_sum_of_squares
    ses = fit.standard_errors
    return IwataFit(
        parameters=_unpack(res.x),
        start=start,
        residual_sum_of_squares=rss,
        rmse_counts=math.sqrt(rss / obs.size),
        n_points=int(obs.size),
        success=bool(res.success),
        message=str(res.message),
        standard_errors_log={k: float(v) for k, v in ses.items()},
    )


def within_tolerance(name: str, published: float, reproduced: float) -> tuple[bool, str]:
    """The README's tolerance for one parameter: (passed, human-readable tolerance)."""
    if name == "alpha":
        return abs(reproduced - published) <= 0.03, "+-0.03"
    if name == "m":
        return 1 / 1.5 <= reproduced / published <= 1.5, "x/ 1.5"
    return abs(reproduced / published - 1) <= 0.10, "+-10%"
