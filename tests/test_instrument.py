"""The encouragement design and the Wald estimator: hand-computed values, recovery of the compliers' effect, errors."""

import dataclasses

import numpy as np
import pytest

from causalrec_tutorial import causal as cz
from causalrec_tutorial.world import ShopParams, ShopWorld


def test_wald_ratio_and_interval_by_hand():
    y = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0])
    d = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0])
    z = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    est = cz.wald_estimate(y, d, z)
    assert est.value == pytest.approx((0.75 - 0.25) / (0.75 - 0.25))
    assert est.ci_low < est.value < est.ci_high
    # one cluster per unit is the unclustered interval (both use the g / (g - 1) small-sample factor)
    per_unit = cz.wald_estimate(y, d, z, cluster=np.arange(8))
    assert per_unit.value == est.value
    assert (per_unit.ci_low, per_unit.ci_high) == pytest.approx((est.ci_low, est.ci_high), rel=1e-12)
    # with d = z (full compliance) the Wald ratio is the difference in means and its interval is att_weighted's
    diff = cz.att_weighted(y, z, np.ones(8))
    full = cz.wald_estimate(y, z.astype(float), z)
    assert full.value == pytest.approx(diff.value)
    assert full.ci_high - full.ci_low == pytest.approx(diff.ci_high - diff.ci_low, rel=1e-9)


def test_encouragement_recovers_the_compliers_effect_where_the_naive_comparison_does_not():
    world = ShopWorld(seed=3, n_users=300, n_items=120, n_cold_items=0, n_sessions=2000)
    data, truth = cz.simulate_encouragement(world, np.random.default_rng(0), n_sessions=30_000, n_promoted=30)
    assert set(data["encouraged"]) == {0, 1} and len(data) == 30_000 * 30
    first = data.groupby("encouraged")["shown"].mean()
    assert first[1] - first[0] == pytest.approx(truth["first_stage"], rel=0.05)
    iv = cz.wald_estimate(data["purchase"], data["shown"], data["encouraged"], data["session_id"])
    naive = cz.att_weighted(data["purchase"], data["shown"], np.ones(len(data)), data["session_id"])
    assert iv.covers(truth["late"])
    assert not naive.covers(truth["att_pooled"])  # the naive comparison misses its own estimand: confounding
    assert naive.value > truth["att_pooled"]
    assert cz.first_stage_f(data["shown"], data["encouraged"], data["session_id"]) > 100


def test_the_wald_interval_covers_over_replications():
    world = ShopWorld(seed=4, n_users=300, n_items=120, n_cold_items=0, n_sessions=2000)
    gen = np.random.default_rng(1)
    hits, errors, ses = [], [], []
    for _ in range(80):
        data, truth = cz.simulate_encouragement(world, gen, n_sessions=3000, n_promoted=30)
        est = cz.wald_estimate(data["purchase"], data["shown"], data["encouraged"], data["session_id"])
        hits.append(est.covers(truth["late"]))
        errors.append(est.value - truth["late"])
        ses.append((est.ci_high - est.ci_low) / 3.92)
    assert np.mean(hits) >= 0.88  # 95% nominal; 80 replications leave a Monte-Carlo error of about 2.4 points
    assert 0.75 < np.std(errors) / np.mean(ses) < 1.3  # the reported SE matches the spread of the estimates


Y6, D6, Z6 = [1.0, 0.0, 0.0, 1.0, 1.0, 0.0], [1.0, 0.0, 0.0, 1.0, 1.0, 0.0], [1, 0, 0, 1, 1, 0]


@pytest.mark.parametrize("kwargs, match", [
    (dict(z=[0, 1, 2, 1, 1, 0]), "only 0 and 1"),
    (dict(z=[1, 1, 1, 1, 1, 1]), "both arms"),
    (dict(d=[1.0] * 6), "first stage is zero"),
    (dict(y=[1.0, np.nan, 0.0, 1.0, 1.0, 0.0]), "finite"),
    (dict(y=[1.0, 0.0]), "equal length"),
    (dict(cluster=[1, 1, 1, 1, 1, 1]), "at least 2 clusters"),
    (dict(cluster=[1, 2, 3, 1, 1, 2]), "each arm"),  # the treated arm (z = 1) holds only cluster 1
    (dict(cluster=[1, None, 2, 3, 4, 5]), "missing"),
    (dict(cluster=[1.0, np.nan, 2.0, 3.0, 4.0, 5.0]), "missing"),
])
def test_wald_refuses_bad_input(kwargs, match):
    args = dict(y=Y6, d=D6, z=Z6) | kwargs
    with pytest.raises(ValueError, match=match):
        cz.wald_estimate(**args)


def test_simulate_encouragement_refuses_bad_input():
    world = ShopWorld(seed=3, n_users=100, n_items=60, n_cold_items=0, n_sessions=500)
    with pytest.raises(ValueError, match="rng"):
        cz.simulate_encouragement(world, 1)
    with pytest.raises(ValueError, match="boost"):
        cz.simulate_encouragement(world, np.random.default_rng(0), boost=1.0)
    with pytest.raises(ValueError, match="n_promoted"):
        cz.simulate_encouragement(world, np.random.default_rng(0), n_promoted=10_000)
    with pytest.raises(ValueError, match="ShopWorld"):
        cz.simulate_encouragement(object(), np.random.default_rng(0))
    ranked = ShopWorld(seed=3, n_users=100, n_items=60, n_cold_items=0, n_sessions=500,
                       params=dataclasses.replace(ShopParams(), logging_order="ranked"))
    with pytest.raises(ValueError, match="shuffled slots"):
        cz.simulate_encouragement(ranked, np.random.default_rng(0))
