"""Causal graphs of a recommender, DoWhy on the shop's logs, and adjustment for a confounder stated only in text.

Three layers, each usable alone:

**Graphs.** One function per standard recommender DAG (:func:`confounding_dag`, :func:`popularity_dag`,
:func:`mediator_dag`, :func:`collider_dag`, :func:`position_dag`, :func:`text_confounder_dag`,
:func:`recommender_dag`, :func:`logging_dag`). Each returns a ``networkx.DiGraph`` whose node names are the
constants below and whose nodes carry ``label``, ``color`` and ``observed`` attributes, so :func:`draw_dag` can draw
it offline (matplotlib only, through :func:`causalrec_tutorial.plotting.draw_flow`). :func:`check_dag` validates any
graph (acyclic, non-empty, directed, required nodes present) and raises ``ValueError`` otherwise;
:func:`backdoor_paths` and :func:`is_backdoor_adjustment` implement Pearl's backdoor criterion with networkx
d-separation.

**DoWhy on the shop.** :func:`shop_frame` turns :class:`~causalrec_tutorial.world.ShopWorld` logs into one row per
logged (session, item) pair with observed covariates, the logged inclusion probability π and the truth beside them.
The target is the **ATT over pairs the old recommender showed** (what ``world.true_effects().att`` gives): the
not-shown pairs are a uniform sample with one constant ``sample_weight``, which cancels in every ATT estimator below
(they only compare treated pairs with *re-weighted* controls), so the sampled table can be used unweighted. In that
table a pair is shown with probability ``π / (π + (1 - π) / sample_weight)`` — the ``table_propensity`` column — which
makes inverse propensity weighting exact. :func:`causal_model` builds a DoWhy ``CausalModel`` and
:func:`estimate_dowhy` runs one of its estimators, returning an :class:`EffectEstimate` with a confidence interval
(from the linearised, session-clustered variance of the weighting form of the estimator, see :func:`att_weighted`).
:func:`refute_dowhy` runs DoWhy's refuters. :func:`estimate_regression_att` is regression adjustment for the ATT
(an outcome model fitted on the not-shown pairs, a spline in logit π, predicting the shown pairs' Y(0)); it is not
run through DoWhy because DoWhy 0.14's regression estimators average over all rows whatever ``target_units`` says.

**Text.** :func:`reduce_embeddings` turns item text embeddings into a few covariates (PCA, unsupervised, or PLS,
supervised by an observed item-level target such as the item's exposure rate), and :func:`estimate_text_adjusted`
uses them in a logistic propensity model. :func:`simulate_text_confounding` makes a data set on the shop's real item
texts in which a confounder (latent quality) is written only in the text, with the true effect known.

DoWhy 0.14 with pandas 3 warns on every regression (``Pandas4Warning``: "The copy keyword is deprecated") and about
graph nodes missing from the data ("assumed unobserved" — intended here). :func:`dowhy_quiet` silences exactly those,
by category, message and module, inside a ``warnings.catch_warnings`` block; nothing is filtered globally.

Book: 04_causal_graphs.ipynb, sec-causal
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import warnings
from typing import Iterable, Sequence

import networkx as nx
import numpy as np
import pandas as pd
from scipy import special, stats

from . import columns as C
from ._checks import check_int

__all__ = [
    "CLICK", "EXAMINATION", "EXPOSURE", "INTEREST", "ITEM_TEXT", "LOGGED_PROPENSITY", "POPULARITY", "POSITION",
    "PURCHASE", "QUALITY",
    "EffectEstimate",
    "att_weighted",
    "backdoor_paths",
    "causal_model",
    "check_dag",
    "collider_dag",
    "confounding_dag",
    "dowhy_quiet",
    "draw_dag",
    "estimate_dowhy",
    "estimate_regression_att",
    "estimate_text_adjusted",
    "is_backdoor_adjustment",
    "logging_dag",
    "mediator_dag",
    "popularity_dag",
    "position_dag",
    "recommender_dag",
    "reduce_embeddings",
    "refute_dowhy",
    "shop_frame",
    "simulate_text_confounding",
    "text_confounder_dag",
]

# ----- node names (the same everywhere: DAGs, DoWhy graphs, the book's prose) ---------------------------------------
INTEREST = "interest"  # the user's (latent) interest in the item
POPULARITY = "popularity"  # the item's prior sales / prominence
QUALITY = "quality"  # latent item quality
ITEM_TEXT = "item_text"  # title and description (state quality)
EXPOSURE = "exposure"  # recommended / shown by the logging policy (the treatment)
POSITION = "position"  # slot in the list
EXAMINATION = "examination"  # the user looked at the slot
CLICK = "click"
PURCHASE = "purchase"
LOGGED_PROPENSITY = "logged_propensity"  # the old recommender's inclusion probability π (logged)

_COLORS = {"treatment": "#cfe2f3", "outcome": "#d9ead3", "latent": "#fde9c9", "other": "#eeeeee"}
_LABELS = {
    INTEREST: "Interest", POPULARITY: "Popularity", QUALITY: "Quality", ITEM_TEXT: "Item text",
    EXPOSURE: "Exposure (recommended)", POSITION: "Position", EXAMINATION: "Examination", CLICK: "Click",
    PURCHASE: "Purchase", LOGGED_PROPENSITY: "Logged propensity π",
}


def _dag(edges: Iterable[tuple[str, str]], latent: Sequence[str] = (), treatment: str = EXPOSURE,
         outcome: str = PURCHASE) -> nx.DiGraph:
    g = nx.DiGraph()
    for u, v in edges:
        for node in (u, v):
            if node not in g:
                role = ("treatment" if node == treatment else "outcome" if node == outcome
                        else "latent" if node in latent else "other")
                g.add_node(node, label=_LABELS.get(node, node), color=_COLORS[role], observed=node not in latent,
                           dashed=node in latent)
        g.add_edge(u, v)
    g.graph.update(treatment=treatment, outcome=outcome)
    return check_dag(g)


def confounding_dag() -> nx.DiGraph:
    """Interest confounds exposure and purchase: ``interest → exposure → purchase``, ``interest → purchase``.

    Nodes: ``interest`` (latent), ``exposure``, ``purchase``.

    Book: 04_causal_graphs.ipynb, sec-causal-backdoor
    """
    return _dag([(INTEREST, EXPOSURE), (INTEREST, PURCHASE), (EXPOSURE, PURCHASE)], latent=[INTEREST])


def popularity_dag() -> nx.DiGraph:
    """Popularity bias: popular items are shown more *and* bought more without a recommendation.

    Nodes: ``popularity``, ``exposure``, ``purchase``.

    Book: 04_causal_graphs.ipynb, sec-causal-backdoor
    """
    return _dag([(POPULARITY, EXPOSURE), (POPULARITY, PURCHASE), (EXPOSURE, PURCHASE)])


def mediator_dag() -> nx.DiGraph:
    """The click mediates part of the effect: ``exposure → click → purchase`` and ``exposure → purchase``.

    Nodes: ``exposure``, ``click``, ``purchase``.

    Book: 04_causal_graphs.ipynb, sec-causal-mediator
    """
    return _dag([(EXPOSURE, CLICK), (CLICK, PURCHASE), (EXPOSURE, PURCHASE)])


def collider_dag() -> nx.DiGraph:
    """Click is a collider: ``exposure → click ← interest``; interest also drives purchase.

    Nodes: ``exposure``, ``interest`` (latent), ``click``, ``purchase``. Conditioning on click opens
    ``exposure → click ← interest → purchase``.

    Book: 04_causal_graphs.ipynb, sec-causal-collider
    """
    return _dag([(EXPOSURE, CLICK), (INTEREST, CLICK), (INTEREST, PURCHASE), (EXPOSURE, PURCHASE)],
                latent=[INTEREST])


def position_dag() -> nx.DiGraph:
    """Position bias: the slot changes examination, which gates the click; interest sets attraction.

    Nodes: ``popularity``, ``position``, ``examination`` (latent), ``interest`` (latent), ``click``. The
    treatment is ``position`` and the outcome ``click``.

    Book: 04_causal_graphs.ipynb, sec-causal-obd
    """
    return _dag([(POPULARITY, POSITION), (POSITION, EXAMINATION), (EXAMINATION, CLICK), (INTEREST, CLICK),
                 (POPULARITY, CLICK)], latent=[EXAMINATION, INTEREST], treatment=POSITION, outcome=CLICK)


def text_confounder_dag() -> nx.DiGraph:
    """A confounder seen only through text: ``quality → item_text``, ``quality → exposure``, ``quality → purchase``.

    Nodes: ``quality`` (latent), ``item_text``, ``popularity``, ``exposure``, ``purchase``.

    Book: 04_causal_graphs.ipynb, sec-causal-text
    """
    return _dag([(QUALITY, ITEM_TEXT), (QUALITY, POPULARITY), (QUALITY, EXPOSURE), (QUALITY, PURCHASE),
                 (POPULARITY, EXPOSURE), (POPULARITY, PURCHASE), (EXPOSURE, PURCHASE)], latent=[QUALITY])


def recommender_dag() -> nx.DiGraph:
    """The whole recommender: interest, popularity, quality (stated in the item text), exposure, position, click,
    purchase.

    Nodes: ``interest`` (latent), ``quality`` (latent), ``item_text``, ``popularity``, ``exposure``, ``position``,
    ``click``, ``purchase``.

    Book: 04_causal_graphs.ipynb, sec-causal-dag
    """
    return _dag([
        (QUALITY, ITEM_TEXT), (QUALITY, POPULARITY), (INTEREST, EXPOSURE), (POPULARITY, EXPOSURE),
        (QUALITY, EXPOSURE), (EXPOSURE, POSITION), (POSITION, CLICK), (INTEREST, CLICK), (POPULARITY, CLICK),
        (CLICK, PURCHASE), (EXPOSURE, PURCHASE), (INTEREST, PURCHASE), (POPULARITY, PURCHASE), (QUALITY, PURCHASE),
    ], latent=[INTEREST, QUALITY])


def logging_dag() -> nx.DiGraph:
    """The shop's old recommender: interest, popularity and quality set the logged propensity π, which alone sets
    exposure; all three also drive purchase. ``{logged_propensity}`` is a valid backdoor adjustment set.

    Nodes: ``interest`` (latent), ``quality`` (latent), ``popularity``, ``logged_propensity``, ``exposure``,
    ``purchase``.

    Book: 04_causal_graphs.ipynb, sec-causal-dowhy
    """
    return _dag([
        (INTEREST, LOGGED_PROPENSITY), (POPULARITY, LOGGED_PROPENSITY), (QUALITY, LOGGED_PROPENSITY),
        (LOGGED_PROPENSITY, EXPOSURE), (EXPOSURE, PURCHASE), (INTEREST, PURCHASE), (POPULARITY, PURCHASE),
        (QUALITY, PURCHASE),
    ], latent=[INTEREST, QUALITY])


def check_dag(graph, required: Iterable[str] = ()) -> nx.DiGraph:
    """Validate a causal graph and return it.

    Args:
        graph: the graph to check.
        required: node names that must be present (e.g. treatment and outcome).

    Returns:
        The same ``networkx.DiGraph``.

    Raises:
        ValueError: if ``graph`` is not a directed networkx graph (a multigraph or undirected graph included), is
            empty, has a self-loop or a directed cycle, has non-string node names, or lacks a required node.

    Book: 04_causal_graphs.ipynb, sec-causal-dag
    """
    if not isinstance(graph, nx.DiGraph) or isinstance(graph, nx.MultiDiGraph):
        raise ValueError(f"a causal graph must be a networkx.DiGraph, got {type(graph).__name__}")
    if graph.number_of_nodes() == 0:
        raise ValueError("the causal graph has no nodes")
    bad = [n for n in graph.nodes if not isinstance(n, str) or not n]
    if bad:
        raise ValueError(f"node names must be non-empty strings, got {bad}")
    loops = list(nx.selfloop_edges(graph))
    if loops:
        raise ValueError(f"the causal graph has self-loops {loops}; a variable cannot cause itself")
    if not nx.is_directed_acyclic_graph(graph):
        raise ValueError(f"the causal graph has a cycle {nx.find_cycle(graph)}; expected a DAG")
    missing = [n for n in required if n not in graph]
    if missing:
        raise ValueError(f"the causal graph lacks the nodes {missing}; it has {sorted(graph.nodes)}")
    return graph


def draw_dag(graph: nx.DiGraph, ax=None, *, title: str | None = None, pos: dict | None = None, **kwargs):
    """Draw a causal DAG left to right (matplotlib only): latent nodes dashed, treatment blue, outcome green.

    Args:
        graph: a DAG from this module or any DiGraph (see :func:`check_dag`).
        ax: matplotlib axes (a new figure if omitted).
        title: axes title.
        pos: ``{node: (x, y)}`` to override the automatic layout.
        **kwargs: passed to :func:`causalrec_tutorial.plotting.draw_flow`.

    Returns:
        The axes.

    Raises:
        ValueError: if the graph is not a valid DAG.

    Book: 04_causal_graphs.ipynb, sec-causal-dag
    """
    from .plotting import draw_flow

    check_dag(graph)
    return draw_flow(graph, ax, pos=pos, title=title, **kwargs)


def backdoor_paths(graph: nx.DiGraph, treatment: str, outcome: str) -> list[list[str]]:
    """All paths between treatment and outcome (ignoring direction) that start with an arrow *into* the treatment.

    Raises:
        ValueError: if the graph is not a valid DAG or lacks either node.

    Book: 04_causal_graphs.ipynb, sec-causal-backdoor
    """
    check_dag(graph, [treatment, outcome])
    skeleton = graph.to_undirected(as_view=True)
    paths = []
    for path in nx.all_simple_paths(skeleton, treatment, outcome):
        if graph.has_edge(path[1], path[0]):
            paths.append(list(path))
    return sorted(paths, key=lambda p: (len(p), p))


def is_backdoor_adjustment(graph: nx.DiGraph, treatment: str, outcome: str, adjust: Iterable[str]) -> bool:
    """Pearl's backdoor criterion: ``adjust`` holds no descendant of the treatment and blocks every backdoor path.

    Raises:
        ValueError: if the graph is not a valid DAG or lacks a named node.

    Book: 04_causal_graphs.ipynb, sec-causal-backdoor
    """
    adjust = set(adjust)
    check_dag(graph, [treatment, outcome, *adjust])
    if adjust & (nx.descendants(graph, treatment) | {treatment, outcome}):
        return False
    cut = graph.copy()
    cut.remove_edges_from(list(graph.out_edges(treatment)))
    return nx.is_d_separator(cut, {treatment}, {outcome}, adjust)


# ----- estimates ------------------------------------------------------------------------------------------------------


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
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    return float(stats.norm.ppf(0.5 + confidence / 2))


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
    y = np.asarray(y, dtype=float)
    t = np.asarray(t)
    wc = np.asarray(control_weight, dtype=float)
    if not (y.shape == t.shape == wc.shape) or y.ndim != 1:
        raise ValueError(f"y, t and control_weight must be 1-d of equal length, got {y.shape}, {t.shape}, {wc.shape}")
    if not np.isin(t, (0, 1)).all():
        raise ValueError("t must hold only 0 and 1")
    if (wc < 0).any() or not np.isfinite(wc).all():
        raise ValueError("control_weight must be finite and non-negative")
    t = t.astype(bool)
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
        _, inv = np.unique(cluster, return_inverse=True)
        infl = np.bincount(inv, weights=infl)
    g = len(infl)
    se = float(np.sqrt(np.sum(infl**2) * g / max(g - 1, 1)))
    value = m1 - m0
    z = _z(confidence)
    return EffectEstimate(value, value - z * se, value + z * se, method)


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
    missing = [c for c in names if c not in data.columns]
    if missing:
        raise ValueError(f"data lacks the columns {missing}")
    if isinstance(n_knots, bool) or not isinstance(n_knots, (int, np.integer)) or n_knots < 2:
        raise ValueError(f"n_knots must be an integer >= 2, got {n_knots!r}")
    t = data[treatment].to_numpy()
    if not np.isin(t, (0, 1)).all():
        raise ValueError(f"{treatment} must hold only 0 and 1")
    t = t.astype(bool)
    y = data[outcome].to_numpy(float)
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


# ----- the shop's logs as an analysis table ----------------------------------------------------------------------------

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
    effect of being shown on purchase, ``mean_examination × uplift``).

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
    unshown_weight = float(pairs.loc[shown == 0, C.SAMPLE_WEIGHT].max()) if (shown == 0).any() else 1.0
    cat = items[C.CATEGORY].to_numpy()[i]
    pop = items[C.POPULARITY].to_numpy()
    te = world.true_effects(period)
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
        "tau": te.mean_examination * world.uplift[u, i],
    })
    return out


# ----- DoWhy ----------------------------------------------------------------------------------------------------------


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


# ----- text as a confounder proxy --------------------------------------------------------------------------------------


def reduce_embeddings(embeddings, n_components: int = 8, target=None, rng: np.random.Generator | None = None):
    """Reduce item text embeddings to a few covariates.

    Without ``target``: PCA (unsupervised; the directions of largest variance, which in a shop are mostly the
    category). With an item-level ``target`` (e.g. the item's logit exposure rate in the logs, an *observed*
    quantity): partial least squares, the directions of the embedding that covary most with the target.

    Args:
        embeddings: float array ``(n_items, d)``.
        n_components: number of components, ``1 <= n_components <= min(n_items, d)``.
        target: optional float array ``(n_items,)``.
        rng: optional generator (PCA's randomised solver is not used; accepted for a uniform interface).

    Returns:
        float array ``(n_items, n_components)``, each column standardised.

    Raises:
        ValueError: on a non-2-d or non-finite embedding, a bad ``n_components`` or a target of the wrong length.

    Book: 04_causal_graphs.ipynb, sec-causal-text
    """
    from sklearn.cross_decomposition import PLSRegression
    from sklearn.decomposition import PCA

    emb = np.asarray(embeddings, dtype=float)
    if emb.ndim != 2 or not np.isfinite(emb).all():
        raise ValueError(f"embeddings must be a finite 2-d array (n_items, d), got shape {emb.shape}")
    if isinstance(n_components, bool) or not isinstance(n_components, (int, np.integer)) or not (
            1 <= n_components <= min(emb.shape)):
        raise ValueError(f"n_components must be an integer in [1, {min(emb.shape)}], got {n_components!r}")
    if target is None:
        z = PCA(int(n_components), svd_solver="full").fit_transform(emb)
    else:
        target = np.asarray(target, dtype=float)
        if target.shape != (emb.shape[0],):
            raise ValueError(f"target must have shape ({emb.shape[0]},), got {target.shape}")
        z = PLSRegression(int(n_components), scale=False).fit(emb, target).transform(emb)
    return (z - z.mean(axis=0)) / np.maximum(z.std(axis=0), 1e-12)


def _design(data: pd.DataFrame, covariates: Sequence[str]) -> np.ndarray:
    parts = []
    for c in covariates:
        col = data[c]
        if isinstance(col.dtype, pd.CategoricalDtype) or col.dtype == object:
            parts.append(pd.get_dummies(col, prefix=c, drop_first=True).to_numpy(float))
        else:
            x = col.to_numpy(float)
            parts.append(((x - x.mean()) / (x.std() or 1.0))[:, None])
    return np.hstack(parts) if parts else np.zeros((len(data), 0))


def estimate_text_adjusted(data: pd.DataFrame, treatment: str, outcome: str, covariates: Sequence[str] = (), *,
                           item_embeddings=None, item_column: str = C.ITEM, n_components: int = 8,
                           reduction: str = "pls", extra=None, cluster: str | None = None,
                           confidence: float = 0.95, label: str | None = None) -> EffectEstimate:
    """ATT by inverse propensity weighting with a logistic propensity model on covariates plus reduced text.

    The item embeddings are reduced to ``n_components`` covariates by :func:`reduce_embeddings`: ``"pca"``
    (unsupervised) or ``"pls"`` (supervised by each item's logit treatment rate in ``data``, which is observed),
    joined to the rows by ``item_column``, and added to ``covariates`` in a logistic regression of the treatment.
    Controls get weights ``e / (1 - e)``; the interval is from :func:`att_weighted`.

    Args:
        data: one row per unit.
        treatment: 0/1 treatment column.
        outcome: outcome column.
        covariates: observed covariate columns (numeric are standardised, categorical one-hot encoded).
        item_embeddings: ``(n_items, d)`` array indexed by item id, or ``None`` for no text.
        item_column: column of ``data`` holding item ids (``0 .. n_items-1``).
        n_components: text components.
        reduction: ``"pls"`` or ``"pca"``.
        extra: optional ``(n_rows, m)`` array of further covariates (e.g. an oracle's hidden truth).
        cluster: optional cluster column for the interval.
        confidence: level of the interval.
        label: :attr:`EffectEstimate.method`.

    Returns:
        :class:`EffectEstimate`.

    Raises:
        ValueError: on missing columns, a non-binary treatment, an unknown reduction or item ids outside the
            embedding table.

    Book: 04_causal_graphs.ipynb, sec-causal-text
    """
    from sklearn.linear_model import LogisticRegression

    missing = [c for c in (treatment, outcome, *covariates) if c not in data.columns]
    if missing:
        raise ValueError(f"data lacks the columns {missing}")
    if reduction not in ("pls", "pca"):
        raise ValueError(f"reduction must be 'pls' or 'pca', got {reduction!r}")
    t = data[treatment].to_numpy()
    if not np.isin(t, (0, 1)).all():
        raise ValueError(f"{treatment} must hold only 0 and 1")
    x = _design(data, covariates)
    if item_embeddings is not None:
        emb = np.asarray(item_embeddings, dtype=float)
        items = data[item_column].to_numpy()
        if items.min() < 0 or items.max() >= len(emb):
            raise ValueError(f"{item_column} must index the {len(emb)} rows of item_embeddings")
        target = None
        if reduction == "pls":
            n = np.bincount(items, minlength=len(emb))
            k = np.bincount(items, weights=t, minlength=len(emb))
            target = special.logit((k + 0.5) / (n + 1.0))
        z = reduce_embeddings(emb, n_components, target=target)
        x = np.hstack([x, z[items]])
    if extra is not None:
        ex = np.asarray(extra, dtype=float).reshape(len(data), -1)
        x = np.hstack([x, (ex - ex.mean(0)) / np.maximum(ex.std(0), 1e-12)])
    if x.shape[1] == 0:
        x = np.zeros((len(data), 1))
    model = LogisticRegression(C=1e4, max_iter=2000).fit(x, t)
    e = np.clip(model.predict_proba(x)[:, 1], 1e-6, 1 - 1e-6)
    name = label or ("IPW, " + ("+".join(covariates) or "no covariates")
                     + ("" if item_embeddings is None else f" + text ({reduction.upper()} {n_components})"))
    return att_weighted(data[outcome].to_numpy(float), t, e / (1 - e),
                        data[cluster].to_numpy() if cluster else None, confidence=confidence, method=name)


def simulate_text_confounding(world, rng: np.random.Generator, n: int = 60_000, *, effect: float = 0.05,
                              quality_on_treatment: float = 1.2, quality_on_outcome: float = 0.8,
                              ) -> tuple[pd.DataFrame, float]:
    """A data set on the shop's real item texts in which the confounder (latent quality) is stated only in text.

    Units are (user, item) pairs: users from the session distribution, warm items uniformly. An old recommender
    featured items with probability :math:`\\sigma(-1.5 + a_q q_i + 0.6 z_i + 0.8 m_{ui})` (``z`` = standardised log
    popularity, ``m`` = declared-interest match), and the pair was bought with probability
    :math:`\\sigma(-3 + b_q q_i + 0.4 z_i + 1.0 m_{ui}) + \\tau\\,T` with a constant effect :math:`\\tau`. Quality
    :math:`q_i` (hidden; ``world.item_quality``) is in no column but is written in each item's title and description.

    Args:
        world: a :class:`~causalrec_tutorial.world.ShopWorld` (its items, users and hidden quality are used).
        rng: the randomness.
        n: number of pairs.
        effect: the true effect τ (so the true ATT).
        quality_on_treatment: :math:`a_q`.
        quality_on_outcome: :math:`b_q`.

    Returns:
        ``(data, true_att)``; data has ``user_id, item_id, featured, purchase, log_popularity, log_price,
        category, interest_match, quality``.

    Raises:
        ValueError: for a bad ``rng``, ``n < 10`` or an effect outside ``[0, 0.5]``.

    Book: 04_causal_graphs.ipynb, sec-causal-text
    """
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 10:
        raise ValueError(f"n must be an integer >= 10, got {n!r}")
    if not 0 <= effect <= 0.5:
        raise ValueError(f"effect must be in [0, 0.5], got {effect!r}")
    items, users = world.items.iloc[: world.n_items], world.users
    u = rng.choice(world.n_users, size=int(n), p=world.session_weights)
    i = rng.integers(world.n_items, size=int(n))
    q = np.asarray(world.item_quality)[i]
    lp = np.log1p(items[C.POPULARITY].to_numpy(float))
    z = ((lp - lp.mean()) / lp.std())[i]
    cat = items[C.CATEGORY].to_numpy()[i]
    match = (users[C.DECLARED_INTEREST].to_numpy()[u] == cat).astype(float)
    p_t = special.expit(-1.5 + quality_on_treatment * q + 0.6 * z + 0.8 * match)
    t = (rng.random(int(n)) < p_t).astype(np.int64)
    p_y = special.expit(-3.0 + quality_on_outcome * q + 0.4 * z + 1.0 * match) + effect * t
    y = (rng.random(int(n)) < p_y).astype(np.int64)
    data = pd.DataFrame({
        C.USER: u, C.ITEM: i, "featured": t, C.PURCHASE: y, "log_popularity": lp[i],
        "log_price": np.log(items[C.PRICE].to_numpy(float))[i], "category": pd.Categorical(cat),
        "interest_match": match.astype(np.int64), "quality": q,
    })
    return data, float(effect)
