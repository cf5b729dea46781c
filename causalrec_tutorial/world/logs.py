"""What the shop writes down and what it knows: its logs (:class:`ShopLogs`) and the exact truths it returns.
Book: 02_the_data.ipynb, sec-shop-logs, sec-shop-truth, sec-shop-policies, sec-shop-ab-test.

Result types of :class:`~causalrec_tutorial.world.ShopWorld`: policy values, true effects, logging probabilities,
A/B tests.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from scipy import special

from .. import columns as C
from .._checks import check_fraction
from .params import EVENTS

__all__ = ["ABTestResult", "LoggingProbabilities", "PolicyValue", "ShopLogs", "TrueEffects"]

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
    """The true effect of *being shown by the logging policy* on purchase (see :mod:`causalrec_tutorial.world`).

    Attributes:
        ate: average of the shown-pair effect (:meth:`ShopWorld.shown_effect`: mean examination times uplift with
            shuffled slots, the item's own expected examination with ranked ones) over session-users and items.
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
        per_slot: P(item in slot s) (``propensity`` in the logs): ``inclusion / k``, the same for every slot, shape
            ``(n_users, n_available_items)``, when the old recommender shuffles its slots; with
            ``logging_order="ranked"`` the exact probability of each slot, shape ``(n_users, n_available_items, k)``.
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
        pairs: per session the shown items plus a sample of ``n_unshown`` not-shown available items (uniform, or
            by propensity: ``ShopWorld(unshown_sampling=...)``): ``session_id, timestamp, user_id, item_id, shown,
            position, show_probability, sample_weight, purchase``; ``sample_weight`` (1 for shown rows, one over
            the row's probability of being kept otherwise: #not-shown / n_unshown for the uniform sample) makes
            weighted sums estimate sums over all (session, item) pairs.
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
        fraction = check_fraction("fraction", fraction, "the share of sessions in the first part")
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
            without the list, net of the organic purchases it removed — known only in a simulation) and, in a test
            with pitches, ``returned`` (purchases sent back).
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

        The B − A interval sums each user's influence over both arms (:func:`clustered_difference`), so it is right
        whether sessions or users were randomised.

        Args:
            confidence: level of the intervals, in (0, 1).

        Returns:
            DataFrame indexed by (arm, metric) with columns ``estimate, ci_low, ci_high, truth``.

        Raises:
            ValueError: if ``confidence`` is not in (0, 1).

        Book: 02_the_data.ipynb, sec-shop-ab-test
        """
        confidence = check_fraction("confidence", confidence, "the level of the intervals")
        z = float(special.ndtri(0.5 + confidence / 2))
        metrics = {C.CLICK: "clicks", C.PURCHASE: "purchases", C.INCREMENTAL: "incremental_purchases"}
        if C.RETURN in self.sessions:  # a test of pitches: returns are an outcome too
            metrics[C.RETURN] = "returns"
        rows = []
        est = {}
        for arm, value in (("A", self.value_a), ("B", self.value_b)):
            df = self.sessions[self.sessions[C.POLICY] == arm]
            for col, attr in metrics.items():
                mean, se = _clustered_mean(df[col].to_numpy(float), df[C.USER].to_numpy())
                est[arm, col] = (mean, se)
                rows.append((arm, col, mean, mean - z * se, mean + z * se, getattr(value, attr, 0.0)))
        in_a = (self.sessions[C.POLICY] == "A").to_numpy()
        users = self.sessions[C.USER].to_numpy()
        for col, attr in metrics.items():
            y = self.sessions[col].to_numpy(float)
            d, se = clustered_difference(y[in_a], users[in_a], y[~in_a], users[~in_a])
            truth = getattr(self.value_b, attr, 0.0) - getattr(self.value_a, attr, 0.0)
            rows.append(("B-A", col, d, d - z * se, d + z * se, truth))
        out = pd.DataFrame(rows, columns=["arm", "metric", "estimate", "ci_low", "ci_high", "truth"])
        return out.set_index(["arm", "metric"])


def clustered_difference(ya: np.ndarray, ca: np.ndarray, yb: np.ndarray, cb: np.ndarray) -> tuple[float, float]:
    """``mean(yb) - mean(ya)`` and its cluster-robust SE, with clusters (users) that may appear in both arms.

    Each unit's influence on the difference, ``(y - mean_b) / n_b`` in B and ``-(y - mean_a) / n_a`` in A, is summed
    per cluster over *both* arms, then ``SE = sqrt(g / (g - 1) * sum_c infl_c^2)``. When users are randomised
    (every cluster in one arm) this is the per-arm cluster-robust SE; when sessions are randomised, one user's
    sessions in the two arms offset each other, which adding two per-arm SEs would ignore (that overstates the SE
    several-fold when users have many sessions in a test).
    """
    ma, mb = float(ya.mean()), float(yb.mean())
    infl = np.concatenate([-(ya - ma) / len(ya), (yb - mb) / len(yb)])
    _, inv = np.unique(np.concatenate([np.asarray(ca), np.asarray(cb)]), return_inverse=True)
    sums = np.bincount(inv.ravel(), weights=infl)
    g = len(sums)
    if g < 2:
        return mb - ma, float("nan")
    return mb - ma, float(np.sqrt(np.sum(sums**2) * g / (g - 1)))


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


