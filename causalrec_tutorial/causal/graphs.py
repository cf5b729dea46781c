r"""Causal graphs of a recommender: one function per standard DAG, a validator, drawing, the backdoor criterion.
Book: 04_causal_graphs.ipynb, sec-causal-dag, sec-causal-backdoor, sec-causal-mediator, sec-causal-collider

"""

from __future__ import annotations

from typing import Iterable, Sequence

import networkx as nx

__all__ = [
    "CLICK", "EXAMINATION", "EXPOSURE", "INTEREST", "ITEM_TEXT", "LOGGED_PROPENSITY", "POPULARITY", "POSITION",
    "PROMINENCE", "PURCHASE", "QUALITY", "backdoor_paths", "check_dag", "collider_dag", "confounding_dag", "draw_dag",
    "is_backdoor_adjustment", "logging_dag", "mediator_dag", "popularity_dag", "position_dag", "recommender_dag",
    "text_confounder_dag",
]


INTEREST = "interest"  # the user's (latent) interest in the item
POPULARITY = "popularity"  # the item's prior sales (observed)
PROMINENCE = "prominence"  # latent brand awareness: drives prior sales, attraction and organic discovery
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
    INTEREST: "Interest", POPULARITY: "Popularity", PROMINENCE: "Prominence", QUALITY: "Quality", ITEM_TEXT: "Item text",
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
    g = _dag([(QUALITY, ITEM_TEXT), (QUALITY, POPULARITY), (QUALITY, EXPOSURE), (QUALITY, PURCHASE),
              (POPULARITY, EXPOSURE), (POPULARITY, PURCHASE), (EXPOSURE, PURCHASE)], latent=[QUALITY])
    # a hand layout: the text sits above, off every other arrow, so that no arrow seems to leave it but its own
    for node, (x, y) in {QUALITY: (0, 1.0), ITEM_TEXT: (1, 2.2), POPULARITY: (0, -1.0), EXPOSURE: (1.5, 0),
                         PURCHASE: (3, 0)}.items():
        g.nodes[node].update(layer=x, row=y)
    return g


def recommender_dag() -> nx.DiGraph:
    """The simulated shop as a causal graph: the edges are the equations of :mod:`causalrec_tutorial.world`.

    Nodes: ``interest``, ``quality``, ``prominence`` and ``examination`` (latent); ``item_text``, ``popularity``,
    ``exposure``, ``position``, ``click``, ``purchase``. Quality is written in the item text and, with prominence
    (brand awareness), drives prior sales (``popularity``); the old recommender scores popularity, quality and
    interest; a shown item gets a slot, the slot sets examination, and an examined item is clicked and bought
    according to interest, quality and prominence (attraction and organic awareness). There is no click → purchase
    edge: the simulator draws a slot's click and its induced purchase from one shared uniform, so they are
    correlated through the examined slot, but forcing a click would not cause a purchase.

    Book: 04_causal_graphs.ipynb, sec-causal-dag
    """
    g = _dag([
        (QUALITY, ITEM_TEXT), (QUALITY, POPULARITY), (PROMINENCE, POPULARITY), (INTEREST, EXPOSURE),
        (POPULARITY, EXPOSURE), (QUALITY, EXPOSURE), (EXPOSURE, POSITION), (POSITION, EXAMINATION),
        (EXAMINATION, CLICK), (EXAMINATION, PURCHASE), (INTEREST, CLICK), (QUALITY, CLICK), (PROMINENCE, CLICK),
        (INTEREST, PURCHASE), (QUALITY, PURCHASE), (PROMINENCE, PURCHASE),
    ], latent=[INTEREST, QUALITY, PROMINENCE, EXAMINATION])
    # a hand layout (column, row): the treatment chain in the middle row, item traits above and below, outcomes right
    for node, (x, y) in {ITEM_TEXT: (0, 1.9), QUALITY: (1, 1.9), INTEREST: (3, 1.9), POPULARITY: (1, 0),
                         PROMINENCE: (1, -1.9), EXPOSURE: (2, 0), POSITION: (3, 0), EXAMINATION: (4, 0),
                         CLICK: (5.4, 1.0), PURCHASE: (5.4, -1.0)}.items():
        g.nodes[node].update(layer=x, row=y)
    return g


def logging_dag() -> nx.DiGraph:
    """The shop's old recommender: interest, popularity and quality set the logged propensity π, which alone sets
    exposure; interest, quality and prominence (which also drives popularity) drive purchase.
    ``{logged_propensity}`` is a valid backdoor adjustment set.

    Nodes: ``interest``, ``quality``, ``prominence`` (latent), ``popularity``, ``logged_propensity``, ``exposure``,
    ``purchase``.

    Book: 04_causal_graphs.ipynb, sec-causal-dowhy
    """
    return _dag([
        (INTEREST, LOGGED_PROPENSITY), (POPULARITY, LOGGED_PROPENSITY), (QUALITY, LOGGED_PROPENSITY),
        (PROMINENCE, POPULARITY), (QUALITY, POPULARITY), (LOGGED_PROPENSITY, EXPOSURE), (EXPOSURE, PURCHASE), (INTEREST, PURCHASE),
        (PROMINENCE, PURCHASE), (QUALITY, PURCHASE),
    ], latent=[INTEREST, QUALITY, PROMINENCE])


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
    from ..plotting import draw_flow

    check_dag(graph)
    return draw_flow(graph, ax, pos=pos, title=title, **kwargs)


def backdoor_paths(graph: nx.DiGraph, treatment: str, outcome: str) -> list[list[str]]:
    """All paths between treatment and outcome (ignoring direction) that start with an arrow *into* the treatment.

    Raises:
        ValueError: if the graph is not a valid DAG or lacks either node.

    Book: 04_causal_graphs.ipynb, sec-causal-backdoor
    """
    for name, node in (("treatment", treatment), ("outcome", outcome)):
        if not isinstance(node, str) or (isinstance(graph, nx.DiGraph) and node not in graph):
            nodes = sorted(graph.nodes) if isinstance(graph, nx.DiGraph) else "?"
            raise ValueError(f"{name} must be a node of the graph, got {node!r}; its nodes: {nodes}")
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
