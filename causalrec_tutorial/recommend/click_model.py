r"""A click model learnt from logged impressions, naive or with inverse-propensity weights (position, exposure).
Book: 05_recommendation_generation.ipynb, sec-gen-click-model, sec-gen-ips; appendix_c_click_ablation.ipynb, sec-ablate

**A click model** (:func:`fit_click_model`, Keras): logit :math:`b + b_u + b_i + \langle p_u, q_i + W x_i\rangle`
(biased matrix factorisation; :math:`x_i` an optional item text embedding), trained on logged impressions.

* ``weighting="naive"``: binary cross-entropy on the clicks of the shown items. It learns
  :math:`P(\text{click} \mid \text{shown}) = \bar e\,\rho_{ui}` on the pairs the old recommender liked to show,
  and extrapolates from them to the rest.
* ``weighting="ips"``: the relevance-estimation loss of Saito et al. (2020, "Rel-MF"), with two propensities
  (``"position"`` and ``"exposure"`` use one each, for ablations).
  *Position*: a click in slot :math:`s` is divided by the examination propensity :math:`\hat e_s` (label
  :math:`y = c / \hat e_s`, so :math:`E[y] = \rho_{ui}`); :math:`\hat e_s` is estimated from the logs by
  :func:`estimate_examination` — the slot order is uniformly random, so the click rate of slot :math:`s` over
  that of slot 0 estimates :math:`e_s / e_0` (not under ranked logging, where the top slots hold better items and
  the ratio overstates the decay: pass ``examination`` then) — or given. *Exposure*: each impression is weighted by
  :math:`1 / \pi_{ui}` (``show_probability``), so the shown pairs stand for all pairs. Both inverse propensities
  are **clipped at** ``clip`` (default :data:`DEFAULT_CLIP` = 20): :math:`\min(1/\hat e_s, M)` and
  :math:`\min(1/\pi_{ui}, M)`; the exposure weights are then scaled to mean 1. The loss per row is
  :math:`w\,[\log(1 + e^{z}) - y z]` (cross-entropy with a soft label, which may exceed 1: then the loss is unbounded
below as :math:`z \to \infty`, and a few large labels can drive a score up without limit). ``loss="squared"``
uses :math:`w\,(y - \sigma(z))^2` instead: also minimised at :math:`\sigma(z) = E[y] = \rho_{ui}`, and bounded
below by 0.

Early stopping on a validation split *by session* (seeded), ``restore_best_weights``; ``keras.utils.
set_random_seed(seed)``; with TensorFlow's op determinism on (``crt.setup_notebook``) two runs are identical.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from .. import columns as C
from .._checks import (
    check_clip,
    check_columns,
    check_finite,
    check_int,
    check_number,
    check_range,
    float_array,
    id_array,
    id_pairs,
    matrix,
)
from ..config import import_keras

__all__ = ["ClickModel", "DEFAULT_CLIP", "estimate_examination", "fit_click_model", "ips_weights"]


#: Default maximum of an inverse propensity (examination, exposure) before it is used as a weight.
DEFAULT_CLIP = 20.0


def estimate_examination(impressions: pd.DataFrame, k: int | None = None) -> np.ndarray:
    """Examination propensity per slot, relative to slot 0, from logs whose slot order is uniformly random.

    With a random slot order every slot sees the same mix of items, so ``CTR_s / CTR_0`` estimates ``e_s / e_0``
    (Joachims et al. 2017's randomisation experiment, here free in the logs). With ranked logs
    (``ShopParams(logging_order="ranked")``) the ratio mixes position with relevance and is biased.

    Args:
        impressions: columns ``position`` and ``click``.
        k: number of slots (default ``max position + 1``).

    Returns:
        float64 ``(k,)`` with ``[0] == 1``, each positive.

    Raises:
        ValueError: for missing columns, or a slot with no impressions or no clicks.

    Book: 05_recommendation_generation.ipynb, sec-gen-ips
    """
    check_columns(impressions, "impressions", [C.POSITION, C.CLICK])
    pos = id_array(f"impressions.{C.POSITION}", impressions[C.POSITION], None, "slot")
    k = int(pos.max()) + 1 if k is None else check_int("k", k, 1)
    if pos.max() >= k:
        raise ValueError(f"k={k} is smaller than the logged slots (positions up to {int(pos.max())}); "
                         f"pass k >= {int(pos.max()) + 1} or leave it out")
    click = float_array(f"impressions.{C.CLICK}", impressions[C.CLICK], "clicks, 0 or 1")
    check_finite(f"impressions.{C.CLICK}", click, "clicks, 0 or 1")
    check_range(f"impressions.{C.CLICK}", click, 0.0, 1.0, False, "clicks, 0 or 1")
    shows = np.bincount(pos, minlength=k)[:k]
    clicks = np.bincount(pos, weights=click, minlength=k)[:k]
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
    clip = check_clip(clip, minimum=1)
    p = float_array("propensity", propensity, "positive propensities")
    check_finite("propensity", p, "positive propensities")
    check_range("propensity", p, 0.0, np.inf, True, "positive propensities (a relative examination may exceed 1)")
    return np.minimum(1.0 / p, clip)


@dataclasses.dataclass
class ClickModel:
    """A fitted click model: predicted relevance per (user, item).

    Attributes:
        weighting: ``"naive"``, ``"position"``, ``"exposure"`` or ``"ips"`` (both propensities).
        examination: the examination propensities used (``None`` when no position weights are used).
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
    loss: str = "bce"

    def predict(self, users: Any, items: Any) -> np.ndarray:
        """Predicted click probability (naive: when shown in a random slot; ips: when examined) per pair.

        Raises:
            ValueError: for ids outside the model's catalogue or mismatched lengths.
        """
        u, i = id_pairs(users, items, self.n_users, self.n_items)
        return self._predict(u, i)

    def scores(self, users: Any = None) -> np.ndarray:
        """Scores ``(len(users), n_items)`` (default all users), higher = more likely clicked."""
        users = np.arange(self.n_users) if users is None else id_array("users", users, self.n_users, "user").ravel()
        uu = np.repeat(users, self.n_items)
        ii = np.tile(np.arange(self.n_items), len(users))
        return self._predict(uu, ii).reshape(len(users), self.n_items)


def _squared_error(keras):
    ops = keras.ops

    def loss(y_true, logits):
        y = ops.cast(y_true, logits.dtype)
        return ops.mean(ops.square(y - ops.sigmoid(logits)), axis=-1)

    return loss


_WEIGHTINGS = ("naive", "position", "exposure", "ips")


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
    loss: str = "bce",
) -> ClickModel:
    """Train a biased matrix-factorisation click model (Keras) on logged impressions, naive or IPS-weighted.

    See the module docstring for the model and the weights.

    Args:
        impressions: columns ``user_id, item_id, position, click`` (and ``show_probability`` for ``"ips"`` and
            ``"exposure"``).
        n_users: users in the model (default ``max user id + 1``).
        n_items: items in the model (default ``max item id + 1``, or ``len(item_features)``).
        weighting: ``"naive"``; ``"ips"`` (position and exposure propensities); ``"position"`` or ``"exposure"``
            (one of the two, for ablations).
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
        loss: ``"bce"`` (soft-label cross-entropy, Rel-MF) or ``"squared"`` (bounded below; see the module).

    Returns:
        :class:`ClickModel`.

    Raises:
        ValueError: for an unknown weighting, missing columns, ids outside the catalogue, bad propensities, or
            ``item_features`` of the wrong shape.

    Book: 05_recommendation_generation.ipynb, sec-gen-click-model
    """
    if weighting not in _WEIGHTINGS:
        raise ValueError(f"weighting must be one of {_WEIGHTINGS}, got {weighting!r}")
    if loss not in ("bce", "squared"):
        raise ValueError(f"loss must be 'bce' or 'squared', got {loss!r}")
    uses_position, uses_exposure = weighting in ("position", "ips"), weighting in ("exposure", "ips")
    cols = [C.USER, C.ITEM, C.POSITION, C.CLICK] + ([C.SHOW_PROBABILITY] if uses_exposure else [])
    check_columns(impressions, "impressions", cols)
    clip = check_clip(clip, minimum=1)
    validation_split = check_number("validation_split", validation_split, 0.0, 1.0, high_open=True,
                                    what="the share of sessions held out")
    dim, epochs, batch_size = check_int("dim", dim), check_int("epochs", epochs), check_int("batch_size", batch_size)
    patience = check_int("patience", patience, 0)
    seed = check_int("seed", seed, 0)
    learning_rate = check_number("learning_rate", learning_rate, 0.0, None, low_open=True, what="Adam's step size")
    l2 = check_number("l2", l2, 0.0, None, what="the L2 penalty")
    feats = None
    if item_features is not None:
        feats = matrix("item_features", item_features).astype(np.float32)
        if n_items is None:
            n_items = len(feats)
    users = impressions[C.USER].to_numpy()
    items = impressions[C.ITEM].to_numpy()
    n_users = int(users.max()) + 1 if n_users is None else check_int("n_users", n_users, 1)
    n_items = int(items.max()) + 1 if n_items is None else check_int("n_items", n_items, 1)
    users = id_array("impressions.user_id", users, n_users, "user")
    items = id_array("impressions.item_id", items, n_items, "item")
    if feats is not None and feats.shape[0] != n_items:
        raise ValueError(f"item_features must have n_items={n_items} rows, got {feats.shape}")
    click = float_array(f"impressions.{C.CLICK}", impressions[C.CLICK], "clicks, 0 or 1")
    check_finite(f"impressions.{C.CLICK}", click, "clicks, 0 or 1")
    check_range(f"impressions.{C.CLICK}", click, 0.0, 1.0, False, "clicks, 0 or 1")
    pos = id_array(f"impressions.{C.POSITION}", impressions[C.POSITION], None, "slot")
    exam = None
    y, w = click, np.ones(len(click))
    if uses_position:
        if examination is None:
            exam = estimate_examination(impressions)
        else:
            exam = float_array("examination", examination, "one examination propensity per slot")
            if exam.ndim != 1 or pos.max() >= len(exam):
                raise ValueError(f"examination must hold one propensity per slot (>= {pos.max() + 1}), "
                                 f"got shape {exam.shape}")
            check_finite("examination", exam, "one examination propensity per slot")
            check_range("examination", exam, 0.0, np.inf, True, "one examination propensity per slot, > 0")
        y = click * ips_weights(exam, clip)[pos]
    if uses_exposure:
        show = float_array(f"impressions.{C.SHOW_PROBABILITY}", impressions[C.SHOW_PROBABILITY],
                           "the logged probability that the item was shown")
        check_finite(f"impressions.{C.SHOW_PROBABILITY}", show, "the logged show probability")
        w = ips_weights(show, clip)
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
    objective = _soft_label_bce(keras) if loss == "bce" else _squared_error(keras)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=objective, jit_compile=False)
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
                      n_users=n_users, n_items=n_items, _predict=predict, loss=loss)


