"""Numba kernel of the stochastic engine: one batch of virtual patients (see engines/stochastic.py)."""

from __future__ import annotations

import math

import numba
import numpy as np

from metacascade._rng import exponential, uniform
from metacascade.model.intensity import hermite_inverse_one

__all__ = ["simulate_batch"]


@numba.njit(cache=True, inline="always")
def _categorical(cum: np.ndarray, u: float) -> int:  # pragma: no cover - jit
    """Index j with cum[j-1] <= u < cum[j] (cum non-decreasing, last entry 1)."""
    n = cum.size
    lo, hi = 0, n - 1
    while lo < hi:
        mid = (lo + hi) >> 1
        if cum[mid] > u:
            hi = mid
        else:
            lo = mid + 1
    return lo  # an organ of zero probability repeats its predecessor's entry, so it is never chosen


@numba.njit(cache=True, inline="always")
def _delay(t_tab: np.ndarray, cdf_tab: np.ndarray, u: float) -> float:  # pragma: no cover - jit
    """Inverse of the piecewise-linear establishment CDF at u."""
    n = t_tab.size - 1
    if t_tab[n] == 0.0:
        return 0.0
    lo, hi = 0, n
    while hi - lo > 1:
        mid = (lo + hi) >> 1
        if cdf_tab[mid] <= u:
            lo = mid
        else:
            hi = mid
    width = cdf_tab[hi] - cdf_tab[lo]
    if width <= 0.0:
        return float(t_tab[lo])
    return float(t_tab[lo] + (t_tab[hi] - t_tab[lo]) * (u - cdf_tab[lo]) / width)


@numba.njit(cache=True, inline="always")
def _log_size(tab: np.ndarray, step: float, a: float) -> float:  # pragma: no cover - jit
    """Linear interpolation of a log-size table on the uniform grid 0, step, 2 step, ..."""
    n = tab.size - 1
    x = a / step
    if x <= 0.0:
        return float(tab[0])
    i = int(x)
    if i >= n:
        return float(tab[n])
    w = x - i
    return float(tab[i] * (1.0 - w) + tab[i + 1] * w)


