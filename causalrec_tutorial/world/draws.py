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


def systematic_slot_probabilities(cumulative: np.ndarray, score: np.ndarray, k: int) -> np.ndarray:
    """Exact P(item i in slot s) when systematic sampling picks k items and they are ranked by ``score``.

    Systematic sampling with one uniform start ``u0`` picks the items whose cumulative-inclusion interval holds
    ``u0 + m`` (m = 0..k-1). As ``u0`` runs over [0, 1) the chosen set changes only where ``u0`` passes the
    fractional part of a cumulative sum, so it takes at most n + 1 values, each with probability the length of its
    stretch; ranking each set by the score (highest first) gives its slots. Summing the lengths gives the exact
    per-slot probabilities; they sum over items to 1 in every slot and over slots to the inclusion probability.

    Args:
        cumulative: ``(n_users, n)`` cumulative inclusion probabilities per user, the last equal to ``k``.
        score: ``(n_users, n)`` the logger's score (higher is shown higher; ties go to the lower item id).
        k: slots.

    Returns:
        float64 ``(n_users, n, k)``.
    """
    n_users, n = cumulative.shape
    out = np.zeros((n_users, n, k))
    slots = np.broadcast_to(np.arange(k), (n + 1, k))
    for u in range(n_users):
        c = cumulative[u]
        starts = np.unique(np.concatenate([[0.0], np.mod(c[:-1], 1.0)]))
        lengths = np.diff(np.append(starts, 1.0))
        keep = lengths > 1e-15
        starts, lengths = starts[keep], lengths[keep]
        points = (starts + lengths / 2)[:, None] + np.arange(k)[None, :]
        chosen = np.minimum(np.searchsorted(c, points, side="right"), n - 1)
        order = np.lexsort((chosen, -score[u][chosen]), axis=1)  # by score, then by item id
        ranked = np.take_along_axis(chosen, order, axis=1)
        np.add.at(out[u], (ranked, slots[: len(ranked)]), lengths[:, None])
    return out


def sample_unshown(shown: np.ndarray, n: int, m: int, rng: np.random.Generator) -> np.ndarray:
    """``m`` distinct items per row of ``shown``, uniformly among the ``n`` items not in that row (sequential draws,
    each skipping the items excluded so far)."""
    excluded = np.sort(shown, axis=1)
    out = np.empty((len(shown), m), dtype=np.int64)
    for j in range(m):
        x = rng.integers(0, n - shown.shape[1] - j, size=len(shown))
        for col in range(excluded.shape[1]):
            x = x + (x >= excluded[:, col])
        out[:, j] = x
        excluded = np.sort(np.concatenate([excluded, x[:, None]], axis=1), axis=1)
    return out
