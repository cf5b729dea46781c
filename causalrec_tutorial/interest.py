r"""User interests from behaviour: behaviour → text, pooled text embeddings, LM summaries, a Keras sequence model.

The chapter's formula is :math:`\text{User\_Interest}(u) = \text{LM}(\text{User\_Behavior}(u))`. This module gives
four ways to compute the right-hand side, from the cheapest to the most expensive:

1. **Behaviour → text.** :func:`serialize_history` writes a user's events (viewed / clicked / bought, most recent
   first, with their age) as a readable, deterministic prompt. Titles are cleaned (control characters and line
   breaks become spaces, runs of white space collapse, long titles are cut with ``…``) and quoted with
   :func:`json.dumps`, so a title with quotes or a line break cannot break the prompt's layout.
2. **Pooling item-text embeddings.** With item vectors :math:`e_i` (e.g. MiniLM, unit length) and per-event weights
   :math:`w_j` (by event kind, :data:`EVENT_WEIGHTS`),

   * :func:`pool_mean`: :math:`v_u = \sum_j w_j e_{i_j} / \sum_j w_j`;
   * :func:`pool_recency`: the same with :math:`w_j \cdot 2^{-\text{age}_j / h}` (``half_life`` :math:`h` in days
     when ages are given, else in events counted back from the last one);
   * :func:`pool_multi`: several vectors per user: weighted spherical k-means on the user's item vectors
     (deterministic farthest-point start, no randomness), one unit centroid and one weight (its share of the user's
     event weight) per interest. An item's score is then the *maximum* cosine over the user's interests.

   :func:`interest_vectors` applies one of them to every user of an events table.
3. **LM interest summaries.** :func:`summarize_interests` asks the generator (few-shot, greedy, cached on disk) for a
   few interest keywords from the history; the encoder embeds the keywords (:func:`lm_interest_vectors`).
4. **A sequence model.** :func:`fit_sequence_model` trains a small GRU (or LSTM) on behaviour sequences to predict the
   next interaction. Its item table is either *text-initialised* — the frozen MiniLM vectors of **all** items,
   including cold-start ones, mapped by one trainable ``Dense`` projection into the model's space — or *ID-only*: a
   trainable table with random rows. The training softmax covers only the items that exist at training time
   (``n_train_items``), so the rows of items that arrive later are never trained: for the ID-only model they stay
   random (nothing can be learnt about an item without data), for the text model they are the projection of their
   text. Scores are dot products of the sequence state with every item's vector (:meth:`SequenceModel.scores`).

Reading a user vector against the truth: :func:`category_profile` turns user vectors into one score per category,
either by the cosine with each *category direction* (the centred mean embedding of each category's items) or by
*unmixing*: a mean-pooled vector is a mixture of category means, and least squares on those means recovers the
user's (noisy) category shares, without the leak between related categories that the cosine suffers.
:func:`interest_agreement` compares such a profile with the true interest weights per user: Spearman's correlation
over all categories, or a weighted Kendall tau whose pairs of categories count by the user's true weight in them
(interests are concentrated on a few categories, and the order of the near-zero ones is invisible in behaviour).

Book: 03_interest_extraction.ipynb, sec-interest
"""

from __future__ import annotations

import dataclasses
import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from . import columns as C
from ._checks import check_int
from .lm import prompts as _prompts
from .config import import_keras

__all__ = [
    "EVENT_WEIGHTS",
    "SHOP_INTEREST_SUMMARY",
    "MultiInterest",
    "SequenceModel",
    "category_profile",
    "clean_title",
    "fit_sequence_model",
    "interest_agreement",
    "interest_vectors",
    "item_texts",
    "lm_interest_vectors",
    "next_item_sequences",
    "pool_mean",
    "pool_multi",
    "pool_recency",
    "score_items",
    "serialize_history",
    "summarize_interests",
]

#: Default weight of each event kind when pooling: a purchase says more about a user than a click, a click more
#: than an impression the old recommender chose (a view is mostly the recommender's guess, see sec-shop-exposure).
EVENT_WEIGHTS: dict[str, float] = {"view": 0.2, "click": 1.0, "purchase": 2.0}
_VERBS = {"view": "viewed", "click": "clicked", "purchase": "bought", "rating": "rated"}
_EVENT_ORDER = {"view": 0, "click": 1, "purchase": 2}

# ---------------------------------------------------------------------------------------------------------------
# Validation helpers
# ---------------------------------------------------------------------------------------------------------------