@numba.njit(cache=True, nogil=True)
def simulate_batch(
    states,
    horizon,
    tp,
    Hp,
    hp,
    cum_primary,
    secondary,
    tc,
    Hc,
    hc,
    colony_total,
    cum_colony,
    t_tab,
    cdf_tab,
    tau,
    out_t,
    logx_colony,
    logx_primary,
    size_step,
    lethal,
    max_colonies,
    seed_until,
    stop_at_death,
    snap,
    sums,
    squares,
    block,
):  # pragma: no cover - jit
    """Simulate ``states.shape[0]`` patients; see :func:`metacascade.engines.stochastic.simulate_patients`.

    Returns per-patient arrays (counts above sizes, established, founded, burden per output time
    and organ; first detection per organ; death time; colony count; overflow flag) and the
    colony log (patient row, parent, organ, generation, founded, established).
    """
    n_pat = states.shape[0]
    n_org = cum_primary.size
    n_t = out_t.size
    n_k = tau.size - 1  # the last entry is the age at the detection size
    n_s = snap.size
    counts_at = np.zeros((n_pat, n_s, n_org, n_k), dtype=np.int32)
    established_at = np.zeros((n_pat, n_s, n_org), dtype=np.int32)
    burden_at = np.zeros((n_pat, n_s, n_org))
    counts = np.zeros((n_t, n_org, n_k), dtype=np.int32)  # scratch, one patient at a time
    established = np.zeros((n_t, n_org), dtype=np.int32)
    founded = np.zeros((n_t, n_org), dtype=np.int32)
    burden = np.zeros((n_t, n_org))
    first_j = np.empty(n_org, dtype=np.int64)
    first_detect = np.full((n_pat, n_org), np.inf)
    death = np.full(n_pat, np.inf)
    n_colonies = np.zeros(n_pat, dtype=np.int64)
    overflow = np.zeros(n_pat, dtype=np.bool_)

    log_int = np.empty((1024, 4), dtype=np.int64)  # patient row, parent, organ, generation
    log_time = np.empty((1024, 2))  # founded, established (model days)
    n_log = 0
    t_step = out_t[1] - out_t[0] if n_t > 1 else 1.0

    for p in range(n_pat):
        s = states[p].copy()
        start = n_log
        # -- primary seeding: unit-rate arrivals mapped through the cumulative intensity --------
        e_sum = 0.0
        while True:
            e_sum += exponential(s)
            tf = hermite_inverse_one(tp, Hp, hp, e_sum)
            if tf > seed_until:
                break
            organ = _categorical(cum_primary, uniform(s))
            delay = _delay(t_tab, cdf_tab, uniform(s))
            log_int, log_time = _append(log_int, log_time, n_log, p, -1, organ, 1, tf, tf + delay)
            n_log += 1
            if n_log - start > max_colonies:
                overflow[p] = True
                break
        # -- secondary seeding, colony by colony in order of appearance ------------------------
        if secondary and not overflow[p]:
            i = start
            while i < n_log:
                entry = log_time[i, 1]
                org = log_int[i, 2]
                rate_total = colony_total[org]
                if entry < seed_until and rate_total > 0.0:
                    age_max = seed_until - entry
                    e_sum = 0.0
                    while True:
                        e_sum += exponential(s) / rate_total
                        a = hermite_inverse_one(tc, Hc, hc, e_sum)
                        if a > age_max:
                            break
                        child = _categorical(cum_colony[org], uniform(s))
                        delay = _delay(t_tab, cdf_tab, uniform(s))
                        log_int, log_time = _append(
                            log_int,
                            log_time,
                            n_log,
                            p,
                            i - start,
                            child,
                            log_int[i, 3] + 1,
                            entry + a,
                            entry + a + delay,
                        )
                        n_log += 1
                        if n_log - start > max_colonies:
                            overflow[p] = True
                            break
                if overflow[p]:
                    break
                i += 1
        # -- death: first time primary + established colonies reach the lethal burden ----------
        t_death = _death_time(logx_primary, logx_colony, size_step, log_time, start, n_log, lethal, horizon)
        death[p] = t_death
        t_cut = t_death if stop_at_death else np.inf  # later events do not happen (stop_at_death)
        # -- statistics at the output times: difference arrays, then cumulative sums --------------
        first_j[:] = n_t  # first output index touched, per organ (scratch arrays are zero before it)
        kept = 0
        for c in range(start, n_log):
            tf = log_time[c, 0]
            if tf > t_cut:
                continue
            kept += 1
            org = log_int[c, 2]
            j0 = _first_index(out_t, t_step, tf)
            if j0 < n_t:
                founded[j0, org] += 1
                if j0 < first_j[org]:
                    first_j[org] = j0
            entry = log_time[c, 1]
            if entry > t_cut:
                continue
            j1 = _first_index(out_t, t_step, entry)
            if j1 < n_t:
                established[j1, org] += 1
                for j in range(j1, n_t):
                    tj = min(t_cut, out_t[j])
                    burden[j, org] += math.exp(_log_size(logx_colony, size_step, tj - entry))
            for k in range(n_k):
                tk = entry + tau[k]
                if tk > t_cut:
                    continue
                jk = _first_index(out_t, t_step, tk)
                if jk < n_t:
                    counts[jk, org, k] += 1
            td = entry + tau[n_k]
            if td <= horizon and td <= t_cut and td < first_detect[p, org]:
                first_detect[p, org] = td
        n_colonies[p] = kept
        for o in range(n_org):
            for j in range(max(first_j[o], 1), n_t):
                founded[j, o] += founded[j - 1, o]
                established[j, o] += established[j - 1, o]
                for k in range(n_k):
                    counts[j, o, k] += counts[j - 1, o, k]
        # sums over patients, in patient order within blocks of `block` patients (independent of
        # the batching: batches hold whole blocks); rows before first_j[o] are zero
        add_to_block(sums, squares, p // block, counts, established, founded, burden, first_j)
        for i in range(n_s):
            counts_at[p, i] = counts[snap[i]]
            established_at[p, i] = established[snap[i]]
            burden_at[p, i] = burden[snap[i]]
        for o in range(n_org):  # reset the touched rows for the next patient
            for j in range(first_j[o], n_t):
                founded[j, o] = 0
                established[j, o] = 0
                burden[j, o] = 0.0
                for k in range(n_k):
                    counts[j, o, k] = 0
    return (
        counts_at,
        established_at,
        burden_at,
        first_detect,
        death,
        n_colonies,
        overflow,
        log_int[:n_log, 0].copy(),
        log_int[:n_log, 1].copy(),
        log_int[:n_log, 2].copy(),
        log_int[:n_log, 3].copy(),
        log_time[:n_log, 0].copy(),
        log_time[:n_log, 1].copy(),
    )


@numba.njit(cache=True)
def add_to_block(sums, squares, bl, counts, established, founded, burden, first_j):  # pragma: no cover - jit
    """Add one patient's series (rows from first_j[o] on; earlier rows are zero) to block bl's
    sums and sums of squares: [series, time, organ(, size)]."""
    n_t, n_org, n_k = counts.shape
    for o in range(n_org):
        for j in range(first_j[o], n_t):
            for k in range(n_k):
                v = float(counts[j, o, k])
                sums[bl, 0, j, o, k] += v
                squares[bl, 0, j, o, k] += v * v
            v = float(established[j, o])
            sums[bl, 1, j, o, 0] += v
            squares[bl, 1, j, o, 0] += v * v
            v = float(founded[j, o])
            sums[bl, 2, j, o, 0] += v
            squares[bl, 2, j, o, 0] += v * v
            v = burden[j, o]
            sums[bl, 3, j, o, 0] += v
            squares[bl, 3, j, o, 0] += v * v


@numba.njit(cache=True)
def _total_burden(logx_primary, logx_colony, step, log_time, start, stop, t):  # pragma: no cover - jit
    """Primary plus established colonies at time t, and its time derivative (cells, cells/day)."""
    lx = _log_size(logx_primary, step, t)
    i = min(max(int(t / step), 0), logx_primary.size - 2)
    total = math.exp(lx)
    slope = total * (logx_primary[i + 1] - logx_primary[i]) / step
    for c in range(start, stop):
        a = t - log_time[c, 1]
        if a >= 0.0:
            x = math.exp(_log_size(logx_colony, step, a))
            total += x
            k = min(int(a / step), logx_colony.size - 2)
            slope += x * (logx_colony[k + 1] - logx_colony[k]) / step
    return total, slope


@numba.njit(cache=True)
def _death_time(logx_primary, logx_colony, step, log_time, start, stop, lethal, horizon):  # pragma: no cover
    """First t in [0, horizon] with total burden >= lethal (inf if none): safeguarded Newton.

    The total burden is non-decreasing (every growth law grows below its capacity), so the
    bracket [lo, hi] with B(lo) < lethal <= B(hi) shrinks monotonically.
    """
    b_hi, _ = _total_burden(logx_primary, logx_colony, step, log_time, start, stop, horizon)
    if b_hi < lethal:
        return np.inf
    b_lo, _ = _total_burden(logx_primary, logx_colony, step, log_time, start, stop, 0.0)
    if b_lo >= lethal:
        return 0.0
    lo, hi = 0.0, horizon
    t = 0.5 * (lo + hi)
    for _ in range(200):
        b, slope = _total_burden(logx_primary, logx_colony, step, log_time, start, stop, t)
        if b >= lethal:
            hi = t
        else:
            lo = t
        if hi - lo <= 1e-9 * max(1.0, hi):
            break
        t_new = t - (b - lethal) / slope if slope > 0.0 else 0.5 * (lo + hi)
        if not (lo < t_new < hi) or abs(t_new - t) > 0.5 * (hi - lo):
            t_new = 0.5 * (lo + hi)
        t = t_new
    return hi


@numba.njit(cache=True, inline="always")
def _first_index(out_t: np.ndarray, step: float, t: float) -> int:  # pragma: no cover - jit
    """First index j with out_t[j] >= t (out_t uniform with spacing step); n_t if none."""
    n_t = out_t.size
    if t <= out_t[0]:
        return 0
    if t > out_t[n_t - 1]:
        return n_t
    j = int(math.ceil((t - out_t[0]) / step))
    j = min(j, n_t - 1)
    while j > 0 and out_t[j - 1] >= t:
        j -= 1
    while j < n_t and out_t[j] < t:
        j += 1
    return j


@numba.njit(cache=True)
def _append(log_int, log_time, n, patient, parent, organ, generation, founded, established):  # pragma: no cover
    """Write colony ``n`` into the log, doubling the arrays when full; returns the (new) arrays."""
    if n == log_int.shape[0]:
        grown_int = np.empty((2 * n, 4), dtype=np.int64)
        grown_int[:n] = log_int
        grown_time = np.empty((2 * n, 2))
        grown_time[:n] = log_time
        log_int, log_time = grown_int, grown_time
    log_int[n, 0] = patient
    log_int[n, 1] = parent
    log_int[n, 2] = organ
    log_int[n, 3] = generation
    log_time[n, 0] = founded
    log_time[n, 1] = established
    return log_int, log_time
