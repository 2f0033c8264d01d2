"""Pydantic schema of scenario files (the edge): validates raw TOML into typed sections."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "ScenarioSchema",
    "PatientSection",
    "ModelSection",
    "EngineSection",
    "OutputSection",
    "HostSection",
    "TreatmentEntry",
    "CohortSection",
    "ArmSection",
    "DistributionSpec",
    "VARIABLE_PARAMETERS",
]

_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


class PatientSection(BaseModel):
    """``[patient]``: who is simulated."""

    model_config = _STRICT
    cancer: str = Field(default="hcc_iwata2000", description="cancer-type preset name")
    primary_diameter_mm: float = Field(default=20.0, gt=0, le=1000, description="primary diameter at diagnosis (mm)")
    # Host (docs/design.md section 1.4). Hormone levels left out: the preset's reference level (growth as fitted);
    # with menopausal_status given, that group's reference level (metacascade/data/hormones.toml).
    sex: Literal["female", "male"] | None = Field(default=None, description="sets the physiological hormone ranges")
    menopausal_status: Literal["premenopausal", "postmenopausal"] | None = Field(
        default=None, description="women only: the hormone reference levels and ranges of that group"
    )
    immunocompetence: float = Field(default=1.0, ge=0, le=10, description="1 = normal immunity")
    estradiol_pmol_l: float | None = Field(
        default=None,
        ge=0,
        description="serum estradiol (pmol/L); default: the preset's reference level (growth as fitted)",
    )
    free_t4_pmol_l: float | None = Field(default=None, ge=0, description="serum free T4 (pmol/L)")
    free_t3_pmol_l: float | None = Field(default=None, ge=0, description="serum free T3 (pmol/L)")
    prolactin_ng_ml: float | None = Field(default=None, ge=0, description="serum prolactin (ng/mL)")


class ModelSection(BaseModel):
    """``[model]``: overrides of the preset's values."""

    model_config = _STRICT
    growth_law: str | None = Field(
        default=None, description="gompertz, exponential, logistic, power_law or von_bertalanffy"
    )
    growth: dict[str, float] | None = Field(
        default=None, description="parameters of the growth law, e.g. { a_per_day = 0.004, b_cells = 3e12 }"
    )
    shedding_m: float | None = Field(
        default=None, ge=0, description="shedding rate m of d(X) = m X^alpha (per day per cell^alpha)"
    )
    shedding_alpha: float | None = Field(
        default=None, ge=0, le=1.5, description="shedding exponent alpha (2/3 surface, 1 volume)"
    )
    secondary_seeding: bool | None = Field(default=None, description="metastases found metastases")
    colony_size0_cells: float | None = Field(default=None, ge=1, description="cells that found a colony")
    cells_per_mm3: float | None = Field(default=None, gt=0, description="tumour cell density (1e6 = 1e9 per cm^3)")
    detection_diameter_mm: float | None = Field(default=None, gt=0, description="imaging detection threshold (mm)")
    lethal_burden_cells: float | None = Field(default=None, gt=1, description="total tumour burden at death (cells)")
    # Whole-body presets only (organ and pool names: metacascade/data/body.toml):
    routes: dict[str, float] | None = Field(default=None, description="entry route -> share (sum 1)")
    soil: dict[str, float] | None = Field(default=None, description="organ (or 'bone') -> colonisation efficiency")
    arrest: dict[str, float] | None = Field(default=None, description="organ -> arrest fraction")
    clearance_per_day: float | None = Field(
        default=None, ge=0, description="rate k of the transit survival exp(-k t) of circulating cells"
    )
    early_survival: float | None = Field(
        default=None, ge=0, le=1, description="probability that a founded colony escapes early extinction"
    )


