"""Filling in: bars of a tune written anew between the music before and after them.

A tune cut at two bar lines is a prefix P, a middle M and a suffix S. A model trained with a
share of its songs rearranged as ``P <suffix> S <middle> M <end>`` (prefix-suffix-middle, as
Bavarian et al. 2022, "Efficient Training of Language Models to Fill in the Middle", do for
code) writes M having read both sides, and is still a left-to-right model for the other songs.
Each part is encoded as a song of its own: its meter and key at its start, and the middle's bar
count (``B:``) says how many bars to fill. Only the middle keeps its end of song. The sentinels
are control items of kind ``infill`` (``tunelab train --infill SHARE``); the grammar starts
afresh at each (the suffix is read, the middle sampled under a plan of its meter and bars) and
never lets a model write one.

>>> ids = arrange(tokenizer, score, *bar_span(score, 5, 6))       # doctest: +SKIP
>>> prompt, plan = fill_prompt(tokenizer, score, 5, 6)             # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from tunelab.corpus.segment import bar_span, bar_ticks, excerpt
from tunelab.score import Score
from tunelab.tokenizers import controls as C
from tunelab.tokenizers.grammar import Grammar
from tunelab.tokenizers.plan import Plan

SUFFIX, MIDDLE = C.INFILL
LONGEST_MIDDLE = 8  # training middles are 1 to 8 bars long


def fills_in(tokenizer) -> bool:
    """Whether the tokenizer has the sentinels (its model was trained to fill in)."""
    return all(name in tokenizer.items for name in C.INFILL)


def arrange(tokenizer, score: Score, start: int, end: int) -> np.ndarray:
    """The training sequence of ``score`` with ``[start, end)`` (bar lines) as the middle."""
    prefix, middle, suffix = _parts(score, start, end)
    return np.concatenate([*_sides(tokenizer, prefix, suffix), tokenizer.encode(middle)])


def _parts(score: Score, start: int, end: int) -> tuple[Score | None, Score, Score | None]:
    return (
        excerpt(score, 0, start) if start > 0 else None,
        excerpt(score, start, end),
        excerpt(score, end, score.end) if end < score.end else None,
    )


def _sides(tokenizer, prefix: Score | None, suffix: Score | None) -> list[np.ndarray]:
    """prefix, <suffix>, suffix, <middle>: what comes before the middle's own tokens."""
    empty = np.zeros((0, len(tokenizer.fields)) if tokenizer.is_compound else 0, dtype=np.int64)
    return [
        tokenizer.prompt(prefix) if prefix is not None else empty,
        tokenizer.item_token(SUFFIX)[None],
        tokenizer.prompt(suffix) if suffix is not None else empty,
        tokenizer.item_token(MIDDLE)[None],
    ]


def rearranged(tokenizer, scores, seqs, share: float, seed: int) -> list[np.ndarray]:
    """Training sequences with a ``share`` of the songs rearranged around a random span of 1 to
    :data:`LONGEST_MIDDLE` bars (the same songs and spans for the same seed); a song whose parts
    do not encode (a triplet across the cut, say) stays left to right."""
    rng = np.random.default_rng([seed, 7])
    out = []
    for score, ids in zip(scores, seqs):
        if rng.random() >= share:
            out.append(ids)
            continue
        ticks = bar_ticks(score)
        bars = len(ticks) - 2
        length = int(rng.integers(1, min(LONGEST_MIDDLE, max(bars, 1)) + 1))
        first = int(rng.integers(1, max(bars - length + 1, 1) + 1))
        try:
            out.append(arrange(tokenizer, score, *bar_span(score, first, first + length - 1)))
        except ValueError:
            out.append(ids)
    return out


def fill_prompt(tokenizer, score: Score, first: int, last: int) -> tuple[np.ndarray, Plan, tuple[int, int]]:
    """(the prompt, the middle's plan, its ``[start, end)`` ticks) to fill bars ``first`` ..
    ``last`` (1 = the first full bar) of a quantized ``score``. ValueError: bars not in the tune,
    or a meter change inside them (a plan keeps one meter)."""
    start, end = bar_span(score, first, last)
    prefix, middle, suffix = _parts(score, start, end)
    if len(middle.time_signatures) > 1:
        raise ValueError(f"the meter changes inside bars {first}-{last}; fill bars of one meter")
    plan = Plan(middle.meter_at(0), last - first + 1, 0)
    steps = tokenizer.steps_per_quarter
    if middle.end != plan.end(steps) * score.tpq // steps:
        raise ValueError(f"bars {first}-{last} are not whole bars of {plan.meter[0]}/{plan.meter[1]}")
    ids = np.concatenate([*_sides(tokenizer, prefix, suffix), tokenizer.head(middle)])
    return ids, plan, (start, end)


class Sentinels(Grammar):
    """The grammar of a tokenizer that fills in: the encoding's own grammar, started afresh at
    each sentinel (the suffix is a song of its own, and so is the middle, which keeps the plan),
    and the sentinels never sampled."""

    def __init__(self, tok, plan=None):
        self.tok, self.plan = tok, plan
        self.inner = self._fresh(plan)
        self.values = np.array(sorted(tok._sentinels), dtype=np.int64)

    def _fresh(self, plan):
        return self.tok._grammar() if plan is None else self.tok._grammar(plan)

    def allowed(self, field=None, chosen=()):
        if not self.tok.is_compound:
            m = self.inner.allowed().copy()
            m[self.values] = False
            return m
        m = self.inner.allowed(field, chosen)
        if field == self.tok.pitch_field:
            m = m.copy()
            m[self.values] = False
        return m

    def feed(self, token) -> bool:
        which = self.tok.sentinel(token)
        if which is None:
            return self.inner.feed(token)
        self.inner = self._fresh(self.plan if which == C.INFILL[1] else None)
        return True

    def result(self):
        return self.inner.result()
