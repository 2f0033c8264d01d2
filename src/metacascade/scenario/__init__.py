"""Scenario files: TOML validated by pydantic, converted into frozen dataclasses.

>>> from metacascade.scenario import default_scenario
>>> default_scenario().patient.cancer
'hcc_iwata2000'
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from metacascade._messages import format_validation_error
from metacascade.errors import ParameterError, ScenarioError
from metacascade.model.body import Routing, default_body_graph
from metacascade.model.growth import GrowthLaw, make_growth_law
from metacascade.model.metastasis import MetastasisModel
from metacascade.model.shedding import PowerShedding
from metacascade.presets import get_preset
from metacascade.scenario.schema import ScenarioSchema

__all__ = [
    "Scenario",
    "Patient",
    "EngineSettings",
    "OutputSettings",
    "load_scenario",
    "parse_scenario",
    "default_scenario",
    "example_scenario_text",
    "diameter_to_cells",
    "cells_to_diameter",
    "model_from_preset",
    "establishment_of",
    "HostSettings",
    "CohortSettings",
    "compiled_plan",
    "delay_of",
    "organ_thresholds",
    "routing_at",
]


def diameter_to_cells(diameter_mm: float, cells_per_mm3: float) -> float:
    """Cells in a ball of ``diameter_mm`` (volume pi d^3 / 6)."""
    return math.pi / 6.0 * diameter_mm**3 * cells_per_mm3


def cells_to_diameter(cells: Any, cells_per_mm3: float) -> Any:
    """Diameter (mm) of a ball of ``cells`` cells (inverse of :func:`diameter_to_cells`)."""
    import numpy as np

    return np.cbrt(6.0 * np.asarray(cells, dtype=float) / (math.pi * cells_per_mm3))


def model_from_preset(preset: Any) -> MetastasisModel:
    """The preset's metastatic process with no overrides (primary from one cell at ``t = 0``)."""
    law = make_growth_law(preset.growth_law, **preset.growth)
    primary = PowerShedding(m=preset.shedding["m"], alpha=preset.shedding["alpha"])
    return MetastasisModel(
        primary_growth=law,
        colony_growth=law,
        primary_shedding=primary,
        colony_shedding=colony_shedding_of(preset, primary),
        primary_size0=1.0,
        colony_size0=preset.colony_size0_cells,
        secondary_seeding=preset.secondary_seeding,
    )


def colony_shedding_of(preset: Any, primary: PowerShedding) -> PowerShedding:
    """How colonies seed: the sourced law of presets.toml where the calibration refitted the
    primary's size exponent (it describes the primary's early dissemination, not seeding from
    colonies), else the primary's law."""
    spec = getattr(preset, "shedding_spec", None) or {}
    if spec and (spec.get("m") != preset.shedding.get("m") or spec.get("alpha") != preset.shedding.get("alpha")):
        return PowerShedding(m=spec["m"], alpha=spec["alpha"])
    return primary


def establishment_of(scenario: Scenario) -> Any:
    """The birth-death phase of new colonies of ``scenario`` (switch size, early survival).

    Raises ScenarioError naming ``engine.switch_cells`` or ``model.early_survival`` when they
    cannot go together (see :class:`~metacascade.model.establishment.Establishment`).
    """
    from metacascade.model.establishment import Establishment

    try:
        return Establishment(
            scenario.model.colony_growth,
            scenario.model.colony_size0,
            scenario.engine.switch_cells,
            scenario.early_survival,
        )
    except ParameterError as exc:
        field = "engine.switch_cells" if str(exc).startswith("switch_cells") else "model"
        raise ScenarioError(f"{scenario.source}: {field}: {exc}") from None


@dataclass(frozen=True)
class Patient:
    """The patient at diagnosis (day 0 of the reported timeline)."""

    cancer: str
    primary_diameter_mm: float
    primary_cells: float
    age_of_primary_days: float  # time from the primary's first cell to diagnosis
    sex: str | None = None
    menopausal_status: str | None = None
    immunocompetence: float = 1.0
    hormone_levels: dict[str, float] | None = None  # the levels used (hormone -> level), sensitive presets
    growth_multiplier: float = 1.0  # hormone dose-response at these levels, relative to the preset's fit


@dataclass(frozen=True)
class HostSettings:
    dormancy_probability: float = 0.0
    dormancy_escape_per_day: float = 1.0 / 730.0
    nk_clearance_fraction: float = 0.5
    organ_failure: bool = False


