"""Figures the book shows, drawn with matplotlib only (no graphviz), so that every figure builds offline.
Book: 01_background.ipynb, sec-bg-connect; 04_causal_graphs.ipynb, sec-causal-dag

The one workhorse is :func:`draw_flow`: a left-to-right diagram of a ``networkx.DiGraph``. The same function draws
pipelines (boxes are processing steps) and causal DAGs (boxes are variables), so the book has one visual language.

Node attributes understood by :func:`draw_flow` (all optional):

``label``   text in the box (default: the node's name); long lines are wrapped, ``\n`` starts a new line.
``color``   face colour of the box (default light grey).
``dashed``  ``True`` draws the box outline dashed, e.g. for an unobserved variable in a causal DAG.
``layer``   column to put the node in (default: the longest path to it from a source node).
``row``     vertical position (default: nodes of a column are centred around 0, in insertion order).

Edge attributes (all optional):

``feedback`` ``True`` marks an edge that closes a loop (e.g. "evaluation feeds the next logs"). It is drawn as a
             dashed arc under the diagram and ignored when computing columns, so loops are allowed.
``dashed``   ``True`` draws an ordinary edge dashed.
``label``    short text written at the middle of the edge.
``color``    arrow colour.
"""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import networkx as nx
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.path import Path

__all__ = ["flow_layout", "draw_flow"]

BOX_FACE = "#eeeeee"
EDGE_COLOR = "#444444"


def _forward_graph(graph: nx.DiGraph) -> nx.DiGraph:
    """The graph without its feedback edges."""
    forward = nx.DiGraph()
    forward.add_nodes_from(graph.nodes)
    forward.add_edges_from((u, v) for u, v, d in graph.edges(data=True) if not d.get("feedback", False))
    return forward


def flow_layout(graph: nx.DiGraph) -> dict:
    """Left-to-right positions ``{node: (x, y)}`` for :func:`draw_flow`.

    Column ``x`` is the node's ``layer`` attribute if set, else the length of the longest path that reaches it from
    a source (feedback edges ignored). Within a column, nodes are stacked in insertion order and centred on
    ``y = 0`` unless they carry a ``row`` attribute.

    Args:
        graph: a ``networkx.DiGraph``; the graph without its feedback edges must be acyclic.

    Returns:
        dict mapping each node to an ``(x, y)`` tuple of floats.

    Raises:
        TypeError: if ``graph`` is not a ``networkx.DiGraph``.
        ValueError: if the non-feedback edges form a cycle.

    Book: 01_background.ipynb, sec-bg-connect.
    """
    if not isinstance(graph, nx.DiGraph):
        raise TypeError(f"graph must be a networkx.DiGraph, got {type(graph).__name__}")
    forward = _forward_graph(graph)
    if not nx.is_directed_acyclic_graph(forward):
        cycle = nx.find_cycle(forward)
        raise ValueError(
            f"the graph has a cycle {cycle}; mark the edge that closes the loop with feedback=True"
        )
    layer: dict = {}
    for node in nx.topological_sort(forward):
        preds = [layer[p] for p in forward.predecessors(node)]
        layer[node] = graph.nodes[node].get("layer", max(preds, default=-1) + 1)
    columns: dict = {}
    for node in graph.nodes:  # insertion order
        columns.setdefault(layer[node], []).append(node)
    pos = {}
    for x, nodes in columns.items():
        for i, node in enumerate(nodes):
            default_y = (len(nodes) - 1) / 2 - i
            pos[node] = (float(x), float(graph.nodes[node].get("row", default_y)))
    return pos


def _dip(a, b) -> float:
    """How far a feedback arc between boxes at ``a`` and ``b`` bends below them."""
    return min(max(0.15 * abs(a[0] - b[0]), 0.3), 0.7)


def _crosses_a_box(points, pos, skip, half_w, half_h, margin=0.1) -> bool:
    """Whether any of ``points`` lies inside a box (grown by ``margin``) other than those of the nodes in ``skip``."""
    for node, (x, y) in pos.items():
        if node in skip:
            continue
        for px, py in points:
            if abs(px - x) < half_w + margin and abs(py - y) < half_h + margin:
                return True
    return False


