"""Whole-body presets against autopsy organ frequencies, the reproducible calibration, and the
scenario overrides of the routing.

The targets are ``metacascade/data/autopsy_targets.csv``: the ranges of
shared/reference/autopsy/README.md (GK midpoints) and the checked Hess et al. 2006 values
(prostate -> bone 90%, pancreas -> liver 85%, ovary -> abdominal cavity 91%).
"""

from __future__ import annotations

import numpy as np
import pytest

from metacascade.engines.deterministic import solve_deterministic
from metacascade.errors import DataError, ScenarioError
from metacascade.presets import get_preset, load_calibrated_soils, load_presets
from metacascade.scenario import parse_scenario
from metacascade.workflows.autopsy import (
    CALIBRATED_SOIL_PATH,
    calibrate_preset,
    format_calibrated_soils,
    load_autopsy_targets,
    predict_autopsy,
)
from metacascade.workflows.run import run_scenario

TARGETS = load_autopsy_targets()
CALIBRATED = sorted(n for n, p in load_presets().items() if p.autopsy_targets is not None)


def _table(name: str) -> tuple[dict[str, float], dict[str, float]]:
    preset = get_preset(name)
    rows = TARGETS[TARGETS["cancer"] == preset.autopsy_targets]
    pred = predict_autopsy(preset)
    data = dict(zip(rows["site"], rows["target"].astype(float)))
    model = {s: pred.site_probability(s) for s in data}
    return data, model


def test_required_presets_exist():
    required = {"breast_er_positive", "breast_er_negative", "lung_nsclc", "colorectal", "pancreas", "prostate",
                "melanoma", "kidney", "stomach", "ovary", "medulloblastoma"}
    assert required <= set(load_presets())
    assert required - {"medulloblastoma"} <= set(CALIBRATED)


@pytest.mark.parametrize("name", CALIBRATED)
def test_organ_frequencies_match_the_autopsy_targets(name):
    """Mean absolute error over the sites below 5 percentage points (the issue's criterion); the
    calibration reaches 1e-4 with six-digit soils."""
    data, model = _table(name)
    mae = np.mean([abs(model[s] - data[s]) for s in data])
    assert mae < 0.05
    assert max(abs(model[s] - data[s]) for s in data) < 1e-4


@pytest.mark.parametrize("name", CALIBRATED)
def test_top_three_sites_in_the_same_order(name):
    """The three most frequent sites and their order agree; sites whose targets tie (equal
    midpoints of the ranges) may come in either order among themselves."""
    data, model = _table(name)
    by_data = sorted(data, key=lambda s: -data[s])
    by_model = sorted(model, key=lambda s: -model[s])
    third = data[by_data[2]]
    assert {s for s in by_model[:3]} <= {s for s in data if data[s] >= third - 1e-12}
    for a in range(3):
        for b in range(a + 1, 3):
            sa, sb = by_model[a], by_model[b]
            assert data[sa] >= data[sb] - 1e-12


def test_medulloblastoma_spreads_through_the_csf():
    """CSF sites dominate, extraneural sites are rare (shared/reference/autopsy/README.md)."""
    pred = predict_autopsy(get_preset("medulloblastoma"))
    p = pred.probability
    assert max(p, key=p.get) == "leptomeninges"
    extraneural = [o for o in p if o not in ("leptomeninges", "brain")]
    assert p["leptomeninges"] > 0.2
    assert max(p[o] for o in extraneural) < 0.02
    assert p["leptomeninges"] > 20 * max(p[o] for o in extraneural)


def test_anatomy_shows_in_the_calibrated_presets():
    """Portal primaries: the liver is the most frequent haematogenous site; prostate: bone."""
    for name in ("colorectal", "pancreas"):
        _, model = _table(name)
        assert max(model, key=model.get) == "liver"
    _, model = _table("prostate")
    assert max(model, key=model.get) == "bone"


def test_calibration_regenerates_the_shipped_soils_bit_for_bit():
    """A fresh fit of every preset, formatted, equals the committed soil_calibrated.toml."""
    from metacascade.workflows.autopsy import calibrate_presets

    fits = calibrate_presets()
    assert format_calibrated_soils(fits) == CALIBRATED_SOIL_PATH.read_text(encoding="utf-8")
    assert load_calibrated_soils() == fits


def test_calibration_follows_the_data():
    """Changing a target changes the fitted soil in the right direction and is met again."""
    preset = get_preset("kidney")
    targets = TARGETS.copy()
    mask = (targets["cancer"] == "kidney") & (targets["site"] == "brain")
    targets.loc[mask, ["target", "high"]] = 0.30
    fitted = calibrate_preset(preset, targets)
    assert fitted["brain"] > preset.fitted_soil["brain"]
    pred = predict_autopsy(preset, soil=preset.resolved_soil(fitted))
    assert pred.site_probability("brain") == pytest.approx(0.30, abs=1e-4)