@dataclass(frozen=True)
class CohortSettings:
    """``[cohort]``: patients per arm, follow-up (days since diagnosis), Parquet part size, the
    distributions of varied patient parameters (name -> schema.DistributionSpec) and the arms
    (name, plan) in file order (the first is the reference arm of comparisons)."""

    n_patients: int
    follow_up_days: float
    chunk_size: int
    vary: dict[str, Any]
    arms: tuple[tuple[str, tuple[Any, ...]], ...]


@dataclass(frozen=True)
class EngineSettings:
    kind: str
    seed: int
    horizon_days: float
    rtol: float
    switch_cells: float
    n_patients: int
    stop_at_death: bool
    workers: int


@dataclass(frozen=True)
class OutputSettings:
    n_times: int
    sizes_cells: tuple[float, ...]
    format: str
    figure: bool


@dataclass(frozen=True)
class Scenario:
    """A validated scenario: the patient, the model (model time 0 = the primary's first cell),
    the organs and the routing of shed cells among them, the engine and output settings.
    ``raw`` is the validated file content (for the record).

    Presets without a body graph (``hcc_iwata2000``) have one organ, the liver, and Iwata's
    colonisation rate: every "shed" unit founds a colony (``routing.primary == [1]``)."""

    source: str
    patient: Patient
    model: MetastasisModel
    cells_per_mm3: float
    detection_cells: float
    organs: tuple[str, ...]
    routing: Routing
    early_survival: float
    lethal_burden_cells: float
    engine: EngineSettings
    output: OutputSettings
    references: tuple[str, ...]
    raw: dict[str, Any]
    host: HostSettings = HostSettings()
    plan: tuple[Any, ...] = ()  # model.treatment entries, days since diagnosis
    hormone_sensitivity: tuple[Any, ...] = ()  # model.hormones.HormoneSensitivity of the preset
    warnings: tuple[str, ...] = ()
    cohort: CohortSettings | None = None
    population: Any = None  # model.population.Population: the preset's, with [population] overrides
    population_cohort_draws: bool = False  # [population] cohort_draws


