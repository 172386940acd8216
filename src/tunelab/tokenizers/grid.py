"""grid: the 16th-note time grid of the Deutschl LSTM recipe and the study.

One token per grid step: a MIDI pitch starts a note, ``r`` starts a rest, ``_`` holds the
event before it, and ``/`` ends a song (the study puts 64 of them between songs). Monophonic
only; it keeps notes and notated rests, no velocity. Keys, meters (``M:6/8``, and ``M:|`` where
the first full bar starts after a pickup) and the written form's marks are control items
(:mod:`tunelab.tokenizers.controls`) between the steps, where they happen. The vocabulary is the
pitches and items of a training set (:meth:`GridTokenizer.fit`), so the study's 45 symbols come
back from its train.txt, which has no keys or meters: 42 pitches, ``r``, ``_`` and ``/`` (plus
padding).
"""

from __future__ import annotations

import functools
import re

import numpy as np

from tunelab.corpus.transforms import on_grid
from tunelab.score import Score
from tunelab.tokenizers import controls as C
from tunelab.tokenizers.base import PAD, Grammar, Tokenizer, mask_of
from tunelab.tokenizers.rhythm import Tuplets

SEP, HOLD, REST = 1, 2, 3  # ids of "/", "_", "r"; pitches follow


class GridTokenizer(Tokenizer):
    name = "grid"
    separator_id = SEP  # what goes between songs in a training stream
    rests_are_tokens = True
    end_id = SEP
    bar_tokens = False  # steps, no bars: a bar is counted in steps of its meter
    song_gap = 64  # the study's: 64 `/` after each song, so its 64-token windows never straddle two
    finest_grid = 12  # a song's length grows with the grid
    text_lines = True  # grid text: one melody a line

    def __init__(self, steps_per_quarter: int = 4, pitches=range(128), **options):
        super().__init__(steps_per_quarter, **options)
        self.pitches = sorted(int(p) for p in pitches)
        self._pitch_id = {p: i + 4 for i, p in enumerate(self.pitches)}
        self.ITEM = 4 + len(self.pitches)

    @functools.cached_property  # fixed once the tokenizer is made; asked at every sampling step
    def vocab(self) -> list[str]:
        return ["<pad>", "/", "_", "r", *(str(p) for p in self.pitches), *self.items]

    def _fitted(self, scores) -> dict:
        """The pitches of ``scores`` (grid-text lines work too)."""
        seen = set()
        for s in scores:
            if isinstance(s, str):
                seen.update(int(t) for t in s.split() if t not in ("_", "r", "/"))
            else:
                seen.update(s.pitch.tolist())
        return {"pitches": sorted(seen)}

    def _options(self) -> dict:
        return {**super()._options(), "pitches": self.pitches}

    def pitch_ids(self) -> np.ndarray:
        return np.arange(4, 4 + len(self.pitches), dtype=np.int64)

    def _encode(self, score: Score) -> np.ndarray:
        if not score.is_monophonic():
            raise ValueError("grid holds one voice: this score has overlapping notes (more than one voice)")
        q = on_grid(score, self.steps_per_quarter)
        ids = []
        items = self.item_ids(q)
        k = 0
        for onset, dur, pitch in q.events():
            if pitch is not None and pitch not in self._pitch_id:
                raise ValueError(f"pitch {pitch} is not in this grid vocabulary (fit it on data with it)")
            if k == len(items):  # no item left: the event's steps at once
                ids.append(REST if pitch is None else self._pitch_id[pitch])
                ids.extend([HOLD] * (dur - 1))
                continue
            for step in range(onset, onset + dur):  # items before the step they fall on
                while k < len(items) and items[k][0] <= step:
                    ids.append(self.ITEM + items[k][1])
                    k += 1
                ids.append((REST if pitch is None else self._pitch_id[pitch]) if step == onset else HOLD)
        ids += [self.ITEM + i for _, i in items[k:]]  # at the end (a key or meter there is dropped)
        ids.append(SEP)
        return np.array(ids, dtype=np.int64)

    def _grammar(self, plan=None) -> Grammar:
        g = _GridGrammar(len(self.vocab), self.pitches, self.ITEM, self.items, self.steps_per_quarter,
                         self.bar_cuts, self.whole_triplets, self.meters_seen is not None or plan is not None)  # fmt: skip
        g.tok = self
        if plan is not None:
            g.plan(plan)
        return g

    def _to_score(self, songs) -> Score:
        return self._song(songs[0] if songs else ([], []))

    def decode_songs(self, ids) -> list[Score]:
        """Every song in a stream of ids (songs end at ``/``)."""
        grammar = self.grammar()
        for t in self._iter(ids):
            grammar.feed(t)
        return [self._song(s) for s in grammar.result()]

    def _song(self, song) -> Score:
        events, found = song
        notes = [(o, d, p) for o, d, p in events if p is not None]
        rests = [(o, d) for o, d, p in events if p is None]
        end = events[-1][0] + events[-1][1] if events else 0
        arr = np.array(notes, dtype=np.int64).reshape(-1, 3)
        score = Score(
            arr[:, 0],
            arr[:, 1],
            arr[:, 2],
            tpq=self.steps_per_quarter,
            end=end,
            rests=np.array(rests, dtype=np.int64).reshape(-1, 2),
        )
        return self.with_items(score, [(min(t, end), i) for t, i in found])


