"""The metric view of a score that the event encodings (REMI, CP, NB) share.

A score on a grid of ``steps_per_quarter`` becomes bars (each with its time signature and
length in steps) and notes placed by bar index and position inside the bar. A pickup is the
tail of its first bar: the score starts at position ``start`` of bar 0, so a position always
counts from the bar's downbeat, in pickup bars too. A score that ends before its last bar is full
(a short final bar) keeps that end, and a bar that a meter change cuts short (a written meter
change inside a bar, as in some ABC tunebooks) keeps its length. Decoding inverts this exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from tunelab.corpus.transforms import on_grid, quantize
from tunelab.score import Score
from tunelab.tokenizers.base import Tokenizer
from tunelab.tokenizers.values import Values


@dataclass
class MetricScore:
    """Bars and notes on a step grid.

    Attributes:
        steps_per_quarter: grid resolution.
        bars: ``[(num, den)]`` per bar, in order.
        start: position (steps) in bar 0 where the score begins: ``bar length - pickup``, or 0.
        notes: ``(N, 5)`` int array of ``[bar, position, pitch, duration, velocity]`` sorted by
            bar, position, pitch; durations in steps.
        end: the position in the last bar where the score ends, or None at the bar's end.
        cuts: ``{bar: length}`` for the bars before the last that end before their meter's
            length, because the next bar changes the meter early.
        items: ``[(bar, position, item index)]`` of the control items
            (:mod:`tunelab.tokenizers.controls`), in order.
    """

    steps_per_quarter: int
    bars: list
    start: int
    notes: np.ndarray
    end: int | None = None
    cuts: dict = field(default_factory=dict)
    items: list = field(default_factory=list)

    def bar_length(self, i: int) -> int:
        if i in self.cuts:
            return self.cuts[i]
        num, den = self.bars[i]
        return self.steps_per_quarter * 4 * num // den


def to_metric(score: Score, steps_per_quarter: int, items=()) -> MetricScore:
    """Place every note (and control item ``(tick, index)``) by bar and position. The score must
    be on the grid already (:func:`on_grid`); ValueError for a meter the grid cannot hold."""
    q = quantize(score, steps_per_quarter) if score.tpq != steps_per_quarter else score
    starts = [int(b) for b in q.bar_starts()]
    bars = [q.meter_at(b) for b in starts]
    first_len = steps_per_quarter * 4 * bars[0][0] // bars[0][1]
    start = first_len - q.pickup if q.pickup else 0
    bar_of = np.searchsorted(np.array(starts), q.onset, side="right") - 1
    frame = np.array(starts) - np.array([start] + [0] * (len(starts) - 1))  # downbeat times
    pos = q.onset - frame[bar_of] if len(q) else q.onset
    notes = (
        np.stack([bar_of, pos, q.pitch, q.duration, q.velocity], axis=1).astype(np.int64)
        if len(q)
        else np.zeros((0, 5), np.int64)
    )
    last = int(frame[-1])  # the last bar's downbeat
    end = q.end - last if q.end < last + q.bar_length(*bars[-1]) else None
    actual = np.diff(frame).tolist()  # bar lengths, the last excepted
    cuts = {i: n for i, n in enumerate(actual) if n != q.bar_length(*bars[i])}
    placed = []
    for t, index in items:
        b = int(np.searchsorted(np.array(starts), t, side="right") - 1)
        placed.append((b, int(t - frame[b]), index))
    return MetricScore(steps_per_quarter, bars, start, notes, end, cuts, placed)


def from_metric(m: MetricScore) -> Score:
    """The Score a MetricScore describes (tpq = steps per quarter)."""
    lengths = [m.bar_length(i) for i in range(len(m.bars))]
    downbeats = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64) - m.start
    tss, prev = [], None
    for i, ts in enumerate(m.bars):
        if ts != prev:
            tss.append((max(0, int(downbeats[i])), *ts))
            prev = ts
    n = m.notes
    onset = downbeats[n[:, 0]] + n[:, 1] if len(n) else np.zeros(0, np.int64)
    end = int(downbeats[-1] + (lengths[-1] if m.end is None else m.end)) if m.bars else 0
    if len(n):
        end = max(end, int((onset + n[:, 3]).max()))
    pickup = lengths[0] - m.start if m.start else 0
    score = Score(
        onset, n[:, 3], n[:, 2], n[:, 4], tpq=m.steps_per_quarter, time_signatures=tss, pickup=pickup, end=end
    )
    score.meta["items"] = [(min(int(downbeats[b] + p), end), i) for b, p, i in m.items if b < len(downbeats)]
    return score


def round_trip_problem(
    original: Score, decoded: Score, steps_per_quarter: int, *, velocity: bool = True, meter: bool = True
) -> str | None:
    """Why ``decoded`` is not a lossless decoding of ``original`` on the grid, or None.

    Compared: onsets, durations and pitches (velocities too where the encoding keeps them),
    time signatures, pickup, keys, the written form, and where the piece ends.
    """
    q = quantize(original, steps_per_quarter) if original.tpq != steps_per_quarter else original
    keep = {"rests": None, "tempo": None, "meta": {}}
    a = q.replace(**keep)
    b = decoded.replace(**keep)
    if not velocity:
        b = b.replace(velocity=a.velocity) if len(a) == len(b) else b
    if not meter:
        b = b.replace(time_signatures=a.time_signatures, pickup=a.pickup)
    return a.diff(b, rests=False)


class EventTokenizer(Tokenizer):
    """Base of the encodings built on the metric view (REMI, CP, NB): value ranges, options,
    and decoding through :func:`from_metric`."""

    # what a tokenizer saved before an option existed was made with (see tunelab.tokenizers.from_dict)
    saved_before: ClassVar[dict] = {**Tokenizer.saved_before, "max_meter_denominator": 16}
    carries_meter = True

    def __init__(
        self,
        steps_per_quarter: int = 4,
        max_bar_quarters: int = 136,
        max_duration_quarters: int = 16,
        max_meter_denominator: int = 64,
        **options,
    ):
        super().__init__(steps_per_quarter, **options)
        self.values = Values(
            steps_per_quarter, max_bar_quarters, max_duration_quarters, max_meter_denominator
        )
        self.meters = self.values.meters

    def _options(self) -> dict:
        return {
            **super()._options(),
            "max_bar_quarters": self.values.max_bar_quarters,
            "max_duration_quarters": self.values.max_duration_quarters,
            "max_meter_denominator": self.values.max_meter_denominator,
        }

    def check_meter(self, meter) -> None:
        """ValueError for a meter outside the vocabulary or, fitted, outside the corpus's meters."""
        if meter not in self.values.meters:
            raise ValueError(f"meter {meter[0]}/{meter[1]} is outside this tokenizer's range")
        if self.meters_seen is not None and tuple(meter) not in self.meters_seen:
            seen = ", ".join(f"{n}/{d}" for n, d in self.meters_seen)
            raise ValueError(
                f"meter {meter[0]}/{meter[1]} is not among the training corpus's meters ({seen})"
            )

    def _to_score(self, m: MetricScore) -> Score:
        score = from_metric(m)
        return self.with_items(score, score.meta.pop("items"))

    def metric(self, score: Score) -> MetricScore:
        """The score's metric view on this tokenizer's grid, its control items placed."""
        q = on_grid(score, self.steps_per_quarter)
        return to_metric(q, self.steps_per_quarter, self.item_ids(q))
