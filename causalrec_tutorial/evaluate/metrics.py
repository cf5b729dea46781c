"""Ranking metrics: precision, recall, MAP and nDCG at k, catalogue coverage and average popularity.
Book: 03_interest_extraction.ipynb, sec-interest-movielens; 06_evaluation.ipynb, sec-eval-ranking.

Conventions for ``recommendations`` and ``truth`` are in the :mod:`causalrec_tutorial.evaluate` docstring.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from .._checks import check_finite, check_k, float_array, vector

__all__ = ["average_popularity", "coverage", "map_at_k", "ndcg_at_k", "precision_at_k", "recall_at_k"]


ArrayLike = Any  # numpy array, pandas Series or a sequence of numbers


def _rankings(recommendations: Any, k: int | None) -> np.ndarray:
    """Top-k ids ``(n_users, k)`` (or all columns for k=None), padded with -1 for short ragged lists."""
    what = "one ranked list of item ids per user: a 2-D integer array (n_users, L) or a list of lists"
    if isinstance(recommendations, pd.DataFrame):
        recommendations = recommendations.to_numpy()
    if isinstance(recommendations, np.ndarray):
        arr = recommendations
        if arr.ndim != 2:
            raise ValueError(f"recommendations must be {what}; got an array of shape {arr.shape}")
        if arr.dtype.kind not in "iu":
            raise ValueError(f"recommendations must hold integer item ids ({what}); got dtype {arr.dtype}")
        if k is not None and arr.shape[1] < k:
            raise ValueError(
                f"recommendations have {arr.shape[1]} columns but k={k}: expected lists of at least k items "
                "(pass a smaller k, or ragged lists as a list of lists)"
            )
        ids = arr[:, : (arr.shape[1] if k is None else k)].astype(np.int64)
    else:
        if isinstance(recommendations, (str, bytes)) or not isinstance(recommendations, Iterable):
            raise ValueError(f"recommendations must be {what}; got {type(recommendations).__name__}")
        rows = []
        for u, row in enumerate(recommendations):
            r = np.asarray(row)
            if r.ndim != 1 or (r.size and r.dtype.kind not in "iu"):
                raise ValueError(f"recommendations[{u}] must be a 1-D sequence of integer item ids ({what})")
            rows.append(r.astype(np.int64)[: (len(r) if k is None else k)])
        width = max((len(r) for r in rows), default=0) if k is None else k
        ids = np.full((len(rows), width), -1, dtype=np.int64)
        for u, r in enumerate(rows):
            ids[u, : len(r)] = r
        if k is None and rows and ids.shape[1] == 0:
            raise ValueError("recommendations are all empty lists: expected at least one recommended item")
        if rows and np.any([(r < 0).any() for r in rows]):
            raise ValueError("recommendations must hold non-negative item ids")
    if ids.shape[0] == 0:
        raise ValueError(f"recommendations are empty: expected {what}, for at least one user")
    if isinstance(recommendations, np.ndarray) and (ids < 0).any():
        raise ValueError("recommendations must hold non-negative item ids")
    srt = np.sort(ids, axis=1)
    dup = (np.diff(srt, axis=1) == 0) & (srt[:, 1:] >= 0)
    if dup.any():
        u = int(np.argmax(dup.any(axis=1)))
        raise ValueError(f"recommendations of user row {u} repeat an item: expected distinct items per list")
    return ids


def _truth(truth: Any, n_users: int, ids: np.ndarray) -> tuple[str, Any]:
    """("matrix", (n_users, n_items) float) or ("sets", list of sorted int arrays)."""
    what = (
        "a 2-D relevance array (n_users, n_items), a sequence of relevant-id collections (one per user), "
        "or a dict/Series mapping user id to such a collection"
    )
    if isinstance(truth, pd.DataFrame):
        truth = truth.to_numpy()
    if isinstance(truth, np.ndarray) and truth.ndim > 2:
        raise ValueError(f"truth must be {what}; got an array of shape {truth.shape}")
    if isinstance(truth, np.ndarray) and truth.ndim == 2:
        m = float_array("truth", truth, what)
        if m.shape[0] != n_users:
            raise ValueError(
                f"truth has {m.shape[0]} rows but recommendations have {n_users} users: expected one row per user"
            )
        check_finite("truth", m, "relevance per (user, item)")
        if (m < 0).any():
            raise ValueError("truth (relevance matrix) must be non-negative")
        if ids.size and ids.max() >= m.shape[1]:
            raise ValueError(
                f"recommended item id {ids.max()} is outside the relevance matrix's {m.shape[1]} columns: "
                "expected columns = item ids"
            )
        return "matrix", m
    if isinstance(truth, (Mapping, pd.Series)):
        mapping = dict(truth.items())
        bad = [u for u in mapping if not isinstance(u, (int, np.integer)) or not 0 <= u < n_users]
        if bad:
            raise ValueError(
                f"truth maps user ids outside 0..{n_users - 1} (e.g. {bad[0]!r}): its keys must be the row indices "
                "of recommendations"
            )
        seq = [mapping.get(u, ()) for u in range(n_users)]
    elif isinstance(truth, (str, bytes)) or not isinstance(truth, Iterable):
        raise ValueError(f"truth must be {what}; got {type(truth).__name__}")
    else:
        seq = list(truth)
        if len(seq) != n_users:
            raise ValueError(
                f"truth has {len(seq)} entries but recommendations have {n_users} users: expected one per user"
            )
    sets = []
    for u, s in enumerate(seq):
        if isinstance(s, (str, bytes)) or not isinstance(s, Iterable):
            raise ValueError(f"truth[{u}] must be a collection of relevant item ids, got {s!r} ({what})")
        a = np.asarray(list(s))
        if a.size and a.dtype.kind not in "iu":
            raise ValueError(f"truth[{u}] must hold integer item ids, got dtype {a.dtype}")
        sets.append(np.unique(a.astype(np.int64)))
    return "sets", sets


def _hits_and_counts(ids: np.ndarray, kind: str, truth: Any, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Binary hits (n_users, k) and the number of relevant items per user."""
    if kind == "matrix":
        if not np.isin(truth, (0.0, 1.0)).all():
            raise ValueError(
                f"{metric} needs binary relevance (0/1) in a relevance matrix; binarise a graded one first, "
                "e.g. (relevance > 0.5).astype(int), or use ndcg_at_k for graded relevance"
            )
        rows = np.arange(ids.shape[0])[:, None]
        hits = np.where(ids >= 0, truth[rows, np.maximum(ids, 0)], 0.0) > 0
        return hits, truth.sum(axis=1)
    hits = np.zeros(ids.shape, dtype=bool)
    for u, rel in enumerate(truth):
        if rel.size:
            hits[u] = np.isin(ids[u], rel)
    return hits, np.array([len(s) for s in truth], dtype=float)


