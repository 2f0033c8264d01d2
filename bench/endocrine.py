"""Endocrine therapy vs the EBCTCG meta-analysis (issue 5): distant-recurrence rate ratios.

ER+ postmenopausal breast cancer, surgery with node dissection on day 0, then 5 years of
tamoxifen or anastrozole, or nothing (matched virtual patients: the same seed). Rate ratio of
distant recurrence (first detectable distant metastasis after diagnosis, among patients M0 at
diagnosis) by period, against EBCTCG 2011 (Lancet 378:771; data/hormones.toml [ebctcg]).
Run: python bench/endocrine.py [n_patients] [dormancy_probability]
"""

from __future__ import annotations

import sys

import numpy as np

from metacascade.model.hormones import ebctcg_reference
from metacascade.scenario import parse_scenario
from metacascade.workflows.stochastic_run import run_stochastic

N = int(sys.argv[1]) if len(sys.argv) > 1 else 4000
P_DORMANT = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
BASE = f"""[patient]
cancer = "breast_er_positive"
sex = "female"
menopausal_status = "postmenopausal"
[host]
dormancy_probability = {P_DORMANT}
[engine]
kind = "stochastic"
horizon_days = 5479
n_patients = {N}
[[treatment]]
kind = "surgery"
day = 0
nodes = true
"""
PERIODS = ((0, 1826), (1826, 3652), (3652, 5479))


def recurrences(text: str) -> list[tuple[int, int]]:
    run = run_stochastic(parse_scenario(text))
    res = run.result
    distant = [j for j, o in enumerate(run.scenario.organs) if o != "lymph_regional"]
    first = res.first_detectable[:, distant].min(axis=1) - run.diagnosis_day
    m0 = first > 0
    return [(int(np.sum(m0 & (first > a) & (first <= b))), int(np.sum(m0 & (first > a)))) for a, b in PERIODS]


control = recurrences(BASE)
ref = ebctcg_reference()
print(f"{N} matched patients per arm, dormancy probability {P_DORMANT}")
print("control: distant recurrences per period (events / at risk):", control)
for agent in ("tamoxifen", "anastrozole"):
    arm = recurrences(BASE + f'[[treatment]]\nkind = "endocrine"\nagent = "{agent}"\nday = 0\nduration_days = 1826\n')
    ratios = [(e / n) / (c / m) if c else float("nan") for (e, n), (c, m) in zip(arm, control)]
    print(f"{agent:12s} events {arm}; rate ratio years 0-4 / 5-9 / 10-14: " + " / ".join(f"{r:.3f}" for r in ratios))
print("EBCTCG 2011 tamoxifen 5 y vs none (ER+), recurrence rate ratio:", ref)
