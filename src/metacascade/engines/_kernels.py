"""Numerical kernels of the engines: pure array functions, numba-compiled, no objects, no I/O."""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["gompertz_burden_full_panels", "volterra_trapezoid", "volterra_trapezoid_lowrank"]


@njit(cache=True)
def volterra_trapezoid(f: np.ndarray, k: np.ndarray, h: float) -> np.ndarray:  # pragma: no cover - jit
    r"""Solve the convolution Volterra equation of the second kind with the trapezoidal rule.

    .. math:: B(t) = f(t) + \int_0^t k(t-s)\,B(s)\,ds

    on the uniform grid ``t_i = i h`` (``f`` and ``k`` sampled there). The global error has an
    asymptotic expansion in even powers of ``h`` for smooth data (Linz 1985, *Analytical and
    Numerical Methods for Volterra Equations*, SIAM, ch. 7), which the caller uses for
    Richardson extrapolation. Cost O(n^2).
    """
    n = f.size
    b = np.empty(n)
    b[0] = f[0]
    denom = 1.0 - 0.5 * h * k[0]
    for i in range(1, n):
        s = 0.5 * k[i] * b[0]
        for j in range(1, i):
            s += k[i - j] * b[j]
        b[i] = (f[i] + h * s) / denom
    return b


@njit(cache=True)
def _solve_in_place(a: np.ndarray, b: np.ndarray) -> None:  # pragma: no cover - jit
    """Overwrite ``b`` (n, m) with ``a^{-1} b`` (Gaussian elimination, partial pivoting; ``a`` destroyed)."""
    n = a.shape[0]
    m = b.shape[1]
    for c in range(n):
        pivot = c
        for r in range(c + 1, n):
            if abs(a[r, c]) > abs(a[pivot, c]):
                pivot = r
        if pivot != c:
            for j in range(n):
                a[c, j], a[pivot, j] = a[pivot, j], a[c, j]
            for j in range(m):
                b[c, j], b[pivot, j] = b[pivot, j], b[c, j]
        for r in range(c + 1, n):
            factor = a[r, c] / a[c, c]
            if factor != 0.0:
                for j in range(c, n):
                    a[r, j] -= factor * a[c, j]
                for j in range(m):
                    b[r, j] -= factor * b[c, j]
    for c in range(n - 1, -1, -1):
        for j in range(m):
            acc = b[c, j]
            for r in range(c + 1, n):
                acc -= a[c, r] * b[r, j]
            b[c, j] = acc / a[c, c]


@njit(cache=True, fastmath={"reassoc", "contract"})
def volterra_trapezoid_lowrank(
    f: np.ndarray, p: np.ndarray, k: np.ndarray, U: np.ndarray, V: np.ndarray, h: float
) -> np.ndarray:  # pragma: no cover - jit
    r"""Solve the organ-resolved renewal system with the trapezoidal rule.

    .. math:: b(t) = f(t)\,p + U V \int_0^t k(t-s)\,b(s)\,ds, \qquad b(t) \in \mathbb{R}^n,

    on the uniform grid ``t_i = i h`` (``f``, ``k`` of shape ``(N,)`` sampled there; ``p`` of
    shape ``(n,)``; ``U`` of shape ``(n, q)``, ``V`` of shape ``(q, n)``, so ``M = U V`` is the
    organ-to-organ seeding matrix in factored low-rank form). Only the ``q``-vectors
    :math:`z_j = V b_j` enter the history sum, so the cost is O(N^2 q) + O(N n q). Step ``i``
    solves

    .. math:: (I - \tfrac12 h k_0 U V)\,b_i = f_i p + h U\Big(\tfrac12 k_i z_0
              + \sum_{j=1}^{i-1} k_{i-j} z_j\Big)

    with ``(I - h k_0 U V / 2)^{-1} [p | U]`` computed once (Gaussian elimination with partial
    pivoting). As for :func:`volterra_trapezoid`, the global error expands in even powers of
    ``h`` (Linz 1985, ch. 7; the proof is the same for systems), which the caller uses for
    Richardson extrapolation. Returns ``b`` of shape ``(N, n)``. The history sums are
    reassociated (``fastmath``) so that they vectorise.
    """
    return volterra_lowrank_first_weight(f, p, k, 0.5 * k, U, V, h)


