"""Keys of 4/4 measures for Tonal Drift: duration-weighted pitch-class histograms per bar and
music21's default key finder (Aarden-Essen profiles), done for all bars at once."""

from __future__ import annotations

import numpy as np

from tunelab.corpus.transforms import best_keys


def measure_histograms(pitch: np.ndarray, steps: np.ndarray, bar: int) -> np.ndarray:
    """(bars, 12) quarter-note weight of each pitch class per bar; a note crossing a barline
    counts in each bar for the part it sounds there (as music21's 4/4 measures split it)."""
    onsets = np.cumsum(steps) - steps
    n_bars = int(-(-(onsets[-1] + steps[-1]) // bar)) if len(steps) else 0
    hist = np.zeros((n_bars, 12))
    for p, on, d in zip(pitch.tolist(), onsets.tolist(), steps.tolist()):
        if p < 0:
            continue
        t, end = on, on + d
        while t < end:
            b = t // bar
            part = min(end, (b + 1) * bar) - t
            hist[b, p % 12] += part * 0.25
            t += part
    return hist


def measure_keys(pitch: np.ndarray, steps: np.ndarray, bar: int = 16) -> list[tuple[int, str]]:
    """``(tonic pitch class, mode)`` of every bar that holds a note."""
    hist = measure_histograms(pitch, steps, bar)
    has_notes = hist.sum(axis=1) > 0
    return best_keys(hist[has_notes]) if has_notes.any() else []
