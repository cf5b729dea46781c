r"""The quality a shop text states, read by a lexicon of quality words (the shop's tier words and synonyms).
Book: 05_recommendation_generation.ipynb, sec-gen-uplift, sec-gen-faithfulness

Used as an uplift feature (:mod:`.uplift`) and by the faithfulness check (:mod:`.pitches`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["text_quality_tier"]



def _world_vocab():
    """The shop's own wording (quality tiers, product groups, features), from :func:`.world.text_vocabulary`."""
    from ..world import text_vocabulary

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
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    lex = _quality_lexicon()
    tiers = [lex[p] for _, p in _find_phrases(text, lex)]
    if not tiers:
        return float("nan")
    counts = np.bincount(tiers, minlength=5)
    return float(np.mean(np.flatnonzero(counts == counts.max())))

