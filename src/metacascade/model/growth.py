r"""Growth laws of a tumour or a metastatic colony (model layer: pure, vectorised).

A growth law is a small frozen strategy object with four methods, all vectorised over numpy
arrays (they broadcast their arguments):

``rate(x)``
    :math:`dX/dt = g(X)` in cells/day.
``solve(x0, t)``
    the closed-form size at time ``t`` (days) of a tumour of size ``x0`` at ``t = 0``.
``time_to_size(x0, x1)``
    the time (days) to grow from ``x0`` to ``x1`` (negative when ``x1 < x0``, ``inf`` when
    ``x1`` is never reached, e.g. above the carrying capacity).
``capacity``
    the carrying capacity (cells), ``inf`` for unbounded laws.

Sizes are in cells (1 mm^3 ~ 1e6 cells), times in days, rates per day.

References
----------
.. [1] Iwata K, Kawasaki K, Shigesada N. A dynamical model for the growth and size distribution
   of multiple metastatic tumors. J Theor Biol 2000;203:177-186 (Gompertz form a x ln(b/x)).
.. [2] Benzekry S, Lamont C, Beheshti A, et al. Classical mathematical models for description
   and prediction of experimental tumor growth. PLoS Comput Biol 2014;10:e1003800
   (exponential, logistic, Gompertz, power law, von Bertalanffy: forms and closed solutions).
.. [3] von Bertalanffy L. Quantitative laws in metabolism and growth. Q Rev Biol 1957;32:217.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from metacascade.errors import ParameterError

__all__ = [
    "GrowthLaw",
    "Exponential",
    "Logistic",
    "Gompertz",
    "PowerLaw",
    "VonBertalanffy",
    "GROWTH_LAWS",
    "make_growth_law",
    "TimeScaled",
]

FloatArray = NDArray[np.float64]


def _check(
    name: str, value: float, *, low: float = 0.0, strict: bool = True, high: float = math.inf, high_strict: bool = False
) -> float:
    """Return ``value`` as float or raise a ParameterError naming the field and the range."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name}: expected a number, got {value!r}") from None
    ok_low = v > low if strict else v >= low
    ok_high = v < high if high_strict else v <= high
    if not math.isfinite(v) or not ok_low or not ok_high:
        lo = "(" if strict else "["
        hi = ")" if (high_strict or high == math.inf) else "]"
        raise ParameterError(f"{name}: got {value!r}, allowed a finite number in {lo}{low:g}, {high:g}{hi}")
    return v


def _out(a: FloatArray) -> FloatArray:
    """Return 0-d results as numpy floats, arrays as they are."""
    return a[()] if a.ndim == 0 else a


def _bounded_time(t: FloatArray, x0: FloatArray, x1: FloatArray, capacity: float) -> FloatArray:
    """Finish ``time_to_size`` of a law with a capacity: 0 if ``x1 == x0``, inf if never reached.

    A tumour below the capacity grows towards it and one above shrinks towards it; neither
    reaches or crosses it, and one at the capacity stays there.
    """
    k = capacity
    unreachable = ((x0 < k) & (x1 >= k)) | ((x0 > k) & (x1 <= k)) | (x0 == k)
    return _out(np.where(x1 == x0, 0.0, np.where(unreachable, math.inf, t)))


