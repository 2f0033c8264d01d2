r"""Organ function, organ failure and symptoms from the tumour burden in each organ (docs/design.md section 1.7).

Each organ :math:`j` of the body graph has a reference adult volume
:math:`V_j = M_j / \rho_j` (mass :math:`M_j`, ICRP 89 reference man or woman, over tissue
density :math:`\rho_j`), a **failure fraction** :math:`f_j`: the fraction of the organ's volume
replaced by tumour at which it fails, and optionally a **symptom fraction** :math:`g_j \le f_j`.
A burden of :math:`N` cells at :math:`c` cells per mm\ :sup:`3` occupies
:math:`V_T = N / c` mm\ :sup:`3`, i.e. the replaced fraction :math:`\phi = V_T / V_j`. Then

.. math::

    F_j(N) = \max\!\left(0,\; 1 - \frac{\phi}{f_j}\right)
           = \max\!\left(0,\; 1 - \frac{N}{f_j V_j c}\right)

is the organ's remaining function (1 = intact, 0 = failed), linear in the tumour volume as
docs/design.md section 1.7 states. The organ fails at :math:`N_j^\mathrm{fail} = f_j V_j c` cells and
causes its symptom (skeletal-related event, neurological deficit, ...) at
:math:`N_j^\mathrm{sympt} = g_j V_j c`. Failure of a **vital** organ (lung, liver, brain, kidney,
heart, leptomeninges) kills the patient and names the cause of death; failure of a non-vital
organ does not (:func:`failure_cells` returns ``inf`` for it). Where the source gives an absolute
volume (brain: intracerebral mass of 60 cm\ :sup:`3`, Broderick 1993) the fraction is that volume
over :math:`V_j`.

The thresholds come from acute losses (resection, haemorrhage, infarction); slowly growing
tumours allow some adaptation, so they are conservative. Every number with its source and
status is in ``data/organ_health.toml``.

References
----------
.. [1] ICRP Publication 89. Basic anatomical and physiological data for use in radiological
   protection: reference values. Ann ICRP 2002;32(3-4).
.. [2] Broderick JP, Brott TG, Duldner JE, Tomsick T, Huster G. Volume of intracerebral
   hemorrhage. A powerful and easy-to-use predictor of 30-day mortality. Stroke 1993;24:987-993.
.. [3] Vauthey JN et al. Standardized measurement of the future liver remnant prior to extended
   liver resection. Surgery 2000;127:512-519.
.. [4] Alonso DR, Scheidt S, Post M, Killip T. Pathophysiology of cardiogenic shock.
   Circulation 1973;48:588-596.
.. [5] Bone Scan Index predicts skeletal-related events in patients with metastatic breast
   cancer. Springerplus 2016;5:1095.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from metacascade.errors import DataError, ParameterError

__all__ = [
    "BURDEN_DEATH_LABEL",
    "SEXES",
    "OrganHealth",
    "cause_of_death_labels",
    "failure_cells",
    "organ_function",
    "organ_health",
    "organ_names",
    "reference_body_mass_g",
    "symptom_cells",
]

SEXES: tuple[str, ...] = ("male", "female")
#: Cause-of-death label when the total burden, not an organ, reaches the lethal size.
BURDEN_DEATH_LABEL = "total tumour burden"
_DEFAULT_SOURCE = "metacascade/data/organ_health.toml"
_MM3_PER_CM3 = 1000.0


def _names(kind: str, given: Any, allowed: Iterable[str]) -> str:
    from metacascade._messages import did_you_mean

    allowed = tuple(allowed)
    return f"unknown {kind} {given!r}{did_you_mean(str(given), allowed)}; allowed: {', '.join(allowed)}"


def _density(cells_per_mm3: Any) -> float:
    if isinstance(cells_per_mm3, bool):
        raise ParameterError(f"cells_per_mm3: got {cells_per_mm3!r}, allowed a finite cell density > 0")
    try:
        c = float(cells_per_mm3)
    except (TypeError, ValueError):
        raise ParameterError(f"cells_per_mm3: got {cells_per_mm3!r}, allowed a finite cell density > 0") from None
    if not (math.isfinite(c) and c > 0):
        raise ParameterError(f"cells_per_mm3: got {cells_per_mm3!r}, allowed a finite cell density > 0")
    return c


@dataclass(frozen=True)
class OrganHealth:
    r"""Size, vitality and burden thresholds of one organ for one sex.

    Attributes
    ----------
    organ, sex : str
    mass_g : float
        reference adult mass (g).
    density_g_cm3 : float
        tissue density; volume = mass / density.
    vital : bool
        whether failure of the organ kills.
    failure_fraction : float
        :math:`f`: fraction of the organ's volume replaced by tumour at which it fails (> 0).
    symptom_fraction : float or None
        :math:`g \le f`: fraction at which :attr:`symptom` appears; None if none is modelled.
    consequence : str
        what failure is; the cause-of-death label of a vital organ.
    symptom : str
    source, status : str
    """

    organ: str
    sex: str
    mass_g: float
    density_g_cm3: float
    vital: bool
    failure_fraction: float
    symptom_fraction: float | None
    consequence: str
    symptom: str = ""
    source: str = ""
    status: str = ""

    def __post_init__(self) -> None:
        for name in ("mass_g", "density_g_cm3", "failure_fraction"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                raise ParameterError(f"organs.{self.organ}.{name}: got {v!r}, allowed a finite number > 0")
        g = self.symptom_fraction
        if g is not None and (
            isinstance(g, bool)
            or not isinstance(g, (int, float))
            or not math.isfinite(g)
            or not 0 < g <= self.failure_fraction
        ):
            raise ParameterError(
                f"organs.{self.organ}.symptom_fraction: got {g!r}, allowed a number in "
                f"(0, failure_fraction = {self.failure_fraction:g}]"
            )

    @property
    def volume_cm3(self) -> float:
        """:math:`V = M / \\rho` (cm\\ :sup:`3`)."""
        return self.mass_g / self.density_g_cm3

    @property
    def volume_mm3(self) -> float:
        return self.volume_cm3 * _MM3_PER_CM3

    def cells(self, fraction: float, cells_per_mm3: float) -> float:
        """Cells filling ``fraction`` of the organ: ``fraction * volume_mm3 * cells_per_mm3``."""
        return fraction * self.volume_mm3 * _density(cells_per_mm3)

    def function_loss_cells(self, cells_per_mm3: float) -> float:
        """:math:`f V c`: burden at which the organ's function reaches 0 (vital or not)."""
        return self.cells(self.failure_fraction, cells_per_mm3)

    def failure_cells(self, cells_per_mm3: float) -> float:
        """:math:`f V c` for a vital organ (its failure kills); ``inf`` for a non-vital one."""
        return self.function_loss_cells(cells_per_mm3) if self.vital else math.inf

    def symptom_cells(self, cells_per_mm3: float) -> float:
        """:math:`g V c`, or ``inf`` when no symptom threshold is modelled."""
        if self.symptom_fraction is None:
            _density(cells_per_mm3)
            return math.inf
        return self.cells(self.symptom_fraction, cells_per_mm3)

    def replaced_fraction(self, burden_cells: ArrayLike, cells_per_mm3: float) -> NDArray[np.float64] | float:
        """:math:`\\phi = (N / c) / V`: tumour volume over organ volume (may exceed 1)."""
        n = _burden(burden_cells)
        phi = n / _density(cells_per_mm3) / self.volume_mm3
        return float(phi) if np.ndim(burden_cells) == 0 else phi

    def function(self, burden_cells: ArrayLike, cells_per_mm3: float) -> NDArray[np.float64] | float:
        """:math:`F = \\max(0, 1 - \\phi / f)`: remaining function, 1 intact, 0 failed."""
        phi = self.replaced_fraction(burden_cells, cells_per_mm3)
        out = np.maximum(0.0, 1.0 - np.asarray(phi) / self.failure_fraction)
        return float(out) if np.ndim(burden_cells) == 0 else out


