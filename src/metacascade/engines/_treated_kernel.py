"""Numba kernel of the stochastic engine with a host and a treatment plan (engines/stochastic.py).

Every tumour (the primary and each colony) follows a *path*: segments between the plan's
breakpoints on which its effective age advances at the growth clock's speed ``m`` (0 while
dormant). A tumour has a sensitive and, once resistance has been drawn at its first drug dose, a
resistant component; both share the segment times. A segment row is
``t0, t1, m, a_s, a_r, dormant`` with the components' ages at ``t0`` (``_ABSENT``: not there).

Ages: the primary's from ``primary_size0`` at model day 0 (table ``lp``); a colony's from
``colony_size0``: below ``a_entry`` (the switch size) the table ``ll``, above it ``lc`` (age
since the switch). Seeding intensities are the untreated engine's cumulative tables in age; on a
segment of speed m the intensity integral is the age-table difference divided by m.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from metacascade._rng import child_key, exponential, seed_state, splitmix, uniform
from metacascade.engines._stochastic_kernel import (
    _append,
    _categorical,
    _delay,
    _first_index,
    _log_size,
    add_to_block,
)
from metacascade.model.intensity import _hermite_one, hermite_inverse_one
from metacascade.model.resistance import _normal, _poisson, sample_resistance

__all__ = ["simulate_treated_batch"]

_KMAX = 32  # mutations to resistance drawn one by one (sample_resistance)
_NCOL = 6
_ABSENT = -1e300  # age of a component that is not there (ages may be negative: below day-0 size)


@numba.njit(cache=True, inline="always")
def _lx(kind, a, lp, lc, ll, st, st_low, a_entry, lq, st_q, a_p0):  # pragma: no cover - jit
    """Log size at age a (kind 0: primary, 1: colony)."""
    if kind == 0:
        if a >= 0.0 or a_p0 <= 0.0:
            return _log_size(lp, st, a)
        return _log_size(lq, st_q, a + a_p0)  # below the primary's size at day 0
    if a >= a_entry:
        return _log_size(lc, st, a - a_entry)
    return _log_size(ll, st_low, a)


@numba.njit(cache=True, inline="always")
def _inv_table(tab, step, y):  # pragma: no cover - jit
    """Age on a monotone log-size table where it equals y (clamped to the table)."""
    n = tab.size - 1
    if y <= tab[0]:
        return 0.0
    if y >= tab[n]:
        return n * step
    lo, hi = 0, n
    while hi - lo > 1:
        mid = (lo + hi) >> 1
        if tab[mid] <= y:
            lo = mid
        else:
            hi = mid
    w = tab[hi] - tab[lo]
    return (lo + ((y - tab[lo]) / w if w > 0 else 0.0)) * step


@numba.njit(cache=True)
def _age(kind, y, lp, lc, ll, st, st_low, a_entry, lq, st_q, a_p0):  # pragma: no cover - jit
    """Age at which the log size is y (inverse of _lx)."""
    if kind == 0:
        if y >= lp[0] or a_p0 <= 0.0:
            return _inv_table(lp, st, y)
        return _inv_table(lq, st_q, y) - a_p0
    if y >= lc[0] or a_entry <= 0.0:
        return a_entry + _inv_table(lc, st, y)
    return _inv_table(ll, st_low, y)


@numba.njit(cache=True)
def _age_or_gone(kind, y, lp, lc, ll, st, st_low, a_entry, lq, st_q, a_p0):  # pragma: no cover - jit
    """Age of a component of y cells; -1 (gone) when none is left."""
    if y <= 0.0:
        return _ABSENT
    return _age(kind, math.log(y), lp, lc, ll, st, st_low, a_entry, lq, st_q, a_p0)


@numba.njit(cache=True)
def _slope(kind, a, lp, lc, ll, st, st_low, a_entry, lq, st_q, a_p0):  # pragma: no cover - jit
    """Per-cell growth rate d ln x / d age at age a (1/day)."""
    h = 1e-3 * st
    return (
        _lx(kind, a + h, lp, lc, ll, st, st_low, a_entry, lq, st_q, a_p0)
        - _lx(kind, a - h, lp, lc, ll, st, st_low, a_entry, lq, st_q, a_p0)
    ) / (2.0 * h)


@numba.njit(cache=True)
def _binomial_inversion(s, n, p):  # pragma: no cover - jit
    """Binomial(n, p) for p <= 0.5 and n p < 500 by sequential inversion (Kachitvichyanukul &
    Schmeiser 1988, BINV): exact."""
    q = 1.0 - p
    ratio = p / q
    a = (n + 1) * ratio
    r = q**n
    u = uniform(s)
    k = 0
    while u > r and k < n:
        u -= r
        k += 1
        r *= a / k - ratio
    return k


@numba.njit(cache=True)
def _survivors(s, x, log_sf, q):  # pragma: no cover - jit
    """Cells left of x after a kill leaving each cell alive with probability exp(log_sf) (0: none).

    Binomial (exact: cell by cell up to 64 cells, by inversion while the smaller of the expected
    survivors and deaths is below 500), then normal while fewer than 1e3 survive on average, the
    mean above; survivors then die out with the birth-death probability q^n (n < 1000).
    """
    sf = math.exp(log_sf)
    mean = x * sf
    if x <= 64.5:
        k = 0
        for _ in range(int(x + 0.5)):
            if uniform(s) < sf:
                k += 1
        out = float(k)
    else:
        n = int(x + 0.5)
        small = min(sf, 1.0 - sf)
        if n * small < 500.0:
            k = _binomial_inversion(s, n, small)
            out = float(k if sf <= 0.5 else n - k)
        elif mean < 1e3:
            out = math.floor(mean + math.sqrt(n * sf * (1.0 - sf)) * _normal(s) + 0.5)
            out = min(max(out, 0.0), float(n))
        else:
            return mean
    if out > 0.0 and q > 0.0 and out < 1000.0 and uniform(s) < q**out:
        return 0.0
    return out


@numba.njit(cache=True)
def _grow_seg(seg, n, rows):  # pragma: no cover - jit
    """Make room for one more segment row."""
    if n == seg.shape[0]:
        bigger = np.empty((2 * n, _NCOL))
        bigger[:n] = seg[:n]
        return bigger
    return seg


@numba.njit(cache=True)
def _walk(
    kind,
    site,
    t_start,
    a_s,
    a_r,
    dorm_end,
    sampled,
    seg,
    n_seg,
    bp,
    rate,
    kill_time,
    kill_ls,
    kill_chemo,
    kill_u,
    kill_ns,
    kill_ref,
    t_remove,
    t_stop,
    x0,
    q,
    s,
    lp,
    lc,
    ll,
    st,
    st_low,
    a_entry,
    lq,
    st_q,
    a_p0,
):  # pragma: no cover - jit
    """Append the path of one tumour from t_start; returns (seg, n_seg, t_end, K).

    t_end: day the tumour is gone (inf: alive at t_stop); K: mutations to resistance drawn.
    """
    n_bp = bp.size
    if t_start >= t_stop:
        return seg, n_seg, np.inf, 0
    i = 0
    while i < n_bp - 2 and bp[i + 1] <= t_start:
        i += 1
    k = 0
    n_kill = kill_time.size
    while k < n_kill and kill_time[k] < t_start:
        k += 1
    t = t_start
    dormant = dorm_end > t
    K = 0
    closed = True
    first = n_seg
    t_end = np.inf
    while t < t_stop:
        t1 = min(bp[i + 1], t_stop)
        if dormant and dorm_end < t1:
            t1 = dorm_end
        m = 0.0 if dormant else rate[i]
        if not closed and n_seg > first and seg[n_seg - 1, 2] == m and seg[n_seg - 1, 5] == (1.0 if dormant else 0.0):
            seg[n_seg - 1, 1] = t1
        else:
            seg = _grow_seg(seg, n_seg, _NCOL)
            seg[n_seg, 0] = t
            seg[n_seg, 1] = t1
            seg[n_seg, 2] = m
            seg[n_seg, 3] = a_s
            seg[n_seg, 4] = a_r
            seg[n_seg, 5] = 1.0 if dormant else 0.0
            n_seg += 1
            closed = False
        if a_s > _ABSENT:
            a_s += m * (t1 - t)
        if a_r > _ABSENT:
            a_r += m * (t1 - t)
        t = t1
        if dormant and t >= dorm_end:
            dormant = False
            closed = True
        if t >= bp[i + 1] and i < n_bp - 2:
            i += 1
        if t >= t_stop:
            break
        if t >= t_remove:  # surgery (the primary, or colonies in dissected nodes)
            t_end = t
            break
        while k < n_kill and kill_time[k] <= t:
            ls = kill_ls[k, site]
            if ls < 0.0:
                if kill_chemo[k]:
                    if not dormant and a_s > _ABSENT:
                        if not sampled and kill_u[k] > 0.0:
                            sampled = True
                            x = math.exp(_lx(kind, a_s, lp, lc, ll, st, st_low, a_entry, lq, st_q, a_p0))
                            kk, r = sample_resistance(s, kill_u[k], x0, x, _KMAX)
                            K += kk
                            if r > 0:
                                rr = min(float(r), x)
                                a_r = _age(kind, math.log(rr), lp, lc, ll, st, st_low, a_entry, lq, st_q, a_p0)
                                if x - rr < 0.5:
                                    a_s = _ABSENT
                                else:
                                    a_s = _age(kind, math.log(x - rr), lp, lc, ll, st, st_low, a_entry, lq, st_q, a_p0)
                        if a_s > _ABSENT:
                            lse = ls
                            if kill_ns[k]:
                                lse = (
                                    ls
                                    * _slope(kind, a_s, lp, lc, ll, st, st_low, a_entry, lq, st_q, a_p0)
                                    / kill_ref[k]
                                )
                            x = math.exp(_lx(kind, a_s, lp, lc, ll, st, st_low, a_entry, lq, st_q, a_p0))
                            y = _survivors(s, x, lse, q)
                            a_s = _age_or_gone(kind, y, lp, lc, ll, st, st_low, a_entry, lq, st_q, a_p0)
                        closed = True
                else:  # radiation: every cell alike, dormant or not, resistant to drugs or not
                    if a_s > _ABSENT:
                        x = math.exp(_lx(kind, a_s, lp, lc, ll, st, st_low, a_entry, lq, st_q, a_p0))
                        y = _survivors(s, x, ls, q)
                        a_s = _age_or_gone(kind, y, lp, lc, ll, st, st_low, a_entry, lq, st_q, a_p0)
                    if a_r > _ABSENT:
                        x = math.exp(_lx(kind, a_r, lp, lc, ll, st, st_low, a_entry, lq, st_q, a_p0))
                        y = _survivors(s, x, ls, 0.0)
                        a_r = _age_or_gone(kind, y, lp, lc, ll, st, st_low, a_entry, lq, st_q, a_p0)
                    closed = True
            k += 1
        if a_s <= _ABSENT and a_r <= _ABSENT:
            t_end = t
            break
    return seg, n_seg, t_end, K


@numba.njit(cache=True)
def _size(seg, lo, hi, t, kind, lp, lc, ll, st, st_low, a_entry, lq, st_q, a_p0, left):  # pragma: no cover - jit
    """Cells of a tumour at t (its segments lo..hi-1); left: the value just before events at t."""
    for g in range(lo, hi):
        t0 = seg[g, 0]
        t1 = seg[g, 1]
        inside = (t0 < t <= t1) if left else (t0 <= t < t1)
        if inside:
            m = seg[g, 2]
            x = 0.0
            if seg[g, 3] > _ABSENT:
                x += math.exp(_lx(kind, seg[g, 3] + m * (t - t0), lp, lc, ll, st, st_low, a_entry, lq, st_q, a_p0))
            if seg[g, 4] > _ABSENT:
                x += math.exp(_lx(kind, seg[g, 4] + m * (t - t0), lp, lc, ll, st, st_low, a_entry, lq, st_q, a_p0))
            return x
    return 0.0


@numba.njit(cache=True)
def _first_reach(
    seg, lo, hi, thr, t_from, t_to, kind, lp, lc, ll, st, st_low, a_entry, lq, st_q, a_p0
):  # pragma: no cover - jit
    """First t in [t_from, t_to] at which the tumour has >= thr cells (inf if none).

    Within a segment the size grows (or stays, dormant), so the crossing is bracketed by the
    segment's ends and found by bisection."""
    for g in range(lo, hi):
        a = max(seg[g, 0], t_from)
        b = min(seg[g, 1], t_to)
        if b < a:
            continue
        if a < seg[g, 1]:
            xa = _size(seg, g, g + 1, a, kind, lp, lc, ll, st, st_low, a_entry, lq, st_q, a_p0, False)
        else:
            xa = _size(seg, g, g + 1, a, kind, lp, lc, ll, st, st_low, a_entry, lq, st_q, a_p0, True)
        if xa >= thr:
            return a
        if b <= seg[g, 0]:
            continue
        if _size(seg, g, g + 1, b, kind, lp, lc, ll, st, st_low, a_entry, lq, st_q, a_p0, True) < thr:
            continue
        if seg[g, 4] <= _ABSENT and seg[g, 2] > 0.0:  # one component: invert its size table
            a_star = _age(kind, math.log(thr), lp, lc, ll, st, st_low, a_entry, lq, st_q, a_p0)
            return min(max(seg[g, 0] + (a_star - seg[g, 3]) / seg[g, 2], a), b)
        lo_t, hi_t = a, b
        for _ in range(60):
            mid = 0.5 * (lo_t + hi_t)
            if _size(seg, g, g + 1, mid, kind, lp, lc, ll, st, st_low, a_entry, lq, st_q, a_p0, True) >= thr:
                hi_t = mid
            else:
                lo_t = mid
            if hi_t - lo_t <= 1e-9 * max(1.0, hi_t):
                break
        return hi_t
    return np.inf


