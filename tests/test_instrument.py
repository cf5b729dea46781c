"""The encouragement design and the Wald estimator: hand-computed values, recovery of the compliers' effect, errors."""

import numpy as np
import pytest

from causalrec_tutorial import causal as cz
from causalrec_tutorial.world import ShopWorld


def test_wald_ratio_and_interval_by_hand():
    y = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0])
    d = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0])
    z = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    est = cz.wald_estimate(y, d, z)
    assert est.value == pytest.approx((0.75 - 0.25) / (0.75 - 0.25))
    assert est.ci_low < est.value < est.ci_high
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
    naive = cz.att_weighted(data["purchase"], data["shown"], np.ones(len(data))).value
    assert iv.covers(truth["late"])
    assert abs(naive - truth["late"]) > 3 * (iv.ci_high - iv.ci_low) / 3.92  # the naive comparison is confounded


def test_the_wald_interval_covers_over_replications():
    world = ShopWorld(seed=4, n_users=300, n_items=120, n_cold_items=0, n_sessions=2000)
    gen = np.random.default_rng(1)
    hits = []
    for _ in range(60):
        data, truth = cz.simulate_encouragement(world, gen, n_sessions=3000, n_promoted=30)
        hits.append(cz.wald_estimate(data["purchase"], data["shown"], data["encouraged"],
                                     data["session_id"]).covers(truth["late"]))
    assert np.mean(hits) >= 0.85  # 95% nominal; 60 replications leave a Monte-Carlo error of about 3 points


@pytest.mark.parametrize("kwargs, match", [
    (dict(z=[0, 1, 2, 1]), "only 0 and 1"),
    (dict(z=[1, 1, 1, 1]), "both arms"),
    (dict(d=[1.0, 1.0, 1.0, 1.0]), "first stage is zero"),
    (dict(y=[1.0, np.nan, 0.0, 1.0]), "finite"),
    (dict(y=[1.0, 0.0]), "equal length"),
])
def test_wald_refuses_bad_input(kwargs, match):
    args = dict(y=[1.0, 0.0, 0.0, 1.0], d=[1.0, 0.0, 0.0, 1.0], z=[1, 0, 0, 1]) | kwargs
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
