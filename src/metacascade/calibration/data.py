r"""Data formats for calibrating metastasis models: checked tables in canonical units.

Two formats, both read from a CSV file, a Parquet file or a pandas DataFrame:

- **Longitudinal** (:func:`load_longitudinal`): repeated measurements of one or more patients,
  columns ``patient``, ``time``, ``primary_size`` and optionally ``metastasis_count``,
  ``metastasis_burden`` and ``organ`` (count and burden then per organ, one row per organ and
  time).
- **Time to event** (:func:`load_time_to_event`): one row per patient, a duration, an event
  indicator and covariates.

Units are never guessed: they are declared with the ``units=`` / ``time_unit=`` keyword or, in a
CSV file, with a comment line such as ::

    # units: time=days, primary_size=mm, metastasis_burden=cells
    # source: any other comment line is kept in ``.comments``
    patient,time,primary_size,metastasis_count,metastasis_burden,organ
    P1,0,12.5,0,0,liver

Canonical units (those of the engines): time in days (1 week = 7 d, 1 month = 30.4375 d,
1 year = 365.25 d, Julian), sizes and burdens in cells. A diameter ``d`` becomes the cells of a
ball, :math:`N = \rho \pi d^3 / 6`, with ``rho`` the cell density ``cells_per_mm3`` (default
1e6 cells/mm^3, i.e. the usual 1e9 cells/cm^3, Del Monte 2009); volumes become ``rho V``.

Every problem raises :class:`~metacascade.errors.DataError` whose message names the file (or
``<table>`` for a DataFrame), the column, the first offending row (0-based data row, comment
lines and the header not counted) or patient, the value and what is allowed.

References
----------
Del Monte U. Does the cell number 10^9 still really fit one gram of tumor tissue?
Cell Cycle 2009;8(3):505-506.
"""

from __future__ import annotations

import difflib
import gzip
import io
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metacascade.errors import DataError

__all__ = [
    "BURDEN_UNITS",
    "CELLS_PER_MM3",
    "SIZE_UNITS",
    "TIME_UNITS_DAYS",
    "LongitudinalData",
    "TimeToEventData",
    "load_longitudinal",
    "load_time_to_event",
]

TIME_UNITS_DAYS = {"days": 1.0, "weeks": 7.0, "months": 30.4375, "years": 365.25}  # Julian year / 12
SIZE_UNITS = ("mm", "cm", "mm3", "cm3", "cells")  # mm, cm: diameters of a ball
BURDEN_UNITS = ("cells", "mm3", "cm3")
CELLS_PER_MM3 = 1e6  # 1e9 cells/cm^3 (Del Monte 2009)

_LONGITUDINAL_REQUIRED = ("patient", "time", "primary_size")
_LONGITUDINAL_OPTIONAL = ("metastasis_count", "metastasis_burden", "organ")
_LONGITUDINAL_UNITS = {"time": tuple(TIME_UNITS_DAYS), "primary_size": SIZE_UNITS, "metastasis_burden": BURDEN_UNITS}
_CSV_SUFFIXES = (".csv", ".txt", ".csv.gz")
_PARQUET_SUFFIXES = (".parquet", ".pq")
_UNITS_LINE = re.compile(r"^\s*#\s*units\s*:(.*)$", re.IGNORECASE)
_TRUE = {"1", "1.0", "true"}
_FALSE = {"0", "0.0", "false"}


@dataclass(frozen=True, eq=False)
class LongitudinalData:
    """Longitudinal tumour measurements in canonical units.

    Attributes
    ----------
    table : pandas.DataFrame
        one row per measurement (per organ when ``organ`` is given), in the source's row
        order, columns ``patient``, ``time_days`` (float), ``primary_cells`` (float) and, when
        the source has them, ``metastasis_count`` (int64), ``metastasis_burden_cells`` (float),
        ``organ`` (str, one of :func:`metacascade.model.health.organ_names`).
    units : dict
        the units as declared (``{"time": "months", "primary_size": "mm", ...}``).
    source : str
        the file path, or ``"<table>"`` for a DataFrame.
    comments : tuple of str
        the CSV comment lines other than the units line, without the leading ``#``.
    """

    table: pd.DataFrame
    units: dict[str, str]
    source: str
    comments: tuple[str, ...] = ()

    @property
    def patients(self) -> list:
        """The patient ids (plain Python str or int), in order of first appearance."""
        return [p.item() if isinstance(p, np.generic) else p for p in pd.unique(self.table["patient"])]

    @property
    def n_patients(self) -> int:
        """The number of distinct patients."""
        return int(self.table["patient"].nunique())


