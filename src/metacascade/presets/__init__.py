"""Cancer-type presets: sourced growth and shedding parameters shipped as a data file.

``presets.toml`` beside this module holds one table per cancer type, each number with its source.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from metacascade.errors import DataError, ScenarioError
from metacascade.scenario._errors import did_you_mean, format_validation_error

__all__ = ["Preset", "load_presets", "get_preset", "preset_names"]


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


def _parse(text: str, source: str) -> dict[str, Preset]:
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
        presets[name] = Preset(name=name, **{**p.model_dump(), "references": tuple(p.references)})
    return presets


@lru_cache(maxsize=1)
def load_presets() -> dict[str, Preset]:
    """All shipped presets by name."""
    path = files("metacascade.presets").joinpath("presets.toml")
    return _parse(path.read_text(encoding="utf-8"), "metacascade/presets/presets.toml")


def preset_names() -> list[str]:
    """Names users can give as ``[patient] cancer``."""
    return sorted(load_presets())


def get_preset(name: str) -> Preset:
    """The preset called ``name``; a ScenarioError with the allowed names otherwise."""
    presets = load_presets()
    if name not in presets:
        raise ScenarioError(f"patient.cancer: unknown preset {name!r}{did_you_mean(name, presets)}; "
                            f"allowed: {', '.join(sorted(presets))}")
    return presets[name]
