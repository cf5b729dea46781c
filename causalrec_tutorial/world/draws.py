"""The world's seeded draws and probability helpers: counter-based normals, capped inclusion probabilities.
Book: 02_the_data.ipynb, sec-shop-world, sec-shop-logs (the logging policy's inclusion probabilities).

Per-pair noise comes from a counter-based hash of (seed, user, item), so that adding users or items keeps the
existing ones (prefix-stable); nothing here touches a global random state.
"""

from __future__ import annotations

import numpy as np
from scipy import special

__all__: list[str] = []  # helpers of world.shop, not part of the public API

_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xBF58476D1CE4E5B9)
_M3 = np.uint64(0x94D049BB133111EB)


def _splitmix(x: np.ndarray) -> np.ndarray:
    x = x + _M1
    x = (x ^ (x >> np.uint64(30))) * _M2
    x = (x ^ (x >> np.uint64(27))) * _M3
    return x ^ (x >> np.uint64(31))


def hash_normal(key: np.uint64, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Standard normals for every (row, col) pair, a pure function of (key, row, col): prefix-stable in both."""
    r = _splitmix(rows.astype(np.uint64)[:, None] ^ key)
    x = _splitmix(r + _splitmix(cols.astype(np.uint64)[None, :] + key))
    u = ((x >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53
    return special.ndtri(u)


def capped_inclusion(scores: np.ndarray, k: int) -> np.ndarray:
    """Row-wise p = min(1, k·softmax(scores)) with iterative capping so that every row sums to k."""
    w = np.exp(scores - scores.max(axis=1, keepdims=True))
    capped = np.zeros(w.shape, dtype=bool)
    for _ in range(k + 1):
        free = np.where(capped, 0.0, w)
        budget = k - capped.sum(axis=1, keepdims=True)
        p = np.where(capped, 1.0, budget * free / free.sum(axis=1, keepdims=True))
        over = (p > 1.0) & ~capped
        if not over.any():
            break
        capped |= over
    return p


def read_only(a: np.ndarray) -> np.ndarray:
    """``a`` as an array that cannot be written (the truth arrays the world hands out)."""
    a = np.asarray(a)
    a.flags.writeable = False
    return a
