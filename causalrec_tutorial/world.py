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
:math:`\sim \text{Poisson}(\exp(\mu + 1.0\,h_i + 0.4\,q_i))` (0 for cold-start items). Quality is **not** a column,
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
  probability :math:`r_u`);
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
:math:`P(\text{purchase} \mid \text{slot } s) = p_\text{without} + e_s\,\text{uplift}` exactly. Repeat purchases
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

(Joint inclusion probabilities are those of systematic sampling; the course uses only these marginals.) In the late
period cold-start items are available; the old recommender gives them the median popularity and an average quality
score. :meth:`ShopWorld.logging_probabilities` returns both arrays.

**Effects.** Treatment = *shown by the logging policy* (observable; the slot is random, so the expected
examination is :math:`\bar e = \text{mean}_s e_s`). Its effect on purchase for a pair is
:math:`\tau_{ui} = \bar e\,\text{uplift}_{ui}`. :meth:`ShopWorld.true_effects` gives, over the session-user
distribution and the available items: ``ate`` (all pairs), ``att`` (pairs weighted by :math:`\pi_{ui}`: the pairs
the old recommender showed) and ``atc``. The naive comparison of purchase rates of shown vs. not-shown pairs (from
``logs().pairs``) is confounded by affinity, popularity/prominence and quality, and overstates ``att`` several-fold.

**Periods.** ``early`` (8 weeks, ``n_sessions`` sessions, warm items only) and ``late`` (the 2 weeks after,
``n_late_sessions`` sessions, warm + cold items). Policies are evaluated per period over its available items.

