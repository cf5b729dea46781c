"""Tests for causalrec_tutorial.interest: serialisation, pooling, agreement, LM summaries, the sequence model."""

import json

import numpy as np
import pandas as pd
import pytest

from causalrec_tutorial import columns as C
from causalrec_tutorial import interest

T0 = pd.Timestamp("2024-03-04")


def _events():
    return pd.DataFrame({
        C.USER: [0, 0, 0, 0],
        C.ITEM: [2, 0, 1, 1],
        C.EVENT: ["view", "click", "click", "purchase"],
        C.TIMESTAMP: [T0, T0 + pd.Timedelta(days=3), T0 + pd.Timedelta(days=9), T0 + pd.Timedelta(days=9)],
    })


TITLES = {0: 'The "Best" Mug', 1: "Trail\nShoes\t (v2)\\x", 2: "Café  Crème " + "long " * 30}


# ----- serialisation ---------------------------------------------------------------------------------------------

def test_serialize_is_deterministic_and_ordered():
    ev = _events()
    a = interest.serialize_history(ev, TITLES)
    b = interest.serialize_history(ev.sample(frac=1, random_state=1), pd.Series(TITLES))
    assert a == b
    lines = a.split("\n")
    assert len(lines) == 4
    assert lines[0].startswith("1. bought ") and lines[0].endswith(", today")  # newest first, purchase before click
    assert lines[1].startswith("2. clicked ") and lines[2].endswith("6 days ago") and lines[3].endswith("9 days ago")


def test_serialize_escapes_odd_titles():
    text = interest.serialize_history(_events(), TITLES)
    assert len(text.split("\n")) == 4  # the newline and tab inside a title do not break the layout
    quoted = [line.split(" ", 2)[2].rsplit(",", 1)[0] for line in text.split("\n")]
    decoded = [json.loads(q) for q in quoted]  # every title is a valid JSON string literal
    assert 'The "Best" Mug' in decoded
    assert "Trail Shoes (v2)\\x" in decoded
    long = next(d for d in decoded if d.startswith("Café"))
    assert long.endswith("…") and len(long) <= 80


def test_serialize_options_and_errors():
    ev = _events()
    no_views = interest.serialize_history(ev, TITLES, include_views=False)
    assert "viewed" not in no_views and len(no_views.split("\n")) == 3
    assert len(interest.serialize_history(ev, TITLES, max_events=2).split("\n")) == 2
    assert interest.serialize_history(ev.iloc[:0], TITLES) == "(no recorded activity)"
    with pytest.raises(ValueError, match="item id 2 has no title"):
        interest.serialize_history(ev, {0: "a", 1: "b"})
    with pytest.raises(ValueError, match="max_events"):
        interest.serialize_history(ev, TITLES, max_events=0)
    with pytest.raises(ValueError, match="lacks column"):
        interest.serialize_history(ev.drop(columns=C.EVENT), TITLES)


def test_clean_title():
    assert interest.clean_title("  a\x00b\r\nc  ") == "a b c"
    assert interest.clean_title("") == "(untitled)"
    with pytest.raises(TypeError):
        interest.clean_title(3)


# ----- pooling ---------------------------------------------------------------------------------------------------

E = np.array([[1.0, 0.0], [0.0, 1.0], [0.8, 0.6], [-1.0, 0.0]])


def test_pool_mean_and_recency_by_hand():
    assert np.allclose(interest.pool_mean([0, 1, 1], E), [1 / 3, 2 / 3])
    assert np.allclose(interest.pool_mean([0, 1], E, weights=[3, 1]), [0.75, 0.25])
    # default ages 1, 0 -> weights 0.5, 1 with half-life 1
    assert np.allclose(interest.pool_recency([0, 1], E, half_life=1.0), [1 / 3, 2 / 3])
    assert np.allclose(interest.pool_recency([0, 1], E, half_life=2.0, ages=[2.0, 0.0]), [1 / 3, 2 / 3])