def _check_embeddings(item_embeddings: Any) -> np.ndarray:
    emb = np.asarray(item_embeddings)
    if emb.ndim != 2 or emb.shape[0] == 0 or emb.dtype.kind not in "fiu":
        raise ValueError(f"item_embeddings must be a 2-D numeric array (n_items, dim), got shape {emb.shape}")
    return emb.astype(np.float64, copy=False)


def _check_history(history: Any, n_items: int) -> np.ndarray:
    """Item ids as int64; ValueError for an empty history or an id outside ``[0, n_items)`` (naming the id)."""
    if isinstance(history, (str, bytes)):
        raise TypeError("history must be a sequence of item ids, not a string")
    ids = np.asarray(list(history) if not isinstance(history, np.ndarray) else history)
    if ids.size == 0:
        raise ValueError("the history is empty: there is nothing to pool (users without events have no vector)")
    if ids.ndim != 1 or (ids.dtype.kind not in "iu" and not (ids.dtype.kind == "f" and np.all(ids == np.round(ids)))):
        raise ValueError(f"history must be a 1-D sequence of integer item ids, got {ids!r}")
    ids = ids.astype(np.int64)
    bad = ids[(ids < 0) | (ids >= n_items)]
    if bad.size:
        raise ValueError(f"unknown item id {int(bad[0])}: item ids must be in [0, {n_items})")
    return ids


def _check_weights(weights: Any, n: int, name: str = "weights") -> np.ndarray:
    if weights is None:
        return np.ones(n)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n,) or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(f"{name} must be {n} finite non-negative numbers (one per event), got shape {w.shape}")
    if w.sum() <= 0:
        raise ValueError(f"{name} sum to zero: at least one event must count")
    return w


def _unit(x: np.ndarray, axis: int = -1) -> np.ndarray:
    norm = np.linalg.norm(x, axis=axis, keepdims=True)
    return x / np.maximum(norm, 1e-12)


# ---------------------------------------------------------------------------------------------------------------
# 1. Behaviour -> text
# ---------------------------------------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def clean_title(title: Any, max_chars: int = 80) -> str:
    """A title made safe for a one-line prompt: control characters and line breaks become spaces, white space
    collapses, Unicode is NFC-normalised, and a title longer than ``max_chars`` is cut and ends with ``…``.

    Raises:
        TypeError: if ``title`` is not a string.

    Book: 03_interest_extraction.ipynb, sec-interest-text
    """
    if not isinstance(title, str):
        raise TypeError(f"a title must be a str, got {type(title).__name__}")
    text = " ".join(_CONTROL.sub(" ", unicodedata.normalize("NFC", title)).split())
    if len(text) > max_chars:
        text = text[: max_chars - 1].rstrip() + "…"
    return text or "(untitled)"


def _age_text(days: float) -> str:
    if days < 1:
        return "today"
    n = int(days)
    if n < 14:
        return f"{n} day{'s' if n != 1 else ''} ago"
    weeks = n // 7
    return f"{weeks} weeks ago"


