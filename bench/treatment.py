"""Speed of the stochastic engine with and without a treatment plan (issue 5).

Prints patients per second for: the untreated kernel; the treated kernel with an empty plan
(organ failure on, the default of whole-body scenarios); the full plan of
scenario/treatment_example.toml. Run: python bench/treatment.py [n_patients]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import metacascade.scenario as scenario_pkg
from metacascade.scenario import parse_scenario
from metacascade.workflows.stochastic_run import run_stochastic

N = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
full = (Path(scenario_pkg.__file__).parent / "treatment_example.toml").read_text()
head, plan = full.split("[[treatment]]", 1)
cases = {
    "untreated kernel (organ failure off)": head.replace("organ_failure = true", "organ_failure = false").replace(
        "dormancy_probability = 0.3", "dormancy_probability = 0.0"
    ),
    "treated kernel, no plan (organ failure on)": head.replace(
        "dormancy_probability = 0.3", "dormancy_probability = 0.0"
    ),
    "full plan (surgery, chemo, RT, AI, dormancy)": full,
}
for name, text in cases.items():
    text = text.replace("n_patients = 2000", f"n_patients = {N}")
    sc = parse_scenario(text)
    run_stochastic(parse_scenario(text.replace(f"n_patients = {N}", "n_patients = 64")))  # compile
    t = time.perf_counter()
    run = run_stochastic(sc)
    dt = time.perf_counter() - t
    print(f"{name:48s} {N / dt:9.0f} patients/s  ({dt:.2f} s, {len(run.result.colony_log)} colonies)")
