"""Per-patient random streams for numba kernels: xoshiro256** seeded from a SeedSequence child.

Patient ``i`` of a run with seed ``s`` draws from xoshiro256** (Blackman & Vigna 2021) whose
256-bit state is ``SeedSequence(s, spawn_key=(i,)).generate_state(4, uint64)``: exactly the
state of ``SeedSequence(s).spawn(n)[i]``, so a patient's stream depends only on ``(s, i)``, never
on the batch it is simulated in, and one patient can be re-run alone.

References
----------
.. [1] Blackman D, Vigna S. Scrambled linear pseudorandom number generators. ACM Trans Math
   Softw 2021;47(4):36 (xoshiro256**, reference C code at prng.di.unimi.it).
.. [2] O'Neill ME. PCG: a family of simple fast space-efficient statistically good algorithms
   for random number generation. HMC-CS-2014-0905 (SeedSequence hashing, as in numpy).
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numpy.typing import NDArray

__all__ = ["exponential", "next_u64", "patient_states", "uniform"]

_U53 = 1.0 / 9007199254740992.0  # 2**-53


def patient_states(seed: int, indices: NDArray[np.int64]) -> NDArray[np.uint64]:
    """xoshiro256** states (len(indices), 4) of the patients ``indices`` of a run seeded ``seed``."""
    out = np.empty((len(indices), 4), dtype=np.uint64)
    for row, i in enumerate(indices):
        state = np.random.SeedSequence(seed, spawn_key=(int(i),)).generate_state(4, np.uint64)
        if not state.any():  # the all-zero state is the one xoshiro cannot leave (probability 2**-256)
            state[0] = 1
        out[row] = state
    return out


@numba.njit(cache=True, inline="always")
def _rotl(x: np.uint64, k: int) -> np.uint64:  # pragma: no cover - jit
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@numba.njit(cache=True, inline="always")
def next_u64(s: np.ndarray) -> np.uint64:  # pragma: no cover - jit
    """Next 64-bit output of xoshiro256** with state ``s`` (uint64[4], updated in place)."""
    result = _rotl(s[1] * np.uint64(5), 7) * np.uint64(9)
    t = s[1] << np.uint64(17)
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = _rotl(s[3], 45)
    return result


@numba.njit(cache=True, inline="always")
def uniform(s: np.ndarray) -> float:  # pragma: no cover - jit
    """Uniform double in [0, 1) from the top 53 bits."""
    return float(next_u64(s) >> np.uint64(11)) * _U53


@numba.njit(cache=True, inline="always")
def exponential(s: np.ndarray) -> float:  # pragma: no cover - jit
    """Standard exponential by inversion, -log(1 - U) with 1 - U in (0, 1]."""
    return -math.log(1.0 - uniform(s))


@numba.njit(cache=True)
def draw_u64(s: np.ndarray, n: int) -> np.ndarray:  # pragma: no cover - jit
    """``n`` raw outputs (for tests against the reference algorithm)."""
    out = np.empty(n, dtype=np.uint64)
    for i in range(n):
        out[i] = next_u64(s)
    return out