def _build(schema: ScenarioSchema, source: str) -> Scenario:
    try:
        preset = get_preset(schema.patient.cancer)
    except ScenarioError as exc:
        raise ScenarioError(f"{source}: {exc}") from None
    ov = schema.model

    def pick(name: str, default: Any) -> Any:
        value = getattr(ov, name)
        return default if value is None else value

    law_name = pick("growth_law", preset.growth_law)
    if law_name == preset.growth_law:
        params = {**preset.growth, **(ov.growth or {})}
    elif ov.growth is None:
        raise ScenarioError(f"{source}: model.growth: give the parameters of growth_law {law_name!r}")
    else:
        params = dict(ov.growth)
    try:
        law: GrowthLaw = make_growth_law(law_name, **params)
    except ParameterError as exc:
        raise ScenarioError(f"{source}: model.growth: {exc}") from None
    try:
        shedding = PowerShedding(
            m=pick("shedding_m", preset.shedding["m"]), alpha=pick("shedding_alpha", preset.shedding["alpha"])
        )
        cells_per_mm3 = pick("cells_per_mm3", preset.cells_per_mm3)
        primary_cells = diameter_to_cells(schema.patient.primary_diameter_mm, cells_per_mm3)
        own = ov.shedding_m is not None or ov.shedding_alpha is not None  # the user's law seeds colonies too
        model = MetastasisModel(
            primary_growth=law,
            colony_growth=law,
            primary_shedding=shedding,
            colony_shedding=shedding if own else colony_shedding_of(preset, shedding),
            primary_size0=1.0,
            colony_size0=pick("colony_size0_cells", preset.colony_size0_cells),
            secondary_seeding=pick("secondary_seeding", preset.secondary_seeding),
        )
    except ParameterError as exc:
        raise ScenarioError(f"{source}: model: {exc}") from None
    sens, levels, multiplier, warn = _hormones(schema, preset, source)
    if multiplier != 1.0:
        from metacascade.model.growth import TimeScaled

        law = TimeScaled(law, multiplier)
        model = MetastasisModel(
            primary_growth=law,
            colony_growth=law,
            primary_shedding=model.primary_shedding,
            colony_shedding=model.colony_shedding,
            primary_size0=1.0,
            colony_size0=model.colony_size0,
            secondary_seeding=model.secondary_seeding,
        )
    if not primary_cells < law.capacity:
        cap_mm = float(cells_to_diameter(law.capacity, cells_per_mm3))
        raise ScenarioError(
            f"{source}: patient.primary_diameter_mm: {schema.patient.primary_diameter_mm:g} mm "
            f"({primary_cells:.3g} cells) is not below the growth law's capacity ({law.capacity:.3g} cells "
            f"= {cap_mm:.1f} mm); allowed: 0 < primary_diameter_mm < {cap_mm:.1f}"
        )
    if primary_cells < 1.0:
        raise ScenarioError(
            f"{source}: patient.primary_diameter_mm: {schema.patient.primary_diameter_mm:g} mm "
            "is less than one cell; allowed: a clinically measurable size"
        )
    organs, routing = _routing(schema, preset, source)
    plan = _plan(schema.treatment, preset, organs, source, "treatment")
    cohort = _cohort(schema, preset, organs, source, plan, sens)
    if plan and schema.engine.kind != "stochastic":
        raise ScenarioError(
            f"{source}: treatment: a treatment plan needs engine.kind = 'stochastic' (virtual "
            "patients); the deterministic engine computes the untreated expectation"
        )
    lethal = pick("lethal_burden_cells", preset.lethal_burden_cells)
    age = float(law.time_to_size(1.0, primary_cells))
    detection_mm = pick("detection_diameter_mm", preset.detection_diameter_mm)
    sizes = schema.output.sizes_cells
    if sizes is None:
        sizes = [10.0**k for k in range(int(math.log10(law.capacity)) + 1) if 10.0**k < law.capacity]
    return Scenario(
        source=source,
        patient=Patient(
            cancer=schema.patient.cancer,
            primary_diameter_mm=schema.patient.primary_diameter_mm,
            primary_cells=primary_cells,
            age_of_primary_days=age,
            sex=schema.patient.sex,
            menopausal_status=schema.patient.menopausal_status,
            immunocompetence=schema.patient.immunocompetence,
            hormone_levels=levels,
            growth_multiplier=multiplier,
        ),
        model=model,
        cells_per_mm3=cells_per_mm3,
        detection_cells=diameter_to_cells(detection_mm, cells_per_mm3),
        organs=organs,
        routing=routing,
        early_survival=_early_survival(schema, preset),
        lethal_burden_cells=float(lethal),
        engine=EngineSettings(
            **{
                **schema.engine.model_dump(),
                "rtol": schema.engine.rtol or (1e-6 if preset.whole_body else 1e-9),
                "switch_cells": schema.engine.switch_cells or (1000.0 if preset.whole_body else 1.0),
            }
        ),
        output=OutputSettings(
            n_times=schema.output.n_times,
            sizes_cells=tuple(sorted(set(sizes))),
            format=schema.output.format,
            figure=schema.output.figure,
        ),
        references=preset.references,
        raw=schema.model_dump(mode="json", exclude_none=True),
        host=_host(schema, preset),
        plan=plan,
        hormone_sensitivity=sens,
        warnings=warn,
        cohort=cohort,
        population=_population(schema, preset),
        population_cohort_draws=bool(schema.population.cohort_draws and schema.population.vary),
    )


def _host(schema: ScenarioSchema, preset: Any) -> HostSettings:
    """``[host]``, with the preset's (calibrated) colony dormancy where the scenario sets none."""
    values = schema.host.model_dump()
    given = schema.host.model_fields_set
    if preset.dormancy and "dormancy_probability" not in given and "dormancy_escape_per_day" not in given:
        values["dormancy_probability"] = float(preset.dormancy["probability"])
        values["dormancy_escape_per_day"] = float(preset.dormancy["escape_per_day"])
    return HostSettings(**values)


def _population(schema: ScenarioSchema, preset: Any) -> Any:
    """The between-patient variation of the scenario: the preset's with ``[population]`` overrides."""
    from dataclasses import replace as _replace

    from metacascade.model.population import Population

    sec = schema.population
    if not sec.vary:
        return Population()
    given = {
        k: getattr(sec, k)
        for k in ("competent_fraction", "dissemination_sd_log", "growth_sd_log", "nodal_sd_log", "nodal_correlation")
        if getattr(sec, k) is not None
    }
    return _replace(preset.population, **given)


