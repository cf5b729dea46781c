"""Evaluation: ranking metrics and estimators against hand-computed values, OPE unbiasedness and CI coverage in a
small contextual bandit with a known value, the shop's exact policy values, and A/B-test analysis."""

import math

import numpy as np
import pandas as pd
import pytest

from causalrec_tutorial import columns as C
from causalrec_tutorial import evaluate as E
from causalrec_tutorial.world import ShopWorld

# ----- ranking metrics: a 3-user example ----------------------------------------------------------------------------

RECS = np.array([[3, 1, 2, 0], [0, 1, 2, 3], [2, 0, 1, 3]])  # top-3: [3,1,2], [0,1,2], [2,0,1]
RELEVANT = [{1, 4}, {3}, {2, 0, 1}]
L2 = 1 / np.log2(3)  # discount of the second slot; the third is 1/log2(4) = 0.5


def test_recall_precision_map_on_a_hand_computed_example():
    # hits in the top 3: user 0 finds item 1 (slot 1) of {1, 4}; user 1 finds nothing; user 2 finds all three
    assert E.recall_at_k(RECS, RELEVANT, 3) == pytest.approx((1 / 2 + 0 + 1) / 3)
    assert E.precision_at_k(RECS, RELEVANT, 3) == pytest.approx((1 / 3 + 0 + 1) / 3)
    # AP@3: user 0: precision@2 = 1/2 at its one hit, / min(3, 2) -> 1/4; user 2: (1 + 1 + 1) / 3 = 1
    assert E.map_at_k(RECS, RELEVANT, 3) == pytest.approx((1 / 4 + 0 + 1) / 3)
    np.testing.assert_allclose(E.recall_at_k(RECS, RELEVANT, 3, per_user=True), [0.5, 0.0, 1.0])
    # k = 1: only user 2's first item is relevant; AP@1 divides by min(k, |R|) = 1, not |R| = 3
    assert E.recall_at_k(RECS, RELEVANT, 1) == pytest.approx((0 + 0 + 1 / 3) / 3)
    assert E.map_at_k(RECS, RELEVANT, 1) == pytest.approx((0 + 0 + 1) / 3)


def test_ndcg_binary_on_a_hand_computed_example():
    user0 = L2 / (1 + L2)  # hit in slot 1; the ideal list has its 2 relevant items in slots 0 and 1
    assert E.ndcg_at_k(RECS, RELEVANT, 3) == pytest.approx((user0 + 0 + 1) / 3)
    # exponential gain is the same for binary relevance (2^1 - 1 = 1)
    assert E.ndcg_at_k(RECS, RELEVANT, 3, gain="exponential") == pytest.approx((user0 + 0 + 1) / 3)


def test_ndcg_graded_against_true_relevance():
    rel = np.array([[0.1, 0.9, 0.0, 0.5], [0.3, 0.0, 0.6, 0.2]])
    recs = np.array([[3, 1], [0, 2]])
    u0 = (0.5 + 0.9 * L2) / (0.9 + 0.5 * L2)
    u1 = (0.3 + 0.6 * L2) / (0.6 + 0.3 * L2)
    assert E.ndcg_at_k(recs, rel, 2) == pytest.approx((u0 + u1) / 2)
    # an examination-probability discount (1, 1/2): DCG = expected clicks
    u0e, u1e = (0.5 + 0.9 / 2) / (0.9 + 0.5 / 2), (0.3 + 0.6 / 2) / (0.6 + 0.3 / 2)
    assert E.ndcg_at_k(recs, rel, 2, discount=[1.0, 0.5]) == pytest.approx((u0e + u1e) / 2)
    u0x = ((2**0.5 - 1) + (2**0.9 - 1) * L2) / ((2**0.9 - 1) + (2**0.5 - 1) * L2)
    assert E.ndcg_at_k(recs, rel, 2, gain="exponential", per_user=True)[0] == pytest.approx(u0x)
    # the best list scores 1
    assert E.ndcg_at_k(np.array([[1, 3], [2, 0]]), rel, 2) == pytest.approx(1.0)


def test_truth_forms_agree_and_users_without_relevant_items_are_left_out():
    binary = np.zeros((3, 6), dtype=int)
    for u, items in enumerate(RELEVANT):
        binary[u, list(items)] = 1
    as_series = pd.Series({0: [1, 4], 2: [2, 0, 1], 1: [3]})
    for metric in (E.recall_at_k, E.precision_at_k, E.map_at_k, E.ndcg_at_k):
        ref = metric(RECS, RELEVANT, 3)
        assert metric(RECS, binary, 3) == pytest.approx(ref)
        assert metric(RECS, as_series, 3) == pytest.approx(ref)
        assert metric([list(r) for r in RECS], RELEVANT, 3) == pytest.approx(ref)
    # user 1 missing from a dict = no relevant items: left out, not counted as 0
    partial = {0: [1, 4], 2: [2, 0, 1]}
    assert E.recall_at_k(RECS, partial, 3) == pytest.approx((0.5 + 1) / 2)
    assert np.isnan(E.recall_at_k(RECS, partial, 3, per_user=True)[1])


def test_ragged_lists():
    recs = [[3, 1, 2], [0], []]  # short lists count as fewer items
    assert E.recall_at_k(recs, RELEVANT, 3, per_user=True).tolist() == [0.5, 0.0, 0.0]
    assert E.precision_at_k(recs, RELEVANT, 3, per_user=True)[0] == pytest.approx(1 / 3)
    assert E.coverage(recs, 6) == pytest.approx(4 / 6)


