r"""Autopsy organ frequencies: the model's prediction and the calibration of the presets' soils.

An autopsy series reports, per primary, the fraction of patients who died of the cancer with at
least one metastasis in each site. The model's counterpart: the untreated natural history from
the primary's first cell to death, when the total tumour burden (primary plus metastases)
reaches the preset's lethal burden :math:`X_{\rm lethal}` at :math:`T_d`; then, with
:math:`\lambda_s` the expected number of metastases in site :math:`s` (its organs summed) larger
than the autopsy detection size,

.. math:: P_s = 1 - e^{-\lambda_s}

(colony foundings are a Poisson process when only the primary seeds; with secondary seeding
this is the first-order (Poisson) approximation, which the stochastic engine can check).

The calibration fits one colonisation efficiency ("soil") per site with a target by the
multiplicative fixed point :math:`\sigma_s \leftarrow \sigma_s\,\lambda^{\rm target}_s/\lambda_s`,
:math:`\lambda^{\rm target}_s = -\ln(1 - P^{\rm target}_s)`, exact when :math:`\lambda_s` is
proportional to :math:`\sigma_s` (primary seeding) and contracting otherwise; organs without a
target follow the median fitted soil (``soil_relative``). The fitted values are rounded to six
significant digits and written as data (``presets/soil_calibrated.toml``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.resources import files
from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from metacascade.errors import CalibrationError, DataError
from metacascade.model.body import BodyGraph, default_body_graph
from metacascade.presets import SITE_GROUPS, Preset, get_preset, load_presets
from metacascade.scenario import diameter_to_cells, model_from_preset

__all__ = ["AutopsyPrediction", "load_autopsy_targets", "predict_autopsy", "calibrate_preset",
           "calibrate_presets", "format_calibrated_soils", "CALIBRATED_SOIL_PATH"]

CALIBRATED_SOIL_PATH = Path(str(files("metacascade.presets").joinpath("soil_calibrated.toml")))
_TARGET_COLUMNS = ["cancer", "site", "low", "high", "target", "status", "source"]


def load_autopsy_targets(path: str | Path | None = None) -> pd.DataFrame:
    """The calibration targets (``data/autopsy_targets.csv`` when ``path`` is None).

    Columns: cancer, site, low, high, target (fractions of patients), status (R, R2, D, GK),
    source. Raises DataError naming the row and column of any bad value.
    """
    if path is None:
        text, source = files("metacascade").joinpath("data/autopsy_targets.csv").read_text(encoding="utf-8"), \
            "metacascade/data/autopsy_targets.csv"
    else:
        try:
            text, source = Path(path).read_text(encoding="utf-8"), str(path)
        except (OSError, UnicodeDecodeError) as exc:
            raise DataError(f"{path}: cannot read the autopsy target file: {exc}") from None
    try:
        df = pd.read_csv(StringIO(text), comment="#", dtype={"cancer": str, "site": str, "status": str})
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataError(f"{source}: corrupt autopsy target file: {exc}") from None
    missing = [c for c in _TARGET_COLUMNS if c not in df.columns]
    if missing:
        raise DataError(f"{source}: missing columns {missing}; expected {_TARGET_COLUMNS}")
    body = default_body_graph()
    sites = set(body.organs) | set(SITE_GROUPS)
    for i, row in df.iterrows():
        where = f"{source} row {i + 1} ({row['cancer']}, {row['site']})"
        if row["site"] not in sites:
            raise DataError(f"{where}: site: unknown {row['site']!r}; allowed: {', '.join(sorted(sites))}")
        for col in ("low", "high", "target"):
            v = pd.to_numeric(row[col], errors="coerce")
            if not (np.isfinite(v) and 0.0 <= v < 1.0):
                raise DataError(f"{where}: {col}: got {row[col]!r}, allowed a fraction in [0, 1)")
        if not row["low"] <= row["target"] <= row["high"]:
            raise DataError(f"{where}: target {row['target']} outside [low, high] = [{row['low']}, {row['high']}]")
        if row["status"] not in ("R", "R2", "D", "GK"):
            raise DataError(f"{where}: status: got {row['status']!r}, allowed R, R2, D, GK")
    if df.duplicated(["cancer", "site"]).any():
        dup = df[df.duplicated(["cancer", "site"])].iloc[0]
        raise DataError(f"{source}: duplicate row for ({dup['cancer']}, {dup['site']})")
    return df.reset_index(drop=True)


@dataclass(frozen=True)
class AutopsyPrediction:
    """The model's autopsy findings for one preset."""

    cancer: str
    death_day: float
    expected: dict[str, float]        # expected metastases above autopsy size, per organ
    probability: dict[str, float]     # P(at least one), per organ

    def site_probability(self, site: str) -> float:
        """P(at least one metastasis) in an autopsy site (organ groups summed)."""
        lam = sum(self.expected[o] for o in SITE_GROUPS.get(site, (site,)))
        return float(-math.expm1(-lam))


@functools.lru_cache(maxsize=64)
def _establishment(law: Any, x0: float, switch_cells: float, survival: float) -> Any:
    from metacascade.model.establishment import Establishment

    return Establishment(law, x0, switch_cells, survival)