class EngineSection(BaseModel):
    """``[engine]``: which engine and how far."""

    model_config = _STRICT
    kind: Literal["deterministic", "stochastic"] = Field(
        default="deterministic", description="expected values, or virtual patients (needed for a treatment plan)"
    )
    seed: int = Field(default=2000, ge=0, description="seed of every random draw (stochastic engine, cohorts)")
    horizon_days: float = Field(default=365.0, gt=0, le=36500, description="days simulated after diagnosis")
    # The hybrid process (both engines): a new colony is a birth-death process up to switch_cells
    # cells, then grows deterministically. None: 1000 for whole-body presets, 1 (no birth-death
    # phase, Iwata's process) for one-organ presets.
    switch_cells: float | None = Field(
        default=None,
        ge=1,
        le=100_000,
        description="size at which a colony's birth-death phase ends (default 1000 whole body, 1 one organ)",
    )
    # Stochastic engine only:
    n_patients: int = Field(default=1000, ge=1, le=100_000_000, description="virtual patients (stochastic engine)")
    stop_at_death: bool = Field(
        default=True,
        description="end each virtual patient at death (false: follow to "
        "the horizon, the process the deterministic engine averages)",
    )
    workers: int = Field(default=1, ge=1, le=1024, description="threads for the virtual patients")
    # None: 1e-9 for one-organ presets, 1e-6 for whole-body presets (18 organs; see bench/body.py)
    rtol: float | None = Field(
        default=None,
        ge=1e-13,
        le=1e-3,
        description="relative tolerance of the deterministic engine (default 1e-9 one organ, 1e-6 whole body)",
    )


class OutputSection(BaseModel):
    """``[output]``: what is written."""

    model_config = _STRICT
    n_times: int = Field(default=121, ge=2, le=100_000, description="output times from the first cell to the horizon")
    sizes_cells: list[Annotated[float, Field(gt=0)]] | None = Field(
        default=None, min_length=1, max_length=100_000, description="sizes of the size distribution (cells)"
    )
    format: Literal["parquet", "csv"] = Field(default="parquet", description="format of the tables")
    figure: bool = Field(default=True, description="write figure.png and body_map.png")


class HostSection(BaseModel):
    """``[host]``: immune dormancy, NK clearance, organ failure (docs/design.md sections 1.4, 1.7)."""

    model_config = _STRICT
    # probability that a colony reaching the switch size is held dormant by immunity (0: none)
    dormancy_probability: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="probability that a colony reaching the switch size is held dormant by immunity",
    )
    # escape rate of a dormant colony at normal immunity: 1/730 per day, the BCL1 dormancy mean
    # first-passage time of 730 days (Vitetta ES et al. 1997, as used with Kuznetsov 1994; R2)
    dormancy_escape_per_day: float = Field(
        default=1.0 / 730.0,
        gt=0,
        le=100,
        description="escape rate of a dormant "
        "colony at normal immunity (1/730: BCL1, Kuznetsov 1994), on the "
        "tumour's clock: a patient growing v times faster escapes v times faster",
    )
    # share of the clearance of circulating cells due to NK cells, scaled by immunocompetence (GK)
    nk_clearance_fraction: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="share of the clearance of circulating cells due to NK cells, scaled by immunocompetence",
    )
    # death when a vital organ fails (data/organ_health.toml), besides the lethal total burden; off by
    # default so that scenarios written before it (no treatment) give the same results
    organ_failure: bool = Field(
        default=False, description="death also when a vital organ fails (data/organ_health.toml)"
    )


class _Entry(BaseModel):
    model_config = _STRICT
    day: float = Field(ge=0, le=36500, description="days since diagnosis")


class SurgeryEntry(_Entry):
    kind: Literal["surgery"]
    nodes: bool = Field(default=False, description="also remove the colonies in the regional lymph nodes")
    nodes_left_fraction: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description=(
            "with nodes: the fraction of regional-node colonies the dissection leaves (each colony stays with "
            "this probability; 0: complete dissection)"
        ),
    )
    shed_cells: float = Field(default=0.0, ge=0, le=1e12, description="perioperative burst of shed cells")


class ChemotherapyEntry(_Entry):
    kind: Literal["chemotherapy"]
    cycles: int = Field(default=6, ge=1, le=1000, description="number of doses")
    interval_days: float = Field(default=21.0, gt=0, le=3650, description="days between doses")
    log_kill: float = Field(default=1.0, ge=0, le=30, description="log10 kill of sensitive cells per dose")
    site_log_kill: dict[str, Annotated[float, Field(ge=0, le=30)]] = Field(
        default_factory=dict, description="organ -> log kill where the drug penetrates poorly (e.g. brain)"
    )
    norton_simon: bool = Field(default=False, description="kill proportional to the per-cell growth rate")
    reference_cells: float = Field(default=1e9, ge=1, description="size at which Norton-Simon kill equals log_kill")
    mutation_rate: float = Field(
        default=1e-6, ge=0, le=1, description="resistance mutations per division (Goldie-Coldman)"
    )
    myelosuppression: float = Field(default=0.0, ge=0, le=1, description="fall of immunocompetence per dose")
    recovery_days: float = Field(default=21.0, ge=0, le=3650, description="recovery time of immunity after a dose")