def test_coverage_and_average_popularity():
    popularity = [10, 20, 30, 40, 50, 60]
    assert E.coverage(RECS, 6, 3) == pytest.approx(4 / 6)  # items {0, 1, 2, 3} of 6
    assert E.coverage(RECS[:, :1], 6) == pytest.approx(3 / 6)  # items {3, 0, 2}
    # per user (40+20+30)/3, (10+20+30)/3, (30+10+20)/3
    assert E.average_popularity(RECS, popularity, 3) == pytest.approx((30 + 20 + 20) / 3)
    assert E.average_popularity(RECS, np.array(popularity)) == pytest.approx(25.0)  # all four columns


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: E.recall_at_k(np.array([[1, 1, 2]]), [{1}], 3), "repeat an item"),
        (lambda: E.recall_at_k(RECS, RELEVANT, 5), "columns but k=5"),
        (lambda: E.recall_at_k(RECS, RELEVANT[:2], 3), "truth has 2 entries but recommendations have 3"),
        (lambda: E.recall_at_k(RECS, np.full((3, 6), 0.5), 3), "binary relevance"),
        (lambda: E.recall_at_k(RECS, [set(), set(), set()], 3), "no user has a relevant item"),
        (lambda: E.recall_at_k(RECS, RELEVANT, 0), "k must be a positive integer"),
        (lambda: E.recall_at_k(RECS.astype(float), RELEVANT, 3), "integer item ids"),
        (lambda: E.recall_at_k(-RECS, RELEVANT, 3), "non-negative item ids"),
        (lambda: E.ndcg_at_k(RECS, np.ones((3, 3)), 3), "outside the relevance matrix"),
        (lambda: E.ndcg_at_k(RECS, RELEVANT, 3, gain="log"), "gain must be"),
        (lambda: E.ndcg_at_k(RECS, {7: [1]}, 3), "user ids outside"),
        (lambda: E.coverage(RECS, 3), "outside the catalogue"),
        (lambda: E.average_popularity(RECS, [1.0, np.nan, 2.0, 3.0]), "NaN"),
    ],
)
def test_ranking_metrics_reject_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ----- off-policy estimators: a 5-round example --------------------------------------------------------------------

R = np.array([1.0, 0.0, 1.0, 1.0, 0.0])  # rewards
P = np.array([0.5, 0.25, 0.2, 0.8, 0.5])  # logging propensities
T = np.array([0.25, 0.5, 0.6, 0.4, 1.0])  # target probabilities of the logged actions -> w = .5, 2, 3, .5, 2
Q_LOGGED = np.array([0.6, 0.2, 0.5, 0.5, 0.1])  # q_hat(x_i, a_i)
V_HAT = np.array([0.4, 0.4, 0.5, 0.6, 0.1])  # sum_a pi_e(a|x_i) q_hat(x_i, a)


def test_estimators_on_a_hand_computed_example():
    assert E.ips(R, P, T, n_bootstrap=0).value == pytest.approx((0.5 + 3 + 0.5) / 5)  # 0.8
    assert E.snips(R, P, T, n_bootstrap=0).value == pytest.approx(4 / 8)  # sum w r / sum w
    # clip=2: w = .5, 2, 2, .5, 2
    assert E.ips(R, P, T, clip=2, n_bootstrap=0).value == pytest.approx(3 / 5)
    assert E.snips(R, P, T, clip=2, n_bootstrap=0).value == pytest.approx(3 / 7)
    assert E.dm(V_HAT, n_bootstrap=0).value == pytest.approx(2.0 / 5)
    # DR terms: .4+.5*.4, .4+2*(-.2), .5+3*.5, .6+.5*.5, .1+2*(-.1) = .6, 0, 2, .85, -.1
    assert E.dr(R, P, T, Q_LOGGED, V_HAT, n_bootstrap=0).value == pytest.approx(3.35 / 5)
    est = E.ips(R, P, T, clip=2, n_bootstrap=0)
    assert (est.method, est.n) == ("ips (clip=2)", 5) and np.isnan(est.ci_low) and np.isnan(est.ci_high)


def test_estimate_policy_value_tabulates_every_method():
    table = E.estimate_policy_value(R, P, T, Q_LOGGED, V_HAT, n_bootstrap=50, rng=1, truth=0.5)
    assert list(table.index) == ["dm", "ips", "snips", "dr"]
    np.testing.assert_allclose(table["value"], [0.4, 0.8, 0.5, 0.67])
    np.testing.assert_allclose(table["error"], [-0.1, 0.3, 0.0, 0.17], atol=1e-12)
    assert (table["ci_low"] <= table["value"]).all() and (table["value"] <= table["ci_high"]).all()
    assert list(E.estimate_policy_value(R, P, T, n_bootstrap=0).index) == ["ips", "snips"]


def test_full_action_distributions_give_the_same_estimates():
    # 3 rounds, 3 actions; logged actions 2, 0, 1
    target = np.array([[0.2, 0.3, 0.5], [0.6, 0.4, 0.0], [0.1, 0.1, 0.8]])
    q_hat = np.array([[0.1, 0.2, 0.3], [0.5, 0.0, 0.4], [0.2, 0.6, 0.1]])
    action = np.array([2, 0, 1])
    r, p = np.array([1.0, 0.0, 1.0]), np.array([0.5, 0.3, 0.2])
    t1, q1 = np.array([0.5, 0.6, 0.1]), np.array([0.3, 0.5, 0.6])
    v1 = np.array([0.02 + 0.06 + 0.15, 0.30, 0.02 + 0.06 + 0.08])
    assert E.ips(r, p, target, action=action, n_bootstrap=0).value == pytest.approx((1 / 0.5 * 0.5 + 0 + 0.5) / 3)
    assert E.dr(r, p, target, q_hat, action=action, n_bootstrap=0).value == pytest.approx(
        E.dr(r, p, t1, q1, v1, n_bootstrap=0).value
    )
    np.testing.assert_allclose(E.expected_reward(target, q_hat), v1)
    assert E.dm(target=target, reward_hat=q_hat, n_bootstrap=0).value == pytest.approx(v1.mean())
    # item-position layout (n, n_items, n_positions) as in obp: the logged position selects the slice
    target3 = np.stack([target, np.full((3, 3), 1 / 3)], axis=2)  # position 0: target; position 1: uniform
    position = np.array([1, 0, 1])
    assert E.snips(r, p, target3, action=action, position=position, n_bootstrap=0).value == pytest.approx(
        (1 / 3 / 0.5 * 1 + 0 + 1 / 3 / 0.2 * 1) / (1 / 3 / 0.5 + 0.6 / 0.3 + 1 / 3 / 0.2)
    )
    q3 = np.stack([q_hat, q_hat], axis=2)
    np.testing.assert_allclose(E.expected_reward(target3, q3, position), [q_hat[0].mean(), 0.30, q_hat[2].mean()])


