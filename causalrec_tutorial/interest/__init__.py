r"""User interests from behaviour: behaviour → text, pooled text embeddings, LM summaries, a Keras sequence model.

The chapter's formula is :math:`\text{User\_Interest}(u) = \text{LM}(\text{User\_Behavior}(u))`. This module gives
four ways to compute the right-hand side, from the cheapest to the most expensive:

1. **Behaviour → text.** :func:`serialize_history` writes a user's events (viewed / clicked / bought, most recent
   first, with their age) as a readable, deterministic prompt. Titles are cleaned (control characters and line
   breaks become spaces, runs of white space collapse, long titles are cut with ``…``) and quoted with
   :func:`json.dumps`, so a title with quotes or a line break cannot break the prompt's layout.
2. **Pooling item-text embeddings.** With item vectors :math:`e_i` (e.g. MiniLM, unit length) and per-event weights
   :math:`w_j` (by event kind, :data:`EVENT_WEIGHTS`),

   * :func:`pool_mean`: :math:`v_u = \sum_j w_j e_{i_j} / \sum_j w_j`;
   * :func:`pool_recency`: the same with :math:`w_j \cdot 2^{-\text{age}_j / h}` (``half_life`` :math:`h` in days
     when ages are given, else in events counted back from the last one);
   * :func:`pool_multi`: several vectors per user: weighted spherical k-means on the user's item vectors
     (deterministic farthest-point start, no randomness), one unit centroid and one weight (its share of the user's
     event weight) per interest. An item's score is then the *maximum* cosine over the user's interests.

   :func:`interest_vectors` applies one of them to every user of an events table.
3. **LM interest summaries.** :func:`summarize_interests` asks the generator (few-shot, greedy, cached on disk) for a
   few interest keywords from the history; the encoder embeds the keywords (:func:`lm_interest_vectors`).
4. **A sequence model.** :func:`fit_sequence_model` trains a small GRU (or LSTM) on behaviour sequences to predict the
   next interaction. Its item table is either *text-initialised* — the frozen MiniLM vectors of **all** items,
   including cold-start ones, mapped by one trainable ``Dense`` projection into the model's space — or *ID-only*: a
   trainable table with random rows. The training softmax covers only the items that exist at training time
   (``n_train_items``), so the rows of items that arrive later are never trained: for the ID-only model they stay
   random (nothing can be learnt about an item without data), for the text model they are the projection of their
   text. Scores are dot products of the sequence state with every item's vector (:meth:`SequenceModel.scores`).

Reading a user vector against the truth: :func:`category_profile` turns user vectors into one score per category,
either by the cosine with each *category direction* (the centred mean embedding of each category's items) or by
*unmixing*: a mean-pooled vector is a mixture of category means, and least squares on those means recovers the
user's (noisy) category shares, without the leak between related categories that the cosine suffers.
:func:`interest_agreement` compares such a profile with the true interest weights per user: Spearman's correlation
over all categories, or a weighted Kendall tau whose pairs of categories count by the user's true weight in them
(interests are concentrated on a few categories, and the order of the near-zero ones is invisible in behaviour).

**Where it lives.** :mod:`.history` (behaviour → text), :mod:`.pooling` (pooled vectors, scores),
:mod:`.profiles` (category profiles, agreement with the truth), :mod:`.lm_summary` (LM interest summaries),
:mod:`.sequence` (the Keras sequence model).

Book: 03_interest_extraction.ipynb, sec-interest
"""

from __future__ import annotations

from .history import (
    EVENT_WEIGHTS,
    clean_title,
    item_texts,
    serialize_history,
)
from .lm_summary import (
    SHOP_INTEREST_SUMMARY,
    lm_interest_vectors,
    summarize_interests,
)
from .pooling import (
    MultiInterest,
    interest_vectors,
    pool_mean,
    pool_multi,
    pool_recency,
    score_items,
)
from .profiles import (
    category_profile,
    interest_agreement,
)
from .sequence import (
    SequenceModel,
    fit_sequence_model,
    next_item_sequences,
)

__all__ = [
    "EVENT_WEIGHTS",
    "MultiInterest",
    "SHOP_INTEREST_SUMMARY",
    "SequenceModel",
    "category_profile",
    "clean_title",
    "fit_sequence_model",
    "interest_agreement",
    "interest_vectors",
    "item_texts",
    "lm_interest_vectors",
    "next_item_sequences",
    "pool_mean",
    "pool_multi",
    "pool_recency",
    "score_items",
    "serialize_history",
    "summarize_interests",
]
