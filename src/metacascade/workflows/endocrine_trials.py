r"""Adjuvant endocrine trials on the calibrated population: rate ratios by period, and the fit of
the endocrine response (:mod:`metacascade.model.endocrine`) to the EBCTCG overview.

Each trial of ``data/endocrine_trials.toml`` is two arms of the preset's population resected at
one size (M0 at surgery, all nodal stages), followed by the population relapse quadrature
(:func:`~metacascade.workflows.population_model.predict_relapse` with ``therapy``). The model's
rate ratio in a period is the ratio of the arms' distant-recurrence rates there, events over
person-years at risk (what a log-rank rate ratio estimates when the ratio is steady within the
period). An agent's growth ratio is the oestrogen dose-response at its effective-level factor,
:math:`\rho = H(fL)/H(L)` (``data/hormones.toml``).

``fit_response`` fits the resistant fraction and the kill to the trial with ``role = "fit"``
(EBCTCG 2011, tamoxifen vs none); the others (ATLAS, aromatase inhibitor vs tamoxifen) are out
of sample. ``python -m metacascade.workflows.endocrine_trials --fit`` refits and prints the
``[response]`` section to paste into the data file.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from metacascade.errors import DataError
from metacascade.model.endocrine import Course, EndocrineArm, EndocrineResponse

__all__ = [
    "DATA_FILE",
    "EndocrineTrials",
    "Setting",
    "Trial",
    "TrialResult",
    "fit_response",
    "growth_ratio",
    "load_trials",
    "period_rates",
    "run_trial",
]

FloatArray = NDArray[np.float64]
DATA_FILE = "endocrine_trials.toml"
_STEP_YEARS = 0.125


@dataclass(frozen=True)
class Trial:
    """One published comparison (a ``[trials.NAME]`` table)."""

    name: str
    title: str
    role: str  # "fit" or "check"
    treatment: tuple[tuple[str, float, float], ...]  # (agent, start, end) of the compliers
    treatment_noncompliers: tuple[tuple[str, float, float], ...]
    control: tuple[tuple[str, float, float], ...]
    compliance: float
    control_compliance: float
    period_start_years: tuple[float, ...]
    period_end_years: tuple[float, ...]
    rr: tuple[float, ...]
    rr_low: tuple[float, ...]
    rr_high: tuple[float, ...]
    source: str
    # optional published cumulative recurrence between two years in each arm (free at the first)
    cumulative: dict[str, float] | None = None


@dataclass(frozen=True)
class EndocrineTrials:
    """The contents of ``data/endocrine_trials.toml``."""

    trials: dict[str, Trial]
    preset: str
    diameter_mm: float
    estradiol_pmol_l: float
    response: EndocrineResponse


@dataclass(frozen=True)
class TrialResult:
    """A trial run on the model: per period the arms' rates (per year) and their ratio."""

    trial: Trial
    diameter_mm: float
    nodes: str
    treatment_rate: FloatArray
    control_rate: FloatArray
    years: FloatArray  # from 0, every period edge included
    treatment_cumulative: FloatArray  # P(distant relapse by years[k]) in each arm
    control_cumulative: FloatArray

    def recurrence_between(self, a: float, b: float) -> tuple[float, float]:
        """P(relapse in (a, b] | free at a), treatment and control arms."""
        out = []
        for cum in (self.treatment_cumulative, self.control_cumulative):
            ca, cb = np.interp([a, b], self.years, cum)
            out.append(float((cb - ca) / (1.0 - ca)))
        return out[0], out[1]

    @property
    def rr(self) -> FloatArray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.control_rate > 0, self.treatment_rate / self.control_rate, np.nan)


