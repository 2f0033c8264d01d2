r"""Hormone levels, hormone-sensitive growth and endocrine therapy (model layer; docs/design.md section 1.4).

A patient carries four hormone levels (:class:`HormoneLevels`): estradiol (pmol/L), free T4
(pmol/L), free T3 (pmol/L) and prolactin (ng/mL). Each has a physiological range per sex and,
for women, menopausal status, and an "impossible" bound above which a value cannot be a
physiological measurement (a unit or typing error); :func:`check_levels` raises for those and for
negative or non-finite values, and returns warnings for values outside the physiological range.

**Hormone-sensitive growth.** A hormone-sensitive tumour's growth rate is multiplied by an
Emax/Hill dose-response of the level :math:`L` of its hormone, normalised at a reference level
:math:`L_\mathrm{ref}` so that a preset's fitted growth rate is kept there:

.. math::

    m(L) = (1 - w) + w\,\frac{L^h}{L^h + \mathrm{EC}_{50}^h}, \qquad
    H(L) = \frac{m(L)}{m(L_\mathrm{ref})},

with :math:`w \in [0, 1]` the hormone-driven fraction of proliferation, :math:`\mathrm{EC}_{50}`
the half-maximal level and :math:`h` the Hill coefficient. :math:`H(L_\mathrm{ref}) = 1` exactly;
:math:`H` increases with :math:`L` (for :math:`w > 0`) from :math:`(1-w)/m(L_\mathrm{ref})` at
:math:`L = 0` to :math:`1/m(L_\mathrm{ref})` at saturation. The shipped ER+ breast parameters
(``data/hormones.toml``) reproduce the 14-day Ki-67 fall under anastrozole given its residual
plasma estradiol (Dixon 2008), assuming growth rate proportional to proliferation (endocrine
therapy did not raise apoptosis in IMPACT, Dowsett 2005).

**Endocrine agents.** Each agent multiplies the effective estradiol level:
:math:`L_\mathrm{eff} = L \prod_k f_k`. Aromatase inhibitors lower plasma estradiol (factors are
the measured residual fractions). Tamoxifen is a receptor antagonist; competitive antagonism
shifts :math:`\mathrm{EC}_{50}` to :math:`\mathrm{EC}_{50}(1 + [I]/K_I)`, which is the same as
dividing the agonist level by :math:`1 + [I]/K_I` (Gaddum), so it too is a level factor (derived
from IMPACT's Ki-67 suppression relative to anastrozole). Factors of different agents multiply;
IMPACT found tamoxifen + anastrozole no better than tamoxifen alone, so the product overstates
that combination.

Every number, its source and its status (R, R2, D, GK) are in ``data/hormones.toml``.

References
----------
.. [1] Verdonk SJE et al. Estradiol reference intervals in women during the menstrual cycle,
   postmenopausal women and men using an LC-MS/MS method. Clin Chim Acta 2019;495:198-204.
.. [2] Dixon JM et al. Letrozole suppresses plasma estradiol and estrone sulphate more completely
   than anastrozole in postmenopausal women with breast cancer. J Clin Oncol 2008;26:1671-1676.
.. [3] Geisler J et al. Influence of anastrozole and letrozole on total body aromatization and
   plasma estrogen levels in postmenopausal breast cancer patients. J Clin Oncol 2002;20:751-757.
.. [4] Dowsett M et al. Short-term changes in Ki-67 during neoadjuvant treatment of primary
   breast cancer with anastrozole or tamoxifen alone or combined correlate with recurrence-free
   survival. Clin Cancer Res 2005;11:951s-958s.
.. [5] Soto AM et al. The role of estrogens on the proliferation of human breast tumor cells
   (MCF-7). J Steroid Biochem 1985;23:87-94.
.. [6] Early Breast Cancer Trialists' Collaborative Group. Relevance of breast cancer hormone
   receptors and other factors to the efficacy of adjuvant tamoxifen. Lancet 2011;378:771-784.
.. [7] Tworoger SS et al. Prolactin and breast cancer risk. Cancer Res 2013;73:4810-4819.
.. [8] Tosovic A et al. Prospectively measured triiodothyronine levels are positively associated
   with breast cancer risk in postmenopausal women. Breast Cancer Res 2010;12:R33.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from metacascade.errors import DataError, ParameterError

__all__ = [
    "FIELD_OF",
    "HORMONES",
    "MENOPAUSAL_STATUSES",
    "SEXES",
    "EBCTCGReference",
    "EndocrineAgent",
    "HormoneData",
    "HormoneLevels",
    "HormoneRange",
    "HormoneSensitivity",
    "check_levels",
    "ebctcg_reference",
    "effective_level",
    "endocrine_agent",
    "hormone_sensitivity",
    "load_hormone_data",
    "physiological_range",
    "reference_levels",
]

#: Hormone names used in the data file, in :class:`HormoneLevels` field order.
HORMONES: tuple[str, ...] = ("estradiol", "free_t4", "free_t3", "prolactin")
#: Data-file hormone name -> :class:`HormoneLevels` field (unit-suffixed).
FIELD_OF: dict[str, str] = {
    "estradiol": "estradiol_pmol_l",
    "free_t4": "free_t4_pmol_l",
    "free_t3": "free_t3_pmol_l",
    "prolactin": "prolactin_ng_ml",
}
SEXES: tuple[str, ...] = ("female", "male")
MENOPAUSAL_STATUSES: tuple[str, ...] = ("premenopausal", "postmenopausal")
_GROUPS: tuple[str, ...] = ("female_premenopausal", "female_postmenopausal", "male")
_DEFAULT_SOURCE = "metacascade/data/hormones.toml"


def _names(kind: str, given: Any, allowed: Iterable[str]) -> str:
    from metacascade._messages import did_you_mean

    allowed = tuple(allowed)
    return f"unknown {kind} {given!r}{did_you_mean(str(given), allowed)}; allowed: {', '.join(allowed)}"


def _real(name: str, value: Any, allowed: str) -> float:
    """``value`` as a finite float (bools and non-numbers rejected), else ParameterError."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ParameterError(f"{name}: got {value!r}, allowed {allowed}")
    v = float(value)
    if not math.isfinite(v):
        raise ParameterError(f"{name}: got {value!r}, allowed {allowed}")
    return v


