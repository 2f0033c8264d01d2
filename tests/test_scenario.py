"""Scenario files: parsing, defaults, overrides and clear errors on bad input."""

from __future__ import annotations

import contextlib
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metacascade.errors import ScenarioError
from metacascade.scenario import (
    default_scenario,
    diameter_to_cells,
    example_scenario_text,
    load_scenario,
    parse_scenario,
)


def test_default_scenario_is_a_whole_body_preset_and_iwata_is_one_option_away():
    """Issue 16, item 10: the default was Iwata's one-organ liver case (a body map of hatched
    "no value"); it is now a whole-body colorectal cancer, and Iwata's case is --cancer away."""
    from metacascade.scenario.template import example_scenario_for

    default = default_scenario()
    assert default.patient.cancer == "colorectal" and len(default.organs) == 18
    assert default.patient.primary_diameter_mm == 30.0 and default.engine.horizon_days == 1825.0
    assert parse_scenario(example_scenario_for("colorectal")).raw == default.raw
    sc = parse_scenario(example_scenario_for("hcc_iwata2000"))
    assert sc.patient.cancer == "hcc_iwata2000" and sc.engine.horizon_days == 365.0
    assert sc.model.primary_growth.parameters() == {"a_per_day": 0.00286, "b_cells": 7.3e10}
    assert (sc.model.primary_shedding.m, sc.model.primary_shedding.alpha) == (5.3e-8, 0.663)
    # 20 mm ball at 1e6 cells/mm^3: pi/6 * 8000 mm^3 * 1e6 = 4.18879e9 cells
    assert sc.patient.primary_cells == pytest.approx(math.pi / 6 * 20**3 * 1e6, rel=1e-12)
    # Age: Gompertz time from 1 cell to X: (1/a) ln(ln b / ln(b/X))
    expected_age = math.log(math.log(7.3e10) / math.log(7.3e10 / sc.patient.primary_cells)) / 0.00286
    assert sc.patient.age_of_primary_days == pytest.approx(expected_age, rel=1e-12)


def test_example_text_is_the_default_and_parses():
    assert parse_scenario(example_scenario_text()).raw == default_scenario().raw


def test_overrides_replace_single_preset_values():
    sc = parse_scenario("[model]\ngrowth = { a_per_day = 0.004 }\nshedding_alpha = 1.0\nsecondary_seeding = false\n")
    assert sc.model.primary_growth.parameters() == {"a_per_day": 0.004, "b_cells": 7.3e10}
    assert sc.model.primary_shedding.alpha == 1.0 and sc.model.secondary_seeding is False


def test_another_growth_law_needs_its_parameters():
    sc = parse_scenario('[model]\ngrowth_law = "logistic"\ngrowth = { rate_per_day = 0.01, capacity_cells = 1e11 }\n')
    assert sc.model.colony_growth.name == "logistic"
    with pytest.raises(ScenarioError, match=r"model.growth"):
        parse_scenario('[model]\ngrowth_law = "logistic"\n')


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("[patient\ncancer = 'x'", ["not valid TOML"]),
        ("[patient]\nprimary_diametr_mm = 3", ["patient.primary_diametr_mm", "did you mean 'primary_diameter_mm'"]),
        ("[pateint]\n", ["pateint", "did you mean 'patient'"]),
        ("[patient]\ncancer = 'hcc_iwata200'", ["patient.cancer", "did you mean 'hcc_iwata2000'", "allowed"]),
        ("[patient]\nprimary_diameter_mm = -3", ["patient.primary_diameter_mm", "greater than 0", "-3"]),
        ("[patient]\nprimary_diameter_mm = nan", ["patient.primary_diameter_mm", "finite"]),
        ("[patient]\nprimary_diameter_mm = inf", ["patient.primary_diameter_mm", "finite"]),
        ("[patient]\nprimary_diameter_mm = 60", ["patient.primary_diameter_mm", "capacity", "allowed"]),
        ("[patient]\nprimary_diameter_mm = 'big'", ["patient.primary_diameter_mm", "number"]),
        ("[engine]\nhorizon_days = 0", ["engine.horizon_days", "greater than 0"]),
        ("[engine]\nkind = 'quantum'", ["engine.kind", "deterministic"]),
        ("[model]\nshedding_m = -1e-8", ["model.shedding_m", "greater than or equal to 0"]),
        ("[model]\ngrowth = { a_per_day = -0.1 }", ["model.growth", "a_per_day", "allowed"]),
        ("[model]\ngrowth = { c = 1.0 }", ["model.growth", "unknown c"]),
        ("[model]\ngrowth_law = 'gompertzz'\ngrowth = { a = 1.0 }", ["model.growth", "allowed: exponential"]),
        ("[output]\nsizes_cells = [1e6, -1]", ["output.sizes_cells.1", "greater than 0"]),
        ("[output]\nformat = 'xlsx'", ["output.format", "parquet", "csv"]),
    ],
)
def test_bad_scenarios_name_the_field_and_what_is_allowed(text, fragments):
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "bad.toml")
    message = str(info.value)
    assert message.startswith("bad.toml: ")
    for fragment in fragments:
        assert fragment in message


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ScenarioError, match="not found"):
        load_scenario(tmp_path / "nope.toml")
    with pytest.raises(ScenarioError, match="directory"):
        load_scenario(tmp_path)


def test_diameter_cells_round_trip():
    from metacascade.scenario import cells_to_diameter

    assert float(cells_to_diameter(diameter_to_cells(17.3, 1e6), 1e6)) == pytest.approx(17.3, rel=1e-12)


_toml_values = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(
        lambda f: "nan" if math.isnan(f) else ("inf" if f == math.inf else ("-inf" if f == -math.inf else repr(f)))
    ),
    st.text(alphabet="abcxyz_ ", max_size=8).map(lambda s: f'"{s}"'),
    st.sampled_from(["true", "[1, 2]", "{}"]),
)
_keys = st.sampled_from(
    [
        "cancer",
        "primary_diameter_mm",
        "kind",
        "seed",
        "horizon_days",
        "rtol",
        "n_times",
        "format",
        "figure",
        "shedding_m",
        "shedding_alpha",
        "growth",
        "bogus",
        "sizes_cells",
    ]
)
_sections = st.sampled_from(["patient", "model", "engine", "output", "extra"])


@settings(derandomize=True, max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_sections, _keys, _toml_values), max_size=5))
def test_random_scenarios_never_crash_unexpectedly(entries):
    """Any TOML built from random sections/keys/values is either valid or a ScenarioError."""
    text = "\n".join(f"[{sec}]\n{key} = {val}" for sec, key, val in entries)
    try:
        sc = parse_scenario(text, "random.toml")
    except ScenarioError as exc:
        assert str(exc).startswith("random.toml: ")
    else:
        assert sc.patient.primary_cells > 0 and sc.engine.horizon_days > 0


@settings(derandomize=True, max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_never_crash_unexpectedly(blob):
    with contextlib.suppress(ScenarioError):
        parse_scenario(blob.decode("utf-8", errors="replace"), "blob.toml")