def serialize_history(
    events: pd.DataFrame,
    titles: Mapping[int, str] | pd.Series,
    now: pd.Timestamp | None = None,
    max_events: int = 20,
    include_views: bool = True,
    extra: Mapping[int, str] | pd.Series | None = None,
) -> str:
    """One user's behaviour as a readable prompt: one line per event, most recent first, with its age.

    Example line: ``3. bought "Zanoli Premium Tempo Trainers" (running), 2 days ago``. Events are ordered by time
    (newest first), then by kind (purchase, click, view), then by item id, so the same events always give the same
    text. Titles are cleaned with :func:`clean_title` and quoted with ``json.dumps`` (inner quotes and backslashes
    are escaped, non-ASCII characters kept).

    Args:
        events: the user's events with columns ``item_id``, ``event`` (``view`` / ``click`` / ``purchase``, or
            any other label, shown as is) and optionally ``timestamp``.
        titles: item id → title (a dict or a Series indexed by item id).
        now: the reference time for "N days ago" (default: the latest event's time); ignored without timestamps.
        max_events: at most this many lines (the most recent ones).
        include_views: keep impressions (``view`` events); they are the old recommender's choice more than the
            user's, so a prompt may leave them out.
        extra: optional item id → short note written in brackets after the title (e.g. the category or genres).

    Returns:
        The text; ``"(no recorded activity)"`` when no event is left.

    Raises:
        ValueError: if a column is missing, ``max_events < 1``, or an item id has no title (the id is named).

    Book: 03_interest_extraction.ipynb, sec-interest-text
    """
    if not isinstance(events, pd.DataFrame):
        raise TypeError(f"events must be a DataFrame, got {type(events).__name__}")
    missing = [c for c in (C.ITEM, C.EVENT) if c not in events.columns]
    if missing:
        raise ValueError(f"events lacks column(s) {missing}; it has {list(events.columns)}")
    check_int("max_events", max_events)
    df = events if include_views else events[events[C.EVENT] != "view"]
    if df.empty:
        return "(no recorded activity)"
    has_time = C.TIMESTAMP in df.columns
    kind_rank = df[C.EVENT].map(lambda e: -_EVENT_ORDER.get(e, -1)).to_numpy()
    keys = [df[C.ITEM].to_numpy(), kind_rank]
    if has_time:
        t = pd.to_datetime(df[C.TIMESTAMP]).to_numpy()
        keys.append(-(t - t.min()).astype("timedelta64[s]").astype(np.int64))
    order = np.lexsort(keys)[:max_events]
    rows = df.iloc[order]
    if has_time:
        ref = pd.Timestamp(now) if now is not None else pd.to_datetime(df[C.TIMESTAMP]).max()
    lines = []
    for j, (_, row) in enumerate(rows.iterrows(), start=1):
        item = int(row[C.ITEM])
        try:
            title = titles[item]
        except (KeyError, IndexError):
            raise ValueError(f"item id {item} has no title") from None
        verb = _VERBS.get(row[C.EVENT], str(row[C.EVENT]))
        line = f"{j}. {verb} {json.dumps(clean_title(title), ensure_ascii=False)}"
        if extra is not None and item in extra:
            line += f" ({clean_title(str(extra[item]), 60)})"
        if has_time:
            line += ", " + _age_text((ref - pd.Timestamp(row[C.TIMESTAMP])).total_seconds() / 86400)
        lines.append(line)
    return "\n".join(lines)


def item_texts(items: pd.DataFrame) -> list[str]:
    """The text to embed per item, in row order: ``title. description`` for the shop, ``title (year): genres`` for
    MovieLens (genres with ``|`` written as ``, ``), the title alone otherwise.

    Raises:
        ValueError: if ``items`` has no ``title`` column.

    Book: 03_interest_extraction.ipynb, sec-interest-embeddings
    """
    if C.TITLE not in items.columns:
        raise ValueError(f"items needs a {C.TITLE!r} column; it has {list(items.columns)}")
    titles = items[C.TITLE].map(clean_title)
    if C.DESCRIPTION in items.columns:
        return (titles + ". " + items[C.DESCRIPTION].astype(str)).tolist()
    if C.GENRES in items.columns:
        years = items[C.YEAR].map(lambda y: "" if pd.isna(y) else f" ({int(y)})") if C.YEAR in items.columns else ""
        genres = items[C.GENRES].fillna("").str.replace("|", ", ", regex=False)
        return (titles + years + ": " + genres).tolist()
    return titles.tolist()


# ---------------------------------------------------------------------------------------------------------------
# 2. Pooling
# ---------------------------------------------------------------------------------------------------------------


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
    emb = _check_embeddings(item_embeddings)
    ids = _check_history(history, len(emb))
    w = _check_weights(weights, len(ids))
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
    if (isinstance(half_life, bool) or not isinstance(half_life, (int, float, np.integer, np.floating))
            or not half_life > 0):
        raise ValueError(f"half_life must be a positive number, got {half_life!r}")
    emb = _check_embeddings(item_embeddings)
    ids = _check_history(history, len(emb))
    if ages is None:
        a = np.arange(len(ids))[::-1].astype(np.float64)
    else:
        a = np.asarray(ages, dtype=np.float64)
        if a.shape != ids.shape or not np.all(np.isfinite(a)) or np.any(a < 0):
            raise ValueError(f"ages must be {len(ids)} finite non-negative numbers, got shape {a.shape}")
    w = _check_weights(weights, len(ids)) * np.exp2(-a / float(half_life))
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
    emb = _check_embeddings(item_embeddings)
    ids = _check_history(history, len(emb))
    return _pool_multi(ids, _check_weights(weights, len(ids)), emb, int(n_interests), int(n_iter))


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
    emb = _check_embeddings(item_embeddings)
    missing = [c for c in (C.USER, C.ITEM) if c not in events.columns]
    if missing:
        raise ValueError(f"events lacks column(s) {missing}; it has {list(events.columns)}")
    weights_by_kind = EVENT_WEIGHTS if event_weights is None else dict(event_weights)
    if C.EVENT in events.columns:
        w_all = events[C.EVENT].map(weights_by_kind).fillna(0.0).to_numpy(np.float64)
    else:
        w_all = np.ones(len(events))
    keep = w_all > 0
    df = events.loc[keep, [c for c in (C.USER, C.ITEM, C.TIMESTAMP) if c in events.columns]]
    w_all = w_all[keep]
    users = df[C.USER].to_numpy(np.int64)
    items = _check_history(df[C.ITEM].to_numpy(), len(emb)) if len(df) else np.zeros(0, np.int64)
    n = int(users.max()) + 1 if n_users is None and len(users) else int(n_users or 0)
    dim = emb.shape[1]
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
    U = np.asarray(user_vectors, dtype=np.float64)
    emb = _check_embeddings(item_embeddings)
    if U.shape[-1] != emb.shape[1] or U.ndim not in (2, 3):
        raise ValueError(f"user vectors {U.shape} and item embeddings {emb.shape} do not match")
    if U.ndim == 2:
        return U @ emb.T
    s = np.einsum("umd,id->umi", U, emb)
    empty = ~np.any(U != 0, axis=2)
    s[empty] = -np.inf
    best = s.max(axis=1)
    return np.where(np.isfinite(best), best, 0.0)