def test_bootstrap_ci_is_the_percentile_interval_of_resampled_rounds():
    rng_data = np.random.default_rng(0)
    r = (rng_data.random(40) < 0.3).astype(float)
    p = rng_data.uniform(0.2, 0.9, 40)
    t = rng_data.uniform(0.0, 1.0, 40)
    est = E.ips(r, p, t, n_bootstrap=300, confidence=0.9, rng=np.random.default_rng(5))
    idx = np.random.default_rng(5).integers(0, 40, size=(300, 40))
    stats = (t / p * r)[idx].mean(axis=1)
    assert (est.ci_low, est.ci_high) == pytest.approx(tuple(np.quantile(stats, [0.05, 0.95])))
    again = E.ips(r, p, t, n_bootstrap=300, confidence=0.9, rng=5)  # an int seed works too, deterministically
    assert (again.ci_low, again.ci_high) == (est.ci_low, est.ci_high)
    wider = E.ips(r, p, t, n_bootstrap=300, confidence=0.99, rng=5)
    assert wider.ci_low < est.ci_low and wider.ci_high > est.ci_high


# ----- a small contextual bandit with a known value -----------------------------------------------------------------

PX = np.array([0.4, 0.3, 0.2, 0.1])  # context distribution
Q = np.array([[0.10, 0.30, 0.05, 0.50], [0.40, 0.20, 0.10, 0.30], [0.05, 0.60, 0.30, 0.20], [0.25, 0.10, 0.50, 0.40]])
PI0 = np.array([[0.4, 0.3, 0.2, 0.1], [0.1, 0.4, 0.4, 0.1], [0.25, 0.25, 0.25, 0.25], [0.1, 0.2, 0.3, 0.4]])
PIE = np.array([[0.05, 0.15, 0.05, 0.75], [0.7, 0.1, 0.1, 0.1], [0.05, 0.8, 0.1, 0.05], [0.1, 0.05, 0.75, 0.1]])
TRUTH = float(PX @ (PIE * Q).sum(axis=1))  # 0.422; the logging policy's value is 0.226
Q_WRONG = 0.6 * Q + 0.1  # a misspecified reward model: DM converges to 0.3532, not 0.422


def _bandit(n, rng, q_hat=Q_WRONG, deterministic=False):
    x = rng.choice(4, size=n, p=PX)
    a = (rng.random(n)[:, None] > PI0[x].cumsum(axis=1)).sum(axis=1)
    r = Q[x, a] if deterministic else (rng.random(n) < Q[x, a]).astype(float)
    return dict(
        x=x, reward=r, propensity=PI0[x, a], target=PIE[x, a], reward_hat=q_hat[x, a],
        expected_reward_hat=(PIE * q_hat).sum(axis=1)[x],
    )


def _run(name, d, **kw):
    args = {
        "ips": ("reward", "propensity", "target"),
        "snips": ("reward", "propensity", "target"),
        "dr": ("reward", "propensity", "target", "reward_hat", "expected_reward_hat"),
        "dm": ("expected_reward_hat",),
    }[name]
    return getattr(E, name)(*(d[k] for k in args), **kw)


def test_ips_and_dr_are_unbiased_and_the_test_has_power():
    estimates = {m: [] for m in ("ips", "dr", "dm", "naive", "ips_clipped")}
    for seed in range(200):
        d = _bandit(200, np.random.default_rng(seed))
        for m in ("ips", "dr", "dm"):
            estimates[m].append(_run(m, d, n_bootstrap=0).value)
        estimates["ips_clipped"].append(_run("ips", d, clip=2.0, n_bootstrap=0).value)
        estimates["naive"].append(d["reward"].mean())
    z = {}
    for m, values in estimates.items():
        v = np.asarray(values)
        z[m] = (v.mean() - TRUTH) / (v.std(ddof=1) / math.sqrt(len(v)))
    assert abs(z["ips"]) < 2 and abs(z["dr"]) < 2, z  # measured: -1.36 and -0.71
    # the same check flags biased estimators: the logged mean, DM with a wrong model, heavily clipped IPS
    assert z["naive"] < -10 and z["dm"] < -10 and z["ips_clipped"] < -10, z


def test_bootstrap_cis_cover_the_truth():
    reps, covered = 150, {"ips": 0, "snips": 0, "dr": 0}
    for seed in range(reps):
        rng = np.random.default_rng(10_000 + seed)
        d = _bandit(300, rng)
        for m in covered:
            est = _run(m, d, n_bootstrap=200, rng=rng)
            covered[m] += est.ci_low <= TRUTH <= est.ci_high
    rates = {m: c / reps for m, c in covered.items()}
    assert min(rates.values()) >= 0.9, rates  # measured: ips 0.94, snips 0.93, dr 0.93
    # a wrong reward model's DM interval is narrow and misses: the CI reflects sampling, not model error
    for seed in range(20):
        est = _run("dm", _bandit(300, np.random.default_rng(seed)), n_bootstrap=100, rng=seed)
        assert not est.ci_low <= TRUTH <= est.ci_high


def test_snips_is_invariant_to_scaling_the_weights():
    d = _bandit(300, np.random.default_rng(1))
    a = E.snips(d["reward"], d["propensity"], d["target"], n_bootstrap=100, rng=3)
    b = E.snips(d["reward"], d["propensity"] / 4, d["target"], n_bootstrap=100, rng=3)  # every weight x 4
    assert b.value == pytest.approx(a.value) and (b.ci_low, b.ci_high) == pytest.approx((a.ci_low, a.ci_high))
    assert E.ips(d["reward"], d["propensity"] / 4, d["target"], n_bootstrap=0).value == pytest.approx(
        4 * E.ips(d["reward"], d["propensity"], d["target"], n_bootstrap=0).value
    )


