"""Benchmark: the joint calibration of the presets and the population-averaged deterministic run.

Prints the wall time of `calibrate_preset` (maximum likelihood with the profile intervals of the
population parameters) for a few presets, one process each, and of `run_scenario` with its
population summary for every calibrated preset (targets: calibrating every preset under 10
minutes on 2 cores with `metacascade presets calibrate --workers 2`; a population-averaged run
under 2 s). Run ``python bench/presets.py [PRESET ...]``.
"""

from __future__ import annotations

import sys
import time

from metacascade.presets import get_preset, load_presets
from metacascade.scenario import parse_scenario
from metacascade.workflows.preset_calibration import calibrate_preset
from metacascade.workflows.run import run_scenario


def main(names: list[str]) -> None:
    for name in names or ["breast_er_positive", "colon"]:
        t0 = time.perf_counter()
        fit = calibrate_preset(get_preset(name))
        print(
            f"calibrate {name:20s} {time.perf_counter() - t0:7.1f} s  log-lik {fit.loglik:.3f}  "
            f"competent {fit.population.competent_fraction:.3f}  sd_log {fit.population.dissemination_sd_log:.3f}"
        )
    run_scenario(parse_scenario('[patient]\ncancer = "breast_er_positive"\n'))  # warm-up
    for name, p in sorted(load_presets().items()):
        if not p.calibration:
            continue
        sc = parse_scenario(f'[patient]\ncancer = "{name}"\nprimary_diameter_mm = 20\n')
        t0 = time.perf_counter()
        res = run_scenario(sc)
        dt = time.perf_counter() - t0
        pop = res.summary["population_at_diagnosis"]
        print(
            f"run {name:20s} {dt:6.2f} s   P(M1) {pop['p_detectable_distant_metastasis']:.4f}  "
            f"P(occult) {pop['p_occult_distant_colony']:.4f}  P(node+) {pop['p_regional_node_metastasis']:.4f}"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