class _GridGrammar(Grammar):
    """A song is events (pitch or ``r``, then ``_``s) ending at ``/``, control items between
    steps; padding only at the end. Meters keep their bars whole: ``M:n/d`` at the start or where
    a bar of the meter before ends, ``M:|`` (the first full bar starts here) once, inside the
    first bar. A tokenizer that keeps bars whole (``bar_cuts`` False) changes meter at bar lines only."""

    def __init__(self, size: int, pitches: list[int], item: int, items: list[str], steps: int, cuts: bool,
                 triplets: bool = False, metered: bool = False):  # fmt: skip
        self.size, self.pitches, self.item, self.cuts, self.metered = size, pitches, item, cuts, metered
        self.steps, self.triplets = steps, triplets
        self.songs: list[tuple] = []
        self.current: list[list] = []
        self.found: list[tuple[int, int]] = []  # (tick, item index) of the current song
        self.padding = False
        # the three masks a grid state can have, built once (read-only: callers copy)
        body = mask_of(size, slice(SEP, None))
        body[PAD] = True  # padding may start wherever the sequence stops
        fresh = body.copy()
        fresh[HOLD] = False  # nothing to hold before a song's first event
        self._masks = {"padding": mask_of(size, [PAD]), "fresh": fresh, "body": body}
        # meter items: their ids and bar lengths in steps; the up-beat item's id
        self.meter_len = {item + i: steps * 4 * int(m[1]) // int(m[2])
                          for i, name in enumerate(items) if (m := re.fullmatch(r"M:(\d+)/(\d+)", name))}  # fmt: skip
        self.up = item + items.index("M:|") if "M:|" in items else None
        self.bar_items = {item + i: int(n[2:]) for i, n in enumerate(items) if n.startswith("B:")}
        self._names, self._plan, self._end, self._plan_meter = list(items), None, None, None
        self.tok = None
        self._has_headers = any(n[:2] in C.ONCE or n in C.INFILL for n in items)
        self._new_song()

    def plan(self, plan) -> None:
        """Keep to a :class:`tunelab.tokenizers.plan.Plan`: its meter named first and no other,
        the first full bar after its upbeat, the song's end at its last bar line."""
        if plan.meter is not None:
            name = f"M:{plan.meter[0]}/{plan.meter[1]}"
            meter_id = next((i for i, n in self.meter_len.items() if n == plan.bar_steps(self.steps)
                             and self._names[i - self.item] == name), None)  # fmt: skip
            if meter_id is None:
                raise ValueError(f"{name} is not a meter this grid knows")
            self._plan_meter = meter_id
        self._plan = plan
        self._end = plan.end(self.steps)

    def _new_song(self) -> None:
        self.named: set = set()
        self.here: set = set()  # the slots of the items named since the last step
        self.tup = Tuplets(self.steps) if self.triplets else None
        self.t = 0  # steps so far
        self.bar_len: int | None = None  # the meter's bar, once named
        self.bar0 = 0  # where bar counting starts (a meter change, the first full bar)
        self.first_bar = True  # no bar line passed yet: an up-beat may still be named
        self.bars_named: int | None = None  # a bar count the song named (B:n), which binds its end
        self.bars_done = 0  # full bars completed (bar lines passed after the first full bar started)
        self.upbeat = 0  # steps before the first full bar

    def _meter_mask(self, mask: np.ndarray) -> np.ndarray:
        if not self.meter_len:
            return mask
        mask = mask.copy()
        ids = list(self.meter_len)
        at_line = (
            self.t == 0 if self.bar_len is None else (self.t - self.bar0) % self.bar_len == 0 or self.cuts
        )
        mask[ids] = at_line and (self.bar_len is not None or self.t == 0)
        if self.up is not None:
            mask[self.up] = bool(self.bar_len) and self.first_bar and 0 < self.t < self.bar_len
            if self.triplets:  # the first full bar starts on the binary grid
                mask[self.up] &= self.t % Tuplets(self.steps).binary == 0
        return mask

    def allowed(self, field=None, chosen=()) -> np.ndarray:
        mask = self._allowed()
        if self.tok is not None and self.here and not self.padding:  # an item once per slot at a step
            free = mask.copy()
            free[self.item :] &= self.tok.items_free(self.here)
            # where nothing else may come (a plan's end that a triplet cannot reach: a known dead
            # end of the triplet grid), the items stay open and the step cap ends the melody
            mask = free if free[1:].any() else mask
        return mask

    def _allowed(self) -> np.ndarray:
        if self.padding:
            return self._masks["padding"]
        mask = self._meter_mask(self._masks["body" if self.current else "fresh"])
        if self._plan is not None:
            mask = self._planned(mask)
        if self._end is not None:
            mask = mask.copy()
            if self.t >= self._end:  # the end: nothing more sounds
                mask[HOLD : self.item] = False
            mask[SEP] &= self.t == self._end
        elif self.bars_named and self.bar_len:
            mask = self._bound_mask(mask)
        if self.tok is not None and self._has_headers:  # header controls: once, before the music
            mask = mask.copy()
            mask[self.item :] &= self.tok.items_allowed(bool(self.current), self.named)
        if (
            self.metered and self.meter_len and self.bar_len is None
        ):  # a corpus with meters: a song names its own first
            mask = mask.copy()
            mask[SEP : self.item] = False
        if self.tup is None or not self.current:
            return mask
        mask = mask.copy()  # triplets whole: when the event now sounding may end, or go on
        start, length = self.current[-1][0], self.current[-1][1]
        mask[REST : self.item] &= self._may_end(start, length)
        mask[SEP] &= self._may_end(start, length, last=True)
        mask[HOLD] &= self.tup.group is None or length < self.tup.group[1]
        return mask

    def _planned(self, mask: np.ndarray) -> np.ndarray:
        mask = mask.copy()
        if self._plan_meter is not None:  # its meter, named once at the start, and no other
            first = bool(mask[self._plan_meter]) and self.bar_len is None
            mask[list(self.meter_len)] = False
            mask[self._plan_meter] = first
        if self._plan.bars is not None:  # a song names the bars it has: the plan's, if any
            mask[[i for i, n in self.bar_items.items() if n != self._plan.bars]] = False
        up = self._plan.pickup or 0
        if self.up is not None:
            mask[self.up] = bool(up) and self.t == up and self.first_bar
        if up and self.t == up and self.first_bar:  # the first full bar starts here: say so first
            mask[SEP : self.item] = False
        return mask

    def _bound_mask(self, mask: np.ndarray) -> np.ndarray:
        """A song that names its bars (``B:n``) ends with its last: at the bar line after n full
        bars, or n bars' length from the start where an upbeat and a short last bar make n bars
        together. A model that drifts past its own count otherwise holds a note to the step cap."""
        n, mask = self.bars_named, mask.copy()
        if self.bars_done >= n:
            mask[HOLD : self.item] = False
        short_last = (
            self.upbeat and self.bars_done == n - 1 and self._rel(self.t) == self.bar_len - self.upbeat
        )
        mask[SEP] &= self.bars_done >= n or bool(short_last)
        return mask

    def _rel(self, t: int) -> int:
        """A tick's position in its bar (from the meter's bars; from the start without a meter)."""
        if not self.bar_len:
            return t
        return (t - self.bar0) % self.bar_len

    def _may_end(self, start: int, length: int, last: bool = False) -> bool:
        """Whether the event from ``start`` may end after ``length`` steps and a new one start
        (``last``: and the song end, no triplet group left waiting)."""
        pos = self._rel(start)
        room = self.bar_len - pos if self.bar_len else None
        if not self.tup.length_ok(pos, length, room):
            return False
        if not last:
            return True
        group = self.tup.group
        return length % self.tup.binary == 0 if group is None else group[2] == 1

    def feed(self, token) -> bool:
        if not (0 <= token < self.size) or not self.allowed()[token]:
            return False
        if token == PAD:
            self.padding = True
        elif token == SEP:
            if self.tup is not None and self.current:
                self.tup.played(self._rel(self.current[-1][0]), self.current[-1][1])
            if self.current or self.found:
                self.songs.append(([tuple(e) for e in self.current], self.found))
            self.current, self.found = [], []
            self._new_song()
        elif token >= self.item:
            self.found.append((self.t, token - self.item))
            if self.tok is not None:
                self.named.add(self.tok.header_kind(token - self.item))
                self.here.add(self.tok.item_slot(token - self.item))
            self.bars_named = self.bar_items.get(token, self.bars_named)
            if token in self.meter_len:
                if self.bar_len and (self.t - self.bar0) % self.bar_len:  # a bar the change cuts short
                    self.bars_done += 1
                self.bar_len, self.bar0 = self.meter_len[token], self.t
                self.first_bar = self.t == 0
            elif token == self.up:
                self.bar0, self.first_bar, self.upbeat = self.t, False, self.t
        else:
            if token == HOLD:
                self.current[-1][1] += 1
            else:
                if self.tup is not None and self.current:
                    self.tup.played(self._rel(self.current[-1][0]), self.current[-1][1])
                self.current.append([self.t, 1, None if token == REST else self.pitches[token - 4]])
            self.t += 1
            self.here.clear()
            if self.bar_len and self.t > self.bar0 and (self.t - self.bar0) % self.bar_len == 0:
                self.bars_done += 1
            if self.bar_len and self.t >= self.bar_len:
                self.first_bar = False
        return True

    def result(self):
        last = [([tuple(e) for e in self.current], self.found)] if self.current or self.found else []
        return self.songs + last
