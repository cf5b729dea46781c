"""The simulated shop: determinism, exact propensities, exact policy values, and the causal properties it promises."""

import dataclasses
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest

from causalrec_tutorial import columns as C
from causalrec_tutorial import world as W
from causalrec_tutorial.world import ShopWorld

DIGEST = textwrap.dedent(
    """
    import hashlib
    import pandas as pd
    from causalrec_tutorial.world import ShopWorld

    def digest(seed):
        world = ShopWorld(seed=seed, n_users=150, n_items=50, n_cold_items=5, n_sessions=400, n_late_sessions=100)
        logs = world.logs("all")
        h = hashlib.sha256()
        for df in (logs.impressions, logs.purchases, logs.pairs, logs.sessions, logs.items, logs.users):
            h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
        for a in (world.relevance, world.uplift, world.logging_probabilities("late").inclusion):
            h.update(a.tobytes())
        return h.hexdigest()
    """
)


def _digest(seed):
    scope = {}
    exec(DIGEST, scope)
    return scope["digest"](seed)


# ----- determinism -----------------------------------------------------------------------------------------------


def test_same_seed_gives_identical_logs_in_separate_processes():
    code = DIGEST + "\nprint(digest(5))\n"
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True) for _ in range(2)]
    outs = {r.stdout.strip() for r in runs}
    assert len(outs) == 1 and outs == {_digest(5)}


def test_different_seeds_differ():
    assert _digest(5) != _digest(6)


def test_adding_users_or_items_keeps_the_existing_ones():
    a = ShopWorld(seed=4, n_users=100, n_items=40, n_cold_items=4, n_sessions=50)
    b = ShopWorld(seed=4, n_users=130, n_items=55, n_cold_items=4, n_sessions=50)
    pd.testing.assert_frame_equal(a.items.iloc[:40], b.items.iloc[:40])
    pd.testing.assert_frame_equal(a.users, b.users.iloc[:100])
    np.testing.assert_array_equal(a.relevance[:, :40], b.relevance[:100, :40])
    np.testing.assert_array_equal(a.uplift[:, 40:], b.uplift[:100, 55:])  # cold items too
    np.testing.assert_array_equal(a.item_topics[:40], b.item_topics[:40])
    np.testing.assert_array_equal(a.user_interests, b.user_interests[:100])


def test_no_global_random_state_is_used():
    np.random.seed(0)
    before = np.random.get_state()[1].copy()
    ShopWorld(seed=1, n_users=50, n_items=30, n_sessions=100).logs()
    np.testing.assert_array_equal(np.random.get_state()[1], before)


# ----- catalogue and users ---------------------------------------------------------------------------------------


def test_item_table_has_text_but_not_the_hidden_quality(moderate_world):
    items = moderate_world.items
    assert list(items.columns) == [C.ITEM, C.TITLE, C.DESCRIPTION, C.CATEGORY, C.PRICE, C.POPULARITY, C.COLD_START]
    words = items[C.DESCRIPTION].str.split().str.len()
    assert words.between(30, 60).all(), (words.min(), words.max())
    assert set(items[C.CATEGORY]) == set(W.CATEGORIES) and len(W.CATEGORIES) == 12
    assert items[C.TITLE].str.len().gt(5).all()
    assert (items.loc[items[C.COLD_START], C.POPULARITY] == 0).all()
    assert items[C.COLD_START].sum() == moderate_world.n_cold_items
    assert (items[C.PRICE] > 0).all()


def test_quality_is_written_in_the_text(moderate_world):
    truth = moderate_world.item_truth()
    desc = moderate_world.items[C.DESCRIPTION]
    for tier in range(5):
        phrases = {p for kind in W.catalogue._QUALITY.values() for p in kind[tier]}
        rows = truth["quality_tier"] == tier
        assert desc[rows].map(lambda d: any(p in d for p in phrases)).all()
    # the tier follows the latent quality
    assert np.corrcoef(truth["quality"], truth["quality_tier"])[0, 1] > 0.8


def test_user_table_hides_the_truth(small_world):
    assert list(small_world.users.columns) == [C.USER, C.AGE, C.DECLARED_INTEREST]
    truth = small_world.user_truth()
    assert {"price_sensitivity", "activity", "responsiveness"} <= set(truth.columns)
    np.testing.assert_allclose(truth["session_weight"].sum(), 1.0)


