"""Smoke and content tests of the cohort figures (metacascade.workflows.cohort_figures)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from metacascade.errors import ParameterError
from metacascade.workflows.cohort_figures import (
    km_figure,
    organ_figure,
    save_figure,
    swimmer_figure,
)

ORGANS = ("lung", "liver", "bone_spine", "brain")
FOLLOW_UP = 10 * 365.25


def _cohort(
    n: int = 12, arms: tuple[str, ...] = ("control", "adjuvant"), seed: int = 1, events_happen: bool = True
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Small matched cohort (patients, events): one organ per metastatic patient, others NaN."""
    rng = np.random.default_rng(seed)
    base, met = rng.exponential(2500.0, n), rng.exponential(1500.0, n)
    organ = rng.choice(ORGANS, n)
    rows, events = [], []
    for k, arm in enumerate(arms):
        stretch = 1.0 + 0.6 * k
        death = base * stretch
        os_event = (death <= FOLLOW_UP) & events_happen
        os_days = np.where(os_event, death, FOLLOW_UP)
        has_met = (met * stretch < os_days) & events_happen
        for i in range(n):
            dm = met[i] * stretch if has_met[i] else os_days[i]
            row = {
                "arm": arm,
                "patient": i,
                "os_days": os_days[i],
                "os_event": bool(os_event[i]),
                "dm_days": dm,
                "dm_event": bool(has_met[i]),
                "mfs_days": dm,
                "mfs_event": bool(has_met[i] or os_event[i]),
            }
            row.update({f"met_days__{o}": dm if has_met[i] and organ[i] == o else np.nan for o in ORGANS})
            rows.append(row)
            events.append((arm, i, 0.0, "surgery", None, 0.0))
            if k > 0:
                events.append((arm, i, 30.0, "chemotherapy", None, 170.0))
            if has_met[i]:
                events.append((arm, i, dm, "metastasis", organ[i], np.nan))
            events.append((arm, i, os_days[i], "death" if os_event[i] else "censored", None, np.nan))
    return pd.DataFrame(rows), pd.DataFrame(events, columns=["arm", "patient", "day", "event", "organ", "end_day"])


def _assert_written(fig: Figure, tmp_path, name: str) -> None:
    paths = save_figure(fig, tmp_path / name)
    assert [p.name for p in paths] == [f"{name}.png", f"{name}.svg"]
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in paths[1].read_bytes()[:2000]
    assert all(p.stat().st_size > 1000 for p in paths)


@pytest.mark.parametrize("endpoint", ["os", "mfs", "dm"])
def test_km_figure_two_arms(tmp_path, endpoint):
    patients, _ = _cohort()
    fig = km_figure(patients, endpoint, title="test")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels[0].startswith("control: n=12") and "HR vs control" in labels[1]
    _assert_written(fig, tmp_path, f"km_{endpoint}")


def test_figures_with_one_arm_and_no_events(tmp_path):
    patients, events = _cohort(arms=("only",), events_happen=False)
    assert not patients["os_event"].any() and patients.filter(like="met_days__").isna().all().all()
    fig = km_figure(patients, "os", at_risk_table=False, show_censors=False)
    assert "median not reached" in fig.axes[0].get_legend().get_texts()[0].get_text()
    _assert_written(fig, tmp_path, "km")
    fig = organ_figure(patients)
    assert all(bar.get_height() == 0 for bar in fig.axes[0].patches)
    _assert_written(fig, tmp_path, "organs")
    _assert_written(swimmer_figure(patients, events), tmp_path, "swimmer")


def test_km_figure_arm_without_events(tmp_path):
    patients, _ = _cohort()
    patients.loc[patients["arm"] == "adjuvant", "os_event"] = False
    fig = km_figure(patients, "os")
    assert "not estimable" in fig.axes[0].get_legend().get_texts()[1].get_text()
    _assert_written(fig, tmp_path, "km")


def test_organ_figure_percentages(tmp_path):
    patients, _ = _cohort(n=20)
    fig = organ_figure(patients, ["liver", "lung"], arms=["adjuvant", "control"])
    heights = [bar.get_height() for bar in fig.axes[0].patches]
    expected = [
        100 * patients.loc[patients["arm"] == arm, f"met_days__{o}"].notna().mean()
        for arm in ("adjuvant", "control")
        for o in ("liver", "lung")
    ]
    np.testing.assert_allclose(heights, expected)
    _assert_written(fig, tmp_path, "organs")
    with pytest.raises(ParameterError, match=r"\['kidney'\].*organs present"):
        organ_figure(patients, ["kidney"])


def test_swimmer_figure_lanes(tmp_path):
    patients, events = _cohort(n=12)
    shuffled = patients.sample(frac=1.0, random_state=0)  # order must not matter
    fig = swimmer_figure(shuffled, events, n=3)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["#0 control", "#0 adjuvant", "#1 control", "#1 adjuvant", "#2 control", "#2 adjuvant"]
    _assert_written(fig, tmp_path, "swimmer")
    # without an events table: metastases from the met_days__ columns
    _assert_written(swimmer_figure(patients, None, n=30), tmp_path, "swimmer_no_events")
    with pytest.raises(ParameterError, match="n=0"):
        swimmer_figure(patients, events, n=0)
    with pytest.raises(ParameterError, match=r"events lacks column\(s\) \['day'\]"):
        swimmer_figure(patients, events.drop(columns="day"))


def test_save_figure_drops_suffix_and_makes_folders(tmp_path):
    patients, _ = _cohort()
    paths = save_figure(organ_figure(patients), tmp_path / "sub" / "organs.png")
    assert [p.name for p in paths] == ["organs.png", "organs.svg"]
    assert all(p.exists() for p in paths)
