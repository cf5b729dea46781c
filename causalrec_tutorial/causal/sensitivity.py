r"""Sensitivity of a weighting (IPW) estimate of the ATT to a confounder the propensity model missed.
Book: 04_causal_graphs.ipynb, sec-causal-sensitivity

The **marginal sensitivity model** (Tan 2006; Zhao, Small and Bhattacharya 2019) says how wrong the fitted propensity
may be: for every unit, the odds of treatment given everything that matters (observed *and* hidden) differ from the
fitted odds :math:`e/(1-e)` by a factor in :math:`[1/\Lambda, \Lambda]`. :math:`\Lambda = 1` is "no hidden
confounding". For the ATT, the treated mean is observed and only the controls' weights — their odds — are uncertain,
so the counterfactual mean of the treated is

.. math:: \mu_0(\lambda) = \frac{\sum_{i \in \text{controls}} w_i \lambda_i y_i}{\sum_{i \in \text{controls}}
   w_i \lambda_i}, \qquad \lambda_i \in [1/\Lambda, \Lambda].

Its largest value puts :math:`\lambda_i = \Lambda` on the controls with the largest outcomes and :math:`1/\Lambda` on
the rest, for some threshold (a linear-fractional programme; Zhao et al.), so the bounds are a scan over the sorted
outcomes: :func:`msm_att_bounds`. They are valid but not sharp under the model: they ignore that the true weights
must still balance the observed covariates (Dorn and Guo 2023 give sharp bounds by quantile balancing). Λ measures how
wrong the fitted odds are for any reason, a misspecified propensity model included. :func:`msm_breakdown` finds the smallest :math:`\Lambda` whose
bounds reach a null value — the strength of a hidden confounder that would explain the effect away — and
:func:`covariate_benchmarks` says what :math:`\Lambda` an *observed* covariate amounts to: how much leaving it out of
the propensity model changes the fitted odds. The bounds are for the estimand given the fitted weights; the sampling
error of the estimate comes on top (Zhao et al. widen them with a percentile bootstrap).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from .._checks import check_number
from .effects import _design, _weighted_inputs

__all__ = ["covariate_benchmarks", "fitted_propensity", "msm_att_bounds", "msm_breakdown"]


def _inputs(y, t, control_weight) -> tuple[float, np.ndarray, np.ndarray]:
    y, t, w = _weighted_inputs(y, t, control_weight)
    if not t.any() or w[~t].sum() <= 0:
        raise ValueError("need at least one treated unit and one control with positive weight")
    return float(y[t].mean()), y[~t], w[~t]


def _mu0_range(yc: np.ndarray, wc: np.ndarray, gamma: float) -> tuple[float, float]:
    """Smallest and largest weighted control mean when each weight may be scaled by a factor in [1/gamma, gamma]."""
    out = []
    for largest_first in (True, False):
        order = np.argsort(-yc if largest_first else yc, kind="stable")
        yy, ww = yc[order], wc[order]
        a = np.concatenate([[0.0], np.cumsum(ww * yy)])  # the first k units get gamma, the rest 1 / gamma
        s = np.concatenate([[0.0], np.cumsum(ww)])
        mu = (gamma * a + (a[-1] - a) / gamma) / (gamma * s + (s[-1] - s) / gamma)
        out.append(mu.max() if largest_first else mu.min())
    return float(out[1]), float(out[0])


def msm_att_bounds(y, t, control_weight, gamma: float) -> tuple[float, float]:
    """Bounds on the weighted ATT under the marginal sensitivity model with parameter ``gamma`` (Λ) (Zhao et al.).

    Args:
        y: outcomes, shape ``(n,)``.
        t: treatment indicators (0/1).
        control_weight: the fitted odds ``e / (1 - e)`` of every unit (only the controls' are used), as given to
            :func:`~causalrec_tutorial.causal.att_weighted`.
        gamma: Λ ≥ 1; each control's true odds lie within a factor Λ of its fitted odds. ``1`` gives the point
            estimate of :func:`~causalrec_tutorial.causal.att_weighted` twice.

    Returns:
        ``(low, high)``: the smallest and largest ATT compatible with the data and Λ.

    Raises:
        ValueError: on mismatched shapes, a non-binary treatment, non-finite values, negative weights, no treated or
            no weighted control unit, or ``gamma < 1``.

    Book: 04_causal_graphs.ipynb, sec-causal-sensitivity
    """
    m1, yc, wc = _inputs(y, t, control_weight)
    gamma = check_number("gamma", gamma, 1.0, what="the sensitivity parameter Λ; 1 means no hidden confounding")
    lo, hi = _mu0_range(yc, wc, gamma)
    return m1 - hi, m1 - lo


def msm_breakdown(y, t, control_weight, *, null: float = 0.0, max_gamma: float = 1e4, tol: float = 1e-6) -> float:
    """The smallest Λ at which the sensitivity bounds of :func:`msm_att_bounds` contain ``null``.

    The bounds widen as Λ grows, so the answer is found by bisection on ``log Λ``. It is the strength of a hidden
    confounder (as a factor on the odds of treatment) that would suffice to explain the estimate away.

    Args:
        y, t, control_weight: as for :func:`msm_att_bounds`.
        null: the value to reach (``0``: no effect; or, e.g., a true effect to see what Λ covers it).
        max_gamma: search limit; returned as ``inf`` if even this Λ does not reach ``null``.
        tol: relative precision of the returned Λ.

    Returns:
        Λ ≥ 1 (``1.0`` if the point estimate already equals ``null``; ``inf`` beyond ``max_gamma``).

    Raises:
        ValueError: as :func:`msm_att_bounds`, or on a non-finite ``null`` or ``max_gamma < 1``.

    Book: 04_causal_graphs.ipynb, sec-causal-sensitivity
    """
    m1, yc, wc = _inputs(y, t, control_weight)
    null = check_number("null", null, what="the effect value the bounds must reach")
    max_gamma = check_number("max_gamma", max_gamma, 1.0, what="the largest Λ searched")
    tol = check_number("tol", tol, 0.0, low_open=True, what="relative precision of Λ")

    def reaches(gamma: float) -> bool:
        lo, hi = _mu0_range(yc, wc, gamma)
        return m1 - hi <= null <= m1 - lo

    if reaches(1.0):
        return 1.0
    if not reaches(max_gamma):
        return float("inf")
    low, high = 0.0, float(np.log(max_gamma))
    while high - low > tol:
        mid = (low + high) / 2
        low, high = (low, mid) if reaches(float(np.exp(mid))) else (mid, high)
    return float(np.exp(high))


def fitted_propensity(data: pd.DataFrame, treatment: str, covariates: Sequence[str]) -> np.ndarray:
    """A logistic propensity model of ``treatment`` on ``covariates`` (numeric standardised, categorical one-hot),
    the same model as :func:`~causalrec_tutorial.causal.estimate_text_adjusted` without text; returns ``e`` clipped
    to ``[1e-6, 1 - 1e-6]``.

    Raises:
        ValueError: on missing columns or a non-binary treatment.

    Book: 04_causal_graphs.ipynb, sec-causal-sensitivity
    """
    from sklearn.linear_model import LogisticRegression

    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    missing = [c for c in (treatment, *covariates) if c not in data.columns]
    if missing:
        raise ValueError(f"data lacks the columns {missing}")
    t = data[treatment].to_numpy()
    if not np.isin(t, (0, 1)).all() or len(np.unique(t)) < 2:
        raise ValueError(f"{treatment} must hold both 0 and 1 and nothing else")
    x = _design(data, covariates)
    if x.shape[1] == 0:
        return np.full(len(data), float(t.mean()))
    model = LogisticRegression(C=1e4, max_iter=2000).fit(x, t)
    return np.clip(model.predict_proba(x)[:, 1], 1e-6, 1 - 1e-6)


def covariate_benchmarks(data: pd.DataFrame, treatment: str, covariates: Sequence[str],
                         quantiles: Sequence[float] = (0.5, 0.9)) -> pd.DataFrame:
    """What Λ each observed covariate amounts to: refit the propensity model without it and compare the odds.

    For covariate ``j``, the factor ``max(r, 1/r)`` with ``r`` = (odds with all covariates) / (odds without ``j``)
    says how far the model that omits ``j`` is from the one that has it, over the control units (whose weights the
    ATT uses). Its quantiles are informal benchmarks, "a hidden confounder as strong as ``j``", on the odds scale of the
    marginal sensitivity model. They compare two models of the observed data, while a hidden confounder would add to
    them; Cinelli and Hazlett (2020) warn that such comparisons can mislead, so read them as a judgement aid.

    Args:
        data: one row per unit.
        treatment: 0/1 column.
        covariates: the propensity model's covariates; each is left out in turn.
        quantiles: which quantiles of the factor to report (each in (0, 1]; 1 is the largest).

    Returns:
        DataFrame indexed by covariate with one column ``lambda_q<q>`` per quantile, sorted by the last one, largest
        first.

    Raises:
        ValueError: on missing columns, a non-binary treatment, fewer than two covariates or a quantile outside
            (0, 1].

    Book: 04_causal_graphs.ipynb, sec-causal-sensitivity
    """
    covariates = list(covariates)
    if len(covariates) < 2:
        raise ValueError(f"covariates must name at least two columns to leave one out, got {covariates}")
    qs = [check_number("quantiles", q, 0.0, 1.0, low_open=True, what="a quantile of the odds factor")
          for q in quantiles]
    if not qs:
        raise ValueError("quantiles must name at least one quantile")
    full = fitted_propensity(data, treatment, covariates)
    control = data[treatment].to_numpy() == 0
    odds = full / (1 - full)
    rows = {}
    for j in covariates:
        e = fitted_propensity(data, treatment, [c for c in covariates if c != j])
        factor = np.exp(np.abs(np.log(odds / (e / (1 - e)))))[control]
        rows[j] = {f"lambda_q{q:g}": float(np.quantile(factor, q)) for q in qs}
    table = pd.DataFrame.from_dict(rows, orient="index")
    return table.sort_values(table.columns[-1], ascending=False)