# ----- truth -----------------------------------------------------------------------------------------------------


def test_uplift_is_exactly_with_minus_without(moderate_world):
    w = moderate_world
    np.testing.assert_array_equal(w.uplift, w.p_purchase_with - w.p_purchase_without)
    assert w.uplift.shape == (w.n_users, w.n_items_total)
    assert (w.uplift >= 0).all() and (w.p_purchase_with <= 1).all() and (w.p_purchase_without > 0).all()
    assert ((w.relevance > 0) & (w.relevance < 1)).all()
    assert w.examination[0] == 1.0 and (np.diff(w.examination) < 0).all()


def test_click_optimal_and_uplift_optimal_top10_overlap_by_less_than_half(moderate_world):
    w = moderate_world
    n = w.n_items
    by_click = np.argsort(-w.relevance[:, :n], axis=1)[:, :10]
    by_uplift = np.argsort(-w.uplift[:, :n], axis=1)[:, :10]
    overlap = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(by_click, by_uplift)])
    assert overlap < 0.5
    # and the two lists are what each metric prefers
    v_click, v_uplift = w.policy_value(w.relevance), w.policy_value(w.uplift)
    assert v_click.clicks > 1.5 * v_uplift.clicks
    assert v_uplift.incremental_purchases > 2 * v_click.incremental_purchases


def test_uplift_is_small_for_prominent_items_and_large_for_relevant_niche_ones(moderate_world):
    w = moderate_world
    truth = w.item_truth().iloc[: w.n_items]
    relevant = w.affinity[:, : w.n_items] > 0.6
    popular = (truth["awareness"] > 0.8).to_numpy()[None, :]  # found without help
    niche = (truth["awareness"] < 0.1).to_numpy()[None, :]
    up = w.uplift[:, : w.n_items]
    share = up / w.p_purchase_with[:, : w.n_items]  # the part of an exposed purchase that the exposure caused
    assert up[relevant & niche].mean() > 5 * up[relevant & popular].mean()
    assert share[relevant & popular].mean() < 0.15 and share[relevant & niche].mean() > 0.8
    # popular items are the ones with many prior sales (the observed column)
    pop = w.items[C.POPULARITY].to_numpy()[: w.n_items]
    assert np.corrcoef(np.log1p(pop), truth["awareness"])[0, 1] > 0.5


# ----- logging policy --------------------------------------------------------------------------------------------


def test_logged_propensities_equal_the_policy_probabilities(small_world):
    w = small_world
    for period in ("early", "late"):
        probs = w.logging_probabilities(period)
        n = w.n_available(period)
        assert probs.inclusion.shape == (w.n_users, n)
        np.testing.assert_allclose(probs.inclusion.sum(axis=1), w.k, rtol=1e-12)
        imp = w.logs(period).impressions
        u, i = imp[C.USER].to_numpy(), imp[C.ITEM].to_numpy()
        assert ((imp[C.PROPENSITY] > 0) & (imp[C.PROPENSITY] <= 1)).all()
        assert ((imp[C.SHOW_PROBABILITY] > 0) & (imp[C.SHOW_PROBABILITY] <= 1)).all()
        np.testing.assert_array_equal(imp[C.SHOW_PROBABILITY].to_numpy(), probs.inclusion[u, i])
        np.testing.assert_array_equal(imp[C.PROPENSITY].to_numpy(), probs.per_slot[u, i])
        np.testing.assert_allclose(probs.per_slot, probs.inclusion / w.k)


def test_every_session_shows_k_distinct_items_in_slots_0_to_k_minus_1(small_world):
    imp = small_world.logs().impressions
    k = small_world.k
    g = imp.groupby(C.SESSION)
    assert (g.size() == k).all() and (g[C.ITEM].nunique() == k).all()
    assert (g[C.POSITION].apply(sorted).map(tuple) == tuple(range(k))).all()
    assert imp[C.ITEM].max() < small_world.n_items  # no cold-start item in the early period


def test_logging_policy_realises_its_per_slot_probabilities():
    """Counts per (item, slot) over many sessions match the sums of the logged per-slot propensities."""
    w = ShopWorld(seed=9, n_users=100, n_items=40, n_cold_items=0, n_sessions=40000, n_late_sessions=0, n_unshown=0)
    imp = w.logs().impressions
    pi = w.logging_probabilities().per_slot
    users = w.logs().sessions[C.USER].to_numpy()
    expected = pi[users].sum(axis=0)  # expected count per item, for every slot
    var = (pi[users] * (1 - pi[users])).sum(axis=0)
    counts = pd.crosstab(imp[C.ITEM], imp[C.POSITION]).reindex(range(w.n_items), fill_value=0).to_numpy()
    z = (counts - expected[:, None]) / np.sqrt(var)[:, None]
    assert np.abs(z).max() < 5, np.abs(z).max()