def test_clipping_caps_the_weights():
    w = E.importance_weights(P, T)
    np.testing.assert_allclose(w, [0.5, 2, 3, 0.5, 2])
    np.testing.assert_allclose(E.importance_weights(P, T, clip=1.5), [0.5, 1.5, 1.5, 0.5, 1.5])
    assert E.ips(R, P, T, clip=3.0, n_bootstrap=0).value == E.ips(R, P, T, n_bootstrap=0).value  # cap >= max: no-op
    assert E.dr(R, P, T, Q_LOGGED, V_HAT, clip=1.0, n_bootstrap=0).value == pytest.approx(
        np.mean(V_HAT + np.minimum(T / P, 1.0) * (R - Q_LOGGED))
    )
    assert E.effective_sample_size(w) == pytest.approx(8**2 / (0.25 + 4 + 9 + 0.25 + 4))
    assert E.effective_sample_size(np.ones(7)) == pytest.approx(7)


def test_dr_properties():
    # with a perfect model and noise-free rewards, the correction term vanishes: DR = DM = mean of the true v(x_i),
    # i.e. zero error given the contexts, whatever the weights; IPS still has weight noise
    d = _bandit(500, np.random.default_rng(2), q_hat=Q, deterministic=True)
    exact = (PIE * Q).sum(axis=1)[d["x"]].mean()
    assert _run("dr", d, n_bootstrap=0).value == pytest.approx(exact, abs=1e-12)
    assert abs(_run("ips", d, n_bootstrap=0).value - exact) > 1e-3
    # with reward_hat = 0, DR is IPS
    zeros = np.zeros(len(R))
    assert E.dr(R, P, T, zeros, zeros, n_bootstrap=0).value == pytest.approx(E.ips(R, P, T, n_bootstrap=0).value)
    # with the target = the logging policy (w = 1), IPS and SNIPS are the mean reward
    assert E.ips(R, P, P, n_bootstrap=0).value == pytest.approx(R.mean())
    assert E.snips(R, P, P, n_bootstrap=0).value == pytest.approx(R.mean())
    # a perfect model makes DR less variable than IPS (noisy rewards)
    ips_v, dr_v = [], []
    for seed in range(100):
        d = _bandit(200, np.random.default_rng(seed), q_hat=Q)
        ips_v.append(_run("ips", d, n_bootstrap=0).value)
        dr_v.append(_run("dr", d, n_bootstrap=0).value)
    assert np.std(dr_v) < 0.85 * np.std(ips_v)  # measured 0.75 (the rest is the rewards' own Bernoulli noise)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: E.ips(R, [0.5, 0.25, 0.0, 0.8, 0.5], T, n_bootstrap=0), r"propensity must be in \(0, 1\]"),
        (lambda: E.ips(R, 1 / P, T, n_bootstrap=0), "importance weights 1/p"),
        (lambda: E.ips(R, P[:4], T, n_bootstrap=0), "length mismatch: propensity has 4 entries but reward has 5"),
        (lambda: E.snips(R, P, T[:3], n_bootstrap=0), "length mismatch: target has 3 rows but reward has 5"),
        (lambda: E.ips([], [], [], n_bootstrap=0), "reward is empty"),
        (lambda: E.ips([1.0, np.nan, 0, 0, 0], P, T, n_bootstrap=0), r"reward contains 1 NaN"),
        (lambda: E.ips(R, P, [0.2, 1.2, 0.2, 0.2, 0.2], n_bootstrap=0), r"target must be in \[0, 1\]"),
        (lambda: E.ips(R, P, T, clip=0, n_bootstrap=0), "clip must be a positive number"),
        (lambda: E.ips(R, P, T), "rng is required"),
        (lambda: E.ips(R, P, T, n_bootstrap=-1), "n_bootstrap must be"),
        (lambda: E.ips(R, P, T, rng=0, confidence=95), r"confidence must be in \(0, 1\)"),
        (lambda: E.ips(R, P, np.full((5, 2), 0.5), n_bootstrap=0), "action is required"),
        (lambda: E.ips(R, P, np.full((5, 2), 0.4), action=np.zeros(5, int), n_bootstrap=0), "must sum to 1"),
        (lambda: E.ips(R, P, np.full((5, 2), 0.5), action=np.full(5, 2), n_bootstrap=0), r"action must be in \[0, 2\)"),
        (lambda: E.dr(R, P, T, Q_LOGGED, n_bootstrap=0), "expected_reward_hat is missing"),
        (lambda: E.dm(n_bootstrap=0), "dm needs expected_reward_hat"),
        (lambda: E.snips(R, P, np.zeros(5), n_bootstrap=0), "all importance weights are 0"),
        (lambda: E.estimate_policy_value(R, P, T, methods=["dr"], n_bootstrap=0), "need a reward model"),
        (lambda: E.estimate_policy_value(R, P, T, methods=["switch"], n_bootstrap=0), "methods must be"),
        (lambda: E.ips(["a"] * 5, P, T, n_bootstrap=0), "reward must be numeric"),
        (lambda: E.snips(R, -P, T, n_bootstrap=0), r"propensity must be in \(0, 1\]"),
        (lambda: E.dr(R, P, T, Q_LOGGED[:4], V_HAT, n_bootstrap=0), "length mismatch: reward_hat"),
        (lambda: E.dr([], [], [], [], [], n_bootstrap=0), "reward is empty"),
        (lambda: E.dm([], n_bootstrap=0), "empty"),
    ],
)
def test_estimators_reject_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_pandas_inputs_work():
    frame = pd.DataFrame({"r": R, "p": P, "t": T})
    assert E.ips(frame["r"], frame["p"], frame["t"], n_bootstrap=0).value == pytest.approx(0.8)
    with pytest.raises(ValueError, match="NaN"):
        E.ips(pd.Series([1, None, 0, 0, 1], dtype="Int64"), P, T, n_bootstrap=0)


# ----- Bernoulli Thompson sampling: the slot distribution of the Open Bandit Pipeline's evaluation policy -----------


def test_bernoulli_ts_action_dist_matches_closed_forms():
    # two actions, one slot: P(theta_0 > theta_1) with theta_0 ~ Beta(2, 1) (density 2x), theta_1 ~ U(0, 1) is
    # E[theta_0] = 2/3; the Monte Carlo SE with 200k rounds is 0.001
    dist = E.bernoulli_ts_action_dist([2.0, 1.0], [1.0, 1.0], 1, 200_000, np.random.default_rng(0))
    assert dist.shape == (2, 1) and dist[0, 0] == pytest.approx(2 / 3, abs=0.005)
    # equal priors: every action equally likely in every slot; each slot is a distribution over actions
    even = E.bernoulli_ts_action_dist(np.full(5, 3.0), np.full(5, 300.0), 3, 50_000, 1, batch_size=7_000)
    np.testing.assert_allclose(even.sum(axis=0), 1.0)
    np.testing.assert_allclose(even, 0.2, atol=0.01)
    # a dominant action (prior mean 0.5 vs 0.01) fills slot 0; three actions, three slots: each action once per round
    dom = E.bernoulli_ts_action_dist([500.0, 1.0, 1.0], [500.0, 99.0, 99.0], 3, 10_000, 2)
    assert dom[0, 0] == 1.0 and dom[0, 1:].sum() == 0.0
    np.testing.assert_allclose(dom.sum(axis=1), 1.0)
    # deterministic given the seed, whatever the batching
    a = E.bernoulli_ts_action_dist([1.0, 2.0, 3.0], [5.0, 5.0, 5.0], 2, 3_000, 9, batch_size=3_000)
    b = E.bernoulli_ts_action_dist([1.0, 2.0, 3.0], [5.0, 5.0, 5.0], 2, 3_000, np.random.default_rng(9))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: E.bernoulli_ts_action_dist([1.0, 0.0], [1.0, 1.0], 1, 10, 0), "alpha must be positive"),
        (lambda: E.bernoulli_ts_action_dist([1.0, 1.0], [1.0], 1, 10, 0), "length mismatch: beta"),
        (lambda: E.bernoulli_ts_action_dist([1.0, 1.0], [1.0, 1.0], 3, 10, 0), "len_list=3 exceeds"),
        (lambda: E.bernoulli_ts_action_dist([1.0, 1.0], [1.0, 1.0], 1, 0, 0), "n_sim must be a positive"),
        (lambda: E.bernoulli_ts_action_dist([], [], 1, 10, 0), "alpha is empty"),
    ],
)
def test_bernoulli_ts_action_dist_rejects_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def _logistic_bandit(n, rng):
    """Rounds with a known logistic click model: logit = x . (1, -1) + c_a . (2,) - 2 + 0.5 * slot."""
    x = rng.normal(size=(n, 2))
    ac = np.array([[-1.0], [0.0], [1.0], [0.5]])
    a, s = rng.integers(0, 4, n), rng.integers(0, 2, n)
    true_logit = (x @ [1.0, -1.0])[:, None, None] + 2.0 * ac[None, :, :] - 2.0 + 0.5 * np.arange(2)[None, None, :]
    q = 1 / (1 + np.exp(-true_logit))  # (n, 4, 2)
    r = (rng.random(n) < q[np.arange(n), a, s]).astype(float)
    return x, ac, a, s, r, q


def test_fit_reward_model_recovers_a_logistic_truth_and_cross_fits():
    x, ac, a, s, r, q = _logistic_bandit(6000, np.random.default_rng(0))
    q_hat = E.fit_reward_model(x, a, r, s, ac, n_folds=3)
    assert q_hat.shape == (6000, 4, 2) and ((q_hat > 0) & (q_hat < 1)).all()
    assert np.abs(q_hat - q).mean() < 0.02  # measured 0.007: a well-specified model recovers the click probabilities
    # one-hot actions (no action context) fit the same truth almost as well
    assert np.abs(E.fit_reward_model(x, a, r, s, n_folds=1) - q).mean() < 0.03
    # cross-fitting: flipping round 0's reward leaves its own prediction unchanged but moves the other folds'
    r2 = r.copy()
    r2[0] = 1 - r2[0]
    q_flip = E.fit_reward_model(x, a, r2, s, ac, n_folds=3)
    np.testing.assert_allclose(q_flip[0], q_hat[0])
    assert np.abs(q_flip - q_hat).max() > 1e-6
    # a slot without any click gets the constant 0
    q_const = E.fit_reward_model(x, a, np.where(s == 1, 0.0, r), s, ac, n_folds=2)
    assert (q_const[:, :, 1] == 0).all()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: E.fit_reward_model(np.ones((5, 2)), np.zeros(4, int), R), "length mismatch: action"),
        (lambda: E.fit_reward_model(np.ones((4, 2)), np.zeros(5, int), R), "context has shape"),
        (lambda: E.fit_reward_model(np.ones((5, 2)), np.zeros(5, int), R * 2), "reward must be binary"),
        (lambda: E.fit_reward_model(np.ones((5, 2)), np.full(5, 3), R, action_context=np.ones((3, 1))),
         r"action must be in \[0, 3\)"),
        (lambda: E.fit_reward_model(np.ones((5, 2)), np.zeros(5, int), R, np.full(5, 2), len_list=2),
         r"position must be in \[0, 2\)"),
        (lambda: E.fit_reward_model(np.ones((5, 2)), np.zeros(5, int), R, n_folds=6), "n_folds=6 exceeds"),
        (lambda: E.fit_reward_model(np.ones((0, 2)), np.zeros(0, int), []), "reward is empty"),
    ],
)
def test_fit_reward_model_rejects_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ----- the shop: item-position OPE against exact policy values ------------------------------------------------------


@pytest.fixture(scope="module")
def ope_world():
    return ShopWorld(seed=1, n_users=300, n_items=60, n_cold_items=0, n_sessions=20000, n_late_sessions=0)


