"""Realism switches of the shop, second part: negative uplift (reactance), substitution between items of one
category, and a sampling design in which every pair of items can be shown together (conditional Poisson), with its
exact joint inclusion probabilities. Exact values are checked against simulation within 4 standard errors."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from causalrec_tutorial import columns as C
from causalrec_tutorial.world import ShopParams, ShopWorld
from causalrec_tutorial.world import sampling as S

SMALL = dict(n_users=200, n_items=240, n_cold_items=4, n_sessions=20000, n_late_sessions=500)  # 20 items a category
REMOVAL = dataclasses.replace(ShopParams(), reactance=1.0, substitution=0.8, aware_intercept=-1.0)


@pytest.fixture(scope="module")
def removal_world():
    return ShopWorld(seed=21, params=REMOVAL, **SMALL)


@pytest.fixture(scope="module")
def cps_world():
    return ShopWorld(seed=22, params=dataclasses.replace(ShopParams(), logging_sampling="conditional_poisson"),
                     **SMALL)


def _within(mean, se, exact, z=4.0):
    assert abs(mean - exact) <= z * se + 1e-12, (mean, exact, se)


def test_reactance_makes_some_uplifts_negative_and_leaves_the_rest_of_the_truth_alone(removal_world):
    w = removal_world
    plain = ShopWorld(seed=21, params=dataclasses.replace(REMOVAL, reactance=0.0, substitution=0.0), **SMALL)
    assert (w.uplift < 0).mean() > 0.01 and (plain.uplift >= 0).all()
    np.testing.assert_array_equal(w.p_purchase_without, plain.p_purchase_without)
    np.testing.assert_array_equal(w.relevance, plain.relevance)
    # the put-off purchases are 1 in k of the organic ones, scaled by (1 - affinity)
    np.testing.assert_allclose(plain.uplift - w.uplift,
                               w.p_purchase_without * REMOVAL.reactance * (1 - w.affinity) / w.k, atol=1e-15)


def test_substitution_lowers_the_net_uplift_by_the_category_demand_it_replaces(removal_world):
    w = removal_world
    net = w.net_uplift()
    n = w.n_items
    assert net.shape == (w.n_users, n) and (net <= w.uplift[:, :n] + 1e-15).all()
    assert (w.uplift[:, :n] - net).max() > 1e-4
    # ranking by the net uplift is optimal for the list's incremental purchases; by the item's own uplift is not
    assert (w.policy_value(net).incremental_purchases
            >= w.policy_value(w.uplift).incremental_purchases - 1e-12)
    off = ShopWorld(seed=21, params=dataclasses.replace(REMOVAL, substitution=0.0), **SMALL)
    np.testing.assert_array_equal(off.net_uplift(), off.uplift[:, :n])


@pytest.mark.parametrize("policy", ["logging", "net", "relevance"])
def test_exact_list_values_match_simulated_sessions_with_removal(removal_world, policy):
    w = removal_world
    pol = {"logging": "logging", "net": w.net_uplift(), "relevance": w.relevance}[policy]
    ab = w.simulate_ab_test(pol, pol, n_sessions=120_000, rng=np.random.default_rng(5))
    s, value = ab.sessions, ab.value_a
    for col, exact in ((C.PURCHASE, value.purchases), (C.INCREMENTAL, value.incremental_purchases),
                       (C.CLICK, value.clicks)):
        y = s[col].to_numpy(float)
        _within(y.mean(), y.std(ddof=1) / np.sqrt(len(y)), exact)


def test_logged_purchases_of_shown_items_follow_the_exact_removal_model(removal_world):
    """P(bought | shown in slot t, the rest of the list) = p0 (1 - R) + e_t (1 - p0) zeta, R the removal chance."""
    w = removal_world
    imp = w.logs().impressions
    k = w.k
    users = imp[C.USER].to_numpy().reshape(-1, k)
    slates = imp[C.ITEM].to_numpy().reshape(-1, k)
    e = w.examination
    rows = users[:, :1]
    p0 = w.p_purchase_without[rows, slates]
    zeta = w._zeta[rows, slates]
    cat = w._category[slates]
    same = (cat[:, :, None] == cat[:, None, :]) & ~np.eye(k, dtype=bool)[None]
    steal = (same * (e * zeta)[:, None, :]).sum(axis=2) * REMOVAL.substitution
    put_off = e[None, :] * REMOVAL.reactance * (1 - w.affinity[rows, slates])
    expected = p0 * (1 - (put_off + steal) / k) + e[None, :] * (1 - p0) * zeta
    diff = imp[C.PURCHASE].to_numpy().reshape(-1, k) - expected
    per_session = diff.sum(axis=1)
    _within(per_session.mean(), per_session.std(ddof=1) / np.sqrt(len(per_session)), 0.0)
    assert (np.abs(expected - w.p_purchase_without[rows, slates] - e * w.uplift[rows, slates]) > 0).any()


def test_switches_off_draw_nothing_extra():
    """The removal draws come from a child stream: with them off the logs are the default world's, bit for bit."""
    a = ShopWorld(seed=4, **SMALL).logs().purchases
    b = ShopWorld(seed=4, params=dataclasses.replace(ShopParams(), reactance=0.0), **SMALL).logs().purchases
    assert a.equals(b)


