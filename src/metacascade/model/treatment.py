r"""Treatment plans and their compilation into the piecewise events the engines apply (model layer).

A plan is a tuple of frozen treatment entries on the timeline of days since diagnosis:

``Surgery``
    removes the primary (and, with ``nodes``, every colony in the regional lymph nodes) at
    ``day``; ``shed_cells`` cells are shed at the operation (perioperative burst).
``Chemotherapy``
    ``cycles`` doses every ``interval_days``; each dose leaves a fraction
    :math:`S = 10^{-\text{log\_kill}}` of the sensitive cells (Skipper's log-kill), per site
    (``site_log_kill`` overrides for poorly penetrated sites, e.g. brain). With
    ``norton_simon`` the log-kill of a tumour of size :math:`x` is scaled by its per-cell
    growth rate relative to that at ``reference_cells``, :math:`\ln S(x) = \ln S\,
    \frac{g(x)/x}{g(x_r)/x_r}` (Norton & Simon 1977). Resistant cells arise before treatment
    at ``mutation_rate`` per division (Goldie & Coldman 1979) and are not killed; dormant
    (non-dividing) colonies are not killed. ``myelosuppression`` lowers the patient's
    immunocompetence by that fraction from each dose for ``recovery_days``.
``Radiotherapy``
    ``fractions`` of ``dose_per_fraction_gy`` on the named sites (``"primary"`` or organ
    names), Monday to Friday from ``day``: each fraction leaves
    :math:`\exp(-\alpha d - \beta d^2)` (linear-quadratic), all cells alike (resistance to
    drugs is not resistance to radiation). Accelerated repopulation after ``kickoff_days``
    gains :math:`\ln 2\,\Delta t / T_\text{pot}` between fractions (Withers 1988), netted
    against the next fraction's kill (never above 1: a fraction never adds cells).
``Endocrine``
    multiplies the effective estradiol level by the agent's factor for ``duration_days``; the
    growth of hormone-sensitive tumours follows the dose-response (model.hormones).
``Immunotherapy``
    multiplies the effectors' kill rate by ``killing_factor`` for ``duration_days``: dormant
    colonies escape more slowly and dormancy holds at lower immunocompetence (model.immune).

:func:`compile_plan` turns a plan into a :class:`CompiledPlan`: breakpoints in model time with
a constant growth multiplier, dormancy probability and escape rate between them, and the list
of instantaneous kills (natural-log surviving fraction per site; the primary is the last site).

References
----------
.. [1] Skipper HE, Schabel FM, Wilcox WS. Cancer Chemother Rep 1964;35:1-111 (log-kill).
.. [2] Norton L, Simon R. Tumor size, sensitivity to therapy, and design of treatment
   schedules. Cancer Treat Rep 1977;61:1307-1317.
.. [3] Goldie JH, Coldman AJ. A mathematic model for relating the drug sensitivity of tumors to
   their spontaneous mutation rate. Cancer Treat Rep 1979;63:1727-1733.
.. [4] Withers HR, Taylor JMG, Maciejewski B. The hazard of accelerated tumor clonogen
   repopulation during radiotherapy. Acta Oncol 1988;27:131-146.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from metacascade.errors import ParameterError

__all__ = [
    "Surgery",
    "Chemotherapy",
    "Radiotherapy",
    "Endocrine",
    "Immunotherapy",
    "Treatment",
    "TREATMENT_KINDS",
    "CompiledPlan",
    "HostTimeline",
    "compile_plan",
    "check_plan",
    "radiotherapy_days",
]

FloatArray = NDArray[np.float64]
PRIMARY = "primary"


def _finite(name: str, value: float, low: float = 0.0, strict: bool = False, high: float = math.inf) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = float("nan")
    if not (math.isfinite(v) and (v > low if strict else v >= low) and v <= high):
        rel = ">" if strict else ">="
        top = "" if high == math.inf else f" and <= {high:g}"
        raise ParameterError(f"{name}: got {value!r}, allowed a finite number {rel} {low:g}{top}")
    return v


@dataclass(frozen=True)
class Surgery:
    """Resection of the primary at ``day`` (days since diagnosis)."""

    day: float
    nodes: bool = False
    shed_cells: float = 0.0
    # with nodes: each regional-node colony present at surgery stays with this probability
    # (incomplete dissection, basins not dissected); 0: every one is removed
    nodes_left_fraction: float = 0.0
    kind = "surgery"

    def __post_init__(self) -> None:
        object.__setattr__(self, "day", _finite("day", self.day))
        object.__setattr__(self, "shed_cells", _finite("shed_cells", self.shed_cells))
        object.__setattr__(
            self, "nodes_left_fraction", _finite("surgery.nodes_left_fraction", self.nodes_left_fraction, high=1.0)
        )

    @property
    def end_day(self) -> float:
        return self.day


@dataclass(frozen=True)
class Chemotherapy:
    """Cycles of cytotoxic chemotherapy with log-kill and pre-existing resistance."""

    day: float
    cycles: int = 6
    interval_days: float = 21.0
    log_kill: float = 1.0
    site_log_kill: tuple[tuple[str, float], ...] = ()
    norton_simon: bool = False
    reference_cells: float = 1e9
    mutation_rate: float = 1e-6
    myelosuppression: float = 0.0
    recovery_days: float = 21.0
    kind = "chemotherapy"

    def __post_init__(self) -> None:
        object.__setattr__(self, "day", _finite("day", self.day))
        if isinstance(self.cycles, bool) or not isinstance(self.cycles, (int, np.integer)) or self.cycles < 1:
            raise ParameterError(f"cycles: got {self.cycles!r}, allowed a whole number >= 1")
        object.__setattr__(self, "interval_days", _finite("interval_days", self.interval_days, strict=True))
        object.__setattr__(self, "log_kill", _finite("log_kill", self.log_kill, high=30.0))
        object.__setattr__(
            self,
            "site_log_kill",
            tuple((str(k), _finite(f"site_log_kill.{k}", v, high=30.0)) for k, v in dict(self.site_log_kill).items()),
        )
        object.__setattr__(self, "reference_cells", _finite("reference_cells", self.reference_cells, low=1.0))
        object.__setattr__(self, "mutation_rate", _finite("mutation_rate", self.mutation_rate, high=1.0))
        object.__setattr__(self, "myelosuppression", _finite("myelosuppression", self.myelosuppression, high=1.0))
        object.__setattr__(self, "recovery_days", _finite("recovery_days", self.recovery_days))

    @property
    def dose_days(self) -> FloatArray:
        return np.asarray(self.day + self.interval_days * np.arange(self.cycles), dtype=np.float64)

    @property
    def end_day(self) -> float:
        return float(self.dose_days[-1])


def radiotherapy_days(start_day: float, fractions: int, per_week: int = 5) -> FloatArray:
    """Treatment days of ``fractions`` fractions from ``start_day`` (a Monday), ``per_week``
    consecutive weekdays a week (weekends off)."""
    k = np.arange(fractions)
    return np.asarray(start_day + 7.0 * (k // per_week) + (k % per_week), dtype=np.float64)


@dataclass(frozen=True)
class Radiotherapy:
    """Fractionated radiotherapy of named sites (linear-quadratic with repopulation)."""

    day: float
    sites: tuple[str, ...] = (PRIMARY,)
    dose_per_fraction_gy: float = 2.0
    fractions: int = 30
    fractions_per_week: int = 5
    alpha_per_gy: float = 0.3
    alpha_beta_gy: float = 10.0
    kickoff_days: float | None = 28.0
    doubling_days: float = 4.0
    kind = "radiotherapy"

    def __post_init__(self) -> None:
        object.__setattr__(self, "day", _finite("day", self.day))
        if not self.sites:
            raise ParameterError("sites: allowed a non-empty list of 'primary' and organ names")
        object.__setattr__(self, "sites", tuple(str(s) for s in self.sites))
        object.__setattr__(
            self,
            "dose_per_fraction_gy",
            _finite("dose_per_fraction_gy", self.dose_per_fraction_gy, strict=True, high=100.0),
        )
        for name, low in (("fractions", 1), ("fractions_per_week", 1)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
                raise ParameterError(f"{name}: got {v!r}, allowed a whole number >= {low}")
        if self.fractions_per_week > 7:
            raise ParameterError(f"fractions_per_week: got {self.fractions_per_week}, allowed 1 to 7")
        object.__setattr__(self, "alpha_per_gy", _finite("alpha_per_gy", self.alpha_per_gy, strict=True))
        object.__setattr__(self, "alpha_beta_gy", _finite("alpha_beta_gy", self.alpha_beta_gy, strict=True))
        if self.kickoff_days is not None:
            object.__setattr__(self, "kickoff_days", _finite("kickoff_days", self.kickoff_days))
        object.__setattr__(self, "doubling_days", _finite("doubling_days", self.doubling_days, strict=True))

    @property
    def beta_per_gy2(self) -> float:
        return self.alpha_per_gy / self.alpha_beta_gy

    @property
    def fraction_days(self) -> FloatArray:
        return radiotherapy_days(self.day, self.fractions, self.fractions_per_week)

    @property
    def end_day(self) -> float:
        return float(self.fraction_days[-1])

    def log_surviving_fraction(self) -> FloatArray:
        r"""Natural-log surviving fraction of each fraction, repopulation netted:
        :math:`-(\alpha d + \beta d^2) + \ln 2\,\Delta t_\text{after kick-off}/T_\text{pot}`, capped at 0."""
        d = self.dose_per_fraction_gy
        kill = -(self.alpha_per_gy * d + self.beta_per_gy2 * d * d)
        days = self.fraction_days
        out = np.full(days.size, kill)
        if self.kickoff_days is not None:
            t_k = self.day + self.kickoff_days
            prev = np.concatenate([[days[0]], days[:-1]])
            gained = np.clip(days, t_k, None) - np.clip(prev, t_k, None)
            out = np.minimum(out + math.log(2.0) * gained / self.doubling_days, 0.0)
        return out


@dataclass(frozen=True)
class Endocrine:
    """Endocrine therapy: the effective estradiol level times ``estradiol_factor``."""

    day: float
    agent: str = "tamoxifen"
    duration_days: float = 1826.0
    estradiol_factor: float = 1.0
    kind = "endocrine"

    def __post_init__(self) -> None:
        object.__setattr__(self, "day", _finite("day", self.day))
        object.__setattr__(self, "duration_days", _finite("duration_days", self.duration_days, strict=True))
        object.__setattr__(self, "estradiol_factor", _finite("estradiol_factor", self.estradiol_factor, high=1.0))

    @property
    def end_day(self) -> float:
        return self.day + self.duration_days


@dataclass(frozen=True)
class Immunotherapy:
    """Immunotherapy: effector kill rate times ``killing_factor`` for ``duration_days``."""

    day: float
    duration_days: float = 365.0
    killing_factor: float = 2.0
    kind = "immunotherapy"

    def __post_init__(self) -> None:
        object.__setattr__(self, "day", _finite("day", self.day))
        object.__setattr__(self, "duration_days", _finite("duration_days", self.duration_days, strict=True))
        object.__setattr__(self, "killing_factor", _finite("killing_factor", self.killing_factor, low=1.0))

    @property
    def end_day(self) -> float:
        return self.day + self.duration_days


Treatment = Surgery | Chemotherapy | Radiotherapy | Endocrine | Immunotherapy
TREATMENT_KINDS = ("surgery", "chemotherapy", "radiotherapy", "endocrine", "immunotherapy")


def _window(t: Treatment) -> tuple[float, float]:
    return float(t.day), float(t.end_day)


def check_plan(plan: Sequence[Treatment], organs: Sequence[str]) -> None:
    """Raise ParameterError naming the entry (``treatment[i]``) for an impossible plan.

    Rules: at most one surgery (the primary can be removed once); courses of the same kind must
    not overlap (two chemotherapy regimens, two endocrine agents, two immunotherapies at once;
    two radiotherapy courses on the same site); radiotherapy sites and chemotherapy site
    overrides must be ``primary`` or organ names; nothing may act on the primary after its
    surgery.
    """
    allowed = (PRIMARY, *organs)
    surgeries = [i for i, t in enumerate(plan) if isinstance(t, Surgery)]
    if len(surgeries) > 1:
        raise ParameterError(
            f"treatment[{surgeries[1]}]: a second surgery; the primary is removed once "
            f"(treatment[{surgeries[0]}]); allowed: one surgery entry"
        )
    t_surgery = plan[surgeries[0]].day if surgeries else math.inf
    for i, t in enumerate(plan):
        if isinstance(t, Radiotherapy):
            for s in t.sites:
                if s not in allowed:
                    from metacascade._messages import did_you_mean

                    raise ParameterError(
                        f"treatment[{i}].sites: unknown site {s!r}{did_you_mean(s, allowed)}; "
                        f"allowed: {', '.join(allowed)}"
                    )
            if PRIMARY in t.sites and t.day >= t_surgery:
                raise ParameterError(
                    f"treatment[{i}].sites: radiotherapy of the primary on day {t.day:g}, after "
                    f"its surgery on day {t_surgery:g}; allowed: before the surgery, or organ sites"
                )
        if isinstance(t, Chemotherapy):
            for s, _ in t.site_log_kill:
                if s not in allowed:
                    from metacascade._messages import did_you_mean

                    raise ParameterError(
                        f"treatment[{i}].site_log_kill: unknown site {s!r}"
                        f"{did_you_mean(s, allowed)}; allowed: {', '.join(allowed)}"
                    )
        for j in range(i):
            u = plan[j]
            if type(u) is not type(t) or isinstance(t, Surgery):
                continue
            if isinstance(t, Radiotherapy) and isinstance(u, Radiotherapy) and not set(t.sites) & set(u.sites):
                continue
            a0, a1 = _window(u)
            b0, b1 = _window(t)
            if b0 <= a1 and a0 <= b1:
                raise ParameterError(
                    f"treatment[{i}]: {t.kind} on days {b0:g}-{b1:g} overlaps treatment[{j}] "
                    f"({a0:g}-{a1:g}); allowed: courses of the same kind one after another"
                )


@dataclass(frozen=True)
class HostTimeline:
    """What the host model needs to turn immunity into dormancy (built by the scenario).

    ``growth_multiplier(estradiol_factor)``: growth rate of sensitive tumours relative to the
    patient's own rate when the effective estradiol level is multiplied by the factor (1 for
    hormone-insensitive tumours). ``dormancy(immunocompetence, killing) -> (probability,
    escape_rate_per_day)``: probability that a new colony is held dormant and the rate at which
    a dormant colony escapes (``inf``: dormancy cannot hold).
    """

    growth_multiplier: Callable[[float], float]
    dormancy: Callable[[float, float], tuple[float, float]]
    immunocompetence: float = 1.0


@dataclass(frozen=True)
class CompiledPlan:
    """A plan in model days, as arrays for the engines.

    ``breakpoints`` (n+1,) from 0 to the horizon; on interval i = [b_i, b_{i+1}):
    ``growth_rate[i]`` (clock speed of every tumour's growth), ``dormancy_probability[i]``,
    ``escape_rate[i]`` (1/day, inf: immediate). Kills (instantaneous, in time order):
    ``kill_time``, ``kill_log_sf`` (kills x sites: natural-log surviving fraction; sites are the
    organs, then the primary), ``kill_chemo`` (drug kill: spares resistant and dormant cells,
    triggers resistance sampling with ``kill_mutation_rate``), ``kill_norton_simon`` with
    ``kill_reference_rate`` (per-cell growth rate at the regimen's reference size).
    ``surgery_time`` (inf: none), ``surgery_node_organ`` (organ index cleared, -1: none),
    ``surgery_nodes_left`` (probability that a colony there stays), ``burst_cells``;
    ``end_time``: the last day a treatment acts (model days; -inf if none).
    """

    breakpoints: FloatArray
    growth_rate: FloatArray
    dormancy_probability: FloatArray
    escape_rate: FloatArray
    kill_time: FloatArray
    kill_log_sf: FloatArray
    kill_chemo: NDArray[np.bool_]
    kill_mutation_rate: FloatArray
    kill_norton_simon: NDArray[np.bool_]
    kill_reference_rate: FloatArray
    surgery_time: float
    surgery_node_organ: int
    burst_cells: float
    end_time: float
    entries: tuple[Treatment, ...] = field(default=())
    surgery_nodes_left: float = 0.0

    @property
    def trivial(self) -> bool:
        """True when nothing changes the untreated process."""
        return (
            self.kill_time.size == 0
            and not math.isfinite(self.surgery_time)
            and bool(np.all(self.growth_rate == 1.0))
            and bool(np.all(self.dormancy_probability == 0.0))
        )


def compile_plan(
    plan: Sequence[Treatment],
    organs: Sequence[str],
    diagnosis_time: float,
    horizon: float,
    host: HostTimeline,
    specific_rate: Callable[[float], float] | None = None,
) -> CompiledPlan:
    """Compile ``plan`` (days since diagnosis) into model time (``diagnosis_time`` + day).

    ``specific_rate(x)``: per-cell growth rate of a tumour of ``x`` cells (Norton-Simon only).
    Entries starting after the horizon are dropped; kills after it never happen.
    """
    organs = tuple(organs)
    check_plan(plan, organs)
    n_sites = len(organs) + 1
    site_index = {name: j for j, name in enumerate(organs)} | {PRIMARY: len(organs)}
    edges = {0.0, float(horizon)}
    kills: list[tuple[float, int, FloatArray, bool, float, bool, float]] = []  # time, order, ls, chemo, u, ns, ref
    windows_growth: list[tuple[float, float, float]] = []
    windows_immune: list[tuple[float, float, float]] = []  # start, end, immunocompetence factor
    windows_killing: list[tuple[float, float, float]] = []
    surgery_time, node_organ, burst, end, nodes_left = math.inf, -1, 0.0, -math.inf, 0.0
    for order, t in enumerate(plan):
        t0 = diagnosis_time + t.day
        end = max(end, diagnosis_time + t.end_day)
        if isinstance(t, Surgery):
            surgery_time = t0
            node_organ = organs.index("lymph_regional") if t.nodes and "lymph_regional" in organs else -1
            if t.nodes and node_organ < 0:
                raise ParameterError("treatment surgery.nodes: the body has no 'lymph_regional' organ to dissect")
            burst = t.shed_cells
            nodes_left = t.nodes_left_fraction if t.nodes else 0.0
        elif isinstance(t, Chemotherapy):
            ls = np.full(n_sites, -t.log_kill * math.log(10.0))
            for s, v in t.site_log_kill:
                ls[site_index[s]] = -v * math.log(10.0)
            ref = float(specific_rate(t.reference_cells)) if (t.norton_simon and specific_rate) else 1.0
            if t.norton_simon and not (specific_rate and ref > 0):
                raise ParameterError(
                    "chemotherapy.norton_simon: the growth law has no positive growth rate at "
                    f"reference_cells = {t.reference_cells:g}"
                )
            for d in t.dose_days:
                kills.append((diagnosis_time + d, order, ls, True, t.mutation_rate, t.norton_simon, ref))
                if t.myelosuppression > 0:
                    windows_immune.append(
                        (diagnosis_time + d, diagnosis_time + d + t.recovery_days, 1.0 - t.myelosuppression)
                    )
        elif isinstance(t, Radiotherapy):
            for d, lsf in zip(t.fraction_days, t.log_surviving_fraction()):
                ls = np.zeros(n_sites)
                for s in t.sites:
                    ls[site_index[s]] = lsf
                kills.append((diagnosis_time + d, order, ls, False, 0.0, False, 1.0))
        elif isinstance(t, Endocrine):
            windows_growth.append((t0, diagnosis_time + t.end_day, float(host.growth_multiplier(t.estradiol_factor))))
        elif isinstance(t, Immunotherapy):
            windows_killing.append((t0, diagnosis_time + t.end_day, t.killing_factor))
    for a, b, _ in windows_growth + windows_immune + windows_killing:
        edges.update((a, b))
    for k in kills:
        edges.add(k[0])
    if math.isfinite(surgery_time):
        edges.add(surgery_time)
    bp = np.array(sorted(e for e in edges if 0.0 <= e <= horizon))
    mid = 0.5 * (bp[:-1] + bp[1:])

    def product(windows: list[tuple[float, float, float]]) -> FloatArray:
        out = np.ones(mid.size)
        for a, b, f in windows:
            out[(mid >= a) & (mid < b)] *= f
        return out

    rate = product(windows_growth)
    kappa = host.immunocompetence * product(windows_immune)
    killing = product(windows_killing)
    p_d = np.empty(mid.size)
    esc = np.empty(mid.size)
    for i in range(mid.size):
        p_d[i], esc[i] = host.dormancy(float(kappa[i]), float(killing[i]))
    kills = sorted((k for k in kills if k[0] <= horizon), key=lambda k: (k[0], k[1]))
    n_k = len(kills)
    return CompiledPlan(
        breakpoints=bp,
        growth_rate=rate,
        dormancy_probability=p_d,
        escape_rate=esc,
        kill_time=np.array([k[0] for k in kills], dtype=float),
        kill_log_sf=np.array([k[2] for k in kills], dtype=float).reshape(n_k, n_sites),
        kill_chemo=np.array([k[3] for k in kills], dtype=bool),
        kill_mutation_rate=np.array([k[4] for k in kills], dtype=float),
        kill_norton_simon=np.array([k[5] for k in kills], dtype=bool),
        kill_reference_rate=np.array([k[6] for k in kills], dtype=float),
        surgery_time=surgery_time if surgery_time <= horizon else math.inf,
        surgery_node_organ=node_organ,
        burst_cells=burst,
        end_time=end,
        entries=tuple(plan),
        surgery_nodes_left=nodes_left,
    )


def no_host() -> HostTimeline:
    """A host with no hormone sensitivity and no immune dormancy."""
    return HostTimeline(growth_multiplier=lambda f: 1.0, dormancy=lambda k, f: (0.0, 0.0))
