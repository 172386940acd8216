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


def bar_ticks(score: Score) -> np.ndarray:
    """Where bar ``k`` starts, for ``k`` counted as ``--bars`` counts them: bar 1 is the first
    full bar (a pickup is bar 0), and the last entry is the score's end."""
    starts = score.bar_starts()
    if not score.pickup:
        starts = np.concatenate([[0], starts])  # no bar 0: index k is bar k
    return np.append(starts, score.end).astype(np.int64)


def bar_span(score: Score, first: int, last: int) -> tuple[int, int]:
    """``[start, end)`` ticks of bars ``first`` .. ``last`` (1 = the first full bar, both
    included); ValueError naming the tune's bars when they are not in it."""
    ticks = bar_ticks(score)
    bars = len(ticks) - 2  # bars 1 .. bars
    if not 1 <= first <= last <= bars:
        raise ValueError(f"bars {first}-{last} are not in this tune (it has bars 1-{bars})")
    return int(ticks[first]), int(ticks[last + 1])


def excerpt(score: Score, start: int, end: int) -> Score:
    """The music of ``[start, end)`` ticks as a Score of its own, starting at tick 0: the notes
    and rests that start there (cut at ``end``), the meter and key in force at ``start`` and their
    changes, the form's marks inside, its chord symbols. A note sounding into ``start`` from
    before is not in it (it belongs to the music before). The pickup is kept when the excerpt
    starts at 0 and holds it."""
    if not 0 <= start < end <= score.end:
        raise ValueError(f"an excerpt [{start}, {end}) must lie inside the score [0, {score.end})")

    def take(onset, duration, *cols):
        keep = (onset >= start) & (onset < end)
        return [onset[keep] - start, np.minimum(duration[keep], end - onset[keep]), *(c[keep] for c in cols)]

    def changes(items):
        state = [x for x in items if x[0] <= start]
        out = [(0, *state[-1][1:])] if state else []
        return out + [(t - start, *rest) for t, *rest in items if start < t < end]

    onset, duration, pitch, velocity = take(score.onset, score.duration, score.pitch, score.velocity)
    rests = None
    if score.rests is not None:
        r = score.rests
        rests = np.stack(take(r[:, 0], r[:, 1]), axis=1)
    form = None
    if score.form is not None:
        from tunelab.form import Form

        marks = tuple((t - start, m) for t, m in score.form.marks if start <= t <= end)
        form = Form(marks) if marks else None
    meta = {k: v for k, v in score.meta.items() if k not in ("barlines", "barlines_tpq", "sections")}
    if "chords" in score.meta:
        meta["chords"] = [[t - start, text] for t, text in score.meta["chords"] if start <= t < end]
    pickup = score.pickup if start == 0 and score.pickup < end else 0
    return Score(onset, duration, pitch, velocity, tpq=score.tpq, time_signatures=changes(score.time_signatures),
                 keys=changes(score.keys), pickup=pickup, end=end - start, tempo=score.tempo, rests=rests,
                 form=form, meta=meta)  # fmt: skip


def splice(score: Score, start: int, end: int, middle: Score) -> Score:
    """``score`` with ``[start, end)`` replaced by ``middle`` (a Score of that length, from tick
    0): a note sounding into ``start`` from before is cut there, the notes and rests starting
    inside are ``middle``'s; meters, keys, form and everything after ``end`` stay as they are."""
    if middle.tpq != score.tpq:
        middle = middle.resample(score.tpq)
    if middle.end > end - start:
        raise ValueError(f"the middle is {middle.end} ticks long; the span holds {end - start}")
    before = score.onset < start
    after = score.onset >= end
    duration = score.duration.copy()
    duration[before] = np.minimum(duration[before], start - score.onset[before])
    parts = [
        (score.onset[before], duration[before], score.pitch[before], score.velocity[before]),
        (middle.onset + start, middle.duration, middle.pitch, middle.velocity),
        (score.onset[after], duration[after], score.pitch[after], score.velocity[after]),
    ]
    onset, dur, pitch, vel = (np.concatenate(cols) for cols in zip(*parts))
    rests = score.rests
    if rests is not None:
        keep = (rests[:, 0] < start) | (rests[:, 0] >= end)
        kept = rests[keep].copy()
        cut = kept[:, 0] < start
        kept[cut, 1] = np.minimum(kept[cut, 1], start - kept[cut, 0])
        new = middle.rests if middle.rests is not None else silences(middle)
        rests = np.concatenate([kept, new + [start, 0]])
    return score.replace(onset=onset, duration=dur, pitch=pitch, velocity=vel, rests=rests)


def silences(score: Score) -> np.ndarray:
    """``[onset, duration]`` of every stretch of ``[0, end)`` where no note sounds: the rests a
    Score that notates none implies."""
    out, t = [], 0
    for onset, offset in zip(score.onset.tolist(), score.offset.tolist()):
        if onset > t:
            out.append((t, onset - t))
        t = max(t, offset)
    if score.end > t:
        out.append((t, score.end - t))
    return np.array(out, dtype=np.int64).reshape(-1, 2)