def _detour(pos, u, v, half_w, half_h):
    """The control point of a quadratic curve from ``u`` to ``v`` that avoids every other box, or ``None`` when the
    straight arrow already does. Bends of growing size are tried on both sides, the upper side first."""
    (x0, y0), (x1, y1) = pos[u], pos[v]
    ts = [i / 48 for i in range(1, 48)]
    straight = [(x0 + t * (x1 - x0), y0 + t * (y1 - y0)) for t in ts]
    if not _crosses_a_box(straight, pos, (u, v), half_w, half_h):
        return None
    length = max(((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5, 1e-9)
    nx_, ny_ = -(y1 - y0) / length, (x1 - x0) / length  # unit normal, to the left of u -> v
    if ny_ < 0:
        nx_, ny_ = -nx_, -ny_
    mx, my = (x0 + x1) / 2, (y0 + y1) / 2
    for size in (0.5, 0.8, 1.1, 1.5, 2.0):
        for along in (0.0, 0.3, -0.3):  # the bend's apex at the middle of the chord, or nearer one end
            for sign in (1.0, -1.0):
                control = (mx + along * (x1 - x0) + sign * size * nx_, my + along * (y1 - y0) + sign * size * ny_)
                curve = [((1 - t) ** 2 * x0 + 2 * (1 - t) * t * control[0] + t * t * x1,
                          (1 - t) ** 2 * y0 + 2 * (1 - t) * t * control[1] + t * t * y1) for t in ts]
                if not _crosses_a_box(curve, pos, (u, v), half_w, half_h):
                    return control
    return (mx + 0.8 * nx_, my + 0.8 * ny_)  # no clean route: a visible bend still reads better than a chain


def _border_point(center, target, half_w, half_h):
    """Where the ray from ``center`` towards ``target`` leaves a box of the given half sizes."""
    dx, dy = target[0] - center[0], target[1] - center[1]
    scales = [half_w / abs(dx) if dx else float("inf"), half_h / abs(dy) if dy else float("inf")]
    t = min(scales)
    return center[0] + t * dx, center[1] + t * dy


def draw_flow(
    graph: nx.DiGraph,
    ax: plt.Axes | None = None,
    *,
    pos: dict | None = None,
    box_width: float = 0.8,
    box_height: float = 0.52,
    fontsize: float = 8.5,
    wrap: int = 16,
    title: str | None = None,
) -> plt.Axes:
    """Draw ``graph`` as a left-to-right flow diagram of rounded boxes and arrows.

    Args:
        graph: the diagram; see the module docstring for the node and edge attributes it reads.
        ax: axes to draw into; a new figure sized to the diagram is created if omitted.
        pos: ``{node: (x, y)}`` to override :func:`flow_layout` (one unit = one column / one row).
        box_width: box width in column units (0 < box_width < 1 keeps boxes of adjacent columns apart).
        box_height: box height in row units.
        fontsize: label font size in points.
        wrap: wrap labels at this many characters per line.
        title: optional axes title.

    Returns:
        The ``matplotlib.axes.Axes`` drawn into (axis lines hidden).

    Raises:
        TypeError: if ``graph`` is not a ``networkx.DiGraph``.
        ValueError: if the graph is empty, a size is not positive, ``pos`` misses a node, or the non-feedback
            edges form a cycle.

    Book: 01_background.ipynb, sec-bg-causal, sec-bg-connect.
    """
    if not isinstance(graph, nx.DiGraph):
        raise TypeError(f"graph must be a networkx.DiGraph, got {type(graph).__name__}")
    if graph.number_of_nodes() == 0:
        raise ValueError("graph has no nodes; nothing to draw")
    if not (box_width > 0 and box_height > 0 and fontsize > 0 and wrap > 0):
        raise ValueError("box_width, box_height, fontsize and wrap must all be positive")
    pos = flow_layout(graph) if pos is None else dict(pos)
    missing = [n for n in graph.nodes if n not in pos]
    if missing:
        raise ValueError(f"pos has no position for nodes {missing}")

    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    half_w, half_h = box_width / 2, box_height / 2
    feedback = [(u, v) for u, v, d in graph.edges(data=True) if d.get("feedback", False)]
    arc_bottom = [min(pos[u][1], pos[v][1]) - half_h - _dip(pos[u], pos[v]) for u, v in feedback]
    detours = {(u, v): _detour(pos, u, v, half_w, half_h)
               for u, v, d in graph.edges(data=True) if not d.get("feedback", False)}
    # a quadratic curve reaches half-way from its chord's midpoint to its control point
    bends = [0.5 * c[1] + 0.25 * (pos[u][1] + pos[v][1]) for (u, v), c in detours.items() if c is not None]
    x_lo, x_hi = min(xs) - half_w - 0.1, max(xs) + half_w + 0.1
    y_lo = min([min(ys) - half_h, *arc_bottom, *bends]) - 0.15
    y_hi = max([max(ys) + half_h, *bends]) + 0.1
    if ax is None:
        width = min(1.6 * (x_hi - x_lo) + 0.2, 12.0)  # inches: about 1.6 per column
        height = 1.1 * (y_hi - y_lo) + (0.35 if title else 0.05)
        fig = plt.figure(figsize=(width, height))
        ax = fig.add_axes((0.01, 0.01, 0.98, 0.98 - (0.35 / height if title else 0.0)))

    for node, data in graph.nodes(data=True):
        x, y = pos[node]
        box = FancyBboxPatch(
            (x - half_w, y - half_h),
            box_width,
            box_height,
            boxstyle="round,pad=0.0,rounding_size=0.08",
            facecolor=data.get("color", BOX_FACE),
            edgecolor=EDGE_COLOR,
            linestyle="--" if data.get("dashed", False) else "-",
            linewidth=1.0,
            zorder=2,
        )
        ax.add_patch(box)
        text = str(data.get("label", node))
        label = "\n".join(line for part in text.split("\n") for line in (textwrap.wrap(part, wrap) or [""]))
        ax.text(x, y, label, ha="center", va="center", fontsize=fontsize, zorder=3)

    for u, v, data in graph.edges(data=True):
        color = data.get("color", EDGE_COLOR)
        arrow_kw = dict(arrowstyle="-|>", mutation_scale=12, color=color, linewidth=1.1, zorder=1)
        if data.get("feedback", False):
            # A quadratic Bezier in data coordinates from the bottom of u to the bottom of v, bending downwards.
            start = (pos[u][0], pos[u][1] - half_h)
            end = (pos[v][0], pos[v][1] - half_h)
            dip = _dip(pos[u], pos[v])
            control = ((start[0] + end[0]) / 2, min(start[1], end[1]) - 2 * dip)
            path = Path([start, control, end], [Path.MOVETO, Path.CURVE3, Path.CURVE3])
            arrow = FancyArrowPatch(path=path, linestyle="--", **arrow_kw)
            mid_x, mid_y = control[0], (start[1] + end[1]) / 4 + control[1] / 2
        else:
            style = "--" if data.get("dashed", False) else "-"
            control = detours[(u, v)]
            if control is None:
                start = _border_point(pos[u], pos[v], half_w, half_h)
                end = _border_point(pos[v], pos[u], half_w, half_h)
                arrow = FancyArrowPatch(start, end, linestyle=style, **arrow_kw)
                mid_x, mid_y = (start[0] + end[0]) / 2, (start[1] + end[1]) / 2
            else:  # a straight arrow would cross another box: bend it around
                start = _border_point(pos[u], control, half_w, half_h)
                end = _border_point(pos[v], control, half_w, half_h)
                path = Path([start, control, end], [Path.MOVETO, Path.CURVE3, Path.CURVE3])
                arrow = FancyArrowPatch(path=path, linestyle=style, **arrow_kw)
                mid_x = 0.25 * start[0] + 0.5 * control[0] + 0.25 * end[0]
                mid_y = 0.25 * start[1] + 0.5 * control[1] + 0.25 * end[1]
        ax.add_patch(arrow)
        if data.get("label"):
            ax.text(
                mid_x, mid_y, str(data["label"]), ha="center", va="center", fontsize=fontsize - 1,
                color=color, zorder=3, bbox=dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor="none"),
            )

    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(y_lo, y_hi)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax
