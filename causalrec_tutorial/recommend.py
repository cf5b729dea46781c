r"""Recommendation generation: retrieval, click and uplift ranking, an LM ranker, grounded and checked explanations.

A recommender that *generates* a list does it in stages, and each stage has a causal question of its own.

1. **Candidate retrieval.** :func:`retrieve_candidates` takes the ``n`` items nearest to a user's interest vector
   (dot product of unit vectors, i.e. cosine; or the best of several interest vectors), never an item in the user's
   ``exclude`` set (what they already bought). A user without history (an all-zero interest vector) gets the
   **fallback**: the most popular unseen items (``popularity``), or, if no popularity is given, the items nearest to
   the catalogue's mean vector. Fewer than ``n`` unseen items: the row is padded with ``-1``.
2. **A click model** (:func:`fit_click_model`, Keras): logit :math:`b + b_u + b_i + \langle p_u, q_i + W x_i\rangle`
   (biased matrix factorisation; :math:`x_i` an optional item text embedding), trained on logged impressions.

   * ``weighting="naive"``: binary cross-entropy on the clicks of the shown items. It learns
     :math:`P(\text{click} \mid \text{shown}) = \bar e\,\rho_{ui}` on the pairs the old recommender liked to show,
     and extrapolates from them to the rest.
   * ``weighting="ips"``: the relevance-estimation loss of Saito et al. (2020, "Rel-MF"), with two propensities.
     *Position*: a click in slot :math:`s` is divided by the examination propensity :math:`\hat e_s` (label
     :math:`y = c / \hat e_s`, so :math:`E[y] = \rho_{ui}`); :math:`\hat e_s` is estimated from the logs by
     :func:`estimate_examination` — the slot order is uniformly random, so the click rate of slot :math:`s` over
     that of slot 0 estimates :math:`e_s / e_0` — or given. *Exposure*: each impression is weighted by
     :math:`1 / \pi_{ui}` (``show_probability``), so the shown pairs stand for all pairs. Both inverse propensities
     are **clipped at** ``clip`` (default :data:`DEFAULT_CLIP` = 20): :math:`\min(1/\hat e_s, M)` and
     :math:`\min(1/\pi_{ui}, M)`; the exposure weights are then scaled to mean 1. The loss per row is
     :math:`w\,[\log(1 + e^{z}) - y z]` (cross-entropy with a soft label, which may exceed 1).

   Early stopping on a validation split *by session* (seeded), ``restore_best_weights``; ``keras.utils.
   set_random_seed(seed)``; with TensorFlow's op determinism on (``crt.setup_notebook``) two runs are identical.
3. **Uplift.** A purchase happens also without a recommendation, so the list should hold the items whose purchase
   the list *causes*. :func:`estimate_uplift` fits, on the ``pairs`` table (shown and a sample of not-shown items per
   session, with the logged ``show_probability`` :math:`\pi` and ``sample_weight``), scikit-learn models of
   :math:`P(\text{purchase} \mid \text{shown}, x)` and :math:`P(\text{purchase} \mid \text{not shown}, x)` with
   pair features :math:`x` (:func:`shop_pair_features`):

   * ``learner="t"`` (T-learner): one model per arm; with ``weighting="ipw"`` shown rows weigh
     :math:`\min(1/\pi, M)` and not-shown rows ``sample_weight`` :math:`\cdot \min(1/(1-\pi), M)`, so each arm
     stands for all pairs; the uplift is the difference of the two predictions.
   * ``learner="dr"`` (DR-learner, Kennedy 2023): the T-learner's models, then a regression of the doubly robust
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
4. **An LM ranker.** :func:`lm_rank` scores each candidate title by its log-likelihood after a few-shot prompt that
   states the user's interests and lists the candidates (:data:`SHOP_RANK_CANDIDATES`). The list order is itself a
   treatment: :func:`lm_position_experiment` shuffles the list at random, records the list position of the item the
   LM picks, and :func:`position_effect` estimates the effect of a position on being picked, with a CI from a
   bootstrap over cases. ``permutations=n`` averages the scores over ``n`` random orders (a cure for position bias).
   :func:`lm_order_scores` is the economical design: each case is scored once under all ``m`` cyclic shifts of a
   random order (a Latin square, every candidate at every position once); from that one table
   :func:`choices_from_order_scores` gives the single-order ranker (``m`` randomised trials per case), the ranker
   averaged over ``q`` orders, and the position-balanced ranker (``q = m``), and
   :func:`position_effect_reduction` the share of the position effect that averaging removes (paired bootstrap).
5. **Grounded text.** :func:`write_pitch` asks the generator for one sentence from the user's interests and the
   item's own facts (:data:`SHOP_PITCH`); :func:`check_faithfulness` extracts the pitch's *claims* — numbers and
   prices, materials, product features, product kinds and quality words — and requires each to be supported by the
   item's text (see its docstring); :func:`recommend_pitch` falls back to :func:`template_pitch` (built only from
   item facts) when a claim is unsupported.

Book: 05_recommendation_generation.ipynb, sec-generation
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from . import columns as C
from ._checks import check_int
from .causal import EffectEstimate
from .config import as_rng, import_keras
from .interest import EVENT_WEIGHTS
from .lm import prompts as _prompts
from .lm.prompts import PromptTemplate

__all__ = [
    "DEFAULT_CLIP",
    "SHOP_PITCH",
    "SHOP_RANK_CANDIDATES",
    "ClickModel",
    "FaithfulnessVerdict",
    "LMRanking",
    "PairFeatures",
    "check_faithfulness",
    "choices_from_order_scores",
    "estimate_examination",
    "estimate_uplift",
    "estimate_uplifts",
    "fit_click_model",
    "ips_weights",
    "item_fact_text",
    "lm_order_scores",
    "lm_position_experiment",
    "lm_rank",
    "position_effect",
    "position_effect_reduction",
    "recommend_pitch",
    "text_quality_tier",
    "rerank",
    "rerank_by_uplift",
    "retrieve_candidates",
    "shop_pair_features",
    "template_pitch",
    "top_k",
    "write_pitch",
]

#: Default maximum of an inverse propensity (examination, exposure) before it is used as a weight.
DEFAULT_CLIP = 20.0


# ---------------------------------------------------------------------------------------------------------------
# Validation helpers
# ---------------------------------------------------------------------------------------------------------------


def _check_clip(clip: Any) -> float:
    if isinstance(clip, bool) or not isinstance(clip, (int, float, np.integer, np.floating)) or not clip >= 1:
        raise ValueError(f"clip must be a number >= 1 (the largest inverse propensity allowed), got {clip!r}")
    return float(clip)


def _matrix(name: str, x: Any, ndim: tuple[int, ...] = (2,)) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim not in ndim or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty array with {' or '.join(map(str, ndim))} dimensions, "
                         f"got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def _columns(df: Any, name: str, cols: Sequence[str]) -> None:
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"{name} must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"{name} lacks column(s) {missing}; it has {list(df.columns)}")
    if len(df) == 0:
        raise ValueError(f"{name} is empty")


def _ids(name: str, x: Any, n: int, what: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold integer {what} ids, got dtype {arr.dtype}")
    if arr.size and (arr.min() < 0 or arr.max() >= n):
        raise ValueError(f"{name} has {what} ids outside [0, {n})")
    return arr.astype(np.int64)


# ---------------------------------------------------------------------------------------------------------------
# 1. Candidate retrieval
# ---------------------------------------------------------------------------------------------------------------


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
    s = _matrix("scores", scores).copy()
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
    U = _matrix("user_vectors", user_vectors, (2, 3))
    V = _matrix("item_vectors", item_vectors)
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
        pop = _matrix("popularity", np.asarray(popularity, dtype=np.float64)[None, :]).ravel()
        if len(pop) != V.shape[0] or (pop < 0).any():
            raise ValueError(f"popularity must be {V.shape[0]} non-negative values, got {len(pop)}")
        fallback = pop
    else:
        fallback = V @ V.mean(axis=0)
    scores[empty] = fallback[None, :]
    return top_k(scores, n, exclude)


# ---------------------------------------------------------------------------------------------------------------
# 2. Click model
# ---------------------------------------------------------------------------------------------------------------


def estimate_examination(impressions: pd.DataFrame, k: int | None = None) -> np.ndarray:
    """Examination propensity per slot, relative to slot 0, from logs whose slot order is uniformly random.

    With a random slot order every slot sees the same mix of items, so ``CTR_s / CTR_0`` estimates ``e_s / e_0``
    (Joachims et al. 2017's randomisation experiment, here free in the logs).

    Args:
        impressions: columns ``position`` and ``click``.
        k: number of slots (default ``max position + 1``).

    Returns:
        float64 ``(k,)`` with ``[0] == 1``, each positive.

    Raises:
        ValueError: for missing columns, or a slot with no impressions or no clicks.

    Book: 05_recommendation_generation.ipynb, sec-gen-ips
    """
    _columns(impressions, "impressions", [C.POSITION, C.CLICK])
    pos = impressions[C.POSITION].to_numpy(np.int64)
    if pos.min() < 0:
        raise ValueError("impressions has negative positions")
    k = int(pos.max()) + 1 if k is None else check_int("k", k, 1)
    shows = np.bincount(pos, minlength=k)[:k]
    clicks = np.bincount(pos, weights=impressions[C.CLICK].to_numpy(np.float64), minlength=k)[:k]
    if (shows == 0).any() or (clicks == 0).any():
        raise ValueError(f"every slot needs impressions and clicks to estimate examination; shows {shows.tolist()}, "
                         f"clicks {clicks.tolist()}")
    ctr = clicks / shows
    return ctr / ctr[0]


def ips_weights(propensity: Any, clip: float = DEFAULT_CLIP) -> np.ndarray:
    """Clipped inverse propensities ``min(1 / p, clip)``.

    Args:
        propensity: probabilities in (0, 1] (examination per slot, ``show_probability``, ...). Values above 1
            (a relative examination can exceed 1 by noise) give weights below 1.
        clip: the largest weight, >= 1.

    Returns:
        float64 array of the same shape.

    Raises:
        ValueError: for a non-positive propensity or a clip below 1.

    Book: 05_recommendation_generation.ipynb, sec-gen-ips
    """
    clip = _check_clip(clip)
    p = np.asarray(propensity, dtype=np.float64)
    if not np.isfinite(p).all() or (p <= 0).any():
        raise ValueError("propensities must be positive and finite")
    return np.minimum(1.0 / p, clip)


@dataclasses.dataclass
class ClickModel:
    """A fitted click model: predicted relevance per (user, item).

    Attributes:
        weighting: ``"naive"`` or ``"ips"``.
        examination: the examination propensities used (``"ips"``; ``None`` for naive).
        clip: the clip of the inverse propensities.
        history: Keras' training history (loss per epoch).
        best_epoch: the epoch whose weights were kept.

    Book: 05_recommendation_generation.ipynb, sec-gen-click-model
    """

    weighting: str
    examination: np.ndarray | None
    clip: float
    history: dict[str, list[float]]
    best_epoch: int
    n_users: int
    n_items: int
    _predict: Callable[[np.ndarray, np.ndarray], np.ndarray] = dataclasses.field(repr=False)

    def predict(self, users: Any, items: Any) -> np.ndarray:
        """Predicted click probability (naive: when shown in a random slot; ips: when examined) per pair.

        Raises:
            ValueError: for ids outside the model's catalogue or mismatched lengths.
        """
        u = _ids("users", users, self.n_users, "user").ravel()
        i = _ids("items", items, self.n_items, "item").ravel()
        if len(u) != len(i):
            raise ValueError(f"users and items must have the same length, got {len(u)} and {len(i)}")
        return self._predict(u, i)

    def scores(self, users: Any = None) -> np.ndarray:
        """Scores ``(len(users), n_items)`` (default all users), higher = more likely clicked."""
        users = np.arange(self.n_users) if users is None else _ids("users", users, self.n_users, "user").ravel()
        uu = np.repeat(users, self.n_items)
        ii = np.tile(np.arange(self.n_items), len(users))
        return self._predict(uu, ii).reshape(len(users), self.n_items)


def _soft_label_bce(keras):
    ops = keras.ops

    def loss(y_true, logits):
        y = ops.cast(y_true, logits.dtype)
        return ops.mean(ops.softplus(logits) - y * logits, axis=-1)

    return loss


def fit_click_model(
    impressions: pd.DataFrame,
    n_users: int | None = None,
    n_items: int | None = None,
    weighting: str = "naive",
    clip: float = DEFAULT_CLIP,
    examination: Any = None,
    item_features: Any = None,
    dim: int = 16,
    l2: float = 1e-5,
    epochs: int = 30,
    batch_size: int = 1024,
    learning_rate: float = 5e-3,
    validation_split: float = 0.1,
    patience: int = 3,
    seed: int = 0,
) -> ClickModel:
    """Train a biased matrix-factorisation click model (Keras) on logged impressions, naive or IPS-weighted.

    See the module docstring (2.) for the model and the weights.

    Args:
        impressions: columns ``user_id, item_id, position, click`` (and ``show_probability`` for ``"ips"``).
        n_users: users in the model (default ``max user id + 1``).
        n_items: items in the model (default ``max item id + 1``, or ``len(item_features)``).
        weighting: ``"naive"`` or ``"ips"``.
        clip: maximum inverse propensity (examination and exposure), >= 1.
        examination: per-slot examination propensities; default :func:`estimate_examination` of ``impressions``.
        item_features: optional ``(n_items, d)`` item text embeddings, projected into the item factors (so items
            never shown get a text-based score).
        dim: factor dimension.
        l2: L2 penalty on the embeddings.
        epochs, batch_size, learning_rate: training settings (Adam).
        validation_split: share of sessions held out for early stopping (0 for none).
        patience: early-stopping patience in epochs.
        seed: seed for the split, the initial weights and the shuffling.

    Returns:
        :class:`ClickModel`.

    Raises:
        ValueError: for an unknown weighting, missing columns, ids outside the catalogue, bad propensities, or
            ``item_features`` of the wrong shape.

    Book: 05_recommendation_generation.ipynb, sec-gen-click-model
    """
    if weighting not in ("naive", "ips"):
        raise ValueError(f"weighting must be 'naive' or 'ips', got {weighting!r}")
    cols = [C.USER, C.ITEM, C.POSITION, C.CLICK] + ([C.SHOW_PROBABILITY] if weighting == "ips" else [])
    _columns(impressions, "impressions", cols)
    clip = _check_clip(clip)
    if not 0 <= validation_split < 1:
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split!r}")
    feats = None
    if item_features is not None:
        feats = _matrix("item_features", item_features).astype(np.float32)
        if n_items is None:
            n_items = len(feats)
    users = impressions[C.USER].to_numpy()
    items = impressions[C.ITEM].to_numpy()
    n_users = int(users.max()) + 1 if n_users is None else check_int("n_users", n_users, 1)
    n_items = int(items.max()) + 1 if n_items is None else check_int("n_items", n_items, 1)
    users = _ids("impressions.user_id", users, n_users, "user")
    items = _ids("impressions.item_id", items, n_items, "item")
    if feats is not None and feats.shape[0] != n_items:
        raise ValueError(f"item_features must have n_items={n_items} rows, got {feats.shape}")
    click = impressions[C.CLICK].to_numpy(np.float64)
    pos = impressions[C.POSITION].to_numpy(np.int64)
    exam = None
    if weighting == "naive":
        y, w = click, np.ones(len(click))
    else:
        exam = estimate_examination(impressions) if examination is None else np.asarray(examination, np.float64)
        if exam.ndim != 1 or pos.max() >= len(exam):
            raise ValueError(f"examination must hold one propensity per slot (>= {pos.max() + 1}), got {exam.shape}")
        y = click * ips_weights(exam, clip)[pos]
        w = ips_weights(impressions[C.SHOW_PROBABILITY].to_numpy(np.float64), clip)
        w = w / w.mean()

    rng = np.random.default_rng(seed)
    if C.SESSION in impressions.columns and validation_split > 0:
        sessions = impressions[C.SESSION].to_numpy()
        uniq = np.unique(sessions)
        val_sessions = rng.choice(uniq, size=int(round(validation_split * len(uniq))), replace=False)
        is_val = np.isin(sessions, val_sessions)
    else:
        is_val = rng.random(len(y)) < validation_split

    keras = import_keras()
    keras.utils.set_random_seed(int(seed))
    layers, reg = keras.layers, keras.regularizers.L2(l2)
    u_in = keras.Input(shape=(), dtype="int32", name="user")
    i_in = keras.Input(shape=(), dtype="int32", name="item")
    init = keras.initializers.RandomNormal(stddev=0.05)
    P = layers.Embedding(n_users, dim, embeddings_initializer=init, embeddings_regularizer=reg, name="user_factors")
    Q = layers.Embedding(n_items, dim, embeddings_initializer=init, embeddings_regularizer=reg, name="item_factors")
    BU = layers.Embedding(n_users, 1, embeddings_initializer="zeros", embeddings_regularizer=reg, name="user_bias")
    BI = layers.Embedding(n_items, 1, embeddings_initializer="zeros", embeddings_regularizer=reg, name="item_bias")
    q = Q(i_in)
    proj = None
    if feats is not None:
        table = layers.Embedding(n_items, feats.shape[1], trainable=False, name="item_text")
        table.build((None,))
        table.set_weights([feats])
        proj = layers.Dense(dim, use_bias=False, kernel_regularizer=reg, name="text_projection")
        q = q + proj(table(i_in))
    dot = keras.ops.sum(P(u_in) * q, axis=-1, keepdims=True)
    out = layers.Dense(1, kernel_initializer="ones", name="output")
    logit = out(dot + BU(u_in) + BI(i_in))
    model = keras.Model([u_in, i_in], keras.ops.squeeze(logit, -1))
    # no XLA: compiling a small model costs more than it saves on a CPU
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=_soft_label_bce(keras), jit_compile=False)
    # Adam's slots now, not inside the first traced step: a tf.function that creates variables is traced twice.
    model.optimizer.build(model.trainable_variables)

    tr = ~is_val
    x_tr = {"user": users[tr].astype(np.int32), "item": items[tr].astype(np.int32)}
    callbacks, val = [], None
    if is_val.any():
        val = ({"user": users[is_val].astype(np.int32), "item": items[is_val].astype(np.int32)},
               y[is_val].astype(np.float32), w[is_val].astype(np.float32))
        callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=int(patience),
                                                       restore_best_weights=True))
    fit = model.fit(x_tr, y[tr].astype(np.float32), sample_weight=w[tr].astype(np.float32), validation_data=val,
                    epochs=int(epochs), batch_size=int(batch_size), shuffle=True, callbacks=callbacks, verbose=0)
    hist = {k: [float(v) for v in vals] for k, vals in fit.history.items()}
    key = "val_loss" if "val_loss" in hist else "loss"
    best = int(np.argmin(hist[key])) + 1

    # scoring in NumPy from the trained weights (no graph tracing): logit = a (p_u . q_i + b_u + b_i) + c
    user_f = np.asarray(P.get_weights()[0], np.float64)
    item_f = np.asarray(Q.get_weights()[0], np.float64)
    if proj is not None:
        item_f = item_f + feats.astype(np.float64) @ np.asarray(proj.get_weights()[0], np.float64)
    user_b = np.asarray(BU.get_weights()[0], np.float64)[:, 0]
    item_b = np.asarray(BI.get_weights()[0], np.float64)[:, 0]
    a, c = (float(np.asarray(x).ravel()[0]) for x in out.get_weights())

    def predict(u: np.ndarray, i: np.ndarray) -> np.ndarray:
        z = a * (np.einsum("nd,nd->n", user_f[u], item_f[i]) + user_b[u] + item_b[i]) + c
        return 1.0 / (1.0 + np.exp(-z))

    return ClickModel(weighting=weighting, examination=exam, clip=clip, history=hist, best_epoch=best,
                      n_users=n_users, n_items=n_items, _predict=predict)


# ---------------------------------------------------------------------------------------------------------------
# 3. Uplift
# ---------------------------------------------------------------------------------------------------------------


def _world_vocab():
    """The shop's own wording (quality tiers, product groups, features), from :func:`.world.text_vocabulary`."""
    from .world import text_vocabulary

    return text_vocabulary()


def _quality_lexicon() -> dict[str, int]:
    """Quality phrase → tier 0 (very low) .. 4 (very high): the shop's tier words plus common synonyms."""
    W = _world_vocab()
    lex: dict[str, int] = {}
    for tier, words in enumerate(W.quality_adjectives):
        for word in words:
            lex[word.lower()] = tier
    for tier, words in enumerate(W.title_lines):
        for word in words:
            if word.lower() not in ("value", "select", "basic", "plus", "essentials"):  # ordinary words too
                lex[word.lower()] = tier
    extra = {
        0: ["flimsy", "poorly made", "poor quality", "low quality", "low-quality", "fall apart", "disappointing",
            "sloppy", "clumsy", "stale", "bland", "fragile"],
        1: ["no frills", "inexpensive", "serviceable", "plain", "unremarkable", "bargain"],
        2: ["decent", "dependable", "reliable", "solid", "middle-of-the-range", "middle-of-the-road"],
        3: ["well made", "well-crafted", "well crafted", "durable", "sturdy", "robust", "long-lasting",
            "long lasting", "high quality", "well written", "carefully edited", "high-grade", "great quality"],
        4: ["luxurious", "superb", "top-notch", "high-end", "outstanding", "award-winning", "masterpiece",
            "finest", "world-class", "best-in-class", "best in class", "built to last", "craftsmanship",
            "top-grade", "small-batch", "unforgettable"],
    }
    for tier, words in extra.items():
        for word in words:
            lex.setdefault(word, tier)
    lex.pop("everyday", None)  # "everyday use" appears in descriptions of every tier
    lex.pop("budget", None)  # "on a tight budget" appears in descriptions of every tier
    return lex


def _find_phrases(text: str, phrases: Mapping[str, Any] | Sequence[str]) -> list[tuple[int, str]]:
    """Non-overlapping occurrences (start, phrase) of the phrases in ``text`` (lower case, word boundaries,
    longest first)."""
    low = text.lower()
    taken = np.zeros(len(low) + 1, dtype=bool)
    found = []
    for ph in sorted(phrases, key=len, reverse=True):
        for m in re.finditer(r"(?<![\w-])" + re.escape(ph) + r"(?![\w-])", low):
            if not taken[m.start():m.end()].any():
                taken[m.start():m.end()] = True
                found.append((m.start(), ph))
    return sorted(found)


def text_quality_tier(text: str) -> float:
    """The quality tier (0 very low .. 4 very high) a text states: the most frequent tier among its quality words
    (ties: their mean); ``nan`` if it has none.

    Book: 05_recommendation_generation.ipynb, sec-gen-faithfulness
    """
    lex = _quality_lexicon()
    tiers = [lex[p] for _, p in _find_phrases(text, lex)]
    if not tiers:
        return float("nan")
    counts = np.bincount(tiers, minlength=5)
    return float(np.mean(np.flatnonzero(counts == counts.max())))


@dataclasses.dataclass
class PairFeatures:
    """Observed features of (user, item) pairs for uplift models: ``features(users, items) -> (n, d)``.

    Attributes:
        names: column names.
        user_table: ``(n_users, d_u)`` user columns.
        item_table: ``(n_items, d_i)`` item columns.
        profile: ``(n_users, n_categories)`` weighted category shares of each user's events.
        item_category: ``(n_items,)`` category index per item.
        declared: ``(n_users,)`` declared-interest category index per user (-1 if unknown).

    Book: 05_recommendation_generation.ipynb, sec-gen-uplift
    """

    names: list[str]
    user_table: np.ndarray
    item_table: np.ndarray
    profile: np.ndarray
    item_category: np.ndarray
    declared: np.ndarray

    @property
    def n_users(self) -> int:
        return len(self.user_table)

    @property
    def n_items(self) -> int:
        return len(self.item_table)

    def __call__(self, users: Any, items: Any) -> np.ndarray:
        u = _ids("users", users, self.n_users, "user").ravel()
        i = _ids("items", items, self.n_items, "item").ravel()
        if len(u) != len(i):
            raise ValueError(f"users and items must have the same length, got {len(u)} and {len(i)}")
        cat = self.item_category[i]
        aff = self.profile[u, cat]
        declared = (self.declared[u] == cat).astype(np.float64)
        return np.column_stack([aff, declared, self.user_table[u], self.item_table[i]])


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
    log sessions, age, log total event weight; per item: log(1 + popularity), log price relative to the category
    median, the quality tier its text states (:func:`text_quality_tier`), the category (one-hot), and optionally the
    first ``n_components`` principal components of its text embedding.

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
    _columns(items, "logs.items", [C.ITEM, C.CATEGORY, C.PRICE, C.POPULARITY, C.TITLE, C.DESCRIPTION])
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
    quality = np.array([text_quality_tier(t) for t in texts])
    quality = np.where(np.isnan(quality), 2.0, quality)
    onehot = np.eye(len(cats))[cat_idx]
    item_cols = [np.log1p(items[C.POPULARITY].to_numpy(np.float64)), np.log(price / med), quality]
    names = ["affinity", "declared_match", "log_sessions", "age", "log_events", "log_popularity",
             "log_relative_price", "text_quality"] + [f"category={c}" for c in cats]
    item_table = np.column_stack(item_cols + [onehot])
    if item_vectors is not None:
        V = _matrix("item_vectors", item_vectors)
        if len(V) < n_items:
            raise ValueError(f"item_vectors must have at least n_items={n_items} rows, got {V.shape}")
        V = V[:n_items] - V[:n_items].mean(axis=0)
        k = min(int(n_components), V.shape[1], n_items)
        comps = np.linalg.svd(V, full_matrices=False)[2][:k]
        item_table = np.column_stack([item_table, V @ comps.T])
        names += [f"text_pc{j}" for j in range(k)]
    return PairFeatures(names=names, user_table=user_table, item_table=item_table, profile=prof,
                        item_category=cat_idx, declared=declared)


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
    _columns(pairs, "pairs", [C.USER, C.ITEM, C.SHOWN, C.SHOW_PROBABILITY, C.SAMPLE_WEIGHT, C.PURCHASE])
    clip = _check_clip(clip)
    n_users, n_items = check_int("n_users", n_users, 1), check_int("n_items", n_items, 1)
    u = _ids("pairs.user_id", pairs[C.USER].to_numpy(), n_users, "user")
    i = _ids("pairs.item_id", pairs[C.ITEM].to_numpy(), n_items, "item")
    t = pairs[C.SHOWN].to_numpy(np.int64)
    y = pairs[C.PURCHASE].to_numpy(np.int64)
    pi = pairs[C.SHOW_PROBABILITY].to_numpy(np.float64)
    sw = pairs[C.SAMPLE_WEIGHT].to_numpy(np.float64)
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
    X = np.asarray(features(u, i), dtype=np.float64)
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
        phi = mu1 - mu0 + t * (y - mu1) * ip1 - (1 - t) * (y - mu0) * ip0
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
                            model=model, regressor=regressor, candidates=candidates, seed=seed)[learner]


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
    up = np.asarray(uplift, dtype=np.float64)
    if up.ndim != 2 or up.size == 0:
        raise ValueError(f"uplift must be a non-empty (n_users, n_items) array, got shape {up.shape}")
    if up.shape[0] != cand.shape[0]:
        raise ValueError(f"uplift has {up.shape[0]} rows, candidates {cand.shape[0]}")
    if cand.max() >= up.shape[1] or cand.min() < -1:
        raise ValueError(f"candidate ids must be in [0, {up.shape[1]}) or -1 for padding")
    k = check_int("k", k, 1)
    if k > cand.shape[1]:
        raise ValueError(f"k={k} is larger than the number of candidates {cand.shape[1]}")
    if not 0 <= weight <= 1:
        raise ValueError(f"weight must be in [0, 1], got {weight!r}")
    rows = np.arange(cand.shape[0])[:, None]
    safe = np.maximum(cand, 0)
    key = _within_rank(_at_candidates("uplift", up, cand))
    if weight < 1:
        if click_scores is None:
            raise ValueError("click_scores is needed when weight < 1")
        cs = np.asarray(click_scores, dtype=np.float64)
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
    return rerank_by_uplift(candidates, scores, k)


def _within_rank(x: np.ndarray) -> np.ndarray:
    """Per row, ranks scaled to [0, 1] (higher value → higher rank)."""
    r = np.argsort(np.argsort(x, axis=1, kind="stable"), axis=1).astype(np.float64)
    return r / max(1, x.shape[1] - 1)


# ---------------------------------------------------------------------------------------------------------------
# 4. The LM ranker and its position experiment
# ---------------------------------------------------------------------------------------------------------------

#: Few-shot prompts for the shop (defined in :mod:`.lm.prompts`, with the other templates).
SHOP_RANK_CANDIDATES = _prompts.SHOP_RANK_CANDIDATES
SHOP_PITCH = _prompts.SHOP_PITCH


@dataclasses.dataclass(frozen=True)
class LMRanking:
    """Candidates ranked by an LM.

    Attributes:
        scores: ``(n_candidates,)`` mean log-likelihood per candidate (in the input order).
        order: candidate indices, best first.
        n_orders: how many list orders were scored and averaged (1, or ``permutations``).

    Book: 05_recommendation_generation.ipynb, sec-gen-lm-ranker
    """

    scores: np.ndarray
    order: np.ndarray
    n_orders: int


def _clean_title(title: Any) -> str:
    if not isinstance(title, str) or not title.strip():
        raise ValueError(f"candidate titles must be non-empty strings, got {title!r}")
    return " ".join(title.replace(";", ",").split())


def lm_rank(
    generator: Any,
    interest_summary: str,
    candidate_titles: Sequence[str],
    permutations: int = 0,
    rng: np.random.Generator | int | None = None,
    template: PromptTemplate = SHOP_RANK_CANDIDATES,
) -> LMRanking:
    """Rank candidates by the log-likelihood the LM gives each title after a prompt that lists them all.

    With ``permutations=0`` the list is shown once, in the given order. With ``permutations=n`` it is shown in ``n``
    random orders (drawn from ``rng``) and the scores are averaged: the position of a title in the list then no
    longer decides its score.

    Args:
        generator: anything with ``score(prompt, continuations, prompt_version=...)`` (``crt.lm.TextGenerator``).
        interest_summary: the user's interests in a few words (e.g. ``crt.interest.summarize_interests``).
        candidate_titles: two or more distinct titles.
        permutations: 0, or the number of random orders to average over.
        rng: needed when ``permutations > 0``.
        template: a prompt with fields ``interests`` and ``items``.

    Returns:
        :class:`LMRanking`.

    Raises:
        ValueError: for an empty summary, fewer than two or duplicate titles, negative ``permutations``, or a
            missing ``rng``.

    Book: 05_recommendation_generation.ipynb, sec-gen-lm-ranker
    """
    if not isinstance(interest_summary, str) or not interest_summary.strip():
        raise ValueError("interest_summary must be a non-empty string")
    if isinstance(candidate_titles, str):
        raise ValueError("candidate_titles must be a sequence of titles, not a single string")
    titles = [_clean_title(t) for t in candidate_titles]
    if len(titles) < 2 or len(set(titles)) != len(titles):
        raise ValueError(f"candidate_titles must hold at least two distinct titles, got {titles!r}")
    permutations = check_int("permutations", permutations, 0)
    if permutations and rng is None:
        raise ValueError("rng is needed to draw random list orders (permutations > 0)")
    orders = [np.arange(len(titles))]
    if permutations:
        rng = as_rng(rng)
        orders = [rng.permutation(len(titles)) for _ in range(permutations)]
    conts = [" " + t for t in titles]
    total = np.zeros(len(titles))
    for order in orders:
        prompt = template.render(interests=interest_summary, items=[titles[j] for j in order])
        total += np.asarray(generator.score(prompt, conts, prompt_version=template.version), dtype=np.float64)
    scores = total / len(orders)
    return LMRanking(scores=scores, order=np.argsort(-scores, kind="stable"), n_orders=len(orders))


