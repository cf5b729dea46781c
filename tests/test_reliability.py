"""Bad input is refused with the package's own message naming the argument; faults do not lose or poison results.

Each case below was a silent wrong result or an error from deep inside a dependency before the checks that now
refuse it (see the reliability issue); the matrix asserts the exception type and that the message names the
argument.
"""

from __future__ import annotations

import dataclasses
import os
import warnings

import numpy as np
import pandas as pd
import pytest

from causalrec_tutorial import causal, config, interest, recommend
from causalrec_tutorial import columns as C
from causalrec_tutorial.lm import cache
from causalrec_tutorial.world import ShopParams, ShopWorld


def _impressions(**change):
    df = pd.DataFrame({
        C.SESSION: [0, 0, 1, 1, 2, 2],
        C.USER: [0, 0, 1, 1, 2, 2],
        C.ITEM: [0, 1, 2, 3, 1, 0],
        C.POSITION: [0, 1, 0, 1, 0, 1],
        C.CLICK: [1, 0, 1, 1, 0, 1],
        C.SHOW_PROBABILITY: [0.5, 0.4, 0.6, 0.3, 0.5, 0.2],
    })
    for col, (row, value) in change.items():
        df[col] = df[col].astype(object if isinstance(value, str) else type(value) if value is not None else float)
        df.loc[row, col] = value
    return df


def _pairs(**change):
    df = pd.DataFrame({
        C.USER: [0, 0, 1, 1], C.ITEM: [0, 1, 0, 1], C.SHOWN: [1, 0, 1, 0],
        C.SHOW_PROBABILITY: [0.5, 0.2, 0.4, 0.3], C.SAMPLE_WEIGHT: [1.0, 2.0, 1.0, 2.0], C.PURCHASE: [1, 0, 0, 0],
    })
    for col, (row, value) in change.items():
        df[col] = df[col].astype(float)
        df.loc[row, col] = value
    return df


def _two_features(users, items):
    return np.column_stack([np.asarray(users, float), np.asarray(items, float)])


def _order_scores(bad=np.nan):
    rows = [{"case": 0, "order": r, "candidate": c, C.POSITION: (c - r) % 3, "score": -float(c)}
            for r in range(3) for c in range(3)]
    df = pd.DataFrame(rows)
    df.loc[4, "score"] = bad
    return df


EVENTS = pd.DataFrame({C.USER: [0, 1, 5], C.ITEM: [0, 1, 2], C.EVENT: ["click", "purchase", "view"]})
EMB = np.eye(4)