def _average(per_user: np.ndarray, per_user_out: bool, metric: str) -> float | np.ndarray:
    if not isinstance(per_user_out, (bool, np.bool_)):
        raise TypeError(f"per_user must be True or False, got {per_user_out!r}")
    if per_user_out:
        return per_user
    if np.isnan(per_user).all():
        raise ValueError(f"{metric}: no user has a relevant item, so the metric is undefined")
    return float(np.nanmean(per_user))


def precision_at_k(recommendations: Any, truth: Any, k: int, *, per_user: bool = False) -> float | np.ndarray:
    """Precision@k: the share of the top-``k`` list that is relevant, averaged over users with a relevant item.

    Args:
        recommendations: ranked item ids per user (see the module docstring for the accepted forms).
        truth: relevant items per user: id collections, a dict/Series user -> ids, or a binary matrix.
        k: list length evaluated (the denominator, even for shorter ragged lists).
        per_user: return the per-user values (NaN for users without a relevant item) instead of the mean.

    Returns:
        The mean precision@k (float), or an array ``(n_users,)``.

    Raises:
        ValueError: for malformed inputs, a graded matrix, or if no user has a relevant item.

    Book: 06_evaluation.ipynb, sec-eval-ranking
    """
    k = check_k(k)
    ids = _rankings(recommendations, k)
    kind, t = _truth(truth, ids.shape[0], ids)
    hits, n_rel = _hits_and_counts(ids, kind, t, "precision_at_k")
    value = np.where(n_rel > 0, hits.sum(axis=1) / k, np.nan)
    return _average(value, per_user, "precision_at_k")


