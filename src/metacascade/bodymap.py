"""A schematic front view of the human body with organs shaded by metastatic burden.

The drawing is a stylised anatomical map in data coordinates: the body stands on ``y = 0``
(feet) with the top of the head at ``y ~ 20`` and the midline at ``x = 0``. The patient faces
the viewer, so the patient's *right* side is on the viewer's *left* (``x < 0``), as in every
anatomical figure. Every organ of :data:`BODY_MAP_ORGANS` except ``"other"`` is one or more
matplotlib patches; ``"other"`` is listed in a small text box when it is given a value.

:func:`organ_patches` draws the neutral schematic and returns the patches per organ (for
tests and future animations, which recolour them frame by frame); :func:`plot_body_map`
colours the patches by value and adds a colour bar.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Colormap, ListedColormap, LogNorm, Normalize, to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Ellipse, Patch, PathPatch, Polygon
from matplotlib.path import Path

from metacascade.errors import ParameterError

__all__ = [
    "BODY_MAP_ORGANS",
    "ORGAN_NAMES",
    "PRIMARY_SITES",
    "organ_name",
    "primary_site",
    "organ_patches",
    "plot_body_map",
]

BODY_MAP_ORGANS: tuple[str, ...] = (
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
    "heart",
    "muscle",
    "gi_tract",
    "adipose",
    "other",
)

#: Organs in words, for labels (the schema's snake_case names are for files).
ORGAN_NAMES: dict[str, str] = {
    "bone_axial": "bone (axial)",
    "bone_appendicular": "bone (appendicular)",
    "lymph_regional": "lymph nodes (regional)",
    "lymph_distant": "lymph nodes (distant)",
    "adrenal": "adrenal glands",
    "kidney": "kidneys",
    "skin_soft_tissue": "skin and soft tissue",
    "muscle": "skeletal muscle",
    "gi_tract": "GI tract",
    "adipose": "adipose tissue",
    "other": "other sites",
}


def organ_name(organ: str) -> str:
    """``bone_appendicular`` -> "bone (appendicular)"; organs without an entry lose their underscores."""
    return ORGAN_NAMES.get(organ, organ.replace("_", " "))


#: Where the primary tumour sits on the drawing: site -> point (data coordinates; the patient's
#: right is x < 0). Marked with a star by ``plot_body_map(primary=...)``.
PRIMARY_SITES: dict[str, tuple[float, float]] = {
    "brain (cerebellum)": (0.35, 18.75),
    "head and neck": (0.0, 17.45),
    "oesophagus": (0.0, 15.6),
    "lung": (-1.2, 15.1),
    "breast": (-1.35, 14.55),
    "liver": (-1.1, 13.0),
    "stomach": (0.95, 13.05),
    "pancreas": (0.35, 12.35),
    "kidney": (-0.8, 11.4),
    "colon": (1.75, 11.1),
    "rectum": (0.0, 9.85),
    "ovary": (-0.95, 10.05),
    "uterus": (0.0, 10.05),
    "cervix": (0.0, 9.8),
    "bladder": (0.0, 9.55),
    "prostate": (0.0, 9.3),
    "skin": (-1.75, 5.0),
}
#: Cancer presets -> the site of their primary (a preset not listed gets no mark).
_CANCER_SITES: dict[str, str] = {
    "hcc_iwata2000": "liver",
    "breast_er_positive": "breast",
    "breast_er_negative": "breast",
    "breast_lobular": "breast",
    "lung_nsclc": "lung",
    "colorectal": "colon",
    "colon": "colon",
    "rectum": "rectum",
    "pancreas": "pancreas",
    "prostate": "prostate",
    "melanoma": "skin",
    "kidney": "kidney",
    "stomach": "stomach",
    "ovary": "ovary",
    "endometrium": "uterus",
    "esophagus": "oesophagus",
    "head_neck_scc": "head and neck",
    "urothelial": "bladder",
    "cervix": "cervix",
    "medulloblastoma": "brain (cerebellum)",
}


def primary_site(cancer: str) -> str | None:
    """The site of a cancer preset's primary (a site name of :data:`PRIMARY_SITES` is returned as
    it is), or None where the drawing has no place for it."""
    if cancer in PRIMARY_SITES:
        return cancer
    if cancer in _CANCER_SITES:
        return _CANCER_SITES[cancer]
    for prefix in ("breast", "lung", "colo", "hcc"):  # variants of a preset (breast_..., lung_...)
        if cancer.startswith(prefix):
            return {"breast": "breast", "lung": "lung", "colo": "colon", "hcc": "liver"}[prefix]
    return None


# Colours of the neutral drawing.
SILHOUETTE_COLOR = "#ececec"
ABSENT_COLOR = "#d4d4d4"
ABSENT_HATCH = "////"
ZERO_COLOR = "#ffffff"
EDGE_COLOR = "#4d4d4d"
_ABSENT_EDGE = "#9a9a9a"
#: The primary's star (this figure and the web app's body map).
PRIMARY_COLOR = "#1f4fbf"

# Drawing order, back to front (retroperitoneal organs are lifted above the liver so that the
# adrenal caps stay visible; thin bones lie on top of the soft organs they cross).
_Z = {
    "silhouette": 1.0,
    "adipose": 1.5,
    "muscle": 2.0,
    "peritoneum": 2.5,
    "pleura": 2.5,
    "bone_axial_deep": 3.0,
    "bone_appendicular": 3.2,
    "leptomeninges": 3.4,
    "liver": 4.0,
    "kidney": 4.2,
    "adrenal": 4.3,
    "gi_tract": 4.5,
    "lung": 4.6,
    "heart": 5.0,
    "brain": 5.0,
    "bone_axial": 5.5,
    "lymph": 6.0,
    "skin_soft_tissue": 7.0,
}
# The lowest part of the colour map is skipped so that the smallest positive value stays
# distinguishable from zero (drawn white).
CMAP_FLOOR = 0.12
_THIN_EDGE = 0.3
_EDGE = 0.6

# ---------------------------------------------------------------------------------------------
# geometry helpers: pure functions of point lists


def _catmull_rom(points: Sequence[tuple[float, float]], *, closed: bool, n: int = 10) -> np.ndarray:
    """Dense polyline through ``points`` (uniform Catmull-Rom spline, ``n`` samples a segment)."""
    p = np.asarray(points, dtype=float)
    if closed:
        ext = np.vstack([p[-1], p, p[0], p[1]])
        n_seg = len(p)
    else:
        ext = np.vstack([2 * p[0] - p[1], p, 2 * p[-1] - p[-2]])
        n_seg = len(p) - 1
    t = np.linspace(0.0, 1.0, n, endpoint=False)[:, None]
    out = []
    for i in range(n_seg):
        p0, p1, p2, p3 = ext[i], ext[i + 1], ext[i + 2], ext[i + 3]
        out.append(
            0.5
            * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2 + (-p0 + 3 * p1 - 3 * p2 + p3) * t**3)
        )
    if not closed:
        out.append(p[-1][None, :])
    return np.vstack(out)


def _signed_area(poly: np.ndarray) -> float:
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def _normals(curve: np.ndarray, *, closed: bool) -> np.ndarray:
    """Unit left normals of a dense polyline."""
    tangent = np.roll(curve, -1, axis=0) - np.roll(curve, 1, axis=0) if closed else np.gradient(curve, axis=0)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    return np.column_stack([-tangent[:, 1], tangent[:, 0]])


def _ccw(poly: np.ndarray) -> np.ndarray:
    return poly if _signed_area(poly) > 0 else poly[::-1]


def _offset_closed(poly: np.ndarray, distance: float) -> np.ndarray:
    """Closed curve moved ``distance`` outwards (negative: inwards)."""
    poly = _ccw(poly)
    return poly - distance * _normals(poly, closed=True)


def _ring_path(outer: np.ndarray, inner: np.ndarray) -> Path:
    """Compound path: the area between two closed curves (opposite windings make the hole)."""
    outer, inner = _ccw(outer), _ccw(inner)[::-1]
    verts = np.vstack([outer, outer[:1], inner, inner[:1]])
    codes = np.full(len(verts), Path.LINETO, dtype=Path.code_type)
    codes[0] = codes[len(outer) + 1] = Path.MOVETO
    codes[len(outer)] = codes[-1] = Path.CLOSEPOLY
    return Path(verts, codes)


def _band(points: Sequence[tuple[float, float]], width: float | Sequence[float], *, n: int = 10) -> np.ndarray:
    """Closed outline of a smooth stroke of (possibly varying) ``width`` along ``points``."""
    centre = _catmull_rom(points, closed=False, n=n)
    w = np.broadcast_to(np.asarray(width, dtype=float), (len(points),))
    # widths interpolated along the dense curve (one knot every ``n`` samples)
    knots = np.arange(len(points)) * n
    half = 0.5 * np.interp(np.arange(len(centre)), knots, w)[:, None]
    nrm = _normals(centre, closed=False)
    left, right = centre + half * nrm, centre - half * nrm
    cap_n = 6  # round caps

    def cap(point: np.ndarray, normal: np.ndarray, r: float) -> np.ndarray:
        # half circle from ``point + r*normal`` to ``point - r*normal``, bulging to the right of
        # ``normal`` (forward at the end of the stroke, backward at its start)
        tangent = np.array([normal[1], -normal[0]])
        ang = np.linspace(0.0, math.pi, cap_n + 2)[1:-1]
        return point + r * (np.outer(np.cos(ang), normal) + np.outer(np.sin(ang), tangent))

    end_cap = cap(centre[-1], nrm[-1], float(half[-1, 0]))
    start_cap = cap(centre[0], -nrm[0], float(half[0, 0]))
    return np.vstack([left, end_cap, right[::-1], start_cap])


def _mirror(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    return [(-x, y) for x, y in points]


def _smooth(points: Sequence[tuple[float, float]], n: int = 10) -> np.ndarray:
    return _catmull_rom(points, closed=True, n=n)


# ---------------------------------------------------------------------------------------------
# the schematic (patient's left half where symmetric: x > 0; mirrored for the right)

# Outline of the body, patient's left half, from the top of the head down to the crotch.
_HALF_OUTLINE: tuple[tuple[float, float], ...] = (
    (0.0, 20.05),
    (0.62, 19.9),
    (1.02, 19.42),
    (1.16, 18.72),
    (1.03, 18.05),
    (0.72, 17.62),
    (0.52, 17.3),
    (0.52, 16.9),
    (1.2, 16.62),
    (2.15, 16.38),
    (2.68, 15.95),  # neck, shoulder
    (2.92, 15.1),
    (3.07, 14.1),
    (3.22, 13.1),
    (3.38, 12.2),
    (3.58, 11.1),
    (3.8, 10.05),  # arm, out
    (4.02, 9.62),
    (4.08, 9.05),
    (3.9, 8.62),
    (3.64, 8.7),
    (3.5, 9.3),
    (3.44, 9.92),  # hand
    (3.16, 11.0),
    (2.86, 12.2),
    (2.62, 13.35),
    (2.43, 14.3),
    (2.28, 14.82),  # arm, inner
    (2.14, 14.25),
    (2.0, 13.25),
    (1.9, 12.4),
    (2.03, 11.5),
    (2.25, 10.7),
    (2.32, 9.9),  # trunk
    (2.22, 8.8),
    (2.06, 7.5),
    (1.88, 5.7),
    (1.8, 5.0),
    (1.67, 3.6),
    (1.46, 1.35),  # leg, out
    (1.56, 0.72),
    (1.8, 0.38),
    (1.76, 0.06),
    (0.64, 0.06),
    (0.52, 0.42),  # foot
    (0.56, 1.35),
    (0.6, 3.5),
    (0.52, 5.1),
    (0.45, 6.0),
    (0.34, 7.5),
    (0.18, 8.9),
    (0.0, 9.42),
)


def _body_outline() -> np.ndarray:
    half = list(_HALF_OUTLINE)
    full = half + [(-x, y) for x, y in reversed(half[1:-1])]
    return _smooth(full, n=8)


_SKIN_WIDTH = 0.11

# Lungs: patient's right lung (x < 0); the left one is its mirror with a cardiac notch.
_RIGHT_LUNG = (
    (-0.72, 16.3),
    (-1.22, 16.0),
    (-1.62, 15.3),
    (-1.84, 14.4),
    (-1.86, 13.75),
    (-1.55, 13.5),
    (-1.0, 13.62),
    (-0.5, 13.82),
    (-0.3, 14.4),
    (-0.27, 15.2),
    (-0.4, 15.9),
)
_LEFT_LUNG = (
    (0.72, 16.3),
    (1.22, 16.0),
    (1.62, 15.3),
    (1.84, 14.4),
    (1.84, 13.72),
    (1.55, 13.5),
    (1.2, 13.55),
    (0.95, 13.85),
    (0.8, 14.3),
    (0.42, 14.75),
    (0.28, 15.3),
    (0.4, 15.9),
)
_PLEURA_GAP = 0.14
_HEART = dict(xy=(0.3, 14.18), width=1.35, height=1.02, angle=-38.0)

_LIVER = (
    (-1.78, 13.38),
    (-1.1, 13.52),
    (-0.3, 13.48),
    (0.4, 13.3),
    (0.72, 13.12),
    (0.25, 12.95),
    (-0.35, 12.78),
    (-0.95, 12.58),
    (-1.5, 12.52),
    (-1.8, 12.85),
)
_STOMACH = dict(
    points=((1.05, 13.3), (1.42, 13.05), (1.38, 12.72), (1.0, 12.52), (0.55, 12.57), (0.25, 12.74)),
    width=(0.48, 0.55, 0.5, 0.42, 0.3, 0.2),
)
# colon frame (caecum, ascending, transverse, descending, sigmoid) and small bowel loops
_COLON = dict(
    points=(
        (-1.38, 10.5),
        (-1.48, 11.3),
        (-1.42, 12.12),
        (-0.9, 12.3),
        (0.0, 12.22),
        (0.9, 12.3),
        (1.45, 12.17),
        (1.52, 11.3),
        (1.42, 10.5),
        (0.95, 10.15),
        (0.5, 10.3),
    ),
    width=0.3,
)
_SMALL_BOWEL = dict(
    points=(
        (-1.0, 10.58),
        (-0.55, 10.3),
        (-0.1, 10.52),
        (0.3, 10.27),
        (0.75, 10.55),
        (0.6, 10.88),
        (0.12, 10.74),
        (-0.35, 10.95),
        (-0.82, 10.88),
    ),
    width=0.19,
)

_RIGHT_KIDNEY = dict(xy=(-0.78, 11.38), width=0.48, height=0.86, angle=-12.0)
_KIDNEY_DY_LEFT = 0.12
_PERITONEUM = (
    (-1.72, 13.2),
    (-1.0, 13.35),
    (0.0, 13.22),
    (1.0, 13.35),
    (1.72, 13.2),
    (1.78, 12.2),
    (1.75, 11.0),
    (1.45, 10.2),
    (0.8, 9.88),
    (0.0, 9.82),
    (-0.8, 9.88),
    (-1.45, 10.2),
    (-1.75, 11.0),
    (-1.78, 12.2),
)

_BRAIN = dict(xy=(0.0, 19.02), width=1.62, height=1.42)
_MENINGES_GAP = 0.12
_CORD_BOTTOM = 10.9
# Vertebral levels: (count, top y, bottom y, half width, gap between bodies)
_SPINE = ((7, 17.85, 16.7, 0.18, 0.07), (12, 16.7, 12.7, 0.25, 0.1), (5, 12.7, 10.8, 0.3, 0.12))


def _vertebrae() -> list[np.ndarray]:
    """Vertebral bodies C1 to L5: boxes with chamfered corners along the midline."""
    bodies = []
    for count, y_top, y_bottom, half_w, gap in _SPINE:
        h = (y_top - y_bottom) / count
        r = 0.25 * half_w
        for i in range(count):
            top, bottom = y_top - i * h - 0.5 * gap, y_top - (i + 1) * h + 0.5 * gap
            bodies.append(
                np.array(
                    [
                        (-half_w + r, top),
                        (half_w - r, top),
                        (half_w, top - r),
                        (half_w, bottom + r),
                        (half_w - r, bottom),
                        (-half_w + r, bottom),
                        (-half_w, bottom + r),
                        (-half_w, top - r),
                    ]
                )
            )
    return bodies


_SACRUM = ((-0.42, 10.78), (0.42, 10.78), (0.3, 10.3), (0.0, 9.92), (-0.3, 10.3))
_HEMIPELVIS = (  # patient's left
    (0.45, 10.7),
    (0.72, 10.95),
    (1.25, 11.08),
    (1.78, 10.92),
    (1.86, 10.58),
    (1.62, 10.22),
    (1.55, 9.88),
    (1.22, 9.62),
    (0.82, 9.55),
    (0.12, 9.7),
    (0.1, 9.95),
    (0.55, 10.05),
    (0.6, 10.35),
    (0.36, 10.4),
)
_RIBS_Y = (16.12, 15.66, 15.2, 14.74, 14.28, 13.82)
_SKULL_BASE = ((-0.82, 18.05), (-0.4, 17.92), (0.0, 17.88), (0.4, 17.92), (0.82, 18.05))

# Long bones (patient's left; mirrored): centre lines and widths.
_HUMERUS = (((2.55, 15.78), (2.74, 14.2), (2.98, 12.35)), (0.24, 0.18, 0.24))
_FOREARM = (((2.92, 12.22), (3.22, 11.05), (3.55, 9.98)), (0.1, 0.09, 0.1))
_FOREARM_2 = (((3.12, 12.25), (3.42, 11.1), (3.72, 10.05)), (0.09, 0.08, 0.09))
_FEMUR = (((1.32, 9.88), (1.28, 7.6), (1.15, 5.32)), (0.3, 0.24, 0.32))
_FEMORAL_NECK = (((1.32, 9.88), (1.12, 10.02)), (0.22, 0.22))
_TIBIA = (((1.08, 5.08), (1.02, 3.0), (0.95, 1.2)), (0.26, 0.2, 0.24))
_FIBULA = (((1.48, 4.98), (1.42, 3.0), (1.3, 1.2)), (0.1, 0.08, 0.1))
_CLAVICLE = (((0.18, 16.48), (0.9, 16.58), (1.6, 16.48), (2.3, 16.28)), 0.12)

# Muscles (patient's left; mirrored)
_THIGH = ((0.55, 9.0), (1.4, 9.35), (2.02, 8.75), (1.92, 7.0), (1.62, 5.75), (1.1, 5.65), (0.6, 6.3), (0.45, 7.5))
_CALF = dict(xy=(1.16, 3.55), width=0.86, height=2.35, angle=2.0)
_UPPER_ARM = dict(xy=(2.72, 13.95), width=0.42, height=2.1, angle=9.0)
_FOREARM_MUSCLE = dict(xy=(3.27, 11.1), width=0.34, height=1.55, angle=16.0)

_FLANK_FAT = (
    (1.62, 13.1),
    (1.78, 12.4),
    (1.7, 11.7),
    (1.88, 11.0),
    (2.1, 10.75),
    (2.04, 11.5),
    (1.9, 12.4),
    (1.98, 13.1),
)

_NODES_REGIONAL = ((0.3, 17.12), (0.33, 16.86), (2.05, 15.38), (2.15, 15.12), (1.98, 15.02))
_NODES_DISTANT = ((0.17, 15.72), (0.2, 15.42), (0.32, 12.15), (0.32, 11.75), (0.3, 11.35))
_NODE_R = 0.085

# Annotation anchors: organ -> (point on the organ, text position); left column (x < 0) is
# right-aligned, right column left-aligned.
_LABEL_X = 4.4
_ANNOTATION_SPOTS: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "brain": ((-0.45, 19.3), (-_LABEL_X, 19.6)),
    "lymph_regional": ((-2.1, 15.2), (-_LABEL_X, 17.0)),
    "lung": ((-1.2, 15.1), (-_LABEL_X, 15.9)),
    "pleura": ((-1.95, 14.1), (-_LABEL_X, 14.6)),
    "liver": ((-1.1, 13.0), (-_LABEL_X, 13.3)),
    "kidney": ((-0.8, 11.4), (-_LABEL_X, 12.0)),
    "muscle": ((-1.5, 7.5), (-_LABEL_X, 7.4)),
    "bone_appendicular": ((-1.25, 6.5), (-_LABEL_X, 6.2)),
    "skin_soft_tissue": ((-1.72, 3.5), (-_LABEL_X, 3.5)),
    "leptomeninges": ((0.86, 18.8), (_LABEL_X, 19.2)),
    "lymph_distant": ((0.2, 15.6), (_LABEL_X, 17.6)),
    "heart": ((0.55, 14.0), (_LABEL_X, 16.4)),
    "adrenal": ((0.74, 12.22), (_LABEL_X, 13.2)),
    "gi_tract": ((1.2, 12.7), (_LABEL_X, 14.0)),
    "peritoneum": ((1.76, 11.6), (_LABEL_X, 12.4)),
    "adipose": ((1.95, 11.2), (_LABEL_X, 11.5)),
    "bone_axial": ((1.3, 10.9), (_LABEL_X, 10.8)),
}

_XLIM = (-6.3, 6.3)
_YLIM = (-0.3, 20.4)


def _poly(verts: np.ndarray, **kw) -> Polygon:
    return Polygon(np.asarray(verts), closed=True, **kw)


def organ_patches(ax: Axes) -> dict[str, list[Patch]]:
    """Draw the neutral body schematic on ``ax`` and return its patches per organ.

    The silhouette (``gid="silhouette"``) is filled light grey; every organ patch is drawn
    light grey with a thin outline and carries ``gid=<organ name>``. The axes get equal aspect,
    fixed limits (the body spans about ``x`` in [-4.1, 4.1], ``y`` in [0, 20.1]) and no frame.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Axes to draw on.

    Returns
    -------
    dict[str, list[matplotlib.patches.Patch]]
        One entry for every organ of :data:`BODY_MAP_ORGANS` except ``"other"`` (not drawn).
    """
    patches: dict[str, list[Patch]] = {o: [] for o in BODY_MAP_ORGANS if o != "other"}

    def add(organ: str, patch: Patch, *, z: str | None = None, thin: bool = False) -> None:
        patch.set_gid(organ)
        patch.set_zorder(_Z[z or organ])
        patch.set_facecolor(ABSENT_COLOR)
        patch.set_edgecolor(EDGE_COLOR)
        patch.set_linewidth(_THIN_EDGE if thin else _EDGE)
        patch.set_joinstyle("round")
        ax.add_patch(patch)
        patches[organ].append(patch)

    def both(points: Sequence[tuple[float, float]]) -> list[Sequence[tuple[float, float]]]:
        return [points, _mirror(points)]

    outline = _body_outline()
    silhouette = _poly(outline, facecolor=SILHOUETTE_COLOR, edgecolor="none", zorder=_Z["silhouette"])
    silhouette.set_gid("silhouette")
    ax.add_patch(silhouette)

    # skin and soft tissue: a band just inside the outline
    add("skin_soft_tissue", PathPatch(_ring_path(outline, _offset_closed(outline, -_SKIN_WIDTH))), thin=True)

    # adipose: flank fat pads
    for pts in both(_FLANK_FAT):
        add("adipose", _poly(_smooth(pts)), thin=True)

    # muscle: thighs, calves, upper arms, forearms
    for pts in both(_THIGH):
        add("muscle", _poly(_smooth(pts)), thin=True)
    for spec in (_CALF, _UPPER_ARM, _FOREARM_MUSCLE):
        for sign in (1.0, -1.0):
            x, y = spec["xy"]
            add(
                "muscle",
                Ellipse((sign * x, y), spec["width"], spec["height"], angle=sign * spec.get("angle", 0.0)),
                thin=True,
            )

    # brain and leptomeninges (a rim around the brain and the spinal theca)
    bx, by = _BRAIN["xy"]
    bw, bh = _BRAIN["width"], _BRAIN["height"]
    g = 2 * _MENINGES_GAP
    add("leptomeninges", Ellipse((bx, by), bw + g, bh + g), thin=True)
    add(
        "leptomeninges",
        _poly(_band(((0.0, by - 0.5 * bh - 0.05), (0.0, 17.4), (0.0, 14.0), (0.0, _CORD_BOTTOM)), 0.1)),
        thin=True,
    )
    add("brain", Ellipse((bx, by), bw, bh))

    # axial skeleton: skull base, vertebrae, sacrum, pelvis (deep); ribs and sternum (front)
    add("bone_axial", _poly(_band(_SKULL_BASE, 0.13)), z="bone_axial_deep", thin=True)
    for body in _vertebrae():
        add("bone_axial", _poly(body), z="bone_axial_deep", thin=True)
    add("bone_axial", _poly(_smooth(_SACRUM, n=6)), z="bone_axial_deep", thin=True)
    for pts in both(_HEMIPELVIS):
        add("bone_axial", _poly(_smooth(pts)), z="bone_axial_deep", thin=True)
    for y0 in _RIBS_Y:
        rib = ((0.14, y0), (0.8, y0 + 0.12), (1.45, y0 + 0.02), (1.82, y0 - 0.35))
        for pts in both(rib):
            add("bone_axial", _poly(_band(pts, 0.07)), thin=True)
    add("bone_axial", _poly(_band(((0.0, 16.4), (0.0, 15.2), (0.0, 13.95)), (0.34, 0.26, 0.16))), thin=True)

    # appendicular skeleton: clavicles and long bones of arms and legs
    for centre, width in (_CLAVICLE, _HUMERUS, _FOREARM, _FOREARM_2, _FEMUR, _FEMORAL_NECK, _TIBIA, _FIBULA):
        for pts in both(centre):
            add("bone_appendicular", _poly(_band(pts, width)), thin=True)

    # thorax
    for pts in (_RIGHT_LUNG, _LEFT_LUNG):
        lung = _smooth(pts)
        add("pleura", PathPatch(_ring_path(_offset_closed(lung, _PLEURA_GAP), lung)), thin=True)
        add("lung", _poly(lung))
    add("heart", Ellipse(**_HEART))

    # abdomen
    add(
        "peritoneum",
        PathPatch(_ring_path(_smooth(_PERITONEUM), _offset_closed(_smooth(_PERITONEUM), -0.09))),
        thin=True,
    )
    add("liver", _poly(_smooth(_LIVER)))
    kx, ky = _RIGHT_KIDNEY["xy"]
    kw, kh, ka = _RIGHT_KIDNEY["width"], _RIGHT_KIDNEY["height"], _RIGHT_KIDNEY["angle"]
    for sign, dy in ((-1.0, 0.0), (1.0, _KIDNEY_DY_LEFT)):
        cx, cy = sign * abs(kx), ky + dy
        add("kidney", Ellipse((cx, cy), kw, kh, angle=-sign * ka))
        top = cy + 0.5 * kh
        # a small cap on the upper, medial pole (sign: +1 patient's left, -1 right)
        cap = (
            (cx - 0.26 * sign, top - 0.16),
            (cx - 0.02 * sign, top + 0.02),
            (cx + 0.16 * sign, top - 0.02),
            (cx - 0.08 * sign, top + 0.2),
        )
        add("adrenal", _poly(_smooth(cap, n=6)), thin=True)
    add("gi_tract", _poly(_band(_COLON["points"], _COLON["width"])))
    add("gi_tract", _poly(_band(_SMALL_BOWEL["points"], _SMALL_BOWEL["width"], n=8)))
    add("gi_tract", _poly(_band(_STOMACH["points"], _STOMACH["width"])))

    # lymph nodes
    for organ, nodes in (("lymph_regional", _NODES_REGIONAL), ("lymph_distant", _NODES_DISTANT)):
        for x, y in nodes:
            for sign in (1.0, -1.0):
                add(organ, Circle((sign * x, y), _NODE_R), z="lymph", thin=True)

    ax.set_xlim(*_XLIM)
    ax.set_ylim(*_YLIM)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return patches


# ---------------------------------------------------------------------------------------------
# colouring


def _check_values(values: Mapping[str, float]) -> dict[str, float]:
    allowed = set(BODY_MAP_ORGANS)
    out: dict[str, float] = {}
    for organ, value in values.items():
        if organ not in allowed:
            raise ParameterError(f"values: unknown organ {organ!r}; allowed organs are {', '.join(BODY_MAP_ORGANS)}")
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise ParameterError(f"values[{organ!r}] = {value!r} is not a number; give a finite burden >= 0") from None
        if not math.isfinite(v) or v < 0:
            raise ParameterError(f"values[{organ!r}] = {value!r}; give a finite burden >= 0")
        out[organ] = v
    return out


def _make_norm(vals: list[float], *, log: bool, vmin: float | None, vmax: float | None) -> Normalize:
    for name, bound in (("vmin", vmin), ("vmax", vmax)):
        if bound is not None and not math.isfinite(bound):
            raise ParameterError(f"{name} = {bound!r}; give a finite number or None")
    positive = [v for v in vals if v > 0]
    if log:
        for name, bound in (("vmin", vmin), ("vmax", vmax)):
            if bound is not None and bound <= 0:
                raise ParameterError(f"{name} = {bound!r}; a log colour scale needs {name} > 0 (or pass log=False)")
        lo = vmin if vmin is not None else (min(positive) if positive else 1.0)
        hi = vmax if vmax is not None else (max(positive) if positive else 10.0)
        if vmin is None and vmax is None and lo == hi:
            lo, hi = lo / 10.0, hi * 10.0
        elif vmin is None and lo >= hi:
            lo = hi / 10.0
        elif vmax is None and hi <= lo:
            hi = lo * 10.0
    else:
        lo = vmin if vmin is not None else 0.0
        hi = vmax if vmax is not None else (max(vals) if vals else 1.0)
        if vmax is None and hi <= lo:
            hi = lo + 1.0
        elif vmin is None and lo >= hi:
            lo = hi - 1.0
    if not lo < hi:
        raise ParameterError(f"vmin = {lo!r}, vmax = {hi!r}; vmin must be smaller than vmax")
    return LogNorm(lo, hi, clip=True) if log else Normalize(lo, hi, clip=True)


def _colormap(name: str) -> Colormap:
    """``name`` without its lowest :data:`CMAP_FLOOR` part (kept apart from zero = white)."""
    try:
        base = colormaps[name]
    except KeyError:
        raise ParameterError(f"cmap = {name!r} is not a matplotlib colour map; try 'Reds'") from None
    return ListedColormap(base(np.linspace(CMAP_FLOOR, 1.0, 256)), name=f"{base.name}_floored")


def _luminance(rgb: Sequence[float]) -> float:
    r, g, b = rgb[:3]
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _fit_texts(ax: Axes, margin: float = 0.15) -> None:
    """Widen the x limits (symmetrically: the body stays centred) until every annotation's text
    lies inside the axes; the drawing shrinks to make room instead of a label running off the
    figure (annotations are drawn unclipped, and the layout does not make room for them)."""
    fig = ax.figure
    for _ in range(4):
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        to_data = ax.transData.inverted()
        lo, hi = ax.get_xlim()
        need = 0.0
        for text in ax.texts:
            if text.get_gid() == "other":
                continue
            box = text.get_window_extent(renderer)
            (x0, _), (x1, _) = to_data.transform([(box.x0, box.y0), (box.x1, box.y1)])
            need = max(need, -x0 + margin if x0 < lo + margin else 0.0, x1 + margin if x1 > hi - margin else 0.0)
        if need <= max(-lo, hi):
            return
        ax.set_xlim(-need, need)


def plot_body_map(
    values: Mapping[str, float],
    *,
    ax: Axes | None = None,
    title: str | None = None,
    label: str = "metastatic burden (cells)",
    log: bool = True,
    vmin: float | None = None,
    vmax: float | None = None,
    cmap: str = "Reds",
    annotate: Mapping[str, str] | None = None,
    primary: str | None = None,
) -> Figure:
    """Body map with every organ shaded by its value (e.g. metastatic burden in cells).

    Parameters
    ----------
    values : Mapping[str, float]
        Finite values >= 0 keyed by organ names of :data:`BODY_MAP_ORGANS`. Organs left out
        are drawn light grey and hatched ("not given"); a value of 0 is drawn white with its
        outline; ``"other"`` is not drawn but listed in a text box.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; by default a new figure of size (6, 9).
    title : str, optional
        Axes title.
    label : str
        Colour-bar label.
    log : bool
        Logarithmic colour scale (default); values below ``vmin`` take the lowest colour.
    vmin, vmax : float, optional
        Colour-scale limits; by default the smallest positive and the largest value (log) or
        0 and the largest value (linear).
    cmap : str
        Name of a matplotlib colour map; its lowest 12 % (:data:`CMAP_FLOOR`) is left out so
        that the smallest positive value is visibly tinted, unlike zero (white).
    annotate : Mapping[str, str], optional
        Text per organ (e.g. ``{"brain": "2.3 mets"}``), drawn beside the body with a leader
        line to the organ (``"other"``: appended to its text box). The axes are widened so that
        every label lies inside them (none is cut at the figure's edge).
    primary : str, optional
        The primary tumour's site (a name of :data:`PRIMARY_SITES`) or cancer preset: marked with
        a star and named in the legend; a preset whose site is not drawn gets no mark.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    metacascade.errors.ParameterError
        Unknown organ names, NaN/inf or negative values, bad colour-scale limits or an unknown
        colour map.
    """
    vals = _check_values(values)
    notes = dict(annotate or {})
    for organ in notes:
        if organ not in BODY_MAP_ORGANS:
            raise ParameterError(f"annotate: unknown organ {organ!r}; allowed organs are {', '.join(BODY_MAP_ORGANS)}")
    colormap = _colormap(cmap)
    norm = _make_norm(list(vals.values()), log=log, vmin=vmin, vmax=vmax)

    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 9), constrained_layout=True)
    else:
        fig = ax.figure
    by_organ = organ_patches(ax)

    for organ, patches in by_organ.items():
        for patch in patches:
            if organ not in vals:
                patch.set_facecolor(ABSENT_COLOR)
                patch.set_hatch(ABSENT_HATCH)
                patch.set_edgecolor(_ABSENT_EDGE)
            elif vals[organ] <= 0:
                patch.set_facecolor(ZERO_COLOR)
            else:
                patch.set_facecolor(colormap(norm(vals[organ])))

    # "other" sites: a text box coloured like its value
    if "other" in vals:
        v = vals["other"]
        face = ZERO_COLOR if v <= 0 else colormap(norm(v))
        text = f"other sites: {v:.3g}" + (f"\n{notes['other']}" if "other" in notes else "")
        ax.text(
            0.99,
            0.01,
            text,
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize=8,
            color="white" if _luminance(to_rgb(face)) < 0.45 else "black",
            bbox=dict(boxstyle="round,pad=0.35", facecolor=face, edgecolor=EDGE_COLOR, lw=0.6),
            gid="other",
        )

    for organ, text in notes.items():
        if organ == "other":
            continue
        xy, xytext = _ANNOTATION_SPOTS[organ]
        ax.annotate(
            text,
            xy=xy,
            xytext=xytext,
            fontsize=7.5,
            va="center",
            ha="right" if xytext[0] < 0 else "left",
            zorder=10,
            arrowprops=dict(arrowstyle="-", color="#333333", lw=0.6, shrinkA=2, shrinkB=0),
            annotation_clip=False,
        )

    handles = []
    site = primary_site(primary) if primary else None
    if site is not None:
        x, y = PRIMARY_SITES[site]
        (star,) = ax.plot(
            [x],
            [y],
            marker="*",
            ms=15,
            color=PRIMARY_COLOR,
            mec="white",
            mew=1.0,
            ls="none",
            zorder=11,
            gid="primary",
            label=f"primary: {site}",
        )
        handles.append(star)
    if any(o not in vals for o in by_organ):
        handles.append(Patch(facecolor=ABSENT_COLOR, edgecolor=_ABSENT_EDGE, hatch=ABSENT_HATCH, label="no value"))
    if any(v <= 0 for o, v in vals.items() if o != "other"):
        handles.append(Patch(facecolor=ZERO_COLOR, edgecolor=EDGE_COLOR, label="zero"))
    if handles:
        ax.legend(handles=handles, loc="lower left", fontsize=8, frameon=False)
    if notes:
        _fit_texts(ax)

    positive = [v for v in vals.values() if v > 0]
    below = any(v < norm.vmin for v in positive)
    above = any(v > norm.vmax for v in positive)
    extend = {(False, False): "neither", (True, False): "min", (False, True): "max"}.get((below, above), "both")
    sm = ScalarMappable(norm=norm, cmap=colormap)
    fig.colorbar(sm, ax=ax, orientation="horizontal", fraction=0.035, pad=0.01, shrink=0.8, label=label, extend=extend)
    if title:
        ax.set_title(title)
    return fig