# -- value objects --------------------------------------------------------------------------------
@dataclass(frozen=True)
class HormoneLevels:
    """A patient's hormone levels; ``None`` means "the reference level of the patient's group".

    Attributes
    ----------
    estradiol_pmol_l, free_t4_pmol_l, free_t3_pmol_l : float or None
        pmol/L.
    prolactin_ng_ml : float or None
        ng/mL (1 ng/mL ~ 21 mIU/L).

    Values are not validated here: call :func:`check_levels` (errors and warnings).
    """

    estradiol_pmol_l: float | None = None
    free_t4_pmol_l: float | None = None
    free_t3_pmol_l: float | None = None
    prolactin_ng_ml: float | None = None

    def get(self, hormone: str) -> float | None:
        """The level of ``hormone`` (a name in :data:`HORMONES`), or None."""
        if hormone not in FIELD_OF:
            raise ParameterError(f"hormone: {_names('hormone', hormone, HORMONES)}")
        level: float | None = getattr(self, FIELD_OF[hormone])
        return level

    def as_dict(self) -> dict[str, float | None]:
        """Field name -> value."""
        return {FIELD_OF[h]: self.get(h) for h in HORMONES}

    def filled(self, reference: HormoneLevels) -> HormoneLevels:
        """A copy whose ``None`` fields are taken from ``reference``."""
        return HormoneLevels(**{f: (v if v is not None else getattr(reference, f)) for f, v in self.as_dict().items()})


@dataclass(frozen=True)
class HormoneRange:
    """Physiological range of one hormone in one group (sex and menopausal status).

    Attributes
    ----------
    hormone, group, unit : str
    low, high : float
        physiological range (values outside it give a warning).
    reference : float
        level assumed when none is given (median where known; see ``source``).
    impossible : float
        values above it raise (cannot be a physiological measurement).
    source, status : str
    """

    hormone: str
    group: str
    unit: str
    low: float
    high: float
    reference: float
    impossible: float
    source: str = ""
    status: str = ""


