r"""A confounder stated only in item text: embeddings reduced to covariates, an adjusted estimate, a simulation.
Book: 04_causal_graphs.ipynb, sec-causal-text

"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from scipy import special

from .. import columns as C
from .effects import EffectEstimate, _design, att_weighted
from .._checks import check_int, float_array

__all__ = ["estimate_text_adjusted", "reduce_embeddings", "simulate_text_confounding"]


def reduce_embeddings(embeddings, n_components: int = 8, target=None, rng: np.random.Generator | None = None):
    """Reduce item text embeddings to a few covariates.

    Without ``target``: PCA (unsupervised; the directions of largest variance, which in a shop are mostly the
    category). With an item-level ``target`` (e.g. the item's logit exposure rate in the logs, an *observed*
    quantity): partial least squares, the directions of the embedding that covary most with the target.

    Args:
        embeddings: float array ``(n_items, d)``.
        n_components: number of components, ``1 <= n_components <= min(n_items, d)``.
        target: optional float array ``(n_items,)``.
        rng: optional generator (PCA's randomised solver is not used; accepted for a uniform interface).

    Returns:
        float array ``(n_items, n_components)``, each column standardised.

    Raises:
        ValueError: on a non-2-d or non-finite embedding, a bad ``n_components`` or a target of the wrong length.

    Book: 04_causal_graphs.ipynb, sec-causal-text
    """
    from sklearn.cross_decomposition import PLSRegression
    from sklearn.decomposition import PCA

    emb = float_array("embeddings", embeddings, "item text embeddings (n_items, d)")
    if emb.ndim != 2 or not np.isfinite(emb).all():
        raise ValueError(f"embeddings must be a finite 2-d array (n_items, d), got shape {emb.shape}")
    check_int("n_components", n_components, 1, min(emb.shape))
    if target is None:
        z = PCA(int(n_components), svd_solver="full").fit_transform(emb)
    else:
        target = np.asarray(target, dtype=float)
        if target.shape != (emb.shape[0],):
            raise ValueError(f"target must have shape ({emb.shape[0]},), got {target.shape}")
        z = PLSRegression(int(n_components), scale=False).fit(emb, target).transform(emb)
    return (z - z.mean(axis=0)) / np.maximum(z.std(axis=0), 1e-12)


def estimate_text_adjusted(data: pd.DataFrame, treatment: str, outcome: str, covariates: Sequence[str] = (), *,
                           item_embeddings=None, item_column: str = C.ITEM, n_components: int = 8,
                           reduction: str = "pls", extra=None, cluster: str | None = None,
                           confidence: float = 0.95, label: str | None = None) -> EffectEstimate:
    """ATT by inverse propensity weighting with a logistic propensity model on covariates plus reduced text.

    The item embeddings are reduced to ``n_components`` covariates by :func:`reduce_embeddings`: ``"pca"``
    (unsupervised) or ``"pls"`` (supervised by each item's logit treatment rate in ``data``, which is observed),
    joined to the rows by ``item_column``, and added to ``covariates`` in a logistic regression of the treatment.
    Controls get weights ``e / (1 - e)``; the interval is from :func:`att_weighted`.

    Args:
        data: one row per unit.
        treatment: 0/1 treatment column.
        outcome: outcome column.
        covariates: observed covariate columns (numeric are standardised, categorical one-hot encoded).
        item_embeddings: ``(n_items, d)`` array indexed by item id, or ``None`` for no text.
        item_column: column of ``data`` holding item ids (``0 .. n_items-1``).
        n_components: text components.
        reduction: ``"pls"`` or ``"pca"``.
        extra: optional ``(n_rows, m)`` array of further covariates (e.g. an oracle's hidden truth).
        cluster: optional cluster column for the interval.
        confidence: level of the interval.
        label: :attr:`EffectEstimate.method`.

    Returns:
        :class:`EffectEstimate`.

    Raises:
        ValueError: on missing columns, a non-binary treatment, an unknown reduction or item ids outside the
            embedding table.

    Book: 04_causal_graphs.ipynb, sec-causal-text
    """
    from sklearn.linear_model import LogisticRegression

    missing = [c for c in (treatment, outcome, *covariates) if c not in data.columns]
    if missing:
        raise ValueError(f"data lacks the columns {missing}")
    if reduction not in ("pls", "pca"):
        raise ValueError(f"reduction must be 'pls' or 'pca', got {reduction!r}")
    t = data[treatment].to_numpy()
    if not np.isin(t, (0, 1)).all():
        raise ValueError(f"{treatment} must hold only 0 and 1")
    x = _design(data, covariates)
    if item_embeddings is not None:
        emb = np.asarray(item_embeddings, dtype=float)
        items = data[item_column].to_numpy()
        if items.min() < 0 or items.max() >= len(emb):
            raise ValueError(f"{item_column} must index the {len(emb)} rows of item_embeddings")
        target = None
        if reduction == "pls":
            n = np.bincount(items, minlength=len(emb))
            k = np.bincount(items, weights=t, minlength=len(emb))
            target = special.logit((k + 0.5) / (n + 1.0))
        z = reduce_embeddings(emb, n_components, target=target)
        x = np.hstack([x, z[items]])
    if extra is not None:
        ex = np.asarray(extra, dtype=float).reshape(len(data), -1)
        x = np.hstack([x, (ex - ex.mean(0)) / np.maximum(ex.std(0), 1e-12)])
    if x.shape[1] == 0:
        x = np.zeros((len(data), 1))
    model = LogisticRegression(C=1e4, max_iter=2000).fit(x, t)
    e = np.clip(model.predict_proba(x)[:, 1], 1e-6, 1 - 1e-6)
    name = label or ("IPW, " + ("+".join(covariates) or "no covariates")
                     + ("" if item_embeddings is None else f" + text ({reduction.upper()} {n_components})"))
    return att_weighted(data[outcome].to_numpy(float), t, e / (1 - e),
                        data[cluster].to_numpy() if cluster else None, confidence=confidence, method=name)


def simulate_text_confounding(world, rng: np.random.Generator, n: int = 60_000, *, effect: float = 0.05,
                              quality_on_treatment: float = 1.2, quality_on_outcome: float = 0.8,
                              ) -> tuple[pd.DataFrame, float]:
    """A data set on the shop's real item texts in which the confounder (latent quality) is stated only in text.

    Units are (user, item) pairs: users from the session distribution, warm items uniformly. An old recommender
    featured items with probability :math:`\\sigma(-1.5 + a_q q_i + 0.6 z_i + 0.8 m_{ui})` (``z`` = standardised log
    popularity, ``m`` = declared-interest match), and the pair was bought with probability
    :math:`\\sigma(-3 + b_q q_i + 0.4 z_i + 1.0 m_{ui}) + \\tau\\,T` with a constant effect :math:`\\tau`. Quality
    :math:`q_i` (hidden; ``world.item_quality``) is in no column but is written in each item's title and description.

    Args:
        world: a :class:`~causalrec_tutorial.world.ShopWorld` (its items, users and hidden quality are used).
        rng: the randomness.
        n: number of pairs.
        effect: the true effect τ (so the true ATT).
        quality_on_treatment: :math:`a_q`.
        quality_on_outcome: :math:`b_q`.

    Returns:
        ``(data, true_att)``; data has ``user_id, item_id, featured, purchase, log_popularity, log_price,
        category, interest_match, quality``.

    Raises:
        ValueError: for a bad ``rng``, ``n < 10`` or an effect outside ``[0, 0.5]``.

    Book: 04_causal_graphs.ipynb, sec-causal-text
    """
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    check_int("n", n, 10)
    if not 0 <= effect <= 0.5:
        raise ValueError(f"effect must be in [0, 0.5], got {effect!r}")
    items, users = world.items.iloc[: world.n_items], world.users
    u = rng.choice(world.n_users, size=int(n), p=world.session_weights)
    i = rng.integers(world.n_items, size=int(n))
    q = np.asarray(world.item_quality)[i]
    lp = np.log1p(items[C.POPULARITY].to_numpy(float))
    z = ((lp - lp.mean()) / lp.std())[i]
    cat = items[C.CATEGORY].to_numpy()[i]
    match = (users[C.DECLARED_INTEREST].to_numpy()[u] == cat).astype(float)
    p_t = special.expit(-1.5 + quality_on_treatment * q + 0.6 * z + 0.8 * match)
    t = (rng.random(int(n)) < p_t).astype(np.int64)
    p_y = special.expit(-3.0 + quality_on_outcome * q + 0.4 * z + 1.0 * match) + effect * t
    y = (rng.random(int(n)) < p_y).astype(np.int64)
    data = pd.DataFrame({
        C.USER: u, C.ITEM: i, "featured": t, C.PURCHASE: y, "log_popularity": lp[i],
        "log_price": np.log(items[C.PRICE].to_numpy(float))[i], "category": pd.Categorical(cat),
        "interest_match": match.astype(np.int64), "quality": q,
    })
    return data, float(effect)
