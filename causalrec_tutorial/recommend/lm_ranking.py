r"""The language model as a ranker, and randomised experiments on its position bias.
Book: 05_recommendation_generation.ipynb, sec-gen-lm-ranker, sec-gen-lm-position

**An LM ranker.** :func:`lm_rank` scores each candidate title by its log-likelihood after a few-shot prompt that
states the user's interests and lists the candidates (:data:`SHOP_RANK_CANDIDATES`). The list order is itself a
treatment: :func:`lm_position_experiment` shuffles the list at random, records the list position of the item the
LM picks, and :func:`position_effect` estimates the effect of a position on being picked, with a CI from a
bootstrap over cases. ``permutations=n`` averages the scores over ``n`` random orders (a cure for position bias).
:func:`lm_order_scores` is the economical design: each case is scored once under all ``m`` cyclic shifts of a
random order (a Latin square, every candidate at every position once); from that one table
:func:`choices_from_order_scores` gives the single-order ranker (``m`` randomised trials per case), the ranker
averaged over ``q`` orders, and the position-balanced ranker (``q = m``), and
:func:`position_effect_reduction` the share of the position effect that averaging removes (paired bootstrap).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import columns as C
from .._checks import check_bootstrap, check_columns, check_int, float_array
from ..causal import EffectEstimate
from ..config import as_rng
from ..lm import prompts as _prompts
from ..lm.prompts import PromptTemplate

__all__ = [
    "LMRanking", "SHOP_RANK_CANDIDATES", "choices_from_order_scores", "lm_order_scores", "lm_position_experiment",
    "lm_rank", "position_effect", "position_effect_reduction",
]


SHOP_RANK_CANDIDATES = _prompts.SHOP_RANK_CANDIDATES


@dataclasses.dataclass(frozen=True)
class LMRanking:
    """Candidates ranked by an LM.

    Attributes:
        scores: ``(n_candidates,)`` mean log-likelihood per candidate (in the input order).
        order: candidate indices, best first.
        n_orders: how many list orders were scored and averaged (1, or ``permutations``).

    Book: 05_recommendation_generation.ipynb, sec-gen-lm-ranker
    """

    scores: np.ndarray
    order: np.ndarray
    n_orders: int


def _clean_title(title: Any) -> str:
    if not isinstance(title, str) or not title.strip():
        raise ValueError(f"candidate titles must be non-empty strings, got {title!r}")
    return " ".join(title.replace(";", ",").split())


def lm_rank(
    generator: Any,
    interest_summary: str,
    candidate_titles: Sequence[str],
    permutations: int = 0,
    rng: np.random.Generator | int | None = None,
    template: PromptTemplate = SHOP_RANK_CANDIDATES,
) -> LMRanking:
    """Rank candidates by the log-likelihood the LM gives each title after a prompt that lists them all.

    With ``permutations=0`` the list is shown once, in the given order. With ``permutations=n`` it is shown in ``n``
    random orders (drawn from ``rng``) and the scores are averaged: the position of a title in the list then no
    longer decides its score.

    Args:
        generator: anything with ``score(prompt, continuations, prompt_version=...)`` (``crt.lm.TextGenerator``).
        interest_summary: the user's interests in a few words (e.g. ``crt.interest.summarize_interests``).
        candidate_titles: two or more distinct titles.
        permutations: 0, or the number of random orders to average over.
        rng: needed when ``permutations > 0``.
        template: a prompt with fields ``interests`` and ``items``.

    Returns:
        :class:`LMRanking`.

    Raises:
        ValueError: for an empty summary, fewer than two or duplicate titles, negative ``permutations``, or a
            missing ``rng``.

    Book: 05_recommendation_generation.ipynb, sec-gen-lm-ranker
    """
    if not isinstance(interest_summary, str) or not interest_summary.strip():
        raise ValueError("interest_summary must be a non-empty string")
    if isinstance(candidate_titles, str):
        raise ValueError("candidate_titles must be a sequence of titles, not a single string")
    titles = [_clean_title(t) for t in candidate_titles]
    if len(titles) < 2 or len(set(titles)) != len(titles):
        raise ValueError(f"candidate_titles must hold at least two distinct titles, got {titles!r}")
    permutations = check_int("permutations", permutations, 0)
    if permutations and rng is None:
        raise ValueError("rng is needed to draw random list orders (permutations > 0)")
    orders = [np.arange(len(titles))]
    if permutations:
        rng = as_rng(rng)
        orders = [rng.permutation(len(titles)) for _ in range(permutations)]
    conts = [" " + t for t in titles]
    total = np.zeros(len(titles))
    for order in orders:
        prompt = template.render(interests=interest_summary, items=[titles[j] for j in order])
        total += np.asarray(generator.score(prompt, conts, prompt_version=template.version), dtype=np.float64)
    scores = total / len(orders)
    return LMRanking(scores=scores, order=np.argsort(-scores, kind="stable"), n_orders=len(orders))


def _check_cases(cases: Sequence[Any]) -> list[tuple[str, list[str]]]:
    """``(interest_summary, candidate_titles)`` pairs, checked; titles as lists."""
    if not cases:
        raise ValueError("cases is empty")
    out = []
    for c, case in enumerate(cases):
        if not isinstance(case, (tuple, list)) or len(case) != 2:
            raise ValueError(f"case {c} must be (interest_summary, candidate_titles), got {case!r}")
        if isinstance(case[1], (str, bytes)) or not all(isinstance(t, str) for t in case[1]):
            raise TypeError(f"case {c}: candidate_titles must be a sequence of strings, not {case[1]!r:.60}")
        out.append((case[0], list(case[1])))
    return out


def lm_position_experiment(
    generator: Any,
    cases: Sequence[tuple[str, Sequence[str]]],
    n_trials: int,
    rng: np.random.Generator | int,
    template: PromptTemplate = SHOP_RANK_CANDIDATES,
) -> pd.DataFrame:
    """A randomised experiment on the LM ranker: shuffle each case's list, record where the chosen item stood.

    For each case (interest summary, candidate titles) and trial, the list order is a uniformly random permutation;
    the LM "chooses" the candidate with the highest score (:func:`lm_rank`, one order). Because the position of
    every candidate is randomised, comparing choice rates between positions estimates the causal effect of the list
    position on being chosen (:func:`position_effect`).

    Args:
        generator: see :func:`lm_rank`.
        cases: ``(interest_summary, candidate_titles)`` pairs.
        n_trials: shuffles per case (>= 1).
        rng: the randomness of the shuffles.
        template: see :func:`lm_rank`.

    Returns:
        One row per (case, trial, candidate): ``case, trial, candidate`` (index in the case's list), ``position``
        (0-based, in the shuffled list), ``n_candidates``, ``chosen`` (0/1; exactly one per trial).

    Raises:
        ValueError: for no cases, ``n_trials < 1`` or a bad case.

    Book: 05_recommendation_generation.ipynb, sec-gen-lm-position
    """
    n_trials = check_int("n_trials", n_trials, 1)
    rng = as_rng(rng)
    rows = []
    for c, (summary, titles) in enumerate(_check_cases(cases)):
        for trial in range(n_trials):
            perm = rng.permutation(len(titles))  # perm[p] = candidate at position p
            ranking = lm_rank(generator, summary, [titles[j] for j in perm], template=template)
            chosen_pos = int(ranking.order[0])
            for p, j in enumerate(perm):
                rows.append((c, trial, int(j), p, len(titles), int(p == chosen_pos)))
    return pd.DataFrame(rows, columns=["case", "trial", "candidate", C.POSITION, "n_candidates", "chosen"])


def lm_order_scores(
    generator: Any,
    cases: Sequence[tuple[str, Sequence[str]]],
    rng: np.random.Generator | int,
    template: PromptTemplate = SHOP_RANK_CANDIDATES,
) -> pd.DataFrame:
    """Score every case's candidates under all ``m`` cyclic shifts of one random list order (a Latin square).

    For a case with ``m`` candidates a uniformly random order is drawn; order ``r`` (``r = 0 .. m-1``) puts the
    candidate ``base[(p + r) % m]`` at position ``p``. Each candidate then stands at every position exactly once,
    and each single order is still a uniformly random permutation for every candidate's position. One table of
    ``m x m`` scores per case serves three purposes at the cost of ``m`` prompts: the position experiment (each
    order is a randomised trial), the ranker averaged over some orders, and the ranker averaged over all of them
    (position-balanced); see :func:`choices_from_order_scores`.

    Args:
        generator: anything with ``score(prompt, continuations, prompt_version=...)``.
        cases: ``(interest_summary, candidate_titles)`` pairs (two or more distinct titles each).
        rng: the randomness of the base orders.
        template: a prompt with fields ``interests`` and ``items``.

    Returns:
        One row per (case, order, candidate): ``case, order, candidate`` (index in the case's list), ``position``
        (0-based, in that order), ``n_candidates``, ``score`` (the candidate's log-likelihood in that order).

    Raises:
        ValueError: for no cases or a bad case.

    Book: 05_recommendation_generation.ipynb, sec-gen-lm-position
    """
    rng = as_rng(rng)
    rows = []
    for c, (summary, titles) in enumerate(_check_cases(cases)):
        base = rng.permutation(len(titles))
        for r in range(len(titles)):
            order = np.roll(base, -r)  # order[p] = candidate at position p
            listed = [titles[j] for j in order]
            scores = lm_rank(generator, summary, listed, template=template).scores
            for p, j in enumerate(order):
                rows.append((c, r, int(j), p, len(titles), float(scores[p])))
    return pd.DataFrame(rows, columns=["case", "order", "candidate", C.POSITION, "n_candidates", "score"])


def choices_from_order_scores(
    scores: pd.DataFrame,
    n_orders: int = 1,
    rng: np.random.Generator | int | None = None,
) -> pd.DataFrame:
    """The LM ranker's choice in each presented order, with its scores averaged over ``n_orders`` list orders.

    For each case and each presented order ``r`` (a trial), the ranker averages each candidate's score over ``r``
    itself and ``n_orders - 1`` other orders of the case drawn at random without replacement from ``rng``, and
    chooses the best (ties: the lower candidate index). ``n_orders=1``: the plain ranker; ``n_orders=m``: every
    order, so each candidate is scored once at every position and the choice no longer depends on the presented
    order at all (:func:`position_effect` is then 0 by construction).

    Args:
        scores: the output of :func:`lm_order_scores`.
        n_orders: orders averaged per decision, ``1 <= n_orders <= m`` of every case.
        rng: needed when ``1 < n_orders < m``.

    Returns:
        The trials table of :func:`lm_position_experiment` (``case, trial, candidate, position, n_candidates,
        chosen``), ``trial`` being the presented order.

    Raises:
        ValueError: for missing columns, a case that is not a full square, a bad ``n_orders`` or a missing ``rng``.

    Book: 05_recommendation_generation.ipynb, sec-gen-lm-position
    """
    check_columns(scores, "scores", ["case", "order", "candidate", C.POSITION, "score"])
    n_orders = check_int("n_orders", n_orders, 1)
    gen = None if rng is None else as_rng(rng)
    out = []
    for c, df in scores.groupby("case", sort=True):
        m = df["candidate"].nunique()
        if len(df) != m * m or df["order"].nunique() != m:
            raise ValueError(f"case {c} is not a full square of {m} orders x {m} candidates")
        if n_orders > m:
            raise ValueError(f"n_orders={n_orders} exceeds the {m} orders of case {c}")
        S = df.pivot(index="order", columns="candidate", values="score").to_numpy(np.float64)
        if not np.isfinite(S).all():
            raise ValueError(f"scores of case {c} contain NaN or infinite values: a NaN score would win the argmax")
        P = df.pivot(index="order", columns="candidate", values=C.POSITION).to_numpy()
        for r in range(m):
            others = [q for q in range(m) if q != r]
            if 1 < n_orders < m:
                if gen is None:
                    raise ValueError("rng is needed to draw the other orders (1 < n_orders < m)")
                others = list(gen.choice(others, size=n_orders - 1, replace=False))
            used = [r] + others[: n_orders - 1]
            chosen = int(np.argmax(S[used].mean(axis=0)))
            for j in range(m):
                out.append((c, r, j, int(P[r, j]), m, int(j == chosen)))
    return pd.DataFrame(out, columns=["case", "trial", "candidate", C.POSITION, "n_candidates", "chosen"])


def _position_sums(trials: pd.DataFrame, position: int | Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Per case: (chosen at the positions, rows at them, chosen elsewhere, rows elsewhere) ``(4, n_cases)``,
    and the sorted case ids."""
    check_columns(trials, "trials", ["case", C.POSITION, "chosen"])
    positions = [position] if np.isscalar(position) else list(position)
    at = np.isin(trials[C.POSITION].to_numpy(), positions).astype(np.float64)
    if at.sum() == 0 or at.sum() == len(at):
        raise ValueError(f"position {position} must be occupied in some rows and not in others")
    chosen = float_array("trials.chosen", trials["chosen"], "0 or 1: was the candidate at this row picked")
    if not np.isin(chosen, (0.0, 1.0)).all():
        raise ValueError("trials.chosen must hold only 0 and 1 (was the candidate at this row picked)")
    ids, case = np.unique(trials["case"].to_numpy(), return_inverse=True)
    g = len(ids)
    sums = np.stack([np.bincount(case, weights=v, minlength=g)
                     for v in (at * chosen, at, (1 - at) * chosen, 1 - at)])
    return sums, ids


def _effect(s: np.ndarray) -> np.ndarray:
    return s[0] / s[1] - s[2] / s[3]



def position_effect(
    trials: pd.DataFrame,
    position: int | Sequence[int] = 0,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    rng: np.random.Generator | int = 0,
) -> EffectEstimate:
    """Effect of standing at ``position`` on being chosen: P(chosen | at position) − P(chosen | elsewhere).

    Positions are randomised (:func:`lm_position_experiment`, :func:`lm_order_scores`), so the difference is causal.
    With no position effect it is 0 (each candidate is chosen with the same probability wherever it stands).
    ``position`` may be a set of positions (e.g. the last two). The CI is a percentile bootstrap over *cases*
    (trials of one case share its candidates, so they are not independent). Use lists of one length: pooling lists
    of different lengths ``m`` makes the difference slightly non-zero even without a position effect (the rows at a
    position over-represent the short lists, whose candidates are chosen more often).

    Args:
        trials: the output of :func:`lm_position_experiment` or :func:`choices_from_order_scores`
            (``case, position, chosen``).
        position: a list position (0 = first), or several.
        n_bootstrap: bootstrap resamples (>= 1).
        confidence: in (0, 1).
        rng: the bootstrap's randomness.

    Returns:
        ``EffectEstimate`` (method ``"randomised list position, case bootstrap"``).

    Raises:
        ValueError: for missing columns, a position never (or always) occupied, or bad settings.

    Book: 05_recommendation_generation.ipynb, sec-gen-lm-position
    """
    n_bootstrap = check_bootstrap(n_bootstrap, confidence, minimum=1)[0]
    rng = as_rng(rng)
    sums, ids = _position_sums(trials, position)
    g = len(ids)
    value = float(_effect(sums.sum(axis=1)))
    draws = rng.integers(0, g, size=(n_bootstrap, g))
    counts = np.stack([np.bincount(d, minlength=g) for d in draws])  # (B, g)
    boot = _effect(sums @ counts.T)
    with np.errstate(invalid="ignore"):
        lo, hi = np.nanquantile(boot, [(1 - confidence) / 2, (1 + confidence) / 2])
    return EffectEstimate(value=value, ci_low=float(lo), ci_high=float(hi),
                          method="randomised list position, case bootstrap")


def position_effect_reduction(
    before: pd.DataFrame,
    after: pd.DataFrame,
    position: int | Sequence[int] = 0,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    rng: np.random.Generator | int = 0,
) -> EffectEstimate:
    """The share of a position effect that a remedy removes: ``1 - effect(after) / effect(before)``.

    Both trials tables must cover the same cases (e.g. :func:`choices_from_order_scores` with ``n_orders=1`` and
    with more orders, from one score table); the CI is a *paired* percentile bootstrap over cases (the same
    resampled cases for both), so it reflects that the two rankers saw the same lists.

    Args:
        before, after: trials tables (``case, position, chosen``) over the same case ids.
        position: as in :func:`position_effect`.
        n_bootstrap, confidence, rng: as in :func:`position_effect`.

    Returns:
        ``EffectEstimate`` (1 = the effect is gone, 0 = unchanged, negative = larger); all ``nan`` if the effect
        before is exactly 0 (nothing to reduce).

    Raises:
        ValueError: for different case sets, or what :func:`position_effect` rejects.

    Book: 05_recommendation_generation.ipynb, sec-gen-lm-position
    """
    n_bootstrap = check_bootstrap(n_bootstrap, confidence, minimum=1)[0]
    rng = as_rng(rng)
    sb, ids_b = _position_sums(before, position)
    sa, ids_a = _position_sums(after, position)
    if not np.array_equal(ids_b, ids_a):
        raise ValueError("before and after must cover the same cases")
    eb = float(_effect(sb.sum(axis=1)))
    method = "reduction of a position effect, paired case bootstrap"
    if eb == 0:  # nothing to reduce
        return EffectEstimate(value=float("nan"), ci_low=float("nan"), ci_high=float("nan"), method=method)
    value = 1.0 - float(_effect(sa.sum(axis=1))) / eb
    g = len(ids_b)
    draws = rng.integers(0, g, size=(n_bootstrap, g))
    counts = np.stack([np.bincount(d, minlength=g) for d in draws])
    with np.errstate(invalid="ignore", divide="ignore"):
        boot = 1.0 - _effect(sa @ counts.T) / _effect(sb @ counts.T)
        boot = boot[np.isfinite(boot)]
    lo, hi = np.quantile(boot, [(1 - confidence) / 2, (1 + confidence) / 2]) if boot.size else (np.nan, np.nan)
    return EffectEstimate(value=value, ci_low=float(lo), ci_high=float(hi), method=method)