@dataclass(frozen=True)
class HormoneSensitivity:
    r"""Emax/Hill dependence of a tumour's growth rate on one hormone (see the module docstring).

    .. math:: H(L) = \frac{(1-w) + w\,s(L)}{(1-w) + w\,s(L_\mathrm{ref})},\qquad
              s(L) = \frac{L^h}{L^h + \mathrm{EC}_{50}^h}

    Attributes
    ----------
    hormone : str
        a name in :data:`HORMONES` (the level is read from that field of :class:`HormoneLevels`).
    w : float
        hormone-driven fraction of proliferation, in [0, 1].
    ec50 : float
        half-maximal level, > 0, in the hormone's unit.
    hill : float
        Hill coefficient h > 0.
    reference_level : float or None
        default :math:`L_\mathrm{ref}` of :meth:`growth_multiplier` (the level the shipped
        parameters were calibrated at).
    source, status : str
    """

    hormone: str
    w: float
    ec50: float
    hill: float
    reference_level: float | None = None
    source: str = ""
    status: str = ""

    def __post_init__(self) -> None:
        if self.hormone not in FIELD_OF:
            raise ParameterError(f"HormoneSensitivity.hormone: {_names('hormone', self.hormone, HORMONES)}")
        w = _real("HormoneSensitivity.w", self.w, "a fraction in [0, 1]")
        if not 0.0 <= w <= 1.0:
            raise ParameterError(f"HormoneSensitivity.w: got {self.w!r}, allowed a fraction in [0, 1]")
        if _real("HormoneSensitivity.ec50", self.ec50, "a finite level > 0") <= 0:
            raise ParameterError(f"HormoneSensitivity.ec50: got {self.ec50!r}, allowed a finite level > 0")
        if _real("HormoneSensitivity.hill", self.hill, "a finite Hill coefficient > 0") <= 0:
            raise ParameterError(f"HormoneSensitivity.hill: got {self.hill!r}, allowed a finite Hill coefficient > 0")
        if (
            self.reference_level is not None
            and _real("HormoneSensitivity.reference_level", self.reference_level, "a finite level > 0") <= 0
        ):
            raise ParameterError(
                f"HormoneSensitivity.reference_level: got {self.reference_level!r}, allowed a finite level > 0"
            )

    def occupancy(self, level: ArrayLike) -> NDArray[np.float64] | float:
        """:math:`s(L) = L^h / (L^h + \\mathrm{EC}_{50}^h)`, in [0, 1] (0 at L = 0)."""
        arr = self._levels("level", level)
        with np.errstate(divide="ignore"):
            out = 1.0 / (1.0 + (self.ec50 / arr) ** self.hill)
        return float(out) if np.ndim(level) == 0 else out

    def unnormalised(self, level: ArrayLike) -> NDArray[np.float64] | float:
        """:math:`m(L) = (1 - w) + w\\,s(L)`."""
        return (1.0 - self.w) + self.w * self.occupancy(level)

    def growth_multiplier(self, level: ArrayLike, reference_level: float | None = None) -> NDArray[np.float64] | float:
        """:math:`H(L) = m(L) / m(L_\\mathrm{ref})`: the factor on the preset's growth rate.

        Parameters
        ----------
        level : float or array
            hormone level(s) (>= 0, finite), in the hormone's unit.
        reference_level : float, optional
            :math:`L_\\mathrm{ref}` (> 0) at which the multiplier is 1; default
            :attr:`reference_level`.

        Returns
        -------
        float or ndarray
            exactly 1 at ``reference_level``; non-decreasing in ``level``.
        """
        ref = self.reference_level if reference_level is None else reference_level
        if ref is None:
            raise ParameterError(
                "reference_level: got None and the sensitivity has no default; "
                "give the level at which the multiplier is 1 (> 0)"
            )
        ref = _real("reference_level", ref, "a finite level > 0")
        if ref <= 0:
            raise ParameterError(f"reference_level: got {ref!r}, allowed a finite level > 0")
        denominator = self.unnormalised(ref)
        if denominator <= 0:  # w = 1 and s(ref) underflows to 0
            raise ParameterError(
                f"reference_level: got {ref!r}; with w = 1 the response there is 0, choose a higher reference level"
            )
        return self.unnormalised(level) / denominator

    @staticmethod
    def _levels(name: str, level: ArrayLike) -> NDArray[np.float64]:
        if isinstance(level, (bool, np.bool_)):
            raise ParameterError(f"{name}: got {level!r}, allowed a finite level >= 0")
        try:
            arr = np.asarray(level, dtype=float)
        except (TypeError, ValueError):
            raise ParameterError(f"{name}: got {level!r}, allowed a finite level >= 0") from None
        if not np.all(np.isfinite(arr)) or np.any(arr < 0):
            raise ParameterError(f"{name}: got {level!r}, allowed a finite level >= 0")
        return arr


