r"""Global sensitivity analysis of a scenario's outputs (Morris screening, Sobol' indices; SALib).

A *factor* is one scenario input varied over a range: a named factor (``growth_rate``,
``shedding``: multipliers on the scenario's own growth clock and shedding rate, sampled on a log
scale) or any numeric scenario key by its dotted path (``patient.primary_diameter_mm``,
``model.soil.liver``, ``host.dormancy_probability``, ``population.dissemination_sd_log``),
sampled uniformly unless ``:log`` is given. An *output* is a number of the deterministic run's
``summary.json`` by its dotted path, or one of the short names in :data:`OUTPUTS`.

The design (SALib's samplers) is fixed by the factors, the method, ``n`` and the seed; each row is
a scenario file written from the base file with the row's values, parsed (so a row the scenario
rules refuse is refused before anything is computed: the corners of the box are parsed first)
and solved by the deterministic engine. The rows are evaluated in chunks, each chunk saved as it
finishes (``parts/``), so an interrupted analysis resumes where it stopped.

Indices
-------
``sobol``: first-order ``S1`` and total ``ST`` indices (Saltelli 2010 / Jansen estimators as in
SALib, ``n (d + 2)`` runs for ``d`` factors) with bootstrap 95% confidence half-widths.
``morris``: elementary effects, ``mu`` (mean), ``mu_star`` (mean of absolute values, Campolongo
2007), ``sigma`` and the bootstrap half-width of ``mu_star`` (``n (d + 1)`` runs, ``n``
trajectories on a 4-level grid). Effects and indices are in the factors' sampling scale (ln of the
value for log factors).
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import tomli_w

from metacascade._messages import did_you_mean
from metacascade.errors import ParameterError, ScenarioError

__all__ = [
    "FACTORS",
    "METHODS",
    "OUTPUTS",
    "Factor",
    "SensitivityResult",
    "analyse",
    "design",
    "parse_factors",
    "parse_outputs",
    "run_sensitivity",
    "tornado_figure",
]

#: Named factors -> what they multiply (sampled on a log scale).
FACTORS = {
    "growth_rate": "factor on the growth clock of every tumour (the growth law's rate parameters)",
    "shedding": "factor on the shedding rate m (model.shedding_m, default the preset's)",
}

#: Short output names -> their dotted path in the run's summary.json.
OUTPUTS = {
    "p_m1_at_diagnosis": "population_at_diagnosis.p_detectable_distant_metastasis",
    "p_occult_at_diagnosis": "population_at_diagnosis.p_occult_distant_colony",
    "p_node_positive": "population_at_diagnosis.p_regional_node_metastasis",
    "p_relapse_5y": "population_at_diagnosis.p_distant_relapse_after_surgery_alone.5y",
    "p_relapse_10y": "population_at_diagnosis.p_distant_relapse_after_surgery_alone.10y",
    "n_metastases_at_diagnosis": "at_diagnosis.n_metastases",
    "n_metastases_at_horizon": "at_horizon.n_metastases",
    "p_detectable_at_horizon": "at_horizon.p_any_detectable",
    "days_to_lethal_burden": "days_since_diagnosis_lethal_burden_untreated",
}

#: Sensitivity methods -> what they give.
METHODS = {
    "morris": "elementary effects (mu, mu_star, sigma): screening, n (d + 1) runs",
    "sobol": "first-order and total Sobol' indices (S1, ST): n (d + 2) runs, n a power of 2",
}

#: The rate parameters of each growth law: multiplying all of them by f runs the law's clock f
#: times faster (X_f(t) = X(f t)); see metacascade.model.growth.
_RATE_PARAMETERS = {
    "exponential": ("rate_per_day",),
    "logistic": ("rate_per_day",),
    "gompertz": ("a_per_day",),
    "power_law": ("coefficient",),
    "von_bertalanffy": ("anabolic", "catabolic_per_day"),
}
_DICT_KEYS = ("growth", "soil", "routes", "arrest")  # [model] tables whose entries are numbers


@dataclass(frozen=True)
class Factor:
    """One varied input: ``name`` (a :data:`FACTORS` name or a dotted scenario key), its range and
    whether it is sampled uniformly in ln(value) (``log``)."""

    name: str
    low: float
    high: float
    log: bool

    def __post_init__(self) -> None:
        field = f"--vary {self.name}"
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise ParameterError(f"{field}: range {self.low:g}:{self.high:g}; allowed: finite numbers")
        if not self.low < self.high:
            raise ParameterError(f"{field}: low = {self.low:g} must be below high = {self.high:g}")
        if self.log and not self.low > 0:
            raise ParameterError(f"{field}: low = {self.low:g} on a log scale; allowed: low > 0")
        if self.name in FACTORS and not self.low > 0:
            raise ParameterError(f"{field}: low = {self.low:g}; allowed: a factor > 0")

    @property
    def bounds(self) -> tuple[float, float]:
        """The sampling interval (ln of the range for log factors)."""
        return (math.log(self.low), math.log(self.high)) if self.log else (self.low, self.high)

    def values(self, s: np.ndarray) -> np.ndarray:
        """Factor values of sampled points ``s`` (in the sampling scale)."""
        return np.exp(s) if self.log else np.asarray(s, dtype=float)


def _check_key(name: str) -> None:
    """Refuse a dotted key that is not a numeric scenario field."""
    from pydantic import BaseModel

    from metacascade.scenario.schema import ScenarioSchema

    parts = name.split(".")
    allowed = f"allowed: {', '.join(FACTORS)}, or a numeric scenario key such as patient.primary_diameter_mm"
    section = ScenarioSchema.model_fields.get(parts[0])
    sub = getattr(section, "annotation", None)
    if section is None or not (isinstance(sub, type) and issubclass(sub, BaseModel)) or len(parts) < 2:
        raise ParameterError(
            f"--vary: unknown parameter {name!r}{did_you_mean(name, list(FACTORS) + list(ScenarioSchema.model_fields))}"
            f"; {allowed}"
        )
    fields = sub.model_fields
    if parts[1] not in fields:
        raise ParameterError(
            f"--vary: unknown parameter {name!r}{did_you_mean(parts[1], fields)}; {parts[0]} has {', '.join(fields)}"
        )
    if parts[0] == "model" and parts[1] in _DICT_KEYS:
        if len(parts) != 3:
            raise ParameterError(
                f"--vary: {name!r}: model.{parts[1]} is a table; give an entry, e.g. model.{parts[1]}.liver"
            )
        return
    if len(parts) != 2:
        raise ParameterError(f"--vary: unknown parameter {name!r}; {allowed}")
    ann = str(fields[parts[1]].annotation)
    if ("float" not in ann and "int" not in ann) or any(w in ann for w in ("bool", "list", "dict", "Literal")):
        raise ParameterError(f"--vary: {name!r} is not a number ({ann}); {allowed}")


def parse_factors(spec: str | Sequence[str]) -> tuple[Factor, ...]:
    """``"growth_rate=0.5:2,patient.primary_diameter_mm=10:40,model.soil.liver=1e-10:1e-8:log"``
    -> factors. Named factors are log-scaled unless ``:lin``; dotted keys linear unless ``:log``."""
    items = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec) if s.strip()]
    if not items:
        raise ParameterError("--vary: nothing to vary; allowed: NAME=LOW:HIGH[:log|:lin], comma separated")
    out: list[Factor] = []
    for item in items:
        name, eq, rng = item.partition("=")
        name = name.strip()
        bits = rng.split(":")
        if not eq or len(bits) not in (2, 3) or (len(bits) == 3 and bits[2] not in ("log", "lin")):
            raise ParameterError(f"--vary: {item!r}; allowed: NAME=LOW:HIGH or NAME=LOW:HIGH:log (or :lin)")
        try:
            low, high = float(bits[0]), float(bits[1])
        except ValueError:
            raise ParameterError(f"--vary {name}: range {rng!r} is not two numbers; allowed: LOW:HIGH") from None
        if name not in FACTORS:
            _check_key(name)
        log = bits[2] == "log" if len(bits) == 3 else name in FACTORS
        if any(f.name == name for f in out):
            raise ParameterError(f"--vary: {name!r} given twice; allowed: each parameter once")
        out.append(Factor(name, low, high, log))
    return tuple(out)


def parse_outputs(spec: str | Sequence[str]) -> tuple[str, ...]:
    """``"p_m1_at_diagnosis,at_horizon.n_metastases"`` -> output names (checked on the first run)."""
    items = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec) if s.strip()]
    if not items:
        raise ParameterError(f"--output: no output; allowed: {', '.join(OUTPUTS)} or a summary.json path")
    if len(set(items)) != len(items):
        raise ParameterError("--output: an output given twice; allowed: each once")
    return tuple(items)


def design(factors: Sequence[Factor], method: str, n: int, seed: int) -> np.ndarray:
    """The sampled points (rows x factors, in the sampling scale) of SALib's sampler for ``method``."""
    _check_method(method, n)
    problem = _problem(factors)
    if method == "sobol":
        from SALib.sample import sobol

        return np.asarray(sobol.sample(problem, n, calc_second_order=False, scramble=True, seed=seed))
    from SALib.sample import morris

    return np.asarray(morris.sample(problem, n, num_levels=4, seed=seed))


