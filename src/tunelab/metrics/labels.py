"""Judges of the labels a melody was asked to have, fitted on real songs: a key-and-mode finder
and a tune-type classifier. They score generated melodies against the request, and real held-out
songs against their notated labels, so the two rates can be put side by side.

- :class:`KeyFinder`: one pitch-class profile per mode, the mean duration-weighted histogram of
  the training songs notated in that mode, rotated to their tonic (Krumhansl & Kessler's method
  with profiles learned from the corpus, as Temperley and Albrecht & Shanahan do); a melody's key
  is the (tonic, mode) whose rotated profile correlates best with its histogram. Unlike the
  major/minor finders it tells dorian and mixolydian apart, as folk tunebooks write them.
- :class:`TypeClassifier`: softmax regression on a tune's rhythm (meter, note-length histogram
  and transitions, notes per bar, the share of dotted pairs) and range, trained on the songs that
  name their type.

>>> finder = KeyFinder.fit(train_scores)            # doctest: +SKIP
>>> finder.find(score)                               # doctest: +SKIP
('D', 'dorian')
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tunelab.metrics.distribution import LENGTH_BINS
from tunelab.score import Score, tonic_pitch_class
from tunelab.tokenizers.controls import tune_type

# the dance types a tune's rhythm shows (the Essen songs' R: fields name topics: love song, ballad)
DANCES = ("reel", "jig", "double jig", "single jig", "slip jig", "hornpipe", "polka", "slide", "strathspey",
          "highland fling", "march", "waltz", "mazurka", "schottische", "barndance", "clog")  # fmt: skip
TONICS = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def histogram(score: Score) -> np.ndarray:
    """Duration-weighted pitch-class histogram, summing to 1 (zeros without notes)."""
    h = np.bincount(score.pitch % 12, weights=score.duration / score.tpq, minlength=12).astype(float)
    return h / h.sum() if h.sum() else h


def notated_key(score: Score) -> tuple[int, str] | None:
    """(tonic pitch class, mode) of the opening key, where the source names a mode."""
    if not score.keys or score.keys[0][0] != 0 or score.keys[0][2] is None:
        return None
    return tonic_pitch_class(score.keys[0][1]), score.keys[0][2]


@dataclass
class KeyFinder:
    modes: tuple[str, ...]
    profiles: np.ndarray  # (modes, 12), tonic at 0

    @classmethod
    def fit(cls, scores, min_songs: int = 20) -> KeyFinder:
        """Profiles of the modes at least ``min_songs`` songs are notated in."""
        sums: dict[str, np.ndarray] = {}
        counts: dict[str, int] = {}
        for s in scores:
            key = notated_key(s)
            if key is None or not len(s):
                continue
            tonic, mode = key
            sums[mode] = sums.get(mode, np.zeros(12)) + np.roll(histogram(s), -tonic)
            counts[mode] = counts.get(mode, 0) + 1
        modes = tuple(sorted(m for m, n in counts.items() if n >= min_songs))
        if not modes:
            raise ValueError(f"no mode is notated on {min_songs} songs or more: nothing to fit profiles on")
        return cls(modes, np.stack([sums[m] / counts[m] for m in modes]))

    def find(self, score: Score) -> tuple[str, str] | None:
        """(tonic, mode) of the best-correlating profile; None without notes."""
        h = histogram(score)
        if not h.any():
            return None
        rotated = np.stack([np.roll(self.profiles, t, axis=1) for t in range(12)])  # (12, modes, 12)
        a = rotated - rotated.mean(axis=2, keepdims=True)
        b = h - h.mean()
        r = (a @ b) / (np.linalg.norm(a, axis=2) * np.linalg.norm(b) + 1e-12)
        t, m = np.unravel_index(int(np.argmax(r)), r.shape)
        return TONICS[t], self.modes[m]


def rhythm_features(score: Score, meters: list[tuple[int, int]]) -> np.ndarray:
    """A tune's rhythm and range as one vector (see :class:`TypeClassifier`)."""
    q = score.duration / score.tpq
    lengths = np.minimum(np.searchsorted(LENGTH_BINS, q - 1e-9), len(LENGTH_BINS) - 1)
    hist = np.bincount(lengths, minlength=len(LENGTH_BINS)).astype(float)
    trans = np.zeros((len(LENGTH_BINS), len(LENGTH_BINS)))
    np.add.at(trans, (lengths[:-1], lengths[1:]), 1)
    dotted = float(np.mean(np.isclose(q[:-1], 3 * q[1:]))) if len(q) > 1 else 0.0
    meter = np.array([float(score.meter_at(0) == m) for m in meters])
    bars = max(len(score.bar_starts()), 1)
    span = float(score.pitch.max() - score.pitch.min()) / 24 if len(score) else 0.0
    return np.concatenate([meter, hist / max(hist.sum(), 1), trans.ravel() / max(trans.sum(), 1),
                           [len(score) / bars / 16, dotted, span]])  # fmt: skip


@dataclass
class TypeClassifier:
    types: tuple[str, ...]
    meters: list
    weights: np.ndarray  # (features + 1, types)

    @classmethod
    def fit(cls, scores, types=DANCES, min_songs: int = 30, steps: int = 600, l2: float = 1e-3,
            seed: int = 0) -> TypeClassifier:  # fmt: skip
        """Softmax regression on the songs whose type is one of ``types`` (None: any) that at
        least ``min_songs`` songs name."""
        import torch

        labelled = [(s, tune_type(s.meta.get("rhythm"))) for s in scores if len(s)]
        counts: dict[str, int] = {}
        for _, t in labelled:
            if t and (types is None or t in types):
                counts[t] = counts.get(t, 0) + 1
        types = tuple(sorted(t for t, n in counts.items() if n >= min_songs))
        if len(types) < 2:
            raise ValueError(f"fewer than two tune types have {min_songs} songs: nothing to classify")
        kept = [(s, t) for s, t in labelled if t in types]
        meters = sorted({s.meter_at(0) for s, _ in kept})
        x = torch.tensor(
            np.stack([_with_bias(rhythm_features(s, meters)) for s, _ in kept]), dtype=torch.float32
        )
        y = torch.tensor([types.index(t) for _, t in kept])
        torch.manual_seed(seed)
        w = torch.zeros(x.shape[1], len(types), requires_grad=True)
        opt = torch.optim.LBFGS([w], max_iter=steps, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(x @ w, y) + l2 * (w[:-1] ** 2).sum()
            loss.backward()
            return loss

        opt.step(closure)
        return cls(types, meters, w.detach().numpy())

    def classify(self, scores) -> list[str]:
        x = np.stack([_with_bias(rhythm_features(s, self.meters)) for s in scores])
        return [self.types[i] for i in np.argmax(x @ self.weights, axis=1)]


def _with_bias(v: np.ndarray) -> np.ndarray:
    return np.append(v, 1.0)
