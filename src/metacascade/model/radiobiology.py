r"""Radiotherapy: linear-quadratic cell kill, BED/EQD2, Poisson TCP, repopulation, schedules.

Model layer: pure functions (vectorised over numpy arrays where it makes sense) and one frozen
parameter object per tumour type, read from ``metacascade/data/radiobiology.toml``.

Linear-quadratic (LQ) model. After :math:`n` fractions of :math:`d` Gy with full repair between
fractions, the surviving fraction of clonogens is

.. math:: S = \exp\bigl(-n(\alpha d + \beta d^2)\bigr),

the biologically effective dose and the equivalent dose in 2 Gy fractions are

.. math:: \mathrm{BED} = n d \Bigl(1 + \frac{d}{\alpha/\beta}\Bigr), \qquad
          \mathrm{EQD2} = \frac{\mathrm{BED}}{1 + 2/(\alpha/\beta)},

and with :math:`N` clonogens the Poisson tumour control probability is
:math:`\mathrm{TCP} = \exp(-N S)`.

Accelerated repopulation (Withers 1988): from the kick-off time :math:`T_k` after the start of
radiotherapy the surviving clonogens double every :math:`T_p` days, a log gain
:math:`\ln 2\,\max(0, T - T_k)/T_p`; in dose units (the dose that would kill as many) it is
:math:`\ln 2\,\max(0, T - T_k)/(\alpha T_p)`, about 0.6 Gy/day for head and neck carcinoma.

Units: Gy, days, cells; ``alpha`` in Gy^-1, ``beta`` in Gy^-2, ``alpha/beta`` in Gy.

References
----------
.. [1] Fowler JF. The linear-quadratic formula and progress in fractionated radiotherapy.
   Br J Radiol 1989;62:679-694 (LQ survival, BED).
.. [2] Withers HR, Taylor JMG, Maciejewski B. The hazard of accelerated tumor clonogen
   repopulation during radiotherapy. Acta Oncol 1988;27:131-146 (T_k ~ 28 days, clonogen
   doubling ~4 days, ~0.6 Gy/day; head and neck squamous cell carcinoma).
.. [3] Thames HD et al. Radiother Oncol 1990;19:219 (alpha/beta of human tumours).
.. [4] van Leeuwen CM et al. The alfa and beta of tumours: a review of parameters of the
   linear-quadratic model, derived from clinical radiotherapy studies. Radiat Oncol 2018;13:96.
"""

from __future__ import annotations

import math
import numbers
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from metacascade.errors import DataError, ParameterError

__all__ = [
    "RadiosensitivityParameters",
    "bed",
    "dose_per_fraction_for_tcp",
    "eqd2",
    "fraction_days",
    "lq_surviving_fraction",
    "radiosensitivity",
    "radiosensitivity_types",
    "repopulation_dose_gy",
    "repopulation_log_gain",
    "tcp_poisson",
    "validate_fractions",
]

FloatArray = NDArray[np.float64]
_DATA = "data/radiobiology.toml"


# -- validation -----------------------------------------------------------------------------------
def _number(name: str, value: Any, *, low: float = 0.0, strict: bool = False) -> float:
    """``value`` as a finite float ``>= low`` (``> low`` when strict), else a ParameterError."""
    what = f"a finite number {'>' if strict else '>='} {low:g}"
    if isinstance(value, bool):
        raise ParameterError(f"{name}: got {value!r}, allowed {what}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name}: got {value!r}, allowed {what}") from None
    if not math.isfinite(v) or v < low or (strict and v == low):
        raise ParameterError(f"{name}: got {value!r}, allowed {what}")
    return v


def _array(name: str, value: ArrayLike, *, strict: bool = False) -> FloatArray:
    """``value`` as a float array of finite numbers ``>= 0`` (``> 0`` when strict)."""
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ParameterError(f"{name}: got {value!r}, allowed finite numbers >= 0") from None
    bad = ~np.isfinite(a) | (a <= 0.0 if strict else a < 0.0)
    if bad.any():
        first = a[bad].flat[0] if a.ndim else a
        raise ParameterError(f"{name}: got {float(first)!r}, allowed finite numbers {'>' if strict else '>='} 0")
    return a