def test_snips_and_dr_recover_the_shops_exact_value(ope_world):
    world = ope_world
    imp = world.logs().impressions
    scores = np.asarray(world.relevance, dtype=float)  # the click-optimal list, served in 20% of sessions
    target = E.slot_probability(world, scores, imp, logging_share=0.8)
    truth = E.mixture_value(world, scores, logging_share=0.8).clicks / world.k  # per (session, slot)
    est = E.snips(imp[C.CLICK], imp[C.PROPENSITY], target, n_bootstrap=200, rng=0)
    assert est.value == pytest.approx(truth, rel=0.03)  # measured +0.1 % (seeds 1-8: within ±3 %)
    assert est.ci_low <= truth <= est.ci_high
    naive = imp[C.CLICK].mean()  # what the logging policy got: 15 % below the target's value
    assert abs(naive / truth - 1) > 0.1
    # DR with the true click model q(u, i, s) = examination_s * relevance_ui
    dist = E.slot_distribution(world, scores, logging_share=0.8)
    q = world.examination[None, None, :] * world.relevance[:, : world.n_items, None]
    u, i, s = (imp[c].to_numpy() for c in (C.USER, C.ITEM, C.POSITION))
    dr_est = E.dr(imp[C.CLICK], imp[C.PROPENSITY], target, q[u, i, s], (dist * q).sum(axis=1)[u, s], n_bootstrap=0)
    assert dr_est.value == pytest.approx(truth, rel=0.03)


def test_slot_probabilities_are_consistent(small_world):
    world = small_world
    imp = world.logs().impressions
    scores = np.asarray(world.affinity, dtype=float)
    dist = E.slot_distribution(world, scores, logging_share=0.3)
    assert dist.shape == (world.n_users, world.n_items, world.k)
    np.testing.assert_allclose(dist.sum(axis=1), 1.0)  # every slot holds one item
    u, i, s = (imp[c].to_numpy() for c in (C.USER, C.ITEM, C.POSITION))
    np.testing.assert_allclose(E.slot_probability(world, scores, imp, logging_share=0.3), dist[u, i, s])
    # the logging policy as target: weight exactly 1
    np.testing.assert_allclose(E.slot_probability(world, "logging", imp), imp[C.PROPENSITY])
    ranking = world.top_k(scores)
    np.testing.assert_array_equal(E.slot_probability(world, ranking, imp), (ranking[u, s] == i).astype(float))
    mixed = E.mixture_value(world, scores, logging_share=0.3)
    assert mixed.clicks == pytest.approx(
        0.7 * world.policy_value(scores).clicks + 0.3 * world.policy_value("logging").clicks
    )
    with pytest.raises(ValueError, match="logging_share must be a number in"):
        E.slot_distribution(world, scores, logging_share=1.5)
    with pytest.raises(ValueError, match="lack column"):
        E.slot_probability(world, scores, imp.drop(columns=C.POSITION))
    with pytest.raises(ValueError, match="must be 'logging'"):
        E.slot_probability(world, "best", imp)


# ----- A/B tests ----------------------------------------------------------------------------------------------------


def test_difference_in_means_on_a_hand_computed_example():
    a, b = [1, 0, 0, 1, 0], [1, 1, 0, 1, 1]  # means 0.4 and 0.8, sample variances 0.3 and 0.2
    est = E.difference_in_means(a, b)
    se = math.sqrt(0.3 / 5 + 0.2 / 5)
    assert (est.difference, est.se) == pytest.approx((0.4, se))
    assert (est.ci_low, est.ci_high) == pytest.approx((0.4 - 1.959964 * se, 0.4 + 1.959964 * se), abs=1e-6)
    assert est.p_value == pytest.approx(0.205903, abs=1e-5)  # 2 * (1 - Phi(0.4 / 0.316228))
    assert est.relative_difference == pytest.approx(1.0)
    # clustered: arm A's influences -(y - .4) / 5 = -.12, .08, .08, -.12, .08 in clusters {0, 0, 1, 1, 2} sum to
    # -.04, -.04, .08; arm B is constant (influence 0) in clusters 10..14; g = 8 clusters in all:
    # se = sqrt(8/7 * (.0016 + .0016 + .0064)) = 0.104745
    cl = E.difference_in_means(a, [1, 1, 1, 1, 1], cluster_a=[0, 0, 1, 1, 2], cluster_b=[10, 11, 12, 13, 14])
    assert (cl.difference, cl.se, cl.method) == (pytest.approx(0.6), pytest.approx(0.104745, abs=1e-6), "clustered")
    # singleton clusters give the HC1 SE: sqrt(g/(g-1) * (sum r_a^2 / n_a^2 + sum r_b^2 / n_b^2)), g = 10
    one = E.difference_in_means(a, b, cluster_a=range(5), cluster_b=range(5, 10))
    assert one.se == pytest.approx(math.sqrt(10 / 9 * (1.2 / 25 + 0.8 / 25)))
    # a cluster in both arms (session randomisation): its sessions' influences offset each other
    shared = E.difference_in_means([1, 0], [1, 0], cluster_a=[0, 1], cluster_b=[0, 1])
    assert shared.se == pytest.approx(0.0)  # each user contributes -(y - .5)/2 + (y - .5)/2 = 0
    apart = E.difference_in_means([1, 0], [1, 0], cluster_a=[0, 1], cluster_b=[2, 3])
    assert apart.se > 0


def test_clustered_ab_interval_is_not_inflated_when_sessions_are_randomised(small_world):
    """Session randomisation puts each user's sessions in both arms; the clustered SE of the difference must then
    be close to the independent-sessions one (the sessions are iid draws), not the sum of two per-arm SEs."""
    res = small_world.simulate_ab_test("logging", small_world.relevance, n_sessions=20000, rng=3)
    clustered = E.estimate_ab_effects(res, [C.PURCHASE]).loc[C.PURCHASE, "se"]
    welch = E.estimate_ab_effects(res, [C.PURCHASE], cluster=None).loc[C.PURCHASE, "se"]
    assert 0.8 < clustered / welch < 1.3


@pytest.fixture(scope="module")
def aa_test(small_world):
    return small_world.simulate_ab_test("logging", "logging", n_sessions=6000, rng=np.random.default_rng(21))


def test_a_policy_against_itself_covers_zero(aa_test):
    table = E.estimate_ab_effects(aa_test)
    assert list(table.index) == [C.CLICK, C.PURCHASE, C.INCREMENTAL]
    assert (table["truth"] == 0).all()
    assert ((table["ci_low"] <= 0) & (table["ci_high"] >= 0)).all(), table
    # the same numbers as the world's own summary (clustered by user), at its 99 % level
    summary = aa_test.summary(confidence=0.99).loc["B-A"]
    mine = E.estimate_ab_effects(aa_test.sessions, confidence=0.99)
    np.testing.assert_allclose(mine[["difference", "ci_low", "ci_high"]].to_numpy(),
                               summary[["estimate", "ci_low", "ci_high"]].to_numpy())
    assert "truth" not in mine.columns  # a plain table has no truth beside it
    welch = E.estimate_ab_effects(aa_test.sessions, [C.CLICK], cluster=None)
    assert welch.loc[C.CLICK, "se"] != pytest.approx(table.loc[C.CLICK, "se"])


def test_aa_tests_cover_zero_about_95_percent_of_the_time(small_world):
    covered = 0
    for seed in range(40):
        res = small_world.simulate_ab_test("logging", "logging", n_sessions=400, rng=seed)
        est = E.estimate_ab_effects(res, [C.CLICK])
        covered += bool(est.loc[C.CLICK, "ci_low"] <= 0 <= est.loc[C.CLICK, "ci_high"])
    assert covered >= 34  # 85 %; measured 38 / 40


def test_a_better_policy_is_detected(small_world):
    res = small_world.simulate_ab_test("logging", small_world.relevance, n_sessions=6000, rng=4)
    row = E.estimate_ab_effects(res).loc[C.CLICK]
    assert row["ci_low"] > 0 and row["ci_low"] <= row["truth"] <= row["ci_high"]


def test_cuped_keeps_the_effect_and_narrows_the_interval():
    rng = np.random.default_rng(5)
    n = 4000
    x = rng.normal(size=n)  # a pre-experiment covariate
    arm = rng.random(n) < 0.5
    y = 1.0 + 0.3 * arm + 2.0 * x + rng.normal(size=n)
    table = pd.DataFrame({C.POLICY: np.where(arm, "B", "A"), "y": y, "x": x})
    plain = E.estimate_ab_effects(table, ["y"], cluster=None).loc["y"]
    cuped = E.estimate_ab_effects(table, ["y"], cluster=None, covariate="x").loc["y"]
    assert cuped["se"] < 0.6 * plain["se"]  # R^2 of x is 0.8: the SE falls to about sqrt(0.2) of itself
    assert abs(cuped["difference"] - 0.3) < 3 * cuped["se"]  # unbiased
    assert table["y"].tolist() == y.tolist()  # the caller's table is not changed
    with pytest.raises(ValueError, match="covariate must name a column"):
        E.estimate_ab_effects(table, ["y"], covariate="nope")
    with pytest.raises(ValueError, match="NaN or infinite"):
        E.estimate_ab_effects(table.assign(x=np.nan), ["y"], covariate="x")


def test_sample_ratio_test_flags_a_broken_split(aa_test):
    assert E.sample_ratio_test(aa_test) > 0.001  # a fair coin
    broken = pd.DataFrame({C.POLICY: ["A"] * 5300 + ["B"] * 4700})
    assert E.sample_ratio_test(broken) < 1e-6
    assert E.sample_ratio_test(broken, expected_share=0.47) > 0.05
    with pytest.raises(ValueError, match="arms must be two labels"):
        E.sample_ratio_test(broken, arms=("A", "C"))
    with pytest.raises(ValueError, match="policy"):
        E.sample_ratio_test(pd.DataFrame({"x": [1]}))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: E.difference_in_means([1.0], [0.0, 1.0]), "arm a has 1 unit"),
        (lambda: E.difference_in_means([1, 0], [0, 1], cluster_a=[0, 1]), "cluster_a and cluster_b together"),
        (lambda: E.difference_in_means([1, 0], [0, 1], cluster_a=[0, 1], cluster_b=[0]), "length mismatch"),
        (lambda: E.difference_in_means([], [0, 1]), "a is empty"),
        (lambda: E.estimate_ab_effects(pd.DataFrame({"click": [1, 0]})), "lacks the 'policy' column"),
        (lambda: E.estimate_ab_effects(pd.DataFrame({"policy": ["A", "A"], "click": [1, 0]})), "arm 'B' has no rows"),
        (lambda: E.estimate_ab_effects(pd.DataFrame({"policy": ["A", "B"], "x": [1, 0]})), "none of the default"),
    ],
)
def test_ab_analysis_rejects_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_sample_size_matches_the_formula_and_delivers_the_power():
    # p1 = .10, p2 = .11, p_bar = .105: (1.959964 * sqrt(2 * .105 * .895) + 0.841621 * sqrt(.09 + .0979))^2 / .01^2
    hand = (1.959964 * math.sqrt(2 * 0.105 * 0.895) + 0.841621 * math.sqrt(0.09 + 0.11 * 0.89)) ** 2 / 0.01**2
    assert hand == pytest.approx(14750.8, abs=0.1)
    assert E.sample_size(0.10, 0.01) == 14751
    assert E.sample_size(0.10, 0.10, relative=True) == 14751  # +10 % of 0.10
    assert E.sample_size(0.10, 0.02) < E.sample_size(0.10, 0.01) < E.sample_size(0.10, 0.01, power=0.9)
    assert E.sample_size_for_mean(1.0, 0.1) == math.ceil(2 * (1.959964 + 0.841621) ** 2 / 0.01)  # 1570
    # simulated: with n per arm and a true difference of mde, a two-sided z-test rejects ~80 % of the time
    rng = np.random.default_rng(0)
    n = E.sample_size(0.10, 0.01)
    pa, pb = rng.binomial(n, 0.10, 4000) / n, rng.binomial(n, 0.11, 4000) / n
    pooled = (pa + pb) / 2
    z = (pb - pa) / np.sqrt(2 * pooled * (1 - pooled) / n)
    assert np.mean(np.abs(z) > 1.959964) == pytest.approx(0.8, abs=0.025)
    for bad, message in ((lambda: E.sample_size(0.0, 0.01), "baseline must be in"),
                         (lambda: E.sample_size(0.1, -0.01), "mde must be a positive"),
                         (lambda: E.sample_size(0.95, 0.05), "must stay below 1"),
                         (lambda: E.sample_size(0.1, 0.01, alpha=5), "alpha must be in")):
        with pytest.raises(ValueError, match=message):
            bad()


