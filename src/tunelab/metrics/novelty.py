"""Copying of the training set: the longest run of notes a melody shares with any training song.

A melody is read as notes in time order; each note after the first is the symbol ``(interval
from the previous note in semitones, the previous note's inter-onset interval in quarters)``, so
a run of k shared notes is k - 1 shared symbols, whatever the transposition, with the same
rhythm (a rest is part of the inter-onset interval before it; the run's last note may be longer
or shorter). Every training song goes into one generalized suffix automaton (Blumer et al.
1985), which gives, for each note of a melody, the longest run ending there that occurs in some
training song, and which song: one pass over the melody, whatever the size of the training set.

Per melody (:class:`Copying`): the longest shared run in notes and in quarters, the training
song it comes from (the nearest song), ``similarity`` = that run's notes / the melody's notes
(1.0: the melody is one training song, transposed or not), and ``covered``: the share of the
melody's notes inside shared runs of at least one bar (4 quarters). Sturm's AI music generation
challenges and NotaGen reject or filter melodies like these before judging them.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise

import numpy as np

from tunelab.score import Score

BAR_QUARTERS = Fraction(4)  # a run this long or longer counts towards ``covered``


@dataclass(frozen=True)
class Copying:
    """How much of one melody is found in the training songs."""

    notes: int  # notes in the melody
    longest_run: int  # notes in the longest run shared with a training song (1: none)
    start: int  # the melody's note where that run starts
    longest_run_quarters: float  # onset of its last note minus onset of its first
    nearest: int | None  # index of the training song that run comes from
    similarity: float  # longest_run / notes, in [0, 1]
    covered: float  # share of notes inside shared runs of at least one bar

    def flags(self) -> dict[str, bool]:
        """Past each copying threshold of Sturm's challenges and NotaGen's filter, as tunelab
        counts them: a shared run of 2 bars, of 4 bars, half the notes inside shared runs of a
        bar, and a near copy: the longest shared run 95% of the melody and 2 bars long at least
        (a melody of a few notes is found somewhere in any training set)."""
        two_bars = self.longest_run_quarters >= 2 * BAR_QUARTERS
        return {
            "shares_2_bars": two_bars,
            "shares_4_bars": self.longest_run_quarters >= 4 * BAR_QUARTERS,
            "half_covered": self.covered >= 0.5,
            "near_copy": self.similarity >= 0.95 and two_bars,
        }


def symbols(score: Score) -> tuple[list[tuple[int, Fraction]], list[Fraction]]:
    """``(symbols, onsets)``: one symbol per note after the first, onsets in quarters. Chords
    keep their highest note (the melody line)."""
    onset, pitch = score.onset.tolist(), score.pitch.tolist()
    notes: dict[int, int] = {}
    for o, p in zip(onset, pitch):
        notes[o] = max(p, notes.get(o, -1))
    times = sorted(notes)
    quarters = [Fraction(t, score.tpq) for t in times]
    out = [(notes[b] - notes[a], qb - qa) for (a, b), (qa, qb) in zip(pairwise(times), pairwise(quarters))]
    return out, quarters


class TrainingIndex:
    """The training songs in one suffix automaton; :meth:`match` measures one melody."""

    def __init__(self, songs: list[Score]):
        self._ids: dict = {}
        # the automaton: per state, transitions, suffix link, longest length, and a song that
        # contains the state's strings (where it was first seen)
        self._next: list[dict[int, int]] = [{}]
        self._link, self._len, self._song = [-1], [0], [-1]
        for index, song in enumerate(songs):
            last = 0  # each song starts again from the root: a generalized automaton
            for symbol in symbols(song)[0]:
                last = self._extend(last, self._ids.setdefault(symbol, len(self._ids)), index)

    def _extend(self, last: int, c: int, song: int) -> int:
        nxt, link, length = self._next, self._link, self._len
        if c in nxt[last]:  # the string already exists (another song): split if needed
            q = nxt[last][c]
            if length[q] == length[last] + 1:
                return q
            return self._clone(last, q, c, self._song[q])
        cur = len(length)
        nxt.append({})
        link.append(0)
        length.append(length[last] + 1)
        self._song.append(song)
        p = last
        while p != -1 and c not in nxt[p]:
            nxt[p][c] = cur
            p = link[p]
        if p != -1:
            q = nxt[p][c]
            link[cur] = q if length[q] == length[p] + 1 else self._clone(p, q, c, self._song[q])
        return cur

    def _clone(self, p: int, q: int, c: int, song: int) -> int:
        nxt, link, length = self._next, self._link, self._len
        clone = len(length)
        nxt.append(dict(nxt[q]))
        link.append(link[q])
        length.append(length[p] + 1)
        self._song.append(song)
        while p != -1 and nxt[p].get(c) == q:
            nxt[p][c] = clone
            p = link[p]
        link[q] = clone
        return clone

    def match(self, melody: Score) -> Copying:
        seq, quarters = symbols(melody)
        n = len(quarters)
        state, length = 0, 0
        best, best_end, best_song = 0, 0, None
        covered = np.zeros(n, dtype=bool)
        nxt, link, lens = self._next, self._link, self._len
        for i, symbol in enumerate(seq):
            c = self._ids.get(symbol)
            while state and (c is None or c not in nxt[state]):
                state = link[state]
                length = lens[state]
            if c is not None and c in nxt[state]:
                state, length = nxt[state][c], length + 1
            else:
                state, length = 0, 0
            # the run ends at note i + 1 and spans ``length`` symbols: notes i + 1 - length .. i + 1
            if length > best:
                best, best_end, best_song = length, i + 1, self._song[state]
            if length and quarters[i + 1] - quarters[i + 1 - length] >= BAR_QUARTERS:
                covered[i + 1 - length : i + 2] = True
        run = best + 1 if n else 0
        return Copying(
            notes=n,
            longest_run=run,
            start=best_end - best if best else 0,
            longest_run_quarters=float(quarters[best_end] - quarters[best_end - best]) if best else 0.0,
            nearest=best_song if best else None,
            similarity=run / n if n and best else 0.0,
            covered=float(covered.mean()) if n else 0.0,
        )


@dataclass(frozen=True)
class CopyExample:
    """One melody and the training song it shares its longest run with, for drawing."""

    item: str
    melody: Score
    song_id: str
    song: Score
    copy: Copying
    song_start: int | None  # the song's note where the shared run starts (find_run)


def find_run(melody: Score, copy: Copying, song: Score) -> int | None:
    """The note of ``song`` where ``copy``'s longest shared run starts (its first occurrence;
    None if ``song`` does not hold it): for drawing the copy, not for measuring it."""
    seq, song_seq = symbols(melody)[0], symbols(song)[0]
    run = seq[copy.start : copy.start + copy.longest_run - 1]
    for k in range(len(song_seq) - len(run) + 1):
        if song_seq[k : k + len(run)] == run:
            return k
    return None
