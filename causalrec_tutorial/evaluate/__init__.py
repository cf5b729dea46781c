r"""Evaluation: ranking metrics, off-policy estimators with bootstrap CIs, and A/B-test analysis.

Three ways to judge a recommender, from the cheapest to the most trustworthy.

**Ranking metrics** (offline, on held-out interactions or on the simulated shop's true relevance).

- ``recommendations``: one ranked list per user, best first. Either a 2-D integer array ``(n_users, L)`` (row ``u``
  is user ``u``'s list, as :meth:`ShopWorld.top_k <causalrec_tutorial.world.ShopWorld.top_k>` returns), or a sequence
  of 1-D sequences (ragged lists; a short list simply has fewer items). Item ids are non-negative integers and
  distinct within a list. Only the first ``k`` entries count.
- ``truth``: what was relevant, aligned with the rows of ``recommendations``, in one of three forms:

  * a sequence (one entry per user) of collections of relevant item ids (binary relevance);
  * a ``dict`` or ``pandas.Series`` mapping row index (user id) to such a collection — users that are missing have
    no relevant items (``logs.histories("purchase")`` of a test period has this form);
  * a 2-D ``numpy`` array (or DataFrame) ``(n_users, n_items)`` of non-negative relevance, row ``u`` = user ``u``,
    column ``i`` = item ``i``: binary (0/1) for every metric, graded (e.g. the shop's true click probability
    ``world.relevance[:, :world.n_available()]``) for :func:`ndcg_at_k`. A *list* of lists is always read as id sets.

- Users with no relevant item (empty set, all-zero row) are left out of the average (their metric is undefined,
  returned as NaN with ``per_user=True``); if no user is left, ``ValueError``.
- Definitions, with :math:`L_u` the top-``k`` list and :math:`R_u` the relevant set:
  ``precision@k`` :math:`= |L_u \cap R_u| / k`; ``recall@k`` :math:`= |L_u \cap R_u| / |R_u|` (uncapped
  denominator, so with ``|R_u| > k`` the best possible recall is below 1); ``AP@k`` :math:`= \frac{1}{\min(k,
  |R_u|)} \sum_{s<k} \text{precision@}(s{+}1)\,[L_{u,s} \in R_u]` (so a perfect list scores 1) and ``MAP@k`` is
  its mean; ``nDCG@k`` :math:`= \text{DCG}/\text{IDCG}`, :math:`\text{DCG} = \sum_{s<k} g(\text{rel}_{u,L_{u,s}})
  \, d_s` with linear gain :math:`g(x) = x` (or :math:`2^x - 1`) and discount :math:`d_s = 1/\log_2(s + 2)` for the
  0-based slot :math:`s` (or any discount you pass, e.g. the shop's examination probabilities, which makes DCG the
  expected number of clicks); IDCG is the DCG of the best possible list (the ``k`` largest gains of the user's row).
- ``coverage``: the share of the catalogue that appears in at least one top-``k`` list; ``average_popularity``: the
  mean over users of the mean popularity of their list (ARP, Abdollahpouri et al. 2019).

**Off-policy estimators** (the value a *target* policy :math:`\pi_e` would have had, from logs of a *logging*
policy :math:`\pi_0`). The setting is the standard contextual bandit, and the item-position setting of the Open
Bandit Dataset (Saito et al. 2021) in which one logged *round* is one (impression, slot) row: the context is the
user (and the slot), the action is the item shown there, the reward is the click. Per round :math:`i`:

- ``reward`` :math:`r_i`; ``propensity`` :math:`p_i = \pi_0(a_i \mid x_i) \in (0, 1]`, the logging policy's
  probability of the logged action (the ``propensity`` column of the shop and of the Open Bandit Dataset);
- ``target`` :math:`\pi_e(a_i \mid x_i) \in [0, 1]`: a 1-D array (the target probability of the logged action), or
  an action distribution ``(n, n_actions)`` with ``action=``, or ``(n, n_actions, n_positions)`` with ``action=``
  and ``position=`` (the layout of ``obp``'s ``action_dist``; entry ``[i, a, s]`` is the probability of item ``a`` in
  slot ``s`` for round ``i``);
- for DM and DR a reward model: ``reward_hat`` :math:`\hat q(x_i, a_i)` (1-D, or a full array of the target's
  shape) and ``expected_reward_hat`` :math:`\hat v_i = \sum_a \pi_e(a \mid x_i)\,\hat q(x_i, a)` (1-D; computed
  from full arrays when both are given).

With the importance weight :math:`w_i = \min(\pi_e(a_i \mid x_i) / p_i,\; M)` (``clip`` :math:`= M`, default none):

- ``dm`` :math:`= \frac1n \sum_i \hat v_i` (direct method);
- ``ips`` :math:`= \frac1n \sum_i w_i r_i` (inverse propensity scoring; Horvitz & Thompson 1952);
- ``snips`` :math:`= \sum_i w_i r_i / \sum_i w_i` (self-normalised IPS; Swaminathan & Joachims 2015);
- ``dr`` :math:`= \frac1n \sum_i [\hat v_i + w_i (r_i - \hat q(x_i, a_i))]` (doubly robust; Dudík, Langford &
  Li 2011).

Each estimates the target's expected reward *per round*: in the item-position setting, per (impression, slot), so
the expected clicks per impression (session) is ``k`` times the estimate. Without clipping IPS and DR are unbiased
when :math:`p_i > 0` wherever :math:`\pi_e > 0`; SNIPS is consistent and invariant to a common scaling of the weights.
Clipping (capping each weight at ``clip``) trades variance for bias (downwards for non-negative rewards). Every
estimator returns an :class:`OPEEstimate` with a percentile bootstrap CI: resample the ``n`` rounds with
replacement ``n_bootstrap`` times (vectorised), recompute the estimate with the reward model and the weights held
fixed, take the ``(1 - confidence)/2`` and ``(1 + confidence)/2`` quantiles.

For the simulated shop, :func:`slot_probability`, :func:`slot_distribution` and :func:`mixture_value` give a
target policy's per-slot probabilities and its exact value (see :func:`slot_probability` for the recipe). For the
Open Bandit Dataset, :func:`bernoulli_ts_action_dist` gives the slot distribution of a Bernoulli Thompson-sampling
policy (the evaluation policy of the Open Bandit Pipeline's benchmark, Saito et al. 2021) and
:func:`fit_reward_model` the cross-fitted, position-wise logistic-regression reward model its DM and DR use.

**A/B tests.** :func:`difference_in_means` (two arrays of per-unit outcomes) and :func:`estimate_ab_effects` (an
:class:`~causalrec_tutorial.world.ABTestResult` or its ``sessions`` table) give B − A with a normal-approximation
CI, the standard error being Welch's :math:`\sqrt{s_A^2/n_A + s_B^2/n_B}` or, clustered by user, the
cluster-robust one. :func:`sample_size` and :func:`sample_size_for_mean` say how many units per arm a test needs.

All randomness comes from an ``rng`` argument (a ``numpy.random.Generator`` or an integer seed); nothing touches
the global random state.

**Where it lives.** :mod:`.metrics` (ranking metrics), :mod:`.ope` (off-policy estimators, the Open Bandit
Pipeline's policy and reward model), :mod:`.targets` (target policies in the shop), :mod:`.ab` (A/B tests).

Book: 06_evaluation.ipynb, sec-eval
"""

