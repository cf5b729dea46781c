r"""Evaluation: ranking metrics, off-policy estimators with bootstrap CIs, and A/B-test analysis.

Three ways to judge a recommender, from the cheapest to the most trustworthy.

**Ranking metrics** (offline, on held-out interactions or on the simulated shop's true relevance).

- ``recommendations``: one ranked list per user, best first. Either a 2-D integer array ``(n_users, L)`` (row ``u``
  is user ``u``'s list, as :meth:`ShopWorld.top_k <causalrec_tutorial.world.ShopWorld.top_k>` returns), or a sequence
  of 1-D sequences (ragged lists; a short list simply has fewer items). Item ids are non-negative integers and
  distinct within a list. Only the first ``k`` entries count.
- ``truth``: what was relevant, aligned with the rows of ``recommendations``, in one of three forms:

  * a sequence (one entry per user) of collections of relevant item ids (binary relevance);
  * a ``dict`` or ``pandas.Series`` mapping row index (user id) to such a collection — users that are missing have
    no relevant items (``logs.histories("purchase")`` of a test period has this form);
  * a 2-D ``numpy`` array (or DataFrame) ``(n_users, n_items)`` of non-negative relevance, row ``u`` = user ``u``,
    column ``i`` = item ``i``: binary (0/1) for every metric, graded (e.g. the shop's true click probability
    ``world.relevance[:, :world.n_available()]``) for :func:`ndcg_at_k`. A *list* of lists is always read as id sets.

- Users with no relevant item (empty set, all-zero row) are left out of the average (their metric is undefined,
  returned as NaN with ``per_user=True``); if no user is left, ``ValueError``.
- Definitions, with :math:`L_u` the top-``k`` list and :math:`R_u` the relevant set:
  ``precision@k`` :math:`= |L_u \cap R_u| / k`; ``recall@k`` :math:`= |L_u \cap R_u| / |R_u|` (uncapped
  denominator, so with ``|R_u| > k`` the best possible recall is below 1); ``AP@k`` :math:`= \frac{1}{\min(k,
  |R_u|)} \sum_{s<k} \text{precision@}(s{+}1)\,[L_{u,s} \in R_u]` (so a perfect list scores 1) and ``MAP@k`` is
  its mean; ``nDCG@k`` :math:`= \text{DCG}/\text{IDCG}`, :math:`\text{DCG} = \sum_{s<k} g(\text{rel}_{u,L_{u,s}})
  \, d_s` with linear gain :math:`g(x) = x` (or :math:`2^x - 1`) and discount :math:`d_s = 1/\log_2(s + 2)` for the
  0-based slot :math:`s` (or any discount you pass, e.g. the shop's examination probabilities, which makes DCG the
  expected number of clicks); IDCG is the DCG of the best possible list (the ``k`` largest gains of the user's row).
- ``coverage``: the share of the catalogue that appears in at least one top-``k`` list; ``average_popularity``: the
  mean over users of the mean popularity of their list (ARP, Abdollahpouri et al. 2019).

**Off-policy estimators** (the value a *target* policy :math:`\pi_e` would have had, from logs of a *logging*
policy :math:`\pi_0`). The setting is the standard contextual bandit, and the item-position setting of the Open
Bandit Dataset (Saito et al. 2021) in which one logged *round* is one (impression, slot) row: the context is the
user (and the slot), the action is the item shown there, the reward is the click. Per round :math:`i`:

- ``reward`` :math:`r_i`; ``propensity`` :math:`p_i = \pi_0(a_i \mid x_i) \in (0, 1]`, the logging policy's
  probability of the logged action (the ``propensity`` column of the shop and of the Open Bandit Dataset);
- ``target`` :math:`\pi_e(a_i \mid x_i) \in [0, 1]`: a 1-D array (the target probability of the logged action), or
  an action distribution ``(n, n_actions)`` with ``action=``, or ``(n, n_actions, n_positions)`` with ``action=``
  and ``position=`` (the layout of ``obp``'s ``action_dist``; entry ``[i, a, s]`` is the probability of item ``a`` in
  slot ``s`` for round ``i``);
- for DM and DR a reward model: ``reward_hat`` :math:`\hat q(x_i, a_i)` (1-D, or a full array of the target's
  shape) and ``expected_reward_hat`` :math:`\hat v_i = \sum_a \pi_e(a \mid x_i)\,\hat q(x_i, a)` (1-D; computed
  from full arrays when both are given).

With the importance weight :math:`w_i = \min(\pi_e(a_i \mid x_i) / p_i,\; M)` (``clip`` :math:`= M`, default none):

- ``dm`` :math:`= \frac1n \sum_i \hat v_i` (direct method);
- ``ips`` :math:`= \frac1n \sum_i w_i r_i` (inverse propensity scoring; Horvitz & Thompson 1952);
- ``snips`` :math:`= \sum_i w_i r_i / \sum_i w_i` (self-normalised IPS; Swaminathan & Joachims 2015);
- ``dr`` :math:`= \frac1n \sum_i [\hat v_i + w_i (r_i - \hat q(x_i, a_i))]` (doubly robust; Dudík, Langford &
  Li 2011).

Each estimates the target's expected reward *per round*: in the item-position setting, per (impression, slot), so
the expected clicks per impression (session) is ``k`` times the estimate. Without clipping IPS and DR are unbiased
when :math:`p_i > 0` wherever :math:`\pi_e > 0`; SNIPS is consistent and invariant to a common scaling of the weights.
Clipping (capping each weight at ``clip``) trades variance for bias (downwards for non-negative rewards). Every
estimator returns an :class:`OPEEstimate` with a percentile bootstrap CI: resample the ``n`` rounds with
replacement ``n_bootstrap`` times (vectorised), recompute the estimate with the reward model and the weights held
fixed, take the ``(1 - confidence)/2`` and ``(1 + confidence)/2`` quantiles.

For the simulated shop, :func:`slot_probability`, :func:`slot_distribution` and :func:`mixture_value` give a
target policy's per-slot probabilities and its exact value (see :func:`slot_probability` for the recipe). For the
Open Bandit Dataset, :func:`bernoulli_ts_action_dist` gives the slot distribution of a Bernoulli Thompson-sampling
policy (the evaluation policy of the Open Bandit Pipeline's benchmark, Saito et al. 2021) and
:func:`fit_reward_model` the cross-fitted, position-wise logistic-regression reward model its DM and DR use.

**A/B tests.** :func:`difference_in_means` (two arrays of per-unit outcomes) and :func:`estimate_ab_effects` (an
:class:`~causalrec_tutorial.world.ABTestResult` or its ``sessions`` table) give B − A with a normal-approximation
CI, the standard error being Welch's :math:`\sqrt{s_A^2/n_A + s_B^2/n_B}` or, clustered by user, the
cluster-robust one. :func:`sample_size` and :func:`sample_size_for_mean` say how many units per arm a test needs.

All randomness comes from an ``rng`` argument (a ``numpy.random.Generator`` or an integer seed); nothing touches
the global random state.

Book: 06_evaluation.ipynb, sec-eval
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from . import columns as C
from .config import as_rng
from .world import ABTestResult, PolicyValue, ShopWorld

__all__ = [
    "ABEstimate",
    "OPEEstimate",
    "average_popularity",
    "bernoulli_ts_action_dist",
    "coverage",
    "difference_in_means",
    "dm",
    "dr",
    "effective_sample_size",
    "estimate_ab_effects",
    "estimate_policy_value",
    "expected_reward",
    "fit_reward_model",
    "importance_weights",
    "ips",
    "map_at_k",
    "mixture_value",
    "ndcg_at_k",
    "precision_at_k",
    "recall_at_k",
    "sample_size",
    "sample_size_for_mean",
    "slot_distribution",
    "slot_probability",
    "snips",
]

ArrayLike = Any  # numpy array, pandas Series or a sequence of numbers

_BOOTSTRAP_BLOCK = 2_000_000  # resampled entries per vectorised block (bounds memory: 16 MB of indices)


# ---------------------------------------------------------------------------------------------------------------
# Validation helpers
# ---------------------------------------------------------------------------------------------------------------


def _check_k(k: Any, name: str = "k", allow_none: bool = False) -> int | None:
    if k is None and allow_none:
        return None
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"{name} must be a positive integer (the length of the list to evaluate), got {k!r}")
    return int(k)


def _check_rng(rng: Any) -> np.random.Generator:
    if rng is None:
        raise ValueError(
            "rng is required for bootstrap confidence intervals: pass rng=np.random.default_rng(seed) "
            "(or n_bootstrap=0 for a point estimate without CI)"
        )
    return as_rng(rng)


def _check_fraction(name: str, value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number in (0, 1) ({what}), got {value!r}")
    if not 0 < float(value) < 1:
        raise ValueError(f"{name} must be in (0, 1) ({what}), got {value!r}")
    return float(value)


def _check_bootstrap(n_bootstrap: Any, confidence: Any) -> tuple[int, float]:
    if isinstance(n_bootstrap, bool) or not isinstance(n_bootstrap, (int, np.integer)) or n_bootstrap < 0:
        raise ValueError(f"n_bootstrap must be a non-negative integer (0 = no CI), got {n_bootstrap!r}")
    return int(n_bootstrap), _check_fraction("confidence", confidence, "the level of the interval, e.g. 0.95")


def _to_float_array(name: str, x: Any, what: str) -> np.ndarray:
    if isinstance(x, (pd.Series, pd.Index, pd.DataFrame)):
        try:
            return x.to_numpy(dtype=float, na_value=np.nan)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{name} must be numeric ({what}), got dtype {x.dtypes}") from err
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be numeric ({what}), got {type(x).__name__}") from err
    return arr


def _check_finite(name: str, arr: np.ndarray, what: str) -> None:
    bad = ~np.isfinite(arr)
    if bad.any():
        first = tuple(int(j) for j in np.argwhere(bad)[0])
        where = first[0] if len(first) == 1 else first
        raise ValueError(
            f"{name} contains {int(bad.sum())} NaN or infinite value(s) (first at index {where}); "
            f"expected finite numbers ({what})"
        )


def _vector(name: str, x: Any, what: str, n: int | None = None, ref: str = "reward") -> np.ndarray:
    """A non-empty, finite 1-D float array; with ``n``, of that length."""
    if x is None:
        raise ValueError(f"{name} is missing: expected {what}")
    arr = _to_float_array(name, x, what)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D ({what}), got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty: expected {what}, at least one logged round")
    if n is not None and len(arr) != n:
        raise ValueError(
            f"length mismatch: {name} has {len(arr)} entries but {ref} has {n}; expected one per logged round"
        )
    _check_finite(name, arr, what)
    return arr


def _check_range(name: str, arr: np.ndarray, low: float, high: float, low_open: bool, what: str) -> None:
    bad = (arr <= low if low_open else arr < low) | (arr > high)
    if bad.any():
        j = int(np.argmax(bad.ravel()))
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}]"
        hint = ""
        if name == "propensity" and (arr > high).any():
            hint = " (did you pass importance weights 1/p instead of probabilities?)"
        raise ValueError(
            f"{name} must be in {interval} ({what}); {int(bad.sum())} value(s) are outside, "
            f"e.g. {arr.ravel()[j]!r} at flat index {j}{hint}"
        )


def _indices(name: str, x: Any, n: int, size: int, what: str) -> np.ndarray:
    if x is None:
        raise ValueError(f"{name} is required with a full {what} array: pass {name}= (one per logged round)")
    arr = np.asarray(x.to_numpy() if isinstance(x, (pd.Series, pd.Index)) else x)
    if arr.ndim != 1 or arr.dtype.kind not in "iu":
        raise ValueError(f"{name} must be a 1-D integer array, got shape {arr.shape} and dtype {arr.dtype}")
    if len(arr) != n:
        raise ValueError(
            f"length mismatch: {name} has {len(arr)} entries but reward has {n}; expected one per logged round"
        )
    if arr.size and (arr.min() < 0 or arr.max() >= size):
        raise ValueError(
            f"{name} must be in [0, {size}) to index the {what} array, got values in [{arr.min()}, {arr.max()}]"
        )
    return arr.astype(np.int64)


def _full(name: str, x: Any, what: str, n: int) -> np.ndarray:
    """A 1-D (n,), 2-D (n, A) or 3-D (n, A, P) finite float array."""
    if x is None:
        raise ValueError(f"{name} is missing: expected {what}")
    arr = _to_float_array(name, x, what)
    if arr.ndim not in (1, 2, 3):
        raise ValueError(
            f"{name} must be 1-D (n,), 2-D (n, n_actions) or 3-D (n, n_actions, n_positions) ({what}), "
            f"got shape {arr.shape}"
        )
    if arr.size == 0:
        raise ValueError(f"{name} is empty: expected {what}, at least one logged round")
    if arr.shape[0] != n:
        raise ValueError(
            f"length mismatch: {name} has {arr.shape[0]} rows but reward has {n}; expected one per logged round"
        )
    _check_finite(name, arr, what)
    return arr


def _pick(arr: np.ndarray, action: Any, position: Any, name: str) -> np.ndarray:
    """Entries of the logged actions (and positions) from a full array; 1-D arrays pass through."""
    n = arr.shape[0]
    if arr.ndim == 1:
        return arr
    a = _indices("action", action, n, arr.shape[1], name)
    if arr.ndim == 2:
        return arr[np.arange(n), a]
    s = _indices("position", position, n, arr.shape[2], name)
    return arr[np.arange(n), a, s]


def _check_distribution(target: np.ndarray) -> None:
    if target.ndim == 1:
        return
    sums = target.sum(axis=1)
    if not np.allclose(sums, 1.0, atol=1e-6):
        j = int(np.argmax(np.abs(sums - 1.0).ravel()))
        raise ValueError(
            "target given as an action distribution must sum to 1 over actions (axis 1) for every round"
            f"{' and position' if target.ndim == 3 else ''}; got a sum of {sums.ravel()[j]:.6g}"
        )


_TARGET_WHAT = "the target policy's probability of the logged action, pi_e(a_i | x_i), in [0, 1]"
_PROP_WHAT = "the logging policy's probability of the logged action, p_i = pi_0(a_i | x_i), in (0, 1]"
_REWARD_WHAT = "the observed reward of each logged round, e.g. the click"


def _prepare(reward, propensity, target, action, position, clip):
    """Reward, propensity, target probability of the logged action and clipped weights, all 1-D and checked."""
    r = _vector("reward", reward, _REWARD_WHAT)
    n = len(r)
    p = _vector("propensity", propensity, _PROP_WHAT, n)
    _check_range("propensity", p, 0.0, 1.0, True, _PROP_WHAT)
    t_full = _full("target", target, _TARGET_WHAT, n)
    _check_range("target", t_full, 0.0, 1.0, False, _TARGET_WHAT)
    _check_distribution(t_full)
    t = _pick(t_full, action, position, "target")
    w = t / p
    if clip is not None:
        w = np.minimum(w, _check_clip(clip))
    return r, p, t_full, t, w


def _check_clip(clip: Any) -> float:
    if isinstance(clip, bool) or not isinstance(clip, (int, float, np.integer, np.floating)) or not clip > 0:
        raise ValueError(f"clip must be a positive number (the largest importance weight kept), got {clip!r}")
    return float(clip)


# ---------------------------------------------------------------------------------------------------------------
# Ranking metrics
# ---------------------------------------------------------------------------------------------------------------


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
    if isinstance(truth, np.ndarray) and truth.ndim == 2:
        m = _to_float_array("truth", truth, what)
        if m.shape[0] != n_users:
            raise ValueError(
                f"truth has {m.shape[0]} rows but recommendations have {n_users} users: expected one row per user"
            )
        _check_finite("truth", m, "relevance per (user, item)")
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
    k = _check_k(k)
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
    k = _check_k(k)
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
    k = _check_k(k)
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
    k = _check_k(k)
    if gain not in ("linear", "exponential"):
        raise ValueError(f"gain must be 'linear' or 'exponential', got {gain!r}")
    if discount is None:
        d = 1.0 / np.log2(np.arange(k) + 2.0)
    else:
        d = _vector("discount", discount, "one positive weight per slot")
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
    n_items = _check_k(n_items, "n_items")
    ids = _rankings(recommendations, _check_k(k, allow_none=True))
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
    pop = _vector("popularity", popularity, "one number per item id")
    ids = _rankings(recommendations, _check_k(k, allow_none=True))
    if ids.max() >= len(pop):
        raise ValueError(f"recommended item id {ids.max()} is outside popularity's {len(pop)} entries")
    valid = ids >= 0
    counts = valid.sum(axis=1)
    sums = np.where(valid, pop[np.maximum(ids, 0)], 0.0).sum(axis=1)
    keep = counts > 0
    if not keep.any():
        raise ValueError("recommendations are all empty lists: expected at least one recommended item")
    return float(np.mean(sums[keep] / counts[keep]))


# ---------------------------------------------------------------------------------------------------------------
# Off-policy estimators
# ---------------------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class OPEEstimate:
    """An off-policy estimate of a target policy's expected reward per logged round.

    Attributes:
        value: the point estimate.
        ci_low: lower end of the percentile bootstrap CI (NaN with ``n_bootstrap=0``).
        ci_high: upper end.
        method: ``"dm"``, ``"ips"``, ``"snips"`` or ``"dr"`` (with ``" (clip=M)"`` when clipped).
        n: number of logged rounds used.

    Book: 06_evaluation.ipynb, sec-eval-ope
    """

    value: float
    ci_low: float
    ci_high: float
    method: str
    n: int

    def __str__(self) -> str:
        return f"{self.method}: {self.value:.4g} [{self.ci_low:.4g}, {self.ci_high:.4g}] (n={self.n})"


def _bootstrap(
    num: np.ndarray, den: np.ndarray | None, n_bootstrap: int, confidence: float, rng: Any
) -> tuple[float, float]:
    """Percentile CI of mean(num) (or sum(num)/sum(den)) over n_bootstrap resamples of the rounds."""
    if n_bootstrap == 0:
        return float("nan"), float("nan")
    gen = _check_rng(rng)
    n = len(num)
    stats = np.empty(n_bootstrap)
    block = max(1, _BOOTSTRAP_BLOCK // n)
    for start in range(0, n_bootstrap, block):
        b = min(block, n_bootstrap - start)
        idx = gen.integers(0, n, size=(b, n))
        s = num[idx].sum(axis=1)
        if den is None:
            stats[start : start + b] = s / n
        else:
            d = den[idx].sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                stats[start : start + b] = np.where(d > 0, s / np.where(d > 0, d, 1.0), np.nan)
    stats = stats[np.isfinite(stats)]  # SNIPS: resamples with zero total weight are undefined
    if stats.size == 0:
        return float("nan"), float("nan")
    lo, hi = np.quantile(stats, [(1 - confidence) / 2, (1 + confidence) / 2])
    return float(lo), float(hi)


def _method(name: str, clip: Any) -> str:
    return name if clip is None else f"{name} (clip={float(clip):g})"


def importance_weights(
    propensity: ArrayLike,
    target: ArrayLike,
    *,
    action: ArrayLike | None = None,
    position: ArrayLike | None = None,
    clip: float | None = None,
) -> np.ndarray:
    """Importance weights ``w_i = min(pi_e(a_i|x_i) / p_i, clip)`` of the logged rounds.

    Args:
        propensity: the logging policy's probability of each logged action, in (0, 1].
        target: the target policy's probability of each logged action (1-D), or an action distribution
            ``(n, n_actions[, n_positions])`` with ``action`` (and ``position``).
        action: logged action (item) per round, for a full ``target``.
        position: logged slot per round, for a 3-D ``target``.
        clip: the largest weight kept (``None``: no clipping).

    Returns:
        Array ``(n,)`` of weights.

    Raises:
        ValueError: for probabilities out of range, length mismatches, NaNs or empty input.

    Book: 06_evaluation.ipynb, sec-eval-ope
    """
    p = _vector("propensity", propensity, _PROP_WHAT)
    _, _, _, _, w = _prepare(np.zeros(len(p)), p, target, action, position, clip)
    return w


def effective_sample_size(weights: ArrayLike) -> float:
    """Kish's effective sample size ``(sum w)^2 / sum w^2`` of importance weights (n when all weights are equal).

    A small value (relative to n) warns that a few rounds dominate IPS/SNIPS and the estimate is noisy.

    Raises:
        ValueError: for empty, non-finite or negative weights, or weights that are all zero.

    Book: 06_evaluation.ipynb, sec-eval-ope
    """
    w = _vector("weights", weights, "non-negative importance weights")
    if (w < 0).any():
        raise ValueError("weights must be non-negative")
    if not (w > 0).any():
        raise ValueError("weights are all zero: the target policy never takes a logged action")
    return float(w.sum() ** 2 / np.sum(w**2))


def expected_reward(target: ArrayLike, reward_hat: ArrayLike, position: ArrayLike | None = None) -> np.ndarray:
    """A reward model's expected reward under the target policy per round: ``sum_a pi_e(a|x_i) q_hat(x_i, a)``.

    Args:
        target: action distribution ``(n, n_actions)`` or ``(n, n_actions, n_positions)``.
        reward_hat: the reward model's prediction for every action, the same shape.
        position: logged slot per round (required for 3-D arrays: the expectation is taken at that slot).

    Returns:
        Array ``(n,)``: the ``expected_reward_hat`` of :func:`dm` and :func:`dr`.

    Raises:
        ValueError: for mismatched shapes, a target that is not a distribution, NaNs or a missing position.

    Book: 06_evaluation.ipynb, sec-eval-ope
    """
    t = _to_float_array("target", target, "an action distribution (n, n_actions[, n_positions])")
    n = t.shape[0] if t.ndim else 0
    t = _full("target", t, "an action distribution (n, n_actions[, n_positions])", n)
    q = _full("reward_hat", reward_hat, "reward predictions for every action, the shape of target", n)
    if t.ndim == 1 or t.shape != q.shape:
        raise ValueError(
            f"target and reward_hat must both be full arrays (n, n_actions[, n_positions]) of the same shape, "
            f"got {t.shape} and {q.shape}"
        )
    _check_range("target", t, 0.0, 1.0, False, "action probabilities")
    _check_distribution(t)
    prod = t * q
    if t.ndim == 2:
        return prod.sum(axis=1)
    s = _indices("position", position, n, t.shape[2], "target")
    return prod[np.arange(n), :, s].sum(axis=1)


def _reward_model(reward_hat, expected_reward_hat, t_full, action, position, n):
    """q_hat at the logged action and v_hat (expected under the target), both 1-D."""
    q_full = _full("reward_hat", reward_hat, "the reward model's prediction q_hat(x_i, a_i)", n)
    q = _pick(q_full, action, position, "reward_hat")
    if expected_reward_hat is None:
        if q_full.ndim == 1 or t_full.ndim == 1:
            raise ValueError(
                "expected_reward_hat is missing: expected sum_a pi_e(a|x_i) q_hat(x_i, a) per round (1-D), or pass "
                "both target and reward_hat as full arrays (n, n_actions[, n_positions]) to compute it"
            )
        v = expected_reward(t_full, q_full, position)
    else:
        v = _vector(
            "expected_reward_hat", expected_reward_hat, "sum_a pi_e(a|x_i) q_hat(x_i, a) per round", n
        )
    return q, v


def ips(
    reward: ArrayLike,
    propensity: ArrayLike,
    target: ArrayLike,
    *,
    action: ArrayLike | None = None,
    position: ArrayLike | None = None,
    clip: float | None = None,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    rng: np.random.Generator | int | None = None,
) -> OPEEstimate:
    """Inverse propensity scoring: ``mean_i w_i r_i`` with ``w_i = min(pi_e(a_i|x_i) / p_i, clip)``.

    Unbiased without clipping whenever the logging policy gives every action the target can take a positive
    probability; its variance grows with the weights. Clipping caps each weight at ``clip`` (less variance, a bias
    towards 0 for non-negative rewards).

    Args:
        reward: observed reward per logged round (e.g. click).
        propensity: the logging policy's probability of the logged action, in (0, 1].
        target: the target policy's probability of the logged action (1-D, in [0, 1]), or an action distribution
            ``(n, n_actions)`` / ``(n, n_actions, n_positions)`` with ``action`` / ``position``.
        action: logged action (item index) per round; needed for a full ``target``.
        position: logged slot per round; needed for a 3-D ``target``.
        clip: maximum importance weight (``None``: no clipping).
        n_bootstrap: bootstrap resamples for the percentile CI (0: no CI).
        confidence: CI level.
        rng: generator (or seed) for the bootstrap; required when ``n_bootstrap > 0``.

    Returns:
        :class:`OPEEstimate` of the expected reward per round under the target policy.

    Raises:
        ValueError: for empty logs, length mismatches, NaNs, propensities outside (0, 1], target probabilities
            outside [0, 1], a bad ``clip``, or a missing ``rng``.

    Book: 06_evaluation.ipynb, sec-eval-ope
    """
    n_bootstrap, confidence = _check_bootstrap(n_bootstrap, confidence)
    r, _, _, _, w = _prepare(reward, propensity, target, action, position, clip)
    terms = w * r
    lo, hi = _bootstrap(terms, None, n_bootstrap, confidence, rng)
    return OPEEstimate(float(terms.mean()), lo, hi, _method("ips", clip), len(r))


def snips(
    reward: ArrayLike,
    propensity: ArrayLike,
    target: ArrayLike,
    *,
    action: ArrayLike | None = None,
    position: ArrayLike | None = None,
    clip: float | None = None,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    rng: np.random.Generator | int | None = None,
) -> OPEEstimate:
    """Self-normalised IPS: ``sum_i w_i r_i / sum_i w_i`` (Swaminathan & Joachims 2015).

    Slightly biased, consistent, usually far less variable than IPS, and invariant to multiplying all weights by a
    constant (so propensities known only up to a factor are fine). Arguments as in :func:`ips`.

    Returns:
        :class:`OPEEstimate`. Bootstrap resamples whose weights sum to 0 are dropped.

    Raises:
        ValueError: as :func:`ips`, and if all weights are 0 (the target never takes a logged action).

    Book: 06_evaluation.ipynb, sec-eval-ope
    """
    n_bootstrap, confidence = _check_bootstrap(n_bootstrap, confidence)
    r, _, _, _, w = _prepare(reward, propensity, target, action, position, clip)
    if not w.sum() > 0:
        raise ValueError("snips is undefined: all importance weights are 0 (the target never takes a logged action)")
    lo, hi = _bootstrap(w * r, w, n_bootstrap, confidence, rng)
    return OPEEstimate(float(np.sum(w * r) / np.sum(w)), lo, hi, _method("snips", clip), len(r))


def dm(
    expected_reward_hat: ArrayLike | None = None,
    *,
    target: ArrayLike | None = None,
    reward_hat: ArrayLike | None = None,
    position: ArrayLike | None = None,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    rng: np.random.Generator | int | None = None,
) -> OPEEstimate:
    """Direct method: ``mean_i sum_a pi_e(a|x_i) q_hat(x_i, a)``, the reward model's prediction of the value.

    No weights, little variance, but as biased as the reward model. The CI treats the model as fixed (it reflects
    the sampling of contexts, not the model's own error).

    Args:
        expected_reward_hat: ``v_hat_i = sum_a pi_e(a|x_i) q_hat(x_i, a)`` per round (1-D). Alternatively pass
            ``target`` and ``reward_hat`` as full arrays (and ``position`` for 3-D) and it is computed.
        target: action distribution ``(n, n_actions[, n_positions])`` (only without ``expected_reward_hat``).
        reward_hat: reward predictions for every action, the shape of ``target``.
        position: logged slot per round, for 3-D arrays.
        n_bootstrap: bootstrap resamples (0: no CI).
        confidence: CI level.
        rng: generator (or seed) for the bootstrap.

    Returns:
        :class:`OPEEstimate`.

    Raises:
        ValueError: for missing or malformed inputs, NaNs, or a missing ``rng``.

    Book: 06_evaluation.ipynb, sec-eval-ope
    """
    n_bootstrap, confidence = _check_bootstrap(n_bootstrap, confidence)
    if expected_reward_hat is None:
        if target is None or reward_hat is None:
            raise ValueError(
                "dm needs expected_reward_hat (sum_a pi_e(a|x_i) q_hat(x_i, a) per round), or target and reward_hat "
                "as full arrays (n, n_actions[, n_positions])"
            )
        v = expected_reward(target, reward_hat, position)
    else:
        v = _vector("expected_reward_hat", expected_reward_hat, "sum_a pi_e(a|x_i) q_hat(x_i, a) per round")
    lo, hi = _bootstrap(v, None, n_bootstrap, confidence, rng)
    return OPEEstimate(float(v.mean()), lo, hi, "dm", len(v))


def dr(
    reward: ArrayLike,
    propensity: ArrayLike,
    target: ArrayLike,
    reward_hat: ArrayLike,
    expected_reward_hat: ArrayLike | None = None,
    *,
    action: ArrayLike | None = None,
    position: ArrayLike | None = None,
    clip: float | None = None,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    rng: np.random.Generator | int | None = None,
) -> OPEEstimate:
    """Doubly robust: ``mean_i [v_hat_i + w_i (r_i - q_hat(x_i, a_i))]`` (Dudík, Langford & Li 2011).

    The reward model's prediction, corrected by importance-weighted residuals: unbiased (without clipping) if the
    propensities are right, whatever the model; low-variance if the model is good. With ``reward_hat = 0`` it is IPS.

    Args:
        reward: observed reward per logged round.
        propensity: the logging policy's probability of the logged action, in (0, 1].
        target: the target policy's probability of the logged action (1-D), or a full action distribution.
        reward_hat: the model's prediction at the logged action ``q_hat(x_i, a_i)`` (1-D), or for every action
            (the shape of a full ``target``).
        expected_reward_hat: ``v_hat_i = sum_a pi_e(a|x_i) q_hat(x_i, a)`` (1-D); computed when ``target`` and
            ``reward_hat`` are both full arrays.
        action: logged action per round (for full arrays).
        position: logged slot per round (for 3-D arrays).
        clip: maximum importance weight (``None``: no clipping).
        n_bootstrap: bootstrap resamples (0: no CI).
        confidence: CI level.
        rng: generator (or seed) for the bootstrap.

    Returns:
        :class:`OPEEstimate`.

    Raises:
        ValueError: as :func:`ips`, and for a missing or malformed reward model.

    Book: 06_evaluation.ipynb, sec-eval-ope
    """
    n_bootstrap, confidence = _check_bootstrap(n_bootstrap, confidence)
    r, _, t_full, _, w = _prepare(reward, propensity, target, action, position, clip)
    q, v = _reward_model(reward_hat, expected_reward_hat, t_full, action, position, len(r))
    terms = v + w * (r - q)
    lo, hi = _bootstrap(terms, None, n_bootstrap, confidence, rng)
    return OPEEstimate(float(terms.mean()), lo, hi, _method("dr", clip), len(r))


_METHODS = ("dm", "ips", "snips", "dr")


def estimate_policy_value(
    reward: ArrayLike,
    propensity: ArrayLike,
    target: ArrayLike,
    reward_hat: ArrayLike | None = None,
    expected_reward_hat: ArrayLike | None = None,
    *,
    action: ArrayLike | None = None,
    position: ArrayLike | None = None,
    methods: Sequence[str] | None = None,
    clip: float | None = None,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    rng: np.random.Generator | int | None = None,
    truth: float | None = None,
) -> pd.DataFrame:
    """Run several off-policy estimators on the same logs and tabulate them.

    Args:
        reward, propensity, target, reward_hat, expected_reward_hat, action, position, clip: as in :func:`dr`
            (``clip`` applies to IPS, SNIPS and DR). Without ``reward_hat`` only IPS and SNIPS run.
        methods: subset of ``("dm", "ips", "snips", "dr")`` (default: all that the inputs allow), in that order.
        n_bootstrap: bootstrap resamples per method (0: no CIs).
        confidence: CI level.
        rng: one generator, used by the methods in turn.
        truth: the true value, if known (the shop): adds ``truth`` and ``error`` (estimate − truth) columns.

    Returns:
        DataFrame indexed by ``method`` with columns ``value, ci_low, ci_high, n`` (``truth, error``).

    Raises:
        ValueError: for an unknown method, DM/DR requested without a reward model, or bad inputs (see :func:`dr`).

    Book: 06_evaluation.ipynb, sec-eval-ope
    """
    if methods is None:
        methods = _METHODS if reward_hat is not None else ("ips", "snips")
    methods = list(methods)
    unknown = [m for m in methods if m not in _METHODS]
    if unknown or not methods:
        raise ValueError(f"methods must be a non-empty subset of {_METHODS}, got {methods!r}")
    if reward_hat is None and {"dm", "dr"} & set(methods):
        raise ValueError("dm and dr need a reward model: pass reward_hat (and expected_reward_hat)")
    n_bootstrap, confidence = _check_bootstrap(n_bootstrap, confidence)
    if n_bootstrap:
        rng = _check_rng(rng)
    common = dict(n_bootstrap=n_bootstrap, confidence=confidence, rng=rng)
    weighted = dict(action=action, position=position, clip=clip, **common)
    rows = []
    for m in sorted(methods, key=_METHODS.index):
        if m == "ips":
            est = ips(reward, propensity, target, **weighted)
        elif m == "snips":
            est = snips(reward, propensity, target, **weighted)
        elif m == "dr":
            est = dr(reward, propensity, target, reward_hat, expected_reward_hat, **weighted)
        else:
            r = _vector("reward", reward, _REWARD_WHAT)
            t_full = _full("target", target, _TARGET_WHAT, len(r))
            _, v = _reward_model(reward_hat, expected_reward_hat, t_full, action, position, len(r))
            est = dm(v, **common)
        rows.append(dict(method=m, value=est.value, ci_low=est.ci_low, ci_high=est.ci_high, n=est.n))
    out = pd.DataFrame(rows).set_index("method")
    if truth is not None:
        out["truth"] = float(truth)
        out["error"] = out["value"] - out["truth"]
    return out


def bernoulli_ts_action_dist(
    alpha: ArrayLike,
    beta: ArrayLike,
    len_list: int,
    n_sim: int,
    rng: np.random.Generator | int,
    *,
    batch_size: int = 20_000,
) -> np.ndarray:
    r"""The slot distribution of a Bernoulli Thompson-sampling policy, by Monte Carlo: array ``(n_actions, len_list)``.

    Each simulated round draws one success probability per action, :math:`\theta_a \sim \text{Beta}(\alpha_a,
    \beta_a)`, and lists the ``len_list`` actions with the largest draws, best first. Entry ``[a, s]`` is the share of
    the ``n_sim`` rounds in which action ``a`` was in slot ``s``, so every column sums to 1. This is what
    ``obp.policy.BernoulliTS(...).compute_batch_action_dist(n_sim=...)`` computes for a policy that has not been
    updated yet (its counts are zero, so the posterior is the prior), vectorised; in the Open Bandit Pipeline's
    benchmark the prior is the one ZOZOTOWN used in production (``crt.data.load_open_bandit_prior``). Tile it over
    rounds (``np.broadcast_to(dist, (n, *dist.shape))``) to get ``obp``'s ``action_dist`` layout. The Monte Carlo
    standard error of an entry ``p`` is ``sqrt(p (1 - p) / n_sim)``.

    Args:
        alpha: Beta prior parameters per action, positive, shape ``(n_actions,)``.
        beta: the second Beta parameters, positive, same shape.
        len_list: slots per list (3 in the Open Bandit Dataset), ``1 <= len_list <= n_actions``.
        n_sim: simulated rounds (>= 1).
        rng: a ``numpy.random.Generator`` or an integer seed.
        batch_size: rounds simulated at once (memory: ``16 * batch_size * n_actions`` bytes).

    Returns:
        float64 array ``(n_actions, len_list)``.

    Raises:
        ValueError: for non-positive, non-finite or mismatched ``alpha``/``beta``, or a bad ``len_list``/``n_sim``.

    Book: 06_evaluation.ipynb, sec-eval-obd
    """
    a = _vector("alpha", alpha, "one positive Beta parameter per action")
    b = _vector("beta", beta, "one positive Beta parameter per action", n=len(a), ref="alpha")
    for name, arr in (("alpha", a), ("beta", b)):
        if (arr <= 0).any():
            raise ValueError(f"{name} must be positive (Beta parameters), got a minimum of {arr.min()!r}")
    n_actions = len(a)
    len_list = _check_k(len_list, "len_list")
    if len_list > n_actions:
        raise ValueError(f"len_list={len_list} exceeds the number of actions ({n_actions})")
    n_sim = _check_k(n_sim, "n_sim")
    batch_size = _check_k(batch_size, "batch_size")
    gen = as_rng(rng)
    counts = np.zeros(n_actions * len_list, dtype=np.int64)
    slots = np.arange(len_list)
    for start in range(0, n_sim, batch_size):
        m = min(batch_size, n_sim - start)
        draws = gen.beta(a, b, size=(m, n_actions))
        top = np.argpartition(-draws, len_list - 1, axis=1)[:, :len_list]
        order = np.argsort(-np.take_along_axis(draws, top, axis=1), axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)
        counts += np.bincount((top * len_list + slots).ravel(), minlength=n_actions * len_list)
    return counts.reshape(n_actions, len_list) / n_sim


def fit_reward_model(
    context: ArrayLike,
    action: ArrayLike,
    reward: ArrayLike,
    position: ArrayLike | None = None,
    action_context: ArrayLike | None = None,
    *,
    n_actions: int | None = None,
    len_list: int | None = None,
    n_folds: int = 3,
    C: float = 100.0,
    seed: int = 12345,
) -> np.ndarray:
    r"""A cross-fitted logistic-regression reward model :math:`\hat q(x, a, s)` for DM and DR, ``(n, n_actions, L)``.

    The Open Bandit Pipeline's ``RegressionModel`` with ``fitting_method="normal"`` and a scikit-learn
    ``LogisticRegression`` base model, as its OBD benchmark uses it: the features of a round are the context and the
    logged action's context, :math:`[x_i, c_{a_i}]` (or a one-hot of the action when ``action_context`` is None);
    one model per slot (position-wise), fitted on that slot's rounds; *cross-fitting* with ``n_folds`` folds
    (shuffled, ``random_state=seed``): the predictions for the rounds of one fold come from models fitted on the
    other folds, so a round's own reward never enters its prediction. Each model minimises
    :math:`\tfrac12\lVert w\rVert^2 + C \sum_i \text{logloss}_i` (intercept not penalised) with Newton's method
    (``solver="newton-cholesky"``), which reaches the optimum; ``obp``'s script used scikit-learn's default L-BFGS at
    its default tolerance, which can stop short of it. A fold in which a slot has a single reward value gets that
    constant. Predictions use the linearity of the logit: :math:`\text{logit}\,\hat q = x \cdot w_x + c_a \cdot w_c
    + b`, for every action at once.

    Args:
        context: ``(n, d)`` context features per round (e.g. one-hot user features).
        action: ``(n,)`` logged action per round, in ``[0, n_actions)``.
        reward: ``(n,)`` binary rewards (clicks).
        position: ``(n,)`` slot per round in ``[0, len_list)`` (default: all 0).
        action_context: ``(n_actions, d_a)`` features per action (e.g. item features); default a one-hot.
        n_actions: number of actions (default ``len(action_context)`` or ``max(action) + 1``).
        len_list: number of slots (default ``max(position) + 1``).
        n_folds: folds for cross-fitting (1 = fit and predict on all rounds).
        C: inverse L2 penalty of scikit-learn's ``LogisticRegression`` (``obp``'s OBD configuration uses 100).
        seed: ``random_state`` of the fold split.

    Returns:
        float64 array ``(n, n_actions, len_list)`` of predicted click probabilities.

    Raises:
        ValueError: for empty or mismatched inputs, ids outside their ranges, non-binary rewards or bad settings.

    Book: 06_evaluation.ipynb, sec-eval-obd
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import KFold
    from threadpoolctl import threadpool_limits

    r = _vector("reward", reward, _REWARD_WHAT)
    n = len(r)
    if not np.isin(r, (0.0, 1.0)).all():
        raise ValueError("reward must be binary (0/1) for a logistic-regression reward model")
    x = _to_float_array("context", context, "context features per round")
    if x.ndim != 2 or x.shape[0] != n:
        raise ValueError(f"length mismatch: context has shape {x.shape} but reward has {n} rounds; expected (n, d)")
    _check_finite("context", x, "context features per round")
    if action_context is not None:
        ac = _to_float_array("action_context", action_context, "features per action")
        if ac.ndim != 2:
            raise ValueError(f"action_context must be 2-D (n_actions, d_a), got shape {ac.shape}")
        _check_finite("action_context", ac, "features per action")
    raw_a = np.asarray(action)
    if n_actions is None:
        n_actions = len(ac) if action_context is not None else int(raw_a.max()) + 1 if raw_a.size else 1
    n_actions = _check_k(n_actions, "n_actions")
    if action_context is None:
        ac = np.eye(n_actions)
    elif len(ac) != n_actions:
        raise ValueError(f"action_context has {len(ac)} rows but n_actions={n_actions}")
    a = _indices("action", action, n, n_actions, "action_context")
    if position is None:
        s = np.zeros(n, dtype=np.int64)
        len_list = 1 if len_list is None else _check_k(len_list, "len_list")
    else:
        raw_s = np.asarray(position)
        len_list = (int(raw_s.max()) + 1 if raw_s.size else 1) if len_list is None else _check_k(len_list, "len_list")
        s = _indices("position", position, n, len_list, "slot")
    n_folds = _check_k(n_folds, "n_folds")
    if n_folds > n:
        raise ValueError(f"n_folds={n_folds} exceeds the {n} rounds")
    if isinstance(C, bool) or not isinstance(C, (int, float, np.integer, np.floating)) or not C > 0:
        raise ValueError(f"C must be a positive number (the inverse L2 penalty), got {C!r}")
    folds = [(np.arange(n), np.arange(n))] if n_folds == 1 else list(
        KFold(n_folds, shuffle=True, random_state=seed).split(x))
    q = np.empty((n, n_actions, len_list))
    with threadpool_limits(1):  # tiny problems: threads only add overhead on a shared machine
        for train, test in folds:
            for slot in range(len_list):
                rows = train[s[train] == slot]
                y = r[rows]
                if rows.size == 0 or y.min() == y.max():
                    q[test, :, slot] = y.mean() if rows.size else r[train].mean()
                    continue
                model = LogisticRegression(C=float(C), solver="newton-cholesky", max_iter=1000)
                model.fit(np.c_[x[rows], ac[a[rows]]], y)
                w = model.coef_[0]
                logit = (x[test] @ w[: x.shape[1]])[:, None] + (ac @ w[x.shape[1]:])[None, :] + model.intercept_[0]
                q[test, :, slot] = special.expit(logit)
    return q