@dataclass(frozen=True, eq=False)
class TimeToEventData:
    """One row per patient: a duration in days, an event indicator and covariates.

    Attributes
    ----------
    table : pandas.DataFrame
        columns ``duration_days`` (float, >= 0), ``event`` (bool: True = event observed,
        False = censored) and the covariates as in the source (numeric or categorical strings).
    covariates : tuple of str
        the covariate column names, in the order given.
    source : str
        the file path, or ``"<table>"`` for a DataFrame.
    units : dict
        the units as declared (``{"time": "days"}``, plus any covariate units of the CSV's units
        line, kept as written and not converted).
    comments : tuple of str
        the CSV comment lines other than the units line, without the leading ``#``.
    """

    table: pd.DataFrame
    covariates: tuple[str, ...]
    source: str
    units: dict[str, str] = field(default_factory=dict)
    comments: tuple[str, ...] = ()

    @property
    def n_events(self) -> int:
        """The number of observed events."""
        return int(self.table["event"].sum())


# ----------------------------------------------------------------------------------- reading


def _read(source: str | Path | pd.DataFrame) -> tuple[pd.DataFrame, str, dict[str, str], tuple[str, ...]]:
    """The raw table (fresh 0..n-1 index), the source name, the units of the comment line and
    the other comment lines."""
    if isinstance(source, pd.DataFrame):
        df = source.reset_index(drop=True).copy()
        name, units, comments = "<table>", {}, ()
    elif isinstance(source, (str, Path)):
        path = Path(source)
        name = str(path)
        if not path.is_file():
            raise DataError(
                f"{name}: file not found; give a CSV ({', '.join(_CSV_SUFFIXES)}) or Parquet "
                f"({', '.join(_PARQUET_SUFFIXES)}) file, or a pandas DataFrame"
            )
        suffix = "".join(path.suffixes[-2:]).lower() if path.name.lower().endswith(".gz") else path.suffix.lower()
        if suffix in _PARQUET_SUFFIXES:
            try:
                df = pd.read_parquet(path)
            except Exception as exc:  # pyarrow raises several types
                raise DataError(f"{name}: cannot read as Parquet: {exc}") from exc
            units, comments = {}, ()
        elif suffix in _CSV_SUFFIXES:
            df, units, comments = _read_csv(path, name)
        else:
            raise DataError(
                f"{name}: unknown file type {suffix or '(no suffix)'!r}; allowed: "
                f"{', '.join(_CSV_SUFFIXES + _PARQUET_SUFFIXES)}"
            )
        df = df.reset_index(drop=True)
    else:
        raise DataError(
            f"source: got {type(source).__name__}; allowed: a path to a CSV or Parquet file, or a pandas DataFrame"
        )
    df.columns = [str(c).strip() for c in df.columns]
    if df.empty:
        raise DataError(f"{name}: the table has no data rows")
    return df, name, units, comments


def _read_csv(path: Path, name: str) -> tuple[pd.DataFrame, dict[str, str], tuple[str, ...]]:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8-sig") as fh:
            lines = fh.read().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{name}: cannot read as UTF-8 text: {exc}") from exc
    units: dict[str, str] = {}
    comments: list[str] = []
    data: list[str] = []
    for line in lines:
        if not line.lstrip().startswith("#"):
            data.append(line)
            continue
        match = _UNITS_LINE.match(line)
        if match is None:
            comments.append(line.lstrip()[1:].strip())
            continue
        for key, value in _parse_units_line(match.group(1), name, line).items():
            if key in units and units[key] != value:
                raise DataError(
                    f"{name}: units line {line.strip()!r}: {key} declared as both {units[key]!r} "
                    f"and {value!r}; declare each column's unit once"
                )
            units[key] = value
    if not any(s.strip() for s in data):
        raise DataError(f"{name}: no header line and no data rows (only comments)")
    try:
        df = pd.read_csv(io.StringIO("\n".join(data)), skipinitialspace=True)
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataError(f"{name}: cannot parse as CSV: {exc}") from exc
    return df, units, tuple(comments)


