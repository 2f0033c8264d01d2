r"""Autopsy organ frequencies of one (median) patient: the untreated natural history to death.

An autopsy series reports, per primary, the fraction of patients who died of the cancer with at
least one metastasis in each site. For one patient whose primary stays in place, death comes when
the total tumour burden (primary plus metastases) reaches the preset's lethal burden
:math:`X_{\rm lethal}` at :math:`T_d`; with :math:`\lambda_s` the expected number of metastases
in site :math:`s` (its organs summed) larger than the autopsy detection size,

.. math:: P_s = 1 - e^{-\lambda_s}

(colony foundings are a Poisson process when only the primary seeds; with secondary seeding this
is the first-order approximation). The population averages over patients, and the calibration of
the presets to the DiSibio & French 2008 counts, are in
:mod:`metacascade.workflows.population_model` and :mod:`metacascade.workflows.preset_calibration`.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import brentq

from metacascade.errors import CalibrationError
from metacascade.model.body import BodyGraph, default_body_graph
from metacascade.presets import SITE_GROUPS, Preset
from metacascade.scenario import diameter_to_cells, model_from_preset

__all__ = ["AutopsyPrediction", "predict_autopsy"]


@dataclass(frozen=True)
class AutopsyPrediction:
    """The model's autopsy findings for one preset."""

    cancer: str
    death_day: float
    expected: dict[str, float]  # expected metastases above autopsy size, per organ
    probability: dict[str, float]  # P(at least one), per organ

    def site_probability(self, site: str) -> float:
        """P(at least one metastasis) in an autopsy site (organ groups summed)."""
        lam = sum(self.expected[o] for o in SITE_GROUPS.get(site, (site,)))
        return float(-math.expm1(-lam))


@functools.lru_cache(maxsize=64)
def _establishment(law: Any, x0: float, switch_cells: float, survival: float) -> Any:
    from metacascade.model.establishment import Establishment

    return Establishment(law, x0, switch_cells, survival)


def predict_autopsy(
    preset: Preset,
    *,
    soil: dict[str, float] | None = None,
    body: BodyGraph | None = None,
    rtol: float = 1e-7,
    switch_cells: float = 1000.0,
) -> AutopsyPrediction:
    """Expected metastases per organ at death for ``preset`` (untreated natural history).

    ``soil`` replaces the preset's resolved soils (organ -> efficiency); ``body`` the shipped
    body graph. New colonies go through the birth-death phase up to ``switch_cells`` cells
    (the default of whole-body runs; 1: none), so the calibrated soils describe the same
    process that ``metacascade run`` simulates.
    """
    from metacascade.engines.organs import solve_organs

    body = default_body_graph() if body is None else body
    if preset.routes is None:
        raise CalibrationError(
            f"preset {preset.name!r} has no body routes; autopsy frequencies need a whole-body preset"
        )
    model = model_from_preset(preset)
    routing = body.routing(preset.resolved_soil() if soil is None else soil, preset.routes)
    law = model.primary_growth
    lethal = preset.lethal_burden_cells
    if not lethal < law.capacity:
        raise CalibrationError(
            f"preset {preset.name!r}: lethal_burden_cells {lethal:g} must be below the growth capacity {law.capacity:g}"
        )
    t_up = float(law.time_to_size(model.primary_size0, lethal))
    est = _establishment(model.colony_growth, model.colony_size0, float(switch_cells), float(body.early_survival))
    sol = solve_organs(
        model,
        body.organs,
        routing.primary,
        routing.factors,
        t_up,
        rtol=rtol,
        establishment=None if est.trivial else est,
    )

    def excess(t: float) -> float:
        return float(sol.total.primary_size(t) + sol.total.burden(t)) - lethal

    t_death = t_up if excess(t_up) <= 0 else float(brentq(excess, 0.0, t_up, xtol=1e-6, rtol=1e-12))
    x_autopsy = diameter_to_cells(preset.autopsy_detection_diameter_mm, preset.cells_per_mm3)
    lam = np.atleast_1d(sol.n_above(t_death, x_autopsy)).ravel()
    expected = dict(zip(body.organs, map(float, lam)))
    return AutopsyPrediction(
        cancer=preset.name,
        death_day=t_death,
        expected=expected,
        probability={o: float(-math.expm1(-v)) for o, v in expected.items()},
    )
