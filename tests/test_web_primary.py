"""The web app's body map marks the primary's organ with a star, as the static body map does
(metacascade.bodymap.primary_site and PRIMARY_SITES, the one cancer-to-site table)."""

from __future__ import annotations

import numpy as np

from metacascade.bodymap import PRIMARY_COLOR, PRIMARY_SITES, primary_site


def _view(cancer: str):
    from metacascade.web.views import RunView

    organs = ("lung", "liver", "bone_axial")
    times = np.array([0.0, 100.0])
    burden = np.array([[0.0, 10.0, 0.0], [1e3, 1e6, 1e2]])
    return RunView(
        name="r",
        kind="deterministic",
        times=times,
        organs=organs,
        count=burden / 1e3,
        burden=burden,
        primary=None,
        first_detectable=dict.fromkeys(organs),
        sizes=None,
        bands=(),
        cancer=cancer,
    )


def _stars(fig) -> list:
    return [tr for tr in fig.data if tr.marker is not None and tr.marker.symbol == "star"]


def test_the_web_body_map_marks_the_primary_with_a_star():
    from metacascade.web import views

    fig = views.body_frame(_view("breast_er_positive"), 1, "en")
    (star,) = _stars(fig)
    assert (star.x[0], star.y[0]) == PRIMARY_SITES["breast"] and star.meta == {"primary": "breast"}
    assert star.name == "primary tumour: breast" and star.showlegend and fig.layout.showlegend
    assert star.marker.color == PRIMARY_COLOR
    assert fig.data[-1].marker.showscale  # the colour scale's trace is still the last one
    it = views.body_frame(_view("colorectal"), 0, "it")
    (star,) = _stars(it)
    assert star.name == "tumore primario: colon" and (star.x[0], star.y[0]) == PRIMARY_SITES[primary_site("colorectal")]
    assert _stars(views.body_frame(_view("lung_nsclc"), 1, "it"))[0].name == "tumore primario: polmone"


def test_no_star_where_the_drawing_has_no_site_for_the_primary():
    from metacascade.web import views
    from metacascade.web.body import body_map_figure

    assert primary_site("no_such_cancer") is None
    fig = views.body_frame(_view("no_such_cancer"), 1, "en")
    assert not _stars(fig) and not fig.layout.showlegend
    assert _stars(body_map_figure({"lung": 1.0}, primary="prostate"))[0].name == "primary: prostate"


def test_every_primary_site_has_an_italian_name():
    from metacascade.web.i18n import _SITES_IT, site_label

    assert set(_SITES_IT) == set(PRIMARY_SITES)
    assert site_label("en", "breast") == "breast" and site_label("it", "breast") == "mammella"
