"""remi: Bar / Position / Pitch / Velocity / Duration events, with time signatures and pickups.

Sequence: ``BOS (Bar TS? Start? (Pos Item* (Pitch Vel Dur)*)* Pos?)* EOS``. Every bar opens with
``Bar``; ``TS_n/d`` follows it in the first bar and wherever the meter changes; ``Start_k`` in
the first bar says the score begins at position k of that bar (a pickup of ``bar length - k``);
a ``Pos_k`` with no note, right before ``EOS`` or the next ``Bar``, says the bar ends at position
k (a short final bar; a bar cut short by a meter change). Control items (keys, the written
form's marks: :mod:`tunelab.tokenizers.controls`) come after their position, before its notes.
Positions count grid steps from the downbeat. A monophonic tokenizer's grammar lets a position
come only after the note before it has ended; a fitted one names only the corpus's meters. Reference: Huang & Yang 2020, "Pop Music
Transformer" (REMI); MidiTok's REMI where it fits (here without tempo and chord events).
"""

from __future__ import annotations

import copy
import functools

import numpy as np

from tunelab.score import Score
from tunelab.tokenizers.base import PAD, Grammar, mask_of
from tunelab.tokenizers.metric import EventTokenizer, MetricScore
from tunelab.tokenizers.rhythm import Tuplets, onsets_after, rest_then
from tunelab.tokenizers.values import VELOCITIES, velocity_index

BOS, EOS, BAR = 1, 2, 3


class REMITokenizer(EventTokenizer):
    name = "remi"
    end_id = EOS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        v = self.values
        self._meter_id = {m: i for i, m in enumerate(self.meters)}
        # first id of each family
        self.TS = 4
        self.START = self.TS + len(self.meters)  # Start_k for k = 1 .. max_bar_steps - 1
        self.POS = self.START + v.max_bar_steps - 1
        self.PITCH = self.POS + v.max_bar_steps
        self.VEL = self.PITCH + 128
        self.DUR = self.VEL + len(VELOCITIES)
        self.ITEM = self.DUR + v.max_duration_steps
        self.SIZE = self.ITEM + len(self.items)
        allowed = (
            self.meters
            if self.meters_seen is None
            else [m for m in self.meters if m in set(self.meters_seen)]
        )
        self.ts_mask = mask_of(self.SIZE, [self.TS + self._meter_id[m] for m in allowed])

    @functools.cached_property  # fixed once the tokenizer is made; asked at every sampling step
    def vocab(self) -> list[str]:
        v = self.values
        return (
            ["<pad>", "BOS", "EOS", "Bar"]
            + [f"TS_{n}/{d}" for n, d in self.meters]
            + [f"Start_{k}" for k in range(1, v.max_bar_steps)]
            + [f"Pos_{i}" for i in range(v.max_bar_steps)]
            + [f"Pitch_{p}" for p in range(128)]
            + [f"Vel_{x}" for x in VELOCITIES]
            + [f"Dur_{d}" for d in range(1, v.max_duration_steps + 1)]
            + list(self.items)
        )

    def opens_bar(self, tokens) -> np.ndarray:
        return np.asarray(tokens) == BAR

    def pitch_ids(self) -> np.ndarray:
        return np.arange(self.PITCH, self.VEL, dtype=np.int64)

    def meter_id(self, meter) -> int:
        self.check_meter(meter)
        return self.TS + self._meter_id[meter]

    def _encode(self, score: Score) -> np.ndarray:
        m = self.metric(score)
        ids = [BOS]
        notes = m.notes.tolist()
        items = m.items
        k = j = 0
        for bar, meter in enumerate(m.bars):
            ids.append(BAR)
            if bar == 0 or meter != m.bars[bar - 1]:
                ids.append(self.meter_id(meter))
            if bar == 0 and m.start:
                ids.append(self.START + m.start - 1)
            pos = None
            while (k < len(notes) and notes[k][0] == bar) or (j < len(items) and items[j][0] == bar):
                if (
                    j < len(items)
                    and items[j][0] == bar
                    and (k == len(notes) or notes[k][:2] >= list(items[j][:2]))
                ):
                    p = items[j][1]  # items before the notes of their position
                    if p != pos:
                        ids.append(self.POS + p)
                        pos = p
                    ids.append(self.ITEM + items[j][2])
                    j += 1
                    continue
                _, p, pitch, dur, vel = notes[k]
                if p != pos:
                    ids.append(self.POS + p)
                    pos = p
                dur = min(dur, self.values.max_duration_steps)
                ids += [self.PITCH + pitch, self.VEL + velocity_index(vel), self.DUR + dur - 1]
                k += 1
            if bar in m.cuts:
                ids.append(self.POS + m.cuts[bar])
        if m.end is not None:
            ids.append(self.POS + m.end)
        ids.append(EOS)
        return np.array(ids, dtype=np.int64)

    def _grammar(self, plan=None) -> Grammar:
        return REMIGrammar(self, plan)


