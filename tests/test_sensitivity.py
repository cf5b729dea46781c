"""The marginal sensitivity model's bounds: the box optimum (brute force), valid and tight in a worst-case world, errors."""

import itertools

import numpy as np
import pandas as pd
import pytest

from causalrec_tutorial import causal as cz


def test_gamma_one_gives_the_weighting_estimate():
    rng = np.random.default_rng(0)
    y, t, w = rng.random(200), rng.integers(0, 2, 200), rng.gamma(2.0, 1.0, 200)
    lo, hi = cz.msm_att_bounds(y, t, w, 1.0)
    assert lo == pytest.approx(cz.att_weighted(y, t, w).value, abs=1e-12)
    assert hi == pytest.approx(lo, abs=1e-12)


def test_bounds_equal_the_brute_force_extremes_over_the_box():
    rng = np.random.default_rng(1)
    y = np.r_[rng.random(3), rng.random(8)]
    t = np.r_[np.ones(3, int), np.zeros(8, int)]
    w = np.r_[np.ones(3), rng.gamma(1.5, 1.0, 8)]
    gamma = 2.5
    # a linear-fractional objective over a box is extreme at a vertex: enumerate all 2^8 of them
    effects = []
    for lam in itertools.product((1 / gamma, gamma), repeat=8):
        wc = w[3:] * np.array(lam)
        effects.append(y[:3].mean() - wc @ y[3:] / wc.sum())
    lo, hi = cz.msm_att_bounds(y, t, w, gamma)
    assert lo == pytest.approx(min(effects), rel=1e-12)
    assert hi == pytest.approx(max(effects), rel=1e-12)


def test_bounds_widen_with_gamma_and_breakdown_reaches_the_null():
    rng = np.random.default_rng(2)
    n = 5_000
    t = rng.integers(0, 2, n)
    y = (rng.random(n) < 0.1 + 0.05 * t).astype(float)
    w = rng.gamma(2.0, 0.5, n)
    widths = [np.diff(cz.msm_att_bounds(y, t, w, g))[0] for g in (1.0, 1.2, 1.5, 2.0, 3.0)]
    assert all(a < b for a, b in zip(widths, widths[1:]))
    g_star = cz.msm_breakdown(y, t, w)
    assert 1.0 < g_star < np.inf
    assert cz.msm_att_bounds(y, t, w, g_star)[0] == pytest.approx(0.0, abs=1e-6)
    assert cz.msm_att_bounds(y, t, w, g_star * 0.99)[0] > 0
    assert cz.msm_breakdown(y, t, w, null=cz.att_weighted(y, t, w).value) == pytest.approx(1.0, abs=1e-5)
    assert cz.msm_breakdown(y, t, w, null=5.0) == np.inf  # no weights can make a 0/1 outcome differ by 5


def test_bounds_contain_the_truth_when_the_sensitivity_model_holds():
    """A hidden u scales each unit's true odds by gamma**u (u = +-1) and raises its outcome: the weights that ignore
    u are biased, and the bounds at that gamma contain the true ATT."""
    rng = np.random.default_rng(3)
    n, gamma, effect = 400_000, 2.0, 0.05
    x = rng.standard_normal(n)
    u = rng.choice([-1.0, 1.0], n)
    fitted_odds = np.exp(-1.0 + 0.5 * x)
    true_odds = fitted_odds * gamma**u
    t = (rng.random(n) < true_odds / (1 + true_odds)).astype(int)
    y0 = rng.random(n) < 0.2 + 0.1 * u + 0.05 * x
    y = (y0 | ((rng.random(n) < effect / 0.8) & (t == 1) & ~y0)).astype(float)
    truth = float((y[t == 1] - y0[t == 1]).mean())
    naive = cz.att_weighted(y, t, fitted_odds).value
    assert abs(naive - truth) > 0.03  # the missed confounder biases the weighting estimate
    lo, hi = cz.msm_att_bounds(y, t, fitted_odds, gamma)
    assert lo - 0.005 <= truth <= hi + 0.005
    assert cz.msm_breakdown(y, t, fitted_odds, null=truth) <= gamma * 1.05