def test_logged_clicks_match_the_exact_value_of_the_logging_policy(small_world):
    sessions = small_world.logs().impressions.groupby(C.SESSION)[C.CLICK].sum()
    exact = small_world.policy_value("logging").clicks
    se = sessions.std() / np.sqrt(len(sessions))
    assert abs(sessions.mean() - exact) < 4 * se


# ----- logs ------------------------------------------------------------------------------------------------------


def test_logs_tables_are_consistent(small_world):
    logs = small_world.logs()
    imp, pur, pairs = logs.impressions, logs.purchases, logs.pairs
    assert list(imp.columns) == [
        C.SESSION, C.TIMESTAMP, C.USER, C.ITEM, C.POSITION, C.PROPENSITY, C.SHOW_PROBABILITY, C.CLICK, C.PURCHASE
    ]
    assert imp[C.CLICK].isin([0, 1]).all() and imp[C.PURCHASE].isin([0, 1]).all()
    assert imp[C.TIMESTAMP].is_monotonic_increasing
    # purchases of shown items are exactly the impressions with purchase = 1
    shown_p = pur[pur[C.SHOWN] == 1].set_index([C.SESSION, C.ITEM])[C.POSITION].sort_index()
    imp_p = imp[imp[C.PURCHASE] == 1].set_index([C.SESSION, C.ITEM])[C.POSITION].sort_index()
    pd.testing.assert_series_equal(shown_p, imp_p)
    assert (pur.loc[pur[C.SHOWN] == 0, C.POSITION] == -1).all()
    assert not pur.duplicated([C.SESSION, C.ITEM]).any()
    # pairs: the shown rows are the impressions; the others are distinct not-shown items of the same session
    shown = pairs[pairs[C.SHOWN] == 1]
    np.testing.assert_array_equal(shown[C.ITEM].to_numpy(), imp[C.ITEM].to_numpy())
    np.testing.assert_array_equal(shown[C.PURCHASE].to_numpy(), imp[C.PURCHASE].to_numpy())
    assert not pairs.duplicated([C.SESSION, C.ITEM]).any()
    assert (pairs.groupby(C.SESSION).size() == small_world.k + small_world.n_unshown).all()
    # not-shown sampled pairs that were bought appear in the purchases table
    bought = pairs[(pairs[C.SHOWN] == 0) & (pairs[C.PURCHASE] == 1)]
    keys = set(zip(pur[C.SESSION], pur[C.ITEM]))
    assert all(key in keys for key in zip(bought[C.SESSION], bought[C.ITEM]))


def test_late_period_has_cold_start_items_and_later_timestamps(small_world):
    early, late = small_world.logs("early"), small_world.logs("late")
    assert late.sessions[C.TIMESTAMP].min() > early.sessions[C.TIMESTAMP].max()
    assert late.sessions[C.SESSION].min() == small_world.n_sessions
    cold = set(range(small_world.n_items, small_world.n_items_total))
    assert cold & set(late.impressions[C.ITEM]) and cold & set(late.purchases[C.ITEM])
    assert not cold & set(early.purchases[C.ITEM])
    both = small_world.logs("all")
    assert len(both.impressions) == len(early.impressions) + len(late.impressions)


def test_split_logs_in_time(small_world):
    logs = small_world.logs()
    first, later = logs.split(0.75)
    assert len(first.sessions) == round(0.75 * len(logs.sessions))
    assert len(first.sessions) + len(later.sessions) == len(logs.sessions)
    assert first.sessions[C.TIMESTAMP].max() <= later.sessions[C.TIMESTAMP].min()
    for table in ("impressions", "purchases", "pairs"):
        a, b, whole = getattr(first, table), getattr(later, table), getattr(logs, table)
        assert len(a) + len(b) == len(whole)
        assert set(a[C.SESSION]) <= set(first.sessions[C.SESSION])
        assert not set(b[C.SESSION]) & set(first.sessions[C.SESSION])
    assert first.items is logs.items and later.period == logs.period
    for bad in (0, 1, 1.5, -0.1, True, "half"):
        with pytest.raises(ValueError, match="fraction"):
            logs.split(bad)
    with pytest.raises(ValueError, match="empty"):
        logs.split(1e-9)


