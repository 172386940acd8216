"""The listening test's statistics against scipy and against values known by hand, on synthetic
ratings with a known effect (one condition rated 1.5 points higher, another equal to the base)."""

import numpy as np
import pytest
from scipy import stats

from tunelab.web import analysis

CONDITIONS = ["base", "same", "better"]


def synthetic(listeners=24, items=4, seed=0):
    """Rating rows: each listener rates ``items`` melodies of each condition on two scales."""
    rng = np.random.default_rng(seed)
    rows = []
    for who in range(listeners):
        leniency = rng.normal(0, 1)  # listeners differ: a block effect Friedman removes
        for c, shift in zip(CONDITIONS, (0.0, 0.0, 1.5)):
            for k in range(items):
                for scale in ("overall", "coherence"):
                    v = int(np.clip(round(5 + leniency + shift + rng.normal(0, 1.2)), 1, 10))
                    rows.append({"listener": who, "set_name": c, "item": CONDITIONS.index(c) * items + k,
                                 "scale": scale, "value": v})  # fmt: skip
    return rows


def test_friedman_and_kendalls_w_match_scipy_and_find_the_effect():
    rows = synthetic()
    m, _ = analysis.listener_means(rows, "overall", CONDITIONS)
    got = analysis.friedman(m)
    ref = stats.friedmanchisquare(*m.T)
    assert got["chi2"] == pytest.approx(ref.statistic, rel=1e-10)
    assert got["p"] == pytest.approx(ref.pvalue, rel=1e-8)
    assert got["kendalls_w"] == pytest.approx(ref.statistic / (m.shape[0] * (m.shape[1] - 1)))
    result = analysis.compare(rows, "overall", CONDITIONS)
    assert result["omnibus"]["p"] < 1e-4
    pairs = {(p["a"], p["b"]): p for p in result["pairs"]}
    better = pairs["base", "better"]
    assert better["p_holm"] < 0.01 and better["effect"] < -0.8  # base below better, nearly every listener
    assert pairs["base", "same"]["p_holm"] > 0.05  # no effect there
    d = m[:, 0] - m[:, 2]
    tied = np.any(d == 0) or len(np.unique(np.abs(d))) < len(d)
    raw = stats.wilcoxon(m[:, 0], m[:, 2], method="approx" if tied else "exact").pvalue
    assert better["p"] == pytest.approx(raw)
    assert better["p_holm"] == pytest.approx(min(1.0, raw * 3))  # the smallest of three, Holm's first step


def test_friedman_handles_ties_as_scipy_does():
    m = np.array([[1, 1, 2], [2, 2, 2], [1, 3, 2], [4, 1, 1], [2, 3, 3]], dtype=float)
    assert analysis.friedman(m)["chi2"] == pytest.approx(stats.friedmanchisquare(*m.T).statistic)


def test_wilcoxon_is_exact_without_ties_and_approximate_with_them():
    x, y = np.array([5.0, 6.1, 7.3, 4.2, 6.6, 8.0]), np.array([4.0, 5.0, 5.2, 4.5, 5.4, 6.3])
    assert analysis.wilcoxon_p(x, y) == pytest.approx(stats.wilcoxon(x, y, method="exact").pvalue)
    y[0] = 5.0  # now a zero difference
    assert analysis.wilcoxon_p(x, y) == pytest.approx(stats.wilcoxon(x, y, method="approx").pvalue)


def test_rank_biserial_by_hand():
    # differences 1, 2, -3, 4 -> ranks 1, 2, 3, 4; T+ = 7, T- = 3; r = (7 - 3) / 10
    assert analysis.rank_biserial([1, 2, -3, 4, 0]) == pytest.approx(0.4)


def test_incomplete_listeners_fall_back_to_kruskal_wallis_like_scipy():
    rows = [r for r in synthetic(listeners=12) if not (r["listener"] % 2 and r["set_name"] == "same")]
    rows = [r for r in rows if not (r["listener"] % 2 == 0 and r["set_name"] == "base")]  # nobody rated all
    result = analysis.compare(rows, "overall", CONDITIONS)
    m, _ = analysis.listener_means(rows, "overall", CONDITIONS)
    groups = [m[:, j][~np.isnan(m[:, j])] for j in range(3)]
    assert result["omnibus"]["test"] == "kruskal-wallis"
    assert result["omnibus"]["H"] == pytest.approx(stats.kruskal(*groups).statistic)
    mw = stats.mannwhitneyu(groups[0], groups[2]).pvalue
    assert next(p for p in result["pairs"] if p["b"] == "better" and p["a"] == "base")["p"] == pytest.approx(
        mw
    )