class RadiotherapyEntry(_Entry):
    kind: Literal["radiotherapy"]
    sites: list[str] = Field(
        default_factory=lambda: ["primary"], min_length=1, description="irradiated sites: primary and/or organ names"
    )
    dose_per_fraction_gy: float = Field(default=2.0, gt=0, le=100, description="dose per fraction (Gy)")
    fractions: int = Field(default=30, ge=1, le=1000, description="number of fractions")
    fractions_per_week: int = Field(default=5, ge=1, le=7, description="fractions per week (Monday first)")
    alpha_per_gy: float | None = Field(
        default=None, gt=0, le=10, description="LQ alpha per Gy (default: data/radiobiology.toml)"
    )
    alpha_beta_gy: float | None = Field(default=None, gt=0, le=1000, description="LQ alpha/beta (Gy)")
    repopulation: bool = Field(default=True, description="accelerated repopulation after the kick-off")
    kickoff_days: float | None = Field(default=None, ge=0, le=3650, description="start of repopulation (days)")
    doubling_days: float | None = Field(default=None, gt=0, le=3650, description="doubling time during repopulation")


class EndocrineEntry(_Entry):
    kind: Literal["endocrine"]
    agent: str = Field(default="tamoxifen", description="tamoxifen, anastrozole, letrozole or ovarian_suppression")
    duration_days: float = Field(default=1826.0, gt=0, le=36500, description="days of treatment")


class ImmunotherapyEntry(_Entry):
    kind: Literal["immunotherapy"]
    duration_days: float = Field(default=365.0, gt=0, le=36500, description="days of treatment")
    killing_factor: float = Field(default=2.0, ge=1, le=1000, description="factor on the effectors' kill rate")


TreatmentEntry = Annotated[
    SurgeryEntry | ChemotherapyEntry | RadiotherapyEntry | EndocrineEntry | ImmunotherapyEntry,
    Field(discriminator="kind"),
]


#: Patient parameters a cohort can vary (``[cohort.vary]``) -> what they are.
VARIABLE_PARAMETERS = {
    "primary_diameter_mm": "primary diameter at diagnosis (mm)",
    "growth_rate": "factor on the growth rate of every tumour of the patient (1 = the preset's)",
    "shedding": "factor on the shedding rate of every tumour of the patient (1 = the preset's)",
    "immunocompetence": "immunocompetence (1 = normal): dormancy control and NK clearance",
    "estradiol_pmol_l": "serum estradiol (pmol/L), hormone-sensitive presets",
    "age_years": "age at diagnosis (years), recorded as a covariate",
}


class DistributionSpec(BaseModel):
    """One patient parameter's distribution across a cohort.

    ``lognormal`` (default): ``median`` and ``sd_log`` (standard deviation of the natural log);
    ``normal``: ``mean`` and ``sd``; ``uniform``: ``low`` and ``high``; ``fixed``: ``value``.
    ``min`` / ``max`` truncate the distribution (drawn by inversion inside the bounds).
    """

    model_config = _STRICT
    distribution: Literal["lognormal", "normal", "uniform", "fixed"] = Field(
        default="lognormal", description="the family; each takes its own parameters"
    )
    median: float | None = Field(default=None, gt=0, description="lognormal: median")
    sd_log: float | None = Field(default=None, ge=0, description="standard deviation of ln(value); >= 0")
    mean: float | None = Field(default=None, description="normal: mean")
    sd: float | None = Field(default=None, ge=0, description="standard deviation; >= 0")
    low: float | None = Field(default=None, description="uniform: lower end")
    high: float | None = Field(default=None, description="uniform: upper end")
    value: float | None = Field(default=None, description="fixed: the value")
    min: float | None = Field(default=None, description="truncation: lowest value")
    max: float | None = Field(default=None, description="truncation: highest value")

    @model_validator(mode="after")
    def _complete(self) -> DistributionSpec:
        need = {
            "lognormal": ("median", "sd_log"),
            "normal": ("mean", "sd"),
            "uniform": ("low", "high"),
            "fixed": ("value",),
        }[self.distribution]
        missing = [k for k in need if getattr(self, k) is None]
        if missing:
            raise ValueError(
                f"distribution {self.distribution!r} needs {' and '.join(need)}; missing {', '.join(missing)}"
            )
        others = [
            k
            for k in ("median", "sd_log", "mean", "sd", "low", "high", "value")
            if k not in need and getattr(self, k) is not None
        ]
        if others:
            raise ValueError(
                f"{', '.join(others)}: not a parameter of distribution {self.distribution!r} "
                f"(it takes {' and '.join(need)})"
            )
        if self.distribution == "uniform" and not self.low < self.high:  # type: ignore[operator]
            raise ValueError(f"uniform: low = {self.low} must be below high = {self.high}")
        if self.min is not None and self.max is not None and not self.min < self.max:
            raise ValueError(f"min = {self.min} must be below max = {self.max}")
        return self


