"""Time the full GBSG2 calibration: maximum likelihood (4 starts) with profile-likelihood
intervals, then the Bayesian posterior (emcee, 24 walkers x 1200 steps), held-out predictions,
bootstrap concordance and the hormone-therapy comparison; prints the report and the timings.

    python bench/calibration.py
"""

from __future__ import annotations

import time

from metacascade.validation.gbsg2 import format_gbsg2, run_gbsg2


def main() -> None:
    t = time.perf_counter()
    report = run_gbsg2()
    total = time.perf_counter() - t
    print(format_gbsg2(report))
    print(
        f"\ntimings: maximum likelihood with profiles {report['mle_seconds']:.0f} s, MCMC "
        f"{report['bayes']['seconds']:.0f} s, whole validation {total:.0f} s (target: under 600 s)"
    )


if __name__ == "__main__":
    main()