# ---------------------------------------------------------------------------------------------------------------
# Target policies in the simulated shop (item-position setting)
# ---------------------------------------------------------------------------------------------------------------


def _check_world(world: Any) -> ShopWorld:
    if not isinstance(world, ShopWorld):
        raise ValueError(f"world must be a causalrec_tutorial.world.ShopWorld, got {type(world).__name__}")
    return world


def _ranking(world: ShopWorld, policy: Any, period: str) -> np.ndarray | None:
    """None for "logging", else the (n_users, k) ranking a score matrix or ranking array defines."""
    if isinstance(policy, str):
        if policy != "logging":
            raise ValueError(f"a policy given as a string must be 'logging', got {policy!r}")
        return None
    arr = np.asarray(policy)
    if arr.dtype.kind == "f":
        return world.top_k(arr, period)
    n = world.n_available(period)
    if arr.dtype.kind not in "iu" or arr.shape != (world.n_users, world.k):
        raise ValueError(
            "policy must be 'logging', float scores (n_users, n_items) or an integer ranking (n_users, k) = "
            f"({world.n_users}, {world.k}); got dtype {arr.dtype} and shape {arr.shape}"
        )
    if arr.min() < 0 or arr.max() >= n:
        raise ValueError(f"ranking item ids must be in [0, {n}) for period {period!r}")
    if (np.diff(np.sort(arr, axis=1), axis=1) == 0).any():
        raise ValueError("a ranking must list k distinct items per user")
    return arr.astype(np.int64)


