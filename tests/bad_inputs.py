"""Valid baseline calls of the public API and the bad values each argument is tried with (used by
tests/test_reliability.py and by ``python tests/bad_inputs.py``, which prints how every case ends).

A case ends in one of four ways: the package's own error (raised from a ``causalrec_tutorial`` frame, a
``ValueError``/``TypeError`` whose message names the argument; "unnamed" when it does not), an error from inside
a dependency, or a result returned silently (a hang would stop the run: every call here is small). Silent results
are listed so that a reader can judge whether the value is a documented answer.
"""

from __future__ import annotations

import functools
import sys
import traceback

import numpy as np
import pandas as pd

import causalrec_tutorial as crt
from causalrec_tutorial import columns as C

NAN = float("nan")


@functools.cache
def world():
    return crt.world.ShopWorld(seed=3, n_users=40, n_items=30, n_cold_items=3, n_sessions=300, n_late_sessions=60)


@functools.cache
def logs():
    return world().logs()


def _impressions():
    return logs().impressions


def _recs():
    return np.array([[0, 1, 2], [3, 4, 5], [1, 2, 3]])


def _truth():
    return [[0], [4, 5], [9]]


# name -> (function, baseline keyword arguments, {argument: [bad values]})
GENERIC = [None, "abc", NAN, -1, np.array([]), np.zeros((2, 2, 2))]


