"""TextEncoder (MiniLM in Keras) against sentence-transformers' reference vectors; TfidfEncoder; the encoder cache."""

import pathlib
import time

import numpy as np
import pytest

from causalrec_tutorial.lm import TextEncoder, TfidfEncoder, cache

REFERENCE = pathlib.Path(__file__).parent / "data" / "lm" / "minilm_reference.npz"


@pytest.fixture(scope="module")
def encoder(require_asset):
    require_asset("minilm")
    enc = TextEncoder(cache=False)
    enc.model  # load once for the module (and, through the package's model cache, the session)
    return enc


@pytest.fixture(scope="module")
def reference():
    ref = np.load(REFERENCE)
    return [str(s) for s in ref["sentences"]], ref["embeddings"], ref["token_ids"]


def test_matches_sentence_transformers(encoder, reference):
    sentences, expected, _ = reference
    assert len(sentences) >= 20
    got = encoder.encode(sentences, batch_size=8)
    assert got.shape == expected.shape == (len(sentences), 384) and got.dtype == np.float32
    cosine = np.sum(got * expected, axis=1)
    assert cosine.min() >= 0.9999, f"worst sentence: {sentences[int(cosine.argmin())]!r}, cosine {cosine.min()}"
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_tokens_match_hugging_face(encoder, reference):
    sentences, _, token_ids = reference
    ours = encoder.model.token_ids(sentences, 256)
    for text, mine, theirs in zip(sentences, ours, token_ids):
        assert mine.tolist() == theirs[theirs >= 0].tolist(), text


def test_truncation_keeps_first_254_pieces(encoder):
    long = "mountain railway documentary " * 200
    ids = encoder.model.token_ids([long], 256)[0]
    assert len(ids) == 256 and ids[0] == encoder.model.cls_id and ids[-1] == encoder.model.sep_id
    a, b = encoder.encode([long, long + " and a completely different ending about space aliens"])
    assert np.dot(a, b) == pytest.approx(1.0, abs=1e-6)  # the tail past 254 pieces is ignored


def test_result_does_not_depend_on_batching(encoder, reference):
    sentences = reference[0][:12]
    one = encoder.encode(sentences, batch_size=1)
    many = encoder.encode(sentences, batch_size=5)
    np.testing.assert_allclose(one, many, atol=1e-5)
    assert np.dot(one[0], one[1]) < 0.99  # different sentences give different vectors


def test_bad_input(encoder):
    empty = encoder.encode([])
    assert empty.shape == (0, 384) and empty.dtype == np.float32
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        encoder.encode(["fine", 3])
    with pytest.raises(TypeError, match="single string"):
        encoder.encode("not a list")
    with pytest.raises(ValueError, match="batch_size"):
        encoder.encode(["x"], batch_size=0)
    with pytest.raises(ValueError, match="max_length"):
        TextEncoder(max_length=1000)


def test_disk_cache_is_fast_and_recovers_from_damage(encoder, tmp_path):
    store = cache.DiskCache("encoder", directory=tmp_path)
    enc = TextEncoder(cache=store)
    texts = [f"Item {i}: a quiet documentary about mountain railways, rivers and the people who keep old steam "
             f"engines running through the winter; slow, thoughtful, beautifully filmed, for viewers who liked "
             f"nature films number {i}." for i in range(64)]
    start = time.perf_counter()
    first = enc.encode(texts)
    cold = time.perf_counter() - start
    assert store.size().entries == 64
    warm = np.inf
    for _ in range(3):  # best of three: a busy machine should not fail the test
        start = time.perf_counter()
        second = enc.encode(texts)
        warm = min(warm, time.perf_counter() - start)
    assert np.array_equal(first, second)
    assert cold / warm >= 100, f"cold {cold:.3f} s, warm {warm:.4f} s"
    victim = next(store.directory.rglob("*.bin"))
    victim.write_bytes(victim.read_bytes()[:-10])
    with pytest.warns(RuntimeWarning, match="damaged"):
        third = enc.encode(texts)
    np.testing.assert_allclose(third, first, atol=1e-6)
    assert store.corrupt_entries == 1 and store.size().entries == 64


def test_tfidf_baseline():
    corpus = ["a quiet documentary about trains", "a loud action film", "a documentary about rivers", "space aliens"]
    enc = TfidfEncoder(corpus)
    vecs = enc.encode(["documentary about trains", "action film", "zzz unknown"])
    assert vecs.shape == (3, enc.dim) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs[:2], axis=1), 1.0, atol=1e-6)
    assert not vecs[2].any()  # no known term -> zero row
    assert vecs[0] @ enc.encode(corpus[:1])[0] > vecs[0] @ enc.encode(corpus[1:2])[0]
    assert TfidfEncoder().encode([]).shape == (0, 0)
    fresh = TfidfEncoder()
    assert fresh.encode(corpus).shape == (4, fresh.dim) and fresh.fitted
    with pytest.raises(TypeError):
        fresh.encode([None])
    with pytest.raises(ValueError, match="at least one"):
        TfidfEncoder().fit([])