def _count(name: str, value: Any) -> int:
    """A non-negative integer (an integral float such as 30.0 is accepted; bools are not)."""
    allowed = "an integer >= 0"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParameterError(f"{name}: got {value!r}, allowed {allowed}")
    v = float(value)
    if not math.isfinite(v) or v != math.floor(v) or v < 0:
        raise ParameterError(f"{name}: got {value!r}, allowed {allowed}")
    return int(v)


def validate_fractions(
    dose_per_fraction_gy: float, n_fractions: int, start_day: float = 0.0, fractions_per_week: int = 5
) -> tuple[float, int, float, int]:
    """Check a fractionation schedule; return it as ``(float, int, float, int)``.

    Parameters
    ----------
    dose_per_fraction_gy : float
        dose per fraction, Gy; finite and > 0.
    n_fractions : int
        number of fractions; an integer >= 0.
    start_day : float
        day of the first fraction (a Monday), days; finite and >= 0.
    fractions_per_week : int
        fractions per week, 1 to 7.

    Raises
    ------
    ParameterError
        naming the offending field, the value received and what is allowed.
    """
    d = _number("dose_per_fraction_gy", dose_per_fraction_gy, strict=True)
    n = _count("n_fractions", n_fractions)
    t0 = _number("start_day", start_day)
    k = _count("fractions_per_week", fractions_per_week)
    if not 1 <= k <= 7:
        raise ParameterError(f"fractions_per_week: got {fractions_per_week!r}, allowed an integer 1 to 7")
    return d, n, t0, k


# -- linear-quadratic model -----------------------------------------------------------------------
def lq_surviving_fraction(
    dose_per_fraction_gy: ArrayLike, n_fractions: ArrayLike, alpha_per_gy: float, beta_per_gy2: float
) -> FloatArray | float:
    r"""Clonogen surviving fraction after ``n`` LQ fractions of ``d`` Gy.

    .. math:: S = \exp\bigl(-n(\alpha d + \beta d^2)\bigr)

    Full repair between fractions, no repopulation (see :func:`repopulation_log_gain`).

    Parameters
    ----------
    dose_per_fraction_gy : array_like
        ``d``, Gy (>= 0).
    n_fractions : array_like
        ``n`` (>= 0; real values are allowed here, e.g. when inverting a dose-response;
        :func:`validate_fractions` checks an actual schedule).
    alpha_per_gy : float
        ``alpha``, Gy^-1 (>= 0).
    beta_per_gy2 : float
        ``beta``, Gy^-2 (>= 0).

    Returns
    -------
    ndarray or float
        ``S`` in (0, 1], broadcast over ``d`` and ``n``.
    """
    d = _array("dose_per_fraction_gy", dose_per_fraction_gy)
    n = _array("n_fractions", n_fractions)
    a = _number("alpha_per_gy", alpha_per_gy)
    b = _number("beta_per_gy2", beta_per_gy2)
    out = np.exp(-n * (a * d + b * d * d))
    return float(out) if out.ndim == 0 else out


def bed(dose_per_fraction_gy: ArrayLike, n_fractions: ArrayLike, alpha_beta_gy: float) -> FloatArray | float:
    r"""Biologically effective dose, Gy (Fowler 1989).

    .. math:: \mathrm{BED} = n d \Bigl(1 + \frac{d}{\alpha/\beta}\Bigr)
              = -\ln S / \alpha

    Parameters
    ----------
    dose_per_fraction_gy, n_fractions : array_like
        ``d`` (Gy) and ``n``, >= 0.
    alpha_beta_gy : float
        ``alpha/beta``, Gy (> 0).
    """
    d = _array("dose_per_fraction_gy", dose_per_fraction_gy)
    n = _array("n_fractions", n_fractions)
    ab = _number("alpha_beta_gy", alpha_beta_gy, strict=True)
    out = n * d * (1.0 + d / ab)
    return float(out) if out.ndim == 0 else out