_PROFILE_METHODS = ("cosine", "unmix")


def category_profile(
    user_vectors: np.ndarray,
    item_embeddings: np.ndarray,
    item_categories: Sequence[str],
    categories: Sequence[str],
    method: str = "cosine",
) -> np.ndarray:
    r"""Read user vectors as category scores: one number per (user, category), higher = more interest.

    Two readings, both from the category means :math:`m_c` (the mean vector of category :math:`c`'s items):

    * ``"cosine"``: the cosine of the user vector with each *category direction* :math:`m_c - \bar e`, both sides
      centred on the mean item vector :math:`\bar e` first (sentence embeddings share a large common component that
      would otherwise favour whichever categories lie near the centre). Simple, but when two categories' means are
      close (coffee and tea in MiniLM) a user of one also scores high on the other: the directions *leak*.
    * ``"unmix"``: the least-squares coefficients :math:`a_u` of :math:`v_u \approx \sum_c a_{uc}\, m_c`. A
      mean-pooled vector *is* such a mixture — :math:`v_u = \sum_c p_{uc} m_c` + the items' deviations from their
      category means, with :math:`p_{uc}` the user's share of event weight in category :math:`c` — so unmixing
      undoes the leak and recovers (noisy) category shares. Noise is amplified where category means are nearly
      collinear.

    Multi-interest input ``(n_users, m, dim)`` gives, per category, the maximum over the user's interests (unused,
    all-zero interest slots are ignored).

    Args:
        user_vectors: ``(n_users, dim)`` or ``(n_users, m, dim)``.
        item_embeddings: ``(n_items, dim)``; its rows define the category means.
        item_categories: the category of each item (length ``n_items``).
        categories: the categories, in the order of the result's columns.
        method: ``"cosine"`` or ``"unmix"``.

    Returns:
        ``(n_users, n_categories)``.

    Raises:
        ValueError: on mismatched shapes, a category with no item, or an unknown method.

    Book: 03_interest_extraction.ipynb, sec-interest-truth
    """
    if method not in _PROFILE_METHODS:
        raise ValueError(f"method must be one of {_PROFILE_METHODS}, got {method!r}")
    emb = _check_embeddings(item_embeddings)
    cats = np.asarray(item_categories)
    if len(cats) != len(emb):
        raise ValueError(f"{len(cats)} categories for {len(emb)} items")
    means = []
    for c in categories:
        mask = cats == c
        if not mask.any():
            raise ValueError(f"category {c!r} has no item")
        means.append(emb[mask].mean(axis=0))
    means = np.array(means)
    U = np.asarray(user_vectors, dtype=np.float64)
    if U.shape[-1] != emb.shape[1] or U.ndim not in (2, 3):
        raise ValueError(f"user vectors {U.shape} and item embeddings {emb.shape} do not match")
    if method == "cosine":
        mu = emb.mean(axis=0)
        M = _unit(means - mu)

        def read(V):
            return _unit(V - mu) @ M.T
    else:
        pinv = np.linalg.pinv(means)  # (dim, n_categories): least squares V ~ a @ means

        def read(V):
            return V @ pinv
    if U.ndim == 2:
        return read(U)
    P = read(U)  # (n_users, m, n_categories)
    empty = ~np.any(U != 0, axis=2)
    P[empty] = -np.inf
    return P.max(axis=1)


_AGREEMENT_MEASURES = ("spearman", "weighted_tau")