def _check_cases(cases: Sequence[Any]) -> list[tuple[str, list[str]]]:
    """``(interest_summary, candidate_titles)`` pairs, checked; titles as lists."""
    if not cases:
        raise ValueError("cases is empty")
    out = []
    for c, case in enumerate(cases):
        if not isinstance(case, (tuple, list)) or len(case) != 2:
            raise ValueError(f"case {c} must be (interest_summary, candidate_titles), got {case!r}")
        out.append((case[0], list(case[1])))
    return out


def lm_position_experiment(
    generator: Any,
    cases: Sequence[tuple[str, Sequence[str]]],
    n_trials: int,
    rng: np.random.Generator | int,
    template: PromptTemplate = SHOP_RANK_CANDIDATES,
) -> pd.DataFrame:
    """A randomised experiment on the LM ranker: shuffle each case's list, record where the chosen item stood.

    For each case (interest summary, candidate titles) and trial, the list order is a uniformly random permutation;
    the LM "chooses" the candidate with the highest score (:func:`lm_rank`, one order). Because the position of
    every candidate is randomised, comparing choice rates between positions estimates the causal effect of the list
    position on being chosen (:func:`position_effect`).

    Args:
        generator: see :func:`lm_rank`.
        cases: ``(interest_summary, candidate_titles)`` pairs.
        n_trials: shuffles per case (>= 1).
        rng: the randomness of the shuffles.
        template: see :func:`lm_rank`.

    Returns:
        One row per (case, trial, candidate): ``case, trial, candidate`` (index in the case's list), ``position``
        (0-based, in the shuffled list), ``n_candidates``, ``chosen`` (0/1; exactly one per trial).

    Raises:
        ValueError: for no cases, ``n_trials < 1`` or a bad case.

    Book: 05_recommendation_generation.ipynb, sec-gen-lm-position
    """
    n_trials = check_int("n_trials", n_trials, 1)
    rng = as_rng(rng)
    rows = []
    for c, (summary, titles) in enumerate(_check_cases(cases)):
        for trial in range(n_trials):
            perm = rng.permutation(len(titles))  # perm[p] = candidate at position p
            ranking = lm_rank(generator, summary, [titles[j] for j in perm], template=template)
            chosen_pos = int(ranking.order[0])
            for p, j in enumerate(perm):
                rows.append((c, trial, int(j), p, len(titles), int(p == chosen_pos)))
    return pd.DataFrame(rows, columns=["case", "trial", "candidate", C.POSITION, "n_candidates", "chosen"])