def cases():
    R, E, I, K = crt.recommend, crt.evaluate, crt.interest, crt.causal
    rew = np.array([1.0, 0.0, 1.0, 0.0])
    prop = np.array([0.5, 0.25, 0.5, 0.2])
    targ = np.array([0.4, 0.3, 0.6, 0.1])
    return {
        "evaluate.ips": (E.ips, dict(reward=rew, propensity=prop, target=targ, n_bootstrap=0),
                         {"reward": GENERIC, "propensity": GENERIC + [np.array([0.5, 0.0, 0.5, 0.2])],
                          "target": GENERIC + [np.array([1.5, 0.3, 0.6, 0.1])], "clip": [0, -1, NAN, "x"],
                          "n_bootstrap": [-1, 1.5, "x"]}),
        "evaluate.snips": (E.snips, dict(reward=rew, propensity=prop, target=targ, n_bootstrap=10, rng=0),
                           {"reward": GENERIC, "confidence": [0, 1, NAN, "x"], "rng": [None, "x"]}),
        "evaluate.dr": (E.dr, dict(reward=rew, propensity=prop, target=targ, reward_hat=rew * 0.5,
                                   expected_reward_hat=rew * 0.4, n_bootstrap=0),
                        {"reward_hat": GENERIC, "expected_reward_hat": GENERIC}),
        "evaluate.dm": (E.dm, dict(expected_reward_hat=rew * 0.4, n_bootstrap=0), {"expected_reward_hat": GENERIC}),
        "evaluate.importance_weights": (E.importance_weights, dict(propensity=prop, target=targ),
                                        {"propensity": GENERIC, "target": GENERIC, "clip": [0, NAN]}),
        "evaluate.effective_sample_size": (E.effective_sample_size, dict(weights=prop), {"weights": GENERIC}),
        "evaluate.precision_at_k": (E.precision_at_k, dict(recommendations=_recs(), truth=_truth(), k=2),
                                    {"recommendations": GENERIC, "truth": [None, "abc", NAN, -1], "k": [0, -1, NAN,
                                                                                                        "x", 1.5]}),
        "evaluate.recall_at_k": (E.recall_at_k, dict(recommendations=_recs(), truth=_truth(), k=2),
                                 {"recommendations": GENERIC, "k": [0, NAN]}),
        "evaluate.ndcg_at_k": (E.ndcg_at_k, dict(recommendations=_recs(), truth=_truth(), k=2),
                               {"recommendations": GENERIC, "gain": ["cubic", None], "discount": GENERIC}),
        "evaluate.map_at_k": (E.map_at_k, dict(recommendations=_recs(), truth=_truth(), k=2), {"k": [0, "x"]}),
        "evaluate.coverage": (E.coverage, dict(recommendations=_recs(), n_items=10), {"n_items": [0, -1, NAN, "x"],
                                                                                        "recommendations": GENERIC}),
        "evaluate.average_popularity": (E.average_popularity, dict(recommendations=_recs(), popularity=np.arange(10.0)),
                                        {"popularity": GENERIC}),
        "evaluate.sample_size": (E.sample_size, dict(baseline=0.1, mde=0.01),
                                 {"baseline": [0, 1, NAN, -1, "x"], "mde": [0, NAN, -0.5, "x"], "alpha": [0, 1, NAN],
                                  "power": [0, 1, NAN]}),
        "evaluate.sample_size_for_mean": (E.sample_size_for_mean, dict(std=1.0, mde=0.1),
                                          {"std": [0, -1, NAN, "x"], "mde": [0, NAN, "x"]}),
        "evaluate.difference_in_means": (E.difference_in_means, dict(a=[1.0, 2.0, 3.0], b=[2.0, 3.0, 4.0]),
                                         {"a": GENERIC, "b": GENERIC, "confidence": [0, 1, NAN]}),
        "evaluate.slot_probability": (E.slot_probability, dict(world=world(), policy="logging",
                                                               impressions=_impressions()),
                                      {"world": [None, "x"], "policy": GENERIC, "logging_share": [-0.1, 1.5, NAN],
                                       "period": ["middle", None]}),
        "evaluate.mixture_value": (E.mixture_value, dict(world=world(), policy="logging"),
                                   {"policy": GENERIC, "logging_share": [-1, 2, NAN, "x"]}),
        "recommend.top_k": (R.top_k, dict(scores=np.random.default_rng(0).random((3, 6)), k=2),
                            {"scores": GENERIC, "k": [0, -1, NAN, "x", 10]}),
        "recommend.retrieve_candidates": (R.retrieve_candidates, dict(user_vectors=np.eye(3), item_vectors=np.eye(3),
                                                                      n=2),
                                          {"user_vectors": GENERIC, "item_vectors": GENERIC, "n": [0, -1, NAN, "x"]}),
        "recommend.rerank": (R.rerank, dict(candidates=np.array([[0, 1], [1, 2]]), scores=np.ones((2, 3)), k=1),
                             {"candidates": GENERIC, "scores": GENERIC, "k": [0, 5, NAN]}),
        "recommend.rerank_by_uplift": (R.rerank_by_uplift, dict(candidates=np.array([[0, 1], [1, 2]]),
                                                                uplift=np.ones((2, 3)), k=1),
                                       {"weight": [-0.5, 1.5, NAN, "x"], "uplift": GENERIC}),
        "recommend.ips_weights": (R.ips_weights, dict(propensity=[0.5, 0.2]), {"propensity": GENERIC,
                                                                                "clip": [0.5, NAN, "x"]}),
        "recommend.estimate_examination": (R.estimate_examination, dict(impressions=_impressions()),
                                           {"impressions": [None, "abc", pd.DataFrame()], "k": [0, NAN, "x", 1]}),
        "recommend.claim_lexicon": (R.claim_lexicon, dict(items=world().items),
                                    {"items": [None, "abc", pd.DataFrame(), pd.DataFrame({"title": ["x"]})],
                                     "max_categories": [0, NAN, "x"]}),
        "recommend.check_faithfulness": (R.check_faithfulness, dict(pitch="A pan.", item_text="A pan. Steel."),
                                         {"pitch": [None, 3], "item_text": [None, 3], "lexicon": ["abc", {}]}),
        "recommend.template_pitch": (R.template_pitch, dict(item=world().items.iloc[0]), {"item": [None, "abc", {}]}),
        "recommend.position_effect": (R.position_effect, dict(trials=pd.DataFrame({
            "case": [0, 0, 1, 1, 2, 2], "position": [0, 1, 0, 1, 0, 1], "chosen": [1, 0, 0, 1, 1, 0]}),
            rng=0, n_bootstrap=10),
            {"n_bootstrap": [0, -1, "x"], "confidence": [0, 1, NAN, "x"], "trials": [None, "abc"]}),
        "interest.pool_mean": (I.pool_mean, dict(history=[0, 1], item_embeddings=np.eye(3)),
                               {"history": [None, "abc", [], [5], [-1], [NAN]], "item_embeddings": GENERIC,
                                "weights": [[1.0], [-1.0, 1.0], [NAN, 1.0], "ab"]}),
        "interest.pool_recency": (I.pool_recency, dict(history=[0, 1], item_embeddings=np.eye(3)),
                                  {"half_life": [0, -1, NAN, "x"], "ages": [[1.0], [NAN, 1.0], [-1.0, 0.0], "ab"]}),
        "interest.pool_multi": (I.pool_multi, dict(history=[0, 1, 2], item_embeddings=np.eye(3)),
                                {"n_interests": [0, -1, NAN, "x"], "n_iter": [0, NAN]}),
        "interest.interest_vectors": (I.interest_vectors, dict(events=logs().events(), item_embeddings=np.eye(33)),
                                      {"events": [None, "abc", pd.DataFrame()], "item_embeddings": GENERIC,
                                       "method": ["median", None], "n_users": [-1, NAN, "x"]}),
        "interest.score_items": (I.score_items, dict(user_vectors=np.eye(3), item_embeddings=np.eye(3)),
                                 {"user_vectors": GENERIC, "item_embeddings": GENERIC}),
        "interest.clean_title": (I.clean_title, dict(title="A title"), {"max_chars": [0, -1, NAN, "x"]}),
        "interest.serialize_history": (I.serialize_history, dict(
            events=logs().events()[lambda d: d[C.USER] == d[C.USER].iloc[0]], titles=world().items[C.TITLE]),
            {"events": [None, "abc"], "titles": [None, "abc"], "max_events": [0, -1, NAN, "x"]}),
        "interest.next_item_sequences": (I.next_item_sequences, dict(sequences=[[0, 1, 2]], max_len=2),
                                         {"sequences": [None, "abc", [[0, -1]], [["a", "b"]]],
                                          "max_len": [0, -1, NAN, "x"]}),
        "interest.interest_agreement": (I.interest_agreement, dict(profile=np.eye(3), true_interests=np.eye(3)),
                                        {"profile": GENERIC, "true_interests": GENERIC, "measure": ["kendall", None]}),
        "causal.att_weighted": (K.att_weighted, dict(y=[1.0, 0.0, 1.0, 0.0], t=[1, 1, 0, 0],
                                                     control_weight=[1.0, 1.0, 2.0, 1.0]),
                                {"y": GENERIC, "t": GENERIC + [[1, 2, 0, 0]], "control_weight": GENERIC,
                                 "confidence": [0, 1, NAN, "x"]}),
        "causal.check_dag": (K.check_dag, dict(graph=K.confounding_dag()), {"graph": [None, "abc", 3]}),
        "causal.backdoor_paths": (K.backdoor_paths, dict(graph=K.confounding_dag(), treatment=K.EXPOSURE,
                                                         outcome=K.PURCHASE),
                                  {"treatment": ["nope", None], "outcome": ["nope", None], "graph": [None, "x"]}),
        "causal.reduce_embeddings": (K.reduce_embeddings, dict(embeddings=np.random.default_rng(0).random((20, 5)),
                                                               n_components=2, rng=0),
                                     {"embeddings": GENERIC, "n_components": [0, -1, 10, NAN, "x"]}),
        "causal.shop_frame": (K.shop_frame, dict(world=world(), rng=0), {"world": [None, "x"], "period": ["x"],
                                                                         "n_strata": [0, -1, NAN]}),
        "world.ShopWorld": (crt.world.ShopWorld, dict(seed=1, n_users=10, n_items=10, n_cold_items=1, n_sessions=20,
                                                      n_unshown=2),
                            {"seed": [-1, NAN, "x"], "n_users": [0, -1, NAN, "x"], "k": [0, 11, NAN],
                             "n_unshown": [-1, NAN], "params": ["x", 3]}),
        "world.policy_value": (world().policy_value, dict(policy="logging"),
                               {"policy": GENERIC + ["best", np.zeros((40, 5), dtype=np.int64)],
                                "period": ["x", None]}),
        "world.simulate_ab_test": (world().simulate_ab_test, dict(policy_a="logging", policy_b="logging",
                                                                  n_sessions=20, rng=0),
                                   {"n_sessions": [0, -1, NAN, "x"], "unit": ["day", None], "rng": ["x", NAN]}),
        "world.top_k": (world().top_k, dict(scores=np.zeros((40, 30))), {"scores": GENERIC}),
        "world.logs.split": (logs().split, dict(fraction=0.5), {"fraction": [0, 1, NAN, -1, "x"]}),
        "world.logs.histories": (logs().histories, dict(event="purchase"), {"event": ["buy", None, 3]}),
    }


