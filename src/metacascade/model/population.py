r"""Between-patient variation of a cancer type: the population a preset describes.

Two patients with the same primary differ in how readily their tumour founds colonies and in
how fast it grows. A preset carries the population distributions of those differences:

- **metastatic competence**: a fraction :math:`\pi` (``competent_fraction``) of tumours can
  found distant or nodal colonies at all; the others never do (a primary without a competent
  clone; the plateau of the SEER curves of M1 at diagnosis against size, e.g. colon at ~23%
  above 6 cm, is this fraction);
- **dissemination**: among competent tumours, a multiplier :math:`u` of the founding
  probability of every shed cell (primary and colonies alike), log-normal with median 1 and
  standard deviation ``dissemination_sd_log`` of :math:`\ln u` (the level sits in the soils);
- **growth speed**: a multiplier :math:`v` of the speed of the growth clock (primary, colonies,
  birth-death phase), log-normal with median 1 and ``growth_sd_log``;
- **lymphatic vs haematogenous dissemination** (optional): the founding multiplier of the
  regional lymph nodes, :math:`u_n`, may differ from that of every other organ, :math:`u`: log-normal
  with median 1, ``nodal_sd_log`` and correlation ``nodal_correlation`` (:math:`\rho`) between
  :math:`\ln u_n` and :math:`\ln u`. Unset (the default), :math:`u_n = u`: one multiplier for all
  organs. Lymphatic spread to the regional nodes and haematogenous spread to distant organs are
  distinct routes (lymphatic vessels vs the circulation) whose propensities vary between tumours
  partly independently; the nodal-positivity-by-size and node-positive relapse data identify
  :math:`\rho`.

Scaling (exact, used by the quadratures): in the clock time :math:`\tau = v t` a patient with
:math:`(u, v)` is the median patient with founding rates multiplied by :math:`w = u / v`, so any
quantity read at a given primary size (at diagnosis, at death by lethal burden) depends on
:math:`w` only, and :math:`\ln w` is normal with standard deviation
:math:`\sqrt{\sigma_u^2 + \sigma_v^2}` (``effective_sd_log``). Host dormancy, whose escape rate is
in days, breaks this scaling; quantities over calendar time need both multipliers.

:func:`log_normal_nodes` gives the quadrature: a uniform grid in the standard normal variable
on :math:`[-z_{max}, z_{max}]` with normalised normal weights (the composite trapezoid rule of
a smooth, rapidly decaying integrand; converges geometrically, and resolves the step-like
integrands :math:`1 - e^{-w \lambda}` that Gauss-Hermite nodes miss when the spread is wide).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from metacascade.errors import ParameterError

__all__ = ["Population", "log_normal_nodes"]

FloatArray = NDArray[np.float64]


def _check(name: str, value: float, low: float, high: float, *, open_low: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name}: got {value!r}, allowed a number in [{low}, {high}]") from None
    ok = math.isfinite(v) and (v > low if open_low else v >= low) and v <= high
    if not ok:
        bracket = "(" if open_low else "["
        raise ParameterError(f"{name}: got {value!r}, allowed a number in {bracket}{low}, {high}]")
    return v


@dataclass(frozen=True)
class Population:
    """Population distributions of one cancer type (see the module docstring).

    Attributes
    ----------
    competent_fraction : float
        :math:`\\pi` in (0, 1]: fraction of tumours that found colonies at all.
    dissemination_sd_log : float
        standard deviation of the natural log of the founding multiplier (>= 0).
    growth_sd_log : float
        standard deviation of the natural log of the growth-speed multiplier (>= 0).
    """

    competent_fraction: float = 1.0
    dissemination_sd_log: float = 0.0
    growth_sd_log: float = 0.0
    nodal_sd_log: float | None = None
    nodal_correlation: float = 1.0

    def __post_init__(self) -> None:
        _check("population.competent_fraction", self.competent_fraction, 0.0, 1.0, open_low=True)
        _check("population.dissemination_sd_log", self.dissemination_sd_log, 0.0, 50.0)
        _check("population.growth_sd_log", self.growth_sd_log, 0.0, 5.0)
        if self.nodal_sd_log is not None:
            _check("population.nodal_sd_log", self.nodal_sd_log, 0.0, 50.0)
        _check("population.nodal_correlation", self.nodal_correlation, -1.0, 1.0)

    @property
    def nodal_shared(self) -> bool:
        """The regional nodes share the founding multiplier of every other organ (u_n = u)."""
        return (
            self.nodal_sd_log is None or self.nodal_sd_log == self.dissemination_sd_log
        ) and self.nodal_correlation == 1.0

    @property
    def nodal_sd(self) -> float:
        """Standard deviation of ln u_n (that of ln u when unset)."""
        return self.dissemination_sd_log if self.nodal_sd_log is None else float(self.nodal_sd_log)

    def joint_nodes(
        self, n: int = 321, m: int = 41, z_max: float = 8.0
    ) -> tuple[FloatArray, FloatArray, FloatArray, float]:
        r"""Quadrature over competent patients of :math:`(\ln w, \ln w_n)` = (ln u/v, ln u_n/v).

        Returns flat arrays ``log_w``, ``log_w_nodal``, ``weights`` (summing to 1) and the
        spacing of ``log_w`` along its own axis (for smoothing indicator integrands). With a
        shared multiplier the grid is 1-D (``n`` nodes, ``log_w_nodal == log_w``); otherwise
        ``n x m``: :math:`\ln w = s\,x`, :math:`\ln w_n = s_n (r x + \sqrt{1 - r^2}\,y)` with
        :math:`x, y` independent standard normal, :math:`s^2 = \sigma_u^2 + \sigma_v^2`,
        :math:`s_n^2 = \sigma_n^2 + \sigma_v^2` and
        :math:`r = (\rho \sigma_u \sigma_n + \sigma_v^2) / (s s_n)` (the correlation of the
        two logs: they share the growth multiplier)."""
        x, wx = log_normal_nodes(n, z_max)
        s = self.effective_sd_log
        h = float(s * x[1] - s * x[0])
        if self.nodal_shared:
            return s * x, s * x, wx, h
        su, sv, sn = self.dissemination_sd_log, self.growth_sd_log, self.nodal_sd
        s_n = math.hypot(sn, sv)
        r = 1.0 if s == 0 or s_n == 0 else (self.nodal_correlation * su * sn + sv * sv) / (s * s_n)
        r = min(max(r, -1.0), 1.0)
        y, wy = log_normal_nodes(m, z_max)
        log_w = np.repeat(s * x, y.size)
        log_wn = (s_n * (r * x[:, None] + math.sqrt(max(1.0 - r * r, 0.0)) * y[None, :])).ravel()
        return log_w, log_wn, (wx[:, None] * wy[None, :]).ravel(), h

    @property
    def effective_sd_log(self) -> float:
        """Standard deviation of ln(u / v): what quantities at a given primary size depend on."""
        return math.hypot(self.dissemination_sd_log, self.growth_sd_log)

    @property
    def trivial(self) -> bool:
        """Every patient is the median patient."""
        return self.competent_fraction == 1.0 and self.effective_sd_log == 0.0

    def w_nodes(self, n: int = 321, z_max: float = 8.0) -> tuple[FloatArray, FloatArray]:
        """Nodes ``ln w`` and weights (summing to 1) over competent patients."""
        z, weights = log_normal_nodes(n, z_max)
        return self.effective_sd_log * z, weights

    def draw(self, rng: np.random.Generator, n: int) -> tuple[FloatArray, FloatArray]:
        """Per-patient founding multipliers ``u`` (0 for non-competent tumours) and growth
        multipliers ``v`` for ``n`` patients, drawn from ``rng`` in a fixed order."""
        comp = rng.random(n) < self.competent_fraction
        zu = rng.standard_normal(n)
        zv = rng.standard_normal(n)
        u = np.where(comp, np.exp(self.dissemination_sd_log * zu), 0.0)
        v = np.exp(self.growth_sd_log * zv)
        return u, v

    def nodal_log_u(self, z_u: FloatArray, z_extra: FloatArray) -> FloatArray:
        """ln u_n for patients whose ln u is ``dissemination_sd_log * z_u``, given an independent
        standard normal ``z_extra`` each: sigma_n (rho z_u + sqrt(1 - rho^2) z_extra) (broadcast)."""
        z_u, z_extra = np.asarray(z_u, float), np.asarray(z_extra, float)
        rho = self.nodal_correlation
        return self.nodal_sd * (rho * z_u + math.sqrt(max(1.0 - rho * rho, 0.0)) * z_extra)

    def nodal_factor(self, z_u: FloatArray, z_extra: FloatArray) -> FloatArray:
        """u_n / u (see :meth:`nodal_log_u`; 1 for a shared multiplier)."""
        z_u, z_extra = np.asarray(z_u, float), np.asarray(z_extra, float)
        if self.nodal_shared:
            return np.ones(np.broadcast(z_u, z_extra).shape)
        return np.exp(self.nodal_log_u(z_u, z_extra) - self.dissemination_sd_log * z_u)


def log_normal_nodes(n: int = 321, z_max: float = 8.0) -> tuple[FloatArray, FloatArray]:
    """Uniform nodes ``z`` on ``[-z_max, z_max]`` and normalised standard-normal weights.

    Raises ParameterError for fewer than 3 nodes or a non-positive ``z_max``.
    """
    if int(n) < 3:
        raise ParameterError(f"n: got {n!r}, allowed an integer >= 3")
    if not (math.isfinite(z_max) and z_max > 0):
        raise ParameterError(f"z_max: got {z_max!r}, allowed a positive number")
    z = np.linspace(-z_max, z_max, int(n))
    w = np.exp(-0.5 * z * z)
    return z, w / w.sum()