def test_events_and_histories_are_in_time_order(small_world):
    logs = small_world.logs()
    ev = logs.events()
    assert ev[C.TIMESTAMP].is_monotonic_increasing
    assert set(ev[C.EVENT]) == {"view", "click", "purchase"}
    assert (ev[C.EVENT] == "purchase").sum() == len(logs.purchases)
    hist = logs.histories("click")
    clicks = logs.impressions[logs.impressions[C.CLICK] == 1]
    assert hist.map(len).sum() == len(clicks)
    user = hist.index[0]
    assert hist[user] == clicks.loc[clicks[C.USER] == user, C.ITEM].tolist()


def test_naive_logged_effect_is_off_from_the_true_att_by_at_least_30_percent(moderate_world):
    pairs = moderate_world.logs().pairs
    y, d = pairs[C.PURCHASE], pairs[C.SHOWN]
    naive = y[d == 1].mean() - y[d == 0].mean()
    truth = moderate_world.true_effects()
    assert truth.ate < truth.att
    assert abs(naive - truth.att) >= 0.3 * truth.att, (naive, truth.att)


def test_inverse_propensity_weighting_of_the_pairs_recovers_the_true_ate(moderate_world):
    """The logged show probabilities and sample weights are right: Horvitz–Thompson is unbiased for the ATE."""
    w = moderate_world
    pairs = w.logs().pairs
    y, d = pairs[C.PURCHASE].to_numpy(), pairs[C.SHOWN].to_numpy()
    pi, sw = pairs[C.SHOW_PROBABILITY].to_numpy(), pairs[C.SAMPLE_WEIGHT].to_numpy()
    contrib = sw * (d * y / pi - (1 - d) * y / (1 - pi)) / w.n_items
    per_session = pd.Series(contrib).groupby(pairs[C.SESSION].to_numpy()).sum()
    estimate, se = per_session.mean(), per_session.std() / np.sqrt(len(per_session))
    truth = w.true_effects().ate
    assert abs(estimate - truth) < 4 * se, (estimate, truth, se)


# ----- policies and the A/B test ---------------------------------------------------------------------------------


def test_exact_policy_values_lie_in_the_99_percent_ci_of_a_simulated_ab_test(small_world):
    w = small_world
    rankings = w.top_k(w.uplift)
    for policy_a, policy_b, unit in [("logging", rankings, "session"), (w.relevance, "logging", "user")]:
        result = w.simulate_ab_test(policy_a, policy_b, n_sessions=30000, rng=np.random.default_rng(1), unit=unit)
        summary = result.summary(confidence=0.99)
        assert len(summary) == 9
        inside = (summary["ci_low"] <= summary["truth"]) & (summary["truth"] <= summary["ci_high"])
        assert inside.all(), summary
        assert set(result.sessions[C.POLICY]) == {"A", "B"}


def test_simulated_ab_test_detects_a_wrong_value(small_world):
    """The check above can fail: a value off by 50% is outside the CI (the 99% CI's half-width is ~20% of the truth
    here: 200 users with the calibrated, long-tailed activity, clustered by user; it was 20% off before)."""
    w = small_world
    result = w.simulate_ab_test("logging", w.uplift, n_sessions=30000, rng=np.random.default_rng(2))
    s = result.summary().loc[("B", C.INCREMENTAL)]
    assert not s["ci_low"] <= 1.5 * s["truth"] <= s["ci_high"]
    assert not s["ci_low"] <= 0.5 * s["truth"] <= s["ci_high"]


def test_policy_value_accepts_scores_and_rankings_alike(small_world):
    w = small_world
    scores = w.relevance[:, : w.n_items] + 0.0
    assert w.policy_value(scores) == w.policy_value(w.top_k(scores))
    assert w.policy_value(w.relevance) == w.policy_value(scores)  # full-width: cold-start columns ignored early
    v = w.policy_value("logging", period="late")
    assert v.purchases == pytest.approx(v.organic_purchases + v.incremental_purchases)
    assert w.policy_value(w.uplift, "late").incremental_purchases >= w.policy_value(w.uplift).incremental_purchases


