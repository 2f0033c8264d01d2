"""The scenario editor's form, generated from the scenario schema, and its validation.

:func:`field_specs` reads a pydantic section model (its annotations, defaults, bounds and
descriptions) into :class:`FieldSpec` rows that the app renders as inputs; :func:`collect`
turns the submitted values back into a raw scenario dict; :func:`validate` checks it with the
same schema and loader as scenario files and maps every problem to the field it names
(``patient.primary_diameter_mm``, ``treatment.1.dose_per_fraction_gy``), so the app shows the
message next to that field.
"""

from __future__ import annotations

import math
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal

import annotated_types
from pydantic import BaseModel, ValidationError

from metacascade.scenario.schema import (
    ChemotherapyEntry,
    EndocrineEntry,
    EngineSection,
    HostSection,
    ImmunotherapyEntry,
    PatientSection,
    RadiotherapyEntry,
    ScenarioSchema,
    SurgeryEntry,
)

__all__ = [
    "FieldSpec",
    "SECTIONS",
    "TREATMENTS",
    "field_specs",
    "collect",
    "validate",
    "Validation",
    "describe",
    "field_message",
]

#: The editor's sections: name -> (schema model, fields shown).
SECTIONS: dict[str, tuple[type[BaseModel], tuple[str, ...]]] = {
    "patient": (
        PatientSection,
        (
            "cancer",
            "primary_diameter_mm",
            "sex",
            "menopausal_status",
            "immunocompetence",
            "estradiol_pmol_l",
            "free_t4_pmol_l",
            "free_t3_pmol_l",
            "prolactin_ng_ml",
        ),
    ),
    "host": (
        HostSection,
        ("dormancy_probability", "dormancy_escape_per_day", "nk_clearance_fraction", "organ_failure"),
    ),
    "engine": (EngineSection, ("kind", "horizon_days", "n_patients", "seed")),
}
#: Treatment kinds of the timeline -> their schema model.
TREATMENTS: dict[str, type[BaseModel]] = {
    "surgery": SurgeryEntry,
    "chemotherapy": ChemotherapyEntry,
    "radiotherapy": RadiotherapyEntry,
    "endocrine": EndocrineEntry,
    "immunotherapy": ImmunotherapyEntry,
}


@dataclass(frozen=True)
class FieldSpec:
    """One input of the form."""

    name: str
    kind: Literal["number", "integer", "boolean", "choice", "text", "list"]
    default: Any
    optional: bool
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    description: str = ""


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """(the annotation without ``None``, whether ``None`` is allowed)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return (args[0] if len(args) == 1 else annotation), len(args) < len(typing.get_args(annotation))
    return annotation, False


def _bounds(metadata: list[Any]) -> tuple[float | None, float | None]:
    lo = hi = None
    for m in metadata:
        if isinstance(m, annotated_types.Ge | annotated_types.Gt):
            lo = float(getattr(m, "ge", getattr(m, "gt", None)))
        if isinstance(m, annotated_types.Le | annotated_types.Lt):
            hi = float(getattr(m, "le", getattr(m, "lt", None)))
    return lo, hi


def field_specs(model: type[BaseModel], names: tuple[str, ...] | None = None) -> list[FieldSpec]:
    """Form fields of ``model`` (all its fields but ``kind`` discriminators, or ``names``)."""
    specs = []
    for name, info in model.model_fields.items():
        if names is not None and name not in names:
            continue
        annotation, optional = _unwrap(info.annotation)
        default = info.get_default(call_default_factory=True)
        lo, hi = _bounds(list(info.metadata))
        desc = info.description or ""
        if typing.get_origin(annotation) is Literal:
            choices = tuple(str(c) for c in typing.get_args(annotation))
            if len(choices) == 1:  # the discriminator of a treatment entry
                continue
            specs.append(FieldSpec(name, "choice", default, optional, choices=choices, description=desc))
        elif annotation is bool:
            specs.append(FieldSpec(name, "boolean", default, optional, description=desc))
        elif annotation is int:
            specs.append(FieldSpec(name, "integer", default, optional, lo, hi, description=desc))
        elif annotation is float:
            specs.append(FieldSpec(name, "number", default, optional, lo, hi, description=desc))
        elif annotation is str:
            specs.append(FieldSpec(name, "text", default, optional, description=desc))
        elif typing.get_origin(annotation) is list:
            specs.append(FieldSpec(name, "list", default, optional, description=desc))
        # dicts (per-site kills) are left to scenario files
    if names is not None:
        order = {n: i for i, n in enumerate(names)}
        specs.sort(key=lambda s: order[s.name])
    return specs


def _value(spec: FieldSpec, raw: Any) -> Any:
    """The submitted value in the schema's terms (None: leave the field out)."""
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        return None
    if spec.kind == "boolean":  # a checkbox list (["on"] or []) or a plain bool
        return bool(raw)
    if spec.kind == "list":
        items = raw if isinstance(raw, list) else str(raw).split(",")
        return [str(s).strip() for s in items if str(s).strip()]
    if spec.kind in ("number", "integer"):
        try:
            x = float(raw)
        except (TypeError, ValueError):
            return raw  # left to the schema, which names the field and the value
        if spec.kind == "integer" and math.isfinite(x) and x == int(x):
            return int(x)
        return x
    return raw


