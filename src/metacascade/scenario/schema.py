"""Pydantic schema of scenario files (the edge): validates raw TOML into typed sections."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ScenarioSchema", "PatientSection", "ModelSection", "EngineSection", "OutputSection"]

_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


class PatientSection(BaseModel):
    """``[patient]``: who is simulated."""

    model_config = _STRICT
    cancer: str = Field(default="hcc_iwata2000", description="cancer-type preset name")
    primary_diameter_mm: float = Field(default=20.0, gt=0, le=1000, description="primary diameter at diagnosis (mm)")


class ModelSection(BaseModel):
    """``[model]``: overrides of the preset's values."""

    model_config = _STRICT
    growth_law: str | None = None
    growth: dict[str, float] | None = None
    shedding_m: float | None = Field(default=None, ge=0)
    shedding_alpha: float | None = Field(default=None, ge=0, le=1.5)
    secondary_seeding: bool | None = None
    colony_size0_cells: float | None = Field(default=None, ge=1)
    cells_per_mm3: float | None = Field(default=None, gt=0)
    detection_diameter_mm: float | None = Field(default=None, gt=0)
    lethal_burden_cells: float | None = Field(default=None, gt=1)
    # Whole-body presets only (organ and pool names: metacascade/data/body.toml):
    routes: dict[str, float] | None = Field(default=None, description="entry route -> share (sum 1)")
    soil: dict[str, float] | None = Field(default=None, description="organ (or 'bone') -> colonisation efficiency")
    arrest: dict[str, float] | None = Field(default=None, description="organ -> arrest fraction")
    clearance_per_day: float | None = Field(default=None, ge=0)
    early_survival: float | None = Field(default=None, ge=0, le=1)


class EngineSection(BaseModel):
    """``[engine]``: which engine and how far."""

    model_config = _STRICT
    kind: Literal["deterministic", "stochastic"] = "deterministic"
    seed: int = Field(default=2000, ge=0)
    horizon_days: float = Field(default=365.0, gt=0, le=36500)
    # The hybrid process (both engines): a new colony is a birth-death process up to switch_cells
    # cells, then grows deterministically. None: 1000 for whole-body presets, 1 (no birth-death
    # phase, Iwata's process) for one-organ presets.
    switch_cells: float | None = Field(default=None, ge=1, le=100_000)
    # Stochastic engine only:
    n_patients: int = Field(default=1000, ge=1, le=100_000_000)
    stop_at_death: bool = True
    workers: int = Field(default=1, ge=1, le=1024)
    # None: 1e-9 for one-organ presets, 1e-6 for whole-body presets (18 organs; see bench/body.py)
    rtol: float | None = Field(default=None, ge=1e-13, le=1e-3)


class OutputSection(BaseModel):
    """``[output]``: what is written."""

    model_config = _STRICT
    n_times: int = Field(default=121, ge=2, le=100_000)
    sizes_cells: list[Annotated[float, Field(gt=0)]] | None = Field(default=None, min_length=1, max_length=100_000)
    format: Literal["parquet", "csv"] = "parquet"
    figure: bool = True


class ScenarioSchema(BaseModel):
    """A whole scenario file."""

    model_config = _STRICT
    patient: PatientSection = PatientSection()
    model: ModelSection = ModelSection()
    engine: EngineSection = EngineSection()
    output: OutputSection = OutputSection()