@pytest.mark.parametrize("pool", [interest.pool_mean, interest.pool_recency, interest.pool_multi])
def test_pooling_an_empty_history_raises(pool):
    with pytest.raises(ValueError, match="empty"):
        pool([], E)


@pytest.mark.parametrize("pool", [interest.pool_mean, interest.pool_recency, interest.pool_multi])
def test_unknown_item_id_is_named(pool):
    with pytest.raises(ValueError, match="unknown item id 17"):
        pool([0, 17, 1], E)
    with pytest.raises(ValueError, match="unknown item id -1"):
        pool([-1], E)


def test_interest_vectors_names_unknown_id_and_handles_users():
    ev = pd.DataFrame({C.USER: [0, 2], C.ITEM: [0, 9], C.EVENT: ["click", "click"]})
    with pytest.raises(ValueError, match="unknown item id 9"):
        interest.interest_vectors(ev, E)
    ev = pd.DataFrame({C.USER: [0, 0, 2, 2], C.ITEM: [0, 1, 3, 2], C.EVENT: ["click", "view", "purchase", "view"]})
    U = interest.interest_vectors(ev, E, "mean", n_users=4)
    assert U.shape == (4, 2) and np.all(U[[1, 3]] == 0)
    assert np.allclose(U[0], (1.0 * E[0] + 0.2 * E[1]) / 1.2)
    with pytest.raises(ValueError, match="method"):
        interest.interest_vectors(ev, E, "median")


def test_pool_multi_separates_two_interests():
    emb = np.array([[1, 0, 0], [0.95, 0.05, 0], [0, 1, 0], [0, 0.96, 0.04], [0, 0.9, 0.1]], dtype=float)
    mi = interest.pool_multi([0, 2, 1, 3, 4], emb, n_interests=2)
    assert mi.vectors.shape == (2, 3) and np.allclose(np.linalg.norm(mi.vectors, axis=1), 1)
    assert np.allclose(mi.weights, [0.6, 0.4])  # the larger interest first
    assert list(mi.labels) == [1, 0, 1, 0, 0]
    again = interest.pool_multi([0, 2, 1, 3, 4], emb, n_interests=2)
    assert np.array_equal(mi.vectors, again.vectors)
    assert len(interest.pool_multi([0, 0], emb, n_interests=3).vectors) == 1  # one distinct item, one interest


def test_score_items_multi_takes_the_best_interest():
    U = np.zeros((1, 2, 2))
    U[0, 0] = [1, 0]
    s = interest.score_items(U, E)
    assert np.allclose(s, [[1, 0, 0.8, -1]])  # the zero slot is ignored, not scored as 0 beating -1


def test_category_profile_and_agreement():
    emb = np.array([[1, 0, 0], [0.9, 0.1, 0], [0, 1, 0], [0, 0, 1]], dtype=float)
    cats = ["a", "a", "b", "c"]
    U = np.array([[1, 0.2, 0], [0, 0.1, 1]])
    P = interest.category_profile(U, emb, cats, ["a", "b", "c"])
    assert P.shape == (2, 3) and P[0].argmax() == 0 and P[1].argmax() == 2
    truth = np.array([[0.7, 0.2, 0.1], [0.1, 0.2, 0.7]])
    assert np.allclose(interest.interest_agreement(truth, truth), 1)
    assert np.allclose(interest.interest_agreement(-truth, truth), -1)
    with pytest.raises(ValueError, match="no item"):
        interest.category_profile(U, emb, cats, ["a", "z"])


