"""Autopsy organ frequencies of the calibrated presets (DiSibio & French 2008) and of the
uncalibrated CSF preset (medulloblastoma)."""

from __future__ import annotations

import pytest

from metacascade.presets import get_preset, load_presets
from metacascade.workflows.autopsy import predict_autopsy

CALIBRATED = sorted(n for n, p in load_presets().items() if p.calibration and p.fitted_soil)


def _report(name):
    from metacascade.validation.presets import preset_report

    return preset_report(name)


def test_medulloblastoma_spreads_through_the_csf():
    """CSF sites dominate and extraneural sites are rare (medulloblastoma spreads through the CSF;
    extraneural metastases, bone and marrow, are rare)."""
    pred = predict_autopsy(get_preset("medulloblastoma"))
    p = pred.probability
    assert max(p, key=p.get) == "leptomeninges"
    extraneural = [o for o in p if o not in ("leptomeninges", "brain")]
    assert p["leptomeninges"] > 0.2
    assert max(p[o] for o in extraneural) < 0.02
    assert p["leptomeninges"] > 20 * max(p[o] for o in extraneural)


@pytest.mark.parametrize("name", ["colon", "pancreas", "stomach"])
def test_portal_primaries_put_the_liver_first_among_blood_borne_sites(name):
    """DiSibio 2008: liver is the most frequent haematogenous site of colon (28%), pancreas (58%)
    and stomach (36%) cancer; the model's portal route must reproduce that order."""
    sites = _report(name)["autopsy"]["sites"]
    blood = {s: v for s, v in sites.items() if s not in ("lymph_regional", "lymph_distant", "peritoneum")}
    assert max(blood, key=lambda s: blood[s]["observed"]) == "liver"
    assert max(blood, key=lambda s: blood[s]["model"]) == "liver"


@pytest.mark.parametrize("name", ["breast_er_positive", "colon", "lung_nsclc"])
def test_the_validation_verdict_follows_its_stated_targets(name):
    """`validate presets` passes a preset exactly when its stated targets hold (no silent pass):
    autopsy MAE <= 5 points, top three sites in order, SEER statistic and bins, every relapse
    point within its 95% half-width + 10 points, and the early-seeding range meeting its interval."""
    from metacascade.validation.presets import TARGETS

    r = _report(name)
    a = r["autopsy"]
    counts = {s: a["sites"][s]["count"] for s in a["sites"]}
    ok = a["mae"] <= TARGETS["autopsy_mae"] and [counts[s] for s in a["top3_observed"]] == [
        counts[s] for s in a["top3_model"]
    ]
    if r["seer"] is not None:
        s = r["seer"]
        ok = ok and s["r2_peer_statistic"] >= s["peer_r2"] - TARGETS["r2_margin"]
        ok = ok and all(b["within"] for b in s["bins"] if b["gated"])
    for p in (r.get("relapse") or {}).get("points", []):
        ok = ok and abs(p["model"] - p["observed"]) <= p["half_width_95"] + TARGETS["relapse_abs"]
    if r.get("early_seeding") is not None:
        e = r["early_seeding"]
        ok = ok and e["model_high"] >= e["ci_low"] and e["model_low"] <= e["ci_high"]
    assert r["passed"] == ok
    assert r["passed"] == (not r["misses"])


def test_tied_observed_sites_may_come_in_either_order():
    """DiSibio's melanoma row has lung and regional nodes tied (34 of 67): either order of the two
    matches the observed order; a third site that is not in the observed top three does not."""
    from metacascade.validation.presets import same_top_three

    def sites(model):
        counts = {"lung": 34, "lymph_regional": 34, "lymph_distant": 31, "liver": 20}
        return {s: {"observed": c / 67, "count": c, "model": model[s]} for s, c in counts.items()}

    assert same_top_three(sites({"lung": 0.5, "lymph_regional": 0.6, "lymph_distant": 0.4, "liver": 0.3}))
    assert same_top_three(sites({"lung": 0.6, "lymph_regional": 0.5, "lymph_distant": 0.4, "liver": 0.3}))
    assert not same_top_three(sites({"lung": 0.6, "lymph_regional": 0.4, "lymph_distant": 0.5, "liver": 0.3}))
    assert not same_top_three(sites({"lung": 0.6, "lymph_regional": 0.5, "lymph_distant": 0.3, "liver": 0.4}))