@numba.njit(cache=True, inline="always")
def _n_at_most(sizes, x):  # pragma: no cover - jit
    """Number of sizes <= x (sizes increasing)."""
    lo, hi = 0, sizes.size
    while lo < hi:
        mid = (lo + hi) >> 1
        if sizes[mid] <= x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@numba.njit(cache=True)
def _push_child(s, organ, time, comp_of, n, cum, t, t_tab, cdf_tab, comp, speed):  # pragma: no cover - jit
    """Append a founding at day t: organ drawn from cum, then its establishment delay (the
    untreated engine's order of draws; divided by the patient's growth speed); the arrays double
    when full."""
    if n == organ.size:
        organ = np.concatenate((organ, np.empty(n, dtype=np.int64)))
        time = np.concatenate((time, np.empty((n, 2))))
        comp_of = np.concatenate((comp_of, np.empty(n, dtype=np.int64)))
    organ[n] = _categorical(cum, uniform(s))
    time[n, 0] = t
    time[n, 1] = _delay(t_tab, cdf_tab, uniform(s)) / speed
    comp_of[n] = comp
    return organ, time, comp_of, n + 1


@numba.njit(cache=True)
def _seed(
    s,
    seg,
    lo,
    hi,
    comp,
    kind,
    scale,
    t_until,
    tH,
    H,
    hH,
    a_entry,
    cum,
    t_tab,
    cdf_tab,
    child_organ,
    child_time,
    child_comp,
    n_child,
    speed,
):  # pragma: no cover - jit
    """Poisson founding events of one component over its path; appends (organ, day, comp) and
    the establishment delay (child_time[:, 1]), drawn in the untreated engine's order.

    Intensity in age: the table H (primary: absolute, already with the routing total; colony:
    age since the switch, times ``scale`` = the organ's routing total)."""
    if scale <= 0.0:  # a tumour that founds no colonies (no metastatic competence)
        return child_organ, child_time, child_comp, n_child
    r = -1.0  # drawn at the first segment that can seed (the untreated engine's order of draws)
    for g in range(lo, hi):
        a0 = seg[g, 3 + comp]
        m = seg[g, 2]
        if a0 <= _ABSENT or m <= 0.0 or seg[g, 5] != 0.0:
            continue
        t0 = seg[g, 0]
        if t0 >= t_until:
            break
        if r < 0.0:
            r = exponential(s) / scale
        t1 = min(seg[g, 1], t_until)
        off = a_entry if kind == 1 else 0.0
        h0 = _hermite_one(tH, H, hH, a0 - off)
        a1 = a0 + m * (t1 - t0)
        h1 = _hermite_one(tH, H, hH, a1 - off)
        while (h1 - h0) / m >= r:
            target = h0 + r * m
            a = off + hermite_inverse_one(tH, H, hH, target)
            tc = t0 + (a - a0) / m
            child_organ, child_time, child_comp, n_child = _push_child(
                s, child_organ, child_time, child_comp, n_child, cum, tc, t_tab, cdf_tab, comp, speed
            )
            h0 = target
            a0 = a
            t0 = tc
            r = exponential(s) / scale
        r -= (h1 - h0) / m
    return child_organ, child_time, child_comp, n_child


