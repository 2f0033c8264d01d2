r"""The body graph and the routing of disseminated cells (model layer; docs/design.md section 1.3).

The body is a directed graph of **pools** (venous, arterial and portal blood, the vertebral
venous plexus, lymph, CSF, the peritoneal and pleural cavities) and **organs** (capillary beds
where a cell can arrest). A cell that leaves pool :math:`q` survives the transit with
probability :math:`s_q = e^{-k\,\tau_q}` (:math:`k` the clearance rate: shear, anoikis, NK
cells) and moves to destination :math:`d` with the share :math:`w_{qd}` (blood: the organs'
share of cardiac output). A cell entering organ :math:`j` arrests there with probability
:math:`a_j`; otherwise it leaves by the organ's outflow pool (lungs -> arterial blood, gut ->
portal vein, liver -> caval veins, ...), and may recirculate.

This is an absorbing Markov chain with transient states (pools and organ beds) and absorbing
states ("arrested in organ :math:`j`", "dead in transit"). With :math:`Q` the transient-to-
transient and :math:`R` the transient-to-absorbing transition matrices, the probability of
ending in each absorbing state from each transient state is

.. math:: A = (I - Q)^{-1} R

(the fundamental matrix sums over all paths, including any number of passes through beds and
returns to the heart; Kemeny & Snell 1960). Every cell is conserved: each row of :math:`A`
sums to 1, and after :math:`n` transitions :math:`\pi_n = e_s^\top Q^n` is the part still in
transit. A cell arrested in organ :math:`j` founds a colony with the organ's colonisation
efficiency :math:`\sigma_j` (seed and soil, Paget 1889; per cancer type) times the probability
that its lineage escapes early extinction (:math:`1 - \delta/\beta`). Hence the founding
probabilities

.. math:: F_{sj} = A_{s,j}\,\sigma_j\,(1 - \delta/\beta),

the primary's routing vector :math:`p_j = \sum_s r_s F_{sj}` over its route split
:math:`r` (venous drainage, lymph, CSF, cavities) and the colonies' matrix
:math:`R_{ij} = F_{c(i)\,j}`, :math:`c(i)` the pool a colony in organ :math:`i` sheds into. The
latter has rank at most the number of pools and is returned in factored form
:math:`R^\top = U V`.

References
----------
.. [1] Chambers AF, Groom AC, MacDonald IC. Dissemination and growth of cancer cells in
   metastatic sites. Nat Rev Cancer 2002;2:563-572.
.. [2] Kemeny JG, Snell JL. Finite Markov Chains. Van Nostrand 1960, ch. III.
.. [3] Paget S. The distribution of secondary growths in cancer of the breast. Lancet 1889;1:571.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from metacascade.errors import DataError, ParameterError

__all__ = ["BodyGraph", "Routing", "load_body_graph", "default_body_graph"]

FloatArray = NDArray[np.float64]
_MINUTES_PER_DAY = 1440.0


def _names(kind: str, given: Any, allowed: tuple[str, ...]) -> str:
    from metacascade._messages import did_you_mean

    return f"unknown {kind} {given!r}{did_you_mean(str(given), allowed)}; allowed: {', '.join(allowed)}"


def _probability(name: str, value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name}: got {value!r}, allowed a probability in [0, 1]") from None
    if not (math.isfinite(v) and 0.0 <= v <= 1.0):
        raise ParameterError(f"{name}: got {value!r}, allowed a probability in [0, 1]")
    return v


def _nonneg(name: str, value: Any, what: str = "a finite number >= 0") -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name}: got {value!r}, allowed {what}") from None
    if not (math.isfinite(v) and v >= 0.0):
        raise ParameterError(f"{name}: got {value!r}, allowed {what}")
    return v


@dataclass(frozen=True)
class Routing:
    """Where the cells shed by the primary and by colonies found colonies (one cancer type).

    Attributes
    ----------
    organs : tuple of str
    primary : ndarray (n_organs,)
        probability that one cell shed by the primary founds a colony in each organ.
    colony : ndarray (n_organs, n_organs)
        ``colony[i, j]``: probability that one cell shed by a colony in organ ``i`` founds a
        colony in organ ``j``.
    factors : (U, V)
        ``colony.T == U @ V`` with ``U`` (n_organs, n_pools), ``V`` (n_pools, n_organs) one-hot
        (organ -> the pool its colonies shed into); the engines use the low-rank form.
    primary_arrest : ndarray (n_organs,)
        probability that a shed cell of the primary arrests in each organ (before soil).
    primary_dead : float
        probability that a shed cell of the primary dies in transit.
    """

    organs: tuple[str, ...]
    primary: FloatArray
    colony: FloatArray
    factors: tuple[FloatArray, FloatArray]
    primary_arrest: FloatArray
    primary_dead: float

    def as_dict(self) -> dict[str, float]:
        """The primary's founding probability per organ."""
        return dict(zip(self.organs, map(float, self.primary)))