def _burden(burden_cells: ArrayLike) -> NDArray[np.float64]:
    if isinstance(burden_cells, bool):
        raise ParameterError(f"burden_cells: got {burden_cells!r}, allowed finite cell counts >= 0")
    try:
        n = np.asarray(burden_cells, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError(f"burden_cells: got {burden_cells!r}, allowed finite cell counts >= 0") from None
    if not np.all(np.isfinite(n)) or np.any(n < 0):
        raise ParameterError(f"burden_cells: got {burden_cells!r}, allowed finite cell counts >= 0")
    return n


# -- loading --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Table:
    source: str
    organs: tuple[str, ...]
    rows: dict[str, dict[str, Any]]
    total_mass_g: dict[str, float]


def _from_dict(raw: Mapping[str, Any], source: str) -> _Table:
    from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

    from metacascade._messages import format_validation_error

    strict = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)

    class _BySex(BaseModel):
        model_config = strict
        male: float = Field(gt=0)
        female: float = Field(gt=0)

    class _Organ(BaseModel):
        model_config = strict
        mass_g: _BySex
        density_g_cm3: float = Field(gt=0)
        vital: bool
        failure_fraction: float | None = Field(default=None, gt=0)
        failure_volume_cm3: float | None = Field(default=None, gt=0)
        symptom_fraction: float | None = Field(default=None, gt=0)
        symptom_volume_cm3: float | None = Field(default=None, gt=0)
        consequence: str
        symptom: str = ""
        source: str
        status: str

        @model_validator(mode="after")
        def _one_of(self) -> _Organ:
            if (self.failure_fraction is None) == (self.failure_volume_cm3 is None):
                raise ValueError("give exactly one of failure_fraction and failure_volume_cm3")
            if self.symptom_fraction is not None and self.symptom_volume_cm3 is not None:
                raise ValueError("give at most one of symptom_fraction and symptom_volume_cm3")
            return self

    class _Reference(BaseModel):
        model_config = strict
        total_mass_g: _BySex
        source: str
        status: str

    class _File(BaseModel):
        model_config = strict
        reference_body: _Reference
        organs: dict[str, _Organ] = Field(min_length=1)

    try:
        data = _File.model_validate(raw)
    except ValidationError as exc:
        raise DataError(format_validation_error(exc, _File, source)) from None
    rows = {name: o.model_dump() for name, o in data.organs.items()}
    table = _Table(
        source=source, organs=tuple(data.organs), rows=rows, total_mass_g=data.reference_body.total_mass_g.model_dump()
    )
    for organ in table.organs:  # validate every organ for both sexes now, with the file's name
        for sex in SEXES:
            try:
                _build(table, organ, sex)
            except ParameterError as exc:
                raise DataError(f"{source}: {exc}") from None
    return table


