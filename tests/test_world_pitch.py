"""The shop's response to pitches (the text shown with a recommendation): the world's judge of claims, exact values
with pitches in the long-run trust equilibrium against simulated A/B tests, and the switch off by default."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from causalrec_tutorial import columns as C
from causalrec_tutorial.world import ShopParams, ShopWorld
from causalrec_tutorial.world.catalogue import _CATEGORY_LIST

SMALL = dict(n_users=200, n_items=120, n_cold_items=0, n_sessions=2000, n_late_sessions=0)
PITCH = dataclasses.replace(ShopParams(), pitch_effect=1.5, pitch_return=0.6, pitch_trust=20.0)


@pytest.fixture(scope="module")
def world():
    return ShopWorld(seed=31, params=PITCH, **SMALL)


def _faithful(world, i):
    row = world.items.iloc[i]
    return f"{row['title']}: {row['description'].split('.')[0]}."


def _invented(world, i):
    row = world.items.iloc[i]
    own = f"{row['title']} {row['description']}".lower()
    cat = _CATEGORY_LIST[int(world._category[i])]
    fake = [f for f in cat.features if f.lower() not in own][:3]
    return f"{row['title']}, now with {', '.join(fake)}."


def test_the_judge_tells_faithful_from_invented_claims(world):
    j = world.judge_pitch(3, _faithful(world, 3))
    assert j.faithful and not j.invented and j.g == 0.0
    j = world.judge_pitch(3, _invented(world, 3))
    assert j.invented and j.g > 0
    # the item's category is one of its facts: naming it is not an invention
    row = world.items.iloc[3]
    assert not world.judge_pitch(3, f"{row['title']}, for {row['category']} fans.").invented
    with pytest.raises(TypeError, match="pitches"):
        world.judge_pitch(3, 42)
    with pytest.raises(ValueError, match="item"):
        world.judge_pitch(world.n_items_total, "hello")


def test_no_pitch_and_an_empty_mapping_give_the_plain_values(world):
    plain = world.policy_value(world.relevance)
    empty = world.policy_value(world.relevance, pitches={})
    assert empty.trust == 1.0 and empty.returns == 0.0
    assert empty.clicks == pytest.approx(plain.clicks, rel=1e-12)
    assert empty.incremental_purchases == pytest.approx(plain.incremental_purchases, rel=1e-12)


def test_faithful_pitches_raise_clicks_and_sales_without_returns(world):
    plain = world.policy_value(world.relevance)
    faithful = world.policy_value(world.relevance, pitches={i: _faithful(world, i) for i in range(world.n_items)})
    assert faithful.returns == 0.0 and faithful.trust == 1.0
    assert faithful.clicks > plain.clicks and faithful.incremental_purchases > plain.incremental_purchases


def test_invented_claims_sell_now_and_cost_trust_later(world):
    pitches = {i: _invented(world, i) for i in range(world.n_items)}
    short = ShopWorld(seed=31, params=dataclasses.replace(PITCH, pitch_trust=0.0), **SMALL)
    plain = short.policy_value(short.relevance)
    naive = short.policy_value(short.relevance, pitches=pitches)
    assert naive.returns > 0 and naive.trust == 1.0 and naive.clicks > plain.clicks
    long_run = world.policy_value(world.relevance, pitches=pitches)
    assert long_run.trust < 1.0 and long_run.clicks < naive.clicks
    # the trust equilibrium: T (1 + lambda_t R) = 1 with R the returns per session at that T
    assert long_run.trust * (1 + PITCH.pitch_trust * long_run.returns) == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize("kind", ["faithful", "invented"])
def test_exact_values_with_pitches_match_a_simulated_ab_test(world, kind):
    make = _faithful if kind == "faithful" else _invented
    pitches = {i: make(world, i) for i in range(world.n_items)}
    ab = world.simulate_ab_test(world.relevance, world.relevance, n_sessions=200_000, rng=np.random.default_rng(7),
                                pitches_b=pitches)
    s = ab.sessions
    assert C.RETURN in s
    for arm, value in (("A", ab.value_a), ("B", ab.value_b)):
        df = s[s[C.POLICY] == arm]
        for col, exact in ((C.CLICK, value.clicks), (C.PURCHASE, value.purchases),
                           (C.INCREMENTAL, value.incremental_purchases),
                           (C.RETURN, getattr(value, "returns", 0.0))):
            y = df[col].to_numpy(float)
            se = y.std(ddof=1) / np.sqrt(len(y))
            assert abs(y.mean() - exact) <= 4 * se + 1e-12, (arm, col, y.mean(), exact, se)
    summary = ab.summary()
    assert ("B-A", C.RETURN) in summary.index


def test_pitch_switches_are_validated():
    for field, value in (("pitch_effect", -1.0), ("pitch_return", 1.5), ("pitch_trust", float("nan"))):
        with pytest.raises(ValueError, match=field):
            dataclasses.replace(ShopParams(), **{field: value})
    w = ShopWorld(seed=1, **SMALL)
    with pytest.raises(TypeError, match="pitches"):
        w.policy_value(w.relevance, pitches=["a pitch"])


def test_the_judge_agrees_with_the_labelled_pitches_where_it_reads_claims():
    """Chapter 05's labelled pitches: supported ones are (nearly all) judged faithful, wrong quality claims are
    caught; claims outside the shop's vocabulary (Bluetooth, a warranty, Italian marble) and prices are not read,
    so most invented features and every wrong material pass (the judge's docstring says so)."""
    import json
    import pathlib

    from causalrec_tutorial.world import pitch as P
    from causalrec_tutorial.world.catalogue import _QUALITY_ADJECTIVES, CATEGORIES

    rows = json.loads((pathlib.Path(__file__).parent / "data" / "pitches.json").read_text())
    verdicts = {}
    for r in rows:
        category = CATEGORIES.index(r["item_text"].split("Category: ")[1].split(".")[0])
        text = r["item_text"].lower()
        tier = next(t for t, adjs in enumerate(_QUALITY_ADJECTIVES) for a in adjs if a in text)
        j = P.judge(r["item_text"], r["pitch"], r["item_id"], category, tier)
        verdicts.setdefault(r["corruption"] or "supported", []).append(bool(j.invented))
    assert sum(verdicts["supported"]) <= 2 and len(verdicts["supported"]) == 24
    assert all(verdicts["wrong_quality"])
    assert sum(verdicts["invented_feature"]) >= 2 and not any(verdicts["wrong_material"])
    generic = P.judge("The Loaf Book. A baking book.", "Great for a long day out, easy to use at home or in the city",
                      0, CATEGORIES.index("baking"), 2)
    assert not generic.invented and not generic.faithful


def test_trust_keeps_its_precision_for_a_tiny_trust_loss_and_kept_purchases_subtract_returns(world):
    from causalrec_tutorial.world.pitch import equilibrium_trust

    assert equilibrium_trust(0.05, 1e-15) == pytest.approx(1.0, abs=1e-15)
    assert equilibrium_trust(0.05, 1e-12) == pytest.approx(1 - 5e-14, rel=1e-15)
    v = world.policy_value(world.relevance, pitches={i: _invented(world, i) for i in range(world.n_items)})
    assert v.kept_purchases == pytest.approx(v.purchases - v.returns) and v.kept_purchases < v.purchases


def test_the_judge_on_the_labelled_pitches_as_its_docstring_says():
    """The counts quoted in ``world.pitch.judge``'s docstring, recomputed from the labelled set."""
    import json
    import pathlib

    from causalrec_tutorial.world.pitch import judge

    w = ShopWorld(seed=1, n_users=50, n_items=60, n_cold_items=0, n_sessions=100)
    records = json.loads((pathlib.Path(__file__).parent / "data" / "pitches.json").read_text())
    counts: dict = {}
    for r in records:
        i, row = r["item_id"], w.items.iloc[r["item_id"]]
        j = judge(f"{row['title']} {row['description']} {row['category']}", r["pitch"], i, int(w._category[i]),
                  int(w._tier[i]))
        kind = r["corruption"] or "supported"
        hit = (not j.invented) if kind == "supported" else bool(j.invented)
        ok, n = counts.get(kind, (0, 0))
        counts[kind] = (ok + hit, n + 1)
    assert counts == {"supported": (24, 24), "wrong_quality": (5, 5), "invented_feature": (2, 7),
                      "wrong_material": (0, 6), "wrong_price": (0, 6)}
