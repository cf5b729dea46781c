r"""Effect estimates with intervals: weighting and regression estimators of the ATT, and the shop's analysis table.
Book: 04_causal_graphs.ipynb, sec-causal-dowhy, sec-causal-hetero

"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import special, stats

from .. import columns as C
from .._checks import check_columns, check_finite, check_fraction, check_int, float_array

__all__ = ["OBSERVED", "EffectEstimate", "att_weighted", "estimate_regression_att", "list_effect_per_session",
           "shop_frame"]


@dataclasses.dataclass(frozen=True)
class EffectEstimate:
    """An effect estimate with its confidence interval.

    Attributes:
        value: the point estimate.
        ci_low: lower end of the confidence interval (``nan`` if the method gives none).
        ci_high: upper end.
        method: what produced it (e.g. ``"DoWhy propensity-score weighting"``).

    Book: 04_causal_graphs.ipynb, sec-causal-dowhy
    """

    value: float
    ci_low: float
    ci_high: float
    method: str

    def covers(self, x: float) -> bool:
        """True if ``ci_low <= x <= ci_high``."""
        return bool(self.ci_low <= x <= self.ci_high)

    def as_dict(self) -> dict:
        """``{"method", "estimate", "ci_low", "ci_high"}`` as plain Python values (for tables)."""
        return {"method": self.method, "estimate": float(self.value), "ci_low": float(self.ci_low),
                "ci_high": float(self.ci_high)}


def _z(confidence: float) -> float:
    confidence = check_fraction("confidence", confidence, "the level of the interval, e.g. 0.95")
    return float(stats.norm.ppf(0.5 + confidence / 2))


def _weighted_inputs(y, t, control_weight) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Checked ``(y, t as bool, control_weight)`` for a weighted comparison of treated and control units."""
    y = float_array("y", y, "one outcome per unit")
    t = np.asarray(t)
    wc = float_array("control_weight", control_weight, "one non-negative weight per unit")
    if not (y.shape == t.shape == wc.shape) or y.ndim != 1:
        raise ValueError(f"y, t and control_weight must be 1-d of equal length, got {y.shape}, {t.shape}, {wc.shape}")
    if not np.isin(t, (0, 1)).all():
        raise ValueError("t must hold only 0 and 1")
    check_finite("y", y, "one outcome per unit")
    if (wc < 0).any() or not np.isfinite(wc).all():
        raise ValueError("control_weight must be finite and non-negative")
    return y, t.astype(bool), wc


def att_weighted(y, t, control_weight, cluster=None, *, confidence: float = 0.95,
                 method: str = "weighted difference") -> EffectEstimate:
    """ATT as a weighted difference of means: mean of treated outcomes minus the weighted mean of control outcomes.

    Every ATT estimator in this module has this form: IPW (weights ``e / (1 - e)``), stratification (``n_treated /
    n_control`` of the stratum), the naive difference (weights 1). The interval uses the linearised variance of the
    two (self-normalised) means, clustered (e.g. by session) when ``cluster`` is given; it treats the weights as
    known.

    Args:
        y: outcomes, shape ``(n,)``.
        t: treatment indicators (0/1), shape ``(n,)``.
        control_weight: non-negative weights, shape ``(n,)`` (only the controls' are used).
        cluster: optional cluster ids, shape ``(n,)``.
        confidence: level of the interval.
        method: name stored in the result.

    Returns:
        :class:`EffectEstimate`.

    Raises:
        ValueError: on mismatched shapes, a non-binary treatment, negative weights, or no treated / no weighted
            control units.

    Book: 04_causal_graphs.ipynb, sec-causal-dowhy
    """
    y, t, wc = _weighted_inputs(y, t, control_weight)
    w = np.where(t, 1.0, wc)
    w1, w0 = w * t, w * ~t
    if w1.sum() == 0 or w0.sum() == 0:
        raise ValueError("need at least one treated unit and one control with positive weight")
    m1, m0 = float(w1 @ y / w1.sum()), float(w0 @ y / w0.sum())
    infl = w1 * (y - m1) / w1.sum() - w0 * (y - m0) / w0.sum()  # influence contributions (summing to ~0)
    if cluster is not None:
        cluster = np.asarray(cluster)
        if cluster.shape != y.shape:
            raise ValueError("cluster must have the same length as y")
        if cluster.dtype.kind == "f" and not np.isfinite(cluster).all():
            raise ValueError("cluster has NaN or infinite ids: every unit needs a cluster (e.g. its session)")
        _, inv = np.unique(cluster, return_inverse=True)
        infl = np.bincount(inv, weights=infl)
    g = len(infl)
    se = float(np.sqrt(np.sum(infl**2) * g / max(g - 1, 1)))
    value = m1 - m0
    z = _z(confidence)
    return EffectEstimate(value, value - z * se, value + z * se, method)


