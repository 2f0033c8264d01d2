"""Shipped clinical reference data: the published totals and cells, and one test per rejected input.

Expected numbers are the papers' printed values: DiSibio & French 2008 (Arch Pathol Lab Med
132:931-939; Figure 1 and its text) and the pooled M1 fractions of the SEER summaries of Szczurek
et al. 2020 (PLoS Comput Biol 16:e1008056).
"""

from __future__ import annotations

import csv
import io
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest

from metacascade import clinical_data as cd
from metacascade.errors import DataError

REFERENCE = Path(str(files("metacascade").joinpath("data", "reference")))
SHIPPED = ("disibio2008_autopsy.csv", "seer_m1_by_size.csv", "seer_m1_survival_by_size.csv", "seer_peer_fits.csv")


# --------------------------------------------------------------------------- shipped files


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_file_starts_with_provenance_and_stands_alone(name):
    text = (REFERENCE / name).read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0].startswith("# ")
    comments = [line for line in lines if line.startswith("#")]
    assert len(comments) >= 10
    assert all(line == "#" or line.startswith("# ") for line in comments)
    first_data = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    assert all(not line.startswith("#") for line in lines[first_data:])  # comments only on top
    assert "github" in text.lower() or "GitHub" in text
    assert "commit" in text
    for forbidden in ("shared/reference", "../shared", "/work/"):
        assert forbidden not in text


def test_readme_and_module_cite_sources_without_local_paths():
    readme = (REFERENCE / "README.md").read_text(encoding="utf-8")
    module = Path(cd.__file__).read_text(encoding="utf-8")
    for text in (readme, module):
        for forbidden in ("shared/reference", "../shared", "/work/"):
            assert forbidden not in text
    for needle in (
        "80c58d551231d3c8545c87c7368f2d9df755151d",
        "8a408d5cc076f6d99b63248c69c1cc44429471fb",
        "sqrt(cor(y1, y))",
        "under-samples bone",
        "Operated patients only",
        "3,827",
        "9,484",
    ):
        assert needle in readme


def test_pyproject_ships_the_reference_folder():
    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    if not pyproject.exists():  # an installed copy without the source tree
        pytest.skip("no pyproject.toml next to the tests")
    assert '"data/reference/*"' in pyproject.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- DiSibio


@pytest.fixture(scope="module")
def disibio():
    return cd.load_disibio()


def test_disibio_totals_equal_the_papers(disibio):
    assert disibio.counts.shape == (41, 30)
    assert disibio.sites == cd.DISIBIO_SITES
    assert len(set(disibio.primaries)) == 41
    assert int(disibio.n_autopsies.sum()) == 3827
    assert int(disibio.counts.to_numpy().sum()) == 9484
    assert disibio.counts.dtypes.unique().tolist() == [np.dtype(np.int64)]
    assert disibio.n_autopsies.dtype == np.int64
    assert list(disibio.n_autopsies.index) == list(disibio.counts.index)
    assert disibio.counts.index.name == "primary"
    assert "TOTAL" not in disibio.primaries
    assert (disibio.counts.le(disibio.n_autopsies, axis=0)).all().all()
    assert disibio.source.endswith("disibio2008_autopsy.csv")


def test_disibio_column_totals_equal_the_printed_figure(disibio):
    # Figure 1's printed totals (green numbers), in the figure's site order
    printed = [
        482,
        617,
        75,
        100,
        62,
        149,
        86,
        125,
        228,
        1018,
        94,
        1051,
        1946,
        1224,
        102,
        158,
        212,
        102,
        413,
        355,
        28,
        16,
        233,
        114,
        201,
        55,
        12,
        117,
        77,
        32,
    ]
    assert disibio.counts.sum(axis=0).tolist() == printed