def outcome(call, kwargs, arg: str) -> tuple[str, str]:
    """``("own" | "unnamed" | "dependency" | "silent", detail)`` for one call: "own" is a ValueError/TypeError
    raised by the package whose message names ``arg``; "unnamed" one raised by the package that does not."""
    try:
        call(**kwargs)
    except Exception as err:  # noqa: BLE001 - classifying every way a call can end is the point
        frames = traceback.extract_tb(err.__traceback__)
        raised_in = frames[-1].filename if frames else ""
        detail = f"{type(err).__name__}: {str(err)[:120]} [{raised_in.split('/')[-1]}]"
        if "causalrec_tutorial" not in raised_in or not isinstance(err, (ValueError, TypeError)):
            return "dependency", detail
        return ("own" if arg in str(err) else "unnamed"), detail
    return "silent", "returned"


def run(verbose: bool = True) -> dict[str, list]:
    import warnings

    results = {"own": [], "unnamed": [], "dependency": [], "silent": []}
    for name, (func, base, bad) in cases().items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            func(**base)  # every baseline must succeed, or its bad cases would prove nothing
        for arg, values in bad.items():
            for value in values:
                kwargs = dict(base, **{arg: value})
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    kind, detail = outcome(func, kwargs, arg)
                label = f"{name}({arg}={value!r:.30})"
                results[kind].append((label, detail))
    if verbose:
        total = sum(map(len, results.values()))
        for kind in ("unnamed", "dependency", "silent"):
            for label, detail in results[kind]:
                print(f"{kind:10s} {label}  {detail}")
        print(f"{total} cases: " + ", ".join(f"{k} {len(v)} ({100 * len(v) / total:.1f}%)" for k, v in results.items()))
    return results


if __name__ == "__main__":
    run()
    sys.exit(0)
