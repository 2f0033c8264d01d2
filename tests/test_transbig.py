"""TRANSBIG (GSE7390) natural-history summary: the shipped CSV is what the code computes, and the
cohort matches what the paper reports."""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest

from metacascade.validation import transbig as tb


def test_hazards_and_km_on_made_up_data():
    # 4 patients: events at 1 y and 3 y, censored at 4 y and 6 y
    data = pd.DataFrame(
        {
            "time_years": [1.0, 3.0, 4.0, 6.0],
            "event": [True, True, False, False],
            "er": ["ER+", "ER-", "ER+", "ER-"],
            "size_mm": [10.0, 20.0, 30.0, 40.0],
        }
    )
    s = tb.transbig_summary(data)
    hz = s.hazards.set_index(["group", "time_low_years"])
    # (0, 2]: 1 event, person-years 1 + 2 + 2 + 2 = 7; (2, 5]: 1 event, 1 + 2 + 3 = 6
    assert hz.loc[("all", 0.0), "events"] == 1 and hz.loc[("all", 0.0), "person_years"] == pytest.approx(7.0)
    assert hz.loc[("all", 2.0), "hazard_per_year"] == pytest.approx(1 / 6)
    km = s.dmfs.set_index(["group", "time_years"])
    assert km.loc[("all", 2.0), "dmfs"] == pytest.approx(0.75)
    assert km.loc[("all", 5.0), "dmfs"] == pytest.approx(0.75 * 2 / 3)
    assert km.loc[("all", 5.0), "n_at_risk"] == 1
    assert s.cohort.set_index("group").loc["ER-", "median_size_mm"] == 30.0


needs_sksurv = pytest.mark.skipif(
    importlib.util.find_spec("sksurv") is None, reason="scikit-survival (the 'test' extra) ships the GSE7390 data set"
)


@pytest.fixture(scope="module")
def summary() -> tb.TransbigSummary:
    return tb.transbig_summary()


@needs_sksurv
def test_csv_equals_recomputed_summary(summary):
    shipped = tb.read_transbig_csv()
    fresh = summary.to_long()
    assert list(shipped.columns) == tb.CSV_COLUMNS
    assert shipped[["quantity", "group"]].equals(fresh[["quantity", "group"]])
    num = [c for c in tb.CSV_COLUMNS if c not in ("quantity", "group")]
    np.testing.assert_allclose(shipped[num].to_numpy(float), fresh[num].to_numpy(float), rtol=0, atol=2e-6)


@needs_sksurv
def test_csv_header_gives_provenance():
    head = [line for line in tb.CSV_PATH.read_text(encoding="utf-8").splitlines() if line.startswith("# ")]
    text = "\n".join(head)
    for needle in (
        "GSE7390",
        "Clin Cancer Res 2007;13(11):3207-3214",
        "scikit-survival",
        "lifelines",
        "python -m metacascade.validation.transbig",
        "days",
    ):
        assert needle in text


@needs_sksurv
def test_dataset_coding(summary):
    data, version = tb.load_transbig()
    assert set(data["er"]) == {"ER+", "ER-"}
    # t.tdm is in days: the longest follow-up is ~25 years, not ~9000
    assert 20 < data["time_years"].max() < 30
    # size is in cm in the data set (0.6-5.0 cm); converted to mm
    assert data["size_mm"].min() >= 5 and data["size_mm"].max() <= 50
    assert summary.sksurv_version == version


@needs_sksurv
def test_facts_reported_in_the_paper(summary):
    """Desmedt et al. 2007 (abstract; and the TRANSBIG SABCS 2006 abstract on the Bordet/ULB site):
    198 patients, 51 distant metastases, median follow-up 14.0 years."""
    c = summary.cohort.set_index("group")
    assert c.loc["all", "n"] == 198
    assert c.loc["all", "events"] == 51
    assert c.loc["ER+", "n"] + c.loc["ER-", "n"] == 198
    assert abs(c.loc["all", "median_follow_up_years"] - 14.0) < 0.5


@needs_sksurv
def test_natural_history_shape(summary):
    """Untreated node-negative disease: ER- metastasises early, ER+ later (the surgery-alone pattern the
    NSABP node-negative trials describe: Dignam et al. 2009)."""
    hz = summary.hazards.set_index(["group", "time_low_years"])["hazard_per_year"]
    assert hz[("ER-", 0.0)] > hz[("ER+", 0.0)]
    assert hz[("ER-", 0.0)] > hz[("ER-", 5.0)]
    km = summary.dmfs.set_index(["group", "time_years"])["dmfs"]
    assert km[("ER+", 10.0)] > km[("ER-", 10.0)]
    assert all(np.diff(km.loc["all"].to_numpy()) <= 0)


NH_COLUMNS = [
    "cancer",
    "quantity",
    "subgroup",
    "size_mm_low",
    "size_mm_high",
    "time_years",
    "value",
    "n",
    "ci_low",
    "ci_high",
    "source",
    "where",
    "how_read",
    "note",
]
NH_FILES = [
    "breast_node_positivity_by_size.csv",
    "breast_recurrence_after_surgery_alone.csv",
    "colon_recurrence_after_surgery_alone.csv",
    "other_cancers_recurrence_after_surgery_alone.csv",
]


@pytest.mark.parametrize("name", NH_FILES)
def test_natural_history_tables_carry_provenance(name):
    path = tb.CSV_PATH.parent / name
    header = "\n".join(line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("#"))
    df = pd.read_csv(path, comment="#")
    assert list(df.columns) == NH_COLUMNS
    assert len(df) > 0
    for col in ("cancer", "quantity", "source", "where", "how_read"):
        assert df[col].notna().all(), col
    for key in df["source"].unique():
        assert f"# {key}:" in header, f"source {key} of {name} is not described in its header"
    prob = df[df["quantity"].str.contains("fraction|dmfs|rfs|dfs|survival|cumulative|recurrence_free")]
    assert prob["value"].between(0, 1).all()
    lo_hi = df.dropna(subset=["ci_low", "ci_high"])
    assert (lo_hi["ci_low"] <= lo_hi["value"]).all() and (lo_hi["value"] <= lo_hi["ci_high"]).all()
