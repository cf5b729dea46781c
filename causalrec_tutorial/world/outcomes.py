r"""What happens in a session, given its list (examination, clicks, organic and induced purchases, and the organic
purchases a list removes: reactance, substitution), and the tables a period's sessions write.
Book: 02_the_data.ipynb, sec-shop-world, sec-shop-logs

The draws, per session with list :math:`(i_0, \dots, i_{k-1})`: slot :math:`s` is examined with probability
:math:`e_s`; one uniform :math:`V_s` per slot gives the click (:math:`V_s < \rho`) and the purchase the
recommendation *sells* (:math:`V_s < \zeta`); every available item :math:`j` is wanted organically
(:math:`O_j \sim \text{Bern}(p_\text{without})`). With the removal switches on, each organic purchase then *meets*
one of the ``k`` recommendations, picked uniformly at random: if that is :math:`j`'s own slot and it was examined,
the shopper is put off with probability :math:`\kappa\,(1 - \text{aff}_{uj})` (``reactance``); if it is another item
of :math:`j`'s category that was examined and sold (:math:`V_s < \zeta`), they keep that one instead, with
probability :math:`\sigma` (``substitution``). A shown item is bought if its organic purchase survives, or if it was
not wanted organically and the list sold it. Hence, exactly, a shown item's own purchase probability is
:math:`p_\text{without}(1 - R_j) + e_t (1 - p_\text{without}) \zeta` with :math:`R_j` the removal probability, and
everything is linear in what each slot holds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .. import columns as C
from .draws import sample_unshown, sample_unshown_by_propensity
from .logs import ShopLogs
from .params import EARLY_DAYS, LATE_DAYS, START

__all__: list[str] = []  # helpers of world.shop, not part of the public API

# SeedSequence stream ids of the sessions (see world.shop), fixed forever
_S_SESSIONS = {"early": 60, "late": 61}
_S_UNSHOWN = {"early": 62, "late": 63}


def exposed_purchase(p0: np.ndarray, intent: np.ndarray, awareness: np.ndarray, responsiveness: np.ndarray,
                     affinity: np.ndarray, reactance: float, k: int) -> tuple[np.ndarray, np.ndarray]:
    """A pair's purchase probability when exposed (shown in an examined slot) and the chance the list sells it.

    ``intent`` is the purchase intent the shopper has when exposed (the item's own, or raised by a pitch); ``p0`` is
    the organic purchase probability (awareness times the unpitched intent). The list sells with probability
    ``zeta = (p1 - p0) / (1 - p0)``, ``p1 = intent (A + (1 - A) r)``; reactance puts off 1 in ``k`` organic buyers
    with probability ``kappa (1 - affinity)``. The one home of these equations (the world's truth and a pitched
    list's truth both call it).

    Returns:
        ``(p_with, zeta)``; the own-purchase uplift is ``p_with - p0``.
    """
    p1 = intent * (awareness + (1.0 - awareness) * responsiveness)
    zeta = (p1 - p0) / (1.0 - p0)
    if reactance:
        p1 = p1 - p0 * reactance * (1.0 - affinity) / k
    return p1, zeta


def substitution_loss(zeta: np.ndarray, others: np.ndarray, substitution: float, k: int) -> np.ndarray:
    """What a sale takes from the session's other purchases: ``(sigma / k) zeta`` times the organic purchase
    probabilities of the other items of its category (``others``); net uplift = own uplift minus this."""
    return substitution / k * zeta * others


def session_outcomes(world: Any, users: np.ndarray, slates: np.ndarray, period: str, rng: np.random.Generator,
                     extra: np.ndarray | None = None, truth: dict[str, np.ndarray] | None = None,
                     trust: float = 1.0) -> dict[str, np.ndarray]:
    """Clicks and purchases for sessions with given lists; organic draws for all available items.

    Args:
        world: the :class:`~causalrec_tutorial.world.ShopWorld` (its truth arrays).
        users: ``(n_sessions,)`` user ids; ``slates``: ``(n_sessions, k)`` the lists.
        period: ``"early"`` or ``"late"`` (which items are available).
        rng: the randomness; the removal draws (only with reactance or substitution on) come from a child stream
            of it, so that every other draw is the same with the switches on or off.
        extra: ``(n_sessions, m)`` further items whose organic purchase is reported (the logged not-shown pairs).
        truth: the arrays a list with pitches faces (:func:`.pitch.pitched_arrays`); default the world's own.
        trust: the examination multiplier of the long-run trust equilibrium (:mod:`.pitch`); default 1.

    Returns:
        ``click``, ``purchase_shown`` (per slot), ``incremental`` (bought because the list sold it), ``removed``
        (organic purchases the list removed, per session), ``returned`` (per slot: a sold purchase sent back),
        ``organic_extra``, ``organic_count`` and the organic purchases as (session, item) pairs.
    """
    p = world.params
    n = world.n_available(period)
    k = slates.shape[1]
    rows = users[:, None]
    relevance = world._relevance if truth is None else truth["relevance"]
    zeta = world._zeta if truth is None else truth["zeta"]
    examination = world._examination if trust == 1.0 else trust * world._examination
    examined = rng.random(slates.shape) < examination[None, :]
    v = rng.random(slates.shape)
    click = examined & (v < relevance[rows, slates])
    sold = examined & (v < zeta[rows, slates])
    removal = p.reactance > 0 or p.substitution > 0
    rm_rng = rng.spawn(1)[0] if removal else None
    category = world._category
    organic_shown = np.zeros(slates.shape, dtype=bool)  # wanted organically (before removal)
    kept_shown = np.zeros(slates.shape, dtype=bool)  # ... and still bought
    organic_extra = None if extra is None else np.zeros(extra.shape, dtype=bool)
    organic_count = np.zeros(len(users), dtype=np.int64)
    removed = np.zeros(len(users), dtype=np.int64)
    org_s, org_i = [], []
    chunk = max(1, 2_000_000 // n)
    for start in range(0, len(users), chunk):
        sl = slice(start, start + chunk)
        o = rng.random((len(users[sl]), n)) < world._p_without[users[sl], :n]
        idx = np.arange(o.shape[0])[:, None]
        organic_shown[sl] = o[idx, slates[sl]]
        if removal:
            s_, j_ = np.nonzero(o)
            meet = rm_rng.integers(0, k, size=len(s_))
            coin = rm_rng.random(len(s_))
            met = slates[sl][s_, meet]
            own = met == j_
            prob = np.where(
                own,
                examined[sl][s_, meet] * p.reactance * (1.0 - world._affinity[users[sl][s_], j_]),
                np.where((category[met] == category[j_]) & sold[sl][s_, meet], p.substitution, 0.0),
            )
            gone = coin < prob
            o[s_[gone], j_[gone]] = False
            removed[sl] = np.bincount(s_[gone], minlength=o.shape[0])
        kept_shown[sl] = o[idx, slates[sl]]
        if extra is not None:
            organic_extra[sl] = o[idx, extra[sl]]
        organic_count[sl] = o.sum(axis=1)
        s, i = np.nonzero(o)
        org_s.append(s + start)
        org_i.append(i)
    new = sold & ~organic_shown
    returned = np.zeros(slates.shape, dtype=bool)
    if truth is not None and truth["return_prob"].any():  # a child stream: the other draws stay as they are
        returned = new & (rng.spawn(1)[0].random(slates.shape) < truth["return_prob"][rows, slates])
    return dict(
        click=click,
        purchase_shown=kept_shown | new,
        incremental=new,
        removed=removed,
        returned=returned,
        organic_extra=organic_extra,
        organic_count=organic_count,
        organic_sessions=np.concatenate(org_s) if org_s else np.zeros(0, np.int64),
        organic_items=np.concatenate(org_i) if org_i else np.zeros(0, np.int64),
    )


def simulate_period(world: Any, period: str) -> ShopLogs:
    """One period's logs: sessions, the old recommender's lists, outcomes, and the sampled not-shown pairs."""
    rng = world._rng(_S_SESSIONS[period])
    n_s = world.n_sessions if period == "early" else world.n_late_sessions
    n = world.n_available(period)
    k = world.k
    first_id = 0 if period == "early" else world.n_sessions
    days0, days = (0, EARLY_DAYS) if period == "early" else (EARLY_DAYS, LATE_DAYS)
    seconds = np.sort(rng.random(n_s)) * days * 86400 + days0 * 86400
    times = START + pd.to_timedelta(np.floor(seconds).astype(np.int64), unit="s")
    users = rng.choice(world.n_users, size=n_s, p=world._session_weights)
    slates = world._logging_slates(users, period, rng)
    unshown = sample_unshown(slates, n, world.n_unshown, rng)  # drawn in both designs: the streams stay aligned
    pi = world._inclusion[period]
    m = world.n_unshown
    if world.unshown_sampling == "propensity":
        unshown, keep_q = sample_unshown_by_propensity(slates, pi[users, :n], m, world._rng(_S_UNSHOWN[period]))
        unshown_weight = 1.0 / keep_q
    else:
        unshown_weight = np.full((n_s, m), (n - k) / m if m else 0.0)
    out = world._outcomes(users, slates, period, rng, extra=unshown)
    session_ids = first_id + np.arange(n_s)

    rep = lambda a, m: np.repeat(np.asarray(a), m)  # noqa: E731
    pi_shown = pi[users[:, None], slates]
    slot_p = (world._slot_probs[period][users[:, None], slates, np.arange(k)[None, :]] if world._ranked
              else pi_shown / k)
    impressions = pd.DataFrame(
        {
            C.SESSION: rep(session_ids, k),
            C.TIMESTAMP: rep(times, k),
            C.USER: rep(users, k),
            C.ITEM: slates.ravel(),
            C.POSITION: np.tile(np.arange(k), n_s),
            C.PROPENSITY: slot_p.ravel(),
            C.SHOW_PROBABILITY: pi_shown.ravel(),
            C.CLICK: out["click"].ravel().astype(np.int64),
            C.PURCHASE: out["purchase_shown"].ravel().astype(np.int64),
        }
    )
    # purchases: organic ones (shown or not) plus induced ones that were not organic
    inc_s, inc_slot = np.nonzero(out["incremental"])
    p_s = np.concatenate([out["organic_sessions"], inc_s])
    p_i = np.concatenate([out["organic_items"], slates[inc_s, inc_slot]])
    # position of each purchased item in its session's list (-1 if not shown)
    match = slates[p_s] == p_i[:, None]
    pos = np.where(match.any(axis=1), match.argmax(axis=1), -1)
    order = np.lexsort((p_i, p_s))
    p_s, p_i, pos = p_s[order], p_i[order], pos[order]
    purchases = pd.DataFrame(
        {
            C.SESSION: session_ids[p_s],
            C.TIMESTAMP: times[p_s],
            C.USER: users[p_s],
            C.ITEM: p_i,
            C.SHOWN: (pos >= 0).astype(np.int64),
            C.POSITION: pos.astype(np.int64),
        }
    )
    pair_items = np.concatenate([slates, unshown], axis=1)
    pairs = pd.DataFrame(
        {
            C.SESSION: rep(session_ids, k + m),
            C.TIMESTAMP: rep(times, k + m),
            C.USER: rep(users, k + m),
            C.ITEM: pair_items.ravel(),
            C.SHOWN: np.tile(np.r_[np.ones(k, np.int64), np.zeros(m, np.int64)], n_s),
            C.POSITION: np.tile(np.r_[np.arange(k), -np.ones(m, np.int64)], n_s),
            C.SHOW_PROBABILITY: pi[users[:, None], pair_items].ravel(),
            C.SAMPLE_WEIGHT: np.concatenate([np.ones((n_s, k)), unshown_weight], axis=1).ravel(),
            C.PURCHASE: np.concatenate([out["purchase_shown"], out["organic_extra"]], axis=1)
            .ravel()
            .astype(np.int64),
        }
    )
    if not world.params.log_propensities:  # a logger that did not record its probabilities: estimate them
        impressions = impressions.drop(columns=[C.PROPENSITY, C.SHOW_PROBABILITY])
        pairs = pairs.drop(columns=[C.SHOW_PROBABILITY])
    sessions = pd.DataFrame({C.SESSION: session_ids, C.TIMESTAMP: times, C.USER: users})
    return ShopLogs(
        impressions=impressions,
        purchases=purchases,
        pairs=pairs,
        sessions=sessions,
        items=world.items,
        users=world.users,
        period=period,
    )
