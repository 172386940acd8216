"""Keys of 4/4 measures for Tonal Drift: duration-weighted pitch-class histograms per bar and
music21's default key finder (Aarden-Essen profiles), done for all bars at once."""

from __future__ import annotations

import numpy as np

from tunelab.corpus.transforms import best_keys


def measure_histograms(pitch: np.ndarray, steps: np.ndarray, bar: int) -> np.ndarray:
    """(bars, 12) quarter-note weight of each pitch class per bar.

    A note belongs to the bar where it starts, with its whole length: the study's code builds
    its 4/4 measures with music21's ``makeMeasures``, which does not split a note at the
    barline. A bar that only a held note reaches has no notes.
    """
    onsets = np.cumsum(steps) - steps
    n_bars = int(onsets[-1] // bar) + 1 if len(steps) else 0
    hist = np.zeros((n_bars, 12))
    notes = pitch >= 0
    np.add.at(hist, (onsets[notes] // bar, pitch[notes] % 12), steps[notes] * 0.25)
    return hist


def measure_keys(pitch: np.ndarray, steps: np.ndarray, bar: int = 16) -> list[tuple[int, str]]:
    """``(tonic pitch class, mode)`` of every bar that holds a note."""
    hist = measure_histograms(pitch, steps, bar)
    has_notes = hist.sum(axis=1) > 0
    return best_keys(hist[has_notes]) if has_notes.any() else []
