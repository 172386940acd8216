import numpy as np
import pytest

from tunelab.metrics.stats import bootstrap_ci, cliffs_delta, compare, holm
from tunelab.metrics.tokens import syntax_error_rate


def test_cliffs_delta_by_hand():
    # a = [1, 2, 3], b = [2, 4]: pairs (a > b) = (3>2) = 1; (a < b) = (1<2, 1<4, 2<4, 3<4) = 4
    assert cliffs_delta([1, 2, 3], [2, 4]) == pytest.approx((1 - 4) / 6)
    assert cliffs_delta([5, 6], [1, 2]) == 1.0 and cliffs_delta([1], []) == 0.0


def test_holm_by_hand():
    # p = [0.01, 0.04, 0.03]: sorted 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 -> max(0.06, 0.04) = 0.06
    assert holm([0.01, 0.04, 0.03]).tolist() == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.9]).tolist() == [1.0, 1.0]


def test_bootstrap_interval_covers_the_mean_and_repeats():
    x = np.random.default_rng(0).normal(10, 2, 400)
    lo, hi = bootstrap_ci(x, seed=1)
    assert lo < x.mean() < hi and hi - lo < 1.0
    assert bootstrap_ci(x, seed=1) == (lo, hi)


def test_compare_finds_a_real_difference_and_not_a_fake_one():
    rng = np.random.default_rng(4)
    same_a, same_b, shifted = (
        rng.normal(0, 1, (150, 2)),
        rng.normal(0, 1, (150, 2)),
        rng.normal(0, 1, (150, 2)),
    )
    shifted[:, 1] += 1.5
    out = compare({"a": same_a, "b": same_b, "c": shifted}, ["m0", "m1"], n_boot=200)
    pairs = {(p["a"], p["b"]): p for p in out["m1"]["pairs"]}
    assert pairs[("a", "c")]["p_holm"] < 1e-6 and pairs[("a", "c")]["cliffs_delta"] < -0.5
    assert pairs[("a", "b")]["p_holm"] > 0.01
    assert out["m1"]["kruskal"]["p"] < 1e-6 and out["m0"]["kruskal"]["p"] > 0.01
    constant = compare({"a": np.ones((5, 1)), "b": np.ones((5, 1))}, ["m"], n_boot=50)
    assert np.isnan(constant["m"]["kruskal"]["p"]) and np.isnan(constant["m"]["pairs"][0]["p_holm"])


def test_syntax_error_rate_counts_what_the_grammar_refuses():
    import tunelab.tokenizers as tt

    tok = tt.get("grid")
    good = tok.encode(__import__("tunelab").Score.from_notes([(0, 4, 60)], tpq=4))
    bad = np.array([2, 2, 64, 2])  # two holds before any event
    out = syntax_error_rate(tok, [good, bad])
    assert out == {
        "rate": 2 / (len(good) + 4),
        "errors": 2,
        "tokens": len(good) + 4,
        "sequences": 2,
        "sequences_with_errors": 1,
    }