def test_disibio_shares_equal_the_papers_text(disibio):
    site_share = 100 * disibio.counts.sum(axis=0) / 9484  # Results: % of all metastases
    for site, pct in {
        "lymph_nodes_regional": 20.5,
        "lymph_nodes_distant": 12.9,
        "liver": 11.1,
        "lung": 10.7,
        "bone": 6.5,
        "stomach": 0.6,
        "vagina": 0.3,
        "prostate": 0.3,
        "skeletal muscle": 0.2,
        "testes": 0.1,
    }.items():
        assert site_share[site] == pytest.approx(pct, abs=0.05)
    primary_share = 100 * disibio.n_autopsies / 3827  # % of all primaries
    for primary, pct in {"rectum": 11.4, "breast": 11.3, "cervix": 10.9, "stomach": 9.1}.items():
        assert primary_share[primary] == pytest.approx(pct, abs=0.05)
    assert primary_share["prostate"] == pytest.approx(5, abs=0.5)


def test_disibio_selected_cells(disibio):
    assert disibio.n_autopsies["breast"] == 432
    assert disibio.counts.at["breast", "bone"] == 213  # 49%
    assert disibio.counts.at["breast", "lung"] == 247  # 57%
    assert disibio.counts.at["breast", "liver"] == 218  # 50%
    assert disibio.fraction("breast", "bone") == pytest.approx(213 / 432, rel=1e-15)
    assert round(100 * disibio.fraction("breast", "bone")) == 49
    assert round(100 * disibio.fraction("breast", "lung")) == 57
    assert round(100 * disibio.fraction("breast", "liver")) == 50
    assert disibio.n_autopsies["pancreas"] == 109
    assert disibio.counts.at["pancreas", "liver"] == 63
    assert round(100 * disibio.fraction("pancreas", "liver")) == 58
    assert disibio.counts.at["prostate", "bone"] == 91  # 47%: the under-sampled skeleton
    assert "unknown primary" in disibio.primaries  # the paper's spelling


# percent of autopsies, selected rows (rounded as printed in the data's documentation)
SELECTED = {
    ("breast", 432): [49, 50, 57, 10, 34, 37, 14, 53, 64],
    ("lung", 163): [23, 36, 29, 9, 36, 17, 7, 70, 47],
    ("colon", 123): [2, 28, 12, 1, 7, 1, 16, 34, 15],
    ("rectum", 437): [6, 27, 20, 0, 8, 3, 6, 38, 21],
    ("pancreas", 109): [6, 58, 27, 0, 11, 10, 23, 62, 32],
    ("prostate", 193): [47, 19, 31, 0, 8, 4, 1, 63, 44],
    ("stomach", 348): [9, 36, 19, 0, 11, 4, 23, 65, 30],
    ("ovary", 86): [7, 29, 21, 2, 10, 19, 73, 42, 30],
    ("kidney", 62): [32, 34, 48, 6, 29, 16, 10, 37, 42],
    ("skin body", 67): [27, 30, 51, 15, 28, 16, 12, 51, 46],
}
SELECTED_SITES = (
    "bone",
    "liver",
    "lung",
    "brain",
    "adrenal",
    "pleura",
    "peritoneum",
    "lymph_nodes_regional",
    "lymph_nodes_distant",
)


@pytest.mark.parametrize(("primary", "n"), list(SELECTED))
def test_disibio_selected_rows_in_percent(disibio, primary, n):
    assert disibio.n_autopsies[primary] == n
    got = [round(100 * disibio.fraction(primary, s)) for s in SELECTED_SITES]
    assert got == SELECTED[primary, n]


def test_disibio_fractions_frame(disibio):
    f = disibio.fractions()
    assert f.shape == (41, 30)
    assert f.at["lung", "adrenal"] == pytest.approx(59 / 163, rel=1e-15)
    assert ((f >= 0) & (f <= 1)).all().all()


