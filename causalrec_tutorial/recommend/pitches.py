r"""Grounded pitches: one sentence per recommendation from the item's own facts, and a check of its claims.
Book: 05_recommendation_generation.ipynb, sec-gen-pitch, sec-gen-faithfulness; 07_case_study.ipynb

**Grounded text.** :func:`write_pitch` asks the generator for one sentence from the user's interests and the
item's own facts (:data:`SHOP_PITCH`); :func:`check_faithfulness` extracts the pitch's *claims* — numbers and
prices, materials, product features, product kinds and quality words — and requires each to be supported by the
item's text (see its docstring); :func:`recommend_pitch` falls back to :func:`template_pitch` (built only from
item facts) when a claim is unsupported.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .. import columns as C
from ..lm import prompts as _prompts
from ..lm.prompts import PromptTemplate
from .text_quality import (
    _find_phrases,
    _quality_lexicon,
    _world_vocab,
    text_quality_tier,
)

SHOP_PITCH = _prompts.SHOP_PITCH

__all__ = [
    "FaithfulnessVerdict", "SHOP_PITCH", "check_faithfulness", "item_fact_text", "recommend_pitch", "template_pitch",
    "write_pitch",
]


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
    if not isinstance(item, (Mapping, pd.Series)):
        raise TypeError(f"item must be a mapping or a pandas Series with title and description, got "
                        f"{type(item).__name__}")
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
    if interests is not None and not isinstance(interests, str):
        raise TypeError(f"interests must be a string (or None), got {type(interests).__name__}")
    if not isinstance(pitch, str) or not pitch.strip():
        raise ValueError("pitch must be a non-empty string")
    if not isinstance(item_text, (str, Mapping, pd.Series)):
        raise TypeError(f"item_text must be the item's text or its row (a mapping), got {type(item_text).__name__}")
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
    item_fact_text(item)  # validates
    item = dict(item)
    first = re.split(r"(?<=[.!?])\s+", str(item[C.DESCRIPTION]).strip())[0]
    if interests is not None and not isinstance(interests, str):
        raise TypeError(f"interests must be a string (or None), got {type(interests).__name__}")
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
    if not isinstance(text, str):
        raise TypeError(f"generator.generate must return a string, got {type(text).__name__}")
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
