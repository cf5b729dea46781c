r"""The simulated shop: a seeded world whose causal structure is known exactly.

Real logs never say what would have happened otherwise. :class:`ShopWorld` is a small online shop in which every
counterfactual is available: it writes logs like a real recommender's (who was shown what, in which slot, with which
propensity, and what they clicked and bought), and it keeps the truth beside them, like DoWhy's ``linear_dataset``.

Everything below is exact and is what the tests check.

**Catalogue.** ``n_items`` *warm* items (ids ``0 .. n_items-1``) and ``n_cold_items`` *cold-start* items (ids
``n_items ..``) in twelve everyday categories (:data:`CATEGORIES`). Each item has a title and a 30–60-word description
written from category vocabularies with synonyms (trainers / running sneakers / road runners). Category words are
few (product, audience, use, two features) and the rest comes from large pools shared by all categories (model names,
occasions, shipping lines), so that items of one category share meaning more than words: a sentence encoder finds
same-category neighbours better than TF-IDF (MiniLM precision@10 ≈ 0.8 vs ≈ 0.7 in the book's world).
Latent per item: quality :math:`q_i \sim N(0,1)`, prominence (brand awareness) :math:`h_i \sim N(0,1)`, and a topic
vector :math:`\theta_i` (a non-negative mixture over the categories: its own, a sibling such as coffee/tea, noise).
Observed per item: category, price (rises with quality), and ``popularity`` = prior sales count
:math:`\sim \text{Poisson}(\exp(\mu + 1.15\,h_i + 0.4\,q_i))` (0 for cold-start items). Quality is **not** a column,
but the text states it three times, in five tiers read from :math:`q_i` plus a little noise: a line name in the title
(Budget/Value, Basic/Essentials, —, Plus/Select, Premium/Deluxe; editions for books), an adjective in the first
sentence (shoddy, no-frills, everyday, well-made, luxury, ...) and a quality sentence (flimsy ... built to last).

**Users.** Latent interests :math:`w_u` (Dirichlet over categories, shifted a little by age), price sensitivity
:math:`\beta_u`, activity :math:`a_u` (sessions are drawn with probability :math:`a_u / \sum a`: the *session-user
distribution*) and responsiveness :math:`r_u \in (0, 1)` to recommendations. Observed: age and a self-declared
favourite category (right 70% of the time). Affinity :math:`\text{aff}_{ui} = \cos(w_u, \theta_i) \in [0, 1]`.

**Truth per (user, item)** — arrays of shape ``(n_users, n_items + n_cold_items)``:

- relevance (attraction: click probability when examined)
  :math:`\rho_{ui} = \sigma(\rho_0 + \rho_a\,\text{aff} + \rho_h h_i + \rho_q q_i + \sigma_\rho \varepsilon'_{ui})`;
  prominent items attract clicks (people click what they know).
- purchase intent if aware :math:`b_{ui} = \sigma(\beta_0 + \beta_a\,\text{aff} + \beta_q q_i
  - \beta_u \log(\text{price}_i / \text{base price}_c) + \sigma_b \varepsilon_{ui})`.
- organic awareness :math:`A_i = \sigma(\gamma_0 + \gamma_h h_i)`: the chance the user finds the item alone.
- ``p_purchase_without`` :math:`= A_i\, b_{ui}` (organic demand: bought without any recommendation);
- ``p_purchase_with`` :math:`= b_{ui}\,(A_i + (1 - A_i)\, r_u)`: purchase probability when the item is **exposed**,
  i.e. shown in a recommendation slot *and examined* (a recommendation makes an unaware user aware with
  probability :math:`r_u`; with ``reactance`` on, less the buyers it puts off, see the switches below);
- ``uplift`` = ``p_purchase_with - p_purchase_without`` :math:`= (1 - A_i)\, r_u\, b_{ui}` (stored as that
  difference, so the identity holds to the last bit): large for relevant niche items, near zero for prominent
  items the user buys anyway. Hence the click-optimal and the uplift-optimal lists differ.

**Position bias.** A list has ``k`` slots; slot :math:`s` (0-based) is examined with probability
:math:`e_s = (1 + s)^{-\eta}` (``examination``; :math:`e_0 = 1`, so ``p_purchase_with`` is also the purchase
probability when shown in the top slot). Showing item :math:`i` in slot :math:`s` adds :math:`e_s \cdot
\text{uplift}_{ui}` to its purchase probability and makes a click happen with probability :math:`e_s \rho_{ui}`.

**One session** of user :math:`u` with list :math:`(i_0, \dots, i_{k-1})`: each slot is examined independently
(:math:`E_s \sim \text{Bern}(e_s)`); with one uniform :math:`V_s` per slot, click :math:`= E_s [V_s < \rho]` and a
recommendation-induced purchase :math:`= E_s [V_s < \zeta]`, :math:`\zeta = \text{uplift}/(1 - p_\text{without})`
(sharing :math:`V_s` makes induced purchases happen to clickers first). Independently, *every* available item is
bought organically with probability ``p_purchase_without``. An item is purchased if organic or induced, so
:math:`P(\text{purchase} \mid \text{slot } s) = p_\text{without} + e_s\,\text{uplift}` exactly (with
``substitution`` off; with it on, the other slots' sales also remove some organic purchases: see
:mod:`.outcomes`). Repeat purchases
across sessions are possible (purchases are per-session events).

**Logging policy** (the old recommender). Score :math:`s_{ui} = a_\text{pop} \log(1 + \text{popularity}_i) +
a_q q_i + a_\text{int} (\text{aff}_{ui} + \sigma_n \eta_{ui})`: popularity (observed), a review-based quality score
(*not* exported to the item table; it is why only the text can adjust for quality) and a noisy interest score.
Inclusion probabilities :math:`\pi_{ui} = (1 - \epsilon)\min(1, k\,\text{softmax}(s_u))` (capped iteratively so
that :math:`\sum_i \pi_{ui} = k`) :math:`+ \epsilon k / n` (exploration floor), so :math:`0 < \pi \le 1`. Each session
picks exactly ``k`` distinct items by systematic (Madow) πps sampling in item-id order, which realises the
:math:`\pi_{ui}` exactly, and puts them in the slots in a uniformly random order. Hence, exactly,

- ``show_probability`` (logged) :math:`= \pi_{ui}` = P(item shown in the session at all);
- ``propensity`` (logged, per slot, as in the Open Bandit Dataset) :math:`= \pi_{ui} / k` = P(item in this slot).

(Joint inclusion probabilities are those of systematic sampling in a fixed order, most of them 0; see
:meth:`ShopWorld.joint_inclusion` and the conditional Poisson switch below.) In the late
period cold-start items are available; the old recommender gives them the median popularity and an average quality
score. :meth:`ShopWorld.logging_probabilities` returns both arrays.

**Realism switches** (:class:`ShopParams`; all off by default, so the book's world is unchanged). A *hidden
confounder*: a private per-pair taste signal :math:`z_{ui} \sim N(0, 1)` (hashed, like the other per-pair noise)
enters the old recommender's score as :math:`+\,\lambda_\text{log} z_{ui}` (``hidden_taste_logging``) and the
purchase-intent logit as :math:`+\,\lambda_\text{buy} z_{ui}` (``hidden_taste_purchase``); no log or item table
records it, so adjusting for observed covariates leaves confounding behind, while the logged (true) propensity
still removes it. ``log_propensities=False`` drops ``propensity`` and ``show_probability`` from the logs: the
analyst must then estimate propensities (the truth stays available to the judge through
:meth:`ShopWorld.logging_probabilities` and :attr:`ShopWorld.hidden_taste`). *Ranked logging*
(``logging_order="ranked"``): the old recommender puts the items it sampled in the order of its own score, best in
slot 0, so the slot is no longer random: relevant items sit where examination is high, and position confounds
relevance. The inclusion probabilities are unchanged; the per-slot probability :math:`P(i \text{ in slot } s)` is
computed exactly (systematic sampling takes at most :math:`n + 1` sets as its start varies; see
:func:`~causalrec_tutorial.world.draws.systematic_slot_probabilities`) and logged as ``propensity``; a pair's effect
of being shown becomes :math:`E[e_\text{slot} \mid \text{shown}]\,\text{uplift}_{ui}`
(:meth:`ShopWorld.shown_effect`).

*Negative uplift and substitution* (:mod:`.outcomes`). Each organic purchase of item :math:`j` meets one of the
``k`` recommendations, picked uniformly: if it is :math:`j`'s own examined slot, the shopper is put off with
probability :math:`\kappa (1 - \text{aff}_{uj})` (``reactance``), so ``uplift`` :math:`= (1 - A_i) r_u b_{ui} -
p_\text{without}\,\kappa (1 - \text{aff})/k` can be negative; if it is another examined item of :math:`j`'s
category whose slot was examined with :math:`V_s < \zeta` (a sale the recommendation makes, whether or not the
shopper would have bought that item anyway), they keep that one instead with probability :math:`\sigma`
(``substitution``). Both act through one of ``k`` meetings, so their per-item strength scales as :math:`1/k`. A
list's incremental purchases are then :math:`\sum_s e_s\,\text{net}_{u i_s}` with :meth:`ShopWorld.net_uplift`
:math:`= \text{uplift} - (\sigma/k)\,\zeta\,\sum_{j \ne i, c(j) = c(i)} p_{\text{without}, uj}`: the
difference in purchases of the listed items is no longer the difference in all purchases, and pairs interfere
(a not-shown item's purchases depend on the list), so :meth:`ShopWorld.true_effects` reports the effect on the
item's own purchase (``outcome="own"``) or on all purchases (``"total"``), neither of which a comparison of shown
with not-shown pairs estimates. *Conditional Poisson
sampling* (``logging_sampling="conditional_poisson"``, :mod:`.sampling`) realises the same :math:`\pi_{ui}` with
every pair of items shown together with positive probability (:meth:`ShopWorld.joint_inclusion`). *Pitches*
(:mod:`.pitch`): a text shown with a recommended item is judged by the world (claims faithful to the item's own
text or invented); claims shift attraction and intent by ``pitch_effect`` :math:`\times (f + g)\,\text{aff}`,
invented ones make sold purchases come back (``pitch_return``, the ``returns`` outcome) and, through returns,
lower the long-run examination of every recommendation (``pitch_trust``); :meth:`ShopWorld.policy_value` and
:meth:`ShopWorld.simulate_ab_test` take ``pitches``.

**Effects.** Treatment = *shown by the logging policy* (observable; the slot is random, so the expected
examination is :math:`\bar e = \text{mean}_s e_s`). Its effect on purchase for a pair is
:math:`\tau_{ui} = \bar e\,\text{uplift}_{ui}`. :meth:`ShopWorld.true_effects` gives, over the session-user
distribution and the available items: ``ate`` (all pairs), ``att`` (pairs weighted by :math:`\pi_{ui}`: the pairs
the old recommender showed) and ``atc``. The naive comparison of purchase rates of shown vs. not-shown pairs (from
``logs().pairs``) is confounded by affinity, popularity/prominence and quality, and overstates ``att`` several-fold
in the book's world (a recommender that pushed niche items would make it understate: chapter 04's sweep).

**Periods.** ``early`` (8 weeks, ``n_sessions`` sessions, warm items only) and ``late`` (the 2 weeks after,
``n_late_sessions`` sessions, warm + cold items). Policies are evaluated per period over its available items.

**Randomness.** Construction builds everything from ``seed`` via :class:`numpy.random.SeedSequence` streams, one
per component (item attributes, texts, users, each period's sessions), and per-pair noise from a counter-based hash
of (seed, user, item) — so adding users or items keeps the existing ones (prefix-stable) and the same seed gives
identical logs in any process. No global random state is touched.

**Where it lives.** :mod:`.params` (coefficients, calendar), :mod:`.catalogue` (vocabulary as data, the text
writer), :mod:`.draws` (per-pair hashed noise, capped inclusion,
exact ranked slot probabilities, not-shown samples), :mod:`.logs` (logs and result types),
:mod:`.sampling` (the sampling designs and their exact probabilities), :mod:`.outcomes` (a session's draws given its
list), :mod:`.pitch` (the response to pitches), :mod:`.shop` (:class:`ShopWorld`), :mod:`.sweeps` (one experiment over a grid of parameters and seeds).

Book: 02_the_data.ipynb, sec-shop-world
"""

from __future__ import annotations

from .catalogue import CATEGORIES, TextVocabulary, text_vocabulary
from .logs import ABTestResult, LoggingProbabilities, PolicyValue, ShopLogs, TrueEffects
from .params import (
    CALIBRATION,
    EARLY_DAYS,
    EVENTS,
    LATE_DAYS,
    LOG_PERIODS,
    OBD_CLICK_LEVEL,
    PERIODS,
    START,
    ShopParams,
)
from .pitch import PitchedPolicyValue, PitchJudgement
from .shop import ShopWorld
from .sweeps import sign_changes, summarize_sweep, sweep

__all__ = [
    "CALIBRATION",
    "CATEGORIES",
    "EARLY_DAYS",
    "EVENTS",
    "LATE_DAYS",
    "LOG_PERIODS",
    "OBD_CLICK_LEVEL",
    "PERIODS",
    "PitchJudgement",
    "PitchedPolicyValue",
    "START",
    "ABTestResult",
    "LoggingProbabilities",
    "PolicyValue",
    "ShopLogs",
    "ShopParams",
    "ShopWorld",
    "TextVocabulary",
    "TrueEffects",
    "sign_changes",
    "summarize_sweep",
    "sweep",
    "text_vocabulary",
]