def test_conditional_poisson_odds_reach_the_target_inclusion_probabilities_exactly():
    rng = np.random.default_rng(0)
    n, k = 7, 3
    pi = np.full((3, n), k / n) * 0.5 + 0.5 * np.array([S.cps_inclusion(rng.gamma(1.0, size=n), k) for _ in range(3)])
    w = S.cps_odds(pi, k)
    for u in range(3):
        sets = list(itertools.combinations(range(n), k))
        p = np.array([np.prod(w[u, list(c)]) for c in sets])
        p = p / p.sum()
        member = np.zeros((len(sets), n))
        for r, c in enumerate(sets):
            member[r, list(c)] = 1
        np.testing.assert_allclose(member.T @ p, pi[u], atol=1e-10)
        np.testing.assert_allclose(member.T @ (p[:, None] * member), S.cps_joint_inclusion(w[u], k), atol=1e-12)


def test_conditional_poisson_logs_realise_the_inclusion_probabilities(cps_world):
    w = cps_world
    imp = w.logs().impressions
    pi = w.logging_probabilities().inclusion
    np.testing.assert_allclose(imp[C.SHOW_PROBABILITY], pi[imp[C.USER], imp[C.ITEM]])
    # shown counts per item against their exact expectation (sum over sessions of pi), a z-test per item
    users = imp[C.USER].to_numpy()[:: w.k]
    expected = pi[users].sum(axis=0)
    var = (pi[users] * (1 - pi[users])).sum(axis=0)
    counts = np.bincount(imp[C.ITEM], minlength=w.n_items)
    z = (counts - expected) / np.sqrt(var)
    assert np.abs(z).max() < 4.5 and abs(z.mean()) < 0.5


def test_joint_inclusion_is_positive_under_conditional_poisson_and_often_zero_under_systematic(cps_world):
    w = cps_world
    joint = w.joint_inclusion(0)
    pi = w.logging_probabilities().inclusion[0]
    np.testing.assert_allclose(np.diag(joint), pi, atol=1e-10)
    np.testing.assert_allclose(joint.sum(axis=1), w.k * pi, atol=1e-9)
    assert (joint > 0).all()
    sys_world = ShopWorld(seed=22, **SMALL)
    sj = sys_world.joint_inclusion(0)
    np.testing.assert_allclose(sj.sum(axis=1), w.k * sys_world.logging_probabilities().inclusion[0], atol=1e-9)
    assert (sj == 0).mean() > 0.3
    with pytest.raises(ValueError, match="user"):
        w.joint_inclusion(w.n_users)


