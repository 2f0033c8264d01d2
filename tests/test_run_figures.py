"""The run figures (``figure.png``, ``body_map.png``) read as what they show (issue 16, item 11):
axes scaled to the data, no label cut at the edge, organs in words, the primary marked."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest
from engine_patients import SPREADING_BREAST_MODEL

from metacascade.scenario import parse_scenario

# a patient with metastases to show (the preset's median patient has almost none): tests/engine_patients.py
BREAST = '[patient]\ncancer = "breast_er_positive"\nprimary_diameter_mm = 20\n[model]\n' + SPREADING_BREAST_MODEL


@pytest.fixture(scope="module")
def breast_run():
    from metacascade.workflows.run import run_scenario

    return run_scenario(parse_scenario(BREAST + '[engine]\nkind = "deterministic"\nhorizon_days = 1825\n'))


def test_treated_stochastic_incidence_panel_is_scaled_to_its_curves():
    """Treated, few patients have a detectable metastasis: the curves stay near 0.005-0.1, and the
    panel ran 0-1 (it looked empty); now its top is just above the highest curve."""
    from metacascade.plotting import plot_stochastic
    from metacascade.workflows.stochastic_run import run_stochastic

    sc = parse_scenario(
        BREAST + '[engine]\nkind = "stochastic"\nn_patients = 200\nhorizon_days = 1825\nseed = 3\n'
        '[[treatment]]\nkind = "surgery"\nday = 0\n'
    )
    fig = plot_stochastic(run_stochastic(sc))
    try:
        ax = fig.axes[1]
        highest = max(float(np.nanmax(line.get_ydata())) for line in ax.get_lines())
        assert 0 < highest < 0.5
        bottom, top = ax.get_ylim()
        assert bottom == 0 and highest <= top <= 1.2 * highest
        assert all("_" not in line.get_label() for line in ax.get_lines())  # organs in words
    finally:
        plt.close(fig)


def test_size_distribution_does_not_reach_down_to_1e_21(breast_run):
    """The expected numbers of the largest sizes fall to ~1e-21 and the axis followed them down:
    it stops at 1e-4 colonies now (or 3 decades below the largest number, when that is smaller)."""
    from metacascade.plotting import SIZE_FLOOR, plot_run

    fig = plot_run(breast_run)
    try:
        ax = fig.axes[2]
        data = np.concatenate(
            [np.asarray(line.get_ydata(), float) for line in ax.get_lines() if line.get_label().startswith("day")]
        )
        assert np.nanmin(data) < 1e-12  # what the axis used to show
        bottom, top = ax.get_ylim()
        assert bottom == pytest.approx(min(SIZE_FLOOR, np.nanmax(data) * 1e-3)) and top >= np.nanmax(data)
    finally:
        plt.close(fig)


def test_body_map_labels_fit_are_in_words_and_the_primary_is_marked(breast_run):
    """ "one_appendicular" was cut at the left edge: every label lies inside the figure, organs
    are named in words ("bone (appendicular)"), and a star marks the primary (breast)."""
    from metacascade.plotting import plot_run_body_map

    fig = plot_run_body_map(breast_run)
    try:
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        width, height = fig.bbox.width, fig.bbox.height
        ax = fig.axes[0]
        labels = [t for t in ax.texts if t.get_gid() != "other"]
        assert labels, "the run has detectable metastases to label"
        for text in labels:
            box = text.get_window_extent(renderer)
            assert box.x0 >= 0 and box.x1 <= width and box.y0 >= 0 and box.y1 <= height, (text.get_text(), box)
            organ = text.get_text().split(":")[0]
            assert "_" not in organ, organ
        assert any(t.get_text().startswith("bone (appendicular)") for t in labels)
        stars = [line for line in ax.get_lines() if line.get_gid() == "primary"]
        assert len(stars) == 1 and stars[0].get_label() == "primary: breast"
        assert "primary: breast" in [t.get_text() for t in ax.get_legend().get_texts()]
        by_organ = next(a for a in fig.axes if a.get_title() == "Burden by organ")
        names = [t.get_text() for t in by_organ.get_legend().get_texts()]
        assert "lymph nodes (regional)" in names and not any("_" in n for n in names)
    finally:
        plt.close(fig)


def test_primary_sites_of_the_presets():
    from metacascade.bodymap import PRIMARY_SITES, organ_name, primary_site
    from metacascade.presets import preset_names

    assert organ_name("bone_appendicular") == "bone (appendicular)" and organ_name("lung") == "lung"
    for cancer in preset_names():
        site = primary_site(cancer)
        assert site is None or site in PRIMARY_SITES, cancer
    assert primary_site("colorectal") == "colon" and primary_site("hcc_iwata2000") == "liver"
