r"""An instrument for exposure: a randomised encouragement, and the Wald (instrumental-variable) estimator.
Book: 04_causal_graphs.ipynb, sec-causal-iv

When the old recommender's propensities are lost, the logs can still hold a coin the shop tossed itself. In an
**encouragement design** a random half of the sessions (``Z = 1``) runs the old recommender with a promoted set of
items boosted: their odds of being shown are multiplied by ``boost``. ``Z`` changes who is shown a promoted item
(the first stage), is independent of every user and item trait (randomised), and changes purchases only through
exposure (the exclusion restriction: the boost is invisible to the user). Then

.. math:: \hat\tau_\text{IV} = \frac{\bar y_{Z=1} - \bar y_{Z=0}}{\bar d_{Z=1} - \bar d_{Z=0}}

(Wald's ratio of the effect of ``Z`` on purchase to its effect on exposure) estimates the effect of exposure for the
pairs whose exposure the encouragement changes, the *compliers* (Imbens and Angrist 1994), weighted by how much it
changes them: :math:`\sum (\pi_1 - \pi_0)\tau / \sum (\pi_1 - \pi_0)`, with :math:`\pi_z` the inclusion probability
under arm ``z``. No confounder needs to be measured; the price is a different estimand (the compliers' effect, not
the ATT) and a wide interval when the first stage is weak.

:func:`simulate_encouragement` runs such a design on a :class:`~causalrec_tutorial.world.ShopWorld` (a simulator: it
reads the shop's exact inclusion and purchase probabilities, and returns the estimand beside the data, for the judge);
:func:`wald_estimate` is the estimator, with a cluster-robust (delta-method) interval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import columns as C
from .._checks import check_int, check_number, cluster_codes, float_array
from .effects import EffectEstimate, _z, att_weighted

__all__ = ["first_stage_f", "simulate_encouragement", "wald_estimate"]


def simulate_encouragement(world, rng: np.random.Generator, n_sessions: int = 20_000, *, n_promoted: int = 40,
                           boost: float = 10.0, period: str = "early") -> tuple[pd.DataFrame, dict[str, float]]:
    """An encouragement design on the shop: random sessions show a random set of promoted items more often.

    Each session's user is drawn from the session-user distribution and tossed into ``Z = 1`` with probability 1/2.
    For every (session, promoted item) pair, the item is shown with the logging policy's exact inclusion probability
    ``π`` (``Z = 0``) or with the boosted ``π' = boost·π / (1 - π + boost·π)`` (``Z = 1``: the odds times ``boost``),
    and bought with probability ``p_without + shown · τ``, ``τ`` the true effect of being shown
    (:meth:`~causalrec_tutorial.world.ShopWorld.shown_effect`). Pairs are drawn independently: a pair-level
    simplification of the shop's list draws, in which the promotion *adds* impressions (an encouraged session shows
    ``truth["extra_shown_per_session"]`` more promoted items, beyond the k slots) instead of displacing other items,
    so the slot examination and each pair's effect stay those of the logging design. Shuffled slots only.

    Args:
        world: a ShopWorld (without substitution: pairs must not interfere).
        rng: the randomness.
        n_sessions: sessions to simulate.
        n_promoted: how many warm items the campaign promotes (chosen at random).
        boost: the factor on the odds of being shown (> 1).
        period: ``"early"`` or ``"late"``.

    Returns:
        ``(data, truth)``: one row per (session, promoted item) with ``session_id, user_id, item_id, encouraged,
        shown, purchase`` and the observed columns ``log_popularity, interest_match``; ``truth`` holds ``late`` (the
        complier-weighted effect the Wald ratio targets), ``att_pooled`` (the mean effect over the shown pairs of
        both arms, what a shown/not-shown comparison of the pooled data aims at), ``first_stage`` (the true rise in
        the share shown) and ``extra_shown_per_session`` (how many more promoted items an encouraged session shows).

    Raises:
        ValueError: for a bad ``rng`` or ``world``, sizes, ``boost <= 1``, or a world with substitution or ranked
            slots.

    Book: 04_causal_graphs.ipynb, sec-causal-iv
    """
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    if not hasattr(world, "logging_probabilities") or not hasattr(world, "shown_effect"):
        raise ValueError(f"world must be a ShopWorld, got {type(world).__name__}")
    n_items = world.n_available(period)
    n_promoted = check_int("n_promoted", n_promoted, 1, n_items)
    boost = check_number("boost", boost, 1.0, low_open=True, what="the factor on the odds of being shown")
    n_sessions = check_int("n_sessions", n_sessions, 10, 2_000_000)
    if world.params.substitution:
        raise ValueError("simulate_encouragement needs pairs that do not interfere: switch substitution off")
    if world.params.logging_order != "shuffled":
        raise ValueError("simulate_encouragement needs shuffled slots: with ranked slots a boost would also move the "
                         "promoted items up the list, changing their effect, and the exclusion restriction fails")
    promoted = np.sort(rng.choice(n_items, n_promoted, replace=False))
    users = rng.choice(world.n_users, size=n_sessions, p=world.session_weights)
    z = rng.random(n_sessions) < 0.5
    pi = world.logging_probabilities(period).inclusion[:, promoted]
    pi1 = boost * pi / (1.0 - pi + boost * pi)
    p0 = world.p_purchase_without[:, :n_items][:, promoted]
    tau = world.shown_effect(period)[:, promoted]
    u = np.repeat(users, n_promoted)
    j = np.tile(np.arange(n_promoted), n_sessions)
    zz = np.repeat(z, n_promoted)
    p_show = np.where(zz, pi1[u, j], pi[u, j])
    shown = rng.random(len(u)) < p_show
    bought = rng.random(len(u)) < p0[u, j] + shown * tau[u, j]
    items = world.items.iloc[:n_items]
    log_pop = np.log1p(items[C.POPULARITY].to_numpy(float))[promoted]
    match = (world.users[C.DECLARED_INTEREST].to_numpy()[:, None]
             == items[C.CATEGORY].to_numpy()[None, promoted]).astype(np.int64)
    data = pd.DataFrame({
        C.SESSION: np.repeat(np.arange(n_sessions), n_promoted), C.USER: u, C.ITEM: promoted[j],
        "encouraged": zz.astype(np.int64), C.SHOWN: shown.astype(np.int64), C.PURCHASE: bought.astype(np.int64),
        "log_popularity": log_pop[j], "interest_match": match[u, j],
    })
    w = np.asarray(world.session_weights)[:, None]  # the population of sessions, exactly
    lift = w * (pi1 - pi)
    pooled = w * (pi + pi1) / 2  # the two arms together, as a comparison of all shown with all not-shown pairs sees them
    truth = {"late": float((lift * tau).sum() / lift.sum()),
             "att_pooled": float((pooled * tau).sum() / pooled.sum()),
             "first_stage": float(lift.sum() / (w.sum() * n_promoted)),
             "extra_shown_per_session": float(lift.sum() / w.sum())}
    return data, truth


def wald_estimate(y, d, z, cluster=None, *, confidence: float = 0.95,
                  method: str = "IV (Wald), encouragement as instrument") -> EffectEstimate:
    """The Wald estimator ``(mean y | z=1 - mean y | z=0) / (mean d | z=1 - mean d | z=0)`` with a delta-method interval.

    Args:
        y: outcomes, shape ``(n,)``.
        d: treatment received (e.g. shown), shape ``(n,)``.
        z: the instrument, 0/1 (e.g. the encouraged arm).
        cluster: optional cluster ids (the unit that was randomised, e.g. the session), for the interval.
        confidence: level of the interval.
        method: name stored in the result.

    Returns:
        :class:`~causalrec_tutorial.causal.EffectEstimate`. The interval is the linearised one; it is unreliable when
        the first stage (the denominator) is small relative to its own standard error (a weak instrument).

    Raises:
        ValueError: on mismatched shapes, non-finite values, a non-binary ``z``, an arm with no units, or a first
            stage of exactly zero.

    Book: 04_causal_graphs.ipynb, sec-causal-iv
    """
    y = float_array("y", y, "one outcome per unit")
    d = float_array("d", d, "the treatment each unit received")
    z = np.asarray(z)
    if not (y.shape == d.shape == z.shape) or y.ndim != 1:
        raise ValueError(f"y, d and z must be 1-d of equal length, got {y.shape}, {d.shape}, {z.shape}")
    if not (np.isfinite(y).all() and np.isfinite(d).all()):
        raise ValueError("y and d must be finite")
    if not np.isin(z, (0, 1)).all():
        raise ValueError("z must hold only 0 and 1")
    z = z.astype(bool)
    n1, n0 = int(z.sum()), int((~z).sum())
    if n1 == 0 or n0 == 0:
        raise ValueError("both arms of the instrument need units")
    dy = y[z].mean() - y[~z].mean()
    dd = d[z].mean() - d[~z].mean()
    if dd == 0:
        raise ValueError("the first stage is zero: the instrument does not move the treatment")
    theta = dy / dd
    centred = np.where(z, ((y - y[z].mean()) - theta * (d - d[z].mean())) / n1,
                       -((y - y[~z].mean()) - theta * (d - d[~z].mean())) / n0) / dd
    codes = cluster_codes(cluster, len(y))
    if codes is not None:
        for arm in (z, ~z):
            if len(np.unique(codes[arm])) < 2:
                raise ValueError("each arm of the instrument needs at least 2 clusters for a clustered interval")
        centred = np.bincount(codes, weights=centred)
    elif min(n1, n0) < 2:
        raise ValueError("each arm of the instrument needs at least 2 units for an interval")
    g = len(centred)
    se = float(np.sqrt(np.sum(centred**2) * g / max(g - 1, 1)))
    q = _z(confidence)
    return EffectEstimate(float(theta), float(theta - q * se), float(theta + q * se), method)


def first_stage_f(d, z, cluster=None) -> float:
    """The first stage's strength: ``(difference in mean treatment between the arms / its standard error)²``.

    With one binary instrument this is the first-stage F statistic. Below about 10 the instrument is *weak*: the
    Wald ratio's distribution is then far from normal and its delta-method interval unreliable (an Anderson-Rubin
    interval is the usual remedy); above it, a wide interval means an imprecise, not a weak, instrument.

    Raises:
        ValueError: as :func:`wald_estimate`.

    Book: 04_causal_graphs.ipynb, sec-causal-iv
    """
    d = float_array("d", d, "the treatment each unit received")
    est = att_weighted(d, z, np.ones(len(d)), cluster_codes(cluster, len(d)))
    se = (est.ci_high - est.ci_low) / (2 * _z(0.95))
    return float((est.value / se) ** 2) if se > 0 else float("inf")
