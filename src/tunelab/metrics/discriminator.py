"""Can a classifier tell a set of melodies from real ones? A classifier two-sample test.

Two classifiers, each cross-validated (``FOLDS`` folds, stratified, seeded) on equal numbers of
melodies from the two sets (the larger set subsampled), each melody classified by a model that
never saw it:

- **features**: L2-regularised logistic regression over hand-made features of a whole melody
  (:func:`features`: pitch-class, interval and duration histograms, range, density, rests, notes
  on downbeats and beats, the first and last notes, steps and leaps, the length). Linear and
  read off directly: its largest standardised weights name what gives a set away.
- **sequence**: a small bidirectional GRU over the notes (pitch, interval, duration, place in
  the bar), mean- and max-pooled. It sees order, which histograms do not: phrases that wander,
  endings that do not close, a motif never answered. Its most confident melodies, and in each
  the bar whose removal most lowers its verdict, are the passages that give the set away.
- **both**: the two as one, each melody's two held-out probabilities averaged.

Accuracy is over every held-out verdict, with a 95% Wilson interval: 0.5 when the classifier
cannot tell the sets apart, which real songs against other real songs must give (the reference
row). Accuracy, not AUC, to compare with the published figures (issue 31).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from tunelab.score import Score

FOLDS = 5
INTERVALS = np.arange(-12, 13)  # semitones; larger leaps share the edge bins
DURATIONS = np.array([0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0])  # quarters; others: the nearest


def feature_names() -> list[str]:
    return (
        [f"pitch class {i}" for i in range(12)]
        + [f"interval {i:+d}" for i in INTERVALS]
        + [f"duration {d:g}" for d in DURATIONS]
        + [f"last note pitch class {i}" for i in range(12)]
        + ["pitch range", "mean pitch", "pitch spread", "log notes", "log quarters", "notes a quarter",
           "rest share", "on downbeats", "on beats", "steps", "leaps", "repeats", "largest leap",
           "direction changes", "last note length", "last note to first", "first note pitch class"]
    )  # fmt: skip


def features(score: Score) -> np.ndarray:
    """A melody as one vector (:func:`feature_names`); an empty melody: zeros."""
    n = len(score)
    out = np.zeros(len(feature_names()))
    if not n:
        return out
    p, q = score.pitch.astype(int), score.duration / score.tpq
    onset = score.onset / score.tpq
    steps = np.diff(p)
    i = 0
    out[i : i + 12] = np.bincount(p % 12, minlength=12) / n
    i += 12
    if len(steps):
        out[i : i + len(INTERVALS)] = np.bincount(np.clip(steps, -12, 12) + 12, minlength=25) / len(steps)
    i += len(INTERVALS)
    nearest = np.abs(q[:, None] - DURATIONS[None]).argmin(1)
    out[i : i + len(DURATIONS)] = np.bincount(nearest, minlength=len(DURATIONS)) / n
    i += len(DURATIONS)
    out[i + p[-1] % 12] = 1.0
    i += 12
    end = float((onset + q).max())
    bars = score.bar_starts() / score.tpq
    on_bar = np.isin(np.round(onset, 4), np.round(np.asarray(bars, dtype=float), 4)).mean()
    on_beat = np.isclose(onset % 1.0, 0.0).mean()
    sounding = float(np.minimum(q, np.diff(np.append(onset, end))).sum())
    turns = np.diff(np.sign(steps[steps != 0])) if len(steps) > 1 else np.zeros(0)
    out[i:] = [
        (p.max() - p.min()) / 24, (p.mean() - 60) / 12, p.std() / 12, math.log(n), math.log(max(end, 0.25)),
        n / max(end, 0.25), 1 - sounding / max(end, 0.25), on_bar, on_beat,
        float(np.mean(np.abs(steps) <= 2) if len(steps) else 0), float(np.mean(np.abs(steps) > 4) if len(steps) else 0),
        float(np.mean(steps == 0) if len(steps) else 0), float(np.abs(steps).max() / 12 if len(steps) else 0),
        float(np.mean(turns != 0) if len(turns) else 0), q[-1] / 4, ((p[-1] - p[0]) % 12) / 12, (p[0] % 12) / 12,
    ]  # fmt: skip
    return out


@dataclass
class Verdict:
    """One classifier's two-sample test of set ``a`` against set ``b``."""

    classifier: str
    accuracy: float
    low: float  # 95% Wilson interval
    high: float
    melodies: int  # each set's, after balancing
    fold_accuracies: list[float]
    tells: list[str] = field(default_factory=list)  # what gives set ``a`` away


def wilson(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if not n:
        return float("nan"), float("nan")
    p = hits / n
    mid, half = (p + z * z / (2 * n)), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (mid - half) / (1 + z * z / n), (mid + half) / (1 + z * z / n)


def folds(n: int, seed: int) -> np.ndarray:
    """Each of ``2n`` balanced items' fold: the two sets' items spread evenly over the folds."""
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.permutation(np.arange(n) % FOLDS), rng.permutation(np.arange(n) % FOLDS)])


def balanced(a: list[Score], b: list[Score], seed: int) -> tuple[list[Score], list[Score]]:
    rng = np.random.default_rng(seed)
    a, b = [s for s in a if len(s)], [s for s in b if len(s)]
    n = min(len(a), len(b))
    pick = lambda xs: [xs[i] for i in sorted(rng.choice(len(xs), n, replace=False))]  # noqa: E731
    return pick(a), pick(b)


def two_sample(a: list[Score], b: list[Score], *, seed: int = 0, sequence: bool = True) -> list[Verdict]:
    """The feature classifier's verdict on ``a`` against ``b``, then the sequence model's, then
    both's (their held-out probabilities averaged)."""
    from .discriminator_models import both_test, feature_test, sequence_test

    a, b = balanced(a, b, seed)
    if len(a) < 2 * FOLDS:
        raise ValueError(f"a two-sample test needs {2 * FOLDS} melodies in each set; got {len(a)}")
    fold = folds(len(a), seed)
    verdict, by_features = feature_test(a, b, fold)
    if not sequence:
        return [verdict]
    heard, by_sequence = sequence_test(a, b, fold, seed=seed)
    return [verdict, heard, both_test(by_features, by_sequence, fold, len(a))]


def real_against_real(real: list[Score], *, seed: int = 0, sequence: bool = True) -> list[Verdict]:
    """The reference row: the real songs split at random into two halves, one tested against the
    other (the classifiers must come out at 0.5 within the interval)."""
    rng = np.random.default_rng(seed + 1)
    order = rng.permutation(len(real))
    half = len(real) // 2
    return two_sample(
        [real[i] for i in order[:half]], [real[i] for i in order[half:]], seed=seed, sequence=sequence
    )
