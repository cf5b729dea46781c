"""Write tests/data/pitches.json: a labelled set of product pitches for ``crt.recommend.check_faithfulness``.

The pitches are written by rules from this script (not by the LM), for the first items of
``ShopWorld(seed=1, n_items=60)`` (item texts are prefix-stable, so the world's other sizes do not matter), so the
set is stable. For each of 20 items: one *supported* pitch (paraphrased from the item's own facts: a synonym of its
product, a feature phrase from its description, a quality word of the same tier, its price, sometimes a clause about
the user's interests) and one *unsupported* pitch with exactly one corrupted claim, cycling through four kinds:
wrong price, invented feature, wrong material, wrong quality claim. A few extra hand-written pitches (at the end)
use wording that is not in the shop's vocabulary. Each record names the corrupted claim.

Run from the repository root: ``.venv/bin/python tests/data/make_pitches.py``.
"""

import json
import pathlib
import re

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from causalrec_tutorial import recommend as R
from causalrec_tutorial import world as W
from causalrec_tutorial.world.catalogue import _CATEGORY_LIST

OUT = pathlib.Path(__file__).with_name("pitches.json")


# The tier a text states, read with the shop's own vocabulary: test data may read the world (only methods may not).
# This is the package's former ``text_quality`` module, kept here so that the stored set can be rewritten as it was.
def _world_vocab():
    """The shop's own wording (quality tiers, product groups, features), from :func:`.world.text_vocabulary`."""
    from causalrec_tutorial.world import text_vocabulary

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

QUALITY_BY_TIER = {
    0: ["shoddy", "flimsy", "cheap"],
    1: ["no-frills", "basic", "entry-level"],
    2: ["decent", "dependable", "mid-range"],
    3: ["well-made", "durable", "sturdy"],
    4: ["premium", "luxurious", "top-of-the-range"],
}
OPPOSITE = {0: ["premium", "top-notch"], 1: ["luxurious", "excellent"], 2: ["luxury", "shoddy"],
            3: ["flimsy", "second-rate"], 4: ["shoddy", "bargain-bin no-frills"]}
INVENTED = ["a lifetime warranty", "Bluetooth connectivity", "a waterproof coating", "a rechargeable battery",
            "a handmade finish", "a foldable design", "an ergonomic handle", "GPS tracking"]
MATERIALS = ["solid oak", "bamboo", "genuine leather", "titanium", "merino wool", "organic cotton",
             "Italian marble", "recycled plastic"]
TEMPLATES = [
    "{lead}the {title} is a {quality} {product} with {feature}, for {price}.",
    "{lead}try this {quality} {product}: it offers {feature}, and costs {price}.",
    "A {quality} {product} at {price}, with {feature} - {lead_lower}a lovely pick.",
    "{lead}you will enjoy the {title}, a {quality} {product} featuring {feature} ({price}).",
    "For {price} you get a {quality} {product} with {feature}; {lead_lower}worth a look.",
]


def product_group(cat, title, description):
    text = (title + " " + description).lower()
    for _, syns in cat.products:
        if any(re.search(r"\b" + re.escape(s.lower()) + r"\b", text) for s in syns):
            return [s for s in syns]
    return [cat.products[0][1][0]]


def main():
    world = W.ShopWorld(seed=1, n_users=50, n_items=60, n_cold_items=0, n_sessions=100)
    cats = {c.name: c for c in _CATEGORY_LIST}
    rng = np.random.default_rng(2024)
    records = []
    items = world.items.iloc[:20]
    for j, (_, item) in enumerate(items.iterrows()):
        cat = cats[item["category"]]
        text = R.item_fact_text(item)
        tier = int(round(text_quality_tier(text)))
        group = product_group(cat, item["title"], item["description"])
        features = [f for f in cat.features if f in item["description"]]
        feature = features[0] if features else "a look you will like"
        price = f"${item['price']:.2f}"
        interests = item["category"] if j % 2 == 0 else f"{item['category']} and weekend plans"
        lead = f"Since you like {item['category']}, " if j % 3 else ""
        fill = dict(title=item["title"], product=group[int(rng.integers(len(group)))],
                    quality=QUALITY_BY_TIER[tier][int(rng.integers(3))], feature=feature, price=price,
                    lead=lead, lead_lower=lead[:1].lower() + lead[1:])
        template = TEMPLATES[j % len(TEMPLATES)]

        def render(**over):
            s = template.format(**{**fill, **over})
            return s[0].upper() + s[1:]

        base = dict(item_id=int(item["item_id"]), item_text=text, interests=interests)
        records.append({**base, "pitch": render(), "label": "supported", "corruption": None, "claim": None})
        kind = ("wrong_price", "invented_feature", "wrong_material", "wrong_quality")[j % 4]
        if kind == "wrong_price":
            wrong = f"${np.floor(item['price'] * rng.uniform(1.3, 1.9)) + 0.99:.2f}"
            pitch, claim = render(price=wrong), wrong
        elif kind == "invented_feature":
            choices = [f for f in INVENTED if f.split()[-1].lower() not in text.lower()]
            inv = choices[int(rng.integers(len(choices)))]
            pitch, claim = render(feature=f"{feature} and {inv}"), inv
        elif kind == "wrong_material":
            mat = MATERIALS[int(rng.integers(len(MATERIALS)))]
            pitch, claim = render(product=f"{mat} {fill['product']}"), mat
        else:
            q = OPPOSITE[tier][int(rng.integers(2))]
            pitch, claim = render(quality=q), q
        records.append({**base, "pitch": pitch, "label": "unsupported", "corruption": kind, "claim": claim})
    # hand-written extras: free paraphrase (supported) and claims outside the shop's wording (unsupported)
    extra = [
        (0, "supported", None, None, "Game night sorted: this mid-range puzzle comes with beautifully illustrated "
         "cards and wooden pieces, at $35.99."),
        (1, "supported", None, None, "A premium cutting board with a forged steel blade - built to last for "
         "years and lovely for Sunday roasts."),
        (2, "supported", None, None, "Excellent race flats with reflective trim and a featherweight build, "
         "great for parkrun Saturdays."),
        (3, "supported", None, None, "If a long flight is coming up, The Quiet Colony is a solid read with a "
         "rogue artificial intelligence and a first-contact mystery."),
        (0, "unsupported", "invented_feature", "ten-year warranty", "This mid-range puzzle comes with a ten-year "
         "warranty and wooden pieces."),
        (1, "unsupported", "wrong_material", "bamboo", "A premium bamboo cutting board, built to last for years."),
        (2, "unsupported", "wrong_price", "$99.99", "Excellent race flats with reflective trim, now just $99.99."),
        (3, "unsupported", "invented_feature", "time-travel", "The Quiet Colony is a solid read full of "
         "time-travel paradoxes."),
    ]
    for item_id, label, kind, claim, pitch in extra:
        item = world.items.iloc[item_id]
        records.append(dict(item_id=item_id, item_text=R.item_fact_text(item), interests=item["category"],
                            pitch=pitch, label=label, corruption=kind, claim=claim))
    OUT.write_text(json.dumps(records, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {len(records)} pitches to {OUT}")


if __name__ == "__main__":
    main()