def _check_share(logging_share: Any) -> float:
    if isinstance(logging_share, bool) or not isinstance(logging_share, (int, float, np.integer, np.floating)):
        raise ValueError(f"logging_share must be a number in [0, 1], got {logging_share!r}")
    if not 0 <= float(logging_share) <= 1:
        raise ValueError(f"logging_share must be in [0, 1] (the share of sessions served by the old recommender), "
                         f"got {logging_share!r}")
    return float(logging_share)


def slot_distribution(
    world: ShopWorld, policy: Any, *, logging_share: float = 0.0, period: str = "early"
) -> np.ndarray:
    """P(item i in slot s | user u) under a (mixed) policy in the shop: array ``(n_users, n_available, k)``.

    The policy serves a session with the old recommender's list with probability ``logging_share`` (items by its
    inclusion probabilities, slots in random order: ``pi_ui / k`` per slot) and with ``policy``'s ranking otherwise
    (item ``R[u, s]`` in slot ``s`` with probability 1). Memory: ``8 * n_users * n_items * k`` bytes.

    Args:
        world: the shop.
        policy: ``"logging"``, float scores ``(n_users, n_items)`` (top-``k``, as in ``world.policy_value``) or an
            integer ranking ``(n_users, k)``.
        logging_share: share of sessions served by the logging policy, in [0, 1].
        period: ``"early"`` or ``"late"``.

    Returns:
        Array whose ``[u, :, s]`` sums to 1 for every user and slot.

    Raises:
        ValueError: for a bad world, policy, share or period.

    Book: 06_evaluation.ipynb, sec-eval-ope-shop
    """
    world = _check_world(world)
    share = _check_share(logging_share)
    ranking = _ranking(world, policy, period)
    per_slot = world.logging_probabilities(period).per_slot
    if ranking is None:
        return np.repeat(per_slot[:, :, None], world.k, axis=2)
    dist = np.repeat((share * per_slot)[:, :, None], world.k, axis=2)
    rows = np.arange(world.n_users)[:, None]
    dist[rows, ranking, np.arange(world.k)[None, :]] += 1.0 - share
    return dist


