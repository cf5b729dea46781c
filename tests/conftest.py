"""Shared fixtures: small seeded shops (built once per test session) and a skip for unfetched assets."""

import pytest

from causalrec_tutorial.world import ShopWorld


@pytest.fixture(scope="session")
def small_world():
    """A tiny shop for structural checks (fast)."""
    return ShopWorld(seed=3, n_users=200, n_items=60, n_cold_items=6, n_sessions=3000, n_late_sessions=800)


@pytest.fixture(scope="session")
def moderate_world():
    """A shop with the full catalogue (400 items) but fewer users, for the statistical properties."""
    return ShopWorld(seed=7, n_users=1000, n_items=400, n_cold_items=40, n_sessions=20000, n_late_sessions=2000)


@pytest.fixture(scope="session")
def require_asset():
    """``require_asset(name)``: the asset's folder, or skip the test naming the command that fetches it."""
    from causalrec_tutorial import assets

    def require(name: str):
        try:
            return assets.locate(name)
        except assets.AssetError:
            fix = f"python -m causalrec_tutorial.assets fetch {name}"
            pytest.skip(f"asset {name!r} is not fetched: run `{fix}` (CI fetches it)")

    return require
