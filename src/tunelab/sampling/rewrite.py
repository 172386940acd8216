"""New music around a given tune: continue it from a bar, fill bars in, vary it.

- :func:`continue_tune`: the tune up to bar ``k`` is the prompt; the melody goes on to the bar
  count asked (a model that knows bar counts is told the whole melody's, and its grammar ends it
  on that bar line).
- :func:`fill`: bars ``i`` .. ``j`` written anew between the music before and after them, by a
  model trained to fill in (:mod:`tunelab.tokenizers.infill`); the rest of the tune, its key,
  meter and barring stay as they are.
- :func:`vary`: a variation that keeps a chosen share of the bars and fills the others in, span
  by span from the start, each fill reading the tune as the spans before left it.

Each returns one Score per melody asked for, with the :class:`~tunelab.sampling.Sample` that
made it (the last span's, for a variation). ``run`` is what ``load_run`` returns.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from tunelab.corpus.segment import bar_ticks, excerpt, splice
from tunelab.corpus.transforms import on_grid
from tunelab.errors import ConfigError
from tunelab.score import Score, tonic_octave_shift, tonic_pitch_class
from tunelab.tokenizers.infill import LONGEST_MIDDLE, fill_prompt, fills_in
from tunelab.tokenizers.plan import Plan


def bars_of(score: Score) -> int:
    """The tune's bars, counted as ``--bars`` counts them (from the first full one)."""
    return len(bar_ticks(score)) - 2


@dataclass
class Continuation:
    """What continuing a primer takes: the prompt, the plan (None: the model ends the melody), the
    melody's bars in all and after the primer, and the semitones the primer was moved by into the
    key a model without keys was trained in (C major / A minor), which the melody is moved back by."""

    prompt: np.ndarray
    plan: Plan | None
    bars: int
    new_bars: int
    shift: int
    primer: Score  # on the model's grid, cut where the melody goes on, in its own key