def _cohort(
    schema: ScenarioSchema,
    preset: Any,
    organs: tuple[str, ...],
    source: str,
    plan: tuple[Any, ...],
    sens: tuple[Any, ...],
) -> CohortSettings | None:
    """The ``[cohort]`` section with its arms' plans checked (None without one)."""
    c = schema.cohort
    if c is None:
        return None
    if "estradiol_pmol_l" in c.vary and not any(sv.hormone == "estradiol" for sv in sens):
        raise ScenarioError(
            f"{source}: cohort.vary.estradiol_pmol_l: preset {preset.name!r} is not estradiol-"
            "sensitive; allowed only with a hormone-sensitive preset (e.g. breast_er_positive)"
        )
    if c.arm:
        arms = tuple(
            (a.name, _plan(a.treatment, preset, organs, source, f"cohort.arm[{i}] ({a.name}).treatment"))
            for i, a in enumerate(c.arm)
        )
    else:
        arms = (("control" if not plan else "treatment", plan),)
    return CohortSettings(
        n_patients=c.n_patients,
        follow_up_days=float(c.follow_up_days or schema.engine.horizon_days),
        chunk_size=c.chunk_size,
        vary=dict(c.vary),
        arms=arms,
    )


def _hormones(
    schema: ScenarioSchema, preset: Any, source: str
) -> tuple[tuple[Any, ...], dict[str, float] | None, float, tuple[str, ...]]:
    """The preset's hormone sensitivities, the patient's levels, the growth multiplier, warnings."""
    from metacascade.model.hormones import FIELD_OF, HormoneLevels, check_levels, hormone_sensitivity, reference_levels

    pt = schema.patient
    given = {f: getattr(pt, f) for f in FIELD_OF.values() if getattr(pt, f) is not None}
    sex = pt.sex or "female"
    status = pt.menopausal_status if sex == "female" else None
    warn: list[str] = []
    try:
        if given:
            warn = [
                f"{source}: patient.{w}" if not w.startswith("patient.") else f"{source}: {w}"
                for w in check_levels(
                    HormoneLevels(**given), sex, status or ("postmenopausal" if sex == "female" else None)
                )
            ]
        sens = tuple(hormone_sensitivity(name) for name in preset.hormone_sensitivity)
    except ParameterError as exc:
        raise ScenarioError(f"{source}: patient: {exc}") from None
    if not sens:
        return (), None, 1.0, tuple(warn)
    group = reference_levels(sex, status) if (pt.menopausal_status or pt.sex == "male") else None
    levels: dict[str, float] = {}
    multiplier = 1.0
    for sv in sens:
        name = FIELD_OF[sv.hormone]
        level = given.get(name)
        if level is None:
            level = getattr(group, name) if group is not None else sv.reference_level
        levels[sv.hormone] = float(level)
        multiplier *= float(sv.growth_multiplier(level))
    return sens, levels, multiplier, tuple(warn)


def _plan(entries: Any, preset: Any, organs: tuple[str, ...], source: str, field: str) -> tuple[Any, ...]:
    """``[[treatment]]`` entries (at ``field``) as model.treatment objects (checked: sites, overlaps)."""
    from metacascade.model import treatment as tr

    out: list[Any] = []
    for i, e in enumerate(entries):
        try:
            if e.kind == "surgery":
                out.append(
                    tr.Surgery(
                        day=e.day, nodes=e.nodes, shed_cells=e.shed_cells, nodes_left_fraction=e.nodes_left_fraction
                    )
                )
            elif e.kind == "chemotherapy":
                out.append(
                    tr.Chemotherapy(
                        day=e.day,
                        cycles=e.cycles,
                        interval_days=e.interval_days,
                        log_kill=e.log_kill,
                        site_log_kill=tuple(e.site_log_kill.items()),
                        norton_simon=e.norton_simon,
                        reference_cells=e.reference_cells,
                        mutation_rate=e.mutation_rate,
                        myelosuppression=e.myelosuppression,
                        recovery_days=e.recovery_days,
                    )
                )
            elif e.kind == "radiotherapy":
                from metacascade.model.radiobiology import radiosensitivity

                rs = radiosensitivity(preset.name)
                out.append(
                    tr.Radiotherapy(
                        day=e.day,
                        sites=tuple(e.sites),
                        dose_per_fraction_gy=e.dose_per_fraction_gy,
                        fractions=e.fractions,
                        fractions_per_week=e.fractions_per_week,
                        alpha_per_gy=e.alpha_per_gy or rs.alpha_per_gy,
                        alpha_beta_gy=e.alpha_beta_gy or rs.alpha_beta_gy,
                        kickoff_days=(e.kickoff_days if e.kickoff_days is not None else rs.kickoff_days)
                        if e.repopulation
                        else None,
                        doubling_days=e.doubling_days or rs.doubling_days,
                    )
                )
            elif e.kind == "endocrine":
                from metacascade.model.hormones import endocrine_agent

                agent = endocrine_agent(e.agent)
                out.append(
                    tr.Endocrine(
                        day=e.day,
                        agent=agent.name,
                        duration_days=e.duration_days,
                        estradiol_factor=agent.estradiol_factor,
                    )
                )
            else:
                out.append(tr.Immunotherapy(day=e.day, duration_days=e.duration_days, killing_factor=e.killing_factor))
        except ParameterError as exc:
            raise ScenarioError(f"{source}: {field}[{i}] ({e.kind}): {exc}") from None
    try:
        tr.check_plan(out, organs)
    except ParameterError as exc:
        raise ScenarioError(f"{source}: {field}: {exc}") from None
    return tuple(out)


