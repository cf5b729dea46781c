"""TextEncoder (MiniLM on TensorFlow) against sentence-transformers, Hugging Face, keras-hub; TfidfEncoder; cache."""

import pathlib

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


ODD_TEXTS = ["Ünïcödé ÀÉÎ ß ﬁ ligature", "x\u200by zero width", "a\u00a0b no-break space", "مرحبا بالعالم",
             "Привет мир", "한국어 텍스트", "¿Qué? ¡Sí!", "C++ & C# -- 50% off $9.99", "naïve\u0301", "a" * 150,
             "a\x0bb\x1fc\x7fd tabs\tand\r\nbreaks", "東京タワー2025年", "", "   ", "don't...stop!!"]


def test_tokenizer_matches_hugging_face_tokenizers_on_course_texts(require_asset):
    """Every shop and MovieLens item text and some odd strings give the ids of Hugging Face's Rust tokenizer
    (``tokenizers``, installed with keras-hub) reading the asset's ``tokenizer.json``."""
    import tokenizers

    from causalrec_tutorial import data, interest, world
    from causalrec_tutorial.lm.encoder import WordPieceTokenizer

    folder = require_asset("minilm")
    require_asset("movielens_100k")
    shop = world.ShopWorld(seed=7, n_users=50, n_items=400, n_cold_items=40, n_sessions=10)  # sizes pinned: the
    # book's catalogue in either mode (CAUSALREC_MODE=smoke would otherwise shrink it below the 2,000 texts asked)
    texts = interest.item_texts(shop.items) + interest.item_texts(data.load_movielens_100k().items) + ODD_TEXTS
    ours = WordPieceTokenizer((folder / "vocab.txt").read_text(encoding="utf-8").splitlines())(texts)
    hf = tokenizers.Tokenizer.from_file(str(folder / "tokenizer.json"))
    hf.no_truncation()
    hf.no_padding()
    theirs = [e.ids[1:-1] for e in hf.encode_batch(texts)]  # without [CLS] and [SEP]
    assert len(texts) > 2000
    for text, mine, expected in zip(texts, ours, theirs):
        assert mine == expected, text


def test_forward_matches_keras_hub_backbone(encoder):
    """The plain-TensorFlow forward pass computes keras-hub's BertBackbone (exact GELU) with the same weights."""
    texts = ["A quiet documentary about mountain railways.", "short", "Café au lait " * 20]
    ids = encoder.model.token_ids(texts, 256)
    width = max(len(i) for i in ids)
    tokens, mask = np.zeros((3, width), np.int32), np.zeros((3, width), np.int32)
    for row, seq in enumerate(ids):
        tokens[row, : len(seq)], mask[row, : len(seq)] = seq, 1
    backbone = encoder.model.backbone
    out = np.asarray(backbone({"token_ids": tokens, "segment_ids": np.zeros_like(tokens), "padding_mask": mask},
                              training=False)["sequence_output"])
    mean = (out * mask[:, :, None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
    expected = mean / np.linalg.norm(mean, axis=1, keepdims=True)
    np.testing.assert_allclose(encoder.encode(texts), expected, atol=1e-5)
    assert encoder.model.n_params == backbone.count_params()


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


def test_disk_cache_serves_warm_calls_and_recovers_from_damage(encoder, tmp_path, monkeypatch):
    # A warm call must not run the model at all (checked by counting the model's calls), rather than by a timing ratio:
    # timings are benchmarks (tests/benchmarks/), and a busy CI machine made a "warm is 100x faster" assert flaky.
    store = cache.DiskCache("encoder", directory=tmp_path)
    enc = TextEncoder(cache=store)
    texts = [f"Item {i}: a quiet documentary about mountain railways, rivers and the people who keep old steam "
             f"engines running through the winter; slow, thoughtful, beautifully filmed, for viewers who liked "
             f"nature films number {i}." for i in range(64)]
    first = enc.encode(texts)
    assert store.size().entries == 64
    model = enc.model
    calls = []
    real_encode = type(model).encode

    def counting_encode(self, batch, *args, **kwargs):
        calls.append(len(batch))
        return real_encode(self, batch, *args, **kwargs)

    monkeypatch.setattr(type(model), "encode", counting_encode)
    second = enc.encode(texts)
    assert np.array_equal(first, second) and calls == []
    victim = next(store.directory.rglob("*.bin"))
    victim.write_bytes(victim.read_bytes()[:-10])
    with pytest.warns(RuntimeWarning, match="damaged"):
        third = enc.encode(texts)
    np.testing.assert_allclose(third, first, atol=1e-6)
    assert calls == [1]  # only the damaged entry was recomputed
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