def eqd2(dose_per_fraction_gy: ArrayLike, n_fractions: ArrayLike, alpha_beta_gy: float) -> FloatArray | float:
    r"""Equivalent total dose in 2 Gy fractions, Gy.

    .. math:: \mathrm{EQD2} = \frac{\mathrm{BED}}{1 + 2/(\alpha/\beta)}
              = n d\,\frac{d + \alpha/\beta}{2 + \alpha/\beta}

    Equal to the physical dose ``n d`` when ``d = 2`` Gy.
    """
    ab = _number("alpha_beta_gy", alpha_beta_gy, strict=True)
    out = np.asarray(bed(dose_per_fraction_gy, n_fractions, ab)) / (1.0 + 2.0 / ab)
    return float(out) if out.ndim == 0 else out


def tcp_poisson(clonogens: ArrayLike, surviving_fraction: ArrayLike) -> FloatArray | float:
    r"""Poisson tumour control probability :math:`\mathrm{TCP} = \exp(-N S)`.

    The probability that no clonogen survives when the survivors are Poisson with mean
    :math:`N S` (``N`` clonogens before treatment, ``S`` their surviving fraction).
    """
    n = _array("clonogens", clonogens)
    s = _array("surviving_fraction", surviving_fraction)
    if (s > 1.0).any():
        raise ParameterError(f"surviving_fraction: got {float(s[s > 1.0].flat[0])!r}, allowed [0, 1]")
    out = np.exp(-n * s)
    return float(out) if out.ndim == 0 else out


def dose_per_fraction_for_tcp(
    tcp: float, clonogens: float, n_fractions: float, alpha_per_gy: float, beta_per_gy2: float
) -> float:
    r"""The dose per fraction (Gy) at which ``n`` LQ fractions give the target TCP.

    Inverts :math:`\exp(-N e^{-n(\alpha d + \beta d^2)}) = \mathrm{TCP}`: with
    :math:`L = \ln\bigl(N / (-\ln \mathrm{TCP})\bigr)` the required log kill per fraction,
    :math:`\alpha d + \beta d^2 = L/n`, so

    .. math:: d = \frac{-\alpha + \sqrt{\alpha^2 + 4\beta L/n}}{2\beta}
              \quad(\beta > 0), \qquad d = \frac{L}{n\alpha} \quad(\beta = 0).

    Returns 0 when no dose is needed (:math:`L \le 0`).
    """
    p = _number("tcp", tcp, strict=True)
    if p >= 1.0:
        raise ParameterError(f"tcp: got {tcp!r}, allowed a probability in (0, 1)")
    big_n = _number("clonogens", clonogens, strict=True)
    n = _number("n_fractions", n_fractions, strict=True)
    a = _number("alpha_per_gy", alpha_per_gy)
    b = _number("beta_per_gy2", beta_per_gy2)
    if a == 0.0 and b == 0.0:
        raise ParameterError("alpha_per_gy, beta_per_gy2: both 0 (no cell kill); allowed one > 0")
    log_kill = math.log(big_n / -math.log(p)) / n
    if log_kill <= 0.0:
        return 0.0
    if b == 0.0:
        return log_kill / a
    return 2.0 * log_kill / (a + math.sqrt(a * a + 4.0 * b * log_kill))  # stable root form


# -- repopulation ---------------------------------------------------------------------------------
def repopulation_log_gain(elapsed_days: ArrayLike, kickoff_days: float, doubling_days: float) -> FloatArray | float:
    r"""Natural-log gain of clonogens by accelerated repopulation (Withers 1988).

    .. math:: G(T) = \ln 2\,\frac{\max(0, T - T_k)}{T_p}

    so the surviving fraction with repopulation is :math:`S\,e^{G(T)}`.

    Parameters
    ----------
    elapsed_days : array_like
        ``T``, days since the start of radiotherapy (the overall treatment time at the end).
    kickoff_days : float
        ``T_k``, days (Withers 1988: 28 days, head and neck SCC, R).
    doubling_days : float
        ``T_p``, clonogen doubling time after kick-off, days (Withers 1988: ~4 days, R).
    """
    t = _array("elapsed_days", elapsed_days)
    tk = _number("kickoff_days", kickoff_days)
    tp = _number("doubling_days", doubling_days, strict=True)
    out = math.log(2.0) * np.maximum(0.0, t - tk) / tp
    return float(out) if out.ndim == 0 else out


