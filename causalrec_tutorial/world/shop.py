"""The world itself: :class:`ShopWorld` builds items, users, the truth and the old recommender, and simulates logs.
Book: 02_the_data.ipynb, sec-shop-world (and every chapter's first world).

The structural model it implements is written out in the :mod:`causalrec_tutorial.world` docstring.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from .. import columns as C
from .._checks import check_int, check_size
from ..config import DEFAULT_SEED, by_mode
from .catalogue import (
    _CAT_INDEX,
    _CATEGORY_LIST,
    _QUALITY_CUTS,
    CATEGORIES,
    _brands,
    _describe,
    _pick,
)
from .draws import (
    hash_normal,
    read_only,
)
from .logs import ABTestResult, LoggingProbabilities, PolicyValue, ShopLogs, TrueEffects
from .outcomes import exposed_purchase, session_outcomes, simulate_period, substitution_loss
from .params import (
    LOG_PERIODS,
    ShopParams,
    _check_period,
)
from .pitch import (
    PitchedPolicyValue,
    PitchJudgement,
    equilibrium_trust,
    judge_all,
    pitched_arrays,
)
from .sampling import (
    cps_joint_inclusion,
    cps_sample,
    logging_design,
    systematic_joint_inclusion,
)

__all__ = ["ShopWorld"]

# SeedSequence stream ids, fixed forever so that adding a component never reshuffles the others.
_S_ITEM_CATEGORY, _S_ITEM_QUALITY, _S_ITEM_PROMINENCE, _S_ITEM_PRICE, _S_ITEM_TOPIC = 1, 2, 3, 4, 5
_S_ITEM_POPULARITY, _S_ITEM_TEXT, _S_ITEM_TIER, _S_ITEM_BRAND, _S_ITEM_SIBLING = 6, 7, 8, 9, 10
_S_USER_INTEREST, _S_USER_AGE, _S_USER_PRICE, _S_USER_ACTIVITY, _S_USER_RESP, _S_USER_DECLARED = 20, 21, 22, 23, 24, 25
_S_HASH_TASTE, _S_HASH_ATTRACT, _S_HASH_POLICY, _S_HASH_HIDDEN = 40, 41, 42, 43
_S_CATEGORY_AGE = 70
_WARM, _COLD = 0, 1


class ShopWorld:
    """A seeded online shop with a biased old recommender, position bias, organic demand and known uplift.

    See the :mod:`causalrec_tutorial.world` docstring for the exact structural model; everything there is a property
    of this class.

    Args:
        seed: integer seed (or a ``numpy.random.Generator``, from which one integer is drawn).
        n_users: number of users (default ``by_mode(3000, 300)``).
        n_items: number of warm items, with logs (default ``by_mode(400, 120)``).
        n_cold_items: number of late-arriving cold-start items, no logs in the early period (``by_mode(40, 12)``;
            0 allowed).
        n_sessions: sessions in the early period (default ``by_mode(20000, 2000)``); ``k`` impressions each.
        n_late_sessions: sessions in the late period (default ``n_sessions // 4``; 0 allowed).
        k: slots per recommended list, ``1 <= k <= n_items``.
        n_unshown: not-shown items sampled per session into ``logs().pairs`` (default 10; 0 allowed).
        unshown_sampling: how they are sampled: ``"uniform"`` (default; ``sample_weight`` = #not-shown / n_unshown)
            or ``"propensity"``: kept with probability rising with the odds of having been shown (a defensive
            mixture, :func:`.draws.sample_unshown_by_propensity`; ``sample_weight`` = 1 / that probability), which
            keeps the not-shown pairs an estimate of what the list caused needs. Both designs share every other
            random draw (sessions, slates, clicks, purchases): only the kept not-shown pairs differ.
        params: structural coefficients (:class:`ShopParams`).

    Raises:
        ValueError: for non-positive sizes, ``k`` larger than the catalogue, or a bad seed.

    Example::

        world = crt.world.ShopWorld(seed=7)
        logs = world.logs()                       # impressions, purchases, pairs, sessions, items, users
        world.policy_value(world.relevance)       # exact value of the click-optimal list
        world.policy_value(world.uplift)          # ... and of the uplift-optimal list

    Book: 02_the_data.ipynb, sec-shop-world
    """

    def __init__(
        self,
        seed: int | np.random.Generator = DEFAULT_SEED,
        n_users: int | None = None,
        n_items: int | None = None,
        n_cold_items: int | None = None,
        n_sessions: int | None = None,
        n_late_sessions: int | None = None,
        k: int = 5,
        n_unshown: int = 10,
        params: ShopParams | None = None,
        unshown_sampling: str = "uniform",
    ) -> None:
        if isinstance(seed, np.random.Generator):
            seed = int(seed.integers(2**63))
        self.seed = check_int("seed", seed, 0)
        self.n_users = check_int("n_users", by_mode(3000, 300) if n_users is None else n_users, 1)
        self.n_items = check_int("n_items", by_mode(400, 120) if n_items is None else n_items, 1)
        self.n_cold_items = check_int("n_cold_items", by_mode(40, 12) if n_cold_items is None else n_cold_items, 0)
        self.n_sessions = check_int("n_sessions", by_mode(20000, 2000) if n_sessions is None else n_sessions, 1)
        self.n_late_sessions = check_int(
            "n_late_sessions", self.n_sessions // 4 if n_late_sessions is None else n_late_sessions, 0
        )
        self.k = check_int("k", k, 1)
        if self.k > self.n_items:
            raise ValueError(f"k={self.k} is larger than the catalogue: expected 1 <= k <= n_items={self.n_items}")
        self.n_unshown = check_int("n_unshown", n_unshown, 0)
        if self.n_unshown > self.n_items - self.k:
            raise ValueError(f"n_unshown={self.n_unshown} must be <= n_items - k = {self.n_items - self.k}")
        if unshown_sampling not in ("uniform", "propensity"):
            raise ValueError(f"unshown_sampling must be 'uniform' or 'propensity', got {unshown_sampling!r}")
        self.unshown_sampling = unshown_sampling
        if params is None:
            params = ShopParams()
        if not isinstance(params, ShopParams):
            raise ValueError(f"params must be a ShopParams, got {type(params).__name__}")
        self.params = params
        self.n_items_total = self.n_items + self.n_cold_items
        # the truth is ~12 dense (n_users, n_items) float64 arrays: refuse a world that cannot fit, before building it
        check_size("ShopWorld", 12 * 8 * self.n_users * self.n_items_total,
                   f"n_users={self.n_users} x {self.n_items_total} items of truth arrays")
        if params.logging_sampling == "conditional_poisson":  # odds and their suffix polynomials, both periods
            check_size("ShopWorld", 2 * 8 * self.n_users * (self.n_items_total + 1) * (self.k + 2),
                       f"conditional Poisson polynomials of {self.n_users} users x {self.n_items_total} items")
        self._logs_cache: dict[str, ShopLogs] = {}
        self._build_items()
        self._build_users()
        self._build_truth()
        self._build_logging_policy()

    # ----- construction -------------------------------------------------------------------------------------------

    def _rng(self, *key: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=key))

    def _hash_key(self, stream: int) -> np.uint64:
        return np.random.SeedSequence(self.seed, spawn_key=(stream,)).generate_state(1, dtype=np.uint64)[0]

    def _item_block(self, group: int, n: int, brands: list[str]) -> dict[str, Any]:
        p = self.params
        n_cat = len(CATEGORIES)
        cat = self._rng(group, _S_ITEM_CATEGORY).integers(n_cat, size=n)
        quality = self._rng(group, _S_ITEM_QUALITY).standard_normal(n)
        prominence = self._rng(group, _S_ITEM_PROMINENCE).standard_normal(n)
        base = np.array([c.base_price for c in _CATEGORY_LIST])[cat]
        price_noise = self._rng(group, _S_ITEM_PRICE).standard_normal(n)
        raw = base * np.exp(p.price_quality * quality + p.price_noise * price_noise)
        price = np.maximum(np.floor(raw), 1.0) + 0.99
        # topic: own category + a random share of the sibling + noise, L2-normalised
        sib_w = self._rng(group, _S_ITEM_SIBLING).uniform(0, p.sibling_weight_max, size=n)
        noise = self._rng(group, _S_ITEM_TOPIC).gamma(0.5, p.topic_noise, size=(n, n_cat))
        topic = noise
        topic[np.arange(n), cat] += 1.0
        sib = np.array([_CAT_INDEX[c.sibling] for c in _CATEGORY_LIST])[cat]
        topic[np.arange(n), sib] += sib_w
        topic /= np.linalg.norm(topic, axis=1, keepdims=True)
        if group == _WARM:
            lam = np.exp(p.popularity_log_mean + p.popularity_prominence * prominence + p.popularity_quality * quality)
            popularity = self._rng(group, _S_ITEM_POPULARITY).poisson(lam)
        else:
            popularity = np.zeros(n, dtype=np.int64)
        tier_noise = self._rng(group, _S_ITEM_TIER).standard_normal(n) * p.quality_text_noise
        tier = np.searchsorted(_QUALITY_CUTS, quality + tier_noise)
        rb = self._rng(group, _S_ITEM_BRAND)
        rtext = self._rng(group, _S_ITEM_TEXT)
        titles, descriptions = [], []
        for j in range(n):
            title, desc = _describe(_CATEGORY_LIST[cat[j]], int(tier[j]), _pick(rb, brands), rtext)
            titles.append(title)
            descriptions.append(desc)
        return dict(
            category=cat, quality=quality, prominence=prominence, price=price, topic=topic,
            popularity=popularity.astype(np.int64), tier=tier, title=titles, description=descriptions,
        )

    def _build_items(self) -> None:
        brands = _brands(self._rng(_S_ITEM_BRAND))
        warm = self._item_block(_WARM, self.n_items, brands)
        cold = self._item_block(_COLD, self.n_cold_items, brands)
        cat = lambda key: np.concatenate([warm[key], cold[key]])  # noqa: E731
        self._category = cat("category")
        self._quality = read_only(cat("quality"))
        self._prominence = read_only(cat("prominence"))
        self._price = cat("price")
        self._topic = read_only(np.concatenate([warm["topic"], cold["topic"]], axis=0))
        self._popularity = cat("popularity")
        self._tier = cat("tier")
        self._cold = np.arange(self.n_items_total) >= self.n_items
        self._hash_cols = np.concatenate(
            [np.arange(self.n_items), np.arange(self.n_cold_items) + (1 << 40)]
        )  # cold items keep their noise when n_items changes
        self._items = pd.DataFrame(
            {
                C.ITEM: np.arange(self.n_items_total),
                C.TITLE: warm["title"] + cold["title"],
                C.DESCRIPTION: warm["description"] + cold["description"],
                C.CATEGORY: np.array(CATEGORIES, dtype=object)[self._category],
                C.PRICE: self._price,
                C.POPULARITY: self._popularity,
                C.COLD_START: self._cold,
            }
        )

    def _build_users(self) -> None:
        p = self.params
        n, n_cat = self.n_users, len(CATEGORIES)
        age = self._rng(_S_USER_AGE).integers(18, 76, size=n)
        slopes = self._rng(_S_CATEGORY_AGE).standard_normal(n_cat)  # which categories skew older
        age_z = (age - 46.5) / 16.5
        alpha = p.interest_concentration * np.exp(p.age_effect * age_z[:, None] * slopes[None, :])
        g = self._rng(_S_USER_INTEREST).gamma(alpha)
        g = np.maximum(g, 1e-12)
        self._interests = read_only(g / g.sum(axis=1, keepdims=True))
        self._price_sensitivity = read_only(
            p.price_sensitivity_median * np.exp(0.4 * self._rng(_S_USER_PRICE).standard_normal(n))
        )
        self._activity = read_only(np.exp(p.activity_sigma * self._rng(_S_USER_ACTIVITY).standard_normal(n)))
        self._responsiveness = read_only(
            self._rng(_S_USER_RESP).beta(p.responsiveness_a, p.responsiveness_b, size=n)
        )
        draws = self._rng(_S_USER_DECLARED).random((n, 2))  # one row per user: prefix-stable
        right = draws[:, 0] < p.declared_interest_accuracy
        other = np.minimum((draws[:, 1] * n_cat).astype(np.int64), n_cat - 1)
        declared = np.where(right, self._interests.argmax(axis=1), other)
        self._session_weights = read_only(self._activity / self._activity.sum())
        self._users = pd.DataFrame(
            {
                C.USER: np.arange(n),
                C.AGE: age.astype(np.int64),
                C.DECLARED_INTEREST: np.array(CATEGORIES, dtype=object)[declared],
            }
        )

    def _build_truth(self) -> None:
        p = self.params
        rows, cols = np.arange(self.n_users), self._hash_cols
        w = self._interests / np.linalg.norm(self._interests, axis=1, keepdims=True)
        self._affinity = read_only(w @ self._topic.T)
        eps = hash_normal(self._hash_key(_S_HASH_TASTE), rows, cols)
        eps_attr = 0.6 * eps + 0.8 * hash_normal(self._hash_key(_S_HASH_ATTRACT), rows, cols)
        q, h = self._quality[None, :], self._prominence[None, :]
        base = np.array([c.base_price for c in _CATEGORY_LIST])[self._category]
        log_rel_price = np.log(self._price / base)[None, :]
        self._rel_logit = (
            p.rel_intercept + p.rel_affinity * self._affinity + p.rel_prominence * h + p.rel_quality * q
            + p.rel_noise * eps_attr
        )
        self._relevance = read_only(special.expit(self._rel_logit))
        logit_intent = (
            p.buy_intercept + p.buy_affinity * self._affinity + p.buy_quality * q
            - self._price_sensitivity[:, None] * log_rel_price + p.buy_noise * eps
        )
        # a private taste signal the old recommender sees (it also drives purchases) and the logs never record
        self._hidden_taste = None
        if p.hidden_taste_logging or p.hidden_taste_purchase:
            self._hidden_taste = read_only(hash_normal(self._hash_key(_S_HASH_HIDDEN), rows, cols))
            logit_intent = logit_intent + p.hidden_taste_purchase * self._hidden_taste
        self._intent_logit = logit_intent
        intent = special.expit(logit_intent)
        self._awareness = read_only(special.expit(p.aware_intercept + p.aware_prominence * self._prominence))
        a = self._awareness[None, :]
        p0 = a * intent
        # P(purchase | exposed) and P(the list sells it | examined), see the world package docstring
        p1, self._zeta = exposed_purchase(p0, intent, a, self._responsiveness[:, None], self._affinity, p.reactance,
                                          self.k)
        self._p_without = read_only(p0)
        self._p_with = read_only(p1)
        self._uplift = read_only(p1 - p0)
        self._net_uplift: dict[str, np.ndarray] = {}
        self._examination = read_only((1.0 + np.arange(self.k)) ** (-p.position_decay))
        self._policy_noise = hash_normal(self._hash_key(_S_HASH_POLICY), rows, cols)

    def _build_logging_policy(self) -> None:
        """The old recommender's probabilities for both periods (:func:`.sampling.logging_design`)."""
        for name, value in logging_design(self).items():
            setattr(self, name, value)

    # ----- public: sizes, tables, truth ---------------------------------------------------------------------------

    def n_available(self, period: str = "early") -> int:
        """Number of items available in a period: warm items (``"early"``) or warm + cold (``"late"``)."""
        return self.n_items if _check_period(period) == "early" else self.n_items_total

    @property
    def items(self) -> pd.DataFrame:
        """The item table: ``item_id, title, description, category, price, popularity, cold_start`` (a copy).

        Quality, prominence and topic are hidden (see :meth:`item_truth`); the description mentions quality.

        Book: 02_the_data.ipynb, sec-shop-world
        """
        return self._items.copy()

    @property
    def users(self) -> pd.DataFrame:
        """The user table: ``user_id, age, declared_interest`` (a copy; hidden traits in :meth:`user_truth`).

        Book: 02_the_data.ipynb, sec-shop-world
        """
        return self._users.copy()

    def item_truth(self) -> pd.DataFrame:
        """Hidden item traits: ``item_id, quality, quality_tier`` (as written in the text), ``prominence``,
        ``awareness`` (organic discovery probability) and the topic vector as ``topic_<category>`` columns.

        Book: 02_the_data.ipynb, sec-shop-truth
        """
        df = pd.DataFrame(
            {
                C.ITEM: np.arange(self.n_items_total),
                "quality": self._quality,
                "quality_tier": self._tier,
                "prominence": self._prominence,
                "awareness": self._awareness,
            }
        )
        topics = pd.DataFrame(self._topic, columns=[f"topic_{c}" for c in CATEGORIES])
        return pd.concat([df, topics], axis=1)

    def user_truth(self) -> pd.DataFrame:
        """Hidden user traits: ``user_id, price_sensitivity, activity, responsiveness, session_weight,
        top_interest`` and the interest vector as ``interest_<category>`` columns.

        Book: 02_the_data.ipynb, sec-shop-truth
        """
        df = pd.DataFrame(
            {
                C.USER: np.arange(self.n_users),
                "price_sensitivity": self._price_sensitivity,
                "activity": self._activity,
                "responsiveness": self._responsiveness,
                "session_weight": self._session_weights,
                "top_interest": np.array(CATEGORIES, dtype=object)[self._interests.argmax(axis=1)],
            }
        )
        interests = pd.DataFrame(self._interests, columns=[f"interest_{c}" for c in CATEGORIES])
        return pd.concat([df, interests], axis=1)

    relevance = property(
        lambda self: self._relevance,
        doc="True relevance (attraction): click probability when examined, ``(n_users, n_items_total)``.",
    )
    p_purchase_without = property(
        lambda self: self._p_without,
        doc="Organic purchase probability per session without exposure, ``(n_users, n_items_total)``.",
    )
    p_purchase_with = property(
        lambda self: self._p_with,
        doc="Purchase probability per session when exposed (shown and examined; = shown in slot 0), less the "
            "buyers put off under ``reactance``; with ``substitution`` the other slots' sales lower it further.",
    )
    uplift = property(
        lambda self: self._uplift,
        doc="True uplift of exposure on the item's own purchase: exactly ``p_purchase_with - p_purchase_without`` "
            "(negative where ``reactance`` puts buyers off; :meth:`net_uplift` adds what ``substitution`` takes "
            "from other items).",
    )
    affinity = property(lambda self: self._affinity, doc="Cosine of user interests and item topic, in [0, 1].")
    examination = property(lambda self: self._examination, doc="Examination probability per slot, shape (k,).")
    session_weights = property(
        lambda self: self._session_weights, doc="P(a session belongs to user u) = activity / sum(activity)."
    )
    item_quality = property(lambda self: self._quality, doc="Latent item quality (hidden; described in the text).")
    item_topics = property(lambda self: self._topic, doc="Latent item topic vectors, ``(n_items_total, 12)``.")
    user_interests = property(lambda self: self._interests, doc="Latent user interests, ``(n_users, 12)``.")
    hidden_taste = property(
        lambda self: self._hidden_taste,
        doc="The private per-pair taste signal (standard normal, ``(n_users, n_items_total)``) behind the "
            "``hidden_taste_*`` switches; ``None`` when both are 0. Truth: for the judge only.",
    )

    def logging_probabilities(self, period: str = "early") -> LoggingProbabilities:
        """The logging policy's exact inclusion and per-slot probabilities over the period's available items.

        Args:
            period: ``"early"`` or ``"late"``.

        Raises:
            ValueError: for another period.

        Book: 02_the_data.ipynb, sec-shop-logs
        """
        pi = self._inclusion[_check_period(period)]
        per_slot = self._slot_probs[period] if self._ranked else read_only(pi / self.k)
        return LoggingProbabilities(inclusion=pi, per_slot=per_slot, period=period)

    def net_uplift(self, period: str = "early") -> np.ndarray:
        """The effect of showing an item in an examined slot on the session's *total* purchases, per (user, item).

        ``uplift`` (the item's own purchase) less the organic purchases of other items of its category that the
        sale replaces: ``uplift - (substitution / k) * zeta * (sum of p_purchase_without over the other available
        items of the category)``. Equal to ``uplift`` when ``substitution`` is 0. A list's incremental purchases are
        exactly ``sum_s examination[s] * net_uplift[u, i_s]`` (:meth:`policy_value`). Truth: for the judge only.

        Args:
            period: ``"early"`` or ``"late"`` (the items whose organic purchases can be replaced).

        Returns:
            float64 ``(n_users, n_available)``, read-only.

        Book: 02_the_data.ipynb, sec-shop-truth
        """
        n = self.n_available(_check_period(period))
        if not self.params.substitution:
            return self._uplift[:, :n]
        if period not in self._net_uplift:
            loss = substitution_loss(self._zeta[:, :n], self._category_others(period), self.params.substitution, self.k)
            self._net_uplift[period] = read_only(self._uplift[:, :n] - loss)
        return self._net_uplift[period]

    def _category_others(self, period: str) -> np.ndarray:
        """Per (user, available item): the organic purchase probabilities of the other items of its category."""
        n = self.n_available(period)
        cat = self._category[:n]
        p0 = self._p_without[:, :n]
        by_cat = p0 @ np.eye(len(CATEGORIES))[cat]  # (n_users, categories): organic demand per category
        return by_cat[:, cat] - p0

    def joint_inclusion(self, user: int, period: str = "early") -> np.ndarray:
        """P(items i and j are both shown in a session of ``user``), exactly, for every pair of available items.

        With the default systematic sampling in item-id order most pairs are never shown together (probability 0);
        with ``logging_sampling="conditional_poisson"`` every pair has a positive probability. The diagonal holds the
        inclusion probabilities and every row sums to ``k`` times them.

        Args:
            user: a user id in ``[0, n_users)``.
            period: ``"early"`` or ``"late"``.

        Returns:
            float64 ``(n_available, n_available)``.

        Raises:
            ValueError: for a user id out of range or an unknown period.

        Book: appendix_b_intervals.ipynb
        """
        n = self.n_available(_check_period(period))
        user = check_int("user", user, 0, self.n_users - 1)
        if period in self._odds:
            check_size("joint_inclusion", 8 * 3 * n * n * (self.k + 1), f"{n} x {n} pairs of polynomials")
            return cps_joint_inclusion(self._odds[period][user], self.k)
        cum = self._cumulative[period][user * n:(user + 1) * n] - self.k * user
        return systematic_joint_inclusion(cum, self.k)

    def shown_effect(self, period: str = "early", outcome: str = "own") -> np.ndarray:
        """The true effect on purchase of *being shown by the logging policy*, per (user, available item).

        ``E[e_slot | shown] * uplift``: with shuffled slots the expected examination is the mean over slots; with
        ranked slots it is the item's own, ``sum_s P(slot s) e_s / P(shown)``. The judge's answer, never an input.

        With ``substitution`` on, pairs interfere (no SUTVA): a list's sales replace organic purchases of other items,
        shown or not, so a comparison of shown with not-shown pairs no longer estimates either of these. ``outcome=
        "own"`` is the effect on the item's own purchase; ``"total"`` uses :meth:`net_uplift`, the effect on all the
        session's purchases (what a shop earns). Without substitution the two are equal.

        Raises:
            ValueError: for an unknown period or outcome.

        Book: 02_the_data.ipynb, sec-shop-truth
        """
        n = self.n_available(_check_period(period))
        if outcome not in ("own", "total"):
            raise ValueError(f"outcome must be 'own' or 'total', got {outcome!r}")
        effect = self._uplift[:, :n] if outcome == "own" else self.net_uplift(period)
        if not self._ranked:
            return float(self._examination.mean()) * effect
        e_shown = (self._slot_probs[period] @ self._examination) / self._inclusion[period]
        return e_shown * effect

    def true_effects(self, period: str = "early", outcome: str = "own") -> TrueEffects:
        """Exact average effects of being shown by the logging policy on purchase (ATE, ATT, ATC).

        The effect for a pair is :meth:`shown_effect` (``mean(examination) * uplift[u, i]`` when the logging
        policy's slot is uniformly random); averages run over the session-user distribution and the period's items.
        ``outcome``: ``"own"`` (the item's own purchase) or ``"total"`` (all purchases; differs only with
        ``substitution``, under which pairs interfere: see :meth:`shown_effect`).

        Book: 02_the_data.ipynb, sec-shop-truth
        """
        n = self.n_available(period)
        pi = self._inclusion[period]
        e_bar = float(self._examination.mean())  # also the mean examination of a shown pair under ranked slots
        tau = self.shown_effect(period, outcome)
        w = self._session_weights[:, None]
        ate = float(np.sum(w * tau) / n)
        att = float(np.sum(w * pi * tau) / np.sum(w * pi))
        atc = float(np.sum(w * (1 - pi) * tau) / np.sum(w * (1 - pi)))
        return TrueEffects(ate=ate, att=att, atc=atc, mean_examination=e_bar, period=period)

    # ----- policies -----------------------------------------------------------------------------------------------

    def top_k(self, scores: np.ndarray, period: str = "early") -> np.ndarray:
        """The ranking a score matrix induces: per user the ``k`` highest-scoring available items, best first.

        Args:
            scores: float array ``(n_users, n_available)`` or ``(n_users, n_items_total)`` (cold-start columns are
                ignored in the early period). Ties go to the lower item id.
            period: ``"early"`` or ``"late"``.

        Returns:
            int array ``(n_users, k)`` of item ids.

        Raises:
            ValueError: for a wrong shape, non-finite scores or an unknown period.

        Book: 02_the_data.ipynb, sec-shop-policies
        """
        n = self.n_available(period)
        scores = np.asarray(scores)
        expected = {(self.n_users, n), (self.n_users, self.n_items_total)}
        if scores.ndim != 2 or scores.shape not in expected or not np.issubdtype(scores.dtype, np.number):
            raise ValueError(
                f"scores must be a numeric array of shape {sorted(expected)} (users x items), "
                f"got shape {scores.shape} and dtype {scores.dtype}"
            )
        scores = scores[:, :n].astype(float)
        if np.isnan(scores).any():
            raise ValueError("scores contain NaN")
        return np.argsort(-scores, axis=1, kind="stable")[:, : self.k]

    def _as_policy(self, policy: Any, period: str) -> np.ndarray | str:
        """Rankings ``(n_users, k)`` or the string ``"logging"``."""
        if isinstance(policy, str):
            if policy != "logging":
                raise ValueError(f"a policy given as a string must be 'logging', got {policy!r}")
            return policy
        arr = np.asarray(policy)
        n = self.n_available(period)
        if arr.dtype.kind in "iu":
            if arr.shape != (self.n_users, self.k):
                raise ValueError(
                    f"a ranking policy must have shape (n_users, k) = ({self.n_users}, {self.k}), got {arr.shape}"
                )
            if arr.min() < 0 or arr.max() >= n:
                raise ValueError(f"ranking item ids must be in [0, {n}) for period {period!r}")
            srt = np.sort(arr, axis=1)
            if (np.diff(srt, axis=1) == 0).any():
                raise ValueError("policy: a ranking must list k distinct items per user")
            return arr.astype(np.int64)
        if arr.dtype.kind == "f":
            try:
                return self.top_k(arr, period)
            except ValueError as err:
                raise ValueError(f"policy given as scores: {err}") from None
        raise ValueError(
            "policy must be 'logging', a float score array (n_users, n_items) or an integer ranking array "
            f"(n_users, k); got dtype {arr.dtype} and shape {arr.shape}"
        )

    def policy_ranking(self, policy: Any, period: str = "early") -> np.ndarray | None:
        """The ``(n_users, k)`` ranking a policy shows, best first (``None`` for ``"logging"``, which is random).

        Args:
            policy: as in :meth:`policy_value`.
            period: ``"early"`` or ``"late"``.

        Raises:
            ValueError: for a policy of the wrong shape or type, or an unknown period.

        Book: 06_evaluation.ipynb, sec-eval-ope-shop
        """
        pol = self._as_policy(policy, _check_period(period))
        return None if isinstance(pol, str) else pol

    def policy_value(self, policy: Any, period: str = "early", pitches: Mapping[int, str] | None = None
                     ) -> PolicyValue:
        """Exact expected clicks, purchases and incremental purchases per session of a policy.

        Args:
            policy: float scores ``(n_users, n_items)`` (top-``k``, best in slot 0), integer rankings
                ``(n_users, k)``, or ``"logging"`` (the old recommender).
            period: ``"early"`` (warm items) or ``"late"`` (warm + cold items).
            pitches: optional mapping item id -> the text shown with that item whenever a list shows it; the world
                judges its claims (:meth:`judge_pitch`) and responds as the ``pitch_*`` switches say.

        Returns:
            :class:`PolicyValue`, averaged over the session-user distribution; with ``pitches``, a
            :class:`~causalrec_tutorial.world.pitch.PitchedPolicyValue` that adds ``returns`` and the long-run
            ``trust``, in whose equilibrium every value is given.

        Raises:
            ValueError: for a policy of the wrong shape or type, an unknown period, or a pitch for an item id out
                of range.
            TypeError: for pitches that are not a mapping of item id -> string.

        Book: 02_the_data.ipynb, sec-shop-policies
        """
        _check_period(period)
        pol = self._as_policy(policy, period)
        n = self.n_available(period)
        w = self._session_weights
        judged = judge_all(self, pitches, n)
        t = pitched_arrays(self, judged, period) if pitches is not None else None
        rel = self._relevance[:, :n] if t is None else t["relevance"]
        net = self.net_uplift(period) if t is None else t["net_uplift"]
        if isinstance(pol, str) and self._ranked:
            exam = self._slot_probs[period] @ self._examination  # P(shown and examined) per pair
        elif isinstance(pol, str):
            exam = self._examination.mean() * self._inclusion[period]
        if isinstance(pol, str):
            clicks_u = np.sum(exam * rel, axis=1)
            incr_u = np.sum(exam * net, axis=1)
        else:
            rows = np.arange(self.n_users)[:, None]
            clicks_u = rel[rows, pol] @ self._examination
            incr_u = net[rows, pol] @ self._examination
        organic_u = self._p_without[:, :n].sum(axis=1)
        clicks, incr, organic = float(w @ clicks_u), float(w @ incr_u), float(w @ organic_u)
        if t is None:
            return PolicyValue(
                clicks=clicks, purchases=organic + incr, incremental_purchases=incr, organic_purchases=organic
            )
        returned = (1.0 - self._p_without[:, :n]) * t["zeta"] * t["return_prob"]  # per examined slot
        ret_u = np.sum(exam * returned, axis=1) if isinstance(pol, str) else returned[rows, pol] @ self._examination
        trust = equilibrium_trust(float(w @ ret_u), self.params.pitch_trust)
        return PitchedPolicyValue(
            clicks=trust * clicks, purchases=organic + trust * incr, incremental_purchases=trust * incr,
            organic_purchases=organic, returns=trust * float(w @ ret_u), trust=trust,
        )

    def judge_pitch(self, item: int, pitch: str) -> PitchJudgement:
        """The world's reading of a pitch for ``item``: the catalogue words it claims, faithful or invented.

        The judge reads the shop's own vocabulary; it is the truth, for grading methods, never their input.

        Raises:
            ValueError: for an item id out of range; TypeError: for a pitch that is not a string.

        Book: 05_recommendation_generation.ipynb, sec-gen-pitch
        """
        return judge_all(self, {item: pitch}, self.n_items_total)[item]

    # ----- simulation ---------------------------------------------------------------------------------------------

    def _logging_slates(self, users: np.ndarray, period: str, rng: np.random.Generator) -> np.ndarray:
        """k distinct items per session (systematic or conditional Poisson πps sampling), in a uniformly random slot
        order or ranked by the logger's score."""
        n = self.n_available(period)
        if period in self._odds:
            chosen = cps_sample(users, self._odds[period], self._odds_suffix[period], self.k, rng)
        else:
            u0 = rng.random(len(users))
            points = (users * self.k + u0)[:, None] + np.arange(self.k)[None, :]
            flat = np.searchsorted(self._cumulative[period], points, side="right")
            chosen = flat - users[:, None] * n
        if self._ranked:  # best-scored first; ties go to the lower item id
            order = np.lexsort((chosen, -self._score[period][users[:, None], chosen]), axis=1)
            return np.take_along_axis(chosen, order, axis=1)
        order = rng.permuted(np.broadcast_to(np.arange(self.k), chosen.shape).copy(), axis=1)
        return np.take_along_axis(chosen, order, axis=1)

    def _outcomes(
        self, users: np.ndarray, slates: np.ndarray, period: str, rng: np.random.Generator, extra=None
    ) -> dict[str, np.ndarray]:
        """Clicks, purchases (organic ∪ induced, less those the list removed) for sessions with given lists."""
        return session_outcomes(self, users, slates, period, rng, extra)

    def _simulate_period(self, period: str) -> ShopLogs:
        return simulate_period(self, period)

    def logs(self, period: str = "early") -> ShopLogs:
        """The shop's logs for a period (simulated once, then cached; identical for the same seed everywhere).

        Args:
            period: ``"early"`` (warm items only), ``"late"`` (cold-start items available) or ``"all"`` (both,
                concatenated; session ids and timestamps continue across periods).

        Returns:
            :class:`ShopLogs` with impressions, purchases, pairs, sessions, items and users tables.

        Raises:
            ValueError: for an unknown period.

        Book: 02_the_data.ipynb, sec-shop-logs
        """
        _check_period(period, LOG_PERIODS)
        if period == "all":
            early, late = self.logs("early"), self.logs("late")
            cat = lambda a, b: pd.concat([a, b], ignore_index=True)  # noqa: E731
            return ShopLogs(
                impressions=cat(early.impressions, late.impressions),
                purchases=cat(early.purchases, late.purchases),
                pairs=cat(early.pairs, late.pairs),
                sessions=cat(early.sessions, late.sessions),
                items=self.items,
                users=self.users,
                period="all",
            )
        if period not in self._logs_cache:
            self._logs_cache[period] = self._simulate_period(period)
        cached = self._logs_cache[period]
        return dataclasses.replace(
            cached,
            impressions=cached.impressions.copy(),
            purchases=cached.purchases.copy(),
            pairs=cached.pairs.copy(),
            sessions=cached.sessions.copy(),
        )

    def simulate_ab_test(
        self,
        policy_a: Any,
        policy_b: Any,
        n_sessions: int,
        rng: np.random.Generator | int,
        period: str = "early",
        unit: str = "session",
        pitches_a: Mapping[int, str] | None = None,
        pitches_b: Mapping[int, str] | None = None,
    ) -> ABTestResult:
        """Simulate an online A/B test of two policies on fresh sessions.

        Sessions are drawn from the session-user distribution; each is assigned to an arm with probability 1/2,
        per session (``unit="session"``) or per user (``unit="user"``, all of a user's sessions in one arm).

        Args:
            policy_a: control policy (scores, rankings or ``"logging"``; see :meth:`policy_value`).
            policy_b: treatment policy.
            n_sessions: total number of sessions (both arms).
            rng: the randomness (a ``numpy.random.Generator`` or an integer seed).
            period: ``"early"`` or ``"late"``.
            unit: ``"session"`` or ``"user"``.
            pitches_a, pitches_b: optional texts shown with each arm's items (item id -> pitch; see
                :meth:`policy_value`): the arms may differ only in their pitches, which is how a pitch is A/B-tested.
                Each arm is simulated in the long-run trust equilibrium of its own pitches, as if it served the whole
                shop (a user randomised by session meets both arms; the test then measures the long-run contrast,
                not what a short test would see).

        Returns:
            :class:`ABTestResult` with per-session outcomes and both policies' exact values
            (``.summary()`` gives means with clustered CIs next to the truth).

        Raises:
            ValueError: for bad policies, a non-positive ``n_sessions``, an unknown period or unit, or a pitch for an
                item id out of range.
            TypeError: for pitches that are not a mapping of item id -> string.

        Book: 02_the_data.ipynb, sec-shop-ab-test
        """
        from .experiments import simulate_ab_test

        _check_period(period)
        return simulate_ab_test(self, policy_a, policy_b, n_sessions, rng, period, unit, pitches_a, pitches_b)

    def __repr__(self) -> str:
        return (
            f"ShopWorld(seed={self.seed}, n_users={self.n_users}, n_items={self.n_items}, "
            f"n_cold_items={self.n_cold_items}, n_sessions={self.n_sessions}, "
            f"n_late_sessions={self.n_late_sessions}, k={self.k}"
            + (f", unshown_sampling={self.unshown_sampling!r})" if self.unshown_sampling != "uniform" else ")")
        )