@dataclass(frozen=True)
class EndocrineAgent:
    """An endocrine treatment as a factor on the effective estradiol level.

    Attributes
    ----------
    name : str
    estradiol_factor : float
        :math:`f \\ge 0`; the effective level is ``level * f`` while the agent is given.
    source, status : str
    """

    name: str
    estradiol_factor: float
    source: str = ""
    status: str = ""

    def __post_init__(self) -> None:
        f = _real(f"agents.{self.name}.estradiol_factor", self.estradiol_factor, "a finite factor >= 0")
        if f < 0:
            raise ParameterError(
                f"agents.{self.name}.estradiol_factor: got {self.estradiol_factor!r}, allowed a finite factor >= 0"
            )


@dataclass(frozen=True)
class EBCTCGReference:
    """Published tamoxifen-vs-none rate ratios by period since diagnosis, for comparison.

    Attributes
    ----------
    comparison : str
    period_start_years, period_end_years : tuple of float
        each period is ``[start, end]`` years after diagnosis (inclusive, as in the paper).
    recurrence_rr, breast_cancer_mortality_rr : tuple of float
        rate ratios per period.
    source, status : str
    """

    comparison: str
    period_start_years: tuple[float, ...]
    period_end_years: tuple[float, ...]
    recurrence_rr: tuple[float, ...]
    breast_cancer_mortality_rr: tuple[float, ...]
    source: str = ""
    status: str = ""


@dataclass(frozen=True)
class HormoneData:
    """Everything in a hormone data file (see :func:`load_hormone_data`)."""

    ranges: dict[tuple[str, str], HormoneRange]
    sensitivities: dict[str, HormoneSensitivity]
    agents: dict[str, EndocrineAgent]
    ebctcg: EBCTCGReference
    calibrations: dict[str, dict[str, float]] = field(default_factory=dict)
    source: str = _DEFAULT_SOURCE

    def range(self, hormone: str, group: str) -> HormoneRange:
        if hormone not in FIELD_OF:
            raise ParameterError(f"hormone: {_names('hormone', hormone, HORMONES)}")
        return self.ranges[(hormone, group)]