@dataclass(frozen=True)
class BodyGraph:
    """Organs, pools and the edges between them (see the module docstring for the model).

    Build it with :func:`load_body_graph` / :func:`default_body_graph`; change it with
    :meth:`with_changes` and :meth:`without_edge`, which validate again.

    Attributes
    ----------
    organs, pools : tuple of str
    arrest : ndarray (n_organs,)
        fraction of the cells entering an organ's bed that arrest there.
    outflow, colony_drainage : tuple of str
        per organ, the pool unarrested cells leave by, and the pool its colonies shed into.
    blood_borne : tuple of bool
        per organ, whether it must be reachable from the venous blood.
    transit_minutes : ndarray (n_pools,)
    shares : tuple of dict
        per pool, destination (organ or pool) -> share of the cells leaving it (sum 1).
    clearance_per_day : float
        clearance rate of cells in blood, k (1/day): the default of every pool.
    pool_clearance : tuple of (float or None), optional
        per pool, its own clearance rate (1/day) where it differs from the blood's (lymph,
        CSF, cavities); None entries use ``clearance_per_day``.
    early_survival : float
        probability that a new colony escapes early extinction, 1 - death/birth.
    descriptions : dict
        what each organ and pool is.
    """

    organs: tuple[str, ...]
    pools: tuple[str, ...]
    arrest: FloatArray
    outflow: tuple[str, ...]
    colony_drainage: tuple[str, ...]
    blood_borne: tuple[bool, ...]
    transit_minutes: FloatArray
    shares: tuple[dict[str, float], ...]
    clearance_per_day: float
    early_survival: float
    pool_clearance: tuple[float | None, ...] | None = None
    descriptions: dict[str, str] = field(default_factory=dict, compare=False)
    # the absorbing chain's matrices, computed in __post_init__ (transient -> transient, -> absorbed;
    # absorption probabilities)
    _q: FloatArray = field(init=False, repr=False, compare=False)
    _r: FloatArray = field(init=False, repr=False, compare=False)
    _absorb: FloatArray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._validate()
        q, r = self._transitions()
        m = np.eye(q.shape[0]) - q
        try:
            absorb = np.linalg.solve(m, r)
        except np.linalg.LinAlgError:
            absorb = np.full_like(r, np.nan)
        if not np.all(np.isfinite(absorb)) or np.any(np.abs(absorb.sum(axis=1) - 1.0) > 1e-9):
            raise ParameterError(
                "body graph: some cells circulate for ever (a closed loop of pools and organs with no "
                "arrest and no loss in transit); give a positive arrest fraction or clearance_per_day"
            )
        object.__setattr__(self, "_q", q)
        object.__setattr__(self, "_r", r)
        object.__setattr__(self, "_absorb", absorb)

    # -- validation -----------------------------------------------------------------------------
    def _validate(self) -> None:
        if not self.organs or not self.pools:
            raise ParameterError("body graph: needs at least one organ and one pool")
        overlap = set(self.organs) & set(self.pools)
        if overlap:
            raise ParameterError(f"body graph: names used both for an organ and a pool: {sorted(overlap)}")
        if len(set(self.organs)) != len(self.organs) or len(set(self.pools)) != len(self.pools):
            raise ParameterError("body graph: organ and pool names must be unique")
        n = len(self.organs)
        for name, seq in (
            ("arrest", self.arrest),
            ("outflow", self.outflow),
            ("colony_drainage", self.colony_drainage),
            ("blood_borne", self.blood_borne),
        ):
            if len(seq) != n:
                raise ParameterError(f"body graph: {name} has {len(seq)} entries for {n} organs")
        for organ, a in zip(self.organs, self.arrest):
            _probability(f"organs.{organ}.arrest", a)
        for organ, out, drain in zip(self.organs, self.outflow, self.colony_drainage):
            if out not in self.pools:
                raise ParameterError(f"organs.{organ}.outflow: {_names('pool', out, self.pools)}")
            if drain not in self.pools:
                raise ParameterError(f"organs.{organ}.colony_drainage: {_names('pool', drain, self.pools)}")
        if len(self.transit_minutes) != len(self.pools) or len(self.shares) != len(self.pools):
            raise ParameterError("body graph: transit_minutes and shares need one entry per pool")
        for pool, tau in zip(self.pools, self.transit_minutes):
            _nonneg(f"pools.{pool}.transit_minutes", tau, "a finite transit time >= 0 (minutes)")
        if self.pool_clearance is not None:
            if len(self.pool_clearance) != len(self.pools):
                raise ParameterError("body graph: pool_clearance needs one entry per pool")
            for pool, k in zip(self.pools, self.pool_clearance):
                if k is not None:
                    _nonneg(f"pools.{pool}.clearance_per_day", k, "a finite rate >= 0 (1/day)")
        _nonneg("circulation.clearance_per_day", self.clearance_per_day, "a finite rate >= 0 (1/day)")
        _probability("circulation.early_survival", self.early_survival)
        states = self.organs + self.pools
        for pool, to in zip(self.pools, self.shares):
            if not to:
                raise ParameterError(f"pools.{pool}.to: a pool needs at least one destination")
            for dest, w in to.items():
                if dest not in states:
                    raise ParameterError(f"pools.{pool}.to: {_names('organ or pool', dest, states)}")
                if dest == pool:
                    raise ParameterError(f"pools.{pool}.to: a pool cannot flow into itself")
                _nonneg(f"pools.{pool}.to.{dest}", w, "a non-negative flow share")
            total = sum(to.values())
            if abs(total - 1.0) > 1e-6:
                raise ParameterError(f"pools.{pool}.to: shares sum to {total:.6g}, allowed: they must sum to 1")
        reach = self.reachable_from("venous") if "venous" in self.pools else set()
        for organ, bb in zip(self.organs, self.blood_borne):
            if bb and organ not in reach:
                raise ParameterError(
                    f"body graph: organ {organ!r} is marked blood_borne but cannot be reached from the venous "
                    "blood; add an edge that leads to it (e.g. a share of pools.arterial.to)"
                )

    # -- structure ------------------------------------------------------------------------------
    @property
    def states(self) -> tuple[str, ...]:
        """Transient states: organ beds first, then pools."""
        return self.organs + self.pools

    def _index(self, name: str) -> int:
        try:
            return self.states.index(name)
        except ValueError:
            raise ParameterError(_names("organ or pool", name, self.states)) from None

    def successors(self, state: str) -> set[str]:
        """States a cell can move to from ``state`` (positive shares or outflow)."""
        if state in self.organs:
            i = self.organs.index(state)
            return {self.outflow[i]} if self.arrest[i] < 1.0 else set()
        to = self.shares[self.pools.index(state)]
        return {d for d, w in to.items() if w > 0}

    def reachable_from(self, state: str) -> set[str]:
        """All states reachable from ``state`` (breadth-first over positive edges)."""
        self._index(state)
        seen, frontier = {state}, [state]
        while frontier:
            nxt = []
            for s in frontier:
                for d in self.successors(s):
                    if d not in seen:
                        seen.add(d)
                        nxt.append(d)
            frontier = nxt
        return seen

    def pool_clearance_per_day(self) -> FloatArray:
        """Per pool, the clearance rate k (1/day) that applies in it."""
        own = self.pool_clearance or (None,) * len(self.pools)
        return np.array([self.clearance_per_day if k is None else float(k) for k in own])

    def transit_survival(self) -> FloatArray:
        """Per pool, probability of surviving one transit, exp(-k tau)."""
        return np.asarray(
            np.exp(-self.pool_clearance_per_day() * np.asarray(self.transit_minutes, float) / _MINUTES_PER_DAY),
            dtype=np.float64,
        )

    def _transitions(self) -> tuple[FloatArray, FloatArray]:
        """Q (transient -> transient) and R (transient -> arrested in organ j | dead)."""
        n, states = len(self.organs), self.organs + self.pools
        index = {s: i for i, s in enumerate(states)}
        q = np.zeros((len(states), len(states)))
        r = np.zeros((len(states), n + 1))
        pool_index = {p: i for i, p in enumerate(self.pools)}
        for i in range(len(self.organs)):
            r[i, i] = self.arrest[i]
            q[i, index[self.outflow[i]]] = 1.0 - self.arrest[i]
        survival = self.transit_survival()
        for pool, to in zip(self.pools, self.shares):
            k = index[pool]
            s = survival[pool_index[pool]]
            total = sum(to.values())
            for dest, w in to.items():
                q[k, index[dest]] += s * w / total
            r[k, n] = 1.0 - s
        return q, r

    # -- results --------------------------------------------------------------------------------
    def absorption(self) -> FloatArray:
        """(n_states, n_organs + 1): from each transient state (:attr:`states`), the probability
        of arresting in each organ (columns in :attr:`organs` order) and, last, of dying in transit."""
        return self._absorb.copy()

    def in_transit(self, start: str, n_steps: int) -> tuple[FloatArray, float, float]:
        """Where a cell starting in ``start`` is after ``n_steps`` transitions.

        Returns (arrested per organ, dead, still in transit); they sum to 1 for every
        ``n_steps`` (cells are conserved) and tend to :meth:`absorption` as ``n_steps`` grows.
        """
        if int(n_steps) != n_steps or n_steps < 0:
            raise ParameterError(f"n_steps: got {n_steps!r}, allowed an integer >= 0")
        q, r = self._q, self._r
        pi = np.zeros(q.shape[0])
        pi[self._index(start)] = 1.0
        absorbed = np.zeros(r.shape[1])
        for _ in range(int(n_steps)):
            absorbed += pi @ r
            pi = pi @ q
        return absorbed[:-1], float(absorbed[-1]), float(pi.sum())

    def routing(self, soil: Mapping[str, float], routes: Mapping[str, float]) -> Routing:
        """Founding probabilities for a cancer type.

        Parameters
        ----------
        soil : mapping organ -> colonisation efficiency in [0, 1]
            organs not given have efficiency 0 (no colonies there).
        routes : mapping organ-or-pool -> share
            where the primary's shed cells enter the body (its venous drainage, regional
            lymph nodes, CSF, cavities); shares >= 0 summing to 1.
        """
        sigma = np.zeros(len(self.organs))
        for organ, value in soil.items():
            if organ not in self.organs:
                raise ParameterError(f"soil: {_names('organ', organ, self.organs)}")
            sigma[self.organs.index(organ)] = _probability(f"soil.{organ}", value)
        if not routes:
            raise ParameterError("routes: give at least one entry route (e.g. venous = 1.0)")
        entry = np.zeros(len(self.states))
        for name, value in routes.items():
            if name not in self.states:
                raise ParameterError(f"routes: {_names('route (organ or pool)', name, self.states)}")
            entry[self.states.index(name)] = _nonneg(f"routes.{name}", value, "a non-negative share")
        if abs(entry.sum() - 1.0) > 1e-6:
            raise ParameterError(f"routes: shares sum to {entry.sum():.6g}, allowed: they must sum to 1")
        arrest = self._absorb[:, :-1]
        found = arrest * (sigma * self.early_survival)[None, :]
        primary = entry @ found
        drain_pools = tuple(dict.fromkeys(self.colony_drainage))
        v = np.zeros((len(drain_pools), len(self.organs)))
        for i, pool in enumerate(self.colony_drainage):
            v[drain_pools.index(pool), i] = 1.0
        u = np.stack([found[self.states.index(p)] for p in drain_pools], axis=1)
        colony = (u @ v).T
        return Routing(
            organs=self.organs,
            primary=primary,
            colony=colony,
            factors=(u, v),
            primary_arrest=entry @ arrest,
            primary_dead=float(entry @ self._absorb[:, -1]),
        )

    # -- changes --------------------------------------------------------------------------------
    def with_changes(
        self,
        *,
        arrest: Mapping[str, float] | None = None,
        clearance_per_day: float | None = None,
        early_survival: float | None = None,
        shares: Mapping[str, Mapping[str, float]] | None = None,
    ) -> BodyGraph:
        """A copy with some values replaced (validated again)."""
        new_arrest = np.array(self.arrest, dtype=float)
        for organ, value in (arrest or {}).items():
            if organ not in self.organs:
                raise ParameterError(f"arrest: {_names('organ', organ, self.organs)}")
            new_arrest[self.organs.index(organ)] = _probability(f"arrest.{organ}", value)
        new_shares = list(self.shares)
        for pool, to in (shares or {}).items():
            if pool not in self.pools:
                raise ParameterError(f"shares: {_names('pool', pool, self.pools)}")
            new_shares[self.pools.index(pool)] = {**new_shares[self.pools.index(pool)], **dict(to)}
        return replace(
            self,
            arrest=new_arrest,
            shares=tuple(new_shares),
            clearance_per_day=self.clearance_per_day if clearance_per_day is None else clearance_per_day,
            early_survival=self.early_survival if early_survival is None else early_survival,
        )

    def without_edge(self, pool: str, destination: str) -> BodyGraph:
        """A copy without the edge ``pool -> destination``; the pool's other shares are rescaled
        to sum to 1 (e.g. no arterial flow to the brain: the rest of cardiac output keeps its
        proportions)."""
        if pool not in self.pools:
            raise ParameterError(f"pool: {_names('pool', pool, self.pools)}")
        to = dict(self.shares[self.pools.index(pool)])
        if destination not in to:
            raise ParameterError(
                f"destination: pool {pool!r} has no edge to {destination!r}; its edges go to: {', '.join(to)}"
            )
        del to[destination]
        total = sum(to.values())
        if total <= 0:
            raise ParameterError(f"pool {pool!r}: removing its edge to {destination!r} leaves no destination")
        new_shares = list(self.shares)
        new_shares[self.pools.index(pool)] = {d: w / total for d, w in to.items()}
        return replace(self, shares=tuple(new_shares))