@numba.njit(cache=True, nogil=True)
def simulate_treated_batch(
    states,
    horizons,
    tp,
    Hp,
    hp,
    cum_primaries,
    secondary,
    tc,
    Hc,
    hc,
    colony_totals,
    cum_colonies,
    t_tab,
    cdf_tab,
    sizes,
    out_t,
    lc,
    lp,
    ll,
    st,
    st_low,
    a_entry,
    lq,
    st_q,
    a_p0,
    entry_cells,
    x0p,
    x0c,
    q,
    detection,
    lethal,
    fail_cells,
    symptom_cells,
    max_colonies,
    seed_until,
    stop_at_death,
    snap,
    sums,
    squares,
    block,
    bps,
    rates,
    pdorms,
    escapes,
    kill_times,
    kill_ls,
    kill_chemo,
    kill_u,
    kill_ns,
    kill_ref,
    t_surgeries,
    node_organ,
    node_left,
    bursts,
    prim_scales,
    t_plan_ends,
    grids,
    speeds,
    colony_streams,
):  # pragma: no cover - jit
    """Simulate patients with a plan; see :func:`metacascade.engines.stochastic.simulate_patients`.

    Per patient p (row p of each array): ``horizons`` (last model day), ``cum_primaries`` and
    ``cum_colonies`` (cumulative organ choice), ``colony_totals`` (a colony's seeding scale per
    organ), ``prim_scales`` (factor on the primary's seeding table), ``bursts`` (expected
    colonies founded by cells shed at surgery), the plan in model days (``bps``, ``rates``,
    ``pdorms``, ``escapes``, ``kill_times``, ``t_surgeries``, ``t_plan_ends``, ``grids``) and
    ``speeds`` (the growth clock's factor in the birth-death phase).

    ``colony_streams``: False, every draw of a patient comes from its one stream, in the untreated
    engine's order. True (common random numbers across treatment arms): the primary's seeding
    and the burst draw from the patient's stream, the primary's treatment draws from a stream of
    its own, and each colony from a stream keyed by its genealogy (the j-th child of its parent),
    so that a colony founded the same way in two arms meets the same chances until a treatment
    touches it.
    """
    n_pat = states.shape[0]
    n_org = cum_primaries.shape[1]
    n_t = out_t.size
    n_k = sizes.size
    n_s = snap.size
    n_g = grids.shape[1]
    n_int = rates.shape[1]
    counts_at = np.zeros((n_pat, n_s, n_org, n_k), dtype=np.int32)
    established_at = np.zeros((n_pat, n_s, n_org), dtype=np.int32)
    burden_at = np.zeros((n_pat, n_s, n_org))
    first_detect = np.full((n_pat, n_org), np.inf)
    recur = np.full((n_pat, n_org + 1), np.inf)
    symptom = np.full((n_pat, n_org), np.inf)
    death = np.full(n_pat, np.inf)
    cause = np.zeros(n_pat, dtype=np.int64)
    n_colonies = np.zeros(n_pat, dtype=np.int64)
    n_clones = np.zeros(n_pat, dtype=np.int64)
    primary_gone = np.full(n_pat, np.inf)
    primary_at_surgery = np.zeros(n_pat)
    overflow = np.zeros(n_pat, dtype=np.bool_)
    counts = np.zeros((n_t, n_org, n_k), dtype=np.int32)
    established = np.zeros((n_t, n_org), dtype=np.int32)
    founded = np.zeros((n_t, n_org), dtype=np.int32)
    burden = np.zeros((n_t, n_org))
    tot = np.zeros(n_g)
    zero_j = np.zeros(n_org, dtype=np.int64)
    ob = np.zeros(n_org)
    org_b = np.zeros((n_g, n_org))

    log_int = np.empty((1024, 4), dtype=np.int64)  # patient row, parent, organ, generation
    log_time = np.empty((1024, 2))  # founded, established (switch)
    n_log = 0
    # per-colony extras, batch-wide and aligned with the log
    ex_time = np.empty((1024, 3))  # growth start (escape), gone (eliminated/removed), detectable
    ex_int = np.empty((1024, 3), dtype=np.int64)  # component of the parent (1: resistant), K, segment lo
    seg = np.empty((4096, _NCOL))
    c_org = np.empty(64, dtype=np.int64)
    c_time = np.empty((64, 2))
    c_comp = np.empty(64, dtype=np.int64)
    seg_hi = np.empty(1024, dtype=np.int64)
    ckey = np.empty(1024, dtype=np.uint64)  # colony stream keys (colony_streams)
    s_col = np.empty(4, dtype=np.uint64)
    s_walk = np.empty(4, dtype=np.uint64)
    t_step = out_t[1] - out_t[0] if n_t > 1 else 1.0

    for p in range(n_pat):
        s = states[p].copy()
        pkey = splitmix(s[0] ^ splitmix(s[1] ^ splitmix(s[2] ^ splitmix(s[3]))))
        sp = s
        if colony_streams:
            sp = seed_state(child_key(pkey, 1 << 40), s_walk)  # the primary walk: an ordinal no child has
        horizon = horizons[p]
        cum_primary = cum_primaries[p]
        colony_total = colony_totals[p]
        cum_colony = cum_colonies[p]
        bp = bps[p]
        rate = rates[p]
        pdorm = pdorms[p]
        escape = escapes[p]
        kill_time = kill_times[p]
        t_surgery = t_surgeries[p]
        burst = bursts[p]
        t_plan_end = t_plan_ends[p]
        grid = grids[p]
        speed = speeds[p]
        start = n_log
        n_seg = 0
        # -- the primary ---------------------------------------------------------------------------
        seg, n_seg, p_end, kp = _walk(
            0,
            n_org,
            0.0,
            0.0,
            _ABSENT,
            -1.0,
            False,
            seg,
            n_seg,
            bp,
            rate,
            kill_time,
            kill_ls,
            kill_chemo,
            kill_u,
            kill_ns,
            kill_ref,
            t_surgery,
            horizon,
            x0p,
            q,
            sp,
            lp,
            lc,
            ll,
            st,
            st_low,
            a_entry,
            lq,
            st_q,
            a_p0,
        )
        p_hi = n_seg
        n_clones[p] = kp
        primary_gone[p] = p_end
        if t_surgery < np.inf:
            primary_at_surgery[p] = _size(
                seg, 0, p_hi, t_surgery, 0, lp, lc, ll, st, st_low, a_entry, lq, st_q, a_p0, True
            )
        # seeding stops at an upper bound of the death day when nothing happens after death: first
        # the day the primary alone is lethal, then (as colonies accrue) the day those found so far are
        t_bound = min(seed_until, horizon)
        if stop_at_death:
            t_bound = min(
                t_bound,
                _first_reach(seg, 0, p_hi, lethal, 0.0, horizon, 0, lp, lc, ll, st, st_low, a_entry, lq, st_q, a_p0),
            )
        # the death bound is refreshed as the log grows and as colonies are followed (doubling
        # both): a resected patient's many colonies were otherwise each followed to the horizon,
        # founding children after her death, before the log doubled again
        next_check = 256
        next_done = 16
        added = -1  # colonies [start, added) are in the running totals of the death check
        n_child = 0
        for comp in range(2):
            c_org, c_time, c_comp, n_child = _seed(
                s,
                seg,
                0,
                p_hi,
                comp,
                0,
                prim_scales[p],
                t_bound,
                tp,
                Hp,
                hp,
                0.0,
                cum_primary,
                t_tab,
                cdf_tab,
                c_org,
                c_time,
                c_comp,
                n_child,
                speed,
            )
        if burst > 0.0 and t_surgery <= t_bound and p_end >= t_surgery:
            # cells shed at the operation: each founds a colony with the routing probability
            n_b = _poisson(s, burst)
            for _ in range(n_b):
                c_org, c_time, c_comp, n_child = _push_child(
                    s, c_org, c_time, c_comp, n_child, cum_primary, t_surgery, t_tab, cdf_tab, 0, speed
                )
        first = n_log
        log_int, log_time, ex_time, ex_int, n_log, overflow[p] = _log_children(
            log_int, log_time, ex_time, ex_int, n_log, p, -1, 1, c_org, c_time, c_comp, n_child, start, max_colonies
        )
        if colony_streams:
            for c in range(first, n_log):
                ckey = _set_grow(ckey, c, child_key(pkey, c - first))
        # -- colonies, in order of appearance -----------------------------------------------------------
        i = start
        while i < n_log and not overflow[p]:
            if stop_at_death and (n_log - start >= next_check or i - start >= next_done):
                if n_log - start >= next_check:
                    next_check *= 2
                if i - start >= next_done:
                    next_done *= 2
                if added < 0:  # the first check: the primary, then the colonies followed since
                    tot[:] = 0.0
                    org_b[:, :] = 0.0
                    _add_on_grid(
                        seg, 0, p_hi, 0, n_org, grid, tot, org_b, lp, lc, ll, st, st_low, a_entry, lq, st_q, a_p0
                    )
                    added = start
                for c in range(added, i):  # a followed colony's cells are final: add each once
                    _add_on_grid(
                        seg,
                        ex_int[c, 2],
                        seg_hi[c - start],
                        1,
                        log_int[c, 2],
                        grid,
                        tot,
                        org_b,
                        lp,
                        lc,
                        ll,
                        st,
                        st_low,
                        a_entry,
                        lq,
                        st_q,
                        a_p0,
                    )
                added = i
                for g in range(n_g):
                    if grid[g] >= t_bound:
                        break
                    hit = tot[g] >= lethal
                    for o in range(n_org):
                        hit = hit or org_b[g, o] >= fail_cells[o]
                    if hit:
                        t_bound = grid[g]
                        break
            org = log_int[i, 2]
            tf = log_time[i, 0]
            te = log_time[i, 1]
            sc = s
            if colony_streams:
                sc = seed_state(ckey[i], s_col)
            if tf > t_bound:  # founded after the patient's death: never followed
                ex_time[i, 0] = np.inf
                ex_time[i, 1] = tf
                ex_int[i, 1] = 0
                ex_int[i, 2] = n_seg
                seg_hi = _set_grow(seg_hi, i - start, n_seg)
                i += 1
                continue
            gone = np.inf
            # node dissection: a colony there at surgery is removed, or left with probability node_left
            # (drawn only then: a complete dissection uses no random number)
            t_rm = (
                t_surgery
                if org == node_organ and tf < t_surgery and (node_left <= 0.0 or uniform(sc) >= node_left)
                else np.inf
            )
            # kills and node dissection during the birth-death phase (colony of at most switch size)
            for k in range(kill_time.size):
                tk = kill_time[k]
                if tk <= tf or tk >= te or tk > horizon:
                    continue
                ls = kill_ls[k, org]
                if ls < 0.0 and not (kill_chemo[k] and ex_int[i, 0] == 1):
                    n_now = min(
                        entry_cells,
                        math.exp(_lx(1, speed * (tk - tf), lp, lc, ll, st, st_low, a_entry, lq, st_q, a_p0)),
                    )
                    if uniform(sc) < math.exp(-n_now * math.exp(ls)):
                        gone = tk
                        break
            if t_rm <= te and t_rm < gone:
                gone = t_rm
            t_grow = te
            lo = n_seg
            kc = 0
            if gone == np.inf and te < horizon:
                j_int = 0
                while j_int < n_int - 1 and bp[j_int + 1] <= te:
                    j_int += 1
                if pdorm[j_int] > 0.0 and uniform(sc) < pdorm[j_int]:
                    # dormant until the cumulative escape hazard reaches a unit exponential
                    e = exponential(sc)
                    tt = te
                    t_grow = np.inf
                    for jj in range(j_int, n_int):
                        b1 = bp[jj + 1]
                        if escape[jj] == np.inf:
                            t_grow = tt
                            break
                        if escape[jj] * (b1 - tt) >= e:
                            t_grow = tt + e / escape[jj]
                            break
                        e -= escape[jj] * (b1 - tt)
                        tt = b1
                res = ex_int[i, 0] == 1
                a_s0 = a_entry
                a_r0 = _ABSENT
                if res:
                    a_s0 = _ABSENT
                    a_r0 = a_entry
                seg, n_seg, gone, kc = _walk(
                    1,
                    org,
                    te,
                    a_s0,
                    a_r0,
                    t_grow,
                    res,
                    seg,
                    n_seg,
                    bp,
                    rate,
                    kill_time,
                    kill_ls,
                    kill_chemo,
                    kill_u,
                    kill_ns,
                    kill_ref,
                    t_rm,
                    horizon,
                    x0c,
                    q,
                    sc,
                    lp,
                    lc,
                    ll,
                    st,
                    st_low,
                    a_entry,
                    lq,
                    st_q,
                    a_p0,
                )
            if stop_at_death and n_seg > lo:  # this colony alone bounds the death day
                t_bound = min(
                    t_bound,
                    _first_reach(
                        seg,
                        lo,
                        n_seg,
                        min(lethal, fail_cells[org]),
                        0.0,
                        t_bound,
                        1,
                        lp,
                        lc,
                        ll,
                        st,
                        st_low,
                        a_entry,
                        lq,
                        st_q,
                        a_p0,
                    ),
                )
            n_clones[p] += kc
            ex_time[i, 0] = t_grow
            ex_time[i, 1] = gone
            ex_int[i, 1] = kc
            ex_int[i, 2] = lo
            seg_hi = _set_grow(seg_hi, i - start, n_seg)
            if secondary and colony_total[org] > 0.0 and n_seg > lo:
                n_child = 0
                for comp in range(2):
                    c_org, c_time, c_comp, n_child = _seed(
                        sc,
                        seg,
                        lo,
                        n_seg,
                        comp,
                        1,
                        colony_total[org],
                        t_bound,
                        tc,
                        Hc,
                        hc,
                        a_entry,
                        cum_colony[org],
                        t_tab,
                        cdf_tab,
                        c_org,
                        c_time,
                        c_comp,
                        n_child,
                        speed,
                    )
                first = n_log
                log_int, log_time, ex_time, ex_int, n_log, overflow[p] = _log_children(
                    log_int,
                    log_time,
                    ex_time,
                    ex_int,
                    n_log,
                    p,
                    i - start,
                    log_int[i, 3] + 1,
                    c_org,
                    c_time,
                    c_comp,
                    n_child,
                    start,
                    max_colonies,
                )
                if colony_streams:
                    for c in range(first, n_log):
                        ckey = _set_grow(ckey, c, child_key(ckey[i], c - first))
            i += 1
        if overflow[p]:
            continue
        # -- burden on the scan grid: death (lethal burden, vital organ failure) and symptoms --------
        tot[:] = 0.0
        org_b[:, :] = 0.0
        _add_on_grid(seg, 0, p_hi, 0, n_org, grid, tot, org_b, lp, lc, ll, st, st_low, a_entry, lq, st_q, a_p0)
        for c in range(start, n_log):
            lo = ex_int[c, 2]
            _add_on_grid(
                seg,
                lo,
                seg_hi[c - start],
                1,
                log_int[c, 2],
                grid,
                tot,
                org_b,
                lp,
                lc,
                ll,
                st,
                st_low,
                a_entry,
                lq,
                st_q,
                a_p0,
            )
        t_death = np.inf
        why = 0
        for g in range(n_g):
            hit = -1
            if tot[g] >= lethal:
                hit = 0
            else:
                for o in range(n_org):
                    if org_b[g, o] >= fail_cells[o]:
                        hit = 1 + o
                        break
            if hit >= 0:
                # Illinois (regula falsi) on the log excess over the nearest threshold: increasing
                # and smooth in the interval, so it converges in a handful of evaluations
                lo_t = grid[g - 1] if g > 0 else 0.0
                hi_t = grid[g]
                f_lo = _excess(
                    lo_t,
                    seg,
                    p_hi,
                    start,
                    n_log,
                    log_int,
                    ex_int,
                    seg_hi,
                    n_org,
                    lethal,
                    fail_cells,
                    ob,
                    lp,
                    lc,
                    ll,
                    st,
                    st_low,
                    a_entry,
                    lq,
                    st_q,
                    a_p0,
                )
                f_hi = _excess(
                    hi_t,
                    seg,
                    p_hi,
                    start,
                    n_log,
                    log_int,
                    ex_int,
                    seg_hi,
                    n_org,
                    lethal,
                    fail_cells,
                    ob,
                    lp,
                    lc,
                    ll,
                    st,
                    st_low,
                    a_entry,
                    lq,
                    st_q,
                    a_p0,
                )
                side = 0
                for _ in range(200):
                    if hi_t - lo_t <= 1e-9 * max(1.0, hi_t) or not (f_lo < 0.0 <= f_hi):
                        break
                    mid = (lo_t * f_hi - hi_t * f_lo) / (f_hi - f_lo)
                    if not (lo_t < mid < hi_t) or side == 3:
                        mid = 0.5 * (lo_t + hi_t)
                        side = 0
                    f_mid = _excess(
                        mid,
                        seg,
                        p_hi,
                        start,
                        n_log,
                        log_int,
                        ex_int,
                        seg_hi,
                        n_org,
                        lethal,
                        fail_cells,
                        ob,
                        lp,
                        lc,
                        ll,
                        st,
                        st_low,
                        a_entry,
                        lq,
                        st_q,
                        a_p0,
                    )
                    if f_mid >= 0.0:
                        hi_t, f_hi = mid, f_mid
                        if side == -1:
                            f_lo *= 0.5
                        side = -1 if side >= 0 else side - 1
                    else:
                        lo_t, f_lo = mid, f_mid
                        if side == 1:
                            f_hi *= 0.5
                        side = 1 if side <= 0 else side + 1
                    if abs(side) >= 3:
                        side = 3
                t_death = hi_t
                total = _excess(
                    hi_t,
                    seg,
                    p_hi,
                    start,
                    n_log,
                    log_int,
                    ex_int,
                    seg_hi,
                    n_org,
                    lethal,
                    fail_cells,
                    ob,
                    lp,
                    lc,
                    ll,
                    st,
                    st_low,
                    a_entry,
                    lq,
                    st_q,
                    a_p0,
                    True,
                )
                why = 1
                if total < lethal:  # not the total burden: the first organ past its failure size
                    for o in range(n_org):
                        if ob[o] >= fail_cells[o]:
                            why = 2 + o
                            break
                break
        death[p] = t_death
        cause[p] = why
        t_cut = t_death if stop_at_death else np.inf
        for o in range(n_org):
            for g in range(n_g):
                if grid[g] > t_cut:
                    break
                if org_b[g, o] >= symptom_cells[o]:
                    lo_t = grid[g - 1] if g > 0 else 0.0
                    hi_t = grid[g]
                    for _ in range(60):
                        mid = 0.5 * (lo_t + hi_t)
                        if (
                            _organ_burden(
                                mid,
                                o,
                                seg,
                                start,
                                n_log,
                                log_int,
                                ex_int,
                                seg_hi,
                                lp,
                                lc,
                                ll,
                                st,
                                st_low,
                                a_entry,
                                lq,
                                st_q,
                                a_p0,
                            )
                            >= symptom_cells[o]
                        ):
                            hi_t = mid
                        else:
                            lo_t = mid
                        if hi_t - lo_t <= 1e-9 * max(1.0, hi_t):
                            break
                    symptom[p, o] = hi_t
                    break
        # -- detection: first time each tumour is detectable, and after the end of the plan ------------
        t_det_end = min(horizon, t_cut)
        if t_plan_end > -np.inf and p_end > t_plan_end:
            recur[p, n_org] = _first_reach(
                seg,
                0,
                p_hi,
                detection,
                max(t_plan_end, 0.0),
                t_det_end,
                0,
                lp,
                lc,
                ll,
                st,
                st_low,
                a_entry,
                lq,
                st_q,
                a_p0,
            )
        kept = 0
        for c in range(start, n_log):
            if log_time[c, 0] > t_cut:
                ex_time[c, 2] = np.inf
                continue
            kept += 1
            o = log_int[c, 2]
            lo = ex_int[c, 2]
            hi = seg_hi[c - start]
            td = _first_reach(
                seg, lo, hi, detection, 0.0, t_det_end, 1, lp, lc, ll, st, st_low, a_entry, lq, st_q, a_p0
            )
            ex_time[c, 2] = td
            if td < first_detect[p, o]:
                first_detect[p, o] = td
            if t_plan_end > -np.inf and td < np.inf and ex_time[c, 1] > t_plan_end:
                tr = _first_reach(
                    seg,
                    lo,
                    hi,
                    detection,
                    max(t_plan_end, 0.0),
                    t_det_end,
                    1,
                    lp,
                    lc,
                    ll,
                    st,
                    st_low,
                    a_entry,
                    lq,
                    st_q,
                    a_p0,
                )
                if tr < recur[p, o]:
                    recur[p, o] = tr
        n_colonies[p] = kept
        # -- statistics at the output times ---------------------------------------------------------
        for c in range(start, n_log):
            tf = log_time[c, 0]
            if tf > t_cut:
                continue
            o = log_int[c, 2]
            j0 = _first_index(out_t, t_step, tf)
            if j0 < n_t:
                founded[j0, o] += 1
            lo = ex_int[c, 2]
            hi = seg_hi[c - start]
            t_grow = ex_time[c, 0]
            g = lo
            for j in range(_first_index(out_t, t_step, t_grow), n_t):
                tj = min(out_t[j], t_cut)
                if tj < t_grow:
                    continue
                while g < hi - 1 and seg[g, 1] <= tj:
                    g += 1
                if g >= hi or tj < seg[g, 0] or tj > seg[g, 1] or (tj == seg[g, 1] and tj < horizon):
                    if tj >= ex_time[c, 1]:
                        break
                    continue
                m = seg[g, 2]
                x = 0.0
                if seg[g, 3] > _ABSENT:
                    x += math.exp(
                        _lx(1, seg[g, 3] + m * (tj - seg[g, 0]), lp, lc, ll, st, st_low, a_entry, lq, st_q, a_p0)
                    )
                if seg[g, 4] > _ABSENT:
                    x += math.exp(
                        _lx(1, seg[g, 4] + m * (tj - seg[g, 0]), lp, lc, ll, st, st_low, a_entry, lq, st_q, a_p0)
                    )
                if x <= 0.0:
                    continue
                established[j, o] += 1
                burden[j, o] += x
                kk = _n_at_most(sizes, x)  # sizes[:kk] <= x
                if kk > 0:
                    counts[j, o, kk - 1] += 1
        for o in range(n_org):
            for j in range(1, n_t):
                founded[j, o] += founded[j - 1, o]
            for j in range(n_t):
                for k in range(n_k - 2, -1, -1):
                    counts[j, o, k] += counts[j, o, k + 1]
        add_to_block(sums, squares, p // block, counts, established, founded, burden, zero_j)
        for ii in range(n_s):
            counts_at[p, ii] = counts[snap[ii]]
            established_at[p, ii] = established[snap[ii]]
            burden_at[p, ii] = burden[snap[ii]]
        counts[:, :, :] = 0
        established[:, :] = 0
        founded[:, :] = 0
        burden[:, :] = 0.0
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
        cause,
        recur,
        symptom,
        n_clones,
        ex_time[:n_log].copy(),
        ex_int[:n_log, :2].copy(),
        primary_gone,
        primary_at_surgery,
    )