def slot_probability(
    world: ShopWorld, policy: Any, impressions: pd.DataFrame, *, logging_share: float = 0.0, period: str = "early"
) -> np.ndarray:
    """The target probability of each logged (item, slot): the ``target`` for OPE on the shop's impressions.

    Row ``j`` of ``impressions`` (user ``u``, item ``i``, 0-based slot ``s``) gets
    ``logging_share * pi_ui / k + (1 - logging_share) * [R[u, s] == i]``; the logged ``propensity`` column is
    ``pi_ui / k``. Recipe (one round = one impression row, reward = click)::

        imp = world.logs().impressions
        target = crt.evaluate.slot_probability(world, scores, imp, logging_share=0.5)
        est = crt.evaluate.snips(imp["click"], imp["propensity"], target, rng=rng)
        truth = crt.evaluate.mixture_value(world, scores, logging_share=0.5).clicks   # per session
        est.value * world.k  # ≈ truth: the estimate is per (session, slot); k slots per session

    IPS and DR are unbiased here because the logging policy puts *every* available item in *every* slot with
    positive probability (``pi_ui / k``: an exploration floor and a uniform slot order) and a click depends only on
    (user, item, slot). The weight of a row is ``logging_share`` plus ``(1 - logging_share) * k / pi_ui`` if the
    ranking puts the logged item in the logged slot: small when the ranking lists items the old recommender shows
    often, very large (up to ``k / min pi``) for items it rarely shows — a deterministic ranking
    (``logging_share=0``) far from the old recommender is unbiased in theory and useless in practice. For DR, use
    :func:`slot_distribution`: with a reward model ``q_hat`` of shape ``(n_users, n_items, k)``,
    ``reward_hat = q_hat[u, i, s]`` and ``expected_reward_hat = (dist * q_hat).sum(axis=1)[u, s]``.

    Args:
        world: the shop whose logs these are.
        policy: ``"logging"``, float scores ``(n_users, n_items)`` or an integer ranking ``(n_users, k)``.
        impressions: rows with ``user_id``, ``item_id``, ``position`` (e.g. ``world.logs(period).impressions``).
        logging_share: share of sessions served by the logging policy, in [0, 1].
        period: the period of the impressions, ``"early"`` or ``"late"``.

    Returns:
        Array ``(len(impressions),)`` of probabilities in [0, 1].

    Raises:
        ValueError: for a bad world, policy, share or period, missing columns or ids out of range.

    Book: 06_evaluation.ipynb, sec-eval-ope-shop
    """
    world = _check_world(world)
    share = _check_share(logging_share)
    ranking = _ranking(world, policy, period)
    if not isinstance(impressions, pd.DataFrame):
        raise ValueError(f"impressions must be a DataFrame like world.logs().impressions, got "
                         f"{type(impressions).__name__}")
    missing = [c for c in (C.USER, C.ITEM, C.POSITION) if c not in impressions.columns]
    if missing:
        raise ValueError(f"impressions lack column(s) {missing}: expected {C.USER}, {C.ITEM}, {C.POSITION}")
    if len(impressions) == 0:
        raise ValueError("impressions are empty: expected at least one logged impression")
    u, i, s = (impressions[c].to_numpy() for c in (C.USER, C.ITEM, C.POSITION))
    n = world.n_available(period)
    for name, arr, size in ((C.USER, u, world.n_users), (C.ITEM, i, n), (C.POSITION, s, world.k)):
        if arr.dtype.kind not in "iu" or arr.min() < 0 or arr.max() >= size:
            raise ValueError(f"impressions[{name!r}] must be integers in [0, {size}) for period {period!r}")
    per_slot = world.logging_probabilities(period).per_slot[u, i]
    if ranking is None:
        return per_slot.copy()
    return share * per_slot + (1.0 - share) * (ranking[u, s] == i)


