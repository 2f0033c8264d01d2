"""Per-patient random streams (foundation layer, below the model): xoshiro256** seeded from a SeedSequence child.

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

__all__ = ["child_key", "exponential", "next_u64", "patient_states", "seed_state", "splitmix", "uniform"]

_U53 = 1.0 / 9007199254740992.0  # 2**-53


def _words(value: int) -> list[int]:
    """A non-negative integer as 32-bit words, least significant first ([0] for 0), as numpy's
    SeedSequence coerces its entropy and spawn key."""
    words = []
    while True:
        words.append(value & 0xFFFFFFFF)
        value >>= 32
        if not value:
            return words


def patient_states(seed: int, indices: NDArray[np.int64]) -> NDArray[np.uint64]:
    """xoshiro256** states (len(indices), 4) of the patients ``indices`` of a run seeded ``seed``.

    Row r is ``SeedSequence(seed, spawn_key=(indices[r],)).generate_state(4, uint64)``, computed
    by a numba transcription of numpy's SeedSequence (O'Neill's hash mixing, pool of four 32-bit
    words) that the tests check bit for bit against numpy.
    """
    run = _words(int(seed))
    if len(run) < _POOL:  # numpy pads the run entropy to the pool size when there is a spawn key
        run = run + [0] * (_POOL - len(run))
    idx = np.asarray(indices, dtype=np.int64)
    out = _seed_states(np.asarray(run, dtype=np.uint64), idx)
    zero = ~out.any(axis=1)  # xoshiro cannot leave the all-zero state (probability 2**-256)
    out[zero, 0] = 1
    return out


_POOL = 4
_MASK32 = 0xFFFFFFFF


@numba.njit(cache=True, inline="always")
def _hashmix(value: int, hash_const: np.ndarray) -> int:  # pragma: no cover - jit
    value = (value ^ hash_const[0]) & 0xFFFFFFFF
    hash_const[0] = (hash_const[0] * 0x931E8875) & 0xFFFFFFFF
    value = (value * hash_const[0]) & 0xFFFFFFFF
    return value ^ (value >> 16)


@numba.njit(cache=True, inline="always")
def _mix(x: int, y: int) -> int:  # pragma: no cover - jit
    result = ((0xCA01F9DD * x) - (0x4973F715 * y)) & 0xFFFFFFFF
    return result ^ (result >> 16)


@numba.njit(cache=True)
def _seed_states(run: np.ndarray, indices: np.ndarray) -> np.ndarray:  # pragma: no cover - jit
    n_run = run.size
    out = np.empty((indices.size, 4), dtype=np.uint64)
    entropy = np.empty(n_run + 2, dtype=np.int64)
    mixer = np.empty(4, dtype=np.int64)
    hash_const = np.empty(1, dtype=np.int64)
    for r in range(indices.size):
        for k in range(n_run):
            entropy[k] = np.int64(run[k])
        key = indices[r]
        entropy[n_run] = key & 0xFFFFFFFF
        n = n_run + 1
        if key >> 32:
            entropy[n_run + 1] = key >> 32
            n += 1
        hash_const[0] = 0x43B0D7E5
        for i in range(4):
            mixer[i] = _hashmix(entropy[i] if i < n else 0, hash_const)
        for i_src in range(4):
            for i_dst in range(4):
                if i_src != i_dst:
                    mixer[i_dst] = _mix(mixer[i_dst], _hashmix(mixer[i_src], hash_const))
        for i_src in range(4, n):
            for i_dst in range(4):
                mixer[i_dst] = _mix(mixer[i_dst], _hashmix(entropy[i_src], hash_const))
        h = 0x8B51F9DD
        for w in range(4):
            lo_hi = np.empty(2, dtype=np.int64)
            for half in range(2):
                value = mixer[(2 * w + half) % 4]
                value = (value ^ h) & 0xFFFFFFFF
                h = (h * 0x58F38DED) & 0xFFFFFFFF
                value = (value * h) & 0xFFFFFFFF
                lo_hi[half] = value ^ (value >> 16)
            out[r, w] = np.uint64(lo_hi[0]) | (np.uint64(lo_hi[1]) << np.uint64(32))
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


_GAMMA = 0x9E3779B97F4A7C15  # SplitMix64's increment (Steele, Lea & Flood 2014)


@numba.njit(cache=True, inline="always")
def splitmix(x: np.uint64) -> np.uint64:  # pragma: no cover - jit
    """SplitMix64's output function of the state ``x`` (after its increment) (Steele, Lea &
    Flood, OOPSLA 2014; the seeder recommended for xoshiro by Blackman & Vigna)."""
    z = x + np.uint64(_GAMMA)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@numba.njit(cache=True, inline="always")
def child_key(key: np.uint64, ordinal: int) -> np.uint64:  # pragma: no cover - jit
    """The key of the ``ordinal``-th child stream of the stream keyed ``key``."""
    return splitmix(key ^ splitmix(np.uint64(ordinal) + np.uint64(1)))


@numba.njit(cache=True, inline="always")
def seed_state(key: np.uint64, out: np.ndarray) -> np.ndarray:  # pragma: no cover - jit
    """Fill the xoshiro256** state ``out`` from ``key`` with four SplitMix64 outputs."""
    x = key
    for i in range(4):
        out[i] = splitmix(x)
        x = x + np.uint64(_GAMMA)
    if out[0] == 0 and out[1] == 0 and out[2] == 0 and out[3] == 0:
        out[0] = np.uint64(1)
    return out
