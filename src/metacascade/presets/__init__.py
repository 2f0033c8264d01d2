"""Cancer-type presets: sourced growth, shedding and routing parameters shipped as data files.

``presets.toml`` beside this module holds one table per cancer type, each number with its source.
Whole-body presets (those with ``routes``) also carry calibrated values: colonisation efficiencies
("soil") per autopsy site and the population (between-patient variation), fitted to the DiSibio &
French 2008 autopsy counts and the SEER M1-by-size curves by ``metacascade presets calibrate`` and
stored in ``calibrated.toml``.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib.resources import files
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from metacascade.errors import DataError, ScenarioError

__all__ = ["Preset", "load_presets", "get_preset", "preset_names", "SITE_GROUPS", "load_calibrated"]

# Autopsy sites that span several organs of the body graph (one fitted soil for the group).
SITE_GROUPS: dict[str, tuple[str, ...]] = {"bone": ("bone_axial", "bone_appendicular")}


class _PresetSchema(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    description: str
    growth_law: str
    growth: dict[str, float]
    shedding: dict[str, float]
    secondary_seeding: bool
    colony_size0_cells: float = Field(ge=1.0)
    cells_per_mm3: float = Field(gt=0)
    detection_diameter_mm: float = Field(gt=0)
    references: list[str] = Field(min_length=1)
    lethal_burden_cells: float = Field(default=1e12, gt=1)
    autopsy_detection_diameter_mm: float = Field(default=2.0, gt=0)
    routes: dict[str, float] | None = None
    soil: dict[str, float] = Field(default_factory=dict)
    soil_relative: dict[str, float] = Field(default_factory=dict)
    # hormone-sensitivity names of metacascade/data/hormones.toml (er_breast, thyroid_t3, prolactin)
    hormone_sensitivity: list[str] = Field(default_factory=list)
    # between-patient variation (metacascade.model.population); calibrated values override these
    population: dict[str, float] = Field(default_factory=dict)
    # what the preset is calibrated on: autopsy = [DiSibio rows], seer = SEER type (or list),
    # population_from = preset whose population it borrows (no SEER curve), when = its time datum
    calibration: dict[str, Any] = Field(default_factory=dict)
    # immune dormancy of new colonies after their birth-death phase (probability, escape_per_day):
    # the default of a scenario's [host] dormancy_probability / dormancy_escape_per_day
    dormancy: dict[str, float] = Field(default_factory=dict)
    # margin of a resection (metacascade.model.resection.Resection): r1_probability, residual_cells,
    # residual_sd_log, r2_probability, r2_fraction; {} = complete resection (R0) always
    resection: dict[str, float] = Field(default_factory=dict)


class _CalibratedSchema(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    loglik: float
    n_obs: int = Field(ge=0)
    soil: dict[str, float]
    population: dict[str, float]
    intervals: dict[str, list[float]] = Field(default_factory=dict)
    # fitted size exponent of the colonisation rate and its re-referenced level (m, alpha)
    shedding: dict[str, float] = Field(default_factory=dict)
    # fitted dormancy of new colonies (probability, escape_per_day)
    dormancy: dict[str, float] = Field(default_factory=dict)
    # how the SEER operated-patient curve samples the population: m1_operated_odds, the odds ratio
    # of resection for a patient with M1 at diagnosis against one without (fitted)
    seer: dict[str, float] = Field(default_factory=dict)
    # regional-node dissection at the autopsy patients' resection: residual_fraction, the fraction
    # of the regional-node colonies present at surgery that it leaves (fitted)
    nodes: dict[str, float] = Field(default_factory=dict)
    # the growth clock's speed against presets.toml's growth (speed: every *_per_day rate of the
    # growth law multiplied by it; the soils are the fitted ones at that speed), fitted to survival
    growth: dict[str, float] = Field(default_factory=dict)
    # fitted margin law of a resection (r1_probability), fitted to survival after resection
    resection: dict[str, float] = Field(default_factory=dict)


@dataclass(frozen=True)
class Preset:
    """One cancer type's default model values (see ``presets.toml`` for the sources)."""

    name: str
    description: str
    growth_law: str
    growth: dict[str, float]
    shedding: dict[str, float]
    secondary_seeding: bool
    colony_size0_cells: float
    cells_per_mm3: float
    detection_diameter_mm: float
    references: tuple[str, ...]
    lethal_burden_cells: float = 1e12
    autopsy_detection_diameter_mm: float = 2.0
    routes: dict[str, float] | None = None
    soil: dict[str, float] = field(default_factory=dict)
    soil_relative: dict[str, float] = field(default_factory=dict)
    fitted_soil: dict[str, float] = field(default_factory=dict)
    hormone_sensitivity: tuple[str, ...] = ()
    population_spec: dict[str, float] = field(default_factory=dict)
    calibration: dict[str, Any] = field(default_factory=dict)
    fitted_population: dict[str, float] = field(default_factory=dict)
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    # presets.toml's shedding before the calibrated values replaced it (the calibration's base)
    shedding_spec: dict[str, float] = field(default_factory=dict)
    # immune dormancy of new colonies (probability, escape_per_day; {} = none): presets.toml's or fitted
    dormancy: dict[str, float] = field(default_factory=dict)
    # odds ratio of resection for a patient with M1 at diagnosis against one without, which turns the
    # population's P(M1) into the SEER operated-patient fraction (1 = not fitted: taken as equal)
    seer_m1_operated_odds: float = 1.0
    # fraction of the regional-node colonies present at resection that the node dissection of the
    # autopsy series' patients left behind (1 = not fitted: no dissection, every node colony stays)
    node_residual_fraction: float = 1.0
    # presets.toml's growth before the calibrated speed scaled it (the calibration's base), the
    # speed (1 = not fitted) and the margin law (presets.toml's, calibrated values on top)
    growth_spec: dict[str, float] = field(default_factory=dict)
    growth_speed: float = 1.0
    resection_spec: dict[str, float] = field(default_factory=dict)

    @property
    def resection(self) -> Any:
        """The margin law of a resection of the primary (:class:`~metacascade.model.resection.Resection`)."""
        from metacascade.model.resection import Resection

        return Resection(**self.resection_spec)

    @property
    def population(self) -> Any:
        """The between-patient variation (calibrated where fitted, else the preset's values)."""
        from metacascade.model.population import Population

        return Population(**{**self.population_spec, **self.fitted_population})

    @property
    def whole_body(self) -> bool:
        """Whether the preset routes cells through the body graph (else: one organ, Iwata-style)."""
        return self.routes is not None

    def resolved_soil(self, fitted: dict[str, float] | None = None) -> dict[str, float]:
        """Colonisation efficiency per organ: fitted sites (groups expanded), then
        ``soil_relative`` x the median fitted soil for the other organs, then explicit ``soil``."""
        fitted = self.fitted_soil if fitted is None else fitted
        out: dict[str, float] = {}
        for site, value in fitted.items():
            for organ in SITE_GROUPS.get(site, (site,)):
                out[organ] = float(value)
        if fitted:
            median = float(np.median(list(fitted.values())))
            for organ, rel in self.soil_relative.items():
                out.setdefault(organ, rel * median)
        out.update(self.soil)
        return out