# -- loading --------------------------------------------------------------------------------------
def _from_dict(raw: Mapping[str, Any], source: str) -> HormoneData:
    from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

    from metacascade._messages import format_validation_error

    strict = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)

    class _Range(BaseModel):
        model_config = strict
        low: float = Field(ge=0)
        high: float = Field(gt=0)
        reference: float = Field(gt=0)
        source: str
        status: str

        @model_validator(mode="after")
        def _ordered(self) -> _Range:
            if not self.low <= self.reference <= self.high:
                raise ValueError(f"need low <= reference <= high, got {self.low}, {self.reference}, {self.high}")
            return self

    class _Hormone(BaseModel):
        model_config = strict
        unit: str
        impossible: float = Field(gt=0)
        impossible_source: str
        impossible_status: str
        female_premenopausal: _Range
        female_postmenopausal: _Range
        male: _Range

    class _Calibration(BaseModel):
        model_config = strict
        level: float = Field(ge=0)
        against: float = Field(gt=0)
        ratio: float = Field(gt=0)

    class _Sensitivity(BaseModel):
        model_config = strict
        hormone: str
        w: float = Field(ge=0, le=1)
        ec50: float = Field(gt=0)
        hill: float = Field(gt=0)
        reference_level: float = Field(gt=0)
        calibration: _Calibration | None = None
        source: str
        status: str

    class _Agent(BaseModel):
        model_config = strict
        estradiol_factor: float = Field(ge=0)
        source: str
        status: str

    class _EBCTCG(BaseModel):
        model_config = strict
        comparison: str
        period_start_years: list[float] = Field(min_length=1)
        period_end_years: list[float] = Field(min_length=1)
        recurrence_rr: list[float] = Field(min_length=1)
        breast_cancer_mortality_rr: list[float] = Field(min_length=1)
        source: str
        status: str

        @model_validator(mode="after")
        def _same_length(self) -> _EBCTCG:
            n = len(self.period_start_years)
            if not (len(self.period_end_years) == len(self.recurrence_rr) == len(self.breast_cancer_mortality_rr) == n):
                raise ValueError(
                    "period_start_years, period_end_years, recurrence_rr and "
                    "breast_cancer_mortality_rr need the same length"
                )
            return self

    class _File(BaseModel):
        model_config = strict
        hormones: dict[str, _Hormone]
        sensitivities: dict[str, _Sensitivity] = Field(min_length=1)
        agents: dict[str, _Agent] = Field(min_length=1)
        ebctcg: _EBCTCG

    try:
        data = _File.model_validate(raw)
    except ValidationError as exc:
        raise DataError(format_validation_error(exc, _File, source)) from None
    missing = [h for h in HORMONES if h not in data.hormones]
    extra = [h for h in data.hormones if h not in FIELD_OF]
    if missing or extra:
        raise DataError(
            f"{source}: hormones: "
            + "; ".join(
                ([f"missing table(s) {', '.join('hormones.' + h for h in missing)}"] if missing else [])
                + ([f"unknown hormone(s) {', '.join(extra)}; allowed: {', '.join(HORMONES)}"] if extra else [])
            )
        )
    ranges: dict[tuple[str, str], HormoneRange] = {}
    for h, spec in data.hormones.items():
        for group in _GROUPS:
            r = getattr(spec, group)
            if r.high > spec.impossible:
                raise DataError(
                    f"{source}: hormones.{h}.{group}.high: {r.high} is above "
                    f"hormones.{h}.impossible = {spec.impossible}"
                )
            ranges[(h, group)] = HormoneRange(
                hormone=h,
                group=group,
                unit=spec.unit,
                low=r.low,
                high=r.high,
                reference=r.reference,
                impossible=spec.impossible,
                source=r.source,
                status=r.status,
            )
    sensitivities, calibrations = {}, {}
    for name, s in data.sensitivities.items():
        if s.hormone not in FIELD_OF:
            raise DataError(f"{source}: sensitivities.{name}.hormone: {_names('hormone', s.hormone, HORMONES)}")
        sensitivities[name] = HormoneSensitivity(
            hormone=s.hormone,
            w=s.w,
            ec50=s.ec50,
            hill=s.hill,
            reference_level=s.reference_level,
            source=s.source,
            status=s.status,
        )
        if s.calibration is not None:
            calibrations[name] = s.calibration.model_dump()
    agents = {
        name: EndocrineAgent(name=name, estradiol_factor=a.estradiol_factor, source=a.source, status=a.status)
        for name, a in data.agents.items()
    }
    e = data.ebctcg
    ebctcg = EBCTCGReference(
        comparison=e.comparison,
        period_start_years=tuple(e.period_start_years),
        period_end_years=tuple(e.period_end_years),
        recurrence_rr=tuple(e.recurrence_rr),
        breast_cancer_mortality_rr=tuple(e.breast_cancer_mortality_rr),
        source=e.source,
        status=e.status,
    )
    return HormoneData(
        ranges=ranges,
        sensitivities=sensitivities,
        agents=agents,
        ebctcg=ebctcg,
        calibrations=calibrations,
        source=source,
    )


@lru_cache(maxsize=1)
def _default_data() -> HormoneData:
    text = files("metacascade").joinpath("data/hormones.toml").read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # pragma: no cover - shipped file
        raise DataError(f"{_DEFAULT_SOURCE}: corrupt: {exc}") from None
    return _from_dict(raw, _DEFAULT_SOURCE)


def load_hormone_data(path: str | Path | None = None) -> HormoneData:
    """Read a hormone data file (the shipped ``data/hormones.toml`` when ``path`` is None).

    Raises
    ------
    DataError
        the file cannot be read, is not TOML, or a field is missing, unknown or of the wrong
        type (the message names the file and the field).
    """
    if path is None:
        return _default_data()
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{p}: cannot read the hormone data file: {exc}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"{p}: corrupt hormone data file: {exc}") from None
    return _from_dict(raw, str(p))


# -- queries --------------------------------------------------------------------------------------
def _group(sex: str, menopausal_status: str | None) -> str:
    if sex not in SEXES:
        raise ParameterError(f"sex: {_names('sex', sex, SEXES)}")
    if sex == "male":
        if menopausal_status is not None:
            raise ParameterError(f"menopausal_status: got {menopausal_status!r} for sex 'male', allowed: None")
        return "male"
    if menopausal_status not in MENOPAUSAL_STATUSES:
        raise ParameterError(
            f"menopausal_status: got {menopausal_status!r} for sex 'female', allowed: {', '.join(MENOPAUSAL_STATUSES)}"
        )
    return f"female_{menopausal_status}"


def physiological_range(
    hormone: str, sex: str, menopausal_status: str | None = None, *, path: str | Path | None = None
) -> HormoneRange:
    """The physiological range of ``hormone`` for a sex (and, for women, menopausal status)."""
    return load_hormone_data(path).range(hormone, _group(sex, menopausal_status))