from __future__ import annotations

from .ab import (
    ABEstimate,
    difference_in_means,
    estimate_ab_effects,
    sample_ratio_test,
    sample_size,
    sample_size_for_mean,
)
from .metrics import (
    average_popularity,
    coverage,
    map_at_k,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)
from .ope import (
    OPEEstimate,
    bernoulli_ts_action_dist,
    dm,
    dr,
    effective_sample_size,
    estimate_policy_value,
    expected_reward,
    fit_reward_model,
    importance_weights,
    ips,
    snips,
)
from .targets import (
    ips_relative_se,
    mixture_value,
    slot_distribution,
    slot_probability,
)

__all__ = [
    "ABEstimate",
    "OPEEstimate",
    "average_popularity",
    "bernoulli_ts_action_dist",
    "coverage",
    "difference_in_means",
    "dm",
    "dr",
    "effective_sample_size",
    "estimate_ab_effects",
    "estimate_policy_value",
    "expected_reward",
    "fit_reward_model",
    "importance_weights",
    "ips",
    "map_at_k",
    "ips_relative_se",
    "mixture_value",
    "ndcg_at_k",
    "precision_at_k",
    "recall_at_k",
    "sample_ratio_test",
    "sample_size",
    "sample_size_for_mean",
    "slot_distribution",
    "slot_probability",
    "snips",
]
