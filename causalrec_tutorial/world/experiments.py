"""Online experiments in the simulated shop: an A/B test of two policies on fresh sessions, with the exact values.
Book: 02_the_data.ipynb, sec-shop-ab-test; 06_evaluation.ipynb, sec-eval-ab; 07_case_study.ipynb, sec-case-ab.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .. import columns as C
from .._checks import as_rng, check_int
from .logs import ABTestResult

__all__: list[str] = []  # the public door is ShopWorld.simulate_ab_test


def simulate_ab_test(world: Any, policy_a: Any, policy_b: Any, n_sessions: int, rng: np.random.Generator | int,
                     period: str = "early", unit: str = "session") -> ABTestResult:
    """The body of :meth:`ShopWorld.simulate_ab_test` (see there; it has checked ``period``)."""
    n_sessions = check_int("n_sessions", n_sessions, 1)
    if unit not in ("session", "user"):
        raise ValueError(f"unit must be 'session' or 'user', got {unit!r}")
    rng = as_rng(rng)
    pols = {"A": world._as_policy(policy_a, period), "B": world._as_policy(policy_b, period)}
    users = rng.choice(world.n_users, size=n_sessions, p=world._session_weights)
    if unit == "session":
        is_b = rng.random(n_sessions) < 0.5
    else:
        is_b = (rng.random(world.n_users) < 0.5)[users]
    slates = np.empty((n_sessions, world.k), dtype=np.int64)
    for arm, mask in (("A", ~is_b), ("B", is_b)):
        pol = pols[arm]
        if isinstance(pol, str):
            slates[mask] = world._logging_slates(users[mask], period, rng)
        else:
            slates[mask] = pol[users[mask]]
    out = world._outcomes(users, slates, period, rng)
    sold = out["incremental"].sum(axis=1)
    incremental = sold - out["removed"]  # net of the organic purchases the list removed (reactance, substitution)
    sessions = pd.DataFrame(
        {
            C.SESSION: np.arange(n_sessions),
            C.USER: users,
            C.POLICY: np.where(is_b, "B", "A"),
            C.CLICK: out["click"].sum(axis=1).astype(np.int64),
            C.PURCHASE: (out["organic_count"] + sold).astype(np.int64),
            C.INCREMENTAL: incremental.astype(np.int64),
        }
    )
    return ABTestResult(
        sessions=sessions,
        value_a=world.policy_value(policy_a, period),
        value_b=world.policy_value(policy_b, period),
        unit=unit,
    )
