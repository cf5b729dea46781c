import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402
import pytest  # noqa: E402

from causalrec_tutorial import plotting  # noqa: E402


def _chain():
    g = nx.DiGraph()
    g.add_edges_from([("logs", "causal"), ("causal", "decision"), ("logs", "decision")])
    return g


def test_flow_layout_puts_each_node_after_its_longest_path():
    pos = plotting.flow_layout(_chain())
    assert [pos[n][0] for n in ("logs", "causal", "decision")] == [0.0, 1.0, 2.0]


def test_flow_layout_stacks_nodes_of_one_column_around_zero():
    g = nx.DiGraph([("a", "b"), ("a", "c")])
    pos = plotting.flow_layout(g)
    assert pos["b"][0] == pos["c"][0] == 1.0
    assert pos["b"][1] == -pos["c"][1] != 0


def test_cycle_is_rejected_unless_marked_as_feedback():
    g = _chain()
    g.add_edge("decision", "logs")
    with pytest.raises(ValueError, match="feedback=True"):
        plotting.flow_layout(g)
    g.edges["decision", "logs"]["feedback"] = True
    assert set(plotting.flow_layout(g)) == set(g.nodes)


def test_draw_flow_draws_every_node_and_validates_input():
    fig, ax = plt.subplots()
    plotting.draw_flow(_chain(), ax=ax)
    texts = {t.get_text().replace("\n", " ") for t in ax.texts}
    assert {"logs", "causal", "decision"} <= texts
    plt.close(fig)
    with pytest.raises(TypeError):
        plotting.draw_flow(nx.Graph([("a", "b")]))
    with pytest.raises(ValueError, match="no nodes"):
        plotting.draw_flow(nx.DiGraph())
    with pytest.raises(ValueError, match="no position"):
        plotting.draw_flow(_chain(), pos={"logs": (0, 0)})


def test_an_edge_that_would_cross_a_box_is_bent_around_it():
    from matplotlib.path import Path

    fig, ax = plt.subplots()
    plotting.draw_flow(_chain(), ax=ax)  # logs -> decision skips the causal box in the same row
    curved = [p for p in ax.patches if hasattr(p, "get_path") and type(p).__name__ == "FancyArrowPatch"
              and Path.CURVE3 in (p._path_original.codes if p._path_original is not None
                                  and p._path_original.codes is not None else [])]
    assert len(curved) == 1
    y_lo, y_hi = ax.get_ylim()
    top = max(v[1] for v in curved[0]._path_original.vertices)
    assert 0 < 0.5 * top < y_hi  # the curve's apex (half-way to its control point) is inside the axes
    plt.close(fig)
    assert plotting._detour({"a": (0, 0), "b": (1, 0)}, "a", "b", 0.4, 0.26) is None  # neighbours: straight
    control = plotting._detour({"a": (0, 0), "b": (1, 0), "c": (2, 0)}, "a", "c", 0.4, 0.26)
    assert control is not None and control[1] > 0.26  # bent above the box in between