def test_conditional_poisson_pair_frequencies_match_the_joint_probabilities():
    w = ShopWorld(seed=23, n_users=1, n_items=8, n_cold_items=0, n_sessions=40_000, n_late_sessions=0, k=3,
                  n_unshown=0, params=dataclasses.replace(ShopParams(), logging_sampling="conditional_poisson"))
    slates = w.logs().impressions[C.ITEM].to_numpy().reshape(-1, 3)
    member = np.zeros((len(slates), 8))
    np.put_along_axis(member, slates, 1.0, axis=1)
    freq = member.T @ member / len(slates)
    exact = w.joint_inclusion(0)
    se = np.sqrt(exact * (1 - exact) / len(slates))
    assert (np.abs(freq - exact) <= 4.5 * se + 1e-12).all()


def test_ranked_conditional_poisson_slot_probabilities_match_the_logs():
    params = dataclasses.replace(ShopParams(), logging_sampling="conditional_poisson", logging_order="ranked")
    w = ShopWorld(seed=24, n_users=1, n_items=8, n_cold_items=0, n_sessions=40_000, n_late_sessions=0, k=3,
                  n_unshown=0, params=params)
    imp = w.logs().impressions
    exact = w.logging_probabilities().per_slot[0]
    np.testing.assert_allclose(exact.sum(axis=0), 1.0, atol=1e-12)
    np.testing.assert_allclose(exact.sum(axis=1), w.logging_probabilities().inclusion[0], atol=1e-10)
    np.testing.assert_allclose(imp[C.PROPENSITY], exact[imp[C.ITEM], imp[C.POSITION]])
    for s in range(3):
        freq = np.bincount(imp[C.ITEM][imp[C.POSITION] == s], minlength=8) / 40_000
        se = np.sqrt(exact[:, s] * (1 - exact[:, s]) / 40_000)
        assert (np.abs(freq - exact[:, s]) <= 4.5 * se + 1e-12).all()


@pytest.mark.parametrize("field, value", [("reactance", 1.5), ("substitution", -0.1), ("reactance", float("nan")),
                                          ("logging_sampling", "poisson")])
def test_new_switches_are_validated(field, value):
    with pytest.raises(ValueError, match=field):
        dataclasses.replace(ShopParams(), **{field: value})


def test_conditional_poisson_odds_converge_where_the_fixed_point_oscillates():
    """From the cold review: several inclusion probabilities close to 1 made the odds iteration oscillate."""
    params = dataclasses.replace(ShopParams(), logging_sampling="conditional_poisson", logging_exploration=1e-3,
                                 logging_interest=40.0)
    w = ShopWorld(seed=7, n_users=300, n_items=400, n_cold_items=0, n_sessions=100, n_late_sessions=0,
                  params=params)
    np.testing.assert_allclose(S.cps_inclusion(w._odds["early"], w.k), w.logging_probabilities().inclusion,
                               atol=1e-10)


def test_a_list_as_long_as_the_catalogue_needs_no_sampling_design():
    params = dataclasses.replace(ShopParams(), logging_sampling="conditional_poisson")
    w = ShopWorld(seed=1, n_users=20, n_items=6, n_cold_items=2, n_unshown=0, k=6, n_sessions=100,
                  n_late_sessions=50, params=params)
    assert (w.logs().impressions.groupby(C.SESSION)[C.ITEM].nunique() == 6).all()
    assert w.logs("late").impressions[C.ITEM].max() < 8


def test_under_substitution_the_total_effect_of_being_shown_is_below_the_own_effect(removal_world):
    own, total = removal_world.true_effects(), removal_world.true_effects(outcome="total")
    assert total.att < own.att
    plain = ShopWorld(seed=21, params=dataclasses.replace(REMOVAL, substitution=0.0), **SMALL)
    assert plain.true_effects(outcome="total").att == plain.true_effects().att
    with pytest.raises(ValueError, match="outcome"):
        removal_world.shown_effect(outcome="net")