def lm_order_scores(
    generator: Any,
    cases: Sequence[tuple[str, Sequence[str]]],
    rng: np.random.Generator | int,
    template: PromptTemplate = SHOP_RANK_CANDIDATES,
) -> pd.DataFrame:
    """Score every case's candidates under all ``m`` cyclic shifts of one random list order (a Latin square).

    For a case with ``m`` candidates a uniformly random order is drawn; order ``r`` (``r = 0 .. m-1``) puts the
    candidate ``base[(p + r) % m]`` at position ``p``. Each candidate then stands at every position exactly once,
    and each single order is still a uniformly random permutation for every candidate's position. One table of
    ``m x m`` scores per case serves three purposes at the cost of ``m`` prompts: the position experiment (each
    order is a randomised trial), the ranker averaged over some orders, and the ranker averaged over all of them
    (position-balanced); see :func:`choices_from_order_scores`.

    Args:
        generator: anything with ``score(prompt, continuations, prompt_version=...)``.
        cases: ``(interest_summary, candidate_titles)`` pairs (two or more distinct titles each).
        rng: the randomness of the base orders.
        template: a prompt with fields ``interests`` and ``items``.

    Returns:
        One row per (case, order, candidate): ``case, order, candidate`` (index in the case's list), ``position``
        (0-based, in that order), ``n_candidates``, ``score`` (the candidate's log-likelihood in that order).

    Raises:
        ValueError: for no cases or a bad case.

    Book: 05_recommendation_generation.ipynb, sec-gen-lm-position
    """
    rng = as_rng(rng)
    rows = []
    for c, (summary, titles) in enumerate(_check_cases(cases)):
        base = rng.permutation(len(titles))
        for r in range(len(titles)):
            order = np.roll(base, -r)  # order[p] = candidate at position p
            listed = [titles[j] for j in order]
            scores = lm_rank(generator, summary, listed, template=template).scores
            for p, j in enumerate(order):
                rows.append((c, r, int(j), p, len(titles), float(scores[p])))
    return pd.DataFrame(rows, columns=["case", "order", "candidate", C.POSITION, "n_candidates", "score"])