def test_combine_colon_and_rectum_sums_counts_and_autopsies(disibio):
    both = disibio.combine("colorectal", ["colon", "rectum"])
    assert isinstance(both, cd.DiSibioTable)
    assert both.n_autopsies["colorectal"] == 123 + 437
    expected = disibio.counts.loc["colon"] + disibio.counts.loc["rectum"]
    assert both.counts.loc["colorectal"].tolist() == expected.tolist()
    assert both.counts.at["colorectal", "liver"] == 35 + 120
    assert both.fraction("colorectal", "liver") == pytest.approx(155 / 560, rel=1e-15)
    assert both.counts.dtypes.unique().tolist() == [np.dtype(np.int64)]
    assert both.n_autopsies.dtype == np.int64
    assert both.primaries[-1] == "colorectal" and "colon" in both.primaries  # parts kept
    assert len(both.primaries) == 42 and len(disibio.primaries) == 41  # original unchanged
    again = both.combine("gastro-oesophageal", ["stomach", "esophagus"])
    assert again.n_autopsies["gastro-oesophageal"] == 348 + 129


@pytest.mark.parametrize(
    ("name", "primaries", "needle"),
    [
        ("colorectal", ["colon", "rectumm"], "'rectumm'"),
        ("colorectal", ["colon", "colon"], "'colon' given 2 times"),
        ("colon", ["colon", "rectum"], "'colon' is empty or already a row"),
        ("", ["colon", "rectum"], "'' is empty"),
        ("colorectal", [], "no primaries given"),
    ],
)
def test_combine_rejects_bad_arguments(disibio, name, primaries, needle):
    with pytest.raises(DataError, match="allowed") as err:
        disibio.combine(name, primaries)
    assert needle in str(err.value)


def test_unknown_primary_or_site_names_the_allowed_ones(disibio):
    with pytest.raises(DataError) as err:
        disibio.fraction("brest", "bone")
    msg = str(err.value)
    assert "unknown primary 'brest'" in msg and "did you mean 'breast'" in msg
    assert "'pancreas'" in msg and "allowed" in msg
    with pytest.raises(DataError) as err:
        disibio.fraction("breast", "bones")
    assert "unknown site 'bones'" in str(err.value) and "'lymph_nodes_distant'" in str(err.value)


# --------------------------------------------------------------------------- SEER


@pytest.fixture(scope="module")
def seer():
    return cd.load_seer_size()


# pooled M1 fraction (%) over all sizes, as printed in the data's documentation (one decimal)
POOLED = {
    "Breast Ca (NST)": 1.7,
    "Breast Ca lobular": 2.0,
    "Colon AdenoCa": 17.9,
    "Rectum AdenoCa": 10.1,
    "NSCLC": 7.7,
    "Pancreas AdenoCa": 8.8,
    "Gastric AdenoCa": 12.2,
    "Ovarial Ca": 22.7,
    "Renal Cell Ca": 7.1,
    "Urothelial Ca": 2.8,
    "Esophageal Ca": 8.0,
    "Endometrial Ca": 5.6,
    "HNSCC": 1.5,
}


@pytest.mark.parametrize("cancer", list(POOLED))
def test_seer_pooled_m1_fraction_equals_the_printed_one(seer, cancer):
    rows = seer[seer["cancer"] == cancer]
    pooled = 100 * rows["n_m1"].sum() / rows["n_patients"].sum()
    assert abs(pooled - POOLED[cancer]) <= 0.05  # rounding of the printed value


def test_seer_table_shape_and_types(seer):
    assert list(seer.columns) == ["cancer", "size_bin_cm", "size_mid_cm", "n_patients", "n_m1", "fraction"]
    assert len(seer) == 274
    assert cd.seer_cancers() == sorted([*POOLED, "Colon AdenoCa muc"])
    assert seer["n_patients"].dtype == np.int64 and seer["n_m1"].dtype == np.int64
    assert int(seer["n_patients"].sum()) == 158150
    assert (seer["n_patients"] >= 20).all()  # the authors' minimum bin size
    assert (seer["n_m1"] <= seer["n_patients"]).all()
    np.testing.assert_array_equal(seer["fraction"], seer["n_m1"] / seer["n_patients"])
    assert set(seer["size_bin_cm"]) <= set(cd.SEER_SIZE_BINS_CM)
    assert not seer.duplicated(["cancer", "size_bin_cm"]).any()
    # sorted by cancer, then size
    assert seer.equals(seer.sort_values(["cancer", "size_bin_cm"]).reset_index(drop=True))


