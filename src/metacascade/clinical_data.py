r"""Published clinical reference data shipped with metacascade, read and checked (foundation layer).

Four tables live in ``metacascade/data/reference/`` (``README.md`` there gives their provenance
in full; every CSV starts with ``# `` comment lines saying the same):

- ``disibio2008_autopsy.csv`` -- DiSibio & French 2008, Figure 1: for 41 primary cancers, the
  number of autopsies with a metastasis in each of 30 sites, 3,827 untreated autopsies
  (1914-1943) and 9,484 metastases. Read with :func:`load_disibio`.
- ``seer_m1_by_size.csv`` -- SEER, operated patients: the number with distant metastasis at
  diagnosis (M1) by primary tumour diameter (size bins of 0.5 cm), 14 cancer types, as
  summarised by Szczurek et al. 2020. Read with :func:`load_seer_size`.
- ``seer_m1_survival_by_size.csv`` -- survival of those M1 patients who died of the cancer, by
  size bin. Read with :func:`load_seer_survival`.
- ``seer_peer_fits.csv`` -- Szczurek et al.'s own fits of their metastatic-bottleneck model to
  the SEER curves. Read with :func:`load_peer_fits`. Its ``r2`` column is
  :math:`\sqrt{\mathrm{cor}(\hat y, y)}` (their ``BCD_FittingLib.R``), not a coefficient of
  determination; the loader adds ``pearson_r`` (:math:`r2^2`) and ``r_squared`` (:math:`r2^4`).

SEER size bins. The authors assign each size (whole millimetres, at most 10 cm) to the
*nearest* of 0.1, 0.5, 1.0, 1.5, ..., 10.0 cm (``binByTumorSizes`` in their
``SEER/Metastasis_handy.R``), so ``size_bin_cm`` labels a bin's centre, not its lower edge:
0.1 holds 1-3 mm, 0.5 holds 4-7 mm, a bin ``b >= 1.0`` holds ``b - 0.2`` to ``b + 0.2`` cm and
10.0 holds 98-100 mm. Read as continuous sizes rounded to the millimetre, the bins are
[0.05, 0.35), [0.35, 0.75), [b - 0.25, b + 0.25) and [9.75, 10.05) cm, so ``size_mid_cm`` is
0.2, 0.55, ``b`` and 9.9 (:data:`SEER_SIZE_MID_CM`).

Every loader takes ``path=None`` (the shipped file) or the path of a file of the same format,
and raises :class:`~metacascade.errors.DataError` on bad input with a one-line message naming
the file, the line and row (primary, or cancer and size bin), the column, the value and what is
allowed.

References
----------
DiSibio G, French SW. Metastatic patterns of cancers: results from a large autopsy study.
Arch Pathol Lab Med 2008;132(6):931-939. Transcribed by Font-Clos F, Zapperi S, La Porta CAM
(iScience 2020), GitHub ComplexityBiosystems/CTC-model, commit 80c58d55.

Szczurek E, Kruger T, Klink B, Beerenwinkel N. A mathematical model of the metastatic bottleneck
predicts patient outcome and response to cancer treatment. PLoS Comput Biol 2020;16(10):e1008056.
Data and fits: GitHub EwaSzczurek/MetastaticBottleneck, commit 8a408d5c. SEER Program
(www.seer.cancer.gov) Research Data 1973-2013, National Cancer Institute, November 2015 submission.
"""

from __future__ import annotations

import csv
import difflib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import numpy as np
import pandas as pd

from metacascade.errors import DataError

__all__ = [
    "DISIBIO_SITES",
    "PEER_FIT_COLUMNS",
    "SEER_SIZE_BINS_CM",
    "SEER_SIZE_MID_CM",
    "DiSibioTable",
    "load_disibio",
    "load_early_seeding",
    "load_peer_fits",
    "load_node_positivity",
    "load_seer_size",
    "load_seer_survival",
    "seer_cancers",
]

_REFERENCE = ("data", "reference")
DISIBIO_FILE = "disibio2008_autopsy.csv"
SEER_SIZE_FILE = "seer_m1_by_size.csv"
SEER_SURVIVAL_FILE = "seer_m1_survival_by_size.csv"
PEER_FITS_FILE = "seer_peer_fits.csv"

#: The 30 metastatic sites of DiSibio & French 2008, Figure 1, in the figure's order.
DISIBIO_SITES: tuple[str, ...] = (
    "adrenal",
    "bone",
    "bladder",
    "brain",
    "breast",
    "diaphragm",
    "gallbladder",
    "heart",
    "kidney",
    "lung",
    "large intestine",
    "liver",
    "lymph_nodes_regional",
    "lymph_nodes_distant",
    "omentum",
    "ovaries",
    "pancreas",
    "pericardium",
    "peritoneum",
    "pleura",
    "prostate",
    "skeletal muscle",
    "skin",
    "small intestine",
    "spleen",
    "stomach",
    "testes",
    "thyroid",
    "uterus",
    "vagina",
)
_TOTAL = "TOTAL"

#: The SEER size-bin labels (cm): the nearest of these to a tumour's diameter names its bin.
SEER_SIZE_BINS_CM: tuple[float, ...] = (0.1, *(0.5 * k for k in range(1, 21)))

#: Bin label -> midpoint (cm) of the diameters the bin holds (see the module docstring).
SEER_SIZE_MID_CM: dict[float, float] = {b: b for b in SEER_SIZE_BINS_CM} | {0.1: 0.2, 0.5: 0.55, 10.0: 9.9}

_MISSING = {"", "nan", "na", "n/a", "null", "none"}
#: |fraction * n - count| above this is an inconsistent fraction (a fraction rounded to its
#: printed precision stays far below it; 0.5 would already change the count).
_FRACTION_TOLERANCE = 0.5


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class _Row:
    line: int
    fields: dict[str, str]


@dataclass(frozen=True)
class _Raw:
    name: str
    header: tuple[str, ...]
    rows: tuple[_Row, ...]


def _default_path(file: str) -> Path:
    return Path(str(files("metacascade").joinpath(*_REFERENCE, file)))