def choices_from_order_scores(
    scores: pd.DataFrame,
    n_orders: int = 1,
    rng: np.random.Generator | int | None = None,
) -> pd.DataFrame:
    """The LM ranker's choice in each presented order, with its scores averaged over ``n_orders`` list orders.

    For each case and each presented order ``r`` (a trial), the ranker averages each candidate's score over ``r``
    itself and ``n_orders - 1`` other orders of the case drawn at random without replacement from ``rng``, and
    chooses the best (ties: the lower candidate index). ``n_orders=1``: the plain ranker; ``n_orders=m``: every
    order, so each candidate is scored once at every position and the choice no longer depends on the presented
    order at all (:func:`position_effect` is then 0 by construction).

    Args:
        scores: the output of :func:`lm_order_scores`.
        n_orders: orders averaged per decision, ``1 <= n_orders <= m`` of every case.
        rng: needed when ``1 < n_orders < m``.

    Returns:
        The trials table of :func:`lm_position_experiment` (``case, trial, candidate, position, n_candidates,
        chosen``), ``trial`` being the presented order.

    Raises:
        ValueError: for missing columns, a case that is not a full square, a bad ``n_orders`` or a missing ``rng``.

    Book: 05_recommendation_generation.ipynb, sec-gen-lm-position
    """
    _columns(scores, "scores", ["case", "order", "candidate", C.POSITION, "score"])
    n_orders = check_int("n_orders", n_orders, 1)
    gen = None if rng is None else as_rng(rng)
    out = []
    for c, df in scores.groupby("case", sort=True):
        m = df["candidate"].nunique()
        if len(df) != m * m or df["order"].nunique() != m:
            raise ValueError(f"case {c} is not a full square of {m} orders x {m} candidates")
        if n_orders > m:
            raise ValueError(f"n_orders={n_orders} exceeds the {m} orders of case {c}")
        S = df.pivot(index="order", columns="candidate", values="score").to_numpy()
        P = df.pivot(index="order", columns="candidate", values=C.POSITION).to_numpy()
        for r in range(m):
            others = [q for q in range(m) if q != r]
            if 1 < n_orders < m:
                if gen is None:
                    raise ValueError("rng is needed to draw the other orders (1 < n_orders < m)")
                others = list(gen.choice(others, size=n_orders - 1, replace=False))
            used = [r] + others[: n_orders - 1]
            chosen = int(np.argmax(S[used].mean(axis=0)))
            for j in range(m):
                out.append((c, r, j, int(P[r, j]), m, int(j == chosen)))
    return pd.DataFrame(out, columns=["case", "trial", "candidate", C.POSITION, "n_candidates", "chosen"])


