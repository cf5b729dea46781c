"""Loaders of real data: the Open Bandit Dataset and MovieLens 100K (skipped when the asset is not fetched)."""

import numpy as np
import pytest

from causalrec_tutorial import assets, data
from causalrec_tutorial import columns as C

FIRST_OBD_COLUMNS = [C.TIMESTAMP, C.ITEM, C.POSITION, C.CLICK, C.PROPENSITY, C.POLICY, C.CAMPAIGN]
N_ITEMS = {"all": 80, "men": 34, "women": 46}


@pytest.mark.parametrize("policy", data.OBD_POLICIES)
@pytest.mark.parametrize("campaign", data.OBD_CAMPAIGNS)
def test_open_bandit_logs(policy, campaign, require_asset):
    require_asset("open_bandit")
    log = data.load_open_bandit(policy, campaign)
    assert len(log) == 10_000
    assert list(log.columns[:7]) == FIRST_OBD_COLUMNS
    n = N_ITEMS[campaign]
    assert {f"user_feature_{j}" for j in range(4)} <= set(log.columns)
    assert {f"item_feature_{j}" for j in range(4)} <= set(log.columns)
    assert sum(c.startswith("user-item_affinity_") for c in log.columns) == n
    assert set(log[C.POSITION]) == {0, 1, 2}  # 0-based (raw: 1, 2, 3)
    assert log[C.CLICK].isin([0, 1]).all() and 0 < log[C.CLICK].mean() < 0.02
    assert ((log[C.PROPENSITY] > 0) & (log[C.PROPENSITY] <= 1)).all()
    assert log[C.ITEM].between(0, n - 1).all()
    assert not log.isna().any().any()  # every item has its context
    assert (log[C.POLICY] == policy).all() and (log[C.CAMPAIGN] == campaign).all()
    assert log[C.TIMESTAMP].is_monotonic_increasing and log[C.TIMESTAMP].dt.tz is None
    if policy == "random":  # uniform over items, per slot
        np.testing.assert_allclose(log[C.PROPENSITY], 1 / n)
    items = data.load_open_bandit_items(policy, campaign)
    assert len(items) == n and list(items[C.ITEM]) == list(range(n))


@pytest.mark.parametrize("campaign", data.OBD_CAMPAIGNS)
def test_open_bandit_prior(campaign, require_asset):
    require_asset("open_bandit")
    prior = data.load_open_bandit_prior(campaign)
    assert list(prior.columns) == [C.ITEM, "alpha", "beta"]
    assert len(prior) == N_ITEMS[campaign] and list(prior[C.ITEM]) == list(range(N_ITEMS[campaign]))
    assert (prior[["alpha", "beta"]] > 0).all().all()
    # a click-rate prior: the prior means alpha / (alpha + beta) are small, like the logs' CTR (< 2 %)
    assert (prior["alpha"] / (prior["alpha"] + prior["beta"])).between(0, 0.05).all()
    if campaign == "all":  # the first entries of obp 0.5.7's prior_bts.yaml
        assert prior["alpha"].iloc[:3].tolist() == [47.0, 8.0, 62.0]
    with pytest.raises(ValueError, match="campaign must be one of"):
        data.load_open_bandit_prior("kids")


def test_open_bandit_rejects_unknown_names():
    with pytest.raises(ValueError, match=r"policy must be one of \('random', 'bts'\)"):
        data.load_open_bandit("egreedy", "all")
    with pytest.raises(ValueError, match=r"campaign must be one of \('all', 'men', 'women'\)"):
        data.load_open_bandit("random", "kids")


def test_missing_asset_names_the_fixing_command(monkeypatch, tmp_path):
    monkeypatch.setenv("CAUSALREC_DATA_DIR", str(tmp_path))
    with pytest.raises(assets.AssetError, match="python -m causalrec_tutorial.assets fetch open_bandit"):
        data.load_open_bandit()
    with pytest.raises(assets.AssetError, match="python -m causalrec_tutorial.assets fetch open_bandit"):
        data.load_open_bandit_prior()
    with pytest.raises(assets.AssetError, match="python -m causalrec_tutorial.assets fetch movielens_100k"):
        data.load_movielens_100k()


def test_movielens_100k(require_asset):
    require_asset("movielens_100k")
    ml = data.load_movielens_100k()
    r, items, users = ml.ratings, ml.items, ml.users
    assert list(r.columns) == [C.USER, C.ITEM, C.RATING, C.TIMESTAMP]
    assert len(r) == 100_000 and r[C.USER].nunique() == 943 and r[C.ITEM].nunique() == 1682
    assert len(items) == 1682 and len(users) == 943
    assert set(r[C.RATING]) == {1, 2, 3, 4, 5}
    assert set(r[C.ITEM]) <= set(items[C.ITEM]) and set(r[C.USER]) <= set(users[C.USER])
    assert r[C.TIMESTAMP].is_monotonic_increasing
    assert list(items.columns) == [C.ITEM, C.TITLE, C.YEAR, C.GENRES]
    assert items.loc[items[C.ITEM] == 1, C.TITLE].item() == "Toy Story"
    assert items.loc[items[C.ITEM] == 1, C.GENRES].item() == "Animation|Children's|Comedy"
    genres = set(items[C.GENRES].str.split("|").explode())
    assert {"Sci-Fi", "Film-Noir", "Children's", "Drama"} <= genres and len(genres) == 19
    assert list(users.columns) == [C.USER, C.AGE, C.GENDER, C.OCCUPATION, "zip_code"]
    assert set(users[C.GENDER]) == {"M", "F"}
