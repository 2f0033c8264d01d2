"""mkdocs hook: generate the scenario and command references when the site is built.

A page asks for a generated block with a placeholder line:

- ``<!-- scenario-reference -->``: one table per section of the scenario file, read from the
  pydantic schema (:mod:`metacascade.scenario.schema`): field, type, default, allowed values and
  the ``Field(description=...)``;
- ``<!-- command-reference -->``: every ``metacascade`` command with its usage, help and
  options, read from the typer application (:mod:`metacascade.cli`).

Nothing is simulated: the schema and the command tree are read, not run (~0.2 s).
"""

from __future__ import annotations

import inspect
import re
import typing
from typing import Any

SCENARIO = "<!-- scenario-reference -->"
COMMANDS = "<!-- command-reference -->"


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    if SCENARIO in markdown:
        markdown = markdown.replace(SCENARIO, scenario_reference())
    if COMMANDS in markdown:
        markdown = markdown.replace(COMMANDS, command_reference())
    return markdown


# -- scenario schema ---------------------------------------------------------------------------------
def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return " \\| ".join(f'`"{a}"`' if isinstance(a, str) else f"`{a}`" for a in args)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        names = [_type_name(a) for a in args if a is not type(None)]
        return " \\| ".join(names) + (" (optional)" if type(None) in args else "")
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (list, tuple):
        return f"list of {_type_name(args[0])}" if args else "list"
    if origin is dict:
        return f"table of {_type_name(args[0])} → {_type_name(args[1])}" if args else "table"
    if isinstance(annotation, type):
        return {"str": "string", "float": "number", "int": "integer", "bool": "boolean"}.get(
            annotation.__name__, annotation.__name__
        )
    return str(annotation)


def _bounds(info: Any) -> str:
    symbols = {
        "gt": ">",
        "ge": "≥",
        "lt": "<",
        "le": "≤",
        "min_length": "at least",
        "max_length": "at most",
        "pattern": "pattern",
    }
    parts = []
    for meta in info.metadata:
        for key, sym in symbols.items():
            value = getattr(meta, key, None)
            if value is not None:
                shown = f"`{value}`" if key == "pattern" else f"{value:g}" if isinstance(value, float) else str(value)
                parts.append(f"{sym} {shown}" + (" items" if "length" in key else ""))
    return ", ".join(parts)


def _default(info: Any) -> str:
    from pydantic_core import PydanticUndefined

    if info.default_factory is not None:
        value = info.default_factory()
        return "`[]`" if value == [] else "`{}`" if value == {} else f"`{value}`"
    if info.default is PydanticUndefined:
        return "required"
    if info.default is None:
        return "preset / automatic"
    value = info.default
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float):
        return f"`{value:.6g}`"
    if isinstance(value, str):
        return f'`"{value}"`'
    if hasattr(value, "model_fields"):
        return "see section"
    return f"`{value}`"


def _escape(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    # "{...}" at the end of a cell would be read as attributes by the attr_list extension
    return text.replace("|", "\\|").replace("\n", " ").replace("{", "&#123;").replace("}", "&#125;")


def _section_table(cls: type) -> str:
    rows = ["| key | type | default | allowed | description |", "|---|---|---|---|---|"]
    for name, info in cls.model_fields.items():
        description = _escape(info.description or "")
        rows.append(
            f"| `{name}` | {_type_name(info.annotation)} | {_default(info)} | {_bounds(info)} | {description} |"
        )
    return "\n".join(rows)


def _doc(cls: type) -> str:
    text = inspect.cleandoc(cls.__doc__ or "")
    return re.sub(r":\w+:`([^`]+)`", r"`\1`", text).replace("``", "`")


def scenario_reference() -> str:
    from metacascade.scenario import schema as s

    sections = [
        ("[patient]", s.PatientSection),
        ("[model]", s.ModelSection),
        ("[host]", s.HostSection),
        ("[population]", s.PopulationSection),
        ("[engine]", s.EngineSection),
        ("[output]", s.OutputSection),
    ]
    out = []
    for title, cls in sections:
        out += [f"## `{title}`", "", _doc(cls), "", _section_table(cls), ""]
    out += [
        "## `[[treatment]]`",
        "",
        "A list of entries on the timeline of days since diagnosis, each chosen by its `kind` "
        "(stochastic engine; the same entries make up a cohort arm's `[[cohort.arm.treatment]]`).",
        "",
    ]
    for cls in (s.SurgeryEntry, s.ChemotherapyEntry, s.RadiotherapyEntry, s.EndocrineEntry, s.ImmunotherapyEntry):
        kind = typing.get_args(cls.model_fields["kind"].annotation)[0]
        out += [f'### `kind = "{kind}"`', "", _section_table(cls), ""]
    out += [
        "## `[cohort]`",
        "",
        _doc(s.CohortSection),
        "",
        _section_table(s.CohortSection),
        "",
        "### `[[cohort.arm]]`",
        "",
        _doc(s.ArmSection),
        "",
        _section_table(s.ArmSection),
        "",
        "### `[cohort.vary]`",
        "",
        "Patient parameters a cohort can vary, each given a distribution:",
        "",
        "| parameter | what |",
        "|---|---|",
    ]
    out += [f"| `{k}` | {v} |" for k, v in s.VARIABLE_PARAMETERS.items()]
    out += ["", _doc(s.DistributionSpec), "", _section_table(s.DistributionSpec), ""]
    return "\n".join(out)


# -- command line ------------------------------------------------------------------------------------
def _command_rows(cmd: Any) -> list[str]:
    rows = ["| argument / option | default | help |", "|---|---|---|"]
    for p in cmd.params:
        if p.name == "help":
            continue
        name = (
            " / ".join(f"`{o}`" for o in [*p.opts, *getattr(p, "secondary_opts", [])])
            if p.param_type_name == "option"
            else f"`{p.name.upper()}`"
        )
        default = p.default
        shown = "" if default is None or callable(default) else f"`{default}`"
        rows.append(f"| {name} | {shown} | {_escape(getattr(p, 'help', '') or '')} |")
    return rows if len(rows) > 2 else []


def _walk(cmd: Any, path: list[str]) -> list[str]:
    out: list[str] = []
    if hasattr(cmd, "commands"):  # a group (typer's own click copy: no isinstance check)
        for name in sorted(cmd.commands) if path else list(cmd.commands):
            out += _walk(cmd.commands[name], [*path, name])
        return out
    usage = " ".join(
        ["metacascade", *path, *(f"[{p.name.upper()}]" for p in cmd.params if p.param_type_name == "argument")]
    )
    help_text = inspect.cleandoc(cmd.help or "")
    out += [f"### `metacascade {' '.join(path)}`", "", f"```\n{usage} [OPTIONS]\n```", "", help_text, ""]
    out += [*_command_rows(cmd), ""]
    return out


def command_reference() -> str:
    import typer

    from metacascade.cli import app

    return "\n".join(_walk(typer.main.get_command(app), []))


if __name__ == "__main__":  # print both references (a quick check without mkdocs)
    print(scenario_reference())
    print(command_reference())