def _read(path: str | Path | None, default: str, required: Sequence[str]) -> _Raw:
    """The CSV's header and rows as text (comment lines ``#`` and blank lines skipped), with its
    columns checked: every required column present, no other and none twice."""
    p = _default_path(default) if path is None else Path(path)
    name = str(p)
    try:
        text = p.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise DataError(f"{name}: file not found") from None
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{name}: corrupt CSV: not UTF-8 text (byte {exc.start}: {exc.reason}); allowed: a UTF-8 CSV file"
        ) from None
    except OSError as exc:
        raise DataError(f"{name}: cannot read: {exc.strerror or exc}") from None
    header: tuple[str, ...] | None = None
    rows: list[_Row] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if "\x00" in line:
            raise DataError(f"{name}: line {lineno}: corrupt CSV: NUL byte; allowed: a text CSV file")
        try:
            fields = [f.strip() for f in next(csv.reader([line], strict=True))]
        except csv.Error as exc:
            raise DataError(f"{name}: line {lineno}: corrupt CSV: {exc}") from None
        if header is None:
            header = tuple(fields)
            _check_header(name, lineno, header, required)
            continue
        if len(fields) != len(header):
            raise DataError(
                f"{name}: line {lineno} (row {fields[0]!r}): corrupt CSV: {len(fields)} "
                f"fields, the header has {len(header)}; allowed: one field per column"
            )
        rows.append(_Row(lineno, dict(zip(header, fields))))
    if header is None:
        raise DataError(
            f"{name}: corrupt CSV: no header line (only comments or blank lines); "
            f"allowed: a header with columns {', '.join(required)}"
        )
    if not rows:
        raise DataError(f"{name}: no data rows after the header")
    return _Raw(name, header, tuple(rows))


def _check_header(name: str, lineno: int, header: tuple[str, ...], required: Sequence[str]) -> None:
    allowed = ", ".join(required)
    for column in header:
        if header.count(column) > 1:
            raise DataError(
                f"{name}: line {lineno} (header): column {column!r} appears "
                f"{header.count(column)} times; allowed: each of {allowed} once"
            )
    missing = [c for c in required if c not in header]
    if missing:
        raise DataError(
            f"{name}: line {lineno} (header): missing column {missing[0]!r}"
            f"{_suggest(missing[0], [c for c in header if c not in required])}; "
            f"required columns: {allowed}"
        )
    unknown = [c for c in header if c not in required]
    if unknown:
        raise DataError(
            f"{name}: line {lineno} (header): unknown column {unknown[0]!r}"
            f"{_suggest(unknown[0], required)}; allowed columns: {allowed}"
        )