def compiled_plan(scenario: Scenario, horizon: float) -> Any:
    """The scenario's treatment plan and host timeline in model days up to ``horizon``
    (:class:`~metacascade.model.treatment.CompiledPlan`)."""
    from metacascade.model.immune import BCL1, dormancy_state
    from metacascade.model.treatment import HostTimeline, compile_plan

    sc = scenario
    host = sc.host

    def growth_multiplier(estradiol_factor: float) -> float:
        out = 1.0
        for sv in sc.hormone_sensitivity:
            if sv.hormone == "estradiol":
                level = (sc.patient.hormone_levels or {}).get("estradiol", sv.reference_level)
                out *= float(sv.growth_multiplier(level * estradiol_factor)) / float(sv.growth_multiplier(level))
        return out

    def dormancy(kappa: float, killing: float) -> tuple[float, float]:
        if host.dormancy_probability == 0.0:
            return 0.0, 0.0
        if kappa * killing <= 0.0 or not dormancy_state(BCL1.with_immunity(kappa, killing)).exists:
            return 0.0, math.inf  # no dormant state: nothing is held, dormant colonies escape at once
        # escape runs on the tumour's own clock: a patient whose growth is v times the preset's
        # escapes v times faster (as the population's time rescaling assumes; docs/science/presets.md)
        escape = host.dormancy_escape_per_day * sc.patient.growth_multiplier
        return host.dormancy_probability, escape / (kappa * killing)

    timeline = HostTimeline(
        growth_multiplier=growth_multiplier, dormancy=dormancy, immunocompetence=sc.patient.immunocompetence
    )
    law = sc.model.primary_growth
    try:
        return compile_plan(
            sc.plan,
            sc.organs,
            sc.patient.age_of_primary_days,
            horizon,
            timeline,
            specific_rate=lambda x: float(law.specific_rate(x)),
        )
    except ParameterError as exc:
        raise ScenarioError(f"{sc.source}: treatment: {exc}") from None


def delay_of(scenario: Scenario, horizon: float, establishment: Any = None) -> Any:
    """The law of the time from founding to deterministic growth: establishment, then dormancy.

    With ``[host] dormancy_probability`` > 0 a colony that reaches the switch size is held
    dormant with the probability and escape rate of the host at the patient's immunocompetence
    (those of :func:`compiled_plan`, which the stochastic engine uses;
    none where immunity holds no dormant state): the dormant compartment of the deterministic
    engine, :func:`~metacascade.model.establishment.with_dormancy`. Dormant colonies are
    counted from their escape, as in the stochastic engine. ``establishment``: that of
    ``scenario`` (:func:`~metacascade.scenario.establishment_of`), if already built.
    """
    from metacascade.model.establishment import with_dormancy

    if establishment is None:
        establishment = establishment_of(scenario)
    if scenario.host.dormancy_probability == 0.0:
        return establishment
    plan = compiled_plan(scenario, horizon)  # no treatment here: one interval, the host's baseline
    probability, escape = float(plan.dormancy_probability[0]), float(plan.escape_rate[0])
    if probability == 0.0 or not math.isfinite(escape):  # no dormant state: colonies escape at once
        return establishment
    return with_dormancy(establishment, probability, escape)


def routing_at(scenario: Scenario, immunocompetence: float) -> Routing:
    """The scenario's routing for a patient of another ``immunocompetence`` (NK cells' share of
    the clearance of circulating cells scales with it, ``host.nk_clearance_fraction``)."""
    schema = ScenarioSchema.model_validate(scenario.raw)
    preset = get_preset(schema.patient.cancer)
    return _routing(schema, preset, scenario.source, float(immunocompetence))[1]


