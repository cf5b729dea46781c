r"""DoWhy on the shop: a quiet context, a causal model from a graph, estimators with intervals, refuters.
Book: 04_causal_graphs.ipynb, sec-causal-dowhy, sec-causal-refute

"""

from __future__ import annotations

import contextlib
import logging
import warnings

import networkx as nx
import numpy as np
import pandas as pd

from .. import columns as C
from .._checks import check_int
from .effects import EffectEstimate, att_weighted
from .graphs import check_dag

__all__ = ["causal_model", "dowhy_quiet", "estimate_dowhy", "refute_dowhy"]


@contextlib.contextmanager
def dowhy_quiet():
    """Silence DoWhy's known noise under pandas 3, narrowly (category + message/module), for the block only.

    Filtered: pandas' ``Pandas4Warning``/``FutureWarning``/``DeprecationWarning`` raised from ``dowhy`` modules
    ("The copy keyword is deprecated"), DoWhy's "assumed unobserved" ``UserWarning`` for latent graph nodes, and
    ``RuntimeWarning`` from ``dowhy.causal_refuter`` (a p-value of a single simulation); DoWhy's INFO logging is
    raised to WARNING for the block.

    Book: 04_causal_graphs.ipynb, sec-causal-dowhy
    """
    logger = logging.getLogger("dowhy")
    level = logger.level
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"The copy keyword is deprecated", module=r"dowhy")
        warnings.filterwarnings("ignore", message=r".*assumed unobserved because they are not in the dataset",
                                category=UserWarning, module=r"dowhy")
        warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"dowhy\.causal_refuter")
        logger.setLevel(logging.WARNING)
        try:
            yield
        finally:
            logger.setLevel(level)


def causal_model(data: pd.DataFrame, graph: nx.DiGraph, treatment: str, outcome: str, rename: dict | None = None):
    """A DoWhy ``CausalModel`` for a table and a DAG.

    Args:
        data: the table (e.g. from :func:`shop_frame`); copied, because DoWhy writes columns into its data.
        graph: a DAG; nodes absent from ``data`` are treated by DoWhy as unobserved.
        treatment: treatment column (must be a node after renaming).
        outcome: outcome column.
        rename: optional ``{graph node: column}`` mapping applied to the graph's node names.

    Returns:
        ``dowhy.CausalModel``.

    Raises:
        ValueError: if the graph is not a DAG, lacks the treatment or outcome, or a column is missing.

    Book: 04_causal_graphs.ipynb, sec-causal-dowhy
    """
    from dowhy import CausalModel

    g = nx.relabel_nodes(graph, rename or {}, copy=True)
    check_dag(g, [treatment, outcome])
    missing = [c for c in (treatment, outcome) if c not in data.columns]
    if missing:
        raise ValueError(f"data lacks the columns {missing}")
    g = nx.DiGraph(g.edges)  # DoWhy needs only the structure
    with dowhy_quiet():
        return CausalModel(data=data.copy(), treatment=treatment, outcome=outcome, graph=g)


_METHOD_NAMES = {
    "backdoor.linear_regression": "DoWhy regression adjustment",
    "backdoor.propensity_score_weighting": "DoWhy propensity-score weighting",
    "backdoor.propensity_score_matching": "DoWhy propensity-score matching",
    "backdoor.propensity_score_stratification": "DoWhy propensity-score stratification",
}