def _parse(text: str, source: str) -> dict[str, Preset]:
    from metacascade._messages import format_validation_error  # scenario imports this module

    try:
        raw: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"{source}: corrupt preset file: {exc}") from None
    presets = {}
    for name, table in raw.items():
        try:
            p = _PresetSchema.model_validate(table)
        except ValidationError as exc:
            raise DataError(format_validation_error(exc, _PresetSchema, f"{source} [{name}]")) from None
        _check_dormancy(p.dormancy, f"{source} [{name}].dormancy")
        d = p.model_dump()
        d["population_spec"] = d.pop("population")
        d["resection_spec"] = d.pop("resection")
        presets[name] = Preset(
            name=name, **{**d, "references": tuple(p.references), "hormone_sensitivity": tuple(p.hormone_sensitivity)}
        )
    return presets


def _check_dormancy(d: dict[str, float], where: str) -> None:
    if not d:
        return
    if set(d) != {"probability", "escape_per_day"}:
        raise DataError(f"{where}: got keys {sorted(d)}, allowed exactly probability and escape_per_day")
    if not 0.0 <= d["probability"] <= 1.0:
        raise DataError(f"{where}.probability: got {d['probability']!r}, allowed [0, 1]")
    if not d["escape_per_day"] > 0.0:
        raise DataError(f"{where}.escape_per_day: got {d['escape_per_day']!r}, allowed a rate > 0 (per day)")