def _suggest(word: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(candidates), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


class _Cells:
    """Typed access to one row's fields; every error names file, line, row, column and value."""

    def __init__(self, raw: _Raw, row: _Row, label: str):
        self.raw, self.row, self.label = raw, row, label

    def fail(self, column: str | None, problem: str, allowed: str) -> DataError:
        where = f"{self.raw.name}: line {self.row.line}, {self.label}"
        if column is not None:
            where += f", column {column!r}: value {self.row.fields[column]!r}"
        return DataError(f"{where} {problem}; allowed: {allowed}")

    def text(self, column: str, allowed: str) -> str:
        value = self.row.fields[column]
        if value.lower() in _MISSING:
            raise self.fail(column, "is missing (NaN)", allowed)
        return value

    def number(self, column: str, allowed: str) -> float:
        value = self.text(column, allowed)
        try:
            x = float(value)
        except ValueError:
            raise self.fail(column, "is not a number", allowed) from None
        if math.isnan(x):
            raise self.fail(column, "is missing (NaN)", allowed)
        if not math.isfinite(x):
            raise self.fail(column, "is not finite", allowed)
        return x

    def count(self, column: str, minimum: int = 0, maximum: int | None = None, allowed: str | None = None) -> int:
        if allowed is None:
            allowed = f"an integer >= {minimum}" if maximum is None else f"an integer {minimum}..{maximum}"
        x = self.number(column, allowed)
        if not x.is_integer():
            raise self.fail(column, "is not an integer", allowed)
        k = int(x)
        if k < 0:
            raise self.fail(column, "is negative", allowed)
        if k < minimum:
            raise self.fail(column, f"is below {minimum}", allowed)
        if maximum is not None and k > maximum:
            raise self.fail(column, f"is larger than {maximum}", allowed)
        return k

    def real(self, column: str, low: float | None = None, high: float | None = None) -> float:
        if low is not None and high is not None:
            allowed = f"a number in [{low:g}, {high:g}]"
        elif low is not None:
            allowed = f"a number >= {low:g}"
        else:
            allowed = "a finite number"
        x = self.number(column, allowed)
        if (low is not None and x < low) or (high is not None and x > high):
            raise self.fail(column, "is out of range", allowed)
        return x


def _name(raw: _Raw, row: _Row, column: str, what: str) -> str:
    value = row.fields[column]
    if value.lower() in _MISSING:
        raise DataError(
            f"{raw.name}: line {row.line}, column {column!r}: value {value!r} is missing; allowed: a {what} name"
        )
    return value


def _unknown(kind: str, value: object, allowed: Iterable[str], where: str = "") -> DataError:
    allowed = list(allowed)
    return DataError(
        f"{where}unknown {kind} {value!r}{_suggest(str(value), allowed)}; allowed: {', '.join(map(repr, allowed))}"
    )


def _seer_bin(cells: _Cells) -> float:
    allowed = "one of " + ", ".join(f"{b:g}" for b in SEER_SIZE_BINS_CM)
    x = cells.number("size_bin_cm", allowed)
    for b in SEER_SIZE_BINS_CM:
        if abs(x - b) < 1e-9:
            return b
    raise cells.fail("size_bin_cm", "is not a size-bin label", allowed)


def _seer_rows(raw: _Raw) -> list[tuple[_Cells, str, float]]:
    """(cells, cancer, bin) of every row, duplicated (cancer, bin) rejected."""
    out: list[tuple[_Cells, str, float]] = []
    seen: dict[tuple[str, float], int] = {}
    for row in raw.rows:
        cancer = _name(raw, row, "cancer", "cancer")
        label = f"cancer {cancer!r}, size bin {row.fields['size_bin_cm']}"
        cells = _Cells(raw, row, label)
        b = _seer_bin(cells)
        if (cancer, b) in seen:
            raise DataError(
                f"{raw.name}: line {row.line}, {label}: duplicated row (first at line "
                f"{seen[cancer, b]}); allowed: one row per cancer and size bin"
            )
        seen[cancer, b] = row.line
        out.append((cells, cancer, b))
    return out


def _select_cancer(frame: pd.DataFrame, cancer: str | None, name: str, absent: str | None = None) -> pd.DataFrame:
    """The rows of one cancer; an unknown name raises DataError listing the allowed ones. A name
    of the SEER size table without rows here gets ``absent`` as its reason."""
    if cancer is None:
        return frame
    names = sorted(frame["cancer"].unique())
    if cancer not in names:
        if absent is not None and cancer in seer_cancers():
            raise DataError(
                f"{name}: cancer {cancer!r} has no rows in this file ({absent}); allowed: {', '.join(map(repr, names))}"
            )
        raise _unknown("cancer", cancer, names, where=f"{name}: ")
    return frame[frame["cancer"] == cancer].reset_index(drop=True)


# --------------------------------------------------------------------------- DiSibio


@dataclass(frozen=True, eq=False)
class DiSibioTable:
    """DiSibio & French 2008, Figure 1: autopsies with a metastasis per primary and site.

    Attributes
    ----------
    counts : pandas.DataFrame
        index ``primary`` (41 names in the shipped file), columns the 30 sites of
        :data:`DISIBIO_SITES`, int64 counts of autopsies with a metastasis at the site.
    n_autopsies : pandas.Series
        autopsies per primary (int64, same index).
    source : str
        the file read.
    """

    counts: pd.DataFrame
    n_autopsies: pd.Series
    source: str

    @property
    def primaries(self) -> tuple[str, ...]:
        return tuple(self.counts.index)

    @property
    def sites(self) -> tuple[str, ...]:
        return tuple(self.counts.columns)

    def _check_primary(self, primary: str) -> None:
        if primary not in self.counts.index:
            raise _unknown("primary", primary, self.primaries, where=f"{self.source}: ")

    def fraction(self, primary: str, site: str) -> float:
        """Fraction of the primary's autopsies with a metastasis at the site (count / n)."""
        self._check_primary(primary)
        if site not in self.counts.columns:
            raise _unknown("site", site, self.sites, where=f"{self.source}: ")
        return float(self.counts.at[primary, site] / self.n_autopsies[primary])

    def fractions(self) -> pd.DataFrame:
        """All fractions, counts divided by each primary's number of autopsies."""
        return self.counts.div(self.n_autopsies, axis=0)

    def combine(self, name: str, primaries: Sequence[str]) -> DiSibioTable:
        """A new table with one more row, ``name``, the sum of the counts and of the autopsies of
        ``primaries`` (e.g. ``combine("colorectal", ["colon", "rectum"])``: its fractions are
        the autopsy-weighted mean of theirs). The rows combined stay in the table."""
        if isinstance(primaries, str):
            primaries = [primaries]
        primaries = list(primaries)
        if not primaries:
            raise DataError(
                f"{self.source}: combine({name!r}): no primaries given; allowed: one "
                "or more of " + ", ".join(map(repr, self.primaries))
            )
        for p in primaries:
            self._check_primary(p)
            if primaries.count(p) > 1:
                raise DataError(
                    f"{self.source}: combine({name!r}): primary {p!r} given "
                    f"{primaries.count(p)} times; allowed: each primary once"
                )
        if not isinstance(name, str) or not name.strip() or name in self.counts.index or name == _TOTAL:
            raise DataError(
                f"{self.source}: combine: name {name!r} is empty or already a row; allowed: a new, non-empty name"
            )
        row = self.counts.loc[primaries].sum(axis=0).rename(name)
        counts = pd.concat([self.counts, row.to_frame().T.astype(np.int64)])
        counts.index.name = "primary"
        n = pd.concat(
            [self.n_autopsies, pd.Series([int(self.n_autopsies[primaries].sum())], index=[name], dtype=np.int64)]
        ).rename("n_autopsies")
        n.index.name = "primary"
        return DiSibioTable(counts=counts, n_autopsies=n, source=self.source)


def load_disibio(path: str | Path | None = None) -> DiSibioTable:
    """Read and check the DiSibio & French 2008 autopsy table (the shipped file by default).

    Columns ``primary``, ``n_autopsies``, the 30 sites of :data:`DISIBIO_SITES` and
    ``total_metastases``; a last row ``TOTAL`` holds the column sums. Checked: every count is an
    integer from 0 to the row's ``n_autopsies`` (itself >= 1), ``total_metastases`` is the row's
    sum, no primary appears twice, and every value of the TOTAL row is its column's sum. The
    TOTAL row is then dropped.
    """
    columns = ("primary", "n_autopsies", *DISIBIO_SITES, "total_metastases")
    raw = _read(path, DISIBIO_FILE, columns)
    data: dict[str, dict[str, int]] = {}
    lines: dict[str, int] = {}
    total: tuple[_Row, dict[str, int]] | None = None
    for row in raw.rows:
        primary = _name(raw, row, "primary", "primary")
        cells = _Cells(raw, row, f"primary {primary!r}")
        is_total = primary.upper() == _TOTAL
        n = cells.count("n_autopsies", minimum=1, allowed="a positive integer")
        values = {"n_autopsies": n}
        for site in DISIBIO_SITES:
            values[site] = cells.count(
                site, maximum=None if is_total else n, allowed=f"an integer count 0..n_autopsies ({n})"
            )
        values["total_metastases"] = cells.count("total_metastases")
        row_sum = sum(values[s] for s in DISIBIO_SITES)
        if values["total_metastases"] != row_sum:
            raise cells.fail("total_metastases", "is not the sum of the row's 30 sites", f"the row's sum, {row_sum}")
        if is_total:
            if total is not None:
                raise DataError(
                    f"{raw.name}: line {row.line}, row {primary!r}: a second TOTAL row "
                    f"(first at line {total[0].line}); allowed: one TOTAL row"
                )
            total = (row, values)
            continue
        if total is not None:
            raise DataError(
                f"{raw.name}: line {row.line}, primary {primary!r}: row after the "
                f"TOTAL row (line {total[0].line}); allowed: TOTAL as the last row"
            )
        if primary in data:
            raise DataError(
                f"{raw.name}: line {row.line}, primary {primary!r}: duplicated row "
                f"(first at line {lines[primary]}); allowed: one row per primary"
            )
        data[primary] = values
        lines[primary] = row.line
    if not data:
        raise DataError(f"{raw.name}: no primary rows, only a TOTAL row")
    if total is None:
        raise DataError(f"{raw.name}: no TOTAL row; allowed: a last row 'TOTAL' holding the column sums")
    frame = pd.DataFrame.from_dict(data, orient="index").astype(np.int64)
    total_row, total_values = total
    cells = _Cells(raw, total_row, f"row {total_row.fields['primary']!r}")
    for column in columns[1:]:
        s = int(frame[column].sum())
        if total_values[column] != s:
            raise cells.fail(column, f"is not the column sum of the {len(frame)} primaries ({s})", "the column sums")
    counts = frame[list(DISIBIO_SITES)].copy()
    counts.index.name = "primary"
    counts.columns.name = "site"
    n_autopsies = frame["n_autopsies"].rename("n_autopsies")
    n_autopsies.index.name = "primary"
    return DiSibioTable(counts=counts, n_autopsies=n_autopsies, source=raw.name)


# --------------------------------------------------------------------------- SEER


def load_seer_size(path: str | Path | None = None, *, cancer: str | None = None) -> pd.DataFrame:
    """Read and check the SEER table of distant metastasis at diagnosis by primary size.

    Returns a DataFrame sorted by cancer and size, columns ``cancer``, ``size_bin_cm`` (the bin
    label), ``size_mid_cm`` (the midpoint of the diameters the bin holds,
    :data:`SEER_SIZE_MID_CM`), ``n_patients``, ``n_m1`` (patients with distant metastasis) and
    ``fraction`` (= ``n_m1 / n_patients``). ``cancer=`` keeps that type's rows only.

    The file's columns are ``cancer, size_bin_cm, n_patients, n_m1, fraction_distant_met``.
    Checked: a known bin label, ``n_patients`` a positive integer, ``n_m1`` an integer
    0..n_patients, ``fraction_distant_met`` in [0, 1] and equal to ``n_m1 / n_patients`` to its
    printed precision (``|fraction * n - n_m1| <= 0.5``), one row per (cancer, bin).
    """
    columns = ("cancer", "size_bin_cm", "n_patients", "n_m1", "fraction_distant_met")
    raw = _read(path, SEER_SIZE_FILE, columns)
    records = []
    for cells, name, b in _seer_rows(raw):
        n = cells.count("n_patients", minimum=1, allowed="a positive integer")
        k = cells.count("n_m1", maximum=n, allowed=f"an integer count 0..n_patients ({n})")
        f = cells.real("fraction_distant_met", 0.0, 1.0)
        if abs(f * n - k) > _FRACTION_TOLERANCE:
            raise cells.fail(
                "fraction_distant_met",
                f"times n_patients ({n}) is {f * n:.4f}, not n_m1 ({k})",
                f"n_m1 / n_patients = {k / n:.6g}",
            )
        records.append((name, b, SEER_SIZE_MID_CM[b], n, k, k / n))
    frame = pd.DataFrame(records, columns=["cancer", "size_bin_cm", "size_mid_cm", "n_patients", "n_m1", "fraction"])
    frame = frame.astype({"n_patients": np.int64, "n_m1": np.int64})
    frame = frame.sort_values(["cancer", "size_bin_cm"], kind="stable").reset_index(drop=True)
    return _select_cancer(frame, cancer, raw.name)


def seer_cancers(path: str | Path | None = None) -> list[str]:
    """The cancer types of the SEER size table, sorted (14 in the shipped file)."""
    return sorted(load_seer_size(path)["cancer"].unique())


def load_seer_survival(path: str | Path | None = None, *, cancer: str | None = None) -> pd.DataFrame:
    """Read and check the survival of SEER M1 patients by primary size.

    Returns a DataFrame sorted by cancer and size, columns ``cancer``, ``size_bin_cm``,
    ``size_mid_cm``, ``n_patients``, ``mean_survival_months``, ``sd_months`` and
    ``median_survival_months``. Only patients who died of the cancer enter (no censoring, not a
    Kaplan-Meier estimate; 9 of the 14 types have rows). ``cancer=`` keeps that type's rows
    (one of the types in this file). Checked: a known bin label, ``n_patients`` a positive
    integer, survival values finite and >= 0, one row per (cancer, bin).
    """
    columns = ("cancer", "size_bin_cm", "n_patients", "mean_survival_months", "sd_months", "median_survival_months")
    raw = _read(path, SEER_SURVIVAL_FILE, columns)
    records = []
    for cells, name, b in _seer_rows(raw):
        n = cells.count("n_patients", minimum=1, allowed="a positive integer")
        values = [cells.real(c, low=0.0) for c in columns[3:]]
        records.append((name, b, SEER_SIZE_MID_CM[b], n, *values))
    frame = pd.DataFrame(records, columns=["cancer", "size_bin_cm", "size_mid_cm", *columns[2:]])
    frame = frame.astype({"n_patients": np.int64})
    frame = frame.sort_values(["cancer", "size_bin_cm"], kind="stable").reset_index(drop=True)
    return _select_cancer(frame, cancer, raw.name, absent="no size bin has 20 M1 patients who died of the cancer")


#: The peer's fitted parameters and fit statistics, in the order of their Fits.txt.
PEER_FIT_COLUMNS: tuple[str, ...] = ("T0", "h", "T1", "mu", "sigma", "f", "rmse", "r2")
_PEER_NONNEGATIVE = ("T0", "h", "T1", "sigma", "f", "rmse")


def load_peer_fits(path: str | Path | None = None, *, cancer: str | None = None) -> pd.DataFrame:
    """Read and check Szczurek et al.'s fits of their bottleneck model to the SEER curves.

    Returns a DataFrame (one row per cancer, in file order) with columns ``cancer``, ``T0``,
    ``h``, ``T1``, ``mu``, ``sigma``, ``f``, ``rmse``, ``r2`` as the authors wrote them, and
    two derived columns: ``pearson_r = r2**2`` and ``r_squared = r2**4``. The authors' ``r2`` is
    ``sqrt(cor(predicted, observed))`` over a joint vector of survival quantiles (years) and M1
    fractions (their ``BCD_FittingLib.R``, line 40), so it is neither r nor r^2 and overstates
    both. Checked: all values finite, ``T0, h, T1, sigma, f, rmse >= 0``, ``r2`` in [0, 1],
    one row per cancer.
    """
    raw = _read(path, PEER_FITS_FILE, ("cancer", *PEER_FIT_COLUMNS))
    records = []
    seen: dict[str, int] = {}
    for row in raw.rows:
        name = _name(raw, row, "cancer", "cancer")
        if name in seen:
            raise DataError(
                f"{raw.name}: line {row.line}, cancer {name!r}: duplicated row (first "
                f"at line {seen[name]}); allowed: one row per cancer"
            )
        seen[name] = row.line
        cells = _Cells(raw, row, f"cancer {name!r}")
        values = {}
        for column in PEER_FIT_COLUMNS:
            if column == "r2":
                values[column] = cells.real(column, 0.0, 1.0)
            elif column in _PEER_NONNEGATIVE:
                values[column] = cells.real(column, low=0.0)
            else:
                values[column] = cells.real(column)
        records.append({"cancer": name, **values})
    frame = pd.DataFrame.from_records(records, columns=["cancer", *PEER_FIT_COLUMNS])
    frame["pearson_r"] = frame["r2"] ** 2
    frame["r_squared"] = frame["r2"] ** 4
    return _select_cancer(frame, cancer, raw.name)


def load_node_positivity(cancer: str, path: str | Path | None = None) -> pd.DataFrame:
    """Node-positive fractions at surgery by primary size for ``cancer`` (rows of
    ``data/natural_history/<cancer>_node_positivity_by_size.csv`` that give a patient count and a
    size group; rows pooled over all sizes are left out).

    Columns: size_mm_low, size_mm_high (NaN: open), n, k (= round(value * n)), value, source.
    Raises DataError naming the file, row and column for a missing column, a count that is not a
    positive whole number, a fraction outside [0, 1] or a size range that is not increasing."""
    path = _natural_history(f"{cancer}_node_positivity_by_size.csv") if path is None else Path(path)
    df = _read_natural_history(
        path,
        "node-positivity",
        ["cancer", "size_mm_low", "size_mm_high", "value", "n", "source"],
        missing_file=f"{path}: no node-positivity data for cancer {cancer!r}",
    )
    # rows with a patient count and a lower size bound (rows pooled over all sizes have none)
    df = df[(df["cancer"] == cancer) & df["n"].notna() & df["size_mm_low"].notna()].reset_index(drop=True)
    rows = []
    for i, r in df.iterrows():
        where = f"{path.name} row {i + 1} ({r['source']}, {r['size_mm_low']}-{r['size_mm_high']} mm)"
        n = float(r["n"])
        if not (math.isfinite(n) and n >= 1 and n == round(n)):
            raise DataError(f"{where}: n: got {r['n']!r}, allowed a whole number of patients >= 1")
        v = float(r["value"])
        if not (math.isfinite(v) and 0.0 <= v <= 1.0):
            raise DataError(f"{where}: value: got {r['value']!r}, allowed a fraction in [0, 1]")
        lo, hi = float(r["size_mm_low"]), float(r["size_mm_high"])
        if not (math.isfinite(lo) and lo >= 0) or (math.isfinite(hi) and not hi > lo):
            raise DataError(f"{where}: size range {lo}-{hi} mm: allowed 0 <= low < high (high blank: open)")
        rows.append(
            {
                "size_mm_low": lo,
                "size_mm_high": hi,
                "n": int(n),
                "k": int(round(v * n)),
                "value": v,
                "source": str(r["source"]),
            }
        )
    return pd.DataFrame(rows, columns=["size_mm_low", "size_mm_high", "n", "k", "value", "source"])


RELAPSE_NODES = ("negative", "positive", "all")
RELAPSE_ENDPOINTS = ("distant", "any_recurrence", "any_recurrence_or_death")


def _natural_history(name: str) -> Path:
    return Path(str(files("metacascade").joinpath(f"data/natural_history/{name}")))


def _require_columns(df: pd.DataFrame, path: Path, need: Sequence[str]) -> None:
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise DataError(f"{path}: missing columns {missing}; expected at least {list(need)}")


def _read_natural_history(
    path: Path, what: str, need: Sequence[str], *, missing_file: str | None = None, **read: object
) -> pd.DataFrame:
    """A natural-history CSV (``#`` comment lines) with at least the columns ``need``; DataError
    naming the file for a missing file (``missing_file``: the message), an unreadable one or a
    missing column."""
    if not path.is_file():
        raise DataError(missing_file or f"{path}: no such {what} file")
    try:
        df = pd.read_csv(path, comment="#", **read)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"{path}: corrupt {what} file: {exc}") from None
    _require_columns(df, path, need)
    return df


