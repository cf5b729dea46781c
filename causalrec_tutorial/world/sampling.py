r"""The old recommender's sampling designs: which ``k`` items a session shows, and every probability of that choice.
Book: 02_the_data.ipynb, sec-shop-logs (the logging policy); appendix_b_intervals.ipynb (joint inclusion).

Two designs realise the same inclusion probabilities :math:`\pi_i` (``sum_i pi_i = k``):

- **systematic** (Madow) sampling in item-id order, the shop's default: one uniform start, ``k`` equally spaced
  points on the cumulated :math:`\pi`. Cheap and exact, but with the order fixed, many pairs of items can never be
  shown together (joint inclusion probability 0), which is harmless for estimators of a mean and fatal for their
  variance estimators and for slate methods.
- **conditional Poisson** sampling (CPS, maximum entropy; Hájek 1964; Chen, Dempster & Liu 1994): independent
  Bernoulli draws with odds :math:`w_i`, conditioned on exactly ``k`` successes, so
  :math:`P(S) \propto \prod_{i \in S} w_i`. The odds are fitted so that the inclusion probabilities are exactly
  :math:`\pi`; every pair then has a positive joint inclusion probability
  :math:`\pi_{ij} = w_i w_j\, e_{k-2}(w_{-ij}) / e_k(w)`, where :math:`e_r` is the elementary symmetric polynomial of
  degree ``r``. Sessions are drawn item by item: with ``r`` items still to pick from items ``t..n-1``, item ``t`` is
  taken with probability :math:`w_t\, e_{r-1}(w_{t+1:}) / e_r(w_{t:})`.

All probabilities here are exact (no Monte Carlo): :func:`cps_slot_probabilities` gives P(item in slot s) when the
logger ranks the chosen items by its score, :func:`cps_joint_inclusion` and :func:`systematic_joint_inclusion` the
``(n, n)`` joint inclusion matrix of one user.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .draws import (
    capped_inclusion,
    read_only,
    systematic_sets,
    systematic_slot_probabilities,
)
from .params import PERIODS

__all__: list[str] = []  # helpers of world.shop, not part of the public API


def _prefix_items_first(wt: np.ndarray, k: int) -> np.ndarray:
    """``out[t, ..., r]`` = e_r(items 0..t-1) for items-first odds ``wt`` ``(n, ...)``."""
    n = wt.shape[0]
    out = np.zeros((n + 1, *wt.shape[1:], k + 1))
    out[0, ..., 0] = 1.0
    for t in range(n):  # each step writes one contiguous block
        out[t + 1] = out[t]
        out[t + 1, ..., 1:] += wt[t, ..., None] * out[t, ..., :-1]
    return out


def _esp_prefix(w: np.ndarray, k: int) -> np.ndarray:
    """``out[..., t, r]`` = e_r(w[..., :t]) for t = 0..n, r = 0..k (elementary symmetric polynomials of prefixes)."""
    return np.moveaxis(_prefix_items_first(np.moveaxis(w, -1, 0), k), 0, -2)


def _esp_suffix(w: np.ndarray, k: int) -> np.ndarray:
    """``out[..., t, r]`` = e_r(w[..., t:]) for t = 0..n, r = 0..k."""
    return _esp_prefix(w[..., ::-1], k)[..., ::-1, :]


def _esp_without_each(w: np.ndarray, k: int, degree: int) -> tuple[np.ndarray, np.ndarray]:
    """(e_degree(w without item i) for every item i, e_k(w)), from prefix and suffix polynomials (no subtraction,
    so no cancellation)."""
    wt = np.ascontiguousarray(np.moveaxis(w, -1, 0))
    pre = _prefix_items_first(wt, k)
    suf = _prefix_items_first(wt[::-1], k)[::-1]
    out = np.zeros(wt.shape)
    for a in range(degree + 1):
        out += pre[:-1, ..., a] * suf[1:, ..., degree - a]
    return np.moveaxis(out, 0, -1), pre[-1, ..., k]


def cps_inclusion(w: np.ndarray, k: int) -> np.ndarray:
    """Inclusion probabilities of conditional Poisson sampling of ``k`` items with odds ``w`` (last axis: items)."""
    without, total = _esp_without_each(w, k, k - 1)
    return w * without / total[..., None]


def cps_odds(pi: np.ndarray, k: int, tol: float = 1e-11, max_iter: int = 100) -> np.ndarray:
    """The odds ``w`` whose conditional Poisson design has inclusion probabilities ``pi`` (rows sum to ``k``).

    Fixed-point iteration on the odds, ``w <- w * odds(pi) / odds(pi(w))``, from ``w = pi / (1 - pi)`` (Chen,
    Dempster & Liu 1994; Tillé 2006, *Sampling Algorithms*, §5.6), which converges in about ten steps for most
    rows; rows it leaves unconverged (several probabilities close to 1 make it oscillate) are finished by damped
    Newton steps on the log-odds, whose Jacobian is the design's covariance ``pi_ij - pi_i pi_j``. Rows are rescaled
    to a geometric mean of 1 so that the polynomials stay in range.

    Raises:
        ValueError: if a probability is not in (0, 1), the polynomials overflow (very large ``k``), or a row does not
            reach ``tol``.
    """
    pi = np.asarray(pi, dtype=float)
    if not ((pi > 0) & (pi < 1)).all():
        raise ValueError("conditional Poisson sampling needs every inclusion probability in (0, 1)")
    w = pi / (1 - pi)
    for _ in range(max_iter):
        w = w / np.exp(np.log(w).mean(axis=-1, keepdims=True))
        got = cps_inclusion(w, k)
        if not np.isfinite(got).all():
            raise ValueError(f"conditional Poisson sampling overflows for k={k} of {pi.shape[-1]} items; use "
                             "logging_sampling='systematic'")
        bad = np.abs(got - pi).max(axis=-1) >= tol
        if not bad.any():
            return w
        w = np.where(bad[..., None], w * (pi / (1 - pi)) / (got / (1 - got)), w)
    for row in zip(*np.nonzero(bad)) if w.ndim > 1 else [()]:
        w[row] = _newton_odds(pi[row], w[row], k, tol)
    return w


def _newton_odds(pi: np.ndarray, w: np.ndarray, k: int, tol: float, max_iter: int = 50) -> np.ndarray:
    """Damped Newton steps on one row's log-odds (the Jacobian is singular along a common shift: least squares)."""
    lam = np.log(w)
    err = np.abs(cps_inclusion(np.exp(lam), k) - pi).max()
    for _ in range(max_iter):
        if err < tol:
            return np.exp(lam - lam.mean())
        w = np.exp(lam - lam.mean())
        joint = cps_joint_inclusion(w, k)
        got = np.diag(joint).copy()
        jac = joint - np.outer(got, got)
        np.fill_diagonal(jac, got * (1 - got))
        step = np.linalg.lstsq(jac, pi - got, rcond=None)[0]
        for damping in 0.5 ** np.arange(20):
            trial = lam + damping * step
            trial_err = np.abs(cps_inclusion(np.exp(trial - trial.mean()), k) - pi).max()
            if np.isfinite(trial_err) and trial_err < err:
                lam, err = trial, trial_err
                break
        else:
            break
    if err >= tol:
        raise ValueError(f"conditional Poisson odds did not converge (max error {err:.2e})")
    return np.exp(lam - lam.mean())