class ArmSection(BaseModel):
    """``[[cohort.arm]]``: a treatment arm (an empty ``treatment`` list is a control arm)."""

    model_config = _STRICT
    name: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,39}$", description="letters, digits and _ . + - (at most 40, no spaces)"
    )
    treatment: list[TreatmentEntry] = Field(
        default_factory=list, max_length=1000, description="the arm's plan (entries as [[treatment]])"
    )


class CohortSection(BaseModel):
    """``[cohort]``: a virtual trial: patients drawn from distributions, every patient in every arm."""

    model_config = _STRICT
    n_patients: int = Field(default=1000, ge=1, le=100_000_000, description="patients per arm (>= 1)")
    follow_up_days: float | None = Field(
        default=None, gt=0, le=36500, description="days of follow-up after diagnosis (default engine.horizon_days)"
    )
    chunk_size: int = Field(default=1000, ge=1, le=1_000_000, description="patients per Parquet part")
    vary: dict[str, DistributionSpec] = Field(
        default_factory=dict, description="parameter -> distribution (see [cohort.vary])"
    )
    arm: list[ArmSection] = Field(default_factory=list, max_length=100, description="the arms (see [[cohort.arm]])")

    @model_validator(mode="after")
    def _keys(self) -> CohortSection:
        from metacascade._messages import did_you_mean

        for key in self.vary:
            if key not in VARIABLE_PARAMETERS:
                raise ValueError(
                    f"vary.{key}: unknown parameter{did_you_mean(key, VARIABLE_PARAMETERS)}; allowed: "
                    f"{', '.join(VARIABLE_PARAMETERS)}"
                )
        names = [a.name for a in self.arm]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"arm: names must differ; {', '.join(dup)} given twice")
        return self


class PopulationSection(BaseModel):
    """``[population]``: between-patient variation (metacascade.model.population); each value
    defaults to the preset's calibrated one. ``vary = false`` makes every patient the median one."""

    model_config = _STRICT
    vary: bool = Field(default=True, description="average over patients (false: the median patient)")
    # cohorts draw every patient's founding and growth multipliers from the population, among the
    # patients alive at diagnosis (off by default: with the calibrated spreads some patients found
    # more than 10^6 colonies over a 10-year follow-up, colonies founding colonies, and the cohort
    # stops; [cohort.vary] shedding/growth_rate work as before)
    cohort_draws: bool = Field(
        default=False, description="cohorts draw founding and growth multipliers from the population"
    )
    competent_fraction: float | None = Field(
        default=None, gt=0, le=1, description="fraction of tumours that can found colonies"
    )
    dissemination_sd_log: float | None = Field(default=None, ge=0, le=50, description="sd of ln(founding multiplier)")
    growth_sd_log: float | None = Field(default=None, ge=0, le=5, description="sd of ln(growth-speed multiplier)")
    nodal_sd_log: float | None = Field(
        default=None, ge=0, le=50, description="sd of ln(regional-node founding multiplier); unset: the distant one"
    )
    nodal_correlation: float | None = Field(
        default=None, ge=-1, le=1, description="correlation of the nodal and distant ln multipliers"
    )


class ScenarioSchema(BaseModel):
    """A whole scenario file."""

    model_config = _STRICT
    patient: PatientSection = PatientSection()
    model: ModelSection = ModelSection()
    host: HostSection = HostSection()
    population: PopulationSection = PopulationSection()
    treatment: list[TreatmentEntry] = Field(default_factory=list, max_length=1000)
    engine: EngineSection = EngineSection()
    output: OutputSection = OutputSection()
    cohort: CohortSection | None = None

    @model_validator(mode="after")
    def _patient_groups(self) -> ScenarioSchema:
        if self.patient.sex == "male" and self.patient.menopausal_status is not None:
            raise ValueError("patient.menopausal_status: given for a male patient; allowed only with sex = 'female'")
        return self