def recall_at_k(recommendations: Any, truth: Any, k: int, *, per_user: bool = False) -> float | np.ndarray:
    """Recall@k: the share of a user's relevant items found in the top ``k``, averaged over users.

    ``recall@k = |top-k ∩ relevant| / |relevant|`` (uncapped denominator); users with no relevant item are left out.

    Args:
        recommendations: ranked item ids per user, best first (2-D int array or list of lists).
        truth: relevant items per user: id collections, a dict/Series user -> ids, or a binary matrix.
        k: list length evaluated.
        per_user: return the per-user values (NaN for users without a relevant item) instead of the mean.

    Returns:
        The mean recall@k (float), or an array ``(n_users,)``.

    Raises:
        ValueError: for malformed inputs (shapes, duplicates, negative ids), a graded matrix, or if no user has a
            relevant item.

    Book: 06_evaluation.ipynb, sec-eval-ranking
    """
    k = check_k(k)
    ids = _rankings(recommendations, k)
    kind, t = _truth(truth, ids.shape[0], ids)
    hits, n_rel = _hits_and_counts(ids, kind, t, "recall_at_k")
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(n_rel > 0, hits.sum(axis=1) / n_rel, np.nan)
    return _average(value, per_user, "recall_at_k")


def map_at_k(recommendations: Any, truth: Any, k: int, *, per_user: bool = False) -> float | np.ndarray:
    """Mean average precision at k.

    ``AP@k = sum_{s<k} precision@(s+1) * [item in slot s is relevant] / min(k, |relevant|)``; a list with every
    slot relevant (or every relevant item on top) scores 1. MAP@k is the mean over users with a relevant item.

    Args:
        recommendations: ranked item ids per user, best first.
        truth: relevant items per user: id collections, a dict/Series user -> ids, or a binary matrix.
        k: list length evaluated.
        per_user: return AP@k per user (NaN for users without a relevant item) instead of the mean.

    Returns:
        MAP@k (float), or an array ``(n_users,)`` of AP@k.

    Raises:
        ValueError: for malformed inputs, a graded matrix, or if no user has a relevant item.

    Book: 06_evaluation.ipynb, sec-eval-ranking
    """
    k = check_k(k)
    ids = _rankings(recommendations, k)
    kind, t = _truth(truth, ids.shape[0], ids)
    hits, n_rel = _hits_and_counts(ids, kind, t, "map_at_k")
    precision = np.cumsum(hits, axis=1) / np.arange(1, k + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(n_rel > 0, (precision * hits).sum(axis=1) / np.minimum(k, n_rel), np.nan)
    return _average(value, per_user, "map_at_k")


def ndcg_at_k(
    recommendations: Any,
    truth: Any,
    k: int,
    *,
    gain: str = "linear",
    discount: ArrayLike | None = None,
    per_user: bool = False,
) -> float | np.ndarray:
    """Normalised discounted cumulative gain at k, for binary or graded relevance.

    ``DCG@k = sum_{s<k} g(rel(item in slot s)) * d_s`` with 0-based slots, ``d_s = 1 / log2(s + 2)`` by default,
    ``g(x) = x`` (``gain="linear"``) or ``2**x - 1`` (``"exponential"``); ``nDCG@k = DCG@k / IDCG@k`` where IDCG
    is the DCG of the ``k`` items with the largest gains (for id sets: ``min(k, |relevant|)`` ones). To judge a
    ranking against the shop's true relevance pass ``world.relevance[:, :world.n_available(period)]``; with
    ``discount=world.examination`` DCG is the expected number of clicks and nDCG its share of the best list's.

    Args:
        recommendations: ranked item ids per user, best first.
        truth: id collections / dict / Series (binary), or a non-negative relevance matrix ``(n_users, n_items)``
            (binary or graded).
        k: list length evaluated.
        gain: ``"linear"`` or ``"exponential"``.
        discount: per-slot weights (length >= ``k``, positive); default ``1 / log2(s + 2)``.
        per_user: return the per-user values (NaN for users with no relevant item) instead of the mean.

    Returns:
        The mean nDCG@k (float), or an array ``(n_users,)``.

    Raises:
        ValueError: for malformed inputs, an unknown gain, a bad discount, or if no user has a relevant item.

    Book: 06_evaluation.ipynb, sec-eval-ranking
    """
    k = check_k(k)
    if gain not in ("linear", "exponential"):
        raise ValueError(f"gain must be 'linear' or 'exponential', got {gain!r}")
    if discount is None:
        d = 1.0 / np.log2(np.arange(k) + 2.0)
    else:
        d = vector("discount", discount, "one positive weight per slot")
        if len(d) < k or (d[:k] <= 0).any():
            raise ValueError(f"discount must hold at least k={k} positive weights (one per slot), got {len(d)}")
        d = d[:k]
    ids = _rankings(recommendations, k)
    kind, t = _truth(truth, ids.shape[0], ids)
    g = (lambda x: x) if gain == "linear" else (lambda x: np.exp2(x) - 1.0)
    if kind == "matrix":
        rows = np.arange(ids.shape[0])[:, None]
        gains = np.where(ids >= 0, g(t[rows, np.maximum(ids, 0)]), 0.0)
        kk = min(k, t.shape[1])
        ideal = np.zeros((t.shape[0], k))
        ideal[:, :kk] = g(-np.sort(-t, axis=1)[:, :kk])  # the k largest gains of each row, best first
    else:
        hits, n_rel = _hits_and_counts(ids, kind, t, "ndcg_at_k")
        gains = g(hits.astype(float))
        ideal = g((np.arange(k)[None, :] < n_rel[:, None]).astype(float))
    dcg, idcg = gains @ d, ideal @ d
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(idcg > 0, dcg / idcg, np.nan)
    return _average(value, per_user, "ndcg_at_k")


def coverage(recommendations: Any, n_items: int, k: int | None = None) -> float:
    """Catalogue coverage: the share of the ``n_items`` items recommended to at least one user in the top ``k``.

    Args:
        recommendations: ranked item ids per user (2-D int array or list of lists).
        n_items: catalogue size (item ids are ``0 .. n_items-1``).
        k: list length evaluated (default: whole lists).

    Returns:
        A number in [0, 1].

    Raises:
        ValueError: for malformed recommendations, a bad ``n_items``/``k``, or an id >= ``n_items``.

    Book: 06_evaluation.ipynb, sec-eval-beyond-accuracy
    """
    n_items = check_k(n_items, "n_items")
    ids = _rankings(recommendations, check_k(k, allow_none=True))
    if ids.max() >= n_items:
        raise ValueError(f"recommended item id {ids.max()} is outside the catalogue 0..{n_items - 1}")
    return float(np.unique(ids[ids >= 0]).size / n_items)


def average_popularity(recommendations: Any, popularity: ArrayLike, k: int | None = None) -> float:
    """Average recommendation popularity (ARP): per user the mean popularity of the listed items, then the mean.

    Args:
        recommendations: ranked item ids per user (2-D int array or list of lists).
        popularity: one number per item, indexed by item id (e.g. ``world.items["popularity"]``, or interaction
            counts in the training data).
        k: list length evaluated (default: whole lists). Users with an empty list are left out.

    Returns:
        The mean popularity of what is recommended (compare with the catalogue's mean to see popularity bias).

    Raises:
        ValueError: for malformed inputs or an id outside ``popularity``.

    Book: 06_evaluation.ipynb, sec-eval-beyond-accuracy
    """
    pop = vector("popularity", popularity, "one number per item id")
    ids = _rankings(recommendations, check_k(k, allow_none=True))
    if ids.max() >= len(pop):
        raise ValueError(f"recommended item id {ids.max()} is outside popularity's {len(pop)} entries")
    valid = ids >= 0
    counts = valid.sum(axis=1)
    sums = np.where(valid, pop[np.maximum(ids, 0)], 0.0).sum(axis=1)
    keep = counts > 0
    if not keep.any():
        raise ValueError("recommendations are all empty lists: expected at least one recommended item")
    return float(np.mean(sums[keep] / counts[keep]))