def test_covariate_benchmarks_rank_a_strong_covariate_above_a_useless_one():
    rng = np.random.default_rng(4)
    n = 20_000
    data = pd.DataFrame({"strong": rng.standard_normal(n), "useless": rng.standard_normal(n),
                         "group": rng.choice(["a", "b"], n)})
    logit = -1.0 + 1.5 * data["strong"] + 0.3 * (data["group"] == "b")
    data["t"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    table = cz.covariate_benchmarks(data, "t", ["strong", "useless", "group"], quantiles=(0.5, 1.0))
    assert list(table.index)[0] == "strong"
    assert table.loc["useless", "lambda_q0.5"] < 1.05 < table.loc["strong", "lambda_q0.5"]
    assert (table["lambda_q1"] >= table["lambda_q0.5"]).all()
    e = cz.fitted_propensity(data, "t", ["strong", "group"])
    assert e.shape == (n,) and 0 < e.min() and e.max() < 1


@pytest.mark.parametrize("kwargs, match", [
    (dict(gamma=0.5), "gamma"),
    (dict(gamma=float("nan")), "gamma"),
    (dict(y=[0.0, np.nan, 1.0]), "NaN"),
    (dict(t=[0, 2, 1]), "only 0 and 1"),
    (dict(control_weight=[1.0, -1.0, 1.0]), "non-negative"),
    (dict(y=[0.0, 1.0]), "equal length"),
    (dict(t=[1, 1, 1]), "at least one treated"),
])
def test_bad_inputs_are_refused_by_name(kwargs, match):
    args = dict(y=[0.0, 1.0, 1.0], t=[0, 0, 1], control_weight=[1.0, 1.0, 1.0], gamma=2.0) | kwargs
    with pytest.raises(ValueError, match=match):
        cz.msm_att_bounds(**args)


def test_benchmark_and_propensity_refuse_bad_input():
    data = pd.DataFrame({"t": [0, 1, 0, 1], "x": [0.1, 0.2, 0.3, 0.4], "z": [1.0, 0.0, 1.0, 0.0]})
    with pytest.raises(ValueError, match="at least two"):
        cz.covariate_benchmarks(data, "t", ["x"])
    with pytest.raises(ValueError, match="lacks"):
        cz.covariate_benchmarks(data, "t", ["x", "nope"])
    with pytest.raises(ValueError, match="quantile"):
        cz.covariate_benchmarks(data, "t", ["x", "z"], quantiles=(0.0,))
    with pytest.raises(TypeError, match="DataFrame"):
        cz.fitted_propensity(data.to_numpy(), "t", ["x"])
    with pytest.raises(ValueError, match="both 0 and 1"):
        cz.fitted_propensity(data.assign(t=1), "t", ["x"])
    with pytest.raises(ValueError, match="max_gamma"):
        cz.msm_breakdown([0.0, 1.0, 1.0], [0, 0, 1], [1.0, 1.0, 1.0], max_gamma=0.5)


def test_in_a_worst_case_world_the_truth_sits_at_the_bound():
    """The hidden u is the untreated outcome itself and scales the true odds by gamma**u: the missed confounder acts
    exactly like the model's worst case, so the Λ whose bounds reach the truth is gamma (bounds twice too wide fail)."""
    rng = np.random.default_rng(5)
    n, gamma = 2_000_000, 2.0
    x = rng.standard_normal(n)
    y0 = rng.random(n) < 0.3
    u = np.where(y0, 1.0, -1.0)
    fitted_odds = np.exp(-1.0 + 0.5 * x)
    true_odds = fitted_odds * gamma**u
    t = (rng.random(n) < true_odds / (1 + true_odds)).astype(int)
    y = y0.astype(float)  # no effect: the true ATT is 0
    assert cz.msm_breakdown(y, t, fitted_odds, null=0.0) == pytest.approx(gamma, rel=0.05)


def test_covariate_benchmark_equals_a_hand_computed_factor():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(6)
    n = 5_000
    data = pd.DataFrame({"a": rng.standard_normal(n), "b": rng.standard_normal(n)})
    data["t"] = (rng.random(n) < 1 / (1 + np.exp(-(data["a"] - 0.5 * data["b"])))).astype(int)
    table = cz.covariate_benchmarks(data, "t", ["a", "b"], quantiles=(0.5,))
    z = (data - data.mean()) / data.std(ddof=0)
    full = LogisticRegression(C=1e4, max_iter=2000).fit(z[["a", "b"]], data["t"]).predict_proba(z[["a", "b"]])[:, 1]
    no_a = LogisticRegression(C=1e4, max_iter=2000).fit(z[["b"]], data["t"]).predict_proba(z[["b"]])[:, 1]
    factor = np.exp(np.abs(np.log(full / (1 - full) / (no_a / (1 - no_a)))))[data["t"].to_numpy() == 0]
    assert table.loc["a", "lambda_q0.5"] == pytest.approx(np.median(factor), rel=1e-6)
