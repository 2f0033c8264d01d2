"""``metacascade validate presets``: every calibrated preset against its autopsy row and SEER curve.

Per preset: the DiSibio & French 2008 autopsy frequencies (observed with n, model, difference;
mean absolute error over the sites, the top three sites), the SEER M1-at-diagnosis curve (per
size bin: n, observed with its binomial interval, model; r2 and a goodness-of-fit p-value), the
fitted parameters with their intervals and the population-averaged state at diagnosis
(detectable distant metastasis, occult distant colony, regional node metastasis) at 10, 20, 30
and 50 mm.

Targets (a miss makes the command exit 1):

- autopsy: mean absolute error <= 5 percentage points over the sites, and the model's three most
  frequent sites are the observed three in the observed order;
- SEER: the peer's statistic on our curve, ``r2_peer_statistic`` = sqrt(cor(model, observed)) over
  the bins, >= the peer's reported value for that type minus 0.02, and every bin with n >= 100
  within 3 binomial standard errors + 1 percentage point. The peer (EwaSzczurek/MetastaticBottleneck,
  ``BCD_FittingLib.R``) reports ``r2 = sqrt(cor(y1, y))`` over a joint vector of survival quantiles
  and M1 fractions, so its printed 0.93-0.99 are Pearson r of 0.87-0.98 (r squared 0.76-0.95); we
  compare like with like (the same statistic) and also report the n-weighted coefficient of
  determination of the M1 curve (``r2``), the stricter number;
- relapse after surgery alone (presets with a series in ``data/natural_history/relapse_targets.csv``:
  TRANSBIG node-negative ER+ / ER- breast, the Moertel stage III colon observation arm, CONKO-001
  pancreas observation arm, Zhu 2014 stage I NSCLC): at every time point of the series the model's
  cumulative distant relapse (:func:`~metacascade.workflows.population_model.predict_relapse`, at
  the series' primary size and nodal status) within the 95% interval's half-width + 10 points. For
  series that count local recurrence (and death, DFS) the observed value bounds the distant relapse
  from above; they are compared the same way and the endpoint is reported.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from metacascade.presets import get_preset, load_presets

__all__ = ["TARGETS", "preset_report", "validate_presets"]

TARGETS = {
    "stage_abs": 0.05,
    "autopsy_mae": 0.05,
    "r2_margin": 0.02,
    "bin_se": 3.0,
    "bin_abs": 0.01,
    "bin_min_n": 100,
    "relapse_abs": 0.10,
}
STATE_DIAMETERS_MM = (10.0, 20.0, 30.0, 50.0)


def _r2(obs: np.ndarray, model: np.ndarray, w: np.ndarray) -> float:
    mean = float(np.average(obs, weights=w))
    tot = float(np.sum(w * (obs - mean) ** 2))
    return float("nan") if tot == 0 else 1.0 - float(np.sum(w * (obs - model) ** 2)) / tot


def _peer_stat(obs: np.ndarray, model: np.ndarray) -> float:
    if np.std(model) == 0 or np.std(obs) == 0:
        return float("nan")
    c = float(np.corrcoef(model, obs)[0, 1])
    return math.sqrt(c) if c > 0 else 0.0


def same_top_three(sites: dict[str, Any]) -> bool:
    """Whether the model's three most frequent sites are the observed three in the observed order;
    sites with equal observed counts are interchangeable (a tie has no order)."""
    top_obs = sorted(sites, key=lambda s: -sites[s]["observed"])[:3]
    top_mod = sorted(sites, key=lambda s: -sites[s]["model"])[:3]
    return [sites[s]["count"] for s in top_mod] == [sites[s]["count"] for s in top_obs]


def preset_report(name: str) -> dict[str, Any]:
    """The validation record of one calibrated preset (the JSON object of ``--json``)."""
    from metacascade.clinical_data import load_peer_fits
    from metacascade.workflows.population_model import operated_m1, predict_population, preset_curves
    from metacascade.workflows.preset_calibration import (
        DISIBIO_SITES,
        calibration_data,
        log_likelihood,
        resected_sizes,
        secondary_factors,
        soils_from_sites,
    )

    preset = get_preset(name)
    data = calibration_data(preset)
    pop = preset.population
    site_soil = dict(preset.fitted_soil)
    odds = preset.seer_m1_operated_odds
    # colonies founded by colonies enter the untreated autopsy (as in the fit's last round): their
    # factors from the organ-resolved engine at the calibrated values (a few seconds)
    secondary = None
    if preset.secondary_seeding and resected_sizes(preset, data) is None:
        secondary = secondary_factors(preset, soils_from_sites(preset, site_soil), pop)
    ll, pred = log_likelihood(
        preset, data, site_soil, pop, secondary, m1_odds=odds, node_residual=preset.node_residual_fraction
    )
    misses: list[str] = []
    # autopsy
    sites: dict[str, Any] = {}
    diffs = []
    for col, site, k in zip(DISIBIO_SITES, data.sites, data.autopsy_k):
        obs = float(k / data.autopsy_n)
        mod = float(pred.site(site))
        diffs.append(mod - obs)
        sites[site] = {
            "observed": obs,
            "n": int(data.autopsy_n),
            "count": int(k),
            "model": mod,
            "difference": mod - obs,
            "disibio_column": col,
        }
    mae = float(np.mean(np.abs(diffs)))
    top_obs = sorted(sites, key=lambda s: -sites[s]["observed"])[:3]
    top_mod = sorted(sites, key=lambda s: -sites[s]["model"])[:3]
    if mae > TARGETS["autopsy_mae"]:
        misses.append(f"autopsy mean absolute error {100 * mae:.1f} points > {100 * TARGETS['autopsy_mae']:.0f}")
    if not same_top_three(sites):
        misses.append(f"autopsy top three sites: model {top_mod}, observed {top_obs}")
    history = (preset.calibration or {}).get("autopsy_history", "resected")
    out: dict[str, Any] = {
        "description": preset.description,
        "autopsy": {
            "source": "DiSibio G, French SW. Arch Pathol Lab Med 2008;132:931-939, Figure 1; rows "
            + ", ".join(data.autopsy_rows)
            + f" (n = {data.autopsy_n})",
            "history": history,
            "sites": sites,
            "mae": mae,
            "top3_observed": top_obs,
            "top3_model": top_mod,
        },
    }
    # SEER
    if data.seer_n.size:
        obs = data.seer_k / data.seer_n
        # the resected patients' M1 fraction (SEER's are resected), from the population's
        population_m1 = np.asarray(pred.m1_at_size, float)
        model = np.asarray(operated_m1(population_m1, odds), float)
        n = data.seer_n
        se = np.sqrt(np.maximum(obs * (1 - obs), 1.0 / n) / n)
        lo, hi = (
            stats.beta.ppf(0.025, data.seer_k, n - data.seer_k + 1),
            stats.beta.ppf(0.975, data.seer_k + 1, n - data.seer_k),
        )
        bins = []
        bad = []
        for i in range(n.size):
            ok = bool(abs(model[i] - obs[i]) <= TARGETS["bin_se"] * se[i] + TARGETS["bin_abs"])
            gated = bool(n[i] >= TARGETS["bin_min_n"])
            bins.append(
                {
                    "size_cm": float(data.seer_diameter_mm[i] / 10),
                    "n": int(n[i]),
                    "m1": int(data.seer_k[i]),
                    "observed": float(obs[i]),
                    "ci_low": float(np.nan_to_num(lo[i])),
                    "ci_high": float(np.nan_to_num(hi[i], nan=1.0)),
                    "model": float(model[i]),
                    "model_population": float(population_m1[i]),
                    "within": ok,
                    "gated": gated,
                }
            )
            if gated and not ok:
                bad.append(f"{data.seer_diameter_mm[i] / 10:g} cm")
        r2 = _r2(obs, model, n)
        peer = load_peer_fits()
        names = [s.strip() for s in str(data.seer_cancer).split(" + ")]
        peer_rows = peer[peer["cancer"].isin(names)]
        peer_r2 = float(peer_rows["r2"].min()) if len(peer_rows) else float("nan")
        chi2 = float(np.sum((data.seer_k - n * model) ** 2 / np.maximum(n * model * (1 - model), 1e-12)))
        dof = max(int(n.size) - 2, 1)
        out["seer"] = {
            "cancer": data.seer_cancer,
            "bins": bins,
            "r2": r2,
            "r2_peer_statistic": _peer_stat(obs, model),
            "peer_r2": peer_r2,
            "m1_operated_odds": odds,
            "chi2": chi2,
            "dof": dof,
            "p_value": float(stats.chi2.sf(chi2, dof)),
        }
        stat = out["seer"]["r2_peer_statistic"]
        if math.isfinite(peer_r2) and not stat >= peer_r2 - TARGETS["r2_margin"]:
            misses.append(f"SEER sqrt(cor) {stat:.3f} < peer {peer_r2:.3f} - {TARGETS['r2_margin']}")
        if bad:
            misses.append(f"SEER bins outside 3 SE + 1 point: {', '.join(bad)}")
    else:
        out["seer"] = None
        out["when"] = (preset.calibration or {}).get("when", "time scale not calibrated")
    # parameters
    params: dict[str, Any] = {}
    for s, v in sorted(site_soil.items()):
        lo_, hi_ = preset.intervals.get(f"soil.{s}", (float("nan"), float("nan")))
        params[f"soil.{s}"] = {"value": v, "low": lo_, "high": hi_}
    for key in ("competent_fraction", "dissemination_sd_log", "growth_sd_log"):
        lo_, hi_ = preset.intervals.get(f"population.{key}", (float("nan"), float("nan")))
        params[f"population.{key}"] = {"value": float(getattr(pop, key)), "low": lo_, "high": hi_}
    if "alpha" in preset.shedding:
        lo_, hi_ = preset.intervals.get("shedding.alpha", (float("nan"), float("nan")))
        params["shedding.alpha"] = {"value": float(preset.shedding["alpha"]), "low": lo_, "high": hi_}
    if odds != 1.0:
        lo_, hi_ = preset.intervals.get("seer.m1_operated_odds", (float("nan"), float("nan")))
        params["seer.m1_operated_odds"] = {"value": odds, "low": lo_, "high": hi_}
    if preset.node_residual_fraction != 1.0:
        lo_, hi_ = preset.intervals.get("nodes.residual_fraction", (float("nan"), float("nan")))
        params["nodes.residual_fraction"] = {"value": preset.node_residual_fraction, "low": lo_, "high": hi_}
    for key, value in sorted(preset.dormancy.items()):
        lo_, hi_ = preset.intervals.get(f"dormancy.{key}", (float("nan"), float("nan")))
        params[f"dormancy.{key}"] = {"value": float(value), "low": lo_, "high": hi_}
    out["parameters"] = params
    # state at diagnosis
    curves = preset_curves(preset)
    st = predict_population(
        curves,
        soils_from_sites(preset, site_soil),
        pop,
        np.asarray(STATE_DIAMETERS_MM),
        resected_at_mm=resected_sizes(preset, data),
    )
    out["at_diagnosis"] = {
        f"{d:g}mm": {"p_detectable_distant": float(a), "p_occult_distant": float(b), "p_regional_node": float(c)}
        for d, a, b, c in zip(STATE_DIAMETERS_MM, st.m1_at_size, st.occult_at_size, st.node_at_size)
    }
    rel = relapse_report(preset, data, site_soil, pop, curves)
    if rel is not None:
        out["relapse"] = rel
        if rel["misses"]:
            misses.append(f"relapse after surgery alone ({rel['source']}): {', '.join(rel['misses'])}")
    stage = stage_report(preset, data, site_soil, pop, curves)
    if stage is not None:
        out["stage_by_size"] = stage
        if stage["misses"]:
            misses.append(f"stage at diagnosis in all patients ({stage['source']}): " + ", ".join(stage["misses"]))
    early = early_seeding_report(preset, data, curves)
    if early is not None:
        out["early_seeding"] = early
        if not early["within"]:
            misses.append(
                f"early seeding ({early['source']}): model {100 * early['model_low']:.0f}-"
                f"{100 * early['model_high']:.0f}% vs {100 * early['observed']:.0f}% "
                f"(95% {100 * early['ci_low']:.0f}-{100 * early['ci_high']:.0f}%)"
            )
    out["loglik"] = ll
    out["misses"] = misses
    out["passed"] = not misses
    return out


def relapse_report(preset: Any, data: Any, site_soil: dict[str, float], pop: Any, curves: Any) -> dict[str, Any] | None:
    """The preset's distant relapse after surgery alone against its published series
    (``data/natural_history/relapse_targets.csv``), or None if it has none."""
    from metacascade.clinical_data import load_relapse_curve, load_relapse_targets
    from metacascade.workflows.population_model import predict_relapse
    from metacascade.workflows.preset_calibration import seer_median_mm, soils_from_sites

    targets = load_relapse_targets()
    rows = targets[targets["preset"] == preset.name]
    if rows.empty:
        return None
    t = rows.iloc[0]
    curve = load_relapse_curve(t["file"], t["quantity"], t["subgroup"])
    cap = float(t["max_diameter_mm"]) if t["max_diameter_mm"] else None
    if t["diameter"] == "seer_median":
        if not data.seer_n.size:
            return None
        diameter = seer_median_mm(data.seer_diameter_mm, data.seer_n, cap)
    else:
        diameter = float(t["diameter"])
    years = curve["time_years"].to_numpy(float)
    pred = predict_relapse(curves, soils_from_sites(preset, site_soil), pop, diameter, years, nodes=t["nodes"])
    points, misses = [], []
    columns = ["time_years", "value", "n", "ci_low", "ci_high"]
    for i, (yr, v, n, lo, hi) in enumerate(curve[columns].itertuples(index=False)):
        obs = 1.0 - float(v)
        half = (
            (float(hi) - float(lo)) / 2
            if np.isfinite(lo) and np.isfinite(hi)
            else (1.96 * math.sqrt(max(obs * (1 - obs), 1e-4) / n) if np.isfinite(n) and n > 0 else 0.0)
        )
        model = float(pred.cumulative[i])
        ok = abs(model - obs) <= half + TARGETS["relapse_abs"]
        points.append(
            {
                "years": float(yr),
                "observed": obs,
                "half_width_95": half,
                "n": float(n) if np.isfinite(n) else None,
                "model": model,
                "within": bool(ok),
            }
        )
        if not ok:
            misses.append(f"{yr:g} y model {100 * model:.0f}% vs {100 * obs:.0f}%")
    return {
        "source": str(curve["source"].iloc[0]),
        "file": t["file"],
        "subgroup": t["subgroup"],
        "nodes": t["nodes"],
        "endpoint": t["endpoint"],
        "diameter_mm": diameter,
        "diameter_source": t["diameter_source"],
        "points": points,
        "misses": misses,
    }


def stage_report(preset: Any, data: Any, site_soil: dict[str, float], pop: Any, curves: Any) -> dict[str, Any] | None:
    """The model population's state at diagnosis (before any selection for resection) against the
    published fractions by size in all patients (``data/natural_history/stage_by_size_all_patients.csv``),
    or None if the preset has no rows. ``fraction_stage_one``: stage I also needs T1-2, so it bounds
    the model's N0 M0 fraction from below (a miss when the model is more than
    ``TARGETS['stage_abs']`` below it); ``fraction_m1``: the model's P(detectable distant
    metastasis), a miss when further than 1.96 binomial SE + ``TARGETS['stage_abs']`` from it."""
    from metacascade.clinical_data import load_stage_by_size
    from metacascade.workflows.population_model import predict_population
    from metacascade.workflows.preset_calibration import resected_sizes, soils_from_sites

    df = load_stage_by_size()
    rows = df[df["cancer"] == preset.name]
    if rows.empty:
        return None
    d = rows["size_mm_model"].to_numpy(float)
    pred = predict_population(
        curves, soils_from_sites(preset, site_soil), pop, d, resected_at_mm=resected_sizes(preset, data)
    )
    points, misses = [], []
    for (_, r), n0m0, m1, node in zip(rows.iterrows(), pred.n0m0_at_size, pred.m1_at_size, pred.node_at_size):
        obs = float(r["value"])
        if r["quantity"] == "fraction_stage_one":
            model, ok = float(n0m0), bool(n0m0 >= obs - TARGETS["stage_abs"])
        else:
            half = 1.96 * math.sqrt(max(obs * (1 - obs), 1e-4) / float(r["n"]))
            model, ok = float(m1), bool(abs(m1 - obs) <= half + TARGETS["stage_abs"])
        points.append(
            {
                "quantity": str(r["quantity"]),
                "size_mm_low": _float(r["size_mm_low"]),
                "size_mm_high": _float(r["size_mm_high"]),
                "size_mm_model": float(r["size_mm_model"]),
                "observed": obs,
                "model": model,
                "model_n0m0": float(n0m0),
                "model_m1": float(m1),
                "model_node": float(node),
                "source": str(r["source"]),
                "within": ok,
            }
        )
        if not ok:
            what = "N0 M0" if r["quantity"] == "fraction_stage_one" else "M1"
            misses.append(f"{r['size_mm_model']:g} mm {what} model {100 * model:.0f}% vs {100 * obs:.0f}%")
    return {"source": ", ".join(dict.fromkeys(rows["source"].astype(str))), "points": points, "misses": misses}


def _float(v: Any) -> float | None:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


#: Years after resection at which the metachronous end of the early-seeding range is read.
EARLY_SEEDING_METACHRONOUS_YEARS = 2.0


def early_seeding_report(preset: Any, data: Any, curves: Any) -> dict[str, Any] | None:
    """The share of metastases founded while the primary was below a published volume
    (``data/natural_history/early_seeding.csv``) against the model's, or None if the preset has no
    such row. The published cohort mixes synchronous and metachronous metastases (its split is not
    given), so the model's value is the range from the metastases detectable at diagnosis to those
    detectable :data:`EARLY_SEEDING_METACHRONOUS_YEARS` after resection, at the preset's SEER median
    size; it passes when that range meets the published share's 95% Clopper-Pearson interval."""
    from metacascade.clinical_data import load_early_seeding
    from metacascade.workflows.population_model import early_founded_share
    from metacascade.workflows.preset_calibration import seer_median_mm

    df = load_early_seeding()
    rows = df[df["presets"].astype(str).str.split(";").apply(lambda v: preset.name in v)]
    if rows.empty or not data.seer_n.size:
        return None
    r = rows.iloc[0]
    k, n = int(r["patients_early"]), int(r["patients_evaluable"])
    lo = float(stats.beta.ppf(0.025, k, n - k + 1)) if k > 0 else 0.0
    hi = float(stats.beta.ppf(0.975, k + 1, n - k)) if k < n else 1.0
    d = seer_median_mm(data.seer_diameter_mm, data.seer_n)
    cells = float(r["primary_volume_cm3"]) * 1e3 * preset.cells_per_mm3  # cm^3 -> mm^3 -> cells
    sync = early_founded_share(curves, d, cells, 0.0)
    meta = early_founded_share(curves, d, cells, EARLY_SEEDING_METACHRONOUS_YEARS)
    m_lo, m_hi = min(sync, meta), max(sync, meta)
    return {
        "source": str(r["source"]),
        "primary_volume_cm3": float(r["primary_volume_cm3"]),
        "diameter_mm": d,
        "observed": k / n,
        "patients_early": k,
        "patients_evaluable": n,
        "ci_low": lo,
        "ci_high": hi,
        "model_synchronous": sync,
        "model_metachronous": meta,
        "model_low": m_lo,
        "model_high": m_hi,
        "within": bool(m_hi >= lo and m_lo <= hi),
    }