def reference_levels(
    sex: str, menopausal_status: str | None = None, *, path: str | Path | None = None
) -> HormoneLevels:
    """The reference level of every hormone for a group.

    Parameters
    ----------
    sex : {"female", "male"}
    menopausal_status : {"premenopausal", "postmenopausal"}, required for women, None for men.
    """
    data, group = load_hormone_data(path), _group(sex, menopausal_status)
    return HormoneLevels(**{FIELD_OF[h]: data.range(h, group).reference for h in HORMONES})


def check_levels(
    levels: HormoneLevels, sex: str, menopausal_status: str | None = None, *, path: str | Path | None = None
) -> list[str]:
    """Validate a patient's hormone levels.

    Raises
    ------
    ParameterError
        a level is not a number, is NaN or infinite, negative, or above the hormone's impossible
        bound; the message names the field, the value and the allowed range.

    Returns
    -------
    list of str
        one warning per level outside the physiological range of the group (``None`` levels,
        meaning "reference", give none).
    """
    if not isinstance(levels, HormoneLevels):
        raise ParameterError(f"levels: got {type(levels).__name__}, allowed a HormoneLevels")
    data, group = load_hormone_data(path), _group(sex, menopausal_status)
    who = "men" if group == "male" else f"{menopausal_status} women"
    warnings = []
    for h in HORMONES:
        value, name = levels.get(h), FIELD_OF[h]
        if value is None:
            continue
        r = data.range(h, group)
        allowed = f"a finite level in [0, {r.impossible:g}] {r.unit}"
        v = _real(name, value, allowed)
        if v < 0:
            raise ParameterError(f"{name}: got {value!r}, allowed {allowed}")
        if v > r.impossible:
            raise ParameterError(
                f"{name}: got {value!r}, allowed {allowed} (above {r.impossible:g} {r.unit} "
                "a value cannot be physiological: check the units)"
            )
        if v < r.low:
            warnings.append(
                f"{name} = {v:g} {r.unit} is below the physiological range {r.low:g}-{r.high:g} {r.unit} for {who}"
            )
        elif v > r.high:
            warnings.append(
                f"{name} = {v:g} {r.unit} is above the physiological range {r.low:g}-{r.high:g} "
                f"{r.unit} for {who} (check the value and its units)"
            )
    return warnings


def hormone_sensitivity(name: str, *, path: str | Path | None = None) -> HormoneSensitivity:
    """A named sensitivity of the data file (shipped: ``er_breast``, ``thyroid_t3``, ``prolactin``)."""
    data = load_hormone_data(path)
    try:
        return data.sensitivities[name]
    except KeyError:
        raise ParameterError(f"sensitivity: {_names('hormone sensitivity', name, data.sensitivities)}") from None


def endocrine_agent(name: str, *, path: str | Path | None = None) -> EndocrineAgent:
    """A named endocrine agent (shipped: anastrozole, letrozole, tamoxifen, ovarian_suppression)."""
    data = load_hormone_data(path)
    try:
        return data.agents[name]
    except (KeyError, TypeError):
        raise ParameterError(f"agent: {_names('endocrine agent', name, data.agents)}") from None


def effective_level(
    level: float, agents: Iterable[EndocrineAgent | str] = (), *, path: str | Path | None = None
) -> float:
    """The effective estradiol level under endocrine agents, :math:`L \\prod_k f_k`.

    Parameters
    ----------
    level : float
        estradiol level (pmol/L), finite and >= 0.
    agents : iterable of EndocrineAgent or agent names
        names are looked up with :func:`endocrine_agent` (in ``path``'s data file).
    """
    v = _real("estradiol_pmol_l", level, "a finite level >= 0")
    if v < 0:
        raise ParameterError(f"estradiol_pmol_l: got {level!r}, allowed a finite level >= 0")
    if isinstance(agents, (str, EndocrineAgent)):
        agents = (agents,)
    for agent in agents:
        a = agent if isinstance(agent, EndocrineAgent) else endocrine_agent(agent, path=path)
        v *= a.estradiol_factor
    return v


def ebctcg_reference(*, path: str | Path | None = None) -> EBCTCGReference:
    """EBCTCG 2011 tamoxifen-vs-none rate ratios in ER+ disease (Lancet 2011;378:771)."""
    return load_hormone_data(path).ebctcg
