"""Few-shot prompt templates, in one place, each with a version string that is part of the cache key.

The default generator is a small *base* model (not instruction-tuned), so the templates are completion-style:
a few solved examples, then the reader's case left open at the point where the model should continue. Change a
template's text and you must bump its ``version``; cached results made with the old text are then not reused.

    prompt = crt.lm.prompts.INTEREST_SUMMARY.render(items=["Alien (1979)", "Aliens (1986)"])
    text = gen.generate(prompt, max_new_tokens=24, stop=["\\n"])

Book: appendix_a_language_models.ipynb, sec-lm-generator
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "PromptTemplate",
    "INTEREST_SUMMARY",
    "RANK_CANDIDATES",
    "GROUNDED_RECOMMENDATION",
    "SHOP_INTEREST_SUMMARY",
    "SHOP_RANK_CANDIDATES",
    "SHOP_PITCH",
    "TEMPLATES",
]


def _items(items: Sequence[str]) -> str:
    if isinstance(items, str):
        raise TypeError("items must be a sequence of strings, not a single string")
    items = list(items)
    if not items or not all(isinstance(i, str) and i.strip() for i in items):
        raise ValueError("items must be a non-empty sequence of non-empty strings")
    return "; ".join(_LINE_BREAKS.sub(" ", i).strip() for i in items)


# Characters that end a line (str.splitlines' set): a field value must not add a line to a few-shot prompt.
_LINE_BREAKS = re.compile("[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]+")


@dataclass(frozen=True)
class PromptTemplate:
    """A few-shot completion prompt.

    Attributes:
        name: a short identifier.
        version: bumped whenever ``text`` changes; part of every cache key made with this template.
        text: the template (``string.Template`` syntax, ``$field``), ending where the model should continue.
        fields: the fields :meth:`render` requires; list-valued ones are joined with ``"; "``.
        stop: the stop strings that end one answer (for ``generate``).

    Book: appendix_a_language_models.ipynb, sec-lm-generator
    """

    name: str
    version: str
    text: str
    fields: tuple[str, ...]
    stop: tuple[str, ...] = ("\n",)

    @property
    def id(self) -> str:
        """``name@version``, the string that goes into cache keys."""
        return f"{self.name}@{self.version}"

    def render(self, **values) -> str:
        """Fill the template.

        Args:
            **values: one value per field; a list or tuple of strings is joined with ``"; "``.

        Returns:
            The prompt text.

        Raises:
            ValueError: on a missing or unexpected field, or an empty value.
            TypeError: on a value that is neither a string nor a sequence of strings.
        """
        missing, extra = set(self.fields) - set(values), set(values) - set(self.fields)
        if missing or extra:
            raise ValueError(f"{self.name} needs fields {self.fields}; missing {sorted(missing)}, "
                             f"unexpected {sorted(extra)}")
        clean = {}
        for key, value in values.items():
            if isinstance(value, str):
                if not value.strip():
                    raise ValueError(f"field {key!r} is empty")
                clean[key] = " ".join(value.split())
            elif isinstance(value, (list, tuple)):
                clean[key] = _items(value)
            else:
                raise TypeError(f"field {key!r} must be a string or a list of strings, got {type(value).__name__}")
        return string.Template(self.text).substitute(clean)


INTEREST_SUMMARY = PromptTemplate(
    name="interest_summary",
    version="1",
    fields=("items",),
    text="""Each line lists movies a viewer watched, then a short summary of the viewer's interests.

Watched: Toy Story (1995); Aladdin (1992); The Lion King (1994); Beauty and the Beast (1991)
Interests: animated family films and Disney musicals

Watched: Alien (1979); The Terminator (1984); Blade Runner (1982); Predator (1987)
Interests: science-fiction action and dark futuristic thrillers

Watched: When Harry Met Sally... (1989); Sleepless in Seattle (1993); Pretty Woman (1990); Notting Hill (1999)
Interests: romantic comedies about chance meetings and love

Watched: $items
Interests:""",
)

RANK_CANDIDATES = PromptTemplate(
    name="rank_candidates",
    version="2",
    fields=("items",),
    text="""Each line lists movies a viewer watched, then the next movie that viewer chose: often a sequel, or a
film of the same kind.

Watched: Toy Story (1995); Aladdin (1992); The Lion King (1994)
Next: Beauty and the Beast (1991)

Watched: Rocky (1976); Raging Bull (1980); Rocky II (1979)
Next: Rocky III (1982)

