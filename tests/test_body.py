"""Body graph and routing: conservation of cells, anatomy of the first capillary bed, exactness
of the absorbing-chain solution against path sums and Monte Carlo, edits, and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metacascade.errors import DataError, ParameterError
from metacascade.model.body import BodyGraph, default_body_graph, load_body_graph
from metacascade.presets import get_preset, load_presets

BODY = default_body_graph()
ALL_SOIL = dict.fromkeys(BODY.organs, 1.0)


def first_bed(route: str) -> str:
    """The organ where most arrested cells entering by ``route`` arrest."""
    arrest = BODY.routing(ALL_SOIL, {route: 1.0}).primary_arrest
    return BODY.organs[int(np.argmax(arrest))]


# -- conservation ---------------------------------------------------------------------------------


@pytest.mark.parametrize("start", BODY.states)
def test_every_cell_is_arrested_or_dead(start):
    """Rows of the absorption matrix sum to 1 (to 1e-12): from any pool or organ a cell ends
    arrested in some organ or dead in transit; none circulates for ever."""
    row = BODY.absorption()[BODY.states.index(start)]
    assert np.all(row >= 0)
    assert row.sum() == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("start", ["venous", "portal", "arterial", "lymph_regional", "csf", "peritoneal_cavity"])
def test_step_by_step_conservation_and_limit(start):
    """After n transitions arrested + dead + still in transit = 1 (1e-12) for every n, and the
    step-by-step sums converge to the fundamental-matrix solution (independent method)."""
    a_inf = BODY.absorption()[BODY.states.index(start)]
    for n in (0, 1, 2, 5, 20):
        arrested, dead, moving = BODY.in_transit(start, n)
        assert arrested.sum() + dead + moving == pytest.approx(1.0, abs=1e-12)
    arrested, dead, moving = BODY.in_transit(start, 400)
    assert moving < 1e-12
    np.testing.assert_allclose(arrested, a_inf[:-1], atol=1e-12)
    assert dead == pytest.approx(a_inf[-1], abs=1e-12)


def test_monte_carlo_paths_agree_with_the_exact_routing():
    """2e5 simulated cell paths from the venous blood land in each organ with the frequencies of
    the absorbing-chain solution, within 4 binomial standard errors."""
    rng = np.random.default_rng(20261125)
    q, r = BODY._transitions()
    step = np.hstack([q, r])
    cum = np.cumsum(step, axis=1)
    n_cells = 200_000
    state = np.full(n_cells, BODY.states.index("venous"))
    final = np.full(n_cells, -1)
    alive = np.ones(n_cells, bool)
    n_transient = q.shape[0]
    while alive.any():
        idx = np.flatnonzero(alive)
        u = rng.random(idx.size) * cum[state[idx], -1]
        nxt = np.array([np.searchsorted(cum[s], x, side="right") for s, x in zip(state[idx], u)])
        done = nxt >= n_transient
        final[idx[done]] = nxt[done] - n_transient
        alive[idx[done]] = False
        state[idx[~done]] = nxt[~done]
    counts = np.bincount(final, minlength=len(BODY.organs) + 1) / n_cells
    exact = BODY.absorption()[BODY.states.index("venous")]
    se = np.sqrt(exact * (1 - exact) / n_cells)
    assert np.all(np.abs(counts - exact) <= 4 * se + 1e-12)


# -- anatomy --------------------------------------------------------------------------------------


def test_colorectal_first_bed_is_the_liver_and_breast_the_lungs():
    """Portal drainage puts the first capillary bed in the liver; caval drainage in the lungs
    (Chambers et al., Nat Rev Cancer 2002;2:563; docs/science/parameters.md 1b)."""
    assert first_bed("portal") == "liver"
    assert first_bed("venous") == "lung"
    crc, breast = get_preset("colorectal"), get_preset("breast_er_positive")
    a_crc = BODY.routing(ALL_SOIL, crc.routes).primary_arrest
    a_breast = BODY.routing(ALL_SOIL, breast.routes).primary_arrest
    blood_organs = [i for i, o in enumerate(BODY.organs) if not o.startswith("lymph")]
    assert BODY.organs[max(blood_organs, key=lambda i: a_crc[i])] == "liver"
    assert BODY.organs[max(blood_organs, key=lambda i: a_breast[i])] == "lung"


def test_lung_primary_skips_the_lungs_and_follows_cardiac_output():
    """A lung primary enters the arterial blood: first-pass arrest follows the organs' share of
    cardiac output (brain 12%, kidneys 19%: ICRP 89 type values, docs/science/parameters.md 1a)."""
    arrest = BODY.routing(ALL_SOIL, {"arterial": 1.0}).primary_arrest
    first_pass = {o: arrest[BODY.organs.index(o)] for o in ("brain", "kidney", "muscle")}
    # brain and kidney both see the arterial blood once before any return to the lung: their
    # ratio equals the cardiac-output ratio 0.12 / 0.19 up to recirculation (identical for both).
    assert first_pass["brain"] / first_pass["kidney"] == pytest.approx(0.12 / 0.19, rel=1e-12)
    assert first_pass["muscle"] / first_pass["kidney"] == pytest.approx(0.17 / 0.19, rel=1e-12)


def test_single_pass_closed_form():
    """From the venous blood: lung arrest = s_v * a_lung * (1 + recirculation) where the
    recirculating fraction is computed by hand for a graph reduced to venous -> lung -> arterial
    -> (liver | return); checks the linear algebra against a geometric series."""
    g = BodyGraph(
        organs=("lung", "liver"),
        pools=("venous", "arterial"),
        arrest=np.array([0.6, 0.7]),
        outflow=("arterial", "venous"),
        colony_drainage=("arterial", "venous"),
        blood_borne=(True, True),
        transit_minutes=np.array([1.0, 1.0]),
        shares=({"lung": 1.0}, {"liver": 0.3, "venous": 0.7}),
        clearance_per_day=14.4,
        early_survival=1.0,
    )
    s = math.exp(-14.4 / 1440.0)  # survival of one transit of 1 minute at k = 14.4/day
    a_l, a_h = 0.6, 0.7
    # one loop: venous -s-> lung (arrest a_l) -> arterial -s-> liver (0.3, arrest a_h) or venous (0.7)
    back = s * (1 - a_l) * s * (0.3 * (1 - a_h) + 0.7)  # venous -> ... -> venous
    lung = s * a_l / (1 - back)
    liver = s * (1 - a_l) * s * 0.3 * a_h / (1 - back)
    a = g.absorption()[g.states.index("venous")]
    assert a[0] == pytest.approx(lung, rel=1e-13)
    assert a[1] == pytest.approx(liver, rel=1e-13)
    assert a[2] == pytest.approx(1 - lung - liver, rel=1e-12)


def test_batson_plexus_raises_axial_bone_seeding():
    """Prostate cells entering Batson's vertebral plexus reach the axial skeleton directly
    (Batson, Ann Surg 1940;112:138): more axial-bone arrest than caval entry alone."""
    via_plexus = BODY.routing(ALL_SOIL, {"vertebral_plexus": 1.0}).primary_arrest
    caval = BODY.routing(ALL_SOIL, {"venous": 1.0}).primary_arrest
    i = BODY.organs.index("bone_axial")
    assert via_plexus[i] > 10 * caval[i]


def test_csf_route_feeds_the_leptomeninges():
    arrest = BODY.routing(ALL_SOIL, {"csf": 1.0}).primary_arrest
    assert BODY.organs[int(np.argmax(arrest))] == "leptomeninges"


# -- founding probabilities ------------------------------------------------------------------------


def test_founding_probability_is_the_product_of_the_cascade_steps():
    """p_j = sum over routes r_s A_sj sigma_j (1 - d/b) (docs/design.md section 1.3), checked entry by entry."""
    soil = {"lung": 2e-9, "liver": 5e-9, "bone_axial": 1e-9}
    routes = {"venous": 0.7, "lymph_regional": 0.3}
    rt = BODY.routing(soil, routes)
    a = BODY.absorption()
    for organ, sigma in soil.items():
        j = BODY.organs.index(organ)
        expected = sum(w * a[BODY.states.index(s), j] for s, w in routes.items()) * sigma * BODY.early_survival
        assert rt.primary[j] == pytest.approx(expected, rel=1e-13)
    assert rt.primary[BODY.organs.index("brain")] == 0.0  # no soil, no colony


def test_colony_routing_follows_the_colony_organs_drainage():
    """Lung metastases seed via the arterial blood, liver metastases via the caval veins, gut
    ones via the portal vein; the factored form equals the dense matrix."""
    rt = BODY.routing(ALL_SOIL, {"venous": 1.0})
    a = BODY.absorption()
    for organ, pool in (
        ("lung", "arterial"),
        ("liver", "venous"),
        ("gi_tract", "portal"),
        ("peritoneum", "peritoneal_cavity"),
        ("leptomeninges", "csf"),
    ):
        i = BODY.organs.index(organ)
        expected = a[BODY.states.index(pool), :-1] * BODY.early_survival
        np.testing.assert_allclose(rt.colony[i], expected, rtol=1e-13)
    u, v = rt.factors
    np.testing.assert_allclose(u @ v, rt.colony.T, rtol=1e-13)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=5), st.floats(0.0, 1.0))
def test_probabilities_sum_to_at_most_one(weights, sigma):
    """Property: for any route split and soil <= 1, founding probabilities are in [0, 1] and
    sum with the non-founding outcomes to 1."""
    names = ["venous", "portal", "lymph_regional", "csf", "peritoneal_cavity"][: len(weights)]
    total = sum(weights)
    routes = {n: w / total for n, w in zip(names, weights)} if total > 0 else {"venous": 1.0}
    rt = BODY.routing(dict.fromkeys(BODY.organs, sigma), routes)
    assert np.all(rt.primary >= 0)
    assert rt.primary_arrest.sum() + rt.primary_dead == pytest.approx(1.0, abs=1e-12)
    assert rt.primary.sum() <= rt.primary_arrest.sum() + 1e-15


# -- edits ----------------------------------------------------------------------------------------


def test_removing_the_hepatic_artery():
    """Without the hepatic artery (6.5% of cardiac output) arterial cells reach the liver only
    through the gut and portal vein: liver arrest from the arterial blood falls to the portal
    share 0.19/(1 - 0.065) x (1 - a_gut) x ..., the other arterial shares scale by 1/0.935, and
    portal-drained cells still arrest in the liver as before."""
    g = BODY.without_edge("arterial", "liver")
    assert "liver" not in g.shares[g.pools.index("arterial")]
    assert g.shares[g.pools.index("arterial")]["kidney"] == pytest.approx(0.19 / 0.935, rel=1e-12)
    i = BODY.organs.index("liver")
    before = BODY.routing(ALL_SOIL, {"arterial": 1.0}).primary_arrest
    after = g.routing(ALL_SOIL, {"arterial": 1.0}).primary_arrest
    assert after[i] < before[i]
    assert after[BODY.organs.index("kidney")] > before[BODY.organs.index("kidney")]
    # the portal route does not use the removed edge on its first pass
    p_before = BODY.routing(ALL_SOIL, {"portal": 1.0}).primary_arrest[i]
    p_after = g.routing(ALL_SOIL, {"portal": 1.0}).primary_arrest[i]
    assert p_after == pytest.approx(p_before, rel=0.02) and p_after < p_before


def test_removing_the_portal_route_takes_the_liver_off_the_first_pass():
    """Without portal -> liver, a colorectal primary's first bed is no longer the liver."""
    g = BODY.with_changes(shares={"portal": {"liver": 0.0, "venous": 1.0}})
    arrest = g.routing(ALL_SOIL, {"portal": 1.0}).primary_arrest
    assert g.organs[int(np.argmax(arrest))] == "lung"


