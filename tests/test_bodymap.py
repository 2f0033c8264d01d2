"""Body map: colours follow the values, organs sit at their anatomical places, bad input is refused."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.image
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

from metacascade.bodymap import (
    ABSENT_COLOR,
    BODY_MAP_ORGANS,
    ZERO_COLOR,
    organ_patches,
    plot_body_map,
)
from metacascade.errors import ParameterError

DRAWN = [o for o in BODY_MAP_ORGANS if o != "other"]


@pytest.fixture
def ax():
    fig, ax = plt.subplots(figsize=(6, 9))
    yield ax
    plt.close(fig)


def _by_gid(ax) -> dict[str, list]:
    out: dict[str, list] = {}
    for p in ax.patches:
        out.setdefault(p.get_gid(), []).append(p)
    return out


def _face(ax, organ: str) -> tuple[float, ...]:
    """The one face colour shared by all patches of ``organ``."""
    colours = {tuple(float(c) for c in p.get_facecolor()) for p in _by_gid(ax)[organ]}
    assert len(colours) == 1, (organ, colours)
    return colours.pop()


def _luminance(rgba) -> float:
    r, g, b = rgba[:3]
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _extents(patch):
    """Bounding box of a patch in data coordinates."""
    return patch.get_path().transformed(patch.get_patch_transform()).get_extents()


def _centre(patches) -> np.ndarray:
    return np.mean(
        [[_extents(p).x0 + _extents(p).width / 2, _extents(p).y0 + _extents(p).height / 2] for p in patches], axis=0
    )


# ---------------------------------------------------------------------------------------------
# colours


def test_all_organs_drawn_with_a_value_colour(ax):
    values = {o: 10.0 ** (i % 9) for i, o in enumerate(BODY_MAP_ORGANS)}
    fig = plot_body_map(values, ax=ax, title="all", annotate={"brain": "2.3 mets", "other": "elsewhere"})
    assert isinstance(fig, Figure)
    patches = _by_gid(ax)
    for organ in DRAWN:
        assert patches.get(organ), organ
        for p in patches[organ]:
            assert p.get_facecolor() != to_rgba(ABSENT_COLOR)
            assert not p.get_hatch()
    texts = [t.get_text() for t in ax.texts]
    assert any(t.startswith("other sites") and "elsewhere" in t for t in texts)
    assert "2.3 mets" in texts
    assert len(fig.axes) == 2  # body map + colour bar


def test_colour_follows_value_order_and_equal_values_share_a_colour(ax):
    plot_body_map({"lung": 1e3, "liver": 1e6, "brain": 1e6, "kidney": 1e8}, ax=ax)
    lung, liver, brain, kidney = (_face(ax, o) for o in ("lung", "liver", "brain", "kidney"))
    assert liver == brain
    # Reds: the larger the value, the darker the fill
    assert _luminance(lung) > _luminance(liver) > _luminance(kidney)


def test_absent_organs_are_grey_and_hatched_zero_is_white(ax):
    plot_body_map({"lung": 5.0, "liver": 0.0}, ax=ax)
    assert _face(ax, "liver") == to_rgba(ZERO_COLOR)
    for organ in set(DRAWN) - {"lung", "liver"}:
        assert _face(ax, organ) == to_rgba(ABSENT_COLOR), organ
        assert all(p.get_hatch() for p in _by_gid(ax)[organ])
    # the smallest positive value is tinted, not white like zero
    assert _face(ax, "lung") != to_rgba(ZERO_COLOR)
    assert _luminance(_face(ax, "lung")) < 0.97


def test_log_and_linear_scales(ax):
    values = {"lung": 10.0, "liver": 100.0, "brain": 1000.0}
    plot_body_map(values, ax=ax, log=True)
    mid_log = _luminance(_face(ax, "liver"))
    lo_log, hi_log = _luminance(_face(ax, "lung")), _luminance(_face(ax, "brain"))
    # on a log scale 100 lies half way between 10 and 1000
    assert lo_log > mid_log > hi_log
    ax.clear()
    plot_body_map(values, ax=ax, log=False)
    mid_lin = _luminance(_face(ax, "liver"))
    # linear from 0 to 1000: 100 is near the bottom, so much lighter than on the log scale
    assert mid_lin > mid_log


def test_explicit_limits_clip(ax):
    plot_body_map({"lung": 1.0, "liver": 1e9}, ax=ax, vmin=10.0, vmax=1e6)
    at_floor, at_top = _face(ax, "lung"), _face(ax, "liver")
    ax.clear()
    plot_body_map({"lung": 10.0, "liver": 1e6}, ax=ax, vmin=10.0, vmax=1e6)
    assert _face(ax, "lung") == at_floor and _face(ax, "liver") == at_top


# ---------------------------------------------------------------------------------------------
# geometry


def test_every_drawn_organ_has_patches_inside_the_silhouette(ax):
    patches = organ_patches(ax)
    assert set(patches) == set(DRAWN)
    (silhouette,) = [p for p in ax.patches if p.get_gid() == "silhouette"]
    box = _extents(silhouette)
    tol = 1e-6  # the skin band follows the outline exactly
    for organ, ps in patches.items():
        assert ps, organ
        for p in ps:
            e = _extents(p)
            assert box.x0 - tol <= e.x0 and e.x1 <= box.x1 + tol, organ
            assert box.y0 - tol <= e.y0 and e.y1 <= box.y1 + tol, organ
    skin = _extents(patches["skin_soft_tissue"][0])
    assert np.allclose(skin.bounds, box.bounds, atol=1e-6)
    assert box.height > 1.5 * box.width  # a standing body


def test_anatomical_places(ax):
    patches = organ_patches(ax)
    c = {organ: _centre(ps) for organ, ps in patches.items()}
    # head to abdomen
    assert c["brain"][1] > c["lung"][1] > c["liver"][1] > c["kidney"][1]
    assert c["heart"][1] < c["brain"][1] and c["lung"][1] - 1.5 < c["heart"][1] < c["lung"][1] + 1.5
    # the liver lies on the patient's right = the viewer's left of the midline
    assert c["liver"][0] < 0.0
    # the heart leans to the patient's left, organs in pairs sit on both sides
    assert c["heart"][0] > 0.0
    for organ in ("lung", "kidney", "adrenal", "brain"):
        assert abs(c[organ][0]) < 0.3, organ
    # brain inside the head: above the shoulders, within the head's width
    brain = _extents(patches["brain"][0])
    assert brain.y0 > 17.0 and abs(brain.x0) < 1.2
    # lungs: two lobes, one each side
    xs = sorted(_centre([p])[0] for p in patches["lung"])
    assert len(xs) == 2 and xs[0] < 0 < xs[1]
    # adrenals above their kidneys
    for side in (-1, 1):
        adrenal = [p for p in patches["adrenal"] if np.sign(_centre([p])[0]) == side]
        kidney = [p for p in patches["kidney"] if np.sign(_centre([p])[0]) == side]
        assert _centre(adrenal)[1] > _centre(kidney)[1]
    # long bones span both legs down to the ankles and reach up the arms
    bones = [(_centre([p]), _extents(p)) for p in patches["bone_appendicular"]]
    legs = [(c, e) for c, e in bones if c[1] < 10.0 and abs(c[0]) < 2.3]
    for side in (-1, 1):
        leg = [e for c, e in legs if np.sign(c[0]) == side]
        assert min(e.y0 for e in leg) < 1.5 and max(e.y1 for e in leg) > 8.0
    assert max(abs(e.x1) for e in map(_extents, patches["bone_appendicular"])) > 3.0
    # axial bones along the midline from skull base to pelvis
    axial = list(map(_extents, patches["bone_axial"]))
    assert max(e.y1 for e in axial) > 17.8 and min(e.y0 for e in axial) < 10.0


# ---------------------------------------------------------------------------------------------
# input errors


def test_unknown_organ_is_named_with_the_allowed_ones():
    with pytest.raises(ParameterError, match="spleen") as err:
        plot_body_map({"spleen": 1.0})
    assert "lung" in str(err.value) and "leptomeninges" in str(err.value)
    with pytest.raises(ParameterError, match="pancreas"):
        plot_body_map({"lung": 1.0}, annotate={"pancreas": "x"})


@pytest.mark.parametrize("bad", [math.nan, math.inf, -1.0])
def test_non_finite_or_negative_values_are_refused(bad):
    with pytest.raises(ParameterError, match="liver") as err:
        plot_body_map({"lung": 1.0, "liver": bad})
    assert repr(bad) in str(err.value)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(vmin=0.0),
        dict(vmin=-1.0, log=False, vmax=-2.0),
        dict(vmin=10.0, vmax=1.0),
        dict(vmax=math.nan),
        dict(cmap="no-such-map"),
    ],
)
def test_bad_scale_options(kwargs):
    with pytest.raises(ParameterError):
        plot_body_map({"lung": 1.0}, **kwargs)
    plt.close("all")


# ---------------------------------------------------------------------------------------------
# output file


def test_png_is_written(tmp_path):
    fig = plot_body_map(
        {"lung": 3e8, "liver": 1.2e9, "brain": 0.0, "other": 5.0}, title="example", annotate={"liver": "11 mets"}
    )
    path = tmp_path / "bodymap.png"
    fig.savefig(path, dpi=60)
    plt.close(fig)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5_000
    img = matplotlib.image.imread(path)
    assert img.ndim == 3 and img.shape[0] > img.shape[1]  # portrait
    assert np.ptp(img[..., :3]) > 0.5  # not a blank canvas