@numba.njit(cache=True)
def _set_grow(arr, i, value):  # pragma: no cover - jit
    """arr[i] = value, doubling arr first when i is past its end; returns the (new) array."""
    if i >= arr.size:
        arr = np.concatenate((arr, np.empty(max(arr.size, i + 1 - arr.size), dtype=arr.dtype)))
    arr[i] = value
    return arr


@numba.njit(cache=True)
def _log_children(
    log_int,
    log_time,
    ex_time,
    ex_int,
    n_log,
    p,
    parent,
    generation,
    c_org,
    c_time,
    c_comp,
    n_child,
    start,
    max_colonies,
):  # pragma: no cover - jit
    """Log a tumour's n_child foundings; the last value is True when the patient passes max_colonies."""
    for c in range(n_child):
        log_int, log_time = _append(
            log_int, log_time, n_log, p, parent, c_org[c], generation, c_time[c, 0], c_time[c, 0] + c_time[c, 1]
        )
        ex_time, ex_int = _grow_extra(ex_time, ex_int, n_log)
        ex_int[n_log, 0] = c_comp[c]
        n_log += 1
        if n_log - start > max_colonies:
            return log_int, log_time, ex_time, ex_int, n_log, True
    return log_int, log_time, ex_time, ex_int, n_log, False


