"""The body map as an interactive Plotly figure (SVG in the browser), drawn from the same
schematic as :mod:`metacascade.bodymap`.

The organ outlines are read once from :func:`metacascade.bodymap.organ_patches` (matplotlib
patches carrying ``gid=<organ>``) and turned into closed polygons; every organ becomes one
filled Plotly trace (several outlines separated by ``None``) whose hover text gives the
organ's values. Shading uses the same colour map and log scale as the static figure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import lru_cache

import numpy as np

__all__ = ["organ_outlines", "body_map_figure"]

_CIRCLE = np.exp(1j * np.linspace(0.0, 2.0 * math.pi, 49))


def _patch_polygon(patch) -> list[np.ndarray]:  # patch: matplotlib.patches.Patch
    """Closed outlines of one patch in data coordinates; a ring (outer + inner curve) becomes
    one keyhole polygon so that a single filled path leaves its hole empty."""
    from matplotlib.patches import Ellipse

    transform = patch.get_patch_transform()
    if isinstance(patch, Ellipse):  # Circle too: sample the unit circle finely (Bezier vertices are not points)
        return [transform.transform(np.column_stack([_CIRCLE.real, _CIRCLE.imag]))]
    polys = [np.asarray(p) for p in patch.get_path().to_polygons(transform) if len(p) >= 3]
    if len(polys) == 2:
        outer, inner = polys
        return [np.vstack([outer, outer[:1], inner, inner[:1], outer[:1]])]
    return polys


@lru_cache(maxsize=1)
def organ_outlines() -> tuple[tuple[str, float, tuple[np.ndarray, ...]], ...]:
    """``(organ, z-order, outlines)`` for the silhouette and every drawn organ, back to front."""
    import matplotlib.pyplot as plt

    from metacascade.bodymap import organ_patches

    fig, ax = plt.subplots()
    try:
        patches = organ_patches(ax)
        silhouette = [p for p in ax.patches if p.get_gid() == "silhouette"]
        rows = [("silhouette", silhouette[0].get_zorder(), tuple(_patch_polygon(silhouette[0])))]
        for organ, items in patches.items():
            for patch in items:
                rows.append((organ, patch.get_zorder(), tuple(_patch_polygon(patch))))
    finally:
        plt.close(fig)
    # one entry per (organ, z): organs drawn at two depths (axial bone) keep both layers
    merged: dict[tuple[str, float], list[np.ndarray]] = {}
    for organ, z, polys in rows:
        merged.setdefault((organ, z), []).extend(polys)
    ordered = sorted(merged.items(), key=lambda kv: kv[0][1])
    return tuple((organ, z, tuple(polys)) for (organ, z), polys in ordered)


def _xy(polys: tuple[np.ndarray, ...]) -> tuple[list[float | None], list[float | None]]:
    xs: list[float | None] = []
    ys: list[float | None] = []
    for p in polys:
        xs.extend([*np.round(p[:, 0], 3).tolist(), None])
        ys.extend([*np.round(p[:, 1], 3).tolist(), None])
    return xs, ys


def _colour(value: float | None, vmin: float, vmax: float) -> str:
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    from metacascade.bodymap import ABSENT_COLOR, CMAP_FLOOR, ZERO_COLOR

    if value is None or not math.isfinite(value):
        return ABSENT_COLOR
    if value <= 0.0 or value < vmin:  # none, or below the scale (negligible)
        return ZERO_COLOR
    lo, hi = math.log10(vmin), math.log10(max(vmax, vmin * 1.0001))
    frac = min(max((math.log10(value) - lo) / (hi - lo), 0.0), 1.0)
    return to_hex(colormaps["Reds"](CMAP_FLOOR + (1.0 - CMAP_FLOOR) * frac))


def body_map_figure(
    values: Mapping[str, float],
    hover: Mapping[str, str] | None = None,
    *,
    title: str = "",
    vmin: float | None = None,
    vmax: float | None = None,
    colorbar_label: str = "cells",
    primary: str | None = None,
    primary_label: str | None = None,
):  # -> plotly.graph_objects.Figure
    """The body map with every organ shaded by ``values[organ]`` (log scale, like the static map).

    Organs missing from ``values`` are grey (not modelled); a value of 0 is white. ``hover[organ]``
    is the organ's hover text (HTML line breaks allowed). ``vmin``/``vmax`` fix the colour scale
    (so frames of an animation compare); by default the smallest positive and the largest value.
    ``primary``: the primary tumour's site or cancer preset, marked with a star where
    :func:`metacascade.bodymap.primary_site` places it (as the static map does; a preset whose site
    is not drawn gets no mark), named in the legend and on hover by ``primary_label`` (by default
    "primary: breast"). The colour scale's trace stays the last one.
    """
    import plotly.graph_objects as go

    from metacascade.bodymap import EDGE_COLOR, PRIMARY_COLOR, PRIMARY_SITES, SILHOUETTE_COLOR, primary_site

    hover = hover or {}
    positive = [v for v in values.values() if v is not None and math.isfinite(v) and v > 0]
    top = vmax if vmax is not None else (max(positive) if positive else 1.0)
    bottom = vmin if vmin is not None else (min(positive) if positive else 0.1)
    bottom = min(bottom, top / 10.0) if bottom >= top else bottom
    fig = go.Figure()
    for organ, _z, polys in organ_outlines():
        xs, ys = _xy(polys)
        if organ == "silhouette":
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=ys,
                    fill="toself",
                    mode="lines",
                    fillcolor=SILHOUETTE_COLOR,
                    line={"width": 0},
                    hoverinfo="skip",
                    showlegend=False,
                    name="body",
                )
            )
            continue
        value = values.get(organ)
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                fill="toself",
                mode="lines",
                name=organ,
                showlegend=False,
                fillcolor=_colour(value, bottom, top),
                line={"color": EDGE_COLOR, "width": 0.6},
                hoveron="fills",
                hoverinfo="text",
                text=hover.get(organ, organ.replace("_", " ")),
                meta={"organ": organ, "value": value},
            )
        )
    site = primary_site(primary) if primary else None
    if site is not None:
        x, y = PRIMARY_SITES[site]
        text = primary_label or f"primary: {site}"
        fig.add_trace(
            go.Scatter(
                x=[x],
                y=[y],
                mode="markers",
                name=text,
                showlegend=True,
                hoverinfo="text",
                text=text,
                marker={"symbol": "star", "size": 17, "color": PRIMARY_COLOR, "line": {"color": "white", "width": 1}},
                meta={"primary": site},
            )
        )
    # the colour scale as an invisible marker trace with a colour bar
    fig.add_trace(
        go.Scatter(
            x=[None],
            y=[None],
            mode="markers",
            hoverinfo="skip",
            showlegend=False,
            marker={
                "colorscale": "Reds",
                "cmin": math.log10(bottom),
                "cmax": math.log10(top),
                "color": [0.0],
                "showscale": True,
                "colorbar": {"title": {"text": f"log10 {colorbar_label}"}, "thickness": 12, "len": 0.6},
            },
        )
    )
    fig.update_layout(
        title={"text": title, "x": 0.5},
        height=620,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        plot_bgcolor="white",
        paper_bgcolor="white",
        hovermode="closest",
        dragmode=False,
        showlegend=site is not None,
        legend={"x": 0.01, "y": 0.01, "xanchor": "left", "yanchor": "bottom", "bgcolor": "rgba(255,255,255,0)"},
        xaxis={"visible": False, "range": [-4.6, 4.6], "fixedrange": True},
        yaxis={"visible": False, "range": [-0.2, 20.4], "scaleanchor": "x", "fixedrange": True},
    )
    return fig