def analyse(factors: Sequence[Factor], method: str, points: np.ndarray, y: np.ndarray, seed: int) -> pd.DataFrame:
    """Indices of one output ``y`` (one value per design row): a table with one row per factor."""
    problem = _problem(factors)
    y = np.asarray(y, dtype=float)
    names = [f.name for f in factors]
    if method == "sobol":
        from SALib.analyze import sobol

        r = sobol.analyze(problem, y, calc_second_order=False, conf_level=0.95, seed=seed)
        return pd.DataFrame(
            {"parameter": names, "S1": r["S1"], "S1_conf": r["S1_conf"], "ST": r["ST"], "ST_conf": r["ST_conf"]}
        )
    from SALib.analyze import morris

    r = morris.analyze(problem, points, y, conf_level=0.95, num_levels=4, seed=seed)
    return pd.DataFrame(
        {
            "parameter": names,
            "mu": np.asarray(r["mu"], dtype=float),
            "mu_star": np.asarray(r["mu_star"], dtype=float),
            "sigma": np.asarray(r["sigma"], dtype=float),
            "mu_star_conf": np.asarray(r["mu_star_conf"], dtype=float),
        }
    )


def _check_method(method: str, n: int) -> None:
    if method not in METHODS:
        raise ParameterError(f"--method: {method!r}{did_you_mean(method, METHODS)}; allowed: {', '.join(METHODS)}")
    if method == "sobol" and (n < 2 or n & (n - 1)):
        raise ParameterError(f"--n: {n} for sobol; allowed: a power of 2 (e.g. 64, 128, 256)")
    if method == "morris" and n < 2:
        raise ParameterError(f"--n: {n} trajectories for morris; allowed: at least 2 (10 or more usual)")