def mixture_value(
    world: ShopWorld, policy: Any, *, logging_share: float = 0.0, period: str = "early"
) -> PolicyValue:
    """The exact value (per session) of the mixed policy of :func:`slot_probability`.

    ``(1 - logging_share) * world.policy_value(policy) + logging_share * world.policy_value("logging")``, field by
    field. Divide ``clicks`` by ``world.k`` to compare with an estimate per (session, slot).

    Raises:
        ValueError: for a bad world, policy, share or period.

    Book: 06_evaluation.ipynb, sec-eval-ope-shop
    """
    world = _check_world(world)
    share = _check_share(logging_share)
    v_pol = world.policy_value(policy, period)
    v_log = world.policy_value("logging", period)
    mix = {
        f.name: (1.0 - share) * getattr(v_pol, f.name) + share * getattr(v_log, f.name)
        for f in dataclasses.fields(PolicyValue)
    }
    return PolicyValue(**mix)


# ---------------------------------------------------------------------------------------------------------------
# A/B tests
# ---------------------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ABEstimate:
    """The difference in means B − A of one metric in an A/B test.

    Attributes:
        difference: ``mean_b - mean_a``.
        ci_low: lower end of the normal-approximation CI.
        ci_high: upper end.
        se: standard error of the difference.
        p_value: two-sided p-value of "no difference" (normal approximation).
        mean_a: mean of arm A (control).
        mean_b: mean of arm B (treatment).
        n_a: units in A.
        n_b: units in B.
        metric: the metric's name.
        method: ``"welch"`` or ``"clustered"``.

    Book: 06_evaluation.ipynb, sec-eval-ab
    """

    difference: float
    ci_low: float
    ci_high: float
    se: float
    p_value: float
    mean_a: float
    mean_b: float
    n_a: int
    n_b: int
    metric: str = ""
    method: str = "welch"

    @property
    def relative_difference(self) -> float:
        """``difference / mean_a`` (the lift); NaN when ``mean_a`` is 0."""
        return self.difference / self.mean_a if self.mean_a else float("nan")


