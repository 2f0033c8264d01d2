"""Calibration data formats: unit conversion checked by hand, and one test per rejected input."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from metacascade.calibration.data import (
    LongitudinalData,
    TimeToEventData,
    load_longitudinal,
    load_time_to_event,
)
from metacascade.errors import DataError

CSV = """\
# units: time=months, primary_size=mm, metastasis_burden=cells
# source: synthetic, two patients
patient,time,primary_size,metastasis_count,metastasis_burden,organ
P1,0,10,0,0,liver
P1,0,10,1,1000,lung
P1,2,12,3,5e4,liver
P1,2,12,2,2e3,lung
7,0,5,0,0,bone_axial
7,1.5,6,1,10,bone_axial
"""

UNITS = {"time": "days", "primary_size": "mm"}


def _frame(**columns) -> pd.DataFrame:
    base = {"patient": ["A", "A", "B"], "time": [0.0, 10.0, 0.0], "primary_size": [5.0, 6.0, 7.0]}
    base.update(columns)
    return pd.DataFrame(base)


def test_csv_with_units_line_converts_to_days_and_cells(tmp_path):
    path = tmp_path / "cohort.csv"
    path.write_text(CSV)
    data = load_longitudinal(path)
    assert isinstance(data, LongitudinalData)
    assert data.source == str(path)
    assert data.units == {"time": "months", "primary_size": "mm", "metastasis_burden": "cells"}
    assert data.comments == ("source: synthetic, two patients",)
    assert data.patients == ["P1", "7"]  # a column with any non-numeric id is read as str
    assert data.n_patients == 2
    t = data.table
    assert list(t.columns) == [
        "patient",
        "time_days",
        "primary_cells",
        "metastasis_count",
        "metastasis_burden_cells",
        "organ",
    ]
    assert len(t) == 6  # per-organ rows kept
    # ball of diameter 10 mm at 1e6 cells/mm^3: pi / 6 * 1000 mm^3 * 1e6 (computed by hand)
    assert t["primary_cells"].iloc[0] == pytest.approx(5.235987755982989e8, rel=1e-15)
    assert t["primary_cells"].iloc[2] == pytest.approx(math.pi / 6 * 12**3 * 1e6, rel=1e-15)
    np.testing.assert_allclose(t["time_days"], [0, 0, 60.875, 60.875, 0, 45.65625], rtol=1e-15)  # x 30.4375
    assert t["metastasis_count"].dtype == np.int64
    assert t["metastasis_count"].tolist() == [0, 1, 3, 2, 0, 1]
    assert t["metastasis_burden_cells"].tolist() == [0, 1000, 5e4, 2e3, 0, 10]
    assert t["organ"].tolist() == ["liver", "lung", "liver", "lung", "bone_axial", "bone_axial"]


def test_dataframe_source_with_units_keyword_and_other_units():
    df = _frame(metastasis_burden=[0.0, 2.0, 0.5])
    data = load_longitudinal(
        df, units={"time": "weeks", "primary_size": "cm3", "metastasis_burden": "mm3"}, cells_per_mm3=2e5
    )
    assert data.source == "<table>" and data.comments == ()
    t = data.table
    assert t["time_days"].tolist() == [0.0, 70.0, 0.0]
    np.testing.assert_allclose(t["primary_cells"], np.array([5.0, 6.0, 7.0]) * 1000 * 2e5, rtol=1e-15)
    np.testing.assert_allclose(t["metastasis_burden_cells"], [0.0, 4e5, 1e5], rtol=1e-15)
    assert "organ" not in t.columns and "metastasis_count" not in t.columns
    assert data.patients == ["A", "B"]


def test_diameter_in_cm_and_years():
    data = load_longitudinal(_frame(), units={"time": "years", "primary_size": "cm"})
    assert data.table["primary_cells"].iloc[0] == pytest.approx(math.pi / 6 * 50.0**3 * 1e6, rel=1e-15)
    assert data.table["time_days"].iloc[1] == 3652.5


def test_parquet_source(tmp_path):
    pytest.importorskip("pyarrow")
    path = tmp_path / "cohort.parquet"
    _frame(metastasis_count=[0, 2, 1]).to_parquet(path, index=False)
    data = load_longitudinal(path, units={"time": "days", "primary_size": "cells"})
    assert data.source == str(path)
    assert data.table["primary_cells"].tolist() == [5.0, 6.0, 7.0]
    assert data.table["metastasis_count"].tolist() == [0, 2, 1]
    ints = tmp_path / "ints.parquet"
    _frame(patient=[3, 3, 1]).to_parquet(ints, index=False)
    assert load_longitudinal(ints, units={"time": "days", "primary_size": "cells"}).patients == [3, 1]


def test_units_keyword_must_agree_with_units_line(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text(CSV)
    assert load_longitudinal(path, units={"time": "months"}).units["time"] == "months"
    with pytest.raises(DataError, match=r"c\.csv: unit of time: units= says 'days'.*'months'"):
        load_longitudinal(path, units={"time": "days"})


# ------------------------------------------------------------------------------ rejected input


def test_missing_column():
    with pytest.raises(DataError, match=r"<table>: missing column 'primary_size'.*needs columns patient, time"):
        load_longitudinal(_frame().drop(columns="primary_size"), units=UNITS)


def test_units_not_declared(tmp_path):
    path = tmp_path / "no_units.csv"
    path.write_text("patient,time,primary_size\nA,0,5\n")
    with pytest.raises(DataError, match=r"no_units\.csv: column 'time': unit not declared.*# units: time=days"):
        load_longitudinal(path)
    with pytest.raises(DataError, match=r"column 'primary_size': unit not declared"):
        load_longitudinal(path, units={"time": "days"})
    with pytest.raises(DataError, match=r"column 'metastasis_burden': unit not declared"):
        load_longitudinal(_frame(metastasis_burden=[0, 1, 2]), units=UNITS)


def test_unknown_unit():
    with pytest.raises(
        DataError,
        match=r"column 'time': unknown unit 'fortnights'; allowed: days, weeks, months, "
        r"years",
    ):
        load_longitudinal(_frame(), units={"time": "fortnights", "primary_size": "mm"})
    with pytest.raises(DataError, match=r"unknown unit 'cell' \(did you mean 'cells'\?\); allowed: mm, cm, mm3"):
        load_longitudinal(_frame(), units={"time": "days", "primary_size": "cell"})


def test_negative_time():
    with pytest.raises(
        DataError, match=r"column 'time', row 2 \(patient 'B'\): negative time -1.0; allowed: time >= 0"
    ):
        load_longitudinal(_frame(time=[0.0, 3.0, -1.0]), units=UNITS)


def test_times_not_increasing_within_patient():
    df = pd.DataFrame({"patient": ["A", "B", "A", "A"], "time": [0, 1, 30, 20], "primary_size": [1, 1, 2, 3]})
    with pytest.raises(
        DataError,
        match=r"column 'time', row 3 \(patient 'A'\): time 20 days is not after 30 days "
        r"\(row 2\).*strictly increasing",
    ):
        load_longitudinal(df, units=UNITS)
    repeated = pd.DataFrame({"patient": [1, 1], "time": [5, 5], "primary_size": [1, 2]})
    with pytest.raises(DataError, match=r"row 1 \(patient 1\): time 5 days is not after 5 days"):
        load_longitudinal(repeated, units=UNITS)


def test_times_increasing_per_organ_and_primary_consistent():
    df = pd.DataFrame(
        {
            "patient": ["A"] * 4,
            "time": [0, 0, 5, 5],
            "primary_size": [1, 1, 2, 2],
            "metastasis_count": [0, 0, 1, 1],
            "organ": ["liver", "lung", "liver", "liver"],
        }
    )
    with pytest.raises(DataError, match=r"row 3 \(patient 'A'\) in organ 'liver': time 5 days is not after 5 days"):
        load_longitudinal(df, units=UNITS)
    df["organ"] = ["liver", "lung", "liver", "lung"]
    df["primary_size"] = [1, 1, 2, 3]
    with pytest.raises(
        DataError,
        match=r"column 'primary_size', row 3 \(patient 'A'\): primary size 3 at time 5 "
        r"differs from 2 \(row 2\)",
    ):
        load_longitudinal(df, units=UNITS)


def test_size_must_be_positive():
    with pytest.raises(
        DataError,
        match=r"column 'primary_size', row 1 \(patient 'A'\): got 0.0; allowed: "
        r"primary_size > 0",
    ):
        load_longitudinal(_frame(primary_size=[1.0, 0.0, 2.0]), units=UNITS)


def test_negative_count_and_burden():
    with pytest.raises(DataError, match=r"column 'metastasis_count', row 2 \(patient 'B'\): negative count -1"):
        load_longitudinal(_frame(metastasis_count=[0, 1, -1]), units=UNITS)
    with pytest.raises(DataError, match=r"column 'metastasis_burden', row 0 \(patient 'A'\): negative burden"):
        load_longitudinal(_frame(metastasis_burden=[-5.0, 1, 1]), units={**UNITS, "metastasis_burden": "cells"})


def test_non_integer_count():
    with pytest.raises(DataError, match=r"column 'metastasis_count', row 1 \(patient 'A'\): non-integer count 1.5"):
        load_longitudinal(_frame(metastasis_count=[0, 1.5, 2]), units=UNITS)


def test_unknown_organ_has_did_you_mean():
    df = _frame(metastasis_count=[0, 1, 2], organ=["liver", "lungs", "brain"])
    with pytest.raises(
        DataError,
        match=r"column 'organ', row 1 \(patient 'A'\): unknown organ 'lungs' "
        r"\(did you mean 'lung'\?\); allowed: lung, liver",
    ):
        load_longitudinal(df, units=UNITS)


def test_nan_and_non_numeric(tmp_path):
    with pytest.raises(DataError, match=r"<table>: column 'primary_size', row 1 \(patient 'A'\): missing value"):
        load_longitudinal(_frame(primary_size=[1.0, np.nan, 2.0]), units=UNITS)
    path = tmp_path / "bad.csv"
    path.write_text("# units: time=days, primary_size=mm\npatient,time,primary_size\nA,0,1\nA,x,2\n")
    with pytest.raises(DataError, match=r"bad\.csv: column 'time', row 1 \(patient 'A'\): non-numeric value 'x'"):
        load_longitudinal(path)


def test_bad_source():
    with pytest.raises(DataError, match=r"nowhere\.csv: file not found"):
        load_longitudinal("nowhere.csv", units=UNITS)


# ------------------------------------------------------------------------------ time to event


def test_time_to_event_csv_with_units_line(tmp_path):
    path = tmp_path / "tte.csv"
    path.write_text(
        "# units: time=months\n# trial: demo\nid,time,event,grade\n1,12,1,II\n2,6.5,0,III\n3,0,True,I\n4,3,false,II\n"
    )
    data = load_time_to_event(path, covariates=["grade"])
    assert isinstance(data, TimeToEventData)
    assert data.units == {"time": "months"} and data.comments == ("trial: demo",)
    assert list(data.table.columns) == ["duration_days", "event", "grade"]
    np.testing.assert_allclose(data.table["duration_days"], [365.25, 197.84375, 0.0, 91.3125], rtol=1e-15)
    assert data.table["event"].dtype == bool
    assert data.table["event"].tolist() == [True, False, True, False]
    assert data.table["grade"].tolist() == ["II", "III", "I", "II"]
    assert data.n_events == 2


def test_time_to_event_gbsg2():
    lifelines = pytest.importorskip("lifelines.datasets")
    raw = lifelines.load_gbsg2()
    data = load_time_to_event(
        raw, duration="time", event="cens", covariates=["tsize", "pnodes", "tgrade"], time_unit="days"
    )
    assert len(data.table) == len(raw) == 686
    assert data.n_events == int(raw["cens"].sum())  # 299 in lifelines 0.30
    assert data.covariates == ("tsize", "pnodes", "tgrade")
    assert data.table["duration_days"].tolist() == raw["time"].astype(float).tolist()
    assert data.table["tgrade"].tolist() == raw["tgrade"].tolist()


def test_time_to_event_errors():
    df = pd.DataFrame({"time": [10.0, 20.0, 30.0], "event": [1, 0, 2], "age": [50, np.nan, 60]})
    with pytest.raises(DataError, match=r"<table>: column 'time': unit not declared.*time_unit="):
        load_time_to_event(df)
    with pytest.raises(DataError, match=r"column 'event', row 2: event indicator 2; allowed: 0/1, True/False"):
        load_time_to_event(df, time_unit="days")
    df["event"] = ["1", "maybe", "0"]
    with pytest.raises(DataError, match=r"column 'event', row 1: event indicator 'maybe'"):
        load_time_to_event(df, time_unit="days")
    df["event"] = [1, 0, 1]
    with pytest.raises(DataError, match=r"column 'age', row 1: missing covariate value"):
        load_time_to_event(df, time_unit="days", covariates=["age"])
    with pytest.raises(DataError, match=r"missing column 'sex'"):
        load_time_to_event(df, time_unit="days", covariates=["sex"])
    df["time"] = [10.0, -1.0, 3.0]
    with pytest.raises(DataError, match=r"column 'time', row 1: negative duration -1.0; allowed: duration >= 0"):
        load_time_to_event(df, time_unit="days")
    with pytest.raises(DataError, match=r"unknown unit 'hours'"):
        load_time_to_event(df, time_unit="hours")