def _problem(factors: Sequence[Factor]) -> dict[str, Any]:
    return {"num_vars": len(factors), "names": [f.name for f in factors], "bounds": [list(f.bounds) for f in factors]}


# -- scenario rows -----------------------------------------------------------------------------------
def _scenario_row(base: Mapping[str, Any], factors: Sequence[Factor], values: Sequence[float]) -> dict[str, Any]:
    """The base scenario (parsed TOML) with one design row's values written in."""
    from metacascade.presets import get_preset

    doc = json.loads(json.dumps(base))  # a deep copy of plain TOML data
    model = doc.setdefault("model", {})
    preset = None
    for f, v in zip(factors, values):
        v = float(v)
        if f.name in FACTORS:
            if preset is None:
                preset = get_preset(doc.get("patient", {}).get("cancer", "hcc_iwata2000"))
            if f.name == "shedding":
                model["shedding_m"] = v * float(model.get("shedding_m", preset.shedding["m"]))
            else:
                law = model.get("growth_law", preset.growth_law)
                growth = dict(model.get("growth") or {})
                if law == preset.growth_law:
                    growth = {**preset.growth, **growth}
                for key in _RATE_PARAMETERS[law]:
                    growth[key] = v * float(growth[key])
                model["growth"] = growth
            continue
        parts = f.name.split(".")
        node = doc
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = int(round(v)) if _is_int_field(parts) else v
    return doc


