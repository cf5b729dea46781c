r"""Grounded pitches: one sentence per recommendation from the item's own facts, and a check of its claims.
Book: 05_recommendation_generation.ipynb, sec-gen-pitch, sec-gen-faithfulness, sec-gen-pitch-ab; 07_case_study.ipynb

**Grounded text.** :func:`write_pitch` asks the generator for one sentence from the user's interests and the
item's own facts (:data:`SHOP_PITCH`); :func:`check_faithfulness` extracts the pitch's *claims* — numbers and
prices, and the words that describe products — and requires each to be supported by the item's own text (see its
docstring); :func:`recommend_pitch` falls back to :func:`template_pitch` (built only from item facts) when a claim
is unsupported.

**What the checker knows.** Only what a shop has: its catalogue (titles, descriptions and categories, as logged;
:func:`claim_lexicon`) and a short list of general English product words written for the checker (materials,
features a writer often invents, quality adjectives). It never reads the simulator's vocabulary: the world's
judge (:meth:`..world.ShopWorld.judge_pitch`) does, and chapter 05 grades the checker against it on real pitches.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .. import columns as C
from .._checks import check_int
from ..lm import prompts as _prompts
from ..lm.prompts import PromptTemplate

SHOP_PITCH = _prompts.SHOP_PITCH

__all__ = [
    "ClaimLexicon", "FaithfulnessVerdict", "SHOP_PITCH", "check_faithfulness", "claim_lexicon", "item_fact_text",
    "recommend_pitch", "template_pitch", "write_pitch",
]

#: General English product words that a pitch may claim, written for the checker (not taken from any catalogue):
#: materials, features that writers often invent, and quality adjectives (praise and criticism alike).
GENERAL_CLAIM_WORDS = frozenset("""
steel stainless cast-iron iron cork rubber mesh wood wooden oak bamboo walnut leather suede cotton wool merino silk
linen nylon polyester canvas ceramic porcelain glass plastic silicone foam titanium aluminium aluminum carbon copper
brass marble granite gore-tex fleece enamel enamelled recycled organic graphite
waterproof water-resistant breathable lightweight featherweight wireless bluetooth rechargeable usb gps non-stick
non-slip dishwasher-safe machine-washable handmade hand-crafted handcrafted warranty lifetime eco-friendly vegan
gluten-free fair-trade adjustable foldable collapsible insulated reflective padded cushioned ergonomic heated solar
smart touchscreen autographed illustrated hardback paperback decaf caffeine-free sugar-free limited exclusive
bestseller bestselling patented certified imported italian japanese french swiss german
premium luxury luxurious deluxe excellent exceptional superb outstanding first-rate top-notch top-quality
high-quality high-end high-grade well-made well-crafted durable sturdy robust long-lasting reliable dependable
decent mid-range basic budget cheap no-frills entry-level inexpensive bargain shoddy flimsy low-grade second-rate
poor award-winning world-class finest professional
""".split())
#: Common English words that make no claim about a product, whatever a small catalogue's counts say.
_STOP = frozenset("""
a an the and or of for with to in on at by from as that this it its is are be plus along well which who over
hundred every each your you our these those one any all into under after before more most very than up out off
also just like much many lot lots get gets got make makes made use uses used using can could will would should may
might must has have had was were been being not but what when where how why about some such only own same other
so too then now here there their they them his her him she he we us my me it's way ways through thing things
good great nice fine best better new easy ideal perfect love loves lovely option options choice pick gift
""".split())
_NUMBER_WORDS = {
    "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "hundred": 100,
    "thousand": 1000, "dozen": 12, "dozens": 12,
}
_NUM_RE = re.compile(r"[$£€]?\s?\d+(?:[.,]\d+)?")


def _stem(word: str) -> str:
    w = word.lower().strip("-'")
    for suffix in ("ers", "ing", "er", "ed", "es", "s"):
        if len(w) > len(suffix) + 2 and w.endswith(suffix):
            return w[: -len(suffix)]
    return w


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+(?:-[a-z0-9]+)*", text.lower())


def _stems(text: str) -> set[str]:
    """The stems of a text's words and of the parts of its hyphenated words."""
    return {_stem(part) for tok in _tokens(text) for part in {tok, *tok.split("-")}}