def _position_sums(trials: pd.DataFrame, position: int | Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Per case: (chosen at the positions, rows at them, chosen elsewhere, rows elsewhere) ``(4, n_cases)``,
    and the sorted case ids."""
    _columns(trials, "trials", ["case", C.POSITION, "chosen"])
    positions = [position] if np.isscalar(position) else list(position)
    at = np.isin(trials[C.POSITION].to_numpy(), positions).astype(np.float64)
    if at.sum() == 0 or at.sum() == len(at):
        raise ValueError(f"position {position} must be occupied in some rows and not in others")
    chosen = trials["chosen"].to_numpy(np.float64)
    ids, case = np.unique(trials["case"].to_numpy(), return_inverse=True)
    g = len(ids)
    sums = np.stack([np.bincount(case, weights=v, minlength=g)
                     for v in (at * chosen, at, (1 - at) * chosen, 1 - at)])
    return sums, ids


def _effect(s: np.ndarray) -> np.ndarray:
    return s[0] / s[1] - s[2] / s[3]


def _check_bootstrap(n_bootstrap: Any, confidence: Any) -> int:
    n_bootstrap = check_int("n_bootstrap", n_bootstrap, 1)
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    return n_bootstrap


def position_effect(
    trials: pd.DataFrame,
    position: int | Sequence[int] = 0,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    rng: np.random.Generator | int = 0,
) -> EffectEstimate:
    """Effect of standing at ``position`` on being chosen: P(chosen | at position) − P(chosen | elsewhere).

    Positions are randomised (:func:`lm_position_experiment`, :func:`lm_order_scores`), so the difference is causal.
    With no position effect it is 0 (each candidate is chosen with the same probability wherever it stands).
    ``position`` may be a set of positions (e.g. the last two). The CI is a percentile bootstrap over *cases*
    (trials of one case share its candidates, so they are not independent). Use lists of one length: pooling lists
    of different lengths ``m`` makes the difference slightly non-zero even without a position effect (the rows at a
    position over-represent the short lists, whose candidates are chosen more often).

    Args:
        trials: the output of :func:`lm_position_experiment` or :func:`choices_from_order_scores`
            (``case, position, chosen``).
        position: a list position (0 = first), or several.
        n_bootstrap: bootstrap resamples (>= 1).
        confidence: in (0, 1).
        rng: the bootstrap's randomness.

    Returns:
        ``EffectEstimate`` (method ``"randomised list position, case bootstrap"``).

    Raises:
        ValueError: for missing columns, a position never (or always) occupied, or bad settings.

    Book: 05_recommendation_generation.ipynb, sec-gen-lm-position
    """
    n_bootstrap = _check_bootstrap(n_bootstrap, confidence)
    rng = as_rng(rng)
    sums, ids = _position_sums(trials, position)
    g = len(ids)
    value = float(_effect(sums.sum(axis=1)))
    draws = rng.integers(0, g, size=(n_bootstrap, g))
    counts = np.stack([np.bincount(d, minlength=g) for d in draws])  # (B, g)
    boot = _effect(sums @ counts.T)
    with np.errstate(invalid="ignore"):
        lo, hi = np.nanquantile(boot, [(1 - confidence) / 2, (1 + confidence) / 2])
    return EffectEstimate(value=value, ci_low=float(lo), ci_high=float(hi),
                          method="randomised list position, case bootstrap")


def position_effect_reduction(
    before: pd.DataFrame,
    after: pd.DataFrame,
    position: int | Sequence[int] = 0,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    rng: np.random.Generator | int = 0,
) -> EffectEstimate:
    """The share of a position effect that a remedy removes: ``1 - effect(after) / effect(before)``.

    Both trials tables must cover the same cases (e.g. :func:`choices_from_order_scores` with ``n_orders=1`` and
    with more orders, from one score table); the CI is a *paired* percentile bootstrap over cases (the same
    resampled cases for both), so it reflects that the two rankers saw the same lists.

    Args:
        before, after: trials tables (``case, position, chosen``) over the same case ids.
        position: as in :func:`position_effect`.
        n_bootstrap, confidence, rng: as in :func:`position_effect`.

    Returns:
        ``EffectEstimate`` (1 = the effect is gone, 0 = unchanged, negative = larger); all ``nan`` if the effect
        before is exactly 0 (nothing to reduce).

    Raises:
        ValueError: for different case sets, or what :func:`position_effect` rejects.

    Book: 05_recommendation_generation.ipynb, sec-gen-lm-position
    """
    n_bootstrap = _check_bootstrap(n_bootstrap, confidence)
    rng = as_rng(rng)
    sb, ids_b = _position_sums(before, position)
    sa, ids_a = _position_sums(after, position)
    if not np.array_equal(ids_b, ids_a):
        raise ValueError("before and after must cover the same cases")
    eb = float(_effect(sb.sum(axis=1)))
    method = "reduction of a position effect, paired case bootstrap"
    if eb == 0:  # nothing to reduce
        return EffectEstimate(value=float("nan"), ci_low=float("nan"), ci_high=float("nan"), method=method)
    value = 1.0 - float(_effect(sa.sum(axis=1))) / eb
    g = len(ids_b)
    draws = rng.integers(0, g, size=(n_bootstrap, g))
    counts = np.stack([np.bincount(d, minlength=g) for d in draws])
    with np.errstate(invalid="ignore", divide="ignore"):
        boot = 1.0 - _effect(sa @ counts.T) / _effect(sb @ counts.T)
        boot = boot[np.isfinite(boot)]
    lo, hi = np.quantile(boot, [(1 - confidence) / 2, (1 + confidence) / 2]) if boot.size else (np.nan, np.nan)
    return EffectEstimate(value=value, ci_low=float(lo), ci_high=float(hi), method=method)


# ---------------------------------------------------------------------------------------------------------------
# 5. Grounded recommendation text and its faithfulness check
# ---------------------------------------------------------------------------------------------------------------

_MATERIALS = (
    "steel", "stainless", "cast-iron", "iron", "cork", "rubber", "mesh", "wood", "wooden", "oak", "bamboo", "walnut",
    "leather", "suede", "cotton", "wool", "merino", "silk", "linen", "nylon", "polyester", "canvas", "ceramic",
    "porcelain", "glass", "plastic", "silicone", "foam", "titanium", "aluminium", "aluminum", "carbon", "copper",
    "brass", "marble", "granite", "gore-tex", "fleece", "enamel", "enamelled", "recycled", "organic", "graphite",
)
#: Feature words that a pitch often invents; with the shop's own feature words they make up the feature lexicon.
_FEATURE_EXTRA = (
    "waterproof", "water-resistant", "breathable", "lightweight", "featherweight", "wireless", "bluetooth",
    "rechargeable", "usb", "gps", "non-stick", "non-slip", "dishwasher-safe", "machine-washable", "handmade",
    "hand-crafted", "handcrafted", "warranty", "lifetime", "eco-friendly", "vegan", "gluten-free", "fair-trade",
    "adjustable", "foldable", "collapsible", "insulated", "reflective", "padded", "cushioned", "ergonomic",
    "heated", "solar", "smart", "app", "touchscreen", "autographed", "illustrated", "hardback", "paperback",
    "decaf", "caffeine-free", "sugar-free", "limited", "exclusive", "bestseller", "bestselling", "bestselling",
    "patented", "certified", "imported", "italian", "japanese", "french", "swiss", "german",
)
_STOP = frozenset(
    "a an the and or of for with to in on at by from as that this it its is are be plus along well which who "
    "over hundred every each".split()
)
_NUMBER_WORDS = {
    "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "hundred": 100,
    "thousand": 1000, "dozen": 12, "dozens": 12,
}
_NUM_RE = re.compile(r"[$£€]?\s?\d+(?:[.,]\d+)?")


def _stem(word: str) -> str:
    w = word.lower().strip("-'")
    for suffix in ("ing", "ed", "es", "s"):
        if len(w) > len(suffix) + 3 and w.endswith(suffix):
            return w[: -len(suffix)]
    return w


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+(?:-[a-z0-9]+)*", text.lower())


def _lexicons() -> tuple[dict[str, int], frozenset[str], dict[str, int]]:
    """(quality phrase → tier, feature/material words, product phrase → product-group id)."""
    W = _world_vocab()
    feature_words = set(_MATERIALS) | set(_FEATURE_EXTRA)
    groups: dict[str, int] = {}
    g = 0
    for cat in W.features:
        for phrase in W.features[cat]:
            feature_words.update(t for t in _tokens(phrase) if t not in _STOP and not t.isdigit())
        for syns in W.product_groups[cat]:
            for s in syns:
                groups.setdefault(s.lower(), g)
            g += 1
    generic = {"a", "build", "body", "base", "finish", "surface", "box", "set", "board", "guard", "content",
               "mode", "setting", "future", "ship", "mystery", "puzzle", "game", "story", "spout", "back", "line",
               "rate", "rates", "week", "extra", "fine", "clear", "rules", "notes", "carry", "prevent", "powerful",
               "precise", "bright", "gentle", "firm", "lively", "final", "red", "flat", "flats", "cover",
               "generation", "counter", "handle", "support", "cards", "pieces", "brilliant", "beautifully",
               "galore", "vivid", "pressure", "culture", "twist", "shocking", "roasted"}
    feature_words -= generic
    quality = _quality_lexicon()
    feature_words -= {w for q in quality for w in _tokens(q)}
    return quality, frozenset(_stem(w) for w in feature_words), groups


def _numbers(text: str) -> list[float]:
    vals = []
    for m in _NUM_RE.finditer(text):
        s = re.sub(r"[$£€\s]", "", m.group()).replace(",", ".")
        try:
            vals.append(float(s))
        except ValueError:
            continue
    return vals


@dataclasses.dataclass(frozen=True)
class FaithfulnessVerdict:
    """The result of :func:`check_faithfulness`.

    Attributes:
        supported: True if every claim is supported by the item's text.
        claims: every claim found in the pitch (``"kind: phrase"``).
        unsupported: the claims without support.

    Book: 05_recommendation_generation.ipynb, sec-gen-faithfulness
    """

    supported: bool
    claims: tuple[str, ...]
    unsupported: tuple[str, ...]


def item_fact_text(item: Mapping[str, Any] | pd.Series) -> str:
    """The item's facts as one text: ``title. description Category: c. Price: $p.``

    Raises:
        ValueError: if ``title`` or ``description`` is missing.

    Book: 05_recommendation_generation.ipynb, sec-gen-faithfulness
    """
    item = dict(item)
    for col in (C.TITLE, C.DESCRIPTION):
        if col not in item or not str(item[col]).strip():
            raise ValueError(f"item needs a non-empty {col!r}; it has {sorted(item)}")
    text = f"{item[C.TITLE]}. {item[C.DESCRIPTION]}"
    if C.CATEGORY in item:
        text += f" Category: {item[C.CATEGORY]}."
    if C.PRICE in item:
        text += f" Price: ${float(item[C.PRICE]):.2f}."
    return text


def check_faithfulness(
    pitch: str,
    item_text: str | Mapping[str, Any] | pd.Series,
    interests: str | None = None,
) -> FaithfulnessVerdict:
    """Flag the claims of a recommendation pitch that the item's own text does not support.

    Claims are extracted with lexicons (deterministic, no model) and each needs support in the item text:

    * **numbers and prices** (``$34.99``, ``30``, "thirty"): the same number must occur in the item text (digits or
      words; prices to the cent);
    * **quality** words in five tiers (the shop's own wording plus synonyms: shoddy … no-frills … decent … well-made …
      premium; :func:`text_quality_tier`): praise (tiers 3–4) needs an item whose text states tier >= 3, criticism
      (0–1) tier <= 1, a middling word (2) tier 1–3 — synonyms within a tier are tolerated;
    * **product kinds** (the catalogue's product phrases): the item text must name the same product group (any of its
      synonyms: *trainers* supports *running shoes*);
    * **features and materials** (the catalogue's feature words plus common invented ones: waterproof, bamboo,
      warranty, handmade, …): the word's stem must occur in the item text.

    Words that occur in ``interests`` are about the user, not the item, and are not claims.

    Args:
        pitch: the recommendation text.
        item_text: the item's text (title, description, category, price), or an item row (see
            :func:`item_fact_text`).
        interests: the user's interest summary given to the writer, if any.

    Returns:
        :class:`FaithfulnessVerdict`.

    Raises:
        ValueError: for an empty pitch or item text.

    Book: 05_recommendation_generation.ipynb, sec-gen-faithfulness
    """
    if not isinstance(pitch, str) or not pitch.strip():
        raise ValueError("pitch must be a non-empty string")
    text = item_fact_text(item_text) if not isinstance(item_text, str) else item_text
    if not text.strip():
        raise ValueError("item_text must be a non-empty string")
    quality, feature_stems, groups = _lexicons()
    item_low = text.lower()
    item_stems = {_stem(t) for t in _tokens(text)}
    interest_stems = {_stem(t) for t in _tokens(interests)} if interests else set()
    item_numbers = set(np.round(_numbers(text), 2)) | {
        float(v) for w, v in _NUMBER_WORDS.items() if re.search(rf"\b{w}\b", item_low)}
    claims, unsupported = [], []

    def claim(kind: str, phrase: str, ok: bool) -> None:
        c = f"{kind}: {phrase}"
        claims.append(c)
        if not ok:
            unsupported.append(c)

    # numbers
    for v in _numbers(pitch):
        claim("number", f"{v:g}", round(v, 2) in item_numbers)
    for w, v in _NUMBER_WORDS.items():
        if re.search(rf"\b{w}\b", pitch.lower()) and _stem(w) not in interest_stems:
            claim("number", w, float(v) in item_numbers)
    # quality
    item_tier = text_quality_tier(text)
    masked = pitch
    for _, phrase in _find_phrases(pitch, quality):
        if any(_stem(t) in interest_stems for t in _tokens(phrase)):
            continue
        tier = quality[phrase]
        if np.isnan(item_tier):
            ok = False
        elif tier >= 3:
            ok = item_tier >= 3
        elif tier <= 1:
            ok = item_tier <= 1
        else:
            ok = 1 <= item_tier <= 3
        claim("quality", phrase, ok)
        masked = re.sub(r"(?<![\w-])" + re.escape(phrase) + r"(?![\w-])", " ", masked, flags=re.I)
    # product kinds
    item_groups = {groups[p] for _, p in _find_phrases(text, groups)}
    for _, phrase in _find_phrases(masked, groups):
        if all(_stem(t) in interest_stems for t in _tokens(phrase)):
            continue
        claim("product", phrase, groups[phrase] in item_groups or phrase in item_low)
        masked = re.sub(r"(?<![\w-])" + re.escape(phrase) + r"(?![\w-])", " ", masked, flags=re.I)
    # features and materials
    seen = set()
    for tok in _tokens(masked):
        st = _stem(tok)
        parts = [st] + [_stem(p) for p in tok.split("-")] if "-" in tok else [st]
        if not any(p in feature_stems for p in parts) or st in seen or st in interest_stems:
            continue
        seen.add(st)
        ok = st in item_stems or tok in item_low or all(p in item_stems for p in parts[1:] or [st])
        claim("feature", tok, ok)
    return FaithfulnessVerdict(supported=not unsupported, claims=tuple(claims), unsupported=tuple(unsupported))


def template_pitch(item: Mapping[str, Any] | pd.Series, interests: str | None = None) -> str:
    """A pitch built only from the item's facts (its title, first description sentence and price).

    Args:
        item: an item row (``title, description`` and optionally ``price``).
        interests: the user's interests, echoed in an opening clause if given.

    Raises:
        ValueError: if ``title`` or ``description`` is missing.

    Book: 05_recommendation_generation.ipynb, sec-gen-faithfulness
    """
    item = dict(item)
    item_fact_text(item)  # validates
    first = re.split(r"(?<=[.!?])\s+", str(item[C.DESCRIPTION]).strip())[0]
    lead = f"For your interest in {interests.strip()}: " if interests and interests.strip() else ""
    price = f" Price: ${float(item[C.PRICE]):.2f}." if C.PRICE in item else ""
    return f"{lead}{item[C.TITLE]}. {first}{price}"


def write_pitch(
    generator: Any,
    interests: str,
    item: Mapping[str, Any] | pd.Series,
    max_new_tokens: int = 48,
    template: PromptTemplate = SHOP_PITCH,
) -> str:
    """One sentence recommending ``item`` to a user with these interests, written greedily by the generator.

    The prompt (:data:`SHOP_PITCH`, few-shot) gives the interests, the title and the facts: category, price and the
    first two sentences of the description.

    Args:
        generator: anything with ``generate(prompt, max_new_tokens, stop, prompt_version)``.
        interests: the user's interests in a few words.
        item: an item row (``title, description``, optionally ``category, price``).
        max_new_tokens: length limit.
        template: a prompt with fields ``interests, item, facts``.

    Returns:
        The sentence, stripped (may be empty if the model stops at once).

    Raises:
        ValueError: for empty interests or an item without title/description.

    Book: 05_recommendation_generation.ipynb, sec-gen-pitch
    """
    if not isinstance(interests, str) or not interests.strip():
        raise ValueError("interests must be a non-empty string")
    item = dict(item)
    item_fact_text(item)
    sentences = re.split(r"(?<=[.!?])\s+", str(item[C.DESCRIPTION]).strip())
    facts = [str(item[C.CATEGORY])] if C.CATEGORY in item else []
    if C.PRICE in item:
        facts.append(f"${float(item[C.PRICE]):.2f}")
    facts.append(" ".join(sentences[:2]).replace(";", ","))
    prompt = template.render(interests=interests, item=str(item[C.TITLE]), facts=facts)
    text = generator.generate(prompt, max_new_tokens=max_new_tokens, stop=list(template.stop),
                              prompt_version=template.version)
    return text.strip()


def recommend_pitch(
    generator: Any,
    interests: str,
    item: Mapping[str, Any] | pd.Series,
    max_new_tokens: int = 48,
) -> tuple[str, FaithfulnessVerdict, bool]:
    """Write a pitch, check it against the item's text, and fall back to :func:`template_pitch` if it fails.

    Returns:
        ``(text, verdict of the LM pitch, used_fallback)``.

    Book: 05_recommendation_generation.ipynb, sec-gen-faithfulness
    """
    pitch = write_pitch(generator, interests, item, max_new_tokens=max_new_tokens)
    if not pitch:
        return template_pitch(item, interests), FaithfulnessVerdict(False, (), ("empty pitch",)), True
    verdict = check_faithfulness(pitch, item, interests=interests)
    if verdict.supported:
        return pitch, verdict, False
    return template_pitch(item, interests), verdict, True