def _arm_mean_se(y: np.ndarray, cluster: np.ndarray | None) -> tuple[float, float]:
    """Mean and its SE: sample sd / sqrt(n), or cluster-robust (CR1 factor g/(g-1), as the world's summary)."""
    n = len(y)
    mean = float(y.mean())
    if cluster is None:
        return mean, float(np.std(y, ddof=1) / math.sqrt(n))
    _, inv = np.unique(cluster, return_inverse=True)
    sums = np.bincount(inv.ravel(), weights=y - mean)
    g = len(sums)
    return mean, float(np.sqrt(np.sum(sums**2) * g / (g - 1)) / n)


def difference_in_means(
    a: ArrayLike,
    b: ArrayLike,
    *,
    cluster_a: ArrayLike | None = None,
    cluster_b: ArrayLike | None = None,
    confidence: float = 0.95,
    metric: str = "",
) -> ABEstimate:
    """Difference in means B − A of per-unit outcomes, with a normal-approximation CI.

    ``SE = sqrt(s_a^2 / n_a + s_b^2 / n_b)`` (Welch's, sample variances with ``n - 1``), or with clusters (e.g. the
    users when several sessions of one user are in the data) ``SE = sqrt(se_a^2 + se_b^2)`` with the cluster-robust
    ``se = sqrt(g / (g - 1) * sum_c (sum_{j in c} (y_j - mean))^2) / n`` per arm (``g`` clusters). CI:
    ``difference ± z_{(1 + confidence)/2} SE``. For a rate (CTR per impression when every session has ``k``
    impressions) divide per-session means and their CI by ``k``.

    Args:
        a: outcome per unit in arm A (control), e.g. clicks per session.
        b: outcome per unit in arm B (treatment).
        cluster_a: cluster id (e.g. user id) per unit of A; give both or neither.
        cluster_b: cluster id per unit of B.
        confidence: CI level.
        metric: a name kept in the result.

    Returns:
        :class:`ABEstimate`.

    Raises:
        ValueError: for empty arms, fewer than 2 units (or clusters) per arm, NaNs, mismatched cluster arrays, or a
            bad confidence.

    Book: 06_evaluation.ipynb, sec-eval-ab
    """
    confidence = _check_fraction("confidence", confidence, "the level of the interval, e.g. 0.95")
    ya = _vector("a", a, "the outcome per unit of arm A")
    yb = _vector("b", b, "the outcome per unit of arm B")
    if (cluster_a is None) != (cluster_b is None):
        raise ValueError("give cluster_a and cluster_b together (cluster ids for both arms), or neither")
    clusters = [None, None]
    if cluster_a is not None:
        for j, (name, c, y) in enumerate((("cluster_a", cluster_a, ya), ("cluster_b", cluster_b, yb))):
            c = np.asarray(c.to_numpy() if isinstance(c, (pd.Series, pd.Index)) else c)
            if c.ndim != 1 or len(c) != len(y):
                raise ValueError(
                    f"length mismatch: {name} has shape {c.shape} but its arm has {len(y)} units; "
                    "expected one cluster id per unit"
                )
            if pd.isna(c).any():
                raise ValueError(f"{name} contains missing cluster ids")
            if len(np.unique(c)) < 2:
                raise ValueError(f"{name} has fewer than 2 clusters: a cluster-robust SE needs at least 2 per arm")
            clusters[j] = c
    for name, y in (("a", ya), ("b", yb)):
        if len(y) < 2:
            raise ValueError(f"arm {name} has {len(y)} unit(s): expected at least 2 to estimate a variance")
    ma, sa = _arm_mean_se(ya, clusters[0])
    mb, sb = _arm_mean_se(yb, clusters[1])
    d, se = mb - ma, float(np.hypot(sa, sb))
    z = float(special.ndtri(0.5 + confidence / 2))
    p = float(2 * special.ndtr(-abs(d) / se)) if se > 0 else (1.0 if d == 0 else 0.0)
    method = "welch" if cluster_a is None else "clustered"
    return ABEstimate(d, d - z * se, d + z * se, se, p, ma, mb, len(ya), len(yb), metric, method)


