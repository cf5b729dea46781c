r"""Uplift: which items a list should hold because showing them *causes* a purchase (T-, X- and DR-learners).
Book: 05_recommendation_generation.ipynb, sec-gen-uplift; 07_case_study.ipynb, sec-case-lists

**Uplift.** A purchase happens also without a recommendation, so the list should hold the items whose purchase
the list *causes*. :func:`estimate_uplift` fits, on the ``pairs`` table (shown and a sample of not-shown items per
session, with the logged ``show_probability`` :math:`\pi` and ``sample_weight``), scikit-learn models of
:math:`P(\text{purchase} \mid \text{shown}, x)` and :math:`P(\text{purchase} \mid \text{not shown}, x)` with
pair features :math:`x` (:func:`shop_pair_features`):

* ``learner="t"`` (T-learner): one model per arm; with ``weighting="ipw"`` shown rows weigh
  :math:`\min(1/\pi, M)` and not-shown rows ``sample_weight`` :math:`\cdot \min(1/(1-\pi), M)`, so each arm
  stands for all pairs; the uplift is the difference of the two predictions.
* ``learner="dr"`` (DR-learner, Kennedy 2023): outcome models like the T-learner's, cross-fitted by user
  (``dr_folds``), then a regression of the doubly robust
  pseudo-outcome :math:`\hat\mu_1 - \hat\mu_0 + T (Y - \hat\mu_1)/\pi - (1 - T)(Y - \hat\mu_0)/(1 - \pi)` on
  :math:`x` (weights ``sample_weight``), with the inverse propensities clipped at ``clip``.
* ``learner="x"`` (X-learner, Künzel et al. 2019): the T-learner's models impute each unit's effect from the
  other arm — :math:`D_1 = Y - \hat\mu_0(x)` for shown rows, :math:`D_0 = \hat\mu_1(x) - Y` for not-shown rows —
  two regressions :math:`\hat\tau_1, \hat\tau_0` of them on :math:`x` (with the arms' weights), and the blend
  :math:`\hat\tau = g(x)\,\hat\tau_0 + (1 - g(x))\,\hat\tau_1`, the weighting function :math:`g` being a
  regression of the *logged* show probabilities :math:`\pi` on :math:`x`: where showing is rare (:math:`g`
  small) the blend trusts :math:`\hat\tau_1`, whose imputation uses the not-shown model fitted on many rows,
  and vice versa.

:func:`estimate_uplifts` fits the outcome models once and returns all three; ``candidates=`` restricts the
prediction to the retrieved candidates (the rest is ``nan``), which is what a re-ranker needs.

The effect of *being shown in a random slot* is :math:`\bar e \cdot \text{uplift}_{ui}`, proportional to the
world's uplift, so ranking by it is what the world's ``incremental_purchases`` rewards. :func:`rerank_by_uplift`
reorders candidate lists by it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import columns as C
from .._checks import (
    check_clip,
    check_columns,
    check_finite,
    check_int,
    check_range,
    float_array,
    id_array,
    id_pairs,
    matrix,
)
from ..interest import EVENT_WEIGHTS
from .click_model import DEFAULT_CLIP

__all__ = ["PairFeatures", "estimate_uplift", "estimate_uplifts", "learned_text_quality", "shop_pair_features"]


@dataclasses.dataclass
class PairFeatures:
    """Observed features of (user, item) pairs for uplift models: ``features(users, items) -> (n, d)``.

    Called with ``sessions=`` (the logged pairs' session ids, as :func:`estimate_uplifts` does for its training
    rows), the user and pair columns use only the events of the user's sessions *before* each row's session: they
    are then pre-treatment, never the pair's own view, click or purchase. Called without, they use every logged
    event (the features a user has when a new list is served after the logs).

    Attributes:
        names: column names.
        user_table: ``(n_users, d_u)`` user columns (from all logged events).
        item_table: ``(n_items, d_i)`` item columns.
        profile: ``(n_users, n_categories)`` weighted category shares of each user's events.
        item_category: ``(n_items,)`` category index per item.
        declared: ``(n_users,)`` declared-interest category index per user (-1 if unknown).
        session_ids: sorted session ids of the logs (``None``: no per-session features).
        session_profile: ``(n_sessions, n_categories)`` category shares of the user's events before each session.
        session_user_table: ``(n_sessions, d_u)`` user columns before each session.

    Book: 05_recommendation_generation.ipynb, sec-gen-uplift
    """

    names: list[str]
    user_table: np.ndarray
    item_table: np.ndarray
    profile: np.ndarray
    item_category: np.ndarray
    declared: np.ndarray
    session_ids: np.ndarray | None = None
    session_profile: np.ndarray | None = None
    session_user_table: np.ndarray | None = None

    @property
    def n_users(self) -> int:
        return len(self.user_table)

    @property
    def n_items(self) -> int:
        return len(self.item_table)

    def __call__(self, users: Any, items: Any, sessions: Any = None) -> np.ndarray:
        u, i = id_pairs(users, items, self.n_users, self.n_items)
        cat = self.item_category[i]
        declared = (self.declared[u] == cat).astype(np.float64)
        if sessions is None:
            return np.column_stack([self.profile[u, cat], declared, self.user_table[u], self.item_table[i]])
        if self.session_ids is None:
            raise ValueError("these features have no per-session history: build them with shop_pair_features")
        s = np.asarray(sessions)
        if s.shape != u.shape:
            raise ValueError(f"sessions must give one session id per pair, got shape {s.shape} for {len(u)} pairs")
        row = np.searchsorted(self.session_ids, s)
        if (row >= len(self.session_ids)).any() or (self.session_ids[np.minimum(row, len(self.session_ids) - 1)]
                                                    != s).any():
            raise ValueError("sessions holds ids that are not sessions of the logs the features were built from")
        return np.column_stack([self.session_profile[row, cat], declared, self.session_user_table[row],
                                self.item_table[i]])


def _history_before_sessions(logs: Any, ev: pd.DataFrame, wt: np.ndarray, cat_of_item: np.ndarray, n_cats: int,
                             age: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per session of the logs: the user's category shares, session count and event weight over *earlier*
    sessions (session ids increase with time)."""
    sess = logs.sessions[[C.SESSION, C.USER]].sort_values(C.SESSION)
    sid = sess[C.SESSION].to_numpy(np.int64)
    users = sess[C.USER].to_numpy(np.int64)
    own = np.zeros((len(sid), n_cats))
    row = np.searchsorted(sid, ev[C.SESSION].to_numpy(np.int64))
    np.add.at(own, (row, cat_of_item[ev[C.ITEM].to_numpy(np.int64)]), wt)
    order = np.lexsort((sid, users))  # by user, then time
    cum = np.cumsum(own[order], axis=0) - own[order]  # exclusive running sums...
    u_sorted = users[order]
    start = np.r_[0, np.flatnonzero(np.diff(u_sorted)) + 1]
    first = np.repeat(start, np.diff(np.r_[start, len(order)]))
    cum -= (np.cumsum(own[order], axis=0) - own[order])[first]  # ...restarted for each user
    n_before = np.arange(len(order)) - first
    before = np.empty_like(own)
    before[order] = cum
    count = np.empty(len(sid))
    count[order] = n_before
    total = before.sum(axis=1)
    total = np.where(total > 1e-6, total, 0.0)  # round-off of the running sums is not history
    shares = np.where(total[:, None] > 0, before / np.maximum(total, 1e-12)[:, None], 0.0)
    user_cols = np.column_stack([np.log1p(count), age[users], np.log1p(total)])
    return sid, shares, user_cols