def _float_or_nan(v: object) -> float:
    try:
        return float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def load_early_seeding(path: str | Path | None = None) -> pd.DataFrame:
    """Published shares of metastases founded while the primary was small
    (``data/natural_history/early_seeding.csv``; its header gives the sources). Raises DataError
    naming the row for a missing column, a non-positive volume or ``patients_early`` outside
    0..``patients_evaluable``."""
    path = _natural_history("early_seeding.csv") if path is None else Path(path)
    need = ["source", "presets", "primary_volume_cm3", "patients_early", "patients_evaluable", "where", "how_read"]
    df = _read_natural_history(path, "early-seeding", need)
    for i, r in df.iterrows():
        where = f"{path.name} row {i + 1} ({r['source']})"
        vol, k, n = (_float_or_nan(r[c]) for c in ("primary_volume_cm3", "patients_early", "patients_evaluable"))
        if not (math.isfinite(vol) and vol > 0):
            raise DataError(f"{where}: primary_volume_cm3: got {r['primary_volume_cm3']!r}, allowed a positive volume")
        if not (math.isfinite(n) and n >= 1 and n == int(n)):
            raise DataError(
                f"{where}: patients_evaluable: got {r['patients_evaluable']!r}, allowed a whole number >= 1"
            )
        if not (math.isfinite(k) and 0 <= k <= n and k == int(k)):
            raise DataError(
                f"{where}: patients_early: got {r['patients_early']!r}, allowed a whole number in 0..{int(n)}"
            )
    return df


