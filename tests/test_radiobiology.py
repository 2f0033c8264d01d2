"""Radiobiology: LQ survival, BED/EQD2, Poisson TCP, repopulation, schedules, shipped parameters.

Formulas (Fowler JF, Br J Radiol 1989;62:679): S = exp(-n(alpha d + beta d^2)),
BED = n d (1 + d/(alpha/beta)), EQD2 = BED / (1 + 2/(alpha/beta)), TCP = exp(-N S).
Repopulation (Withers HR et al., Acta Oncol 1988;27:131): log gain ln2 max(0, T - T_k)/T_p,
T_k = 28 days, T_p ~ 4 days, ~0.6 Gy/day (head and neck SCC).
"""

from __future__ import annotations

import math
import tomllib
from importlib.resources import files

import numpy as np
import pytest

from metacascade.errors import DataError, ParameterError
from metacascade.model.radiobiology import (
    RadiosensitivityParameters,
    bed,
    dose_per_fraction_for_tcp,
    eqd2,
    fraction_days,
    lq_surviving_fraction,
    radiosensitivity,
    radiosensitivity_types,
    repopulation_dose_gy,
    repopulation_log_gain,
    tcp_poisson,
    validate_fractions,
)

REL = 1e-12  # closed forms evaluated in double precision: only rounding separates the two sides


def test_surviving_fraction_hand_computed() -> None:
    """30 x 2 Gy, alpha = 0.3 /Gy, beta = 0.03 /Gy^2: n(alpha d + beta d^2) = 30 (0.6 + 0.12) = 21.6.

    exp(-21.6) = 4.161397394224149e-10 (``python -c "import math; print(math.exp(-21.6))"``).
    """
    assert lq_surviving_fraction(2.0, 30, 0.3, 0.03) == pytest.approx(4.161397394224149e-10, rel=REL)


@pytest.mark.parametrize(
    ("cancer", "log_kill"),
    [
        # breast: alpha 0.3 (GK), alpha/beta 4 Gy (START, Dewar 2007 LBA518): beta 0.075;
        # 30 (0.3*2 + 0.075*4) = 30 * 0.9 = 27.
        ("breast_er_positive", 27.0),
        # prostate: alpha 0.3 (GK), alpha/beta 1.5 Gy (Brenner & Hall 1999): beta 0.2;
        # 30 (0.6 + 0.8) = 42.
        ("prostate", 42.0),
    ],
)
def test_surviving_fraction_shipped_parameters(cancer: str, log_kill: float) -> None:
    """30 x 2 Gy with the shipped parameters equals the LQ closed form exp(-n(alpha d + beta d^2))."""
    p = radiosensitivity(cancer)
    assert p.surviving_fraction(2.0, 30) == pytest.approx(math.exp(-log_kill), rel=REL)
    closed = math.exp(-30 * (p.alpha_per_gy * 2.0 + p.beta_per_gy2 * 4.0))
    assert lq_surviving_fraction(2.0, 30, p.alpha_per_gy, p.beta_per_gy2) == pytest.approx(closed, rel=REL)


@pytest.mark.parametrize("alpha_beta", [0.6, 1.5, 3.0, 4.0, 10.0])
@pytest.mark.parametrize("n", [1, 25, 30, 40])
def test_eqd2_of_2gy_fractions_is_the_physical_dose(alpha_beta: float, n: int) -> None:
    """EQD2(d = 2 Gy) = n d whatever alpha/beta; BED(d = 2) = 2n (1 + 2/(alpha/beta))."""
    assert eqd2(2.0, n, alpha_beta) == pytest.approx(2.0 * n, rel=REL)
    assert bed(2.0, n, alpha_beta) == pytest.approx(2.0 * n * (1.0 + 2.0 / alpha_beta), rel=REL)


def test_bed_is_log_kill_over_alpha() -> None:
    """BED = -ln S / alpha for any schedule (hypofractionated 13 x 3.2 Gy, START-A arm)."""
    alpha, ab = 0.3, 4.0
    s = lq_surviving_fraction(3.2, 13, alpha, alpha / ab)
    assert bed(3.2, 13, ab) == pytest.approx(-math.log(s) / alpha, rel=REL)
    # hand value: 41.6 (1 + 3.2/4) = 74.88 Gy; EQD2 = 74.88 / 1.5 = 49.92 Gy
    assert bed(3.2, 13, ab) == pytest.approx(74.88, rel=REL)
    assert eqd2(3.2, 13, ab) == pytest.approx(49.92, rel=REL)


