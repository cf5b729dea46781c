r"""The shop's response to the text shown with a recommendation (a *pitch*): a judge of its claims, the pitched truth,
returns and trust.
Book: 02_the_data.ipynb, sec-shop-world (the switches); 05_recommendation_generation.ipynb, sec-gen-pitch.

A pitch is judged by the world, which knows its own catalogue: a *claim* is a product word of the catalogue's
vocabulary (features and product names specific to at most two categories) or a quality adjective that the pitch
uses; a product word is *faithful* when the item's own title or description uses it (or names the item's product
under a synonym) and a quality adjective when it belongs to the item's own quality tier; otherwise it is
*invented*. Only the world judges (it reads its own
vocabulary); a method that checks pitches must learn what it knows from the texts. The item's own text is its
title, description and category (the facts a pitch writer is given).

With ``f = min(#faithful, 4) / 4`` and ``g = min(#invented, 4) / 4``, a pitch shown with item :math:`i` to user
:math:`u` shifts the attraction and purchase-intent logits by :math:`\lambda_p (f + g)\,\text{aff}_{ui}`
(``pitch_effect``: relevant claims persuade, true or not). A purchase the list sold on a pitch with invented claims
is returned with probability :math:`\lambda_r g` (``pitch_return``; a new outcome, ``returns``). Returns cost trust:
in the long run a user examines the shop's recommendations with probability :math:`T e_s`, where
:math:`T = 1 / (1 + \lambda_t R)` and :math:`R` is the expected number of returns per session under that policy
(``pitch_trust``). Since returns are proportional to examination, :math:`R = T R_1` and the equilibrium is the
positive root of :math:`\lambda_t R_1 T^2 + T - 1 = 0`. Every value stays exact.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy import special

from .._checks import check_int
from .catalogue import (
    _CATEGORY_LIST,
    _EXPERIENCES,
    _FEATURES,
    _FILLERS,
    _GENERIC_USES,
    _INTROS,
    _MODELS,
    _OCCASIONS,
    _QUALITY_ADJECTIVES,
    _USES,
)
from .logs import PolicyValue
from .outcomes import exposed_purchase, substitution_loss

__all__ = ["PitchJudgement", "PitchedPolicyValue"]

_CAP = 4  # claims beyond four add nothing
_WORD = re.compile(r"[a-z]+(?:-[a-z]+)?")
_STOP = frozenset(
    "a an and the for with of to in on at by from your you our this that these those is are be it its one any "
    "who all into over under after before more most very than as or up out off".split()
)


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if len(w) > 2 and w not in _STOP}


@functools.cache
def _lexicon() -> tuple[frozenset[str], tuple[tuple[tuple[str, frozenset[str]], ...], ...]]:
    """The judge's vocabulary (never a method's): the words of product claims, and per category its product groups
    as (synonym phrases, their words).

    A claim word is a word of a category's features or product names that at most two categories use and that the
    generic sentences every item may carry do not use ("long", "day", "home" are not claims). Quality adjectives are
    judged apart, by tier (:func:`judge`).
    """
    cats: dict[str, set[int]] = {}
    for j, c in enumerate(_CATEGORY_LIST):
        for phrase in (*c.features, *(s for _, syns in c.products for s in syns)):
            for w in _words(phrase):
                cats.setdefault(w, set()).add(j)
    generic: set[str] = set()
    for pool in (_OCCASIONS, _EXPERIENCES, _GENERIC_USES, _FILLERS, _INTROS, _FEATURES, _USES, _MODELS):
        for text in pool:
            generic |= _words(str(text))
    claims = {w for w, where in cats.items() if len(where) <= 2 and w not in generic}
    groups = tuple(
        tuple((syns, frozenset(w for s in syns for w in _words(s))) for _, syns in c.products) for c in _CATEGORY_LIST
    )
    return frozenset(claims), groups


def _quality_claims(pitch: str) -> set[tuple[int, str]]:
    """The quality adjectives a pitch uses, with their tier (0 very low .. 4 very high)."""
    text = f" {pitch.lower()} "
    return {(tier, adj) for tier, adjs in enumerate(_QUALITY_ADJECTIVES) for adj in adjs
            if re.search(rf"(?<![a-z-]){re.escape(adj)}(?![a-z-])", text)}


@dataclasses.dataclass(frozen=True)
class PitchJudgement:
    """The world's reading of one pitch: the catalogue words it claims, faithful (in the item's own text) or not.

    Attributes:
        item: the item id.
        faithful: claimed words that the item's title or description also uses.
        invented: claimed words that it does not.
        f, g: ``min(#faithful, 4) / 4`` and ``min(#invented, 4) / 4``, the doses in the response equations.
    """

    item: int
    faithful: frozenset[str]
    invented: frozenset[str]

    @property
    def f(self) -> float:
        return min(len(self.faithful), _CAP) / _CAP

    @property
    def g(self) -> float:
        return min(len(self.invented), _CAP) / _CAP


@dataclasses.dataclass(frozen=True)
class PitchedPolicyValue(PolicyValue):
    """:class:`PolicyValue` of a list shown with pitches, in the long-run trust equilibrium.

    ``purchases`` counts a purchase that is later returned as made (as a shop's order log would); maximising it
    rewards invented claims, so judge pitches by :attr:`kept_purchases` or by ``returns`` beside it.

    Attributes:
        returns: expected returns per session (purchases sold on invented claims and sent back).
        trust: the equilibrium examination multiplier ``T`` in (0, 1] (1 when nothing is returned).
    """

    returns: float = 0.0
    trust: float = 1.0

    @property
    def kept_purchases(self) -> float:
        """Purchases per session less those returned (``purchases`` counts a returned purchase as made)."""
        return self.purchases - self.returns


def judge(item_text: str, pitch: str, item: int, category: int, tier: int) -> PitchJudgement:
    """Judge one pitch against its item's title, description and quality tier (see the module docstring).

    A claimed product word is faithful when the item's own text uses it, or when it names the item's own product
    under a synonym (an item described as "running shoes" may be called "trainers"); a quality adjective is
    faithful when it belongs to the item's own tier ("decent" for a mid-range item) or the item's text uses it,
    invented otherwise. The judge
    counts claims, not how they are made: negations are not read; prices, and claims in words the shop's catalogue
    never uses (Bluetooth, a warranty, Italian marble), are not read at all, so a model that invents outside the
    shop's vocabulary goes unpunished (on chapter 05's labelled pitches, with the item's category as part of its
    text: 24 of 24 supported pitches judged faithful, 5 of 5 wrong quality claims and 2 of 7 invented features caught,
    0 of 6 wrong materials and 0 of 6 wrong prices; ``tests/test_world_pitch.py`` recounts them); and a pitch that
    repeats the item's own words counts as fully faithful.
    """
    if not isinstance(pitch, str):
        raise TypeError(f"pitches[{item}] must be a string, got {type(pitch).__name__}")
    claims, groups = _lexicon()
    claimed = _words(pitch) & claims
    text = item_text.lower()
    own = _words(item_text)
    for syns, words in groups[category]:
        if any(syn.lower() in text for syn in syns):
            own = own | words
    # a quality word is faithful in the item's own tier, or where the item's text itself uses it (a "Budget" line)
    in_text = {a for _, a in _quality_claims(item_text)}
    quality = {(t == tier or adj in in_text, adj) for t, adj in _quality_claims(pitch)}
    faithful = (claimed & own) | {adj for ok, adj in quality if ok}
    invented = (claimed - own) | {adj for ok, adj in quality if not ok}
    return PitchJudgement(item=item, faithful=frozenset(faithful), invented=frozenset(invented))


def judge_all(world: Any, pitches: Mapping[int, str] | None, n: int) -> dict[int, PitchJudgement]:
    """Judgements of a mapping item id -> pitch text (items of the period only)."""
    if pitches is None:
        return {}
    if not isinstance(pitches, Mapping):
        raise TypeError(f"pitches must be a mapping of item id -> pitch text, got {type(pitches).__name__}")
    items = world.items
    out = {}
    for item, text in pitches.items():
        item = check_int("pitches: item id", item, 0, n - 1)
        row = items.iloc[item]
        # the category is one of the item's stated facts (the pitch writer is given it): naming it invents nothing
        out[item] = judge(f"{row['title']} {row['description']} {row['category']}", text, item,
                          int(world._category[item]), int(world._tier[item]))
    return out


def pitched_arrays(world: Any, judged: Mapping[int, PitchJudgement], period: str) -> dict[str, np.ndarray]:
    """The truth a list with these pitches faces, ``(n_users, n_available)`` each: ``relevance``, ``zeta`` (P(the
    list sells it | examined)), ``net_uplift`` and ``return_prob`` (of a sold purchase)."""
    p = world.params
    n = world.n_available(period)
    rel = world._relevance[:, :n]
    zeta = world._zeta[:, :n]
    net = world.net_uplift(period)
    ret = np.zeros((world.n_users, n))
    if not judged:
        return dict(relevance=rel, zeta=zeta, net_uplift=net, return_prob=ret)
    rel, zeta, net = rel.copy(), zeta.copy(), net.copy()
    cols = np.array(sorted(judged))
    dose = np.array([judged[i].f + judged[i].g for i in cols])
    g = np.array([judged[i].g for i in cols])
    aff = world._affinity[:, cols]
    shift = p.pitch_effect * dose[None, :] * aff
    rel[:, cols] = special.expit(world._rel_logit[:, cols] + shift)
    intent = special.expit(world._intent_logit[:, cols] + shift)
    p0 = world._p_without[:, cols]
    p_with, new_zeta = exposed_purchase(p0, intent, world._awareness[None, cols], world._responsiveness[:, None], aff,
                                        p.reactance, world.k)
    others = world._category_others(period)[:, cols]
    net[:, cols] = p_with - p0 - substitution_loss(new_zeta, others, p.substitution, world.k)
    zeta[:, cols] = new_zeta
    ret[:, cols] = p.pitch_return * g[None, :]
    return dict(relevance=rel, zeta=zeta, net_uplift=net, return_prob=ret)


def equilibrium_trust(returns_at_full_trust: float, strength: float) -> float:
    """The positive root ``T`` of ``strength * R1 * T**2 + T - 1 = 0`` (``T = 1`` when either is 0)."""
    x = strength * returns_at_full_trust
    if x <= 0:
        return 1.0
    return float(2.0 / (1.0 + np.sqrt(1.0 + 4.0 * x)))  # the same root, without cancellation for small x