def test_seer_selected_rows(seer):
    row = seer[(seer["cancer"] == "Breast Ca (NST)") & (seer["size_bin_cm"] == 0.1)].iloc[0]
    assert (row["n_patients"], row["n_m1"]) == (905, 3)
    assert row["fraction"] == pytest.approx(0.00331492, abs=5e-9)
    # a row whose 6-digit fraction times n is 0.0018 from an integer: the count is exact here
    row = seer[(seer["cancer"] == "Colon AdenoCa") & (seer["size_bin_cm"] == 3.0)].iloc[0]
    assert (row["n_patients"], row["n_m1"]) == (4863, 734)
    assert row["fraction"] == pytest.approx(0.150936, abs=5e-7)


def test_seer_size_midpoints():
    assert cd.SEER_SIZE_BINS_CM[:3] == (0.1, 0.5, 1.0) and cd.SEER_SIZE_BINS_CM[-1] == 10.0
    assert len(cd.SEER_SIZE_BINS_CM) == 21
    mid = cd.SEER_SIZE_MID_CM
    assert (mid[0.1], mid[0.5], mid[1.0], mid[4.5], mid[9.5], mid[10.0]) == (0.2, 0.55, 1.0, 4.5, 9.5, 9.9)
    frame = cd.load_seer_size(cancer="NSCLC")
    assert frame["size_mid_cm"].tolist() == [mid[b] for b in frame["size_bin_cm"]]
    assert len(frame) == 21 and set(frame["cancer"]) == {"NSCLC"}


def test_seer_survival_table(seer):
    surv = cd.load_seer_survival()
    assert list(surv.columns) == [
        "cancer",
        "size_bin_cm",
        "size_mid_cm",
        "n_patients",
        "mean_survival_months",
        "sd_months",
        "median_survival_months",
    ]
    assert len(surv) == 88
    assert sorted(surv["cancer"].unique()) == [
        "Breast Ca (NST)",
        "Colon AdenoCa",
        "Colon AdenoCa muc",
        "Gastric AdenoCa",
        "NSCLC",
        "Ovarial Ca",
        "Pancreas AdenoCa",
        "Rectum AdenoCa",
        "Renal Cell Ca",
    ]
    first = surv.iloc[0]
    assert (first["cancer"], first["size_bin_cm"], first["n_patients"]) == ("Breast Ca (NST)", 2.0, 31)
    assert first["median_survival_months"] == 39.0
    # the survivors' table is a subset of the M1 patients of the same bin
    merged = surv.merge(seer, on=["cancer", "size_bin_cm"], suffixes=("", "_all"), how="left")
    assert merged["n_m1"].notna().all()
    assert (merged["n_patients"] <= merged["n_m1"]).all()
    assert len(cd.load_seer_survival(cancer="Colon AdenoCa")) == 18


def test_seer_unknown_cancer_names_the_allowed_ones():
    with pytest.raises(DataError) as err:
        cd.load_seer_size(cancer="Breast")
    msg = str(err.value)
    assert "unknown cancer 'Breast'" in msg and "'Breast Ca (NST)'" in msg and "allowed" in msg
    with pytest.raises(DataError) as err:
        cd.load_seer_survival(cancer="HNSCC")
    msg = str(err.value)
    assert "'HNSCC' has no rows" in msg and "'NSCLC'" in msg
    with pytest.raises(DataError, match="unknown cancer 'lung'"):
        cd.load_peer_fits(cancer="lung")