@numba.njit(cache=True)
def _grow_extra(ex_time, ex_int, n):  # pragma: no cover - jit
    if n == ex_time.shape[0]:
        bt = np.empty((2 * n, 3))
        bt[:n] = ex_time
        bi = np.empty((2 * n, 3), dtype=np.int64)
        bi[:n] = ex_int
        return bt, bi
    return ex_time, ex_int


@numba.njit(cache=True)
def _add_on_grid(
    seg, lo, hi, kind, organ, grid, tot, org_b, lp, lc, ll, st, st_low, a_entry, lq, st_q, a_p0
):  # pragma: no cover
    """Add a tumour's cells just before each grid time (left limits) to the totals."""
    n_g = grid.size
    g = 0
    for r in range(lo, hi):
        t0 = seg[r, 0]
        t1 = seg[r, 1]
        while g < n_g and grid[g] <= t0:
            g += 1
        while g < n_g and grid[g] <= t1:
            m = seg[r, 2]
            x = 0.0
            if seg[r, 3] > _ABSENT:
                x += math.exp(
                    _lx(kind, seg[r, 3] + m * (grid[g] - t0), lp, lc, ll, st, st_low, a_entry, lq, st_q, a_p0)
                )
            if seg[r, 4] > _ABSENT:
                x += math.exp(
                    _lx(kind, seg[r, 4] + m * (grid[g] - t0), lp, lc, ll, st, st_low, a_entry, lq, st_q, a_p0)
                )
            tot[g] += x
            if organ < org_b.shape[1]:
                org_b[g, organ] += x
            g += 1