def test_no_global_random_state_is_used():
    np.random.seed(0)
    before = np.random.get_state()[1].copy()
    E.estimate_policy_value(R, P, T, Q_LOGGED, V_HAT, n_bootstrap=20, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(np.random.get_state()[1], before)


def test_targets_that_need_the_logger_s_probabilities_are_refused_when_the_logs_hold_none():
    """From the cold review: with log_propensities=False the helpers would have handed the truth to an estimator."""
    import dataclasses

    from causalrec_tutorial.world import ShopParams, ShopWorld

    w = ShopWorld(seed=2, n_users=40, n_items=20, n_cold_items=0, n_sessions=200, n_late_sessions=0,
                  params=dataclasses.replace(ShopParams(), log_propensities=False))
    imp = w.logs().impressions
    ranking = w.top_k(w.relevance)
    exact = E.slot_probability(w, ranking, imp)  # a deterministic ranking needs nothing from the logger
    assert set(np.unique(exact)) <= {0.0, 1.0}
    assert E.slot_distribution(w, ranking).sum(axis=1).max() == 1.0
    for call in (lambda: E.slot_probability(w, ranking, imp, logging_share=0.5),
                 lambda: E.slot_probability(w, "logging", imp),
                 lambda: E.slot_distribution(w, ranking, logging_share=0.5)):
        with pytest.raises(ValueError, match="logging_share"):
            call()


def test_the_exact_ips_standard_error_matches_the_spread_over_simulated_logs():
    """ips_relative_se against the spread of IPS over 200 disjoint blocks of sessions of one long log."""
    w = ShopWorld(seed=5, n_users=60, n_items=25, n_cold_items=0, n_sessions=100_000, n_late_sessions=0)
    imp = w.logs().impressions
    ranking = w.top_k(w.relevance)
    target = E.slot_probability(w, ranking, imp)
    truth = w.policy_value(ranking).clicks / w.k
    block = 500
    session = imp[C.SESSION].to_numpy() // block
    reward, weight = imp[C.CLICK].to_numpy(), target / imp[C.PROPENSITY].to_numpy()
    per_block = np.bincount(session, reward * weight) / np.bincount(session)
    exact = E.ips_relative_se(w, ranking, block)
    simulated = per_block.std(ddof=1) / truth
    assert abs(per_block.mean() / truth - 1) < 3 * exact / np.sqrt(len(per_block))
    assert 0.8 < simulated / exact < 1.2, (simulated, exact)
    with pytest.raises(ValueError, match="policy"):
        E.ips_relative_se(w, "logging", block)
    with pytest.raises(ValueError, match="n_sessions"):
        E.ips_relative_se(w, ranking, 0)


def test_cluster_bootstrap_widens_the_interval_of_correlated_rounds_and_keeps_the_estimate():
    """Five rounds per session that share one session-level reward shock: resampling rounds treats them as five
    independent draws and understates the spread; resampling sessions does not."""
    rng = np.random.default_rng(11)
    n_sessions, k = 4_000, 5
    shock = np.repeat(rng.random(n_sessions) < 0.2, k)
    reward = (rng.random(n_sessions * k) < np.where(shock, 0.5, 0.02)).astype(float)
    p = np.full(n_sessions * k, 0.5)
    target = np.full(n_sessions * k, 0.5)
    session = np.repeat(np.arange(n_sessions), k)
    by_round = E.ips(reward, p, target, n_bootstrap=400, rng=1)
    by_session = E.ips(reward, p, target, n_bootstrap=400, rng=1, cluster=session)
    assert by_session.value == by_round.value
    width_round, width_session = by_round.ci_high - by_round.ci_low, by_session.ci_high - by_session.ci_low
    # the design effect 1 + (k - 1) * ICC is about 3.3 here: the session interval is about 1.8 times wider
    assert 1.4 < width_session / width_round < 2.3
    snips_s = E.snips(reward, p, target, n_bootstrap=400, rng=1, cluster=session)
    assert snips_s.ci_high - snips_s.ci_low > 1.4 * width_round
    table = E.estimate_policy_value(reward, p, target, np.zeros(len(reward)), np.zeros(len(reward)), n_bootstrap=400,
                                    rng=1, cluster=session)
    for m in ("ips", "dr"):  # a zero reward model makes DR equal to IPS; each draws its own resamples
        assert table.loc[m, "value"] == pytest.approx(by_session.value)
        assert table.loc[m, "ci_high"] - table.loc[m, "ci_low"] == pytest.approx(width_session, rel=0.15)
    v = np.repeat(rng.random(n_sessions), k)  # a session-level prediction: DM's rounds are perfectly correlated
    dm_round, dm_session = E.dm(v, n_bootstrap=400, rng=1), E.dm(v, n_bootstrap=400, rng=1, cluster=session)
    assert (dm_session.ci_high - dm_session.ci_low) > 1.8 * (dm_round.ci_high - dm_round.ci_low)
    with pytest.raises(ValueError, match="at least 2 clusters"):
        E.ips(reward, p, target, n_bootstrap=10, rng=1, cluster=np.zeros(len(reward)))
    with pytest.raises(ValueError, match="missing"):
        E.ips(reward, p, target, n_bootstrap=10, rng=1, cluster=np.r_[[None], session[1:]].astype(object))
    with pytest.raises(ValueError, match="cluster"):
        E.ips(reward, p, target, n_bootstrap=10, rng=1, cluster=session[:-1])
    with pytest.raises(ValueError, match="cluster"):
        E.ips(reward, p, target, n_bootstrap=10, rng=1, cluster=np.full(len(reward), np.nan))