def test_tcp_poisson_and_its_inverse() -> None:
    """TCP = exp(-N S): N = 1e9 clonogens after 30 x 2 Gy (alpha 0.3, beta 0.03), N S = 0.41614...

    The dose per fraction giving TCP = 50% in 30 fractions solves
    30 (alpha d + beta d^2) = ln(N / ln 2), the positive root of the quadratic.
    """
    s = lq_surviving_fraction(2.0, 30, 0.3, 0.03)
    assert tcp_poisson(1e9, s) == pytest.approx(0.6595880935849364, rel=1e-12)  # exp(-0.4161397394224149)
    d50 = dose_per_fraction_for_tcp(0.5, 1e9, 30, 0.3, 0.03)
    log_kill = math.log(1e9 / math.log(2.0)) / 30
    assert d50 == pytest.approx((-0.3 + math.sqrt(0.09 + 4 * 0.03 * log_kill)) / 0.06, rel=REL)
    assert tcp_poisson(1e9, lq_surviving_fraction(d50, 30, 0.3, 0.03)) == pytest.approx(0.5, rel=1e-12)
    # beta = 0: d = L / (n alpha)
    assert dose_per_fraction_for_tcp(0.5, 1e9, 30, 0.3, 0.0) == pytest.approx(log_kill / 0.3, rel=REL)


def test_repopulation_log_gain_and_dose() -> None:
    """Withers 1988: nothing before T_k = 28 days, then ln 2 per T_p = 4 days.

    In dose units ln2 / (alpha T_p) = 0.578 Gy/day for alpha = 0.3 (GK), against Withers' "about
    0.6 Gy/day"; tolerance 10% because Withers quotes both 0.6 Gy/day and 4 days as approximate.
    """
    t = np.array([0.0, 27.0, 28.0, 32.0, 56.0])
    gain = repopulation_log_gain(t, 28.0, 4.0)
    np.testing.assert_allclose(gain, [0.0, 0.0, 0.0, math.log(2.0), 7 * math.log(2.0)], rtol=REL)
    per_day = repopulation_dose_gy(29.0, 28.0, 4.0, 0.3)
    assert per_day == pytest.approx(math.log(2.0) / 1.2, rel=REL)
    assert per_day == pytest.approx(0.6, rel=0.10)
    p = radiosensitivity("lung_nsclc")
    assert (p.kickoff_days, p.doubling_days) == (28.0, 4.0)  # Withers 1988 defaults
    # 35 x 2 Gy over 46 days: survival multiplied by 2^((46 - 28)/4)
    s0 = p.surviving_fraction(2.0, 35)
    assert p.surviving_fraction(2.0, 35, elapsed_days=46.0) == pytest.approx(s0 * 2**4.5, rel=REL)


def test_fraction_days_skip_weekends() -> None:
    """Monday-Friday from a Monday, weekends off; other weekly patterns as documented."""
    np.testing.assert_array_equal(fraction_days(10), [0, 1, 2, 3, 4, 7, 8, 9, 10, 11])
    np.testing.assert_array_equal(fraction_days(6, start_day=14.0), [14, 15, 16, 17, 18, 21])
    np.testing.assert_array_equal(fraction_days(5, fractions_per_week=3), [0, 2, 4, 7, 9])
    assert fraction_days(0).size == 0
    days = fraction_days(30, start_day=3.0)
    assert days[-1] - days[0] == 39.0  # 6 weeks: 5 full weeks + 4 days
    assert set(((days - 3.0) % 7).astype(int)) == {0, 1, 2, 3, 4}  # never day 5 or 6 of a week


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"dose_per_fraction_gy": 0.0, "n_fractions": 30}, "dose_per_fraction_gy"),
        ({"dose_per_fraction_gy": -2.0, "n_fractions": 30}, "dose_per_fraction_gy"),
        ({"dose_per_fraction_gy": float("nan"), "n_fractions": 30}, "dose_per_fraction_gy"),
        ({"dose_per_fraction_gy": 2.0, "n_fractions": 2.5}, "n_fractions"),
        ({"dose_per_fraction_gy": 2.0, "n_fractions": -1}, "n_fractions"),
        ({"dose_per_fraction_gy": 2.0, "n_fractions": True}, "n_fractions"),
        ({"dose_per_fraction_gy": 2.0, "n_fractions": "30"}, "n_fractions"),
        ({"dose_per_fraction_gy": 2.0, "n_fractions": 30, "start_day": -1.0}, "start_day"),
        ({"dose_per_fraction_gy": 2.0, "n_fractions": 30, "fractions_per_week": 8}, "fractions_per_week"),
    ],
)
def test_validate_fractions_names_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ParameterError, match=field):
        validate_fractions(**kwargs)


