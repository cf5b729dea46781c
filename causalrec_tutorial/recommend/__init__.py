r"""Recommendation generation: retrieval, click and uplift ranking, an LM ranker, grounded and checked explanations.

A recommender that *generates* a list does it in stages, and each stage has a causal question of its own; each
stage is one module (its docstring has the details and the formulas):

1. :mod:`.retrieval` — candidate retrieval by interest vectors, top-k, and re-ranking of candidate lists;
2. :mod:`.click_model` — a Keras click model, naive or with inverse-propensity weights (position and exposure);
3. :mod:`.uplift` — pair features and T-, X- and DR-learners of the uplift of showing an item, so that the list
   holds the items whose purchase it *causes*;
4. :mod:`.lm_ranking` — the language model as a ranker, and randomised experiments on its position bias;
5. :mod:`.pitches` — one grounded sentence per recommendation, and a check that every claim is in the item's facts
   (its claim words learned from the catalogue, never read from the simulator).

Book: 05_recommendation_generation.ipynb, sec-generation
"""

from __future__ import annotations

from .click_model import (
    DEFAULT_CLIP,
    ClickModel,
    estimate_examination,
    fit_click_model,
    ips_weights,
)
from .lm_ranking import (
    SHOP_RANK_CANDIDATES,
    LMRanking,
    choices_from_order_scores,
    lm_order_scores,
    lm_position_experiment,
    lm_rank,
    position_effect,
    position_effect_reduction,
)
from .pitches import (
    SHOP_PITCH,
    ClaimLexicon,
    FaithfulnessVerdict,
    check_faithfulness,
    claim_lexicon,
    item_fact_text,
    recommend_pitch,
    template_pitch,
    write_pitch,
)
from .retrieval import (
    rerank,
    rerank_by_uplift,
    retrieve_candidates,
    top_k,
)
from .uplift import (
    PairFeatures,
    estimate_uplift,
    estimate_uplifts,
    learned_text_quality,
    shop_pair_features,
)

__all__ = [
    "ClaimLexicon",
    "ClickModel",
    "DEFAULT_CLIP",
    "FaithfulnessVerdict",
    "LMRanking",
    "PairFeatures",
    "SHOP_PITCH",
    "SHOP_RANK_CANDIDATES",
    "check_faithfulness",
    "choices_from_order_scores",
    "claim_lexicon",
    "estimate_examination",
    "estimate_uplift",
    "estimate_uplifts",
    "learned_text_quality",
    "fit_click_model",
    "ips_weights",
    "item_fact_text",
    "lm_order_scores",
    "lm_position_experiment",
    "lm_rank",
    "position_effect",
    "position_effect_reduction",
    "recommend_pitch",
    "rerank",
    "rerank_by_uplift",
    "retrieve_candidates",
    "shop_pair_features",
    "template_pitch",
    "top_k",
    "write_pitch",
]