def test_unmix_recovers_category_shares_of_a_mean_pooled_vector():
    # four categories with two items each; a mean over events is a mixture of category means plus item deviations
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 6))
    centres[1] = centres[0] + 0.1 * rng.normal(size=6)  # categories a and b nearly collinear: the cosine leaks
    emb = np.repeat(centres, 2, axis=0) + np.array([1, -1] * 4)[:, None] * 0.01
    cats = ["a", "a", "b", "b", "c", "c", "d", "d"]
    history, weights = [0, 1, 4, 5], [1.0, 1.0, 2.0, 2.0]  # shares a 1/3, b 0, c 2/3, d 0; deviations cancel
    U = interest.pool_mean(history, emb, weights)[None, :]
    shares = interest.category_profile(U, emb, cats, list("abcd"), method="unmix")[0]
    assert shares == pytest.approx([1 / 3, 0.0, 2 / 3, 0.0], abs=1e-6)
    cosine = interest.category_profile(U, emb, cats, list("abcd"))[0]
    assert abs(cosine[1] - cosine[0]) < 0.05  # the cosine reading cannot tell a (used) from b (never touched)
    multi = np.stack([U, np.zeros_like(U)], axis=1)  # an unused interest slot is ignored
    assert interest.category_profile(multi, emb, cats, list("abcd"), method="unmix")[0] == pytest.approx(shares)
    with pytest.raises(ValueError, match="method"):
        interest.category_profile(U, emb, cats, list("abcd"), method="pca")


def test_weighted_tau_matches_scipy_and_ignores_swaps_of_unimportant_categories():
    from scipy import stats

    rng = np.random.default_rng(1)
    W = rng.dirichlet(np.full(8, 0.3), size=4)
    P = np.round(rng.random((4, 8)), 1)  # ties in the profile
    ours = interest.interest_agreement(P, W, measure="weighted_tau")
    for u in range(4):
        order = np.argsort(-W[u], kind="stable")
        rank = np.empty(8, dtype=int)
        rank[order] = np.arange(8)
        ref = stats.weightedtau(P[u], W[u], rank=rank, weigher=lambda r, w=W[u][order]: w[r])[0]
        assert ours[u] == pytest.approx(ref, abs=1e-12)
    w = np.array([[0.6, 0.3, 0.09, 0.007, 0.003]])
    swapped_tail = np.array([[5.0, 4.0, 3.0, 1.0, 2.0]])  # the two smallest categories in the wrong order
    swapped_head = np.array([[4.0, 5.0, 3.0, 2.0, 1.0]])  # the two largest in the wrong order
    tail = interest.interest_agreement(swapped_tail, w, measure="weighted_tau")[0]
    head = interest.interest_agreement(swapped_head, w, measure="weighted_tau")[0]
    spearman_tail = interest.interest_agreement(swapped_tail, w)[0]
    spearman_head = interest.interest_agreement(swapped_head, w)[0]
    assert spearman_tail == pytest.approx(spearman_head)  # Spearman cannot tell the two mistakes apart
    assert tail > 0.98 and head < 0.7
    assert interest.interest_agreement(w, w, measure="weighted_tau")[0] == pytest.approx(1.0)
    assert interest.interest_agreement(-w, w, measure="weighted_tau")[0] == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="non-negative"):
        interest.interest_agreement(w, -w, measure="weighted_tau")
    with pytest.raises(ValueError, match="measure"):
        interest.interest_agreement(w, w, measure="pearson")


def test_item_texts():
    shop = pd.DataFrame({C.TITLE: ["A"], C.DESCRIPTION: ["Nice."]})
    movies = pd.DataFrame({C.TITLE: ["Heat"], C.YEAR: pd.array([1995], dtype="Int64"), C.GENRES: ["Action|Crime"]})
    assert interest.item_texts(shop) == ["A. Nice."]
    assert interest.item_texts(movies) == ["Heat (1995): Action, Crime"]


# ----- LM summaries ----------------------------------------------------------------------------------------------

class _RecordingGenerator:
    """Returns a fixed answer and records the prompt (the real generator is tested below when its asset exists)."""

    def __init__(self):
        self.calls = []

    def generate(self, prompt, max_new_tokens, stop, prompt_version):
        self.calls.append((prompt, max_new_tokens, stop, prompt_version))
        return " running, hiking\n"