def test_bad_target_files(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("cancer,site,low,high,target,status,source\nbreast,lvier,0.1,0.2,0.15,GK,x\n")
    with pytest.raises(DataError, match="site: unknown 'lvier'"):
        load_autopsy_targets(path)
    path.write_text("cancer,site,low,high,target,status,source\nbreast,liver,0.1,0.2,1.5,GK,x\n")
    with pytest.raises(DataError, match="target"):
        load_autopsy_targets(path)
    path.write_text("cancer,site,low,target\nbreast,liver,0.1,0.2\n")
    with pytest.raises(DataError, match="missing columns"):
        load_autopsy_targets(path)


def test_corrupt_calibrated_soil_file():
    with pytest.raises(DataError, match="corrupt"):
        load_calibrated_soils("[breast.soil\n")
    with pytest.raises(DataError, match="soil.liver"):
        load_calibrated_soils("[breast.soil]\nliver = 2.0\n")


# -- scenarios ------------------------------------------------------------------------------------

def test_scenario_picks_a_preset_and_overrides_routing_values():
    base = parse_scenario('[patient]\ncancer = "colorectal"\n')
    j = base.organs.index("liver")
    more = parse_scenario('[patient]\ncancer = "colorectal"\n[model]\nsoil = { liver = 1e-9 }\n')
    assert more.routing.primary[j] > base.routing.primary[j]
    caval = parse_scenario('[patient]\ncancer = "colorectal"\n[model]\nroutes = { venous = 1.0 }\n')
    assert caval.routing.primary[j] < base.routing.primary[j]
    bone = parse_scenario('[patient]\ncancer = "prostate"\n[model]\nsoil = { bone = 0.0 }\n')
    for organ in ("bone_axial", "bone_appendicular"):
        assert bone.routing.primary[bone.organs.index(organ)] == 0.0


@pytest.mark.parametrize(("text", "fragment"), [
    ('[patient]\ncancer = "colorectal"\n[model]\nsoil = { livr = 0.1 }\n', "model.soil: unknown organ 'livr'"),
    ('[patient]\ncancer = "colorectal"\n[model]\nsoil = { liver = 2.0 }\n', "model.soil.liver"),
    ('[patient]\ncancer = "colorectal"\n[model]\nroutes = { portl = 1.0 }\n', "did you mean 'portal'"),
    ('[patient]\ncancer = "colorectal"\n[model]\nroutes = { portal = 0.3 }\n', "must sum to 1"),
    ('[patient]\ncancer = "colorectal"\n[model]\narrest = { liver = -0.2 }\n', "model.arrest.liver"),
    ('[patient]\ncancer = "colorectal"\n[model]\nclearance_per_day = -3\n', "model.clearance_per_day"),
    ('[model]\nroutes = { venous = 1.0 }\n', "has no body graph"),
])
def test_bad_routing_overrides(text, fragment):
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "s.toml")
    assert fragment in str(info.value)


def test_single_organ_run_equals_the_scalar_engine():
    """The Iwata preset runs through the organ engine with one organ (liver) and gives the
    foundation engine's numbers (regression)."""
    sc = parse_scenario("[engine]\nhorizon_days = 400\n")
    assert sc.organs == ("liver",)
    res = run_scenario(sc)
    ref = solve_deterministic(sc.model, sc.patient.age_of_primary_days + 400, rtol=sc.engine.rtol)
    t = res.scenario.patient.age_of_primary_days + np.array([0.0, 200.0, 400.0])
    np.testing.assert_allclose(res.solution.n_total(t)[..., 0], ref.n_total(t), rtol=1e-12)
    np.testing.assert_allclose(res.solution.burden(t)[..., 0], ref.burden(t), rtol=1e-12)
    assert res.summary["at_horizon"]["n_metastases"] == pytest.approx(float(ref.n_total(t[-1])), rel=1e-12)


def test_whole_body_run_reports_every_organ():
    sc = parse_scenario('[patient]\ncancer = "colorectal"\n[engine]\nhorizon_days = 1000\nrtol = 1e-7\n'
                        '[output]\nn_times = 11\n')
    res = run_scenario(sc)
    organs = res.organs()
    assert set(organs["organ"]) == set(sc.organs)
    h = res.summary["at_horizon"]
    assert h["n_metastases"] == pytest.approx(sum(v["n_metastases"] for v in h["organs"].values()), rel=1e-12)
    assert all(0.0 <= v["p_detectable"] <= 1.0 for v in h["organs"].values())
    assert max(h["organs"], key=lambda o: h["organs"][o]["n_metastases"]) in ("liver", "lymph_regional")