def learned_text_quality(texts: Sequence[str], impressions: pd.DataFrame, n_items: int, n_folds: int = 5,
                         prior: float = 20.0, standardize: bool = True) -> np.ndarray:
    """What an item's text says about how well it sells, learned from the logs: a cross-fitted ridge regression of
    the item's observed purchase rate when shown (smoothed logit) on the TF-IDF of its text.

    Nothing of the simulator is read: the target is the share of the item's impressions that ended in a purchase
    (shrunk towards the overall share with ``prior`` pseudo-impressions), and each item's prediction comes from a
    model fitted on the other folds' items, so an item's own outcomes never reach its own raw prediction (the
    standardisation, over all items, shifts and scales the whole column alike).

    Args:
        texts: one text per item (title and description), ``n_items`` of them.
        impressions: ``logs.impressions`` (``item_id, purchase``).
        n_items: items covered.
        n_folds: cross-fitting folds over items (by item id modulo ``n_folds``).
        prior: pseudo-impressions of the shrinkage towards the overall purchase rate.
        standardize: return the predictions standardised over items (mean 0, sd 1) rather than as logits.

    Returns:
        float64 ``(n_items,)``.

    Book: 05_recommendation_generation.ipynb, sec-gen-uplift
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import Ridge

    n_items = check_int("n_items", n_items, 1)
    n_folds = check_int("n_folds", n_folds, 2, max(n_items, 2))
    if len(texts) != n_items:
        raise ValueError(f"texts must hold one text per item ({n_items}), got {len(texts)}")
    check_columns(impressions, "impressions", [C.ITEM, C.PURCHASE])
    imp = impressions[impressions[C.ITEM] < n_items]
    item = imp[C.ITEM].to_numpy(np.int64)
    shown = np.bincount(item, minlength=n_items).astype(float)
    bought = np.bincount(item, weights=imp[C.PURCHASE].to_numpy(float), minlength=n_items)
    X = TfidfVectorizer(sublinear_tf=True, min_df=2, ngram_range=(1, 2)).fit_transform(list(texts))  # no outcomes
    fold = np.arange(n_items) % n_folds
    out = np.zeros(n_items)
    for f in range(n_folds):
        train, test = fold != f, fold == f
        base = (bought[train].sum() + 1.0) / (shown[train].sum() + 2.0)  # from the training folds only
        rate = (bought[train] + prior * base) / (shown[train] + prior)
        w = np.sqrt(shown[train] + 1.0)  # items seen more often have better-measured targets
        out[test] = Ridge(alpha=1.0).fit(X[train], np.log(rate / (1 - rate)), sample_weight=w).predict(X[test])
    if not standardize:
        return out
    sd = out.std()
    return (out - out.mean()) / (sd if sd > 0 else 1.0)


def shop_pair_features(
    logs: Any,
    n_items: int | None = None,
    item_vectors: Any = None,
    n_components: int = 8,
    event_weights: Mapping[str, float] | None = None,
) -> PairFeatures:
    """Observed pair features for the shop, from its logs and catalogue only (no hidden truth).

    Per pair: the user's weighted share of events in the item's category (``affinity``; views, clicks and purchases
    weighted by ``crt.interest.EVENT_WEIGHTS``), whether it is the user's declared favourite category; per user:
    log sessions, age, log total event weight. For the logged pairs these use only the user's sessions *before* the
    pair's session (pre-treatment: see :class:`PairFeatures`; an earlier version counted the pair's own view, click
    and purchase, a post-treatment covariate); per item: log(1 + popularity) (the catalogue's prior sales count:
    pre-treatment, but in the shop nearly the hidden prominence, a strong proxy by the world's design), log price
    relative to the category median, what its text says about how well it sells (:func:`learned_text_quality`: a
    cross-fitted text model of the item's logged purchase rate; an earlier version decoded the quality tier with
    the shop's own vocabulary, a near-oracle of a hidden variable), the category (one-hot), and optionally the
    first ``n_components`` principal
    components of its text embedding.

    Args:
        logs: a ``ShopLogs`` (``events()``, ``sessions``, ``items``, ``users``).
        n_items: items covered (default: all rows of ``logs.items``).
        item_vectors: optional ``(n_items_total, dim)`` text embeddings of ``logs.items``.
        n_components: PCA components of ``item_vectors``.
        event_weights: weight per event kind for the affinity.

    Returns:
        :class:`PairFeatures`.

    Raises:
        ValueError: for logs without the needed tables or ``item_vectors`` of the wrong shape.

    Book: 05_recommendation_generation.ipynb, sec-gen-uplift
    """
    for attr in ("items", "users", "sessions"):
        if not hasattr(logs, attr):
            raise ValueError(f"logs must be a ShopLogs (with .{attr}), got {type(logs).__name__}")
    items, users = logs.items, logs.users
    check_columns(items, "logs.items", [C.ITEM, C.CATEGORY, C.PRICE, C.POPULARITY, C.TITLE, C.DESCRIPTION])
    if not hasattr(logs, "impressions"):
        raise ValueError(f"logs must be a ShopLogs (with .impressions), got {type(logs).__name__}")
    n_items = len(items) if n_items is None else check_int("n_items", n_items, 1)
    items = items.iloc[:n_items]
    n_users = len(users)
    cats = sorted(items[C.CATEGORY].unique())
    cat_idx = items[C.CATEGORY].map({c: j for j, c in enumerate(cats)}).to_numpy(np.int64)
    ev = logs.events()
    ev = ev[ev[C.ITEM] < n_items]
    weights = EVENT_WEIGHTS if event_weights is None else dict(event_weights)
    wt = ev[C.EVENT].map(weights).fillna(0.0).to_numpy(np.float64)
    prof = np.zeros((n_users, len(cats)))
    np.add.at(prof, (ev[C.USER].to_numpy(np.int64), cat_idx[ev[C.ITEM].to_numpy(np.int64)]), wt)
    total = prof.sum(axis=1)
    prof = prof / np.maximum(total, 1e-12)[:, None]
    n_sess = np.bincount(logs.sessions[C.USER].to_numpy(np.int64), minlength=n_users)[:n_users]
    declared = np.full(n_users, -1, dtype=np.int64)
    if C.DECLARED_INTEREST in users.columns:
        declared = users[C.DECLARED_INTEREST].map({c: j for j, c in enumerate(cats)}).fillna(-1).to_numpy(np.int64)
    age = users[C.AGE].to_numpy(np.float64) if C.AGE in users.columns else np.zeros(n_users)
    user_table = np.column_stack([np.log1p(n_sess), age, np.log1p(total)])
    price = items[C.PRICE].to_numpy(np.float64)
    med = items.groupby(C.CATEGORY)[C.PRICE].transform("median").to_numpy(np.float64)
    texts = (items[C.TITLE].astype(str) + ". " + items[C.DESCRIPTION].astype(str)).tolist()
    quality = learned_text_quality(texts, logs.impressions, n_items)
    onehot = np.eye(len(cats))[cat_idx]
    item_cols = [np.log1p(items[C.POPULARITY].to_numpy(np.float64)), np.log(price / med), quality]
    names = ["affinity", "declared_match", "log_sessions", "age", "log_events", "log_popularity",
             "log_relative_price", "text_quality"] + [f"category={c}" for c in cats]
    item_table = np.column_stack(item_cols + [onehot])
    if item_vectors is not None:
        V = matrix("item_vectors", item_vectors)
        if len(V) < n_items:
            raise ValueError(f"item_vectors must have at least n_items={n_items} rows, got {V.shape}")
        V = V[:n_items] - V[:n_items].mean(axis=0)
        k = min(check_int("n_components", n_components, 0), V.shape[1], n_items)
        comps = np.linalg.svd(V, full_matrices=False)[2][:k]
        item_table = np.column_stack([item_table, V @ comps.T])
        names += [f"text_pc{j}" for j in range(k)]
    sid, session_profile, session_user_table = _history_before_sessions(logs, ev, wt, cat_idx, len(cats), age)
    return PairFeatures(names=names, user_table=user_table, item_table=item_table, profile=prof,
                        item_category=cat_idx, declared=declared, session_ids=sid, session_profile=session_profile,
                        session_user_table=session_user_table)


def _training_features(features: Callable, u: np.ndarray, i: np.ndarray, pairs: pd.DataFrame) -> np.ndarray:
    """The training rows' features: pre-treatment (from sessions before each pair's) when ``features`` is a
    :class:`PairFeatures` with per-session history and the pairs name their sessions."""
    if isinstance(features, PairFeatures) and features.session_ids is not None and C.SESSION in pairs.columns:
        return features(u, i, sessions=pairs[C.SESSION].to_numpy(np.int64))
    return features(u, i)


def _classifier(model: Any, seed: int):
    if model is not None:
        from sklearn.base import clone

        return clone(model)
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, max_leaf_nodes=15,
                                          min_samples_leaf=100, l2_regularization=1.0, random_state=seed)


def _regressor(model: Any, seed: int):
    if model is not None:
        from sklearn.base import clone

        return clone(model)
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(max_iter=200, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=200,
                                         l2_regularization=1.0, random_state=seed)


def estimate_uplifts(
    pairs: pd.DataFrame,
    features: Callable[[np.ndarray, np.ndarray], np.ndarray],
    n_users: int,
    n_items: int,
    learners: Sequence[str] = ("t", "x", "dr"),
    weighting: str = "ipw",
    clip: float = DEFAULT_CLIP,
    model: Any = None,
    regressor: Any = None,
    candidates: Any = None,
    seed: int = 0,
    dr_folds: int = 2,
) -> dict[str, np.ndarray]:
    """Estimate each (user, item) pair's uplift from logs with several meta-learners that share their first stage.

    The T-learner's two outcome models are fitted once and reused by the X- and DR-learners (see the module
    docstring, 3.). The estimate is the effect of being shown in a random slot (:math:`\\bar e\\,\\text{uplift}`),
    so it ranks like the world's uplift.

    Args:
        pairs: ``logs.pairs`` (``user_id, item_id, shown, show_probability, sample_weight, purchase``).
        features: ``(users, items) -> (n, d)`` observed pair features (:func:`shop_pair_features`).
        n_users, n_items: the size of the returned matrices.
        learners: any of ``"t"``, ``"x"``, ``"dr"`` (distinct).
        weighting: ``"ipw"`` (inverse-propensity weighted outcome models) or ``"none"``.
        clip: maximum inverse propensity, >= 1.
        model: a scikit-learn classifier to clone for the outcome models (default a histogram gradient boosting).
        regressor: a scikit-learn regressor to clone for the second stages (X: the two imputed-effect models and
            the propensity model; DR: the pseudo-outcome model); default a histogram gradient boosting.
        candidates: optional int ``(n_users, n)`` item ids (``-1`` = padding, e.g. :func:`retrieve_candidates`):
            predict only these pairs (much faster than the whole catalogue); every other entry is ``nan``.
        seed: ``random_state`` of the models.
        dr_folds: cross-fitting folds of the DR-learner's pseudo-outcome (by user: each row's outcome models are
            fitted on the other folds' users, Kennedy 2023); ``1`` uses the in-sample T-learner models (faster,
            but the pseudo-outcome then reuses each row's own outcome through its fitted models).

    Returns:
        ``{learner: float64 (n_users, n_items)}``.

    Raises:
        ValueError: for an unknown learner or weighting, missing columns, ids outside the matrix, propensities not
            in (0, 1] (or equal to 1 for a not-shown row), an arm without rows, or malformed ``candidates``.

    Book: 05_recommendation_generation.ipynb, sec-gen-uplift
    """
    if isinstance(learners, str):
        learners = (learners,)
    learners = tuple(learners)
    if not learners or len(set(learners)) != len(learners) or not set(learners) <= {"t", "x", "dr"}:
        raise ValueError(f"learners must be distinct names among 't', 'x', 'dr' (learner), got {learners!r}")
    if weighting not in ("ipw", "none"):
        raise ValueError(f"weighting must be 'ipw' or 'none', got {weighting!r}")
    check_columns(pairs, "pairs", [C.USER, C.ITEM, C.SHOWN, C.SHOW_PROBABILITY, C.SAMPLE_WEIGHT, C.PURCHASE])
    if not callable(features):
        raise TypeError(f"features must be a function (users, items) -> (n, d) array, got {type(features).__name__}")
    seed = check_int("seed", seed, 0, 2**32 - 1)
    dr_folds = check_int("dr_folds", dr_folds, 1, 20)
    clip = check_clip(clip, minimum=1)
    n_users, n_items = check_int("n_users", n_users, 1), check_int("n_items", n_items, 1)
    u = id_array("pairs.user_id", pairs[C.USER].to_numpy(), n_users, "user")
    i = id_array("pairs.item_id", pairs[C.ITEM].to_numpy(), n_items, "item")
    for col in (C.SHOWN, C.PURCHASE):
        v = float_array(f"pairs.{col}", pairs[col], "0 or 1")
        if not np.isin(v, (0.0, 1.0)).all():
            raise ValueError(f"pairs.{col} must hold only 0 and 1, got e.g. {v[~np.isin(v, (0.0, 1.0))][0]!r}")
    t = pairs[C.SHOWN].to_numpy(np.int64)
    y = pairs[C.PURCHASE].to_numpy(np.int64)
    pi = float_array("pairs.show_probability", pairs[C.SHOW_PROBABILITY], "the logged show probability")
    check_finite("pairs.show_probability", pi, "the logged show probability")
    sw = float_array("pairs.sample_weight", pairs[C.SAMPLE_WEIGHT], "the weight of a sampled row")
    check_finite("pairs.sample_weight", sw, "the weight of a sampled row")
    check_range("pairs.sample_weight", sw, 0.0, np.inf, False, "the weight of a sampled row, >= 0")
    if ((pi <= 0) | (pi > 1)).any() or ((t == 0) & (pi >= 1)).any():
        raise ValueError("show_probability must be in (0, 1], and below 1 for not-shown rows")
    if t.min() == t.max():
        raise ValueError("pairs needs both shown and not-shown rows")
    cand = None
    if candidates is not None:
        cand = np.asarray(candidates)
        if cand.ndim != 2 or cand.shape[0] != n_users or cand.dtype.kind not in "iu":
            raise ValueError(f"candidates must be an integer array (n_users={n_users}, n), got {cand.dtype} "
                             f"{cand.shape}")
        if cand.size and (cand.min() < -1 or cand.max() >= n_items):
            raise ValueError(f"candidate ids must be in [0, {n_items}) or -1 for padding")
    X = np.asarray(_training_features(features, u, i, pairs), dtype=np.float64)
    ip1 = np.minimum(1.0 / pi, clip)
    ip0 = np.minimum(1.0 / np.maximum(1.0 - pi, 1e-12), clip)
    w1, w0 = (ip1, sw * ip0) if weighting == "ipw" else (np.ones_like(pi), sw)
    rows1, rows0 = t == 1, t == 0

    def fit(est, rows, target, weight):
        est.fit(X[rows], target[rows], sample_weight=weight[rows] / weight[rows].mean())
        return est

    m1 = fit(_classifier(model, seed), rows1, y, w1)
    m0 = fit(_classifier(model, seed), rows0, y, w0)
    mu1, mu0 = m1.predict_proba(X)[:, 1], m0.predict_proba(X)[:, 1]
    second: dict[str, Any] = {}
    if "x" in learners:
        # imputed effects: treated D1 = Y - mu0(x), controls D0 = mu1(x) - Y; the propensity model g(x) is a
        # regression of the logged show probabilities on x (all pairs, via sample_weight)
        yf = y.astype(np.float64)
        second["x1"] = fit(_regressor(regressor, seed), rows1, yf - mu0, w1)
        second["x0"] = fit(_regressor(regressor, seed), rows0, mu1 - yf, w0)
        second["g"] = fit(_regressor(regressor, seed), np.ones(len(pi), bool), pi, sw)
    if "dr" in learners:
        cmu1, cmu0 = mu1, mu0
        if dr_folds > 1:  # cross-fitted outcome models: a row's pseudo-outcome never sees its own outcome
            cmu1, cmu0 = np.empty_like(mu1), np.empty_like(mu0)
            fold = np.random.default_rng(seed).integers(0, dr_folds, n_users)[u]
            for f in range(dr_folds):
                out_f, in_f = fold == f, fold != f
                if not (in_f & rows1).any() or not (in_f & rows0).any():
                    raise ValueError(f"dr_folds={dr_folds}: a fold leaves an arm without rows; use fewer folds")
                cmu1[out_f] = fit(_classifier(model, seed), in_f & rows1, y, w1).predict_proba(X[out_f])[:, 1]
                cmu0[out_f] = fit(_classifier(model, seed), in_f & rows0, y, w0).predict_proba(X[out_f])[:, 1]
        phi = cmu1 - cmu0 + t * (y - cmu1) * ip1 - (1 - t) * (y - cmu0) * ip0
        second["dr"] = fit(_regressor(regressor, seed), np.ones(len(pi), bool), phi, sw)

    def predict(Xc: np.ndarray) -> dict[str, np.ndarray]:
        out = {}
        if "t" in learners:
            out["t"] = m1.predict_proba(Xc)[:, 1] - m0.predict_proba(Xc)[:, 1]
        if "x" in learners:
            g = np.clip(second["g"].predict(Xc), 0.0, 1.0)
            out["x"] = g * second["x0"].predict(Xc) + (1.0 - g) * second["x1"].predict(Xc)
        if "dr" in learners:
            out["dr"] = second["dr"].predict(Xc)
        return out

    result = {name: np.full((n_users, n_items), np.nan) for name in learners}
    if cand is not None:
        uu, jj = np.nonzero(cand >= 0)
        ii = cand[uu, jj].astype(np.int64)
        for name, tau in predict(np.asarray(features(uu, ii), dtype=np.float64)).items():
            result[name][uu, ii] = tau
        return result
    chunk = max(1, 200_000 // n_items)
    all_items = np.arange(n_items)
    for start in range(0, n_users, chunk):
        us = np.arange(start, min(n_users, start + chunk))
        Xc = np.asarray(features(np.repeat(us, n_items), np.tile(all_items, len(us))), dtype=np.float64)
        for name, tau in predict(Xc).items():
            result[name][us] = tau.reshape(len(us), n_items)
    return result


def estimate_uplift(
    pairs: pd.DataFrame,
    features: Callable[[np.ndarray, np.ndarray], np.ndarray],
    n_users: int,
    n_items: int,
    learner: str = "t",
    weighting: str = "ipw",
    clip: float = DEFAULT_CLIP,
    model: Any = None,
    regressor: Any = None,
    candidates: Any = None,
    seed: int = 0,
    dr_folds: int = 2,
) -> np.ndarray:
    """Estimate each (user, item) pair's uplift — the effect of showing the item on its purchase — from logs.

    One learner of :func:`estimate_uplifts` (which fits several at the cost of one first stage): the T-learner,
    the X-learner (Künzel et al. 2019) with the logged show probabilities as its weighting function, or the
    DR-learner (Kennedy 2023); see the module docstring (3.). The estimate is the effect of being shown in a random
    slot (:math:`\\bar e\\,\\text{uplift}`), so it ranks like the world's uplift.

    Args:
        pairs: ``logs.pairs`` (``user_id, item_id, shown, show_probability, sample_weight, purchase``).
        features: ``(users, items) -> (n, d)`` observed pair features (:func:`shop_pair_features`).
        n_users, n_items: the size of the returned matrix.
        learner: ``"t"``, ``"x"`` or ``"dr"``.
        weighting: ``"ipw"`` (inverse-propensity weighted outcome models) or ``"none"``.
        clip: maximum inverse propensity, >= 1.
        model: a scikit-learn classifier to clone for the outcome models (default a histogram gradient boosting).
        regressor: a scikit-learn regressor to clone for the second stages (default a histogram gradient boosting).
        candidates: optional ``(n_users, n)`` item ids to predict (others ``nan``); see :func:`estimate_uplifts`.
        seed: ``random_state`` of the models.
        dr_folds: cross-fitting folds of the DR-learner (see :func:`estimate_uplifts`).

    Returns:
        float64 ``(n_users, n_items)``.

    Raises:
        ValueError: for an unknown learner or weighting, missing columns, ids outside the matrix, propensities not
            in (0, 1] (or equal to 1 for a not-shown row), or an arm without rows.

    Book: 05_recommendation_generation.ipynb, sec-gen-uplift
    """
    if learner not in ("t", "x", "dr"):
        raise ValueError(f"learner must be 't', 'x' or 'dr', got {learner!r}")
    return estimate_uplifts(pairs, features, n_users, n_items, learners=(learner,), weighting=weighting, clip=clip,
                            model=model, regressor=regressor, candidates=candidates, seed=seed,
                            dr_folds=dr_folds)[learner]
