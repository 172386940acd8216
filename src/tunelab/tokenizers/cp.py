"""cp: Compound Word tokens (Hsiao et al. 2021, "Compound Word Transformer").

Fields: ``family, bar_beat, time_sig, pitch, duration, velocity``. Families: ``Metrical``
(``bar_beat`` is ``Bar``, ``Start_k`` or ``Pos_i``; on ``Bar`` words ``time_sig`` holds the
meter where it changes and CONTI where it does not), ``Note`` (pitch, duration, velocity) and
``EOS``. A control item (a key, a form mark: :mod:`tunelab.tokenizers.controls`) is a ``Note``
word whose ``pitch`` names the item and whose duration and velocity are ignore. Fields a word
does not use hold 0 (ignore). A CP word is a group of REMI events
(``Bar TS`` / ``Start`` / ``Pos`` / ``Pitch Vel Dur`` / ``EOS``), so CP's grammar is REMI's
state machine read a word at a time.
"""

from __future__ import annotations

import functools

import numpy as np

from tunelab.score import Score
from tunelab.tokenizers.base import CONTI, PAD, Grammar
from tunelab.tokenizers.metric import EventTokenizer, MetricScore
from tunelab.tokenizers.remi import BAR, BOS, EOS, REMIGrammar, REMITokenizer
from tunelab.tokenizers.values import VELOCITIES

METRICAL, NOTE, END = 1, 2, 3
V0 = 2  # first value id in fields 1-5 (0 ignore, 1 CONTI)
B_BAR = 2  # bar_beat ids: 2 Bar, then Start_1.., then Pos_0..


class CPTokenizer(EventTokenizer):
    name = "cp"
    fields = ("family", "bar_beat", "time_sig", "pitch", "duration", "velocity")
    end_id = END

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.remi = REMITokenizer(*args, **kwargs)
        self.B_START = B_BAR + 1
        self.B_POS = self.B_START + self.values.max_bar_steps - 1

    @functools.cached_property  # fixed once the tokenizer is made; asked at every sampling step
    def vocab(self) -> list[list[str]]:
        v, head = self.values, ["<ignore>", "<conti>"]
        return [
            ["<pad>", "Metrical", "Note", "EOS"],
            [
                *head,
                "Bar",
                *(f"Start_{k}" for k in range(1, v.max_bar_steps)),
                *(f"Pos_{i}" for i in range(v.max_bar_steps)),
            ],
            head + [f"TS_{n}/{d}" for n, d in self.meters],
            head + [f"Pitch_{p}" for p in range(128)] + list(self.items),
            head + [f"Dur_{d}" for d in range(1, v.max_duration_steps + 1)],
            head + [f"Vel_{x}" for x in VELOCITIES],
        ]

    def opens_bar(self, tokens) -> np.ndarray:
        t = np.asarray(tokens)
        return (t[..., 0] == METRICAL) & (t[..., 1] == B_BAR)

    # ---- CP word <-> REMI events -------------------------------------------------------------
    def to_remi(self, word) -> list[int] | None:
        """The REMI events of one word, or None if the word is not well formed."""
        r = self.remi
        fam, beat, ts, pitch, dur, vel = word
        if fam == METRICAL and pitch == dur == vel == 0:
            if beat == B_BAR:
                return [BAR] if ts == CONTI else ([BAR, r.TS + ts - V0] if ts >= V0 else None)
            if ts != 0:
                return None
            if self.B_START <= beat < self.B_POS:
                return [r.START + beat - self.B_START]
            if beat >= self.B_POS:
                return [r.POS + beat - self.B_POS]
            return None
        if fam == NOTE and beat == ts == 0 and pitch >= V0 + 128:
            return [r.ITEM + pitch - V0 - 128] if dur == vel == 0 else None
        if fam == NOTE and beat == ts == 0 and min(pitch, dur, vel) >= V0:
            return [r.PITCH + pitch - V0, r.VEL + vel - V0, r.DUR + dur - V0]
        if fam == END and beat == ts == pitch == dur == vel == 0:
            return [EOS]
        if fam == PAD and beat == ts == pitch == dur == vel == 0:
            return [PAD]
        return None

    def _encode(self, score: Score) -> np.ndarray:
        r = self.remi
        events = r.encode(score).tolist()[1:]  # without BOS
        words, i = [], 0
        while i < len(events):
            e = events[i]
            if e == BAR:
                has_ts = i + 1 < len(events) and r.TS <= events[i + 1] < r.START
                words.append([METRICAL, B_BAR, V0 + events[i + 1] - r.TS if has_ts else CONTI, 0, 0, 0])
                i += 2 if has_ts else 1
            elif r.START <= e < r.POS:
                words.append([METRICAL, self.B_START + e - r.START, 0, 0, 0, 0])
                i += 1
            elif r.POS <= e < r.PITCH:
                words.append([METRICAL, self.B_POS + e - r.POS, 0, 0, 0, 0])
                i += 1
            elif r.PITCH <= e < r.VEL:
                pitch, vel, dur = events[i : i + 3]
                words.append([NOTE, 0, 0, V0 + pitch - r.PITCH, V0 + dur - r.DUR, V0 + vel - r.VEL])
                i += 3
            elif e >= r.ITEM:
                words.append([NOTE, 0, 0, V0 + 128 + e - r.ITEM, 0, 0])
                i += 1
            else:  # EOS
                words.append([END, 0, 0, 0, 0, 0])
                i += 1
        return np.array(words, dtype=np.int64)

    def _grammar(self, plan=None) -> Grammar:
        return _CPGrammar(self, plan)