def continuation(tokenizer, score: Score, upto: int | None = None, bars: int | None = None,
                 meta: dict | None = None) -> Continuation:  # fmt: skip
    """How to continue ``score`` from bar ``upto`` (None: after its end) to ``bars`` bars in all
    (None: twice the primer's, at least 4 more). A model that knows bar counts is told the whole
    melody's (told the primer's own, it would take the primer for a finished tune) and its grammar
    keeps the meter, the upbeat and the bar count, where the primer has one meter."""
    steps = tokenizer.steps_per_quarter
    score = _on_grid(score, tokenizer)
    have = bars_of(score)
    if upto is not None:
        if not 2 <= upto <= have:
            raise ConfigError(
                f"--from-bar {upto}: the primer has bars 1-{have}; continue from bar 2 to {have}"
            )
        score = excerpt(score, 0, int(bar_ticks(score)[upto]))
        have = upto - 1
    total = bars if bars is not None else max(2 * have, have + 4)
    if total <= have:
        raise ConfigError(f"--bars {total}: the primer already has {have} bars; ask for more")
    moved, shift = in_model_key(score, meta)
    knows_bars = any(n.startswith("B:") for n in tokenizer.items)
    try:
        ids = tokenizer.prompt(moved.replace(meta={**moved.meta, "bars": total if knows_bars else None}))
    except ValueError as err:
        raise ConfigError(f"the primer cannot be encoded as {tokenizer.name}: {err}") from None
    plan = None
    if knows_bars and len(score.time_signatures) == 1:
        plan = Plan(score.meter_at(0), total, score.pickup * steps // score.tpq)
    return Continuation(ids, plan, total, total - have, shift, score)


def in_model_key(score: Score, meta: dict | None) -> tuple[Score, int]:
    """``score`` moved into the key the model's training songs were all moved to (its run's
    ``home_keys``: C major / A minor for the study's), as the study moved them, and the semitones
    it moved; else as it is. A model that knows keys reads a primer in its own key."""
    from tunelab.corpus.transforms import score_key

    home = (meta or {}).get("data", {}).get("home_keys")
    if not home or not len(score):
        return score, 0
    tonic, mode = score_key(score, "first" if score.keys and score.keys[0][2] else "estimate")
    target = dict((m, t) for t, m in home).get(mode, home[0][0])
    # the interval the study's preparation takes: tonic in octave 4 to the target's (G down to C)
    shift = (tonic_pitch_class(target) + tonic_octave_shift(target)) - (
        tonic_pitch_class(tonic) + tonic_octave_shift(tonic)
    )
    moved = score.transpose(shift)
    return moved.replace(keys=[(0, target, mode), *moved.keys[1:]]), shift


def continue_tune(run, scores, n: int, settings, *, upto: int | None = None, bars: int | None = None,
                  progress=None) -> list[tuple[Score, object]]:  # fmt: skip
    """``n`` continuations, cycling through ``scores`` (one Score or several), from bar ``upto``
    or after each one's end; each melody keeps its primer's key, meter and upbeat."""
    from tunelab.sampling import closed, generate

    _, tokenizer, meta = run
    scores = [scores] if isinstance(scores, Score) else list(scores)
    conts = [continuation(tokenizer, s, upto, bars, meta) for s in scores]
    s = replace(settings, plan=[c.plan for c in conts])
    if not all(c.plan for c in conts):  # the model ends the melody: not before the bars asked
        if not tokenizer.bar_tokens:
            steps = min(c.new_bars * c.primer.bar_length(*c.primer.meter_at(c.primer.end - 1)) for c in conts)
            s = replace(
                s, min_steps=max(s.min_steps, steps * tokenizer.steps_per_quarter // conts[0].primer.tpq)
            )
        else:
            s = replace(s, min_bars=max(s.min_bars, min(c.new_bars for c in conts)))
    s = _room(s, tokenizer, meta, next((c.plan for c in conts if c.plan), None))
    out = []
    samples = generate(run, n, prompts=[c.prompt for c in conts], settings=s, progress=progress)
    for i, x in enumerate(samples):
        c = conts[i % len(conts)]
        ids = closed(tokenizer, x.ids, x.prompt_length) if x.stop == "max_steps" else x.ids
        out.append((_as_primer(tokenizer.decode(ids), c), x))
    return out


def _as_primer(new: Score, c: Continuation) -> Score:
    """A decoded continuation in its primer's key (moved back), with the primer's meter, upbeat
    and key where its tokens name none, and the primer's title and source."""
    if c.shift:
        new = new.transpose(-c.shift)
    changes: dict = {"meta": {**c.primer.meta, **_kept(new.meta)}}
    if not new.time_signatures and c.primer.time_signatures:
        changes |= {
            "time_signatures": c.primer.time_signatures,
            "pickup": c.primer.pickup * new.tpq // c.primer.tpq,
        }
    if c.shift or not new.keys:
        changes["keys"] = [(t * new.tpq // c.primer.tpq, k, m) for t, k, m in c.primer.keys]
    return new.replace(**changes)


def fill(
    run, score: Score, first: int, last: int, n: int, settings, progress=None
) -> list[tuple[Score, object]]:
    """``n`` versions of ``score`` with bars ``first`` .. ``last`` written anew."""
    return _fill_rows(run, [score] * n, first, last, settings, progress)


def _fill_rows(run, scores: list[Score], first: int, last: int, settings, progress=None):
    from tunelab.sampling import generate

    _, tokenizer, meta = run
    if not fills_in(tokenizer):
        raise ConfigError("this model was not trained to fill in (tunelab train --infill 0.5 trains one)")
    prompts, spans, plan = [], [], None
    for score in scores:
        try:
            prompt, plan, span = fill_prompt(tokenizer, _on_grid(score, tokenizer), first, last)
        except ValueError as err:
            raise ConfigError(f"--fill {first}-{last}: {err}") from None
        prompts.append(prompt)
        spans.append(span)
    s = _room(replace(settings, plan=plan), tokenizer, meta, plan)
    out = []
    for score, (start, end), x in zip(scores, spans, generate(run, len(scores), prompts=prompts, settings=s,
                                                               progress=progress)):  # fmt: skip
        middle = tokenizer.decode(x.ids)  # the grammar starts afresh at the middle: its Score
        grid = _on_grid(score, tokenizer)
        new = splice(grid, start, end, middle)
        out.append((new, x))
    return out


def vary(run, score: Score, keep: float, n: int, settings, progress=None) -> list[tuple[Score, object]]:
    """``n`` variations of ``score`` that keep a share ``keep`` of its bars (chosen at random by
    the settings' seed, the first and last bar kept where they can be) and fill in the others."""
    if not 0 <= keep < 1:
        raise ConfigError(f"--vary {keep}: the share of bars kept is 0 to below 1")
    tokenizer = run[1]
    grid = _on_grid(score, tokenizer)
    spans = _changed_spans(grid, keep, settings.seed)
    rows = [grid] * n
    last = [None] * n
    for first, end in spans:
        done = _fill_rows(run, rows, first, end, replace(settings, seed=settings.seed + first), None)
        rows, last = [s for s, _ in done], [x for _, x in done]
    if progress:
        progress(n)
    return list(zip(rows, last))


def _changed_spans(score: Score, keep: float, seed: int) -> list[tuple[int, int]]:
    """The spans of bars a variation writes anew: ``round((1 - keep) * bars)`` bars chosen at
    random, grouped into runs of one meter, each at most :data:`LONGEST_MIDDLE` bars."""
    bars = bars_of(score)
    change = round((1 - keep) * bars)
    if change == 0:
        raise ConfigError(f"--vary {keep}: keeps every one of the tune's {bars} bars; ask for less")
    rng = np.random.default_rng(seed)
    inner = list(range(2, bars)) if change <= bars - 2 else list(range(1, bars + 1))
    chosen = sorted(rng.choice(inner, size=min(change, len(inner)), replace=False).tolist())
    ticks = bar_ticks(score)
    spans: list[list[int]] = []
    for b in chosen:
        same_meter = spans and score.meter_at(int(ticks[spans[-1][0]])) == score.meter_at(int(ticks[b]))
        if spans and b == spans[-1][1] + 1 and b - spans[-1][0] < LONGEST_MIDDLE and same_meter:
            spans[-1][1] = b
        else:
            spans.append([b, b])
    return [tuple(s) for s in spans]


def _on_grid(score: Score, tokenizer) -> Score:
    try:
        return on_grid(score, tokenizer.steps_per_quarter)
    except ValueError as err:
        raise ConfigError(f"the tune does not fit the model's grid: {err}") from None


def _room(settings, tokenizer, meta, plan):
    """Settings whose step cap leaves room for the bars planned."""
    from tunelab.sampling import corpus_cap

    if settings.max_steps is not None or plan is None or not plan.bars:
        return settings
    steps = plan.bar_steps(tokenizer.steps_per_quarter) * plan.bars
    return replace(settings, max_steps=max(corpus_cap(meta), 4 * steps + 256))


def _kept(meta: dict) -> dict:
    return {k: v for k, v in meta.items() if k == "syntax_errors"}


__all__ = ["bars_of", "continuation", "continue_tune", "fill", "vary"]
