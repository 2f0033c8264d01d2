"""Virtual-trial throughput: N patients x 2 arms of the ER+ breast preset over 10 years.

Runs the built-in trial example (surgery vs surgery + anastrozole, varied diameter, growth,
shedding and age) at N patients (default 10^5), serial and with 2 local workers, each in a fresh
process so that peak memory (max RSS) is its own, and at N/5 to show that memory does not grow
with N (chunks are streamed to Parquet). Prints wall time, patients x arms per second and peak RSS.

    python bench/cohort.py [N]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
from importlib.resources import files
from pathlib import Path
from metacascade.workflows.cohort import run_cohort
n, workers, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
text = Path(str(files("metacascade.scenario").joinpath("cohort_example.toml"))).read_text()
text = text.replace("n_patients = 2000", f"n_patients = {n}").replace("chunk_size = 500", "chunk_size = 2000")
warm = text.replace(f"n_patients = {n}", "n_patients = 64")
run_cohort(warm, out + "-warm", workers=1, figures=False)  # numba compile / cache load, outside the timing
t = time.perf_counter()
run = run_cohort(text, out, workers=workers, figures=False)
wall = time.perf_counter() - t
s = run.summary["endpoints"]
print(json.dumps({"wall": wall, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "deaths": {a: s["os"]["arms"][a]["events"] for a in s["os"]["arms"]},
                  "hr": s["os"]["comparisons"], "dm": {a: s["dm"]["arms"][a]["events"] for a in s["dm"]["arms"]}}))
"""


def run(n: int, workers: int, tmp: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(n), str(workers), str(tmp / f"run-{n}-{workers}")],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        print(f"virtual trial: breast_er_positive, surgery vs surgery + anastrozole, 10 years, {n} patients x 2 arms")
        for size, workers in ((n // 5, 1), (n, 1), (n, 2)):
            r = run(size, workers, tmp)
            hr = next(iter(r["hr"].values()))["hazard_ratio"]
            print(
                f"  {size:>8} patients, {workers} worker(s): {r['wall']:7.1f} s, "
                f"{2 * size / r['wall']:9,.0f} patients x arms / s, peak RSS {r['rss_mb']:6.0f} MB; "
                f"deaths {r['deaths']}, distant metastases {r['dm']}, HR death {hr['hr']:.3f}"
            )


if __name__ == "__main__":
    main()