def test_listener_bootstrap_interval_covers_the_mean_and_widens_with_listener_spread():
    rows = synthetic()
    s = analysis.summary(rows, ["overall"], CONDITIONS, n_boot=4000)["overall"]
    values = [r["value"] for r in rows if r["scale"] == "overall" and r["set_name"] == "better"]
    assert s["better"]["mean"] == pytest.approx(np.mean(values))
    assert s["better"]["ratings"] == 24 * 4 and s["better"]["listeners"] == 24
    lo, hi = s["better"]["ci"]
    assert lo < np.mean(values) < hi
    # with one rating per listener the cluster bootstrap is the ordinary one: compare with scipy's
    per = [
        np.mean(
            [
                r["value"]
                for r in rows
                if r["listener"] == w and r["set_name"] == "better" and r["scale"] == "overall"
            ]
        )
        for w in range(24)
    ]
    ours = analysis.cluster_bootstrap([[v] for v in per], n_boot=20000)
    ref = stats.bootstrap(
        (np.array(per),), np.mean, n_resamples=20000, method="percentile", random_state=1
    ).confidence_interval
    assert ours[0] == pytest.approx(ref.low, abs=0.05) and ours[1] == pytest.approx(ref.high, abs=0.05)
    # a naive interval over all ratings treats 96 ratings as independent: narrower than the listeners allow
    naive = stats.bootstrap(
        (np.array(values, float),), np.mean, n_resamples=4000, method="percentile", random_state=1
    ).confidence_interval
    assert (hi - lo) > (naive.high - naive.low)


def test_krippendorff_alpha_on_the_textbook_example():
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability": 4 observers, 12 units,
    # missing values as None; the interval alpha is 0.849 (the PyPI package krippendorff 0.9.0 gives
    # 0.8491071428571428 on the same data).
    data = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
        [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
    ]
    units = [[row[u] for row in data if row[u] is not None] for u in range(12)]
    assert analysis.krippendorff_interval(units) == pytest.approx(0.8491071428571428, rel=1e-12)
    assert analysis.krippendorff_interval([[3, 3], [5, 5], [1, 1]]) == 1.0  # perfect agreement


def test_agreement_is_high_when_listeners_agree_and_near_zero_when_they_do_not():
    rng = np.random.default_rng(2)
    quality = rng.integers(1, 11, size=30)
    agree = [
        {"item": i, "scale": "s", "value": int(np.clip(q + rng.integers(-1, 2), 1, 10))}
        for i, q in enumerate(quality)
        for _ in range(8)
    ]
    noise = [
        {"item": i, "scale": "s", "value": int(rng.integers(1, 11))} for i in range(30) for _ in range(8)
    ]
    assert analysis.agreement(agree, ["s"])["s"]["alpha"] > 0.8
    assert abs(analysis.agreement(noise, ["s"])["s"]["alpha"]) < 0.1


def test_wilson_interval_and_binomial_test_match_scipy():
    for k, n in ((0, 10), (7, 20), (45, 50), (13, 13)):
        ref = stats.binomtest(k, n).proportion_ci(method="wilson")
        lo, hi = analysis.wilson(k, n)
        assert lo == pytest.approx(ref.low, abs=1e-9) and hi == pytest.approx(ref.high, abs=1e-9)
    choices = [
        {"a_set": "x", "b_set": "y", "a_idx": 0, "b_idx": 1, "chosen_idx": 0 if i < 30 else 1}
        for i in range(40)
    ]
    choices += [{"a_set": "y", "b_set": "x", "a_idx": 1, "b_idx": 0, "chosen_idx": 0} for _ in range(10)]
    pref = analysis.preferences(choices, ["x", "y"])
    (pair,) = pref["pairs"]
    assert (pair["a"], pair["n"], pair["a_chosen"]) == ("x", 50, 40)  # sides swapped are counted for x
    assert pair["p"] == pytest.approx(stats.binomtest(40, 50).pvalue)
    assert pref["first_heard_won"] == pytest.approx(30 / 50)