_AB_METRICS = {C.CLICK: "clicks", C.PURCHASE: "purchases", C.INCREMENTAL: "incremental_purchases"}


def estimate_ab_effects(
    data: ABTestResult | pd.DataFrame,
    metrics: Sequence[str] | None = None,
    *,
    cluster: str | None = "auto",
    confidence: float = 0.95,
    arms: tuple[str, str] = ("A", "B"),
) -> pd.DataFrame:
    """B − A per metric from an A/B test's per-session table (the shop's ``ABTestResult`` or any such table).

    Args:
        data: an :class:`~causalrec_tutorial.world.ABTestResult` (then the exact differences are added as
            ``truth``), or a DataFrame with a ``policy`` column naming the arm of each row and one column per metric
            (the shop's ``result.sessions``: ``session_id, user_id, policy, click, purchase,
            incremental_purchase``, one row per session).
        metrics: columns to compare (default: those of ``click, purchase, incremental_purchase`` present): per
            session, clicks (CTR × k), purchases (the purchase rate per session) and incremental purchases.
        cluster: ``"auto"`` clusters by ``user_id`` when that column exists (right whether sessions or users were
            randomised, since one user's sessions are correlated), a column name to cluster by it, or ``None`` for
            Welch's SE treating rows as independent.
        confidence: CI level.
        arms: the labels of control and treatment in the ``policy`` column.

    Returns:
        DataFrame indexed by ``metric`` with ``mean_a, mean_b, difference, ci_low, ci_high, se, p_value, n_a, n_b``
        (and ``truth`` for an ``ABTestResult``).

    Raises:
        ValueError: for a table without the ``policy`` column or a metric column, arms that are absent, or the
            errors of :func:`difference_in_means`.

    Book: 06_evaluation.ipynb, sec-eval-ab
    """
    result = data if isinstance(data, ABTestResult) else None
    df = data.sessions if result is not None else data
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"data must be an ABTestResult or its sessions DataFrame, got {type(data).__name__}")
    if C.POLICY not in df.columns:
        raise ValueError(f"data lacks the {C.POLICY!r} column naming each row's arm (expected e.g. 'A'/'B')")
    if metrics is None:
        metrics = [m for m in _AB_METRICS if m in df.columns]
        if not metrics:
            raise ValueError(f"data has none of the default metric columns {list(_AB_METRICS)}: pass metrics=")
    metrics = list(metrics)
    missing = [m for m in metrics if m not in df.columns]
    if missing:
        raise ValueError(f"data lacks metric column(s) {missing}; it has {list(df.columns)}")
    if cluster == "auto":
        cluster = C.USER if C.USER in df.columns else None
    if cluster is not None and cluster not in df.columns:
        raise ValueError(f"cluster column {cluster!r} is not in data; expected one of {list(df.columns)} or None")
    a_label, b_label = arms
    in_a, in_b = df[C.POLICY] == a_label, df[C.POLICY] == b_label
    for label, mask in ((a_label, in_a), (b_label, in_b)):
        if not mask.any():
            held = sorted(df[C.POLICY].unique())
            raise ValueError(f"arm {label!r} has no rows: the {C.POLICY!r} column holds {held}; pass arms=")
    rows = []
    for m in metrics:
        kw = {}
        if cluster is not None:
            kw = dict(cluster_a=df.loc[in_a, cluster], cluster_b=df.loc[in_b, cluster])
        est = difference_in_means(df.loc[in_a, m], df.loc[in_b, m], confidence=confidence, metric=m, **kw)
        row = dict(
            metric=m, mean_a=est.mean_a, mean_b=est.mean_b, difference=est.difference, ci_low=est.ci_low,
            ci_high=est.ci_high, se=est.se, p_value=est.p_value, n_a=est.n_a, n_b=est.n_b,
        )
        if result is not None and m in _AB_METRICS:
            attr = _AB_METRICS[m]
            row["truth"] = getattr(result.value_b, attr) - getattr(result.value_a, attr)
        rows.append(row)
    return pd.DataFrame(rows).set_index("metric")


