"""Off-policy estimators (DM, IPS, SNIPS, DR) with bootstrap CIs, and the Open Bandit Pipeline's policy and model.
Book: 06_evaluation.ipynb, sec-eval-ope, sec-eval-obd; 07_case_study.ipynb.

Setting and formulas are in the :mod:`causalrec_tutorial.evaluate` docstring.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from .._checks import (
    cluster_codes,
    check_bootstrap,
    check_clip,
    check_finite,
    check_int,
    check_k,
    check_number,
    check_range,
    check_rng,
    float_array,
    index_array,
    vector,
)
from ..config import as_rng

__all__ = [
    "OPEEstimate", "bernoulli_ts_action_dist", "dm", "dr", "effective_sample_size", "estimate_policy_value",
    "expected_reward", "fit_reward_model", "importance_weights", "ips", "snips",
]


ArrayLike = Any  # numpy array, pandas Series or a sequence of numbers

_BOOTSTRAP_BLOCK = 2_000_000  # resampled entries per vectorised block (bounds memory: 16 MB of indices)


def _full(name: str, x: Any, what: str, n: int) -> np.ndarray:
    """A 1-D (n,), 2-D (n, A) or 3-D (n, A, P) finite float array."""
    if x is None:
        raise ValueError(f"{name} is missing: expected {what}")
    arr = float_array(name, x, what)
    if arr.ndim not in (1, 2, 3):
        raise ValueError(
            f"{name} must be 1-D (n,), 2-D (n, n_actions) or 3-D (n, n_actions, n_positions) ({what}), "
            f"got shape {arr.shape}"
        )
    if arr.size == 0:
        raise ValueError(f"{name} is empty: expected {what}, at least one logged round")
    if arr.shape[0] != n:
        raise ValueError(
            f"length mismatch: {name} has {arr.shape[0]} rows but reward has {n}; expected one per logged round"
        )
    check_finite(name, arr, what)
    return arr


def _pick(arr: np.ndarray, action: Any, position: Any, name: str) -> np.ndarray:
    """Entries of the logged actions (and positions) from a full array; 1-D arrays pass through."""
    n = arr.shape[0]
    if arr.ndim == 1:
        return arr
    a = index_array("action", action, n, arr.shape[1], name)
    if arr.ndim == 2:
        return arr[np.arange(n), a]
    s = index_array("position", position, n, arr.shape[2], name)
    return arr[np.arange(n), a, s]


def _check_distribution(target: np.ndarray) -> None:
    if target.ndim == 1:
        return
    sums = target.sum(axis=1)
    if not np.allclose(sums, 1.0, atol=1e-6):
        j = int(np.argmax(np.abs(sums - 1.0).ravel()))
        raise ValueError(
            "target given as an action distribution must sum to 1 over actions (axis 1) for every round"
            f"{' and position' if target.ndim == 3 else ''}; got a sum of {sums.ravel()[j]:.6g}"
        )


_TARGET_WHAT = "the target policy's probability of the logged action, pi_e(a_i | x_i), in [0, 1]"
_PROP_WHAT = "the logging policy's probability of the logged action, p_i = pi_0(a_i | x_i), in (0, 1]"
_REWARD_WHAT = "the observed reward of each logged round, e.g. the click"


def _prepare(reward, propensity, target, action, position, clip):
    """Reward, propensity, target probability of the logged action and clipped weights, all 1-D and checked."""
    r = vector("reward", reward, _REWARD_WHAT)
    n = len(r)
    p = vector("propensity", propensity, _PROP_WHAT, n)
    check_range("propensity", p, 0.0, 1.0, True, _PROP_WHAT)
    t_full = _full("target", target, _TARGET_WHAT, n)
    check_range("target", t_full, 0.0, 1.0, False, _TARGET_WHAT)
    _check_distribution(t_full)
    t = _pick(t_full, action, position, "target")
    w = t / p
    if clip is not None:
        w = np.minimum(w, check_clip(clip))
    return r, p, t_full, t, w


@dataclasses.dataclass(frozen=True)
class OPEEstimate:
    """An off-policy estimate of a target policy's expected reward per logged round.

    Attributes:
        value: the point estimate.
        ci_low: lower end of the percentile bootstrap CI (NaN with ``n_bootstrap=0``).
        ci_high: upper end.
        method: ``"dm"``, ``"ips"``, ``"snips"`` or ``"dr"`` (with ``" (clip=M)"`` when clipped).
        n: number of logged rounds used.

    Book: 06_evaluation.ipynb, sec-eval-ope
    """

    value: float
    ci_low: float
    ci_high: float
    method: str
    n: int

    def __str__(self) -> str:
        return f"{self.method}: {self.value:.4g} [{self.ci_low:.4g}, {self.ci_high:.4g}] (n={self.n})"


def _clusters(cluster: Any, n: int) -> np.ndarray | None:
    """Cluster ids (e.g. sessions) as integer codes ``0 .. g-1``, or ``None``."""
    return cluster_codes(cluster, n)


def _bootstrap(
    num: np.ndarray, den: np.ndarray | None, n_bootstrap: int, confidence: float, rng: Any,
    cluster: np.ndarray | None = None,
) -> tuple[float, float]:
    """Percentile CI of mean(num) (or sum(num)/sum(den)) over n_bootstrap resamples of the rounds, or of whole
    clusters of rounds (e.g. sessions, whose slots share a user and a list) when ``cluster`` codes are given."""
    if n_bootstrap == 0:
        return float("nan"), float("nan")
    gen = check_rng(rng)
    if cluster is not None:  # resample clusters: sums per cluster, and the count of rounds as the mean's denominator
        num = np.bincount(cluster, weights=num)
        den = np.bincount(cluster).astype(float) if den is None else np.bincount(cluster, weights=den)
    n = len(num)
    stats = np.empty(n_bootstrap)
    block = max(1, _BOOTSTRAP_BLOCK // n)
    for start in range(0, n_bootstrap, block):
        b = min(block, n_bootstrap - start)
        idx = gen.integers(0, n, size=(b, n))
        s = num[idx].sum(axis=1)
        if den is None:
            stats[start : start + b] = s / n
        else:
            d = den[idx].sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                stats[start : start + b] = np.where(d > 0, s / np.where(d > 0, d, 1.0), np.nan)
    stats = stats[np.isfinite(stats)]  # SNIPS: resamples with zero total weight are undefined
    if stats.size == 0:
        return float("nan"), float("nan")
    lo, hi = np.quantile(stats, [(1 - confidence) / 2, (1 + confidence) / 2])
    return float(lo), float(hi)


def _method(name: str, clip: Any) -> str:
    return name if clip is None else f"{name} (clip={float(clip):g})"


def importance_weights(
    propensity: ArrayLike,
    target: ArrayLike,
    *,
    action: ArrayLike | None = None,
    position: ArrayLike | None = None,
    clip: float | None = None,
) -> np.ndarray:
    """Importance weights ``w_i = min(pi_e(a_i|x_i) / p_i, clip)`` of the logged rounds.

    Args:
        propensity: the logging policy's probability of each logged action, in (0, 1].
        target: the target policy's probability of each logged action (1-D), or an action distribution
            ``(n, n_actions[, n_positions])`` with ``action`` (and ``position``).
        action: logged action (item) per round, for a full ``target``.
        position: logged slot per round, for a 3-D ``target``.
        clip: the largest weight kept (``None``: no clipping).

    Returns:
        Array ``(n,)`` of weights.

    Raises:
        ValueError: for probabilities out of range, length mismatches, NaNs or empty input.

    Book: 06_evaluation.ipynb, sec-eval-ope
    """
    p = vector("propensity", propensity, _PROP_WHAT)
    _, _, _, _, w = _prepare(np.zeros(len(p)), p, target, action, position, clip)
    return w


def effective_sample_size(weights: ArrayLike) -> float:
    """Kish's effective sample size ``(sum w)^2 / sum w^2`` of importance weights (n when all weights are equal).

    A small value (relative to n) warns that a few rounds dominate IPS/SNIPS and the estimate is noisy.

    Raises:
        ValueError: for empty, non-finite or negative weights, or weights that are all zero.

    Book: 06_evaluation.ipynb, sec-eval-ope
    """
    w = vector("weights", weights, "non-negative importance weights")
    if (w < 0).any():
        raise ValueError("weights must be non-negative")
    if not (w > 0).any():
        raise ValueError("weights are all zero: the target policy never takes a logged action")
    return float(w.sum() ** 2 / np.sum(w**2))


def expected_reward(target: ArrayLike, reward_hat: ArrayLike, position: ArrayLike | None = None) -> np.ndarray:
    """A reward model's expected reward under the target policy per round: ``sum_a pi_e(a|x_i) q_hat(x_i, a)``.

    Args:
        target: action distribution ``(n, n_actions)`` or ``(n, n_actions, n_positions)``.
        reward_hat: the reward model's prediction for every action, the same shape.
        position: logged slot per round (required for 3-D arrays: the expectation is taken at that slot).

    Returns:
        Array ``(n,)``: the ``expected_reward_hat`` of :func:`dm` and :func:`dr`.

    Raises:
        ValueError: for mismatched shapes, a target that is not a distribution, NaNs or a missing position.

    Book: 06_evaluation.ipynb, sec-eval-ope
    """
    t = float_array("target", target, "an action distribution (n, n_actions[, n_positions])")
    n = t.shape[0] if t.ndim else 0
    t = _full("target", t, "an action distribution (n, n_actions[, n_positions])", n)
    q = _full("reward_hat", reward_hat, "reward predictions for every action, the shape of target", n)
    if t.ndim == 1 or t.shape != q.shape:
        raise ValueError(
            f"target and reward_hat must both be full arrays (n, n_actions[, n_positions]) of the same shape, "
            f"got {t.shape} and {q.shape}"
        )
    check_range("target", t, 0.0, 1.0, False, "action probabilities")
    _check_distribution(t)
    prod = t * q
    if t.ndim == 2:
        return prod.sum(axis=1)
    s = index_array("position", position, n, t.shape[2], "target")
    return prod[np.arange(n), :, s].sum(axis=1)


def _reward_model(reward_hat, expected_reward_hat, t_full, action, position, n):
    """q_hat at the logged action and v_hat (expected under the target), both 1-D."""
    q_full = _full("reward_hat", reward_hat, "the reward model's prediction q_hat(x_i, a_i)", n)
    q = _pick(q_full, action, position, "reward_hat")
    if expected_reward_hat is None:
        if q_full.ndim == 1 or t_full.ndim == 1:
            raise ValueError(
                "expected_reward_hat is missing: expected sum_a pi_e(a|x_i) q_hat(x_i, a) per round (1-D), or pass "
                "both target and reward_hat as full arrays (n, n_actions[, n_positions]) to compute it"
            )
        v = expected_reward(t_full, q_full, position)
    else:
        v = vector(
            "expected_reward_hat", expected_reward_hat, "sum_a pi_e(a|x_i) q_hat(x_i, a) per round", n
        )
    return q, v


def ips(
    reward: ArrayLike,
    propensity: ArrayLike,
    target: ArrayLike,
    *,
    action: ArrayLike | None = None,
    position: ArrayLike | None = None,
    clip: float | None = None,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    rng: np.random.Generator | int | None = None,
    cluster: ArrayLike | None = None,
) -> OPEEstimate:
    """Inverse propensity scoring: ``mean_i w_i r_i`` with ``w_i = min(pi_e(a_i|x_i) / p_i, clip)``.

    Unbiased without clipping whenever the logging policy gives every action the target can take a positive
    probability; its variance grows with the weights. Clipping caps each weight at ``clip`` (less variance, a bias
    towards 0 for non-negative rewards).

    Args:
        reward: observed reward per logged round (e.g. click).
        propensity: the logging policy's probability of the logged action, in (0, 1].
        target: the target policy's probability of the logged action (1-D, in [0, 1]), or an action distribution
            ``(n, n_actions)`` / ``(n, n_actions, n_positions)`` with ``action`` / ``position``.
        action: logged action (item index) per round; needed for a full ``target``.
        position: logged slot per round; needed for a 3-D ``target``.
        clip: maximum importance weight (``None``: no clipping).
        n_bootstrap: bootstrap resamples for the percentile CI (0: no CI).
        confidence: CI level.
        rng: generator (or seed) for the bootstrap; required when ``n_bootstrap > 0``.
        cluster: optional id per round (e.g. the session): the bootstrap then resamples whole clusters, which keeps
            the correlation between the slots of one session; the point estimate is unchanged.

    Returns:
        :class:`OPEEstimate` of the expected reward per round under the target policy.

    Raises:
        ValueError: for empty logs, length mismatches, NaNs, propensities outside (0, 1], target probabilities
            outside [0, 1], a bad ``clip``, or a missing ``rng``.

    Book: 06_evaluation.ipynb, sec-eval-ope
    """
    n_bootstrap, confidence = check_bootstrap(n_bootstrap, confidence)
    r, _, _, _, w = _prepare(reward, propensity, target, action, position, clip)
    terms = w * r
    lo, hi = _bootstrap(terms, None, n_bootstrap, confidence, rng, _clusters(cluster, len(r)))
    return OPEEstimate(float(terms.mean()), lo, hi, _method("ips", clip), len(r))


def snips(
    reward: ArrayLike,
    propensity: ArrayLike,
    target: ArrayLike,
    *,
    action: ArrayLike | None = None,
    position: ArrayLike | None = None,
    clip: float | None = None,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    rng: np.random.Generator | int | None = None,
    cluster: ArrayLike | None = None,
) -> OPEEstimate:
    """Self-normalised IPS: ``sum_i w_i r_i / sum_i w_i`` (Swaminathan & Joachims 2015).

    Slightly biased, consistent, usually far less variable than IPS, and invariant to multiplying all weights by a
    constant (so propensities known only up to a factor are fine). Arguments as in :func:`ips`.

    Returns:
        :class:`OPEEstimate`. Bootstrap resamples whose weights sum to 0 are dropped.

    Raises:
        ValueError: as :func:`ips`, and if all weights are 0 (the target never takes a logged action).

    Book: 06_evaluation.ipynb, sec-eval-ope
    """
    n_bootstrap, confidence = check_bootstrap(n_bootstrap, confidence)
    r, _, _, _, w = _prepare(reward, propensity, target, action, position, clip)
    if not w.sum() > 0:
        raise ValueError("snips is undefined: all importance weights are 0 (the target never takes a logged action)")
    lo, hi = _bootstrap(w * r, w, n_bootstrap, confidence, rng, _clusters(cluster, len(r)))
    return OPEEstimate(float(np.sum(w * r) / np.sum(w)), lo, hi, _method("snips", clip), len(r))


def dm(
    expected_reward_hat: ArrayLike | None = None,
    *,
    target: ArrayLike | None = None,
    reward_hat: ArrayLike | None = None,
    position: ArrayLike | None = None,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    rng: np.random.Generator | int | None = None,
    cluster: ArrayLike | None = None,
) -> OPEEstimate:
    """Direct method: ``mean_i sum_a pi_e(a|x_i) q_hat(x_i, a)``, the reward model's prediction of the value.

    No weights, little variance, but as biased as the reward model. The CI treats the model as fixed (it reflects
    the sampling of contexts, not the model's own error).

    Args:
        expected_reward_hat: ``v_hat_i = sum_a pi_e(a|x_i) q_hat(x_i, a)`` per round (1-D). Alternatively pass
            ``target`` and ``reward_hat`` as full arrays (and ``position`` for 3-D) and it is computed.
        target: action distribution ``(n, n_actions[, n_positions])`` (only without ``expected_reward_hat``).
        reward_hat: reward predictions for every action, the shape of ``target``.
        position: logged slot per round, for 3-D arrays.
        n_bootstrap: bootstrap resamples (0: no CI).
        confidence: CI level.
        rng: generator (or seed) for the bootstrap.
        cluster: optional id per round (e.g. the session) for a cluster bootstrap, as in :func:`ips`.

    Returns:
        :class:`OPEEstimate`.

    Raises:
        ValueError: for missing or malformed inputs, NaNs, or a missing ``rng``.

    Book: 06_evaluation.ipynb, sec-eval-ope
    """
    n_bootstrap, confidence = check_bootstrap(n_bootstrap, confidence)
    if expected_reward_hat is None:
        if target is None or reward_hat is None:
            raise ValueError(
                "dm needs expected_reward_hat (sum_a pi_e(a|x_i) q_hat(x_i, a) per round), or target and reward_hat "
                "as full arrays (n, n_actions[, n_positions])"
            )
        v = expected_reward(target, reward_hat, position)
    else:
        v = vector("expected_reward_hat", expected_reward_hat, "sum_a pi_e(a|x_i) q_hat(x_i, a) per round")
    lo, hi = _bootstrap(v, None, n_bootstrap, confidence, rng, _clusters(cluster, len(v)))
    return OPEEstimate(float(v.mean()), lo, hi, "dm", len(v))


def dr(
    reward: ArrayLike,
    propensity: ArrayLike,
    target: ArrayLike,
    reward_hat: ArrayLike,
    expected_reward_hat: ArrayLike | None = None,
    *,
    action: ArrayLike | None = None,
    position: ArrayLike | None = None,
    clip: float | None = None,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    rng: np.random.Generator | int | None = None,
    cluster: ArrayLike | None = None,
) -> OPEEstimate:
    """Doubly robust: ``mean_i [v_hat_i + w_i (r_i - q_hat(x_i, a_i))]`` (Dudík, Langford & Li 2011).

    The reward model's prediction, corrected by importance-weighted residuals: unbiased (without clipping) if the
    propensities are right, whatever the model; low-variance if the model is good. With ``reward_hat = 0`` it is IPS.

    Args:
        reward: observed reward per logged round.
        propensity: the logging policy's probability of the logged action, in (0, 1].
        target: the target policy's probability of the logged action (1-D), or a full action distribution.
        reward_hat: the model's prediction at the logged action ``q_hat(x_i, a_i)`` (1-D), or for every action
            (the shape of a full ``target``).
        expected_reward_hat: ``v_hat_i = sum_a pi_e(a|x_i) q_hat(x_i, a)`` (1-D); computed when ``target`` and
            ``reward_hat`` are both full arrays.
        action: logged action per round (for full arrays).
        position: logged slot per round (for 3-D arrays).
        clip: maximum importance weight (``None``: no clipping).
        n_bootstrap: bootstrap resamples (0: no CI).
        confidence: CI level.
        rng: generator (or seed) for the bootstrap.
        cluster: optional id per round (e.g. the session) for a cluster bootstrap, as in :func:`ips`.

    Returns:
        :class:`OPEEstimate`.

    Raises:
        ValueError: as :func:`ips`, and for a missing or malformed reward model.

    Book: 06_evaluation.ipynb, sec-eval-ope
    """
    n_bootstrap, confidence = check_bootstrap(n_bootstrap, confidence)
    r, _, t_full, _, w = _prepare(reward, propensity, target, action, position, clip)
    q, v = _reward_model(reward_hat, expected_reward_hat, t_full, action, position, len(r))
    terms = v + w * (r - q)
    lo, hi = _bootstrap(terms, None, n_bootstrap, confidence, rng, _clusters(cluster, len(terms)))
    return OPEEstimate(float(terms.mean()), lo, hi, _method("dr", clip), len(r))


_METHODS = ("dm", "ips", "snips", "dr")


def estimate_policy_value(
    reward: ArrayLike,
    propensity: ArrayLike,
    target: ArrayLike,
    reward_hat: ArrayLike | None = None,
    expected_reward_hat: ArrayLike | None = None,
    *,
    action: ArrayLike | None = None,
    position: ArrayLike | None = None,
    methods: Sequence[str] | None = None,
    clip: float | None = None,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    rng: np.random.Generator | int | None = None,
    truth: float | None = None,
    cluster: ArrayLike | None = None,
) -> pd.DataFrame:
    """Run several off-policy estimators on the same logs and tabulate them.

    Args:
        reward, propensity, target, reward_hat, expected_reward_hat, action, position, clip: as in :func:`dr`
            (``clip`` applies to IPS, SNIPS and DR). Without ``reward_hat`` only IPS and SNIPS run.
        methods: subset of ``("dm", "ips", "snips", "dr")`` (default: all that the inputs allow), in that order.
        n_bootstrap: bootstrap resamples per method (0: no CIs).
        confidence: CI level.
        rng: one generator, used by the methods in turn.
        truth: the true value, if known (the shop): adds ``truth`` and ``error`` (estimate − truth) columns.
        cluster: optional id per round (e.g. the session) for a cluster bootstrap, as in :func:`ips`.

    Returns:
        DataFrame indexed by ``method`` with columns ``value, ci_low, ci_high, n`` (``truth, error``).

    Raises:
        ValueError: for an unknown method, DM/DR requested without a reward model, or bad inputs (see :func:`dr`).

    Book: 06_evaluation.ipynb, sec-eval-ope
    """
    if methods is None:
        methods = _METHODS if reward_hat is not None else ("ips", "snips")
    methods = list(methods)
    unknown = [m for m in methods if m not in _METHODS]
    if unknown or not methods:
        raise ValueError(f"methods must be a non-empty subset of {_METHODS}, got {methods!r}")
    if reward_hat is None and {"dm", "dr"} & set(methods):
        raise ValueError("dm and dr need a reward model: pass reward_hat (and expected_reward_hat)")
    n_bootstrap, confidence = check_bootstrap(n_bootstrap, confidence)
    if n_bootstrap:
        rng = check_rng(rng)
    common = dict(n_bootstrap=n_bootstrap, confidence=confidence, rng=rng, cluster=cluster)
    weighted = dict(action=action, position=position, clip=clip, **common)
    rows = []
    for m in sorted(methods, key=_METHODS.index):
        if m == "ips":
            est = ips(reward, propensity, target, **weighted)
        elif m == "snips":
            est = snips(reward, propensity, target, **weighted)
        elif m == "dr":
            est = dr(reward, propensity, target, reward_hat, expected_reward_hat, **weighted)
        else:
            r = vector("reward", reward, _REWARD_WHAT)
            t_full = _full("target", target, _TARGET_WHAT, len(r))
            _, v = _reward_model(reward_hat, expected_reward_hat, t_full, action, position, len(r))
            est = dm(v, **common)
        rows.append(dict(method=m, value=est.value, ci_low=est.ci_low, ci_high=est.ci_high, n=est.n))
    out = pd.DataFrame(rows).set_index("method")
    if truth is not None:
        out["truth"] = float(truth)
        out["error"] = out["value"] - out["truth"]
    return out


def bernoulli_ts_action_dist(
    alpha: ArrayLike,
    beta: ArrayLike,
    len_list: int,
    n_sim: int,
    rng: np.random.Generator | int,
    *,
    batch_size: int = 20_000,
) -> np.ndarray:
    r"""The slot distribution of a Bernoulli Thompson-sampling policy, by Monte Carlo: array ``(n_actions, len_list)``.

    Each simulated round draws one success probability per action, :math:`\theta_a \sim \text{Beta}(\alpha_a,
    \beta_a)`, and lists the ``len_list`` actions with the largest draws, best first. Entry ``[a, s]`` is the share of
    the ``n_sim`` rounds in which action ``a`` was in slot ``s``, so every column sums to 1. This is what
    ``obp.policy.BernoulliTS(...).compute_batch_action_dist(n_sim=...)`` computes for a policy that has not been
    updated yet (its counts are zero, so the posterior is the prior), vectorised; in the Open Bandit Pipeline's
    benchmark the prior is the one ZOZOTOWN used in production (``crt.data.load_open_bandit_prior``). Tile it over
    rounds (``np.broadcast_to(dist, (n, *dist.shape))``) to get ``obp``'s ``action_dist`` layout. The Monte Carlo
    standard error of an entry ``p`` is ``sqrt(p (1 - p) / n_sim)``.

    Args:
        alpha: Beta prior parameters per action, positive, shape ``(n_actions,)``.
        beta: the second Beta parameters, positive, same shape.
        len_list: slots per list (3 in the Open Bandit Dataset), ``1 <= len_list <= n_actions``.
        n_sim: simulated rounds (>= 1).
        rng: a ``numpy.random.Generator`` or an integer seed.
        batch_size: rounds simulated at once (memory: ``16 * batch_size * n_actions`` bytes).

    Returns:
        float64 array ``(n_actions, len_list)``.

    Raises:
        ValueError: for non-positive, non-finite or mismatched ``alpha``/``beta``, or a bad ``len_list``/``n_sim``.

    Book: 06_evaluation.ipynb, sec-eval-obd
    """
    a = vector("alpha", alpha, "one positive Beta parameter per action")
    b = vector("beta", beta, "one positive Beta parameter per action", n=len(a), ref="alpha")
    for name, arr in (("alpha", a), ("beta", b)):
        if (arr <= 0).any():
            raise ValueError(f"{name} must be positive (Beta parameters), got a minimum of {arr.min()!r}")
    n_actions = len(a)
    len_list = check_k(len_list, "len_list")
    if len_list > n_actions:
        raise ValueError(f"len_list={len_list} exceeds the number of actions ({n_actions})")
    n_sim = check_int("n_sim", n_sim, 1, 10**9)
    batch_size = check_k(batch_size, "batch_size")
    gen = as_rng(rng)
    counts = np.zeros(n_actions * len_list, dtype=np.int64)
    slots = np.arange(len_list)
    for start in range(0, n_sim, batch_size):
        m = min(batch_size, n_sim - start)
        draws = gen.beta(a, b, size=(m, n_actions))
        top = np.argpartition(-draws, len_list - 1, axis=1)[:, :len_list]
        order = np.argsort(-np.take_along_axis(draws, top, axis=1), axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)
        counts += np.bincount((top * len_list + slots).ravel(), minlength=n_actions * len_list)
    return counts.reshape(n_actions, len_list) / n_sim


def fit_reward_model(
    context: ArrayLike,
    action: ArrayLike,
    reward: ArrayLike,
    position: ArrayLike | None = None,
    action_context: ArrayLike | None = None,
    *,
    n_actions: int | None = None,
    len_list: int | None = None,
    n_folds: int = 3,
    C: float = 100.0,
    seed: int = 12345,
) -> np.ndarray:
    r"""A cross-fitted logistic-regression reward model :math:`\hat q(x, a, s)` for DM and DR, ``(n, n_actions, L)``.

    The Open Bandit Pipeline's ``RegressionModel`` with ``fitting_method="normal"`` and a scikit-learn
    ``LogisticRegression`` base model, as its OBD benchmark uses it: the features of a round are the context and the
    logged action's context, :math:`[x_i, c_{a_i}]` (or a one-hot of the action when ``action_context`` is None);
    one model per slot (position-wise), fitted on that slot's rounds; *cross-fitting* with ``n_folds`` folds
    (shuffled, ``random_state=seed``): the predictions for the rounds of one fold come from models fitted on the
    other folds, so a round's own reward never enters its prediction. Each model minimises
    :math:`\tfrac12\lVert w\rVert^2 + C \sum_i \text{logloss}_i` (intercept not penalised) with Newton's method
    (``solver="newton-cholesky"``), which reaches the optimum; ``obp``'s script used scikit-learn's default L-BFGS at
    its default tolerance, which can stop short of it. A fold in which a slot has a single reward value gets that
    constant. Predictions use the linearity of the logit: :math:`\text{logit}\,\hat q = x \cdot w_x + c_a \cdot w_c
    + b`, for every action at once.

    Args:
        context: ``(n, d)`` context features per round (e.g. one-hot user features).
        action: ``(n,)`` logged action per round, in ``[0, n_actions)``.
        reward: ``(n,)`` binary rewards (clicks).
        position: ``(n,)`` slot per round in ``[0, len_list)`` (default: all 0).
        action_context: ``(n_actions, d_a)`` features per action (e.g. item features); default a one-hot.
        n_actions: number of actions (default ``len(action_context)`` or ``max(action) + 1``).
        len_list: number of slots (default ``max(position) + 1``).
        n_folds: folds for cross-fitting (1 = fit and predict on all rounds).
        C: inverse L2 penalty of scikit-learn's ``LogisticRegression`` (``obp``'s OBD configuration uses 100).
        seed: ``random_state`` of the fold split.

    Returns:
        float64 array ``(n, n_actions, len_list)`` of predicted click probabilities.

    Raises:
        ValueError: for empty or mismatched inputs, ids outside their ranges, non-binary rewards or bad settings.

    Book: 06_evaluation.ipynb, sec-eval-obd
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import KFold
    from threadpoolctl import threadpool_limits

    r = vector("reward", reward, _REWARD_WHAT)
    n = len(r)
    if not np.isin(r, (0.0, 1.0)).all():
        raise ValueError("reward must be binary (0/1) for a logistic-regression reward model")
    x = float_array("context", context, "context features per round")
    if x.ndim != 2 or x.shape[0] != n:
        raise ValueError(f"length mismatch: context has shape {x.shape} but reward has {n} rounds; expected (n, d)")
    check_finite("context", x, "context features per round")
    if action_context is not None:
        ac = float_array("action_context", action_context, "features per action")
        if ac.ndim != 2:
            raise ValueError(f"action_context must be 2-D (n_actions, d_a), got shape {ac.shape}")
        check_finite("action_context", ac, "features per action")
    raw_a = np.asarray(action)
    if n_actions is None:
        n_actions = len(ac) if action_context is not None else int(raw_a.max()) + 1 if raw_a.size else 1
    n_actions = check_k(n_actions, "n_actions")
    if action_context is None:
        ac = np.eye(n_actions)
    elif len(ac) != n_actions:
        raise ValueError(f"action_context has {len(ac)} rows but n_actions={n_actions}")
    a = index_array("action", action, n, n_actions, "action_context")
    if position is None:
        s = np.zeros(n, dtype=np.int64)
        len_list = 1 if len_list is None else check_k(len_list, "len_list")
    else:
        raw_s = np.asarray(position)
        len_list = (int(raw_s.max()) + 1 if raw_s.size else 1) if len_list is None else check_k(len_list, "len_list")
        s = index_array("position", position, n, len_list, "slot")
    n_folds = check_k(n_folds, "n_folds")
    seed = check_int("seed", seed, 0, 2**32 - 1)
    if n_folds > n:
        raise ValueError(f"n_folds={n_folds} exceeds the {n} rounds")
    C = check_number("C", C, 0.0, None, low_open=True, what="the inverse L2 penalty")
    folds = [(np.arange(n), np.arange(n))] if n_folds == 1 else list(
        KFold(n_folds, shuffle=True, random_state=seed).split(x))
    q = np.empty((n, n_actions, len_list))
    with threadpool_limits(1):  # tiny problems: threads only add overhead on a shared machine
        for train, test in folds:
            for slot in range(len_list):
                rows = train[s[train] == slot]
                y = r[rows]
                if rows.size == 0 or y.min() == y.max():
                    q[test, :, slot] = y.mean() if rows.size else r[train].mean()
                    continue
                model = LogisticRegression(C=float(C), solver="newton-cholesky", max_iter=1000)
                model.fit(np.c_[x[rows], ac[a[rows]]], y)
                w = model.coef_[0]
                logit = (x[test] @ w[: x.shape[1]])[:, None] + (ac @ w[x.shape[1]:])[None, :] + model.intercept_[0]
                q[test, :, slot] = special.expit(logit)
    return q


