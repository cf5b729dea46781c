"""TextGenerator (Gemma 3 270M, keras-hub) against llama.cpp on the same weights; greedy decoding, scoring, cache."""

import json
import pathlib

import numpy as np
import pytest

from causalrec_tutorial.lm import TextGenerator, cache, gemma, prompts

DATA = pathlib.Path(__file__).parent / "data" / "lm"


@pytest.fixture(scope="module")
def gen(require_asset):
    require_asset("gemma3_270m")
    generator = TextGenerator(cache=False)
    generator.model  # load once for the module (the package keeps it for the session)
    return generator


@pytest.fixture(scope="module")
def reference():
    texts = json.loads((DATA / "gemma_texts.json").read_text(encoding="utf-8"))
    return texts, np.load(DATA / "gemma_reference.npz")


def _split(flat, lengths):
    return np.split(flat, np.cumsum(lengths)[:-1])


def test_tokenizer_matches_llama_cpp(gen, reference):
    texts, ref = reference
    expected = _split(ref["tok_ids"], ref["tok_lengths"])
    assert len(texts["tokenizer_texts"]) >= 300
    bad = [(t, gen.tokenize(t), e.tolist()) for t, e in zip(texts["tokenizer_texts"], expected)
           if gen.tokenize(t) != e.tolist()]
    assert not bad, f"{len(bad)} texts differ, first: {bad[0]}"


def test_next_token_log_probs_match_llama_cpp(gen, reference):
    texts, ref = reference
    prompt_ids = _split(ref["prompt_ids"], ref["prompt_lengths"])
    top1, top1_logp = _split(ref["top1"], ref["prompt_lengths"]), _split(ref["top1_logp"], ref["prompt_lengths"])
    assert len(prompt_ids) >= 10
    for i, prompt in enumerate(texts["next_token_prompts"]):
        ids = [2] + gen.tokenize(prompt)
        assert ids == prompt_ids[i].tolist(), prompt
        logp = gen.model.all_log_probs(ids).astype(np.float64)
        assert np.array_equal(logp.argmax(axis=1), top1[i]), prompt
        np.testing.assert_allclose(logp.max(axis=1), top1_logp[i], atol=0.05, err_msg=prompt)
        last = np.argsort(-logp[-1])[:5]
        assert np.array_equal(last, ref["top5"][i]), prompt
        np.testing.assert_allclose(logp[-1][last], ref["top5_logp"][i], atol=0.05, err_msg=prompt)


def test_generate_is_greedy_and_deterministic(gen):
    a = gen.generate("The capital of France is", max_new_tokens=6)
    b = gen.generate("The capital of France is", max_new_tokens=6)
    assert a == b and a.strip()
    assert len(gen.tokenize(a)) <= 6
    one = gen.generate("The capital of France is", max_new_tokens=1)
    assert a.startswith(one) and len(gen.tokenize(one)) == 1


def test_generate_stops(gen):
    prompt = prompts.INTEREST_SUMMARY.render(items=["Alien (1979)", "Aliens (1986)", "Predator (1987)"])
    text = gen.generate(prompt, max_new_tokens=24, stop=prompts.INTEREST_SUMMARY.stop,
                        prompt_version=prompts.INTEREST_SUMMARY.version)
    assert "\n" not in text and text.strip()


def test_generate_validates(gen):
    with pytest.raises(ValueError, match="max_new_tokens"):
        gen.generate("hi", max_new_tokens=0)
    with pytest.raises(TypeError, match="prompt"):
        gen.generate(b"hi")
    with pytest.raises(ValueError, match="empty"):
        gen.generate("hi", stop=[""])
    with pytest.raises(ValueError, match="dtype"):
        TextGenerator(dtype="int8")


def test_score_equals_full_forward(gen):
    prompt, conts = "My favourite film is", [" Alien", " The Godfather Part II"]
    scores = gen.score(prompt, conts)
    for cont, score in zip(conts, scores):
        ids = [2] + gen.tokenize(prompt + cont)
        n = len(gen.tokenize(prompt)) + 1
        logp = gen.model.all_log_probs(ids)
        assert score == pytest.approx(sum(logp[j - 1, ids[j]] for j in range(n, len(ids))), abs=2e-3)
    assert gen.score(prompt, []).shape == (0,)
    with pytest.raises(TypeError, match="single string"):
        gen.score(prompt, " Alien")
    with pytest.raises(ValueError, match="empty"):
        gen.score(prompt, [""])


def test_score_ranks_few_shot_cases(gen):
    cases = json.loads((DATA / "ranking_cases.json").read_text())
    hits = 0
    for case in cases:
        prompt = prompts.RANK_CANDIDATES.render(items=case["watched"])
        scores = gen.score(prompt, [" " + c for c in [case["answer"], *case["others"]]])
        hits += int(np.argmax(scores) == 0)
    assert hits / len(cases) >= 0.8, f"{hits}/{len(cases)} correct"