class _CPGrammar(Grammar):
    def __init__(self, tok: CPTokenizer, plan=None):
        self.tok, self.sizes = tok, tok.vocab_size
        self.remi = REMIGrammar(tok.remi, plan)
        self.remi.feed(BOS)

    def _accepts(self, events: list[int]) -> bool:
        g = self.remi.probe()
        return all(g.feed(e) for e in events)

    def allowed(self, field: int | None = 0, chosen: tuple = ()) -> np.ndarray:
        """Per field, the values that some completion of the word makes grammatical, read off
        REMI's mask (CP's fields list REMI's values in REMI's order) instead of trying each."""
        field = field or 0
        t, remi = self.tok, self.tok.remi
        m = np.zeros(self.sizes[field], dtype=bool)
        r = self.remi.allowed()
        fam = chosen[0] if chosen else None
        if field == 0:
            m[PAD], m[END] = r[PAD], r[EOS]
            m[METRICAL] = r[BAR] or r[remi.START : remi.PITCH].any()
            m[NOTE] = r[remi.PITCH : remi.VEL].any() or r[remi.ITEM :].any()
        elif fam == METRICAL and field == 1:
            m[B_BAR] = r[BAR]
            m[t.B_START :] = r[remi.START : remi.PITCH]  # Start_1.., then Pos_0..
        elif fam == METRICAL and field == 2 and chosen[1] == B_BAR:
            after = self.remi.probe()
            after.feed(BAR)
            m[V0:] = after.allowed()[remi.TS : remi.START]
            rest = after.allowed()
            rest[remi.TS : remi.START] = False
            m[CONTI] = rest.any()  # the first bar, and one after a bar cut short, must name a meter
        elif fam == NOTE and field == 3:
            m[V0 : V0 + 128] = r[remi.PITCH : remi.VEL]
            m[V0 + 128 :] = r[remi.ITEM :]
        elif fam == NOTE and field > 3 and chosen[3] >= V0 + 128:
            m[0] = True  # an item has no duration or velocity
        elif fam == NOTE and field == 4:  # the lengths REMI's grammar allows after this pitch
            after = self.remi.probe()
            after.feed(remi.PITCH + chosen[3] - V0)
            after.feed(remi.VEL)
            m[V0:] = after.allowed()[remi.DUR : remi.ITEM]
        elif fam == NOTE and field > 3:
            m[V0:] = True
        else:
            m[0] = True  # a field this word does not use
        return m

    def feed(self, word) -> bool:
        word = tuple(int(x) for x in word)
        if len(word) != len(self.sizes) or any(not 0 <= x < n for x, n in zip(word, self.sizes)):
            return False
        events = self.tok.to_remi(word)
        if events is None or not self._accepts(events):
            return False
        for e in events:
            self.remi.feed(e)
        return True

    def result(self) -> MetricScore:
        return self.remi.result()
