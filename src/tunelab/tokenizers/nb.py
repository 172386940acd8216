"""nb: the note-based compound encoding, one word per note, whose first field is the bar state.

Fields: ``bar_state, time_sig, position, pitch, duration, velocity``. Bar states: ``Start``
(the first word: the opening meter, and in ``position`` where the score starts in its first
bar, which encodes a pickup), ``NewBar`` (the note opens the next bar), ``SameBar`` (a later
position in this bar), ``SamePos`` (a chord tone at the same position), ``EmptyBar`` (a bar
without onsets), ``EOS`` (in ``position`` where the score ends if it ends inside its last bar,
else ignore), ``BarEnd`` (in ``position`` where a bar that a meter change cuts short ends; the
next word opens a bar). ``time_sig`` holds a meter where a bar changes it, else CONTI;
``position`` is CONTI on ``SamePos``. Fields a word does not use hold 0 (ignore). A tokenizer
saved before ``BarEnd`` existed (``bar_ends=False``) keeps its seven states and refuses such bars.
A control item (a key, a form mark: :mod:`tunelab.tokenizers.controls`) is a word placed as a
note is, whose ``pitch`` names the item and whose duration and velocity are ignore; at one
position items come before notes. A monophonic tokenizer's grammar lets a note start only once
the one before has ended (no ``SamePos`` notes); a fitted one names only the corpus's meters, and
a ``BarEnd`` must be followed by a change of meter.

Reference: the notes comparing CP and NB (../shared/reference/seeds/001_*): one word per note
is shorter than CP's metrical + note words; accuracy leaves out ignore and CONTI fields.
"""

from __future__ import annotations

import functools
from typing import ClassVar

import numpy as np

from tunelab.score import Score
from tunelab.tokenizers.base import CONTI, Grammar
from tunelab.tokenizers.metric import EventTokenizer, MetricScore
from tunelab.tokenizers.nb_grammar import NBGrammar
from tunelab.tokenizers.nb_words import BAR_END, EMPTY_BAR, EOS, NEW_BAR, SAME_BAR, SAME_POS, START, V0
from tunelab.tokenizers.values import VELOCITIES, velocity_index


class NBTokenizer(EventTokenizer):
    name = "nb"
    end_id = EOS
    fields = ("bar_state", "time_sig", "position", "pitch", "duration", "velocity")
    saved_before: ClassVar[dict] = {**EventTokenizer.saved_before, "bar_ends": False}

    def __init__(self, *args, bar_ends: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.bar_ends = bar_ends
        self._meter_id = {m: V0 + i for i, m in enumerate(self.meters)}

    def _options(self) -> dict:
        return {**super()._options(), "bar_ends": self.bar_ends}

    def opens_bar(self, tokens) -> np.ndarray:
        return np.isin(np.asarray(tokens)[..., 0], (NEW_BAR, EMPTY_BAR))

    @functools.cached_property  # fixed once the tokenizer is made; asked at every sampling step
    def vocab(self) -> list[list[str]]:
        v = self.values
        head = ["<ignore>", "<conti>"]
        return [
            ["<pad>", "Start", "NewBar", "SameBar", "SamePos", "EmptyBar", "EOS"]
            + ["BarEnd"] * self.bar_ends,
            head + [f"TS_{n}/{d}" for n, d in self.meters],
            head + [f"Pos_{i}" for i in range(v.max_bar_steps)],
            head + [f"Pitch_{p}" for p in range(128)] + list(self.items),
            head + [f"Dur_{d}" for d in range(1, v.max_duration_steps + 1)],
            head + [f"Vel_{x}" for x in VELOCITIES],
        ]

    def _encode(self, score: Score) -> np.ndarray:
        m = self.metric(score)
        words = [[START, self._meter(m.bars[0]), V0 + m.start, 0, 0, 0]]
        bar, pos = 0, None
        # items first at their position (duration and velocity ignore), then the notes
        events = sorted([(b, p, 0, V0 + 128 + i, 0, 0) for b, p, i in m.items]
                        + [(b, p, 1, V0 + pitch, self._duration(dur), V0 + velocity_index(vel))
                           for b, p, pitch, dur, vel in m.notes.tolist()], key=lambda e: e[:3])  # fmt: skip
        for b, p, _, pitch_id, dur_id, vel_id in events:
            while bar < b - 1:  # empty bars between notes
                self._cut(m, bar, words)
                bar += 1
                words.append([EMPTY_BAR, self._change(m, bar), 0, 0, 0, 0])
            if b > bar:
                self._cut(m, bar, words)
                bar, state, ts, pos_id = b, NEW_BAR, self._change(m, b), V0 + p
            elif pos is not None and p == pos:
                state, ts, pos_id = SAME_POS, CONTI, CONTI
            else:
                state, ts, pos_id = SAME_BAR, CONTI, V0 + p
            pos = p
            words.append([state, ts, pos_id, pitch_id, dur_id, vel_id])
        while bar < len(m.bars) - 1:  # bars after the last note (a closing rest)
            self._cut(m, bar, words)
            bar += 1
            words.append([EMPTY_BAR, self._change(m, bar), 0, 0, 0, 0])
        words.append([EOS, 0, 0 if m.end is None else V0 + m.end, 0, 0, 0])
        return np.array(words, dtype=np.int64)

    def _meter(self, meter) -> int:
        self.check_meter(meter)
        return self._meter_id[meter]

    def _cut(self, m: MetricScore, bar: int, words: list) -> None:
        """A BarEnd word where BAR ends before its meter's length."""
        if bar in m.cuts:
            if not self.bar_ends:
                raise ValueError(
                    f"bar {bar + 1} ends early (a meter change inside it); this tokenizer predates BarEnd"
                )
            words.append([BAR_END, 0, V0 + m.cuts[bar], 0, 0, 0])

    def _change(self, m: MetricScore, bar: int) -> int:
        return self._meter(m.bars[bar]) if m.bars[bar] != m.bars[bar - 1] else CONTI

    def _duration(self, steps: int) -> int:
        return V0 + min(steps, self.values.max_duration_steps) - 1

    def _grammar(self, plan=None) -> Grammar:
        return NBGrammar(self, plan)