def _is_int_field(parts: Sequence[str]) -> bool:
    from metacascade.scenario.schema import ScenarioSchema

    if len(parts) != 2:
        return False
    sub = ScenarioSchema.model_fields[parts[0]].annotation
    ann = str(sub.model_fields[parts[1]].annotation)  # type: ignore[union-attr]
    return "int" in ann and "float" not in ann


def _lookup(summary: Mapping[str, Any], output: str) -> Any:
    node: Any = summary
    for key in OUTPUTS.get(output, output).split("."):
        if not isinstance(node, Mapping) or key not in node:
            return _MISSING
        node = node[key]
    return node


_MISSING = object()


def _evaluate_rows(args: tuple[str, tuple[Factor, ...], np.ndarray, tuple[str, ...]]) -> np.ndarray:
    """Outputs (rows x outputs) of design rows (a worker's task: pure, picklable arguments)."""
    from metacascade.scenario import parse_scenario

    text, factors, values, outputs = args
    base = tomllib.loads(text)
    y = np.full((len(values), len(outputs)), np.nan)
    for i, row in enumerate(values):
        sc = parse_scenario(tomli_w.dumps(_scenario_row(base, factors, row)), "<sensitivity row>")
        summary = _summary_of(sc, outputs)
        for j, o in enumerate(outputs):
            v = _lookup(summary, o)
            y[i, j] = np.nan if v is None or v is _MISSING else float(v)
    return y


def _summary_of(sc: Any, outputs: Sequence[str]) -> Mapping[str, Any]:
    """The run's summary, or only its population part when every output is there (the same
    function ``run_scenario`` calls, without the organ-resolved solve: about half the time)."""
    from metacascade.workflows.population_model import population_at_diagnosis
    from metacascade.workflows.run import run_scenario

    prefix = "population_at_diagnosis."
    if outputs and all(OUTPUTS.get(o, o).startswith(prefix) for o in outputs):
        return {"population_at_diagnosis": population_at_diagnosis(sc)}
    return run_scenario(sc).summary


# -- the analysis ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SensitivityResult:
    """What an analysis produced: the design with its outputs (one row per run), the indices (one
    row per output x factor) and the JSON digest, as written to the output folder."""

    samples: pd.DataFrame
    indices: pd.DataFrame
    summary: dict[str, Any]
    out: Path | None


_FILES = {"samples.parquet", "indices.csv", "summary.json", "tornado.png", "parts"}


def _check_out(out: Path, key: str) -> None:
    from metacascade.io import check_output_folder

    out = check_output_folder(out)
    if not out.exists():
        return
    names = {p.name for p in out.iterdir() if not p.name.startswith(".")}
    other = sorted(names - _FILES)
    if other:
        raise ParameterError(
            f"--out: {out} holds files that are not a sensitivity analysis's ({', '.join(other[:3])}); "
            "allowed: a new or empty folder, or an earlier analysis of the same command to resume"
        )
    marker = out / "parts" / "design.json"
    if marker.exists() and json.loads(marker.read_text()).get("key") != key:
        raise ParameterError(
            f"--out: {out} holds an analysis of another scenario, factors, method, n or seed; allowed: a new "
            "folder, or the same command to resume"
        )


