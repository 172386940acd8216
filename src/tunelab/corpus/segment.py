"""Segmentation into beats and bars that respects time-signature changes and the pickup."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tunelab.score import Score


@dataclass(frozen=True)
class Segment:
    """One beat or bar: ``[start, end)`` in ticks and the notes that start inside it.

    Attributes:
        index: position in the score (0 = the pickup, if the score has one).
        start, end: tick bounds.
        notes: indices into the score's note arrays of the notes with onset in ``[start, end)``.
        sounding: indices of the notes that sound at any time in ``[start, end)`` (held ones too).
    """

    index: int
    start: int
    end: int
    notes: np.ndarray
    sounding: np.ndarray


def segments(score: Score, unit: str = "bar") -> list[Segment]:
    """Split a score into bars or beats (see ``Score.bar_starts`` / ``Score.beat_starts``).

    A pickup is a segment of its own (a short first bar; its beats count back from the
    downbeat), and a time-signature change starts a new bar.
    """
    if unit == "bar":
        starts = score.bar_starts()
    elif unit == "beat":
        starts = score.beat_starts()
    else:
        raise ValueError(f"unit must be 'bar' or 'beat', got {unit!r}")
    bounds = np.append(starts, max(score.end, int(starts[-1]) + 1))
    first = np.searchsorted(score.onset, bounds, side="left")
    offset = score.offset
    out = []
    for i in range(len(starts)):
        a, b = int(bounds[i]), int(bounds[i + 1])
        sounding = np.flatnonzero((score.onset < b) & (offset > a))
        out.append(Segment(i, a, b, np.arange(first[i], first[i + 1]), sounding))
    return out