def test_summarize_builds_the_few_shot_prompt():
    gen = _RecordingGenerator()
    out = interest.summarize_interests(["Trail\nShoes; v2", "Map"], gen)
    assert out == "running, hiking"
    prompt, n, stop, version = gen.calls[0]
    assert prompt.endswith("Bought: Trail Shoes, v2; Map\nInterests:")
    assert stop == ["\n"] and version == interest.SHOP_INTEREST_SUMMARY.version
    with pytest.raises(ValueError, match="empty"):
        interest.summarize_interests([], gen)


def test_summary_with_the_real_generator(require_asset):
    require_asset("gemma3_270m")
    import causalrec_tutorial as crt

    gen = crt.lm.TextGenerator()
    titles = ["Road Runners Running Shoes", "GPS Sports Watch", "Hydration Vest"]
    first = interest.summarize_interests(titles, gen, max_new_tokens=8)
    assert isinstance(first, str) and first and "\n" not in first
    assert interest.summarize_interests(titles, gen, max_new_tokens=8) == first  # greedy (and cached)


# ----- the sequence model ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def deterministic_keras():
    from causalrec_tutorial.config import import_keras

    import_keras()
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()


TOY = [[0, 1, 2, 3, 4, 5] * 3, [2, 3, 4, 5, 0, 1] * 3, [4, 5, 0, 1, 2, 3] * 3]
TOY_KW = dict(n_items=7, n_train_items=6, dim=8, hidden=8, max_len=3, epochs=30, batch_size=16,
              learning_rate=3e-2, validation_split=0.0)


@pytest.mark.parametrize("text", [False, True])
def test_sequence_model_overfits_a_toy_sequence(deterministic_keras, text):
    item_text = np.random.default_rng(0).normal(size=(7, 5)).astype(np.float32) if text else None
    m = interest.fit_sequence_model(TOY, item_text=item_text, seed=1, **TOY_KW)
    loss = m.history["loss"]
    assert loss[-1] < 0.3 * loss[0]
    scores = m.scores([[0, 1, 2], [3, 4]])
    assert scores.shape == (2, 7)
    assert list(scores[:, :6].argmax(axis=1)) == [3, 5]  # it learnt the cycle
    assert m.item_vectors().shape == (7, 8) and m.init == ("text" if text else "id")


def test_sequence_model_is_identical_across_seeded_runs(deterministic_keras):
    a = interest.fit_sequence_model(TOY, seed=5, **{**TOY_KW, "epochs": 4})
    b = interest.fit_sequence_model(TOY, seed=5, **{**TOY_KW, "epochs": 4})
    assert a.history == b.history
    assert np.array_equal(a.scores(TOY), b.scores(TOY))
    c = interest.fit_sequence_model(TOY, seed=6, **{**TOY_KW, "epochs": 4})
    assert not np.array_equal(a.scores(TOY), c.scores(TOY))


def test_untrained_rows_stay_as_initialised(deterministic_keras):
    text = np.random.default_rng(0).normal(size=(7, 5)).astype(np.float32)
    m = interest.fit_sequence_model(TOY, item_text=text, seed=1, **{**TOY_KW, "epochs": 2})
    # the cold item (id 6) is scored through the trained projection of its text
    proj = m.item_vectors()
    assert np.allclose(proj[6], text[6] @ np.linalg.lstsq(text[:6], proj[:6], rcond=None)[0], atol=1e-4)


def test_sequence_model_validates(deterministic_keras):
    with pytest.raises(ValueError, match="unknown item id 9"):
        interest.fit_sequence_model([[0, 9]], n_items=7)
    with pytest.raises(ValueError, match="outside the training catalogue"):
        interest.fit_sequence_model([[0, 6]], n_items=7, n_train_items=6, validation_split=0.0)
    with pytest.raises(ValueError, match="no training pairs"):
        interest.fit_sequence_model([[0]], n_items=7, validation_split=0.0)
    with pytest.raises(ValueError, match="kind"):
        interest.fit_sequence_model(TOY, n_items=7, kind="transformer")
    with pytest.raises(ValueError, match="item_text"):
        interest.fit_sequence_model(TOY, n_items=7, item_text=np.zeros((3, 4)))
