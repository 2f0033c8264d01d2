"""Cancer-type presets: sourced growth, shedding and routing parameters shipped as data files.

``presets.toml`` beside this module holds one table per cancer type, each number with its source.
Whole-body presets (those with ``routes``) also carry colonisation efficiencies ("soil") fitted to
autopsy organ frequencies by ``metacascade presets calibrate``, stored in ``soil_calibrated.toml``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib.resources import files
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from metacascade.errors import DataError, ScenarioError

__all__ = ["Preset", "load_presets", "get_preset", "preset_names", "SITE_GROUPS", "load_calibrated_soils"]

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
    autopsy_targets: str | None = None
    routes: dict[str, float] | None = None
    soil: dict[str, float] = Field(default_factory=dict)
    soil_relative: dict[str, float] = Field(default_factory=dict)
    # hormone-sensitivity names of metacascade/data/hormones.toml (er_breast, thyroid_t3, prolactin)
    hormone_sensitivity: list[str] = Field(default_factory=list)


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
    autopsy_targets: str | None = None
    routes: dict[str, float] | None = None
    soil: dict[str, float] = field(default_factory=dict)
    soil_relative: dict[str, float] = field(default_factory=dict)
    fitted_soil: dict[str, float] = field(default_factory=dict)
    hormone_sensitivity: tuple[str, ...] = ()

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
    from metacascade.scenario._errors import format_validation_error  # scenario imports this module

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
        presets[name] = Preset(name=name, **{**p.model_dump(), "references": tuple(p.references),
                                             "hormone_sensitivity": tuple(p.hormone_sensitivity)})
    return presets


def load_calibrated_soils(text: str | None = None, source: str = "metacascade/presets/soil_calibrated.toml"
                          ) -> dict[str, dict[str, float]]:
    """Fitted soils per preset and autopsy site (``soil_calibrated.toml`` when ``text`` is None)."""
    if text is None:
        path = files("metacascade.presets").joinpath("soil_calibrated.toml")
        if not path.is_file():
            return {}
        text = path.read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"{source}: corrupt calibrated-soil file: {exc}") from None
    out: dict[str, dict[str, float]] = {}
    for name, table in raw.items():
        soil = table.get("soil") if isinstance(table, dict) else None
        if not isinstance(soil, dict):
            raise DataError(f"{source} [{name}]: expected a table with a 'soil' sub-table")
        for site, value in soil.items():
            if not isinstance(value, (int, float)) or not (0.0 <= float(value) <= 1.0):
                raise DataError(f"{source} [{name}].soil.{site}: got {value!r}, allowed a probability in [0, 1]")
        out[name] = {k: float(v) for k, v in soil.items()}
    return out


@lru_cache(maxsize=1)
def load_presets() -> dict[str, Preset]:
    """All shipped presets by name."""
    path = files("metacascade.presets").joinpath("presets.toml")
    presets = _parse(path.read_text(encoding="utf-8"), "metacascade/presets/presets.toml")
    fitted = load_calibrated_soils()
    return {name: replace(p, fitted_soil=fitted.get(name, {})) for name, p in presets.items()}


def preset_names() -> list[str]:
    """Names users can give as ``[patient] cancer``."""
    return sorted(load_presets())


def get_preset(name: str) -> Preset:
    """The preset called ``name``; a ScenarioError with the allowed names otherwise."""
    from metacascade.scenario._errors import did_you_mean

    presets = load_presets()
    if name not in presets:
        raise ScenarioError(f"patient.cancer: unknown preset {name!r}{did_you_mean(name, presets)}; "
                            f"allowed: {', '.join(sorted(presets))}")
    return presets[name]