def run_sensitivity(
    scenario_text: str,
    vary: str | Sequence[str],
    outputs: str | Sequence[str],
    *,
    method: str = "morris",
    n: int = 10,
    seed: int | None = None,
    out: str | Path | None = None,
    workers: int = 1,
    chunk_size: int = 16,
    source: str = "<scenario>",
    progress: Callable[[int, int], None] | None = None,
    figure: bool = True,
) -> SensitivityResult:
    """Sensitivity of ``outputs`` of the deterministic run of ``scenario_text`` to the factors in
    ``vary`` (see the module docstring for the names).

    Every input is checked before the long computation: the factors and outputs by name, the
    scenario at the design's corners (all factors at their lows, then at their highs) by the
    scenario rules, the outputs on the first run, and ``out`` (new, empty, or the same analysis to
    resume: finished chunks are read back from ``out/parts``).

    Examples
    --------
    >>> from metacascade.workflows.sensitivity import run_sensitivity
    >>> text = '[patient]\\ncancer = "breast_er_positive"\\n[output]\\nfigure = false\\n'
    >>> res = run_sensitivity(text, "shedding=0.5:2", "n_metastases_at_diagnosis", n=2)  # doctest: +SKIP
    """
    from metacascade.scenario import parse_scenario

    factors = parse_factors(vary)
    names = parse_outputs(outputs)
    if workers < 1:
        raise ParameterError(f"--workers: {workers}; allowed: at least 1")
    if chunk_size < 1:
        raise ParameterError(f"chunk_size: {chunk_size}; allowed: at least 1")
    sc0 = parse_scenario(scenario_text, source)
    if sc0.engine.kind != "deterministic":
        raise ParameterError(
            f"{source}: engine.kind: {sc0.engine.kind!r}; allowed: 'deterministic' (sensitivity of cohorts "
            "and stochastic runs is not built yet)"
        )
    seed = int(sc0.engine.seed if seed is None else seed)
    _check_method(method, n)
    base = tomllib.loads(scenario_text)
    for corner in ("low", "high"):
        row = [getattr(f, corner) for f in factors]
        try:
            parse_scenario(tomli_w.dumps(_scenario_row(base, factors, row)), f"{source} at every factor's {corner}")
        except ScenarioError as exc:
            raise ScenarioError(f"--vary: the scenario is refused at the range's {corner}s: {exc}") from None
    key = hashlib.sha256(
        json.dumps([scenario_text, [f.__dict__ for f in factors], list(names), method, n, seed]).encode()
    ).hexdigest()[:16]
    out_path = None if out is None else Path(out)
    if out_path is not None:
        _check_out(out_path, key)
    points = design(factors, method, n, seed)
    values = np.column_stack([f.values(points[:, j]) for j, f in enumerate(factors)])
    # the outputs exist and are numbers: checked on the first row before the others run
    _check_outputs(scenario_text, factors, values[0], names, source)

    chunks = [np.arange(a, min(a + chunk_size, len(values))) for a in range(0, len(values), chunk_size)]
    y = np.full((len(values), len(names)), np.nan)
    done = np.zeros(len(chunks), dtype=bool)
    parts = None if out_path is None else out_path / "parts"
    if parts is not None:
        parts.mkdir(parents=True, exist_ok=True)
        (parts / "design.json").write_text(json.dumps({"key": key}))
        for k, idx in enumerate(chunks):
            f = parts / f"chunk_{k:05d}.npy"
            if f.exists():
                part = np.load(f, allow_pickle=False)
                if part.shape == (len(idx), len(names)):
                    y[idx] = part
                    done[k] = True
    total = len(values)

    def finished(k: int, part: np.ndarray) -> None:
        y[chunks[k]] = part
        done[k] = True
        if parts is not None:
            tmp = parts / f".chunk_{k:05d}.npy.tmp"
            with open(tmp, "wb") as fh:
                np.save(fh, part, allow_pickle=False)
            tmp.replace(parts / f"chunk_{k:05d}.npy")
        if progress is not None:
            progress(int(sum(len(chunks[i]) for i in np.flatnonzero(done))), total)

    todo = [k for k in range(len(chunks)) if not done[k]]
    if progress is not None:
        progress(int(sum(len(chunks[i]) for i in np.flatnonzero(done))), total)
    tasks = [(scenario_text, factors, values[chunks[k]], names) for k in todo]
    if workers == 1 or len(todo) <= 1:
        for k, t in zip(todo, tasks):
            finished(k, _evaluate_rows(t))
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for k, part in zip(todo, pool.map(_evaluate_rows, tasks)):
                finished(k, part)

    samples = pd.DataFrame({f.name: values[:, j] for j, f in enumerate(factors)})
    for j, o in enumerate(names):
        samples[o] = y[:, j]
    tables = []
    undefined: dict[str, int] = {}
    for j, o in enumerate(names):
        bad = int(np.sum(~np.isfinite(y[:, j])))
        if bad:
            undefined[o] = bad
            continue
        t = analyse(factors, method, points, y[:, j], seed)
        t.insert(0, "output", o)
        tables.append(t)
    indices = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame({"output": [], "parameter": []})
    summary = _summary(factors, names, method, n, seed, len(values), indices, undefined, source)
    if out_path is not None:
        from metacascade.io import atomic_write, write_json, write_table

        write_table(samples, out_path / "samples.parquet")
        atomic_write(out_path / "indices.csv", lambda p: indices.to_csv(p, index=False))
        write_json(summary, out_path / "summary.json")
        if figure and tables:
            fig = tornado_figure(indices, method)
            atomic_write(out_path / "tornado.png", lambda p: fig.savefig(p, dpi=120, format="png"))
            import matplotlib.pyplot as plt

            plt.close(fig)
    return SensitivityResult(samples=samples, indices=indices, summary=summary, out=out_path)