@dataclasses.dataclass(frozen=True)
class ClaimLexicon:
    """The words whose use in a pitch is a claim about the item, learned from a catalogue (:func:`claim_lexicon`).

    Attributes:
        specific: stems of the catalogue's *specific* words: used by the items of at most ``max_categories``
            categories (product names, features, materials, brand names); words that every kind of item shares
            ("everyday", "perfect") are not claims.
        general: stems of :data:`GENERAL_CLAIM_WORDS`.
        n_items: how many catalogue items it was learned from.
        max_categories: the rule's threshold.

    Book: 05_recommendation_generation.ipynb, sec-gen-faithfulness
    """

    specific: frozenset[str]
    general: frozenset[str]
    n_items: int
    max_categories: int

    @property
    def stems(self) -> frozenset[str]:
        return self.specific | self.general


_GENERAL_ONLY = ClaimLexicon(frozenset(), frozenset(_stem(w) for w in GENERAL_CLAIM_WORDS), 0, 0)


def claim_lexicon(items: pd.DataFrame, max_categories: int = 2) -> ClaimLexicon:
    """Learn which words make claims from a catalogue: the logged ``title``, ``description`` and ``category``.

    A word (stemmed, three letters or more, not a stop word or a number) is *specific* when the items that use it
    belong to at most ``max_categories`` categories; together with :data:`GENERAL_CLAIM_WORDS` these are the
    claim words of :func:`check_faithfulness`.

    Args:
        items: one row per item with ``title``, ``description`` and ``category`` (the shop's catalogue as logged,
            e.g. ``logs.items``; any catalogue of the same shape).
        max_categories: at most this many categories may use a specific word.

    Raises:
        TypeError: if ``items`` is not a DataFrame.
        ValueError: if it lacks a column or has no rows.

    Book: 05_recommendation_generation.ipynb, sec-gen-faithfulness
    """
    if not isinstance(items, pd.DataFrame):
        raise TypeError(f"items must be a pandas DataFrame of the catalogue, got {type(items).__name__}")
    missing = [c for c in (C.TITLE, C.DESCRIPTION, C.CATEGORY) if c not in items.columns]
    if missing:
        raise ValueError(f"items lacks the column(s) {missing}; it needs title, description and category")
    if len(items) == 0:
        raise ValueError("items has no rows: the lexicon is learned from a catalogue")
    max_categories = check_int("max_categories", max_categories, 1)
    used_by: dict[str, set] = {}
    for title, desc, cat in zip(items[C.TITLE].astype(str), items[C.DESCRIPTION].astype(str), items[C.CATEGORY]):
        for st in _stems(f"{title} {desc}"):
            if len(st) >= 3 and st not in _STOP and not st.isdigit() and st not in _NUMBER_WORDS:
                used_by.setdefault(st, set()).add(cat)
    specific = frozenset(w for w, cats in used_by.items() if len(cats) <= max_categories)
    return ClaimLexicon(specific=specific, general=_GENERAL_ONLY.general, n_items=int(len(items)),
                        max_categories=max_categories)


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
    lexicon: ClaimLexicon | None = None,
) -> FaithfulnessVerdict:
    """Flag the claims of a recommendation pitch that the item's own text does not support.

    Claims are found by rules (deterministic, no model), and each needs support in the item's text:

    * **numbers and prices** (``$34.99``, ``30``, "thirty"): the same number must occur in the item text (digits or
      words; prices to the cent);
    * **product words**: a word of the ``lexicon`` (the catalogue's specific words, :func:`claim_lexicon`, and the
      general list :data:`GENERAL_CLAIM_WORDS` of materials, invented features and quality adjectives) must occur
      in the item text, up to a simple stem ("pruning" supports "pruners" only if both stem alike; a hyphenated word
      is supported by its parts).

    The rule is strict: a synonym ("trainers" for an item described as "running shoes") or another word of the same
    quality ("sturdy" for "well-made") is unsupported. Words that occur in ``interests`` are about the user, not the
    item, and are not claims. Without a ``lexicon`` only numbers and the general list are read.

    Args:
        pitch: the recommendation text.
        item_text: the item's text (title, description, category, price), or an item row (see
            :func:`item_fact_text`).
        interests: the user's interest summary given to the writer, if any.
        lexicon: the claim words learned from the shop's catalogue (:func:`claim_lexicon`).

    Returns:
        :class:`FaithfulnessVerdict`.

    Raises:
        ValueError: for an empty pitch or item text.
        TypeError: for arguments of the wrong type.

    Book: 05_recommendation_generation.ipynb, sec-gen-faithfulness
    """
    if interests is not None and not isinstance(interests, str):
        raise TypeError(f"interests must be a string (or None), got {type(interests).__name__}")
    if lexicon is not None and not isinstance(lexicon, ClaimLexicon):
        raise TypeError(f"lexicon must be a ClaimLexicon from claim_lexicon(items), got {type(lexicon).__name__}")
    if not isinstance(pitch, str) or not pitch.strip():
        raise ValueError("pitch must be a non-empty string")
    if not isinstance(item_text, (str, Mapping, pd.Series)):
        raise TypeError(f"item_text must be the item's text or its row (a mapping), got {type(item_text).__name__}")
    text = item_fact_text(item_text) if not isinstance(item_text, str) else item_text
    if not text.strip():
        raise ValueError("item_text must be a non-empty string")
    claim_stems = (lexicon or _GENERAL_ONLY).stems
    item_low = text.lower()
    item_stems = _stems(text)
    interest_stems = _stems(interests) if interests else set()
    item_numbers = set(np.round(_numbers(text), 2)) | {
        float(v) for w, v in _NUMBER_WORDS.items() if re.search(rf"\b{w}\b", item_low)}
    claims, unsupported = [], []

    def claim(kind: str, phrase: str, ok: bool) -> None:
        c = f"{kind}: {phrase}"
        claims.append(c)
        if not ok:
            unsupported.append(c)

    for v in _numbers(pitch):
        claim("number", f"{v:g}", round(v, 2) in item_numbers)
    for w, v in _NUMBER_WORDS.items():
        if re.search(rf"\b{w}\b", pitch.lower()) and _stem(w) not in interest_stems:
            claim("number", w, float(v) in item_numbers)
    seen = set()
    for tok in _tokens(pitch):
        st = _stem(tok)
        parts = [_stem(p) for p in tok.split("-")] if "-" in tok else []
        if st in seen or st in interest_stems or tok.isdigit():
            continue
        if st not in claim_stems and not any(p in claim_stems for p in parts):
            continue
        seen.add(st)
        ok = st in item_stems or tok in item_low or bool(parts) and all(p in item_stems for p in parts)
        claim("word", tok, ok)
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
    lexicon: ClaimLexicon | None = None,
) -> tuple[str, FaithfulnessVerdict, bool]:
    """Write a pitch, check it against the item's text (with ``lexicon``, see :func:`check_faithfulness`), and fall
    back to :func:`template_pitch` if it fails.

    Returns:
        ``(text, verdict of the LM pitch, used_fallback)``.

    Book: 05_recommendation_generation.ipynb, sec-gen-faithfulness
    """
    pitch = write_pitch(generator, interests, item, max_new_tokens=max_new_tokens)
    if not pitch:
        return template_pitch(item, interests), FaithfulnessVerdict(False, (), ("empty pitch",)), True
    verdict = check_faithfulness(pitch, item, interests=interests, lexicon=lexicon)
    if verdict.supported:
        return pitch, verdict, False
    return template_pitch(item, interests), verdict, True