def estimate_dowhy(model, estimand, method_name: str, *, target_units: str = "att", method_params: dict | None = None,
                   cluster: str | None = C.SESSION, confidence: float = 0.95, label: str | None = None,
                   effect_modifiers: list[str] | None = None):
    """Run one DoWhy backdoor estimator and attach a confidence interval.

    For propensity-score weighting the interval comes from :func:`att_weighted` with the propensity scores DoWhy
    used (clustered by ``cluster``). Other methods get ``nan`` bounds (DoWhy's bootstrap would refit the model
    hundreds of times).

    Args:
        model: a ``CausalModel`` (see :func:`causal_model`).
        estimand: ``model.identify_effect()``.
        method_name: a DoWhy method name, e.g. ``"backdoor.propensity_score_weighting"``.
        target_units: ``"att"`` (default), ``"ate"`` or ``"atc"``.
        method_params: passed to DoWhy (e.g. ``{"propensity_score_column": "table_propensity"}`` to use logged
            propensities, or ``min_ps_score``/``max_ps_score``; weighting defaults to clipping at ``[1e-6, 1-1e-6]``).
        cluster: column of cluster ids for the interval.
        confidence: level of the interval.
        label: name for :attr:`EffectEstimate.method`.
        effect_modifiers: passed to DoWhy (regression: interactions with the treatment).

    Returns:
        ``(EffectEstimate, dowhy CausalEstimate)``.

    Raises:
        ValueError: for an unknown ``target_units``.

    Book: 04_causal_graphs.ipynb, sec-causal-dowhy
    """
    if target_units not in ("att", "ate", "atc"):
        raise ValueError(f"target_units must be 'att', 'ate' or 'atc', got {target_units!r}")
    params = dict(method_params or {})
    weighting = method_name == "backdoor.propensity_score_weighting"
    if weighting:
        params.setdefault("min_ps_score", 1e-6)
        params.setdefault("max_ps_score", 1 - 1e-6)
    ps_col = params.get("propensity_score_column", "propensity_score")
    with dowhy_quiet():
        est = model.estimate_effect(estimand, method_name=method_name, target_units=target_units,
                                    method_params=params, effect_modifiers=effect_modifiers)
    data = model._data
    value = float(est.value)
    lo = hi = float("nan")
    if weighting and target_units == "att":
        e = np.clip(data[ps_col].to_numpy(float), params["min_ps_score"], params["max_ps_score"])
        t = data[model._treatment[0]].to_numpy()
        res = att_weighted(data[model._outcome[0]].to_numpy(float), t, e / (1 - e),
                           data[cluster].to_numpy() if cluster else None, confidence=confidence)
        lo, hi = res.ci_low + value - res.value, res.ci_high + value - res.value
    if ps_col == "propensity_score" and "propensity_score" in data.columns:
        # DoWhy caches fitted scores in the model's data; drop them so refuters and later calls refit.
        data.drop(columns=["propensity_score"], inplace=True)
    return EffectEstimate(value, lo, hi, label or _METHOD_NAMES.get(method_name, method_name)), est


def refute_dowhy(model, estimand, estimate, method_name: str, rng: np.random.Generator, *,
                 num_simulations: int = 5, **params) -> dict:
    """Run a DoWhy refuter with a seed drawn from ``rng``; return the effect it finds, plain Python values.

    For ``placebo_treatment_refuter``, ``data_subset_refuter`` and ``random_common_cause`` each simulation runs
    separately (seeded from ``rng``), so the result also gives the 2.5–97.5 % range of the simulated effects.

    Args:
        model, estimand, estimate: from :func:`causal_model`, ``identify_effect`` and :func:`estimate_dowhy`
            (the DoWhy ``CausalEstimate``).
        method_name: DoWhy refuter name.
        rng: the randomness (seeds for DoWhy's ``random_seed``).
        num_simulations: simulations per refuter.
        **params: passed to DoWhy's ``refute_estimate``.

    Returns:
        ``{"refuter", "estimate", "new_effect", "low", "high"}``.

    Raises:
        ValueError: if ``rng`` is not a numpy Generator or ``num_simulations < 1``.

    Book: 04_causal_graphs.ipynb, sec-causal-refute
    """
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    check_int("num_simulations", num_simulations)
    per_sim = method_name in ("placebo_treatment_refuter", "data_subset_refuter", "random_common_cause")
    effects = []
    with dowhy_quiet():
        runs = num_simulations if per_sim else 1
        for _ in range(runs):
            kw = dict(params)
            if per_sim:
                kw.update(num_simulations=1, random_seed=int(rng.integers(2**31 - 1)))
            ref = model.refute_estimate(estimand, estimate, method_name=method_name, **kw)
            effects.append(float(np.mean(ref.new_effect)))
            if "propensity_score" in model._data.columns:
                model._data.drop(columns=["propensity_score"], inplace=True)
    arr = np.asarray(effects)
    return {"refuter": method_name, "estimate": float(estimate.value), "new_effect": float(arr.mean()),
            "low": float(np.quantile(arr, 0.025)), "high": float(np.quantile(arr, 0.975))}