def test_ab_test_is_reproducible_with_the_same_rng(small_world):
    a = small_world.simulate_ab_test("logging", small_world.uplift, 500, np.random.default_rng(3))
    b = small_world.simulate_ab_test("logging", small_world.uplift, 500, 3)
    pd.testing.assert_frame_equal(a.sessions, b.sessions)


# ----- bad input -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_users=0), "n_users must be a positive integer"),
        (dict(n_items=-3), "n_items must be a positive integer"),
        (dict(n_sessions=0), "n_sessions must be a positive integer"),
        (dict(n_users=2.5), "n_users"),
        (dict(k=0), "k must be a positive integer"),
        (dict(n_items=4, k=5), r"k=5 is larger than the catalogue: expected 1 <= k <= n_items=4"),
        (dict(n_cold_items=-1), "n_cold_items must be an integer >= 0"),
        (dict(seed=-1), "seed"),
        (dict(params="strong"), "ShopParams"),
    ],
)
def test_bad_sizes_raise_value_error(kwargs, match):
    base = dict(seed=1, n_users=20, n_items=30, n_sessions=10)
    with pytest.raises(ValueError, match=match):
        ShopWorld(**{**base, **kwargs})


def test_bad_policies_and_periods_raise_value_error(small_world):
    w = small_world
    with pytest.raises(ValueError, match=r"shape \(n_users, k\) = \(200, 5\)"):
        w.policy_value(np.zeros((w.n_users, 3), dtype=int))
    with pytest.raises(ValueError, match="scores must be a numeric array of shape"):
        w.policy_value(np.zeros((w.n_users, 7)))
    with pytest.raises(ValueError, match="distinct"):
        w.policy_value(np.zeros((w.n_users, w.k), dtype=int))
    bad = w.top_k(w.relevance)
    bad[0, 0] = w.n_items  # a cold-start item in the early period
    with pytest.raises(ValueError, match=r"item ids must be in \[0, 60\)"):
        w.policy_value(bad)
    with pytest.raises(ValueError, match="'logging'"):
        w.policy_value("random")
    with pytest.raises(ValueError, match="NaN"):
        w.policy_value(np.full((w.n_users, w.n_items), np.nan))
    with pytest.raises(ValueError, match=r"period must be one of \('early', 'late'\)"):
        w.policy_value("logging", period="all")
    with pytest.raises(ValueError, match="period must be one of"):
        w.logs("middle")
    with pytest.raises(ValueError, match="n_sessions must be a positive integer"):
        w.simulate_ab_test("logging", "logging", 0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="unit must be"):
        w.simulate_ab_test("logging", "logging", 10, np.random.default_rng(0), unit="cookie")
    with pytest.raises(ValueError, match="rng must be"):
        w.simulate_ab_test("logging", "logging", 10, rng="seed")
    with pytest.raises(ValueError, match="event must be one of"):
        w.logs().histories("like")


# ----- size and speed --------------------------------------------------------------------------------------------


def test_full_world_is_rich_enough(monkeypatch):
    monkeypatch.setenv("CAUSALREC_MODE", "full")
    start = time.perf_counter()
    world = ShopWorld(seed=7)
    early, late = world.logs("early"), world.logs("late")
    seconds = time.perf_counter() - start
    print(f"full world: {seconds:.2f} s, {world!r}")
    assert world.n_users >= 1000 and world.n_items >= 100 and len(early.impressions) >= 10_000
    assert late.impressions[C.ITEM].max() >= world.n_items
    # the time is printed, not asserted: timings are benchmarks (tests/benchmarks/), and a busy machine must not fail a test


def test_smoke_mode_shrinks_the_world(monkeypatch):
    monkeypatch.setenv("CAUSALREC_MODE", "smoke")
    smoke = ShopWorld(seed=7)
    monkeypatch.setenv("CAUSALREC_MODE", "full")
    assert smoke.n_users < ShopWorld(seed=7, n_sessions=10).n_users


def test_params_change_the_world():
    base = dict(seed=2, n_users=100, n_items=40, n_sessions=10)
    a = ShopWorld(**base)
    b = ShopWorld(**base, params=dataclasses.replace(W.ShopParams(), logging_quality=0.0))
    assert not np.array_equal(a.logging_probabilities().inclusion, b.logging_probabilities().inclusion)
    np.testing.assert_array_equal(a.uplift, b.uplift)