Watched: When Harry Met Sally... (1989); Sleepless in Seattle (1993); Pretty Woman (1990)
Next: Notting Hill (1999)

Watched: Home Alone (1990); Mrs. Doubtfire (1993)
Next: Home Alone 2: Lost in New York (1992)

Watched: $items
Next:""",
)
"""Rank candidates with ``TextGenerator.score(prompt, [" " + title for title in candidates])``."""

GROUNDED_RECOMMENDATION = PromptTemplate(
    name="grounded_recommendation",
    version="1",
    fields=("items", "item", "facts"),
    text="""Write one sentence recommending a movie. Use only the facts given; do not invent anything.

Watched: Toy Story (1995); Aladdin (1992)
Recommend: The Lion King (1994)
Facts: animated; musical; Disney; 1994
Sentence: Since you enjoyed Toy Story and Aladdin, try The Lion King, another animated Disney musical.

Watched: Alien (1979); Blade Runner (1982)
Recommend: The Terminator (1984)
Facts: science fiction; action; 1984
Sentence: If you liked Alien and Blade Runner, The Terminator is a science-fiction action film from 1984.

Watched: $items
Recommend: $item
Facts: $facts
Sentence:""",
)

# --- The simulated shop -------------------------------------------------------------------------------------

SHOP_INTEREST_SUMMARY = PromptTemplate(
    name="shop_interest_summary",
    version="1",
    fields=("items",),
    text="""Each line lists products a customer bought or clicked in an online shop, then the customer's \
interests in two or three words.

Bought: Trail Running Shoes; GPS Sports Watch; Compression Socks
Interests: running, fitness

Bought: Burr Coffee Grinder; Single-Origin Beans; Loose-Leaf Green Tea
Interests: coffee, tea

Bought: Hardback Space Opera Novel; Cooperative Board Game; Cast-Iron Skillet
Interests: science fiction, board games, cooking

Bought: $items
Interests:""",
)
"""Interest keywords for a shop customer (``crt.interest.summarize_interests``)."""

#: Few-shot prompt for choosing a shop product from a list (completion style for a base model). Score candidates
#: with ``generator.score(prompt, [" " + title for title in candidates])``.
SHOP_RANK_CANDIDATES = PromptTemplate(
    name="shop_rank_candidates",
    version="1",
    fields=("interests", "items"),
    text="""Each block gives a shopper's interests, a list of products, and the product the shopper chose from the \
list.

Interests: running, fitness
Products: Vista Cast-Iron Skillet; Pace Running Shoes; Jasmine Loose-Leaf Tea
Chose: Pace Running Shoes

Interests: coffee, baking
Products: Summit Trekking Poles; Meeple Strategy Game; Crema Burr Grinder; Lotus Yoga Mat
Chose: Crema Burr Grinder

Interests: mystery novels, gardening
Products: Velo Bike Lights; The Cold Witness (Pocket Edition); Zen Meditation Cushion
Chose: The Cold Witness (Pocket Edition)

Interests: $interests
Products: $items
Chose:""",
)

#: Few-shot prompt for a one-sentence, fact-grounded product pitch.
SHOP_PITCH = PromptTemplate(
    name="shop_pitch",
    version="1",
    fields=("interests", "item", "facts"),
    text="""Write one sentence recommending a product to a shopper. Use only the facts given; do not invent anything.

Interests: running, fitness
Product: Nova Pace Running Shoes
Facts: running; $$89.99; Well-made running shoes for joggers who love long runs. It comes with a cushioned midsole \
and reflective trim.
Sentence: For your running, the Nova Pace Running Shoes are well made, with a cushioned midsole and reflective \
trim, for $$89.99.

Interests: tea, cooking
Product: Steep Basic Tea Infuser
Facts: tea; $$9.99; A basic tea infuser designed for a morning cuppa at home. Expect a fine stainless mesh, along \
with a drip-free spout.
Sentence: Since you enjoy tea, this basic tea infuser has a fine stainless mesh for your morning cuppa, at $$9.99.

Interests: $interests
Product: $item
Facts: $facts
Sentence:""",
)

#: Every template by name.
TEMPLATES = {
    t.name: t
    for t in (INTEREST_SUMMARY, RANK_CANDIDATES, GROUNDED_RECOMMENDATION, SHOP_INTEREST_SUMMARY,
              SHOP_RANK_CANDIDATES, SHOP_PITCH)
}