def list_effect_per_session(pairs: pd.DataFrame, outcome: str = C.PURCHASE, *, n_sessions: int | None = None,
                            confidence: float = 0.95) -> EffectEstimate:
    r"""What the logged list *caused* per session: outcomes of shown pairs minus what they would have been unshown.

    The Horvitz–Thompson estimate of :math:`\frac1S\sum_s\sum_i T_{si}\,(Y_{si}(1) - Y_{si}(0))` from the logged
    pairs: the shown pairs' outcomes, minus the not-shown pairs' outcomes weighted by :math:`e/(1-e)` (each stands
    for the shown pairs like it), both times their ``sample_weight``, summed per session. Unbiased when the logged
    show probabilities are the true ones and nothing unlogged drives both showing and buying. It is the number to
    size an experiment with: "purchases from the list" (last-touch attribution) also counts the purchases that would
    have happened anyway.

    Assumptions, beyond exact show probabilities: positivity (a pair the logger always shows, ``e = 1``, has no
    not-shown twin, so its ``Y(0)`` is never subtracted and the estimate is biased upward; the shop's exploration
    keeps ``e < 1``) and no interference (showing one item does not change purchases of the others; then the
    shown items' own incremental purchases are all the list causes). The interval's coverage depends on how the
    not-shown pairs were sampled: see ``book/appendix_b_intervals.ipynb``.

    Args:
        pairs: ``logs.pairs`` (``session_id, shown, show_probability, sample_weight`` and ``outcome``).
        outcome: the outcome column (default ``purchase``).
        n_sessions: sessions in the log (default: the distinct sessions in ``pairs``; pass ``len(logs.sessions)``
            when some sessions have no pairs).
        confidence: level of the interval (normal, from the per-session totals: sessions are independent).

    Returns:
        :class:`EffectEstimate` (method ``"list effect per session (IPW)"``).

    Raises:
        ValueError: on missing columns, show probabilities outside (0, 1) for a not-shown pair, negative sample
            weights, or ``n_sessions`` smaller than the sessions present.

    Book: 07_case_study.ipynb, sec-case-ab
    """
    check_columns(pairs, "pairs", [C.SESSION, C.SHOWN, C.SHOW_PROBABILITY, C.SAMPLE_WEIGHT, outcome])
    confidence = check_fraction("confidence", confidence, "the level of the interval")
    t = float_array("pairs.shown", pairs[C.SHOWN], "0 or 1")
    if not np.isin(t, (0.0, 1.0)).all():
        raise ValueError("pairs.shown must hold only 0 and 1")
    y = float_array(f"pairs.{outcome}", pairs[outcome], "one outcome per pair")
    check_finite(f"pairs.{outcome}", y, "one outcome per pair")
    e = float_array("pairs.show_probability", pairs[C.SHOW_PROBABILITY], "the logged show probability")
    sw = float_array("pairs.sample_weight", pairs[C.SAMPLE_WEIGHT], "a non-negative weight")
    if not np.isfinite(sw).all() or (sw < 0).any():
        raise ValueError("pairs.sample_weight must be finite and non-negative")
    shown = t == 1
    if not ((e[~shown] > 0) & (e[~shown] < 1)).all():
        raise ValueError("pairs.show_probability must be in (0, 1) for every not-shown pair (else it has no weight)")
    contrib = np.where(shown, sw * y, -sw * y * e / np.where(shown, 0.5, 1 - e))
    _, inv = np.unique(pairs[C.SESSION].to_numpy(), return_inverse=True)
    per_session = np.bincount(inv, weights=contrib)
    present = len(per_session)
    n = present if n_sessions is None else check_int("n_sessions", n_sessions, 1)
    if n < present:
        raise ValueError(f"n_sessions={n} is smaller than the {present} sessions in pairs")
    per_session = np.concatenate([per_session, np.zeros(n - present)])
    value = float(per_session.mean())
    se = float(per_session.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    z = _z(confidence)
    return EffectEstimate(value, value - z * se, value + z * se, "list effect per session (IPW)")


def _spline_basis(x: np.ndarray, n_knots: int) -> np.ndarray:
    """Cubic B-spline basis of one column (no constant column), knots at quantiles of ``x``, linear beyond them."""
    from sklearn.preprocessing import SplineTransformer

    knots = np.unique(np.quantile(x, np.linspace(0.0, 1.0, n_knots)))
    if len(knots) < 2:
        return np.zeros((len(x), 0))
    spline = SplineTransformer(degree=3, knots=knots[:, None], extrapolation="linear", include_bias=False)
    return spline.fit_transform(x[:, None])


def estimate_regression_att(data: pd.DataFrame, treatment: str, outcome: str, covariates: Sequence[str] = (), *,
                            spline: Sequence[str] = (), n_knots: int = 8, weight: str | None = None,
                            cluster: str | None = None, confidence: float = 0.95,
                            label: str | None = None) -> EffectEstimate:
    """ATT by regression adjustment: an outcome model fitted on the controls predicts each treated unit's Y(0).

    The model is least squares (for a 0/1 outcome, a linear probability model) on the *control* rows only, with an
    intercept, the ``covariates`` entered linearly (numeric standardised, categorical one-hot) and each ``spline``
    column expanded into a cubic B-spline with ``n_knots`` knots at quantiles of all rows (linear beyond the end
    knots). Then :math:`\\widehat{ATT} = \\sum_{T=1} w_i\\,(Y_i - \\hat\\mu_0(x_i)) / \\sum_{T=1} w_i`. Fitting on the
    controls alone is what makes it an ATT estimator: a single regression of the outcome on treatment and covariates
    (DoWhy's ``backdoor.linear_regression`` without effect modifiers) estimates a variance-weighted mix of stratum
    effects, neither ATT nor ATE, and DoWhy 0.14's regression estimators average the fitted effect over every row
    whatever ``target_units`` says. With only
    categorical covariates the estimator equals stratified ATT weighting exactly.

    The interval is the linearised (sandwich) variance of :math:`\\widehat{ATT}` including the uncertainty of the
    fitted coefficients, summed by ``cluster`` when given: treated row :math:`i` contributes
    :math:`w_i (Y_i - \\hat\\mu_0(x_i) - \\widehat{ATT}) / W_1`, control row :math:`j` contributes
    :math:`-\\bar x_1^\\top (X_0^\\top W X_0)^{-1} x_j w_j (Y_j - \\hat\\mu_0(x_j))`. It is exact algebra, no
    resampling (well under a second on 300,000 rows).

    Args:
        data: one row per unit.
        treatment: 0/1 treatment column.
        outcome: outcome column.
        covariates: columns entered linearly.
        spline: numeric columns entered as cubic splines (e.g. the logit of a propensity score).
        n_knots: knots per spline column (``>= 2``).
        weight: optional column of non-negative row weights: on treated rows they define the average (the target
            population), on control rows they weight the fit (e.g. ``sample_weight`` of a sub-sampled control table;
            a constant control weight changes nothing).
        cluster: optional cluster column for the interval (e.g. ``session_id``).
        confidence: level of the interval.
        label: :attr:`EffectEstimate.method`.

    Returns:
        :class:`EffectEstimate`.

    Raises:
        ValueError: on missing columns, a non-binary treatment, a non-numeric spline column, ``n_knots < 2``,
            negative or non-finite weights, or no treated rows / too few controls for the model.

    Book: 04_causal_graphs.ipynb, sec-causal-dowhy
    """
    names = [treatment, outcome, *covariates, *spline, *([weight] if weight else []), *([cluster] if cluster else [])]
    for name, cols in (("covariates", covariates), ("spline", spline)):
        if isinstance(cols, (str, bytes)):
            raise TypeError(f"{name} must be a sequence of column names, not the string {cols!r}")
    check_columns(data, "data", names)
    check_int("n_knots", n_knots, 2)
    for col in spline:  # a NaN would collapse the knots and silently drop the spline term
        check_finite(f"data[{col!r}]", float_array(f"data[{col!r}]", data[col], "a numeric spline column"),
                     "a numeric spline column")
    t = data[treatment].to_numpy()
    if not np.isin(t, (0, 1)).all():
        raise ValueError(f"{treatment} must hold only 0 and 1")
    t = t.astype(bool)
    y = data[outcome].to_numpy(float)
    check_finite(f"data[{outcome!r}]", y, "the outcome of each row")
    w = np.ones(len(data)) if weight is None else data[weight].to_numpy(float)
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError(f"{weight} must be finite and non-negative")
    parts = [np.ones((len(data), 1)), _design(data, covariates)]
    for c in spline:
        if not pd.api.types.is_numeric_dtype(data[c]) or isinstance(data[c].dtype, pd.CategoricalDtype):
            raise ValueError(f"spline column {c!r} must be numeric, got {data[c].dtype}")
        parts.append(_spline_basis(data[c].to_numpy(float), int(n_knots)))
    x = np.hstack(parts)
    w1, w0 = np.where(t, w, 0.0), np.where(t, 0.0, w)
    if w1.sum() == 0:
        raise ValueError("need at least one treated row with positive weight")
    if (w0 > 0).sum() < x.shape[1]:
        raise ValueError(f"need at least {x.shape[1]} weighted control rows for {x.shape[1]} model terms, "
                         f"got {(w0 > 0).sum()}")
    xw = x * w0[:, None]
    bread = np.linalg.pinv(x.T @ xw)  # (X0' W X0)^-1; pinv tolerates a basis column without controls
    beta = bread @ (xw.T @ y)
    resid = y - x @ beta
    value = float(w1 @ resid / w1.sum())
    xbar1 = w1 @ x / w1.sum()
    infl = w1 * (resid - value) / w1.sum() - w0 * resid * (x @ (bread @ xbar1))
    if cluster is not None:
        _, inv = np.unique(data[cluster].to_numpy(), return_inverse=True)
        infl = np.bincount(inv, weights=infl)
    g = len(infl)
    se = float(np.sqrt(np.sum(infl**2) * g / max(g - 1, 1)))
    z = _z(confidence)
    name = label or ("regression adjustment (ATT), " + "+".join([*covariates, *(f"spline({c})" for c in spline)]))
    return EffectEstimate(value, value - z * se, value + z * se, name)



#: Observed covariates of :func:`shop_frame` (numeric; ``category`` is added as a categorical column).
OBSERVED = ("log_popularity", "log_price", "interest_match", "age")


def shop_frame(world, period: str = "early", rng: np.random.Generator | None = None,
               n_sessions: int | None = None, n_strata: int = 20) -> pd.DataFrame:
    """One row per logged (session, item) pair of the shop, ready for DoWhy, with the truth beside it.

    Columns: ``session_id, user_id, item_id``, treatment ``shown``, outcome ``purchase``; observed covariates
    ``log_popularity``, ``log_price``, ``category`` (categorical), ``interest_match`` (1 if the item's category is
    the user's declared interest), ``age`` (standardised), ``popular`` (popularity above the median item's);
    the logging policy's ``show_probability`` π, ``logit_pi``, ``pi_stratum`` (``n_strata`` quantile bins of π),
    ``sample_weight`` and ``table_propensity`` = π / (π + (1 − π) / sample_weight of a not-shown row) (the exact
    probability that a row of this table is a shown pair); hidden truth: ``quality`` and ``tau`` (the pair's true
    effect of being shown on purchase, :meth:`ShopWorld.shown_effect`: ``mean_examination × uplift`` with shuffled
    slots).

    Args:
        world: a :class:`~causalrec_tutorial.world.ShopWorld`.
        period: ``"early"`` or ``"late"``.
        rng: generator for sub-sampling sessions (needed only with ``n_sessions``).
        n_sessions: keep this many sessions, drawn without replacement (all by default).
        n_strata: number of π strata.

    Returns:
        DataFrame as above.

    Raises:
        ValueError: for a bad period, ``n_sessions`` without ``rng`` or out of range, or ``n_strata < 1``.

    Book: 04_causal_graphs.ipynb, sec-causal-dowhy
    """
    if period not in ("early", "late"):
        raise ValueError(f"period must be 'early' or 'late', got {period!r}")
    check_int("n_strata", n_strata)
    if not hasattr(world, "logs") or not hasattr(world, "logging_probabilities"):
        raise TypeError(f"world must be a causalrec_tutorial.world.ShopWorld, got {type(world).__name__}")
    logs = world.logs(period)
    pairs = logs.pairs
    if n_sessions is not None:
        if rng is None:
            raise ValueError("sub-sampling sessions needs rng (a numpy Generator)")
        sessions = pairs[C.SESSION].unique()
        if isinstance(n_sessions, bool) or not 1 <= int(n_sessions) <= len(sessions):
            raise ValueError(f"n_sessions must be in [1, {len(sessions)}], got {n_sessions!r}")
        keep = rng.choice(sessions, size=int(n_sessions), replace=False)
        pairs = pairs[pairs[C.SESSION].isin(keep)]
    pairs = pairs.reset_index(drop=True)
    items = logs.items.set_index(C.ITEM)
    users = logs.users.set_index(C.USER)
    i = pairs[C.ITEM].to_numpy()
    u = pairs[C.USER].to_numpy()
    pi = pairs[C.SHOW_PROBABILITY].to_numpy(float)
    shown = pairs[C.SHOWN].to_numpy()
    unshown_weights = pairs.loc[shown == 0, C.SAMPLE_WEIGHT].to_numpy(float)
    if len(unshown_weights) and np.ptp(unshown_weights) > 1e-9 * unshown_weights.max():
        raise ValueError("shop_frame needs a uniform sample of not-shown pairs (one sample_weight): a shown pair's "
                         "table propensity needs the weight it would have had unshown, which a propensity-sampled "
                         "log (unshown_sampling='propensity') does not record; use list_effect_per_session or "
                         "weight the rows by sample_weight")
    unshown_weight = float(unshown_weights.max()) if len(unshown_weights) else 1.0
    cat = items[C.CATEGORY].to_numpy()[i]
    pop = items[C.POPULARITY].to_numpy()
    if C.SHOW_PROBABILITY not in pairs.columns:
        raise ValueError("shop_frame needs the logged show_probability: this world was made with "
                         "ShopParams(log_propensities=False)")
    tau = world.shown_effect(period)  # the judge's column: the pair's true effect of being shown
    age = users[C.AGE].to_numpy(float)[u]
    out = pd.DataFrame({
        C.SESSION: pairs[C.SESSION].to_numpy(),
        C.USER: u,
        C.ITEM: i,
        C.SHOWN: shown.astype(np.int64),
        C.PURCHASE: pairs[C.PURCHASE].to_numpy().astype(np.int64),
        "log_popularity": np.log1p(pop[i].astype(float)),
        "log_price": np.log(items[C.PRICE].to_numpy(float)[i]),
        "category": pd.Categorical(cat),
        "interest_match": (users[C.DECLARED_INTEREST].to_numpy()[u] == cat).astype(np.int64),
        "age": (age - 46.5) / 16.5,
        "popular": (pop[i] > np.median(pop[: world.n_available(period)])).astype(np.int64),
        C.SHOW_PROBABILITY: pi,
        "logit_pi": special.logit(pi),
        "pi_stratum": pd.qcut(pi, n_strata, labels=False, duplicates="drop").astype(np.int64),
        C.SAMPLE_WEIGHT: pairs[C.SAMPLE_WEIGHT].to_numpy(float),
        "table_propensity": pi / (pi + (1.0 - pi) / unshown_weight),
        "quality": world.item_quality[i],
        "tau": tau[u, i],
    })
    return out


def _design(data: pd.DataFrame, covariates: Sequence[str]) -> np.ndarray:
    parts = []
    for c in covariates:
        col = data[c]
        if not pd.api.types.is_numeric_dtype(col.dtype):  # categorical, object or string: one-hot
            parts.append(pd.get_dummies(col, prefix=c, drop_first=True).to_numpy(float))
        else:
            x = col.to_numpy(float)
            parts.append(((x - x.mean()) / (x.std() or 1.0))[:, None])
    return np.hstack(parts) if parts else np.zeros((len(data), 0))
