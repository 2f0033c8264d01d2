r"""The ``endocrine`` validation case: adjuvant endocrine trials of ER-positive breast cancer.

The endocrine response (:mod:`metacascade.model.endocrine`: de novo resistant fraction,
cytostasis at the agent's growth ratio, kill of sensitive occult disease) is fitted to the EBCTCG
2011 overview of 5 years of tamoxifen against none (rows marked *fitted*) and checked out of
sample on ATLAS 2013 (10 against 5 years of tamoxifen) and the EBCTCG 2015 overview of aromatase
inhibitors against tamoxifen (rows marked *out of sample*), all on the calibrated
``breast_er_positive`` population (:mod:`metacascade.workflows.endocrine_trials`). A row passes
when the model's rate ratio lies inside the published 95% interval. Information rows give the
natural history the ratios rest on: ATLAS's cumulative recurrence in years 5-14 of each arm,
the rate ratios of node-negative and node-positive patients (EBCTCG: approximately independent
of nodal status) and at other sizes.
"""

from __future__ import annotations

from pathlib import Path

from metacascade.validation import ValidationReport, ValidationRow

__all__ = ["validate_endocrine"]


def _period(a: float, b: float) -> str:
    return f"years {a:g}-{b - 1:g}" if b - a > 1 else f"year {a:g}"


def validate_endocrine(data: str | Path | None = None, figure_dir: str | Path | None = None) -> ValidationReport:
    """Run every trial of ``data/endocrine_trials.toml`` (or ``data``) on the model."""
    from metacascade.workflows.endocrine_trials import Setting, load_trials, run_trial

    trials = load_trials(data)
    setting = Setting(trials.preset)  # the preset's curves, built once for every trial and variant
    resp = trials.response
    rows: list[ValidationRow] = []
    notes = [
        f"population: {trials.preset}, resected at {trials.diameter_mm:g} mm with node dissection, M0 at surgery, "
        f"estradiol {trials.estradiol_pmol_l:g} pmol/L; response (fitted to the 'fit' trial): resistant fraction "
        f"{resp.resistant_fraction:.3f}, kill {resp.kill_per_day:.3g} per day at complete blockade, acquired "
        f"resistance {resp.acquired_resistance_per_year:g} per year (fixed)",
        "the trials count any recurrence (locoregional, distant, contralateral); the model counts distant recurrence",
    ]
    for t in trials.trials.values():
        notes.append(f"{t.name}: {t.title}")
        res = run_trial(t, resp, data=trials, setting=setting)
        kind = "fitted" if t.role == "fit" else "out of sample"
        for i, rr in enumerate(res.rr):
            lo, hi = t.rr_low[i], t.rr_high[i]
            rows.append(
                ValidationRow(
                    f"{t.name}: recurrence RR {_period(t.period_start_years[i], t.period_end_years[i])}",
                    published=t.rr[i],
                    reproduced=float(rr),
                    tolerance=f"inside the published 95% interval {lo:.2f}-{hi:.2f} ({kind})",
                    passed=bool(lo <= rr <= hi),
                )
            )
        if t.cumulative is not None:
            c = t.cumulative
            tr, co = res.recurrence_between(c["from_years"], c["to_years"])
            for arm, model in (("treatment", tr), ("control", co)):
                rows.append(
                    ValidationRow(
                        f"{t.name} {arm} arm: recurrence in years {c['from_years']:g}-{c['to_years'] - 1:g}",
                        published=c[arm],
                        reproduced=model,
                        tolerance="information (the natural history the rate ratios rest on)",
                        passed=None,
                    )
                )
        if t.role == "fit":
            variants = [
                (f"node-{n}", {"nodes": n}, "information (EBCTCG: RR approximately independent of nodal status)")
                for n in ("negative", "positive")
            ] + [
                (
                    f"at {d:g} mm",
                    {"diameter_mm": d},
                    "information (the overview's patients had primaries of every size)",
                )
                for d in (10.0, 35.0)
            ]
            for label, kwargs, tolerance in variants:
                sub = run_trial(t, resp, data=trials, setting=setting, **kwargs)
                for i, rr in enumerate(sub.rr):
                    rows.append(
                        ValidationRow(
                            f"{t.name} {label}: RR {_period(t.period_start_years[i], t.period_end_years[i])}",
                            published=t.rr[i],
                            reproduced=float(rr),
                            tolerance=tolerance,
                            passed=None,
                        )
                    )
            ctrl = ", ".join(f"{100 * r:.2f}" for r in res.control_rate)
            notes.append(f"{t.name} control arm distant-recurrence rate per period (% per year): {ctrl}")
    return ValidationReport(
        case="endocrine",
        title="adjuvant endocrine therapy of ER+ breast cancer: recurrence rate ratios by period (EBCTCG, ATLAS)",
        reference="; ".join(t.source for t in trials.trials.values()),
        data_source="data/endocrine_trials.toml (published rate ratios with their 95% intervals)",
        rows=tuple(rows),
        notes=tuple(notes),
    )