#: What a row of ``stage_by_size_all_patients.csv`` gives: the stage I fraction or the M1 fraction.
STAGE_QUANTITIES = ("fraction_stage_one", "fraction_m1")


def load_stage_by_size(path: str | Path | None = None) -> pd.DataFrame:
    """Published stage I or M1 fractions at diagnosis by tumour size in all patients
    (``data/natural_history/stage_by_size_all_patients.csv``; its header gives the source). Raises
    DataError naming the row for a missing column, a value outside [0, 1], a model diameter that
    is not positive, an unknown quantity or a number of patients that is not a whole number >= 1."""
    path = _natural_history("stage_by_size_all_patients.csv") if path is None else Path(path)
    need = [
        "cancer",
        "quantity",
        "size_mm_low",
        "size_mm_high",
        "size_mm_model",
        "value",
        "n",
        "source",
        "where",
        "how_read",
    ]
    df = _read_natural_history(path, "stage-by-size", need)
    for i, r in df.iterrows():
        where = f"{path.name} row {i + 1} ({r['cancer']})"
        v, d = _float_or_nan(r["value"]), _float_or_nan(r["size_mm_model"])
        if not (math.isfinite(v) and 0.0 <= v <= 1.0):
            raise DataError(f"{where}: value: got {r['value']!r}, allowed a fraction in [0, 1]")
        if not (math.isfinite(d) and d > 0):
            raise DataError(f"{where}: size_mm_model: got {r['size_mm_model']!r}, allowed a positive diameter (mm)")
        if r["quantity"] not in STAGE_QUANTITIES:
            raise DataError(f"{where}: quantity: got {r['quantity']!r}, allowed {', '.join(STAGE_QUANTITIES)}")
        n = _float_or_nan(r["n"])
        if not (math.isfinite(n) and n >= 1 and n == int(n)):
            raise DataError(f"{where}: n: got {r['n']!r}, allowed a whole number of patients >= 1")
    return df


