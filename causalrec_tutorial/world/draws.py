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


def systematic_sets(cumulative: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Every set systematic sampling can draw from one row's cumulated inclusion probabilities (last = ``k``), and
    its probability: as the start runs over [0, 1) the set changes only where it passes the fractional part of a
    cumulative sum, so there are at most n + 1 sets, each as likely as the length of its stretch.

    Returns:
        ``(chosen, lengths)``: int ``(n_sets, k)`` item ids and float ``(n_sets,)`` probabilities summing to 1.
    """
    c = np.asarray(cumulative, dtype=float)
    starts = np.unique(np.concatenate([[0.0], np.mod(c[:-1], 1.0)]))
    lengths = np.diff(np.append(starts, 1.0))
    keep = lengths > 1e-15
    starts, lengths = starts[keep], lengths[keep]
    points = (starts + lengths / 2)[:, None] + np.arange(k)[None, :]
    return np.minimum(np.searchsorted(c, points, side="right"), len(c) - 1), lengths


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
        chosen, lengths = systematic_sets(cumulative[u], k)
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


def sample_unshown_by_propensity(shown: np.ndarray, pi: np.ndarray, m: int, rng: np.random.Generator,
                                 mix: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """``m`` distinct not-shown items per row, kept with probability ``q`` ∝ ``mix`` · uniform + (1 − ``mix``) ·
    ``pi / (1 - pi)`` (capped at 1), and their exact inclusion probabilities ``q``.

    The not-shown pairs that matter for what the shown list caused are those the logger nearly showed (their weight
    ``pi / (1 - pi)`` is large); a uniform sample keeps few of them, so estimates built on it are dominated by rare,
    heavily weighted purchases. The uniform part (a defensive mixture) keeps every not-shown item's ``q`` at least
    ``mix`` times its uniform value. Systematic sampling in a random order per row gives exactly ``m`` items with
    marginal probabilities ``q`` and positive joint probabilities.

    Args:
        shown: ``(n_rows, k)`` shown item ids per row (excluded).
        pi: ``(n_rows, n)`` show probabilities of the available items.
        m: items to keep per row (``<= n - k``).
        rng: the randomness.
        mix: share of the uniform component, in (0, 1].

    Returns:
        ``(items, q)``, both ``(n_rows, m)``.
    """
    n_rows, n = pi.shape
    if m == 0:
        return np.zeros((n_rows, 0), np.int64), np.zeros((n_rows, 0))
    avail = np.ones((n_rows, n), dtype=bool)
    np.put_along_axis(avail, shown, False, axis=1)
    odds = np.where(avail, pi / np.maximum(1 - pi, 1e-12), 0.0)
    odds = odds / np.maximum(odds.sum(axis=1, keepdims=True), 1e-300)
    uniform = avail / avail.sum(axis=1, keepdims=True)
    w = mix * uniform + (1 - mix) * odds
    with np.errstate(divide="ignore"):
        q = capped_inclusion(np.log(np.where(avail, w, 0.0)), m)
    q = np.where(avail, q, 0.0)
    order = np.argsort(rng.random((n_rows, n)), axis=1)  # a random order per row: positive joint probabilities
    q_perm = np.take_along_axis(q, order, axis=1)
    cum = np.cumsum(q_perm, axis=1)
    cum[:, -1] = m  # the rows sum to m up to rounding; pin the end so that no target runs past its row
    offset = (np.arange(n_rows) * (m + 1.0))[:, None]
    targets = rng.random(n_rows)[:, None] + np.arange(m)[None, :]
    pos = np.searchsorted((cum + offset).ravel(), (targets + offset).ravel(), side="right").reshape(n_rows, m)
    pos = np.clip(pos - (np.arange(n_rows) * n)[:, None], 0, n - 1)
    items = np.take_along_axis(order, pos, axis=1)
    return items.astype(np.int64), np.take_along_axis(q, items, axis=1)