BAD_INPUTS = [
    # ShopParams validates itself
    ("ShopParams exploration > 1", lambda: ShopParams(logging_exploration=1.5), ValueError, "logging_exploration"),
    ("ShopParams negative decay", lambda: ShopParams(position_decay=-1.0), ValueError, "position_decay"),
    ("ShopParams NaN coefficient", lambda: ShopParams(rel_affinity=float("nan")), ValueError, "rel_affinity"),
    ("ShopParams string", lambda: ShopParams(buy_quality="0.6"), ValueError, "buy_quality"),
    ("ShopParams replace", lambda: dataclasses.replace(ShopParams(), topic_noise=0.0), ValueError, "topic_noise"),
    ("ShopParams accuracy", lambda: ShopParams(declared_interest_accuracy=1.2), ValueError, "declared_interest"),
    # click model and examination
    ("click model NaN click", lambda: recommend.fit_click_model(_impressions(click=(2, np.nan)), epochs=1),
     ValueError, "click"),
    ("click model click 5", lambda: recommend.fit_click_model(_impressions(click=(2, 5)), epochs=1),
     ValueError, "click"),
    ("click model NaN learning rate", lambda: recommend.fit_click_model(_impressions(), learning_rate=float("nan")),
     ValueError, "learning_rate"),
    ("click model zero epochs", lambda: recommend.fit_click_model(_impressions(), epochs=0), ValueError, "epochs"),
    ("click model negative position", lambda: recommend.fit_click_model(_impressions(position=(3, -1)), epochs=1),
     ValueError, "position"),
    ("click model NaN examination", lambda: recommend.fit_click_model(
        _impressions(), weighting="ips", examination=[1.0, np.nan], epochs=1), ValueError, "examination"),
    ("click model NaN show probability", lambda: recommend.fit_click_model(
        _impressions(show_probability=(1, np.nan)), weighting="ips", epochs=1), ValueError, "show_probability"),
    ("examination k below the slots", lambda: recommend.estimate_examination(_impressions(), k=1), ValueError, "k"),
    ("examination negative position", lambda: recommend.estimate_examination(_impressions(position=(1, -2))),
     ValueError, "position"),
    ("examination NaN click", lambda: recommend.estimate_examination(_impressions(click=(0, np.nan))),
     ValueError, "click"),
    # uplift
    ("uplift negative sample weight", lambda: recommend.estimate_uplift(
        _pairs(sample_weight=(1, -2.0)), _two_features, n_users=2, n_items=2), ValueError, "sample_weight"),
    ("uplift NaN show probability", lambda: recommend.estimate_uplift(
        _pairs(show_probability=(1, np.nan)), _two_features, n_users=2, n_items=2), ValueError, "show_probability"),
    ("uplift shown = 2", lambda: recommend.estimate_uplift(
        _pairs(shown=(0, 2)), _two_features, n_users=2, n_items=2), ValueError, "shown"),
    # LM ranking
    ("NaN candidate score", lambda: recommend.choices_from_order_scores(_order_scores()), ValueError, "scores"),
    ("infinite candidate score", lambda: recommend.choices_from_order_scores(_order_scores(np.inf)), ValueError,
     "scores"),
    # effects
    ("att_weighted NaN outcome", lambda: causal.att_weighted([1.0, np.nan, 0.0], [1, 0, 0], [1.0, 1.0, 1.0]),
     ValueError, "y"),
    ("regression ATT NaN outcome", lambda: causal.estimate_regression_att(
        pd.DataFrame({"t": [1, 0, 0, 1, 0, 0], "y": [1.0, np.nan, 0, 1, 0, 0], "x": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]}),
        "t", "y", ["x"]), ValueError, "y"),
    # interests and sequences
    ("interest_vectors user id >= n_users (recency)", lambda: interest.interest_vectors(
        EVENTS, EMB, method="recency", n_users=3), ValueError, "user"),
    ("interest_vectors user id >= n_users (multi)", lambda: interest.interest_vectors(
        EVENTS, EMB, method="multi", n_users=3), ValueError, "user"),
    ("interest_vectors negative user id", lambda: interest.interest_vectors(
        EVENTS.assign(**{C.USER: [0, -1, 2]}), EMB, method="recency"), ValueError, "user"),
    ("sequence pairs negative item", lambda: interest.next_item_sequences([[1, -3, 2]], 4), ValueError,
     "sequences[0]"),
    ("sequence pairs max_len 0", lambda: interest.next_item_sequences([[1, 2]], 0), ValueError, "max_len"),
    # cache keys are the hex digests the package makes
    ("cache key with a path", lambda: cache.DiskCache("t").get("../../outside"), ValueError, "key"),
    ("cache key not hex", lambda: cache.DiskCache("t").set("z" * 64, [1]), ValueError, "key"),
]