def test_validate_fractions_accepts_a_schedule() -> None:
    assert validate_fractions(2.0, 30.0, 7.0) == (2.0, 30, 7.0, 5)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: lq_surviving_fraction(2.0, 30, -0.3, 0.03), "alpha_per_gy"),
        (lambda: lq_surviving_fraction(2.0, 30, 0.3, float("nan")), "beta_per_gy2"),
        (lambda: lq_surviving_fraction([2.0, -1.0], 30, 0.3, 0.03), "dose_per_fraction_gy"),
        (lambda: bed(2.0, 30, 0.0), "alpha_beta_gy"),
        (lambda: tcp_poisson(1e9, 1.5), "surviving_fraction"),
        (lambda: tcp_poisson(-1.0, 0.5), "clonogens"),
        (lambda: repopulation_log_gain(30.0, 28.0, 0.0), "doubling_days"),
        (lambda: dose_per_fraction_for_tcp(1.0, 1e9, 30, 0.3, 0.03), "tcp"),
        (lambda: RadiosensitivityParameters("x", 0.3, -1.0, 28.0, 4.0), "alpha_beta_gy"),
    ],
)
def test_bad_parameters_name_the_field(call, field: str) -> None:
    with pytest.raises(ParameterError, match=field):
        call()


def test_every_preset_has_radiosensitivity() -> None:
    """Every section of presets/presets.toml has a row in data/radiobiology.toml."""
    presets = tomllib.loads(files("metacascade").joinpath("presets/presets.toml").read_text("utf-8"))
    types = radiosensitivity_types()
    missing = [name for name in presets if name not in types]
    assert not missing, f"add these presets to metacascade/data/radiobiology.toml: {missing}"
    assert radiosensitivity("kidney_rcc") == radiosensitivity("kidney")


@pytest.mark.parametrize(
    ("cancer", "alpha_beta"),
    [
        ("melanoma", 0.6),  # Thames HD et al., Radiother Oncol 1990;19:219: 0.6 Gy (-1.1 to 2.5)
        ("prostate", 1.5),  # Brenner DJ, Hall EJ, IJROBP 1999;43:1095
        ("breast_er_positive", 4.0),  # START (Dewar 2007, J Clin Oncol 25(18s):LBA518): "about 4 Gy"
        ("lung_nsclc", 10.0),  # Thames 1990: "high", like early-reacting tissues (10 Gy GK)
    ],
)
def test_shipped_alpha_beta(cancer: str, alpha_beta: float) -> None:
    p = radiosensitivity(cancer)
    assert p.alpha_beta_gy == alpha_beta
    assert p.alpha_per_gy == 0.3  # typical clinical tumour alpha, GK (docs/science/parameters.md 7a)
    assert p.source and p.status


def test_unknown_type_lists_the_allowed_ones() -> None:
    with pytest.raises(ParameterError, match=r"prostat.*allowed: .*breast_er_positive.*prostate"):
        radiosensitivity("prostat")


def test_corrupt_files_name_file_and_field(tmp_path) -> None:
    bad_value = tmp_path / "bad_value.toml"
    bad_value.write_text(
        '[defaults]\nkickoff_days = 28.0\ndoubling_days = 4.0\n[prostate]\nalpha_per_gy = "high"\nalpha_beta_gy = 1.5\n'
    )
    with pytest.raises(DataError, match=r"bad_value\.toml: prostate\.alpha_per_gy"):
        radiosensitivity("prostate", bad_value)
    negative = tmp_path / "negative.toml"
    negative.write_text(
        "[prostate]\nalpha_per_gy = 0.3\nalpha_beta_gy = -1.5\nkickoff_days = 28.0\ndoubling_days = 4.0\n"
    )
    with pytest.raises(DataError, match=r"negative\.toml: prostate\.alpha_beta_gy"):
        radiosensitivity("prostate", negative)
    missing = tmp_path / "missing.toml"
    missing.write_text("[prostate]\nalpha_per_gy = 0.3\nalpha_beta_gy = 1.5\n")
    with pytest.raises(DataError, match=r"missing\.toml: prostate\.kickoff_days"):
        radiosensitivity("prostate", missing)
    unknown = tmp_path / "unknown.toml"
    unknown.write_text(
        "[prostate]\nalpha_per_gy = 0.3\nalpha_beta_gy = 1.5\nkickoff_days = 28.0\ndoubling_days = 4.0\nbeta = 0.2\n"
    )
    with pytest.raises(DataError, match=r"unknown\.toml: prostate\.beta: unknown key"):
        radiosensitivity("prostate", unknown)
    broken = tmp_path / "broken.toml"
    broken.write_text("[prostate\nalpha_per_gy = 0.3\n")
    with pytest.raises(DataError, match=r"broken\.toml: corrupt"):
        radiosensitivity("prostate", broken)
    with pytest.raises(DataError, match=r"absent\.toml: cannot read"):
        radiosensitivity("prostate", tmp_path / "absent.toml")