def _parse_units_line(text: str, name: str, line: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in re.split(r"[,;]", text):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise DataError(
                f"{name}: units line {line.strip()!r}: cannot read {item.strip()!r}; write "
                "'# units: column=unit, column=unit', e.g. '# units: time=days, primary_size=mm'"
            )
        out[key.strip()] = value.strip().lower()
    return out


def _merge_units(
    declared: Mapping[str, str] | None, from_file: Mapping[str, str], name: str, keyword: str
) -> dict[str, str]:
    """The units of the keyword and of the file's comment line; they must agree where both declare."""
    units = {str(k).strip(): str(v).strip().lower() for k, v in from_file.items()}
    for key, value in (declared or {}).items():
        key, value = str(key).strip(), str(value).strip().lower()
        if key in units and units[key] != value:
            raise DataError(
                f"{name}: unit of {key}: {keyword} says {value!r} but the file's units line says "
                f"{units[key]!r}; declare it once or make them agree"
            )
        units[key] = value
    return units


# ----------------------------------------------------------------------------------- checks


def _r(value: Any) -> str:
    """repr of a table value as the user wrote it (numpy scalars as plain Python numbers)."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _where(row: int, patients: pd.Series | None) -> str:
    if patients is None:
        return f"row {row}"
    return f"row {row} (patient {_r(patients.iloc[row])})"


def _require_columns(df: pd.DataFrame, required: Iterable[str], name: str, what: str) -> None:
    missing = [c for c in required if c not in df.columns]
    if missing:
        hints = []
        for col in missing:
            close = difflib.get_close_matches(col, [str(c) for c in df.columns], n=1)
            hints.append(f"{col!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise DataError(
            f"{name}: missing column {', '.join(hints)}; {what} needs columns "
            f"{', '.join(required)} (found: {', '.join(map(str, df.columns)) or 'none'})"
        )


def _numeric(df: pd.DataFrame, col: str, name: str, patients: pd.Series | None) -> np.ndarray:
    """The column as finite floats; NaN, empty, non-numeric and infinite values raise."""
    raw = df[col]
    if raw.dtype == bool:
        raise DataError(f"{name}: column {col!r}, {_where(0, patients)}: got booleans; allowed: numbers")
    values = pd.to_numeric(raw, errors="coerce").astype(float).to_numpy()
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        value = raw.iloc[row]
        if pd.isna(value):
            problem = "missing value (empty or NaN)"
        elif isinstance(value, str):
            problem = f"non-numeric value {value!r}"
        else:
            problem = f"non-finite value {_r(value)}"
        raise DataError(f"{name}: column {col!r}, {_where(row, patients)}: {problem}; allowed: finite numbers")
    return values


def _first(mask: np.ndarray) -> int | None:
    idx = np.flatnonzero(mask)
    return int(idx[0]) if idx.size else None


def _check_unit(units: Mapping[str, str], key: str, allowed: Iterable[str], name: str, how: str) -> str:
    allowed = tuple(allowed)
    if key not in units:
        raise DataError(
            f"{name}: column {key!r}: unit not declared; {how} (allowed units for {key}: {', '.join(allowed)})"
        )
    unit = units[key]
    if unit not in allowed:
        close = difflib.get_close_matches(unit, allowed, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise DataError(f"{name}: column {key!r}: unknown unit {unit!r}{hint}; allowed: {', '.join(allowed)}")
    return unit


def _size_to_cells(values: np.ndarray, unit: str, cells_per_mm3: float) -> np.ndarray:
    """Cells of a measured size: a ball's volume for diameters, ``rho V`` for volumes."""
    if unit == "cells":
        return values.astype(float)
    if unit in ("mm", "cm"):
        d_mm = values * (10.0 if unit == "cm" else 1.0)
        return math.pi / 6.0 * d_mm**3 * cells_per_mm3
    return values * (1000.0 if unit == "cm3" else 1.0) * cells_per_mm3


# ----------------------------------------------------------------------------------- loaders


def load_longitudinal(
    source: str | Path | pd.DataFrame, *, units: Mapping[str, str] | None = None, cells_per_mm3: float = CELLS_PER_MM3
) -> LongitudinalData:
    r"""Load and check longitudinal tumour measurements, converted to days and cells.

    Parameters
    ----------
    source : path or pandas.DataFrame
        a CSV (``.csv``, ``.txt``, ``.csv.gz``) or Parquet (``.parquet``, ``.pq``) file, or a
        DataFrame. Columns: ``patient`` (str or int), ``time``, ``primary_size``; optional
        ``metastasis_count`` (integer >= 0), ``metastasis_burden`` (>= 0) and ``organ`` (one of
        :func:`metacascade.model.health.organ_names`; count and burden are then per organ).
        Other columns are ignored.
    units : mapping, optional
        ``{"time": "days" | "weeks" | "months" | "years", "primary_size": "mm" | "cm" | "mm3" |
        "cm3" | "cells", "metastasis_burden": "cells" | "mm3" | "cm3"}``; ``mm``/``cm`` are
        diameters. May instead (or as well, if they agree) come from a CSV comment line
        ``# units: time=days, primary_size=mm, metastasis_burden=cells``. Required for every
        column present.
    cells_per_mm3 : float
        cell density used to turn sizes into cells (default 1e6 /mm^3 = 1e9 /cm^3).

    Returns
    -------
    LongitudinalData
        ``time_days = time x {1, 7, 30.4375, 365.25}``; ``primary_cells = rho pi d^3 / 6`` for
        a diameter d in mm (``rho V`` for a volume V in mm^3); burden likewise.

    Raises
    ------
    DataError
        missing column or unit; unknown unit; NaN, empty or non-numeric value; negative time;
        time not strictly increasing within a patient (per organ when ``organ`` is given);
        primary size <= 0 or differing between organ rows of one patient and time; negative or
        non-integer count; negative burden; unknown organ.

    References
    ----------
    Del Monte U. Cell Cycle 2009;8(3):505-506 (1e9 cells per cm^3 of tumour).
    """
    if not (isinstance(cells_per_mm3, (int, float)) and math.isfinite(cells_per_mm3) and cells_per_mm3 > 0):
        raise DataError(f"cells_per_mm3: got {cells_per_mm3!r}; allowed: a finite number > 0 (default 1e6)")
    df, name, file_units, comments = _read(source)
    _require_columns(df, _LONGITUDINAL_REQUIRED, name, "longitudinal data")
    declared = _merge_units(units, file_units, name, "units=")
    unknown = [k for k in declared if k not in _LONGITUDINAL_UNITS]
    if unknown:
        raise DataError(
            f"{name}: units for unknown column {unknown[0]!r}; units can be declared for "
            f"{', '.join(_LONGITUDINAL_UNITS)}"
        )
    how = (
        "declare it with units={'time': ..., 'primary_size': ..., 'metastasis_burden': ...} or, in a CSV, "
        "a first line '# units: time=days, primary_size=mm, metastasis_burden=cells'"
    )
    has = {c: c in df.columns for c in _LONGITUDINAL_OPTIONAL}
    time_unit = _check_unit(declared, "time", _LONGITUDINAL_UNITS["time"], name, how)
    size_unit = _check_unit(declared, "primary_size", _LONGITUDINAL_UNITS["primary_size"], name, how)
    burden_unit = (
        _check_unit(declared, "metastasis_burden", BURDEN_UNITS, name, how) if has["metastasis_burden"] else None
    )
    if "metastasis_burden" in declared and not has["metastasis_burden"]:
        _check_unit(declared, "metastasis_burden", BURDEN_UNITS, name, how)  # still a valid unit

    patients = df["patient"]
    missing = _first(patients.isna().to_numpy())
    if missing is not None:
        raise DataError(f"{name}: column 'patient', row {missing}: missing patient id; allowed: a str or int")

    time = _numeric(df, "time", name, patients)
    row = _first(time < 0)
    if row is not None:
        raise DataError(
            f"{name}: column 'time', {_where(row, patients)}: negative time {_r(df['time'].iloc[row])}; "
            "allowed: time >= 0"
        )
    size = _numeric(df, "primary_size", name, patients)
    row = _first(size <= 0)
    if row is not None:
        raise DataError(
            f"{name}: column 'primary_size', {_where(row, patients)}: "
            f"got {_r(df['primary_size'].iloc[row])}; allowed: primary_size > 0"
        )

    out = pd.DataFrame(
        {
            "patient": patients.to_numpy(),
            "time_days": time * TIME_UNITS_DAYS[time_unit],
            "primary_cells": _size_to_cells(size, size_unit, float(cells_per_mm3)),
        }
    )
    if has["metastasis_count"]:
        count = _numeric(df, "metastasis_count", name, patients)
        row = _first(count < 0)
        if row is not None:
            raise DataError(
                f"{name}: column 'metastasis_count', {_where(row, patients)}: negative count "
                f"{_r(df['metastasis_count'].iloc[row])}; allowed: integers >= 0"
            )
        row = _first(count != np.round(count))
        if row is not None:
            raise DataError(
                f"{name}: column 'metastasis_count', {_where(row, patients)}: non-integer count "
                f"{_r(df['metastasis_count'].iloc[row])}; allowed: integers >= 0"
            )
        out["metastasis_count"] = count.astype(np.int64)
    if has["metastasis_burden"]:
        burden = _numeric(df, "metastasis_burden", name, patients)
        row = _first(burden < 0)
        if row is not None:
            raise DataError(
                f"{name}: column 'metastasis_burden', {_where(row, patients)}: negative burden "
                f"{_r(df['metastasis_burden'].iloc[row])}; allowed: metastasis_burden >= 0"
            )
        out["metastasis_burden_cells"] = _size_to_cells(burden, burden_unit, float(cells_per_mm3))
    if has["organ"]:
        out["organ"] = _organs(df["organ"], name, patients)

    _check_increasing(out, df["time"], name, time_unit, by_organ=has["organ"])
    if has["organ"]:
        _check_primary_consistent(out, df, name)
    return LongitudinalData(table=out, units=dict(declared), source=name, comments=comments)


def _organs(raw: pd.Series, name: str, patients: pd.Series) -> np.ndarray:
    from metacascade.model.health import organ_names

    allowed = tuple(organ_names())
    values = []
    for row, value in enumerate(raw):
        if pd.isna(value) or not isinstance(value, str) or not value.strip():
            raise DataError(
                f"{name}: column 'organ', {_where(row, patients)}: got {_r(value)}; allowed: {', '.join(allowed)}"
            )
        organ = value.strip().lower()
        if organ not in allowed:
            close = difflib.get_close_matches(organ, allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise DataError(
                f"{name}: column 'organ', {_where(row, patients)}: unknown organ {value!r}{hint}; "
                f"allowed: {', '.join(allowed)}"
            )
        values.append(organ)
    return np.asarray(values, dtype=object)


def _check_increasing(out: pd.DataFrame, raw_time: pd.Series, name: str, unit: str, *, by_organ: bool) -> None:
    """Within each patient (and organ), times strictly increase in row order."""
    keys = ["patient", "organ"] if by_organ else ["patient"]
    previous = out.groupby(keys, sort=False)["time_days"].shift(1).to_numpy()
    position = pd.Series(np.arange(len(out)), index=out.index)
    previous_row = position.groupby([out[k] for k in keys], sort=False).shift(1).to_numpy()
    row = _first(out["time_days"].to_numpy() <= previous)  # NaN (first row of a group) compares False
    if row is None:
        return
    prev = int(previous_row[row])
    scope = f" in organ {_r(out['organ'].iloc[row])}" if by_organ else ""
    raise DataError(
        f"{name}: column 'time', row {row} (patient {_r(out['patient'].iloc[row])}){scope}: time "
        f"{_r(raw_time.iloc[row])} {unit} is not after {_r(raw_time.iloc[prev])} {unit} (row {prev}); "
        "allowed: strictly increasing times within each patient, rows in time order"
    )


def _check_primary_consistent(out: pd.DataFrame, df: pd.DataFrame, name: str) -> None:
    """With per-organ rows, the primary size of one patient at one time is one number."""
    position = pd.Series(np.arange(len(out)), index=out.index)
    first_row = position.groupby([out["patient"], out["time_days"]], sort=False).transform("first").to_numpy()
    cells = out["primary_cells"].to_numpy()
    row = _first(cells != cells[first_row])
    if row is not None:
        ref = int(first_row[row])
        raise DataError(
            f"{name}: column 'primary_size', row {row} (patient {_r(out['patient'].iloc[row])}): "
            f"primary size {_r(df['primary_size'].iloc[row])} at time {_r(df['time'].iloc[row])} "
            f"differs from {_r(df['primary_size'].iloc[ref])} (row {ref}) of another organ row; "
            "allowed: the same primary_size on every organ row of one patient and time"
        )


def load_time_to_event(
    source: str | Path | pd.DataFrame,
    *,
    duration: str = "time",
    event: str = "event",
    covariates: Iterable[str] | str | None = None,
    time_unit: str | None = None,
) -> TimeToEventData:
    """Load and check a time-to-event table (one row per patient), durations converted to days.

    Parameters
    ----------
    source : path or pandas.DataFrame
        a CSV or Parquet file, or a DataFrame.
    duration : str
        column of follow-up durations (>= 0).
    event : str
        column of event indicators: 0/1, booleans, or the strings ``0``/``1``/``true``/``false``
        (any case); 1 = event observed, 0 = censored.
    covariates : list of str, optional
        columns kept as they are (numeric or categorical strings); none may be missing/NaN.
    time_unit : {"days", "weeks", "months", "years"}, optional
        unit of ``duration``; required unless the CSV has a line ``# units: time=days`` (the key
        may also be the duration column's name).

    Raises
    ------
    DataError
        missing column or time unit; unknown unit; NaN, non-numeric or negative duration; event
        not 0/1; missing covariate value.
    """
    df, name, file_units, comments = _read(source)
    if isinstance(covariates, str):
        covariates = [covariates]
    covariates = tuple(str(c) for c in (covariates or ()))
    for reserved in ("duration_days", "event"):
        if reserved in covariates:
            raise DataError(
                f"{name}: covariate {reserved!r} clashes with an output column; allowed: covariates "
                "other than 'duration_days' and 'event' (rename the column)"
            )
    overlap = [c for c in covariates if c in (duration, event)]
    if overlap:
        raise DataError(
            f"{name}: covariate {overlap[0]!r} is also the duration or event column; allowed: other columns"
        )
    _require_columns(df, (duration, event, *covariates), name, "this time-to-event table")

    if duration != "time" and duration in file_units:  # '# units: <duration column>=days' means time
        file_units = {("time" if k == duration else k): v for k, v in file_units.items()}
    declared = _merge_units({"time": time_unit} if time_unit is not None else None, file_units, name, "time_unit=")
    unknown = [k for k in declared if k != "time" and k not in df.columns]
    if unknown:
        raise DataError(
            f"{name}: units line names unknown column {unknown[0]!r}; allowed: 'time' (the duration) "
            "or a column of the table"
        )
    how = "give time_unit='days' (or weeks, months, years) or, in a CSV, a first line '# units: time=days'"
    unit = _check_unit(declared, "time", tuple(TIME_UNITS_DAYS), name, how)

    values = _numeric(df, duration, name, None)
    row = _first(values < 0)
    if row is not None:
        raise DataError(
            f"{name}: column {duration!r}, row {row}: negative duration {_r(df[duration].iloc[row])}; "
            "allowed: duration >= 0"
        )
    out = pd.DataFrame({"duration_days": values * TIME_UNITS_DAYS[unit], "event": _events(df[event], name, event)})
    for col in covariates:
        row = _first(df[col].isna().to_numpy())
        if row is not None:
            raise DataError(
                f"{name}: column {col!r}, row {row}: missing covariate value; allowed: no NaN or empty "
                "values (drop or impute the row first)"
            )
        out[col] = df[col].to_numpy()
    return TimeToEventData(table=out, covariates=covariates, source=name, units=dict(declared), comments=comments)


def _events(raw: pd.Series, name: str, col: str) -> np.ndarray:
    out = np.empty(len(raw), dtype=bool)
    for row, value in enumerate(raw):
        flag: Any = None
        if isinstance(value, (bool, np.bool_)):
            flag = bool(value)
        elif isinstance(value, (int, float, np.integer, np.floating)) and not pd.isna(value):
            flag = {0: False, 1: True}.get(value)  # 1.0 == 1 hashes alike
        elif isinstance(value, str):
            text = value.strip().lower()
            flag = True if text in _TRUE else False if text in _FALSE else None
        if flag is None:
            raise DataError(
                f"{name}: column {col!r}, row {row}: event indicator {_r(value)}; allowed: 0/1, "
                "True/False (1 = event observed, 0 = censored)"
            )
        out[row] = flag
    return out