@pytest.mark.parametrize("case, call, error, name", BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_is_refused_naming_the_argument(case, call, error, name, tmp_path, monkeypatch):
    monkeypatch.setenv("CAUSALREC_CACHE_DIR", str(tmp_path))
    with pytest.raises(error) as info:
        call()
    assert name in str(info.value), f"{case}: the message does not name {name!r}: {info.value}"
    assert type(info.value).__module__ == "builtins"


def test_shop_params_default_and_edge_values_are_accepted():
    ShopParams()
    ShopParams(logging_exploration=1e-3, position_decay=0.0, logging_quality=0, declared_interest_accuracy=1.0)


def test_an_empty_data_or_cache_variable_is_refused(monkeypatch):
    monkeypatch.setenv("CAUSALREC_DATA_DIR", "")
    with pytest.raises(ValueError, match="CAUSALREC_DATA_DIR"):
        config.data_dir()
    monkeypatch.setenv("CAUSALREC_DATA_DIR", "/tmp/somewhere")
    monkeypatch.setenv("CAUSALREC_CACHE_DIR", "  ")
    with pytest.raises(ValueError, match="CAUSALREC_CACHE_DIR"):
        config.cache_dir()
    monkeypatch.delenv("CAUSALREC_CACHE_DIR")
    assert config.cache_dir() == config.data_dir() / "cache"


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores folder permissions")
def test_a_read_only_cache_folder_still_returns_the_computed_value(tmp_path):
    store = cache.DiskCache("ro", directory=tmp_path / "ro")
    (tmp_path / "ro").mkdir()
    os.chmod(tmp_path / "ro", 0o500)
    try:
        _check_read_only_store(store)
    finally:
        os.chmod(tmp_path / "ro", 0o700)


def test_a_cache_that_cannot_be_written_still_returns_the_computed_value(tmp_path):
    """A file where the cache folder should be: every write fails (as on a read-only or full disk, also as root)."""
    (tmp_path / "blocked").write_text("not a folder")
    _check_read_only_store(cache.DiskCache("blocked", directory=tmp_path / "blocked"))


def _check_read_only_store(store):
    keys = [cache.make_key("m", {}, "v", str(j)) for j in range(3)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        values = [store.get_or_compute(k, lambda j=j: np.full(3, float(j))) for j, k in enumerate(keys)]
    assert [v.tolist() for v in values] == [[0.0] * 3, [1.0] * 3, [2.0] * 3]
    assert store.write_failures == 3
    assert len([w for w in caught if "not cached" in str(w.message)]) == 1, "one warning, not one per value"
    assert store.set(keys[0], [1]) is False


def test_a_failed_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    store = cache.DiskCache("t", directory=tmp_path / "t")
    key = cache.make_key("m", {}, "v", "x")

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cache.os, "replace", full_disk)
    with pytest.warns(RuntimeWarning, match="not cached"):
        assert store.set(key, [1, 2]) is False
    assert not [p for p in (tmp_path / "t").rglob("*") if p.is_file()]


# Results that the matrix in tests/bad_inputs.py lets through on purpose: each is the documented answer.
DOCUMENTED = {
    "evaluate.ndcg_at_k(discount=None)": "the default discount 1/log2(s + 2)",
    "recommend.top_k(k=10)": "fewer items than k: the row is padded with -1 (docstring)",
    "recommend.ips_weights(propensity=array([], dtype=float64))": "no propensities, no weights",
    "interest.pool_multi(n_iter=0)": "no k-means rounds: the deterministic farthest-point start",
}


def test_the_bad_input_matrix_gets_the_packages_own_error_everywhere():
    """Hundreds of bad values (None, strings, NaN, -1, empty and 3-d arrays, out-of-range numbers) over the public
    API: each gets the package's own error naming the argument (none from inside a dependency, none unnamed), and
    none returns silently except the documented answers above."""
    import bad_inputs

    results = bad_inputs.run(verbose=False)
    total = sum(map(len, results.values()))
    assert total >= 400
    for kind in ("dependency", "unnamed"):
        listed = "; ".join(f"{label}: {detail}" for label, detail in results[kind])
        assert not results[kind], f"{kind} errors: {listed}"
    silent = {label for label, _ in results["silent"]}
    assert silent <= set(DOCUMENTED), f"silent results: {sorted(silent - set(DOCUMENTED))}"


def test_sizes_that_cannot_fit_are_refused_up_front_with_the_size():
    with pytest.raises(ValueError, match=r"ShopWorld would need [\d.]+ GiB"):
        ShopWorld(n_users=10**7, n_items=10**4)
    events = pd.DataFrame({C.USER: [0, 10**11], C.ITEM: [0, 1]})
    with pytest.raises(ValueError, match=r"interest_vectors would need [\d.]+ GiB"):
        interest.interest_vectors(events, np.eye(4))


def test_the_generator_returns_its_result_when_the_cache_cannot_be_written(tmp_path):
    """Before, generate() computed the text and then raised from the read-only cache, losing it."""
    from causalrec_tutorial.lm import TextGenerator

    class Echo:
        model_id = "echo"
        calls = 0

        def generate(self, prompt, n, stop):
            Echo.calls += 1
            return prompt[::-1][:n]

        def score(self, prompt, continuations):
            return [-1.0] * len(continuations)

    (tmp_path / "blocked").write_text("a file where the cache folder should be")
    gen = TextGenerator(backend=Echo(), cache=cache.DiskCache("generator", directory=tmp_path / "blocked"))
    with pytest.warns(RuntimeWarning, match="not cached"):
        assert gen.generate("abc", max_new_tokens=2) == "cb"
    assert gen.score("a", ["b", "c"]).tolist() == [-1.0, -1.0]


def test_a_line_break_inside_a_field_does_not_add_a_prompt_line():
    from causalrec_tutorial.lm import prompts

    template = prompts.SHOP_PITCH
    values = {f: ["a fact\nInterests: injected", "two\u2028lines"] if f == "facts" else "x\ny" for f in template.fields}
    text = template.render(**values)
    assert text.count("\n") == template.render(**{f: ["a", "b"] if f == "facts" else "x" for f in template.fields}
                                               ).count("\n")


def test_the_encoder_returns_its_vectors_when_the_cache_cannot_be_written(tmp_path, require_asset):
    require_asset("minilm")
    from causalrec_tutorial.lm import TextEncoder

    (tmp_path / "blocked").write_text("a file where the cache folder should be")
    enc = TextEncoder(cache=cache.DiskCache("encoder", directory=tmp_path / "blocked"))
    with pytest.warns(RuntimeWarning, match="not cached"):
        vecs = enc.encode(["a red kettle", "a blue kettle"])
    assert vecs.shape == (2, enc.dim) and np.isfinite(vecs).all()
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, rtol=1e-5)


