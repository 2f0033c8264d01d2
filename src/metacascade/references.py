"""The references of the model parts a scenario uses (``metacascade.citation`` is the public entry point)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from metacascade.scenario import Scenario

__all__ = ["citation", "ENGINE_REFERENCES", "unique_references"]

ENGINE_REFERENCES = {
    "deterministic": (
        "Iwata K, Kawasaki K, Shigesada N. A dynamical model for the growth and size distribution of multiple "
        "metastatic tumors. J Theor Biol 2000;203:177-186.",
        "Barbolosi D, Benabdallah A, Hubert F, Verga F. Mathematical and numerical analysis for a model of "
        "growing metastatic tumors. Math Biosci 2009;218:1-14.",
        "Linz P. Analytical and Numerical Methods for Volterra Equations. SIAM 1985 (trapezoidal rule, "
        "Richardson extrapolation).",
    ),
}


def _key(reference: str) -> str:
    """What identifies a reference: its text without a DOI or URL, case, spacing or final stop."""
    text = re.sub(r"\s*(doi:\s*\S+|https?://\S+)", "", reference, flags=re.IGNORECASE)
    return " ".join(text.lower().split()).rstrip(". ")


def unique_references(references: Iterable[str]) -> list[str]:
    """``references`` in order, each work once: two texts that differ only by a DOI or URL,
    spacing or case are the same work (the fuller text is kept, in the first one's place)."""
    kept: dict[str, str] = {}
    for r in references:
        r = str(r).strip()
        if not r:
            continue
        k = _key(r)
        if k not in kept or len(r) > len(kept[k]):
            kept[k] = r
    return list(kept.values())


def citation(scenario: Scenario) -> str:
    """A numbered reference list for ``scenario`` (preset sources, then the engine's), each
    work once (:func:`unique_references`)."""
    refs = unique_references([*scenario.references, *ENGINE_REFERENCES.get(scenario.engine.kind, ())])
    return "\n".join(f"[{i}] {r}" for i, r in enumerate(refs, 1))