def interest_agreement(
    profile: np.ndarray,
    true_interests: np.ndarray,
    users: Sequence[int] | None = None,
    measure: str = "spearman",
) -> np.ndarray:
    r"""Per-user rank agreement between an interest profile and the true interest weights.

    * ``"spearman"``: Spearman's rank correlation over all categories. Every category counts the same, so with
      interests concentrated on a few categories most of the score is about ordering categories the user hardly
      cares about — an order that behaviour barely reveals.
    * ``"weighted_tau"``: a weighted Kendall tau (Vigna 2015): over all pairs of categories :math:`(a, b)`,

      .. math::
         \tau_w = \frac{\sum_{a<b} \omega_{ab}\, \text{sgn}(p_a - p_b)\, \text{sgn}(w_a - w_b)}
                      {\sqrt{\sum_{a<b} \omega_{ab} [p_a \ne p_b]}\;\sqrt{\sum_{a<b} \omega_{ab} [w_a \ne w_b]}},
         \qquad \omega_{ab} = w_a + w_b,

      with :math:`p` the profile and :math:`w` the user's true weights. A pair counts in proportion to how much the
      user cares about its two categories: swapping two categories of weight 0.001 costs (almost) nothing,
      swapping the top two costs much. It is ``scipy.stats.weightedtau`` with the true ranking as ``rank`` and the
      true weights as ``weigher``; 1 for the same order, 0 for an unrelated one, -1 for the reverse.

    Args:
        profile: ``(n_users, n_categories)`` (e.g. from :func:`category_profile`).
        true_interests: ``(n_users, n_categories)`` (``world.user_interests``); non-negative for ``weighted_tau``.
        users: the rows to evaluate (default all).
        measure: ``"spearman"`` or ``"weighted_tau"``.

    Returns:
        One correlation per evaluated user (NaN for a constant profile).

    Raises:
        ValueError: if the shapes differ, the measure is unknown, or ``weighted_tau`` gets negative weights.

    Book: 03_interest_extraction.ipynb, sec-interest-truth
    """
    from scipy import stats

    if measure not in _AGREEMENT_MEASURES:
        raise ValueError(f"measure must be one of {_AGREEMENT_MEASURES}, got {measure!r}")
    P, W = np.asarray(profile, dtype=np.float64), np.asarray(true_interests, dtype=np.float64)
    if P.shape != W.shape or P.ndim != 2:
        raise ValueError(f"profile {P.shape} and true interests {W.shape} must have the same 2-D shape")
    rows = np.arange(len(P)) if users is None else np.asarray(users, dtype=np.int64)
    P, W = P[rows], W[rows]
    if measure == "weighted_tau":
        if np.any(W < 0):
            raise ValueError("weighted_tau needs non-negative true interest weights (they weigh the pairs)")
        a, b = np.triu_indices(P.shape[1], k=1)
        sp, sw, omega = np.sign(P[:, a] - P[:, b]), np.sign(W[:, a] - W[:, b]), W[:, a] + W[:, b]
        num = (omega * sp * sw).sum(axis=1)
        den = np.sqrt((omega * (sp != 0)).sum(axis=1) * (omega * (sw != 0)).sum(axis=1))
    else:
        rp = stats.rankdata(P, axis=1)
        rw = stats.rankdata(W, axis=1)
        rp, rw = rp - rp.mean(axis=1, keepdims=True), rw - rw.mean(axis=1, keepdims=True)
        num = (rp * rw).sum(axis=1)
        den = np.sqrt((rp**2).sum(axis=1) * (rw**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


# ---------------------------------------------------------------------------------------------------------------
# 3. LM summaries
# ---------------------------------------------------------------------------------------------------------------


SHOP_INTEREST_SUMMARY = _prompts.SHOP_INTEREST_SUMMARY


def summarize_interests(titles: Sequence[str], generator: Any, template: Any = None, max_new_tokens: int = 12
                        ) -> str:
    """A few interest keywords for one history, written greedily by the generator from a few-shot prompt.

    Args:
        titles: the history's item titles (most telling first; they are cleaned with :func:`clean_title`).
        generator: a ``crt.lm.TextGenerator`` (results are cached on disk by it).
        template: a ``PromptTemplate`` with an ``items`` field (default :data:`SHOP_INTEREST_SUMMARY`).
        max_new_tokens: the length limit of the answer.

    Returns:
        The keywords, stripped (the first line of the answer).

    Raises:
        ValueError: if ``titles`` is empty.

    Book: 03_interest_extraction.ipynb, sec-interest-lm
    """
    template = SHOP_INTEREST_SUMMARY if template is None else template
    if isinstance(titles, str):
        raise TypeError("titles must be a sequence of strings, not a single string")
    titles = [clean_title(t, 60).replace(";", ",") for t in titles]
    if not titles:
        raise ValueError("titles is empty: there is no history to summarise")
    prompt = template.render(items=titles)
    text = generator.generate(prompt, max_new_tokens=max_new_tokens, stop=list(template.stop),
                              prompt_version=template.version)
    return text.strip()


def lm_interest_vectors(
    histories: Mapping[int, Sequence[int]] | pd.Series,
    titles: Mapping[int, str] | pd.Series,
    generator: Any,
    encoder: Any,
    max_items: int = 8,
    template: Any = None,
    max_new_tokens: int = 12,
) -> tuple[dict[int, str], np.ndarray]:
    """LM interest summaries of some users, embedded: ``User_Interest(u) = Encoder(LM(User_Behavior(u)))``.

    Args:
        histories: user id → item ids, oldest first; the last ``max_items`` distinct items are used, newest first.
        titles: item id → title.
        generator: a ``crt.lm.TextGenerator``.
        encoder: anything with ``encode(texts)`` (``crt.lm.TextEncoder``).
        max_items: items per prompt.
        template, max_new_tokens: see :func:`summarize_interests`.

    Returns:
        ``(summaries, vectors)``: user id → keywords, and ``(len(histories), dim)`` in the order of ``histories``.

    Raises:
        ValueError: for an empty history (the user is named).

    Book: 03_interest_extraction.ipynb, sec-interest-lm
    """
    summaries = {}
    for u, hist in histories.items():
        recent = list(dict.fromkeys(reversed(list(hist))))[:max_items]
        if not recent:
            raise ValueError(f"user {u} has an empty history")
        summaries[int(u)] = summarize_interests([titles[i] for i in recent], generator, template, max_new_tokens)
    vectors = encoder.encode([s if s else "(nothing)" for s in summaries.values()])
    return summaries, np.asarray(vectors)


# ---------------------------------------------------------------------------------------------------------------
# 4. The Keras sequence model
# ---------------------------------------------------------------------------------------------------------------


def next_item_sequences(sequences: Sequence[Sequence[int]], max_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Training pairs (prefix → next item) from sequences: every position after the first is a target.

    Returns:
        ``(inputs, targets)``: ``inputs`` ``(n, max_len)`` int32 of item id + 1, left-padded with 0 (the last
        ``max_len`` items before the target), ``targets`` ``(n,)`` item ids.

    Book: 03_interest_extraction.ipynb, sec-interest-sequence
    """
    xs, ys = [], []
    for seq in sequences:
        seq = np.asarray(seq, dtype=np.int64)
        for t in range(1, len(seq)):
            prefix = seq[max(0, t - max_len):t] + 1
            row = np.zeros(max_len, dtype=np.int32)
            row[max_len - len(prefix):] = prefix
            xs.append(row)
            ys.append(seq[t])
    if not xs:
        return np.zeros((0, max_len), np.int32), np.zeros(0, np.int64)
    return np.array(xs), np.array(ys, dtype=np.int64)


def _pad_last(sequences: Sequence[Sequence[int]], max_len: int) -> np.ndarray:
    out = np.zeros((len(sequences), max_len), dtype=np.int32)
    for r, seq in enumerate(sequences):
        tail = np.asarray(seq, dtype=np.int64)[-max_len:] + 1
        if len(tail):
            out[r, max_len - len(tail):] = tail
    return out


@dataclasses.dataclass
class SequenceModel:
    """A trained next-interaction model (see :func:`fit_sequence_model`).

    Attributes:
        encoder: Keras model, item-id sequences ``(n, max_len)`` (id + 1, 0 = padding) → states ``(n, dim)``.
        item_table: callable returning the item vectors ``(n_items, dim)`` (all items, incl. cold-start ones).
        max_len: the number of most recent items the model reads.
        history: per-epoch ``loss`` and ``val_loss``.
        init: ``"text"`` or ``"id"``.
        epochs_run: epochs trained before early stopping ended training.
        best_epoch: the epoch whose weights were kept (1-based).

    Book: 03_interest_extraction.ipynb, sec-interest-sequence
    """

    encoder: Any
    item_table: Any
    max_len: int
    history: dict[str, list[float]]
    init: str
    epochs_run: int
    best_epoch: int

    def item_vectors(self) -> np.ndarray:
        """The item vectors the model scores with, ``(n_items, dim)``."""
        return np.asarray(self.item_table())

    def states(self, sequences: Sequence[Sequence[int]], batch_size: int = 1024) -> np.ndarray:
        """The sequence state of each history (its last ``max_len`` items); an empty history gives a state too."""
        x = _pad_last(sequences, self.max_len)
        keras = import_keras()
        # a direct call per chunk: ``predict`` re-traces a tf.function per model and warns about it
        parts = [keras.ops.convert_to_numpy(self.encoder(x[i:i + batch_size], training=False))
                 for i in range(0, len(x), batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, self.item_vectors().shape[1]), np.float32)

    def scores(self, sequences: Sequence[Sequence[int]]) -> np.ndarray:
        """Scores ``(len(sequences), n_items)`` of every item as the next interaction (dot products)."""
        return self.states(sequences) @ self.item_vectors().T


def _build(keras, n_items, n_train_items, dim, max_len, kind, item_text, fine_tune, hidden):
    """The next-item model (logits over the training catalogue), its sequence encoder and the item-table function."""
    ids = keras.Input((max_len,), dtype="int32", name="items")
    if item_text is None:
        table = keras.layers.Embedding(n_items + 1, dim, name="item_embedding",
                                       embeddings_initializer=keras.initializers.RandomNormal(stddev=0.1))
        table.build((None,))

        def lookup(x):
            return table(x)

        def all_items():
            return table.embeddings[1:]
        layers = [table]
    else:
        text = np.vstack([np.zeros((1, item_text.shape[1]), np.float32), item_text.astype(np.float32)])
        table = keras.layers.Embedding(n_items + 1, text.shape[1], name="item_text",
                                       embeddings_initializer=keras.initializers.Constant(text), trainable=fine_tune)
        table.build((None,))
        proj = keras.layers.Dense(dim, use_bias=False, name="text_projection")
        proj.build((None, text.shape[1]))

        def lookup(x):
            return proj(table(x))

        def all_items():
            return proj(table.embeddings[1:])
        layers = [table, proj]
    emb = lookup(ids)
    mask = keras.ops.not_equal(ids, 0)
    rnn = {"gru": keras.layers.GRU, "lstm": keras.layers.LSTM}[kind]
    state = rnn(hidden, name=kind)(emb, mask=mask)
    state = keras.layers.Dense(dim, name="to_item_space")(state)
    encoder = keras.Model(ids, state, name="sequence_encoder")

    class Logits(keras.layers.Layer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self._tracked = layers

        def call(self, s):
            return keras.ops.matmul(s, keras.ops.transpose(all_items()[:n_train_items]))

    logits = Logits(name="logits")(state)
    model = keras.Model(ids, logits, name="next_item")
    return model, encoder, all_items


def fit_sequence_model(
    sequences: Sequence[Sequence[int]],
    n_items: int,
    n_train_items: int | None = None,
    item_text: np.ndarray | None = None,
    fine_tune: bool = False,
    kind: str = "gru",
    dim: int = 32,
    hidden: int = 64,
    max_len: int = 10,
    epochs: int = 8,
    batch_size: int = 256,
    learning_rate: float = 3e-3,
    validation_split: float = 0.1,
    patience: int = 2,
    seed: int = 0,
) -> SequenceModel:
    """Train a GRU/LSTM next-interaction model on behaviour sequences, text-initialised or ID-only.

    Each sequence (item ids, oldest first) gives one training pair per position: the last ``max_len`` items before
    it → the item there. Loss: softmax cross-entropy over the first ``n_train_items`` items (the catalogue at
    training time; later items exist in the table but are never trained). Adam on same-size batches of shuffled pairs
    (an epoch is ``ceil(n_pairs / batch_size)`` steps; see the comment in the code), ``verbose=0``, early stopping on a
    validation split *by sequence* (the last ``validation_split`` share of the sequences after a seeded shuffle) with
    ``restore_best_weights=True``. Seeded with ``keras.utils.set_random_seed(seed)``; with TensorFlow's op
    determinism on (``crt.setup_notebook`` turns it on) two runs give identical weights.

    Item vectors: ID-only (``item_text=None``): a trainable ``(n_items, dim)`` table, random normal (std 0.1).
    Text-initialised: the rows of ``item_text`` (e.g. MiniLM, 384-d) times a trainable ``Dense(dim)`` projection;
    the text rows stay frozen unless ``fine_tune=True``. Frozen is the default because cold-start items are scored
    with the same projection as the warm items it was trained on; fine-tuning would move warm rows away from the text
    space that the (never-updated) cold rows still live in.

    Args:
        sequences: training sequences (one per user); sequences shorter than 2 give no pair.
        n_items: the size of the item table (all items that will ever be scored, incl. cold-start).
        n_train_items: items ``0 .. n_train_items-1`` form the training softmax (default ``n_items``); every
            training target must be below it.
        item_text: ``(n_items, d_text)`` text vectors for the text-initialised model, or ``None`` for ID-only.
        fine_tune: let training change the text rows.
        kind: ``"gru"`` or ``"lstm"``.
        dim: the item-vector (and output state) size.
        hidden: the recurrent layer's size.
        max_len: how many recent items the model reads.
        epochs: at most this many epochs.
        batch_size, learning_rate: for Adam.
        validation_split: share of sequences held out for early stopping (0 disables early stopping).
        patience: epochs without improvement before stopping.
        seed: the seed for weights, shuffling and the validation split.

    Returns:
        :class:`SequenceModel`.

    Raises:
        ValueError: for bad sizes, an unknown ``kind``, a target outside the training catalogue, an item id outside
            the table (named), no training pairs, or ``item_text`` of the wrong shape.

    Book: 03_interest_extraction.ipynb, sec-interest-sequence
    """
    if kind not in ("gru", "lstm"):
        raise ValueError(f"kind must be 'gru' or 'lstm', got {kind!r}")
    for name, value in (("n_items", n_items), ("dim", dim), ("hidden", hidden), ("max_len", max_len),
                        ("epochs", epochs), ("batch_size", batch_size)):
        check_int(name, value)
    n_train_items = int(n_items if n_train_items is None else n_train_items)
    if not 1 <= n_train_items <= n_items:
        raise ValueError(f"n_train_items must be in [1, n_items={n_items}], got {n_train_items}")
    if not 0 <= validation_split < 1:
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split!r}")
    seqs = [list(s) for s in (sequences.tolist() if isinstance(sequences, pd.Series) else sequences)]
    for s in seqs:
        if len(s):
            _check_history(s, n_items)
    if item_text is not None:
        item_text = np.asarray(item_text, dtype=np.float32)
        if item_text.ndim != 2 or item_text.shape[0] != n_items:
            raise ValueError(f"item_text must have shape (n_items={n_items}, d), got {item_text.shape}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(seqs))
    n_val = int(round(validation_split * len(seqs)))
    val_idx, train_idx = order[:n_val], order[n_val:]
    x, y = next_item_sequences([seqs[i] for i in train_idx], max_len)
    if len(y) == 0:
        raise ValueError("no training pairs: every sequence needs at least two items")
    if y.max() >= n_train_items:
        raise ValueError(f"target item id {int(y[y >= n_train_items][0])} is outside the training catalogue "
                         f"[0, {n_train_items})")
    xv, yv = next_item_sequences([seqs[i] for i in val_idx], max_len)
    keep = yv < n_train_items
    xv, yv = xv[keep], yv[keep]

    keras = import_keras()
    keras.utils.set_random_seed(int(seed))
    model, encoder, all_items = _build(keras, int(n_items), n_train_items, int(dim), int(max_len), kind,
                                       item_text, bool(fine_tune), int(hidden))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    # Adam's slots now, not inside the first traced step: a tf.function that creates variables is traced twice.
    model.optimizer.build(model.trainable_variables)
    callbacks, val = [], None
    if len(yv):
        val = (xv, yv)
        callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=int(patience),
                                                       restore_best_weights=True))
    # Every batch has the same size: the pairs are shuffled (seeded, reshuffled each pass) and streamed without end,
    # an "epoch" being ceil(n / batch_size) batches that may run into the next pass. A short last batch would make
    # TensorFlow trace the training step a second time (~2 s per model on a 2-core machine) for no benefit; the
    # validation pairs go in one batch for the same reason. Same number of gradient steps as a plain epoch.
    import tensorflow as tf

    bs = min(int(batch_size), len(y))
    steps = -(-len(y) // bs)
    stream = (tf.data.Dataset.from_tensor_slices((x, y))
              .shuffle(len(y), seed=int(seed), reshuffle_each_iteration=True)
              .repeat().batch(bs, drop_remainder=True))
    fit = model.fit(stream, steps_per_epoch=steps, validation_data=val, validation_batch_size=max(1, len(yv)),
                    epochs=int(epochs), shuffle=False, callbacks=callbacks, verbose=0)
    hist = {k: [float(v) for v in vals] for k, vals in fit.history.items()}
    key = "val_loss" if "val_loss" in hist else "loss"
    best = int(np.argmin(hist[key])) + 1
    return SequenceModel(encoder=encoder, item_table=lambda: keras.ops.convert_to_numpy(all_items()),
                         max_len=int(max_len), history=hist, init="id" if item_text is None else "text",
                         epochs_run=len(hist["loss"]), best_epoch=best)
