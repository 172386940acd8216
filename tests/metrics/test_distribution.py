import numpy as np
import pytest

from tunelab import Score
from tunelab.metrics.distribution import FEATURES, compare_sets, compare_values, features, overlap

from ..conftest import shared


def test_features_by_hand():
    s = Score.from_notes([(0, 4, 60), (4, 2, 62), (6, 2, 60), (8, 8, 67)], tpq=4)
    f = features(s)
    assert f["pitch_count"].tolist() == [3.0] and f["pitch_range"].tolist() == [7.0]
    assert f["avg_pitch_interval"].tolist() == [(2 + 2 + 7) / 3]
    assert f["avg_ioi"].tolist() == [(1 + 0.5 + 0.5) / 3]
    assert f["pitch_class_histogram"][[0, 2, 7]].tolist() == [0.5, 0.25, 0.25]
    assert f["note_length_histogram"][[1, 3, 5]].tolist() == [0.5, 0.25, 0.25]  # 1/2, 1, 2 quarters
    assert f["pitch_class_transition_matrix"].reshape(12, 12)[0, 2] == pytest.approx(1 / 3)


def test_overlap_of_same_and_far_samples():
    rng = np.random.default_rng(0)
    a, b, far = rng.normal(0, 1, 500), rng.normal(0, 1, 500), rng.normal(8, 1, 500)
    oa_same, kl_same = overlap(a, b)
    oa_far, kl_far = overlap(a, far)
    assert oa_same > 0.85 and kl_same < 0.1
    assert oa_far < 0.01 and kl_far > 5


def _melodies(lines):
    from tunelab.io.gridtext import parse_line

    return [parse_line(line)[0] for line in lines]


@pytest.mark.shared_data
def test_train_is_closer_to_test_than_shuffled_pitches():
    """OA sanity: real songs beat the same-rhythm songs with randomly redrawn pitches wherever
    the feature sees pitch; rhythm-only features cannot tell the two apart, by construction."""
    test = _melodies(shared("study-split/test.txt").read_text().splitlines()[:150])
    train = _melodies(shared("study-split/train.txt").read_text().splitlines()[:150])
    rng = np.random.default_rng(9)
    shuffled = [s.replace(pitch=rng.integers(48, 84, len(s))) for s in train]
    real, fake = compare_sets(train, test, max_items=150), compare_sets(shuffled, test, max_items=150)
    pitch_features = [f for f in FEATURES if "pitch" in f]
    for name in pitch_features:
        assert real[name]["oa"] > fake[name]["oa"], (name, real[name], fake[name])
    for name in set(FEATURES) - set(pitch_features):
        assert real[name]["oa"] == pytest.approx(fake[name]["oa"])  # same rhythms, same distances


def test_compare_values_per_metric():
    rng = np.random.default_rng(1)
    out = compare_values(
        rng.normal(0, 1, (300, 2)), np.c_[rng.normal(0, 1, 300), rng.normal(5, 1, 300)], ["a", "b"]
    )
    assert out["a"] > 0.8 and out["b"] < 0.05


def _scipy_kde(sample, grid):
    from scipy.stats import gaussian_kde

    d = gaussian_kde(sample)(grid)
    return d / (d.sum() * (grid[1] - grid[0]))


@pytest.mark.parametrize(
    "name",
    [
        "normal",
        "two far narrow modes",
        "cauchy tails",
        "five values",
        "all but ten equal",
        "exponential",
        "small",
    ],
)
def test_kde_agrees_with_scipy(name):
    """The binned FFT KDE (large samples) and the exact sum (small ones) against scipy's
    gaussian_kde on samples that stress binning: narrow modes far apart, heavy tails, ties."""
    from tunelab.metrics.distribution import EXACT_PAIRS, kde

    rng = np.random.default_rng(3)
    n = 30_000
    x = {
        "normal": rng.normal(0, 1, n),
        "two far narrow modes": np.r_[rng.normal(0, 0.01, n // 2), rng.normal(100, 0.01, n // 2)],
        "cauchy tails": rng.standard_cauchy(n),
        "five values": rng.integers(0, 5, n).astype(float),
        "all but ten equal": np.r_[np.zeros(n - 10), rng.normal(0, 1, 10)],
        "exponential": rng.exponential(1, n),
        "small": rng.normal(0, 1, 40),
    }[name]
    lo, hi = x.min(), x.max()
    grid = np.linspace(lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo), 512)
    assert (len(x) * len(grid) > EXACT_PAIRS) == (name != "small")  # both paths are exercised
    ours, ref = kde(x, grid), _scipy_kde(x, grid)
    assert np.abs(ours - ref).max() <= (1e-4 if name != "small" else 1e-12) * ref.max()