def _z_alpha_power(alpha: Any, power: Any) -> tuple[float, float]:
    alpha = _check_fraction("alpha", alpha, "the two-sided significance level, e.g. 0.05")
    power = _check_fraction("power", power, "the probability of detecting the effect, e.g. 0.8")
    return float(special.ndtri(1 - alpha / 2)), float(special.ndtri(power))


def sample_size(
    baseline: float, mde: float, alpha: float = 0.05, power: float = 0.8, relative: bool = False
) -> int:
    """Units per arm to detect a change ``mde`` of a proportion with a two-sided test of two equal arms.

    With ``p1 = baseline``, ``p2 = baseline + delta`` (``delta = mde``, or ``mde * baseline`` when ``relative``),
    ``p_bar = (p1 + p2) / 2``:

    ``n = (z_{1-alpha/2} sqrt(2 p_bar (1 - p_bar)) + z_{power} sqrt(p1 (1 - p1) + p2 (1 - p2)))^2 / delta^2``,

    rounded up: the pooled variance under "no difference", the unpooled one under the alternative (Fleiss, Levin &
    Paik 2003, without continuity correction). Example: baseline 0.10, mde 0.01 → 14,751 per arm.

    Args:
        baseline: the control arm's proportion, in (0, 1).
        mde: minimum detectable effect (> 0): absolute (``0.01`` = one percentage point) or, with
            ``relative=True``, a fraction of the baseline (``0.1`` = +10 %).
        alpha: two-sided significance level.
        power: probability of a significant result when the true difference is ``mde``.
        relative: read ``mde`` as relative to the baseline.

    Returns:
        Units (e.g. sessions or users, whichever is randomised) per arm.

    Raises:
        ValueError: if a probability is outside (0, 1), ``mde`` is not positive, or ``baseline + delta >= 1``.

    Book: 06_evaluation.ipynb, sec-eval-sample-size
    """
    p1 = _check_fraction("baseline", baseline, "the control arm's proportion")
    if isinstance(mde, bool) or not isinstance(mde, (int, float, np.integer, np.floating)) or not mde > 0:
        raise ValueError(f"mde must be a positive number (the smallest difference worth detecting), got {mde!r}")
    delta = float(mde) * p1 if relative else float(mde)
    p2 = p1 + delta
    if not p2 < 1:
        raise ValueError(f"baseline + mde = {p2:g} must stay below 1 for a proportion")
    za, zb = _z_alpha_power(alpha, power)
    pbar = (p1 + p2) / 2
    root = za * math.sqrt(2 * pbar * (1 - pbar)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return int(math.ceil(root**2 / delta**2 - 1e-9))


def sample_size_for_mean(std: float, mde: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Units per arm to detect an absolute change ``mde`` of a mean metric (two-sided, two equal arms).

    ``n = 2 (z_{1-alpha/2} + z_{power})^2 std^2 / mde^2``, rounded up; ``std`` is the per-unit standard deviation
    (e.g. of clicks per session in an A/A test or the logs). For a test randomised by user but analysed per session,
    multiply by the design effect (or use per-user means as the unit).

    Raises:
        ValueError: if ``std`` or ``mde`` is not positive, or alpha/power are outside (0, 1).

    Book: 06_evaluation.ipynb, sec-eval-sample-size
    """
    for name, x in (("std", std), ("mde", mde)):
        if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)) or not x > 0:
            raise ValueError(f"{name} must be a positive number, got {x!r}")
    za, zb = _z_alpha_power(alpha, power)
    return int(math.ceil(2 * (za + zb) ** 2 * float(std) ** 2 / float(mde) ** 2 - 1e-9))
