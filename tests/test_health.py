"""Organ sizes, failure and symptom burdens, organ function (model/health.py).

Published numbers are pinned one per test; each docstring names the source. The data file
``data/organ_health.toml`` holds every value with its citation and status.
"""

from __future__ import annotations

import math
import tomllib
from importlib.resources import files

import numpy as np
import pytest
import tomli_w

from metacascade.errors import DataError, ParameterError
from metacascade.model import health as HL
from metacascade.model.body import default_body_graph

DATA = files("metacascade").joinpath("data/organ_health.toml")
C = 1.0e6  # cells per mm^3 (1e9 cells/cm^3, the conventional density, docs/science/parameters.md 4)


def test_every_body_graph_organ_has_health_data_in_the_same_order():
    assert HL.organ_names() == default_body_graph().organs


@pytest.mark.parametrize("sex", ["male", "female"])
def test_organ_masses_fit_in_the_reference_body(sex):
    """ICRP 89 reference adults weigh 73 kg (man) and 60 kg (woman); the organs (blood, cartilage
    and connective tissue not assigned to an organ excluded) must weigh less, and at least 90%."""
    total = sum(h.mass_g for h in HL.organ_health(sex=sex))
    body = HL.reference_body_mass_g(sex)
    assert body == {"male": 73000.0, "female": 60000.0}[sex]
    assert 0.9 * body < total < body


@pytest.mark.parametrize("sex,skeleton", [("male", 10500.0), ("female", 7800.0)])
def test_skeleton_halves_sum_to_icrp_skeleton(sex, skeleton):
    """ICRP 89: skeleton including marrow 10,500 g (man), 7,800 g (woman)."""
    axial, appendicular = HL.organ_health(("bone_axial", "bone_appendicular"), sex=sex)
    assert axial.mass_g + appendicular.mass_g == skeleton


@pytest.mark.parametrize(
    "organ,male,female",
    [
        ("liver", 1800.0, 1400.0),
        ("brain", 1450.0, 1300.0),
        ("lung", 1200.0, 950.0),
        ("kidney", 310.0, 275.0),
        ("muscle", 29000.0, 17500.0),
        ("adipose", 18200.0, 22500.0),
    ],
)
def test_icrp89_organ_masses(organ, male, female):
    """ICRP 89 reference masses (J Nucl Med Table 2; Table 16.1 'from ICRP Publication 89')."""
    assert HL.organ_health((organ,))[0].mass_g == male
    assert HL.organ_health((organ,), sex="female")[0].mass_g == female


def test_volumes_are_mass_over_density():
    for h in HL.organ_health():
        assert h.volume_cm3 == pytest.approx(h.mass_g / h.density_g_cm3, rel=1e-15)
        assert h.volume_mm3 == pytest.approx(1000.0 * h.volume_cm3, rel=1e-15)
    (lung,) = HL.organ_health(("lung",))
    assert lung.volume_cm3 == pytest.approx(1200.0 / 0.38)  # inflated lung, ICRP-89 phantom density


def test_liver_failure_cells_is_volume_times_fraction_times_density():
    """Failure when < 20% of the liver is left (minimum safe future liver remnant): f = 0.8."""
    (liver,) = HL.organ_health(("liver",))
    expected = (1800.0 / 1.05) * 1000.0 * 0.8 * C
    assert liver.failure_fraction == 0.8
    assert HL.failure_cells(("liver",), C)[0] == pytest.approx(expected, rel=1e-12)


def test_brain_fails_at_60_cm3():
    """Broderick 1993 Stroke 24:987: intracerebral mass >= 60 cm^3 (with GCS <= 8) -> 91% 30-day
    mortality; >= 30 cm^3 -> loss of independent function. Independent of sex (absolute volumes)."""
    for sex in ("male", "female"):
        assert HL.failure_cells("brain", C, sex=sex)[0] == pytest.approx(60.0e3 * C, rel=1e-12)
        assert HL.symptom_cells("brain", C, sex=sex)[0] == pytest.approx(30.0e3 * C, rel=1e-12)


def test_heart_fails_at_40_percent():
    """Alonso 1973 Circulation 48:588: cardiogenic shock with 35-68% of the LV lost (mean 51%)
    vs 14-31% without shock; threshold 40%."""
    (heart,) = HL.organ_health(("heart",))
    assert heart.vital and heart.failure_fraction == 0.40


def test_bone_symptoms_at_bone_scan_index_1_4_percent():
    """Springerplus 2016;5:1095: BSI >= 1.4% of skeletal mass predicts skeletal-related events;
    per half skeleton 2.8%."""
    axial, appendicular = HL.organ_health(("bone_axial", "bone_appendicular"))
    skeleton_mm3 = axial.volume_mm3 + appendicular.volume_mm3
    assert HL.symptom_cells("bone_axial", C)[0] == pytest.approx(0.014 * skeleton_mm3 * C, rel=1e-12)


def test_non_vital_organs_never_fail_lethally():
    organs = HL.organ_names()
    fail = HL.failure_cells(organs, C)
    for h, n in zip(HL.organ_health(organs), fail):
        assert math.isinf(n) == (not h.vital)
        assert h.function_loss_cells(C) < math.inf
    vital = {h.organ for h in HL.organ_health() if h.vital}
    assert vital == {"lung", "liver", "brain", "kidney", "heart", "leptomeninges"}