**Randomness.** Construction builds everything from ``seed`` via :class:`numpy.random.SeedSequence` streams, one
per component (item attributes, texts, users, each period's sessions), and per-pair noise from a counter-based hash
of (seed, user, item) — so adding users or items keeps the existing ones (prefix-stable) and the same seed gives
identical logs in any process. No global random state is touched.

Book: 02_the_data.ipynb, sec-shop-world
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from . import columns as C
from ._checks import check_int
from .config import DEFAULT_SEED, as_rng, by_mode

__all__ = [
    "CATEGORIES",
    "PERIODS",
    "ABTestResult",
    "TextVocabulary",
    "LoggingProbabilities",
    "PolicyValue",
    "ShopLogs",
    "ShopParams",
    "ShopWorld",
    "TrueEffects",
    "text_vocabulary",
]

PERIODS = ("early", "late")
LOG_PERIODS = ("early", "late", "all")
START = pd.Timestamp("2024-03-04")
EARLY_DAYS = 56
LATE_DAYS = 14
EVENTS = ("view", "click", "purchase")

# ---------------------------------------------------------------------------------------------------------------
# Vocabulary. Each category: display name, base price, sibling category (topic overlap), product groups (kind,
# synonyms), title modifiers, people, uses, features, places. Kinds select the quality phrasing.
# ---------------------------------------------------------------------------------------------------------------


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


def _cat(name, base_price, sibling, products, modifiers, people, uses, features, places, adjs=(), nouns=()):
    return _Category(
        name,
        float(base_price),
        sibling,
        tuple((kind, tuple(s)) for kind, s in products),
        tuple(modifiers),
        tuple(people),
        tuple(uses),
        tuple(features),
        tuple(places),
        tuple(adjs),
        tuple(nouns),
    )


_READING_USES = (
    "weekend reading",
    "late-night page turning",
    "a long flight",
    "book club discussion",
    "summer holidays",
    "the daily commute",
)
_READING_PLACES = (
    "on the commute", "before bed", "on the beach", "on a rainy Sunday", "in a reading nook", "on holiday",
)

_CATEGORY_LIST = (
    _cat(
        "running", 80, "cycling",
        [("gear", ["running shoes", "trainers", "road runners", "running sneakers", "race flats"]),
         ("gear", ["running jacket", "windproof shell", "lightweight windbreaker"]),
         ("gear", ["GPS watch", "sports watch", "fitness tracker"]),
         ("gear", ["running socks", "compression socks", "anti-blister socks"]),
         ("gear", ["hydration vest", "running pack", "water belt"]),
         ("gear", ["running shorts", "race shorts", "split shorts"])],
        ["Stride", "Tempo", "Pace", "Sprint", "Pacer", "Miler", "Dash"],
        ["runners", "joggers", "marathoners", "weekend joggers", "anyone training for a 10K", "club athletes"],
        ["long runs", "tempo sessions", "race day", "morning jogs", "interval training", "marathon training",
         "easy recovery miles", "parkrun Saturdays"],
        ["a cushioned midsole", "a breathable mesh upper", "reflective trim", "a grippy outsole", "a snug heel counter",
         "moisture-wicking fabric", "a featherweight build", "flat seams that prevent chafing", "a springy foam"],
        ["on the road", "on the track", "through the park", "along the river path", "on city streets",
         "on the treadmill"],
    ),
    _cat(
        "hiking", 95, "running",
        [("gear", ["hiking boots", "walking boots", "trekking boots", "trail shoes"]),
         ("gear", ["backpack", "daypack", "rucksack", "trekking pack"]),
         ("gear", ["trekking poles", "walking sticks", "hiking poles"]),
         ("gear", ["rain jacket", "waterproof shell", "hardshell jacket"]),
         ("gear", ["water filter", "purifier bottle", "filter flask"]),
         ("gear", ["navigation compass", "orienteering compass", "map case"])],
        ["Summit", "Ridge", "Alpine", "Peak", "Cairn", "Ranger", "Fell"],
        ["hikers", "hillwalkers", "trekkers", "ramblers", "backpackers", "mountain lovers"],
        ["day hikes", "multi-day treks", "summit attempts", "scrambles", "long walks in the hills",
         "backcountry trips", "weekend rambles"],
        ["a waterproof membrane", "firm ankle support", "a padded hip belt", "sealed seams", "a deep-lug sole",
         "adjustable straps", "a built-in rain cover", "a ventilated back panel"],
        ["in the mountains", "on rocky paths", "across moorland", "in the backcountry", "on muddy trails",
         "above the tree line"],
    ),
    _cat(
        "cycling", 70, "hiking",
        [("gear", ["bike helmet", "cycling helmet", "road helmet"]),
         ("gear", ["bike lights", "front and rear lamps", "LED light set"]),
         ("gear", ["cycling jersey", "bike top", "road jersey"]),
         ("gear", ["bike lock", "D-lock", "chain lock"]),
         ("gear", ["saddle bag", "frame bag", "pannier"]),
         ("gear", ["bike pump", "track pump", "mini pump"])],
        ["Velo", "Cadence", "Spoke", "Peloton", "Sprocket", "Climber", "Derailleur"],
        ["cyclists", "commuters on two wheels", "riders", "road cyclists", "mountain bikers", "bike tourers"],
        ["the daily commute", "long rides", "sportives", "hill climbs", "weekend spins", "bike touring",
         "gravel adventures"],
        ["a quick-release mount", "rechargeable USB charging", "aerodynamic vents", "a hardened steel shackle",
         "a pressure gauge", "a waterproof zip", "silicone grippers"],
        ["on the road", "in city traffic", "on gravel lanes", "on country lanes", "after dark", "in the saddle"],
    ),
    _cat(
        "yoga", 35, "running",
        [("gear", ["yoga mat", "exercise mat", "non-slip mat"]),
         ("gear", ["yoga blocks", "cork bricks", "foam blocks"]),
         ("gear", ["meditation cushion", "zafu", "floor pillow"]),
         ("gear", ["yoga leggings", "studio tights", "stretch pants"]),
         ("gear", ["yoga strap", "stretching band", "resistance band"]),
         ("gear", ["yoga towel", "hot yoga towel", "mat towel"])],
        ["Lotus", "Zen", "Balance", "Flow", "Asana", "Calm", "Prana"],
        ["yogis", "pilates fans", "people who meditate", "beginners on the mat", "instructors",
         "anyone stretching daily"],
        ["vinyasa flow", "morning stretches", "meditation", "hot yoga", "pilates classes", "restorative practice",
         "breathing exercises"],
        ["a non-slip surface", "extra cushioning", "an eco-friendly rubber base", "a carry strap",
         "four-way stretch fabric", "a sweat-absorbing weave", "alignment lines"],
        ["at the studio", "at home", "in the living room", "on retreat", "in the park at sunrise", "in class"],
    ),
    _cat(
        "coffee", 18, "tea",
        [("consumable", ["coffee beans", "whole-bean roast", "espresso blend", "single-origin beans"]),
         ("consumable", ["ground coffee", "filter grind", "pre-ground roast"]),
         ("gear", ["coffee grinder", "burr grinder", "burr mill"]),
         ("gear", ["pour-over kettle", "gooseneck kettle", "drip kettle"]),
         ("gear", ["French press", "cafetière", "plunger pot"]),
         ("gear", ["espresso cups", "demitasse set", "cappuccino mugs"])],
        ["Crema", "Roastery", "Barista", "Ristretto", "Arabica", "Brew", "Mocha"],
        ["coffee lovers", "home baristas", "espresso fans", "caffeine enthusiasts", "latte drinkers",
         "early risers"],
        ["the morning brew", "espresso shots", "filter coffee", "cold brew", "a weekend cappuccino",
         "slow pour-overs", "an afternoon pick-me-up"],
        ["notes of chocolate and cherry", "a medium-dark roast", "conical steel burrs", "a precise spout",
         "a double-walled body", "a fine-mesh filter", "beans roasted this week"],
        ["at home", "in the office", "at the kitchen counter", "before work", "on lazy Sundays",
         "in your kitchen café corner"],
    ),
    _cat(
        "tea", 14, "coffee",
        [("consumable", ["loose-leaf tea", "leaf tea", "whole-leaf blend"]),
         ("consumable", ["green tea", "sencha", "matcha powder"]),
         ("consumable", ["herbal infusion", "tisane", "chamomile blend"]),
         ("gear", ["teapot", "tea kettle", "brewing pot"]),
         ("gear", ["tea infuser", "tea strainer", "steeping basket"]),
         ("gear", ["tea cups", "tea mugs", "tea set"])],
        ["Oolong", "Darjeeling", "Steep", "Leaf", "Chai", "Jasmine", "Assam"],
        ["tea lovers", "tea drinkers", "fans of a good cuppa", "matcha devotees", "herbal tea fans",
         "afternoon tea hosts"],
        ["afternoon tea", "a calming evening cup", "steeping green tea", "a morning cuppa", "brewing chai",
         "a tea ceremony"],
        ["hand-picked leaves", "a fine stainless mesh", "a gentle floral aroma", "a cast-iron body",
         "a resealable tin", "a bright, grassy flavour", "a drip-free spout"],
        ["at home", "on a rainy afternoon", "by the fireside", "in the garden", "before bed", "with friends"],
    ),
    _cat(
        "cooking", 40, "baking",
        [("gear", ["chef's knife", "kitchen knife", "cook's knife"]),
         ("gear", ["frying pan", "skillet", "sauté pan"]),
         ("gear", ["casserole dish", "Dutch oven", "cast-iron pot"]),
         ("book", ["cookbook", "recipe book", "cookery book"]),
         ("gear", ["chopping board", "cutting board", "butcher block"]),
         ("gear", ["spice grinder", "pepper mill", "spice mill"])],
        ["Sauté", "Simmer", "Chef", "Harvest", "Saffron", "Braise", "Gourmet"],
        ["home cooks", "keen chefs", "food lovers", "busy parents", "dinner-party hosts", "anyone learning to cook"],
        ["weeknight dinners", "slow braises", "stir-fries", "Sunday roasts", "meal prep", "family feasts",
         "quick suppers"],
        ["a forged steel blade", "a non-stick coating", "an enamelled interior", "over a hundred recipes",
         "a juice groove", "a ceramic mechanism", "a riveted handle"],
        ["in the kitchen", "on the stovetop", "in the oven", "on the hob", "at the dinner table", "for family meals"],
    ),
    _cat(
        "baking", 22, "cooking",
        [("consumable", ["bread flour", "strong flour", "baking flour"]),
         ("gear", ["cake tin", "baking pan", "loaf tin"]),
         ("gear", ["stand mixer", "hand mixer", "electric whisk"]),
         ("book", ["baking book", "pastry cookbook", "bread recipe book"]),
         ("consumable", ["sourdough starter", "dried yeast", "baking yeast"]),
         ("gear", ["rolling pin", "pastry board", "piping set"])],
        ["Crumb", "Proof", "Patisserie", "Knead", "Golden", "Oven", "Batter"],
        ["home bakers", "pastry lovers", "bread makers", "cake decorators", "weekend bakers",
         "sourdough devotees"],
        ["sourdough loaves", "birthday cakes", "flaky pastry", "Sunday baking", "cookies with the kids",
         "festive bakes", "crusty bread"],
        ["a loose base", "a high protein content", "a powerful motor", "step-by-step photos", "a non-stick finish",
         "a splash guard", "a lively culture"],
        ["in the kitchen", "in a home oven", "on the countertop", "at weekends", "for bake sales",
         "over the holidays"],
    ),
    _cat(
        "gardening", 25, "cooking",
        [("gear", ["garden trowel", "hand trowel", "planting trowel"]),
         ("gear", ["pruning shears", "secateurs", "pruners"]),
         ("consumable", ["seed collection", "seed packets", "heirloom seeds"]),
         ("gear", ["watering can", "hose nozzle", "spray wand"]),
         ("consumable", ["compost", "potting mix", "peat-free soil"]),
         ("gear", ["gardening gloves", "work gloves", "thorn-proof gloves"])],
        ["Bloom", "Sprout", "Meadow", "Greenleaf", "Orchard", "Allotment", "Rootstock"],
        ["gardeners", "green-fingered folk", "allotment holders", "balcony growers", "rose lovers",
         "vegetable growers"],
        ["planting out seedlings", "pruning roses", "growing tomatoes", "weeding borders", "spring sowing",
         "tending the allotment", "potting up herbs"],
        ["a stainless blade", "a rust-proof finish", "a cushioned grip", "high germination rates", "a long spout",
         "organic nutrients", "reinforced fingertips"],
        ["in the garden", "on the allotment", "in raised beds", "on the balcony", "in the greenhouse",
         "in pots and planters"],
    ),
    _cat(
        "sci-fi books", 13, "mystery novels",
        [("book", ["science fiction novel", "sci-fi novel", "space opera", "speculative thriller"]),
         ("book", ["short story collection", "anthology", "story collection"]),
         ("book", ["novel", "paperback", "hardback edition"])],
        [],
        ["sci-fi fans", "readers of speculative fiction", "space opera lovers", "fans of hard SF",
         "techno-thriller readers", "anyone who loved Dune"],
        _READING_USES,
        ["an interstellar setting", "a rogue artificial intelligence", "vivid world-building",
         "a first-contact mystery", "time-travel paradoxes", "a generation ship", "a dystopian future"],
        _READING_PLACES,
        adjs=["Silent", "Last", "Hollow", "Crimson", "Distant", "Broken", "Iron", "Quiet"],
        nouns=["Orbit", "Starship", "Colony", "Nebula", "Signal", "Horizon", "Machine", "Frontier", "Empire"],
    ),
    _cat(
        "mystery novels", 12, "sci-fi books",
        [("book", ["crime novel", "detective story", "murder mystery", "whodunnit"]),
         ("book", ["thriller", "suspense novel", "psychological thriller"]),
         ("book", ["novel", "paperback", "hardback edition"])],
        [],
        ["crime fiction fans", "mystery lovers", "armchair detectives", "thriller readers",
         "fans of Agatha Christie", "true-crime buffs"],
        _READING_USES,
        ["a locked-room puzzle", "a brilliant detective", "red herrings galore", "a shocking final twist",
         "a small-town murder", "an unreliable narrator", "a cold-case investigation"],
        _READING_PLACES,
        adjs=["Silent", "Last", "Hidden", "Crimson", "Quiet", "Broken", "Cold", "Dark"],
        nouns=["Alibi", "Inheritance", "Witness", "Lighthouse", "Verdict", "Cellar", "Confession", "Motive"],
    ),
    _cat(
        "board games", 30, "sci-fi books",
        [("gear", ["board game", "strategy game", "tabletop game"]),
         ("gear", ["card game", "deck-building game", "party card game"]),
         ("gear", ["jigsaw puzzle", "puzzle", "thousand-piece puzzle"]),
         ("gear", ["dice set", "polyhedral dice", "dice tower"]),
         ("gear", ["cooperative game", "co-op adventure game", "escape-room game"])],
        ["Meeple", "Quest", "Tabletop", "Gambit", "Rook", "Castle", "Token"],
        ["board gamers", "families", "game-night hosts", "puzzle fans", "strategy buffs", "tabletop role-players"],
        ["family game night", "game nights with friends", "rainy afternoons", "two-player duels",
         "holiday gatherings", "a quick party game"],
        ["beautifully illustrated cards", "wooden pieces", "a modular board", "clear rules", "a solo mode",
         "a sturdy storage box", "dozens of miniatures"],
        ["around the kitchen table", "at the pub", "at home", "on holiday", "with the kids", "at parties"],
    ),
)

#: The category names, in the order of the topic dimensions.
CATEGORIES: tuple[str, ...] = tuple(c.name for c in _CATEGORY_LIST)
_CAT_INDEX = {name: j for j, name in enumerate(CATEGORIES)}

_INTROS = (
    "{A_product} made for {people} who love {use}.",
    "{A_product} designed for {use} {place}.",
    "{This_product_is} built for {people} and {use}.",
    "Meet {a_product} that {people} reach for when it is time for {use}.",
    "Looking for {a_product}? {This_one_suits} {people} and {use}.",
)
_FEATURES = (
    "It comes with {f1} and {f2}.",
    "Expect {f1}, along with {f2}.",
    "Highlights include {f1} plus {f2}.",
    "You get {f1} as well as {f2}.",
)
_USES = (
    "Ideal {place}, whether for {use2} or everyday use.",
    "Perfect for {use2} {place}.",
    "A great companion for {use2}, {place} and beyond.",
)
# Generic sentences shared by all categories (large pools, so that their words are as rare as category words and
# bag-of-words similarity is not dominated by the category).
_OCCASIONS = (
    "at home", "on holiday", "at the weekend", "after work", "with friends", "with the family", "on busy weekdays",
    "on lazy Sundays", "all year round", "in every season", "on the go", "day after day", "in the evening",
    "first thing in the morning", "on special occasions",
)
_EXPERIENCES = (
    "a complete beginner", "a seasoned enthusiast", "just getting started", "an old hand", "buying a gift",
    "upgrading an old favourite", "treating yourself", "on a tight budget", "short on time", "new to the hobby",
)
_GENERIC_USES = (
    "Ideal {occasion}, whether you are {exp1} or {exp2}.",
    "Made to be enjoyed {occasion}, whether you are {exp1} or {exp2}.",
    "A dependable companion {occasion} and beyond.",
    "Whether you are {exp1} or {exp2}, it fits right in {occasion}.",
    "Enjoy it {occasion}, and again {occasion2}.",
)
_FILLERS = (
    "Ships in recyclable packaging.",
    "Free returns within thirty days.",
    "A thoughtful gift for friends and family.",
    "Delivered within two working days.",
    "Backed by our satisfaction guarantee.",
    "Order today and it ships tomorrow.",
    "Gift wrapping is available at checkout.",
    "Part of our new season range.",
    "Stock is limited, so do not wait too long.",
    "Carbon-neutral delivery on every order.",
    "A favourite among our own staff.",
    "Collect loyalty points with every purchase.",
)
_MODELS = (
    "Aero", "Nova", "Classic", "Urban", "Flex", "Core", "Edge", "Pulse", "Vista", "Orbit", "Halo", "Zenith",
    "Echo", "Atlas", "Terra", "Luna", "Apex", "Fusion", "Origin", "Drift", "Spark", "Nomad", "Haven", "Metro",
)
_P_CATEGORY_USAGE = 0.3  # share of descriptions whose usage sentence is category-specific (else generic)
_P_CATEGORY_MODEL = 0.3  # share of titles with a category model name (else a generic one)
# Quality phrasing: kind -> five tiers (very low .. very high) -> synonyms.
_QUALITY = {
    "gear": (
        ("Sadly it is flimsy and poorly made, and many buyers say it broke within weeks.",
         "Cheaply built and shoddy; expect it to fall apart quickly.",
         "The finish feels cheap and fragile, and reviews are harsh."),
        ("A basic, no-frills piece that does the job but will not last long.",
         "Budget construction: serviceable, if a little thin and plasticky.",
         "Simple and inexpensive, though not especially sturdy."),
        ("Decent, dependable build quality for everyday use.",
         "Solid enough construction, with no major complaints from buyers.",
         "A reliable middle-of-the-range choice."),
        ("Well made and durable, it holds up to regular use.",
         "Sturdy construction and careful finishing stand out.",
         "Reviewers praise its robust, long-lasting build."),
        ("Premium materials and superb craftsmanship mean it is built to last for years.",
         "Exceptionally well crafted; owners call it the best they have had.",
         "Top-notch, high-end quality that feels luxurious in the hand."),
    ),
    "consumable": (
        ("Sadly the quality is poor: stale, bland and disappointing, according to many buyers.",
         "Cheap stuff with a dull, flat character; reviews are harsh.",
         "Low-grade and inconsistent, it often arrives past its best."),
        ("A basic, no-frills option that is fine but unremarkable.",
         "Budget grade: serviceable, if a little flat.",
         "Simple and cheap, though rather plain."),
        ("Decent, dependable quality for everyday use.",
         "A reliable choice, with no major complaints from buyers.",
         "Consistently fine, middle-of-the-range quality."),
        ("Fresh, carefully sourced and consistently good.",
         "Reviewers praise its rich character and reliable freshness.",
         "High-grade ingredients give a noticeably better result."),
        ("Premium, small-batch quality that is simply exceptional.",
         "Outstanding, top-grade produce; buyers call it the best they have tried.",
         "Luxurious, expertly sourced and superb in every batch."),
    ),
    "book": (
        ("Sadly the writing is clumsy and the binding cheap; many readers gave up halfway.",
         "Poorly edited, with flat characters and flimsy print quality.",
         "Readers call it a disappointing, sloppy effort."),
        ("A basic, no-frills read that passes the time but is quickly forgotten.",
         "Serviceable but thin, in a plain budget print run.",
         "Simple and inexpensive, though the prose is rather pedestrian."),
        ("Decent, dependable writing for an easy evening.",
         "A solid read, with no major complaints from readers.",
         "Reliable, middle-of-the-road entertainment."),
        ("Well written and carefully edited, it holds the attention throughout.",
         "Reviewers praise its sharp prose and sturdy hardback binding.",
         "A strong, well-crafted book that readers recommend widely."),
        ("A beautifully bound, award-winning masterpiece that readers call unforgettable.",
         "Exceptional prose in a premium edition; critics call it the best of the year.",
         "Top-notch writing in a handsome, high-quality edition."),
    ),
}
_QUALITY_CUTS = np.array([-1.0, -0.35, 0.35, 1.0])  # q + noise -> tier 0..4
# Quality also shows in the first sentence (an adjective) and in the title (a line name, or an edition for books):
# one sentence alone is too faint for a mean-pooled sentence encoder.
_QUALITY_ADJECTIVES = (
    ("cheap", "shoddy", "low-grade", "second-rate"),
    ("basic", "no-frills", "budget", "entry-level"),
    ("standard", "everyday", "decent", "mid-range"),
    ("high-quality", "well-made", "first-rate", "excellent"),
    ("premium", "luxury", "top-of-the-range", "exceptional"),
)
_TITLE_LINES = (("Budget", "Value"), ("Basic", "Essentials"), (), ("Plus", "Select"), ("Premium", "Deluxe"))
_TITLE_EDITIONS = (
    ("(Bargain Reprint)", "(Budget Paperback)"),
    ("(Pocket Edition)", "(Basic Paperback)"),
    (),
    ("(Illustrated Edition)", "(Revised Edition)"),
    ("(Collector's Edition)", "(Deluxe Hardback)"),
)
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



_SYLLABLES = ("nor", "vik", "al", "ta", "ro", "ke", "lu", "mi", "sa", "dor", "fen", "bra", "zel", "tor", "wyn",
              "ka", "ri", "os", "ven", "li", "mar", "quin", "sol", "the", "ga")
_N_BRANDS = 60


# ---------------------------------------------------------------------------------------------------------------
# Parameters and result types
# ---------------------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ShopParams:
    """Structural coefficients of the shop (see the module docstring for the equations).

    The defaults are the book's world; chapters may vary one (e.g. ``logging_quality``, the strength of the
    confounding through quality) with ``dataclasses.replace(ShopParams(), logging_quality=0.0)``.

    Book: 02_the_data.ipynb, sec-shop-world
    """

    # users
    interest_concentration: float = 0.25  # Dirichlet concentration: small = users like few categories
    age_effect: float = 0.6  # how much age tilts interests
    declared_interest_accuracy: float = 0.7
    activity_sigma: float = 0.7  # log-normal spread of session activity
    price_sensitivity_median: float = 1.0
    responsiveness_a: float = 3.0  # Beta(a, b) responsiveness to recommendations
    responsiveness_b: float = 2.0
    # items
    sibling_weight_max: float = 0.35
    topic_noise: float = 0.08
    price_quality: float = 0.25
    price_noise: float = 0.30
    popularity_log_mean: float = 3.5
    popularity_prominence: float = 1.0
    popularity_quality: float = 0.4
    quality_text_noise: float = 0.3
    # relevance (attraction)
    rel_intercept: float = -4.3
    rel_affinity: float = 3.2
    rel_prominence: float = 0.9
    rel_quality: float = 0.3
    rel_noise: float = 0.5
    # purchase intent if aware
    buy_intercept: float = -7.0
    buy_affinity: float = 4.5
    buy_quality: float = 0.6
    buy_noise: float = 0.5
    # organic awareness
    aware_intercept: float = -2.5
    aware_prominence: float = 2.5
    # position bias
    position_decay: float = 1.0
    # logging policy
    logging_popularity: float = 0.8
    logging_quality: float = 0.6
    logging_interest: float = 4.0
    logging_interest_noise: float = 0.15
    logging_exploration: float = 0.05


@dataclasses.dataclass(frozen=True)
class PolicyValue:
    """Exact expected outcomes per session of a policy (averaged over the session-user distribution).

    Attributes:
        clicks: expected clicks per session.
        purchases: expected purchases per session (organic + incremental).
        incremental_purchases: expected purchases caused by the list (sum over slots of examination × uplift).
        organic_purchases: expected purchases with no list at all (sum of ``p_purchase_without``).

    Book: 02_the_data.ipynb, sec-shop-policies
    """

    clicks: float
    purchases: float
    incremental_purchases: float
    organic_purchases: float


@dataclasses.dataclass(frozen=True)
class TrueEffects:
    """The true effect of *being shown by the logging policy* on purchase (see the module docstring).

    Attributes:
        ate: average of :math:`\\bar e\\,\\text{uplift}_{ui}` over session-users and available items.
        att: the same, weighted by the inclusion probability (the pairs the logging policy showed).
        atc: the same, weighted by one minus the inclusion probability (the pairs it did not show).
        mean_examination: :math:`\\bar e`, the expected examination of a random slot.
        period: ``"early"`` or ``"late"``.

    Book: 02_the_data.ipynb, sec-shop-truth
    """

    ate: float
    att: float
    atc: float
    mean_examination: float
    period: str


@dataclasses.dataclass(frozen=True)
class LoggingProbabilities:
    """The logging policy's exact probabilities, arrays of shape ``(n_users, n_available_items)``.

    Attributes:
        inclusion: P(item shown in a session of this user) (``show_probability`` in the logs); rows sum to ``k``.
        per_slot: P(item in slot s) = ``inclusion / k``, the same for every slot (``propensity`` in the logs).
        period: ``"early"`` or ``"late"``.

    Book: 02_the_data.ipynb, sec-shop-logs
    """

    inclusion: np.ndarray
    per_slot: np.ndarray
    period: str


@dataclasses.dataclass(frozen=True)
class ShopLogs:
    """What the shop's database holds for a period: tidy tables with :mod:`causalrec_tutorial.columns` names.

    Attributes:
        impressions: one row per shown item: ``session_id, timestamp, user_id, item_id, position`` (0-based slot),
            ``propensity`` (per slot), ``show_probability`` (in the session at all), ``click``, ``purchase``.
        purchases: every purchase, shown or not: ``session_id, timestamp, user_id, item_id, shown, position``
            (-1 if not shown).
        pairs: per session the shown items plus a uniform sample of ``n_unshown`` not-shown available items:
            ``session_id, timestamp, user_id, item_id, shown, position, show_probability, sample_weight,
            purchase``; ``sample_weight`` (1 for shown rows, #not-shown / n_unshown otherwise) makes weighted sums
            estimate sums over all (session, item) pairs.
        sessions: ``session_id, timestamp, user_id``.
        items: the item table (:meth:`ShopWorld.items`), all items incl. cold-start ones (flagged).
        users: the user table (:meth:`ShopWorld.users`), without hidden traits.
        period: ``"early"``, ``"late"`` or ``"all"``.

    Book: 02_the_data.ipynb, sec-shop-logs
    """

    impressions: pd.DataFrame
    purchases: pd.DataFrame
    pairs: pd.DataFrame
    sessions: pd.DataFrame
    items: pd.DataFrame
    users: pd.DataFrame
    period: str

    def events(self) -> pd.DataFrame:
        """Every interaction in time order: ``session_id, timestamp, user_id, item_id, event``.

        ``event`` is ``"view"`` (an impression), ``"click"`` or ``"purchase"`` (incl. organic purchases);
        within a session views come first, then clicks, then purchases.

        Book: 02_the_data.ipynb, sec-shop-logs
        """
        cols = [C.SESSION, C.TIMESTAMP, C.USER, C.ITEM]
        imp = self.impressions
        parts = [
            imp[cols].assign(**{C.EVENT: "view"}),
            imp.loc[imp[C.CLICK] == 1, cols].assign(**{C.EVENT: "click"}),
            self.purchases[cols].assign(**{C.EVENT: "purchase"}),
        ]
        out = pd.concat(parts, ignore_index=True)
        order = out[C.EVENT].map({e: j for j, e in enumerate(EVENTS)})
        out = out.assign(_o=order).sort_values([C.TIMESTAMP, C.SESSION, "_o"], kind="stable")
        return out.drop(columns="_o").reset_index(drop=True)

    def histories(self, event: str = "purchase") -> pd.Series:
        """Per user the items of one event kind in time order (a Series of lists indexed by user id).

        Args:
            event: ``"view"``, ``"click"`` or ``"purchase"``.

        Raises:
            ValueError: for another event name.

        Book: 02_the_data.ipynb, sec-shop-logs
        """
        if event not in EVENTS:
            raise ValueError(f"event must be one of {EVENTS}, got {event!r}")
        ev = self.events()
        ev = ev[ev[C.EVENT] == event]
        return ev.groupby(C.USER, sort=True)[C.ITEM].agg(list)

    def split(self, fraction: float) -> tuple[ShopLogs, ShopLogs]:
        """Split the logs in time: the first ``fraction`` of the sessions, and the rest.

        Learn a policy on the first part and evaluate it off-policy on the second. A policy built from the very
        logs it is evaluated on depends on their randomness (which items happened to be shown, clicked, bought),
        and importance weighting is then no longer unbiased; later sessions are fresh draws of the logging policy.

        Args:
            fraction: share of the sessions (in time order) in the first part, strictly between 0 and 1.

        Returns:
            ``(earlier, later)``: two :class:`ShopLogs` with every table restricted to their sessions.

        Raises:
            ValueError: if ``fraction`` is not strictly between 0 and 1, or a part would have no session.

        Book: 07_case_study.ipynb, sec-case-before
        """
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0.0 < fraction < 1.0:
            raise ValueError(f"fraction must be a number strictly between 0 and 1, got {fraction!r}")
        sessions = self.sessions.sort_values([C.TIMESTAMP, C.SESSION], kind="stable")
        n_first = int(round(fraction * len(sessions)))
        if not 0 < n_first < len(sessions):
            raise ValueError(f"fraction {fraction} of {len(sessions)} sessions leaves one part empty")
        first = set(sessions[C.SESSION].iloc[:n_first].tolist())

        def part(keep_first: bool) -> ShopLogs:
            def rows(df: pd.DataFrame) -> pd.DataFrame:
                return df[df[C.SESSION].isin(first) == keep_first].reset_index(drop=True)

            return dataclasses.replace(self, impressions=rows(self.impressions), purchases=rows(self.purchases),
                                       pairs=rows(self.pairs), sessions=rows(self.sessions))

        return part(True), part(False)


@dataclasses.dataclass(frozen=True)
class ABTestResult:
    """A simulated A/B test: per-session outcomes of both arms, with the exact values beside them.

    Attributes:
        sessions: one row per session: ``session_id, user_id, policy`` ("A" or "B"), ``click`` (clicks in the
            session), ``purchase`` (purchases), ``incremental_purchase`` (purchases that would not have happened
            without the list — known only in a simulation).
        value_a: exact :class:`PolicyValue` of policy A.
        value_b: exact :class:`PolicyValue` of policy B.
        unit: randomisation unit, ``"session"`` or ``"user"``.

    Book: 02_the_data.ipynb, sec-shop-ab-test
    """

    sessions: pd.DataFrame
    value_a: PolicyValue
    value_b: PolicyValue
    unit: str

    def summary(self, confidence: float = 0.99) -> pd.DataFrame:
        """Per arm and for B − A: mean per session, a normal CI clustered by user, and the exact value.

        Args:
            confidence: level of the intervals, in (0, 1).

        Returns:
            DataFrame indexed by (arm, metric) with columns ``estimate, ci_low, ci_high, truth``.

        Raises:
            ValueError: if ``confidence`` is not in (0, 1).

        Book: 02_the_data.ipynb, sec-shop-ab-test
        """
        if not 0 < confidence < 1:
            raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
        z = float(special.ndtri(0.5 + confidence / 2))
        metrics = {C.CLICK: "clicks", C.PURCHASE: "purchases", C.INCREMENTAL: "incremental_purchases"}
        rows = []
        est = {}
        for arm, value in (("A", self.value_a), ("B", self.value_b)):
            df = self.sessions[self.sessions[C.POLICY] == arm]
            for col, attr in metrics.items():
                mean, se = _clustered_mean(df[col].to_numpy(float), df[C.USER].to_numpy())
                est[arm, col] = (mean, se)
                rows.append((arm, col, mean, mean - z * se, mean + z * se, getattr(value, attr)))
        for col, attr in metrics.items():
            (ma, sa), (mb, sb) = est["A", col], est["B", col]
            d, se = mb - ma, float(np.hypot(sa, sb))
            truth = getattr(self.value_b, attr) - getattr(self.value_a, attr)
            rows.append(("B-A", col, d, d - z * se, d + z * se, truth))
        out = pd.DataFrame(rows, columns=["arm", "metric", "estimate", "ci_low", "ci_high", "truth"])
        return out.set_index(["arm", "metric"])


def _clustered_mean(y: np.ndarray, cluster: np.ndarray) -> tuple[float, float]:
    """Mean and its cluster-robust standard error (clusters = users)."""
    n = len(y)
    if n == 0:
        return float("nan"), float("nan")
    mean = float(y.mean())
    _, inv = np.unique(cluster, return_inverse=True)
    sums = np.bincount(inv, weights=y - mean)
    g = len(sums)
    if g < 2:
        return mean, float("nan")
    return mean, float(np.sqrt(np.sum(sums**2) * g / (g - 1)) / n)


# ---------------------------------------------------------------------------------------------------------------
# Helpers: validation, hashing, text
# ---------------------------------------------------------------------------------------------------------------


def _check_period(period: str, allowed: tuple[str, ...] = PERIODS) -> str:
    if period not in allowed:
        raise ValueError(f"period must be one of {allowed}, got {period!r}")
    return period


_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xBF58476D1CE4E5B9)
_M3 = np.uint64(0x94D049BB133111EB)