def validate_presets(names: list[str] | None = None, figure_dir: str | Path | None = None) -> dict[str, Any]:
    """The report of every calibrated preset (or those in ``names``): ``{"presets": {NAME: ...}}``."""
    presets = load_presets()
    chosen = [n for n, p in presets.items() if p.calibration and p.fitted_soil] if names is None else list(names)
    out = {"presets": {n: preset_report(n) for n in chosen}}
    out["passed"] = all(r["passed"] for r in out["presets"].values())
    if figure_dir is not None:
        write_figures(out, figure_dir)
    return out


def write_figures(report: dict[str, Any], figure_dir: str | Path) -> list[Path]:
    """One PNG per preset: autopsy frequencies (observed vs model) and the SEER curve."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(figure_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, r in report["presets"].items():
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        sites = list(r["autopsy"]["sites"])
        x = np.arange(len(sites))
        axes[0].bar(x - 0.2, [100 * r["autopsy"]["sites"][s]["observed"] for s in sites], 0.4, label="DiSibio 2008")
        axes[0].bar(x + 0.2, [100 * r["autopsy"]["sites"][s]["model"] for s in sites], 0.4, label="model")
        axes[0].set_xticks(x, sites, rotation=60, ha="right", fontsize=8)
        axes[0].set_ylabel("% of autopsies")
        axes[0].set_title(f"{name}: autopsy (MAE {100 * r['autopsy']['mae']:.1f} points)")
        axes[0].legend()
        if r.get("seer"):
            b = r["seer"]["bins"]
            sz = [v["size_cm"] for v in b]
            axes[1].errorbar(
                sz,
                [100 * v["observed"] for v in b],
                yerr=[
                    [100 * (v["observed"] - v["ci_low"]) for v in b],
                    [100 * (v["ci_high"] - v["observed"]) for v in b],
                ],
                fmt="o",
                ms=3,
                label=f"SEER ({r['seer']['cancer']})",
            )
            axes[1].plot(sz, [100 * v["model"] for v in b], "-", label=f"model (r2 {r['seer']['r2']:.2f})")
            axes[1].set_xlabel("primary diameter at diagnosis (cm)")
            axes[1].set_ylabel("% M1 at diagnosis")
            axes[1].legend()
        else:
            axes[1].text(
                0.5,
                0.5,
                r.get("when", "no SEER curve"),
                ha="center",
                va="center",
                wrap=True,
                transform=axes[1].transAxes,
            )
            axes[1].set_axis_off()
        fig.tight_layout()
        path = out / f"preset_{name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written