def _num(where: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (low <= float(value) <= high):
        raise DataError(f"{where}: got {value!r}, allowed a number in [{low}, {high}]")
    return float(value)


def _courses(where: str, raw: Any, agents: set[str]) -> tuple[tuple[str, float, float], ...]:
    if not isinstance(raw, list):
        raise DataError(f"{where}: got {raw!r}, allowed a list of {{agent, start_years, end_years}} tables")
    out = []
    for k, c in enumerate(raw):
        if not isinstance(c, dict) or set(c) != {"agent", "start_years", "end_years"}:
            raise DataError(f"{where}[{k}]: got {c!r}, allowed a table with agent, start_years, end_years")
        if c["agent"] not in agents:
            raise DataError(f"{where}[{k}].agent: got {c['agent']!r}, allowed one of {', '.join(sorted(agents))}")
        s = _num(f"{where}[{k}].start_years", c["start_years"], 0.0, 100.0)
        e = _num(f"{where}[{k}].end_years", c["end_years"], 0.0, 100.0)
        if e <= s:
            raise DataError(f"{where}[{k}].end_years: got {e!r}, allowed a year > start_years = {s!r}")
        out.append((str(c["agent"]), s, e))
    return tuple(out)


def _cumulative(where: str, raw: Any) -> dict[str, float] | None:
    if raw is None:
        return None
    keys = {"from_years", "to_years", "treatment", "control"}
    if not isinstance(raw, dict) or set(raw) != keys:
        raise DataError(f"{where}: got {raw!r}, allowed a table with {', '.join(sorted(keys))}")
    out = {k: _num(f"{where}.{k}", raw[k], 0.0, 100.0) for k in keys}
    for k in ("treatment", "control"):
        _num(f"{where}.{k}", out[k], 0.0, 1.0)
    if out["to_years"] <= out["from_years"]:
        raise DataError(f"{where}.to_years: got {out['to_years']!r}, allowed a year > from_years")
    return out


def load_trials(path: str | Path | None = None) -> EndocrineTrials:
    """Read and check ``data/endocrine_trials.toml`` (or ``path``); a bad entry is a one-line
    :class:`~metacascade.errors.DataError` naming it."""
    from metacascade.model.hormones import load_hormone_data

    name = DATA_FILE if path is None else str(path)
    try:
        text = (
            (files("metacascade") / "data" / DATA_FILE).read_text("utf-8")
            if path is None
            else Path(path).read_text("utf-8")
        )
        raw = tomllib.loads(text)
    except FileNotFoundError:
        raise DataError(f"{name}: file not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{name}: corrupt TOML: {exc}") from None
    agents = set(load_hormone_data().agents)
    trials: dict[str, Trial] = {}
    for key, t in (raw.get("trials") or {}).items():
        where = f"{name} [trials.{key}]"
        need = {
            "title",
            "role",
            "treatment",
            "treatment_noncompliers",
            "control",
            "compliance",
            "control_compliance",
            "period_start_years",
            "period_end_years",
            "rr",
            "rr_low",
            "rr_high",
            "source",
            "status",
        }
        missing = need - set(t)
        if missing:
            raise DataError(f"{where}: missing {', '.join(sorted(missing))}")
        if t["role"] not in ("fit", "check"):
            raise DataError(f"{where}.role: got {t['role']!r}, allowed 'fit' or 'check'")
        cols = {c: t[c] for c in ("period_start_years", "period_end_years", "rr", "rr_low", "rr_high")}
        n = len(t["rr"]) if isinstance(t["rr"], list) else -1
        for c, v in cols.items():
            if not isinstance(v, list) or len(v) != n or n < 1:
                raise DataError(f"{where}.{c}: got {v!r}, allowed a list as long as rr")
        vals = {c: tuple(_num(f"{where}.{c}[{i}]", x, 0.0, 100.0) for i, x in enumerate(v)) for c, v in cols.items()}
        for i in range(n):
            if not vals["rr_low"][i] <= vals["rr"][i] <= vals["rr_high"][i]:
                raise DataError(f"{where}.rr[{i}]: got {vals['rr'][i]!r}, allowed a value inside [rr_low, rr_high]")
            if vals["period_end_years"][i] <= vals["period_start_years"][i]:
                raise DataError(f"{where}.period_end_years[{i}]: allowed a year > period_start_years[{i}]")
        trials[key] = Trial(
            name=key,
            title=str(t["title"]),
            role=t["role"],
            treatment=_courses(f"{where}.treatment", t["treatment"], agents),
            treatment_noncompliers=_courses(f"{where}.treatment_noncompliers", t["treatment_noncompliers"], agents),
            control=_courses(f"{where}.control", t["control"], agents),
            compliance=_num(f"{where}.compliance", t["compliance"], 0.0, 1.0),
            control_compliance=_num(f"{where}.control_compliance", t["control_compliance"], 0.0, 1.0),
            source=str(t["source"]),
            cumulative=_cumulative(f"{where}.cumulative", t.get("cumulative")),
            **vals,
        )
    if not any(t.role == "fit" for t in trials.values()):
        raise DataError(f"{name} [trials]: no trial with role = 'fit'")
    pop, resp = raw.get("population") or {}, raw.get("response") or {}
    for sec, keys, tab in (
        ("population", ("preset", "diameter_mm", "estradiol_pmol_l"), pop),
        ("response", ("resistant_fraction", "kill_per_day", "acquired_resistance_per_year"), resp),
    ):
        for k in keys:
            if k not in tab:
                raise DataError(f"{name} [{sec}]: missing {k}")
    return EndocrineTrials(
        trials=trials,
        preset=str(pop["preset"]),
        diameter_mm=_num(f"{name} [population].diameter_mm", pop["diameter_mm"], 1.0, 200.0),
        estradiol_pmol_l=_num(f"{name} [population].estradiol_pmol_l", pop["estradiol_pmol_l"], 1e-3, 1e5),
        response=EndocrineResponse(
            _num(f"{name} [response].resistant_fraction", resp["resistant_fraction"], 0.0, 1.0),
            _num(f"{name} [response].kill_per_day", resp["kill_per_day"], 0.0, 1.0),
            _num(f"{name} [response].acquired_resistance_per_year", resp["acquired_resistance_per_year"], 0.0, 100.0),
        ),
    )


def growth_ratio(agent: str, estradiol_pmol_l: float) -> float:
    """:math:`\\rho = H(fL)/H(L)` of an agent for ER-positive breast growth (``er_breast``)."""
    from metacascade.model.hormones import endocrine_agent, hormone_sensitivity

    sens = hormone_sensitivity("er_breast")
    f = endocrine_agent(agent).estradiol_factor
    return float(sens.growth_multiplier(estradiol_pmol_l * f, estradiol_pmol_l))


def period_rates(
    years: FloatArray, cumulative: FloatArray, starts: tuple[float, ...], ends: tuple[float, ...]
) -> FloatArray:
    """Events per person-year at risk in each period, from the cumulative relapse on ``years``
    (which starts at 0 and contains every period edge): :math:`(S(a) - S(b)) / \\int_a^b S`."""
    s = 1.0 - np.asarray(cumulative, float)
    out = []
    for a, b in zip(starts, ends):
        m = (years >= a - 1e-9) & (years <= b + 1e-9)
        py = float(np.trapezoid(s[m], years[m]))
        out.append((s[m][0] - s[m][-1]) / py if py > 0 else math.nan)
    return np.array(out)


class Setting:
    """The preset's curves, soils and population (independent of the size of resection): build
    once and pass to every :func:`run_trial` of the same preset."""

    def __init__(self, preset: str) -> None:
        from metacascade.presets import get_preset
        from metacascade.workflows.population_model import preset_curves
        from metacascade.workflows.preset_calibration import soils_from_sites

        p = get_preset(preset)
        self.curves = preset_curves(p)
        self.soil = soils_from_sites(p, dict(p.fitted_soil))
        self.population = p.population


def _arm(
    courses: tuple[tuple[str, float, float], ...], level: float, response: EndocrineResponse
) -> tuple[Course, ...]:
    return tuple(response.course(growth_ratio(a, level), s, e) for a, s, e in courses)


def run_trial(
    trial: Trial,
    response: EndocrineResponse,
    *,
    data: EndocrineTrials | None = None,
    diameter_mm: float | None = None,
    nodes: str = "all",
    setting: Setting | None = None,
) -> TrialResult:
    """Both arms of ``trial`` on the population (module docstring); rates per period."""
    from metacascade.workflows.population_model import predict_relapse

    data = load_trials() if data is None else data
    d = data.diameter_mm if diameter_mm is None else float(diameter_mm)
    st = setting if setting is not None else Setting(data.preset)
    level = data.estradiol_pmol_l
    end = max(trial.period_end_years)
    years = np.unique(
        np.concatenate([np.arange(0.0, end + 1e-9, _STEP_YEARS), trial.period_start_years, trial.period_end_years])
    )
    rates, cums = [], []
    for courses, compliance, noncompliers in (
        (trial.treatment, trial.compliance, trial.treatment_noncompliers),
        (trial.control, trial.control_compliance, ()),
    ):
        arm = EndocrineArm(_arm(courses, level, response), response, compliance, _arm(noncompliers, level, response))
        t = years[1:]
        cum = predict_relapse(st.curves, st.soil, st.population, d, t, nodes=nodes, therapy=arm).cumulative
        cums.append(np.concatenate([[0.0], cum]))
        rates.append(period_rates(years, cums[-1], trial.period_start_years, trial.period_end_years))
    return TrialResult(trial, d, nodes, rates[0], rates[1], years, cums[0], cums[1])


def fit_response(data: EndocrineTrials | None = None) -> tuple[EndocrineResponse, float]:
    """Least squares on log RR of the ``role = "fit"`` trials (weights 1/SE(log RR)^2, SE from
    the 95% interval) over the resistant fraction (logit) and the kill (log); the acquired
    resistance stays at the file's value. Returns the response and the residual sum of squares."""
    from scipy import optimize

    data = load_trials() if data is None else data
    fits = [t for t in data.trials.values() if t.role == "fit"]
    setting = Setting(data.preset)
    mu = data.response.acquired_resistance_per_year

    def response_of(th: FloatArray) -> EndocrineResponse:
        return EndocrineResponse(1.0 / (1.0 + math.exp(-th[0])), math.exp(th[1]), mu)

    def resid(th: FloatArray) -> FloatArray:
        out = []
        for t in fits:
            rr = run_trial(t, response_of(th), data=data, setting=setting).rr
            se = (np.log(t.rr_high) - np.log(t.rr_low)) / (2 * 1.959964)
            out.append((np.log(np.clip(rr, 1e-6, 1e6)) - np.log(t.rr)) / se)
        return np.concatenate(out)

    best = None
    for start in ((0.0, math.log(1e-3)), (-1.0, math.log(1e-2)), (1.0, math.log(1e-4))):
        r = optimize.least_squares(
            resid, np.array(start), bounds=([-8.0, math.log(1e-7)], [8.0, math.log(0.5)]), x_scale=1.0, diff_step=1e-4
        )
        if best is None or r.cost < best.cost:
            best = r
    assert best is not None
    return response_of(best.x), float(2.0 * best.cost)


def _main() -> None:  # pragma: no cover - a maintenance command
    import sys

    if "--fit" not in sys.argv:
        raise SystemExit("usage: python -m metacascade.workflows.endocrine_trials --fit")
    resp, rss = fit_response()
    print(f"resistant_fraction = {resp.resistant_fraction:.6g}")
    print(f"kill_per_day = {resp.kill_per_day:.6g}")
    print(f"acquired_resistance_per_year = {resp.acquired_resistance_per_year:.6g}")
    print(f"# weighted residual sum of squares {rss:.4g}")


if __name__ == "__main__":  # pragma: no cover
    _main()
