"""The shop's catalogue: its categories and the writer of item titles and descriptions.
Book: 02_the_data.ipynb, sec-shop-world, sec-shop-items; 05_recommendation_generation.ipynb, sec-gen-pitch.

The vocabulary is data (``catalogue.yaml`` beside this module); this module reads it and writes texts from it.
"""

from __future__ import annotations

import dataclasses
import functools
from importlib import resources
from typing import Any

import numpy as np
import yaml

__all__ = ["CATEGORIES", "TextVocabulary", "text_vocabulary"]


@dataclasses.dataclass(frozen=True)
class _Category:
    name: str
    base_price: float
    sibling: str
    products: tuple[tuple[str, tuple[str, ...]], ...]
    modifiers: tuple[str, ...]
    people: tuple[str, ...]
    uses: tuple[str, ...]
    features: tuple[str, ...]
    places: tuple[str, ...]
    title_adjectives: tuple[str, ...] = ()
    title_nouns: tuple[str, ...] = ()


def _tuples(x: Any) -> Any:
    """Lists (at any depth) as tuples, so that the vocabulary is immutable."""
    if isinstance(x, list):
        return tuple(_tuples(v) for v in x)
    if isinstance(x, dict):
        return {k: _tuples(v) for k, v in x.items()}
    return x


@functools.cache
def _vocabulary() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("catalogue.yaml").read_text(encoding="utf-8")
    return _tuples(yaml.safe_load(text))


def _category(d: dict[str, Any]) -> _Category:
    return _Category(
        name=d["name"],
        base_price=float(d["base_price"]),
        sibling=d["sibling"],
        products=tuple((p["kind"], tuple(p["synonyms"])) for p in d["products"]),
        modifiers=d["title_modifiers"],
        people=d["people"],
        uses=d["uses"],
        features=d["features"],
        places=d["places"],
        title_adjectives=d.get("title_adjectives", ()),
        title_nouns=d.get("title_nouns", ()),
    )


_V = _vocabulary()
_CATEGORY_LIST: tuple[_Category, ...] = tuple(_category(d) for d in _V["categories"])

#: The category names, in the order of the topic dimensions.
CATEGORIES: tuple[str, ...] = tuple(c.name for c in _CATEGORY_LIST)
_CAT_INDEX = {name: j for j, name in enumerate(CATEGORIES)}

_INTROS = _V["intro_sentences"]
_FEATURES = _V["feature_sentences"]
_USES = _V["usage_sentences"]
# Generic sentences shared by all categories (large pools, so that their words are as rare as category words and
# bag-of-words similarity is not dominated by the category).
_OCCASIONS = _V["occasions"]
_EXPERIENCES = _V["experiences"]
_GENERIC_USES = _V["generic_usage_sentences"]
_FILLERS = _V["fillers"]
_MODELS = _V["model_names"]
# Quality phrasing: kind -> five tiers (very low .. very high) -> synonyms. Quality also shows in the first sentence
# (an adjective) and in the title (a line name, or an edition for books): one sentence alone is too faint for a
# mean-pooled sentence encoder.
_QUALITY = _V["quality_sentences"]
_QUALITY_ADJECTIVES = _V["quality_adjectives"]
_TITLE_LINES = _V["title_lines"]
_TITLE_EDITIONS = _V["title_editions"]
_SYLLABLES = _V["brand_syllables"]

_P_CATEGORY_USAGE = 0.3  # share of descriptions whose usage sentence is category-specific (else generic)
_P_CATEGORY_MODEL = 0.3  # share of titles with a category model name (else a generic one)
_QUALITY_CUTS = np.array([-1.0, -0.35, 0.35, 1.0])  # q + noise -> tier 0..4
_N_BRANDS = 60


@dataclasses.dataclass(frozen=True)
class TextVocabulary:
    """The words the shop writes its item texts with (read-only; for text checks such as a faithfulness checker).

    Attributes:
        quality_adjectives: per quality tier 0 (very low) .. 4 (very high), the adjectives of a description's first
            sentence.
        title_lines: per tier, the product-line words a title may carry (tier 2 has none).
        features: per category, the feature phrases its descriptions mention.
        product_groups: per category, the product groups, each a tuple of synonyms (``"trainers"``, ...).

    Book: 05_recommendation_generation.ipynb, sec-gen-pitch
    """

    quality_adjectives: tuple[tuple[str, ...], ...]
    title_lines: tuple[tuple[str, ...], ...]
    features: dict[str, tuple[str, ...]]
    product_groups: dict[str, tuple[tuple[str, ...], ...]]


