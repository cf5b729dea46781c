r"""Reading user vectors against the truth: per-category profiles and their rank agreement with true interests.
Book: 03_interest_extraction.ipynb, sec-interest-truth

"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._checks import check_embeddings, float_array, id_array
from .pooling import _unit

__all__ = ["category_profile", "interest_agreement"]


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
    emb = check_embeddings(item_embeddings)
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
    # NaN is allowed (a user without events has no profile; choose the users to compare with ``users``)
    P = float_array("profile", profile, "one score per (user, category)")
    W = float_array("true_interests", true_interests, "one weight per (user, category)")
    if P.shape != W.shape or P.ndim != 2:
        raise ValueError(f"profile {P.shape} and true_interests {W.shape} must have the same 2-D shape")
    rows = np.arange(len(P)) if users is None else id_array("users", np.asarray(users), len(P), "user")
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