def _check_outputs(text: str, factors: Sequence[Factor], row: np.ndarray, names: Sequence[str], source: str) -> None:
    from metacascade.scenario import parse_scenario
    from metacascade.workflows.run import run_scenario

    sc = parse_scenario(tomli_w.dumps(_scenario_row(tomllib.loads(text), factors, row)), source)
    summary = run_scenario(sc).summary  # the whole summary: unknown names get a did-you-mean
    for o in names:
        v = _lookup(summary, o)
        if v is _MISSING:
            raise ParameterError(
                f"--output: unknown output {o!r}{did_you_mean(o, list(OUTPUTS) + _numeric_paths(summary))}; allowed: "
                f"{', '.join(OUTPUTS)}, or a number's dotted path in the run's summary.json"
            )
        if (v is not None and not isinstance(v, (int, float))) or isinstance(v, bool):
            raise ParameterError(f"--output: {o!r} is not a number ({type(v).__name__}); allowed: a numeric output")


def _numeric_paths(d: Mapping[str, Any], prefix: str = "") -> list[str]:
    out: list[str] = []
    for k, v in d.items():
        if isinstance(v, Mapping):
            out += _numeric_paths(v, f"{prefix}{k}.")
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out.append(prefix + k)
    return out


def _summary(
    factors: Sequence[Factor],
    names: Sequence[str],
    method: str,
    n: int,
    seed: int,
    runs: int,
    indices: pd.DataFrame,
    undefined: Mapping[str, int],
    source: str,
) -> dict[str, Any]:
    from metacascade._version import package_version

    by_output: dict[str, Any] = {}
    for o, t in indices.groupby("output", sort=False):
        by_output[str(o)] = {
            str(r["parameter"]): {k: float(r[k]) for k in t.columns if k not in ("output", "parameter")}
            for _, r in t.iterrows()
        }
    return {
        "metacascade_version": package_version(),
        "scenario_source": source,
        "engine": "deterministic",
        "method": method,
        "n": n,
        "seed": seed,
        "runs": runs,
        "factors": [
            {"name": f.name, "low": f.low, "high": f.high, "scale": "log" if f.log else "linear"} for f in factors
        ],
        "outputs": {o: OUTPUTS.get(o, o) for o in names},
        "indices": by_output,
        "undefined_outputs": {
            o: f"undefined (null in summary.json) in {k} of {runs} runs; no indices" for o, k in undefined.items()
        },
        "conf_level": 0.95,
    }


def tornado_figure(indices: pd.DataFrame, method: str) -> Any:
    """Tornado plot: per output, the factors sorted by total index (sobol: ST with S1 inside) or by
    mu_star (morris), with the 95% confidence half-widths as error bars."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    outputs = list(dict.fromkeys(indices["output"]))
    fig, axes = plt.subplots(len(outputs), 1, figsize=(7, 1.2 + 0.45 * indices["parameter"].nunique() * len(outputs)))
    axes = np.atleast_1d(axes)
    for ax, o in zip(axes, outputs):
        t = indices[indices["output"] == o]
        col, conf = ("ST", "ST_conf") if method == "sobol" else ("mu_star", "mu_star_conf")
        t = t.sort_values(col)
        y = np.arange(len(t))
        ax.barh(y, t[col], xerr=t[conf], color="#4c72b0", alpha=0.8, label=col)
        if method == "sobol":
            ax.barh(y, t["S1"], height=0.4, color="#dd8452", label="S1")
        ax.set_yticks(y, t["parameter"])
        ax.set_title(o, fontsize=9)
        ax.axvline(0, color="k", lw=0.5)
        ax.legend(fontsize=7, loc="lower right")
    axes[-1].set_xlabel("total / first-order Sobol' index" if method == "sobol" else "mu* (mean |elementary effect|)")
    fig.tight_layout()
    return fig