def cps_sample(users: np.ndarray, w: np.ndarray, suffix: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` distinct items per session (in item-id order) by sequential conditional Poisson draws.

    Args:
        users: ``(n_sessions,)`` the row of ``w`` each session uses.
        w: ``(n_users, n)`` odds; ``suffix``: their suffix polynomials (:func:`_esp_suffix`).
        k: items per session.
        rng: the randomness (one uniform per session and item).
    """
    n_s, n = len(users), w.shape[1]
    out = np.empty((n_s, k), dtype=np.int64)
    left = np.full(n_s, k)
    rows = np.arange(n_s)
    for t in range(n):
        u = rng.random(n_s)
        active = left > 0
        r = np.maximum(left, 1)
        p = w[users, t] * suffix[users, t + 1, r - 1] / suffix[users, t, r]
        take = active & (u < p)
        out[rows[take], k - left[take]] = t
        left = left - take
    if (left != 0).any():  # cannot happen with exact polynomials; guard against round-off at the last items
        raise RuntimeError("conditional Poisson sampling ended with a short list")
    return out


def cps_slot_probabilities(w: np.ndarray, score: np.ndarray, k: int) -> np.ndarray:
    """Exact P(item i in slot s) when conditional Poisson sampling picks k items and they are ranked by ``score``.

    Item ``i`` is in slot ``s`` when it is chosen with exactly ``s`` of the items scored above it:
    ``w_i e_s(above) e_{k-1-s}(below) / e_k(w)``. Ties go to the lower item id, as in the simulation.

    Returns:
        float64 ``(n_users, n, k)``.
    """
    n_users, n = w.shape
    order = np.lexsort((np.broadcast_to(np.arange(n), (n_users, n)), -score), axis=1)
    ws = np.take_along_axis(w, order, axis=1)
    pre, suf = _esp_prefix(ws, k), _esp_suffix(ws, k)
    total = pre[:, -1, k][:, None]
    sorted_probs = np.stack([ws * pre[:, :-1, s] * suf[:, 1:, k - 1 - s] / total for s in range(k)], axis=2)
    out = np.empty_like(sorted_probs)
    np.put_along_axis(out, order[:, :, None], sorted_probs, axis=1)
    return out


def cps_joint_inclusion(w: np.ndarray, k: int) -> np.ndarray:
    """The ``(n, n)`` joint inclusion probabilities of one user's conditional Poisson design (diagonal = ``pi``)."""
    w = np.asarray(w, dtype=float)
    n = len(w)
    if k < 2:  # one item per session: no two are ever shown together
        return np.diag(cps_inclusion(w, k))
    deleted = np.broadcast_to(w, (n, n)).copy()
    deleted[np.arange(n), np.arange(n)] = 0.0  # row i: the odds without item i
    without_two, _ = _esp_without_each(deleted, k, k - 2)  # [i, j] = e_{k-2}(w without i and j)
    total = _esp_prefix(w, k)[-1, k]
    joint = np.outer(w, w) * without_two / total
    np.fill_diagonal(joint, cps_inclusion(w, k))
    return joint


def systematic_joint_inclusion(cumulative: np.ndarray, k: int) -> np.ndarray:
    """The ``(n, n)`` joint inclusion probabilities of systematic sampling on one user's cumulated ``pi``.

    As the start runs over [0, 1) the chosen set changes only where it passes the fractional part of a cumulative
    sum, so the design has at most n + 1 sets, each with the length of its stretch as probability.
    """
    chosen, lengths = systematic_sets(cumulative, k)
    member = np.zeros((len(lengths), len(cumulative)))
    np.put_along_axis(member, chosen, 1.0, axis=1)
    return member.T @ (lengths[:, None] * member)


def logging_design(world: Any) -> dict[str, Any]:
    """The old recommender of a :class:`~causalrec_tutorial.world.ShopWorld`, per period: its inclusion
    probabilities, the arrays its sampling design draws from and, with ranked slots, its score and the exact
    per-slot probabilities (the equations are in the world package docstring).

    Returns:
        The private attributes the world keeps: ``_inclusion``, ``_cumulative`` (systematic sampling's cumulated
        probabilities, all users end to end), ``_odds`` and ``_odds_suffix`` (conditional Poisson; only for periods
        with more items than slots), ``_score`` and ``_slot_probs`` (ranked slots only), ``_cps``, ``_ranked``.
    """
    p, k = world.params, world.k
    cps, ranked = p.logging_sampling == "conditional_poisson", p.logging_order == "ranked"
    out: dict[str, Any] = {"_cps": cps, "_ranked": ranked, "_inclusion": {}, "_cumulative": {}, "_odds": {},
                           "_odds_suffix": {}, "_score": {}, "_slot_probs": {}}
    pop = np.log1p(world._popularity.astype(float))
    qual = world._quality.copy()
    if world.n_cold_items:  # the old recommender knows nothing about new arrivals: median popularity, mean quality
        pop[world._cold] = np.median(pop[~world._cold])
        qual[world._cold] = 0.0
    for period in PERIODS:
        n = world.n_available(period)
        score = (
            p.logging_popularity * pop[None, :n]
            + p.logging_quality * qual[None, :n]
            + p.logging_interest * (world._affinity[:, :n] + p.logging_interest_noise * world._policy_noise[:, :n])
        )
        if world._hidden_taste is not None:
            score = score + p.hidden_taste_logging * world._hidden_taste[:, :n]
        pi = (1.0 - p.logging_exploration) * capped_inclusion(score, k) + p.logging_exploration * k / n
        pi = np.minimum(pi, 1.0)
        out["_inclusion"][period] = read_only(pi)
        cum = np.minimum(np.cumsum(pi, axis=1), k)
        cum[:, -1] = k
        if cps and k < n:  # with k = n every item is shown: the design is trivial, and systematic sampling is it
            out["_odds"][period] = read_only(cps_odds(pi, k))
            out["_odds_suffix"][period] = read_only(_esp_suffix(out["_odds"][period], k))
        if ranked:
            out["_score"][period] = read_only(score)
            out["_slot_probs"][period] = read_only(
                cps_slot_probabilities(out["_odds"][period], score, k) if period in out["_odds"]
                else systematic_slot_probabilities(cum, score, k)
            )
        out["_cumulative"][period] = (cum + k * np.arange(world.n_users)[:, None]).ravel()
    return out
