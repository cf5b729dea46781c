r"""The shop's response to the text shown with a recommendation (a *pitch*): a judge of its claims, the pitched truth,
returns and trust.
Book: 02_the_data.ipynb, sec-shop-world (the switches); 05_recommendation_generation.ipynb, sec-gen-pitch.

A pitch is judged by the world, which knows its own catalogue: a *claim* is a word of the catalogue's vocabulary
(product names, features, uses, audiences, places, quality adjectives) that the pitch uses; it is *faithful* when
the item's own title or description uses it too and *invented* otherwise. Only the world judges (it reads its own
vocabulary); a method that checks pitches must learn what it knows from the texts.

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
from .catalogue import _CATEGORY_LIST, _QUALITY_ADJECTIVES
from .logs import PolicyValue

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
def _claim_words() -> frozenset[str]:
    """The catalogue's vocabulary of claims (the judge's, never a method's)."""
    out: set[str] = set()
    for c in _CATEGORY_LIST:
        for phrase in (*c.features, *c.uses, *c.people, *c.places, *(s for _, syns in c.products for s in syns)):
            out |= _words(phrase)
    for tier in _QUALITY_ADJECTIVES:
        for adj in tier:
            out |= _words(adj)
    return frozenset(out)


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

    Attributes:
        returns: expected returns per session (purchases sold on invented claims and sent back).
        trust: the equilibrium examination multiplier ``T`` in (0, 1] (1 when nothing is returned).
    """

    returns: float = 0.0
    trust: float = 1.0


def judge(item_text: str, pitch: str, item: int) -> PitchJudgement:
    """Judge one pitch against its item's title and description (see the module docstring)."""
    if not isinstance(pitch, str):
        raise TypeError(f"pitches[{item}] must be a string, got {type(pitch).__name__}")
    claimed = _words(pitch) & _claim_words()
    own = _words(item_text)
    return PitchJudgement(item=item, faithful=frozenset(claimed & own), invented=frozenset(claimed - own))


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
        out[int(item)] = judge(f"{row['title']} {row['description']}", text, int(item))
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
    a = world._awareness[None, cols]
    p0 = world._p_without[:, cols]
    p1 = intent * (a + (1.0 - a) * world._responsiveness[:, None])
    new_zeta = (p1 - p0) / (1.0 - p0)
    own = (1.0 - p0) * new_zeta - p0 * p.reactance * (1.0 - aff) / world.k
    # substitution: each sale replaces organic purchases of the category's other items (see world.outcomes)
    net[:, cols] = own - p.substitution / world.k * new_zeta * world._category_others(period)[:, cols]
    zeta[:, cols] = new_zeta
    ret[:, cols] = p.pitch_return * g[None, :]
    return dict(relevance=rel, zeta=zeta, net_uplift=net, return_prob=ret)


def equilibrium_trust(returns_at_full_trust: float, strength: float) -> float:
    """The positive root ``T`` of ``strength * R1 * T**2 + T - 1 = 0`` (``T = 1`` when either is 0)."""
    x = strength * returns_at_full_trust
    if x <= 0:
        return 1.0
    return float((np.sqrt(1.0 + 4.0 * x) - 1.0) / (2.0 * x))