@njit(cache=True, fastmath={"reassoc", "contract"})
def volterra_lowrank_first_weight(
    f: np.ndarray, p: np.ndarray, k: np.ndarray, k_first: np.ndarray, U: np.ndarray, V: np.ndarray, h: float
) -> np.ndarray:  # pragma: no cover - jit
    r""":func:`volterra_trapezoid_lowrank` with its own weight of the node :math:`s = 0`.

    Solves :math:`b_i = f_i p + h U \big(w_i z_0 + \sum_{j=1}^{i-1} k_{i-j} z_j + \tfrac12 k_0
    z_i\big)`, :math:`z_j = V b_j`, with :math:`w_i` = ``k_first[i]``; the trapezoidal rule is
    ``k_first = k / 2``. The delayed engine passes the integral of the kernel's kinks between
    :math:`t_i - h` and :math:`t_i` against half a hat function instead. Returns ``b`` (N, n).
    """
    size = f.size
    n = p.size
    q = V.shape[0]
    # [A^{-1} p | h A^{-1} U] with A = I - (h k_0 / 2) U V, by Gaussian elimination with partial
    # pivoting (n is small; written out rather than np.linalg.solve, which costs ~9 s of JIT).
    system = np.zeros((n, n))
    for r in range(n):
        for c in range(n):
            acc = 0.0
            for l in range(q):
                acc += U[r, l] * V[l, c]
            system[r, c] = -0.5 * h * k[0] * acc
        system[r, r] += 1.0
    solved = np.empty((n, q + 1))
    for r in range(n):
        solved[r, 0] = p[r]
        for l in range(q):
            solved[r, l + 1] = h * U[r, l]
    _solve_in_place(system, solved)
    a_p = solved[:, 0].copy()  # A^{-1} p
    a_u = solved[:, 1:].copy()  # h A^{-1} U
    k_reversed = k[::-1].copy()  # k[i - j] = k_reversed[size - 1 - i + j]: unit stride in j
    z = np.empty((q, size))
    b = np.empty((size, n))
    s = np.empty(q)
    for r in range(n):
        b[0, r] = f[0] * p[r]
    for l in range(q):
        acc = 0.0
        for r in range(n):
            acc += V[l, r] * b[0, r]
        z[l, 0] = acc
    for i in range(1, size):
        offset = size - 1 - i
        for l in range(q):
            zl = z[l]
            acc = 0.0
            for j in range(1, i):
                acc += k_reversed[offset + j] * zl[j]
            s[l] = k_first[i] * zl[0] + acc
        for r in range(n):
            acc = f[i] * a_p[r]
            for l in range(q):
                acc += a_u[r, l] * s[l]
            b[i, r] = acc
        for l in range(q):
            acc = 0.0
            for r in range(n):
                acc += V[l, r] * b[i, r]
            z[l, i] = acc
    return b


@njit(cache=True, fastmath={"reassoc", "contract"})
def gompertz_burden_full_panels(
    t: np.ndarray,
    n_full: np.ndarray,
    nodes: np.ndarray,
    weights: np.ndarray,
    values: np.ndarray,
    x0: float,
    a: float,
    b: float,
) -> np.ndarray:  # pragma: no cover - jit
    r"""The full-panel part of the burden :math:`\sum_{j < n_i} X(t_i - s_j) w_j B(s_j)` over the
    quadrature nodes ``s_j`` whose panel ends before ``t_i`` (the first ``n_full[i]``), for the
    Gompertz law :math:`X(u) = b \exp(\ln(x_0/b) e^{-a u})` from ``x0`` cells.

    The same terms as the dense kernel matrix of ``engines.deterministic._burden``, summed without
    the matrix: only the nodes before ``t_i`` are evaluated (about half the work) and
    :math:`e^{-a(t_i - s_j)} = e^{-a t_i} e^{a s_j}` (one exponential per term, not two; the caller
    keeps :math:`a t` below 700, where neither factor overflows). ``values`` is (nodes, columns).
    """
    n_t = t.size
    m = values.shape[1]
    log_ratio = np.log(x0 / b)
    grow = np.exp(a * nodes) * log_ratio
    wv = np.empty((nodes.size, m))
    for j in range(nodes.size):
        for c in range(m):
            wv[j, c] = weights[j] * values[j, c]
    out = np.zeros((n_t, m))
    for i in range(n_t):
        decay = np.exp(-a * t[i])
        for c in range(m):
            acc = 0.0
            for j in range(n_full[i]):
                acc += np.exp(grow[j] * decay) * wv[j, c]
            out[i, c] = b * acc
    return out