def load_relapse_targets(path: str | Path | None = None) -> pd.DataFrame:
    """Which relapse curve after surgery alone each preset is validated against
    (``data/natural_history/relapse_targets.csv``; its header documents the columns).

    Raises DataError naming the file, row and column for a missing column, an unknown ``nodes``
    or ``endpoint``, or a ``diameter`` that is neither a positive number nor ``seer_median``."""
    path = _natural_history("relapse_targets.csv") if path is None else Path(path)
    need = [
        "preset",
        "file",
        "quantity",
        "subgroup",
        "nodes",
        "diameter",
        "diameter_source",
        "max_diameter_mm",
        "endpoint",
    ]
    df = _read_natural_history(path, "relapse-target", need, dtype=str, keep_default_na=False)
    for i, r in df.iterrows():
        where = f"{path.name} row {i + 1} ({r['preset']})"
        if r["nodes"] not in RELAPSE_NODES:
            raise DataError(f"{where}: nodes: got {r['nodes']!r}, allowed {', '.join(RELAPSE_NODES)}")
        if r["endpoint"] not in RELAPSE_ENDPOINTS:
            raise DataError(f"{where}: endpoint: got {r['endpoint']!r}, allowed {', '.join(RELAPSE_ENDPOINTS)}")
        for col in ("diameter", "max_diameter_mm"):
            v = r[col]
            if v in ("", "seer_median") and not (col == "diameter" and v == ""):
                continue
            try:
                ok = math.isfinite(float(v)) and float(v) > 0
            except ValueError:
                ok = False
            if not ok:
                allowed = (
                    "a positive number (mm) or seer_median" if col == "diameter" else "a positive number (mm) or blank"
                )
                raise DataError(f"{where}: {col}: got {v!r}, allowed {allowed}")
    return df[need].reset_index(drop=True)


def load_relapse_curve(file: str, quantity: str, subgroup: str, path: str | Path | None = None) -> pd.DataFrame:
    """Survival-type points (``value`` = fraction still free of the event) at ``time_years`` of one
    series of a natural-history file, with ``n`` (at risk or in the series, as the file says) and
    the 95% interval where given; columns time_years, value, n, ci_low, ci_high, source.

    Raises DataError naming the file for a missing file, no matching rows, or a value outside [0, 1]."""
    path = _natural_history(file) if path is None else Path(path)
    df = _read_natural_history(path, "natural-history", ["quantity", "value", "n", "ci_low", "ci_high"])
    if "group" in df.columns:  # transbig_dmfs.csv: computed rows, group and a time interval
        _require_columns(df, path, ["group", "time_high_years"])
        sel = df[(df["quantity"] == quantity) & (df["group"] == subgroup)]
        out = pd.DataFrame(
            {
                "time_years": sel["time_high_years"],
                "value": sel["value"],
                "n": sel["n"],
                "ci_low": sel["ci_low"],
                "ci_high": sel["ci_high"],
            }
        )
        out["source"] = sel["source"] if "source" in sel.columns else "DESMEDT2007 (GSE7390, computed)"
    else:
        _require_columns(df, path, ["subgroup", "time_years", "source"])
        sel = df[(df["quantity"] == quantity) & (df["subgroup"] == subgroup)]
        out = sel[["time_years", "value", "n", "ci_low", "ci_high", "source"]].copy()
    out = out.astype({"time_years": float, "value": float, "n": float, "ci_low": float, "ci_high": float})
    if out.empty:
        raise DataError(f"{path.name}: no rows with quantity {quantity!r} and subgroup {subgroup!r}")
    bad = out[~out["value"].between(0.0, 1.0) | ~np.isfinite(out["time_years"])]
    if len(bad):
        raise DataError(
            f"{path.name} ({subgroup}): value {bad['value'].iloc[0]!r} at "
            f"{bad['time_years'].iloc[0]!r} years: allowed a fraction in [0, 1] at a finite time"
        )
    return out.sort_values("time_years").reset_index(drop=True)


