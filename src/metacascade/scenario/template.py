"""The commented example scenario written for one preset: its commented-out overrides show that
preset's own values (growth, shedding, routes, soils, population), not the default's."""

from __future__ import annotations

import math
import re

__all__ = ["example_scenario_for"]


def _num(x: float) -> str:
    """A TOML float: 6 significant digits, always with a point or an exponent."""
    x = float(x)
    if not math.isfinite(x):
        return "inf" if x > 0 else "-inf" if x < 0 else "nan"
    text = f"{x:.6g}"
    return text if any(c in text for c in ".en") else text + ".0"


def _table(values: dict[str, float]) -> str:
    return "{ " + ", ".join(f"{k} = {_num(v)}" for k, v in values.items()) + " }"


def _set(text: str, key: str, value: str) -> str:
    """Set the value of the commented-out line ``# key = ...``, its own comment kept in its column."""
    pattern = re.compile(rf"^(# {re.escape(key)} = )(.+?)(\s{{2,}})(#.*)?$|^(# {re.escape(key)} = )(.+)$", re.M)

    def repl(m: re.Match[str]) -> str:
        if m.group(1) is None:  # no comment of its own
            return f"{m.group(5)}{value}"
        column = len(m.group(1)) + len(m.group(2)) + len(m.group(3))
        head = f"{m.group(1)}{value}"
        return f"{head}{' ' * max(column - len(head), 2)}{m.group(4) or ''}".rstrip()

    return pattern.sub(repl, text, count=1)


def example_scenario_for(cancer: str | None = None) -> str:
    """The commented example scenario (:func:`metacascade.scenario.example_scenario_text`) for
    the preset ``cancer`` (default: the built-in one, unchanged): ``cancer`` set (a one-organ
    preset: Iwata's 20 mm primary over one year), and every commented-out model override
    showing the preset's value, so that uncommenting a line changes nothing until it is edited.

    Raises the presets' error naming ``cancer`` for an unknown preset.
    """
    from metacascade.presets import get_preset
    from metacascade.scenario import example_scenario_text

    text = example_scenario_text()
    if cancer is None:
        return text
    p = get_preset(cancer)
    text = re.sub(r'^cancer = "[^"]*"', f'cancer = "{cancer}"', text, count=1, flags=re.M)
    if not p.whole_body:  # Iwata's one-organ case: a 20 mm primary followed for one year
        text = re.sub(r"^primary_diameter_mm = [0-9.]+", "primary_diameter_mm = 20.0", text, count=1, flags=re.M)
        text = re.sub(r"^horizon_days = [0-9.]+ ?", "horizon_days = 365.0 ", text, count=1, flags=re.M)
    text = _set(text, "growth_law", f'"{p.growth_law}"')
    text = _set(text, "growth", _table(p.growth))
    if "m" in p.shedding:
        text = _set(text, "shedding_m", _num(p.shedding["m"]))
    if "alpha" in p.shedding:
        text = _set(text, "shedding_alpha", _num(p.shedding["alpha"]))
    text = _set(text, "secondary_seeding", "true" if p.secondary_seeding else "false")
    text = _set(text, "colony_size0_cells", _num(p.colony_size0_cells))
    text = _set(text, "cells_per_mm3", _num(p.cells_per_mm3))
    text = _set(text, "detection_diameter_mm", _num(p.detection_diameter_mm))
    text = _set(text, "lethal_burden_cells", _num(p.lethal_burden_cells))
    if p.whole_body:
        text = _set(text, "routes", _table(p.routes or {}))
        soil = sorted(p.resolved_soil().items(), key=lambda kv: -kv[1])[:2]
        if soil:
            text = _set(text, "soil", _table(dict(soil)))
        pop = p.population
        text = _set(text, "competent_fraction", _num(pop.competent_fraction))
        text = _set(text, "dissemination_sd_log", _num(pop.dissemination_sd_log))
        text = _set(text, "growth_sd_log", _num(pop.growth_sd_log))
    return text
