"""Online experiments in the simulated shop: an A/B test of two policies on fresh sessions, with the exact values.
Book: 02_the_data.ipynb, sec-shop-ab-test; 06_evaluation.ipynb, sec-eval-ab; 07_case_study.ipynb, sec-case-ab.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .. import columns as C
from .._checks import as_rng, check_int
from .logs import ABTestResult
from .outcomes import session_outcomes
from .pitch import judge_all, pitched_arrays

__all__: list[str] = []  # the public door is ShopWorld.simulate_ab_test


def simulate_ab_test(world: Any, policy_a: Any, policy_b: Any, n_sessions: int, rng: np.random.Generator | int,
                     period: str = "early", unit: str = "session", pitches_a: Mapping[int, str] | None = None,
                     pitches_b: Mapping[int, str] | None = None) -> ABTestResult:
    """The body of :meth:`ShopWorld.simulate_ab_test` (see there; it has checked ``period``)."""
    n_sessions = check_int("n_sessions", n_sessions, 1)
    if unit not in ("session", "user"):
        raise ValueError(f"unit must be 'session' or 'user', got {unit!r}")
    rng = as_rng(rng)
    pols = {"A": world._as_policy(policy_a, period), "B": world._as_policy(policy_b, period)}
    pitches = {"A": pitches_a, "B": pitches_b}
    values = {"A": world.policy_value(policy_a, period, pitches=pitches_a),
              "B": world.policy_value(policy_b, period, pitches=pitches_b)}
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
    if pitches_a is None and pitches_b is None:
        out = world._outcomes(users, slates, period, rng)
    else:  # each arm faces its own pitched truth and its own long-run trust: simulate the arms apart, in one stream
        out = {}
        n = world.n_available(period)
        for arm, mask in (("A", ~is_b), ("B", is_b)):
            judged = judge_all(world, pitches[arm], n)
            part = session_outcomes(world, users[mask], slates[mask], period, rng,
                                    truth=pitched_arrays(world, judged, period),
                                    trust=getattr(values[arm], "trust", 1.0))
            for key in ("click", "incremental", "removed", "organic_count", "returned"):
                if key not in out:
                    out[key] = np.zeros((n_sessions, *part[key].shape[1:]), dtype=part[key].dtype)
                out[key][mask] = part[key]
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
    if pitches_a is not None or pitches_b is not None:
        sessions[C.RETURN] = out["returned"].sum(axis=1).astype(np.int64)
    return ABTestResult(
        sessions=sessions,
        value_a=values["A"],
        value_b=values["B"],
        unit=unit,
    )
