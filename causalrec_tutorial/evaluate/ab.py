"""A/B tests: differences in means with Welch or cluster-robust CIs, and the sample size a test needs.
Book: 02_the_data.ipynb, sec-shop-ab-test; 06_evaluation.ipynb, sec-eval-ab; 07_case_study.ipynb.

"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from .. import columns as C
from .._checks import check_fraction, check_number, vector
from ..world import ABTestResult
from ..world.logs import clustered_difference

ArrayLike = Any  # numpy array, pandas Series or a sequence of numbers

__all__ = ["ABEstimate", "difference_in_means", "estimate_ab_effects", "sample_ratio_test", "sample_size",
           "sample_size_for_mean"]


@dataclasses.dataclass(frozen=True)
class ABEstimate:
    """The difference in means B − A of one metric in an A/B test.

    Attributes:
        difference: ``mean_b - mean_a``.
        ci_low: lower end of the normal-approximation CI.
        ci_high: upper end.
        se: standard error of the difference.
        p_value: two-sided p-value of "no difference" (normal approximation).
        mean_a: mean of arm A (control).
        mean_b: mean of arm B (treatment).
        n_a: units in A.
        n_b: units in B.
        metric: the metric's name.
        method: ``"welch"`` or ``"clustered"``.

    Book: 06_evaluation.ipynb, sec-eval-ab
    """

    difference: float
    ci_low: float
    ci_high: float
    se: float
    p_value: float
    mean_a: float
    mean_b: float
    n_a: int
    n_b: int
    metric: str = ""
    method: str = "welch"

    @property
    def relative_difference(self) -> float:
        """``difference / mean_a`` (the lift); NaN when ``mean_a`` is 0."""
        return self.difference / self.mean_a if self.mean_a else float("nan")


def _arm_mean_se(y: np.ndarray) -> tuple[float, float]:
    """Mean and its SE, sample sd / sqrt(n)."""
    return float(y.mean()), float(np.std(y, ddof=1) / math.sqrt(len(y)))


def difference_in_means(
    a: ArrayLike,
    b: ArrayLike,
    *,
    cluster_a: ArrayLike | None = None,
    cluster_b: ArrayLike | None = None,
    confidence: float = 0.95,
    metric: str = "",
) -> ABEstimate:
    """Difference in means B − A of per-unit outcomes, with a normal-approximation CI.

    ``SE = sqrt(s_a^2 / n_a + s_b^2 / n_b)`` (Welch's, sample variances with ``n - 1``), or with clusters (e.g. the
    users when several sessions of one user are in the data) the cluster-robust SE of the difference: each unit's
    influence, ``(y - mean_b) / n_b`` in B and ``-(y - mean_a) / n_a`` in A, summed per cluster over both arms,
    ``SE = sqrt(g / (g - 1) * sum_c infl_c^2)`` (``g`` clusters in all). A user whose sessions fall in both arms
    (session randomisation) then offsets itself; with user randomisation it is the per-arm cluster-robust SE. CI:
    ``difference ± z_{(1 + confidence)/2} SE``. For a rate (CTR per impression when every session has ``k``
    impressions) divide per-session means and their CI by ``k``.

    Args:
        a: outcome per unit in arm A (control), e.g. clicks per session.
        b: outcome per unit in arm B (treatment).
        cluster_a: cluster id (e.g. user id) per unit of A; give both or neither.
        cluster_b: cluster id per unit of B.
        confidence: CI level.
        metric: a name kept in the result.

    Returns:
        :class:`ABEstimate`.

    Raises:
        ValueError: for empty arms, fewer than 2 units (or clusters) per arm, NaNs, mismatched cluster arrays, or a
            bad confidence.

    Book: 06_evaluation.ipynb, sec-eval-ab
    """
    confidence = check_fraction("confidence", confidence, "the level of the interval, e.g. 0.95")
    ya = vector("a", a, "the outcome per unit of arm A")
    yb = vector("b", b, "the outcome per unit of arm B")
    if (cluster_a is None) != (cluster_b is None):
        raise ValueError("give cluster_a and cluster_b together (cluster ids for both arms), or neither")
    clusters = [None, None]
    if cluster_a is not None:
        for j, (name, c, y) in enumerate((("cluster_a", cluster_a, ya), ("cluster_b", cluster_b, yb))):
            c = np.asarray(c.to_numpy() if isinstance(c, (pd.Series, pd.Index)) else c)
            if c.ndim != 1 or len(c) != len(y):
                raise ValueError(
                    f"length mismatch: {name} has shape {c.shape} but its arm has {len(y)} units; "
                    "expected one cluster id per unit"
                )
            if pd.isna(c).any():
                raise ValueError(f"{name} contains missing cluster ids")
            if len(np.unique(c)) < 2:
                raise ValueError(f"{name} has fewer than 2 clusters: a cluster-robust SE needs at least 2 per arm")
            clusters[j] = c
    for name, y in (("a", ya), ("b", yb)):
        if len(y) < 2:
            raise ValueError(f"arm {name} has {len(y)} unit(s): expected at least 2 to estimate a variance")
    if clusters[0] is None:
        ma, sa = _arm_mean_se(ya)
        mb, sb = _arm_mean_se(yb)
        d, se = mb - ma, float(np.hypot(sa, sb))
    else:  # clusters may appear in both arms (sessions randomised, users repeated): sum influences over both
        ma, mb = float(ya.mean()), float(yb.mean())
        d, se = clustered_difference(ya, clusters[0], yb, clusters[1])
    z = float(special.ndtri(0.5 + confidence / 2))
    p = float(2 * special.ndtr(-abs(d) / se)) if se > 0 else (1.0 if d == 0 else 0.0)
    method = "welch" if cluster_a is None else "clustered"
    return ABEstimate(d, d - z * se, d + z * se, se, p, ma, mb, len(ya), len(yb), metric, method)


_AB_METRICS = {C.CLICK: "clicks", C.PURCHASE: "purchases", C.INCREMENTAL: "incremental_purchases"}


def estimate_ab_effects(
    data: ABTestResult | pd.DataFrame,
    metrics: Sequence[str] | None = None,
    *,
    cluster: str | None = "auto",
    confidence: float = 0.95,
    arms: tuple[str, str] = ("A", "B"),
    covariate: str | None = None,
) -> pd.DataFrame:
    """B − A per metric from an A/B test's per-session table (the shop's ``ABTestResult`` or any such table).

    With ``covariate`` (CUPED, Deng et al. 2013), each metric ``y`` is replaced by ``y - theta (x - mean x)`` (the
    returned ``mean_a`` and ``mean_b`` are then the adjusted means), with
    ``x`` a pre-experiment covariate (e.g. the user's purchases per session before the test) and ``theta`` the
    pooled regression slope of ``y`` on ``x``: the difference keeps its expectation (randomisation makes ``x``
    independent of the arm) and its variance shrinks by the share of ``y``'s variance that ``x`` explains.

    Args:
        data: an :class:`~causalrec_tutorial.world.ABTestResult` (then the exact differences are added as
            ``truth``), or a DataFrame with a ``policy`` column naming the arm of each row and one column per metric
            (the shop's ``result.sessions``: ``session_id, user_id, policy, click, purchase,
            incremental_purchase``, one row per session).
        metrics: columns to compare (default: those of ``click, purchase, incremental_purchase`` present): per
            session, clicks (CTR × k), purchases (the purchase rate per session) and incremental purchases.
        cluster: ``"auto"`` clusters by ``user_id`` when that column exists (one user's sessions are correlated;
            the SE of the difference sums each user's influence over both arms, so it is right whether sessions
            or users were randomised), a column name to cluster by it, or ``None`` for Welch's SE treating rows as
            independent.
        confidence: CI level.
        arms: the labels of control and treatment in the ``policy`` column.
        covariate: optional column of a pre-experiment covariate for the CUPED adjustment (finite; measured
            before assignment, never an outcome of the test).

    Returns:
        DataFrame indexed by ``metric`` with ``mean_a, mean_b, difference, ci_low, ci_high, se, p_value, n_a, n_b``
        (and ``truth`` for an ``ABTestResult``).

    Raises:
        ValueError: for a table without the ``policy`` column or a metric column, arms that are absent, or the
            errors of :func:`difference_in_means`.

    Book: 06_evaluation.ipynb, sec-eval-ab
    """
    result = data if isinstance(data, ABTestResult) else None
    df = data.sessions if result is not None else data
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"data must be an ABTestResult or its sessions DataFrame, got {type(data).__name__}")
    if C.POLICY not in df.columns:
        raise ValueError(f"data lacks the {C.POLICY!r} column naming each row's arm (expected e.g. 'A'/'B')")
    if metrics is None:
        metrics = [m for m in _AB_METRICS if m in df.columns]
        if not metrics:
            raise ValueError(f"data has none of the default metric columns {list(_AB_METRICS)}: pass metrics=")
    if isinstance(metrics, str):
        raise TypeError(f"metrics must be a list of column names, not the string {metrics!r}")
    metrics = list(metrics)
    if not metrics:
        raise ValueError("metrics is empty: name at least one metric column (e.g. ['click', 'purchase'])")
    missing = [m for m in metrics if m not in df.columns]
    if missing:
        raise ValueError(f"data lacks metric column(s) {missing}; it has {list(df.columns)}")
    if cluster == "auto":
        cluster = C.USER if C.USER in df.columns else None
    if cluster is not None and cluster not in df.columns:
        raise ValueError(f"cluster column {cluster!r} is not in data; expected one of {list(df.columns)} or None")
    if isinstance(arms, str) or not isinstance(arms, (tuple, list)) or len(arms) != 2:
        raise ValueError(f"arms must be two labels (control, treatment), e.g. ('A', 'B'), got {arms!r}")
    a_label, b_label = arms
    in_a, in_b = df[C.POLICY] == a_label, df[C.POLICY] == b_label
    for label, mask in ((a_label, in_a), (b_label, in_b)):
        if not mask.any():
            held = sorted(df[C.POLICY].unique())
            raise ValueError(f"arm {label!r} has no rows: the {C.POLICY!r} column holds {held}; pass arms=")
    x = None
    if covariate is not None:
        if not isinstance(covariate, str) or covariate not in df.columns:
            raise ValueError(f"covariate must name a column of data, got {covariate!r}; it has {list(df.columns)}")
        x = vector(f"data.{covariate}", df[covariate], "a pre-experiment covariate per row")
        if not np.isfinite(x).all():
            raise ValueError(f"covariate column {covariate!r} has NaN or infinite values")
        x = x - x.mean()
    rows = []
    for m in metrics:
        if x is not None:
            y = vector(f"data.{m}", df[m], "one value per row")
            theta = float(np.dot(x, y - y.mean()) / np.dot(x, x)) if np.dot(x, x) > 0 else 0.0
            df = df.assign(**{m: y - theta * x})
        kw = {}
        if cluster is not None:
            kw = dict(cluster_a=df.loc[in_a, cluster], cluster_b=df.loc[in_b, cluster])
        est = difference_in_means(df.loc[in_a, m], df.loc[in_b, m], confidence=confidence, metric=m, **kw)
        row = dict(
            metric=m, mean_a=est.mean_a, mean_b=est.mean_b, difference=est.difference, ci_low=est.ci_low,
            ci_high=est.ci_high, se=est.se, p_value=est.p_value, n_a=est.n_a, n_b=est.n_b,
        )
        if result is not None and m in _AB_METRICS:
            attr = _AB_METRICS[m]
            row["truth"] = getattr(result.value_b, attr) - getattr(result.value_a, attr)
        rows.append(row)
    return pd.DataFrame(rows).set_index("metric")


def sample_ratio_test(data: ABTestResult | pd.DataFrame, arms: tuple[str, str] = ("A", "B"),
                      expected_share: float = 0.5) -> float:
    """p-value of a sample-ratio mismatch: are the arms' sizes consistent with the planned split?

    A two-sided exact binomial test of the treatment arm's count against ``expected_share`` of both arms. A small
    p-value (say < 0.001) means the assignment or the logging is broken, and the test's result should not be read
    until the cause is found (Kohavi, Tang & Xu 2020, ch. 21).

    Args:
        data: an ``ABTestResult`` or its per-session table with a ``policy`` column.
        arms: the labels of control and treatment.
        expected_share: the planned share of the treatment arm, in (0, 1).

    Returns:
        The p-value, in [0, 1].

    Raises:
        ValueError: for a table without the ``policy`` column or arms that are absent.

    Book: 07_case_study.ipynb, sec-case-ab
    """
    from scipy import stats

    df = data.sessions if isinstance(data, ABTestResult) else data
    if not isinstance(df, pd.DataFrame) or C.POLICY not in df.columns:
        raise ValueError("data must be an ABTestResult or a DataFrame with a 'policy' column")
    share = check_fraction("expected_share", expected_share, "the planned share of the treatment arm")
    counts = df[C.POLICY].value_counts()
    if isinstance(arms, str) or len(arms) != 2 or not all(a in counts.index for a in arms):
        raise ValueError(f"arms must be two labels present in the policy column {sorted(counts.index)}, got {arms!r}")
    n_a, n_b = int(counts[arms[0]]), int(counts[arms[1]])
    return float(stats.binomtest(n_b, n_a + n_b, share).pvalue)


def _z_alpha_power(alpha: Any, power: Any) -> tuple[float, float]:
    alpha = check_fraction("alpha", alpha, "the two-sided significance level, e.g. 0.05")
    power = check_fraction("power", power, "the probability of detecting the effect, e.g. 0.8")
    return float(special.ndtri(1 - alpha / 2)), float(special.ndtri(power))


def sample_size(
    baseline: float, mde: float, alpha: float = 0.05, power: float = 0.8, relative: bool = False
) -> int:
    """Units per arm to detect a change ``mde`` of a proportion with a two-sided test of two equal arms.

    With ``p1 = baseline``, ``p2 = baseline + delta`` (``delta = mde``, or ``mde * baseline`` when ``relative``),
    ``p_bar = (p1 + p2) / 2``:

    ``n = (z_{1-alpha/2} sqrt(2 p_bar (1 - p_bar)) + z_{power} sqrt(p1 (1 - p1) + p2 (1 - p2)))^2 / delta^2``,

    rounded up: the pooled variance under "no difference", the unpooled one under the alternative (Fleiss, Levin &
    Paik 2003, without continuity correction). Example: baseline 0.10, mde 0.01 → 14,751 per arm.

    Args:
        baseline: the control arm's proportion, in (0, 1).
        mde: minimum detectable effect (> 0): absolute (``0.01`` = one percentage point) or, with
            ``relative=True``, a fraction of the baseline (``0.1`` = +10 %).
        alpha: two-sided significance level.
        power: probability of a significant result when the true difference is ``mde``.
        relative: read ``mde`` as relative to the baseline.

    Returns:
        Units (e.g. sessions or users, whichever is randomised) per arm.

    Raises:
        ValueError: if a probability is outside (0, 1), ``mde`` is not positive, or ``baseline + delta >= 1``.

    Book: 06_evaluation.ipynb, sec-eval-sample-size
    """
    p1 = check_fraction("baseline", baseline, "the control arm's proportion")
    mde = check_number("mde", mde, 0.0, None, low_open=True, what="the smallest difference worth detecting")
    delta = float(mde) * p1 if relative else float(mde)
    p2 = p1 + delta
    if not p2 < 1:
        raise ValueError(f"baseline + mde = {p2:g} must stay below 1 for a proportion")
    za, zb = _z_alpha_power(alpha, power)
    pbar = (p1 + p2) / 2
    root = za * math.sqrt(2 * pbar * (1 - pbar)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return int(math.ceil(root**2 / delta**2 - 1e-9))


def sample_size_for_mean(std: float, mde: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Units per arm to detect an absolute change ``mde`` of a mean metric (two-sided, two equal arms).

    ``n = 2 (z_{1-alpha/2} + z_{power})^2 std^2 / mde^2``, rounded up; ``std`` is the per-unit standard deviation
    (e.g. of clicks per session in an A/A test or the logs). For a test randomised by user but analysed per session,
    multiply by the design effect (or use per-user means as the unit).

    Raises:
        ValueError: if ``std`` or ``mde`` is not positive, or alpha/power are outside (0, 1).

    Book: 06_evaluation.ipynb, sec-eval-sample-size
    """
    std = check_number("std", std, 0.0, None, low_open=True, what="the per-unit standard deviation")
    mde = check_number("mde", mde, 0.0, None, low_open=True, what="the smallest difference worth detecting")
    za, zb = _z_alpha_power(alpha, power)
    return int(math.ceil(2 * (za + zb) ** 2 * float(std) ** 2 / float(mde) ** 2 - 1e-9))