class REMIGrammar(Grammar):
    """The REMI state machine; CP reuses it word by word."""

    def __init__(self, tok: REMITokenizer, plan=None):
        self.tok, self.plan = tok, plan
        self.end_tick = plan.end(tok.steps_per_quarter) if plan is not None else None
        self.state = "begin"  # begin, bos, bar, ts, start, pos, item, pitch, vel, dur, end
        self.bars: list = []
        self.start = 0
        self.pos: int | None = None
        self.end: int | None = None
        self.cuts: dict[int, int] = {}  # bars that a Pos without notes ended early
        self.notes: list[list[int]] = []
        self.items: list[tuple] = []
        self._pending: list[int] = []
        self.origin = 0  # the current bar's downbeat in steps from the score's start
        self.busy = 0  # where the last note ends, in those steps (monophonic grammars)
        self.tup = Tuplets(tok.steps_per_quarter) if tok.whole_triplets else None
        self.tick = 0  # how far the triplet discipline has followed the music (steps from the start)
        self.named: set = set()  # header controls given (once each, before the music)
        self.here: set = set()  # the slots of the items named at the current position
        self._headers = any(tok.header_kind(i) for i in range(len(tok.items)))

    def probe(self) -> REMIGrammar:
        """A copy to try events on. Grammar decisions never read the notes or cuts collected so
        far, so the probe starts with none (this keeps decoding linear in the sequence length)."""
        new = copy.copy(self)
        new.bars, new.notes, new.cuts, new._pending = list(self.bars), [], {}, list(self._pending)
        new.items = []
        new.tup = copy.copy(self.tup)
        new.named, new.here = set(self.named), set(self.here)
        return new

    def _bar_len(self) -> int:
        return self.tok.values.bar_steps(self.bars[-1]) if self.bars else 0

    def allowed(self, field=None, chosen=()) -> np.ndarray:
        t, s = self.tok, self.state
        m = mask_of(t.SIZE, [])
        if s == "begin":
            m[BOS] = True
        elif s == "bos":
            m[BAR] = True
        elif s == "end":
            m[PAD] = True
        elif s == "bar" and len(self.bars) == 1 and self._first_bar_meter_missing():
            m[t.TS : t.START] = t.ts_mask[t.TS : t.START]
        elif s == "bar" and len(self.bars) - 2 in self.cuts:  # a bar cut short: the next changes the meter
            m[t.TS : t.START] = t.ts_mask[t.TS : t.START]
            m[t.meter_id(self.bars[-1])] = False
        elif s == "pos":
            m[t.PITCH : t.VEL] = self._note_here()
            m[t.ITEM : t.SIZE] = True
            # the piece or the bar ends here, before the bar is full, after where the piece starts (a
            # bar cut short must be followed by another meter)
            m[[EOS, BAR]] = self.pos > (self.start if len(self.bars) == 1 else 0) and self._closed()
            m[BAR] &= int(t.ts_mask.sum()) > 1 and t.bar_cuts
        elif s == "pitch":
            m[t.VEL : t.DUR] = True
        elif s == "vel":
            m[t.DUR : t.ITEM] = (
                True
                if self.tup is None
                else self.tup.lengths(self.pos, t.ITEM - t.DUR, self._bar_len() - self.pos)
            )
        else:  # after Bar, TS, Start, items or a whole note: a position, a new bar, or the end
            m[[BAR, EOS, PAD]] = self._closed()
            if s == "bar":
                m[t.TS : t.START] = t.ts_mask[t.TS : t.START]
            if s == "ts" and len(self.bars) == 1:
                m[t.START : t.START + self._bar_len() - 1] = True
                if self.tup is not None:  # a piece starts on the binary grid
                    m[t.START : t.START + self._bar_len() - 1] &= (
                        np.arange(1, self._bar_len()) % self.tup.binary == 0
                    )
            lo = self.start if (len(self.bars) == 1 and self.pos is None) else 0
            lo = self.pos + 1 if self.pos is not None else lo
            if t.monophonic and not t.items:  # a position must be able to hold a note
                lo = max(lo, self.busy - self.origin)
            m[t.POS + lo : t.POS + self._bar_len()] = True
            if self.tup is not None and self._bar_len():  # triplets whole: where a note may start
                m[t.POS : t.POS + self._bar_len()] &= onsets_after(self.tup, self._cursor(), self._bar_len())
            if s == "item":
                m[t.ITEM : t.SIZE] = True
                m[t.PITCH : t.VEL] = self._note_here()
            if s == "dur" and not t.monophonic:
                m[t.PITCH : t.VEL] = True
        if self._headers:
            m[t.ITEM : t.SIZE] &= t.items_allowed(bool(self.notes) or len(self.bars) > 1, self.named)
        m[t.ITEM : t.SIZE] &= t.items_free(self.here)  # an item once per slot at a position
        return m if self.plan is None else self._planned(m)

    def _planned(self, m: np.ndarray) -> np.ndarray:
        """The mask narrowed to the plan: its meter in the first bar and no other, its upbeat,
        and the end exactly at its last bar line (:mod:`tunelab.tokenizers.plan`)."""
        t, s, p = self.tok, self.state, self.plan
        if p.meter is not None:
            m[t.TS : t.START] = False
            if s == "bar" and len(self.bars) == 1:
                m[t.meter_id(p.meter)] = True
        if s == "ts" and len(self.bars) == 1 and (p.pickup is not None or self.end_tick is not None):
            m[t.START : t.POS] = False
            if p.pickup:  # the upbeat: the piece starts where it leaves that much of the bar
                m[:] = False
                m[t.START + self._bar_len() - p.pickup - 1] = True
                return m
        end = self.end_tick
        if end is None or self.bars in ([], [None]) or s in ("begin", "bos", "end", "pitch"):
            return m
        length, rest = self._bar_len(), end - self.origin
        m[BAR] &= s != "pos" and self.origin + length < end  # no bar cut short, none past the end
        m[EOS] &= (self.origin + self.pos if s == "pos" else self.origin + length) == end
        m[t.POS + max(rest + 1, 0) : t.POS + max(length, 0)] = False  # positions up to the end only
        for k in np.flatnonzero(m[t.POS : t.POS + max(min(rest, length), 0)]):  # and where a note fits
            m[t.POS + k] = self._fits(int(k), rest)
        if s == "pos" and self.origin + self.pos >= end:  # at the end: nothing more sounds
            m[t.PITCH : t.VEL] = False
            m[t.ITEM : t.SIZE] = False
        if s == "vel":  # no note past the end, nor a triplet that could not close before it
            m[t.DUR + max(rest - self.pos, 0) : t.ITEM] = False
            if self.tup is not None:
                room = min(self._bar_len(), rest) - self.pos
                m[t.DUR : t.ITEM] &= self.tup.lengths(self.pos, t.ITEM - t.DUR, room)
        return m

    def _fits(self, pos: int, rest: int) -> bool:
        """Whether a note may start at ``pos`` and end by ``rest`` (steps from the downbeat)."""
        if self.tup is None:
            return pos < rest
        tup = copy.copy(self.tup)
        rest_then(tup, self._cursor(), pos)
        room = min(self._bar_len(), rest) - pos  # a triplet closes in its bar, and before the end
        return bool(tup.lengths(pos, max(rest - pos, 0), room).any()) if rest > pos else False

    def _cursor(self) -> int:
        """Where, in the current bar, the music the discipline has followed ends."""
        return max(self.tick - self.origin, self.start if len(self.bars) == 1 else 0)

    def _closed(self) -> bool:
        """No triplet group waits for its notes."""
        return self.tup is None or self.tup.closed

    def _note_here(self) -> bool:
        """Whether a note may start at the current position (in a monophonic grammar: only once
        the note before has ended)."""
        return not self.tok.monophonic or self.origin + self.pos >= self.busy

    def _first_bar_meter_missing(self) -> bool:
        return self.bars == [None]

    def feed(self, token) -> bool:
        t = self.tok
        token = int(token)
        if not (0 <= token < t.SIZE) or not self.allowed()[token]:
            return False
        if token in (PAD, EOS):
            if self.state == "pos":
                self.end = self.pos
            self.state = "end"
        elif token == BOS:
            self.state = "bos"
        elif token == BAR:
            if self.state == "pos":
                self.cuts[len(self.bars) - 1] = self.pos
            if self.bars:
                self.origin += self.cuts.get(len(self.bars) - 1, self._bar_len())
            self.bars.append(self.bars[-1] if self.bars else None)
            self.pos, self.state = None, "bar"
            self.here.clear()
        elif token >= t.ITEM:
            self.items.append((len(self.bars) - 1, self.pos, token - t.ITEM))
            self.named.add(t.header_kind(token - t.ITEM))
            self.here.add(t.item_slot(token - t.ITEM))
            self.state = "item"
        elif token < t.START:
            self.bars[-1] = t.meters[token - t.TS]
            self.state = "ts"
        elif token < t.POS:
            self.start, self.state = token - t.START + 1, "start"
            self.origin = -self.start  # bar 0's downbeat lies before the score starts
        elif token < t.PITCH:
            self.pos, self.state = token - t.POS, "pos"
            self.here.clear()
            if self.tup is not None:
                rest_then(self.tup, self._cursor(), self.pos)
                self.tick = self.origin + self.pos
        elif token < t.VEL:
            self._pending, self.state = [token - t.PITCH], "pitch"
        elif token < t.DUR:
            self._pending.append(VELOCITIES[token - t.VEL])
            self.state = "vel"
        else:
            pitch, vel = self._pending
            self.notes.append([len(self.bars) - 1, self.pos, pitch, token - t.DUR + 1, vel])
            self.busy = max(self.busy, self.origin + self.pos + token - t.DUR + 1)
            self.state = "dur"
            if self.tup is not None:
                self.tup.played(self.pos, token - t.DUR + 1)
                self.tick = self.origin + self.pos + token - t.DUR + 1
        return True

    def result(self) -> MetricScore:
        bars = [b for b in self.bars if b is not None] or [(4, 4)]
        notes = np.array(self.notes, dtype=np.int64).reshape(-1, 5)
        return MetricScore(self.tok.steps_per_quarter, bars, self.start, notes, self.end, dict(self.cuts),
                           list(self.items))  # fmt: skip