def test_symptoms_come_no_later_than_failure():
    for h in HL.organ_health():
        assert h.symptom_cells(C) <= h.function_loss_cells(C) or h.symptom_fraction is None


def test_thresholds_scale_with_cell_density():
    organs = ("lung", "liver", "brain")
    np.testing.assert_allclose(HL.failure_cells(organs, 1e5) * 10, HL.failure_cells(organs, 1e6), rtol=1e-12)


def test_organ_function_is_linear_to_zero_at_failure():
    (liver,) = HL.organ_health(("liver",))
    n_fail = liver.failure_cells(C)
    got = HL.organ_function([0.0, 0.25 * n_fail, 0.5 * n_fail, n_fail, 3 * n_fail], "liver", C)
    np.testing.assert_allclose(got, [1.0, 0.75, 0.5, 0.0, 0.0], atol=1e-12)
    assert HL.organ_function(0.5 * n_fail, "liver", C) == pytest.approx(0.5)
    assert isinstance(HL.organ_function(1.0, "liver", C), float)


def test_organ_function_of_non_vital_organ_uses_its_failure_fraction():
    (bone,) = HL.organ_health(("bone_axial",))
    assert HL.organ_function(bone.volume_mm3 * C, "bone_axial", C) == 0.0
    assert HL.organ_function(0.5 * bone.volume_mm3 * C, "bone_axial", C) == pytest.approx(0.5)


def test_cause_of_death_labels():
    labels = dict(zip(HL.organ_names(), HL.cause_of_death_labels()))
    assert labels["liver"] == "liver failure" and labels["lung"] == "respiratory failure"
    assert labels["bone_axial"] is None and labels["adrenal"] is None
    assert HL.cause_of_death_labels(("kidney",)) == ("renal failure",)
    assert HL.BURDEN_DEATH_LABEL == "total tumour burden"


@pytest.mark.parametrize(
    "call",
    [
        lambda: HL.organ_health(("livr",)),
        lambda: HL.failure_cells(("lung", "bone"), C),
        lambda: HL.symptom_cells(("spleen",), C),
        lambda: HL.organ_function(1.0, "kidneys", C),
        lambda: HL.cause_of_death_labels(("hearts",)),
    ],
)
def test_unknown_organ_lists_allowed_names(call):
    with pytest.raises(ParameterError) as exc:
        call()
    msg = str(exc.value)
    assert "unknown organ" in msg and "allowed: lung, liver, bone_axial" in msg and "other" in msg


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf"), "dense", True])
def test_bad_cell_density_is_refused(bad):
    with pytest.raises(ParameterError, match="cells_per_mm3"):
        HL.failure_cells(("liver",), bad)


@pytest.mark.parametrize("bad", [-1.0, float("nan"), [1.0, -2.0]])
def test_bad_burden_is_refused(bad):
    with pytest.raises(ParameterError, match="burden_cells"):
        HL.organ_function(bad, "liver", C)


def test_unknown_sex_is_refused():
    with pytest.raises(ParameterError, match="allowed: male, female"):
        HL.organ_health(("liver",), sex="f")


# -- data file ------------------------------------------------------------------------------------
def _write(tmp_path, edit):
    raw = tomllib.loads(DATA.read_text(encoding="utf-8"))
    edit(raw)
    path = tmp_path / "organ_health.toml"
    path.write_text(tomli_w.dumps(raw), encoding="utf-8")
    return path


def test_loader_reads_an_unchanged_copy(tmp_path):
    path = _write(tmp_path, lambda raw: None)
    assert HL.organ_health(path=path) == HL.organ_health()


def test_corrupt_file_missing_key_names_file_and_field(tmp_path):
    path = _write(tmp_path, lambda raw: raw["organs"]["liver"].pop("density_g_cm3"))
    with pytest.raises(DataError) as exc:
        HL.organ_health(("liver",), path)
    assert str(path) in str(exc.value) and "organs.liver.density_g_cm3" in str(exc.value)


def test_corrupt_file_wrong_type_names_file_and_field(tmp_path):
    def edit(raw):
        raw["organs"]["kidney"]["vital"] = "yes"

    path = _write(tmp_path, edit)
    with pytest.raises(DataError) as exc:
        HL.failure_cells(("kidney",), C, path=path)
    assert str(path) in str(exc.value) and "organs.kidney.vital" in str(exc.value)


def test_corrupt_file_two_failure_thresholds_is_refused(tmp_path):
    def edit(raw):
        raw["organs"]["brain"]["failure_fraction"] = 0.05

    path = _write(tmp_path, edit)
    with pytest.raises(DataError, match=r"organs.brain: give exactly one of failure_fraction"):
        HL.organ_health(path=path)


def test_corrupt_file_symptom_after_failure_is_refused(tmp_path):
    def edit(raw):
        raw["organs"]["liver"]["symptom_fraction"] = 0.9

    path = _write(tmp_path, edit)
    with pytest.raises(DataError, match=r"organs.liver.symptom_fraction: got 0.9"):
        HL.organ_health(path=path)


def test_not_toml_is_a_data_error(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("organs = [", encoding="utf-8")
    with pytest.raises(DataError, match="corrupt organ health file"):
        HL.organ_health(path=bad)