def test_peer_fits(seer):
    fits = cd.load_peer_fits()
    assert list(fits.columns) == ["cancer", *cd.PEER_FIT_COLUMNS, "pearson_r", "r_squared"]
    assert list(cd.PEER_FIT_COLUMNS) == ["T0", "h", "T1", "mu", "sigma", "f", "rmse", "r2"]
    assert sorted(fits["cancer"]) == cd.seer_cancers()
    assert fits["r2"].between(0.93, 0.99).all()
    np.testing.assert_allclose(fits["pearson_r"], fits["r2"] ** 2, rtol=1e-15)
    np.testing.assert_allclose(fits["r_squared"], fits["r2"] ** 4, rtol=1e-15)
    renal = cd.load_peer_fits(cancer="Renal Cell Ca").iloc[0]
    assert renal["r2"] == 0.932456273377056  # copied verbatim
    assert renal["T0"] == 7.48846251779983 and renal["rmse"] == 1.03441575643703
    assert renal["r_squared"] == pytest.approx(0.756, abs=5e-4)
    assert (fits["f"] >= 0.92).all()  # the fit's lower bound
    assert (fits["f"] == 0.92).sum() == 8


# --------------------------------------------------------------------------- bad input


def _lines(name: str) -> list[str]:
    return (REFERENCE / name).read_text(encoding="utf-8").splitlines()


