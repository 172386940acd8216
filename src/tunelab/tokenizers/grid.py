"""grid: the 16th-note time grid of the Deutschl LSTM recipe and the study.

One token per grid step: a MIDI pitch starts a note, ``r`` starts a rest, ``_`` holds the
event before it, and ``/`` ends a song (the study puts 64 of them between songs). Monophonic
only; it keeps notes and notated rests but no meter, key or velocity. The vocabulary is the
pitches of a training set (:meth:`GridTokenizer.fit`), so the study's 45 symbols come back
from its train.txt: 42 pitches, ``r``, ``_`` and ``/`` (plus padding).
"""

from __future__ import annotations

import numpy as np

from tunelab.corpus.transforms import one_voice_problem, quantize
from tunelab.score import Score
from tunelab.tokenizers.base import PAD, Grammar, Tokenizer, mask_of

SEP, HOLD, REST = 1, 2, 3  # ids of "/", "_", "r"; pitches follow


class GridTokenizer(Tokenizer):
    name = "grid"
    separator_id = SEP  # what goes between songs in a training stream
    end_id = SEP

    def __init__(self, steps_per_quarter: int = 4, pitches=range(128)):
        super().__init__(steps_per_quarter)
        self.pitches = sorted(int(p) for p in pitches)
        self._pitch_id = {p: i + 4 for i, p in enumerate(self.pitches)}

    @property
    def vocab(self) -> list[str]:
        return ["<pad>", "/", "_", "r", *(str(p) for p in self.pitches)]

    def fit(self, scores) -> GridTokenizer:
        """A tokenizer whose pitches are those of ``scores`` (grid-text lines work too)."""
        seen = set()
        for s in scores:
            if isinstance(s, str):
                seen.update(int(t) for t in s.split() if t not in ("_", "r", "/"))
            else:
                seen.update(s.pitch.tolist())
        return GridTokenizer(self.steps_per_quarter, sorted(seen))

    def _options(self) -> dict:
        return {**super()._options(), "pitches": self.pitches}

    def pitch_ids(self) -> np.ndarray:
        return np.arange(4, 4 + len(self.pitches), dtype=np.int64)

    def _encode(self, score: Score) -> np.ndarray:
        q = quantize(score, self.steps_per_quarter) if score.tpq != self.steps_per_quarter else score
        problem = one_voice_problem(score, q)
        if problem:
            raise ValueError(f"grid holds one voice: {problem}")
        ids = []
        for _, dur, pitch in q.events():
            if pitch is not None and pitch not in self._pitch_id:
                raise ValueError(f"pitch {pitch} is not in this grid vocabulary (fit it on data with it)")
            ids.append(REST if pitch is None else self._pitch_id[pitch])
            ids.extend([HOLD] * (dur - 1))
        ids.append(SEP)
        return np.array(ids, dtype=np.int64)

    def _grammar(self) -> Grammar:
        return _GridGrammar(len(self.vocab), self.pitches)

    def _to_score(self, songs) -> Score:
        return self._song(songs[0] if songs else [])

    def decode_songs(self, ids) -> list[Score]:
        """Every song in a stream of ids (songs end at ``/``)."""
        grammar = self.grammar()
        for t in self._iter(ids):
            grammar.feed(t)
        return [self._song(s) for s in grammar.result()]

    def _song(self, events) -> Score:
        notes = [(o, d, p) for o, d, p in events if p is not None]
        rests = [(o, d) for o, d, p in events if p is None]
        end = events[-1][0] + events[-1][1] if events else 0
        arr = np.array(notes, dtype=np.int64).reshape(-1, 3)
        return Score(
            arr[:, 0],
            arr[:, 1],
            arr[:, 2],
            tpq=self.steps_per_quarter,
            end=end,
            rests=np.array(rests, dtype=np.int64).reshape(-1, 2),
        )


class _GridGrammar(Grammar):
    """A song is events (pitch or ``r``, then ``_``s) ending at ``/``; padding only at the end."""

    def __init__(self, size: int, pitches: list[int]):
        self.size, self.pitches = size, pitches
        self.songs: list[list] = []
        self.current: list[list] = []
        self.padding = False
        # the three masks a grid state can have, built once (read-only: callers copy)
        body = mask_of(size, slice(SEP, None))
        body[PAD] = True  # padding may start wherever the sequence stops
        fresh = body.copy()
        fresh[HOLD] = False  # nothing to hold before a song's first event
        self._masks = {"padding": mask_of(size, [PAD]), "fresh": fresh, "body": body}

    def allowed(self, field=None, chosen=()) -> np.ndarray:
        return self._masks["padding" if self.padding else "body" if self.current else "fresh"]

    def feed(self, token) -> bool:
        if not (0 <= token < self.size) or not self.allowed()[token]:
            return False
        if token == PAD:
            self.padding = True
        elif token == SEP:
            if self.current:
                self.songs.append([tuple(e) for e in self.current])
            self.current = []
        elif token == HOLD:
            self.current[-1][1] += 1
        else:
            t = self.current[-1][0] + self.current[-1][1] if self.current else 0
            self.current.append([t, 1, None if token == REST else self.pitches[token - 4]])
        return True

    def result(self):
        return self.songs + ([[tuple(e) for e in self.current]] if self.current else [])