def predict_autopsy(preset: Preset, *, soil: dict[str, float] | None = None, body: BodyGraph | None = None,
                    rtol: float = 1e-7, switch_cells: float = 1000.0) -> AutopsyPrediction:
    """Expected metastases per organ at death for ``preset`` (untreated natural history).

    ``soil`` replaces the preset's resolved soils (organ -> efficiency); ``body`` the shipped
    body graph. New colonies go through the birth-death phase up to ``switch_cells`` cells
    (the default of whole-body runs; 1: none), so the calibrated soils describe the same
    process that ``metacascade run`` simulates.
    """
    from metacascade.engines.organs import solve_organs

    body = default_body_graph() if body is None else body
    if preset.routes is None:
        raise CalibrationError(f"preset {preset.name!r} has no body routes; autopsy frequencies need a whole-body preset")
    model = model_from_preset(preset)
    routing = body.routing(preset.resolved_soil() if soil is None else soil, preset.routes)
    law = model.primary_growth
    lethal = preset.lethal_burden_cells
    if not lethal < law.capacity:
        raise CalibrationError(f"preset {preset.name!r}: lethal_burden_cells {lethal:g} must be below the growth "
                               f"capacity {law.capacity:g}")
    t_up = float(law.time_to_size(model.primary_size0, lethal))
    est = _establishment(model.colony_growth, model.colony_size0, float(switch_cells), float(body.early_survival))
    sol = solve_organs(model, body.organs, routing.primary, routing.factors, t_up, rtol=rtol,
                       establishment=None if est.trivial else est)

    def excess(t: float) -> float:
        return float(sol.total.primary_size(t) + sol.total.burden(t)) - lethal

    t_death = t_up if excess(t_up) <= 0 else float(brentq(excess, 0.0, t_up, xtol=1e-6, rtol=1e-12))
    x_autopsy = diameter_to_cells(preset.autopsy_detection_diameter_mm, preset.cells_per_mm3)
    lam = np.atleast_1d(sol.n_above(t_death, x_autopsy)).ravel()
    expected = dict(zip(body.organs, map(float, lam)))
    return AutopsyPrediction(cancer=preset.name, death_day=t_death, expected=expected,
                             probability={o: float(-math.expm1(-v)) for o, v in expected.items()})


def _round(x: float, digits: int = 6) -> float:
    return float(f"{x:.{digits}g}")


def calibrate_preset(preset: Preset, targets: pd.DataFrame | None = None, *, body: BodyGraph | None = None,
                     tol: float = 1e-7, max_iter: int = 200) -> dict[str, float]:
    """Fit the soils of ``preset``'s autopsy sites so that the model's frequencies equal the targets.

    Returns site -> soil rounded to 6 significant digits. Raises CalibrationError if the
    fixed point does not converge to ``tol`` (absolute, in probability) within ``max_iter``.
    """
    targets = load_autopsy_targets() if targets is None else targets
    if preset.autopsy_targets is None:
        raise CalibrationError(f"preset {preset.name!r} names no autopsy_targets; nothing to calibrate")
    rows = targets[targets["cancer"] == preset.autopsy_targets]
    if rows.empty:
        raise CalibrationError(f"preset {preset.name!r}: no rows for cancer {preset.autopsy_targets!r} in the targets")
    target = dict(zip(rows["site"], rows["target"].astype(float)))
    lam_target = {s: -math.log1p(-p) for s, p in target.items()}
    fitted = {s: 1e-10 for s in target}
    worst = math.inf
    for _ in range(max_iter):
        pred = predict_autopsy(preset, soil=preset.resolved_soil(fitted), body=body)
        lam = {s: -math.log1p(-min(pred.site_probability(s), 1 - 1e-16)) for s in target}
        worst = max(abs(pred.site_probability(s) - target[s]) for s in target)
        if worst <= tol:
            break
        for s in target:
            if lam[s] <= 0:
                raise CalibrationError(f"preset {preset.name!r}: site {s!r} gets no metastases at any soil; "
                                       "check the routes and the body graph")
            fitted[s] = min(1.0, fitted[s] * lam_target[s] / lam[s])
    else:
        raise CalibrationError(f"preset {preset.name!r}: calibration did not converge in {max_iter} iterations "
                               f"(largest error {worst:.3g})")
    return {s: _round(v) for s, v in fitted.items()}


def calibrate_presets(names: Iterable[str] | None = None, *, progress=None) -> dict[str, dict[str, float]]:
    """Calibrate every whole-body preset with autopsy targets (or those in ``names``)."""
    targets = load_autopsy_targets()
    presets = load_presets()
    chosen = [n for n in presets if presets[n].autopsy_targets is not None] if names is None else list(names)
    out = {}
    for name in chosen:
        out[name] = calibrate_preset(get_preset(name), targets)
        if progress is not None:
            progress(name)
    return out


def format_calibrated_soils(fits: dict[str, dict[str, float]]) -> str:
    """The TOML text of ``soil_calibrated.toml`` (deterministic: sorted names, 6 digits)."""
    lines = [
        "# Colonisation efficiencies (soil) of the whole-body presets, fitted to autopsy organ",
        "# frequencies (metacascade/data/autopsy_targets.csv) by `metacascade presets calibrate`.",
        "# Generated file: do not edit by hand; the command regenerates it bit for bit.",
        "# A site's soil applies to each of its organs (bone = bone_axial and bone_appendicular).",
    ]
    for name in sorted(fits):
        lines.append("")
        lines.append(f"[{name}.soil]")
        for site in sorted(fits[name]):
            lines.append(f"{site} = {fits[name][site]:.6g}".replace("e-0", "e-"))
    return "\n".join(lines) + "\n"