def load_relapse_hazards(file: str, subgroup: str, path: str | Path | None = None) -> pd.DataFrame:
    """Distant-relapse events and person-years by follow-up interval of one group of a computed
    natural-history file (``transbig_dmfs.csv``: rows ``annual_hazard_distant_metastasis``);
    columns time_low_years, time_high_years, events, person_years.

    Raises DataError naming the file for a missing file or column, no rows for the group,
    intervals that do not join end to start, negative events or non-positive person-years."""
    path = _natural_history(file) if path is None else Path(path)
    need = ["quantity", "group", "time_low_years", "time_high_years", "events", "person_years"]
    df = _read_natural_history(path, "natural-history", need)
    sel = df[(df["quantity"] == "annual_hazard_distant_metastasis") & (df["group"] == subgroup)]
    if sel.empty:
        raise DataError(f"{path.name}: no annual_hazard_distant_metastasis rows for group {subgroup!r}")
    out = sel[need[2:]].astype(float).sort_values("time_low_years").reset_index(drop=True)
    lo, hi = out["time_low_years"].to_numpy(), out["time_high_years"].to_numpy()
    if not (np.all(hi > lo) and np.allclose(lo[1:], hi[:-1]) and lo[0] >= 0):
        raise DataError(f"{path.name} ({subgroup}): intervals {list(zip(lo, hi))} must join end to start from >= 0")
    if (out["events"] < 0).any() or not (out["person_years"] > 0).all():
        raise DataError(f"{path.name} ({subgroup}): events must be >= 0 and person_years > 0")
    return out


def distant_hazards_from_life_table(
    years: Sequence[float], rfs: Sequence[float], distant_events: float, distant_share: float
) -> pd.DataFrame:
    r"""Distant-relapse events and person-years by interval, reconstructed from a published
    life-table recurrence-free survival (``rfs`` at ``years``, any recurrence), the number of distant
    relapses the series observed (``distant_events``) and their share of all recurrences
    (``distant_share``), for a series that reports no numbers at risk.

    The distant relapse-free fraction is :math:`S_d(t) = 1 - s\,(1 - S(t))` (the distant share
    :math:`s` constant in time). Censoring is taken as spread evenly over the follow-up, so every
    interval carries the same effective cohort :math:`n_e = D / (1 - S_d(t_K))`, :math:`D` the
    distant relapses observed: interval :math:`k` has :math:`d_k = n_e (S_d(t_{k-1}) - S_d(t_k))`
    events in :math:`Y_k = n_e \Delta t_k (S_d(t_{k-1}) + S_d(t_k)) / 2` person-years (trapezoid).
    The hazards :math:`d_k / Y_k` follow the published curve, and the events add up to the
    observed :math:`D`, so the likelihood carries the series' information and no more.

    Returns rows ``annual_hazard_distant_metastasis`` (events, person_years, value = their
    ratio) and ``distant_rfs_reconstructed`` (value = :math:`S_d`, n = the effective number still
    free), columns as ``transbig_dmfs.csv``. Raises DataError for times not increasing from > 0,
    an RFS outside (0, 1] or not falling, a share outside (0, 1] or events <= 0."""
    t = np.asarray(years, float)
    s = np.asarray(rfs, float)
    if t.size == 0 or t.size != s.size or not (t[0] > 0 and np.all(np.diff(t) > 0)):
        raise DataError(f"life table: years {list(t)}: allowed increasing times > 0, one per RFS value")
    if not (np.all((s > 0) & (s <= 1)) and np.all(np.diff(s) <= 0)):
        raise DataError(f"life table: rfs {list(s)}: allowed fractions in (0, 1], not increasing")
    if not (0 < distant_share <= 1) or not (distant_events > 0):
        raise DataError(
            f"life table: distant_share {distant_share!r} must be in (0, 1] and distant_events {distant_events!r} > 0"
        )
    edges = np.concatenate([[0.0], t])
    sd = np.concatenate([[1.0], 1.0 - distant_share * (1.0 - s)])
    n_eff = distant_events / (1.0 - sd[-1])
    events = n_eff * (sd[:-1] - sd[1:])
    person_years = n_eff * np.diff(edges) * (sd[:-1] + sd[1:]) / 2.0
    rows = [
        {
            "quantity": "annual_hazard_distant_metastasis",
            "time_low_years": lo,
            "time_high_years": hi,
            "value": d / y,
            "events": d,
            "person_years": y,
            "n": math.nan,
        }
        for lo, hi, d, y in zip(edges[:-1], edges[1:], events, person_years)
    ]
    rows += [
        {
            "quantity": "distant_rfs_reconstructed",
            "time_low_years": 0.0,
            "time_high_years": hi,
            "value": v,
            "events": n_eff * (1.0 - v),
            "person_years": math.nan,
            "n": n_eff * v,
        }
        for hi, v in zip(edges[1:], sd[1:])
    ]
    return pd.DataFrame(
        rows, columns=["quantity", "time_low_years", "time_high_years", "value", "events", "person_years", "n"]
    )


# --------------------------------------------------------------------------- Haeno 2012 (pancreas)

HAENO_PATIENTS_FILE = "haeno2012_patients.csv"
HAENO_DIGITISED_FILE = "haeno2012_survival_digitised.csv"
#: The first rows of the Haeno 2012 patient file that carry the autopsy fields (the autopsy cohort).
HAENO_AUTOPSY_ROWS = 101
_HAENO_COLUMNS = (
    "Case", "Age", "DateDx_Surg", "SizePrimary", "Resected", "MaxMetSize", "MetRange", "DateDeath",
    "Chemo", "Rads", "NeoadjTx", "AdjuvantTx", "Survival", "DodOrFup", "ALIVE_DEAD",
)  # fmt: skip
HAENO_COHORTS = ("autopsy", "adjuvant")