@dataclass(frozen=True)
class GrowthLaw(ABC):
    """Abstract growth law ``dX/dt = g(X)`` with a closed-form solution."""

    name: ClassVar[str] = ""

    @abstractmethod
    def rate(self, x: ArrayLike) -> FloatArray:
        """Growth rate ``g(x)`` (cells/day)."""

    @abstractmethod
    def solve(self, x0: ArrayLike, t: ArrayLike) -> FloatArray:
        """Size at time ``t`` (days) starting from ``x0`` cells at ``t = 0`` (closed form)."""

    @abstractmethod
    def time_to_size(self, x0: ArrayLike, x1: ArrayLike) -> FloatArray:
        """Time (days) to grow from ``x0`` to ``x1``; ``inf`` if ``x1`` is never reached."""

    @property
    def capacity(self) -> float:
        """Carrying capacity (cells); ``inf`` when growth is unbounded."""
        return math.inf

    def specific_rate(self, x: ArrayLike) -> FloatArray:
        """Per-cell growth rate ``g(x)/x`` (1/day)."""
        x = np.asarray(x, dtype=float)
        return _out(np.asarray(self.rate(x)) / x)

    def doubling_time(self, x: ArrayLike) -> FloatArray:
        """Time (days) for a tumour of size ``x`` to double (``inf`` if it cannot)."""
        x = np.asarray(x, dtype=float)
        return self.time_to_size(x, 2.0 * x)

    def parameters(self) -> dict[str, float]:
        """The law's parameters by name (as in the scenario file)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Exponential(GrowthLaw):
    r"""Exponential growth :math:`dX/dt = \lambda X`.

    Parameters
    ----------
    rate_per_day : float
        :math:`\lambda > 0` (1/day); the doubling time is :math:`\ln 2/\lambda`.
    """

    name: ClassVar[str] = "exponential"
    rate_per_day: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "rate_per_day", _check("rate_per_day", self.rate_per_day))

    @classmethod
    def from_doubling_time(cls, doubling_time_days: float) -> Exponential:
        """Build from a doubling time in days."""
        return cls(math.log(2.0) / _check("doubling_time_days", doubling_time_days))

    def rate(self, x: ArrayLike) -> FloatArray:
        return _out(self.rate_per_day * np.asarray(x, dtype=float))

    def solve(self, x0: ArrayLike, t: ArrayLike) -> FloatArray:
        x0, t = np.asarray(x0, dtype=float), np.asarray(t, dtype=float)
        return _out(x0 * np.exp(self.rate_per_day * t))

    def time_to_size(self, x0: ArrayLike, x1: ArrayLike) -> FloatArray:
        x0, x1 = np.asarray(x0, dtype=float), np.asarray(x1, dtype=float)
        return _out(np.log(x1 / x0) / self.rate_per_day)


@dataclass(frozen=True)
class Logistic(GrowthLaw):
    r"""Logistic growth :math:`dX/dt = \lambda X (1 - X/K)`.

    Parameters
    ----------
    rate_per_day : float
        :math:`\lambda > 0` (1/day), the initial per-cell rate.
    capacity_cells : float
        :math:`K > 0` (cells).
    """

    name: ClassVar[str] = "logistic"
    rate_per_day: float
    capacity_cells: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "rate_per_day", _check("rate_per_day", self.rate_per_day))
        object.__setattr__(self, "capacity_cells", _check("capacity_cells", self.capacity_cells))

    @property
    def capacity(self) -> float:
        return self.capacity_cells

    def rate(self, x: ArrayLike) -> FloatArray:
        x = np.asarray(x, dtype=float)
        return _out(self.rate_per_day * x * (1.0 - x / self.capacity_cells))

    def solve(self, x0: ArrayLike, t: ArrayLike) -> FloatArray:
        x0, t = np.asarray(x0, dtype=float), np.asarray(t, dtype=float)
        k = self.capacity_cells
        # x = K / (1 + (K/x0 - 1) e^{-l t}): finite for large t, and from below the capacity the
        # denominator is >= 1, so the rounded result never exceeds K (K x0 / x0 could, by an ulp).
        return _out(k / (1.0 + (k / x0 - 1.0) * np.exp(-self.rate_per_day * t)))

    def time_to_size(self, x0: ArrayLike, x1: ArrayLike) -> FloatArray:
        x0, x1 = np.asarray(x0, dtype=float), np.asarray(x1, dtype=float)
        k = self.capacity_cells
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (np.log(x1 / x0) - np.log((k - x1) / (k - x0))) / self.rate_per_day
        return _bounded_time(t, x0, x1, k)


@dataclass(frozen=True)
class Gompertz(GrowthLaw):
    r"""Gompertz growth in the Iwata form :math:`dX/dt = a X \ln(b/X)`.

    Closed form: :math:`X(t) = b\,(X_0/b)^{e^{-a t}}`; time from :math:`X_0` to :math:`X_1`:
    :math:`T = a^{-1}\ln\!\big(\ln(b/X_0)/\ln(b/X_1)\big)`.

    Parameters
    ----------
    a_per_day : float
        :math:`a > 0` (1/day).
    b_cells : float
        :math:`b > 1` (cells), the plateau (carrying capacity).

    References
    ----------
    Iwata, Kawasaki & Shigesada, J Theor Biol 2000;203:177, eq. (1): a = 0.00286/day,
    b = 7.3e10 cells for their hepatocellular carcinoma patient.
    """

    name: ClassVar[str] = "gompertz"
    a_per_day: float
    b_cells: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "a_per_day", _check("a_per_day", self.a_per_day))
        object.__setattr__(self, "b_cells", _check("b_cells", self.b_cells, low=1.0))

    @property
    def capacity(self) -> float:
        return self.b_cells

    def rate(self, x: ArrayLike) -> FloatArray:
        x = np.asarray(x, dtype=float)
        return _out(self.a_per_day * x * np.log(self.b_cells / x))

    def solve(self, x0: ArrayLike, t: ArrayLike) -> FloatArray:
        x0, t = np.asarray(x0, dtype=float), np.asarray(t, dtype=float)
        return _out(self.b_cells * np.exp(np.log(x0 / self.b_cells) * np.exp(-self.a_per_day * t)))

    def time_to_size(self, x0: ArrayLike, x1: ArrayLike) -> FloatArray:
        x0, x1 = np.asarray(x0, dtype=float), np.asarray(x1, dtype=float)
        b = self.b_cells
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.log(np.log(b / x0) / np.log(b / x1)) / self.a_per_day
        return _bounded_time(t, x0, x1, b)


@dataclass(frozen=True)
class PowerLaw(GrowthLaw):
    r"""Power-law growth :math:`dX/dt = \lambda X^\gamma`, :math:`0 \le \gamma < 1`.

    Closed form: :math:`X(t) = \big(X_0^{1-\gamma} + (1-\gamma)\lambda t\big)^{1/(1-\gamma)}`.
    ``gamma = 2/3`` is growth through the surface; Hart, Shochat & Agur (Br J Cancer 1998;78:382)
    found an exponent of about 0.5 for breast cancer screening data.

    Parameters
    ----------
    coefficient : float
        :math:`\lambda > 0` (cells^(1-gamma)/day).
    gamma : float
        exponent in [0, 1).
    """

    name: ClassVar[str] = "power_law"
    coefficient: float
    gamma: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "coefficient", _check("coefficient", self.coefficient))
        object.__setattr__(
            self, "gamma", _check("gamma", self.gamma, low=0.0, strict=False, high=1.0, high_strict=True)
        )

    def rate(self, x: ArrayLike) -> FloatArray:
        return _out(self.coefficient * np.asarray(x, dtype=float) ** self.gamma)

    def solve(self, x0: ArrayLike, t: ArrayLike) -> FloatArray:
        x0, t = np.asarray(x0, dtype=float), np.asarray(t, dtype=float)
        e = 1.0 - self.gamma
        return _out((x0**e + e * self.coefficient * t) ** (1.0 / e))

    def time_to_size(self, x0: ArrayLike, x1: ArrayLike) -> FloatArray:
        x0, x1 = np.asarray(x0, dtype=float), np.asarray(x1, dtype=float)
        e = 1.0 - self.gamma
        return _out((x1**e - x0**e) / (e * self.coefficient))


@dataclass(frozen=True)
class VonBertalanffy(GrowthLaw):
    r"""Von Bertalanffy growth :math:`dX/dt = a X^{2/3} - b X`.

    With :math:`y = X^{1/3}`: :math:`y(t) = a/b + (y_0 - a/b)e^{-b t/3}`; the capacity is
    :math:`(a/b)^3`.

    Parameters
    ----------
    anabolic : float
        :math:`a > 0` (cells^(1/3)/day), growth through the surface.
    catabolic_per_day : float
        :math:`b > 0` (1/day), loss proportional to the volume.
    """

    name: ClassVar[str] = "von_bertalanffy"
    anabolic: float
    catabolic_per_day: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "anabolic", _check("anabolic", self.anabolic))
        object.__setattr__(self, "catabolic_per_day", _check("catabolic_per_day", self.catabolic_per_day))

    @property
    def capacity(self) -> float:
        return (self.anabolic / self.catabolic_per_day) ** 3

    def rate(self, x: ArrayLike) -> FloatArray:
        x = np.asarray(x, dtype=float)
        return _out(self.anabolic * x ** (2.0 / 3.0) - self.catabolic_per_day * x)

    def solve(self, x0: ArrayLike, t: ArrayLike) -> FloatArray:
        x0, t = np.asarray(x0, dtype=float), np.asarray(t, dtype=float)
        ystar = self.anabolic / self.catabolic_per_day
        y = ystar + (np.cbrt(x0) - ystar) * np.exp(-self.catabolic_per_day * t / 3.0)
        return _out(y**3)

    def time_to_size(self, x0: ArrayLike, x1: ArrayLike) -> FloatArray:
        x0, x1 = np.asarray(x0, dtype=float), np.asarray(x1, dtype=float)
        ystar = self.anabolic / self.catabolic_per_day
        with np.errstate(divide="ignore", invalid="ignore"):
            t = -3.0 / self.catabolic_per_day * np.log((ystar - np.cbrt(x1)) / (ystar - np.cbrt(x0)))
        return _bounded_time(t, x0, x1, self.capacity)


@dataclass(frozen=True)
class TimeScaled(GrowthLaw):
    """A law whose rate is multiplied by ``factor``: ``g_f(x) = factor * g(x)``, so
    ``X_f(t) = X(factor * t)`` (a hormone level speeding or slowing every division alike)."""

    law: GrowthLaw
    factor: float
    name: ClassVar[str] = "time_scaled"

    def __post_init__(self) -> None:
        if not isinstance(self.law, GrowthLaw):
            raise ParameterError(f"law: expected a GrowthLaw, got {type(self.law).__name__}")
        object.__setattr__(self, "factor", _check("factor", self.factor))

    @property
    def capacity(self) -> float:
        return self.law.capacity

    def rate(self, x: ArrayLike) -> FloatArray:
        return _out(self.factor * np.asarray(self.law.rate(x), dtype=float))

    def solve(self, x0: ArrayLike, t: ArrayLike) -> FloatArray:
        return self.law.solve(x0, self.factor * np.asarray(t, dtype=float))

    def time_to_size(self, x0: ArrayLike, x1: ArrayLike) -> FloatArray:
        return _out(np.asarray(self.law.time_to_size(x0, x1), dtype=float) / self.factor)


GROWTH_LAWS: dict[str, type[GrowthLaw]] = {
    cls.name: cls for cls in (Exponential, Logistic, Gompertz, PowerLaw, VonBertalanffy)
}


def make_growth_law(name: str, **parameters: Any) -> GrowthLaw:
    """Build a growth law from its registry name and parameters.

    Raises
    ------
    ParameterError
        for an unknown law, a missing or unknown parameter, or a value out of range.
    """
    try:
        cls = GROWTH_LAWS[name]
    except KeyError:
        raise ParameterError(f"growth law: unknown {name!r}; allowed: {', '.join(GROWTH_LAWS)}") from None
    expected = [f.name for f in fields(cls)]
    missing = [k for k in expected if k not in parameters]
    extra = [k for k in parameters if k not in expected]
    if missing or extra:
        raise ParameterError(
            f"growth law {name!r}: parameters must be exactly {', '.join(expected)}"
            + (f"; missing {', '.join(missing)}" if missing else "")
            + (f"; unknown {', '.join(extra)}" if extra else "")
        )
    return cls(**parameters)