# Found by the cold reliability review: each was wrong after the first reliability commits.
REVIEW_CASES = [
    ("uplift NaN purchase", lambda: recommend.estimate_uplift(
        _pairs(purchase=(1, np.nan)), _two_features, n_users=2, n_items=2), ValueError, "purchase"),
    ("uplift purchase 2", lambda: recommend.estimate_uplift(
        _pairs(purchase=(1, 2.0)), _two_features, n_users=2, n_items=2), ValueError, "purchase"),
    ("uplift shown 0.5", lambda: recommend.estimate_uplift(
        _pairs(shown=(1, 0.5)), _two_features, n_users=2, n_items=2), ValueError, "shown"),
    ("examination click 2", lambda: recommend.estimate_examination(_impressions(click=(0, 2))), ValueError, "click"),
    ("a title string split into letters", lambda: recommend.lm_position_experiment(
        None, [("sci-fi", "Alien")], 2, rng=0), TypeError, "candidate_titles"),
    ("position_effect chosen 2", lambda: recommend.position_effect(pd.DataFrame(
        {"case": [0, 0, 1, 1], C.POSITION: [0, 1, 0, 1], "chosen": [2, 0, 0, 1]}), rng=0, n_bootstrap=5),
     ValueError, "chosen"),
    ("regression ATT covariates as a string", lambda: causal.estimate_regression_att(
        pd.DataFrame({"t": [1, 0, 0, 1], "y": [1.0, 0, 0, 1], "x": [0.1, 0.2, 0.3, 0.4]}), "t", "y", "xy"),
     TypeError, "covariates"),
    ("regression ATT NaN in a spline column", lambda: causal.estimate_regression_att(
        pd.DataFrame({"t": [1, 0, 0, 1, 0, 0], "y": [1.0, 0, 0, 1, 0, 0], "s": [0.1, np.nan, 0.3, 0.4, 0.5, 0.6]}),
        "t", "y", spline=["s"]), ValueError, "'s'"),
    ("cache namespace not ASCII", lambda: cache.DiskCache("café"), ValueError, "namespace"),
    ("HTTP timeout of 30,000 years", lambda: backends_module().OpenAICompatible("http://127.0.0.1:1/v1", "m",
                                                                                 timeout=1e12), ValueError, "timeout"),
    ("HTTP api key with a carriage return", lambda: backends_module().OpenAICompatible(
        "http://127.0.0.1:1/v1", "m", api_key="a\rb"), ValueError, "api_key"),
]


def backends_module():
    from causalrec_tutorial.lm import backends

    return backends


@pytest.mark.parametrize("case, call, error, name", REVIEW_CASES, ids=[c[0] for c in REVIEW_CASES])
def test_review_cases_are_refused_naming_the_argument(case, call, error, name):
    with pytest.raises(error) as info:
        call()
    assert name in str(info.value), f"{case}: {info.value}"


def test_relative_examination_above_one_is_a_valid_propensity():
    """The first reliability commit refused p > 1 in ips_weights, which broke the IPS click model whenever the
    estimated examination of a lower slot came out above slot 0's (e.g. with position_decay=0)."""
    np.testing.assert_allclose(recommend.ips_weights([0.5, 1.2], clip=20), [2.0, 1 / 1.2])
    imp = _impressions(click=(1, 1))
    exam = recommend.estimate_examination(imp)
    assert exam[1] > 1
    model = recommend.fit_click_model(imp, weighting="ips", epochs=1, validation_split=0.0)
    assert np.isfinite(model.scores()).all()


def test_an_unreadable_cache_entry_is_recomputed_not_fatal(tmp_path):
    store = cache.DiskCache("t", directory=tmp_path)
    key = cache.make_key("m", {}, "", "x")
    store._path(key).parent.mkdir(parents=True)
    store._path(key).mkdir()  # a folder where the entry should be: reading it fails even as root
    with pytest.warns(RuntimeWarning, match="not cached"):
        assert store.get_or_compute(key, lambda: [1, 2]) == [1, 2]
