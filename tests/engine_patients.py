"""Scenario pieces for tests of the engines and treatments that need a patient with metastases.

A single run follows a preset's median patient, and how many colonies that patient founds moves
with every recalibration (in a node-dissection refit of the breast presets, for one, the median
patient founds almost no distant colonies: most of the population's distant disease sits in the
upper tail of the founding multiplier). Tests of the engines' mechanics (agreement between
engines, treatments, figures, the web app) need a patient with colonies in most organs, whatever
the calibration says, so they set the shedding and the soils below in their ``[model]`` section.
The values are the ER+ breast preset's calibrated ones of December 2026 (alpha = 1, soils rounded
to two digits): a 20 mm primary followed for two years founds about 50 colonies, most distant.
"""

from __future__ import annotations

import tomllib

SPREADING_SOIL = (
    "soil = { adrenal = 2.2e-8, bone = 2.3e-10, brain = 6.5e-12, heart = 2.5e-12, kidney = 3.5e-12, "
    "liver = 2.5e-9, lung = 2.8e-11, lymph_distant = 3.7e-10, lymph_regional = 4.6e-9, muscle = 4.2e-18, "
    "peritoneum = 4.5e-9, pleura = 2.8e-10, skin_soft_tissue = 7.1e-10 }\n"
)
"""The ``soil`` key of a ``[model]`` section (organ -> colonisation efficiency)."""

SPREADING_BREAST_MODEL = "shedding_m = 3.2e-3\nshedding_alpha = 1.0\n" + SPREADING_SOIL
"""Keys of a ``[model]`` section (no header): shedding and soils of a breast patient who spreads."""

SPREADING_BREAST_MODEL_SECTION = tomllib.loads(SPREADING_BREAST_MODEL)
"""The same as a dict (the web form's ``model`` section)."""