def load_calibrated(
    text: str | None = None, source: str = "metacascade/presets/calibrated.toml"
) -> dict[str, dict[str, Any]]:
    """Calibrated soils, population and intervals per preset (``calibrated.toml`` when ``text``
    is None; empty if the file is absent)."""
    if text is None:
        path = files("metacascade.presets").joinpath("calibrated.toml")
        if not path.is_file():
            return {}
        text = path.read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"{source}: corrupt calibrated-preset file: {exc}") from None
    out: dict[str, dict[str, Any]] = {}
    for name, table in raw.items():
        try:
            c = _CalibratedSchema.model_validate(table)
        except ValidationError as exc:
            from metacascade._messages import format_validation_error

            raise DataError(format_validation_error(exc, _CalibratedSchema, f"{source} [{name}]")) from None
        _check_dormancy(c.dormancy, f"{source} [{name}].dormancy")
        for key, value in c.seer.items():
            if key != "m1_operated_odds" or not (0.0 < float(value) <= 1.0):
                raise DataError(f"{source} [{name}].seer.{key}: got {value!r}, allowed m1_operated_odds in (0, 1]")
        for key, value in c.growth.items():
            if key != "speed" or not (math.isfinite(float(value)) and float(value) > 0.0):
                raise DataError(f"{source} [{name}].growth.{key}: got {value!r}, allowed speed > 0")
        for key, value in c.nodes.items():
            if key != "residual_fraction" or not (0.0 <= float(value) <= 1.0):
                raise DataError(f"{source} [{name}].nodes.{key}: got {value!r}, allowed residual_fraction in [0, 1]")
        for site, value in c.soil.items():
            if not (0.0 <= float(value) <= 1.0):
                raise DataError(f"{source} [{name}].soil.{site}: got {value!r}, allowed a probability in [0, 1]")
        out[name] = {
            "soil": dict(c.soil),
            "population": dict(c.population),
            "intervals": {k: (float(v[0]), float(v[1])) for k, v in c.intervals.items()},
            "loglik": float(c.loglik),
            "n_obs": int(c.n_obs),
            "shedding": dict(c.shedding),
            "dormancy": dict(c.dormancy),
            "seer": dict(c.seer),
            "nodes": dict(c.nodes),
            "growth": dict(c.growth),
            "resection": dict(c.resection),
        }
    return out


@lru_cache(maxsize=1)
def load_presets() -> dict[str, Preset]:
    """All shipped presets by name."""
    path = files("metacascade.presets").joinpath("presets.toml")
    presets = _parse(path.read_text(encoding="utf-8"), "metacascade/presets/presets.toml")
    fitted = load_calibrated()
    out = {}
    for name, p in presets.items():
        f = fitted.get(name, {})
        speed = float(f.get("growth", {}).get("speed", 1.0))
        out[name] = replace(
            p,
            growth=scaled_growth(p.growth, speed),
            growth_spec=dict(p.growth),
            growth_speed=speed,
            resection_spec={**p.resection_spec, **f.get("resection", {})},
            fitted_soil=f.get("soil", {}),
            fitted_population=f.get("population", {}),
            intervals=f.get("intervals", {}),
            shedding={**p.shedding, **f.get("shedding", {})},
            shedding_spec=dict(p.shedding),
            dormancy={**p.dormancy, **f.get("dormancy", {})},
            seer_m1_operated_odds=float(f.get("seer", {}).get("m1_operated_odds", 1.0)),
            node_residual_fraction=float(f.get("nodes", {}).get("residual_fraction", 1.0)),
        )
        out[name].population  # noqa: B018 - validates the values
        out[name].resection  # noqa: B018 - validates the values
    return out


def scaled_growth(growth: dict[str, float], speed: float) -> dict[str, float]:
    """``growth`` with its clock ``speed`` times faster: every rate ``*_per_day`` multiplied (sizes
    such as the capacity unchanged)."""
    if speed == 1.0:
        return dict(growth)
    return {k: (v * speed if k.endswith("_per_day") else v) for k, v in growth.items()}


def preset_names() -> list[str]:
    """Names users can give as ``[patient] cancer``."""
    return sorted(load_presets())


def get_preset(name: str) -> Preset:
    """The preset called ``name``; a ScenarioError with the allowed names otherwise."""
    from metacascade._messages import did_you_mean

    presets = load_presets()
    if name not in presets:
        raise ScenarioError(
            f"patient.cancer: unknown preset {name!r}{did_you_mean(name, presets)}; "
            f"allowed: {', '.join(sorted(presets))}"
        )
    return presets[name]