def _build(table: _Table, organ: str, sex: str) -> OrganHealth:
    row = table.rows[organ]
    mass, density = row["mass_g"][sex], row["density_g_cm3"]
    volume_cm3 = mass / density
    f = row["failure_fraction"] if row["failure_fraction"] is not None else row["failure_volume_cm3"] / volume_cm3
    g = row["symptom_fraction"]
    if g is None and row["symptom_volume_cm3"] is not None:
        g = row["symptom_volume_cm3"] / volume_cm3
    return OrganHealth(
        organ=organ,
        sex=sex,
        mass_g=mass,
        density_g_cm3=density,
        vital=row["vital"],
        failure_fraction=f,
        symptom_fraction=g,
        consequence=row["consequence"],
        symptom=row["symptom"],
        source=row["source"],
        status=row["status"],
    )


@lru_cache(maxsize=1)
def _default_table() -> _Table:
    text = files("metacascade").joinpath("data/organ_health.toml").read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # pragma: no cover - shipped file
        raise DataError(f"{_DEFAULT_SOURCE}: corrupt: {exc}") from None
    return _from_dict(raw, _DEFAULT_SOURCE)


def _table(path: str | Path | None) -> _Table:
    if path is None:
        return _default_table()
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{p}: cannot read the organ health file: {exc}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"{p}: corrupt organ health file: {exc}") from None
    return _from_dict(raw, str(p))