def test_higher_clearance_kills_more_cells_in_transit():
    low = BODY.routing(ALL_SOIL, {"venous": 1.0}).primary_dead
    high = BODY.with_changes(clearance_per_day=10 * BODY.clearance_per_day).routing(ALL_SOIL, {"venous": 1.0})
    assert high.primary_dead > low


# -- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda: BODY.routing({"livr": 0.1}, {"venous": 1.0}), "did you mean 'liver'"),
        (lambda: BODY.routing({"liver": 1.5}, {"venous": 1.0}), "soil.liver"),
        (lambda: BODY.routing({"liver": float("nan")}, {"venous": 1.0}), "soil.liver"),
        (lambda: BODY.routing({}, {"veins": 1.0}), "did you mean 'venous'"),
        (lambda: BODY.routing({}, {"venous": 0.5}), "must sum to 1"),
        (lambda: BODY.routing({}, {"venous": -0.5, "portal": 1.5}), "routes.venous"),
        (lambda: BODY.with_changes(arrest={"lung": 1.2}), "arrest.lung"),
        (lambda: BODY.with_changes(shares={"arterial": {"brain": -0.1, "other": 0.152}}), "pools.arterial.to.brain"),
        (lambda: BODY.with_changes(shares={"arterial": {"brian": 0.0}}), "did you mean 'brain'"),
        (lambda: BODY.with_changes(clearance_per_day=-1.0), "clearance_per_day"),
        (lambda: BODY.without_edge("arterial", "lung"), "has no edge to 'lung'"),
    ],
)
def test_bad_values_name_the_item(call, fragment):
    with pytest.raises(ParameterError, match=None) as info:
        call()
    assert fragment in str(info.value)