@dataclass(frozen=True)
class Haeno2012:
    """The Haeno et al. 2012 pancreatic-cancer patients and the digitised survival of their cohorts.

    ``patients``: one row per usable patient, columns ``case``, ``cohort`` (``autopsy`` /
    ``adjuvant``), ``size_cm`` (primary at diagnosis), ``resected`` (bool), ``months`` (from
    diagnosis to death or last follow-up), ``died`` (bool), ``max_met_cm`` (largest metastasis at
    autopsy; NaN outside the autopsy cohort or where not recorded). ``digitised``: ``cohort``,
    ``months``, ``fraction_dead``. ``excluded``: (case, what was done) for the rows left out and
    those whose status was read from their dates.
    """

    patients: pd.DataFrame
    digitised: pd.DataFrame
    excluded: tuple[tuple[int, str], ...]
    source: str


def _haeno_date(cells: _Cells, column: str) -> pd.Timestamp | None:
    value = cells.row.fields[column]
    if not value or value.lower() in _MISSING:
        return None
    try:
        return pd.Timestamp(pd.to_datetime(value, format="%m/%d/%y"))
    except (ValueError, TypeError):
        raise cells.fail(column, "is not a date", "a date m/d/yy or empty") from None


def load_haeno2012(path: str | Path | None = None, digitised_path: str | Path | None = None) -> Haeno2012:
    """Read and check the Haeno 2012 patients and digitised survival (the shipped files by default).

    Autopsy cohort: the first :data:`HAENO_AUTOPSY_ROWS` rows (the ones with the autopsy fields),
    ``Resected`` Yes/No, dead. Adjuvant cohort: the other rows, resected. Time: the months from
    ``DateDx_Surg`` to ``DateDeath`` (an event; also where ``ALIVE_DEAD`` says alive, noted) or
    else to ``DodOrFup`` (an event when ``ALIVE_DEAD`` says dead, censored otherwise), days /
    30.4375; a recorded positive ``Survival`` must agree with the dates within 0.01 month. Rows
    without a usable date are left out. ``excluded`` lists both. DataError names the line, case
    and column.
    """
    raw = _read(path, HAENO_PATIENTS_FILE, _HAENO_COLUMNS)
    records = []
    excluded: list[tuple[int, str]] = []
    seen: dict[int, int] = {}
    for i, row in enumerate(raw.rows):
        case_cells = _Cells(raw, row, f"row {i + 1}")
        case = case_cells.count("Case", minimum=1, allowed="a positive integer case number")
        cells = _Cells(raw, row, f"case {case}")
        if case in seen:
            raise cells.fail("Case", f"is a duplicate (first at line {seen[case]})", "each case once")
        seen[case] = row.line
        size = cells.real("SizePrimary", 0.01, 30.0)
        cohort = "autopsy" if i < HAENO_AUTOPSY_ROWS else "adjuvant"
        status = row.fields["ALIVE_DEAD"].strip().lower()
        if cohort == "autopsy":
            res = row.fields["Resected"].strip().lower()
            if res not in ("yes", "no"):
                raise cells.fail("Resected", "is not Yes or No", "Yes or No in the autopsy cohort")
            resected = res == "yes"
            if status != "dead":
                raise cells.fail("ALIVE_DEAD", "is not DEAD", "DEAD (every autopsy patient died)")
        else:
            resected = True
            if status not in ("dead", "alive", "unk", ""):
                raise cells.fail("ALIVE_DEAD", "is not a known status", "Dead, Alive, UNK or empty")
        dx = _haeno_date(cells, "DateDx_Surg")
        death = _haeno_date(cells, "DateDeath")
        end = death or _haeno_date(cells, "DodOrFup")
        if dx is None or end is None:
            excluded.append((case, "left out: no date of diagnosis or of death/follow-up"))
            continue
        months = (end - dx).days / 30.4375
        if months < 0:
            raise cells.fail("DodOrFup", f"is {months:.2f} months before DateDx_Surg", "a date after the diagnosis")
        surv = cells.number("Survival", "a number (months; negative: alive)")
        if surv > 0 and abs(surv - months) > 0.01:
            raise cells.fail(
                "Survival", f"differs from the dates ({months:.4f} months)", "the months between the dates"
            )
        died = status == "dead" or death is not None
        if death is not None and status != "dead":
            excluded.append((case, f"status {row.fields['ALIVE_DEAD']!r} with a DateDeath: counted dead then"))
        elif not died and status != "alive":
            excluded.append((case, f"status {row.fields['ALIVE_DEAD']!r}: censored at DodOrFup"))
        mm = row.fields["MaxMetSize"].strip()
        max_met = float(mm) if cohort == "autopsy" and mm and mm.lower() not in _MISSING else math.nan
        records.append((case, cohort, size, resected, max(months, 1e-3), died, max_met))
    patients = pd.DataFrame(
        records, columns=["case", "cohort", "size_cm", "resected", "months", "died", "max_met_cm"]
    ).astype({"case": np.int64, "resected": bool, "died": bool})
    graw = _read(
        digitised_path, HAENO_DIGITISED_FILE, ("cohort", "months", "cumulative_fraction_dead", "increment", "source")
    )
    drec = []
    last: dict[str, tuple[float, float]] = {}
    for row in graw.rows:
        cells = _Cells(graw, row, f"row {row.fields['cohort']!r} {row.fields['months']!r}")
        cohort = row.fields["cohort"]
        if cohort not in HAENO_COHORTS:
            raise cells.fail("cohort", "is not a cohort", " or ".join(HAENO_COHORTS))
        m = cells.real("months", 0.0, 600.0)
        f = cells.real("cumulative_fraction_dead", 0.0, 1.0)
        pm, pf = last.get(cohort, (-1.0, 0.0))
        if m <= pm or f < pf:
            raise cells.fail(
                "months",
                "does not increase (or the fraction decreases)",
                "increasing months, a non-decreasing fraction",
            )
        last[cohort] = (m, f)
        drec.append((cohort, m, f))
    digitised = pd.DataFrame(drec, columns=["cohort", "months", "fraction_dead"])
    return Haeno2012(patients=patients, digitised=digitised, excluded=tuple(excluded), source=raw.name)
