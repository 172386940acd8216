"""Triplets whole, or not at all: what a grammar allows on a grid that holds triplets.

A grid of 12 steps a quarter holds 16ths (3 steps) and triplets of 8ths (4 steps); it also
holds any mix of the two, which no musician writes and no ABC reader takes without complaint
("different length notes in tuple"). On such a grid every onset and length is *binary* (a
multiple of the finest power-of-two note the grid holds), except inside a *group*: three notes
(or rests) of one triplet length, in the time of two notes of the binary length they stand for,
starting where those two could (an 8th triplet on any 8th of the bar, a 16th triplet on any
16th). Positions count from the bar's downbeat. A grid without triplets (4, 8, 16 steps a
quarter) constrains nothing.
"""

from __future__ import annotations

import numpy as np


class Tuplets:
    """The triplet discipline of one sequence (a grammar holds one)."""

    def __init__(self, steps: int):
        odd = steps
        while odd % 2 == 0:
            odd //= 2
        self.binary = odd  # the finest power-of-two note: 3 steps (a 16th) on 12, 3 (a 32nd) on 24
        self.units: dict[int, int] = {}  # triplet note length -> where its group may start (a multiple)
        if odd % 3 == 0:
            for u in (
                2 * steps // 3,
                steps // 3,
                steps // 6,
                steps // 12,
            ):  # quarter, 8th, 16th, 32nd triplets
                if u > 0 and u % self.binary and (3 * u) % 2 == 0:
                    self.units[u] = 3 * u // 2  # the binary note two of which the three replace
        self.on = bool(self.units)
        self.group: tuple[int, int, int] | None = None  # (next onset, length, notes left)

    def onset_ok(self, pos: int) -> bool:
        """Whether a note or rest may start at this position of its bar."""
        if self.group is not None:
            return pos == self.group[0]
        return pos % self.binary == 0

    def length_ok(self, pos: int, length: int, room: int | None = None) -> bool:
        """Whether a note or rest starting at ``pos`` may last ``length`` steps (``room``: the
        steps left in the bar, which a new group must fit in)."""
        if self.group is not None:
            return length == self.group[1]
        if length % self.binary == 0:
            return True
        align = self.units.get(length)
        return align is not None and pos % align == 0 and (room is None or 3 * length <= room)

    def onsets(self, size: int) -> np.ndarray:
        """:meth:`onset_ok` over positions 0 .. size - 1."""
        if self.group is not None:
            m = np.zeros(size, dtype=bool)
            if self.group[0] < size:
                m[self.group[0]] = True
            return m
        return np.arange(size) % self.binary == 0

    def lengths(self, pos: int, size: int, room: int | None = None) -> np.ndarray:
        """:meth:`length_ok` over lengths 1 .. size."""
        d = np.arange(1, size + 1)
        if self.group is not None:
            return d == self.group[1]
        ok = d % self.binary == 0
        for u, align in self.units.items():
            if u <= size and pos % align == 0 and (room is None or 3 * u <= room):
                ok[u - 1] = True
        return ok

    def played(self, pos: int, length: int) -> None:
        """A note or rest from ``pos`` for ``length`` steps was taken."""
        if self.group is not None:
            nxt, u, left = self.group
            self.group = (nxt + u, u, left - 1) if left > 1 else None
        elif length % self.binary and length in self.units:
            self.group = (pos + length, length, 2)

    @property
    def closed(self) -> bool:
        """No group waits for its notes (a bar may end, the piece may end)."""
        return self.group is None


def breaks_triplets(score, steps: int, rests: bool = True) -> bool:
    """Whether a one-voice score, on a grid of ``steps`` a quarter, has a note, rest or gap that
    :class:`Tuplets` would not allow (a score off the grid, or of several voices, does too).
    ``rests``: a rest may be a member of a triplet group (encodings whose rests are tokens);
    encodings whose rests are the gaps between notes cannot say how a gap divides, so there a
    rest is binary and outside groups."""
    tup = Tuplets(steps)
    if not tup.on:
        return False
    if not score.is_monophonic():
        return True
    try:
        q = score.resample(steps)
    except ValueError:
        return True
    bars = q.bar_starts().tolist()
    first = q.bar_length(*q.meter_at(0))
    downbeat = [b for b in bars]
    downbeat[0] = bars[0] - (first - q.pickup if q.pickup else 0)  # positions count from the downbeat
    bar, ends = 0, bars[1:] + [q.end]
    for onset, length, pitch in q.events():
        while onset >= ends[bar]:
            if not tup.closed:
                return True
            bar += 1
        pos = onset - downbeat[bar]
        if not (tup.onset_ok(pos) and tup.length_ok(pos, length)):
            return True
        if not rests and pitch is None and (tup.group is not None or length % tup.binary):
            return True
        tup.played(pos, length)
        if tup.group is not None and downbeat[bar] + tup.group[0] > ends[bar]:
            return True  # a group that the bar line would cut
    return not tup.closed


def onsets_after(tup: Tuplets, cursor: int, size: int) -> np.ndarray:
    """Over positions 0 .. size - 1 of a bar: where the next note may start when the last one
    ended at ``cursor`` and the time between (if any) is a rest, as in the encodings whose rests
    are gaps (REMI, CP, NB: see :func:`breaks_triplets`): inside a group at its next slot, outside
    a binary position after a binary rest."""
    k = np.arange(size)
    if tup.group is not None:
        return k == tup.group[0]
    gap = k - cursor
    return (gap >= 0) & (k % tup.binary == 0) & (gap % tup.binary == 0)


def rest_then(tup: Tuplets, cursor: int, onset: int) -> None:
    """The rest from ``cursor`` to ``onset`` (implicit in REMI, CP and NB: binary), played."""
    if onset > cursor:
        tup.played(cursor, onset - cursor)


def on_grid_of(score, steps: int) -> bool:
    """Whether every time of the score is whole steps on a grid of ``steps`` a quarter."""
    try:
        score.resample(steps)
    except ValueError:
        return False
    return True
