r"""Resection of the primary and its margin: what surgery leaves behind.

A resection removes the primary. Its margin status says what it leaves: **R0** (no tumour at the
margin) leaves nothing; **R1** (tumour cells at the margin, microscopic residual) leaves a
residual population that regrows in place with the primary's growth law and sheds through the
primary's routes: a local recurrence, which itself seeds metastases; **R2** (macroscopic residual)
leaves a visible part of the tumour. :class:`Resection` holds the probability of each and the law
of the residual's size:

- ``r1_probability`` and ``r2_probability``: the chance that a resection is R1 or R2 (R0 the rest);
- ``residual_cells``: the median number of cancer cells an R1 resection leaves, log-normal
  between patients with standard deviation ``residual_sd_log`` of its natural log;
- ``r2_fraction``: the fraction of the primary an R2 resection leaves (a macroscopic part).

:meth:`Resection.residual_nodes` is the quadrature of the residual over patients: cells and
weights, R0 as the node with zero cells. The probabilities are per preset (sourced rates of the
pathology series, ``presets.toml``), the R1 residual's size is fitted to survival after resection
(``presets/calibrated.toml``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from metacascade.errors import ParameterError
from metacascade.model.body import _probability

__all__ = ["Resection", "ResidualNodes"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class ResidualNodes:
    """Quadrature of what a resection leaves: ``cells`` left in place (0 for R0; an R1 node's
    cells; for R2 ``cells`` is nan and ``fraction`` the share of the primary left), ``weight``
    (summing to 1) and ``margin`` ("R0", "R1", "R2") per node."""

    cells: FloatArray
    fraction: FloatArray
    weight: FloatArray
    margin: tuple[str, ...]

    def left(self, primary_cells: float) -> FloatArray:
        """Cells left in place by each node for a primary of ``primary_cells``."""
        return np.where(np.isnan(self.cells), self.fraction * float(primary_cells), self.cells)


@dataclass(frozen=True)
class Resection:
    """Margin probabilities and the residual an incomplete resection leaves (module docstring).

    The default is a complete resection (R0 always): today's behaviour of every surgery.
    """

    r1_probability: float = 0.0
    residual_cells: float = 1e5
    residual_sd_log: float = 0.0
    r2_probability: float = 0.0
    r2_fraction: float = 0.1

    def __post_init__(self) -> None:
        r1 = _probability("resection.r1_probability", self.r1_probability)
        r2 = _probability("resection.r2_probability", self.r2_probability)
        if r1 + r2 > 1.0 + 1e-12:
            raise ParameterError(
                f"resection.r1_probability + r2_probability: got {r1} + {r2} = {r1 + r2}, allowed a sum <= 1"
            )
        try:
            n = float(self.residual_cells)
        except (TypeError, ValueError):
            n = math.nan
        if not (math.isfinite(n) and n >= 1.0):
            raise ParameterError(
                f"resection.residual_cells: got {self.residual_cells!r}, allowed a number >= 1 (cells)"
            )
        s = float(self.residual_sd_log)
        if not (math.isfinite(s) and 0.0 <= s <= 10.0):
            raise ParameterError(
                f"resection.residual_sd_log: got {self.residual_sd_log!r}, allowed a number in [0, 10]"
            )
        f = float(self.r2_fraction)
        if not (math.isfinite(f) and 0.0 < f <= 1.0):
            raise ParameterError(f"resection.r2_fraction: got {self.r2_fraction!r}, allowed a fraction in (0, 1]")

    @property
    def complete(self) -> bool:
        """Every resection is R0 (nothing left)."""
        return self.r1_probability == 0.0 and self.r2_probability == 0.0

    def residual_nodes(self, n: int = 9) -> ResidualNodes:
        """R0 (zero cells), ``n`` nodes of the log-normal R1 residual (one when its spread is 0) and
        R2, with their probabilities as weights; nodes of zero weight are left out."""
        from metacascade.model.population import log_normal_nodes

        cells: list[float] = []
        frac: list[float] = []
        weight: list[float] = []
        margin: list[str] = []
        r0 = 1.0 - self.r1_probability - self.r2_probability
        if r0 > 0:
            cells.append(0.0)
            frac.append(0.0)
            weight.append(r0)
            margin.append("R0")
        if self.r1_probability > 0:
            if self.residual_sd_log > 0:
                z, w = log_normal_nodes(max(int(n), 3), 4.0)
            else:
                z, w = np.zeros(1), np.ones(1)
            for zi, wi in zip(z, w):
                cells.append(max(1.0, float(self.residual_cells) * math.exp(self.residual_sd_log * zi)))
                frac.append(0.0)
                weight.append(self.r1_probability * float(wi))
                margin.append("R1")
        if self.r2_probability > 0:
            cells.append(math.nan)
            frac.append(float(self.r2_fraction))
            weight.append(self.r2_probability)
            margin.append("R2")
        wt = np.asarray(weight, float)
        return ResidualNodes(np.asarray(cells, float), np.asarray(frac, float), wt / wt.sum(), tuple(margin))