def _sex(sex: str) -> str:
    if sex not in SEXES:
        raise ParameterError(f"sex: {_names('sex', sex, SEXES)}")
    return sex


def _organ_tuple(organs: Iterable[str] | str | None, table: _Table) -> tuple[str, ...]:
    if organs is None:
        return table.organs
    if isinstance(organs, str):
        organs = (organs,)
    organs = tuple(organs)
    for organ in organs:
        if organ not in table.rows:
            raise ParameterError(f"organ: {_names('organ', organ, table.organs)}")
    return organs


# -- public API -----------------------------------------------------------------------------------
def organ_names(path: str | Path | None = None) -> tuple[str, ...]:
    """The organs of the organ health file, in file order (the body graph's organs)."""
    return _table(path).organs


def reference_body_mass_g(sex: str = "male", *, path: str | Path | None = None) -> float:
    """Total mass of the reference adult (ICRP 89: 73 kg man, 60 kg woman)."""
    return _table(path).total_mass_g[_sex(sex)]


def organ_health(
    organs: Iterable[str] | str | None = None, path: str | Path | None = None, *, sex: str = "male"
) -> tuple[OrganHealth, ...]:
    """One :class:`OrganHealth` per organ, in the order given.

    Parameters
    ----------
    organs : tuple of str, optional
        organ names (default: every organ of the file, in file order).
    path : path, optional
        an organ health TOML file (default: the shipped ``data/organ_health.toml``).
    sex : {"male", "female"}
        which reference adult's organ sizes to use.

    Raises
    ------
    ParameterError
        an unknown organ or sex (the message lists the allowed names).
    DataError
        the file is unreadable or a field is missing or of the wrong type (names file and field).
    """
    table, s = _table(path), _sex(sex)
    return tuple(_build(table, organ, s) for organ in _organ_tuple(organs, table))


def failure_cells(
    organs: Iterable[str] | str, cells_per_mm3: float, *, path: str | Path | None = None, sex: str = "male"
) -> NDArray[np.float64]:
    """Per organ, the burden (cells) at which it fails and kills: :math:`f_j V_j c`; ``inf`` for
    non-vital organs."""
    c = _density(cells_per_mm3)
    return np.array([h.failure_cells(c) for h in organ_health(organs, path, sex=sex)], dtype=float)


def symptom_cells(
    organs: Iterable[str] | str, cells_per_mm3: float, *, path: str | Path | None = None, sex: str = "male"
) -> NDArray[np.float64]:
    """Per organ, the burden (cells) at which its symptom appears: :math:`g_j V_j c`; ``inf``
    where none is modelled."""
    c = _density(cells_per_mm3)
    return np.array([h.symptom_cells(c) for h in organ_health(organs, path, sex=sex)], dtype=float)


def organ_function(
    burden_cells: ArrayLike, organ: str, cells_per_mm3: float, *, path: str | Path | None = None, sex: str = "male"
) -> NDArray[np.float64] | float:
    r"""Remaining function of ``organ`` with ``burden_cells`` tumour cells in it.

    .. math:: F = \max\!\left(0,\; 1 - \frac{N / c}{f\,V}\right)

    with :math:`N` the burden (cells), :math:`c` the cell density (cells/mm\ :sup:`3`), :math:`V`
    the organ volume (mm\ :sup:`3`) and :math:`f` its failure fraction: 1 with no tumour, falling
    linearly with the tumour volume to 0 at :math:`N = f V c` and 0 beyond. Works element-wise
    on an array of burdens (e.g. over time).
    """
    (h,) = organ_health((organ,), path, sex=sex)
    return h.function(burden_cells, cells_per_mm3)


def cause_of_death_labels(
    organs: Iterable[str] | str | None = None, *, path: str | Path | None = None
) -> tuple[str | None, ...]:
    """Per organ, the cause-of-death label when it fails (its ``consequence``), or None for a
    non-vital organ. A death from the total burden is labelled :data:`BURDEN_DEATH_LABEL`."""
    table = _table(path)
    return tuple(table.rows[o]["consequence"] if table.rows[o]["vital"] else None for o in _organ_tuple(organs, table))
