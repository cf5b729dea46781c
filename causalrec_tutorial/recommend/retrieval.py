r"""Candidate lists: retrieval of the items nearest to a user's interests, top-k, and re-ranking of candidates.
Book: 05_recommendation_generation.ipynb, sec-gen-retrieval, sec-gen-pipeline

**Candidate retrieval.** :func:`retrieve_candidates` takes the ``n`` items nearest to a user's interest vector
(dot product of unit vectors, i.e. cosine; or the best of several interest vectors), never an item in the user's
``exclude`` set (what they already bought). A user without history (an all-zero interest vector) gets the
**fallback**: the most popular unseen items (``popularity``), or, if no popularity is given, the items nearest to
the catalogue's mean vector. Fewer than ``n`` unseen items: the row is padded with ``-1``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._checks import check_int, check_number, float_array, matrix

__all__ = ["rerank", "rerank_by_uplift", "retrieve_candidates", "top_k"]


def top_k(scores: Any, k: int, exclude: Sequence[Any] | Mapping[int, Any] | None = None) -> np.ndarray:
    """The ``k`` best-scored items per row, best first, skipping each row's ``exclude`` items (padded with ``-1``).

    Args:
        scores: ``(n_users, n_items)``; ties are broken by the smaller item id.
        k: list length (>= 1).
        exclude: per user a collection of item ids never to return (a sequence aligned with the rows, or a mapping
            user id → ids; missing users exclude nothing).

    Returns:
        int64 ``(n_users, k)``.

    Raises:
        ValueError: for a malformed score matrix, ``k < 1``, or excluded ids outside the catalogue.

    Book: 05_recommendation_generation.ipynb, sec-gen-retrieval
    """
    s = matrix("scores", scores).copy()
    k = check_int("k", k, 1)
    n_users, n_items = s.shape
    mask = _exclusion_mask(exclude, n_users, n_items)
    s[mask] = -np.inf
    kk = min(k, n_items)
    order = np.argsort(-s, axis=1, kind="stable")[:, :kk]
    valid = np.isfinite(np.take_along_axis(s, order, axis=1))
    out = np.full((n_users, k), -1, dtype=np.int64)
    out[:, :kk] = np.where(valid, order, -1)
    return out


def _exclusion_mask(exclude: Any, n_users: int, n_items: int) -> np.ndarray:
    mask = np.zeros((n_users, n_items), dtype=bool)
    if exclude is None:
        return mask
    if isinstance(exclude, Mapping) or isinstance(exclude, pd.Series):
        items = ((int(u), v) for u, v in exclude.items())
    else:
        if len(exclude) != n_users:
            raise ValueError(f"exclude must have one entry per user ({n_users}), got {len(exclude)}")
        items = enumerate(exclude)
    for u, seen in items:
        if not 0 <= u < n_users:
            raise ValueError(f"exclude names user {u}, outside [0, {n_users})")
        ids = np.asarray(list(seen), dtype=np.int64) if seen is not None else np.zeros(0, np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= n_items):
            raise ValueError(f"exclude of user {u} has item ids outside [0, {n_items})")
        mask[u, ids] = True
    return mask


def retrieve_candidates(
    user_vectors: Any,
    item_vectors: Any,
    n: int,
    exclude: Sequence[Any] | Mapping[int, Any] | None = None,
    popularity: Any = None,
) -> np.ndarray:
    """The ``n`` items nearest to each user's interest vector, never an excluded (seen) item.

    Scores are dot products (cosine for unit vectors); for several interest vectors per user ``(n_users, m, dim)``
    the best over the user's interests (zero rows ignored). **Fallback** for a user without history (an all-zero
    interest vector): the most popular unseen items by ``popularity``, or, if ``popularity`` is None, the unseen
    items nearest to the mean item vector (the catalogue's centre).

    Args:
        user_vectors: ``(n_users, dim)`` or ``(n_users, m, dim)`` (e.g. ``crt.interest.interest_vectors``).
        item_vectors: ``(n_items, dim)`` (e.g. MiniLM embeddings of the item texts).
        n: candidates per user (>= 1).
        exclude: per user the item ids already seen/bought (a sequence aligned with the users, or a mapping user id
            → ids, e.g. ``logs.histories("purchase")``).
        popularity: ``(n_items,)`` non-negative, for the fallback.

    Returns:
        int64 ``(n_users, n)``, nearest first; rows with fewer than ``n`` unseen items end in ``-1``.

    Raises:
        ValueError: for mismatched shapes, ``n < 1``, bad ``exclude`` ids or a bad ``popularity``.

    Book: 05_recommendation_generation.ipynb, sec-gen-retrieval
    """
    U = matrix("user_vectors", user_vectors, (2, 3))
    V = matrix("item_vectors", item_vectors)
    n = check_int("n", n, 1)
    if U.shape[-1] != V.shape[1]:
        raise ValueError(f"user_vectors {U.shape} and item_vectors {V.shape} must share the last dimension")
    if U.ndim == 2:
        scores = U @ V.T
        empty = ~np.any(U != 0, axis=1)
    else:
        s = np.einsum("umd,id->umi", U, V)
        unused = ~np.any(U != 0, axis=2)
        s[unused] = -np.inf
        scores = s.max(axis=1)
        empty = unused.all(axis=1)
        scores[empty] = 0.0
    if popularity is not None:
        pop = matrix("popularity", np.asarray(popularity, dtype=np.float64)[None, :]).ravel()
        if len(pop) != V.shape[0] or (pop < 0).any():
            raise ValueError(f"popularity must be {V.shape[0]} non-negative values, got {len(pop)}")
        fallback = pop
    else:
        fallback = V @ V.mean(axis=0)
    scores[empty] = fallback[None, :]
    return top_k(scores, n, exclude)




def rerank_by_uplift(
    candidates: Any,
    uplift: Any,
    k: int,
    click_scores: Any = None,
    weight: float = 1.0,
) -> np.ndarray:
    """Reorder candidate lists by estimated uplift (optionally blended with click scores) and keep the top ``k``.

    The order key is the rank-normalised blend ``weight * rank(uplift) + (1 - weight) * rank(click)`` within each
    user's candidates (``weight=1``: uplift alone). Padding (``-1``) stays at the end.

    Args:
        candidates: int ``(n_users, n)`` item ids, ``-1`` for padding (e.g. :func:`retrieve_candidates`).
        uplift: ``(n_users, n_items)`` estimated uplift (:func:`estimate_uplift`).
        k: list length, ``1 <= k <= n``.
        click_scores: ``(n_users, n_items)``, needed when ``weight < 1``.
        weight: in [0, 1].

    Returns:
        int64 ``(n_users, k)``.

    Raises:
        ValueError: for mismatched shapes, ids outside the catalogue, ``k`` out of range or a bad weight.

    Book: 05_recommendation_generation.ipynb, sec-gen-uplift
    """
    cand = np.asarray(candidates)
    if cand.ndim != 2 or cand.dtype.kind not in "iu":
        raise ValueError(f"candidates must be an integer array (n_users, n), got {cand.dtype} {cand.shape}")
    up = float_array("uplift", uplift, "one score per (user, item)")
    if up.ndim != 2 or up.size == 0:
        raise ValueError(f"uplift must be a non-empty (n_users, n_items) array, got shape {up.shape}")
    if up.shape[0] != cand.shape[0]:
        raise ValueError(f"uplift has {up.shape[0]} rows, candidates {cand.shape[0]}")
    if cand.max() >= up.shape[1] or cand.min() < -1:
        raise ValueError(f"candidate ids must be in [0, {up.shape[1]}) or -1 for padding")
    k = check_int("k", k, 1)
    if k > cand.shape[1]:
        raise ValueError(f"k={k} is larger than the number of candidates {cand.shape[1]}")
    weight = check_number("weight", weight, 0.0, 1.0, what="the share of the uplift rank in the blend")
    key = _within_rank(_at_candidates("uplift", up, cand))
    if weight < 1:
        if click_scores is None:
            raise ValueError("click_scores is needed when weight < 1")
        cs = float_array("click_scores", click_scores, "one click score per (user, item)")
        if cs.shape != up.shape:
            raise ValueError(f"click_scores {cs.shape} and uplift {up.shape} must have the same shape")
        key = weight * key + (1 - weight) * _within_rank(_at_candidates("click_scores", cs, cand))
    key = np.where(cand >= 0, key, -np.inf)
    order = np.argsort(-key, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(cand, order, axis=1).astype(np.int64)



def _at_candidates(name: str, scores: np.ndarray, cand: np.ndarray) -> np.ndarray:
    """``scores[u, cand[u, j]]`` (0 at padding); every real candidate's score must be finite (others may be nan)."""
    vals = scores[np.arange(cand.shape[0])[:, None], np.maximum(cand, 0)]
    vals = np.where(cand >= 0, vals, 0.0)
    if not np.isfinite(vals).all():
        raise ValueError(f"{name} must be finite at every candidate (nan is allowed only elsewhere)")
    return vals


def rerank(candidates: Any, scores: Any, k: int) -> np.ndarray:
    """Reorder candidate lists by a score matrix (highest first) and keep the top ``k``; padding stays last.

    The ranking stage of a pipeline: ``rerank(retrieve_candidates(...), click_model.scores(), k)``.

    Args:
        candidates: int ``(n_users, n)`` item ids, ``-1`` for padding.
        scores: ``(n_users, n_items)``, finite at every candidate.
        k: list length, ``1 <= k <= n``.

    Returns:
        int64 ``(n_users, k)``.

    Raises:
        ValueError: as :func:`rerank_by_uplift`.

    Book: 05_recommendation_generation.ipynb, sec-gen-pipeline
    """
    scores = float_array("scores", scores, "one score per (user, item)")
    if scores.ndim != 2 or scores.size == 0:
        raise ValueError(f"scores must be a non-empty (n_users, n_items) array, got shape {scores.shape}")
    return rerank_by_uplift(candidates, scores, k)


def _within_rank(x: np.ndarray) -> np.ndarray:
    """Per row, ranks scaled to [0, 1] (higher value → higher rank)."""
    r = np.argsort(np.argsort(x, axis=1, kind="stable"), axis=1).astype(np.float64)
    return r / max(1, x.shape[1] - 1)
