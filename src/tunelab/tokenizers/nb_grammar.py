"""The NB encoding's grammar (:mod:`tunelab.tokenizers.nb`): which word may come next, field by
field, given the words so far; a state machine fed one word at a time. It keeps bars whole (or cut
where a meter change cuts them), one voice where the corpus has one, triplets whole, items once
where they come once, and a plan's meter, upbeat and bar count (:mod:`tunelab.tokenizers.plan`).
"""

from __future__ import annotations

import numpy as np

from tunelab.tokenizers.base import CONTI, PAD, Grammar, mask_of
from tunelab.tokenizers.metric import MetricScore
from tunelab.tokenizers.nb_plan import Planned
from tunelab.tokenizers.nb_words import BAR_END, EMPTY_BAR, EOS, NEW_BAR, SAME_BAR, SAME_POS, START, V0
from tunelab.tokenizers.rhythm import Tuplets, onsets_after, rest_then
from tunelab.tokenizers.values import VELOCITIES


class NBGrammar(Planned, Grammar):
    def __init__(self, tok, plan=None):
        self.tok, self.sizes, self.plan = tok, tok.vocab_size, plan
        self.end_tick = plan.end(tok.steps_per_quarter) if plan is not None else None
        self.phase = 0  # 0 before Start, 1 in the body, 2 after EOS or padding
        self.bars: list = [(4, 4)]
        self.start = 0
        self.pos: int | None = None  # last onset position in the current bar
        self.end: int | None = None
        self.cuts: dict[int, int] = {}  # bars that a BarEnd ended early
        self.cut = False  # a BarEnd was the last word: the next opens a bar, with a new meter
        self.notes: list[list[int]] = []
        self.items: list[tuple] = []
        self.note_here = False  # a note word was at the current position already
        self.origin = 0  # the current bar's downbeat, in steps from where the score starts
        self.busy = 0  # where the last note ends, in those steps
        self.item0 = V0 + 128  # pitch-field values from here on name control items
        self.tup = Tuplets(tok.steps_per_quarter) if tok.whole_triplets else None
        self.tick = 0  # how far the triplet discipline has followed the music
        self.named: set = set()  # header controls given (once each, before the music)
        self.here: set = set()  # the slots of the items named at the current position
        self._headers = any(tok.header_kind(i) for i in range(len(tok.items)))
        seen = tok.meters if tok.meters_seen is None else [m for m in tok.meters if m in set(tok.meters_seen)]
        self.meter_ok = mask_of(self.sizes[1], [tok._meter_id[m] for m in seen])

    def _bar_len(self, meter_id: int) -> int:
        meter = self.bars[-1] if meter_id == CONTI else self.tok.meters[meter_id - V0]
        return self.tok.values.bar_steps(meter)

    def _lowest_free(self) -> int | None:
        if self.pos is not None:
            return self.pos + 1
        return self.start if len(self.bars) == 1 else None  # bar 0 may start empty; others not

    def _lowest_end(self) -> int:
        """The first position where the piece may end inside its last bar: after its last
        onset, after the start of a pickup bar, never on the downbeat."""
        if self.pos is not None:
            return self.pos + 1
        return max(1, self.start + 1) if len(self.bars) == 1 else 1

    def _free(self, state: int, pos_id: int, ts: int = CONTI) -> bool:
        """Whether a note may start at this word's position (monophonic: once the last has ended)."""
        if not self.tok.monophonic:
            return True
        if state == SAME_POS:
            at = self.origin + self.pos
        else:
            origin = self.origin + (self._len_now() if state == NEW_BAR else 0)
            at = origin + pos_id - V0
        return at >= self.busy

    def _bar_meters(self, state: int) -> np.ndarray:
        """The time-signature values a bar-opening word may take: CONTI or a meter of the corpus; a
        new meter after a cut bar; for a note, a bar long enough to start after the last note."""
        m = self.meter_ok.copy()
        m[CONTI] = not self.cut
        if self.cut:  # a bar cut short: the next changes the meter
            m[self.tok._meter_id[self.bars[-1]]] = False
        if state == NEW_BAR and self._floor(NEW_BAR) > 0:
            m &= self._meters_past(self._floor(NEW_BAR))
        return m

    def _meters_past(self, floor: int) -> np.ndarray:
        """Over the time-signature field: CONTI and the meters whose bar is longer than ``floor``."""
        lengths = np.zeros(self.sizes[1], dtype=np.int64)
        lengths[CONTI] = self._bar_len(CONTI)
        lengths[V0:] = [self.tok.values.bar_steps(m) for m in self.tok.meters]
        return lengths > floor

    def _len_now(self) -> int:
        """The current bar's length (cut short by a BarEnd, or its meter's)."""
        return self.cuts.get(len(self.bars) - 1, self._bar_len(CONTI))

    def _floor(self, state: int) -> int:
        """The lowest position a word of this state may take (monophonic, without items: where the
        last note has ended; items may stand inside a sounding note)."""
        if not self.tok.monophonic or self._items_open(state):
            return 0
        return self.busy - self.origin - (self._len_now() if state == NEW_BAR else 0)

    def _items_open(self, state: int) -> bool:
        """Whether a word of this state may name an item (else its position must hold a note)."""
        if not self._headers:
            return bool(self.tok.items)
        started = bool(self.notes) or len(self.bars) > 1 or state == NEW_BAR
        return bool(self.tok.items_allowed(started, self.named).any())

    def _cursor(self, state: int) -> int:
        """Where, in the bar a word of this state is in, the music followed so far ends."""
        if state == NEW_BAR:
            return max(self.tick - self.origin - self._len_now(), 0)
        return max(self.tick - self.origin, self.start if len(self.bars) == 1 else 0)

    def _rhythm(self, state: int, pos: int):
        """The triplet discipline after the rest up to ``pos`` (None: no discipline)."""
        if self.tup is None:
            return None
        import copy

        tup = copy.copy(self.tup)
        rest_then(tup, self._cursor(state), pos)
        return tup

    def _closed(self) -> bool:
        return self.tup is None or self.tup.closed

    def _same_pos(self) -> bool:
        return self.pos is not None and not (self.note_here and self.tok.monophonic)

    def allowed(self, field: int | None = 0, chosen: tuple = ()) -> np.ndarray:
        m = self._allowed(field, chosen)
        m = m if self.plan is None else self._planned(m, field or 0, chosen)
        if not field:  # a state none of whose words may follow (no note may start, no item is left): not it
            dead = [SAME_POS] * bool(m[SAME_POS] and not self.allowed(3, (SAME_POS, CONTI, CONTI))[V0:].any())
            dead += [SAME_BAR] * bool(m[SAME_BAR] and not self.allowed(2, (SAME_BAR, CONTI))[V0:].any())
            if dead:
                m = m.copy()
                m[dead] = False
        return m

    def _allowed(self, field: int | None = 0, chosen: tuple = ()) -> np.ndarray:
        size = self.sizes[field or 0]
        if not field:
            return self._states(size)
        state = chosen[0]
        if state in (EOS, BAR_END) and field == 2:
            allowed = mask_of(size, slice(V0 + self._lowest_end(), V0 + self._bar_len(CONTI)))
            if self.tup is not None:  # a bar or the piece ends on the binary grid
                allowed[V0:] &= np.arange(size - V0) % self.tup.binary == 0
            allowed[0] = state == EOS  # ignore: the piece ends with its bar
            return allowed
        if (
            state in (PAD, EOS, BAR_END)
            or (state in (START, EMPTY_BAR) and field > 2)
            or (state == EMPTY_BAR and field == 2)
        ):
            return mask_of(size, [0])
        if field == 1:
            if state == START:
                return self.meter_ok.copy()
            if state in (NEW_BAR, EMPTY_BAR):
                return self._bar_meters(state)
            return mask_of(size, [CONTI])
        if field == 2:
            length = self._bar_len(chosen[1])
            if state == SAME_POS:
                return mask_of(size, [CONTI])
            lo = self._lowest_free() if state == SAME_BAR else 0
            lo = max(lo, self._floor(state))
            m = mask_of(size, slice(V0 + lo, V0 + length))
            if self.tup is not None and (
                not self._items_open(state) or not self._closed()
            ):  # where a note may start
                m[V0 : V0 + length] &= onsets_after(
                    self.tup, self._cursor(state), length
                )  # (an item too, in a group)
            if self.tup is not None and state == START:  # a piece starts on the binary grid
                m[V0 : V0 + length] &= np.arange(length) % self.tup.binary == 0
            return m
        if field == 3:
            m = mask_of(size, slice(V0, None))
            if state == SAME_POS and self.note_here:
                m[self.item0 :] = False  # items come before the notes of their position
            if not self._free(state, chosen[2], chosen[1]) or not self._onset_ok(state, chosen[2]):
                m[V0 : self.item0] = False
            if self._headers:  # header controls: once each, before the music
                started = bool(self.notes) or len(self.bars) > 1 or state == NEW_BAR
                m[self.item0 :] &= self.tok.items_allowed(started, self.named)
            if state == SAME_POS:  # an item once per slot at a position
                m[self.item0 :] &= self.tok.items_free(self.here)
            return m
        if chosen[3] >= self.item0:
            return mask_of(size, [0])  # an item has no duration or velocity
        m = mask_of(size, slice(V0, None))  # duration, velocity: a value
        if field == 4 and self.tup is not None:
            pos = self._word_pos(state, chosen[2])
            m[V0:] = self._rhythm(state, pos).lengths(pos, size - V0, self._bar_len(chosen[1]) - pos)
        return m

    def _states(self, size: int) -> np.ndarray:
        """The bar states the next word may take (its first field)."""
        if self.phase == 0:
            return mask_of(size, [START])
        if self.phase == 2:
            return mask_of(size, [PAD])
        if self.cut:
            return mask_of(size, [x for x in (NEW_BAR, EMPTY_BAR) if self._bar_meters(x).any()])
        if not self._closed():  # a triplet group waits for its notes: in this bar
            lo = self._lowest_free()
            onsets = onsets_after(self.tup, self._cursor(SAME_BAR), self._bar_len(CONTI))
            return mask_of(size, [SAME_BAR] if lo is not None and onsets[lo:].any() else [])
        states = [PAD, EMPTY_BAR, EOS] + [NEW_BAR] * bool(self._bar_meters(NEW_BAR).any())
        other = self.meter_ok.copy()
        other[self.tok._meter_id[self.bars[-1]]] = False  # a cut bar must be followed by a new meter
        if (
            self.tok.bar_ends
            and self.tok.bar_cuts
            and other.any()
            and self._allowed(2, (BAR_END,))[V0:].any()
        ):
            states.append(BAR_END)
        lo = self._lowest_free()
        if lo is not None and max(lo, self._floor(SAME_BAR)) < self._bar_len(CONTI):
            states.append(SAME_BAR)
        if self._same_pos():
            states.append(SAME_POS)
        return mask_of(size, states)

    def _word_pos(self, state: int, pos_id: int) -> int:
        """The position of a word's onset in its bar (a SamePos word: the current one)."""
        return self.pos if state == SAME_POS else pos_id - V0

    def _onset_ok(self, state: int, pos_id: int) -> bool:
        """Whether a note may start at this word's position under the triplet discipline (a
        SamePos note follows the items of its position: the same place)."""
        if self.tup is None:
            return True
        pos = self._word_pos(state, pos_id)
        return bool(onsets_after(self.tup, self._cursor(state), pos + 1)[pos])

    def valid(self, word: tuple) -> bool:
        """Whether ``word`` may come next: :meth:`allowed` field by field, in scalar form (the
        decoder's hot path; tests check the two agree)."""
        if len(word) != len(self.sizes) or any(not 0 <= x < n for x, n in zip(word, self.sizes)):
            return False
        if self.plan is not None:  # sampling under a plan: the masks themselves
            return all(bool(self.allowed(f, word[:f])[word[f]]) for f in range(len(word)))
        state, ts, pos, pitch, dur, vel = word
        if self.phase == 0:
            return (
                state == START
                and ts >= V0
                and bool(self.meter_ok[ts])
                and V0 <= pos < V0 + self._bar_len(ts)
                and (self.tup is None or (pos - V0) % self.tup.binary == 0)
                and pitch == dur == vel == 0
            )
        if self.phase == 2:
            return state == PAD and ts == pos == pitch == dur == vel == 0
        if self.cut and not (
            state in (NEW_BAR, EMPTY_BAR) and ts >= V0 and ts != self.tok._meter_id[self.bars[-1]]
        ):
            return False
        if state != SAME_BAR and state != SAME_POS and not self._closed():
            return False  # a triplet group waits for its notes
        if state in (NEW_BAR, EMPTY_BAR) and ts >= V0 and not self.meter_ok[ts]:
            return False
        if state in (BAR_END, EOS) and pos and self.tup is not None and (pos - V0) % self.tup.binary:
            return False  # a bar or the piece ends on the binary grid
        if state == BAR_END:
            ends = V0 + self._lowest_end() <= pos < V0 + self._bar_len(CONTI)
            return self.tok.bar_ends and self.tok.bar_cuts and ts == pitch == dur == vel == 0 and ends
        if state == PAD:
            return ts == pos == pitch == dur == vel == 0
        if state == EOS:
            ends = pos == 0 or V0 + self._lowest_end() <= pos < V0 + self._bar_len(CONTI)
            return ts == pitch == dur == vel == 0 and ends
        if state == EMPTY_BAR:
            return ts >= CONTI and pos == pitch == dur == vel == 0
        if pitch >= self.item0:
            if dur or vel or (state == SAME_POS and self.note_here):
                return False
            if self._headers:
                started = bool(self.notes) or len(self.bars) > 1 or state == NEW_BAR
                if not self.tok.items_allowed(started, self.named)[pitch - self.item0]:
                    return False
            if state == SAME_POS and not self.tok.items_free(self.here)[pitch - self.item0]:
                return False
        elif min(pitch, dur, vel) < V0:
            return False
        if state == NEW_BAR:
            placed = ts >= CONTI and V0 <= pos < V0 + self._bar_len(ts)
        elif state == SAME_BAR:
            lo = self._lowest_free()
            placed = ts == CONTI and lo is not None and V0 + lo <= pos < V0 + self._bar_len(CONTI)
        else:
            placed = state == SAME_POS and self._same_pos() and ts == pos == CONTI
        if not placed:
            return False
        if pitch >= self.item0:
            return True
        if not self._free(state, pos, ts) or not self._onset_ok(state, pos):
            return False
        if self.tup is None:
            return True
        at = self._word_pos(state, pos)
        return self._rhythm(state, at).length_ok(at, dur - V0 + 1, self._bar_len(ts) - at)

    def feed(self, word) -> bool:
        word = tuple(int(x) for x in word)
        if not self.valid(word):
            return False
        state, ts, pos, pitch, dur, vel = word
        if state in (PAD, EOS):
            self.phase = 2
            self.end = pos - V0 if state == EOS and pos else None
        elif state == START:
            self.phase, self.bars, self.start = 1, [self.tok.meters[ts - V0]], pos - V0
            self.origin = -self.start
        elif state == BAR_END:
            self.cuts[len(self.bars) - 1], self.cut = pos - V0, True
        else:
            self.cut = False
            if state in (NEW_BAR, EMPTY_BAR):
                self.origin += self._len_now()
                self.bars.append(self.bars[-1] if ts == CONTI else self.tok.meters[ts - V0])
                self.pos, self.note_here = None, False
            if state != EMPTY_BAR:
                if state != SAME_POS:
                    self.pos, self.note_here = pos - V0, False
                    self.here.clear()
                if pitch >= self.item0:
                    self.items.append((len(self.bars) - 1, self.pos, pitch - self.item0))
                    self.named.add(self.tok.header_kind(pitch - self.item0))
                    self.here.add(self.tok.item_slot(pitch - self.item0))
                else:
                    length = dur - V0 + 1
                    self.notes.append(
                        [len(self.bars) - 1, self.pos, pitch - V0, length, VELOCITIES[vel - V0]]
                    )
                    self.busy = max(self.busy, self.origin + self.pos + length)
                    self.note_here = True
                    if self.tup is not None:
                        rest_then(self.tup, self._cursor(SAME_BAR), self.pos)
                        self.tup.played(self.pos, length)
                        self.tick = self.origin + self.pos + length
        return True

    def result(self) -> MetricScore:
        notes = np.array(self.notes, dtype=np.int64).reshape(-1, 5)
        return MetricScore(
            self.tok.steps_per_quarter,
            list(self.bars),
            self.start,
            notes,
            self.end,
            dict(self.cuts),
            list(self.items),
        )