def organ_thresholds(scenario: Scenario) -> tuple[Any, Any]:
    """Per organ, the cells at which it fails (inf: not vital or organ failure off) and at which
    its symptoms start (data/organ_health.toml); (None, None) for one-organ presets."""
    from metacascade.model.health import failure_cells, organ_names, symptom_cells

    sc = scenario
    if not set(sc.organs) <= set(organ_names()):
        return None, None
    sex = sc.patient.sex or "female"
    fail = failure_cells(sc.organs, sc.cells_per_mm3, sex=sex)
    if not sc.host.organ_failure:
        fail = np.full(len(sc.organs), np.inf)
    return fail, symptom_cells(sc.organs, sc.cells_per_mm3, sex=sex)


_BODY_KEYS = ("routes", "soil", "arrest", "clearance_per_day", "early_survival")


def _single_organ_routing(organ: str) -> Routing:
    one = np.ones((1, 1))
    return Routing(
        organs=(organ,),
        primary=np.ones(1),
        colony=one,
        factors=(one, one.copy()),
        primary_arrest=np.ones(1),
        primary_dead=0.0,
    )


def _early_survival(schema: ScenarioSchema, preset: Any) -> float:
    """Probability that a new colony survives early extinction (1 for one-organ presets: Iwata's
    colonisation rate counts colonies that grow)."""
    if not preset.whole_body:
        return 1.0
    value = schema.model.early_survival
    return float(default_body_graph().early_survival if value is None else value)


def _routing(
    schema: ScenarioSchema, preset: Any, source: str, immunocompetence: float | None = None
) -> tuple[tuple[str, ...], Routing]:
    """The organs and routing of a scenario: the body graph with the preset's and the file's values."""
    ov = schema.model
    given = [k for k in _BODY_KEYS if getattr(ov, k) is not None]
    if not preset.whole_body:
        if given:
            raise ScenarioError(
                f"{source}: model.{given[0]}: preset {preset.name!r} has no body graph (one organ, "
                "Iwata 2000); choose a whole-body preset to set routes, soil or arrest"
            )
        return ("liver",), _single_organ_routing("liver")
    from metacascade.presets import SITE_GROUPS

    body = default_body_graph()
    clearance = ov.clearance_per_day
    kappa = schema.patient.immunocompetence if immunocompetence is None else immunocompetence
    if kappa != 1.0:  # NK cells' share of the clearance scales with immunocompetence
        f_nk = schema.host.nk_clearance_fraction
        clearance = (body.clearance_per_day if clearance is None else clearance) * (1.0 - f_nk + f_nk * kappa)
    if ov.arrest is not None or clearance is not None or ov.early_survival is not None:
        try:
            body = body.with_changes(arrest=ov.arrest, clearance_per_day=clearance, early_survival=ov.early_survival)
        except ParameterError as exc:
            raise ScenarioError(f"{source}: model.{exc}") from None
    soil = preset.resolved_soil()
    for name, value in (ov.soil or {}).items():
        for organ in SITE_GROUPS.get(name, (name,)):
            soil[organ] = value
    routes = dict(preset.routes if ov.routes is None else ov.routes)
    try:
        routing = body.routing(soil, routes)
    except ParameterError as exc:
        raise ScenarioError(f"{source}: model.{exc}") from None
    return body.organs, routing


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    """Validate the TOML ``text`` of a scenario file; ``source`` names it in messages.

    Raises
    ------
    ScenarioError
        for broken TOML, unknown keys (with a "did you mean" hint), bad values (naming the
        field, the value and what is allowed) or an unknown cancer preset.
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: not valid TOML: {exc}") from None
    try:
        schema = ScenarioSchema.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioError(format_validation_error(exc, ScenarioSchema, source)) from None
    return _build(schema, source)


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate the scenario file at ``path``."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{p}: scenario file not found") from None
    except IsADirectoryError:
        raise ScenarioError(f"{p}: is a directory, expected a scenario TOML file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{p}: cannot read the scenario file: {exc}") from None
    return parse_scenario(text, str(p))


def example_scenario_text() -> str:
    """The commented example scenario (also the built-in default)."""
    return files("metacascade.scenario").joinpath("default.toml").read_text(encoding="utf-8")


def default_scenario() -> Scenario:
    """The built-in default scenario that ``metacascade run`` uses without arguments."""
    return parse_scenario(example_scenario_text(), "built-in default scenario")