def _splitmix(x: np.ndarray) -> np.ndarray:
    x = x + _M1
    x = (x ^ (x >> np.uint64(30))) * _M2
    x = (x ^ (x >> np.uint64(27))) * _M3
    return x ^ (x >> np.uint64(31))


def _hash_normal(key: np.uint64, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Standard normals for every (row, col) pair, a pure function of (key, row, col): prefix-stable in both."""
    r = _splitmix(rows.astype(np.uint64)[:, None] ^ key)
    x = _splitmix(r + _splitmix(cols.astype(np.uint64)[None, :] + key))
    u = ((x >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53
    return special.ndtri(u)


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


def _capped_inclusion(scores: np.ndarray, k: int) -> np.ndarray:
    """Row-wise p = min(1, k·softmax(scores)) with iterative capping so that every row sums to k."""
    w = np.exp(scores - scores.max(axis=1, keepdims=True))
    capped = np.zeros(w.shape, dtype=bool)
    for _ in range(k + 1):
        free = np.where(capped, 0.0, w)
        budget = k - capped.sum(axis=1, keepdims=True)
        p = np.where(capped, 1.0, budget * free / free.sum(axis=1, keepdims=True))
        over = (p > 1.0) & ~capped
        if not over.any():
            break
        capped |= over
    return p


def _read_only(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    a.flags.writeable = False
    return a


# ---------------------------------------------------------------------------------------------------------------
# The world
# ---------------------------------------------------------------------------------------------------------------

# SeedSequence stream ids, fixed forever so that adding a component never reshuffles the others.
_S_ITEM_CATEGORY, _S_ITEM_QUALITY, _S_ITEM_PROMINENCE, _S_ITEM_PRICE, _S_ITEM_TOPIC = 1, 2, 3, 4, 5
_S_ITEM_POPULARITY, _S_ITEM_TEXT, _S_ITEM_TIER, _S_ITEM_BRAND, _S_ITEM_SIBLING = 6, 7, 8, 9, 10
_S_USER_INTEREST, _S_USER_AGE, _S_USER_PRICE, _S_USER_ACTIVITY, _S_USER_RESP, _S_USER_DECLARED = 20, 21, 22, 23, 24, 25
_S_HASH_TASTE, _S_HASH_ATTRACT, _S_HASH_POLICY = 40, 41, 42
_S_SESSIONS = {"early": 60, "late": 61}
_S_CATEGORY_AGE = 70
_WARM, _COLD = 0, 1


class ShopWorld:
    """A seeded online shop with a biased old recommender, position bias, organic demand and known uplift.

    See the module docstring for the exact structural model; everything there is a property of this class.

    Args:
        seed: integer seed (or a ``numpy.random.Generator``, from which one integer is drawn).
        n_users: number of users (default ``by_mode(3000, 300)``).
        n_items: number of warm items, with logs (default ``by_mode(400, 120)``).
        n_cold_items: number of late-arriving cold-start items, no logs in the early period (``by_mode(40, 12)``;
            0 allowed).
        n_sessions: sessions in the early period (default ``by_mode(20000, 2000)``); ``k`` impressions each.
        n_late_sessions: sessions in the late period (default ``n_sessions // 4``; 0 allowed).
        k: slots per recommended list, ``1 <= k <= n_items``.
        n_unshown: not-shown items sampled per session into ``logs().pairs`` (default 10; 0 allowed).
        params: structural coefficients (:class:`ShopParams`).

    Raises:
        ValueError: for non-positive sizes, ``k`` larger than the catalogue, or a bad seed.

    Example::

        world = crt.world.ShopWorld(seed=7)
        logs = world.logs()                       # impressions, purchases, pairs, sessions, items, users
        world.policy_value(world.relevance)       # exact value of the click-optimal list
        world.policy_value(world.uplift)          # ... and of the uplift-optimal list

    Book: 02_the_data.ipynb, sec-shop-world
    """

    def __init__(
        self,
        seed: int | np.random.Generator = DEFAULT_SEED,
        n_users: int | None = None,
        n_items: int | None = None,
        n_cold_items: int | None = None,
        n_sessions: int | None = None,
        n_late_sessions: int | None = None,
        k: int = 5,
        n_unshown: int = 10,
        params: ShopParams | None = None,
    ) -> None:
        if isinstance(seed, np.random.Generator):
            seed = int(seed.integers(2**63))
        self.seed = check_int("seed", seed, 0)
        self.n_users = check_int("n_users", by_mode(3000, 300) if n_users is None else n_users, 1)
        self.n_items = check_int("n_items", by_mode(400, 120) if n_items is None else n_items, 1)
        self.n_cold_items = check_int("n_cold_items", by_mode(40, 12) if n_cold_items is None else n_cold_items, 0)
        self.n_sessions = check_int("n_sessions", by_mode(20000, 2000) if n_sessions is None else n_sessions, 1)
        self.n_late_sessions = check_int(
            "n_late_sessions", self.n_sessions // 4 if n_late_sessions is None else n_late_sessions, 0
        )
        self.k = check_int("k", k, 1)
        if self.k > self.n_items:
            raise ValueError(f"k={self.k} is larger than the catalogue: expected 1 <= k <= n_items={self.n_items}")
        self.n_unshown = check_int("n_unshown", n_unshown, 0)
        if self.n_unshown > self.n_items - self.k:
            raise ValueError(f"n_unshown={self.n_unshown} must be <= n_items - k = {self.n_items - self.k}")
        if params is None:
            params = ShopParams()
        if not isinstance(params, ShopParams):
            raise ValueError(f"params must be a ShopParams, got {type(params).__name__}")
        self.params = params
        self.n_items_total = self.n_items + self.n_cold_items
        self._logs_cache: dict[str, ShopLogs] = {}
        self._build_items()
        self._build_users()
        self._build_truth()
        self._build_logging_policy()

    # ----- construction -------------------------------------------------------------------------------------------

    def _rng(self, *key: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=key))

    def _hash_key(self, stream: int) -> np.uint64:
        return np.random.SeedSequence(self.seed, spawn_key=(stream,)).generate_state(1, dtype=np.uint64)[0]

    def _item_block(self, group: int, n: int, brands: list[str]) -> dict[str, Any]:
        p = self.params
        n_cat = len(CATEGORIES)
        cat = self._rng(group, _S_ITEM_CATEGORY).integers(n_cat, size=n)
        quality = self._rng(group, _S_ITEM_QUALITY).standard_normal(n)
        prominence = self._rng(group, _S_ITEM_PROMINENCE).standard_normal(n)
        base = np.array([c.base_price for c in _CATEGORY_LIST])[cat]
        price_noise = self._rng(group, _S_ITEM_PRICE).standard_normal(n)
        raw = base * np.exp(p.price_quality * quality + p.price_noise * price_noise)
        price = np.maximum(np.floor(raw), 1.0) + 0.99
        # topic: own category + a random share of the sibling + noise, L2-normalised
        sib_w = self._rng(group, _S_ITEM_SIBLING).uniform(0, p.sibling_weight_max, size=n)
        noise = self._rng(group, _S_ITEM_TOPIC).gamma(0.5, p.topic_noise, size=(n, n_cat))
        topic = noise
        topic[np.arange(n), cat] += 1.0
        sib = np.array([_CAT_INDEX[c.sibling] for c in _CATEGORY_LIST])[cat]
        topic[np.arange(n), sib] += sib_w
        topic /= np.linalg.norm(topic, axis=1, keepdims=True)
        if group == _WARM:
            lam = np.exp(p.popularity_log_mean + p.popularity_prominence * prominence + p.popularity_quality * quality)
            popularity = self._rng(group, _S_ITEM_POPULARITY).poisson(lam)
        else:
            popularity = np.zeros(n, dtype=np.int64)
        tier_noise = self._rng(group, _S_ITEM_TIER).standard_normal(n) * p.quality_text_noise
        tier = np.searchsorted(_QUALITY_CUTS, quality + tier_noise)
        rb = self._rng(group, _S_ITEM_BRAND)
        rtext = self._rng(group, _S_ITEM_TEXT)
        titles, descriptions = [], []
        for j in range(n):
            title, desc = _describe(_CATEGORY_LIST[cat[j]], int(tier[j]), _pick(rb, brands), rtext)
            titles.append(title)
            descriptions.append(desc)
        return dict(
            category=cat, quality=quality, prominence=prominence, price=price, topic=topic,
            popularity=popularity.astype(np.int64), tier=tier, title=titles, description=descriptions,
        )

    def _build_items(self) -> None:
        brands = _brands(self._rng(_S_ITEM_BRAND))
        warm = self._item_block(_WARM, self.n_items, brands)
        cold = self._item_block(_COLD, self.n_cold_items, brands)
        cat = lambda key: np.concatenate([warm[key], cold[key]])  # noqa: E731
        self._category = cat("category")
        self._quality = _read_only(cat("quality"))
        self._prominence = _read_only(cat("prominence"))
        self._price = cat("price")
        self._topic = _read_only(np.concatenate([warm["topic"], cold["topic"]], axis=0))
        self._popularity = cat("popularity")
        self._tier = cat("tier")
        self._cold = np.arange(self.n_items_total) >= self.n_items
        self._hash_cols = np.concatenate(
            [np.arange(self.n_items), np.arange(self.n_cold_items) + (1 << 40)]
        )  # cold items keep their noise when n_items changes
        self._items = pd.DataFrame(
            {
                C.ITEM: np.arange(self.n_items_total),
                C.TITLE: warm["title"] + cold["title"],
                C.DESCRIPTION: warm["description"] + cold["description"],
                C.CATEGORY: np.array(CATEGORIES, dtype=object)[self._category],
                C.PRICE: self._price,
                C.POPULARITY: self._popularity,
                C.COLD_START: self._cold,
            }
        )

    def _build_users(self) -> None:
        p = self.params
        n, n_cat = self.n_users, len(CATEGORIES)
        age = self._rng(_S_USER_AGE).integers(18, 76, size=n)
        slopes = self._rng(_S_CATEGORY_AGE).standard_normal(n_cat)  # which categories skew older
        age_z = (age - 46.5) / 16.5
        alpha = p.interest_concentration * np.exp(p.age_effect * age_z[:, None] * slopes[None, :])
        g = self._rng(_S_USER_INTEREST).gamma(alpha)
        g = np.maximum(g, 1e-12)
        self._interests = _read_only(g / g.sum(axis=1, keepdims=True))
        self._price_sensitivity = _read_only(
            p.price_sensitivity_median * np.exp(0.4 * self._rng(_S_USER_PRICE).standard_normal(n))
        )
        self._activity = _read_only(np.exp(p.activity_sigma * self._rng(_S_USER_ACTIVITY).standard_normal(n)))
        self._responsiveness = _read_only(
            self._rng(_S_USER_RESP).beta(p.responsiveness_a, p.responsiveness_b, size=n)
        )
        draws = self._rng(_S_USER_DECLARED).random((n, 2))  # one row per user: prefix-stable
        right = draws[:, 0] < p.declared_interest_accuracy
        other = np.minimum((draws[:, 1] * n_cat).astype(np.int64), n_cat - 1)
        declared = np.where(right, self._interests.argmax(axis=1), other)
        self._session_weights = _read_only(self._activity / self._activity.sum())
        self._users = pd.DataFrame(
            {
                C.USER: np.arange(n),
                C.AGE: age.astype(np.int64),
                C.DECLARED_INTEREST: np.array(CATEGORIES, dtype=object)[declared],
            }
        )

    def _build_truth(self) -> None:
        p = self.params
        rows, cols = np.arange(self.n_users), self._hash_cols
        w = self._interests / np.linalg.norm(self._interests, axis=1, keepdims=True)
        self._affinity = _read_only(w @ self._topic.T)
        eps = _hash_normal(self._hash_key(_S_HASH_TASTE), rows, cols)
        eps_attr = 0.6 * eps + 0.8 * _hash_normal(self._hash_key(_S_HASH_ATTRACT), rows, cols)
        q, h = self._quality[None, :], self._prominence[None, :]
        base = np.array([c.base_price for c in _CATEGORY_LIST])[self._category]
        log_rel_price = np.log(self._price / base)[None, :]
        self._relevance = _read_only(
            special.expit(
                p.rel_intercept + p.rel_affinity * self._affinity + p.rel_prominence * h + p.rel_quality * q
                + p.rel_noise * eps_attr
            )
        )
        intent = special.expit(
            p.buy_intercept + p.buy_affinity * self._affinity + p.buy_quality * q
            - self._price_sensitivity[:, None] * log_rel_price + p.buy_noise * eps
        )
        self._awareness = _read_only(special.expit(p.aware_intercept + p.aware_prominence * self._prominence))
        a = self._awareness[None, :]
        p0 = a * intent
        p1 = intent * (a + (1.0 - a) * self._responsiveness[:, None])
        self._p_without = _read_only(p0)
        self._p_with = _read_only(p1)
        self._uplift = _read_only(p1 - p0)
        self._zeta = self._uplift / (1.0 - p0)  # P(induced purchase | examined), see the module docstring
        self._examination = _read_only((1.0 + np.arange(self.k)) ** (-p.position_decay))
        self._policy_noise = _hash_normal(self._hash_key(_S_HASH_POLICY), rows, cols)

    def _build_logging_policy(self) -> None:
        self._inclusion: dict[str, np.ndarray] = {}
        self._cumulative: dict[str, np.ndarray] = {}
        p = self.params
        pop = np.log1p(self._popularity.astype(float))
        qual = self._quality.copy()
        if self.n_cold_items:  # the old recommender knows nothing about new arrivals: median popularity, mean quality
            pop[self._cold] = np.median(pop[~self._cold])
            qual[self._cold] = 0.0
        for period in PERIODS:
            n = self.n_available(period)
            score = (
                p.logging_popularity * pop[None, :n]
                + p.logging_quality * qual[None, :n]
                + p.logging_interest * (self._affinity[:, :n] + p.logging_interest_noise * self._policy_noise[:, :n])
            )
            pi = (1.0 - p.logging_exploration) * _capped_inclusion(score, self.k) + p.logging_exploration * self.k / n
            pi = np.minimum(pi, 1.0)
            self._inclusion[period] = _read_only(pi)
            cum = np.minimum(np.cumsum(pi, axis=1), self.k)
            cum[:, -1] = self.k
            self._cumulative[period] = (cum + self.k * np.arange(self.n_users)[:, None]).ravel()

    # ----- public: sizes, tables, truth ---------------------------------------------------------------------------

    def n_available(self, period: str = "early") -> int:
        """Number of items available in a period: warm items (``"early"``) or warm + cold (``"late"``)."""
        return self.n_items if _check_period(period) == "early" else self.n_items_total

    @property
    def items(self) -> pd.DataFrame:
        """The item table: ``item_id, title, description, category, price, popularity, cold_start`` (a copy).

        Quality, prominence and topic are hidden (see :meth:`item_truth`); the description mentions quality.

        Book: 02_the_data.ipynb, sec-shop-world
        """
        return self._items.copy()

    @property
    def users(self) -> pd.DataFrame:
        """The user table: ``user_id, age, declared_interest`` (a copy; hidden traits in :meth:`user_truth`).

        Book: 02_the_data.ipynb, sec-shop-world
        """
        return self._users.copy()

    def item_truth(self) -> pd.DataFrame:
        """Hidden item traits: ``item_id, quality, quality_tier`` (as written in the text), ``prominence``,
        ``awareness`` (organic discovery probability) and the topic vector as ``topic_<category>`` columns.

        Book: 02_the_data.ipynb, sec-shop-truth
        """
        df = pd.DataFrame(
            {
                C.ITEM: np.arange(self.n_items_total),
                "quality": self._quality,
                "quality_tier": self._tier,
                "prominence": self._prominence,
                "awareness": self._awareness,
            }
        )
        topics = pd.DataFrame(self._topic, columns=[f"topic_{c}" for c in CATEGORIES])
        return pd.concat([df, topics], axis=1)

    def user_truth(self) -> pd.DataFrame:
        """Hidden user traits: ``user_id, price_sensitivity, activity, responsiveness, session_weight,
        top_interest`` and the interest vector as ``interest_<category>`` columns.

        Book: 02_the_data.ipynb, sec-shop-truth
        """
        df = pd.DataFrame(
            {
                C.USER: np.arange(self.n_users),
                "price_sensitivity": self._price_sensitivity,
                "activity": self._activity,
                "responsiveness": self._responsiveness,
                "session_weight": self._session_weights,
                "top_interest": np.array(CATEGORIES, dtype=object)[self._interests.argmax(axis=1)],
            }
        )
        interests = pd.DataFrame(self._interests, columns=[f"interest_{c}" for c in CATEGORIES])
        return pd.concat([df, interests], axis=1)

    relevance = property(
        lambda self: self._relevance,
        doc="True relevance (attraction): click probability when examined, ``(n_users, n_items_total)``.",
    )
    p_purchase_without = property(
        lambda self: self._p_without,
        doc="Organic purchase probability per session without exposure, ``(n_users, n_items_total)``.",
    )
    p_purchase_with = property(
        lambda self: self._p_with,
        doc="Purchase probability per session when exposed (shown and examined; = shown in slot 0).",
    )
    uplift = property(
        lambda self: self._uplift,
        doc="True uplift of exposure on purchase: exactly ``p_purchase_with - p_purchase_without``.",
    )
    affinity = property(lambda self: self._affinity, doc="Cosine of user interests and item topic, in [0, 1].")
    examination = property(lambda self: self._examination, doc="Examination probability per slot, shape (k,).")
    session_weights = property(
        lambda self: self._session_weights, doc="P(a session belongs to user u) = activity / sum(activity)."
    )
    item_quality = property(lambda self: self._quality, doc="Latent item quality (hidden; described in the text).")
    item_topics = property(lambda self: self._topic, doc="Latent item topic vectors, ``(n_items_total, 12)``.")
    user_interests = property(lambda self: self._interests, doc="Latent user interests, ``(n_users, 12)``.")

    def logging_probabilities(self, period: str = "early") -> LoggingProbabilities:
        """The logging policy's exact inclusion and per-slot probabilities over the period's available items.

        Args:
            period: ``"early"`` or ``"late"``.

        Raises:
            ValueError: for another period.

        Book: 02_the_data.ipynb, sec-shop-logs
        """
        pi = self._inclusion[_check_period(period)]
        return LoggingProbabilities(inclusion=pi, per_slot=_read_only(pi / self.k), period=period)

    def true_effects(self, period: str = "early") -> TrueEffects:
        """Exact average effects of being shown by the logging policy on purchase (ATE, ATT, ATC).

        The effect for a pair is ``mean(examination) * uplift[u, i]`` (the logging policy's slot is uniformly
        random); averages run over the session-user distribution and the period's available items.

        Book: 02_the_data.ipynb, sec-shop-truth
        """
        n = self.n_available(period)
        pi = self._inclusion[period]
        e_bar = float(self._examination.mean())
        tau = e_bar * self._uplift[:, :n]
        w = self._session_weights[:, None]
        ate = float(np.sum(w * tau) / n)
        att = float(np.sum(w * pi * tau) / np.sum(w * pi))
        atc = float(np.sum(w * (1 - pi) * tau) / np.sum(w * (1 - pi)))
        return TrueEffects(ate=ate, att=att, atc=atc, mean_examination=e_bar, period=period)

    # ----- policies -----------------------------------------------------------------------------------------------

    def top_k(self, scores: np.ndarray, period: str = "early") -> np.ndarray:
        """The ranking a score matrix induces: per user the ``k`` highest-scoring available items, best first.

        Args:
            scores: float array ``(n_users, n_available)`` or ``(n_users, n_items_total)`` (cold-start columns are
                ignored in the early period). Ties go to the lower item id.
            period: ``"early"`` or ``"late"``.

        Returns:
            int array ``(n_users, k)`` of item ids.

        Raises:
            ValueError: for a wrong shape, non-finite scores or an unknown period.

        Book: 02_the_data.ipynb, sec-shop-policies
        """
        n = self.n_available(period)
        scores = np.asarray(scores)
        expected = {(self.n_users, n), (self.n_users, self.n_items_total)}
        if scores.ndim != 2 or scores.shape not in expected or not np.issubdtype(scores.dtype, np.number):
            raise ValueError(
                f"scores must be a numeric array of shape {sorted(expected)} (users x items), "
                f"got shape {scores.shape} and dtype {scores.dtype}"
            )
        scores = scores[:, :n].astype(float)
        if np.isnan(scores).any():
            raise ValueError("scores contain NaN")
        return np.argsort(-scores, axis=1, kind="stable")[:, : self.k]

    def _as_policy(self, policy: Any, period: str) -> np.ndarray | str:
        """Rankings ``(n_users, k)`` or the string ``"logging"``."""
        if isinstance(policy, str):
            if policy != "logging":
                raise ValueError(f"a policy given as a string must be 'logging', got {policy!r}")
            return policy
        arr = np.asarray(policy)
        n = self.n_available(period)
        if arr.dtype.kind in "iu":
            if arr.shape != (self.n_users, self.k):
                raise ValueError(
                    f"a ranking policy must have shape (n_users, k) = ({self.n_users}, {self.k}), got {arr.shape}"
                )
            if arr.min() < 0 or arr.max() >= n:
                raise ValueError(f"ranking item ids must be in [0, {n}) for period {period!r}")
            srt = np.sort(arr, axis=1)
            if (np.diff(srt, axis=1) == 0).any():
                raise ValueError("a ranking must list k distinct items per user")
            return arr.astype(np.int64)
        if arr.dtype.kind == "f":
            return self.top_k(arr, period)
        raise ValueError(
            "policy must be 'logging', a float score array (n_users, n_items) or an integer ranking array "
            f"(n_users, k); got dtype {arr.dtype} and shape {arr.shape}"
        )

    def policy_value(self, policy: Any, period: str = "early") -> PolicyValue:
        """Exact expected clicks, purchases and incremental purchases per session of a policy.

        Args:
            policy: float scores ``(n_users, n_items)`` (top-``k``, best in slot 0), integer rankings
                ``(n_users, k)``, or ``"logging"`` (the old recommender).
            period: ``"early"`` (warm items) or ``"late"`` (warm + cold items).

        Returns:
            :class:`PolicyValue`, averaged over the session-user distribution.

        Raises:
            ValueError: for a policy of the wrong shape or type, or an unknown period.

        Book: 02_the_data.ipynb, sec-shop-policies
        """
        _check_period(period)
        pol = self._as_policy(policy, period)
        n = self.n_available(period)
        w = self._session_weights
        if isinstance(pol, str):
            pi = self._inclusion[period]
            e_bar = self._examination.mean()
            clicks_u = e_bar * np.sum(pi * self._relevance[:, :n], axis=1)
            incr_u = e_bar * np.sum(pi * self._uplift[:, :n], axis=1)
        else:
            rows = np.arange(self.n_users)[:, None]
            clicks_u = self._relevance[rows, pol] @ self._examination
            incr_u = self._uplift[rows, pol] @ self._examination
        organic_u = self._p_without[:, :n].sum(axis=1)
        clicks, incr, organic = float(w @ clicks_u), float(w @ incr_u), float(w @ organic_u)
        return PolicyValue(
            clicks=clicks, purchases=organic + incr, incremental_purchases=incr, organic_purchases=organic
        )

    # ----- simulation ---------------------------------------------------------------------------------------------

    def _logging_slates(self, users: np.ndarray, period: str, rng: np.random.Generator) -> np.ndarray:
        """k distinct items per session by systematic πps sampling, in a uniformly random slot order."""
        n = self.n_available(period)
        u0 = rng.random(len(users))
        points = (users * self.k + u0)[:, None] + np.arange(self.k)[None, :]
        flat = np.searchsorted(self._cumulative[period], points, side="right")
        chosen = flat - users[:, None] * n
        order = rng.permuted(np.broadcast_to(np.arange(self.k), chosen.shape).copy(), axis=1)
        return np.take_along_axis(chosen, order, axis=1)

    def _outcomes(
        self, users: np.ndarray, slates: np.ndarray, period: str, rng: np.random.Generator, extra=None
    ) -> dict[str, np.ndarray]:
        """Clicks, purchases (organic ∪ induced) for sessions with given lists; organic draws for all items."""
        n = self.n_available(period)
        rows = users[:, None]
        examined = rng.random(slates.shape) < self._examination[None, :]
        v = rng.random(slates.shape)
        click = examined & (v < self._relevance[rows, slates])
        induced = examined & (v < self._zeta[rows, slates])
        organic_shown = np.zeros(slates.shape, dtype=bool)
        organic_extra = None if extra is None else np.zeros(extra.shape, dtype=bool)
        organic_count = np.zeros(len(users), dtype=np.int64)
        org_s, org_i = [], []
        chunk = max(1, 2_000_000 // n)
        for start in range(0, len(users), chunk):
            sl = slice(start, start + chunk)
            o = rng.random((len(users[sl]), n)) < self._p_without[users[sl], :n]
            idx = np.arange(o.shape[0])[:, None]
            organic_shown[sl] = o[idx, slates[sl]]
            if extra is not None:
                organic_extra[sl] = o[idx, extra[sl]]
            organic_count[sl] = o.sum(axis=1)
            s, i = np.nonzero(o)
            org_s.append(s + start)
            org_i.append(i)
        new = induced & ~organic_shown
        return dict(
            click=click,
            purchase_shown=organic_shown | induced,
            incremental=new,
            organic_extra=organic_extra,
            organic_count=organic_count,
            organic_sessions=np.concatenate(org_s) if org_s else np.zeros(0, np.int64),
            organic_items=np.concatenate(org_i) if org_i else np.zeros(0, np.int64),
        )

    def _sample_unshown(self, shown: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n_unshown`` distinct not-shown items per session, uniformly (sequential draws, skipping excluded)."""
        m = self.n_unshown
        excluded = np.sort(shown, axis=1)
        out = np.empty((len(shown), m), dtype=np.int64)
        for j in range(m):
            x = rng.integers(0, n - self.k - j, size=len(shown))
            for col in range(excluded.shape[1]):
                x = x + (x >= excluded[:, col])
            out[:, j] = x
            excluded = np.sort(np.concatenate([excluded, x[:, None]], axis=1), axis=1)
        return out

    def _simulate_period(self, period: str) -> ShopLogs:
        rng = self._rng(_S_SESSIONS[period])
        n_s = self.n_sessions if period == "early" else self.n_late_sessions
        n = self.n_available(period)
        k = self.k
        first_id = 0 if period == "early" else self.n_sessions
        days0, days = (0, EARLY_DAYS) if period == "early" else (EARLY_DAYS, LATE_DAYS)
        seconds = np.sort(rng.random(n_s)) * days * 86400 + days0 * 86400
        times = START + pd.to_timedelta(np.floor(seconds).astype(np.int64), unit="s")
        users = rng.choice(self.n_users, size=n_s, p=self._session_weights)
        slates = self._logging_slates(users, period, rng)
        unshown = self._sample_unshown(slates, n, rng)
        out = self._outcomes(users, slates, period, rng, extra=unshown)
        pi = self._inclusion[period]
        session_ids = first_id + np.arange(n_s)

        rep = lambda a, m: np.repeat(np.asarray(a), m)  # noqa: E731
        pi_shown = pi[users[:, None], slates]
        impressions = pd.DataFrame(
            {
                C.SESSION: rep(session_ids, k),
                C.TIMESTAMP: rep(times, k),
                C.USER: rep(users, k),
                C.ITEM: slates.ravel(),
                C.POSITION: np.tile(np.arange(k), n_s),
                C.PROPENSITY: (pi_shown / k).ravel(),
                C.SHOW_PROBABILITY: pi_shown.ravel(),
                C.CLICK: out["click"].ravel().astype(np.int64),
                C.PURCHASE: out["purchase_shown"].ravel().astype(np.int64),
            }
        )
        # purchases: organic ones (shown or not) plus induced ones that were not organic
        inc_s, inc_slot = np.nonzero(out["incremental"])
        p_s = np.concatenate([out["organic_sessions"], inc_s])
        p_i = np.concatenate([out["organic_items"], slates[inc_s, inc_slot]])
        # position of each purchased item in its session's list (-1 if not shown)
        match = slates[p_s] == p_i[:, None]
        pos = np.where(match.any(axis=1), match.argmax(axis=1), -1)
        order = np.lexsort((p_i, p_s))
        p_s, p_i, pos = p_s[order], p_i[order], pos[order]
        purchases = pd.DataFrame(
            {
                C.SESSION: session_ids[p_s],
                C.TIMESTAMP: times[p_s],
                C.USER: users[p_s],
                C.ITEM: p_i,
                C.SHOWN: (pos >= 0).astype(np.int64),
                C.POSITION: pos.astype(np.int64),
            }
        )
        m = self.n_unshown
        weight = (n - k) / m if m else 0.0
        pair_items = np.concatenate([slates, unshown], axis=1)
        pairs = pd.DataFrame(
            {
                C.SESSION: rep(session_ids, k + m),
                C.TIMESTAMP: rep(times, k + m),
                C.USER: rep(users, k + m),
                C.ITEM: pair_items.ravel(),
                C.SHOWN: np.tile(np.r_[np.ones(k, np.int64), np.zeros(m, np.int64)], n_s),
                C.POSITION: np.tile(np.r_[np.arange(k), -np.ones(m, np.int64)], n_s),
                C.SHOW_PROBABILITY: pi[users[:, None], pair_items].ravel(),
                C.SAMPLE_WEIGHT: np.tile(np.r_[np.ones(k), np.full(m, weight)], n_s),
                C.PURCHASE: np.concatenate([out["purchase_shown"], out["organic_extra"]], axis=1)
                .ravel()
                .astype(np.int64),
            }
        )
        sessions = pd.DataFrame({C.SESSION: session_ids, C.TIMESTAMP: times, C.USER: users})
        return ShopLogs(
            impressions=impressions,
            purchases=purchases,
            pairs=pairs,
            sessions=sessions,
            items=self.items,
            users=self.users,
            period=period,
        )

    def logs(self, period: str = "early") -> ShopLogs:
        """The shop's logs for a period (simulated once, then cached; identical for the same seed everywhere).

        Args:
            period: ``"early"`` (warm items only), ``"late"`` (cold-start items available) or ``"all"`` (both,
                concatenated; session ids and timestamps continue across periods).

        Returns:
            :class:`ShopLogs` with impressions, purchases, pairs, sessions, items and users tables.

        Raises:
            ValueError: for an unknown period.

        Book: 02_the_data.ipynb, sec-shop-logs
        """
        _check_period(period, LOG_PERIODS)
        if period == "all":
            early, late = self.logs("early"), self.logs("late")
            cat = lambda a, b: pd.concat([a, b], ignore_index=True)  # noqa: E731
            return ShopLogs(
                impressions=cat(early.impressions, late.impressions),
                purchases=cat(early.purchases, late.purchases),
                pairs=cat(early.pairs, late.pairs),
                sessions=cat(early.sessions, late.sessions),
                items=self.items,
                users=self.users,
                period="all",
            )
        if period not in self._logs_cache:
            self._logs_cache[period] = self._simulate_period(period)
        cached = self._logs_cache[period]
        return dataclasses.replace(
            cached,
            impressions=cached.impressions.copy(),
            purchases=cached.purchases.copy(),
            pairs=cached.pairs.copy(),
            sessions=cached.sessions.copy(),
        )

    def simulate_ab_test(
        self,
        policy_a: Any,
        policy_b: Any,
        n_sessions: int,
        rng: np.random.Generator | int,
        period: str = "early",
        unit: str = "session",
    ) -> ABTestResult:
        """Simulate an online A/B test of two policies on fresh sessions.

        Sessions are drawn from the session-user distribution; each is assigned to an arm with probability 1/2,
        per session (``unit="session"``) or per user (``unit="user"``, all of a user's sessions in one arm).

        Args:
            policy_a: control policy (scores, rankings or ``"logging"``; see :meth:`policy_value`).
            policy_b: treatment policy.
            n_sessions: total number of sessions (both arms).
            rng: the randomness (a ``numpy.random.Generator`` or an integer seed).
            period: ``"early"`` or ``"late"``.
            unit: ``"session"`` or ``"user"``.

        Returns:
            :class:`ABTestResult` with per-session outcomes and both policies' exact values
            (``.summary()`` gives means with clustered CIs next to the truth).

        Raises:
            ValueError: for bad policies, a non-positive ``n_sessions``, an unknown period or unit.

        Book: 02_the_data.ipynb, sec-shop-ab-test
        """
        _check_period(period)
        n_sessions = check_int("n_sessions", n_sessions, 1)
        if unit not in ("session", "user"):
            raise ValueError(f"unit must be 'session' or 'user', got {unit!r}")
        rng = as_rng(rng)
        pols = {"A": self._as_policy(policy_a, period), "B": self._as_policy(policy_b, period)}
        users = rng.choice(self.n_users, size=n_sessions, p=self._session_weights)
        if unit == "session":
            is_b = rng.random(n_sessions) < 0.5
        else:
            is_b = (rng.random(self.n_users) < 0.5)[users]
        slates = np.empty((n_sessions, self.k), dtype=np.int64)
        for arm, mask in (("A", ~is_b), ("B", is_b)):
            pol = pols[arm]
            if isinstance(pol, str):
                slates[mask] = self._logging_slates(users[mask], period, rng)
            else:
                slates[mask] = pol[users[mask]]
        out = self._outcomes(users, slates, period, rng)
        incremental = out["incremental"].sum(axis=1)
        sessions = pd.DataFrame(
            {
                C.SESSION: np.arange(n_sessions),
                C.USER: users,
                C.POLICY: np.where(is_b, "B", "A"),
                C.CLICK: out["click"].sum(axis=1).astype(np.int64),
                C.PURCHASE: (out["organic_count"] + incremental).astype(np.int64),
                C.INCREMENTAL: incremental.astype(np.int64),
            }
        )
        return ABTestResult(
            sessions=sessions,
            value_a=self.policy_value(policy_a, period),
            value_b=self.policy_value(policy_b, period),
            unit=unit,
        )

    def __repr__(self) -> str:
        return (
            f"ShopWorld(seed={self.seed}, n_users={self.n_users}, n_items={self.n_items}, "
            f"n_cold_items={self.n_cold_items}, n_sessions={self.n_sessions}, "
            f"n_late_sessions={self.n_late_sessions}, k={self.k})"
        )