# -- loading --------------------------------------------------------------------------------------
def _from_dict(raw: Mapping[str, Any], source: str) -> BodyGraph:
    from pydantic import BaseModel, ConfigDict, Field, ValidationError

    from metacascade._messages import format_validation_error

    strict = ConfigDict(extra="forbid", allow_inf_nan=False)

    class _Pool(BaseModel):
        model_config = strict
        description: str = ""
        transit_minutes: float = Field(ge=0)
        clearance_per_day: float | None = Field(default=None, ge=0)
        to: dict[str, float]

    class _Organ(BaseModel):
        model_config = strict
        description: str = ""
        arrest: float = Field(ge=0, le=1)
        outflow: str
        colony_drainage: str | None = None
        blood_borne: bool = True

    class _Circulation(BaseModel):
        model_config = strict
        clearance_per_day: float = Field(ge=0)
        early_survival: float = Field(ge=0, le=1)

    class _Body(BaseModel):
        model_config = strict
        circulation: _Circulation
        pools: dict[str, _Pool] = Field(min_length=1)
        organs: dict[str, _Organ] = Field(min_length=1)

    try:
        body = _Body.model_validate(raw)
    except ValidationError as exc:
        raise DataError(format_validation_error(exc, _Body, source)) from None
    organs = tuple(body.organs)
    pools = tuple(body.pools)
    descriptions = {
        **{k: v.description for k, v in body.organs.items()},
        **{k: v.description for k, v in body.pools.items()},
    }
    try:
        return BodyGraph(
            organs=organs,
            pools=pools,
            arrest=np.array([o.arrest for o in body.organs.values()]),
            outflow=tuple(o.outflow for o in body.organs.values()),
            colony_drainage=tuple(o.colony_drainage or o.outflow for o in body.organs.values()),
            blood_borne=tuple(o.blood_borne for o in body.organs.values()),
            transit_minutes=np.array([p.transit_minutes for p in body.pools.values()]),
            shares=tuple(dict(p.to) for p in body.pools.values()),
            clearance_per_day=body.circulation.clearance_per_day,
            early_survival=body.circulation.early_survival,
            pool_clearance=tuple(p.clearance_per_day for p in body.pools.values()),
            descriptions=descriptions,
        )
    except ParameterError as exc:
        raise DataError(f"{source}: {exc}") from None


def load_body_graph(path: str | Path | None = None) -> BodyGraph:
    """Read a body graph TOML file (the shipped ``data/body.toml`` when ``path`` is None)."""
    if path is None:
        return default_body_graph()
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{p}: cannot read the body graph file: {exc}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"{p}: corrupt body graph file: {exc}") from None
    return _from_dict(raw, str(p))


@lru_cache(maxsize=1)
def default_body_graph() -> BodyGraph:
    """The shipped adult body graph (``metacascade/data/body.toml``, every value sourced)."""
    text = files("metacascade").joinpath("data/body.toml").read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # pragma: no cover - shipped file
        raise DataError(f"metacascade/data/body.toml: corrupt: {exc}") from None
    return _from_dict(raw, "metacascade/data/body.toml")