@numba.njit(cache=True)
def _organ_burden(
    t, o, seg, start, n_log, log_int, ex_int, seg_hi, lp, lc, ll, st, st_low, a_entry, lq, st_q, a_p0
):  # pragma: no cover
    b = 0.0
    for c in range(start, n_log):
        if log_int[c, 2] == o:
            b += _size(
                seg, ex_int[c, 2], seg_hi[c - start], t, 1, lp, lc, ll, st, st_low, a_entry, lq, st_q, a_p0, True
            )
    return b


@numba.njit(cache=True)
def _excess(
    t,
    seg,
    p_hi,
    start,
    n_log,
    log_int,
    ex_int,
    seg_hi,
    n_org,
    lethal,
    fail_cells,
    ob,
    lp,
    lc,
    ll,
    st,
    st_low,
    a_entry,
    lq,
    st_q,
    a_p0,
    want_total=False,
):  # pragma: no cover - jit
    """max over the death criteria of ln(burden / threshold) at t (>= 0: dead), or with want_total
    the total burden; ob receives the organ burdens."""
    total = _size(seg, 0, p_hi, t, 0, lp, lc, ll, st, st_low, a_entry, lq, st_q, a_p0, True)
    ob[:] = 0.0
    for c in range(start, n_log):
        x = _size(seg, ex_int[c, 2], seg_hi[c - start], t, 1, lp, lc, ll, st, st_low, a_entry, lq, st_q, a_p0, True)
        total += x
        ob[log_int[c, 2]] += x
    if want_total:
        return total
    best = math.log(total / lethal) if total > 0.0 else -1e300
    for o in range(n_org):
        if ob[o] > 0.0 and fail_cells[o] < np.inf:
            best = max(best, math.log(ob[o] / fail_cells[o]))
    return best