def text_vocabulary() -> TextVocabulary:
    """The shop's text vocabulary (see :class:`TextVocabulary`)."""
    return TextVocabulary(
        quality_adjectives=_QUALITY_ADJECTIVES,
        title_lines=_TITLE_LINES,
        features={c.name: c.features for c in _CATEGORY_LIST},
        product_groups={c.name: tuple(syns for _, syns in c.products) for c in _CATEGORY_LIST},
    )





def _is_plural(phrase: str) -> bool:
    last = phrase.split()[-1]
    return last == "dice" or (last.endswith("s") and not last.endswith("ss"))


def _article(phrase: str) -> str:
    if _is_plural(phrase):
        return phrase
    return ("an " if phrase[0].lower() in "aeiou" else "a ") + phrase


def _title_case(phrase: str) -> str:
    return " ".join(w[0].upper() + w[1:] for w in phrase.split())


def _pick(rng: np.random.Generator, seq):
    return seq[int(rng.integers(len(seq)))]


def _brands(rng: np.random.Generator) -> list[str]:
    names: list[str] = []
    while len(names) < _N_BRANDS:
        n_syl = 2 + int(rng.random() < 0.3)
        name = "".join(_pick(rng, _SYLLABLES) for _ in range(n_syl)).capitalize()
        if name not in names:
            names.append(name)
    return names


def _describe(cat: _Category, tier: int, brand: str, rng: np.random.Generator) -> tuple[str, str]:
    """Title and 30–60-word description of one item."""
    kind, syns = _pick(rng, cat.products)
    if cat.title_nouns:
        title = f"The {_pick(rng, cat.title_adjectives)} {_pick(rng, cat.title_nouns)}"
        if _TITLE_EDITIONS[tier]:
            title += " " + _pick(rng, _TITLE_EDITIONS[tier])
    else:
        line = _pick(rng, _TITLE_LINES[tier]) + " " if _TITLE_LINES[tier] else ""
        model = _pick(rng, cat.modifiers) if rng.random() < _P_CATEGORY_MODEL else _pick(rng, _MODELS)
        title = f"{brand} {line}{model} {_title_case(_pick(rng, syns))}"
    product = f"{_pick(rng, _QUALITY_ADJECTIVES[tier])} {_pick(rng, syns)}"
    uses = rng.choice(len(cat.uses), size=2, replace=False)
    feats = rng.choice(len(cat.features), size=2, replace=False)
    plural = _is_plural(product)
    fill = {
        "a_product": _article(product),
        "A_product": _article(product)[0].upper() + _article(product)[1:],
        "This_product_is": f"These {product} are" if plural else f"This {product} is",
        "This_one_suits": "These suit" if plural else "This one suits",
        "people": _pick(rng, cat.people),
        "use": cat.uses[uses[0]],
        "use2": cat.uses[uses[1]],
        "place": _pick(rng, cat.places),
        "f1": cat.features[feats[0]],
        "f2": cat.features[feats[1]],
    }
    occasions = rng.choice(len(_OCCASIONS), size=2, replace=False)
    exps = rng.choice(len(_EXPERIENCES), size=2, replace=False)
    fill.update(
        occasion=_OCCASIONS[occasions[0]],
        occasion2=_OCCASIONS[occasions[1]],
        exp1=_EXPERIENCES[exps[0]],
        exp2=_EXPERIENCES[exps[1]],
    )
    category_usage = rng.random() < _P_CATEGORY_USAGE
    usage = _pick(rng, _USES if category_usage else _GENERIC_USES).format(**fill)
    sentences = [
        _pick(rng, _INTROS).format(**fill),
        _pick(rng, _FEATURES).format(**fill),
        _pick(rng, _QUALITY[kind][tier]),
        usage,
    ]
    order = rng.permutation(3) + 1  # the intro stays first; the rest in random order
    sentences = [sentences[0]] + [sentences[j] for j in order]
    fillers = list(rng.permutation(len(_FILLERS)))
    n_words = sum(len(s.split()) for s in sentences)
    while n_words < 30:
        s = _FILLERS[fillers.pop()]
        sentences.append(s)
        n_words += len(s.split())
    if rng.random() < 0.3 and n_words + 6 <= 60:  # an occasional closing line, for variety
        s = _FILLERS[fillers.pop()]
        sentences.append(s)
        n_words += len(s.split())
    if n_words > 60:  # drop the usage sentence (never the quality one)
        sentences.remove(usage)
    return title, " ".join(sentences)