def test_organ_that_should_be_blood_borne_but_is_unreachable():
    """Cutting every blood edge to the adrenals while they stay marked blood_borne is an error."""
    with pytest.raises(ParameterError, match="'adrenal' is marked blood_borne"):
        BODY.without_edge("arterial", "adrenal")


def test_loss_free_loop_is_rejected():
    with pytest.raises(ParameterError, match="circulate for ever"):
        BodyGraph(
            organs=("lung",),
            pools=("venous",),
            arrest=np.array([0.0]),
            outflow=("venous",),
            colony_drainage=("venous",),
            blood_borne=(True,),
            transit_minutes=np.array([1.0]),
            shares=({"lung": 1.0},),
            clearance_per_day=0.0,
            early_survival=1.0,
        )


def test_corrupt_and_invalid_body_files(tmp_path):
    bad = tmp_path / "body.toml"
    bad.write_text("[pools\n")
    with pytest.raises(DataError, match="corrupt body graph file"):
        load_body_graph(bad)
    bad.write_text(
        "[circulation]\nclearance_per_day = 1.0\nearly_survival = 0.5\n"
        "[pools.venous]\ntransit_minutes = 1.0\nto = { lung = 1.0 }\n"
        '[organs.lung]\narrest = 0.9\noutflow = "venus"\n'
    )
    with pytest.raises(DataError, match=r"organs.lung.outflow: unknown pool 'venus'"):
        load_body_graph(bad)
    bad.write_text(
        "[circulation]\nclearance_per_day = 1.0\nearly_survival = 0.5\n"
        "[pools.venous]\ntransit_minutes = 1.0\nto = { lung = 0.8 }\n"
        '[organs.lung]\narrest = 0.9\noutflow = "venous"\n'
    )
    with pytest.raises(DataError, match=r"shares sum to 0.8"):
        load_body_graph(bad)


def test_shipped_graph_has_the_required_organs_and_every_preset_routes():
    required = {
        "lung",
        "liver",
        "bone_axial",
        "bone_appendicular",
        "brain",
        "lymph_regional",
        "lymph_distant",
        "adrenal",
        "kidney",
        "peritoneum",
        "pleura",
        "leptomeninges",
        "skin_soft_tissue",
    }
    assert required <= set(BODY.organs)
    assert {"venous", "arterial", "portal", "thoracic_duct", "csf", "peritoneal_cavity"} <= set(BODY.pools)
    arterial = BODY.shares[BODY.pools.index("arterial")]
    assert sum(arterial.values()) == pytest.approx(1.0, abs=1e-12)
    for preset in load_presets().values():
        if preset.whole_body:
            rt = BODY.routing(preset.resolved_soil(), preset.routes)
            assert np.all(np.isfinite(rt.primary)) and rt.primary.sum() > 0