def collect(sections: dict[str, dict[str, Any]], treatment: list[dict[str, Any]]) -> dict[str, Any]:
    """A raw scenario dict from the form's values: ``sections[section][field]`` and the timeline
    (each entry ``{"kind": ..., field: value}``). Empty optional inputs are left out."""
    raw: dict[str, Any] = {}
    for section, values in sections.items():
        model, names = SECTIONS[section]
        specs = {s.name: s for s in field_specs(model, names)}
        out = {}
        for name, value in values.items():
            if name not in specs:
                out[name] = value
                continue
            v = _value(specs[name], value)
            if v is not None:
                out[name] = v
        raw[section] = out
    plan = []
    for entry in treatment:
        kind = entry.get("kind")
        model = TREATMENTS.get(kind)  # type: ignore[arg-type]
        specs = {s.name: s for s in field_specs(model)} if model else {}
        item: dict[str, Any] = {"kind": kind}
        for name, value in entry.items():
            if name == "kind":
                continue
            v = _value(specs[name], value) if name in specs else value
            if v is not None:
                item[name] = v
        plan.append(item)
    if plan:
        raw["treatment"] = plan
    return raw


@dataclass(frozen=True)
class Validation:
    """The outcome of :func:`validate`: ``ok``, the scenario TOML text, per-field errors and
    messages not tied to one field."""

    ok: bool
    toml: str
    errors: dict[str, str]
    general: tuple[str, ...]


def _field_key(loc: tuple[Any, ...]) -> str:
    """``("treatment", 0, "radiotherapy", "fractions")`` -> ``"treatment.0.fractions"``."""
    parts = [str(p) for p in loc]
    if len(parts) >= 3 and parts[0] in ("treatment",) and parts[2] in TREATMENTS:
        del parts[2]
    return ".".join(parts)


def validate(raw: dict[str, Any], *, known_fields: tuple[str, ...] = ()) -> Validation:
    """Check ``raw`` with the scenario schema and loader; errors keyed by the field they name."""
    import tomli_w

    from metacascade.errors import MetacascadeError
    from metacascade.scenario import parse_scenario

    try:
        ScenarioSchema.model_validate(raw)
    except ValidationError as exc:
        from metacascade.scenario._errors import validation_messages

        errors: dict[str, str] = {}
        general = []
        for loc, msg in validation_messages(exc, ScenarioSchema):
            key = _field_key(loc)
            if key in known_fields or not known_fields:
                errors[key] = msg
            else:
                general.append(f"{key}: {msg}")
        return Validation(False, "", errors, tuple(general))
    try:
        text = tomli_w.dumps(raw)
    except (TypeError, ValueError) as exc:
        return Validation(False, "", {}, (f"scenario: {exc}",))
    try:
        parse_scenario(text, source="web form")
    except MetacascadeError as exc:
        message = str(exc)
        errors = {}
        for key in sorted(known_fields, key=len, reverse=True):  # the most specific field named
            if key in message and not any(k.startswith(key) or key in k for k in errors):
                errors[key] = message.replace("web form: ", "")
        return Validation(False, text, errors, () if errors else (message,))
    return Validation(True, text, {}, ())


_NOT_A_NUMBER = (
    "Input should be a valid number, unable to parse string as a number",
    "Input should be a valid integer, unable to parse string as an integer",
)


def field_message(msg: str, lang: str = "en") -> str:
    """A schema message in the words shown next to a field: "required", "not a number (got '2o')"."""
    from metacascade.web.i18n import t

    if msg == "Field required":
        return t(lang, "required")
    for long in _NOT_A_NUMBER:
        if msg.startswith(long):
            return t(lang, "not_a_number") + msg[len(long) :]
    return msg


def describe(key: str, msg: str, raw: dict[str, Any], lang: str = "en") -> str:
    """One line that says where a problem is and what it is, for a message shown away from the
    field (on the Cohort tab, or the Scenario tab's summary): ``treatment.0.day`` + "Field
    required" -> "Scenario tab › Treatment timeline › surgery 1: day is required"."""
    from metacascade.web.i18n import label, t

    parts = key.split(".")
    where = [t(lang, "tab_of").format(tab=t(lang, "tab_scenario"))]
    name = parts[-1]
    if parts[0] == "treatment" and len(parts) >= 2 and parts[1].isdigit():
        i = int(parts[1])
        plan = raw.get("treatment") or []
        kind = plan[i].get("kind") if i < len(plan) and isinstance(plan[i], dict) else None
        where += [t(lang, "treatment"), f"{label(lang, str(kind)) if kind else t(lang, 'entry')} {i + 1}"]
        name = ".".join(parts[2:]) or "kind"
    elif parts[0] in SECTIONS:
        where.append(t(lang, parts[0]))
        name = ".".join(parts[1:])
    else:
        name = key
    what = f" {t(lang, 'is_required')}" if msg == "Field required" else f": {field_message(msg, lang)}"
    sep = ": " if parts[0] == "treatment" else " › "  # "surgery 1: day", "Patient › primary diameter (mm)"
    return " › ".join(where) + f"{sep}{label(lang, name)}{what}"
