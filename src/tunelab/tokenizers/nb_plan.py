"""The NB grammar keeping a plan (:mod:`tunelab.tokenizers.plan`): its meter at the start and no
other, its upbeat, the end exactly on its last bar line, nothing sounding past it. A mixin of
:class:`tunelab.tokenizers.nb_grammar.NBGrammar`, whose state it reads."""

from __future__ import annotations

import numpy as np

from tunelab.tokenizers.base import CONTI
from tunelab.tokenizers.nb_words import BAR_END, EMPTY_BAR, EOS, NEW_BAR, SAME_BAR, SAME_POS, START, V0


class Planned:
    def _planned(self, m: np.ndarray, field: int, chosen: tuple) -> np.ndarray:
        """The mask narrowed to the plan (:mod:`tunelab.tokenizers.plan`): its meter at the start
        and no other, its upbeat, the end exactly at its last bar line, nothing sounding past it."""
        p, end = self.plan, self.end_tick
        m = m.copy()
        state = chosen[0] if chosen else None
        if field == 0:
            m[BAR_END] = False
            if end is not None and self.phase == 1:
                if self.origin + self._len_now() >= end:  # the last bar: no bar after it
                    m[[NEW_BAR, EMPTY_BAR]] = False
                for state in (NEW_BAR, SAME_BAR):  # a state whose positions all lie past the end
                    if m[state]:
                        ts = (
                            CONTI
                            if p.meter is not None or state == SAME_BAR
                            else self.tok._meter_id[self.bars[-1]]
                        )
                        m[state] = self.allowed(2, (state, ts))[V0:].any()
                eos = self._eos_positions()
                m[EOS] &= bool(eos[0] or eos[V0:].any())
            return m
        if field == 1 and p.meter is not None and state in (START, NEW_BAR, EMPTY_BAR):
            m[:] = False  # the plan's meter, named once
            m[self.tok._meter_id[p.meter] if state == START else CONTI] = True
            return m
        if field == 2 and state == START and p.pickup is not None:
            length = p.bar_steps(self.tok.steps_per_quarter)
            m[:] = False
            m[V0 + (length - p.pickup if p.pickup else 0)] = True
            return m
        if field == 2 and state == EOS:
            return m & self._eos_positions()
        if end is None:
            return m
        if field == 2 and state in (NEW_BAR, SAME_BAR):
            origin = self.origin + (self._len_now() if state == NEW_BAR else 0)
            m[V0 + max(end - origin, 0) :] = False  # onsets before the end only
            for k in np.flatnonzero(m[V0:]):  # where a note fits before the end
                m[V0 + k] = self._fits(state, int(k), end - origin, chosen[1])
        if field == 3 and state == SAME_POS and not self._fits(state, self.pos, end - self.origin, CONTI):
            m[V0 : self.item0] = False
        if field == 4 and state in (NEW_BAR, SAME_BAR, SAME_POS) and chosen[3] < self.item0:
            origin = self.origin + (self._len_now() if state == NEW_BAR else 0)
            pos = self.pos if state == SAME_POS else chosen[2] - V0
            m[V0 + max(end - origin - pos, 0) :] = False  # no note past the end
            if self.tup is not None:  # nor a triplet that could not close before it
                room = min(self._bar_len(chosen[1]) - pos, end - origin - pos)
                m[V0:] &= self._rhythm(state, pos).lengths(pos, len(m) - V0, room)
        return m

    def _fits(self, state: int, pos: int, rest: int, ts: int) -> bool:
        """Whether a note may start at ``pos`` and end by ``rest`` steps from its bar's downbeat."""
        if rest <= pos:
            return False
        bar = self._bar_len(ts)
        if self.tup is None or rest >= bar:  # the end lies past this bar: as the grammar already says
            return True
        room = min(bar - pos, rest - pos)
        return bool(self._rhythm(state, pos).lengths(pos, rest - pos, room).any())

    def _eos_positions(self) -> np.ndarray:
        """Over the EOS word's position field: where the piece may end under the plan."""
        size, end = self.sizes[2], self.end_tick
        m = self._allowed(2, (EOS,)).copy()
        if end is None:
            return m
        length = self._len_now()
        full = self.origin + length == end
        m[0] &= full  # "ends with its bar"
        at = end - self.origin
        keep = np.zeros(size, dtype=bool)
        if 0 < at < length and V0 + at < size:
            keep[V0 + at] = True
        m[V0:] &= keep[V0:]
        return m