def repopulation_dose_gy(
    elapsed_days: ArrayLike, kickoff_days: float, doubling_days: float, alpha_per_gy: float
) -> FloatArray | float:
    r"""Repopulation in dose units: the dose (Gy) whose linear kill equals the clonogen gain.

    .. math:: D_{rep}(T) = \frac{\ln 2\,\max(0, T - T_k)}{\alpha\,T_p}

    subtracted from the BED. With :math:`\alpha = 0.3` Gy^-1 (GK) and :math:`T_p = 4` days it is
    0.58 Gy/day, consistent with Withers' ~0.6 Gy/day (head and neck SCC).
    """
    a = _number("alpha_per_gy", alpha_per_gy, strict=True)
    out = np.asarray(repopulation_log_gain(elapsed_days, kickoff_days, doubling_days)) / a
    return float(out) if out.ndim == 0 else out


# -- schedules ------------------------------------------------------------------------------------
_WEEK_PATTERNS = {
    1: (0,),
    2: (0, 3),
    3: (0, 2, 4),
    4: (0, 1, 3, 4),
    5: (0, 1, 2, 3, 4),
    6: (0, 1, 2, 3, 4, 5),
    7: (0, 1, 2, 3, 4, 5, 6),
}


def fraction_days(n_fractions: int, start_day: float = 0.0, fractions_per_week: int = 5) -> FloatArray:
    """Treatment days (days) of ``n_fractions`` fractions starting on a Monday, weekends off.

    Day offsets within each week (0 = Monday): 5/week Mon-Fri; 4/week Mon, Tue, Thu, Fri;
    3/week Mon, Wed, Fri; 2/week Mon, Thu; 1/week Mon; 6 and 7/week add Saturday and Sunday.

    Parameters
    ----------
    n_fractions : int
        number of fractions (>= 0).
    start_day : float
        day of the first fraction, a Monday (days, >= 0).
    fractions_per_week : int
        1 to 7 (default 5).

    Returns
    -------
    ndarray (n_fractions,)
        days of the fractions; e.g. 10 fractions from day 0: 0-4 and 7-11.
    """
    _, n, t0, k = validate_fractions(1.0, n_fractions, start_day, fractions_per_week)
    pattern = np.asarray(_WEEK_PATTERNS[k], dtype=np.float64)
    i = np.arange(n)
    return t0 + 7.0 * (i // k) + pattern[i % k]


# -- per-type parameters --------------------------------------------------------------------------
@dataclass(frozen=True)
class RadiosensitivityParameters:
    """LQ radiosensitivity and repopulation of one tumour type.

    Attributes
    ----------
    cancer : str
        the preset name.
    alpha_per_gy : float
        ``alpha``, Gy^-1 (> 0).
    alpha_beta_gy : float
        ``alpha/beta``, Gy (> 0).
    kickoff_days : float
        repopulation kick-off ``T_k`` after the start of radiotherapy, days (>= 0).
    doubling_days : float
        clonogen doubling time after kick-off ``T_p``, days (> 0).
    source, status : str
        citation and status (R/R2/D/GK) of the values.
    """

    cancer: str
    alpha_per_gy: float
    alpha_beta_gy: float
    kickoff_days: float
    doubling_days: float
    source: str = ""
    status: str = ""

    def __post_init__(self) -> None:
        _number("alpha_per_gy", self.alpha_per_gy, strict=True)
        _number("alpha_beta_gy", self.alpha_beta_gy, strict=True)
        _number("kickoff_days", self.kickoff_days)
        _number("doubling_days", self.doubling_days, strict=True)

    @property
    def beta_per_gy2(self) -> float:
        """``beta = alpha / (alpha/beta)``, Gy^-2."""
        return self.alpha_per_gy / self.alpha_beta_gy

    def surviving_fraction(
        self, dose_per_fraction_gy: ArrayLike, n_fractions: ArrayLike, *, elapsed_days: ArrayLike | None = None
    ) -> FloatArray | float:
        r"""LQ surviving fraction, times the repopulation gain :math:`e^{G(T)}` when
        ``elapsed_days`` (``T``, days since the first fraction) is given."""
        s = lq_surviving_fraction(dose_per_fraction_gy, n_fractions, self.alpha_per_gy, self.beta_per_gy2)
        if elapsed_days is None:
            return s
        out = np.asarray(s) * np.exp(repopulation_log_gain(elapsed_days, self.kickoff_days, self.doubling_days))
        return float(out) if out.ndim == 0 else out


_ENTRY_KEYS = ("alpha_per_gy", "alpha_beta_gy", "kickoff_days", "doubling_days", "source", "status")


def _parse(raw: Mapping[str, Any], source: str) -> dict[str, RadiosensitivityParameters]:
    """Every tumour type of a parsed radiobiology file (aliases included)."""
    defaults = raw.get("defaults", {})
    aliases = raw.get("aliases", {})
    if not isinstance(defaults, Mapping):
        raise DataError(f"{source}: defaults: expected a table, got {defaults!r}")
    if not isinstance(aliases, Mapping):
        raise DataError(f"{source}: aliases: expected a table, got {aliases!r}")
    out: dict[str, RadiosensitivityParameters] = {}
    for cancer, entry in raw.items():
        if cancer in ("defaults", "aliases"):
            continue
        if not isinstance(entry, Mapping):
            raise DataError(f"{source}: {cancer}: expected a table of parameters, got {entry!r}")
        unknown = sorted(set(entry) - set(_ENTRY_KEYS))
        if unknown:
            raise DataError(f"{source}: {cancer}.{unknown[0]}: unknown key; allowed keys: {', '.join(_ENTRY_KEYS)}")
        merged = {**defaults, **entry}
        for key in ("alpha_per_gy", "alpha_beta_gy", "kickoff_days", "doubling_days"):
            if key not in merged:
                raise DataError(f"{source}: {cancer}.{key}: missing (and no [defaults] value)")
            if isinstance(merged[key], bool) or not isinstance(merged[key], (int, float)):
                raise DataError(f"{source}: {cancer}.{key}: expected a number, got {merged[key]!r}")
        try:
            out[cancer] = RadiosensitivityParameters(
                cancer=cancer,
                alpha_per_gy=float(merged["alpha_per_gy"]),
                alpha_beta_gy=float(merged["alpha_beta_gy"]),
                kickoff_days=float(merged["kickoff_days"]),
                doubling_days=float(merged["doubling_days"]),
                source=str(merged.get("source", "")),
                status=str(merged.get("status", "")),
            )
        except ParameterError as exc:
            raise DataError(f"{source}: {cancer}.{exc}") from None
    for alias, target in aliases.items():
        if target not in out:
            raise DataError(
                f"{source}: aliases.{alias}: unknown tumour type {target!r}; allowed: {', '.join(sorted(out))}"
            )
        out[alias] = out[target]
    return out


@lru_cache(maxsize=1)
def _shipped() -> dict[str, RadiosensitivityParameters]:
    text = files("metacascade").joinpath(_DATA).read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # pragma: no cover - shipped file
        raise DataError(f"metacascade/{_DATA}: corrupt: {exc}") from None
    return _parse(raw, f"metacascade/{_DATA}")


def _load(path: str | Path | None) -> dict[str, RadiosensitivityParameters]:
    if path is None:
        return _shipped()
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{p}: cannot read the radiobiology file: {exc}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"{p}: corrupt radiobiology file: {exc}") from None
    return _parse(raw, str(p))


def radiosensitivity_types(path: str | Path | None = None) -> tuple[str, ...]:
    """The tumour types (and aliases) of a radiobiology file, sorted."""
    return tuple(sorted(_load(path)))


def radiosensitivity(cancer: str, path: str | Path | None = None) -> RadiosensitivityParameters:
    """LQ and repopulation parameters of a tumour type.

    Parameters
    ----------
    cancer : str
        a preset name of ``metacascade/presets/presets.toml`` (e.g. ``"prostate"``) or an alias
        (``"kidney_rcc"``).
    path : str or Path, optional
        a radiobiology TOML file; the shipped ``metacascade/data/radiobiology.toml`` (every value
        with its source and status) when None.

    Raises
    ------
    ParameterError
        unknown tumour type (the message lists the allowed ones).
    DataError
        unreadable or corrupt file (the message names the file and the field).
    """
    table = _load(path)
    if cancer not in table:
        from metacascade._messages import did_you_mean

        raise ParameterError(
            f"cancer: unknown tumour type {cancer!r}{did_you_mean(str(cancer), table)}; "
            f"allowed: {', '.join(sorted(table))}"
        )
    return table[cancer]
