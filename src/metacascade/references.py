"""The references of the model parts a scenario uses (``metacascade.citation`` is the public entry point)."""

from __future__ import annotations

from metacascade.scenario import Scenario

__all__ = ["citation", "ENGINE_REFERENCES"]

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


def citation(scenario: Scenario) -> str:
    """A numbered reference list for ``scenario`` (preset sources, then the engine's)."""
    refs = list(dict.fromkeys([*scenario.references, *ENGINE_REFERENCES.get(scenario.engine.kind, ())]))
    return "\n".join(f"[{i}] {r}" for i, r in enumerate(refs, 1))
