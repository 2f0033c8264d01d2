r"""Adjuvant endocrine therapy acting on occult disease: cytostasis, kill and resistance.

Endocrine therapy modelled as a growth slowdown alone delays every occult colony by the same
factor and cures none: recurrences vanish while it is given and catch up after it stops. The
trials say otherwise (EBCTCG 2011: 5 years of tamoxifen, recurrence rate ratio 0.53 in years
0-4, 0.68 in years 5-9, 0.97 in years 10-14, no rebound). Three mechanisms produce both the
effect during treatment and the carry-over after it:

- **heterogeneous oestrogen dependence** between patients: a fraction ``resistant_fraction`` of
  ER-positive tumours is endocrine-resistant from the start (their occult disease ignores the
  agent); the others' disease becomes resistant at ``acquired_resistance_per_year`` while on
  therapy (after which the agent does nothing);
- **cytostasis** of sensitive disease: its growth clock (birth-death phase, dormancy, growth,
  everything between founding and detection) runs at the agent's growth ratio
  :math:`\rho = H(f L)/H(L)` (the oestrogen dose-response of ``data/hormones.toml`` at the
  agent's effective-level factor ``f``: tamoxifen 0.226, anastrozole 0.133);
- **kill** of sensitive micrometastatic and dormant cells: every sensitive occult colony is
  eradicated at the hazard :math:`\kappa = k (1 - \rho)` per day on therapy (apoptosis in
  proportion to the blocked share of oestrogen-driven proliferation), ``k`` =
  ``kill_per_day``. Colonies that survive resume on stopping: the recurrence reduction after
  therapy is the colonies it killed.

The population model reads a patient's occult disease at surgery as the count :math:`G(x)` of
colonies that would reach the imaging size within :math:`x` days of her (median-patient) growth
clock; a patient with growth multiplier :math:`v` advances that clock by :math:`v\,\rho(t)` per
day. Under a schedule of courses (:class:`Course`) the clock reads
:math:`\Phi(t) = v\int_0^t \rho`, a colony with remaining clock :math:`x` is detected at
:math:`t_x = \Phi^{-1}(x)` if it survived the kill :math:`e^{-K(t_x)}`,
:math:`K(t) = \int_0^t \kappa`, and the expected detected colonies by :math:`t` are

.. math:: E(t) = \int_0^{\Phi(t)} e^{-K(\Phi^{-1}(x))}\, dG(x)

(:func:`treated_detections`; :math:`E = G(v t)` untreated). ``compliance`` is the fraction of an
arm that takes the therapy
(intention-to-treat comparisons mix compliers and the others).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from metacascade.errors import ParameterError

__all__ = ["Course", "EndocrineArm", "EndocrineResponse", "stop_schedule", "treated_detections"]

FloatArray = NDArray[np.float64]
DAYS_PER_YEAR = 365.25


def _number(name: str, value: float, low: float, high: float, *, open_low: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name}: got {value!r}, allowed a number in [{low}, {high}]") from None
    if not (math.isfinite(v) and (v > low if open_low else v >= low) and v <= high):
        bracket = "(" if open_low else "["
        raise ParameterError(f"{name}: got {value!r}, allowed a number in {bracket}{low}, {high}]")
    return v


@dataclass(frozen=True)
class Course:
    """One agent given from ``start_years`` to ``end_years`` after surgery.

    ``growth_ratio``: :math:`\\rho` in (0, 1], the factor on a sensitive tumour's growth clock
    while it is given; ``kill_per_day``: :math:`\\kappa \\ge 0`, the hazard per day of
    eradication of each sensitive occult colony while it is given."""

    growth_ratio: float
    kill_per_day: float
    start_years: float
    end_years: float

    def __post_init__(self) -> None:
        _number("course.growth_ratio", self.growth_ratio, 0.0, 1.0, open_low=True)
        _number("course.kill_per_day", self.kill_per_day, 0.0, 1.0)
        s = _number("course.start_years", self.start_years, 0.0, 100.0)
        e = _number("course.end_years", self.end_years, 0.0, 100.0)
        if e <= s:
            raise ParameterError(f"course.end_years: got {self.end_years!r}, allowed a year > start_years = {s!r}")


@dataclass(frozen=True)
class EndocrineResponse:
    """How ER-positive occult disease responds to an endocrine agent (see the module docstring).

    Attributes
    ----------
    resistant_fraction : float
        share of patients whose disease is endocrine-resistant from the start, in [0, 1].
    kill_per_day : float
        :math:`k`: eradication hazard per day of a sensitive occult colony at complete blockade
        (:math:`\\kappa = k(1 - \\rho)`), >= 0.
    acquired_resistance_per_year : float
        rate at which sensitive disease becomes resistant while on therapy, >= 0.
    """

    resistant_fraction: float
    kill_per_day: float
    acquired_resistance_per_year: float = 0.0

    def __post_init__(self) -> None:
        _number("endocrine_response.resistant_fraction", self.resistant_fraction, 0.0, 1.0)
        _number("endocrine_response.kill_per_day", self.kill_per_day, 0.0, 1.0)
        _number("endocrine_response.acquired_resistance_per_year", self.acquired_resistance_per_year, 0.0, 100.0)

    def course(self, growth_ratio: float, start_years: float, end_years: float) -> Course:
        """The course of an agent with ``growth_ratio`` (kill :math:`k(1 - \\rho)`)."""
        rho = _number("growth_ratio", growth_ratio, 0.0, 1.0, open_low=True)
        return Course(rho, self.kill_per_day * (1.0 - rho), start_years, end_years)


def stop_schedule(courses: tuple[Course, ...], stop_years: float) -> tuple[Course, ...]:
    """``courses`` cut at ``stop_years`` (the day the disease became resistant)."""
    out = []
    for c in courses:
        if c.start_years < stop_years:
            out.append(Course(c.growth_ratio, c.kill_per_day, c.start_years, min(c.end_years, stop_years)))
    return tuple(out)


def _schedule(courses: tuple[Course, ...], t_days: FloatArray) -> tuple[FloatArray, FloatArray]:
    """:math:`\\int_0^t \\rho` and :math:`\\int_0^t \\kappa` (days) at ``t_days`` (exact: piecewise
    constant rates; overlapping courses multiply their ratios and add their kills)."""
    edges = sorted(
        {0.0} | {c.start_years * DAYS_PER_YEAR for c in courses} | {c.end_years * DAYS_PER_YEAR for c in courses}
    )
    edges_a = np.array([*edges, max(float(t_days.max()), edges[-1]) + 1.0])
    mids = 0.5 * (edges_a[1:] + edges_a[:-1])
    rho = np.ones(mids.size)
    kap = np.zeros(mids.size)
    for c in courses:
        on = (mids >= c.start_years * DAYS_PER_YEAR) & (mids < c.end_years * DAYS_PER_YEAR)
        rho[on] *= c.growth_ratio
        kap[on] += c.kill_per_day
    phi_e = np.concatenate([[0.0], np.cumsum(rho * np.diff(edges_a))])
    k_e = np.concatenate([[0.0], np.cumsum(kap * np.diff(edges_a))])
    return np.interp(t_days, edges_a, phi_e), np.interp(t_days, edges_a, k_e)


def treated_detections(
    x_days: FloatArray,
    g: FloatArray,
    v: FloatArray,
    courses: tuple[Course, ...],
    years: FloatArray,
) -> FloatArray:
    r"""Expected detected, surviving colonies :math:`E(t)` (module docstring) per growth
    multiplier ``v`` (rows) and time ``years`` after surgery (columns).

    ``x_days``: increasing grid of the remaining clock from 0; ``g``: :math:`G` on it (non-decreasing,
    constant beyond the grid). The kill weight of the colonies between two grid nodes is taken at
    their midpoint (second order in the grid step); with no course, :math:`E = G(v t)` exactly."""
    x = np.asarray(x_days, float)
    g = np.asarray(g, float)
    v = np.atleast_1d(np.asarray(v, float))
    t = np.atleast_1d(np.asarray(years, float)) * DAYS_PER_YEAR
    if x.ndim != 1 or x.size < 2 or x[0] != 0.0 or np.any(np.diff(x) <= 0):
        raise ParameterError("x_days: allowed an increasing grid from 0 with at least 2 nodes")
    if g.shape != x.shape or np.any(np.diff(g) < -1e-12 * max(1.0, float(abs(g).max()))):
        raise ParameterError("g: allowed a non-decreasing count on x_days")
    if np.any(~np.isfinite(v)) or np.any(v <= 0):
        raise ParameterError(f"v: got {v!r}, allowed growth multipliers > 0")
    if not courses:
        return np.interp(v[:, None] * t[None, :], x, g)
    # the real-time grid on which the clock is inverted: the course edges and a fine grid to the
    # last day a node of x can be reached (the slowest patient's)
    t_end = max(float(t.max()), max(c.end_years for c in courses) * DAYS_PER_YEAR)
    tg = np.unique(
        np.concatenate(
            [
                np.linspace(0.0, t_end, 4001),
                [c.start_years * DAYS_PER_YEAR for c in courses],
                [min(c.end_years * DAYS_PER_YEAR, t_end) for c in courses],
            ]
        )
    )
    phi1, kill = _schedule(courses, tg)
    phi_t = _schedule(courses, t)[0]
    dg = np.diff(g)
    xm = 0.5 * (x[1:] + x[:-1])
    out = np.empty((v.size, t.size))
    for i, vi in enumerate(v):
        # detection day of the colonies at xm: invert v * phi1 (strictly increasing: rho > 0);
        # beyond the grid the clock runs at rate v (no therapy)
        clock = vi * phi1
        td = np.where(xm <= clock[-1], np.interp(xm, clock, tg), tg[-1] + (xm - clock[-1]) / vi)
        weight = np.exp(-np.interp(td, tg, kill))
        cum = np.concatenate([[g[0]], g[0] + np.cumsum(weight * dg)])
        out[i] = np.interp(vi * phi_t, x, cum)
    return out


@dataclass(frozen=True)
class EndocrineArm:
    """An arm of an adjuvant endocrine trial: the ``courses`` its compliers (a share
    ``compliance`` of the arm) take, ``noncomplier_courses`` those of the others (none:
    untreated), and the disease's ``response``."""

    courses: tuple[Course, ...]
    response: EndocrineResponse
    compliance: float = 1.0
    noncomplier_courses: tuple[Course, ...] = ()

    def __post_init__(self) -> None:
        _number("arm.compliance", self.compliance, 0.0, 1.0)

    def classes(self, n_stop: int = 16) -> list[tuple[float, tuple[Course, ...]]]:
        """(share of the arm, courses that act) for every patient class: resistant from the
        start (nothing acts), then per compliance group the sensitive patients whose disease
        stays sensitive throughout and those that become resistant at a day on therapy
        (Gauss-Legendre nodes on the treated years, weights of the exponential law)."""
        r = self.response
        out: list[tuple[float, tuple[Course, ...]]] = [(r.resistant_fraction, ())]
        mu = r.acquired_resistance_per_year
        for share, courses in ((self.compliance, self.courses), (1.0 - self.compliance, self.noncomplier_courses)):
            q = share * (1.0 - r.resistant_fraction)
            if q == 0.0:
                continue
            if not courses or mu == 0.0:
                out.append((q, courses))
                continue
            a, b = min(c.start_years for c in courses), max(c.end_years for c in courses)
            # P(still sensitive at b) = exp(-mu * treated time); the treated time of a stop at s
            treated = sum(c.end_years - c.start_years for c in courses)
            out.append((q * math.exp(-mu * treated), courses))
            z, wz = np.polynomial.legendre.leggauss(n_stop)
            s_nodes = a + (b - a) * (z + 1.0) / 2.0
            for s, wq in zip(s_nodes, wz):
                cut = stop_schedule(courses, float(s))
                tr = sum(c.end_years - c.start_years for c in cut)
                on = any(c.start_years <= s < c.end_years for c in courses)
                if on:  # density of a stop at s: mu exp(-mu * treated time by s), on treated days only
                    out.append((q * float(wq) * (b - a) / 2.0 * mu * math.exp(-mu * tr), cut))
        return out
