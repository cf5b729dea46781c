r"""User interest vectors by pooling item-text embeddings (mean, recency-weighted, multi-interest), and item scores.
Book: 03_interest_extraction.ipynb, sec-interest-pooling, sec-interest-embeddings

"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .. import columns as C
from .._checks import (
    check_columns,
    check_embeddings,
    check_history,
    check_int,
    check_number,
    check_size,
    check_weights,
    float_array,
    id_array,
)
from .history import EVENT_WEIGHTS

__all__ = ["MultiInterest", "interest_vectors", "pool_mean", "pool_multi", "pool_recency", "score_items"]


def _unit(x: np.ndarray, axis: int = -1) -> np.ndarray:
    norm = np.linalg.norm(x, axis=axis, keepdims=True)
    return x / np.maximum(norm, 1e-12)


def pool_mean(history: Sequence[int], item_embeddings: np.ndarray, weights: Sequence[float] | None = None
              ) -> np.ndarray:
    """The weighted mean of the history's item vectors.

    Args:
        history: item ids (row indices of ``item_embeddings``), oldest first; repeats count again.
        item_embeddings: ``(n_items, dim)``.
        weights: one non-negative weight per event (default all 1).

    Returns:
        float64 array ``(dim,)``.

    Raises:
        ValueError: for an empty history, an unknown item id (the message names it), or bad weights.

    Book: 03_interest_extraction.ipynb, sec-interest-pooling
    """
    emb = check_embeddings(item_embeddings)
    ids = check_history(history, len(emb))
    w = check_weights(weights, len(ids))
    return (w @ emb[ids]) / w.sum()


def pool_recency(
    history: Sequence[int],
    item_embeddings: np.ndarray,
    half_life: float = 7.0,
    ages: Sequence[float] | None = None,
    weights: Sequence[float] | None = None,
) -> np.ndarray:
    """The mean of the history's item vectors with weight ``weights_j * 2 ** (-age_j / half_life)``.

    Args:
        history: item ids, oldest first.
        item_embeddings: ``(n_items, dim)``.
        half_life: after this age an event counts half (> 0).
        ages: each event's age (e.g. days before the last event); default: events counted back from the last one
            (the last has age 0).
        weights: per-event weights before the recency decay (default all 1).

    Raises:
        ValueError: for an empty history, an unknown item id, a non-positive half-life, or bad ages/weights.

    Book: 03_interest_extraction.ipynb, sec-interest-pooling
    """
    half_life = check_number("half_life", half_life, 0.0, None, low_open=True, what="in days, or in events")
    emb = check_embeddings(item_embeddings)
    ids = check_history(history, len(emb))
    if ages is None:
        a = np.arange(len(ids))[::-1].astype(np.float64)
    else:
        a = float_array("ages", ages, "the age of each event")
        if a.shape != ids.shape or not np.all(np.isfinite(a)) or np.any(a < 0):
            raise ValueError(f"ages must be {len(ids)} finite non-negative numbers, got shape {a.shape}")
    w = check_weights(weights, len(ids)) * np.exp2(-a / float(half_life))
    return (w @ emb[ids]) / w.sum()


@dataclasses.dataclass(frozen=True)
class MultiInterest:
    """Several interest vectors of one user.

    Attributes:
        vectors: ``(m, dim)`` unit vectors, one per interest, the heaviest first.
        weights: ``(m,)`` each interest's share of the user's event weight (sums to 1).
        labels: ``(len(history),)`` the interest each event was assigned to.

    Book: 03_interest_extraction.ipynb, sec-interest-pooling
    """

    vectors: np.ndarray
    weights: np.ndarray
    labels: np.ndarray


#: Rounds of k-means in :func:`pool_multi` (it stops earlier once the centres settle).
_KMEANS_ROUNDS = 10


def pool_multi(
    history: Sequence[int],
    item_embeddings: np.ndarray,
    n_interests: int = 3,
    weights: Sequence[float] | None = None,
    n_iter: int = _KMEANS_ROUNDS,
) -> MultiInterest:
    """Up to ``n_interests`` interest vectors: weighted spherical k-means on the history's item vectors.

    Deterministic: the first centre is the heaviest distinct item (ties: the first in the history), each further
    centre the distinct item least similar to the centres so far; then ``n_iter`` rounds of assigning each event to
    its most similar centre and re-centring (weighted mean, unit length). A user with fewer distinct items than
    ``n_interests`` gets one interest per distinct item.

    Raises:
        ValueError: for an empty history, an unknown item id, bad weights or ``n_interests < 1``.

    Book: 03_interest_extraction.ipynb, sec-interest-pooling
    """
    check_int("n_interests", n_interests)
    emb = check_embeddings(item_embeddings)
    ids = check_history(history, len(emb))
    n_iter = check_int("n_iter", n_iter, 0)
    return _pool_multi(ids, check_weights(weights, len(ids)), emb, int(n_interests), n_iter)


def _pool_multi(ids: np.ndarray, w: np.ndarray, emb: np.ndarray, n_interests: int, n_iter: int) -> MultiInterest:
    """:func:`pool_multi` on checked inputs (``interest_vectors`` calls it once per user)."""
    X = _unit(emb[ids])
    distinct, first, where = np.unique(ids, return_index=True, return_inverse=True)
    item_w = np.bincount(where, weights=w, minlength=len(distinct))
    m = min(n_interests, len(distinct))
    D = _unit(emb[distinct])
    start = int(np.lexsort((first, -item_w))[0])
    centres = [D[start]]
    for _ in range(1, m):
        sim = np.max(D @ np.array(centres).T, axis=1)
        centres.append(D[int(np.argmin(sim))])
    Cm = np.array(centres)
    for _ in range(n_iter):
        labels = np.argmax(X @ Cm.T, axis=1)
        member = labels[None, :] == np.arange(m)[:, None]            # (m, events)
        new = (member * w) @ X
        empty = ~member.any(axis=1)
        new[empty] = Cm[empty]                                       # an empty cluster keeps its centre
        new = _unit(new)
        if np.all(np.abs(new - Cm) <= 1e-8 + 1e-5 * np.abs(Cm)):   # np.allclose, without its overhead
            break
        Cm = new
    labels = np.argmax(X @ Cm.T, axis=1)
    share = np.bincount(labels, weights=w, minlength=m) / w.sum()
    order = np.argsort(-share, kind="stable")
    relabel = np.empty(m, dtype=np.int64)
    relabel[order] = np.arange(m)
    return MultiInterest(vectors=Cm[order], weights=share[order], labels=relabel[labels])


_METHODS = ("mean", "recency", "multi")


def interest_vectors(
    events: pd.DataFrame,
    item_embeddings: np.ndarray,
    method: str = "mean",
    n_users: int | None = None,
    event_weights: Mapping[str, float] | None = None,
    half_life: float = 7.0,
    n_interests: int = 3,
) -> np.ndarray:
    """One interest vector (``mean``, ``recency``) or several (``multi``) for every user of an events table.

    Args:
        events: columns ``user_id, item_id`` and optionally ``event`` (weighted by ``event_weights``; absent: all
            weight 1) and ``timestamp`` (ages in days for ``recency``; absent: ages counted in events). Rows in time
            order (as ``ShopLogs.events()``).
        item_embeddings: ``(n_items, dim)``.
        method: ``"mean"``, ``"recency"`` or ``"multi"``.
        n_users: rows of the result (default ``max user id + 1``).
        event_weights: weight per event kind (default :data:`EVENT_WEIGHTS`); kinds not listed weigh 0.
        half_life: for ``recency``, in days (or events).
        n_interests: for ``multi``.

    Returns:
        ``(n_users, dim)`` for ``mean``/``recency``; ``(n_users, n_interests, dim)`` for ``multi`` (unused interest
        slots are zero). Users without (weighted) events get zero rows.

    Raises:
        ValueError: for an unknown method, missing columns, or an unknown item id (named).

    Book: 03_interest_extraction.ipynb, sec-interest-pooling
    """
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    check_int("n_interests", n_interests)
    emb = check_embeddings(item_embeddings)
    check_columns(events, "events", [C.USER, C.ITEM], allow_empty=True)
    weights_by_kind = EVENT_WEIGHTS if event_weights is None else dict(event_weights)
    if C.EVENT in events.columns:
        w_all = events[C.EVENT].map(weights_by_kind).fillna(0.0).to_numpy(np.float64)
    else:
        w_all = np.ones(len(events))
    keep = w_all > 0
    df = events.loc[keep, [c for c in (C.USER, C.ITEM, C.TIMESTAMP) if c in events.columns]]
    w_all = w_all[keep]
    if n_users is not None:
        n_users = check_int("n_users", n_users, 0)
    users = id_array(f"events.{C.USER}", df[C.USER].to_numpy(), n_users, "user")
    items = check_history(df[C.ITEM].to_numpy(), len(emb)) if len(df) else np.zeros(0, np.int64)
    n = int(users.max()) + 1 if n_users is None and len(users) else int(n_users or 0)
    dim = emb.shape[1]
    check_size("interest_vectors", 8 * n * dim * (1 if method != "multi" else int(n_interests)),
               f"{n} users x {dim} dimensions")
    if method == "mean":
        from scipy import sparse

        # one sparse (users x items) matrix of summed event weights, times the item vectors: no per-event copies
        counts = sparse.csr_matrix((w_all, (users, items)), shape=(n, len(emb)))
        total = np.asarray(counts.sum(axis=1)).ravel()
        out = np.asarray(counts @ emb)
        return out / np.maximum(total, 1e-300)[:, None] * (total > 0)[:, None]
    order = np.argsort(users, kind="stable")
    bounds = np.searchsorted(users[order], np.arange(n + 1))
    if C.TIMESTAMP in df.columns:
        days = (pd.to_datetime(df[C.TIMESTAMP]).to_numpy().astype("datetime64[s]").astype(np.int64) / 86400.0)
    out = np.zeros((n, dim)) if method == "recency" else np.zeros((n, int(n_interests), dim))
    for u in range(n):
        rows = order[bounds[u]:bounds[u + 1]]
        if len(rows) == 0:
            continue
        if method == "recency":
            ages = (days[rows].max() - days[rows]) if C.TIMESTAMP in df.columns else None
            out[u] = pool_recency(items[rows], emb, half_life=half_life, ages=ages, weights=w_all[rows])
        else:
            mi = _pool_multi(items[rows], w_all[rows], emb, int(n_interests), _KMEANS_ROUNDS)
            out[u, : len(mi.vectors)] = mi.vectors
    return out


def score_items(user_vectors: np.ndarray, item_embeddings: np.ndarray) -> np.ndarray:
    """Scores ``(n_users, n_items)``: dot products, or for multi-interest input ``(n_users, m, dim)`` the maximum
    over the user's interests (zero interest slots are ignored).

    Raises:
        ValueError: if the dimensions do not match.

    Book: 03_interest_extraction.ipynb, sec-interest-pooling
    """
    U = float_array("user_vectors", user_vectors, "one vector (or several) per user")
    emb = check_embeddings(item_embeddings)
    if U.ndim not in (2, 3) or U.shape[-1] != emb.shape[1]:
        raise ValueError(f"user_vectors {U.shape} and item_embeddings {emb.shape} do not match")
    if U.ndim == 2:
        return U @ emb.T
    s = np.einsum("umd,id->umi", U, emb)
    empty = ~np.any(U != 0, axis=2)
    s[empty] = -np.inf
    best = s.max(axis=1)
    return np.where(np.isfinite(best), best, 0.0)