def test_generation_cache(gen, tmp_path):
    store = cache.DiskCache("generator", directory=tmp_path)
    cached = TextGenerator(cache=store)
    first = cached.generate("Users who liked Star Wars also liked", max_new_tokens=4)
    calls = []
    real_generate = cached.backend.generate
    cached.backend.generate = lambda *a, **k: calls.append(a) or real_generate(*a, **k)
    second = cached.generate("Users who liked Star Wars also liked", max_new_tokens=4)
    assert first == second and calls == []  # a warm call never reaches the model (timings live in benchmarks/)
    entry = next(store.directory.rglob("*.bin"))
    entry.write_bytes(entry.read_bytes()[:-1] + b"\x00")
    with pytest.warns(RuntimeWarning, match="damaged"):
        assert cached.generate("Users who liked Star Wars also liked", max_new_tokens=4) == first
    assert cached.score("I like", [" cats", " dogs"]).tolist() == cached.score("I like", [" cats", " dogs"]).tolist()
    assert store.size().entries == 2


def test_forward_matches_keras_hub_backbone(gen):
    """The hand-written forward pass (packed sequences, logits only where needed) computes keras-hub's model."""
    import tensorflow as tf

    model = gen.model
    ids = np.array([2] + gen.tokenize("Users who watched Alien (1979) also watched"), dtype=np.int32)
    ours, _, _ = model._forward(ids, tf.range(len(ids)), tf.zeros(len(ids), tf.int32), *model.empty_cache())
    theirs = model.backbone({"token_ids": ids[None], "padding_mask": np.ones((1, len(ids)), np.int32)})[0]
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=2e-3, rtol=1e-4)
    assert model.n_params == model.backbone.count_params()
    assert model.vocabulary_size == model.backbone.vocabulary_size


def test_tokenizer_matches_keras_hub(gen):
    """The generator reads the preset's SentencePiece model directly; keras-hub's tokenizer gives the same ids."""
    import keras_hub

    model = gen.model
    theirs = keras_hub.models.Gemma3Tokenizer.from_preset(str(model.preset))
    for text in ["Bought: Fell Trekking Boots; Crema\n\nInterests: hiking", "  é 日本 <end_of_turn> x", ""]:
        ids = gen.tokenize(text)
        assert ids == [int(i) for i in np.asarray(theirs(text)).tolist()]
        assert model.detokenize(ids) == text


def test_greedy_is_the_argmax_of_the_full_forward(gen):
    prompt = "The three most popular films of 1994 were"
    text = gen.generate(prompt, max_new_tokens=12)
    ids = [2] + gen.tokenize(prompt)
    new = gen.tokenize(prompt + text)[len(ids) - 1:]
    assert len(new) >= 8
    logp = gen.model.all_log_probs(ids + new)
    assert logp[len(ids) - 1:-1].argmax(axis=1).tolist() == new


def test_score_does_not_depend_on_packing(gen, monkeypatch):
    from causalrec_tutorial.lm import generator

    prompt = prompts.RANK_CANDIDATES.render(items=["Heat (1995)", "Casino (1995)"])
    conts = [" Goodfellas (1990)", " Toy Story (1995)", " The Godfather (1972)", " Babe (1995)", " Se7en (1995)"]
    together = gen.score(prompt, conts)
    monkeypatch.setattr(generator, "SCORE_ROWS", 3)  # a few continuations per forward pass
    np.testing.assert_allclose(gen.score(prompt, conts), together, atol=2e-3)
    alone = np.array([gen.score(prompt, [c])[0] for c in conts])
    np.testing.assert_allclose(alone, together, atol=2e-3)
    assert len(set(np.round(together, 3))) == len(conts)


def test_set_up_command_converts_once_and_reports_a_missing_asset(require_asset, tmp_path, monkeypatch, capsys):
    """``python -m causalrec_tutorial.lm`` (run by ``make book``): instant when the preset exists; exit code 1 and
    the fetch command when the GGUF file is missing."""
    from causalrec_tutorial.lm.__main__ import main

    require_asset("gemma3_270m")
    monkeypatch.setattr(gemma, "build_backbone", lambda *a: pytest.fail("the preset should already exist"))
    assert main() == 0
    assert "Gemma preset at" in capsys.readouterr().out
    monkeypatch.setenv("CAUSALREC_DATA_DIR", str(tmp_path))
    assert main() == 1
    assert "causalrec_tutorial.assets fetch gemma3_270m" in capsys.readouterr().err
