r"""LM interest summaries: a few keywords from the generator, embedded by the encoder into a user vector.
Book: 03_interest_extraction.ipynb, sec-interest-lm

"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..lm import prompts as _prompts
from .history import clean_title

__all__ = ["SHOP_INTEREST_SUMMARY", "lm_interest_vectors", "summarize_interests"]


SHOP_INTEREST_SUMMARY = _prompts.SHOP_INTEREST_SUMMARY


def summarize_interests(titles: Sequence[str], generator: Any, template: Any = None, max_new_tokens: int = 12
                        ) -> str:
    """A few interest keywords for one history, written greedily by the generator from a few-shot prompt.

    Args:
        titles: the history's item titles (most telling first; they are cleaned with :func:`clean_title`).
        generator: a ``crt.lm.TextGenerator`` (results are cached on disk by it).
        template: a ``PromptTemplate`` with an ``items`` field (default :data:`SHOP_INTEREST_SUMMARY`).
        max_new_tokens: the length limit of the answer.

    Returns:
        The keywords, stripped (the first line of the answer).

    Raises:
        ValueError: if ``titles`` is empty.

    Book: 03_interest_extraction.ipynb, sec-interest-lm
    """
    template = SHOP_INTEREST_SUMMARY if template is None else template
    if isinstance(titles, str):
        raise TypeError("titles must be a sequence of strings, not a single string")
    titles = [clean_title(t, 60).replace(";", ",") for t in titles]
    if not titles:
        raise ValueError("titles is empty: there is no history to summarise")
    prompt = template.render(items=titles)
    text = generator.generate(prompt, max_new_tokens=max_new_tokens, stop=list(template.stop),
                              prompt_version=template.version)
    return text.strip()


def lm_interest_vectors(
    histories: Mapping[int, Sequence[int]] | pd.Series,
    titles: Mapping[int, str] | pd.Series,
    generator: Any,
    encoder: Any,
    max_items: int = 8,
    template: Any = None,
    max_new_tokens: int = 12,
) -> tuple[dict[int, str], np.ndarray]:
    """LM interest summaries of some users, embedded: ``User_Interest(u) = Encoder(LM(User_Behavior(u)))``.

    Args:
        histories: user id → item ids, oldest first; the last ``max_items`` distinct items are used, newest first.
        titles: item id → title.
        generator: a ``crt.lm.TextGenerator``.
        encoder: anything with ``encode(texts)`` (``crt.lm.TextEncoder``).
        max_items: items per prompt.
        template, max_new_tokens: see :func:`summarize_interests`.

    Returns:
        ``(summaries, vectors)``: user id → keywords, and ``(len(histories), dim)`` in the order of ``histories``.

    Raises:
        ValueError: for an empty history (the user is named).

    Book: 03_interest_extraction.ipynb, sec-interest-lm
    """
    summaries = {}
    for u, hist in histories.items():
        recent = list(dict.fromkeys(reversed(list(hist))))[:max_items]
        if not recent:
            raise ValueError(f"user {u} has an empty history")
        summaries[int(u)] = summarize_interests([titles[i] for i in recent], generator, template, max_new_tokens)
    vectors = encoder.encode([s if s else "(nothing)" for s in summaries.values()])
    return summaries, np.asarray(vectors)
