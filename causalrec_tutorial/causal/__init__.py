"""Causal graphs of a recommender, DoWhy on the shop's logs, and adjustment for a confounder stated only in text.

Three layers, each usable alone:

**Graphs.** One function per standard recommender DAG (:func:`confounding_dag`, :func:`popularity_dag`,
:func:`mediator_dag`, :func:`collider_dag`, :func:`position_dag`, :func:`text_confounder_dag`,
:func:`recommender_dag`, :func:`logging_dag`). Each returns a ``networkx.DiGraph`` whose node names are the
constants below and whose nodes carry ``label``, ``color`` and ``observed`` attributes, so :func:`draw_dag` can draw
it offline (matplotlib only, through :func:`causalrec_tutorial.plotting.draw_flow`). :func:`check_dag` validates any
graph (acyclic, non-empty, directed, required nodes present) and raises ``ValueError`` otherwise;
:func:`backdoor_paths` and :func:`is_backdoor_adjustment` implement Pearl's backdoor criterion with networkx
d-separation.

**DoWhy on the shop.** :func:`shop_frame` turns :class:`~causalrec_tutorial.world.ShopWorld` logs into one row per
logged (session, item) pair with observed covariates, the logged inclusion probability π and the truth beside them.
The target is the **ATT over pairs the old recommender showed** (what ``world.true_effects().att`` gives): in the
default logs the not-shown pairs are a uniform sample with one constant ``sample_weight`` (``shop_frame`` refuses a
propensity-sampled log), which cancels in every ATT estimator below
(they only compare treated pairs with *re-weighted* controls), so the sampled table can be used unweighted. In that
table a pair is shown with probability ``π / (π + (1 - π) / sample_weight)`` — the ``table_propensity`` column — which
makes inverse propensity weighting exact. :func:`causal_model` builds a DoWhy ``CausalModel`` and
:func:`estimate_dowhy` runs one of its estimators, returning an :class:`EffectEstimate` with a confidence interval
(from the linearised, session-clustered variance of the weighting form of the estimator, see :func:`att_weighted`).
:func:`refute_dowhy` runs DoWhy's refuters. :func:`estimate_regression_att` is regression adjustment for the ATT
(an outcome model fitted on the not-shown pairs, a spline in logit π, predicting the shown pairs' Y(0)); it is not
run through DoWhy because DoWhy 0.14's regression estimators average over all rows whatever ``target_units`` says.

**Text.** :func:`reduce_embeddings` turns item text embeddings into a few covariates (PCA, unsupervised, or PLS,
supervised by an observed item-level target such as the item's exposure rate), and :func:`estimate_text_adjusted`
uses them in a logistic propensity model. :func:`simulate_text_confounding` makes a data set on the shop's real item
texts in which a confounder (latent quality) is written only in the text, with the true effect known.

**Sensitivity.** :func:`msm_att_bounds` bounds a weighting estimate of the ATT when the propensity model may have
missed a confounder that changes the odds of treatment by up to a factor Λ (the marginal sensitivity model);
:func:`msm_breakdown` finds the Λ that explains the effect away, and :func:`covariate_benchmarks` what Λ each observed
covariate amounts to (:func:`fitted_propensity` is the logistic model they share).

**An instrument.** :func:`simulate_encouragement` runs a randomised encouragement (promoted items shown more often in
a random half of the sessions) on the shop, and :func:`wald_estimate` is the instrumental-variable (Wald) estimator
of the compliers' effect, which needs no confounder to be measured.

DoWhy 0.14 with pandas 3 warns on every regression (``Pandas4Warning``: "The copy keyword is deprecated") and about
graph nodes missing from the data ("assumed unobserved" — intended here). :func:`dowhy_quiet` silences exactly those,
by category, message and module, inside a ``warnings.catch_warnings`` block; nothing is filtered globally.

**Where it lives.** :mod:`.graphs` (DAGs, drawing, the backdoor criterion), :mod:`.effects` (effect estimates,
weighting and regression ATT, the shop's analysis table), :mod:`.dowhy_tools` (DoWhy models, estimators, refuters),
:mod:`.text_adjust` (text-embedding confounder adjustment), :mod:`.instrument` (an encouragement design and the
Wald estimator), :mod:`.sensitivity` (bounds for a missed confounder).

Book: 04_causal_graphs.ipynb, sec-causal
"""

from __future__ import annotations

from .dowhy_tools import (
    causal_model,
    dowhy_quiet,
    estimate_dowhy,
    refute_dowhy,
)
from .effects import (
    OBSERVED,
    EffectEstimate,
    att_weighted,
    estimate_regression_att,
    list_effect_per_session,
    shop_frame,
)
from .graphs import (
    CLICK,
    EXAMINATION,
    EXPOSURE,
    INTEREST,
    ITEM_TEXT,
    LOGGED_PROPENSITY,
    POPULARITY,
    POSITION,
    PROMINENCE,
    PURCHASE,
    QUALITY,
    backdoor_paths,
    check_dag,
    collider_dag,
    confounding_dag,
    draw_dag,
    is_backdoor_adjustment,
    logging_dag,
    mediator_dag,
    popularity_dag,
    position_dag,
    recommender_dag,
    text_confounder_dag,
)
from .instrument import (
    first_stage_f,
    simulate_encouragement,
    wald_estimate,
)
from .sensitivity import (
    covariate_benchmarks,
    fitted_propensity,
    msm_att_bounds,
    msm_breakdown,
)
from .text_adjust import (
    estimate_text_adjusted,
    reduce_embeddings,
    simulate_text_confounding,
)

__all__ = [
    "OBSERVED",
    "CLICK",
    "EXAMINATION",
    "EXPOSURE",
    "EffectEstimate",
    "INTEREST",
    "ITEM_TEXT",
    "LOGGED_PROPENSITY",
    "POPULARITY",
    "POSITION",
    "PROMINENCE",
    "PURCHASE",
    "QUALITY",
    "att_weighted",
    "backdoor_paths",
    "causal_model",
    "check_dag",
    "collider_dag",
    "confounding_dag",
    "covariate_benchmarks",
    "dowhy_quiet",
    "draw_dag",
    "estimate_dowhy",
    "estimate_regression_att",
    "estimate_text_adjusted",
    "first_stage_f",
    "fitted_propensity",
    "is_backdoor_adjustment",
    "list_effect_per_session",
    "logging_dag",
    "mediator_dag",
    "msm_att_bounds",
    "msm_breakdown",
    "popularity_dag",
    "position_dag",
    "recommender_dag",
    "reduce_embeddings",
    "refute_dowhy",
    "shop_frame",
    "simulate_encouragement",
    "simulate_text_confounding",
    "text_confounder_dag",
    "wald_estimate",
]