def _edit(name: str, tmp_path: Path, key: str, column: str, value: str) -> Path:
    """The shipped file with one cell (row whose first field is ``key``; ``key`` may be
    ``"cancer|bin"`` for the SEER tables) set to ``value``, written into tmp_path."""
    lines = _lines(name)
    header_at = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    header = next(csv.reader([lines[header_at]]))
    first, _, second = key.partition("|")
    for i in range(header_at + 1, len(lines)):
        fields = next(csv.reader([lines[i]]))
        if fields[0] == first and (not second or fields[1] == second):
            fields[header.index(column)] = value
            buf = io.StringIO()
            csv.writer(buf, lineterminator="").writerow(fields)
            lines[i] = buf.getvalue()
            break
    else:
        raise AssertionError(f"no row {key!r}")
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _write(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _raises(loader, path: Path, *needles: str) -> str:
    with pytest.raises(DataError) as err:
        loader(path)
    msg = str(err.value)
    assert "\n" not in msg
    assert str(path) in msg
    for needle in needles:
        assert needle in msg, (needle, msg)
    return msg


D = "disibio2008_autopsy.csv"
S = "seer_m1_by_size.csv"
V = "seer_m1_survival_by_size.csv"
P = "seer_peer_fits.csv"


@pytest.mark.parametrize(
    ("column", "value", "needles"),
    [
        ("bone", "12.5", ["is not an integer", "an integer count 0..n_autopsies (432)"]),
        ("bone", "-3", ["is negative"]),
        ("bone", "", ["is missing (NaN)"]),
        ("bone", "NaN", ["is missing (NaN)"]),
        ("bone", "many", ["is not a number"]),
        ("bone", "433", ["is larger than 432", "0..n_autopsies (432)"]),
        ("n_autopsies", "0", ["is below 1", "a positive integer"]),
        ("total_metastases", "2234", ["is not the sum of the row's 30 sites", "2235"]),
    ],
)
def test_disibio_rejects_bad_cells(tmp_path, column, value, needles):
    path = _edit(D, tmp_path, "breast", column, value)
    _raises(cd.load_disibio, path, "primary 'breast'", f"column {column!r}", f"value {value!r}", "allowed", *needles)


def test_disibio_rejects_a_missing_column(tmp_path):
    lines = _lines(D)
    out = []
    for line in lines:
        if line.startswith("#"):
            out.append(line)
            continue
        fields = next(csv.reader([line]))
        del fields[3]  # bone
        out.append(",".join(fields))
    msg = _raises(cd.load_disibio, _write(tmp_path, D, out), "missing column 'bone'", "required columns")
    assert "(header)" in msg


def test_disibio_rejects_an_unknown_column(tmp_path):
    lines = [line.replace(",bone,", ",bones,", 1) if line.startswith("primary,") else line for line in _lines(D)]
    _raises(cd.load_disibio, _write(tmp_path, D, lines), "missing column 'bone'", "did you mean 'bones'")


def test_disibio_rejects_a_duplicated_row(tmp_path):
    lines = _lines(D)
    breast = next(line for line in lines if line.startswith("breast,"))
    lines.insert(lines.index(breast) + 1, breast)
    _raises(cd.load_disibio, _write(tmp_path, D, lines), "primary 'breast'", "duplicated row", "one row per primary")


def test_disibio_rejects_an_inconsistent_total_row(tmp_path):
    path = _edit(D, tmp_path, "TOTAL", "n_autopsies", "3828")
    _raises(
        cd.load_disibio,
        path,
        "row 'TOTAL'",
        "column 'n_autopsies'",
        "value '3828'",
        "column sum of the 41 primaries (3827)",
        "allowed",
    )
    # a site total off by one (and the TOTAL row's own sum kept consistent)
    path = _edit(D, tmp_path, "TOTAL", "bone", "618")
    lines = path.read_text().splitlines()
    lines = [line.replace(",9484", ",9485") if line.startswith("TOTAL,") else line for line in lines]
    _raises(cd.load_disibio, _write(tmp_path, D, lines), "row 'TOTAL'", "column 'bone'", "value '618'", "(617)")


def test_disibio_requires_the_total_row(tmp_path):
    lines = [line for line in _lines(D) if not line.startswith("TOTAL,")]
    _raises(cd.load_disibio, _write(tmp_path, D, lines), "no TOTAL row", "allowed")


@pytest.mark.parametrize(
    ("mutate", "needles"),
    [
        (lambda lines: [*lines[:-1], lines[-1] + ",7"], ["line", "row 'TOTAL'", "34 fields", "header has 33"]),
        (lambda lines: [line.replace("breast,432", 'breast,"432', 1) for line in lines], ["corrupt CSV", "line"]),
        (lambda lines: [line for line in lines if line.startswith("#")], ["no header line"]),
    ],
)
def test_disibio_rejects_corrupt_csv(tmp_path, mutate, needles):
    _raises(cd.load_disibio, _write(tmp_path, D, mutate(_lines(D))), *needles)


def test_corrupt_bytes_and_missing_file(tmp_path):
    path = tmp_path / D
    path.write_bytes(b"primary,n_autopsies\n\xff\xfe\x00garbage\n")
    _raises(cd.load_disibio, path, "corrupt CSV", "not UTF-8")
    path.write_bytes(b"primary,n\x00,x\n")
    _raises(cd.load_disibio, path, "corrupt CSV", "NUL")
    _raises(cd.load_disibio, tmp_path / "absent.csv", "file not found")
    (tmp_path / "empty.csv").write_text("")
    _raises(cd.load_seer_size, tmp_path / "empty.csv", "no header line")
    (tmp_path / "header.csv").write_text("cancer,size_bin_cm,n_patients,n_m1,fraction_distant_met\n")
    _raises(cd.load_seer_size, tmp_path / "header.csv", "no data rows")


SEER_ROW = "Breast Ca (NST)|0.1"  # n_patients 905, n_m1 3


@pytest.mark.parametrize(
    ("column", "value", "needles"),
    [
        ("n_m1", "3.5", ["is not an integer"]),
        ("n_m1", "-1", ["is negative"]),
        ("n_m1", "906", ["is larger than 905", "0..n_patients (905)"]),
        ("n_patients", "0", ["is below 1", "a positive integer"]),
        ("n_patients", "nan", ["is missing (NaN)"]),
        ("fraction_distant_met", "", ["is missing (NaN)", "a number in [0, 1]"]),
        ("fraction_distant_met", "1.2", ["is out of range", "a number in [0, 1]"]),
        ("fraction_distant_met", "-0.01", ["is out of range"]),
        ("fraction_distant_met", "0.01", ["not n_m1 (3)", "n_m1 / n_patients = 0.00331492"]),
        ("size_bin_cm", "0.3", ["is not a size-bin label", "one of 0.1, 0.5, 1"]),
        ("size_bin_cm", "big", ["is not a number"]),
    ],
)
def test_seer_size_rejects_bad_cells(tmp_path, column, value, needles):
    path = _edit(S, tmp_path, SEER_ROW, column, value)
    _raises(
        cd.load_seer_size,
        path,
        "cancer 'Breast Ca (NST)', size bin",
        f"column {column!r}",
        f"value {value!r}",
        "allowed",
        *needles,
    )


def test_seer_size_rejects_missing_column_and_duplicates(tmp_path):
    lines = _lines(S)
    out = [line if line.startswith("#") else line.rsplit(",", 1)[0] for line in lines]
    _raises(
        cd.load_seer_size,
        _write(tmp_path, S, out),
        "missing column 'fraction_distant_met'",
        "required columns: cancer, size_bin_cm",
    )
    row = next(line for line in lines if line.startswith("NSCLC,3.0,"))
    lines.append(row)
    _raises(
        cd.load_seer_size,
        _write(tmp_path, S, lines),
        "cancer 'NSCLC', size bin 3.0",
        "duplicated row",
        "one row per cancer and size bin",
    )
    bad = [line.replace("NSCLC,3.0,", ",3.0,") if line.startswith("NSCLC,3.0,") else line for line in _lines(S)]
    _raises(cd.load_seer_size, _write(tmp_path, S, bad), "column 'cancer'", "is missing")


@pytest.mark.parametrize(
    ("column", "value", "needles"),
    [
        ("median_survival_months", "", ["is missing (NaN)"]),
        ("mean_survival_months", "-2", ["is out of range", "a number >= 0"]),
        ("sd_months", "inf", ["is not finite"]),
        ("n_patients", "31.5", ["is not an integer"]),
    ],
)
def test_seer_survival_rejects_bad_cells(tmp_path, column, value, needles):
    path = _edit(V, tmp_path, "Breast Ca (NST)|2.0", column, value)
    _raises(
        cd.load_seer_survival,
        path,
        "cancer 'Breast Ca (NST)', size bin 2.0",
        f"column {column!r}",
        f"value {value!r}",
        "allowed",
        *needles,
    )


def test_seer_survival_rejects_duplicates(tmp_path):
    lines = _lines(V)
    lines.append(next(line for line in lines if line.startswith("NSCLC,1.0,")))
    _raises(cd.load_seer_survival, _write(tmp_path, V, lines), "cancer 'NSCLC', size bin 1.0", "duplicated row")


@pytest.mark.parametrize(
    ("column", "value", "needles"),
    [
        ("r2", "1.2", ["is out of range", "a number in [0, 1]"]),
        ("r2", "NA", ["is missing (NaN)"]),
        ("sigma", "-0.1", ["is out of range", "a number >= 0"]),
        ("mu", "x", ["is not a number", "a finite number"]),
    ],
)
def test_peer_fits_reject_bad_cells(tmp_path, column, value, needles):
    path = _edit(P, tmp_path, "NSCLC", column, value)
    _raises(cd.load_peer_fits, path, "cancer 'NSCLC'", f"column {column!r}", f"value {value!r}", "allowed", *needles)


def test_peer_fits_reject_the_raw_header_and_duplicates(tmp_path):
    # the authors' own file: 8 names in the header, 9 fields in every row
    lines = [line for line in _lines(P) if not line.startswith("#")]
    raw = [lines[0].split(",", 1)[1], *lines[1:]]
    _raises(cd.load_peer_fits, _write(tmp_path, P, raw), "missing column 'cancer'")
    dup = [*lines, lines[1]]
    _raises(cd.load_peer_fits, _write(tmp_path, P, dup), "cancer 'Breast Ca (NST)'", "duplicated row")
